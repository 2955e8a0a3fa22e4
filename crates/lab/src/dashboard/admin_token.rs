//! The lab's admin token on the dashboard's own routes (the matrix reports, the merged live
//! stream): the control API's rule, 401 without a bearer token and 403 with another one.

use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};

/// The token the dashboard's data routes ask for.
#[derive(Clone)]
pub(crate) struct AdminToken(String);

impl AdminToken {
    pub(crate) fn new(token: String) -> Self {
        Self(token)
    }

    /// The answer to send instead, unless `headers` carry `Authorization: Bearer <the token>`.
    pub(crate) fn refusal(&self, headers: &HeaderMap) -> Option<Response> {
        let Some(given) = (headers.get(header::AUTHORIZATION))
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))
        else {
            return Some(
                (
                    StatusCode::UNAUTHORIZED,
                    [(header::WWW_AUTHENTICATE, "Bearer")],
                    "the lab's admin token is required\n",
                )
                    .into_response(),
            );
        };
        if !same(given.trim(), &self.0) {
            return Some(
                (StatusCode::FORBIDDEN, "this is not the lab's admin token\n").into_response(),
            );
        }
        None
    }
}

/// Compared in time that does not depend on where the two differ.
fn same(given: &str, token: &str) -> bool {
    given.len() == token.len()
        && (given.bytes().zip(token.bytes())).fold(0u8, |differ, (a, b)| differ | (a ^ b)) == 0
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    fn status(token: Option<&str>) -> Option<StatusCode> {
        let mut headers = HeaderMap::new();
        if let Some(token) = token {
            headers.insert(
                header::AUTHORIZATION,
                HeaderValue::from_str(&format!("Bearer {token}")).unwrap(),
            );
        }
        AdminToken::new("secret".into())
            .refusal(&headers)
            .map(|r| r.status())
    }

    #[test]
    fn none_is_401_another_403_the_token_passes() {
        assert_eq!(status(None), Some(StatusCode::UNAUTHORIZED));
        assert_eq!(status(Some("secreT")), Some(StatusCode::FORBIDDEN));
        assert_eq!(status(Some("secret-")), Some(StatusCode::FORBIDDEN));
        assert_eq!(status(Some("secret")), None);
    }
}
