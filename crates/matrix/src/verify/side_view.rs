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
    let mut sums = vec![0u32; width * 3];
    let mut counts = vec![0u32; width];
    let mut rgb = Vec::with_capacity(width * height * 3);
    let mut intermediate_pixels = 0;
    let mut chroma_pixels = 0;
    let mut y = 0;
    while let Some(row) = reader.next_row().map_err(decode_error)? {
        for (x, pixel) in row.data().chunks_exact(channels).enumerate() {
            let [r, g, b] = if channels < 3 {
                [pixel[0]; 3]
            } else {
                [pixel[0], pixel[1], pixel[2]]
            };
            let cell = x / factor as usize;
            sums[cell * 3] += r as u32;
            sums[cell * 3 + 1] += g as u32;
            sums[cell * 3 + 2] += b as u32;
            counts[cell] += 1;
            let extreme = |v: u8| v == 0 || v == 255;
            if !(extreme(r) && extreme(g) && extreme(b)) {
                intermediate_pixels += 1;
            }
            if r.max(g).max(b) - r.min(g).min(b) > CHROMA_TOLERANCE {
                chroma_pixels += 1;
            }
        }
        y += 1;
        if y % factor == 0 || y == full_h {
            for (cell, &count) in counts.iter().enumerate() {
                let count = count.max(1);
                rgb.extend((0..3).map(|c| (sums[cell * 3 + c] / count) as u8));
            }
            sums.fill(0);
            counts.fill(0);
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
