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
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", tag = "outcome")]
pub enum Expectation {
    /// The job completes and its output matches the settings.
    Prints,
    /// The printer was configured to refuse this (a failing format, a constraint): the job must
    /// end refused, and that is not a failure.
    Refused { reason: String },
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
