//! End-to-end checks of every engine step: the generated test document goes through the real
//! renderer at 72 dpi (one pixel per point), and its marks must land at hand-computed pixels.

use super::testpage::{BOTTOM_LEFT_RGB, MARK, MARK_INSET, TOP_LEFT_RGB, TOP_RIGHT_RGB, page_rgb};
use super::*;
use image::RgbImage;
use printlab_ticket::{
    ColorMode, Margins, NupLayout, Orientation, PageRange, Quality, Scaling as ScalingRequest,
    Sides, Ticket,
};
use std::sync::Mutex;

const A4: (f64, f64) = (595.2756, 841.8898);
/// A4 at 72 dpi, rounded as PWG sizes are.
const SHEET: (f64, f64) = (595.0, 842.0);

fn profile() -> DeviceProfile {
    DeviceProfile {
        hardware_margins: EdgeMicrons::default(),
        dpis: vec![72, 150],
        default_dpi: 72,
        quality_dpi: None,
        ..DeviceProfile::default()
    }
}

#[derive(Debug)]
struct Rendered {
    manifest: Manifest,
    images: Vec<RgbImage>,
    gray: Vec<bool>,
    progress: Vec<SheetProgress>,
}

fn render_pdf(pdf: &[u8], config: Ticket) -> Result<Rendered, RenderError> {
    render_bytes(pdf, PDF, config)
}

fn render_bytes(bytes: &[u8], content_type: &str, config: Ticket) -> Result<Rendered, RenderError> {
    let dir = tempfile::tempdir().unwrap();
    let progress = Mutex::new(Vec::new());
    let manifest = render_job(&JobRequest {
        document: bytes,
        content_type,
        ticket: &config,
        profile: &profile(),
        out_dir: dir.path(),
        cancel: &CancellationToken::new(),
        on_sheet: &|p| progress.lock().unwrap().push(p),
    })?;
    let mut images = Vec::new();
    let mut gray = Vec::new();
    for side in &manifest.sides {
        let img = image::open(dir.path().join(&side.file)).unwrap();
        gray.push(img.color() == image::ColorType::L8);
        images.push(img.into_rgb8());
    }
    assert!(dir.path().join("manifest.json").exists());
    Ok(Rendered {
        manifest,
        images,
        gray,
        progress: progress.into_inner().unwrap(),
    })
}

fn testpages(n: usize) -> Vec<u8> {
    testpage::generate(&vec![A4; n]).unwrap()
}

/// Centre of the pixels within a small tolerance of `rgb`, if there are enough of them to be a
/// mark rather than anti-aliasing.
fn find(img: &RgbImage, rgb: [u8; 3]) -> Option<(f64, f64)> {
    let (mut sx, mut sy, mut n) = (0.0, 0.0, 0usize);
    for (x, y, p) in img.enumerate_pixels() {
        if p.0
            .iter()
            .zip(rgb)
            .all(|(&a, b)| (a as i32 - b as i32).abs() <= 8)
        {
            sx += x as f64 + 0.5;
            sy += y as f64 + 0.5;
            n += 1;
        }
    }
    (n >= 16).then(|| (sx / n as f64, sy / n as f64))
}

fn assert_near(found: Option<(f64, f64)>, expected: (f64, f64), what: &str) {
    let found = found.unwrap_or_else(|| panic!("{what}: mark not found"));
    assert!(
        (found.0 - expected.0).abs() <= 1.5 && (found.1 - expected.1).abs() <= 1.5,
        "{what}: found at {found:?}, expected {expected:?}"
    );
}

/// Where a page-space point lands when the page is scaled by `k` about the sheet's centre.
fn scaled(k: f64, p: (f64, f64)) -> (f64, f64) {
    let (cx, cy) = (A4.0 / 2.0, A4.1 / 2.0);
    (cx + (p.0 - A4.0 / 2.0) * k, cy + (p.1 - A4.1 / 2.0) * k)
}

const MARK_CENTRE: f64 = MARK_INSET + MARK / 2.0;

#[test]
fn a_page_on_its_own_size_lands_one_to_one() {
    let r = render_pdf(&testpages(1), Ticket::default()).unwrap();
    assert_eq!(r.images.len(), 1);
    let img = &r.images[0];
    assert_eq!(
        (img.width(), img.height()),
        (SHEET.0 as u32, SHEET.1 as u32)
    );
    assert_near(
        find(img, TOP_LEFT_RGB),
        (MARK_CENTRE, MARK_CENTRE),
        "top-left",
    );
    assert_near(
        find(img, TOP_RIGHT_RGB),
        (A4.0 - MARK_CENTRE, MARK_CENTRE),
        "top-right",
    );
    assert_near(
        find(img, BOTTOM_LEFT_RGB),
        (MARK_CENTRE, A4.1 - MARK_CENTRE),
        "bottom-left",
    );
    assert_near(find(img, page_rgb(1)), (A4.0 / 2.0, A4.1 / 2.0), "centre");
    assert_eq!(r.manifest.sides[0].source_pages, vec![1]);
    assert_eq!(r.manifest.sides[0].sha256.len(), 64);
}

#[test]
fn job_margins_shrink_the_page_into_the_printable_area() {
    let inch = Some(25_400);
    let config = Ticket {
        margins: Margins {
            top: inch,
            bottom: inch,
            left: inch,
            right: inch,
        },
        scaling: Some(ScalingRequest::Fit),
        ..Default::default()
    };
    let r = render_pdf(&testpages(1), config).unwrap();
    let k = ((A4.0 - 144.0) / A4.0).min((A4.1 - 144.0) / A4.1);
    let img = &r.images[0];
    assert_near(
        find(img, TOP_LEFT_RGB),
        scaled(k, (MARK_CENTRE, MARK_CENTRE)),
        "top-left",
    );
    assert_near(
        find(img, TOP_RIGHT_RGB),
        scaled(k, (A4.0 - MARK_CENTRE, MARK_CENTRE)),
        "top-right",
    );
    // Nothing is printed in the margin.
    for y in 0..SHEET.1 as u32 {
        for x in (0..70).chain(526..595) {
            assert_eq!(img.get_pixel(x, y).0, [255, 255, 255], "ink at {x},{y}");
        }
    }
}

#[test]
fn scaling_modes_give_their_factors() {
    // A half-size page (A6-ish) on A4: fit doubles it, none and shrinkToFit leave it alone.
    let small = testpage::generate(&[(A4.0 / 2.0, A4.1 / 2.0)]).unwrap();
    for (scaling, k) in [
        (ScalingRequest::Fit, 2.0),
        (ScalingRequest::Fill, 2.0),
        (ScalingRequest::ShrinkToFit, 1.0),
        (ScalingRequest::None, 1.0),
        (ScalingRequest::Auto, 1.0),
    ] {
        let config = Ticket {
            scaling: Some(scaling),
            ..Default::default()
        };
        let r = render_pdf(&small, config).unwrap();
        let (x, y) = find(&r.images[0], TOP_LEFT_RGB).unwrap();
        let expected = (
            A4.0 / 2.0 - (A4.0 / 4.0 - MARK_CENTRE) * k,
            A4.1 / 2.0 - (A4.1 / 4.0 - MARK_CENTRE) * k,
        );
        assert_near(Some((x, y)), expected, &format!("{scaling:?}"));
        let block = find(&r.images[0], page_rgb(1)).unwrap();
        assert_near(
            Some(block),
            (A4.0 / 2.0, A4.1 / 2.0),
            &format!("{scaling:?} centre"),
        );
    }
}

/// `print-scaling=auto` (PWG 5100.16): a page no larger than the media prints at its size (even
/// an A4 page on A4 with margins, which clip it); a larger one fits the printable area, or fills
/// the sheet when the media is borderless. The scale is read from the size of the page's centre
/// block, which stays on the sheet whatever fill crops.
#[test]
fn auto_scaling_follows_the_pwg_rule() {
    let auto = Ticket {
        scaling: Some(ScalingRequest::Auto),
        ..Default::default()
    };
    let margin_pt = 36.0;
    let with_margins = DeviceProfile {
        hardware_margins: EdgeMicrons::uniform(12_700),
        ..profile()
    };
    let large = (A4.0 * 2.0, A4.1 * 1.5);
    let printable = (A4.0 - 2.0 * margin_pt, A4.1 - 2.0 * margin_pt);
    let fit = (printable.0 / large.0).min(printable.1 / large.1);
    let fill = (A4.0 / large.0).max(A4.1 / large.1);
    for (what, page, device, k) in [
        ("same size, margins: none", A4, with_margins.clone(), 1.0),
        (
            "smaller, margins: none",
            (A4.0 / 2.0, A4.1 / 2.0),
            with_margins.clone(),
            1.0,
        ),
        ("larger, margins: fit", large, with_margins.clone(), fit),
        ("larger, borderless: fill", large, profile(), fill),
    ] {
        let dir = tempfile::tempdir().unwrap();
        let document = testpage::generate(&[page]).unwrap();
        let manifest = render_job(&JobRequest {
            document: &document,
            content_type: PDF,
            ticket: &auto,
            profile: &device,
            out_dir: dir.path(),
            cancel: &CancellationToken::new(),
            on_sheet: &|_| {},
        })
        .unwrap();
        let img = image::open(dir.path().join(&manifest.sides[0].file))
            .unwrap()
            .into_rgb8();
        let block = img.pixels().filter(|p| p.0 == page_rgb(1)).count() as f64;
        let printed_k = block.sqrt() / testpage::CENTRE_BLOCK;
        assert!(
            (printed_k - k).abs() < 0.03,
            "{what}: printed at {printed_k:.3}, expected {k:.3}"
        );
    }
}

#[test]
fn four_up_cells_follow_the_layout() {
    let quadrant = |col: f64, row: f64| {
        (
            A4.0 / 4.0 * (1.0 + 2.0 * col),
            A4.1 / 4.0 * (1.0 + 2.0 * row),
        )
    };
    let cases = [
        (
            NupLayout::ClockwiseFromTopLeft,
            [(0.0, 0.0), (1.0, 0.0), (0.0, 1.0), (1.0, 1.0)],
        ),
        (
            NupLayout::CounterclockwiseFromTopLeft,
            [(0.0, 0.0), (0.0, 1.0), (1.0, 0.0), (1.0, 1.0)],
        ),
        (
            NupLayout::ClockwiseFromBottomRight,
            [(1.0, 1.0), (0.0, 1.0), (1.0, 0.0), (0.0, 0.0)],
        ),
    ];
    for (layout, cells) in cases {
        let config = Ticket {
            pages_per_sheet: Some(4),
            layout: Some(layout),
            ..Default::default()
        };
        let r = render_pdf(&testpages(5), config).unwrap();
        assert_eq!(r.manifest.sides.len(), 2);
        assert_eq!(r.manifest.sides[0].source_pages, vec![1, 2, 3, 4]);
        assert_eq!(r.manifest.sides[1].source_pages, vec![5]);
        for (page, (col, row)) in cells.iter().enumerate() {
            assert_near(
                find(&r.images[0], page_rgb(page + 1)),
                quadrant(*col, *row),
                &format!("{layout:?} page {}", page + 1),
            );
        }
    }
}

#[test]
fn two_up_turns_portrait_pages_onto_a_landscape_area() {
    let config = Ticket {
        pages_per_sheet: Some(2),
        ..Default::default()
    };
    let r = render_pdf(&testpages(2), config).unwrap();
    let img = &r.images[0];
    let first = find(img, page_rgb(1)).unwrap();
    let second = find(img, page_rgb(2)).unwrap();
    // Read with the sheet turned clockwise, page 1 is on the left: physically, the bottom half.
    assert_near(Some(first), (A4.0 / 2.0, A4.1 * 3.0 / 4.0), "page 1");
    assert_near(Some(second), (A4.0 / 2.0, A4.1 / 4.0), "page 2");
    // Each page is turned +90°: its top-left mark is left of and below its centre.
    let red: Vec<(u32, u32)> = img
        .enumerate_pixels()
        .filter(|(_, _, p)| p.0 == TOP_LEFT_RGB)
        .map(|(x, y, _)| (x, y))
        .collect();
    assert!(
        red.iter()
            .any(|&(x, y)| (x as f64) < first.0 && (y as f64) > first.1 + 50.0)
    );
}

#[test]
fn orientation_turns_content_the_ipp_way() {
    // The page's top-left mark ends up in the named corner region of the sheet.
    let cases = [
        (Orientation::Portrait, (false, false)),
        (Orientation::Landscape, (false, true)),
        (Orientation::ReverseLandscape, (true, false)),
        (Orientation::ReversePortrait, (true, true)),
    ];
    // Shrink-to-fit: `auto` would fill the test profile's borderless sheet with a page turned
    // larger than it (PWG 5100.16) and crop the marks this test looks for.
    for (orientation, (right, bottom)) in cases {
        let config = Ticket {
            orientation: Some(orientation),
            scaling: Some(ScalingRequest::ShrinkToFit),
            ..Default::default()
        };
        let r = render_pdf(&testpages(1), config).unwrap();
        let (x, y) = find(&r.images[0], TOP_LEFT_RGB).unwrap();
        assert_eq!(
            (x > A4.0 / 2.0, y > A4.1 / 2.0),
            (right, bottom),
            "{orientation:?}"
        );
    }
    // Landscape on portrait media: a portrait page shrinks to the sheet's width over its height.
    let config = Ticket {
        orientation: Some(Orientation::Landscape),
        scaling: Some(ScalingRequest::ShrinkToFit),
        ..Default::default()
    };
    let r = render_pdf(&testpages(1), config).unwrap();
    let k = A4.0 / A4.1;
    let (x, y) = find(&r.images[0], TOP_LEFT_RGB).unwrap();
    // The page sits centred on the 842x595 landscape area; the area's x runs up the sheet.
    let area_x = A4.1 / 2.0 - A4.0 * k / 2.0 + MARK_CENTRE * k;
    let area_y = MARK_CENTRE * k;
    let expected = (area_y, A4.1 - area_x);
    assert_near(Some((x, y)), (expected.0, expected.1), "landscape mark");
}

#[test]
fn landscape_pages_are_turned_automatically() {
    let pdf = testpage::generate(&[(A4.1, A4.0)]).unwrap();
    let config = Ticket {
        scaling: Some(ScalingRequest::None),
        ..Default::default()
    };
    let r = render_pdf(&pdf, config).unwrap();
    // +90°: the page's top edge runs down the sheet's left edge.
    assert_near(
        find(&r.images[0], TOP_LEFT_RGB),
        (MARK_CENTRE, A4.1 - MARK_CENTRE),
        "top-left",
    );
    assert_near(
        find(&r.images[0], TOP_RIGHT_RGB),
        (MARK_CENTRE, MARK_CENTRE),
        "top-right",
    );
}

#[test]
fn duplex_backs_and_blank_last_back() {
    for (mode, back_turned) in [(Sides::LongEdge, false), (Sides::ShortEdge, true)] {
        let config = Ticket {
            sides: Some(mode),
            ..Default::default()
        };
        let r = render_pdf(&testpages(3), config).unwrap();
        let faces: Vec<(usize, bool)> =
            r.manifest.sides.iter().map(|s| (s.sheet, s.back)).collect();
        assert_eq!(faces, vec![(1, false), (1, true), (2, false), (2, true)]);
        assert!(r.manifest.sides[3].source_pages.is_empty());
        assert!(
            r.images[3].pixels().all(|p| p.0 == [255, 255, 255]),
            "blank back"
        );
        assert_eq!(r.manifest.media_sheets, 2);
        assert_eq!(r.manifest.impressions, 3);
        let expected = if back_turned {
            (A4.0 - MARK_CENTRE, A4.1 - MARK_CENTRE)
        } else {
            (MARK_CENTRE, MARK_CENTRE)
        };
        assert_near(
            find(&r.images[1], TOP_LEFT_RGB),
            expected,
            &format!("{mode:?} back"),
        );
        assert_near(
            find(&r.images[0], TOP_LEFT_RGB),
            (MARK_CENTRE, MARK_CENTRE),
            "front",
        );
        let sheets: Vec<usize> = r.progress.iter().map(|p| p.sheets_completed).collect();
        assert_eq!(sheets, vec![1, 2]);
        assert_eq!(r.progress[1].impressions_completed, 3);
    }
}

#[test]
fn copies_collated_and_not() {
    for (collate, order) in [(true, [1, 2, 1, 2]), (false, [1, 1, 2, 2])] {
        let config = Ticket {
            copies: Some(2),
            collate: Some(collate),
            ..Default::default()
        };
        let r = render_pdf(&testpages(2), config).unwrap();
        let pages: Vec<usize> = r.manifest.sides.iter().map(|s| s.source_pages[0]).collect();
        assert_eq!(pages, order);
        let first = &r.manifest.sides[0];
        let same = r
            .manifest
            .sides
            .iter()
            .find(|s| s.copy == 2 && s.source_pages == first.source_pages);
        assert_eq!(same.unwrap().sha256, first.sha256);
        assert_eq!(r.progress.len(), 4);
        let mut names: Vec<&String> = r.manifest.sides.iter().map(|s| &s.file).collect();
        let in_order = names.clone();
        names.sort();
        assert_eq!(names, in_order, "file names sort in output order");
    }
}

#[test]
fn page_ranges_pick_pages_and_refuse_what_ipp_refuses() {
    let ranges = |list: &[(i64, i64)]| Ticket {
        page_ranges: list
            .iter()
            .map(|&(start, end)| PageRange { start, end })
            .collect(),
        ..Default::default()
    };
    let r = render_pdf(&testpages(4), ranges(&[(1, 1), (3, 4)])).unwrap();
    let pages: Vec<usize> = r.manifest.sides.iter().map(|s| s.source_pages[0]).collect();
    assert_eq!(pages, vec![1, 3, 4]);
    assert!(find(&r.images[1], page_rgb(3)).is_some());
    // Out of order or overlapping (RFC 8011 §5.2.7), or past the last page: refused, named.
    for bad in [&[(3, 4), (1, 1)][..], &[(1, 3), (2, 4)], &[(9, 9)]] {
        let refused = render_pdf(&testpages(4), ranges(bad));
        assert!(
            matches!(
                refused,
                Err(RenderError::InvalidOption {
                    option: "pageRanges",
                    ..
                })
            ),
            "{bad:?}: {refused:?}"
        );
    }
}

#[test]
fn grayscale_is_luminance_black_and_white_is_a_threshold_and_colour_is_rgb() {
    let render = |mode| {
        let config = Ticket {
            color: Some(mode),
            ..Default::default()
        };
        let r = render_pdf(&testpages(1), config).unwrap();
        assert!(r.gray[0], "{mode:?} gives 8-bit gray");
        let at = |x: f64, y: f64| r.images[0].get_pixel(x as u32, y as u32).0;
        // The red corner mark (luma 76) and page 1's orange centre square (240, 160, 0: luma 166).
        let (red, orange) = (at(MARK_CENTRE, MARK_CENTRE), at(A4.0 / 2.0, A4.1 / 2.0));
        (r, red, orange)
    };
    let (_, red, orange) = render(ColorMode::Grayscale);
    assert!(
        red[0].abs_diff(76) <= 2 && red[0] == red[1] && red[1] == red[2],
        "{red:?}"
    );
    assert!(orange[0].abs_diff(166) <= 2, "{orange:?}");

    let (r, red, orange) = render(ColorMode::BlackAndWhite);
    assert_eq!((red, orange), ([0; 3], [255; 3]));
    assert!(
        r.images[0]
            .pixels()
            .all(|p| p.0 == [0; 3] || p.0 == [255; 3]),
        "black and white has no grays, anti-aliased edges included"
    );
    assert_eq!(
        r.manifest.settings.as_ref().unwrap().color,
        ColorOutput::BlackAndWhite
    );

    let r = render_pdf(&testpages(1), Ticket::default()).unwrap();
    assert!(!r.gray[0]);
}

#[test]
fn low_quality_turns_anti_aliasing_off() {
    let distinct = |quality| {
        let config = Ticket {
            quality: Some(quality),
            ..Default::default()
        };
        let r = render_pdf(&testpages(1), config).unwrap();
        // The top fifth: rulers, corner marks and the title, away from the gradient image
        // whose own colours would swamp the count.
        let top = r.images[0].height() / 5;
        let mut colours: Vec<[u8; 3]> = r.images[0]
            .enumerate_pixels()
            .filter(|(_, y, _)| *y < top)
            .map(|(_, _, p)| p.0)
            .collect();
        colours.sort();
        colours.dedup();
        colours.len()
    };
    let aliased = distinct(Quality::Low);
    let smooth = distinct(Quality::High);
    assert!(
        aliased * 2 < smooth,
        "low {aliased} vs high {smooth} colours"
    );
}

/// A PNG with alpha prints as ink on white paper: its left half is fully transparent black, its
/// right half half-opaque red. Square, so the engine does not turn it.
#[test]
fn transparent_png_areas_print_over_white_paper() {
    let side = 240u32;
    let half_opaque = [200u8, 30, 60, 128];
    let rgba: Vec<u8> = (0..side * side)
        .flat_map(|i| {
            if i % side < side / 2 {
                [0, 0, 0, 0]
            } else {
                half_opaque
            }
        })
        .collect();
    let mut png_bytes = Vec::new();
    image::RgbaImage::from_raw(side, side, rgba)
        .unwrap()
        .write_to(
            &mut std::io::Cursor::new(&mut png_bytes),
            image::ImageFormat::Png,
        )
        .unwrap();
    let config = Ticket {
        scaling: Some(ScalingRequest::None),
        ..Default::default()
    };
    let r = render_bytes(&png_bytes, PNG, config).unwrap();
    let img = &r.images[0];
    // 240 px at the assumed 300 dpi is 57.6 pt, centred on the sheet.
    let (cx, cy) = (A4.0 / 2.0, A4.1 / 2.0);
    let quarter = 57.6 / 4.0;
    let transparent = img.get_pixel((cx - quarter) as u32, cy as u32).0;
    assert_eq!(
        transparent,
        [255, 255, 255],
        "fully transparent prints as paper"
    );
    let blended = img.get_pixel((cx + quarter) as u32, cy as u32).0;
    let alpha = half_opaque[3] as f64 / 255.0;
    for (channel, (&printed, &stored)) in blended.iter().zip(&half_opaque[..3]).enumerate() {
        let expected = stored as f64 * alpha + 255.0 * (1.0 - alpha);
        assert!(
            (printed as f64 - expected).abs() <= 1.5,
            "channel {channel}: printed {printed}, expected {expected:.1} (stored {stored})"
        );
    }
}

#[test]
fn raster_formats_keep_their_own_size() {
    // 144x72 pixels at 144 dpi is 72x36 points: centred, unscaled, on the sheet.
    let (w, h) = (144u32, 72u32);
    let rgb: Vec<u8> = (0..w * h).flat_map(|_| [200u8, 30, 60]).collect();
    let pwg = source::tests::pwg_file(w, h, 144, &rgb);
    let gray: Vec<u8> = vec![90; (w * h) as usize];
    let urf = source::tests::urf_file(w, h, 144, &gray);
    let mut png_bytes = Vec::new();
    RgbImage::from_raw(w, h, rgb.clone())
        .unwrap()
        .write_to(
            &mut std::io::Cursor::new(&mut png_bytes),
            image::ImageFormat::Png,
        )
        .unwrap();
    for (bytes, kind, colour) in [(&pwg, PWG_RASTER, [200, 30, 60]), (&urf, URF, [90, 90, 90])] {
        let r = render_bytes(bytes, kind, Ticket::default()).unwrap();
        let (x, y) = find(&r.images[0], colour).unwrap();
        assert_near(Some((x, y)), (A4.0 / 2.0, A4.1 / 2.0), kind);
        let count = r.images[0].pixels().filter(|p| p.0 == colour).count();
        assert!(
            (count as i64 - 72 * 36).abs() <= 72 + 36,
            "{kind}: {count} px"
        );
    }
    // This PNG declares no resolution, so it is a 300 dpi photo; the landscape image is turned onto the
    // portrait sheet and fit scaling makes it span the sheet's height.
    let config = Ticket {
        scaling: Some(ScalingRequest::Fit),
        ..Default::default()
    };
    let r = render_bytes(&png_bytes, PNG, config).unwrap();
    let count = r.images[0]
        .pixels()
        .filter(|p| p.0 == [200, 30, 60])
        .count() as f64;
    let expected = A4.1 * A4.1 / 2.0;
    assert!(
        (count - expected).abs() / expected < 0.02,
        "{count} vs {expected}"
    );
}

#[test]
fn bad_documents_get_typed_errors() {
    let pdf = testpages(2);
    let config = Ticket::default;
    assert!(matches!(
        render_pdf(b"%PDF-1.7\nnothing else", config()),
        Err(RenderError::Unprintable { .. })
    ));
    assert!(matches!(
        render_pdf(&pdf[..pdf.len() / 3], config()),
        Err(RenderError::Unprintable { .. }) | Ok(_)
    ));
    assert!(matches!(
        render_bytes(&pdf, "application/msword", config()),
        Err(RenderError::UnsupportedFormat(_))
    ));
    assert!(matches!(
        render_bytes(&pdf, JPEG, config()),
        Err(RenderError::Unprintable { .. })
    ));
    let err = render_bytes(&pdf, "text/plain", config()).unwrap_err();
    assert_eq!(err.job_state_reason(), "document-format-error");
}

#[test]
fn cancellation_stops_the_job() {
    let dir = tempfile::tempdir().unwrap();
    let cancel = CancellationToken::new();
    cancel.cancel();
    let result = render_job(&JobRequest {
        document: &testpages(3),
        content_type: PDF,
        ticket: &Ticket::default(),
        profile: &profile(),
        out_dir: dir.path(),
        cancel: &cancel,
        on_sheet: &|_| panic!("no sheet may finish"),
    });
    assert!(matches!(result, Err(RenderError::Cancelled)));
}

#[test]
fn native_renders_each_page_at_its_own_size() {
    let dir = tempfile::tempdir().unwrap();
    let pdf = testpage::generate(&[A4, (A4.1, A4.0)]).unwrap();
    let m = render_native(&pdf, PDF, 144, &[], dir.path(), &CancellationToken::new()).unwrap();
    let sizes: Vec<(u32, u32)> = m.sides.iter().map(|s| (s.width, s.height)).collect();
    assert_eq!(sizes, vec![(1191, 1684), (1684, 1191)]);
    assert!(dir.path().join("page-1.png").exists() && dir.path().join("page-2.png").exists());
    let img = image::open(dir.path().join("page-2.png"))
        .unwrap()
        .into_rgb8();
    assert_near(
        find(&img, TOP_LEFT_RGB),
        (MARK_CENTRE * 2.0, MARK_CENTRE * 2.0),
        "native",
    );
}

#[test]
fn damaged_documents_never_panic() {
    use rand::{RngExt, SeedableRng};
    let pdf = testpages(2);
    let pwg = source::tests::pwg_file(64, 32, 72, &[7; 64 * 32 * 3]);
    let mut rng = rand::rngs::StdRng::seed_from_u64(5);
    for round in 0..40 {
        let (original, kind) = if round % 2 == 0 {
            (&pdf, PDF)
        } else {
            (&pwg, PWG_RASTER)
        };
        let mut bytes = original.clone();
        for _ in 0..8 {
            let at = rng.random_range(8..bytes.len());
            bytes[at] = rng.random();
        }
        bytes.truncate(rng.random_range(bytes.len() / 2..=bytes.len()));
        // Either outcome is fine; what matters is a typed result instead of a panic.
        let _ = render_bytes(&bytes, kind, Ticket::default());
    }
}

fn count_pdf(pdf: &[u8], config: &Ticket, out_dir: &Path) -> Result<JobCount, RenderError> {
    count_job(&JobRequest {
        document: pdf,
        content_type: PDF,
        ticket: config,
        profile: &profile(),
        out_dir,
        cancel: &CancellationToken::new(),
        on_sheet: &|_| {},
    })
}

#[test]
fn counting_a_job_agrees_with_rendering_it() {
    let config = Ticket {
        sides: Some(Sides::LongEdge),
        copies: Some(2),
        ..Default::default()
    };
    let pdf = testpages(5);
    let rendered = render_pdf(&pdf, config.clone()).unwrap().manifest;
    let dir = tempfile::tempdir().unwrap();
    let counted = count_pdf(&pdf, &config, dir.path()).unwrap();
    assert_eq!(
        counted,
        JobCount {
            media_sheets: rendered.media_sheets,
            impressions: rendered.impressions,
            stopped_at_limit: None,
        }
    );
    // 5 pages duplex: 3 sheets with a blank last back, twice.
    assert_eq!(
        counted,
        JobCount {
            media_sheets: 6,
            impressions: 10,
            stopped_at_limit: None,
        }
    );
    assert!(std::fs::read_dir(dir.path()).unwrap().next().is_none());
    assert!(matches!(
        count_pdf(b"%PDF-1.7 not a pdf", &config, dir.path()),
        Err(RenderError::Unprintable { .. })
    ));
}

/// Renders `bytes` with `limits` and reads back each side, raw: the pixels and channel count.
fn render_with_limits(
    bytes: &[u8],
    content_type: &str,
    config: &Ticket,
    limits: &workers::Limits,
) -> Vec<image::DynamicImage> {
    let dir = tempfile::tempdir().unwrap();
    let manifest = dispatch::render_job(
        &JobRequest {
            document: bytes,
            content_type,
            ticket: config,
            profile: &profile(),
            out_dir: dir.path(),
            cancel: &CancellationToken::new(),
            on_sheet: &|_| {},
        },
        limits,
    )
    .unwrap();
    manifest
        .sides
        .iter()
        .map(|side| image::open(dir.path().join(&side.file)).unwrap())
        .collect()
}

/// A side drawn in bands (forced here with a budget of 37 rows, which no cell edge lines up
/// with) is the side drawn whole, up to the f32 rounding of anti-aliased edges: for n-up cells
/// crossing bands, short-edge backs turned half, grayscale, and raster documents.
#[test]
fn banded_sides_match_whole_sides() {
    let banded = workers::Limits {
        whole_side_pixels: 1_000,
        band_pixels: 595 * 37,
        ..workers::LIMITS
    };
    let mut png_bytes = Vec::new();
    RgbImage::from_fn(90, 60, |x, y| {
        image::Rgb([(x * 2) as u8, (y * 4) as u8, 90])
    })
    .write_to(
        &mut std::io::Cursor::new(&mut png_bytes),
        image::ImageFormat::Png,
    )
    .unwrap();
    let cases = [
        (testpages(3), PDF, Ticket::default()),
        (
            testpages(3),
            PDF,
            Ticket {
                sides: Some(Sides::ShortEdge),
                pages_per_sheet: Some(2),
                color: Some(ColorMode::Grayscale),
                ..Default::default()
            },
        ),
        (
            png_bytes,
            PNG,
            Ticket {
                scaling: Some(ScalingRequest::Fit),
                ..Default::default()
            },
        ),
    ];
    for (bytes, kind, config) in &cases {
        let whole = render_with_limits(bytes, kind, config, &workers::LIMITS);
        let bands = render_with_limits(bytes, kind, config, &banded);
        assert_eq!(whole.len(), bands.len(), "{kind} {config:?}");
        for (side, (w, b)) in whole.iter().zip(&bands).enumerate() {
            assert_eq!(w.color(), b.color(), "side {side} of {kind} {config:?}");
            let (w, b) = (w.to_rgb8(), b.to_rgb8());
            assert_eq!(w.dimensions(), b.dimensions());
            let differing = w
                .pixels()
                .zip(b.pixels())
                .filter(|(p, q)| p.0.iter().zip(q.0).any(|(&x, y)| x.abs_diff(y) > 24))
                .count();
            assert!(
                differing <= (w.width() * w.height()) as usize / 2000,
                "side {side} of {kind} {config:?}: {differing} pixels differ"
            );
            // The test page's marks are where the whole side has them.
            if let Some(mark) = find(&w, TOP_LEFT_RGB) {
                assert_near(
                    find(&b, TOP_LEFT_RGB),
                    mark,
                    &format!("side {side} of {kind}"),
                );
            }
        }
    }
}

/// A light side past a label's size (300 and 600 dpi A4, the photo printer's 1440 dpi side)
/// goes through the cache in bands; a label stays whole; a dense page stays whole until
/// memory forces bands: drawn again for each band, it would cost more than the cache saves.
#[test]
fn light_pages_are_drawn_in_cache_sized_bands() {
    let limits = &workers::LIMITS;
    let (document, _) = source::open(&testpages(1), PDF, &[PDF.to_string()]).unwrap();
    assert!(dispatch::light_pages(&document, [0], limits));
    let dense = workers::Limits {
        light_page_operators: 10,
        ..workers::LIMITS
    };
    assert!(!dispatch::light_pages(&document, [0], &dense));
    // 100x150 mm at 1440 dpi; A4 at 600 and 300 dpi; a 4x6 inch label at 203 dpi.
    for (width, height) in [(5669u32, 8504u32), (4961, 7016), (2480, 3508)] {
        let cache_rows = (limits.cache_band_pixels / u64::from(width)) as u32;
        assert_eq!(dispatch::band_rows(width, height, true, limits), cache_rows);
        assert_eq!(dispatch::band_rows(width, height, false, limits), height);
    }
    assert_eq!(dispatch::band_rows(812, 1218, true, limits), 1218);
    let memory_rows = (limits.band_pixels / 11906) as u32;
    assert_eq!(
        dispatch::band_rows(11906, 16838, false, limits),
        memory_rows
    );
    let cache_rows = (limits.cache_band_pixels / 11906) as u32;
    assert_eq!(dispatch::band_rows(11906, 16838, true, limits), cache_rows);
}

/// Converting to gray skips the weighing of white blocks: every pixel, white or not, in a
/// block or in the row's remainder, comes out as the luma formula gives it.
#[test]
fn gray_rows_match_the_luma_of_every_pixel() {
    // 29 pixels: three blocks of eight (white; white but one; noise) and five more.
    let mut src = vec![0xFF; 4 * 29];
    src[4 * 11..4 * 11 + 3].copy_from_slice(&[10, 200, 30]);
    for (i, pixel) in src.chunks_exact_mut(4).enumerate().skip(16) {
        pixel[..3].copy_from_slice(&[(i * 37) as u8, (i * 91) as u8, (i * 53) as u8]);
    }
    for color in [ColorOutput::Grayscale, ColorOutput::BlackAndWhite] {
        let mut dst = vec![0; 29];
        rasteriser::convert_row(&src, &mut dst, color);
        for (i, (&got, pixel)) in dst.iter().zip(src.chunks_exact(4)).enumerate() {
            let (r, g, b) = (pixel[0] as u32, pixel[1] as u32, pixel[2] as u32);
            let luma = ((299 * r + 587 * g + 114 * b + 500) / 1000) as u8;
            let want = match color {
                ColorOutput::BlackAndWhite if luma < 128 => 0,
                ColorOutput::BlackAndWhite => 255,
                _ => luma,
            };
            assert_eq!(got, want, "pixel {i} {:?} as {color:?}", &pixel[..3]);
        }
    }
}

/// Converting to colour drops each pixel's alpha and nothing else, in the four-pixel blocks
/// and in a row's remainder.
#[test]
fn colour_rows_are_every_pixel_without_its_alpha() {
    for pixels in [0, 1, 3, 4, 5, 8, 13, 29] {
        let src: Vec<u8> = (0..4 * pixels).map(|i| (i * 37 + 11) as u8).collect();
        let want: Vec<u8> = src
            .chunks_exact(4)
            .flat_map(|p| [p[0], p[1], p[2]])
            .collect();
        let mut dst = vec![0; 3 * pixels];
        rasteriser::convert_row(&src, &mut dst, ColorOutput::Color);
        assert_eq!(dst, want, "{pixels} pixels");
        // Each way of dropping alpha on its own: the shuffles leave a remainder of fewer
        // than four pixels to the byte moves.
        let mut moved = vec![0; 3 * pixels];
        rasteriser::rgb_by_moves(&src, &mut moved);
        assert_eq!(moved, want, "{pixels} pixels by moves");
        #[cfg(target_arch = "x86_64")]
        if std::arch::is_x86_feature_detected!("ssse3") {
            let mut shuffled = vec![0; 3 * pixels];
            // SAFETY: the processor has SSSE3, checked just above.
            let done = unsafe { rasteriser::rgb_by_shuffles(&src, &mut shuffled) };
            assert_eq!(done, pixels / 4 * 4);
            assert_eq!(
                shuffled[..3 * done],
                want[..3 * done],
                "{pixels} pixels shuffled"
            );
        }
    }
}

/// A side whose page leaves margins is drawn into the worker's buffer, which still holds the
/// previous side (a whole page, turned, its corner marks dark): the margins come out paper.
#[test]
fn margins_are_paper_after_a_side_that_filled_the_buffer() {
    use hayro::kurbo::Affine;
    use rasteriser::{Cell, SideJob, Worker, WorkerOptions};
    let (document, _) = source::open(&testpages(1), PDF, &[PDF.to_string()]).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let (width, height) = (827, 1169);
    let side = |name: &str, clip, turned_half| SideJob {
        width,
        height,
        band_rows: height,
        cells: vec![Cell {
            page: 0,
            page_to_pixels: Affine::scale(100.0 / 72.0),
            clip,
        }],
        turned_half,
        files: vec![dir.path().join(name)],
    };
    let mut worker = Worker::new(
        &document,
        WorkerOptions {
            color: ColorOutput::Grayscale,
            antialias: true,
            dpi: 100,
            format: PDF,
        },
    );
    let bands = side_bands::SideBands::new(1, 1);
    let stop = std::sync::atomic::AtomicBool::new(false);
    worker
        .side(
            &side("whole.png", (0, 0, width, height), true),
            &bands,
            &stop,
        )
        .unwrap();
    let whole = image::open(dir.path().join("whole.png"))
        .unwrap()
        .to_luma8();
    let clip = (100, 150, width - 100, height - 150);
    assert!(
        whole
            .enumerate_pixels()
            .any(|(x, y, p)| p.0[0] < 200
                && (x < clip.0 || x >= clip.2 || y < clip.1 || y >= clip.3)),
        "the first side leaves nothing dark where the second has margins"
    );
    worker
        .side(&side("margins.png", clip, false), &bands, &stop)
        .unwrap();
    let margins = image::open(dir.path().join("margins.png"))
        .unwrap()
        .to_luma8();
    for (x, y, p) in margins.enumerate_pixels() {
        if x < clip.0 || x >= clip.2 || y < clip.1 || y >= clip.3 {
            assert_eq!(p.0[0], 0xFF, "pixel {x},{y}");
        }
    }
}

/// The shipped printers' largest sheets print (in bands); absurd ones are refused.
#[test]
fn sheet_renderable_draws_the_line_at_absurd_sheets() {
    let media = |pwg_name: &str, width, height| printlab_ticket::Media {
        pwg_name: pwg_name.into(),
        width,
        height,
    };
    let a4 = media("iso_a4_210x297mm", 21000, 29700);
    let legal = media("na_legal_8.5x14in", 21590, 35560);
    assert!(sheet_renderable(&a4, 600));
    assert!(sheet_renderable(&a4, 1440));
    assert!(sheet_renderable(&legal, 1200));
    assert!(!sheet_renderable(&a4, 4800));
    assert!(!sheet_renderable(
        &media("roll_max_1000x1000in", 2_540_000, 2_540_000),
        72
    ));
}
