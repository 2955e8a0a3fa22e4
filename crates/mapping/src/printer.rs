//! Printer capabilities and defaults, Graph → IPP printer attributes (what a device sends) and
//! back (what the cloud shows).

use crate::Mapped;
use crate::media_col_rules::{MediaColUse, media_col_members};
use crate::tables::*;
use crate::values::*;
use printlab_graph::*;
use printlab_ipp::{Attribute, AttributeLookup, Value};

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
        MediaColUse::PrinterDescription,
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
            let mut col = media_col_members(
                MediaColUse::PrinterDescription,
                Some(size),
                None,
                None,
                None,
            );
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

    let mut media_sizes: Option<Vec<String>> = attrs.attr("media-supported").map(|supported| {
        let mut names = Vec::new();
        for v in &supported.values {
            match v.as_keyword().and_then(MediaSize::by_pwg_name) {
                Some(size) => names.push(size.graph_name.to_owned()),
                None if v.as_keyword().is_some_and(|k| {
                    k.starts_with("custom_min_") || k.starts_with("custom_max_")
                }) =>
                {
                    n.add("media-supported", v, CUSTOM_SIZES)
                }
                None => n.add("media-supported", v, UNKNOWN_SIZE),
            }
        }
        names
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::over_the_wire;

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
}
