//! Liveness and readiness, under the names Kubernetes probes and scripts expect:
//! `GET /healthz` answers 200 while the process serves at all; `GET /readyz` answers 200 once
//! every readiness check passes, else 503 with what each failing check still waits for. Both are
//! unauthenticated and cost one lock and the checks' own snapshots.

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use serde_json::json;
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

type Check = Arc<dyn Fn() -> Option<String> + Send + Sync>;

/// What a process waits for before it is ready: named checks added by whoever knows, each
/// giving what is still missing (`None` once satisfied). Cheap to clone; clones share checks.
#[derive(Clone, Default)]
pub struct Readiness {
    checks: Arc<Mutex<BTreeMap<String, Check>>>,
}

impl Readiness {
    /// Adds (or replaces) the check `name`.
    pub fn add_check(
        &self,
        name: &str,
        check: impl Fn() -> Option<String> + Send + Sync + 'static,
    ) {
        self.lock().insert(name.to_string(), Arc::new(check));
    }

    /// What each failing check still waits for, by name; empty when ready.
    pub fn pending(&self) -> BTreeMap<String, String> {
        // Run the checks outside the lock: a check may take locks of its own.
        let checks: Vec<(String, Check)> = self
            .lock()
            .iter()
            .map(|(name, check)| (name.clone(), check.clone()))
            .collect();
        checks
            .into_iter()
            .filter_map(|(name, check)| check().map(|missing| (name, missing)))
            .collect()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, BTreeMap<String, Check>> {
        // Each change is one map operation, so a poisoned lock holds no half-made change.
        self.checks
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

/// `GET /healthz` and `GET /readyz` for `readiness`, to merge into a process's router.
pub fn health_router(readiness: Readiness) -> axum::Router {
    axum::Router::new()
        .route("/healthz", get(|| async { Json(json!({"status": "ok"})) }))
        .route(
            "/readyz",
            get(move || {
                let pending = readiness.pending();
                async move { ready_response(pending) }
            }),
        )
}

fn ready_response(pending: BTreeMap<String, String>) -> Response {
    if pending.is_empty() {
        Json(json!({"status": "ready"})).into_response()
    } else {
        (
            StatusCode::SERVICE_UNAVAILABLE,
            Json(json!({"status": "notReady", "pending": pending})),
        )
            .into_response()
    }
}
