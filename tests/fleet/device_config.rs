//! The shipped `printers.toml`, `printlab validate` and `printlab spool` as a user runs them.

use printlab_device::config::{self, Connection};
use printlab_device::engine::{Engine, EngineEvent, Fault, JobWork};
use printlab_device::spool::{NewJob, Spool};
use printlab_graph::rules;
use printlab_graph::{
    PrintColorMode, PrintFinishing, PrintJobConfiguration, PrintJobProcessingState,
};
use std::path::Path;
use std::process::Command;
use std::time::Duration;

fn shipped() -> config::Fleet {
    config::load(&Path::new(env!("CARGO_MANIFEST_DIR")).join("printers.toml")).unwrap()
}

fn printlab(args: &[&str]) -> (bool, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_printlab"))
        .args(args)
        .output()
        .unwrap();
    (
        out.status.success(),
        String::from_utf8(out.stdout).unwrap(),
        String::from_utf8(out.stderr).unwrap(),
    )
}

#[test]
fn the_shipped_fleet_is_varied_and_valid() {
    let fleet = shipped();
    assert_eq!(fleet.printers.len(), 5);
    let by = |name: &str| fleet.printers.iter().find(|p| p.name == name).unwrap();

    let laser = by("Office Laser 2F");
    assert!(!laser.hardware.color && laser.hardware.duplex);

    let mfp = by("Colour MFP 3F");
    let caps = &mfp.capabilities;
    assert!(mfp.hardware.color && mfp.hardware.duplex);
    assert!(
        caps.finishings
            .as_ref()
            .unwrap()
            .contains(&PrintFinishing::Staple)
    );
    assert!(caps.input_bins.as_ref().unwrap().len() >= 3);

    let photo = by("Photo Studio");
    assert_eq!(photo.hardware.media("Photo").unwrap().margins.top, 0);
    assert_eq!(photo.defaults.color_mode, Some(PrintColorMode::Color));

    let labels = by("Dispatch Labels");
    assert!(labels.hardware.media("Roll 2x1in").is_some());
    assert_eq!(labels.hardware.dpis, vec![203]);

    // Every printer passes the rules the cloud will apply to it.
    for p in &fleet.printers {
        assert_eq!(
            rules::check_printer(&p.capabilities, &p.defaults),
            vec![],
            "{}",
            p.name
        );
        assert_eq!(p.connection, Connection::UniversalPrint);
    }

    let flaky = by("Flaky Laser B1");
    let f = &flaky.faults;
    assert!(f.jam_every_sheets.is_some() && f.out_of_paper_after_sheets.is_some());
    assert!(f.cover_open_after_sheets.is_some() && !f.offline.is_empty());
    assert!(!f.failing_formats.is_empty() && !f.extra_latency.is_zero());
    assert!(f.random.is_some());
}

/// Runs the flaky printer's own fault schedule through its engine: every kind of stop happens
/// and, clearing each, a long job still prints every sheet exactly once.
#[test]
fn the_flaky_printer_exercises_every_stop_and_recovers() {
    let fleet = shipped();
    let flaky = fleet
        .printers
        .iter()
        .find(|p| p.name == "Flaky Laser B1")
        .unwrap();
    let mut engine = Engine::new(flaky.engine.clone(), flaky.faults.clone());
    assert!(engine.interpret("image/urf").is_err());
    engine
        .start_job(
            1,
            JobWork {
                sheets: 60,
                impressions: 60,
            },
            0,
            Duration::ZERO,
        )
        .unwrap();
    let mut seen = std::collections::BTreeSet::new();
    let mut printed = Vec::new();
    let mut now = Duration::ZERO;
    while engine.active_job().is_some() {
        now = engine
            .next_wakeup()
            .unwrap_or(now + Duration::from_secs(30))
            .max(now);
        for event in engine.advance(now) {
            match event {
                EngineEvent::SheetDone {
                    sheets_completed, ..
                } => printed.push(sheets_completed),
                EngineEvent::Stopped { fault, .. } => {
                    seen.insert(fault);
                }
                EngineEvent::JobDone { .. } => {}
            }
        }
        for fault in engine.status().faults {
            engine.clear(fault, now + Duration::from_secs(20));
        }
        assert!(
            now < Duration::from_secs(24 * 3600),
            "the job never finished"
        );
    }
    assert_eq!(printed, (1..=60).collect::<Vec<_>>());
    assert!(
        seen.contains(&Fault::MediaJam)
            && seen.contains(&Fault::MediaEmpty)
            && seen.contains(&Fault::CoverOpen)
    );
    assert!(engine.faults_spec().is_offline(Duration::from_secs(310)));
}

#[test]
fn validate_accepts_the_shipped_file_and_locates_every_mistake() {
    let shipped_path = Path::new(env!("CARGO_MANIFEST_DIR")).join("printers.toml");
    let (ok, stdout, _) = printlab(&["validate", shipped_path.to_str().unwrap()]);
    assert!(ok, "{stdout}");
    assert!(stdout.contains("5 printer(s), no mistakes"));

    let text = std::fs::read_to_string(&shipped_path)
        .unwrap()
        .replacen("color_mode = \"auto\"", "color_mode = \"rainbow\"", 1)
        .replacen(
            "finishings = [\"none\"]\ninput_bins = [\"auto\", \"tray-1\", \"by-pass-tray\"]",
            "finishings = [\"punch\"]\ninput_bins = [\"auto\", \"tray-1\", \"by-pass-tray\"]",
            1,
        )
        .replacen(
            "{ size = \"A5\", margins = { top = 4.2",
            "{ size = \"A55\", margins = { top = 4.2",
            1,
        );
    let dir = tempfile::tempdir().unwrap();
    let broken = dir.path().join("printers.toml");
    std::fs::write(&broken, &text).unwrap();
    let (ok, stdout, stderr) = printlab(&["validate", broken.to_str().unwrap()]);
    assert!(!ok);
    let lines: Vec<_> = stdout.lines().collect();
    let file = broken.display().to_string();
    let at = |needle: &str| -> (usize, usize) {
        let l = lines
            .iter()
            .find(|l| l.contains(needle))
            .unwrap_or_else(|| panic!("{needle} not in {stdout}"));
        let rest = l.strip_prefix(&format!("{file}:")).unwrap();
        let mut parts = rest.splitn(3, ':');
        (
            parts.next().unwrap().parse().unwrap(),
            parts.next().unwrap().parse().unwrap(),
        )
    };
    let line_of = |needle: &str| text.lines().position(|l| l.contains(needle)).unwrap() + 1;
    assert_eq!(at("`A55`").0, line_of("\"A55\""));
    assert_eq!(at("`rainbow`"), (line_of("\"rainbow\""), 14));
    assert_eq!(
        at("must include `none`").0,
        line_of("finishings = [\"punch\"]")
    );
    // The default `none` finishing is no longer supported either, and the A5 default is unaffected.
    assert!(
        lines
            .iter()
            .any(|l| l.contains("defaults.finishings: `none` is not supported"))
    );
    assert!(stderr.contains("4 mistake(s)"), "{stdout}\n{stderr}");
}

#[test]
fn spool_commands_list_show_export_and_collect() {
    let dir = tempfile::tempdir().unwrap();
    let spool_dir = dir.path().join("spool");
    {
        let spool = Spool::open(&spool_dir).unwrap();
        for job in [3, 12] {
            spool
                .create_job(
                    "Office Laser 2F",
                    job,
                    NewJob {
                        name: Some(format!("report {job}")),
                        user: Some("ada".into()),
                        configuration: PrintJobConfiguration {
                            copies: Some(2),
                            ..Default::default()
                        },
                        ..Default::default()
                    },
                )
                .unwrap();
            spool
                .begin_document("Office Laser 2F", job, 1, "application/pdf", None, None)
                .unwrap();
            spool
                .append_chunk("Office Laser 2F", job, 0, b"%PDF-1.7 not really")
                .unwrap();
        }
        spool.complete_document("Office Laser 2F", 3).unwrap();
        spool
            .update("Office Laser 2F", 3, "completed", "", |r| {
                r.state = PrintJobProcessingState::Completed;
            })
            .unwrap();
        spool.flush().unwrap();
    }
    let s = spool_dir.to_str().unwrap();
    let (ok, stdout, stderr) = printlab(&["spool", "--spool", s, "ls"]);
    assert!(ok, "{stderr}");
    let rows: Vec<_> = stdout.lines().filter(|l| l.starts_with("Office")).collect();
    assert_eq!(rows.len(), 2);
    assert!(rows[0].contains(" 3 ") && rows[0].contains("completed"));
    assert!(
        rows[1].contains(" 12 ") && rows[1].contains("19…"),
        "{}",
        rows[1]
    );

    let (ok, stdout, _) = printlab(&[
        "spool",
        "--spool",
        s,
        "show",
        "Office Laser 2F",
        "3",
        "--json",
    ]);
    assert!(ok);
    let v: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(v["job"]["configuration"]["copies"], 2);
    assert_eq!(v["events"].as_array().unwrap().len(), 4);

    let out = dir.path().join("export");
    let (ok, _, stderr) = printlab(&[
        "spool",
        "--spool",
        s,
        "export",
        "Office Laser 2F",
        "12",
        "--out",
        out.to_str().unwrap(),
    ]);
    assert!(ok, "{stderr}");
    assert_eq!(
        std::fs::read(out.join("document.bin")).unwrap(),
        b"%PDF-1.7 not really"
    );
    assert!(out.join("job.json").exists() && out.join("events.json").exists());

    let (ok, stdout, _) = printlab(&["spool", "--spool", s, "gc"]);
    assert!(ok);
    assert!(stdout.contains("removed Office Laser 2F/3") && stdout.contains("1 job(s) removed"));

    let (ok, _, stderr) = printlab(&["spool", "--spool", s, "show", "Office Laser 2F", "3"]);
    assert!(!ok && stderr.contains("no job 3"), "{stderr}");
    let (ok, _, stderr) = printlab(&[
        "spool",
        "--spool",
        dir.path().join("nope").to_str().unwrap(),
        "ls",
    ]);
    assert!(!ok && stderr.contains("no spool at"));
}

mod hostile_input {
    use printlab_device::config;
    use printlab_device::engine::{
        Engine, EngineEvent, EngineSpec, FaultSpec, JobWork, RandomFaults,
    };
    use proptest::prelude::*;
    use std::time::Duration;

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(200))]

        /// Any bytes give a located list of mistakes or a fleet, never a panic.
        #[test]
        fn parse_never_panics(text in "\\PC{0,400}") {
            if let Err(config::ConfigError::Invalid { problems, .. }) = config::parse(&text, "x") {
                prop_assert!(!problems.is_empty());
                for p in problems {
                    prop_assert!(p.line >= 1 && p.column >= 1);
                }
            }
        }

        /// Mutating a valid file at a random spot still never panics.
        #[test]
        fn mutated_fleet_never_panics(at in 0usize..4000, insert in "[\\[\\]{}=\",.a-z0-9 \n-]{0,12}") {
            let shipped = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/printers.toml")).unwrap();
            let at = shipped.floor_char_boundary(at.min(shipped.len()));
            let text = format!("{}{insert}{}", &shipped[..at], &shipped[at..]);
            let _ = config::parse(&text, "x");
        }

        /// Whatever the fault schedule and however the clock jumps, clearing every fault gets
        /// each sheet printed exactly once, in order.
        #[test]
        fn faults_never_duplicate_or_skip_sheets(
            jam in proptest::option::of(2u64..6),
            paper in proptest::option::of(1u64..9),
            cover in proptest::option::of(1u64..20),
            seed in any::<u64>(),
            sheets in 1u64..40,
            resume_from in 0u64..5,
            steps in proptest::collection::vec(1u64..20, 1..50),
        ) {
            let faults = FaultSpec {
                jam_every_sheets: jam,
                out_of_paper_after_sheets: paper,
                cover_open_after_sheets: cover,
                random: Some(RandomFaults { seed, jam: 0.05, cover_open: 0.02, media_empty: 0.02, interpret_failure: 0.0 }),
                ..Default::default()
            };
            let spec = EngineSpec { pages_per_minute: 60, warm_up: Duration::from_secs(3), cool_down: Duration::from_secs(30), full_speed: false };
            let mut engine = Engine::new(spec, faults);
            let resume_from = resume_from.min(sheets);
            engine.start_job(1, JobWork { sheets, impressions: sheets * 2 }, resume_from, Duration::ZERO).unwrap();
            let mut printed = Vec::new();
            let mut now = Duration::ZERO;
            let mut step = steps.iter().cycle();
            let mut done = false;
            for _ in 0..10_000 {
                now += Duration::from_secs(*step.next().unwrap());
                for event in engine.advance(now) {
                    match event {
                        EngineEvent::SheetDone { sheets_completed, impressions_completed, at, .. } => {
                            prop_assert!(at <= now);
                            prop_assert_eq!(impressions_completed, sheets_completed * 2);
                            printed.push(sheets_completed);
                        }
                        EngineEvent::JobDone { .. } => done = true,
                        EngineEvent::Stopped { .. } => {}
                    }
                }
                for fault in engine.status().faults {
                    engine.clear(fault, now);
                }
                if done { break; }
            }
            prop_assert!(done);
            prop_assert_eq!(printed, (resume_from + 1..=sheets).collect::<Vec<_>>());
        }
    }
}

#[test]
fn validate_checks_the_model_library_file_by_file() {
    let models = Path::new(env!("CARGO_MANIFEST_DIR")).join("models");
    let mut files: Vec<String> = std::fs::read_dir(&models)
        .unwrap()
        .map(|e| e.unwrap().path().display().to_string())
        .filter(|p| p.ends_with(".toml"))
        .collect();
    files.sort();
    assert_eq!(files.len(), 5, "{files:?}");
    let mut args = vec!["validate"];
    args.extend(files.iter().map(String::as_str));
    let (ok, stdout, stderr) = printlab(&args);
    assert!(ok, "{stdout}{stderr}");
    for file in &files {
        assert!(
            stdout.contains(&format!("{file}: 1 printer(s), no mistakes")),
            "{stdout}"
        );
    }

    // One broken file fails the run, and the good files are still checked and reported.
    let dir = tempfile::tempdir().unwrap();
    let broken = dir.path().join("broken.toml");
    let text = std::fs::read_to_string(&files[0]).unwrap().replacen(
        "color_modes = [",
        "color_modes = [\"rainbow\", ",
        1,
    );
    std::fs::write(&broken, text).unwrap();
    let (ok, stdout, stderr) = printlab(&["validate", broken.to_str().unwrap(), &files[1]]);
    assert!(!ok);
    assert!(
        stdout.contains(&format!("{}: 1 printer(s), no mistakes", files[1])),
        "{stdout}"
    );
    assert!(
        stdout.contains(&format!("{}:", broken.display())),
        "{stdout}"
    );
    assert!(stderr.contains("1 mistake(s)"), "{stderr}");
}

#[test]
fn margins_finer_than_ipp_carries_are_refused_where_written() {
    // IPP carries margins in hundredths of a millimetre: 4.233 mm would reach Graph as 4230 µm.
    let text = printlab_testkit_fleet::ONE_PRINTER.replacen("top = 4,", "top = 4.233,", 1);
    let Err(config::ConfigError::Invalid { problems, .. }) = config::parse(&text, "t.toml") else {
        panic!("4.233 mm was accepted");
    };
    assert_eq!(problems.len(), 1, "{problems:?}");
    let line = text.lines().position(|l| l.contains("4.233")).unwrap() + 1;
    assert_eq!(problems[0].line, line);
    assert!(
        problems[0].message.contains("hundredths of a millimetre")
            && problems[0].message.contains("top = 4.233"),
        "{}",
        problems[0].message
    );
    let fine = printlab_testkit_fleet::ONE_PRINTER.replacen("top = 4,", "top = 6.35,", 1);
    let fleet = config::parse(&fine, "t.toml").unwrap();
    assert_eq!(fleet.printers[0].capabilities.top_margins, Some(vec![6350]));
}
