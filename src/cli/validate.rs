//! `printlab validate [FILE…]`: checks `printers.toml` files with the rules the cloud enforces
//! and names every mistake as `file:line:column: message`.

use super::output::{error_line, outln};
use anyhow::bail;
use printlab_device::config::{self, ConfigError};
use std::path::{Path, PathBuf};

/// Checks every file, each on its own, so one file's mistakes do not hide another's; fails when
/// any file has one. With `schema`, prints the JSON Schema instead.
pub fn run(files: &[PathBuf], schema: bool) -> anyhow::Result<()> {
    if schema {
        let schema = printlab_device::schema::json_schema();
        outln!("{}", serde_json::to_string_pretty(&schema)?);
        return Ok(());
    }
    let failed: Vec<String> = files
        .iter()
        .filter_map(|file| check(file).err().map(|e| error_line(&e)))
        .collect();
    match failed.as_slice() {
        [] => Ok(()),
        [one] => bail!("{one}"),
        many => bail!("{}", many.join("\n")),
    }
}

/// What `validate` says of a printer: formats, sizes, resolutions, colour.
fn summary(p: &config::PrinterConfig) -> String {
    let caps = &p.capabilities;
    format!(
        "{} formats, {} media sizes, {} dpi, {}",
        caps.content_types.as_ref().map_or(0, Vec::len),
        caps.media_sizes.as_ref().map_or(0, Vec::len),
        caps.dpis
            .iter()
            .flatten()
            .map(i32::to_string)
            .collect::<Vec<_>>()
            .join("/"),
        if p.hardware.color {
            "colour"
        } else {
            "monochrome"
        },
    )
}

/// Printers in file order with their summaries, where a run of numbered printers alike (an
/// entry's `count`: `Load 001` … `Load 500`) is one line, not hundreds:
/// (first name, last name, how many, summary).
fn summary_runs(printers: &[config::PrinterConfig]) -> Vec<(&str, &str, usize, String)> {
    /// The name without its number, when it ends in one after a space.
    fn stem(name: &str) -> Option<&str> {
        let (stem, number) = name.rsplit_once(' ')?;
        (!number.is_empty() && number.bytes().all(|b| b.is_ascii_digit())).then_some(stem)
    }
    let mut runs: Vec<(&str, &str, usize, String)> = Vec::new();
    for p in printers {
        let said = summary(p);
        if let Some(run) = runs.last_mut()
            && run.3 == said
            && stem(run.0).is_some()
            && stem(run.0) == stem(&p.name)
        {
            run.1 = &p.name;
            run.2 += 1;
            continue;
        }
        runs.push((&p.name, &p.name, 1, said));
    }
    runs
}

/// Prints a one-line summary per printer (one per run of numbered printers alike) when the file is valid; otherwise every mistake, and
/// fails.
fn check(file: &Path) -> anyhow::Result<()> {
    match config::load(file) {
        Ok(fleet) => {
            for (first, last, count, summary) in summary_runs(&fleet.printers) {
                let name = if count == 1 {
                    first.to_string()
                } else {
                    format!("{first} … {last} ({count} printers)")
                };
                outln!("ok  {name:<28} {summary}");
            }
            outln!(
                "{}: {} printer(s), no mistakes",
                file.display(),
                fleet.printers.len()
            );
            Ok(())
        }
        Err(ConfigError::Invalid { file, problems }) => {
            for p in &problems {
                outln!("{file}:{}:{}: {}", p.line, p.column, p.message);
            }
            bail!("{file}: {} mistake(s)", problems.len())
        }
        Err(e) => Err(e.into()),
    }
}
