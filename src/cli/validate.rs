//! `printlab validate [FILE…]`: checks `printers.toml` files with the rules the cloud enforces
//! and names every mistake as `file:line:column: message`.

use super::output::outln;
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
        .filter_map(|file| check(file).err().map(|e| format!("{e:#}")))
        .collect();
    match failed.as_slice() {
        [] => Ok(()),
        [one] => bail!("{one}"),
        many => bail!("{}", many.join("\n")),
    }
}

/// Prints a one-line summary per printer when the file is valid; otherwise every mistake, and
/// fails.
fn check(file: &Path) -> anyhow::Result<()> {
    match config::load(file) {
        Ok(fleet) => {
            for p in &fleet.printers {
                let caps = &p.capabilities;
                outln!(
                    "ok  {:<28} {} formats, {} media sizes, {} dpi, {}",
                    p.name,
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
                );
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
