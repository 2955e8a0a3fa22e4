//! The cloud's state in sled: one tree per resource, each record a self-contained JSON value
//! written in one insert and flushed before the caller hears about it (sled has had reports of
//! losing unflushed writes on an unclean stop, so nothing is acknowledged from memory).

use crate::changes::{ChangeFeed, CloudChange};
use crate::metrics::CloudMetrics;
use chrono::{DateTime, Utc};
use printlab_datadir::{GroupSync, UnfinishedJobs};
use printlab_graph::GraphEnum;
use printlab_graph::{
    PrintDocument, PrintJob, PrintJobConfiguration, PrintJobProcessingState, PrintJobStateDetail,
    PrintJobStatus, PrintOperationStatus, Printer, PrinterCapabilities, PrinterDefaults,
    PrinterLocation, PrinterStatus, UserIdentity,
};
use serde::{Deserialize, Serialize, de::DeserializeOwned};
use std::sync::Arc;

/// What a new printer is, whichever door it came in by.
pub(crate) struct NewPrinter {
    pub id: String,
    pub display_name: String,
    pub manufacturer: String,
    pub model: String,
    pub physical_device_id: Option<String>,
    pub has_physical_device: bool,
    pub registered_by: String,
    pub registered: DateTime<Utc>,
    /// Where the printer stands, when the registration said so; an administrator's PATCH
    /// changes it later.
    pub location: Option<PrinterLocation>,
}

/// Why the store failed.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("sled: {0}")]
    Sled(#[from] sled::Error),
    #[error("corrupt record in tree `{tree}`: {source}")]
    Corrupt {
        tree: &'static str,
        source: serde_json::Error,
    },
}

/// A registered printer with what only the cloud knows about it.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct PrinterRecord {
    /// `capabilities` and `defaults` are always present here; routes decide what to show.
    pub printer: Printer,
    /// What `restoreFactoryDefaults` brings back.
    pub factory_defaults: PrinterDefaults,
    /// The user or app that registered it (application PATCH is limited to it).
    pub registered_by: String,
    pub physical_device_id: Option<String>,
    /// What the printer's output device told the INFRA service (absent in records written
    /// before the device side kept its state here).
    #[serde(default)]
    pub device: DeviceRecord,
}

/// The device side of a printer: kept on the printer's own record so that one write updates
/// both what Get-Output-Device-Attributes returns and the Graph view derived from it.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct DeviceRecord {
    /// The device attributes as sent (printer group of an IPP message, base64 of RFC 8010
    /// bytes), so values without a Graph counterpart survive unchanged.
    pub attributes_ipp: Option<String>,
    pub output_device_uuid: Option<String>,
}

/// An INFRA proxy's HTTP Basic credential for `/ipp/print/{name}`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ProxyRecord {
    pub name: String,
    pub printer_id: String,
    pub username: String,
    /// SHA-256 of the password, hex: the store never holds the secret itself.
    pub password_sha256: String,
}

/// A user's IPP credential (HTTP Basic), issued by `Infra::issue_user_credential` for IPP
/// clients that cannot send a bearer token (CUPS 2.4's ipptool).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct IppUserRecord {
    pub username: String,
    /// The Graph user the jobs it creates belong to.
    pub user_id: String,
    pub upn: String,
    /// SHA-256 of the password, hex.
    pub password_sha256: String,
}

/// A printer share: its own fields plus the printer it points at.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ShareRecord {
    pub id: String,
    pub display_name: String,
    pub allow_all_users: bool,
    pub created_date_time: DateTime<Utc>,
    pub printer_id: String,
    /// Object ids of the users allowed when `allow_all_users` is false.
    pub allowed_users: Vec<String>,
}

/// A job with its one document and who owns it.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct JobRecord {
    pub printer_id: String,
    /// The job as Graph shows it, `documents`/`tasks` left out.
    pub job: PrintJob,
    pub document: PrintDocument,
    pub owner_id: String,
    /// Set once every byte of the document is stored.
    #[serde(default)]
    pub document_stored: bool,
    /// The content type the client declared in createUploadSession.
    pub declared_content_type: Option<String>,
    /// What the device side did with the job; fetchability, `printJobStatus` and
    /// `acknowledgedDateTime` live in `job` itself.
    #[serde(default)]
    pub device: JobDeviceRecord,
}

impl JobRecord {
    /// A job just created, `paused` with `uploadPending` until its document is stored: what
    /// Graph's create-job and an IPP client's Create-Job or Print-Job both begin with.
    pub fn awaiting_document(
        printer_id: &str,
        number: u64,
        owner: &UserIdentity,
        configuration: PrintJobConfiguration,
        document_name: &str,
    ) -> Self {
        Self {
            printer_id: printer_id.to_owned(),
            job: PrintJob {
                id: number.to_string(),
                created_date_time: Utc::now(),
                created_by: Some(owner.clone()),
                configuration,
                status: PrintJobStatus {
                    state: PrintJobProcessingState::Paused,
                    details: vec![PrintJobStateDetail::UploadPending],
                    description: "The job is not a candidate for processing yet.".into(),
                    is_acquired_by_printer: false,
                },
                is_fetchable: false,
                redirected_from: None,
                redirected_to: None,
                error_code: None,
                acknowledged_date_time: None,
                documents: None,
                tasks: None,
            },
            document: PrintDocument {
                id: uuid::Uuid::new_v4().to_string(),
                display_name: Some(document_name.to_owned()),
                content_type: Some(String::new()),
                size: 0,
                uploaded_date_time: None,
                downloaded_date_time: None,
            },
            owner_id: owner.id.clone().unwrap_or_default(),
            document_stored: false,
            declared_content_type: None,
            device: JobDeviceRecord::default(),
        }
    }
}

/// The device-side progress of one job.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct JobDeviceRecord {
    pub acknowledged: bool,
    pub document_acknowledged: bool,
    /// IPP `output-device-document-state`, as last reported.
    pub document_state: Option<i32>,
    pub impressions_completed: Option<i32>,
    pub media_sheets_completed: Option<i32>,
}

/// A `printerCreateOperation`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct OperationRecord {
    pub id: String,
    pub created_date_time: DateTime<Utc>,
    pub status: PrintOperationStatus,
    pub certificate: Option<String>,
    pub printer_id: Option<String>,
    pub created_by: String,
}

#[derive(Clone)]
pub struct Store {
    db: sled::Db,
    /// Printers and jobs written, announced once a flush made them durable.
    changes: ChangeFeed,
    printers: sled::Tree,
    shares: sled::Tree,
    jobs: sled::Tree,
    operations: sled::Tree,
    meta: sled::Tree,
    proxies: sled::Tree,
    ipp_users: sled::Tree,
    /// Job number → printer id, so the device side can tell "another printer's job" from
    /// "no such job" without scanning every printer.
    job_printers: sled::Tree,
    /// Jobs by state and flush times ([`Store::open_with_metrics`]).
    metrics: CloudMetrics,
    /// One flush at a time, shared by every request waiting when it starts.
    flushes: Arc<GroupSync>,
    /// Each printer's jobs that have not ended, for the questions asked on every job's path.
    unfinished: Arc<UnfinishedJobs<u64>>,
}

/// Job keys sort by printer, then by job number, so a printer's jobs are one prefix scan in
/// creation order.
fn job_key(printer_id: &str, job_id: u64) -> Vec<u8> {
    let mut key = printer_id.as_bytes().to_vec();
    key.push(b'/');
    key.extend_from_slice(&job_id.to_be_bytes());
    key
}

/// A job's Graph state as its wire name (`processing`), the label of the jobs gauge.
fn job_state(record: &JobRecord) -> &'static str {
    record.job.status.state.as_str()
}

/// The head of a stored job record, read without building the record: the jobs gauge needs its
/// state on every job write (the record being replaced), and the gauge and the unfinished-jobs
/// index need every job's at opening (one pass); the rest of the record (document,
/// configuration, history) is skipped, not allocated.
#[derive(Deserialize)]
struct StoredJobHead {
    printer_id: String,
    job: StoredJob,
}

#[derive(Deserialize)]
struct StoredJob {
    id: String,
    status: StoredStatus,
}

#[derive(Deserialize)]
struct StoredStatus {
    state: PrintJobProcessingState,
}

impl StoredJobHead {
    fn read(bytes: &[u8]) -> Result<Self, StoreError> {
        decode("jobs", bytes)
    }

    /// (printer id, job number, whether the job is unfinished), as the index takes it.
    fn index_entry(self) -> Option<(String, u64, bool)> {
        let number = self.job.id.parse().ok()?;
        let unfinished = !self.job.status.state.is_terminal();
        Some((self.printer_id, number, unfinished))
    }
}

fn decode<T: DeserializeOwned>(tree: &'static str, bytes: &[u8]) -> Result<T, StoreError> {
    serde_json::from_slice(bytes).map_err(|source| StoreError::Corrupt { tree, source })
}

fn encode<T: Serialize>(value: &T) -> Vec<u8> {
    serde_json::to_vec(value).expect("store records always serialise")
}

impl Store {
    /// The store, recording into metrics nobody scrapes.
    pub fn open(db: &sled::Db) -> Result<Self, StoreError> {
        Self::open_with_metrics(db, CloudMetrics::default())
    }

    /// The store recording into `metrics`: the jobs-by-state gauge starts from the jobs already
    /// stored (counted in the same pass that builds the unfinished-jobs index), then follows
    /// every [`Store::put_job`].
    pub(crate) fn open_with_metrics(
        db: &sled::Db,
        metrics: CloudMetrics,
    ) -> Result<Self, StoreError> {
        let jobs = db.open_tree("jobs")?;
        let mut entries = Vec::new();
        for record in jobs.iter().values() {
            let head = StoredJobHead::read(&record?)?;
            metrics.job_moved(None, Some(head.job.status.state.as_str()));
            entries.extend(head.index_entry());
        }
        Ok(Self {
            db: db.clone(),
            changes: ChangeFeed::default(),
            printers: db.open_tree("printers")?,
            shares: db.open_tree("shares")?,
            jobs,
            operations: db.open_tree("operations")?,
            meta: db.open_tree("meta")?,
            proxies: db.open_tree("proxies")?,
            ipp_users: db.open_tree("ipp-users")?,
            job_printers: db.open_tree("job-printers")?,
            metrics,
            flushes: Arc::default(),
            unfinished: Arc::new(UnfinishedJobs::from_jobs(entries)),
        })
    }

    /// Makes every write so far durable; called before any response that acknowledges one.
    ///
    /// A group commit (`printlab_datadir::GroupSync`): requests arriving together share one flush, so a
    /// burst (ten thousand devices registering) costs one blocking thread flushing at a time,
    /// not one per request, all waiting on the same log (524 threads before, for 10,000).
    ///
    /// Not sled's `flush_async`: concurrent callers can wait forever (spacejam/sled #1241,
    /// #1308). It parks each waiting flush on one of sled's own IO threads, and once about seven
    /// requests flush at the same moment every IO thread waits for a log write that only an IO
    /// thread can do (twenty devices registering at once were enough). The group's one blocking
    /// flush runs on tokio's blocking pool and holds none of sled's threads.
    ///
    /// The printers and jobs written before it are announced on [`Store::changes`] once it
    /// returns (taken before flushing: what is written meanwhile waits for the next flush).
    pub async fn flush(&self) -> Result<(), StoreError> {
        let written = self.changes.take_unflushed();
        let ticket = self.flushes.wrote();
        self.flushes
            .sync_through(ticket, || async {
                let db = self.db.clone();
                let timer = self.metrics.store_flush.start_timer();
                tokio::task::spawn_blocking(move || {
                    let flushed = db.flush();
                    timer.observe_duration();
                    flushed
                })
                .await
                .map_err(|e| {
                    StoreError::Sled(sled::Error::ReportableBug(format!("flush task: {e}")))
                })??;
                Ok::<(), StoreError>(())
            })
            .await?;
        self.changes.announce(written);
        Ok(())
    }

    /// [`Store::flush`] for a caller that may block (the upload engine's completion).
    pub fn flush_blocking(&self) -> Result<(), StoreError> {
        let written = self.changes.take_unflushed();
        let timer = self.metrics.store_flush.start_timer();
        self.db.flush()?;
        timer.observe_duration();
        self.changes.announce(written);
        Ok(())
    }

    /// The feed of printers and jobs written and flushed, and of upload progress.
    pub fn changes(&self) -> &ChangeFeed {
        &self.changes
    }

    /// A tree owned by one service of the cloud (its records are its own business).
    pub fn tree(&self, name: &str) -> Result<sled::Tree, StoreError> {
        Ok(self.db.open_tree(name)?)
    }

    pub fn meta(&self, key: &str) -> Result<Option<Vec<u8>>, StoreError> {
        Ok(self.meta.get(key)?.map(|v| v.to_vec()))
    }

    pub fn set_meta(&self, key: &str, value: &[u8]) -> Result<(), StoreError> {
        self.meta.insert(key, value)?;
        Ok(())
    }

    /// The next job number: persisted in sled so numbers never repeat across restarts.
    pub fn next_job_number(&self) -> Result<u64, StoreError> {
        let next = self.meta.update_and_fetch("job-counter", |old| {
            let n = old
                .and_then(|b| <[u8; 8]>::try_from(b).ok())
                .map(u64::from_be_bytes)
                .unwrap_or(0);
            Some((n + 1).to_be_bytes().to_vec())
        })?;
        let bytes = next.expect("update_and_fetch always stores a value");
        Ok(u64::from_be_bytes(
            <[u8; 8]>::try_from(bytes.as_ref()).expect("the counter is 8 bytes"),
        ))
    }

    pub fn printer(&self, id: &str) -> Result<Option<PrinterRecord>, StoreError> {
        self.printers
            .get(id)?
            .map(|b| decode("printers", &b))
            .transpose()
    }

    /// Whether the printer exists, without decoding its record.
    pub fn has_printer(&self, id: &str) -> Result<bool, StoreError> {
        Ok(self.printers.contains_key(id)?)
    }

    pub fn printers(&self) -> Result<Vec<PrinterRecord>, StoreError> {
        let mut all: Vec<PrinterRecord> = self
            .printers
            .iter()
            .values()
            .map(|b| decode("printers", &b?))
            .collect::<Result<_, _>>()?;
        all.sort_by_key(|p| p.printer.registered_date_time);
        Ok(all)
    }

    /// Writes a new printer's record, the one way printers come to exist (`printers/create` and
    /// the registration service). The caller flushes the store before answering.
    pub(crate) fn add_printer(&self, new: NewPrinter) -> Result<PrinterRecord, StoreError> {
        let record = PrinterRecord {
            printer: Printer {
                id: new.id,
                display_name: new.display_name,
                manufacturer: Some(new.manufacturer),
                model: Some(new.model),
                is_accepting_jobs: None,
                status: PrinterStatus::default(),
                capabilities: Some(PrinterCapabilities::default()),
                defaults: Some(PrinterDefaults::default()),
                location: new.location,
                has_physical_device: new.has_physical_device,
                is_shared: false,
                last_seen_date_time: None,
                registered_date_time: new.registered,
            },
            factory_defaults: PrinterDefaults::default(),
            registered_by: new.registered_by,
            physical_device_id: new.physical_device_id,
            device: Default::default(),
        };
        self.put_printer(&record)?;
        tracing::info!(printer = %record.printer.id, name = %record.printer.display_name, "printer registered");
        Ok(record)
    }

    pub fn put_printer(&self, record: &PrinterRecord) -> Result<(), StoreError> {
        self.printers
            .insert(record.printer.id.as_bytes(), encode(record))?;
        self.changes.wrote(CloudChange::Printer {
            printer_id: record.printer.id.clone(),
        });
        Ok(())
    }

    pub fn delete_printer(&self, id: &str) -> Result<bool, StoreError> {
        Ok(self.printers.remove(id)?.is_some())
    }

    pub fn share(&self, id: &str) -> Result<Option<ShareRecord>, StoreError> {
        self.shares
            .get(id)?
            .map(|b| decode("shares", &b))
            .transpose()
    }

    pub fn shares(&self) -> Result<Vec<ShareRecord>, StoreError> {
        let mut all: Vec<ShareRecord> = self
            .shares
            .iter()
            .values()
            .map(|b| decode("shares", &b?))
            .collect::<Result<_, _>>()?;
        all.sort_by_key(|s| s.created_date_time);
        Ok(all)
    }

    pub fn put_share(&self, record: &ShareRecord) -> Result<(), StoreError> {
        self.shares.insert(record.id.as_bytes(), encode(record))?;
        Ok(())
    }

    pub fn delete_share(&self, id: &str) -> Result<bool, StoreError> {
        Ok(self.shares.remove(id)?.is_some())
    }

    pub fn job(&self, printer_id: &str, job_id: u64) -> Result<Option<JobRecord>, StoreError> {
        self.jobs
            .get(job_key(printer_id, job_id))?
            .map(|b| decode("jobs", &b))
            .transpose()
    }

    /// A printer's jobs that have not ended (completed, canceled, aborted), in creation order;
    /// as long to read however many jobs the printer has printed before.
    pub fn unfinished_jobs_of(&self, printer_id: &str) -> Result<Vec<JobRecord>, StoreError> {
        let mut jobs = Vec::new();
        for number in self.unfinished.of(printer_id) {
            // One that ended between the two reads is left out.
            if let Some(job) = self.job(printer_id, number)?
                && !job.job.status.state.is_terminal()
            {
                jobs.push(job);
            }
        }
        Ok(jobs)
    }

    /// A printer's jobs in creation order.
    pub fn jobs_of(&self, printer_id: &str) -> Result<Vec<JobRecord>, StoreError> {
        let mut prefix = printer_id.as_bytes().to_vec();
        prefix.push(b'/');
        self.jobs
            .scan_prefix(prefix)
            .values()
            .map(|b| decode("jobs", &b?))
            .collect()
    }

    pub fn put_job(&self, record: &JobRecord) -> Result<(), StoreError> {
        let number: u64 = record
            .job
            .id
            .parse()
            .expect("job ids are always decimal numbers the cloud assigned");
        let unfinished = !record.job.status.state.is_terminal();
        let before = self.unfinished.write(&record.printer_id, number, || {
            let before = self
                .jobs
                .insert(job_key(&record.printer_id, number), encode(record))?;
            Ok::<_, StoreError>((before, unfinished))
        })?;
        let before = match before {
            Some(bytes) => Some(StoredJobHead::read(&bytes)?.job.status.state.as_str()),
            None => None,
        };
        self.metrics.job_moved(before, Some(job_state(record)));
        self.job_printers
            .insert(number.to_be_bytes(), record.printer_id.as_bytes())?;
        self.changes.wrote(CloudChange::Job {
            printer_id: record.printer_id.clone(),
            job_id: number,
        });
        Ok(())
    }

    /// The printer a job number belongs to, whichever printer that is.
    pub fn printer_of_job(&self, job_id: u64) -> Result<Option<String>, StoreError> {
        Ok(self
            .job_printers
            .get(job_id.to_be_bytes())?
            .map(|v| String::from_utf8_lossy(&v).into_owned()))
    }

    pub fn proxy(&self, name: &str) -> Result<Option<ProxyRecord>, StoreError> {
        self.proxies
            .get(name)?
            .map(|b| decode("proxies", &b))
            .transpose()
    }

    /// Every proxy credential, by name.
    pub fn ipp_user(&self, username: &str) -> Result<Option<IppUserRecord>, StoreError> {
        self.ipp_users
            .get(username.as_bytes())?
            .map(|b| decode("ipp-users", &b))
            .transpose()
    }

    /// Adds or replaces a user's IPP credential (a new one withdraws the old password).
    pub fn put_ipp_user(&self, record: &IppUserRecord) -> Result<(), StoreError> {
        self.ipp_users
            .insert(record.username.as_bytes(), encode(record))?;
        Ok(())
    }

    pub fn proxies(&self) -> Result<Vec<ProxyRecord>, StoreError> {
        self.proxies
            .iter()
            .values()
            .map(|b| decode("proxies", &b?))
            .collect()
    }

    /// Removes every proxy credential of a printer (it was deleted); returns how many.
    pub fn delete_proxies_of(&self, printer_id: &str) -> Result<usize, StoreError> {
        let mut removed = 0;
        for proxy in self.proxies()? {
            if proxy.printer_id == printer_id {
                self.proxies.remove(proxy.name.as_bytes())?;
                removed += 1;
            }
        }
        Ok(removed)
    }

    /// Stores the credential unless the name is taken; returns whether it was stored.
    pub fn insert_proxy(&self, record: &ProxyRecord) -> Result<bool, StoreError> {
        Ok(self
            .proxies
            .compare_and_swap(
                record.name.as_bytes(),
                None as Option<&[u8]>,
                Some(encode(record)),
            )?
            .is_ok())
    }

    pub fn operation(&self, id: &str) -> Result<Option<OperationRecord>, StoreError> {
        self.operations
            .get(id)?
            .map(|b| decode("operations", &b))
            .transpose()
    }

    /// Every operation, oldest first.
    pub fn operations(&self) -> Result<Vec<OperationRecord>, StoreError> {
        let mut all: Vec<OperationRecord> = self
            .operations
            .iter()
            .values()
            .map(|b| decode("operations", &b?))
            .collect::<Result<_, _>>()?;
        all.sort_by_key(|o| o.created_date_time);
        Ok(all)
    }

    pub fn put_operation(&self, record: &OperationRecord) -> Result<(), StoreError> {
        self.operations
            .insert(record.id.as_bytes(), encode(record))?;
        Ok(())
    }
}

/// Every store failure reaches the client as a 500 OData error saying what broke.
impl From<StoreError> for super::odata::GraphError {
    fn from(e: StoreError) -> Self {
        Self::internal(format!("The print store failed: {e}"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unfinished_jobs_follow_every_write_and_a_reopening() {
        let dir = tempfile::tempdir().unwrap();
        let db = sled::open(dir.path()).unwrap();
        let store = Store::open(&db).unwrap();
        let owner = UserIdentity::default();
        let job = |printer: &str, number| {
            JobRecord::awaiting_document(printer, number, &owner, Default::default(), "a.pdf")
        };
        for (printer, number) in [("p", 1), ("p", 2), ("p", 3), ("q", 4)] {
            store.put_job(&job(printer, number)).unwrap();
        }
        let mut ended = job("p", 2);
        ended.job.status.state = PrintJobProcessingState::Completed;
        store.put_job(&ended).unwrap();
        let mut printing = job("p", 3);
        printing.job.status.state = PrintJobProcessingState::Processing;
        store.put_job(&printing).unwrap();
        let unfinished = |store: &Store, printer: &str| -> Vec<String> {
            (store.unfinished_jobs_of(printer).unwrap().into_iter())
                .map(|j| j.job.id)
                .collect()
        };
        assert_eq!(unfinished(&store, "p"), ["1", "3"]);
        assert_eq!(unfinished(&store, "q"), ["4"]);
        drop(store);
        drop(db);
        let db = sled::open(dir.path()).unwrap();
        let store = Store::open(&db).unwrap();
        assert_eq!(unfinished(&store, "p"), ["1", "3"]);
        assert_eq!(unfinished(&store, "q"), ["4"]);
        assert_eq!(store.jobs_of("p").unwrap().len(), 3);
    }
}
