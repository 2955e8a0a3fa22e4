//! A generated test document: rulers, colour bars, page numbers, orientation marks, text in an
//! embedded font ([`super::stroke_font`]) and an image, with marks at known positions so that tests (and people) can check where each page
//! landed on the sheet, which way up, and at what scale.
//!
//! Every page has three solid corner squares (top-left red, top-right blue, bottom-left green,
//! [`MARK`] points wide, [`MARK_INSET`] from the edges) and a centre square of
//! [`CENTRE_BLOCK`] points in a colour that identifies the page ([`page_rgb`]).

use lopdf::content::{Content, Operation};
use lopdf::{Dictionary, Document, Object, Stream, dictionary};

/// Side of a corner mark, points.
pub const MARK: f64 = 36.0;
/// Distance of the corner marks from the page edges, points.
pub const MARK_INSET: f64 = 36.0;
/// Side of the page-identifying centre square, points.
pub const CENTRE_BLOCK: f64 = 96.0;
pub const TOP_LEFT_RGB: [u8; 3] = [255, 0, 0];
pub const TOP_RIGHT_RGB: [u8; 3] = [0, 0, 255];
pub const BOTTOM_LEFT_RGB: [u8; 3] = [0, 160, 0];

/// The colour of page `n`'s (1-based) centre square; distinct for the first 16 pages.
pub fn page_rgb(n: usize) -> [u8; 3] {
    const PALETTE: [[u8; 3]; 16] = [
        [240, 160, 0],
        [0, 200, 200],
        [200, 0, 200],
        [120, 60, 0],
        [0, 80, 160],
        [160, 200, 60],
        [100, 100, 100],
        [250, 120, 160],
        [60, 0, 120],
        [0, 120, 60],
        [200, 100, 40],
        [40, 200, 120],
        [160, 160, 240],
        [120, 0, 40],
        [220, 220, 80],
        [20, 40, 40],
    ];
    PALETTE[(n + 15) % 16]
}

fn op(name: &str, operands: Vec<Object>) -> Operation {
    Operation::new(name, operands)
}

fn fill_rgb(rgb: [u8; 3]) -> Operation {
    op(
        "rg",
        rgb.iter()
            .map(|&c| Object::Real(c as f32 / 255.0))
            .collect(),
    )
}

fn rect(x: f64, y: f64, w: f64, h: f64) -> Operation {
    op(
        "re",
        [x, y, w, h]
            .iter()
            .map(|&v| Object::Real(v as f32))
            .collect(),
    )
}

fn text(x: f64, y: f64, size: i64, s: &str) -> Vec<Operation> {
    vec![
        op("BT", vec![]),
        op("Tf", vec!["F1".into(), size.into()]),
        op("Td", vec![Object::Real(x as f32), Object::Real(y as f32)]),
        op("Tj", vec![Object::string_literal(s)]),
        op("ET", vec![]),
    ]
}

fn page_content(n: usize, total: usize, w: f64, h: f64) -> Vec<Operation> {
    let mut ops = vec![
        op("w", vec![Object::Real(0.5)]),
        op("RG", vec![0.into(), 0.into(), 0.into()]),
    ];
    // Border and millimetre rulers along the top and left edges (a tick every 10 mm).
    ops.push(rect(9.0, 9.0, w - 18.0, h - 18.0));
    ops.push(op("S", vec![]));
    let mm10 = 72.0 / 2.54;
    let mut x = mm10;
    while x < w - 9.0 {
        ops.push(op(
            "m",
            vec![Object::Real(x as f32), Object::Real((h - 9.0) as f32)],
        ));
        ops.push(op(
            "l",
            vec![Object::Real(x as f32), Object::Real((h - 21.0) as f32)],
        ));
        x += mm10;
    }
    let mut y = mm10;
    while y < h - 9.0 {
        ops.push(op(
            "m",
            vec![Object::Real(9.0), Object::Real((h - y) as f32)],
        ));
        ops.push(op(
            "l",
            vec![Object::Real(21.0), Object::Real((h - y) as f32)],
        ));
        y += mm10;
    }
    ops.push(op("S", vec![]));
    // Corner marks.
    let corners = [
        (MARK_INSET, h - MARK_INSET - MARK, TOP_LEFT_RGB),
        (w - MARK_INSET - MARK, h - MARK_INSET - MARK, TOP_RIGHT_RGB),
        (MARK_INSET, MARK_INSET, BOTTOM_LEFT_RGB),
    ];
    for (x, y, rgb) in corners {
        ops.push(fill_rgb(rgb));
        ops.push(rect(x, y, MARK, MARK));
        ops.push(op("f", vec![]));
    }
    // The page's own colour in the centre, with an "up" arrow above it.
    ops.push(fill_rgb(page_rgb(n)));
    ops.push(rect(
        (w - CENTRE_BLOCK) / 2.0,
        (h - CENTRE_BLOCK) / 2.0,
        CENTRE_BLOCK,
        CENTRE_BLOCK,
    ));
    ops.push(op("f", vec![]));
    let (cx, top) = (w / 2.0, h / 2.0 + CENTRE_BLOCK / 2.0 + 8.0);
    ops.push(fill_rgb([0, 0, 0]));
    ops.push(op(
        "m",
        vec![Object::Real((cx - 16.0) as f32), Object::Real(top as f32)],
    ));
    ops.push(op(
        "l",
        vec![Object::Real((cx + 16.0) as f32), Object::Real(top as f32)],
    ));
    ops.push(op(
        "l",
        vec![Object::Real(cx as f32), Object::Real((top + 24.0) as f32)],
    ));
    ops.push(op("f", vec![]));
    // Text: title and page number.
    ops.extend(text(
        MARK_INSET + MARK + 12.0,
        h - MARK_INSET - 24.0,
        14,
        &format!("printlab test page {n} of {total}"),
    ));
    ops.extend(text(cx - 10.0, top + 32.0, 12, "UP"));
    // Colour bars: C M Y K R G B along the bottom, between the bottom-left mark and the image.
    let bars: [[u8; 3]; 7] = [
        [0, 255, 255],
        [255, 0, 255],
        [255, 255, 0],
        [0, 0, 0],
        // Not the corner marks' exact colours, so that each mark stays unique on the page.
        [220, 40, 40],
        [40, 220, 40],
        [40, 40, 220],
    ];
    let bar_w = ((w - 2.0 * MARK_INSET - 2.0 * MARK - 24.0 - 72.0) / 7.0).max(1.0);
    for (i, rgb) in bars.iter().enumerate() {
        ops.push(fill_rgb(*rgb));
        ops.push(rect(
            MARK_INSET + MARK + 12.0 + i as f64 * bar_w,
            MARK_INSET,
            bar_w,
            24.0,
        ));
        ops.push(op("f", vec![]));
    }
    // The image, 72 pt square, bottom right.
    ops.push(op("q", vec![]));
    ops.push(op(
        "cm",
        [72.0, 0.0, 0.0, 72.0, w - MARK_INSET - 72.0, MARK_INSET]
            .iter()
            .map(|&v| Object::Real(v as f32))
            .collect(),
    ));
    ops.push(op("Do", vec!["Im1".into()]));
    ops.push(op("Q", vec![]));
    ops
}

/// A 16x16 red-green gradient (on half blue, away from every mark colour).
fn gradient_image() -> Stream {
    let mut samples = Vec::with_capacity(16 * 16 * 3);
    for y in 0..16u8 {
        for x in 0..16u8 {
            samples.extend_from_slice(&[x * 16, y * 16, 128]);
        }
    }
    Stream::new(
        dictionary! {
            "Type" => "XObject",
            "Subtype" => "Image",
            "Width" => 16,
            "Height" => 16,
            "ColorSpace" => "DeviceRGB",
            "BitsPerComponent" => 8,
        },
        samples,
    )
}

/// A PDF with one test page per entry of `sizes` (width, height in points).
pub fn generate(sizes: &[(f64, f64)]) -> Result<Vec<u8>, lopdf::Error> {
    let mut doc = Document::with_version("1.5");
    let pages_id = doc.new_object_id();
    let font_id = super::stroke_font::add_to(&mut doc)?;
    let image_id = doc.add_object(gradient_image());
    let resources_id = doc.add_object(dictionary! {
        "Font" => dictionary! { "F1" => font_id },
        "XObject" => dictionary! { "Im1" => image_id },
    });
    let mut kids = Vec::new();
    for (i, &(w, h)) in sizes.iter().enumerate() {
        let content = Content {
            operations: page_content(i + 1, sizes.len(), w, h),
        };
        let content_id = doc.add_object(Stream::new(Dictionary::new(), content.encode()?));
        let page_id = doc.add_object(dictionary! {
            "Type" => "Page",
            "Parent" => pages_id,
            "MediaBox" => vec![0.into(), 0.into(), Object::Real(w as f32), Object::Real(h as f32)],
            "Contents" => content_id,
            "Resources" => resources_id,
        });
        kids.push(page_id.into());
    }
    doc.objects.insert(
        pages_id,
        Object::Dictionary(dictionary! {
            "Type" => "Pages",
            "Kids" => kids,
            "Count" => sizes.len() as i64,
        }),
    );
    let catalog_id = doc.add_object(dictionary! {
        "Type" => "Catalog",
        "Pages" => pages_id,
    });
    doc.trailer.set("Root", catalog_id);
    let mut out = Vec::new();
    doc.save_to(&mut out)?;
    Ok(out)
}
