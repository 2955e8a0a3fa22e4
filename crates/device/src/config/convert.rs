//! From the file as written to checked printers: each value converted on its own, so every
//! mistake is reported at its position, then the shared Graph rules run on the result.

use super::combinations::check_combinations;
use super::constraints::convert_constraints;
use super::consumables::{convert_supplies, convert_trays};
use super::misprint::convert_misprint;
use super::model::{
    Connection, HardwareProfile, JobLimits, Margins, MediaProfile, PrinterConfig, Secret,
};
use super::origins::{Origins, toml_key};
use super::{
    ConnectionEntry, DefaultsEntry, EngineEntry, FaultsEntry, Issues, LimitsEntry, PrinterEntry, S,
    SList,
};
use crate::engine::{EngineSpec, FaultSpec, OfflineWindow, RandomFaults};
use printlab_graph::rules;
use printlab_graph::{
    GraphEnum, IntegerRange, MediaSize, PrintColorMode, PrintDuplexMode, PrinterCapabilities,
    PrinterDefaults, PrinterLocation,
};
use std::time::Duration;

/// Defaults used when `[printer.engine]` is left out: an ordinary office laser.
pub(super) const DEFAULT_PPM: u32 = 30;
pub(super) const DEFAULT_WARM_UP: Duration = Duration::from_secs(8);
pub(super) const DEFAULT_COOL_DOWN: Duration = Duration::from_secs(300);

pub(super) fn convert_connection(
    c: &S<ConnectionEntry>,
    issues: &mut Issues,
) -> Option<Connection> {
    let entry = c.get_ref();
    let secret = match (&entry.password, &entry.password_env) {
        (Some(_), Some(_)) => {
            issues.push(
                c.span(),
                "give either password or password_env, not both".into(),
            );
            None
        }
        (Some(p), None) => Some(Secret::Literal(p.clone())),
        (None, Some(v)) => Some(Secret::Env(v.clone())),
        (None, None) => None,
    };
    match entry.mode.get_ref().as_str() {
        "universal-print" => {
            if entry.printer_uri.is_some() || entry.username.is_some() || secret.is_some() {
                issues.push(
                    c.span(),
                    "universal-print registers with the cloud and uses device tokens; printer_uri, username and password belong to mode = \"infra\"".into(),
                );
            }
            Some(Connection::UniversalPrint)
        }
        "infra" => {
            let Some(uri) = &entry.printer_uri else {
                issues.push(c.span(), "mode = \"infra\" needs printer_uri".into());
                return None;
            };
            match reqwest::Url::parse(uri.get_ref()) {
                Ok(url) if matches!(url.scheme(), "ipp" | "ipps" | "http" | "https") => {}
                Ok(url) => issues.push(
                    uri.span(),
                    format!(
                        "printer_uri scheme `{}` is not ipp, ipps, http or https",
                        url.scheme()
                    ),
                ),
                Err(e) => issues.push(uri.span(), format!("printer_uri is not a URI: {e}")),
            }
            if secret.is_some() && entry.username.is_none() {
                issues.push(c.span(), "a password needs a username (HTTP Basic)".into());
            }
            Some(Connection::Infra {
                printer_uri: uri.get_ref().clone(),
                username: entry.username.clone(),
                password: secret,
            })
        }
        other => {
            issues.push(
                entry.mode.span(),
                format!(
                    "connection mode `{other}` is unknown; use \"universal-print\" or \"infra\""
                ),
            );
            None
        }
    }
}

/// Converts a list of enum names, reporting each unknown one at its own position.
fn enum_list<E: GraphEnum>(list: &Option<SList>, issues: &mut Issues) -> Option<Vec<E>> {
    let list = list.as_ref()?;
    Some(
        list.get_ref()
            .iter()
            .filter_map(|v| enum_value(v, issues))
            .collect(),
    )
}

fn enum_value<E: GraphEnum>(v: &S<String>, issues: &mut Issues) -> Option<E> {
    let found = E::from_name(v.get_ref());
    if found.is_none() {
        let names: Vec<_> = E::ALL
            .iter()
            .map(|m| m.as_str())
            .filter(|m| *m != "unknownFutureValue")
            .collect();
        let suggestion = names
            .iter()
            .find(|n| n.eq_ignore_ascii_case(v.get_ref()))
            .map(|n| format!("did you mean `{n}`? "))
            .unwrap_or_default();
        issues.push(
            v.span(),
            format!(
                "`{}` is not a valid value; {suggestion}expected one of: {}",
                v.get_ref(),
                names.join(", ")
            ),
        );
    }
    found
}

fn strings(list: &Option<SList>) -> Option<Vec<String>> {
    list.as_ref()
        .map(|l| l.get_ref().iter().map(|s| s.get_ref().clone()).collect())
}

fn int32(v: &S<i64>, issues: &mut Issues) -> Option<i32> {
    let out = i32::try_from(*v.get_ref()).ok();
    if out.is_none() {
        issues.push(v.span(), format!("{} is out of range", v.get_ref()));
    }
    out
}

fn int_list(list: &Option<S<Vec<S<i64>>>>, issues: &mut Issues) -> Option<Vec<i32>> {
    list.as_ref().map(|l| {
        l.get_ref()
            .iter()
            .filter_map(|v| int32(v, issues))
            .collect()
    })
}

fn mm_to_microns(mm: f64) -> i64 {
    (mm * 1000.0).round() as i64
}

pub(super) fn convert_printer(
    p: &PrinterEntry,
    fleet_connection: Option<Connection>,
    issues: &mut Issues,
) -> Option<PrinterConfig> {
    let name = p.name.get_ref();
    let first_issue = issues.0.len();
    let printer = convert_printer_checked(p, name, fleet_connection, issues);
    // Messages found while converting values do not know their printer yet.
    for (_, message) in &mut issues.0[first_issue..] {
        if !message.starts_with("printer `") {
            *message = format!("printer `{name}`: {message}");
        }
    }
    printer
}

fn convert_printer_checked(
    p: &PrinterEntry,
    name: &str,
    fleet_connection: Option<Connection>,
    issues: &mut Issues,
) -> Option<PrinterConfig> {
    if name.trim().is_empty() || name.chars().any(char::is_control) {
        issues.push(
            p.name.span(),
            "a printer name must be non-blank without control characters".into(),
        );
    }
    let connection = match &p.connection {
        Some(c) => convert_connection(c, issues),
        None => Some(fleet_connection.unwrap_or(Connection::UniversalPrint)),
    };

    let c = p.capabilities.get_ref();
    let mut media = Vec::new();
    let mut margins: [Vec<i32>; 4] = Default::default();
    let mut margin_media: [Vec<usize>; 4] = Default::default();
    let mut media_names = None;
    if let Some(list) = &c.media {
        let mut names = Vec::new();
        for (i, entry) in list.get_ref().iter().enumerate() {
            let e = entry.get_ref();
            names.push(e.size.get_ref().clone());
            let m = e.margins.get_ref();
            let finer = [
                ("top", m.top),
                ("bottom", m.bottom),
                ("left", m.left),
                ("right", m.right),
            ]
            .into_iter()
            .filter(|(_, mm)| (mm * 100.0 - (mm * 100.0).round()).abs() > 1e-6)
            .map(|(side, mm)| format!("{side} = {mm}"))
            .collect::<Vec<_>>();
            if !finer.is_empty() {
                issues.push(
                    e.margins.span(),
                    format!(
                        "margins are carried in hundredths of a millimetre (IPP's unit), so Graph would not show {}; give at most two decimals",
                        finer.join(", ")
                    ),
                );
            }
            let microns = [m.top, m.bottom, m.left, m.right].map(mm_to_microns);
            for (side, value) in microns.iter().enumerate() {
                let value = (*value).clamp(i32::MIN as i64, i32::MAX as i64) as i32;
                if !margins[side].contains(&value) {
                    margins[side].push(value);
                    margin_media[side].push(i);
                }
            }
            if e.borderless {
                // Graph lists the margins a printer supports: borderless adds 0 to each list.
                for side in 0..4 {
                    if !margins[side].contains(&0) {
                        margins[side].push(0);
                        margin_media[side].push(i);
                    }
                }
            }
            let Some(size) = MediaSize::by_graph_name(e.size.get_ref()) else {
                continue; // named by the rules, at the size's span
            };
            if microns.iter().any(|v| *v < 0) {
                continue; // named by the rules
            }
            let [top, bottom, left, right] = microns.map(|v| v as u32);
            // 1 PWG unit = 10 µm
            if top + bottom >= size.height * 10 || left + right >= size.width * 10 {
                issues.push(
                    e.margins.span(),
                    format!(
                        "these margins leave nothing printable on {}",
                        size.graph_name
                    ),
                );
            }
            media.push(MediaProfile {
                size,
                margins: Margins {
                    top,
                    bottom,
                    left,
                    right,
                },
                borderless: e.borderless,
            });
        }
        media_names = Some(names);
    }
    let [top, bottom, left, right] = margins;
    let has_media = media_names.is_some();
    let color_modes = enum_list::<PrintColorMode>(&c.color_modes, issues);
    let duplex_modes = enum_list::<PrintDuplexMode>(&c.duplex_modes, issues);
    let capabilities = PrinterCapabilities {
        bottom_margins: has_media.then_some(bottom),
        collation: c.collation,
        is_color_printing_supported: color_modes
            .as_ref()
            .map(|m| m.contains(&PrintColorMode::Color)),
        color_modes,
        content_types: strings(&c.document_formats),
        copies_per_job: c.copies.as_ref().map(|r| IntegerRange {
            start: r.get_ref().min,
            end: r.get_ref().max,
        }),
        dpis: int_list(&c.dpis, issues),
        duplex_modes,
        feed_orientations: enum_list(&c.feed_orientations, issues),
        finishings: enum_list(&c.finishings, issues),
        input_bins: strings(&c.input_bins),
        is_page_range_supported: c.page_ranges,
        left_margins: has_media.then_some(left),
        media_colors: strings(&c.media_colors),
        media_sizes: media_names,
        media_types: strings(&c.media_types),
        multipage_layouts: enum_list(&c.multipage_layouts, issues),
        orientations: enum_list(&c.orientations, issues),
        output_bins: strings(&c.output_bins),
        pages_per_sheet: int_list(&c.pages_per_sheet, issues),
        qualities: enum_list(&c.qualities, issues),
        right_margins: has_media.then_some(right),
        scalings: enum_list(&c.scalings, issues),
        supports_fit_pdf_to_page: c.fit_to_page,
        top_margins: has_media.then_some(top),
    };

    let empty = DefaultsEntry::default();
    let d = p.defaults.as_ref().map_or(&empty, |d| d.get_ref());
    let one = |v: &Option<S<String>>| v.as_ref().map(|v| v.get_ref().clone());
    let defaults = PrinterDefaults {
        color_mode: d.color_mode.as_ref().and_then(|v| enum_value(v, issues)),
        content_type: one(&d.document_format),
        copies_per_job: d.copies.as_ref().and_then(|v| int32(v, issues)),
        dpi: d.dpi.as_ref().and_then(|v| int32(v, issues)),
        duplex_mode: d.duplex_mode.as_ref().and_then(|v| enum_value(v, issues)),
        finishings: enum_list(&d.finishings, issues),
        fit_pdf_to_page: d.fit_to_page.as_ref().map(|v| *v.get_ref()),
        input_bin: one(&d.input_bin),
        media_color: one(&d.media_color),
        media_size: one(&d.media_size),
        media_type: one(&d.media_type),
        multipage_layout: d
            .multipage_layout
            .as_ref()
            .and_then(|v| enum_value(v, issues)),
        orientation: d.orientation.as_ref().and_then(|v| enum_value(v, issues)),
        output_bin: one(&d.output_bin),
        pages_per_sheet: d.pages_per_sheet.as_ref().and_then(|v| int32(v, issues)),
        quality: d.quality.as_ref().and_then(|v| enum_value(v, issues)),
        scaling: d.scaling.as_ref().and_then(|v| enum_value(v, issues)),
    };

    let origins = Origins {
        printer: p,
        margin_media,
    };
    for v in rules::check_printer(&capabilities, &defaults) {
        issues.push(
            origins.violation(&v),
            format!(
                "{}.{}: {}",
                v.subject,
                toml_key(v.subject, v.field),
                v.message
            ),
        );
    }

    let engine = convert_engine(p.engine.as_ref(), issues);
    let faults = convert_faults(&p.faults, capabilities.content_types.as_deref(), issues);
    let limits = convert_limits(&p.limits, issues);
    let trays = convert_trays(&p.trays, &capabilities, issues);
    let supplies = convert_supplies(&p.supplies, issues);
    let constraints = convert_constraints(&p.constraints, &capabilities, issues);
    check_combinations(p, &defaults, constraints.as_deref(), issues);
    let misprint = convert_misprint(&p.misprint, &capabilities, &defaults, issues);
    let more_info = p
        .more_info
        .as_ref()
        .and_then(|uri| match reqwest::Url::parse(uri.get_ref()) {
            Ok(url) if matches!(url.scheme(), "http" | "https") => Some(uri.get_ref().clone()),
            _ => {
                issues.push(
                    uri.span(),
                    format!("more_info `{}` is not an http or https URL", uri.get_ref()),
                );
                None
            }
        });

    let dpis = capabilities
        .dpis
        .iter()
        .flatten()
        .filter_map(|d| u32::try_from(*d).ok())
        .collect();
    let hardware = HardwareProfile {
        media,
        dpis,
        color: capabilities.is_color_printing_supported == Some(true),
        duplex: capabilities
            .duplex_modes
            .iter()
            .flatten()
            .any(|m| *m != PrintDuplexMode::OneSided),
    };
    let l = &p.location;
    let location = PrinterLocation {
        building: l.building.clone(),
        floor: l.floor.clone(),
        room_name: l.room.clone(),
        street_address: l.street_address.clone(),
        city: l.city.clone(),
        postal_code: l.postal_code.clone(),
        state_or_province: l.state_or_province.clone(),
        country_or_region: l.country_or_region.clone(),
        site: l.site.clone(),
        ..Default::default()
    };
    Some(PrinterConfig {
        name: name.to_string(),
        manufacturer: p.manufacturer.clone(),
        model: p.model.clone(),
        location,
        connection: connection?,
        capabilities,
        defaults,
        hardware,
        engine: engine?,
        faults: faults?,
        limits: limits?,
        info: p.info.clone(),
        more_info,
        trays: trays?,
        supplies: supplies?,
        constraints: constraints?,
        misprint: misprint?,
    })
}

fn convert_limits(l: &LimitsEntry, issues: &mut Issues) -> Option<JobLimits> {
    let defaults = JobLimits::default();
    let pages = at_least(&l.max_pages, "limits.max_pages", 1, issues);
    let sheet_count = at_least(&l.max_sheets, "limits.max_sheets", 1, issues);
    let bytes = at_least(&l.max_output_bytes, "limits.max_output_bytes", 1, issues);
    Some(JobLimits {
        max_pages: pages.ok()?.unwrap_or(defaults.max_pages),
        max_sheets: sheet_count.ok()?.unwrap_or(defaults.max_sheets),
        max_output_bytes: bytes.ok()?.unwrap_or(defaults.max_output_bytes),
    })
}

fn seconds(v: &S<f64>, what: &str, issues: &mut Issues) -> Option<Duration> {
    let secs = *v.get_ref();
    match Duration::try_from_secs_f64(secs) {
        Ok(d) => Some(d),
        Err(_) => {
            issues.push(
                v.span(),
                format!("{what} must be a non-negative number of seconds"),
            );
            None
        }
    }
}

fn convert_engine(e: Option<&EngineEntry>, issues: &mut Issues) -> Option<EngineSpec> {
    let Some(e) = e else {
        return Some(EngineSpec {
            pages_per_minute: DEFAULT_PPM,
            warm_up: DEFAULT_WARM_UP,
            cool_down: DEFAULT_COOL_DOWN,
            full_speed: false,
        });
    };
    let ppm = match u32::try_from(*e.pages_per_minute.get_ref()) {
        Ok(p) if (1..=1000).contains(&p) => Some(p),
        _ => {
            issues.push(
                e.pages_per_minute.span(),
                "pages_per_minute must be between 1 and 1000".into(),
            );
            None
        }
    };
    let warm_up = match &e.warm_up_seconds {
        Some(v) => seconds(v, "warm_up_seconds", issues),
        None => Some(DEFAULT_WARM_UP),
    };
    let cool_down = match &e.cool_down_seconds {
        Some(v) => seconds(v, "cool_down_seconds", issues),
        None => Some(DEFAULT_COOL_DOWN),
    };
    Some(EngineSpec {
        pages_per_minute: ppm?,
        warm_up: warm_up?,
        cool_down: cool_down?,
        full_speed: e.full_speed,
    })
}

/// A count of at least `least`, or the issue at its position.
fn at_least(
    v: &Option<S<i64>>,
    what: &str,
    least: u64,
    issues: &mut Issues,
) -> Result<Option<u64>, ()> {
    let Some(v) = v else { return Ok(None) };
    match u64::try_from(*v.get_ref()) {
        Ok(n) if n >= least => Ok(Some(n)),
        _ => {
            issues.push(v.span(), format!("{what} must be {least} or more"));
            Err(())
        }
    }
}

fn convert_faults(
    f: &FaultsEntry,
    formats: Option<&[String]>,
    issues: &mut Issues,
) -> Option<FaultSpec> {
    // Every pick jamming would jam the reprint too: the printer could never print.
    let jam = at_least(&f.jam_every_sheets, "jam_every_sheets", 2, issues);
    let paper = at_least(
        &f.out_of_paper_after_sheets,
        "out_of_paper_after_sheets",
        1,
        issues,
    );
    let cover = at_least(
        &f.cover_open_after_sheets,
        "cover_open_after_sheets",
        1,
        issues,
    );
    let mut ok = jam.is_ok() && paper.is_ok() && cover.is_ok();

    let mut offline = Vec::new();
    for w in &f.offline {
        let e = w.get_ref();
        let parse = |s: f64| Duration::try_from_secs_f64(s).ok();
        match (
            parse(e.after_seconds),
            parse(e.for_seconds),
            e.every_seconds.map(parse),
        ) {
            (Some(start), Some(duration), every) if !duration.is_zero() => {
                let every = match every {
                    None => None,
                    Some(Some(p)) if p > duration => Some(p),
                    Some(_) => {
                        issues.push(
                            w.span(),
                            "every_seconds must be longer than for_seconds, or the printer never comes back".into(),
                        );
                        ok = false;
                        None
                    }
                };
                offline.push(OfflineWindow {
                    start,
                    duration,
                    every,
                });
            }
            _ => {
                issues.push(
                    w.span(),
                    "an offline window needs after_seconds ≥ 0 and for_seconds > 0".into(),
                );
                ok = false;
            }
        }
    }

    let failing_formats = strings(&f.failing_formats).unwrap_or_default();
    if let Some(list) = &f.failing_formats {
        for v in list.get_ref() {
            if !formats.unwrap_or_default().contains(v.get_ref()) {
                issues.push(
                    v.span(),
                    format!(
                        "`{}` is not among document_formats, so no job of that format would reach the interpreter",
                        v.get_ref()
                    ),
                );
                ok = false;
            }
        }
    }

    let extra_latency = match &f.extra_latency_ms {
        None => Duration::ZERO,
        Some(v) => match u64::try_from(*v.get_ref()) {
            Ok(ms) if ms <= 60_000 => Duration::from_millis(ms),
            _ => {
                issues.push(
                    v.span(),
                    "extra_latency_ms must be between 0 and 60000".into(),
                );
                ok = false;
                Duration::ZERO
            }
        },
    };

    let random = f.random.as_ref().map(|r| {
        let e = r.get_ref();
        // A per-sheet fault that always happens would stop the printer on every retry.
        let mut probability = |value: &Option<S<f64>>, what: &str, per_sheet: bool| {
            let Some(v) = value else { return 0.0 };
            let p = *v.get_ref();
            if !(0.0..=1.0).contains(&p) {
                issues.push(
                    v.span(),
                    format!("{what} is a probability: between 0 and 1"),
                );
                ok = false;
            } else if per_sheet && p >= 1.0 {
                issues.push(
                    v.span(),
                    format!("{what} must be below 1, or the printer could never print a sheet"),
                );
                ok = false;
            }
            p
        };
        RandomFaults {
            seed: e.seed,
            jam: probability(&e.jam, "jam", true),
            cover_open: probability(&e.cover_open, "cover_open", true),
            media_empty: probability(&e.media_empty, "media_empty", true),
            interpret_failure: probability(&e.interpret_failure, "interpret_failure", false),
        }
    });

    ok.then(|| FaultSpec {
        jam_every_sheets: jam.ok().flatten(),
        out_of_paper_after_sheets: paper.ok().flatten(),
        cover_open_after_sheets: cover.ok().flatten(),
        offline,
        failing_formats,
        extra_latency,
        random,
    })
}
