//! What the engine uses up as sheets come out: the paper in the declared trays and the marker
//! supplies. Their levels are physical, so they outlive a restart (kept in the spool with the
//! faults); a restarted lab does not silently refill a tray.

use printlab_graph::PrinterProcessingStateDetail;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// One loaded input tray (`[[printer.trays]]`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Tray {
    /// One of the printer's input bins.
    pub name: String,
    /// Graph media size name of the loaded paper.
    pub media_size: String,
    pub media_type: Option<String>,
    /// Sheets the tray holds when full.
    pub capacity: u64,
    /// Sheets loaded at first start; `None`: the tray never runs out.
    pub level: Option<u64>,
}

/// One marker supply (`[[printer.supplies]]`), levels in percent.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Supply {
    pub name: String,
    /// IPP `marker-types` keyword (`toner`, `ink`, …).
    pub kind: String,
    /// IPP `marker-colors`: `#RRGGBB` or `none`.
    pub color: Option<String>,
    pub level: u8,
    /// At or below this the printer reports the supply low.
    pub low: u8,
    pub high: u8,
    /// Sheets printed per percent used; `None`: the level never changes.
    pub sheets_per_percent: Option<u64>,
}

impl Supply {
    /// Toner has its own Graph details (`tonerLow`, `tonerEmpty`); every other kind reports as a
    /// marker supply.
    pub fn is_toner(&self) -> bool {
        self.kind == "toner"
    }
}

/// A supply at or below its low mark: reported while the printer keeps printing.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum SupplyWarning {
    TonerLow,
    MarkerSupplyLow,
}

impl SupplyWarning {
    pub fn of(supply: &Supply) -> Self {
        if supply.is_toner() {
            SupplyWarning::TonerLow
        } else {
            SupplyWarning::MarkerSupplyLow
        }
    }

    /// The IPP `printer-state-reasons` keyword.
    pub fn ipp_keyword(self) -> &'static str {
        match self {
            SupplyWarning::TonerLow => "toner-low",
            SupplyWarning::MarkerSupplyLow => "marker-supply-low",
        }
    }

    /// The Graph `printerProcessingStateDetail` member.
    pub fn graph_detail(self) -> PrinterProcessingStateDetail {
        let name = match self {
            SupplyWarning::TonerLow => "tonerLow",
            SupplyWarning::MarkerSupplyLow => "markerSupplyLow",
        };
        PrinterProcessingStateDetail::from_name(name).expect("core member")
    }
}

/// A supply's level now: whole percent, and the sheets printed towards the next percent.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SupplyLevel {
    pub percent: u8,
    pub sheets_into_percent: u64,
}

/// The levels now, by tray and supply name, as the spool keeps them. Only trays with a level
/// appear in `trays`, and only trays whose paper a person changed in `media`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Levels {
    pub trays: BTreeMap<String, u64>,
    pub supplies: BTreeMap<String, SupplyLevel>,
    /// Graph media size name loaded in a tray, where it is not what `printers.toml` declares;
    /// absent in spools written before media could be changed.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub media: BTreeMap<String, String>,
}
