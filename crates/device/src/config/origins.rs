//! Where each Graph property of a converted printer was written in the file, so a Graph rule
//! violation is reported at the TOML value it came from.

use super::{MediaEntry, PrinterEntry, S, SList};
use printlab_graph::rules::{Subject, Violation};
use std::ops::Range;

/// Where each Graph property of the converted printer came from, for mapping violations back.
pub(super) struct Origins<'a> {
    pub(super) printer: &'a PrinterEntry,
    /// For each Graph margin list (top, bottom, left, right), the media entry of each value.
    pub(super) margin_media: [Vec<usize>; 4],
}

impl Origins<'_> {
    pub(super) fn capability(&self, field: &str, index: Option<usize>) -> Range<usize> {
        let caps = &self.printer.capabilities;
        let c = caps.get_ref();
        let list = |l: &Option<SList>| -> Option<Range<usize>> {
            let l = l.as_ref()?;
            Some(match index.and_then(|i| l.get_ref().get(i)) {
                Some(item) => item.span(),
                None => l.span(),
            })
        };
        let ints = |l: &Option<S<Vec<S<i64>>>>| -> Option<Range<usize>> {
            let l = l.as_ref()?;
            Some(match index.and_then(|i| l.get_ref().get(i)) {
                Some(item) => item.span(),
                None => l.span(),
            })
        };
        let media = |pick: &dyn Fn(&MediaEntry) -> Range<usize>, i: Option<usize>| {
            let m = c.media.as_ref()?;
            Some(match i.and_then(|i| m.get_ref().get(i)) {
                Some(entry) => pick(entry.get_ref()),
                None => m.span(),
            })
        };
        let margin = |side: usize| {
            let entry = index.and_then(|i| self.margin_media[side].get(i).copied());
            media(&|e: &MediaEntry| e.margins.span(), entry)
        };
        let span = match field {
            "contentTypes" => list(&c.document_formats),
            "colorModes" | "isColorPrintingSupported" => list(&c.color_modes),
            "mediaSizes" => media(&|e: &MediaEntry| e.size.span(), index),
            "topMargins" => margin(0),
            "bottomMargins" => margin(1),
            "leftMargins" => margin(2),
            "rightMargins" => margin(3),
            "dpis" => ints(&c.dpis),
            "duplexModes" => list(&c.duplex_modes),
            "finishings" => list(&c.finishings),
            "pagesPerSheet" => ints(&c.pages_per_sheet),
            "multipageLayouts" => list(&c.multipage_layouts),
            "orientations" => list(&c.orientations),
            "scalings" => list(&c.scalings),
            "qualities" => list(&c.qualities),
            "feedOrientations" => list(&c.feed_orientations),
            "inputBins" => list(&c.input_bins),
            "outputBins" => list(&c.output_bins),
            "mediaTypes" => list(&c.media_types),
            "mediaColors" => list(&c.media_colors),
            "copiesPerJob" => c.copies.as_ref().map(|c| c.span()),
            _ => None,
        };
        span.unwrap_or_else(|| caps.span())
    }

    pub(super) fn default(&self, field: &str, index: Option<usize>) -> Range<usize> {
        let Some(defaults) = &self.printer.defaults else {
            return self.printer.capabilities.span();
        };
        let d = defaults.get_ref();
        let one = |v: &Option<S<String>>| v.as_ref().map(|v| v.span());
        let int = |v: &Option<S<i64>>| v.as_ref().map(|v| v.span());
        let span = match field {
            "colorMode" => one(&d.color_mode),
            "contentType" => one(&d.document_format),
            "copiesPerJob" => int(&d.copies),
            "dpi" => int(&d.dpi),
            "duplexMode" => one(&d.duplex_mode),
            "finishings" => d.finishings.as_ref().map(|l| {
                index
                    .and_then(|i| l.get_ref().get(i))
                    .map_or(l.span(), |v| v.span())
            }),
            "fitPdfToPage" => d.fit_to_page.as_ref().map(|v| v.span()),
            "inputBin" => one(&d.input_bin),
            "mediaColor" => one(&d.media_color),
            "mediaSize" => one(&d.media_size),
            "mediaType" => one(&d.media_type),
            "multipageLayout" => one(&d.multipage_layout),
            "orientation" => one(&d.orientation),
            "outputBin" => one(&d.output_bin),
            "pagesPerSheet" => int(&d.pages_per_sheet),
            "quality" => one(&d.quality),
            "scaling" => one(&d.scaling),
            _ => None,
        };
        span.unwrap_or_else(|| defaults.span())
    }

    pub(super) fn violation(&self, v: &Violation) -> Range<usize> {
        match v.subject {
            Subject::Capabilities => self.capability(v.field, v.index),
            Subject::Defaults | Subject::Job => self.default(v.field, v.index),
        }
    }
}

/// The TOML key a Graph property is written as, so messages speak the file's language.
pub(super) fn toml_key(subject: Subject, field: &str) -> &str {
    match (subject, field) {
        (Subject::Capabilities, "contentTypes") => "document_formats",
        (Subject::Capabilities, "mediaSizes") => "media",
        (
            Subject::Capabilities,
            "topMargins" | "bottomMargins" | "leftMargins" | "rightMargins",
        ) => "margins",
        (Subject::Capabilities, "copiesPerJob") => "copies",
        (Subject::Capabilities, "isColorPrintingSupported") => "color_modes",
        (Subject::Defaults, "contentType") => "document_format",
        (Subject::Defaults, "copiesPerJob") => "copies",
        (_, "fitPdfToPage") => "fit_to_page",
        (_, "colorModes") => "color_modes",
        (_, "duplexModes") => "duplex_modes",
        (_, "pagesPerSheet") => "pages_per_sheet",
        (_, "multipageLayouts") => "multipage_layouts",
        (_, "feedOrientations") => "feed_orientations",
        (_, "inputBins") => "input_bins",
        (_, "outputBins") => "output_bins",
        (_, "mediaTypes") => "media_types",
        (_, "mediaColors") => "media_colors",
        (_, "colorMode") => "color_mode",
        (_, "duplexMode") => "duplex_mode",
        (_, "inputBin") => "input_bin",
        (_, "mediaColor") => "media_color",
        (_, "mediaSize") => "media_size",
        (_, "mediaType") => "media_type",
        (_, "multipageLayout") => "multipage_layout",
        (_, "outputBin") => "output_bin",
        _ => field,
    }
}
