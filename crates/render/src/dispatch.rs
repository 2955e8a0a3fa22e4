//! One job from document to files: open and lay it out, hand its sides to the workers, name the
//! PNGs in output order and write the manifest.

use super::io_error;
use super::layout::{self, JobLayout, Placement};
use super::output_limits::{self, LimitExceeded, OutputBudget};
use super::rasteriser::{Cell, SideJob, SideOutput, WorkerOptions};
use super::settings::{self, AppliedSettings, ColorOutput};
use super::source::{self, Document};
use super::workers::{Limits, execute};
use super::{JobRequest, RenderError};
use hayro::kurbo::{Affine, Rect};
use serde::Serialize;
use std::ops::ControlFlow;
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio_util::sync::CancellationToken;

/// Reported after each finished sheet (both sides, for duplex).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SheetProgress {
    /// `job-media-sheets-completed`.
    pub sheets_completed: usize,
    /// `job-impressions-completed`: sides with marks on them.
    pub impressions_completed: usize,
    pub sheets_total: usize,
}

/// `manifest.json`.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Manifest {
    pub content_type: &'static str,
    pub document_pages: usize,
    /// What the engine applied; absent for `--native` renders.
    pub settings: Option<AppliedSettings>,
    pub sides: Vec<SideRecord>,
    pub media_sheets: usize,
    pub impressions: usize,
    /// Source page images printed, copies included.
    pub pages_printed: usize,
    /// Set when the job stopped at one of the printer's output limits: the sides above are
    /// the whole sheets printed before it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stopped_at_limit: Option<LimitExceeded>,
    pub timings: Timings,
}

/// One PNG: one printed side.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SideRecord {
    pub file: String,
    /// 1-based sheet number in output order (copies count on).
    pub sheet: usize,
    pub back: bool,
    /// 1-based.
    pub copy: u32,
    /// 1-based source pages on this side, in n-up order.
    pub source_pages: Vec<usize>,
    pub width: u32,
    pub height: u32,
    pub sha256: String,
}

/// Milliseconds. Render and encode are summed over workers (CPU time spent in each step).
#[derive(Debug, Clone, Default, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Timings {
    pub open_ms: f64,
    pub render_ms: f64,
    pub encode_ms: f64,
    pub wall_ms: f64,
}

/// Largest side the engine rasters (pixels per edge); vello_cpu's limit.
const MAX_EDGE: u32 = u16::MAX as u32;

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

fn pixel_clip(rect: Rect, scale: f64, width: u32, height: u32) -> (u32, u32, u32, u32) {
    let clamp = |v: f64, max: u32| (v.round().max(0.0) as u32).min(max);
    (
        clamp(rect.x0 * scale, width),
        clamp(rect.y0 * scale, height),
        clamp(rect.x1 * scale, width),
        clamp(rect.y1 * scale, height),
    )
}

/// Why a side of this size cannot be rastered, if it cannot: sides above
/// [`Limits::whole_side_pixels`] are drawn in bands, so only [`Limits::side_pixels`] and
/// vello_cpu's edge length refuse one.
pub(super) fn side_size_problem(width: u32, height: u32, limits: &Limits) -> Option<String> {
    if width == 0 || height == 0 || width > MAX_EDGE || height > MAX_EDGE {
        return Some(format!(
            "{width}x{height} px: sides must be 1..={MAX_EDGE} pixels per edge"
        ));
    }
    let pixels = width as u64 * height as u64;
    (pixels > limits.side_pixels).then(|| {
        format!(
            "{width}x{height} px is {pixels} pixels, more than the {} a side may have",
            limits.side_pixels
        )
    })
}

/// Rows per band of a side: as many as [`Limits::cache_band_pixels`] holds when every page on
/// it is light (cheap to draw again per band; raster pages always are) and the side is past
/// [`Limits::light_banded_side_pixels`]; else all of them when the side fits
/// [`Limits::whole_side_pixels`]; else as many as [`Limits::band_pixels`] holds; at least one.
pub(super) fn band_rows(width: u32, height: u32, light: bool, limits: &Limits) -> u32 {
    let pixels = width as u64 * height as u64;
    let budget = if light && pixels > limits.light_banded_side_pixels {
        limits.cache_band_pixels.min(limits.band_pixels)
    } else if pixels <= limits.whole_side_pixels {
        return height;
    } else {
        limits.band_pixels
    };
    (budget / width.max(1) as u64).clamp(1, height as u64) as u32
}

/// Whether these pages of the document are cheap to draw once per band.
pub(super) fn light_pages(
    document: &Document,
    pages: impl IntoIterator<Item = usize>,
    limits: &Limits,
) -> bool {
    match document {
        Document::Pdf { costs, .. } => pages
            .into_iter()
            .all(|page| costs[page].operators <= limits.light_page_operators),
        Document::Raster(_) => true,
    }
}

/// Refuses the first page whose paths would make the rasteriser hold more than
/// [`Limits::page_path_bytes`] where it is placed (`page_to_pixels`): vello_cpu keeps every
/// path's tiles until the page is composited, and hayro cannot be stopped inside a page.
pub(super) fn check_path_memory(
    document: &Document,
    format: &'static str,
    dpi: u32,
    placed: impl IntoIterator<Item = (usize, Affine)>,
    limits: &Limits,
) -> Result<(), RenderError> {
    let Document::Pdf { costs, .. } = document else {
        return Ok(());
    };
    for (page, page_to_pixels) in placed {
        let bytes = costs[page].paths.bytes_at(page_to_pixels);
        if bytes > limits.page_path_bytes {
            return Err(RenderError::Unprintable {
                format,
                reason: format!(
                    "page {}: its paths would make the rasteriser hold about {} MiB of tiles at \
                     {dpi} dpi, more than the {} MiB one page may take",
                    page + 1,
                    bytes >> 20,
                    limits.page_path_bytes >> 20
                ),
            });
        }
    }
    Ok(())
}

pub(super) fn render_job(
    request: &JobRequest<'_>,
    limits: &Limits,
) -> Result<Manifest, RenderError> {
    let started = Instant::now();
    let (document, format) = source::open(
        request.document,
        request.content_type,
        &request.profile.content_types,
    )?;
    let applied = settings::resolve(request.ticket, request.profile, format == source::PDF)?;
    let page_sizes = document.page_sizes();
    let selected = layout::select_pages(&applied.page_ranges, page_sizes.len());
    if selected.is_empty() {
        return Err(RenderError::InvalidOption {
            option: "pageRanges",
            value: format!("{:?}", applied.page_ranges),
            reason: format!("selects none of the document's {} pages", page_sizes.len()),
        });
    }
    let span = tracing::info_span!(
        "render",
        format,
        pages = page_sizes.len(),
        dpi = applied.dpi
    );
    let _enter = span.enter();
    let mut job = layout::lay_out(&applied, &page_sizes, &selected);
    let duplex = job.sides.iter().any(|s| s.back);
    // Pages and sheets are known from the layout: sides past the printer's limits are never
    // rendered. Bytes are known only as sides are written: counted below, in output order.
    let mut stopped = output_limits::cut_layout(&mut job, request.profile.output_limits);
    let (width, height) = settings::sheet_pixels(&applied.media, applied.dpi);
    if let Some(reason) = side_size_problem(width, height, limits) {
        return Err(RenderError::InvalidOption {
            option: "dpi",
            value: format!("{} on {}", applied.dpi, applied.media.pwg_name),
            reason,
        });
    }
    let open_time = started.elapsed();

    std::fs::create_dir_all(request.out_dir).map_err(|e| io_error(request.out_dir, e))?;
    let names = output_names(&job, duplex);
    let scale = applied.dpi as f64 / 72.0;
    let jobs: Vec<SideJob> = job
        .sides
        .iter()
        .enumerate()
        .map(|(index, side)| SideJob {
            width,
            height,
            band_rows: band_rows(
                width,
                height,
                light_pages(
                    &document,
                    side.placements.iter().map(|p| p.source_page),
                    limits,
                ),
                limits,
            ),
            cells: side
                .placements
                .iter()
                .map(|p: &Placement| Cell {
                    page: p.source_page,
                    page_to_pixels: Affine::scale(scale) * p.page_to_sheet,
                    clip: pixel_clip(p.clip, scale, width, height),
                })
                .collect(),
            turned_half: side.turned_half,
            files: names
                .iter()
                .zip(&job.printed)
                .filter(|(_, printed)| printed.layout_index == index)
                .map(|(name, _)| request.out_dir.join(name))
                .collect(),
        })
        .collect();
    check_path_memory(
        &document,
        format,
        applied.dpi,
        jobs.iter()
            .flat_map(|side| side.cells.iter().map(|c| (c.page, c.page_to_pixels))),
        limits,
    )?;

    let sides_per_sheet = if duplex { 2 } else { 1 };
    let mut done = vec![false; jobs.len()];
    let mut next_printed = 0;
    let mut progress = SheetProgress {
        sheets_completed: 0,
        impressions_completed: 0,
        sheets_total: job.printed.len() / sides_per_sheet,
    };
    let mut budget = OutputBudget::new(request.profile.output_limits);
    let mut counted = vec![false; job.sides.len()];
    let outputs = execute(
        Arc::new(document),
        Arc::new(jobs),
        WorkerOptions {
            color: applied.color,
            antialias: applied.antialias,
            dpi: applied.dpi,
            format,
        },
        limits,
        request.cancel,
        |finished| {
            done[finished] = true;
            while let Some(printed) = job.printed.get(next_printed) {
                if !done[printed.layout_index] {
                    break;
                }
                let side = &job.sides[printed.layout_index];
                let ends_sheet = side.back || !duplex;
                // A copy of a side already counted is a link to its file: no bytes of its own.
                let bytes = if std::mem::replace(&mut counted[printed.layout_index], true) {
                    0
                } else {
                    let path = request.out_dir.join(&names[next_printed]);
                    std::fs::metadata(&path).map_or(0, |m| m.len())
                };
                if let Err(limit) = budget.side(side.placements.len() as u64, bytes, ends_sheet) {
                    stopped = Some(limit);
                    return ControlFlow::Break(());
                }
                if !side.placements.is_empty() {
                    progress.impressions_completed += 1;
                }
                if ends_sheet {
                    progress.sheets_completed += 1;
                    (request.on_sheet)(progress);
                }
                next_printed += 1;
            }
            ControlFlow::Continue(())
        },
    )?;
    if stopped.is_some() {
        let kept = budget.accepted_sides().min(job.printed.len());
        for name in &names[kept..] {
            let path = request.out_dir.join(name);
            match std::fs::remove_file(&path) {
                Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
                    return Err(io_error(&path, e));
                }
                _ => {}
            }
        }
        job.printed.truncate(kept);
        tracing::warn!(limit = ?stopped, "the job stopped at this printer's output limit");
    }

    let mut timings = sum_timings(outputs.iter().flatten(), open_time);
    let sides: Vec<SideRecord> = job
        .printed
        .iter()
        .zip(&names)
        .enumerate()
        .map(|(i, (printed, name))| {
            let side = &job.sides[printed.layout_index];
            SideRecord {
                file: name.clone(),
                sheet: i / sides_per_sheet + 1,
                back: side.back,
                copy: printed.copy + 1,
                source_pages: side.placements.iter().map(|p| p.source_page + 1).collect(),
                width,
                height,
                sha256: outputs[printed.layout_index]
                    .as_ref()
                    .map(|o| o.sha256.clone())
                    .unwrap_or_default(),
            }
        })
        .collect();
    let manifest = Manifest {
        content_type: format,
        document_pages: page_sizes.len(),
        impressions: sides.iter().filter(|s| !s.source_pages.is_empty()).count(),
        pages_printed: sides.iter().map(|s| s.source_pages.len()).sum(),
        media_sheets: sides.len() / sides_per_sheet,
        settings: Some(applied),
        sides,
        stopped_at_limit: stopped,
        timings: Timings::default(),
    };
    timings.wall_ms = ms(started.elapsed());
    write_manifest(
        request.out_dir,
        Manifest {
            timings,
            ..manifest
        },
    )
}

/// File names in output order: sequence number, sheet and face, so that `ls` lists them as the
/// printer emits them.
fn output_names(job: &JobLayout, duplex: bool) -> Vec<String> {
    job.printed
        .iter()
        .enumerate()
        .map(|(i, printed)| {
            let sheet = if duplex { i / 2 + 1 } else { i + 1 };
            let face = if job.sides[printed.layout_index].back {
                "back"
            } else {
                "front"
            };
            format!("{:04}-sheet{sheet:04}-{face}.png", i + 1)
        })
        .collect()
}

pub(super) fn render_native(
    bytes: &[u8],
    content_type: &str,
    dpi: u32,
    page_ranges: &[(u32, u32)],
    out_dir: &Path,
    cancel: &CancellationToken,
    limits: &Limits,
) -> Result<Manifest, RenderError> {
    let started = Instant::now();
    if !(1..=2400).contains(&dpi) {
        return Err(RenderError::InvalidOption {
            option: "dpi",
            value: dpi.to_string(),
            reason: "outside 1..=2400".into(),
        });
    }
    let accepted: Vec<String> = source::SUPPORTED_TYPES
        .iter()
        .chain(&["application/octet-stream"])
        .map(|t| t.to_string())
        .collect();
    let (document, format) = source::open(bytes, content_type, &accepted)?;
    let scale = dpi as f64 / 72.0;
    std::fs::create_dir_all(out_dir).map_err(|e| io_error(out_dir, e))?;
    let page_sizes = document.page_sizes();
    let mut jobs = Vec::new();
    for page in layout::select_pages(page_ranges, page_sizes.len()) {
        let (w, h) = page_sizes[page];
        // Round up like pdftoppm and mutool, so the sizes compare one to one; the tolerance
        // absorbs f32 page boxes (Letter at 150 dpi is 1650 px, not 1651).
        let up = |v: f64| (v * scale - 0.01).ceil().max(1.0) as u32;
        let (width, height) = (up(w), up(h));
        if let Some(problem) = side_size_problem(width, height, limits) {
            return Err(RenderError::Unprintable {
                format,
                reason: format!("page {} at {dpi} dpi: {problem}", page + 1),
            });
        }
        jobs.push(SideJob {
            width,
            height,
            band_rows: band_rows(
                width,
                height,
                light_pages(&document, [page], limits),
                limits,
            ),
            cells: vec![Cell {
                page,
                page_to_pixels: Affine::scale(scale),
                clip: (0, 0, width, height),
            }],
            turned_half: false,
            files: vec![out_dir.join(format!("page-{}.png", page + 1))],
        });
    }
    check_path_memory(
        &document,
        format,
        dpi,
        jobs.iter()
            .map(|side| (side.cells[0].page, side.cells[0].page_to_pixels)),
        limits,
    )?;
    let open_time = started.elapsed();
    let jobs = Arc::new(jobs);
    let options = WorkerOptions {
        color: ColorOutput::Color,
        antialias: true,
        dpi,
        format,
    };
    let outputs = execute(
        Arc::new(document),
        Arc::clone(&jobs),
        options,
        limits,
        cancel,
        |_| ControlFlow::Continue(()),
    )?
    .into_iter()
    .collect::<Option<Vec<_>>>()
    .ok_or(RenderError::Cancelled)?;
    let mut timings = sum_timings(&outputs, open_time);
    let sides = jobs
        .iter()
        .zip(&outputs)
        .enumerate()
        .map(|(i, (job, out))| SideRecord {
            file: format!("page-{}.png", job.cells[0].page + 1),
            sheet: i + 1,
            back: false,
            copy: 1,
            source_pages: vec![job.cells[0].page + 1],
            width: job.width,
            height: job.height,
            sha256: out.sha256.clone(),
        })
        .collect();
    timings.wall_ms = ms(started.elapsed());
    write_manifest(
        out_dir,
        Manifest {
            content_type: format,
            document_pages: page_sizes.len(),
            settings: None,
            media_sheets: jobs.len(),
            impressions: jobs.len(),
            pages_printed: jobs.len(),
            sides,
            stopped_at_limit: None,
            timings,
        },
    )
}

fn sum_timings<'a>(outputs: impl IntoIterator<Item = &'a SideOutput>, open: Duration) -> Timings {
    let (render, encode) = outputs
        .into_iter()
        .fold((0.0, 0.0), |(r, e), o| (r + ms(o.render), e + ms(o.encode)));
    Timings {
        open_ms: ms(open),
        render_ms: render,
        encode_ms: encode,
        wall_ms: 0.0,
    }
}

fn write_manifest(out_dir: &Path, manifest: Manifest) -> Result<Manifest, RenderError> {
    let path = out_dir.join("manifest.json");
    let json = serde_json::to_vec_pretty(&manifest).expect("manifest serialises");
    std::fs::write(&path, json).map_err(|e| io_error(&path, e))?;
    Ok(manifest)
}
