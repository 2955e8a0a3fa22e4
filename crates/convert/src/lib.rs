//! What would Universal Print hand a PDF-only printer for this OpenXPS (ECMA-388) or Microsoft
//! XPS document? [`xps_to_pdf`] reads the package (ZIP, `[Content_Types].xml`, relationships,
//! FixedDocumentSequence → FixedDocument → FixedPage) and writes one PDF page per FixedPage:
//! canvases with transforms, clips, opacity and opacity masks, path geometry (abbreviated syntax
//! and `PathGeometry` elements), solid, gradient, image and visual brushes with tiling, sRGB,
//! scRGB and ICC `ContextColor` colours (the ICC profile is not applied: the channel values are
//! read as sRGB, gray or naive CMYK), glyph runs with embedded and obfuscated fonts subset into
//! the PDF, and JPEG, PNG and TIFF images (JPEG XR is refused: no maintained Rust decoder exists).
//! It knows nothing of ours — no Graph, no IPP, no renderer — only bytes in, bytes out. Decisions:
//! `zip` (deflate only) for the package, `roxmltree` for the markup (a read-only tree with text
//! positions, so every error names its part, element and line), `krilla` to write the PDF (it
//! subsets fonts, writes gradients, patterns, masks and images; it is the writer of the `hayro`
//! family our rasterizer comes from), `skrifa` (already under krilla) for cmap and advance
//! widths, `image` for TIFF. Everything a hostile package controls is bounded by [`Limits`]:
//! decompressed bytes per part and in total (counted while inflating, never trusting the sizes
//! the ZIP declares), part count, page count, XML node count, element nesting (canvases and
//! visual brushes), elements drawn per page and image pixels, per image and
//! per document (read from the header before decoding).

mod color;
mod error;
mod font;
mod geometry;
mod image_part;
mod package;
mod render;

pub use error::ConvertError;

/// Bounds on what a package may make the converter do. The defaults fit real print jobs
/// (hundreds of pages, photos of tens of megapixels) and stop ZIP bombs early.
#[derive(Debug, Clone)]
pub struct Limits {
    /// Decompressed bytes of one part.
    pub max_part_bytes: u64,
    /// Decompressed bytes of all parts read, together.
    pub max_total_bytes: u64,
    /// Entries in the ZIP.
    pub max_parts: usize,
    /// FixedPages in the whole sequence.
    pub max_pages: usize,
    /// Nesting of Canvas / visual brush content.
    pub max_depth: usize,
    /// Pixels (width × height) of one image.
    pub max_image_pixels: u64,
    /// Pixels of all distinct images of the document together (they are held until the PDF is
    /// written).
    pub max_total_image_pixels: u64,
    /// XML nodes in one part.
    pub max_xml_nodes: u32,
    /// Elements drawn for one page, counting each time a visual brush draws its visual (a
    /// brush whose visual uses another brush twice, nested, would otherwise double per level).
    pub max_elements_per_page: u64,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_part_bytes: 256 << 20,
            max_total_bytes: 1 << 30,
            max_parts: 100_000,
            max_pages: 10_000,
            max_depth: 64,
            max_image_pixels: 100_000_000,
            max_total_image_pixels: 500_000_000,
            max_xml_nodes: 4_000_000,
            max_elements_per_page: 2_000_000,
        }
    }
}

/// A converted document.
#[derive(Debug, Clone)]
pub struct Pdf {
    /// The PDF file.
    pub bytes: Vec<u8>,
    /// Its page count (one per FixedPage).
    pub pages: usize,
}

/// Convert an XPS or OpenXPS package to PDF.
pub fn xps_to_pdf(package: &[u8], limits: &Limits) -> Result<Pdf, ConvertError> {
    let pkg = package::Package::open(package, limits)?;
    let pages = pkg.pages()?;
    render::render_document(&pkg, &pages, limits)
}

#[cfg(test)]
mod testpkg;
#[cfg(test)]
mod tests;
