//! Imposition: which source page lands where on which side of which sheet.
//!
//! Pure geometry, no pixels, so every step (page ranges, n-up, orientation, scaling, sides,
//! copies) is checkable by hand. Coordinates are PostScript points with the origin at the
//! top-left corner of the portrait sheet and y growing downwards, the way raster rows run.

use super::settings::{AppliedSettings, QuarterTurns, Scaling};
use hayro::kurbo::{Affine, Rect};
use printlab_ticket::{NupLayout, Sides};

/// Maps a box of the given size, turned by `turn`, onto `target` (whose size is the turned box's).
/// The box's own coordinates are y-down with the origin at its top-left corner.
fn turn_into(turn: QuarterTurns, target: Rect) -> Affine {
    let (x0, y0, x1, y1) = (target.x0, target.y0, target.x1, target.y1);
    match turn {
        QuarterTurns::None => Affine::new([1.0, 0.0, 0.0, 1.0, x0, y0]),
        // The box's top edge lands on the target's left edge.
        QuarterTurns::Ccw90 => Affine::new([0.0, -1.0, 1.0, 0.0, x0, y1]),
        QuarterTurns::Half => Affine::new([-1.0, 0.0, 0.0, -1.0, x1, y1]),
        // The box's top edge lands on the target's right edge.
        QuarterTurns::Cw90 => Affine::new([0.0, 1.0, -1.0, 0.0, x1, y0]),
    }
}

/// One source page placed on a side.
#[derive(Debug, Clone, PartialEq)]
pub struct Placement {
    /// Zero-based index into the document's pages.
    pub source_page: usize,
    /// Maps the page's own space (points, y down, origin top-left, after its /Rotate) to sheet
    /// points.
    pub page_to_sheet: Affine,
    /// The sheet area this page may paint (its n-up cell within the printable area), in points.
    pub clip: Rect,
}

/// One printed face of a sheet, before copies are made.
#[derive(Debug, Clone, PartialEq)]
pub struct SideLayout {
    /// Zero-based sheet index within one copy of the document.
    pub sheet: usize,
    pub back: bool,
    pub placements: Vec<Placement>,
    /// A short-edge back side is imaged upside down relative to its front.
    pub turned_half: bool,
}

/// A side as it leaves the printer: which laid-out side, and which copy.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PrintedSide {
    pub layout_index: usize,
    pub copy: u32,
}

/// The whole imposition of a job.
#[derive(Debug, Clone, PartialEq)]
pub struct JobLayout {
    pub sides: Vec<SideLayout>,
    /// Every side in the order the printer emits it (copies and collation applied).
    pub printed: Vec<PrintedSide>,
    pub sheets_per_copy: usize,
}

/// Expands `pageRanges` (1-based, inclusive, ascending: the ticket's are checked when the job's
/// settings are resolved) against the page count.
/// Ranges reaching past the end are cut at the last page, as printers do; page 0 does not exist.
pub fn select_pages(ranges: &[(u32, u32)], page_count: usize) -> Vec<usize> {
    if ranges.is_empty() {
        return (0..page_count).collect();
    }
    let mut pages = Vec::new();
    for &(start, end) in ranges {
        let last = (end as usize).min(page_count);
        for page in (start.max(1) as usize)..=last {
            pages.push(page - 1);
        }
    }
    pages
}

/// Columns and rows for `n` pages per sheet on a content area of the given shape: the longer
/// side of the area takes the larger count.
pub fn grid(n: u32, area_is_landscape: bool) -> (u32, u32) {
    let (long, short) = match n {
        2 => (2, 1),
        6 => (3, 2),
        _ => {
            let side = (n as f64).sqrt().round() as u32;
            (side, side)
        }
    };
    if area_is_landscape {
        (long, short)
    } else {
        (short, long)
    }
}

/// The (column, row) of the `index`-th page of a sheet for a Graph `multipageLayout`.
/// "clockwise from top-left" starts at the top-left cell and moves right first (IPP
/// `toright-tobottom`); "counterclockwise from top-left" moves down first, and so on for the
/// other corners.
pub fn cell_position(index: u32, cols: u32, rows: u32, layout: NupLayout) -> (u32, u32) {
    use NupLayout as L;
    let (from_left, from_top, horizontal_first) = match layout {
        L::CounterclockwiseFromTopLeft => (true, true, false),
        L::CounterclockwiseFromTopRight => (false, true, true),
        L::ClockwiseFromTopRight => (false, true, false),
        L::CounterclockwiseFromBottomLeft => (true, false, true),
        L::ClockwiseFromBottomLeft => (true, false, false),
        L::CounterclockwiseFromBottomRight => (false, false, false),
        L::ClockwiseFromBottomRight => (false, false, true),
        L::ClockwiseFromTopLeft => (true, true, true),
    };
    let (along, across) = if horizontal_first {
        (index % cols, index / cols)
    } else {
        (index / rows, index % rows)
    };
    let col = if from_left { along } else { cols - 1 - along };
    let row = if from_top { across } else { rows - 1 - across };
    (col, row)
}

/// How much larger than the media a page must be to count as larger: page sizes in points and
/// media sizes in hundredths of a millimetre round differently (A4 is 595.28 pt or 595.3).
const SAME_SIZE_TOLERANCE_PT: f64 = 1.0;

/// Scale factor of a page of size `page` into a cell of size `cell` on a sheet of size `media`
/// (all in the content area's orientation).
///
/// `auto` is PWG 5100.16's `print-scaling=auto` (as Michael Sweet quotes it for cups-filters
/// issue 108): a document larger than the requested media is scaled with `fit` when the margins
/// are not zero and with `fill` when they are (borderless: the cell is the whole sheet); a
/// document no larger than the media prints at its size (`none`). The spec's other trigger,
/// `ipp-attribute-fidelity=true`, has no Graph counterpart and never reaches the engine.
pub fn scale_factor(
    scaling: Scaling,
    page: (f64, f64),
    cell: (f64, f64),
    media: (f64, f64),
) -> f64 {
    let fit = (cell.0 / page.0).min(cell.1 / page.1);
    let fill = (cell.0 / page.0).max(cell.1 / page.1);
    match scaling {
        Scaling::Fit => fit,
        Scaling::Fill => fill,
        Scaling::ShrinkToFit => fit.min(1.0),
        Scaling::None => 1.0,
        Scaling::Auto => {
            let larger = page.0 > media.0 + SAME_SIZE_TOLERANCE_PT
                || page.1 > media.1 + SAME_SIZE_TOLERANCE_PT;
            let borderless = (cell.0 - media.0).abs() < 1e-6 && (cell.1 - media.1).abs() < 1e-6;
            match (larger, borderless) {
                (false, _) => 1.0,
                (true, false) => fit,
                (true, true) => fill,
            }
        }
    }
}

fn is_landscape(size: (f64, f64)) -> bool {
    size.0 > size.1
}

/// Lays out a job. `page_sizes` are every page's size in points (after /Rotate); `selected`
/// are the pages to print, in order.
pub fn lay_out(
    settings: &AppliedSettings,
    page_sizes: &[(f64, f64)],
    selected: &[usize],
) -> JobLayout {
    let (sheet_w, sheet_h) = settings.media.points();
    let m = settings.margins_pt;
    let printable = Rect::new(m.left, m.top, sheet_w - m.right, sheet_h - m.bottom);
    let per_sheet = settings.pages_per_sheet as usize;

    // The content area turn: explicit orientation, or for n-up the grid shape that best suits
    // the first page (two portrait pages side by side on a portrait sheet means a landscape area).
    let area_turn = match settings.orientation {
        Some(turn) => turn,
        None if per_sheet > 1 => {
            let first = selected
                .first()
                .map(|&p| page_sizes[p])
                .unwrap_or((1.0, 1.0));
            let fit_for = |turn: QuarterTurns| {
                let area = turned_size(printable, turn);
                let (cols, rows) = grid(settings.pages_per_sheet, is_landscape(area));
                let cell = (area.0 / cols as f64, area.1 / rows as f64);
                scale_factor(Scaling::Fit, first, cell, cell)
            };
            if fit_for(QuarterTurns::Ccw90) > fit_for(QuarterTurns::None) + 1e-9 {
                QuarterTurns::Ccw90
            } else {
                QuarterTurns::None
            }
        }
        None => QuarterTurns::None,
    };
    let area = turned_size(printable, area_turn);
    let media_in_area = turned_size(Rect::new(0.0, 0.0, sheet_w, sheet_h), area_turn);
    let area_to_sheet = turn_into(area_turn, printable);
    let (cols, rows) = grid(settings.pages_per_sheet, is_landscape(area));
    let cell_size = (area.0 / cols as f64, area.1 / rows as f64);

    let mut faces: Vec<Vec<Placement>> = selected
        .chunks(per_sheet.max(1))
        .map(|chunk| {
            chunk
                .iter()
                .enumerate()
                .map(|(i, &page)| {
                    let (col, row) = cell_position(i as u32, cols, rows, settings.layout);
                    let cell = Rect::new(
                        col as f64 * cell_size.0,
                        row as f64 * cell_size.1,
                        (col + 1) as f64 * cell_size.0,
                        (row + 1) as f64 * cell_size.1,
                    );
                    let size = page_sizes[page];
                    // Printers turn a landscape page on a portrait cell (and the reverse) when
                    // the job leaves orientation to them.
                    let page_turn = if settings.orientation.is_none()
                        && size.0 != size.1
                        && is_landscape(size) != is_landscape(cell_size)
                    {
                        QuarterTurns::Ccw90
                    } else {
                        QuarterTurns::None
                    };
                    let turned = if page_turn.swaps_axes() {
                        (size.1, size.0)
                    } else {
                        size
                    };
                    let scaling = if per_sheet > 1 && settings.scaling != Scaling::Fill {
                        Scaling::Fit
                    } else {
                        settings.scaling
                    };
                    let k = scale_factor(scaling, turned, cell_size, media_in_area);
                    let placed =
                        Rect::from_center_size(cell.center(), (turned.0 * k, turned.1 * k));
                    let page_to_cell = turn_into(page_turn, placed) * Affine::scale(k);
                    Placement {
                        source_page: page,
                        page_to_sheet: area_to_sheet * page_to_cell,
                        clip: area_to_sheet.transform_rect_bbox(cell),
                    }
                })
                .collect()
        })
        .collect();
    if faces.is_empty() {
        faces.push(Vec::new());
    }

    let duplex = settings.duplex;
    let mut sides = Vec::new();
    if duplex == Sides::OneSided {
        for (sheet, placements) in faces.into_iter().enumerate() {
            sides.push(SideLayout {
                sheet,
                back: false,
                placements,
                turned_half: false,
            });
        }
    } else {
        if faces.len() % 2 == 1 {
            faces.push(Vec::new());
        }
        for (i, placements) in faces.into_iter().enumerate() {
            let back = i % 2 == 1;
            sides.push(SideLayout {
                sheet: i / 2,
                back,
                placements,
                turned_half: back && duplex == Sides::ShortEdge,
            });
        }
    }
    let sheets_per_copy = sides.last().map_or(0, |s| s.sheet + 1);

    let mut printed = Vec::new();
    if settings.collate {
        for copy in 0..settings.copies {
            printed.extend((0..sides.len()).map(|layout_index| PrintedSide { layout_index, copy }));
        }
    } else {
        for sheet in 0..sheets_per_copy {
            for copy in 0..settings.copies {
                for (layout_index, side) in sides.iter().enumerate() {
                    if side.sheet == sheet {
                        printed.push(PrintedSide { layout_index, copy });
                    }
                }
            }
        }
    }
    JobLayout {
        sides,
        printed,
        sheets_per_copy,
    }
}

fn turned_size(rect: Rect, turn: QuarterTurns) -> (f64, f64) {
    if turn.swaps_axes() {
        (rect.height(), rect.width())
    } else {
        (rect.width(), rect.height())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use hayro::kurbo::Point;
    use printlab_ticket::NupLayout as L;

    #[test]
    fn page_ranges_stop_at_the_last_page() {
        assert_eq!(select_pages(&[], 3), vec![0, 1, 2]);
        assert_eq!(select_pages(&[(1, 1), (3, 4)], 5), vec![0, 2, 3]);
        assert_eq!(select_pages(&[(4, 9)], 5), vec![3, 4]);
        assert!(select_pages(&[(7, 9)], 5).is_empty());
    }

    #[test]
    fn grids_put_more_cells_along_the_long_side() {
        assert_eq!(grid(2, false), (1, 2));
        assert_eq!(grid(2, true), (2, 1));
        assert_eq!(grid(6, false), (2, 3));
        assert_eq!(grid(9, true), (3, 3));
        assert_eq!(grid(16, false), (4, 4));
    }

    #[test]
    fn every_layout_starts_in_its_corner_and_moves_the_named_way() {
        // 2x2: index 0 and 1.
        let cases = [
            (L::ClockwiseFromTopLeft, (0, 0), (1, 0)),
            (L::CounterclockwiseFromTopLeft, (0, 0), (0, 1)),
            (L::CounterclockwiseFromTopRight, (1, 0), (0, 0)),
            (L::ClockwiseFromTopRight, (1, 0), (1, 1)),
            (L::CounterclockwiseFromBottomLeft, (0, 1), (1, 1)),
            (L::ClockwiseFromBottomLeft, (0, 1), (0, 0)),
            (L::CounterclockwiseFromBottomRight, (1, 1), (1, 0)),
            (L::ClockwiseFromBottomRight, (1, 1), (0, 1)),
        ];
        for (layout, first, second) in cases {
            assert_eq!(cell_position(0, 2, 2, layout), first, "{layout:?}");
            assert_eq!(cell_position(1, 2, 2, layout), second, "{layout:?}");
        }
        // 3x2, right then down: the fourth page starts the second row.
        assert_eq!(cell_position(3, 3, 2, L::ClockwiseFromTopLeft), (0, 1));
    }

    #[test]
    fn scaling_factors() {
        let a4 = (595.0, 842.0);
        let small = (300.0, 400.0);
        assert!((scale_factor(Scaling::Fit, small, a4, a4) - 595.0 / 300.0).abs() < 1e-9);
        assert!((scale_factor(Scaling::Fill, small, a4, a4) - 842.0 / 400.0).abs() < 1e-9);
        assert_eq!(scale_factor(Scaling::ShrinkToFit, small, a4, a4), 1.0);
        assert!(
            (scale_factor(Scaling::ShrinkToFit, a4, small, small) - 400.0 / 842.0).abs() < 1e-9
        );
        assert_eq!(scale_factor(Scaling::None, a4, small, small), 1.0);
    }

    #[test]
    fn quarter_turns_put_the_top_edge_where_ipp_says() {
        let target = Rect::new(10.0, 20.0, 110.0, 220.0);
        // A 200x100 box turned +90°: its top-left corner goes to the target's bottom-left.
        let ccw = turn_into(QuarterTurns::Ccw90, target);
        assert_eq!(ccw * Point::new(0.0, 0.0), Point::new(10.0, 220.0));
        assert_eq!(ccw * Point::new(200.0, 100.0), Point::new(110.0, 20.0));
        let cw = turn_into(QuarterTurns::Cw90, target);
        assert_eq!(cw * Point::new(0.0, 0.0), Point::new(110.0, 20.0));
        let half = turn_into(QuarterTurns::Half, target);
        assert_eq!(half * Point::new(0.0, 0.0), Point::new(110.0, 220.0));
    }
}
