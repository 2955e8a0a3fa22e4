//! A real printer's Get-Printer-Attributes response → everything a `printers.toml` entry can
//! say about it, in Graph's vocabulary, plus every value Graph (and so Universal Print) would
//! drop for that model.
//!
//! Capabilities and defaults come from [`graph_from_printer_attributes`], the same translation
//! the cloud runs on a device's attributes, so an imported printer shows in Graph exactly as the
//! real one would. What Graph has no place for but `printers.toml` keeps (per-size margins and
//! borderless sizes, trays, supplies (`printer_supply`), constraints, engine speed) is read here.

use crate::Mapped;
use crate::printer::graph_from_printer_attributes;
use crate::printer_supply::supplies;
use crate::tables::*;
use crate::values::*;
use printlab_graph::*;
use printlab_ipp::{Attribute, AttributeLookup, Value};
use std::collections::BTreeMap;

/// One media size with the hardware margins of its bordered entry, in hundredths of a
/// millimetre (IPP's unit); `borderless` when the printer also lists it with zero margins.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MediaMargins {
    pub size: &'static MediaSize,
    /// Top, bottom, left, right.
    pub margins: [i32; 4],
    pub borderless: bool,
}

/// A tray and the media loaded in it (`printer-input-tray` + `media-col-ready`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tray {
    /// The `media-source` keyword, one of the capabilities' input bins.
    pub name: String,
    pub media_size: &'static MediaSize,
    pub media_type: Option<String>,
    pub capacity: i32,
    pub level: Option<i32>,
}

/// One supply, from `printer-supply` or the `marker-*` attributes (see
/// [`crate::printer_supply`]); levels in percent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Supply {
    pub name: String,
    /// The `marker-types` keyword (`toner`, `ink`, …), one of [`crate::MARKER_TYPES`].
    pub kind: String,
    /// `#RRGGBB`, when the supply has one colour.
    pub color: Option<String>,
    pub level: i32,
    pub low: i32,
    pub high: Option<i32>,
}

/// One `job-constraints-supported` entry with its `job-resolvers-supported` resolution, keyed by
/// `[printer.defaults]` names with Graph values.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Constraint {
    pub resolver: String,
    pub when: BTreeMap<&'static str, Vec<String>>,
    pub resolve: Option<BTreeMap<&'static str, Vec<String>>>,
}

/// What a printer's attributes say, in Graph's vocabulary.
#[derive(Debug, Clone, PartialEq)]
pub struct PrinterModel {
    pub name: Option<String>,
    pub manufacturer: Option<String>,
    pub model: Option<String>,
    /// `printer-location`, free text.
    pub location: Option<String>,
    /// `printer-geo-location`, a `geo:` URI.
    pub geo_location: Option<String>,
    pub info: Option<String>,
    pub more_info: Option<String>,
    pub capabilities: PrinterCapabilities,
    pub defaults: PrinterDefaults,
    pub media: Vec<MediaMargins>,
    pub trays: Vec<Tray>,
    pub supplies: Vec<Supply>,
    pub constraints: Vec<Constraint>,
    pub pages_per_minute: Option<i32>,
}

const VENDOR_FORMAT: &str =
    "a vendor or generic format: Universal Print clients send standard formats only";
const NO_CONSTRAINTS: &str =
    "Graph capabilities have no constraints (kept in [[printer.constraints]])";
const SECOND_SPEED: &str = "printers.toml's engine has one speed (pages-per-minute is kept)";

/// The makes whose name is more than one word, so that `printer-make-and-model` splits right.
const MULTI_WORD_MAKES: &[&str] = &["Fuji Xerox", "Konica Minolta", "Hewlett-Packard"];

/// Splits `printer-make-and-model` into make and model: a known multi-word make, else the first
/// word; a make repeated at the start of the model (`Acme Acme Laser 5`) is said once.
pub fn split_make_and_model(text: &str) -> (Option<String>, Option<String>) {
    let text = text.trim();
    let make = MULTI_WORD_MAKES
        .iter()
        .find(|m| {
            text.len() > m.len()
                && text[..m.len()].eq_ignore_ascii_case(m)
                && text.as_bytes()[m.len()] == b' '
        })
        .map(|m| &text[..m.len()])
        .or_else(|| text.split_once(' ').map(|(make, _)| make));
    let Some(make) = make else {
        return (None, (!text.is_empty()).then(|| text.to_owned()));
    };
    let mut model = text[make.len()..].trim_start();
    if model.len() > make.len()
        && model[..make.len()].eq_ignore_ascii_case(make)
        && model.as_bytes()[make.len()] == b' '
    {
        model = model[make.len()..].trim_start();
    }
    (Some(make.to_owned()), Some(model.to_owned()))
}

fn is_vendor_format(mime: &str) -> bool {
    let subtype = mime
        .split_once('/')
        .map_or(mime, |(_, s)| s)
        .to_ascii_lowercase();
    subtype.starts_with("vnd.") || subtype.starts_with("x-") || subtype == "octet-stream"
}

/// A printer's attributes → its model, and every value Graph cannot carry.
pub fn printer_model_from_ipp(attrs: &[Attribute]) -> Mapped<PrinterModel> {
    let graph = graph_from_printer_attributes(attrs);
    let mut notes = Notes(graph.unmapped);
    let n = &mut notes;
    let (mut capabilities, mut defaults) = graph.value;

    if let Some(formats) = capabilities.content_types.as_mut() {
        formats.retain(|f| {
            let vendor = is_vendor_format(f);
            if vendor {
                n.add("document-format-supported", f, VENDOR_FORMAT);
            }
            !vendor
        });
    }
    if defaults
        .content_type
        .as_deref()
        .is_some_and(is_vendor_format)
    {
        defaults.content_type = None;
    }
    custom_sizes(attrs, n);
    // A printer that lists no finishings or copies finishes nothing and prints one copy; a
    // printers.toml entry says so rather than leave them out.
    capabilities
        .finishings
        .get_or_insert_with(|| vec![PrintFinishing::None]);
    capabilities
        .copies_per_job
        .get_or_insert(IntegerRange { start: 1, end: 1 });

    let text = |name: &str| {
        attrs
            .string(name)
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(str::to_owned)
    };
    let (manufacturer, model) = text("printer-make-and-model")
        .map(|m| split_make_and_model(&m))
        .unwrap_or_default();
    let pages_per_minute = attrs
        .integer("pages-per-minute")
        .or_else(|| attrs.integer("pages-per-minute-color"));
    if attrs.integer("pages-per-minute").is_some()
        && let Some(colour) = attrs.integer("pages-per-minute-color")
    {
        n.add("pages-per-minute-color", colour, SECOND_SPEED);
    }
    let media = media_margins(attrs, &capabilities);
    // The entry declares margins per size, so Graph's margin lists become what they are for a
    // printers.toml printer: each side's distinct values in media order (borderless adds 0).
    if !media.is_empty() {
        let mut sides: [Vec<i32>; 4] = Default::default();
        for m in &media {
            let zero = m.borderless.then_some(0);
            for (side, value) in m.margins.into_iter().enumerate() {
                for microns in std::iter::once(value * 10).chain(zero) {
                    if !sides[side].contains(&microns) {
                        sides[side].push(microns);
                    }
                }
            }
        }
        let [top, bottom, left, right] = sides;
        capabilities.top_margins = Some(top);
        capabilities.bottom_margins = Some(bottom);
        capabilities.left_margins = Some(left);
        capabilities.right_margins = Some(right);
    }
    let model_out = PrinterModel {
        name: text("printer-name"),
        manufacturer,
        model,
        location: text("printer-location"),
        geo_location: text("printer-geo-location").filter(|g| g.starts_with("geo:")),
        info: text("printer-info"),
        more_info: text("printer-more-info"),
        media,
        trays: trays(attrs, capabilities.input_bins.as_deref().unwrap_or(&[])),
        supplies: supplies(attrs, n),
        constraints: constraints(attrs, n),
        pages_per_minute,
        capabilities,
        defaults,
    };
    Mapped {
        value: model_out,
        unmapped: notes.0,
    }
}

/// Custom size ranges: in `media-col-database` (a `media-size` whose dimensions are ranges) and
/// in `media-size-supported`. (`custom_min_…`/`custom_max_…` in `media-supported` are reported
/// by the capability translation.)
fn custom_sizes(attrs: &[Attribute], n: &mut Notes) {
    let is_range = |col: &[Attribute]| {
        ["x-dimension", "y-dimension"]
            .iter()
            .any(|d| col.range(d).is_some())
    };
    for name in ["media-col-database", "media-size-supported"] {
        let Some(attribute) = attrs.attr(name) else {
            continue;
        };
        for col in attribute.collections() {
            let dims = if name == "media-size-supported" {
                Some(col)
            } else {
                col.collection("media-size")
            };
            if let Some(dims) = dims.filter(|d| is_range(d)) {
                n.add(name, Value::Collection(dims.to_vec()), CUSTOM_SIZES);
            }
        }
    }
}

/// Per-size margins from `media-col-database` (or, without one, the `media-*-margin-supported`
/// lists for every supported size).
fn media_margins(attrs: &[Attribute], caps: &PrinterCapabilities) -> Vec<MediaMargins> {
    let mut sets: Vec<(&'static MediaSize, Vec<[i32; 4]>)> = Vec::new();
    let supported: Vec<&'static MediaSize> = caps
        .media_sizes
        .iter()
        .flatten()
        .filter_map(|name| MediaSize::by_graph_name(name))
        .collect();
    for col in attrs
        .attr("media-col-database")
        .into_iter()
        .flat_map(|a| a.collections())
    {
        let Some(size) = size_of_media_col(col).filter(|s| supported.contains(s)) else {
            continue;
        };
        let set = MARGIN_MEMBERS.map(|m| col.integer(m).unwrap_or(0));
        match sets.iter_mut().find(|(s, _)| *s == size) {
            Some((_, list)) if !list.contains(&set) => list.push(set),
            Some(_) => {}
            None => sets.push((size, vec![set])),
        }
    }
    let fallback = MARGIN_MEMBERS.map(|m| {
        attrs
            .attr(&format!("{m}-supported"))
            .map(|a| a.integers().max().unwrap_or(0))
            .unwrap_or(0)
    });
    let borderless_fallback = MARGIN_MEMBERS.iter().all(|m| {
        attrs
            .attr(&format!("{m}-supported"))
            .is_some_and(|a| a.integers().any(|v| v == 0))
    });
    supported
        .into_iter()
        .map(|size| match sets.iter().find(|(s, _)| *s == size) {
            Some((_, list)) => {
                let bordered = list.iter().copied().find(|set| set.iter().any(|m| *m > 0));
                MediaMargins {
                    size,
                    margins: bordered.unwrap_or([0; 4]),
                    borderless: bordered.is_some() && list.contains(&[0; 4]),
                }
            }
            None => MediaMargins {
                size,
                margins: fallback,
                borderless: borderless_fallback && fallback.iter().any(|m| *m > 0),
            },
        })
        .collect()
}

/// `printer-input-tray` (PWG 5100.13: `key=value;` pairs in an octetString) by tray name.
fn input_tray_fields(attrs: &[Attribute]) -> Vec<BTreeMap<String, String>> {
    attrs
        .attr("printer-input-tray")
        .into_iter()
        .flat_map(|a| &a.values)
        .filter_map(|v| match v {
            Value::OctetString(bytes) => std::str::from_utf8(bytes).ok().map(str::to_owned),
            other => other.as_str().map(str::to_owned),
        })
        .map(|text| {
            text.split(';')
                .filter_map(|pair| pair.split_once('='))
                .map(|(k, v)| (k.trim().to_owned(), v.trim().to_owned()))
                .collect()
        })
        .collect()
}

/// Trays with media loaded: every `media-col-ready` entry naming a source among the input bins
/// and a known size; capacity and level from `printer-input-tray` when it gives them.
fn trays(attrs: &[Attribute], input_bins: &[String]) -> Vec<Tray> {
    let fields = input_tray_fields(attrs);
    let mut out: Vec<Tray> = Vec::new();
    for col in attrs
        .attr("media-col-ready")
        .into_iter()
        .flat_map(|a| a.collections())
    {
        let (Some(source), Some(size)) = (col.keyword("media-source"), size_of_media_col(col))
        else {
            continue;
        };
        if !input_bins.iter().any(|b| b == source) || out.iter().any(|t| t.name == source) {
            continue;
        }
        let tray = fields
            .iter()
            .find(|f| f.get("name").map(String::as_str) == Some(source));
        let number = |key: &str| {
            tray.and_then(|f| f.get(key))
                .and_then(|v| v.parse::<i32>().ok())
                .filter(|v| *v >= 0)
        };
        let Some(capacity) = number("maxcapacity").filter(|c| *c > 0) else {
            continue;
        };
        out.push(Tray {
            name: source.to_owned(),
            media_size: size,
            media_type: col.keyword("media-type").map(str::to_owned),
            capacity,
            level: number("level").map(|l| l.min(capacity)),
        });
    }
    out
}

/// One job template member (from a constraint or resolver collection) as a
/// `[printer.defaults]` key and Graph values; `None` for members printers.toml has no key for.
fn default_key_of(member: &Attribute) -> Option<(&'static str, Vec<String>)> {
    let graph = |f: &dyn Fn(&Value) -> Option<String>| -> Option<Vec<String>> {
        let values: Vec<String> = member.values.iter().filter_map(f).collect();
        (values.len() == member.values.len()).then_some(values)
    };
    let media_name = |v: &Value| {
        v.as_keyword()
            .and_then(MediaSize::by_pwg_name)
            .map(|s| s.graph_name.to_owned())
    };
    Some(match member.name.as_str() {
        "sides" => (
            "duplex_mode",
            graph(&|v| keyword_of(DUPLEX_MODES)(v).map(|m| m.to_string()))?,
        ),
        "print-color-mode" => (
            "color_mode",
            graph(&|v| {
                v.as_keyword()
                    .and_then(color_mode_from_ipp)
                    .map(|m| m.to_string())
            })?,
        ),
        "print-quality" => (
            "quality",
            graph(&|v| enum_of(QUALITIES)(v).map(|q| q.to_string()))?,
        ),
        "orientation-requested" => (
            "orientation",
            graph(&|v| enum_of(ORIENTATIONS)(v).map(|o| o.to_string()))?,
        ),
        "finishings" => (
            "finishings",
            graph(&|v| enum_of(FINISHINGS)(v).map(|f| f.to_string()))?,
        ),
        "print-scaling" => (
            "scaling",
            graph(&|v| keyword_of(SCALINGS)(v).map(|s| s.to_string()))?,
        ),
        "number-up" => (
            "pages_per_sheet",
            graph(&|v| v.as_integer().map(|i| i.to_string()))?,
        ),
        "printer-resolution" => ("dpi", graph(&|v| dpi_of(v).map(|d| d.to_string()))?),
        "output-bin" => ("output_bin", graph(&|v| v.as_keyword().map(str::to_owned))?),
        "document-format" => (
            "document_format",
            graph(&|v| v.as_str().map(str::to_owned))?,
        ),
        "media" => ("media_size", graph(&media_name)?),
        "media-type" => ("media_type", graph(&|v| v.as_keyword().map(str::to_owned))?),
        "media-source" => ("input_bin", graph(&|v| v.as_keyword().map(str::to_owned))?),
        "media-size-name" => ("media_size", graph(&media_name)?),
        _ => return None,
    })
}

/// The members of a constraint or resolver collection as `[printer.defaults]` keys;
/// `media-col` members count as their own. `Err` names the first member printers.toml cannot say.
fn defaults_of(col: &[Attribute]) -> Result<BTreeMap<&'static str, Vec<String>>, String> {
    let mut out = BTreeMap::new();
    for member in col.iter().filter(|m| m.name != "resolver-name") {
        let nested = match member.first() {
            Some(Value::Collection(inner)) if member.name == "media-col" => inner.clone(),
            _ => vec![member.clone()],
        };
        for m in nested {
            let (key, values) = default_key_of(&m).ok_or_else(|| m.to_string())?;
            out.entry(key).or_insert_with(Vec::new).extend(values);
        }
    }
    Ok(out)
}

fn constraints(attrs: &[Attribute], n: &mut Notes) -> Vec<Constraint> {
    let resolvers: Vec<&[Attribute]> = attrs
        .attr("job-resolvers-supported")
        .map(|a| a.collections().collect())
        .unwrap_or_default();
    let mut out = Vec::new();
    for col in attrs
        .attr("job-constraints-supported")
        .into_iter()
        .flat_map(|a| a.collections())
    {
        let resolver = col.string("resolver-name").unwrap_or_default().to_owned();
        n.add("job-constraints-supported", &resolver, NO_CONSTRAINTS);
        let when = match defaults_of(col) {
            Ok(when) if !when.is_empty() => when,
            Ok(_) => continue,
            Err(member) => {
                n.add(
                    "job-constraints-supported",
                    format!("{resolver}: {member}"),
                    "a member printers.toml constraints cannot name; the constraint is left out",
                );
                continue;
            }
        };
        let resolve = resolvers
            .iter()
            .find(|r| r.string("resolver-name") == Some(resolver.as_str()))
            .and_then(|r| defaults_of(r).ok())
            .filter(|r| !r.is_empty());
        out.push(Constraint {
            resolver,
            when,
            resolve,
        });
    }
    out
}
