//! The INFRA service's two hot paths on the real `Cloud`, over loopback HTTP:
//! 1. latency from a Graph client's `POST .../jobs/{id}/start` to the device's long-polled
//!    Get-Notifications returning the `job-fetchable` event (p50/p99 over JOBS jobs; each job is
//!    created and uploaded through Graph first, outside the timed span);
//! 2. Fetch-Document throughput for a DOC_MIB document (uploaded through Graph, stored in the
//!    upload engine's files) against a plain loopback GET of the same bytes from memory, in the
//!    same run.
//!
//! `cargo bench --profile dev --bench infra` (env `INFRA_BENCH_JOBS`, `INFRA_BENCH_MIB` to
//! shrink it).
//!
//! Targets: `start` to `job-fetchable` p50 under 2 ms and p99 under 10 ms; Fetch-Document at
//! least 0.4 of the plain GET's throughput.

use bytes::Bytes;
use printlab_ipp::http::{Credentials, post_ipp};
use printlab_ipp::{Attribute, Group, GroupTag, Limits, Message, Operation, Value};
use printlab_testkit::bench_targets::Targets;
use printlab_testkit::{Graph, TestCloud, env_or, ipp};
use serde_json::json;
use std::time::{Duration, Instant};
use tokio::io::AsyncReadExt;

/// Creates a job and uploads its document through Graph (8 MiB ranges); returns the job id,
/// ready to start.
async fn uploaded_job(admin: &Graph, printer: &str, data: &Bytes) -> String {
    let jobs = format!("/print/printers/{printer}/jobs");
    let job = admin.create_job(&jobs, json!({})).await;
    let job_id = job["id"].as_str().unwrap().to_owned();
    let document_id = job["documents"][0]["id"].as_str().unwrap();
    let session = admin
        .ok(
            reqwest::Method::POST,
            &format!("{jobs}/{job_id}/documents/{document_id}/createUploadSession"),
            Some(json!({"properties": {
                "documentName": "bench.pdf", "contentType": "application/pdf", "size": data.len()
            }})),
        )
        .await;
    let url = session["uploadUrl"].as_str().unwrap();
    const RANGE: usize = 8 << 20;
    let mut first = 0;
    while first < data.len() {
        let last = (first + RANGE).min(data.len()) - 1;
        let status = admin
            .http
            .put(url)
            .header(
                "Content-Range",
                format!("bytes {first}-{last}/{}", data.len()),
            )
            .body(data.slice(first..=last))
            .send()
            .await
            .unwrap()
            .status();
        assert!(status.is_success(), "upload range answered {status}");
        first = last + 1;
    }
    job_id
}

async fn start(admin: &Graph, printer: &str, job_id: &str) {
    admin
        .start_job(&format!("/print/printers/{printer}/jobs"), job_id)
        .await;
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    sorted[((sorted.len() as f64 - 1.0) * p).round() as usize]
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let jobs = env_or("INFRA_BENCH_JOBS", 1000);
    let mib = env_or("INFRA_BENCH_MIB", 256);
    // A 253-byte pattern repeated (memcpy, so setup stays quick without optimisation).
    let pattern: Vec<u8> = (0..253u8).collect();
    let mut bytes = Vec::with_capacity(mib << 20);
    while bytes.len() < mib << 20 {
        let take = pattern.len().min((mib << 20) - bytes.len());
        bytes.extend_from_slice(&pattern[..take]);
    }
    let document = Bytes::from(bytes);
    let plain = document.clone();
    let run = TestCloud::builder()
        .layer(move |router| {
            let plain = plain.clone();
            router.route(
                "/plain",
                axum::routing::get(move || async move { plain.clone() }),
            )
        })
        .start()
        .await;
    let (cloud, base) = (&run.cloud, run.url.clone());
    let admin = run.admin_graph();
    let printer = admin.create_printer("Bench").await;
    let device_token = cloud.infra().issue_device_token(&printer).unwrap();
    let token = Credentials::Bearer(device_token.clone());
    let url = format!("{base}/printers");
    let limits = Limits::default();
    let http = admin.http.clone();

    let pdf = Group::new(GroupTag::PRINTER).with_set(
        "document-format-supported",
        [Value::mime_media_type("application/pdf")],
    );
    ipp::advertise(&http, &base, &device_token, pdf).await;
    let mut subscribe = Message::request(Operation::CREATE_PRINTER_SUBSCRIPTIONS, 2);
    subscribe.push_group(
        Group::new(GroupTag::SUBSCRIPTION)
            .with("notify-pull-method", Value::keyword("ippget"))
            .with_set("notify-events", [Value::keyword("job-fetchable")]),
    );
    let r = post_ipp(&http, &url, &token, &subscribe, None, &limits)
        .await
        .unwrap();
    let sub = r.message.group(GroupTag::SUBSCRIPTION).and_then(|g| {
        g.attributes
            .iter()
            .find(|a| a.name == "notify-subscription-id")
            .and_then(|a| a.first()?.as_integer())
    });
    let sub = sub.expect("subscription id");

    // 1. Graph start → Get-Notifications latency.
    let tiny = Bytes::from_static(b"%PDF-1.4 tiny");
    let mut latencies = Vec::with_capacity(jobs);
    for n in 1..=jobs as i32 {
        let job_id = uploaded_job(&admin, &printer, &tiny).await;
        let mut poll = Message::request(Operation::GET_NOTIFICATIONS, n as u32 + 2);
        poll.groups[0].push(Attribute::set(
            "notify-subscription-ids",
            [Value::Integer(sub)],
        ));
        poll.groups[0].push(Attribute::set(
            "notify-sequence-numbers",
            [Value::Integer(n)],
        ));
        poll.groups[0].push(Attribute::new("notify-wait", Value::Boolean(true)));
        let (http2, url2, token2, limits2) = (http.clone(), url.clone(), token.clone(), limits);
        let waiting = tokio::spawn(async move {
            let r = post_ipp(&http2, &url2, &token2, &poll, None, &limits2)
                .await
                .unwrap();
            (
                Instant::now(),
                r.message.groups_of(GroupTag::EVENT_NOTIFICATION).count(),
            )
        });
        // Let the poll reach the server and park before the job starts.
        tokio::time::sleep(Duration::from_millis(2)).await;
        let started = Instant::now();
        start(&admin, &printer, &job_id).await;
        let (returned, events) = waiting.await.unwrap();
        assert_eq!(events, 1, "job {job_id}: one job-fetchable event");
        latencies.push(returned - started);
    }
    latencies.sort();
    let mut targets = Targets::new("infra");
    println!(
        "Graph start -> Get-Notifications over {jobs} jobs: p50 {:?}, p99 {:?}, max {:?}",
        percentile(&latencies, 0.50),
        percentile(&latencies, 0.99),
        latencies.last().unwrap()
    );
    let ms = |d: Duration| d.as_secs_f64() * 1e3;
    targets.at_most(
        "start -> job-fetchable p50",
        ms(percentile(&latencies, 0.50)),
        2.0,
        " ms",
    );
    targets.at_most(
        "start -> job-fetchable p99",
        ms(percentile(&latencies, 0.99)),
        10.0,
        " ms",
    );

    // 2. Fetch-Document vs a plain GET of the same bytes.
    let big_job = uploaded_job(&admin, &printer, &document).await;
    start(&admin, &printer, &big_job).await;
    let big_job: i32 = big_job.parse().unwrap();
    let mut plain_best = Duration::MAX;
    let mut fetch_best = Duration::MAX;
    for _ in 0..2 {
        let started = Instant::now();
        let mut response = http.get(format!("{base}/plain")).send().await.unwrap();
        let mut received = 0usize;
        while let Some(chunk) = response.chunk().await.unwrap() {
            received += chunk.len();
        }
        assert_eq!(received, document.len());
        plain_best = plain_best.min(started.elapsed());

        let mut fetch = Message::request(Operation::FETCH_DOCUMENT, 7);
        fetch.groups[0].push(Attribute::new("job-id", Value::Integer(big_job)));
        fetch.groups[0].push(Attribute::new("document-number", Value::Integer(1)));
        let started = Instant::now();
        let mut r = post_ipp(&http, &url, &token, &fetch, None, &limits)
            .await
            .unwrap();
        let mut buf = vec![0u8; 1 << 20];
        let mut received = 0usize;
        loop {
            let n = r.document.read(&mut buf).await.unwrap();
            if n == 0 {
                break;
            }
            received += n;
        }
        assert_eq!(received, document.len());
        fetch_best = fetch_best.min(started.elapsed());
    }
    let mb = document.len() as f64 / 1e6;
    let plain_rate = mb / plain_best.as_secs_f64();
    let fetch_rate = mb / fetch_best.as_secs_f64();
    println!(
        "{mib} MiB: plain GET {plain_rate:.0} MB/s, Fetch-Document {fetch_rate:.0} MB/s, ratio {:.2}",
        fetch_rate / plain_rate
    );
    targets.at_least(
        "Fetch-Document over the plain GET",
        fetch_rate / plain_rate,
        0.4,
        "x",
    );
    targets.finish();
}
