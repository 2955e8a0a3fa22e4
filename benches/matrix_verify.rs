//! The capability matrix's output verifier against the renderer, in the same run: a marked
//! 8-page PDF printed 1-up and 4-up (colour) at 300 and 600 dpi, each job rendered, then its
//! sides verified from the pixels; the figure is verify time per side against render wall time
//! per side, and verified cases per second (render + verify, one case at a time).
//!
//! `PRINTLAB_BENCH_ROUNDS` (default 3) sets the rounds per configuration. Run:
//! `cargo bench --bench matrix_verify`.
//!
//! Target, at each dpi: verifying a side costs at most half of rendering it, so checking every
//! case from its pixels adds at most a third to a matrix run.

use printlab_graph::{PrintColorMode, PrintJobConfiguration};
use printlab_matrix::document::marks::PageGeometry;
use printlab_matrix::document::test_document;
use printlab_matrix::verify::verify_output;
use printlab_render::{DeviceProfile, JobRequest, PDF};
use printlab_testkit::bench_targets::Targets;
use std::time::Instant;
use tokio_util::sync::CancellationToken;

fn main() {
    let rounds: u32 = std::env::var("PRINTLAB_BENCH_ROUNDS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(3);
    let document = test_document(PDF, 8, PageGeometry::default()).expect("test document");
    let profile = DeviceProfile::default();
    let mut targets = Targets::new("matrix_verify");
    println!(
        "{:>4} {:>6} {:>6} {:>16} {:>16} {:>8} {:>10}",
        "dpi", "n-up", "sides", "render ms/side", "verify ms/side", "ratio", "cases/s"
    );
    for dpi in [300, 600] {
        let (mut render_s, mut verify_s, mut sides, mut cases) = (0.0, 0.0, 0usize, 0u32);
        for pages_per_sheet in [1, 4] {
            let config = PrintJobConfiguration {
                media_size: Some("A4".into()),
                dpi: Some(dpi),
                color_mode: Some(PrintColorMode::Color),
                copies: Some(1),
                pages_per_sheet: Some(pages_per_sheet),
                ..Default::default()
            };
            let ticket = printlab_mapping::ticket_from_graph(&config).expect("ticket");
            let (mut r, mut v, mut s) = (0.0, 0.0, 0usize);
            for _ in 0..rounds {
                let out = tempfile::tempdir().expect("temp dir");
                let started = Instant::now();
                let manifest = printlab_render::render_job(&JobRequest {
                    document: &document.bytes,
                    content_type: PDF,
                    ticket: &ticket,
                    profile: &profile,
                    out_dir: out.path(),
                    cancel: &CancellationToken::new(),
                    on_sheet: &|_| {},
                })
                .expect("render");
                r += started.elapsed().as_secs_f64();
                let started = Instant::now();
                let findings = verify_output(&config, &document, out.path()).expect("verify");
                v += started.elapsed().as_secs_f64();
                assert!(findings.is_empty(), "{findings:#?}");
                s += manifest.sides.len();
                cases += 1;
            }
            println!(
                "{dpi:>4} {pages_per_sheet:>6} {s:>6} {:>16.1} {:>16.1} {:>8.2} {:>10.2}",
                r * 1000.0 / s as f64,
                v * 1000.0 / s as f64,
                v / r,
                rounds as f64 / (r + v)
            );
            (render_s, verify_s, sides) = (render_s + r, verify_s + v, sides + s);
        }
        println!(
            "{dpi} dpi: {:.2} verified cases/s; verify {:.1} ms/side against render {:.1} ms/side",
            cases as f64 / (render_s + verify_s),
            verify_s * 1000.0 / sides as f64,
            render_s * 1000.0 / sides as f64
        );
        targets.at_most(
            &format!("verify time / render time per side at {dpi} dpi"),
            verify_s / render_s,
            0.5,
            "x",
        );
    }
    targets.finish();
}
