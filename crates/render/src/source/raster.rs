//! PWG raster and Apple raster (URF) documents: the run-length format they share, decoded page
//! by page into gray or RGB samples.

use super::{
    MAX_PAGES, MAX_RASTER_DOCUMENT_BYTES, MAX_RASTER_PIXELS, PWG_RASTER, RasterPage, URF,
    unprintable,
};
use crate::RenderError;

/// How a raster format's pixels are stored, as its page header declares them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Colorant {
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
pub(super) struct PixelLayout {
    pub(super) colorant: Colorant,
    pub(super) bits: usize,
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
pub(super) fn decode_runs(
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

pub(super) const PWG_HEADER_LEN: usize = 1796;

/// PWG 5102.4 raster: "RaS2", then per page a 1796-byte header and run-length data.
/// Supports the colour spaces and depths PWG 5102.4 lists for `pwg-raster-document-type`:
/// sGray/W and Black at 1, 8 and 16 bits, sRGB/RGB/AdobeRGB and CMYK at 8 and 16 bits.
pub(super) fn decode_pwg(data: &[u8]) -> Result<Vec<RasterPage>, RenderError> {
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
pub(super) fn decode_urf(data: &[u8]) -> Result<Vec<RasterPage>, RenderError> {
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
