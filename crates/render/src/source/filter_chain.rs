//! How many bytes each filter of a PDF stream's chain decodes to, measured by streaming the chain
//! into a counter, never into memory. hayro applies a chain one filter at a time, each into a
//! buffer of its own, so every layer's output is bounded, not only the last: ASCIIHex over Flate
//! holds the inflated hex text before it halves it.
//!
//! Our own decoders for ASCIIHex, ASCII85 and RunLength: each is a few lines of state machine,
//! and hayro's decode whole buffers at once, which is what this module exists to avoid. Flate
//! goes through flate2, LZW through weezl (both already in the tree).

use hayro::hayro_syntax::Filter;
use hayro::hayro_syntax::object::{Array, Dict, Name, Object};
use std::cell::Cell;
use std::io::{self, Read};
use std::rc::Rc;

/// A filter's output passed the bound: the filter (its place in the chain and name).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct LayerTooLarge {
    pub position: usize,
    pub filter: Filter,
}

/// The filters hayro applies to a stream, in order, each with its decode parameters (as hayro
/// reads them: `/Filter` or `/F`, `/DecodeParms` or `/DP`; unknown filter names are skipped).
pub(super) fn filters_with_params<'a>(dict: &Dict<'a>) -> Vec<(Filter, Dict<'a>)> {
    let filter_of = |name: Name<'_>| filter_from_name(&name);
    if let Some(filter) = dict
        .get::<Name<'_>>(b"F")
        .or_else(|| dict.get::<Name<'_>>(b"Filter"))
    {
        let params = dict
            .get::<Dict<'_>>(b"DP")
            .or_else(|| dict.get::<Dict<'_>>(b"DecodeParms"))
            .unwrap_or_default();
        return filter_of(filter).map(|f| (f, params)).into_iter().collect();
    }
    let Some(filters) = dict
        .get::<Array<'_>>(b"F")
        .or_else(|| dict.get::<Array<'_>>(b"Filter"))
    else {
        return Vec::new();
    };
    let mut params = dict
        .get::<Array<'_>>(b"DP")
        .or_else(|| dict.get::<Array<'_>>(b"DecodeParms"))
        .map(|a| a.iter::<Object<'_>>());
    filters
        .iter::<Name<'_>>()
        .filter_map(|name| {
            let params = params
                .as_mut()
                .and_then(|p| p.next())
                .and_then(|p| p.into_dict())
                .unwrap_or_default();
            filter_of(name).map(|f| (f, params))
        })
        .collect()
}

fn filter_from_name(name: &[u8]) -> Option<Filter> {
    Some(match name {
        b"ASCIIHexDecode" | b"AHx" => Filter::AsciiHexDecode,
        b"ASCII85Decode" | b"A85" => Filter::Ascii85Decode,
        b"LZWDecode" | b"LZW" => Filter::LzwDecode,
        b"FlateDecode" | b"Fl" => Filter::FlateDecode,
        b"RunLengthDecode" | b"RL" => Filter::RunLengthDecode,
        b"CCITTFaxDecode" | b"CCF" => Filter::CcittFaxDecode,
        b"JBIG2Decode" => Filter::Jbig2Decode,
        b"DCTDecode" | b"DCT" => Filter::DctDecode,
        b"JPXDecode" => Filter::JpxDecode,
        b"Crypt" => Filter::Crypt,
        _ => return None,
    })
}

/// Whether `filter` decodes to an image whose size its own header or the image dictionary
/// declares, rather than to a byte stream measured here.
pub(super) fn is_image_filter(filter: Filter) -> bool {
    matches!(
        filter,
        Filter::DctDecode | Filter::JpxDecode | Filter::Jbig2Decode | Filter::CcittFaxDecode
    )
}

/// What a stream's filter chain decodes to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Decoded {
    /// Bytes every layer produced, summed: what hayro allocates to decode the stream once.
    pub all_layers: u64,
    /// Bytes the last layer produced (the raw length when no byte filter applies): what a
    /// content stream gives the interpreter to scan.
    pub output: u64,
}

/// Streams `raw` through the byte filters of `chain` (up to the first image filter) and returns
/// what the layers produced; fails as soon as one layer produces more than `cap`. A layer whose
/// data is corrupt counts what it yields before the damage, as hayro's lenient decoders would.
pub(super) fn decoded_bytes(
    raw: &[u8],
    chain: &[(Filter, Dict<'_>)],
    cap: u64,
) -> Result<Decoded, LayerTooLarge> {
    let exceeded: Rc<Cell<Option<LayerTooLarge>>> = Rc::new(Cell::new(None));
    let mut counters = Vec::new();
    let mut reader: Box<dyn Read + '_> = Box::new(raw);
    for (position, (filter, params)) in chain.iter().enumerate() {
        if is_image_filter(*filter) {
            break;
        }
        reader = match filter {
            Filter::AsciiHexDecode => Box::new(Decoding::new(reader, AsciiHex::default())),
            Filter::Ascii85Decode => Box::new(Decoding::new(reader, Ascii85::default())),
            Filter::RunLengthDecode => Box::new(Decoding::new(reader, RunLength::default())),
            Filter::LzwDecode => {
                let early_change = params.get::<i32>(b"EarlyChange").unwrap_or(1) != 0;
                Box::new(Decoding::new(reader, Lzw::new(early_change)))
            }
            Filter::FlateDecode => inflating(reader),
            // A crypt filter is applied by hayro when it reads the raw data.
            _ => continue,
        };
        let produced = Rc::new(Cell::new(0u64));
        counters.push(produced.clone());
        reader = Box::new(Counted {
            inner: reader,
            produced,
            cap,
            layer: LayerTooLarge {
                position,
                filter: *filter,
            },
            exceeded: exceeded.clone(),
        });
    }
    let mut buffer = vec![0u8; 64 << 10];
    while matches!(reader.read(&mut buffer), Ok(1..)) {}
    if let Some(layer) = exceeded.get() {
        return Err(layer);
    }
    Ok(Decoded {
        all_layers: counters.iter().map(|c| c.get()).sum(),
        output: counters.last().map_or(raw.len() as u64, |c| c.get()),
    })
}

/// Flate, zlib-wrapped or raw deflate as hayro accepts both: the first two bytes decide.
fn inflating<'a>(mut inner: Box<dyn Read + 'a>) -> Box<dyn Read + 'a> {
    use flate2::read::{DeflateDecoder, ZlibDecoder};
    let mut head = [0u8; 2];
    let mut got = 0;
    while got < 2 {
        match inner.read(&mut head[got..]) {
            Ok(0) | Err(_) => break,
            Ok(n) => got += n,
        }
    }
    let zlib_header =
        got == 2 && head[0] & 0x0F == 8 && u16::from_be_bytes(head).is_multiple_of(31);
    let whole = io::Cursor::new(head[..got].to_vec()).chain(inner);
    if zlib_header {
        Box::new(ZlibDecoder::new(whole))
    } else {
        Box::new(DeflateDecoder::new(whole))
    }
}

/// Counts one layer's output and stops the chain once it passes `cap`.
struct Counted<'a> {
    inner: Box<dyn Read + 'a>,
    produced: Rc<Cell<u64>>,
    cap: u64,
    layer: LayerTooLarge,
    exceeded: Rc<Cell<Option<LayerTooLarge>>>,
}

impl Read for Counted<'_> {
    fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(out)?;
        let total = self.produced.get() + n as u64;
        self.produced.set(total);
        if total > self.cap {
            if self.exceeded.get().is_none() {
                self.exceeded.set(Some(self.layer));
            }
            return Err(io::Error::other("layer over its bound"));
        }
        Ok(n)
    }
}

/// One step of a byte filter: decodes all of `input` into `output`; `true` once the filter's
/// end-of-data marker (or data it cannot decode) has been met, after which the rest is ignored.
trait ByteFilter {
    fn step(&mut self, input: &[u8], output: &mut Vec<u8>) -> bool;
}

/// A [`ByteFilter`] as a reader over its input, fed 4 KiB at a time, so what it holds is at
/// most one input chunk's worth of output (RunLength's worst, 128 bytes per 2, is 256 KiB).
struct Decoding<'a, F> {
    inner: Box<dyn Read + 'a>,
    filter: F,
    pending: Vec<u8>,
    served: usize,
    finished: bool,
}

impl<'a, F: ByteFilter> Decoding<'a, F> {
    fn new(inner: Box<dyn Read + 'a>, filter: F) -> Self {
        Decoding {
            inner,
            filter,
            pending: Vec::new(),
            served: 0,
            finished: false,
        }
    }
}

impl<F: ByteFilter> Read for Decoding<'_, F> {
    fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
        let mut input = [0u8; 4 << 10];
        while self.served == self.pending.len() {
            if self.finished {
                return Ok(0);
            }
            self.pending.clear();
            self.served = 0;
            let n = self.inner.read(&mut input)?;
            if n == 0 {
                self.finished = true;
            }
            self.finished |= self.filter.step(&input[..n], &mut self.pending);
        }
        let n = out.len().min(self.pending.len() - self.served);
        out[..n].copy_from_slice(&self.pending[self.served..self.served + n]);
        self.served += n;
        Ok(n)
    }
}

fn is_pdf_white_space(b: u8) -> bool {
    matches!(b, b'\0' | b'\t' | b'\n' | b'\x0C' | b'\r' | b' ')
}

/// ASCIIHexDecode: pairs of hex digits, white space ignored, `>` ends the data; an odd last
/// digit counts as if followed by 0.
#[derive(Default)]
struct AsciiHex {
    high: Option<u8>,
}

impl ByteFilter for AsciiHex {
    fn step(&mut self, input: &[u8], output: &mut Vec<u8>) -> bool {
        for &b in input {
            let digit = match b {
                b'0'..=b'9' => b - b'0',
                b'a'..=b'f' => b - b'a' + 10,
                b'A'..=b'F' => b - b'A' + 10,
                _ if is_pdf_white_space(b) => continue,
                _ => {
                    output.extend(self.high.take().map(|h| h << 4));
                    return true;
                }
            };
            match self.high.take() {
                Some(high) => output.push(high << 4 | digit),
                None => self.high = Some(digit),
            }
        }
        if input.is_empty() {
            output.extend(self.high.take().map(|h| h << 4));
        }
        false
    }
}

/// ASCII85Decode: groups of five digits `!`..`u` make four bytes, `z` four zeros, `~` ends
/// the data and a short last group makes one byte less than its digits.
#[derive(Default)]
struct Ascii85 {
    group: Vec<u8>,
}

impl Ascii85 {
    fn flush(&mut self, output: &mut Vec<u8>) {
        if self.group.len() >= 2 {
            let kept = self.group.len() - 1;
            self.group.resize(5, b'u');
            let value = self.group.iter().fold(0u32, |v, &d| {
                v.wrapping_mul(85).wrapping_add((d - b'!') as u32)
            });
            output.extend_from_slice(&value.to_be_bytes()[..kept]);
        }
        self.group.clear();
    }
}

impl ByteFilter for Ascii85 {
    fn step(&mut self, input: &[u8], output: &mut Vec<u8>) -> bool {
        for &b in input {
            match b {
                b'!'..=b'u' => {
                    self.group.push(b);
                    if self.group.len() == 5 {
                        self.flush(output);
                    }
                }
                b'z' => {
                    self.flush(output);
                    output.extend_from_slice(&[0; 4]);
                }
                _ if is_pdf_white_space(b) => {}
                _ => {
                    self.flush(output);
                    return true;
                }
            }
        }
        if input.is_empty() {
            self.flush(output);
        }
        false
    }
}

/// RunLengthDecode: a length byte n < 128 copies the next n + 1 bytes, n > 128 repeats the next
/// byte 257 − n times, 128 ends the data.
#[derive(Default)]
struct RunLength {
    state: RunState,
}

#[derive(Default)]
enum RunState {
    #[default]
    Length,
    Copy(usize),
    Repeat(usize),
}

impl ByteFilter for RunLength {
    fn step(&mut self, input: &[u8], output: &mut Vec<u8>) -> bool {
        let mut rest = input;
        while let Some((&b, tail)) = rest.split_first() {
            match self.state {
                RunState::Length => match b {
                    128 => return true,
                    0..=127 => self.state = RunState::Copy(b as usize + 1),
                    _ => self.state = RunState::Repeat(257 - b as usize),
                },
                RunState::Repeat(n) => {
                    output.resize(output.len() + n, b);
                    self.state = RunState::Length;
                }
                RunState::Copy(n) => {
                    let take = n.min(rest.len());
                    output.extend_from_slice(&rest[..take]);
                    self.state = match n - take {
                        0 => RunState::Length,
                        left => RunState::Copy(left),
                    };
                    rest = &rest[take..];
                    continue;
                }
            }
            rest = tail;
        }
        false
    }
}

/// LZWDecode through weezl; `EarlyChange 1` (the default) is what weezl calls the TIFF size
/// switch.
struct Lzw {
    decoder: weezl::decode::Decoder,
}

impl Lzw {
    fn new(early_change: bool) -> Self {
        use weezl::{BitOrder, decode::Decoder};
        let decoder = if early_change {
            Decoder::with_tiff_size_switch(BitOrder::Msb, 8)
        } else {
            Decoder::new(BitOrder::Msb, 8)
        };
        Lzw { decoder }
    }
}

impl ByteFilter for Lzw {
    fn step(&mut self, mut input: &[u8], output: &mut Vec<u8>) -> bool {
        let mut buffer = [0u8; 16 << 10];
        loop {
            let result = self.decoder.decode_bytes(input, &mut buffer);
            output.extend_from_slice(&buffer[..result.consumed_out]);
            input = &input[result.consumed_in..];
            match result.status {
                Ok(weezl::LzwStatus::Done) | Err(_) => return true,
                Ok(weezl::LzwStatus::NoProgress) => return false,
                Ok(weezl::LzwStatus::Ok) if input.is_empty() && result.consumed_out == 0 => {
                    return false;
                }
                Ok(weezl::LzwStatus::Ok) => {}
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn decode(filter: impl ByteFilter, data: &[u8]) -> Vec<u8> {
        let mut out = Vec::new();
        Decoding::new(Box::new(data), filter)
            .read_to_end(&mut out)
            .unwrap();
        out
    }

    #[test]
    fn byte_filters_decode_as_the_pdf_reference_says() {
        assert_eq!(decode(AsciiHex::default(), b"48 65 6c6C6f 7>"), b"Hellop");
        assert_eq!(
            decode(Ascii85::default(), b"87cURD]i,\"Ebo80~>"),
            b"Hello World!"
        );
        assert_eq!(decode(Ascii85::default(), b"z!!~>"), [0, 0, 0, 0, 0]);
        assert_eq!(
            decode(
                RunLength::default(),
                &[2, b'a', b'b', b'c', 253, b'x', 128, 1]
            ),
            b"abcxxxx"
        );
        let encoded = weezl::encode::Encoder::with_tiff_size_switch(weezl::BitOrder::Msb, 8)
            .encode(&[7u8; 10_000])
            .unwrap();
        assert_eq!(decode(Lzw::new(true), &encoded), vec![7u8; 10_000]);
    }
}
