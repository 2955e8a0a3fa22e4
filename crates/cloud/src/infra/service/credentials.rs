//! Who is calling, from the HTTP `Authorization` header alone, before any of the IPP body is
//! read (RFC 8010 §4: authentication is HTTP's job, so a request without valid credentials gets
//! 401 and a challenge, never an IPP answer).
//!
//! The credential kind tells a device from a client: a device token or a proxy's provisioned
//! Basic credential is the printer's output device (the INFRA operations); a user's bearer token
//! or the IPP user credential the cloud issued is a client printing over IPP (the client
//! operations).

use super::super::state::{AuthFailure, InfraState};
use crate::auth::{Caller as GraphCaller, object_id, user_principal_name};
use axum::http::{HeaderMap, HeaderValue, StatusCode as HttpStatus, header};
use axum::response::{IntoResponse, Response};
use base64::Engine;

/// The challenge for a bearer token (device or user).
pub(super) const BEARER: &str = "Bearer";
/// The challenge for Basic credentials (a proxy's, or a user's IPP credential).
pub(super) const BASIC: &str = "Basic realm=\"printlab\"";

/// The user a client request prints as: the jobs it creates are this Graph user's.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(in crate::infra) struct ClientUser {
    pub id: String,
    pub upn: String,
}

impl ClientUser {
    /// The name `requesting-user-name` and `job-originating-user-name` compare with.
    pub fn short_name(&self) -> &str {
        self.upn.split('@').next().unwrap_or(&self.upn)
    }
}

/// The two kinds of caller a printer's routes serve.
#[derive(Debug, Clone)]
pub(super) enum Caller {
    /// The printer's output device: device token or provisioned proxy credential.
    Device,
    /// A user printing over IPP.
    Client(ClientUser),
}

pub(super) fn bearer(headers: &HeaderMap) -> Option<&str> {
    headers
        .get(header::AUTHORIZATION)?
        .to_str()
        .ok()?
        .strip_prefix("Bearer ")
        .map(str::trim)
}

pub(super) fn basic(headers: &HeaderMap) -> Option<(String, String)> {
    let encoded = headers
        .get(header::AUTHORIZATION)?
        .to_str()
        .ok()?
        .strip_prefix("Basic ")?;
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(encoded.trim())
        .ok()?;
    let text = String::from_utf8(decoded).ok()?;
    let (user, password) = text.split_once(':')?;
    Some((user.to_owned(), password.to_owned()))
}

/// Whether the request carries any credential at all (a failure is then "invalid", not
/// "missing").
pub(super) fn has_authorization(headers: &HeaderMap) -> bool {
    headers.contains_key(header::AUTHORIZATION)
}

/// The one challenge for a route that takes both kinds: `Bearer` to a request that sent a bearer
/// token, else `Basic` (one challenge only: CUPS cannot read a header with two).
pub(super) fn challenge_for(headers: &HeaderMap) -> &'static str {
    if bearer(headers).is_some() {
        BEARER
    } else {
        BASIC
    }
}

/// The 401 for a request without valid credentials, with the challenge the client should
/// answer (IPP statuses are for authenticated requests). It is answered from the headers: the
/// body is neither decoded nor waited for. A client that sent `Expect: 100-continue` (CUPS does)
/// gets the 401 instead of `100 Continue` and never sends the body (RFC 9110 §10.1.1); one that
/// sent it anyway has it drained by the connection loop.
pub(super) fn unauthorized(failure: AuthFailure, challenge: &'static str) -> Response {
    let text = match failure {
        AuthFailure::Missing => "credentials required",
        AuthFailure::Invalid => "credentials not valid (unknown, expired or for another printer)",
    };
    let mut response = (HttpStatus::UNAUTHORIZED, text).into_response();
    response.headers_mut().insert(
        header::WWW_AUTHENTICATE,
        HeaderValue::from_static(challenge),
    );
    response
}

impl InfraState {
    /// The user behind a Graph user token that may create print jobs.
    pub(super) fn client_for_token(&self, token: &str) -> Result<ClientUser, AuthFailure> {
        match self.tokens.verify_header(Some(&format!("Bearer {token}"))) {
            Ok(caller @ GraphCaller::User { .. })
                if caller.require(&crate::graph::JOB_CREATE).is_ok() =>
            {
                let GraphCaller::User { id, upn, .. } = caller else {
                    unreachable!("matched a user above");
                };
                Ok(ClientUser { id, upn })
            }
            _ => Err(AuthFailure::Invalid),
        }
    }

    /// The user whose IPP credential (issued by [`InfraState::issue_user_credential`]) this is.
    pub(super) fn client_for_basic(
        &self,
        user: &str,
        password: &str,
    ) -> Result<ClientUser, AuthFailure> {
        match self.store.ipp_user(user) {
            Ok(Some(record))
                if super::super::state::password_matches(&record.password_sha256, password) =>
            {
                Ok(ClientUser {
                    id: record.user_id,
                    upn: record.upn,
                })
            }
            _ => Err(AuthFailure::Invalid),
        }
    }

    /// A client credential of either kind from `headers`.
    pub(super) fn client_for(&self, headers: &HeaderMap) -> Result<ClientUser, AuthFailure> {
        if let Some(token) = bearer(headers) {
            return self.client_for_token(token);
        }
        if let Some((user, password)) = basic(headers) {
            return self.client_for_basic(&user, &password);
        }
        Err(if has_authorization(headers) {
            AuthFailure::Invalid
        } else {
            AuthFailure::Missing
        })
    }
}

/// The Graph identity printlab gives the user `name` (as `printlab token` does).
pub(in crate::infra) fn client_user_named(name: &str) -> ClientUser {
    let upn = user_principal_name(name);
    ClientUser {
        id: object_id("user", &upn),
        upn,
    }
}
