//! The job ticket: what to print, in the print engine's own words.
//!
//! A job option reaches printlab in Graph JSON (`printJobConfiguration`) or as IPP job template
//! attributes; the engine should not have to speak either. This crate is the vocabulary the
//! engine takes, so the renderer knows nothing of Graph or IPP and the cloud, which never
//! renders, can share the mapping without linking a rasterizer. It depends on nothing of ours.
//!
//! Every field is what the job *asked for*: `None` leaves the choice to the printer (its
//! defaults and hardware, which the engine applies). Values are kept as sent, even impossible
//! ones (a copy count of 0, a reversed page range), because saying which option is wrong, and
//! why, is the engine's job: it knows the hardware.

use serde::Serialize;

/// A media size as the engine needs it: the PWG 5101.1 self-describing name it reports and the
/// portrait dimensions it images, in PWG units (hundredths of a millimetre).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Media {
    pub pwg_name: String,
    pub width: u32,
    pub height: u32,
}

impl Media {
    /// Width and height in points (1/72 in).
    pub fn points(&self) -> (f64, f64) {
        let pt = |hmm: u32| hmm as f64 * 72.0 / 2540.0;
        (pt(self.width), pt(self.height))
    }
}

/// Colour the job asked for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ColorMode {
    /// The printer decides: colour on a colour engine, gray on a monochrome one.
    Auto,
    Color,
    Grayscale,
    BlackAndWhite,
}

/// Print quality; it picks the resolution when the job names none.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Quality {
    Low,
    Medium,
    High,
}

/// Which way the page content is turned on the sheet.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Orientation {
    Portrait,
    Landscape,
    ReverseLandscape,
    ReversePortrait,
}

/// How page content is sized into the printable area.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scaling {
    /// IPP `auto` (PWG 5100.16): a page larger than the media fits the printable area, or
    /// fills a borderless sheet; one no larger prints at its size.
    Auto,
    Fit,
    Fill,
    ShrinkToFit,
    None,
}

/// One- or two-sided printing, and on which edge the sheet turns.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub enum Sides {
    OneSided,
    LongEdge,
    ShortEdge,
}

/// The order in which n-up cells are filled: the first corner, then the direction.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub enum NupLayout {
    ClockwiseFromTopLeft,
    CounterclockwiseFromTopLeft,
    CounterclockwiseFromTopRight,
    ClockwiseFromTopRight,
    CounterclockwiseFromBottomLeft,
    ClockwiseFromBottomLeft,
    CounterclockwiseFromBottomRight,
    ClockwiseFromBottomRight,
}

/// Margins the job asks for, per edge of the portrait sheet, in microns. The engine never
/// prints into its hardware border, whatever the job says.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Margins {
    pub top: Option<i32>,
    pub bottom: Option<i32>,
    pub left: Option<i32>,
    pub right: Option<i32>,
}

/// A 1-based, inclusive range of document pages, as sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PageRange {
    pub start: i64,
    pub end: i64,
}

/// Which edge of the sheet enters the printer first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub enum FeedOrientation {
    LongEdgeFirst,
    ShortEdgeFirst,
}

/// Where the sheets come from, what they are, where they go and what is done to them after
/// imaging. An emulated printer has no trays, stock or finisher, so the engine images the same
/// pixels whatever these say; it records them in its manifest so a job shows that they
/// reached the printer. Names are the job's own (trays and bins are printer-defined strings;
/// finishings are Graph `printFinishing` member names).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PaperHandling {
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub finishings: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub input_bin: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub output_bin: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub media_type: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub feed_orientation: Option<FeedOrientation>,
}

/// What one job asks the engine to print.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Ticket {
    pub media: Option<Media>,
    pub dpi: Option<i32>,
    pub quality: Option<Quality>,
    pub color: Option<ColorMode>,
    pub pages_per_sheet: Option<i32>,
    pub layout: Option<NupLayout>,
    pub orientation: Option<Orientation>,
    pub scaling: Option<Scaling>,
    /// A PDF is scaled to fit the page whatever `scaling` says; other formats ignore it.
    pub fit_pdf_to_page: Option<bool>,
    pub margins: Margins,
    pub sides: Option<Sides>,
    pub copies: Option<i32>,
    pub collate: Option<bool>,
    /// Empty: every page.
    pub page_ranges: Vec<PageRange>,
    pub paper_handling: PaperHandling,
}
