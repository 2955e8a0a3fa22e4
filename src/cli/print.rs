//! `printlab print`: create a job on a share, upload the document in parallel ranges (resuming
//! an interrupted run of the same command), check the stored bytes, start the job and, with
//! `--wait`, follow it to the end. Only Graph calls: this is what any Graph client would do.

use super::connect::{ConnectArgs, Target, exit, fail, resolve};
use super::job_options::JobOptions;
use anyhow::Context;
use clap::Args;
use printlab_client::upload::{
    ResumableUploadError, ResumeState, ResumeStore, UploadOptions, file_sha256, upload,
};
use printlab_client::{GraphClient, JobParent};
use printlab_graph::{
    PrintDocumentUploadProperties, PrintJob, PrintJobConfiguration, PrintJobProcessingState,
    PrintJobStateDetail, rules,
};
use std::io::{IsTerminal, Read};
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::{Duration, Instant};

#[derive(Args)]
pub struct PrintArgs {
    /// Documents to print, one job each. The format is read from the bytes, not the name.
    #[arg(required = true, value_name = "FILE")]
    files: Vec<PathBuf>,
    /// The printer, by name (`printlab printers` lists them).
    #[arg(long, value_name = "NAME", conflicts_with = "share")]
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

pub fn default_state_dir() -> PathBuf {
    let base = std::env::var_os("XDG_STATE_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".local/state")))
        .unwrap_or_else(|| PathBuf::from("."));
    base.join("printlab/uploads")
}

/// What one file is, before anything is sent.
pub struct Document {
    pub path: PathBuf,
    pub name: String,
    pub size: u64,
    pub sha256: String,
    pub content_type: &'static str,
}

pub fn inspect(path: &Path) -> anyhow::Result<Document> {
    let mut head = Vec::with_capacity(1024);
    std::fs::File::open(path)
        .and_then(|f| f.take(1024).read_to_end(&mut head))
        .with_context(|| format!("reading {}", path.display()))?;
    let content_type = printlab_render::sniff(&head).ok_or_else(|| {
        fail(
            exit::UNSUPPORTED,
            format!(
                "{}: cannot tell the format from its bytes; printlab print sends PDF, JPEG, PNG, PWG raster or Apple URF",
                path.display()
            ),
        )
    })?;
    let (size, sha256) =
        file_sha256(path).with_context(|| format!("reading {}", path.display()))?;
    if size == 0 {
        return Err(fail(exit::OTHER, format!("{} is empty", path.display())));
    }
    let path =
        std::fs::canonicalize(path).with_context(|| format!("resolving {}", path.display()))?;
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "document".to_string());
    Ok(Document {
        path,
        name,
        size,
        sha256,
        content_type,
    })
}

/// Refuses, before any upload, what the printer cannot do, naming what it can.
pub fn check_supported(
    target: &Target,
    doc: &Document,
    config: &PrintJobConfiguration,
) -> anyhow::Result<()> {
    let caps = target.capabilities();
    let mut problems = Vec::new();
    if let Some(types) = &caps.content_types
        && !types
            .iter()
            .any(|t| t.eq_ignore_ascii_case(doc.content_type))
    {
        problems.push(format!(
            "{} is {} but the printer accepts {}",
            doc.path.display(),
            doc.content_type,
            types.join(", ")
        ));
    }
    problems.extend(
        rules::check_job(config, &caps)
            .iter()
            .map(|v| v.to_string()),
    );
    if problems.is_empty() {
        Ok(())
    } else {
        Err(fail(
            exit::UNSUPPORTED,
            format!(
                "printer {:?} cannot print this as asked (nothing was uploaded):\n  {}",
                target.share.display_name,
                problems.join("\n  ")
            ),
        ))
    }
}

pub fn run(args: PrintArgs) -> anyhow::Result<()> {
    let config = args.options.to_configuration()?;
    let docs = args
        .files
        .iter()
        .map(|f| inspect(f))
        .collect::<anyhow::Result<Vec<_>>>()?;
    let client = args.connect.client();
    let store = ResumeStore::new(args.state_dir.clone().unwrap_or_else(default_state_dir));
    super::connect::runtime()?.block_on(async {
        let target = resolve(&client, args.printer.as_deref(), args.share.as_deref()).await?;
        for doc in &docs {
            check_supported(&target, doc, &config)?;
        }
        let mut failed = 0;
        for doc in &docs {
            let job_id = print_one(
                &client,
                &store,
                &target,
                doc,
                &config,
                args.range_size,
                false,
            )
            .await?;
            if args.wait {
                let job = follow(&client, &target.parent, &job_id, false).await?;
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

/// Creates (or, after an interruption, finds again) the job, uploads, verifies and starts it.
/// `quiet` leaves out the progress bar and the closing line (callers with their own display).
pub async fn print_one(
    client: &GraphClient,
    store: &ResumeStore,
    target: &Target,
    doc: &Document,
    config: &PrintJobConfiguration,
    range_size: u64,
    quiet: bool,
) -> anyhow::Result<String> {
    let options = serde_json::to_string(config)?;
    let key = ResumeStore::key(client.base_url(), &target.parent, &doc.sha256, &options);
    let mut state = match store.load(&key) {
        Some(state) => match resumable(client, &state).await? {
            Resume::Continue => {
                eprintln!(
                    "{}: resuming job {} from an interrupted run",
                    doc.name, state.job_id
                );
                state
            }
            Resume::AlreadyStarted => {
                store.remove(&key).context("removing the resume file")?;
                println!(
                    "job {} on {}: already started",
                    state.job_id, target.share.display_name
                );
                return Ok(state.job_id);
            }
            Resume::StartOver => new_job(client, target, doc, config).await?,
        },
        None => new_job(client, target, doc, config).await?,
    };
    store
        .save(&key, &state)
        .context("writing the resume file")?;

    let mut fresh_session_made = false;
    loop {
        let url = match &state.upload_url {
            Some(url) => url.clone(),
            None => {
                let session = client
                    .create_upload_session(
                        &state.parent,
                        &state.job_id,
                        &state.document_id,
                        &PrintDocumentUploadProperties {
                            document_name: doc.name.clone(),
                            content_type: doc.content_type.to_string(),
                            size: doc.size as i64,
                        },
                    )
                    .await
                    .context("creating the upload session")?;
                let url = session.upload_url.context(
                    "the cloud's uploadSession has no uploadUrl; it cannot take the document",
                )?;
                state.upload_url = Some(url.clone());
                store
                    .save(&key, &state)
                    .context("writing the resume file")?;
                fresh_session_made = true;
                url
            }
        };
        let bar = Progress::new(&doc.name, doc.size, quiet);
        let outcome = upload(
            client.http(),
            &url,
            &doc.path,
            doc.size,
            &UploadOptions {
                range_size,
                ..UploadOptions::default()
            },
            &|stored, total| bar.update(stored, total),
        )
        .await;
        bar.finish();
        match outcome {
            Ok(_) => break,
            // A session that expired, or that completed while we were away (its URL is gone
            // once the document exists): ask the job, then open a new session if needed.
            Err(ResumableUploadError::SessionGone) if !fresh_session_made => {
                let document = client
                    .document(&state.parent, &state.job_id, &state.document_id)
                    .await?;
                if document.size as u64 == doc.size && document.uploaded_date_time.is_some() {
                    break;
                }
                state.upload_url = None;
            }
            Err(err) => {
                return Err(anyhow::Error::new(err).context(format!(
                    "uploading {} (run the same command again to resume)",
                    doc.path.display()
                )));
            }
        }
    }

    let (stored_size, stored_sha) = client
        .document_sha256(&state.parent, &state.job_id, &state.document_id)
        .await
        .context("reading back the stored document to check it")?;
    if stored_size != doc.size || stored_sha != doc.sha256 {
        return Err(fail(
            exit::MISMATCH,
            format!(
                "job {}: the cloud stored {stored_size} bytes with SHA-256 {stored_sha}, but {} is {} bytes with SHA-256 {}; the job was not started",
                state.job_id,
                doc.path.display(),
                doc.size,
                doc.sha256
            ),
        ));
    }
    let status = client
        .start_job(&state.parent, &state.job_id)
        .await
        .with_context(|| format!("starting job {}", state.job_id))?;
    store.remove(&key).context("removing the resume file")?;
    if !quiet {
        println!(
            "job {} on {}: {} (sha256 {})",
            state.job_id, target.share.display_name, status.state, doc.sha256
        );
    }
    Ok(state.job_id)
}

enum Resume {
    Continue,
    AlreadyStarted,
    StartOver,
}

/// What became of the job an earlier run created.
async fn resumable(client: &GraphClient, state: &ResumeState) -> anyhow::Result<Resume> {
    match client.job(&state.parent, &state.job_id).await {
        Ok(job) => {
            let waiting = job.status.state == PrintJobProcessingState::Paused
                && job
                    .status
                    .details
                    .contains(&PrintJobStateDetail::UploadPending);
            Ok(if waiting {
                Resume::Continue
            } else if job.status.state.is_terminal() {
                Resume::StartOver
            } else {
                Resume::AlreadyStarted
            })
        }
        Err(err) if err.status() == Some(reqwest::StatusCode::NOT_FOUND) => Ok(Resume::StartOver),
        Err(err) => Err(err.into()),
    }
}

async fn new_job(
    client: &GraphClient,
    target: &Target,
    doc: &Document,
    config: &PrintJobConfiguration,
) -> anyhow::Result<ResumeState> {
    let job = client
        .create_job(&target.parent, config)
        .await
        .context("creating the print job")?;
    let document_id = job
        .documents
        .as_ref()
        .and_then(|d| d.first())
        .map(|d| d.id.clone())
        .with_context(|| format!("the cloud created job {} without a document", job.id))?;
    Ok(ResumeState {
        graph: client.base_url().to_string(),
        parent: target.parent.clone(),
        file: doc.path.clone(),
        size: doc.size,
        sha256: doc.sha256.clone(),
        job_id: job.id,
        document_id,
        upload_url: None,
    })
}

/// Polls a job until it ends, printing each change; `quiet_start` skips the first line.
pub async fn follow(
    client: &GraphClient,
    parent: &JobParent,
    job_id: &str,
    quiet_start: bool,
) -> anyhow::Result<PrintJob> {
    let mut last: Option<(PrintJobProcessingState, Vec<PrintJobStateDetail>)> = None;
    loop {
        let job = client.job(parent, job_id).await?;
        let now = (job.status.state, job.status.details.clone());
        if last.as_ref() != Some(&now) {
            if last.is_some() || !quiet_start {
                println!("job {job_id}: {}", describe(&job));
            }
            last = Some(now);
        }
        if job.status.state.is_terminal() {
            return Ok(job);
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// The folder holding a finished job's PNG sides, when the printer's final status names it
/// with a `file://` URL (printlab's emulated printers do) and it is on this machine.
pub fn output_dir(job: &PrintJob) -> Option<PathBuf> {
    let url = job
        .status
        .description
        .split_whitespace()
        .find(|word| word.starts_with("file://"))?;
    let path = url::Url::parse(url).ok()?.to_file_path().ok()?;
    path.is_dir().then_some(path)
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
    println!("output: {}", dir.display());
    for png in pngs {
        println!("  {}", png.display());
    }
}

/// `state (detail, detail): description`.
pub fn describe(job: &PrintJob) -> String {
    let details: Vec<String> = job.status.details.iter().map(|d| d.to_string()).collect();
    let mut out = job.status.state.to_string();
    if !details.is_empty() {
        out.push_str(&format!(" ({})", details.join(", ")));
    }
    if !job.status.description.is_empty() {
        out.push_str(&format!(": {}", job.status.description));
    }
    out
}

/// A progress bar with bytes, rate and ETA on a terminal; a plain line every 10 % otherwise.
struct Progress {
    quiet: bool,
    bar: Option<indicatif::ProgressBar>,
    plain: Mutex<PlainProgress>,
    name: String,
}

struct PlainProgress {
    started: Instant,
    next_tenth: u64,
}

impl Progress {
    fn new(name: &str, size: u64, quiet: bool) -> Self {
        let bar = (!quiet && std::io::stderr().is_terminal()).then(|| {
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
            quiet,
            bar,
            plain: Mutex::new(PlainProgress {
                started: Instant::now(),
                next_tenth: 0,
            }),
            name: name.to_string(),
        }
    }

    fn update(&self, stored: u64, total: u64) {
        if self.quiet {
            return;
        }
        if let Some(bar) = &self.bar {
            bar.set_position(stored);
            return;
        }
        let mut plain = self.plain.lock().expect("progress lock poisoned");
        let tenth = stored.saturating_mul(10) / total.max(1);
        if tenth >= plain.next_tenth {
            let secs = plain.started.elapsed().as_secs_f64().max(1e-3);
            eprintln!(
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
