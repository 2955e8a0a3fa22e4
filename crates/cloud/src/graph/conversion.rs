//! OXPS to PDF in the cloud, as Universal Print does for a printer that takes PDF but not OXPS.
//!
//! `release_job` leaves such a job `processing` / `transforming` and not fetchable, and hands it
//! here. The conversion reads the upload, runs `printlab_convert` on the blocking pool (it is
//! CPU-bound), stores the PDF as the document's rendition (the upload stays as the client sent
//! it: Graph keeps showing its size, type, SHA-256 and `$value`), and only then makes the job
//! fetchable, flushes and tells the devices. A package the converter refuses aborts the job with
//! the converter's reason in `status.description`.
//!
//! The job record is the only state: a conversion is wanted exactly while a job is
//! `transforming` and not fetchable. So a job canceled meanwhile stays canceled (the result is
//! dropped), and a cloud stopped or killed mid-conversion finds those jobs when it opens again
//! and converts them then; a rendition already stored for the document is used as it is, so a
//! document is converted once.

use super::jobs::DeviceNotice;
use crate::CloudState;
use crate::store::{JobRecord, StoreError};
use crate::upload::UploadStoreError;
use printlab_graph::{PrintJobProcessingState, PrintJobStateDetail, PrintJobStatus};
use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, Weak};
use tokio::task::JoinHandle;
use tracing::Instrument;

const PDF: &str = "application/pdf";

/// Why a conversion stopped short of an end state for its job; the job stays `transforming`
/// and is converted again when the cloud next opens.
#[derive(Debug, thiserror::Error)]
enum ConversionError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Upload(#[from] UploadStoreError),
    #[error("the conversion task failed: {0}")]
    Task(String),
    #[error("the cloud stopped")]
    Stopped,
}

/// Whether a job waits for the cloud to convert its document.
pub(super) fn awaits_conversion(job: &JobRecord) -> bool {
    job.job.status.state == PrintJobProcessingState::Processing
        && job
            .job
            .status
            .details
            .contains(&PrintJobStateDetail::Transforming)
        && !job.job.is_fetchable
}

/// The conversions running now, one per job. They are stopped with the cloud, so that a
/// stopped cloud holds no handle on its store and can be opened again at once; what they had
/// not finished is found again by [`resume`].
#[derive(Default)]
pub(crate) struct Conversions {
    running: Mutex<HashMap<(String, String), JoinHandle<()>>>,
    resumed: AtomicBool,
}

impl Conversions {
    /// Aborts every running conversion and waits until each has let go of the cloud's state.
    /// The blocking converter itself runs on to its end, holding only the document's bytes.
    pub(crate) async fn stop_all(&self) {
        let running: Vec<_> = self
            .running
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .drain()
            .map(|(_, handle)| handle)
            .collect();
        for handle in running {
            handle.abort();
            let _ = handle.await;
        }
        self.resumed.store(false, Ordering::SeqCst);
    }
}

/// Starts converting a job's document unless that job is already being converted. Needs a
/// tokio runtime.
pub(super) fn start(state: &Arc<CloudState>, printer_id: &str, job_id: &str) {
    let key = (printer_id.to_string(), job_id.to_string());
    let mut running = state
        .conversions
        .running
        .lock()
        .unwrap_or_else(|p| p.into_inner());
    if running.get(&key).is_some_and(|h| !h.is_finished()) {
        return;
    }
    let span = tracing::info_span!("oxps_to_pdf", printer = %printer_id, job = %job_id);
    // Only a weak reference while converting: a long conversion must not keep a dropped cloud
    // (and its store) alive.
    let weak = Arc::downgrade(state);
    let task_key = key.clone();
    let handle = tokio::spawn(
        async move {
            if let Err(e) = convert(&weak, &task_key.0, &task_key.1).await {
                tracing::error!(error = %e, "OXPS conversion did not finish; it runs again when the cloud opens");
            }
            if let Some(state) = weak.upgrade() {
                // The handle under this key is this task's own: `start` adds none while it runs.
                state
                    .conversions
                    .running
                    .lock()
                    .unwrap_or_else(|p| p.into_inner())
                    .remove(&task_key);
            }
        }
        .instrument(span),
    );
    running.insert(key, handle);
}

/// Starts the conversions a stopped or killed cloud left unfinished, once per opening; gives
/// how many. Needs a tokio runtime.
pub(crate) fn resume(state: &Arc<CloudState>) -> Result<usize, StoreError> {
    if state.conversions.resumed.swap(true, Ordering::SeqCst) {
        return Ok(0);
    }
    let mut started = 0;
    for printer in state.store.printers()? {
        for job in state.store.jobs_of(&printer.printer.id)? {
            if awaits_conversion(&job) {
                start(state, &job.printer_id, &job.job.id);
                started += 1;
            }
        }
    }
    if started > 0 {
        tracing::info!(jobs = started, "resuming OXPS conversions left unfinished");
    }
    Ok(started)
}

fn upgrade(state: &Weak<CloudState>) -> Result<Arc<CloudState>, ConversionError> {
    state.upgrade().ok_or(ConversionError::Stopped)
}

async fn convert(
    weak: &Weak<CloudState>,
    printer_id: &str,
    job_id: &str,
) -> Result<(), ConversionError> {
    let number: u64 = job_id
        .parse()
        .expect("job ids are always decimal numbers the cloud assigned");
    let (document_id, blob, package) = {
        let state = upgrade(weak)?;
        let Some(job) = state.store.job(printer_id, number)? else {
            return Ok(());
        };
        if !awaits_conversion(&job) {
            return Ok(());
        }
        let document_id = job.document.id.clone();
        if state.uploads.rendition(&document_id)?.is_some() {
            tracing::info!("the document was converted before the cloud stopped");
            return make_fetchable(&state, printer_id, number).await;
        }
        match state.uploads.document_bytes(&document_id).await {
            Ok((blob, bytes)) => (document_id, blob, bytes),
            Err(e) => {
                let reason = format!("The uploaded document cannot be read: {}", e.message);
                return abort(&state, printer_id, number, reason).await;
            }
        }
    };
    let span = tracing::Span::current();
    let size = package.len();
    let converted = tokio::task::spawn_blocking(move || {
        let _entered = span.enter();
        printlab_convert::xps_to_pdf(&package, &printlab_convert::Limits::default())
    })
    .await
    .map_err(|e| ConversionError::Task(e.to_string()))?;
    let state = upgrade(weak)?;
    match converted {
        Ok(pdf) => {
            if !still_awaits(&state, printer_id, number)? {
                tracing::info!("the job left `transforming` while converting; the PDF is dropped");
                return Ok(());
            }
            tracing::info!(
                oxps_bytes = size,
                pdf_bytes = pdf.bytes.len(),
                pages = pdf.pages,
                "converted OXPS to PDF"
            );
            state
                .uploads
                .store_rendition(&document_id, blob, PDF, pdf.bytes)
                .await?;
            make_fetchable(&state, printer_id, number).await
        }
        Err(e) => {
            tracing::warn!(error = %e, "the OXPS document cannot be converted");
            let reason = format!("The document could not be converted from OpenXPS to PDF: {e}");
            abort(&state, printer_id, number, reason).await
        }
    }
}

fn still_awaits(state: &CloudState, printer_id: &str, number: u64) -> Result<bool, StoreError> {
    Ok(state
        .store
        .job(printer_id, number)?
        .is_some_and(|j| awaits_conversion(&j)))
}

/// The PDF is stored: the job becomes what `release_job` makes of any other job, fetchable and
/// `interpreting`, flushed, then announced.
async fn make_fetchable(
    state: &Arc<CloudState>,
    printer_id: &str,
    number: u64,
) -> Result<(), ConversionError> {
    let notice = {
        let _guard = state.write_lock();
        let Some(mut job) = state.store.job(printer_id, number)? else {
            return Ok(());
        };
        if !awaits_conversion(&job) {
            return Ok(());
        }
        job.job.status = PrintJobStatus {
            state: PrintJobProcessingState::Processing,
            details: vec![PrintJobStateDetail::Interpreting],
            description: "The print job is currently being processed.".into(),
            is_acquired_by_printer: false,
        };
        job.job.is_fetchable = true;
        state.store.put_job(&job)?;
        DeviceNotice::Fetchable {
            printer_id: job.printer_id.clone(),
            job_id: job.job.id.clone(),
        }
    };
    state.store.flush().await?;
    state.notify_devices(notice);
    tracing::info!("job fetchable as PDF");
    Ok(())
}

/// The document cannot be converted: the job ends `aborted` saying why. No device was ever told
/// of it (it was never fetchable), so there is nothing to announce.
async fn abort(
    state: &Arc<CloudState>,
    printer_id: &str,
    number: u64,
    description: String,
) -> Result<(), ConversionError> {
    {
        let _guard = state.write_lock();
        let Some(mut job) = state.store.job(printer_id, number)? else {
            return Ok(());
        };
        if !awaits_conversion(&job) {
            return Ok(());
        }
        job.job.status = PrintJobStatus {
            state: PrintJobProcessingState::Aborted,
            details: Vec::new(),
            description,
            is_acquired_by_printer: false,
        };
        job.job.is_fetchable = false;
        state.store.put_job(&job)?;
    }
    state.store.flush().await?;
    Ok(())
}
