//! A zlib stream for PNG rows after the Up filter, where almost every byte is zero: a byte
//! repeating the one before (zero runs above all) is coded as a distance-1 match, any other
//! byte as a literal, in one block of the fixed Huffman code (RFC 1951, 3.2.6).
//!
//! Hand-written because of what text pages are at 300 dpi: most rows equal the row above, so
//! after the Up filter they are one filter byte and thousands of zeros. [`RowDeflate::zeros`]
//! takes such a row in constant time (the Adler-32 of a zero run has a closed form), where a
//! general compressor, fdeflate's ultra-fast mode included, scans and checksums every byte.
//! Other rows are scanned a word at a time: XOR with the word shifted by one byte leaves
//! non-zero bits only where a byte differs from the one before it, and only those cost work.

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

/// Writes one zlib stream to `out`.
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
}

/// `last` before the first byte: equal to no byte.
const NO_BYTE: u16 = 0x100;

/// Input coded per pass of the bit writer, so that its output fits the buffer's slack.
const PIECE_BYTES: usize = 8 << 10;

/// Output buffer: large writes for `out`, with room for one piece's worst case.
const BUFFER_BYTES: usize = 64 << 10;

/// Most bytes `input` bytes can code to: at most 9 bits each (a literal; a repeat costs
/// less), plus what a run carried in from before writes when it ends.
const fn output_bound(input: usize) -> usize {
    input * 9 / 8 + 64
}

impl<W: Write> RowDeflate<W> {
    /// Starts the stream: zlib header (deflate, 32 KiB window, fastest), then the header of
    /// the one, final, fixed-code block.
    pub(super) fn new(mut out: W) -> io::Result<Self> {
        out.write_all(&[0x78, 0x01])?;
        let mut deflate = Self {
            out,
            buffer: vec![0; BUFFER_BYTES].into_boxed_slice(),
            filled: 0,
            bits: 0,
            bit_count: 0,
            last: NO_BYTE,
            run: 0,
            adler: simd_adler32::Adler32::new(),
        };
        let mut bits = deflate.bits();
        // BFINAL = 1, BTYPE = 01.
        bits.put(0b011, 3);
        let state = bits.state();
        deflate.keep(state);
        Ok(deflate)
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
        self.run += n;
        Ok(())
    }

    /// Appends `data`.
    pub(super) fn write_data(&mut self, data: &[u8]) -> io::Result<()> {
        self.adler.write(data);
        for piece in data.chunks(PIECE_BYTES) {
            if self.filled + output_bound(piece.len()) > self.buffer.len() {
                self.out.write_all(&self.buffer[..self.filled])?;
                self.filled = 0;
            }
            let mut bits = self.bits();
            let mut words = piece.chunks_exact(8);
            for word in &mut words {
                bits.word(u64::from_le_bytes(word.try_into().expect("8 bytes")), 8);
            }
            let rest = words.remainder();
            let mut last = [0; 8];
            last[..rest.len()].copy_from_slice(rest);
            bits.word(u64::from_le_bytes(last), rest.len() as u32);
            let state = bits.state();
            self.keep(state);
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

    /// Ends the block and the stream (padding, Adler-32) and returns the writer.
    pub(super) fn finish(mut self) -> io::Result<W> {
        let mut bits = self.bits();
        bits.end_run();
        bits.symbol(END_OF_BLOCK);
        let state = bits.state();
        self.keep(state);
        let tail = self.bit_count.div_ceil(8) as usize;
        self.out.write_all(&self.buffer[..self.filled])?;
        self.out.write_all(&self.bits.to_le_bytes()[..tail])?;
        self.out.write_all(&self.adler.finish().to_be_bytes())?;
        Ok(self.out)
    }
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

    /// Codes the first `len` bytes of `word` (little-endian).
    #[inline(always)]
    fn word(&mut self, word: u64, len: u32) {
        let keep = if len == 8 {
            !0
        } else {
            (1u64 << (len * 8)) - 1
        };
        // Byte i of `changes` is zero where byte i of `word` repeats the byte before it.
        let mut changes = (word ^ ((word << 8) | u64::from(self.last as u8))) & keep;
        if self.last == NO_BYTE {
            changes |= 0xFF & keep;
        }
        let mut coded = 0;
        while changes != 0 {
            let at = changes.trailing_zeros() / 8;
            self.run += u64::from(at - coded);
            self.end_run();
            let byte = (word >> (at * 8)) as u8;
            self.symbol(byte as usize);
            self.last = u16::from(byte);
            changes &= !(0xFF << (at * 8));
            coded = at + 1;
        }
        self.run += u64::from(len - coded);
    }

    /// Writes the pending repeats of the last byte: copies at distance 1, or literals when
    /// fewer than a match's three.
    #[inline(always)]
    fn end_run(&mut self) {
        let mut left = std::mem::take(&mut self.run);
        while left >= 3 {
            let length = left.min(u64::from(MAX_MATCH)) as usize;
            let (bits, len) = MATCH_CODES[length];
            self.put(u64::from(bits), u32::from(len));
            left -= length as u64;
        }
        for _ in 0..left {
            self.symbol(self.last as usize);
        }
    }

    #[inline(always)]
    fn symbol(&mut self, symbol: usize) {
        let (code, len) = FIXED_CODES[symbol];
        self.put(u64::from(code), u32::from(len));
    }

    /// Appends `len` (at most 32) bits, least significant first.
    #[inline(always)]
    fn put(&mut self, bits: u64, len: u32) {
        self.acc |= bits << self.count;
        self.count += len;
        if self.count >= 32 {
            self.out[self.filled..self.filled + 4]
                .copy_from_slice(&(self.acc as u32).to_le_bytes());
            self.filled += 4;
            self.acc >>= 32;
            self.count -= 32;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Read;

    fn inflate(stream: &[u8]) -> Vec<u8> {
        let mut out = Vec::new();
        flate2::read::ZlibDecoder::new(stream)
            .read_to_end(&mut out)
            .expect("a valid zlib stream, Adler-32 included");
        out
    }

    /// Feeds `parts` in order: `Ok(n)` as [`RowDeflate::zeros`], `Err(bytes)` as data.
    fn deflate(parts: &[Result<u64, &[u8]>]) -> (Vec<u8>, Vec<u8>) {
        let mut expected = Vec::new();
        let mut deflate = RowDeflate::new(Vec::new()).unwrap();
        for part in parts {
            match part {
                Ok(n) => {
                    deflate.zeros(*n).unwrap();
                    expected.resize(expected.len() + *n as usize, 0);
                }
                Err(bytes) => {
                    deflate.write_data(bytes).unwrap();
                    expected.extend_from_slice(bytes);
                }
            }
        }
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
}
