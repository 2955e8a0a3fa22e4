//! The long-running commands (`up`, `cloud`, `devices`) stop cleanly on Ctrl-C (SIGINT) and on
//! SIGTERM, which is how a container runtime or Kubernetes asks a process to stop: a process
//! that ignored it would be killed once the grace period ran out, its open connections cut
//! instead of closed.

use anyhow::Context;
use tokio::signal::unix::{Signal, SignalKind, signal};

/// SIGINT and SIGTERM, caught from the moment this is made: made before the command starts
/// anything, so a stop asked for during the start is not the default action (death) either.
pub struct StopSignals {
    interrupt: Signal,
    terminate: Signal,
}

impl StopSignals {
    pub fn listen() -> anyhow::Result<StopSignals> {
        Ok(StopSignals {
            interrupt: signal(SignalKind::interrupt()).context("listening for SIGINT")?,
            terminate: signal(SignalKind::terminate()).context("listening for SIGTERM")?,
        })
    }

    /// Waits for SIGINT or SIGTERM and names the one that came.
    pub async fn stop_requested(&mut self) -> &'static str {
        tokio::select! {
            _ = self.interrupt.recv() => "SIGINT",
            _ = self.terminate.recv() => "SIGTERM",
        }
    }
}
