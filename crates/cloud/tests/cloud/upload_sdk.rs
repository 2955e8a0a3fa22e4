//! A real, unmodified client on the upload URL: Microsoft's Python Graph SDK (`msgraph-core`'s
//! `LargeFileUploadTask`) uploads a multi-chunk document; the engine must store it byte-exact.
//! The interpreter comes from `PRINTLAB_GRAPH_SDK_PYTHON` (tests/run.sh installs msgraph-sdk
//! into a venv and sets it).

use printlab_cloud::upload::UploadLimits;
use printlab_testkit::upload::{DocumentListener, UploadServer};
use serde_json::Value;
use sha2::{Digest, Sha256};
use std::sync::Arc;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn python_graph_sdk_large_file_upload_task_fills_a_session() {
    let python = std::env::var("PRINTLAB_GRAPH_SDK_PYTHON").expect(
        "PRINTLAB_GRAPH_SDK_PYTHON must name a Python with msgraph-sdk installed (tests/run.sh sets it)",
    );
    let dir = tempfile::tempdir().unwrap();
    let db = sled::open(dir.path().join("db")).unwrap();
    let listener = Arc::new(DocumentListener);
    let upload = UploadServer::start(&db, dir.path(), listener, UploadLimits::default()).await;

    let size: usize = 3 * 1024 * 1024 + 1234;
    let data: Vec<u8> = (0..size)
        .map(|i| (i.wrapping_mul(40503) >> 7) as u8)
        .collect();
    let file = dir.path().join("document.pdf");
    std::fs::write(&file, &data).unwrap();
    let printer = "2f8e0c4a-6b1d-4c3e-8a5f-9d7b1e2c3a4b";
    let session = upload
        .pdf_session(printer, "5", "doc-sdk", "document.pdf", size)
        .await;

    let script = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/cloud/upload_sdk/large_file_upload.py"
    );
    let output = tokio::process::Command::new(python)
        .arg(script)
        .arg(session.upload_url.unwrap())
        .arg(session.expiration_date_time.unwrap().to_rfc3339())
        .arg(&session.next_expected_ranges.unwrap()[0])
        .arg(&file)
        .arg((1024 * 1024).to_string())
        .output()
        .await
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "SDK failed:\n{stdout}\n{stderr}");

    let outcome: Value =
        serde_json::from_str(stdout.lines().last().unwrap_or("")).unwrap_or_else(|e| {
            panic!("no outcome line from the SDK script ({e}):\n{stdout}\n{stderr}")
        });
    println!("SDK outcome: {outcome}");
    // The only error tolerated is the SDK's known extra PUT after completion, which finds the
    // session gone (404), as Graph deletes a completed session.
    if let Some(status) = outcome.get("api_error_status") {
        assert_eq!(status, 404, "{stdout}\n{stderr}");
    }
    let sha256 = upload
        .service
        .document_sha256("doc-sdk")
        .await
        .unwrap_or_else(|e| {
            panic!("the SDK did not complete the upload ({e}):\n{stdout}\n{stderr}")
        });
    assert_eq!(sha256, hex::encode(Sha256::digest(&data)));
    upload.server.abort();
}
