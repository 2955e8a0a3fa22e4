//! PDF documents: loaded (and repaired once if hayro cannot read them) for hayro, after their
//! streams are checked against decompression bombs and oversized images.

use super::filter_chain::{decoded_bytes, filters_with_params};
use super::image_size::check_image_size;
use super::page_complexity::{self, ContentSizes};
use super::{Document, PDF, unprintable};
use crate::RenderError;
use hayro::hayro_syntax::{LoadPdfError, Pdf};
use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

/// Most bytes one filter of a PDF stream may decode to (and an image may decode to): a
/// decompression bomb is refused before hayro, which decodes whole streams into memory one
/// filter at a time, ever sees it.
pub(super) const MAX_STREAM_DECODED: u64 = 256 << 20;
/// Most bytes all filters of all of a document's streams may decode to together; also the most
/// its pages' content streams may decode to together, counted once per page listing them.
pub(super) const MAX_DOCUMENT_DECODED: u64 = 1 << 30;

/// The bytes of a PDF as hayro reads them, with a tripwire for when the job rendering it gives
/// up. hayro draws a page in one call that cannot be interrupted, but it resolves every object
/// it draws (each form, image, font, pattern) by reading these bytes again: once the job has
/// abandoned its workers, that read unwinds out of hayro ([`JobAbandoned`]) to the worker's
/// panic guard, so an abandoned worker stops at the next object its page draws instead of
/// finishing the page for nobody. A page that draws nothing more (one long content stream of
/// paths) still runs to its end.
pub struct PdfBytes {
    bytes: Vec<u8>,
    abandoned: AtomicBool,
}

/// The unwinding payload of a read of [`PdfBytes`] after its job gave up: the job's worker
/// treats it as the cancellation it is, not as a rasteriser failure.
#[derive(Debug)]
pub struct JobAbandoned;

impl PdfBytes {
    /// Makes every later read of these bytes unwind with [`JobAbandoned`].
    pub fn abandon(&self) {
        self.abandoned.store(true, Ordering::Relaxed);
    }
}

impl AsRef<[u8]> for PdfBytes {
    fn as_ref(&self) -> &[u8] {
        if self.abandoned.load(Ordering::Relaxed) {
            // Not `panic!`: no panic hook runs, so nothing is printed for a deliberate stop.
            std::panic::resume_unwind(Box::new(JobAbandoned));
        }
        &self.bytes
    }
}

pub(super) fn open_pdf(bytes: &[u8]) -> Result<Document, RenderError> {
    let (pdf, bytes) = match load_pdf(bytes.to_vec()) {
        Ok(loaded) => loaded,
        Err(problem) => {
            let (pdf, repaired) = repair_pdf(bytes)
                .and_then(|repaired| load_pdf(repaired).ok())
                .ok_or(problem)?;
            tracing::info!(
                pages = pdf.pages().len(),
                "hayro refused the PDF; rendering lopdf's repaired copy"
            );
            (pdf, repaired)
        }
    };
    let content_sizes = check_pdf_streams(&pdf)?;
    let costs = page_complexity::check_pages(&pdf, &content_sizes)
        .map_err(|reason| unprintable(PDF, reason))?;
    Ok(Document::Pdf { pdf, bytes, costs })
}

/// Loads a PDF that has at least one page: hayro reads some damaged files as zero pages
/// without an error, which is as unprintable as a refusal.
fn load_pdf(bytes: Vec<u8>) -> Result<(Pdf, Arc<PdfBytes>), RenderError> {
    let bytes = Arc::new(PdfBytes {
        bytes,
        abandoned: AtomicBool::new(false),
    });
    let pdf = Pdf::new(Arc::clone(&bytes)).map_err(|e| match e {
        LoadPdfError::Decryption(d) => unprintable(PDF, format!("encrypted: {d:?}")),
        LoadPdfError::Invalid => unprintable(PDF, "not a readable PDF"),
    })?;
    if pdf.pages().is_empty() {
        return Err(unprintable(PDF, "no pages could be read (damaged file)"));
    }
    Ok((pdf, bytes))
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

/// Refuses decompression bombs and images too large to decode: every stream's filter chain is
/// streamed into a counter (never into memory), whatever its filters and their order, and every
/// image's decoded size is read from what it declares. Gives what each stream decodes to, so the
/// page checks can count a stream every time it is listed or drawn without decoding it again.
fn check_pdf_streams(pdf: &Pdf) -> Result<ContentSizes, RenderError> {
    use hayro::hayro_syntax::object::{Name, Object};
    let mut total = 0u64;
    let mut content_sizes = HashMap::new();
    for object in pdf.objects() {
        let Object::Stream(stream) = object else {
            continue;
        };
        let dict = stream.dict();
        let id = stream.obj_id();
        let chain = filters_with_params(dict);
        let raw = stream.raw_data();
        if dict.get::<Name>(b"Subtype").as_deref() == Some(b"Image".as_slice()) {
            check_image_size(dict, &chain, &raw)
                .map_err(|problem| unprintable(PDF, format!("image object {id:?} {problem}")))?;
        }
        let decoded = decoded_bytes(&raw, &chain, MAX_STREAM_DECODED).map_err(|layer| {
            unprintable(
                PDF,
                format!(
                    "stream {id:?} decodes to more than {} MiB through filter {} ({:?}) of its \
                     chain {:?} (a decompression bomb)",
                    MAX_STREAM_DECODED >> 20,
                    layer.position + 1,
                    layer.filter,
                    chain.iter().map(|(f, _)| *f).collect::<Vec<_>>(),
                ),
            )
        })?;
        content_sizes.insert(id, decoded.output);
        total += decoded.all_layers;
        if total > MAX_DOCUMENT_DECODED {
            return Err(unprintable(
                PDF,
                format!(
                    "its streams decode to more than {} MiB together (stream {id:?} passed it)",
                    MAX_DOCUMENT_DECODED >> 20
                ),
            ));
        }
    }
    Ok(content_sizes)
}
