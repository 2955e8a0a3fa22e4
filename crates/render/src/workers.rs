//! The worker pool that rasters a job's sides, one thread per core, the process-wide slots that
//! keep every job's workers together to one per core, and the process-wide count of workers
//! abandoned inside a page that overran or outlived its job.

use super::RenderError;
use super::rasteriser::{SideJob, SideOutput, Worker, WorkerOptions};
use super::side_bands::{BandWork, Claim, SideBands};
use super::source::{Document, JobAbandoned};
use std::cell::Cell;
use std::ops::ControlFlow;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Condvar, Mutex, mpsc};
use std::time::{Duration, Instant};
use tokio_util::sync::CancellationToken;

/// Bounds that keep one document from taking the printer down: hayro renders a page in one
/// uninterruptible call, so time is bounded by abandoning the worker; memory by drawing sides
/// larger than a fixed pixel count in bands of rows, and by refusing absurd sides before any
/// pixel is allocated.
#[derive(Debug, Clone, Copy)]
pub(super) struct Limits {
    /// Longest a worker may spend on one side, per page on it (n-up sides get one slice per
    /// cell, and a side one per cell and `band_pixels` of its size: the bound follows the
    /// pixels, not how many cache bands a light side is cut into, which would give a 600 dpi
    /// A4 side 35 slices). A side that overruns fails the job; its worker thread cannot be stopped mid-page,
    /// so it is abandoned: it finishes that page in the background, holding one side's memory
    /// and a core until then, and writes nothing.
    pub page_time: Duration,
    /// Largest side drawn whole, in pixels. A worker holds about 7 bytes per pixel (hayro's
    /// RGBA pixmap plus the side's RGB buffer), so the default, 150 M pixels (A4 at 1200 dpi;
    /// A3 at 600), bounds a worker at about 1 GiB. Larger sides are drawn in bands.
    pub whole_side_pixels: u64,
    /// Most pixels in one band of a side larger than `whole_side_pixels`: the page is drawn
    /// again for each band, clipped to its rows, and the band is encoded before the next is
    /// drawn, so a worker holds about 7 bytes per band pixel (32 M: about 220 MiB) whatever
    /// the sheet. Bands are not always pixel-identical to a whole-side render (hayro and vello
    /// work in f32, and a band's origin shifts the rounding), so how a side is split depends
    /// only on its size and its pages: the same job always prints the same pixels.
    pub band_pixels: u64,
    /// Smallest side of light pages (see `light_page_operators`) drawn in bands of
    /// `cache_band_pixels`, which every worker of its job draws and deflates (`side_bands`).
    /// Drawn whole, a side's RGBA (139 MB for 600 dpi A4) leaves the processor's cache before
    /// it is converted, and converting it waited on memory (a quarter of the CPU, perf); its
    /// PNG was deflated on one core. In bands, 300 dpi A4 took 0.6x the wall time, 600 dpi A4
    /// 0.8x, the Photo Studio's 1440 dpi side 0.9x (benches/README.md, print_latency).
    /// Smaller sides (a 203 dpi label, 1 M) gain nothing from a second thread.
    pub light_banded_side_pixels: u64,
    /// Pixels in one band of a side of light pages past `light_banded_side_pixels`: 4 MB of
    /// RGBA, which stays in the cache while the band is drawn, converted and deflated. Bands
    /// of 0.4 M pixels cost more in drawing the page again than they saved; 2.5 M did not
    /// stay in the cache.
    pub cache_band_pixels: u64,
    /// Most content operators (after expansion) a page may run and still count as light: it
    /// is drawn once per band, so a dense page keeps to the whole side (or the memory bands
    /// above), where drawing it 14 times would cost more than the cache saves.
    pub light_page_operators: u64,
    /// Largest side at all, in pixels: past it a side is refused before anything is drawn.
    /// Bands bound memory but not time nor output: 600 M pixels (A4 at 2540 dpi, A3 at 1800)
    /// is about 20 bands of hayro work per page, and a 1.7 GB PNG of noise.
    pub side_pixels: u64,
    /// Most bytes of tiles and strips the rasteriser may hold for one page's paths, on top of
    /// the side's pixels, as `PathLoad::bytes_at` estimates them where the page is placed.
    pub page_path_bytes: u64,
    /// How many abandoned workers may still be running before a new job waits for their pages
    /// to end. One hostile document can abandon a worker per core at once, so the process holds
    /// at most `max_abandoned - 1` plus a core's worth of them, however many such documents
    /// arrive one after another.
    pub max_abandoned: usize,
}

pub(super) const LIMITS: Limits = Limits {
    page_time: Duration::from_secs(60),
    whole_side_pixels: 150_000_000,
    band_pixels: 32_000_000,
    light_banded_side_pixels: 4_000_000,
    cache_band_pixels: 1_000_000,
    light_page_operators: 20_000,
    side_pixels: 600_000_000,
    page_path_bytes: 256 << 20,
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

/// One slot per core for the render workers of every job in the process. A fleet's printers
/// render at once on one machine, and each worker holds up to one side's pixels: without the
/// slots a thousand printers given a job each ran a thousand workers and their pixmaps at once,
/// for no more speed than one per core. A worker abandoned inside a page gives its slot back
/// when its job returns; [`Limits::max_abandoned`] bounds those instead.
static WORKER_SLOTS: WorkerSlots = WorkerSlots {
    taken: Mutex::new(0),
    freed: Condvar::new(),
};

struct WorkerSlots {
    taken: Mutex<usize>,
    freed: Condvar,
}

impl WorkerSlots {
    fn taken(&self) -> std::sync::MutexGuard<'_, usize> {
        self.taken.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Waits for a free slot and takes it; gives up, taking none, once `give_up` says so.
    fn take(&self, give_up: impl Fn() -> bool) -> bool {
        let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
        let mut taken = self.taken();
        while *taken >= cores {
            if give_up() {
                return false;
            }
            taken = self
                .freed
                .wait_timeout(taken, WATCH_INTERVAL)
                .unwrap_or_else(|p| p.into_inner())
                .0;
        }
        *taken += 1;
        #[cfg(test)]
        PEAK_WORKERS.fetch_max(*taken, Ordering::SeqCst);
        true
    }

    fn give_back(&self, slots: usize) {
        if slots > 0 {
            *self.taken() -= slots;
            self.freed.notify_all();
        }
    }
}

/// The most worker slots ever taken at once in this process.
#[cfg(test)]
pub(super) static PEAK_WORKERS: AtomicUsize = AtomicUsize::new(0);

/// Deflated bands that may wait for their side's owner, per worker of the job.
const BANDS_AHEAD_PER_WORKER: usize = 4;

/// How often the dispatcher looks at cancellation and at sides in flight.
const WATCH_INTERVAL: Duration = Duration::from_millis(20);

/// Workers recurse through nested forms, patterns and fonts; give them room beyond the 2 MiB
/// default (address space only, until used).
const WORKER_STACK: usize = 16 << 20;

/// Shared between the dispatcher and its workers.
struct Dispatch {
    next: AtomicUsize,
    /// Per side: its bands, which any worker of the job may draw.
    bands: Vec<SideBands>,
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
    /// [`WORKER_SLOTS`] held by this job's running workers.
    slots: usize,
    job_returned: bool,
}

impl Dispatch {
    fn count(&self) -> std::sync::MutexGuard<'_, WorkerCount> {
        self.workers.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn worker_started(&self) {
        self.count().running += 1;
    }

    /// Takes a worker slot for a worker of this job; false when the job stopped, was cancelled
    /// or returned before one was free.
    fn take_slot(&self, cancel: &CancellationToken) -> bool {
        let stopped = || self.stop.load(Ordering::Relaxed) || cancel.is_cancelled();
        if !WORKER_SLOTS.take(stopped) {
            return false;
        }
        let mut count = self.count();
        if count.job_returned {
            WORKER_SLOTS.give_back(1);
            return false;
        }
        count.slots += 1;
        true
    }

    fn worker_left(&self, held_slot: bool) {
        let mut count = self.count();
        count.running -= 1;
        if count.job_returned {
            ABANDONED_WORKERS.fetch_sub(1, Ordering::SeqCst);
        } else if held_slot {
            count.slots -= 1;
            WORKER_SLOTS.give_back(1);
        }
    }

    fn job_returned(&self) {
        let mut count = self.count();
        count.job_returned = true;
        ABANDONED_WORKERS.fetch_add(count.running, Ordering::SeqCst);
        WORKER_SLOTS.give_back(std::mem::take(&mut count.slots));
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
/// index as it is written, and stops taking sides when it answers `Break` (the sides already
/// written are then `Some`, the rest `None`). Returns at the first error, at cancellation, or
/// when a side overruns its time bound ([`Limits::page_time`]); workers still inside a page are
/// then abandoned and exit when it ends, without writing.
pub(super) fn execute(
    document: Arc<Document>,
    jobs: Arc<Vec<SideJob>>,
    options: WorkerOptions,
    limits: &Limits,
    cancel: &CancellationToken,
    mut on_done: impl FnMut(usize) -> ControlFlow<()>,
) -> Result<Vec<Option<SideOutput>>, RenderError> {
    wait_for_abandoned_workers(limits, cancel)?;
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    // A banded side is as many pieces of work as it has bands; a blank side (the back of a
    // one-page duplex job) none: it is written in no time by whichever worker comes to it.
    let pieces: usize = jobs
        .iter()
        .map(|j| match j.cells.len() {
            0 => 0,
            _ if j.is_banded() => j.bands() as usize,
            _ => 1,
        })
        .sum();
    let workers = cores.min(pieces).max(1);
    let dispatch = Arc::new(Dispatch {
        next: AtomicUsize::new(0),
        // Deflated bands are small, so four per worker may wait for the owner to join them: at
        // one per worker a helper stalled whenever the owner was descheduled, and a one-page
        // job rendered alone took 1.1-1.5x the wall time (benches/README.md, print_latency).
        bands: jobs
            .iter()
            .map(|j| SideBands::new(j.bands() as usize, BANDS_AHEAD_PER_WORKER * workers))
            .collect(),
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
                let held_slot = Cell::new(false);
                // Dropped after the worker, whose buffers go to the spare list first.
                let _leaving = OnDrop(|| shared.worker_left(held_slot.get()));
                if !shared.take_slot(&cancel) {
                    return;
                }
                held_slot.set(true);
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
                    let Some(job) = jobs.get(index) else {
                        // No side left to own: draw bands of the sides others own.
                        helper_bands(&mut worker, &jobs, &shared, &cancel, set_in_flight, options);
                        return;
                    };
                    set_in_flight(Some((index, Instant::now())));
                    // hayro and vello_cpu assert on some hostile content (a page whose
                    // coverage outgrows vello's 31-bit alpha index, for one): that is the
                    // document's fault, so it fails the job as unprintable, never as a
                    // cancellation. The worker's caches may be half-updated: it stops.
                    let side = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                        worker.side(job, &shared.bands[index], &shared.stop)
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
                dispatch.worker_left(false);
                dispatch.stop.store(true, Ordering::Relaxed);
                return Err(RenderError::Io {
                    path: PathBuf::from("<render worker>"),
                    source: e,
                });
            }
        }
    }
    drop(tx);
    // The job gives up: workers between sides see the stop flag, and those inside a PDF page
    // unwind at hayro's next read of the document.
    let fail = |err: RenderError| {
        dispatch.stop.store(true, Ordering::Relaxed);
        document.abandon();
        Err(err)
    };
    let mut outputs: Vec<Option<SideOutput>> = (0..jobs.len()).map(|_| None).collect();
    let mut received = 0;
    let mut stopped_early = false;
    while received < jobs.len() {
        match rx.recv_timeout(WATCH_INTERVAL) {
            Ok((index, Ok(output))) => {
                outputs[index] = Some(output);
                received += 1;
                if on_done(index).is_break() {
                    // Workers finish (or drop unwritten) the side in hand and leave; joined
                    // below, so no file of theirs appears after the caller has tidied up.
                    dispatch.stop.store(true, Ordering::Relaxed);
                    stopped_early = true;
                    break;
                }
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
            let bound = time_bound(job, limits);
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
    // Every side is in: a worker still waiting for a slot (a helper, on a busy machine) has
    // nothing left to draw and must not hold the job up.
    dispatch.stop.store(true, Ordering::Relaxed);
    // Every side is in, so the workers are leaving: waiting for them keeps them out of the
    // abandoned count, which would otherwise make the next job wait for nothing.
    for handle in handles {
        let _ = handle.join();
    }
    if !stopped_early && outputs.iter().any(Option::is_none) {
        return Err(RenderError::Cancelled);
    }
    Ok(outputs)
}

/// How long a side may take: [`Limits::page_time`] per cell and per `band_pixels` of its size.
fn time_bound(job: &SideJob, limits: &Limits) -> Duration {
    let size = u64::from(job.width) * u64::from(job.height);
    let slices = size.div_ceil(limits.band_pixels).max(1);
    limits.page_time * job.cells.len().max(1) as u32 * u32::try_from(slices).unwrap_or(u32::MAX)
}

/// A worker with no side left draws the bands nobody has claimed of the sides other workers
/// own, until none is left; a band that panics fails its side (its owner reports it) and
/// stops this worker, whose caches may be half-updated.
fn helper_bands(
    worker: &mut Worker<'_>,
    jobs: &[SideJob],
    shared: &Dispatch,
    cancel: &CancellationToken,
    set_in_flight: impl Fn(Option<(usize, Instant)>),
    options: WorkerOptions,
) {
    loop {
        if shared.stop.load(Ordering::Relaxed) || cancel.is_cancelled() {
            return;
        }
        let mut waiting = None;
        let claimed = (0..jobs.len()).find_map(|index| {
            if !jobs[index].is_banded() {
                return None;
            }
            match shared.bands[index].claim() {
                Claim::Band(band) => Some((index, band)),
                Claim::Later => {
                    waiting.get_or_insert(index);
                    None
                }
                Claim::None => None,
            }
        });
        let Some((index, band)) = claimed else {
            match waiting {
                Some(index) => {
                    shared.bands[index].wait_for_room();
                    continue;
                }
                None => return,
            }
        };
        let (job, bands) = (&jobs[index], &shared.bands[index]);
        set_in_flight(Some((index, Instant::now())));
        let drawing = Instant::now();
        let drawn = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            worker.band(job, &job.band_cells(), band, bands.buffer())
        }));
        set_in_flight(None);
        match drawn {
            Ok((encoded, work)) => bands.deposit(band, encoded, work, true),
            Err(panic) => {
                let failure = rasteriser_panic(job, options.format, &*panic);
                let work = BandWork {
                    drawing: drawing.elapsed(),
                    ..BandWork::default()
                };
                bands.deposit(band, Err(failure), work, true);
                return;
            }
        }
    }
}

/// The refusal for a side whose rasterising panicked, with the panic's message; a side the job
/// abandoned (its document unwound hayro) is cancelled, and reported to nobody.
fn rasteriser_panic(
    job: &SideJob,
    format: &'static str,
    panic: &(dyn std::any::Any + Send),
) -> RenderError {
    if panic.is::<JobAbandoned>() {
        return RenderError::Cancelled;
    }
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

#[cfg(test)]
mod tests {
    use super::*;

    /// The time bound follows a side's size and cells, not its band count: a light 600 dpi A4
    /// side cut into 35 cache bands gets two slices, like the same side drawn whole; a 1440 dpi
    /// A4 side seven, one per memory-sized band; a 2-up side one per cell.
    #[test]
    fn a_sides_time_bound_follows_its_pixels_not_its_bands() {
        use crate::rasteriser::Cell;
        use hayro::kurbo::Affine;
        let side = |width: u32, height: u32, band_rows: u32, cells: usize| SideJob {
            width,
            height,
            band_rows,
            cells: (0..cells)
                .map(|page| Cell {
                    page,
                    page_to_pixels: Affine::IDENTITY,
                    clip: (0, 0, width, height),
                })
                .collect(),
            turned_half: false,
            files: Vec::new(),
        };
        let minute = LIMITS.page_time;
        let cache_rows = (LIMITS.cache_band_pixels / 4961) as u32;
        assert_eq!(
            time_bound(&side(4961, 7016, cache_rows, 1), &LIMITS),
            2 * minute
        );
        assert_eq!(time_bound(&side(4961, 7016, 7016, 1), &LIMITS), 2 * minute);
        assert_eq!(
            time_bound(&side(11906, 16838, 2687, 1), &LIMITS),
            7 * minute
        );
        assert_eq!(time_bound(&side(2480, 3508, 3508, 2), &LIMITS), 2 * minute);
    }

    /// Printers of a fleet render at once: together their jobs never run more workers (and
    /// hold more sides' pixels) than the machine has cores, and every job still completes.
    #[test]
    fn concurrent_jobs_share_one_worker_per_core() {
        let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
        let pdf = crate::testpage::generate(&[(595.0, 842.0); 4]).unwrap();
        let dirs: Vec<_> = (0..4 * cores)
            .map(|_| tempfile::tempdir().unwrap())
            .collect();
        std::thread::scope(|scope| {
            for dir in &dirs {
                let pdf = &pdf;
                scope.spawn(move || {
                    let manifest = crate::render_native(
                        pdf,
                        crate::PDF,
                        72,
                        &[],
                        dir.path(),
                        &CancellationToken::new(),
                    )
                    .unwrap();
                    assert_eq!(manifest.sides.len(), 4);
                });
            }
        });
        let peak = PEAK_WORKERS.load(Ordering::SeqCst);
        assert!(
            (1..=cores).contains(&peak),
            "{peak} workers at once on {cores} cores"
        );
    }
}
