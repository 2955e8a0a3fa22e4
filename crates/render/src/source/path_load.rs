//! How much rasteriser memory a page's paths take. vello_cpu (hayro draws with it) turns each
//! path into 4×4-pixel tiles wherever its edges pass and keeps, for every path until the page is
//! composited, 16 bytes of coverage per tile and an 8-byte strip per run of tiles; and while it
//! builds one path it holds every tile crossing of every edge. So the cost follows how many
//! tiles the edges cross at the job's resolution: a few hundred thousand page-high segments
//! reach gigabytes with fewer operators than the complexity bound allows. This estimate counts
//! what each painted path's edges would cross, strokes by their outline (both sides, joins,
//! and every dash with its caps), in page units, so that one pass serves every resolution.

use hayro::hayro_syntax::object::{Array, Number, Object};
use hayro::kurbo::{Affine, Point};

/// Pixels along each edge of vello_cpu's coverage tiles (`vello_common::tile::Tile`).
const TILE_PIXELS: f64 = 4.0;
/// Bytes vello_cpu keeps for each tile an edge crosses: 16 of coverage and an 8-byte strip.
const BYTES_PER_TILE: f64 = 24.0;

/// The edges a page's paths paint: how many, and how long. Lengths are taxicab lengths (a
/// segment crosses one column of tiles per tile width it moves across and one row per tile
/// height it moves down), in the units of the stream that drew them, page units at the top.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct PathLoad {
    segments: f64,
    length: f64,
}

impl PathLoad {
    /// Bytes of tiles and strips vello_cpu would hold for these edges drawn through
    /// `page_to_pixels`: each segment touches at least one tile, and one more per tile edge it
    /// crosses.
    pub fn bytes_at(&self, page_to_pixels: Affine) -> u64 {
        let tiles = self.segments + self.length * stretch(page_to_pixels) / TILE_PIXELS;
        if tiles.is_nan() {
            // A transform that overflowed made lengths unmeasurable: refused as over any bound.
            return u64::MAX;
        }
        // `as` saturates: a page beyond u64 is refused all the same.
        (tiles * BYTES_PER_TILE) as u64
    }

    /// Adds what a form (or pattern, or soft mask) drew in its own units, `scale` page units
    /// to one of them.
    pub(super) fn add_scaled(&mut self, drawn: PathLoad, scale: f64) {
        self.segments += drawn.segments;
        self.length += drawn.length * scale;
    }
}

/// How far a transform stretches a taxicab length at most: its taxicab operator norm.
pub(super) fn stretch(transform: Affine) -> f64 {
    let [a, b, c, d, _, _] = transform.as_coeffs();
    (a.abs() + b.abs()).max(c.abs() + d.abs())
}

/// A transform from a dictionary's `Matrix` (forms, patterns, soft-mask groups), identity when
/// absent.
pub(super) fn matrix(coefficients: Option<[f64; 6]>) -> Affine {
    coefficients.map_or(Affine::IDENTITY, Affine::new)
}

#[derive(Debug, Clone, Copy)]
struct GraphicState {
    /// User space to the stream's own units.
    ctm: Affine,
    line_width: f64,
    /// Length of one dash pattern period in user space, and how many dashes it draws.
    dash: Option<(f64, f64)>,
}

/// Follows one content stream's path construction and painting (with `cm`, `q`/`Q`, `w` and
/// `d`) and adds up the edges each painting operator asks for.
pub(super) struct PathTracker {
    state: GraphicState,
    saved: Vec<GraphicState>,
    /// The path under construction: its segments and their length, in stream units.
    path: PathLoad,
    /// The closing segments a fill adds to subpaths left open.
    closing: PathLoad,
    current: Point,
    subpath_start: Point,
    clip: bool,
    painted: PathLoad,
}

impl Default for PathTracker {
    fn default() -> Self {
        Self {
            state: GraphicState {
                ctm: Affine::IDENTITY,
                line_width: 1.0,
                dash: None,
            },
            saved: Vec::new(),
            path: PathLoad::default(),
            closing: PathLoad::default(),
            current: Point::ORIGIN,
            subpath_start: Point::ORIGIN,
            clip: false,
            painted: PathLoad::default(),
        }
    }
}

impl PathTracker {
    /// The current transformation, user space to this stream's units: what a form, pattern or
    /// soft mask drawn now is drawn through.
    pub(super) fn ctm(&self) -> Affine {
        self.state.ctm
    }

    /// Adds what something drawn from this stream (a form, pattern or soft mask) painted in
    /// its own units, `to_stream` mapping those to this stream's.
    pub(super) fn add_drawn(&mut self, drawn: PathLoad, to_stream: Affine) {
        self.painted.add_scaled(drawn, stretch(to_stream));
    }

    /// What this stream's paths painted, in its units.
    pub(super) fn painted(&self) -> PathLoad {
        self.painted
    }

    pub(super) fn instruction<'b, 'o: 'b>(
        &mut self,
        operator: &[u8],
        mut operands: impl Iterator<Item = &'b Object<'o>>,
    ) {
        match operator {
            b"q" => self.saved.push(self.state),
            b"Q" => {
                if let Some(state) = self.saved.pop() {
                    self.state = state;
                }
            }
            b"cm" => {
                if let Some(m) = numbers::<6>(operands) {
                    self.state.ctm *= Affine::new(m);
                }
            }
            b"w" => {
                if let Some([width]) = numbers::<1>(operands) {
                    self.state.line_width = width.abs();
                }
            }
            b"d" => self.state.dash = operands.next().and_then(dash_pattern),
            b"m" => {
                if let Some([x, y]) = numbers::<2>(operands) {
                    self.close_implicitly();
                    self.current = self.to_stream(x, y);
                    self.subpath_start = self.current;
                }
            }
            b"l" => {
                if let Some([x, y]) = numbers::<2>(operands) {
                    self.edge(&[self.to_stream(x, y)]);
                }
            }
            b"c" => {
                if let Some([x1, y1, x2, y2, x3, y3]) = numbers::<6>(operands) {
                    let points = [(x1, y1), (x2, y2), (x3, y3)].map(|(x, y)| self.to_stream(x, y));
                    self.edge(&points);
                }
            }
            b"v" | b"y" => {
                if let Some([x1, y1, x2, y2]) = numbers::<4>(operands) {
                    let points = [(x1, y1), (x2, y2)].map(|(x, y)| self.to_stream(x, y));
                    self.edge(&points);
                }
            }
            b"h" => self.close_subpath(),
            b"re" => {
                if let Some([x, y, w, h]) = numbers::<4>(operands) {
                    self.close_implicitly();
                    self.current = self.to_stream(x, y);
                    self.subpath_start = self.current;
                    let corners = [(x + w, y), (x + w, y + h), (x, y + h), (x, y)]
                        .map(|(x, y)| self.to_stream(x, y));
                    for corner in corners {
                        self.edge(&[corner]);
                    }
                }
            }
            b"W" | b"W*" => self.clip = true,
            b"f" | b"F" | b"f*" => self.paint(true, false),
            b"S" => self.paint(false, true),
            b"s" => {
                self.close_subpath();
                self.paint(false, true);
            }
            b"B" | b"B*" => self.paint(true, true),
            b"b" | b"b*" => {
                self.close_subpath();
                self.paint(true, true);
            }
            b"n" => self.paint(false, false),
            _ => {}
        }
    }

    fn close_subpath(&mut self) {
        let start = self.subpath_start;
        self.edge(&[start]);
    }

    fn to_stream(&self, x: f64, y: f64) -> Point {
        self.state.ctm * Point::new(x, y)
    }

    /// A segment from the current point through `points` (a line, or a curve's control points:
    /// a curve is no longer than its control polygon, and flattening it adds lines but not
    /// tiles crossed).
    fn edge(&mut self, points: &[Point]) {
        for point in points {
            self.path.length += taxicab(self.current, *point);
            self.current = *point;
        }
        self.path.segments += 1.0;
    }

    /// The segment a fill adds to close the current subpath.
    fn close_implicitly(&mut self) {
        let gap = taxicab(self.current, self.subpath_start);
        if gap > 0.0 {
            self.closing.segments += 1.0;
            self.closing.length += gap;
        }
    }

    fn paint(&mut self, fill: bool, stroke: bool) {
        self.close_implicitly();
        let path = std::mem::take(&mut self.path);
        let closing = std::mem::take(&mut self.closing);
        // A clipping path is filled into a clip layer once, as well as being painted.
        let fills = u8::from(fill) + u8::from(std::mem::take(&mut self.clip));
        for _ in 0..fills {
            self.painted.add_scaled(path, 1.0);
            self.painted.add_scaled(closing, 1.0);
        }
        if stroke {
            self.painted.add_scaled(self.outline(path), 1.0);
        }
    }

    /// The outline a stroke fills: both sides of every segment, a join or cap across the width
    /// at each end, and with a dash pattern every dash's two caps and sides.
    fn outline(&self, path: PathLoad) -> PathLoad {
        let to_stream = stretch(self.state.ctm);
        let width = self.state.line_width * to_stream;
        let mut outline = PathLoad {
            segments: 4.0 * path.segments,
            length: 2.0 * path.length + 2.0 * width * path.segments,
        };
        if let Some((period, dashes_per_period)) = self.state.dash
            && path.length > 0.0
        {
            let dashes = path.length / (period * to_stream) * dashes_per_period;
            if dashes.is_finite() {
                outline.segments += 4.0 * dashes;
                outline.length += 2.0 * width * dashes;
            } else {
                outline.segments = f64::INFINITY;
            }
        }
        outline
    }
}

fn taxicab(from: Point, to: Point) -> f64 {
    (to.x - from.x).abs() + (to.y - from.y).abs()
}

/// The first `N` operands as numbers, if they are.
fn numbers<'b, 'o: 'b, const N: usize>(
    mut operands: impl Iterator<Item = &'b Object<'o>>,
) -> Option<[f64; N]> {
    let mut out = [0.0; N];
    for slot in &mut out {
        match operands.next() {
            Some(Object::Number(n)) => *slot = Number::as_f64(n),
            _ => return None,
        }
    }
    out.iter().all(|v| v.is_finite()).then_some(out)
}

/// A dash array's period (an odd-length array runs twice per period) and dashes per period;
/// none for a solid line (an empty array, or one that adds up to nothing).
fn dash_pattern(array: &Object<'_>) -> Option<(f64, f64)> {
    let Object::Array(array) = array else {
        return None;
    };
    let lengths: Vec<f64> = Array::iter::<f64>(array).map(f64::abs).collect();
    let sum: f64 = lengths.iter().sum();
    if lengths.is_empty() || sum <= 0.0 || !sum.is_finite() {
        return None;
    }
    let (period, dashes) = if lengths.len() % 2 == 1 {
        (2.0 * sum, lengths.len() as f64)
    } else {
        (sum, lengths.len() as f64 / 2.0)
    };
    Some((period, dashes))
}

#[cfg(test)]
mod tests {
    use super::*;
    use hayro::hayro_syntax::content::UntypedIter;

    fn painted(content: &[u8]) -> PathLoad {
        let mut tracker = PathTracker::default();
        let mut operators = UntypedIter::new(content);
        while let Some(instruction) = operators.next() {
            tracker.instruction(instruction.operator, instruction.operands());
        }
        tracker.painted()
    }

    #[test]
    fn fills_count_their_segments_and_taxicab_length_closing_included() {
        // Three segments (the fill closes the triangle), 400 units long: at 4 pixels per unit,
        // 3 + 400 tiles of 24 bytes.
        let load = painted(b"0 0 m 100 0 l 100 100 l f");
        assert_eq!(load.bytes_at(Affine::scale(4.0)), 403 * 24);
        // The same through a form drawn twice as large.
        let mut page = PathLoad::default();
        page.add_scaled(load, 2.0);
        assert_eq!(page.bytes_at(Affine::scale(2.0)), 403 * 24);
        // Constructed but not painted: nothing.
        assert_eq!(painted(b"0 0 m 100 0 l n").bytes_at(Affine::IDENTITY), 0);
    }

    #[test]
    fn dashes_multiply_a_stroke_and_overflowing_transforms_are_unmeasurable() {
        let solid = painted(b"10 w 0 0 m 0 1000 l S").bytes_at(Affine::IDENTITY);
        let dashed = painted(b"10 w [1] 0 d 0 0 m 0 1000 l S").bytes_at(Affine::IDENTITY);
        // 500 dashes, each four segments and two caps across the width.
        assert_eq!(dashed - solid, (500 * 4 + 500 * 2 * 10 / 4) * 24);
        // A degenerate transform draws nothing, dashed or not.
        let flat = painted(b"0 0 0 0 0 0 cm [1] 0 d 0 0 m 0 1000 l S");
        assert!(flat.bytes_at(Affine::IDENTITY) < 1000, "{flat:?}");
        let huge = format!("1{} 0 0 1{} 0 0 cm", "0".repeat(300), "0".repeat(300));
        let overflow = painted(format!("{huge} {huge} 0 0 m 1 1 l 2 0 l f").as_bytes());
        assert_eq!(overflow.bytes_at(Affine::IDENTITY), u64::MAX);
    }
}
