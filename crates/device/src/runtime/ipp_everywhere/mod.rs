//! The fleet's IPP Everywhere printers: one listener for the whole fleet with one resource per
//! printer, `/ipp/print/{slug}` (as PAPPL serves many printers), so file descriptors grow with
//! clients, not with the fleet. A job sent here goes into the same spool, engine, faults and
//! output as a job from the service ([`crate::spool::JobOrigin::LocalIpp`]), and the printer's
//! own task prints it between the service's jobs; nothing about it goes to the service.
//!
//! The listener runs on [`printlab_serve::serve`], so a client that never finishes its request
//! headers, or thousands of idle connections, cannot take the process's file descriptors.
//!
//! Every request passes [`printlab_ipp::check_request`] (RFC 8011's envelope) and must name its
//! target (`printer-uri`, or `job-uri` for job operations) before its operation runs.
//!
//! Each printer also takes job and printer subscriptions with ippget (RFC 3995/3996,
//! `subscription_operations`); the events are the real state changes (`event_watch`).

mod document_format;
mod event_watch;
mod job_description;
mod job_operations;
mod printer_description;
mod subscription_operations;
mod subscription_registry;

use super::RuntimeError;
use super::connect::device_uuid;
use super::printer_handle::{PrinterHandle, PrinterSnapshot};
use crate::config::PrinterConfig;
use crate::spool::{JobRecord, Spool};
use axum::Router;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, header};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use printlab_ipp::http::{IppReply, IppRequest};
use printlab_ipp::{
    Attribute, AttributeLookup, Group, GroupTag, Message, Operation, RequestRefusal, StatusCode,
    check_request,
};
use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Instant;
use tokio::io::AsyncReadExt;
use tokio::sync::watch;
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;
use tracing::info;

/// One printer as the listener serves it: what a DNS-SD advertisement needs.
#[derive(Debug, Clone, PartialEq)]
pub struct IppPrinter {
    /// The `printers.toml` name.
    pub name: String,
    /// `/ipp/print/{slug}`: the resource path (DNS-SD `rp` without the leading slash).
    pub resource_path: String,
    /// `urn:uuid:…`, the printer's `printer-uuid`.
    pub uuid: String,
    /// `ipp://{listen address}{resource_path}`.
    pub uri: String,
    /// Its Get-Printer-Attributes description as the listener started (DNS-SD's TXT record is
    /// read off it, so browsing and asking never disagree).
    pub description: Vec<Attribute>,
}

/// The fleet's IPP listener: where it listens and the printers it serves.
#[derive(Debug, Clone)]
pub struct IppEndpoint {
    pub local_addr: SocketAddr,
    pub printers: Vec<IppPrinter>,
}

/// A printer of the fleet, as the listener sees it.
pub(super) struct LocalPrinter {
    /// The resource name: `/ipp/print/{slug}`.
    slug: String,
    config: PrinterConfig,
    handle: PrinterHandle,
    /// The printer's front panel, where Identify-Printer shows (see [`super::identify`]).
    panel: watch::Sender<PrinterSnapshot>,
    info: IppPrinter,
}

impl LocalPrinter {
    /// PWG 5100.14: a printer that takes PWG raster and JPEG is an IPP Everywhere printer.
    fn is_ipp_everywhere(&self) -> bool {
        let formats = self
            .config
            .capabilities
            .content_types
            .as_deref()
            .unwrap_or_default();
        ["image/pwg-raster", "image/jpeg"]
            .iter()
            .all(|f| formats.iter().any(|have| have == f))
    }
}

/// What every request handler shares.
struct IppService {
    /// Keyed by slug.
    printers: HashMap<String, LocalPrinter>,
    spool: Spool,
    local_addr: SocketAddr,
    started: Instant,
    started_at: chrono::DateTime<chrono::Utc>,
    subscriptions: subscription_registry::Subscriptions,
    /// Cancelled when the fleet stops: held Get-Notifications answer at once.
    shutdown: CancellationToken,
}

impl IppService {
    /// Seconds since the listener started, at least 1 (RFC 8011: `printer-up-time` > 0).
    fn up_time(&self) -> i32 {
        i32::try_from(self.started.elapsed().as_secs() + 1).unwrap_or(i32::MAX)
    }
}

/// One request's view of the service: the host the client used, so the URIs in the answer
/// are ones it can reach (as PAPPL does), else the listen address.
pub(super) struct Target<'a> {
    service: &'a IppService,
    host: String,
    pub(super) started_at: chrono::DateTime<chrono::Utc>,
}

impl Target<'_> {
    fn printer_uri(&self, printer: &LocalPrinter) -> String {
        format!("ipp://{}{}", self.host, printer.info.resource_path)
    }

    fn page_uri(&self, printer: &LocalPrinter) -> String {
        format!("http://{}{}", self.host, printer.info.resource_path)
    }

    /// Seconds since the listener started, at least 1 (RFC 8011: `printer-up-time` > 0).
    fn up_time(&self) -> i32 {
        self.service.up_time()
    }

    /// `time-at-*` of an instant: seconds on the `printer-up-time` clock.
    fn up_time_at(&self, at: chrono::DateTime<chrono::Utc>) -> i32 {
        let seconds = (at - self.started_at).num_seconds() + 1;
        i32::try_from(seconds).unwrap_or(if seconds < 0 { i32::MIN } else { i32::MAX })
    }

    fn queued_jobs(&self, printer: &LocalPrinter) -> i32 {
        let jobs = (self.service.spool).unfinished_printer_jobs(&printer.config.name);
        // An ended job whose final report the service has not answered is not queued.
        let queued = |jobs: Vec<JobRecord>| jobs.iter().filter(|j| !j.state.is_terminal()).count();
        let count = jobs.map(queued).unwrap_or(0);
        i32::try_from(count).unwrap_or(i32::MAX)
    }
}

/// A refused request: its status, message and the attributes the printer does not support.
#[derive(Debug)]
pub(super) struct Refusal {
    refusal: RequestRefusal,
    unsupported: Vec<Attribute>,
}

impl From<RequestRefusal> for Refusal {
    fn from(refusal: RequestRefusal) -> Self {
        Self {
            refusal,
            unsupported: Vec::new(),
        }
    }
}

impl Refusal {
    fn new(status: StatusCode, message: impl Into<String>) -> Self {
        RequestRefusal::new(status, message).into()
    }

    fn with_unsupported(mut self, unsupported: Vec<Attribute>) -> Self {
        self.unsupported = unsupported;
        self
    }
}

/// The URL-safe resource name of a printer: lower case letters, digits and dashes.
fn slug(name: &str) -> String {
    let mut out = String::new();
    for c in name.chars() {
        if c.is_ascii_alphanumeric() {
            out.push(c.to_ascii_lowercase());
        } else if !out.ends_with('-') {
            out.push('-');
        }
    }
    let out = out.trim_matches('-').to_string();
    if out.is_empty() {
        "printer".into()
    } else {
        out
    }
}

/// A printer the listener serves: its configuration, its handle and its front panel.
pub(super) type Served = (PrinterConfig, PrinterHandle, watch::Sender<PrinterSnapshot>);

/// Binds the fleet's IPP listener and serves it until `shutdown`.
pub(super) fn start_ipp_listener(
    addr: SocketAddr,
    printers: Vec<Served>,
    spool: Spool,
    shutdown: CancellationToken,
    tasks: &mut JoinSet<()>,
) -> Result<IppEndpoint, RuntimeError> {
    let failed = |source| RuntimeError::IppListen { addr, source };
    let listener = std::net::TcpListener::bind(addr).map_err(failed)?;
    listener.set_nonblocking(true).map_err(failed)?;
    let local_addr = listener.local_addr().map_err(failed)?;
    let listener = tokio::net::TcpListener::from_std(listener).map_err(failed)?;
    let mut served = HashMap::new();
    let mut infos = Vec::new();
    for (config, handle, panel) in printers {
        let base = slug(&config.name);
        let mut name = base.clone();
        let mut n = 2;
        while served.contains_key(&name) {
            name = format!("{base}-{n}");
            n += 1;
        }
        let resource_path = format!("/ipp/print/{name}");
        let info = IppPrinter {
            name: config.name.clone(),
            uri: format!("ipp://{local_addr}{resource_path}"),
            resource_path,
            uuid: format!("urn:uuid:{}", device_uuid(&config.name)),
            description: Vec::new(),
        };
        infos.push(info.clone());
        served.insert(
            name.clone(),
            LocalPrinter {
                slug: name,
                config,
                handle,
                panel,
                info,
            },
        );
    }
    let service = Arc::new(IppService {
        printers: served,
        spool,
        local_addr,
        started: Instant::now(),
        started_at: chrono::Utc::now(),
        subscriptions: Default::default(),
        shutdown: shutdown.clone(),
    });
    let at_listener = Target {
        service: &service,
        host: local_addr.to_string(),
        started_at: service.started_at,
    };
    for info in &mut infos {
        if let Some(printer) = service.printers.values().find(|p| p.info.name == info.name) {
            info.description = printer_description::printer_attributes(printer, &at_listener);
        }
    }
    tasks.spawn(event_watch::watch_jobs(service.clone(), shutdown.clone()));
    tasks.spawn(event_watch::watch_printers(
        service.clone(),
        shutdown.clone(),
    ));
    let router = Router::new()
        .route("/ipp/print/{slug}", post(serve_request).get(printer_page))
        .route(
            "/ipp/print/{slug}/icon.png",
            axum::routing::get(printer_icon),
        )
        .with_state(service);
    info!(%local_addr, "IPP Everywhere printers listening");
    // The listener is open to the network: header-read and idle timeouts and a bound on
    // connections, as every printlab server has. IPP clients send no credentials, so every
    // connection counts against the budget of unauthenticated ones (the oldest goes first).
    tasks.spawn(printlab_serve::serve(
        listener,
        router,
        printlab_serve::ServeLimits::default(),
        None,
        shutdown,
    ));
    Ok(IppEndpoint {
        local_addr,
        printers: infos,
    })
}

/// The page `printer-more-info` names: the printer's name, state and URI in plain text.
async fn printer_page(
    State(service): State<Arc<IppService>>,
    Path(slug): Path<String>,
    headers: HeaderMap,
) -> Response {
    let Some(printer) = service.printers.get(&slug) else {
        return (axum::http::StatusCode::NOT_FOUND, "no such printer").into_response();
    };
    let target = target(&service, &headers);
    let snapshot = printer.handle.snapshot();
    let text = format!(
        "{}\nstate: {:?} ({})\nIPP: {}\n",
        printer.config.name,
        snapshot.state,
        snapshot.reasons.join(", "),
        target.printer_uri(printer)
    );
    text.into_response()
}

/// `printer-icons`: a 128-pixel icon, a sheet on a printer in the printer's ink (grey for a
/// monochrome one), drawn once per request (clients fetch it once).
async fn printer_icon(
    State(service): State<Arc<IppService>>,
    Path(slug): Path<String>,
) -> Response {
    let Some(printer) = service.printers.get(&slug) else {
        return (axum::http::StatusCode::NOT_FOUND, "no such printer").into_response();
    };
    let ink = if printer.config.hardware.color {
        image::Rgba([40, 110, 200, 255])
    } else {
        image::Rgba([90, 90, 90, 255])
    };
    let icon = image::RgbaImage::from_fn(128, 128, |x, y| match (x, y) {
        (32..96, 8..56) => image::Rgba([255, 255, 255, 255]),
        (8..120, 48..104) => ink,
        (32..96, 96..120) => image::Rgba([255, 255, 255, 255]),
        _ => image::Rgba([0, 0, 0, 0]),
    });
    let mut png = std::io::Cursor::new(Vec::new());
    if let Err(e) = icon.write_to(&mut png, image::ImageFormat::Png) {
        return (axum::http::StatusCode::INTERNAL_SERVER_ERROR, e.to_string()).into_response();
    }
    ([(header::CONTENT_TYPE, "image/png")], png.into_inner()).into_response()
}

fn target<'a>(service: &'a IppService, headers: &HeaderMap) -> Target<'a> {
    let host = headers
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .filter(|h| !h.is_empty() && h.chars().all(|c| c.is_ascii_graphic()))
        .map(str::to_string)
        .unwrap_or_else(|| service.local_addr.to_string());
    Target {
        service,
        host,
        started_at: service.started_at,
    }
}

/// How much of a refused request's document the listener reads (and drops) so that the
/// client, still sending, gets the answer rather than a reset connection.
const DRAIN_AFTER_REFUSAL: u64 = 64 << 20;

async fn serve_request(
    State(service): State<Arc<IppService>>,
    Path(slug): Path<String>,
    headers: HeaderMap,
    request: IppRequest,
) -> Response {
    let IppRequest {
        message,
        mut document,
    } = request;
    let answer = match service.printers.get(&slug) {
        Some(printer) => {
            let target = target(&service, &headers);
            dispatch(&target, printer, &message, &mut document).await
        }
        None => Err(Refusal::new(
            StatusCode::CLIENT_ERROR_NOT_FOUND,
            format!("no printer at /ipp/print/{slug}"),
        )),
    };
    let reply = match answer {
        Ok(reply) => reply,
        Err(refused) => {
            let _ = tokio::io::copy(
                &mut (&mut document).take(DRAIN_AFTER_REFUSAL),
                &mut tokio::io::sink(),
            )
            .await;
            let mut reply = refused.refusal.response_to(&message);
            if !refused.unsupported.is_empty() {
                reply.push_group(Group {
                    tag: GroupTag::UNSUPPORTED,
                    attributes: refused.unsupported,
                });
            }
            reply
        }
    };
    IppReply::new(reply).into_response()
}

/// Runs one request's operation after RFC 8011's checks.
async fn dispatch(
    target: &Target<'_>,
    printer: &LocalPrinter,
    request: &Message,
    document: &mut printlab_ipp::DocumentReader,
) -> Result<Message, Refusal> {
    check_request(request)?;
    let operation = request.operation();
    let op = request.operation_attributes();
    let job_operation = [
        Operation::SEND_DOCUMENT,
        Operation::CLOSE_JOB,
        Operation::CANCEL_JOB,
        Operation::GET_JOB_ATTRIBUTES,
    ]
    .contains(&operation);
    if !(job_operation && op.attr("job-uri").is_some()) {
        printlab_ipp::required_uri(request, "printer-uri")?;
    }
    use job_operations as jobs;
    use subscription_operations as subscriptions;
    match operation {
        Operation::GET_PRINTER_ATTRIBUTES => {
            Ok(jobs::get_printer_attributes(target, printer, request))
        }
        Operation::PRINT_JOB => jobs::print_job(target, printer, request, document).await,
        Operation::VALIDATE_JOB | Operation::VALIDATE_DOCUMENT => {
            jobs::validate_job(target, printer, request)
        }
        Operation::CREATE_JOB => jobs::create_job(target, printer, request),
        Operation::SEND_DOCUMENT => jobs::send_document(target, printer, request, document).await,
        Operation::CLOSE_JOB => jobs::close_job(target, printer, request),
        Operation::CANCEL_JOB => jobs::cancel_job(target, printer, request),
        Operation::CANCEL_MY_JOBS => jobs::cancel_my_jobs(target, printer, request),
        Operation::GET_JOB_ATTRIBUTES => jobs::get_job_attributes(target, printer, request),
        Operation::GET_JOBS => jobs::get_jobs(target, printer, request),
        Operation::IDENTIFY_PRINTER => Ok(jobs::identify_printer(printer, request)),
        Operation::CREATE_PRINTER_SUBSCRIPTIONS => {
            subscriptions::create_subscriptions(target, printer, request, false)
        }
        Operation::CREATE_JOB_SUBSCRIPTIONS => {
            subscriptions::create_subscriptions(target, printer, request, true)
        }
        Operation::GET_SUBSCRIPTION_ATTRIBUTES => {
            subscriptions::get_subscription_attributes(target, printer, request)
        }
        Operation::GET_SUBSCRIPTIONS => subscriptions::get_subscriptions(target, printer, request),
        Operation::RENEW_SUBSCRIPTION => {
            subscriptions::renew_subscription(target, printer, request)
        }
        Operation::CANCEL_SUBSCRIPTION => {
            subscriptions::cancel_subscription(target, printer, request)
        }
        Operation::GET_NOTIFICATIONS => {
            subscriptions::get_notifications(target, printer, request).await
        }
        other => Err(Refusal::new(
            StatusCode::SERVER_ERROR_OPERATION_NOT_SUPPORTED,
            format!("{other} is not an operation this printer supports"),
        )),
    }
}
