//! Jobs started while a fleet renews its long polls reach their printers at once: an event
//! raised between a long poll's answer and its renewal is kept for the renewal, and one raised
//! while a poll is held ends it. A lost wake-up would leave the job waiting for the end of the
//! next hold instead.

use printlab_testkit::TestCloud;
use printlab_testkit_fleet::{ONE_PRINTER, TestFleet, pdf};
use std::sync::Arc;
use std::time::{Duration, Instant};

const PRINTERS: usize = 60;
/// Short, so the printers renew their long polls twice while the jobs start.
const HOLD: Duration = Duration::from_secs(4);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn jobs_started_while_long_polls_renew_are_fetched_at_once() {
    let cloud = TestCloud::builder().long_poll(HOLD).start().await;
    let dir = tempfile::tempdir().unwrap();
    let mut fleet = TestFleet::open(dir.path());
    let spool = fleet.spool.clone();
    let running = fleet.start_subscribed(&cloud, ONE_PRINTER, PRINTERS).await;
    let graph = Arc::new(cloud.admin_graph());
    let document = pdf(1);
    // One job per printer, the starts spread over two holds: many land while polls renew.
    let spacing = HOLD * 2 / PRINTERS as u32;
    let began = Instant::now();
    let mut jobs = Vec::new();
    for (n, printer) in running.printers.iter().enumerate() {
        let id = spool
            .identity(&printer.name)
            .unwrap()
            .and_then(|i| i.device_id)
            .expect("a registered printer has its cloud id");
        let (graph, document, printer) = (graph.clone(), document.clone(), printer.clone());
        let at = began + spacing * n as u32;
        jobs.push(tokio::spawn(async move {
            let path = format!("/print/printers/{id}/jobs");
            let job = graph.create_job(&path, serde_json::json!({})).await;
            graph
                .upload(&path, &job, "a.pdf", "application/pdf", document)
                .await;
            tokio::time::sleep_until(at.into()).await;
            let started = Instant::now();
            graph.start_job(&path, job["id"].as_str().unwrap()).await;
            printer.wait_for(|s| s.jobs_completed == 1).await;
            (printer.name.clone(), started.elapsed())
        }));
    }
    let mut late = Vec::new();
    for job in jobs {
        let (printer, took) = job.await.unwrap();
        // Printed in about a tenth of a second; a lost wake-up waits for the hold to end.
        if took > HOLD * 3 / 4 {
            late.push((printer, took));
        }
    }
    assert!(late.is_empty(), "printed a hold late: {late:?}");
    fleet.stop().await;
}
