//! A local IPP job's attributes, read from its spool record: what Get-Job-Attributes,
//! Get-Jobs and the job operations' answers say.

use super::{LocalPrinter, Target};
use crate::spool::JobRecord;
use printlab_graph::PrintJobProcessingState;
use printlab_ipp::{Attribute, DateTime, OutOfBand, Value};

/// RFC 8011 `job-state` of a spool state.
pub(super) fn job_state(state: PrintJobProcessingState) -> i32 {
    match state {
        PrintJobProcessingState::Paused => 4,
        PrintJobProcessingState::Processing => 5,
        PrintJobProcessingState::Stopped => 6,
        PrintJobProcessingState::Canceled => 7,
        PrintJobProcessingState::Aborted => 8,
        PrintJobProcessingState::Completed => 9,
        _ => 3,
    }
}

pub(super) fn job_uri(target: &Target<'_>, printer: &LocalPrinter, job: u32) -> String {
    format!("{}/{job}", target.printer_uri(printer))
}

/// The attributes that answer Print-Job, Create-Job and Send-Document.
pub(super) fn job_status(
    target: &Target<'_>,
    printer: &LocalPrinter,
    record: &JobRecord,
) -> Vec<Attribute> {
    let reasons = record.reasons.iter().map(|r| Value::keyword(r.clone()));
    vec![
        Attribute::new(
            "job-uri",
            Value::uri(job_uri(target, printer, record.job_id)),
        ),
        Attribute::new("job-id", Value::Integer(record.job_id as i32)),
        Attribute::new("job-state", Value::Enum(job_state(record.state))),
        Attribute::set("job-state-reasons", reasons.collect::<Vec<_>>()),
    ]
}

/// Every attribute of the job; the caller filters by requested-attributes.
pub(super) fn job_attributes(
    target: &Target<'_>,
    printer: &LocalPrinter,
    record: &JobRecord,
    last_message: Option<String>,
) -> Vec<Attribute> {
    let mut attrs = job_status(target, printer, record);
    let config = &record.configuration;
    attrs.push(Attribute::new(
        "job-printer-uri",
        Value::uri(target.printer_uri(printer)),
    ));
    attrs.push(Attribute::new(
        "job-uuid",
        Value::uri(format!("{}-{}", printer.info.uuid, record.job_id)),
    ));
    attrs.push(Attribute::new(
        "job-name",
        Value::name(record.name.clone().unwrap_or_else(|| "Untitled".into())),
    ));
    attrs.push(Attribute::new(
        "job-originating-user-name",
        Value::name(record.user.clone().unwrap_or_else(|| "anonymous".into())),
    ));
    if let Some(message) = last_message {
        attrs.push(Attribute::new("job-state-message", Value::text(message)));
    }
    attrs.push(Attribute::new(
        "job-printer-up-time",
        Value::Integer(target.up_time()),
    ));
    attrs.push(Attribute::new(
        "time-at-creation",
        Value::Integer(target.up_time_at(record.created_at)),
    ));
    let started = record.state != PrintJobProcessingState::Pending;
    let ended = record.state.is_terminal();
    let time = |yes: bool| {
        if yes {
            Value::Integer(target.up_time_at(record.updated_at))
        } else {
            Value::OutOfBand(OutOfBand::NO_VALUE)
        }
    };
    attrs.push(Attribute::new("time-at-processing", time(started)));
    attrs.push(Attribute::new("time-at-completed", time(ended)));
    let date = |at| Value::DateTime(DateTime::from_chrono(at));
    attrs.push(Attribute::new(
        "date-time-at-creation",
        date(record.created_at),
    ));
    let no_value = Value::OutOfBand(OutOfBand::NO_VALUE);
    attrs.push(Attribute::new(
        "date-time-at-processing",
        if started {
            date(record.updated_at)
        } else {
            no_value.clone()
        },
    ));
    attrs.push(Attribute::new(
        "date-time-at-completed",
        if ended {
            date(record.updated_at)
        } else {
            no_value
        },
    ));
    let documents = i32::from(record.document.is_some());
    attrs.push(Attribute::new(
        "number-of-documents",
        Value::Integer(documents),
    ));
    if let Some(document) = &record.document {
        attrs.push(Attribute::new(
            "document-format-supplied",
            Value::mime_media_type(document.format.clone()),
        ));
        let k_octets = document.bytes_received.div_ceil(1024);
        attrs.push(Attribute::new(
            "job-k-octets",
            Value::Integer(i32::try_from(k_octets).unwrap_or(i32::MAX)),
        ));
    }
    let count = |n: u64| Value::Integer(i32::try_from(n).unwrap_or(i32::MAX));
    attrs.push(Attribute::new(
        "job-impressions-completed",
        count(record.progress.impressions_completed),
    ));
    attrs.push(Attribute::new(
        "job-media-sheets-completed",
        count(record.progress.sheets_completed),
    ));
    if let Some(copies) = config.copies {
        attrs.push(Attribute::new("copies", Value::Integer(copies)));
    }
    if let Some(media) = config
        .media_size
        .as_deref()
        .and_then(printlab_graph::MediaSize::by_graph_name)
    {
        attrs.push(Attribute::new("media", Value::keyword(media.pwg_name)));
    }
    attrs
}
