//! The control API: what a person can do to a running printer over HTTP, and the printers' state.
//! Every route asks for the bearer token the process was started with: the API raises faults
//! on printers that serve real users' jobs, so it is never open, not even on loopback.

use super::control_front_panel;
use super::printer_handle::{Control, PrinterHandle, PrinterSnapshot};
use super::side_thumbnail::thumbnail;
use crate::engine::Fault;
use crate::spool::Spool;
use axum::extract::{Path as UrlPath, Query, Request, State};
use axum::http::{StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post, put};
use serde::Deserialize;
use sha2::{Digest, Sha256};
use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

/// A new control token: 256 random bits, hex.
pub fn generate_control_token() -> String {
    hex::encode(rand::random::<[u8; 32]>())
}

/// Where the control API finds the printers' jobs (the spool) and what they printed
/// (`out_root/<printer>/<job>/`).
#[derive(Clone)]
pub struct JobOutputs {
    pub spool: Spool,
    pub out_root: PathBuf,
}

#[derive(Clone)]
pub(super) struct ControlState {
    pub(super) outputs: JobOutputs,
    by_name: Arc<HashMap<String, PrinterHandle>>,
    /// File order, for the listing.
    order: Arc<Vec<String>>,
    /// SHA-256 of the token: comparing digests takes the same time however much of a guessed
    /// token is right.
    token_digest: [u8; 32],
}

/// The control API over `printers`, answering only requests that carry `token` as
/// `Authorization: Bearer` (401 without one, 403 with another).
pub fn control_router(
    printers: &[PrinterHandle],
    outputs: JobOutputs,
    token: &str,
) -> axum::Router {
    let state = ControlState {
        outputs,
        by_name: Arc::new(
            (printers.iter())
                .map(|p| (p.name.clone(), p.clone()))
                .collect(),
        ),
        order: Arc::new(printers.iter().map(|p| p.name.clone()).collect()),
        token_digest: Sha256::digest(token.as_bytes()).into(),
    };
    axum::Router::new()
        .route("/control/openapi.json", get(openapi))
        .route("/control/printers", get(list_printers))
        .route("/control/events", get(events))
        .route("/control/printers/{name}/clear", post(clear_all))
        .route("/control/printers/{name}/pause", post(pause))
        .route("/control/printers/{name}/resume", post(resume))
        .route(
            "/control/printers/{name}/faults/{kind}",
            post(raise_fault).delete(clear_fault),
        )
        .route(
            "/control/printers/{name}/trays/{tray}",
            put(control_front_panel::load_media),
        )
        .route(
            "/control/printers/{name}/supplies/{supply}",
            put(control_front_panel::set_supply_level),
        )
        .route(
            "/control/printers/{name}/sample-page",
            post(control_front_panel::print_sample_page),
        )
        .route("/control/printers/{name}/jobs", get(list_jobs))
        .route(
            "/control/printers/{name}/jobs/{job}/manifest.json",
            get(job_manifest),
        )
        .route(
            "/control/printers/{name}/jobs/{job}/sides/{file}",
            get(job_side),
        )
        .route_layer(axum::middleware::from_fn_with_state(
            state.clone(),
            require_token,
        ))
        .with_state(state)
}

async fn require_token(
    State(state): State<ControlState>,
    request: Request,
    next: Next,
) -> Response {
    let given = (request.headers().get(header::AUTHORIZATION))
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "));
    match given {
        None => (
            StatusCode::UNAUTHORIZED,
            [(header::WWW_AUTHENTICATE, "Bearer")],
            "the control API needs `Authorization: Bearer <control token>`\n",
        )
            .into_response(),
        Some(token)
            if <[u8; 32]>::from(Sha256::digest(token.trim().as_bytes())) != state.token_digest =>
        {
            (
                StatusCode::FORBIDDEN,
                "this is not the control token of these printers\n",
            )
                .into_response()
        }
        Some(_) => next.run(request).await,
    }
}

/// The API's description, written by hand next to the routes (a test keeps the two in step).
const OPENAPI: &str = include_str!("control_openapi.json");

async fn openapi() -> Response {
    ([(header::CONTENT_TYPE, "application/json")], OPENAPI).into_response()
}

async fn list_printers(State(state): State<ControlState>) -> axum::Json<Vec<PrinterSnapshot>> {
    axum::Json(
        (state.order.iter())
            .filter_map(|n| state.by_name.get(n))
            .map(|p| p.snapshot())
            .collect(),
    )
}

/// Every printer and job now, then each change: the dashboard's one live stream.
async fn events(State(state): State<ControlState>) -> Response {
    let printers: Vec<PrinterHandle> = (state.order.iter())
        .filter_map(|n| state.by_name.get(n))
        .cloned()
        .collect();
    super::control_events::event_stream(&printers, state.outputs.spool.clone()).into_response()
}

/// A refusal: the status and the text saying what was wrong.
pub(super) type Refusal = (StatusCode, String);

pub(super) fn printer<'a>(
    state: &'a ControlState,
    name: &str,
) -> Result<&'a PrinterHandle, Refusal> {
    state
        .by_name
        .get(name)
        .ok_or_else(|| (StatusCode::NOT_FOUND, format!("no printer named {name}\n")))
}

/// The network fault: not an engine fault, it cuts the printer off the service (it fetches no
/// job and reports nothing) while the engine goes on with the job it has.
const OFFLINE: &str = "offline";

/// The other network fault: `ms` milliseconds added to every exchange with the service.
const NETWORK_LATENCY: &str = "network-latency";

/// Every fault kind the API takes, as named in its paths.
fn fault_kinds() -> Vec<&'static str> {
    (Fault::ALL.iter().map(|f| f.control_name()))
        .chain([OFFLINE, NETWORK_LATENCY])
        .collect()
}

fn fault_named(kind: &str) -> Result<Fault, Refusal> {
    Fault::from_control_name(kind).ok_or_else(|| {
        let known = fault_kinds();
        (
            StatusCode::NOT_FOUND,
            format!(
                "no fault named {kind}; the faults are {}\n",
                known.join(", ")
            ),
        )
    })
}

/// Sends `action`; 202 with `done` when the printer took it.
pub(super) async fn send(printer: &PrinterHandle, action: Control, done: String) -> Response {
    if printer.control(action).await {
        (StatusCode::ACCEPTED, done).into_response()
    } else {
        let name = &printer.name;
        (StatusCode::GONE, format!("printer {name} is not running\n")).into_response()
    }
}

async fn clear_all(State(state): State<ControlState>, UrlPath(name): UrlPath<String>) -> Response {
    match printer(&state, &name) {
        Ok(p) => {
            p.network.plug_in();
            p.network.set_added_latency(Duration::ZERO);
            send(p, Control::Clear, format!("clearing faults of {name}\n")).await
        }
        Err(refused) => refused.into_response(),
    }
}

async fn pause(State(state): State<ControlState>, UrlPath(name): UrlPath<String>) -> Response {
    match printer(&state, &name) {
        Ok(p) => send(p, Control::Pause, format!("pausing {name}\n")).await,
        Err(refused) => refused.into_response(),
    }
}

async fn resume(State(state): State<ControlState>, UrlPath(name): UrlPath<String>) -> Response {
    match printer(&state, &name) {
        Ok(p) => send(p, Control::Resume, format!("resuming {name}\n")).await,
        Err(refused) => refused.into_response(),
    }
}

/// The printer's spool listing: every job it holds, from Graph or not, oldest first.
async fn list_jobs(State(state): State<ControlState>, UrlPath(name): UrlPath<String>) -> Response {
    if let Err(refused) = printer(&state, &name) {
        return refused.into_response();
    }
    match state.outputs.spool.printer_jobs(&name) {
        Ok(jobs) => axum::Json(jobs).into_response(),
        Err(e) => (
            StatusCode::INTERNAL_SERVER_ERROR,
            format!("reading the spool: {e}\n"),
        )
            .into_response(),
    }
}

async fn job_manifest(
    State(state): State<ControlState>,
    UrlPath((name, job)): UrlPath<(String, u32)>,
) -> Response {
    serve_output(&state, &name, job, "manifest.json", "application/json").await
}

#[derive(Deserialize)]
struct SideOptions {
    /// A thumbnail this many pixels wide instead of the side itself.
    width: Option<u32>,
}

async fn job_side(
    State(state): State<ControlState>,
    UrlPath((name, job, file)): UrlPath<(String, u32, String)>,
    Query(options): Query<SideOptions>,
) -> Response {
    // One plain file name: the path parameter arrives percent-decoded, so `..%2F` would
    // otherwise climb out of the job's folder.
    let plain = !file.starts_with('.')
        && file
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'));
    if !plain || !file.ends_with(".png") {
        return (
            StatusCode::BAD_REQUEST,
            format!("{file:?} is not the name of a printed side (NAME.png)\n"),
        )
            .into_response();
    }
    let Some(width) = options.width else {
        return serve_output(&state, &name, job, &file, "image/png").await;
    };
    if !THUMBNAIL_WIDTHS.contains(&width) {
        return (
            StatusCode::BAD_REQUEST,
            format!(
                "width={width}: a thumbnail is {} to {} pixels wide\n",
                THUMBNAIL_WIDTHS.start(),
                THUMBNAIL_WIDTHS.end()
            ),
        )
            .into_response();
    }
    let png = match read_output(&state, &name, job, &file).await {
        Ok(png) => png,
        Err(refused) => return refused,
    };
    // Decoding and scaling a side is CPU work: off the async threads.
    match tokio::task::spawn_blocking(move || thumbnail(&png, width)).await {
        Ok(Ok(small)) => ([(header::CONTENT_TYPE, "image/png")], small).into_response(),
        Ok(Err(e)) => (
            StatusCode::INTERNAL_SERVER_ERROR,
            format!("making a thumbnail of {file}: {e}\n"),
        )
            .into_response(),
        Err(e) => (
            StatusCode::INTERNAL_SERVER_ERROR,
            format!("making a thumbnail of {file}: {e}\n"),
        )
            .into_response(),
    }
}

/// The widths a thumbnail may have, in pixels.
const THUMBNAIL_WIDTHS: std::ops::RangeInclusive<u32> = 16..=1024;

/// A file of a job's output folder; the printer is one of the fleet's and the job a number,
/// so the path stays inside the output folder.
async fn serve_output(
    state: &ControlState,
    name: &str,
    job: u32,
    file: &str,
    content_type: &'static str,
) -> Response {
    match read_output(state, name, job, file).await {
        Ok(bytes) => ([(header::CONTENT_TYPE, content_type)], bytes).into_response(),
        Err(refused) => refused,
    }
}

/// The bytes of a file of a job's output folder, or the answer saying why not.
async fn read_output(
    state: &ControlState,
    name: &str,
    job: u32,
    file: &str,
) -> Result<Vec<u8>, Response> {
    printer(state, name).map_err(IntoResponse::into_response)?;
    let path = (state.outputs.out_root.join(name))
        .join(job.to_string())
        .join(file);
    tokio::fs::read(&path).await.map_err(|e| {
        if e.kind() == std::io::ErrorKind::NotFound {
            (
                StatusCode::NOT_FOUND,
                format!("job {job} of {name} has no {file}\n"),
            )
                .into_response()
        } else {
            (
                StatusCode::INTERNAL_SERVER_ERROR,
                format!("reading {file} of job {job}: {e}\n"),
            )
                .into_response()
        }
    })
}

#[derive(Deserialize)]
struct RaiseOptions {
    /// For `paper-out`: the tray whose paper runs out (else the printer's paper as a whole).
    tray: Option<String>,
    /// For `offline`: how long (`30s`, `500ms`, `2m`); else until cleared.
    #[serde(rename = "for")]
    duration: Option<String>,
    /// For `network-latency`: the milliseconds added to every exchange.
    ms: Option<u64>,
}

/// A duration as a person writes it: a whole number and `ms`, `s`, `m` or `h`.
fn parse_duration(text: &str) -> Result<Duration, Refusal> {
    let digits = text.trim_end_matches(|c: char| c.is_ascii_alphabetic());
    let seconds_per_unit = match &text[digits.len()..] {
        "ms" => 0.001,
        "s" => 1.0,
        "m" => 60.0,
        "h" => 3600.0,
        _ => f64::NAN,
    };
    match digits.parse::<u32>() {
        Ok(n) if !seconds_per_unit.is_nan() => {
            Ok(Duration::from_secs_f64(f64::from(n) * seconds_per_unit))
        }
        _ => Err((
            StatusCode::BAD_REQUEST,
            format!("for={text:?} is not a duration (a whole number and ms, s, m or h: 30s)\n"),
        )),
    }
}

/// Pulls the printer's network cable, for `for` or until cleared.
fn unplug(p: &PrinterHandle, options: &RaiseOptions) -> Response {
    let duration = match options.duration.as_deref().map(parse_duration).transpose() {
        Ok(duration) => duration,
        Err(refused) => return refused.into_response(),
    };
    if let Some(tray) = &options.tray {
        return (
            StatusCode::BAD_REQUEST,
            format!("only paper-out takes a tray, not offline (tray={tray})\n"),
        )
            .into_response();
    }
    p.network.unplug(duration);
    let name = &p.name;
    let how_long = match duration {
        Some(d) => format!("for {d:?}"),
        None => "until cleared".to_string(),
    };
    (StatusCode::ACCEPTED, format!("{name} offline {how_long}\n")).into_response()
}

async fn raise_fault(
    State(state): State<ControlState>,
    UrlPath((name, kind)): UrlPath<(String, String)>,
    Query(options): Query<RaiseOptions>,
) -> Response {
    if kind == OFFLINE {
        return match printer(&state, &name) {
            Ok(p) => unplug(p, &options),
            Err(refused) => refused.into_response(),
        };
    }
    if kind == NETWORK_LATENCY {
        return match (printer(&state, &name), options.ms) {
            (Err(refused), _) => refused.into_response(),
            (Ok(_), None) => (
                StatusCode::BAD_REQUEST,
                "network-latency needs ms=MILLISECONDS\n".to_string(),
            )
                .into_response(),
            (Ok(p), Some(ms)) => {
                p.network.set_added_latency(Duration::from_millis(ms));
                let done = format!("{name}: {ms} ms added to every exchange\n");
                (StatusCode::ACCEPTED, done).into_response()
            }
        };
    }
    if let Some(ms) = options.ms {
        return (
            StatusCode::BAD_REQUEST,
            format!("only network-latency takes ms, not {kind} (ms={ms})\n"),
        )
            .into_response();
    }
    if let Some(duration) = &options.duration {
        return (
            StatusCode::BAD_REQUEST,
            format!("only offline takes a duration, not {kind} (for={duration})\n"),
        )
            .into_response();
    }
    let (p, fault) = match (printer(&state, &name), fault_named(&kind)) {
        (Ok(p), Ok(fault)) => (p, fault),
        (Err(refused), _) | (_, Err(refused)) => return refused.into_response(),
    };
    let action = match options.tray {
        None => Control::Raise(fault),
        Some(tray) if fault != Fault::MediaEmpty => {
            return (
                StatusCode::BAD_REQUEST,
                format!("only paper-out takes a tray, not {kind} (tray={tray})\n"),
            )
                .into_response();
        }
        Some(tray) => match control_front_panel::declared_tray(p, &tray) {
            Ok(()) => Control::EmptyTray(tray),
            Err(refused) => return refused.into_response(),
        },
    };
    send(p, action, format!("raising {kind} on {name}\n")).await
}

async fn clear_fault(
    State(state): State<ControlState>,
    UrlPath((name, kind)): UrlPath<(String, String)>,
) -> Response {
    if kind == OFFLINE {
        return match printer(&state, &name) {
            Ok(p) => {
                p.network.plug_in();
                (StatusCode::ACCEPTED, format!("{name} online\n")).into_response()
            }
            Err(refused) => refused.into_response(),
        };
    }
    if kind == NETWORK_LATENCY {
        return match printer(&state, &name) {
            Ok(p) => {
                p.network.set_added_latency(Duration::ZERO);
                let done = format!("{name}: no latency added\n");
                (StatusCode::ACCEPTED, done).into_response()
            }
            Err(refused) => refused.into_response(),
        };
    }
    match (printer(&state, &name), fault_named(&kind)) {
        (Ok(p), Ok(fault)) => {
            let done = format!("clearing {kind} on {name}\n");
            send(p, Control::ClearFault(fault), done).await
        }
        (Err(refused), _) | (_, Err(refused)) => refused.into_response(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every route the router serves, with its methods, as written in this file.
    fn served_routes() -> Vec<(String, Vec<&'static str>)> {
        let source = include_str!("control_api.rs");
        let router = &source[source.find("axum::Router::new()").unwrap()..];
        let router = &router[..router.find(".route_layer(").unwrap()];
        router
            .split(".route(")
            .skip(1)
            .map(|route| {
                let path = route.split('"').nth(1).unwrap().to_string();
                let methods = ["get", "post", "delete", "put", "patch"]
                    .into_iter()
                    .filter(|m| route.contains(&format!("{m}(")))
                    .collect();
                (path, methods)
            })
            .collect()
    }

    #[test]
    fn the_openapi_description_names_every_route_and_method_served() {
        let description: serde_json::Value = serde_json::from_str(OPENAPI).unwrap();
        let paths = description["paths"].as_object().unwrap();
        let served = served_routes();
        assert!(served.len() >= 4, "{served:?}");
        for (path, methods) in &served {
            let described = paths
                .get(path)
                .unwrap_or_else(|| panic!("{path} is not described"));
            let mut described: Vec<&str> = described
                .as_object()
                .unwrap()
                .keys()
                .map(String::as_str)
                .collect();
            described.sort();
            let mut methods = methods.clone();
            methods.sort();
            assert_eq!(described, methods, "{path}");
        }
        for path in paths.keys() {
            assert!(
                served.iter().any(|(p, _)| p == path),
                "{path} is described but not served"
            );
        }
        let kinds = &description["components"]["parameters"]["kind"]["schema"]["enum"];
        assert_eq!(kinds, &serde_json::json!(fault_kinds()));
    }

    #[test]
    fn durations_read_as_written_and_others_are_refused() {
        let secs = Duration::from_secs;
        assert_eq!(parse_duration("30s"), Ok(secs(30)));
        assert_eq!(parse_duration("2m"), Ok(secs(120)));
        assert_eq!(parse_duration("1h"), Ok(secs(3600)));
        assert_eq!(parse_duration("500ms"), Ok(Duration::from_millis(500)));
        for bad in ["", "30", "s", "-1s", "1.5s", "3d", "ten s"] {
            let (status, text) = parse_duration(bad).unwrap_err();
            assert_eq!(status, StatusCode::BAD_REQUEST);
            assert!(text.contains("is not a duration"), "{text}");
        }
    }
}
