//! The faults a printer is declared to have (fixed schedules, seeded random draws, offline
//! windows) and the ones that outlive a restart.

use super::consumables::Levels;
use printlab_graph::PrinterProcessingStateDetail;
use serde::{Deserialize, Serialize};
use std::time::Duration;

/// An interval in which the printer is unreachable, measured from device start.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OfflineWindow {
    pub start: Duration,
    pub duration: Duration,
    /// Repeat the window with this period (start, start + every, …).
    pub every: Option<Duration>,
}

/// Probabilities of faults, drawn from a generator seeded with `seed` so runs repeat.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RandomFaults {
    pub seed: u64,
    /// Per sheet.
    pub jam: f64,
    /// Per sheet.
    pub cover_open: f64,
    /// Per sheet, before it is picked.
    pub media_empty: f64,
    /// Per document.
    pub interpret_failure: f64,
}

/// The faults a printer is declared to have.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct FaultSpec {
    /// Every N-th sheet the engine picks jams.
    pub jam_every_sheets: Option<u64>,
    /// The input tray holds this many sheets; refilling restores it.
    pub out_of_paper_after_sheets: Option<u64>,
    /// The cover opens once, after this many sheets since start.
    pub cover_open_after_sheets: Option<u64>,
    pub offline: Vec<OfflineWindow>,
    /// Document formats the interpreter fails on although they are advertised.
    pub failing_formats: Vec<String>,
    /// Added to every exchange with the cloud.
    pub extra_latency: Duration,
    pub random: Option<RandomFaults>,
}

/// A condition that stops the engine until someone clears it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum Fault {
    MediaJam,
    MediaEmpty,
    CoverOpen,
    /// A toner supply used up to 0 %.
    TonerEmpty,
    /// Another marker supply (ink, ribbon, …) used up to 0 %.
    MarkerSupplyEmpty,
}

impl Fault {
    pub const ALL: [Fault; 5] = [
        Fault::MediaJam,
        Fault::MediaEmpty,
        Fault::CoverOpen,
        Fault::TonerEmpty,
        Fault::MarkerSupplyEmpty,
    ];

    /// The name a person uses in the control API and `printlab devices fault`.
    pub fn control_name(self) -> &'static str {
        match self {
            Fault::MediaJam => "jam",
            Fault::MediaEmpty => "paper-out",
            Fault::CoverOpen => "cover-open",
            Fault::TonerEmpty => "toner-empty",
            Fault::MarkerSupplyEmpty => "marker-supply-empty",
        }
    }

    /// The fault a control name stands for.
    pub fn from_control_name(name: &str) -> Option<Fault> {
        Fault::ALL.into_iter().find(|f| f.control_name() == name)
    }

    /// The IPP `printer-state-reasons` keyword.
    pub fn ipp_keyword(self) -> &'static str {
        match self {
            Fault::MediaJam => "media-jam",
            Fault::MediaEmpty => "media-empty",
            Fault::CoverOpen => "cover-open",
            Fault::TonerEmpty => "toner-empty",
            Fault::MarkerSupplyEmpty => "marker-supply-empty",
        }
    }

    /// The Graph `printerProcessingStateDetail` member.
    pub fn graph_detail(self) -> PrinterProcessingStateDetail {
        let name = match self {
            Fault::MediaJam => "mediaJam",
            Fault::MediaEmpty => "mediaEmpty",
            Fault::CoverOpen => "coverOpen",
            Fault::TonerEmpty => "tonerEmpty",
            Fault::MarkerSupplyEmpty => "markerSupplyEmpty",
        };
        PrinterProcessingStateDetail::from_name(name).expect("core member")
    }

    /// What a person must do.
    pub fn remedy(self) -> &'static str {
        match self {
            Fault::MediaJam => "clear the jam",
            Fault::MediaEmpty => "refill the input tray",
            Fault::CoverOpen => "close the cover",
            Fault::TonerEmpty => "replace the toner",
            Fault::MarkerSupplyEmpty => "replace the empty supply",
        }
    }
}

/// The part of an engine's state that outlives the process (kept in the spool).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct FaultMemory {
    pub present: Vec<Fault>,
    pub cover_opened: bool,
    /// Tray and supply levels; absent in spools written before trays and supplies existed.
    #[serde(default)]
    pub levels: Levels,
}

impl FaultSpec {
    /// True while `now` (since device start) falls inside an offline window.
    pub fn is_offline(&self, now: Duration) -> bool {
        self.offline.iter().any(|w| window_contains(w, now))
    }

    /// The next time at or after `now` when the printer goes offline or comes back.
    pub fn next_offline_change(&self, now: Duration) -> Option<Duration> {
        self.offline.iter().filter_map(|w| next_edge(w, now)).min()
    }
}

fn window_contains(w: &OfflineWindow, now: Duration) -> bool {
    if now < w.start {
        return false;
    }
    let offset = match w.every {
        Some(every) if !every.is_zero() => {
            Duration::from_nanos(((now - w.start).as_nanos() % every.as_nanos()) as u64)
        }
        _ => now - w.start,
    };
    offset < w.duration
}

fn next_edge(w: &OfflineWindow, now: Duration) -> Option<Duration> {
    if now < w.start {
        return Some(w.start);
    }
    match w.every {
        Some(every) if !every.is_zero() => {
            let period = (now - w.start).as_nanos() / every.as_nanos();
            let period_start = w.start + Duration::from_nanos((period * every.as_nanos()) as u64);
            let end = period_start + w.duration;
            Some(if now < end { end } else { period_start + every })
        }
        _ => {
            let end = w.start + w.duration;
            (now < end).then_some(end)
        }
    }
}
