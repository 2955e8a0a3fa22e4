//! `printlab print`: create a job on a share, upload the document in parallel ranges (resuming
//! an interrupted run of the same command), check the stored bytes, start the job and, with
//! `--wait`, follow it to the end. The steps are `printlab_client::submit`'s; this file shows them.

use super::connect::{ConnectArgs, exit, fail, resolve};
use super::job_options::JobOptions;
use super::output::describe;
use super::output::{errln, outln};
use anyhow::Context;
use clap::Args;
use printlab_client::follow::{follow, output_dir};
use printlab_client::resume::ResumeStore;
use printlab_client::submit::{
    Document, SubmitObserver, Submitted, check_supported, default_state_dir, submit,
};
use printlab_client::upload::UploadOptions;
use printlab_graph::{PrintJob, PrintJobProcessingState};
use std::io::{IsTerminal, Read};
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::Instant;
#[derive(Args)]
pub struct PrintArgs {
    /// Documents to print, one job each. The format is read from the bytes, not the name.
    #[arg(required = true, value_name = "FILE")]
    files: Vec<PathBuf>,
    /// The printer, by name (`printlab printers` lists them).
    #[arg(
        long,
        value_name = "NAME",
        required_unless_present = "share",
        conflicts_with = "share"
    )]
    printer: Option<String>,
    /// The printer share, by id.
    #[arg(long, value_name = "ID")]
    share: Option<String>,
    #[command(flatten)]
    options: JobOptions,
    /// Follow each job until it ends; exit 6 unless all completed.
    #[arg(long)]
    wait: bool,
    /// Where resume files of interrupted uploads live.
    #[arg(long, env = "PRINTLAB_STATE_DIR", value_name = "DIR")]
    state_dir: Option<PathBuf>,
    /// Bytes per upload range (each must stay under 10 MB).
    #[arg(long, default_value_t = 4 << 20, value_name = "BYTES", value_parser = clap::value_parser!(u64).range(1..10_000_000))]
    range_size: u64,
    #[command(flatten)]
    connect: ConnectArgs,
}

/// Tells the format from the first bytes (the renderer's sniffing, which the client crate does
/// not link) or, for a ZIP, from its package relationships (an XPS package goes up as
/// `application/oxps`, which the cloud converts for a printer that only takes PDF), then lets
/// the client hash and name the file.
pub(super) fn inspect(path: &Path) -> anyhow::Result<Document> {
    let mut file =
        std::fs::File::open(path).with_context(|| format!("reading {}", path.display()))?;
    let mut head = Vec::with_capacity(1024);
    (&mut file)
        .take(1024)
        .read_to_end(&mut head)
        .with_context(|| format!("reading {}", path.display()))?;
    let content_type = match printlab_render::sniff(&head) {
        Some(found) => Some(found),
        None if super::xps::looks_like_zip(&head) => super::xps::detect(file),
        None => None,
    };
    let content_type = content_type.ok_or_else(|| {
        fail(
            exit::UNSUPPORTED,
            format!(
                "{}: cannot tell the format from its bytes; printlab print sends PDF, JPEG, PNG, PWG raster, Apple URF or OpenXPS",
                path.display()
            ),
        )
    })?;
    Ok(Document::inspect(path, content_type)?)
}

pub fn run(args: PrintArgs) -> anyhow::Result<()> {
    let config = args.options.to_configuration();
    let docs = args
        .files
        .iter()
        .map(|f| inspect(f))
        .collect::<anyhow::Result<Vec<_>>>()?;
    let client = args.connect.client()?;
    let store = ResumeStore::new(args.state_dir.clone().unwrap_or_else(default_state_dir));
    let upload = UploadOptions {
        range_size: args.range_size,
        ..UploadOptions::default()
    };
    super::connect::runtime()?.block_on(async {
        let target = resolve(&client, args.printer.as_deref(), args.share.as_deref()).await?;
        for doc in &docs {
            check_supported(&target, doc, &config)?;
        }
        let mut failed = 0;
        for doc in &docs {
            let submitted = submit(
                &client,
                &store,
                &target,
                doc,
                &config,
                &upload,
                &Shown::default(),
            )
            .await?;
            let name = &target.share.display_name;
            match &submitted {
                Submitted::AlreadyStarted { job_id } => {
                    outln!("job {job_id} on {name}: already started");
                }
                Submitted::Started { job_id, status } => {
                    outln!(
                        "job {job_id} on {name}: {} (sha256 {})",
                        status.state,
                        doc.sha256
                    );
                }
            }
            if args.wait {
                let job_id = submitted.job_id();
                let job = follow(&client, &target.parent, job_id, |now| {
                    outln!("job {job_id}: {}", describe(now));
                })
                .await?;
                print_outputs(&job);
                if job.status.state != PrintJobProcessingState::Completed {
                    failed += 1;
                }
            }
        }
        if failed > 0 {
            return Err(fail(
                exit::JOB_FAILED,
                format!("{failed} of {} jobs did not complete", docs.len()),
            ));
        }
        Ok(())
    })
}

/// Lists a finished job's PNG sides, in the order the sheets left the printer.
fn print_outputs(job: &PrintJob) {
    let Some(dir) = output_dir(job) else {
        return;
    };
    let mut pngs: Vec<PathBuf> = std::fs::read_dir(&dir)
        .map(|entries| {
            entries
                .filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|p| p.extension().is_some_and(|x| x == "png"))
                .collect()
        })
        .unwrap_or_default();
    pngs.sort();
    outln!("output: {}", dir.display());
    for png in pngs {
        outln!("  {}", png.display());
    }
}

/// A submission's events on the terminal: one progress display per upload attempt.
#[derive(Default)]
struct Shown {
    upload: Mutex<Option<Progress>>,
}

impl SubmitObserver for Shown {
    fn resuming(&self, doc: &Document, job_id: &str) {
        errln!(
            "{}: resuming job {job_id} from an interrupted run",
            doc.name
        );
    }

    fn upload_started(&self, doc: &Document) {
        *self.upload.lock().expect("progress lock poisoned") =
            Some(Progress::new(&doc.name, doc.size));
    }

    fn uploaded(&self, stored: u64, total: u64) {
        if let Some(progress) = &*self.upload.lock().expect("progress lock poisoned") {
            progress.update(stored, total);
        }
    }

    fn upload_ended(&self) {
        if let Some(progress) = self.upload.lock().expect("progress lock poisoned").take() {
            progress.finish();
        }
    }
}

/// A progress bar with bytes, rate and ETA on a terminal; a plain line every 10 % otherwise.
struct Progress {
    bar: Option<indicatif::ProgressBar>,
    plain: Mutex<PlainProgress>,
    name: String,
}

struct PlainProgress {
    started: Instant,
    next_tenth: u64,
}

impl Progress {
    fn new(name: &str, size: u64) -> Self {
        let bar = std::io::stderr().is_terminal().then(|| {
            let bar = indicatif::ProgressBar::new(size);
            bar.set_style(
                indicatif::ProgressStyle::with_template(
                    "{msg} [{bar:30}] {bytes}/{total_bytes} {bytes_per_sec} ETA {eta}",
                )
                .expect("a valid progress template")
                .progress_chars("=> "),
            );
            bar.set_message(name.to_string());
            bar
        });
        Self {
            bar,
            plain: Mutex::new(PlainProgress {
                started: Instant::now(),
                next_tenth: 0,
            }),
            name: name.to_string(),
        }
    }

    fn update(&self, stored: u64, total: u64) {
        if let Some(bar) = &self.bar {
            bar.set_position(stored);
            return;
        }
        let mut plain = self.plain.lock().expect("progress lock poisoned");
        let tenth = stored.saturating_mul(10) / total.max(1);
        if tenth >= plain.next_tenth {
            let secs = plain.started.elapsed().as_secs_f64().max(1e-3);
            errln!(
                "{}: uploaded {stored} of {total} bytes ({}%, {:.1} MB/s)",
                self.name,
                stored * 100 / total.max(1),
                stored as f64 / secs / 1e6
            );
            plain.next_tenth = tenth + 1;
        }
    }

    fn finish(&self) {
        if let Some(bar) = &self.bar {
            bar.finish();
        }
    }
}
