//! The print engine: what would this printer put on paper?
//!
//! A document (PDF, JPEG, PNG, PWG raster, Apple raster) plus the job's effective
//! ticket (`printlab_ticket`) and the printer's [`DeviceProfile`] become one PNG per printed side,
//! named in the order the sheets leave the printer, and a `manifest.json` describing them.
//! The steps run in the order printers apply them: page ranges, n-up, orientation, scaling into
//! the printable area, sides, copies/collation, raster at the job's resolution, colour.
//!
//! The call is synchronous and CPU-bound (the device runs it in `spawn_blocking`); it renders
//! sides on one worker per core, each holding one side's pixels at a time.

mod dispatch;
#[cfg(test)]
mod hostile_tests;
mod layout;
mod output_limits;
mod png_writer;
mod rasteriser;
mod row_deflate;
pub mod samples;
mod settings;
mod side_bands;
mod source;
mod spare_pixels;
mod stroke_font;
pub mod testpage;
#[cfg(test)]
mod tests;
mod workers;

pub use dispatch::{Manifest, SheetProgress, SideRecord, Timings};
pub use output_limits::{LimitExceeded, OutputLimit, OutputLimits};
pub use printlab_ticket as ticket;
pub use settings::{
    AppliedSettings, ColorOutput, DeviceProfile, EdgeMicrons, EdgePoints, QuarterTurns, Scaling,
};
pub use source::{JPEG, PDF, PNG, PWG_RASTER, SUPPORTED_TYPES, URF, sniff};

use printlab_ticket::Ticket;
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

pub(crate) fn io_error(path: &Path, source: std::io::Error) -> RenderError {
    RenderError::Io {
        path: path.to_path_buf(),
        source,
    }
}

/// One job for the engine.
pub struct JobRequest<'a> {
    /// The whole document, already spooled.
    pub document: &'a [u8],
    /// Its MIME type as the client declared it (`application/octet-stream`: detect).
    pub content_type: &'a str,
    /// What to print (printer defaults applied); `None`s get the printer's choice.
    pub ticket: &'a Ticket,
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
    dispatch::render_job(request, &workers::LIMITS)
}

/// Whether this engine can print a sheet of `media` at `dpi`, as `render_job` decides before
/// drawing: sheets larger than a worker holds whole are drawn in bands, so only absurd sizes
/// (past 65,535 pixels per edge or 600 M pixels) are refused. For `printlab validate`, so a
/// printer never advertises a media × resolution it cannot print.
pub fn sheet_renderable(media: &printlab_ticket::Media, dpi: u32) -> bool {
    let (width, height) = settings::sheet_pixels(media, dpi);
    dispatch::side_size_problem(width, height, &workers::LIMITS).is_none()
}

/// What a job would put on paper, without drawing it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct JobCount {
    pub media_sheets: usize,
    /// Printed sides (blank backs of odd page counts excluded).
    pub impressions: usize,
    /// Set when the job stops at one of the printer's page or sheet limits; the counts above
    /// are of the sheets before it.
    pub stopped_at_limit: Option<LimitExceeded>,
}

/// Opens the document and lays the job out exactly as [`render_job`] does, but draws nothing:
/// the same errors for documents and options it cannot print, at a fraction of the cost. For
/// devices run with rendering off (throughput runs).
pub fn count_job(request: &JobRequest<'_>) -> Result<JobCount, RenderError> {
    let (document, format) = source::open(
        request.document,
        request.content_type,
        &request.profile.content_types,
    )?;
    let applied = settings::resolve(request.ticket, request.profile, format == PDF)?;
    let page_sizes = document.page_sizes();
    let selected = layout::select_pages(&applied.page_ranges, page_sizes.len());
    if selected.is_empty() {
        return Err(RenderError::InvalidOption {
            option: "pageRanges",
            value: format!("{:?}", applied.page_ranges),
            reason: format!("selects none of the document's {} pages", page_sizes.len()),
        });
    }
    let mut job = layout::lay_out(&applied, &page_sizes, &selected);
    let duplex = job.sides.iter().any(|s| s.back);
    let stopped_at_limit = output_limits::cut_layout(&mut job, request.profile.output_limits);
    let scale = hayro::kurbo::Affine::scale(applied.dpi as f64 / 72.0);
    dispatch::check_path_memory(
        &document,
        format,
        applied.dpi,
        job.printed.iter().flat_map(|printed| {
            job.sides[printed.layout_index]
                .placements
                .iter()
                .map(|p| (p.source_page, scale * p.page_to_sheet))
        }),
        &workers::LIMITS,
    )?;
    Ok(JobCount {
        stopped_at_limit,
        media_sheets: job.printed.len() / if duplex { 2 } else { 1 },
        impressions: job
            .printed
            .iter()
            .filter(|p| !job.sides[p.layout_index].placements.is_empty())
            .count(),
    })
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
    dispatch::render_native(
        document,
        content_type,
        dpi,
        page_ranges,
        out_dir,
        cancel,
        &workers::LIMITS,
    )
}
