//! `printlab matrix`: print a plan of cases (printer × options) through Graph, verify what came
//! out, and write the report (JSON, JUnit XML, one HTML page). The run and the report are
//! `printlab_matrix`'s; this file reads the plan, draws progress, handles Ctrl-C and exits 0
//! only when every case passed.

use super::connect::{ConnectArgs, ControlArgs, exit, fail, lab_folder, runtime};
use super::output::{errln, outln};
use anyhow::Context;
use clap::{Args, ValueEnum};
use printlab_client::shares::Target;
use printlab_client::{GraphClient, JobParent};
use printlab_lab::discovery::LabInfo;
use printlab_matrix::plan::{
    Expectations, Plan, PrinterCoverage, PrinterUnderTest, Strategy, make_plan, static_checks,
};
use printlab_matrix::report::Report;
use printlab_matrix::run::{CaseResult, ControlApi, RunObserver, RunOptions, Verdict, run_cases};
use printlab_matrix::{Case, Finding};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, HashMap, HashSet};
use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::Duration;

/// An exhaustive plan's case budget when --budget is not given.
const DEFAULT_BUDGET: usize = 10_000;
/// A random plan's size when --cases is not given.
const DEFAULT_RANDOM_CASES: usize = 50;

/// How cases are chosen from what each printer advertises.
#[derive(Clone, Copy, Debug, ValueEnum)]
pub enum StrategyArg {
    /// Each value of each option once, the others at the printer's default.
    Single,
    /// Every pair of values of every two options at least once.
    Pairwise,
    /// Every combination, up to --budget cases.
    Exhaustive,
    /// --cases combinations drawn with --seed.
    Random,
}

#[derive(Args)]
pub struct MatrixArgs {
    /// Only these printers (display names, as `printlab printers` lists them); repeatable.
    #[arg(long, value_name = "NAME")]
    printer: Vec<String>,
    /// How to plan the cases from each printer's Graph capabilities.
    #[arg(long, value_enum, default_value = "single")]
    strategy: StrategyArg,
    /// Most cases an exhaustive plan may hold.
    #[arg(long, value_name = "N")]
    budget: Option<usize>,
    /// Cases of a random plan.
    #[arg(long, value_name = "N")]
    cases: Option<usize>,
    /// Seed of a random plan (the same seed gives the same plan).
    #[arg(long, value_name = "N", default_value_t = 0)]
    seed: u64,
    /// Print the plan and its size; print nothing.
    #[arg(long)]
    dry_run: bool,
    /// Run this plan (JSON: a list of cases, or `{"cases": [...]}` as --save-plan writes).
    #[arg(long, value_name = "FILE")]
    plan: Option<PathBuf>,
    /// Write the plan as JSON, to edit and replay with --plan.
    #[arg(long, value_name = "FILE")]
    save_plan: Option<PathBuf>,
    /// What the printers were configured to refuse, resolve or sometimes fail, which Graph
    /// cannot show (JSON: printer name → list of `{reason, when, resolve?, sometimes?}`, options
    /// and values as Graph writes them). Default: what printlab's own lab wrote in lab.json,
    /// when the plan is made against that lab.
    #[arg(long, value_name = "FILE")]
    expect: Option<PathBuf>,
    /// Where the report goes (default: spool/matrix/<timestamp>/, where the dashboard looks).
    #[arg(long, value_name = "DIR")]
    report: Option<PathBuf>,
    /// Longest one case may take, from creating its job to its end.
    #[arg(long, value_name = "SECS", default_value_t = 120, value_parser = clap::value_parser!(u64).range(1..))]
    timeout: u64,
    /// How many printers print at once (default: all of them).
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..))]
    jobs: Option<u32>,
    /// The control API, through which stopped printers are cleared (without one, faults
    /// are waited out).
    #[command(flatten)]
    control: ControlArgs,
    /// Print the report as JSON instead of a summary.
    #[arg(long)]
    json: bool,
    #[command(flatten)]
    connect: ConnectArgs,
}

pub fn run(args: MatrixArgs) -> anyhow::Result<()> {
    let client = args.connect.client()?;
    let runtime = runtime()?;
    let plan = match &args.plan {
        Some(path) => read_plan(path)?,
        None => runtime.block_on(plan_from_graph(&client, &args))?,
    };
    let cases = select(plan.cases(), &args.printer)?;
    if let Some(path) = &args.save_plan {
        std::fs::write(path, plan.to_json())
            .with_context(|| format!("writing {}", path.display()))?;
    }
    if args.dry_run {
        plan.show(&cases, args.json);
        return Ok(());
    }
    let data = lab_folder();
    let control = args.control.lookup()?.map(|access| ControlApi {
        url: access.url,
        token: access.token,
    });
    let started = chrono::Utc::now();
    let report_dir = args.report.clone().unwrap_or_else(|| {
        data.join("matrix")
            .join(started.format("%Y%m%dT%H%M%SZ").to_string())
    });
    let printers = cases
        .iter()
        .map(|c| &c.share_id)
        .collect::<HashSet<_>>()
        .len();
    let options = RunOptions {
        timeout: Duration::from_secs(args.timeout),
        control,
        work_dir: report_dir.clone(),
        parallel_printers: args.jobs.map_or(printers, |n| n as usize),
    };
    let progress = Progress::new(cases.len());
    let (results, interrupted) = runtime.block_on(async {
        tokio::select! {
            results = run_cases(&client, cases.clone(), &options, &progress) => (results, false),
            _ = tokio::signal::ctrl_c() => {
                progress.cancel_printing(&client).await;
                (progress.so_far(&cases), true)
            }
        }
    });
    progress.finish();
    let report = Report::new(
        client.base_url(),
        started,
        interrupted,
        plan.static_checks(),
        results,
    )
    .with_pair_coverage(
        (plan.pair_coverage().into_iter())
            .filter(|c| cases.iter().any(|case| case.printer == c.printer))
            .collect(),
    );
    let files = report.write(&report_dir)?;
    if args.json {
        outln!("{}", report.to_json());
    } else {
        let s = &report.summary;
        outln!(
            "{} cases: {} passed, {} refused as expected, {} failed, {} not run ({} on the job state only, {} met a device fault)",
            s.cases,
            s.passed,
            s.refused_as_expected,
            s.failed,
            s.not_run,
            s.state_only,
            s.with_faults
        );
        for result in report.cases.iter().filter(|c| c.verdict == Verdict::Failed) {
            for f in &result.findings {
                outln!(
                    "FAILED {} ({}): {}: expected {}, got {}",
                    result.case.id,
                    result.case.printer,
                    f.check,
                    f.expected,
                    f.observed
                );
            }
        }
        outln!("report: {}", files.html.display());
        outln!("        {}", files.json.display());
        outln!("        {}", files.junit.display());
    }
    if interrupted {
        return Err(fail(
            exit::JOB_FAILED,
            format!("interrupted; partial report in {}", report_dir.display()),
        ));
    }
    if !report.all_passed() {
        return Err(fail(
            exit::JOB_FAILED,
            format!(
                "{} of {} cases failed; report in {}",
                report.summary.failed,
                report.summary.cases,
                report_dir.display()
            ),
        ));
    }
    Ok(())
}

/// A plan made by `make_plan` (from Graph, or saved with --save-plan and replayed), or cases
/// written by hand, which carry no printers to check them against.
enum PlanSource {
    Made(Plan),
    ByHand(Vec<Case>),
}

/// Cases written by hand: a list, or `{"cases": [...]}`.
#[derive(Serialize, Deserialize)]
#[serde(untagged)]
enum HandWritten {
    Plan { cases: Vec<Case> },
    Cases(Vec<Case>),
}

impl PlanSource {
    fn cases(&self) -> Vec<Case> {
        match self {
            PlanSource::Made(plan) => plan.cases.clone(),
            PlanSource::ByHand(cases) => cases.clone(),
        }
    }

    fn to_json(&self) -> String {
        match self {
            PlanSource::Made(plan) => plan.to_json(),
            PlanSource::ByHand(cases) => serde_json::to_string_pretty(&HandWritten::Plan {
                cases: cases.clone(),
            })
            .expect("a plan serialises"),
        }
    }

    fn pair_coverage(&self) -> Vec<PrinterCoverage> {
        match self {
            PlanSource::Made(plan) => plan.coverage.clone(),
            PlanSource::ByHand(_) => Vec::new(),
        }
    }

    fn static_checks(&self) -> BTreeMap<String, Vec<Finding>> {
        match self {
            PlanSource::Made(plan) => plan
                .printers
                .iter()
                .map(|p| (p.name.clone(), static_checks(p)))
                .collect(),
            PlanSource::ByHand(_) => BTreeMap::new(),
        }
    }

    fn show(&self, cases: &[Case], json: bool) {
        if json {
            outln!("{}", self.to_json());
            return;
        }
        show_cases(cases);
        match self {
            PlanSource::Made(plan) => outln!("{}", plan.summary().trim_end()),
            PlanSource::ByHand(_) => {
                let printers = cases
                    .iter()
                    .map(|c| &c.printer)
                    .collect::<HashSet<_>>()
                    .len();
                outln!("{} cases on {printers} printers", cases.len());
            }
        }
    }
}

/// Every shared printer (or those named with --printer), read through Graph as any client sees
/// it, planned with the chosen strategy.
async fn plan_from_graph(client: &GraphClient, args: &MatrixArgs) -> anyhow::Result<PlanSource> {
    let shares = client
        .shares()
        .await
        .context("listing the shared printers")?;
    if let Some(missing) = args.printer.iter().find(|n| {
        !shares
            .iter()
            .any(|s| s.display_name.eq_ignore_ascii_case(n))
    }) {
        return Err(fail(
            exit::USAGE,
            format!(
                "no shared printer is named {missing:?}; shared: {}",
                shares
                    .iter()
                    .map(|s| s.display_name.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        ));
    }
    let mut printers = Vec::new();
    for share in shares.iter().filter(|s| {
        args.printer.is_empty()
            || args
                .printer
                .iter()
                .any(|n| s.display_name.eq_ignore_ascii_case(n))
    }) {
        let target = Target::by_share_id(client, &share.id)
            .await
            .with_context(|| format!("reading printer {:?}", share.display_name))?;
        printers.push(PrinterUnderTest {
            name: target.share.display_name.clone(),
            share_id: target.share.id.clone(),
            capabilities: target.capabilities(),
            defaults: target.share.defaults.clone().unwrap_or_default(),
        });
    }
    let strategy = match args.strategy {
        StrategyArg::Single => Strategy::Single,
        StrategyArg::Pairwise => Strategy::Pairwise,
        StrategyArg::Exhaustive => Strategy::Exhaustive {
            budget: args.budget.unwrap_or(DEFAULT_BUDGET),
        },
        StrategyArg::Random => Strategy::Random {
            cases: args.cases.unwrap_or(DEFAULT_RANDOM_CASES),
        },
    };
    let mut plan =
        make_plan(&printers, &strategy, args.seed).map_err(|e| fail(exit::USAGE, e.to_string()))?;
    plan.expect_refusals(&expectations(args, client)?);
    Ok(PlanSource::Made(plan))
}

/// The --expect file, else the rules the lab this client talks to wrote beside its printers in
/// lab.json (none for any other endpoint).
fn expectations(args: &MatrixArgs, client: &GraphClient) -> anyhow::Result<Expectations> {
    if let Some(path) = &args.expect {
        let text =
            std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
        return serde_json::from_str(&text).map_err(|e| {
            fail(
                exit::USAGE,
                format!(
                    "{}: line {}, column {}: not an expectations file: {e}",
                    path.display(),
                    e.line(),
                    e.column()
                ),
            )
        });
    }
    let Some(lab) = LabInfo::read(&lab_folder())? else {
        return Ok(Expectations::new());
    };
    if lab.graph.trim_end_matches('/') != client.base_url() {
        return Ok(Expectations::new());
    }
    // lab.json and an expectations file write a rule the same way.
    (lab.printers.into_iter())
        .map(|printer| {
            let rules = serde_json::to_value(&printer.refuses)
                .and_then(serde_json::from_value)
                .with_context(|| format!("lab.json's rules for {:?}", printer.name))?;
            Ok((printer.name, rules))
        })
        .collect()
}

/// A plan file: a plan `--save-plan` wrote (it names its printers), or cases written by hand.
fn read_plan(path: &Path) -> anyhow::Result<PlanSource> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    let made = serde_json::from_str::<serde_json::Value>(&text)
        .map(|v| v.get("printers").is_some())
        .unwrap_or(false);
    if made {
        let plan = Plan::from_json(&text)
            .map_err(|e| fail(exit::USAGE, format!("{}: {e}", path.display())))?;
        return Ok(PlanSource::Made(plan));
    }
    let cases = match serde_json::from_str::<HandWritten>(&text).map_err(|e| {
        fail(
            exit::USAGE,
            format!(
                "{}: not a matrix plan (a saved plan, a list of cases or {{\"cases\": [...]}}): {e}",
                path.display()
            ),
        )
    })? {
        HandWritten::Plan { cases } | HandWritten::Cases(cases) => cases,
    };
    let mut ids = HashSet::new();
    if let Some(twice) = cases.iter().find(|c| !ids.insert(&c.id)) {
        return Err(fail(
            exit::USAGE,
            format!("{}: case id {:?} appears twice", path.display(), twice.id),
        ));
    }
    Ok(PlanSource::ByHand(cases))
}

/// The cases of the printers `names` (all when empty); a name with no case is a mistake.
fn select(cases: Vec<Case>, names: &[String]) -> anyhow::Result<Vec<Case>> {
    if let Some(missing) = names
        .iter()
        .find(|n| !cases.iter().any(|c| c.printer.eq_ignore_ascii_case(n)))
    {
        return Err(fail(
            exit::USAGE,
            format!("the plan has no case for a printer named {missing:?}"),
        ));
    }
    Ok(cases
        .into_iter()
        .filter(|c| names.is_empty() || names.iter().any(|n| c.printer.eq_ignore_ascii_case(n)))
        .collect())
}

fn show_cases(cases: &[Case]) {
    for case in cases {
        outln!(
            "{}\t{}\t{}\t{}",
            case.id,
            case.content_type,
            serde_json::to_string(&case.configuration).expect("a configuration serialises"),
            case.expect.describe()
        );
    }
}

/// Cases done, failed and left, with an ETA: a bar on a terminal, a line per case otherwise.
/// Keeps every result so that Ctrl-C can still report what finished, and the jobs still
/// printing so that Ctrl-C can cancel them.
struct Progress {
    bar: Option<indicatif::ProgressBar>,
    done: Mutex<Vec<CaseResult>>,
    /// Case id → (share id, job id) of each job submitted and not yet ended.
    printing: Mutex<HashMap<String, (String, String)>>,
}

impl Progress {
    fn new(cases: usize) -> Progress {
        let bar = std::io::stderr().is_terminal().then(|| {
            let bar = indicatif::ProgressBar::new(cases as u64);
            bar.set_style(
                indicatif::ProgressStyle::with_template(
                    "[{bar:30}] {pos}/{len} cases, {msg}, ETA {eta}",
                )
                .expect("a valid progress template")
                .progress_chars("=> "),
            );
            bar.set_message("0 failed");
            bar
        });
        Progress {
            bar,
            done: Mutex::new(Vec::new()),
            printing: Mutex::new(HashMap::new()),
        }
    }

    /// What finished, then every other case as not run (one whose job ended but whose output
    /// was still being verified among them: it has no verdict).
    fn so_far(&self, cases: &[Case]) -> Vec<CaseResult> {
        let done = self.done.lock().expect("progress lock poisoned");
        cases
            .iter()
            .map(|case| {
                done.iter()
                    .find(|r| r.case.id == case.id)
                    .cloned()
                    .unwrap_or_else(|| CaseResult::not_run(case.clone()))
            })
            .collect()
    }

    /// Cancels the jobs an interrupted run leaves printing, so that Ctrl-C stops the printers
    /// too; a job that cannot be cancelled is named, not fatal.
    async fn cancel_printing(&self, client: &GraphClient) {
        let printing: Vec<(String, String)> = self
            .printing
            .lock()
            .expect("progress lock poisoned")
            .drain()
            .map(|(_, job)| job)
            .collect();
        for (share_id, job_id) in printing {
            if let Err(err) = client
                .cancel_job(&JobParent::Share(share_id), &job_id)
                .await
            {
                errln!("cancelling job {job_id}: {err}");
            }
        }
    }

    fn finish(&self) {
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
        }
    }
}

impl RunObserver for Progress {
    fn submitted(&self, case: &Case, job_id: &str) {
        self.printing
            .lock()
            .expect("progress lock poisoned")
            .insert(case.id.clone(), (case.share_id.clone(), job_id.to_owned()));
    }

    fn ended(&self, case: &Case) {
        self.printing
            .lock()
            .expect("progress lock poisoned")
            .remove(&case.id);
    }

    fn finished(&self, result: &CaseResult) {
        let mut done = self.done.lock().expect("progress lock poisoned");
        done.push(result.clone());
        let failed = done.iter().filter(|r| r.verdict == Verdict::Failed).count();
        match &self.bar {
            Some(bar) => {
                bar.inc(1);
                bar.set_message(format!("{failed} failed"));
            }
            None => errln!(
                "{} {}: {} ({} done, {failed} failed)",
                result.case.id,
                result.case.printer,
                result.verdict.label(),
                done.len()
            ),
        }
    }
}
