//! The one table between IPP attributes (PWG 5100.18 device side) and Graph (client side).
//!
//! Devices describe themselves in IPP (Update-Output-Device-Attributes) and the cloud serves
//! Graph; jobs travel the other way (Graph `printJobConfiguration` → job template attributes in
//! Fetch-Job). Every Graph member and every common IPP value has an explicit entry below; a
//! value without a counterpart is never silently dropped but reported as [`Unmapped`] with the
//! reason, so callers can log it or answer `successful-ok-ignored-or-substituted-attributes`.
//!
//! Answers for values without a counterpart (also checked by the tests):
//! - Graph `unknownFutureValue` (every enum): never sent to IPP.
//! - Graph `unknown` printer/job state: IPP has no "unknown" state; the attribute is left out.
//! - IPP `print-color-mode` `highlight`: no Graph member; `process-bi-level`,
//!   `process-monochrome` and `auto-monochrome` are read (one way) as blackAndWhite, grayscale,
//!   grayscale.
//! - IPP `orientation-requested` 7 (none): no Graph member.
//! - IPP `finishings` without a Graph member (jog-offset 14, punch-multiple-* 86–89, vendor
//!   values): dropped.
//! - Non-square or dots-per-cm resolutions: dpcm is converted to dpi when the result is whole;
//!   non-square resolutions have no Graph counterpart (`dpis` is a single number).
//! - Media sizes: only the sizes in [`printlab_graph::MEDIA_SIZES`] cross; an unknown PWG name or a
//!   custom size is dropped (a known size given only by dimensions is recognised).
//! - Margins: Graph counts microns, IPP hundredths of millimetres (10 µm); Graph margins that
//!   are not multiples of 10 µm are rounded down and reported.
//! - Empty Graph lists: IPP cannot send an empty 1setOf, so `Some([])` becomes "not sent" and
//!   reads back as `None`.
//! - Printer state reasons: IPP severity suffixes (-report, -warning, -error) are dropped on the
//!   way to Graph (Graph has no severity); Graph → IPP sends the bare keyword, as RFC 8011
//!   permits. Keywords that name no Graph member are reported.
//! - Job state reasons without a Graph detail (e.g. `job-printing`, `job-queued`) are dropped;
//!   `printJobStatus.isAcquiredByPrinter` is the cloud's knowledge (Acknowledge-Job), not an IPP
//!   attribute, so the caller supplies it.

mod ticket;
pub use ticket::{TicketError, media_by_name, media_of, ticket_from_graph};

use printlab_graph::*;
use printlab_ipp::{Attribute, AttributeLookup, Value};

/// A value that has no counterpart on the other side.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unmapped {
    /// The Graph property or IPP attribute it came from.
    pub attribute: String,
    pub value: String,
    pub reason: &'static str,
}

/// A mapped value plus everything that could not be mapped.
#[derive(Debug, Clone, PartialEq)]
pub struct Mapped<T> {
    pub value: T,
    pub unmapped: Vec<Unmapped>,
}

// ---------------------------------------------------------------------------------------------
// The table.
// ---------------------------------------------------------------------------------------------

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

/// printMultipageLayout ↔ `presentation-direction-number-up`. Moving right along the top edge
/// from the top-left corner is clockwise; moving down from it is counterclockwise; and so on
/// for each corner.
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
        "toleft-totop",
    ),
    (
        PrintMultipageLayout::ClockwiseFromBottomRight,
        "totop-toleft",
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
const COLLATED: &str = "separate-documents-collated-copies";
const UNCOLLATED: &str = "separate-documents-uncollated-copies";

// ---------------------------------------------------------------------------------------------
// Table look-ups.
// ---------------------------------------------------------------------------------------------

fn to_ipp<G: PartialEq + Copy, I: Copy>(table: &[(G, I)], graph: G) -> Option<I> {
    table.iter().find(|(g, _)| *g == graph).map(|(_, i)| *i)
}

fn to_graph<G: Copy, I: PartialEq + ?Sized>(table: &[(G, &I)], ipp: &I) -> Option<G> {
    table.iter().find(|(_, i)| *i == ipp).map(|(g, _)| *g)
}

fn enum_to_graph<G: Copy>(table: &[(G, i32)], ipp: i32) -> Option<G> {
    table.iter().find(|(_, i)| *i == ipp).map(|(g, _)| *g)
}

fn color_mode_from_ipp(keyword: &str) -> Option<PrintColorMode> {
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

fn detail_from_bare_keyword(bare: &str) -> Option<PrinterProcessingStateDetail> {
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

// ---------------------------------------------------------------------------------------------
// Building blocks.
// ---------------------------------------------------------------------------------------------

#[derive(Default)]
struct Notes(Vec<Unmapped>);

impl Notes {
    fn add(&mut self, attribute: &str, value: impl ToString, reason: &'static str) {
        self.0.push(Unmapped {
            attribute: attribute.to_owned(),
            value: value.to_string(),
            reason,
        });
    }
}

const NO_IPP: &str = "no IPP counterpart";
const NO_GRAPH: &str = "no Graph counterpart";
const UNKNOWN_SIZE: &str = "not a media size printlab knows (model::MEDIA_SIZES)";

/// Graph list → 1setOf, each value through `f`; values `f` rejects are reported.
fn set_of<T: Copy + std::fmt::Display>(
    out: &mut Vec<Attribute>,
    notes: &mut Notes,
    name: &str,
    list: &Option<Vec<T>>,
    f: impl Fn(T) -> Option<Value>,
) {
    let Some(list) = list else { return };
    let values: Vec<Value> = list
        .iter()
        .filter_map(|v| {
            let mapped = f(*v);
            if mapped.is_none() {
                notes.add(name, v, NO_IPP);
            }
            mapped
        })
        .collect();
    if !values.is_empty() {
        out.push(Attribute::set(name, values));
    }
}

/// IPP 1setOf → Graph list, each value through `f`; values `f` rejects are reported.
fn list_from<T>(
    attrs: &[Attribute],
    notes: &mut Notes,
    name: &str,
    f: impl Fn(&Value) -> Option<T>,
) -> Option<Vec<T>> {
    let attribute = attrs.attr(name)?;
    let mut out = Vec::with_capacity(attribute.values.len());
    for v in &attribute.values {
        match f(v) {
            Some(t) => out.push(t),
            None => notes.add(name, v, NO_GRAPH),
        }
    }
    Some(out)
}

fn single_from<T>(
    attrs: &[Attribute],
    notes: &mut Notes,
    name: &str,
    f: impl Fn(&Value) -> Option<T>,
) -> Option<T> {
    let v = attrs.first_value(name)?;
    let mapped = f(v);
    if mapped.is_none() {
        notes.add(name, v, NO_GRAPH);
    }
    mapped
}

fn keyword_of<G: Copy>(table: &'static [(G, &'static str)]) -> impl Fn(&Value) -> Option<G> {
    move |v| v.as_keyword().and_then(|k| to_graph(table, k))
}

fn enum_of<G: Copy>(table: &'static [(G, i32)]) -> impl Fn(&Value) -> Option<G> {
    move |v| v.as_enum().and_then(|e| enum_to_graph(table, e))
}

fn dpi_of(v: &Value) -> Option<i32> {
    match *v {
        Value::Resolution {
            cross_feed,
            feed,
            units,
        } if cross_feed == feed => match units {
            printlab_ipp::model::UNITS_DOTS_PER_INCH => Some(cross_feed),
            printlab_ipp::model::UNITS_DOTS_PER_CM => {
                let hundredths = cross_feed as i64 * 254;
                (hundredths % 100 == 0).then_some((hundredths / 100) as i32)
            }
            _ => None,
        },
        _ => None,
    }
}

fn micron_to_ipp(notes: &mut Notes, name: &str, microns: i32) -> i32 {
    if microns % 10 != 0 {
        notes.add(
            name,
            microns,
            "not a multiple of 10 µm (IPP counts hundredths of mm); rounded down",
        );
    }
    microns / 10
}

/// media-size collection for a known size.
fn media_size_col(size: &MediaSize) -> Value {
    Value::Collection(vec![
        Attribute::new("x-dimension", Value::Integer(size.width as i32)),
        Attribute::new("y-dimension", Value::Integer(size.height as i32)),
    ])
}

/// The known size a media-col names, by `media-size-name` or by dimensions.
fn size_of_media_col(col: &[Attribute]) -> Option<&'static MediaSize> {
    if let Some(size) = col
        .keyword("media-size-name")
        .and_then(MediaSize::by_pwg_name)
    {
        return Some(size);
    }
    let dims = col.collection("media-size")?;
    let (x, y) = (dims.integer("x-dimension")?, dims.integer("y-dimension")?);
    MEDIA_SIZES
        .iter()
        .find(|m| (m.width as i32 - x).abs() <= 1 && (m.height as i32 - y).abs() <= 1)
}

const MARGIN_MEMBERS: [&str; 4] = [
    "media-top-margin",
    "media-bottom-margin",
    "media-left-margin",
    "media-right-margin",
];

// ---------------------------------------------------------------------------------------------
// Printer capabilities and defaults.
// ---------------------------------------------------------------------------------------------

/// Graph capabilities and defaults → IPP printer attributes (Update-Output-Device-Attributes).
pub fn printer_attributes_from_graph(
    caps: &PrinterCapabilities,
    defaults: &PrinterDefaults,
) -> Mapped<Vec<Attribute>> {
    let mut out = Vec::new();
    let mut notes = Notes::default();
    let n = &mut notes;

    // Capabilities.
    let margin_lists = [
        &caps.top_margins,
        &caps.bottom_margins,
        &caps.left_margins,
        &caps.right_margins,
    ];
    for (member, list) in MARGIN_MEMBERS.iter().zip(margin_lists) {
        let name = format!("{member}-supported");
        if let Some(list) = list.as_ref().filter(|l| !l.is_empty()) {
            let values = list
                .iter()
                .map(|m| Value::Integer(micron_to_ipp(n, &name, *m)))
                .collect::<Vec<_>>();
            out.push(Attribute::set(name, values));
        }
    }
    if let Some(collate) = caps.collation {
        let mut handling = vec![Value::keyword(UNCOLLATED)];
        if collate {
            handling.push(Value::keyword(COLLATED));
        }
        out.push(Attribute::set(
            "multiple-document-handling-supported",
            handling,
        ));
    }
    set_of(
        &mut out,
        n,
        "print-color-mode-supported",
        &caps.color_modes,
        |m| to_ipp(COLOR_MODES, m).map(Value::keyword),
    );
    if let Some(types) = caps.content_types.as_ref().filter(|l| !l.is_empty()) {
        out.push(Attribute::set(
            "document-format-supported",
            types.iter().map(|t| Value::mime_media_type(t.clone())),
        ));
    }
    if let Some(range) = caps.copies_per_job {
        match (i32::try_from(range.start), i32::try_from(range.end)) {
            (Ok(lower), Ok(upper)) => out.push(Attribute::new(
                "copies-supported",
                Value::RangeOfInteger { lower, upper },
            )),
            _ => n.add(
                "copiesPerJob",
                format!("{}-{}", range.start, range.end),
                "outside IPP's 32-bit integers",
            ),
        }
    }
    set_of(
        &mut out,
        n,
        "printer-resolution-supported",
        &caps.dpis,
        |d| Some(Value::dpi(d)),
    );
    set_of(&mut out, n, "sides-supported", &caps.duplex_modes, |m| {
        to_ipp(DUPLEX_MODES, m).map(Value::keyword)
    });
    set_of(
        &mut out,
        n,
        "feed-orientation-supported",
        &caps.feed_orientations,
        |m| to_ipp(FEED_ORIENTATIONS, m).map(Value::keyword),
    );
    set_of(&mut out, n, "finishings-supported", &caps.finishings, |f| {
        to_ipp(FINISHINGS, f).map(Value::Enum)
    });
    push_strings(&mut out, "media-source-supported", &caps.input_bins);
    if let Some(color) = caps.is_color_printing_supported {
        out.push(Attribute::new("color-supported", Value::Boolean(color)));
    }
    if let Some(ranges) = caps.is_page_range_supported {
        out.push(Attribute::new(
            "page-ranges-supported",
            Value::Boolean(ranges),
        ));
    }
    push_strings(&mut out, "media-color-supported", &caps.media_colors);
    let mut sizes = Vec::new();
    for name in caps.media_sizes.iter().flatten() {
        match MediaSize::by_graph_name(name) {
            Some(size) => sizes.push(size),
            None => n.add("mediaSizes", name, UNKNOWN_SIZE),
        }
    }
    if !sizes.is_empty() {
        out.push(Attribute::set(
            "media-supported",
            sizes.iter().map(|s| Value::keyword(s.pwg_name)),
        ));
        out.push(Attribute::set(
            "media-col-database",
            media_col_database(&sizes, caps),
        ));
    }
    push_strings(&mut out, "media-type-supported", &caps.media_types);
    set_of(
        &mut out,
        n,
        "presentation-direction-number-up-supported",
        &caps.multipage_layouts,
        |m| to_ipp(MULTIPAGE_LAYOUTS, m).map(Value::keyword),
    );
    set_of(
        &mut out,
        n,
        "orientation-requested-supported",
        &caps.orientations,
        |o| to_ipp(ORIENTATIONS, o).map(Value::Enum),
    );
    push_strings(&mut out, "output-bin-supported", &caps.output_bins);
    set_of(
        &mut out,
        n,
        "number-up-supported",
        &caps.pages_per_sheet,
        |p| Some(Value::Integer(p)),
    );
    set_of(
        &mut out,
        n,
        "print-quality-supported",
        &caps.qualities,
        |q| to_ipp(QUALITIES, q).map(Value::Enum),
    );
    set_of(
        &mut out,
        n,
        "print-scaling-supported",
        &caps.scalings,
        |s| to_ipp(SCALINGS, s).map(Value::keyword),
    );
    if let Some(fit) = caps.supports_fit_pdf_to_page {
        let mut values = vec![Value::Boolean(false)];
        if fit {
            values.push(Value::Boolean(true));
        }
        out.push(Attribute::set("pdf-fit-to-page-supported", values));
    }

    // Defaults.
    let d = defaults;
    // Single-valued settings only fail to map for `unknownFutureValue`.
    let mut single = |name: &str, graph_name: &str, value: Option<Option<Value>>| match value {
        Some(Some(v)) => out.push(Attribute::new(name, v)),
        Some(None) => n.add(graph_name, "unknownFutureValue", NO_IPP),
        None => {}
    };
    single(
        "print-color-mode-default",
        "colorMode",
        d.color_mode
            .map(|m| to_ipp(COLOR_MODES, m).map(Value::keyword)),
    );
    single(
        "document-format-default",
        "contentType",
        d.content_type
            .clone()
            .map(|t| Some(Value::mime_media_type(t))),
    );
    single(
        "copies-default",
        "copiesPerJob",
        d.copies_per_job.map(|c| Some(Value::Integer(c))),
    );
    single(
        "printer-resolution-default",
        "dpi",
        d.dpi.map(|v| Some(Value::dpi(v))),
    );
    single(
        "sides-default",
        "duplexMode",
        d.duplex_mode
            .map(|m| to_ipp(DUPLEX_MODES, m).map(Value::keyword)),
    );
    single(
        "pdf-fit-to-page-default",
        "fitPdfToPage",
        d.fit_pdf_to_page.map(|b| Some(Value::Boolean(b))),
    );
    single(
        "presentation-direction-number-up-default",
        "multipageLayout",
        d.multipage_layout
            .map(|m| to_ipp(MULTIPAGE_LAYOUTS, m).map(Value::keyword)),
    );
    single(
        "orientation-requested-default",
        "orientation",
        d.orientation
            .map(|o| to_ipp(ORIENTATIONS, o).map(Value::Enum)),
    );
    single(
        "output-bin-default",
        "outputBin",
        d.output_bin.clone().map(|b| Some(Value::keyword(b))),
    );
    single(
        "number-up-default",
        "pagesPerSheet",
        d.pages_per_sheet.map(|p| Some(Value::Integer(p))),
    );
    single(
        "print-quality-default",
        "quality",
        d.quality.map(|q| to_ipp(QUALITIES, q).map(Value::Enum)),
    );
    single(
        "print-scaling-default",
        "scaling",
        d.scaling.map(|s| to_ipp(SCALINGS, s).map(Value::keyword)),
    );
    set_of(&mut out, n, "finishings-default", &d.finishings, |f| {
        to_ipp(FINISHINGS, f).map(Value::Enum)
    });
    let media_default = d.media_size.as_deref().and_then(|name| {
        let size = MediaSize::by_graph_name(name);
        if size.is_none() {
            n.add("mediaSize", name, UNKNOWN_SIZE);
        }
        size
    });
    if let Some(size) = media_default {
        out.push(Attribute::new(
            "media-default",
            Value::keyword(size.pwg_name),
        ));
    }
    let col = media_col_members(
        media_default,
        d.media_type.as_deref(),
        d.input_bin.as_deref(),
        d.media_color.as_deref(),
    );
    if !col.is_empty() {
        out.push(Attribute::new("media-col-default", Value::Collection(col)));
    }
    Mapped {
        value: out,
        unmapped: notes.0,
    }
}

fn push_strings(out: &mut Vec<Attribute>, name: &str, list: &Option<Vec<String>>) {
    if let Some(list) = list.as_ref().filter(|l| !l.is_empty()) {
        out.push(Attribute::set(
            name,
            list.iter().map(|s| Value::keyword(s.clone())),
        ));
    }
}

fn media_col_members(
    size: Option<&MediaSize>,
    media_type: Option<&str>,
    source: Option<&str>,
    color: Option<&str>,
) -> Vec<Attribute> {
    let mut col = Vec::new();
    if let Some(size) = size {
        col.push(Attribute::new("media-size", media_size_col(size)));
        col.push(Attribute::new(
            "media-size-name",
            Value::keyword(size.pwg_name),
        ));
    }
    if let Some(t) = media_type {
        col.push(Attribute::new("media-type", Value::keyword(t)));
    }
    if let Some(s) = source {
        col.push(Attribute::new("media-source", Value::keyword(s)));
    }
    if let Some(c) = color {
        col.push(Attribute::new("media-color", Value::keyword(c)));
    }
    col
}

/// One media-col per size and margin set. Margin sets pair the four lists index by index
/// when they have the same length (a printer with a borderless mode lists two sets); with
/// lists of different lengths each entry carries the first margin of each list.
fn media_col_database(sizes: &[&MediaSize], caps: &PrinterCapabilities) -> Vec<Value> {
    let lists = [
        &caps.top_margins,
        &caps.bottom_margins,
        &caps.left_margins,
        &caps.right_margins,
    ]
    .map(|l| l.as_ref().map(Vec::as_slice).unwrap_or(&[]));
    let sets: Vec<[Option<i32>; 4]> =
        if lists.iter().all(|l| l.len() == lists[0].len()) && !lists[0].is_empty() {
            (0..lists[0].len())
                .map(|i| lists.map(|l| Some(l[i])))
                .collect()
        } else {
            vec![lists.map(|l| l.first().copied())]
        };
    let mut out = Vec::new();
    for size in sizes {
        for set in &sets {
            let mut col = media_col_members(Some(size), None, None, None);
            for (member, margin) in MARGIN_MEMBERS.iter().zip(set) {
                if let Some(m) = margin {
                    col.push(Attribute::new(*member, Value::Integer(m / 10)));
                }
            }
            out.push(Value::Collection(col));
        }
    }
    out
}

/// IPP printer attributes → Graph capabilities and defaults.
pub fn graph_from_printer_attributes(
    attrs: &[Attribute],
) -> Mapped<(PrinterCapabilities, PrinterDefaults)> {
    let mut notes = Notes::default();
    let n = &mut notes;
    let string = |v: &Value| v.as_str().map(str::to_owned);
    let margins = |n: &mut Notes, member: &str| -> Option<Vec<i32>> {
        let from_supported = list_from(attrs, n, &format!("{member}-supported"), |v| {
            v.as_integer().map(|x| x * 10)
        });
        from_supported.or_else(|| {
            let db = attrs.attr("media-col-database")?;
            let mut seen = Vec::new();
            for m in db.collections().filter_map(|c| c.integer(member)) {
                if !seen.contains(&(m * 10)) {
                    seen.push(m * 10);
                }
            }
            (!seen.is_empty()).then_some(seen)
        })
    };

    let mut media_sizes: Option<Vec<String>> = list_from(attrs, n, "media-supported", |v| {
        v.as_keyword()
            .and_then(MediaSize::by_pwg_name)
            .map(|s| s.graph_name.to_owned())
    });
    if media_sizes.is_none()
        && let Some(db) = attrs.attr("media-col-database")
    {
        let mut names: Vec<String> = Vec::new();
        for col in db.collections() {
            match size_of_media_col(col) {
                Some(size) if !names.iter().any(|n| n == size.graph_name) => {
                    names.push(size.graph_name.to_owned())
                }
                Some(_) => {}
                None => n.add(
                    "media-col-database",
                    Value::Collection(col.to_vec()),
                    UNKNOWN_SIZE,
                ),
            }
        }
        media_sizes = Some(names);
    }

    let caps = PrinterCapabilities {
        top_margins: margins(n, "media-top-margin"),
        bottom_margins: margins(n, "media-bottom-margin"),
        left_margins: margins(n, "media-left-margin"),
        right_margins: margins(n, "media-right-margin"),
        collation: attrs
            .attr("multiple-document-handling-supported")
            .map(|a| a.keywords().any(|k| k == COLLATED)),
        color_modes: list_from(attrs, n, "print-color-mode-supported", |v| {
            v.as_keyword().and_then(color_mode_from_ipp)
        }),
        content_types: list_from(attrs, n, "document-format-supported", string),
        copies_per_job: single_from(attrs, n, "copies-supported", |v| {
            v.as_range()
                .or_else(|| v.as_integer().map(|i| (1, i)))
                .map(|(start, end)| IntegerRange {
                    start: start as i64,
                    end: end as i64,
                })
        }),
        dpis: list_from(attrs, n, "printer-resolution-supported", dpi_of),
        duplex_modes: list_from(attrs, n, "sides-supported", keyword_of(DUPLEX_MODES)),
        feed_orientations: list_from(
            attrs,
            n,
            "feed-orientation-supported",
            keyword_of(FEED_ORIENTATIONS),
        ),
        finishings: list_from(attrs, n, "finishings-supported", enum_of(FINISHINGS)),
        input_bins: list_from(attrs, n, "media-source-supported", string),
        is_color_printing_supported: attrs.boolean("color-supported"),
        is_page_range_supported: attrs.boolean("page-ranges-supported"),
        media_colors: list_from(attrs, n, "media-color-supported", string),
        media_sizes,
        media_types: list_from(attrs, n, "media-type-supported", string),
        multipage_layouts: list_from(
            attrs,
            n,
            "presentation-direction-number-up-supported",
            keyword_of(MULTIPAGE_LAYOUTS),
        ),
        orientations: list_from(
            attrs,
            n,
            "orientation-requested-supported",
            enum_of(ORIENTATIONS),
        ),
        output_bins: list_from(attrs, n, "output-bin-supported", string),
        pages_per_sheet: number_up_supported(attrs, n),
        qualities: list_from(attrs, n, "print-quality-supported", enum_of(QUALITIES)),
        scalings: list_from(attrs, n, "print-scaling-supported", keyword_of(SCALINGS)),
        supports_fit_pdf_to_page: attrs
            .attr("pdf-fit-to-page-supported")
            .map(|a| a.values.iter().any(|v| v.as_boolean() == Some(true))),
    };

    let media_col = attrs.collection("media-col-default");
    let media_size = media_col.and_then(size_of_media_col).or_else(|| {
        attrs
            .keyword("media-default")
            .and_then(MediaSize::by_pwg_name)
    });
    if media_size.is_none()
        && let Some(kw) = attrs.keyword("media-default")
    {
        n.add("media-default", kw, UNKNOWN_SIZE);
    }
    let defaults = PrinterDefaults {
        color_mode: single_from(attrs, n, "print-color-mode-default", |v| {
            v.as_keyword().and_then(color_mode_from_ipp)
        }),
        content_type: attrs.string("document-format-default").map(str::to_owned),
        copies_per_job: attrs.integer("copies-default"),
        dpi: single_from(attrs, n, "printer-resolution-default", dpi_of),
        duplex_mode: single_from(attrs, n, "sides-default", keyword_of(DUPLEX_MODES)),
        finishings: list_from(attrs, n, "finishings-default", enum_of(FINISHINGS)),
        fit_pdf_to_page: attrs.boolean("pdf-fit-to-page-default"),
        input_bin: media_col
            .and_then(|c| c.keyword("media-source"))
            .map(str::to_owned),
        media_color: media_col
            .and_then(|c| c.keyword("media-color"))
            .map(str::to_owned),
        media_size: media_size.map(|s| s.graph_name.to_owned()),
        media_type: media_col
            .and_then(|c| c.keyword("media-type"))
            .map(str::to_owned),
        multipage_layout: single_from(
            attrs,
            n,
            "presentation-direction-number-up-default",
            keyword_of(MULTIPAGE_LAYOUTS),
        ),
        orientation: single_from(
            attrs,
            n,
            "orientation-requested-default",
            enum_of(ORIENTATIONS),
        ),
        output_bin: attrs.keyword("output-bin-default").map(str::to_owned),
        pages_per_sheet: attrs.integer("number-up-default"),
        quality: single_from(attrs, n, "print-quality-default", enum_of(QUALITIES)),
        scaling: single_from(attrs, n, "print-scaling-default", keyword_of(SCALINGS)),
    };
    Mapped {
        value: (caps, defaults),
        unmapped: notes.0,
    }
}

/// `number-up-supported` is 1setOf (integer | rangeOfInteger); ranges are expanded up to 16
/// pages per sheet, beyond which no printer lays pages out and Graph lists would balloon.
fn number_up_supported(attrs: &[Attribute], n: &mut Notes) -> Option<Vec<i32>> {
    const MAX_EXPANDED: i32 = 16;
    let attribute = attrs.attr("number-up-supported")?;
    let mut out = Vec::new();
    for v in &attribute.values {
        match *v {
            Value::Integer(i) => out.push(i),
            Value::RangeOfInteger { lower, upper } => {
                if upper > MAX_EXPANDED {
                    n.add(
                        "number-up-supported",
                        v,
                        "range beyond 16-up; expanded only up to 16",
                    );
                }
                out.extend(lower.max(1)..=upper.min(MAX_EXPANDED));
            }
            ref other => n.add("number-up-supported", other, NO_GRAPH),
        }
    }
    Some(out)
}

// ---------------------------------------------------------------------------------------------
// Printer status.
// ---------------------------------------------------------------------------------------------

/// Graph printer status → `printer-state`, `printer-state-reasons`, `printer-state-message`.
pub fn printer_status_to_ipp(status: &PrinterStatus) -> Mapped<Vec<Attribute>> {
    let mut notes = Notes::default();
    let mut out = Vec::new();
    match to_ipp(PRINTER_STATES, status.state) {
        Some(state) => out.push(Attribute::new("printer-state", Value::Enum(state))),
        None => notes.add("state", status.state, NO_IPP),
    }
    let reasons: Vec<Value> = status
        .details
        .iter()
        .map(|d| Value::keyword(printer_state_reason_keyword(d)))
        .collect();
    out.push(if reasons.is_empty() {
        Attribute::new("printer-state-reasons", Value::keyword("none"))
    } else {
        Attribute::set("printer-state-reasons", reasons)
    });
    if let Some(message) = status.description.as_deref().filter(|m| !m.is_empty()) {
        out.push(Attribute::new(
            "printer-state-message",
            Value::text(message),
        ));
    }
    Mapped {
        value: out,
        unmapped: notes.0,
    }
}

/// `printer-state`, `printer-state-reasons`, `printer-state-message` → Graph printer status.
/// A lone `none` reason means "no details" (Graph's `none` member is kept only when it comes
/// with other reasons, which would be a device bug worth seeing).
pub fn printer_status_from_ipp(attrs: &[Attribute]) -> Mapped<PrinterStatus> {
    let mut notes = Notes::default();
    let state = match attrs.enum_value("printer-state") {
        Some(v) => enum_to_graph(PRINTER_STATES, v).unwrap_or_else(|| {
            notes.add("printer-state", v, NO_GRAPH);
            PrinterProcessingState::Unknown
        }),
        None => PrinterProcessingState::Unknown,
    };
    let mut details = Vec::new();
    if let Some(reasons) = attrs.attr("printer-state-reasons") {
        let keywords: Vec<&str> = reasons.keywords().collect();
        if keywords != ["none"] {
            for kw in keywords {
                match printer_state_detail_from_keyword(kw) {
                    Some(d) if !details.contains(&d) => details.push(d),
                    Some(_) => {}
                    None => notes.add("printer-state-reasons", kw, NO_GRAPH),
                }
            }
        }
    }
    let description = Some(
        attrs
            .string("printer-state-message")
            .unwrap_or_default()
            .to_owned(),
    );
    Mapped {
        value: PrinterStatus {
            state,
            details,
            description,
        },
        unmapped: notes.0,
    }
}

// ---------------------------------------------------------------------------------------------
// Job template (Fetch-Job) and job status.
// ---------------------------------------------------------------------------------------------

/// Graph job configuration → job template attributes, as the cloud returns them in Fetch-Job.
pub fn job_template_from_graph(config: &PrintJobConfiguration) -> Mapped<Vec<Attribute>> {
    let mut out = Vec::new();
    let mut notes = Notes::default();
    let n = &mut notes;
    let c = config;
    if let Some(collate) = c.collate {
        out.push(Attribute::new(
            "multiple-document-handling",
            Value::keyword(if collate { COLLATED } else { UNCOLLATED }),
        ));
    }
    // Single-valued settings only fail to map for `unknownFutureValue`.
    let mut single = |name: &str, graph_name: &str, value: Option<Option<Value>>| match value {
        Some(Some(v)) => out.push(Attribute::new(name, v)),
        Some(None) => n.add(graph_name, "unknownFutureValue", NO_IPP),
        None => {}
    };
    single(
        "print-color-mode",
        "colorMode",
        c.color_mode
            .map(|m| to_ipp(COLOR_MODES, m).map(Value::keyword)),
    );
    single(
        "copies",
        "copies",
        c.copies.map(|v| Some(Value::Integer(v))),
    );
    single(
        "printer-resolution",
        "dpi",
        c.dpi.map(|v| Some(Value::dpi(v))),
    );
    single(
        "sides",
        "duplexMode",
        c.duplex_mode
            .map(|m| to_ipp(DUPLEX_MODES, m).map(Value::keyword)),
    );
    single(
        "feed-orientation",
        "feedOrientation",
        c.feed_orientation
            .map(|m| to_ipp(FEED_ORIENTATIONS, m).map(Value::keyword)),
    );
    single(
        "pdf-fit-to-page",
        "fitPdfToPage",
        c.fit_pdf_to_page.map(|b| Some(Value::Boolean(b))),
    );
    single(
        "presentation-direction-number-up",
        "multipageLayout",
        c.multipage_layout
            .map(|m| to_ipp(MULTIPAGE_LAYOUTS, m).map(Value::keyword)),
    );
    single(
        "orientation-requested",
        "orientation",
        c.orientation
            .map(|o| to_ipp(ORIENTATIONS, o).map(Value::Enum)),
    );
    single(
        "output-bin",
        "outputBin",
        c.output_bin.clone().map(|b| Some(Value::keyword(b))),
    );
    single(
        "number-up",
        "pagesPerSheet",
        c.pages_per_sheet.map(|p| Some(Value::Integer(p))),
    );
    single(
        "print-quality",
        "quality",
        c.quality.map(|q| to_ipp(QUALITIES, q).map(Value::Enum)),
    );
    single(
        "print-scaling",
        "scaling",
        c.scaling.map(|s| to_ipp(SCALINGS, s).map(Value::keyword)),
    );
    set_of(&mut out, n, "finishings", &c.finishings, |f| {
        to_ipp(FINISHINGS, f).map(Value::Enum)
    });
    if let Some(ranges) = &c.page_ranges {
        let mut values = Vec::new();
        for r in ranges {
            match (i32::try_from(r.start), i32::try_from(r.end)) {
                (Ok(lower), Ok(upper)) => values.push(Value::RangeOfInteger { lower, upper }),
                _ => n.add(
                    "pageRanges",
                    format!("{}-{}", r.start, r.end),
                    "outside IPP's 32-bit integers",
                ),
            }
        }
        if !values.is_empty() {
            out.push(Attribute::set("page-ranges", values));
        }
    }
    let size = c.media_size.as_deref().and_then(|name| {
        let size = MediaSize::by_graph_name(name);
        if size.is_none() {
            n.add("mediaSize", name, UNKNOWN_SIZE);
        }
        size
    });
    let mut col = media_col_members(size, c.media_type.as_deref(), c.input_bin.as_deref(), None);
    if let Some(m) = c.margin {
        for (member, margin) in MARGIN_MEMBERS
            .iter()
            .zip([m.top, m.bottom, m.left, m.right])
        {
            if let Some(margin) = margin {
                col.push(Attribute::new(
                    *member,
                    Value::Integer(micron_to_ipp(n, "margin", margin)),
                ));
            }
        }
    }
    if !col.is_empty() {
        out.push(Attribute::new("media-col", Value::Collection(col)));
    }
    Mapped {
        value: out,
        unmapped: notes.0,
    }
}

/// Job template attributes → Graph job configuration (what the device applies). `media-col`
/// wins over `media` when both are present.
pub fn graph_from_job_template(attrs: &[Attribute]) -> Mapped<PrintJobConfiguration> {
    let mut notes = Notes::default();
    let n = &mut notes;
    let col = attrs.collection("media-col");
    let media_size = match col.and_then(size_of_media_col) {
        Some(size) => Some(size),
        None => match col
            .and_then(|c| c.keyword("media-size-name"))
            .or_else(|| attrs.keyword("media"))
        {
            Some(kw) => {
                let size = MediaSize::by_pwg_name(kw);
                if size.is_none() {
                    n.add("media", kw, UNKNOWN_SIZE);
                }
                size
            }
            None => None,
        },
    };
    let margin = col.and_then(|c| {
        let get = |member: &str| c.integer(member).map(|v| v * 10);
        let m = PrintMargin {
            top: get("media-top-margin"),
            bottom: get("media-bottom-margin"),
            left: get("media-left-margin"),
            right: get("media-right-margin"),
        };
        (m != PrintMargin::default()).then_some(m)
    });
    let config = PrintJobConfiguration {
        collate: single_from(attrs, n, "multiple-document-handling", |v| {
            match v.as_keyword()? {
                COLLATED | "single-document" | "single-document-new-sheet" => Some(true),
                UNCOLLATED => Some(false),
                _ => None,
            }
        }),
        color_mode: single_from(attrs, n, "print-color-mode", |v| {
            v.as_keyword().and_then(color_mode_from_ipp)
        }),
        copies: attrs.integer("copies"),
        dpi: single_from(attrs, n, "printer-resolution", dpi_of),
        duplex_mode: single_from(attrs, n, "sides", keyword_of(DUPLEX_MODES)),
        feed_orientation: single_from(attrs, n, "feed-orientation", keyword_of(FEED_ORIENTATIONS)),
        finishings: list_from(attrs, n, "finishings", enum_of(FINISHINGS)),
        fit_pdf_to_page: attrs.boolean("pdf-fit-to-page"),
        input_bin: col
            .and_then(|c| c.keyword("media-source"))
            .map(str::to_owned),
        margin,
        media_size: media_size.map(|s| s.graph_name.to_owned()),
        media_type: col.and_then(|c| c.keyword("media-type")).map(str::to_owned),
        multipage_layout: single_from(
            attrs,
            n,
            "presentation-direction-number-up",
            keyword_of(MULTIPAGE_LAYOUTS),
        ),
        orientation: single_from(attrs, n, "orientation-requested", enum_of(ORIENTATIONS)),
        output_bin: attrs.keyword("output-bin").map(str::to_owned),
        page_ranges: list_from(attrs, n, "page-ranges", |v| {
            v.as_range().map(|(start, end)| IntegerRange {
                start: start as i64,
                end: end as i64,
            })
        }),
        pages_per_sheet: attrs.integer("number-up"),
        quality: single_from(attrs, n, "print-quality", enum_of(QUALITIES)),
        scaling: single_from(attrs, n, "print-scaling", keyword_of(SCALINGS)),
    };
    Mapped {
        value: config,
        unmapped: notes.0,
    }
}

/// Graph job status → `job-state`, `job-state-reasons`, `job-state-message`.
pub fn job_status_to_ipp(status: &PrintJobStatus) -> Mapped<Vec<Attribute>> {
    let mut notes = Notes::default();
    let mut out = Vec::new();
    match to_ipp(JOB_STATES, status.state) {
        Some(state) => out.push(Attribute::new("job-state", Value::Enum(state))),
        None => notes.add("state", status.state, NO_IPP),
    }
    let mut reasons = Vec::new();
    for d in &status.details {
        match to_ipp(JOB_STATE_DETAILS, *d) {
            Some(kw) => reasons.push(Value::keyword(kw)),
            None => notes.add("details", d, NO_IPP),
        }
    }
    if reasons.is_empty() {
        reasons.push(Value::keyword("none"));
    }
    out.push(Attribute::set("job-state-reasons", reasons));
    if !status.description.is_empty() {
        out.push(Attribute::new(
            "job-state-message",
            Value::text(status.description.clone()),
        ));
    }
    Mapped {
        value: out,
        unmapped: notes.0,
    }
}

/// Job status attributes → Graph job status. Reads the device's `output-device-job-state*`
/// (Update-Job-Status) when present, else `job-state*`. `is_acquired_by_printer` is the cloud's
/// own record of Acknowledge-Job.
pub fn job_status_from_ipp(
    attrs: &[Attribute],
    is_acquired_by_printer: bool,
) -> Mapped<PrintJobStatus> {
    let mut notes = Notes::default();
    let (state_attr, reasons_attr, message_attr) =
        if attrs.attr("output-device-job-state").is_some() {
            (
                "output-device-job-state",
                "output-device-job-state-reasons",
                "output-device-job-state-message",
            )
        } else {
            ("job-state", "job-state-reasons", "job-state-message")
        };
    let state = match attrs.enum_value(state_attr) {
        Some(v) => enum_to_graph(JOB_STATES, v).unwrap_or_else(|| {
            notes.add(state_attr, v, NO_GRAPH);
            PrintJobProcessingState::Unknown
        }),
        None => PrintJobProcessingState::Unknown,
    };
    let mut details = Vec::new();
    for kw in attrs
        .attr(reasons_attr)
        .into_iter()
        .flat_map(Attribute::keywords)
    {
        match to_graph(JOB_STATE_DETAILS, kw) {
            Some(d) if !details.contains(&d) => details.push(d),
            Some(_) => {}
            None if kw == "none" => {}
            None => notes.add(reasons_attr, kw, NO_GRAPH),
        }
    }
    let description = attrs
        .string(message_attr)
        .or_else(|| attrs.string("microsoft-output-device-job-state-message"))
        .map(str::to_owned)
        .unwrap_or_else(|| default_job_description(state).to_owned());
    Mapped {
        value: PrintJobStatus {
            state,
            details,
            description,
            is_acquired_by_printer,
        },
        unmapped: notes.0,
    }
}

/// The descriptions Graph's own examples show for each state.
pub fn default_job_description(state: PrintJobProcessingState) -> &'static str {
    match state {
        PrintJobProcessingState::Pending => "The job is waiting to be processed.",
        PrintJobProcessingState::Paused => "The job is not a candidate for processing yet.",
        PrintJobProcessingState::Processing => "The print job is currently being processed.",
        PrintJobProcessingState::Stopped => "The job has stopped processing.",
        PrintJobProcessingState::Completed => {
            "The print job has completed successfully and no further processing will take place."
        }
        PrintJobProcessingState::Canceled => "The print job has been canceled.",
        PrintJobProcessingState::Aborted => "The print job was aborted.",
        PrintJobProcessingState::Unknown | PrintJobProcessingState::UnknownFutureValue => "",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use printlab_ipp::{GroupTag, Limits, Message, Operation, decode};

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

    /// Runs attributes through the real codec, as they would travel.
    fn over_the_wire(attrs: Vec<Attribute>) -> Vec<Attribute> {
        let mut m = Message::request(Operation::UPDATE_OUTPUT_DEVICE_ATTRIBUTES, 1);
        m.group_mut(GroupTag::PRINTER).attributes = attrs;
        let bytes = m.to_bytes().unwrap();
        let (back, _) = decode(&bytes, &Limits::default()).unwrap();
        back.group(GroupTag::PRINTER).unwrap().attributes.clone()
    }

    fn full_capabilities() -> (PrinterCapabilities, PrinterDefaults) {
        let members = |all: &[_]| all.to_vec();
        let caps = PrinterCapabilities {
            bottom_margins: Some(vec![4230, 0]),
            collation: Some(true),
            color_modes: Some(members(
                &COLOR_MODES.iter().map(|(g, _)| *g).collect::<Vec<_>>(),
            )),
            content_types: Some(vec![
                "application/pdf".into(),
                "image/pwg-raster".into(),
                "image/jpeg".into(),
            ]),
            copies_per_job: Some(IntegerRange { start: 1, end: 99 }),
            dpis: Some(vec![300, 600, 1200]),
            duplex_modes: Some(DUPLEX_MODES.iter().map(|(g, _)| *g).collect()),
            feed_orientations: Some(FEED_ORIENTATIONS.iter().map(|(g, _)| *g).collect()),
            finishings: Some(FINISHINGS.iter().map(|(g, _)| *g).collect()),
            input_bins: Some(vec!["auto".into(), "tray-1".into(), "by-pass-tray".into()]),
            is_color_printing_supported: Some(true),
            is_page_range_supported: Some(true),
            left_margins: Some(vec![3180, 0]),
            media_colors: Some(vec!["white".into(), "blue".into()]),
            media_sizes: Some(
                MEDIA_SIZES
                    .iter()
                    .map(|m| m.graph_name.to_owned())
                    .collect(),
            ),
            media_types: Some(vec!["stationery".into(), "photographic-glossy".into()]),
            multipage_layouts: Some(MULTIPAGE_LAYOUTS.iter().map(|(g, _)| *g).collect()),
            orientations: Some(ORIENTATIONS.iter().map(|(g, _)| *g).collect()),
            output_bins: Some(vec!["face-down".into(), "top".into()]),
            pages_per_sheet: Some(vec![1, 2, 4, 6, 9, 16]),
            qualities: Some(QUALITIES.iter().map(|(g, _)| *g).collect()),
            right_margins: Some(vec![3180, 0]),
            scalings: Some(SCALINGS.iter().map(|(g, _)| *g).collect()),
            supports_fit_pdf_to_page: Some(true),
            top_margins: Some(vec![4230, 0]),
        };
        let defaults = PrinterDefaults {
            color_mode: Some(PrintColorMode::Grayscale),
            content_type: Some("application/pdf".into()),
            copies_per_job: Some(1),
            dpi: Some(600),
            duplex_mode: Some(PrintDuplexMode::FlipOnLongEdge),
            finishings: Some(vec![PrintFinishing::None]),
            fit_pdf_to_page: Some(false),
            input_bin: Some("tray-1".into()),
            media_color: Some("white".into()),
            media_size: Some("A4".into()),
            media_type: Some("stationery".into()),
            multipage_layout: Some(PrintMultipageLayout::ClockwiseFromTopLeft),
            orientation: Some(PrintOrientation::Portrait),
            output_bin: Some("face-down".into()),
            pages_per_sheet: Some(1),
            quality: Some(PrintQuality::Medium),
            scaling: Some(PrintScaling::Auto),
        };
        (caps, defaults)
    }

    #[test]
    fn capabilities_and_defaults_round_trip_through_ipp() {
        let (caps, defaults) = full_capabilities();
        let to_ipp = printer_attributes_from_graph(&caps, &defaults);
        assert_eq!(to_ipp.unmapped, vec![]);
        let attrs = over_the_wire(to_ipp.value);
        let back = graph_from_printer_attributes(&attrs);
        assert_eq!(back.unmapped, vec![]);
        assert_eq!(back.value, (caps, defaults));
    }

    #[test]
    fn capabilities_use_the_ipp_names_and_values_devices_send() {
        let (caps, defaults) = full_capabilities();
        let attrs = printer_attributes_from_graph(&caps, &defaults).value;
        let kws = |name: &str| {
            attrs
                .attr(name)
                .unwrap()
                .keywords()
                .map(str::to_owned)
                .collect::<Vec<_>>()
        };
        assert_eq!(
            kws("sides-supported"),
            ["one-sided", "two-sided-long-edge", "two-sided-short-edge"]
        );
        assert_eq!(
            kws("print-color-mode-supported"),
            ["bi-level", "monochrome", "color", "auto"]
        );
        assert!(kws("media-supported").contains(&"iso_a4_210x297mm".to_owned()));
        assert_eq!(attrs.range("copies-supported"), Some((1, 99)));
        assert_eq!(
            attrs
                .attr("media-top-margin-supported")
                .unwrap()
                .integers()
                .collect::<Vec<_>>(),
            [423, 0]
        );
        assert_eq!(
            attrs
                .attr("print-quality-supported")
                .unwrap()
                .enums()
                .collect::<Vec<_>>(),
            [3, 4, 5]
        );
        assert_eq!(attrs.keyword("sides-default"), Some("two-sided-long-edge"));
        assert_eq!(attrs.keyword("media-default"), Some("iso_a4_210x297mm"));
        // media-col-database: one entry per size and margin set (2 sets here).
        let db = attrs.attr("media-col-database").unwrap();
        assert_eq!(db.values.len(), MEDIA_SIZES.len() * 2);
        let a4 = db
            .collections()
            .find(|c| c.keyword("media-size-name") == Some("iso_a4_210x297mm"))
            .unwrap();
        assert_eq!(
            a4.collection("media-size").unwrap().integer("x-dimension"),
            Some(21000)
        );
        assert_eq!(a4.integer("media-bottom-margin"), Some(423));
        let default_col = attrs.collection("media-col-default").unwrap();
        assert_eq!(default_col.keyword("media-source"), Some("tray-1"));
    }

    #[test]
    fn a_device_with_only_media_col_database_still_yields_sizes_and_margins() {
        let attrs = vec![Attribute::set(
            "media-col-database",
            [
                Value::Collection(vec![
                    Attribute::new(
                        "media-size",
                        Value::Collection(vec![
                            Attribute::new("x-dimension", Value::Integer(21590)),
                            Attribute::new("y-dimension", Value::Integer(27940)),
                        ]),
                    ),
                    Attribute::new("media-bottom-margin", Value::Integer(500)),
                ]),
                Value::Collection(vec![Attribute::new(
                    "media-size-name",
                    Value::keyword("custom_min_1x1in"),
                )]),
            ],
        )];
        let back = graph_from_printer_attributes(&attrs);
        assert_eq!(
            back.value.0.media_sizes,
            Some(vec!["North America Letter".to_owned()])
        );
        assert_eq!(back.value.0.bottom_margins, Some(vec![5000]));
        assert_eq!(back.unmapped.len(), 1);
        assert_eq!(back.unmapped[0].reason, UNKNOWN_SIZE);
    }

    #[test]
    fn values_without_a_counterpart_are_reported_not_dropped_silently() {
        let attrs = vec![
            Attribute::set(
                "print-color-mode-supported",
                [Value::keyword("color"), Value::keyword("highlight")],
            ),
            Attribute::set(
                "orientation-requested-supported",
                [Value::Enum(3), Value::Enum(7)],
            ),
            Attribute::set(
                "finishings-supported",
                [Value::Enum(3), Value::Enum(14), Value::Enum(86)],
            ),
            Attribute::set(
                "printer-resolution-supported",
                [
                    Value::dpi(600),
                    Value::Resolution {
                        cross_feed: 600,
                        feed: 1200,
                        units: 3,
                    },
                    Value::Resolution {
                        cross_feed: 100,
                        feed: 100,
                        units: 4,
                    },
                    Value::Resolution {
                        cross_feed: 33,
                        feed: 33,
                        units: 4,
                    },
                ],
            ),
            Attribute::set(
                "media-supported",
                [
                    Value::keyword("iso_a4_210x297mm"),
                    Value::keyword("iso_b0_1000x1414mm"),
                ],
            ),
            Attribute::set(
                "print-color-mode-default",
                [Value::keyword("process-monochrome")],
            ),
        ];
        let back = graph_from_printer_attributes(&attrs);
        let (caps, defaults) = back.value;
        assert_eq!(caps.color_modes, Some(vec![PrintColorMode::Color]));
        assert_eq!(caps.orientations, Some(vec![PrintOrientation::Portrait]));
        assert_eq!(caps.finishings, Some(vec![PrintFinishing::None]));
        assert_eq!(
            caps.dpis,
            Some(vec![600, 254]),
            "100 dpcm is 254 dpi; 33 dpcm is not a whole dpi"
        );
        assert_eq!(caps.media_sizes, Some(vec!["A4".to_owned()]));
        assert_eq!(
            defaults.color_mode,
            Some(PrintColorMode::Grayscale),
            "process-monochrome reads as grayscale"
        );
        let dropped: Vec<(&str, &str)> = back
            .unmapped
            .iter()
            .map(|u| (u.attribute.as_str(), u.value.as_str()))
            .collect();
        assert_eq!(
            dropped,
            [
                ("media-supported", "iso_b0_1000x1414mm"),
                ("print-color-mode-supported", "highlight"),
                ("printer-resolution-supported", "600x1200dpi"),
                ("printer-resolution-supported", "33x33dpcm"),
                ("finishings-supported", "14"),
                ("finishings-supported", "86"),
                ("orientation-requested-supported", "7"),
            ]
        );

        let caps = PrinterCapabilities {
            color_modes: Some(vec![PrintColorMode::UnknownFutureValue]),
            media_sizes: Some(vec!["Tabloid Extra".into()]),
            top_margins: Some(vec![4233]),
            ..Default::default()
        };
        let to_ipp = printer_attributes_from_graph(&caps, &PrinterDefaults::default());
        let reasons: Vec<&str> = to_ipp.unmapped.iter().map(|u| u.reason).collect();
        assert_eq!(reasons.len(), 3, "{:?}", to_ipp.unmapped);
        assert!(
            to_ipp.value.attr("print-color-mode-supported").is_none(),
            "an all-unmapped list is not sent"
        );
        assert_eq!(
            to_ipp
                .value
                .attr("media-top-margin-supported")
                .unwrap()
                .integers()
                .collect::<Vec<_>>(),
            [423]
        );
    }

    #[test]
    fn number_up_ranges_expand() {
        let attrs = vec![Attribute::set(
            "number-up-supported",
            [
                Value::RangeOfInteger { lower: 1, upper: 4 },
                Value::Integer(9),
            ],
        )];
        assert_eq!(
            graph_from_printer_attributes(&attrs)
                .value
                .0
                .pages_per_sheet,
            Some(vec![1, 2, 3, 4, 9])
        );
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

    #[test]
    fn printer_status_round_trips_and_reports_unknown_reasons() {
        let status = PrinterStatus {
            state: PrinterProcessingState::Stopped,
            details: ["mediaJam", "tonerLow", "coverOpen"]
                .iter()
                .map(|n| PrinterProcessingStateDetail::from_name(n).unwrap())
                .collect(),
            description: Some("Paper jam in tray 2".into()),
        };
        let attrs = over_the_wire(printer_status_to_ipp(&status).value);
        assert_eq!(attrs.enum_value("printer-state"), Some(5));
        assert_eq!(printer_status_from_ipp(&attrs).value, status);

        let idle = PrinterStatus {
            state: PrinterProcessingState::Idle,
            details: vec![],
            description: Some(String::new()),
        };
        let attrs = printer_status_to_ipp(&idle).value;
        assert_eq!(
            attrs
                .attr("printer-state-reasons")
                .unwrap()
                .keywords()
                .collect::<Vec<_>>(),
            ["none"]
        );
        assert_eq!(printer_status_from_ipp(&attrs).value, idle);

        let device = vec![
            Attribute::new("printer-state", Value::Enum(4)),
            Attribute::set(
                "printer-state-reasons",
                [
                    Value::keyword("media-low-report"),
                    Value::keyword("media-low-warning"),
                    Value::keyword("acme-gremlins-error"),
                ],
            ),
        ];
        let mapped = printer_status_from_ipp(&device);
        assert_eq!(mapped.value.state, PrinterProcessingState::Processing);
        assert_eq!(
            mapped.value.details,
            vec![PrinterProcessingStateDetail::from_name("mediaLow").unwrap()]
        );
        assert_eq!(mapped.unmapped[0].value, "acme-gremlins-error");

        let unknown = PrinterStatus {
            state: PrinterProcessingState::Unknown,
            ..idle
        };
        let mapped = printer_status_to_ipp(&unknown);
        assert!(mapped.value.attr("printer-state").is_none());
        assert_eq!(mapped.unmapped[0].reason, NO_IPP);
    }

    fn full_job_configuration() -> PrintJobConfiguration {
        PrintJobConfiguration {
            collate: Some(false),
            color_mode: Some(PrintColorMode::Color),
            copies: Some(3),
            dpi: Some(1200),
            duplex_mode: Some(PrintDuplexMode::FlipOnShortEdge),
            feed_orientation: Some(PrinterFeedOrientation::ShortEdgeFirst),
            finishings: Some(vec![
                PrintFinishing::StapleTopLeft,
                PrintFinishing::PunchDualLeft,
                PrintFinishing::FoldHalf,
            ]),
            fit_pdf_to_page: Some(true),
            input_bin: Some("by-pass-tray".into()),
            margin: Some(PrintMargin {
                top: Some(5000),
                bottom: Some(4230),
                left: Some(0),
                right: None,
            }),
            media_size: Some("North America Legal".into()),
            media_type: Some("photographic-glossy".into()),
            multipage_layout: Some(PrintMultipageLayout::CounterclockwiseFromBottomRight),
            orientation: Some(PrintOrientation::ReverseLandscape),
            output_bin: Some("top".into()),
            page_ranges: Some(vec![
                IntegerRange { start: 1, end: 1 },
                IntegerRange { start: 3, end: 7 },
            ]),
            pages_per_sheet: Some(4),
            quality: Some(PrintQuality::High),
            scaling: Some(PrintScaling::ShrinkToFit),
        }
    }

    #[test]
    fn job_configuration_round_trips_through_job_template_attributes() {
        let config = full_job_configuration();
        let to_ipp = job_template_from_graph(&config);
        assert_eq!(to_ipp.unmapped, vec![]);
        let attrs = over_the_wire(to_ipp.value);
        assert_eq!(attrs.keyword("sides"), Some("two-sided-short-edge"));
        assert_eq!(attrs.keyword("print-scaling"), Some("auto-fit"));
        assert_eq!(
            attrs.keyword("presentation-direction-number-up"),
            Some("toleft-totop")
        );
        assert_eq!(
            attrs
                .attr("finishings")
                .unwrap()
                .enums()
                .collect::<Vec<_>>(),
            [20, 74, 93]
        );
        let col = attrs.collection("media-col").unwrap();
        assert_eq!(col.keyword("media-size-name"), Some("na_legal_8.5x14in"));
        assert_eq!(col.integer("media-top-margin"), Some(500));
        let back = graph_from_job_template(&attrs);
        assert_eq!(back.unmapped, vec![]);
        assert_eq!(back.value, config);

        // Each setting alone, too: no field depends on another to survive.
        let full = serde_json::to_value(&config).unwrap();
        for (key, value) in full.as_object().unwrap() {
            let single: PrintJobConfiguration =
                serde_json::from_value(serde_json::json!({ key: value })).unwrap();
            let back =
                graph_from_job_template(&over_the_wire(job_template_from_graph(&single).value))
                    .value;
            assert_eq!(back, single, "{key}");
        }
    }

    #[test]
    fn every_enum_value_of_a_job_round_trips() {
        for (g, _) in COLOR_MODES {
            let c = PrintJobConfiguration {
                color_mode: Some(*g),
                ..Default::default()
            };
            assert_eq!(
                graph_from_job_template(&job_template_from_graph(&c).value).value,
                c
            );
        }
        for (g, _) in MULTIPAGE_LAYOUTS {
            let c = PrintJobConfiguration {
                multipage_layout: Some(*g),
                ..Default::default()
            };
            assert_eq!(
                graph_from_job_template(&job_template_from_graph(&c).value).value,
                c
            );
        }
        for (g, _) in FINISHINGS {
            let c = PrintJobConfiguration {
                finishings: Some(vec![*g]),
                ..Default::default()
            };
            assert_eq!(
                graph_from_job_template(&job_template_from_graph(&c).value).value,
                c
            );
        }
        for size in MEDIA_SIZES {
            let c = PrintJobConfiguration {
                media_size: Some(size.graph_name.into()),
                ..Default::default()
            };
            assert_eq!(
                graph_from_job_template(&job_template_from_graph(&c).value).value,
                c
            );
        }
        for collate in [true, false] {
            let c = PrintJobConfiguration {
                collate: Some(collate),
                ..Default::default()
            };
            assert_eq!(
                graph_from_job_template(&job_template_from_graph(&c).value).value,
                c
            );
        }
    }

    #[test]
    fn job_template_reads_media_keyword_and_single_document_handling() {
        let attrs = vec![
            Attribute::new("media", Value::keyword("na_letter_8.5x11in")),
            Attribute::new(
                "multiple-document-handling",
                Value::keyword("single-document"),
            ),
            Attribute::new("orientation-requested", Value::Enum(7)),
        ];
        let mapped = graph_from_job_template(&attrs);
        assert_eq!(
            mapped.value.media_size.as_deref(),
            Some("North America Letter")
        );
        assert_eq!(mapped.value.collate, Some(true));
        assert_eq!(mapped.value.orientation, None);
        assert_eq!(mapped.unmapped[0].attribute, "orientation-requested");
    }

    #[test]
    fn job_status_round_trips_for_every_state_and_detail() {
        for (state, ipp) in JOB_STATES {
            for (detail, kw) in JOB_STATE_DETAILS {
                let status = PrintJobStatus {
                    state: *state,
                    details: vec![*detail],
                    description: default_job_description(*state).to_owned(),
                    is_acquired_by_printer: true,
                };
                let attrs = job_status_to_ipp(&status).value;
                assert_eq!(attrs.enum_value("job-state"), Some(*ipp));
                assert_eq!(attrs.keyword("job-state-reasons"), Some(*kw));
                assert_eq!(job_status_from_ipp(&attrs, true).value, status);
            }
        }
    }

    #[test]
    fn device_job_updates_map_to_graph_status() {
        let update = vec![
            Attribute::new("output-device-job-state", Value::Enum(9)),
            Attribute::set(
                "output-device-job-state-reasons",
                [
                    Value::keyword("job-completed-with-warnings"),
                    Value::keyword("job-printing"),
                ],
            ),
        ];
        let mapped = job_status_from_ipp(&update, true);
        assert_eq!(mapped.value.state, PrintJobProcessingState::Completed);
        assert_eq!(
            mapped.value.details,
            vec![PrintJobStateDetail::CompletedWithWarnings]
        );
        assert!(mapped.value.is_acquired_by_printer);
        assert_eq!(
            mapped.value.description,
            default_job_description(PrintJobProcessingState::Completed)
        );
        assert_eq!(mapped.unmapped[0].value, "job-printing");

        let held = vec![
            Attribute::new("job-state", Value::Enum(4)),
            Attribute::new("job-state-message", Value::text("waiting for release")),
        ];
        let mapped = job_status_from_ipp(&held, false).value;
        assert_eq!(
            (mapped.state, mapped.description.as_str()),
            (PrintJobProcessingState::Paused, "waiting for release")
        );

        let unknown = job_status_to_ipp(&PrintJobStatus {
            state: PrintJobProcessingState::Unknown,
            details: vec![PrintJobStateDetail::UnknownFutureValue],
            description: String::new(),
            is_acquired_by_printer: false,
        });
        assert!(unknown.value.attr("job-state").is_none());
        assert_eq!(unknown.unmapped.len(), 2);
    }

    #[test]
    fn values_beyond_32_bits_are_reported() {
        let caps = PrinterCapabilities {
            copies_per_job: Some(IntegerRange {
                start: 1,
                end: i64::from(i32::MAX) + 1,
            }),
            ..Default::default()
        };
        let mapped = printer_attributes_from_graph(&caps, &PrinterDefaults::default());
        assert!(mapped.value.attr("copies-supported").is_none());
        assert_eq!(mapped.unmapped[0].attribute, "copiesPerJob");

        let config = PrintJobConfiguration {
            page_ranges: Some(vec![
                IntegerRange { start: 1, end: 2 },
                IntegerRange {
                    start: -1,
                    end: 1 << 40,
                },
            ]),
            ..Default::default()
        };
        let mapped = job_template_from_graph(&config);
        assert_eq!(
            mapped.value.attr("page-ranges").unwrap().values,
            [Value::RangeOfInteger { lower: 1, upper: 2 }]
        );
        assert_eq!(mapped.unmapped.len(), 1);
    }

    #[test]
    fn margins_convert_between_microns_and_hundredths_of_a_millimetre() {
        let config = PrintJobConfiguration {
            margin: Some(PrintMargin {
                top: Some(4235),
                bottom: None,
                left: None,
                right: None,
            }),
            ..Default::default()
        };
        let mapped = job_template_from_graph(&config);
        assert_eq!(
            mapped
                .value
                .collection("media-col")
                .unwrap()
                .integer("media-top-margin"),
            Some(423)
        );
        assert_eq!(
            mapped.unmapped.len(),
            1,
            "4235 µm is not a whole hundredth of a millimetre"
        );
        let back = graph_from_job_template(&mapped.value).value;
        assert_eq!(back.margin.unwrap().top, Some(4230));
    }

    #[test]
    fn unknown_future_values_are_never_sent() {
        let config = PrintJobConfiguration {
            color_mode: Some(PrintColorMode::UnknownFutureValue),
            scaling: Some(PrintScaling::UnknownFutureValue),
            finishings: Some(vec![
                PrintFinishing::UnknownFutureValue,
                PrintFinishing::Staple,
            ]),
            ..Default::default()
        };
        let mapped = job_template_from_graph(&config);
        assert!(mapped.value.attr("print-color-mode").is_none());
        assert!(mapped.value.attr("print-scaling").is_none());
        assert_eq!(
            mapped
                .value
                .attr("finishings")
                .unwrap()
                .enums()
                .collect::<Vec<_>>(),
            [4]
        );
        let notes: Vec<(&str, &str)> = mapped
            .unmapped
            .iter()
            .map(|u| (u.attribute.as_str(), u.value.as_str()))
            .collect();
        assert_eq!(
            notes,
            [
                ("colorMode", "unknownFutureValue"),
                ("scaling", "unknownFutureValue"),
                ("finishings", "unknownFutureValue")
            ]
        );
    }
}
