//! Sample documents in the other formats printers take (JPEG photo, PNG label, Apple raster),
//! generated so that `printlab demo` and tests exercise every decoder without shipping files.
//! Each carries its resolution in the format's own field (JFIF density, PNG pHYs, URF header),
//! which the engine honours when it places the image on the sheet.

use image::codecs::jpeg::{JpegEncoder, PixelDensity};

/// A landscape colour photo stand-in: a sky-to-grass gradient with three coloured discs.
pub fn photo_jpeg(width: u32, height: u32, dpi: u16) -> Result<Vec<u8>, image::ImageError> {
    let discs = [
        (0.25, 0.45, 0.12, [220u8, 60, 40]),
        (0.50, 0.55, 0.15, [250, 200, 40]),
        (0.75, 0.40, 0.10, [60, 90, 200]),
    ];
    let mut pixels = Vec::with_capacity((width * height * 3) as usize);
    for y in 0..height {
        let v = y as f32 / height as f32;
        for x in 0..width {
            let u = x as f32 / width as f32;
            let mut rgb = if v < 0.6 {
                [(120.0 + 100.0 * v) as u8, (170.0 + 60.0 * v) as u8, 240]
            } else {
                [(60.0 * u) as u8 + 40, (150.0 + 50.0 * v) as u8, 60]
            };
            for (cx, cy, r, colour) in discs {
                let (dx, dy) = ((u - cx) * width as f32, (v - cy) * height as f32);
                if dx * dx + dy * dy < (r * height as f32).powi(2) {
                    rgb = colour;
                }
            }
            pixels.extend_from_slice(&rgb);
        }
    }
    let mut out = Vec::new();
    let mut encoder = JpegEncoder::new_with_quality(&mut out, 85);
    encoder.set_pixel_density(PixelDensity::dpi(dpi));
    encoder.encode(&pixels, width, height, image::ExtendedColorType::Rgb8)?;
    Ok(out)
}

/// A shipping label: a border, a barcode-like run of bars and a solid address block, 8-bit gray.
pub fn label_png(width: u32, height: u32, dpi: u32) -> Result<Vec<u8>, png::EncodingError> {
    let mut pixels = vec![255u8; (width * height) as usize];
    let border = (dpi / 50).max(1);
    for y in 0..height {
        for x in 0..width {
            let edge = x < border || y < border || x >= width - border || y >= height - border;
            let in_barcode =
                y > height / 10 && y < height * 4 / 10 && x > width / 10 && x < width * 9 / 10;
            let bar = !(x / border.max(2)).is_multiple_of(3)
                && !((x * 7919) / (border * 3 + 1)).is_multiple_of(5);
            let address = y > height / 2 && y < height * 8 / 10 && x > width / 10 && x < width / 2;
            if edge || (in_barcode && bar) || address {
                pixels[(y * width + x) as usize] = 0;
            }
        }
    }
    let mut out = Vec::new();
    {
        let mut encoder = png::Encoder::new(&mut out, width, height);
        encoder.set_color(png::ColorType::Grayscale);
        encoder.set_depth(png::BitDepth::Eight);
        let per_metre = (dpi as f64 / 0.0254).round() as u32;
        encoder.set_pixel_dims(Some(png::PixelDimensions {
            xppu: per_metre,
            yppu: per_metre,
            unit: png::Unit::Meter,
        }));
        let mut writer = encoder.write_header()?;
        writer.write_image_data(&pixels)?;
    }
    Ok(out)
}

/// An Apple raster (URF) document of `pages` 8-bit gray pages: each page has a frame and
/// `n` bands for page `n`, so pages can be told apart on paper.
pub fn urf_gray(pages: u32, width: u32, height: u32, dpi: u32) -> Vec<u8> {
    let mut out = b"UNIRAST\0".to_vec();
    out.extend_from_slice(&pages.to_be_bytes());
    for page in 1..=pages {
        let mut header = [0u8; 32];
        header[0] = 8; // bits per pixel
        header[1] = 0; // colour space: sGray
        header[3] = 4; // quality: normal
        header[12..16].copy_from_slice(&width.to_be_bytes());
        header[16..20].copy_from_slice(&height.to_be_bytes());
        header[20..24].copy_from_slice(&dpi.to_be_bytes());
        out.extend_from_slice(&header);
        let band = height / (2 * page + 1);
        let lines: Vec<Vec<u8>> = (0..height)
            .map(|y| {
                (0..width)
                    .map(|x| {
                        let frame = x < 8 || y < 8 || x >= width - 8 || y >= height - 8;
                        let stripe = (y / band.max(1)) % 2 == 1;
                        if frame || stripe { 0 } else { 255 }
                    })
                    .collect()
            })
            .collect();
        encode_runs(&lines, &mut out);
    }
    out
}

/// The run-length scheme PWG raster and URF share: a line-repeat count, then packets of a
/// repeated pixel (`n` = 0..=127 means n+1 copies) or literal pixels (`n` = 129..=255 means
/// 257-n pixels follow). 1 byte per pixel here.
fn encode_runs(lines: &[Vec<u8>], out: &mut Vec<u8>) {
    let mut y = 0;
    while y < lines.len() {
        let mut repeat = 1;
        while y + repeat < lines.len() && repeat < 256 && lines[y + repeat] == lines[y] {
            repeat += 1;
        }
        out.push((repeat - 1) as u8);
        let line = &lines[y];
        let mut x = 0;
        while x < line.len() {
            let mut run = 1;
            while x + run < line.len() && run < 128 && line[x + run] == line[x] {
                run += 1;
            }
            if run > 1 {
                out.push((run - 1) as u8);
                out.push(line[x]);
                x += run;
            } else {
                // Literal pixels up to the next run (or 128 of them).
                let start = x;
                x += 1;
                while x < line.len()
                    && x - start < 128
                    && !(x + 1 < line.len() && line[x + 1] == line[x])
                {
                    x += 1;
                }
                match x - start {
                    1 => out.extend_from_slice(&[0, line[start]]),
                    n => {
                        out.push((257 - n) as u8);
                        out.extend_from_slice(&line[start..x]);
                    }
                }
            }
        }
        y += repeat;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::source::{self, Document};

    #[test]
    fn samples_decode_with_their_declared_size_and_resolution() {
        let jpeg = photo_jpeg(600, 400, 200).unwrap();
        assert_eq!(source::sniff(&jpeg), Some(source::JPEG));
        let png = label_png(406, 609, 203).unwrap();
        assert_eq!(source::sniff(&png), Some(source::PNG));
        let urf = urf_gray(3, 300, 420, 100);
        match source::open(&urf, source::URF, &[source::URF.to_string()]).unwrap() {
            (Document::Raster(pages), _) => {
                assert_eq!(pages.len(), 3);
                assert_eq!(
                    (pages[0].width, pages[0].height, pages[0].dpi),
                    (300, 420, (100.0, 100.0))
                );
                assert_eq!(pages[1].rgb(0, 0), [0, 0, 0]);
                assert_eq!(pages[1].rgb(150, 20), [255, 255, 255]);
            }
            _ => panic!("URF opens as raster"),
        }
    }
}
