//! The device spool: what an emulated printer remembers across a kill -9.
//!
//! One sled database per device process, shared by all its printers. Four trees:
//! - `jobs`: one JSON record per (printer, cloud job id): state, attributes, progress, outputs;
//! - `chunks`: document bytes, one entry per received chunk, keyed by byte offset;
//! - `events`: a per-job log, keyed by sequence number;
//! - `identity`: per printer, its key, certificate and tokens;
//! - `faults`: per printer, the faults nobody has cleared yet ([`FaultMemory`]), so a printer
//!   killed while jammed, out of paper or with its cover open comes back that way.
//!
//! Every change that touches a job goes through one multi-tree sled transaction that also updates
//! the record (byte count, next event number), so after a crash the record and its chunks and
//! events always agree: a chunk is either fully there and counted, or absent. sled 0.34 buffers
//! writes for up to its flush interval, so the last writes before a crash may be lost (never
//! half-applied); the device calls [`Spool::flush`] before it tells the cloud anything it must
//! not forget (Acknowledge-Job, Acknowledge-Document, a final job state). A task on the runtime
//! may call [`Spool::flush_shared`] instead: as durable, but off the runtime's workers and shared
//! with the writers that finish while a sync runs (the registrations of a starting fleet).
//!
//! Every committed change to a job is also announced to [`Spool::watch_jobs`] receivers (the
//! control API's event stream), after the transaction, so a watcher reads what was written.
//!
//! One file over 800 lines on purpose: every write is one transaction over the same trees, and
//! keeping them side by side (about 670 lines) is what makes them reviewable; tests follow.

use super::engine::FaultMemory;
use chrono::{DateTime, Utc};
use printlab_datadir::UnfinishedJobs;
use printlab_graph::{PrintJobConfiguration, PrintJobProcessingState};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use sled::Transactional;
use sled::transaction::{ConflictableTransactionError, TransactionError, TransactionalTree};
use std::path::Path;

#[derive(Debug, thiserror::Error)]
pub enum SpoolError {
    #[error("spool storage: {0}")]
    Storage(#[from] sled::Error),
    #[error(transparent)]
    DataDir(#[from] printlab_datadir::DataDirError),
    #[error("spool record {key} is unreadable: {reason}")]
    Corrupt { key: String, reason: String },
    #[error("printer name {0:?} cannot be stored: it is empty or contains a NUL")]
    InvalidPrinterName(String),
    #[error("no job {job} for printer {printer} in the spool")]
    NoSuchJob { printer: String, job: u32 },
    #[error("job {job} for printer {printer} has no document yet")]
    NoDocument { printer: String, job: u32 },
    #[error("chunk at byte {got} does not continue the document, which has {expected} bytes")]
    OffsetMismatch { expected: u64, got: u64 },
    #[error("the document has {received} bytes but the service announced {expected}")]
    SizeMismatch { expected: u64, received: u64 },
    #[error("the document of job {job} is complete; no more bytes are accepted")]
    DocumentComplete { job: u32 },
    #[error("every local job id ({}..={}) has been used", LOCAL_JOB_IDS.start(), LOCAL_JOB_IDS.end())]
    LocalJobIdsUsedUp,
}

/// Progress as the device reports it (`job-media-sheets-completed`,
/// `job-impressions-completed`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Progress {
    pub sheets_completed: u64,
    pub impressions_completed: u64,
}

/// The job's document, as far as it has arrived.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DocumentRecord {
    pub number: u32,
    pub format: String,
    pub name: Option<String>,
    /// The size the service announced, if it did.
    pub expected_size: Option<u64>,
    pub bytes_received: u64,
    pub chunks: u64,
    /// Set once the whole document is in: hex SHA-256 of its bytes.
    pub sha256: Option<String>,
    pub acknowledged: bool,
}

/// One produced output file (a rendered side, the manifest).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OutputRecord {
    pub path: String,
    pub sha256: String,
}

/// Where a job came from. Both kinds go through the same engine, spool, faults and output;
/// only a service job is reported to the service.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum JobOrigin {
    /// Fetched from the service (INFRA / Universal Print); the id is the service's.
    #[default]
    Service,
    /// Printed at the printer itself: sent straight to its IPP Everywhere endpoint, or its front
    /// panel's sample page. The id is the printer's own, from [`LOCAL_JOB_IDS`], and nothing
    /// about it goes to the service.
    LocalIpp,
}

/// The ids a printer gives the jobs it receives over IPP: the upper half of IPP's job-id range,
/// apart from the ids a service hands out (which count up from 1), since both kinds share the
/// spool's keys.
pub const LOCAL_JOB_IDS: std::ops::RangeInclusive<u32> = 1 << 30..=i32::MAX as u32;

/// Everything the device knows about one job.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct JobRecord {
    pub printer: String,
    pub job_id: u32,
    /// Older records have none: they were all fetched from the service.
    #[serde(default)]
    pub origin: JobOrigin,
    pub state: PrintJobProcessingState,
    /// IPP `job-state-reasons`.
    pub reasons: Vec<String>,
    pub name: Option<String>,
    pub user: Option<String>,
    /// The job's effective configuration (printer defaults applied).
    pub configuration: PrintJobConfiguration,
    /// Whether the job was taken for Acknowledge-Job (flushed before the request goes): from
    /// here on the job must not be lost.
    pub acknowledged: bool,
    /// Whether the service answered Acknowledge-Job. A device killed after taking the job but
    /// before its request went sends it again when it resumes the job; the service takes a
    /// repeated acknowledgement as the same one. Older records have none, and send it once
    /// more.
    #[serde(default)]
    pub acknowledgement_answered: bool,
    /// Whether the service answered the job's final report (it took the final state, or no
    /// longer has the job): until then an ended service job is still unfinished, and a
    /// restarted device reports it. Older records have none; the spool reads it from their
    /// event log once, when it opens.
    #[serde(default)]
    pub final_report_answered: bool,
    pub document: Option<DocumentRecord>,
    pub progress: Progress,
    pub outputs: Vec<OutputRecord>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    /// Sequence number of the next event in the log.
    pub next_event: u64,
}

impl JobRecord {
    /// Whether the device still has business with the job: it has not ended, or it is the
    /// service's and the service has not answered its final report.
    pub fn unfinished(&self) -> bool {
        unfinished(self.state, self.origin, self.final_report_answered)
    }
}

fn unfinished(state: PrintJobProcessingState, origin: JobOrigin, answered: bool) -> bool {
    !state.is_terminal() || (origin == JobOrigin::Service && !answered)
}

/// The event logged when the service answers a job's final report.
const FINAL_REPORT_ANSWERED: &str = "reported";

/// What Fetch-Job told the device.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct NewJob {
    pub origin: JobOrigin,
    pub name: Option<String>,
    pub user: Option<String>,
    pub configuration: PrintJobConfiguration,
}

/// One entry of a job's event log.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct JobEvent {
    pub seq: u64,
    pub at: DateTime<Utc>,
    pub kind: String,
    pub detail: String,
}

/// A printer's identity with the service: kept so a restarted device does not register again.
/// Written step by step (key, then the pending registration, then its result), so a device
/// stopped mid-registration resumes it with the same key instead of starting another.
#[derive(Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeviceIdentity {
    /// The cloud's id for the printer (`cloud_device_id`).
    pub device_id: Option<String>,
    pub private_key_pem: String,
    pub certificate_pem: Option<String>,
    pub access_token: Option<String>,
    pub refresh_token: Option<String>,
    pub token_expires_at: Option<DateTime<Utc>>,
    /// A registration sent but not yet answered with a certificate.
    #[serde(default)]
    pub registration_id: Option<String>,
    /// The registration answer's token endpoint, client id, redirect URI and token resource.
    #[serde(default)]
    pub device_token_url: Option<String>,
    #[serde(default)]
    pub printer_client_id: Option<String>,
    #[serde(default)]
    pub printer_redirect_uri: Option<String>,
    #[serde(default)]
    pub mcp_svc_resource_id: Option<String>,
    /// When to ask for the next token (ahead of `token_expires_at`).
    #[serde(default)]
    pub token_refresh_at: Option<DateTime<Utc>>,
    /// The service URL the device registered through, so that a lab whose cloud moved to
    /// another address (a new `--listen`) can be followed there.
    #[serde(default)]
    pub service_url: Option<String>,
}

impl std::fmt::Debug for DeviceIdentity {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DeviceIdentity")
            .field("device_id", &self.device_id)
            .field("has_certificate", &self.certificate_pem.is_some())
            .field("has_access_token", &self.access_token.is_some())
            .field("token_expires_at", &self.token_expires_at)
            .finish_non_exhaustive()
    }
}

/// A job whose record changed (or was removed): read it again with [`Spool::job`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JobChange {
    pub printer: String,
    pub job: u32,
}

/// How many job changes a slow watcher may fall behind before it is told it lagged (and reads
/// every job again).
const JOB_CHANGES_BUFFERED: usize = 1024;

/// The spool of one device process.
#[derive(Clone)]
pub struct Spool {
    db: sled::Db,
    /// Announces committed job changes; sending never waits for a watcher.
    changes: tokio::sync::broadcast::Sender<JobChange>,
    jobs: sled::Tree,
    chunks: sled::Tree,
    events: sled::Tree,
    identity: sled::Tree,
    faults: sled::Tree,
    /// Group commit for [`Spool::flush_shared`].
    flushes: std::sync::Arc<printlab_datadir::GroupSync>,
    /// Each printer's jobs that have not ended, for the questions asked on every job's path.
    unfinished: std::sync::Arc<UnfinishedJobs<u32>>,
}

fn job_key(printer: &str, job: u32) -> Result<Vec<u8>, SpoolError> {
    if printer.is_empty() || printer.contains('\0') {
        return Err(SpoolError::InvalidPrinterName(printer.to_string()));
    }
    let mut key = Vec::with_capacity(printer.len() + 5);
    key.extend_from_slice(printer.as_bytes());
    key.push(0);
    key.extend_from_slice(&job.to_be_bytes());
    Ok(key)
}

fn sub_key(job_key: &[u8], n: u64) -> Vec<u8> {
    let mut key = job_key.to_vec();
    key.extend_from_slice(&n.to_be_bytes());
    key
}

/// Splits a job key back into printer and job id.
fn parse_job_key(key: &[u8]) -> Option<(String, u32)> {
    let (printer, rest) = key.split_at(key.len().checked_sub(5)?);
    if rest[0] != 0 {
        return None;
    }
    let job = u32::from_be_bytes(rest[1..5].try_into().ok()?);
    Some((String::from_utf8(printer.to_vec()).ok()?, job))
}

/// What the unfinished-jobs index needs of a stored job, read at opening without building the
/// whole record (configuration, document, outputs are skipped).
#[derive(Deserialize)]
struct StoredJobHead {
    printer: String,
    job_id: u32,
    state: PrintJobProcessingState,
    #[serde(default)]
    origin: JobOrigin,
    /// None in records written before the field.
    final_report_answered: Option<bool>,
}

/// A key as an error names it: `printer/job`, then `#n` for the job's event `n` or its chunk at
/// byte `n`.
fn key_name(key: &[u8]) -> String {
    let job_part = |key: &[u8]| {
        (parse_job_key(key).filter(|(printer, _)| !printer.contains('\0')))
            .map(|(printer, job)| format!("{printer}/{job}"))
    };
    if let Some(name) = job_part(key) {
        return name;
    }
    if let Some((job, n)) = key.split_last_chunk::<8>()
        && let Some(name) = job_part(job)
    {
        return format!("{name} #{}", u64::from_be_bytes(*n));
    }
    String::from_utf8_lossy(key).replace('\0', "/")
}

fn decode<T: for<'de> Deserialize<'de>>(key: &[u8], bytes: &[u8]) -> Result<T, SpoolError> {
    serde_json::from_slice(bytes).map_err(|e| SpoolError::Corrupt {
        key: key_name(key),
        reason: e.to_string(),
    })
}

fn encode<T: Serialize>(value: &T) -> Vec<u8> {
    serde_json::to_vec(value).expect("spool records serialise")
}

type Tx<T> = Result<T, ConflictableTransactionError<SpoolError>>;

fn abort<T>(e: SpoolError) -> Tx<T> {
    Err(ConflictableTransactionError::Abort(e))
}

fn unwrap_tx<T>(r: Result<T, TransactionError<SpoolError>>) -> Result<T, SpoolError> {
    r.map_err(|e| match e {
        TransactionError::Abort(e) => e,
        TransactionError::Storage(e) => SpoolError::Storage(e),
    })
}

fn read_record(jobs: &TransactionalTree, key: &[u8], printer: &str, job: u32) -> Tx<JobRecord> {
    match jobs.get(key)? {
        Some(bytes) => decode(key, &bytes).or_else(abort),
        None => abort(SpoolError::NoSuchJob {
            printer: printer.to_string(),
            job,
        }),
    }
}

fn log_event(
    events: &TransactionalTree,
    key: &[u8],
    record: &mut JobRecord,
    kind: &str,
    detail: &str,
) -> Tx<()> {
    let event = JobEvent {
        seq: record.next_event,
        at: record.updated_at,
        kind: kind.to_string(),
        detail: detail.to_string(),
    };
    events.insert(sub_key(key, event.seq), encode(&event))?;
    record.next_event += 1;
    Ok(())
}

impl Spool {
    /// Opens (or creates) the spool in `dir`, which holds the printers' private keys: it is made
    /// private first (`printlab-datadir`).
    pub fn open(dir: &Path) -> Result<Self, SpoolError> {
        printlab_datadir::ensure_private(dir)?;
        let db = sled::Config::new().path(dir).open()?;
        let jobs = db.open_tree("jobs")?;
        let events = db.open_tree("events")?;
        let mut entries = Vec::new();
        let mut answered_before_the_field = Vec::new();
        for entry in jobs.iter() {
            let (key, bytes) = entry?;
            // A record that cannot be read stays out of the index; `verify` names it.
            let head = match decode::<StoredJobHead>(&key, &bytes) {
                Ok(head) => head,
                Err(e) => {
                    tracing::warn!(error = %e, "a spooled job cannot be read");
                    continue;
                }
            };
            let service_ended = head.state.is_terminal() && head.origin == JobOrigin::Service;
            let answered = match head.final_report_answered {
                Some(answered) => answered,
                // Written before records kept it: the log's last event says, read this once.
                None if service_ended => {
                    let last = events.scan_prefix(&key).next_back().transpose()?;
                    let answered = last.is_some_and(|(event_key, value)| {
                        decode::<JobEvent>(&event_key, &value)
                            .is_ok_and(|e| e.kind == FINAL_REPORT_ANSWERED)
                    });
                    if answered {
                        answered_before_the_field.push(key.clone());
                    }
                    answered
                }
                None => false,
            };
            entries.push((
                head.printer,
                head.job_id,
                unfinished(head.state, head.origin, answered),
            ));
        }
        for key in answered_before_the_field {
            if let Some(bytes) = jobs.get(&key)? {
                let mut record: JobRecord = decode(&key, &bytes)?;
                record.final_report_answered = true;
                jobs.insert(key, encode(&record))?;
            }
        }
        Ok(Self {
            changes: tokio::sync::broadcast::Sender::new(JOB_CHANGES_BUFFERED),
            unfinished: std::sync::Arc::new(UnfinishedJobs::from_jobs(entries)),
            jobs,
            chunks: db.open_tree("chunks")?,
            events,
            identity: db.open_tree("identity")?,
            faults: db.open_tree("faults")?,
            flushes: Default::default(),
            db,
        })
    }

    /// Every job change committed from now on, each announced after its commit (two writers
    /// may announce in either order; a watcher reads the record again, so it sees the latest).
    /// A receiver that falls more than [`JOB_CHANGES_BUFFERED`] changes behind gets `Lagged`
    /// and should read every job again.
    pub fn watch_jobs(&self) -> tokio::sync::broadcast::Receiver<JobChange> {
        self.changes.subscribe()
    }

    /// Tells the watchers that a transaction on the job committed (nothing when it failed).
    fn announce<T>(
        &self,
        printer: &str,
        job: u32,
        committed: Result<T, SpoolError>,
    ) -> Result<T, SpoolError> {
        if committed.is_ok() {
            // No receiver is not an error: nobody watches.
            let _ = self.changes.send(JobChange {
                printer: printer.to_string(),
                job,
            });
        }
        committed
    }

    /// Commits a transaction that writes the job's record, keeping the unfinished-jobs index in
    /// step with the record it committed, and announces it.
    fn write_record(
        &self,
        printer: &str,
        job: u32,
        commit: impl FnOnce() -> Result<JobRecord, SpoolError>,
    ) -> Result<JobRecord, SpoolError> {
        let written = self.unfinished.write(printer, job, || {
            let record = commit()?;
            let unfinished = record.unfinished();
            Ok((record, unfinished))
        });
        self.announce(printer, job, written)
    }

    /// Makes every write so far durable. Call before telling the cloud something the device must
    /// remember.
    pub fn flush(&self) -> Result<(), SpoolError> {
        self.db.flush()?;
        Ok(())
    }

    /// [`Spool::flush`] for a task on the runtime, as durable: the sync runs on the blocking pool,
    /// not on a runtime worker, and callers whose writes finished while one ran share the next
    /// (group commit). A fleet registering 10,000 printers made about 28,000 syncs one at a
    /// time, each holding one of the runtime's few workers.
    pub async fn flush_shared(&self) -> Result<(), SpoolError> {
        let ticket = self.flushes.wrote();
        self.flushes
            .sync_through(ticket, || {
                let db = self.db.clone();
                async move {
                    tokio::task::spawn_blocking(move || db.flush())
                        .await
                        .map_err(|e| {
                            SpoolError::Storage(sled::Error::ReportableBug(format!(
                                "spool flush task: {e}"
                            )))
                        })??;
                    Ok(())
                }
            })
            .await
    }

    /// Records a fetched job, or returns the existing record if the job is already spooled (a
    /// restarted device fetching it again must not start over).
    pub fn create_job(
        &self,
        printer: &str,
        job: u32,
        new: NewJob,
    ) -> Result<JobRecord, SpoolError> {
        let key = job_key(printer, job)?;
        self.write_record(printer, job, || {
            unwrap_tx((&self.jobs, &self.events).transaction(|(jobs, events)| {
                if let Some(bytes) = jobs.get(&key)? {
                    return decode(&key, &bytes).or_else(abort);
                }
                let now = Utc::now();
                let local = new.origin == JobOrigin::LocalIpp;
                let mut record = JobRecord {
                    printer: printer.to_string(),
                    job_id: job,
                    origin: new.origin,
                    state: PrintJobProcessingState::Pending,
                    reasons: vec![if local { "none" } else { "job-fetchable" }.into()],
                    name: new.name.clone(),
                    user: new.user.clone(),
                    configuration: new.configuration.clone(),
                    // A job accepted over IPP must not be lost from the moment it is answered.
                    acknowledged: local,
                    acknowledgement_answered: local,
                    final_report_answered: false,
                    document: None,
                    progress: Progress::default(),
                    outputs: Vec::new(),
                    created_at: now,
                    updated_at: now,
                    next_event: 0,
                };
                let (kind, detail) = if local {
                    ("received", "job received over IPP")
                } else {
                    ("fetched", "job fetched from the service")
                };
                log_event(events, &key, &mut record, kind, detail)?;
                jobs.insert(key.as_slice(), encode(&record))?;
                Ok(record)
            }))
        })
    }

    /// Notes that the service answered the job's final report: the job is no longer
    /// unfinished, so a restarted device does not report it again.
    pub fn note_final_report_answered(
        &self,
        printer: &str,
        job: u32,
    ) -> Result<JobRecord, SpoolError> {
        self.update(printer, job, FINAL_REPORT_ANSWERED, "", |r| {
            r.final_report_answered = true;
        })
    }

    /// Changes a job record and logs why, in one transaction.
    pub fn update(
        &self,
        printer: &str,
        job: u32,
        kind: &str,
        detail: &str,
        change: impl Fn(&mut JobRecord),
    ) -> Result<JobRecord, SpoolError> {
        let key = job_key(printer, job)?;
        self.write_record(printer, job, || {
            unwrap_tx((&self.jobs, &self.events).transaction(|(jobs, events)| {
                let mut record = read_record(jobs, &key, printer, job)?;
                change(&mut record);
                record.updated_at = Utc::now();
                log_event(events, &key, &mut record, kind, detail)?;
                jobs.insert(key.as_slice(), encode(&record))?;
                Ok(record)
            }))
        })
    }

    /// Starts (or, after a restart, keeps) the job's document; the returned record says how many
    /// bytes are already in, which is where a resumed download continues.
    pub fn begin_document(
        &self,
        printer: &str,
        job: u32,
        number: u32,
        format: &str,
        name: Option<&str>,
        expected_size: Option<u64>,
    ) -> Result<JobRecord, SpoolError> {
        let key = job_key(printer, job)?;
        self.announce(
            printer,
            job,
            unwrap_tx((&self.jobs, &self.events, &self.chunks).transaction(
                |(jobs, events, chunks)| {
                    let mut record = read_record(jobs, &key, printer, job)?;
                    if record.document.as_ref().is_some_and(|d| d.number == number) {
                        return Ok(record);
                    }
                    // A different document replaces the old bytes entirely.
                    if let Some(old) = &record.document {
                        let mut offset = 0;
                        for _ in 0..old.chunks {
                            let ckey = sub_key(&key, offset);
                            let Some(bytes) = chunks.remove(ckey)? else {
                                break;
                            };
                            offset += bytes.len() as u64;
                        }
                    }
                    record.document = Some(DocumentRecord {
                        number,
                        format: format.to_string(),
                        name: name.map(str::to_string),
                        expected_size,
                        bytes_received: 0,
                        chunks: 0,
                        sha256: None,
                        acknowledged: false,
                    });
                    record.updated_at = Utc::now();
                    log_event(
                        events,
                        &key,
                        &mut record,
                        "document",
                        &format!("document {number} ({format})"),
                    )?;
                    jobs.insert(key.as_slice(), encode(&record))?;
                    Ok(record)
                },
            )),
        )
    }

    /// Appends document bytes that start at `offset`; returns the document's new length. A chunk
    /// that does not continue the document exactly is refused, so a retried write cannot
    /// duplicate or skip bytes.
    pub fn append_chunk(
        &self,
        printer: &str,
        job: u32,
        offset: u64,
        bytes: &[u8],
    ) -> Result<u64, SpoolError> {
        let key = job_key(printer, job)?;
        self.announce(
            printer,
            job,
            unwrap_tx((&self.jobs, &self.chunks).transaction(|(jobs, chunks)| {
                let mut record = read_record(jobs, &key, printer, job)?;
                let Some(doc) = &mut record.document else {
                    return abort(SpoolError::NoDocument {
                        printer: printer.to_string(),
                        job,
                    });
                };
                if doc.sha256.is_some() {
                    return abort(SpoolError::DocumentComplete { job });
                }
                if doc.bytes_received != offset {
                    return abort(SpoolError::OffsetMismatch {
                        expected: doc.bytes_received,
                        got: offset,
                    });
                }
                if bytes.is_empty() {
                    return Ok(offset);
                }
                chunks.insert(sub_key(&key, offset), bytes)?;
                doc.bytes_received += bytes.len() as u64;
                doc.chunks += 1;
                let len = doc.bytes_received;
                jobs.insert(key.as_slice(), encode(&record))?;
                Ok(len)
            })),
        )
    }

    /// Marks the document complete and returns its SHA-256 (hex). A document shorter or longer
    /// than the size the service announced is refused: the download went wrong.
    pub fn complete_document(&self, printer: &str, job: u32) -> Result<String, SpoolError> {
        let record = self
            .job(printer, job)?
            .ok_or_else(|| SpoolError::NoSuchJob {
                printer: printer.to_string(),
                job,
            })?;
        let doc = record.document.ok_or_else(|| SpoolError::NoDocument {
            printer: printer.to_string(),
            job,
        })?;
        if let Some(expected) = doc.expected_size
            && expected != doc.bytes_received
        {
            return Err(SpoolError::SizeMismatch {
                expected,
                received: doc.bytes_received,
            });
        }
        let mut hasher = Sha256::new();
        for chunk in self.document_chunks(printer, job)? {
            hasher.update(&chunk?);
        }
        let digest = hex::encode(hasher.finalize());
        let detail = format!("document complete, sha256 {digest}");
        self.update(printer, job, "downloaded", &detail, |r| {
            if let Some(doc) = &mut r.document {
                doc.sha256 = Some(digest.clone());
            }
        })?;
        Ok(digest)
    }

    /// The document's chunks in order.
    pub fn document_chunks(
        &self,
        printer: &str,
        job: u32,
    ) -> Result<impl Iterator<Item = Result<sled::IVec, SpoolError>> + use<>, SpoolError> {
        let key = job_key(printer, job)?;
        Ok(self
            .chunks
            .scan_prefix(key)
            .map(|r| r.map(|(_, v)| v).map_err(SpoolError::from)))
    }

    /// The whole document in memory; for small documents and tests.
    pub fn document_bytes(&self, printer: &str, job: u32) -> Result<Vec<u8>, SpoolError> {
        let mut out = Vec::new();
        for chunk in self.document_chunks(printer, job)? {
            out.extend_from_slice(&chunk?);
        }
        Ok(out)
    }

    pub fn job(&self, printer: &str, job: u32) -> Result<Option<JobRecord>, SpoolError> {
        let key = job_key(printer, job)?;
        self.jobs
            .get(&key)?
            .map(|bytes| decode(&key, &bytes))
            .transpose()
    }

    /// Every job of every printer, ordered by printer then job id.
    /// The next id of the fleet's local sequence, for a job of a printer's own (IPP client or
    /// front panel), to create with [`Spool::create_job`]. The sequence is a counter in the
    /// spool, so an id is never given twice, across restarts too; a spool from before the
    /// counter starts it after its highest local job.
    pub fn next_local_job_id(&self) -> Result<u32, SpoolError> {
        const NEXT_LOCAL_JOB: &[u8] = b"next-local-job";
        let first = match self.identity.get(NEXT_LOCAL_JOB)? {
            Some(_) => *LOCAL_JOB_IDS.start(),
            None => (self.jobs()?.iter())
                .filter(|r| r.origin == JobOrigin::LocalIpp)
                .map(|r| r.job_id.saturating_add(1))
                .max()
                .unwrap_or(*LOCAL_JOB_IDS.start()),
        };
        let mut taken = None;
        self.identity.fetch_and_update(NEXT_LOCAL_JOB, |kept| {
            let id =
                (kept.and_then(|b| <[u8; 4]>::try_from(b).ok())).map_or(first, u32::from_be_bytes);
            taken = Some(id);
            Some(id.saturating_add(1).to_be_bytes().to_vec())
        })?;
        let id = taken.expect("fetch_and_update runs its closure");
        if !LOCAL_JOB_IDS.contains(&id) {
            return Err(SpoolError::LocalJobIdsUsedUp);
        }
        Ok(id)
    }

    pub fn jobs(&self) -> Result<Vec<JobRecord>, SpoolError> {
        self.jobs
            .iter()
            .map(|r| {
                let (k, v) = r?;
                decode(&k, &v)
            })
            .collect()
    }

    /// One printer's unfinished jobs ([`JobRecord::unfinished`]), in job id order; as long to
    /// read however many jobs the printer has printed before.
    pub fn unfinished_printer_jobs(&self, printer: &str) -> Result<Vec<JobRecord>, SpoolError> {
        let mut jobs = Vec::new();
        for job in self.unfinished.of(printer) {
            // One that was settled or removed between the two reads is left out.
            if let Some(record) = self.job(printer, job)?
                && record.unfinished()
            {
                jobs.push(record);
            }
        }
        Ok(jobs)
    }

    /// One printer's jobs, in job id order.
    pub fn printer_jobs(&self, printer: &str) -> Result<Vec<JobRecord>, SpoolError> {
        let mut prefix = job_key(printer, 0)?;
        prefix.truncate(printer.len() + 1);
        self.jobs
            .scan_prefix(prefix)
            .map(|r| {
                let (k, v) = r?;
                decode(&k, &v)
            })
            .collect()
    }

    pub fn events(&self, printer: &str, job: u32) -> Result<Vec<JobEvent>, SpoolError> {
        let key = job_key(printer, job)?;
        self.events
            .scan_prefix(&key)
            .map(|r| {
                let (k, v) = r?;
                decode(&k, &v)
            })
            .collect()
    }

    /// Removes a job with its document and events, all at once.
    pub fn remove_job(&self, printer: &str, job: u32) -> Result<bool, SpoolError> {
        let key = job_key(printer, job)?;
        let chunk_keys: Vec<_> = self
            .chunks
            .scan_prefix(&key)
            .keys()
            .collect::<Result<_, _>>()?;
        let event_keys: Vec<_> = self
            .events
            .scan_prefix(&key)
            .keys()
            .collect::<Result<_, _>>()?;
        let removed = self.unfinished.write(printer, job, || {
            let removed = unwrap_tx((&self.jobs, &self.chunks, &self.events).transaction(
                |(jobs, chunks, events)| {
                    for k in &chunk_keys {
                        chunks.remove(k)?;
                    }
                    for k in &event_keys {
                        events.remove(k)?;
                    }
                    Ok(jobs.remove(key.as_slice())?.is_some())
                },
            ))?;
            Ok((removed, false))
        });
        self.announce(printer, job, removed)
    }

    /// Removes every finished job (completed, canceled, aborted) last changed before `before`;
    /// returns the (printer, job) pairs removed.
    pub fn gc(&self, before: DateTime<Utc>) -> Result<Vec<(String, u32)>, SpoolError> {
        let mut removed = Vec::new();
        for record in self.jobs()? {
            if record.state.is_terminal() && record.updated_at < before {
                self.remove_job(&record.printer, record.job_id)?;
                removed.push((record.printer, record.job_id));
            }
        }
        Ok(removed)
    }

    pub fn put_identity(&self, printer: &str, identity: &DeviceIdentity) -> Result<(), SpoolError> {
        let key = job_key(printer, 0)?;
        self.identity
            .insert(&key[..printer.len()], encode(identity))?;
        Ok(())
    }

    pub fn identity(&self, printer: &str) -> Result<Option<DeviceIdentity>, SpoolError> {
        job_key(printer, 0)?;
        self.identity
            .get(printer.as_bytes())?
            .map(|bytes| decode(printer.as_bytes(), &bytes))
            .transpose()
    }

    /// Keeps what the printer's engine must remember across a restart (not flushed: the device
    /// flushes before it tells the service about the fault).
    pub fn put_fault_memory(&self, printer: &str, memory: &FaultMemory) -> Result<(), SpoolError> {
        job_key(printer, 0)?;
        self.faults.insert(printer.as_bytes(), encode(memory))?;
        Ok(())
    }

    pub fn fault_memory(&self, printer: &str) -> Result<Option<FaultMemory>, SpoolError> {
        job_key(printer, 0)?;
        self.faults
            .get(printer.as_bytes())?
            .map(|bytes| decode(printer.as_bytes(), &bytes))
            .transpose()
    }

    /// Checks that records, chunks and events agree; returns one line per inconsistency.
    pub fn verify(&self) -> Result<Vec<String>, SpoolError> {
        let mut problems = Vec::new();
        for entry in self.jobs.iter() {
            let (key, value) = entry?;
            let Some((printer, job)) = parse_job_key(&key) else {
                problems.push(format!("malformed job key {key:?}"));
                continue;
            };
            let record: JobRecord = match decode(&key, &value) {
                Ok(r) => r,
                Err(e) => {
                    problems.push(e.to_string());
                    continue;
                }
            };
            let name = format!("{printer}/{job}");
            let mut offset = 0u64;
            let mut count = 0u64;
            for chunk in self.chunks.scan_prefix(&key) {
                let (ck, cv) = chunk?;
                if ck[key.len()..] != offset.to_be_bytes() {
                    problems.push(format!(
                        "{name}: chunk key out of sequence at byte {offset}"
                    ));
                }
                offset += cv.len() as u64;
                count += 1;
            }
            let (received, chunks) = record
                .document
                .as_ref()
                .map_or((0, 0), |d| (d.bytes_received, d.chunks));
            if (offset, count) != (received, chunks) {
                problems.push(format!(
                    "{name}: record counts {received} bytes in {chunks} chunks, spool holds {offset} in {count}"
                ));
            }
            let seqs: Vec<u64> = self
                .events
                .scan_prefix(&key)
                .keys()
                .map(|k| {
                    k.map(|k| u64::from_be_bytes(k[key.len()..].try_into().unwrap_or_default()))
                })
                .collect::<Result<_, _>>()?;
            if seqs != (0..record.next_event).collect::<Vec<_>>() {
                problems.push(format!(
                    "{name}: event log has {} entries, record expects {}",
                    seqs.len(),
                    record.next_event
                ));
            }
        }
        for (tree, what) in [(&self.chunks, "chunk"), (&self.events, "event")] {
            for k in tree.iter().keys() {
                let k = k?;
                let owner = k.len().checked_sub(8).map(|n| &k[..n]);
                if owner.is_none_or(|o| !self.jobs.contains_key(o).unwrap_or(false)) {
                    problems.push(format!("orphan {what} {:?}", String::from_utf8_lossy(&k)));
                }
            }
        }
        Ok(problems)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spool() -> (tempfile::TempDir, Spool) {
        let dir = tempfile::tempdir().unwrap();
        let spool = Spool::open(dir.path()).unwrap();
        (dir, spool)
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn printers_flushing_at_once_each_keep_their_write() {
        let (dir, s) = spool();
        let writers: Vec<_> = (0..64)
            .map(|n| {
                let s = s.clone();
                tokio::spawn(async move {
                    let identity = DeviceIdentity {
                        private_key_pem: format!("key {n}"),
                        ..DeviceIdentity::default()
                    };
                    s.put_identity(&format!("P{n}"), &identity).unwrap();
                    s.flush_shared().await.unwrap();
                })
            })
            .collect();
        for w in writers {
            w.await.unwrap();
        }
        drop(s);
        let s = Spool::open(dir.path()).unwrap();
        for n in 0..64 {
            let identity = s.identity(&format!("P{n}")).unwrap().unwrap();
            assert_eq!(identity.private_key_pem, format!("key {n}"));
        }
    }

    #[test]
    fn a_document_streams_in_resumes_and_hashes() {
        let (_dir, s) = spool();
        s.create_job("Laser", 7, NewJob::default()).unwrap();
        assert!(matches!(
            s.append_chunk("Laser", 7, 0, b"x"),
            Err(SpoolError::NoDocument { .. })
        ));
        s.begin_document("Laser", 7, 1, "application/pdf", Some("a.pdf"), Some(11))
            .unwrap();
        assert_eq!(s.append_chunk("Laser", 7, 0, b"hello ").unwrap(), 6);
        assert!(matches!(
            s.append_chunk("Laser", 7, 0, b"hello "),
            Err(SpoolError::OffsetMismatch {
                expected: 6,
                got: 0
            })
        ));
        // A restart re-begins the same document and learns where to resume.
        let again = s
            .begin_document("Laser", 7, 1, "application/pdf", Some("a.pdf"), Some(11))
            .unwrap();
        assert_eq!(again.document.unwrap().bytes_received, 6);
        assert!(matches!(
            s.complete_document("Laser", 7),
            Err(SpoolError::SizeMismatch {
                expected: 11,
                received: 6
            })
        ));
        assert_eq!(s.append_chunk("Laser", 7, 6, b"world").unwrap(), 11);
        let sha = s.complete_document("Laser", 7).unwrap();
        assert_eq!(
            sha,
            "b94d27b9934d3e08a52e52d7da7dabfac484efe37a5380ee9088f7ace2efcde9"
        );
        assert!(matches!(
            s.append_chunk("Laser", 7, 11, b"!"),
            Err(SpoolError::DocumentComplete { job: 7 })
        ));
        assert_eq!(s.document_bytes("Laser", 7).unwrap(), b"hello world");
        let kinds: Vec<_> = s
            .events("Laser", 7)
            .unwrap()
            .into_iter()
            .map(|e| e.kind)
            .collect();
        assert_eq!(kinds, vec!["fetched", "document", "downloaded"]);
        assert_eq!(s.verify().unwrap(), Vec::<String>::new());
    }

    #[test]
    fn create_is_idempotent_and_jobs_sort_by_number_per_printer() {
        let (_dir, s) = spool();
        for job in [10, 9, 300] {
            s.create_job("A", job, NewJob::default()).unwrap();
        }
        s.create_job("AB", 1, NewJob::default()).unwrap();
        s.update("A", 9, "acknowledged", "", |r| r.acknowledged = true)
            .unwrap();
        let again = s
            .create_job(
                "A",
                9,
                NewJob {
                    name: Some("other".into()),
                    ..Default::default()
                },
            )
            .unwrap();
        assert!(again.acknowledged && again.name.is_none());
        let ids: Vec<_> = s
            .printer_jobs("A")
            .unwrap()
            .iter()
            .map(|r| r.job_id)
            .collect();
        assert_eq!(ids, vec![9, 10, 300]);
        assert_eq!(s.jobs().unwrap().len(), 4);
        assert!(matches!(
            s.update("A", 11, "x", "", |_| {}),
            Err(SpoolError::NoSuchJob { job: 11, .. })
        ));
        assert!(matches!(
            s.create_job("bad\0name", 1, NewJob::default()),
            Err(SpoolError::InvalidPrinterName(_))
        ));
    }

    #[test]
    fn unfinished_jobs_follow_every_write_and_a_reopening() {
        let (dir, s) = spool();
        for job in [1, 2, 3, 4, 5] {
            s.create_job("A", job, NewJob::default()).unwrap();
        }
        let local = NewJob {
            origin: JobOrigin::LocalIpp,
            ..NewJob::default()
        };
        s.create_job("A", 6, local).unwrap();
        s.create_job("AB", 1, NewJob::default()).unwrap();
        let unfinished = |s: &Spool, printer: &str| -> Vec<u32> {
            (s.unfinished_printer_jobs(printer).unwrap().iter())
                .map(|r| r.job_id)
                .collect()
        };
        assert_eq!(unfinished(&s, "A"), vec![1, 2, 3, 4, 5, 6]);
        for job in [2, 5, 6] {
            s.update("A", job, "completed", "", |r| {
                r.state = PrintJobProcessingState::Completed
            })
            .unwrap();
        }
        // Ended, but the service has not answered its final report: still the device's business.
        assert_eq!(unfinished(&s, "A"), vec![1, 2, 3, 4, 5]);
        s.note_final_report_answered("A", 2).unwrap();
        s.update("A", 3, "processing", "", |r| {
            r.state = PrintJobProcessingState::Processing
        })
        .unwrap();
        s.remove_job("A", 4).unwrap();
        // A refused write leaves the job as it was.
        assert!(s.update("A", 9, "completed", "", |_| {}).is_err());
        assert_eq!(unfinished(&s, "A"), vec![1, 3, 5]);
        assert_eq!(unfinished(&s, "AB"), vec![1]);
        drop(s);
        let s = Spool::open(dir.path()).unwrap();
        assert_eq!(unfinished(&s, "A"), vec![1, 3, 5]);
        assert_eq!(unfinished(&s, "AB"), vec![1]);
        assert_eq!(unfinished(&s, "B"), Vec::<u32>::new());
    }

    #[test]
    fn an_unreadable_record_is_named_by_printer_and_job() {
        let key = job_key("Lab", 7).unwrap();
        let named = |key: &[u8]| match decode::<JobRecord>(key, b"\xff") {
            Err(SpoolError::Corrupt { key, .. }) => key,
            other => panic!("{other:?}"),
        };
        assert_eq!(named(&key), "Lab/7");
        assert_eq!(named(&sub_key(&key, 3)), "Lab/7 #3");
    }

    /// Records written before they kept `final_report_answered` take it from their event log
    /// when the spool opens, once: the answered ones are written back with it.
    #[test]
    fn older_records_take_the_final_report_from_their_log() {
        let (dir, s) = spool();
        for job in [1, 2, 3] {
            s.create_job("A", job, NewJob::default()).unwrap();
            s.update("A", job, "completed", "", |r| {
                r.state = PrintJobProcessingState::Completed
            })
            .unwrap();
        }
        s.note_final_report_answered("A", 1).unwrap();
        s.note_final_report_answered("A", 3).unwrap();
        // Job 3 logged something after its answer: its log does not end with the answer, so it
        // is taken as unanswered and reported once more, as the log alone decided before.
        s.update("A", 3, "output-removed", "", |_| {}).unwrap();
        for job in [1, 2, 3] {
            let key = job_key("A", job).unwrap();
            let mut record: serde_json::Value =
                serde_json::from_slice(&s.jobs.get(&key).unwrap().unwrap()).unwrap();
            record
                .as_object_mut()
                .unwrap()
                .remove("final_report_answered");
            s.jobs
                .insert(key, serde_json::to_vec(&record).unwrap())
                .unwrap();
        }
        drop(s);
        let s = Spool::open(dir.path()).unwrap();
        let ids = |jobs: Vec<JobRecord>| jobs.iter().map(|r| r.job_id).collect::<Vec<_>>();
        assert_eq!(ids(s.unfinished_printer_jobs("A").unwrap()), vec![2, 3]);
        assert!(s.job("A", 1).unwrap().unwrap().final_report_answered);
        assert!(!s.job("A", 2).unwrap().unwrap().final_report_answered);
    }

    #[test]
    fn gc_removes_finished_jobs_with_their_bytes() {
        let (_dir, s) = spool();
        for job in [1, 2] {
            s.create_job("P", job, NewJob::default()).unwrap();
            s.begin_document("P", job, 1, "image/png", None, None)
                .unwrap();
            s.append_chunk("P", job, 0, &[job as u8; 100]).unwrap();
        }
        s.update("P", 1, "completed", "", |r| {
            r.state = PrintJobProcessingState::Completed
        })
        .unwrap();
        assert_eq!(
            s.gc(Utc::now() - chrono::Duration::hours(1)).unwrap(),
            vec![]
        );
        assert_eq!(s.gc(Utc::now()).unwrap(), vec![("P".to_string(), 1)]);
        assert!(s.job("P", 1).unwrap().is_none());
        assert!(s.events("P", 1).unwrap().is_empty());
        assert_eq!(s.document_bytes("P", 2).unwrap(), vec![2; 100]);
        assert_eq!(s.verify().unwrap(), Vec::<String>::new());
    }

    #[test]
    fn local_job_ids_follow_the_highest_local_job_and_are_never_given_twice() {
        let dir = tempfile::tempdir().unwrap();
        let local = || NewJob {
            origin: JobOrigin::LocalIpp,
            ..NewJob::default()
        };
        let first = *LOCAL_JOB_IDS.start();
        {
            let s = Spool::open(dir.path()).unwrap();
            // A spool from before the counter: its highest local job sets where ids go on.
            s.create_job("P", first + 6, local()).unwrap();
            s.create_job("P", 3, NewJob::default()).unwrap();
            assert_eq!(s.next_local_job_id().unwrap(), first + 7);
            assert_eq!(s.next_local_job_id().unwrap(), first + 8);
            s.flush().unwrap();
        }
        let s = Spool::open(dir.path()).unwrap();
        s.gc(Utc::now() + chrono::Duration::hours(1)).unwrap();
        assert_eq!(s.next_local_job_id().unwrap(), first + 9);
    }

    #[test]
    fn identity_survives_reopen_and_corruption_is_reported_not_panicked() {
        let dir = tempfile::tempdir().unwrap();
        let id = DeviceIdentity {
            device_id: Some("d-1".into()),
            private_key_pem: "KEY".into(),
            certificate_pem: None,
            access_token: Some("t".into()),
            refresh_token: None,
            token_expires_at: None,
            ..DeviceIdentity::default()
        };
        {
            let s = Spool::open(dir.path()).unwrap();
            s.put_identity("Laser", &id).unwrap();
            s.create_job("Laser", 1, NewJob::default()).unwrap();
            s.jobs
                .insert(job_key("Laser", 2).unwrap(), &b"{not json"[..])
                .unwrap();
            s.flush().unwrap();
        }
        let s = Spool::open(dir.path()).unwrap();
        assert_eq!(s.identity("Laser").unwrap(), Some(id));
        assert_eq!(s.identity("Other").unwrap(), None);
        assert!(!format!("{:?}", s.identity("Laser").unwrap()).contains("KEY"));
        assert!(matches!(s.job("Laser", 2), Err(SpoolError::Corrupt { .. })));
        assert_eq!(s.verify().unwrap().len(), 1);
    }

    #[test]
    fn fault_memory_survives_reopen() {
        use crate::engine::{Fault, Levels, SupplyLevel};
        let dir = tempfile::tempdir().unwrap();
        let jammed = FaultMemory {
            present: vec![Fault::MediaJam, Fault::CoverOpen],
            cover_opened: true,
            levels: Levels {
                trays: [("tray-1".to_string(), 3)].into(),
                supplies: [(
                    "Black Toner".to_string(),
                    SupplyLevel {
                        percent: 9,
                        sheets_into_percent: 2,
                    },
                )]
                .into(),
                media: [("tray-1".to_string(), "A5".to_string())].into(),
            },
        };
        {
            let s = Spool::open(dir.path()).unwrap();
            assert_eq!(s.fault_memory("Laser").unwrap(), None);
            s.put_fault_memory("Laser", &jammed).unwrap();
            s.flush().unwrap();
        }
        let s = Spool::open(dir.path()).unwrap();
        assert_eq!(s.fault_memory("Laser").unwrap(), Some(jammed));
        assert_eq!(s.fault_memory("Other").unwrap(), None);
        s.faults.insert("Bad", &b"[1"[..]).unwrap();
        assert!(matches!(
            s.fault_memory("Bad"),
            Err(SpoolError::Corrupt { .. })
        ));
    }
}
