//! Documents as the engine sees them: a PDF for hayro, or decoded raster pages (JPEG, PNG,
//! PWG raster, Apple raster) with their own resolution.

mod filter_chain;
mod image_size;
mod jpeg_png;
mod page_complexity;
mod path_load;
mod pdf;
mod raster;

#[cfg(test)]
pub(crate) use pdf::repair_pdf;

use super::RenderError;
use hayro::hayro_syntax::Pdf;
use jpeg_png::decode_image;
pub use page_complexity::PageCost;
pub use pdf::JobAbandoned;
use pdf::{PdfBytes, open_pdf};
use raster::{decode_pwg, decode_urf};
use std::sync::Arc;

pub const PDF: &str = "application/pdf";
pub const JPEG: &str = "image/jpeg";
pub const PNG: &str = "image/png";
pub const PWG_RASTER: &str = "image/pwg-raster";
pub const URF: &str = "image/urf";
/// Every format the engine can print.
pub const SUPPORTED_TYPES: &[&str] = &[PDF, JPEG, PNG, PWG_RASTER, URF];

/// More pages than any real job has; a document claiming more is refused before rendering.
pub const MAX_PAGES: usize = 20_000;
/// Largest decoded raster page (pixels), about A3 at 1200 dpi.
const MAX_RASTER_PIXELS: u64 = 300_000_000;
/// Largest total of decoded raster pixels kept for one document.
const MAX_RASTER_DOCUMENT_BYTES: u64 = 2 << 30;

/// A decoded raster page: 8-bit gray or RGB samples, row by row.
#[derive(Debug, Clone, PartialEq)]
pub struct RasterPage {
    pub width: u32,
    pub height: u32,
    /// Resolution across and down, dots per inch.
    pub dpi: (f64, f64),
    /// 1 (gray) or 3 (RGB).
    pub channels: u8,
    pub samples: Vec<u8>,
}

impl RasterPage {
    /// Size in points at its own resolution.
    pub fn points(&self) -> (f64, f64) {
        (
            self.width as f64 * 72.0 / self.dpi.0,
            self.height as f64 * 72.0 / self.dpi.1,
        )
    }

    /// RGB of the pixel at (x, y).
    pub fn rgb(&self, x: u32, y: u32) -> [u8; 3] {
        let i = (y as usize * self.width as usize + x as usize) * self.channels as usize;
        if self.channels == 1 {
            let g = self.samples[i];
            [g, g, g]
        } else {
            [self.samples[i], self.samples[i + 1], self.samples[i + 2]]
        }
    }
}

pub enum Document {
    Pdf {
        pdf: Pdf,
        /// The bytes `pdf` reads, whose tripwire stops workers the job has abandoned.
        bytes: Arc<PdfBytes>,
        /// What drawing each page costs: its path load, which the renderer bounds at the job's
        /// resolution, and its operators, which decide whether it is cheap to draw in bands.
        costs: Vec<PageCost>,
    },
    Raster(Vec<RasterPage>),
}

impl Document {
    /// Stops hayro, wherever it is drawing this document, at its next read of the PDF: the job
    /// has given up, and its workers' pages are drawn for nobody. (Raster pages are copied by
    /// our own code, which no page keeps busy for long.)
    pub fn abandon(&self) {
        if let Document::Pdf { bytes, .. } = self {
            bytes.abandon();
        }
    }

    /// Page sizes in points, after /Rotate for PDF.
    pub fn page_sizes(&self) -> Vec<(f64, f64)> {
        match self {
            Document::Pdf { pdf, .. } => pdf
                .pages()
                .iter()
                .map(|p| {
                    let (w, h) = p.render_dimensions();
                    (w as f64, h as f64)
                })
                .collect(),
            Document::Raster(pages) => pages.iter().map(RasterPage::points).collect(),
        }
    }
}

fn unprintable(format: &'static str, reason: impl Into<String>) -> RenderError {
    RenderError::Unprintable {
        format,
        reason: reason.into(),
    }
}

/// The format the bytes actually are, by their magic number.
pub fn sniff(bytes: &[u8]) -> Option<&'static str> {
    let head = &bytes[..bytes.len().min(1024)];
    if head.windows(5).any(|w| w == b"%PDF-") {
        Some(PDF)
    } else if head.starts_with(&[0xFF, 0xD8, 0xFF]) {
        Some(JPEG)
    } else if head.starts_with(b"\x89PNG\r\n\x1a\n") {
        Some(PNG)
    } else if head.starts_with(b"RaS2") {
        Some(PWG_RASTER)
    } else if head.starts_with(b"UNIRAST\0") {
        Some(URF)
    } else {
        None
    }
}

/// Normalises a MIME type (drops parameters and case).
pub fn base_type(content_type: &str) -> String {
    content_type
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase()
}

/// Opens a document the printer accepts. `application/octet-stream` means "detect it".
pub fn open(
    bytes: &[u8],
    content_type: &str,
    accepted: &[String],
) -> Result<(Document, &'static str), RenderError> {
    let declared = base_type(content_type);
    if !accepted.iter().any(|a| base_type(a) == declared) {
        return Err(RenderError::UnsupportedFormat(declared));
    }
    let format = if declared == "application/octet-stream" {
        sniff(bytes).ok_or_else(|| RenderError::UnsupportedFormat("unrecognised bytes".into()))?
    } else {
        let known = SUPPORTED_TYPES
            .iter()
            .copied()
            .find(|t| *t == declared)
            .ok_or_else(|| RenderError::UnsupportedFormat(declared.clone()))?;
        if sniff(bytes) != Some(known) {
            return Err(unprintable(known, "the bytes are not of the declared type"));
        }
        known
    };
    let document = match format {
        PDF => open_pdf(bytes)?,
        JPEG | PNG => Document::Raster(vec![decode_image(bytes, format)?]),
        PWG_RASTER => Document::Raster(decode_pwg(bytes)?),
        _ => Document::Raster(decode_urf(bytes)?),
    };
    let pages = match &document {
        Document::Pdf { pdf, .. } => pdf.pages().len(),
        Document::Raster(pages) => pages.len(),
    };
    if pages == 0 {
        return Err(unprintable(format, "the document has no pages"));
    }
    if pages > MAX_PAGES {
        return Err(unprintable(
            format,
            format!("{pages} pages is more than the {MAX_PAGES} this printer accepts"),
        ));
    }
    Ok((document, format))
}

#[cfg(test)]
pub(crate) mod tests {
    use super::jpeg_png::{DEFAULT_IMAGE_DPI, jfif_density};
    use super::raster::{Colorant, PWG_HEADER_LEN, PixelLayout, decode_runs};
    use super::*;

    /// Encodes lines with the shared run-length scheme (literal runs only, one line per
    /// record), enough to produce valid test files.
    fn encode_lines(samples: &[u8], line_len: usize, unit: usize) -> Vec<u8> {
        let mut out = Vec::new();
        for line in samples.chunks(line_len) {
            out.push(0);
            for chunk in line.chunks(128 * unit) {
                let units = chunk.len() / unit;
                out.push(if units == 1 { 0 } else { (257 - units) as u8 });
                out.extend_from_slice(chunk);
            }
        }
        out
    }

    /// A one-page PWG raster file; `raw` holds the lines as the header describes them.
    pub(crate) fn pwg_page(
        (width, height, dpi): (u32, u32, u32),
        color_space: u32,
        bits: u32,
        raw: &[u8],
    ) -> Vec<u8> {
        let channels = match color_space {
            6 => 4,
            1 | 19 | 20 => 3,
            _ => 1,
        };
        let bits_per_pixel = bits * channels;
        let line_len = (width * bits_per_pixel).div_ceil(8);
        let mut out = b"RaS2".to_vec();
        let mut header = vec![0u8; PWG_HEADER_LEN];
        let mut put =
            |offset: usize, v: u32| header[offset..offset + 4].copy_from_slice(&v.to_be_bytes());
        put(276, dpi);
        put(280, dpi);
        put(372, width);
        put(376, height);
        put(384, bits);
        put(388, bits_per_pixel);
        put(392, line_len);
        put(400, color_space);
        out.extend_from_slice(&header);
        let unit = (bits_per_pixel as usize / 8).max(1);
        out.extend(encode_lines(raw, line_len as usize, unit));
        out
    }

    pub(crate) fn pwg_file(width: u32, height: u32, dpi: u32, rgb: &[u8]) -> Vec<u8> {
        pwg_page((width, height, dpi), 19, 8, rgb)
    }

    pub(crate) fn urf_file(width: u32, height: u32, dpi: u32, gray: &[u8]) -> Vec<u8> {
        urf_page((width, height, dpi), 0, 8, gray)
    }

    fn urf_page(
        (width, height, dpi): (u32, u32, u32),
        color_space: u8,
        bits_per_pixel: u8,
        raw: &[u8],
    ) -> Vec<u8> {
        let mut out = b"UNIRAST\0".to_vec();
        out.extend_from_slice(&1u32.to_be_bytes());
        let mut header = [0u8; 32];
        header[0] = bits_per_pixel;
        header[1] = color_space;
        header[12..16].copy_from_slice(&width.to_be_bytes());
        header[16..20].copy_from_slice(&height.to_be_bytes());
        header[20..24].copy_from_slice(&dpi.to_be_bytes());
        out.extend_from_slice(&header);
        let unit = bits_per_pixel as usize / 8;
        out.extend(encode_lines(raw, width as usize * unit, unit));
        out
    }

    #[test]
    fn run_length_lines_decode_repeats_literals_and_white_fill() {
        // Line 1 three times: a run of 3 x 0x10, then 0x20 0x30 literal, then fill.
        let data = [2u8, 2, 0x10, 255, 0x20, 0x30, 128];
        let mut pos = 0;
        let gray = PixelLayout {
            colorant: Colorant::Gray,
            bits: 8,
        };
        let out = decode_runs(&data, &mut pos, (8, 3), gray, (PWG_RASTER, 1)).unwrap();
        let line = [0x10, 0x10, 0x10, 0x20, 0x30, 0xFF, 0xFF, 0xFF];
        assert_eq!(out, [line, line, line].concat());
        assert_eq!(pos, data.len());
    }

    #[test]
    fn pwg_and_urf_pages_keep_size_resolution_and_colour() {
        let rgb: Vec<u8> = (0..4 * 2 * 3).map(|i| i as u8 * 10).collect();
        let pages = decode_pwg(&pwg_file(4, 2, 150, &rgb)).unwrap();
        assert_eq!(pages.len(), 1);
        assert_eq!(
            (pages[0].width, pages[0].height, pages[0].channels),
            (4, 2, 3)
        );
        assert_eq!(pages[0].samples, rgb);
        assert_eq!(pages[0].points(), (4.0 * 72.0 / 150.0, 2.0 * 72.0 / 150.0));

        let gray: Vec<u8> = (0..300u32).map(|i| (i % 256) as u8).collect();
        let pages = decode_urf(&urf_file(150, 2, 300, &gray)).unwrap();
        assert_eq!(pages[0].samples, gray);
        assert_eq!(pages[0].dpi, (300.0, 300.0));
    }

    #[test]
    fn pwg_cmyk_bilevel_and_16_bit_pages_decode_to_gray_or_rgb() {
        // CMYK: paper white, full cyan, 50 % black, and C+M+Y+K all full.
        let cmyk = [0, 0, 0, 0, 255, 0, 0, 0, 0, 0, 0, 128, 255, 255, 255, 255];
        let pages = decode_pwg(&pwg_page((4, 1, 300), 6, 8, &cmyk)).unwrap();
        assert_eq!(pages[0].channels, 3);
        assert_eq!(
            pages[0].samples,
            [255, 255, 255, 0, 255, 255, 127, 127, 127, 0, 0, 0]
        );

        // 1-bit sGray (1 = white) and Black (1 = ink), 10 pixels: two bytes per line, the
        // last 6 bits padding. The same bits give opposite pixels.
        let bits = [0b1010_0000, 0b1100_0000];
        let white_is_one = [255, 0, 255, 0, 0, 0, 0, 0, 255, 255];
        let sgray = decode_pwg(&pwg_page((10, 1, 300), 18, 1, &bits)).unwrap();
        assert_eq!(sgray[0].samples, white_is_one);
        let black = decode_pwg(&pwg_page((10, 1, 300), 3, 1, &bits)).unwrap();
        let inverted: Vec<u8> = white_is_one.iter().map(|v| 255 - v).collect();
        assert_eq!(black[0].samples, inverted);

        // 16-bit sRGB keeps the high byte of each big-endian sample.
        let rgb16 = [0x12, 0x34, 0x56, 0x78, 0x9A, 0xBC];
        let pages = decode_pwg(&pwg_page((1, 1, 300), 19, 16, &rgb16)).unwrap();
        assert_eq!(pages[0].samples, [0x12, 0x56, 0x9A]);

        // 8-bit Black: 0 is white.
        let pages = decode_pwg(&pwg_page((2, 1, 300), 3, 8, &[0, 255])).unwrap();
        assert_eq!(pages[0].samples, [255, 0]);

        // A bit depth the colour space does not allow, and a lying bytes-per-line.
        assert!(decode_pwg(&pwg_page((2, 1, 300), 19, 1, &[0])).is_err());
        let mut lying = pwg_page((4, 1, 300), 6, 8, &cmyk);
        lying[4 + 392..4 + 396].copy_from_slice(&3u32.to_be_bytes());
        assert!(decode_pwg(&lying).is_err());
    }

    #[test]
    fn urf_cmyk_rgb_and_16_bit_gray_pages_decode() {
        let pages =
            decode_urf(&urf_page((2, 1, 300), 6, 32, &[0, 255, 0, 0, 0, 0, 0, 255])).unwrap();
        assert_eq!(pages[0].samples, [255, 0, 255, 0, 0, 0]);
        let pages = decode_urf(&urf_page((1, 1, 300), 1, 24, &[1, 2, 3])).unwrap();
        assert_eq!(
            (pages[0].channels, &pages[0].samples[..]),
            (3, &[1, 2, 3][..])
        );
        let pages = decode_urf(&urf_page((2, 1, 300), 4, 16, &[0xAB, 0xCD, 0x01, 0x02])).unwrap();
        assert_eq!(pages[0].samples, [0xAB, 0x01]);
        // CIE Lab is refused; 24 bits per pixel is no depth of gray.
        assert!(decode_urf(&urf_page((1, 1, 300), 2, 24, &[0, 0, 0])).is_err());
        assert!(decode_urf(&urf_page((1, 1, 300), 0, 24, &[0, 0, 0])).is_err());
    }

    #[test]
    fn images_keep_the_resolution_they_declare() {
        let pixels = image::RgbImage::from_pixel(30, 20, image::Rgb([10, 20, 30]));
        let mut jpeg = Vec::new();
        let mut encoder = image::codecs::jpeg::JpegEncoder::new_with_quality(&mut jpeg, 90);
        encoder.set_pixel_density(image::codecs::jpeg::PixelDensity::dpi(72));
        encoder.encode_image(&pixels).unwrap();
        assert_eq!(decode_image(&jpeg, JPEG).unwrap().dpi, (72.0, 72.0));

        let mut png_bytes = Vec::new();
        {
            let mut encoder = png::Encoder::new(&mut png_bytes, 30, 20);
            encoder.set_color(png::ColorType::Rgb);
            encoder.set_pixel_dims(Some(png::PixelDimensions {
                xppu: 5906,
                yppu: 11811,
                unit: png::Unit::Meter,
            }));
            let mut writer = encoder.write_header().unwrap();
            writer.write_image_data(pixels.as_raw()).unwrap();
        }
        let dpi = decode_image(&png_bytes, PNG).unwrap().dpi;
        assert!(
            (dpi.0 - 150.0).abs() < 0.1 && (dpi.1 - 300.0).abs() < 0.1,
            "{dpi:?}"
        );

        // No declared resolution, or a JFIF aspect ratio only: the 300 dpi photo default.
        let mut plain = Vec::new();
        pixels
            .write_to(
                &mut std::io::Cursor::new(&mut plain),
                image::ImageFormat::Png,
            )
            .unwrap();
        assert_eq!(decode_image(&plain, PNG).unwrap().dpi, DEFAULT_IMAGE_DPI);
        let mut aspect_only = jpeg.clone();
        let units = aspect_only.windows(5).position(|w| w == b"JFIF\0").unwrap() + 7;
        aspect_only[units] = 0;
        assert_eq!(
            decode_image(&aspect_only, JPEG).unwrap().dpi,
            DEFAULT_IMAGE_DPI
        );
        assert_eq!(jfif_density(&jpeg[..5]), None);
    }

    #[test]
    fn hostile_raster_is_refused_without_panicking() {
        let good = pwg_file(4, 2, 150, &[0; 24]);
        for cut in [5, 100, good.len() - 1] {
            assert!(decode_pwg(&good[..cut]).is_err(), "cut at {cut}");
        }
        let mut huge = good.clone();
        huge[4 + 372..4 + 376].copy_from_slice(&u32::MAX.to_be_bytes());
        assert!(decode_pwg(&huge).is_err());
        let urf = urf_file(3, 1, 300, &[1, 2, 3]);
        assert!(decode_urf(&urf[..urf.len() - 2]).is_err());
        let mut many = urf.clone();
        many[8..12].copy_from_slice(&u32::MAX.to_be_bytes());
        assert!(decode_urf(&many).is_err());
    }

    #[test]
    fn declared_type_must_be_accepted_and_match_the_bytes() {
        let accepted = vec![PDF.to_string(), PNG.to_string()];
        assert!(matches!(
            open(b"%PDF-1.4", "image/urf", &accepted),
            Err(RenderError::UnsupportedFormat(_))
        ));
        assert!(matches!(
            open(b"GIF89a", "image/png", &accepted),
            Err(RenderError::Unprintable { .. })
        ));
        assert!(matches!(
            open(b"%PDF-1.4 garbage", "application/pdf; charset=x", &accepted),
            Err(RenderError::Unprintable { .. })
        ));
    }
}
