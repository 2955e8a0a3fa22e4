//! The front panel's sample page: the printer prints a page of its own, as a real printer's
//! "print test page" button does, through the same engine, faults, trays and output as any job.
//! It is one of the printer's local jobs ([`JobOrigin::LocalIpp`]): the service never hears of
//! it, and it shows in the spool and on the dashboard like a job sent to the printer over IPP.

use super::printer_handle::PrinterHandle;
use crate::config::PrinterConfig;
use crate::spool::{JobOrigin, JobRecord, NewJob, Spool, SpoolError};
use printlab_graph::{MediaSize, PrintJobConfiguration};
use printlab_render::{samples, testpage};
use tracing::info;

/// Resolution of a sample page made as an image, for printers that take no PDF.
const IMAGE_DPI: u32 = 150;

#[derive(Debug, thiserror::Error)]
pub enum SamplePageError {
    #[error(
        "printer {printer} prints none of the formats a sample page is made in \
         (application/pdf, image/urf, image/jpeg, image/png)"
    )]
    NoFormat { printer: String },
    #[error("making the sample page of {printer}: {reason}")]
    Make { printer: String, reason: String },
    #[error(transparent)]
    Spool(#[from] SpoolError),
}

/// Queues a sample page on the printer, at its default media size, and rings its task.
pub fn print_sample_page(
    printer: &PrinterHandle,
    spool: &Spool,
) -> Result<JobRecord, SamplePageError> {
    let config = &printer.config;
    let (format, document) = sample_document(config)?;
    let name = &config.name;
    let new = NewJob {
        origin: JobOrigin::LocalIpp,
        name: Some("Sample page".into()),
        user: Some("front panel".into()),
        configuration: PrintJobConfiguration::default(),
    };
    let job = spool.next_local_job_id()?;
    let record = spool.create_job(name, job, new)?;
    spool.begin_document(name, job, 1, format, None, None)?;
    spool.append_chunk(name, job, 0, &document)?;
    spool.complete_document(name, job)?;
    spool.flush()?;
    printer.wake.notify_one();
    info!(printer = %name, job, format, "sample page queued");
    Ok(spool.job(name, job)?.unwrap_or(record))
}

/// The page in the first format the printer prints: the test page as a PDF where it can,
/// else a picture of the media size.
fn sample_document(config: &PrinterConfig) -> Result<(&'static str, Vec<u8>), SamplePageError> {
    let prints = |format: &str| {
        (config.capabilities.content_types.iter().flatten()).any(|have| have == format)
    };
    let media = MediaSize::by_graph_name(&config.default_media_size())
        .or_else(|| MediaSize::by_graph_name("A4"))
        .expect("A4 is in the media table");
    let (width, height) = media.points();
    let pixels = |points: f64| (points / 72.0 * IMAGE_DPI as f64).round() as u32;
    let (width_px, height_px) = (pixels(width), pixels(height));
    let made = |reason: String| SamplePageError::Make {
        printer: config.name.clone(),
        reason,
    };
    if prints("application/pdf") {
        let pdf = testpage::generate(&[(width, height)]).map_err(|e| made(e.to_string()))?;
        Ok(("application/pdf", pdf))
    } else if prints("image/urf") {
        Ok((
            "image/urf",
            samples::urf_gray(1, width_px, height_px, IMAGE_DPI),
        ))
    } else if prints("image/jpeg") {
        let jpeg = samples::photo_jpeg(width_px, height_px, IMAGE_DPI as u16)
            .map_err(|e| made(e.to_string()))?;
        Ok(("image/jpeg", jpeg))
    } else if prints("image/png") {
        let png =
            samples::label_png(width_px, height_px, IMAGE_DPI).map_err(|e| made(e.to_string()))?;
        Ok(("image/png", png))
    } else {
        Err(SamplePageError::NoFormat {
            printer: config.name.clone(),
        })
    }
}
