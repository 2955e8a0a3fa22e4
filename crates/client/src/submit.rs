//! Submitting one document as a job: check it against the printer before any upload, then
//! create (or, after an interruption, find again) the job, upload, verify the stored bytes, start.
//!
//! The resume record is written before every step that the cloud remembers, so a run of the same
//! request after an interruption continues the interrupted run's job instead of printing twice;
//! a run that is still alive keeps its record to itself, so the same command run twice at once
//! prints twice, as asked ([`crate::resume`]).

use crate::resume::{ResumeState, ResumeStore};
use crate::shares::Target;
use crate::upload::{ResumableUploadError, SessionStart, UploadOptions, file_sha256, upload};
use crate::{ClientError, GraphClient};
use printlab_graph::{
    PrintDocumentUploadProperties, PrintJobConfiguration, PrintJobProcessingState,
    PrintJobStateDetail, PrintJobStatus, rules,
};
use std::path::{Path, PathBuf};

/// What one file is, before anything is sent.
#[derive(Debug, Clone)]
pub struct Document {
    pub path: PathBuf,
    pub name: String,
    pub size: u64,
    pub sha256: String,
    pub content_type: String,
}

/// Why a submission stopped; each message says which step failed.
#[derive(Debug, thiserror::Error)]
pub enum SubmitError {
    #[error("reading {}", path.display())]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{} is empty", path.display())]
    Empty { path: PathBuf },
    #[error("resolving {}", path.display())]
    Resolve {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// The printer refuses the format or an option; nothing was uploaded.
    #[error("printer {printer:?} cannot print this as asked (nothing was uploaded):\n  {}", problems.join("\n  "))]
    Unsupported {
        printer: String,
        problems: Vec<String>,
    },
    #[error(transparent)]
    Options(#[from] serde_json::Error),
    #[error("taking a resume record")]
    ClaimResume(#[source] std::io::Error),
    #[error("writing the resume record")]
    SaveResume(#[source] std::io::Error),
    #[error("removing the resume record")]
    RemoveResume(#[source] std::io::Error),
    #[error("creating the print job")]
    CreateJob(#[source] ClientError),
    #[error("the cloud created job {job_id} without a document")]
    NoDocument { job_id: String },
    #[error("creating the upload session")]
    CreateSession(#[source] ClientError),
    #[error("the cloud's uploadSession has no uploadUrl; it cannot take the document")]
    NoUploadUrl,
    #[error("uploading {} (run the same command again to resume)", path.display())]
    Upload {
        path: PathBuf,
        #[source]
        source: ResumableUploadError,
    },
    #[error("reading back the stored document to check it")]
    ReadBack(#[source] ClientError),
    /// The stored document differs from the file; the job was not started.
    #[error(
        "job {job_id}: the cloud stored {stored_size} bytes with SHA-256 {stored_sha256}, but {} is {size} bytes with SHA-256 {sha256}; the job was not started",
        path.display()
    )]
    Mismatch {
        job_id: String,
        stored_size: u64,
        stored_sha256: String,
        path: PathBuf,
        size: u64,
        sha256: String,
    },
    #[error("starting job {job_id}")]
    Start {
        /// Boxed: a `String` beside a whole `ClientError` would make every `SubmitError` large.
        job_id: Box<str>,
        #[source]
        source: ClientError,
    },
    #[error(transparent)]
    Graph(#[from] ClientError),
}

/// What a submission tells its caller while it runs, so the caller decides how to show it (a
/// terminal draws a progress bar, the demo shows its own table).
pub trait SubmitObserver: Sync {
    /// A job an interrupted run created is taken up again.
    fn resuming(&self, doc: &Document, job_id: &str);
    /// An upload attempt begins; [`SubmitObserver::uploaded`] follows as ranges land.
    fn upload_started(&self, _doc: &Document) {}
    fn uploaded(&self, _stored: u64, _total: u64) {}
    /// The attempt ended, whether or not the upload completed.
    fn upload_ended(&self) {}
}

/// How a submission ended.
#[derive(Debug, Clone)]
pub enum Submitted {
    Started {
        job_id: String,
        status: PrintJobStatus,
    },
    /// An earlier run of the same request had already started the job: it is not started twice.
    AlreadyStarted { job_id: String },
}

impl Submitted {
    pub fn job_id(&self) -> &str {
        match self {
            Submitted::Started { job_id, .. } | Submitted::AlreadyStarted { job_id } => job_id,
        }
    }
}

/// Where resume files live unless the caller says otherwise: the XDG state folder, because
/// they must outlive the run that was interrupted but are no one's documents.
pub fn default_state_dir() -> PathBuf {
    let base = std::env::var_os("XDG_STATE_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".local/state")))
        .unwrap_or_else(|| PathBuf::from("."));
    base.join("printlab/uploads")
}

impl Document {
    /// Hashes the file and fixes its absolute path, so the resume key and the final check refer
    /// to these bytes. The caller tells the format: telling it from the bytes is the renderer's
    /// business, which a client does not link.
    pub fn inspect(path: &Path, content_type: &str) -> Result<Document, SubmitError> {
        let (size, sha256) = file_sha256(path).map_err(|source| SubmitError::Read {
            path: path.to_owned(),
            source,
        })?;
        if size == 0 {
            return Err(SubmitError::Empty {
                path: path.to_owned(),
            });
        }
        let path = std::fs::canonicalize(path).map_err(|source| SubmitError::Resolve {
            path: path.to_owned(),
            source,
        })?;
        let name = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_else(|| "document".to_string());
        Ok(Document {
            path,
            name,
            size,
            sha256,
            content_type: content_type.to_string(),
        })
    }
}

/// Refuses, before any upload, what the printer cannot do, naming what it can.
pub fn check_supported(
    target: &Target,
    doc: &Document,
    config: &PrintJobConfiguration,
) -> Result<(), SubmitError> {
    let caps = target.capabilities();
    let mut problems = Vec::new();
    if let Some(types) = &caps.content_types
        && !types
            .iter()
            .any(|t| t.eq_ignore_ascii_case(&doc.content_type))
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
        Err(SubmitError::Unsupported {
            printer: target.share.display_name.clone(),
            problems,
        })
    }
}

/// Creates (or, after an interruption, finds again) the job, uploads, verifies and starts it.
pub async fn submit(
    client: &GraphClient,
    store: &ResumeStore,
    target: &Target,
    doc: &Document,
    config: &PrintJobConfiguration,
    options: &UploadOptions,
    observer: &dyn SubmitObserver,
) -> Result<Submitted, SubmitError> {
    let key = ResumeStore::key(
        client.base_url(),
        &target.parent,
        &doc.sha256,
        &serde_json::to_string(config)?,
    );
    let mut claim = store.claim(&key).map_err(SubmitError::ClaimResume)?;
    let mut state = match claim.take_state() {
        Some(state) => match resumable(client, &state).await? {
            Resume::Continue => {
                observer.resuming(doc, &state.job_id);
                state
            }
            Resume::AlreadyStarted => {
                claim.finish().map_err(SubmitError::RemoveResume)?;
                return Ok(Submitted::AlreadyStarted {
                    job_id: state.job_id,
                });
            }
            Resume::StartOver => new_job(client, target, doc, config).await?,
        },
        None => new_job(client, target, doc, config).await?,
    };
    claim.save(&state).map_err(SubmitError::SaveResume)?;

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
                            content_type: doc.content_type.clone(),
                            size: doc.size as i64,
                        },
                    )
                    .await
                    .map_err(SubmitError::CreateSession)?;
                let url = session.upload_url.ok_or(SubmitError::NoUploadUrl)?;
                state.upload_url = Some(url.clone());
                claim.save(&state).map_err(SubmitError::SaveResume)?;
                fresh_session_made = true;
                url
            }
        };
        observer.upload_started(doc);
        let start = if fresh_session_made {
            SessionStart::New
        } else {
            SessionStart::Resumed
        };
        let outcome = upload(
            client.http(),
            &url,
            &doc.path,
            doc.size,
            start,
            options,
            &|stored, total| observer.uploaded(stored, total),
        )
        .await;
        observer.upload_ended();
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
            Err(source) => {
                return Err(SubmitError::Upload {
                    path: doc.path.clone(),
                    source,
                });
            }
        }
    }

    let (stored_size, stored_sha256) = client
        .document_sha256(&state.parent, &state.job_id, &state.document_id)
        .await
        .map_err(SubmitError::ReadBack)?;
    if stored_size != doc.size || stored_sha256 != doc.sha256 {
        return Err(SubmitError::Mismatch {
            job_id: state.job_id,
            stored_size,
            stored_sha256,
            path: doc.path.clone(),
            size: doc.size,
            sha256: doc.sha256.clone(),
        });
    }
    let status = client
        .start_job(&state.parent, &state.job_id)
        .await
        .map_err(|source| SubmitError::Start {
            job_id: state.job_id.as_str().into(),
            source,
        })?;
    claim.finish().map_err(SubmitError::RemoveResume)?;
    Ok(Submitted::Started {
        job_id: state.job_id,
        status,
    })
}

enum Resume {
    Continue,
    AlreadyStarted,
    StartOver,
}

/// What became of the job an earlier run created.
async fn resumable(client: &GraphClient, state: &ResumeState) -> Result<Resume, ClientError> {
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
        Err(err) => Err(err),
    }
}

async fn new_job(
    client: &GraphClient,
    target: &Target,
    doc: &Document,
    config: &PrintJobConfiguration,
) -> Result<ResumeState, SubmitError> {
    let job = client
        .create_job(&target.parent, config)
        .await
        .map_err(SubmitError::CreateJob)?;
    let document_id = job
        .documents
        .as_ref()
        .and_then(|d| d.first())
        .map(|d| d.id.clone())
        .ok_or_else(|| SubmitError::NoDocument {
            job_id: job.id.clone(),
        })?;
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{JobParent, SharedPrinter};
    use printlab_graph::{PrintDuplexMode, PrinterCapabilities};

    fn target(caps: PrinterCapabilities) -> Target {
        Target {
            parent: JobParent::Share("s".into()),
            share: SharedPrinter {
                id: "s".into(),
                display_name: "Office".into(),
                manufacturer: None,
                model: None,
                location: None,
                is_accepting_jobs: None,
                status: None,
                capabilities: Some(caps),
                defaults: None,
            },
        }
    }

    #[test]
    fn documents_are_hashed_and_empty_ones_refused() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("a.pdf");
        std::fs::write(&file, b"abc").unwrap();
        let doc = Document::inspect(&file, "application/pdf").unwrap();
        assert_eq!(doc.name, "a.pdf");
        assert_eq!(doc.size, 3);
        assert_eq!(
            doc.sha256,
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
        std::fs::write(&file, b"").unwrap();
        assert!(matches!(
            Document::inspect(&file, "application/pdf"),
            Err(SubmitError::Empty { .. })
        ));
    }

    #[test]
    fn the_check_names_every_problem_before_any_upload() {
        let doc = Document {
            path: "/tmp/a.urf".into(),
            name: "a.urf".into(),
            size: 1,
            sha256: String::new(),
            content_type: "image/urf".into(),
        };
        let caps = PrinterCapabilities {
            content_types: Some(vec!["application/pdf".into()]),
            duplex_modes: Some(vec![PrintDuplexMode::OneSided]),
            ..Default::default()
        };
        let config = PrintJobConfiguration {
            duplex_mode: Some(PrintDuplexMode::FlipOnLongEdge),
            ..Default::default()
        };
        let Err(SubmitError::Unsupported { printer, problems }) =
            check_supported(&target(caps.clone()), &doc, &config)
        else {
            panic!("the URF document with duplex must be refused");
        };
        assert_eq!(printer, "Office");
        assert_eq!(problems.len(), 2, "{problems:?}");
        assert!(problems[0].contains("printer accepts application/pdf"));
        let pdf = Document {
            content_type: "application/PDF".into(),
            ..doc
        };
        assert!(check_supported(&target(caps), &pdf, &PrintJobConfiguration::default()).is_ok());
    }
}
