//! The client operations of the Infrastructure Printer (PWG 5100.18 §4.1 with RFC 8011's job
//! operations), for users who print to Universal Print over IPP rather than Graph: Print-Job,
//! Validate-Job, Create-Job + Send-Document (+ Close-Job, and `multiple-operation-time-out` for
//! a document that never comes), Cancel-Job, Cancel-My-Jobs, Get-Job-Attributes, Get-Jobs,
//! Identify-Printer, and ippget subscriptions.
//!
//! A job created here is a Graph job: the same record, number and states, owned by the user
//! the credential names, its configuration translated by `printlab_mapping` and held to the same
//! rules Graph holds a job to, and its document stored through the upload engine as an upload
//! would be, so the device fetches it as any other and Graph shows it. Graph jobs show here.

use super::credentials::ClientUser;
use super::envelope::target_job_id;
use super::identify::identify_printer;
use super::printer_attributes::get_printer_attributes;
use super::subscriptions::{
    cancel_subscription, create_subscriptions, get_notifications, renew_subscription,
};
use super::*;
use crate::upload::{UploadCreator, UploadTarget};
use bytes::Bytes;
use printlab_graph::{PrintJobConfiguration, PrintJobStateDetail, PrintJobStatus, UserIdentity};
use printlab_ipp::DocumentReader;
use printlab_ipp::OutOfBand;
use printlab_ipp::requested_attributes::RequestedAttributes;
use printlab_mapping::graph_from_job_template;
use tokio::io::AsyncReadExt;

pub(super) async fn client_operation(
    state: &Shared,
    printer_id: &str,
    user: &ClientUser,
    request: IppRequest,
    hold: std::time::Duration,
) -> Outcome {
    let IppRequest { message, document } = request;
    let owner = Some(user.id.as_str());
    match message.operation() {
        Operation::GET_PRINTER_ATTRIBUTES => get_printer_attributes(state, printer_id, &message),
        Operation::VALIDATE_JOB => validate_job(state, printer_id, &message),
        Operation::PRINT_JOB => print_job(state, printer_id, user, &message, document).await,
        Operation::CREATE_JOB => create_job(state, printer_id, user, &message).await,
        Operation::SEND_DOCUMENT => {
            send_document(state, printer_id, user, &message, document).await
        }
        Operation::CLOSE_JOB => close_job(state, printer_id, user, &message).await,
        Operation::IDENTIFY_PRINTER => identify_printer(state, printer_id, &message),
        Operation::CANCEL_JOB => cancel_job(state, printer_id, user, &message).await,
        Operation::CANCEL_MY_JOBS => cancel_my_jobs(state, printer_id, user, &message).await,
        Operation::GET_JOB_ATTRIBUTES => get_job_attributes(state, printer_id, &message),
        Operation::GET_JOBS => get_jobs(state, printer_id, user, &message),
        Operation::CREATE_PRINTER_SUBSCRIPTIONS | Operation::CREATE_JOB_SUBSCRIPTIONS => {
            create_subscriptions(state, printer_id, owner, &message)
        }
        Operation::GET_NOTIFICATIONS => {
            get_notifications(state, printer_id, owner, &message, hold).await
        }
        Operation::CANCEL_SUBSCRIPTION => cancel_subscription(state, printer_id, owner, &message),
        Operation::RENEW_SUBSCRIPTION => renew_subscription(state, printer_id, owner, &message),
        other => Err(Refusal::new(
            StatusCode::SERVER_ERROR_OPERATION_NOT_SUPPORTED,
            format!("{other} is not an operation clients may use on this printer"),
        )),
    }
}

/// A job request the printer takes: its Graph configuration, what was left out of it (with
/// `ipp-attribute-fidelity` false), and its names.
struct AcceptedJob {
    configuration: PrintJobConfiguration,
    ignored: Vec<Attribute>,
    ignored_fields: Vec<String>,
    job_name: String,
}

/// The formats the printer takes (Graph's `contentTypes`, from the device); empty when the
/// device has not described the printer yet.
fn formats_supported(printer: &PrinterRecord) -> Vec<String> {
    printer
        .printer
        .capabilities
        .as_ref()
        .and_then(|c| c.content_types.clone())
        .unwrap_or_default()
}

/// `document-format` as the request names it; `None` for none or `application/octet-stream`
/// (the printer then tells the format from the data).
fn requested_format(message: &Message) -> Option<String> {
    message
        .operation_attributes()
        .string("document-format")
        .filter(|f| !f.eq_ignore_ascii_case("application/octet-stream"))
        .map(str::to_ascii_lowercase)
}

fn unsupported_format(format: &str) -> Refusal {
    Refusal {
        status: StatusCode::CLIENT_ERROR_DOCUMENT_FORMAT_NOT_SUPPORTED,
        message: format!("this printer does not print {format}"),
        unsupported: vec![Attribute::new(
            "document-format",
            Value::mime_media_type(format),
        )],
    }
}

fn check_format(printer: &PrinterRecord, format: &str) -> Result<(), Refusal> {
    let supported = formats_supported(printer);
    if supported.is_empty() || supported.iter().any(|s| s.eq_ignore_ascii_case(format)) {
        Ok(())
    } else {
        Err(unsupported_format(format))
    }
}

/// The format of document data sent as `application/octet-stream`, from its first bytes.
fn sniff_format(data: &[u8]) -> Option<&'static str> {
    const SIGNATURES: [(&[u8], &str); 6] = [
        (b"%PDF", "application/pdf"),
        (b"\xFF\xD8\xFF", "image/jpeg"),
        (b"RaS2", "image/pwg-raster"),
        (b"UNIRAST", "image/urf"),
        (b"\x89PNG", "image/png"),
        (b"%!", "application/postscript"),
    ];
    SIGNATURES
        .iter()
        .find(|(signature, _)| data.starts_with(signature))
        .map(|(_, format)| *format)
}

/// Checks a job request against the printer as Graph's job creation does (accepting jobs,
/// `compression`, `document-format`, the job template through `printlab_graph::rules`). With
/// `ipp-attribute-fidelity` true a value the printer cannot honour refuses the job; otherwise
/// (RFC 8011's default) it is left out and reported.
fn accept_job(printer: &PrinterRecord, message: &Message) -> Result<AcceptedJob, Refusal> {
    if printer.printer.is_accepting_jobs == Some(false) {
        return Err(Refusal::new(
            StatusCode::SERVER_ERROR_NOT_ACCEPTING_JOBS,
            "the printer is not accepting jobs",
        ));
    }
    let operation = message.operation_attributes();
    if let Some(compression) = operation.keyword("compression")
        && compression != "none"
    {
        return Err(Refusal {
            status: StatusCode::CLIENT_ERROR_COMPRESSION_NOT_SUPPORTED,
            message: format!("compression {compression} is not supported (none is)"),
            unsupported: vec![Attribute::new("compression", Value::keyword(compression))],
        });
    }
    if let Some(format) = requested_format(message) {
        check_format(printer, &format)?;
    }
    let fidelity = operation.boolean("ipp-attribute-fidelity").unwrap_or(false);
    let template: Vec<Attribute> = message
        .groups_of(GroupTag::JOB)
        .flat_map(|g| g.attributes.iter().cloned())
        .collect();
    let mapped = graph_from_job_template(&template);
    let ignored: Vec<Attribute> = mapped
        .unmapped
        .iter()
        .filter_map(|u| template.iter().find(|a| a.name == u.attribute).cloned())
        .collect();
    let configuration = mapped.value.with_page_ranges_in_order();
    let capabilities = printer.printer.capabilities.clone().unwrap_or_default();
    let violations = if capabilities == Default::default() {
        Vec::new()
    } else {
        printlab_graph::rules::check_job(&configuration, &capabilities)
    };
    if fidelity && (!violations.is_empty() || !ignored.is_empty()) {
        let mut said: Vec<String> = violations.iter().map(ToString::to_string).collect();
        said.extend(
            ignored
                .iter()
                .map(|a| format!("{} has no Graph counterpart", a.name)),
        );
        return Err(Refusal {
            status: StatusCode::CLIENT_ERROR_ATTRIBUTES_OR_VALUES_NOT_SUPPORTED,
            message: format!("the printer cannot honour: {}", said.join("; ")),
            unsupported: ignored,
        });
    }
    let mut ignored_fields: Vec<String> = violations.iter().map(|v| v.field.to_owned()).collect();
    ignored_fields.sort();
    ignored_fields.dedup();
    let configuration = without_fields(configuration, &ignored_fields)?;
    let job_name = operation
        .string("job-name")
        .or_else(|| operation.string("document-name"))
        .unwrap_or("untitled")
        .to_owned();
    Ok(AcceptedJob {
        configuration,
        ignored,
        ignored_fields,
        job_name,
    })
}

/// The configuration with the named (Graph) fields left out.
fn without_fields(
    configuration: PrintJobConfiguration,
    fields: &[String],
) -> Result<PrintJobConfiguration, Refusal> {
    if fields.is_empty() {
        return Ok(configuration);
    }
    let mut value = serde_json::to_value(&configuration).expect("configurations serialise");
    if let Some(object) = value.as_object_mut() {
        for field in fields {
            object.remove(field);
        }
    }
    serde_json::from_value(value).map_err(|e| {
        Refusal::new(
            StatusCode::SERVER_ERROR_INTERNAL_ERROR,
            format!("the job configuration without {fields:?} does not read back: {e}"),
        )
    })
}

/// `successful-ok`, or `successful-ok-ignored-or-substituted-attributes` with what was left
/// out in the unsupported group.
fn job_response(message: &Message, accepted: &AcceptedJob) -> Message {
    if accepted.ignored.is_empty() && accepted.ignored_fields.is_empty() {
        return ok(message.request_id);
    }
    let mut response = Message::response(
        StatusCode::SUCCESSFUL_OK_IGNORED_OR_SUBSTITUTED_ATTRIBUTES,
        message.request_id,
    );
    if !accepted.ignored_fields.is_empty() {
        response.groups[0].push(Attribute::new(
            "status-message",
            Value::text(format!(
                "left out what the printer cannot honour: {}",
                accepted.ignored_fields.join(", ")
            )),
        ));
    }
    if !accepted.ignored.is_empty() {
        response.push_group(Group {
            tag: GroupTag::UNSUPPORTED,
            attributes: accepted.ignored.clone(),
        });
    }
    response
}

fn validate_job(state: &Shared, printer_id: &str, message: &Message) -> Outcome {
    let printer = printer_record(state, printer_id)?;
    let accepted = accept_job(&printer, message)?;
    Ok(IppReply::new(job_response(message, &accepted)))
}

/// Reads the document data that follows the attributes, up to the upload engine's largest
/// document.
async fn read_document(state: &Shared, document: DocumentReader) -> Result<Bytes, Refusal> {
    let limit = state.documents.limits().max_document_size;
    let mut data = Vec::new();
    document
        .take(limit + 1)
        .read_to_end(&mut data)
        .await
        .map_err(|e| Refusal::bad_request(format!("the document data did not arrive: {e}")))?;
    if data.len() as u64 > limit {
        return Err(Refusal::new(
            StatusCode::CLIENT_ERROR_REQUEST_ENTITY_TOO_LARGE,
            format!("documents may be at most {limit} bytes"),
        ));
    }
    if data.is_empty() {
        return Err(Refusal::bad_request("the request carries no document data"));
    }
    Ok(Bytes::from(data))
}

/// The document's format: the one the request named, else the one its data shows.
fn document_format(
    printer: &PrinterRecord,
    message: &Message,
    data: &[u8],
) -> Result<String, Refusal> {
    let format = match requested_format(message) {
        Some(format) => format,
        None => sniff_format(data)
            .map(str::to_owned)
            .ok_or_else(|| unsupported_format("application/octet-stream"))?,
    };
    check_format(printer, &format)?;
    Ok(format)
}

/// Stores a new Graph job for `user` waiting for its document, as Graph's job creation does.
async fn new_job(
    state: &Shared,
    printer_id: &str,
    user: &ClientUser,
    accepted: &AcceptedJob,
) -> Result<JobRecord, Refusal> {
    let number = state.store.next_job_number().map_err(store_failed)?;
    let owner = UserIdentity {
        id: Some(user.id.clone()),
        display_name: Some(user.short_name().to_owned()),
        ip_address: None,
        user_principal_name: Some(user.upn.clone()),
    };
    let record = JobRecord::awaiting_document(
        printer_id,
        number,
        &owner,
        accepted.configuration.clone(),
        &accepted.job_name,
    );
    state.store.put_job(&record).map_err(store_failed)?;
    state.store.flush().await.map_err(store_failed)?;
    tracing::info!(printer = %printer_id, job = %record.job.id, user = %user.upn, "job created over IPP");
    Ok(record)
}

/// Stores the document through the upload engine (its listener records it on the job), then
/// makes the job fetchable as Graph's `start` does and tells the printer's subscribers.
async fn store_and_release(
    state: &Shared,
    job: &JobRecord,
    user: &ClientUser,
    name: &str,
    format: &str,
    data: Bytes,
) -> Result<JobRecord, Refusal> {
    let target = UploadTarget {
        printer_id: job.printer_id.clone(),
        job_id: job.job.id.clone(),
        document_id: job.document.id.clone(),
    };
    let creator = UploadCreator {
        user_id: Some(user.id.clone()),
        application_id: None,
    };
    state
        .documents
        .store_whole(target, name, format, &creator, data)
        .await
        .map_err(|e| {
            Refusal::new(
                StatusCode::SERVER_ERROR_INTERNAL_ERROR,
                format!("the document could not be stored: {}", e.message),
            )
        })?;
    let number: u64 = job.job.id.parse().expect("job ids are decimal numbers");
    let (released, record) = {
        let _guard = state.write_lock();
        let mut record = state
            .store
            .job(&job.printer_id, number)
            .map_err(store_failed)?
            .ok_or_else(|| Refusal::new(StatusCode::CLIENT_ERROR_NOT_FOUND, "the job is gone"))?;
        let waiting = record.job.status.state == PrintJobProcessingState::Paused
            && record
                .job
                .status
                .details
                .contains(&PrintJobStateDetail::UploadPending);
        // Canceled while the document arrived: it stays canceled.
        if waiting && record.document_stored {
            record.declared_content_type = Some(format.to_owned());
            record.job.status = PrintJobStatus {
                state: PrintJobProcessingState::Processing,
                details: vec![PrintJobStateDetail::Interpreting],
                description: "The print job is currently being processed.".into(),
                is_acquired_by_printer: false,
            };
            record.job.is_fetchable = true;
            state.store.put_job(&record).map_err(store_failed)?;
        }
        (waiting, record)
    };
    state.store.flush().await.map_err(store_failed)?;
    if released && let Some(id) = ipp_job_id(&record) {
        state.raise(
            &record.printer_id,
            EventKind::JobFetchable,
            Some(id),
            Some(3),
            &format!("job {id} is fetchable"),
        );
        state
            .webhooks
            .job_fetchable(&record.printer_id, &record.job.id);
    }
    Ok(record)
}

/// The job attributes a job-creating operation answers with (RFC 8011 §4.2.1.2).
fn created_job_group(state: &Shared, job: &JobRecord) -> Group {
    let mut group = client_job_group(state, job, &RequestedAttributes::All);
    group.attributes.retain(|a| {
        matches!(
            a.name.as_str(),
            "job-id" | "job-uri" | "job-state" | "job-state-reasons" | "job-state-message"
        )
    });
    group
}

async fn print_job(
    state: &Shared,
    printer_id: &str,
    user: &ClientUser,
    message: &Message,
    document: DocumentReader,
) -> Outcome {
    let printer = printer_record(state, printer_id)?;
    let accepted = accept_job(&printer, message)?;
    let data = read_document(state, document).await?;
    let format = document_format(&printer, message, &data)?;
    let job = new_job(state, printer_id, user, &accepted).await?;
    let job = store_and_release(state, &job, user, &accepted.job_name, &format, data).await?;
    let mut response = job_response(message, &accepted);
    response.push_group(created_job_group(state, &job));
    Ok(IppReply::new(response))
}

async fn create_job(
    state: &Shared,
    printer_id: &str,
    user: &ClientUser,
    message: &Message,
) -> Outcome {
    let printer = printer_record(state, printer_id)?;
    let accepted = accept_job(&printer, message)?;
    let job = new_job(state, printer_id, user, &accepted).await?;
    abort_unless_document_within(state, &job, state.multiple_operation_time_out);
    let mut response = job_response(message, &accepted);
    response.push_group(created_job_group(state, &job));
    Ok(IppReply::new(response))
}

/// Whether the job still waits for the document Create-Job promised.
fn awaits_document(job: &JobRecord) -> bool {
    job.job.status.state == PrintJobProcessingState::Paused
        && job
            .job
            .status
            .details
            .contains(&PrintJobStateDetail::UploadPending)
        && !job.document_stored
}

/// `multiple-operation-time-out-action` `abort-job`: after `limit`, a job whose document has
/// not arrived is aborted. The timer holds the service weakly, so a stopped cloud lets go of
/// its store; a job created before a restart is not timed again (only ippget's state is in
/// memory, and the job stays waiting as a Graph job waits for its upload).
fn abort_unless_document_within(state: &Shared, job: &JobRecord, limit: std::time::Duration) {
    let service = Arc::downgrade(state);
    let printer_id = job.printer_id.clone();
    let Some(job_id) = ipp_job_id(job) else {
        return;
    };
    tokio::spawn(async move {
        tokio::time::sleep(limit).await;
        let Some(state) = service.upgrade() else {
            return;
        };
        let why = format!(
            "no document arrived within multiple-operation-time-out ({} s)",
            limit.as_secs()
        );
        if let Err(refusal) = abort_waiting_job(&state, &printer_id, job_id, &why).await {
            tracing::warn!(printer = %printer_id, job = job_id, error = %refusal.message, "the job waiting for its document could not be aborted");
        }
    });
}

/// Aborts the job if it still waits for its document, and tells the printer's subscribers;
/// `false` when it no longer waits (its document came, or it ended).
async fn abort_waiting_job(
    state: &Shared,
    printer_id: &str,
    job_id: i32,
    why: &str,
) -> Result<bool, Refusal> {
    let aborted = {
        let _guard = state.write_lock();
        let mut record = client_job(state, printer_id, job_id)?;
        if !awaits_document(&record) {
            false
        } else {
            record.job.status = PrintJobStatus {
                state: PrintJobProcessingState::Aborted,
                details: Vec::new(),
                description: format!("The print job was aborted: {why}."),
                is_acquired_by_printer: false,
            };
            record.job.is_fetchable = false;
            state.store.put_job(&record).map_err(store_failed)?;
            true
        }
    };
    if aborted {
        state.store.flush().await.map_err(store_failed)?;
        tracing::info!(printer = %printer_id, job = job_id, why, "job aborted");
        state.raise(
            printer_id,
            EventKind::JobStateChanged,
            Some(job_id),
            Some(8),
            &format!("job {job_id} was aborted: {why}"),
        );
    }
    Ok(aborted)
}

/// Close-Job (PWG 5100.11): no more documents for the job. A job here has one document, sent
/// with `last-document` true, so a job that has it is already closed and this succeeds; a job
/// still waiting for it will never print anything and is aborted at once, as the time-out
/// would abort it later; an ended job is `client-error-not-possible`.
async fn close_job(
    state: &Shared,
    printer_id: &str,
    user: &ClientUser,
    message: &Message,
) -> Outcome {
    let job_id = target_job_id(message)?;
    let job = own_job(state, printer_id, user, job_id)?;
    if is_terminal(&job) {
        return Err(Refusal::new(
            StatusCode::CLIENT_ERROR_NOT_POSSIBLE,
            format!("job {job_id} has already ended"),
        ));
    }
    abort_waiting_job(state, printer_id, job_id, "closed without a document").await?;
    let job = client_job(state, printer_id, job_id)?;
    let mut response = ok(message.request_id);
    response.push_group(created_job_group(state, &job));
    Ok(IppReply::new(response))
}

/// A job of this printer, for a client: any job of the printer (Graph jobs included); another
/// printer's or an unknown id is not found.
fn client_job(state: &Shared, printer_id: &str, job_id: i32) -> Result<JobRecord, Refusal> {
    u64::try_from(job_id)
        .ok()
        .map(|number| state.store.job(printer_id, number))
        .transpose()
        .map_err(store_failed)?
        .flatten()
        .ok_or_else(|| {
            Refusal::new(
                StatusCode::CLIENT_ERROR_NOT_FOUND,
                format!("no job {job_id} on this printer"),
            )
        })
}

/// A job the user may change: their own.
fn own_job(
    state: &Shared,
    printer_id: &str,
    user: &ClientUser,
    job_id: i32,
) -> Result<JobRecord, Refusal> {
    let job = client_job(state, printer_id, job_id)?;
    if job.owner_id != user.id {
        return Err(Refusal::new(
            StatusCode::CLIENT_ERROR_NOT_AUTHORIZED,
            format!("job {job_id} belongs to another user"),
        ));
    }
    Ok(job)
}

async fn send_document(
    state: &Shared,
    printer_id: &str,
    user: &ClientUser,
    message: &Message,
    document: DocumentReader,
) -> Outcome {
    let job_id = target_job_id(message)?;
    let last = message.operation_attributes().boolean("last-document");
    let Some(last) = last else {
        return Err(Refusal::bad_request(
            "operation attribute `last-document` is required",
        ));
    };
    if !last {
        return Err(Refusal::new(
            StatusCode::SERVER_ERROR_MULTIPLE_DOCUMENT_JOBS_NOT_SUPPORTED,
            "a job has one document here: send it with last-document true",
        ));
    }
    let job = own_job(state, printer_id, user, job_id)?;
    if !awaits_document(&job) {
        return Err(Refusal::new(
            StatusCode::CLIENT_ERROR_NOT_POSSIBLE,
            format!("job {job_id} is not waiting for its document"),
        ));
    }
    let printer = printer_record(state, printer_id)?;
    let data = read_document(state, document).await?;
    let format = document_format(&printer, message, &data)?;
    let name = message
        .operation_attributes()
        .string("document-name")
        .map(str::to_owned)
        .or_else(|| job.document.display_name.clone())
        .unwrap_or_else(|| format!("job {job_id}"));
    let job = store_and_release(state, &job, user, &name, &format, data).await?;
    let mut response = ok(message.request_id);
    response.push_group(created_job_group(state, &job));
    Ok(IppReply::new(response))
}

/// Cancels the job as Graph's cancel does and tells its printer's subscribers (the device among
/// them); `false` when it had already ended.
async fn cancel(state: &Shared, printer_id: &str, job_id: i32) -> Result<bool, Refusal> {
    let number = u64::try_from(job_id).unwrap_or(0);
    let canceled = {
        let _guard = state.write_lock();
        let mut record = client_job(state, printer_id, job_id)?;
        if record.job.status.state.is_terminal() {
            false
        } else {
            record.job.status = PrintJobStatus {
                state: PrintJobProcessingState::Canceled,
                details: Vec::new(),
                description: "The print job was canceled by the user.".into(),
                is_acquired_by_printer: record.job.status.is_acquired_by_printer,
            };
            record.job.is_fetchable = false;
            state.store.put_job(&record).map_err(store_failed)?;
            true
        }
    };
    if canceled {
        state.store.flush().await.map_err(store_failed)?;
        tracing::info!(printer = %printer_id, job = number, "job canceled over IPP");
        state.raise(
            printer_id,
            EventKind::JobStateChanged,
            Some(job_id),
            Some(7),
            &format!("job {job_id} was canceled"),
        );
    }
    Ok(canceled)
}

async fn cancel_job(
    state: &Shared,
    printer_id: &str,
    user: &ClientUser,
    message: &Message,
) -> Outcome {
    let job_id = target_job_id(message)?;
    own_job(state, printer_id, user, job_id)?;
    if !cancel(state, printer_id, job_id).await? {
        return Err(Refusal::new(
            StatusCode::CLIENT_ERROR_NOT_POSSIBLE,
            format!("job {job_id} has already ended"),
        ));
    }
    Ok(IppReply::new(ok(message.request_id)))
}

/// Cancel-My-Jobs (PWG 5100.11): every job of the user's on this printer that has not ended,
/// or those of `job-ids`.
async fn cancel_my_jobs(
    state: &Shared,
    printer_id: &str,
    user: &ClientUser,
    message: &Message,
) -> Outcome {
    let listed: Option<Vec<i32>> = message
        .operation_attributes()
        .attr("job-ids")
        .map(|a| a.integers().collect());
    let jobs = state.store.unfinished_jobs_of(printer_id);
    let jobs = jobs.map_err(store_failed)?;
    if let Some(ids) = &listed {
        for id in ids {
            own_job(state, printer_id, user, *id)?;
        }
    }
    for job in jobs.iter().filter(|j| j.owner_id == user.id) {
        let Some(id) = ipp_job_id(job) else { continue };
        if listed.as_ref().is_none_or(|ids| ids.contains(&id)) {
            cancel(state, printer_id, id).await?;
        }
    }
    Ok(IppReply::new(ok(message.request_id)))
}

/// Seconds of the cloud's up time at `at` (RFC 8011's `time-at-*`), 0 before it started.
pub(super) fn up_time_at(state: &Shared, at: chrono::DateTime<chrono::Utc>) -> i32 {
    let ago = (chrono::Utc::now() - at).num_seconds().max(0);
    (i64::from(state.up_time()) - ago).clamp(0, i64::from(i32::MAX)) as i32
}

fn no_value() -> Value {
    Value::OutOfBand(OutOfBand::NO_VALUE)
}

/// The job as a client sees it: its real state (a fetchable job is `processing`, as Graph
/// says), its description and its template, filtered by `requested`.
fn client_job_group(state: &Shared, job: &JobRecord, requested: &RequestedAttributes) -> Group {
    let job_id = ipp_job_id(job).unwrap_or(0);
    let printer_uri = state.printer_uri(&job.printer_id);
    let owner = job
        .job
        .created_by
        .as_ref()
        .and_then(|c| c.display_name.clone().or(c.user_principal_name.clone()))
        .unwrap_or_else(|| job.owner_id.clone());
    let name = job
        .document
        .display_name
        .clone()
        .filter(|n| !n.is_empty())
        .unwrap_or_else(|| format!("job {job_id}"));
    let mut attributes = vec![
        Attribute::new("job-id", Value::Integer(job_id)),
        Attribute::new("job-uri", Value::uri(format!("{printer_uri}/{job_id}"))),
        Attribute::new("job-printer-uri", Value::uri(printer_uri)),
        Attribute::new("job-name", Value::name(name)),
        Attribute::new("job-originating-user-name", Value::name(owner)),
    ];
    attributes.extend(job_status_to_ipp(&job.job.status).value);
    if !attributes.iter().any(|a| a.name == "job-state-message") {
        attributes.push(Attribute::new("job-state-message", Value::text("")));
    }
    let created = job.job.created_date_time;
    attributes.extend([
        Attribute::new(
            "number-of-documents",
            Value::Integer(i32::from(job.document_stored)),
        ),
        Attribute::new(
            "time-at-creation",
            Value::Integer(up_time_at(state, created)),
        ),
        Attribute::new(
            "time-at-processing",
            match job.job.acknowledged_date_time {
                Some(at) => Value::Integer(up_time_at(state, at)),
                None => no_value(),
            },
        ),
        // The completion time is not recorded; RFC 8011 allows no-value for what is unknown.
        Attribute::new("time-at-completed", no_value()),
        Attribute::new("job-printer-up-time", Value::Integer(state.up_time())),
        Attribute::new(
            "date-time-at-creation",
            Value::DateTime(printlab_ipp::DateTime::from_chrono(created)),
        ),
        Attribute::new(
            "job-k-octets",
            Value::Integer(
                i32::try_from(job.document.size.max(0).unsigned_abs().div_ceil(1024))
                    .unwrap_or(i32::MAX),
            ),
        ),
    ]);
    if let Some(done) = job.device.impressions_completed {
        attributes.push(Attribute::new(
            "job-impressions-completed",
            Value::Integer(done),
        ));
    }
    if let Some(done) = job.device.media_sheets_completed {
        attributes.push(Attribute::new(
            "job-media-sheets-completed",
            Value::Integer(done),
        ));
    }
    attributes.extend(job_template_from_graph(&job.job.configuration).value);
    let mut group = Group::new(GroupTag::JOB);
    for attribute in attributes {
        if requested.job(&attribute.name) {
            group.push(attribute);
        }
    }
    group
}

fn get_job_attributes(state: &Shared, printer_id: &str, message: &Message) -> Outcome {
    let job_id = target_job_id(message)?;
    let job = client_job(state, printer_id, job_id)?;
    let mut response = ok(message.request_id);
    response.push_group(client_job_group(
        state,
        &job,
        &RequestedAttributes::of(message, RequestedAttributes::All),
    ));
    Ok(IppReply::new(response))
}

/// Get-Jobs for clients (RFC 8011 §4.2.6): `which-jobs` not-completed (the default), completed
/// or all, `my-jobs`, `limit`; only `job-id` and `job-uri` unless `requested-attributes` asks
/// for more. Every job of the printer counts, whichever way it was created.
fn get_jobs(state: &Shared, printer_id: &str, user: &ClientUser, message: &Message) -> Outcome {
    let attrs = message.operation_attributes();
    let which = attrs.keyword("which-jobs").unwrap_or("not-completed");
    let keep: fn(&JobRecord) -> bool = match which {
        "not-completed" => |j| !is_terminal(j),
        "completed" => is_terminal,
        "all" => |_| true,
        other => {
            return Err(Refusal::unsupported_value(
                Attribute::new("which-jobs", Value::keyword(other)),
                format!("which-jobs `{other}` is not supported (not-completed, completed, all)"),
            ));
        }
    };
    let mine = attrs.boolean("my-jobs").unwrap_or(false);
    let limit = attrs
        .integer("limit")
        .filter(|l| *l > 0)
        .map(|l| l as usize);
    // Without requested-attributes, Get-Jobs answers job-id and job-uri (RFC 8011 §4.2.6.1).
    let requested =
        RequestedAttributes::of(message, RequestedAttributes::named(&["job-id", "job-uri"]));
    let mut jobs = match which {
        "not-completed" => state.store.unfinished_jobs_of(printer_id),
        _ => state.store.jobs_of(printer_id),
    }
    .map_err(store_failed)?;
    if which != "not-completed" {
        // Completed jobs newest first (RFC 8011 §4.2.6.2).
        jobs.reverse();
    }
    let mut response = ok(message.request_id);
    for job in jobs
        .iter()
        .filter(|j| keep(j) && (!mine || j.owner_id == user.id))
        .filter(|j| ipp_job_id(j).is_some())
        .take(limit.unwrap_or(usize::MAX))
    {
        response.push_group(client_job_group(state, job, &requested));
    }
    Ok(IppReply::new(response))
}
