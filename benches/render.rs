//! Pages per second to PNG files on disk, printlab against `mutool draw` and `pdftoppm -png`
//! on the same pages in the same run, at 150 and 300 dpi; plus the PNG encoding share of
//! printlab's time, and the time spent opening the documents (parse plus the decompression-bomb
//! check). The tools run single process, as a user would run them.
//!
//! Then one A4 page at 600 dpi (35 M pixels: drawn whole when the page is heavy, in cache-sized
//! bands when it is light) against the same page at 1440 dpi (200 M pixels, past the 150 M a
//! worker holds whole: in bands whatever the page): seconds and the process's peak RSS for
//! each, the peak reset in between through `/proc/self/clear_refs`.
//!
//! `PRINTLAB_BENCH_PAGES` (default 6) sets the pages taken from the start of each corpus file,
//! which bounds the run time. Run: `cargo bench --bench render`.
//!
//! Targets, at each dpi: printlab at least 2x the pages per second of `mutool draw` and 10x
//! those of `pdftoppm`; PNG encoding at most 30 % of render plus encode.

use printlab_render::{self as render, PDF};
use printlab_testkit::bench_targets::Targets;
use std::path::Path;
use std::process::Command;
use std::time::Instant;
use tokio_util::sync::CancellationToken;

const CORPUS: &[&str] = &[
    "/usr/share/R/doc/manual/R-intro.pdf",
    "/usr/share/doc/python-reportlab-doc/reportlab-userguide.pdf",
    "/usr/share/doc/ghostscript/GS9_Color_Management.pdf",
];

fn timed(mut run: impl FnMut()) -> f64 {
    let start = Instant::now();
    run();
    start.elapsed().as_secs_f64()
}

fn main() {
    let pages: u32 = std::env::var("PRINTLAB_BENCH_PAGES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(6);
    for path in CORPUS {
        assert!(
            Path::new(path).exists(),
            "{path} is missing: install r-doc-pdf, python-reportlab-doc, ghostscript-doc"
        );
    }
    let out = tempfile::tempdir().unwrap();
    let dir = |name: &str| {
        let d = out.path().join(name);
        std::fs::create_dir_all(&d).unwrap();
        d
    };
    println!(
        "{} files x {pages} pages, {} cores",
        CORPUS.len(),
        std::thread::available_parallelism().map_or(1, |n| n.get())
    );
    println!(
        "{:>4} {:>13} {:>13} {:>13} {:>10} {:>12} {:>11} {:>10}",
        "dpi",
        "printlab p/s",
        "mutool p/s",
        "pdftoppm p/s",
        "vs mutool",
        "vs pdftoppm",
        "PNG share",
        "open ms"
    );
    let mut targets = Targets::new("render");
    let mut rows = Vec::new();
    for dpi in [150u32, 300] {
        let total_pages = (CORPUS.len() as u32 * pages) as f64;
        let (mut ours, mut mutool, mut poppler) = (0.0, 0.0, 0.0);
        let (mut render_ms, mut encode_ms, mut open_ms) = (0.0, 0.0, 0.0);
        for (i, path) in CORPUS.iter().enumerate() {
            let bytes = std::fs::read(path).unwrap();
            let target = dir(&format!("ours-{dpi}-{i}"));
            ours += timed(|| {
                let m = render::render_native(
                    &bytes,
                    PDF,
                    dpi,
                    &[(1, pages)],
                    &target,
                    &CancellationToken::new(),
                )
                .unwrap();
                render_ms += m.timings.render_ms;
                encode_ms += m.timings.encode_ms;
                open_ms += m.timings.open_ms;
            });
            let target = dir(&format!("mutool-{dpi}-{i}"));
            mutool += timed(|| {
                let status = Command::new("mutool")
                    .args(["draw", "-q", "-r", &dpi.to_string(), "-o"])
                    .arg(target.join("x%d.png"))
                    .arg(path)
                    .arg(format!("1-{pages}"))
                    // Debian's build warns about missing ICC support on every file.
                    .stderr(std::process::Stdio::null())
                    .status()
                    .expect("mutool (mupdf-tools) runs");
                assert!(status.success());
            });
            let target = dir(&format!("poppler-{dpi}-{i}"));
            poppler += timed(|| {
                let status = Command::new("pdftoppm")
                    .args([
                        "-png",
                        "-r",
                        &dpi.to_string(),
                        "-f",
                        "1",
                        "-l",
                        &pages.to_string(),
                    ])
                    .arg(path)
                    .arg(target.join("x"))
                    .status()
                    .expect("pdftoppm (poppler-utils) runs");
                assert!(status.success());
            });
        }
        let png_share = 100.0 * encode_ms / (render_ms + encode_ms);
        println!(
            "{:>4} {:>13.1} {:>13.1} {:>13.1} {:>9.2}x {:>11.2}x {:>10.0}% {:>10.0}",
            dpi,
            total_pages / ours,
            total_pages / mutool,
            total_pages / poppler,
            mutool / ours,
            poppler / ours,
            png_share,
            open_ms
        );
        rows.push((dpi, mutool / ours, poppler / ours, png_share));
    }
    println!();
    for (dpi, over_mutool, over_poppler, png_share) in rows {
        targets.at_least(
            &format!("{dpi} dpi speed over mutool"),
            over_mutool,
            2.0,
            "x",
        );
        targets.at_least(
            &format!("{dpi} dpi speed over pdftoppm"),
            over_poppler,
            10.0,
            "x",
        );
        targets.at_most(&format!("{dpi} dpi PNG share"), png_share, 30.0, " %");
    }
    banded_against_whole(&dir);
    targets.finish();
}

/// One A4 page of the corpus at 600 and 1440 dpi, one after the other: wall seconds, peak RSS
/// and pixels of each.
fn banded_against_whole(dir: &dyn Fn(&str) -> std::path::PathBuf) {
    let bytes = std::fs::read(CORPUS[0]).unwrap();
    println!();
    println!(
        "{:>4} {:>10} {:>12} {:>10}",
        "dpi", "seconds", "peak RSS MB", "M pixels"
    );
    for dpi in [600u32, 1440] {
        // Writing 5 resets the peak RSS to the current RSS (Linux 4.0+).
        std::fs::write("/proc/self/clear_refs", "5").unwrap();
        let target = dir(&format!("bands-{dpi}"));
        let mut pixels = 0;
        let seconds = timed(|| {
            let m = render::render_native(
                &bytes,
                PDF,
                dpi,
                &[(1, 1)],
                &target,
                &CancellationToken::new(),
            )
            .unwrap();
            pixels = m.sides[0].width as u64 * m.sides[0].height as u64;
        });
        let status = std::fs::read_to_string("/proc/self/status").unwrap();
        let peak_kb: u64 = status
            .lines()
            .find_map(|l| l.strip_prefix("VmHWM:"))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
            .unwrap();
        println!(
            "{:>4} {:>10.2} {:>12} {:>10.0}",
            dpi,
            seconds,
            peak_kb / 1024,
            pixels as f64 / 1e6
        );
    }
}
