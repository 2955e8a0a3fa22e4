//! How a `media-col` value names its size, which depends on where it travels.
//!
//! PWG 5100.7 gives a collection two ways to name a size, `media-size` (dimensions) and
//! `media-size-name` (a PWG 5101.1 keyword). A job's `media-col` (Job Template) uses one of
//! them: output printers refuse a job whose `media-col` carries both (found against a real
//! printer behind PWG's reference proxy, which then reported the job completed with nothing
//! printed). A printer's own collections (`media-col-database`, `-default`, `-ready`) are
//! descriptions, and PWG 5100.7 §6.9.36 asks for both members on a fixed size and forbids
//! `media-size-name` beside a range of dimensions; ippsample and PAPPL describe printers that
//! way. Both rules live here so that what printlab sends and what the cloud checks in its strict
//! mode are one rule.

use crate::values::media_size_col;
use printlab_graph::MediaSize;
use printlab_ipp::{Attribute, AttributeLookup, Value};

/// What a `media-col` value is for, which decides how it names its size.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MediaColUse {
    /// A job's `media-col`: `media-size` alone, the member IPP Everywhere printers must support
    /// (`media-size-name` is optional in `media-col-supported`).
    Job,
    /// A printer's description: `media-size` and `media-size-name` both (PWG 5100.7 §6.9.36).
    PrinterDescription,
}

/// The members of one `media-col`.
pub fn media_col_members(
    usage: MediaColUse,
    size: Option<&MediaSize>,
    media_type: Option<&str>,
    source: Option<&str>,
    color: Option<&str>,
) -> Vec<Attribute> {
    let mut col = Vec::new();
    if let Some(size) = size {
        col.push(Attribute::new("media-size", media_size_col(size)));
        if usage == MediaColUse::PrinterDescription {
            col.push(Attribute::new(
                "media-size-name",
                Value::keyword(size.pwg_name),
            ));
        }
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

/// A `media-col` value that breaks the rule of its use.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("`{attribute}` value {position}: {problem}")]
pub struct MediaColProblem {
    pub attribute: String,
    /// 1-based, as people count the values of a 1setOf.
    pub position: usize,
    pub problem: &'static str,
}

/// The use of a `media-col` attribute, by its name; `None` for attributes that are not one.
fn media_col_use(name: &str) -> Option<MediaColUse> {
    match name {
        "media-col" => Some(MediaColUse::Job),
        "media-col-default" | "media-col-ready" | "media-col-database" => {
            Some(MediaColUse::PrinterDescription)
        }
        _ => None,
    }
}

/// Every `media-col` value among `attributes` that breaks the rule of its use (see the module
/// documentation); attributes that are not media collections are not looked at.
pub fn check_media_cols(attributes: &[Attribute]) -> Vec<MediaColProblem> {
    let mut problems = Vec::new();
    for attribute in attributes {
        let Some(usage) = media_col_use(&attribute.name) else {
            continue;
        };
        for (index, value) in attribute.values.iter().enumerate() {
            let problem = match value.as_collection() {
                Some(col) => media_col_problem(usage, col),
                None => Some("is not a collection"),
            };
            if let Some(problem) = problem {
                problems.push(MediaColProblem {
                    attribute: attribute.name.clone(),
                    position: index + 1,
                    problem,
                });
            }
        }
    }
    problems
}

fn media_col_problem(usage: MediaColUse, col: &[Attribute]) -> Option<&'static str> {
    let named = col.attr("media-size-name").is_some();
    let size = col.attr("media-size");
    if let Some(size) = size {
        let dimensions = size.first().and_then(Value::as_collection);
        let complete = size.values.len() == 1
            && dimensions.is_some_and(|d| {
                d.attr("x-dimension").is_some() && d.attr("y-dimension").is_some()
            });
        if !complete {
            return Some(
                "`media-size` must be one collection with `x-dimension` and `y-dimension`",
            );
        }
    }
    match usage {
        MediaColUse::Job if named && size.is_some() => Some(
            "a job's media-col names its size once, by `media-size` or by `media-size-name`, \
             not both (PWG 5100.7)",
        ),
        MediaColUse::PrinterDescription if named && size.is_some_and(is_range) => {
            Some("`media-size-name` must not accompany a `media-size` range (PWG 5100.7 §6.9.36)")
        }
        _ => None,
    }
}

fn is_range(size: &Attribute) -> bool {
    size.first()
        .and_then(Value::as_collection)
        .is_some_and(|d| {
            d.iter()
                .any(|member| matches!(member.first(), Some(Value::RangeOfInteger { .. })))
        })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{graph_from_job_template, job_template_from_graph, printer_attributes_from_graph};
    use printlab_graph::{
        MEDIA_SIZES, PrintJobConfiguration, PrinterCapabilities, PrinterDefaults,
    };

    #[test]
    fn a_jobs_media_col_names_every_size_by_dimensions_alone_and_reads_back_the_same() {
        for size in MEDIA_SIZES {
            let config = PrintJobConfiguration {
                media_size: Some(size.graph_name.into()),
                ..Default::default()
            };
            let template = crate::over_the_wire(job_template_from_graph(&config).value);
            assert_eq!(check_media_cols(&template), [], "{}", size.graph_name);
            let col = template.collection("media-col").unwrap();
            assert!(col.attr("media-size-name").is_none(), "{col:?}");
            let back = graph_from_job_template(&template).value;
            assert_eq!(back.media_size.as_deref(), Some(size.graph_name));
        }
    }

    #[test]
    fn a_printers_descriptions_name_fixed_sizes_both_ways() {
        let sizes: Vec<String> = MEDIA_SIZES.iter().map(|m| m.graph_name.into()).collect();
        let caps = PrinterCapabilities {
            media_sizes: Some(sizes),
            ..Default::default()
        };
        let defaults = PrinterDefaults {
            media_size: Some("A4".into()),
            ..Default::default()
        };
        let attrs = crate::over_the_wire(printer_attributes_from_graph(&caps, &defaults).value);
        assert_eq!(check_media_cols(&attrs), []);
        let default_col = attrs.collection("media-col-default").unwrap();
        assert_eq!(
            default_col.keyword("media-size-name"),
            Some("iso_a4_210x297mm")
        );
        assert!(default_col.collection("media-size").is_some());
    }

    #[test]
    fn each_broken_rule_is_named_with_its_attribute_and_value() {
        let a4 = MediaSize::by_graph_name("A4").unwrap();
        let both = Value::Collection(media_col_members(
            MediaColUse::PrinterDescription,
            Some(a4),
            None,
            None,
            None,
        ));
        let range = Value::Collection(vec![
            Attribute::new(
                "media-size",
                Value::Collection(vec![
                    Attribute::new(
                        "x-dimension",
                        Value::RangeOfInteger {
                            lower: 7600,
                            upper: 21600,
                        },
                    ),
                    Attribute::new("y-dimension", Value::Integer(29700)),
                ]),
            ),
            Attribute::new("media-size-name", Value::keyword("custom_min_76x297mm")),
        ]);
        let no_height = Value::Collection(vec![Attribute::new(
            "media-size",
            Value::Collection(vec![Attribute::new("x-dimension", Value::Integer(21000))]),
        )]);
        let problems = check_media_cols(&[
            Attribute::new("media-col", both.clone()),
            Attribute::set("media-col-database", [both, range]),
            Attribute::new("media-col-ready", no_height),
            Attribute::new("media-col-default", Value::keyword("iso_a4_210x297mm")),
        ]);
        let named: Vec<(&str, usize)> = problems
            .iter()
            .map(|p| (p.attribute.as_str(), p.position))
            .collect();
        assert_eq!(
            named,
            [
                ("media-col", 1),
                ("media-col-database", 2),
                ("media-col-ready", 1),
                ("media-col-default", 1)
            ]
        );
        assert!(
            problems[0].to_string().contains("not both"),
            "{}",
            problems[0]
        );
    }
}
