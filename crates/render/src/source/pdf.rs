//! PDF documents: loaded (and repaired once if hayro cannot read them) for hayro, after their
//! streams are checked against decompression bombs and oversized images.

use super::{Document, MAX_RASTER_PIXELS, PDF, unprintable};
use crate::RenderError;
use hayro::hayro_syntax::{LoadPdfError, Pdf};

/// Most bytes one PDF stream may inflate to: a decompression bomb is refused before hayro,
/// which inflates whole streams into memory, ever sees it.
const MAX_STREAM_INFLATED: u64 = 256 << 20;
/// Most bytes all of a document's streams may inflate to together.
const MAX_DOCUMENT_INFLATED: u64 = 1 << 30;

pub(super) fn open_pdf(bytes: &[u8]) -> Result<Document, RenderError> {
    let pdf = match load_pdf(bytes.to_vec()) {
        Ok(pdf) => pdf,
        Err(problem) => {
            let pdf = repair_pdf(bytes)
                .and_then(|repaired| load_pdf(repaired).ok())
                .ok_or(problem)?;
            tracing::info!(
                pages = pdf.pages().len(),
                "hayro refused the PDF; rendering lopdf's repaired copy"
            );
            pdf
        }
    };
    check_pdf_streams(&pdf)?;
    Ok(Document::Pdf(pdf))
}

/// Loads a PDF that has at least one page: hayro reads some damaged files as zero pages
/// without an error, which is as unprintable as a refusal.
fn load_pdf(bytes: Vec<u8>) -> Result<Pdf, RenderError> {
    let pdf = Pdf::new(bytes).map_err(|e| match e {
        LoadPdfError::Decryption(d) => unprintable(PDF, format!("encrypted: {d:?}")),
        LoadPdfError::Invalid => unprintable(PDF, "not a readable PDF"),
    })?;
    if pdf.pages().is_empty() {
        return Err(unprintable(PDF, "no pages could be read (damaged file)"));
    }
    Ok(pdf)
}

/// lopdf's load-and-save rebuilds the cross-reference table and object layout; worth one try
/// when hayro cannot read a file. Encrypted files are not retried (the password is missing,
/// not the structure). lopdf is not written to take hostile bytes without panicking, so a
/// panic here counts as "cannot repair".
pub(crate) fn repair_pdf(bytes: &[u8]) -> Option<Vec<u8>> {
    std::panic::catch_unwind(|| {
        let mut document = lopdf::Document::load_mem(bytes).ok()?;
        if document.is_encrypted() {
            return None;
        }
        let mut out = Vec::new();
        document.save_to(&mut out).ok()?;
        Some(out)
    })
    .ok()
    .flatten()
}

/// Refuses decompression bombs and images too large to decode, by inflating every Flate stream
/// into a counter (never into memory) and reading every image's declared size.
fn check_pdf_streams(pdf: &Pdf) -> Result<(), RenderError> {
    use hayro::hayro_syntax::Filter;
    use hayro::hayro_syntax::object::{Name, Object};
    let mut total = 0u64;
    for object in pdf.objects() {
        let Object::Stream(stream) = object else {
            continue;
        };
        let dict = stream.dict();
        let id = stream.obj_id();
        if dict.get::<Name>(b"Subtype").as_deref() == Some(b"Image".as_slice()) {
            let width = dict.get::<f64>(b"Width").unwrap_or(0.0).max(0.0);
            let height = dict.get::<f64>(b"Height").unwrap_or(0.0).max(0.0);
            if width * height > MAX_RASTER_PIXELS as f64 {
                return Err(unprintable(
                    PDF,
                    format!("image object {id:?} declares {width}x{height} pixels"),
                ));
            }
        }
        let flate_layers = stream
            .filters()
            .iter()
            .take_while(|f| matches!(f, Filter::FlateDecode))
            .count();
        if flate_layers == 0 {
            continue;
        }
        let inflated = inflated_size(&stream.raw_data(), flate_layers, MAX_STREAM_INFLATED);
        if inflated > MAX_STREAM_INFLATED {
            return Err(unprintable(
                PDF,
                format!(
                    "stream {id:?} inflates to more than {} MiB (a decompression bomb)",
                    MAX_STREAM_INFLATED >> 20
                ),
            ));
        }
        total += inflated;
        if total > MAX_DOCUMENT_INFLATED {
            return Err(unprintable(
                PDF,
                format!(
                    "its streams inflate to more than {} MiB",
                    MAX_DOCUMENT_INFLATED >> 20
                ),
            ));
        }
    }
    Ok(())
}

/// Bytes `data` inflates to through `layers` nested Flate filters, counting at most `cap + 1`.
/// Accepts zlib-wrapped and raw deflate as hayro does; a corrupt stream counts what it yields
/// before the error.
fn inflated_size(data: &[u8], layers: usize, cap: u64) -> u64 {
    use flate2::read::{DeflateDecoder, ZlibDecoder};
    use std::io::Read;
    let zlib_header = data.len() >= 2
        && data[0] & 0x0F == 8
        && u16::from_be_bytes([data[0], data[1]]).is_multiple_of(31);
    let mut reader: Box<dyn Read + '_> = if zlib_header {
        Box::new(ZlibDecoder::new(data))
    } else {
        Box::new(DeflateDecoder::new(data))
    };
    for _ in 1..layers {
        reader = Box::new(ZlibDecoder::new(reader));
    }
    let mut counted = 0u64;
    let mut buffer = [0u8; 64 << 10];
    while counted <= cap {
        match reader.read(&mut buffer) {
            Ok(0) | Err(_) => break,
            Ok(n) => counted += n as u64,
        }
    }
    counted
}
