//! A zlib stream for PNG rows after the Up filter, where almost every byte is zero: a byte
//! repeating the one before (zero runs above all) is coded as a distance-1 match, any other
//! byte as a literal, in one block of the fixed Huffman code (RFC 1951, 3.2.6).
//!
//! Hand-written because of what text pages are at 300 dpi: most rows equal the row above, so
//! after the Up filter they are one filter byte and thousands of zeros. [`RowDeflate::zeros`]
//! takes such a row in constant time (the Adler-32 of a zero run has a closed form), where a
//! general compressor, fdeflate's ultra-fast mode included, scans and checksums every byte.
//! Other rows are scanned 64 bytes at a time: a block that only continues the pending run is
//! passed with one test, any other becomes a mask of the bytes that differ from the one before
//! them, and only those cost work. Each writes the run it ends and itself through table
//! lookups and one 8-byte store, with no branch on the data but the loop over the mask: on the
//! benchmark's anti-aliased text, where the changes are dense and irregular, the version that
//! branched per byte and per flushed word took 1.9x as long.
//!
//! A stream may also be made of [`Segment`]s deflated elsewhere (the bands of a large side,
//! each deflated by the thread that drew it): every block is non-final, a segment ends on a
//! byte boundary (an empty stored block, as zlib's sync flush), so segments are joined by
//! copying their bytes, and their Adler-32s are combined arithmetically.

use std::io::{self, Write};

/// Adler-32's modulus.
const ADLER_MOD: u64 = 65_521;

/// Longest match DEFLATE can express.
const MAX_MATCH: u32 = 258;

/// Fixed-code symbol 256.
const END_OF_BLOCK: usize = 256;

/// Fixed Huffman code of every literal/length symbol, bit-reversed for LSB-first output, and its
/// length (RFC 1951, 3.2.6).
const FIXED_CODES: [(u16, u8); 288] = {
    let mut codes = [(0u16, 0u8); 288];
    let mut symbol = 0;
    while symbol < 288 {
        let (code, len) = match symbol {
            0..=143 => (0x30 + symbol, 8),
            144..=255 => (0x190 + symbol - 144, 9),
            256..=279 => (symbol - 256, 7),
            _ => (0xC0 + symbol - 280, 8),
        };
        codes[symbol] = (reverse_bits(code as u16, len), len);
        symbol += 1;
    }
    codes
};

/// First match length of length symbols 257..=285 and their extra bits (RFC 1951, 3.2.5).
const LENGTH_BASE: [(u16, u8); 29] = [
    (3, 0),
    (4, 0),
    (5, 0),
    (6, 0),
    (7, 0),
    (8, 0),
    (9, 0),
    (10, 0),
    (11, 1),
    (13, 1),
    (15, 1),
    (17, 1),
    (19, 2),
    (23, 2),
    (27, 2),
    (31, 2),
    (35, 3),
    (43, 3),
    (51, 3),
    (59, 3),
    (67, 4),
    (83, 4),
    (99, 4),
    (115, 4),
    (131, 5),
    (163, 5),
    (195, 5),
    (227, 5),
    (258, 0),
];

/// For each length 3..=258, the bits of a match of that length at distance 1: length code,
/// extra bits, then distance code 0 (five zero bits), and how many bits that is.
const MATCH_CODES: [(u32, u8); MAX_MATCH as usize + 1] = {
    let mut codes = [(0u32, 0u8); MAX_MATCH as usize + 1];
    let mut index = 0;
    while index < LENGTH_BASE.len() {
        let (base, extra_bits) = LENGTH_BASE[index];
        let (code, code_len) = FIXED_CODES[257 + index];
        let last = if index + 1 < LENGTH_BASE.len() {
            LENGTH_BASE[index + 1].0 - 1
        } else {
            MAX_MATCH as u16
        };
        let mut length = base;
        while length <= last {
            let bits = code as u32 | ((length - base) as u32) << code_len;
            codes[length as usize] = (bits, code_len + extra_bits + 5);
            length += 1;
        }
        index += 1;
    }
    codes
};

const fn reverse_bits(code: u16, len: u8) -> u16 {
    code.reverse_bits() >> (16 - len as u32)
}

/// For each byte value, the bits of that byte repeated 0, 1 and 2 times as literals (too few
/// for a match), and how many bits that is.
const REPEATS: [[(u32, u8); 3]; 256] = {
    let mut repeats = [[(0u32, 0u8); 3]; 256];
    let mut byte = 0;
    while byte < 256 {
        let (code, len) = FIXED_CODES[byte];
        repeats[byte][1] = (code as u32, len);
        repeats[byte][2] = (code as u32 | (code as u32) << len, 2 * len);
        byte += 1;
    }
    repeats
};

/// Writes one zlib stream to `out`, or one [`Segment`] of one.
pub(super) struct RowDeflate<W: Write> {
    out: W,
    /// Output not yet passed to `out`: bytes up to `filled`; `bits` holds `bit_count` more.
    buffer: Box<[u8]>,
    filled: usize,
    bits: u64,
    bit_count: u32,
    /// The last byte taken (`NO_BYTE` at the start) and how many repeats of it follow that
    /// are not yet written: a run is written when a different byte ends it.
    last: u16,
    run: u64,
    adler: simd_adler32::Adler32,
    /// Bytes taken, which joining a segment's Adler-32 to the stream's needs.
    taken: u64,
}

/// Part of a stream, deflated apart from it: raw DEFLATE blocks, none final, ending on a byte
/// boundary, with the Adler-32 and length of what they inflate to.
#[derive(Debug, Default)]
pub(super) struct Segment {
    pub(super) bytes: Vec<u8>,
    adler: u32,
    taken: u64,
}

/// The Adler-32 of `first` followed by `taken` bytes whose own Adler-32 is `second`: each
/// running sum of the second part starts from the first part's sum instead of 1.
fn adler_join(first: u32, second: u32, taken: u64) -> u32 {
    let m = ADLER_MOD;
    let (a1, b1) = (u64::from(first & 0xFFFF), u64::from(first >> 16));
    let (a2, b2) = (u64::from(second & 0xFFFF), u64::from(second >> 16));
    let a = (a1 + a2 + m - 1) % m;
    let b = (b1 + b2 + (taken % m) * ((a1 + m - 1) % m)) % m;
    ((b as u32) << 16) | a as u32
}

/// `last` before the first byte: equal to no byte.
const NO_BYTE: u16 = 0x100;

/// Input coded per pass of the bit writer, so that its output fits the buffer's slack.
const PIECE_BYTES: usize = 8 << 10;

/// Output buffer, and the most bytes passed to `out` in one write: large writes, with room for
/// one piece's worst case.
pub(super) const OUTPUT_BYTES: usize = 64 << 10;

/// Bytes scanned into one mask of changes.
const BLOCK_BYTES: usize = 64;

/// Most repeats a run carries from one call to the next: a longer one is written down to
/// this first, so that ending a carried run writes a bounded number of bytes.
const RUN_LIMIT: u64 = 32 * MAX_MATCH as u64;

/// Most bytes ending a carried run writes: its longest matches, the rest as a match or two
/// literals, and the symbol that ends it.
const CARRIED_RUN_BYTES: usize =
    ((RUN_LIMIT / MAX_MATCH as u64 + 1) as usize * MATCH_BITS + 2 * 9 + 9).div_ceil(8);

/// Bits of a longest match at distance 1.
const MATCH_BITS: usize = MATCH_CODES[MAX_MATCH as usize].1 as usize;

/// Most bytes `input` bytes can code to: at most 9 bits each (a literal; a repeat costs
/// less), plus ending a carried run, plus the bit writer's 8-byte stores past its end.
const fn output_bound(input: usize) -> usize {
    input * 9 / 8 + CARRIED_RUN_BYTES + 8
}

impl<W: Write> RowDeflate<W> {
    /// Starts the stream: zlib header (deflate, 32 KiB window, fastest), then a fixed-code
    /// block.
    pub(super) fn new(out: W) -> Self {
        let mut deflate = Self::segment(out);
        deflate.buffer.copy_within(..deflate.filled + 1, 2);
        deflate.buffer[..2].copy_from_slice(&[0x78, 0x01]);
        deflate.filled += 2;
        deflate
    }

    /// Starts a [`Segment`]: a fixed-code block, without the zlib header.
    pub(super) fn segment(out: W) -> Self {
        let mut deflate = Self {
            out,
            buffer: vec![0; OUTPUT_BYTES].into_boxed_slice(),
            filled: 0,
            bits: 0,
            bit_count: 0,
            last: NO_BYTE,
            run: 0,
            adler: simd_adler32::Adler32::new(),
            taken: 0,
        };
        deflate.open_block();
        deflate
    }

    /// Writes the header of a non-final fixed-code block (BFINAL = 0, BTYPE = 01).
    fn open_block(&mut self) {
        let mut bits = self.bits();
        bits.put(0b010, 3);
        let state = bits.state();
        self.keep(state);
    }

    /// Ends the open block (its pending run, then end-of-block) and brings the output to a
    /// byte boundary with an empty stored block, all of it in `buffer`.
    fn close_block(&mut self) -> io::Result<()> {
        self.make_room(output_bound(0) + 8)?;
        let mut bits = self.bits();
        let run = std::mem::take(&mut bits.run);
        bits.end_run(run, END_OF_BLOCK);
        // BFINAL = 0, BTYPE = 00; the padding to the byte boundary; LEN 0 and NLEN.
        bits.put(0b000, 3);
        bits.put(0, (8 - bits.count % 8) % 8);
        bits.put(0xFFFF_0000, 32);
        let state = bits.state();
        self.keep(state);
        Ok(())
    }

    /// Appends a segment deflated elsewhere: the open block ends on a byte boundary, the
    /// segment's bytes follow as they are, and a new block opens after them.
    pub(super) fn append(&mut self, segment: &Segment) -> io::Result<()> {
        if segment.taken == 0 {
            return Ok(());
        }
        self.close_block()?;
        self.out.write_all(&self.buffer[..self.filled])?;
        self.filled = 0;
        for piece in segment.bytes.chunks(OUTPUT_BYTES) {
            self.out.write_all(piece)?;
        }
        let joined = adler_join(self.adler.finish(), segment.adler, segment.taken);
        self.adler = simd_adler32::Adler32::from_checksum(joined);
        self.taken += segment.taken;
        self.last = NO_BYTE;
        self.open_block();
        Ok(())
    }

    /// Appends `n` zero bytes, in constant time once a zero has been written.
    pub(super) fn zeros(&mut self, n: u64) -> io::Result<()> {
        if n == 0 {
            return Ok(());
        }
        if self.last != 0 {
            self.write_data(&[0])?;
            return self.zeros(n - 1);
        }
        let sums = self.adler.finish();
        let (a, b) = (u64::from(sums & 0xFFFF), u64::from(sums >> 16));
        let b = (b + (n % ADLER_MOD) * a) % ADLER_MOD;
        self.adler = simd_adler32::Adler32::from_checksum(((b as u32) << 16) | a as u32);
        self.taken += n;
        self.run += n;
        self.bound_run()
    }

    /// Appends `data`.
    pub(super) fn write_data(&mut self, data: &[u8]) -> io::Result<()> {
        let Some(&first) = data.first() else {
            return Ok(());
        };
        self.adler.write(data);
        self.taken += data.len() as u64;
        if self.last == NO_BYTE {
            // Any other byte: the first one is then a literal.
            self.last = u16::from(!first);
        }
        for piece in data.chunks(PIECE_BYTES) {
            self.make_room(output_bound(piece.len()))?;
            let mut bits = self.bits();
            // Where the pending run of the last byte started, as a position in `piece`:
            // a byte that ends it at position `at` has `at - run_from` repeats before it.
            let mut run_from = -(bits.run as i64);
            let mut blocks = piece.chunks_exact(BLOCK_BYTES);
            let mut block_at = 0i64;
            for block in &mut blocks {
                let block: &[u8; BLOCK_BYTES] = block.try_into().expect("a whole block");
                let words: [u64; BLOCK_BYTES / 8] = std::array::from_fn(|i| {
                    u64::from_le_bytes(block[i * 8..i * 8 + 8].try_into().expect("8 bytes"))
                });
                // Most blocks of a text row continue a zero run: one test passes them.
                let repeated = u64::from(bits.last as u8) * 0x0101_0101_0101_0101;
                if words.iter().fold(0, |any, word| any | (word ^ repeated)) == 0 {
                    block_at += BLOCK_BYTES as i64;
                    continue;
                }
                // Bit j is set where byte j differs from the byte before it.
                let mut changes = 0u64;
                let mut before = u64::from(bits.last as u8);
                for (i, word) in words.into_iter().enumerate() {
                    changes |= byte_changes(word, before) << (i * 8);
                    before = word >> 56;
                }
                while changes != 0 {
                    let j = changes.trailing_zeros() as usize;
                    let at = block_at + j as i64;
                    let byte = block[j];
                    bits.end_run((at - run_from) as u64, byte as usize);
                    bits.last = u16::from(byte);
                    run_from = at + 1;
                    changes &= changes - 1;
                }
                block_at += BLOCK_BYTES as i64;
            }
            for &byte in blocks.remainder() {
                if u16::from(byte) != bits.last {
                    bits.end_run((block_at - run_from) as u64, byte as usize);
                    bits.last = u16::from(byte);
                    run_from = block_at + 1;
                }
                block_at += 1;
            }
            bits.run = (block_at - run_from) as u64;
            let state = bits.state();
            self.keep(state);
            self.bound_run()?;
        }
        Ok(())
    }

    /// Writes longest matches until the pending run is at most [`RUN_LIMIT`].
    fn bound_run(&mut self) -> io::Result<()> {
        while self.run > RUN_LIMIT {
            self.make_room(output_bound(0))?;
            let matches = (self.run - RUN_LIMIT)
                .div_ceil(u64::from(MAX_MATCH))
                .min(RUN_LIMIT / u64::from(MAX_MATCH));
            let mut bits = self.bits();
            bits.longest_matches(matches);
            bits.run -= matches * u64::from(MAX_MATCH);
            let state = bits.state();
            self.keep(state);
        }
        Ok(())
    }

    /// Passes the buffered output on unless `bytes` more fit.
    fn make_room(&mut self, bytes: usize) -> io::Result<()> {
        if self.filled + bytes > self.buffer.len() {
            self.out.write_all(&self.buffer[..self.filled])?;
            self.filled = 0;
        }
        Ok(())
    }

    /// The bit writer, in a local that the compiler keeps in registers.
    fn bits(&mut self) -> Bits<'_> {
        Bits {
            acc: self.bits,
            count: self.bit_count,
            last: self.last,
            run: self.run,
            filled: self.filled,
            out: &mut self.buffer,
        }
    }

    /// Takes back the state of a [`Bits`] made by [`Self::bits`].
    fn keep(&mut self, state: BitState) {
        (self.bits, self.bit_count, self.last, self.run, self.filled) = state;
    }

    /// Ends the block and the stream (an empty final block, padding, Adler-32) and returns
    /// the writer. The output goes to `out` in one last write.
    pub(super) fn finish(mut self) -> io::Result<W> {
        self.make_room(output_bound(0) + 16)?;
        let mut bits = self.bits();
        let run = std::mem::take(&mut bits.run);
        bits.end_run(run, END_OF_BLOCK);
        // BFINAL = 1, BTYPE = 01, then its end-of-block.
        bits.put(0b011, 3);
        bits.end_run(0, END_OF_BLOCK);
        let state = bits.state();
        self.keep(state);
        // The bit writer has stored the last partial byte already; it only needs counting.
        self.filled += self.bit_count.div_ceil(8) as usize;
        let adler = self.adler.finish().to_be_bytes();
        self.buffer[self.filled..self.filled + 4].copy_from_slice(&adler);
        self.filled += 4;
        self.out.write_all(&self.buffer[..self.filled])?;
        Ok(self.out)
    }
}

impl RowDeflate<Vec<u8>> {
    /// Ends a segment started by [`Self::segment`].
    pub(super) fn finish_segment(mut self) -> io::Result<Segment> {
        self.close_block()?;
        let mut bytes = std::mem::take(&mut self.out);
        bytes.extend_from_slice(&self.buffer[..self.filled]);
        Ok(Segment {
            bytes,
            adler: self.adler.finish(),
            taken: self.taken,
        })
    }
}

/// One bit per byte of `word` (little-endian), set where that byte differs from the one before
/// it (`before`'s low byte for the first).
#[inline(always)]
fn byte_changes(word: u64, before: u64) -> u64 {
    const LOW7: u64 = 0x7F7F_7F7F_7F7F_7F7F;
    let differences = word ^ ((word << 8) | before);
    // The high bit of each byte, set where that byte of `differences` is non-zero.
    let nonzero = (((differences & LOW7) + LOW7) | differences) & !LOW7;
    // Gathers the eight high bits into the top byte: bit 8k+7 moves to bit 56+k, and no two
    // partial products meet, so nothing carries.
    (nonzero >> 7).wrapping_mul(0x0102_0408_1020_4080) >> 56
}

type BitState = (u64, u32, u16, u64, usize);

struct Bits<'a> {
    acc: u64,
    count: u32,
    last: u16,
    run: u64,
    filled: usize,
    out: &'a mut [u8],
}

impl Bits<'_> {
    fn state(self) -> BitState {
        (self.acc, self.count, self.last, self.run, self.filled)
    }

    /// Writes `run` repeats of the last byte (a copy at distance 1, or literals when fewer
    /// than a match's three), then `symbol`, in one go.
    #[inline(always)]
    fn end_run(&mut self, mut run: u64, symbol: usize) {
        if run > u64::from(MAX_MATCH) {
            let matches = (run - 1) / u64::from(MAX_MATCH);
            self.longest_matches(matches);
            run -= matches * u64::from(MAX_MATCH);
        }
        let (run_bits, run_len) = if run < 3 {
            REPEATS[self.last as u8 as usize][run as usize]
        } else {
            MATCH_CODES[run as usize]
        };
        let (code, len) = FIXED_CODES[symbol];
        self.put(
            u64::from(run_bits) | u64::from(code) << run_len,
            u32::from(run_len + len),
        );
    }

    /// Writes `count` matches of the longest length: the gaps between words and the margins
    /// of text rows are longer than one match, so this is not a rare path.
    #[inline(always)]
    fn longest_matches(&mut self, count: u64) {
        let (bits, len) = MATCH_CODES[MAX_MATCH as usize];
        for _ in 0..count {
            self.put(u64::from(bits), u32::from(len));
        }
    }

    /// Appends `len` (at most 56) bits, least significant first. Stores eight bytes whatever
    /// `len` is and keeps the whole ones, so that no branch depends on the data.
    #[inline(always)]
    fn put(&mut self, bits: u64, len: u32) {
        self.acc |= bits << self.count;
        self.count += len;
        self.out[self.filled..self.filled + 8].copy_from_slice(&self.acc.to_le_bytes());
        let whole = self.count / 8;
        self.filled += whole as usize;
        self.acc >>= whole * 8;
        self.count -= whole * 8;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use std::io::Read;

    fn inflate(stream: &[u8]) -> Vec<u8> {
        let mut out = Vec::new();
        flate2::read::ZlibDecoder::new(stream)
            .read_to_end(&mut out)
            .expect("a valid zlib stream, Adler-32 included");
        out
    }

    /// One stream of `parts`, and what it must inflate to.
    fn deflate(parts: &[Result<u64, &[u8]>]) -> (Vec<u8>, Vec<u8>) {
        let mut expected = Vec::new();
        let mut deflate = RowDeflate::new(Vec::new());
        feed(&mut deflate, parts, &mut expected);
        (deflate.finish().unwrap(), expected)
    }

    #[test]
    fn empty_stream_inflates_to_nothing() {
        let (stream, _) = deflate(&[]);
        assert!(inflate(&stream).is_empty());
    }

    #[test]
    fn zero_runs_of_every_length_around_the_match_limits() {
        for run in (0..=20)
            .chain(255..=262)
            .chain([516, 517, 518, 519, 100_000])
        {
            for parts in [
                vec![Ok(run)],
                vec![Err(&[2u8][..]), Ok(run), Err(&[9, 0, 0, 255][..])],
                vec![Err(&[0u8; 3][..]), Ok(run), Ok(run)],
            ] {
                let (stream, expected) = deflate(&parts);
                assert_eq!(inflate(&stream), expected, "run {run}, parts {parts:?}");
            }
        }
    }

    #[test]
    fn every_byte_value_repeats_and_mixed_words_round_trip() {
        let all: Vec<u8> = (0..=255).collect();
        let mut state = 0x9e37_79b9_u32;
        // Sparse non-zero bytes, as a filtered text row has, at every offset in a word.
        let sparse: Vec<u8> = (0..5000)
            .map(|_| {
                state ^= state << 13;
                state ^= state >> 17;
                state ^= state << 5;
                if state.is_multiple_of(11) {
                    state as u8
                } else {
                    0
                }
            })
            .collect();
        // Repeats of non-zero bytes (a horizontal edge after the Up filter), runs of one and
        // two, and a repeat run that crosses a call.
        let repeats: Vec<u8> = [
            (1u8, 700),
            (5, 4),
            (9, 2),
            (0, 4),
            (7, 1),
            (7, 3),
            (255, 259),
        ]
        .iter()
        .flat_map(|&(byte, count)| std::iter::repeat_n(byte, count))
        .collect();
        let (stream, expected) = deflate(&[
            Err(&repeats),
            Err(&[255; 5]),
            Ok(2),
            Err(&all),
            Ok(70_000),
            Err(&sparse),
            Err(&sparse[3..]),
            Ok(1),
        ]);
        assert_eq!(inflate(&stream), expected);
    }

    #[test]
    fn runs_longer_than_the_output_buffer_and_dense_literals_round_trip() {
        let repeats = vec![7u8; 300_000];
        // Nine-bit literals only, none repeating: the most output per input byte.
        let dense: Vec<u8> = (0..50_000).map(|i| 144 + (i % 112) as u8).collect();
        let (stream, expected) = deflate(&[
            Err(&[1][..]),
            Ok(3_000_000),
            Err(&repeats),
            Err(&dense),
            Ok(RUN_LIMIT + 1),
            Err(&[8][..]),
            Ok(1_000_000),
        ]);
        assert_eq!(inflate(&stream), expected);
    }

    /// Feeds `parts` to `deflate` in order, `Ok(n)` as [`RowDeflate::zeros`] and `Err(bytes)`
    /// as data, and extends `expected` with them.
    fn feed<W: Write, B: AsRef<[u8]>>(
        deflate: &mut RowDeflate<W>,
        parts: &[Result<u64, B>],
        expected: &mut Vec<u8>,
    ) {
        for part in parts {
            match part {
                Ok(n) => {
                    deflate.zeros(*n).unwrap();
                    expected.resize(expected.len() + *n as usize, 0);
                }
                Err(bytes) => {
                    deflate.write_data(bytes.as_ref()).unwrap();
                    expected.extend_from_slice(bytes.as_ref());
                }
            }
        }
    }

    #[test]
    fn adler_of_joined_parts_is_adler_of_the_whole() {
        let whole: Vec<u8> = (0..200_000u32).map(|i| (i * 7 % 251) as u8).collect();
        for split in [0, 1, 5_551, 65_521, 100_000, 200_000] {
            let (first, second) = whole.split_at(split);
            let joined = adler_join(
                simd_adler32::adler32(&first),
                simd_adler32::adler32(&second),
                second.len() as u64,
            );
            assert_eq!(
                joined,
                simd_adler32::adler32(&whole.as_slice()),
                "split {split}"
            );
        }
    }

    /// Runs of 1 to 70 bytes (a 64-byte block holds several, or sits inside one) of a few
    /// values, so that neighbouring runs often share theirs, and zero runs as whole calls.
    fn arb_parts() -> impl Strategy<Value = Vec<Result<u64, Vec<u8>>>> {
        let run = (
            proptest::sample::select(vec![0u8, 1, 7, 128, 255]),
            1usize..=70,
        );
        let data = proptest::collection::vec(run, 1..400).prop_map(|runs| {
            runs.into_iter()
                .flat_map(|(byte, length)| std::iter::repeat_n(byte, length))
                .collect::<Vec<u8>>()
        });
        let part = prop_oneof![
            4 => data.prop_map(Err),
            1 => (0u64..3 * RUN_LIMIT).prop_map(Ok),
        ];
        proptest::collection::vec(part, 1..8)
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(300))]

        #[test]
        fn arbitrary_runs_and_calls_round_trip(parts in arb_parts()) {
            let parts: Vec<Result<u64, &[u8]>> =
                parts.iter().map(|part| part.as_ref().map(|&n| n).map_err(|bytes| &bytes[..])).collect();
            let (stream, expected) = deflate(&parts);
            prop_assert_eq!(inflate(&stream), expected);
        }

        /// A stream of its own data and segments deflated apart, in any order and any of them
        /// empty, inflates to all of it in order, with the whole's Adler-32.
        #[test]
        fn segments_join_into_one_stream(
            pieces in proptest::collection::vec((any::<bool>(), arb_parts()), 1..5),
            empty in any::<bool>(),
        ) {
            let mut expected = Vec::new();
            let mut stream = RowDeflate::new(Vec::new());
            if empty {
                stream.append(&RowDeflate::segment(Vec::new()).finish_segment().unwrap()).unwrap();
            }
            for (apart, parts) in &pieces {
                if *apart {
                    let mut segment = RowDeflate::segment(Vec::new());
                    feed(&mut segment, parts, &mut expected);
                    stream.append(&segment.finish_segment().unwrap()).unwrap();
                } else {
                    feed(&mut stream, parts, &mut expected);
                }
            }
            prop_assert_eq!(inflate(&stream.finish().unwrap()), expected);
        }
    }
}
