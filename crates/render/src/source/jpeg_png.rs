//! JPEG and PNG documents: one decoded page each, at the resolution the file declares.

use super::{JPEG, MAX_RASTER_PIXELS, PNG, RasterPage, unprintable};
use crate::RenderError;

pub(super) fn decode_image(bytes: &[u8], format: &'static str) -> Result<RasterPage, RenderError> {
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
    let colour = decoded.color();
    let (channels, samples) = match (colour.has_color(), colour.has_alpha()) {
        (true, true) => (3, over_white::<4>(decoded.into_rgba8().into_raw())),
        (true, false) => (3, decoded.into_rgb8().into_raw()),
        (false, true) => (1, over_white::<2>(decoded.into_luma_alpha8().into_raw())),
        (false, false) => (1, decoded.into_luma8().into_raw()),
    };
    Ok(RasterPage {
        width,
        height,
        dpi,
        channels,
        samples,
    })
}

/// Composites samples with a trailing alpha channel (`N` bytes a pixel) over white paper and
/// drops the alpha: ink covers the sheet in proportion to its opacity, so a fully transparent
/// pixel prints as bare paper whatever colour it stores. Done in place, as the pixels shrink.
fn over_white<const N: usize>(mut samples: Vec<u8>) -> Vec<u8> {
    let colour_channels = N - 1;
    let pixels = samples.len() / N;
    for pixel in 0..pixels {
        let alpha = samples[pixel * N + colour_channels] as u32;
        for channel in 0..colour_channels {
            let stored = samples[pixel * N + channel] as u32;
            let printed = (stored * alpha + 255 * (255 - alpha) + 127) / 255;
            samples[pixel * colour_channels + channel] = printed as u8;
        }
    }
    samples.truncate(pixels * colour_channels);
    samples
}

/// What printers assume for an image that declares no resolution: a 300 dpi photo.
pub(super) const DEFAULT_IMAGE_DPI: (f64, f64) = (300.0, 300.0);

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
pub(super) fn jfif_density(bytes: &[u8]) -> Option<(f64, f64)> {
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
