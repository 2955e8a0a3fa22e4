//! The demo: generated samples, the jobs each printer's capabilities allow, what each must end
//! as (from `printers.toml`), and running them through Graph as a user and an operator would.

use crate::discovery::ControlAccess;
use printlab_client::follow::output_dir;
use printlab_client::resume::ResumeStore;
use printlab_client::shares::Target;
use printlab_client::submit::{
    Document, SubmitError, SubmitObserver, Submitted, check_supported, submit,
};
use printlab_client::upload::UploadOptions;
use printlab_client::{ClientError, GraphClient, JobParent};
use printlab_device::config::PrinterConfig;
use printlab_graph::{
    IntegerRange, PrintColorMode, PrintDuplexMode, PrintJob, PrintJobConfiguration,
    PrintJobProcessingState, PrintJobStateDetail, PrintOrientation, PrintScaling,
    PrinterCapabilities, PrinterProcessingState,
};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// How often the jobs are polled: a person watching sees each step.
const POLL: Duration = Duration::from_millis(250);
/// An operator's walk to a stopped printer, so the fault shows in Graph before it is cleared.
const WALK: Duration = Duration::from_millis(500);

/// Why the demo could not run to its end (a job ending badly is a result, not an error).
#[derive(Debug, thiserror::Error)]
pub enum DemoError {
    #[error("creating {}", path.display())]
    Folder {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("writing {}", path.display())]
    Write {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// The renderer could not generate a sample.
    #[error(transparent)]
    Sample(Box<dyn std::error::Error + Send + Sync>),
    #[error("{}: the renderer cannot tell the format of its own sample", path.display())]
    SampleFormat { path: PathBuf },
    #[error("listing the shared printers")]
    ListShares(#[source] ClientError),
    #[error("printer {name:?} of the fleet file is not shared in the cloud")]
    NotShared { name: String },
    #[error("submitting {document} to {printer}")]
    Submitting {
        document: String,
        printer: String,
        /// Boxed so that every `DemoError` stays small; it hides the `SubmitError` from an
        /// error chain, so look at it here.
        #[source]
        source: Box<SubmitError>,
    },
    #[error("reaching the control API at {url}")]
    Control {
        url: String,
        #[source]
        source: reqwest::Error,
    },
    #[error("{running} jobs were still running after {seconds} s")]
    Timeout { running: usize, seconds: u64 },
    #[error(transparent)]
    Submit(#[from] SubmitError),
    #[error(transparent)]
    Graph(#[from] ClientError),
}

/// One generated sample document.
pub struct Sample {
    pub label: &'static str,
    pub doc: Document,
}

/// Writes the samples into `dir`: a PDF test page first (the plan varies options on it), then
/// one document of each other format the demo shows.
pub fn write_samples(dir: &Path) -> Result<Vec<Sample>, DemoError> {
    use printlab_render::{samples, testpage};
    fn boxed(e: impl std::error::Error + Send + Sync + 'static) -> DemoError {
        DemoError::Sample(Box::new(e))
    }
    std::fs::create_dir_all(dir).map_err(|source| DemoError::Folder {
        path: dir.to_owned(),
        source,
    })?;
    let a4 = (595.28, 841.89);
    let files: Vec<(&'static str, &str, Vec<u8>)> = vec![
        (
            "test page, 4 pages",
            "testpage-4.pdf",
            testpage::generate(&[a4; 4]).map_err(boxed)?,
        ),
        (
            "photo",
            "photo.jpg",
            samples::photo_jpeg(1800, 1200, 300).map_err(boxed)?,
        ),
        (
            "shipping label",
            "label.png",
            samples::label_png(812, 1218, 203).map_err(boxed)?,
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
            let content_type = printlab_render::sniff(&bytes)
                .ok_or_else(|| DemoError::SampleFormat { path: path.clone() })?;
            std::fs::write(&path, bytes).map_err(|source| DemoError::Write {
                path: path.clone(),
                source,
            })?;
            Ok(Sample {
                label,
                doc: Document::inspect(&path, content_type)?,
            })
        })
        .collect()
}

/// What a job is expected to end as.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Expect {
    Completed,
    /// The printer lists the format among its failing formats.
    Aborted,
}

/// One planned job.
pub struct DemoJob {
    pub printer: String,
    pub target: Target,
    pub label: &'static str,
    pub doc: Document,
    pub options: String,
    pub config: PrintJobConfiguration,
    pub expect: Expect,
    /// An abort is an accepted ending too (the printer has random interpreter faults).
    pub may_fail_randomly: bool,
}

impl DemoJob {
    pub fn as_expected(&self, state: PrintJobProcessingState) -> bool {
        match self.expect {
            Expect::Completed => {
                state == PrintJobProcessingState::Completed
                    || (self.may_fail_randomly && state == PrintJobProcessingState::Aborted)
            }
            Expect::Aborted => state == PrintJobProcessingState::Aborted,
        }
    }
}

/// Whether a capability list holds `value`.
fn has<T: PartialEq>(list: &Option<Vec<T>>, value: T) -> bool {
    list.as_ref().is_some_and(|l| l.contains(&value))
}

/// The jobs for one printer, as (sample, options label, configuration): its defaults first,
/// then the options it supports.
fn jobs_for(
    caps: &PrinterCapabilities,
    samples: &[Sample],
) -> Vec<(usize, String, PrintJobConfiguration)> {
    let accepts = |i: usize| {
        caps.content_types.as_ref().is_some_and(|t| {
            t.iter()
                .any(|t| t.eq_ignore_ascii_case(&samples[i].doc.content_type))
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

/// Plans from what Graph says each share can do (the cloud's view, as a user would see it),
/// and expects from the fleet file how each printer is meant to fail.
pub async fn plan(
    graph: &GraphClient,
    fleet: &[PrinterConfig],
    samples: &[Sample],
) -> Result<Vec<DemoJob>, DemoError> {
    let shares = graph.shares().await.map_err(DemoError::ListShares)?;
    let mut jobs = Vec::new();
    for printer in fleet {
        let Some(share) = shares.iter().find(|s| s.display_name == printer.name) else {
            return Err(DemoError::NotShared {
                name: printer.name.clone(),
            });
        };
        let target = Target::by_share_id(graph, &share.id).await?;
        let failing = &printer.faults.failing_formats;
        for (sample, options, config) in jobs_for(&target.capabilities(), samples) {
            let doc = samples[sample].doc.clone();
            let expect = if failing
                .iter()
                .any(|f| f.eq_ignore_ascii_case(&doc.content_type))
            {
                Expect::Aborted
            } else {
                Expect::Completed
            };
            jobs.push(DemoJob {
                printer: printer.name.clone(),
                target: target.clone(),
                label: samples[sample].label,
                doc,
                options,
                config,
                expect,
                may_fail_randomly: printer
                    .faults
                    .random
                    .as_ref()
                    .is_some_and(|r| r.interpret_failure > 0.0),
            });
        }
    }
    Ok(jobs)
}

/// What the demo tells its caller while it runs, beyond each submission's own events.
pub trait DemoObserver: SubmitObserver {
    fn submitted(&self, job: &DemoJob, outcome: &Submitted);
    /// A job's state, details or description changed (the first poll counts as a change).
    fn changed(&self, job: &DemoJob, job_id: &str, now: &PrintJob);
    /// One polling round is over.
    fn round(&self, finished: usize, running: usize);
}

/// How one job ended.
pub struct JobResult {
    pub job: DemoJob,
    pub state: PrintJobProcessingState,
    /// Ended as expected and, when it completed, printed what it asked for.
    pub as_expected: bool,
    /// What came out, checked (completed jobs whose output folder is on this machine).
    pub output_check: Option<crate::demo_output::OutputCheck>,
    /// Sheets the printer's manifest counts, when its output folder is on this machine.
    pub sheets: Option<u64>,
    pub output: Option<PathBuf>,
    pub took: Duration,
}

/// Every job's ending, and the faults cleared on the way.
pub struct DemoReport {
    pub results: Vec<JobResult>,
    pub cleared: Vec<String>,
}

struct Running {
    job: DemoJob,
    id: String,
    started: Instant,
    last: Option<(PrintJobProcessingState, Vec<PrintJobStateDetail>, String)>,
    finished: Option<(PrintJob, Duration)>,
}

/// Submits every job, then follows them all to their end, clearing stopped printers through
/// the control API (when given) as an operator would.
pub async fn run(
    graph: &GraphClient,
    control: Option<&ControlAccess>,
    jobs: Vec<DemoJob>,
    store: &ResumeStore,
    timeout: Duration,
    observer: &dyn DemoObserver,
) -> Result<DemoReport, DemoError> {
    let mut running = Vec::new();
    for job in jobs {
        check_supported(&job.target, &job.doc, &job.config)?;
        let outcome = submit(
            graph,
            store,
            &job.target,
            &job.doc,
            &job.config,
            &UploadOptions::default(),
            observer,
        )
        .await
        .map_err(|source| DemoError::Submitting {
            document: job.doc.name.clone(),
            printer: job.printer.clone(),
            source: Box::new(source),
        })?;
        observer.submitted(&job, &outcome);
        running.push(Running {
            id: outcome.job_id().to_string(),
            job,
            started: Instant::now(),
            last: None,
            finished: None,
        });
    }
    let deadline = Instant::now() + timeout;
    let mut cleared: Vec<String> = Vec::new();
    loop {
        let mut left = 0;
        for r in running.iter_mut().filter(|r| r.finished.is_none()) {
            let current = graph.job(&r.job.target.parent, &r.id).await?;
            let seen = (
                current.status.state,
                current.status.details.clone(),
                current.status.description.clone(),
            );
            if r.last.as_ref() != Some(&seen) {
                observer.changed(&r.job, &r.id, &current);
                r.last = Some(seen);
            }
            if current.status.state.is_terminal() {
                r.finished = Some((current, r.started.elapsed()));
            } else {
                left += 1;
                if current.status.state == PrintJobProcessingState::Stopped
                    && let Some(control) = control
                {
                    clear_fault(graph, control, &r.job, &mut cleared).await?;
                }
            }
        }
        observer.round(running.len() - left, left);
        if left == 0 {
            break;
        }
        if Instant::now() > deadline {
            return Err(DemoError::Timeout {
                running: left,
                seconds: timeout.as_secs(),
            });
        }
        tokio::time::sleep(POLL).await;
    }
    let results = running
        .into_iter()
        .map(|r| {
            let (finished, took) = r.finished.expect("every job finished");
            let state = finished.status.state;
            let output = output_dir(&finished);
            let output_check = (state == PrintJobProcessingState::Completed)
                .then_some(output.as_deref())
                .flatten()
                .map(|dir| crate::demo_output::check_output(dir, &r.job.config));
            JobResult {
                as_expected: r.job.as_expected(state)
                    && output_check.as_ref().is_none_or(|c| c.passed()),
                output_check,
                sheets: output.as_deref().and_then(manifest_sheets),
                output,
                state,
                took,
                job: r.job,
            }
        })
        .collect();
    Ok(DemoReport { results, cleared })
}

/// The sheet count the renderer wrote next to the PNGs.
fn manifest_sheets(dir: &Path) -> Option<u64> {
    let text = std::fs::read_to_string(dir.join("manifest.json")).ok()?;
    serde_json::from_str::<serde_json::Value>(&text).ok()?["mediaSheets"].as_u64()
}

/// Clears a stopped printer's fault through the control API, after the walk to the printer, and
/// notes what was cleared.
async fn clear_fault(
    graph: &GraphClient,
    control: &ControlAccess,
    job: &DemoJob,
    cleared: &mut Vec<String>,
) -> Result<(), DemoError> {
    let JobParent::Share(share_id) = &job.target.parent else {
        return Ok(());
    };
    let share = graph.share(share_id).await?;
    let Some(status) = share
        .status
        .filter(|s| s.state == PrinterProcessingState::Stopped)
    else {
        return Ok(());
    };
    tokio::time::sleep(WALK).await;
    let url = format!(
        "{}/control/printers/{}/clear",
        control.url.trim_end_matches('/'),
        job.printer.replace(' ', "%20")
    );
    let answer = graph
        .http()
        .post(&url)
        .bearer_auth(&control.token)
        .send()
        .await
        .map_err(|source| DemoError::Control {
            url: url.clone(),
            source,
        })?;
    if answer.status().is_success() {
        let what: Vec<String> = status.details.iter().map(|d| d.to_string()).collect();
        cleared.push(format!("{}: {}", job.printer, what.join(", ")));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample(label: &'static str, content_type: &str) -> Sample {
        Sample {
            label,
            doc: Document {
                path: PathBuf::from(label),
                name: label.to_string(),
                size: 1,
                sha256: String::new(),
                content_type: content_type.to_string(),
            },
        }
    }

    #[test]
    fn the_plan_varies_options_only_the_printer_supports() {
        let samples = [
            sample("pdf", "application/pdf"),
            sample("photo", "image/jpeg"),
        ];
        let caps = PrinterCapabilities {
            content_types: Some(vec!["application/pdf".into()]),
            duplex_modes: Some(vec![
                PrintDuplexMode::OneSided,
                PrintDuplexMode::FlipOnLongEdge,
            ]),
            copies_per_job: Some(IntegerRange { start: 1, end: 1 }),
            ..Default::default()
        };
        let labels: Vec<String> = jobs_for(&caps, &samples)
            .into_iter()
            .map(|(i, label, _)| format!("{}: {label}", samples[i].label))
            .collect();
        assert_eq!(labels, ["pdf: printer defaults", "pdf: duplex long edge"]);
    }
}
