//! The INFRA service's two hot paths, over loopback HTTP with our own IPP client:
//! 1. latency from Graph `start` (`Infra::start_job`) to the device's long-polled
//!    Get-Notifications returning the `job-fetchable` event (p50/p99 over JOBS jobs);
//! 2. Fetch-Document throughput for a DOC_MIB document against a plain loopback GET of the same
//!    bytes from memory, in the same run.
//!
//! `cargo bench --bench infra` (env `INFRA_BENCH_JOBS`, `INFRA_BENCH_MIB` to shrink it).

use bytes::Bytes;
use printlab::cloud::infra::{Infra, JobTicket};
use printlab::cloud::odata::GraphError;
use printlab::cloud::upload::{
    CompletedUpload, UploadCreator, UploadListener, UploadService, UploadTarget,
};
use printlab::ipp::http::{Credentials, post_ipp};
use printlab::ipp::{Attribute, Group, GroupTag, Limits, Message, Operation, Value};
use printlab::model::{PrintDocumentUploadProperties, PrintJobConfiguration};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::io::AsyncReadExt;

struct Echo;

impl UploadListener for Echo {
    fn upload_completed(&self, done: &CompletedUpload) -> Result<serde_json::Value, GraphError> {
        Ok(serde_json::json!({ "id": done.target.document_id }))
    }
}

fn env_or(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn ticket(job_id: i32, document_id: &str, size: u64) -> JobTicket {
    JobTicket {
        printer_id: "bench".into(),
        job_id,
        job_name: format!("job {job_id}"),
        owner: "bench".into(),
        configuration: PrintJobConfiguration::default(),
        document_id: document_id.into(),
        document_format: "application/pdf".into(),
        document_size: size,
    }
}

async fn upload(uploads: &UploadService, http: &reqwest::Client, document_id: &str, data: &Bytes) {
    let url = uploads
        .create_session(
            UploadTarget {
                printer_id: "bench".into(),
                job_id: document_id.into(),
                document_id: document_id.into(),
            },
            &PrintDocumentUploadProperties {
                document_name: "bench.pdf".into(),
                content_type: "application/pdf".into(),
                size: data.len() as i64,
            },
            &UploadCreator::default(),
        )
        .unwrap()
        .upload_url
        .unwrap();
    const RANGE: usize = 8 << 20;
    let mut first = 0;
    while first < data.len() {
        let last = (first + RANGE).min(data.len()) - 1;
        let status = http
            .put(&url)
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
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    sorted[((sorted.len() as f64 - 1.0) * p).round() as usize]
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let jobs = env_or("INFRA_BENCH_JOBS", 1000);
    let mib = env_or("INFRA_BENCH_MIB", 256);
    let dir = tempfile::tempdir().unwrap();
    let db = sled::open(dir.path().join("store")).unwrap();
    let socket = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", socket.local_addr().unwrap());
    let uploads = Arc::new(UploadService::open(&db, &base, Arc::new(Echo)).unwrap());
    let infra = Infra::new(uploads.clone(), &base);
    let document = Bytes::from(
        (0..(mib << 20))
            .map(|i| (i % 253) as u8)
            .collect::<Vec<u8>>(),
    );
    let plain = document.clone();
    let router = uploads.router().merge(infra.router()).route(
        "/plain",
        axum::routing::get(move || async move { plain.clone() }),
    );
    tokio::spawn(async move { axum::serve(socket, router).await.unwrap() });
    let http = reqwest::Client::new();
    infra.add_printer("bench", "Bench").unwrap();
    let token = Credentials::Bearer(infra.issue_device_token("bench").unwrap());
    let url = format!("{base}/printers");
    let limits = Limits::default();

    let mut subscribe = Message::request(Operation::CREATE_PRINTER_SUBSCRIPTIONS, 1);
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

    // 1. start → Get-Notifications latency. The tiny shared document is uploaded once.
    upload(
        &uploads,
        &http,
        "tiny",
        &Bytes::from_static(b"%PDF-1.4 tiny"),
    )
    .await;
    let mut latencies = Vec::with_capacity(jobs);
    for n in 1..=jobs as i32 {
        let mut poll = Message::request(Operation::GET_NOTIFICATIONS, n as u32 + 1);
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
        infra.start_job(ticket(n, "tiny", 13)).unwrap();
        let (returned, events) = waiting.await.unwrap();
        assert_eq!(events, 1, "job {n}: one job-fetchable event");
        latencies.push(returned - started);
    }
    latencies.sort();
    println!(
        "start -> Get-Notifications over {jobs} jobs: p50 {:?}, p99 {:?}, max {:?}",
        percentile(&latencies, 0.50),
        percentile(&latencies, 0.99),
        latencies.last().unwrap()
    );

    // 2. Fetch-Document vs a plain GET of the same bytes.
    upload(&uploads, &http, "big", &document).await;
    let big_job = jobs as i32 + 1;
    infra
        .start_job(ticket(big_job, "big", document.len() as u64))
        .unwrap();
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
}
