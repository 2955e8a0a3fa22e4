//! The pre-authenticated routes: `/uploadSessions/{id}` (PUT a range, GET progress, DELETE) and
//! `/downloads/{id}` (GET with single-range support). Each carries its own `tempauthtoken`; an
//! `Authorization` header is ignored, as Microsoft's own samples send one.

use super::range::RangeRequest;
use super::{ContentRange, RangeOutcome, UploadService};
use crate::odata::{ErrorCode, GraphError};
use axum::Router;
use axum::body::Body;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use futures::TryStreamExt;
use serde::Deserialize;
use std::sync::Arc;

#[derive(Deserialize)]
struct TempAuth {
    tempauthtoken: Option<String>,
}

/// A failure as the upload URL answers it: the OData body, plus `Retry-After` on 429 so that
/// SDK retry handlers wait instead of giving up.
fn error_response(err: GraphError) -> Response {
    let throttled = err.status == StatusCode::TOO_MANY_REQUESTS;
    let mut response = err.into_response();
    if throttled {
        response
            .headers_mut()
            .insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
    }
    response
}

fn json(status: StatusCode, value: &serde_json::Value) -> Response {
    (status, axum::Json(value)).into_response()
}

fn header_str(headers: &HeaderMap, name: header::HeaderName) -> Result<Option<&str>, GraphError> {
    headers
        .get(&name)
        .map(|v| {
            v.to_str().map_err(|_| {
                GraphError::bad_request(format!("The {name} header is not ASCII text."))
            })
        })
        .transpose()
}

impl UploadService {
    /// The upload and download routes, to be merged into the cloud's router.
    pub fn router(self: &Arc<Self>) -> Router {
        Router::new()
            .route(
                "/uploadSessions/{id}",
                get(get_progress).put(put_range).delete(delete_session),
            )
            .route("/downloads/{id}", get(download))
            .with_state(self.clone())
    }
}

async fn put_range(
    State(service): State<Arc<UploadService>>,
    Path(id): Path<String>,
    Query(auth): Query<TempAuth>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let outcome = async {
        service.authorize_session(&id, auth.tempauthtoken.as_deref())?;
        let range = header_str(&headers, header::CONTENT_RANGE)?
            .ok_or_else(|| GraphError::bad_request("The Content-Range header is required."))?;
        let range = ContentRange::parse(range)?;
        let length = header_str(&headers, header::CONTENT_LENGTH)?.ok_or_else(|| {
            GraphError::new(
                StatusCode::LENGTH_REQUIRED,
                ErrorCode::InvalidRequest,
                "The Content-Length header is required.",
            )
        })?;
        let length: u64 = length.trim().parse().map_err(|_| {
            GraphError::bad_request(format!("Content-Length {length:?} is not a number."))
        })?;
        if length != range.length() {
            return Err(GraphError::bad_request(format!(
                "Content-Length {length} does not match Content-Range {}-{} ({} bytes).",
                range.first,
                range.last,
                range.length()
            )));
        }
        let written = service
            .write_range(&id, range, body.into_data_stream())
            .await?;
        service.metrics.upload_bytes.inc_by(range.length());
        Ok(written)
    }
    .await;
    match outcome {
        Ok(RangeOutcome::Accepted(progress)) => json(StatusCode::ACCEPTED, &progress.to_json()),
        Ok(RangeOutcome::Completed(document)) => json(StatusCode::CREATED, &document),
        Err(err) => error_response(err),
    }
}

async fn get_progress(
    State(service): State<Arc<UploadService>>,
    Path(id): Path<String>,
    Query(auth): Query<TempAuth>,
) -> Response {
    if let Err(err) = service.authorize_session(&id, auth.tempauthtoken.as_deref()) {
        return error_response(err);
    }
    // A finished upload answers 200 with the document and no nextExpectedRanges, which is how
    // the Graph SDK upload tasks recognise completion on a GET.
    match service.progress_or_complete(&id).await {
        Ok(RangeOutcome::Accepted(progress)) => json(StatusCode::OK, &progress.to_json()),
        Ok(RangeOutcome::Completed(document)) => json(StatusCode::OK, &document),
        Err(err) => error_response(err),
    }
}

async fn delete_session(
    State(service): State<Arc<UploadService>>,
    Path(id): Path<String>,
    Query(auth): Query<TempAuth>,
) -> Response {
    let outcome = service
        .authorize_session(&id, auth.tempauthtoken.as_deref())
        .and_then(|()| service.discard(&id));
    match outcome {
        Ok(()) => StatusCode::NO_CONTENT.into_response(),
        Err(err) => error_response(err),
    }
}

async fn download(
    State(service): State<Arc<UploadService>>,
    Path(id): Path<String>,
    Query(auth): Query<TempAuth>,
    headers: HeaderMap,
) -> Response {
    let document = match service.authorize_download(&id, auth.tempauthtoken.as_deref()) {
        Ok(document) => document,
        Err(err) => return error_response(err),
    };
    let sha256 = match service.digest_of(&document) {
        Ok(sha256) => sha256,
        Err(err) => return error_response(err),
    };
    let size = document.size;
    let requested = headers.get(header::RANGE).and_then(|v| v.to_str().ok());
    let (status, span) = match RangeRequest::resolve(requested, size) {
        RangeRequest::Whole => (
            StatusCode::OK,
            super::Span {
                start: 0,
                end: size,
            },
        ),
        RangeRequest::Part(span) => (StatusCode::PARTIAL_CONTENT, span),
        RangeRequest::Unsatisfiable => {
            let mut response = error_response(GraphError::new(
                StatusCode::RANGE_NOT_SATISFIABLE,
                ErrorCode::InvalidRange,
                format!(
                    "Range {:?} lies outside the {size}-byte document.",
                    requested.unwrap_or("")
                ),
            ));
            response.headers_mut().insert(
                header::CONTENT_RANGE,
                HeaderValue::from_str(&format!("bytes */{size}")).expect("ASCII"),
            );
            return response;
        }
    };
    let stream = super::download::read_span(
        service.metrics.download_bytes.clone(),
        service.store.clone(),
        document.blob,
        span,
    )
    .map_err(std::io::Error::other);
    let mut response = Response::new(Body::from_stream(stream));
    *response.status_mut() = status;
    let h = response.headers_mut();
    let content_type = HeaderValue::from_str(&document.content_type)
        .unwrap_or(HeaderValue::from_static("application/octet-stream"));
    h.insert(header::CONTENT_TYPE, content_type);
    h.insert(
        header::CONTENT_LENGTH,
        HeaderValue::from(span.end - span.start),
    );
    h.insert(header::ACCEPT_RANGES, HeaderValue::from_static("bytes"));
    // The blob never changes once complete, and a new upload of the document gets a new one.
    h.insert(
        header::ETAG,
        HeaderValue::from_str(&format!("\"{}\"", document.blob)).expect("a UUID is ASCII"),
    );
    h.insert(
        "repr-digest",
        HeaderValue::from_str(&repr_digest(&sha256)).expect("base64 is ASCII"),
    );
    if status == StatusCode::PARTIAL_CONTENT {
        h.insert(
            header::CONTENT_RANGE,
            HeaderValue::from_str(&format!("bytes {}-{}/{size}", span.start, span.end - 1))
                .expect("ASCII"),
        );
    }
    response
}

/// An RFC 9530 `Repr-Digest` value for a hex SHA-256: `sha-256=:<base64 of the bytes>:`.
fn repr_digest(sha256_hex: &str) -> String {
    use base64::Engine;
    let bytes = hex::decode(sha256_hex).unwrap_or_default();
    format!(
        "sha-256=:{}:",
        base64::engine::general_purpose::STANDARD.encode(bytes)
    )
}
