//! Encoders for the raster test documents: PNG and JPEG through `png` and `image`, PWG raster
//! (PWG 5102.4) and Apple raster (URF), which no crate writes, by hand. Pages are 8-bit sRGB.

use image::codecs::jpeg::{JpegEncoder, PixelDensity};

/// One page: width, height, RGB samples.
pub type RgbPage = (u32, u32, Vec<u8>);

pub fn png((width, height, samples): RgbPage, dpi: u32) -> Result<Vec<u8>, String> {
    let mut out = Vec::new();
    let mut encoder = png::Encoder::new(&mut out, width, height);
    encoder.set_color(png::ColorType::Rgb);
    encoder.set_depth(png::BitDepth::Eight);
    let per_metre = (dpi as f64 / 0.0254).round() as u32;
    encoder.set_pixel_dims(Some(png::PixelDimensions {
        xppu: per_metre,
        yppu: per_metre,
        unit: png::Unit::Meter,
    }));
    let mut writer = encoder.write_header().map_err(|e| e.to_string())?;
    writer
        .write_image_data(&samples)
        .map_err(|e| e.to_string())?;
    writer.finish().map_err(|e| e.to_string())?;
    Ok(out)
}

pub fn jpeg((width, height, samples): RgbPage, dpi: u32) -> Result<Vec<u8>, String> {
    let mut out = Vec::new();
    let mut encoder = JpegEncoder::new_with_quality(&mut out, 90);
    encoder.set_pixel_density(PixelDensity::dpi(dpi as u16));
    encoder
        .encode(&samples, width, height, image::ExtendedColorType::Rgb8)
        .map_err(|e| e.to_string())?;
    Ok(out)
}

/// PWG raster: "RaS2", then per page a 1796-byte header (the fields a reader needs: resolution,
/// page size in points, width, height, 8 bits per colour, 24 per pixel, bytes per line, sRGB)
/// and the run-length lines.
pub fn pwg(pages: impl Iterator<Item = RgbPage>, dpi: u32) -> Vec<u8> {
    let mut out = b"RaS2".to_vec();
    for (width, height, samples) in pages {
        let mut header = vec![0u8; 1796];
        let mut put = |offset: usize, value: u32| {
            header[offset..offset + 4].copy_from_slice(&value.to_be_bytes());
        };
        put(276, dpi);
        put(280, dpi);
        put(352, width * 72 / dpi);
        put(356, height * 72 / dpi);
        put(372, width);
        put(376, height);
        put(384, 8);
        put(388, 24);
        put(392, width * 3);
        put(400, 19); // sRGB
        header[..9].copy_from_slice(b"PwgRaster");
        out.extend_from_slice(&header);
        encode_lines(&samples, width as usize, &mut out);
    }
    out
}

/// Apple raster: "UNIRAST\0", the page count, then per page a 32-byte header (24 bits per
/// pixel, sRGB, normal quality, width, height, resolution) and the run-length lines.
pub fn urf(pages: impl Iterator<Item = RgbPage>, count: u32, dpi: u32) -> Vec<u8> {
    let mut out = b"UNIRAST\0".to_vec();
    out.extend_from_slice(&count.to_be_bytes());
    for (width, height, samples) in pages {
        let mut header = [0u8; 32];
        header[0] = 24;
        header[1] = 1; // sRGB
        header[3] = 4; // normal quality
        header[12..16].copy_from_slice(&width.to_be_bytes());
        header[16..20].copy_from_slice(&height.to_be_bytes());
        header[20..24].copy_from_slice(&dpi.to_be_bytes());
        out.extend_from_slice(&header);
        encode_lines(&samples, width as usize, &mut out);
    }
    out
}

/// The run-length lines both formats share, for 3-byte pixels: a line-repeat byte (n means
/// n+1 identical lines), then packets of one pixel repeated (0..=127: n+1 times) or literal
/// pixels (129..=255: 257-n of them).
fn encode_lines(samples: &[u8], width: usize, out: &mut Vec<u8>) {
    let lines: Vec<&[u8]> = samples.chunks_exact(width * 3).collect();
    let mut y = 0;
    while y < lines.len() {
        let mut repeat = 1;
        while y + repeat < lines.len() && repeat < 256 && lines[y + repeat] == lines[y] {
            repeat += 1;
        }
        out.push((repeat - 1) as u8);
        let pixels: Vec<&[u8]> = lines[y].chunks_exact(3).collect();
        let mut x = 0;
        while x < pixels.len() {
            let mut run = 1;
            while x + run < pixels.len() && run < 128 && pixels[x + run] == pixels[x] {
                run += 1;
            }
            if run > 1 || x + 1 == pixels.len() {
                out.push((run - 1) as u8);
                out.extend_from_slice(pixels[x]);
                x += run;
                continue;
            }
            let start = x;
            while x < pixels.len()
                && x - start < 128
                && !(x + 1 < pixels.len() && pixels[x + 1] == pixels[x])
            {
                x += 1;
            }
            // One literal pixel has no literal code (257 - 1 is out of range): a run of one.
            out.push(match x - start {
                1 => 0,
                n => (257 - n) as u8,
            });
            for pixel in &pixels[start..x] {
                out.extend_from_slice(pixel);
            }
        }
        y += repeat;
    }
}
