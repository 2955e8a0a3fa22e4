//! PNG encoding of one side, streamed: Up-filtered rows through the row deflater into IDAT chunks,
//! hashed with SHA-256 on the way to the file.

use super::row_deflate::{RowDeflate, Segment};
use sha2::{Digest, Sha256};
use std::io::Write;

/// The PNG a side is written as.
pub(super) struct PngSpec {
    pub(super) width: u32,
    pub(super) height: u32,
    pub(super) channels: usize,
    pub(super) dpi: u32,
}

/// Buffer between the PNG and its file: it gathers the small header, chunk length and CRC
/// writes; IDAT payloads are larger and go straight through.
pub(super) const OUTPUT_BUFFER: usize = 64 << 10;

/// PNG filter type 2: each byte minus the byte above it.
const FILTER_UP: u8 = 2;

impl PngSpec {
    /// Writes the PNG to `out`, with `fill` supplying the rows through [`PngRows`], and returns
    /// its SHA-256 (hex), hashed on the way out: no encoded copy of the side is kept in memory.
    ///
    /// Rows are Up-filtered (on the benchmark's 300 dpi pages Paeth and adaptive filtering
    /// were slower and Sub and Avg larger) and deflated by [`RowDeflate`]: runs as distance-1
    /// matches and literals, in the fixed Huffman code, with rows equal to the row above taken
    /// in constant time. zlib's default level costs several times the rendering itself. On
    /// those pages, in the same runs, fdeflate's ultra-fast mode (the png crate's `Fastest`,
    /// a tuned code but only zero runs and no constant-time rows) wrote ~14 % larger files and
    /// made the encode step 10-25 % slower; zlib-rs at level 1 (default or RLE strategy) wrote
    /// 25-30 % less than fdeflate in 1.5-2x its time.
    ///
    /// The rows come from the caller in batches (the worker converts a few at a time from
    /// hayro's pixmap), so filtering and compressing run on bytes still in cache; the png
    /// crate's stream writer, used before, copied every row again and took the compressor's
    /// 8-byte writes through a copy call each. Each write of the compressor's output is one
    /// IDAT chunk, so compressed bytes are not copied again before the hash and the file.
    pub(super) fn encode(
        &self,
        out: &mut dyn std::io::Write,
        fill: &mut dyn FnMut(&mut PngRows<'_>) -> std::io::Result<()>,
    ) -> std::io::Result<String> {
        let mut hashing = HashingWriter {
            inner: out,
            hasher: Sha256::new(),
        };
        {
            let mut encoder =
                png::Encoder::new(&mut hashing as &mut dyn Write, self.width, self.height);
            encoder.set_color(if self.channels == 1 {
                png::ColorType::Grayscale
            } else {
                png::ColorType::Rgb
            });
            encoder.set_depth(png::BitDepth::Eight);
            let per_metre = (self.dpi as f64 / 0.0254).round() as u32;
            encoder.set_pixel_dims(Some(png::PixelDimensions {
                xppu: per_metre,
                yppu: per_metre,
                unit: png::Unit::Meter,
            }));
            let png = encoder.write_header().map_err(std::io::Error::other)?;
            let row_bytes = self.width as usize * self.channels;
            let mut rows = FilteredRows::new(
                RowDeflate::new(IdatChunks { png }),
                vec![0; row_bytes],
                self.height,
            );
            fill(&mut rows)?;
            let idat = rows.finish()?.finish()?;
            idat.png.finish().map_err(std::io::Error::other)?;
        }
        hashing.inner.flush()?;
        Ok(hex::encode(hashing.hasher.finalize()))
    }
}

/// The image data of a PNG being written, in batches of rows.
pub(super) type PngRows<'a> = FilteredRows<IdatChunks<'a>>;

/// Rows filtered and deflated into a PNG's stream, or into a segment of one.
pub(super) struct FilteredRows<W: Write> {
    compressor: RowDeflate<W>,
    /// The last row taken (zeros before the first, as the Up filter defines).
    previous: Vec<u8>,
    /// Filter type, then the Up-filtered row.
    filtered: Vec<u8>,
    rows_left: u32,
}

/// Rows of a side encoded apart from it, by the worker that drew them: the first row as
/// pixels, since its Up filter needs the row above, which another band holds; the others
/// filtered and deflated into a [`Segment`]. [`FilteredRows::push_band`] puts it in the PNG.
pub(super) struct EncodedBand {
    first_row: Vec<u8>,
    last_row: Vec<u8>,
    rest: Segment,
    rows: u32,
}

impl EncodedBand {
    /// Encodes `pixels`, whole rows of `row_bytes`, into `buffer` (cleared first).
    pub(super) fn encode(
        pixels: &[u8],
        row_bytes: usize,
        mut buffer: Vec<u8>,
    ) -> std::io::Result<Self> {
        let rows = u32::try_from(pixels.len() / row_bytes.max(1)).unwrap_or(u32::MAX);
        let Some((first_row, after)) = pixels.split_at_checked(row_bytes) else {
            return Err(std::io::Error::other("a band with no row"));
        };
        buffer.clear();
        let mut rest = FilteredRows::new(RowDeflate::segment(buffer), first_row.to_vec(), rows - 1);
        rest.push_rows(after)?;
        let last_row = rest.previous.clone();
        Ok(Self {
            first_row: first_row.to_vec(),
            last_row,
            rest: rest.finish()?.finish_segment()?,
            rows,
        })
    }

    /// The buffer its deflated rows took, for the next band.
    pub(super) fn into_buffer(self) -> Vec<u8> {
        self.rest.bytes
    }
}

impl<W: Write> FilteredRows<W> {
    fn new(compressor: RowDeflate<W>, previous: Vec<u8>, rows: u32) -> Self {
        let filtered = [FILTER_UP]
            .into_iter()
            .chain(vec![0; previous.len()])
            .collect();
        Self {
            compressor,
            previous,
            filtered,
            rows_left: rows,
        }
    }

    /// The compressor, once every row has been taken.
    fn finish(self) -> std::io::Result<RowDeflate<W>> {
        if self.rows_left > 0 {
            return Err(std::io::Error::other(format!(
                "PNG ended {} rows short",
                self.rows_left
            )));
        }
        Ok(self.compressor)
    }

    /// Takes a band encoded apart: its first row filtered here, against the row above, then
    /// its other rows as they were deflated.
    pub(super) fn push_band(&mut self, band: &EncodedBand) -> std::io::Result<()> {
        self.push_rows(&band.first_row)?;
        self.rows_left = self
            .rows_left
            .checked_sub(band.rows - 1)
            .ok_or_else(|| std::io::Error::other("more rows than the PNG's height"))?;
        self.compressor.append(&band.rest)?;
        self.previous.copy_from_slice(&band.last_row);
        Ok(())
    }

    /// Filters and compresses `rows`, whole rows back to back.
    pub(super) fn push_rows(&mut self, rows: &[u8]) -> std::io::Result<()> {
        let row_bytes = self.previous.len();
        if !rows.len().is_multiple_of(row_bytes) {
            return Err(std::io::Error::other(format!(
                "{} bytes are not whole rows of {row_bytes}",
                rows.len()
            )));
        }
        let count = u32::try_from(rows.len() / row_bytes).unwrap_or(u32::MAX);
        self.rows_left = self
            .rows_left
            .checked_sub(count)
            .ok_or_else(|| std::io::Error::other("more rows than the PNG's height"))?;
        let mut above = &self.previous[..];
        for row in rows.chunks_exact(row_bytes) {
            if row == above {
                self.repeat_row()?;
            } else {
                for ((out, &byte), &over) in self.filtered[1..].iter_mut().zip(row).zip(above) {
                    *out = byte.wrapping_sub(over);
                }
                self.compressor.write_data(&self.filtered)?;
            }
            above = row;
        }
        if let Some(last) = rows.rchunks_exact(row_bytes).next() {
            self.previous.copy_from_slice(last);
        }
        Ok(())
    }

    /// Takes `count` more rows equal to the last one, without them in memory: a blank side is
    /// one white row and this. The same bytes as pushing the rows.
    pub(super) fn push_repeats(&mut self, count: u32) -> std::io::Result<()> {
        self.rows_left = self
            .rows_left
            .checked_sub(count)
            .ok_or_else(|| std::io::Error::other("more rows than the PNG's height"))?;
        for _ in 0..count {
            self.repeat_row()?;
        }
        Ok(())
    }

    /// A row equal to the one above (most rows of a text page): the filter type, then zeros.
    fn repeat_row(&mut self) -> std::io::Result<()> {
        self.compressor.write_data(&[FILTER_UP])?;
        self.compressor.zeros(self.previous.len() as u64)
    }
}

/// Writes each piece of the compressed stream it is given as one IDAT chunk: the compressor
/// passes its output on in pieces of at most [`super::row_deflate::OUTPUT_BYTES`].
pub(super) struct IdatChunks<'a> {
    png: png::Writer<&'a mut dyn std::io::Write>,
}

impl std::io::Write for IdatChunks<'_> {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.png
            .write_chunk(png::chunk::IDAT, bytes)
            .map_err(std::io::Error::other)?;
        Ok(bytes.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Passes bytes through to `inner`, hashing what was written.
struct HashingWriter<W> {
    inner: W,
    hasher: Sha256,
}

impl<W: std::io::Write> std::io::Write for HashingWriter<W> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let written = self.inner.write(buf)?;
        self.hasher.update(&buf[..written]);
        Ok(written)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.inner.flush()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Writes `pixels` through [`PngSpec::encode`].
    fn encode(spec: &PngSpec, pixels: &[u8]) -> std::io::Result<(String, Vec<u8>)> {
        let row_bytes = spec.width as usize * spec.channels;
        let mut out = Vec::new();
        // In batches of three rows, so that the row above crosses from one batch to the next.
        let sha256 = spec.encode(&mut out, &mut |rows| {
            for batch in pixels.chunks(row_bytes * 3) {
                rows.push_rows(batch)?;
            }
            Ok(())
        })?;
        Ok((sha256, out))
    }

    fn decode(bytes: &[u8]) -> (png::OutputInfo, Option<png::PixelDimensions>, Vec<u8>) {
        let mut reader = png::Decoder::new(std::io::Cursor::new(bytes))
            .read_info()
            .expect("a PNG header");
        let mut pixels = vec![0; reader.output_buffer_size().unwrap()];
        let info = reader.next_frame(&mut pixels).expect("valid image data");
        pixels.truncate(info.buffer_size());
        (info, reader.info().pixel_dims, pixels)
    }

    /// Rows that exercise each case of the filter: black first row (equal to the implicit zero
    /// row above), repeated rows, rows that differ from the one above by wrapping amounts, and a
    /// width that is no multiple of the compressor's 8-byte steps.
    fn sample(width: u32, height: u32, channels: usize) -> Vec<u8> {
        let row_bytes = width as usize * channels;
        let mut pixels = vec![0; row_bytes * height as usize];
        for (y, row) in pixels.chunks_exact_mut(row_bytes).enumerate() {
            for (x, byte) in row.iter_mut().enumerate() {
                *byte = match y {
                    0 => 0,
                    1 | 2 => (x * 37 % 251) as u8,
                    3 => 255,
                    _ => ((x * 7 + y * 131) % 256) as u8,
                };
            }
        }
        pixels
    }

    #[test]
    fn rows_come_back_unchanged_with_the_hash_of_the_written_bytes() {
        for (channels, color) in [(3, png::ColorType::Rgb), (1, png::ColorType::Grayscale)] {
            let spec = PngSpec {
                width: 37,
                height: 9,
                channels,
                dpi: 300,
            };
            let pixels = sample(spec.width, spec.height, channels);
            let (sha256, bytes) = encode(&spec, &pixels).unwrap();
            assert_eq!(sha256, hex::encode(Sha256::digest(&bytes)));
            let (info, dims, decoded) = decode(&bytes);
            assert_eq!((info.width, info.height), (37, 9));
            assert_eq!(info.color_type, color);
            assert_eq!(info.bit_depth, png::BitDepth::Eight);
            assert_eq!(decoded, pixels, "{channels} channel(s)");
            let dims = dims.expect("a pHYs chunk");
            assert_eq!(
                (dims.xppu, dims.yppu, dims.unit),
                (11811, 11811, png::Unit::Meter)
            );
        }
    }

    #[test]
    fn large_images_span_several_idat_chunks() {
        // Noise barely compresses, so 3 MB of it needs many chunks.
        let spec = PngSpec {
            width: 1024,
            height: 1024,
            channels: 3,
            dpi: 72,
        };
        let mut state = 0x2545_f491_u32;
        let pixels: Vec<u8> = (0..1024 * 1024 * 3)
            .map(|_| {
                state ^= state << 13;
                state ^= state >> 17;
                state ^= state << 5;
                state as u8
            })
            .collect();
        let (_, bytes) = encode(&spec, &pixels).unwrap();
        let mut idat_chunks = 0;
        let mut at = 8;
        while at < bytes.len() {
            let length = u32::from_be_bytes(bytes[at..at + 4].try_into().unwrap()) as usize;
            if &bytes[at + 4..at + 8] == b"IDAT" {
                assert!(length <= crate::row_deflate::OUTPUT_BYTES);
                idat_chunks += 1;
            }
            at += 12 + length;
        }
        assert!(idat_chunks >= 40, "{idat_chunks} IDAT chunks");
        assert_eq!(decode(&bytes).2, pixels);
    }

    #[test]
    fn repeated_rows_write_the_same_bytes_as_the_rows_themselves() {
        for channels in [1, 3] {
            let spec = PngSpec {
                width: 45,
                height: 20,
                channels,
                dpi: 600,
            };
            let row_bytes = spec.width as usize * channels;
            let white = vec![0xFF; row_bytes * spec.height as usize];
            let (sha256, whole) = encode(&spec, &white).unwrap();
            let mut repeated = Vec::new();
            let repeated_sha256 = spec
                .encode(&mut repeated, &mut |rows| {
                    rows.push_rows(&white[..row_bytes])?;
                    rows.push_repeats(spec.height - 1)
                })
                .unwrap();
            assert_eq!(repeated, whole, "{channels} channel(s)");
            assert_eq!(repeated_sha256, sha256);
            assert!(
                spec.encode(&mut Vec::new(), &mut |rows| rows
                    .push_repeats(spec.height + 1))
                    .is_err()
            );
        }
    }

    /// Bands deflated apart (one of a single row among them) and joined make a PNG of the
    /// same pixels as the rows pushed one after another.
    #[test]
    fn bands_encoded_apart_join_into_the_same_image() {
        for channels in [1, 3] {
            let spec = PngSpec {
                width: 37,
                height: 23,
                channels,
                dpi: 600,
            };
            let row_bytes = spec.width as usize * channels;
            let pixels = sample(spec.width, spec.height, channels);
            let mut joined = Vec::new();
            spec.encode(&mut joined, &mut |rows| {
                for band_rows in [5, 1, 9, 8] {
                    let at = rows_taken(rows, spec.height);
                    let band = &pixels[at * row_bytes..(at + band_rows) * row_bytes];
                    rows.push_band(&EncodedBand::encode(band, row_bytes, Vec::new())?)?;
                }
                Ok(())
            })
            .unwrap();
            assert_eq!(decode(&joined).2, pixels, "{channels} channel(s)");
        }
    }

    fn rows_taken(rows: &PngRows<'_>, height: u32) -> usize {
        (height - rows.rows_left) as usize
    }

    #[test]
    fn a_wrong_row_count_is_an_error_not_a_broken_file() {
        let spec = PngSpec {
            width: 4,
            height: 3,
            channels: 1,
            dpi: 72,
        };
        let short = encode(&spec, &[7; 8]).unwrap_err();
        assert!(short.to_string().contains("1 rows short"), "{short}");
        let long = encode(&spec, &[7; 16]).unwrap_err();
        assert!(long.to_string().contains("more rows"), "{long}");
    }
}
