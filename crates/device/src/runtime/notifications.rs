//! The ippget companion task: wakes the printer when jobs become fetchable and cancels the job
//! the service cancels.

use super::backoff;
use super::printer_handle::PrinterSnapshot;
use crate::infra_client::{InfraClient, job_state};
use crate::network::Network;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::sync::{Notify, watch};
use tokio_util::sync::CancellationToken;
use tracing::{info, warn};

/// Holds the ippget subscription and long-polls Get-Notifications: wakes the printer when
/// something happened and cancels the job in progress when the service cancels it.
pub(super) async fn notification_loop(
    client: Arc<InfraClient>,
    network: Arc<Network>,
    current: Arc<Mutex<Option<(u32, CancellationToken)>>>,
    wake: Arc<Notify>,
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
        // raised no event this subscription will see.
        wake.notify_one();
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
                        let ended = event.job_state.is_some_and(job_state::is_terminal);
                        if let (true, Some(job)) = (ended, event.job_id) {
                            let current = current.lock().expect("not poisoned");
                            if let Some((id, token)) = current.as_ref()
                                && *id == job
                            {
                                token.cancel();
                            }
                        }
                    }
                    if !notifications.events.is_empty() {
                        wake.notify_one();
                    } else if asked.elapsed() < Duration::from_secs(1) {
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
