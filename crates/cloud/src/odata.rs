//! OData error responses, the one shape every failing Graph call answers with.
//!
//! Graph SDKs parse `{"error":{"code","message","innerError":{"date","request-id",
//! "client-request-id"}}}` to build their exceptions, so every error the cloud returns — Graph
//! routes, upload and download URLs — goes through [`GraphError`], and its code is one of
//! [`ErrorCode`], the one list of codes the cloud uses.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use printlab_graph::{ODataError, ODataErrorBody, ODataInnerError};

/// The OData error codes the cloud answers with, spelled as Graph spells its top-level codes:
/// lower camelCase (`itemNotFound`, `accessDenied`, `invalidRange`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorCode {
    /// 400: the request is malformed (a field, header or query option is wrong).
    BadRequest,
    /// 400, 411, 413, 414, 415, 431: the request cannot be taken as sent (wrong content type,
    /// missing length, too large).
    InvalidRequest,
    /// 401: no token, or one the cloud did not sign or that expired.
    Unauthenticated,
    /// 403: a valid caller without the scope, role or ownership required.
    AccessDenied,
    /// 404: no such resource (or one the caller may not see).
    ItemNotFound,
    /// 405: the resource does not take this method.
    NotAllowed,
    /// 408: the client stopped sending a request body it had begun (a stalled upload range).
    Timeout,
    /// 409: the resource is not in a state that allows the call.
    Conflict,
    /// 412: an `If-Match` precondition failed.
    PreconditionFailed,
    /// 416: a byte range overlaps or lies outside the document.
    InvalidRange,
    /// 429: too many requests at once (Graph's throttling code).
    ActivityLimitReached,
    /// 500: the emulator itself failed.
    GeneralException,
    /// 501: Graph names the feature, the emulator does not have it.
    NotSupported,
    /// 503: the service cannot answer now.
    ServiceNotAvailable,
}

impl ErrorCode {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::BadRequest => "badRequest",
            Self::InvalidRequest => "invalidRequest",
            Self::Unauthenticated => "unauthenticated",
            Self::AccessDenied => "accessDenied",
            Self::ItemNotFound => "itemNotFound",
            Self::NotAllowed => "notAllowed",
            Self::Timeout => "timeout",
            Self::Conflict => "conflict",
            Self::PreconditionFailed => "preconditionFailed",
            Self::InvalidRange => "invalidRange",
            Self::ActivityLimitReached => "activityLimitReached",
            Self::GeneralException => "generalException",
            Self::NotSupported => "notSupported",
            Self::ServiceNotAvailable => "serviceNotAvailable",
        }
    }

    /// The code for an error status that arrived without one (a rejection by axum or hyper).
    pub fn for_status(status: StatusCode) -> Self {
        match status {
            StatusCode::BAD_REQUEST => Self::BadRequest,
            StatusCode::UNAUTHORIZED => Self::Unauthenticated,
            StatusCode::FORBIDDEN => Self::AccessDenied,
            StatusCode::NOT_FOUND | StatusCode::GONE => Self::ItemNotFound,
            StatusCode::METHOD_NOT_ALLOWED => Self::NotAllowed,
            StatusCode::CONFLICT => Self::Conflict,
            StatusCode::PRECONDITION_FAILED => Self::PreconditionFailed,
            StatusCode::RANGE_NOT_SATISFIABLE => Self::InvalidRange,
            StatusCode::TOO_MANY_REQUESTS => Self::ActivityLimitReached,
            StatusCode::NOT_IMPLEMENTED => Self::NotSupported,
            StatusCode::SERVICE_UNAVAILABLE => Self::ServiceNotAvailable,
            s if s.is_client_error() => Self::InvalidRequest,
            _ => Self::GeneralException,
        }
    }
}

impl std::fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The ids of the request being answered: Graph's `request-id` (a GUID the service gives each
/// request) and the `client-request-id` the client sent (a fresh GUID when it sent none). The
/// Graph layer (`graph/envelope.rs`) sets them for the duration of a request, so that every
/// error body and response header of that request carries the same values.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequestIds {
    pub request_id: String,
    pub client_request_id: String,
}

tokio::task_local! {
    static REQUEST_IDS: RequestIds;
}

impl RequestIds {
    /// Fresh ids, for a request that named none.
    pub fn fresh() -> Self {
        Self {
            request_id: uuid::Uuid::new_v4().to_string(),
            client_request_id: uuid::Uuid::new_v4().to_string(),
        }
    }

    /// The ids of the request this task is answering, or fresh ones outside the Graph layer.
    pub fn current() -> Self {
        REQUEST_IDS
            .try_with(Clone::clone)
            .unwrap_or_else(|_| Self::fresh())
    }

    /// Runs `answer` with these ids as the current request's.
    pub async fn scope<F: std::future::Future>(self, answer: F) -> F::Output {
        REQUEST_IDS.scope(self, answer).await
    }
}

/// Marks a response whose body is already an OData error, so the Graph layer leaves it alone.
#[derive(Debug, Clone, Copy)]
pub struct ODataErrorMarker;

/// A failed Graph call: the HTTP status, the OData error code and a message that says what was
/// wrong and where.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{status} {code}: {message}")]
pub struct GraphError {
    pub status: StatusCode,
    pub code: ErrorCode,
    pub message: String,
}

impl GraphError {
    /// An error with any status and code.
    pub fn new(status: StatusCode, code: ErrorCode, message: impl Into<String>) -> Self {
        Self {
            status,
            code,
            message: message.into(),
        }
    }

    /// An error with the code that goes with `status`.
    pub fn with_status(status: StatusCode, message: impl Into<String>) -> Self {
        Self::new(status, ErrorCode::for_status(status), message)
    }

    /// 400 `badRequest`: the request is malformed (the message names the field or header).
    pub fn bad_request(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, ErrorCode::BadRequest, message)
    }

    /// 401 `unauthenticated`: no token, or one the cloud did not sign or that expired.
    pub fn unauthenticated(message: impl Into<String>) -> Self {
        Self::new(
            StatusCode::UNAUTHORIZED,
            ErrorCode::Unauthenticated,
            message,
        )
    }

    /// 403 `accessDenied`: a valid caller without the scope, role or ownership required.
    pub fn forbidden(message: impl Into<String>) -> Self {
        Self::new(StatusCode::FORBIDDEN, ErrorCode::AccessDenied, message)
    }

    /// 404 `itemNotFound`.
    pub fn not_found(message: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_FOUND, ErrorCode::ItemNotFound, message)
    }

    /// 409 `conflict`: the resource is not in a state that allows the call.
    pub fn conflict(message: impl Into<String>) -> Self {
        Self::new(StatusCode::CONFLICT, ErrorCode::Conflict, message)
    }

    /// 500 `generalException`: the emulator itself failed (storage); the message says how.
    pub fn internal(message: impl Into<String>) -> Self {
        Self::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            ErrorCode::GeneralException,
            message,
        )
    }

    /// The JSON body Graph sends, stamped with the current request's ids and the current time.
    pub fn body(&self) -> ODataErrorBody {
        let ids = RequestIds::current();
        ODataErrorBody {
            error: ODataError {
                code: self.code.as_str().to_string(),
                message: self.message.clone(),
                inner_error: ODataInnerError {
                    date: chrono::Utc::now(),
                    request_id: ids.request_id,
                    client_request_id: Some(ids.client_request_id),
                },
            },
        }
    }
}

impl IntoResponse for GraphError {
    fn into_response(self) -> Response {
        let body = serde_json::to_vec(&self.body()).expect("an OData error body always serialises");
        let mut response = (self.status, body).into_response();
        response.headers_mut().insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        );
        response.extensions_mut().insert(ODataErrorMarker);
        response
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn error_body_has_the_graph_shape() {
        let v = serde_json::to_value(GraphError::not_found("No job 7 on this printer.").body())
            .unwrap();
        assert_eq!(v["error"]["code"], "itemNotFound");
        assert_eq!(v["error"]["message"], "No job 7 on this printer.");
        let inner = &v["error"]["innerError"];
        assert_eq!(inner["request-id"].as_str().unwrap().len(), 36);
        assert_eq!(inner["client-request-id"].as_str().unwrap().len(), 36);
        assert!(inner["date"].is_string());
    }

    #[tokio::test]
    async fn error_body_carries_the_current_request_ids() {
        let ids = RequestIds {
            request_id: "r".into(),
            client_request_id: "c".into(),
        };
        let body = ids
            .scope(async { GraphError::bad_request("x").body() })
            .await;
        assert_eq!(body.error.inner_error.request_id, "r");
        assert_eq!(
            body.error.inner_error.client_request_id.as_deref(),
            Some("c")
        );
    }

    #[test]
    fn every_code_is_lower_camel_case() {
        for status in 400..600 {
            let Ok(status) = StatusCode::from_u16(status) else {
                continue;
            };
            let code = ErrorCode::for_status(status).as_str();
            assert!(code.starts_with(|c: char| c.is_ascii_lowercase()), "{code}");
            assert!(code.chars().all(|c| c.is_ascii_alphanumeric()), "{code}");
        }
    }
}
