//! Small real OpenXPS packages, written with `zip`, for the tests of the cloud's OXPS to PDF
//! conversion: the cloud test and the fleet test must send the same kind of document.

use std::io::Write;

const OXPS_NS: &str = "http://schemas.openxps.org/oxps/v1.0";

/// An OpenXPS package of `pages` A4 FixedPages (793.7 × 1122.5 in 1/96 in), page N holding one
/// filled square whose colour and place depend on N, so pages differ and a lost or repeated page
/// shows in the output.
pub fn oxps_package(pages: usize) -> Vec<u8> {
    package(pages, true)
}

/// A one-page package without its FixedDocumentSequence part (the root relationship still
/// points at it): a broken package the converter must refuse by name.
pub fn oxps_without_sequence() -> Vec<u8> {
    package(1, false)
}

fn package(pages: usize, with_sequence: bool) -> Vec<u8> {
    let mut parts: Vec<(String, String)> = vec![
        (
            "[Content_Types].xml".into(),
            concat!(
                r#"<?xml version="1.0" encoding="UTF-8"?>"#,
                r#"<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">"#,
                r#"<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>"#,
                r#"<Default Extension="fdseq" ContentType="application/vnd.ms-package.xps-fixeddocumentsequence+xml"/>"#,
                r#"<Default Extension="fdoc" ContentType="application/vnd.ms-package.xps-fixeddocument+xml"/>"#,
                r#"<Default Extension="fpage" ContentType="application/vnd.ms-package.xps-fixedpage+xml"/>"#,
                r#"</Types>"#
            )
            .into(),
        ),
        (
            "_rels/.rels".into(),
            concat!(
                r#"<?xml version="1.0" encoding="UTF-8"?>"#,
                r#"<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">"#,
                r#"<Relationship Id="R1" Type="http://schemas.openxps.org/oxps/v1.0/fixedrepresentation" Target="/FixedDocumentSequence.fdseq"/>"#,
                r#"</Relationships>"#
            )
            .into(),
        ),
        (
            "FixedDocumentSequence.fdseq".into(),
            format!(
                r#"<FixedDocumentSequence xmlns="{OXPS_NS}"><DocumentReference Source="/Documents/1/FixedDocument.fdoc"/></FixedDocumentSequence>"#
            ),
        ),
    ];
    let contents: String = (1..=pages)
        .map(|n| format!(r#"<PageContent Source="/Documents/1/Pages/{n}.fpage"/>"#))
        .collect();
    parts.push((
        "Documents/1/FixedDocument.fdoc".into(),
        format!(r#"<FixedDocument xmlns="{OXPS_NS}">{contents}</FixedDocument>"#),
    ));
    for n in 1..=pages {
        let (x, colour) = (96 * n, ["#FF0000", "#00A000", "#0000FF"][n % 3]);
        parts.push((
            format!("Documents/1/Pages/{n}.fpage"),
            format!(
                r#"<FixedPage xmlns="{OXPS_NS}" Width="793.7" Height="1122.5" xml:lang="en-US"><Path Data="M {x},96 L {x2},96 {x2},{y2} {x},{y2} Z"><Path.Fill><SolidColorBrush Color="{colour}"/></Path.Fill></Path></FixedPage>"#,
                x2 = x + 192,
                y2 = 96 + 192,
            ),
        ));
    }
    let mut zip = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let options = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated);
    for (name, text) in parts {
        if !with_sequence && name.ends_with(".fdseq") {
            continue;
        }
        zip.start_file(name, options).unwrap();
        zip.write_all(text.as_bytes()).unwrap();
    }
    zip.finish().unwrap().into_inner()
}
