//! Get-Printer-Attributes: the printer's capabilities from the same `printers.toml` entry it
//! advertises to its service (`printer_attributes::capability_attributes`), plus what only a
//! printer on the network has (its `ipp://` URI, up-time, live state, operations, charsets, …)
//! and the defaults PWG 5100.14 requires where the service description leaves them out.

use super::subscription_registry::{
    DEFAULT_LEASE_SECONDS, EVENT_LIFE, EventKind, MAX_LEASE_SECONDS,
};
use super::{LocalPrinter, Target};
use crate::runtime::identify;
use crate::runtime::printer_attributes::{capability_attributes, make_and_model};
use printlab_graph::{MediaSize, PrinterProcessingState};
use printlab_ipp::requested_attributes::JOB_TEMPLATE;
use printlab_ipp::{Attribute, DateTime, Operation, OutOfBand, Value};
use printlab_mapping::{
    first_supported_defaults, media_col_supported, media_database_attributes, media_database_entry,
};

/// The operations every printer of the listener serves, in `operations-supported`.
pub(super) const OPERATIONS: [Operation; 19] = [
    Operation::PRINT_JOB,
    Operation::VALIDATE_JOB,
    Operation::CREATE_JOB,
    Operation::SEND_DOCUMENT,
    Operation::CANCEL_JOB,
    Operation::GET_JOB_ATTRIBUTES,
    Operation::GET_JOBS,
    Operation::GET_PRINTER_ATTRIBUTES,
    Operation::CANCEL_MY_JOBS,
    Operation::CLOSE_JOB,
    Operation::IDENTIFY_PRINTER,
    Operation::VALIDATE_DOCUMENT,
    Operation::CREATE_PRINTER_SUBSCRIPTIONS,
    Operation::CREATE_JOB_SUBSCRIPTIONS,
    Operation::GET_SUBSCRIPTION_ATTRIBUTES,
    Operation::GET_SUBSCRIPTIONS,
    Operation::RENEW_SUBSCRIPTION,
    Operation::CANCEL_SUBSCRIPTION,
    Operation::GET_NOTIFICATIONS,
];

/// RFC 8011 `printer-state` of the printer's state.
pub(super) fn ipp_printer_state(state: PrinterProcessingState) -> i32 {
    match state {
        PrinterProcessingState::Processing => 4,
        PrinterProcessingState::Stopped => 5,
        _ => 3,
    }
}

/// What the printer's subscriptions offer (RFC 3995 §5.3, RFC 3996 §7).
fn notify_attributes() -> Vec<Attribute> {
    vec![
        Attribute::set(
            "notify-events-supported",
            EventKind::ALL.iter().map(|e| Value::keyword(e.keyword())),
        ),
        Attribute::new(
            "notify-events-default",
            Value::keyword(EventKind::DEFAULT.keyword()),
        ),
        Attribute::new("notify-pull-method-supported", Value::keyword("ippget")),
        Attribute::new(
            "notify-lease-duration-supported",
            Value::RangeOfInteger {
                lower: 0,
                upper: MAX_LEASE_SECONDS,
            },
        ),
        Attribute::new(
            "notify-lease-duration-default",
            Value::Integer(DEFAULT_LEASE_SECONDS),
        ),
        Attribute::new(
            "notify-max-events-supported",
            Value::Integer(EventKind::ALL.len() as i32),
        ),
        Attribute::new(
            "ippget-event-life",
            Value::Integer(EVENT_LIFE.as_secs() as i32),
        ),
    ]
}

/// Every attribute of the printer now; the caller filters by requested-attributes.
pub(super) fn printer_attributes(printer: &LocalPrinter, target: &Target) -> Vec<Attribute> {
    let config = &printer.config;
    let snapshot = printer.handle.snapshot();
    let mut attrs = capability_attributes(config);
    let add = |attrs: &mut Vec<Attribute>, attribute: Attribute| {
        if !attrs.iter().any(|a| a.name == attribute.name) {
            attrs.push(attribute);
        }
    };
    let uri = target.printer_uri(printer);
    add(
        &mut attrs,
        Attribute::new("printer-uri-supported", Value::uri(uri)),
    );
    add(
        &mut attrs,
        Attribute::new("uri-security-supported", Value::keyword("none")),
    );
    add(
        &mut attrs,
        Attribute::new(
            "uri-authentication-supported",
            Value::keyword("requesting-user-name"),
        ),
    );
    add(
        &mut attrs,
        Attribute::new("printer-uuid", Value::uri(printer.info.uuid.clone())),
    );
    let up_time = target.up_time();
    add(
        &mut attrs,
        Attribute::new("printer-up-time", Value::Integer(up_time)),
    );
    let now = DateTime::from_chrono(chrono::Utc::now());
    add(
        &mut attrs,
        Attribute::new("printer-current-time", Value::DateTime(now)),
    );
    for name in ["printer-config-change-time", "printer-state-change-time"] {
        add(&mut attrs, Attribute::new(name, Value::Integer(1)));
    }
    let started = DateTime::from_chrono(target.started_at);
    for name in [
        "printer-config-change-date-time",
        "printer-state-change-date-time",
    ] {
        add(&mut attrs, Attribute::new(name, Value::DateTime(started)));
    }
    let state = ipp_printer_state(snapshot.state);
    add(
        &mut attrs,
        Attribute::new("printer-state", Value::Enum(state)),
    );
    let reasons: Vec<Value> = if snapshot.reasons.is_empty() {
        vec![Value::keyword("none")]
    } else {
        snapshot
            .reasons
            .iter()
            .map(|r| Value::keyword(r.clone()))
            .collect()
    };
    add(&mut attrs, Attribute::set("printer-state-reasons", reasons));
    add(
        &mut attrs,
        Attribute::new(
            "printer-state-message",
            Value::text(state_message(&snapshot)),
        ),
    );
    add(
        &mut attrs,
        Attribute::new(
            "printer-is-accepting-jobs",
            Value::Boolean(snapshot.accepting_jobs),
        ),
    );
    add(
        &mut attrs,
        Attribute::new(
            "queued-job-count",
            Value::Integer(target.queued_jobs(printer)),
        ),
    );
    add(
        &mut attrs,
        Attribute::set(
            "operations-supported",
            OPERATIONS.iter().map(|op| Value::Enum(op.0.into())),
        ),
    );
    for attribute in notify_attributes() {
        add(&mut attrs, attribute);
    }
    add(
        &mut attrs,
        Attribute::new("charset-configured", Value::charset("utf-8")),
    );
    add(
        &mut attrs,
        Attribute::set(
            "charset-supported",
            [Value::charset("utf-8"), Value::charset("us-ascii")],
        ),
    );
    add(
        &mut attrs,
        Attribute::new("natural-language-configured", Value::natural_language("en")),
    );
    add(
        &mut attrs,
        Attribute::new(
            "generated-natural-language-supported",
            Value::natural_language("en"),
        ),
    );
    add(
        &mut attrs,
        Attribute::new("compression-supported", Value::keyword("none")),
    );
    add(
        &mut attrs,
        Attribute::set(
            "ipp-versions-supported",
            [Value::keyword("1.1"), Value::keyword("2.0")],
        ),
    );
    let everywhere = printer.is_ipp_everywhere();
    let features = if everywhere { "ipp-everywhere" } else { "none" };
    add(
        &mut attrs,
        Attribute::new("ipp-features-supported", Value::keyword(features)),
    );
    add(
        &mut attrs,
        Attribute::new(
            "printer-info",
            Value::text(config.info.clone().unwrap_or_else(|| config.name.clone())),
        ),
    );
    add(
        &mut attrs,
        Attribute::new("printer-location", Value::text(location(config))),
    );
    let make_model = Some(make_and_model(config))
        .filter(|m| !m.is_empty())
        .unwrap_or_else(|| "printlab Emulated Printer".into());
    add(
        &mut attrs,
        Attribute::new("printer-make-and-model", Value::text(make_model.clone())),
    );
    let page = target.page_uri(printer);
    add(
        &mut attrs,
        Attribute::new("printer-more-info", Value::uri(page.clone())),
    );
    add(
        &mut attrs,
        Attribute::new("printer-supply-info-uri", Value::uri(page.clone())),
    );
    add(
        &mut attrs,
        Attribute::new(
            "printer-device-id",
            Value::text(device_id(config, &make_model)),
        ),
    );
    add(
        &mut attrs,
        Attribute::new("printer-geo-location", Value::OutOfBand(OutOfBand::UNKNOWN)),
    );
    add(
        &mut attrs,
        Attribute::new("printer-organization", Value::text("")),
    );
    add(
        &mut attrs,
        Attribute::new("printer-organizational-unit", Value::text("")),
    );
    add(
        &mut attrs,
        Attribute::new("pdl-override-supported", Value::keyword("attempted")),
    );
    add(
        &mut attrs,
        Attribute::new("job-ids-supported", Value::Boolean(true)),
    );
    add(
        &mut attrs,
        Attribute::set(
            "which-jobs-supported",
            [Value::keyword("completed"), Value::keyword("not-completed")],
        ),
    );
    add(
        &mut attrs,
        Attribute::new("multiple-operation-time-out", Value::Integer(60)),
    );
    add(
        &mut attrs,
        Attribute::new(
            "multiple-operation-time-out-action",
            Value::keyword("abort-job"),
        ),
    );
    add(
        &mut attrs,
        Attribute::new("multiple-document-jobs-supported", Value::Boolean(false)),
    );
    add(
        &mut attrs,
        Attribute::new("preferred-attributes-supported", Value::Boolean(false)),
    );
    add(
        &mut attrs,
        Attribute::set(
            "printer-get-attributes-supported",
            [Value::keyword("document-format")],
        ),
    );
    add(
        &mut attrs,
        Attribute::new(
            "identify-actions-default",
            Value::keyword(identify::ACTION_DEFAULT),
        ),
    );
    add(
        &mut attrs,
        Attribute::set(
            "identify-actions-supported",
            identify::ACTIONS_SUPPORTED.map(Value::keyword),
        ),
    );
    let creation: Vec<Value> = attrs
        .iter()
        .filter_map(|a| a.name.strip_suffix("-supported"))
        .filter(|base| JOB_TEMPLATE.contains(base))
        .map(|base| Value::keyword(base.to_string()))
        .collect();
    add(
        &mut attrs,
        Attribute::set("job-creation-attributes-supported", creation),
    );
    add(
        &mut attrs,
        Attribute::new("job-sheets-default", Value::keyword("none")),
    );
    add(
        &mut attrs,
        Attribute::set("job-sheets-supported", [Value::keyword("none")]),
    );
    add(
        &mut attrs,
        Attribute::new("job-priority-default", Value::Integer(50)),
    );
    add(
        &mut attrs,
        Attribute::new("job-priority-supported", Value::Integer(1)),
    );
    add(
        &mut attrs,
        Attribute::new("number-up-default", Value::Integer(1)),
    );
    add(
        &mut attrs,
        Attribute::new("finishings-default", Value::Enum(3)),
    );
    add(
        &mut attrs,
        Attribute::set("finishings-supported", [Value::Enum(3)]),
    );
    add(
        &mut attrs,
        Attribute::new(
            "orientation-requested-default",
            Value::OutOfBand(OutOfBand::NO_VALUE),
        ),
    );
    add(
        &mut attrs,
        Attribute::new("print-quality-default", Value::Enum(4)),
    );
    add(
        &mut attrs,
        Attribute::set("print-quality-supported", [Value::Enum(4)]),
    );
    add(
        &mut attrs,
        Attribute::new("print-content-optimize-default", Value::keyword("auto")),
    );
    add(
        &mut attrs,
        Attribute::set("print-content-optimize-supported", [Value::keyword("auto")]),
    );
    add(
        &mut attrs,
        Attribute::new("print-rendering-intent-default", Value::keyword("auto")),
    );
    add(
        &mut attrs,
        Attribute::set("print-rendering-intent-supported", [Value::keyword("auto")]),
    );
    add(
        &mut attrs,
        Attribute::set(
            "overrides-supported",
            ["document-number", "pages"].map(Value::keyword),
        ),
    );
    add(
        &mut attrs,
        Attribute::new("page-ranges-supported", Value::Boolean(false)),
    );
    add(
        &mut attrs,
        Attribute::set("orientation-requested-supported", [Value::Enum(3)]),
    );
    // What every sheet-fed printer has, where printers.toml declares nothing finer: one
    // output bin, the printer choosing the tray, plain paper.
    add(
        &mut attrs,
        Attribute::set("output-bin-supported", [Value::keyword("face-down")]),
    );
    add(
        &mut attrs,
        Attribute::set("media-source-supported", [Value::keyword("auto")]),
    );
    add(
        &mut attrs,
        Attribute::set("media-type-supported", [Value::keyword("stationery")]),
    );
    let ppm = i32::try_from(config.engine.pages_per_minute).unwrap_or(i32::MAX);
    add(
        &mut attrs,
        Attribute::new("pages-per-minute", Value::Integer(ppm)),
    );
    if config.hardware.color {
        add(
            &mut attrs,
            Attribute::new("pages-per-minute-color", Value::Integer(ppm)),
        );
    }
    add(
        &mut attrs,
        Attribute::set("printer-icons", [Value::uri(format!("{page}/icon.png"))]),
    );
    let first = |attrs: &[Attribute], name: &str| {
        attrs
            .iter()
            .find(|a| a.name == name)
            .and_then(|a| a.first())
            .cloned()
    };
    // Defaults a client reads before it prints: the first supported value where printers.toml
    // declares no default (a declared one came with the capabilities above).
    for default in first_supported_defaults(&attrs) {
        add(&mut attrs, default);
    }
    // What the declared trays hold now (a person may have changed it), else the default.
    let mut loaded: Vec<Value> = Vec::new();
    for tray in snapshot.trays.iter().filter(|t| t.level != Some(0)) {
        let Some(size) = MediaSize::by_graph_name(&tray.media_size) else {
            continue;
        };
        if !loaded.iter().any(|v| v.as_str() == Some(size.pwg_name)) {
            loaded.push(Value::keyword(size.pwg_name));
        }
    }
    if let Some(media) = first(&attrs, "media-default") {
        if let Some(col) = media_database_entry(&attrs, &media) {
            add(&mut attrs, Attribute::new("media-col-default", col));
        }
        if snapshot.trays.is_empty() {
            loaded.push(media);
        }
    }
    if !loaded.is_empty() {
        let ready_cols: Vec<Value> = (loaded.iter())
            .filter_map(|m| media_database_entry(&attrs, m))
            .collect();
        add(&mut attrs, Attribute::set("media-ready", loaded));
        if !ready_cols.is_empty() {
            add(&mut attrs, Attribute::set("media-col-ready", ready_cols));
        }
    }
    for derived in media_database_attributes(&attrs) {
        add(&mut attrs, derived);
    }
    let members = media_col_supported(&attrs);
    add(&mut attrs, members);
    if everywhere {
        let dpis: Vec<Value> = config
            .hardware
            .dpis
            .iter()
            .map(|d| Value::dpi(*d as i32))
            .collect();
        add(
            &mut attrs,
            Attribute::set("pwg-raster-document-resolution-supported", dpis),
        );
        add(
            &mut attrs,
            Attribute::new("pwg-raster-document-sheet-back", Value::keyword("normal")),
        );
        let types = if config.hardware.color {
            vec![Value::keyword("sgray_8"), Value::keyword("srgb_8")]
        } else {
            vec![Value::keyword("sgray_8")]
        };
        add(
            &mut attrs,
            Attribute::set("pwg-raster-document-type-supported", types),
        );
    }
    let takes_urf = (config.capabilities.content_types.iter().flatten())
        .any(|t| t.eq_ignore_ascii_case("image/urf"));
    if takes_urf {
        add(&mut attrs, urf_supported(config));
    }
    if !snapshot.supplies.is_empty() {
        let supplies = &snapshot.supplies;
        let described = supplies.iter().enumerate().map(|(i, s)| {
            Value::OctetString(
                format!(
                    "index={};class=supplyThatIsConsumed;type={};unit=percent;maxcapacity=100;level={};",
                    i + 1,
                    s.kind,
                    s.level
                )
                .into_bytes()
                .into(),
            )
        });
        add(
            &mut attrs,
            Attribute::set("printer-supply", described.collect::<Vec<_>>()),
        );
        add(
            &mut attrs,
            Attribute::set(
                "printer-supply-description",
                supplies
                    .iter()
                    .map(|s| Value::text(s.name.clone()))
                    .collect::<Vec<_>>(),
            ),
        );
    }
    if let Some(formats) = attrs
        .iter_mut()
        .find(|a| a.name == "document-format-supported")
    {
        let octet = Value::mime_media_type("application/octet-stream");
        if !formats.values.contains(&octet) {
            formats.values.push(octet);
        }
    }
    attrs
}

/// The printer's location as one line of text.
fn location(config: &crate::config::PrinterConfig) -> String {
    let l = &config.location;
    [&l.room_name, &l.floor, &l.building, &l.site, &l.city]
        .into_iter()
        .flatten()
        .cloned()
        .collect::<Vec<_>>()
        .join(", ")
}

/// IEEE 1284 device ID: manufacturer, model and command set (the printer's formats).
fn device_id(config: &crate::config::PrinterConfig, make_model: &str) -> String {
    let manufacturer = config
        .manufacturer
        .clone()
        .unwrap_or_else(|| "printlab".into());
    let model = config
        .model
        .clone()
        .unwrap_or_else(|| make_model.to_string());
    let formats: Vec<&str> = config
        .capabilities
        .content_types
        .iter()
        .flatten()
        .map(|f| match f.as_str() {
            "application/pdf" => "PDF",
            "image/jpeg" => "JPEG",
            "image/pwg-raster" => "PWGRaster",
            "image/urf" => "URF",
            "image/png" => "PNG",
            other => other,
        })
        .collect();
    format!("MFG:{manufacturer};MDL:{model};CMD:{};", formats.join(","))
}

/// What a person reads about the printer's state.
fn state_message(snapshot: &crate::runtime::PrinterSnapshot) -> String {
    match (snapshot.state, snapshot.job) {
        (PrinterProcessingState::Processing, Some(job)) => format!("Printing job {job}."),
        (PrinterProcessingState::Stopped, _) => {
            format!("Stopped: {}.", snapshot.reasons.join(", "))
        }
        _ => "Ready.".into(),
    }
}

/// `urf-supported` (Apple raster's capability keywords, which AirPrint clients and DNS-SD's
/// `URF` key read): version, 8-bit gray and sRGB when colour, the resolutions, duplex with the
/// back side as printed, and the most copies.
fn urf_supported(config: &crate::config::PrinterConfig) -> Attribute {
    let hardware = &config.hardware;
    let mut keywords = vec!["V1.4".to_string(), "W8".to_string()];
    if hardware.color {
        keywords.push("SRGB24".into());
    }
    let dpis: Vec<String> = hardware.dpis.iter().map(u32::to_string).collect();
    if !dpis.is_empty() {
        keywords.push(format!("RS{}", dpis.join("-")));
    }
    if hardware.duplex {
        keywords.push("DM1".into());
    }
    if let Some(copies) = &config.capabilities.copies_per_job {
        keywords.push(format!("CP{}", copies.end.clamp(1, 999)));
    }
    Attribute::set("urf-supported", keywords.into_iter().map(Value::keyword))
}
