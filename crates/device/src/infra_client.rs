//! The device's INFRA client: the PWG 5100.18 operations an output device sends to an
//! infrastructure printer, and nothing beyond the standard, so any INFRA service can serve it.
//!
//! Every request names the infrastructure printer (`printer-uri`) and the device
//! (`output-device-uuid`), as 5100.18 §6 requires; the HTTP endpoint is the printer URI with
//! `ipp`/`ipps` replaced by `http`/`https` (RFC 8010 §4.2 / RFC 7472).

use printlab_ipp::http::{Credentials, ReceivedResponse, TransportError, post_ipp};
use printlab_ipp::{Attribute, AttributeLookup, GroupTag, Limits, Message, Operation, Value};
use printlab_ipp::{DocumentReader, StatusCode};
use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};

use super::network::{Network, Offline};
use crate::runtime::FleetMetrics;

#[derive(Debug, thiserror::Error)]
pub enum InfraClientError {
    #[error(transparent)]
    Transport(#[from] TransportError),
    #[error("{operation} was refused: {status} {message}")]
    Refused {
        operation: &'static str,
        status: String,
        status_code: u16,
        message: String,
    },
    #[error("{operation} answered without {attribute}")]
    Missing {
        operation: &'static str,
        attribute: &'static str,
    },
    #[error("reading the document from Fetch-Document: {0}")]
    DocumentStream(std::io::Error),
    #[error("printer URI `{0}` is not an ipp://, ipps://, http:// or https:// URI")]
    BadUri(String),
    #[error(transparent)]
    Offline(#[from] Offline),
}

impl InfraClientError {
    /// The service does not know this job any more (`client-error-not-found`) or it is not
    /// fetchable (`client-error-not-fetchable`): the device drops it and goes on.
    pub fn is_gone(&self) -> bool {
        matches!(self, InfraClientError::Refused { status_code, .. }
            if *status_code == StatusCode::CLIENT_ERROR_NOT_FOUND.0
                || *status_code == StatusCode::CLIENT_ERROR_NOT_FETCHABLE.0)
    }
}

impl InfraClientError {
    /// The service read the request and refused it with a client error other than "gone"
    /// (`client-error-bad-request`, `-attributes-or-values-not-supported`, …): the connection
    /// is fine and the same request sent again would be refused again, so this is no reason to
    /// start the session over.
    pub fn is_refusal(&self) -> bool {
        matches!(self, InfraClientError::Refused { status_code, .. }
            if (0x0400..0x0500).contains(status_code))
            && !self.is_gone()
    }

    /// The service refused the credentials (HTTP 401): for a device token, time to refresh it.
    pub fn is_unauthorized(&self) -> bool {
        matches!(
            self,
            InfraClientError::Transport(TransportError::HttpStatus { status: 401, .. })
        )
    }
}

/// One event from Get-Notifications.
#[derive(Debug, Clone, PartialEq)]
pub struct Notification {
    pub event: String,
    pub job_id: Option<u32>,
    /// `job-state` (RFC 8011 enum: 7 canceled, 8 aborted, 9 completed) when the event has one.
    pub job_state: Option<i32>,
    /// `printer-state-reasons` when the event has them (RFC 3995 asks for them in printer
    /// events; a service may leave them out).
    pub printer_state_reasons: Option<Vec<String>>,
}

/// An Identify-Printer request the device took with Acknowledge-Identify-Printer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdentifyRequest {
    /// `identify-actions`; empty when the service named none (then the printer's default).
    pub actions: Vec<String>,
    pub message: Option<String>,
}

/// What Get-Notifications returned.
#[derive(Debug, Clone, PartialEq)]
pub struct Notifications {
    pub events: Vec<Notification>,
    /// `notify-get-interval`: when to ask again if the service did not wait.
    pub get_interval: Option<u32>,
}

/// A fetched job: its attributes as the service sent them.
#[derive(Debug, Clone, PartialEq)]
pub struct FetchedJob {
    pub attributes: Vec<Attribute>,
}

/// The job's state as the device reports it (Update-Job-Status, Update-Active-Jobs).
#[derive(Debug, Clone, PartialEq)]
pub struct JobReport {
    /// RFC 8011 `job-state` enum.
    pub state: i32,
    pub reasons: Vec<String>,
    pub message: Option<String>,
    pub impressions_completed: Option<u64>,
    pub sheets_completed: Option<u64>,
}

pub mod job_state {
    pub const PENDING: i32 = 3;
    pub const PROCESSING: i32 = 5;
    pub const PROCESSING_STOPPED: i32 = 6;
    pub const CANCELED: i32 = 7;
    pub const ABORTED: i32 = 8;
    pub const COMPLETED: i32 = 9;

    pub fn is_terminal(state: i32) -> bool {
        state >= CANCELED
    }
}

/// A client for one output device at one infrastructure printer; cheap to create, sharing the
/// process's HTTP connection pool through the `reqwest::Client` it is given.
pub struct InfraClient {
    http: reqwest::Client,
    endpoint: String,
    printer_uri: String,
    device_uuid: String,
    /// Replaced when a device token is refreshed; every request reads the current one.
    credentials: std::sync::RwLock<Credentials>,
    limits: Limits,
    next_request: AtomicU32,
    network: Arc<Network>,
    /// INFRA request latency and held long polls ([`InfraClient::with_metrics`]); none for a
    /// client nobody scrapes, so a fleet's clients do not each build a set of metrics only to
    /// replace it.
    metrics: Option<FleetMetrics>,
}

/// The HTTP URL of an IPP URI.
pub fn http_endpoint(printer_uri: &str) -> Result<String, InfraClientError> {
    let (scheme, rest) = printer_uri
        .split_once("://")
        .ok_or_else(|| InfraClientError::BadUri(printer_uri.to_string()))?;
    let scheme = match scheme.to_ascii_lowercase().as_str() {
        "ipp" | "http" => "http",
        "ipps" | "https" => "https",
        _ => return Err(InfraClientError::BadUri(printer_uri.to_string())),
    };
    // ipp:// without a port means 631 (RFC 7472 §3); http:// keeps its own default.
    let authority_end = rest.find('/').unwrap_or(rest.len());
    let authority = &rest[..authority_end];
    let needs_port = printer_uri.starts_with("ipp") && !authority.contains(':');
    let port = if needs_port { ":631" } else { "" };
    Ok(format!(
        "{scheme}://{authority}{port}{}",
        &rest[authority_end..]
    ))
}

impl InfraClient {
    pub fn new(
        http: reqwest::Client,
        printer_uri: &str,
        device_uuid: &str,
        credentials: Credentials,
    ) -> Result<Self, InfraClientError> {
        let endpoint = http_endpoint(printer_uri)?;
        Ok(Self::with_endpoint(
            http,
            &endpoint,
            printer_uri,
            device_uuid,
            credentials,
        ))
    }

    /// A client that posts to `endpoint` rather than to the printer URI's own HTTP address, as
    /// Universal Print devices do: one fixed `/printers` target, the printer named only by
    /// its `printer-uri` attribute.
    pub fn with_endpoint(
        http: reqwest::Client,
        endpoint: &str,
        printer_uri: &str,
        device_uuid: &str,
        credentials: Credentials,
    ) -> Self {
        Self {
            http,
            endpoint: endpoint.to_string(),
            printer_uri: printer_uri.to_string(),
            device_uuid: format!("urn:uuid:{device_uuid}"),
            credentials: std::sync::RwLock::new(credentials),
            limits: Limits::default(),
            next_request: AtomicU32::new(1),
            network: Arc::default(),
            metrics: None,
        }
    }

    /// Uses `credentials` from the next request on (a refreshed device token).
    pub fn set_credentials(&self, credentials: Credentials) {
        *self
            .credentials
            .write()
            .unwrap_or_else(|poisoned| poisoned.into_inner()) = credentials;
    }

    /// Sends every request through `network` (the printer's offline windows and extra
    /// latency).
    pub fn with_network(mut self, network: Arc<Network>) -> Self {
        self.network = network;
        self
    }

    /// Times every request into `metrics` by operation, and counts held long polls there.
    pub fn with_metrics(mut self, metrics: FleetMetrics) -> Self {
        self.metrics = Some(metrics);
        self
    }

    fn request(&self, operation: Operation) -> Message {
        let id = self.next_request.fetch_add(1, Ordering::Relaxed);
        let mut message = Message::request(operation, id);
        let group = message.group_mut(GroupTag::OPERATION);
        group.push(Attribute::new(
            "printer-uri",
            Value::uri(self.printer_uri.clone()),
        ));
        group.push(Attribute::new(
            "output-device-uuid",
            Value::uri(self.device_uuid.clone()),
        ));
        message
    }

    async fn send_streaming(
        &self,
        name: &'static str,
        request: Message,
    ) -> Result<ReceivedResponse, InfraClientError> {
        self.network.before_request().await?;
        let timer = (self.metrics.as_ref())
            .map(|m| m.ipp_requests.with_label_values(&[name]).start_timer());
        let credentials = self
            .credentials
            .read()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .clone();
        let response = post_ipp(
            &self.http,
            &self.endpoint,
            &credentials,
            &request,
            None,
            &self.limits,
        )
        .await?;
        if let Some(timer) = timer {
            timer.observe_duration();
        }
        let status = response.message.status();
        if !status.is_success() {
            return Err(InfraClientError::Refused {
                operation: name,
                status: status.name().unwrap_or("unknown-status").to_string(),
                status_code: status.0,
                message: response
                    .message
                    .operation_attributes()
                    .string("status-message")
                    .unwrap_or_default()
                    .to_string(),
            });
        }
        Ok(response)
    }

    async fn send(
        &self,
        name: &'static str,
        request: Message,
    ) -> Result<Message, InfraClientError> {
        Ok(self.send_streaming(name, request).await?.message)
    }

    /// Update-Output-Device-Attributes: capabilities and state, as printer attributes.
    pub async fn update_output_device_attributes(
        &self,
        attributes: Vec<Attribute>,
    ) -> Result<(), InfraClientError> {
        let mut request = self.request(Operation::UPDATE_OUTPUT_DEVICE_ATTRIBUTES);
        request.push_group(printlab_ipp::Group {
            tag: GroupTag::PRINTER,
            attributes,
        });
        self.send("Update-Output-Device-Attributes", request)
            .await?;
        Ok(())
    }

    /// Create-Printer-Subscriptions for ippget delivery of job events and of the printer's
    /// state changes (how a device hears of an Identify-Printer); returns the subscription id.
    pub async fn create_printer_subscription(&self) -> Result<i32, InfraClientError> {
        let mut request = self.request(Operation::CREATE_PRINTER_SUBSCRIPTIONS);
        request.push_group(
            printlab_ipp::Group::new(GroupTag::SUBSCRIPTION)
                .with("notify-pull-method", Value::keyword("ippget"))
                .with_set(
                    "notify-events",
                    [
                        "job-fetchable",
                        "job-state-changed",
                        "printer-state-changed",
                    ]
                    .map(Value::keyword),
                )
                .with("notify-lease-duration", Value::Integer(0)),
        );
        let response = self.send("Create-Printer-Subscriptions", request).await?;
        response
            .group(GroupTag::SUBSCRIPTION)
            .and_then(|g| g.integer("notify-subscription-id"))
            .ok_or(InfraClientError::Missing {
                operation: "Create-Printer-Subscriptions",
                attribute: "notify-subscription-id",
            })
    }

    /// Get-Notifications; with `wait` the service holds the request until an event arrives
    /// (ippget long poll, RFC 3996 §5.2).
    pub async fn get_notifications(
        &self,
        subscription: i32,
        after_sequence: i32,
        wait: bool,
    ) -> Result<(Notifications, i32), InfraClientError> {
        let _held = (self.metrics.as_ref())
            .filter(|_| wait)
            .map(FleetMetrics::long_poll);
        let mut request = self.request(Operation::GET_NOTIFICATIONS);
        let op = request.group_mut(GroupTag::OPERATION);
        op.push(Attribute::new(
            "notify-subscription-ids",
            Value::Integer(subscription),
        ));
        op.push(Attribute::new(
            "notify-sequence-numbers",
            Value::Integer(after_sequence + 1),
        ));
        op.push(Attribute::new("notify-wait", Value::Boolean(wait)));
        let response = self.send("Get-Notifications", request).await?;
        let get_interval = response
            .operation_attributes()
            .integer("notify-get-interval")
            .and_then(|v| u32::try_from(v).ok());
        let mut last = after_sequence;
        let events = response
            .groups_of(GroupTag::EVENT_NOTIFICATION)
            .map(|g| {
                if let Some(seq) = g.integer("notify-sequence-number") {
                    last = last.max(seq);
                }
                Notification {
                    event: g
                        .keyword("notify-subscribed-event")
                        .unwrap_or_default()
                        .to_string(),
                    job_id: g
                        .integer("notify-job-id")
                        .or_else(|| g.integer("job-id"))
                        .and_then(|v| u32::try_from(v).ok()),
                    job_state: g.enum_value("job-state"),
                    printer_state_reasons: g
                        .attr("printer-state-reasons")
                        .map(|a| a.keywords().map(str::to_owned).collect()),
                }
            })
            .collect();
        Ok((
            Notifications {
                events,
                get_interval,
            },
            last,
        ))
    }

    /// Acknowledge-Identify-Printer: takes the Identify-Printer request waiting at the
    /// service; `None` when none waits (`client-error-not-possible`, PWG 5100.18).
    pub async fn acknowledge_identify_printer(
        &self,
    ) -> Result<Option<IdentifyRequest>, InfraClientError> {
        let request = self.request(Operation::ACKNOWLEDGE_IDENTIFY_PRINTER);
        let response = match self.send("Acknowledge-Identify-Printer", request).await {
            Err(InfraClientError::Refused { status_code, .. })
                if status_code == StatusCode::CLIENT_ERROR_NOT_POSSIBLE.0 =>
            {
                return Ok(None);
            }
            other => other?,
        };
        let op = response.operation_attributes();
        Ok(Some(IdentifyRequest {
            actions: op
                .attr("identify-actions")
                .map(|a| a.keywords().map(str::to_owned).collect())
                .unwrap_or_default(),
            message: op.string("message").map(str::to_owned),
        }))
    }

    /// Get-Jobs `which-jobs=fetchable`: the ids of jobs waiting for this device.
    pub async fn fetchable_jobs(&self) -> Result<Vec<u32>, InfraClientError> {
        let mut request = self.request(Operation::GET_JOBS);
        let op = request.group_mut(GroupTag::OPERATION);
        op.push(Attribute::new("which-jobs", Value::keyword("fetchable")));
        op.push(Attribute::new(
            "requested-attributes",
            Value::keyword("job-id"),
        ));
        let response = self.send("Get-Jobs", request).await?;
        Ok(response
            .groups_of(GroupTag::JOB)
            .filter_map(|g| g.integer("job-id"))
            .filter_map(|id| u32::try_from(id).ok())
            .collect())
    }

    fn job_request(&self, operation: Operation, job: u32) -> Message {
        let mut request = self.request(operation);
        request
            .group_mut(GroupTag::OPERATION)
            .push(Attribute::new("job-id", Value::Integer(job as i32)));
        request
    }

    /// Fetch-Job: the job's attributes (template attributes included).
    pub async fn fetch_job(&self, job: u32) -> Result<FetchedJob, InfraClientError> {
        let response = self
            .send("Fetch-Job", self.job_request(Operation::FETCH_JOB, job))
            .await?;
        let attributes = response
            .group(GroupTag::JOB)
            .map(|g| g.attributes.clone())
            .unwrap_or_default();
        Ok(FetchedJob { attributes })
    }

    /// Acknowledge-Job: the device has taken the job (or, with a reason, refuses it).
    pub async fn acknowledge_job(&self, job: u32) -> Result<(), InfraClientError> {
        self.send(
            "Acknowledge-Job",
            self.job_request(Operation::ACKNOWLEDGE_JOB, job),
        )
        .await?;
        Ok(())
    }

    /// Fetch-Document: the document's attributes and its data, still streaming.
    pub async fn fetch_document(
        &self,
        job: u32,
        number: u32,
    ) -> Result<(Vec<Attribute>, DocumentReader), InfraClientError> {
        let mut request = self.job_request(Operation::FETCH_DOCUMENT, job);
        let op = request.group_mut(GroupTag::OPERATION);
        op.push(Attribute::new(
            "document-number",
            Value::Integer(number as i32),
        ));
        op.push(Attribute::new(
            "compression-accepted",
            Value::keyword("none"),
        ));
        let response = self.send_streaming("Fetch-Document", request).await?;
        let mut attributes = response.message.operation_attributes().to_vec();
        if let Some(g) = response.message.group(GroupTag::DOCUMENT) {
            attributes.extend(g.attributes.iter().cloned());
        }
        Ok((attributes, response.document))
    }

    pub async fn acknowledge_document(
        &self,
        job: u32,
        number: u32,
    ) -> Result<(), InfraClientError> {
        let mut request = self.job_request(Operation::ACKNOWLEDGE_DOCUMENT, job);
        request.group_mut(GroupTag::OPERATION).push(Attribute::new(
            "document-number",
            Value::Integer(number as i32),
        ));
        self.send("Acknowledge-Document", request).await?;
        Ok(())
    }

    /// Update-Job-Status: the device's view of the job (`output-device-job-state*`) and its
    /// progress counters.
    pub async fn update_job_status(
        &self,
        job: u32,
        report: &JobReport,
    ) -> Result<(), InfraClientError> {
        let mut request = self.job_request(Operation::UPDATE_JOB_STATUS, job);
        let mut group = printlab_ipp::Group::new(GroupTag::JOB)
            .with("output-device-job-state", Value::Enum(report.state))
            .with_set(
                "output-device-job-state-reasons",
                reasons_or_none(&report.reasons),
            );
        if let Some(message) = &report.message {
            group.push(Attribute::new(
                "output-device-job-state-message",
                Value::text(message.clone()),
            ));
        }
        if let Some(n) = report.impressions_completed {
            group.push(Attribute::new(
                "job-impressions-completed",
                Value::Integer(clamp(n)),
            ));
        }
        if let Some(n) = report.sheets_completed {
            group.push(Attribute::new(
                "job-media-sheets-completed",
                Value::Integer(clamp(n)),
            ));
        }
        request.push_group(group);
        self.send("Update-Job-Status", request).await?;
        Ok(())
    }

    /// Update-Active-Jobs: the jobs the device holds and their states; returns the jobs whose
    /// state the service sees differently (`job-ids` / `output-device-job-states` of the
    /// response), which the device must reconcile (a job canceled meanwhile, or unknown).
    ///
    /// With no jobs nothing is sent. PWG 5100.18 requires both `job-ids` and
    /// `output-device-job-states`, and a 1setOf cannot be empty; PWG's reference infrastructure
    /// printer (ippsample's ippserver) refuses the `no-value` form ("Bad job-ids attribute.") and
    /// the form without either attribute (PAPPL's proxy sends that; PAPPL's server takes it),
    /// and ippsample's ippproxy never sends Update-Active-Jobs at all. A device that holds no
    /// job has nothing to report, and jobs waiting for it are what Get-Jobs lists.
    pub async fn update_active_jobs(
        &self,
        jobs: &[(u32, i32)],
    ) -> Result<Vec<(u32, Option<i32>)>, InfraClientError> {
        if jobs.is_empty() {
            return Ok(Vec::new());
        }
        let mut request = self.request(Operation::UPDATE_ACTIVE_JOBS);
        let op = request.group_mut(GroupTag::OPERATION);
        op.push(Attribute::set(
            "job-ids",
            jobs.iter().map(|(id, _)| Value::Integer(*id as i32)),
        ));
        op.push(Attribute::set(
            "output-device-job-states",
            jobs.iter().map(|(_, s)| Value::Enum(*s)),
        ));
        let response = self.send("Update-Active-Jobs", request).await?;
        let ops = response.operation_attributes();
        let ids: Vec<u32> = ops
            .attr("job-ids")
            .map(|a| a.integers().filter_map(|v| u32::try_from(v).ok()).collect())
            .unwrap_or_default();
        let states: Vec<i32> = ops
            .attr("output-device-job-states")
            .map(|a| a.enums().collect())
            .unwrap_or_default();
        Ok(ids
            .into_iter()
            .enumerate()
            .map(|(i, id)| (id, states.get(i).copied()))
            .collect())
    }
}

fn clamp(n: u64) -> i32 {
    i32::try_from(n).unwrap_or(i32::MAX)
}

fn reasons_or_none(reasons: &[String]) -> Vec<Value> {
    if reasons.is_empty() {
        vec![Value::keyword("none")]
    } else {
        reasons.iter().map(|r| Value::keyword(r.clone())).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn endpoints_follow_the_ipp_uri_scheme() {
        assert_eq!(
            http_endpoint("ipp://127.0.0.1/ipp/print/x").unwrap(),
            "http://127.0.0.1:631/ipp/print/x"
        );
        assert_eq!(
            http_endpoint("ipps://host:8443/p").unwrap(),
            "https://host:8443/p"
        );
        assert_eq!(
            http_endpoint("http://127.0.0.1:9/printers/a").unwrap(),
            "http://127.0.0.1:9/printers/a"
        );
        assert!(matches!(
            http_endpoint("ftp://x/"),
            Err(InfraClientError::BadUri(_))
        ));
    }
}
