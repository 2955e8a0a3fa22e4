//! The unit of a plan and of a report: one job a client could send, and what came of it.

use printlab_graph::PrintJobConfiguration;
use serde::{Deserialize, Serialize};

/// One planned print: a printer, a document kind, and the settings a client sends. Plans are
/// JSON so that a plan can be saved, edited and replayed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Case {
    /// Unique within a plan, stable when the same plan is made again: `{printer}#{n}`.
    pub id: String,
    /// The printer's display name, as Graph lists its share.
    pub printer: String,
    /// The share the job is created on.
    pub share_id: String,
    /// The document format sent, one of the printer's `contentTypes`.
    pub content_type: String,
    /// Pages of the generated test document.
    pub document_pages: u32,
    /// What the client sends; a setting left out takes the printer's default, as on a device.
    pub configuration: PrintJobConfiguration,
    pub expect: Expectation,
}

/// What the plan expects of a case.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", tag = "outcome")]
pub enum Expectation {
    /// The job completes and its output matches the settings.
    Prints,
    /// The printer was configured to refuse this (a failing format, a constraint): the job must
    /// end refused, and that is not a failure.
    Refused { reason: String },
    /// The settings conflict and the printer was configured to resolve the conflict by changing
    /// some of them (a constraint with a resolver): the job prints as if sent with `resolved`.
    PrintsResolved {
        reason: String,
        /// Boxed: a whole configuration would make every expectation that large.
        resolved: Box<PrintJobConfiguration>,
    },
    /// The printer was configured to fail some jobs at random (seeded faults): a refusal is not
    /// a failure, and a job that prints is checked.
    MayRefuse { reason: String },
}

impl Expectation {
    /// What the plan expects, in the words a report shows.
    pub fn describe(&self) -> String {
        match self {
            Expectation::Prints => "printed as the options ask".to_owned(),
            Expectation::Refused { reason } => format!("refused: {reason}"),
            Expectation::PrintsResolved { reason, .. } => {
                format!("printed with settings changed: {reason}")
            }
            Expectation::MayRefuse { reason } => format!("printed, or refused: {reason}"),
        }
    }

    /// Whether a job that ended refused (aborted by the printer) met this expectation.
    pub fn allows_refusal(&self) -> bool {
        matches!(
            self,
            Expectation::Refused { .. } | Expectation::MayRefuse { .. }
        )
    }
}

/// One check that did not hold: what was expected and what was seen, in words a person reads in
/// the report.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Finding {
    /// Which property: `sheets`, `pixelSize`, `colorMode`, `pageOrder`, `orientation`, ….
    pub check: String,
    pub expected: String,
    pub observed: String,
}
