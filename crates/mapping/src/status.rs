//! Printer status and job status, both ways, and the description a job state shows when the
//! device gave none.

use crate::Mapped;
use crate::tables::*;
use crate::values::*;
use printlab_graph::*;
use printlab_ipp::{Attribute, AttributeLookup, Value};

/// Graph printer status → `printer-state`, `printer-state-reasons`, `printer-state-message`.
pub fn printer_status_to_ipp(status: &PrinterStatus) -> Mapped<Vec<Attribute>> {
    let mut notes = Notes::default();
    let mut out = Vec::new();
    match to_ipp(PRINTER_STATES, status.state) {
        Some(state) => out.push(Attribute::new("printer-state", Value::Enum(state))),
        None => notes.add("state", status.state, NO_IPP),
    }
    let reasons: Vec<Value> = status
        .details
        .iter()
        .map(|d| Value::keyword(printer_state_reason_keyword(d)))
        .collect();
    out.push(if reasons.is_empty() {
        Attribute::new("printer-state-reasons", Value::keyword("none"))
    } else {
        Attribute::set("printer-state-reasons", reasons)
    });
    if let Some(message) = status.description.as_deref().filter(|m| !m.is_empty()) {
        out.push(Attribute::new(
            "printer-state-message",
            Value::text(message),
        ));
    }
    Mapped {
        value: out,
        unmapped: notes.0,
    }
}

/// `printer-state`, `printer-state-reasons`, `printer-state-message` → Graph printer status.
/// A lone `none` reason means "no details" (Graph's `none` member is kept only when it comes
/// with other reasons, which would be a device bug worth seeing).
pub fn printer_status_from_ipp(attrs: &[Attribute]) -> Mapped<PrinterStatus> {
    let mut notes = Notes::default();
    let state = match attrs.enum_value("printer-state") {
        Some(v) => enum_to_graph(PRINTER_STATES, v).unwrap_or_else(|| {
            notes.add("printer-state", v, NO_GRAPH);
            PrinterProcessingState::Unknown
        }),
        None => PrinterProcessingState::Unknown,
    };
    let mut details = Vec::new();
    if let Some(reasons) = attrs.attr("printer-state-reasons") {
        let keywords: Vec<&str> = reasons.keywords().collect();
        if keywords != ["none"] {
            for kw in keywords {
                match printer_state_detail_from_keyword(kw) {
                    Some(d) if !details.contains(&d) => details.push(d),
                    Some(_) => {}
                    None => notes.add("printer-state-reasons", kw, NO_GRAPH),
                }
            }
        }
    }
    let description = Some(
        attrs
            .string("printer-state-message")
            .unwrap_or_default()
            .to_owned(),
    );
    Mapped {
        value: PrinterStatus {
            state,
            details,
            description,
        },
        unmapped: notes.0,
    }
}

/// Graph job status → `job-state`, `job-state-reasons`, `job-state-message`.
pub fn job_status_to_ipp(status: &PrintJobStatus) -> Mapped<Vec<Attribute>> {
    let mut notes = Notes::default();
    let mut out = Vec::new();
    match to_ipp(JOB_STATES, status.state) {
        Some(state) => out.push(Attribute::new("job-state", Value::Enum(state))),
        None => notes.add("state", status.state, NO_IPP),
    }
    let mut reasons = Vec::new();
    for d in &status.details {
        match to_ipp(JOB_STATE_DETAILS, *d) {
            Some(kw) => reasons.push(Value::keyword(kw)),
            None => notes.add("details", d, NO_IPP),
        }
    }
    if reasons.is_empty() {
        reasons.push(Value::keyword("none"));
    }
    out.push(Attribute::set("job-state-reasons", reasons));
    if !status.description.is_empty() {
        out.push(Attribute::new(
            "job-state-message",
            Value::text(status.description.clone()),
        ));
    }
    Mapped {
        value: out,
        unmapped: notes.0,
    }
}

/// Job status attributes → Graph job status. Reads the device's `output-device-job-state*`
/// (Update-Job-Status) when present, else `job-state*`. `is_acquired_by_printer` is the cloud's
/// own record of Acknowledge-Job.
pub fn job_status_from_ipp(
    attrs: &[Attribute],
    is_acquired_by_printer: bool,
) -> Mapped<PrintJobStatus> {
    let mut notes = Notes::default();
    let (state_attr, reasons_attr, message_attr) =
        if attrs.attr("output-device-job-state").is_some() {
            (
                "output-device-job-state",
                "output-device-job-state-reasons",
                "output-device-job-state-message",
            )
        } else {
            ("job-state", "job-state-reasons", "job-state-message")
        };
    let state = match attrs.enum_value(state_attr) {
        Some(v) => enum_to_graph(JOB_STATES, v).unwrap_or_else(|| {
            notes.add(state_attr, v, NO_GRAPH);
            PrintJobProcessingState::Unknown
        }),
        None => PrintJobProcessingState::Unknown,
    };
    let mut details = Vec::new();
    for kw in attrs
        .attr(reasons_attr)
        .into_iter()
        .flat_map(Attribute::keywords)
    {
        match to_graph(JOB_STATE_DETAILS, kw) {
            Some(d) if !details.contains(&d) => details.push(d),
            Some(_) => {}
            None if kw == "none" => {}
            None => notes.add(reasons_attr, kw, NO_GRAPH),
        }
    }
    let description = attrs
        .string(message_attr)
        .or_else(|| attrs.string("microsoft-output-device-job-state-message"))
        .map(str::to_owned)
        .unwrap_or_else(|| default_job_description(state).to_owned());
    Mapped {
        value: PrintJobStatus {
            state,
            details,
            description,
            is_acquired_by_printer,
        },
        unmapped: notes.0,
    }
}

/// The descriptions Graph's own examples show for each state.
pub fn default_job_description(state: PrintJobProcessingState) -> &'static str {
    match state {
        PrintJobProcessingState::Pending => "The job is waiting to be processed.",
        PrintJobProcessingState::Paused => "The job is not a candidate for processing yet.",
        PrintJobProcessingState::Processing => "The print job is currently being processed.",
        PrintJobProcessingState::Stopped => "The job has stopped processing.",
        PrintJobProcessingState::Completed => {
            "The print job has completed successfully and no further processing will take place."
        }
        PrintJobProcessingState::Canceled => "The print job has been canceled.",
        PrintJobProcessingState::Aborted => "The print job was aborted.",
        PrintJobProcessingState::Unknown | PrintJobProcessingState::UnknownFutureValue => "",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::over_the_wire;

    #[test]
    fn printer_status_round_trips_and_reports_unknown_reasons() {
        let status = PrinterStatus {
            state: PrinterProcessingState::Stopped,
            details: ["mediaJam", "tonerLow", "coverOpen"]
                .iter()
                .map(|n| PrinterProcessingStateDetail::from_name(n).unwrap())
                .collect(),
            description: Some("Paper jam in tray 2".into()),
        };
        let attrs = over_the_wire(printer_status_to_ipp(&status).value);
        assert_eq!(attrs.enum_value("printer-state"), Some(5));
        assert_eq!(printer_status_from_ipp(&attrs).value, status);

        let idle = PrinterStatus {
            state: PrinterProcessingState::Idle,
            details: vec![],
            description: Some(String::new()),
        };
        let attrs = printer_status_to_ipp(&idle).value;
        assert_eq!(
            attrs
                .attr("printer-state-reasons")
                .unwrap()
                .keywords()
                .collect::<Vec<_>>(),
            ["none"]
        );
        assert_eq!(printer_status_from_ipp(&attrs).value, idle);

        let device = vec![
            Attribute::new("printer-state", Value::Enum(4)),
            Attribute::set(
                "printer-state-reasons",
                [
                    Value::keyword("media-low-report"),
                    Value::keyword("media-low-warning"),
                    Value::keyword("acme-gremlins-error"),
                ],
            ),
        ];
        let mapped = printer_status_from_ipp(&device);
        assert_eq!(mapped.value.state, PrinterProcessingState::Processing);
        assert_eq!(
            mapped.value.details,
            vec![PrinterProcessingStateDetail::from_name("mediaLow").unwrap()]
        );
        assert_eq!(mapped.unmapped[0].value, "acme-gremlins-error");

        let unknown = PrinterStatus {
            state: PrinterProcessingState::Unknown,
            ..idle
        };
        let mapped = printer_status_to_ipp(&unknown);
        assert!(mapped.value.attr("printer-state").is_none());
        assert_eq!(mapped.unmapped[0].reason, NO_IPP);
    }

    #[test]
    fn job_status_round_trips_for_every_state_and_detail() {
        for (state, ipp) in JOB_STATES {
            for (detail, kw) in JOB_STATE_DETAILS {
                let status = PrintJobStatus {
                    state: *state,
                    details: vec![*detail],
                    description: default_job_description(*state).to_owned(),
                    is_acquired_by_printer: true,
                };
                let attrs = job_status_to_ipp(&status).value;
                assert_eq!(attrs.enum_value("job-state"), Some(*ipp));
                assert_eq!(attrs.keyword("job-state-reasons"), Some(*kw));
                assert_eq!(job_status_from_ipp(&attrs, true).value, status);
            }
        }
    }

    #[test]
    fn device_job_updates_map_to_graph_status() {
        let update = vec![
            Attribute::new("output-device-job-state", Value::Enum(9)),
            Attribute::set(
                "output-device-job-state-reasons",
                [
                    Value::keyword("job-completed-with-warnings"),
                    Value::keyword("job-printing"),
                ],
            ),
        ];
        let mapped = job_status_from_ipp(&update, true);
        assert_eq!(mapped.value.state, PrintJobProcessingState::Completed);
        assert_eq!(
            mapped.value.details,
            vec![PrintJobStateDetail::CompletedWithWarnings]
        );
        assert!(mapped.value.is_acquired_by_printer);
        assert_eq!(
            mapped.value.description,
            default_job_description(PrintJobProcessingState::Completed)
        );
        assert_eq!(mapped.unmapped[0].value, "job-printing");

        let held = vec![
            Attribute::new("job-state", Value::Enum(4)),
            Attribute::new("job-state-message", Value::text("waiting for release")),
        ];
        let mapped = job_status_from_ipp(&held, false).value;
        assert_eq!(
            (mapped.state, mapped.description.as_str()),
            (PrintJobProcessingState::Paused, "waiting for release")
        );

        let unknown = job_status_to_ipp(&PrintJobStatus {
            state: PrintJobProcessingState::Unknown,
            details: vec![PrintJobStateDetail::UnknownFutureValue],
            description: String::new(),
            is_acquired_by_printer: false,
        });
        assert!(unknown.value.attr("job-state").is_none());
        assert_eq!(unknown.unmapped.len(), 2);
    }
}
