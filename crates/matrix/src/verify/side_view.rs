//! One printed side, decoded row by row into a small view (about [`VIEW_DPI`]) the marks are
//! looked for in, and the colour facts that need every pixel: whether any pixel is neither
//! black nor white, and whether any has chroma.

use std::path::Path;

/// Resolution the marks are looked for at: a corner mark of a 16-up page is still about nine
/// pixels wide, and an A4 side is half a megapixel whatever the job's dpi.
pub const VIEW_DPI: u32 = 75;

/// A pixel's colour counts as chroma when its channels differ by more than this (JPEG and
/// antialiasing leave a few levels between the channels of a gray).
const CHROMA_TOLERANCE: u8 = 24;

/// The downsampled side.
pub struct SideView {
    /// Size of the PNG, pixels.
    pub full_size: (u32, u32),
    /// Size of the view, pixels, and how many PNG pixels each view pixel averages per edge.
    pub width: usize,
    pub height: usize,
    pub factor: u32,
    /// Averaged RGB, 3 bytes a view pixel (gray PNGs repeat the gray).
    pub rgb: Vec<u8>,
    /// Whether the PNG stores colour at all.
    pub stores_colour: bool,
    /// Pixels (of the PNG) neither 0 nor 255 in every channel.
    pub intermediate_pixels: u64,
    /// Pixels (of the PNG) whose channels differ by more than [`CHROMA_TOLERANCE`].
    pub chroma_pixels: u64,
}

impl SideView {
    /// Rec. 601 luma of a view pixel.
    pub fn luma(&self, x: usize, y: usize) -> u8 {
        let [r, g, b] = self.pixel(x, y);
        ((299 * r as u32 + 587 * g as u32 + 114 * b as u32) / 1000) as u8
    }

    pub fn pixel(&self, x: usize, y: usize) -> [u8; 3] {
        let at = (y * self.width + x) * 3;
        [self.rgb[at], self.rgb[at + 1], self.rgb[at + 2]]
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ViewError {
    #[error("reading {path}: {source}")]
    Read {
        path: String,
        source: std::io::Error,
    },
    #[error("{path} is not a PNG the verifier reads: {message}")]
    Decode { path: String, message: String },
}

/// Reads the PNG at `path` whole: sides are compared byte for byte before they are decoded.
pub fn read(path: &Path) -> Result<Vec<u8>, ViewError> {
    std::fs::read(path).map_err(|source| ViewError::Read {
        path: path.display().to_string(),
        source,
    })
}

/// Decodes the PNG `bytes` of `path` and averages it down to about [`VIEW_DPI`] given the
/// side's `dpi`.
pub fn decode(bytes: &[u8], path: &Path, dpi: u32) -> Result<SideView, ViewError> {
    let shown = path.display().to_string();
    let decode_error = |e: png::DecodingError| ViewError::Decode {
        path: shown.clone(),
        message: e.to_string(),
    };
    let mut decoder = png::Decoder::new(std::io::Cursor::new(bytes));
    decoder.set_transformations(png::Transformations::EXPAND | png::Transformations::STRIP_16);
    let mut reader = decoder.read_info().map_err(decode_error)?;
    let (full_w, full_h) = (reader.info().width, reader.info().height);
    if reader.info().interlaced {
        // Rows of an interlaced PNG arrive pass by pass, not top to bottom.
        return Err(ViewError::Decode {
            path: shown.clone(),
            message: "interlaced PNGs are not read".into(),
        });
    }
    let channels = match reader.output_color_type().0 {
        png::ColorType::Grayscale => 1,
        png::ColorType::GrayscaleAlpha => 2,
        png::ColorType::Rgb => 3,
        png::ColorType::Rgba => 4,
        png::ColorType::Indexed => {
            return Err(ViewError::Decode {
                path: shown.clone(),
                message: "indexed colour after expansion".into(),
            });
        }
    };
    let factor = (dpi as f64 / VIEW_DPI as f64).round().max(1.0) as u32;
    let width = full_w.div_ceil(factor) as usize;
    let height = full_h.div_ceil(factor) as usize;
    // PNG pixels each view cell takes from one row: `factor`, fewer in the last column.
    let cell_pixels: Vec<u32> = (0..width as u32)
        .map(|cell| factor.min(full_w - cell * factor))
        .collect();
    let mut sums = vec![0u32; width * 3];
    let mut rgb = Vec::with_capacity(width * height * 3);
    let mut intermediate_pixels = 0;
    let mut chroma_pixels = 0;
    // A printed side is mostly rows equal to the row above (white paper, the straight edges of
    // marks): such a row adds what the row above added, so it is only counted, and what the
    // rows add is added once per run of equal rows.
    let mut previous: Option<Vec<u8>> = None;
    let mut row_facts = RowFacts::new(width);
    let mut repeats = 0u32;
    let mut band_rows = 0u32;
    let mut y = 0;
    while let Some(row) = reader.next_row().map_err(decode_error)? {
        let data = row.data();
        if previous.as_deref() != Some(data) {
            row_facts.add_to(&mut sums, repeats);
            repeats = 0;
            match channels {
                1 => row_facts.read::<1>(data, factor as usize),
                2 => row_facts.read::<2>(data, factor as usize),
                3 => row_facts.read::<3>(data, factor as usize),
                _ => row_facts.read::<4>(data, factor as usize),
            }
            let kept = previous.get_or_insert_with(Vec::new);
            kept.clear();
            kept.extend_from_slice(data);
        }
        repeats += 1;
        intermediate_pixels += row_facts.intermediate;
        chroma_pixels += row_facts.chroma;
        band_rows += 1;
        y += 1;
        if y % factor == 0 || y == full_h {
            row_facts.add_to(&mut sums, repeats);
            repeats = 0;
            for (cell, &pixels) in cell_pixels.iter().enumerate() {
                let count = pixels * band_rows;
                rgb.extend((0..3).map(|c| (sums[cell * 3 + c] / count) as u8));
            }
            sums.fill(0);
            band_rows = 0;
        }
    }
    Ok(SideView {
        full_size: (full_w, full_h),
        width,
        height: rgb.len() / (3 * width.max(1)),
        factor,
        rgb,
        stores_colour: channels >= 3,
        intermediate_pixels,
        chroma_pixels,
    })
}

/// What one row of PNG pixels adds to the view and to the colour facts.
struct RowFacts {
    /// Per view cell, the row's red, green and blue sums.
    sums: Vec<u32>,
    /// The row's pixels neither 0 nor 255 in every channel.
    intermediate: u64,
    /// The row's pixels whose channels differ by more than [`CHROMA_TOLERANCE`].
    chroma: u64,
}

impl RowFacts {
    fn new(width: usize) -> Self {
        Self {
            sums: vec![0; width * 3],
            intermediate: 0,
            chroma: 0,
        }
    }

    /// Adds what `rows` rows like the last one read add to a band's `sums`.
    fn add_to(&self, sums: &mut [u32], rows: u32) {
        if rows > 0 {
            for (sum, added) in sums.iter_mut().zip(&self.sums) {
                *sum += added * rows;
            }
        }
    }

    /// Reads a row of `CHANNELS`-byte pixels (gray, gray and alpha, RGB, RGBA), `factor`
    /// pixels to a view cell. One function per pixel size, so the per-pixel loop has no
    /// branch on it.
    fn read<const CHANNELS: usize>(&mut self, row: &[u8], factor: usize) {
        let extreme = |v: u8| v == 0 || v == 255;
        let (mut intermediate, mut chroma) = (0u64, 0u64);
        for (cell, pixels) in row.chunks(factor * CHANNELS).enumerate() {
            // Blank paper, the most of any side: the same sums without a look at each pixel.
            if pixels.iter().all(|&v| v == 255) {
                let white = 255 * (pixels.len() / CHANNELS) as u32;
                self.sums[cell * 3..cell * 3 + 3].fill(white);
                continue;
            }
            let mut sum = [0u32; 3];
            for pixel in pixels.chunks_exact(CHANNELS) {
                let [r, g, b] = if CHANNELS < 3 {
                    [pixel[0]; 3]
                } else {
                    [pixel[0], pixel[1], pixel[2]]
                };
                sum[0] += r as u32;
                sum[1] += g as u32;
                sum[2] += b as u32;
                intermediate += u64::from(!(extreme(r) && extreme(g) && extreme(b)));
                chroma += u64::from(r.max(g).max(b) - r.min(g).min(b) > CHROMA_TOLERANCE);
            }
            self.sums[cell * 3..cell * 3 + 3].copy_from_slice(&sum);
        }
        self.intermediate = intermediate;
        self.chroma = chroma;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// The view as its definition reads: every pixel of every row, one at a time.
    fn by_every_pixel(bytes: &[u8], dpi: u32) -> (Vec<u8>, u64, u64) {
        let mut decoder = png::Decoder::new(std::io::Cursor::new(bytes));
        decoder.set_transformations(png::Transformations::EXPAND | png::Transformations::STRIP_16);
        let mut reader = decoder.read_info().unwrap();
        let (full_w, full_h) = (reader.info().width, reader.info().height);
        let channels = reader.output_color_type().0.samples();
        let factor = (dpi as f64 / VIEW_DPI as f64).round().max(1.0) as u32;
        let width = full_w.div_ceil(factor) as usize;
        let (mut sums, mut counts) = (vec![0u32; width * 3], vec![0u32; width]);
        let (mut rgb, mut intermediate, mut chroma) = (Vec::new(), 0, 0);
        let mut y = 0;
        while let Some(row) = reader.next_row().unwrap() {
            for (x, pixel) in row.data().chunks_exact(channels).enumerate() {
                let [r, g, b] = if channels < 3 {
                    [pixel[0]; 3]
                } else {
                    [pixel[0], pixel[1], pixel[2]]
                };
                let cell = x / factor as usize;
                for (c, v) in [r, g, b].into_iter().enumerate() {
                    sums[cell * 3 + c] += v as u32;
                }
                counts[cell] += 1;
                let extreme = |v: u8| v == 0 || v == 255;
                intermediate += u64::from(!(extreme(r) && extreme(g) && extreme(b)));
                chroma += u64::from(r.max(g).max(b) - r.min(g).min(b) > CHROMA_TOLERANCE);
            }
            y += 1;
            if y % factor == 0 || y == full_h {
                for (cell, &count) in counts.iter().enumerate() {
                    rgb.extend((0..3).map(|c| (sums[cell * 3 + c] / count) as u8));
                }
                sums.fill(0);
                counts.fill(0);
            }
        }
        (rgb, intermediate, chroma)
    }

    /// A row: the row above again, blank paper, or pixels from a few levels (white included,
    /// so cells of blank paper sit beside marked ones).
    fn rows(width: usize, channels: usize) -> impl Strategy<Value = Vec<Vec<u8>>> {
        let row = prop_oneof![
            Just(None),
            Just(Some(vec![255u8; width * channels])),
            prop::collection::vec(
                prop::sample::select(vec![0u8, 255, 255, 255, 9, 128, 250]),
                width * channels
            )
            .prop_map(Some),
        ];
        prop::collection::vec(row, 1..40).prop_map(move |rows| {
            let mut out: Vec<Vec<u8>> = Vec::new();
            for row in rows {
                let row = row.unwrap_or_else(|| {
                    out.last()
                        .cloned()
                        .unwrap_or_else(|| vec![0; width * channels])
                });
                out.push(row);
            }
            out
        })
    }

    fn side() -> impl Strategy<Value = (png::ColorType, usize, Vec<Vec<u8>>, u32)> {
        let kinds = prop::sample::select(vec![
            png::ColorType::Grayscale,
            png::ColorType::GrayscaleAlpha,
            png::ColorType::Rgb,
            png::ColorType::Rgba,
        ]);
        (
            kinds,
            1usize..50,
            prop::sample::select(vec![75u32, 150, 300, 600, 1200]),
        )
            .prop_flat_map(|(kind, width, dpi)| {
                rows(width, kind.samples()).prop_map(move |rows| (kind, width, rows, dpi))
            })
    }

    proptest! {
        #[test]
        fn the_view_is_what_reading_every_pixel_gives((kind, width, rows, dpi) in side()) {
            let mut bytes = Vec::new();
            let mut encoder = png::Encoder::new(&mut bytes, width as u32, rows.len() as u32);
            encoder.set_color(kind);
            encoder.set_depth(png::BitDepth::Eight);
            encoder.write_header().unwrap().write_image_data(&rows.concat()).unwrap();
            let view = decode(&bytes, Path::new("side.png"), dpi).unwrap();
            let (rgb, intermediate, chroma) = by_every_pixel(&bytes, dpi);
            prop_assert_eq!(view.rgb, rgb);
            prop_assert_eq!(view.intermediate_pixels, intermediate);
            prop_assert_eq!(view.chroma_pixels, chroma);
        }
    }
}
