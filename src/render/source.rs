//! Documents as the engine sees them: a PDF for hayro, or decoded raster pages (JPEG, PNG,
//! PWG raster, Apple raster) with their own resolution.

use super::RenderError;
use hayro::hayro_syntax::{LoadPdfError, Pdf};

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
    Pdf(Pdf),
    Raster(Vec<RasterPage>),
}

impl Document {
    /// Page sizes in points, after /Rotate for PDF.
    pub fn page_sizes(&self) -> Vec<(f64, f64)> {
        match self {
            Document::Pdf(pdf) => pdf
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
        Document::Pdf(pdf) => pdf.pages().len(),
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

fn open_pdf(bytes: &[u8]) -> Result<Document, RenderError> {
    let pdf = Pdf::new(bytes.to_vec()).map_err(|e| match e {
        LoadPdfError::Decryption(d) => unprintable(PDF, format!("encrypted: {d:?}")),
        LoadPdfError::Invalid => unprintable(PDF, "not a readable PDF"),
    })?;
    Ok(Document::Pdf(pdf))
}

fn decode_image(bytes: &[u8], format: &'static str) -> Result<RasterPage, RenderError> {
    let kind = if format == JPEG {
        image::ImageFormat::Jpeg
    } else {
        image::ImageFormat::Png
    };
    let mut reader = image::ImageReader::with_format(std::io::Cursor::new(bytes), kind);
    let mut limits = image::Limits::default();
    limits.max_alloc = Some(MAX_RASTER_PIXELS * 3);
    reader.limits(limits);
    let decoded = reader
        .decode()
        .map_err(|e| unprintable(format, e.to_string()))?;
    let dpi = declared_resolution(bytes, format).unwrap_or(DEFAULT_IMAGE_DPI);
    let (width, height) = (decoded.width(), decoded.height());
    let (channels, samples) = if decoded.color().has_color() {
        (3, decoded.into_rgb8().into_raw())
    } else {
        (1, decoded.into_luma8().into_raw())
    };
    Ok(RasterPage {
        width,
        height,
        dpi,
        channels,
        samples,
    })
}

/// What printers assume for an image that declares no resolution: a 300 dpi photo.
const DEFAULT_IMAGE_DPI: (f64, f64) = (300.0, 300.0);

/// Resolutions outside this range are header noise (a JFIF density of 1 is common), not a
/// statement about the image, so they are ignored.
const PLAUSIBLE_DPI: std::ops::RangeInclusive<f64> = 10.0..=10_000.0;

/// The resolution an image declares: PNG's pHYs chunk (metres) or JPEG's JFIF density (inch or
/// cm). `image` decodes pixels but does not surface either, so they are read here; for PNG the
/// `png` crate's header parse does it, and the JFIF APP0 segment is a fixed 16-byte layout.
fn declared_resolution(bytes: &[u8], format: &'static str) -> Option<(f64, f64)> {
    let dpi = if format == PNG {
        let reader = png::Decoder::new(std::io::Cursor::new(bytes))
            .read_info()
            .ok()?;
        let dims = reader.info().pixel_dims?;
        if dims.unit != png::Unit::Meter {
            return None;
        }
        (dims.xppu as f64 * 0.0254, dims.yppu as f64 * 0.0254)
    } else {
        jfif_density(bytes)?
    };
    (PLAUSIBLE_DPI.contains(&dpi.0) && PLAUSIBLE_DPI.contains(&dpi.1)).then_some(dpi)
}

/// Walks the JPEG marker segments up to the first scan and reads the JFIF APP0 density.
fn jfif_density(bytes: &[u8]) -> Option<(f64, f64)> {
    let mut at = 2; // after SOI
    if bytes.get(..2)? != [0xFF, 0xD8] {
        return None;
    }
    while let [0xFF, marker, hi, lo, ..] = *bytes.get(at..at + 4)? {
        let length = u16::from_be_bytes([hi, lo]) as usize;
        if marker == 0xDA || length < 2 {
            return None; // start of scan: no JFIF header came first
        }
        let segment = bytes.get(at + 4..at + 2 + length)?;
        if marker == 0xE0 && segment.len() >= 12 && segment.starts_with(b"JFIF\0") {
            let x = u16::from_be_bytes([segment[8], segment[9]]) as f64;
            let y = u16::from_be_bytes([segment[10], segment[11]]) as f64;
            return match segment[7] {
                1 => Some((x, y)),
                2 => Some((x * 2.54, y * 2.54)),
                _ => None, // 0: an aspect ratio only
            };
        }
        at += 2 + length;
    }
    None
}

/// Checks one raster page's declared geometry before allocating for it.
fn check_geometry(
    format: &'static str,
    page: usize,
    width: u32,
    height: u32,
    total: &mut u64,
    channels: u8,
) -> Result<(), RenderError> {
    let pixels = width as u64 * height as u64;
    if width == 0 || height == 0 || pixels > MAX_RASTER_PIXELS {
        return Err(unprintable(
            format,
            format!("page {page}: {width}x{height} pixels is not a printable size"),
        ));
    }
    *total += pixels * channels as u64;
    if *total > MAX_RASTER_DOCUMENT_BYTES {
        return Err(unprintable(format, "decoded pages exceed the memory limit"));
    }
    Ok(())
}

/// Decodes the run-length line format PWG raster and Apple raster share: a line-repeat byte,
/// then runs of repeated pixels (0..=127: one pixel, n+1 times) and literal pixels
/// (129..=255: 257-n pixels); 128 fills the rest of the line with white.
#[allow(clippy::too_many_arguments)]
fn decode_runs(
    data: &[u8],
    pos: &mut usize,
    width: usize,
    height: usize,
    bytes_per_pixel: usize,
    white: u8,
    format: &'static str,
    page: usize,
) -> Result<Vec<u8>, RenderError> {
    let line_len = width * bytes_per_pixel;
    let mut out = Vec::with_capacity(line_len * height);
    let truncated = || unprintable(format, format!("page {page}: raster data ends early"));
    let mut y = 0;
    while y < height {
        let repeat = *data.get(*pos).ok_or_else(truncated)? as usize + 1;
        *pos += 1;
        let line_start = out.len();
        while out.len() - line_start < line_len {
            let code = *data.get(*pos).ok_or_else(truncated)?;
            *pos += 1;
            let left = line_len - (out.len() - line_start);
            if code == 128 {
                out.resize(out.len() + left, white);
            } else if code < 128 {
                let count = (code as usize + 1) * bytes_per_pixel;
                let pixel = data
                    .get(*pos..*pos + bytes_per_pixel)
                    .ok_or_else(truncated)?;
                *pos += bytes_per_pixel;
                if count > left {
                    return Err(unprintable(
                        format,
                        format!("page {page}: run overflows a line"),
                    ));
                }
                for _ in 0..code as usize + 1 {
                    out.extend_from_slice(pixel);
                }
            } else {
                let count = (257 - code as usize) * bytes_per_pixel;
                if count > left {
                    return Err(unprintable(
                        format,
                        format!("page {page}: run overflows a line"),
                    ));
                }
                let literal = data.get(*pos..*pos + count).ok_or_else(truncated)?;
                out.extend_from_slice(literal);
                *pos += count;
            }
        }
        let repeat = repeat.min(height - y);
        for _ in 1..repeat {
            out.extend_from_within(line_start..line_start + line_len);
        }
        y += repeat;
    }
    Ok(out)
}

fn be32(data: &[u8], offset: usize) -> u32 {
    u32::from_be_bytes(data[offset..offset + 4].try_into().expect("4 bytes"))
}

const PWG_HEADER_LEN: usize = 1796;

/// PWG 5102.4 raster: "RaS2", then per page a 1796-byte header and run-length data.
/// Supports what IPP Everywhere requires: 8-bit sGray/W/K and 8-bit sRGB/RGB/AdobeRGB
/// (16-bit samples keep their high byte).
fn decode_pwg(data: &[u8]) -> Result<Vec<RasterPage>, RenderError> {
    let mut pos = 4;
    let mut pages = Vec::new();
    let mut total = 0;
    while pos < data.len() {
        let page = pages.len() + 1;
        let header = data
            .get(pos..pos + PWG_HEADER_LEN)
            .ok_or_else(|| unprintable(PWG_RASTER, format!("page {page}: header is truncated")))?;
        pos += PWG_HEADER_LEN;
        let dpi = (be32(header, 276) as f64, be32(header, 280) as f64);
        let (width, height) = (be32(header, 372), be32(header, 376));
        let bits_per_color = be32(header, 384);
        let bits_per_pixel = be32(header, 388);
        let color_space = be32(header, 400);
        // W=0, RGB=1, K=3, sGray=18, sRGB=19, AdobeRGB=20 (cups_cspace_t).
        let (channels, inverted) = match color_space {
            0 | 18 => (1u8, false),
            3 => (1, true),
            1 | 19 | 20 => (3, false),
            other => {
                return Err(unprintable(
                    PWG_RASTER,
                    format!("page {page}: colour space {other} is not supported"),
                ));
            }
        };
        let sample_bytes = match bits_per_color {
            8 => 1usize,
            16 => 2,
            other => {
                return Err(unprintable(
                    PWG_RASTER,
                    format!("page {page}: {other} bits per colour is not supported"),
                ));
            }
        };
        let bytes_per_pixel = channels as usize * sample_bytes;
        if bits_per_pixel as usize != bytes_per_pixel * 8 || dpi.0 < 1.0 || dpi.1 < 1.0 {
            return Err(unprintable(
                PWG_RASTER,
                format!("page {page}: inconsistent header (bpp {bits_per_pixel}, dpi {dpi:?})"),
            ));
        }
        check_geometry(PWG_RASTER, page, width, height, &mut total, channels)?;
        let white = if inverted { 0 } else { 0xFF };
        let raw = decode_runs(
            data,
            &mut pos,
            width as usize,
            height as usize,
            bytes_per_pixel,
            white,
            PWG_RASTER,
            page,
        )?;
        let mut samples: Vec<u8> = raw.chunks_exact(sample_bytes).map(|s| s[0]).collect();
        if inverted {
            samples.iter_mut().for_each(|s| *s = 255 - *s);
        }
        pages.push(RasterPage {
            width,
            height,
            dpi,
            channels,
            samples,
        });
    }
    Ok(pages)
}

/// Apple raster (URF): "UNIRAST\0", a page count, then per page a 32-byte header (bits per
/// pixel, colour space, duplex, quality, width, height, resolution) and run-length data.
/// Supports 8-bit gray and 24-bit RGB.
fn decode_urf(data: &[u8]) -> Result<Vec<RasterPage>, RenderError> {
    let declared = data
        .get(8..12)
        .map(|b| u32::from_be_bytes(b.try_into().expect("4 bytes")) as usize)
        .ok_or_else(|| unprintable(URF, "file header is truncated"))?;
    if declared > MAX_PAGES {
        return Err(unprintable(URF, format!("{declared} pages is too many")));
    }
    let mut pos = 12;
    let mut pages = Vec::new();
    let mut total = 0;
    while pos < data.len() {
        let page = pages.len() + 1;
        let header = data
            .get(pos..pos + 32)
            .ok_or_else(|| unprintable(URF, format!("page {page}: header is truncated")))?;
        pos += 32;
        let bits_per_pixel = header[0];
        let (width, height, dpi) = (be32(header, 12), be32(header, 16), be32(header, 20));
        let channels = match bits_per_pixel {
            8 => 1u8,
            24 => 3,
            other => {
                return Err(unprintable(
                    URF,
                    format!("page {page}: {other} bits per pixel is not supported"),
                ));
            }
        };
        if dpi == 0 {
            return Err(unprintable(URF, format!("page {page}: resolution is 0")));
        }
        check_geometry(URF, page, width, height, &mut total, channels)?;
        let samples = decode_runs(
            data,
            &mut pos,
            width as usize,
            height as usize,
            channels as usize,
            0xFF,
            URF,
            page,
        )?;
        pages.push(RasterPage {
            width,
            height,
            dpi: (dpi as f64, dpi as f64),
            channels,
            samples,
        });
    }
    if pages.len() != declared {
        return Err(unprintable(
            URF,
            format!("header says {declared} pages, the file has {}", pages.len()),
        ));
    }
    Ok(pages)
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// Encodes lines with the shared run-length scheme (literal runs only, one line per
    /// record), enough to produce valid test files.
    fn encode_lines(samples: &[u8], line_len: usize, bytes_per_pixel: usize) -> Vec<u8> {
        let mut out = Vec::new();
        for line in samples.chunks(line_len) {
            out.push(0);
            for chunk in line.chunks(128 * bytes_per_pixel) {
                let pixels = chunk.len() / bytes_per_pixel;
                if pixels == 1 {
                    out.push(0);
                } else {
                    out.push((257 - pixels) as u8);
                }
                out.extend_from_slice(chunk);
            }
        }
        out
    }

    pub(crate) fn pwg_file(width: u32, height: u32, dpi: u32, rgb: &[u8]) -> Vec<u8> {
        let mut out = b"RaS2".to_vec();
        let mut header = vec![0u8; PWG_HEADER_LEN];
        let mut put =
            |offset: usize, v: u32| header[offset..offset + 4].copy_from_slice(&v.to_be_bytes());
        put(276, dpi);
        put(280, dpi);
        put(372, width);
        put(376, height);
        put(384, 8);
        put(388, 24);
        put(392, width * 3);
        put(400, 19);
        out.extend_from_slice(&header);
        out.extend(encode_lines(rgb, width as usize * 3, 3));
        out
    }

    pub(crate) fn urf_file(width: u32, height: u32, dpi: u32, gray: &[u8]) -> Vec<u8> {
        let mut out = b"UNIRAST\0".to_vec();
        out.extend_from_slice(&1u32.to_be_bytes());
        let mut header = [0u8; 32];
        header[0] = 8;
        header[12..16].copy_from_slice(&width.to_be_bytes());
        header[16..20].copy_from_slice(&height.to_be_bytes());
        header[20..24].copy_from_slice(&dpi.to_be_bytes());
        out.extend_from_slice(&header);
        out.extend(encode_lines(gray, width as usize, 1));
        out
    }

    #[test]
    fn run_length_lines_decode_repeats_literals_and_white_fill() {
        // Line 1 repeated twice: a run of 3 x 0x10, then 0x20 0x30 literal, then fill.
        let data = [1u8, 2, 0x10, 255, 0x20, 0x30, 128];
        let mut pos = 0;
        let out = decode_runs(&data, &mut pos, 8, 2, 1, 0xFF, PWG_RASTER, 1).unwrap();
        let line = [0x10, 0x10, 0x10, 0x20, 0x30, 0xFF, 0xFF, 0xFF];
        assert_eq!(out, [line, line].concat());
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
