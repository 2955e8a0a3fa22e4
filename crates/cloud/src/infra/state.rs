//! The device side's state. Printers and jobs are the cloud's own store records (one record
//! each, shared with Graph); only ippget subscriptions, their queues and the long-poll wakeups
//! live in memory, because a device re-subscribes and re-primes with Get-Jobs after a restart.

use super::events::{EventKind, Subscription};
use crate::auth::{TokenKey, TokenKeyError};
use crate::store::{
    DeviceRecord, IppUserRecord, JobRecord, PrinterRecord, ProxyRecord, Store, StoreError,
};
use crate::upload::UploadService;
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use chrono::Utc;
use printlab_graph::{PrintJobProcessingState, PrintJobStatus};
use printlab_ipp::{Attribute, AttributeLookup, GroupTag, Limits, Message, StatusCode, Value};
use printlab_mapping::{
    graph_from_printer_attributes, job_status_from_ipp, printer_status_from_ipp,
};
use sha2::{Digest, Sha256};
use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;

/// Why a device-side call failed.
#[derive(Debug, thiserror::Error)]
pub enum InfraServiceError {
    #[error("printer `{0}` does not exist")]
    UnknownPrinter(String),
    #[error("printer URI name `{0}` is already taken")]
    ProxyNameTaken(String),
    #[error("printer URI name `{0}` must be 1-64 letters, digits, `-`, `_` or `.`")]
    BadProxyName(String),
    #[error("IPP user name `{0}` must be 1-64 letters, digits, `-`, `_`, `.` or `@`")]
    BadUserName(String),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Token(#[from] TokenKeyError),
}

/// How long Get-Notifications with `notify-wait` is held when nothing happens, by the HTTP the
/// request came over.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LongPoll {
    /// HTTP/1.x: a held request holds a connection, and proxies cut a silent response after
    /// about a minute ([`super::DEFAULT_LONG_POLL`]).
    pub http1: Duration,
    /// HTTP/2 and later: a held request is one stream of a shared connection
    /// ([`super::DEFAULT_LONG_POLL_HTTP2`]).
    pub http2: Duration,
}

impl LongPoll {
    /// The same hold whatever the HTTP (tests shorten it so).
    pub fn always(hold: Duration) -> Self {
        Self {
            http1: hold,
            http2: hold,
        }
    }

    /// The lease of a printer subscription: [`SUBSCRIPTION_LEASE_HOLDS`] of the longer hold,
    /// so a subscriber that keeps polling renews it many times over, and a subscription nobody
    /// polls any more (its device restarted and subscribed again) ends within the hour at the
    /// default holds instead of collecting events for ever.
    pub fn subscription_lease(&self) -> Duration {
        self.http1.max(self.http2) * SUBSCRIPTION_LEASE_HOLDS
    }

    /// The hold for a request that came over `version`.
    pub fn over(&self, version: axum::http::Version) -> Duration {
        use axum::http::Version;
        match version {
            Version::HTTP_09 | Version::HTTP_10 | Version::HTTP_11 => self.http1,
            _ => self.http2,
        }
    }
}

/// Long-poll holds in a printer subscription's lease: 12 of the default 5-minute HTTP/2 hold is
/// an hour.
pub const SUBSCRIPTION_LEASE_HOLDS: u32 = 12;

impl Default for LongPoll {
    fn default() -> Self {
        Self {
            http1: super::DEFAULT_LONG_POLL,
            http2: super::DEFAULT_LONG_POLL_HTTP2,
        }
    }
}

/// Subscriptions and the per-printer wakeups their long polls wait on.
#[derive(Default)]
pub(super) struct Live {
    pub subscriptions: HashMap<i32, Subscription>,
    /// The ids in `subscriptions` by printer, so an event looks only at its printer's
    /// subscriptions: with 10,000 printers subscribed, every event scanned all of them.
    by_printer: HashMap<String, Vec<i32>>,
    next_subscription: i32,
    wakeups: HashMap<String, Arc<Notify>>,
    /// Identify-Printer requests the printer's output device has not acknowledged yet, by
    /// printer (a newer request replaces an older one, as one blink answers both).
    pub identify_requests: HashMap<String, IdentifyRequest>,
    /// When each printer's description and state last changed, as this service saw it; a
    /// printer not listed has not changed since the service started.
    pub changes: HashMap<String, PrinterChanges>,
    /// The `lastSeenDateTime` and output-device-uuid last written to each printer's record by
    /// this service, so a device's request with nothing new to record reads no record.
    pub last_seen: HashMap<String, (chrono::DateTime<chrono::Utc>, Option<String>)>,
}

/// A client's Identify-Printer waiting for the output device (PWG 5100.18's
/// Acknowledge-Identify-Printer takes it).
#[derive(Debug, Clone, PartialEq)]
pub(super) struct IdentifyRequest {
    pub actions: Vec<String>,
    pub message: Option<String>,
}

/// `printer-config-change-*` and `printer-state-change-*`.
#[derive(Debug, Clone, Copy)]
pub(super) struct PrinterChanges {
    pub config: chrono::DateTime<Utc>,
    pub state: chrono::DateTime<Utc>,
}

impl PrinterChanges {
    /// A printer unchanged since the service started at `started`.
    pub fn none_since(started: chrono::DateTime<Utc>) -> Self {
        Self {
            config: started,
            state: started,
        }
    }
}

impl Live {
    /// A subscription of the printer's device (`owner` `None`) or of a client, optionally for
    /// one job's events only; a printer subscription (no job) holds a `lease`. The printer's
    /// subscriptions whose lease ran out are forgotten first, so a device that restarts and
    /// subscribes again does not leave its old subscription behind.
    pub fn new_owned_subscription(
        &mut self,
        printer_id: &str,
        owner: Option<&str>,
        job_id: Option<i32>,
        events: Vec<EventKind>,
        lease: Duration,
    ) -> i32 {
        let now = Instant::now();
        self.remove_expired_subscriptions(printer_id, now);
        self.next_subscription += 1;
        let id = self.next_subscription;
        let mut subscription = Subscription::new(printer_id.to_owned(), events);
        subscription.owner = owner.map(str::to_owned);
        subscription.job_id = job_id;
        subscription.lease = job_id.is_none().then_some(lease);
        subscription.renew(now);
        self.subscriptions.insert(id, subscription);
        self.by_printer
            .entry(printer_id.to_owned())
            .or_default()
            .push(id);
        id
    }

    /// Forgets the printer's subscriptions whose lease ran out.
    fn remove_expired_subscriptions(&mut self, printer_id: &str, now: Instant) {
        let expired: Vec<i32> = (self.by_printer.get(printer_id).into_iter().flatten())
            .filter(|id| self.subscriptions.get(id).is_some_and(|s| s.expired(now)))
            .copied()
            .collect();
        for id in expired {
            self.remove_subscription(id);
        }
    }

    /// Forgets one subscription.
    pub fn remove_subscription(&mut self, id: i32) {
        let Some(gone) = self.subscriptions.remove(&id) else {
            return;
        };
        if let Some(ids) = self.by_printer.get_mut(&gone.printer_id) {
            ids.retain(|other| *other != id);
            if ids.is_empty() {
                self.by_printer.remove(&gone.printer_id);
            }
        }
    }

    /// Forgets every subscription of a printer.
    pub fn remove_printer_subscriptions(&mut self, printer_id: &str) {
        for id in self.by_printer.remove(printer_id).unwrap_or_default() {
            self.subscriptions.remove(&id);
        }
    }

    /// Queues an event for every subscription of the printer.
    fn offer(
        &mut self,
        printer_id: &str,
        kind: EventKind,
        job_id: Option<i32>,
        job_state: Option<i32>,
        text: &str,
    ) {
        let now = Instant::now();
        for id in self.by_printer.get(printer_id).into_iter().flatten() {
            // An expired subscription is gone to its subscriber: nothing is queued for it.
            if let Some(subscription) = self.subscriptions.get_mut(id)
                && !subscription.expired(now)
            {
                subscription.offer(kind, job_id, job_state, text);
            }
        }
    }

    pub fn wakeup(&mut self, printer_id: &str) -> Arc<Notify> {
        self.wakeups
            .entry(printer_id.to_owned())
            .or_insert_with(|| Arc::new(Notify::new()))
            .clone()
    }
}

pub(super) struct InfraState {
    pub store: Store,
    pub tokens: TokenKey,
    pub documents: Arc<UploadService>,
    /// The base URL devices reach the cloud at ([`crate::CloudOptions::device_url`]), which the
    /// printer URIs it hands them name.
    pub device_url: String,
    pub long_poll: LongPoll,
    /// Refuse what PWG's reference peers refuse ([`crate::CloudOptions::infra_strict_reference`]).
    pub strict_reference: bool,
    /// Cancelled when the server serving this state shuts down: held long polls answer at
    /// once instead of keeping a graceful shutdown waiting for up to a `long_poll`.
    serving: Mutex<CancellationToken>,
    pub started: Instant,
    /// `started` on the wall clock, for the `*-date-time` attributes.
    pub started_at: chrono::DateTime<Utc>,
    /// PWG 5100.14's `multiple-operation-time-out`: how long a job made by Create-Job waits for
    /// its document before it is aborted.
    pub multiple_operation_time_out: Duration,
    /// The cloud's one read-modify-write lock, shared with the Graph side.
    write_lock: Arc<Mutex<()>>,
    live: Mutex<Live>,
    /// Graph change notifications: a job an IPP client printed becomes fetchable as a Graph
    /// job does, and `JobFetchable` subscribers hear of it alike.
    pub webhooks: crate::webhooks::Webhooks,
    pub metrics: crate::metrics::CloudMetrics,
}

/// An IPP user credential as issued: the password is shown once and stored only as a hash.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IppUserCredential {
    pub username: String,
    pub password: String,
    /// The Graph user its jobs belong to.
    pub upn: String,
}

/// A credential check that failed, and whether the caller gave any credential at all.
#[derive(Debug, PartialEq, Eq)]
pub(super) enum AuthFailure {
    Missing,
    Invalid,
}

impl InfraState {
    pub fn new(
        shared: super::SharedWithGraph,
        device_url: &str,
        long_poll: LongPoll,
        strict_reference: bool,
        multiple_operation_time_out: Duration,
    ) -> Self {
        let super::SharedWithGraph {
            store,
            tokens,
            documents,
            write_lock,
            webhooks,
            metrics,
        } = shared;
        Self {
            webhooks,
            metrics,
            store,
            tokens,
            documents,
            device_url: device_url.trim_end_matches('/').to_owned(),
            long_poll,
            strict_reference,
            serving: Mutex::new(CancellationToken::new()),
            started: Instant::now(),
            started_at: Utc::now(),
            multiple_operation_time_out,
            write_lock,
            live: Mutex::new(Live::default()),
        }
    }

    /// Held across a read-modify-write of a record; never across an await.
    pub fn write_lock(&self) -> MutexGuard<'_, ()> {
        self.write_lock.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// A fresh serving token for a server that starts; cancelling it ends the long polls held
    /// from then on.
    pub fn start_serving(&self) -> CancellationToken {
        let token = CancellationToken::new();
        *self.serving.lock().unwrap_or_else(|e| e.into_inner()) = token.clone();
        token
    }

    /// Cancelled once the server shuts down.
    pub fn serving(&self) -> CancellationToken {
        self.serving
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    pub fn live(&self) -> MutexGuard<'_, Live> {
        // A panic while holding the lock leaves plain data behind; keep serving it.
        self.live.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The printer's IPP URI (`printer-uri-supported`, `job-printer-uri`): `/ipp/print/{name}`
    /// when an administrator provisioned it under a name, else `/printers/{id}`, in the
    /// `ipps`/`ipp` scheme of the cloud's URL.
    pub fn printer_uri(&self, printer_id: &str) -> String {
        let named = self.store.proxies().ok().and_then(|proxies| {
            proxies
                .into_iter()
                .find(|p| p.printer_id == printer_id)
                .map(|p| p.name)
        });
        match named {
            Some(name) => self.proxy_printer_uri(&name),
            None => format!("{}/printers/{printer_id}", self.ipp_base()),
        }
    }

    /// Whether the cloud is reached over TLS (its printer URIs are then `ipps://`).
    pub fn serves_tls(&self) -> bool {
        self.device_url.starts_with("https://")
    }

    /// The cloud's URL in the IPP scheme that matches its HTTP one.
    fn ipp_base(&self) -> String {
        match self.device_url.split_once("://") {
            Some(("https", rest)) => format!("ipps://{rest}"),
            Some((_, rest)) => format!("ipp://{rest}"),
            None => self.device_url.clone(),
        }
    }

    pub fn up_time(&self) -> i32 {
        i32::try_from(self.started.elapsed().as_secs())
            .unwrap_or(i32::MAX)
            .max(1)
    }

    fn existing_printer(&self, printer_id: &str) -> Result<PrinterRecord, InfraServiceError> {
        self.store
            .printer(printer_id)?
            .ok_or_else(|| InfraServiceError::UnknownPrinter(printer_id.to_owned()))
    }

    pub async fn add_proxy(
        &self,
        printer_id: &str,
        name: &str,
        user: &str,
        password: &str,
    ) -> Result<(), InfraServiceError> {
        let valid_name = !name.is_empty()
            && name.len() <= 64
            && name
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"-_.".contains(&b));
        if !valid_name {
            return Err(InfraServiceError::BadProxyName(name.to_owned()));
        }
        self.existing_printer(printer_id)?;
        let record = ProxyRecord {
            name: name.to_owned(),
            printer_id: printer_id.to_owned(),
            username: user.to_owned(),
            password_sha256: sha256_hex(password),
        };
        if !self.store.insert_proxy(&record)? {
            return Err(InfraServiceError::ProxyNameTaken(name.to_owned()));
        }
        self.store.flush().await?;
        Ok(())
    }

    /// Issues (or replaces) the IPP user credential of the user `name`: HTTP Basic
    /// `name`/password on the printers' IPP URIs, for clients that cannot send a bearer token.
    /// Jobs it creates belong to the Graph user `name` (its UPN as `printlab token` makes it).
    pub async fn issue_user_credential(
        &self,
        name: &str,
    ) -> Result<IppUserCredential, InfraServiceError> {
        let valid_name = !name.is_empty()
            && name.len() <= 64
            && name
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"-_.@".contains(&b));
        if !valid_name {
            return Err(InfraServiceError::BadUserName(name.to_owned()));
        }
        let user = super::service::client_user_named(name);
        let password = uuid::Uuid::new_v4().simple().to_string();
        self.store.put_ipp_user(&IppUserRecord {
            username: name.to_owned(),
            user_id: user.id,
            upn: user.upn.clone(),
            password_sha256: sha256_hex(&password),
        })?;
        self.store.flush().await?;
        Ok(IppUserCredential {
            username: name.to_owned(),
            password,
            upn: user.upn,
        })
    }

    pub fn issue_token(
        &self,
        printer_id: &str,
        lifetime: Duration,
    ) -> Result<String, InfraServiceError> {
        self.existing_printer(printer_id)?;
        let lifetime = chrono::Duration::from_std(lifetime).unwrap_or(chrono::Duration::MAX);
        Ok(self.tokens.mint_device(printer_id, lifetime)?)
    }

    /// The printer a bearer device token is bound to, if that printer still exists.
    pub fn printer_for_token(&self, token: Option<&str>) -> Result<String, AuthFailure> {
        let token = token.ok_or(AuthFailure::Missing)?;
        let printer_id = self
            .tokens
            .verify_device(token)
            .ok_or(AuthFailure::Invalid)?;
        match self.store.has_printer(&printer_id) {
            Ok(true) => Ok(printer_id),
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
        match self.store.proxy(name) {
            Ok(Some(p))
                if p.username == user
                    && constant_time_eq(&p.password_sha256, &sha256_hex(password)) =>
            {
                Ok(p.printer_id)
            }
            _ => Err(AuthFailure::Invalid),
        }
    }

    /// The proxy credentials (printer URI names) a Basic user/password pair holds, by name.
    pub fn proxies_for(
        &self,
        basic: Option<(&str, &str)>,
    ) -> Result<Vec<ProxyRecord>, AuthFailure> {
        let (user, password) = basic.ok_or(AuthFailure::Missing)?;
        let hash = sha256_hex(password);
        let held: Vec<ProxyRecord> = self
            .store
            .proxies()
            .map_err(|_| AuthFailure::Invalid)?
            .into_iter()
            .filter(|p| p.username == user && constant_time_eq(&p.password_sha256, &hash))
            .collect();
        if held.is_empty() {
            Err(AuthFailure::Invalid)
        } else {
            Ok(held)
        }
    }

    /// The URI a proxy serves the printer provisioned as `name` at, in the `ipp`/`ipps` scheme
    /// the cloud is reached with.
    pub fn proxy_printer_uri(&self, name: &str) -> String {
        format!("{}/ipp/print/{name}", self.ipp_base())
    }

    /// Queues an event for every subscription of the printer and wakes its long polls. Called
    /// only after the change it announces is flushed.
    pub fn raise(
        &self,
        printer_id: &str,
        kind: EventKind,
        job_id: Option<i32>,
        job_state: Option<i32>,
        text: &str,
    ) {
        let mut live = self.live();
        live.offer(printer_id, kind, job_id, job_state, text);
        if let Some(wakeup) = live.wakeups.get(printer_id) {
            wakeup.notify_waiters();
        }
    }
}

/// The IPP job-id of a Graph job number (numbers beyond IPP's range are never fetchable).
pub(super) fn ipp_job_id(record: &JobRecord) -> Option<i32> {
    record.job.id.parse::<i32>().ok().filter(|id| *id > 0)
}

pub(super) fn is_terminal(record: &JobRecord) -> bool {
    record.job.status.state.is_terminal()
}

/// A job the device side may see: its document is complete and it was started (or ended).
pub(super) fn is_handed_over(record: &JobRecord) -> bool {
    let status = &record.job.status;
    let waiting_for_start = status.state == PrintJobProcessingState::Paused
        && status
            .details
            .contains(&printlab_graph::PrintJobStateDetail::UploadPending);
    record.document_stored && !waiting_for_start
}

/// The device attributes kept on the printer record.
pub(super) fn device_attributes(device: &DeviceRecord) -> Vec<Attribute> {
    let Some(encoded) = &device.attributes_ipp else {
        return Vec::new();
    };
    let decoded = STANDARD
        .decode(encoded)
        .ok()
        .and_then(|bytes| printlab_ipp::decode(&bytes, &Limits::default()).ok());
    match decoded {
        Some((message, _)) => message
            .groups_of(GroupTag::PRINTER)
            .flat_map(|g| g.attributes.iter().cloned())
            .collect(),
        None => {
            tracing::error!("stored device attributes do not decode; treating them as empty");
            Vec::new()
        }
    }
}

fn store_device_attributes(device: &mut DeviceRecord, attributes: Vec<Attribute>) {
    if attributes.is_empty() {
        device.attributes_ipp = None;
        return;
    }
    let mut message = Message::response(StatusCode::SUCCESSFUL_OK, 0);
    message.push_group(printlab_ipp::Group {
        tag: GroupTag::PRINTER,
        attributes,
    });
    match message.to_bytes() {
        Ok(bytes) => device.attributes_ipp = Some(STANDARD.encode(bytes)),
        Err(e) => {
            tracing::error!(error = %e, "device attributes do not encode; keeping the old ones")
        }
    }
}

/// Merges device attributes by name into the printer record and recomputes its Graph view
/// (capabilities, defaults, status, isAcceptingJobs). Returns the attributes that have no Graph
/// counterpart.
pub(super) fn update_device_attributes(
    record: &mut PrinterRecord,
    attributes: Vec<Attribute>,
) -> Vec<String> {
    let mut merged = device_attributes(&record.device);
    for attribute in attributes {
        match merged.iter_mut().find(|a| a.name == attribute.name) {
            Some(existing) => *existing = attribute,
            None => merged.push(attribute),
        }
    }
    let config = graph_from_printer_attributes(&merged);
    let status = printer_status_from_ipp(&merged);
    let (capabilities, defaults) = config.value;
    record.printer.capabilities = Some(capabilities);
    // The device's defaults are what a factory reset brings back; they become the printer's
    // defaults too unless an administrator changed those (then they differ from the factory
    // ones until restoreFactoryDefaults), so a device reconnecting does not undo a PATCH.
    let customised = record
        .printer
        .defaults
        .as_ref()
        .is_some_and(|current| *current != record.factory_defaults);
    if !customised {
        record.printer.defaults = Some(defaults.clone());
    }
    record.factory_defaults = defaults;
    record.printer.status = status.value;
    if let Some(accepting) = is_accepting_jobs(&merged) {
        record.printer.is_accepting_jobs = Some(accepting);
    }
    let mut unmapped: Vec<String> = config
        .unmapped
        .iter()
        .chain(status.unmapped.iter())
        .map(|u| u.attribute.clone())
        .collect();
    unmapped.sort();
    unmapped.dedup();
    store_device_attributes(&mut record.device, merged);
    unmapped
}

/// The reasons that, on a stopped printer, mean it takes no jobs at all (PWG 5100.22
/// `deactivated`, as Deactivate-Printer sets it with `printer-is-accepting-jobs` false; RFC 8011
/// `shutdown`). Other stops (a jam, no paper, an open cover) hold jobs in the queue: printers
/// accept them meanwhile.
const REASONS_REFUSING_JOBS: [&str; 2] = ["deactivated", "shutdown"];

/// `printer-is-accepting-jobs` as the device reported it, else inferred from its state: PWG
/// 5100.18 does not require a proxy to send it (ippsample's ippproxy never does), and Graph
/// would show `isAcceptingJobs: null` for such a printer. Accepting unless stopped with a
/// reason in [`REASONS_REFUSING_JOBS`]; `None` only while the device has reported no state.
fn is_accepting_jobs(attributes: &[Attribute]) -> Option<bool> {
    if let Some(reported) = attributes
        .attr("printer-is-accepting-jobs")
        .and_then(|a| a.first())
        .and_then(Value::as_boolean)
    {
        return Some(reported);
    }
    let state = attributes.enum_value("printer-state")?;
    let refusing = attributes.attr("printer-state-reasons").is_some_and(|a| {
        a.values.iter().filter_map(Value::as_str).any(|reason| {
            let bare = ["-report", "-warning", "-error"]
                .iter()
                .find_map(|suffix| reason.strip_suffix(suffix))
                .unwrap_or(reason);
            REASONS_REFUSING_JOBS.contains(&bare)
        })
    });
    Some(!(state == PRINTER_STATE_STOPPED && refusing))
}

/// RFC 8011 `printer-state` 5.
const PRINTER_STATE_STOPPED: i32 = 5;

/// Forgets the output device: its attributes, identity and status.
pub(super) fn clear_device(record: &mut PrinterRecord) {
    record.device = DeviceRecord::default();
    record.printer.status.state = printlab_graph::PrinterProcessingState::Stopped;
    record.printer.status.description = Some("The output device deregistered.".to_owned());
}

/// Applies an Update-Job-Status (or a state from Update-Active-Jobs). A job the cloud already
/// ended (canceled from Graph, say) keeps its final state; progress counters still count.
/// Returns the new IPP job state when the Graph state moved.
pub(super) fn apply_job_status(record: &mut JobRecord, attrs: &[Attribute]) -> Option<i32> {
    use printlab_ipp::AttributeLookup;
    if let Some(done) = attrs.integer("job-impressions-completed") {
        record.device.impressions_completed = Some(done);
    }
    if let Some(done) = attrs.integer("job-media-sheets-completed") {
        record.device.media_sheets_completed = Some(done);
    }
    if is_terminal(record) {
        return None;
    }
    let before = record.job.status.state;
    let mapped: PrintJobStatus = job_status_from_ipp(attrs, record.device.acknowledged).value;
    if mapped.state == PrintJobProcessingState::Unknown {
        return None;
    }
    record.job.status = mapped;
    if record.job.status.state.is_terminal() {
        record.job.is_fetchable = false;
    }
    (record.job.status.state != before).then(|| ipp_job_state(record.job.status.state))
}

pub(super) fn ipp_job_state(state: PrintJobProcessingState) -> i32 {
    printlab_mapping::JOB_STATES
        .iter()
        .find(|(g, _)| *g == state)
        .map(|(_, v)| *v)
        .unwrap_or(3)
}

/// Marks the job acquired (or refused, for a `fetch-status-code` other than successful-ok).
pub(super) fn acknowledge(record: &mut JobRecord, fetch_status: Option<i32>) {
    record.job.is_fetchable = false;
    if let Some(code) = fetch_status.filter(|code| *code != 0) {
        record.job.status.state = PrintJobProcessingState::Aborted;
        record.job.status.description = format!(
            "The printer refused the job (fetch-status-code {}).",
            StatusCode(u16::try_from(code).unwrap_or(u16::MAX))
        );
    } else {
        record.device.acknowledged = true;
        record.job.status.is_acquired_by_printer = true;
        record.job.acknowledged_date_time = Some(Utc::now());
    }
}

/// Whether `password` hashes to `stored` (SHA-256, hex), compared in constant time.
pub(super) fn password_matches(stored: &str, password: &str) -> bool {
    constant_time_eq(stored, &sha256_hex(password))
}

pub(super) fn sha256_hex(secret: &str) -> String {
    hex::encode(Sha256::digest(secret.as_bytes()))
}

/// Compares secrets without stopping at the first difference.
fn constant_time_eq(a: &str, b: &str) -> bool {
    a.len() == b.len()
        && a.bytes()
            .zip(b.bytes())
            .fold(0u8, |acc, (x, y)| acc | (x ^ y))
            == 0
}

#[cfg(test)]
mod tests {
    use super::*;
    use printlab_graph::{
        PrintDocument, PrintJob, PrintJobConfiguration, PrinterDefaults, PrinterStatus,
    };

    fn started_job() -> JobRecord {
        JobRecord {
            printer_id: "p".into(),
            job: PrintJob {
                id: "7".into(),
                created_date_time: Utc::now(),
                created_by: None,
                configuration: PrintJobConfiguration::default(),
                status: PrintJobStatus {
                    state: PrintJobProcessingState::Processing,
                    details: Vec::new(),
                    description: String::new(),
                    is_acquired_by_printer: false,
                },
                is_fetchable: true,
                redirected_from: None,
                redirected_to: None,
                error_code: None,
                acknowledged_date_time: None,
                documents: None,
                tasks: None,
            },
            document: PrintDocument {
                id: "d".into(),
                display_name: Some("d.pdf".into()),
                content_type: Some("application/pdf".into()),
                size: 10,
                uploaded_date_time: Some(Utc::now()),
                downloaded_date_time: None,
            },
            owner_id: "u".into(),
            document_stored: true,
            declared_content_type: None,
            device: Default::default(),
        }
    }

    fn device_state(state: i32, sheets: i32) -> Vec<Attribute> {
        vec![
            Attribute::new("output-device-job-state", Value::Enum(state)),
            Attribute::new("job-media-sheets-completed", Value::Integer(sheets)),
        ]
    }

    /// Events a subscription holds from the first on (`None`: no such subscription).
    fn queued(live: &mut Live, id: i32) -> Option<usize> {
        live.subscriptions
            .get_mut(&id)
            .map(|s| s.take_from(1).len())
    }

    #[test]
    fn events_reach_only_their_printers_subscriptions_until_removed() {
        let mut live = Live::default();
        let events = || vec![EventKind::JobFetchable];
        let lease = LongPoll::default().subscription_lease();
        let a = live.new_owned_subscription("p1", None, None, events(), lease);
        let b = live.new_owned_subscription("p1", Some("user"), None, events(), lease);
        let other = live.new_owned_subscription("p2", None, None, events(), lease);
        live.offer("p1", EventKind::JobFetchable, Some(4), Some(3), "job 4");
        assert_eq!(queued(&mut live, a), Some(1));
        assert_eq!(queued(&mut live, b), Some(1));
        assert_eq!(queued(&mut live, other), Some(0));
        live.remove_subscription(a);
        live.offer("p1", EventKind::JobFetchable, Some(5), Some(3), "job 5");
        assert_eq!(queued(&mut live, a), None);
        assert_eq!(queued(&mut live, b), Some(2));
        live.remove_printer_subscriptions("p1");
        assert_eq!(queued(&mut live, b), None);
        assert_eq!(queued(&mut live, other), Some(0));
        assert!(!live.by_printer.contains_key("p1"));
    }

    /// A printer subscription whose lease ran out takes no events and is forgotten when its
    /// printer subscribes again; a job's subscription has no lease.
    #[test]
    fn an_expired_subscription_is_dropped_when_its_printer_subscribes_again() {
        let mut live = Live::default();
        let events = || vec![EventKind::JobFetchable, EventKind::JobStateChanged];
        let job = live.new_owned_subscription("p1", Some("u"), Some(4), events(), Duration::ZERO);
        let old = live.new_owned_subscription("p1", None, None, events(), Duration::ZERO);
        live.offer("p1", EventKind::JobStateChanged, Some(4), Some(5), "job 4");
        assert_eq!(queued(&mut live, old), Some(0));
        assert_eq!(queued(&mut live, job), Some(1));
        let hour = Duration::from_secs(3600);
        let new = live.new_owned_subscription("p1", None, None, events(), hour);
        assert_eq!(queued(&mut live, old), None);
        assert_eq!(live.by_printer["p1"], [job, new]);
        live.offer("p1", EventKind::JobFetchable, Some(5), Some(3), "job 5");
        assert_eq!(queued(&mut live, new), Some(1));
    }

    #[test]
    fn acknowledging_acquires_the_job_and_a_refusal_aborts_it() {
        let mut job = started_job();
        acknowledge(&mut job, None);
        assert!(job.device.acknowledged && job.job.status.is_acquired_by_printer);
        assert!(job.job.acknowledged_date_time.is_some() && !job.job.is_fetchable);
        let mut refused = started_job();
        acknowledge(&mut refused, Some(0x040A));
        assert_eq!(refused.job.status.state, PrintJobProcessingState::Aborted);
        assert!(!refused.job.status.is_acquired_by_printer);
    }

    #[test]
    fn a_job_the_cloud_ended_keeps_its_state_but_counts_progress() {
        let mut job = started_job();
        assert_eq!(apply_job_status(&mut job, &device_state(9, 2)), Some(9));
        assert_eq!(job.job.status.state, PrintJobProcessingState::Completed);
        job.job.status.state = PrintJobProcessingState::Canceled;
        assert_eq!(apply_job_status(&mut job, &device_state(5, 3)), None);
        assert_eq!(job.job.status.state, PrintJobProcessingState::Canceled);
        assert_eq!(job.device.media_sheets_completed, Some(3));
    }

    #[test]
    fn device_defaults_do_not_undo_an_administrators_defaults() {
        let mut record = PrinterRecord {
            printer: printlab_graph::Printer {
                id: "p".into(),
                display_name: "p".into(),
                manufacturer: None,
                model: None,
                is_accepting_jobs: None,
                status: PrinterStatus::default(),
                capabilities: None,
                defaults: Some(PrinterDefaults::default()),
                location: None,
                has_physical_device: true,
                is_shared: false,
                last_seen_date_time: None,
                registered_date_time: Utc::now(),
            },
            factory_defaults: PrinterDefaults::default(),
            registered_by: "admin".into(),
            physical_device_id: None,
            device: DeviceRecord::default(),
        };
        let copies = |n| vec![Attribute::new("copies-default", Value::Integer(n))];
        update_device_attributes(&mut record, copies(2));
        assert_eq!(
            record.printer.defaults.as_ref().unwrap().copies_per_job,
            Some(2)
        );
        record.printer.defaults.as_mut().unwrap().copies_per_job = Some(5);
        update_device_attributes(&mut record, copies(3));
        assert_eq!(
            record.printer.defaults.as_ref().unwrap().copies_per_job,
            Some(5)
        );
        assert_eq!(record.factory_defaults.copies_per_job, Some(3));
    }

    #[test]
    fn device_attributes_survive_the_record_and_merge_by_name() {
        let mut record = DeviceRecord::default();
        store_device_attributes(
            &mut record,
            vec![
                Attribute::new("printer-state", Value::Enum(3)),
                Attribute::new("printer-info", Value::text("hall")),
            ],
        );
        let json = serde_json::to_string(&record).unwrap();
        let back: DeviceRecord = serde_json::from_str(&json).unwrap();
        let attributes = device_attributes(&back);
        assert_eq!(attributes.len(), 2);
        assert_eq!(attributes[1].first().and_then(Value::as_str), Some("hall"));
        assert!(device_attributes(&DeviceRecord::default()).is_empty());
    }
}
