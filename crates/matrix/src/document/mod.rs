//! The documents a case prints: made for verification, each page carrying the marks of
//! [`marks`] that the verifier finds again in the output, whatever the format.

pub mod marks;
mod raster_encode;

use lopdf::content::{Content, Operation};
use lopdf::{Dictionary, Document, Object, Stream, dictionary};
use marks::{PAGE_NUMBER_BITS, PageGeometry};
use printlab_graph::{MediaSize, PrintJobConfiguration, PrintOrientation, PrinterCapabilities};
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
    /// Where the marks are on every page.
    pub geometry: PageGeometry,
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

/// The page a case's document is made at: the size its sheet takes a page at, turned as the
/// job's orientation turns the content (a landscape job gets a landscape page), with the
/// corner marks clear of the widest margin the job or the printer may clip. `effective` is the
/// case's configuration with the printer's defaults filled in; a media size the table does not
/// know gets an A4 page.
pub fn page_geometry(
    effective: &PrintJobConfiguration,
    caps: &PrinterCapabilities,
) -> PageGeometry {
    let Some(media) = (effective.media_size.as_deref()).and_then(MediaSize::by_graph_name) else {
        return PageGeometry::default();
    };
    let points = |hmm: u32| hmm as f64 * 72.0 / 2540.0;
    let job = effective.margin.unwrap_or_default();
    let (mut w, mut h) = (points(media.width), points(media.height));
    let per_sheet = effective.pages_per_sheet.unwrap_or(1).max(1) as u32;
    if per_sheet > 1 {
        // n-up: a page of the cell's shape, which every scaling fits (or fills) whole.
        let microns = |v: Option<i32>| v.unwrap_or(0).max(0) as f64 * 72.0 / 25400.0;
        w -= microns(job.left) + microns(job.right);
        h -= microns(job.top) + microns(job.bottom);
    }
    let (w, h) = match effective.orientation {
        Some(PrintOrientation::Landscape | PrintOrientation::ReverseLandscape) => (h, w),
        _ => (w, h),
    };
    if per_sheet > 1 {
        let (cols, rows) = crate::verify::expected::grid(per_sheet, w > h);
        let cell = (w / cols as f64, h / rows as f64);
        // The cell clips nothing a fitting page would show; a filling page loses what its
        // shape misses the cell's by, a few points at most.
        return PageGeometry::new(cell, 0.03 * cell.0.min(cell.1));
    }
    let size = (w, h);
    let hardware = [
        &caps.top_margins,
        &caps.bottom_margins,
        &caps.left_margins,
        &caps.right_margins,
    ];
    let widest_microns = [job.top, job.bottom, job.left, job.right]
        .into_iter()
        .flatten()
        .chain(hardware.into_iter().flatten().flatten().copied())
        .max()
        .unwrap_or(0);
    PageGeometry::new(size, widest_microns as f64 * 72.0 / 25400.0)
}

/// A document of `pages` pages in `content_type`, each of `geometry` and marked by
/// [`PageGeometry::page_marks`]. JPEG and PNG hold one page.
pub fn test_document(
    content_type: &str,
    pages: u32,
    geometry: PageGeometry,
) -> Result<TestDocument, DocumentError> {
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
    let rasters = || (1..=pages).map(|page| geometry.page_raster(page, RASTER_DPI));
    let bytes = match content_type {
        printlab_render::PDF => pdf(pages, &geometry).map_err(|e| write_error(e.to_string()))?,
        printlab_render::PWG_RASTER => raster_encode::pwg(rasters(), RASTER_DPI),
        printlab_render::URF => raster_encode::urf(rasters(), pages, RASTER_DPI),
        _ if holds_one_page(content_type) && pages != 1 => {
            return Err(refuse("an image file holds one page"));
        }
        printlab_render::PNG => raster_encode::png(geometry.page_raster(1, RASTER_DPI), RASTER_DPI)
            .map_err(write_error)?,
        printlab_render::JPEG => {
            raster_encode::jpeg(geometry.page_raster(1, RASTER_DPI), RASTER_DPI)
                .map_err(write_error)?
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
        geometry,
    })
}

/// The marks as PDF fill operations (PDF's y axis points up).
fn page_content(page: u32, geometry: &PageGeometry) -> Vec<Operation> {
    let real = |v: f64| Object::Real(v as f32);
    (geometry.page_marks(page).into_iter())
        .flat_map(|mark| {
            let colour = mark.rgb.iter().map(|&c| real(c as f64 / 255.0)).collect();
            let y = geometry.size.1 - mark.y - mark.height;
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

fn pdf(pages: u32, geometry: &PageGeometry) -> Result<Vec<u8>, lopdf::Error> {
    let mut doc = Document::with_version("1.5");
    let pages_id = doc.new_object_id();
    let mut kids = Vec::new();
    for page in 1..=pages {
        let content = Content {
            operations: page_content(page, geometry),
        };
        let content_id = doc.add_object(Stream::new(Dictionary::new(), content.encode()?));
        let (w, h) = geometry.size;
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
            let document = test_document(format, pages, PageGeometry::default()).unwrap();
            assert_eq!(printlab_render::sniff(&document.bytes), Some(*format));
        }
        assert!(matches!(
            test_document(printlab_render::JPEG, 2, PageGeometry::default()),
            Err(DocumentError::PageCount { .. })
        ));
        assert!(matches!(
            test_document("text/plain", 1, PageGeometry::default()),
            Err(DocumentError::Unsupported { .. })
        ));
    }
}
