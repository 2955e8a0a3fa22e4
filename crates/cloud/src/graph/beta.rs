//! `/beta`: the v1.0 print resources under their beta aliases, plus the 2020 beta upload design
//! (`.../documents/{id}/uploadSession`, from Graph's beta printDocument documentation of 2020),
//! which clients written then still call.
//!
//! The aliases run the v1.0 handlers unchanged; a layer turns the version-specific URLs in their
//! answers (`@odata.context`, `@odata.nextLink`, `Operation-Location`) into `/beta` ones, so no
//! handler needs to know which version it serves. The upload design is a thin HTTP skin over
//! the shared engine (`UploadService::{create_beta_session, beta_session, write_beta_range,
//! discard_beta}`): a beta upload completes the same printDocument a v1.0 client then reads.

use super::*;
use crate::upload::{ContentRange, RangeOutcome};
use axum::body::Body;
use axum::extract::Request;
use axum::middleware::{self, Next};
use axum::routing::put;

/// The beta router: `print` (the v1.0 routes) plus the upload-session routes, with every
/// answer's URLs pointing at `/beta`.
pub(super) fn routes(print: Router<AppState>, state: AppState) -> Router<AppState> {
    let print = upload_session_routes::<false>(print, "printers");
    upload_session_routes::<true>(print, "shares")
        .layer(middleware::from_fn_with_state(state, beta_urls))
}

fn upload_session_routes<const SHARE: bool>(
    router: Router<AppState>,
    collection: &str,
) -> Router<AppState> {
    let base = format!(
        "/print/{collection}/{{parent_id}}/jobs/{{job_id}}/documents/{{document_id}}/uploadSession"
    );
    router
        .route(
            &base,
            put(create_session::<SHARE>)
                .get(get_session::<SHARE>)
                .delete(delete_session::<SHARE>),
        )
        .route(&format!("{base}/$value"), post(write_segment::<SHARE>))
}

/// JSON answers are small (entities, collections, errors), so they are rewritten whole.
const MAX_REWRITTEN_BODY: usize = 16 << 20;

/// Points the version-specific URLs of a v1.0 handler's answer at `/beta`.
async fn beta_urls(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let v1 = format!("{}/v1.0/", state.public_url);
    let beta = format!("{}/beta/", state.public_url);
    let response = next.run(request).await;
    let (mut parts, body) = response.into_parts();
    if let Some(location) = parts
        .headers
        .get("Operation-Location")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix(&v1))
        .and_then(|rest| HeaderValue::from_str(&format!("{beta}{rest}")).ok())
    {
        parts.headers.insert("Operation-Location", location);
    }
    let is_json = parts
        .headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/json"));
    if !is_json {
        return Response::from_parts(parts, body);
    }
    let bytes = match axum::body::to_bytes(body, MAX_REWRITTEN_BODY).await {
        Ok(bytes) => bytes,
        Err(e) => {
            return GraphError::internal(format!("cannot read the answer: {e}")).into_response();
        }
    };
    let Ok(Value::Object(mut map)) = serde_json::from_slice::<Value>(&bytes) else {
        return Response::from_parts(parts, Body::from(bytes));
    };
    for key in ["@odata.context", "@odata.nextLink"] {
        if let Some(Value::String(url)) = map.get_mut(key)
            && let Some(rest) = url.strip_prefix(&v1)
        {
            *url = format!("{beta}{rest}");
        }
    }
    let rewritten = serde_json::to_vec(&map).expect("JSON values serialise");
    parts.headers.remove(header::CONTENT_LENGTH);
    Response::from_parts(parts, Body::from(rewritten))
}

/// The job behind a beta upload-session URL, checked to hold `document_id`.
fn job_with_document(
    state: &CloudState,
    who: &Caller,
    share: bool,
    (parent_id, job_id, document_id): (&str, &str, &str),
) -> Result<JobRecord, GraphError> {
    let (printer, _) = state.parent_printer(share, parent_id)?;
    let rec = state.visible_job(who, &printer.printer.id, job_id)?;
    if rec.document.id != document_id {
        return Err(GraphError::not_found(format!(
            "No document '{document_id}' in job {job_id}."
        )));
    }
    Ok(rec)
}

fn session_response(
    state: &CloudState,
    status: StatusCode,
    session: &crate::upload::BetaUploadSession,
) -> Response {
    let body = with_context(
        state.context("microsoft.graph.printUploadSession"),
        serde_json::to_value(session).expect("upload sessions serialise"),
    );
    let mut response = json_response(status, body);
    if let Ok(etag) = HeaderValue::from_str(&session.etag()) {
        response.headers_mut().insert(header::ETAG, etag);
    }
    response
}

/// `PUT .../uploadSession` with `{size, contentType, documentName}`: the same checks as v1.0
/// `createUploadSession`, answered with the printUploadSession and its `ETag`.
async fn create_session<const SHARE: bool>(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path((parent_id, job_id, document_id)): Path<(String, String, String)>,
    body: Bytes,
) -> GraphResult {
    let who = caller(&state, &headers, &JOB_CREATE)?;
    let props: PrintDocumentUploadProperties = query::json_body(&headers, &body)?;
    let target = upload_target(
        &state,
        &who,
        SHARE,
        &parent_id,
        &job_id,
        &document_id,
        &props,
    )
    .await?;
    let session = state
        .uploads
        .create_beta_session(target, &props, &upload_creator(&who))
        .await?;
    Ok(session_response(&state, StatusCode::OK, &session))
}

async fn get_session<const SHARE: bool>(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path((parent_id, job_id, document_id)): Path<(String, String, String)>,
) -> GraphResult {
    let who = caller(&state, &headers, &JOB_READ)?;
    job_with_document(&state, &who, SHARE, (&parent_id, &job_id, &document_id))?;
    let session = state.uploads.beta_session(&document_id)?;
    Ok(session_response(&state, StatusCode::OK, &session))
}

/// `POST .../uploadSession/$value`: one segment, named by `Content-Range`, sent as
/// `application/octet-stream` with `If-Match: <session id>`. 202 with the session while bytes are
/// missing, 201 with the printDocument once all are in.
async fn write_segment<const SHARE: bool>(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path((parent_id, job_id, document_id)): Path<(String, String, String)>,
    body: Body,
) -> GraphResult {
    let who = caller(&state, &headers, &JOB_CREATE)?;
    job_with_document(&state, &who, SHARE, (&parent_id, &job_id, &document_id))?;
    let text = |name: header::HeaderName| {
        headers
            .get(&name)
            .map(|v| {
                v.to_str().map_err(|_| {
                    GraphError::bad_request(format!("The {name} header is not ASCII text."))
                })
            })
            .transpose()
    };
    let content_type = text(header::CONTENT_TYPE)?.unwrap_or("");
    if !content_type
        .trim()
        .to_ascii_lowercase()
        .starts_with("application/octet-stream")
    {
        return Err(GraphError::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            ErrorCode::InvalidRequest,
            format!(
                "Content-Type '{content_type}' is not supported; send application/octet-stream."
            ),
        ));
    }
    let range = text(header::CONTENT_RANGE)?
        .ok_or_else(|| GraphError::bad_request("The Content-Range header is required."))?;
    let range = ContentRange::parse(range)?;
    let if_match = text(header::IF_MATCH)?;
    match state
        .uploads
        .write_beta_range(&document_id, if_match, range, body.into_data_stream())
        .await?
    {
        RangeOutcome::Accepted(_) => {
            let session = state.uploads.beta_session(&document_id)?;
            Ok(session_response(&state, StatusCode::ACCEPTED, &session))
        }
        RangeOutcome::Completed(document) => {
            let context = state.context(&format!(
                "print/{}('{parent_id}')/jobs('{job_id}')/documents/$entity",
                collection(SHARE)
            ));
            Ok(json_response(
                StatusCode::CREATED,
                with_context(context, document),
            ))
        }
    }
}

/// `DELETE .../uploadSession`: only the session's creator (same user through the same app, or
/// the same app) may discard it.
async fn delete_session<const SHARE: bool>(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path((parent_id, job_id, document_id)): Path<(String, String, String)>,
) -> GraphResult {
    let who = caller(&state, &headers, &JOB_CREATE)?;
    job_with_document(&state, &who, SHARE, (&parent_id, &job_id, &document_id))?;
    state
        .uploads
        .discard_beta(&document_id, &upload_creator(&who))?;
    Ok(StatusCode::NO_CONTENT.into_response())
}
