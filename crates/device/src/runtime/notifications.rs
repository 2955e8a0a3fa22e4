//! The ippget companion task: wakes the printer when jobs become fetchable, cancels the job
//! the service cancels, and collects the service's Identify-Printer requests.

use super::backoff;
use super::identify::collect_from_service;
use super::printer_handle::PrinterSnapshot;
use super::session::NotifiedJobs;
use crate::infra_client::{InfraClient, job_state};
use crate::network::Network;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::sync::{Notify, watch};
use tokio_util::sync::CancellationToken;
use tracing::{info, warn};

const PRINTER_STATE_CHANGED: &str = "printer-state-changed";
const JOB_FETCHABLE: &str = "job-fetchable";

/// Holds the ippget subscription and long-polls Get-Notifications: wakes the printer when
/// something happened to jobs, cancels the job in progress when the service cancels it, and
/// takes an Identify-Printer when a `printer-state-changed` says one waits.
pub(super) async fn notification_loop(
    client: Arc<InfraClient>,
    network: Arc<Network>,
    current: Arc<Mutex<Option<(u32, CancellationToken)>>>,
    wake: Arc<Notify>,
    notified_jobs: NotifiedJobs,
    status: watch::Sender<PrinterSnapshot>,
    shutdown: CancellationToken,
) {
    let mut attempt = 0;
    loop {
        tokio::select! {
            _ = network.online() => {}
            _ = shutdown.cancelled() => return,
        }
        let subscription = tokio::select! {
            r = client.create_printer_subscription() => r,
            _ = shutdown.cancelled() => return,
        };
        let subscription = match subscription {
            Ok(id) => id,
            Err(e) => {
                warn!(error = %e, "cannot subscribe to notifications; polling slowly");
                status.send_modify(|s| s.subscribed = false);
                wake.notify_one();
                if !backoff(&mut attempt, &shutdown).await {
                    return;
                }
                continue;
            }
        };
        status.send_modify(|s| s.subscribed = true);
        attempt = 0;
        // Prime after every (re-)subscription: jobs that became fetchable while there was no
        // subscription (before the first one, or while the cloud restarted and forgot it)
        // raised no event this subscription will see. The same holds for an Identify-Printer.
        wake.notify_one();
        tokio::select! {
            _ = collect_from_service(&client, &status, None) => {}
            _ = network.offline() => continue,
            _ = shutdown.cancelled() => return,
        }
        let mut sequence = 0;
        loop {
            let asked = Instant::now();
            let answer = tokio::select! {
                r = client.get_notifications(subscription, sequence, true) => r,
                // The long poll drops with the network; subscribe again once it is back.
                _ = network.offline() => break,
                _ = shutdown.cancelled() => return,
            };
            match answer {
                Ok((notifications, last)) => {
                    sequence = last;
                    for event in &notifications.events {
                        let Some(job) = event.job_id else { continue };
                        if event.job_state.is_some_and(job_state::is_terminal) {
                            let current = current.lock().expect("not poisoned");
                            if let Some((id, token)) = current.as_ref()
                                && *id == job
                            {
                                token.cancel();
                            }
                        }
                        if event.event == JOB_FETCHABLE {
                            let mut notified = notified_jobs.lock().expect("not poisoned");
                            if !notified.contains(&job) {
                                notified.push(job);
                            }
                        }
                    }
                    // Only a fetchable job is new work. The state changes of the printer and of
                    // its own jobs (each report it sends comes back as one) woke the printer
                    // for two Get-Jobs after every job that found nothing.
                    if notifications
                        .events
                        .iter()
                        .any(|e| e.event == JOB_FETCHABLE)
                    {
                        wake.notify_one();
                    }
                    // The newest printer event's reasons say whether a request waits.
                    let printer_changed = (notifications.events.iter().rev())
                        .find(|e| e.event == PRINTER_STATE_CHANGED)
                        .map(|e| e.printer_state_reasons.clone());
                    if let Some(reasons) = printer_changed {
                        tokio::select! {
                            _ = collect_from_service(&client, &status, reasons) => {}
                            _ = network.offline() => break,
                            _ = shutdown.cancelled() => return,
                        }
                    }
                    if notifications.events.is_empty() && asked.elapsed() < Duration::from_secs(1) {
                        // The service did not hold the request: respect its interval.
                        let interval = notifications.get_interval.unwrap_or(10).max(1);
                        tokio::select! {
                            _ = tokio::time::sleep(Duration::from_secs(interval.into())) => {}
                            _ = shutdown.cancelled() => return,
                        }
                    }
                }
                Err(e) if e.is_gone() => {
                    // The service forgot the subscription (it restarted): subscribe again at
                    // once; the new subscription primes with Get-Jobs.
                    info!(error = %e, "subscription gone; resubscribing");
                    break;
                }
                Err(e) => {
                    warn!(error = %e, "notifications failed; resubscribing");
                    status.send_modify(|s| s.subscribed = false);
                    wake.notify_one();
                    if !backoff(&mut attempt, &shutdown).await {
                        return;
                    }
                    break;
                }
            }
        }
    }
}
