//! Finding the test pages on a side: dark connected blobs, the square ones grouped into the
//! three-corner frames of [`crate::document::marks`], and each frame read for its page number,
//! which way up it is and its scale.

use super::side_view::SideView;
use crate::document::marks::{PAGE_NUMBER_BITS, PageGeometry};

/// Luma below this is ink.
const DARK: u8 = 128;

/// A page found on a side.
#[derive(Debug, Clone, PartialEq)]
pub struct FoundPage {
    /// 0 when the bar code reads as no page.
    pub number: u32,
    /// Centre of the page on the side, in PNG pixels.
    pub centre: (f64, f64),
    /// Which way the page's top points on the side.
    pub up: Direction,
    /// The page is a mirror image.
    pub mirrored: bool,
    /// PNG pixels per page point.
    pub scale: f64,
    /// Mean colour of the top-left, top-right and bottom-left corner marks, and of the centre
    /// square.
    pub corner_rgb: [[u8; 3]; 3],
    pub centre_rgb: [u8; 3],
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Direction {
    Up,
    Left,
    Down,
    Right,
}

impl Direction {
    pub fn turned_half(self) -> Self {
        match self {
            Direction::Up => Direction::Down,
            Direction::Down => Direction::Up,
            Direction::Left => Direction::Right,
            Direction::Right => Direction::Left,
        }
    }

    /// Words for a report: where the page's top points on the sheet.
    pub fn describe(self) -> &'static str {
        match self {
            Direction::Up => "upright",
            Direction::Left => "top to the left (turned 90° counter-clockwise)",
            Direction::Down => "upside down",
            Direction::Right => "top to the right (turned 90° clockwise)",
        }
    }
}

struct Blob {
    area: f64,
    centre: (f64, f64),
    rgb: [u8; 3],
}

/// Dark 4-connected blobs whose bounding box is a filled square: corner-mark candidates.
fn square_blobs(view: &SideView) -> Vec<Blob> {
    let (w, h) = (view.width, view.height);
    let dark: Vec<bool> = (0..w * h).map(|i| view.luma(i % w, i / w) < DARK).collect();
    let mut seen = vec![false; w * h];
    let mut blobs = Vec::new();
    let mut stack = Vec::new();
    for start in 0..w * h {
        if !dark[start] || seen[start] {
            continue;
        }
        seen[start] = true;
        stack.push(start);
        let (mut area, mut sx, mut sy) = (0usize, 0usize, 0usize);
        let mut sums = [0u64; 3];
        let (mut x0, mut y0, mut x1, mut y1) = (w, h, 0, 0);
        while let Some(i) = stack.pop() {
            let (x, y) = (i % w, i / w);
            area += 1;
            sx += x;
            sy += y;
            for (c, v) in view.pixel(x, y).iter().enumerate() {
                sums[c] += *v as u64;
            }
            (x0, y0, x1, y1) = (x0.min(x), y0.min(y), x1.max(x), y1.max(y));
            let neighbours = [
                (x > 0).then(|| i - 1),
                (x + 1 < w).then(|| i + 1),
                (y > 0).then(|| i - w),
                (y + 1 < h).then(|| i + w),
            ];
            for n in neighbours.into_iter().flatten() {
                if dark[n] && !seen[n] {
                    seen[n] = true;
                    stack.push(n);
                }
            }
        }
        let (bw, bh) = ((x1 - x0 + 1) as f64, (y1 - y0 + 1) as f64);
        let square = (0.7..=1.43).contains(&(bw / bh)) && area as f64 >= 0.6 * bw * bh;
        if square && area >= 4 {
            blobs.push(Blob {
                area: area as f64,
                centre: (sx as f64 / area as f64, sy as f64 / area as f64),
                rgb: sums.map(|s| (s / area as u64) as u8),
            });
        }
    }
    blobs
}

/// Whether the view is paper (not ink) at `point`, or `point` is off the side.
fn is_light(view: &SideView, (x, y): (f64, f64)) -> bool {
    let (x, y) = (x.round(), y.round());
    if x < 0.0 || y < 0.0 || x >= view.width as f64 || y >= view.height as f64 {
        return true;
    }
    view.luma(x as usize, y as usize) >= DARK
}

/// Every test page of `geometry` on the side, in no particular order.
pub fn find_pages(view: &SideView, geometry: &PageGeometry) -> Vec<FoundPage> {
    let blobs = square_blobs(view);
    let [top_left, top_right, bottom_left] = geometry.corner_centres();
    let across = top_right.0 - top_left.0;
    let down = bottom_left.1 - top_left.1;
    let mark_per_across = geometry.mark() / across;
    let sub = |a: (f64, f64), b: (f64, f64)| (a.0 - b.0, a.1 - b.1);
    let len = |v: (f64, f64)| v.0.hypot(v.1);
    // Every three-mark frame that fits a page's geometry, best fit first.
    let mut frames: Vec<(f64, [usize; 3])> = Vec::new();
    for a in 0..blobs.len() {
        // The three corner marks are the same size; a page's centre square is seven times a
        // mark's area and must not stand in for one.
        let same_size = |other: usize| (0.5..=2.0).contains(&(blobs[other].area / blobs[a].area));
        for b in (0..blobs.len()).filter(|&b| b != a && same_size(b)) {
            let u = sub(blobs[b].centre, blobs[a].centre);
            let side = blobs[a].area.sqrt();
            // The mark's size against the spacing: loose, as small marks are a few pixels, but
            // not so loose that the centre squares of an n-up grid pass for corner marks.
            let size_ratio = side / len(u);
            if !(mark_per_across * 0.6..=mark_per_across * 1.4).contains(&size_ratio) {
                continue;
            }
            for c in (0..blobs.len()).filter(|&c| c != a && c != b && same_size(c)) {
                let v = sub(blobs[c].centre, blobs[a].centre);
                let ratio = len(v) / len(u) / (down / across);
                let cosine = (u.0 * v.0 + u.1 * v.1) / (len(u) * len(v));
                // The marks' size counts too, lightly: a grid of pages puts other marks at
                // nearly the same spacing and angle.
                let size_error = (size_ratio / mark_per_across - 1.0).abs();
                let error = (ratio - 1.0).abs() + cosine.abs() + 0.3 * size_error;
                // A page has no mark in its bottom-right corner; the corner of a false triple
                // (marks of neighbouring pages) does.
                let fourth = (blobs[a].centre.0 + u.0 + v.0, blobs[a].centre.1 + u.1 + v.1);
                if (ratio - 1.0).abs() < 0.06 && cosine.abs() < 0.06 && is_light(view, fourth) {
                    frames.push((error, [a, b, c]));
                }
            }
        }
    }
    frames.sort_by(|x, y| x.0.total_cmp(&y.0));
    let mut used = vec![false; blobs.len()];
    let mut pages = Vec::new();
    for (_, corners) in frames {
        if corners.iter().any(|&i| used[i]) {
            continue;
        }
        let page = read_page(view, geometry, corners.map(|i| &blobs[i]));
        // Every test page has at least one bar; a frame whose bar code reads nothing is three
        // marks of a grid of pages (centre squares two cells apart) that happen to line up.
        if page.number == 0 {
            continue;
        }
        corners.iter().for_each(|&i| used[i] = true);
        pages.push(page);
    }
    pages
}

/// Reads a frame: maps page points to view pixels through the three corner centres.
fn read_page(view: &SideView, geometry: &PageGeometry, corners: [&Blob; 3]) -> FoundPage {
    let [top_left, top_right, bottom_left] = geometry.corner_centres();
    let across = top_right.0 - top_left.0;
    let down = bottom_left.1 - top_left.1;
    let origin = corners[0].centre;
    let u = (
        corners[1].centre.0 - origin.0,
        corners[1].centre.1 - origin.1,
    );
    let v = (
        corners[2].centre.0 - origin.0,
        corners[2].centre.1 - origin.1,
    );
    let to_view = |(px, py): (f64, f64)| {
        let (s, t) = ((px - top_left.0) / across, (py - top_left.1) / down);
        (origin.0 + s * u.0 + t * v.0, origin.1 + s * u.1 + t * v.1)
    };
    let sample = |point: (f64, f64)| {
        let (x, y) = to_view(point);
        let x = (x.round().max(0.0) as usize).min(view.width - 1);
        let y = (y.round().max(0.0) as usize).min(view.height - 1);
        (view.luma(x, y), view.pixel(x, y))
    };
    let number = (0..PAGE_NUMBER_BITS).fold(0, |n, bit| {
        let bar = (geometry.bar_samples(bit).iter()).all(|&point| sample(point).0 < DARK);
        (n << 1) | u32::from(bar)
    });
    // The page's top points from the bottom-left mark to the top-left one.
    let up = match (-v.0, -v.1) {
        (x, y) if y.abs() >= x.abs() && y < 0.0 => Direction::Up,
        (x, y) if y.abs() >= x.abs() => Direction::Down,
        (x, _) if x < 0.0 => Direction::Left,
        _ => Direction::Right,
    };
    let factor = view.factor as f64;
    let centre = to_view(geometry.centre());
    FoundPage {
        number,
        centre: (centre.0 * factor, centre.1 * factor),
        up,
        mirrored: u.0 * v.1 - u.1 * v.0 < 0.0,
        scale: (u.0.hypot(u.1) / across) * factor,
        corner_rgb: corners.map(|c| c.rgb),
        centre_rgb: sample(geometry.centre()).1,
    }
}
