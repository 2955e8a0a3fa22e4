//! Which requests authenticate their connection, for the budget of unauthenticated connections
//! ([`crate::serve`]): a Graph token or a device token signed by this cloud, proxy credentials
//! the INFRA service provisioned, or an upload or download URL's own `tempauthtoken`. A
//! connection is marked before its request is handled, so a long poll is safe from the budget
//! for all the time it is held.

use crate::CloudState;
use axum::extract::{Request, State};
use axum::http::header;
use axum::middleware::Next;
use axum::response::Response;
use printlab_serve::ConnectionTrust;
use std::sync::Arc;

pub(crate) async fn mark_authenticated(
    State(state): State<Arc<CloudState>>,
    request: Request,
    next: Next,
) -> Response {
    if let Some(trust) = request.extensions().get::<ConnectionTrust>()
        && !trust.is_authenticated()
        && carries_credentials(&state, &request)
    {
        trust.authenticated();
    }
    next.run(request).await
}

fn carries_credentials(state: &CloudState, request: &Request) -> bool {
    let headers = request.headers();
    if let Some(authorization) = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
    {
        if let Some(token) = authorization.strip_prefix("Bearer ") {
            return state.tokens.verify_header(Some(authorization)).is_ok()
                || state.tokens.verify_device(token).is_some();
        }
        if state.infra.accepts_proxy_credentials(headers) {
            return true;
        }
    }
    let Some(token) = temp_auth_token(request.uri().query()) else {
        return false;
    };
    let mut segments = request.uri().path().trim_start_matches('/').split('/');
    match (segments.next(), segments.next(), segments.next()) {
        (Some("uploadSessions"), Some(id), None) => {
            state.uploads.authorize_session(id, Some(&token)).is_ok()
        }
        (Some("downloads"), Some(id), None) => {
            state.uploads.authorize_download(id, Some(&token)).is_ok()
        }
        _ => false,
    }
}

fn temp_auth_token(query: Option<&str>) -> Option<String> {
    serde_urlencoded::from_str::<Vec<(String, String)>>(query?)
        .ok()?
        .into_iter()
        .find_map(|(name, value)| (name == "tempauthtoken").then_some(value))
}
