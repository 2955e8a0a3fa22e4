//! The operations of an IPP Everywhere printer (RFC 8011, PWG 5100.11 Close-Job and
//! Cancel-My-Jobs, PWG 5100.13 Identify-Printer) on the printer's spool. Only jobs received
//! over IPP are seen here: a service's jobs are the service's to report.

use super::document_format::sniff;
use super::job_description::{job_attributes, job_status};
use super::printer_description::printer_attributes;
use super::subscription_operations::{Made, Requested};
use super::{LocalPrinter, Refusal, Target};
use crate::runtime::identify;
use crate::spool::{JobOrigin, JobRecord, NewJob, SpoolError};
use printlab_graph::rules::check_job;
use printlab_graph::{PrintJobConfiguration, PrintJobProcessingState};
use printlab_ipp::requested_attributes::RequestedAttributes;
use printlab_ipp::{
    Attribute, AttributeLookup, DocumentReader, Group, GroupTag, Message, StatusCode, Value,
};
use printlab_mapping::graph_from_job_template;
use tokio::io::AsyncReadExt;
use tracing::{error_span, info};

/// Documents are spooled in chunks of this size, as documents from the service are.
const CHUNK: usize = 64 * 1024;
/// The largest document the printer takes: the renderer reads a document whole.
const MAX_DOCUMENT_BYTES: u64 = 64 << 20;
/// Reason a job created by Create-Job keeps until its last document is in.
const INCOMING: &str = "job-incoming";

fn internal(e: impl std::fmt::Display) -> Refusal {
    Refusal::new(StatusCode::SERVER_ERROR_INTERNAL_ERROR, e.to_string())
}

fn bad_request(message: impl Into<String>) -> Refusal {
    Refusal::new(StatusCode::CLIENT_ERROR_BAD_REQUEST, message)
}

/// A successful answer: status, job attributes, and the unsupported ones ignored.
fn answer(request: &Message, job: Option<Vec<Attribute>>, unsupported: Vec<Attribute>) -> Message {
    let status = if unsupported.is_empty() {
        StatusCode::SUCCESSFUL_OK
    } else {
        StatusCode::SUCCESSFUL_OK_IGNORED_OR_SUBSTITUTED_ATTRIBUTES
    };
    let mut reply = request.reply(status);
    if !unsupported.is_empty() {
        reply.push_group(Group {
            tag: GroupTag::UNSUPPORTED,
            attributes: unsupported,
        });
    }
    if let Some(attributes) = job {
        reply.push_group(Group {
            tag: GroupTag::JOB,
            attributes,
        });
    }
    reply
}

pub(super) fn get_printer_attributes(
    target: &Target<'_>,
    printer: &LocalPrinter,
    request: &Message,
) -> Message {
    let requested = RequestedAttributes::of(request, RequestedAttributes::All);
    let attributes: Vec<Attribute> = printer_attributes(printer, target)
        .into_iter()
        .filter(|a| requested.printer(&a.name))
        .collect();
    let mut reply = request.reply(StatusCode::SUCCESSFUL_OK);
    reply.push_group(Group {
        tag: GroupTag::PRINTER,
        attributes,
    });
    reply
}

/// What a job request asks, checked against what the printer supports.
struct Checked {
    configuration: PrintJobConfiguration,
    /// Attributes or values the printer ignores (fidelity false).
    unsupported: Vec<Attribute>,
    /// `document-format` as asked (`application/octet-stream`: detect).
    format: Option<String>,
}

/// Whether the printer supports `value` of job template attribute `name`, by its
/// `{name}-supported` values.
fn value_supported(name: &str, value: &Value, supported: &Attribute) -> bool {
    if name == "job-priority" {
        return matches!(value, Value::Integer(1..=100));
    }
    supported.values.iter().any(|s| match (s, value) {
        (Value::RangeOfInteger { lower, upper }, Value::Integer(v)) => lower <= v && v <= upper,
        (Value::Boolean(yes), _) => *yes,
        // Collections (media-col) are checked by the mapping and the printer's rules.
        (_, Value::Collection(_)) => true,
        (s, v) => s == v || (s.as_str().is_some() && s.as_str() == v.as_str()),
    })
}

/// RFC 8011 §4.1.7 and §3.1.7: the job template attributes the printer cannot honour go back
/// in the unsupported group; with `ipp-attribute-fidelity` true the job is refused.
fn check(
    printer: &LocalPrinter,
    target: &Target<'_>,
    request: &Message,
) -> Result<Checked, Refusal> {
    let op = request.operation_attributes();
    let description = printer_attributes(printer, target);
    let supported = |name: &str| description.iter().find(|a| a.name == name);
    let mut unsupported = Vec::new();
    if let Some(compression) = op.keyword("compression")
        && compression != "none"
    {
        return Err(Refusal::new(
            StatusCode::CLIENT_ERROR_COMPRESSION_NOT_SUPPORTED,
            format!("compression {compression:?} is not supported (none is)"),
        )
        .with_unsupported(vec![Attribute::new(
            "compression",
            Value::keyword(compression),
        )]));
    }
    let format = op.string("document-format").map(str::to_string);
    if let Some(format) = &format
        && format != "application/octet-stream"
    {
        let formats = supported("document-format-supported");
        if !formats.is_some_and(|f| f.values.iter().any(|v| v.as_str() == Some(format))) {
            return Err(Refusal::new(
                StatusCode::CLIENT_ERROR_DOCUMENT_FORMAT_NOT_SUPPORTED,
                format!("document-format {format} is not one this printer prints"),
            )
            .with_unsupported(vec![Attribute::new(
                "document-format",
                Value::mime_media_type(format.clone()),
            )]));
        }
    }
    let mut kept = Vec::new();
    for attribute in request.groups_of(GroupTag::JOB).flat_map(|g| &g.attributes) {
        let ok = supported(&format!("{}-supported", attribute.name)).is_some_and(|s| {
            attribute
                .values
                .iter()
                .all(|v| value_supported(&attribute.name, v, s))
        });
        if ok {
            kept.push(attribute.clone());
        } else {
            unsupported.push(attribute.clone());
        }
    }
    let mapped = graph_from_job_template(&kept);
    for lost in &mapped.unmapped {
        if let Some(i) = kept.iter().position(|a| a.name == lost.attribute) {
            unsupported.push(kept.remove(i));
        }
    }
    let configuration = mapped.value;
    let fidelity = op.boolean("ipp-attribute-fidelity").unwrap_or(false);
    if fidelity && !unsupported.is_empty() {
        let names: Vec<&str> = unsupported.iter().map(|a| a.name.as_str()).collect();
        return Err(Refusal::new(
            StatusCode::CLIENT_ERROR_ATTRIBUTES_OR_VALUES_NOT_SUPPORTED,
            format!("not supported: {}", names.join(", ")),
        )
        .with_unsupported(unsupported));
    }
    let violations = check_job(&configuration, &printer.config.capabilities);
    if !violations.is_empty() {
        let problems: Vec<String> = violations.iter().map(ToString::to_string).collect();
        return Err(Refusal::new(
            StatusCode::CLIENT_ERROR_ATTRIBUTES_OR_VALUES_NOT_SUPPORTED,
            format!(
                "This printer cannot print the job as asked: {}",
                problems.join("; ")
            ),
        )
        .with_unsupported(kept));
    }
    Ok(Checked {
        configuration: configuration.with_defaults(&printer.config.defaults),
        unsupported,
        format,
    })
}

pub(super) fn validate_job(
    target: &Target<'_>,
    printer: &LocalPrinter,
    request: &Message,
) -> Result<Message, Refusal> {
    let checked = check(printer, target, request)?;
    Ok(answer(request, None, checked.unsupported))
}

/// A new local job in the spool, with the next id of the fleet's local sequence, and the job
/// subscriptions the request's subscription groups ask for, made before the job is spooled so
/// they hear its `job-created`.
fn new_job(
    target: &Target<'_>,
    printer: &LocalPrinter,
    request: &Message,
    configuration: PrintJobConfiguration,
) -> Result<(JobRecord, Made), Refusal> {
    let op = request.operation_attributes();
    let spool = &target.service.spool;
    let name = &printer.config.name;
    let id = match spool.next_local_job_id() {
        Err(SpoolError::LocalJobIdsUsedUp) => {
            return Err(Refusal::new(
                StatusCode::SERVER_ERROR_TOO_MANY_JOBS,
                "the printer has used every local job id",
            ));
        }
        other => other.map_err(internal)?,
    };
    let made = Requested::of(request, true).make(target, printer, Some(id));
    let new = NewJob {
        origin: JobOrigin::LocalIpp,
        name: op.string("job-name").map(str::to_string),
        user: op.string("requesting-user-name").map(str::to_string),
        configuration,
    };
    let record = spool.create_job(name, id, new).map_err(internal)?;
    info!(printer = %name, job = id, "job received over IPP");
    Ok((record, made))
}

/// Reads the document into the job's spool record; a document that cannot be read or stored
/// aborts the job, saying why, so no job waits for bytes that will never come.
async fn receive_document(
    target: &Target<'_>,
    printer: &LocalPrinter,
    job: u32,
    format: &str,
    document_name: Option<&str>,
    first: Vec<u8>,
    document: &mut DocumentReader,
) -> Result<(), Refusal> {
    let received =
        store_document(target, printer, job, format, document_name, first, document).await;
    if let Err(refused) = &received {
        abort_unreceived(target, printer, job, &refused.refusal.message);
    }
    received
}

async fn store_document(
    target: &Target<'_>,
    printer: &LocalPrinter,
    job: u32,
    format: &str,
    document_name: Option<&str>,
    first: Vec<u8>,
    document: &mut DocumentReader,
) -> Result<(), Refusal> {
    let spool = &target.service.spool;
    let name = &printer.config.name;
    spool
        .begin_document(name, job, 1, format, document_name, None)
        .map_err(internal)?;
    let mut offset = spool.append_chunk(name, job, 0, &first).map_err(internal)?;
    let mut buffer = vec![0u8; CHUNK];
    loop {
        let filled = read_chunk(document, &mut buffer).await?;
        if filled == 0 {
            break;
        }
        if offset + filled as u64 > MAX_DOCUMENT_BYTES {
            return Err(Refusal::new(
                StatusCode::CLIENT_ERROR_REQUEST_ENTITY_TOO_LARGE,
                format!("documents of more than {MAX_DOCUMENT_BYTES} bytes are not accepted"),
            ));
        }
        offset = spool
            .append_chunk(name, job, offset, &buffer[..filled])
            .map_err(internal)?;
    }
    spool.complete_document(name, job).map_err(internal)?;
    Ok(())
}

/// Fills `buffer` as far as the document goes; 0 at its end.
async fn read_chunk(document: &mut DocumentReader, buffer: &mut [u8]) -> Result<usize, Refusal> {
    let mut filled = 0;
    while filled < buffer.len() {
        let n = document
            .read(&mut buffer[filled..])
            .await
            .map_err(|e| bad_request(format!("the document data could not be read: {e}")))?;
        if n == 0 {
            break;
        }
        filled += n;
    }
    Ok(filled)
}

/// The first chunk of the document and the format to store it as (detected for
/// `application/octet-stream` or no format, and checked against what the printer prints).
async fn document_head(
    printer: &LocalPrinter,
    target: &Target<'_>,
    asked: Option<&str>,
    document: &mut DocumentReader,
) -> Result<(Vec<u8>, String), Refusal> {
    let mut first = vec![0u8; CHUNK];
    let filled = read_chunk(document, &mut first).await?;
    first.truncate(filled);
    if first.is_empty() {
        return Err(bad_request("the request carries no document data"));
    }
    let format = match asked {
        Some(format) if format != "application/octet-stream" => format.to_string(),
        _ => sniff(&first)
            .map(str::to_string)
            .or_else(|| printer.config.defaults.content_type.clone())
            .ok_or_else(|| {
                Refusal::new(
                    StatusCode::CLIENT_ERROR_DOCUMENT_FORMAT_NOT_SUPPORTED,
                    "the document's format could not be detected",
                )
            })?,
    };
    let description = printer_attributes(printer, target);
    let prints = description
        .iter()
        .find(|a| a.name == "document-format-supported")
        .is_some_and(|a| a.values.iter().any(|v| v.as_str() == Some(format.as_str())));
    if !prints || format == "application/octet-stream" {
        return Err(Refusal::new(
            StatusCode::CLIENT_ERROR_DOCUMENT_FORMAT_NOT_SUPPORTED,
            format!("the document is {format}, which this printer does not print"),
        ));
    }
    Ok((first, format))
}

/// A job's document is in: the job is the printer's to print.
fn ready(target: &Target<'_>, printer: &LocalPrinter, job: u32) -> Result<JobRecord, Refusal> {
    let spool = &target.service.spool;
    let record = spool
        .update(&printer.config.name, job, "closed", "", |r| {
            r.reasons.retain(|reason| reason != INCOMING);
            if r.reasons.is_empty() {
                r.reasons.push("none".into());
            }
        })
        .map_err(internal)?;
    spool.flush().map_err(internal)?;
    printer.handle.wake.notify_one();
    Ok(record)
}

/// Ends a job that never got its document (refused or cut short).
fn abort_unreceived(target: &Target<'_>, printer: &LocalPrinter, job: u32, why: &str) {
    let _ = target
        .service
        .spool
        .update(&printer.config.name, job, "aborted", why, |r| {
            r.state = PrintJobProcessingState::Aborted;
            r.reasons = vec!["aborted-by-system".into()];
        });
}

pub(super) async fn print_job(
    target: &Target<'_>,
    printer: &LocalPrinter,
    request: &Message,
    document: &mut DocumentReader,
) -> Result<Message, Refusal> {
    let checked = check(printer, target, request)?;
    let (first, format) =
        document_head(printer, target, checked.format.as_deref(), document).await?;
    let (record, made) = new_job(target, printer, request, checked.configuration)?;
    let job = record.job_id;
    let document_name = request.operation_attributes().string("document-name");
    receive_document(
        target,
        printer,
        job,
        &format,
        document_name,
        first,
        document,
    )
    .await?;
    let record = ready(target, printer, job)?;
    let mut reply = answer(
        request,
        Some(job_status(target, printer, &record)),
        checked.unsupported,
    );
    made.add_to(&mut reply);
    Ok(reply)
}

pub(super) fn create_job(
    target: &Target<'_>,
    printer: &LocalPrinter,
    request: &Message,
) -> Result<Message, Refusal> {
    let checked = check(printer, target, request)?;
    let (record, made) = new_job(target, printer, request, checked.configuration)?;
    let record = target
        .service
        .spool
        .update(&printer.config.name, record.job_id, "incoming", "", |r| {
            r.reasons = vec![INCOMING.into()];
        })
        .map_err(internal)?;
    let mut reply = answer(
        request,
        Some(job_status(target, printer, &record)),
        checked.unsupported,
    );
    made.add_to(&mut reply);
    Ok(reply)
}

/// The local job a job operation names (`job-uri`, or `printer-uri` + `job-id`).
fn named_job(
    target: &Target<'_>,
    printer: &LocalPrinter,
    request: &Message,
) -> Result<JobRecord, Refusal> {
    let op = request.operation_attributes();
    let id = match (op.string("job-uri"), op.first_value("job-id")) {
        (Some(uri), _) => uri
            .rsplit('/')
            .next()
            .and_then(|id| id.parse::<u32>().ok())
            .ok_or_else(|| bad_request(format!("job-uri {uri} names no job of this printer")))?,
        (None, Some(Value::Integer(id))) if *id > 0 => *id as u32,
        (None, Some(_)) => return Err(bad_request("job-id must be a positive integer")),
        (None, None) => return Err(bad_request("the request names no job (job-id or job-uri)")),
    };
    match target
        .service
        .spool
        .job(&printer.config.name, id)
        .map_err(internal)?
    {
        Some(record) if record.origin == JobOrigin::LocalIpp => Ok(record),
        _ => Err(Refusal::new(
            StatusCode::CLIENT_ERROR_NOT_FOUND,
            format!("job {id} is not a job of this printer"),
        )),
    }
}

pub(super) async fn send_document(
    target: &Target<'_>,
    printer: &LocalPrinter,
    request: &Message,
    document: &mut DocumentReader,
) -> Result<Message, Refusal> {
    let record = named_job(target, printer, request)?;
    let op = request.operation_attributes();
    let Some(last) = op.boolean("last-document") else {
        return Err(bad_request("Send-Document needs last-document"));
    };
    if record.state.is_terminal() {
        return Err(Refusal::new(
            StatusCode::CLIENT_ERROR_NOT_POSSIBLE,
            format!("job {} has ended", record.job_id),
        ));
    }
    if record.document.is_some() || !record.reasons.iter().any(|r| r == INCOMING) {
        return Err(Refusal::new(
            StatusCode::SERVER_ERROR_MULTIPLE_DOCUMENT_JOBS_NOT_SUPPORTED,
            "this printer takes one document per job",
        ));
    }
    let asked = op.string("document-format");
    let (first, format) = document_head(printer, target, asked, document).await?;
    let job = record.job_id;
    let document_name = op.string("document-name");
    receive_document(
        target,
        printer,
        job,
        &format,
        document_name,
        first,
        document,
    )
    .await?;
    let record = if last {
        ready(target, printer, job)?
    } else {
        target.service.spool.flush().map_err(internal)?;
        target
            .service
            .spool
            .job(&printer.config.name, job)
            .map_err(internal)?
            .unwrap_or(record)
    };
    Ok(answer(
        request,
        Some(job_status(target, printer, &record)),
        Vec::new(),
    ))
}

pub(super) fn close_job(
    target: &Target<'_>,
    printer: &LocalPrinter,
    request: &Message,
) -> Result<Message, Refusal> {
    let record = named_job(target, printer, request)?;
    if record.state.is_terminal() || !record.reasons.iter().any(|r| r == INCOMING) {
        return Err(Refusal::new(
            StatusCode::CLIENT_ERROR_NOT_POSSIBLE,
            format!("job {} is closed already", record.job_id),
        ));
    }
    let record = if record.document.is_some() {
        ready(target, printer, record.job_id)?
    } else {
        abort_unreceived(target, printer, record.job_id, "closed without a document");
        target
            .service
            .spool
            .job(&printer.config.name, record.job_id)
            .map_err(internal)?
            .unwrap_or(record)
    };
    Ok(answer(
        request,
        Some(job_status(target, printer, &record)),
        Vec::new(),
    ))
}

/// Cancels one local job: the printer's task stops it if it is on the engine, otherwise the
/// spool ends it. False when it had ended already.
fn cancel(
    target: &Target<'_>,
    printer: &LocalPrinter,
    record: &JobRecord,
) -> Result<bool, Refusal> {
    if record.state.is_terminal() {
        return Ok(false);
    }
    // Held while the spool changes, so the printer's task cannot take the job up between
    // the look and the change (it sets `current` before it reads the job).
    let current = printer.handle.current.lock().expect("not poisoned");
    match current.as_ref() {
        Some((job, token)) if *job == record.job_id => token.cancel(),
        _ => {
            target
                .service
                .spool
                .update(
                    &printer.config.name,
                    record.job_id,
                    "canceled",
                    "canceled over IPP",
                    |r| {
                        if !r.state.is_terminal() {
                            r.state = PrintJobProcessingState::Canceled;
                            r.reasons = vec!["job-canceled-by-user".into()];
                        }
                    },
                )
                .map_err(internal)?;
        }
    }
    info!(printer = %printer.config.name, job = record.job_id, "job canceled over IPP");
    Ok(true)
}

pub(super) fn cancel_job(
    target: &Target<'_>,
    printer: &LocalPrinter,
    request: &Message,
) -> Result<Message, Refusal> {
    let record = named_job(target, printer, request)?;
    if !cancel(target, printer, &record)? {
        return Err(Refusal::new(
            StatusCode::CLIENT_ERROR_NOT_POSSIBLE,
            format!("job {} has ended already", record.job_id),
        ));
    }
    Ok(answer(request, None, Vec::new()))
}

pub(super) fn cancel_my_jobs(
    target: &Target<'_>,
    printer: &LocalPrinter,
    request: &Message,
) -> Result<Message, Refusal> {
    let op = request.operation_attributes();
    let user = op.string("requesting-user-name");
    let only: Option<Vec<i32>> = op.attr("job-ids").map(|a| a.integers().collect());
    for record in local_jobs(target, printer)? {
        let mine = record.user.as_deref() == user;
        let named = only
            .as_ref()
            .is_none_or(|ids| ids.contains(&(record.job_id as i32)));
        if mine && named {
            cancel(target, printer, &record)?;
        }
    }
    Ok(answer(request, None, Vec::new()))
}

fn local_jobs(target: &Target<'_>, printer: &LocalPrinter) -> Result<Vec<JobRecord>, Refusal> {
    Ok(target
        .service
        .spool
        .printer_jobs(&printer.config.name)
        .map_err(internal)?
        .into_iter()
        .filter(|r| r.origin == JobOrigin::LocalIpp)
        .collect())
}

/// The job's attributes as `requested-attributes` selects them (RFC 8011 §4.3.4.1).
fn requested_job_attributes(
    target: &Target<'_>,
    printer: &LocalPrinter,
    record: &JobRecord,
    requested: &RequestedAttributes,
) -> Vec<Attribute> {
    let message = target
        .service
        .spool
        .events(&printer.config.name, record.job_id)
        .ok()
        .and_then(|events| events.into_iter().rev().find(|e| !e.detail.is_empty()))
        .map(|e| e.detail);
    job_attributes(target, printer, record, message)
        .into_iter()
        .filter(|a| requested.job(&a.name))
        .collect()
}

pub(super) fn get_job_attributes(
    target: &Target<'_>,
    printer: &LocalPrinter,
    request: &Message,
) -> Result<Message, Refusal> {
    let record = named_job(target, printer, request)?;
    let requested = RequestedAttributes::of(request, RequestedAttributes::All);
    let attributes = requested_job_attributes(target, printer, &record, &requested);
    Ok(answer(request, Some(attributes), Vec::new()))
}

pub(super) fn get_jobs(
    target: &Target<'_>,
    printer: &LocalPrinter,
    request: &Message,
) -> Result<Message, Refusal> {
    let op = request.operation_attributes();
    let which = op.keyword("which-jobs").unwrap_or("not-completed");
    let ended = match which {
        "completed" => Some(true),
        "not-completed" => Some(false),
        "all" => None,
        other => {
            return Err(Refusal::new(
                StatusCode::CLIENT_ERROR_ATTRIBUTES_OR_VALUES_NOT_SUPPORTED,
                format!("which-jobs {other} is not supported"),
            )
            .with_unsupported(vec![Attribute::new("which-jobs", Value::keyword(other))]));
        }
    };
    let user = op
        .boolean("my-jobs")
        .unwrap_or(false)
        .then(|| op.string("requesting-user-name"))
        .flatten();
    let limit = match op.integer("limit") {
        Some(n) if n > 0 => n as usize,
        Some(_) => return Err(bad_request("limit must be positive")),
        None => usize::MAX,
    };
    let mut jobs: Vec<JobRecord> = local_jobs(target, printer)?
        .into_iter()
        .filter(|r| ended.is_none_or(|ended| r.state.is_terminal() == ended))
        .filter(|r| user.is_none_or(|user| r.user.as_deref() == Some(user)))
        .collect();
    if ended == Some(true) {
        // Most recently ended first (RFC 8011 §4.2.6.1).
        jobs.sort_by_key(|r| std::cmp::Reverse(r.updated_at));
    }
    // Without requested-attributes, Get-Jobs answers job-id and job-uri (RFC 8011 §4.2.6.1).
    let requested =
        RequestedAttributes::of(request, RequestedAttributes::named(&["job-id", "job-uri"]));
    let mut reply = request.reply(StatusCode::SUCCESSFUL_OK);
    for record in jobs.iter().take(limit) {
        let attributes = requested_job_attributes(target, printer, record, &requested);
        reply.push_group(Group {
            tag: GroupTag::JOB,
            attributes,
        });
    }
    Ok(reply)
}

/// Identify-Printer (PWG 5100.13): the printer performs the actions it has (see
/// [`identify`]); actions it lacks are ignored and returned as unsupported, and a request
/// naming none it has gets the default, so a person always sees something.
pub(super) fn identify_printer(printer: &LocalPrinter, request: &Message) -> Message {
    let op = request.operation_attributes();
    let asked: Vec<&Value> = op
        .attr("identify-actions")
        .map(|a| a.values.iter().collect())
        .unwrap_or_default();
    let (known, unknown): (Vec<&Value>, Vec<&Value>) = asked.into_iter().partition(|v| {
        v.as_keyword()
            .is_some_and(|k| identify::ACTIONS_SUPPORTED.contains(&k))
    });
    let mut actions: Vec<String> = Vec::new();
    for action in known.iter().filter_map(|v| v.as_keyword()) {
        if !actions.iter().any(|a| a == action) {
            actions.push(action.to_owned());
        }
    }
    if actions.is_empty() {
        actions.push(identify::ACTION_DEFAULT.to_owned());
    }
    let message = op.string("message").map(str::to_owned);
    {
        let _printer = error_span!("printer", name = %printer.config.name).entered();
        identify::perform(&printer.panel, actions, message, "ipp");
    }
    if unknown.is_empty() {
        return request.reply(StatusCode::SUCCESSFUL_OK);
    }
    let mut reply = request.reply(StatusCode::SUCCESSFUL_OK_IGNORED_OR_SUBSTITUTED_ATTRIBUTES);
    reply.push_group(
        Group::new(GroupTag::UNSUPPORTED)
            .with_set("identify-actions", unknown.into_iter().cloned()),
    );
    reply
}
