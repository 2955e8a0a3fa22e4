//! The INFRA operations over HTTP. Every request is first bound to one printer by its
//! credential; job, document and subscription ids are then looked up only among that printer's,
//! so a device can neither see nor change another printer's work.

use super::events::{Event, EventKind};
use super::state;
use super::state::{
    InfraState, acknowledge, apply_job_status, clear_device, device_attributes, ipp_job_id,
    ipp_job_state, is_handed_over, is_terminal, update_device_attributes,
};
use crate::store::{JobRecord, PrinterRecord};
use crate::upload::Rendition;
use axum::Router;
use axum::extract::{FromRequest, Path, Request, State};
use axum::http::{HeaderMap, StatusCode as HttpStatus};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
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

mod client_jobs;
mod credentials;
mod documents;
mod envelope;
mod everywhere_description;
mod identify;
mod jobs;
mod printer_attributes;
mod reference_strictness;
mod subscriptions;

pub(super) use credentials::client_user_named;
use credentials::{BASIC, BEARER, Caller, basic, bearer, challenge_for, unauthorized};

use documents::{acknowledge_document, fetch_document, update_document_status};
use jobs::{
    acknowledge_job, device_document, fetch_job, get_jobs, job_summary, update_active_jobs,
    update_job_status,
};
use printer_attributes::{
    deregister, get_output_device_attributes, get_printer_attributes,
    update_output_device_attributes,
};
use subscriptions::{
    cancel_subscription, create_subscriptions, get_notifications, renew_subscription,
};

pub(super) fn router(state: Shared) -> Router {
    Router::new()
        .route("/printers", post(by_token))
        .route("/printers/{printer_id}", post(by_printer_id))
        .route("/ipp/print/{name}", post(by_name))
        .route("/ipp/system", post(by_system))
        .route(
            everywhere_description::ICON_PATH,
            get(everywhere_description::printer_icon),
        )
        .with_state(state)
}

/// `/printers`: the device token names the printer.
async fn by_token(State(state): State<Shared>, request: Request) -> Response {
    match state.printer_for_token(bearer(request.headers())) {
        Ok(printer_id) => serve(state, printer_id, Caller::Device, request).await,
        Err(failure) => unauthorized(failure, BEARER),
    }
}

/// `/printers/{id}`: the printer's device (its device token) or a client (a user token or IPP
/// user credential).
async fn by_printer_id(
    State(state): State<Shared>,
    Path(path_printer): Path<String>,
    request: Request,
) -> Response {
    let headers = request.headers();
    if let Ok(printer_id) = state.printer_for_token(bearer(headers)) {
        if printer_id == path_printer {
            return serve(state, printer_id, Caller::Device, request).await;
        }
        let refusal = format!("this device token is not for printer {path_printer}");
        return match decode(request).await {
            Ok(ipp) => IppReply::new(Message::error_response(
                StatusCode::CLIENT_ERROR_NOT_AUTHORIZED,
                ipp.message.request_id,
                refusal,
            ))
            .into_response(),
            Err(rejection) => rejection,
        };
    }
    match state.client_for(headers) {
        Ok(user) if state.store.has_printer(&path_printer).unwrap_or(false) => {
            serve(state, path_printer, Caller::Client(user), request).await
        }
        Ok(_) => (HttpStatus::NOT_FOUND, "no such printer").into_response(),
        Err(failure) => unauthorized(failure, challenge_for(headers)),
    }
}

/// `/ipp/print/{name}`: the proxy provisioned under `name` (its Basic credential) or a client.
async fn by_name(
    State(state): State<Shared>,
    Path(name): Path<String>,
    request: Request,
) -> Response {
    let headers = request.headers();
    let credentials = basic(headers);
    let pair = credentials.as_ref().map(|(u, p)| (u.as_str(), p.as_str()));
    if let Ok(printer_id) = state.printer_for_proxy(&name, pair) {
        return serve(state, printer_id, Caller::Device, request).await;
    }
    match state.client_for(headers) {
        Ok(user) => match state.store.proxy(&name) {
            Ok(Some(proxy)) => serve(state, proxy.printer_id, Caller::Client(user), request).await,
            _ => (HttpStatus::NOT_FOUND, "no printer by that name").into_response(),
        },
        Err(failure) => unauthorized(failure, challenge_for(headers)),
    }
}

/// Reads the IPP request once the credential checked out.
async fn decode(request: Request) -> Result<IppRequest, Response> {
    IppRequest::from_request(request, &())
        .await
        .map_err(IntoResponse::into_response)
}

async fn serve(state: Shared, printer_id: String, caller: Caller, request: Request) -> Response {
    // How long a Get-Notifications of this request may be held depends on what holding it
    // costs: a connection of its own over HTTP/1.1, a stream of a shared one over HTTP/2.
    let hold = state.long_poll.over(request.version());
    match decode(request).await {
        Ok(ipp) => handle(state, printer_id, caller, ipp, hold)
            .await
            .into_response(),
        Err(rejection) => rejection,
    }
}

/// The Infrastructure System service (PWG 5100.22 as PWG 5100.18 uses it): a proxy holding a
/// provisioned Basic credential registers its output device and learns the printer URI to use.
async fn by_system(State(state): State<Shared>, request: Request) -> Response {
    let credentials = basic(request.headers());
    let pair = credentials.as_ref().map(|(u, p)| (u.as_str(), p.as_str()));
    let held = match state.proxies_for(pair) {
        Ok(held) => held,
        Err(failure) => return unauthorized(failure, BASIC),
    };
    let message = match decode(request).await {
        Ok(ipp) => ipp.message,
        Err(rejection) => return rejection,
    };
    let request_id = message.request_id;
    let outcome = match envelope::check(&message, "system-uri") {
        Err(refusal) => Err(refusal),
        Ok(()) if message.operation() == Operation::REGISTER_OUTPUT_DEVICE => {
            register_output_device(&state, held, &message).await
        }
        Ok(()) => Err(Refusal::new(
            StatusCode::SERVER_ERROR_OPERATION_NOT_SUPPORTED,
            format!(
                "{} is not an operation of the INFRA system service (only Register-Output-Device)",
                message.operation()
            ),
        )),
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

pub(super) fn holds_proxy_credentials(state: &InfraState, headers: &HeaderMap) -> bool {
    let credentials = basic(headers);
    let pair = credentials.as_ref().map(|(u, p)| (u.as_str(), p.as_str()));
    pair.is_some() && state.proxies_for(pair).is_ok()
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

async fn handle(
    state: Shared,
    printer_id: String,
    caller: Caller,
    request: IppRequest,
    hold: std::time::Duration,
) -> IppReply {
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
    let timer = state
        .metrics
        .ipp_operation(operation.name().unwrap_or("unknown-operation"));
    let outcome = dispatch(&state, &printer_id, caller, request, hold)
        .instrument(span)
        .await;
    timer.observe_duration();
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

async fn dispatch(
    state: &Shared,
    printer_id: &str,
    caller: Caller,
    request: IppRequest,
    hold: std::time::Duration,
) -> Outcome {
    envelope::check_printer_request(&request.message)?;
    if let Caller::Client(user) = caller {
        return client_jobs::client_operation(state, printer_id, &user, request, hold).await;
    }
    let IppRequest { message, document } = request;
    // The request body has been read up to the end of the attributes; INFRA requests carry no
    // document data, so whatever follows is dropped with the connection's body.
    drop(document);
    let uuid = message
        .operation_attributes()
        .string("output-device-uuid")
        .map(str::to_owned);
    let renewal = message.operation() == Operation::GET_NOTIFICATIONS;
    seen(state, printer_id, uuid, renewal).await?;
    if !state.strict_reference {
        return operation(state, printer_id, message, hold).await;
    }
    reference_strictness::check_request(&message)?;
    let asked = message.operation();
    let reply = operation(state, printer_id, message, hold).await?;
    reference_strictness::check_reply(asked, &reply)?;
    Ok(reply)
}

/// `hold`: how long a Get-Notifications with `notify-wait` may wait for an event.
async fn operation(
    state: &Shared,
    printer_id: &str,
    message: Message,
    hold: std::time::Duration,
) -> Outcome {
    let id = message.request_id;
    match message.operation() {
        Operation::GET_PRINTER_ATTRIBUTES => get_printer_attributes(state, printer_id, &message),
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
            create_subscriptions(state, printer_id, None, &message)
        }
        Operation::GET_NOTIFICATIONS => {
            get_notifications(state, printer_id, None, &message, hold).await
        }
        Operation::CANCEL_SUBSCRIPTION => cancel_subscription(state, printer_id, None, &message),
        Operation::RENEW_SUBSCRIPTION => renew_subscription(state, printer_id, None, &message),
        Operation::ACKNOWLEDGE_IDENTIFY_PRINTER => {
            identify::acknowledge_identify_printer(state, printer_id, &message)
        }
        other => Err(Refusal::new(
            StatusCode::SERVER_ERROR_OPERATION_NOT_SUPPORTED,
            format!("{other} is not an operation of the INFRA service"),
        )),
    }
}

/// How stale `lastSeenDateTime` may get before a request refreshes it: writing it on every
/// long poll would cost a store write per request for no visible difference.
const LAST_SEEN_RESOLUTION: chrono::TimeDelta = chrono::TimeDelta::seconds(1);
/// The same for an idle device's long-poll renewals (Get-Notifications): each one read and
/// rewrote the whole printer record (its capabilities in JSON), which was most of the cloud's
/// idle CPU (a fleet of N printers renews N times a long-poll period); `lastSeenDateTime` of an
/// idle printer is now at most this old, and any other request refreshes it at once. Three
/// times the HTTP/2 hold ([`super::DEFAULT_LONG_POLL_HTTP2`]), so a printer renewing
/// over HTTP/2 rewrites its record every third renewal, not at each.
const IDLE_LAST_SEEN_RESOLUTION: chrono::TimeDelta = chrono::TimeDelta::minutes(15);

/// Records that the printer's device spoke (and, once, the output-device-uuid it speaks as);
/// `renewal`: the request was a long poll's renewal. What was last recorded is also kept in
/// memory, so a request with nothing to record reads no record.
async fn seen(
    state: &Shared,
    printer_id: &str,
    uuid: Option<String>,
    renewal: bool,
) -> Result<(), Refusal> {
    let now = chrono::Utc::now();
    let resolution = if renewal {
        IDLE_LAST_SEEN_RESOLUTION
    } else {
        LAST_SEEN_RESOLUTION
    };
    let recorded = state.live().last_seen.get(printer_id).cloned();
    if let Some((at, known_uuid)) = recorded
        && now - at < resolution
        && (uuid.is_none() || uuid == known_uuid)
    {
        return Ok(());
    }
    let wrote = {
        let _guard = state.write_lock();
        let mut rec = printer_record(state, printer_id)?;
        let stale = rec
            .printer
            .last_seen_date_time
            .is_none_or(|at| now - at >= resolution);
        let new_uuid = uuid.is_some() && rec.device.output_device_uuid != uuid;
        if stale || new_uuid {
            rec.printer.last_seen_date_time = Some(now);
            if new_uuid {
                rec.device.output_device_uuid = uuid;
            }
            state.store.put_printer(&rec).map_err(store_failed)?;
        }
        if let Some(at) = rec.printer.last_seen_date_time {
            let recorded = (at, rec.device.output_device_uuid.clone());
            state
                .live()
                .last_seen
                .insert(printer_id.to_string(), recorded);
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
