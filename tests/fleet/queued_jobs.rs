//! Jobs queued behind each other on one printer: each is printed as soon as the one before it
//! ends, never a long-poll period later. The cloud holds its long poll far longer than the jobs
//! take, so a printer that waited for the next notification while jobs were fetchable (or a
//! job Graph kept `processing` after the device finished it) shows as a timeout here.

use futures::future::join_all;
use printlab_testkit::TestCloud;
use printlab_testkit::{job_ended, job_state};
use printlab_testkit_fleet::{ONE_PRINTER, TestFleet, lab_proxy, pdf, proxied_printer};
use std::time::{Duration, Instant};

/// Far longer than the jobs below take: one missed wake-up costs the whole period.
const LONG_POLL: Duration = Duration::from_secs(120);
const JOBS: usize = 10;
/// Ten one-page jobs at 600 pages a minute print in about a second; the rest is slack for a
/// loaded machine, still far under one long poll.
const ALL_ENDED_WITHIN: Duration = Duration::from_secs(30);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn jobs_started_in_a_burst_on_one_printer_all_complete_without_waiting_for_a_long_poll() {
    let dir = tempfile::tempdir().unwrap();
    let cloud = TestCloud::builder()
        .data(&dir.path().join("cloud"))
        .long_poll(LONG_POLL)
        .start()
        .await;
    let printer = proxied_printer(&cloud).await;
    let mut fleet = TestFleet::open(&dir.path().join("spool"));
    let text = ONE_PRINTER.replace(
        "pages_per_minute = 600\nwarm_up_seconds = 0\n",
        "pages_per_minute = 30\nfull_speed = true\n",
    );
    let running = fleet.start(&text, true, lab_proxy(&cloud));
    let handle = &running.printers[0];
    tokio::time::timeout(
        Duration::from_secs(30),
        handle.wait_for(|s| s.connected && s.subscribed),
    )
    .await
    .expect("the printer connects and subscribes");
    let graph = cloud.admin_graph();
    let jobs = format!("/print/printers/{printer}/jobs");
    graph
        .wait(
            &format!("/print/printers/{printer}?$select=capabilities"),
            "the device's capabilities in Graph",
            Duration::from_secs(30),
            |p| {
                p["capabilities"]["contentTypes"]
                    .as_array()
                    .is_some_and(|t| !t.is_empty())
            },
        )
        .await;
    // Every job created and uploaded first, then all started at once: the burst a client
    // submitting many jobs makes.
    let mut ids = Vec::new();
    for n in 0..JOBS {
        let job = graph.create_job(&jobs, serde_json::json!({})).await;
        graph
            .upload(
                &jobs,
                &job,
                &format!("job-{n}.pdf"),
                "application/pdf",
                pdf(1),
            )
            .await;
        ids.push(job["id"].as_str().unwrap().to_string());
    }
    let started = Instant::now();
    join_all(ids.iter().map(|id| graph.start_job(&jobs, id))).await;
    let mut last = Duration::ZERO;
    for id in &ids {
        let job = graph
            .wait(
                &format!("{jobs}/{id}"),
                &format!("job {id} to end"),
                ALL_ENDED_WITHIN,
                job_ended,
            )
            .await;
        assert_eq!(job_state(&job), "completed", "{job}");
        last = last.max(started.elapsed());
    }
    eprintln!("{JOBS} jobs queued on one printer: the last ended {last:?} after the burst");
    assert!(
        last < ALL_ENDED_WITHIN,
        "the last of {JOBS} jobs ended {last:?} after they were started"
    );
    fleet.stop().await;
}
