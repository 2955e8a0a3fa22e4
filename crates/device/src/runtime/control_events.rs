//! The control API's live stream, `GET /control/events`: server-sent events carrying every
//! printer's snapshot and every spooled job, then each change as it happens. It is what a
//! dashboard shows, with no polling: printers publish their snapshots on watch channels, and the
//! spool announces each committed job change ([`Spool::watch_jobs`]), which is read back from
//! the spool, so what the stream says is what was written.
//!
//! A follower that shows rather than audits (the lab's dashboard) asks for the changes gathered
//! over a short window ([`live_events`] with a non-zero `window`): each printer's latest
//! snapshot and each changed job read back once per window, so a job that is fetched, started,
//! printed and completed within one window costs one event, not one per step, and nobody waits
//! longer than the window.

use super::printer_handle::{PrinterHandle, PrinterSnapshot};
use crate::spool::{JobChange, JobOrigin, JobRecord, Spool};
use axum::response::sse::{Event, KeepAlive, Sse};
use chrono::{DateTime, Utc};
use futures::stream::{self, Stream, StreamExt};
use printlab_graph::{PrintJobConfiguration, PrintJobProcessingState};
use serde::Serialize;
use std::collections::HashSet;
use std::convert::Infallible;
use std::path::Path;
use std::time::Duration;
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
    Sse::new(live_events(printers, spool, Duration::ZERO).map(Ok::<Event, Infallible>))
        .keep_alive(KeepAlive::default())
}

/// The events of [`event_stream`], for a server that sends them with others (the lab's
/// dashboard adds the cloud's view). Ends when every printer has stopped.
///
/// `window`: zero sends each change as it comes (every step of a job, as the control API's
/// stream promises); otherwise the changes that come within `window` of the first are sent
/// together, each printer and job once, as it is at the end of the window.
pub fn live_events(
    printers: &[PrinterHandle],
    spool: Spool,
    window: Duration,
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
    let changes = stream::select(printer_changes, job_changes).boxed();
    let live = stream::unfold(
        (changes, spool, false),
        move |(mut changes, spool, ended)| async move {
            if ended {
                return None;
            }
            let mut gathered = Gathered::default();
            gathered.add(changes.next().await?);
            if !window.is_zero() {
                let until = tokio::time::Instant::now() + window;
                while !gathered.fleet_stopped {
                    match tokio::time::timeout_at(until, changes.next()).await {
                        Ok(Some(change)) => gathered.add(change),
                        Ok(None) | Err(_) => break,
                    }
                }
            }
            let ended = gathered.fleet_stopped;
            let events = gathered.events(&spool);
            Some((stream::iter(events), (changes, spool, ended)))
        },
    )
    .flatten();
    stream::iter(initial).chain(live)
}

/// The changes of one window: each printer's latest snapshot and each changed job once, in
/// the order they first changed (a window of zero holds one change).
#[derive(Default)]
struct Gathered {
    printers: Vec<PrinterSnapshot>,
    jobs: Vec<JobChange>,
    jobs_seen: HashSet<(String, u32)>,
    /// Every job is sent again (the watcher fell behind the spool).
    jobs_lagged: bool,
    /// Every printer has stopped: what was gathered is sent, then the stream ends.
    fleet_stopped: bool,
}

impl Gathered {
    fn add(&mut self, change: Change) {
        match change {
            Change::Printer(snapshot) => {
                match self.printers.iter_mut().find(|p| p.name == snapshot.name) {
                    Some(known) => *known = snapshot,
                    None => self.printers.push(snapshot),
                }
            }
            Change::Job(change) => {
                if self.jobs_seen.insert((change.printer.clone(), change.job)) {
                    self.jobs.push(change);
                }
            }
            Change::JobsLagged => self.jobs_lagged = true,
            Change::FleetStopped => self.fleet_stopped = true,
        }
    }

    /// The printers, then the jobs, each read back from the spool now.
    fn events(self, spool: &Spool) -> Vec<Event> {
        let mut events: Vec<Event> = (self.printers.iter())
            .filter_map(|snapshot| event("printer", snapshot))
            .collect();
        if self.jobs_lagged {
            events.extend(all_jobs(spool));
            return events;
        }
        events.extend(self.jobs.into_iter().filter_map(|c| job_event(spool, c)));
        events
    }
}

/// The job as the spool has it now, or `job-removed` when it is gone.
fn job_event(spool: &Spool, JobChange { printer, job }: JobChange) -> Option<Event> {
    match spool.job(&printer, job) {
        Ok(Some(record)) => event("job", &job_view(spool, record)),
        Ok(None) => event(
            "job-removed",
            &serde_json::json!({"printer": printer, "jobId": job}),
        ),
        Err(e) => {
            tracing::warn!(error = %e, job, "reading a changed job for the event stream");
            None
        }
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

#[cfg(test)]
mod tests {
    use super::*;
    use printlab_graph::PrinterProcessingState;

    fn snapshot(name: &str, state: PrinterProcessingState, job: Option<u32>) -> PrinterSnapshot {
        PrinterSnapshot {
            name: name.into(),
            state,
            reasons: Vec::new(),
            connected: true,
            advertised: true,
            subscribed: true,
            job,
            jobs_completed: 0,
            accepting_jobs: true,
            trays: Vec::new(),
            supplies: Vec::new(),
            media_sizes: Vec::new(),
            identified: None,
        }
    }

    fn job(printer: &str, job: u32) -> Change {
        Change::Job(JobChange {
            printer: printer.into(),
            job,
        })
    }

    #[test]
    fn a_window_keeps_each_printers_latest_snapshot_and_each_job_once_in_first_change_order() {
        let mut gathered = Gathered::default();
        for change in [
            job("a", 2),
            Change::Printer(snapshot("a", PrinterProcessingState::Processing, Some(2))),
            job("b", 1),
            Change::Printer(snapshot("b", PrinterProcessingState::Processing, Some(1))),
            job("a", 2),
            Change::Printer(snapshot("a", PrinterProcessingState::Idle, None)),
            job("a", 3),
            job("b", 1),
        ] {
            gathered.add(change);
        }
        let printers: Vec<(&str, PrinterProcessingState)> = (gathered.printers.iter())
            .map(|p| (p.name.as_str(), p.state))
            .collect();
        assert_eq!(
            printers,
            [
                ("a", PrinterProcessingState::Idle),
                ("b", PrinterProcessingState::Processing)
            ]
        );
        let jobs: Vec<(&str, u32)> = (gathered.jobs.iter())
            .map(|j| (j.printer.as_str(), j.job))
            .collect();
        assert_eq!(jobs, [("a", 2), ("b", 1), ("a", 3)]);
        assert!(!gathered.jobs_lagged && !gathered.fleet_stopped);
        gathered.add(Change::JobsLagged);
        gathered.add(Change::FleetStopped);
        assert!(gathered.jobs_lagged && gathered.fleet_stopped);
    }
}
