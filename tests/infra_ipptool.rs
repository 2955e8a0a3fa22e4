//! Interop with a real IPP peer: Debian's `ipptool` (cups-ipp-utils) runs the `.test` files in
//! tests/ipptool/ against the real cloud's INFRA service over loopback, as an ippproxy-style
//! proxy would talk to it (`/ipp/print/NAME`, HTTP Basic credentials in the URI). Printers and
//! jobs are made through Graph, and the outcome is read back through Graph.

use base64::Engine;
use printlab_cloud::Cloud;
use printlab_ipp::http::{Credentials, post_ipp};
use printlab_ipp::{Attribute, Group, GroupTag, Limits, Message, Operation, Value};
use serde_json::{Value as Json, json};
use std::path::Path;

const UUID: &str = "urn:uuid:2c7a3a55-0000-4000-8000-0000000000aa";

struct Lab {
    cloud: Cloud,
    base: String,
    admin: String,
    http: reqwest::Client,
}

/// One Graph call as the admin user; panics on anything but success.
async fn graph(lab: &Lab, method: reqwest::Method, path: &str, body: Option<Json>) -> Json {
    let mut request = lab
        .http
        .request(method, format!("{}/v1.0{path}", lab.base))
        .bearer_auth(&lab.admin);
    if let Some(body) = body {
        request = request.json(&body);
    }
    let response = request.send().await.unwrap();
    let status = response.status();
    let text = response.text().await.unwrap();
    assert!(status.is_success(), "{path}: {status} {text}");
    if text.is_empty() {
        Json::Null
    } else {
        serde_json::from_str(&text).unwrap()
    }
}

/// A printer created through Graph `printers/create`; returns its id.
async fn create_printer(lab: &Lab, name: &str) -> String {
    let key = rcgen::KeyPair::generate().unwrap();
    let csr = rcgen::CertificateParams::new(vec!["printer.test".into()])
        .unwrap()
        .serialize_request(&key)
        .unwrap();
    let response = lab
        .http
        .post(format!("{}/v1.0/print/printers/create", lab.base))
        .bearer_auth(&lab.admin)
        .json(&json!({
            "displayName": name,
            "manufacturer": "printlab",
            "model": "test",
            "certificateSigningRequest": {
                "content": base64::engine::general_purpose::STANDARD.encode(csr.der()),
                "transportKey": "unused",
            },
        }))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 202);
    let location = response.headers()["Operation-Location"].to_str().unwrap();
    let path = location.split("/v1.0").nth(1).unwrap().to_owned();
    let operation = graph(lab, reqwest::Method::GET, &path, None).await;
    operation["printer"]["id"].as_str().unwrap().to_owned()
}

/// Graph: create a job, upload its document through the upload session, start it. Returns the
/// job id.
async fn submit_job(lab: &Lab, printer_id: &str, data: &[u8], configuration: Json) -> String {
    use reqwest::Method;
    let jobs = format!("/print/printers/{printer_id}/jobs");
    let job = graph(
        lab,
        Method::POST,
        &jobs,
        Some(json!({ "configuration": configuration })),
    )
    .await;
    let job_id = job["id"].as_str().unwrap().to_owned();
    let document_id = job["documents"][0]["id"].as_str().unwrap();
    let session = graph(
        lab,
        Method::POST,
        &format!("{jobs}/{job_id}/documents/{document_id}/createUploadSession"),
        Some(json!({"properties": {
            "documentName": format!("job-{job_id}.pdf"),
            "contentType": "application/pdf",
            "size": data.len(),
        }})),
    )
    .await;
    let status = lab
        .http
        .put(session["uploadUrl"].as_str().unwrap())
        .header(
            "Content-Range",
            format!("bytes 0-{}/{}", data.len() - 1, data.len()),
        )
        .body(data.to_vec())
        .send()
        .await
        .unwrap()
        .status();
    assert_eq!(status.as_u16(), 201);
    graph(lab, Method::POST, &format!("{jobs}/{job_id}/start"), None).await;
    job_id
}

/// The printer's device says it takes PDF, so Graph accepts PDF uploads for it.
async fn advertise_pdf(lab: &Lab, printer_id: &str) {
    let token = lab.cloud.infra().issue_device_token(printer_id).unwrap();
    let mut request = Message::request(Operation::UPDATE_OUTPUT_DEVICE_ATTRIBUTES, 1);
    request.groups[0].push(Attribute::new(
        "printer-uri",
        Value::uri(format!("{}/printers", lab.base)),
    ));
    // PDF, plus what the jobs below ask for: Graph refuses a configuration the printer does
    // not declare.
    request.push_group(
        Group::new(GroupTag::PRINTER)
            .with_set(
                "document-format-supported",
                [Value::mime_media_type("application/pdf")],
            )
            .with(
                "copies-supported",
                Value::RangeOfInteger {
                    lower: 1,
                    upper: 99,
                },
            )
            .with_set(
                "sides-supported",
                ["one-sided", "two-sided-long-edge"].map(Value::keyword),
            ),
    );
    let response = post_ipp(
        &lab.http,
        &format!("{}/printers", lab.base),
        &Credentials::Bearer(token),
        &request,
        None,
        &Limits::default(),
    )
    .await
    .unwrap();
    assert!(response.message.status().is_success());
}

async fn ipptool(uri: &str, file: &str, defines: &[(&str, &str)]) -> (bool, String) {
    let test = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/ipptool")
        .join(file);
    let output = tokio::process::Command::new("ipptool")
        .args(["-t", "-T", "20", "-d", &format!("uuid={UUID}")])
        .args(
            defines
                .iter()
                .flat_map(|(name, value)| ["-d".to_owned(), format!("{name}={value}")]),
        )
        .arg(uri)
        .arg(test)
        .output()
        .await
        .expect("ipptool (Debian package cups-ipp-utils) must be installed");
    let report = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    (output.status.success(), report)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ipptool_drives_every_infra_operation() {
    let dir = tempfile::tempdir().unwrap();
    let socket = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = socket.local_addr().unwrap();
    let base = format!("http://{addr}");
    let cloud = Cloud::open(dir.path(), &base).unwrap();
    tokio::spawn(cloud.clone().serve(socket));
    let scopes = ["Printer.FullControl.All", "PrintJob.ReadWrite.All"].map(String::from);
    let admin = cloud
        .token_key()
        .mint_user("admin", &scopes, true, chrono::Duration::hours(1))
        .unwrap();
    let lab = Lab {
        cloud,
        base,
        admin,
        http: reqwest::Client::new(),
    };

    let lobby = create_printer(&lab, "Lobby").await;
    lab.cloud
        .infra()
        .add_proxy_credential(&lobby, "lobby", "proxy", "s3cret")
        .await
        .unwrap();
    let other = create_printer(&lab, "Other").await;
    advertise_pdf(&lab, &lobby).await;
    advertise_pdf(&lab, &other).await;
    let data = b"%PDF-1.4\n% a tiny document for ipptool\n";
    let configuration = json!({"copies": 2, "duplexMode": "flipOnLongEdge"});
    let job = submit_job(&lab, &lobby, data, configuration.clone()).await;
    let other_job = submit_job(&lab, &other, data, configuration).await;

    let (passed, report) = ipptool(
        &format!("ipp://proxy:s3cret@{addr}/ipp/print/lobby"),
        "infra-proxy.test",
        &[("job", &job), ("other_job", &other_job)],
    )
    .await;
    assert!(passed, "ipptool reported failures:\n{report}");
    let done = graph(
        &lab,
        reqwest::Method::GET,
        &format!("/print/printers/{lobby}/jobs/{job}"),
        None,
    )
    .await;
    assert_eq!(done["status"]["state"], "completed", "{done}");
    assert_eq!(done["status"]["isAcquiredByPrinter"], true);
    let printer = graph(
        &lab,
        reqwest::Method::GET,
        &format!("/print/printers/{lobby}?$select=capabilities"),
        None,
    )
    .await;
    assert_eq!(
        printer["capabilities"]["duplexModes"],
        json!(["oneSided", "flipOnLongEdge"])
    );

    for uri in [
        format!("ipp://{addr}/ipp/print/lobby"),
        format!("ipp://proxy:wrong@{addr}/ipp/print/lobby"),
    ] {
        let (passed, report) = ipptool(&uri, "no-credentials.test", &[]).await;
        assert!(
            !passed,
            "{uri}: a request without valid credentials must not succeed:\n{report}"
        );
        assert!(
            report.contains("status-code = client-error-not-authenticated"),
            "{uri}: ipptool should report the refusal:\n{report}"
        );
    }

    // A proxy given the system URI registers its output device first and learns the printer
    // URI from the answer.
    let (passed, report) = ipptool(
        &format!("ipp://proxy:s3cret@{addr}/ipp/system"),
        "register-output-device.test",
        &[("printer_uri", &format!("ipp://{addr}/ipp/print/lobby"))],
    )
    .await;
    assert!(passed, "ipptool reported failures:\n{report}");
    let (passed, report) = ipptool(
        &format!("ipp://proxy:wrong@{addr}/ipp/system"),
        "no-credentials.test",
        &[],
    )
    .await;
    assert!(
        !passed && report.contains("client-error-not-authenticated"),
        "{report}"
    );
}
