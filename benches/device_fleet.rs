//! 1,000 emulated printers in this process against the real cloud in another one (the
//! `printlab cloud` binary on loopback), so the figures are the devices' own and the cloud's
//! are reported beside them. The printers register the Universal Print way (P-256 key, CSR,
//! device token), advertise and subscribe. Measures:
//! - the time for all of them to register, get a token, advertise and subscribe;
//! - the file descriptors each process opened for the idle fleet (over HTTP/2 all the long polls
//!   share one connection, so this does not grow with the fleet);
//! - resident memory per idle device: this process with the idle fleet over this process
//!   before the fleet started (the cloud's own growth is shown separately), and the heap the
//!   allocator has handed out (RSS also keeps what the start's peak freed);
//! - CPU used while the fleet idles on its long polls, by this process and by the cloud, over
//!   one whole long-poll period of the cloud for the HTTP the fleet speaks (each device renews
//!   its long poll once in it: 5 minutes over HTTP/2, 55 s over HTTP/1.1);
//! - printed jobs per second across the fleet, end to end: each job created, its one-page PDF
//!   uploaded and the job started through Graph (32 requests in flight), rendered by its
//!   device at 300 dpi and printed (engines at full speed); timed from the first create until
//!   every device has had its final report answered, then checked: every job `completed` in
//!   Graph and every side the device recorded written to disk.
//!
//! Targets (the same at 1,000 and 10,000 devices): all ready in under 30 s; under 100 KB of RSS
//! and of heap per idle device; idle CPU under 1 % of a core for the devices and for the cloud;
//! at most [`FD_GROWTH`] file descriptors opened for the fleet in each process; at least 50
//! printed jobs per second.
//!
//! `cargo bench --bench device_fleet` (DEVICES=n, JOBS=n to change the sizes, PRINTLAB_BIN=path
//! for another build of the cloud, FLEET_HTTP=1.1 to hold the fleet to HTTP/1.1 as before,
//! SKIP_IDLE=1 to leave out the idle window and its targets when measuring the rest). With
//! `--features dhat-heap` the heap blocks still live once the fleet idles are written to
//! dhat-heap.json by allocation site (slow; use a few hundred devices).

use futures::StreamExt;
use printlab_cloud::auth::TokenKey;
use printlab_device::registration::KeyKind;
use printlab_device::runtime::{FleetHttp, fleet_http_client_trusting, fleet_http_for};
use printlab_testkit::Graph;
use printlab_testkit::bench_targets::Targets;
use printlab_testkit_fleet::{ONE_PRINTER, TestFleet, universal_print, universal_print_fleet};
use serde_json::{Value, json};
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::io::AsyncBufReadExt;

#[cfg(feature = "dhat-heap")]
#[global_allocator]
static ALLOC: dhat::Alloc = dhat::Alloc;

/// How long the fleet may take to be ready before the bench gives up (the target is 30 s).
const READY_LIMIT: Duration = Duration::from_secs(600);
/// Requests in flight from the benchmark's Graph client.
const CLIENT_CONCURRENCY: usize = 32;
/// After the fleet is ready: long enough for the start's tail (reconcile, Get-Jobs, the first
/// long polls) to settle and for the idle connections of the start to time out of the pool.
const SETTLE: Duration = Duration::from_secs(12);

/// (resident bytes, CPU ticks of user + system) of a process (`self` or a pid).
fn usage(pid: &str) -> (u64, u64) {
    let statm = std::fs::read_to_string(format!("/proc/{pid}/statm")).unwrap();
    let pages: u64 = statm.split_whitespace().nth(1).unwrap().parse().unwrap();
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap();
    let after_comm = &stat[stat.rfind(')').unwrap() + 2..];
    let fields: Vec<&str> = after_comm.split_whitespace().collect();
    let ticks: u64 = fields[11].parse::<u64>().unwrap() + fields[12].parse::<u64>().unwrap();
    (pages * 4096, ticks)
}

/// Bytes the allocator has handed out and not had back, over every arena (glibc `mallinfo2`):
/// the live heap. RSS also keeps what was freed but stays with the allocator, such as the peak
/// of the fleet's start.
fn heap_in_use() -> u64 {
    // SAFETY: mallinfo2 takes no arguments and only reads the allocator's counters.
    let info = unsafe { libc::mallinfo2() };
    (info.uordblks + info.hblkhd) as u64
}

/// File descriptors a process may open for a fleet of any size: its connections (one over
/// HTTP/2, a few while a burst's HTTP/1.1 connections linger in the pool), sled's files.
const FD_GROWTH: usize = 64;

/// Open file descriptors of a process (`self` or a pid).
fn open_fds(pid: &str) -> usize {
    std::fs::read_dir(format!("/proc/{pid}/fd"))
        .unwrap()
        .count()
}

/// Threads of a process (`self` or a pid).
fn threads(pid: &str) -> usize {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    status
        .lines()
        .find_map(|line| line.strip_prefix("Threads:"))
        .and_then(|n| n.trim().parse().ok())
        .unwrap()
}

/// The most threads `pid` had at once while `during` ran (sampled every 20 ms): the cloud's
/// blocking pool grows a thread for each blocking call in flight (sled flushes).
async fn peak_threads<T>(pid: &str, during: impl Future<Output = T>) -> (T, usize) {
    let mut peak = threads(pid);
    let mut during = std::pin::pin!(during);
    let mut tick = tokio::time::interval(Duration::from_millis(20));
    loop {
        tokio::select! {
            done = &mut during => return (done, peak.max(threads(pid))),
            _ = tick.tick() => peak = peak.max(threads(pid)),
        }
    }
}

/// USER_HZ on Linux.
const TICKS_PER_SECOND: f64 = 100.0;

/// Creates a job, uploads its document and starts it; gives the printer's cloud id and the job
/// id.
async fn submit_job(graph: &Graph, printer: &str, document: &[u8]) -> (String, u32) {
    let jobs = format!("/print/printers/{printer}/jobs");
    let job = graph.create_job(&jobs, json!({})).await;
    let bytes = document.to_vec();
    graph
        .upload(&jobs, &job, "bench.pdf", "application/pdf", bytes)
        .await;
    let id = job["id"].as_str().unwrap();
    graph.start_job(&jobs, id).await;
    (printer.to_string(), id.parse().unwrap())
}

/// `printlab cloud` in a child process; gives it and its base URL (without `/v1.0`), which it
/// prints once it listens. PRINTLAB_BIN names another build of the binary (to compare builds
/// in one go).
async fn start_cloud(data: &Path) -> (tokio::process::Child, String) {
    let binary =
        std::env::var("PRINTLAB_BIN").unwrap_or_else(|_| env!("CARGO_BIN_EXE_printlab").into());
    let mut command = tokio::process::Command::new(binary);
    printlab_testkit::bench_child::dies_with_this_process(command.as_std_mut());
    let mut child = command
        .args([
            "--log",
            &std::env::var("CLOUD_LOG").unwrap_or_else(|_| "warn".into()),
            "cloud",
            "--listen",
            "127.0.0.1:0",
            "--data",
        ])
        .arg(data)
        .stdout(std::process::Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let mut line = String::new();
    tokio::io::BufReader::new(stdout)
        .read_line(&mut line)
        .await
        .unwrap();
    let base = line.trim().trim_end_matches("/v1.0").to_string();
    assert!(base.starts_with("http://"), "the cloud printed {line:?}");
    (child, base)
}

#[tokio::main]
async fn main() {
    // RUST_LOG=warn shows why a device's session ended (the devices log nothing otherwise).
    if std::env::var_os("RUST_LOG").is_some() {
        tracing_subscriber::fmt()
            .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
            .with_writer(std::io::stderr)
            .init();
    }
    let devices = printlab_testkit::env_or("DEVICES", 1000);
    let job_count = printlab_testkit::env_or("JOBS", devices);
    let load_before = load_average();
    // With `--features dhat-heap`: the heap blocks still live once the fleet idles, by
    // allocation site, in dhat-heap.json (the profile's "t-end"; view with dhat's dh_view).
    #[cfg(feature = "dhat-heap")]
    let profiler = dhat::Profiler::new_heap();
    let dir = tempfile::tempdir().unwrap();
    let cloud_data = dir.path().join("cloud");
    let (mut cloud, base) = start_cloud(&cloud_data).await;
    let cloud_pid = cloud.id().unwrap().to_string();
    let scopes = [
        "Printers.Create",
        "Printer.FullControl.All",
        "PrintJob.ReadWrite.All",
    ]
    .map(String::from);
    let admin = TokenKey::read_from_data_dir(&cloud_data)
        .unwrap()
        .mint_user("admin", &scopes, true, chrono::Duration::hours(2))
        .unwrap();
    let graph = Arc::new(Graph::new(&format!("{base}/v1.0"), &admin));

    let printer = ONE_PRINTER
        .replace("dpis = [72]", "dpis = [300]")
        .replace("dpi = 72", "dpi = 300")
        .replace(
            "pages_per_minute = 600\nwarm_up_seconds = 0\n",
            "pages_per_minute = 30\nfull_speed = true\n",
        );
    let text = universal_print_fleet(&printer, devices);
    let mut fleet = TestFleet::open(&dir.path().join("spool"));
    let http = match std::env::var("FLEET_HTTP").as_deref() {
        Ok("1.1") => FleetHttp::Http1,
        _ => fleet_http_for(std::slice::from_ref(&base), None)
            .await
            .unwrap(),
    };
    fleet.http = fleet_http_client_trusting(http, None).unwrap();
    // One whole long-poll period, so every device renews its long poll once inside it.
    let idle_window = match http {
        FleetHttp::Http1 => printlab_cloud::infra::DEFAULT_LONG_POLL,
        FleetHttp::Http2 => printlab_cloud::infra::DEFAULT_LONG_POLL_HTTP2,
    };
    let spool = fleet.spool.clone();
    tokio::time::sleep(Duration::from_millis(200)).await;
    let (rss_base, _) = usage("self");
    let heap_base = heap_in_use();
    let (cloud_rss_base, _) = usage(&cloud_pid);
    let (fds_base, cloud_fds_base) = (open_fds("self"), open_fds(&cloud_pid));
    let started = Instant::now();
    let link = universal_print(&base, Some(admin), KeyKind::EcdsaP256);
    let running = fleet.start(&text, true, link);
    let ((), cloud_threads_peak) = peak_threads(&cloud_pid, async {
        // Past the target, so a slow start is still measured; its progress shows every 10 s.
        let deadline = Instant::now() + READY_LIMIT;
        loop {
            let ready = (running.printers.iter())
                .filter(|p| {
                    let s = p.snapshot();
                    s.connected && s.subscribed
                })
                .count();
            if ready == devices {
                break;
            }
            assert!(
                Instant::now() < deadline,
                "only {ready} of {devices} devices registered, advertised and subscribed in {READY_LIMIT:?}"
            );
            eprintln!("{:.0} s: {ready} of {devices} devices ready", started.elapsed().as_secs_f64());
            tokio::time::sleep(Duration::from_secs(10)).await;
        }
    })
    .await;
    let ready = started.elapsed();
    eprintln!("fleet ready in {:.2} s; idling", ready.as_secs_f64());
    tokio::time::sleep(SETTLE).await;
    #[cfg(feature = "dhat-heap")]
    drop(profiler);
    let (rss_idle, ticks_before) = usage("self");
    let heap_idle = heap_in_use();
    let (cloud_rss_idle, cloud_ticks_before) = usage(&cloud_pid);
    let (fds_idle, cloud_fds_idle) = (open_fds("self"), open_fds(&cloud_pid));
    // SKIP_IDLE=1 leaves out the idle window (5 minutes over HTTP/2) and its two targets, for
    // runs that measure the start or the printed jobs.
    let idle_cpu = match std::env::var_os("SKIP_IDLE") {
        None => {
            tokio::time::sleep(idle_window).await;
            let (_, ticks_after) = usage("self");
            let (_, cloud_ticks_after) = usage(&cloud_pid);
            let share = |ticks: u64| ticks as f64 / TICKS_PER_SECOND / idle_window.as_secs_f64();
            Some((
                share(ticks_after - ticks_before),
                share(cloud_ticks_after - cloud_ticks_before),
            ))
        }
        Some(_) => None,
    };
    let load_idle = load_average();

    // Printed jobs, end to end: create, upload, start, render, print, final report.
    let printer_ids: Vec<String> = running
        .printers
        .iter()
        .map(|p| {
            spool
                .identity(&p.name)
                .unwrap()
                .and_then(|i| i.device_id)
                .expect("a registered printer has its cloud id in the spool")
        })
        .collect();
    let document = printlab_render::testpage::generate(&[(595.0, 842.0)]).unwrap();
    // Each printer's jobs completed so far; job n goes to printer n % devices.
    let completed_before: Vec<u64> = (running.printers.iter())
        .map(|p| p.snapshot().jobs_completed)
        .collect();
    let (_, printing_ticks) = usage("self");
    let (_, cloud_printing_ticks) = usage(&cloud_pid);
    let starting = Instant::now();
    // Submitting and watching the jobs print run side by side, so the times at which half and
    // nine tenths had printed show how printing kept up with the submissions.
    let submitted_at = std::cell::Cell::new(None);
    let submitting = async {
        let jobs: Vec<(usize, u32)> = futures::stream::iter(0..job_count)
            .map(|n| {
                let (graph, printer, document) = (
                    graph.clone(),
                    printer_ids[n % devices].clone(),
                    document.clone(),
                );
                async move { (n % devices, submit_job(&graph, &printer, &document).await.1) }
            })
            .buffer_unordered(CLIENT_CONCURRENCY)
            .collect()
            .await;
        submitted_at.set(Some(Instant::now()));
        jobs
    };
    // Waits on each printer's status for its jobs to complete, noting when each did. Polling the
    // sum of every printer's snapshot every 5 ms cloned 10,000 snapshots 200 times a second in
    // this process, beside the printing it measures.
    let completions = std::cell::RefCell::new(Vec::with_capacity(job_count));
    let all_printed =
        futures::future::join_all(running.printers.iter().enumerate().map(|(n, printer)| {
            let expected = (job_count / devices + usize::from(n < job_count % devices)) as u64;
            let (before, completions) = (completed_before[n], &completions);
            async move {
                for k in 1..=expected {
                    printer.wait_for(|s| s.jobs_completed >= before + k).await;
                    completions.borrow_mut().push(starting.elapsed());
                }
            }
        }));
    let stalled = async {
        loop {
            tokio::time::sleep(Duration::from_secs(1)).await;
            if submitted_at
                .get()
                .is_some_and(|at: Instant| at.elapsed() > Duration::from_secs(300))
            {
                return;
            }
        }
    };
    let watching = async {
        tokio::select! {
            _ = all_printed => {}
            () = stalled => panic!(
                "only {} of {job_count} jobs completed 300 s after the last start",
                completions.borrow().len()
            ),
        }
    };
    let (jobs, ()) = tokio::join!(submitting, watching);
    // When half and nine tenths of the jobs had printed: a tail of late jobs shows here.
    let mut printed_at = completions.into_inner();
    printed_at.sort_unstable();
    let (half_done, most_done) = (
        printed_at[job_count.div_ceil(2) - 1],
        printed_at[(job_count * 9).div_ceil(10) - 1],
    );
    let all_submitted = submitted_at.get().expect("submitted") - starting;
    let all_done = starting.elapsed();
    // CPU per printed job, from the first create to the last job printed: what bounds the
    // printed jobs/s on a machine with few cores.
    let per_job_ms = |before: u64, pid: &str| {
        let ticks = usage(pid).1 - before;
        ticks as f64 / TICKS_PER_SECOND * 1000.0 / job_count as f64
    };
    let (printing_ms, cloud_printing_ms) = (
        per_job_ms(printing_ticks, "self"),
        per_job_ms(cloud_printing_ticks, &cloud_pid),
    );
    let states: Vec<Value> = futures::stream::iter(jobs.iter().copied())
        .map(|(device, job)| {
            let graph = graph.clone();
            let path = format!("/print/printers/{}/jobs/{job}", printer_ids[device]);
            async move { graph.get_ok(&path).await }
        })
        .buffer_unordered(CLIENT_CONCURRENCY)
        .collect()
        .await;
    let not_completed = states
        .iter()
        .filter(|j| j["status"]["state"] != "completed")
        .count();
    assert_eq!(not_completed, 0, "jobs not completed in Graph");
    for &(device, job) in &jobs {
        let name = &running.printers[device].name;
        let record = spool
            .job(name, job)
            .unwrap()
            .expect("a printed job's record");
        assert!(!record.outputs.is_empty(), "{name} job {job}: no sides");
        for output in &record.outputs {
            assert!(
                Path::new(&output.path).is_file(),
                "{name} job {job}: {} was not written",
                output.path
            );
        }
    }

    let mib = |bytes: u64| bytes as f64 / 1048576.0;
    let per_device = |grown: u64| grown as f64 / 1024.0 / devices as f64;
    println!(
        "devices: {devices}; load average before the run {load_before}, after the idle window {load_idle}"
    );
    println!(
        "registered (P-256) + device token + advertised + subscribed, all: {:.2} s",
        ready.as_secs_f64()
    );
    println!("cloud process threads at most during the start: {cloud_threads_peak}");
    println!(
        "devices' process RSS: {:.1} MiB before the fleet, {:.1} MiB with the idle fleet: {:.1} KiB per device",
        mib(rss_base),
        mib(rss_idle),
        per_device(rss_idle.saturating_sub(rss_base))
    );
    println!(
        "devices' process heap in use (malloc): {:.1} MiB before the fleet, {:.1} MiB with the idle fleet: {:.1} KiB per device",
        mib(heap_base),
        mib(heap_idle),
        per_device(heap_idle.saturating_sub(heap_base))
    );
    println!(
        "cloud process RSS: {:.1} MiB before the fleet, {:.1} MiB with it idle: {:.1} KiB per printer",
        mib(cloud_rss_base),
        mib(cloud_rss_idle),
        per_device(cloud_rss_idle.saturating_sub(cloud_rss_base))
    );
    match idle_cpu {
        Some((cpu, cloud_cpu)) => println!(
            "idle CPU over one {} s long-poll period: devices' process {:.2} % of one core, cloud process {:.2} %",
            idle_window.as_secs(),
            cpu * 100.0,
            cloud_cpu * 100.0
        ),
        None => println!("idle CPU: not measured (SKIP_IDLE)"),
    }
    println!(
        "open file descriptors: devices' process {fds_base} before the fleet, {fds_idle} with it idle; cloud process {cloud_fds_base} before, {cloud_fds_idle} with it idle"
    );
    let jobs_per_second = job_count as f64 / all_done.as_secs_f64();
    println!(
        "printed jobs: {job_count} one-page PDFs at 300 dpi, all created, uploaded and started in {:.2} s; all printed (final report answered, completed in Graph, sides on disk) {:.2} s after the first create: {jobs_per_second:.0} printed jobs/s across the fleet",
        all_submitted.as_secs_f64(),
        all_done.as_secs_f64(),
    );
    println!(
        "printed jobs over time: half {:.2} s, nine tenths {:.2} s, all {:.2} s after the first create",
        half_done.as_secs_f64(),
        most_done.as_secs_f64(),
        all_done.as_secs_f64()
    );
    println!(
        "CPU per printed job: {printing_ms:.1} ms in this process (the devices and the Graph client), {cloud_printing_ms:.1} ms in the cloud"
    );
    println!();
    let mut targets = Targets::new("device_fleet");
    targets.at_most(
        &format!("{devices} devices ready"),
        ready.as_secs_f64(),
        30.0,
        " s",
    );
    let kb_per_device = |grown: u64| grown as f64 / 1000.0 / devices as f64;
    targets.at_most(
        "devices' RSS per idle device",
        kb_per_device(rss_idle.saturating_sub(rss_base)),
        100.0,
        " KB",
    );
    targets.at_most(
        "devices' heap per idle device",
        kb_per_device(heap_idle.saturating_sub(heap_base)),
        100.0,
        " KB",
    );
    if let Some((cpu, cloud_cpu)) = idle_cpu {
        targets.at_most("devices' idle CPU", cpu * 100.0, 1.0, " % of a core");
        targets.at_most("cloud's idle CPU", cloud_cpu * 100.0, 1.0, " % of a core");
    }
    let grown = |idle: usize, base: usize| idle.saturating_sub(base) as f64;
    targets.at_most(
        "devices' file descriptors opened for the fleet",
        grown(fds_idle, fds_base),
        FD_GROWTH as f64,
        "",
    );
    targets.at_most(
        "cloud's file descriptors opened for the fleet",
        grown(cloud_fds_idle, cloud_fds_base),
        FD_GROWTH as f64,
        "",
    );
    targets.at_least("printed jobs", jobs_per_second, 50.0, " jobs/s");
    fleet.stop().await;
    stop(&mut cloud).await;
    targets.finish();
}

/// Interrupts the cloud as Ctrl-C would, and waits for it to exit.
async fn stop(cloud: &mut tokio::process::Child) {
    if let Some(pid) = cloud.id() {
        let _ = std::process::Command::new("kill")
            .args(["-INT", &pid.to_string()])
            .status();
    }
    if tokio::time::timeout(Duration::from_secs(10), cloud.wait())
        .await
        .is_err()
    {
        cloud.kill().await.unwrap();
    }
}

fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|l| l.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_default()
}
