//! `printlab provision` and Graph `printers/create` with a proxy credential, as an administrator
//! runs them against the real cloud: the INFRA proxy URL answers with the credential and no
//! other, refused provisioning leaves no printer, and deleting the printer withdraws it.

use printlab_ipp::http::{Credentials, TransportError};
use printlab_ipp::{AttributeLookup, GroupTag, Message, Operation, StatusCode};
use printlab_testkit::{TestCloud, csr_base64, ipp};
use serde_json::{Value as Json, json};
use std::time::Duration;

/// Get-Printer-Attributes on the proxy URL `path` with `credentials`.
async fn printer_attributes(
    cloud: &TestCloud,
    path: &str,
    credentials: &Credentials,
) -> Result<(Message, Vec<u8>), TransportError> {
    let http = reqwest::Client::new();
    let operation = Operation::GET_PRINTER_ATTRIBUTES;
    ipp::request(&http, &cloud.url, path, credentials, operation, |_| {}).await
}

#[tokio::test]
async fn an_admin_provisions_a_proxy_printer_through_graph_and_the_cli() {
    let cloud = TestCloud::builder()
        .long_poll(Duration::from_secs(2))
        .start()
        .await;
    let admin = cloud.admin_graph();
    let create = |name: &str, credential: Json| {
        let (csr, _) = csr_base64("proxy.test");
        admin
            .http
            .post(admin.url("/print/printers/create"))
            .bearer_auth(&admin.token)
            .json(&json!({
                "displayName": name,
                "manufacturer": "PWG",
                "model": "ippproxy",
                "certificateSigningRequest": {
                    "content": csr,
                    "transportKey": "unused",
                },
                "@printlab.proxyCredential": credential,
            }))
            .send()
    };
    let response = create(
        "Lobby",
        json!({"name": "lobby", "username": "proxy", "password": "s3cret"}),
    )
    .await
    .unwrap();
    assert_eq!(response.status().as_u16(), 202);
    let good = Credentials::Basic {
        user: "proxy".into(),
        password: "s3cret".into(),
    };
    let (r, _) = printer_attributes(&cloud, "/ipp/print/lobby", &good)
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::SUCCESSFUL_OK);
    assert_eq!(
        r.group(GroupTag::PRINTER).unwrap().string("printer-name"),
        Some("Lobby")
    );

    let taken = create(
        "Second lobby",
        json!({"name": "lobby", "username": "other", "password": "x"}),
    )
    .await
    .unwrap();
    assert_eq!(taken.status().as_u16(), 409);
    let bad = create(
        "Slashes",
        json!({"name": "a/b", "username": "other", "password": "x"}),
    )
    .await
    .unwrap();
    assert_eq!(bad.status().as_u16(), 400);
    let printers = admin.get_ok("/print/printers").await;
    let names: Vec<&str> = printers["value"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["displayName"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["Lobby"], "refused provisioning leaves no printer");

    // The CLI goes through Graph the same way.
    let output = tokio::process::Command::new(env!("CARGO_BIN_EXE_printlab"))
        .args([
            "provision",
            "Back Office",
            "--manufacturer",
            "PWG",
            "--model",
            "ippproxy",
            "--proxy-user",
            "back",
        ])
        .env("PRINTLAB_PROXY_PASSWORD", "office-pw")
        .env("PRINTLAB_CLOUD", &cloud.url)
        .env("PRINTLAB_TOKEN", &admin.token)
        .output()
        .await
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(stdout.contains("/ipp/print/back-office"), "{stdout}");
    let back = Credentials::Basic {
        user: "back".into(),
        password: "office-pw".into(),
    };
    let (r, _) = printer_attributes(&cloud, "/ipp/print/back-office", &back)
        .await
        .unwrap();
    assert_eq!(
        r.group(GroupTag::PRINTER).unwrap().string("printer-name"),
        Some("Back Office")
    );

    // Deleting the printer withdraws its proxy credential and frees the name.
    let printers = admin.get_ok("/print/printers").await;
    let lobby = printers["value"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["displayName"] == "Lobby")
        .unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    admin
        .ok(
            reqwest::Method::DELETE,
            &format!("/print/printers/{lobby}"),
            None,
        )
        .await;
    let gone = printer_attributes(&cloud, "/ipp/print/lobby", &good).await;
    assert!(matches!(
        gone,
        Err(TransportError::HttpStatus { status: 401, .. })
    ));
    let again = create(
        "New lobby",
        json!({"name": "lobby", "username": "proxy", "password": "n3w"}),
    )
    .await
    .unwrap();
    assert_eq!(again.status().as_u16(), 202);
}
