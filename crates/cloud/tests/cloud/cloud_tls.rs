//! The cloud over HTTPS with the certificate `--tls` creates: a client that trusts the created
//! CA reaches Graph (HTTP/2 or HTTP/1.1, as ALPN settles), one that does not is refused at the
//! handshake.

use printlab_cloud::{Cloud, CloudOptions};
use printlab_serve::{create_lab_certificates, server_config};

#[tokio::test]
async fn graph_over_https_needs_the_created_ca() {
    let dir = tempfile::tempdir().unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let files = create_lab_certificates(dir.path(), &["127.0.0.1"]).unwrap();
    let options = CloudOptions {
        tls: Some(server_config(&files.cert, &files.key).unwrap()),
        ..CloudOptions::default()
    };
    let url = format!("https://{addr}");
    let cloud = Cloud::open_with(&dir.path().join("cloud"), &url, options).unwrap();
    let token = cloud
        .token_key()
        .mint_user(
            "ada@printlab.test",
            &["Printer.Read.All".to_string()],
            false,
            chrono::Duration::hours(1),
        )
        .unwrap();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let serving = tokio::spawn(cloud.clone().serve_until(listener, async {
        let _ = stopped.await;
    }));
    let printers = format!("{url}/v1.0/print/printers");

    let ca = reqwest::Certificate::from_pem(&std::fs::read(&files.ca).unwrap()).unwrap();
    let trusting = reqwest::Client::builder()
        .add_root_certificate(ca.clone())
        .build()
        .unwrap();
    let answer = trusting
        .get(&printers)
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status(), 200);
    // ALPN: HTTP/2 for a client that offers it, HTTP/1.1 for one that offers only that.
    assert_eq!(answer.version(), reqwest::Version::HTTP_2);
    let http1 = reqwest::Client::builder()
        .add_root_certificate(ca)
        .http1_only()
        .build()
        .unwrap();
    let answer = http1.get(&printers).bearer_auth(&token).send().await;
    let answer = answer.unwrap();
    assert_eq!(answer.status(), 200);
    assert_eq!(answer.version(), reqwest::Version::HTTP_11);

    let refused = reqwest::Client::new()
        .get(&printers)
        .bearer_auth(&token)
        .send()
        .await
        .expect_err("a client that does not trust the CA is refused");
    assert!(refused.is_connect(), "{refused:?}");

    // A second start reuses the CA, so a client that trusted it keeps working.
    let again = create_lab_certificates(dir.path(), &["127.0.0.1"]).unwrap();
    assert_eq!(
        std::fs::read(&again.ca).unwrap(),
        std::fs::read(&files.ca).unwrap()
    );
    stop.send(()).unwrap();
    serving.await.unwrap().unwrap();
}
