//! `printlab printers import SOURCE`: a real printer's Get-Printer-Attributes response (asked
//! live, or saved as IPP bytes or ipptool's plist) → a `printers.toml` entry, and a report of
//! what Graph (so Universal Print) cannot express for that model.

use super::output::{errln, outln};
use anyhow::{Context, bail};
use clap::Args;
use printlab_device::config;
use printlab_ipp::http::{Credentials, post_ipp};
use printlab_ipp::{Attribute, Limits, Message, Operation, Value};
use printlab_mapping::{PrinterModel, Unmapped, printer_model_from_ipp};
use serde::Serialize;
use std::path::PathBuf;

#[derive(Args)]
#[command(after_help = "\
SOURCE is one of:
  ipp://HOST[:PORT]/PATH, ipps://…, http://… a live printer: Get-Printer-Attributes with
                                            requested-attributes = all, media-col-database
  FILE with a saved response body           the raw application/ipp bytes
  FILE with ipptool's plist                 ipptool -P FILE ipp://… get-printer-attributes.test

The entry goes to standard output, or is appended to --out FILE (which must still pass
`printlab validate`; a name already in the file is refused). The mapping report goes to
standard error: what Graph printerCapabilities carry, what Universal Print would drop for this
model, and what this printlab's printers.toml cannot hold yet.")]
pub struct ImportArgs {
    /// A printer URI, or a file holding a saved response (IPP bytes or ipptool plist).
    source: String,
    /// Append the entry to this fleet file instead of printing it.
    #[arg(long, value_name = "FILE")]
    out: Option<PathBuf>,
    /// The printer's name in printers.toml (default: its printer-name).
    #[arg(long)]
    name: Option<String>,
    /// Print the mapping report, with the entry's text, as JSON on standard output.
    #[arg(long)]
    json: bool,
}

/// The report in `--json` output; fields are only ever added.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct ReportJson<'a> {
    name: &'a str,
    /// The entry's TOML text (also when it was appended to --out).
    entry: &'a str,
    /// Graph `printerCapabilities` and `printerDefaults` as the cloud will show them.
    capabilities: &'a printlab_graph::PrinterCapabilities,
    defaults: &'a printlab_graph::PrinterDefaults,
    /// Values Graph cannot express: `{attribute, value, reason}`.
    not_in_graph: Vec<UnmappedJson<'a>>,
}

#[derive(Serialize)]
struct UnmappedJson<'a> {
    attribute: &'a str,
    value: &'a str,
    reason: &'a str,
}

/// ipp:// and ipps:// as the HTTP URL they are reached at (RFC 8010 §5: port 631 by default).
fn http_url(uri: &str) -> Option<String> {
    let (scheme, rest) = uri.split_once("://")?;
    let http = match scheme.to_ascii_lowercase().as_str() {
        "ipp" => "http",
        "ipps" => "https",
        "http" | "https" => return Some(uri.to_owned()),
        _ => return None,
    };
    let (authority, path) = rest.split_at(rest.find('/').unwrap_or(rest.len()));
    let has_port = authority.rsplit_once(':').is_some_and(|(_, port)| {
        port.bytes().all(|b| b.is_ascii_digit()) && !authority.ends_with(']')
    });
    let port = if has_port { "" } else { ":631" };
    Some(format!("{http}://{authority}{port}{path}"))
}

fn live_attributes(uri: &str, url: &str) -> anyhow::Result<Vec<Attribute>> {
    let mut request = Message::request(Operation::GET_PRINTER_ATTRIBUTES, 1);
    let operation = &mut request.groups[0];
    operation.push(Attribute::new("printer-uri", Value::uri(uri)));
    operation.push(Attribute::new(
        "requesting-user-name",
        Value::name("printlab"),
    ));
    operation.push(Attribute::set(
        "requested-attributes",
        [Value::keyword("all"), Value::keyword("media-col-database")],
    ));
    let http = reqwest::Client::builder()
        .timeout(std::time::Duration::from_secs(30))
        .build()
        .context("building the HTTP client")?;
    let response = super::connect::runtime()?
        .block_on(post_ipp(
            &http,
            url,
            &Credentials::None,
            &request,
            None,
            &Limits::default(),
        ))
        .with_context(|| format!("asking {uri} for its attributes"))?;
    printlab_ipp::printer_attributes_of_response(&response.message)
        .with_context(|| format!("Get-Printer-Attributes on {uri}"))
}

fn saved_attributes(path: &str) -> anyhow::Result<Vec<Attribute>> {
    let bytes = std::fs::read(path).with_context(|| {
        format!("{path} is neither a printer URI (ipp://, ipps://, http://) nor a readable file")
    })?;
    printlab_ipp::printer_attributes_from_saved(&bytes).with_context(|| format!("reading {path}"))
}

pub fn run(args: ImportArgs) -> anyhow::Result<()> {
    let attrs = match http_url(&args.source) {
        Some(url) => live_attributes(&args.source, &url)?,
        None => saved_attributes(&args.source)?,
    };
    let mapped = printer_model_from_ipp(&attrs);
    let model = &mapped.value;
    let Some(name) = args.name.clone().or_else(|| model.name.clone()) else {
        bail!("the printer sends no printer-name: give the entry one with --name NAME");
    };
    let entry = config::printer_entry(model, &name);
    if let Some(out) = &args.out {
        append(out, &name, &entry)?;
    }
    if args.json {
        let report = ReportJson {
            name: &name,
            entry: &entry,
            capabilities: &model.capabilities,
            defaults: &model.defaults,
            not_in_graph: mapped
                .unmapped
                .iter()
                .map(|u| UnmappedJson {
                    attribute: &u.attribute,
                    value: &u.value,
                    reason: u.reason,
                })
                .collect(),
        };
        outln!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        if args.out.is_none() {
            outln!("{}", entry.trim_end());
        }
        errln!("{}", text_report(model, &mapped.unmapped).trim_end());
    }
    Ok(())
}

/// Appends the entry to `out` (created if missing) only if the whole file still validates.
fn append(out: &std::path::Path, name: &str, entry: &str) -> anyhow::Result<()> {
    let shown = out.display().to_string();
    let existing = match std::fs::read_to_string(out) {
        Ok(text) => text,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => String::new(),
        Err(e) => return Err(e).with_context(|| format!("reading {shown}")),
    };
    let combined = config::append_entry(&existing, &shown, name, entry)?;
    config::parse(&combined, &shown).with_context(|| {
        format!("{shown} would not validate with the imported entry, so it was left unchanged")
    })?;
    std::fs::write(out, combined).with_context(|| format!("writing {shown}"))?;
    Ok(())
}

fn text_report(model: &PrinterModel, unmapped: &[Unmapped]) -> String {
    let mut out = String::from("Graph printerCapabilities (what Universal Print shows):\n");
    if let Ok(serde_json::Value::Object(caps)) = serde_json::to_value(&model.capabilities) {
        let listed =
            |v: &serde_json::Value| !v.is_null() && v.as_array().is_none_or(|a| !a.is_empty());
        for (property, value) in caps.iter().filter(|(_, v)| listed(v)) {
            let shown = match value {
                serde_json::Value::Array(items) => items
                    .iter()
                    .map(|i| i.as_str().map_or_else(|| i.to_string(), str::to_owned))
                    .collect::<Vec<_>>()
                    .join(", "),
                other => other.to_string(),
            };
            out.push_str(&format!("  {property}: {shown}\n"));
        }
    }
    if unmapped.is_empty() {
        out.push_str("Graph can express every value this printer lists.\n");
    } else {
        out.push_str("Not expressible in Graph (Universal Print drops these):\n");
        for u in unmapped {
            out.push_str(&format!("  {} {}: {}\n", u.attribute, u.value, u.reason));
        }
    }
    if let Some(geo) = &model.geo_location {
        out.push_str(&format!(
            "Not written: printer-geo-location {geo} (printers.toml has no coordinates)\n"
        ));
    }
    out
}
