//! The cloud's device side: the IPP INFRA service (PWG 5100.18) that printers, our own emulated
//! devices and other INFRA proxies, use to learn about jobs, fetch them and report progress.
//!
//! [`Infra`] holds what only the device side needs (device attributes, device tokens and proxy
//! credentials, fetchable jobs, ippget subscriptions and their event queues) and offers the
//! Graph side a narrow API: [`Infra::start_job`] when a job becomes fetchable,
//! [`Infra::cancel_job`] when it is canceled, and read-back of what devices reported
//! ([`Infra::job_status`], [`Infra::printer_view`]). The HTTP surface is [`Infra::router`]:
//! - `POST /printers` and `POST /printers/{id}`: bearer device token, bound to one printer;
//! - `POST /ipp/print/{name}`: HTTP Basic proxy credentials (ippsample's ippproxy style).
//!
//! Both see and change only the one printer their credential is bound to.

mod events;
mod service;
mod state;

pub use events::EventKind;
pub use state::{InfraError, JobTicket, PrinterView};

use crate::cloud::upload::UploadService;
use state::InfraState;
use std::sync::Arc;
use std::time::Duration;

/// How long a device token lives; a device asks for a new one before it runs out.
pub const DEVICE_TOKEN_LIFETIME: Duration = Duration::from_secs(3600);

/// How long Get-Notifications with `notify-wait=true` holds the request when nothing happens.
pub const DEFAULT_LONG_POLL: Duration = Duration::from_secs(20);

/// The device side of the cloud; cheap to clone.
#[derive(Clone)]
pub struct Infra {
    state: Arc<InfraState>,
}

impl Infra {
    /// `documents` serves Fetch-Document; `public_url` is the base devices reach the cloud at
    /// (printer URIs in responses and notifications are built from it).
    pub fn new(documents: Arc<UploadService>, public_url: &str) -> Self {
        Self::with_long_poll(documents, public_url, DEFAULT_LONG_POLL)
    }

    /// As [`Infra::new`], with the longest Get-Notifications wait (tests shorten it).
    pub fn with_long_poll(
        documents: Arc<UploadService>,
        public_url: &str,
        long_poll: Duration,
    ) -> Self {
        Self {
            state: Arc::new(InfraState::new(documents, public_url, long_poll)),
        }
    }

    /// Registers a printer on the device side (a Graph printer that has a physical device).
    pub fn add_printer(&self, printer_id: &str, display_name: &str) -> Result<(), InfraError> {
        self.state.add_printer(printer_id, display_name)
    }

    /// Lets an INFRA proxy serve `printer_id` at `/ipp/print/{name}` with HTTP Basic
    /// `user`/`password`.
    pub fn add_proxy_credential(
        &self,
        printer_id: &str,
        name: &str,
        user: &str,
        password: &str,
    ) -> Result<(), InfraError> {
        self.state.add_proxy(printer_id, name, user, password)
    }

    /// Issues a device access token bound to `printer_id` (after the device proved who it is).
    pub fn issue_device_token(&self, printer_id: &str) -> Result<String, InfraError> {
        self.state.issue_token(printer_id, DEVICE_TOKEN_LIFETIME)
    }

    /// As [`Infra::issue_device_token`] with a chosen lifetime (tests expire tokens with it).
    pub fn issue_device_token_for(
        &self,
        printer_id: &str,
        lifetime: Duration,
    ) -> Result<String, InfraError> {
        self.state.issue_token(printer_id, lifetime)
    }

    /// Graph `start`: the job's document is complete; the job becomes fetchable and every
    /// subscriber of its printer hears `job-fetchable`. Returns the IPP job-id.
    pub fn start_job(&self, ticket: JobTicket) -> Result<i32, InfraError> {
        self.state.start_job(ticket)
    }

    /// Graph `cancel`: the job is canceled and subscribers hear `job-state-changed`.
    pub fn cancel_job(&self, printer_id: &str, job_id: i32) -> Result<(), InfraError> {
        self.state.cancel_job(printer_id, job_id)
    }

    /// The job's status as devices last reported it (Graph `printJobStatus`).
    pub fn job_status(
        &self,
        printer_id: &str,
        job_id: i32,
    ) -> Result<crate::model::PrintJobStatus, InfraError> {
        self.state.job_status(printer_id, job_id)
    }

    /// What devices told the cloud about a printer, in Graph vocabulary.
    pub fn printer_view(&self, printer_id: &str) -> Result<PrinterView, InfraError> {
        self.state.printer_view(printer_id)
    }

    /// The INFRA HTTP routes, to merge into the cloud's router.
    pub fn router(&self) -> axum::Router {
        service::router(self.state.clone())
    }
}
