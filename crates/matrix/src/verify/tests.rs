//! Real jobs through the real renderer, verified clean; then the same outputs tampered with,
//! each defect caught by the check that names it.

use super::verify_output;
use crate::Finding;
use crate::document::{TestDocument, page_geometry, test_document};
use printlab_graph::{
    GraphEnum, IntegerRange, PrintColorMode as Colour, PrintDuplexMode as Duplex,
    PrintJobConfiguration, PrintMultipageLayout as Layout, PrintOrientation as Orientation,
    PrintScaling as Scaling, PrinterCapabilities,
};
use printlab_render::{DeviceProfile, JPEG, JobRequest, PDF, PNG, PWG_RASTER, URF};
use std::path::Path;
use tokio_util::sync::CancellationToken;

/// A configuration as `with_defaults` leaves it: every setting the verifier reads present.
fn effective(change: impl FnOnce(&mut PrintJobConfiguration)) -> PrintJobConfiguration {
    let mut config = PrintJobConfiguration {
        media_size: Some("A4".into()),
        dpi: Some(75),
        color_mode: Some(Colour::Color),
        copies: Some(1),
        collate: Some(true),
        duplex_mode: Some(Duplex::OneSided),
        pages_per_sheet: Some(1),
        multipage_layout: Some(Layout::ClockwiseFromTopLeft),
        scaling: Some(Scaling::Auto),
        ..Default::default()
    };
    change(&mut config);
    config
}

fn render(config: &PrintJobConfiguration, document: &TestDocument, out: &Path) {
    let ticket = printlab_mapping::ticket_from_graph(config).unwrap();
    let profile = DeviceProfile {
        dpis: vec![75, 150, 300, 600],
        ..Default::default()
    };
    printlab_render::render_job(&JobRequest {
        document: &document.bytes,
        content_type: &document.content_type,
        ticket: &ticket,
        profile: &profile,
        out_dir: out,
        cancel: &CancellationToken::new(),
        on_sheet: &|_| {},
    })
    .unwrap();
}

fn printed(
    content_type: &str,
    pages: u32,
    config: &PrintJobConfiguration,
) -> (TestDocument, tempfile::TempDir) {
    // A printer whose widest unprintable border is a quarter inch.
    let caps = PrinterCapabilities {
        top_margins: Some(vec![6350]),
        ..Default::default()
    };
    let document = test_document(content_type, pages, page_geometry(config, &caps)).unwrap();
    let out = tempfile::tempdir().unwrap();
    render(config, &document, out.path());
    (document, out)
}

fn findings(config: &PrintJobConfiguration, document: &TestDocument, out: &Path) -> Vec<Finding> {
    verify_output(config, document, out).unwrap()
}

fn ranges(list: &[(i64, i64)]) -> Option<Vec<IntegerRange>> {
    Some(
        list.iter()
            .map(|&(start, end)| IntegerRange { start, end })
            .collect(),
    )
}

#[test]
fn verify_passes_correct_prints_of_every_kind() {
    type Change = Box<dyn Fn(&mut PrintJobConfiguration)>;
    let cases: Vec<(&str, &str, u32, Change)> = vec![
        ("1-up", PDF, 3, Box::new(|_| {})),
        ("2-up", PDF, 3, Box::new(|c| c.pages_per_sheet = Some(2))),
        (
            "6-up from bottom right",
            PDF,
            7,
            Box::new(|c| {
                c.pages_per_sheet = Some(6);
                c.multipage_layout = Some(Layout::CounterclockwiseFromBottomRight);
            }),
        ),
        (
            "9-up",
            PDF,
            9,
            Box::new(|c| {
                c.pages_per_sheet = Some(9);
                c.multipage_layout = Some(Layout::ClockwiseFromTopRight);
            }),
        ),
        (
            "16-up",
            PDF,
            16,
            Box::new(|c| {
                c.pages_per_sheet = Some(16);
                c.multipage_layout = Some(Layout::CounterclockwiseFromBottomLeft);
            }),
        ),
        (
            "2-up landscape",
            PDF,
            4,
            Box::new(|c| {
                c.pages_per_sheet = Some(2);
                c.orientation = Some(Orientation::Landscape);
            }),
        ),
        (
            "duplex long edge",
            PDF,
            3,
            Box::new(|c| c.duplex_mode = Some(Duplex::FlipOnLongEdge)),
        ),
        (
            "duplex short edge, 2-up",
            PDF,
            6,
            Box::new(|c| {
                c.duplex_mode = Some(Duplex::FlipOnShortEdge);
                c.pages_per_sheet = Some(2);
            }),
        ),
        ("copies collated", PDF, 3, Box::new(|c| c.copies = Some(2))),
        (
            "copies uncollated, duplex",
            PDF,
            3,
            Box::new(|c| {
                c.copies = Some(2);
                c.collate = Some(false);
                c.duplex_mode = Some(Duplex::FlipOnLongEdge);
            }),
        ),
        (
            "page ranges",
            PDF,
            6,
            Box::new(|c| c.page_ranges = ranges(&[(2, 3), (5, 9)])),
        ),
        (
            "monochrome",
            PDF,
            2,
            Box::new(|c| c.color_mode = Some(Colour::BlackAndWhite)),
        ),
        (
            "grayscale",
            PDF,
            2,
            Box::new(|c| c.color_mode = Some(Colour::Grayscale)),
        ),
        (
            "landscape",
            PDF,
            1,
            Box::new(|c| c.orientation = Some(Orientation::Landscape)),
        ),
        (
            "reverse landscape",
            PDF,
            1,
            Box::new(|c| c.orientation = Some(Orientation::ReverseLandscape)),
        ),
        (
            "reverse portrait",
            PDF,
            1,
            Box::new(|c| c.orientation = Some(Orientation::ReversePortrait)),
        ),
        (
            "fit on Letter",
            PDF,
            1,
            Box::new(|c| {
                c.scaling = Some(Scaling::Fit);
                c.media_size = Some("North America Letter".into());
            }),
        ),
        (
            "none on A3",
            PDF,
            1,
            Box::new(|c| {
                c.scaling = Some(Scaling::None);
                c.media_size = Some("A3".into());
            }),
        ),
        (
            "fill",
            PDF,
            1,
            Box::new(|c| c.scaling = Some(Scaling::Fill)),
        ),
        (
            "fill on Letter, cropping the A4 page's top and bottom",
            PDF,
            1,
            Box::new(|c| {
                c.scaling = Some(Scaling::Fill);
                c.media_size = Some("North America Letter".into());
            }),
        ),
        (
            "shrink to fit on A5",
            PDF,
            1,
            Box::new(|c| {
                c.scaling = Some(Scaling::ShrinkToFit);
                c.media_size = Some("A5".into());
            }),
        ),
        ("300 dpi", PDF, 2, Box::new(|c| c.dpi = Some(300))),
        (
            "600 dpi monochrome",
            PDF,
            1,
            Box::new(|c| {
                c.dpi = Some(600);
                c.color_mode = Some(Colour::BlackAndWhite);
            }),
        ),
        ("JPEG", JPEG, 1, Box::new(|_| {})),
        (
            "PNG grayscale",
            PNG,
            1,
            Box::new(|c| c.color_mode = Some(Colour::Grayscale)),
        ),
        (
            "PWG raster 4-up",
            PWG_RASTER,
            5,
            Box::new(|c| c.pages_per_sheet = Some(4)),
        ),
        (
            "URF duplex short edge",
            URF,
            2,
            Box::new(|c| {
                c.duplex_mode = Some(Duplex::FlipOnShortEdge);
                c.dpi = Some(150);
            }),
        ),
    ];
    let mut failed = Vec::new();
    for (name, format, pages, change) in cases {
        let config = effective(change);
        let (document, out) = printed(format, pages, &config);
        let found = findings(&config, &document, out.path());
        if !found.is_empty() {
            failed.push(format!("{name}: {found:#?}"));
        }
    }
    assert!(failed.is_empty(), "{}", failed.join("\n"));
}

#[test]
fn verify_knows_every_multipage_layout() {
    for &layout in Layout::ALL
        .iter()
        .filter(|l| **l != Layout::UnknownFutureValue)
    {
        let config = effective(|c| {
            c.pages_per_sheet = Some(4);
            c.multipage_layout = Some(layout);
        });
        let (document, out) = printed(PDF, 4, &config);
        assert_eq!(findings(&config, &document, out.path()), [], "{layout:?}");
        // The same print read as another layout is a layout finding.
        let other = effective(|c| {
            c.pages_per_sheet = Some(4);
            c.multipage_layout = Some(if layout == Layout::ClockwiseFromTopLeft {
                Layout::ClockwiseFromBottomRight
            } else {
                Layout::ClockwiseFromTopLeft
            });
        });
        let found = findings(&other, &document, out.path());
        assert!(
            found.iter().any(|f| f.check == "nupLayout"),
            "{layout:?}: {found:?}"
        );
    }
}

fn checks(found: &[Finding]) -> Vec<&str> {
    found.iter().map(|f| f.check.as_str()).collect()
}

fn side_files(out: &Path) -> Vec<std::path::PathBuf> {
    let mut files: Vec<_> = std::fs::read_dir(out)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "png"))
        .collect();
    files.sort();
    files
}

#[test]
fn verify_catches_a_back_side_printed_upright_on_short_edge_duplex() {
    let config = effective(|c| c.duplex_mode = Some(Duplex::FlipOnShortEdge));
    let (document, out) = printed(PDF, 2, &config);
    assert_eq!(findings(&config, &document, out.path()), []);
    let back = &side_files(out.path())[1];
    image::open(back).unwrap().rotate180().save(back).unwrap();
    let found = findings(&config, &document, out.path());
    assert_eq!(checks(&found), ["duplexBackSide"], "{found:#?}");
}

#[test]
fn verify_counts_sides_from_the_pixels_and_the_files() {
    let config = effective(|c| c.copies = Some(2));
    let (document, out) = printed(PDF, 2, &config);
    // Drop the last side, from the folder and from the manifest, as a device that lost it would.
    let manifest_path = out.path().join("manifest.json");
    let mut manifest: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&manifest_path).unwrap()).unwrap();
    let sides = manifest["sides"].as_array_mut().unwrap();
    let dropped = sides.pop().unwrap();
    std::fs::remove_file(out.path().join(dropped["file"].as_str().unwrap())).unwrap();
    std::fs::write(&manifest_path, manifest.to_string()).unwrap();
    let found = findings(&config, &document, out.path());
    assert!(checks(&found).contains(&"sides"), "{found:#?}");
    assert!(checks(&found).contains(&"copies"), "{found:#?}");
}

#[test]
fn verify_catches_a_colour_job_printed_in_gray() {
    let config = effective(|_| {});
    let (document, out) = printed(PDF, 2, &config);
    let front = &side_files(out.path())[1];
    image::open(front).unwrap().grayscale().save(front).unwrap();
    let found = findings(&config, &document, out.path());
    assert_eq!(checks(&found), ["colorMode"], "{found:#?}");
    // And a grayscale job with colour left in it.
    let gray = effective(|c| c.color_mode = Some(Colour::Grayscale));
    let (document, out) = printed(PDF, 1, &gray);
    let colour = effective(|_| {});
    let colour_out = tempfile::tempdir().unwrap();
    render(&colour, &document, colour_out.path());
    for (from, to) in side_files(colour_out.path())
        .iter()
        .zip(side_files(out.path()))
    {
        std::fs::copy(from, to).unwrap();
    }
    let found = findings(&gray, &document, out.path());
    assert_eq!(checks(&found), ["colorMode"], "{found:#?}");
}

#[test]
fn verify_catches_swapped_nup_cells() {
    let config = effective(|c| c.pages_per_sheet = Some(2));
    let (document, out) = printed(PDF, 2, &config);
    let side = &side_files(out.path())[0];
    let mut pixels = image::open(side).unwrap().into_rgb8();
    let (w, h) = pixels.dimensions();
    // 2-up on portrait A4 puts the pages in the top and bottom halves: swap them.
    let top = image::imageops::crop_imm(&pixels, 0, 0, w, h / 2).to_image();
    let bottom = image::imageops::crop_imm(&pixels, 0, h / 2, w, h / 2).to_image();
    image::imageops::replace(&mut pixels, &bottom, 0, 0);
    image::imageops::replace(&mut pixels, &top, 0, (h / 2) as i64);
    pixels.save(side).unwrap();
    let found = findings(&config, &document, out.path());
    assert!(
        !found.is_empty() && checks(&found).iter().all(|c| *c == "nupLayout"),
        "{found:#?}"
    );
}

#[test]
fn verify_catches_wrong_pages_and_wrong_collation() {
    let config = effective(|c| c.copies = Some(2));
    let (document, out) = printed(PDF, 2, &config);
    let uncollated = effective(|c| {
        c.copies = Some(2);
        c.collate = Some(false);
    });
    let found = findings(&uncollated, &document, out.path());
    assert!(checks(&found).contains(&"collation"), "{found:#?}");
    let ranged = effective(|c| {
        c.copies = Some(2);
        c.page_ranges = ranges(&[(2, 2)]);
    });
    let found = findings(&ranged, &document, out.path());
    assert!(checks(&found).contains(&"pageRanges"), "{found:#?}");
    let wrong_dpi = effective(|c| {
        c.copies = Some(2);
        c.dpi = Some(150);
    });
    let found = findings(&wrong_dpi, &document, out.path());
    assert!(checks(&found).contains(&"pixelSize"), "{found:#?}");
}
