//! `printlab up --tls`: the lab serves Graph over HTTPS with a CA it creates in the data folder
//! and names in its welcome. Its devices trust that CA (they registered and advertised, or `up`
//! would never be ready), a client given the CA reaches Graph, one without it is refused, and
//! printlab's client commands trust it through lab.json.

use crate::KilledOnDrop;
use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};

#[tokio::test]
async fn up_tls_serves_graph_to_clients_that_trust_its_ca() {
    let dir = tempfile::tempdir().unwrap();
    let fleet = format!(
        "[fleet]\nconnection = {{ mode = \"universal-print\" }}\n{}",
        printlab_testkit_fleet::ONE_PRINTER
    );
    std::fs::write(dir.path().join("printers.toml"), fleet).unwrap();
    let mut up = KilledOnDrop(
        Command::new(env!("CARGO_BIN_EXE_printlab"))
            .current_dir(dir.path())
            .args([
                "up",
                "--tls",
                "--listen",
                "127.0.0.1:0",
                "--ipp-listen",
                "127.0.0.1:0",
            ])
            .args(["--log", "warn"])
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap(),
    );
    let mut lines = BufReader::new(up.0.stdout.take().unwrap()).lines();
    let mut url = None;
    let mut ca = None;
    for line in lines.by_ref() {
        let line = line.unwrap();
        if let Some(rest) = line.strip_prefix("printlab is up: ") {
            url = rest.rsplit(' ').next().map(str::to_string);
        }
        if let Some(rest) = line.trim().strip_prefix("HTTPS CA") {
            ca = rest.split_whitespace().next().map(str::to_string);
            break;
        }
    }
    std::thread::spawn(move || for _ in lines {});
    let url = url.expect("a welcome naming the URL");
    assert!(url.starts_with("https://127.0.0.1:"), "{url}");
    let ca = ca.expect("the welcome names the CA file");
    let ca = dir.path().join(ca);
    let discovery: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.path().join("spool/lab.json")).unwrap()).unwrap();
    assert_eq!(
        discovery["ca"].as_str().map(std::path::Path::new),
        Some(std::path::Path::new("spool/tls/ca.pem")),
        "{discovery}"
    );
    let token = std::fs::read_to_string(dir.path().join("spool/user.token")).unwrap();
    let shares = format!("{url}/v1.0/print/shares");

    let trusted = reqwest::Certificate::from_pem(&std::fs::read(&ca).unwrap()).unwrap();
    let client = reqwest::Client::builder()
        .add_root_certificate(trusted)
        .build()
        .unwrap();
    let answer = client
        .get(&shares)
        .bearer_auth(token.trim())
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status(), 200);
    let body: serde_json::Value = answer.json().await.unwrap();
    assert_eq!(body["value"][0]["displayName"], "Lab", "{body}");

    let refused = reqwest::Client::new()
        .get(&shares)
        .bearer_auth(token.trim())
        .send()
        .await
        .expect_err("a client that does not trust the lab's CA is refused");
    assert!(refused.is_connect(), "{refused:?}");

    // printlab's own client commands find the URL and the CA in lab.json.
    let printers = Command::new(env!("CARGO_BIN_EXE_printlab"))
        .current_dir(dir.path())
        .args(["printers", "--json"])
        .env_remove("PRINTLAB_CLOUD")
        .env_remove("PRINTLAB_CA")
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&printers.stderr);
    assert!(printers.status.success(), "{stderr}");
    let listed: serde_json::Value = serde_json::from_slice(&printers.stdout).unwrap();
    assert_eq!(listed[0]["name"], "Lab", "{listed}");
}
