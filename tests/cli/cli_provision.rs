//! `printlab provision` and Graph `printers/create` with a proxy credential, as an administrator
//! runs them against the real cloud: the INFRA proxy URL answers with the credential and no
//! other, refused provisioning leaves no printer, and deleting the printer withdraws it.

use printlab_ipp::http::{Credentials, TransportError};
use printlab_ipp::{AttributeLookup, GroupTag, Message, Operation, StatusCode};
use printlab_testkit::{Graph, TestCloud, csr_base64, ipp};
use reqwest::Method;
use serde_json::{Value as Json, json};
use std::future::Future;
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

/// The status and `printer-name` that the proxy URL `path` answers to `credentials`, which it
/// must let in.
async fn printer_name(
    cloud: &TestCloud,
    path: &str,
    credentials: &Credentials,
) -> (StatusCode, Option<String>) {
    let (r, _) = printer_attributes(cloud, path, credentials).await.unwrap();
    let name = r.group(GroupTag::PRINTER).unwrap().string("printer-name");
    (r.status(), name.map(str::to_string))
}

/// Graph `printers/create` of the proxy printer `name` with the proxy `credential`, as `admin`;
/// the answer must have the status `expected` (a wrong one names the test line).
#[track_caller]
fn provision<'a>(
    admin: &'a Graph,
    name: &str,
    credential: Json,
    expected: u16,
) -> impl Future<Output = Json> + 'a {
    let (csr, _) = csr_base64("proxy.test");
    let body = json!({
        "displayName": name,
        "manufacturer": "PWG",
        "model": "ippproxy",
        "certificateSigningRequest": {
            "content": csr,
            "transportKey": "unused",
        },
        "@printlab.proxyCredential": credential,
    });
    let expected = reqwest::StatusCode::from_u16(expected).unwrap();
    admin.expect(Method::POST, "/print/printers/create", Some(body), expected)
}

#[tokio::test]
async fn an_admin_provisions_a_proxy_printer_through_graph_and_the_cli() {
    let cloud = TestCloud::builder()
        .long_poll(Duration::from_secs(2))
        .start()
        .await;
    let admin = cloud.admin_graph();
    let lobby = json!({"name": "lobby", "username": "proxy", "password": "s3cret"});
    provision(&admin, "Lobby", lobby, 202).await;
    let good = Credentials::Basic {
        user: "proxy".into(),
        password: "s3cret".into(),
    };
    let lobby = printer_name(&cloud, "/ipp/print/lobby", &good).await;
    assert_eq!(lobby, (StatusCode::SUCCESSFUL_OK, Some("Lobby".into())));

    // A name already taken, and one with a slash.
    for (name, credential, expected) in [
        (
            "Second lobby",
            json!({"name": "lobby", "username": "other", "password": "x"}),
            409,
        ),
        (
            "Slashes",
            json!({"name": "a/b", "username": "other", "password": "x"}),
            400,
        ),
    ] {
        provision(&admin, name, credential, expected).await;
    }
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
    let (_, name) = printer_name(&cloud, "/ipp/print/back-office", &back).await;
    assert_eq!(name.as_deref(), Some("Back Office"));

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
    let path = format!("/print/printers/{lobby}");
    admin.ok(Method::DELETE, &path, None).await;
    let gone = printer_attributes(&cloud, "/ipp/print/lobby", &good).await;
    assert!(matches!(
        gone,
        Err(TransportError::HttpStatus { status: 401, .. })
    ));
    let again = json!({"name": "lobby", "username": "proxy", "password": "n3w"});
    provision(&admin, "New lobby", again, 202).await;
}
