//! End-to-end latency of printing a one-page PDF, as `printlab print` does it, on a mono
//! printer at 150 dpi with engine pacing off: create the job, upload through an upload session
//! and check the stored SHA-256, start it, then wait until Graph reports it completed.
//! p50/p95 over 200 jobs, split by phase; the device's phases come from its spool's event log.
//!
//! Run: `cargo bench --bench print_latency` (add `-- --jobs N` for another count).
//! Target (issue 6): p50 under 50 ms, p95 under 100 ms end to end.

use chrono::{DateTime, Utc};
use printlab_client::upload::{UploadOptions, upload};
use printlab_client::{GraphClient, JobParent};
use printlab_device::config;
use printlab_graph::{
    PrintDocumentUploadProperties, PrintJobConfiguration, PrintJobProcessingState,
};
use printlab_lab::{Lab, LabOptions};
use std::time::Duration;

const PHASES: [&str; 6] = ["create", "upload", "start", "fetch", "render", "complete"];

fn main() {
    let jobs: usize = std::env::args()
        .skip_while(|a| a != "--jobs")
        .nth(1)
        .and_then(|n| n.parse().ok())
        .unwrap_or(200);
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap()
        .block_on(run(jobs));
}

async fn run(jobs: usize) {
    let dir = tempfile::tempdir().unwrap();
    let mono = printlab_testkit_fleet::ONE_PRINTER
        .replace(r#"name = "Lab""#, r#"name = "Bench Mono""#)
        .replace("dpis = [72]", "dpis = [150]")
        .replace("dpi = 72", "dpi = 150")
        .replace(
            "pages_per_minute = 600\nwarm_up_seconds = 0\n",
            "pages_per_minute = 60\nfull_speed = true\n",
        );
    let text = format!("[fleet]\nconnection = {{ mode = \"universal-print\" }}\n{mono}");
    let fleet = config::parse(&text, "bench.toml").unwrap();
    let lab = Lab::start(LabOptions {
        listen: "127.0.0.1:0".into(),
        control: "127.0.0.1:0".parse().unwrap(),
        data_dir: dir.path().to_path_buf(),
        printers: fleet.printers,
        tls: None,
    })
    .await
    .unwrap();
    let client = GraphClient::new(&lab.graph_url, Some(lab.user_token.clone()));
    let parent = JobParent::Share(lab.printers[0].share_id.clone());
    let pdf = dir.path().join("one-page.pdf");
    std::fs::write(
        &pdf,
        printlab_render::testpage::generate(&[(595.28, 841.89)]).unwrap(),
    )
    .unwrap();
    let (size, sha) = printlab_client::upload::file_sha256(&pdf).unwrap();

    let warm_up = 10;
    let mut samples: Vec<[f64; 7]> = Vec::new();
    for i in 0..warm_up + jobs {
        let t0 = Utc::now();
        let job = client
            .create_job(&parent, &PrintJobConfiguration::default())
            .await
            .unwrap();
        let document = job.documents.as_ref().unwrap()[0].id.clone();
        let t1 = Utc::now();
        let session = client
            .create_upload_session(
                &parent,
                &job.id,
                &document,
                &PrintDocumentUploadProperties {
                    document_name: "one-page.pdf".into(),
                    content_type: "application/pdf".into(),
                    size: size as i64,
                },
            )
            .await
            .unwrap();
        upload(
            client.http(),
            session.upload_url.as_deref().unwrap(),
            &pdf,
            size,
            &UploadOptions::default(),
            &|_, _| {},
        )
        .await
        .unwrap();
        let stored = client
            .document_sha256(&parent, &job.id, &document)
            .await
            .unwrap();
        assert_eq!(stored.1, sha);
        let t2 = Utc::now();
        client.start_job(&parent, &job.id).await.unwrap();
        let t3 = Utc::now();
        let done = loop {
            let now = client.job(&parent, &job.id).await.unwrap();
            if now.status.state.is_terminal() {
                assert_eq!(
                    now.status.state,
                    PrintJobProcessingState::Completed,
                    "{:?}",
                    now.status
                );
                break Utc::now();
            }
            tokio::time::sleep(Duration::from_millis(1)).await;
        };
        let events = lab
            .spool()
            .events("Bench Mono", job.id.parse().unwrap())
            .unwrap();
        let at = |kind: &str| -> DateTime<Utc> {
            events
                .iter()
                .find(|e| e.kind == kind)
                .unwrap_or_else(|| panic!("no {kind} event in {events:?}"))
                .at
        };
        let (fetched, rendered) = (at("document-acknowledged"), at("rendered"));
        let ms = |a: DateTime<Utc>, b: DateTime<Utc>| {
            (b - a).num_microseconds().unwrap() as f64 / 1000.0
        };
        if i >= warm_up {
            samples.push([
                ms(t0, t1),
                ms(t1, t2),
                ms(t2, t3),
                ms(t3, fetched),
                ms(fetched, rendered),
                ms(rendered, done),
                ms(t0, done),
            ]);
        }
    }
    println!("print latency over {jobs} one-page PDF jobs (150 dpi, mono, pacing off), ms:");
    println!("{:>10} {:>8} {:>8}", "phase", "p50", "p95");
    for (i, name) in PHASES.iter().chain(["total"].iter()).enumerate() {
        let mut column: Vec<f64> = samples.iter().map(|s| s[i]).collect();
        column.sort_by(|a, b| a.total_cmp(b));
        let pick = |q: f64| column[((column.len() as f64 * q) as usize).min(column.len() - 1)];
        println!("{name:>10} {:>8.2} {:>8.2}", pick(0.50), pick(0.95));
    }
    lab.shutdown().await.unwrap();
}
