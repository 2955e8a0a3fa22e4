//! A banded side's bands, shared by the job's workers: each band is drawn and deflated by
//! whichever worker claims it, and the worker that owns the side joins them in order into its
//! PNG; a worker with no side left claims bands too, so a one-page job's large side is drawn
//! and encoded on every core its job has.
//!
//! How a side is split never depends on who draws which band (see `Limits::band_pixels`), so
//! the PNG is the same on one core or many, busy or idle.

use super::RenderError;
use super::png_writer::EncodedBand;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Condvar, Mutex, MutexGuard};
use std::time::Duration;

/// How long a worker waits for another's band before it looks at the job's stop flag again.
const STOP_CHECK: Duration = Duration::from_millis(20);

pub(super) struct SideBands {
    count: usize,
    /// Most bands drawn ahead of the owner's joining: each waits deflated, at most its pixels'
    /// size (a photograph barely deflates), so this bounds the side's memory whatever its
    /// band count.
    ahead: usize,
    claimed: AtomicUsize,
    encoded: AtomicUsize,
    state: Mutex<BandsState>,
    changed: Condvar,
}

/// What a worker looking for a band to draw gets.
pub(super) enum Claim {
    Band(usize),
    /// Every band left is too far ahead of the encoder for now.
    Later,
    /// Every band is claimed.
    None,
}

#[derive(Default)]
struct BandsState {
    /// Bands drawn and deflated, waiting to be joined into the PNG.
    drawn: Vec<Option<Result<EncodedBand, RenderError>>>,
    /// Buffers of bands already joined, for the next band deflated.
    spare: Vec<Vec<u8>>,
    /// Time helpers spent drawing and deflating, which the side's timings count.
    helpers: BandWork,
}

/// Time spent on a band.
#[derive(Clone, Copy, Default, Debug)]
pub(super) struct BandWork {
    pub(super) drawing: Duration,
    pub(super) encoding: Duration,
}

impl SideBands {
    pub(super) fn new(count: usize, ahead: usize) -> Self {
        Self {
            count,
            ahead: ahead.max(1),
            claimed: AtomicUsize::new(0),
            encoded: AtomicUsize::new(0),
            state: Mutex::new(BandsState {
                drawn: (0..count).map(|_| None).collect(),
                ..Default::default()
            }),
            changed: Condvar::new(),
        }
    }

    fn state(&self) -> MutexGuard<'_, BandsState> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The next band nobody draws yet, claimed for the caller.
    pub(super) fn claim(&self) -> Claim {
        let mut band = self.claimed.load(Ordering::Relaxed);
        loop {
            if band >= self.count {
                return Claim::None;
            }
            if band >= self.encoded.load(Ordering::Relaxed) + self.ahead {
                return Claim::Later;
            }
            match self.claimed.compare_exchange_weak(
                band,
                band + 1,
                Ordering::Relaxed,
                Ordering::Relaxed,
            ) {
                Ok(_) => return Claim::Band(band),
                Err(now) => band = now,
            }
        }
    }

    /// Waits a little for the encoder to make room for another band.
    pub(super) fn wait_for_room(&self) {
        let state = self.state();
        let claimed = self.claimed.load(Ordering::Relaxed);
        if claimed < self.count && claimed >= self.encoded.load(Ordering::Relaxed) + self.ahead {
            let _ = self.changed.wait_timeout(state, STOP_CHECK);
        }
    }

    /// A buffer for deflating a band into: one a joined band left, or a new one.
    pub(super) fn buffer(&self) -> Vec<u8> {
        self.state().spare.pop().unwrap_or_default()
    }

    /// Hands a deflated band (or why it could not be drawn) to the side's owner.
    pub(super) fn deposit(
        &self,
        band: usize,
        drawn: Result<EncodedBand, RenderError>,
        work: BandWork,
        by_helper: bool,
    ) {
        let mut state = self.state();
        state.drawn[band] = Some(drawn);
        if by_helper {
            state.helpers.drawing += work.drawing;
            state.helpers.encoding += work.encoding;
        }
        self.changed.notify_all();
    }

    /// The band, once drawn: at once when it is, else after waiting for the helper drawing it
    /// (`None` if the job stops meanwhile).
    pub(super) fn take(
        &self,
        band: usize,
        stop: &AtomicBool,
    ) -> Option<Result<EncodedBand, RenderError>> {
        let mut state = self.state();
        loop {
            if let Some(drawn) = state.drawn[band].take() {
                return Some(drawn);
            }
            if stop.load(Ordering::Relaxed) {
                return None;
            }
            state = self
                .changed
                .wait_timeout(state, STOP_CHECK)
                .unwrap_or_else(|p| p.into_inner())
                .0;
        }
    }

    /// Whether the band is drawn and waiting.
    pub(super) fn is_drawn(&self, band: usize) -> bool {
        self.state().drawn[band].is_some()
    }

    /// A band joined into the PNG: its buffer is for the next band, and one more band may be
    /// drawn ahead.
    pub(super) fn encoded(&self, band: EncodedBand) {
        let mut state = self.state();
        state.spare.push(band.into_buffer());
        self.encoded.fetch_add(1, Ordering::Relaxed);
        self.changed.notify_all();
    }

    /// The helpers' time, once the side is done.
    pub(super) fn helpers(&self) -> BandWork {
        self.state().helpers
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rasteriser::{Cell, SideJob, Worker, WorkerOptions};
    use crate::settings::ColorOutput;
    use crate::source::{self, Document};
    use crate::{PDF, testpage};
    use hayro::kurbo::Affine;

    /// A4 at 100 dpi in bands of 100 rows: 12 bands.
    fn banded_side(dir: &std::path::Path, name: &str, turned_half: bool) -> SideJob {
        let (width, height) = (827, 1169);
        SideJob {
            width,
            height,
            band_rows: 100,
            cells: vec![Cell {
                page: 0,
                page_to_pixels: Affine::scale(100.0 / 72.0),
                clip: (0, 0, width, height),
            }],
            turned_half,
            files: vec![dir.join(name)],
        }
    }

    fn document() -> Document {
        let pdf = testpage::generate(&[(595.28, 841.89)]).unwrap();
        source::open(&pdf, PDF, &[PDF.to_string()]).unwrap().0
    }

    fn options(color: ColorOutput) -> WorkerOptions {
        WorkerOptions {
            color,
            antialias: color != ColorOutput::BlackAndWhite,
            dpi: 100,
            format: PDF,
        }
    }

    /// Draws bands of `bands` on another worker until none is left: band 0 first, claimed
    /// before the owner starts, so the owner waits for it and draws others meanwhile.
    fn helper<'a>(
        scope: &'a std::thread::Scope<'a, '_>,
        document: &'a Document,
        job: &'a SideJob,
        bands: &'a SideBands,
        color: ColorOutput,
    ) -> std::thread::ScopedJoinHandle<'a, usize> {
        let Claim::Band(first) = bands.claim() else {
            panic!("band 0 unclaimed")
        };
        scope.spawn(move || {
            let mut worker = Worker::new(document, options(color));
            let mut band = first;
            let mut drawn = 0;
            loop {
                let (encoded, work) = worker.band(job, &job.band_cells(), band, bands.buffer());
                bands.deposit(band, encoded, work, true);
                drawn += 1;
                band = loop {
                    match bands.claim() {
                        Claim::Band(next) => break next,
                        Claim::Later => bands.wait_for_room(),
                        Claim::None => return drawn,
                    }
                };
            }
        })
    }

    /// The bands a helper draws are the owner's to the byte: a side prints the same PNG
    /// whether one worker draws every band or several share them, upright or turned, in
    /// colour, gray and aliased bilevel.
    #[test]
    fn a_side_prints_the_same_pixels_whoever_draws_its_bands() {
        let document = document();
        let dir = tempfile::tempdir().unwrap();
        let stop = AtomicBool::new(false);
        for color in [
            ColorOutput::Color,
            ColorOutput::Grayscale,
            ColorOutput::BlackAndWhite,
        ] {
            for turned in [false, true] {
                let alone_job = banded_side(dir.path(), "alone.png", turned);
                let count = alone_job.bands() as usize;
                assert_eq!(count, 12);
                let mut owner = Worker::new(&document, options(color));
                let alone = owner
                    .side(&alone_job, &SideBands::new(count, 1), &stop)
                    .unwrap();

                let shared_job = banded_side(dir.path(), "shared.png", turned);
                let bands = SideBands::new(count, 2);
                let (shared, helped) = std::thread::scope(|scope| {
                    let helping = helper(scope, &document, &shared_job, &bands, color);
                    let shared = owner.side(&shared_job, &bands, &stop).unwrap();
                    (shared, helping.join().unwrap())
                });
                assert!(
                    (1..count).contains(&helped),
                    "the helper drew {helped} of {count} bands"
                );
                assert_eq!(shared.sha256, alone.sha256, "{color:?}, turned {turned}");
                assert_eq!(
                    std::fs::read(dir.path().join("shared.png")).unwrap(),
                    std::fs::read(dir.path().join("alone.png")).unwrap()
                );
            }
        }
    }

    /// A band the helper could not draw fails its side with the helper's reason, and the
    /// side's file is not left half-written.
    #[test]
    fn a_band_that_fails_on_a_helper_fails_its_side() {
        let document = document();
        let dir = tempfile::tempdir().unwrap();
        let job = banded_side(dir.path(), "side.png", false);
        let bands = SideBands::new(job.bands() as usize, 2);
        let Claim::Band(band) = bands.claim() else {
            panic!("band 0 unclaimed")
        };
        let failure = RenderError::Unprintable {
            format: PDF,
            reason: "page(s) [1] broke the rasteriser (planted)".into(),
        };
        bands.deposit(band, Err(failure), BandWork::default(), true);
        let mut owner = Worker::new(&document, options(ColorOutput::Grayscale));
        let Err(err) = owner.side(&job, &bands, &AtomicBool::new(false)) else {
            panic!("the side printed without its band")
        };
        assert!(err.to_string().contains("planted"), "{err}");
        assert!(!dir.path().join("side.png").exists());
    }

    /// An owner waiting for a band a helper never delivers (its worker abandoned inside a
    /// page) gives up when the job stops, and leaves no file.
    #[test]
    fn an_owner_waiting_for_a_band_stops_with_its_job() {
        let document = document();
        let dir = tempfile::tempdir().unwrap();
        let job = banded_side(dir.path(), "side.png", false);
        let bands = SideBands::new(job.bands() as usize, 2);
        let Claim::Band(_) = bands.claim() else {
            panic!("band 0 unclaimed")
        };
        let stop = AtomicBool::new(false);
        let mut owner = Worker::new(&document, options(ColorOutput::Color));
        let outcome = std::thread::scope(|scope| {
            scope.spawn(|| {
                std::thread::sleep(Duration::from_millis(50));
                stop.store(true, Ordering::Relaxed);
            });
            owner.side(&job, &bands, &stop)
        });
        assert!(
            matches!(outcome.as_ref().err(), Some(RenderError::Cancelled)),
            "{:?}",
            outcome.err()
        );
        assert!(!dir.path().join("side.png").exists());
    }

    /// A page that leaves margins paints only its cell, so the margins are paper even when
    /// the band's buffer (a spare one) still holds another side's pixels: black here.
    #[test]
    fn margins_are_paper_whatever_the_buffer_held() {
        let document = document();
        let dir = tempfile::tempdir().unwrap();
        let mut job = banded_side(dir.path(), "side.png", false);
        let (width, height) = (job.width, job.height);
        let clip = (100, 150, width - 100, height - 150);
        job.cells[0].clip = clip;
        let mut worker = Worker::new(&document, options(ColorOutput::Grayscale));
        let cells = job.band_cells();
        let mut margins = 0;
        for band in 0..job.bands() as usize {
            let mut pixels = vec![0u8; width as usize * job.band_rows as usize];
            worker.draw_band(&job, &cells, band, &mut pixels);
            for (row, pixels) in pixels.chunks_exact(width as usize).enumerate() {
                let y = band as u32 * job.band_rows + row as u32;
                for (x, &gray) in pixels.iter().enumerate() {
                    let x = x as u32;
                    if x < clip.0 || x >= clip.2 || y < clip.1 || y >= clip.3 {
                        assert_eq!(gray, 0xFF, "pixel {x},{y} of band {band}");
                        margins += 1;
                    }
                }
            }
        }
        assert!(margins > 0);
    }
}
