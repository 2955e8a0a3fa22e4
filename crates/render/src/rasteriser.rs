//! One render thread: rasters a side's pages into its pixels and streams them to the PNG writer.

use super::RenderError;
use super::io_error;
use super::png_writer::{EncodedBand, OUTPUT_BUFFER, PngRows, PngSpec};
use super::settings::ColorOutput;
use super::side_bands::{BandWork, Claim, SideBands};
use super::source::{Document, RasterPage};
use super::spare_pixels;
use hayro::hayro_interpret::InterpreterSettings;
use hayro::hayro_interpret::util::TransformExt;
use hayro::hayro_syntax::Pdf;
use hayro::kurbo::{Affine, Point};
use hayro::vello_cpu::color::palette::css::WHITE;
use hayro::vello_cpu::{Pixmap, RasterizerSettings, RenderContext, Resources, TargetInit};
use hayro::{RenderCache, RenderSettings};
use std::borrow::Cow;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

/// Rows of a streamed side converted per batch: 16 A4 rows at 300 dpi are 120 KiB.
const STREAMED_ROWS: usize = 16;

/// A side to raster: pixel size and where each page goes, in pixels.
pub(super) struct SideJob {
    pub(super) width: u32,
    pub(super) height: u32,
    /// Rows drawn at a time: the height, or less for a side too large to hold whole.
    pub(super) band_rows: u32,
    pub(super) cells: Vec<Cell>,
    pub(super) turned_half: bool,
    pub(super) files: Vec<PathBuf>,
}

impl SideJob {
    /// The document pages on this side, numbered from 1, for messages.
    pub(super) fn pages(&self) -> Vec<usize> {
        self.cells.iter().map(|c| c.page + 1).collect()
    }

    /// How many bands the side is drawn in (1 when whole).
    pub(super) fn bands(&self) -> u32 {
        self.height.div_ceil(self.band_rows.max(1))
    }

    /// Whether the side is drawn in bands: it has pages, and more rows than a band.
    pub(super) fn is_banded(&self) -> bool {
        self.band_rows < self.height && !self.cells.is_empty()
    }

    /// The cells as a banded side draws them: a side turned half is drawn turned, through its
    /// cells' transforms, instead of being reversed afterwards.
    pub(super) fn band_cells(&self) -> Cow<'_, [Cell]> {
        if self.turned_half {
            Cow::Owned(
                self.cells
                    .iter()
                    .map(|c| c.turned_half(self.width, self.height))
                    .collect(),
            )
        } else {
            Cow::Borrowed(&self.cells)
        }
    }
}

#[derive(Clone)]
pub(super) struct Cell {
    pub(super) page: usize,
    /// Page space (points, y down, after /Rotate) to sheet pixels.
    pub(super) page_to_pixels: Affine,
    /// Integer pixel rectangle the page may paint.
    pub(super) clip: (u32, u32, u32, u32),
}

impl Cell {
    /// The same cell on the side turned by 180° about its centre: what a whole side's
    /// [`turn_half`] does to its pixels, done to the geometry.
    fn turned_half(&self, width: u32, height: u32) -> Cell {
        let (x0, y0, x1, y1) = self.clip;
        let turn = Affine::new([-1.0, 0.0, 0.0, -1.0, width as f64, height as f64]);
        Cell {
            page: self.page,
            page_to_pixels: turn * self.page_to_pixels,
            clip: (width - x1, height - y1, width - x0, height - y0),
        }
    }

    /// The part of the cell within sheet rows `top..bottom`, in the coordinates of a band whose
    /// first row is `top`; `None` when the cell has no pixel there.
    fn within_rows(&self, top: u32, bottom: u32) -> Option<Cell> {
        let (x0, y0, x1, y1) = self.clip;
        let (y0, y1) = (y0.max(top), y1.min(bottom));
        (x0 < x1 && y0 < y1).then(|| Cell {
            page: self.page,
            page_to_pixels: Affine::translate((0.0, -(top as f64))) * self.page_to_pixels,
            clip: (x0, y0 - top, x1, y1 - top),
        })
    }
}

pub(super) struct SideOutput {
    pub(super) sha256: String,
    pub(super) render: Duration,
    pub(super) encode: Duration,
}

/// What every worker of one job renders with.
#[derive(Debug, Clone, Copy)]
pub(super) struct WorkerOptions {
    pub(super) color: ColorOutput,
    pub(super) antialias: bool,
    pub(super) dpi: u32,
    /// For error messages.
    pub(super) format: &'static str,
}

/// One render thread's state: hayro's cache is per thread, and the context, pixmap and side
/// buffer are reused from side to side so a worker holds one side's pixels at a time; the
/// pixel buffers come from and go back to [`spare_pixels`].
pub(super) struct Worker<'a> {
    document: &'a Document,
    cache: RenderCache<'a>,
    context: Option<RenderContext>,
    pixmap: Pixmap,
    pixels: Vec<u8>,
    render_settings: RenderSettings,
    color: ColorOutput,
    dpi: u32,
}

impl Drop for Worker<'_> {
    fn drop(&mut self) {
        let pixmap = std::mem::replace(&mut self.pixmap, Pixmap::new(1, 1));
        spare_pixels::keep(pixmap, std::mem::take(&mut self.pixels));
    }
}

impl<'a> Worker<'a> {
    pub(super) fn new(document: &'a Document, options: WorkerOptions) -> Self {
        Self {
            document,
            cache: RenderCache::new(),
            context: None,
            pixmap: Pixmap::new(1, 1),
            pixels: Vec::new(),
            render_settings: RenderSettings {
                aliasing_threshold: if options.antialias { None } else { Some(128) },
                ..Default::default()
            },
            color: options.color,
            dpi: options.dpi,
        }
    }

    /// Draws and encodes a side; `bands` shares a banded side's bands with the job's other
    /// workers.
    pub(super) fn side(
        &mut self,
        job: &SideJob,
        bands: &SideBands,
        stop: &AtomicBool,
    ) -> Result<SideOutput, RenderError> {
        // A side with no page on it is one white row repeated, banded or not.
        if job.is_banded() {
            return self.side_in_bands(job, bands, stop);
        }
        let started = Instant::now();
        let channels = self.color.channels();
        let row_bytes = job.width as usize * channels;
        let mut pixels = std::mem::take(&mut self.pixels);
        // A side with no page on it (the back of an odd page count) is paper: white, turned
        // or not. Its PNG is one white row repeated, with no raster behind it.
        let blank = job.cells.is_empty();
        // One upright PDF page covering the side goes from hayro's pixmap to the PNG a row at a
        // time: each converted row is filtered and compressed while it is still in cache, and
        // the side buffer is neither written nor read back. Other sides are assembled there.
        let streamed = match (self.document, &job.cells[..]) {
            _ if blank => false,
            (Document::Pdf { pdf, .. }, [cell])
                if cell.clip == (0, 0, job.width, job.height) && !job.turned_half =>
            {
                self.rasterise(pdf, cell);
                true
            }
            _ => {
                let side_bytes = row_bytes * job.height as usize;
                spare_pixels::fit_side(&mut pixels, side_bytes);
                self.paper(&mut pixels, side_bytes, row_bytes, &job.cells);
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
            if blank {
                pixels.clear();
                pixels.resize(row_bytes, 0xFF);
                rows.push_rows(&pixels)?;
                return rows.push_repeats(job.height - 1);
            }
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
        let written = Self::write_side(job, &png, &mut fill);
        let encode = started.elapsed().saturating_sub(converting);
        render += converting;
        self.pixels = pixels;
        Ok(SideOutput {
            sha256: written?,
            render,
            encode,
        })
    }

    /// Encodes the side into its first file (or nowhere, when it has none) and copies that
    /// file for each further one, returning the PNG's SHA-256.
    fn write_side(
        job: &SideJob,
        png: &PngSpec,
        fill: &mut dyn FnMut(&mut PngRows<'_>) -> std::io::Result<()>,
    ) -> Result<String, RenderError> {
        match job.files.split_first() {
            Some((first, copies)) => std::fs::File::create(first)
                .and_then(|file| {
                    let mut out = std::io::BufWriter::with_capacity(OUTPUT_BUFFER, file);
                    png.encode(&mut out, fill)
                })
                .map_err(|e| io_error(first, e))
                .and_then(|sha256| {
                    // Every copy prints the same side again: the same file, linked rather than
                    // written again, so 999 copies cost one side's bytes on disk.
                    for path in copies {
                        same_file_at(first, path).map_err(|e| io_error(path, e))?;
                    }
                    Ok(sha256)
                }),
            None => png
                .encode(&mut std::io::sink(), fill)
                .map_err(|e| io_error(Path::new("<sink>"), e)),
        }
    }

    /// A side drawn in bands of rows (too large to hold whole, or light pages drawn where the
    /// cache holds them): each band is drawn (every cell clipped to it) and deflated by
    /// whichever of the job's workers claims it ([`SideBands`]), and joined into the PNG in
    /// order here, so the side's memory is a few bands' whatever its size. This worker draws
    /// whichever band is unclaimed while the next to join is not ready, and waits when a
    /// helper has it.
    fn side_in_bands(
        &mut self,
        job: &SideJob,
        bands: &SideBands,
        stop: &AtomicBool,
    ) -> Result<SideOutput, RenderError> {
        let started = Instant::now();
        let cells = job.band_cells();
        let mut own = BandWork::default();
        let mut stopped = false;
        let mut failed = None;
        let png = PngSpec {
            width: job.width,
            height: job.height,
            channels: self.color.channels(),
            dpi: self.dpi,
        };
        let mut fill = |rows: &mut PngRows<'_>| -> std::io::Result<()> {
            for next in 0..job.bands() as usize {
                while !bands.is_drawn(next) {
                    let Claim::Band(band) = bands.claim() else {
                        break;
                    };
                    // The dispatcher has given up on this job: the file is removed below.
                    if stop.load(Ordering::Relaxed) {
                        stopped = true;
                        return Err(std::io::Error::other("stopped"));
                    }
                    let (encoded, work) = self.band(job, &cells, band, bands.buffer());
                    own.drawing += work.drawing;
                    own.encoding += work.encoding;
                    bands.deposit(band, encoded, work, false);
                }
                match bands.take(next, stop) {
                    Some(Ok(band)) => {
                        rows.push_band(&band)?;
                        bands.encoded(band);
                    }
                    Some(Err(e)) => {
                        failed = Some(e);
                        return Err(std::io::Error::other("a band failed"));
                    }
                    None => {
                        stopped = true;
                        return Err(std::io::Error::other("stopped"));
                    }
                }
            }
            Ok(())
        };
        let written = Self::write_side(job, &png, &mut fill);
        if stopped || failed.is_some() {
            if let Some(first) = job.files.first() {
                let _ = std::fs::remove_file(first);
            }
            return Err(failed.unwrap_or(RenderError::Cancelled));
        }
        let helpers = bands.helpers();
        // Joining, and waiting for helpers' bands, counts as encoding: it is the side's wall
        // time less this worker's drawing.
        let encode = started.elapsed().saturating_sub(own.drawing);
        Ok(SideOutput {
            sha256: written?,
            render: own.drawing + helpers.drawing,
            encode: encode + helpers.encoding,
        })
    }

    /// Draws band `band` of a banded side (the side's format, white where no page paints) and
    /// deflates it into `buffer` for the side's owner to join.
    pub(super) fn band(
        &mut self,
        job: &SideJob,
        cells: &[Cell],
        band: usize,
        buffer: Vec<u8>,
    ) -> (Result<EncodedBand, RenderError>, BandWork) {
        let drawing = Instant::now();
        let mut pixels = std::mem::take(&mut self.pixels);
        self.draw_band(job, cells, band, &mut pixels);
        let drawn = drawing.elapsed();
        let row_bytes = job.width as usize * self.color.channels();
        let encoded = EncodedBand::encode(&pixels, row_bytes, buffer).map_err(|e| {
            let side = job
                .files
                .first()
                .map_or(Path::new("<sink>"), PathBuf::as_path);
            io_error(side, e)
        });
        self.pixels = pixels;
        let work = BandWork {
            drawing: drawn,
            encoding: drawing.elapsed() - drawn,
        };
        (encoded, work)
    }

    /// Draws band `band` of a banded side into `pixels`.
    pub(super) fn draw_band(
        &mut self,
        job: &SideJob,
        cells: &[Cell],
        band: usize,
        pixels: &mut Vec<u8>,
    ) {
        let top = band as u32 * job.band_rows;
        let bottom = (top + job.band_rows).min(job.height);
        let row_bytes = job.width as usize * self.color.channels();
        let band_bytes = row_bytes * (bottom - top) as usize;
        let cells: Vec<Cell> = cells
            .iter()
            .filter_map(|c| c.within_rows(top, bottom))
            .collect();
        spare_pixels::fit_side(pixels, band_bytes);
        self.paper(pixels, band_bytes, row_bytes, &cells);
        for cell in &cells {
            self.cell(cell, pixels, job.width as usize);
        }
    }

    /// Makes `pixels` `bytes` long with paper wherever `cells` will not paint. One PDF page
    /// overwrites every pixel of its cell, so only its margins are whitened and the rest may
    /// keep what the buffer held (a spare one's old pixels): whitening a whole 600 dpi A4 side
    /// first was a tenth of a colour job's render. Raster pages paint only where they are, and
    /// n-up cells leave gutters, so those start from a white buffer.
    fn paper(&self, pixels: &mut Vec<u8>, bytes: usize, row_bytes: usize, cells: &[Cell]) {
        let one_page = match (self.document, cells) {
            (Document::Pdf { .. }, [cell]) => Some(cell.clip),
            _ => None,
        };
        let Some((x0, y0, x1, y1)) = one_page else {
            pixels.clear();
            pixels.resize(bytes, 0xFF);
            return;
        };
        pixels.resize(bytes, 0xFF);
        let channels = self.color.channels();
        let (left, right) = (x0 as usize * channels, x1 as usize * channels);
        for (y, row) in pixels.chunks_exact_mut(row_bytes).enumerate() {
            if (y0 as usize..y1 as usize).contains(&y) {
                row[..left].fill(0xFF);
                row[right..].fill(0xFF);
            } else {
                row.fill(0xFF);
            }
        }
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
        spare_pixels::fit_pixmap(&mut self.pixmap, usize::from(cw) * usize::from(ch));
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
            Document::Pdf { pdf, .. } => {
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

/// Puts the file `first` at `path` as well: a hard link (replacing what a render stopped
/// midway left there), or a copy where the file system has no links.
fn same_file_at(first: &Path, path: &Path) -> std::io::Result<()> {
    match std::fs::remove_file(path) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => return Err(e),
        _ => {}
    }
    std::fs::hard_link(first, path).or_else(|_| std::fs::copy(first, path).map(drop))
}

/// Premultiplied RGBA composited on white (the pixmap was cleared white, so alpha is 255) to
/// the side's pixels.
pub(super) fn convert_row(src: &[u8], dst: &mut [u8], color: ColorOutput) {
    match color {
        ColorOutput::Color => rgb_row(src, dst),
        ColorOutput::Grayscale => gray_row(src, dst, |l| l),
        ColorOutput::BlackAndWhite => gray_row(src, dst, bilevel),
    }
}

/// Drops each pixel's alpha. Where the processor has SSSE3 (every x86-64 machine since
/// 2006), four pixels at a time with one byte shuffle: the baseline x86-64 the project builds
/// for has no byte shuffle, so the compiler moved bytes one at a time, a quarter of a colour
/// side's CPU once its bands were drawn in the cache (perf); shuffled, the colour printer's
/// render took 0.9x the CPU (benches/README.md, print_latency).
pub(super) fn rgb_row(src: &[u8], dst: &mut [u8]) {
    #[cfg(target_arch = "x86_64")]
    if std::arch::is_x86_feature_detected!("ssse3") {
        // SAFETY: the processor has SSSE3, checked just above.
        let done = unsafe { rgb_by_shuffles(src, dst) };
        return rgb_by_moves(&src[done * 4..], &mut dst[done * 3..]);
    }
    rgb_by_moves(src, dst)
}

/// Drops the alpha of four pixels at a time with one byte shuffle, and returns how many pixels
/// it converted: all whole groups of four.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "ssse3")]
pub(super) fn rgb_by_shuffles(src: &[u8], dst: &mut [u8]) -> usize {
    use std::arch::x86_64::{__m128i, _mm_shuffle_epi8};
    let order: __m128i = bytemuck::cast([0i8, 1, 2, 4, 5, 6, 8, 9, 10, 12, 13, 14, -1, -1, -1, -1]);
    let mut done = 0;
    for (d, s) in dst.chunks_exact_mut(12).zip(src.chunks_exact(16)) {
        let pixels: [u8; 16] = s.try_into().expect("16 bytes");
        let rgb: [u8; 16] = bytemuck::cast(_mm_shuffle_epi8(bytemuck::cast(pixels), order));
        d.copy_from_slice(&rgb[..12]);
        done += 4;
    }
    done
}

/// Drops each pixel's alpha, eight pixels at a time as fixed-size arrays.
pub(super) fn rgb_by_moves(src: &[u8], dst: &mut [u8]) {
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

/// One gray byte per pixel. Paper is most of most pages, so eight white pixels at a time are
/// written white without weighing their channels (white is 255 in gray and in bilevel alike).
/// The blocks are compared and weighed as fixed-size arrays: a 32-byte slice compared byte by
/// byte with an early exit was a third of a fleet's CPU while printing (perf,
/// benches/README.md#device_fleet); as arrays the compiler compares and weighs whole vectors.
fn gray_row(src: &[u8], dst: &mut [u8], tone: impl Fn(u8) -> u8) {
    let mut dst_blocks = dst.chunks_exact_mut(8);
    let mut src_blocks = src.chunks_exact(32);
    for (d, s) in (&mut dst_blocks).zip(&mut src_blocks) {
        let s: &[u8; 32] = s.try_into().expect("32-byte block");
        let d: &mut [u8; 8] = d.try_into().expect("8-byte block");
        *d = if *s == [0xFF; 32] {
            [0xFF; 8]
        } else {
            std::array::from_fn(|i| tone(luma(s[4 * i], s[4 * i + 1], s[4 * i + 2])))
        };
    }
    let rest = dst_blocks.into_remainder();
    for (d, s) in rest.iter_mut().zip(src_blocks.remainder().chunks_exact(4)) {
        *d = tone(luma(s[0], s[1], s[2]));
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
