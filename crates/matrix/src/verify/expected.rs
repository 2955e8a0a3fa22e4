//! What a correct printer puts out for a configuration: the verifier's own model of the
//! Graph/IPP rules (page ranges, n-up grid and order, orientation, duplex, copies and
//! collation, scaling), written from the specifications rather than taken from the renderer,
//! because the renderer is what is being checked.

use printlab_graph::{
    PrintDuplexMode, PrintJobConfiguration, PrintMultipageLayout as Layout, PrintOrientation,
    PrintScaling,
};

/// A quarter turn of the content area on the sheet, counter-clockwise, as IPP
/// `orientation-requested` turns it (landscape is +90°).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AreaTurn {
    None,
    Ccw90,
    Half,
    Cw90,
}

impl AreaTurn {
    pub fn swaps_axes(self) -> bool {
        matches!(self, AreaTurn::Ccw90 | AreaTurn::Cw90)
    }
}

/// One side as it should leave the printer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExpectedSide {
    /// 1-based pages in n-up order; empty for the blank back of an odd page count.
    pub pages: Vec<u32>,
    pub back: bool,
    /// 1-based.
    pub copy: u32,
}

/// Pages printed, in order, from `pageRanges` (cut at the last page, as printers do).
pub fn selected_pages(config: &PrintJobConfiguration, document_pages: u32) -> Vec<u32> {
    match config.page_ranges.as_deref() {
        None | Some([]) => (1..=document_pages).collect(),
        Some(ranges) => ranges
            .iter()
            .flat_map(|r| r.start.max(1)..=r.end.min(document_pages as i64))
            .map(|p| p as u32)
            .collect(),
    }
}

pub fn pages_per_sheet(config: &PrintJobConfiguration) -> u32 {
    config.pages_per_sheet.unwrap_or(1).max(1) as u32
}

pub fn duplex(config: &PrintJobConfiguration) -> bool {
    matches!(
        config.duplex_mode,
        Some(PrintDuplexMode::FlipOnLongEdge | PrintDuplexMode::FlipOnShortEdge)
    )
}

/// The short-edge back side is imaged upside down relative to its front.
pub fn back_turned_half(config: &PrintJobConfiguration) -> bool {
    config.duplex_mode == Some(PrintDuplexMode::FlipOnShortEdge)
}

/// Every side in output order, copies and collation applied.
pub fn sides(config: &PrintJobConfiguration, selected: &[u32], collate: bool) -> Vec<ExpectedSide> {
    let per_sheet = pages_per_sheet(config) as usize;
    let mut faces: Vec<Vec<u32>> = selected.chunks(per_sheet).map(<[u32]>::to_vec).collect();
    let sides_per_sheet = if duplex(config) { 2 } else { 1 };
    if faces.len() % sides_per_sheet == 1 {
        faces.push(Vec::new());
    }
    let copies = config.copies.unwrap_or(1).max(1) as u32;
    let side = |face: usize, copy: u32| ExpectedSide {
        pages: faces[face].clone(),
        back: sides_per_sheet == 2 && face % 2 == 1,
        copy: copy + 1,
    };
    let mut out = Vec::new();
    if collate {
        for copy in 0..copies {
            out.extend((0..faces.len()).map(|face| side(face, copy)));
        }
    } else {
        for sheet in (0..faces.len()).step_by(sides_per_sheet) {
            for copy in 0..copies {
                out.extend((sheet..sheet + sides_per_sheet).map(|face| side(face, copy)));
            }
        }
    }
    out
}

/// Columns and rows of an n-up grid: the longer side of the area takes the larger count.
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

/// The (column, row) of the `index`-th page of a sheet: the layout names the corner the first
/// page takes and the turn the order follows ("clockwise from top-left" moves right first).
pub fn cell(index: u32, (cols, rows): (u32, u32), layout: Layout) -> (u32, u32) {
    let (from_left, from_top, horizontal_first) = match layout {
        Layout::CounterclockwiseFromTopLeft => (true, true, false),
        Layout::CounterclockwiseFromTopRight => (false, true, true),
        Layout::ClockwiseFromTopRight => (false, true, false),
        Layout::CounterclockwiseFromBottomLeft => (true, false, true),
        Layout::ClockwiseFromBottomLeft => (true, false, false),
        Layout::CounterclockwiseFromBottomRight => (false, false, false),
        Layout::ClockwiseFromBottomRight => (false, false, true),
        Layout::ClockwiseFromTopLeft | Layout::UnknownFutureValue => (true, true, true),
    };
    let (along, across) = if horizontal_first {
        (index % cols, index / cols)
    } else {
        (index / rows, index % rows)
    };
    (
        if from_left { along } else { cols - 1 - along },
        if from_top { across } else { rows - 1 - across },
    )
}

/// Margins in points (top, bottom, left, right) as the job sets them; the printer may widen
/// them to its unprintable border, which the verifier does not know.
pub fn job_margins(config: &PrintJobConfiguration) -> [f64; 4] {
    let m = config.margin.unwrap_or_default();
    [m.top, m.bottom, m.left, m.right].map(|v| v.unwrap_or(0).max(0) as f64 * 72.0 / 25400.0)
}

/// The unprintable border a printer may add to the job's margins, per edge, points (¼ inch:
/// the widest office printers have).
pub const HARDWARE_MARGIN_ALLOWANCE: f64 = 18.0;

fn fit(page: (f64, f64), cell: (f64, f64)) -> f64 {
    (cell.0 / page.0).min(cell.1 / page.1)
}

/// How the content area is turned on the sheet: the job's orientation, or for n-up the turn
/// whose cells fit the test page (of `page` points) larger.
pub fn area_turn(
    config: &PrintJobConfiguration,
    sheet_pt: (f64, f64),
    page: (f64, f64),
) -> AreaTurn {
    match config.orientation {
        Some(PrintOrientation::Portrait) => AreaTurn::None,
        Some(PrintOrientation::Landscape) => AreaTurn::Ccw90,
        Some(PrintOrientation::ReverseLandscape) => AreaTurn::Cw90,
        Some(PrintOrientation::ReversePortrait) => AreaTurn::Half,
        _ if pages_per_sheet(config) > 1 => {
            let [top, bottom, left, right] = job_margins(config);
            let printable = (sheet_pt.0 - left - right, sheet_pt.1 - top - bottom);
            let fit_for = |area: (f64, f64)| {
                let (cols, rows) = grid(pages_per_sheet(config), area.0 > area.1);
                fit(page, (area.0 / cols as f64, area.1 / rows as f64))
            };
            if fit_for((printable.1, printable.0)) > fit_for(printable) + 1e-9 {
                AreaTurn::Ccw90
            } else {
                AreaTurn::None
            }
        }
        _ => AreaTurn::None,
    }
}

/// The range of sheet points per page point a correct printer may use, given that its own
/// border may add up to [`HARDWARE_MARGIN_ALLOWANCE`] to each margin. `None` when the scale
/// `fit_pdf`: a PDF job with `fitPdfToPage`, which fits whatever the scaling says.
pub fn scale_range(
    config: &PrintJobConfiguration,
    (sheet_pt, page): ((f64, f64), (f64, f64)),
    turn: AreaTurn,
    fit_pdf: bool,
) -> (f64, f64) {
    let per_sheet = pages_per_sheet(config);
    let [top, bottom, left, right] = job_margins(config);
    let area = |extra: f64| {
        let printable = (
            sheet_pt.0 - left - right - 2.0 * extra,
            sheet_pt.1 - top - bottom - 2.0 * extra,
        );
        let area = if turn.swaps_axes() {
            (printable.1, printable.0)
        } else {
            printable
        };
        let (cols, rows) = grid(per_sheet, area.0 > area.1);
        (area.0 / cols as f64, area.1 / rows as f64)
    };
    let media = if turn.swaps_axes() {
        (sheet_pt.1, sheet_pt.0)
    } else {
        sheet_pt
    };
    let factor = |cell: (f64, f64)| {
        let fill = (cell.0 / page.0).max(cell.1 / page.1);
        let fit = fit(page, cell);
        let larger = page.0 > media.0 + 1.0 || page.1 > media.1 + 1.0;
        match config.scaling {
            _ if fit_pdf => fit,
            Some(PrintScaling::Fill) => fill,
            _ if per_sheet > 1 => fit,
            Some(PrintScaling::Fit) => fit,
            Some(PrintScaling::None) => 1.0,
            Some(PrintScaling::ShrinkToFit) => fit.min(1.0),
            _ if larger => fit,
            _ => 1.0,
        }
    };
    let (a, b) = (factor(area(HARDWARE_MARGIN_ALLOWANCE)), factor(area(0.0)));
    let (low, high) = (a.min(b), a.max(b));
    // A job that asks for no margins may print borderless, and `auto` fills a borderless
    // sheet (PWG 5100.16) instead of fitting it; a printer that cannot print borderless keeps
    // its border and fits.
    let larger = page.0 > media.0 + 1.0 || page.1 > media.1 + 1.0;
    let auto = matches!(config.scaling, None | Some(PrintScaling::Auto));
    if auto && larger && per_sheet == 1 && !fit_pdf && asks_no_margins(config) {
        let cell = area(0.0);
        return (low, high.max((cell.0 / page.0).max(cell.1 / page.1)));
    }
    (low, high)
}

/// Whether the job sets every margin, to zero.
fn asks_no_margins(config: &PrintJobConfiguration) -> bool {
    config.margin.is_some_and(|m| {
        [m.top, m.bottom, m.left, m.right]
            .iter()
            .all(|v| *v == Some(0))
    })
}
