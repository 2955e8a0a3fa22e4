//! A running printer seen from outside its task: its state snapshot, its handle, and the actions
//! a person can send it. Every other runtime file uses these; they use none of them.

use crate::engine::Fault;
use crate::network::Network;
use printlab_graph::PrinterProcessingState;
use serde::Serialize;
use std::sync::Arc;
use tokio::sync::{mpsc, watch};

/// What a person can do to a printer through the control API.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Control {
    /// Clear every fault (the jam, refill the empty trays, close the cover, new supplies).
    Clear,
    /// Clear one fault the way a person would (see [`Engine::clear`](crate::engine::Engine::clear)).
    ClearFault(Fault),
    /// Cause a fault now, as a person or the hardware would.
    Raise(Fault),
    /// Take the paper out of a declared tray (one of [`PrinterHandle::trays`]).
    EmptyTray(String),
    /// Stop feeding sheets after the one in the engine, keeping the job (IPP Pause-Printer).
    Pause,
    /// Feed sheets again after a pause.
    Resume,
}

/// A printer's current state, for the control API and `printlab up`.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PrinterSnapshot {
    pub name: String,
    pub state: PrinterProcessingState,
    pub reasons: Vec<String>,
    pub connected: bool,
    /// Has told the service its capabilities and state at least once since it started. Unlike
    /// `connected` it stays true through later outages, so whoever waits for a printer to be
    /// ready cannot miss a connection that an offline window cut short.
    pub advertised: bool,
    /// The ippget subscription is in place: new jobs arrive as events, not by polling.
    pub subscribed: bool,
    pub job: Option<u32>,
    pub jobs_completed: u64,
}

/// A running printer, seen from outside its task.
#[derive(Clone)]
pub struct PrinterHandle {
    pub name: String,
    /// The declared input trays, by name: what [`Control::EmptyTray`] may name.
    pub trays: Vec<String>,
    pub(super) control: mpsc::Sender<Control>,
    /// The printer's network, whose cable the control API pulls and plugs in directly: the
    /// printer's task does not read [`Control`] messages while it is offline.
    pub(super) network: Arc<Network>,
    pub(super) status: watch::Receiver<PrinterSnapshot>,
}

impl PrinterHandle {
    pub fn snapshot(&self) -> PrinterSnapshot {
        self.status.borrow().clone()
    }

    /// Waits until the snapshot satisfies `pred`.
    pub async fn wait_for(&self, pred: impl Fn(&PrinterSnapshot) -> bool) -> PrinterSnapshot {
        let mut rx = self.status.clone();
        rx.wait_for(|s| pred(s))
            .await
            .map(|s| s.clone())
            .unwrap_or_else(|_| self.snapshot())
    }

    /// Sends a control action; false when the printer has stopped running.
    pub async fn control(&self, action: Control) -> bool {
        self.control.send(action).await.is_ok()
    }
}
