//! 1,000 idle emulated printers in one process against a minimal INFRA service on loopback
//! (in the same process: its cost is included in the figures). Measures the time to advertise
//! and subscribe all of them, resident memory per device over a baseline with the service
//! alone, and CPU used while the fleet idles on its long polls.
//!
//! `cargo bench --bench device_fleet` (DEVICES=n to change the fleet size).

use axum::extract::State;
use axum::routing::post;
use printlab::device::config;
use printlab::device::runtime::{Endpoint, FleetOptions, out_root, start_fleet};
use printlab::device::spool::Spool;
use printlab::ipp::http::{Credentials, IppReply, IppRequest};
use printlab::ipp::{Group, GroupTag, Message, Operation, StatusCode, Value};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

#[derive(Clone, Default)]
struct Counters {
    advertised: Arc<AtomicUsize>,
    subscribed: Arc<AtomicUsize>,
}

async fn handle(State(c): State<Counters>, request: IppRequest) -> IppReply {
    let id = request.message.request_id;
    let mut ok = Message::response(StatusCode::SUCCESSFUL_OK, id);
    match request.message.operation() {
        Operation::UPDATE_OUTPUT_DEVICE_ATTRIBUTES => {
            c.advertised.fetch_add(1, Ordering::Relaxed);
        }
        Operation::CREATE_PRINTER_SUBSCRIPTIONS => {
            c.subscribed.fetch_add(1, Ordering::Relaxed);
            ok.push_group(
                Group::new(GroupTag::SUBSCRIPTION)
                    .with("notify-subscription-id", Value::Integer(1)),
            );
        }
        // Nothing happens: hold the long poll longer than the measurement.
        Operation::GET_NOTIFICATIONS => tokio::time::sleep(Duration::from_secs(600)).await,
        _ => {}
    }
    IppReply::new(ok)
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
"#;

#[tokio::main]
async fn main() {
    let devices: usize = std::env::var("DEVICES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1000);
    let counters = Counters::default();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let router = axum::Router::new()
        .route("/ipp", post(handle))
        .with_state(counters.clone());
    tokio::spawn(async move { axum::serve(listener, router).await.unwrap() });
    let text: String = (0..devices)
        .map(|n| PRINTER.replace("{n}", &n.to_string()))
        .collect();
    let fleet = config::parse(&text, "bench.toml").unwrap();
    let dir = tempfile::tempdir().unwrap();
    let spool = Spool::open(&dir.path().join("db")).unwrap();
    tokio::time::sleep(Duration::from_millis(200)).await;
    let (rss_base, _) = usage();
    let started = Instant::now();
    let uri = format!("http://{addr}/ipp");
    let running = start_fleet(
        &fleet.printers,
        |_| {
            Ok(Endpoint {
                printer_uri: uri.clone(),
                credentials: Credentials::None,
            })
        },
        FleetOptions {
            spool,
            out_root: out_root(dir.path()),
            http: reqwest::Client::new(),
            render: true,
        },
    )
    .unwrap();
    while counters.advertised.load(Ordering::Relaxed) < devices
        || counters.subscribed.load(Ordering::Relaxed) < devices
    {
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let ready = started.elapsed();
    tokio::time::sleep(Duration::from_secs(2)).await;
    let (rss_idle, ticks_before) = usage();
    let idle_window = Duration::from_secs(10);
    tokio::time::sleep(idle_window).await;
    let (_, ticks_after) = usage();
    let ticks_per_second = 100.0; // USER_HZ on Linux
    let cpu = (ticks_after - ticks_before) as f64 / ticks_per_second / idle_window.as_secs_f64();
    println!("devices: {devices}");
    println!("advertised + subscribed all: {:.2} s", ready.as_secs_f64());
    println!(
        "RSS: baseline {:.1} MiB, with idle fleet {:.1} MiB, {:.1} KiB per device (service's side of each long poll included)",
        rss_base as f64 / 1048576.0,
        rss_idle as f64 / 1048576.0,
        (rss_idle.saturating_sub(rss_base)) as f64 / 1024.0 / devices as f64
    );
    println!("idle CPU: {:.2} % of one core", cpu * 100.0);
    running.shutdown().await;
}
