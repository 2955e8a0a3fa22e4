//! Many fleet processes against one cloud, as the Kubernetes StatefulSet runs them: `printlab
//! cloud` and SHARDS × `printlab devices --shard ordinal=k/SHARDS --key p256 --no-render`, each a
//! child process of this bench on loopback, all reading one `printers.toml` whose one entry has
//! `count = SHARDS × PER_SHARD`. Measures, per process:
//! - when each shard was ready (`GET /readyz` 200: every printer registered, advertised and
//!   subscribed), from the start of all of them;
//! - resident memory once idle, and per printer for the shards;
//! - CPU used while the whole lab idles, over one long-poll period of the cloud;
//! - open file descriptors and threads.
//!
//! Targets (per process, the 1,000-printer budgets of `device_fleet`): every shard ready in
//! under 30 s; under 100 KB of RSS per idle printer; idle CPU under 1 % of a core for each shard
//! and for the cloud.
//!
//! `cargo bench --bench fleet_shards` (SHARDS=n, PER_SHARD=n, IDLE_SECONDS=n; PRINTLAB_BIN=path
//! for another build). One machine runs every process here, so the figures show what each
//! process costs, and where the machine, not a process, is the limit.

use printlab_testkit::bench_targets::Targets;
use printlab_testkit::{env_or, plain_http};
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// USER_HZ on Linux.
const TICKS_PER_SECOND: f64 = 100.0;

/// A child process killed when dropped.
struct Process {
    name: String,
    child: Child,
}

impl Drop for Process {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// (resident bytes, CPU ticks, open file descriptors, threads) of a process.
fn usage(pid: u32) -> (u64, u64, usize, usize) {
    let statm = std::fs::read_to_string(format!("/proc/{pid}/statm")).unwrap();
    let pages: u64 = statm.split_whitespace().nth(1).unwrap().parse().unwrap();
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap();
    let fields: Vec<&str> = stat[stat.rfind(')').unwrap() + 2..]
        .split_whitespace()
        .collect();
    let ticks = fields[11].parse::<u64>().unwrap() + fields[12].parse::<u64>().unwrap();
    let threads = fields[17].parse().unwrap();
    let fds = std::fs::read_dir(format!("/proc/{pid}/fd"))
        .unwrap()
        .count();
    (pages * 4096, ticks, fds, threads)
}

/// Starts `printlab ARGS` and gives the first stdout line that starts with `prefix`, minus it.
fn start(
    bin: &Path,
    name: &str,
    args: &[&str],
    env: &[(&str, &str)],
    prefix: &str,
) -> (Process, String) {
    let mut command = Command::new(bin);
    printlab_testkit::bench_child::dies_with_this_process(&mut command);
    let mut child = command
        .args(["--log", "warn"])
        .args(args)
        .envs(env.iter().copied())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap_or_else(|e| panic!("starting {name}: {e}"));
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let found = loop {
        let line = lines
            .next()
            .unwrap_or_else(|| panic!("{name} ended before it printed {prefix:?}"))
            .unwrap();
        if let Some(rest) = line.strip_prefix(prefix) {
            break rest.trim().to_string();
        }
    };
    std::thread::spawn(move || for _ in lines {});
    (
        Process {
            name: name.to_string(),
            child,
        },
        found,
    )
}

/// The status of `GET {base}{path}`, or 0 when nothing answers.
fn status(base: &str, path: &str) -> u16 {
    plain_http::get(&format!("{base}{path}"), None).map_or(0, |answer| answer.status)
}

fn printlab_bin() -> PathBuf {
    std::env::var_os("PRINTLAB_BIN")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_BIN_EXE_printlab")))
}

const PRINTER: &str = r#"[[printer]]
name = "Shard Laser"
count = COUNT
[printer.capabilities]
document_formats = ["application/pdf"]
media = [{ size = "A4", margins = { top = 4, bottom = 4, left = 4, right = 4 } }]
dpis = [300]
color_modes = ["blackAndWhite"]
duplex_modes = ["oneSided"]
finishings = ["none"]
copies = { min = 1, max = 9 }
"#;

fn main() {
    let shards = env_or("SHARDS", 4).max(1);
    let per_shard = env_or("PER_SHARD", 1000).max(1);
    let idle_seconds = env_or("IDLE_SECONDS", 60) as u64;
    let total = shards * per_shard;
    let bin = printlab_bin();
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("printers.toml");
    std::fs::write(&config, PRINTER.replace("COUNT", &total.to_string())).unwrap();
    println!(
        "fleet_shards: 1 cloud + {shards} shard processes × {per_shard} printers = {total} printers ({})",
        bin.display()
    );

    let cloud_data = dir.path().join("cloud");
    let (cloud, graph) = start(
        &bin,
        "cloud",
        &[
            "cloud",
            "--listen",
            "127.0.0.1:0",
            "--data",
            cloud_data.to_str().unwrap(),
        ],
        &[],
        "http://",
    );
    let cloud_url = format!("http://{}", graph.trim_end_matches("/v1.0"));
    let minted = Command::new(&bin)
        .args([
            "token",
            "--data",
            cloud_data.to_str().unwrap(),
            "--user",
            "admin",
        ])
        .args(["--admin", "--scopes", "Printers.Create"])
        .output()
        .unwrap();
    assert!(
        minted.status.success(),
        "{}",
        String::from_utf8_lossy(&minted.stderr)
    );
    let admin = String::from_utf8(minted.stdout).unwrap().trim().to_string();

    // One printer in a process of its own: the fixed part of a shard process (the binary, the
    // runtime, the control API), which the per-printer figures leave out.
    let baseline_config = dir.path().join("baseline.toml");
    std::fs::write(
        &baseline_config,
        PRINTER
            .replace("COUNT", "1")
            .replace("Shard Laser", "Baseline Laser"),
    )
    .unwrap();
    let baseline_spool = dir.path().join("baseline");
    let devices = |name: &str, config: &Path, spool: &Path, shard: Option<&str>| {
        let mut args = vec![
            "devices",
            "--cloud",
            &cloud_url,
            "--config",
            config.to_str().unwrap(),
            "--spool",
            spool.to_str().unwrap(),
            "--control",
            "127.0.0.1:0",
            "--no-render",
            "--key",
            "p256",
        ];
        args.extend(shard.iter().flat_map(|s| ["--shard", s]));
        let (process, control) = start(
            &bin,
            name,
            &args,
            &[("PRINTLAB_TOKEN", &admin)],
            "control API: ",
        );
        let control = control.trim_end_matches("/control/printers").to_string();
        (process, control)
    };
    let (baseline, baseline_control) = devices("baseline", &baseline_config, &baseline_spool, None);
    let deadline = Instant::now() + Duration::from_secs(60);
    while status(&baseline_control, "/readyz") != 200 {
        assert!(
            Instant::now() < deadline,
            "the baseline process was not ready in 60 s"
        );
        std::thread::sleep(Duration::from_millis(250));
    }

    let started = Instant::now();
    let mut fleet = Vec::new();
    for k in 0..shards {
        let spool = dir.path().join(format!("shard-{k}"));
        let shard = format!("ordinal={k}/{shards}");
        let (process, control) = devices(&format!("shard {k}"), &config, &spool, Some(&shard));
        fleet.push((process, control, None::<Duration>));
    }
    let deadline = Instant::now() + Duration::from_secs(600);
    while fleet.iter().any(|(_, _, ready)| ready.is_none()) {
        for (_, control, ready) in &mut fleet {
            if ready.is_none() && status(control, "/readyz") == 200 {
                *ready = Some(started.elapsed());
            }
        }
        assert!(
            Instant::now() < deadline,
            "the shards were not ready in 10 minutes"
        );
        std::thread::sleep(Duration::from_millis(250));
    }
    let all_ready = started.elapsed();
    println!(
        "all {total} printers ready in {:.1} s",
        all_ready.as_secs_f64()
    );

    // Settle (the start's connections time out of the pools), then one idle long-poll period.
    std::thread::sleep(Duration::from_secs(12));
    let processes: Vec<&Process> = std::iter::once(&cloud)
        .chain(fleet.iter().map(|(p, _, _)| p))
        .collect();
    let baseline_rss = usage(baseline.child.id()).0;
    let before: Vec<_> = processes.iter().map(|p| usage(p.child.id())).collect();
    std::thread::sleep(Duration::from_secs(idle_seconds));
    let after: Vec<_> = processes.iter().map(|p| usage(p.child.id())).collect();

    let mut targets = Targets::new("fleet_shards");
    println!(
        "{:<10} {:>9} {:>10} {:>12} {:>10} {:>5} {:>8}",
        "process", "ready s", "RSS MiB", "RSS/printer", "idle CPU", "fds", "threads"
    );
    println!(
        "(RSS/printer: the shard's RSS over a one-printer process's, {:.1} MiB, per printer)",
        baseline_rss as f64 / (1 << 20) as f64
    );
    for (i, process) in processes.iter().enumerate() {
        let (rss, ticks_before, _, _) = before[i];
        let (_, ticks_after, fds, threads) = after[i];
        let cpu = (ticks_after - ticks_before) as f64 / TICKS_PER_SECOND / idle_seconds as f64;
        let ready = if i == 0 { None } else { fleet[i - 1].2 };
        let per_printer = (i > 0)
            .then(|| rss.saturating_sub(baseline_rss) as f64 / per_shard.max(2) as f64 / 1024.0);
        println!(
            "{:<10} {:>9} {:>10.1} {:>12} {:>9.2}% {:>5} {:>8}",
            process.name,
            ready.map_or("-".into(), |r| format!("{:.1}", r.as_secs_f64())),
            rss as f64 / (1 << 20) as f64,
            per_printer.map_or("-".into(), |k| format!("{k:.1} KiB")),
            cpu * 100.0,
            fds,
            threads
        );
        if let Some(ready) = ready {
            targets.at_most(
                &format!("{} ready", process.name),
                ready.as_secs_f64(),
                30.0,
                "s",
            );
        }
        if let Some(kib) = per_printer {
            targets.at_most(
                &format!("{} RSS per idle printer", process.name),
                kib * 1024.0 / 1000.0,
                100.0,
                "KB",
            );
        }
        targets.at_most(
            &format!("{} idle CPU", process.name),
            cpu * 100.0,
            1.0,
            "% of a core",
        );
    }
    targets.finish();
}
