//! A printer's network to the service as its faults declare it: offline windows, during
//! which the device cannot reach the service at all, and extra latency on every exchange; and
//! the cable a person pulls at run time (the control API's `offline`), which cuts it the same way,
//! and latency a person adds at run time (`network-latency`).
//!
//! The [`InfraClient`](super::infra_client::InfraClient) asks the network before each request, so
//! no request leaves during a window whatever part of the device sends it; the device loop and
//! the notification task also wait on [`Network::offline`] to drop what they hold open (the long
//! poll, a document stream) when a window begins, as a pulled cable would.

use super::engine::FaultSpec;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};
use tokio::sync::watch;

/// Why a request did not leave the device.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("the printer is offline (an offline window of its faults, or unplugged)")]
pub struct Offline;

/// The network cable as a person left it through the control API.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Cable {
    Plugged,
    /// Out until this instant.
    UnpluggedUntil(Instant),
    /// Out until a person plugs it in again.
    Unplugged,
}

#[derive(Debug)]
pub struct Network {
    /// Offline windows count from here: the device's start.
    started: Instant,
    faults: FaultSpec,
    /// Watched, so the waits below end when a person pulls or plugs the cable.
    cable: watch::Sender<Cable>,
    /// Milliseconds a person added to every exchange, on top of the faults' own.
    added_latency_ms: AtomicU64,
}

impl Default for Network {
    /// A network that is always up and adds nothing.
    fn default() -> Self {
        Self::new(FaultSpec::default(), Instant::now())
    }
}

impl Network {
    /// Only `offline` and `extra_latency` of `faults` matter here.
    pub fn new(faults: FaultSpec, started: Instant) -> Self {
        Self {
            started,
            faults,
            cable: watch::Sender::new(Cable::Plugged),
            added_latency_ms: AtomicU64::new(0),
        }
    }

    /// Sets the latency a person adds to every exchange (zero takes it away); the faults' own
    /// `extra_latency` stays.
    pub fn set_added_latency(&self, latency: Duration) {
        let ms = u64::try_from(latency.as_millis()).unwrap_or(u64::MAX);
        self.added_latency_ms.store(ms, Ordering::Relaxed);
    }

    /// Pulls the cable, for `duration` or until [`Network::plug_in`].
    pub fn unplug(&self, duration: Option<Duration>) {
        self.cable.send_replace(match duration {
            Some(d) => Cable::UnpluggedUntil(Instant::now() + d),
            None => Cable::Unplugged,
        });
    }

    /// Plugs the cable back in (offline windows of the faults still apply).
    pub fn plug_in(&self) {
        self.cable.send_replace(Cable::Plugged);
    }

    /// True inside an offline window or while the cable is out.
    pub fn is_offline(&self) -> bool {
        let now = Instant::now();
        let unplugged = match *self.cable.borrow() {
            Cable::Plugged => false,
            Cable::UnpluggedUntil(back) => now < back,
            Cable::Unplugged => true,
        };
        unplugged || self.faults.is_offline(now - self.started)
    }

    /// The next time the answer of [`Network::is_offline`] may change by itself (a window's
    /// edge, the end of a timed unplugging); `None` when only a person can change it.
    fn next_change(&self) -> Option<Instant> {
        let now = Instant::now();
        let window =
            (self.faults.next_offline_change(now - self.started)).map(|at| self.started + at);
        let cable = match *self.cable.borrow() {
            Cable::UnpluggedUntil(back) if now < back => Some(back),
            _ => None,
        };
        window.into_iter().chain(cable).min()
    }

    /// Waits until `offline` is what [`Network::is_offline`] says.
    async fn until_offline_is(&self, offline: bool) {
        let mut cable = self.cable.subscribe();
        while self.is_offline() != offline {
            let next = self.next_change();
            let by_itself = async {
                match next {
                    Some(at) => tokio::time::sleep_until(at.into()).await,
                    None => std::future::pending().await,
                }
            };
            tokio::select! {
                _ = by_itself => {}
                _ = cable.changed() => {}
            }
        }
    }

    /// Resolves once the network is cut: at once while it is, never if nothing cuts it.
    pub async fn offline(&self) {
        self.until_offline_is(true).await
    }

    /// Resolves once the network is back.
    pub async fn online(&self) {
        self.until_offline_is(false).await
    }

    /// Called before every request: waits the extra latency, then refuses while offline.
    pub async fn before_request(&self) -> Result<(), Offline> {
        let added = Duration::from_millis(self.added_latency_ms.load(Ordering::Relaxed));
        let latency = self.faults.extra_latency + added;
        if !latency.is_zero() {
            tokio::time::sleep(latency).await;
        }
        if self.is_offline() {
            Err(Offline)
        } else {
            Ok(())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::OfflineWindow;
    use std::sync::Arc;

    fn network(start_ms: u64, for_ms: u64, latency_ms: u64) -> Network {
        Network::new(
            FaultSpec {
                offline: vec![OfflineWindow {
                    start: Duration::from_millis(start_ms),
                    duration: Duration::from_millis(for_ms),
                    every: None,
                }],
                extra_latency: Duration::from_millis(latency_ms),
                ..Default::default()
            },
            Instant::now(),
        )
    }

    #[tokio::test]
    async fn requests_are_refused_inside_a_window_and_pass_outside() {
        let network = network(200, 200, 0);
        assert_eq!(network.before_request().await, Ok(()));
        network.offline().await;
        assert!(network.started.elapsed() >= Duration::from_millis(200));
        assert_eq!(network.before_request().await, Err(Offline));
        network.online().await;
        assert!(network.started.elapsed() >= Duration::from_millis(400));
        assert_eq!(network.before_request().await, Ok(()));
        // The only window is over: `offline` never resolves again.
        let never = tokio::time::timeout(Duration::from_millis(300), network.offline()).await;
        assert!(never.is_err());
    }

    #[tokio::test]
    async fn a_pulled_cable_cuts_the_network_until_plugged_in_or_for_its_duration() {
        let network = Arc::new(network(60_000, 1, 0));
        let waiting = tokio::spawn({
            let network = network.clone();
            async move { network.offline().await }
        });
        tokio::time::sleep(Duration::from_millis(50)).await;
        assert!(!waiting.is_finished());
        network.unplug(None);
        tokio::time::timeout(Duration::from_secs(5), waiting)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(network.before_request().await, Err(Offline));
        let back = tokio::time::timeout(Duration::from_millis(200), network.online()).await;
        assert!(back.is_err(), "no end without a plug-in");
        network.plug_in();
        network.online().await;
        assert_eq!(network.before_request().await, Ok(()));
        let pulled = Instant::now();
        network.unplug(Some(Duration::from_millis(300)));
        assert!(network.is_offline());
        network.online().await;
        assert!(pulled.elapsed() >= Duration::from_millis(300));
        assert!(!network.is_offline());
    }

    #[tokio::test]
    async fn every_request_waits_the_extra_latency() {
        let network = network(60_000, 1, 100);
        let before = Instant::now();
        network.before_request().await.unwrap();
        network.before_request().await.unwrap();
        assert!(before.elapsed() >= Duration::from_millis(200));
        // A person's latency adds to the faults' own, and goes when set back to zero.
        network.set_added_latency(Duration::from_millis(300));
        let before = Instant::now();
        network.before_request().await.unwrap();
        assert!(before.elapsed() >= Duration::from_millis(400));
        network.set_added_latency(Duration::ZERO);
        let before = Instant::now();
        network.before_request().await.unwrap();
        assert!(before.elapsed() < Duration::from_millis(400));
    }
}
