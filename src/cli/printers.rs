//! `printlab printers` and `printlab printer NAME`: the printers a user can print to (their
//! shares), and one printer's capabilities and defaults as a table. `printlab printers import`
//! is in `printers_import.rs`.

use super::connect::{ConnectArgs, resolve};
use super::output::outln;
use super::output::print_table;
use anyhow::Context;
use clap::{Args, Subcommand};
use printlab_client::SharedPrinter;
use printlab_graph::{PrinterCapabilities, PrinterDefaults};
use serde::Serialize;
use std::fmt::Display;

#[derive(Args)]
#[command(args_conflicts_with_subcommands = true)]
pub struct PrintersArgs {
    #[command(subcommand)]
    action: Option<PrintersAction>,
    /// Print JSON (an array of printers; fields in README.md).
    #[arg(long)]
    json: bool,
    #[command(flatten)]
    connect: ConnectArgs,
}

#[derive(Subcommand)]
enum PrintersAction {
    /// Turn a real printer's IPP attributes (live, or a saved response) into a printers.toml
    /// entry, and report what Graph cannot express.
    Import(super::printers_import::ImportArgs),
}

#[derive(Args)]
pub struct PrinterArgs {
    /// The printer's name (as `printlab printers` shows it) …
    #[arg(required_unless_present = "share", conflicts_with = "share")]
    name: Option<String>,
    /// … or its share id.
    #[arg(long, value_name = "ID")]
    share: Option<String>,
    /// Print JSON (the printer with `capabilities` and `defaults` in Graph's own shape).
    #[arg(long)]
    json: bool,
    #[command(flatten)]
    connect: ConnectArgs,
}

/// One printer in `--json` output. The field set is a stable interface (README.md).
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct PrinterJson<'a> {
    name: &'a str,
    share_id: &'a str,
    state: String,
    details: Vec<String>,
    accepting_jobs: Option<bool>,
    manufacturer: Option<&'a str>,
    model: Option<&'a str>,
}

fn printer_json(share: &SharedPrinter) -> PrinterJson<'_> {
    PrinterJson {
        name: &share.display_name,
        share_id: &share.id,
        state: share
            .status
            .as_ref()
            .map_or_else(|| "unknown".to_string(), |s| s.state.to_string()),
        details: share
            .status
            .iter()
            .flat_map(|s| &s.details)
            .map(|d| d.as_str().to_string())
            .collect(),
        accepting_jobs: share.is_accepting_jobs,
        manufacturer: share.manufacturer.as_deref(),
        model: share.model.as_deref(),
    }
}

pub fn run_printers(args: PrintersArgs) -> anyhow::Result<()> {
    if let Some(PrintersAction::Import(import)) = args.action {
        return super::printers_import::run(import);
    }
    let client = args.connect.client()?;
    super::connect::runtime()?.block_on(async {
        let listed = client.shares().await.context("listing shared printers")?;
        // Graph lists shares with their basic properties only for non-administrators; each
        // share read on its own carries its status.
        let mut shares = futures::future::try_join_all(listed.iter().map(|s| client.share(&s.id)))
            .await
            .context("reading the shared printers")?;
        shares.sort_by(|a, b| a.display_name.cmp(&b.display_name));
        let rows: Vec<PrinterJson> = shares.iter().map(printer_json).collect();
        if args.json {
            outln!("{}", serde_json::to_string_pretty(&rows)?);
            return Ok(());
        }
        if rows.is_empty() {
            outln!("no shared printers (is `printlab up` running?)");
            return Ok(());
        }
        let table: Vec<Vec<String>> = rows
            .iter()
            .map(|p| {
                vec![
                    p.name.to_string(),
                    p.state.clone(),
                    p.details.join(","),
                    match p.accepting_jobs {
                        Some(true) => "yes".into(),
                        Some(false) => "no".into(),
                        None => "?".into(),
                    },
                    [p.manufacturer, p.model]
                        .iter()
                        .flatten()
                        .copied()
                        .collect::<Vec<_>>()
                        .join(" "),
                    p.share_id.to_string(),
                ]
            })
            .collect();
        print_table(
            &[
                "PRINTER",
                "STATE",
                "DETAILS",
                "ACCEPTING",
                "MODEL",
                "SHARE ID",
            ],
            &table,
        );
        Ok(())
    })
}

pub fn run_printer(args: PrinterArgs) -> anyhow::Result<()> {
    let client = args.connect.client()?;
    super::connect::runtime()?.block_on(async {
        let target = resolve(&client, args.name.as_deref(), args.share.as_deref()).await?;
        let share = &target.share;
        if args.json {
            outln!("{}", serde_json::to_string_pretty(share)?);
            return Ok(());
        }
        outln!("{} ({})", share.display_name, share.id);
        let p = printer_json(share);
        outln!(
            "state: {}{}",
            p.state,
            if p.details.is_empty() {
                String::new()
            } else {
                format!(" ({})", p.details.join(", "))
            }
        );
        outln!();
        let caps = share.capabilities.clone().unwrap_or_default();
        let defaults = share.defaults.clone().unwrap_or_default();
        print_table(
            &["SETTING", "SUPPORTED", "DEFAULT"],
            &capability_rows(&caps, &defaults),
        );
        Ok(())
    })
}

fn list<T: Display>(values: &Option<Vec<T>>) -> String {
    values
        .as_ref()
        .map(|v| {
            v.iter()
                .map(|x| x.to_string())
                .collect::<Vec<_>>()
                .join(", ")
        })
        .unwrap_or_default()
}

fn one<T: Display>(value: &Option<T>) -> String {
    value.as_ref().map(|v| v.to_string()).unwrap_or_default()
}

fn flag(value: Option<bool>) -> String {
    match value {
        Some(true) => "yes".into(),
        Some(false) => "no".into(),
        None => String::new(),
    }
}

fn millimetres(values: &Option<Vec<i32>>) -> String {
    values
        .as_ref()
        .map(|v| {
            v.iter()
                .map(|m| format!("{} mm", *m as f64 / 1000.0))
                .collect::<Vec<_>>()
                .join(", ")
        })
        .unwrap_or_default()
}

/// One row per setting: the Graph property (as a person reads it), what the printer supports,
/// and what a job gets when it says nothing.
fn capability_rows(c: &PrinterCapabilities, d: &PrinterDefaults) -> Vec<Vec<String>> {
    let rows: Vec<(&str, String, String)> = vec![
        ("formats", list(&c.content_types), one(&d.content_type)),
        ("media sizes", list(&c.media_sizes), one(&d.media_size)),
        ("media types", list(&c.media_types), one(&d.media_type)),
        ("colour modes", list(&c.color_modes), one(&d.color_mode)),
        ("duplex", list(&c.duplex_modes), one(&d.duplex_mode)),
        ("dpi", list(&c.dpis), one(&d.dpi)),
        (
            "copies",
            c.copies_per_job
                .map(|r| format!("{}-{}", r.start, r.end))
                .unwrap_or_default(),
            one(&d.copies_per_job),
        ),
        (
            "pages per sheet",
            list(&c.pages_per_sheet),
            one(&d.pages_per_sheet),
        ),
        (
            "n-up layouts",
            list(&c.multipage_layouts),
            one(&d.multipage_layout),
        ),
        ("orientations", list(&c.orientations), one(&d.orientation)),
        ("qualities", list(&c.qualities), one(&d.quality)),
        ("scalings", list(&c.scalings), one(&d.scaling)),
        ("finishings", list(&c.finishings), list(&d.finishings)),
        ("input bins", list(&c.input_bins), one(&d.input_bin)),
        ("output bins", list(&c.output_bins), one(&d.output_bin)),
        ("collation", flag(c.collation), String::new()),
        (
            "page ranges",
            flag(c.is_page_range_supported),
            String::new(),
        ),
        (
            "fit PDF to page",
            flag(c.supports_fit_pdf_to_page),
            flag(d.fit_pdf_to_page),
        ),
        ("top margins", millimetres(&c.top_margins), String::new()),
        (
            "bottom margins",
            millimetres(&c.bottom_margins),
            String::new(),
        ),
        ("left margins", millimetres(&c.left_margins), String::new()),
        (
            "right margins",
            millimetres(&c.right_margins),
            String::new(),
        ),
    ];
    rows.into_iter()
        .filter(|(_, s, d)| !s.is_empty() || !d.is_empty())
        .map(|(k, s, d)| vec![k.to_string(), s, d])
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use printlab_graph::{IntegerRange, PrintColorMode};

    #[test]
    fn the_table_shows_supported_values_and_defaults_and_skips_unknowns() {
        let caps = PrinterCapabilities {
            color_modes: Some(vec![PrintColorMode::BlackAndWhite, PrintColorMode::Color]),
            copies_per_job: Some(IntegerRange { start: 1, end: 99 }),
            top_margins: Some(vec![4233]),
            ..Default::default()
        };
        let defaults = PrinterDefaults {
            color_mode: Some(PrintColorMode::BlackAndWhite),
            ..Default::default()
        };
        let rows = capability_rows(&caps, &defaults);
        assert_eq!(
            rows,
            vec![
                vec![
                    "colour modes".to_string(),
                    "blackAndWhite, color".into(),
                    "blackAndWhite".into()
                ],
                vec!["copies".to_string(), "1-99".into(), String::new()],
                vec!["top margins".to_string(), "4.233 mm".into(), String::new()],
            ]
        );
    }
}
