//! The table between Graph enum members and IPP keywords and enums, and the look-ups that read
//! it in either direction.

use printlab_graph::*;

/// printColorMode ↔ `print-color-mode` keywords.
pub const COLOR_MODES: &[(PrintColorMode, &str)] = &[
    (PrintColorMode::BlackAndWhite, "bi-level"),
    (PrintColorMode::Grayscale, "monochrome"),
    (PrintColorMode::Color, "color"),
    (PrintColorMode::Auto, "auto"),
];
/// IPP colour modes Graph reads as its nearest member; never produced by Graph → IPP.
pub const COLOR_MODE_ALIASES: &[(&str, PrintColorMode)] = &[
    ("process-bi-level", PrintColorMode::BlackAndWhite),
    ("process-monochrome", PrintColorMode::Grayscale),
    ("auto-monochrome", PrintColorMode::Grayscale),
];

/// printDuplexMode ↔ `sides`.
pub const DUPLEX_MODES: &[(PrintDuplexMode, &str)] = &[
    (PrintDuplexMode::OneSided, "one-sided"),
    (PrintDuplexMode::FlipOnLongEdge, "two-sided-long-edge"),
    (PrintDuplexMode::FlipOnShortEdge, "two-sided-short-edge"),
];

/// printOrientation ↔ `orientation-requested` (RFC 8011 §5.2.10; the Graph values are equal).
pub const ORIENTATIONS: &[(PrintOrientation, i32)] = &[
    (PrintOrientation::Portrait, 3),
    (PrintOrientation::Landscape, 4),
    (PrintOrientation::ReverseLandscape, 5),
    (PrintOrientation::ReversePortrait, 6),
];

/// printQuality ↔ `print-quality` (3 draft, 4 normal, 5 high).
pub const QUALITIES: &[(PrintQuality, i32)] = &[
    (PrintQuality::Low, 3),
    (PrintQuality::Medium, 4),
    (PrintQuality::High, 5),
];

/// printScaling ↔ `print-scaling` (PWG 5100.13). `auto-fit` scales down only: shrinkToFit.
pub const SCALINGS: &[(PrintScaling, &str)] = &[
    (PrintScaling::Auto, "auto"),
    (PrintScaling::ShrinkToFit, "auto-fit"),
    (PrintScaling::Fill, "fill"),
    (PrintScaling::Fit, "fit"),
    (PrintScaling::None, "none"),
];

/// printMultipageLayout ↔ `presentation-direction-number-up`.
///
/// PWG 5100.3 names a keyword by two directions: the first is the way pages follow one another
/// within a row (or column), the second the way the rows (or columns) advance; together they
/// fix the starting corner (`toleft-totop`: rows filled right to left, the first row at the
/// bottom, so page 1 sits bottom right). Graph's `printMultipageLayout` names the starting corner
/// and the turn the first step makes around the sheet's edge from it, as a hand walking the
/// border: from the top-left corner clockwise runs right along the top edge (`toright-tobottom`),
/// counterclockwise runs down the left edge (`tobottom-toright`). The same reading at the other
/// corners: from the bottom right, clockwise runs left along the bottom edge (`toleft-totop`) and
/// counterclockwise runs up the right edge (`totop-toleft`). Microsoft documents only the member
/// names, so this reading is the one that makes all eight names mean what they say; the
/// renderer's `cell_position` places cells by the same rule.
pub const MULTIPAGE_LAYOUTS: &[(PrintMultipageLayout, &str)] = &[
    (
        PrintMultipageLayout::ClockwiseFromTopLeft,
        "toright-tobottom",
    ),
    (
        PrintMultipageLayout::CounterclockwiseFromTopLeft,
        "tobottom-toright",
    ),
    (
        PrintMultipageLayout::CounterclockwiseFromTopRight,
        "toleft-tobottom",
    ),
    (
        PrintMultipageLayout::ClockwiseFromTopRight,
        "tobottom-toleft",
    ),
    (
        PrintMultipageLayout::CounterclockwiseFromBottomLeft,
        "toright-totop",
    ),
    (
        PrintMultipageLayout::ClockwiseFromBottomLeft,
        "totop-toright",
    ),
    (
        PrintMultipageLayout::CounterclockwiseFromBottomRight,
        "totop-toleft",
    ),
    (
        PrintMultipageLayout::ClockwiseFromBottomRight,
        "toleft-totop",
    ),
];

/// printerFeedOrientation ↔ `feed-orientation` (PWG 5100.11).
pub const FEED_ORIENTATIONS: &[(PrinterFeedOrientation, &str)] = &[
    (PrinterFeedOrientation::LongEdgeFirst, "long-edge-first"),
    (PrinterFeedOrientation::ShortEdgeFirst, "short-edge-first"),
];

/// printFinishing ↔ `finishings` enum (PWG 5100.1). Equal numbers for 3–9 and 20–31 only.
pub const FINISHINGS: &[(PrintFinishing, i32)] = &[
    (PrintFinishing::None, 3),
    (PrintFinishing::Staple, 4),
    (PrintFinishing::Punch, 5),
    (PrintFinishing::Cover, 6),
    (PrintFinishing::Bind, 7),
    (PrintFinishing::SaddleStitch, 8),
    (PrintFinishing::StitchEdge, 9),
    (PrintFinishing::Fold, 10),
    (PrintFinishing::Trim, 11),
    (PrintFinishing::Bale, 12),
    (PrintFinishing::BookletMaker, 13),
    (PrintFinishing::Coat, 15),
    (PrintFinishing::Laminate, 16),
    (PrintFinishing::StapleTopLeft, 20),
    (PrintFinishing::StapleBottomLeft, 21),
    (PrintFinishing::StapleTopRight, 22),
    (PrintFinishing::StapleBottomRight, 23),
    (PrintFinishing::StitchLeftEdge, 24),
    (PrintFinishing::StitchTopEdge, 25),
    (PrintFinishing::StitchRightEdge, 26),
    (PrintFinishing::StitchBottomEdge, 27),
    (PrintFinishing::StapleDualLeft, 28),
    (PrintFinishing::StapleDualTop, 29),
    (PrintFinishing::StapleDualRight, 30),
    (PrintFinishing::StapleDualBottom, 31),
    (PrintFinishing::StapleTripleLeft, 32),
    (PrintFinishing::StapleTripleTop, 33),
    (PrintFinishing::StapleTripleRight, 34),
    (PrintFinishing::StapleTripleBottom, 35),
    (PrintFinishing::BindLeft, 50),
    (PrintFinishing::BindTop, 51),
    (PrintFinishing::BindRight, 52),
    (PrintFinishing::BindBottom, 53),
    (PrintFinishing::TrimAfterPages, 60),
    (PrintFinishing::TrimAfterDocuments, 61),
    (PrintFinishing::TrimAfterCopies, 62),
    (PrintFinishing::TrimAfterJob, 63),
    (PrintFinishing::PunchTopLeft, 70),
    (PrintFinishing::PunchBottomLeft, 71),
    (PrintFinishing::PunchTopRight, 72),
    (PrintFinishing::PunchBottomRight, 73),
    (PrintFinishing::PunchDualLeft, 74),
    (PrintFinishing::PunchDualTop, 75),
    (PrintFinishing::PunchDualRight, 76),
    (PrintFinishing::PunchDualBottom, 77),
    (PrintFinishing::PunchTripleLeft, 78),
    (PrintFinishing::PunchTripleTop, 79),
    (PrintFinishing::PunchTripleRight, 80),
    (PrintFinishing::PunchTripleBottom, 81),
    (PrintFinishing::PunchQuadLeft, 82),
    (PrintFinishing::PunchQuadTop, 83),
    (PrintFinishing::PunchQuadRight, 84),
    (PrintFinishing::PunchQuadBottom, 85),
    (PrintFinishing::FoldAccordion, 90),
    (PrintFinishing::FoldDoubleGate, 91),
    (PrintFinishing::FoldGate, 92),
    (PrintFinishing::FoldHalf, 93),
    (PrintFinishing::FoldHalfZ, 94),
    (PrintFinishing::FoldLeftGate, 95),
    (PrintFinishing::FoldLetter, 96),
    (PrintFinishing::FoldParallel, 97),
    (PrintFinishing::FoldPoster, 98),
    (PrintFinishing::FoldRightGate, 99),
    (PrintFinishing::FoldZ, 100),
    (PrintFinishing::FoldEngineeringZ, 101),
];

/// printerProcessingState ↔ `printer-state`.
pub const PRINTER_STATES: &[(PrinterProcessingState, i32)] = &[
    (PrinterProcessingState::Idle, 3),
    (PrinterProcessingState::Processing, 4),
    (PrinterProcessingState::Stopped, 5),
];

/// printJobProcessingState ↔ `job-state` (and `output-device-job-state`).
pub const JOB_STATES: &[(PrintJobProcessingState, i32)] = &[
    (PrintJobProcessingState::Pending, 3),
    (PrintJobProcessingState::Paused, 4),
    (PrintJobProcessingState::Processing, 5),
    (PrintJobProcessingState::Stopped, 6),
    (PrintJobProcessingState::Canceled, 7),
    (PrintJobProcessingState::Aborted, 8),
    (PrintJobProcessingState::Completed, 9),
];

/// printJobStateDetail ↔ `job-state-reasons`.
pub const JOB_STATE_DETAILS: &[(PrintJobStateDetail, &str)] = &[
    (PrintJobStateDetail::UploadPending, "job-incoming"),
    (PrintJobStateDetail::Transforming, "job-transforming"),
    (
        PrintJobStateDetail::CompletedSuccessfully,
        "job-completed-successfully",
    ),
    (
        PrintJobStateDetail::CompletedWithWarnings,
        "job-completed-with-warnings",
    ),
    (
        PrintJobStateDetail::CompletedWithErrors,
        "job-completed-with-errors",
    ),
    (PrintJobStateDetail::ReleaseWait, "job-release-wait"),
    (PrintJobStateDetail::Interpreting, "job-interpreting"),
];

/// Printer state reasons whose IPP keyword is not the kebab-cased Graph name (RFC 8011 spells
/// these three differently).
pub const PRINTER_STATE_REASON_EXCEPTIONS: &[(&str, &str)] = &[
    ("opticalPhotoConductorNearEndOfLife", "opc-near-eol"),
    ("opticalPhotoConductorLifeOver", "opc-life-over"),
    ("stoppedPartially", "stopped-partly"),
];

/// `multiple-document-handling` values for Graph's `collate`.
pub(crate) const COLLATED: &str = "separate-documents-collated-copies";
pub(crate) const UNCOLLATED: &str = "separate-documents-uncollated-copies";

pub(crate) fn to_ipp<G: PartialEq + Copy, I: Copy>(table: &[(G, I)], graph: G) -> Option<I> {
    table.iter().find(|(g, _)| *g == graph).map(|(_, i)| *i)
}

pub(crate) fn to_graph<G: Copy, I: PartialEq + ?Sized>(table: &[(G, &I)], ipp: &I) -> Option<G> {
    table.iter().find(|(_, i)| *i == ipp).map(|(g, _)| *g)
}

pub(crate) fn enum_to_graph<G: Copy>(table: &[(G, i32)], ipp: i32) -> Option<G> {
    table.iter().find(|(_, i)| *i == ipp).map(|(g, _)| *g)
}

pub(crate) fn color_mode_from_ipp(keyword: &str) -> Option<PrintColorMode> {
    to_graph(COLOR_MODES, keyword).or_else(|| {
        COLOR_MODE_ALIASES
            .iter()
            .find(|(k, _)| *k == keyword)
            .map(|(_, g)| *g)
    })
}

/// Graph printer state detail → IPP `printer-state-reasons` keyword.
pub fn printer_state_reason_keyword(detail: &PrinterProcessingStateDetail) -> String {
    let name = detail.as_str();
    if let Some((_, kw)) = PRINTER_STATE_REASON_EXCEPTIONS
        .iter()
        .find(|(g, _)| *g == name)
    {
        return (*kw).to_owned();
    }
    let mut out = String::with_capacity(name.len() + 4);
    for c in name.chars() {
        if c.is_ascii_uppercase() {
            out.push('-');
            out.push(c.to_ascii_lowercase());
        } else {
            out.push(c);
        }
    }
    out
}

/// IPP `printer-state-reasons` keyword (with or without a severity suffix) → Graph member.
/// The whole keyword is tried first, because some PWG keywords end in "-error" themselves
/// (`bander-unrecoverable-storage-error`).
pub fn printer_state_detail_from_keyword(keyword: &str) -> Option<PrinterProcessingStateDetail> {
    detail_from_bare_keyword(keyword).or_else(|| {
        ["-report", "-warning", "-error"]
            .iter()
            .find_map(|suffix| keyword.strip_suffix(suffix))
            .and_then(detail_from_bare_keyword)
    })
}

pub(crate) fn detail_from_bare_keyword(bare: &str) -> Option<PrinterProcessingStateDetail> {
    if let Some((g, _)) = PRINTER_STATE_REASON_EXCEPTIONS
        .iter()
        .find(|(_, k)| *k == bare)
    {
        return PrinterProcessingStateDetail::from_name(g);
    }
    let mut camel = String::with_capacity(bare.len());
    let mut upper = false;
    for c in bare.chars() {
        if c == '-' {
            upper = true;
        } else if upper {
            camel.push(c.to_ascii_uppercase());
            upper = false;
        } else {
            camel.push(c);
        }
    }
    // Only a keyword that kebab-cases back to itself names the member (no "media--jam").
    let detail = PrinterProcessingStateDetail::from_name(&camel)?;
    (printer_state_reason_keyword(&detail) == bare).then_some(detail)
}

/// IPP `marker-types` keywords (RFC 3805 `PrtMarkerSuppliesTypeTC`, as IPP spells them).
pub const MARKER_TYPES: &[&str] = &[
    "banding-supply",
    "binding-supply",
    "cleaner-unit",
    "corona-wire",
    "covers",
    "developer",
    "fuser",
    "fuser-cleaning-pad",
    "fuser-oil",
    "fuser-oil-wick",
    "fuser-oiler",
    "glue-water-additive",
    "ink",
    "ink-cartridge",
    "ink-ribbon",
    "inserts",
    "opc",
    "other",
    "paper-wrap",
    "ribbon-wax",
    "shrink-wrap",
    "solid-wax",
    "staples",
    "stitching-wire",
    "toner",
    "toner-cartridge",
    "transfer-unit",
    "unknown",
    "waste-ink",
    "waste-paper",
    "waste-toner",
    "waste-water",
    "waste-wax",
    "water",
];

#[cfg(test)]
mod tests {
    use super::*;

    /// Every member of a Graph enum is in its table exactly once, except the ones listed.
    fn covers<G: GraphEnum + PartialEq + std::fmt::Debug, I>(table: &[(G, I)], without: &[G]) {
        for member in G::ALL {
            let count = table.iter().filter(|(g, _)| g == member).count();
            let expected = usize::from(!without.contains(member));
            assert_eq!(count, expected, "{member:?}");
        }
    }

    #[test]
    fn tables_cover_every_graph_member_once() {
        use PrintColorMode as C;
        covers(COLOR_MODES, &[C::UnknownFutureValue]);
        covers(DUPLEX_MODES, &[PrintDuplexMode::UnknownFutureValue]);
        covers(ORIENTATIONS, &[PrintOrientation::UnknownFutureValue]);
        covers(QUALITIES, &[PrintQuality::UnknownFutureValue]);
        covers(SCALINGS, &[PrintScaling::UnknownFutureValue]);
        covers(
            MULTIPAGE_LAYOUTS,
            &[PrintMultipageLayout::UnknownFutureValue],
        );
        covers(
            FEED_ORIENTATIONS,
            &[PrinterFeedOrientation::UnknownFutureValue],
        );
        covers(FINISHINGS, &[PrintFinishing::UnknownFutureValue]);
        covers(
            PRINTER_STATES,
            &[
                PrinterProcessingState::Unknown,
                PrinterProcessingState::UnknownFutureValue,
            ],
        );
        covers(
            JOB_STATES,
            &[
                PrintJobProcessingState::Unknown,
                PrintJobProcessingState::UnknownFutureValue,
            ],
        );
        covers(
            JOB_STATE_DETAILS,
            &[PrintJobStateDetail::UnknownFutureValue],
        );
    }

    #[test]
    fn ipp_sides_are_distinct() {
        fn distinct<G, I: PartialEq + std::fmt::Debug>(table: &[(G, I)]) {
            for (i, (_, a)) in table.iter().enumerate() {
                assert!(table[i + 1..].iter().all(|(_, b)| a != b), "{a:?} twice");
            }
        }
        distinct(COLOR_MODES);
        distinct(DUPLEX_MODES);
        distinct(ORIENTATIONS);
        distinct(QUALITIES);
        distinct(SCALINGS);
        distinct(MULTIPAGE_LAYOUTS);
        distinct(FEED_ORIENTATIONS);
        distinct(FINISHINGS);
        distinct(JOB_STATES);
        distinct(JOB_STATE_DETAILS);
    }

    #[test]
    fn finishings_share_numbers_where_graph_says_they_do() {
        for (g, ipp) in FINISHINGS {
            let graph_value = PrintFinishing::ALL.iter().position(|m| m == g).unwrap() as i32 + 3;
            let graph_value = if graph_value >= 10 {
                graph_value + 10
            } else {
                graph_value
            };
            if (3..=9).contains(ipp) || (20..=31).contains(ipp) {
                assert_eq!(graph_value, *ipp, "{g:?}");
            }
        }
    }

    #[test]
    fn every_printer_state_detail_round_trips_through_its_keyword() {
        let mut count = 0;
        for detail in PrinterProcessingStateDetail::all() {
            let kw = printer_state_reason_keyword(&detail);
            assert!(
                kw.chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-'),
                "{kw}"
            );
            assert_eq!(
                printer_state_detail_from_keyword(&kw),
                Some(detail.clone()),
                "{kw}"
            );
            for suffix in ["-report", "-warning", "-error"] {
                assert_eq!(
                    printer_state_detail_from_keyword(&format!("{kw}{suffix}")),
                    Some(detail.clone())
                );
            }
            count += 1;
        }
        assert_eq!(count, 826);
        let jam = PrinterProcessingStateDetail::from_name("mediaJam").unwrap();
        assert_eq!(printer_state_reason_keyword(&jam), "media-jam");
        assert_eq!(
            printer_state_detail_from_keyword("opc-near-eol-warning")
                .unwrap()
                .as_str(),
            "opticalPhotoConductorNearEndOfLife"
        );
        assert_eq!(
            printer_state_detail_from_keyword("stopped-partly")
                .unwrap()
                .as_str(),
            "stoppedPartially"
        );
        assert_eq!(printer_state_detail_from_keyword("no-such-reason"), None);
    }
}
