//! A JSON Schema of `printers.toml`, for editors (Even Better TOML, Taplo) to complete and check
//! keys as you type. Enum values come from the Graph enums and media names from
//! `MEDIA_SIZES`, so completion offers exactly what `printlab validate` accepts. The cross-field
//! rules (defaults among the capabilities, …) stay with `printlab validate`.

use crate::constraint::JobOption;
use printlab_graph::{
    GraphEnum, MEDIA_SIZES, PrintColorMode, PrintDuplexMode, PrintFinishing, PrintMultipageLayout,
    PrintOrientation, PrintQuality, PrintScaling, PrinterFeedOrientation,
};
use serde_json::{Value, json};

fn names<E: GraphEnum>() -> Value {
    E::ALL
        .iter()
        .map(|m| m.as_str())
        .filter(|m| *m != "unknownFutureValue")
        .collect()
}

fn one_of<E: GraphEnum>() -> Value {
    json!({ "type": "string", "enum": names::<E>() })
}

fn list_of<E: GraphEnum>() -> Value {
    json!({ "type": "array", "items": one_of::<E>(), "uniqueItems": true })
}

fn object(properties: Value, required: &[&str]) -> Value {
    json!({
        "type": "object",
        "additionalProperties": false,
        "properties": properties,
        "required": required,
    })
}

/// The schema as JSON.
pub fn json_schema() -> Value {
    let string = json!({ "type": "string" });
    let strings = json!({ "type": "array", "items": { "type": "string" }, "uniqueItems": true });
    let count = json!({ "type": "integer", "minimum": 1 });
    let seconds = json!({ "type": "number", "minimum": 0 });
    let probability = json!({ "type": "number", "minimum": 0, "maximum": 1 });
    let media_name = json!({
        "type": "string",
        "enum": MEDIA_SIZES.iter().map(|m| m.graph_name).collect::<Vec<_>>(),
    });
    let millimetres = json!({ "type": "number", "minimum": 0, "description": "millimetres, at most two decimals (IPP carries hundredths of a millimetre)" });
    let connection = object(
        json!({
            "mode": { "enum": ["universal-print", "infra"] },
            "printer_uri": { "type": "string", "format": "uri" },
            "username": string,
            "password": string,
            "password_env": string,
        }),
        &["mode"],
    );
    let location = object(
        json!({
            "building": string, "floor": string, "room": string, "street_address": string,
            "city": string, "postal_code": string, "state_or_province": string,
            "country_or_region": string, "site": string,
        }),
        &[],
    );
    let media = object(
        json!({
            "size": media_name,
            "margins": object(
                json!({ "top": millimetres, "bottom": millimetres, "left": millimetres, "right": millimetres }),
                &["top", "bottom", "left", "right"],
            ),
            "borderless": { "type": "boolean", "description": "the size can also be printed with all margins 0" },
        }),
        &["size", "margins"],
    );
    let capabilities = object(
        json!({
            "document_formats": strings,
            "media": { "type": "array", "items": media, "minItems": 1 },
            "dpis": { "type": "array", "items": { "type": "integer", "minimum": 72, "maximum": 9600 } },
            "color_modes": list_of::<PrintColorMode>(),
            "duplex_modes": list_of::<PrintDuplexMode>(),
            "pages_per_sheet": { "type": "array", "items": { "type": "integer", "minimum": 1, "maximum": 64 } },
            "multipage_layouts": list_of::<PrintMultipageLayout>(),
            "orientations": list_of::<PrintOrientation>(),
            "scalings": list_of::<PrintScaling>(),
            "qualities": list_of::<PrintQuality>(),
            "finishings": list_of::<PrintFinishing>(),
            "feed_orientations": list_of::<PrinterFeedOrientation>(),
            "input_bins": strings, "output_bins": strings,
            "media_types": strings, "media_colors": strings,
            "copies": object(json!({ "min": count, "max": count }), &["min", "max"]),
            "collation": { "type": "boolean" },
            "page_ranges": { "type": "boolean" },
            "fit_to_page": { "type": "boolean" },
        }),
        &[
            "document_formats",
            "media",
            "dpis",
            "color_modes",
            "duplex_modes",
            "finishings",
            "copies",
        ],
    );
    let defaults = object(
        json!({
            "color_mode": one_of::<PrintColorMode>(),
            "document_format": string,
            "copies": count,
            "dpi": { "type": "integer" },
            "duplex_mode": one_of::<PrintDuplexMode>(),
            "finishings": list_of::<PrintFinishing>(),
            "fit_to_page": { "type": "boolean" },
            "input_bin": string, "media_color": string,
            "media_size": media_name,
            "media_type": string,
            "multipage_layout": one_of::<PrintMultipageLayout>(),
            "orientation": one_of::<PrintOrientation>(),
            "output_bin": string,
            "pages_per_sheet": count,
            "quality": one_of::<PrintQuality>(),
            "scaling": one_of::<PrintScaling>(),
        }),
        &[],
    );
    let engine = object(
        json!({
            "pages_per_minute": { "type": "integer", "minimum": 1, "maximum": 1000 },
            "warm_up_seconds": seconds, "cool_down_seconds": seconds,
            "full_speed": { "type": "boolean" },
        }),
        &["pages_per_minute"],
    );
    let faults = object(
        json!({
            "jam_every_sheets": { "type": "integer", "minimum": 2 },
            "out_of_paper_after_sheets": count,
            "cover_open_after_sheets": count,
            "offline": { "type": "array", "items": object(
                json!({ "after_seconds": seconds, "for_seconds": seconds, "every_seconds": seconds }),
                &["after_seconds", "for_seconds"],
            ) },
            "failing_formats": strings,
            "extra_latency_ms": { "type": "integer", "minimum": 0, "maximum": 60000 },
            "random": object(
                json!({
                    "seed": { "type": "integer", "minimum": 0 },
                    "jam": probability, "cover_open": probability,
                    "media_empty": probability, "interpret_failure": probability,
                }),
                &["seed"],
            ),
        }),
        &[],
    );
    let limits = object(
        json!({
            "max_pages": count, "max_sheets": count, "max_output_bytes": count,
        }),
        &[],
    );
    let percent = json!({ "type": "integer", "minimum": 0, "maximum": 100 });
    let sheets = json!({ "type": "integer", "minimum": 0 });
    let tray = object(
        json!({
            "name": { "type": "string", "description": "one of capabilities.input_bins" },
            "media_size": media_name,
            "media_type": { "type": "string", "description": "one of capabilities.media_types" },
            "capacity": count,
            "level": sheets,
        }),
        &["name", "media_size", "capacity"],
    );
    let supply = object(
        json!({
            "name": string,
            "kind": { "type": "string", "description": "IPP marker-types keyword (toner, ink, ink-cartridge, …)" },
            "color": { "type": "string", "pattern": "^(none|(#[0-9A-Fa-f]{6})+)$" },
            "level": percent, "low": percent, "high": percent,
            "sheets_per_percent": count,
        }),
        &["name", "kind", "level", "low"],
    );
    let option_values = object(
        JobOption::ALL
            .iter()
            .map(|o| (o.key().to_string(), strings.clone()))
            .collect::<serde_json::Map<_, _>>()
            .into(),
        &[],
    );
    let constraint = object(
        json!({
            "resolver": string,
            "when": option_values,
            "resolve": option_values,
        }),
        &["resolver", "when"],
    );
    let mut misprint = object(
        json!({
            "back_side_upright": { "type": "boolean", "description": "a short-edge duplex back side prints upright instead of turned 180°" },
            "drops_last_sheet": { "type": "boolean", "description": "the last sheet of a job of two or more sheets never comes out" },
            "ignores_color_mode": { "type": "boolean", "description": "monochrome and grayscale jobs print in colour (needs color among capabilities.color_modes)" },
            "refuses_media_sizes": { "type": "array", "items": media_name, "uniqueItems": true, "description": "sizes advertised in capabilities.media whose jobs the printer aborts" },
        }),
        &[],
    );
    misprint["description"] = json!(
        "plants a defect on purpose, for testing tools that check printers' output, such as printlab matrix"
    );
    let printer = object(
        json!({
            "name": string, "manufacturer": string, "model": string,
            "count": {
                "type": "integer", "minimum": 1, "maximum": 1_000_000,
                "description": "this many identical printers, named `{name} 1` … `{name} N`"
            },
            "info": string, "more_info": { "type": "string", "format": "uri" },
            "location": location, "connection": connection,
            "capabilities": capabilities, "defaults": defaults,
            "engine": engine, "faults": faults, "limits": limits,
            "trays": { "type": "array", "items": tray },
            "supplies": { "type": "array", "items": supply },
            "constraints": { "type": "array", "items": constraint },
            "misprint": misprint,
        }),
        &["name", "capabilities"],
    );
    let mut schema = object(
        json!({
            "fleet": object(json!({ "connection": connection }), &[]),
            "printer": { "type": "array", "items": printer, "minItems": 1 },
        }),
        &["printer"],
    );
    schema["$schema"] = json!("https://json-schema.org/draft/2020-12/schema");
    schema["title"] = json!("printlab printers.toml");
    schema
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Checks a TOML value against the subset of JSON Schema used above; returns the paths that
    /// do not fit.
    fn misfits(value: &toml::Value, schema: &Value, path: &str, out: &mut Vec<String>) {
        if let Some(allowed) = schema.get("enum").and_then(Value::as_array) {
            let v = value.as_str().map(|s| json!(s));
            if !v.is_some_and(|v| allowed.contains(&v)) {
                out.push(format!("{path}: {value} not in enum"));
            }
        }
        match value {
            toml::Value::Table(t) => {
                let props = &schema["properties"];
                for (k, v) in t {
                    match props.get(k) {
                        Some(s) => misfits(v, s, &format!("{path}.{k}"), out),
                        None => out.push(format!("{path}.{k}: not in the schema")),
                    }
                }
                for r in schema["required"].as_array().into_iter().flatten() {
                    if !t.contains_key(r.as_str().unwrap()) {
                        out.push(format!("{path}: missing {r}"));
                    }
                }
            }
            toml::Value::Array(items) => {
                for (i, v) in items.iter().enumerate() {
                    misfits(v, &schema["items"], &format!("{path}[{i}]"), out);
                }
            }
            _ => {}
        }
    }

    fn document(text: &str) -> toml::Value {
        toml::Value::Table(toml::from_str(text).unwrap())
    }

    #[test]
    fn the_shipped_fleet_fits_the_schema_and_mistakes_do_not() {
        let text =
            std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../../printers.toml"))
                .unwrap();
        let schema = json_schema();
        let mut out = Vec::new();
        misfits(&document(&text), &schema, "", &mut out);
        assert_eq!(out, Vec::<String>::new());

        let broken = text.replacen("dpis = [", "dpiz = [", 1).replacen(
            "\"blackAndWhite\"]",
            "\"blackandwhite\"]",
            1,
        );
        misfits(&document(&broken), &schema, "", &mut out);
        assert_eq!(out.len(), 3, "{out:#?}"); // dpiz unknown, dpis missing, bad colour mode
        assert!(
            !names::<PrintFinishing>()
                .as_array()
                .unwrap()
                .contains(&json!("unknownFutureValue"))
        );
    }

    #[test]
    fn the_checked_in_schema_is_current() {
        let file = std::fs::read_to_string(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../printers.schema.json"
        ))
        .unwrap();
        let on_disk: Value = serde_json::from_str(&file).unwrap();
        assert!(
            on_disk == json_schema(),
            "printers.schema.json is stale: run `printlab validate --schema > printers.schema.json`"
        );
    }
}
