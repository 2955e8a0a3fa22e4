//! The print engine of an emulated printer, as deterministic logic over a clock the caller owns.
//!
//! Nothing here sleeps or reads the system time: the device loop passes "now" (time since the
//! device started) to [`Engine::advance`] and sleeps until [`Engine::next_wakeup`] itself. That
//! keeps thousands of idle engines free of timers and makes every fault schedule testable to the
//! sheet, including the seeded random faults, which repeat exactly for the same seed.
//!
//! A sheet counts as printed only when it leaves the engine; a jammed sheet is not counted and is
//! printed again after the jam is cleared, so a resumed job never prints a sheet twice.

mod consumables;
mod faults;
#[cfg(test)]
mod tests;

pub use consumables::{Levels, Supply, SupplyLevel, SupplyWarning, Tray};
pub use faults::{Fault, FaultMemory, FaultSpec, OfflineWindow, RandomFaults};

use printlab_graph::{PrinterProcessingState, PrinterProcessingStateDetail, PrinterStatus};
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
    /// Paused by a person: no sheet is fed until they resume it.
    pub paused: bool,
    /// Supplies running low: reported, but the printer keeps printing.
    pub warnings: Vec<SupplyWarning>,
}

impl EngineStatus {
    /// IPP `printer-state-reasons`: `none` when nothing is wrong.
    pub fn ipp_reasons(&self) -> Vec<&'static str> {
        let reasons: Vec<&'static str> = (self.faults.iter().map(|f| f.ipp_keyword()))
            .chain(self.paused.then_some("paused"))
            .chain(self.warnings.iter().map(|w| w.ipp_keyword()))
            .collect();
        if reasons.is_empty() {
            vec!["none"]
        } else {
            reasons
        }
    }

    /// The Graph `printerStatus` this state shows as.
    pub fn graph_status(&self) -> PrinterStatus {
        PrinterStatus {
            state: self.state,
            details: (self.faults.iter().map(|f| f.graph_detail()))
                .chain(self.paused.then(|| {
                    PrinterProcessingStateDetail::from_name("paused").expect("core member")
                }))
                .chain(self.warnings.iter().map(|w| w.graph_detail()))
                .collect(),
            // Always a message: a service keeps the last one it was given, so "clear the jam"
            // would otherwise outlive the jam.
            description: Some(match self.state {
                _ if !self.faults.is_empty() => self
                    .faults
                    .iter()
                    .map(|f| f.remedy())
                    .collect::<Vec<_>>()
                    .join("; "),
                _ if self.paused => "Paused".to_string(),
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
    #[error("the printer has no tray named {0}")]
    UnknownTray(String),
    #[error("the printer has no supply named {0}")]
    UnknownSupply(String),
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
    /// Index of the declared tray the sheets come from, if one holds the job's paper.
    tray: Option<usize>,
}

/// One printer's engine.
#[derive(Debug)]
pub struct Engine {
    spec: EngineSpec,
    faults: FaultSpec,
    rng: Option<StdRng>,
    active: Option<ActiveJob>,
    present: BTreeSet<Fault>,
    paused: bool,
    sheets_picked: u64,
    sheets_printed: u64,
    paper_left: Option<u64>,
    cover_opened: bool,
    last_activity: Option<Duration>,
    trays: Vec<Tray>,
    /// Sheets in each of `trays` now.
    tray_levels: Vec<Option<u64>>,
    /// The media size `printers.toml` loads in each of `trays`, so only a person's change of
    /// paper is kept across a restart.
    declared_media: Vec<String>,
    supplies: Vec<Supply>,
    /// Level of each of `supplies` now.
    supply_levels: Vec<SupplyLevel>,
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
            paused: false,
            sheets_picked: 0,
            sheets_printed: 0,
            paper_left,
            cover_opened: false,
            last_activity: None,
            trays: Vec::new(),
            tray_levels: Vec::new(),
            declared_media: Vec::new(),
            supplies: Vec::new(),
            supply_levels: Vec::new(),
        }
    }

    /// The declared trays and supplies, at their declared levels (a restart then restores the
    /// levels the spool kept, [`Engine::restore`]).
    pub fn with_consumables(mut self, trays: Vec<Tray>, supplies: Vec<Supply>) -> Self {
        self.tray_levels = trays.iter().map(|t| t.level).collect();
        self.declared_media = trays.iter().map(|t| t.media_size.clone()).collect();
        self.supply_levels = supplies
            .iter()
            .map(|s| SupplyLevel {
                percent: s.level,
                sheets_into_percent: 0,
            })
            .collect();
        self.trays = trays;
        self.supplies = supplies;
        self
    }

    /// Each declared tray with the sheets it holds now (`None`: never runs out).
    pub fn trays(&self) -> impl Iterator<Item = (&Tray, Option<u64>)> {
        self.trays.iter().zip(self.tray_levels.iter().copied())
    }

    /// Each declared supply with its level in percent now.
    pub fn supplies(&self) -> impl Iterator<Item = (&Supply, u8)> {
        (self.supplies.iter()).zip(self.supply_levels.iter().map(|l| l.percent))
    }

    /// Feeds the job on the engine from its input bin's tray, or for `auto` (or no bin) from
    /// the first tray loaded with the job's media size; no matching tray: no tray level counts.
    pub fn select_tray(&mut self, input_bin: Option<&str>, media_size: Option<&str>) {
        let tray = match input_bin.filter(|b| *b != "auto") {
            Some(bin) => self.trays.iter().position(|t| t.name == bin),
            None => {
                media_size.and_then(|size| self.trays.iter().position(|t| t.media_size == size))
            }
        };
        if let Some(active) = &mut self.active {
            active.tray = tray;
        }
    }

    fn active_tray_empty(&self) -> bool {
        let tray = self.active.as_ref().and_then(|j| j.tray);
        tray.is_some_and(|t| self.tray_levels[t] == Some(0))
    }

    /// The fault of a used-up supply, if one is.
    fn empty_supply(&self) -> Option<Fault> {
        self.supplies()
            .find(|(s, level)| *level == 0 && s.sheets_per_percent.is_some())
            .map(|(s, _)| {
                if s.is_toner() {
                    Fault::TonerEmpty
                } else {
                    Fault::MarkerSupplyEmpty
                }
            })
    }

    /// One sheet out: one sheet less in its tray, and each counted supply a step nearer its
    /// next percent.
    fn use_up_sheet(&mut self, tray: Option<usize>) {
        if let Some(level) = tray.and_then(|t| self.tray_levels[t].as_mut()) {
            *level = level.saturating_sub(1);
        }
        for (supply, level) in self.supplies.iter().zip(&mut self.supply_levels) {
            let Some(per_percent) = supply.sheets_per_percent else {
                continue;
            };
            level.sheets_into_percent += 1;
            if level.sheets_into_percent >= per_percent {
                level.sheets_into_percent = 0;
                level.percent = level.percent.saturating_sub(1);
            }
        }
    }

    pub fn faults_spec(&self) -> &FaultSpec {
        &self.faults
    }

    /// Current state and reasons.
    pub fn status(&self) -> EngineStatus {
        let state = if !self.present.is_empty() || self.paused {
            PrinterProcessingState::Stopped
        } else if self.active.is_some() {
            PrinterProcessingState::Processing
        } else {
            PrinterProcessingState::Idle
        };
        let mut warnings: Vec<SupplyWarning> = self
            .supplies()
            .filter(|(s, level)| *level <= s.low && *level > 0)
            .map(|(s, _)| SupplyWarning::of(s))
            .collect();
        warnings.sort();
        warnings.dedup();
        EngineStatus {
            state,
            faults: self.present.iter().copied().collect(),
            paused: self.paused,
            warnings,
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
            tray: None,
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

    /// Clears a fault the way a person would (clear the jam, fill the empty trays, close the
    /// cover, replace the empty supplies); printing resumes at `now` with the sheet that had not
    /// come out. Returns false if it was not present.
    pub fn clear(&mut self, fault: Fault, now: Duration) -> bool {
        match fault {
            Fault::MediaEmpty => {
                self.paper_left = self.faults.out_of_paper_after_sheets;
                for (tray, level) in self.trays.iter().zip(&mut self.tray_levels) {
                    if *level == Some(0) {
                        *level = Some(tray.capacity);
                    }
                }
            }
            Fault::TonerEmpty | Fault::MarkerSupplyEmpty => {
                let toner = fault == Fault::TonerEmpty;
                for (supply, level) in self.supplies.iter().zip(&mut self.supply_levels) {
                    if level.percent == 0 && supply.is_toner() == toner {
                        *level = SupplyLevel {
                            percent: supply.high,
                            sheets_into_percent: 0,
                        };
                    }
                }
            }
            Fault::MediaJam | Fault::CoverOpen => {}
        }
        if !self.present.remove(&fault) {
            return false;
        }
        self.feed_again_at(now);
        true
    }

    /// Raises a fault a person causes at run time (the control API). A jam takes the sheet in
    /// the engine with it: that sheet is not counted and prints again after the clear, so the
    /// job resumes at it without losing or repeating a page. Any other fault lets the sheet in
    /// the engine finish once the fault is cleared. Gives the stop, if the fault was new.
    pub fn raise_now(&mut self, fault: Fault, now: Duration) -> Option<EngineEvent> {
        if fault == Fault::MediaJam
            && let Some(job) = &mut self.active
            && job.in_flight_until.take().is_some()
        {
            job.next_start = job.next_start.max(now);
        }
        let mut events = Vec::new();
        self.raise(fault, now, &mut events);
        events.pop()
    }

    /// Pauses the printer, as a person pressing its Pause button: the engine stops as it does for
    /// a fault other than a jam (the sheet in it comes out after [`Engine::resume`]), so the job
    /// waits without a sheet reported in between. Returns false if it was paused.
    pub fn pause(&mut self) -> bool {
        !std::mem::replace(&mut self.paused, true)
    }

    /// Ends a pause: feeding goes on at `now`, unless a fault still stops the printer. Returns
    /// false if it was not paused.
    pub fn resume(&mut self, now: Duration) -> bool {
        if !std::mem::replace(&mut self.paused, false) {
            return false;
        }
        self.feed_again_at(now);
        true
    }

    /// After a stop: a sheet left in the engine comes out at `now` and the next follows at the
    /// rated pace from there, not at once to make up for the time stopped.
    fn feed_again_at(&mut self, now: Duration) {
        if let Some(job) = &mut self.active {
            job.next_start = job.next_start.max(now);
            if let Some(until) = &mut job.in_flight_until {
                *until = (*until).max(now);
            }
        }
    }

    /// Empties a declared tray, as a person taking its paper out: the job feeding from it stops
    /// with `media-empty` before its next sheet, and a clear fills it to its capacity.
    pub fn empty_tray(&mut self, name: &str) -> Result<(), EngineError> {
        let index = (self.trays.iter().position(|t| t.name == name))
            .ok_or_else(|| EngineError::UnknownTray(name.to_string()))?;
        self.tray_levels[index] = Some(0);
        Ok(())
    }

    /// Loads a full stack of `media_size` (a Graph name) into a declared tray, as a person
    /// changing its paper. A job waiting on that tray for paper goes on at `now`.
    pub fn load_media(
        &mut self,
        tray: &str,
        media_size: &str,
        now: Duration,
    ) -> Result<(), EngineError> {
        let index = (self.trays.iter().position(|t| t.name == tray))
            .ok_or_else(|| EngineError::UnknownTray(tray.to_string()))?;
        let loaded = &mut self.trays[index];
        loaded.media_size = media_size.to_string();
        if let Some(level) = &mut self.tray_levels[index] {
            *level = loaded.capacity;
        }
        self.end_media_empty_if_fed(now);
        Ok(())
    }

    /// Sets a supply's level, as a person fitting a part-used cartridge: at or under its low
    /// mark the printer warns, at 0 it stops as for a used-up supply (the stop is given, as
    /// [`Engine::raise_now`] gives it), above 0 an empty fault of its kind ends unless another
    /// supply of that kind is still empty.
    pub fn set_supply_level(
        &mut self,
        name: &str,
        percent: u8,
        now: Duration,
    ) -> Result<Option<EngineEvent>, EngineError> {
        let index = (self.supplies.iter().position(|s| s.name == name))
            .ok_or_else(|| EngineError::UnknownSupply(name.to_string()))?;
        let percent = percent.min(100);
        self.supply_levels[index] = SupplyLevel {
            percent,
            sheets_into_percent: 0,
        };
        let toner = self.supplies[index].is_toner();
        let fault = if toner {
            Fault::TonerEmpty
        } else {
            Fault::MarkerSupplyEmpty
        };
        let kind_still_empty =
            (self.supplies()).any(|(s, level)| level == 0 && s.is_toner() == toner);
        if kind_still_empty {
            return Ok(self.raise_now(fault, now));
        }
        if self.present.remove(&fault) {
            self.feed_again_at(now);
        }
        Ok(None)
    }

    /// Paper-out ends by itself once the job's tray holds paper again.
    fn end_media_empty_if_fed(&mut self, now: Duration) {
        let fed = self.paper_left != Some(0) && !self.active_tray_empty();
        if fed && self.present.remove(&Fault::MediaEmpty) {
            self.feed_again_at(now);
        }
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
        while self.present.is_empty() && !self.paused {
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
                    let empty_tray = self.paper_left == Some(0) || self.active_tray_empty();
                    if self.draw(|r| r.media_empty) || empty_tray {
                        self.raise(Fault::MediaEmpty, start, &mut events);
                        break;
                    }
                    if let Some(fault) = self.empty_supply() {
                        self.raise(fault, start, &mut events);
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
            let tray = active.tray;
            self.use_up_sheet(tray);
            events.push(EngineEvent::SheetDone {
                job: id,
                sheets_completed: done,
                impressions_completed: impressions,
                at: until,
            });
            if self.paper_left == Some(0) || self.active_tray_empty() {
                self.raise(Fault::MediaEmpty, until, &mut events);
            }
            if let Some(fault) = self.empty_supply() {
                self.raise(fault, until, &mut events);
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
        if !self.present.is_empty() || self.paused {
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
    /// off), whether the once-only cover opening has happened, and the levels of the declared
    /// trays and supplies (paper and toner do not come back with the power).
    pub fn memory(&self) -> FaultMemory {
        let trays = self
            .trays()
            .filter_map(|(t, level)| Some((t.name.clone(), level?)))
            .collect();
        let supplies = (self.supplies.iter().zip(&self.supply_levels))
            .filter(|(s, level)| s.sheets_per_percent.is_some() || level.percent != s.level)
            .map(|(s, level)| (s.name.clone(), *level))
            .collect();
        let media = (self.trays.iter().zip(&self.declared_media))
            .filter(|(t, declared)| t.media_size != **declared)
            .map(|(t, _)| (t.name.clone(), t.media_size.clone()))
            .collect();
        FaultMemory {
            present: self.present.iter().copied().collect(),
            cover_opened: self.cover_opened,
            levels: Levels {
                trays,
                supplies,
                media,
            },
        }
    }

    /// True when the engine has levels that change as it prints, so each sheet changes
    /// [`Engine::memory`].
    pub fn counts_levels(&self) -> bool {
        self.tray_levels.iter().any(Option::is_some)
            || self.supplies.iter().any(|s| s.sheets_per_percent.is_some())
    }

    /// Takes back what [`Engine::memory`] saved before a restart. An empty tray stays empty
    /// until refilled; otherwise the tray counts from full again (its level is not kept).
    pub fn restore(&mut self, memory: &FaultMemory) {
        self.present.extend(memory.present.iter().copied());
        self.cover_opened |= memory.cover_opened;
        if self.present.contains(&Fault::MediaEmpty) && self.paper_left.is_some() {
            self.paper_left = Some(0);
        }
        for (tray, level) in self.trays.iter_mut().zip(&mut self.tray_levels) {
            if let (Some(now), Some(kept)) = (level.as_mut(), memory.levels.trays.get(&tray.name)) {
                *now = (*kept).min(tray.capacity);
            }
            if let Some(loaded) = memory.levels.media.get(&tray.name) {
                tray.media_size = loaded.clone();
            }
        }
        for (supply, level) in self.supplies.iter().zip(&mut self.supply_levels) {
            if let Some(kept) = memory.levels.supplies.get(&supply.name) {
                *level = SupplyLevel {
                    percent: kept.percent.min(100),
                    ..*kept
                };
            }
        }
    }
}
