//! `GET /healthz` and `GET /readyz` on the cloud: unauthenticated, JSON, and not ready (503,
//! naming what is missing) until the cloud serves and every check the embedding process added
//! passes.

use printlab_testkit::TestCloud;
use serde_json::{Value, json};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

async fn probe(url: &str) -> (u16, Value) {
    let response = reqwest::get(url).await.unwrap();
    let status = response.status().as_u16();
    (status, response.json().await.unwrap())
}

#[tokio::test]
async fn the_cloud_is_ready_once_it_serves_and_every_added_check_passes() {
    let dir = tempfile::tempdir().unwrap();
    // The router alone, served by plain axum: the store is open, but the cloud is not serving.
    let cloud = printlab_cloud::Cloud::open(dir.path(), "http://127.0.0.1:1").unwrap();
    let base = printlab_testkit::serve(cloud.router()).await;
    assert_eq!(
        probe(&format!("{base}/healthz")).await,
        (200, json!({"status": "ok"}))
    );
    let (status, body) = probe(&format!("{base}/readyz")).await;
    assert_eq!(status, 503, "{body}");
    assert_eq!(body["status"], "notReady");
    assert!(body["pending"]["cloud"].is_string(), "{body}");
    drop(cloud);

    let run = TestCloud::start().await;
    let printers_up = Arc::new(AtomicBool::new(false));
    run.cloud.readiness().add_check("printers", {
        let up = printers_up.clone();
        move || (!up.load(Ordering::Acquire)).then(|| "1 of 1 printers waiting".to_string())
    });
    let readyz = format!("{}/readyz", run.url);
    assert_eq!(
        probe(&readyz).await,
        (
            503,
            json!({"status": "notReady", "pending": {"printers": "1 of 1 printers waiting"}})
        )
    );
    printers_up.store(true, Ordering::Release);
    assert_eq!(probe(&readyz).await, (200, json!({"status": "ready"})));
}
