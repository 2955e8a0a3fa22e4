//! Pixel memory that finished workers leave for later ones: hayro's pixmaps and side buffers.
//!
//! A side's worth of fresh memory (~140 MB of pixmap for A4 at 600 dpi) arrives from the kernel a
//! page fault at a time, which cost the render benchmark a fifth of its time, and a 600 dpi
//! one-page job more than its drawing. Buffers are handed out by size when a worker needs one,
//! not when it starts: the worker that draws a job's page gets the large pixmap even if the
//! other one started first, and a worker whose side is blank takes nothing. The price is memory
//! kept while the engine is idle: at most [`SPARE_MAX_BYTES`] per core, each buffer no larger.

use hayro::vello_cpu::Pixmap;
use std::sync::Mutex;

/// Largest buffer kept, and the bytes kept per core: A4 at 600 dpi (A3 at 300) in RGBA fits.
const SPARE_MAX_BYTES: usize = 160 << 20;

static SPARE: Mutex<Spare> = Mutex::new(Spare {
    pixmaps: Vec::new(),
    sides: Vec::new(),
});

struct Spare {
    pixmaps: Vec<Pixmap>,
    sides: Vec<Vec<u8>>,
}

impl Spare {
    fn bytes(&self) -> usize {
        self.pixmaps.iter().map(pixmap_bytes).sum::<usize>()
            + self.sides.iter().map(Vec::capacity).sum::<usize>()
    }

    /// Whether `bytes` more may be kept.
    fn has_room(&self, bytes: usize) -> bool {
        let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
        bytes > 0 && bytes <= SPARE_MAX_BYTES && self.bytes() + bytes <= cores * SPARE_MAX_BYTES
    }
}

fn spare() -> std::sync::MutexGuard<'static, Spare> {
    SPARE.lock().unwrap_or_else(|p| p.into_inner())
}

fn pixmap_bytes(pixmap: &Pixmap) -> usize {
    pixmap.capacity() * 4
}

/// Index of the smallest of `sizes` that is at least `needed`.
fn smallest_fit(sizes: impl Iterator<Item = usize>, needed: usize) -> Option<usize> {
    sizes
        .enumerate()
        .filter(|&(_, size)| size >= needed)
        .min_by_key(|&(_, size)| size)
        .map(|(index, _)| index)
}

/// Makes `pixmap` able to hold `pixels` without growing, with a spare pixmap if one is large
/// enough (its own, if smaller, is dropped).
pub(super) fn fit_pixmap(pixmap: &mut Pixmap, pixels: usize) {
    if pixmap.capacity() >= pixels {
        return;
    }
    let mut spare = spare();
    if let Some(index) = smallest_fit(spare.pixmaps.iter().map(Pixmap::capacity), pixels) {
        *pixmap = spare.pixmaps.swap_remove(index);
    }
}

/// The same for a side buffer of `bytes`. A spare one keeps its old pixels: a side its page
/// covers overwrites them all, and whitening 100 MB first for nothing was a tenth of a 600 dpi
/// colour job's render; the caller clears it where paper shows.
pub(super) fn fit_side(side: &mut Vec<u8>, bytes: usize) {
    if side.capacity() >= bytes {
        return;
    }
    let mut spare = spare();
    if let Some(index) = smallest_fit(spare.sides.iter().map(Vec::capacity), bytes) {
        *side = spare.sides.swap_remove(index);
    }
}

/// Keeps a worker's buffers for later workers, as far as there is room.
pub(super) fn keep(pixmap: Pixmap, side: Vec<u8>) {
    let mut spare = spare();
    if spare.has_room(pixmap_bytes(&pixmap)) {
        spare.pixmaps.push(pixmap);
    }
    drop(spare);
    keep_side(side);
}

/// Keeps a band's buffer that outlived its side.
pub(super) fn keep_side(side: Vec<u8>) {
    let mut spare = spare();
    if spare.has_room(side.capacity()) {
        spare.sides.push(side);
    }
}
