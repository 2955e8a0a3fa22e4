//! `GET /metrics`: a process's Prometheus registry in the text exposition format (0.0.4), for
//! every server printlab runs (the cloud, the lab, a fleet's control API), unauthenticated like
//! `/healthz`, as Prometheus scrapes: it carries counts and timings, no names or documents.

use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use prometheus::{Encoder, Registry, TextEncoder};

/// `GET /metrics` for `registry`, to merge into a process's router.
pub fn metrics_router(registry: Registry) -> axum::Router {
    axum::Router::new().route(
        "/metrics",
        get(move || {
            let families = registry.gather();
            async move { exposition(&families) }
        }),
    )
}

fn exposition(families: &[prometheus::proto::MetricFamily]) -> Response {
    let encoder = TextEncoder::new();
    let mut body = Vec::new();
    match encoder.encode(families, &mut body) {
        Ok(()) => ([(header::CONTENT_TYPE, encoder.format_type())], body).into_response(),
        Err(e) => (
            StatusCode::INTERNAL_SERVER_ERROR,
            format!("encoding the metrics: {e}"),
        )
            .into_response(),
    }
}
