//! A printer's network to the service as its faults declare it: offline windows, during
//! which the device cannot reach the service at all, and extra latency on every exchange.
//!
//! The [`InfraClient`](super::infra_client::InfraClient) asks the network before each request, so
//! no request leaves during a window whatever part of the device sends it; the device loop and
//! the notification task also wait on [`Network::offline`] to drop what they hold open (the long
//! poll, a document stream) when a window begins, as a pulled cable would.

use super::engine::FaultSpec;
use std::time::{Duration, Instant};

/// Why a request did not leave the device.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("the printer is offline (an offline window of its faults)")]
pub struct Offline;

#[derive(Debug, Clone)]
pub struct Network {
    /// Offline windows count from here: the device's start.
    started: Instant,
    faults: FaultSpec,
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
        Self { started, faults }
    }

    fn since_start(&self) -> Duration {
        self.started.elapsed()
    }

    /// While an offline window is on: when the network may be back (the window's end).
    pub fn offline_until(&self) -> Option<Instant> {
        let now = self.since_start();
        if !self.faults.is_offline(now) {
            return None;
        }
        let back = self.faults.next_offline_change(now).unwrap_or(now);
        Some(self.started + back)
    }

    /// Resolves once an offline window is on: at once inside one, never without windows.
    pub async fn offline(&self) {
        loop {
            let now = self.since_start();
            if self.faults.is_offline(now) {
                return;
            }
            match self.faults.next_offline_change(now) {
                Some(at) => tokio::time::sleep_until((self.started + at).into()).await,
                None => std::future::pending().await,
            }
        }
    }

    /// Resolves once no offline window is on.
    pub async fn online(&self) {
        while let Some(back) = self.offline_until() {
            tokio::time::sleep_until(back.into()).await;
        }
    }

    /// Called before every request: waits the extra latency, then refuses while offline.
    pub async fn before_request(&self) -> Result<(), Offline> {
        if !self.faults.extra_latency.is_zero() {
            tokio::time::sleep(self.faults.extra_latency).await;
        }
        match self.offline_until() {
            Some(_) => Err(Offline),
            None => Ok(()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::OfflineWindow;

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
    async fn every_request_waits_the_extra_latency() {
        let network = network(60_000, 1, 100);
        let before = Instant::now();
        network.before_request().await.unwrap();
        network.before_request().await.unwrap();
        assert!(before.elapsed() >= Duration::from_millis(200));
    }
}
