//! Changing the rules while the cloud runs, and reading what they did:
//! `GET|PUT|DELETE /control/transport-faults` (the rules as JSON with their counters; a new
//! rules file as TOML; none) and `GET /control/transport-faults/log`. Served by whichever
//! process serves Graph (`printlab up` or `printlab cloud`), for a Printer Administrator's
//! token, since the rules decide what every client of the lab sees.

use super::{FaultRules, TransportFaults};
use crate::auth::Caller;
use crate::odata::GraphError;
use axum::Router;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;

pub(crate) fn router(faults: TransportFaults) -> Router {
    Router::new()
        .route(
            "/control/transport-faults",
            get(show).put(replace).delete(clear),
        )
        .route("/control/transport-faults/log", get(log))
        .with_state(faults)
}

fn require_admin(faults: &TransportFaults, headers: &HeaderMap) -> Result<(), GraphError> {
    let header = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok());
    match faults.tokens.verify_header(header)? {
        Caller::User { admin: true, .. } => Ok(()),
        _ => Err(GraphError::forbidden(
            "Transport faults are changed and read by a Printer Administrator (a delegated token with the admin role).",
        )),
    }
}

fn shown(faults: &TransportFaults) -> Response {
    axum::Json(serde_json::json!({
        "rules": faults.rules(),
        "counters": faults.counters(),
    }))
    .into_response()
}

async fn show(State(faults): State<TransportFaults>, headers: HeaderMap) -> Response {
    match require_admin(&faults, &headers) {
        Ok(()) => shown(&faults),
        Err(refused) => refused.into_response(),
    }
}

async fn replace(
    State(faults): State<TransportFaults>,
    headers: HeaderMap,
    body: String,
) -> Response {
    if let Err(refused) = require_admin(&faults, &headers) {
        return refused.into_response();
    }
    match FaultRules::parse(&body, "request body") {
        Ok(rules) => {
            tracing::info!(rules = rules.rules.len(), "transport-fault rules replaced");
            faults.replace(rules);
            shown(&faults)
        }
        Err(mistake) => GraphError::bad_request(mistake.to_string()).into_response(),
    }
}

async fn clear(State(faults): State<TransportFaults>, headers: HeaderMap) -> Response {
    if let Err(refused) = require_admin(&faults, &headers) {
        return refused.into_response();
    }
    faults.replace(FaultRules::default());
    tracing::info!("transport-fault rules cleared");
    StatusCode::NO_CONTENT.into_response()
}

async fn log(State(faults): State<TransportFaults>, headers: HeaderMap) -> Response {
    match require_admin(&faults, &headers) {
        Ok(()) => axum::Json(serde_json::json!({ "records": faults.log() })).into_response(),
        Err(refused) => refused.into_response(),
    }
}
