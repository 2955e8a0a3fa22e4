//! The cloud's device side: the IPP INFRA service (PWG 5100.18) that printers, our own emulated
//! devices and other INFRA proxies, use to learn about jobs, fetch them and report progress.
//!
//! [`Infra`] is owned by [`crate::Cloud`] and works on the cloud's store: a Graph printer
//! is an INFRA printer, a Graph job is the job a device fetches, and every device report is
//! written to the same record (and flushed) before it is answered, so Graph shows it at once.
//! Only ippget subscriptions and their queues are in memory. The Graph side tells it when a job
//! becomes fetchable or is canceled ([`Infra::job_fetchable`], [`Infra::job_canceled`]). The
//! HTTP surface is [`Infra::router`]:
//! - `POST /printers` and `POST /printers/{id}`: bearer device token, bound to one printer;
//! - `POST /ipp/print/{name}`: HTTP Basic proxy credentials (ippsample's ippproxy style);
//! - `POST /ipp/system`: Register-Output-Device for a proxy holding such a credential.
//!
//! Each sees and changes only the one printer its credential is bound to.

mod events;
mod service;
mod state;

pub use events::EventKind;
pub use state::{InfraServiceError, IppUserCredential, LongPoll};

use crate::auth::TokenKey;
use crate::store::Store;
use crate::upload::UploadService;
use state::InfraState;
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// How long a device token lives; a device asks for a new one before it runs out.
pub const DEVICE_TOKEN_LIFETIME: Duration = Duration::from_secs(3600);

/// How long Get-Notifications with `notify-wait=true` holds the request when nothing happens.
/// Every renewal costs both sides a request (a fleet of 1,000 idle printers renewed 50 times a
/// second at 20 s), so hold as long as the path allows: just under the 60 s after which common
/// HTTP proxies and load balancers cut a silent response. RFC 3996 lets the service end Event
/// Wait Mode whenever it likes; the device then asks again at once.
pub const DEFAULT_LONG_POLL: Duration = Duration::from_secs(55);

/// The same over HTTP/2, where a held Get-Notifications is one stream of a connection the whole
/// fleet shares, not a connection of its own: renewals are then the only cost of an idle
/// printer on both sides (10,000 printers renewed 182 times a second at 55 s, 33 at 5
/// minutes). Nothing else on the path needs a request to end sooner: neither side sets a
/// request timeout, hyper's HTTP/2 server sends no pings, a connection with open streams is not
/// idle to the serve limits, and a device token is checked when its request arrives. The
/// devices' client pings the shared connection instead (`fleet_http`), so a connection that
/// died silently is noticed in seconds, not at the end of the hold.
pub const DEFAULT_LONG_POLL_HTTP2: Duration = Duration::from_secs(300);

/// How long a job an IPP client made with Create-Job waits for Send-Document before it is
/// aborted (`multiple-operation-time-out`; PWG 5100.14 asks for more than 0, and CUPS and
/// ippeveprinter wait 60 s to 5 minutes). A Graph job waiting for its upload is not limited
/// by it: the upload session's own lifetime rules there.
pub const DEFAULT_MULTIPLE_OPERATION_TIME_OUT: Duration = Duration::from_secs(300);

/// The device side of the cloud; cheap to clone.
#[derive(Clone)]
pub struct Infra {
    state: Arc<InfraState>,
}

/// What the INFRA service shares with the Graph side of one cloud.
pub(crate) struct SharedWithGraph {
    pub store: Store,
    pub tokens: TokenKey,
    pub documents: Arc<UploadService>,
    /// The cloud's read-modify-write lock, so that Graph and device updates of one record never
    /// overwrite each other.
    pub write_lock: Arc<Mutex<()>>,
    pub webhooks: crate::webhooks::Webhooks,
    pub metrics: crate::metrics::CloudMetrics,
}

impl Infra {
    pub(crate) fn new(
        shared: SharedWithGraph,
        device_url: &str,
        long_poll: LongPoll,
        strict_reference: bool,
        multiple_operation_time_out: Duration,
    ) -> Self {
        Self {
            state: Arc::new(InfraState::new(
                shared,
                device_url,
                long_poll,
                strict_reference,
                multiple_operation_time_out,
            )),
        }
    }

    /// Lets an INFRA proxy serve `printer_id` at `/ipp/print/{name}` with HTTP Basic
    /// `user`/`password`; stored (the password only as a hash) and flushed before it returns.
    pub async fn add_proxy_credential(
        &self,
        printer_id: &str,
        name: &str,
        user: &str,
        password: &str,
    ) -> Result<(), InfraServiceError> {
        self.state.add_proxy(printer_id, name, user, password).await
    }

    /// Issues (or replaces) the IPP user credential of the user `name`: HTTP Basic on the
    /// printers' IPP URIs (`ipp://name:password@host/ipp/print/{printer}`), for IPP clients that
    /// cannot send a bearer token; their jobs are the Graph user `name`'s. Stored as a hash and
    /// flushed before it returns.
    pub async fn issue_user_credential(
        &self,
        name: &str,
    ) -> Result<IppUserCredential, InfraServiceError> {
        self.state.issue_user_credential(name).await
    }

    /// Issues a device access token bound to `printer_id` (after the device proved who it is):
    /// the cloud's signed JWT, so it survives a restart of the cloud.
    /// The printer's URI on the cloud's infrastructure printer (`ipp(s)://…`), for clients
    /// that print to Universal Print over IPP.
    pub fn printer_uri(&self, printer_id: &str) -> String {
        self.state.printer_uri(printer_id)
    }

    pub fn issue_device_token(&self, printer_id: &str) -> Result<String, InfraServiceError> {
        self.state.issue_token(printer_id, DEVICE_TOKEN_LIFETIME)
    }

    /// Graph `start` stored (and flushed) the job as fetchable: its printer's subscribers hear
    /// `job-fetchable`.
    pub(crate) fn job_fetchable(&self, printer_id: &str, job_id: &str) {
        if let Ok(id) = job_id.parse::<i32>() {
            self.state.raise(
                printer_id,
                EventKind::JobFetchable,
                Some(id),
                Some(3),
                &format!("job {id} is fetchable"),
            );
        }
    }

    /// Graph `cancel` stored (and flushed) the job as canceled: subscribers hear
    /// `job-state-changed` with `job-state` canceled.
    pub(crate) fn job_canceled(&self, printer_id: &str, job_id: &str) {
        if let Ok(id) = job_id.parse::<i32>() {
            self.state.raise(
                printer_id,
                EventKind::JobStateChanged,
                Some(id),
                Some(7),
                &format!("job {id} was canceled"),
            );
        }
    }

    /// Called as a server of these routes starts; cancel the token as it shuts down, so held
    /// long polls answer at once instead of holding the graceful shutdown for up to a
    /// long-poll period.
    pub(crate) fn start_serving(&self) -> tokio_util::sync::CancellationToken {
        self.state.start_serving()
    }

    /// Whether `headers` carry HTTP Basic proxy credentials this service provisioned.
    pub(crate) fn accepts_proxy_credentials(&self, headers: &axum::http::HeaderMap) -> bool {
        service::holds_proxy_credentials(&self.state, headers)
    }

    /// The INFRA HTTP routes, to merge into the cloud's router.
    pub fn router(&self) -> axum::Router {
        service::router(self.state.clone())
    }
}
