//! A running printer seen from outside its task: its state snapshot, its handle, and the actions
//! a person can send it. Every other runtime file uses these; they use none of them.

use super::identify::Identified;
use crate::config::PrinterConfig;
use crate::engine::{Engine, Fault};
use crate::network::Network;
use printlab_graph::PrinterProcessingState;
use serde::Serialize;
use std::sync::{Arc, Mutex};
use tokio::sync::{Notify, mpsc, watch};
use tokio_util::sync::CancellationToken;

/// The job a printer is processing and the token that cancels it.
pub(super) type CurrentJob = Arc<Mutex<Option<(u32, CancellationToken)>>>;

/// What a person can do to a printer through the control API.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Control {
    /// Clear every fault (the jam, refill the empty trays, close the cover, new supplies).
    Clear,
    /// Clear one fault the way a person would (see [`Engine::clear`](crate::engine::Engine::clear)).
    ClearFault(Fault),
    /// Cause a fault now, as a person or the hardware would.
    Raise(Fault),
    /// Take the paper out of a declared tray.
    EmptyTray(String),
    /// Load a full stack of another paper (a Graph media size name) into a declared tray.
    LoadMedia { tray: String, media_size: String },
    /// Set a declared supply's level, in percent.
    SetSupplyLevel { supply: String, percent: u8 },
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
    /// What the printer last told the service as `printer-is-accepting-jobs`.
    pub accepting_jobs: bool,
    /// The input trays with their levels, as last advertised.
    pub trays: Vec<TrayLevel>,
    /// The marker supplies (toner, ink) with their levels, as last advertised.
    pub supplies: Vec<SupplyLevel>,
    /// The Graph media sizes it prints: what a tray may be loaded with.
    pub media_sizes: Vec<String>,
    /// The last Identify-Printer the printer performed (from its own IPP listener or collected
    /// from its service), for the front panel to show.
    pub identified: Option<Identified>,
}

/// One input tray as a person sees it on the front panel.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct TrayLevel {
    pub name: String,
    /// Graph media size name of the loaded paper.
    pub media_size: String,
    pub capacity: u64,
    /// Sheets left; `None`: the tray never runs out.
    pub level: Option<u64>,
}

/// One marker supply as a person sees it on the front panel, levels in percent.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SupplyLevel {
    pub name: String,
    /// IPP `marker-types` keyword (`toner`, `ink`, …).
    pub kind: String,
    /// `#RRGGBB`, when the supply has a colour.
    pub color: Option<String>,
    pub level: u8,
    /// At or below this the printer reports the supply low.
    pub low: u8,
}

impl PrinterSnapshot {
    /// Takes the engine's tray and supply levels now (with every advertisement, so the snapshot
    /// shows what the service was told).
    pub(super) fn set_consumables(&mut self, engine: &Engine) {
        self.trays = (engine.trays())
            .map(|(tray, level)| TrayLevel {
                name: tray.name.clone(),
                media_size: tray.media_size.clone(),
                capacity: tray.capacity,
                level,
            })
            .collect();
        self.supplies = (engine.supplies())
            .map(|(supply, level)| SupplyLevel {
                name: supply.name.clone(),
                kind: supply.kind.clone(),
                color: supply.color.clone(),
                level,
                low: supply.low,
            })
            .collect();
    }
}

/// A running printer, seen from outside its task.
#[derive(Clone)]
pub struct PrinterHandle {
    pub name: String,
    /// Its `printers.toml` entry: the trays, supplies and media sizes a control action may name.
    pub config: Arc<PrinterConfig>,
    pub(super) control: mpsc::Sender<Control>,
    /// The printer's network, whose cable the control API pulls and plugs in directly: the
    /// printer's task does not read [`Control`] messages while it is offline.
    pub(super) network: Arc<Network>,
    pub(super) status: watch::Receiver<PrinterSnapshot>,
    /// Rings the printer's task when a job arrives over IPP.
    pub(super) wake: Arc<Notify>,
    /// The job on the engine, which an IPP Cancel-Job stops.
    pub(super) current: CurrentJob,
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

    /// False once the printer's task has ended (it stopped, or could not start).
    pub fn is_running(&self) -> bool {
        !self.control.is_closed()
    }

    /// Sends a control action; false when the printer has stopped running.
    pub async fn control(&self, action: Control) -> bool {
        self.control.send(action).await.is_ok()
    }
}
