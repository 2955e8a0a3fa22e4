//! The print engine of an emulated printer, as deterministic logic over a clock the caller owns.
//!
//! Nothing here sleeps or reads the system time: the device loop passes "now" (time since the
//! device started) to [`Engine::advance`] and sleeps until [`Engine::next_wakeup`] itself. That
//! keeps thousands of idle engines free of timers and makes every fault schedule testable to the
//! sheet, including the seeded random faults, which repeat exactly for the same seed.
//!
//! A sheet counts as printed only when it leaves the engine; a jammed sheet is not counted and is
//! printed again after the jam is cleared, so a resumed job never prints a sheet twice.

use printlab_graph::{PrinterProcessingState, PrinterProcessingStateDetail, PrinterStatus};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde::{Deserialize, Serialize};
use std::collections::BTreeSet;
use std::time::Duration;

/// How fast the engine runs.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EngineSpec {
    /// Rated speed in impressions (printed sides) per minute.
    pub pages_per_minute: u32,
    /// Delay before the first sheet when the engine is cold.
    pub warm_up: Duration,
    /// Idle time after which the engine is cold again.
    pub cool_down: Duration,
    /// Skip pacing and warm-up entirely: for tests and throughput runs.
    pub full_speed: bool,
}

/// An interval in which the printer is unreachable, measured from device start.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OfflineWindow {
    pub start: Duration,
    pub duration: Duration,
    /// Repeat the window with this period (start, start + every, …).
    pub every: Option<Duration>,
}

/// Probabilities of faults, drawn from a generator seeded with `seed` so runs repeat.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RandomFaults {
    pub seed: u64,
    /// Per sheet.
    pub jam: f64,
    /// Per sheet.
    pub cover_open: f64,
    /// Per sheet, before it is picked.
    pub media_empty: f64,
    /// Per document.
    pub interpret_failure: f64,
}

/// The faults a printer is declared to have.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct FaultSpec {
    /// Every N-th sheet the engine picks jams.
    pub jam_every_sheets: Option<u64>,
    /// The input tray holds this many sheets; refilling restores it.
    pub out_of_paper_after_sheets: Option<u64>,
    /// The cover opens once, after this many sheets since start.
    pub cover_open_after_sheets: Option<u64>,
    pub offline: Vec<OfflineWindow>,
    /// Document formats the interpreter fails on although they are advertised.
    pub failing_formats: Vec<String>,
    /// Added to every exchange with the cloud.
    pub extra_latency: Duration,
    pub random: Option<RandomFaults>,
}

/// A condition that stops the engine until someone clears it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum Fault {
    MediaJam,
    MediaEmpty,
    CoverOpen,
}

impl Fault {
    /// The IPP `printer-state-reasons` keyword.
    pub fn ipp_keyword(self) -> &'static str {
        match self {
            Fault::MediaJam => "media-jam",
            Fault::MediaEmpty => "media-empty",
            Fault::CoverOpen => "cover-open",
        }
    }

    /// The Graph `printerProcessingStateDetail` member.
    pub fn graph_detail(self) -> PrinterProcessingStateDetail {
        let name = match self {
            Fault::MediaJam => "mediaJam",
            Fault::MediaEmpty => "mediaEmpty",
            Fault::CoverOpen => "coverOpen",
        };
        PrinterProcessingStateDetail::from_name(name).expect("core member")
    }

    /// What a person must do.
    pub fn remedy(self) -> &'static str {
        match self {
            Fault::MediaJam => "clear the jam",
            Fault::MediaEmpty => "refill the input tray",
            Fault::CoverOpen => "close the cover",
        }
    }
}

/// What a job asks of the engine: sheets to feed and sides to print on them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct JobWork {
    pub sheets: u64,
    pub impressions: u64,
}

impl JobWork {
    /// Impressions finished once `sheets` sheets are out; duplex jobs spread sides evenly, with
    /// a possibly one-sided last sheet.
    pub fn impressions_after(&self, sheets: u64) -> u64 {
        if sheets >= self.sheets {
            return self.impressions;
        }
        (sheets * self.impressions.div_ceil(self.sheets.max(1))).min(self.impressions)
    }
}

/// Something that happened inside [`Engine::advance`], with the (simulated) time it happened.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EngineEvent {
    SheetDone {
        job: u32,
        sheets_completed: u64,
        impressions_completed: u64,
        at: Duration,
    },
    Stopped {
        job: Option<u32>,
        fault: Fault,
        at: Duration,
    },
    JobDone {
        job: u32,
        at: Duration,
    },
}

/// The printer state the device reports.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EngineStatus {
    pub state: PrinterProcessingState,
    pub faults: Vec<Fault>,
}

impl EngineStatus {
    /// IPP `printer-state-reasons`: `none` when nothing is wrong.
    pub fn ipp_reasons(&self) -> Vec<&'static str> {
        if self.faults.is_empty() {
            vec!["none"]
        } else {
            self.faults.iter().map(|f| f.ipp_keyword()).collect()
        }
    }

    /// The Graph `printerStatus` this state shows as.
    pub fn graph_status(&self) -> PrinterStatus {
        PrinterStatus {
            state: self.state,
            details: self.faults.iter().map(|f| f.graph_detail()).collect(),
            // Always a message: a service keeps the last one it was given, so "clear the jam"
            // would otherwise outlive the jam.
            description: Some(match self.state {
                _ if !self.faults.is_empty() => self
                    .faults
                    .iter()
                    .map(|f| f.remedy())
                    .collect::<Vec<_>>()
                    .join("; "),
                PrinterProcessingState::Processing => "Printing".to_string(),
                _ => "Ready".to_string(),
            }),
        }
    }
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum EngineError {
    #[error("the engine is printing job {0}")]
    Busy(u32),
    #[error("job {0} is not on the engine")]
    NotActive(u32),
}

/// Why a document did not interpret.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("{0}")]
pub struct InterpretFailure(pub String);

#[derive(Debug, Clone)]
struct ActiveJob {
    id: u32,
    work: JobWork,
    sheets_done: u64,
    /// Earliest time the next sheet may be picked.
    next_start: Duration,
    /// Completion time of the sheet in the engine, once picked.
    in_flight_until: Option<Duration>,
}

/// One printer's engine.
#[derive(Debug)]
pub struct Engine {
    spec: EngineSpec,
    faults: FaultSpec,
    rng: Option<StdRng>,
    active: Option<ActiveJob>,
    present: BTreeSet<Fault>,
    sheets_picked: u64,
    sheets_printed: u64,
    paper_left: Option<u64>,
    cover_opened: bool,
    last_activity: Option<Duration>,
}

impl Engine {
    pub fn new(spec: EngineSpec, faults: FaultSpec) -> Self {
        let rng = faults
            .random
            .as_ref()
            .map(|r| StdRng::seed_from_u64(r.seed));
        let paper_left = faults.out_of_paper_after_sheets;
        Self {
            spec,
            faults,
            rng,
            active: None,
            present: BTreeSet::new(),
            sheets_picked: 0,
            sheets_printed: 0,
            paper_left,
            cover_opened: false,
            last_activity: None,
        }
    }

    pub fn faults_spec(&self) -> &FaultSpec {
        &self.faults
    }

    /// Current state and reasons.
    pub fn status(&self) -> EngineStatus {
        let state = if !self.present.is_empty() {
            PrinterProcessingState::Stopped
        } else if self.active.is_some() {
            PrinterProcessingState::Processing
        } else {
            PrinterProcessingState::Idle
        };
        EngineStatus {
            state,
            faults: self.present.iter().copied().collect(),
        }
    }

    /// The job on the engine and its sheets completed so far.
    pub fn active_job(&self) -> Option<(u32, u64)> {
        self.active.as_ref().map(|j| (j.id, j.sheets_done))
    }

    /// Sheets printed since the engine was created (all jobs).
    pub fn sheets_printed(&self) -> u64 {
        self.sheets_printed
    }

    /// Puts a job on the engine. `sheets_done` is what an earlier run already printed (from the
    /// spool): printing resumes after it.
    pub fn start_job(
        &mut self,
        job: u32,
        work: JobWork,
        sheets_done: u64,
        now: Duration,
    ) -> Result<(), EngineError> {
        if let Some(active) = &self.active {
            return Err(EngineError::Busy(active.id));
        }
        self.active = Some(ActiveJob {
            id: job,
            work,
            sheets_done: sheets_done.min(work.sheets),
            next_start: now,
            in_flight_until: None,
        });
        Ok(())
    }

    /// Takes the job off the engine (cancel); returns the sheets it had completed. A sheet in
    /// flight is abandoned, and faults stay until cleared, as on real hardware.
    pub fn cancel_job(&mut self, job: u32, now: Duration) -> Result<u64, EngineError> {
        match &self.active {
            Some(a) if a.id == job => {
                let done = a.sheets_done;
                self.active = None;
                self.last_activity = Some(now);
                Ok(done)
            }
            _ => Err(EngineError::NotActive(job)),
        }
    }

    /// Clears a fault the way a person would (clear the jam, refill, close the cover); printing
    /// resumes at `now` with the sheet that had not come out. Returns false if it was not present.
    pub fn clear(&mut self, fault: Fault, now: Duration) -> bool {
        if fault == Fault::MediaEmpty {
            self.paper_left = self.faults.out_of_paper_after_sheets;
        }
        if !self.present.remove(&fault) {
            return false;
        }
        if let Some(job) = &mut self.active {
            job.next_start = job.next_start.max(now);
        }
        true
    }

    fn raise(&mut self, fault: Fault, at: Duration, events: &mut Vec<EngineEvent>) {
        if self.present.insert(fault) {
            events.push(EngineEvent::Stopped {
                job: self.active.as_ref().map(|j| j.id),
                fault,
                at,
            });
        }
    }

    fn draw(&mut self, probability: impl Fn(&RandomFaults) -> f64) -> bool {
        let (Some(rng), Some(random)) = (&mut self.rng, &self.faults.random) else {
            return false;
        };
        let p = probability(random);
        // Always draw, so one probability does not shift the sequence of another.
        let x: f64 = rng.random();
        x < p
    }

    fn is_cold(&self, at: Duration) -> bool {
        self.last_activity
            .is_none_or(|last| at.saturating_sub(last) >= self.spec.cool_down)
    }

    fn sheet_time(&self, impressions: u64, at: Duration) -> Duration {
        if self.spec.full_speed {
            return Duration::ZERO;
        }
        let ppm = u64::from(self.spec.pages_per_minute.max(1));
        let print =
            Duration::from_nanos(60_000_000_000u64.saturating_mul(impressions.max(1)) / ppm);
        if self.is_cold(at) {
            print + self.spec.warm_up
        } else {
            print
        }
    }

    /// Runs the engine up to `now` and reports what happened, in order.
    pub fn advance(&mut self, now: Duration) -> Vec<EngineEvent> {
        let mut events = Vec::new();
        while self.present.is_empty() {
            let Some(job) = self.active.clone() else {
                break;
            };
            if job.sheets_done >= job.work.sheets {
                let at = job.next_start;
                self.active = None;
                self.last_activity = Some(at);
                events.push(EngineEvent::JobDone { job: job.id, at });
                break;
            }
            let until = match job.in_flight_until {
                Some(until) => until,
                None => {
                    if job.next_start > now {
                        break;
                    }
                    let start = job.next_start;
                    let empty_tray = self.paper_left == Some(0);
                    if self.draw(|r| r.media_empty) || empty_tray {
                        self.raise(Fault::MediaEmpty, start, &mut events);
                        break;
                    }
                    let sides = job.work.impressions_after(job.sheets_done + 1)
                        - job.work.impressions_after(job.sheets_done);
                    let until = start + self.sheet_time(sides, start);
                    self.sheets_picked += 1;
                    self.active.as_mut().expect("active").in_flight_until = Some(until);
                    until
                }
            };
            if until > now {
                break;
            }
            let every_jams = self
                .faults
                .jam_every_sheets
                .is_some_and(|n| n > 0 && self.sheets_picked.is_multiple_of(n));
            let random_jam = self.draw(|r| r.jam);
            let random_cover = self.draw(|r| r.cover_open);
            let active = self.active.as_mut().expect("active");
            active.in_flight_until = None;
            active.next_start = until;
            self.last_activity = Some(until);
            if every_jams || random_jam {
                self.raise(Fault::MediaJam, until, &mut events);
                break;
            }
            active.sheets_done += 1;
            let (id, done, impressions) = (
                active.id,
                active.sheets_done,
                active.work.impressions_after(active.sheets_done),
            );
            self.sheets_printed += 1;
            if let Some(left) = &mut self.paper_left {
                *left = left.saturating_sub(1);
            }
            events.push(EngineEvent::SheetDone {
                job: id,
                sheets_completed: done,
                impressions_completed: impressions,
                at: until,
            });
            if self.paper_left == Some(0) {
                self.raise(Fault::MediaEmpty, until, &mut events);
            }
            let scheduled_cover = !self.cover_opened
                && self.faults.cover_open_after_sheets == Some(self.sheets_printed);
            if scheduled_cover || random_cover {
                self.cover_opened |= scheduled_cover;
                self.raise(Fault::CoverOpen, until, &mut events);
            }
        }
        events
    }

    /// When the device should call [`Engine::advance`] next; `None` while idle or stopped (only
    /// a new job or a cleared fault changes anything then).
    pub fn next_wakeup(&self) -> Option<Duration> {
        if !self.present.is_empty() {
            return None;
        }
        let job = self.active.as_ref()?;
        Some(job.in_flight_until.unwrap_or(job.next_start))
    }

    /// Decides whether a document of this format interprets. Declared failing formats always
    /// fail; otherwise the seeded interpret-failure probability decides.
    pub fn interpret(&mut self, format: &str) -> Result<(), InterpretFailure> {
        if self
            .faults
            .failing_formats
            .iter()
            .any(|f| f.eq_ignore_ascii_case(format))
        {
            return Err(InterpretFailure(format!(
                "the printer's interpreter failed on {format} documents"
            )));
        }
        if self.draw(|r| r.interpret_failure) {
            return Err(InterpretFailure(format!(
                "the printer's interpreter failed on this {format} document"
            )));
        }
        Ok(())
    }

    /// What the engine must remember across a restart: the faults a person has not cleared
    /// yet (paper stays jammed, the tray stays empty, the cover stays open while the power is
    /// off) and whether the once-only cover opening has happened.
    pub fn memory(&self) -> FaultMemory {
        FaultMemory {
            present: self.present.iter().copied().collect(),
            cover_opened: self.cover_opened,
        }
    }

    /// Takes back what [`Engine::memory`] saved before a restart. An empty tray stays empty
    /// until refilled; otherwise the tray counts from full again (its level is not kept).
    pub fn restore(&mut self, memory: &FaultMemory) {
        self.present.extend(memory.present.iter().copied());
        self.cover_opened |= memory.cover_opened;
        if self.present.contains(&Fault::MediaEmpty) && self.paper_left.is_some() {
            self.paper_left = Some(0);
        }
    }
}

/// The part of an engine's state that outlives the process (kept in the spool).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct FaultMemory {
    pub present: Vec<Fault>,
    pub cover_opened: bool,
}

impl FaultSpec {
    /// True while `now` (since device start) falls inside an offline window.
    pub fn is_offline(&self, now: Duration) -> bool {
        self.offline.iter().any(|w| window_contains(w, now))
    }

    /// The next time at or after `now` when the printer goes offline or comes back.
    pub fn next_offline_change(&self, now: Duration) -> Option<Duration> {
        self.offline.iter().filter_map(|w| next_edge(w, now)).min()
    }
}

fn window_contains(w: &OfflineWindow, now: Duration) -> bool {
    if now < w.start {
        return false;
    }
    let offset = match w.every {
        Some(every) if !every.is_zero() => {
            Duration::from_nanos(((now - w.start).as_nanos() % every.as_nanos()) as u64)
        }
        _ => now - w.start,
    };
    offset < w.duration
}

fn next_edge(w: &OfflineWindow, now: Duration) -> Option<Duration> {
    if now < w.start {
        return Some(w.start);
    }
    match w.every {
        Some(every) if !every.is_zero() => {
            let period = (now - w.start).as_nanos() / every.as_nanos();
            let period_start = w.start + Duration::from_nanos((period * every.as_nanos()) as u64);
            let end = period_start + w.duration;
            Some(if now < end { end } else { period_start + every })
        }
        _ => {
            let end = w.start + w.duration;
            (now < end).then_some(end)
        }
    }
}

#[cfg(test)]
mod tests {
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
}
