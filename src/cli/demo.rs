//! `printlab demo`: print a set of generated sample documents to every printer through Graph,
//! with a spread of job options each printer supports, follow them to the end (clearing
//! jams and refilling trays as an operator would), and show what came out.
//!
//! Exit status 0 only when every job ended as expected, including the ones a printer is meant
//! to fail: a format listed in its `failing_formats` must abort, and on a printer with random
//! interpreter faults an abort is accepted.

use super::connect::{self, ConnectArgs, Target, exit, fail};
use super::print::{self, Document};
use super::up::{self, UpArgs};
use anyhow::Context;
use clap::Args;
use printlab_client::upload::ResumeStore;
use printlab_client::{GraphClient, JobParent};
use printlab_device::config::PrinterConfig;
use printlab_graph::{
    IntegerRange, PrintColorMode, PrintDuplexMode, PrintJob, PrintJobConfiguration,
    PrintJobProcessingState, PrintOrientation, PrintScaling, PrinterCapabilities,
    PrinterProcessingState,
};
use printlab_lab::Lab;
use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

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
    /// The devices' control API of a running printlab, to clear faults (default: what
    /// `printlab up` wrote in spool/lab.json).
    #[arg(long, env = "PRINTLAB_CONTROL", value_name = "URL")]
    control: Option<String>,
    /// The fleet file: which printers to expect and how they are meant to fail.
    #[arg(long, default_value = "printers.toml")]
    config: PathBuf,
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

/// One generated sample document.
struct Sample {
    label: &'static str,
    doc: Document,
}

/// What a job is expected to end as.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Expect {
    Completed,
    /// The printer lists the format among its failing formats.
    Aborted,
}

struct DemoJob {
    printer: String,
    target: Target,
    sample: usize,
    options: String,
    config: PrintJobConfiguration,
    expect: Expect,
    /// An abort is an accepted ending too (the printer has random interpreter faults).
    may_fail_randomly: bool,
    job_id: Option<String>,
    started: Option<Instant>,
    finished: Option<(PrintJob, Duration)>,
    last_line: String,
}

pub fn run(args: DemoArgs) -> anyhow::Result<()> {
    let fleet = up::load_fleet(&args.config, args.full_speed)?;
    connect::runtime()?.block_on(async {
        let (graph, control, lab) = match &args.cloud {
            Some(url) => {
                let connect = ConnectArgs {
                    cloud: url.clone(),
                    token: args.token.clone(),
                };
                let control = args.control.clone().or_else(|| {
                    printlab_lab::discover(Path::new("spool"))
                        .and_then(|v| v["control"].as_str().map(str::to_string))
                });
                (connect.client(), control, None)
            }
            None => {
                if args.data.exists() {
                    std::fs::remove_dir_all(&args.data)
                        .with_context(|| format!("clearing {}", args.data.display()))?;
                }
                let up_args = UpArgs {
                    listen: "127.0.0.1:0".into(),
                    config: args.config.clone(),
                    data: args.data.clone(),
                    control: "127.0.0.1:0".parse().expect("an address"),
                    full_speed: args.full_speed,
                };
                eprintln!("starting printlab in {} …", args.data.display());
                let lab = Lab::start(up::lab_options(&up_args, fleet.clone()))
                    .await
                    .context("starting the lab")?;
                let graph = GraphClient::new(&lab.graph_url, Some(lab.user_token.clone()));
                let control = Some(lab.control_url.clone());
                (graph, control, Some(lab))
            }
        };
        let samples = write_samples(&args.data.join("samples"))?;
        let outcome = run_jobs(
            &graph,
            control.as_deref(),
            &fleet.printers,
            &samples,
            args.timeout,
        )
        .await;
        if let Some(lab) = lab {
            lab.shutdown().await.context("stopping the lab")?;
        }
        outcome
    })
}

fn write_samples(dir: &Path) -> anyhow::Result<Vec<Sample>> {
    use printlab_render::{samples, testpage};
    std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    let a4 = (595.28, 841.89);
    let files: Vec<(&'static str, &str, Vec<u8>)> = vec![
        (
            "test page, 4 pages",
            "testpage-4.pdf",
            testpage::generate(&[a4; 4])?,
        ),
        ("photo", "photo.jpg", samples::photo_jpeg(1800, 1200, 300)?),
        (
            "shipping label",
            "label.png",
            samples::label_png(812, 1218, 203)?,
        ),
        (
            "raster, 2 pages",
            "raster-2.urf",
            samples::urf_gray(2, 1240, 1754, 150),
        ),
    ];
    files
        .into_iter()
        .map(|(label, name, bytes)| {
            let path = dir.join(name);
            std::fs::write(&path, bytes).with_context(|| format!("writing {}", path.display()))?;
            Ok(Sample {
                label,
                doc: print::inspect(&path)?,
            })
        })
        .collect()
}

/// The jobs for one printer: its defaults first, then options it supports.
/// Whether a capability list holds `value`.
fn has<T: PartialEq>(list: &Option<Vec<T>>, value: T) -> bool {
    list.as_ref().is_some_and(|l| l.contains(&value))
}

fn plan(
    caps: &PrinterCapabilities,
    samples: &[Sample],
) -> Vec<(usize, String, PrintJobConfiguration)> {
    let accepts = |i: usize| {
        caps.content_types.as_ref().is_some_and(|t| {
            t.iter()
                .any(|t| t.eq_ignore_ascii_case(samples[i].doc.content_type))
        })
    };
    let mut jobs = Vec::new();
    let pdf = 0;
    if accepts(pdf) {
        jobs.push((
            pdf,
            "printer defaults".to_string(),
            PrintJobConfiguration::default(),
        ));
        if has(&caps.duplex_modes, PrintDuplexMode::FlipOnLongEdge) {
            let mut c = PrintJobConfiguration {
                duplex_mode: Some(PrintDuplexMode::FlipOnLongEdge),
                ..Default::default()
            };
            let mut label = "duplex long edge".to_string();
            if caps.copies_per_job.as_ref().is_some_and(|r| r.end >= 2) {
                c.copies = Some(2);
                label.push_str(", 2 copies");
                if caps.collation == Some(true) {
                    c.collate = Some(true);
                    label.push_str(" collated");
                }
            }
            jobs.push((pdf, label, c));
        }
        if caps
            .pages_per_sheet
            .as_ref()
            .is_some_and(|p| p.contains(&2))
        {
            let mut c = PrintJobConfiguration {
                pages_per_sheet: Some(2),
                ..Default::default()
            };
            let mut label = "2-up".to_string();
            if caps.is_page_range_supported == Some(true) {
                c.page_ranges = Some(vec![IntegerRange { start: 1, end: 3 }]);
                label.push_str(", pages 1-3");
            }
            jobs.push((pdf, label, c));
        }
        if has(&caps.orientations, PrintOrientation::Landscape)
            && has(&caps.scalings, PrintScaling::Fit)
        {
            jobs.push((
                pdf,
                "landscape, fit".to_string(),
                PrintJobConfiguration {
                    orientation: Some(PrintOrientation::Landscape),
                    scaling: Some(PrintScaling::Fit),
                    page_ranges: (caps.is_page_range_supported == Some(true))
                        .then(|| vec![IntegerRange { start: 2, end: 2 }]),
                    ..Default::default()
                },
            ));
        }
        if has(&caps.color_modes, PrintColorMode::Color)
            && has(&caps.color_modes, PrintColorMode::Grayscale)
        {
            jobs.push((
                pdf,
                "grayscale".to_string(),
                PrintJobConfiguration {
                    color_mode: Some(PrintColorMode::Grayscale),
                    page_ranges: (caps.is_page_range_supported == Some(true))
                        .then(|| vec![IntegerRange { start: 1, end: 1 }]),
                    ..Default::default()
                },
            ));
        }
    }
    for (i, _) in samples.iter().enumerate().skip(1) {
        if accepts(i) {
            jobs.push((
                i,
                "printer defaults".to_string(),
                PrintJobConfiguration::default(),
            ));
        }
    }
    jobs
}

async fn run_jobs(
    graph: &GraphClient,
    control: Option<&str>,
    fleet: &[PrinterConfig],
    samples: &[Sample],
    timeout: u64,
) -> anyhow::Result<()> {
    let shares = graph
        .shares()
        .await
        .context("listing the shared printers")?;
    let mut jobs = Vec::new();
    for printer in fleet {
        let Some(share) = shares.iter().find(|s| s.display_name == printer.name) else {
            return Err(fail(
                exit::REFUSED,
                format!(
                    "printer {:?} of the fleet file is not shared in the cloud",
                    printer.name
                ),
            ));
        };
        let target = connect::resolve(graph, None, Some(&share.id)).await?;
        let caps = target.capabilities();
        let failing = &printer.faults.failing_formats;
        for (sample, options, config) in plan(&caps, samples) {
            let format = samples[sample].doc.content_type;
            jobs.push(DemoJob {
                printer: printer.name.clone(),
                target: target.clone(),
                sample,
                options,
                config,
                expect: if failing.iter().any(|f| f.eq_ignore_ascii_case(format)) {
                    Expect::Aborted
                } else {
                    Expect::Completed
                },
                may_fail_randomly: printer
                    .faults
                    .random
                    .as_ref()
                    .is_some_and(|r| r.interpret_failure > 0.0),
                job_id: None,
                started: None,
                finished: None,
                last_line: String::new(),
            });
        }
    }
    let store = ResumeStore::new(print::default_state_dir());
    let live = std::io::stdout().is_terminal();
    println!("printing {} jobs on {} printers", jobs.len(), fleet.len());
    for job in &mut jobs {
        let doc = &samples[job.sample].doc;
        print::check_supported(&job.target, doc, &job.config)?;
        let id = print::print_one(graph, &store, &job.target, doc, &job.config, 4 << 20, true)
            .await
            .with_context(|| format!("submitting {} to {}", doc.name, job.printer))?;
        job.job_id = Some(id);
        job.started = Some(Instant::now());
    }
    let deadline = Instant::now() + Duration::from_secs(timeout);
    let mut cleared: Vec<String> = Vec::new();
    loop {
        let mut running = 0;
        for job in jobs.iter_mut().filter(|j| j.finished.is_none()) {
            let id = job.job_id.clone().expect("submitted");
            let current = graph.job(&job.target.parent, &id).await?;
            let line = format!(
                "{:<18} job {:>4}  {}",
                job.printer,
                id,
                print::describe(&current)
            );
            if line != job.last_line {
                if !live {
                    println!("{line}");
                }
                job.last_line = line;
            }
            if current.status.state.is_terminal() {
                let took = job.started.map(|t| t.elapsed()).unwrap_or_default();
                job.finished = Some((current, took));
            } else {
                running += 1;
                if current.status.state == PrintJobProcessingState::Stopped
                    && let Some(control) = control
                {
                    clear_fault(graph, control, &job.target, &job.printer, &mut cleared).await?;
                }
            }
        }
        if live {
            let done = jobs.len() - running;
            print!(
                "\r{done}/{} jobs finished, {running} printing …   ",
                jobs.len()
            );
            use std::io::Write;
            std::io::stdout().flush().ok();
        }
        if running == 0 {
            break;
        }
        if Instant::now() > deadline {
            println!();
            return Err(fail(
                exit::JOB_FAILED,
                format!("{running} jobs were still running after {timeout} s"),
            ));
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    if live {
        println!();
    }
    report(&jobs, samples, &cleared)
}

/// Clears a stopped printer's fault through the control API, as an operator would after a
/// short walk to the printer.
async fn clear_fault(
    graph: &GraphClient,
    control: &str,
    target: &Target,
    name: &str,
    cleared: &mut Vec<String>,
) -> anyhow::Result<()> {
    let JobParent::Share(share_id) = &target.parent else {
        return Ok(());
    };
    let share = graph.share(share_id).await?;
    let Some(status) = share
        .status
        .filter(|s| s.state == PrinterProcessingState::Stopped)
    else {
        return Ok(());
    };
    tokio::time::sleep(Duration::from_millis(500)).await;
    let url = format!(
        "{}/control/printers/{}/clear",
        control.trim_end_matches('/'),
        name.replace(' ', "%20")
    );
    let answer = graph
        .http()
        .post(&url)
        .send()
        .await
        .with_context(|| format!("reaching the control API at {url}"))?;
    if answer.status().is_success() {
        let what: Vec<String> = status.details.iter().map(|d| d.to_string()).collect();
        cleared.push(format!("{name}: {}", what.join(", ")));
    }
    Ok(())
}

fn report(jobs: &[DemoJob], samples: &[Sample], cleared: &[String]) -> anyhow::Result<()> {
    let mut unexpected = 0;
    println!();
    println!(
        "{:<18} {:<20} {:<36} {:<22} {:>6} {:>7}",
        "printer", "document", "options", "state", "sheets", "seconds"
    );
    let mut outputs = Vec::new();
    for job in jobs {
        let (finished, took) = job.finished.as_ref().expect("every job finished");
        let state = finished.status.state;
        let as_expected = match job.expect {
            Expect::Completed => {
                state == PrintJobProcessingState::Completed
                    || (job.may_fail_randomly && state == PrintJobProcessingState::Aborted)
            }
            Expect::Aborted => state == PrintJobProcessingState::Aborted,
        };
        let output = print::output_dir(finished);
        let sheets = output
            .as_deref()
            .and_then(|dir| std::fs::read_to_string(dir.join("manifest.json")).ok())
            .and_then(|text| serde_json::from_str::<serde_json::Value>(&text).ok())
            .and_then(|m| m["mediaSheets"].as_u64())
            .map(|n| n.to_string())
            .unwrap_or_else(|| "-".into());
        let mut shown = state.to_string();
        if job.expect == Expect::Aborted {
            shown.push_str(" (meant to)");
        } else if state != PrintJobProcessingState::Completed && as_expected {
            shown.push_str(" (random fault)");
        }
        if !as_expected {
            shown.push_str(" UNEXPECTED");
            unexpected += 1;
        }
        println!(
            "{:<18} {:<20} {:<36} {:<22} {:>6} {:>7.1}",
            job.printer,
            samples[job.sample].label,
            job.options,
            shown,
            sheets,
            took.as_secs_f64()
        );
        if let Some(dir) = output {
            outputs.push(dir);
        }
    }
    if !cleared.is_empty() {
        println!();
        println!("faults cleared on the way: {}", cleared.join("; "));
    }
    if let Some(first) = outputs.first() {
        let root = first.parent().and_then(Path::parent).unwrap_or(first);
        println!();
        println!(
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
                jobs.len()
            ),
        ));
    }
    println!("every job ended as expected");
    Ok(())
}
