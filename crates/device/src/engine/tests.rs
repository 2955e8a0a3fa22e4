//! The engine against scripted and seeded fault schedules, to the sheet.

use super::*;

const S: Duration = Duration::from_secs(1);

fn spec(ppm: u32) -> EngineSpec {
    EngineSpec {
        pages_per_minute: ppm,
        warm_up: 5 * S,
        cool_down: 60 * S,
        full_speed: false,
    }
}

fn sheets(events: &[EngineEvent]) -> Vec<u64> {
    events
        .iter()
        .filter_map(|e| match e {
            EngineEvent::SheetDone {
                sheets_completed, ..
            } => Some(*sheets_completed),
            _ => None,
        })
        .collect()
}

#[test]
fn sheets_follow_the_rated_speed_after_warm_up() {
    let mut e = Engine::new(spec(30), FaultSpec::default());
    e.start_job(
        1,
        JobWork {
            sheets: 3,
            impressions: 3,
        },
        0,
        Duration::ZERO,
    )
    .unwrap();
    assert!(e.advance(Duration::ZERO).is_empty());
    assert_eq!(e.next_wakeup(), Some(7 * S));
    assert!(e.advance(6 * S).is_empty());
    assert_eq!(e.status().state, PrinterProcessingState::Processing);
    assert_eq!(sheets(&e.advance(7 * S)), vec![1]);
    assert_eq!(sheets(&e.advance(10 * S)), vec![2]);
    let ev = e.advance(11 * S);
    assert_eq!(sheets(&ev), vec![3]);
    assert_eq!(
        ev.last(),
        Some(&EngineEvent::JobDone { job: 1, at: 11 * S })
    );
    assert_eq!(e.status().state, PrinterProcessingState::Idle);
    assert_eq!(e.next_wakeup(), None);

    // Still warm 30 s later: no warm-up. Cold again after the cool-down.
    e.start_job(
        2,
        JobWork {
            sheets: 1,
            impressions: 1,
        },
        0,
        41 * S,
    )
    .unwrap();
    assert_eq!(e.next_wakeup(), Some(41 * S));
    e.advance(41 * S);
    assert_eq!(e.next_wakeup(), Some(43 * S));
    e.advance(43 * S);
    e.start_job(
        3,
        JobWork {
            sheets: 1,
            impressions: 1,
        },
        0,
        200 * S,
    )
    .unwrap();
    e.advance(200 * S);
    assert_eq!(e.next_wakeup(), Some(207 * S));
}

#[test]
fn duplex_sheets_take_two_impressions_and_full_speed_skips_time() {
    let mut e = Engine::new(spec(60), FaultSpec::default());
    e.start_job(
        1,
        JobWork {
            sheets: 2,
            impressions: 3,
        },
        0,
        Duration::ZERO,
    )
    .unwrap();
    e.advance(Duration::ZERO);
    let ev = e.advance(7 * S);
    assert_eq!(
        ev[0],
        EngineEvent::SheetDone {
            job: 1,
            sheets_completed: 1,
            impressions_completed: 2,
            at: 7 * S
        }
    );
    let ev = e.advance(8 * S);
    assert!(
        matches!(ev[0], EngineEvent::SheetDone { impressions_completed: 3, at, .. } if at == 8 * S)
    );

    let mut fast = Engine::new(
        EngineSpec {
            full_speed: true,
            ..spec(1)
        },
        FaultSpec::default(),
    );
    fast.start_job(
        9,
        JobWork {
            sheets: 500,
            impressions: 1000,
        },
        0,
        Duration::ZERO,
    )
    .unwrap();
    let ev = fast.advance(Duration::ZERO);
    assert_eq!(ev.len(), 501);
    assert_eq!(
        ev[500],
        EngineEvent::JobDone {
            job: 9,
            at: Duration::ZERO
        }
    );
}

#[test]
fn a_jam_stops_the_job_and_clearing_resumes_without_duplicates() {
    let faults = FaultSpec {
        jam_every_sheets: Some(3),
        ..Default::default()
    };
    let mut e = Engine::new(
        EngineSpec {
            warm_up: Duration::ZERO,
            ..spec(60)
        },
        faults,
    );
    e.start_job(
        4,
        JobWork {
            sheets: 5,
            impressions: 5,
        },
        0,
        Duration::ZERO,
    )
    .unwrap();
    let ev = e.advance(100 * S);
    assert_eq!(sheets(&ev), vec![1, 2]);
    assert_eq!(
        ev.last(),
        Some(&EngineEvent::Stopped {
            job: Some(4),
            fault: Fault::MediaJam,
            at: 3 * S
        })
    );
    let status = e.status();
    assert_eq!(status.state, PrinterProcessingState::Stopped);
    assert_eq!(status.ipp_reasons(), vec!["media-jam"]);
    let graph = status.graph_status();
    assert_eq!(graph.details[0].as_str(), "mediaJam");
    assert_eq!(graph.description.as_deref(), Some("clear the jam"));
    assert_eq!(e.next_wakeup(), None);
    assert!(
        e.advance(200 * S).is_empty(),
        "a stopped engine prints nothing"
    );

    assert!(e.clear(Fault::MediaJam, 250 * S));
    assert!(!e.clear(Fault::MediaJam, 250 * S));
    let ev = e.advance(1000 * S);
    // Sheet 3 reprints at 251 s; the 6th pick (sheet 5) jams again.
    assert_eq!(sheets(&ev), vec![3, 4]);
    assert!(matches!(
        ev.last(),
        Some(EngineEvent::Stopped {
            fault: Fault::MediaJam,
            ..
        })
    ));
    e.clear(Fault::MediaJam, 1000 * S);
    let ev = e.advance(1001 * S);
    assert_eq!(sheets(&ev), vec![5]);
    assert!(matches!(
        ev.last(),
        Some(EngineEvent::JobDone { job: 4, .. })
    ));
    assert_eq!(e.sheets_printed(), 5);
}

#[test]
fn out_of_paper_waits_for_a_refill_and_a_resumed_job_skips_printed_sheets() {
    let faults = FaultSpec {
        out_of_paper_after_sheets: Some(2),
        ..Default::default()
    };
    let mut e = Engine::new(
        EngineSpec {
            full_speed: true,
            ..spec(60)
        },
        faults,
    );
    e.start_job(
        5,
        JobWork {
            sheets: 10,
            impressions: 10,
        },
        7,
        Duration::ZERO,
    )
    .unwrap();
    let ev = e.advance(S);
    assert_eq!(sheets(&ev), vec![8, 9]);
    assert_eq!(e.status().ipp_reasons(), vec!["media-empty"]);
    assert_eq!(e.active_job(), Some((5, 9)));
    assert!(e.clear(Fault::MediaEmpty, 2 * S));
    let ev = e.advance(2 * S);
    assert_eq!(sheets(&ev), vec![10]);
    assert!(matches!(ev.last(), Some(EngineEvent::JobDone { .. })));
    assert_eq!(e.status().state, PrinterProcessingState::Idle);
}

#[test]
fn the_cover_opens_once_even_between_jobs() {
    let faults = FaultSpec {
        cover_open_after_sheets: Some(2),
        ..Default::default()
    };
    let mut e = Engine::new(
        EngineSpec {
            full_speed: true,
            ..spec(60)
        },
        faults,
    );
    e.start_job(
        1,
        JobWork {
            sheets: 2,
            impressions: 2,
        },
        0,
        Duration::ZERO,
    )
    .unwrap();
    let ev = e.advance(Duration::ZERO);
    assert_eq!(sheets(&ev), vec![1, 2]);
    assert!(matches!(
        ev.last(),
        Some(EngineEvent::Stopped {
            fault: Fault::CoverOpen,
            ..
        })
    ));
    assert_eq!(e.status().state, PrinterProcessingState::Stopped);
    e.clear(Fault::CoverOpen, S);
    let ev = e.advance(S);
    assert!(matches!(
        ev.last(),
        Some(EngineEvent::JobDone { job: 1, .. })
    ));
    e.start_job(
        2,
        JobWork {
            sheets: 4,
            impressions: 4,
        },
        0,
        S,
    )
    .unwrap();
    assert_eq!(sheets(&e.advance(S)), vec![1, 2, 3, 4]);
    assert_eq!(e.status().faults, vec![]);
}

#[test]
fn cancel_frees_the_engine_and_keeps_faults() {
    let faults = FaultSpec {
        jam_every_sheets: Some(1),
        ..Default::default()
    };
    let mut e = Engine::new(
        EngineSpec {
            full_speed: true,
            ..spec(60)
        },
        faults,
    );
    e.start_job(
        1,
        JobWork {
            sheets: 2,
            impressions: 2,
        },
        0,
        Duration::ZERO,
    )
    .unwrap();
    assert_eq!(
        e.start_job(
            2,
            JobWork {
                sheets: 1,
                impressions: 1
            },
            0,
            Duration::ZERO
        ),
        Err(EngineError::Busy(1))
    );
    e.advance(Duration::ZERO);
    assert_eq!(e.cancel_job(1, S), Ok(0));
    assert_eq!(e.cancel_job(1, S), Err(EngineError::NotActive(1)));
    assert_eq!(e.status().state, PrinterProcessingState::Stopped);
}

fn random_run(seed: u64) -> Vec<EngineEvent> {
    let faults = FaultSpec {
        random: Some(RandomFaults {
            seed,
            jam: 0.1,
            cover_open: 0.05,
            media_empty: 0.05,
            interpret_failure: 0.0,
        }),
        ..Default::default()
    };
    let mut e = Engine::new(
        EngineSpec {
            full_speed: true,
            ..spec(60)
        },
        faults,
    );
    e.start_job(
        1,
        JobWork {
            sheets: 200,
            impressions: 200,
        },
        0,
        Duration::ZERO,
    )
    .unwrap();
    let mut all = Vec::new();
    for t in 0..10_000u64 {
        let now = Duration::from_secs(t);
        let ev = e.advance(now);
        for event in &ev {
            if let EngineEvent::Stopped { fault, .. } = event {
                e.clear(*fault, now);
            }
        }
        all.extend(ev);
        if e.active_job().is_none() {
            break;
        }
    }
    all
}

#[test]
fn seeded_random_faults_repeat_and_never_duplicate_sheets() {
    let a = random_run(42);
    assert_eq!(a, random_run(42));
    assert_ne!(a, random_run(43));
    assert_eq!(sheets(&a), (1..=200).collect::<Vec<_>>());
    let stops = a
        .iter()
        .filter(|e| matches!(e, EngineEvent::Stopped { .. }))
        .count();
    assert!(stops > 5, "only {stops} faults in 200 sheets at these odds");
}

#[test]
fn failing_formats_and_offline_windows() {
    let faults = FaultSpec {
        failing_formats: vec!["image/urf".into()],
        offline: vec![
            OfflineWindow {
                start: 10 * S,
                duration: 5 * S,
                every: Some(60 * S),
            },
            OfflineWindow {
                start: 30 * S,
                duration: 2 * S,
                every: None,
            },
        ],
        ..Default::default()
    };
    let mut e = Engine::new(spec(60), faults);
    assert!(e.interpret("image/URF").is_err());
    assert!(e.interpret("application/pdf").is_ok());
    let f = e.faults_spec();
    let offline: Vec<u32> = (0..130).filter(|t| f.is_offline(*t * S)).collect();
    assert_eq!(
        offline,
        vec![10, 11, 12, 13, 14, 30, 31, 70, 71, 72, 73, 74]
    );
    assert_eq!(f.next_offline_change(Duration::ZERO), Some(10 * S));
    assert_eq!(f.next_offline_change(12 * S), Some(15 * S));
    assert_eq!(f.next_offline_change(16 * S), Some(30 * S));
    assert_eq!(f.next_offline_change(33 * S), Some(70 * S));
}

#[test]
fn a_restarted_engine_is_still_stopped_until_cleared_and_resumes_after_the_recorded_sheets() {
    let faults = FaultSpec {
        jam_every_sheets: Some(2),
        cover_open_after_sheets: Some(1),
        ..Default::default()
    };
    let work = JobWork {
        sheets: 3,
        impressions: 3,
    };
    let mut e = Engine::new(spec(60), faults.clone());
    e.start_job(1, work, 0, Duration::ZERO).unwrap();
    let mut now = Duration::ZERO;
    let mut stopped = Vec::new();
    while !stopped.contains(&Fault::MediaJam) {
        match e.next_wakeup() {
            Some(at) => now = at,
            None => {
                for fault in e.status().faults {
                    e.clear(fault, now);
                }
                continue;
            }
        }
        for event in e.advance(now) {
            if let EngineEvent::Stopped { fault, .. } = event {
                stopped.push(fault);
            }
        }
    }
    // Sheet 1 out, then the cover opens; after closing it, the pick of sheet 2 jams.
    assert_eq!(stopped, vec![Fault::CoverOpen, Fault::MediaJam]);
    assert_eq!(e.active_job(), Some((1, 1)));
    let memory = e.memory();

    let mut restarted = Engine::new(spec(60), faults);
    restarted.restore(&memory);
    assert_eq!(restarted.status().state, PrinterProcessingState::Stopped);
    assert_eq!(restarted.status().faults, vec![Fault::MediaJam]);
    restarted.start_job(1, work, 1, now).unwrap();
    assert!(restarted.advance(now + 60 * S).is_empty());
    assert_eq!(restarted.next_wakeup(), None);
    restarted.clear(Fault::MediaJam, now + 60 * S);
    let mut printed = Vec::new();
    while restarted.active_job().is_some() {
        let Some(at) = restarted.next_wakeup() else {
            // Jams count picks since power-on, so the reprint's neighbour jams again.
            assert_eq!(restarted.status().faults, vec![Fault::MediaJam]);
            restarted.clear(Fault::MediaJam, now);
            continue;
        };
        now = at;
        let events = restarted.advance(at);
        // The cover opens once in a printer's life, restarts included.
        assert!(!events.iter().any(|e| matches!(
            e,
            EngineEvent::Stopped {
                fault: Fault::CoverOpen,
                ..
            }
        )));
        printed.extend(sheets(&events));
    }
    assert_eq!(printed, vec![2, 3]);
}

#[test]
fn an_empty_tray_stays_empty_across_a_restart() {
    let faults = FaultSpec {
        out_of_paper_after_sheets: Some(5),
        ..Default::default()
    };
    let mut e = Engine::new(spec(60), faults);
    e.restore(&FaultMemory {
        present: vec![Fault::MediaEmpty],
        cover_opened: false,
        levels: Levels::default(),
    });
    e.clear(Fault::MediaEmpty, Duration::ZERO);
    // Refilled: a full tray of 5 again.
    e.start_job(
        1,
        JobWork {
            sheets: 9,
            impressions: 9,
        },
        0,
        Duration::ZERO,
    )
    .unwrap();
    let mut printed = 0;
    while let Some(at) = e.next_wakeup() {
        printed += sheets(&e.advance(at)).len();
    }
    assert_eq!(printed, 5);
    assert_eq!(e.status().faults, vec![Fault::MediaEmpty]);
}

fn tray(name: &str, size: &str, level: Option<u64>) -> Tray {
    Tray {
        name: name.into(),
        media_size: size.into(),
        media_type: None,
        capacity: 10,
        level,
    }
}

fn toner(level: u8, low: u8) -> Supply {
    Supply {
        name: "Black Toner".into(),
        kind: "toner".into(),
        color: Some("#000000".into()),
        level,
        low,
        high: 100,
        sheets_per_percent: Some(2),
    }
}

fn fast() -> EngineSpec {
    EngineSpec {
        full_speed: true,
        ..spec(60)
    }
}

fn work(sheets: u64) -> JobWork {
    JobWork {
        sheets,
        impressions: sheets,
    }
}

#[test]
fn a_tray_with_a_level_empties_the_printer_and_a_refill_fills_it_to_capacity() {
    let mut e = Engine::new(fast(), FaultSpec::default()).with_consumables(
        vec![
            tray("tray-1", "A4", Some(3)),
            tray("by-pass-tray", "A5", None),
        ],
        Vec::new(),
    );
    // `auto` takes the first tray loaded with the job's size.
    e.start_job(1, work(5), 0, Duration::ZERO).unwrap();
    e.select_tray(Some("auto"), Some("A4"));
    let events = e.advance(Duration::ZERO);
    assert_eq!(sheets(&events), [1, 2, 3]);
    assert!(matches!(
        events.last(),
        Some(EngineEvent::Stopped {
            fault: Fault::MediaEmpty,
            ..
        })
    ));
    assert_eq!(e.status().ipp_reasons(), ["media-empty"]);
    assert_eq!(e.memory().levels.trays["tray-1"], 0);
    e.clear(Fault::MediaEmpty, Duration::ZERO);
    assert_eq!(e.trays().next().unwrap().1, Some(10));
    assert_eq!(sheets(&e.advance(Duration::ZERO)), [4, 5]);
    assert_eq!(e.trays().next().unwrap().1, Some(8));
    // A tray without a level never runs out; a job for another size counts no tray.
    e.start_job(2, work(20), 0, Duration::ZERO).unwrap();
    e.select_tray(Some("by-pass-tray"), Some("A5"));
    assert_eq!(sheets(&e.advance(Duration::ZERO)).len(), 20);
    e.start_job(3, work(20), 0, Duration::ZERO).unwrap();
    e.select_tray(None, Some("North America Letter"));
    assert_eq!(sheets(&e.advance(Duration::ZERO)).len(), 20);
    assert_eq!(e.trays().next().unwrap().1, Some(8));
}

#[test]
fn a_supply_warns_at_its_low_mark_stops_at_zero_and_levels_survive_a_restart() {
    let consumables = || (vec![tray("tray-1", "A4", Some(10))], vec![toner(2, 1)]);
    let (trays, supplies) = consumables();
    let mut e = Engine::new(fast(), FaultSpec::default()).with_consumables(trays, supplies);
    e.start_job(1, work(3), 0, Duration::ZERO).unwrap();
    e.select_tray(None, Some("A4"));
    // Two sheets per percent: 2 % → 1 % (low, still printing) after two sheets.
    let events = e.advance(Duration::ZERO);
    assert_eq!(sheets(&events), [1, 2, 3]);
    let status = e.status();
    assert_eq!(status.ipp_reasons(), ["toner-low"]);
    assert_eq!(status.state, PrinterProcessingState::Idle);
    assert_eq!(
        status.graph_status().details,
        [printlab_graph::PrinterProcessingStateDetail::from_name("tonerLow").unwrap()]
    );

    let kept = e.memory();
    let (trays, supplies) = consumables();
    let mut restarted = Engine::new(fast(), FaultSpec::default()).with_consumables(trays, supplies);
    restarted.restore(&kept);
    assert_eq!(restarted.trays().next().unwrap().1, Some(7));
    assert_eq!(restarted.supplies().next().unwrap().1, 1);
    // One more sheet finishes the percent: empty, stopped with toner-empty.
    restarted.start_job(2, work(3), 0, Duration::ZERO).unwrap();
    restarted.select_tray(None, Some("A4"));
    let events = restarted.advance(Duration::ZERO);
    assert_eq!(sheets(&events), [1]);
    assert_eq!(restarted.status().ipp_reasons(), ["toner-empty"]);
    assert_eq!(restarted.status().state, PrinterProcessingState::Stopped);
    restarted.clear(Fault::TonerEmpty, Duration::ZERO);
    assert_eq!(restarted.supplies().next().unwrap().1, 100);
    assert_eq!(sheets(&restarted.advance(Duration::ZERO)), [2, 3]);
    assert_eq!(restarted.status().ipp_reasons(), ["none"]);
}

#[test]
fn a_jam_raised_mid_sheet_reprints_that_sheet_after_the_clear() {
    let mut e = Engine::new(spec(30), FaultSpec::default());
    let work = JobWork {
        sheets: 3,
        impressions: 3,
    };
    e.start_job(1, work, 0, Duration::ZERO).unwrap();
    e.advance(Duration::ZERO);
    assert_eq!(sheets(&e.advance(7 * S)), vec![1]);
    // Sheet 2 is in the engine (due at 9 s) when the jam comes at 8 s.
    e.advance(8 * S);
    assert_eq!(
        e.raise_now(Fault::MediaJam, 8 * S),
        Some(EngineEvent::Stopped {
            job: Some(1),
            fault: Fault::MediaJam,
            at: 8 * S
        })
    );
    assert_eq!(e.raise_now(Fault::MediaJam, 8 * S), None);
    assert!(e.advance(20 * S).is_empty());
    assert_eq!(e.active_job(), Some((1, 1)));
    assert!(e.clear(Fault::MediaJam, 20 * S));
    e.advance(20 * S);
    assert_eq!(sheets(&e.advance(22 * S)), vec![2]);
    assert_eq!(sheets(&e.advance(24 * S)), vec![3]);
    assert_eq!(e.active_job(), None);
}

#[test]
fn an_emptied_tray_stops_the_job_feeding_from_it_before_its_next_sheet() {
    let tray = |name: &str| Tray {
        name: name.to_string(),
        media_size: "iso_a4_210x297mm".to_string(),
        media_type: None,
        capacity: 250,
        level: None,
    };
    let mut e = Engine::new(spec(30), FaultSpec::default())
        .with_consumables(vec![tray("tray-1"), tray("tray-2")], Vec::new());
    assert_eq!(
        e.empty_tray("tray-9"),
        Err(EngineError::UnknownTray("tray-9".into()))
    );
    let work = JobWork {
        sheets: 2,
        impressions: 2,
    };
    e.start_job(1, work, 0, Duration::ZERO).unwrap();
    e.select_tray(Some("tray-2"), None);
    e.advance(Duration::ZERO);
    e.empty_tray("tray-1").unwrap();
    assert_eq!(sheets(&e.advance(7 * S)), vec![1]);
    e.empty_tray("tray-2").unwrap();
    let stop = e.advance(9 * S);
    assert!(stop.iter().any(|ev| matches!(
        ev,
        EngineEvent::Stopped {
            fault: Fault::MediaEmpty,
            ..
        }
    )));
    assert!(e.clear(Fault::MediaEmpty, 10 * S));
    assert_eq!(
        e.trays().map(|(_, l)| l).collect::<Vec<_>>(),
        vec![Some(250), Some(250)]
    );
}

#[test]
fn a_pause_holds_the_sheet_in_the_engine_until_resumed_then_keeps_the_pace() {
    let mut e = Engine::new(spec(30), FaultSpec::default());
    let work = JobWork {
        sheets: 3,
        impressions: 3,
    };
    e.start_job(1, work, 0, Duration::ZERO).unwrap();
    e.advance(Duration::ZERO);
    assert_eq!(sheets(&e.advance(7 * S)), vec![1]);
    // Sheet 2 is in the engine (due at 9 s) when the pause comes at 8 s.
    e.advance(8 * S);
    assert!(e.pause());
    assert!(!e.pause());
    assert_eq!(e.status().state, PrinterProcessingState::Stopped);
    assert_eq!(e.status().ipp_reasons(), ["paused"]);
    assert_eq!(e.next_wakeup(), None);
    assert!(e.advance(30 * S).is_empty());
    assert_eq!(e.active_job(), Some((1, 1)));
    assert!(e.resume(30 * S));
    assert!(!e.resume(30 * S));
    assert_eq!(e.status().ipp_reasons(), ["none"]);
    // Sheet 2 comes out at the resume, sheet 3 a sheet's time later: no catching up.
    assert_eq!(sheets(&e.advance(31 * S)), vec![2]);
    assert_eq!(sheets(&e.advance(32 * S)), vec![3]);
    assert_eq!(e.active_job(), None);
}

#[test]
fn loading_paper_into_the_empty_tray_goes_on_with_the_job_and_the_change_survives_a_restart() {
    let consumables = || (vec![tray("tray-1", "A4", Some(2))], vec![toner(50, 10)]);
    let (trays, supplies) = consumables();
    let mut e = Engine::new(fast(), FaultSpec::default()).with_consumables(trays, supplies);
    assert_eq!(
        e.load_media("tray-9", "A5", Duration::ZERO),
        Err(EngineError::UnknownTray("tray-9".into()))
    );
    e.start_job(1, work(4), 0, Duration::ZERO).unwrap();
    e.select_tray(None, Some("A4"));
    assert_eq!(sheets(&e.advance(Duration::ZERO)), [1, 2]);
    assert_eq!(e.status().faults, [Fault::MediaEmpty]);
    // A full stack of other paper: the tray is full, paper-out ends, the job goes on.
    e.load_media("tray-1", "A5", Duration::ZERO).unwrap();
    assert!(e.status().faults.is_empty());
    assert_eq!(
        e.trays().next().map(|(t, l)| (t.media_size.as_str(), l)),
        Some(("A5", Some(10)))
    );
    assert_eq!(sheets(&e.advance(Duration::ZERO)), [3, 4]);

    let kept = e.memory();
    assert_eq!(kept.levels.media["tray-1"], "A5");
    let (trays, supplies) = consumables();
    let mut restarted = Engine::new(fast(), FaultSpec::default()).with_consumables(trays, supplies);
    restarted.restore(&kept);
    assert_eq!(restarted.trays().next().unwrap().0.media_size, "A5");
    // Loading the declared paper again leaves nothing to remember.
    restarted
        .load_media("tray-1", "A4", Duration::ZERO)
        .unwrap();
    assert!(restarted.memory().levels.media.is_empty());
}

#[test]
fn a_supply_set_low_warns_set_to_zero_stops_and_set_again_prints_on() {
    let mut e = Engine::new(fast(), FaultSpec::default()).with_consumables(
        Vec::new(),
        vec![Supply {
            sheets_per_percent: None,
            ..toner(80, 10)
        }],
    );
    assert_eq!(
        e.set_supply_level("Cyan Ink", 5, Duration::ZERO),
        Err(EngineError::UnknownSupply("Cyan Ink".into()))
    );
    assert_eq!(
        e.set_supply_level("Black Toner", 5, Duration::ZERO),
        Ok(None)
    );
    assert_eq!(e.status().ipp_reasons(), ["toner-low"]);
    e.start_job(1, work(3), 0, Duration::ZERO).unwrap();
    // At 0 the job on the engine stops, as for a fault raised by hand.
    assert!(matches!(
        e.set_supply_level("Black Toner", 0, Duration::ZERO),
        Ok(Some(EngineEvent::Stopped {
            job: Some(1),
            fault: Fault::TonerEmpty,
            ..
        }))
    ));
    assert_eq!(e.status().ipp_reasons(), ["toner-empty"]);
    assert_eq!(e.status().state, PrinterProcessingState::Stopped);
    assert!(e.advance(Duration::ZERO).is_empty());
    // Even a supply whose level never changes by itself is remembered once a person set it.
    assert_eq!(e.memory().levels.supplies["Black Toner"].percent, 0);
    assert_eq!(
        e.set_supply_level("Black Toner", 60, Duration::ZERO),
        Ok(None)
    );
    assert_eq!(e.status().ipp_reasons(), ["none"]);
    assert_eq!(sheets(&e.advance(Duration::ZERO)), [1, 2, 3]);
}
