//! The marked test page, as filled rectangles in page points (origin top-left, y down): one
//! description that every encoder draws, so a PDF page and a raster page carry the same marks
//! at the same places and the verifier has one page to look for.
//!
//! The marks build on [`printlab_render::testpage`]'s: three solid corner squares (top-left
//! red, top-right blue, bottom-left green) whose missing fourth corner says which way is up and
//! whose spacing gives the scale, and a centre square in the page's own colour
//! ([`printlab_render::testpage::page_rgb`]). Every mark colour is darker than mid-gray, so
//! the corner squares stay dark in grayscale and turn black in monochrome; the page number is
//! a row of black bars (binary, most significant bit first), which no colour mode can change.

use printlab_render::testpage::{
    BOTTOM_LEFT_RGB, CENTRE_BLOCK, MARK, MARK_INSET, TOP_LEFT_RGB, TOP_RIGHT_RGB, page_rgb,
};

/// A4 in points: the size of every test page.
pub const PAGE_SIZE: (f64, f64) = (595.28, 841.89);
/// Bits of the page-number bar code: pages 1..=63.
pub const PAGE_NUMBER_BITS: u32 = 6;
/// Width of one page-number bar, points.
pub const BAR_WIDTH: f64 = 24.0;
/// Distance between the left edges of neighbouring bars, points.
pub const BAR_PITCH: f64 = 40.0;
/// Top edge and height of the bar row, points from the top of the page.
pub const BAR_TOP: f64 = 640.0;
pub const BAR_HEIGHT: f64 = 60.0;

/// A filled rectangle: x, y of its top-left corner, width, height (points), colour.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct MarkRect {
    pub x: f64,
    pub y: f64,
    pub width: f64,
    pub height: f64,
    pub rgb: [u8; 3],
}

/// The centre of each corner mark, points: top-left, top-right, bottom-left.
pub fn corner_centres() -> [(f64, f64); 3] {
    let (w, h) = PAGE_SIZE;
    let near = MARK_INSET + MARK / 2.0;
    [(near, near), (w - near, near), (near, h - near)]
}

/// The centre of the page-number bar for `bit` (0 = most significant), points.
pub fn bar_centre(bit: u32) -> (f64, f64) {
    let row_width = BAR_PITCH * (PAGE_NUMBER_BITS - 1) as f64 + BAR_WIDTH;
    let left = (PAGE_SIZE.0 - row_width) / 2.0 + BAR_PITCH * bit as f64;
    (left + BAR_WIDTH / 2.0, BAR_TOP + BAR_HEIGHT / 2.0)
}

/// Whether page `page`'s bar code has a black bar at `bit`.
pub fn bar_is_set(page: u32, bit: u32) -> bool {
    page >> (PAGE_NUMBER_BITS - 1 - bit) & 1 == 1
}

/// Everything drawn on page `page` (1-based), back to front, on white paper.
pub fn page_marks(page: u32) -> Vec<MarkRect> {
    let (w, h) = PAGE_SIZE;
    let square = |(cx, cy): (f64, f64), side: f64, rgb| MarkRect {
        x: cx - side / 2.0,
        y: cy - side / 2.0,
        width: side,
        height: side,
        rgb,
    };
    let [top_left, top_right, bottom_left] = corner_centres();
    let mut marks = vec![
        square(top_left, MARK, TOP_LEFT_RGB),
        square(top_right, MARK, TOP_RIGHT_RGB),
        square(bottom_left, MARK, BOTTOM_LEFT_RGB),
        square((w / 2.0, h / 2.0), CENTRE_BLOCK, page_rgb(page as usize)),
    ];
    for bit in (0..PAGE_NUMBER_BITS).filter(|&bit| bar_is_set(page, bit)) {
        let (cx, _) = bar_centre(bit);
        marks.push(MarkRect {
            x: cx - BAR_WIDTH / 2.0,
            y: BAR_TOP,
            width: BAR_WIDTH,
            height: BAR_HEIGHT,
            rgb: [0, 0, 0],
        });
    }
    marks
}

/// Page `page` drawn at `dpi` as 8-bit RGB rows, `(width, height, samples)`.
pub fn page_raster(page: u32, dpi: u32) -> (u32, u32, Vec<u8>) {
    let px = |points: f64| (points * dpi as f64 / 72.0).round() as i64;
    let (width, height) = (px(PAGE_SIZE.0) as u32, px(PAGE_SIZE.1) as u32);
    let mut samples = vec![255u8; (width * height * 3) as usize];
    for mark in page_marks(page) {
        let clamp_x = |v: i64| v.clamp(0, width as i64) as usize;
        let clamp_y = |v: i64| v.clamp(0, height as i64) as usize;
        let (x0, x1) = (clamp_x(px(mark.x)), clamp_x(px(mark.x + mark.width)));
        for y in clamp_y(px(mark.y))..clamp_y(px(mark.y + mark.height)) {
            let row = y * width as usize * 3;
            for pixel in samples[row + x0 * 3..row + x1 * 3].chunks_exact_mut(3) {
                pixel.copy_from_slice(&mark.rgb);
            }
        }
    }
    (width, height, samples)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn page_numbers_are_distinct_bar_codes_and_marks_stay_dark_in_gray() {
        let codes: std::collections::HashSet<Vec<bool>> = (1..=63)
            .map(|page| (0..PAGE_NUMBER_BITS).map(|b| bar_is_set(page, b)).collect())
            .collect();
        assert_eq!(codes.len(), 63);
        for rgb in [TOP_LEFT_RGB, TOP_RIGHT_RGB, BOTTOM_LEFT_RGB] {
            let luma = 0.299 * rgb[0] as f64 + 0.587 * rgb[1] as f64 + 0.114 * rgb[2] as f64;
            assert!(luma < 110.0, "{rgb:?} would not stay dark in monochrome");
        }
    }
}
