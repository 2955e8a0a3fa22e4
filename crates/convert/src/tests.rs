use crate::testpkg::{self, Xps, page};
use crate::{ConvertError, Limits, xps_to_pdf};

/// Every stream of the PDF inflated (or as is), joined: enough to look for operators and keys.
fn pdf_text(pdf: &[u8]) -> String {
    use std::io::Read;
    let mut out = String::from_utf8_lossy(pdf).into_owned();
    let mut i = 0;
    while let Some(p) = find(&pdf[i..], b"stream\n").map(|p| p + i) {
        let start = p + 7;
        let Some(end) = find(&pdf[start..], b"endstream").map(|e| e + start) else {
            break;
        };
        let mut d = flate2::read::ZlibDecoder::new(&pdf[start..end]);
        let mut s = Vec::new();
        if d.read_to_end(&mut s).is_ok() {
            out.push_str(&String::from_utf8_lossy(&s));
        }
        i = end + 9;
    }
    out
}

fn has_op(t: &str, op: &str) -> bool {
    t.split_ascii_whitespace().any(|w| w == op)
}

fn find(h: &[u8], n: &[u8]) -> Option<usize> {
    h.windows(n.len()).position(|w| w == n)
}

fn feature(name: &str) -> (Vec<u8>, String) {
    let p = testpkg::feature_pages()
        .into_iter()
        .chain(testpkg::unit_only_pages())
        .find(|(n, _)| *n == name)
        .unwrap()
        .1;
    let pdf = xps_to_pdf(&testpkg::feature_package(&[p]), &Limits::default())
        .unwrap_or_else(|e| panic!("{name}: {e}"));
    assert_eq!(pdf.pages, 1);
    assert!(pdf.bytes.starts_with(b"%PDF-"));
    if let Some(dir) = std::env::var_os("OXPS_DUMP_DIR") {
        std::fs::write(
            std::path::Path::new(&dir).join(format!("{name}.pdf")),
            &pdf.bytes,
        )
        .unwrap();
    }
    let text = pdf_text(&pdf.bytes);
    // 480x360 px at 96 dpi is 360x270 pt.
    assert!(text.contains("/MediaBox[0 0 360 270]"), "{name}: media box");
    (pdf.bytes, text)
}

#[test]
fn paths_fill_rules_curves_and_strokes() {
    let (_, t) = feature("paths");
    for op in ["f*", "f", "c", "d", "S"] {
        assert!(has_op(&t, op), "operator {op}");
    }
}

#[test]
fn canvas_transform_clip_opacity_mask_and_resources() {
    let (_, t) = feature("canvas");
    assert!(has_op(&t, "cm"), "transform");
    assert!(has_op(&t, "W*") && has_op(&t, "n"), "clip");
    assert!(t.contains("/SMask"), "opacity mask");
    assert!(
        t.contains("/CA 0.5") || t.contains("/ca 0.5"),
        "group opacity"
    );
}

#[test]
fn gradients_become_shadings() {
    let (_, t) = feature("gradients");
    assert!(t.contains("/ShadingType 2"), "axial");
    assert!(t.contains("/ShadingType 3"), "radial");
}

#[test]
fn images_jpeg_png_tiff_and_tiling() {
    let (_, t) = feature("images");
    assert!(t.matches("/Subtype/Image").count() >= 3, "three images");
    assert!(t.contains("/DCTDecode"), "JPEG kept as JPEG");
    assert!(t.contains("/PatternType 1"), "tiling pattern");
}

#[test]
fn arcs_become_curves() {
    let (_, t) = feature("arcs");
    assert!(has_op(&t, "c") && has_op(&t, "d"));
}

#[test]
fn flip_tile_modes_make_double_tiles() {
    let (_, t) = feature("flips");
    // FlipXY: 100x80 tile; FlipX: 100x40; FlipY: 50x80 (x 0.75 to points).
    assert!(t.contains("/BBox[0 0 100 80]"), "FlipXY tile");
    assert!(t.contains("/BBox[0 0 100 40]"), "FlipX tile");
    assert!(t.contains("/BBox[0 0 50 80]"), "FlipY tile");
}

#[test]
fn visual_brush_tiles() {
    let (_, t) = feature("visual");
    assert!(t.contains("/PatternType 1"));
}

#[test]
fn glyphs_embed_subset_fonts_including_obfuscated() {
    let (bytes, t) = feature("glyphs");
    assert!(t.contains("/FontFile2"), "embedded TrueType");
    // Two families (the obfuscated font is DejaVuSans again, so it is the same font).
    assert!(t.matches("/FontFile2").count() >= 2);
    // DejaVuSans alone is about 750 kB: the fonts were subset.
    assert!(bytes.len() < 120_000, "PDF is {} bytes", bytes.len());
    assert!(t.contains("/ToUnicode"));
    assert!(t.contains("beginbfchar") || t.contains("beginbfrange"));
}

#[test]
fn obfuscated_font_needs_its_guid_name() {
    let sans = std::fs::read(testpkg::DEJAVU).unwrap();
    let body = r##"<Glyphs FontUri="/Resources/font.odttf" FontRenderingEmSize="20" OriginX="10" OriginY="30" UnicodeString="x" Fill="#000000"/>"##;
    let pkg = Xps::new()
        .with_pages(&[page(100, 100, body)])
        .part("Resources/font.odttf", testpkg::obfuscate(&sans))
        .build();
    let e = xps_to_pdf(&pkg, &Limits::default()).unwrap_err();
    assert!(
        matches!(&e, ConvertError::Font { part, .. } if part.contains("font.odttf")),
        "{e}"
    );
    // The right name but bytes obfuscated with another key.
    let body = format!(
        r##"<Glyphs FontUri="{}" FontRenderingEmSize="20" OriginX="10" OriginY="30" UnicodeString="x" Fill="#000000"/>"##,
        "/Resources/{00000000-1111-2222-3333-444444444444}.odttf"
    );
    let pkg = Xps::new()
        .with_pages(&[page(100, 100, &body)])
        .part(
            "Resources/{00000000-1111-2222-3333-444444444444}.odttf",
            testpkg::obfuscate(&sans),
        )
        .build();
    let e = xps_to_pdf(&pkg, &Limits::default()).unwrap_err();
    assert!(e.to_string().contains("after de-obfuscation"), "{e}");
}

#[test]
fn remote_dictionary_interleaved_pieces_and_page_boxes() {
    let dict = format!(
        "<ResourceDictionary xmlns=\"{}\" xmlns:x=\"http://schemas.microsoft.com/xps/2005/06/resourcedictionary-key\"><SolidColorBrush x:Key=\"b\" Color=\"#123456\"/></ResourceDictionary>",
        testpkg::XPS_NS
    );
    let fp = format!(
        "<FixedPage xmlns=\"{}\" Width=\"96\" Height=\"192\" BleedBox=\"-10,-10,116,212\" ContentBox=\"10,20,50,60\"><FixedPage.Resources><ResourceDictionary Source=\"../../../Resources/r.dict\"/></FixedPage.Resources><Path Data=\"M0,0 H96 V192 H0Z\" Fill=\"{{StaticResource b}}\"/></FixedPage>",
        testpkg::XPS_NS
    );
    let (a, b) = fp.split_at(fp.len() / 2);
    let base = Xps::new().with_pages(&[]);
    let _ = base;
    let mut x = Xps::new()
        .part("[Content_Types].xml", testpkg::CONTENT_TYPES)
        .part("_rels/.rels", testpkg::ROOT_RELS)
        .part(
            "FixedDocumentSequence.fdseq",
            format!("<FixedDocumentSequence xmlns=\"{}\"><DocumentReference Source=\"Documents/1/FixedDocument.fdoc\"/></FixedDocumentSequence>", testpkg::XPS_NS),
        )
        .part(
            "Documents/1/FixedDocument.fdoc",
            format!("<FixedDocument xmlns=\"{}\"><PageContent Source=\"Pages/1.fpage\"/></FixedDocument>", testpkg::XPS_NS),
        )
        .part("Resources/r.dict", dict);
    // The page as an interleaved part, pieces stored out of order.
    x = x
        .part("Documents/1/Pages/1.fpage/[1].last.piece", b)
        .part("Documents/1/Pages/1.fpage/[0].piece", a);
    let pdf = xps_to_pdf(&x.build(), &Limits::default()).unwrap();
    let t = pdf_text(&pdf.bytes);
    assert!(t.contains("/MediaBox[0 0 72 144]"), "{t}");
    // The bleed box is cut to the media box; the content box becomes the art box (y up).
    assert!(t.contains("/BleedBox[0 0 72 144]"));
    assert!(t.contains("/ArtBox[7.5 84 45 129]"), "art box");
    assert!(
        t.contains("0.07058824 0.20392157 0.3372549 rg"),
        "the dictionary's brush"
    );
}

fn page_pkg(body: &str) -> Vec<u8> {
    testpkg::feature_package(&[page(200, 200, body)])
}

#[test]
fn zip_bomb_part_is_stopped_while_inflating() {
    let zeros = vec![0u8; 8 << 20];
    let pkg = Xps::new()
        .with_pages(&[page(100, 100, "")])
        .part("Resources/bomb.png", zeros)
        .build();
    assert!(
        pkg.len() < 100_000,
        "compressed bomb is small: {}",
        pkg.len()
    );
    let body = r##"<Path Data="M0,0 H10 V10Z"><Path.Fill><ImageBrush ImageSource="/Resources/bomb.png" Viewbox="0,0,1,1" Viewport="0,0,10,10"/></Path.Fill></Path>"##;
    let pkg = Xps::new()
        .with_pages(&[page(100, 100, body)])
        .part("Resources/bomb.png", vec![0u8; 8 << 20])
        .build();
    let limits = Limits {
        max_part_bytes: 1 << 20,
        ..Limits::default()
    };
    let e = xps_to_pdf(&pkg, &limits).unwrap_err();
    assert!(
        matches!(&e, ConvertError::PartTooLarge { part, limit } if part.contains("bomb.png") && *limit == 1 << 20),
        "{e}"
    );
    let limits = Limits {
        max_total_bytes: 2 << 20,
        ..Limits::default()
    };
    let e = xps_to_pdf(&pkg, &limits).unwrap_err();
    assert!(matches!(e, ConvertError::PackageTooLarge { .. }), "{e}");
}

#[test]
fn part_count_is_bounded() {
    let mut x = Xps::new().with_pages(&[page(100, 100, "")]);
    for i in 0..50 {
        x = x.part(&format!("junk/{i}.bin"), vec![1u8]);
    }
    let limits = Limits {
        max_parts: 20,
        ..Limits::default()
    };
    let e = xps_to_pdf(&x.build(), &limits).unwrap_err();
    assert!(
        matches!(
            e,
            ConvertError::TooManyParts {
                count: 55,
                limit: 20
            }
        ),
        "{e}"
    );
}

#[test]
fn deep_nesting_is_refused_with_its_line() {
    let depth = 200;
    let mut body = String::new();
    for _ in 0..depth {
        body.push_str("<Canvas>\n");
    }
    body.push_str(r##"<Path Data="M0,0 H1 V1Z" Fill="#000000"/>"##);
    for _ in 0..depth {
        body.push_str("</Canvas>");
    }
    let e = xps_to_pdf(&page_pkg(&body), &Limits::default()).unwrap_err();
    match e {
        ConvertError::TooDeep {
            element,
            line,
            limit,
            ..
        } => {
            assert_eq!(element, "Canvas");
            assert_eq!(limit, 64);
            assert_eq!(line, 65);
        }
        e => panic!("{e}"),
    }
    // Self-referencing visual brushes are bounded by the same limit.
    let body = r##"<Canvas><Canvas.Resources><ResourceDictionary>
<VisualBrush x:Key="v" Viewbox="0,0,10,10" Viewport="0,0,10,10" TileMode="Tile"><VisualBrush.Visual><Path Data="M0,0 H10 V10Z" Fill="{StaticResource v}"/></VisualBrush.Visual></VisualBrush>
</ResourceDictionary></Canvas.Resources><Path Data="M0,0 H50 V50Z" Fill="{StaticResource v}"/></Canvas>"##;
    let e = xps_to_pdf(&page_pkg(body), &Limits::default()).unwrap_err();
    assert!(matches!(e, ConvertError::TooDeep { .. }), "{e}");
}

#[test]
fn huge_images_are_refused_before_decoding() {
    let body = r##"<Path Data="M0,0 H10 V10Z"><Path.Fill><ImageBrush ImageSource="/Resources/checker.png" Viewbox="0,0,64,64" Viewport="0,0,10,10"/></Path.Fill></Path>"##;
    let limits = Limits {
        max_image_pixels: 1000,
        ..Limits::default()
    };
    let e = xps_to_pdf(&page_pkg(body), &limits).unwrap_err();
    assert!(
        matches!(
            &e,
            ConvertError::ImageTooLarge {
                width: 64,
                height: 64,
                ..
            }
        ),
        "{e}"
    );
    // A PNG whose header claims 100000 x 100000 pixels and has no data behind it.
    let mut png = testpkg::png(8);
    png[16..20].copy_from_slice(&100_000u32.to_be_bytes());
    png[20..24].copy_from_slice(&100_000u32.to_be_bytes());
    let crc = {
        let mut c = flate2::Crc::new();
        c.update(&png[12..29]);
        c.sum()
    };
    png[29..33].copy_from_slice(&crc.to_be_bytes());
    let pkg = Xps::new()
        .with_pages(&[page(100, 100, body)])
        .part("Resources/checker.png", png)
        .build();
    let e = xps_to_pdf(&pkg, &Limits::default()).unwrap_err();
    assert!(
        matches!(&e, ConvertError::ImageTooLarge { width: 100_000, .. }),
        "{e}"
    );
}

#[test]
fn image_pixels_are_bounded_per_document() {
    // Three distinct 64x64 images (4096 pixels each) under a 10000-pixel document budget.
    let (_, images) = testpkg::feature_pages()
        .into_iter()
        .find(|(n, _)| *n == "images")
        .unwrap();
    let limits = Limits {
        max_total_image_pixels: 10_000,
        ..Limits::default()
    };
    let e = xps_to_pdf(
        &testpkg::feature_package(std::slice::from_ref(&images)),
        &limits,
    )
    .unwrap_err();
    assert!(
        matches!(e, ConvertError::TooManyImagePixels { limit: 10_000, .. }),
        "{e}"
    );
    let limits = Limits {
        max_total_image_pixels: 3 * 4096,
        ..Limits::default()
    };
    assert!(xps_to_pdf(&testpkg::feature_package(&[images]), &limits).is_ok());
}

#[test]
fn jpeg_xr_is_refused_with_a_reason() {
    let body = r##"<Path Data="M0,0 H10 V10Z"><Path.Fill><ImageBrush ImageSource="/Resources/photo.wdp" Viewbox="0,0,64,64" Viewport="0,0,10,10"/></Path.Fill></Path>"##;
    let pkg = Xps::new()
        .with_pages(&[page(100, 100, body)])
        .part(
            "Resources/photo.wdp",
            vec![0x49, 0x49, 0xBC, 0x01, 0, 0, 0, 0],
        )
        .build();
    let e = xps_to_pdf(&pkg, &Limits::default()).unwrap_err();
    assert!(e.to_string().contains("JPEG XR"), "{e}");
}

#[test]
fn missing_parts_name_the_referrer() {
    let body = r##"<Glyphs FontUri="../../../Resources/Missing.ttf" FontRenderingEmSize="20" OriginX="1" OriginY="20" UnicodeString="x" Fill="#000000"/>"##;
    let e = xps_to_pdf(&page_pkg(body), &Limits::default()).unwrap_err();
    match e {
        ConvertError::MissingPart {
            part,
            referenced_from,
        } => {
            assert_eq!(part, "/resources/missing.ttf");
            assert!(referenced_from.contains("1.fpage"), "{referenced_from}");
        }
        e => panic!("{e}"),
    }
    // A page the document lists but the ZIP lacks.
    let pkg = Xps::new()
        .part("[Content_Types].xml", testpkg::CONTENT_TYPES)
        .part("_rels/.rels", testpkg::ROOT_RELS)
        .part(
            "FixedDocumentSequence.fdseq",
            format!("<FixedDocumentSequence xmlns=\"{}\"><DocumentReference Source=\"d.fdoc\"/></FixedDocumentSequence>", testpkg::XPS_NS),
        )
        .part(
            "d.fdoc",
            format!("<FixedDocument xmlns=\"{}\"><PageContent Source=\"p.fpage\"/></FixedDocument>", testpkg::XPS_NS),
        )
        .build();
    let e = xps_to_pdf(&pkg, &Limits::default()).unwrap_err();
    assert!(
        matches!(&e, ConvertError::MissingPart { part, .. } if part == "/p.fpage"),
        "{e}"
    );
    // No root relationships at all.
    let pkg = Xps::new()
        .part("[Content_Types].xml", testpkg::CONTENT_TYPES)
        .build();
    let e = xps_to_pdf(&pkg, &Limits::default()).unwrap_err();
    assert!(
        matches!(&e, ConvertError::MissingPart { part, .. } if part == "/_rels/.rels"),
        "{e}"
    );
}

#[test]
fn broken_xml_and_bad_values_say_where() {
    let e = xps_to_pdf(
        &page_pkg("<Path Data=\"M0,0 H1\">\n\n<Canvas></Path>"),
        &Limits::default(),
    )
    .unwrap_err();
    match e {
        ConvertError::Xml { part, line, .. } => {
            assert!(part.ends_with("Documents/1/Pages/1.fpage"), "{part}");
            assert_eq!(line, 3);
        }
        e => panic!("{e}"),
    }
    let e = xps_to_pdf(
        &page_pkg("\n<Path Data=\"M0,0 H1 V1 Z\" Fill=\"#GG0000\"/>"),
        &Limits::default(),
    )
    .unwrap_err();
    match e {
        ConvertError::Invalid {
            element,
            line,
            reason,
            ..
        } => {
            assert_eq!(element, "Path");
            assert_eq!(line, 2);
            assert!(reason.contains("#GG0000"), "{reason}");
        }
        e => panic!("{e}"),
    }
    let e = xps_to_pdf(
        &page_pkg("<Path Data=\"M0,0 Q1\" Fill=\"#000000\"/>"),
        &Limits::default(),
    )
    .unwrap_err();
    assert!(e.to_string().contains("path data"), "{e}");
    let e = xps_to_pdf(
        &page_pkg("<Path Data=\"M0,0 H1 V1 Z\" Fill=\"{StaticResource nope}\"/>"),
        &Limits::default(),
    )
    .unwrap_err();
    assert!(e.to_string().contains("no resource named 'nope'"), "{e}");
}

#[test]
fn not_a_package_and_no_pages() {
    let e = xps_to_pdf(b"%PDF-1.7 not a zip", &Limits::default()).unwrap_err();
    assert!(matches!(e, ConvertError::Zip(_)), "{e}");
    let e = xps_to_pdf(&Xps::new().with_pages(&[]).build(), &Limits::default()).unwrap_err();
    assert!(matches!(e, ConvertError::NoPages), "{e}");
    let pages: Vec<String> = (0..5).map(|_| page(100, 100, "")).collect();
    let limits = Limits {
        max_pages: 3,
        ..Limits::default()
    };
    let e = xps_to_pdf(&Xps::new().with_pages(&pages).build(), &limits).unwrap_err();
    assert!(matches!(e, ConvertError::TooManyPages { limit: 3 }), "{e}");
    let pdf = xps_to_pdf(&Xps::new().with_pages(&pages).build(), &Limits::default()).unwrap();
    assert_eq!(pdf.pages, 5);
}

#[test]
fn xml_node_count_is_bounded() {
    let body: String = (0..2000)
        .map(|_| "<Path Data=\"M0,0 H1 V1Z\" Fill=\"#000000\"/>")
        .collect();
    let limits = Limits {
        max_xml_nodes: 500,
        ..Limits::default()
    };
    let e = xps_to_pdf(&page_pkg(&body), &limits).unwrap_err();
    assert!(matches!(e, ConvertError::Xml { .. }), "{e}");
}

#[test]
fn radial_reflect_repeats_the_stops() {
    let pkg = testpkg::feature_package(&[testpkg::radial_focus_page()]);
    let pdf = xps_to_pdf(&pkg, &Limits::default()).unwrap();
    let t = pdf_text(&pdf.bytes);
    assert!(t.contains("/ShadingType 3"));
    // Padding alone would be one interpolation; reflecting over the page needs several
    // periods, stitched as one function with many bounds.
    let bounds = t
        .split("/Bounds[")
        .nth(1)
        .and_then(|b| b.split(']').next())
        .expect("a stitching function");
    assert!(bounds.split_whitespace().count() >= 5, "bounds: {bounds}");
}

#[test]
fn degenerate_values_do_not_panic() {
    let bodies = [
        r##"<Canvas RenderTransform="0,0,0,0,0,0"><Path Data="M0,0 H10 V10Z" Fill="#000000"/></Canvas>"##,
        r##"<Path Data="" Fill="#000000"/>"##,
        r##"<Path Data="M 1e30,1e30 L -1e30,5 Z" Fill="#000000" Stroke="#FF0000" StrokeThickness="1e20"/>"##,
        r##"<Path Data="M0,0 H10 V10Z" Clip="M 5,5"><Path.Fill><ImageBrush ImageSource="/Resources/checker.png" Viewbox="0,0,0,0" Viewport="0,0,10,10"/></Path.Fill></Path>"##,
        r##"<Glyphs FontUri="/Resources/DejaVuSans.ttf" FontRenderingEmSize="0" OriginX="0" OriginY="0" UnicodeString="x" Fill="#000000"/>"##,
        r##"<Glyphs FontUri="/Resources/DejaVuSans.ttf" FontRenderingEmSize="12" OriginX="0" OriginY="20" UnicodeString="" Indices="99999,50;;(2:3)1" Fill="#000000"/>"##,
        r##"<Path Data="M0,0 H10 V10Z" StrokeDashArray="0 0" Stroke="#000000" Opacity="0"/>"##,
        r##"<Path Data="M0,0 H10 V10Z"><Path.Fill><LinearGradientBrush StartPoint="0,0" EndPoint="0,0"><LinearGradientBrush.GradientStops><GradientStop Color="#FF0000" Offset="2"/><GradientStop Color="#00FF00" Offset="3"/></LinearGradientBrush.GradientStops></LinearGradientBrush></Path.Fill></Path>"##,
    ];
    for body in bodies {
        let r = xps_to_pdf(&page_pkg(body), &Limits::default());
        assert!(r.is_ok(), "{body}: {}", r.unwrap_err());
    }
}

#[test]
fn glyph_layout_clusters_advances_and_direction() {
    use crate::font::Metrics;
    let data = std::sync::Arc::new(std::fs::read(testpkg::DEJAVU).unwrap());
    let m = Metrics::new(data, 0).unwrap();
    let a = m.map_chars(&['a'])[0];
    let adv_a = m.advances(&[a])[0];
    assert!(a != 0 && adv_a > 0.3 && adv_a < 1.0);
    // Defaults from the font; explicit advances in 1/100 em; offsets.
    let g = crate::render::layout("ab", ";,50,10,-20", &m, false).unwrap();
    assert_eq!(g.len(), 2);
    assert_eq!(g[0].glyph_id.to_u32(), a);
    assert!((g[0].x_advance - adv_a).abs() < 1e-6);
    assert!((g[1].x_advance - 0.5).abs() < 1e-6);
    assert!((g[1].x_offset - 0.1).abs() < 1e-6 && (g[1].y_offset + 0.2).abs() < 1e-6);
    // A 2:1 cluster (ligature) covers both chars; the char after it keeps its own glyph.
    let g = crate::render::layout("ffx", "(2:1)300;", &m, false).unwrap();
    assert_eq!(g.len(), 2);
    assert_eq!(g[0].glyph_id.to_u32(), 300);
    assert_eq!(g[0].text_range, 0..2);
    assert_eq!(g[1].text_range, 2..3);
    // 1:2: one char drawn with two glyphs.
    let g = crate::render::layout("é", "(1:2)70;71", &m, false).unwrap();
    assert_eq!(g.len(), 2);
    assert_eq!(g[1].text_range, 0..2);
    // Right to left advances leftwards, glyph drawn left of the pen.
    let g = crate::render::layout("a", "", &m, true).unwrap();
    assert!(g[0].x_advance < 0.0 && (g[0].x_offset - g[0].x_advance).abs() < 1e-6);
    // Out-of-range glyph ids become .notdef; bad numbers are errors.
    assert_eq!(
        crate::render::layout("", "999999", &m, false).unwrap()[0]
            .glyph_id
            .to_u32(),
        0
    );
    assert!(crate::render::layout("a", "x,y", &m, false).is_err());
    assert!(crate::render::layout("a", "(1:0)3", &m, false).is_err());
}

#[test]
fn openxps_namespaces_and_alternate_content() {
    const OXPS: &str = "http://schemas.openxps.org/oxps/v1.0";
    let rels = r#"<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships"><Relationship Id="R0" Type="http://schemas.openxps.org/oxps/v1.0/fixedrepresentation" Target="/FixedDocumentSequence.fdseq"/></Relationships>"#;
    let page = format!(
        r##"<FixedPage xmlns="{OXPS}" xmlns:x="http://schemas.openxps.org/oxps/v1.0/resourcedictionary-key" xmlns:mc="http://schemas.openxmlformats.org/markup-compatibility/2006" xml:lang="en" Width="96" Height="96">
<FixedPage.Resources><ResourceDictionary><SolidColorBrush x:Key="k" Color="#00FF00"/></ResourceDictionary></FixedPage.Resources>
<mc:AlternateContent><mc:Choice Requires="future"><Path Data="M0,0 H96 V96 H0Z" Fill="#FF0000"/></mc:Choice>
<mc:Fallback><Path Data="M0,0 H96 V96 H0Z" Fill="{{StaticResource k}}"/></mc:Fallback></mc:AlternateContent>
</FixedPage>"##
    );
    let pkg = Xps::new()
        .part("[Content_Types].xml", testpkg::CONTENT_TYPES)
        .part("_rels/.rels", rels)
        .part(
            "FixedDocumentSequence.fdseq",
            format!("<FixedDocumentSequence xmlns=\"{OXPS}\"><DocumentReference Source=\"/Documents/1/FixedDocument.fdoc\"/></FixedDocumentSequence>"),
        )
        .part(
            "Documents/1/FixedDocument.fdoc",
            format!("<FixedDocument xmlns=\"{OXPS}\"><PageContent Source=\"Pages/1.fpage\"/></FixedDocument>"),
        )
        .part("Documents/1/Pages/1.fpage", page)
        .build();
    let pdf = xps_to_pdf(&pkg, &Limits::default()).unwrap();
    let t = pdf_text(&pdf.bytes);
    assert!(t.contains("0 1 0 rg"), "the fallback's green");
    assert!(!t.contains("1 0 0 rg"), "not the choice's red");
}

#[test]
fn doubling_visual_brushes_are_bounded() {
    // Brush b{i} draws two paths filled with b{i-1}: 2^25 paths if nothing stopped it.
    let mut res = String::from(r##"<SolidColorBrush x:Key="b0" Color="#000000"/>"##);
    for i in 1..=25 {
        res.push_str(&format!(
            r##"<VisualBrush x:Key="b{i}" Viewbox="0,0,10,10" Viewport="0,0,10,10" TileMode="Tile"><VisualBrush.Visual><Canvas><Path Data="M0,0 H5 V5Z" Fill="{{StaticResource b{p}}}"/><Path Data="M5,5 H10 V10Z" Fill="{{StaticResource b{p}}}"/></Canvas></VisualBrush.Visual></VisualBrush>"##,
            p = i - 1
        ));
    }
    let body = format!(
        r##"<Canvas><Canvas.Resources><ResourceDictionary>{res}</ResourceDictionary></Canvas.Resources><Path Data="M0,0 H50 V50Z" Fill="{{StaticResource b25}}"/></Canvas>"##
    );
    let limits = Limits {
        max_elements_per_page: 10_000,
        ..Limits::default()
    };
    let t = std::time::Instant::now();
    let e = xps_to_pdf(&page_pkg(&body), &limits).unwrap_err();
    assert!(
        matches!(e, ConvertError::TooManyElements { limit: 10_000, .. }),
        "{e}"
    );
    assert!(
        t.elapsed() < std::time::Duration::from_secs(20),
        "{:?}",
        t.elapsed()
    );
}
