//! The control API's live stream, `GET /control/events`: server-sent events carrying every
//! printer's snapshot and every spooled job, then each change as it happens. It is what a
//! dashboard shows, with no polling: printers publish their snapshots on watch channels, and the
//! spool announces each committed job change ([`Spool::watch_jobs`]), which is read back from
//! the spool, so what the stream says is what was written.

use super::printer_handle::{PrinterHandle, PrinterSnapshot};
use crate::spool::{JobChange, JobOrigin, JobRecord, Spool};
use axum::response::sse::{Event, KeepAlive, Sse};
use chrono::{DateTime, Utc};
use futures::stream::{self, Stream, StreamExt};
use printlab_graph::{PrintJobConfiguration, PrintJobProcessingState};
use serde::Serialize;
use std::convert::Infallible;
use std::path::Path;
use tokio::sync::broadcast::error::RecvError;

/// Spool event kinds that are progress, not transitions: one per sheet, shown as a count.
const PROGRESS_KINDS: [&str; 1] = ["sheet"];

/// A job for people: what the printer does with it, what came out, and when each step happened.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct JobView {
    pub printer: String,
    pub job_id: u32,
    /// `service` (fetched from the service) or `localIpp` (sent to the printer's own IPP
    /// Everywhere endpoint; the id is the printer's).
    pub origin: JobOrigin,
    pub state: PrintJobProcessingState,
    pub reasons: Vec<String>,
    pub name: Option<String>,
    pub user: Option<String>,
    pub document: Option<DocumentView>,
    pub configuration: PrintJobConfiguration,
    pub progress: ProgressView,
    /// How many sheets the job's log records as out, one entry each: equal to
    /// `progress.sheetsCompleted` unless a sheet was counted twice (a resumed job must not).
    pub sheet_entries: u64,
    /// File names of the rendered sides, in the order the sheets leave the printer.
    pub sides: Vec<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    /// The job's log without the per-sheet entries: fetched, acknowledged, rendered, stopped, …
    pub transitions: Vec<Transition>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct DocumentView {
    pub name: Option<String>,
    pub format: String,
    pub bytes_received: u64,
    pub expected_size: Option<u64>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ProgressView {
    pub sheets_completed: u64,
    pub impressions_completed: u64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Transition {
    pub kind: String,
    pub at: DateTime<Utc>,
    pub detail: String,
}

/// The view of `record`, with its log read from `spool`.
pub fn job_view(spool: &Spool, record: JobRecord) -> JobView {
    let (sheets, transitions): (Vec<_>, Vec<_>) = match spool.events(&record.printer, record.job_id)
    {
        Ok(events) => (events.into_iter()).partition(|e| PROGRESS_KINDS.contains(&e.kind.as_str())),
        Err(e) => {
            tracing::warn!(error = %e, job = record.job_id, "reading a job's log for the event stream");
            (Vec::new(), Vec::new())
        }
    };
    let transitions = (transitions.into_iter())
        .map(|e| Transition {
            kind: e.kind,
            at: e.at,
            detail: e.detail,
        })
        .collect();
    let sides = (record.outputs.iter())
        .filter_map(|o| Path::new(&o.path).file_name()?.to_str())
        .filter(|file| file.ends_with(".png"))
        .map(str::to_string)
        .collect();
    JobView {
        document: record.document.map(|d| DocumentView {
            name: d.name,
            format: d.format,
            bytes_received: d.bytes_received,
            expected_size: d.expected_size,
        }),
        progress: ProgressView {
            sheets_completed: record.progress.sheets_completed,
            impressions_completed: record.progress.impressions_completed,
        },
        printer: record.printer,
        job_id: record.job_id,
        origin: record.origin,
        state: record.state,
        reasons: record.reasons,
        name: record.name,
        user: record.user,
        configuration: record.configuration,
        sheet_entries: sheets.len() as u64,
        sides,
        created_at: record.created_at,
        updated_at: record.updated_at,
        transitions,
    }
}

/// What the live part of the stream reacts to.
enum Change {
    Printer(PrinterSnapshot),
    Job(JobChange),
    /// The watcher fell behind the spool's announcements: every job is sent again.
    JobsLagged,
    /// Every printer has stopped (the fleet is shutting down): the stream ends, so a server
    /// waiting for its connections to finish is not held by a dashboard left open.
    FleetStopped,
}

/// The stream for `printers` and the jobs of `spool`: first every printer and job as they are
/// now and a `ready` event, then the changes.
pub fn event_stream(
    printers: &[PrinterHandle],
    spool: Spool,
) -> Sse<impl Stream<Item = Result<Event, Infallible>> + use<>> {
    Sse::new(live_events(printers, spool).map(Ok::<Event, Infallible>))
        .keep_alive(KeepAlive::default())
}

/// The events of [`event_stream`], for a server that sends them with others (the lab's
/// dashboard adds the cloud's view). Ends when every printer has stopped.
pub fn live_events(
    printers: &[PrinterHandle],
    spool: Spool,
) -> impl Stream<Item = Event> + Send + use<> {
    // Watch first, read second: a change in between is sent twice, never lost.
    let job_changes = spool.watch_jobs();
    let mut receivers: Vec<_> = printers.iter().map(|p| p.status.clone()).collect();
    let mut initial: Vec<Event> = (receivers.iter_mut())
        .filter_map(|rx| event("printer", &*rx.borrow_and_update()))
        .collect();
    initial.extend(all_jobs(&spool));
    initial.extend(event("ready", &serde_json::json!({})));

    let printer_changes = stream::select_all(receivers.into_iter().map(|rx| {
        stream::unfold(rx, |mut rx| async move {
            rx.changed().await.ok()?;
            let snapshot = rx.borrow_and_update().clone();
            Some((Change::Printer(snapshot), rx))
        })
        .boxed()
    }))
    .chain(stream::once(async { Change::FleetStopped }));
    let job_changes = stream::unfold(job_changes, |mut rx| async move {
        match rx.recv().await {
            Ok(change) => Some((Change::Job(change), rx)),
            Err(RecvError::Lagged(_)) => Some((Change::JobsLagged, rx)),
            Err(RecvError::Closed) => None,
        }
    });
    let live = stream::select(printer_changes, job_changes)
        .take_while(|change| std::future::ready(!matches!(change, Change::FleetStopped)))
        .flat_map(move |change| stream::iter(events_for(&spool, change)));
    stream::iter(initial).chain(live)
}

fn events_for(spool: &Spool, change: Change) -> Vec<Event> {
    match change {
        Change::Printer(snapshot) => event("printer", &snapshot).into_iter().collect(),
        Change::Job(JobChange { printer, job }) => match spool.job(&printer, job) {
            Ok(Some(record)) => event("job", &job_view(spool, record)).into_iter().collect(),
            Ok(None) => event(
                "job-removed",
                &serde_json::json!({"printer": printer, "jobId": job}),
            )
            .into_iter()
            .collect(),
            Err(e) => {
                tracing::warn!(error = %e, job, "reading a changed job for the event stream");
                Vec::new()
            }
        },
        Change::JobsLagged => all_jobs(spool),
        Change::FleetStopped => Vec::new(),
    }
}

fn all_jobs(spool: &Spool) -> Vec<Event> {
    match spool.jobs() {
        Ok(records) => (records.into_iter())
            .filter_map(|r| event("job", &job_view(spool, r)))
            .collect(),
        Err(e) => {
            tracing::warn!(error = %e, "reading the spool's jobs for the event stream");
            Vec::new()
        }
    }
}

/// One server-sent event named `kind` with `value` as JSON.
fn event(kind: &str, value: &impl Serialize) -> Option<Event> {
    match serde_json::to_string(value) {
        Ok(json) => Some(Event::default().event(kind).data(json)),
        Err(e) => {
            tracing::warn!(error = %e, kind, "an event that does not serialise");
            None
        }
    }
}
