//! The IPP printer attributes a device advertises beyond its Graph capabilities: what the
//! printer is (`printer-info`, `printer-more-info`), its exact media database (each size with
//! its own margins, plus a zero-margin entry for each borderless size), and the trays and
//! supplies with their levels now (PWG 5100.13 `printer-input-tray`, `media-ready`,
//! `media-col-ready`, `printer-supply`; RFC 3995 `marker-*`), and its speed
//! (`pages-per-minute`). The service keeps the ones Graph cannot show.

use crate::config::{HardwareProfile, Margins, PrinterConfig};
use crate::engine::Engine;
use printlab_graph::MediaSize;
use printlab_ipp::{Attribute, Value};
use printlab_mapping::{
    MARGIN_MEMBERS, MediaColUse, media_col_members, printer_attributes_from_graph,
};

/// What the printer can do and what it is, from its `printers.toml` entry: what it advertises
/// to its service on connect and what its IPP Everywhere endpoint describes, so the two never
/// disagree.
pub(super) fn capability_attributes(config: &PrinterConfig) -> Vec<Attribute> {
    let mut attrs = printer_attributes_from_graph(&config.capabilities, &config.defaults).value;
    attrs.push(Attribute::new(
        "printer-name",
        Value::name(config.name.clone()),
    ));
    let make_model = make_and_model(config);
    if !make_model.is_empty() {
        attrs.push(Attribute::new(
            "printer-make-and-model",
            Value::text(make_model),
        ));
    }
    attrs.extend(identity_attributes(config));
    attrs.extend(speed_attributes(config));
    if let Some(database) = media_col_database(&config.hardware) {
        attrs.retain(|a| a.name != database.name);
        attrs.push(database);
    }
    attrs
}

/// Manufacturer and model, as `printer-make-and-model` has them (empty when neither is set).
pub(super) fn make_and_model(config: &PrinterConfig) -> String {
    [&config.manufacturer, &config.model]
        .into_iter()
        .flatten()
        .cloned()
        .collect::<Vec<_>>()
        .join(" ")
}

/// PWG 5100.12's `pages-per-minute` (and `-color` for a colour printer): the engine's pace,
/// which only the printer knows, so the service's printer can describe it too.
fn speed_attributes(config: &PrinterConfig) -> Vec<Attribute> {
    let ppm = Value::Integer(i32::try_from(config.engine.pages_per_minute).unwrap_or(i32::MAX));
    let mut out = vec![Attribute::new("pages-per-minute", ppm.clone())];
    if config.hardware.color {
        out.push(Attribute::new("pages-per-minute-color", ppm));
    }
    out
}

/// What the printer is; sent with the capabilities.
fn identity_attributes(config: &PrinterConfig) -> Vec<Attribute> {
    let mut out = Vec::new();
    if let Some(info) = &config.info {
        out.push(Attribute::new("printer-info", Value::text(info.clone())));
    }
    if let Some(more_info) = &config.more_info {
        out.push(Attribute::new(
            "printer-more-info",
            Value::uri(more_info.clone()),
        ));
    }
    out
}

fn media_col(
    size: &MediaSize,
    margins: Margins,
    media_type: Option<&str>,
    source: Option<&str>,
) -> Value {
    let mut col = media_col_members(
        MediaColUse::PrinterDescription,
        Some(size),
        media_type,
        source,
        None,
    );
    let sides = [margins.top, margins.bottom, margins.left, margins.right];
    for (member, microns) in MARGIN_MEMBERS.iter().zip(sides) {
        // IPP counts hundredths of millimetres.
        let hundredths = i32::try_from(microns / 10).unwrap_or(i32::MAX);
        col.push(Attribute::new(*member, Value::Integer(hundredths)));
    }
    Value::Collection(col)
}

/// `media-col-database`: every size with its own hardware margins, and a borderless size once
/// more with all margins 0 (the Graph margin lists alone cannot say which size has which).
fn media_col_database(hardware: &HardwareProfile) -> Option<Attribute> {
    let mut entries = Vec::new();
    for media in &hardware.media {
        entries.push(media_col(media.size, media.margins, None, None));
        if media.borderless && media.margins != BORDERLESS {
            entries.push(media_col(media.size, BORDERLESS, None, None));
        }
    }
    (!entries.is_empty()).then(|| Attribute::set("media-col-database", entries))
}

const BORDERLESS: Margins = Margins {
    top: 0,
    bottom: 0,
    left: 0,
    right: 0,
};

/// The trays and supplies with their levels now; sent whenever the printer's state is.
pub(super) fn consumable_attributes(config: &PrinterConfig, engine: &Engine) -> Vec<Attribute> {
    let mut out = Vec::new();
    let mut input_trays = Vec::new();
    let mut ready = Vec::new();
    let mut ready_cols = Vec::new();
    for (tray, level) in engine.trays() {
        let Some(size) = MediaSize::by_graph_name(&tray.media_size) else {
            continue; // refused when the configuration was read
        };
        // RFC 3805 prtInputCurrentLevel: -3 "some paper, amount unknown" for a tray that
        // never runs out.
        let level = level.map_or(-3, |l| i64::try_from(l).unwrap_or(i64::MAX));
        input_trays.push(Value::OctetString(
            format!(
                "type=sheetFeedAutoRemovableTray;dimunit=micrometers;mediafeed={};mediaxfeed={};\
                 maxcapacity={};level={level};status=0;name={};",
                size.height * 10,
                size.width * 10,
                tray.capacity,
                tray.name
            )
            .into_bytes()
            .into(),
        ));
        if level != 0 {
            if !ready
                .iter()
                .any(|v: &Value| v.as_str() == Some(size.pwg_name))
            {
                ready.push(Value::keyword(size.pwg_name));
            }
            let margins = config
                .hardware
                .media(&tray.media_size)
                .map_or(BORDERLESS, |m| m.margins);
            ready_cols.push(media_col(
                size,
                margins,
                tray.media_type.as_deref(),
                Some(&tray.name),
            ));
        }
    }
    if !input_trays.is_empty() {
        out.push(Attribute::set("printer-input-tray", input_trays));
    }
    if !ready.is_empty() {
        out.push(Attribute::set("media-ready", ready));
        out.push(Attribute::set("media-col-ready", ready_cols));
    }
    let supplies: Vec<_> = engine.supplies().collect();
    if !supplies.is_empty() {
        let each = |f: &dyn Fn(&crate::engine::Supply, u8) -> Value| -> Vec<Value> {
            supplies.iter().map(|(s, level)| f(s, *level)).collect()
        };
        out.push(Attribute::set(
            "marker-names",
            each(&|s, _| Value::name(s.name.clone())),
        ));
        out.push(Attribute::set(
            "marker-types",
            each(&|s, _| Value::keyword(s.kind.clone())),
        ));
        out.push(Attribute::set(
            "marker-colors",
            each(&|s, _| Value::name(s.color.clone().unwrap_or_else(|| "none".into()))),
        ));
        out.push(Attribute::set(
            "marker-levels",
            each(&|_, level| Value::Integer(level.into())),
        ));
        out.push(Attribute::set(
            "marker-low-levels",
            each(&|s, _| Value::Integer(s.low.into())),
        ));
        out.push(Attribute::set(
            "marker-high-levels",
            each(&|s, _| Value::Integer(s.high.into())),
        ));
        let described: Vec<Value> = supplies
            .iter()
            .enumerate()
            .map(|(i, (s, level))| {
                Value::OctetString(
                    format!(
                        "index={};class=supplyThatIsConsumed;type={};unit=percent;\
                         maxcapacity=100;level={level};",
                        i + 1,
                        s.kind
                    )
                    .into_bytes()
                    .into(),
                )
            })
            .collect();
        out.push(Attribute::set("printer-supply", described));
        out.push(Attribute::set(
            "printer-supply-description",
            each(&|s, _| Value::text(s.name.clone())),
        ));
    }
    out
}
