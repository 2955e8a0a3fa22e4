//! A [`PrinterModel`] (what a real printer's IPP attributes say) written as a `printers.toml`
//! `[[printer]]` entry, and appended to a fleet file.
//!
//! The entry is built as a TOML table and written by the `toml` crate, so quoting and escaping
//! are never ours.

use printlab_graph::GraphEnum;
use printlab_mapping::PrinterModel;
use toml::{Table, Value};

#[derive(Debug, thiserror::Error)]
pub enum AppendError {
    #[error("{file} already has a printer named `{name}` (choose another with --name)")]
    NameTaken { file: String, name: String },
    #[error("{file} is not TOML, so nothing was added: {source}")]
    NotToml {
        file: String,
        source: toml::de::Error,
    },
}

fn strings<T: ToString>(values: &[T]) -> Value {
    Value::Array(
        values
            .iter()
            .map(|v| Value::String(v.to_string()))
            .collect(),
    )
}

fn enums<E: GraphEnum>(values: &[E]) -> Value {
    Value::Array(
        values
            .iter()
            .map(|v| Value::String(v.as_str().to_owned()))
            .collect(),
    )
}

fn integers(values: &[i32]) -> Value {
    Value::Array(
        values
            .iter()
            .map(|v| Value::Integer(i64::from(*v)))
            .collect(),
    )
}

/// Hundredths of a millimetre (IPP) → millimetres (printers.toml).
fn millimetres(hundredths: i32) -> Value {
    Value::Float(f64::from(hundredths) / 100.0)
}

fn string_map(map: &std::collections::BTreeMap<&'static str, Vec<String>>) -> Value {
    Value::Table(
        map.iter()
            .map(|(k, v)| ((*k).to_owned(), strings(v)))
            .collect(),
    )
}

/// The model as a `[[printer]]` entry named `name`.
pub fn printer_entry(model: &PrinterModel, name: &str) -> String {
    let mut printer = Table::new();
    printer.insert("name".into(), Value::String(name.to_owned()));
    for (key, value) in [
        ("manufacturer", &model.manufacturer),
        ("model", &model.model),
        ("info", &model.info),
        ("more_info", &model.more_info),
    ] {
        if let Some(v) = value {
            printer.insert(key.to_owned(), Value::String(v.clone()));
        }
    }
    if let Some(location) = &model.location {
        let mut table = Table::new();
        table.insert("site".into(), Value::String(location.clone()));
        printer.insert("location".into(), Value::Table(table));
    }

    let c = &model.capabilities;
    let mut caps = Table::new();
    let mut media = Vec::new();
    for m in &model.media {
        let mut entry = Table::new();
        entry.insert("size".into(), Value::String(m.size.graph_name.to_owned()));
        let mut margins = Table::new();
        for (key, value) in ["top", "bottom", "left", "right"].iter().zip(m.margins) {
            margins.insert((*key).into(), millimetres(value));
        }
        entry.insert("margins".into(), Value::Table(margins));
        if m.borderless {
            entry.insert("borderless".into(), Value::Boolean(true));
        }
        media.push(Value::Table(entry));
    }
    let optional = [
        ("document_formats", c.content_types.as_deref().map(strings)),
        ("media", (!media.is_empty()).then_some(Value::Array(media))),
        ("dpis", c.dpis.as_deref().map(integers)),
        ("color_modes", c.color_modes.as_deref().map(enums)),
        ("duplex_modes", c.duplex_modes.as_deref().map(enums)),
        (
            "pages_per_sheet",
            c.pages_per_sheet.as_deref().map(integers),
        ),
        (
            "multipage_layouts",
            c.multipage_layouts.as_deref().map(enums),
        ),
        ("orientations", c.orientations.as_deref().map(enums)),
        ("scalings", c.scalings.as_deref().map(enums)),
        ("qualities", c.qualities.as_deref().map(enums)),
        ("finishings", c.finishings.as_deref().map(enums)),
        (
            "feed_orientations",
            c.feed_orientations.as_deref().map(enums),
        ),
        ("input_bins", c.input_bins.as_deref().map(strings)),
        ("output_bins", c.output_bins.as_deref().map(strings)),
        ("media_types", c.media_types.as_deref().map(strings)),
        ("media_colors", c.media_colors.as_deref().map(strings)),
        (
            "copies",
            c.copies_per_job.map(|r| {
                let mut t = Table::new();
                t.insert("min".into(), Value::Integer(r.start));
                t.insert("max".into(), Value::Integer(r.end));
                Value::Table(t)
            }),
        ),
        ("collation", c.collation.map(Value::Boolean)),
        ("page_ranges", c.is_page_range_supported.map(Value::Boolean)),
        (
            "fit_to_page",
            c.supports_fit_pdf_to_page.map(Value::Boolean),
        ),
    ];
    for (key, value) in optional {
        if let Some(value) = value.filter(|v| v.as_array().is_none_or(|a| !a.is_empty())) {
            caps.insert(key.into(), value);
        }
    }
    printer.insert("capabilities".into(), Value::Table(caps));

    let d = &model.defaults;
    let text = |v: &Option<String>| v.clone().map(Value::String);
    let member = |v: Option<&'static str>| v.map(|s| Value::String(s.to_owned()));
    let defaults_values = [
        ("color_mode", member(d.color_mode.map(GraphEnum::as_str))),
        ("document_format", text(&d.content_type)),
        ("copies", d.copies_per_job.map(|c| Value::Integer(c.into()))),
        ("dpi", d.dpi.map(|v| Value::Integer(v.into()))),
        ("duplex_mode", member(d.duplex_mode.map(GraphEnum::as_str))),
        ("finishings", d.finishings.as_deref().map(enums)),
        ("fit_to_page", d.fit_pdf_to_page.map(Value::Boolean)),
        ("input_bin", text(&d.input_bin)),
        ("media_color", text(&d.media_color)),
        ("media_size", text(&d.media_size)),
        ("media_type", text(&d.media_type)),
        (
            "multipage_layout",
            member(d.multipage_layout.map(GraphEnum::as_str)),
        ),
        ("orientation", member(d.orientation.map(GraphEnum::as_str))),
        ("output_bin", text(&d.output_bin)),
        (
            "pages_per_sheet",
            d.pages_per_sheet.map(|v| Value::Integer(v.into())),
        ),
        ("quality", member(d.quality.map(GraphEnum::as_str))),
        ("scaling", member(d.scaling.map(GraphEnum::as_str))),
    ];
    let defaults: Table = defaults_values
        .into_iter()
        .filter_map(|(k, v)| Some((k.to_owned(), v?)))
        .collect();
    if !defaults.is_empty() {
        printer.insert("defaults".into(), Value::Table(defaults));
    }
    if let Some(ppm) = model.pages_per_minute.filter(|p| *p > 0) {
        let mut engine = Table::new();
        engine.insert("pages_per_minute".into(), Value::Integer(ppm.into()));
        printer.insert("engine".into(), Value::Table(engine));
    }

    let trays: Vec<Value> = model
        .trays
        .iter()
        .map(|t| {
            let mut table = Table::new();
            table.insert("name".into(), Value::String(t.name.clone()));
            table.insert(
                "media_size".into(),
                Value::String(t.media_size.graph_name.to_owned()),
            );
            if let Some(kind) = &t.media_type {
                table.insert("media_type".into(), Value::String(kind.clone()));
            }
            table.insert("capacity".into(), Value::Integer(t.capacity.into()));
            if let Some(level) = t.level {
                table.insert("level".into(), Value::Integer(level.into()));
            }
            Value::Table(table)
        })
        .collect();
    let supplies: Vec<Value> = model
        .supplies
        .iter()
        .map(|s| {
            let mut table = Table::new();
            table.insert("name".into(), Value::String(s.name.clone()));
            table.insert("kind".into(), Value::String(s.kind.clone()));
            if let Some(color) = &s.color {
                table.insert("color".into(), Value::String(color.clone()));
            }
            table.insert("level".into(), Value::Integer(s.level.into()));
            table.insert("low".into(), Value::Integer(s.low.into()));
            if let Some(high) = s.high {
                table.insert("high".into(), Value::Integer(high.into()));
            }
            Value::Table(table)
        })
        .collect();
    let constraints: Vec<Value> = model
        .constraints
        .iter()
        .map(|c| {
            let mut table = Table::new();
            table.insert("resolver".into(), Value::String(c.resolver.clone()));
            table.insert("when".into(), string_map(&c.when));
            if let Some(resolve) = &c.resolve {
                table.insert("resolve".into(), string_map(resolve));
            }
            Value::Table(table)
        })
        .collect();
    for (key, list) in [
        ("trays", trays),
        ("supplies", supplies),
        ("constraints", constraints),
    ] {
        if !list.is_empty() {
            printer.insert(key.to_owned(), Value::Array(list));
        }
    }

    let mut file = Table::new();
    file.insert("printer".into(), Value::Array(vec![Value::Table(printer)]));
    toml::to_string(&file).expect("a table of TOML values always serialises")
}

/// `existing` (a fleet file's text) with `entry` appended, refusing a name the file already has.
pub fn append_entry(
    existing: &str,
    file: &str,
    name: &str,
    entry: &str,
) -> Result<String, AppendError> {
    let names: Vec<String> = toml::from_str::<Table>(existing)
        .map_err(|source| AppendError::NotToml {
            file: file.to_owned(),
            source,
        })?
        .get("printer")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|p| p.get("name").and_then(Value::as_str).map(str::to_owned))
        .collect();
    if names.iter().any(|n| n == name) {
        return Err(AppendError::NameTaken {
            file: file.to_owned(),
            name: name.to_owned(),
        });
    }
    let mut out = existing.to_owned();
    if !out.is_empty() && !out.ends_with('\n') {
        out.push('\n');
    }
    if !out.is_empty() {
        out.push('\n');
    }
    out.push_str(entry);
    Ok(out)
}
