//! Verified matrix cases per second: a fixed plan (on each of the shipped office printers, cases
//! of a 1-page and a 3-page PDF at the printer's defaults) run through
//! `printlab_matrix::run::run_cases` against an in-process lab, as `printlab matrix` runs it:
//! submitted through Graph, followed to the end, the output verified. The same plan runs twice
//! in the same go, printers in parallel and then one printer at a time, so the parallel run has
//! its baseline under the same load.
//!
//! Run: `cargo bench --bench matrix` (add `-- --cases N` for another count per printer; default 6).
//! Targets: verifying is at most 10 % of a case's time; printers in parallel at least 1.2× the
//! cases per second of one printer at a time.

use printlab_client::GraphClient;
use printlab_device::config::{self, PrinterConfig};
use printlab_device::engine::FaultSpec;
use printlab_graph::PrintJobConfiguration;
use printlab_lab::{Lab, LabOptions};
use printlab_matrix::run::{CaseResult, RunObserver, RunOptions, run_cases};
use printlab_matrix::{Case, Expectation};
use printlab_testkit::bench_targets::Targets;
use std::collections::HashMap;
use std::path::Path;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// The shipped printers an office prints on every day.
const OFFICE_PRINTERS: [&str; 3] = ["Office Laser 2F", "Colour MFP 3F", "Flaky Laser B1"];

/// When each printer's last case finished: a printer's cases/s is over its own time, since a
/// case's verification overlaps the next one's print and their timings no longer add up.
#[derive(Default)]
struct LastFinished(Mutex<HashMap<String, Instant>>);

impl RunObserver for LastFinished {
    fn submitted(&self, _case: &Case, _job_id: &str) {}
    fn ended(&self, _case: &Case) {}
    fn finished(&self, result: &CaseResult) {
        let mut last = self.0.lock().unwrap();
        last.insert(result.case.printer.clone(), Instant::now());
    }
}

fn main() {
    let cases: usize = std::env::args()
        .skip_while(|a| a != "--cases")
        .nth(1)
        .and_then(|n| n.parse().ok())
        .unwrap_or(6);
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap()
        .block_on(run(cases));
}

/// The office printers of the shipped fleet at their own defaults, engines at full speed and
/// declared faults left out: the bench times the matrix, not the misbehaviour a printer is
/// configured with.
fn office_printers() -> Vec<PrinterConfig> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("printers.toml");
    let text = std::fs::read_to_string(&path).unwrap();
    let mut fleet = config::parse(&text, &path.display().to_string()).unwrap();
    fleet
        .printers
        .retain(|p| OFFICE_PRINTERS.contains(&p.name.as_str()));
    for printer in &mut fleet.printers {
        printer.engine.full_speed = true;
        printer.faults = FaultSpec::default();
    }
    fleet.printers
}

/// Runs `plan` with `parallel_printers` at once; gives the results, the wall time and each
/// printer's time from the start to its last case's end.
async fn timed(
    client: &GraphClient,
    plan: &[Case],
    parallel_printers: usize,
    work_dir: &Path,
) -> (Vec<CaseResult>, Duration, HashMap<String, Duration>) {
    let options = RunOptions {
        timeout: Duration::from_secs(120),
        control: None,
        work_dir: work_dir.to_path_buf(),
        parallel_printers,
    };
    let started = Instant::now();
    let last = LastFinished::default();
    let results = run_cases(client, plan.to_vec(), &options, &last).await;
    let wall = started.elapsed();
    let per_printer = (last.0.into_inner().unwrap().into_iter())
        .map(|(printer, at)| (printer, at - started))
        .collect();
    (results, wall, per_printer)
}

async fn run(cases_per_printer: usize) {
    let dir = tempfile::tempdir().unwrap();
    let printers = office_printers();
    let lab = Lab::start(LabOptions {
        listen: "127.0.0.1:0".into(),
        control: "127.0.0.1:0".parse().unwrap(),
        data_dir: dir.path().to_path_buf(),
        printers: printers.clone(),
        tls: None,
        public_url: None,
        transport_faults: Default::default(),
        allow_remote_webhooks: false,
        ipp_listen: None,
        dns_sd: false,
        render: true,
    })
    .await
    .unwrap();
    let client = GraphClient::new(&lab.graph_url, Some(lab.user_token.clone()));
    let plan: Vec<Case> = lab
        .printers
        .iter()
        .flat_map(|shared| {
            (0..cases_per_printer).map(|n| Case {
                id: format!("{}#{n}", shared.name),
                printer: shared.name.clone(),
                share_id: shared.share_id.clone(),
                content_type: printlab_render::PDF.into(),
                document_pages: if n % 2 == 0 { 1 } else { 3 },
                configuration: PrintJobConfiguration::default(),
                expect: Expectation::Prints,
            })
        })
        .collect();

    // Warm up: first connections, first documents written, first render buffers.
    let warm_up: Vec<Case> = plan.iter().step_by(cases_per_printer).cloned().collect();
    timed(
        &client,
        &warm_up,
        printers.len(),
        &dir.path().join("warm-up"),
    )
    .await;

    let (parallel, parallel_wall, printer_times) =
        timed(&client, &plan, printers.len(), &dir.path().join("parallel")).await;
    let (sequential, sequential_wall, _) =
        timed(&client, &plan, 1, &dir.path().join("sequential")).await;
    for result in parallel.iter().chain(&sequential) {
        assert!(
            result.verdict.is_pass() && !result.state_only,
            "every case is verified and passes: {result:?}"
        );
    }

    println!(
        "{} cases ({cases_per_printer} per printer on {}), every one verified from its output",
        plan.len(),
        OFFICE_PRINTERS.join(", ")
    );
    println!(
        "{:<18} {:>8} {:>10} {:>10} {:>10}",
        "printer", "cases/s", "submit ms", "print ms", "verify ms"
    );
    for printer in &lab.printers {
        let mine: Vec<&CaseResult> = parallel
            .iter()
            .filter(|r| r.case.printer == printer.name)
            .collect();
        let mean = |f: fn(&CaseResult) -> f64| {
            mine.iter().map(|r| f(r)).sum::<f64>() / mine.len() as f64 * 1000.0
        };
        let took = printer_times[&printer.name].as_secs_f64();
        println!(
            "{:<18} {:>8.1} {:>10.1} {:>10.1} {:>10.2}",
            printer.name,
            mine.len() as f64 / took,
            mean(|r| r.timings.submit),
            mean(|r| r.timings.print),
            mean(|r| r.timings.verify)
        );
    }
    let parallel_rate = plan.len() as f64 / parallel_wall.as_secs_f64();
    let sequential_rate = plan.len() as f64 / sequential_wall.as_secs_f64();
    println!(
        "printers in parallel: {parallel_rate:.1} cases/s ({:.2} s); one printer at a time: \
         {sequential_rate:.1} cases/s ({:.2} s)",
        parallel_wall.as_secs_f64(),
        sequential_wall.as_secs_f64()
    );

    let total = |f: fn(&CaseResult) -> f64| parallel.iter().map(f).sum::<f64>();
    let verify_share = total(|r| r.timings.verify)
        / total(|r| r.timings.submit + r.timings.print + r.timings.verify);
    let mut targets = Targets::new("matrix");
    targets.at_most("verify share of a case", verify_share * 100.0, 10.0, " %");
    targets.at_least(
        "printers in parallel / one at a time",
        parallel_rate / sequential_rate,
        1.2,
        "x",
    );
    lab.shutdown().await.unwrap();
    targets.finish();
}
