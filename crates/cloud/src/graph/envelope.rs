//! The Graph layer: what every response of the Graph surface (Graph routes, upload and
//! download URLs) has, whichever handler — or none — answered.
//!
//! - `request-id` (a fresh GUID) and `client-request-id` (the client's, else a fresh GUID)
//!   headers on every response, the same values as in an error body's `innerError`;
//! - the request limits of [`super::request_limits`], answered 414/431 in OData;
//! - an OData error body on every error: errors that did not come from a [`GraphError`]
//!   (axum's 405 for a method a route lacks, 413 past the body limit, 400 for a path it
//!   cannot parse) get one with the code that goes with their status, keeping their headers
//!   (`Allow`, `Retry-After`) and their text as the message.

use super::request_limits;
use crate::odata::{GraphError, ODataErrorMarker, RequestIds};
use axum::extract::Request;
use axum::http::{HeaderMap, HeaderName, HeaderValue, Method, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

static REQUEST_ID: HeaderName = HeaderName::from_static("request-id");
static CLIENT_REQUEST_ID: HeaderName = HeaderName::from_static("client-request-id");
/// The longest `client-request-id` echoed; a longer one is replaced by a fresh GUID.
const MAX_CLIENT_REQUEST_ID: usize = 128;
/// How much of a non-OData error body is kept as the OData message.
const MAX_MESSAGE_BYTES: usize = 2048;
/// Headers of a non-OData error response that still mean something on the OData one.
const KEPT_HEADERS: [HeaderName; 3] =
    [header::ALLOW, header::RETRY_AFTER, header::WWW_AUTHENTICATE];

/// The layer itself, for `axum::middleware::from_fn`.
pub(crate) async fn envelope(request: Request, next: Next) -> Response {
    let fresh = RequestIds::fresh();
    let ids = RequestIds {
        client_request_id: client_request_id(request.headers()).unwrap_or(fresh.client_request_id),
        ..fresh
    };
    let method = request.method().clone();
    let path = request.uri().path().to_string();
    let mut response = ids
        .clone()
        .scope(async move {
            if let Err(refused) = request_limits::check(request.uri(), request.headers()) {
                return refused.into_response();
            }
            let response = next.run(request).await;
            let status = response.status();
            if (status.is_client_error() || status.is_server_error())
                && response.extensions().get::<ODataErrorMarker>().is_none()
            {
                as_odata(response, &method, &path).await
            } else {
                response
            }
        })
        .await;
    let headers = response.headers_mut();
    for (name, value) in [
        (&REQUEST_ID, ids.request_id),
        (&CLIENT_REQUEST_ID, ids.client_request_id),
    ] {
        if let Ok(value) = HeaderValue::try_from(value) {
            headers.insert(name.clone(), value);
        }
    }
    response
}

/// The client's `client-request-id`, when it sent a usable one.
fn client_request_id(headers: &HeaderMap) -> Option<String> {
    let value = headers.get(&CLIENT_REQUEST_ID)?.to_str().ok()?.trim();
    (!value.is_empty() && value.len() <= MAX_CLIENT_REQUEST_ID).then(|| value.to_string())
}

/// The same error as an OData error body, its text (or the status's reason) as the message.
async fn as_odata(response: Response, method: &Method, path: &str) -> Response {
    let (parts, body) = response.into_parts();
    let text = axum::body::to_bytes(body, MAX_MESSAGE_BYTES)
        .await
        .ok()
        .and_then(|bytes| String::from_utf8(bytes.to_vec()).ok())
        .map(|text| text.trim().to_string())
        .filter(|text| !text.is_empty());
    let status = parts.status;
    let message = if status == axum::http::StatusCode::METHOD_NOT_ALLOWED {
        let allowed = parts
            .headers
            .get(header::ALLOW)
            .and_then(|v| v.to_str().ok())
            .map(|v| format!(" (allowed: {v})"))
            .unwrap_or_default();
        format!("{method} is not allowed on {path}{allowed}.")
    } else {
        text.unwrap_or_else(|| {
            format!(
                "{} {}.",
                status.as_u16(),
                status.canonical_reason().unwrap_or("error")
            )
        })
    };
    let mut odata = GraphError::with_status(status, message).into_response();
    for name in KEPT_HEADERS {
        if let Some(value) = parts.headers.get(&name) {
            odata.headers_mut().insert(name, value.clone());
        }
    }
    odata
}
