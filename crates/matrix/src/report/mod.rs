//! The report of a run, in three forms from one record: `report.json` (everything, for tools),
//! `junit.xml` (one testcase per case, for CI) and `report.html` (one self-contained page a
//! person reads: failures first, with thumbnails of what came out next to what was expected).

mod coverage;
mod html;
mod junit;
mod markup;
mod thumbnail;

pub use coverage::OptionCoverage;

use crate::Finding;
use crate::plan::PrinterCoverage;
use crate::run::{CaseResult, Verdict};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use thiserror::Error;

#[derive(Debug, Error)]
pub enum ReportError {
    #[error("writing {path}: {source}")]
    Write {
        path: PathBuf,
        source: std::io::Error,
    },
}

/// Counts over every case.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Summary {
    pub cases: usize,
    pub passed: usize,
    pub refused_as_expected: usize,
    pub failed: usize,
    pub not_run: usize,
    /// Passed on the job's end state alone: the output was not visible.
    pub state_only: usize,
    /// Cases that met a device fault on the way.
    pub with_faults: usize,
}

/// One run of a plan, as every report form shows it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Report {
    /// The Graph endpoint the cases were printed through.
    pub graph: String,
    pub started: DateTime<Utc>,
    pub finished: DateTime<Utc>,
    /// Ctrl-C stopped the run: the cases not yet ended are `notRun`.
    pub interrupted: bool,
    pub summary: Summary,
    /// Findings before printing, per printer (defaults that are not supported values, …).
    pub static_checks: BTreeMap<String, Vec<Finding>>,
    /// Per printer, each option the plan set and the values it tried.
    pub coverage: BTreeMap<String, Vec<OptionCoverage>>,
    /// Per printer, the pairs of values the plan covered of those possible (empty for cases
    /// written by hand, which come without the printers' capabilities).
    #[serde(default)]
    pub pair_coverage: Vec<PrinterCoverage>,
    pub cases: Vec<CaseResult>,
}

/// The files a report was written to.
#[derive(Debug, Clone)]
pub struct ReportFiles {
    pub json: PathBuf,
    pub junit: PathBuf,
    pub html: PathBuf,
}

impl Report {
    pub fn new(
        graph: &str,
        started: DateTime<Utc>,
        interrupted: bool,
        static_checks: BTreeMap<String, Vec<Finding>>,
        cases: Vec<CaseResult>,
    ) -> Report {
        let count = |verdict: Verdict| cases.iter().filter(|c| c.verdict == verdict).count();
        let summary = Summary {
            cases: cases.len(),
            passed: count(Verdict::Passed),
            refused_as_expected: count(Verdict::RefusedAsExpected),
            failed: count(Verdict::Failed),
            not_run: count(Verdict::NotRun),
            state_only: cases.iter().filter(|c| c.state_only).count(),
            with_faults: cases.iter().filter(|c| !c.faults.is_empty()).count(),
        };
        Report {
            graph: graph.to_owned(),
            started,
            finished: Utc::now(),
            interrupted,
            summary,
            static_checks,
            coverage: coverage::of(&cases),
            pair_coverage: Vec::new(),
            cases,
        }
    }

    /// The report of a plan made from the printers' capabilities, with the pairs it covered.
    pub fn with_pair_coverage(self, pair_coverage: Vec<PrinterCoverage>) -> Report {
        Report {
            pair_coverage,
            ..self
        }
    }

    /// Every case passed (or was refused as planned), none was left unrun, and no static
    /// check found anything.
    pub fn all_passed(&self) -> bool {
        !self.interrupted
            && self.cases.iter().all(|c| c.verdict.is_pass())
            && self.static_checks.values().all(Vec::is_empty)
    }

    /// The printers in the order they first appear in the plan.
    pub(crate) fn printers(&self) -> Vec<&str> {
        let mut printers: Vec<&str> = Vec::new();
        for case in &self.cases {
            if !printers.contains(&case.case.printer.as_str()) {
                printers.push(&case.case.printer);
            }
        }
        printers
    }

    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(self).expect("a report serialises")
    }

    /// Writes `report.json`, `junit.xml` and `report.html` into `dir`.
    pub fn write(&self, dir: &Path) -> Result<ReportFiles, ReportError> {
        let write = |name: &str, text: String| {
            let path = dir.join(name);
            std::fs::create_dir_all(dir)
                .and_then(|()| std::fs::write(&path, text))
                .map_err(|source| ReportError::Write {
                    path: path.clone(),
                    source,
                })?;
            Ok(path)
        };
        Ok(ReportFiles {
            json: write("report.json", self.to_json())?,
            junit: write("junit.xml", junit::render(self))?,
            html: write("report.html", html::render(self, &dir.join("expected")))?,
        })
    }
}
