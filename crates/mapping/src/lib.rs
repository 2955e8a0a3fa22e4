//! The one table between IPP attributes (PWG 5100.18 device side) and Graph (client side).
//!
//! It answers how IPP attributes, Graph resources and the engine's ticket translate into one
//! another, split by subject: `tables` (the value tables), `values` (shared building blocks),
//! `printer` (capabilities and defaults), `printer_model` (a real printer's attributes → what a
//! `printers.toml` entry says, for `printlab printers import`), `printer_supply` (its supplies), `status` (printer and job status), `job` (the job
//! template), `media_col_rules` (how a `media-col` names its size where it travels) and `ticket` (Graph job configuration → `printlab_ticket::Ticket`). It knows the
//! three vocabularies and nothing else: no transport, no store, no rasterizer.
//!
//! Devices describe themselves in IPP (Update-Output-Device-Attributes) and the cloud serves
//! Graph; jobs travel the other way (Graph `printJobConfiguration` → job template attributes in
//! Fetch-Job). Every Graph member and every common IPP value has an explicit entry in
//! `tables.rs`; a value without a counterpart is never silently dropped but reported as
//! [`Unmapped`] with the reason, so callers can log it or answer
//! `successful-ok-ignored-or-substituted-attributes`.
//!
//! Answers for values without a counterpart (also checked by the tests):
//! - Graph `unknownFutureValue` (every enum): never sent to IPP.
//! - Graph `unknown` printer/job state: IPP has no "unknown" state; the attribute is left out.
//! - IPP `print-color-mode` `highlight`: no Graph member; `process-bi-level`,
//!   `process-monochrome` and `auto-monochrome` are read (one way) as blackAndWhite, grayscale,
//!   grayscale.
//! - IPP `orientation-requested` 7 (none): no Graph member.
//! - IPP `finishings` without a Graph member (jog-offset 14, punch-multiple-* 86–89, vendor
//!   values): dropped.
//! - Non-square or dots-per-cm resolutions: dpcm is converted to dpi when the result is whole;
//!   non-square resolutions have no Graph counterpart (`dpis` is a single number).
//! - Media sizes: only the sizes in [`printlab_graph::MEDIA_SIZES`] cross; an unknown PWG name or a
//!   custom size is dropped (a known size given only by dimensions is recognised).
//! - Margins: Graph counts microns, IPP hundredths of millimetres (10 µm); Graph margins that
//!   are not multiples of 10 µm are rounded down and reported.
//! - Empty Graph lists: IPP cannot send an empty 1setOf, so `Some([])` becomes "not sent" and
//!   reads back as `None`.
//! - Printer state reasons: IPP severity suffixes (-report, -warning, -error) are dropped on the
//!   way to Graph (Graph has no severity); Graph → IPP sends the bare keyword, as RFC 8011
//!   permits. Keywords that name no Graph member are reported.
//! - Job state reasons without a Graph detail (e.g. `job-printing`, `job-queued`) are dropped;
//!   `printJobStatus.isAcquiredByPrinter` is the cloud's knowledge (Acknowledge-Job), not an IPP
//!   attribute, so the caller supplies it.

mod job;
mod media_col_rules;
mod media_database;
mod printer;
mod printer_model;
mod printer_supply;
mod status;
mod tables;
mod ticket;
mod values;

pub use job::{graph_from_job_template, job_template_from_graph};
pub use media_col_rules::{MediaColProblem, MediaColUse, check_media_cols, media_col_members};
pub use media_database::{
    first_supported_defaults, media_col_supported, media_database_attributes, media_database_entry,
};
pub use printer::{graph_from_printer_attributes, printer_attributes_from_graph};
pub use printer_model::{
    Constraint, MediaMargins, PrinterModel, Supply, Tray, printer_model_from_ipp,
    split_make_and_model,
};
pub use status::{
    default_job_description, job_status_from_ipp, job_status_to_ipp, printer_status_from_ipp,
    printer_status_to_ipp,
};
pub use tables::{
    COLOR_MODE_ALIASES, COLOR_MODES, DUPLEX_MODES, FEED_ORIENTATIONS, FINISHINGS,
    JOB_STATE_DETAILS, JOB_STATES, MARKER_TYPES, MULTIPAGE_LAYOUTS, ORIENTATIONS,
    PRINTER_STATE_REASON_EXCEPTIONS, PRINTER_STATES, QUALITIES, SCALINGS,
    printer_state_detail_from_keyword, printer_state_reason_keyword,
};
pub use ticket::{TicketError, media_by_name, media_of, ticket_from_graph};
pub use values::MARGIN_MEMBERS;

/// A value that has no counterpart on the other side.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unmapped {
    /// The Graph property or IPP attribute it came from.
    pub attribute: String,
    pub value: String,
    pub reason: &'static str,
}

/// A mapped value plus everything that could not be mapped.
#[derive(Debug, Clone, PartialEq)]
pub struct Mapped<T> {
    pub value: T,
    pub unmapped: Vec<Unmapped>,
}

/// Runs attributes through the real codec, as they would travel.
#[cfg(test)]
fn over_the_wire(attrs: Vec<printlab_ipp::Attribute>) -> Vec<printlab_ipp::Attribute> {
    use printlab_ipp::{GroupTag, Limits, Message, Operation, decode};
    let mut m = Message::request(Operation::UPDATE_OUTPUT_DEVICE_ATTRIBUTES, 1);
    m.group_mut(GroupTag::PRINTER).attributes = attrs;
    let bytes = m.to_bytes().unwrap();
    let (back, _) = decode(&bytes, &Limits::default()).unwrap();
    back.group(GroupTag::PRINTER).unwrap().attributes.clone()
}
