//! The job template: Graph `printJobConfiguration` → the attributes of Fetch-Job, and back.

use crate::Mapped;
use crate::media_col_rules::{MediaColUse, media_col_members};
use crate::tables::*;
use crate::values::*;
use printlab_graph::*;
use printlab_ipp::{Attribute, AttributeLookup, Value};

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
    let mut col = media_col_members(
        MediaColUse::Job,
        size,
        c.media_type.as_deref(),
        c.input_bin.as_deref(),
        None,
    );
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::over_the_wire;

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
            Some("totop-toleft")
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
        let size = col.collection("media-size").unwrap();
        assert_eq!(
            (size.integer("x-dimension"), size.integer("y-dimension")),
            (Some(21590), Some(35560)),
            "North America Legal, named once, by its dimensions"
        );
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
