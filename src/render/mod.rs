//! The print engine: what would this printer put on paper?
//!
//! A document (PDF, JPEG, PNG, PWG raster, Apple raster) plus the job's effective
//! `PrintJobConfiguration` and the printer's [`DeviceProfile`] become one PNG per printed side,
//! named in the order the sheets leave the printer, and a `manifest.json` describing them.
//! The steps run in the order printers apply them: page ranges, n-up, orientation, scaling into
//! the printable area, sides, copies/collation, raster at the job's resolution, colour.
//!
//! The call is synchronous and CPU-bound (the device runs it in `spawn_blocking`); it renders
//! sides on one worker per core, each holding one side's pixels at a time.

mod engine;
mod layout;
pub mod samples;
mod settings;
mod source;
mod stroke_font;
pub mod testpage;
#[cfg(test)]
mod tests;

pub use engine::{Manifest, SheetProgress, SideRecord, Timings};
pub use layout::QuarterTurns;
pub use settings::{AppliedSettings, DeviceProfile, Duplex, EdgeMicrons, EdgePoints, Scaling};
pub use source::{JPEG, PDF, PNG, PWG_RASTER, SUPPORTED_TYPES, URF, sniff};

use crate::model::PrintJobConfiguration;
use std::path::{Path, PathBuf};
use tokio_util::sync::CancellationToken;

/// Why a job could not be rendered. The device maps each kind to its IPP job-state-reason
/// with [`RenderError::job_state_reason`].
#[derive(Debug, thiserror::Error)]
pub enum RenderError {
    #[error("document format `{0}` is not supported by this printer")]
    UnsupportedFormat(String),
    #[error("the {format} document cannot be printed: {reason}")]
    Unprintable {
        format: &'static str,
        reason: String,
    },
    #[error("job option {option} = {value} cannot be applied: {reason}")]
    InvalidOption {
        option: &'static str,
        value: String,
        reason: String,
    },
    #[error("the job was cancelled")]
    Cancelled,
    #[error("writing {path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
}

impl RenderError {
    /// The IPP `job-state-reasons` keyword a printer reports for this failure.
    pub fn job_state_reason(&self) -> &'static str {
        match self {
            RenderError::UnsupportedFormat(_) => "document-format-error",
            RenderError::Unprintable { .. } => "document-unprintable-error",
            RenderError::InvalidOption { .. } => "aborted-by-system",
            RenderError::Cancelled => "job-canceled-by-user",
            RenderError::Io { .. } => "aborted-by-system",
        }
    }
}

/// One job for the engine.
pub struct JobRequest<'a> {
    /// The whole document, already spooled.
    pub document: &'a [u8],
    /// Its MIME type as the client declared it (`application/octet-stream`: detect).
    pub content_type: &'a str,
    /// Effective configuration (printer defaults applied); `None`s get the printer's choice.
    pub config: &'a PrintJobConfiguration,
    pub profile: &'a DeviceProfile,
    /// Where the PNGs and `manifest.json` go; created if missing.
    pub out_dir: &'a Path,
    /// Checked before every side; a cancelled job stops with [`RenderError::Cancelled`].
    pub cancel: &'a CancellationToken,
    /// Called once per sheet, in output order, as each sheet is finished.
    pub on_sheet: &'a (dyn Fn(SheetProgress) + Sync),
}

/// Renders a job as the printer in `profile` would print it.
pub fn render_job(request: &JobRequest<'_>) -> Result<Manifest, RenderError> {
    engine::render_job(request)
}

/// Renders each page at its own size and `dpi`, with no imposition, as `page-N.png` (N the
/// 1-based page number): for comparing with other rasterizers. `page_ranges` are 1-based and
/// inclusive; empty means every page.
pub fn render_native(
    document: &[u8],
    content_type: &str,
    dpi: u32,
    page_ranges: &[(u32, u32)],
    out_dir: &Path,
    cancel: &CancellationToken,
) -> Result<Manifest, RenderError> {
    engine::render_native(document, content_type, dpi, page_ranges, out_dir, cancel)
}
