//! The print engine of an emulated printer, as deterministic logic over a clock the caller owns.
//!
//! Nothing here sleeps or reads the system time: the device loop passes "now" (time since the
//! device started) to [`Engine::advance`] and sleeps until [`Engine::next_wakeup`] itself. That
//! keeps thousands of idle engines free of timers and makes every fault schedule testable to the
//! sheet, including the seeded random faults, which repeat exactly for the same seed.
//!
//! A sheet counts as printed only when it leaves the engine; a jammed sheet is not counted and is
//! printed again after the jam is cleared, so a resumed job never prints a sheet twice.

mod faults;
#[cfg(test)]
mod tests;

pub use faults::{Fault, FaultMemory, FaultSpec, OfflineWindow, RandomFaults};

use printlab_graph::{PrinterProcessingState, PrinterStatus};
use rand::rngs::StdRng;
use rand::{RngExt, SeedableRng};
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
