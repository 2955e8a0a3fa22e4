//! The consistency rules for printer capabilities, printer defaults and job configurations.
//!
//! `printlab validate`, the device (before it advertises itself), the cloud (when a device
//! advertises or a client submits a job) and `printlab print` all run these same functions, so a
//! mistake is named the same way wherever it is caught. Every function returns every violation,
//! not just the first: a person fixing a `printers.toml` wants the whole list at once.
//!
//! One file over 800 lines on purpose: the rules are one table read top to bottom (about 720
//! lines), and their tests follow them.

use super::enums::*;
use super::media::MediaSize;
use super::resources::{IntegerRange, PrintJobConfiguration, PrinterCapabilities, PrinterDefaults};
use std::fmt;

/// Which object a violation is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Subject {
    Capabilities,
    Defaults,
    Job,
}

impl fmt::Display for Subject {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Subject::Capabilities => "capabilities",
            Subject::Defaults => "defaults",
            Subject::Job => "configuration",
        })
    }
}

/// One broken rule, located by the Graph property name (camelCase, as on the wire) and, for a
/// collection, the index of the offending member; callers map that back to their own source
/// (a TOML span, a JSON pointer).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Violation {
    pub subject: Subject,
    pub field: &'static str,
    pub index: Option<usize>,
    pub message: String,
}

impl fmt::Display for Violation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.index {
            Some(i) => write!(f, "{}.{}[{i}]: {}", self.subject, self.field, self.message),
            None => write!(f, "{}.{}: {}", self.subject, self.field, self.message),
        }
    }
}

/// Copies above this are a typo, not a print job; IPP printers commonly cap `copies` at 9999.
pub const MAX_COPIES: i64 = 9999;
/// Resolutions outside this range are not printers (thermal labels start near 150, photo at 4800).
pub const DPI_RANGE: std::ops::RangeInclusive<i32> = 72..=9600;
/// A hardware margin beyond 50 mm (in microns) leaves no printable area on small media.
pub const MAX_MARGIN_MICRONS: i32 = 50_000;

struct Report {
    subject: Subject,
    out: Vec<Violation>,
}

impl Report {
    fn new(subject: Subject) -> Self {
        Self {
            subject,
            out: Vec::new(),
        }
    }

    fn push(&mut self, field: &'static str, index: Option<usize>, message: impl Into<String>) {
        self.out.push(Violation {
            subject: self.subject,
            field,
            index,
            message: message.into(),
        });
    }

    /// Duplicates and `unknownFutureValue` are never meaningful in a capability list.
    fn enum_list<E: GraphEnum + PartialEq + fmt::Display>(
        &mut self,
        field: &'static str,
        values: &Option<Vec<E>>,
        required: bool,
    ) {
        let Some(values) = values else {
            if required {
                self.push(field, None, "is required");
            }
            return;
        };
        if values.is_empty() {
            self.push(field, None, "must list at least one value");
        }
        for (i, v) in values.iter().enumerate() {
            if v.as_str() == "unknownFutureValue" {
                self.push(
                    field,
                    Some(i),
                    "`unknownFutureValue` is a placeholder, not a capability",
                );
            }
            if values[..i].contains(v) {
                self.push(field, Some(i), format!("`{v}` is listed twice"));
            }
        }
    }

    fn string_list(&mut self, field: &'static str, values: &Option<Vec<String>>) {
        let Some(values) = values else { return };
        if values.is_empty() {
            self.push(field, None, "must list at least one value when present");
        }
        for (i, v) in values.iter().enumerate() {
            if v.trim().is_empty() {
                self.push(field, Some(i), "must not be blank");
            } else if values[..i].contains(v) {
                self.push(field, Some(i), format!("`{v}` is listed twice"));
            }
        }
    }
}

fn list_names<T: fmt::Display>(values: &[T]) -> String {
    values
        .iter()
        .map(|v| format!("`{v}`"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// True for a `type/subtype` MIME type without parameters.
fn is_mime_type(s: &str) -> bool {
    let Some((ty, sub)) = s.split_once('/') else {
        return false;
    };
    let token = |t: &str| {
        !t.is_empty()
            && t.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"!#$&-^_.+".contains(&b))
    };
    token(ty) && token(sub)
}

/// Every rule a printer's capabilities must satisfy on their own.
pub fn check_capabilities(caps: &PrinterCapabilities) -> Vec<Violation> {
    let mut r = Report::new(Subject::Capabilities);

    match &caps.content_types {
        None => r.push(
            "contentTypes",
            None,
            "is required: a printer must accept some format",
        ),
        Some(types) => {
            r.string_list("contentTypes", &caps.content_types);
            for (i, t) in types.iter().enumerate() {
                if !t.trim().is_empty() && !is_mime_type(t) {
                    r.push(
                        "contentTypes",
                        Some(i),
                        format!("`{t}` is not a MIME type (type/subtype)"),
                    );
                }
            }
        }
    }

    r.enum_list("colorModes", &caps.color_modes, true);
    if let Some(modes) = &caps.color_modes {
        let mono = modes
            .iter()
            .any(|m| matches!(m, PrintColorMode::BlackAndWhite | PrintColorMode::Grayscale));
        if !modes.is_empty() && !mono {
            r.push(
                "colorModes",
                None,
                "must include a monochrome mode (`blackAndWhite` or `grayscale`): every printer can print without colour",
            );
        }
        let colour = modes.contains(&PrintColorMode::Color);
        if let Some(flag) = caps.is_color_printing_supported
            && flag != colour
        {
            r.push(
                "isColorPrintingSupported",
                None,
                format!(
                    "is {flag} but colorModes {} `color`",
                    if colour { "includes" } else { "lacks" }
                ),
            );
        }
    }

    match &caps.media_sizes {
        None => r.push("mediaSizes", None, "is required"),
        Some(sizes) => {
            if sizes.is_empty() {
                r.push("mediaSizes", None, "must list at least one size");
            }
            for (i, s) in sizes.iter().enumerate() {
                if MediaSize::by_graph_name(s).is_none() {
                    r.push(
                        "mediaSizes",
                        Some(i),
                        format!("`{s}` is not a known media size (see `printlab media`)"),
                    );
                } else if sizes[..i].contains(s) {
                    r.push("mediaSizes", Some(i), format!("`{s}` is listed twice"));
                }
            }
        }
    }

    for (field, margins) in [
        ("topMargins", &caps.top_margins),
        ("bottomMargins", &caps.bottom_margins),
        ("leftMargins", &caps.left_margins),
        ("rightMargins", &caps.right_margins),
    ] {
        for (i, m) in margins.iter().flatten().enumerate() {
            if *m < 0 {
                r.push(field, Some(i), format!("{m} µm is negative"));
            } else if *m > MAX_MARGIN_MICRONS {
                r.push(
                    field,
                    Some(i),
                    format!("{m} µm is more than the {MAX_MARGIN_MICRONS} µm a printer can have"),
                );
            }
        }
    }

    match &caps.dpis {
        None => r.push("dpis", None, "is required"),
        Some(dpis) => {
            if dpis.is_empty() {
                r.push("dpis", None, "must list at least one resolution");
            }
            for (i, d) in dpis.iter().enumerate() {
                if !DPI_RANGE.contains(d) {
                    r.push(
                        "dpis",
                        Some(i),
                        format!(
                            "{d} dpi is outside {}–{}",
                            DPI_RANGE.start(),
                            DPI_RANGE.end()
                        ),
                    );
                } else if dpis[..i].contains(d) {
                    r.push("dpis", Some(i), format!("{d} is listed twice"));
                }
            }
        }
    }

    r.enum_list("duplexModes", &caps.duplex_modes, true);
    if let Some(modes) = &caps.duplex_modes
        && !modes.is_empty()
        && !modes.contains(&PrintDuplexMode::OneSided)
    {
        r.push("duplexModes", None, "must include `oneSided`");
    }

    r.enum_list("finishings", &caps.finishings, true);
    if let Some(f) = &caps.finishings
        && !f.is_empty()
        && !f.contains(&PrintFinishing::None)
    {
        r.push(
            "finishings",
            None,
            "must include `none`: every printer can leave a job unfinished",
        );
    }

    if let Some(pps) = &caps.pages_per_sheet {
        if !pps.contains(&1) {
            r.push("pagesPerSheet", None, "must include 1");
        }
        for (i, n) in pps.iter().enumerate() {
            if !(1..=64).contains(n) {
                r.push("pagesPerSheet", Some(i), format!("{n} is outside 1–64"));
            } else if pps[..i].contains(n) {
                r.push("pagesPerSheet", Some(i), format!("{n} is listed twice"));
            }
        }
        if pps.iter().any(|n| *n > 1) && caps.multipage_layouts.as_ref().is_none_or(Vec::is_empty) {
            r.push(
                "multipageLayouts",
                None,
                "is required when pagesPerSheet offers more than 1",
            );
        }
    }
    r.enum_list("multipageLayouts", &caps.multipage_layouts, false);
    r.enum_list("orientations", &caps.orientations, false);
    r.enum_list("scalings", &caps.scalings, false);
    r.enum_list("qualities", &caps.qualities, false);
    r.enum_list("feedOrientations", &caps.feed_orientations, false);

    r.string_list("inputBins", &caps.input_bins);
    r.string_list("outputBins", &caps.output_bins);
    r.string_list("mediaTypes", &caps.media_types);
    r.string_list("mediaColors", &caps.media_colors);

    match caps.copies_per_job {
        None => r.push("copiesPerJob", None, "is required"),
        Some(IntegerRange { start, end }) => {
            if start < 1 {
                r.push(
                    "copiesPerJob",
                    None,
                    format!("starts at {start}; it must start at 1 or more"),
                );
            }
            if end < start {
                r.push(
                    "copiesPerJob",
                    None,
                    format!("ends at {end}, before its start {start}"),
                );
            }
            if end > MAX_COPIES {
                r.push(
                    "copiesPerJob",
                    None,
                    format!("ends at {end}, above {MAX_COPIES}"),
                );
            }
        }
    }

    r.out
}

/// Checks one chosen value, if set, against its supported list, naming the supported values on
/// failure.
fn among<T: PartialEq + fmt::Display>(
    r: &mut Report,
    field: &'static str,
    index: Option<usize>,
    value: Option<&T>,
    supported: Option<&[T]>,
    what: &str,
) {
    let Some(value) = value else {
        return; // not set: nothing to check
    };
    match supported {
        None => r.push(
            field,
            index,
            format!("`{value}` is set but the printer declares no {what}"),
        ),
        Some(list) if !list.contains(value) => r.push(
            field,
            index,
            format!(
                "`{value}` is not supported; supported: {}",
                list_names(list)
            ),
        ),
        Some(_) => {}
    }
}

/// Every rule a printer's defaults must satisfy given its capabilities: each default is one of
/// the supported values.
pub fn check_defaults(caps: &PrinterCapabilities, defaults: &PrinterDefaults) -> Vec<Violation> {
    let mut r = Report::new(Subject::Defaults);
    let d = defaults;
    among(
        &mut r,
        "colorMode",
        None,
        d.color_mode.as_ref(),
        caps.color_modes.as_deref(),
        "colorModes",
    );
    among(
        &mut r,
        "contentType",
        None,
        d.content_type.as_ref(),
        caps.content_types.as_deref(),
        "contentTypes",
    );
    if let Some(v) = d.copies_per_job {
        copies_in_range(&mut r, "copiesPerJob", v, caps.copies_per_job);
    }
    among(
        &mut r,
        "dpi",
        None,
        d.dpi.as_ref(),
        caps.dpis.as_deref(),
        "dpis",
    );
    among(
        &mut r,
        "duplexMode",
        None,
        d.duplex_mode.as_ref(),
        caps.duplex_modes.as_deref(),
        "duplexModes",
    );
    finishings_supported(&mut r, d.finishings.as_deref(), caps);
    if d.fit_pdf_to_page == Some(true) && caps.supports_fit_pdf_to_page != Some(true) {
        r.push(
            "fitPdfToPage",
            None,
            "is true but the printer does not support fit-to-page",
        );
    }
    among(
        &mut r,
        "inputBin",
        None,
        d.input_bin.as_ref(),
        caps.input_bins.as_deref(),
        "inputBins",
    );
    among(
        &mut r,
        "mediaColor",
        None,
        d.media_color.as_ref(),
        caps.media_colors.as_deref(),
        "mediaColors",
    );
    among(
        &mut r,
        "mediaSize",
        None,
        d.media_size.as_ref(),
        caps.media_sizes.as_deref(),
        "mediaSizes",
    );
    among(
        &mut r,
        "mediaType",
        None,
        d.media_type.as_ref(),
        caps.media_types.as_deref(),
        "mediaTypes",
    );
    among(
        &mut r,
        "multipageLayout",
        None,
        d.multipage_layout.as_ref(),
        caps.multipage_layouts.as_deref(),
        "multipageLayouts",
    );
    among(
        &mut r,
        "orientation",
        None,
        d.orientation.as_ref(),
        caps.orientations.as_deref(),
        "orientations",
    );
    among(
        &mut r,
        "outputBin",
        None,
        d.output_bin.as_ref(),
        caps.output_bins.as_deref(),
        "outputBins",
    );
    among(
        &mut r,
        "pagesPerSheet",
        None,
        d.pages_per_sheet.as_ref(),
        caps.pages_per_sheet.as_deref(),
        "pagesPerSheet",
    );
    among(
        &mut r,
        "quality",
        None,
        d.quality.as_ref(),
        caps.qualities.as_deref(),
        "qualities",
    );
    among(
        &mut r,
        "scaling",
        None,
        d.scaling.as_ref(),
        caps.scalings.as_deref(),
        "scalings",
    );
    r.out
}

fn copies_in_range(r: &mut Report, field: &'static str, copies: i32, range: Option<IntegerRange>) {
    let range = range.unwrap_or(IntegerRange { start: 1, end: 1 });
    if !(range.start..=range.end).contains(&i64::from(copies)) {
        r.push(
            field,
            None,
            format!(
                "{copies} is outside the supported {}–{}",
                range.start, range.end
            ),
        );
    }
}

fn finishings_supported(
    r: &mut Report,
    chosen: Option<&[PrintFinishing]>,
    caps: &PrinterCapabilities,
) {
    for (i, f) in chosen.into_iter().flatten().enumerate() {
        among(
            r,
            "finishings",
            Some(i),
            Some(f),
            caps.finishings.as_deref(),
            "finishings",
        );
    }
}

/// Both printer checks together: what a device must pass before it advertises itself.
pub fn check_printer(caps: &PrinterCapabilities, defaults: &PrinterDefaults) -> Vec<Violation> {
    let mut out = check_capabilities(caps);
    out.extend(check_defaults(caps, defaults));
    out
}

/// Every option of a job the printer cannot honour, each message listing what it can do, so the
/// cloud can refuse the job and `printlab print` can tell the user what to pick instead.
pub fn check_job(config: &PrintJobConfiguration, caps: &PrinterCapabilities) -> Vec<Violation> {
    let mut r = Report::new(Subject::Job);
    let c = config;
    // `auto` asks the printer to choose, so any printer honours it.
    let color_mode = c
        .color_mode
        .as_ref()
        .filter(|m| **m != PrintColorMode::Auto);
    among(
        &mut r,
        "colorMode",
        None,
        color_mode,
        caps.color_modes.as_deref(),
        "colorModes",
    );
    if let Some(v) = c.copies {
        copies_in_range(&mut r, "copies", v, caps.copies_per_job);
    }
    if c.collate == Some(true) && caps.collation != Some(true) {
        r.push(
            "collate",
            None,
            "is true but the printer cannot collate copies",
        );
    }
    among(
        &mut r,
        "dpi",
        None,
        c.dpi.as_ref(),
        caps.dpis.as_deref(),
        "dpis",
    );
    among(
        &mut r,
        "duplexMode",
        None,
        c.duplex_mode.as_ref(),
        caps.duplex_modes.as_deref(),
        "duplexModes",
    );
    among(
        &mut r,
        "feedOrientation",
        None,
        c.feed_orientation.as_ref(),
        caps.feed_orientations.as_deref(),
        "feedOrientations",
    );
    finishings_supported(&mut r, c.finishings.as_deref(), caps);
    if c.fit_pdf_to_page == Some(true) && caps.supports_fit_pdf_to_page != Some(true) {
        r.push(
            "fitPdfToPage",
            None,
            "is true but the printer does not support fit-to-page",
        );
    }
    among(
        &mut r,
        "inputBin",
        None,
        c.input_bin.as_ref(),
        caps.input_bins.as_deref(),
        "inputBins",
    );
    if let Some(m) = &c.margin {
        for (side, v) in [
            ("top", m.top),
            ("bottom", m.bottom),
            ("left", m.left),
            ("right", m.right),
        ] {
            if let Some(v) = v
                && v < 0
            {
                r.push("margin", None, format!("{side} margin {v} is negative"));
            }
        }
    }
    among(
        &mut r,
        "mediaSize",
        None,
        c.media_size.as_ref(),
        caps.media_sizes.as_deref(),
        "mediaSizes",
    );
    among(
        &mut r,
        "mediaType",
        None,
        c.media_type.as_ref(),
        caps.media_types.as_deref(),
        "mediaTypes",
    );
    among(
        &mut r,
        "multipageLayout",
        None,
        c.multipage_layout.as_ref(),
        caps.multipage_layouts.as_deref(),
        "multipageLayouts",
    );
    among(
        &mut r,
        "orientation",
        None,
        c.orientation.as_ref(),
        caps.orientations.as_deref(),
        "orientations",
    );
    among(
        &mut r,
        "outputBin",
        None,
        c.output_bin.as_ref(),
        caps.output_bins.as_deref(),
        "outputBins",
    );
    if let Some(ranges) = &c.page_ranges {
        if caps.is_page_range_supported != Some(true) {
            r.push(
                "pageRanges",
                None,
                "are set but the printer does not support page ranges",
            );
        }
        for (i, pr) in ranges.iter().enumerate() {
            if pr.start < 1 || pr.end < pr.start {
                r.push(
                    "pageRanges",
                    Some(i),
                    format!(
                        "{}–{} is not a range of pages (start ≥ 1, end ≥ start)",
                        pr.start, pr.end
                    ),
                );
            } else if ranges[..i].iter().any(|p| p.end >= pr.start) {
                r.push(
                    "pageRanges",
                    Some(i),
                    format!(
                        "{}–{} overlaps or precedes an earlier range",
                        pr.start, pr.end
                    ),
                );
            }
        }
    }
    among(
        &mut r,
        "pagesPerSheet",
        None,
        c.pages_per_sheet.as_ref(),
        caps.pages_per_sheet.as_deref(),
        "pagesPerSheet",
    );
    among(
        &mut r,
        "quality",
        None,
        c.quality.as_ref(),
        caps.qualities.as_deref(),
        "qualities",
    );
    among(
        &mut r,
        "scaling",
        None,
        c.scaling.as_ref(),
        caps.scalings.as_deref(),
        "scalings",
    );
    r.out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn office() -> PrinterCapabilities {
        PrinterCapabilities {
            content_types: Some(vec!["application/pdf".into()]),
            color_modes: Some(vec![PrintColorMode::BlackAndWhite, PrintColorMode::Color]),
            is_color_printing_supported: Some(true),
            media_sizes: Some(vec!["A4".into(), "North America Letter".into()]),
            top_margins: Some(vec![4233]),
            dpis: Some(vec![300, 600]),
            duplex_modes: Some(vec![
                PrintDuplexMode::OneSided,
                PrintDuplexMode::FlipOnLongEdge,
            ]),
            finishings: Some(vec![PrintFinishing::None, PrintFinishing::Staple]),
            pages_per_sheet: Some(vec![1, 2]),
            multipage_layouts: Some(vec![PrintMultipageLayout::ClockwiseFromTopLeft]),
            copies_per_job: Some(IntegerRange { start: 1, end: 99 }),
            collation: Some(true),
            input_bins: Some(vec!["tray-1".into()]),
            ..Default::default()
        }
    }

    fn fields(v: &[Violation]) -> Vec<&'static str> {
        v.iter().map(|v| v.field).collect()
    }

    #[test]
    fn a_consistent_printer_passes() {
        let defaults = PrinterDefaults {
            color_mode: Some(PrintColorMode::BlackAndWhite),
            media_size: Some("A4".into()),
            copies_per_job: Some(1),
            finishings: Some(vec![PrintFinishing::None]),
            ..Default::default()
        };
        assert_eq!(check_printer(&office(), &defaults), vec![]);
    }

    #[test]
    fn every_capability_mistake_is_reported_at_once() {
        let mut caps = office();
        caps.color_modes = Some(vec![PrintColorMode::Color]);
        caps.finishings = Some(vec![PrintFinishing::Staple]);
        caps.media_sizes = Some(vec!["A4".into(), "A44".into(), "A4".into()]);
        caps.top_margins = Some(vec![-1]);
        caps.copies_per_job = Some(IntegerRange { start: 0, end: -1 });
        caps.duplex_modes = Some(vec![PrintDuplexMode::FlipOnLongEdge]);
        caps.content_types = Some(vec!["pdf".into()]);
        let v = check_capabilities(&caps);
        let f = fields(&v);
        for expected in [
            "colorModes",
            "finishings",
            "mediaSizes",
            "topMargins",
            "copiesPerJob",
            "duplexModes",
            "contentTypes",
        ] {
            assert!(f.contains(&expected), "{expected} missing from {v:#?}");
        }
        let media: Vec<_> = v.iter().filter(|v| v.field == "mediaSizes").collect();
        assert_eq!(media.len(), 2);
        assert_eq!(media[0].index, Some(1));
        assert!(media[1].message.contains("twice"));
        assert_eq!(v.iter().filter(|v| v.field == "copiesPerJob").count(), 2);
    }

    #[test]
    fn defaults_must_be_supported_and_name_the_alternatives() {
        let defaults = PrinterDefaults {
            dpi: Some(1200),
            media_size: Some("A3".into()),
            finishings: Some(vec![PrintFinishing::None, PrintFinishing::Punch]),
            copies_per_job: Some(100),
            scaling: Some(PrintScaling::Fit),
            ..Default::default()
        };
        let v = check_defaults(&office(), &defaults);
        assert_eq!(
            fields(&v),
            vec!["copiesPerJob", "dpi", "finishings", "mediaSize", "scaling"]
        );
        assert!(v[1].message.contains("`300`, `600`"), "{}", v[1].message);
        assert_eq!(v[2].index, Some(1));
        assert!(v[4].message.contains("declares no scalings"));
    }

    #[test]
    fn colour_flag_must_agree_with_modes() {
        let mut caps = office();
        caps.is_color_printing_supported = Some(false);
        assert_eq!(
            fields(&check_capabilities(&caps)),
            vec!["isColorPrintingSupported"]
        );
    }

    #[test]
    fn n_up_needs_layouts() {
        let mut caps = office();
        caps.multipage_layouts = None;
        assert_eq!(fields(&check_capabilities(&caps)), vec!["multipageLayouts"]);
    }

    #[test]
    fn jobs_are_checked_against_capabilities() {
        let job = PrintJobConfiguration {
            color_mode: Some(PrintColorMode::Auto),
            copies: Some(3),
            collate: Some(true),
            duplex_mode: Some(PrintDuplexMode::FlipOnShortEdge),
            page_ranges: Some(vec![
                IntegerRange { start: 1, end: 2 },
                IntegerRange { start: 2, end: 3 },
            ]),
            media_size: Some("A4".into()),
            ..Default::default()
        };
        let v = check_job(&job, &office());
        assert_eq!(fields(&v), vec!["duplexMode", "pageRanges", "pageRanges"]);
        assert!(v[0].message.contains("`oneSided`, `flipOnLongEdge`"));
        assert_eq!(v[2].index, Some(1));
        let ok = PrintJobConfiguration {
            copies: Some(99),
            input_bin: Some("tray-1".into()),
            ..Default::default()
        };
        assert_eq!(check_job(&ok, &office()), vec![]);
    }
}
