//! `printlab demo`: print a set of generated sample documents to every printer through Graph,
//! with a spread of job options each printer supports, follow them to the end (clearing
//! jams and refilling trays as an operator would), and show what came out. The plan and the
//! expectations are `printlab_lab::demo`'s; this file starts a lab if needed and shows the run.
//!
//! Exit status 0 only when every job ended as expected, including the ones a printer is meant
//! to fail: a format listed in its `failing_formats` must abort, and on a printer with random
//! interpreter faults an abort is accepted.

use super::connect::{self, ConnectArgs, ControlArgs, exit, fail};
use super::output::describe;
use super::output::{errln, out, outln};
use anyhow::Context;
use clap::Args;
use printlab_client::GraphClient;
use printlab_client::resume::ResumeStore;
use printlab_client::submit::{Document, SubmitObserver, Submitted, default_state_dir};
use printlab_device::config::Fleet;
use printlab_graph::{PrintJob, PrintJobProcessingState};
use printlab_lab::demo::{self, DemoError, DemoJob, DemoObserver, DemoReport, Expect, Sample};
use printlab_lab::discovery::ControlAccess;
use printlab_lab::{Lab, LabOptions};
use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::time::Duration;

#[derive(Args)]
pub struct DemoArgs {
    /// Use a running printlab (e.g. `printlab up`) at this URL instead of starting one.
    #[arg(long, value_name = "URL")]
    cloud: Option<String>,
    /// Token for --cloud (default: PRINTLAB_TOKEN, then spool/user.token).
    #[arg(
        long,
        env = "PRINTLAB_TOKEN",
        hide_env_values = true,
        value_name = "TOKEN"
    )]
    token: Option<String>,
    /// The control API, through which stopped printers are cleared (without one, faults
    /// are waited out).
    #[command(flatten)]
    control: ControlArgs,
    /// The fleet file (which must exist): which printers to expect and how they are meant to
    /// fail. Default: printers.toml, or the shipped fleet when there is none.
    #[arg(long, value_name = "FILE")]
    config: Option<PathBuf>,
    /// Data folder when the demo starts its own printlab (wiped first); samples go here too.
    #[arg(long, default_value = "spool/demo")]
    data: PathBuf,
    /// Print as fast as possible: no warm-up, no pages-per-minute pacing (own printlab only).
    #[arg(long)]
    full_speed: bool,
    /// Give up on jobs still running after this many seconds.
    #[arg(long, default_value_t = 600)]
    timeout: u64,
}

pub fn run(args: DemoArgs) -> anyhow::Result<()> {
    let fleet = printlab_lab::load_fleet(args.config.as_deref(), args.full_speed)?;
    connect::runtime()?.block_on(async {
        let (graph, control, lab) = match &args.cloud {
            Some(url) => {
                let connect = ConnectArgs {
                    cloud: Some(url.clone()),
                    token: args.token.clone(),
                    ca: None,
                };
                let control = args.control.lookup()?;
                (connect.client()?, control, None)
            }
            None => {
                if args.data.exists() {
                    std::fs::remove_dir_all(&args.data)
                        .with_context(|| format!("clearing {}", args.data.display()))?;
                }
                errln!("starting printlab in {} …", args.data.display());
                let lab = Lab::start(LabOptions {
                    listen: "127.0.0.1:0".into(),
                    control: "127.0.0.1:0".parse().expect("an address"),
                    data_dir: args.data.clone(),
                    printers: fleet.printers.clone(),
                    tls: None,
                    public_url: None,
                    transport_faults: Default::default(),
                    allow_remote_webhooks: false,
                    ipp_listen: None,
                    dns_sd: false,
                    render: true,
                })
                .await
                .context("starting the lab")?;
                errln!("watch it live: {}", lab.dashboard_url());
                let graph = GraphClient::new(&lab.graph_url, Some(lab.user_token.clone()));
                let control = Some(ControlAccess {
                    url: lab.control_url.clone(),
                    token: lab.admin_token.clone(),
                });
                (graph, control, Some(lab))
            }
        };
        let samples = demo::write_samples(&args.data.join("samples"))?;
        let outcome = run_jobs(&graph, control.as_ref(), &fleet, &samples, args.timeout).await;
        if let Some(lab) = lab {
            lab.shutdown().await.context("stopping the lab")?;
        }
        outcome
    })
}

async fn run_jobs(
    graph: &GraphClient,
    control: Option<&ControlAccess>,
    fleet: &Fleet,
    samples: &[Sample],
    timeout: u64,
) -> anyhow::Result<()> {
    let jobs = demo::plan(graph, &fleet.printers, samples).await?;
    let store = ResumeStore::new(default_state_dir());
    let shown = Shown {
        live: std::io::stdout().is_terminal(),
        total: jobs.len(),
        started: std::time::Instant::now(),
        last_finished: std::sync::atomic::AtomicUsize::new(0),
    };
    outln!(
        "printing {} jobs on {} printers",
        jobs.len(),
        fleet.printers.len()
    );
    let timeout = Duration::from_secs(timeout);
    let report = match demo::run(graph, control, jobs, &store, timeout, &shown).await {
        Ok(report) => report,
        Err(err @ DemoError::Timeout { .. }) => {
            outln!();
            return Err(err.into());
        }
        Err(err) => return Err(err.into()),
    };
    if shown.live {
        outln!();
    }
    print_report(&report)
}

/// The run on the terminal: one progress bar rewritten in place when stdout is a terminal; a
/// line per change, and a progress line each time a job finishes, when it is a file or pipe.
struct Shown {
    live: bool,
    total: usize,
    started: std::time::Instant,
    last_finished: std::sync::atomic::AtomicUsize,
}

/// `[#########---------] 12/40 jobs  0:07 elapsed  ETA 0:16`: the estimate assumes the jobs
/// left take as long on average as the ones done. Drawn here rather than with a progress-bar
/// crate: one line, redrawn once per polling round.
fn progress_line(done: usize, total: usize, elapsed: Duration) -> String {
    const WIDTH: usize = 30;
    let filled = done * WIDTH / total.max(1);
    let clock = |d: Duration| format!("{}:{:02}", d.as_secs() / 60, d.as_secs() % 60);
    let eta = if done == 0 {
        "-:--".to_string()
    } else {
        clock(elapsed.mul_f64((total - done.min(total)) as f64 / done as f64))
    };
    format!(
        "[{}{}] {done}/{total} jobs  {} elapsed  ETA {eta}",
        "#".repeat(filled),
        "-".repeat(WIDTH - filled),
        clock(elapsed)
    )
}

impl SubmitObserver for Shown {
    fn resuming(&self, doc: &Document, job_id: &str) {
        errln!(
            "{}: resuming job {job_id} from an interrupted run",
            doc.name
        );
    }
}

impl DemoObserver for Shown {
    fn submitted(&self, job: &DemoJob, outcome: &Submitted) {
        if let Submitted::AlreadyStarted { job_id } = outcome {
            outln!(
                "job {job_id} on {}: already started",
                job.target.share.display_name
            );
        }
    }

    fn changed(&self, job: &DemoJob, job_id: &str, now: &PrintJob) {
        if !self.live {
            outln!("{:<18} job {:>4}  {}", job.printer, job_id, describe(now));
        }
    }

    fn round(&self, finished: usize, _running: usize) {
        let line = progress_line(finished, self.total, self.started.elapsed());
        if self.live {
            out!("\r{line}   ");
            std::io::stdout().flush().ok();
        } else if self
            .last_finished
            .swap(finished, std::sync::atomic::Ordering::Relaxed)
            != finished
        {
            outln!("progress {line}");
        }
    }
}

fn print_report(report: &DemoReport) -> anyhow::Result<()> {
    let mut unexpected = 0;
    outln!();
    outln!(
        "{:<18} {:<20} {:<36} {:<7} {:<22} {:>6} {:<8} {:>7}",
        "printer",
        "document",
        "options",
        "pages",
        "state",
        "sheets",
        "output",
        "seconds"
    );
    let mut problems = Vec::new();
    let mut outputs = Vec::new();
    for result in &report.results {
        let job = &result.job;
        let mut shown = result.state.to_string();
        if job.expect == Expect::Aborted {
            shown.push_str(" (meant to)");
        } else if result.state != PrintJobProcessingState::Completed && result.as_expected {
            shown.push_str(" (random fault)");
        }
        if !result.as_expected {
            shown.push_str(" UNEXPECTED");
            unexpected += 1;
        }
        let sheets = result
            .sheets
            .map(|n| n.to_string())
            .unwrap_or_else(|| "-".into());
        let pages = match &job.config.page_ranges {
            Some(ranges) if !ranges.is_empty() => ranges
                .iter()
                .map(|r| format!("{}-{}", r.start, r.end))
                .collect::<Vec<_>>()
                .join(","),
            _ => "all".to_string(),
        };
        let output = match &result.output_check {
            Some(check) if check.passed() => "checked".to_string(),
            Some(check) => {
                for problem in &check.problems {
                    problems.push(format!("{} {}: {problem}", job.printer, job.label));
                }
                format!("{} wrong", check.problems.len())
            }
            None => "-".to_string(),
        };
        outln!(
            "{:<18} {:<20} {:<36} {:<7} {:<22} {:>6} {:<8} {:>7.1}",
            job.printer,
            job.label,
            job.options,
            pages,
            shown,
            sheets,
            output,
            result.took.as_secs_f64()
        );
        if let Some(dir) = &result.output {
            outputs.push(dir);
        }
    }
    if !problems.is_empty() {
        outln!();
        outln!("what came out differs from what was asked:");
        for problem in &problems {
            outln!("  {problem}");
        }
    }
    if !report.cleared.is_empty() {
        outln!();
        outln!("faults cleared on the way: {}", report.cleared.join("; "));
    }
    if let Some(first) = outputs.first() {
        let root = first.parent().and_then(Path::parent).unwrap_or(first);
        outln!();
        outln!(
            "PNGs: {} ({} jobs, one folder per printer and job)",
            root.display(),
            outputs.len()
        );
    }
    if unexpected > 0 {
        return Err(fail(
            exit::JOB_FAILED,
            format!(
                "{unexpected} of {} jobs did not end as expected",
                report.results.len()
            ),
        ));
    }
    outln!("every job ended as expected, and every completed job printed what it asked for");
    Ok(())
}
