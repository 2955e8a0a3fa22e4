//! Rasterising laid-out sides in parallel, encoding PNGs and writing the manifest.

use super::layout::{self, JobLayout, Placement};
use super::row_deflate::RowDeflate;
use super::settings::{self, AppliedSettings, ColorOutput};
use super::source::{self, Document, RasterPage};
use super::{JobRequest, RenderError};
use hayro::hayro_interpret::InterpreterSettings;
use hayro::hayro_interpret::util::TransformExt;
use hayro::hayro_syntax::Pdf;
use hayro::kurbo::{Affine, Point, Rect};
use hayro::vello_cpu::color::palette::css::WHITE;
use hayro::vello_cpu::{Pixmap, RasterizerSettings, RenderContext, Resources, TargetInit};
use hayro::{RenderCache, RenderSettings};
use serde::Serialize;
use sha2::{Digest, Sha256};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, mpsc};
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

/// A side to raster: pixel size and where each page goes, in pixels.
struct SideJob {
    width: u32,
    height: u32,
    cells: Vec<Cell>,
    turned_half: bool,
    files: Vec<PathBuf>,
}

impl SideJob {
    /// The document pages on this side, numbered from 1, for messages.
    fn pages(&self) -> Vec<usize> {
        self.cells.iter().map(|c| c.page + 1).collect()
    }
}

struct Cell {
    page: usize,
    /// Page space (points, y down, after /Rotate) to sheet pixels.
    page_to_pixels: Affine,
    /// Integer pixel rectangle the page may paint.
    clip: (u32, u32, u32, u32),
}

struct SideOutput {
    sha256: String,
    render: Duration,
    encode: Duration,
}

/// Largest side the engine rasters (pixels per edge); vello_cpu's limit.
const MAX_EDGE: u32 = u16::MAX as u32;

/// Bounds that keep one document from taking the printer down: hayro renders a page in one
/// uninterruptible call, so time is bounded by abandoning the worker, and memory by refusing
/// sides larger than a fixed pixel count before any is allocated.
#[derive(Debug, Clone, Copy)]
pub(super) struct Limits {
    /// Longest a worker may spend on one side, per page on it (n-up sides get one slice per
    /// cell). A side that overruns fails the job; its worker thread cannot be stopped mid-page,
    /// so it is abandoned: it finishes that page in the background, holding one side's memory
    /// and a core until then, and writes nothing.
    pub page_time: Duration,
    /// Largest side, in pixels. A worker holds about 7 bytes per pixel (hayro's RGBA pixmap plus
    /// the side's RGB buffer), so the default, 150 M pixels (A4 at 1200 dpi; A3 at 600), bounds
    /// a worker at about 1 GiB.
    pub side_pixels: u64,
    /// How many abandoned workers may still be running before a new job waits for their pages
    /// to end. One hostile document can abandon a worker per core at once, so the process holds
    /// at most `max_abandoned - 1` plus a core's worth of them, however many such documents
    /// arrive one after another.
    pub max_abandoned: usize,
}

pub(super) const LIMITS: Limits = Limits {
    page_time: Duration::from_secs(60),
    side_pixels: 150_000_000,
    max_abandoned: 2,
};

/// Render workers still inside a page after their job returned: overrun, failed elsewhere or
/// cancelled. Process-wide, because they share the process's cores and memory whichever job
/// or printer left them.
static ABANDONED_WORKERS: AtomicUsize = AtomicUsize::new(0);

/// How many abandoned workers are running now.
#[cfg(test)]
pub(super) fn abandoned_workers() -> usize {
    ABANDONED_WORKERS.load(Ordering::SeqCst)
}

/// Blocks (this is a render thread) while too many abandoned workers run; a cancelled job stops
/// waiting.
fn wait_for_abandoned_workers(
    limits: &Limits,
    cancel: &CancellationToken,
) -> Result<(), RenderError> {
    let mut told = false;
    loop {
        let running = ABANDONED_WORKERS.load(Ordering::SeqCst);
        if running < limits.max_abandoned {
            return Ok(());
        }
        if cancel.is_cancelled() {
            return Err(RenderError::Cancelled);
        }
        if !told {
            tracing::warn!(
                abandoned = running,
                "waiting for abandoned render workers to finish their pages"
            );
            told = true;
        }
        std::thread::sleep(WATCH_INTERVAL);
    }
}

/// How often the dispatcher looks at cancellation and at sides in flight.
const WATCH_INTERVAL: Duration = Duration::from_millis(20);

/// Workers recurse through nested forms, patterns and fonts; give them room beyond the 2 MiB
/// default (address space only, until used).
const WORKER_STACK: usize = 16 << 20;

fn io_error(path: &Path, source: std::io::Error) -> RenderError {
    RenderError::Io {
        path: path.to_path_buf(),
        source,
    }
}

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

/// Why a side of this size cannot be rastered, if it cannot.
fn side_size_problem(width: u32, height: u32, limits: &Limits) -> Option<String> {
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
    let job = layout::lay_out(&applied, &page_sizes, &selected);
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
    let names = output_names(&job);
    let scale = applied.dpi as f64 / 72.0;
    let jobs: Vec<SideJob> = job
        .sides
        .iter()
        .enumerate()
        .map(|(index, side)| SideJob {
            width,
            height,
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

    let sheets_total = job.printed.len()
        / if job.sides.iter().any(|s| s.back) {
            2
        } else {
            1
        };
    let mut done = vec![false; jobs.len()];
    let mut next_printed = 0;
    let mut progress = SheetProgress {
        sheets_completed: 0,
        impressions_completed: 0,
        sheets_total,
    };
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
                if !side.placements.is_empty() {
                    progress.impressions_completed += 1;
                }
                let ends_sheet = side.back || !job.sides.iter().any(|s| s.back);
                if ends_sheet {
                    progress.sheets_completed += 1;
                    (request.on_sheet)(progress);
                }
                next_printed += 1;
            }
        },
    )?;

    let mut timings = sum_timings(&outputs, open_time);
    let sides_per_sheet = if job.sides.iter().any(|s| s.back) {
        2
    } else {
        1
    };
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
                sha256: outputs[printed.layout_index].sha256.clone(),
            }
        })
        .collect();
    let manifest = Manifest {
        content_type: format,
        document_pages: page_sizes.len(),
        impressions: sides.iter().filter(|s| !s.source_pages.is_empty()).count(),
        pages_printed: sides.iter().map(|s| s.source_pages.len()).sum(),
        media_sheets: sheets_total,
        settings: Some(applied),
        sides,
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
fn output_names(job: &JobLayout) -> Vec<String> {
    let duplex = job.sides.iter().any(|s| s.back);
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
            cells: vec![Cell {
                page,
                page_to_pixels: Affine::scale(scale),
                clip: (0, 0, width, height),
            }],
            turned_half: false,
            files: vec![out_dir.join(format!("page-{}.png", page + 1))],
        });
    }
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
        |_| {},
    )?;
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
            timings,
        },
    )
}

fn sum_timings(outputs: &[SideOutput], open: Duration) -> Timings {
    Timings {
        open_ms: ms(open),
        render_ms: outputs.iter().map(|o| ms(o.render)).sum(),
        encode_ms: outputs.iter().map(|o| ms(o.encode)).sum(),
        wall_ms: 0.0,
    }
}

fn write_manifest(out_dir: &Path, manifest: Manifest) -> Result<Manifest, RenderError> {
    let path = out_dir.join("manifest.json");
    let json = serde_json::to_vec_pretty(&manifest).expect("manifest serialises");
    std::fs::write(&path, json).map_err(|e| io_error(&path, e))?;
    Ok(manifest)
}

/// What every worker of one job renders with.
#[derive(Debug, Clone, Copy)]
struct WorkerOptions {
    color: ColorOutput,
    antialias: bool,
    dpi: u32,
    /// For error messages.
    format: &'static str,
}

/// Shared between the dispatcher and its workers.
struct Dispatch {
    next: AtomicUsize,
    stop: AtomicBool,
    /// Per worker: the side it is on and since when.
    in_flight: Vec<Mutex<Option<(usize, Instant)>>>,
    /// Workers running, and whether the job has returned; together under one lock so each
    /// worker left behind is added to [`ABANDONED_WORKERS`] once and taken off once.
    workers: Mutex<WorkerCount>,
}

#[derive(Default)]
struct WorkerCount {
    running: usize,
    job_returned: bool,
}

impl Dispatch {
    fn count(&self) -> std::sync::MutexGuard<'_, WorkerCount> {
        self.workers.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn worker_started(&self) {
        self.count().running += 1;
    }

    fn worker_left(&self) {
        let mut count = self.count();
        count.running -= 1;
        if count.job_returned {
            ABANDONED_WORKERS.fetch_sub(1, Ordering::SeqCst);
        }
    }

    fn job_returned(&self) {
        let mut count = self.count();
        count.job_returned = true;
        ABANDONED_WORKERS.fetch_add(count.running, Ordering::SeqCst);
    }
}

/// Tells the dispatch when its holder ends, whether by returning or by unwinding.
struct OnDrop<F: FnMut()>(F);

impl<F: FnMut()> Drop for OnDrop<F> {
    fn drop(&mut self) {
        (self.0)()
    }
}

/// Rasters every side on one worker per core; calls `on_done` on this thread with each side's
/// index as it is written. Returns at the first error, at cancellation, or when a side overruns
/// its time bound ([`Limits::page_time`]); workers still inside a page are then abandoned and
/// exit when it ends, without writing.
fn execute(
    document: Arc<Document>,
    jobs: Arc<Vec<SideJob>>,
    options: WorkerOptions,
    limits: &Limits,
    cancel: &CancellationToken,
    mut on_done: impl FnMut(usize),
) -> Result<Vec<SideOutput>, RenderError> {
    wait_for_abandoned_workers(limits, cancel)?;
    let workers = std::thread::available_parallelism()
        .map_or(1, |n| n.get())
        .min(jobs.len())
        .max(1);
    let dispatch = Arc::new(Dispatch {
        next: AtomicUsize::new(0),
        stop: AtomicBool::new(false),
        in_flight: (0..workers).map(|_| Mutex::new(None)).collect(),
        workers: Mutex::default(),
    });
    let _returned = OnDrop(|| dispatch.job_returned());
    let (tx, rx) = mpsc::channel::<(usize, Result<SideOutput, RenderError>)>();
    let mut handles = Vec::with_capacity(workers);
    for id in 0..workers {
        let (document, jobs, shared, cancel) = (
            Arc::clone(&document),
            Arc::clone(&jobs),
            Arc::clone(&dispatch),
            cancel.clone(),
        );
        let tx = tx.clone();
        dispatch.worker_started();
        let spawned = std::thread::Builder::new()
            .name(format!("render-{id}"))
            .stack_size(WORKER_STACK)
            .spawn(move || {
                let _leaving = OnDrop(|| shared.worker_left());
                let mut worker = Worker::new(&document, options);
                let set_in_flight = |side| {
                    *shared.in_flight[id]
                        .lock()
                        .unwrap_or_else(|p| p.into_inner()) = side;
                };
                loop {
                    if shared.stop.load(Ordering::Relaxed) || cancel.is_cancelled() {
                        return;
                    }
                    let index = shared.next.fetch_add(1, Ordering::Relaxed);
                    let Some(job) = jobs.get(index) else { return };
                    set_in_flight(Some((index, Instant::now())));
                    // hayro and vello_cpu assert on some hostile content (a page whose
                    // coverage outgrows vello's 31-bit alpha index, for one): that is the
                    // document's fault, so it fails the job as unprintable, never as a
                    // cancellation. The worker's caches may be half-updated: it stops.
                    let side = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                        worker.side(job, &shared.stop)
                    }));
                    set_in_flight(None);
                    let (result, panicked) = match side {
                        Ok(result) => (result, false),
                        Err(panic) => (Err(rasteriser_panic(job, options.format, &*panic)), true),
                    };
                    if tx.send((index, result)).is_err() || panicked {
                        return;
                    }
                }
            });
        match spawned {
            Ok(handle) => handles.push(handle),
            Err(e) => {
                dispatch.worker_left();
                dispatch.stop.store(true, Ordering::Relaxed);
                return Err(RenderError::Io {
                    path: PathBuf::from("<render worker>"),
                    source: e,
                });
            }
        }
    }
    drop(tx);
    let fail = |err: RenderError| {
        dispatch.stop.store(true, Ordering::Relaxed);
        Err(err)
    };
    let mut outputs: Vec<Option<SideOutput>> = (0..jobs.len()).map(|_| None).collect();
    let mut received = 0;
    while received < jobs.len() {
        match rx.recv_timeout(WATCH_INTERVAL) {
            Ok((index, Ok(output))) => {
                outputs[index] = Some(output);
                received += 1;
                on_done(index);
            }
            Ok((_, Err(err))) => return fail(err),
            Err(mpsc::RecvTimeoutError::Timeout) => {}
            // Every worker has returned: only cancellation makes them stop early.
            Err(mpsc::RecvTimeoutError::Disconnected) => break,
        }
        if cancel.is_cancelled() {
            return fail(RenderError::Cancelled);
        }
        for slot in &dispatch.in_flight {
            let Some((index, since)) = *slot.lock().unwrap_or_else(|p| p.into_inner()) else {
                continue;
            };
            let job = &jobs[index];
            let bound = limits.page_time * job.cells.len().max(1) as u32;
            if since.elapsed() > bound {
                let pages = job.pages();
                tracing::warn!(
                    side = index + 1,
                    ?pages,
                    "side overran its time bound; its worker is abandoned"
                );
                return fail(RenderError::Unprintable {
                    format: options.format,
                    reason: format!(
                        "page(s) {pages:?} took longer than {:.1} s to rasterise; rendering \
                         was abandoned",
                        bound.as_secs_f64()
                    ),
                });
            }
        }
    }
    // Every side is in, so the workers are leaving: waiting for them keeps them out of the
    // abandoned count, which would otherwise make the next job wait for nothing.
    for handle in handles {
        let _ = handle.join();
    }
    outputs
        .into_iter()
        .map(|o| o.ok_or(RenderError::Cancelled))
        .collect()
}

/// The refusal for a side whose rasterising panicked, with the panic's message.
fn rasteriser_panic(
    job: &SideJob,
    format: &'static str,
    panic: &(dyn std::any::Any + Send),
) -> RenderError {
    let message = panic
        .downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| panic.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "no message".into());
    let pages = job.pages();
    tracing::warn!(?pages, %message, "the rasteriser failed on a side");
    RenderError::Unprintable {
        format,
        reason: format!("page(s) {pages:?} broke the rasteriser ({message})"),
    }
}

/// One render thread's state: hayro's cache is per thread, and the context, pixmap and side
/// buffer are reused from side to side so a worker holds one side's pixels at a time.
struct Worker<'a> {
    document: &'a Document,
    cache: RenderCache<'a>,
    context: Option<RenderContext>,
    pixmap: Pixmap,
    pixels: Vec<u8>,
    render_settings: RenderSettings,
    color: ColorOutput,
    dpi: u32,
}

/// A side's worth of pixel memory (hayro's pixmap and the side buffer, ~60 MB for A4 at
/// 300 dpi) that finished workers leave for the next job's. Fresh memory of that size comes
/// from the kernel a page fault at a time, which cost the benchmark a fifth of its time (more
/// when the machine is short of memory); the price is up to one side's memory per core kept
/// while the engine is idle, and no more than [`SPARE_MAX_BYTES`] each.
static SPARE_BUFFERS: Mutex<Vec<(Pixmap, Vec<u8>)>> = Mutex::new(Vec::new());

/// Largest buffer pair kept for reuse: A3 at 300 dpi in colour (A4 at 600 dpi in gray) fits.
const SPARE_MAX_BYTES: usize = 160 << 20;

impl Drop for Worker<'_> {
    fn drop(&mut self) {
        let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
        let mut spare = SPARE_BUFFERS.lock().unwrap_or_else(|p| p.into_inner());
        let bytes = self.pixmap.data_as_u8_slice().len() + self.pixels.capacity();
        if spare.len() < cores && bytes <= SPARE_MAX_BYTES {
            let pixmap = std::mem::replace(&mut self.pixmap, Pixmap::new(1, 1));
            spare.push((pixmap, std::mem::take(&mut self.pixels)));
        }
    }
}

impl<'a> Worker<'a> {
    fn new(document: &'a Document, options: WorkerOptions) -> Self {
        let (pixmap, pixels) = SPARE_BUFFERS
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .pop()
            .unwrap_or_else(|| (Pixmap::new(1, 1), Vec::new()));
        Self {
            document,
            cache: RenderCache::new(),
            context: None,
            pixmap,
            pixels,
            render_settings: RenderSettings {
                aliasing_threshold: if options.antialias { None } else { Some(128) },
                ..Default::default()
            },
            color: options.color,
            dpi: options.dpi,
        }
    }

    fn side(&mut self, job: &SideJob, stop: &AtomicBool) -> Result<SideOutput, RenderError> {
        let started = Instant::now();
        let channels = self.color.channels();
        let row_bytes = job.width as usize * channels;
        let mut pixels = std::mem::take(&mut self.pixels);
        // One upright PDF page covering the side goes from hayro's pixmap to the PNG a row at a
        // time: each converted row is filtered and compressed while it is still in cache, and
        // the side buffer is neither written nor read back. Other sides are assembled there.
        let streamed = match (self.document, &job.cells[..]) {
            (Document::Pdf(pdf), [cell])
                if cell.clip == (0, 0, job.width, job.height) && !job.turned_half =>
            {
                self.rasterise(pdf, cell);
                true
            }
            _ => {
                // A single PDF cell covering the side (turned half) overwrites every pixel, so
                // the previous side's pixels may stay; otherwise start from paper (raster pages
                // paint only where they are).
                let covered = matches!(self.document, Document::Pdf(_))
                    && matches!(&job.cells[..], [cell] if cell.clip == (0, 0, job.width, job.height));
                if !covered {
                    pixels.clear();
                }
                pixels.resize(row_bytes * job.height as usize, 0xFF);
                for cell in &job.cells {
                    self.cell(cell, &mut pixels, job.width as usize);
                }
                if job.turned_half {
                    turn_half(&mut pixels, channels);
                }
                false
            }
        };
        let mut render = started.elapsed();
        // The dispatcher has given up on this job (error, cancel, overrun): write nothing.
        if stop.load(Ordering::Relaxed) {
            self.pixels = pixels;
            return Err(RenderError::Cancelled);
        }
        let started = Instant::now();
        // Converting pixmap rows is rendering work, whichever loop it runs in.
        let mut converting = Duration::ZERO;
        let png = PngSpec {
            width: job.width,
            height: job.height,
            channels,
            dpi: self.dpi,
        };
        let (pixmap, color) = (&self.pixmap, self.color);
        let mut fill = |rows: &mut PngRows<'_>| -> std::io::Result<()> {
            if !streamed {
                return rows.push_rows(&pixels);
            }
            // Streamed sides convert a few rows at a time into the (otherwise unused) side
            // buffer: the batch stays in cache for the encoder, and the clock that splits
            // converting from encoding is read per batch rather than per row.
            pixels.resize(row_bytes * STREAMED_ROWS, 0);
            let source_rows = pixmap
                .data_as_u8_slice()
                .chunks(job.width as usize * 4 * STREAMED_ROWS);
            for source in source_rows {
                let converted = Instant::now();
                let batch = source
                    .chunks_exact(job.width as usize * 4)
                    .zip(pixels.chunks_exact_mut(row_bytes))
                    .map(|(src, dst)| convert_row(src, dst, color))
                    .count();
                converting += converted.elapsed();
                rows.push_rows(&pixels[..batch * row_bytes])?;
            }
            Ok(())
        };
        let written = match job.files.split_first() {
            Some((first, copies)) => std::fs::File::create(first)
                .and_then(|file| {
                    let mut out = std::io::BufWriter::with_capacity(OUTPUT_BUFFER, file);
                    png.encode(&mut out, &mut fill)
                })
                .map_err(|e| io_error(first, e))
                .and_then(|sha256| {
                    // Uncollated copies print the same side again: the same file.
                    for path in copies {
                        std::fs::copy(first, path).map_err(|e| io_error(path, e))?;
                    }
                    Ok(sha256)
                }),
            None => png
                .encode(&mut std::io::sink(), &mut fill)
                .map_err(|e| io_error(Path::new("<sink>"), e)),
        };
        let encode = started.elapsed().saturating_sub(converting);
        render += converting;
        self.pixels = pixels;
        Ok(SideOutput {
            sha256: written?,
            render,
            encode,
        })
    }

    /// Draws the cell's PDF page into the worker's pixmap, which takes the cell's size.
    fn rasterise(&mut self, pdf: &'a Pdf, cell: &Cell) {
        let (x0, y0, x1, y1) = cell.clip;
        let (cw, ch) = ((x1 - x0) as u16, (y1 - y0) as u16);
        let to_cell = Affine::translate((-(x0 as f64), -(y0 as f64))) * cell.page_to_pixels;
        let page = &pdf.pages()[cell.page];
        let context = match &mut self.context {
            Some(c) => {
                c.reset_and_resize(cw, ch);
                c
            }
            None => self.context.insert(RenderContext::new(cw, ch)),
        };
        hayro::render_into(
            page,
            &self.cache,
            &InterpreterSettings::default(),
            &self.render_settings,
            context,
            to_cell * page.initial_transform(true).to_kurbo(),
        );
        context.flush();
        self.pixmap.resize(cw, ch);
        context.render_with(
            &mut self.pixmap,
            &mut Resources::default(),
            RasterizerSettings {
                target_init: TargetInit::Clear(WHITE),
                ..Default::default()
            },
        );
    }

    fn cell(&mut self, cell: &Cell, pixels: &mut [u8], row_pixels: usize) {
        let (x0, y0, x1, y1) = cell.clip;
        if x1 <= x0 || y1 <= y0 {
            return;
        }
        let channels = self.color.channels();
        match self.document {
            Document::Pdf(pdf) => {
                self.rasterise(pdf, cell);
                let cw = (x1 - x0) as usize;
                let rgba = self.pixmap.data_as_u8_slice();
                for (row, src) in rgba.chunks_exact(cw * 4).enumerate() {
                    let start = ((y0 as usize + row) * row_pixels + x0 as usize) * channels;
                    convert_row(src, &mut pixels[start..start + cw * channels], self.color);
                }
            }
            Document::Raster(pages) => sample_raster(
                &pages[cell.page],
                Affine::translate((-(x0 as f64), -(y0 as f64))) * cell.page_to_pixels,
                cell.clip,
                pixels,
                row_pixels,
                self.color,
            ),
        }
    }
}

/// Premultiplied RGBA composited on white (the pixmap was cleared white, so alpha is 255) to
/// the side's pixels.
fn convert_row(src: &[u8], dst: &mut [u8], color: ColorOutput) {
    match color {
        ColorOutput::Color => {
            // Eight pixels at a time as fixed-size arrays, which the compiler turns into byte
            // shuffles; this copy runs over every pixel of every side.
            let mut dst_blocks = dst.chunks_exact_mut(24);
            let mut src_blocks = src.chunks_exact(32);
            for (d, s) in (&mut dst_blocks).zip(&mut src_blocks) {
                let s: &[u8; 32] = s.try_into().expect("32-byte block");
                let d: &mut [u8; 24] = d.try_into().expect("24-byte block");
                *d = std::array::from_fn(|i| s[i / 3 * 4 + i % 3]);
            }
            let rest = dst_blocks.into_remainder().chunks_exact_mut(3);
            for (d, s) in rest.zip(src_blocks.remainder().chunks_exact(4)) {
                d.copy_from_slice(&s[..3]);
            }
        }
        ColorOutput::Grayscale => {
            for (d, s) in dst.iter_mut().zip(src.chunks_exact(4)) {
                *d = luma(s[0], s[1], s[2]);
            }
        }
        ColorOutput::BlackAndWhite => {
            for (d, s) in dst.iter_mut().zip(src.chunks_exact(4)) {
                *d = bilevel(luma(s[0], s[1], s[2]));
            }
        }
    }
}

fn luma(r: u8, g: u8, b: u8) -> u8 {
    ((299 * r as u32 + 587 * g as u32 + 114 * b as u32 + 500) / 1000) as u8
}

/// Black below mid-gray, white from it on: see [`ColorOutput::BlackAndWhite`].
fn bilevel(luma: u8) -> u8 {
    if luma < 128 { 0 } else { 255 }
}

/// Paints a raster page through `page_to_cell` by sampling the nearest source pixel of each
/// destination pixel centre.
fn sample_raster(
    page: &RasterPage,
    page_to_cell: Affine,
    clip: (u32, u32, u32, u32),
    pixels: &mut [u8],
    row_pixels: usize,
    color: ColorOutput,
) {
    let (x0, y0, x1, y1) = clip;
    let inverse = page_to_cell.inverse();
    let (sx, sy) = (page.dpi.0 / 72.0, page.dpi.1 / 72.0);
    for y in y0..y1 {
        for x in x0..x1 {
            let p = inverse * Point::new((x - x0) as f64 + 0.5, (y - y0) as f64 + 0.5);
            let (px, py) = ((p.x * sx).floor(), (p.y * sy).floor());
            if px < 0.0 || py < 0.0 || px >= page.width as f64 || py >= page.height as f64 {
                continue;
            }
            let [r, g, b] = page.rgb(px as u32, py as u32);
            let at = (y as usize * row_pixels + x as usize) * color.channels();
            match color {
                ColorOutput::Color => pixels[at..at + 3].copy_from_slice(&[r, g, b]),
                ColorOutput::Grayscale => pixels[at] = luma(r, g, b),
                ColorOutput::BlackAndWhite => pixels[at] = bilevel(luma(r, g, b)),
            }
        }
    }
}

/// Rotates a side by 180° in place: reversing the bytes reverses the pixel order and each
/// pixel's channel order, which the second pass restores.
fn turn_half(pixels: &mut [u8], channels: usize) {
    pixels.reverse();
    if channels == 3 {
        for pixel in pixels.chunks_exact_mut(3) {
            pixel.swap(0, 2);
        }
    }
}

/// The PNG a side is written as.
struct PngSpec {
    width: u32,
    height: u32,
    channels: usize,
    dpi: u32,
}

/// Rows of a streamed side converted per batch: 16 A4 rows at 300 dpi are 120 KiB.
const STREAMED_ROWS: usize = 16;

/// Buffer between the PNG and its file: it gathers the small header, chunk length and CRC
/// writes; IDAT payloads are larger and go straight through.
const OUTPUT_BUFFER: usize = 64 << 10;

/// PNG filter type 2: each byte minus the byte above it.
const FILTER_UP: u8 = 2;

impl PngSpec {
    /// Writes the PNG to `out`, with `fill` supplying the rows through [`PngRows`], and returns
    /// its SHA-256 (hex), hashed on the way out: no encoded copy of the side is kept in memory.
    ///
    /// Rows are Up-filtered (on the benchmark's 300 dpi pages Paeth and adaptive filtering
    /// were slower and Sub and Avg larger) and deflated by [`RowDeflate`]: runs as distance-1
    /// matches and literals, in the fixed Huffman code, with rows equal to the row above taken
    /// in constant time. zlib's default level costs several times the rendering itself. On
    /// those pages, in the same runs, fdeflate's ultra-fast mode (the png crate's `Fastest`,
    /// a tuned code but only zero runs and no constant-time rows) wrote ~14 % larger files and
    /// made the encode step 10-25 % slower; zlib-rs at level 1 (default or RLE strategy) wrote
    /// 25-30 % less than fdeflate in 1.5-2x its time.
    ///
    /// The rows come from the caller in batches (the worker converts a few at a time from
    /// hayro's pixmap), so filtering and compressing run on bytes still in cache; the png
    /// crate's stream writer, used before, copied every row again and took the compressor's
    /// 8-byte writes through a copy call each. Each write of the compressor's output is one
    /// IDAT chunk, so compressed bytes are not copied again before the hash and the file.
    fn encode(
        &self,
        out: &mut dyn std::io::Write,
        fill: &mut dyn FnMut(&mut PngRows<'_>) -> std::io::Result<()>,
    ) -> std::io::Result<String> {
        use std::io::Write;
        let mut hashing = HashingWriter {
            inner: out,
            hasher: Sha256::new(),
        };
        {
            let mut encoder =
                png::Encoder::new(&mut hashing as &mut dyn Write, self.width, self.height);
            encoder.set_color(if self.channels == 1 {
                png::ColorType::Grayscale
            } else {
                png::ColorType::Rgb
            });
            encoder.set_depth(png::BitDepth::Eight);
            let per_metre = (self.dpi as f64 / 0.0254).round() as u32;
            encoder.set_pixel_dims(Some(png::PixelDimensions {
                xppu: per_metre,
                yppu: per_metre,
                unit: png::Unit::Meter,
            }));
            let png = encoder.write_header().map_err(std::io::Error::other)?;
            let row_bytes = self.width as usize * self.channels;
            let mut rows = PngRows {
                compressor: RowDeflate::new(IdatChunks { png }),
                previous: vec![0; row_bytes],
                filtered: [FILTER_UP].into_iter().chain(vec![0; row_bytes]).collect(),
                rows_left: self.height,
            };
            fill(&mut rows)?;
            if rows.rows_left > 0 {
                return Err(std::io::Error::other(format!(
                    "PNG ended {} rows short",
                    rows.rows_left
                )));
            }
            let idat = rows.compressor.finish()?;
            idat.png.finish().map_err(std::io::Error::other)?;
        }
        hashing.inner.flush()?;
        Ok(format!("{:x}", hashing.hasher.finalize()))
    }
}

/// The image data of a PNG being written, in batches of rows.
struct PngRows<'a> {
    compressor: RowDeflate<IdatChunks<'a>>,
    /// The last row taken (zeros before the first, as the Up filter defines).
    previous: Vec<u8>,
    /// Filter type, then the Up-filtered row.
    filtered: Vec<u8>,
    rows_left: u32,
}

impl PngRows<'_> {
    /// Filters and compresses `rows`, whole rows back to back.
    fn push_rows(&mut self, rows: &[u8]) -> std::io::Result<()> {
        let row_bytes = self.previous.len();
        if !rows.len().is_multiple_of(row_bytes) {
            return Err(std::io::Error::other(format!(
                "{} bytes are not whole rows of {row_bytes}",
                rows.len()
            )));
        }
        let count = u32::try_from(rows.len() / row_bytes).unwrap_or(u32::MAX);
        self.rows_left = self
            .rows_left
            .checked_sub(count)
            .ok_or_else(|| std::io::Error::other("more rows than the PNG's height"))?;
        let mut above = &self.previous[..];
        for row in rows.chunks_exact(row_bytes) {
            if row == above {
                // Most rows of a text page: the filter type, then zeros.
                self.compressor.write_data(&[FILTER_UP])?;
                self.compressor.zeros(row_bytes as u64)?;
            } else {
                for ((out, &byte), &over) in self.filtered[1..].iter_mut().zip(row).zip(above) {
                    *out = byte.wrapping_sub(over);
                }
                self.compressor.write_data(&self.filtered)?;
            }
            above = row;
        }
        if let Some(last) = rows.rchunks_exact(row_bytes).next() {
            self.previous.copy_from_slice(last);
        }
        Ok(())
    }
}

/// Writes each piece of the compressed stream it is given as one IDAT chunk: the compressor
/// passes its output on in pieces of at most [`super::row_deflate::OUTPUT_BYTES`].
struct IdatChunks<'a> {
    png: png::Writer<&'a mut dyn std::io::Write>,
}

impl std::io::Write for IdatChunks<'_> {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.png
            .write_chunk(png::chunk::IDAT, bytes)
            .map_err(std::io::Error::other)?;
        Ok(bytes.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Passes bytes through to `inner`, hashing what was written.
struct HashingWriter<W> {
    inner: W,
    hasher: Sha256,
}

impl<W: std::io::Write> std::io::Write for HashingWriter<W> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let written = self.inner.write(buf)?;
        self.hasher.update(&buf[..written]);
        Ok(written)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.inner.flush()
    }
}

#[cfg(test)]
mod png_tests {
    use super::*;

    /// Writes `pixels` through [`PngSpec::encode`].
    fn encode(spec: &PngSpec, pixels: &[u8]) -> std::io::Result<(String, Vec<u8>)> {
        let row_bytes = spec.width as usize * spec.channels;
        let mut out = Vec::new();
        // In batches of three rows, so that the row above crosses from one batch to the next.
        let sha256 = spec.encode(&mut out, &mut |rows| {
            for batch in pixels.chunks(row_bytes * 3) {
                rows.push_rows(batch)?;
            }
            Ok(())
        })?;
        Ok((sha256, out))
    }

    fn decode(bytes: &[u8]) -> (png::OutputInfo, Option<png::PixelDimensions>, Vec<u8>) {
        let mut reader = png::Decoder::new(std::io::Cursor::new(bytes))
            .read_info()
            .expect("a PNG header");
        let mut pixels = vec![0; reader.output_buffer_size().unwrap()];
        let info = reader.next_frame(&mut pixels).expect("valid image data");
        pixels.truncate(info.buffer_size());
        (info, reader.info().pixel_dims, pixels)
    }

    /// Rows that exercise each case of the filter: black first row (equal to the implicit zero
    /// row above), repeated rows, rows that differ from the one above by wrapping amounts, and a
    /// width that is no multiple of the compressor's 8-byte steps.
    fn sample(width: u32, height: u32, channels: usize) -> Vec<u8> {
        let row_bytes = width as usize * channels;
        let mut pixels = vec![0; row_bytes * height as usize];
        for (y, row) in pixels.chunks_exact_mut(row_bytes).enumerate() {
            for (x, byte) in row.iter_mut().enumerate() {
                *byte = match y {
                    0 => 0,
                    1 | 2 => (x * 37 % 251) as u8,
                    3 => 255,
                    _ => ((x * 7 + y * 131) % 256) as u8,
                };
            }
        }
        pixels
    }

    #[test]
    fn rows_come_back_unchanged_with_the_hash_of_the_written_bytes() {
        for (channels, color) in [(3, png::ColorType::Rgb), (1, png::ColorType::Grayscale)] {
            let spec = PngSpec {
                width: 37,
                height: 9,
                channels,
                dpi: 300,
            };
            let pixels = sample(spec.width, spec.height, channels);
            let (sha256, bytes) = encode(&spec, &pixels).unwrap();
            assert_eq!(sha256, format!("{:x}", Sha256::digest(&bytes)));
            let (info, dims, decoded) = decode(&bytes);
            assert_eq!((info.width, info.height), (37, 9));
            assert_eq!(info.color_type, color);
            assert_eq!(info.bit_depth, png::BitDepth::Eight);
            assert_eq!(decoded, pixels, "{channels} channel(s)");
            let dims = dims.expect("a pHYs chunk");
            assert_eq!(
                (dims.xppu, dims.yppu, dims.unit),
                (11811, 11811, png::Unit::Meter)
            );
        }
    }

    #[test]
    fn large_images_span_several_idat_chunks() {
        // Noise barely compresses, so 3 MB of it needs many chunks.
        let spec = PngSpec {
            width: 1024,
            height: 1024,
            channels: 3,
            dpi: 72,
        };
        let mut state = 0x2545_f491_u32;
        let pixels: Vec<u8> = (0..1024 * 1024 * 3)
            .map(|_| {
                state ^= state << 13;
                state ^= state >> 17;
                state ^= state << 5;
                state as u8
            })
            .collect();
        let (_, bytes) = encode(&spec, &pixels).unwrap();
        let mut idat_chunks = 0;
        let mut at = 8;
        while at < bytes.len() {
            let length = u32::from_be_bytes(bytes[at..at + 4].try_into().unwrap()) as usize;
            if &bytes[at + 4..at + 8] == b"IDAT" {
                assert!(length <= crate::row_deflate::OUTPUT_BYTES);
                idat_chunks += 1;
            }
            at += 12 + length;
        }
        assert!(idat_chunks >= 40, "{idat_chunks} IDAT chunks");
        assert_eq!(decode(&bytes).2, pixels);
    }

    #[test]
    fn a_wrong_row_count_is_an_error_not_a_broken_file() {
        let spec = PngSpec {
            width: 4,
            height: 3,
            channels: 1,
            dpi: 72,
        };
        let short = encode(&spec, &[7; 8]).unwrap_err();
        assert!(short.to_string().contains("1 rows short"), "{short}");
        let long = encode(&spec, &[7; 16]).unwrap_err();
        assert!(long.to_string().contains("more rows"), "{long}");
    }
}
