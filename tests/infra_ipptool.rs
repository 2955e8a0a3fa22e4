//! Interop with a real IPP peer: Debian's `ipptool` (cups-ipp-utils) runs the `.test` files in
//! tests/ipptool/ against the cloud's INFRA service over loopback, as an ippproxy-style proxy
//! would talk to it (`/ipp/print/NAME`, HTTP Basic credentials in the URI).

use bytes::Bytes;
use printlab::cloud::infra::{Infra, JobTicket};
use printlab::cloud::odata::GraphError;
use printlab::cloud::upload::{
    CompletedUpload, UploadCreator, UploadListener, UploadService, UploadTarget,
};
use printlab::model::{PrintDocumentUploadProperties, PrintDuplexMode, PrintJobConfiguration};
use std::path::Path;
use std::sync::Arc;

struct Echo;

impl UploadListener for Echo {
    fn upload_completed(&self, done: &CompletedUpload) -> Result<serde_json::Value, GraphError> {
        Ok(serde_json::json!({ "id": done.target.document_id }))
    }
}

const UUID: &str = "urn:uuid:2c7a3a55-0000-4000-8000-0000000000aa";

async fn start_job(infra: &Infra, uploads: &UploadService, printer_id: &str, job_id: i32) {
    let data = Bytes::from_static(b"%PDF-1.4\n% a tiny document for ipptool\n");
    let document_id = format!("{printer_id}-{job_id}");
    let url = uploads
        .create_session(
            UploadTarget {
                printer_id: printer_id.into(),
                job_id: job_id.to_string(),
                document_id: document_id.clone(),
            },
            &PrintDocumentUploadProperties {
                document_name: "tiny.pdf".into(),
                content_type: "application/pdf".into(),
                size: data.len() as i64,
            },
            &UploadCreator::default(),
        )
        .unwrap()
        .upload_url
        .unwrap();
    let status = reqwest::Client::new()
        .put(url)
        .header(
            "Content-Range",
            format!("bytes 0-{}/{}", data.len() - 1, data.len()),
        )
        .body(data.clone())
        .send()
        .await
        .unwrap()
        .status();
    assert_eq!(status.as_u16(), 201);
    infra
        .start_job(JobTicket {
            printer_id: printer_id.into(),
            job_id,
            job_name: "ipptool job".into(),
            owner: "alice".into(),
            configuration: PrintJobConfiguration {
                copies: Some(2),
                duplex_mode: Some(PrintDuplexMode::FlipOnLongEdge),
                ..Default::default()
            },
            document_id,
            document_format: "application/pdf".into(),
            document_size: data.len() as u64,
        })
        .unwrap();
}

async fn ipptool(uri: &str, file: &str) -> (bool, String) {
    let test = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/ipptool")
        .join(file);
    let output = tokio::process::Command::new("ipptool")
        .args([
            "-t",
            "-T",
            "20",
            "-d",
            &format!("uuid={UUID}"),
            "-d",
            "job=11",
            "-d",
            "other_job=12",
        ])
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
    let db = sled::open(dir.path().join("store")).unwrap();
    let socket = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = socket.local_addr().unwrap();
    let base = format!("http://{addr}");
    let uploads = Arc::new(UploadService::open(&db, &base, Arc::new(Echo)).unwrap());
    let infra = Infra::new(uploads.clone(), &base);
    let router = uploads.router().merge(infra.router());
    tokio::spawn(async move { axum::serve(socket, router).await.unwrap() });

    infra.add_printer("lobby-printer", "Lobby").unwrap();
    infra
        .add_proxy_credential("lobby-printer", "lobby", "proxy", "s3cret")
        .unwrap();
    infra.add_printer("other-printer", "Other").unwrap();
    start_job(&infra, &uploads, "lobby-printer", 11).await;
    start_job(&infra, &uploads, "other-printer", 12).await;

    let (passed, report) = ipptool(
        &format!("ipp://proxy:s3cret@{addr}/ipp/print/lobby"),
        "infra-proxy.test",
    )
    .await;
    assert!(passed, "ipptool reported failures:\n{report}");
    let status = infra.job_status("lobby-printer", 11).unwrap();
    assert_eq!(
        status.state,
        printlab::model::PrintJobProcessingState::Completed
    );
    assert!(status.is_acquired_by_printer);
    let view = infra.printer_view("lobby-printer").unwrap();
    assert_eq!(
        view.capabilities.unwrap().duplex_modes,
        Some(vec![
            PrintDuplexMode::OneSided,
            PrintDuplexMode::FlipOnLongEdge
        ])
    );

    for uri in [
        format!("ipp://{addr}/ipp/print/lobby"),
        format!("ipp://proxy:wrong@{addr}/ipp/print/lobby"),
    ] {
        let (passed, report) = ipptool(&uri, "no-credentials.test").await;
        assert!(
            !passed,
            "{uri}: a request without valid credentials must not succeed:\n{report}"
        );
        assert!(
            report.contains("status-code = client-error-not-authenticated"),
            "{uri}: ipptool should report the refusal:\n{report}"
        );
    }
}
