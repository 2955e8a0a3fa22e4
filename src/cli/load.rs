//! `printlab load`: jobs through Graph at a steady rate across printers, followed to their end,
//! and a report of throughput and latency percentiles, so a lab measures a print management
//! system (or printlab itself) against printlab's fleet. The generator is
//! `printlab_client::load`; this file picks the printers and the document and prints.

use super::connect::{ConnectArgs, exit, fail, resolve};
use super::job_options::JobOptions;
use super::output::outln;
use anyhow::Context;
use clap::Args;
use printlab_client::load::{self, FOLLOW_POLL, LoadDocument, LoadPlan, LoadReport, Percentiles};
use printlab_client::shares::Target;
use printlab_client::submit::check_supported;
use printlab_graph::MediaSize;
use std::path::PathBuf;
use std::time::Duration;

#[derive(Args)]
pub struct LoadArgs {
    /// Jobs a second, across all the printers.
    #[arg(long, default_value_t = 10.0)]
    rate: f64,
    /// Seconds to submit for: rate × seconds jobs in all.
    #[arg(long, default_value_t = 30, value_parser = clap::value_parser!(u64).range(1..=86_400))]
    seconds: u64,
    /// A printer to send to, by name (repeat the flag for more); default: every shared printer.
    #[arg(long = "printer", value_name = "NAME")]
    printers: Vec<String>,
    /// The document every job sends; default: a generated one-page A4 PDF.
    #[arg(long, value_name = "FILE")]
    document: Option<PathBuf>,
    #[command(flatten)]
    options: JobOptions,
    /// Submissions (create, upload, start) in flight at most.
    #[arg(long, default_value_t = 64, value_parser = clap::value_parser!(u64).range(1..=10_000))]
    in_flight: u64,
    /// Only submit: do not follow the jobs to their end.
    #[arg(long)]
    no_follow: bool,
    /// How long after its start a job may take to end before it counts as unfinished.
    #[arg(long, default_value_t = 120, value_name = "SECONDS")]
    follow_timeout: u64,
    /// The report as JSON.
    #[arg(long)]
    json: bool,
    #[command(flatten)]
    connect: ConnectArgs,
}

pub fn run(args: LoadArgs) -> anyhow::Result<()> {
    if !(args.rate.is_finite() && args.rate > 0.0 && args.rate <= 10_000.0) {
        return Err(fail(
            exit::USAGE,
            format!(
                "--rate must be a number of jobs a second above 0 and at most 10000, not {}",
                args.rate
            ),
        ));
    }
    let jobs = (args.rate * args.seconds as f64).round().max(1.0) as usize;
    let document = document(args.document.as_ref())?;
    let configuration = args.options.to_configuration();
    let client = args.connect.client()?;
    super::connect::runtime()?.block_on(async {
        let targets: Vec<Target> = if args.printers.is_empty() {
            (client
                .shares()
                .await
                .context("listing the shared printers")?)
            .into_iter()
            .map(|share| Target {
                parent: printlab_client::JobParent::Share(share.id.clone()),
                share,
            })
            .collect()
        } else {
            let mut targets = Vec::new();
            for name in &args.printers {
                targets.push(resolve(&client, Some(name), None).await?);
            }
            targets
        };
        if targets.is_empty() {
            return Err(fail(exit::REFUSED, "the cloud shares no printers to load"));
        }
        let described = document.as_document();
        for target in &targets {
            check_supported(target, &described, &configuration)?;
        }
        if !args.json {
            outln!(
                "load: {jobs} jobs at {}/s for {} s across {} printer(s), {} ({} bytes) each",
                args.rate,
                args.seconds,
                targets.len(),
                document.name,
                document.bytes.len()
            );
        }
        let report = load::run(
            &client,
            LoadPlan {
                targets: targets.into_iter().map(|t| t.parent).collect(),
                rate: args.rate,
                jobs,
                document,
                configuration,
                in_flight: args.in_flight as usize,
                follow: !args.no_follow,
                follow_timeout: Duration::from_secs(args.follow_timeout),
            },
        )
        .await?;
        if args.json {
            outln!("{}", serde_json::to_string_pretty(&report)?);
        } else {
            show(&report, !args.no_follow);
        }
        let completed = report.ended.get("completed").copied().unwrap_or(0);
        let all_well = report.failed.is_empty() && (args.no_follow || completed == report.started);
        if all_well {
            Ok(())
        } else {
            Err(fail(
                exit::JOB_FAILED,
                format!(
                    "{} of {} jobs did not {}",
                    report.planned
                        - if args.no_follow {
                            report.started
                        } else {
                            completed
                        },
                    report.planned,
                    if args.no_follow { "start" } else { "complete" }
                ),
            ))
        }
    })
}

/// The file given, or a one-page A4 test PDF.
fn document(path: Option<&PathBuf>) -> anyhow::Result<LoadDocument> {
    match path {
        Some(path) => {
            let described = super::print::inspect(path)?;
            let bytes =
                std::fs::read(path).with_context(|| format!("reading {}", path.display()))?;
            Ok(LoadDocument {
                name: described.name,
                content_type: described.content_type,
                bytes: bytes.into(),
            })
        }
        None => {
            let a4 = MediaSize::by_graph_name("A4").expect("A4 is in the media table");
            let pdf = printlab_render::testpage::generate(&[a4.points()])
                .context("building the test PDF")?;
            Ok(LoadDocument {
                name: "load.pdf".into(),
                content_type: "application/pdf".into(),
                bytes: pdf.into(),
            })
        }
    }
}

fn show(report: &LoadReport, followed: bool) {
    outln!(
        "started {} of {} in {:.1} s ({:.1} jobs/s)",
        report.started,
        report.planned,
        report.submit_seconds,
        report.started_per_second
    );
    for (why, count) in &report.failed {
        outln!("  not started ×{count}: {why}");
    }
    if followed {
        let ended: Vec<String> = (report.ended.iter())
            .map(|(state, count)| format!("{state} {count}"))
            .collect();
        outln!("ended: {}", ended.join(", "));
    }
    outln!(
        "{:<38} {:>8} {:>8} {:>8} {:>8}",
        "ms",
        "p50",
        "p90",
        "p99",
        "max"
    );
    let row = |what: &str, p: &Option<Percentiles>| {
        if let Some(p) = p {
            outln!(
                "{what:<38} {:>8.1} {:>8.1} {:>8.1} {:>8.1}",
                p.p50,
                p.p90,
                p.p99,
                p.max
            );
        }
    };
    row("create (due → job created)", &report.create);
    row("upload (session → document stored)", &report.upload);
    row("submit (due → started)", &report.submit);
    row(
        &format!("end to end (due → ended, ±{} ms)", FOLLOW_POLL.as_millis()),
        &report.end_to_end,
    );
}
