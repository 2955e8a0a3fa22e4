//! Building blocks the printer, status and job mappings share: unmapped-value notes, 1setOf
//! lists, resolutions, margins and media sizes.

use crate::Unmapped;
use crate::tables::*;
use printlab_graph::*;
use printlab_ipp::{Attribute, AttributeLookup, Value};

#[derive(Default)]
pub(crate) struct Notes(pub(crate) Vec<Unmapped>);

impl Notes {
    pub(crate) fn add(&mut self, attribute: &str, value: impl ToString, reason: &'static str) {
        self.0.push(Unmapped {
            attribute: attribute.to_owned(),
            value: value.to_string(),
            reason,
        });
    }
}

pub(crate) const NO_IPP: &str = "no IPP counterpart";
pub(crate) const NO_GRAPH: &str = "no Graph counterpart";
pub(crate) const UNKNOWN_SIZE: &str =
    "not a media size printlab knows (printlab_graph::MEDIA_SIZES)";
pub(crate) const CUSTOM_SIZES: &str = "a custom size range: Graph lists fixed media sizes only";

/// Graph list → 1setOf, each value through `f`; values `f` rejects are reported.
pub(crate) fn set_of<T: Copy + std::fmt::Display>(
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
pub(crate) fn list_from<T>(
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

pub(crate) fn single_from<T>(
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

pub(crate) fn keyword_of<G: Copy>(
    table: &'static [(G, &'static str)],
) -> impl Fn(&Value) -> Option<G> {
    move |v| v.as_keyword().and_then(|k| to_graph(table, k))
}

pub(crate) fn enum_of<G: Copy>(table: &'static [(G, i32)]) -> impl Fn(&Value) -> Option<G> {
    move |v| v.as_enum().and_then(|e| enum_to_graph(table, e))
}

pub(crate) fn dpi_of(v: &Value) -> Option<i32> {
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

pub(crate) fn micron_to_ipp(notes: &mut Notes, name: &str, microns: i32) -> i32 {
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
pub(crate) fn media_size_col(size: &MediaSize) -> Value {
    Value::Collection(vec![
        Attribute::new("x-dimension", Value::Integer(size.width as i32)),
        Attribute::new("y-dimension", Value::Integer(size.height as i32)),
    ])
}

/// The known size a media-col names, by `media-size-name` or by dimensions.
pub(crate) fn size_of_media_col(col: &[Attribute]) -> Option<&'static MediaSize> {
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

/// The `media-col` member of each margin, in Graph's order (top, bottom, left, right).
pub const MARGIN_MEMBERS: [&str; 4] = [
    "media-top-margin",
    "media-bottom-margin",
    "media-left-margin",
    "media-right-margin",
];

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{graph_from_job_template, job_template_from_graph, printer_attributes_from_graph};

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
}
