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

/// Most bytes one PDF stream may inflate to: a decompression bomb is refused before hayro,
/// which inflates whole streams into memory, ever sees it.
const MAX_STREAM_INFLATED: u64 = 256 << 20;
/// Most bytes all of a document's streams may inflate to together.
const MAX_DOCUMENT_INFLATED: u64 = 1 << 30;

fn open_pdf(bytes: &[u8]) -> Result<Document, RenderError> {
    let pdf = match load_pdf(bytes.to_vec()) {
        Ok(pdf) => pdf,
        Err(problem) => {
            let pdf = repair_pdf(bytes)
                .and_then(|repaired| load_pdf(repaired).ok())
                .ok_or(problem)?;
            tracing::info!(
                pages = pdf.pages().len(),
                "hayro refused the PDF; rendering lopdf's repaired copy"
            );
            pdf
        }
    };
    check_pdf_streams(&pdf)?;
    Ok(Document::Pdf(pdf))
}

/// Loads a PDF that has at least one page: hayro reads some damaged files as zero pages
/// without an error, which is as unprintable as a refusal.
fn load_pdf(bytes: Vec<u8>) -> Result<Pdf, RenderError> {
    let pdf = Pdf::new(bytes).map_err(|e| match e {
        LoadPdfError::Decryption(d) => unprintable(PDF, format!("encrypted: {d:?}")),
        LoadPdfError::Invalid => unprintable(PDF, "not a readable PDF"),
    })?;
    if pdf.pages().is_empty() {
        return Err(unprintable(PDF, "no pages could be read (damaged file)"));
    }
    Ok(pdf)
}

/// lopdf's load-and-save rebuilds the cross-reference table and object layout; worth one try
/// when hayro cannot read a file. Encrypted files are not retried (the password is missing,
/// not the structure). lopdf is not written to take hostile bytes without panicking, so a
/// panic here counts as "cannot repair".
pub(super) fn repair_pdf(bytes: &[u8]) -> Option<Vec<u8>> {
    std::panic::catch_unwind(|| {
        let mut document = lopdf::Document::load_mem(bytes).ok()?;
        if document.is_encrypted() {
            return None;
        }
        let mut out = Vec::new();
        document.save_to(&mut out).ok()?;
        Some(out)
    })
    .ok()
    .flatten()
}

/// Refuses decompression bombs and images too large to decode, by inflating every Flate stream
/// into a counter (never into memory) and reading every image's declared size.
fn check_pdf_streams(pdf: &Pdf) -> Result<(), RenderError> {
    use hayro::hayro_syntax::Filter;
    use hayro::hayro_syntax::object::{Name, Object};
    let mut total = 0u64;
    for object in pdf.objects() {
        let Object::Stream(stream) = object else {
            continue;
        };
        let dict = stream.dict();
        let id = stream.obj_id();
        if dict.get::<Name>(b"Subtype").as_deref() == Some(b"Image".as_slice()) {
            let width = dict.get::<f64>(b"Width").unwrap_or(0.0).max(0.0);
            let height = dict.get::<f64>(b"Height").unwrap_or(0.0).max(0.0);
            if width * height > MAX_RASTER_PIXELS as f64 {
                return Err(unprintable(
                    PDF,
                    format!("image object {id:?} declares {width}x{height} pixels"),
                ));
            }
        }
        let flate_layers = stream
            .filters()
            .iter()
            .take_while(|f| matches!(f, Filter::FlateDecode))
            .count();
        if flate_layers == 0 {
            continue;
        }
        let inflated = inflated_size(&stream.raw_data(), flate_layers, MAX_STREAM_INFLATED);
        if inflated > MAX_STREAM_INFLATED {
            return Err(unprintable(
                PDF,
                format!(
                    "stream {id:?} inflates to more than {} MiB (a decompression bomb)",
                    MAX_STREAM_INFLATED >> 20
                ),
            ));
        }
        total += inflated;
        if total > MAX_DOCUMENT_INFLATED {
            return Err(unprintable(
                PDF,
                format!(
                    "its streams inflate to more than {} MiB",
                    MAX_DOCUMENT_INFLATED >> 20
                ),
            ));
        }
    }
    Ok(())
}

/// Bytes `data` inflates to through `layers` nested Flate filters, counting at most `cap + 1`.
/// Accepts zlib-wrapped and raw deflate as hayro does; a corrupt stream counts what it yields
/// before the error.
fn inflated_size(data: &[u8], layers: usize, cap: u64) -> u64 {
    use flate2::read::{DeflateDecoder, ZlibDecoder};
    use std::io::Read;
    let zlib_header = data.len() >= 2
        && data[0] & 0x0F == 8
        && u16::from_be_bytes([data[0], data[1]]).is_multiple_of(31);
    let mut reader: Box<dyn Read + '_> = if zlib_header {
        Box::new(ZlibDecoder::new(data))
    } else {
        Box::new(DeflateDecoder::new(data))
    };
    for _ in 1..layers {
        reader = Box::new(ZlibDecoder::new(reader));
    }
    let mut counted = 0u64;
    let mut buffer = [0u8; 64 << 10];
    while counted <= cap {
        match reader.read(&mut buffer) {
            Ok(0) | Err(_) => break,
            Ok(n) => counted += n as u64,
        }
    }
    counted
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

/// How a raster format's pixels are stored, as its page header declares them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Colorant {
    /// One channel, 0 = black (PWG `W`/`sGray`, URF gray).
    Gray,
    /// One channel, 0 = white (PWG `Black`).
    Black,
    Rgb,
    /// Four channels, 0 = no ink.
    Cmyk,
}

impl Colorant {
    fn channels(self) -> usize {
        match self {
            Colorant::Gray | Colorant::Black => 1,
            Colorant::Rgb => 3,
            Colorant::Cmyk => 4,
        }
    }

    /// The byte that paints white, which the run-length code 128 fills a line with.
    fn white(self) -> u8 {
        match self {
            Colorant::Gray | Colorant::Rgb => 0xFF,
            Colorant::Black | Colorant::Cmyk => 0,
        }
    }
}

/// A page's pixel layout: colorant and bits per colour (1 for bi-level gray, 8 or 16).
#[derive(Debug, Clone, Copy)]
struct PixelLayout {
    colorant: Colorant,
    bits: usize,
}

impl PixelLayout {
    fn bits_per_pixel(self) -> usize {
        self.colorant.channels() * self.bits
    }

    fn line_bytes(self, width: usize) -> usize {
        (width * self.bits_per_pixel()).div_ceil(8)
    }

    /// The run-length unit: one pixel, or one byte when pixels are smaller than a byte.
    fn unit_bytes(self) -> usize {
        (self.bits_per_pixel() / 8).max(1)
    }

    /// Output channels: gray stays gray, RGB and CMYK become RGB.
    fn out_channels(self) -> u8 {
        if self.colorant.channels() == 1 { 1 } else { 3 }
    }

    /// Converts one decoded line to 8-bit gray or RGB. 16-bit samples keep their high byte
    /// (big-endian, as both formats store them); CMYK is converted without a colour profile,
    /// `R = (255 - C)(255 - K) / 255`, as a printer's driverless path does.
    fn convert_line(self, line: &[u8], width: usize, out: &mut Vec<u8>) {
        let step = self.bits / 8;
        match (self.colorant, self.bits) {
            (Colorant::Gray | Colorant::Black, 1) => {
                let ink = self.colorant == Colorant::Black;
                out.extend((0..width).map(|x| {
                    let set = line[x / 8] & (0x80 >> (x % 8)) != 0;
                    if set != ink { 0xFF } else { 0 }
                }));
            }
            (Colorant::Gray, _) => out.extend(line.iter().step_by(step).take(width)),
            (Colorant::Black, _) => {
                out.extend(line.iter().step_by(step).take(width).map(|k| 255 - k))
            }
            (Colorant::Rgb, _) => out.extend(line.iter().step_by(step).take(width * 3)),
            (Colorant::Cmyk, _) => {
                for pixel in line.chunks_exact(4 * step).take(width) {
                    let [c, m, y, k] = [0, 1, 2, 3].map(|i| 255 - pixel[i * step] as u32);
                    out.extend([c, m, y].map(|v| ((v * k + 127) / 255) as u8));
                }
            }
        }
    }
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

/// Decodes the run-length line format PWG raster and Apple raster share into 8-bit gray or
/// RGB samples: per line a line-repeat byte, then runs of repeated units (0..=127: one unit,
/// n+1 times) and literal units (129..=255: 257-n units); 128 fills the rest of the line with
/// white. A unit is one pixel, or one byte for 1-bit pixels.
fn decode_runs(
    data: &[u8],
    pos: &mut usize,
    (width, height): (usize, usize),
    layout: PixelLayout,
    (format, page): (&'static str, usize),
) -> Result<Vec<u8>, RenderError> {
    let line_len = layout.line_bytes(width);
    let unit = layout.unit_bytes();
    let white = layout.colorant.white();
    let mut out = Vec::with_capacity(width * height * layout.out_channels() as usize);
    let mut line = Vec::with_capacity(line_len);
    let truncated = || unprintable(format, format!("page {page}: raster data ends early"));
    let overflow = || unprintable(format, format!("page {page}: run overflows a line"));
    let mut y = 0;
    while y < height {
        let repeat = *data.get(*pos).ok_or_else(truncated)? as usize + 1;
        *pos += 1;
        line.clear();
        while line.len() < line_len {
            let code = *data.get(*pos).ok_or_else(truncated)?;
            *pos += 1;
            let left = line_len - line.len();
            if code == 128 {
                line.resize(line_len, white);
            } else if code < 128 {
                let count = code as usize + 1;
                let value = data.get(*pos..*pos + unit).ok_or_else(truncated)?;
                *pos += unit;
                if count * unit > left {
                    return Err(overflow());
                }
                for _ in 0..count {
                    line.extend_from_slice(value);
                }
            } else {
                let count = (257 - code as usize) * unit;
                if count > left {
                    return Err(overflow());
                }
                line.extend_from_slice(data.get(*pos..*pos + count).ok_or_else(truncated)?);
                *pos += count;
            }
        }
        let start = out.len();
        layout.convert_line(&line, width, &mut out);
        let converted = start..out.len();
        let repeat = repeat.min(height - y);
        for _ in 1..repeat {
            out.extend_from_within(converted.clone());
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
/// Supports the colour spaces and depths PWG 5102.4 lists for `pwg-raster-document-type`:
/// sGray/W and Black at 1, 8 and 16 bits, sRGB/RGB/AdobeRGB and CMYK at 8 and 16 bits.
fn decode_pwg(data: &[u8]) -> Result<Vec<RasterPage>, RenderError> {
    let mut pos = 4;
    let mut pages = Vec::new();
    let mut total = 0;
    while pos < data.len() {
        let page = pages.len() + 1;
        let refuse = |what: String| unprintable(PWG_RASTER, format!("page {page}: {what}"));
        let header = data
            .get(pos..pos + PWG_HEADER_LEN)
            .ok_or_else(|| refuse("header is truncated".into()))?;
        pos += PWG_HEADER_LEN;
        let dpi = (be32(header, 276) as f64, be32(header, 280) as f64);
        let (width, height) = (be32(header, 372), be32(header, 376));
        let bits = be32(header, 384) as usize;
        let bits_per_pixel = be32(header, 388) as usize;
        let bytes_per_line = be32(header, 392) as usize;
        let color_space = be32(header, 400);
        // cups_cspace_t: W=0, RGB=1, K=3, CMYK=6, sGray=18, sRGB=19, AdobeRGB=20.
        let colorant = match color_space {
            0 | 18 => Colorant::Gray,
            3 => Colorant::Black,
            1 | 19 | 20 => Colorant::Rgb,
            6 => Colorant::Cmyk,
            other => return Err(refuse(format!("colour space {other} is not supported"))),
        };
        let valid_bits = match colorant {
            Colorant::Gray | Colorant::Black => matches!(bits, 1 | 8 | 16),
            _ => matches!(bits, 8 | 16),
        };
        if !valid_bits {
            return Err(refuse(format!(
                "{bits} bits per colour is not supported for colour space {color_space}"
            )));
        }
        let layout = PixelLayout { colorant, bits };
        if bits_per_pixel != layout.bits_per_pixel()
            || bytes_per_line != layout.line_bytes(width as usize)
            || dpi.0 < 1.0
            || dpi.1 < 1.0
        {
            return Err(refuse(format!(
                "inconsistent header (bits per pixel {bits_per_pixel}, bytes per line \
                 {bytes_per_line}, dpi {dpi:?})"
            )));
        }
        check_geometry(
            PWG_RASTER,
            page,
            width,
            height,
            &mut total,
            layout.out_channels(),
        )?;
        let samples = decode_runs(
            data,
            &mut pos,
            (width as usize, height as usize),
            layout,
            (PWG_RASTER, page),
        )?;
        pages.push(RasterPage {
            width,
            height,
            dpi,
            channels: layout.out_channels(),
            samples,
        });
    }
    Ok(pages)
}

/// Apple raster (URF): "UNIRAST\0", a page count, then per page a 32-byte header (bits per
/// pixel, colour space, duplex, quality, width, height, resolution) and run-length data.
/// Colour spaces as CUPS reads them: 0 sGray, 1 sRGB, 3 AdobeRGB, 4 gray, 5 RGB, 6 CMYK
/// (2, CIE Lab, is refused); the depth follows from bits per pixel (8 or 16 per colour).
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
        let refuse = |what: String| unprintable(URF, format!("page {page}: {what}"));
        let header = data
            .get(pos..pos + 32)
            .ok_or_else(|| refuse("header is truncated".into()))?;
        pos += 32;
        let (bits_per_pixel, color_space) = (header[0] as usize, header[1]);
        let (width, height, dpi) = (be32(header, 12), be32(header, 16), be32(header, 20));
        let colorant = match color_space {
            0 | 4 => Colorant::Gray,
            1 | 3 | 5 => Colorant::Rgb,
            6 => Colorant::Cmyk,
            other => return Err(refuse(format!("colour space {other} is not supported"))),
        };
        let bits = bits_per_pixel / colorant.channels();
        if !matches!(bits, 8 | 16) || bits * colorant.channels() != bits_per_pixel {
            return Err(refuse(format!(
                "{bits_per_pixel} bits per pixel does not fit colour space {color_space}"
            )));
        }
        if dpi == 0 {
            return Err(refuse("resolution is 0".into()));
        }
        let layout = PixelLayout { colorant, bits };
        check_geometry(URF, page, width, height, &mut total, layout.out_channels())?;
        let samples = decode_runs(
            data,
            &mut pos,
            (width as usize, height as usize),
            layout,
            (URF, page),
        )?;
        pages.push(RasterPage {
            width,
            height,
            dpi: (dpi as f64, dpi as f64),
            channels: layout.out_channels(),
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
