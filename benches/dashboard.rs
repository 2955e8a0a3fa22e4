//! The dashboard under load: `printlab up --no-render --full-speed` with 1,000 printers (a child
//! process, so its CPU is its own), jobs at 50 a second through Graph, and the dashboard open in
//! Debian's headless Chromium. The same load runs twice, first with no page connected, then with
//! the page. Measures:
//! - the events a second the page received (its `data-events` counter) while the load ran, how
//!   busy its main thread was (DevTools `TaskDuration`), and how long after the last job
//!   completed in Graph the page showed the newest jobs completed (it stays live when this is
//!   short: it did not fall behind the stream);
//! - the page's JavaScript heap and DOM nodes at the end, after a garbage collection (DevTools
//!   `HeapProfiler.collectGarbage`, `Performance.getMetrics`);
//! - the lab's CPU a job (user + system of the `up` process) with the page against without:
//!   the difference, at the target rate, is what one connected page costs the lab.
//!
//! Targets: the jobs go in at ≥ 45 a second with the page open (else the machine, not the lab,
//! is the limit); the page's main thread busy ≤ 50 % of the time; it shows the newest jobs
//! completed ≤ 2 s after Graph does; its heap ≤ 64 MB; a connected page costs the lab ≤ 0.25 of
//! a core.
//!
//! `cargo bench --bench dashboard` (PRINTERS=n, JOBS_PER_SECOND=n, SECONDS=n to change the load;
//! SCREENSHOT=path.png writes the page as the load ends, jobs still printing).

use printlab_lab::discovery::LabInfo;
use printlab_testkit::Graph;
use printlab_testkit::bench_targets::Targets;
use printlab_testkit::browser::{Browser, Engine};
use printlab_testkit_fleet::{ONE_PRINTER, universal_print_fleet};
use serde_json::{Value, json};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::io::AsyncBufReadExt;
use tokio::sync::Semaphore;

/// Jobs being created, uploaded and started at once, at most.
const CLIENT_CONCURRENCY: usize = 64;

/// USER_HZ on Linux.
const TICKS_PER_SECOND: f64 = 100.0;

/// CPU ticks (user + system) of a process so far.
fn cpu_ticks(pid: u32) -> u64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap();
    let after_comm = &stat[stat.rfind(')').unwrap() + 2..];
    let fields: Vec<&str> = after_comm.split_whitespace().collect();
    fields[11].parse::<u64>().unwrap() + fields[12].parse::<u64>().unwrap()
}

/// CPU ticks of `root` and every process descended from it that is still running (the
/// browser and its renderer, GPU and utility processes).
fn tree_ticks(root: u32) -> u64 {
    let mut parent_and_ticks = std::collections::HashMap::new();
    for entry in std::fs::read_dir("/proc").unwrap().flatten() {
        let Ok(pid) = entry.file_name().to_string_lossy().parse::<u32>() else {
            continue;
        };
        // A process may end between the listing and the read.
        let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else {
            continue;
        };
        let after_comm = &stat[stat.rfind(')').unwrap() + 2..];
        let fields: Vec<&str> = after_comm.split_whitespace().collect();
        let parent: u32 = fields[1].parse().unwrap();
        let ticks = fields[11].parse::<u64>().unwrap() + fields[12].parse::<u64>().unwrap();
        parent_and_ticks.insert(pid, (parent, ticks));
    }
    let descends = |mut pid: u32| loop {
        if pid == root {
            return true;
        }
        match parent_and_ticks.get(&pid) {
            Some(&(parent, _)) if parent != pid && parent != 0 => pid = parent,
            _ => return false,
        }
    };
    (parent_and_ticks.iter())
        .filter(|(pid, _)| descends(**pid))
        .map(|(_, (_, ticks))| ticks)
        .sum()
}

/// The machine's CPU ticks so far, busy and in all (`/proc/stat`, every core).
fn machine_ticks() -> (u64, u64) {
    let stat = std::fs::read_to_string("/proc/stat").unwrap();
    let cpu: Vec<u64> = (stat.lines().next().unwrap().split_whitespace().skip(1))
        .map(|n| n.parse().unwrap())
        .collect();
    let all: u64 = cpu.iter().take(8).sum();
    let idle = cpu[3] + cpu[4];
    (all - idle, all)
}

/// Where the machine's CPU went over a run, in cores.
#[derive(Default)]
struct CpuShares {
    cores: f64,
    busy: f64,
    lab: f64,
    load_generator: f64,
    browser: f64,
}

impl std::fmt::Display for CpuShares {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{:.2} of {:.0} cores busy: the lab {:.2}, the load generator {:.2}, the browser \
             {:.2}, everything else {:.2}",
            self.busy,
            self.cores,
            self.lab,
            self.load_generator,
            self.browser,
            self.busy - self.lab - self.load_generator - self.browser
        )
    }
}

/// `printlab up` on `dir` in a child process, once it says it is up.
async fn start_lab(dir: &Path) -> tokio::process::Child {
    let mut command = tokio::process::Command::new(env!("CARGO_BIN_EXE_printlab"));
    printlab_testkit::bench_child::dies_with_this_process(command.as_std_mut());
    let mut child = command
        .current_dir(dir)
        .args(["--log", "warn", "up", "--listen", "127.0.0.1:0"])
        .args(["--ipp-listen", "127.0.0.1:0", "--no-render", "--full-speed"])
        .stdout(std::process::Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let mut lines = tokio::io::BufReader::new(child.stdout.take().unwrap()).lines();
    while let Some(line) = lines.next_line().await.unwrap() {
        if line.starts_with("printlab is up: ") {
            // Keep reading, so the lab never blocks on a full pipe.
            tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
            return child;
        }
    }
    panic!("printlab up ended before it was up");
}

/// A printer of the lab: its share, where jobs go, and its name, which the page shows.
#[derive(Clone)]
struct Target {
    share: String,
    printer: String,
}

/// A submitted job: its Graph path and the key the page lists it under (`printer/id`).
struct Submitted {
    path: String,
    page_key: String,
}

/// Creates, uploads and starts one job on `target`.
async fn submit(graph: &Graph, target: &Target, document: Vec<u8>) -> Submitted {
    let jobs = format!("/print/shares/{}/jobs", target.share);
    let job = graph.create_job(&jobs, json!({})).await;
    graph
        .upload(&jobs, &job, "load.pdf", "application/pdf", document)
        .await;
    let id = job["id"].as_str().unwrap();
    graph.start_job(&jobs, id).await;
    Submitted {
        path: format!("{jobs}/{id}"),
        page_key: format!("{}/{id}", target.printer),
    }
}

/// What one run of the load gave.
struct LoadRun {
    jobs: Vec<Submitted>,
    submitted_in: Duration,
    /// The lab's CPU time over the run, in seconds.
    cpu_seconds: f64,
    cpu: CpuShares,
}

impl LoadRun {
    fn rate(&self) -> f64 {
        self.jobs.len() as f64 / self.submitted_in.as_secs_f64()
    }

    fn cpu_ms_per_job(&self) -> f64 {
        1000.0 * self.cpu_seconds / self.jobs.len() as f64
    }
}

/// `rate` jobs a second for `seconds`, spread over the shares; the lab's CPU over that time,
/// and the machine's, with the browser's when one runs (`browser_pid`).
async fn run_load(
    graph: &Arc<Graph>,
    targets: &[Target],
    rate: usize,
    seconds: usize,
    lab_pid: u32,
    browser_pid: Option<u32>,
) -> LoadRun {
    let document = printlab_render::testpage::generate(&[(595.0, 842.0)]).unwrap();
    let slots = Arc::new(Semaphore::new(CLIENT_CONCURRENCY));
    let mut submitted = tokio::task::JoinSet::new();
    let mut tick = tokio::time::interval(Duration::from_secs(1) / rate as u32);
    let ticks_before = cpu_ticks(lab_pid);
    let own_before = cpu_ticks(std::process::id());
    let browser_before = browser_pid.map_or(0, tree_ticks);
    let machine_before = machine_ticks();
    let started = Instant::now();
    for n in 0..rate * seconds {
        tick.tick().await;
        let slot = slots.clone().acquire_owned().await.unwrap();
        let (graph, target) = (graph.clone(), targets[n % targets.len()].clone());
        let document = document.clone();
        submitted.spawn(async move {
            let job = submit(&graph, &target, document).await;
            drop(slot);
            job
        });
    }
    let jobs = submitted.join_all().await;
    let submitted_in = started.elapsed();
    let (busy, all) = machine_ticks();
    let elapsed = submitted_in.as_secs_f64();
    let cores = |ticks: u64| ticks as f64 / TICKS_PER_SECOND / elapsed;
    let lab_ticks = cpu_ticks(lab_pid) - ticks_before;
    let cpu = CpuShares {
        cores: cores(all - machine_before.1),
        busy: cores(busy - machine_before.0),
        lab: cores(lab_ticks),
        load_generator: cores(cpu_ticks(std::process::id()) - own_before),
        browser: browser_pid.map_or(0.0, |pid| {
            cores(tree_ticks(pid).saturating_sub(browser_before))
        }),
    };
    LoadRun {
        jobs,
        submitted_in,
        cpu_seconds: lab_ticks as f64 / TICKS_PER_SECOND,
        cpu,
    }
}

/// Waits until every job is completed in Graph; gives when the last was seen so.
async fn all_completed(graph: &Graph, jobs: &[Submitted]) -> Instant {
    for job in jobs {
        graph
            .wait(
                &job.path,
                "the job completed",
                Duration::from_secs(300),
                |j| printlab_testkit::job_state(j) == "completed",
            )
            .await;
    }
    Instant::now()
}

/// The page's `Performance.getMetrics` figure `name`.
fn metric(metrics: &Value, name: &str) -> f64 {
    (metrics["metrics"].as_array().unwrap().iter())
        .find(|m| m["name"] == name)
        .and_then(|m| m["value"].as_f64())
        .unwrap_or(f64::NAN)
}

#[tokio::main]
async fn main() {
    let printers = printlab_testkit::env_or("PRINTERS", 1000);
    let rate = printlab_testkit::env_or("JOBS_PER_SECOND", 50);
    let seconds = printlab_testkit::env_or("SECONDS", 20);
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("printers.toml"),
        universal_print_fleet(ONE_PRINTER, printers),
    )
    .unwrap();
    let started = Instant::now();
    let mut lab = start_lab(dir.path()).await;
    let lab_pid = lab.id().unwrap();
    let data = dir.path().join("spool");
    let info = LabInfo::read(&data).unwrap().expect("lab.json");
    let user_token = std::fs::read_to_string(data.join("user.token")).unwrap();
    let admin_token = std::fs::read_to_string(data.join("control.token")).unwrap();
    let graph = Arc::new(Graph::new(&info.graph, user_token.trim()));
    let targets: Vec<Target> = (info.printers.iter())
        .map(|p| Target {
            share: p.share_id.clone(),
            printer: p.name.clone(),
        })
        .collect();
    println!(
        "{printers} printers up in {:.1} s; {rate} jobs/s for {seconds} s, twice",
        started.elapsed().as_secs_f64()
    );

    // Without a page.
    let bare = run_load(&graph, &targets, rate, seconds, lab_pid, None).await;
    all_completed(&graph, &bare.jobs).await;
    println!(
        "no page:   {:.1} jobs/s submitted; the lab used {:.2} ms of CPU a job; {}",
        bare.rate(),
        bare.cpu_ms_per_job(),
        bare.cpu
    );

    // With the dashboard open: the browser is blocking, so it lives on a thread of its own.
    let url = format!("{}/#token={}", info.cloud, admin_token.trim());
    let (to_page, mut page_commands) = tokio::sync::mpsc::channel::<PageCommand>(4);
    let (browser_pid, browser_started) = std::sync::mpsc::channel();
    let page = std::thread::spawn(move || drive_page(&url, &mut page_commands, browser_pid));
    let ask = |command: PageCommand, answered: tokio::sync::oneshot::Receiver<Value>| {
        let to_page = to_page.clone();
        async move {
            to_page.send(command).await.unwrap();
            answered.await.unwrap()
        }
    };
    let (answer, answered) = tokio::sync::oneshot::channel();
    ask(PageCommand::WaitLive(answer), answered).await;
    let browser_pid = browser_started.recv().unwrap();
    let (answer, answered) = tokio::sync::oneshot::channel();
    let before = ask(PageCommand::Metrics(answer, false), answered).await;
    let watched = run_load(&graph, &targets, rate, seconds, lab_pid, Some(browser_pid)).await;
    let (answer, answered) = tokio::sync::oneshot::channel();
    let during = ask(PageCommand::Metrics(answer, true), answered).await;
    let graph_done = all_completed(&graph, &watched.jobs).await;
    // The page lists the newest jobs by number (and at most 300 finished): the 50 highest
    // must show, completed. Not the last 50 to finish submitting: the submissions end in any
    // order, and a slow one's job can be older than the 300 the page lists.
    let mut numbered: Vec<(u64, &String)> = (watched.jobs.iter())
        .map(|j| {
            let number = j.page_key.rsplit('/').next().unwrap();
            (number.parse().unwrap(), &j.page_key)
        })
        .collect();
    numbered.sort_unstable_by(|a, b| b.cmp(a));
    let newest: Vec<String> = (numbered.iter().take(50))
        .map(|(_, key)| (*key).clone())
        .collect();
    let (answer, answered) = tokio::sync::oneshot::channel();
    ask(PageCommand::WaitCompleted(newest, answer), answered).await;
    let page_lag = graph_done.elapsed();
    // DOM nodes count until they are collected: collected first, the count is what the page
    // holds, not what it dropped since the last collection.
    let (answer, answered) = tokio::sync::oneshot::channel();
    ask(PageCommand::CollectGarbage(answer), answered).await;
    let (answer, answered) = tokio::sync::oneshot::channel();
    let after = ask(PageCommand::Metrics(answer, false), answered).await;
    drop(to_page);
    page.join().unwrap();
    let load_seconds = watched.submitted_in.as_secs_f64();
    let page_events = (metric(&during, "events") - metric(&before, "events")) / load_seconds;
    let page_busy =
        (metric(&during, "TaskDuration") - metric(&before, "TaskDuration")) / load_seconds;
    let share_of = |name: &str| {
        100.0 * (metric(&during, name) - metric(&before, name)) / load_seconds / page_busy
    };
    println!(
        "page's busy time: script {:.0} %, style {:.0} %, layout {:.0} %",
        share_of("ScriptDuration"),
        share_of("RecalcStyleDuration"),
        share_of("LayoutDuration")
    );
    let heap_mb = metric(&after, "JSHeapUsedSize") / 1e6;
    let nodes = metric(&after, "Nodes");
    // The same jobs cost the lab more CPU with the page open: at the target rate, in cores.
    let page_cost = (watched.cpu_ms_per_job() - bare.cpu_ms_per_job()) / 1000.0 * rate as f64;
    println!(
        "with page: {:.1} jobs/s submitted; the lab used {:.2} ms of CPU a job; the page \
         received {page_events:.0} events/s, its main thread busy {:.0} % of the time, and \
         showed the newest jobs completed {:.2} s after Graph; at the end its heap was \
         {heap_mb:.1} MB, {nodes:.0} DOM nodes",
        watched.rate(),
        watched.cpu_ms_per_job(),
        100.0 * page_busy,
        page_lag.as_secs_f64(),
    );
    println!("with page: {}", watched.cpu);
    let _ = lab.kill().await;

    let mut checks = Targets::new("dashboard");
    checks.at_least(
        "jobs submitted per second with the page",
        watched.rate(),
        0.9 * rate as f64,
        " jobs/s",
    );
    checks.at_most(
        "the page's main thread, busy",
        100.0 * page_busy,
        50.0,
        " %",
    );
    checks.at_most(
        "the page's lag behind Graph at the end",
        page_lag.as_secs_f64(),
        2.0,
        " s",
    );
    checks.at_most("the page's JavaScript heap", heap_mb, 64.0, " MB");
    checks.at_most(
        "the lab's CPU for one connected page",
        page_cost,
        0.25,
        " cores",
    );
    checks.finish();
}

/// What the benchmark asks of the page's thread.
enum PageCommand {
    WaitLive(tokio::sync::oneshot::Sender<Value>),
    /// `Performance.getMetrics`, with the page's own count of events received as `events`;
    /// then, if asked and SCREENSHOT names a file, the page as it is (after the figures).
    Metrics(tokio::sync::oneshot::Sender<Value>, bool),
    /// A full garbage collection (V8's and the DOM's).
    CollectGarbage(tokio::sync::oneshot::Sender<Value>),
    /// Until the page lists these jobs (`printer/id`), each completed.
    WaitCompleted(Vec<String>, tokio::sync::oneshot::Sender<Value>),
}

/// Opens the dashboard and answers the benchmark's questions about it until told no more.
fn drive_page(
    url: &str,
    commands: &mut tokio::sync::mpsc::Receiver<PageCommand>,
    pid: std::sync::mpsc::Sender<u32>,
) {
    let mut browser = Browser::launch(Engine::Chromium, 1280, 1000);
    pid.send(browser.pid()).unwrap();
    browser.call("Performance.enable", json!({}));
    browser.navigate(url);
    while let Some(command) = commands.blocking_recv() {
        let _ = match command {
            PageCommand::WaitLive(answer) => answer.send(browser.wait_for(
                "the dashboard to be live",
                "document.getElementById('connection').classList.contains('live')",
                Duration::from_secs(120),
            )),
            PageCommand::Metrics(answer, screenshot) => {
                let mut metrics = browser.call("Performance.getMetrics", json!({}));
                let events =
                    browser.eval("Number(document.getElementById('connection').dataset.events)");
                (metrics["metrics"].as_array_mut().unwrap())
                    .push(json!({"name": "events", "value": events}));
                if let Some(path) = std::env::var_os("SCREENSHOT").filter(|_| screenshot) {
                    browser.screenshot(&PathBuf::from(path));
                }
                answer.send(metrics)
            }
            PageCommand::CollectGarbage(answer) => {
                answer.send(browser.call("HeapProfiler.collectGarbage", json!({})))
            }
            PageCommand::WaitCompleted(keys, answer) => {
                let keys = serde_json::to_string(&keys).unwrap();
                let all_completed = format!(
                    "{keys}.every(k => document.querySelector(\
                     `[data-job=\"${{CSS.escape(k)}}\"]`)?.dataset.state === 'completed')"
                );
                let deadline = Instant::now() + Duration::from_secs(120);
                while browser.eval(&all_completed) != Value::Bool(true) {
                    if Instant::now() > deadline {
                        // What the page lists instead, for whoever reads the failure.
                        let listed = browser.eval(&format!(
                            "(() => {{ const rows = [...document.querySelectorAll('#job-rows tr')]; \
                             const numbers = rows.map(r => Number(r.dataset.job.split('/').pop())); \
                             const states = {{}}; for (const r of rows) states[r.dataset.state] = \
                             (states[r.dataset.state] || 0) + 1; \
                             return {{rows: rows.length, lowest: Math.min(...numbers), \
                             highest: Math.max(...numbers), states, \
                             events: document.getElementById('connection').dataset.events, \
                             newest: {keys}.map(k => [k, document.querySelector(\
                             `[data-job=\"${{CSS.escape(k)}}\"]`)?.dataset.state ?? 'not listed'])\
                             .filter(([, s]) => s !== 'completed').slice(0, 10)}}; }})()"
                        ));
                        panic!("the newest jobs were not all shown completed in 120 s: {listed}");
                    }
                    std::thread::sleep(Duration::from_millis(100));
                }
                answer.send(Value::Bool(true))
            }
        };
    }
}
