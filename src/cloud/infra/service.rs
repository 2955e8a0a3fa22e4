//! The INFRA operations over HTTP. Every request is first bound to one printer by its
//! credential; job, document and subscription ids are then looked up only among that printer's,
//! so a device can neither see nor change another printer's work.

use super::events::{Event, EventKind};
use super::state::{AuthFailure, InfraState, JobEntry, Tables};
use crate::ipp::http::{IppReply, IppRequest};
use crate::ipp::{
    Attribute, AttributeLookup, Group, GroupTag, Message, Operation, StatusCode, Value,
};
use crate::model::ipp_mapping::{
    job_status_to_ipp, job_template_from_graph, printer_status_to_ipp,
};
use crate::model::{PrintJobProcessingState, PrinterProcessingState};
use axum::Router;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode as HttpStatus, header};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use base64::Engine;
use futures::TryStreamExt;
use std::sync::Arc;
use tokio::time::Instant;
use tracing::Instrument;

type Shared = Arc<InfraState>;

pub(super) fn router(state: Shared) -> Router {
    Router::new()
        .route("/printers", post(by_token))
        .route("/printers/{printer_id}", post(by_token_for_printer))
        .route("/ipp/print/{name}", post(by_proxy))
        .with_state(state)
}

async fn by_token(
    State(state): State<Shared>,
    headers: HeaderMap,
    request: IppRequest,
) -> Response {
    match state.printer_for_token(bearer(&headers)) {
        Ok(printer_id) => handle(state, printer_id, request).await.into_response(),
        Err(failure) => unauthorized(failure, "Bearer"),
    }
}

async fn by_token_for_printer(
    State(state): State<Shared>,
    Path(path_printer): Path<String>,
    headers: HeaderMap,
    request: IppRequest,
) -> Response {
    match state.printer_for_token(bearer(&headers)) {
        Ok(printer_id) if printer_id == path_printer => {
            handle(state, printer_id, request).await.into_response()
        }
        Ok(_) => IppReply::new(Message::error_response(
            StatusCode::CLIENT_ERROR_NOT_AUTHORIZED,
            request.message.request_id,
            format!("this device token is not for printer {path_printer}"),
        ))
        .into_response(),
        Err(failure) => unauthorized(failure, "Bearer"),
    }
}

async fn by_proxy(
    State(state): State<Shared>,
    Path(name): Path<String>,
    headers: HeaderMap,
    request: IppRequest,
) -> Response {
    let credentials = basic(&headers);
    let pair = credentials.as_ref().map(|(u, p)| (u.as_str(), p.as_str()));
    match state.printer_for_proxy(&name, pair) {
        Ok(printer_id) => handle(state, printer_id, request).await.into_response(),
        Err(failure) => unauthorized(failure, "Basic realm=\"printlab\""),
    }
}

fn bearer(headers: &HeaderMap) -> Option<&str> {
    headers
        .get(header::AUTHORIZATION)?
        .to_str()
        .ok()?
        .strip_prefix("Bearer ")
        .map(str::trim)
}

fn basic(headers: &HeaderMap) -> Option<(String, String)> {
    let encoded = headers
        .get(header::AUTHORIZATION)?
        .to_str()
        .ok()?
        .strip_prefix("Basic ")?;
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(encoded.trim())
        .ok()?;
    let text = String::from_utf8(decoded).ok()?;
    let (user, password) = text.split_once(':')?;
    Some((user.to_owned(), password.to_owned()))
}

/// 401 with the challenge the client should answer; IPP statuses are for authenticated
/// requests (RFC 8010 §4: authentication is HTTP's job).
fn unauthorized(failure: AuthFailure, challenge: &'static str) -> Response {
    let text = match failure {
        AuthFailure::Missing => "credentials required",
        AuthFailure::Invalid => "credentials not valid (unknown, expired or for another printer)",
    };
    let mut response = (HttpStatus::UNAUTHORIZED, text).into_response();
    response.headers_mut().insert(
        header::WWW_AUTHENTICATE,
        HeaderValue::from_static(challenge),
    );
    response
}

/// An IPP refusal carried as a value so handlers can use `?`.
struct Refusal {
    status: StatusCode,
    message: String,
    unsupported: Vec<Attribute>,
}

impl Refusal {
    fn new(status: StatusCode, message: impl Into<String>) -> Self {
        Self {
            status,
            message: message.into(),
            unsupported: Vec::new(),
        }
    }

    fn bad_request(message: impl Into<String>) -> Self {
        Self::new(StatusCode::CLIENT_ERROR_BAD_REQUEST, message)
    }

    fn unsupported_value(attribute: Attribute, message: impl Into<String>) -> Self {
        Self {
            status: StatusCode::CLIENT_ERROR_ATTRIBUTES_OR_VALUES_NOT_SUPPORTED,
            message: message.into(),
            unsupported: vec![attribute],
        }
    }
}

type Outcome = Result<IppReply, Refusal>;

async fn handle(state: Shared, printer_id: String, request: IppRequest) -> IppReply {
    let request_id = request.message.request_id;
    let operation = request.message.operation();
    let span = tracing::info_span!("infra", printer = %printer_id, op = %operation);
    let version = request.message.version;
    if !(1..=2).contains(&version.0) {
        return IppReply::new(Message::error_response(
            StatusCode::SERVER_ERROR_VERSION_NOT_SUPPORTED,
            request_id,
            format!(
                "IPP/{}.{} is not supported; use 1.1 or 2.x",
                version.0, version.1
            ),
        ));
    }
    let outcome = dispatch(&state, &printer_id, request)
        .instrument(span)
        .await;
    // Answer in the version the client spoke (RFC 8011 §4.1.8).
    let mut reply = match outcome {
        Ok(reply) => reply,
        Err(refusal) => {
            tracing::debug!(printer = %printer_id, op = %operation, status = %refusal.status, message = %refusal.message, "refused");
            let mut message = Message::error_response(refusal.status, request_id, refusal.message);
            if !refusal.unsupported.is_empty() {
                message.push_group(Group {
                    tag: GroupTag::UNSUPPORTED,
                    attributes: refusal.unsupported,
                });
            }
            IppReply::new(message)
        }
    };
    reply.message.version = version;
    reply
}

async fn dispatch(state: &Shared, printer_id: &str, request: IppRequest) -> Outcome {
    let IppRequest { message, document } = request;
    // The request body has been read up to the end of the attributes; INFRA requests carry no
    // document data, so whatever follows is dropped with the connection's body.
    drop(document);
    let id = message.request_id;
    {
        let mut t = state.lock();
        t.touch(printer_id);
        if let Some(uuid) = message.operation_attributes().string("output-device-uuid")
            && let Some(p) = t.printers.get_mut(printer_id)
        {
            p.view.output_device_uuid = Some(uuid.to_owned());
        }
    }
    match message.operation() {
        Operation::GET_PRINTER_ATTRIBUTES => get_printer_attributes(state, printer_id, id),
        Operation::UPDATE_OUTPUT_DEVICE_ATTRIBUTES => {
            update_output_device_attributes(state, printer_id, &message)
        }
        Operation::GET_OUTPUT_DEVICE_ATTRIBUTES => {
            get_output_device_attributes(state, printer_id, id)
        }
        Operation::DEREGISTER_OUTPUT_DEVICE => deregister(state, printer_id, id),
        Operation::GET_JOBS => get_jobs(state, printer_id, &message),
        Operation::FETCH_JOB => fetch_job(state, printer_id, &message),
        Operation::ACKNOWLEDGE_JOB => acknowledge_job(state, printer_id, &message),
        Operation::FETCH_DOCUMENT => fetch_document(state, printer_id, &message),
        Operation::ACKNOWLEDGE_DOCUMENT => acknowledge_document(state, printer_id, &message),
        Operation::UPDATE_JOB_STATUS => update_job_status(state, printer_id, &message),
        Operation::UPDATE_DOCUMENT_STATUS => update_document_status(state, printer_id, &message),
        Operation::UPDATE_ACTIVE_JOBS => update_active_jobs(state, printer_id, &message),
        Operation::CREATE_PRINTER_SUBSCRIPTIONS => {
            create_subscriptions(state, printer_id, &message)
        }
        Operation::GET_NOTIFICATIONS => get_notifications(state, printer_id, &message).await,
        Operation::CANCEL_SUBSCRIPTION => cancel_subscription(state, printer_id, &message),
        other => Err(Refusal::new(
            StatusCode::SERVER_ERROR_OPERATION_NOT_SUPPORTED,
            format!("{other} is not an operation of the INFRA service"),
        )),
    }
}

fn ok(request_id: u32) -> Message {
    Message::response(StatusCode::SUCCESSFUL_OK, request_id)
}

fn required_integer(message: &Message, name: &str) -> Result<i32, Refusal> {
    let attrs = message.operation_attributes();
    match attrs.attr(name) {
        None => Err(Refusal::bad_request(format!(
            "operation attribute `{name}` is required"
        ))),
        Some(a) => a.first().and_then(Value::as_integer).ok_or_else(|| {
            Refusal::unsupported_value(a.clone(), format!("`{name}` must be an integer"))
        }),
    }
}

/// The job, if it is this printer's; another printer's job is refused as not authorized, an
/// id no printer has as not found.
fn job_of<'t>(
    t: &'t mut Tables,
    printer_id: &str,
    job_id: i32,
) -> Result<&'t mut JobEntry, Refusal> {
    if !t.jobs.contains_key(&(printer_id.to_owned(), job_id)) {
        return Err(if t.jobs.keys().any(|(_, j)| *j == job_id) {
            Refusal::new(
                StatusCode::CLIENT_ERROR_NOT_AUTHORIZED,
                format!("job {job_id} belongs to another printer"),
            )
        } else {
            Refusal::new(
                StatusCode::CLIENT_ERROR_NOT_FOUND,
                format!("no job {job_id}"),
            )
        });
    }
    Ok(t.jobs
        .get_mut(&(printer_id.to_owned(), job_id))
        .expect("checked above"))
}

fn ipp_job_state(state: PrintJobProcessingState) -> i32 {
    crate::model::ipp_mapping::JOB_STATES
        .iter()
        .find(|(g, _)| *g == state)
        .map(|(_, v)| *v)
        .unwrap_or(3)
}

fn get_printer_attributes(state: &Shared, printer_id: &str, id: u32) -> Outcome {
    let t = state.lock();
    let p = t
        .printers
        .get(printer_id)
        .ok_or_else(|| Refusal::new(StatusCode::CLIENT_ERROR_NOT_FOUND, "printer is gone"))?;
    let mut group = Group::new(GroupTag::PRINTER)
        .with(
            "printer-uri-supported",
            Value::uri(state.printer_uri(printer_id)),
        )
        .with("uri-security-supported", Value::keyword("none"))
        .with(
            "uri-authentication-supported",
            Value::keyword("requesting-user-name"),
        )
        .with("printer-name", Value::name(p.display_name.clone()))
        .with("printer-up-time", Value::Integer(state.up_time()))
        .with_set("ipp-versions-supported", [Value::keyword("2.0")])
        .with_set(
            "notify-events-supported",
            EventKind::ALL.map(|k| Value::keyword(k.keyword())),
        )
        .with_set("notify-pull-method-supported", [Value::keyword("ippget")])
        .with_set(
            "which-jobs-supported",
            ["fetchable", "not-completed", "completed", "all"].map(Value::keyword),
        )
        .with_set(
            "operations-supported",
            SUPPORTED_OPERATIONS.map(|o| Value::Enum(i32::from(o.0))),
        );
    let status = printer_status_to_ipp(&p.view.status).value;
    let skip: Vec<&str> = status.iter().map(|a| a.name.as_str()).collect();
    for a in &p.device_attributes {
        if !skip.contains(&a.name.as_str()) && !group.attributes.iter().any(|g| g.name == a.name) {
            group.push(a.clone());
        }
    }
    for a in status {
        if a.name != "printer-state" || p.view.status.state != PrinterProcessingState::Unknown {
            group.push(a);
        }
    }
    if group.attr("printer-state").is_none() {
        group.push(Attribute::new("printer-state", Value::Enum(3)));
    }
    let mut response = ok(id);
    response.push_group(group);
    Ok(IppReply::new(response))
}

const SUPPORTED_OPERATIONS: [Operation; 15] = [
    Operation::GET_PRINTER_ATTRIBUTES,
    Operation::GET_JOBS,
    Operation::CREATE_PRINTER_SUBSCRIPTIONS,
    Operation::CANCEL_SUBSCRIPTION,
    Operation::GET_NOTIFICATIONS,
    Operation::ACKNOWLEDGE_DOCUMENT,
    Operation::ACKNOWLEDGE_JOB,
    Operation::FETCH_DOCUMENT,
    Operation::FETCH_JOB,
    Operation::GET_OUTPUT_DEVICE_ATTRIBUTES,
    Operation::UPDATE_ACTIVE_JOBS,
    Operation::DEREGISTER_OUTPUT_DEVICE,
    Operation::UPDATE_DOCUMENT_STATUS,
    Operation::UPDATE_JOB_STATUS,
    Operation::UPDATE_OUTPUT_DEVICE_ATTRIBUTES,
];

fn update_output_device_attributes(state: &Shared, printer_id: &str, message: &Message) -> Outcome {
    let attributes: Vec<Attribute> = message
        .groups_of(GroupTag::PRINTER)
        .flat_map(|g| g.attributes.iter().cloned())
        .collect();
    if let Some(bad) = attributes.iter().find(|a| {
        a.name == "printer-state"
            && !a
                .first()
                .and_then(Value::as_enum)
                .is_some_and(|v| (3..=5).contains(&v))
    }) {
        return Err(Refusal::unsupported_value(
            bad.clone(),
            "printer-state must be 3 (idle), 4 (processing) or 5 (stopped)",
        ));
    }
    let uuid = message
        .operation_attributes()
        .string("output-device-uuid")
        .map(str::to_owned);
    let unmapped = state
        .lock()
        .update_device_attributes(printer_id, attributes, uuid);
    if unmapped.is_empty() {
        return Ok(IppReply::new(ok(message.request_id)));
    }
    // Kept as sent (Get-Output-Device-Attributes returns them) but without a Graph
    // counterpart: say so, as RFC 8011 does for substituted values.
    let mut response = Message::response(
        StatusCode::SUCCESSFUL_OK_IGNORED_OR_SUBSTITUTED_ATTRIBUTES,
        message.request_id,
    );
    response.push_group(Group {
        tag: GroupTag::UNSUPPORTED,
        attributes: unmapped
            .into_iter()
            .map(|name| Attribute::new(name, Value::OutOfBand(crate::ipp::OutOfBand::UNSUPPORTED)))
            .collect(),
    });
    Ok(IppReply::new(response))
}

fn get_output_device_attributes(state: &Shared, printer_id: &str, id: u32) -> Outcome {
    let t = state.lock();
    let p = t
        .printers
        .get(printer_id)
        .ok_or_else(|| Refusal::new(StatusCode::CLIENT_ERROR_NOT_FOUND, "printer is gone"))?;
    let mut response = ok(id);
    if !p.device_attributes.is_empty() {
        response.push_group(Group {
            tag: GroupTag::PRINTER,
            attributes: p.device_attributes.clone(),
        });
    }
    Ok(IppReply::new(response))
}

fn deregister(state: &Shared, printer_id: &str, id: u32) -> Outcome {
    let mut t = state.lock();
    t.subscriptions.retain(|_, s| s.printer_id != printer_id);
    if let Some(p) = t.printers.get_mut(printer_id) {
        p.device_attributes.clear();
        p.view.output_device_uuid = None;
        p.view.status.state = PrinterProcessingState::Stopped;
        p.view.status.description = Some("The output device deregistered.".to_owned());
        p.wakeup.notify_waiters();
    }
    Ok(IppReply::new(ok(id)))
}

fn job_summary(state: &Shared, printer_id: &str, job: &JobEntry) -> Group {
    let mut group = Group::new(GroupTag::JOB)
        .with("job-id", Value::Integer(job.ticket.job_id))
        .with(
            "job-uri",
            Value::uri(format!(
                "{}/{}",
                state.printer_uri(printer_id),
                job.ticket.job_id
            )),
        )
        .with("job-printer-uri", Value::uri(state.printer_uri(printer_id)))
        .with("job-name", Value::name(job.ticket.job_name.clone()))
        .with(
            "job-originating-user-name",
            Value::name(job.ticket.owner.clone()),
        );
    for a in job_status_to_ipp(&job.status).value {
        group.push(a);
    }
    group
}

fn get_jobs(state: &Shared, printer_id: &str, message: &Message) -> Outcome {
    let attrs = message.operation_attributes();
    let which = attrs.keyword("which-jobs").unwrap_or("not-completed");
    let keep: fn(&JobEntry) -> bool = match which {
        "fetchable" => |j| j.fetchable,
        "not-completed" => |j| !j.is_terminal(),
        "completed" => JobEntry::is_terminal,
        "all" => |_| true,
        other => {
            return Err(Refusal::unsupported_value(
                Attribute::new("which-jobs", Value::keyword(other)),
                format!(
                    "which-jobs `{other}` is not supported (fetchable, not-completed, completed, all)"
                ),
            ));
        }
    };
    let limit = attrs
        .integer("limit")
        .filter(|l| *l > 0)
        .map(|l| l as usize);
    let t = state.lock();
    let mut jobs: Vec<&JobEntry> = t
        .jobs
        .iter()
        .filter(|((p, _), j)| p == printer_id && keep(j))
        .map(|(_, j)| j)
        .collect();
    jobs.sort_by_key(|j| j.ticket.job_id);
    let mut response = ok(message.request_id);
    for job in jobs.into_iter().take(limit.unwrap_or(usize::MAX)) {
        response.push_group(job_summary(state, printer_id, job));
    }
    Ok(IppReply::new(response))
}

fn fetch_job(state: &Shared, printer_id: &str, message: &Message) -> Outcome {
    let job_id = required_integer(message, "job-id")?;
    let mut t = state.lock();
    let job = job_of(&mut t, printer_id, job_id)?;
    if !job.fetchable {
        return Err(Refusal::new(
            StatusCode::CLIENT_ERROR_NOT_FETCHABLE,
            format!("job {job_id} is not fetchable (already acknowledged, canceled or finished)"),
        ));
    }
    let mut group = job_summary(state, printer_id, job);
    group.push(Attribute::new("number-of-documents", Value::Integer(1)));
    group.push(Attribute::new(
        "job-k-octets",
        Value::Integer(i32::try_from(job.ticket.document_size.div_ceil(1024)).unwrap_or(i32::MAX)),
    ));
    group.push(Attribute::new(
        "document-format",
        Value::mime_media_type(job.ticket.document_format.clone()),
    ));
    let template = job_template_from_graph(&job.ticket.configuration);
    for u in &template.unmapped {
        tracing::debug!(job_id, attribute = %u.attribute, value = %u.value, reason = u.reason, "job setting not sent to the device");
    }
    for a in template.value {
        group.push(a);
    }
    let mut response = ok(message.request_id);
    response.push_group(group);
    Ok(IppReply::new(response))
}

fn acknowledge_job(state: &Shared, printer_id: &str, message: &Message) -> Outcome {
    let job_id = required_integer(message, "job-id")?;
    let fetch_status = message
        .operation_attributes()
        .enum_value("fetch-status-code");
    let mut t = state.lock();
    let job = job_of(&mut t, printer_id, job_id)?;
    if !job.fetchable && !job.acknowledged {
        return Err(Refusal::new(
            StatusCode::CLIENT_ERROR_NOT_FETCHABLE,
            format!("job {job_id} is not fetchable"),
        ));
    }
    job.fetchable = false;
    // A fetch-status-code other than successful-ok means the device refuses the job.
    if fetch_status.is_some_and(|code| code != 0) {
        job.status.state = PrintJobProcessingState::Aborted;
        job.status.description = format!(
            "The printer refused the job (fetch-status-code {}).",
            StatusCode(fetch_status.unwrap_or(0) as u16)
        );
    } else {
        job.acknowledged = true;
        job.status.is_acquired_by_printer = true;
    }
    Ok(IppReply::new(ok(message.request_id)))
}

fn document_number(message: &Message) -> Result<(), Refusal> {
    match message.operation_attributes().integer("document-number") {
        None | Some(1) => Ok(()),
        Some(n) => Err(Refusal::new(
            StatusCode::CLIENT_ERROR_NOT_FOUND,
            format!("job has one document; document-number {n} does not exist"),
        )),
    }
}

fn fetch_document(state: &Shared, printer_id: &str, message: &Message) -> Outcome {
    let job_id = required_integer(message, "job-id")?;
    document_number(message)?;
    let (document_id, format) = {
        let mut t = state.lock();
        let job = job_of(&mut t, printer_id, job_id)?;
        if job.document_acknowledged || job.is_terminal() {
            return Err(Refusal::new(
                StatusCode::CLIENT_ERROR_NOT_FETCHABLE,
                format!("the document of job {job_id} is no longer fetchable"),
            ));
        }
        (
            job.ticket.document_id.clone(),
            job.ticket.document_format.clone(),
        )
    };
    let stream = state.documents.read_document(&document_id).map_err(|e| {
        Refusal::new(
            StatusCode::SERVER_ERROR_INTERNAL_ERROR,
            format!("document of job {job_id} cannot be read: {}", e.message),
        )
    })?;
    let reader = tokio_util::io::StreamReader::new(stream.map_err(std::io::Error::other));
    let mut response = ok(message.request_id);
    response.groups[0].push(Attribute::new(
        "document-format",
        Value::mime_media_type(format),
    ));
    response.groups[0].push(Attribute::new("compression", Value::keyword("none")));
    Ok(IppReply::with_document(response, Box::pin(reader)))
}

fn acknowledge_document(state: &Shared, printer_id: &str, message: &Message) -> Outcome {
    let job_id = required_integer(message, "job-id")?;
    document_number(message)?;
    let mut t = state.lock();
    let job = job_of(&mut t, printer_id, job_id)?;
    job.document_acknowledged = true;
    Ok(IppReply::new(ok(message.request_id)))
}

/// The job group of an update request (or its operation group, for senders that put the
/// attributes there).
fn update_attributes(message: &Message) -> Vec<Attribute> {
    let mut attrs: Vec<Attribute> = message.operation_attributes().to_vec();
    for g in message
        .groups_of(GroupTag::JOB)
        .chain(message.groups_of(GroupTag::DOCUMENT))
    {
        attrs.extend(g.attributes.iter().cloned());
    }
    attrs
}

fn check_state_value(attrs: &[Attribute], name: &str) -> Result<(), Refusal> {
    if let Some(a) = attrs.attr(name)
        && !a
            .first()
            .and_then(Value::as_enum)
            .is_some_and(|v| (3..=9).contains(&v))
    {
        return Err(Refusal::unsupported_value(
            a.clone(),
            format!("`{name}` must be a job/document state enum 3..9"),
        ));
    }
    Ok(())
}

fn update_job_status(state: &Shared, printer_id: &str, message: &Message) -> Outcome {
    let job_id = required_integer(message, "job-id")?;
    let attrs = update_attributes(message);
    check_state_value(&attrs, "output-device-job-state")?;
    let mut t = state.lock();
    job_of(&mut t, printer_id, job_id)?;
    t.update_job_status(printer_id, job_id, &attrs);
    Ok(IppReply::new(ok(message.request_id)))
}

fn update_document_status(state: &Shared, printer_id: &str, message: &Message) -> Outcome {
    let job_id = required_integer(message, "job-id")?;
    document_number(message)?;
    let attrs = update_attributes(message);
    check_state_value(&attrs, "output-device-document-state")?;
    let mut t = state.lock();
    let job = job_of(&mut t, printer_id, job_id)?;
    if let Some(s) = attrs.enum_value("output-device-document-state") {
        job.document_state = Some(s);
    }
    Ok(IppReply::new(ok(message.request_id)))
}

/// Update-Active-Jobs: the device lists the jobs it is working on with their states; the
/// answer lists those the cloud sees differently (e.g. canceled) and, in the unsupported
/// group, ids the cloud does not know for this printer.
fn update_active_jobs(state: &Shared, printer_id: &str, message: &Message) -> Outcome {
    let attrs = message.operation_attributes();
    let ids: Vec<i32> = attrs
        .attr("job-ids")
        .map(|a| a.integers().collect())
        .unwrap_or_default();
    let states: Vec<i32> = attrs
        .attr("output-device-job-states")
        .map(|a| a.enums().collect())
        .unwrap_or_default();
    if ids.len() != states.len() {
        return Err(Refusal::bad_request(
            "job-ids and output-device-job-states must have the same number of values",
        ));
    }
    let mut t = state.lock();
    let mut differing = Vec::new();
    let mut unknown = Vec::new();
    for (job_id, device_state) in ids.into_iter().zip(states) {
        if !t.jobs.contains_key(&(printer_id.to_owned(), job_id)) {
            unknown.push(Value::Integer(job_id));
            continue;
        }
        let update = [Attribute::new(
            "output-device-job-state",
            Value::Enum(device_state),
        )];
        t.update_job_status(printer_id, job_id, &update);
        let cloud_state = ipp_job_state(t.jobs[&(printer_id.to_owned(), job_id)].status.state);
        if cloud_state != device_state {
            differing.push((job_id, cloud_state));
        }
    }
    let mut response = ok(message.request_id);
    if !differing.is_empty() {
        response.groups[0].push(Attribute::set(
            "job-ids",
            differing.iter().map(|(j, _)| Value::Integer(*j)),
        ));
        response.groups[0].push(Attribute::set(
            "output-device-job-states",
            differing.iter().map(|(_, s)| Value::Enum(*s)),
        ));
    }
    if !unknown.is_empty() {
        response.push_group(Group::new(GroupTag::UNSUPPORTED).with_set("job-ids", unknown));
    }
    Ok(IppReply::new(response))
}

fn create_subscriptions(state: &Shared, printer_id: &str, message: &Message) -> Outcome {
    let templates: Vec<&Group> = message.groups_of(GroupTag::SUBSCRIPTION).collect();
    if templates.is_empty() {
        return Err(Refusal::bad_request("no subscription template group"));
    }
    let mut t = state.lock();
    let mut response = ok(message.request_id);
    let mut created = 0;
    let mut groups = Vec::new();
    for template in templates {
        let method = template.keyword("notify-pull-method");
        let events: Vec<EventKind> = template
            .attr("notify-events")
            .map(|a| a.keywords().filter_map(EventKind::from_keyword).collect())
            .unwrap_or_else(|| vec![EventKind::JobStateChanged]);
        let group = if method != Some("ippget") || events.is_empty() {
            Group::new(GroupTag::SUBSCRIPTION).with(
                "notify-status-code",
                Value::Enum(i32::from(
                    StatusCode::CLIENT_ERROR_ATTRIBUTES_OR_VALUES_NOT_SUPPORTED.0,
                )),
            )
        } else {
            created += 1;
            let id = t.new_subscription(printer_id, events);
            Group::new(GroupTag::SUBSCRIPTION)
                .with("notify-subscription-id", Value::Integer(id))
                .with("notify-lease-duration", Value::Integer(0))
        };
        groups.push(group);
    }
    if created == 0 {
        response.code = StatusCode::CLIENT_ERROR_IGNORED_ALL_SUBSCRIPTIONS.0;
        response.groups[0].push(Attribute::new(
            "status-message",
            Value::text("every subscription needs notify-pull-method=ippget and a supported notify-events value"),
        ));
    } else if created < groups.len() {
        response.code = StatusCode::SUCCESSFUL_OK_IGNORED_SUBSCRIPTIONS.0;
    }
    for g in groups {
        response.push_group(g);
    }
    Ok(IppReply::new(response))
}

fn subscription_ids(
    state: &Shared,
    printer_id: &str,
    message: &Message,
) -> Result<Vec<(i32, i32)>, Refusal> {
    let attrs = message.operation_attributes();
    let ids: Vec<i32> = attrs
        .attr("notify-subscription-ids")
        .map(|a| a.integers().collect())
        .unwrap_or_default();
    if ids.is_empty() {
        return Err(Refusal::bad_request("notify-subscription-ids is required"));
    }
    let sequences: Vec<i32> = attrs
        .attr("notify-sequence-numbers")
        .map(|a| a.integers().collect())
        .unwrap_or_default();
    let t = state.lock();
    for id in &ids {
        match t.subscriptions.get(id) {
            None => {
                return Err(Refusal::new(
                    StatusCode::CLIENT_ERROR_NOT_FOUND,
                    format!("no subscription {id}"),
                ));
            }
            Some(s) if s.printer_id != printer_id => {
                return Err(Refusal::new(
                    StatusCode::CLIENT_ERROR_NOT_AUTHORIZED,
                    format!("subscription {id} belongs to another printer"),
                ));
            }
            Some(_) => {}
        }
    }
    Ok(ids
        .into_iter()
        .enumerate()
        .map(|(i, id)| (id, sequences.get(i).copied().unwrap_or(1)))
        .collect())
}

async fn get_notifications(state: &Shared, printer_id: &str, message: &Message) -> Outcome {
    let wanted = subscription_ids(state, printer_id, message)?;
    let wait = message
        .operation_attributes()
        .boolean("notify-wait")
        .unwrap_or(false);
    let deadline = Instant::now() + state.long_poll;
    let wakeup = state
        .lock()
        .printers
        .get(printer_id)
        .map(|p| p.wakeup.clone())
        .ok_or_else(|| Refusal::new(StatusCode::CLIENT_ERROR_NOT_FOUND, "printer is gone"))?;
    loop {
        let notified = wakeup.notified();
        tokio::pin!(notified);
        // Registered before looking, so an event raised in between still wakes us.
        notified.as_mut().enable();
        let events = {
            let mut t = state.lock();
            let mut found = Vec::new();
            for (id, from) in &wanted {
                let Some(s) = t.subscriptions.get_mut(id) else {
                    return Err(Refusal::new(
                        StatusCode::CLIENT_ERROR_NOT_FOUND,
                        format!("subscription {id} was canceled"),
                    ));
                };
                found.extend(s.take_from(*from).into_iter().map(|e| (*id, e)));
            }
            found
        };
        if !events.is_empty() || !wait || Instant::now() >= deadline {
            return Ok(IppReply::new(notifications_response(
                state,
                printer_id,
                message.request_id,
                events,
            )));
        }
        if tokio::time::timeout_at(deadline, notified).await.is_err() {
            return Ok(IppReply::new(notifications_response(
                state,
                printer_id,
                message.request_id,
                Vec::new(),
            )));
        }
    }
}

fn notifications_response(
    state: &Shared,
    printer_id: &str,
    id: u32,
    events: Vec<(i32, Event)>,
) -> Message {
    let mut response = ok(id);
    // Ask again at once: the next request long-polls again.
    response.groups[0].push(Attribute::new("notify-get-interval", Value::Integer(0)));
    response.groups[0].push(Attribute::new(
        "printer-up-time",
        Value::Integer(state.up_time()),
    ));
    let t = state.lock();
    for (subscription, e) in events {
        let mut g = Group::new(GroupTag::EVENT_NOTIFICATION)
            .with("notify-subscription-id", Value::Integer(subscription))
            .with("notify-sequence-number", Value::Integer(e.sequence))
            .with("notify-subscribed-event", Value::keyword(e.kind.keyword()))
            .with(
                "notify-printer-uri",
                Value::uri(state.printer_uri(printer_id)),
            )
            .with("notify-text", Value::text(e.text))
            .with("printer-up-time", Value::Integer(state.up_time()));
        if let Some(job_id) = e.job_id {
            g.push(Attribute::new("notify-job-id", Value::Integer(job_id)));
            g.push(Attribute::new("job-id", Value::Integer(job_id)));
            if let Some(s) = e.job_state {
                g.push(Attribute::new("job-state", Value::Enum(s)));
            }
            let reasons = t
                .jobs
                .get(&(printer_id.to_owned(), job_id))
                .map(|j| job_status_to_ipp(&j.status).value)
                .and_then(|attrs| attrs.into_iter().find(|a| a.name == "job-state-reasons"))
                .unwrap_or_else(|| Attribute::new("job-state-reasons", Value::keyword("none")));
            g.push(reasons);
        }
        response.push_group(g);
    }
    response
}

fn cancel_subscription(state: &Shared, printer_id: &str, message: &Message) -> Outcome {
    let id = required_integer(message, "notify-subscription-id")?;
    let mut t = state.lock();
    match t.subscriptions.get(&id) {
        None => Err(Refusal::new(
            StatusCode::CLIENT_ERROR_NOT_FOUND,
            format!("no subscription {id}"),
        )),
        Some(s) if s.printer_id != printer_id => Err(Refusal::new(
            StatusCode::CLIENT_ERROR_NOT_AUTHORIZED,
            format!("subscription {id} belongs to another printer"),
        )),
        Some(_) => {
            t.subscriptions.remove(&id);
            if let Some(p) = t.printers.get(printer_id) {
                p.wakeup.notify_waiters();
            }
            Ok(IppReply::new(ok(message.request_id)))
        }
    }
}
