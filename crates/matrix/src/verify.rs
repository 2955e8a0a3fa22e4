//! Verifying what a printer put out against what the case asked for.

use crate::Finding;
use crate::document::TestDocument;
use printlab_graph::{MediaSize, PrintJobConfiguration};
use serde::Deserialize;
use std::path::{Path, PathBuf};
use thiserror::Error;

#[derive(Debug, Error)]
pub enum VerifyError {
    #[error("reading {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{path} is not a render manifest: {source}")]
    Manifest {
        path: PathBuf,
        source: serde_json::Error,
    },
}

/// The part of the renderer's `manifest.json` the verifier reads.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Manifest {
    sides: Vec<Side>,
}

#[derive(Deserialize)]
struct Side {
    width: u32,
    height: u32,
}

/// Checks the output folder of a finished job against `effective`: the case's configuration
/// with every omitted setting filled from the printer's defaults. No findings means it passed.
pub fn verify_output(
    effective: &PrintJobConfiguration,
    _document: &TestDocument,
    output_dir: &Path,
) -> Result<Vec<Finding>, VerifyError> {
    let path = output_dir.join("manifest.json");
    let text = std::fs::read(&path).map_err(|source| VerifyError::Read {
        path: path.clone(),
        source,
    })?;
    let manifest: Manifest =
        serde_json::from_slice(&text).map_err(|source| VerifyError::Manifest { path, source })?;
    let mut findings = Vec::new();
    if manifest.sides.is_empty() {
        findings.push(Finding {
            check: "sides".into(),
            expected: "at least one printed side".into(),
            observed: "none".into(),
        });
    }
    let media = effective
        .media_size
        .as_deref()
        .and_then(MediaSize::by_graph_name);
    if let (Some(media), Some(dpi)) = (media, effective.dpi) {
        let px = |hmm: u32| ((hmm as f64) * dpi as f64 / 2540.0).round() as u32;
        let expected = (px(media.width), px(media.height));
        for side in &manifest.sides {
            let observed = (side.width, side.height);
            if observed != expected && observed != (expected.1, expected.0) {
                findings.push(Finding {
                    check: "pixelSize".into(),
                    expected: format!(
                        "{}x{} ({} at {dpi} dpi)",
                        expected.0, expected.1, media.graph_name
                    ),
                    observed: format!("{}x{}", observed.0, observed.1),
                });
            }
        }
    }
    Ok(findings)
}
