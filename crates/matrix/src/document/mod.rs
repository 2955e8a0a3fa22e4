//! The documents a case prints: made for verification, each page carrying the marks of
//! [`marks`] that the verifier finds again in the output, whatever the format.

pub mod marks;
mod raster_encode;

use lopdf::content::{Content, Operation};
use lopdf::{Dictionary, Document, Object, Stream, dictionary};
use marks::{PAGE_NUMBER_BITS, PAGE_SIZE, page_marks, page_raster};
use thiserror::Error;

/// Resolution of the raster formats' pages: the marks are blocks a few millimetres wide, so
/// 100 dpi keeps them sharp and the documents small.
pub const RASTER_DPI: u32 = 100;

/// A generated test document.
#[derive(Debug, Clone)]
pub struct TestDocument {
    pub content_type: String,
    pub bytes: Vec<u8>,
    pub pages: u32,
}

#[derive(Debug, Error)]
pub enum DocumentError {
    #[error("no test document can be generated for {content_type}")]
    Unsupported { content_type: String },
    #[error("a {content_type} test document cannot have {pages} pages: {reason}")]
    PageCount {
        content_type: String,
        pages: u32,
        reason: &'static str,
    },
    #[error("writing the {content_type} test document: {message}")]
    Write {
        content_type: String,
        message: String,
    },
}

/// The most pages a test document has: what the page-number bar code can count.
pub const MAX_PAGES: u32 = (1 << PAGE_NUMBER_BITS) - 1;

/// Whether a document in `content_type` can only hold one page (an image file).
pub fn holds_one_page(content_type: &str) -> bool {
    matches!(content_type, printlab_render::PNG | printlab_render::JPEG)
}

/// A document of `pages` A4 pages in `content_type`, each marked by [`marks::page_marks`].
/// JPEG and PNG hold one page.
pub fn test_document(content_type: &str, pages: u32) -> Result<TestDocument, DocumentError> {
    let refuse = |reason| DocumentError::PageCount {
        content_type: content_type.to_owned(),
        pages,
        reason,
    };
    if !(1..=MAX_PAGES).contains(&pages) {
        return Err(refuse("test documents have 1 to 63 pages"));
    }
    let write_error = |message: String| DocumentError::Write {
        content_type: content_type.to_owned(),
        message,
    };
    let rasters = || (1..=pages).map(|page| page_raster(page, RASTER_DPI));
    let bytes = match content_type {
        printlab_render::PDF => pdf(pages).map_err(|e| write_error(e.to_string()))?,
        printlab_render::PWG_RASTER => raster_encode::pwg(rasters(), RASTER_DPI),
        printlab_render::URF => raster_encode::urf(rasters(), pages, RASTER_DPI),
        _ if holds_one_page(content_type) && pages != 1 => {
            return Err(refuse("an image file holds one page"));
        }
        printlab_render::PNG => {
            raster_encode::png(page_raster(1, RASTER_DPI), RASTER_DPI).map_err(write_error)?
        }
        printlab_render::JPEG => {
            raster_encode::jpeg(page_raster(1, RASTER_DPI), RASTER_DPI).map_err(write_error)?
        }
        _ => {
            return Err(DocumentError::Unsupported {
                content_type: content_type.to_owned(),
            });
        }
    };
    Ok(TestDocument {
        content_type: content_type.to_owned(),
        bytes,
        pages,
    })
}

/// The marks as PDF fill operations (PDF's y axis points up).
fn page_content(page: u32) -> Vec<Operation> {
    let real = |v: f64| Object::Real(v as f32);
    page_marks(page)
        .into_iter()
        .flat_map(|mark| {
            let colour = mark.rgb.iter().map(|&c| real(c as f64 / 255.0)).collect();
            let y = PAGE_SIZE.1 - mark.y - mark.height;
            [
                Operation::new("rg", colour),
                Operation::new(
                    "re",
                    vec![real(mark.x), real(y), real(mark.width), real(mark.height)],
                ),
                Operation::new("f", vec![]),
            ]
        })
        .collect()
}

fn pdf(pages: u32) -> Result<Vec<u8>, lopdf::Error> {
    let mut doc = Document::with_version("1.5");
    let pages_id = doc.new_object_id();
    let mut kids = Vec::new();
    for page in 1..=pages {
        let content = Content {
            operations: page_content(page),
        };
        let content_id = doc.add_object(Stream::new(Dictionary::new(), content.encode()?));
        let (w, h) = PAGE_SIZE;
        let page_id = doc.add_object(dictionary! {
            "Type" => "Page",
            "Parent" => pages_id,
            "MediaBox" => vec![0.into(), 0.into(), Object::Real(w as f32), Object::Real(h as f32)],
            "Contents" => content_id,
        });
        kids.push(page_id.into());
    }
    doc.objects.insert(
        pages_id,
        Object::Dictionary(dictionary! {
            "Type" => "Pages",
            "Kids" => kids,
            "Count" => pages as i64,
        }),
    );
    let catalog_id = doc.add_object(dictionary! { "Type" => "Catalog", "Pages" => pages_id });
    doc.trailer.set("Root", catalog_id);
    let mut out = Vec::new();
    doc.save_to(&mut out)?;
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_format_the_renderer_reads_has_a_test_document() {
        for format in printlab_render::SUPPORTED_TYPES {
            let pages = if [printlab_render::PNG, printlab_render::JPEG].contains(format) {
                1
            } else {
                3
            };
            let document = test_document(format, pages).unwrap();
            assert_eq!(printlab_render::sniff(&document.bytes), Some(*format));
        }
        assert!(matches!(
            test_document(printlab_render::JPEG, 2),
            Err(DocumentError::PageCount { .. })
        ));
        assert!(matches!(
            test_document("text/plain", 1),
            Err(DocumentError::Unsupported { .. })
        ));
    }
}
