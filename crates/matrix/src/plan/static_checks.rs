//! Checks made before anything prints, from what Graph shows alone: defaults a printer does not
//! support, and capabilities the matrix cannot test because Graph drops or cannot express them.

use super::PrinterUnderTest;
use crate::Finding;
use printlab_graph::{GraphEnum, MediaSize, PrinterCapabilities};
use std::fmt::Display;

/// Every problem found, in the order of the printer's defaults, then its capabilities.
pub fn static_checks(printer: &PrinterUnderTest) -> Vec<Finding> {
    let caps = &printer.capabilities;
    let d = &printer.defaults;
    let mut findings = Vec::new();
    let mut default_in = |name: &str, value: Option<String>, supported: Option<Vec<String>>| {
        if let Some(value) = value {
            let supported = supported.unwrap_or_default();
            if !supported.contains(&value) {
                findings.push(Finding {
                    check: format!("default.{name}"),
                    expected: one_of(&supported),
                    observed: value,
                });
            }
        }
    };
    fn text<T: Display>(v: &Option<T>) -> Option<String> {
        v.as_ref().map(T::to_string)
    }
    fn texts<T: Display>(l: &Option<Vec<T>>) -> Option<Vec<String>> {
        l.as_ref().map(|l| l.iter().map(T::to_string).collect())
    }
    default_in("colorMode", text(&d.color_mode), texts(&caps.color_modes));
    default_in(
        "contentType",
        d.content_type.clone(),
        caps.content_types.clone(),
    );
    default_in("dpi", text(&d.dpi), texts(&caps.dpis));
    default_in(
        "duplexMode",
        text(&d.duplex_mode),
        texts(&caps.duplex_modes),
    );
    for finishing in d.finishings.iter().flatten() {
        default_in(
            "finishings",
            Some(finishing.to_string()),
            texts(&caps.finishings),
        );
    }
    default_in("inputBin", d.input_bin.clone(), caps.input_bins.clone());
    default_in(
        "mediaColor",
        d.media_color.clone(),
        caps.media_colors.clone(),
    );
    default_in("mediaSize", d.media_size.clone(), caps.media_sizes.clone());
    default_in("mediaType", d.media_type.clone(), caps.media_types.clone());
    default_in(
        "multipageLayout",
        text(&d.multipage_layout),
        texts(&caps.multipage_layouts),
    );
    default_in(
        "orientation",
        text(&d.orientation),
        texts(&caps.orientations),
    );
    default_in("outputBin", d.output_bin.clone(), caps.output_bins.clone());
    default_in(
        "pagesPerSheet",
        text(&d.pages_per_sheet),
        texts(&caps.pages_per_sheet),
    );
    default_in("quality", text(&d.quality), texts(&caps.qualities));
    default_in("scaling", text(&d.scaling), texts(&caps.scalings));
    if let Some(copies) = d.copies_per_job {
        let within = caps
            .copies_per_job
            .is_some_and(|r| (r.start..=r.end).contains(&i64::from(copies)));
        if !within {
            findings.push(Finding {
                check: "default.copiesPerJob".into(),
                expected: caps
                    .copies_per_job
                    .map(|r| format!("{}..={}", r.start, r.end))
                    .unwrap_or_else(|| "no default: copiesPerJob is not advertised".into()),
                observed: copies.to_string(),
            });
        }
    }
    if d.fit_pdf_to_page == Some(true) && caps.supports_fit_pdf_to_page != Some(true) {
        findings.push(Finding {
            check: "default.fitPdfToPage".into(),
            expected: "false: supportsFitPdfToPage is not true".into(),
            observed: "true".into(),
        });
    }
    findings.extend(capability_findings(caps));
    findings
}

/// Capabilities a client cannot use as Graph shows them.
fn capability_findings(caps: &PrinterCapabilities) -> Vec<Finding> {
    let mut findings = Vec::new();
    let mut missing = |name: &str, why: &str| {
        findings.push(Finding {
            check: format!("capabilities.{name}"),
            expected: why.to_owned(),
            observed: "not advertised".into(),
        })
    };
    if caps.content_types.as_ref().is_none_or(Vec::is_empty) {
        missing(
            "contentTypes",
            "at least one document format a job can send",
        );
    }
    if caps.media_sizes.as_ref().is_none_or(Vec::is_empty) {
        missing("mediaSizes", "at least one media size a job can ask for");
    }
    if caps.dpis.as_ref().is_none_or(Vec::is_empty) {
        missing(
            "dpis",
            "at least one resolution, so output size can be checked",
        );
    }
    for size in caps.media_sizes.iter().flatten() {
        if MediaSize::by_graph_name(size).is_none() {
            findings.push(Finding {
                check: "capabilities.mediaSizes".into(),
                expected: "a size Graph names, with known dimensions".into(),
                observed: size.clone(),
            });
        }
    }
    for content_type in caps.content_types.iter().flatten() {
        if !printlab_render::SUPPORTED_TYPES.contains(&content_type.as_str()) {
            findings.push(Finding {
                check: "capabilities.contentTypes".into(),
                expected: format!(
                    "a format the matrix writes test documents in: {}",
                    printlab_render::SUPPORTED_TYPES.join(", ")
                ),
                observed: content_type.clone(),
            });
        }
    }
    let evolvable = caps
        .finishings
        .iter()
        .flatten()
        .filter(|f| f.is_evolvable())
        .map(|f| f.as_str());
    for finishing in evolvable {
        findings.push(Finding {
            check: "capabilities.finishings".into(),
            expected: "a finishing every client sees (Graph shows this one as unknownFutureValue \
                       unless the client sends Prefer: include-unknown-enum-members)"
                .into(),
            observed: finishing.to_owned(),
        });
    }
    let colour_modes = caps.color_modes.iter().flatten();
    let has_colour = colour_modes.into_iter().any(|m| m.as_str() == "color");
    if let Some(supported) = caps.is_color_printing_supported
        && supported != has_colour
    {
        findings.push(Finding {
            check: "capabilities.isColorPrintingSupported".into(),
            expected: format!("{has_colour}, as colorModes says"),
            observed: supported.to_string(),
        });
    }
    findings
}

fn one_of(values: &[String]) -> String {
    if values.is_empty() {
        "none advertised".into()
    } else {
        format!("one of {}", values.join(", "))
    }
}

#[cfg(test)]
mod tests {
    use super::super::tests::office;
    use super::*;
    use printlab_graph::PrintQuality;

    #[test]
    fn a_clean_printer_has_no_findings() {
        assert_eq!(static_checks(&office()), []);
    }

    #[test]
    fn defaults_outside_the_capabilities_and_unknown_sizes_are_found() {
        let mut printer = office();
        printer.defaults.media_size = Some("tabloid".into());
        printer.defaults.quality = Some(PrintQuality::Low);
        printer.defaults.copies_per_job = Some(500);
        printer
            .capabilities
            .media_sizes
            .as_mut()
            .unwrap()
            .push("my-custom-size".into());
        let checks: Vec<(String, String)> = static_checks(&printer)
            .into_iter()
            .map(|f| (f.check, f.observed))
            .collect();
        assert_eq!(
            checks,
            [
                ("default.mediaSize".into(), "tabloid".into()),
                ("default.quality".into(), "low".into()),
                ("default.copiesPerJob".into(), "500".into()),
                ("capabilities.mediaSizes".into(), "my-custom-size".into()),
            ]
        );
    }
}
