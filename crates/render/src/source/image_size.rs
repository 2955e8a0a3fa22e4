//! What a PDF image will decode to, from what it declares: its dictionary's `/Width`,
//! `/Height`, colour space and bits, and for JPEG and JPEG 2000 data also the size in the
//! codestream's own header, which is what their decoders allocate.

use super::MAX_RASTER_PIXELS;
use hayro::hayro_syntax::Filter;
use hayro::hayro_syntax::object::{Array, Dict, Name};

/// Most bytes one decoded image may take (samples widened to 8 or 16 bits, as decoders hold
/// them): the same bound as one filter's output.
const MAX_IMAGE_DECODED: u64 = 256 << 20;

/// Refuses an image whose declared size passes the pixel or byte bound; the error completes
/// "image object N …".
pub(super) fn check_image_size(
    dict: &Dict<'_>,
    chain: &[(Filter, Dict<'_>)],
    raw: &[u8],
) -> Result<(), String> {
    let width = dict.get::<f64>(b"Width").unwrap_or(0.0).max(0.0);
    let height = dict.get::<f64>(b"Height").unwrap_or(0.0).max(0.0);
    let mut declared = vec![("its dictionary", width, height, components(dict) as f64)];
    // The codestream header is read when the image filter reads the raw bytes directly.
    match chain.first().map(|(f, _)| *f) {
        Some(Filter::DctDecode) => {
            declared.extend(jpeg_header_size(raw).map(|(w, h, c)| ("its JPEG header", w, h, c)))
        }
        Some(Filter::JpxDecode) => {
            declared.extend(jpx_header_size(raw).map(|(w, h, c)| ("its JPEG 2000 header", w, h, c)))
        }
        _ => {}
    }
    let bytes_per_sample = if dict.get::<i32>(b"BitsPerComponent").unwrap_or(8) > 8 {
        2.0
    } else {
        1.0
    };
    for (source, width, height, components) in declared {
        if width * height > MAX_RASTER_PIXELS as f64 {
            return Err(format!(
                "declares {width}x{height} pixels in {source}, more than {MAX_RASTER_PIXELS}"
            ));
        }
        let bytes = width * height * components * bytes_per_sample;
        if bytes > MAX_IMAGE_DECODED as f64 {
            return Err(format!(
                "declares {width}x{height} pixels of {components} components in {source}: \
                 {} MiB decoded, more than {} MiB",
                (bytes / (1 << 20) as f64).ceil(),
                MAX_IMAGE_DECODED >> 20
            ));
        }
    }
    Ok(())
}

/// Samples per pixel of an image dictionary's colour space; 4 when it cannot tell (ICC-based
/// and DeviceN spaces name theirs elsewhere), so the bound errs on the safe side.
fn components(dict: &Dict<'_>) -> u32 {
    if dict.get::<bool>(b"ImageMask") == Some(true) {
        return 1;
    }
    let name = dict.get::<Name<'_>>(b"ColorSpace").or_else(|| {
        dict.get::<Array<'_>>(b"ColorSpace")
            .and_then(|a| a.iter::<Name<'_>>().next())
    });
    match name.as_deref() {
        Some(b"DeviceGray" | b"G" | b"CalGray" | b"Indexed" | b"I" | b"Separation") => 1,
        Some(b"DeviceRGB" | b"RGB" | b"CalRGB" | b"Lab") => 3,
        _ => 4,
    }
}

/// Width, height and components in a JPEG's start-of-frame segment.
fn jpeg_header_size(data: &[u8]) -> Option<(f64, f64, f64)> {
    let mut at = 2;
    if data.get(..2)? != [0xFF, 0xD8] {
        return None;
    }
    loop {
        while *data.get(at)? != 0xFF {
            at += 1;
        }
        while *data.get(at)? == 0xFF {
            at += 1;
        }
        let marker = *data.get(at)?;
        at += 1;
        if matches!(marker, 0x01 | 0xD0..=0xD9) {
            continue;
        }
        let length = u16::from_be_bytes([*data.get(at)?, *data.get(at + 1)?]) as usize;
        if matches!(marker, 0xC0..=0xCF) && !matches!(marker, 0xC4 | 0xC8 | 0xCC) {
            let segment = data.get(at + 2..at + 8)?;
            let height = u16::from_be_bytes([segment[1], segment[2]]);
            let width = u16::from_be_bytes([segment[3], segment[4]]);
            return Some((width as f64, height as f64, segment[5] as f64));
        }
        at += length;
    }
}

/// Width, height and components in a JPEG 2000 codestream's SIZ segment (right after SOC).
fn jpx_header_size(data: &[u8]) -> Option<(f64, f64, f64)> {
    let start = data
        .windows(4)
        .position(|w| w == [0xFF, 0x4F, 0xFF, 0x51])?
        + 4;
    let siz = data.get(start..start + 38)?;
    let word = |i: usize| u32::from_be_bytes([siz[i], siz[i + 1], siz[i + 2], siz[i + 3]]) as f64;
    let width = (word(4) - word(12)).max(0.0);
    let height = (word(8) - word(16)).max(0.0);
    let components = u16::from_be_bytes([siz[36], siz[37]]) as f64;
    Some((width, height, components))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codestream_headers_give_their_size() {
        // SOI, an APP0 segment, then a baseline SOF0: 8 bits, 300 high, 500 wide, 3 components.
        let jpeg = [
            0xFF, 0xD8, 0xFF, 0xE0, 0x00, 0x04, 0x00, 0x00, 0xFF, 0xC0, 0x00, 0x11, 0x08, 0x01,
            0x2C, 0x01, 0xF4, 0x03,
        ];
        assert_eq!(jpeg_header_size(&jpeg), Some((500.0, 300.0, 3.0)));
        let mut jpx = vec![0xFF, 0x4F, 0xFF, 0x51, 0x00, 0x29, 0x00, 0x00];
        for value in [70_000u32, 60_000, 0, 0, 70_000, 60_000, 0, 0] {
            jpx.extend(value.to_be_bytes());
        }
        jpx.extend([0x00, 0x01]);
        assert_eq!(jpx_header_size(&jpx), Some((70_000.0, 60_000.0, 1.0)));
    }
}
