//! Encrypted, truncated and malicious PDFs, generated here byte by byte: each is refused with
//! an error that says why, or rendered within the engine's memory and time bounds.

use super::dispatch;
use super::source::Document;
use super::workers::{LIMITS, Limits, abandoned_workers};
use super::*;
use std::io::Write;
use std::time::{Duration, Instant};

/// A PDF from numbered object bodies (object n is `objects[n - 1]`; object 1 the catalog), with
/// a correct cross-reference table.
fn raw_pdf(objects: &[Vec<u8>]) -> Vec<u8> {
    let mut out = b"%PDF-1.7\n".to_vec();
    let mut offsets = Vec::new();
    for (i, body) in objects.iter().enumerate() {
        offsets.push(out.len());
        writeln!(out, "{} 0 obj", i + 1).unwrap();
        out.extend_from_slice(body);
        out.extend_from_slice(b"\nendobj\n");
    }
    let xref = out.len();
    write!(out, "xref\n0 {}\n0000000000 65535 f \n", objects.len() + 1).unwrap();
    for offset in offsets {
        writeln!(out, "{offset:010} 00000 n ").unwrap();
    }
    write!(
        out,
        "trailer\n<< /Size {} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n",
        objects.len() + 1
    )
    .unwrap();
    out
}

/// Catalog, one page tree node and one A4 page (object 3) whose content is object 4.
fn one_page_pdf(resources: &str, content: Vec<u8>, extra: &[Vec<u8>]) -> Vec<u8> {
    let mut objects = vec![
        b"<< /Type /Catalog /Pages 2 0 R >>".to_vec(),
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>".to_vec(),
        format!(
            "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Resources {resources} \
             /Contents 4 0 R >>"
        )
        .into_bytes(),
        content,
    ];
    objects.extend_from_slice(extra);
    raw_pdf(&objects)
}

fn stream(dict: &str, data: &[u8]) -> Vec<u8> {
    let mut out = format!("<< {dict} /Length {} >>\nstream\n", data.len()).into_bytes();
    out.extend_from_slice(data);
    out.extend_from_slice(b"\nendstream");
    out
}

fn zlib(data: impl IntoIterator<Item = Vec<u8>>) -> Vec<u8> {
    let mut encoder = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::best());
    for chunk in data {
        encoder.write_all(&chunk).unwrap();
    }
    encoder.finish().unwrap()
}

fn native(pdf: &[u8], dpi: u32, limits: &Limits) -> Result<Manifest, RenderError> {
    let dir = tempfile::tempdir().unwrap();
    dispatch::render_native(
        pdf,
        PDF,
        dpi,
        &[],
        dir.path(),
        &CancellationToken::new(),
        limits,
    )
}

/// The refusal's reason, or a panic naming what happened instead.
fn refusal(result: Result<Manifest, RenderError>) -> String {
    match result {
        Err(RenderError::Unprintable { reason, .. }) => reason,
        Err(other) => panic!("expected an unprintable document, got {other:?}"),
        Ok(m) => panic!("expected a refusal, rendered {} pages", m.document_pages),
    }
}

#[test]
fn generated_pdfs_render_as_a_baseline() {
    use sha2::{Digest, Sha256};
    let pdf = one_page_pdf("<< >>", stream("", b"0 0 1 rg 100 100 200 200 re f"), &[]);
    let dir = tempfile::tempdir().unwrap();
    let cancel = CancellationToken::new();
    let m = dispatch::render_native(&pdf, PDF, 72, &[], dir.path(), &cancel, &LIMITS).unwrap();
    assert_eq!((m.sides[0].width, m.sides[0].height), (595, 842));
    let png = std::fs::read(dir.path().join("page-1.png")).unwrap();
    assert_eq!(m.sides[0].sha256, hex::encode(Sha256::digest(&png)));
    let img = image::load_from_memory(&png).unwrap().into_rgb8();
    assert_eq!(img.get_pixel(200, 842 - 200).0, [0, 0, 255]);
    assert_eq!(img.get_pixel(50, 50).0, [255, 255, 255]);
}

#[test]
fn encrypted_pdfs_are_refused_as_encrypted() {
    // Standard security handler, revision 3, with O and U entries that match no password:
    // the empty user password does not open it, so it needs one we do not have.
    let encrypt = format!(
        "<< /Filter /Standard /V 2 /R 3 /Length 128 /P -4 /O <{}> /U <{}> >>",
        "11".repeat(32),
        "22".repeat(32)
    );
    let mut pdf = one_page_pdf(
        "<< >>",
        stream("", b"0 g 0 0 10 10 re f"),
        &[encrypt.into_bytes()],
    );
    let trailer = pdf.windows(6).rposition(|w| w == b"/Root ").unwrap();
    let id = format!("/Encrypt 5 0 R /ID [<{0}> <{0}>] ", "33".repeat(16));
    pdf.splice(trailer..trailer, id.bytes());
    let reason = refusal(native(&pdf, 72, &LIMITS));
    assert!(reason.contains("encrypted"), "{reason}");
}

#[test]
fn truncated_and_pageless_pdfs_are_bad_documents() {
    let pdf = one_page_pdf("<< >>", stream("", b"0 g 0 0 10 10 re f"), &[]);
    // Cut inside the page object: no page survives, with or without lopdf's repair.
    let page = pdf.windows(9).position(|w| w == b"3 0 obj\n<").unwrap();
    let reason = refusal(native(&pdf[..page + 20], 72, &LIMITS));
    assert!(
        reason.contains("no pages") || reason.contains("not a readable"),
        "{reason}"
    );

    let empty = raw_pdf(&[
        b"<< /Type /Catalog /Pages 2 0 R >>".to_vec(),
        b"<< /Type /Pages /Kids [] /Count 0 >>".to_vec(),
    ]);
    assert!(refusal(native(&empty, 72, &LIMITS)).contains("no pages"));
}

#[test]
fn a_damaged_cross_reference_table_is_repaired() {
    // Every offset in the table points at the wrong byte.
    let pdf = one_page_pdf("<< >>", stream("", b"1 0 0 rg 0 0 595 842 re f"), &[]);
    let mut broken = pdf.clone();
    let xref = broken.windows(5).rposition(|w| w == b"xref\n").unwrap();
    for b in &mut broken[xref..] {
        if *b == b'0' {
            *b = b'7';
        }
    }
    assert!(source::repair_pdf(&broken).is_some());
    let dir = tempfile::tempdir().unwrap();
    let m = render_native(&broken, PDF, 72, &[], dir.path(), &CancellationToken::new()).unwrap();
    assert_eq!(m.document_pages, 1);
    let img = image::open(dir.path().join("page-1.png"))
        .unwrap()
        .into_rgb8();
    assert_eq!(img.get_pixel(300, 400).0, [255, 0, 0]);
}

#[test]
fn more_pages_than_the_cap_are_refused() {
    let pages = source::MAX_PAGES + 1;
    let kids: String = (0..pages).map(|i| format!("{} 0 R ", i + 3)).collect();
    let mut objects = vec![
        b"<< /Type /Catalog /Pages 2 0 R >>".to_vec(),
        format!("<< /Type /Pages /Kids [{kids}] /Count {pages} /MediaBox [0 0 10 10] >>")
            .into_bytes(),
    ];
    objects.extend((0..pages).map(|_| b"<< /Type /Page /Parent 2 0 R >>".to_vec()));
    let reason = refusal(native(&raw_pdf(&objects), 72, &LIMITS));
    assert!(reason.contains(&format!("{pages} pages")), "{reason}");
}

#[test]
fn deep_nesting_renders_or_is_refused_without_overflowing_the_stack() {
    let depth = 20_000;
    let arrays = format!("{}{}", "[".repeat(depth), "]".repeat(depth));
    let dicts = format!("{}{}", "<< /A ".repeat(depth), ">>".repeat(depth));
    let saves = format!(
        "{} 0 g 0 0 10 10 re f {}",
        "q ".repeat(depth),
        "Q ".repeat(depth)
    );
    // A form that draws itself: infinite recursion unless the interpreter bounds it.
    let form = stream(
        "/Type /XObject /Subtype /Form /BBox [0 0 595 842] /Resources << /XObject << /F 5 0 R >> >>",
        b"0 g 0 0 5 5 re f /F Do",
    );
    let cases = [
        one_page_pdf(
            &format!("<< /Nested {arrays} >>"),
            stream("", b"0 g 0 0 9 9 re f"),
            &[],
        ),
        one_page_pdf(
            &format!("<< /Nested {dicts} >>"),
            stream("", b"0 g 0 0 9 9 re f"),
            &[],
        ),
        one_page_pdf("<< >>", stream("", saves.as_bytes()), &[]),
        one_page_pdf(
            "<< /XObject << /F 5 0 R >> >>",
            stream("", b"/F Do"),
            &[form],
        ),
    ];
    for (i, pdf) in cases.iter().enumerate() {
        let started = Instant::now();
        match native(pdf, 72, &LIMITS) {
            Ok(_) | Err(RenderError::Unprintable { .. }) => {}
            Err(other) => panic!("case {i}: {other:?}"),
        }
        assert!(started.elapsed() < Duration::from_secs(30), "case {i}");
    }
}

#[test]
fn decompression_bombs_are_refused_before_rendering() {
    // 300 MiB of spaces in a content stream: about 300 KiB deflated.
    let spaces = zlib((0..300).map(|_| vec![b' '; 1 << 20]));
    let bomb = one_page_pdf("<< >>", stream("/Filter /FlateDecode", &spaces), &[]);
    assert!(bomb.len() < 2 << 20);
    let reason = refusal(native(&bomb, 72, &LIMITS));
    assert!(reason.contains("decompression bomb"), "{reason}");

    // The same, deflated twice: a few KiB whose outer layer is harmless.
    let twice = zlib([spaces]);
    let bomb = one_page_pdf(
        "<< >>",
        stream("/Filter [/FlateDecode /FlateDecode]", &twice),
        &[],
    );
    assert!(bomb.len() < 64 << 10);
    let reason = refusal(native(&bomb, 72, &LIMITS));
    assert!(reason.contains("decompression bomb"), "{reason}");

    // An image claiming 100000 x 100000 pixels.
    let image = stream(
        "/Type /XObject /Subtype /Image /Width 100000 /Height 100000 /ColorSpace /DeviceGray \
         /BitsPerComponent 8",
        &[0; 16],
    );
    let pdf = one_page_pdf(
        "<< /XObject << /I 5 0 R >> >>",
        stream("", b"q 100 0 0 100 0 0 cm /I Do Q"),
        &[image],
    );
    let reason = refusal(native(&pdf, 72, &LIMITS));
    assert!(reason.contains("100000x100000"), "{reason}");
}

/// Every filter, in any order, counts: the bombs that got past a check of leading Flate
/// layers only (ASCIIHex or ASCII85 text around a deflated bomb, RunLength or LZW expanding
/// what Flate yields, LZW alone) are refused naming the stream, the filter and the bound.
#[test]
fn bombs_behind_any_filter_chain_are_refused_before_rendering() {
    let spaces = || (0..300).map(|_| vec![b' '; 1 << 20]);
    let deflated = zlib(spaces());
    let hex: Vec<u8> = deflated
        .iter()
        .flat_map(|b| format!("{b:02x}").into_bytes())
        .collect();
    let ascii85 = ascii85(&deflated);
    // RunLength: 2 bytes give 128 spaces; the run list deflates to almost nothing.
    let runs = zlib([[0x81u8, b' ']
        .iter()
        .copied()
        .cycle()
        .take(2 * (300 << 20) / 128)
        .collect::<Vec<u8>>()]);
    let mut lzw = Vec::new();
    weezl::encode::Encoder::with_tiff_size_switch(weezl::BitOrder::Msb, 8)
        .into_stream(&mut lzw)
        .encode_all(std::io::BufReader::new(std::io::Read::take(
            std::io::repeat(b' '),
            300 << 20,
        )))
        .status
        .unwrap();
    let cases: [(&str, &[u8], &str); 4] = [
        (
            "/Filter [/ASCIIHexDecode /FlateDecode]",
            &hex,
            "filter 2 (FlateDecode)",
        ),
        ("/Filter [/A85 /Fl]", &ascii85, "filter 2 (FlateDecode)"),
        (
            "/Filter [/FlateDecode /RunLengthDecode]",
            &runs,
            "filter 2 (RunLengthDecode)",
        ),
        ("/Filter /LZWDecode", &lzw, "filter 1 (LzwDecode)"),
    ];
    for (filters, data, layer) in cases {
        assert!(data.len() < 5 << 20, "{filters}: {} bytes", data.len());
        let bomb = one_page_pdf("<< >>", stream(filters, data), &[]);
        let reason = refusal(native(&bomb, 72, &LIMITS));
        assert!(
            reason.contains("decompression bomb")
                && reason.contains(layer)
                && reason.contains("more than 256 MiB")
                && reason.contains("stream ObjectIdentifier { obj_number: 4"),
            "{filters}: {reason}"
        );
    }

    // The same behind an image whose declared size is modest (10000 x 10000 gray, 95 MiB).
    let image = stream(
        "/Type /XObject /Subtype /Image /Width 10000 /Height 10000 /ColorSpace /DeviceGray \
         /BitsPerComponent 8 /Filter [/AHx /Fl]",
        &hex,
    );
    let pdf = one_page_pdf(
        "<< /XObject << /I 5 0 R >> >>",
        stream("", b"q 100 0 0 100 0 0 cm /I Do Q"),
        &[image],
    );
    let reason = refusal(native(&pdf, 72, &LIMITS));
    assert!(
        reason.contains("stream ObjectIdentifier { obj_number: 5"),
        "{reason}"
    );

    // The same inside the page's content, as an inline image.
    let mut content =
        b"q 100 0 0 100 0 0 cm BI /W 10000 /H 10000 /CS /G /BPC 8 /F [/AHx /Fl] ID ".to_vec();
    content.extend_from_slice(&hex);
    content.extend_from_slice(b"> EI Q");
    let pdf = one_page_pdf("<< >>", stream("", &content), &[]);
    let reason = refusal(native(&pdf, 72, &LIMITS));
    assert!(
        reason.contains("page 1 has an inline image that decodes"),
        "{reason}"
    );

    // An image whose JPEG header declares far more than its dictionary.
    let jpeg = [
        0xFF, 0xD8, 0xFF, 0xC0, 0x00, 0x11, 0x08, 0xFF, 0xFF, 0xFF, 0xFF, 0x03,
    ];
    let image = stream(
        "/Type /XObject /Subtype /Image /Width 10 /Height 10 /ColorSpace /DeviceRGB \
         /BitsPerComponent 8 /Filter /DCTDecode",
        &jpeg,
    );
    let pdf = one_page_pdf(
        "<< /XObject << /I 5 0 R >> >>",
        stream("", b"q 100 0 0 100 0 0 cm /I Do Q"),
        &[image],
    );
    let reason = refusal(native(&pdf, 72, &LIMITS));
    assert!(
        reason.contains("65535x65535 pixels in its JPEG header"),
        "{reason}"
    );
}

/// ASCII85 text of `data` (whole groups only; `z` for zeros).
fn ascii85(data: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    for chunk in data.chunks(4) {
        let mut word = [0u8; 4];
        word[..chunk.len()].copy_from_slice(chunk);
        let mut value = u32::from_be_bytes(word);
        if value == 0 && chunk.len() == 4 {
            out.push(b'z');
            continue;
        }
        let mut digits = [0u8; 5];
        for d in digits.iter_mut().rev() {
            *d = (value % 85) as u8 + b'!';
            value /= 85;
        }
        out.extend_from_slice(&digits[..chunk.len() + 1]);
    }
    out.extend_from_slice(b"~>");
    out
}

/// Forms that each draw the next twice: 2^45 draws of the last from a few KiB. Refused from a
/// count of operators before hayro starts, as is a cycle of forms.
#[test]
fn fanned_out_forms_are_refused_before_rendering() {
    let levels = 45;
    let mut extra = Vec::new();
    for level in 0..levels {
        let object = 5 + level;
        let body: &[u8] = if level + 1 == levels {
            b"0 g 0 0 595 842 re f"
        } else {
            b"/N Do /N Do"
        };
        let resources = if level + 1 == levels {
            String::new()
        } else {
            format!("/Resources << /XObject << /N {} 0 R >> >>", object + 1)
        };
        extra.push(stream(
            &format!("/Type /XObject /Subtype /Form /BBox [0 0 595 842] {resources}"),
            body,
        ));
    }
    let pdf = one_page_pdf(
        "<< /XObject << /N 5 0 R >> >>",
        stream("", b"/N Do"),
        &extra,
    );
    assert!(pdf.len() < 16 << 10, "{} bytes", pdf.len());
    let started = Instant::now();
    let reason = refusal(native(&pdf, 72, &LIMITS));
    assert!(
        reason.contains("page 1 draws more than 1000000 operators once its forms"),
        "{reason}"
    );
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "{:?}",
        started.elapsed()
    );

    // A form without resources of its own draws the page's name for itself.
    let form = stream(
        "/Type /XObject /Subtype /Form /BBox [0 0 9 9]",
        b"0 g 0 0 5 5 re f /P Do",
    );
    let pdf = one_page_pdf(
        "<< /XObject << /P 5 0 R >> >>",
        stream("", b"/P Do"),
        &[form],
    );
    let reason = refusal(native(&pdf, 72, &LIMITS));
    assert!(
        reason.contains("page 1 draws object ObjectIdentifier { obj_number: 5")
            && reason.contains("cycle"),
        "{reason}"
    );

    // A Type 3 font whose glyph draws 10,000 operators, shown 200 times: 2 M.
    let glyph = "0 0 1 1 re f ".repeat(5_000);
    let font = "<< /Type /Font /Subtype /Type3 /FontBBox [0 0 1 1] /FontMatrix [1 0 0 1 0 0] \
                /CharProcs << /a 6 0 R >> /Encoding << /Differences [97 /a] >> /FirstChar 97 \
                /LastChar 97 /Widths [1] >>";
    let text = format!("BT /T 1 Tf ({}) Tj ET", "a".repeat(200));
    let pdf = one_page_pdf(
        "<< /Font << /T 5 0 R >> >>",
        stream("", text.as_bytes()),
        &[font.as_bytes().to_vec(), stream("", glyph.as_bytes())],
    );
    let reason = refusal(native(&pdf, 72, &LIMITS));
    assert!(reason.contains("page 1 draws more than"), "{reason}");
}

/// A PDF whose pages (objects 3 onwards) each list `listings` content streams by reference;
/// the first free object number after them is the first of `extra`.
fn listing_pdf(pages: usize, listings: &[&str], extra: &[Vec<u8>]) -> Vec<u8> {
    let kids: Vec<String> = (0..pages).map(|p| format!("{} 0 R", 3 + p)).collect();
    let mut objects = vec![
        b"<< /Type /Catalog /Pages 2 0 R >>".to_vec(),
        format!(
            "<< /Type /Pages /Kids [{}] /Count {pages} >>",
            kids.join(" ")
        )
        .into_bytes(),
    ];
    for _ in 0..pages {
        objects.push(
            format!(
                "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Resources << >> \
                 /Contents [{}] >>",
                listings.join(" ")
            )
            .into_bytes(),
        );
    }
    objects.extend_from_slice(extra);
    raw_pdf(&objects)
}

/// The bomb bound counts each stream object once, but hayro decodes a content stream once per
/// listing and keeps every page's joined content while the document is open: one stream
/// listed eight times on a page, or shared by pages, is refused by its listings, before
/// anything is decoded more than once.
#[test]
fn a_content_stream_listed_many_times_is_refused_by_its_listings() {
    // 40 MiB of spaces (about 40 KiB deflated) listed eight times: 320 MiB on one page.
    let spaces = zlib((0..40).map(|_| vec![b' '; 1 << 20]));
    let content = stream("/Filter /FlateDecode", &spaces);
    let pdf = listing_pdf(1, &["4 0 R"; 8], &[content]);
    assert!(pdf.len() < 1 << 20);
    refused_within(
        &pdf,
        &LIMITS,
        Duration::from_secs(5),
        &["page 1 has more than 256 MiB of content"],
    );

    // 200 MiB of spaces on each of six pages, one listing each: 1.2 GiB kept in memory.
    let spaces = zlib((0..200).map(|_| vec![b' '; 1 << 20]));
    let content = stream("/Filter /FlateDecode", &spaces);
    let pdf = listing_pdf(6, &["9 0 R"], &[content]);
    refused_within(
        &pdf,
        &LIMITS,
        Duration::from_secs(5),
        &[
            "content streams decode to more than 1024 MiB together",
            "page 6",
        ],
    );
}

/// Renders `pdf` at 72 dpi under `limits` and checks it is refused within `within` (before any
/// rendering, which these documents would make take far longer), for a reason naming `words`.
#[track_caller]
fn refused_within(pdf: &[u8], limits: &Limits, within: Duration, words: &[&str]) {
    let started = Instant::now();
    let reason = refusal(native(pdf, 72, limits));
    assert!(words.iter().all(|w| reason.contains(w)), "{reason}");
    assert!(started.elapsed() < within, "{:?}", started.elapsed());
}

/// Eleven levels of forms each drawing the next twice, the last 20 MiB of whitespace: no
/// operators to count, but 40 GiB of content for hayro to decode and scan. Refused at once by
/// the content bound, where it used to run until the job's time bound abandoned it.
#[test]
fn forms_that_fan_out_whitespace_are_refused_by_their_content() {
    let _alone = alone();
    let levels = 11;
    let whitespace = zlib((0..20).map(|_| vec![b' '; 1 << 20]));
    let mut extra = Vec::new();
    for level in 0..levels {
        let object = 5 + level;
        if level + 1 == levels {
            extra.push(stream(
                "/Type /XObject /Subtype /Form /BBox [0 0 595 842] /Filter /FlateDecode",
                &whitespace,
            ));
        } else {
            extra.push(stream(
                &format!(
                    "/Type /XObject /Subtype /Form /BBox [0 0 595 842] \
                     /Resources << /XObject << /N {} 0 R >> >>",
                    object + 1
                ),
                b"/N Do /N Do",
            ));
        }
    }
    let pdf = one_page_pdf(
        "<< /XObject << /N 5 0 R >> >>",
        stream("", b"/N Do /N Do"),
        &extra,
    );
    // Whatever gets past the check would be abandoned after 2 s rather than 60.
    let limits = Limits {
        page_time: Duration::from_secs(2),
        ..LIMITS
    };
    refused_within(
        &pdf,
        &limits,
        Duration::from_secs(2),
        &["page 1 has more than 256 MiB of content"],
    );
}

#[test]
fn sides_beyond_the_pixel_cap_are_refused_before_allocation() {
    // A 200-inch square page at 144 dpi is 829 M pixels: too many even in bands.
    let huge = raw_pdf(&[
        b"<< /Type /Catalog /Pages 2 0 R >>".to_vec(),
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>".to_vec(),
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 14400 14400] >>".to_vec(),
    ]);
    let reason = refusal(native(&huge, 144, &LIMITS));
    assert!(reason.contains("more than the 600000000"), "{reason}");

    // A4 at 4800 dpi on a printer that claims it: 2.2 G pixels per side.
    let dir = tempfile::tempdir().unwrap();
    let profile = DeviceProfile {
        dpis: vec![4800],
        default_dpi: 4800,
        quality_dpi: None,
        ..DeviceProfile::default()
    };
    let pdf = one_page_pdf("<< >>", stream("", b"0 g 0 0 10 10 re f"), &[]);
    let result = render_job(&JobRequest {
        document: &pdf,
        content_type: PDF,
        ticket: &Ticket::default(),
        profile: &profile,
        out_dir: dir.path(),
        cancel: &CancellationToken::new(),
        on_sheet: &|_| {},
    });
    match result {
        Err(RenderError::InvalidOption { option: "dpi", .. }) => {}
        other => panic!("{other:?}"),
    }
}

/// A page that takes seconds: thousands of paths zigzagging across the whole page (far past
/// the path memory bound, which the tests that use it lift to reach the rasteriser).
fn slow_page(paths: usize) -> Vec<u8> {
    let mut content = String::new();
    for p in 0..paths {
        content.push_str(&format!("{} g 0 0 m ", (p % 10) as f64 / 10.0));
        for i in 0..200 {
            let (x, y) = ((i * 37 + p * 11) % 595, if i % 2 == 0 { 0 } else { 842 });
            content.push_str(&format!("{x} {y} l "));
        }
        content.push_str("f\n");
    }
    one_page_pdf("<< >>", stream("", content.as_bytes()), &[])
}

/// Tests with pages that take seconds and gigabytes run one at a time, and each starts once the
/// workers an earlier one abandoned have ended: so each counts only its own abandoned workers
/// (the count is process-wide), and their memory never adds up.
static HEAVY: std::sync::Mutex<()> = std::sync::Mutex::new(());

fn alone() -> std::sync::MutexGuard<'static, ()> {
    let guard = HEAVY.lock().unwrap_or_else(|p| p.into_inner());
    let deadline = Instant::now() + Duration::from_secs(300);
    while abandoned_workers() > 0 {
        assert!(Instant::now() < deadline, "abandoned workers never ended");
        std::thread::sleep(Duration::from_millis(50));
    }
    guard
}

#[test]
fn a_page_that_overruns_its_time_bound_fails_the_job_promptly() {
    let _alone = alone();
    let limits = Limits {
        page_time: Duration::from_millis(200),
        page_path_bytes: u64::MAX,
        ..LIMITS
    };
    let started = Instant::now();
    let reason = refusal(native(&slow_page(2000), 150, &limits));
    let waited = started.elapsed();
    assert!(reason.contains("took longer than 0.2 s"), "{reason}");
    // The bound, plus the dispatcher's polling and a loaded machine's scheduling.
    assert!(waited < Duration::from_secs(3), "returned after {waited:?}");
}

/// Hostile documents one after another cannot pile up render threads: once `max_abandoned`
/// workers are still inside overrun pages, the next job waits until their pages end.
#[test]
fn jobs_wait_while_too_many_abandoned_workers_run() {
    let _alone = alone();
    let limits = Limits {
        page_time: Duration::from_millis(100),
        max_abandoned: 1,
        page_path_bytes: u64::MAX,
        ..LIMITS
    };
    refusal(native(&slow_page(2000), 150, &limits));
    assert_eq!(
        abandoned_workers(),
        1,
        "the overrun page (seconds of work) is still being rasterised"
    );
    // The next job's own page has time to spare: 0.1 s is too tight for an unoptimised build
    // on a loaded machine, and what this checks is the wait, not that page's time.
    let page = crate::testpage::generate(&[(595.0, 842.0)]).unwrap();
    let patient = Limits {
        page_time: Duration::from_secs(30),
        ..limits
    };
    native(&page, 72, &patient).unwrap();
    assert_eq!(abandoned_workers(), 0);
}

/// A worker abandoned inside a page stops at hayro's next object lookup (the next form it
/// draws) rather than finishing the page for nothing: its thread and memory are back in a
/// fraction of the time the page takes.
#[test]
fn an_abandoned_worker_stops_at_the_next_form_it_draws() {
    let _alone = alone();
    let mut paths = String::new();
    for p in 0..50 {
        paths.push_str(&format!("{} g 0 0 m ", (p % 10) as f64 / 10.0));
        for i in 0..200 {
            let (x, y) = ((i * 37 + p * 11) % 595, if i % 2 == 0 { 0 } else { 842 });
            paths.push_str(&format!("{x} {y} l "));
        }
        paths.push_str("f\n");
    }
    let form = stream(
        "/Type /XObject /Subtype /Form /BBox [0 0 595 842]",
        paths.as_bytes(),
    );
    let pdf = one_page_pdf(
        "<< /XObject << /Z 5 0 R >> >>",
        stream("", "/Z Do ".repeat(40).as_bytes()),
        &[form],
    );
    let limits = Limits {
        page_time: Duration::from_millis(200),
        page_path_bytes: u64::MAX,
        ..LIMITS
    };
    let reason = refusal(native(&pdf, 150, &limits));
    assert!(reason.contains("took longer than 0.2 s"), "{reason}");
    let abandoned = Instant::now();
    while abandoned_workers() > 0 {
        assert!(
            abandoned.elapsed() < Duration::from_secs(2),
            "the abandoned worker is still drawing the page"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// A page whose coverage outgrows vello_cpu's 31-bit alpha index makes it panic: the job is
/// refused as unprintable, naming the page, not reported as cancelled.
#[test]
fn a_page_that_breaks_the_rasteriser_is_refused_as_unprintable() {
    let _alone = alone();
    let limits = Limits {
        page_time: Duration::from_secs(600),
        page_path_bytes: u64::MAX,
        ..LIMITS
    };
    let reason = refusal(native(&slow_page(4000), 150, &limits));
    assert!(
        reason.contains("page(s) [1] broke the rasteriser") && reason.contains("alpha_idx"),
        "{reason}"
    );
}

/// Segments in each path of [`huge_paths_page`].
const SEGMENTS_PER_PATH: usize = 200;

/// A page of `paths` long paths of [`SEGMENTS_PER_PATH`] segments each, every one spanning the
/// page, in turn: a filled zigzag of lines, a curve chain stroked wide and dashed, a zigzag
/// clipping a full-page fill, and lines and curves filled and stroked.
fn huge_paths_page(paths: usize) -> Vec<u8> {
    let mut content = String::new();
    for p in 0..paths {
        let x = |i: usize| (i * 37 + p * 11) % 595;
        let y = |i: usize| if i.is_multiple_of(2) { 0 } else { 842 };
        let mut path = String::from("0 0 m ");
        for i in 0..SEGMENTS_PER_PATH {
            if p % 4 == 1 || (p % 4 == 3 && i % 2 == 0) {
                let (x1, x2, x3) = (x(3 * i), x(3 * i + 1), x(3 * i + 2));
                path.push_str(&format!("{x1} 842 {x2} 0 {x3} {} c ", y(i)));
            } else {
                path.push_str(&format!("{} {} l ", x(i), y(i)));
            }
        }
        let gray = (p % 10) as f64 / 10.0;
        content.push_str(&match p % 4 {
            0 => format!("{gray} g {path}f\n"),
            1 => format!("{gray} G 12 w [6 3] 0 d {path}S [] 0 d\n"),
            2 => format!("q {path}W n {gray} g 0 0 595 842 re f Q\n"),
            _ => format!("{gray} g 0.5 G 4 w {path}B\n"),
        });
    }
    one_page_pdf("<< >>", stream("", content.as_bytes()), &[])
}

/// Renders `huge_paths_page(paths)` natively at `dpi` in a process of its own (so that its peak
/// memory is the page's alone) under the default limits: what happened and the peak RSS.
fn huge_paths_in_child(paths: usize, dpi: u32) -> (String, u64) {
    let output = std::process::Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "hostile_tests::huge_paths_child_process",
            "--ignored",
            "--nocapture",
            "--test-threads=1",
        ])
        .env("PRINTLAB_HUGE_PATHS", format!("{paths} {dpi}"))
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    let field = |key: &str| {
        // libtest may print the test's name on the same line before the child's own output.
        stdout
            .lines()
            .find_map(|line| line.find(key).map(|at| line[at + key.len()..].trim()))
            .unwrap_or_else(|| panic!("no {key} from the child: {stdout} {output:?}"))
            .to_string()
    };
    (field("OUTCOME "), field("PEAK_RSS ").parse().unwrap())
}

/// The child of [`huge_paths_in_child`]; does nothing when run without its parent.
#[test]
#[ignore = "run by huge_paths_in_child in a process of its own"]
fn huge_paths_child_process() {
    let Ok(spec) = std::env::var("PRINTLAB_HUGE_PATHS") else {
        return;
    };
    let [paths, dpi]: [usize; 2] = spec
        .split(' ')
        .map(|v| v.parse().unwrap())
        .collect::<Vec<_>>()
        .try_into()
        .unwrap();
    let outcome = match native(&huge_paths_page(paths), dpi as u32, &LIMITS) {
        Ok(_) => "rendered".to_string(),
        Err(RenderError::Unprintable { reason, .. }) => format!("refused: {reason}"),
        Err(other) => panic!("{other:?}"),
    };
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    let peak_kib: u64 = status
        .lines()
        .find_map(|line| line.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap();
    println!("OUTCOME {outcome}");
    println!("PEAK_RSS {}", peak_kib << 10);
}

/// The page's path load estimate at `dpi`, as the renderer computes it.
fn path_bytes(pdf: &[u8], dpi: u32) -> u64 {
    let (document, _) = source::open(pdf, PDF, &[PDF.to_string()]).unwrap();
    let Document::Pdf { costs, .. } = document else {
        unreachable!("a PDF opens as a PDF")
    };
    costs[0]
        .paths
        .bytes_at(hayro::kurbo::Affine::scale(dpi as f64 / 72.0))
}

/// A page of a few thousand page-spanning paths (800,000 segments, under the operator bound)
/// took vello_cpu 2.8 GB before it panicked. Such pages are refused before rasterising; a page
/// just under the path bound renders, and each stays within the bound above what a one-path
/// page takes, measured as the peak RSS of a process rendering that page alone.
#[test]
fn pages_of_huge_paths_stay_within_the_path_memory_bound() {
    let _alone = alone();
    let dpi = 150;
    let bound = LIMITS.page_path_bytes;
    let (outcome, baseline) = huge_paths_in_child(4, dpi);
    assert_eq!(outcome, "rendered");

    let (outcome, peak) = huge_paths_in_child(4000, dpi);
    assert!(
        outcome.starts_with("refused: page 1: its paths would make the rasteriser hold about")
            && outcome.contains(&format!("more than the {} MiB", bound >> 20)),
        "{outcome}"
    );
    assert!(
        peak < baseline + bound,
        "refusing took {} MiB above the {} MiB baseline",
        (peak - baseline) >> 20,
        baseline >> 20
    );

    // The most whole groups of the four kinds of path whose estimate is under the bound.
    let group = path_bytes(&huge_paths_page(4), dpi);
    let mut under = 4 * (bound / group) as usize;
    while path_bytes(&huge_paths_page(under), dpi) > bound {
        under -= 4;
    }
    while path_bytes(&huge_paths_page(under + 4), dpi) <= bound {
        under += 4;
    }
    let over = huge_paths_page(under + 4);
    let reason = refusal(native(&over, dpi, &LIMITS));
    assert!(reason.starts_with("page 1: its paths"), "{reason}");
    // Jobs, and counting them, refuse it the same way at the printer's resolution.
    let dir = tempfile::tempdir().unwrap();
    let request = JobRequest {
        document: &over,
        content_type: PDF,
        ticket: &Ticket::default(),
        profile: &DeviceProfile::default(),
        out_dir: dir.path(),
        cancel: &CancellationToken::new(),
        on_sheet: &|_| {},
    };
    let reason = refusal(render_job(&request));
    assert!(reason.starts_with("page 1: its paths"), "{reason}");
    match count_job(&request) {
        Err(RenderError::Unprintable { reason, .. }) => {
            assert!(reason.starts_with("page 1: its paths"), "{reason}")
        }
        other => panic!("{other:?}"),
    }

    let (outcome, peak) = huge_paths_in_child(under, dpi);
    assert_eq!(outcome, "rendered", "{under} paths");
    assert!(
        peak < baseline + bound,
        "{under} paths took {} MiB above the {} MiB baseline",
        (peak - baseline) >> 20,
        baseline >> 20
    );
}
