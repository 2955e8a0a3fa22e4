//! Fidelity against poppler's `pdftoppm` on real PDFs nobody here wrote: the manuals Debian's
//! r-doc-pdf, python-reportlab-doc and ghostscript-doc install (tests/run.sh installs them; they
//! are read where the packages put them, never copied into the repository).
//!
//! Pass: same pixel sizes, and PSNR ≥ 28 dB after a 4x4 box downsample of both grayscale images
//! (PSNR4, which ignores anti-aliasing and glyph hinting) on at least 95 % of pages whose fonts
//! are all embedded. A page that uses non-embedded fonts measures font substitution (poppler
//! draws URW shapes, hayro and MuPDF their own), not rendering: there MuPDF scores as low as we
//! do, so such a page passes when it is no further from pdftoppm than `mutool draw` is (1 dB
//! slack). The table shows both classes.
//! CI cost stays bounded: a handful of evenly spread pages per file, at 150 dpi.

use image::GrayImage;
use printlab_render::{self as render, PDF};
use std::path::Path;
use std::process::Command;
use tokio_util::sync::CancellationToken;

const CORPUS: &[(&str, &str)] = &[
    ("/usr/share/R/doc/manual/R-intro.pdf", "r-doc-pdf"),
    ("/usr/share/R/doc/manual/R-FAQ.pdf", "r-doc-pdf"),
    ("/usr/share/R/doc/manual/R-data.pdf", "r-doc-pdf"),
    (
        "/usr/share/doc/python-reportlab-doc/reportlab-userguide.pdf",
        "python-reportlab-doc",
    ),
    (
        "/usr/share/doc/ghostscript/GS9_Color_Management.pdf",
        "ghostscript-doc",
    ),
];
const PAGES_PER_FILE: usize = 6;
const DPI: u32 = 150;
const THRESHOLD_DB: f64 = 28.0;

fn luma_image(path: &Path) -> GrayImage {
    image::open(path)
        .unwrap_or_else(|e| panic!("reading {}: {e}", path.display()))
        .into_luma8()
}

/// PSNR of the two images after averaging each 4x4 block.
fn psnr4(a: &GrayImage, b: &GrayImage) -> f64 {
    let (w, h) = (a.width() / 4, a.height() / 4);
    let block = |img: &GrayImage, bx: u32, by: u32| {
        let mut sum = 0u32;
        for y in 0..4 {
            for x in 0..4 {
                sum += img.get_pixel(bx * 4 + x, by * 4 + y).0[0] as u32;
            }
        }
        sum as f64 / 16.0
    };
    let mut squared = 0.0;
    for by in 0..h {
        for bx in 0..w {
            let d = block(a, bx, by) - block(b, bx, by);
            squared += d * d;
        }
    }
    let mse = squared / (w as f64 * h as f64);
    if mse == 0.0 {
        99.0
    } else {
        10.0 * (255.0 * 255.0 / mse).log10()
    }
}

/// PSNR4 over the area both images cover (mutool rounds sizes its own way).
fn psnr4_cropped(a: &GrayImage, b: &GrayImage) -> f64 {
    let (w, h) = (a.width().min(b.width()), a.height().min(b.height()));
    let crop = |img: &GrayImage| image::imageops::crop_imm(img, 0, 0, w, h).to_image();
    psnr4(&crop(a), &crop(b))
}

/// True when `pdffonts` lists a font on the page that the file does not embed.
fn uses_substituted_fonts(pdf: &Path, page: u32) -> bool {
    let out = Command::new("pdffonts")
        .args(["-f", &page.to_string(), "-l", &page.to_string()])
        .arg(pdf)
        .output()
        .expect("pdffonts (poppler-utils) runs");
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .skip(2)
        .any(|line| {
            let fields: Vec<&str> = line.split_whitespace().collect();
            fields.len() >= 5 && fields[fields.len() - 5] == "no"
        })
}

fn page_count(pdf: &Path) -> usize {
    let out = Command::new("pdfinfo")
        .arg(pdf)
        .output()
        .expect("pdfinfo (poppler-utils) runs");
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .find_map(|l| l.strip_prefix("Pages:"))
        .and_then(|n| n.trim().parse().ok())
        .unwrap_or_else(|| panic!("pdfinfo gives no page count for {}", pdf.display()))
}

#[test]
fn pages_match_pdftoppm() {
    let missing: Vec<String> = CORPUS
        .iter()
        .filter(|(path, _)| !Path::new(path).exists())
        .map(|(path, package)| format!("{path} (Debian package {package})"))
        .collect();
    assert!(
        missing.is_empty(),
        "the fidelity corpus is missing; install it with tests/run.sh or apt-get: {missing:?}"
    );
    assert!(
        Command::new("pdftoppm").arg("-v").output().is_ok(),
        "pdftoppm is missing: install poppler-utils (tests/run.sh does)"
    );

    let mut table = vec![format!(
        "{:<28} {:>5} {:>9} {:>12} {:>6} {:>18} {:>11}",
        "file", "pages", "min PSNR4", "median PSNR4", "pass", "mutool min/median", "subst. font"
    )];
    let (mut total, mut passed) = (0, 0);
    let (mut embedded_total, mut embedded_passed) = (0, 0);
    for (path, _) in CORPUS {
        let pdf = Path::new(path);
        let count = page_count(pdf);
        let step = count.div_ceil(PAGES_PER_FILE).max(1);
        let pages: Vec<u32> = (1..=count as u32).step_by(step).collect();
        let ours = tempfile::tempdir().unwrap();
        let ranges: Vec<(u32, u32)> = pages.iter().map(|&p| (p, p)).collect();
        let bytes = std::fs::read(pdf).unwrap();
        render::render_native(
            &bytes,
            PDF,
            DPI,
            &ranges,
            ours.path(),
            &CancellationToken::new(),
        )
        .unwrap_or_else(|e| panic!("{path}: {e}"));
        let mut scores = Vec::new();
        let mut mupdf_scores = Vec::new();
        let mut substituted = Vec::new();
        let mut page_ok = Vec::new();
        for &page in &pages {
            let prefix = ours.path().join(format!("poppler-{page}"));
            let status = Command::new("pdftoppm")
                .args([
                    "-r",
                    &DPI.to_string(),
                    "-f",
                    &page.to_string(),
                    "-l",
                    &page.to_string(),
                ])
                .args(["-png", "-gray", "-singlefile"])
                .arg(pdf)
                .arg(&prefix)
                .status()
                .unwrap();
            assert!(status.success(), "pdftoppm failed on {path} page {page}");
            let theirs = luma_image(&prefix.with_extension("png"));
            let mine = luma_image(&ours.path().join(format!("page-{page}.png")));
            assert_eq!(
                mine.dimensions(),
                theirs.dimensions(),
                "{path} page {page}: pixel size differs from pdftoppm"
            );
            scores.push(psnr4(&mine, &theirs));
            let mupdf = ours.path().join(format!("mupdf-{page}.png"));
            let status = Command::new("mutool")
                .args(["draw", "-q", "-r", &DPI.to_string(), "-c", "gray", "-o"])
                .arg(&mupdf)
                .arg(pdf)
                .arg(page.to_string())
                .status()
                .expect("mutool (mupdf-tools) runs");
            assert!(status.success(), "mutool failed on {path} page {page}");
            let mupdf_score = psnr4_cropped(&luma_image(&mupdf), &theirs);
            mupdf_scores.push(mupdf_score);
            substituted.push(uses_substituted_fonts(pdf, page));
            let ours = *scores.last().unwrap();
            let substituted_ok = *substituted.last().unwrap() && ours >= mupdf_score - 1.0;
            page_ok.push(ours >= THRESHOLD_DB || substituted_ok);
        }
        let ok = page_ok.iter().filter(|&&ok| ok).count();
        let embedded: Vec<f64> = scores
            .iter()
            .zip(&substituted)
            .filter(|(_, sub)| !**sub)
            .map(|(s, _)| *s)
            .collect();
        embedded_total += embedded.len();
        embedded_passed += embedded.iter().filter(|&&s| s >= THRESHOLD_DB).count();
        total += scores.len();
        passed += ok;
        let substituted_count = substituted.iter().filter(|&&s| s).count();
        let mut sorted = scores.clone();
        sorted.sort_by(f64::total_cmp);
        mupdf_scores.sort_by(f64::total_cmp);
        let name = pdf.file_name().unwrap().to_string_lossy();
        table.push(format!(
            "{:<28} {:>5} {:>9.1} {:>12.1} {:>5.0}% {:>11.1} / {:>4.1} {:>11}",
            name,
            scores.len(),
            sorted[0],
            sorted[sorted.len() / 2],
            100.0 * ok as f64 / scores.len() as f64,
            mupdf_scores[0],
            mupdf_scores[mupdf_scores.len() / 2],
            substituted_count,
        ));
    }
    table.push(format!(
        "{:<28} {:>5} {:>9} {:>12} {:>5.0}%",
        "all",
        total,
        "",
        "",
        100.0 * passed as f64 / total as f64
    ));
    table.push(format!(
        "pages with embedded fonts only: {embedded_passed} of {embedded_total} reach {THRESHOLD_DB} dB"
    ));
    println!("fidelity vs pdftoppm at {DPI} dpi:\n{}", table.join("\n"));
    assert!(
        embedded_passed * 100 >= embedded_total * 95 && passed * 100 >= total * 95,
        "only {passed} of {total} pages pass:\n{}",
        table.join("\n")
    );
}
