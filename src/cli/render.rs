//! `printlab render`: run the print engine offline on a file.

use super::job_options::JobOptions;
use super::output::{errln, outln};
use anyhow::Context;
use printlab_render::{self as render, DeviceProfile, JobRequest};
use std::path::{Path, PathBuf};
use tokio_util::sync::CancellationToken;

#[derive(clap::Args)]
pub struct RenderArgs {
    /// The document: PDF, JPEG, PNG, PWG raster, Apple raster or OpenXPS / XPS (converted to
    /// PDF first, as the cloud does for a printer that only takes PDF).
    pub file: PathBuf,
    /// Output directory for the PNGs and manifest.json.
    #[arg(short, long)]
    pub output: PathBuf,
    /// Each page at its own size and --dpi (default 150), no imposition: page-N.png for page N.
    /// Of the job options only --dpi and --pages apply.
    #[arg(long)]
    pub native: bool,
    /// MIME type of the file; detected from its bytes when absent.
    #[arg(long, value_name = "MIME")]
    pub content_type: Option<String>,
    #[command(flatten)]
    pub job: JobOptions,
}

pub fn run(args: RenderArgs) -> anyhow::Result<()> {
    let bytes =
        std::fs::read(&args.file).with_context(|| format!("reading {}", args.file.display()))?;
    let content_type = args
        .content_type
        .as_deref()
        .unwrap_or("application/octet-stream");
    let is_xps = match args.content_type.as_deref() {
        Some(declared) => super::xps::is_xps_type(declared),
        None => {
            render::sniff(&bytes).is_none()
                && super::xps::looks_like_zip(&bytes)
                && super::xps::detect(std::io::Cursor::new(&bytes)).is_some()
        }
    };
    let (bytes, content_type) = if is_xps {
        let pdf = printlab_convert::xps_to_pdf(&bytes, &printlab_convert::Limits::default())
            .with_context(|| format!("converting {} to PDF", args.file.display()))?;
        errln!("converted XPS to PDF: {} page(s)", pdf.pages);
        (pdf.bytes, render::PDF)
    } else {
        (bytes, content_type)
    };
    let cancel = CancellationToken::new();
    let manifest = if args.native {
        let dpi = args.job.dpi.unwrap_or(150);
        let dpi = u32::try_from(dpi).expect("clap keeps --dpi positive");
        let ranges: Vec<(u32, u32)> = match &args.job.pages {
            Some(pages) => pages
                .0
                .iter()
                .map(|r| (r.start as u32, r.end as u32))
                .collect(),
            None => Vec::new(),
        };
        render::render_native(&bytes, content_type, dpi, &ranges, &args.output, &cancel)
    } else {
        let mut profile = DeviceProfile::default();
        profile
            .content_types
            .push("application/octet-stream".into());
        let ticket = printlab_mapping::ticket_from_graph(&args.job.to_configuration())?;
        render::render_job(&JobRequest {
            document: &bytes,
            content_type,
            ticket: &ticket,
            profile: &profile,
            out_dir: &args.output,
            cancel: &cancel,
            on_sheet: &|_| {},
        })
    }
    .with_context(|| format!("rendering {}", args.file.display()))?;
    outln!(
        "{} side(s) on {} sheet(s) in {}: {:.0} ms",
        manifest.sides.len(),
        manifest.media_sheets,
        Path::new(&args.output).display(),
        manifest.timings.wall_ms
    );
    Ok(())
}
