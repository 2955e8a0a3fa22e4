//! 1,000 emulated printers in one process against the real cloud on loopback (in the same
//! process: its cost is included in the figures). Printers are created through Graph
//! (`printers/create`) and each device connects with its own device token. Measures:
//! - the time to advertise and subscribe all of them;
//! - resident memory per idle device over a baseline with the cloud and its printers alone;
//! - CPU used while the fleet idles on its long polls, over one whole long-poll period of the
//!   cloud (each device renews its long poll once in it);
//! - jobs per second across the fleet with rendering off (devices lay jobs out, draw nothing,
//!   and run their engines at full speed): jobs created and uploaded through Graph beforehand,
//!   then all started through Graph; timed from the first start until the cloud has stored
//!   every final report, then checked completed through Graph `GET`.
//!
//! `cargo bench --profile dev --bench device_fleet` (DEVICES=n, JOBS=n to change the sizes).

use axum::body::Body;
use axum::extract::{Request, State};
use axum::middleware::Next;
use axum::response::Response;
use base64::Engine;
use futures::StreamExt;
use printlab::cloud::{Cloud, CloudOptions};
use printlab::device::config;
use printlab::device::runtime::{Endpoint, FleetOptions, out_root, start_fleet};
use printlab::device::spool::Spool;
use printlab::ipp::http::Credentials;
use printlab::ipp::{AttributeLookup, GroupTag, Limits, Operation};
use serde_json::{Value, json};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

/// Requests in flight from the benchmark's Graph client.
const CLIENT_CONCURRENCY: usize = 32;

/// What the cloud has answered, counted as the requests pass through.
#[derive(Clone, Default)]
struct Counters {
    advertised: Arc<AtomicUsize>,
    subscribed: Arc<AtomicUsize>,
    /// Final `completed` reports the cloud stored and answered.
    completed: Arc<AtomicUsize>,
    /// Every IPP request.
    requests: Arc<AtomicUsize>,
}

async fn count(State(c): State<Counters>, request: Request, next: Next) -> Response {
    let is_ipp = request
        .headers()
        .get("content-type")
        .is_some_and(|v| v.as_bytes().starts_with(b"application/ipp"));
    if !is_ipp {
        return next.run(request).await;
    }
    c.requests.fetch_add(1, Ordering::Relaxed);
    let (parts, body) = request.into_parts();
    let bytes = axum::body::to_bytes(body, 1 << 20).await.unwrap();
    let decoded = printlab::ipp::decode(&bytes, &Limits::default()).ok();
    let response = next
        .run(Request::from_parts(parts, Body::from(bytes)))
        .await;
    let Some((message, _)) = decoded else {
        return response;
    };
    let counter = match message.operation() {
        Operation::UPDATE_OUTPUT_DEVICE_ATTRIBUTES => Some(&c.advertised),
        Operation::CREATE_PRINTER_SUBSCRIPTIONS => Some(&c.subscribed),
        Operation::UPDATE_JOB_STATUS
            if message
                .group(GroupTag::JOB)
                .and_then(|g| g.enum_value("output-device-job-state"))
                == Some(9) =>
        {
            Some(&c.completed)
        }
        _ => None,
    };
    if let Some(counter) = counter
        && response.status().is_success()
    {
        counter.fetch_add(1, Ordering::Relaxed);
    }
    response
}

/// (resident bytes, CPU ticks of user + system) of this process.
fn usage() -> (u64, u64) {
    let statm = std::fs::read_to_string("/proc/self/statm").unwrap();
    let pages: u64 = statm.split_whitespace().nth(1).unwrap().parse().unwrap();
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap();
    let after_comm = &stat[stat.rfind(')').unwrap() + 2..];
    let fields: Vec<&str> = after_comm.split_whitespace().collect();
    let ticks: u64 = fields[11].parse::<u64>().unwrap() + fields[12].parse::<u64>().unwrap();
    (pages * 4096, ticks)
}

const PRINTER: &str = r#"
[[printer]]
name = "P{n}"
[printer.capabilities]
document_formats = ["application/pdf"]
media = [{ size = "A4", margins = { top = 4, bottom = 4, left = 4, right = 4 } }]
dpis = [300]
color_modes = ["blackAndWhite"]
duplex_modes = ["oneSided"]
finishings = ["none"]
copies = { min = 1, max = 9 }
[printer.defaults]
document_format = "application/pdf"
media_size = "A4"
color_mode = "blackAndWhite"
duplex_mode = "oneSided"
dpi = 300
copies = 1
[printer.engine]
pages_per_minute = 30
full_speed = true
"#;

struct Graph {
    http: reqwest::Client,
    base: String,
    admin: String,
}

impl Graph {
    async fn call(&self, method: reqwest::Method, path: &str, body: Option<Value>) -> Value {
        let mut request = self
            .http
            .request(method, format!("{}{path}", self.base))
            .bearer_auth(&self.admin);
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request.send().await.unwrap();
        let status = response.status();
        let text = response.text().await.unwrap();
        assert!(status.is_success(), "{path}: {status} {text}");
        if text.is_empty() {
            Value::Null
        } else {
            serde_json::from_str(&text).unwrap()
        }
    }

    /// `printers/create` and its operation; gives the printer id.
    async fn create_printer(&self, name: &str, csr: &str) -> String {
        let response = self
            .http
            .post(format!("{}/print/printers/create", self.base))
            .bearer_auth(&self.admin)
            .json(&json!({
                "displayName": name, "manufacturer": "printlab", "model": "bench",
                "certificateSigningRequest": {"content": csr, "transportKey": "unused"},
            }))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status().as_u16(), 202);
        let location = response.headers()["Operation-Location"].to_str().unwrap();
        let path = location.split("/v1.0").nth(1).unwrap().to_owned();
        let operation = self.call(reqwest::Method::GET, &path, None).await;
        operation["printer"]["id"].as_str().unwrap().to_owned()
    }

    /// Creates a job with its document uploaded, not started; gives the jobs path of it.
    async fn prepare_job(&self, printer: &str, document: &[u8]) -> String {
        let jobs = format!("/print/printers/{printer}/jobs");
        let job = self
            .call(
                reqwest::Method::POST,
                &jobs,
                Some(json!({"configuration": {}})),
            )
            .await;
        let id = job["id"].as_str().unwrap();
        let doc = job["documents"][0]["id"].as_str().unwrap();
        let session = self
            .call(
                reqwest::Method::POST,
                &format!("{jobs}/{id}/documents/{doc}/createUploadSession"),
                Some(json!({"properties": {
                    "documentName": "bench.pdf", "contentType": "application/pdf",
                    "size": document.len()
                }})),
            )
            .await;
        let status = self
            .http
            .put(session["uploadUrl"].as_str().unwrap())
            .header(
                "Content-Range",
                format!("bytes 0-{}/{}", document.len() - 1, document.len()),
            )
            .body(document.to_vec())
            .send()
            .await
            .unwrap()
            .status();
        assert_eq!(status.as_u16(), 201);
        format!("{jobs}/{id}")
    }
}

#[tokio::main]
async fn main() {
    let env = |name: &str, default: usize| {
        std::env::var(name)
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(default)
    };
    let devices = env("DEVICES", 1000);
    let job_count = env("JOBS", devices);
    let dir = tempfile::tempdir().unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let cloud =
        Cloud::open_with(&dir.path().join("cloud"), &base, CloudOptions::default()).unwrap();
    let counters = Counters::default();
    let router = cloud.router().layer(axum::middleware::from_fn_with_state(
        counters.clone(),
        count,
    ));
    tokio::spawn(async move { axum::serve(listener, router).await.unwrap() });
    let scopes = ["Printer.FullControl.All", "PrintJob.ReadWrite.All"].map(String::from);
    let graph = Arc::new(Graph {
        http: reqwest::Client::new(),
        base: cloud.graph_base_url(),
        admin: cloud
            .token_key()
            .mint_user("admin", &scopes, true, chrono::Duration::hours(2))
            .unwrap(),
    });

    let provisioning = Instant::now();
    let key = rcgen::KeyPair::generate().unwrap();
    let csr = rcgen::CertificateParams::new(vec!["bench.printlab.test".into()])
        .unwrap()
        .serialize_request(&key)
        .unwrap();
    let csr = base64::engine::general_purpose::STANDARD.encode(csr.der());
    let printer_ids: Vec<String> = futures::stream::iter(0..devices)
        .map(|n| {
            let (graph, csr) = (graph.clone(), csr.clone());
            async move { graph.create_printer(&format!("P{n}"), &csr).await }
        })
        .buffered(CLIENT_CONCURRENCY)
        .collect()
        .await;
    let endpoints: Vec<Endpoint> = printer_ids
        .iter()
        .map(|id| Endpoint {
            printer_uri: format!("{base}/printers/{id}"),
            credentials: Credentials::Bearer(cloud.infra().issue_device_token(id).unwrap()),
        })
        .collect();
    let provisioned = provisioning.elapsed();
    eprintln!("provisioned {devices} printers");

    let text: String = (0..devices)
        .map(|n| PRINTER.replace("{n}", &n.to_string()))
        .collect();
    let fleet = config::parse(&text, "bench.toml").unwrap();
    let spool = Spool::open(&dir.path().join("spool")).unwrap();
    tokio::time::sleep(Duration::from_millis(200)).await;
    let (rss_base, _) = usage();
    let started = Instant::now();
    let running = start_fleet(
        &fleet.printers,
        |printer| {
            let n: usize = printer.name[1..].parse().unwrap();
            Ok(endpoints[n].clone())
        },
        FleetOptions {
            spool,
            out_root: out_root(dir.path()),
            http: reqwest::Client::new(),
            render: false,
        },
    )
    .unwrap();
    while counters.advertised.load(Ordering::Relaxed) < devices
        || counters.subscribed.load(Ordering::Relaxed) < devices
    {
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let ready = started.elapsed();
    eprintln!("fleet ready; idling");
    // Let the tail of the start (reconcile, Get-Jobs, the first long polls) settle.
    tokio::time::sleep(Duration::from_secs(5)).await;
    let (rss_idle, ticks_before) = usage();
    let requests_before = counters.requests.load(Ordering::Relaxed);
    // One whole long-poll period, so every device renews its long poll once inside it.
    let idle_window = printlab::cloud::infra::DEFAULT_LONG_POLL;
    tokio::time::sleep(idle_window).await;
    let (_, ticks_after) = usage();
    let idle_requests = counters.requests.load(Ordering::Relaxed) - requests_before;
    let ticks_per_second = 100.0; // USER_HZ on Linux
    let cpu = (ticks_after - ticks_before) as f64 / ticks_per_second / idle_window.as_secs_f64();

    // Throughput: every job ready in the cloud first, then all started at once.
    let document = printlab::render::testpage::generate(&[(595.0, 842.0)]).unwrap();
    let preparing = Instant::now();
    let jobs: Vec<String> = futures::stream::iter(0..job_count)
        .map(|n| {
            let (graph, printer, document) = (
                graph.clone(),
                printer_ids[n % devices].clone(),
                document.clone(),
            );
            async move { graph.prepare_job(&printer, &document).await }
        })
        .buffered(CLIENT_CONCURRENCY)
        .collect()
        .await;
    let prepared = preparing.elapsed();
    eprintln!("{job_count} jobs prepared; starting them");
    let completed_before = counters.completed.load(Ordering::Relaxed);
    let starting = Instant::now();
    futures::stream::iter(jobs.iter().cloned())
        .map(|job| {
            let graph = graph.clone();
            async move {
                graph
                    .call(reqwest::Method::POST, &format!("{job}/start"), None)
                    .await
            }
        })
        .buffer_unordered(CLIENT_CONCURRENCY)
        .for_each(|_| async {})
        .await;
    let all_started = starting.elapsed();
    let deadline = Instant::now() + Duration::from_secs(120);
    while counters.completed.load(Ordering::Relaxed) - completed_before < job_count {
        assert!(
            Instant::now() < deadline,
            "only {} of {job_count} jobs completed",
            counters.completed.load(Ordering::Relaxed) - completed_before
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let all_done = starting.elapsed();
    let states: Vec<Value> = futures::stream::iter(jobs.iter().cloned())
        .map(|job| {
            let graph = graph.clone();
            async move { graph.call(reqwest::Method::GET, &job, None).await }
        })
        .buffer_unordered(CLIENT_CONCURRENCY)
        .collect()
        .await;
    let not_completed = states
        .iter()
        .filter(|j| j["status"]["state"] != "completed")
        .count();
    assert_eq!(not_completed, 0, "jobs not completed in Graph");

    println!(
        "devices: {devices}, load before the run: {}",
        load_average()
    );
    println!(
        "provisioned {devices} printers through Graph + device tokens: {:.2} s",
        provisioned.as_secs_f64()
    );
    println!("advertised + subscribed all: {:.2} s", ready.as_secs_f64());
    println!(
        "RSS: baseline {:.1} MiB, with idle fleet {:.1} MiB, {:.1} KiB per device (the cloud's side of each long poll included)",
        rss_base as f64 / 1048576.0,
        rss_idle as f64 / 1048576.0,
        (rss_idle.saturating_sub(rss_base)) as f64 / 1024.0 / devices as f64
    );
    println!(
        "idle CPU: {:.2} % of one core; {idle_requests} requests reached the cloud in the {} s idle window",
        cpu * 100.0,
        idle_window.as_secs()
    );
    println!(
        "jobs: {job_count} prepared (create + upload) in {:.2} s; started in {:.2} s; all completed (stored by the cloud, checked in Graph) {:.2} s after the first start: {:.0} jobs/s across the fleet, rendering off",
        prepared.as_secs_f64(),
        all_started.as_secs_f64(),
        all_done.as_secs_f64(),
        job_count as f64 / all_done.as_secs_f64()
    );
    running.shutdown().await;
}

fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|l| l.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_default()
}
