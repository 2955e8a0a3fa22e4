//! OData error responses, the one shape every failing Graph call answers with.
//!
//! Graph SDKs parse `{"error":{"code","message","innerError":{"request-id","date"}}}` to build
//! their exceptions, so every error the cloud returns — Graph routes, upload and download URLs —
//! goes through [`GraphError`].

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use printlab_graph::{ODataError, ODataErrorBody, ODataInnerError};

/// A failed Graph call: the HTTP status, the OData error code and a message that says what was
/// wrong and where.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{status} {code}: {message}")]
pub struct GraphError {
    pub status: StatusCode,
    pub code: String,
    pub message: String,
}

impl GraphError {
    /// An error with any status and code.
    pub fn new(status: StatusCode, code: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            status,
            code: code.into(),
            message: message.into(),
        }
    }

    /// 400 `badRequest`: the request is malformed (the message names the field or header).
    pub fn bad_request(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "badRequest", message)
    }

    /// 401 `InvalidAuthenticationToken`: no token, or one the cloud did not sign or that expired.
    pub fn unauthenticated(message: impl Into<String>) -> Self {
        Self::new(
            StatusCode::UNAUTHORIZED,
            "InvalidAuthenticationToken",
            message,
        )
    }

    /// 403 `accessDenied`: a valid caller without the scope, role or ownership required.
    pub fn forbidden(message: impl Into<String>) -> Self {
        Self::new(StatusCode::FORBIDDEN, "accessDenied", message)
    }

    /// 404 `itemNotFound`.
    pub fn not_found(message: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_FOUND, "itemNotFound", message)
    }

    /// 409 `conflict`: the resource is not in a state that allows the call.
    pub fn conflict(message: impl Into<String>) -> Self {
        Self::new(StatusCode::CONFLICT, "conflict", message)
    }

    /// 500 `generalException`: the emulator itself failed (storage); the message says how.
    pub fn internal(message: impl Into<String>) -> Self {
        Self::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "generalException",
            message,
        )
    }

    /// The JSON body Graph sends, stamped with a fresh request id and the current time.
    pub fn body(&self) -> ODataErrorBody {
        ODataErrorBody {
            error: ODataError {
                code: self.code.clone(),
                message: self.message.clone(),
                inner_error: ODataInnerError {
                    request_id: uuid::Uuid::new_v4().to_string(),
                    date: chrono::Utc::now(),
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
        assert!(
            v["error"]["innerError"]["request-id"]
                .as_str()
                .unwrap()
                .len()
                == 36
        );
        assert!(v["error"]["innerError"]["date"].is_string());
    }
}
