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

/// A4 in points: the test page's size when nothing asks for another.
pub const A4: (f64, f64) = (595.28, 841.89);
/// Bits of the page-number bar code: pages 1..=63.
pub const PAGE_NUMBER_BITS: u32 = 6;
/// The bar code on A4, points: width of one bar, distance between the left edges of
/// neighbouring bars, height. Other page sizes scale them with the page's shorter side.
const BAR_WIDTH: f64 = 24.0;
const BAR_PITCH: f64 = 40.0;
const BAR_HEIGHT: f64 = 60.0;

/// Where the marks go on a test page of a given size. A case's document is made at the size
/// its sheet takes the page at (the media, turned as the job's orientation turns it), and its
/// corner marks sit inside the margins a printer may clip, so that a page printed at 100 % or
/// filling the sheet keeps every mark, on a 2×1 inch label as on A3. Every length but the
/// page's own scales with its shorter side, so the marks keep the proportions the finder
/// expects whatever the page's shape.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PageGeometry {
    /// Width and height, points.
    pub size: (f64, f64),
    /// From each edge to the outer edge of a corner mark, points.
    pub inset: f64,
}

impl Default for PageGeometry {
    fn default() -> Self {
        PageGeometry {
            size: A4,
            inset: MARK_INSET,
        }
    }
}

impl PageGeometry {
    /// A page of `size` whose corner marks stay clear of `clipped` points at every edge.
    pub fn new(size: (f64, f64), clipped: f64) -> PageGeometry {
        let short = size.0.min(size.1);
        PageGeometry {
            size,
            // A little paper beyond the clip, so a mark is never cut by a rounding pixel; never
            // so much that the marks would not fit on the page.
            inset: (clipped.max(0.0) + 0.02 * short).min(0.2 * short),
        }
    }

    /// Lengths scale with the shorter side: 1 on A4.
    fn unit(&self) -> f64 {
        self.size.0.min(self.size.1) / A4.0
    }

    /// Side of a corner mark, points.
    pub fn mark(&self) -> f64 {
        MARK * self.unit()
    }

    /// Side of the centre square, points.
    fn centre_block(&self) -> f64 {
        CENTRE_BLOCK * self.unit()
    }

    /// The centre of each corner mark, points: top-left, top-right, bottom-left.
    pub fn corner_centres(&self) -> [(f64, f64); 3] {
        let (w, h) = self.size;
        let near = self.inset + self.mark() / 2.0;
        [(near, near), (w - near, near), (near, h - near)]
    }

    pub fn centre(&self) -> (f64, f64) {
        (self.size.0 / 2.0, self.size.1 / 2.0)
    }

    /// The bar row: top edge and height, points; between the centre square and the bottom
    /// corner marks.
    fn bar_row(&self) -> (f64, f64) {
        let below_centre = self.size.1 / 2.0 + self.centre_block() / 2.0;
        let above_marks = self.size.1 - self.inset - self.mark();
        let height = (BAR_HEIGHT * self.unit()).min(0.6 * (above_marks - below_centre));
        ((below_centre + above_marks - height) / 2.0, height)
    }

    /// The centre of the page-number bar for `bit` (0 = most significant), points.
    pub fn bar_centre(&self, bit: u32) -> (f64, f64) {
        let unit = self.unit();
        let row_width = (BAR_PITCH * (PAGE_NUMBER_BITS - 1) as f64 + BAR_WIDTH) * unit;
        let left = (self.size.0 - row_width) / 2.0 + BAR_PITCH * unit * bit as f64;
        let (top, height) = self.bar_row();
        (left + BAR_WIDTH * unit / 2.0, top + height / 2.0)
    }

    /// Where a reader looks for the bar of `bit`: its centre and a point towards each end, so
    /// that a bar is told from a square mark that happens to lie under its centre.
    pub fn bar_samples(&self, bit: u32) -> [(f64, f64); 3] {
        let (x, y) = self.bar_centre(bit);
        let reach = 0.3 * self.bar_row().1;
        [(x, y), (x, y - reach), (x, y + reach)]
    }

    /// Everything drawn on page `page` (1-based), back to front, on white paper.
    pub fn page_marks(&self, page: u32) -> Vec<MarkRect> {
        let square = |(cx, cy): (f64, f64), side: f64, rgb| MarkRect {
            x: cx - side / 2.0,
            y: cy - side / 2.0,
            width: side,
            height: side,
            rgb,
        };
        let [top_left, top_right, bottom_left] = self.corner_centres();
        let mark = self.mark();
        let mut marks = vec![
            square(top_left, mark, TOP_LEFT_RGB),
            square(top_right, mark, TOP_RIGHT_RGB),
            square(bottom_left, mark, BOTTOM_LEFT_RGB),
            square(self.centre(), self.centre_block(), page_rgb(page as usize)),
        ];
        let (top, height) = self.bar_row();
        let width = BAR_WIDTH * self.unit();
        for bit in (0..PAGE_NUMBER_BITS).filter(|&bit| bar_is_set(page, bit)) {
            let (cx, _) = self.bar_centre(bit);
            marks.push(MarkRect {
                x: cx - width / 2.0,
                y: top,
                width,
                height,
                rgb: [0, 0, 0],
            });
        }
        marks
    }

    /// Page `page` drawn at `dpi` as 8-bit RGB rows, `(width, height, samples)`.
    pub fn page_raster(&self, page: u32, dpi: u32) -> (u32, u32, Vec<u8>) {
        let px = |points: f64| (points * dpi as f64 / 72.0).round() as i64;
        let (width, height) = (px(self.size.0).max(1) as u32, px(self.size.1).max(1) as u32);
        let mut samples = vec![255u8; (width * height * 3) as usize];
        for mark in self.page_marks(page) {
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
}

/// A filled rectangle: x, y of its top-left corner, width, height (points), colour.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct MarkRect {
    pub x: f64,
    pub y: f64,
    pub width: f64,
    pub height: f64,
    pub rgb: [u8; 3],
}

/// Whether page `page`'s bar code has a black bar at `bit`.
pub fn bar_is_set(page: u32, bit: u32) -> bool {
    page >> (PAGE_NUMBER_BITS - 1 - bit) & 1 == 1
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

    #[test]
    fn marks_stay_inside_the_inset_and_apart_on_any_page_shape() {
        // A4, a 2x1 inch label, a landscape ledger: nothing overlaps, nothing crosses the inset.
        for (size, clipped) in [(A4, 18.0), ((144.0, 72.0), 2.8), ((1224.0, 792.0), 28.3)] {
            let geometry = PageGeometry::new(size, clipped);
            let marks = geometry.page_marks(63);
            for m in &marks {
                assert!(
                    m.x >= clipped && m.y >= clipped,
                    "{size:?}: {m:?} inside the clip"
                );
                assert!(
                    m.x + m.width <= size.0 - clipped && m.y + m.height <= size.1 - clipped,
                    "{size:?}: {m:?} inside the clip"
                );
            }
            for (i, a) in marks.iter().enumerate() {
                for b in &marks[i + 1..] {
                    let apart = a.x + a.width <= b.x
                        || b.x + b.width <= a.x
                        || a.y + a.height <= b.y
                        || b.y + b.height <= a.y;
                    assert!(apart, "{size:?}: {a:?} overlaps {b:?}");
                }
            }
        }
    }
}
