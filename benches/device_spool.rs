//! Spool write cost by chunk size and flush policy, and the engine's footprint per printer.
//! Run: `cargo bench --bench device_spool`. Prints ratios to the first (baseline) row, because
//! absolute numbers depend on the machine.
//!
//! Targets: the device's policy (64 KiB chunks, one flush per document) at least 2x as fast as
//! 4 KiB chunks and at least as fast as a flush after every chunk; an idle printer's engine
//! under 1 KiB inline (664 bytes now); the engine simulating at least a million sheets a second.

use printlab_device::engine::{Engine, EngineSpec, FaultSpec, JobWork};
use printlab_device::spool::{NewJob, Spool};
use printlab_testkit::bench_targets::Targets;
use std::time::{Duration, Instant};

const DOC: usize = 8 << 20;

fn write_doc(spool: &Spool, job: u32, chunk: usize, flush_every_chunk: bool) -> Duration {
    let bytes = vec![0x5au8; chunk];
    let start = Instant::now();
    spool.create_job("bench", job, NewJob::default()).unwrap();
    spool
        .begin_document("bench", job, 1, "application/pdf", None, Some(DOC as u64))
        .unwrap();
    let mut offset = 0u64;
    while (offset as usize) < DOC {
        offset = spool.append_chunk("bench", job, offset, &bytes).unwrap();
        if flush_every_chunk {
            spool.flush().unwrap();
        }
    }
    spool.complete_document("bench", job).unwrap();
    spool.flush().unwrap();
    start.elapsed()
}

fn main() {
    let dir = tempfile::tempdir().unwrap();
    let spool = Spool::open(dir.path()).unwrap();
    let cases = [
        ("64 KiB chunks, flush at end", 64 << 10, false),
        ("16 KiB chunks, flush at end", 16 << 10, false),
        ("4 KiB chunks, flush at end", 4 << 10, false),
        ("64 KiB chunks, flush every chunk", 64 << 10, true),
    ];
    let mut baseline = None;
    let mut ratios = Vec::new();
    println!(
        "{:<36} {:>10} {:>9} {:>8}",
        "8 MiB document", "MiB/s", "ms", "ratio"
    );
    for (job, (name, chunk, flush)) in cases.iter().enumerate() {
        // Best of three, to keep other processes' noise out.
        let best = (0..3)
            .map(|rep| write_doc(&spool, (job * 10 + rep + 1) as u32, *chunk, *flush))
            .min()
            .unwrap();
        let base = *baseline.get_or_insert(best);
        ratios.push(best.as_secs_f64() / base.as_secs_f64());
        println!(
            "{name:<36} {:>10.1} {:>9.1} {:>8.2}",
            DOC as f64 / (1 << 20) as f64 / best.as_secs_f64(),
            best.as_secs_f64() * 1e3,
            best.as_secs_f64() / base.as_secs_f64()
        );
    }

    let spec = EngineSpec {
        pages_per_minute: 60,
        warm_up: Duration::ZERO,
        cool_down: Duration::from_secs(60),
        full_speed: true,
    };
    let engine_bytes = std::mem::size_of::<Engine>();
    println!("\nEngine: {engine_bytes} bytes inline per idle printer (no faults declared)");
    let mut engine = Engine::new(spec, FaultSpec::default());
    let sheets = 1_000_000u64;
    let start = Instant::now();
    engine
        .start_job(
            1,
            JobWork {
                sheets,
                impressions: sheets * 2,
            },
            0,
            Duration::ZERO,
        )
        .unwrap();
    let events = engine.advance(Duration::ZERO);
    let took = start.elapsed();
    assert_eq!(events.len() as u64, sheets + 1);
    let sheets_per_second = sheets as f64 / took.as_secs_f64();
    println!(
        "Engine: {:.1} M sheets/s simulated at full speed",
        sheets_per_second / 1e6
    );

    println!();
    let mut targets = Targets::new("device_spool");
    targets.at_least("4 KiB chunks over 64 KiB chunks", ratios[2], 2.0, "x");
    targets.at_least(
        "a flush per chunk over one per document",
        ratios[3],
        1.0,
        "x",
    );
    targets.at_most("engine inline size", engine_bytes as f64, 1024.0, " bytes");
    targets.at_least(
        "engine simulation",
        sheets_per_second / 1e6,
        1.0,
        " M sheets/s",
    );
    targets.finish();
}
