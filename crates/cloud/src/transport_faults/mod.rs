//! Transport faults on the Graph side: the cloud fails, throttles or slows Graph calls and the
//! upload and download URLs as the rules say (`rules.rs`), so that a lab tests the client
//! under test as much as its printers: does it honour `Retry-After`, survive a 503 in the
//! middle of an upload, a connection cut mid-body?
//!
//! Every request a rule matches is logged (passed or faulted, with its caller and time) and
//! counted per rule, so a test can read back that a client waited exactly the `Retry-After` it
//! was sent before retrying. The rules can be replaced while the cloud runs (`control.rs`).

mod control;
mod decision;
mod rules;

pub(crate) use control::router as control_router;
pub use decision::{FaultRecord, RuleCounter};
pub use rules::{
    FAULT_STATUSES, FaultRule, FaultRules, Latency, RulesError, Throttle, rules_schema,
};

use crate::auth::{Caller, TokenKey};
use crate::odata::GraphError;
use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use decision::{Action, Decision, Engine};
use futures::StreamExt;
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// The cloud's transport-fault engine: the rules in force, their counters and the log.
#[derive(Clone)]
pub struct TransportFaults {
    engine: Arc<Mutex<Engine>>,
    tokens: TokenKey,
}

impl TransportFaults {
    pub(crate) fn new(rules: FaultRules, tokens: TokenKey) -> Self {
        Self {
            engine: Arc::new(Mutex::new(Engine::new(rules))),
            tokens,
        }
    }

    fn engine(&self) -> std::sync::MutexGuard<'_, Engine> {
        self.engine
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Replaces the rules; counters and the log start afresh.
    pub fn replace(&self, rules: FaultRules) {
        *self.engine() = Engine::new(rules);
    }

    pub fn rules(&self) -> FaultRules {
        self.engine().rules().clone()
    }

    pub fn counters(&self) -> Vec<RuleCounter> {
        self.engine().counters()
    }

    pub fn log(&self) -> Vec<FaultRecord> {
        self.engine().log().iter().cloned().collect()
    }

    /// Who is calling, for the log and the per-token throttle: the token's user or app, or
    /// `anonymous` (the upload and download URLs carry no token).
    fn caller_of(&self, request: &Request) -> String {
        let header = request
            .headers()
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok());
        match header.map(|h| self.tokens.verify_header(Some(h))) {
            Some(Ok(Caller::User { upn, .. })) => upn,
            Some(Ok(Caller::App { name, .. })) => format!("app:{name}"),
            _ => "anonymous".to_owned(),
        }
    }
}

/// The middleware in front of Graph and the upload and download URLs.
pub(crate) async fn inject(
    State(faults): State<TransportFaults>,
    request: Request,
    next: Next,
) -> Response {
    // Without rules (the usual lab) a request pays neither the token check nor the log.
    if faults.engine().is_idle() {
        return next.run(request).await;
    }
    let caller = faults.caller_of(&request);
    let decision = faults
        .engine()
        .decide(request.method().as_str(), request.uri().path(), &caller);
    let Some(Decision {
        rule,
        latency,
        action,
    }) = decision
    else {
        return next.run(request).await;
    };
    if let Some(latency) = latency {
        tokio::time::sleep(latency).await;
    }
    match action {
        Action::Pass => next.run(request).await,
        Action::Status {
            status,
            retry_after,
        } => {
            let status = StatusCode::from_u16(status).unwrap_or(StatusCode::SERVICE_UNAVAILABLE);
            let mut response = GraphError::with_status(
                status,
                format!("Injected by the transport-fault rule {rule:?}."),
            )
            .into_response();
            if let Some(seconds) = retry_after {
                response
                    .headers_mut()
                    .insert(header::RETRY_AFTER, HeaderValue::from(seconds));
            }
            response
        }
        Action::ResetAfter(bytes) => cut_after(next.run(request).await, bytes),
        Action::SlowBody(bytes_per_second) => slowed(next.run(request).await, bytes_per_second),
    }
}

/// The response, its body cut off with an error after `limit` bytes: the connection is closed
/// with the declared length unmet, as a reset in the middle of a body looks to a client.
fn cut_after(response: Response, limit: u64) -> Response {
    let (parts, body) = response.into_parts();
    let mut sent = 0u64;
    let reset = || {
        std::io::Error::new(
            std::io::ErrorKind::ConnectionReset,
            "transport fault: connection reset mid-body",
        )
    };
    let stream = body.into_data_stream().flat_map(move |chunk| {
        let items: Vec<Result<bytes::Bytes, std::io::Error>> = match chunk {
            Err(e) => vec![Err(std::io::Error::other(e))],
            Ok(chunk) => {
                let room = limit.saturating_sub(sent);
                if chunk.len() as u64 <= room {
                    sent += chunk.len() as u64;
                    vec![Ok(chunk)]
                } else {
                    sent = limit;
                    let head = chunk.slice(..usize::try_from(room).unwrap_or(chunk.len()));
                    let mut items = Vec::with_capacity(2);
                    if !head.is_empty() {
                        items.push(Ok(head));
                    }
                    items.push(Err(reset()));
                    items
                }
            }
        };
        futures::stream::iter(items)
    });
    Response::from_parts(parts, Body::from_stream(stream))
}

/// The response, its body sent at `bytes_per_second` in tenth-of-a-second slices.
fn slowed(response: Response, bytes_per_second: u64) -> Response {
    let (parts, body) = response.into_parts();
    let slice = usize::try_from((bytes_per_second / 10).max(1)).unwrap_or(usize::MAX);
    let stream = body
        .into_data_stream()
        .flat_map(move |chunk| {
            let pieces: Vec<Result<bytes::Bytes, axum::Error>> = match chunk {
                Ok(chunk) => (0..chunk.len())
                    .step_by(slice)
                    .map(|at| Ok(chunk.slice(at..(at + slice).min(chunk.len()))))
                    .collect(),
                Err(e) => vec![Err(e)],
            };
            futures::stream::iter(pieces)
        })
        .then(|piece| async move {
            tokio::time::sleep(Duration::from_millis(100)).await;
            piece
        });
    Response::from_parts(parts, Body::from_stream(stream))
}
