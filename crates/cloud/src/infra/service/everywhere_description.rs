//! The description PWG 5100.12 (IPP/2.0) and PWG 5100.14 (IPP Everywhere) ask of a printer,
//! for the part the output device does not send over INFRA: what the Infrastructure Printer itself is (its UUID, device
//! ID, icon, change times, Identify-Printer relay, geo location and organisation from the Graph
//! printer's location) and what follows from the device's own attributes (the media sizes and
//! margins of its `media-col-database`, the media ready when it reports no trays, the PWG raster
//! resolutions and types of a printer taking `image/pwg-raster`, defaults from the first
//! supported value, and what a sheet-fed printer that declares nothing finer has: one output
//! bin, normal quality, portrait, no finishing). Every attribute the device sent wins; these
//! only fill gaps. `pages-per-minute` is not among them: only the device knows its speed.

use super::client_jobs::up_time_at;
use super::identify::actions_supported;
use super::printer_attributes::more_info;
use super::state::PrinterChanges;
use super::*;
use printlab_ipp::requested_attributes::JOB_TEMPLATE;
use printlab_ipp::{DateTime, OutOfBand};
use printlab_mapping::{
    first_supported_defaults, media_col_supported, media_database_attributes, media_database_entry,
};

/// The printer icon's path on the cloud (`printer-icons`), served by [`printer_icon`].
pub(super) const ICON_PATH: &str = "/ipp/printer-icon.png";

/// A 128×128 PNG of a printer, the same for every printer of the cloud.
const ICON: &[u8] = include_bytes!("printer-icon.png");

/// `GET /ipp/printer-icon.png`.
pub(super) async fn printer_icon() -> Response {
    ([(axum::http::header::CONTENT_TYPE, "image/png")], ICON).into_response()
}

/// Adds what `group` (the cloud's and the device's attributes) lacks of PWG 5100.14's
/// required description.
pub(super) fn add_everywhere_attributes(state: &Shared, rec: &PrinterRecord, group: &mut Group) {
    let printer_id = rec.printer.id.as_str();
    let formats: Vec<String> = group
        .attr("document-format-supported")
        .map(|a| {
            a.values
                .iter()
                .filter_map(|v| v.as_str())
                .map(str::to_ascii_lowercase)
                .collect()
        })
        .unwrap_or_default();
    let takes = |format: &str| formats.iter().any(|f| f == format);
    let everywhere = takes("image/jpeg") && takes("image/pwg-raster");
    let changes = state
        .live()
        .changes
        .get(printer_id)
        .copied()
        .unwrap_or(PrinterChanges::none_since(state.started_at));
    let actions = actions_supported(&group.attributes);
    let location = rec.printer.location.clone().unwrap_or_default();
    let geo = match (location.latitude, location.longitude) {
        (Some(latitude), Some(longitude)) => Value::uri(format!("geo:{latitude},{longitude}")),
        _ => Value::OutOfBand(OutOfBand::UNKNOWN),
    };
    let organization = location.organization.clone().unwrap_or_default();
    let units = location.subdivision.clone().unwrap_or_default();
    let mut own = vec![
        Attribute::set(
            "ipp-features-supported",
            [Value::keyword(if everywhere {
                "ipp-everywhere"
            } else {
                "none"
            })],
        ),
        Attribute::new(
            "identify-actions-default",
            Value::keyword(actions[0].clone()),
        ),
        Attribute::set(
            "identify-actions-supported",
            actions.into_iter().map(Value::keyword),
        ),
        Attribute::new("printer-uuid", Value::uri(printer_uuid(printer_id))),
        Attribute::new("printer-device-id", Value::text(device_id(rec, &formats))),
        Attribute::new("printer-geo-location", geo),
        Attribute::new("printer-organization", Value::text(organization.join(", "))),
        Attribute::new("printer-organizational-unit", Value::text(units.join(", "))),
        Attribute::set(
            "printer-get-attributes-supported",
            [Value::keyword("document-format")],
        ),
        Attribute::new("preferred-attributes-supported", Value::Boolean(false)),
        Attribute::set(
            "printer-icons",
            [Value::uri(format!("{}{ICON_PATH}", state.device_url))],
        ),
        Attribute::new(
            "printer-supply-info-uri",
            Value::uri(more_info(state, printer_id)),
        ),
        Attribute::new(
            "printer-config-change-time",
            Value::Integer(up_time_at(state, changes.config)),
        ),
        Attribute::new(
            "printer-config-change-date-time",
            Value::DateTime(DateTime::from_chrono(changes.config)),
        ),
        Attribute::new(
            "printer-state-change-time",
            Value::Integer(up_time_at(state, changes.state)),
        ),
        Attribute::new(
            "printer-state-change-date-time",
            Value::DateTime(DateTime::from_chrono(changes.state)),
        ),
        // What a printer without finer settings does: the job's content and colours as sent.
        Attribute::new("print-content-optimize-default", Value::keyword("auto")),
        Attribute::set("print-content-optimize-supported", [Value::keyword("auto")]),
        Attribute::new("print-rendering-intent-default", Value::keyword("auto")),
        Attribute::set("print-rendering-intent-supported", [Value::keyword("auto")]),
        Attribute::set(
            "overrides-supported",
            ["document-number", "pages"].map(Value::keyword),
        ),
        Attribute::set("finishings-supported", [Value::Enum(3)]),
        Attribute::set("orientation-requested-supported", [Value::Enum(3)]),
        Attribute::new(
            "orientation-requested-default",
            Value::OutOfBand(OutOfBand::NO_VALUE),
        ),
        Attribute::set("output-bin-supported", [Value::keyword("face-down")]),
        Attribute::set("print-quality-supported", [Value::Enum(4)]),
        Attribute::new("print-quality-default", Value::Enum(4)),
        // One tray chosen by the printer and plain paper, where the device names none.
        Attribute::set("media-source-supported", [Value::keyword("auto")]),
        Attribute::set("media-type-supported", [Value::keyword("stationery")]),
    ];
    if everywhere {
        own.extend(pwg_raster(group));
    }
    if let Some(finishings) = group.attr("finishings-supported") {
        let none = Value::Enum(3);
        let default = if finishings.values.contains(&none) {
            Some(none)
        } else {
            finishings.first().cloned()
        };
        own.extend(default.map(|d| Attribute::new("finishings-default", d)));
    } else {
        own.push(Attribute::new("finishings-default", Value::Enum(3)));
    }
    for attribute in own {
        add(group, attribute);
    }
    for default in first_supported_defaults(&group.attributes) {
        add(group, default);
    }
    add_media_ready(group);
    for derived in media_database_attributes(&group.attributes) {
        add(group, derived);
    }
    let members = media_col_supported(&group.attributes);
    add(group, members);
    let creation: Vec<Value> = group
        .attributes
        .iter()
        .filter_map(|a| a.name.strip_suffix("-supported"))
        .filter(|base| JOB_TEMPLATE.contains(base))
        .map(|base| Value::keyword(base.to_owned()))
        .collect();
    add(
        group,
        Attribute::set("job-creation-attributes-supported", creation),
    );
}

/// Adds `attribute` unless the group has one of that name (or it has no value: IPP has no
/// empty 1setOf, and a printer without a media database has no sizes to list).
fn add(group: &mut Group, attribute: Attribute) {
    if !attribute.values.is_empty() && group.attr(&attribute.name).is_none() {
        group.push(attribute);
    }
}

fn first(group: &Group, name: &str) -> Option<Value> {
    group.attr(name).and_then(|a| a.first()).cloned()
}

/// `urn:uuid:` of the printer: its Graph id when that is a GUID (it is for printers Graph
/// creates), else a name-based one from the id's SHA-256.
fn printer_uuid(printer_id: &str) -> String {
    let is_guid = printer_id.len() == 36
        && printer_id.char_indices().all(|(i, c)| {
            if [8, 13, 18, 23].contains(&i) {
                c == '-'
            } else {
                c.is_ascii_hexdigit()
            }
        });
    if is_guid {
        return format!("urn:uuid:{}", printer_id.to_ascii_lowercase());
    }
    use sha2::Digest;
    let hash = hex::encode(&sha2::Sha256::digest(printer_id.as_bytes())[..16]);
    format!(
        "urn:uuid:{}-{}-{}-{}-{}",
        &hash[..8],
        &hash[8..12],
        &hash[12..16],
        &hash[16..20],
        &hash[20..32]
    )
}

/// IEEE 1284 device ID: manufacturer, model and command set (the formats).
fn device_id(rec: &PrinterRecord, formats: &[String]) -> String {
    let manufacturer = rec.printer.manufacturer.clone().filter(|m| !m.is_empty());
    let model = rec.printer.model.clone().filter(|m| !m.is_empty());
    let commands: Vec<&str> = formats
        .iter()
        .filter(|f| *f != "application/octet-stream")
        .map(|f| match f.as_str() {
            "application/pdf" => "PDF",
            "image/jpeg" => "JPEG",
            "image/pwg-raster" => "PWGRaster",
            "image/urf" => "URF",
            "image/png" => "PNG",
            "application/postscript" => "POSTSCRIPT",
            other => other,
        })
        .collect();
    // `;` ends a field: keep it out of the values.
    let clean = |text: String| text.replace(';', ",");
    format!(
        "MFG:{};MDL:{};CMD:{};",
        clean(manufacturer.unwrap_or_else(|| "printlab".into())),
        clean(model.unwrap_or_else(|| rec.printer.display_name.clone())),
        clean(commands.join(","))
    )
}

/// PWG 5100.14's raster attributes of a printer taking `image/pwg-raster`: its resolutions,
/// 8-bit grey, and sRGB when it prints colour.
fn pwg_raster(group: &Group) -> Vec<Attribute> {
    let mut resolutions: Vec<Value> = group
        .attr("printer-resolution-supported")
        .map(|a| a.values.clone())
        .unwrap_or_default();
    if resolutions.is_empty() {
        resolutions.push(Value::dpi(300));
    }
    let color = group.boolean("color-supported") == Some(true)
        || group
            .attr("print-color-mode-supported")
            .is_some_and(|a| a.keywords().any(|k| k == "color"));
    let mut types = vec![Value::keyword("sgray_8")];
    if color {
        types.push(Value::keyword("srgb_8"));
    }
    vec![
        Attribute::set("pwg-raster-document-resolution-supported", resolutions),
        Attribute::new("pwg-raster-document-sheet-back", Value::keyword("normal")),
        Attribute::set("pwg-raster-document-type-supported", types),
    ]
}

/// `media-ready` and `media-col-ready` of a device that reports no trays: the default media,
/// as its `media-col-database` entry; and `media-col-default` likewise.
fn add_media_ready(group: &mut Group) {
    let Some(media) = first(group, "media-default") else {
        return;
    };
    add(group, Attribute::set("media-ready", [media.clone()]));
    if let Some(col) = media_database_entry(&group.attributes, &media) {
        add(group, Attribute::new("media-col-default", col.clone()));
        add(group, Attribute::set("media-col-ready", [col]));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn printer_uuids_are_urns_of_the_guid_or_of_a_hash() {
        let guid = "0D6F6B43-9F43-4F9A-8C7E-2F1B9E7A1C11";
        assert_eq!(
            printer_uuid(guid),
            format!("urn:uuid:{}", guid.to_ascii_lowercase())
        );
        let other = printer_uuid("not-a-guid");
        assert_eq!(other.len(), "urn:uuid:".len() + 36, "{other}");
        assert_eq!(other, printer_uuid("not-a-guid"));
        assert_ne!(other, printer_uuid("not-a-guid-either"));
    }
}
