//! Graph print enums. Each serialises as its member name (never the number).
//!
//! Evolvable enums (members after `unknownFutureValue`) only reach clients that send
//! `Prefer: include-unknown-enum-members`; [`GraphEnum::is_evolvable`] tells the cloud which
//! members to replace with `unknownFutureValue` for the others.

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::fmt;

/// What every Graph enum offers beyond serde: its member names, in metadata order.
pub trait GraphEnum: Sized + Copy + 'static {
    /// Every member, `unknownFutureValue` included, in metadata order.
    const ALL: &'static [Self];
    /// The member name as it travels in JSON.
    fn as_str(self) -> &'static str;
    /// True for members that only clients sending `Prefer: include-unknown-enum-members` see.
    fn is_evolvable(self) -> bool {
        false
    }
    /// Looks a member up by its JSON name.
    fn from_name(name: &str) -> Option<Self> {
        Self::ALL.iter().copied().find(|m| m.as_str() == name)
    }
}

macro_rules! graph_enum {
    ($(#[$meta:meta])* $name:ident { $($variant:ident = $text:literal),+ $(,)? }) => {
        graph_enum!($(#[$meta])* $name { $($variant = $text),+ } evolvable_from None);
    };
    ($(#[$meta:meta])* $name:ident { $($variant:ident = $text:literal),+ $(,)? } evolvable_from $first:expr) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum $name { $($variant),+ }

        impl GraphEnum for $name {
            const ALL: &'static [Self] = &[$(Self::$variant),+];
            fn as_str(self) -> &'static str {
                match self { $(Self::$variant => $text),+ }
            }
            fn is_evolvable(self) -> bool {
                let first: Option<Self> = $first;
                first.is_some_and(|f| self >= f)
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl Serialize for $name {
            fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_str(self.as_str())
            }
        }

        impl<'de> Deserialize<'de> for $name {
            fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let name = <std::borrow::Cow<'de, str>>::deserialize(d)?;
                Self::from_name(&name).ok_or_else(|| {
                    serde::de::Error::custom(format_args!(
                        "`{name}` is not a member of {}",
                        stringify!($name)
                    ))
                })
            }
        }
    };
}

graph_enum!(
    /// printJobProcessingState.
    PrintJobProcessingState {
        Unknown = "unknown", Pending = "pending", Processing = "processing", Paused = "paused",
        Stopped = "stopped", Completed = "completed", Canceled = "canceled", Aborted = "aborted",
        UnknownFutureValue = "unknownFutureValue",
    }
);

impl PrintJobProcessingState {
    /// A job in a terminal state never changes again.
    pub fn is_terminal(self) -> bool {
        matches!(self, Self::Completed | Self::Canceled | Self::Aborted)
    }
}

graph_enum!(
    /// printJobStateDetail (the docs call it printJobProcessingDetail; the CSDL name wins).
    PrintJobStateDetail {
        UploadPending = "uploadPending", Transforming = "transforming",
        CompletedSuccessfully = "completedSuccessfully", CompletedWithWarnings = "completedWithWarnings",
        CompletedWithErrors = "completedWithErrors", ReleaseWait = "releaseWait",
        Interpreting = "interpreting", UnknownFutureValue = "unknownFutureValue",
    }
);

graph_enum!(
    /// printerProcessingState.
    PrinterProcessingState {
        Unknown = "unknown", Idle = "idle", Processing = "processing", Stopped = "stopped",
        UnknownFutureValue = "unknownFutureValue",
    }
);

graph_enum!(
    /// printColorMode.
    PrintColorMode {
        BlackAndWhite = "blackAndWhite", Grayscale = "grayscale", Color = "color", Auto = "auto",
        UnknownFutureValue = "unknownFutureValue",
    }
);

graph_enum!(
    /// printDuplexMode.
    PrintDuplexMode {
        FlipOnLongEdge = "flipOnLongEdge", FlipOnShortEdge = "flipOnShortEdge", OneSided = "oneSided",
        UnknownFutureValue = "unknownFutureValue",
    }
);

graph_enum!(
    /// printerFeedOrientation.
    PrinterFeedOrientation {
        LongEdgeFirst = "longEdgeFirst", ShortEdgeFirst = "shortEdgeFirst",
        UnknownFutureValue = "unknownFutureValue",
    }
);

graph_enum!(
    /// printOrientation; the CSDL values (3–6) equal IPP `orientation-requested`.
    PrintOrientation {
        Portrait = "portrait", Landscape = "landscape", ReverseLandscape = "reverseLandscape",
        ReversePortrait = "reversePortrait", UnknownFutureValue = "unknownFutureValue",
    }
);

graph_enum!(
    /// printQuality.
    PrintQuality { Low = "low", Medium = "medium", High = "high", UnknownFutureValue = "unknownFutureValue" }
);

graph_enum!(
    /// printScaling.
    PrintScaling {
        Auto = "auto", ShrinkToFit = "shrinkToFit", Fill = "fill", Fit = "fit", None = "none",
        UnknownFutureValue = "unknownFutureValue",
    }
);

graph_enum!(
    /// printMultipageLayout (note the lower-case "clockwise" in "counterclockwise").
    PrintMultipageLayout {
        ClockwiseFromTopLeft = "clockwiseFromTopLeft",
        CounterclockwiseFromTopLeft = "counterclockwiseFromTopLeft",
        CounterclockwiseFromTopRight = "counterclockwiseFromTopRight",
        ClockwiseFromTopRight = "clockwiseFromTopRight",
        CounterclockwiseFromBottomLeft = "counterclockwiseFromBottomLeft",
        ClockwiseFromBottomLeft = "clockwiseFromBottomLeft",
        CounterclockwiseFromBottomRight = "counterclockwiseFromBottomRight",
        ClockwiseFromBottomRight = "clockwiseFromBottomRight",
        UnknownFutureValue = "unknownFutureValue",
    }
);

graph_enum!(
    /// printEvent.
    PrintEvent { JobStarted = "jobStarted", UnknownFutureValue = "unknownFutureValue" }
);

graph_enum!(
    /// printTaskProcessingState.
    PrintTaskProcessingState {
        Pending = "pending", Processing = "processing", Completed = "completed", Aborted = "aborted",
        UnknownFutureValue = "unknownFutureValue",
    }
);

graph_enum!(
    /// printOperationProcessingState.
    PrintOperationProcessingState {
        NotStarted = "notStarted", Running = "running", Succeeded = "succeeded", Failed = "failed",
        UnknownFutureValue = "unknownFutureValue",
    }
);

graph_enum!(
    /// printFinishing. Values 3–9 and 20–31 equal IPP `finishings`; members after
    /// `unknownFutureValue` (Graph value 33 on) are evolvable.
    PrintFinishing {
        None = "none", Staple = "staple", Punch = "punch", Cover = "cover", Bind = "bind",
        SaddleStitch = "saddleStitch", StitchEdge = "stitchEdge", StapleTopLeft = "stapleTopLeft",
        StapleBottomLeft = "stapleBottomLeft", StapleTopRight = "stapleTopRight",
        StapleBottomRight = "stapleBottomRight", StitchLeftEdge = "stitchLeftEdge",
        StitchTopEdge = "stitchTopEdge", StitchRightEdge = "stitchRightEdge",
        StitchBottomEdge = "stitchBottomEdge", StapleDualLeft = "stapleDualLeft",
        StapleDualTop = "stapleDualTop", StapleDualRight = "stapleDualRight",
        StapleDualBottom = "stapleDualBottom", UnknownFutureValue = "unknownFutureValue",
        StapleTripleLeft = "stapleTripleLeft", StapleTripleTop = "stapleTripleTop",
        StapleTripleRight = "stapleTripleRight", StapleTripleBottom = "stapleTripleBottom",
        BindLeft = "bindLeft", BindTop = "bindTop", BindRight = "bindRight", BindBottom = "bindBottom",
        FoldAccordion = "foldAccordion", FoldDoubleGate = "foldDoubleGate", FoldGate = "foldGate",
        FoldHalf = "foldHalf", FoldHalfZ = "foldHalfZ", FoldLeftGate = "foldLeftGate",
        FoldLetter = "foldLetter", FoldParallel = "foldParallel", FoldPoster = "foldPoster",
        FoldRightGate = "foldRightGate", FoldZ = "foldZ", FoldEngineeringZ = "foldEngineeringZ",
        PunchTopLeft = "punchTopLeft", PunchBottomLeft = "punchBottomLeft",
        PunchTopRight = "punchTopRight", PunchBottomRight = "punchBottomRight",
        PunchDualLeft = "punchDualLeft", PunchDualTop = "punchDualTop",
        PunchDualRight = "punchDualRight", PunchDualBottom = "punchDualBottom",
        PunchTripleLeft = "punchTripleLeft", PunchTripleTop = "punchTripleTop",
        PunchTripleRight = "punchTripleRight", PunchTripleBottom = "punchTripleBottom",
        PunchQuadLeft = "punchQuadLeft", PunchQuadTop = "punchQuadTop",
        PunchQuadRight = "punchQuadRight", PunchQuadBottom = "punchQuadBottom", Fold = "fold",
        Trim = "trim", Bale = "bale", BookletMaker = "bookletMaker", Coat = "coat",
        Laminate = "laminate", TrimAfterPages = "trimAfterPages",
        TrimAfterDocuments = "trimAfterDocuments", TrimAfterCopies = "trimAfterCopies",
        TrimAfterJob = "trimAfterJob",
    } evolvable_from Some(PrintFinishing::StapleTripleLeft)
);

/// The 35 core members of printerProcessingStateDetail (v1.0 values 0–36 with gaps at 1 and 8).
const CORE_PRINTER_STATE_DETAILS: &[&str] = &[
    "paused",
    "mediaJam",
    "mediaNeeded",
    "mediaLow",
    "mediaEmpty",
    "coverOpen",
    "interlockOpen",
    "outputTrayMissing",
    "outputAreaFull",
    "markerSupplyLow",
    "markerSupplyEmpty",
    "inputTrayMissing",
    "outputAreaAlmostFull",
    "markerWasteAlmostFull",
    "markerWasteFull",
    "fuserOverTemp",
    "fuserUnderTemp",
    "other",
    "none",
    "movingToPaused",
    "shutdown",
    "connectingToDevice",
    "timedOut",
    "stopping",
    "stoppedPartially",
    "tonerLow",
    "tonerEmpty",
    "spoolAreaFull",
    "doorOpen",
    "opticalPhotoConductorNearEndOfLife",
    "opticalPhotoConductorLifeOver",
    "developerLow",
    "developerEmpty",
    "interpreterResourceUnavailable",
    "unknownFutureValue",
];

/// The 791 evolvable members (values 37–827), one per line, in metadata order.
const EVOLVABLE_PRINTER_STATE_DETAILS: &str = include_str!("printer_state_details_evolvable.txt");

/// printerProcessingStateDetail: 826 members, too many for a Rust enum to be worth it, so a
/// member is a checked name. Construct with [`PrinterProcessingStateDetail::from_name`].
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct PrinterProcessingStateDetail(std::borrow::Cow<'static, str>);

impl PrinterProcessingStateDetail {
    /// The member with this name, if the v1.0 metadata has it.
    pub fn from_name(name: &str) -> Option<Self> {
        if let Some(core) = CORE_PRINTER_STATE_DETAILS.iter().find(|m| **m == name) {
            return Some(Self((*core).into()));
        }
        EVOLVABLE_PRINTER_STATE_DETAILS
            .lines()
            .find(|m| *m == name)
            .map(|m| Self(m.into()))
    }

    /// The member name as it travels in JSON.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Every member, core first, in metadata order.
    pub fn all() -> impl Iterator<Item = Self> {
        CORE_PRINTER_STATE_DETAILS
            .iter()
            .copied()
            .chain(EVOLVABLE_PRINTER_STATE_DETAILS.lines())
            .map(|m| Self(m.into()))
    }

    /// True for members after `unknownFutureValue`.
    pub fn is_evolvable(&self) -> bool {
        !CORE_PRINTER_STATE_DETAILS.contains(&self.as_str())
    }
}

impl fmt::Display for PrinterProcessingStateDetail {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl Serialize for PrinterProcessingStateDetail {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.0)
    }
}

impl<'de> Deserialize<'de> for PrinterProcessingStateDetail {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let name = <std::borrow::Cow<'de, str>>::deserialize(d)?;
        Self::from_name(&name).ok_or_else(|| {
            serde::de::Error::custom(format_args!(
                "`{name}` is not a member of printerProcessingStateDetail"
            ))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn enums_round_trip_by_member_name() {
        for m in PrintMultipageLayout::ALL {
            let json = serde_json::to_string(m).unwrap();
            assert_eq!(json, format!("\"{}\"", m.as_str()));
            assert_eq!(
                serde_json::from_str::<PrintMultipageLayout>(&json).unwrap(),
                *m
            );
        }
        assert!(serde_json::from_str::<PrintColorMode>("\"colour\"").is_err());
    }

    #[test]
    fn finishings_after_unknown_future_value_are_evolvable() {
        assert!(!PrintFinishing::StapleDualBottom.is_evolvable());
        assert!(!PrintFinishing::UnknownFutureValue.is_evolvable());
        assert!(PrintFinishing::StapleTripleLeft.is_evolvable());
        assert!(PrintFinishing::TrimAfterJob.is_evolvable());
        assert!(!PrintColorMode::Auto.is_evolvable());
    }

    #[test]
    fn printer_state_details_know_all_826_members() {
        assert_eq!(CORE_PRINTER_STATE_DETAILS.len(), 35);
        assert_eq!(EVOLVABLE_PRINTER_STATE_DETAILS.lines().count(), 791);
        let jam = PrinterProcessingStateDetail::from_name("mediaJam").unwrap();
        assert!(!jam.is_evolvable());
        let stapler = PrinterProcessingStateDetail::from_name("staplerJam").unwrap();
        assert!(stapler.is_evolvable());
        assert!(PrinterProcessingStateDetail::from_name("disconnected").is_none());
    }
}
