//! Image parts: the format from the magic bytes, the size from the header (checked against the
//! pixel limit before anything is decoded), the resolution (for an ImageBrush's natural size,
//! in 1/96 inch) from JFIF, PNG pHYs or TIFF tags. JPEG and PNG go to krilla as they are (JPEG
//! stays DCT-compressed); TIFF is decoded with `image`. JPEG XR is refused.

use std::io::Cursor;

use crate::{ConvertError, Limits};

pub struct Decoded {
    pub image: krilla::image::Image,
    pub width: u32,
    pub height: u32,
    pub dpi_x: f32,
    pub dpi_y: f32,
}

impl Decoded {
    /// Size in XPS units (1/96 inch) at the image's resolution.
    pub fn natural_size(&self) -> (f32, f32) {
        (
            self.width as f32 * 96.0 / self.dpi_x,
            self.height as f32 * 96.0 / self.dpi_y,
        )
    }
}

pub fn decode(
    part: &str,
    bytes: &[u8],
    content_type: Option<&str>,
    limits: &Limits,
) -> Result<Decoded, ConvertError> {
    let err = |reason: String| ConvertError::Image {
        part: part.to_string(),
        reason,
    };
    if bytes.starts_with(&[0x49, 0x49, 0xBC]) || content_type == Some("image/vnd.ms-photo") {
        return Err(ConvertError::Unsupported {
            part: part.to_string(),
            reason: "JPEG XR (HD Photo) image: no maintained Rust decoder exists".into(),
        });
    }
    let format = image::guess_format(bytes).map_err(|e| err(format!("unknown format: {e}")))?;
    let reader = image::ImageReader::with_format(Cursor::new(bytes), format);
    let (width, height) = reader
        .into_dimensions()
        .map_err(|e| err(format!("unreadable header: {e}")))?;
    if width == 0 || height == 0 {
        return Err(err("zero-sized image".into()));
    }
    if u64::from(width) * u64::from(height) > limits.max_image_pixels {
        return Err(ConvertError::ImageTooLarge {
            part: part.to_string(),
            width,
            height,
            limit: limits.max_image_pixels,
        });
    }
    let (dpi_x, dpi_y) = resolution(bytes, format).unwrap_or((96.0, 96.0));
    let image = match format {
        image::ImageFormat::Jpeg => {
            krilla::image::Image::from_jpeg(bytes.to_vec().into(), true).map_err(err)?
        }
        image::ImageFormat::Png => {
            krilla::image::Image::from_png(bytes.to_vec().into(), true).map_err(err)?
        }
        image::ImageFormat::Tiff => {
            let mut reader = image::ImageReader::with_format(Cursor::new(bytes), format);
            let mut l = image::Limits::default();
            l.max_image_width = Some(width);
            l.max_image_height = Some(height);
            l.max_alloc = Some(limits.max_image_pixels.saturating_mul(16));
            reader.limits(l);
            let img = reader.decode().map_err(|e| err(e.to_string()))?;
            let rgba = img.into_rgba8();
            krilla::image::Image::from_rgba8(rgba.into_raw(), width, height)
        }
        other => return Err(err(format!("{other:?} is not an XPS image format"))),
    };
    Ok(Decoded {
        image,
        width,
        height,
        dpi_x,
        dpi_y,
    })
}

fn sane(x: f32, y: f32) -> Option<(f32, f32)> {
    let ok = |v: f32| v.is_finite() && (1.0..=100_000.0).contains(&v);
    (ok(x) && ok(y)).then_some((x, y))
}

/// Dots per inch from the file, when it says.
pub fn resolution(bytes: &[u8], format: image::ImageFormat) -> Option<(f32, f32)> {
    match format {
        image::ImageFormat::Jpeg => {
            // APP0 JFIF right after SOI: units, Xdensity, Ydensity.
            let b = bytes;
            if b.len() > 18 && b[2] == 0xFF && b[3] == 0xE0 && &b[6..11] == b"JFIF\0" {
                let units = b[13];
                let x = u16::from_be_bytes([b[14], b[15]]) as f32;
                let y = u16::from_be_bytes([b[16], b[17]]) as f32;
                return match units {
                    1 => sane(x, y),
                    2 => sane(x * 2.54, y * 2.54),
                    _ => None,
                };
            }
            None
        }
        image::ImageFormat::Png => {
            let mut i = 8;
            while i + 12 <= bytes.len() {
                let len = u32::from_be_bytes(bytes[i..i + 4].try_into().ok()?) as usize;
                let ty = &bytes[i + 4..i + 8];
                if ty == b"pHYs" && len == 9 && i + 17 <= bytes.len() {
                    let d = &bytes[i + 8..];
                    let x = u32::from_be_bytes(d[0..4].try_into().ok()?) as f32;
                    let y = u32::from_be_bytes(d[4..8].try_into().ok()?) as f32;
                    return if d[8] == 1 {
                        sane(x * 0.0254, y * 0.0254)
                    } else {
                        None
                    };
                }
                if ty == b"IDAT" || ty == b"IEND" {
                    return None;
                }
                i = i.checked_add(12 + len)?;
            }
            None
        }
        image::ImageFormat::Tiff => tiff_resolution(bytes),
        _ => None,
    }
}

fn tiff_resolution(b: &[u8]) -> Option<(f32, f32)> {
    let le = match b.get(0..2)? {
        b"II" => true,
        b"MM" => false,
        _ => return None,
    };
    let u16_at = |o: usize| -> Option<u16> {
        let s: [u8; 2] = b.get(o..o + 2)?.try_into().ok()?;
        Some(if le {
            u16::from_le_bytes(s)
        } else {
            u16::from_be_bytes(s)
        })
    };
    let u32_at = |o: usize| -> Option<u32> {
        let s: [u8; 4] = b.get(o..o + 4)?.try_into().ok()?;
        Some(if le {
            u32::from_le_bytes(s)
        } else {
            u32::from_be_bytes(s)
        })
    };
    let ifd = u32_at(4)? as usize;
    let count = u16_at(ifd)? as usize;
    let (mut x, mut y, mut unit) = (None, None, 2u16);
    for k in 0..count.min(512) {
        let e = ifd + 2 + k * 12;
        let tag = u16_at(e)?;
        let rational = |off: usize| -> Option<f32> {
            let n = u32_at(off)? as f32;
            let d = u32_at(off + 4)? as f32;
            (d != 0.0).then(|| n / d)
        };
        match tag {
            282 => x = rational(u32_at(e + 8)? as usize),
            283 => y = rational(u32_at(e + 8)? as usize),
            296 => unit = u16_at(e + 8)?,
            _ => {}
        }
    }
    let (x, y) = (x?, y.or(x)?);
    match unit {
        2 => sane(x, y),
        3 => sane(x * 2.54, y * 2.54),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testpkg;

    #[test]
    fn resolution_from_jfif_png_phys_and_tiff() {
        let mut jpeg = testpkg::jpeg(8);
        assert_eq!(&jpeg[6..11], b"JFIF\0");
        jpeg[13] = 1;
        jpeg[14..16].copy_from_slice(&192u16.to_be_bytes());
        jpeg[16..18].copy_from_slice(&144u16.to_be_bytes());
        assert_eq!(
            resolution(&jpeg, image::ImageFormat::Jpeg),
            Some((192.0, 144.0))
        );
        jpeg[13] = 0;
        assert_eq!(resolution(&jpeg, image::ImageFormat::Jpeg), None);

        // A pHYs chunk of 7559 px/m (192 dpi) after IHDR.
        let png = testpkg::png(8);
        let mut chunk = Vec::new();
        chunk.extend_from_slice(&9u32.to_be_bytes());
        let mut body = b"pHYs".to_vec();
        body.extend_from_slice(&7559u32.to_be_bytes());
        body.extend_from_slice(&7559u32.to_be_bytes());
        body.push(1);
        let mut crc = flate2::Crc::new();
        crc.update(&body);
        chunk.extend_from_slice(&body);
        chunk.extend_from_slice(&crc.sum().to_be_bytes());
        let with = [&png[..33], &chunk[..], &png[33..]].concat();
        let (x, y) = resolution(&with, image::ImageFormat::Png).unwrap();
        assert!((x - 192.0).abs() < 0.1 && (y - 192.0).abs() < 0.1);
        assert_eq!(resolution(&png, image::ImageFormat::Png), None);

        // The decoded image reports its natural size in 1/96 inch.
        let d = decode("/x.png", &with, None, &Limits::default()).unwrap();
        assert_eq!(
            d.natural_size(),
            (8.0 * 96.0 / d.dpi_x, 8.0 * 96.0 / d.dpi_y)
        );
        assert!((d.natural_size().0 - 4.0).abs() < 0.01);

        // A little-endian TIFF with XResolution 300/1, YResolution 150/1, inches.
        let mut t = b"II*\0".to_vec();
        t.extend_from_slice(&8u32.to_le_bytes());
        t.extend_from_slice(&3u16.to_le_bytes());
        let entry = |tag: u16, ty: u16, val: u32| {
            let mut e = tag.to_le_bytes().to_vec();
            e.extend_from_slice(&ty.to_le_bytes());
            e.extend_from_slice(&1u32.to_le_bytes());
            e.extend_from_slice(&val.to_le_bytes());
            e
        };
        let data = 8 + 2 + 3 * 12 + 4;
        t.extend(entry(282, 5, data as u32));
        t.extend(entry(283, 5, data as u32 + 8));
        t.extend(entry(296, 3, 2));
        t.extend_from_slice(&0u32.to_le_bytes());
        for v in [300u32, 1, 150, 1] {
            t.extend_from_slice(&v.to_le_bytes());
        }
        assert_eq!(
            resolution(&t, image::ImageFormat::Tiff),
            Some((300.0, 150.0))
        );
    }

    #[test]
    fn tiff_is_decoded_within_limits() {
        let tif = testpkg::tiff(16);
        let d = decode("/x.tif", &tif, Some("image/tiff"), &Limits::default()).unwrap();
        assert_eq!((d.width, d.height), (16, 16));
        let small = Limits {
            max_image_pixels: 100,
            ..Limits::default()
        };
        assert!(matches!(
            decode("/x.tif", &tif, None, &small),
            Err(ConvertError::ImageTooLarge { .. })
        ));
        assert!(matches!(
            decode("/x.bin", b"not an image at all", None, &Limits::default()),
            Err(ConvertError::Image { .. })
        ));
    }
}
