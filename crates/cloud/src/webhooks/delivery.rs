//! Posting to webhooks: the validation handshake (`?validationToken=…`, answered with the
//! token as text within the timeout) and notifications, retried with a doubling back-off while
//! the webhook fails (not 2xx, or not reachable).

use super::WebhookOptions;
use chrono::{DateTime, Utc};
use serde::Serialize;
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// The tenant every notification names (the emulator has one).
pub(super) const TENANT_ID: &str = "00000000-0000-4000-8000-00000000beef";

/// One attempt to deliver a notification.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct DeliveryRecord {
    pub at: DateTime<Utc>,
    pub subscription_id: String,
    pub url: String,
    /// 1 for the first try.
    pub attempt: u32,
    /// The webhook's HTTP status, when it answered.
    pub status: Option<u16>,
    /// `delivered`, `failed` (retried later) or `dropped` (the last attempt failed).
    pub outcome: &'static str,
}

/// The handshake Graph makes before it accepts a subscription.
pub(super) async fn validate(
    http: &reqwest::Client,
    url: &str,
    timeout: Duration,
) -> Result<(), String> {
    let token = format!("printlab-validation-{}", uuid::Uuid::new_v4());
    let mut target = reqwest::Url::parse(url).map_err(|e| format!("'{url}': {e}"))?;
    target
        .query_pairs_mut()
        .append_pair("validationToken", &token);
    let refused = |why: String| {
        format!("Subscription validation request failed. Notification endpoint {url} {why}")
    };
    let answer = http
        .post(target)
        .header(reqwest::header::CONTENT_TYPE, "text/plain; charset=utf-8")
        .timeout(timeout)
        .send()
        .await
        .map_err(|e| refused(format!("could not be reached: {e}.")))?;
    let status = answer.status();
    if !status.is_success() {
        return Err(refused(format!("answered HTTP {status}.")));
    }
    let body = answer
        .text()
        .await
        .map_err(|e| refused(format!("sent an unreadable answer: {e}.")))?;
    if body.trim() != token {
        return Err(refused(
            "must answer with the validationToken as its text/plain body.".into(),
        ));
    }
    Ok(())
}

/// Posts `body` until the webhook takes it (2xx) or the attempts run out.
pub(super) async fn deliver(
    http: reqwest::Client,
    options: WebhookOptions,
    log: Arc<Mutex<Vec<DeliveryRecord>>>,
    subscription_id: String,
    url: String,
    body: serde_json::Value,
) {
    let mut wait = options.first_retry;
    for attempt in 1..=options.attempts.max(1) {
        let answer = http.post(&url).json(&body).send().await;
        let status = answer.as_ref().ok().map(|a| a.status().as_u16());
        let delivered = answer.is_ok_and(|a| a.status().is_success());
        let last = attempt == options.attempts.max(1);
        let outcome = match (delivered, last) {
            (true, _) => "delivered",
            (false, false) => "failed",
            (false, true) => "dropped",
        };
        log.lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .push(DeliveryRecord {
                at: Utc::now(),
                subscription_id: subscription_id.clone(),
                url: url.clone(),
                attempt,
                status,
                outcome,
            });
        if delivered {
            return;
        }
        if last {
            tracing::warn!(subscription = %subscription_id, %url, attempt, "notification dropped: the webhook never took it");
            return;
        }
        tracing::info!(subscription = %subscription_id, %url, attempt, ?status, "webhook failed; retrying in {wait:?}");
        tokio::time::sleep(wait).await;
        wait = wait.saturating_mul(2);
    }
}
