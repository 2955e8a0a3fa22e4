//! What came of one case: the record a report is made of.

use crate::{Case, Finding};
use serde::{Deserialize, Serialize};
use std::path::PathBuf;

/// How a case ended, as a person judges it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum Verdict {
    /// Printed, and (where the output was visible) the output matched the settings.
    Passed,
    /// The case was planned as a refusal and the printer refused it.
    RefusedAsExpected,
    /// A finding: the job ended wrong, timed out, or its output did not match.
    Failed,
    /// The run was interrupted before this case ended.
    NotRun,
}

impl Verdict {
    pub fn is_pass(self) -> bool {
        matches!(self, Verdict::Passed | Verdict::RefusedAsExpected)
    }

    /// The word the report shows.
    pub fn label(self) -> &'static str {
        match self {
            Verdict::Passed => "passed",
            Verdict::RefusedAsExpected => "refused as expected",
            Verdict::Failed => "failed",
            Verdict::NotRun => "not run",
        }
    }
}

/// Seconds spent in each step of a case.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Timings {
    /// Create, upload, check and start.
    pub submit: f64,
    /// From the start to the job's end, faults included.
    pub print: f64,
    /// Reading and checking the output.
    pub verify: f64,
}

/// One case and what was seen of it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CaseResult {
    pub case: Case,
    pub verdict: Verdict,
    /// The checks that did not hold; empty for a pass.
    pub findings: Vec<Finding>,
    /// Only the job's end state was checked: the printer's output is not on this machine (a
    /// printer behind another Graph endpoint), so nothing was compared with the pixels.
    pub state_only: bool,
    pub job_id: Option<String>,
    /// The job's final state and the printer's description of it.
    pub job_state: Option<String>,
    pub job_description: Option<String>,
    /// Device faults met on the way (a jam, paper out), cleared or waited out: not failures.
    pub faults: Vec<String>,
    /// The test document that was sent.
    pub document: Option<PathBuf>,
    /// The folder of the printed sides, and the sides in the order they left the printer.
    pub output_dir: Option<PathBuf>,
    pub outputs: Vec<PathBuf>,
    pub timings: Timings,
}

impl CaseResult {
    /// A case that could not get as far as a job.
    pub(crate) fn failed_before_printing(case: Case, finding: Finding) -> CaseResult {
        CaseResult {
            case,
            verdict: Verdict::Failed,
            findings: vec![finding],
            state_only: false,
            job_id: None,
            job_state: None,
            job_description: None,
            faults: Vec::new(),
            document: None,
            output_dir: None,
            outputs: Vec::new(),
            timings: Timings::default(),
        }
    }

    /// A case an interrupted run never finished.
    pub fn not_run(case: Case) -> CaseResult {
        CaseResult {
            verdict: Verdict::NotRun,
            findings: Vec::new(),
            ..CaseResult::failed_before_printing(
                case,
                Finding {
                    check: String::new(),
                    expected: String::new(),
                    observed: String::new(),
                },
            )
        }
    }
}
