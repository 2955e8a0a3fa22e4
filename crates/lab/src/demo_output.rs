//! What came out of a demo job, checked rather than trusted: the settings the job asked for
//! were the ones applied, the number of sheets is what the document's pages, the page ranges,
//! n-up, duplex and copies make, and every printed side is a PNG of the medium's size at the
//! job's resolution, in colour only when colour was asked for, with the bytes the manifest
//! names.

use printlab_graph::{MediaSize, PrintColorMode, PrintDuplexMode, PrintJobConfiguration};
use serde::Deserialize;
use sha2::{Digest, Sha256};
use std::path::Path;

/// What the checks found: the sheets and sides counted, and each mismatch in words.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct OutputCheck {
    pub sheets: usize,
    pub sides: usize,
    pub problems: Vec<String>,
}

impl OutputCheck {
    pub fn passed(&self) -> bool {
        self.problems.is_empty()
    }
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Manifest {
    document_pages: usize,
    settings: Option<Settings>,
    sides: Vec<Side>,
    media_sheets: usize,
    #[serde(default)]
    stopped_at_limit: Option<serde_json::Value>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Settings {
    media: String,
    dpi: u32,
    color: String,
    pages_per_sheet: u32,
    duplex: String,
    copies: u32,
    page_ranges: Vec<(u32, u32)>,
}

#[derive(Deserialize)]
struct Side {
    file: String,
    sheet: usize,
    back: bool,
    sha256: String,
}

/// Checks the output folder of a completed job that asked for `asked`.
pub fn check_output(dir: &Path, asked: &PrintJobConfiguration) -> OutputCheck {
    let mut check = OutputCheck::default();
    let manifest: Manifest = match std::fs::read_to_string(dir.join("manifest.json"))
        .map_err(|e| e.to_string())
        .and_then(|text| serde_json::from_str(&text).map_err(|e| e.to_string()))
    {
        Ok(manifest) => manifest,
        Err(why) => {
            check.problems.push(format!("manifest.json: {why}"));
            return check;
        }
    };
    let Some(settings) = &manifest.settings else {
        check
            .problems
            .push("manifest.json names no settings".into());
        return check;
    };
    compare_asked(asked, settings, &mut check.problems);

    let selected = selected_pages(manifest.document_pages, &settings.page_ranges);
    let sides_per_copy = selected.div_ceil(settings.pages_per_sheet.max(1) as usize);
    let sheets_per_copy = if settings.duplex == "oneSided" {
        sides_per_copy
    } else {
        sides_per_copy.div_ceil(2)
    };
    let expected_sheets = sheets_per_copy * settings.copies as usize;
    check.sheets = manifest.media_sheets;
    check.sides = manifest.sides.len();
    if manifest.stopped_at_limit.is_none() && manifest.media_sheets != expected_sheets {
        check.problems.push(format!(
            "{} sheets, expected {expected_sheets} ({selected} pages, {} per side, {}, {} copies)",
            manifest.media_sheets, settings.pages_per_sheet, settings.duplex, settings.copies
        ));
    }
    let fronts = manifest.sides.iter().filter(|s| !s.back).count();
    if fronts != manifest.media_sheets {
        check.problems.push(format!(
            "{fronts} front sides for {} sheets",
            manifest.media_sheets
        ));
    }
    if settings.duplex == "oneSided" && manifest.sides.iter().any(|s| s.back) {
        check.problems.push("a back side on a one-sided job".into());
    }
    if manifest
        .sides
        .iter()
        .any(|s| s.sheet == 0 || s.sheet > manifest.media_sheets)
    {
        check
            .problems
            .push("a side names a sheet that was not printed".into());
    }

    let expected_size = MediaSize::by_pwg_name(&settings.media).map(|media| {
        let pixels = |hundredths: u32| {
            (f64::from(hundredths) / 2540.0 * f64::from(settings.dpi)).round() as i64
        };
        (pixels(media.width), pixels(media.height))
    });
    let colour = settings.color == "color";
    for side in &manifest.sides {
        let path = dir.join(&side.file);
        let bytes = match std::fs::read(&path) {
            Ok(bytes) => bytes,
            Err(e) => {
                check.problems.push(format!("{}: {e}", side.file));
                continue;
            }
        };
        if hex::encode(Sha256::digest(&bytes)) != side.sha256 {
            check.problems.push(format!(
                "{}: its bytes are not the ones the manifest names",
                side.file
            ));
        }
        let info = png::Decoder::new(std::io::Cursor::new(&bytes))
            .read_info()
            .map(|reader| {
                let info = reader.info();
                (info.width, info.height, info.color_type)
            });
        let (width, height, color_type) = match info {
            Ok(info) => info,
            Err(e) => {
                check
                    .problems
                    .push(format!("{}: not a PNG ({e})", side.file));
                continue;
            }
        };
        if let Some((expected_width, expected_height)) = expected_size
            && ((i64::from(width) - expected_width).abs() > 1
                || (i64::from(height) - expected_height).abs() > 1)
        {
            check.problems.push(format!(
                "{}: {width}x{height} px, expected {expected_width}x{expected_height} ({} at {} dpi)",
                side.file, settings.media, settings.dpi
            ));
        }
        let is_colour = matches!(
            color_type,
            png::ColorType::Rgb | png::ColorType::Rgba | png::ColorType::Indexed
        );
        if is_colour && !colour {
            check.problems.push(format!(
                "{}: a colour PNG for a {} job",
                side.file, settings.color
            ));
        }
    }
    check
}

/// The options the job set must be the ones applied (the rest came from the printer's defaults).
fn compare_asked(asked: &PrintJobConfiguration, applied: &Settings, problems: &mut Vec<String>) {
    let mut differs = |option: &str, asked: String, applied: String| {
        if asked != applied {
            problems.push(format!("{option}: asked {asked}, printed {applied}"));
        }
    };
    if let Some(copies) = asked.copies {
        differs("copies", copies.to_string(), applied.copies.to_string());
    }
    if let Some(duplex) = asked.duplex_mode {
        let name = match duplex {
            PrintDuplexMode::FlipOnLongEdge => "longEdge",
            PrintDuplexMode::FlipOnShortEdge => "shortEdge",
            _ => "oneSided",
        };
        differs("duplexMode", name.into(), applied.duplex.clone());
    }
    if let Some(n) = asked.pages_per_sheet {
        differs(
            "pagesPerSheet",
            n.to_string(),
            applied.pages_per_sheet.to_string(),
        );
    }
    if let Some(dpi) = asked.dpi {
        differs("dpi", dpi.to_string(), applied.dpi.to_string());
    }
    if let Some(media) = asked
        .media_size
        .as_deref()
        .and_then(MediaSize::by_graph_name)
    {
        differs("mediaSize", media.pwg_name.into(), applied.media.clone());
    }
    if let Some(mode) = asked.color_mode {
        let colour = applied.color == "color";
        match mode {
            PrintColorMode::Color if !colour => {
                problems.push(format!("colorMode: asked color, printed {}", applied.color));
            }
            PrintColorMode::BlackAndWhite | PrintColorMode::Grayscale if colour => {
                problems.push(format!("colorMode: asked {mode}, printed color"));
            }
            _ => {}
        }
    }
}

/// How many of `pages` the ranges select (all when there are none).
fn selected_pages(pages: usize, ranges: &[(u32, u32)]) -> usize {
    if ranges.is_empty() {
        return pages;
    }
    (1..=pages)
        .filter(|page| {
            ranges
                .iter()
                .any(|(from, to)| (*from as usize..=*to as usize).contains(page))
        })
        .count()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges_select_pages_once_each() {
        assert_eq!(selected_pages(4, &[]), 4);
        assert_eq!(selected_pages(4, &[(1, 2), (2, 3)]), 3);
        assert_eq!(selected_pages(4, &[(3, 9)]), 2);
    }

    /// A PNG of `width`×`height`, colour or gray.
    fn png(width: u32, height: u32, colour: bool) -> Vec<u8> {
        let mut bytes = Vec::new();
        let mut encoder = png::Encoder::new(&mut bytes, width, height);
        encoder.set_color(if colour {
            png::ColorType::Rgb
        } else {
            png::ColorType::Grayscale
        });
        encoder.set_depth(png::BitDepth::Eight);
        let channels = if colour { 3 } else { 1 };
        let mut writer = encoder.write_header().unwrap();
        writer
            .write_image_data(&vec![255; (width * height * channels) as usize])
            .unwrap();
        writer.finish().unwrap();
        bytes
    }

    /// A job's output folder: a 2-page A4 document at 72 dpi, one-sided, one side per page.
    fn output(dir: &Path, sides: &[Vec<u8>], color: &str, sheets: usize) {
        let mut records = Vec::new();
        for (i, bytes) in sides.iter().enumerate() {
            let file = format!("{:04}-sheet{:04}-front.png", i + 1, i + 1);
            std::fs::write(dir.join(&file), bytes).unwrap();
            records.push(serde_json::json!({
                "file": file, "sheet": i + 1, "back": false,
                "sha256": hex::encode(Sha256::digest(bytes)),
            }));
        }
        let manifest = serde_json::json!({
            "documentPages": 2,
            "settings": {
                "media": "iso_a4_210x297mm", "dpi": 72, "color": color, "pagesPerSheet": 1,
                "duplex": "oneSided", "copies": 1, "pageRanges": [],
            },
            "sides": records,
            "mediaSheets": sheets,
        });
        std::fs::write(dir.join("manifest.json"), manifest.to_string()).unwrap();
    }

    #[test]
    fn a_faithful_output_passes_and_each_defect_is_named() {
        let gray = PrintJobConfiguration {
            color_mode: Some(PrintColorMode::Grayscale),
            ..Default::default()
        };
        let page = png(595, 842, false);
        let dir = tempfile::tempdir().unwrap();
        output(dir.path(), &[page.clone(), page.clone()], "grayscale", 2);
        let check = check_output(dir.path(), &gray);
        assert!(check.passed(), "{:?}", check.problems);
        assert_eq!((check.sheets, check.sides), (2, 2));

        let cases: [(Vec<Vec<u8>>, &str, usize, &str); 4] = [
            (vec![page.clone()], "grayscale", 1, "1 sheets, expected 2"),
            (
                vec![page.clone(), png(842, 595, false)],
                "grayscale",
                2,
                "842x595 px, expected 595x842",
            ),
            (
                vec![page.clone(), png(595, 842, true)],
                "grayscale",
                2,
                "a colour PNG",
            ),
            (
                vec![page.clone(), page.clone()],
                "color",
                2,
                "colorMode: asked grayscale, printed color",
            ),
        ];
        for (sides, color, sheets, expected) in cases {
            let dir = tempfile::tempdir().unwrap();
            output(dir.path(), &sides, color, sheets);
            let check = check_output(dir.path(), &gray);
            assert!(
                check.problems.iter().any(|p| p.contains(expected)),
                "{expected}: {:?}",
                check.problems
            );
        }

        // Bytes changed after the manifest was written.
        let dir = tempfile::tempdir().unwrap();
        output(dir.path(), &[page.clone(), page], "grayscale", 2);
        std::fs::write(
            dir.path().join("0002-sheet0002-front.png"),
            png(595, 842, false).repeat(2),
        )
        .unwrap();
        let check = check_output(dir.path(), &gray);
        assert!(
            check
                .problems
                .iter()
                .any(|p| p.contains("not the ones the manifest names")),
            "{:?}",
            check.problems
        );
    }

    #[test]
    fn a_missing_folder_is_named() {
        let dir = tempfile::tempdir().unwrap();
        let check = check_output(dir.path(), &PrintJobConfiguration::default());
        assert!(!check.passed());
        assert!(
            check.problems[0].starts_with("manifest.json"),
            "{:?}",
            check.problems
        );
    }
}
