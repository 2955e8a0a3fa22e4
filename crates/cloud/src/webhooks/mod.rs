//! Graph change notifications for the print events Universal Print offers (`JobFetchable` on a
//! printer's jobs, `JobStarted` on a task definition's tasks): the subscriptions, kept in the
//! store so they outlive a restart, the validation handshake a new one must pass, the
//! notifications with their `clientState`, retried with a doubling back-off while the webhook
//! fails, and the `subscriptionRemoved` lifecycle notification when one expires unrenewed.
//!
//! Webhooks are reached only on loopback unless the cloud is started to allow others
//! ([`WebhookOptions::allow_remote`]): a lab must not post to the network by accident.

mod delivery;
mod subscription;

pub use delivery::DeliveryRecord;
pub use subscription::{MAX_LIFETIME_MINUTES, SubscriptionRecord, Watched};

use crate::store::StoreError;
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// How notifications are delivered.
#[derive(Debug, Clone)]
pub struct WebhookOptions {
    /// The wait before the first retry of a failed delivery; each further retry waits twice as
    /// long (tests shorten it).
    pub first_retry: Duration,
    /// Deliveries tried per notification before it is dropped (and logged as dropped).
    pub attempts: u32,
    /// Allow notification URLs that are not on loopback.
    pub allow_remote: bool,
    /// How long a webhook has to answer the validation handshake (Graph: 10 seconds).
    pub handshake_timeout: Duration,
}

impl Default for WebhookOptions {
    fn default() -> Self {
        Self {
            first_retry: Duration::from_secs(5),
            attempts: 8,
            allow_remote: false,
            handshake_timeout: Duration::from_secs(10),
        }
    }
}

/// Why a subscription could not be made.
#[derive(Debug, thiserror::Error)]
pub enum WebhookError {
    #[error("{0}")]
    Refused(String),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// The cloud's subscriptions and their deliveries.
#[derive(Clone)]
pub struct Webhooks {
    tree: sled::Tree,
    http: reqwest::Client,
    options: WebhookOptions,
    log: Arc<Mutex<Vec<DeliveryRecord>>>,
}

const TREE: &str = "subscriptions";

impl Webhooks {
    pub fn open(db: &sled::Db, options: WebhookOptions) -> Result<Self, StoreError> {
        Ok(Self {
            tree: db.open_tree(TREE)?,
            http: reqwest::Client::builder()
                .timeout(Duration::from_secs(30))
                .build()
                .unwrap_or_default(),
            options,
            log: Arc::default(),
        })
    }

    /// Checks a webhook URL: http(s), and on loopback unless remote ones are allowed.
    pub fn check_url(&self, name: &str, url: &str) -> Result<(), WebhookError> {
        let parsed = reqwest::Url::parse(url)
            .map_err(|e| WebhookError::Refused(format!("{name} '{url}' is not a URL: {e}.")))?;
        if !matches!(parsed.scheme(), "http" | "https") {
            return Err(WebhookError::Refused(format!(
                "{name} must be an http or https URL."
            )));
        }
        let host = parsed
            .host_str()
            .unwrap_or_default()
            .trim_matches(['[', ']']);
        let loopback = match host.parse::<std::net::IpAddr>() {
            Ok(ip) => ip.is_loopback(),
            Err(_) => host.eq_ignore_ascii_case("localhost"),
        };
        if !loopback && !self.options.allow_remote {
            return Err(WebhookError::Refused(format!(
                "{name} '{url}' is not on loopback: this cloud posts notifications to loopback only (start it with --allow-remote-webhooks to allow others)."
            )));
        }
        Ok(())
    }

    /// Runs the validation handshake with each webhook, then stores the subscription.
    pub async fn create(
        &self,
        record: SubscriptionRecord,
    ) -> Result<SubscriptionRecord, WebhookError> {
        self.check_url("notificationUrl", &record.notification_url)?;
        if let Some(url) = &record.lifecycle_notification_url {
            self.check_url("lifecycleNotificationUrl", url)?;
        }
        delivery::validate(
            &self.http,
            &record.notification_url,
            self.options.handshake_timeout,
        )
        .await
        .map_err(WebhookError::Refused)?;
        if let Some(url) = &record.lifecycle_notification_url {
            delivery::validate(&self.http, url, self.options.handshake_timeout)
                .await
                .map_err(WebhookError::Refused)?;
        }
        self.put(&record)?;
        self.expire_when_due(&record);
        Ok(record)
    }

    pub fn put(&self, record: &SubscriptionRecord) -> Result<(), StoreError> {
        let bytes = serde_json::to_vec(record).expect("a subscription always serialises");
        self.tree.insert(record.id.as_bytes(), bytes)?;
        Ok(())
    }

    /// A renewed subscription (PATCH): stored, and its expiry watched anew.
    pub fn renew(&self, record: &SubscriptionRecord) -> Result<(), StoreError> {
        self.put(record)?;
        self.expire_when_due(record);
        Ok(())
    }

    pub fn get(&self, id: &str) -> Result<Option<SubscriptionRecord>, StoreError> {
        let Some(bytes) = self.tree.get(id.as_bytes())? else {
            return Ok(None);
        };
        let record: SubscriptionRecord = serde_json::from_slice(&bytes)
            .map_err(|source| StoreError::Corrupt { tree: TREE, source })?;
        if record.expiration_date_time <= chrono::Utc::now() {
            self.remove_expired(record);
            return Ok(None);
        }
        Ok(Some(record))
    }

    pub fn list(&self) -> Result<Vec<SubscriptionRecord>, StoreError> {
        self.live()
    }

    fn all(&self) -> Result<Vec<SubscriptionRecord>, StoreError> {
        self.tree
            .iter()
            .values()
            .map(|bytes| {
                serde_json::from_slice(&bytes?)
                    .map_err(|source| StoreError::Corrupt { tree: TREE, source })
            })
            .collect()
    }

    pub fn delete(&self, id: &str) -> Result<bool, StoreError> {
        Ok(self.tree.remove(id.as_bytes())?.is_some())
    }

    /// Every delivery tried so far (handshakes excluded), oldest first.
    pub fn deliveries(&self) -> Vec<DeliveryRecord> {
        self.log
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .clone()
    }

    /// A job of `printer_id` became fetchable: `JobFetchable` subscribers hear of it.
    pub fn job_fetchable(&self, printer_id: &str, job_id: &str) {
        let resource = format!("print/printers/{printer_id}/jobs/{job_id}");
        self.publish(
            |watched| matches!(watched, Watched::JobFetchable { printer_id: p } if p == printer_id),
            &resource,
            "#microsoft.graph.printJob",
            job_id,
        );
    }

    /// A task of `definition_id` was created for a job started on a printer with a trigger:
    /// `JobStarted` subscribers hear of it.
    pub fn task_created(&self, definition_id: &str, task_id: &str) {
        let resource = format!("print/taskDefinitions/{definition_id}/tasks/{task_id}");
        self.publish(
            |watched| matches!(watched, Watched::JobStarted { definition_id: d } if d == definition_id),
            &resource,
            "#microsoft.graph.printTask",
            task_id,
        );
    }

    fn publish(
        &self,
        wanted: impl Fn(&Watched) -> bool,
        resource: &str,
        odata_type: &str,
        id: &str,
    ) {
        let Ok(subscriptions) = self.live() else {
            tracing::warn!(%resource, "cannot read the subscriptions; no notification sent");
            return;
        };
        for subscription in subscriptions.into_iter().filter(|s| wanted(&s.watched)) {
            let body = serde_json::json!({
                "value": [{
                    "id": uuid::Uuid::new_v4().to_string(),
                    "subscriptionId": subscription.id,
                    "subscriptionExpirationDateTime": subscription.expiration_date_time,
                    "changeType": subscription.change_type,
                    "resource": resource,
                    "clientState": subscription.client_state,
                    "tenantId": delivery::TENANT_ID,
                    "resourceData": {
                        "@odata.type": odata_type,
                        "@odata.id": resource,
                        "id": id,
                    },
                }],
            });
            self.send(subscription.id, subscription.notification_url, body);
        }
    }

    fn send(&self, subscription_id: String, url: String, body: serde_json::Value) {
        let Ok(runtime) = tokio::runtime::Handle::try_current() else {
            return;
        };
        runtime.spawn(delivery::deliver(
            self.http.clone(),
            self.options.clone(),
            self.log.clone(),
            subscription_id,
            url,
            body,
        ));
    }

    /// The subscriptions not yet expired, read in one pass that removes the expired ones.
    fn live(&self) -> Result<Vec<SubscriptionRecord>, StoreError> {
        let now = chrono::Utc::now();
        let (live, expired): (Vec<_>, Vec<_>) = self
            .all()?
            .into_iter()
            .partition(|s| s.expiration_date_time > now);
        for subscription in expired {
            self.remove_expired(subscription);
        }
        Ok(live)
    }

    /// Removes an expired subscription, with a `subscriptionRemoved` lifecycle notification
    /// when it named a lifecycle URL.
    fn remove_expired(&self, subscription: SubscriptionRecord) {
        if !matches!(self.tree.remove(subscription.id.as_bytes()), Ok(Some(_))) {
            return;
        }
        tracing::info!(subscription = %subscription.id, "subscription expired and was removed");
        if let Some(url) = subscription.lifecycle_notification_url.clone() {
            let body = serde_json::json!({
                "value": [{
                    "subscriptionId": subscription.id,
                    "subscriptionExpirationDateTime": subscription.expiration_date_time,
                    "tenantId": delivery::TENANT_ID,
                    "clientState": subscription.client_state,
                    "lifecycleEvent": "subscriptionRemoved",
                }],
            });
            self.send(subscription.id, url, body);
        }
    }

    /// Wakes at the subscription's expiry to remove it, so a lifecycle notification goes out
    /// on time even when nothing else happens.
    fn expire_when_due(&self, record: &SubscriptionRecord) {
        let Ok(runtime) = tokio::runtime::Handle::try_current() else {
            return;
        };
        let wait = (record.expiration_date_time - chrono::Utc::now())
            .to_std()
            .unwrap_or_default();
        let webhooks = self.clone();
        runtime.spawn(async move {
            tokio::time::sleep(wait + Duration::from_millis(10)).await;
            // Removing is what matters here; a store error shows at the next read.
            let _ = webhooks.live();
        });
    }
}
