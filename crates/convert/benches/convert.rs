//! Pages per second converting an XPS corpus to PDF, against libgxps `xpstopdf` on the same
//! files in the same run. Target: at least as fast as xpstopdf (ratio ≥ 1); exits non-zero when
//! missed. Corpus: Ghostscript `xpswrite` output of Debian documentation PDFs (as in the
//! fidelity test, more pages) and the crate's feature pages. Both sides read the XPS file and
//! write the PDF file; xpstopdf is timed as the process a user would run.
//!
//! `cargo bench -p printlab-convert --bench convert`

// The one bench-target checker of the workspace, by path: this leaf crate cannot link the
// harness that holds it (the harness links the cloud, which links this crate).
#[path = "../../testkit/src/bench_targets.rs"]
#[allow(dead_code)]
mod bench_targets;
#[path = "../src/testpkg.rs"]
mod testpkg;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use printlab_convert::{Limits, xps_to_pdf};

const SOURCES: &[(&str, &str, u32, u32)] = &[
    (
        "r-intro",
        "/usr/share/doc/r-doc-pdf/manual/R-intro.pdf",
        1,
        20,
    ),
    (
        "reportlab",
        "/usr/share/doc/python-reportlab-doc/reportlab-userguide.pdf",
        1,
        12,
    ),
    (
        "gs-color",
        "/usr/share/doc/ghostscript/GS9_Color_Management.pdf",
        1,
        8,
    ),
];

/// Each side runs the whole corpus this many times at least, and for at least this long.
const MIN_ROUNDS: u32 = 3;
const MIN_TIME: Duration = Duration::from_secs(2);

fn available(tool: &str, arg: &str) -> bool {
    Command::new(tool).arg(arg).output().is_ok()
}

fn main() {
    let missing: Vec<&str> = [("gs", "--version"), ("xpstopdf", "--help")]
        .into_iter()
        .filter(|(t, a)| !available(t, a))
        .map(|(t, _)| t)
        .collect();
    if !missing.is_empty() {
        eprintln!(
            "!!!!!!!! convert bench SKIPPED: missing {missing:?} (Debian: ghostscript, libgxps-utils) !!!!!!!!"
        );
        return;
    }
    let dir = std::env::temp_dir().join(format!("printlab-convert-bench-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let mut corpus: Vec<(String, PathBuf)> = Vec::new();
    for &(name, pdf, first, last) in SOURCES {
        if !Path::new(pdf).exists() {
            eprintln!("note: {pdf} not installed, left out");
            continue;
        }
        let xps = dir.join(format!("{name}.xps"));
        let ok = Command::new("gs")
            .args([
                "-q",
                "-dNOPAUSE",
                "-dBATCH",
                "-dSAFER",
                "-sDEVICE=xpswrite",
                "-r150",
            ])
            .arg(format!("-dFirstPage={first}"))
            .arg(format!("-dLastPage={last}"))
            .arg(format!("-sOutputFile={}", xps.display()))
            .arg(pdf)
            .status()
            .map(|s| s.success())
            .unwrap_or(false);
        assert!(ok, "gs failed on {pdf}");
        corpus.push((name.to_string(), xps));
    }
    let pages: Vec<String> = testpkg::feature_pages()
        .into_iter()
        .chain(testpkg::unit_only_pages())
        .map(|(_, p)| p)
        .collect();
    let features = dir.join("features.xps");
    std::fs::write(&features, testpkg::feature_package(&pages)).unwrap();
    corpus.push(("features".into(), features));

    let limits = Limits::default();
    let out = dir.join("out.pdf");
    let mut page_counts = Vec::new();
    for (name, xps) in &corpus {
        let pdf = xps_to_pdf(&std::fs::read(xps).unwrap(), &limits)
            .unwrap_or_else(|e| panic!("{name}: {e}"));
        page_counts.push(pdf.pages);
    }
    let total_pages: usize = page_counts.iter().sum();

    let time_side = |run_one: &dyn Fn(&Path)| -> (u32, Duration, Vec<Duration>) {
        let mut per_file = vec![Duration::ZERO; corpus.len()];
        let start = Instant::now();
        let mut rounds = 0;
        while rounds < MIN_ROUNDS || start.elapsed() < MIN_TIME {
            for (i, (_, xps)) in corpus.iter().enumerate() {
                let t = Instant::now();
                run_one(xps);
                per_file[i] += t.elapsed();
            }
            rounds += 1;
        }
        (rounds, start.elapsed(), per_file)
    };
    let ours = time_side(&|xps: &Path| {
        let pdf = xps_to_pdf(&std::fs::read(xps).unwrap(), &limits).unwrap();
        std::fs::write(&out, &pdf.bytes).unwrap();
    });
    let theirs = time_side(&|xps: &Path| {
        let st = Command::new("xpstopdf")
            .arg(xps)
            .arg(&out)
            .output()
            .unwrap();
        assert!(st.status.success(), "xpstopdf failed on {}", xps.display());
    });

    println!("\nXPS → PDF, pages per second (higher is better)");
    println!(
        "{:<12} {:>5}  {:>12}  {:>12}  {:>6}",
        "file", "pages", "ours", "xpstopdf", "ratio"
    );
    for (i, (name, _)) in corpus.iter().enumerate() {
        let p = page_counts[i] as f64;
        let a = p * ours.0 as f64 / ours.2[i].as_secs_f64();
        let b = p * theirs.0 as f64 / theirs.2[i].as_secs_f64();
        println!(
            "{name:<12} {:>5}  {a:>12.1}  {b:>12.1}  {:>6.2}",
            page_counts[i],
            a / b
        );
    }
    let a = total_pages as f64 * ours.0 as f64 / ours.1.as_secs_f64();
    let b = total_pages as f64 * theirs.0 as f64 / theirs.1.as_secs_f64();
    let ratio = a / b;
    println!(
        "{:<12} {total_pages:>5}  {a:>12.1}  {b:>12.1}  {ratio:>6.2}   ({} / {} rounds)",
        "all", ours.0, theirs.0
    );
    let _ = std::fs::remove_dir_all(&dir);
    let mut targets = bench_targets::Targets::new("convert");
    targets.at_least("speed against xpstopdf", ratio, 1.0, "x");
    targets.finish();
}
