//! The INFRA operations over HTTP. Every request is first bound to one printer by its
//! credential; job, document and subscription ids are then looked up only among that printer's,
//! so a device can neither see nor change another printer's work.

use super::events::{Event, EventKind};
use super::state::{
    AuthFailure, InfraState, acknowledge, apply_job_status, clear_device, device_attributes,
    ipp_job_id, ipp_job_state, is_handed_over, is_terminal, update_device_attributes,
};
use crate::store::{JobRecord, PrinterRecord};
use axum::Router;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode as HttpStatus, header};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use base64::Engine;
use futures::TryStreamExt;
use printlab_graph::{PrintJobProcessingState, PrinterProcessingState};
use printlab_ipp::http::{IppReply, IppRequest};
use printlab_ipp::{
    Attribute, AttributeLookup, Group, GroupTag, Message, Operation, StatusCode, Value,
};
use printlab_mapping::{job_status_to_ipp, job_template_from_graph, printer_status_to_ipp};
use std::sync::Arc;
use tokio::time::Instant;
use tracing::Instrument;

type Shared = Arc<InfraState>;

pub(super) fn router(state: Shared) -> Router {
    Router::new()
        .route("/printers", post(by_token))
        .route("/printers/{printer_id}", post(by_token_for_printer))
        .route("/ipp/print/{name}", post(by_proxy))
        .route("/ipp/system", post(by_system))
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

/// The Infrastructure System service (PWG 5100.22 as PWG 5100.18 uses it): a proxy holding a
/// provisioned Basic credential registers its output device and learns the printer URI to use.
async fn by_system(
    State(state): State<Shared>,
    headers: HeaderMap,
    request: IppRequest,
) -> Response {
    let credentials = basic(&headers);
    let pair = credentials.as_ref().map(|(u, p)| (u.as_str(), p.as_str()));
    let held = match state.proxies_for(pair) {
        Ok(held) => held,
        Err(failure) => return unauthorized(failure, "Basic realm=\"printlab\""),
    };
    let message = request.message;
    let request_id = message.request_id;
    let outcome = if message.operation() == Operation::REGISTER_OUTPUT_DEVICE {
        register_output_device(&state, held, &message).await
    } else {
        Err(Refusal::new(
            StatusCode::SERVER_ERROR_OPERATION_NOT_SUPPORTED,
            format!(
                "{} is not an operation of the INFRA system service (only Register-Output-Device)",
                message.operation()
            ),
        ))
    };
    let mut reply = outcome.unwrap_or_else(|refusal| {
        IppReply::new(Message::error_response(
            refusal.status,
            request_id,
            refusal.message,
        ))
    });
    reply.message.version = message.version;
    reply.into_response()
}

/// Binds the output device to one of the printers the credential serves: the one it already
/// serves, else one no device serves yet, else the first by name; answers that printer's URI
/// in `printer-xri-supported` (ippproxy takes it from there).
async fn register_output_device(
    state: &Shared,
    held: Vec<crate::store::ProxyRecord>,
    message: &Message,
) -> Outcome {
    let uuid = message
        .operation_attributes()
        .string("output-device-uuid")
        .map(str::to_owned)
        .ok_or_else(|| {
            Refusal::bad_request("operation attribute `output-device-uuid` is required")
        })?;
    let mut candidates = Vec::new();
    for proxy in held {
        let printer = printer_record(state, &proxy.printer_id)?;
        candidates.push((printer.device.output_device_uuid.clone(), proxy));
    }
    let chosen = candidates
        .iter()
        .position(|(served_by, _)| served_by.as_deref() == Some(uuid.as_str()))
        .or_else(|| {
            candidates
                .iter()
                .position(|(served_by, _)| served_by.is_none())
        })
        .unwrap_or(0);
    let proxy = candidates.swap_remove(chosen).1;
    update_printer(state, &proxy.printer_id, |rec| {
        rec.device.output_device_uuid = Some(uuid.clone());
        rec.printer.last_seen_date_time = Some(chrono::Utc::now());
    })
    .await?;
    tracing::info!(printer = %proxy.printer_id, name = %proxy.name, %uuid, "output device registered");
    let uri = state.proxy_printer_uri(&proxy.name);
    let xri = Value::Collection(vec![
        Attribute::new("xri-uri", Value::uri(uri.clone())),
        Attribute::new("xri-authentication", Value::keyword("basic")),
        Attribute::new("xri-security", Value::keyword("none")),
    ]);
    let mut response = ok(message.request_id);
    response.push_group(
        Group::new(GroupTag::PRINTER)
            .with("printer-xri-supported", xri)
            .with("printer-uri-supported", Value::uri(uri))
            .with("output-device-uuid", Value::uri(uuid)),
    );
    Ok(IppReply::new(response))
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
    let uuid = message
        .operation_attributes()
        .string("output-device-uuid")
        .map(str::to_owned);
    seen(state, printer_id, uuid).await?;
    match message.operation() {
        Operation::GET_PRINTER_ATTRIBUTES => get_printer_attributes(state, printer_id, id),
        Operation::UPDATE_OUTPUT_DEVICE_ATTRIBUTES => {
            update_output_device_attributes(state, printer_id, &message).await
        }
        Operation::GET_OUTPUT_DEVICE_ATTRIBUTES => {
            get_output_device_attributes(state, printer_id, id)
        }
        Operation::DEREGISTER_OUTPUT_DEVICE => deregister(state, printer_id, id).await,
        Operation::GET_JOBS => get_jobs(state, printer_id, &message),
        Operation::FETCH_JOB => fetch_job(state, printer_id, &message),
        Operation::ACKNOWLEDGE_JOB => acknowledge_job(state, printer_id, &message).await,
        Operation::FETCH_DOCUMENT => fetch_document(state, printer_id, &message),
        Operation::ACKNOWLEDGE_DOCUMENT => acknowledge_document(state, printer_id, &message).await,
        Operation::UPDATE_JOB_STATUS => update_job_status(state, printer_id, &message).await,
        Operation::UPDATE_DOCUMENT_STATUS => {
            update_document_status(state, printer_id, &message).await
        }
        Operation::UPDATE_ACTIVE_JOBS => update_active_jobs(state, printer_id, &message).await,
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

/// How stale `lastSeenDateTime` may get before a request refreshes it: writing it on every
/// long poll would cost a store write per request for no visible difference.
const LAST_SEEN_RESOLUTION: chrono::TimeDelta = chrono::TimeDelta::seconds(1);

/// Records that the printer's device spoke (and, once, the output-device-uuid it speaks as).
async fn seen(state: &Shared, printer_id: &str, uuid: Option<String>) -> Result<(), Refusal> {
    let now = chrono::Utc::now();
    let wrote = {
        let _guard = state.write_lock();
        let mut rec = printer_record(state, printer_id)?;
        let stale = rec
            .printer
            .last_seen_date_time
            .is_none_or(|at| now - at >= LAST_SEEN_RESOLUTION);
        let new_uuid = uuid.is_some() && rec.device.output_device_uuid != uuid;
        if stale || new_uuid {
            rec.printer.last_seen_date_time = Some(now);
            if new_uuid {
                rec.device.output_device_uuid = uuid;
            }
            state.store.put_printer(&rec).map_err(store_failed)?;
        }
        new_uuid
    };
    if wrote {
        state.store.flush().await.map_err(store_failed)?;
    }
    Ok(())
}

fn store_failed(e: impl std::fmt::Display) -> Refusal {
    Refusal::new(
        StatusCode::SERVER_ERROR_INTERNAL_ERROR,
        format!("the cloud's store failed: {e}"),
    )
}

fn printer_record(state: &Shared, printer_id: &str) -> Result<PrinterRecord, Refusal> {
    state
        .store
        .printer(printer_id)
        .map_err(store_failed)?
        .ok_or_else(|| Refusal::new(StatusCode::CLIENT_ERROR_NOT_FOUND, "printer is gone"))
}

/// The job, if it is this printer's and was handed to the device side; another printer's job
/// is refused as not authorized, an id no printer has as not found.
fn job_record(state: &Shared, printer_id: &str, job_id: i32) -> Result<JobRecord, Refusal> {
    let not_found = || {
        Refusal::new(
            StatusCode::CLIENT_ERROR_NOT_FOUND,
            format!("no job {job_id}"),
        )
    };
    let number = u64::try_from(job_id).map_err(|_| not_found())?;
    match state.store.job(printer_id, number).map_err(store_failed)? {
        Some(rec) if is_handed_over(&rec) => Ok(rec),
        Some(_) => Err(not_found()),
        None => match state.store.printer_of_job(number).map_err(store_failed)? {
            Some(owner) if owner != printer_id => Err(Refusal::new(
                StatusCode::CLIENT_ERROR_NOT_AUTHORIZED,
                format!("job {job_id} belongs to another printer"),
            )),
            _ => Err(not_found()),
        },
    }
}

/// Read-modify-write of one job under the cloud's write lock, flushed before returning.
async fn update_job<T>(
    state: &Shared,
    printer_id: &str,
    job_id: i32,
    change: impl FnOnce(&mut JobRecord) -> Result<T, Refusal>,
) -> Result<T, Refusal> {
    let out = {
        let _guard = state.write_lock();
        let mut rec = job_record(state, printer_id, job_id)?;
        let out = change(&mut rec)?;
        state.store.put_job(&rec).map_err(store_failed)?;
        out
    };
    state.store.flush().await.map_err(store_failed)?;
    Ok(out)
}

/// Read-modify-write of the printer record, flushed before returning.
async fn update_printer<T>(
    state: &Shared,
    printer_id: &str,
    change: impl FnOnce(&mut PrinterRecord) -> T,
) -> Result<T, Refusal> {
    let out = {
        let _guard = state.write_lock();
        let mut rec = printer_record(state, printer_id)?;
        let out = change(&mut rec);
        state.store.put_printer(&rec).map_err(store_failed)?;
        out
    };
    state.store.flush().await.map_err(store_failed)?;
    Ok(out)
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

fn get_printer_attributes(state: &Shared, printer_id: &str, id: u32) -> Outcome {
    let rec = printer_record(state, printer_id)?;
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
        .with(
            "printer-name",
            Value::name(rec.printer.display_name.clone()),
        )
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
    let status = printer_status_to_ipp(&rec.printer.status).value;
    let skip: Vec<&str> = status.iter().map(|a| a.name.as_str()).collect();
    for a in device_attributes(&rec.device) {
        if !skip.contains(&a.name.as_str()) && !group.attributes.iter().any(|g| g.name == a.name) {
            group.push(a);
        }
    }
    for a in status {
        if a.name != "printer-state" || rec.printer.status.state != PrinterProcessingState::Unknown
        {
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

async fn update_output_device_attributes(
    state: &Shared,
    printer_id: &str,
    message: &Message,
) -> Outcome {
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
    let (unmapped, name) = update_printer(state, printer_id, |rec| {
        (
            update_device_attributes(rec, attributes),
            rec.printer.display_name.clone(),
        )
    })
    .await?;
    state.raise(
        printer_id,
        EventKind::PrinterConfigChanged,
        None,
        None,
        &format!("printer {name} changed"),
    );
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
            .map(|name| {
                Attribute::new(name, Value::OutOfBand(printlab_ipp::OutOfBand::UNSUPPORTED))
            })
            .collect(),
    });
    Ok(IppReply::new(response))
}

fn get_output_device_attributes(state: &Shared, printer_id: &str, id: u32) -> Outcome {
    let rec = printer_record(state, printer_id)?;
    let attributes = device_attributes(&rec.device);
    let mut response = ok(id);
    if !attributes.is_empty() {
        response.push_group(Group {
            tag: GroupTag::PRINTER,
            attributes,
        });
    }
    Ok(IppReply::new(response))
}

async fn deregister(state: &Shared, printer_id: &str, id: u32) -> Outcome {
    update_printer(state, printer_id, clear_device).await?;
    let mut live = state.live();
    live.subscriptions.retain(|_, s| s.printer_id != printer_id);
    live.wakeup(printer_id).notify_waiters();
    Ok(IppReply::new(ok(id)))
}

/// The job's IPP state as devices see it: a job waiting to be fetched is `pending` with the
/// `job-fetchable` reason (PWG 5100.18 §5), whatever Graph calls its processing.
fn job_summary(state: &Shared, printer_id: &str, job_id: i32, job: &JobRecord) -> Group {
    let owner = job
        .job
        .created_by
        .as_ref()
        .and_then(|c| c.user_principal_name.clone())
        .unwrap_or_else(|| job.owner_id.clone());
    let name = job
        .document
        .display_name
        .clone()
        .filter(|n| !n.is_empty())
        .unwrap_or_else(|| format!("job {job_id}"));
    let mut group = Group::new(GroupTag::JOB)
        .with("job-id", Value::Integer(job_id))
        .with(
            "job-uri",
            Value::uri(format!("{}/{job_id}", state.printer_uri(printer_id))),
        )
        .with("job-printer-uri", Value::uri(state.printer_uri(printer_id)))
        .with("job-name", Value::name(name))
        .with("job-originating-user-name", Value::name(owner));
    if job.job.is_fetchable {
        group.push(Attribute::new("job-state", Value::Enum(3)));
        group.push(Attribute::new(
            "job-state-reasons",
            Value::keyword("job-fetchable"),
        ));
    } else {
        for a in job_status_to_ipp(&job.job.status).value {
            group.push(a);
        }
    }
    group
}

fn get_jobs(state: &Shared, printer_id: &str, message: &Message) -> Outcome {
    let attrs = message.operation_attributes();
    let which = attrs.keyword("which-jobs").unwrap_or("not-completed");
    let keep: fn(&JobRecord) -> bool = match which {
        "fetchable" => |j| j.job.is_fetchable,
        "not-completed" => |j| !is_terminal(j),
        "completed" => is_terminal,
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
    let jobs = state.store.jobs_of(printer_id).map_err(store_failed)?;
    let mut response = ok(message.request_id);
    for (job_id, job) in jobs
        .iter()
        .filter(|j| is_handed_over(j) && keep(j))
        .filter_map(|j| ipp_job_id(j).map(|id| (id, j)))
        .take(limit.unwrap_or(usize::MAX))
    {
        response.push_group(job_summary(state, printer_id, job_id, job));
    }
    Ok(IppReply::new(response))
}

fn document_format(job: &JobRecord) -> String {
    job.document
        .content_type
        .clone()
        .filter(|t| !t.is_empty())
        .or_else(|| job.declared_content_type.clone())
        .unwrap_or_else(|| "application/octet-stream".to_owned())
}

fn fetch_job(state: &Shared, printer_id: &str, message: &Message) -> Outcome {
    let job_id = required_integer(message, "job-id")?;
    let job = job_record(state, printer_id, job_id)?;
    if !job.job.is_fetchable {
        return Err(Refusal::new(
            StatusCode::CLIENT_ERROR_NOT_FETCHABLE,
            format!("job {job_id} is not fetchable (already acknowledged, canceled or finished)"),
        ));
    }
    let mut group = job_summary(state, printer_id, job_id, &job);
    group.push(Attribute::new("number-of-documents", Value::Integer(1)));
    let size = u64::try_from(job.document.size).unwrap_or(0);
    group.push(Attribute::new(
        "job-k-octets",
        Value::Integer(i32::try_from(size.div_ceil(1024)).unwrap_or(i32::MAX)),
    ));
    group.push(Attribute::new(
        "document-format",
        Value::mime_media_type(document_format(&job)),
    ));
    let template = job_template_from_graph(&job.job.configuration);
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

async fn acknowledge_job(state: &Shared, printer_id: &str, message: &Message) -> Outcome {
    let job_id = required_integer(message, "job-id")?;
    let fetch_status = message
        .operation_attributes()
        .enum_value("fetch-status-code");
    let refused = update_job(state, printer_id, job_id, |job| {
        if !job.job.is_fetchable && !job.device.acknowledged {
            return Err(Refusal::new(
                StatusCode::CLIENT_ERROR_NOT_FETCHABLE,
                format!("job {job_id} is not fetchable"),
            ));
        }
        acknowledge(job, fetch_status);
        Ok(job.job.status.state == PrintJobProcessingState::Aborted)
    })
    .await?;
    if refused {
        state.raise(
            printer_id,
            EventKind::JobStateChanged,
            Some(job_id),
            Some(ipp_job_state(PrintJobProcessingState::Aborted)),
            &format!("job {job_id} was refused by the printer"),
        );
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
    let job = job_record(state, printer_id, job_id)?;
    if job.device.document_acknowledged || is_terminal(&job) {
        return Err(Refusal::new(
            StatusCode::CLIENT_ERROR_NOT_FETCHABLE,
            format!("the document of job {job_id} is no longer fetchable"),
        ));
    }
    let stream = state
        .documents
        .read_document(&job.document.id)
        .map_err(|e| {
            Refusal::new(
                StatusCode::SERVER_ERROR_INTERNAL_ERROR,
                format!("document of job {job_id} cannot be read: {}", e.message),
            )
        })?;
    let mut response = ok(message.request_id);
    response.groups[0].push(Attribute::new(
        "document-format",
        Value::mime_media_type(document_format(&job)),
    ));
    response.groups[0].push(Attribute::new("compression", Value::keyword("none")));
    Ok(IppReply::with_document_chunks(
        response,
        Box::pin(stream.map_err(std::io::Error::other)),
    ))
}

async fn acknowledge_document(state: &Shared, printer_id: &str, message: &Message) -> Outcome {
    let job_id = required_integer(message, "job-id")?;
    document_number(message)?;
    update_job(state, printer_id, job_id, |job| {
        job.device.document_acknowledged = true;
        job.document.downloaded_date_time = Some(chrono::Utc::now());
        Ok(())
    })
    .await?;
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

fn announce_job_state(state: &Shared, printer_id: &str, job_id: i32, moved_to: Option<i32>) {
    if let Some(ipp_state) = moved_to {
        state.raise(
            printer_id,
            EventKind::JobStateChanged,
            Some(job_id),
            Some(ipp_state),
            &format!("job {job_id} is now in job-state {ipp_state}"),
        );
    }
}

async fn update_job_status(state: &Shared, printer_id: &str, message: &Message) -> Outcome {
    let job_id = required_integer(message, "job-id")?;
    let attrs = update_attributes(message);
    check_state_value(&attrs, "output-device-job-state")?;
    let moved = update_job(state, printer_id, job_id, |job| {
        Ok(apply_job_status(job, &attrs))
    })
    .await?;
    announce_job_state(state, printer_id, job_id, moved);
    Ok(IppReply::new(ok(message.request_id)))
}

async fn update_document_status(state: &Shared, printer_id: &str, message: &Message) -> Outcome {
    let job_id = required_integer(message, "job-id")?;
    document_number(message)?;
    let attrs = update_attributes(message);
    check_state_value(&attrs, "output-device-document-state")?;
    update_job(state, printer_id, job_id, |job| {
        if let Some(s) = attrs.enum_value("output-device-document-state") {
            job.device.document_state = Some(s);
        }
        Ok(())
    })
    .await?;
    Ok(IppReply::new(ok(message.request_id)))
}

/// Update-Active-Jobs: the device lists the jobs it is working on with their states; the
/// answer lists those the cloud sees differently (e.g. canceled) and, in the unsupported
/// group, ids the cloud does not know for this printer.
async fn update_active_jobs(state: &Shared, printer_id: &str, message: &Message) -> Outcome {
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
    let mut differing = Vec::new();
    let mut unknown = Vec::new();
    let mut moved = Vec::new();
    {
        let _guard = state.write_lock();
        for (job_id, device_state) in ids.into_iter().zip(states) {
            let mut job = match job_record(state, printer_id, job_id) {
                Ok(job) => job,
                Err(r) if r.status == StatusCode::SERVER_ERROR_INTERNAL_ERROR => return Err(r),
                Err(_) => {
                    unknown.push(Value::Integer(job_id));
                    continue;
                }
            };
            let update = [Attribute::new(
                "output-device-job-state",
                Value::Enum(device_state),
            )];
            if let Some(to) = apply_job_status(&mut job, &update) {
                moved.push((job_id, to));
            }
            state.store.put_job(&job).map_err(store_failed)?;
            let cloud_state = ipp_job_state(job.job.status.state);
            if cloud_state != device_state {
                differing.push((job_id, cloud_state));
            }
        }
    }
    state.store.flush().await.map_err(store_failed)?;
    for (job_id, to) in moved {
        announce_job_state(state, printer_id, job_id, Some(to));
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
    let mut live = state.live();
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
            let id = live.new_subscription(printer_id, events);
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
    let live = state.live();
    for id in &ids {
        match live.subscriptions.get(id) {
            // Also what a device hears after the cloud restarted: subscribe again, then
            // prime with Get-Jobs.
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
    let serving = state.serving();
    let wakeup = state.live().wakeup(printer_id);
    loop {
        let notified = wakeup.notified();
        tokio::pin!(notified);
        // Registered before looking, so an event raised in between still wakes us.
        notified.as_mut().enable();
        let events = {
            let mut live = state.live();
            let mut found = Vec::new();
            for (id, from) in &wanted {
                let Some(s) = live.subscriptions.get_mut(id) else {
                    return Err(Refusal::new(
                        StatusCode::CLIENT_ERROR_NOT_FOUND,
                        format!("subscription {id} was canceled"),
                    ));
                };
                found.extend(s.take_from(*from).into_iter().map(|e| (*id, e)));
            }
            found
        };
        let closing = serving.is_cancelled();
        if !events.is_empty() || !wait || closing || Instant::now() >= deadline {
            return Ok(IppReply::new(notifications_response(
                state,
                printer_id,
                message.request_id,
                events,
            )));
        }
        let woken = tokio::select! {
            r = tokio::time::timeout_at(deadline, notified) => r.is_ok(),
            // The server is shutting down: answer now; the device asks again elsewhere.
            _ = serving.cancelled() => false,
        };
        if !woken {
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
            let reasons = u64::try_from(job_id)
                .ok()
                .and_then(|n| state.store.job(printer_id, n).ok().flatten())
                .map(|j| job_summary(state, printer_id, job_id, &j))
                .and_then(|g| g.attr("job-state-reasons").cloned())
                .unwrap_or_else(|| Attribute::new("job-state-reasons", Value::keyword("none")));
            g.push(reasons);
        }
        response.push_group(g);
    }
    response
}

fn cancel_subscription(state: &Shared, printer_id: &str, message: &Message) -> Outcome {
    let id = required_integer(message, "notify-subscription-id")?;
    let mut live = state.live();
    match live.subscriptions.get(&id) {
        None => Err(Refusal::new(
            StatusCode::CLIENT_ERROR_NOT_FOUND,
            format!("no subscription {id}"),
        )),
        Some(s) if s.printer_id != printer_id => Err(Refusal::new(
            StatusCode::CLIENT_ERROR_NOT_AUTHORIZED,
            format!("subscription {id} belongs to another printer"),
        )),
        Some(_) => {
            live.subscriptions.remove(&id);
            live.wakeup(printer_id).notify_waiters();
            Ok(IppReply::new(ok(message.request_id)))
        }
    }
}
