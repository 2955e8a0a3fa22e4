//! The device side's state: printers with their device attributes, credentials, jobs and
//! subscriptions. One mutex guards it all; every critical section is short and never awaits.

use super::events::{EventKind, Subscription};
use crate::cloud::upload::UploadService;
use crate::ipp::Attribute;
use crate::model::ipp_mapping::{
    graph_from_printer_attributes, job_status_from_ipp, printer_status_from_ipp,
};
use crate::model::{
    PrintJobConfiguration, PrintJobProcessingState, PrintJobStatus, PrinterCapabilities,
    PrinterDefaults, PrinterStatus,
};
use chrono::{DateTime, Utc};
use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};
use tokio::sync::Notify;

/// Why a device-side call failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum InfraError {
    #[error("printer `{0}` is not registered on the device side")]
    UnknownPrinter(String),
    #[error("printer `{0}` is already registered")]
    PrinterExists(String),
    #[error("printer URI name `{0}` is already taken")]
    ProxyNameTaken(String),
    #[error("printer `{printer_id}` has no job {job_id}")]
    UnknownJob { printer_id: String, job_id: i32 },
    #[error("job {0} is already started")]
    JobExists(i32),
}

/// What the Graph side hands over when a job is started.
#[derive(Debug, Clone)]
pub struct JobTicket {
    pub printer_id: String,
    /// The IPP job-id (the Graph job number).
    pub job_id: i32,
    pub job_name: String,
    pub owner: String,
    pub configuration: PrintJobConfiguration,
    /// The upload engine's document id.
    pub document_id: String,
    pub document_format: String,
    pub document_size: u64,
}

/// What devices told the cloud about one printer, in Graph vocabulary.
#[derive(Debug, Clone, PartialEq)]
pub struct PrinterView {
    pub capabilities: Option<PrinterCapabilities>,
    pub defaults: Option<PrinterDefaults>,
    pub status: PrinterStatus,
    pub last_seen: Option<DateTime<Utc>>,
    pub registered: DateTime<Utc>,
    /// The `output-device-uuid` of the device serving it, once one has spoken.
    pub output_device_uuid: Option<String>,
}

#[derive(Debug)]
pub(super) struct PrinterEntry {
    pub display_name: String,
    pub device_attributes: Vec<Attribute>,
    pub view: PrinterView,
    pub wakeup: Arc<Notify>,
}

#[derive(Debug, Clone)]
pub(super) struct JobEntry {
    pub ticket: JobTicket,
    pub fetchable: bool,
    pub acknowledged: bool,
    pub document_acknowledged: bool,
    pub status: PrintJobStatus,
    pub impressions_completed: Option<i32>,
    pub document_state: Option<i32>,
}

impl JobEntry {
    pub fn is_terminal(&self) -> bool {
        matches!(
            self.status.state,
            PrintJobProcessingState::Completed
                | PrintJobProcessingState::Canceled
                | PrintJobProcessingState::Aborted
        )
    }
}

struct Proxy {
    printer_id: String,
    user: String,
    password: String,
}

struct Token {
    printer_id: String,
    expires: Instant,
}

#[derive(Default)]
pub(super) struct Tables {
    pub printers: HashMap<String, PrinterEntry>,
    pub jobs: HashMap<(String, i32), JobEntry>,
    pub subscriptions: HashMap<i32, Subscription>,
    next_subscription: i32,
    proxies: HashMap<String, Proxy>,
    tokens: HashMap<String, Token>,
}

pub(super) struct InfraState {
    pub documents: Arc<UploadService>,
    pub public_url: String,
    pub long_poll: Duration,
    pub started: Instant,
    tables: Mutex<Tables>,
}

/// A credential check that failed, and whether the caller gave any credential at all.
#[derive(Debug, PartialEq, Eq)]
pub(super) enum AuthFailure {
    Missing,
    Invalid,
}

impl InfraState {
    pub fn new(documents: Arc<UploadService>, public_url: &str, long_poll: Duration) -> Self {
        Self {
            documents,
            public_url: public_url.trim_end_matches('/').to_owned(),
            long_poll,
            started: Instant::now(),
            tables: Mutex::new(Tables::default()),
        }
    }

    pub fn lock(&self) -> MutexGuard<'_, Tables> {
        // A panic while holding the lock leaves plain data behind; keep serving it.
        self.tables.lock().unwrap_or_else(|e| e.into_inner())
    }

    pub fn printer_uri(&self, printer_id: &str) -> String {
        format!("{}/printers/{printer_id}", self.public_url)
    }

    pub fn up_time(&self) -> i32 {
        i32::try_from(self.started.elapsed().as_secs())
            .unwrap_or(i32::MAX)
            .max(1)
    }

    pub fn add_printer(&self, printer_id: &str, display_name: &str) -> Result<(), InfraError> {
        let mut t = self.lock();
        if t.printers.contains_key(printer_id) {
            return Err(InfraError::PrinterExists(printer_id.to_owned()));
        }
        t.printers.insert(
            printer_id.to_owned(),
            PrinterEntry {
                display_name: display_name.to_owned(),
                device_attributes: Vec::new(),
                view: PrinterView {
                    capabilities: None,
                    defaults: None,
                    status: PrinterStatus::default(),
                    last_seen: None,
                    registered: Utc::now(),
                    output_device_uuid: None,
                },
                wakeup: Arc::new(Notify::new()),
            },
        );
        Ok(())
    }

    pub fn add_proxy(
        &self,
        printer_id: &str,
        name: &str,
        user: &str,
        password: &str,
    ) -> Result<(), InfraError> {
        let mut t = self.lock();
        if !t.printers.contains_key(printer_id) {
            return Err(InfraError::UnknownPrinter(printer_id.to_owned()));
        }
        if t.proxies.contains_key(name) {
            return Err(InfraError::ProxyNameTaken(name.to_owned()));
        }
        t.proxies.insert(
            name.to_owned(),
            Proxy {
                printer_id: printer_id.to_owned(),
                user: user.to_owned(),
                password: password.to_owned(),
            },
        );
        Ok(())
    }

    pub fn issue_token(&self, printer_id: &str, lifetime: Duration) -> Result<String, InfraError> {
        let mut t = self.lock();
        if !t.printers.contains_key(printer_id) {
            return Err(InfraError::UnknownPrinter(printer_id.to_owned()));
        }
        let now = Instant::now();
        t.tokens.retain(|_, token| token.expires > now);
        let token = format!(
            "{}{}",
            uuid::Uuid::new_v4().simple(),
            uuid::Uuid::new_v4().simple()
        );
        t.tokens.insert(
            token.clone(),
            Token {
                printer_id: printer_id.to_owned(),
                expires: now + lifetime,
            },
        );
        Ok(token)
    }

    /// The printer a bearer token is bound to.
    pub fn printer_for_token(&self, token: Option<&str>) -> Result<String, AuthFailure> {
        let token = token.ok_or(AuthFailure::Missing)?;
        let t = self.lock();
        match t.tokens.get(token) {
            Some(found) if found.expires > Instant::now() => Ok(found.printer_id.clone()),
            _ => Err(AuthFailure::Invalid),
        }
    }

    /// The printer a proxy serves at `/ipp/print/{name}`, if its Basic credentials match.
    pub fn printer_for_proxy(
        &self,
        name: &str,
        basic: Option<(&str, &str)>,
    ) -> Result<String, AuthFailure> {
        let (user, password) = basic.ok_or(AuthFailure::Missing)?;
        let t = self.lock();
        match t.proxies.get(name) {
            Some(p) if p.user == user && constant_time_eq(&p.password, password) => {
                Ok(p.printer_id.clone())
            }
            _ => Err(AuthFailure::Invalid),
        }
    }

    pub fn start_job(&self, ticket: JobTicket) -> Result<i32, InfraError> {
        let mut t = self.lock();
        if !t.printers.contains_key(&ticket.printer_id) {
            return Err(InfraError::UnknownPrinter(ticket.printer_id));
        }
        let key = (ticket.printer_id.clone(), ticket.job_id);
        if t.jobs.contains_key(&key) {
            return Err(InfraError::JobExists(ticket.job_id));
        }
        let job_id = ticket.job_id;
        let printer_id = ticket.printer_id.clone();
        let text = format!("job {job_id} ({}) is fetchable", ticket.job_name);
        t.jobs.insert(
            key,
            JobEntry {
                ticket,
                fetchable: true,
                acknowledged: false,
                document_acknowledged: false,
                status: PrintJobStatus {
                    state: PrintJobProcessingState::Pending,
                    details: Vec::new(),
                    description: crate::model::ipp_mapping::default_job_description(
                        PrintJobProcessingState::Pending,
                    )
                    .to_owned(),
                    is_acquired_by_printer: false,
                },
                impressions_completed: None,
                document_state: None,
            },
        );
        raise(
            &mut t,
            &printer_id,
            EventKind::JobFetchable,
            Some(job_id),
            Some(3),
            &text,
        );
        Ok(job_id)
    }

    pub fn cancel_job(&self, printer_id: &str, job_id: i32) -> Result<(), InfraError> {
        let mut t = self.lock();
        let job = t
            .jobs
            .get_mut(&(printer_id.to_owned(), job_id))
            .ok_or_else(|| InfraError::UnknownJob {
                printer_id: printer_id.to_owned(),
                job_id,
            })?;
        if job.is_terminal() {
            return Ok(());
        }
        job.fetchable = false;
        job.status.state = PrintJobProcessingState::Canceled;
        job.status.description =
            crate::model::ipp_mapping::default_job_description(PrintJobProcessingState::Canceled)
                .to_owned();
        let text = format!("job {job_id} was canceled");
        raise(
            &mut t,
            printer_id,
            EventKind::JobStateChanged,
            Some(job_id),
            Some(7),
            &text,
        );
        Ok(())
    }

    pub fn job_status(&self, printer_id: &str, job_id: i32) -> Result<PrintJobStatus, InfraError> {
        self.lock()
            .jobs
            .get(&(printer_id.to_owned(), job_id))
            .map(|j| j.status.clone())
            .ok_or_else(|| InfraError::UnknownJob {
                printer_id: printer_id.to_owned(),
                job_id,
            })
    }

    pub fn printer_view(&self, printer_id: &str) -> Result<PrinterView, InfraError> {
        self.lock()
            .printers
            .get(printer_id)
            .map(|p| p.view.clone())
            .ok_or_else(|| InfraError::UnknownPrinter(printer_id.to_owned()))
    }
}

impl Tables {
    pub fn touch(&mut self, printer_id: &str) {
        if let Some(p) = self.printers.get_mut(printer_id) {
            p.view.last_seen = Some(Utc::now());
        }
    }

    /// Replaces (or, with `merge`, updates) the device attributes and recomputes the Graph view.
    /// Returns the attributes that had no Graph counterpart.
    pub fn update_device_attributes(
        &mut self,
        printer_id: &str,
        attributes: Vec<Attribute>,
        device_uuid: Option<String>,
    ) -> Vec<String> {
        let Some(p) = self.printers.get_mut(printer_id) else {
            return Vec::new();
        };
        for attribute in attributes {
            match p
                .device_attributes
                .iter_mut()
                .find(|a| a.name == attribute.name)
            {
                Some(existing) => *existing = attribute,
                None => p.device_attributes.push(attribute),
            }
        }
        if device_uuid.is_some() {
            p.view.output_device_uuid = device_uuid;
        }
        let config = graph_from_printer_attributes(&p.device_attributes);
        let status = printer_status_from_ipp(&p.device_attributes);
        let (caps, defaults) = config.value;
        p.view.capabilities = Some(caps);
        p.view.defaults = Some(defaults);
        p.view.status = status.value;
        let mut unmapped: Vec<String> = config
            .unmapped
            .iter()
            .chain(status.unmapped.iter())
            .map(|u| u.attribute.clone())
            .collect();
        unmapped.dedup();
        let name = p.display_name.clone();
        raise(
            self,
            printer_id,
            EventKind::PrinterConfigChanged,
            None,
            None,
            &format!("printer {name} changed"),
        );
        unmapped
    }

    /// Applies an Update-Job-Status; raises `job-state-changed` when the state moved.
    pub fn update_job_status(&mut self, printer_id: &str, job_id: i32, attrs: &[Attribute]) {
        let Some(job) = self.jobs.get_mut(&(printer_id.to_owned(), job_id)) else {
            return;
        };
        let before = job.status.state;
        let mapped = job_status_from_ipp(attrs, job.acknowledged).value;
        if mapped.state != PrintJobProcessingState::Unknown {
            job.status = mapped;
        }
        if let Some(done) = crate::ipp::AttributeLookup::integer(attrs, "job-impressions-completed")
        {
            job.impressions_completed = Some(done);
        }
        if job.status.state != before {
            let ipp_state = crate::model::ipp_mapping::JOB_STATES
                .iter()
                .find(|(g, _)| *g == job.status.state)
                .map(|(_, v)| *v);
            let text = format!("job {job_id} is now {:?}", job.status.state);
            raise(
                self,
                printer_id,
                EventKind::JobStateChanged,
                Some(job_id),
                ipp_state,
                &text,
            );
        }
    }

    pub fn new_subscription(&mut self, printer_id: &str, events: Vec<EventKind>) -> i32 {
        self.next_subscription += 1;
        let id = self.next_subscription;
        self.subscriptions
            .insert(id, Subscription::new(printer_id.to_owned(), events));
        id
    }
}

/// Queues an event for every subscription of the printer and wakes its long polls.
fn raise(
    t: &mut Tables,
    printer_id: &str,
    kind: EventKind,
    job_id: Option<i32>,
    job_state: Option<i32>,
    text: &str,
) {
    for s in t.subscriptions.values_mut() {
        if s.printer_id == printer_id {
            s.offer(kind, job_id, job_state, text);
        }
    }
    if let Some(p) = t.printers.get(printer_id) {
        p.wakeup.notify_waiters();
    }
}

/// Compares secrets without stopping at the first difference.
fn constant_time_eq(a: &str, b: &str) -> bool {
    a.len() == b.len()
        && a.bytes()
            .zip(b.bytes())
            .fold(0u8, |acc, (x, y)| acc | (x ^ y))
            == 0
}
