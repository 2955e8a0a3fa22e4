//! The options a job can set, read from what Graph shows of a printer: each a dimension of the
//! matrix with its candidate values.

use crate::Case;
use printlab_graph::{
    GraphEnum, IntegerRange, PrintColorMode, PrintDuplexMode, PrintFinishing, PrintMargin,
    PrintMultipageLayout, PrintOrientation, PrintQuality, PrintScaling, PrinterCapabilities,
    PrinterDefaults, PrinterFeedOrientation,
};
use serde::{Deserialize, Serialize};
use std::fmt;

/// One option a job can set, named as the Graph `printJobConfiguration` property it sets
/// (`contentType` is the document's format).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum OptionName {
    ContentType,
    MediaSize,
    MediaType,
    ColorMode,
    DuplexMode,
    Dpi,
    Quality,
    Orientation,
    FeedOrientation,
    PagesPerSheet,
    MultipageLayout,
    Scaling,
    Copies,
    Collate,
    PageRanges,
    Finishings,
    InputBin,
    OutputBin,
    FitPdfToPage,
    Margin,
}

impl fmt::Display for OptionName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let json = serde_json::to_value(self).map_err(|_| fmt::Error)?;
        f.write_str(json.as_str().unwrap_or_default())
    }
}

/// One value of one option.
#[derive(Debug, Clone, PartialEq)]
pub enum Setting {
    ContentType(String),
    MediaSize(String),
    MediaType(String),
    ColorMode(PrintColorMode),
    DuplexMode(PrintDuplexMode),
    Dpi(i32),
    Quality(PrintQuality),
    Orientation(PrintOrientation),
    FeedOrientation(PrinterFeedOrientation),
    PagesPerSheet(i32),
    MultipageLayout(PrintMultipageLayout),
    Scaling(PrintScaling),
    Copies(i32),
    Collate(bool),
    PageRanges(Vec<IntegerRange>),
    Finishings(Vec<PrintFinishing>),
    InputBin(String),
    OutputBin(String),
    FitPdfToPage(bool),
    Margin(PrintMargin),
}

impl Setting {
    /// Sets this value on a case.
    pub fn apply(&self, case: &mut Case) {
        let c = &mut case.configuration;
        match self.clone() {
            Setting::ContentType(v) => case.content_type = v,
            Setting::MediaSize(v) => c.media_size = Some(v),
            Setting::MediaType(v) => c.media_type = Some(v),
            Setting::ColorMode(v) => c.color_mode = Some(v),
            Setting::DuplexMode(v) => c.duplex_mode = Some(v),
            Setting::Dpi(v) => c.dpi = Some(v),
            Setting::Quality(v) => c.quality = Some(v),
            Setting::Orientation(v) => c.orientation = Some(v),
            Setting::FeedOrientation(v) => c.feed_orientation = Some(v),
            Setting::PagesPerSheet(v) => c.pages_per_sheet = Some(v),
            Setting::MultipageLayout(v) => c.multipage_layout = Some(v),
            Setting::Scaling(v) => c.scaling = Some(v),
            Setting::Copies(v) => c.copies = Some(v),
            Setting::Collate(v) => c.collate = Some(v),
            Setting::PageRanges(v) => c.page_ranges = Some(v),
            Setting::Finishings(v) => c.finishings = Some(v),
            Setting::InputBin(v) => c.input_bin = Some(v),
            Setting::OutputBin(v) => c.output_bin = Some(v),
            Setting::FitPdfToPage(v) => c.fit_pdf_to_page = Some(v),
            Setting::Margin(v) => c.margin = Some(v),
        }
    }

    /// The value a case sets for `option`, `None` when it leaves the option out.
    pub fn read(case: &Case, option: OptionName) -> Option<Setting> {
        let c = &case.configuration;
        match option {
            OptionName::ContentType => Some(Setting::ContentType(case.content_type.clone())),
            OptionName::MediaSize => c.media_size.clone().map(Setting::MediaSize),
            OptionName::MediaType => c.media_type.clone().map(Setting::MediaType),
            OptionName::ColorMode => c.color_mode.map(Setting::ColorMode),
            OptionName::DuplexMode => c.duplex_mode.map(Setting::DuplexMode),
            OptionName::Dpi => c.dpi.map(Setting::Dpi),
            OptionName::Quality => c.quality.map(Setting::Quality),
            OptionName::Orientation => c.orientation.map(Setting::Orientation),
            OptionName::FeedOrientation => c.feed_orientation.map(Setting::FeedOrientation),
            OptionName::PagesPerSheet => c.pages_per_sheet.map(Setting::PagesPerSheet),
            OptionName::MultipageLayout => c.multipage_layout.map(Setting::MultipageLayout),
            OptionName::Scaling => c.scaling.map(Setting::Scaling),
            OptionName::Copies => c.copies.map(Setting::Copies),
            OptionName::Collate => c.collate.map(Setting::Collate),
            OptionName::PageRanges => c.page_ranges.clone().map(Setting::PageRanges),
            OptionName::Finishings => c.finishings.clone().map(Setting::Finishings),
            OptionName::InputBin => c.input_bin.clone().map(Setting::InputBin),
            OptionName::OutputBin => c.output_bin.clone().map(Setting::OutputBin),
            OptionName::FitPdfToPage => c.fit_pdf_to_page.map(Setting::FitPdfToPage),
            OptionName::Margin => c.margin.map(Setting::Margin),
        }
    }

    /// The value as Graph writes it, and as an expectations file names it: enum members by
    /// name, numbers and strings as they are, lists and margins as compact JSON.
    pub fn graph_text(&self) -> String {
        let json = match self {
            Setting::ContentType(v)
            | Setting::MediaSize(v)
            | Setting::MediaType(v)
            | Setting::InputBin(v)
            | Setting::OutputBin(v) => return v.clone(),
            Setting::ColorMode(v) => return v.as_str().to_owned(),
            Setting::DuplexMode(v) => return v.as_str().to_owned(),
            Setting::Quality(v) => return v.as_str().to_owned(),
            Setting::Orientation(v) => return v.as_str().to_owned(),
            Setting::FeedOrientation(v) => return v.as_str().to_owned(),
            Setting::MultipageLayout(v) => return v.as_str().to_owned(),
            Setting::Scaling(v) => return v.as_str().to_owned(),
            Setting::Dpi(v) | Setting::PagesPerSheet(v) | Setting::Copies(v) => {
                return v.to_string();
            }
            Setting::Collate(v) | Setting::FitPdfToPage(v) => return v.to_string(),
            Setting::PageRanges(v) => serde_json::to_string(v),
            Setting::Finishings(v) => serde_json::to_string(v),
            Setting::Margin(v) => serde_json::to_string(v),
        };
        json.unwrap_or_default()
    }

    /// The words an expectations file matches against: each finishing of a list on its own,
    /// every other value whole ([`Setting::graph_text`]).
    pub fn graph_words(&self) -> Vec<String> {
        match self {
            Setting::Finishings(list) => list.iter().map(|f| f.as_str().to_owned()).collect(),
            other => vec![other.graph_text()],
        }
    }
}

/// An option only meaningful when another option has one of some values: a multipage layout
/// needs more than one page per sheet, collation more than one copy, fit-to-page a PDF.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Requirement {
    /// Index of the option this one depends on, in the same dimension list (always earlier).
    pub parent: usize,
    /// Indices of the parent's values under which this option applies.
    pub enabling: Vec<usize>,
}

/// One option with the values the matrix tries.
#[derive(Debug, Clone, PartialEq)]
pub struct Dimension {
    pub option: OptionName,
    pub values: Vec<Setting>,
    /// Index of the printer's default among `values`, when it has one there: what a case that
    /// leaves the option out prints with.
    pub default: Option<usize>,
    pub requires: Option<Requirement>,
}

impl Dimension {
    /// Index of the value `case` prints with for this option: the one it sets, else the
    /// default; `None` when neither is one of `values`.
    pub fn value_of(&self, case: &Case) -> Option<usize> {
        match Setting::read(case, self.option) {
            Some(setting) => self.values.iter().position(|v| *v == setting),
            None => self.default,
        }
    }
}

/// Pages of a test document when no page range asks for more: two sheets of 2-up, one of 4-up,
/// both sides of two duplex sheets, and enough to see collation.
pub const DOCUMENT_PAGES: u32 = 4;

/// Page ranges tried, within a document of [`PAGE_RANGES_DOCUMENT_PAGES`]: the least (one
/// page), a typical one (two ranges, skipping a page), the most (every page).
const PAGE_RANGE_VALUES: [&[(i64, i64)]; 3] = [&[(1, 1)], &[(2, 3), (5, 5)], &[(1, 6)]];

/// Pages of the document a page-range case prints: the last page any planned range names.
pub const PAGE_RANGES_DOCUMENT_PAGES: u32 = 6;

/// The options of a printer, in the order cases list them; a dimension always comes after the
/// one it [requires](Requirement). Options with fewer than one value are left out.
pub fn dimensions(caps: &PrinterCapabilities, defaults: &PrinterDefaults) -> Vec<Dimension> {
    let mut dims = Vec::new();
    let list = |l: &Option<Vec<String>>| l.clone().unwrap_or_default();
    let push = |dims: &mut Vec<Dimension>,
                option: OptionName,
                values: Vec<Setting>,
                default: Option<Setting>,
                requires: Option<Requirement>| {
        let values = dedup(values);
        if values.is_empty() {
            return None;
        }
        let default = default.and_then(|d| values.iter().position(|v| *v == d));
        dims.push(Dimension {
            option,
            values,
            default,
            requires,
        });
        Some(dims.len() - 1)
    };
    fn each<T: Clone>(l: &Option<Vec<T>>, f: impl Fn(T) -> Setting) -> Vec<Setting> {
        l.iter().flatten().cloned().map(f).collect()
    }

    let content_types = list(&caps.content_types);
    let content_type = push(
        &mut dims,
        OptionName::ContentType,
        content_types
            .iter()
            .cloned()
            .map(Setting::ContentType)
            .collect(),
        defaults.content_type.clone().map(Setting::ContentType),
        None,
    );
    push(
        &mut dims,
        OptionName::MediaSize,
        each(&caps.media_sizes, Setting::MediaSize),
        defaults.media_size.clone().map(Setting::MediaSize),
        None,
    );
    push(
        &mut dims,
        OptionName::MediaType,
        each(&caps.media_types, Setting::MediaType),
        defaults.media_type.clone().map(Setting::MediaType),
        None,
    );
    push(
        &mut dims,
        OptionName::ColorMode,
        each(&caps.color_modes, Setting::ColorMode),
        defaults.color_mode.map(Setting::ColorMode),
        None,
    );
    push(
        &mut dims,
        OptionName::DuplexMode,
        each(&caps.duplex_modes, Setting::DuplexMode),
        defaults.duplex_mode.map(Setting::DuplexMode),
        None,
    );
    push(
        &mut dims,
        OptionName::Dpi,
        each(&caps.dpis, Setting::Dpi),
        defaults.dpi.map(Setting::Dpi),
        None,
    );
    push(
        &mut dims,
        OptionName::Quality,
        each(&caps.qualities, Setting::Quality),
        defaults.quality.map(Setting::Quality),
        None,
    );
    push(
        &mut dims,
        OptionName::Orientation,
        each(&caps.orientations, Setting::Orientation),
        defaults.orientation.map(Setting::Orientation),
        None,
    );
    push(
        &mut dims,
        OptionName::FeedOrientation,
        each(&caps.feed_orientations, Setting::FeedOrientation),
        None,
        None,
    );

    let pages_per_sheet = caps.pages_per_sheet.clone().unwrap_or_default();
    let pps = push(
        &mut dims,
        OptionName::PagesPerSheet,
        pages_per_sheet
            .iter()
            .copied()
            .map(Setting::PagesPerSheet)
            .collect(),
        defaults.pages_per_sheet.map(Setting::PagesPerSheet),
        None,
    );
    if let Some(parent) = pps {
        let enabling = enabling(
            &dims[parent],
            |s| matches!(s, Setting::PagesPerSheet(n) if *n > 1),
        );
        if !enabling.is_empty() {
            push(
                &mut dims,
                OptionName::MultipageLayout,
                each(&caps.multipage_layouts, Setting::MultipageLayout),
                defaults.multipage_layout.map(Setting::MultipageLayout),
                Some(Requirement { parent, enabling }),
            );
        }
    }
    push(
        &mut dims,
        OptionName::Scaling,
        each(&caps.scalings, Setting::Scaling),
        defaults.scaling.map(Setting::Scaling),
        None,
    );

    if let Some(range) = caps.copies_per_job {
        let (min, max) = (range.start.max(1), range.end);
        let copies = boundaries(min, max)
            .into_iter()
            .filter_map(|n| i32::try_from(n).ok())
            .map(Setting::Copies)
            .collect();
        let parent = push(
            &mut dims,
            OptionName::Copies,
            copies,
            defaults.copies_per_job.map(Setting::Copies),
            None,
        );
        if let (Some(parent), Some(true)) = (parent, caps.collation) {
            let enabling = enabling(&dims[parent], |s| matches!(s, Setting::Copies(n) if *n > 1));
            if !enabling.is_empty() {
                push(
                    &mut dims,
                    OptionName::Collate,
                    vec![Setting::Collate(true), Setting::Collate(false)],
                    None,
                    Some(Requirement { parent, enabling }),
                );
            }
        }
    }
    if caps.is_page_range_supported == Some(true) {
        let ranges = PAGE_RANGE_VALUES
            .iter()
            .map(|r| {
                Setting::PageRanges(
                    r.iter()
                        .map(|&(start, end)| IntegerRange { start, end })
                        .collect(),
                )
            })
            .collect();
        // An image file is one page: page ranges apply to the formats that hold several.
        let requires = content_type.map(|parent| Requirement {
            parent,
            enabling: enabling(
                &dims[parent],
                |s| matches!(s, Setting::ContentType(t) if !crate::document::holds_one_page(t)),
            ),
        });
        if requires.as_ref().is_none_or(|r| !r.enabling.is_empty()) {
            push(&mut dims, OptionName::PageRanges, ranges, None, requires);
        }
    }
    push(
        &mut dims,
        OptionName::Finishings,
        caps.finishings
            .iter()
            .flatten()
            .map(|f| Setting::Finishings(vec![*f]))
            .collect(),
        defaults.finishings.clone().map(Setting::Finishings),
        None,
    );
    push(
        &mut dims,
        OptionName::InputBin,
        each(&caps.input_bins, Setting::InputBin),
        defaults.input_bin.clone().map(Setting::InputBin),
        None,
    );
    push(
        &mut dims,
        OptionName::OutputBin,
        each(&caps.output_bins, Setting::OutputBin),
        defaults.output_bin.clone().map(Setting::OutputBin),
        None,
    );
    if let (Some(parent), Some(true)) = (content_type, caps.supports_fit_pdf_to_page) {
        let enabling = enabling(
            &dims[parent],
            |s| matches!(s, Setting::ContentType(t) if t == printlab_render::PDF),
        );
        if !enabling.is_empty() {
            push(
                &mut dims,
                OptionName::FitPdfToPage,
                vec![Setting::FitPdfToPage(false), Setting::FitPdfToPage(true)],
                defaults.fit_pdf_to_page.map(Setting::FitPdfToPage),
                Some(Requirement { parent, enabling }),
            );
        }
    }
    push(&mut dims, OptionName::Margin, margins(caps), None, None);
    dims
}

fn enabling(parent: &Dimension, applies: impl Fn(&Setting) -> bool) -> Vec<usize> {
    (0..parent.values.len())
        .filter(|&i| applies(&parent.values[i]))
        .collect()
}

fn dedup(values: Vec<Setting>) -> Vec<Setting> {
    let mut out: Vec<Setting> = Vec::with_capacity(values.len());
    for v in values {
        if !out.contains(&v) {
            out.push(v);
        }
    }
    out
}

/// The least, the most and one typical value (the one after the least) of an inclusive range.
fn boundaries(min: i64, max: i64) -> Vec<i64> {
    if max < min {
        return Vec::new();
    }
    let mut values = vec![min];
    if max > min + 1 {
        values.push(min + 1);
    }
    if max > min {
        values.push(max);
    }
    values
}

/// Margins tried: every edge at its least advertised margin, every edge at its most, and a
/// typical one (each edge's middle value). Only when all four edges advertise margins, since
/// a margin a job sends names all four.
fn margins(caps: &PrinterCapabilities) -> Vec<Setting> {
    let edges = [
        &caps.top_margins,
        &caps.bottom_margins,
        &caps.left_margins,
        &caps.right_margins,
    ];
    let mut sorted: Vec<Vec<i32>> = Vec::new();
    for edge in edges {
        let mut values = edge.clone().unwrap_or_default();
        if values.is_empty() {
            return Vec::new();
        }
        values.sort_unstable();
        sorted.push(values);
    }
    let pick = |choose: fn(&[i32]) -> i32| {
        Setting::Margin(PrintMargin {
            top: Some(choose(&sorted[0])),
            bottom: Some(choose(&sorted[1])),
            left: Some(choose(&sorted[2])),
            right: Some(choose(&sorted[3])),
        })
    };
    vec![
        pick(|v| v[0]),
        pick(|v| v[v.len() / 2]),
        pick(|v| v[v.len() - 1]),
    ]
}
