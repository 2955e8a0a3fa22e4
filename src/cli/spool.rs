//! `printlab spool ls|show|export|gc`: reads a device spool (while no device holds it open).

use super::output::outln;
use anyhow::{Context, bail};
use clap::Subcommand;
use printlab_device::spool::{JobOrigin, JobRecord, Spool};
use std::path::{Path, PathBuf};

#[derive(Subcommand)]
pub enum SpoolCommand {
    /// List every spooled job.
    Ls {
        /// Print JSON instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// Show one job's record and event log.
    Show {
        printer: String,
        job: u32,
        /// Print JSON instead of text.
        #[arg(long)]
        json: bool,
    },
    /// Write one job's record, events and document bytes into a folder.
    Export {
        printer: String,
        job: u32,
        /// Destination folder (created if missing).
        #[arg(long, default_value = ".")]
        out: PathBuf,
    },
    /// Remove finished jobs (completed, canceled, aborted) with their documents and events.
    Gc {
        /// Only jobs last changed more than this many hours ago.
        #[arg(long, default_value_t = 0.0)]
        older_than_hours: f64,
    },
}

fn open(dir: &Path) -> anyhow::Result<Spool> {
    if !dir.is_dir() {
        bail!("no spool at {} (use --spool DIR)", dir.display());
    }
    Spool::open(dir).with_context(|| {
        format!(
            "cannot open the spool at {} (is a device using it?)",
            dir.display()
        )
    })
}

fn doc_summary(r: &JobRecord) -> String {
    match &r.document {
        None => "-".into(),
        Some(d) => format!(
            "{}{}",
            d.bytes_received,
            if d.sha256.is_some() { "" } else { "…" }
        ),
    }
}

pub fn run(dir: &Path, command: SpoolCommand) -> anyhow::Result<()> {
    let spool = open(dir)?;
    match command {
        SpoolCommand::Ls { json } => {
            let jobs = spool.jobs()?;
            if json {
                outln!("{}", serde_json::to_string_pretty(&jobs)?);
                return Ok(());
            }
            outln!(
                "{:<24} {:>10} {:<11} {:>12} {:>7} {:>7}  UPDATED",
                "PRINTER",
                "JOB",
                "STATE",
                "DOC BYTES",
                "SHEETS",
                "IMPR"
            );
            for r in &jobs {
                outln!(
                    "{:<24} {:>10} {:<11} {:>12} {:>7} {:>7}  {}{}",
                    r.printer,
                    r.job_id,
                    r.state.to_string(),
                    doc_summary(r),
                    r.progress.sheets_completed,
                    r.progress.impressions_completed,
                    r.updated_at.format("%Y-%m-%d %H:%M:%S"),
                    if r.origin == JobOrigin::LocalIpp {
                        "  (local: not through the service)"
                    } else {
                        ""
                    },
                );
            }
            outln!("{} job(s)", jobs.len());
        }
        SpoolCommand::Show { printer, job, json } => {
            let record = spool
                .job(&printer, job)?
                .with_context(|| format!("no job {job} for printer {printer} in the spool"))?;
            let events = spool.events(&printer, job)?;
            if json {
                let v = serde_json::json!({ "job": record, "events": events });
                outln!("{}", serde_json::to_string_pretty(&v)?);
                return Ok(());
            }
            outln!("{}", serde_json::to_string_pretty(&record)?);
            for e in events {
                outln!(
                    "{:>4} {} {:<14} {}",
                    e.seq,
                    e.at.format("%H:%M:%S%.3f"),
                    e.kind,
                    e.detail
                );
            }
        }
        SpoolCommand::Export { printer, job, out } => {
            let record = spool
                .job(&printer, job)?
                .with_context(|| format!("no job {job} for printer {printer} in the spool"))?;
            std::fs::create_dir_all(&out)
                .with_context(|| format!("cannot create {}", out.display()))?;
            let write = |name: &str, bytes: &[u8]| -> anyhow::Result<()> {
                let path = out.join(name);
                std::fs::write(&path, bytes)
                    .with_context(|| format!("cannot write {}", path.display()))
            };
            write("job.json", &serde_json::to_vec_pretty(&record)?)?;
            write(
                "events.json",
                &serde_json::to_vec_pretty(&spool.events(&printer, job)?)?,
            )?;
            if record.document.is_some() {
                let path = out.join("document.bin");
                let mut file = std::fs::File::create(&path)
                    .with_context(|| format!("cannot write {}", path.display()))?;
                for chunk in spool.document_chunks(&printer, job)? {
                    std::io::Write::write_all(&mut file, &chunk?)?;
                }
            }
            outln!("exported {printer}/{job} to {}", out.display());
        }
        SpoolCommand::Gc { older_than_hours } => {
            let age = chrono::Duration::try_milliseconds((older_than_hours * 3_600_000.0) as i64)
                .filter(|_| older_than_hours >= 0.0)
                .context("--older-than-hours must be a non-negative number")?;
            let removed = spool.gc(chrono::Utc::now() - age)?;
            for (printer, job) in &removed {
                outln!("removed {printer}/{job}");
            }
            spool.flush()?;
            outln!("{} job(s) removed", removed.len());
        }
    }
    Ok(())
}
