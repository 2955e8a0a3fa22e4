//! Where the listener's events come from: the real state changes, never a guess. Job events are
//! read off the spool's change announcements ([`Spool::watch_jobs`], every committed job
//! transaction, whoever wrote it: the request handlers, the printer's task, a cancel); printer
//! events off each printer's snapshot watch (state and reasons as the printer last advertised
//! them, which a fault raised through the control API changes). One task for the jobs and one
//! for every printer's watch together, so idle printers cost no task each.
//!
//! Only local jobs raise job events: a service's jobs are the service's to report. Printer
//! events are raised whatever the printer is doing.

use super::IppService;
use super::job_description::job_state;
use super::printer_description::ipp_printer_state;
use super::subscription_registry::{EventKind, Happening, JobFacts, PrinterFacts};
use crate::runtime::PrinterSnapshot;
use crate::spool::{JobOrigin, JobRecord};
use futures::StreamExt;
use printlab_graph::PrintJobProcessingState;
use std::collections::HashMap;
use std::sync::Arc;
use tokio::sync::broadcast::error::RecvError;
use tokio_util::sync::CancellationToken;
use tracing::warn;

/// The state of a job the last time an event was raised for it.
fn job_facts(record: &JobRecord) -> JobFacts {
    let mut reasons = record.reasons.clone();
    if reasons.is_empty() {
        reasons.push("none".into());
    }
    JobFacts {
        id: record.job_id,
        state: job_state(record.state),
        reasons,
        impressions_completed: record.progress.impressions_completed,
    }
}

fn printer_facts(snapshot: &PrinterSnapshot) -> PrinterFacts {
    let mut reasons = snapshot.reasons.clone();
    if reasons.is_empty() {
        reasons.push("none".into());
    }
    PrinterFacts {
        state: ipp_printer_state(snapshot.state),
        reasons,
        accepting_jobs: snapshot.accepting_jobs,
    }
}

/// Job states that end a job (RFC 8011: canceled, aborted, completed).
fn ended(state: i32) -> bool {
    state >= 7
}

/// The events a job's change is: `before` is what the last event said (`None` for a job not
/// seen yet). A change of state (or reasons) and printed impressions read at once are two
/// events, so a watcher that reads late still reports progress.
fn job_event(before: Option<&JobFacts>, now: &JobFacts) -> Vec<EventKind> {
    let Some(before) = before else {
        let mut kinds = vec![EventKind::JobCreated];
        kinds.extend(job_event(Some(&as_created(now)), now));
        return kinds;
    };
    if ended(before.state) {
        return Vec::new();
    }
    let mut kinds = Vec::new();
    if before.state != now.state {
        kinds.push(if ended(now.state) {
            EventKind::JobCompleted
        } else if now.state == 6 {
            EventKind::JobStopped
        } else {
            EventKind::JobStateChanged
        });
    } else if before.reasons != now.reasons {
        kinds.push(EventKind::JobStateChanged);
    }
    if !ended(now.state) && before.impressions_completed != now.impressions_completed {
        kinds.push(EventKind::JobProgress);
    }
    kinds
}

/// The job as it was when created: pending, nothing printed. A watcher that first reads a job
/// after it moved on (a Create-Job canceled before the spool's announcement was read) still
/// says `job-created` with the state the job was created in, then how it changed since.
fn as_created(now: &JobFacts) -> JobFacts {
    let pending = job_state(PrintJobProcessingState::Pending);
    if now.state == pending {
        return now.clone();
    }
    JobFacts {
        id: now.id,
        state: pending,
        reasons: vec!["none".into()],
        impressions_completed: 0,
    }
}

fn job_text(kind: EventKind, facts: &JobFacts) -> String {
    let id = facts.id;
    match kind {
        EventKind::JobCreated => format!("Job {id} created."),
        EventKind::JobCompleted => match facts.state {
            7 => format!("Job {id} canceled."),
            8 => format!("Job {id} aborted."),
            _ => format!("Job {id} completed."),
        },
        EventKind::JobStopped => format!("Job {id} stopped: {}.", facts.reasons.join(", ")),
        EventKind::JobProgress => format!(
            "Job {id}: {} impressions printed.",
            facts.impressions_completed
        ),
        _ => format!("Job {id} is now {}.", facts.reasons.join(", ")),
    }
}

/// Raises the events of the jobs the spool announces until `shutdown`.
pub(super) async fn watch_jobs(service: Arc<IppService>, shutdown: CancellationToken) {
    let mut changes = service.spool.watch_jobs();
    let slugs: HashMap<String, String> = service
        .printers
        .iter()
        .map(|(slug, p)| (p.config.name.clone(), slug.clone()))
        .collect();
    // What the last event of each local job said; jobs already spooled count as seen.
    let mut seen: HashMap<(String, u32), JobFacts> = HashMap::new();
    match service.spool.jobs() {
        Ok(jobs) => {
            for record in jobs.iter().filter(|r| r.origin == JobOrigin::LocalIpp) {
                seen.insert((record.printer.clone(), record.job_id), job_facts(record));
            }
        }
        Err(e) => warn!(error = %e, "reading the spool for the IPP listener's job events"),
    }
    loop {
        let change = tokio::select! {
            change = changes.recv() => change,
            _ = shutdown.cancelled() => return,
        };
        let changed: Vec<(String, u32)> = match change {
            Ok(change) => vec![(change.printer, change.job)],
            // Fell behind: look at every local job again.
            Err(RecvError::Lagged(_)) => match service.spool.jobs() {
                Ok(jobs) => jobs
                    .iter()
                    .filter(|r| r.origin == JobOrigin::LocalIpp)
                    .map(|r| (r.printer.clone(), r.job_id))
                    .collect(),
                Err(e) => {
                    warn!(error = %e, "reading the spool for the IPP listener's job events");
                    Vec::new()
                }
            },
            Err(RecvError::Closed) => return,
        };
        for (printer, job) in changed {
            let Some(slug) = slugs.get(&printer) else {
                continue;
            };
            let record = match service.spool.job(&printer, job) {
                Ok(Some(record)) if record.origin == JobOrigin::LocalIpp => record,
                Ok(_) => {
                    seen.remove(&(printer, job));
                    continue;
                }
                Err(e) => {
                    warn!(error = %e, %printer, job, "reading a job for its IPP events");
                    continue;
                }
            };
            let now = job_facts(&record);
            let key = (printer, job);
            for kind in job_event(seen.get(&key), &now) {
                let facts = match kind {
                    EventKind::JobCreated => as_created(&now),
                    _ => now.clone(),
                };
                service.subscriptions.raise(
                    slug,
                    Happening {
                        kind,
                        text: job_text(kind, &facts),
                        up_time: service.up_time(),
                        job: Some(facts),
                        printer: None,
                    },
                );
            }
            seen.insert(key, now);
        }
    }
}

/// The event a printer's snapshot change is, if any.
fn printer_event(
    before: &PrinterSnapshot,
    now: &PrinterSnapshot,
) -> Option<(EventKind, PrinterFacts)> {
    let (was, is) = (printer_facts(before), printer_facts(now));
    if was != is {
        let kind = if is.state == 5 && was.state != 5 {
            EventKind::PrinterStopped
        } else {
            EventKind::PrinterStateChanged
        };
        return Some((kind, is));
    }
    let media = |s: &PrinterSnapshot| -> Vec<(String, String)> {
        (s.trays.iter())
            .map(|t| (t.name.clone(), t.media_size.clone()))
            .collect()
    };
    (media(before) != media(now)).then_some((EventKind::PrinterConfigChanged, is))
}

fn printer_text(kind: EventKind, name: &str, facts: &PrinterFacts) -> String {
    let state = match facts.state {
        3 => "idle",
        4 => "processing",
        _ => "stopped",
    };
    match kind {
        EventKind::PrinterConfigChanged => format!("{name}: the loaded media changed."),
        _ => format!("{name} is {state} ({}).", facts.reasons.join(", ")),
    }
}

/// Raises the events of every printer's snapshot changes until `shutdown`.
pub(super) async fn watch_printers(service: Arc<IppService>, shutdown: CancellationToken) {
    let watches = service.printers.iter().map(|(slug, printer)| {
        let mut status = printer.handle.status.clone();
        let before = status.borrow_and_update().clone();
        futures::stream::unfold(
            (slug.clone(), status, before),
            |(slug, mut status, before)| async move {
                status.changed().await.ok()?;
                let now = status.borrow_and_update().clone();
                let event = printer_event(&before, &now);
                Some(((slug.clone(), now.name.clone(), event), (slug, status, now)))
            },
        )
        .boxed()
    });
    let mut changes = futures::stream::select_all(watches);
    loop {
        let change = tokio::select! {
            change = changes.next() => change,
            _ = shutdown.cancelled() => return,
        };
        let Some((slug, name, event)) = change else {
            return;
        };
        if let Some((kind, facts)) = event {
            service.subscriptions.raise(
                &slug,
                Happening {
                    kind,
                    text: printer_text(kind, &name, &facts),
                    up_time: service.up_time(),
                    job: None,
                    printer: Some(facts),
                },
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn facts(state: i32, reasons: &[&str], impressions: u64) -> JobFacts {
        JobFacts {
            id: 1,
            state,
            reasons: reasons.iter().map(|r| r.to_string()).collect(),
            impressions_completed: impressions,
        }
    }

    #[test]
    fn a_job_is_created_changes_progresses_and_completes_once() {
        let pending = facts(3, &["none"], 0);
        assert_eq!(job_event(None, &pending), [EventKind::JobCreated]);
        let processing = facts(5, &["job-printing"], 0);
        assert_eq!(
            job_event(Some(&pending), &processing),
            [EventKind::JobStateChanged]
        );
        let printed = facts(5, &["job-printing"], 1);
        assert_eq!(
            job_event(Some(&processing), &printed),
            [EventKind::JobProgress]
        );
        // Read late: the state change and the progress, both.
        assert_eq!(
            job_event(Some(&pending), &printed),
            [EventKind::JobStateChanged, EventKind::JobProgress]
        );
        let stopped = facts(6, &["media-jam"], 1);
        assert_eq!(job_event(Some(&printed), &stopped), [EventKind::JobStopped]);
        let done = facts(9, &["job-completed-successfully"], 2);
        assert_eq!(job_event(Some(&stopped), &done), [EventKind::JobCompleted]);
        assert!(job_event(Some(&done), &done).is_empty());
        assert!(job_event(Some(&done), &facts(9, &["other"], 3)).is_empty());
    }

    /// Read late (under load, a Create-Job canceled before the watcher read the spool's
    /// announcement): the job is still heard created, as pending, then as it is now.
    #[test]
    fn a_job_first_seen_ended_is_created_pending_and_completed() {
        let aborted = facts(8, &["aborted-by-system"], 0);
        assert_eq!(
            job_event(None, &aborted),
            [EventKind::JobCreated, EventKind::JobCompleted]
        );
        assert_eq!(as_created(&aborted), facts(3, &["none"], 0));
        let printing = facts(5, &["job-printing"], 2);
        assert_eq!(
            job_event(None, &printing),
            [
                EventKind::JobCreated,
                EventKind::JobStateChanged,
                EventKind::JobProgress
            ]
        );
        let incoming = facts(3, &["job-incoming"], 0);
        assert_eq!(as_created(&incoming), incoming);
        assert_eq!(job_event(None, &incoming), [EventKind::JobCreated]);
    }
}
