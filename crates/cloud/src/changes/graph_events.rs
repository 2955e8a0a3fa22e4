//! The cloud's changes as Graph shows them, for one follower: first every printer and every
//! job not yet finished, then `graph-ready`, then what changes, read back from the store after
//! each window ([`super::coalesce`]). Printers are sent only when what Graph shows of them
//! (`status`, `isAcceptingJobs`, `displayName`) changed: a device's reports rewrite its record
//! often without changing its state.
//!
//! Events (`kind`, then the JSON `data`):
//! - `graph-printer`: `{"id", "displayName", "isAcceptingJobs", "status"}`, the Graph printer
//!   with only those properties (as `$select` would give it);
//! - `graph-job`: `{"printerId", "printerName", "job"}`, `job` the Graph printJob with its
//!   `documents` expanded;
//! - `graph-upload`: `{"printerId", "printerName", "jobId", "documentId", "documentName",
//!   "bytesReceived", "size"}`, the stored bytes of a document still uploading;
//! - `graph-ready`: the first burst is over.

use super::coalesce::Batch;
use super::{ChangeFeed, CloudChange, UploadProgress};
use crate::store::{JobRecord, PrinterRecord, Store};
use futures::stream::{self, Stream, StreamExt};
use serde_json::{Value, json};
use std::collections::HashMap;
use std::time::Duration;
use tokio::sync::broadcast::{Receiver, error::RecvError};

/// One event for a follower: its kind and its JSON.
#[derive(Debug, Clone, PartialEq)]
pub struct GraphEvent {
    pub kind: &'static str,
    pub data: Value,
}

impl GraphEvent {
    fn new(kind: &'static str, data: Value) -> Self {
        Self { kind, data }
    }
}

/// What one follower was last sent.
#[derive(Default)]
struct Followed {
    /// Printer id → the printer's Graph view as last sent.
    printers: HashMap<String, Value>,
    /// Printer id → display name, for the jobs' events.
    names: HashMap<String, String>,
}

/// The events for one follower of `feed`, each window's changes read from `store`.
pub(crate) fn graph_events(
    store: Store,
    feed: &ChangeFeed,
    window: Duration,
) -> impl Stream<Item = GraphEvent> + Send + 'static + use<> {
    // Follow first, read second: a change in between is sent twice, never lost.
    let changes = feed.subscribe();
    let mut followed = Followed::default();
    let first = followed.everything(&store);
    let live = stream::unfold(
        (changes, followed, store),
        move |(mut changes, mut followed, store)| async move {
            let batch = next_batch(&mut changes, window).await?;
            let events = followed.events_for(&store, batch);
            Some((stream::iter(events), (changes, followed, store)))
        },
    )
    .flatten();
    stream::iter(first).chain(live)
}

/// Waits for a change, then gathers what else comes within `window`; `None` once the feed is
/// gone.
async fn next_batch(changes: &mut Receiver<CloudChange>, window: Duration) -> Option<Batch> {
    let mut batch = Batch::default();
    match changes.recv().await {
        Ok(change) => batch.add(change),
        Err(RecvError::Lagged(_)) => batch.lagged = true,
        Err(RecvError::Closed) => return None,
    }
    let until = tokio::time::Instant::now() + window;
    loop {
        match tokio::time::timeout_at(until, changes.recv()).await {
            Ok(Ok(change)) => batch.add(change),
            Ok(Err(RecvError::Lagged(_))) => batch.lagged = true,
            Ok(Err(RecvError::Closed)) | Err(_) => break,
        }
    }
    Some(batch)
}

impl Followed {
    /// Every printer, every job not finished, then `graph-ready`.
    fn everything(&mut self, store: &Store) -> Vec<GraphEvent> {
        let mut events = Vec::new();
        match store.printers() {
            Ok(printers) => {
                for printer in printers {
                    let id = printer.printer.id.clone();
                    events.extend(self.printer_event(&printer, true));
                    match store.unfinished_jobs_of(&id) {
                        Ok(jobs) => events.extend(jobs.iter().map(|j| self.job_event(store, j))),
                        Err(e) => {
                            tracing::warn!(error = %e, printer = %id, "reading jobs for a follower")
                        }
                    }
                }
            }
            Err(e) => tracing::warn!(error = %e, "reading printers for a follower"),
        }
        events.push(GraphEvent::new("graph-ready", json!({})));
        events
    }

    fn events_for(&mut self, store: &Store, batch: Batch) -> Vec<GraphEvent> {
        if batch.lagged {
            return self.everything(store);
        }
        let (records, uploads) = batch.into_parts();
        let mut events = Vec::new();
        for change in records {
            match change {
                CloudChange::Printer { printer_id } => match store.printer(&printer_id) {
                    Ok(Some(printer)) => events.extend(self.printer_event(&printer, false)),
                    Ok(None) => {
                        self.printers.remove(&printer_id);
                    }
                    Err(e) => tracing::warn!(error = %e, "reading a changed printer"),
                },
                CloudChange::Job { printer_id, job_id } => match store.job(&printer_id, job_id) {
                    Ok(Some(job)) => events.push(self.job_event(store, &job)),
                    Ok(None) => {}
                    Err(e) => tracing::warn!(error = %e, job_id, "reading a changed job"),
                },
                CloudChange::Upload(_) => {}
            }
        }
        events.extend(uploads.iter().map(|u| self.upload_event(store, u)));
        events
    }

    /// The printer's view, unless it is what this follower was last sent (`always`: the
    /// first burst, sent whatever it was before).
    fn printer_event(&mut self, record: &PrinterRecord, always: bool) -> Option<GraphEvent> {
        let p = &record.printer;
        self.names.insert(p.id.clone(), p.display_name.clone());
        let view = json!({
            "id": p.id,
            "displayName": p.display_name,
            "isAcceptingJobs": p.is_accepting_jobs,
            "status": p.status,
        });
        if !always && self.printers.get(&p.id) == Some(&view) {
            return None;
        }
        self.printers.insert(p.id.clone(), view.clone());
        Some(GraphEvent::new("graph-printer", view))
    }

    fn printer_name(&mut self, store: &Store, printer_id: &str) -> Option<String> {
        if let Some(name) = self.names.get(printer_id) {
            return Some(name.clone());
        }
        let name = store.printer(printer_id).ok()??.printer.display_name;
        self.names.insert(printer_id.to_string(), name.clone());
        Some(name)
    }

    fn job_event(&mut self, store: &Store, record: &JobRecord) -> GraphEvent {
        let mut job = record.job.clone();
        job.documents = Some(vec![record.document.clone()]);
        GraphEvent::new(
            "graph-job",
            json!({
                "printerId": record.printer_id,
                "printerName": self.printer_name(store, &record.printer_id),
                "job": job,
            }),
        )
    }

    fn upload_event(&mut self, store: &Store, upload: &UploadProgress) -> GraphEvent {
        GraphEvent::new(
            "graph-upload",
            json!({
                "printerId": upload.printer_id,
                "printerName": self.printer_name(store, &upload.printer_id),
                "jobId": upload.job_id,
                "documentId": upload.document_id,
                "documentName": upload.document_name,
                "bytesReceived": upload.bytes_received,
                "size": upload.size,
            }),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::NewPrinter;
    use futures::FutureExt;
    use printlab_graph::{PrinterProcessingState, PrinterProcessingStateDetail, UserIdentity};

    const WINDOW: Duration = Duration::from_millis(20);

    fn kinds(events: &[GraphEvent]) -> Vec<&str> {
        events.iter().map(|e| e.kind).collect()
    }

    /// The events the stream has ready within a few windows.
    async fn ready(events: &mut (impl Stream<Item = GraphEvent> + Unpin)) -> Vec<GraphEvent> {
        let mut got = Vec::new();
        while let Ok(Some(event)) = tokio::time::timeout(5 * WINDOW, events.next()).await {
            got.push(event);
        }
        got
    }

    #[tokio::test]
    async fn a_follower_sees_what_was_flushed_and_printers_only_when_graph_shows_a_change() {
        let dir = tempfile::tempdir().unwrap();
        let db = sled::open(dir.path()).unwrap();
        let store = Store::open(&db).unwrap();
        let printer = store
            .add_printer(NewPrinter {
                id: "p1".into(),
                display_name: "Office".into(),
                manufacturer: "printlab".into(),
                model: "m".into(),
                physical_device_id: None,
                has_physical_device: true,
                registered_by: "admin".into(),
                registered: chrono::Utc::now(),
                location: None,
            })
            .unwrap();
        let owner = UserIdentity {
            id: Some("u".into()),
            ..UserIdentity::default()
        };
        let mut finished = JobRecord::awaiting_document("p1", 1, &owner, Default::default(), "a");
        finished.job.status.state = printlab_graph::PrintJobProcessingState::Completed;
        store.put_job(&finished).unwrap();
        store.flush().await.unwrap();

        let mut events = Box::pin(graph_events(store.clone(), store.changes(), WINDOW));
        let first = ready(&mut events).await;
        // The finished job is not in the first burst.
        assert_eq!(kinds(&first), ["graph-printer", "graph-ready"]);
        assert_eq!(first[0].data["displayName"], "Office");

        // Written but not flushed: nothing yet; flushed: the job, with its printer's name.
        let job = JobRecord::awaiting_document("p1", 2, &owner, Default::default(), "b.pdf");
        store.put_job(&job).unwrap();
        assert!(ready(&mut events).await.is_empty());
        store.flush().await.unwrap();
        let sent = ready(&mut events).await;
        assert_eq!(kinds(&sent), ["graph-job"]);
        assert_eq!(sent[0].data["printerName"], "Office");
        assert_eq!(sent[0].data["job"]["id"], "2");
        assert_eq!(sent[0].data["job"]["status"]["details"][0], "uploadPending");
        assert_eq!(sent[0].data["job"]["documents"][0]["displayName"], "b.pdf");

        // A printer record rewritten with the same status is not sent again; a jam is.
        let mut rewritten = printer.clone();
        rewritten.printer.last_seen_date_time = Some(chrono::Utc::now());
        store.put_printer(&rewritten).unwrap();
        store.flush().await.unwrap();
        assert!(ready(&mut events).await.is_empty());
        rewritten.printer.status.state = PrinterProcessingState::Stopped;
        rewritten.printer.status.details =
            vec![PrinterProcessingStateDetail::from_name("mediaJam").unwrap()];
        store.put_printer(&rewritten).unwrap();
        store.flush().await.unwrap();
        let sent = ready(&mut events).await;
        assert_eq!(kinds(&sent), ["graph-printer"]);
        assert_eq!(sent[0].data["status"]["state"], "stopped");
        assert_eq!(sent[0].data["status"]["details"][0], "mediaJam");

        // Many ranges within a window: one progress event, the furthest.
        for received in [10, 30, 20] {
            store.changes().upload_progress(UploadProgress {
                printer_id: "p1".into(),
                job_id: "2".into(),
                document_id: job.document.id.clone(),
                document_name: "b.pdf".into(),
                bytes_received: received,
                size: 100,
            });
        }
        let sent = ready(&mut events).await;
        assert_eq!(kinds(&sent), ["graph-upload"]);
        assert_eq!(sent[0].data["bytesReceived"], 30);
        assert_eq!(sent[0].data["documentName"], "b.pdf");
        assert_eq!(sent[0].data["size"], 100);
        assert_eq!(sent[0].data["printerName"], "Office");
        assert!(
            events.next().now_or_never().is_none(),
            "the stream stays open"
        );
    }
}
