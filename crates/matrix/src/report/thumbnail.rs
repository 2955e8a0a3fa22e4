//! Small pictures for the HTML report, embedded as `data:` URIs so the file stands alone: the
//! printed sides downscaled, and the test document's first page rendered small as the expected
//! picture.

use base64::Engine;
use std::io::Cursor;
use std::path::Path;

/// The longest edge of a thumbnail, in pixels.
const EDGE: u32 = 160;
/// The expected page is rendered at this resolution: an A4 page comes out about 130 px tall.
const EXPECTED_DPI: u32 = 12;
/// Decoding a 1440-dpi side takes hundreds of megabytes; a report is not worth more than this.
const DECODE_BUDGET: u64 = 512 << 20;

/// A printed side as a small PNG `data:` URI, or why there is none.
pub(super) fn of_side(png: &Path) -> Result<String, String> {
    let mut reader = image::ImageReader::open(png)
        .map_err(|e| format!("{}: {e}", png.display()))?
        .with_guessed_format()
        .map_err(|e| format!("{}: {e}", png.display()))?;
    let mut limits = image::Limits::default();
    limits.max_alloc = Some(DECODE_BUDGET);
    reader.limits(limits);
    let side = reader
        .decode()
        .map_err(|e| format!("{}: {e}", png.display()))?;
    data_uri(&side.thumbnail(EDGE, EDGE))
}

/// The first page of the document that was sent, rendered small (once per document, kept in
/// `cache_dir`), as a `data:` URI.
pub(super) fn of_document(
    document: &Path,
    content_type: &str,
    cache_dir: &Path,
) -> Result<String, String> {
    let stem = document
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let out = cache_dir.join(stem);
    let page = out.join("page-1.png");
    if !page.exists() {
        let bytes = std::fs::read(document).map_err(|e| format!("{}: {e}", document.display()))?;
        printlab_render::render_native(
            &bytes,
            content_type,
            EXPECTED_DPI,
            &[(1, 1)],
            &out,
            &tokio_util::sync::CancellationToken::new(),
        )
        .map_err(|e| format!("rendering {}: {e}", document.display()))?;
    }
    of_side(&page)
}

fn data_uri(picture: &image::DynamicImage) -> Result<String, String> {
    let mut png = Vec::new();
    picture
        .write_to(&mut Cursor::new(&mut png), image::ImageFormat::Png)
        .map_err(|e| format!("encoding a thumbnail: {e}"))?;
    Ok(format!(
        "data:image/png;base64,{}",
        base64::engine::general_purpose::STANDARD.encode(png)
    ))
}
