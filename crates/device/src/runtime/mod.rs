//! The device loop: one tokio task per printer, all on one runtime and one HTTP connection
//! pool, speaking PWG 5100.18 to the service through [`InfraClient`].
//!
//! A printer advertises its attributes, then a companion task holds an ippget subscription
//! open with Get-Notifications long polls and wakes the printer when jobs become fetchable or a
//! job it is printing is canceled. Idle printers therefore cost a parked task and one pending
//! HTTP request each, and no CPU; a slow fallback poll runs only while notifications fail.
//!
//! The spool is the device's memory: every step that the service must be able to rely on is
//! flushed before the service hears of it (Acknowledge-Job, Acknowledge-Document, each printed
//! sheet, the final state), so a device killed at any point restarts from the spool, reconciles
//! with Update-Active-Jobs, and neither loses an acknowledged job nor prints a sheet twice.

use super::config::{Connection, PrinterConfig};
use super::engine::{Engine, EngineEvent, Fault, JobWork};
use super::infra_client::{InfraClient, InfraError, JobReport, job_state};
use super::network::Network;
use super::registration::{
    DeviceDescription, DeviceTokens, RegistrationError, UniversalPrintAccess, ensure_registered,
    forget_registration, is_registered,
};
use super::spool::{JobRecord, NewJob, OutputRecord, Spool, SpoolError};
use printlab_graph::rules::check_job;
use printlab_graph::{PrintJobProcessingState, PrinterProcessingState};
use printlab_ipp::http::Credentials;
use printlab_ipp::{Attribute, AttributeLookup, Value};
use printlab_mapping::{
    graph_from_job_template, media_by_name, printer_attributes_from_graph, printer_status_to_ipp,
    ticket_from_graph,
};
use printlab_render::{self as render, DeviceProfile, EdgeMicrons, JobRequest, RenderError};
use rand::Rng;
use serde::Serialize;
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::io::AsyncReadExt;
use tokio::sync::{Notify, mpsc, watch};
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;
use tracing::{Instrument, error, error_span, info, warn};

/// Documents are streamed into the spool in chunks of this size: smaller chunks cost a
/// transaction each (see the spool's benchmark), larger ones only hold more memory.
const CHUNK: usize = 64 * 1024;
/// While notifications fail, look for fetchable jobs this often.
const FALLBACK_POLL: Duration = Duration::from_secs(30);
const BACKOFF_START: Duration = Duration::from_millis(250);
const BACKOFF_MAX: Duration = Duration::from_secs(30);
/// Event kind logged once the service has heard a job's final state.
const REPORTED: &str = "reported";

#[derive(Debug, thiserror::Error)]
pub enum RuntimeError {
    #[error("printer {printer}: {source}")]
    Infra { printer: String, source: InfraError },
    #[error("printer {printer}: {source}")]
    Spool { printer: String, source: SpoolError },
    #[error(
        "printer {0} uses Universal Print registration, which needs the service's URL: pass \
         --cloud URL, or give it an `infra` connection (printer URI + HTTP Basic) in printers.toml"
    )]
    NeedsCloud(String),
    /// A printer that must register first and has no admin token; the message (the
    /// registration error's) names the printer and how to mint a token.
    #[error("{message}")]
    NeedsAdminToken { message: String },
    #[error("printer {printer}: {message}")]
    Config { printer: String, message: String },
    #[error("cannot set up the fleet's HTTP client: {0}")]
    HttpClient(reqwest::Error),
}

/// Where and how one printer reaches its infrastructure printer.
#[derive(Debug, Clone)]
pub struct Endpoint {
    pub printer_uri: String,
    pub credentials: Credentials,
}

/// How one printer reaches its service: a plain INFRA printer URI, or Universal Print
/// registration and device tokens.
#[derive(Debug, Clone)]
pub enum Link {
    Infra(Endpoint),
    UniversalPrint(UniversalPrintAccess),
}

impl From<Endpoint> for Link {
    fn from(endpoint: Endpoint) -> Self {
        Link::Infra(endpoint)
    }
}

impl Link {
    /// The link a printer's connection names; Universal Print printers use `access`.
    pub fn from_config(
        printer: &PrinterConfig,
        access: Option<&UniversalPrintAccess>,
    ) -> Result<Self, RuntimeError> {
        match &printer.connection {
            Connection::UniversalPrint => access
                .cloned()
                .map(Link::UniversalPrint)
                .ok_or_else(|| RuntimeError::NeedsCloud(printer.name.clone())),
            Connection::Infra { .. } => Endpoint::from_config(printer).map(Link::Infra),
        }
    }
}

impl Endpoint {
    /// The endpoint a printer's `infra` connection names.
    pub fn from_config(printer: &PrinterConfig) -> Result<Self, RuntimeError> {
        match &printer.connection {
            Connection::UniversalPrint => Err(RuntimeError::NeedsCloud(printer.name.clone())),
            Connection::Infra {
                printer_uri,
                username,
                password,
            } => {
                let credentials = match password {
                    Some(secret) => Credentials::Basic {
                        user: username.clone().unwrap_or_else(|| printer.name.clone()),
                        password: secret.reveal().map_err(|e| RuntimeError::Config {
                            printer: printer.name.clone(),
                            message: e.to_string(),
                        })?,
                    },
                    None => Credentials::None,
                };
                Ok(Self {
                    printer_uri: printer_uri.clone(),
                    credentials,
                })
            }
        }
    }
}

/// What a person can do to a printer through the control API.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Control {
    /// Clear every fault (the jam, refill the tray, close the cover).
    Clear,
}

/// A printer's current state, for the control API and `printlab up`.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PrinterSnapshot {
    pub name: String,
    pub state: PrinterProcessingState,
    pub reasons: Vec<String>,
    pub connected: bool,
    /// Has told the service its capabilities and state at least once since it started. Unlike
    /// `connected` it stays true through later outages, so whoever waits for a printer to be
    /// ready cannot miss a connection that an offline window cut short.
    pub advertised: bool,
    /// The ippget subscription is in place: new jobs arrive as events, not by polling.
    pub subscribed: bool,
    pub job: Option<u32>,
    pub jobs_completed: u64,
}

/// A running printer, seen from outside its task.
#[derive(Clone)]
pub struct PrinterHandle {
    pub name: String,
    control: mpsc::Sender<Control>,
    status: watch::Receiver<PrinterSnapshot>,
}

impl PrinterHandle {
    pub fn snapshot(&self) -> PrinterSnapshot {
        self.status.borrow().clone()
    }

    /// Waits until the snapshot satisfies `pred`.
    pub async fn wait_for(&self, pred: impl Fn(&PrinterSnapshot) -> bool) -> PrinterSnapshot {
        let mut rx = self.status.clone();
        rx.wait_for(|s| pred(s))
            .await
            .map(|s| s.clone())
            .unwrap_or_else(|_| self.snapshot())
    }

    /// Sends a control action; false when the printer has stopped running.
    pub async fn control(&self, action: Control) -> bool {
        self.control.send(action).await.is_ok()
    }
}

/// A running fleet: its printers and their tasks.
pub struct RunningFleet {
    pub printers: Vec<PrinterHandle>,
    tasks: JoinSet<()>,
    shutdown: CancellationToken,
}

impl RunningFleet {
    pub fn printer(&self, name: &str) -> Option<&PrinterHandle> {
        self.printers.iter().find(|p| p.name == name)
    }

    /// Stops every printer (jobs in flight stay in the spool) and waits for the tasks.
    pub async fn shutdown(mut self) {
        self.shutdown.cancel();
        while self.tasks.join_next().await.is_some() {}
    }
}

/// How long a fleet's idle HTTP connection stays open for reuse. A long poll's connection is
/// reused the moment the poll is renewed; the connections of a burst (registration, a job's
/// requests) would otherwise stay open for reqwest's default 90 s, each with its buffers and
/// task here and on the service: about three idle connections per printer after a fleet's
/// start, more memory than the printers themselves.
pub const FLEET_POOL_IDLE: Duration = Duration::from_secs(5);
/// How many idle connections a fleet keeps at most. A fleet's start (every printer registering,
/// advertising and subscribing at once) opens several connections per printer; without a cap
/// they all wait out [`FLEET_POOL_IDLE`], and that peak stays in the process's resident memory
/// long after they close. Renewed long polls take their connection back at once, so they never
/// need more than a few idle ones.
pub const FLEET_POOL_MAX_IDLE: usize = 64;

/// The one HTTP client a fleet shares (one connection pool, one TLS configuration), with idle
/// connections capped at [`FLEET_POOL_MAX_IDLE`] and closed after [`FLEET_POOL_IDLE`].
pub fn fleet_http_client() -> Result<reqwest::Client, RuntimeError> {
    reqwest::Client::builder()
        .pool_idle_timeout(FLEET_POOL_IDLE)
        .pool_max_idle_per_host(FLEET_POOL_MAX_IDLE)
        .build()
        .map_err(RuntimeError::HttpClient)
}

/// Options shared by all printers of a fleet.
#[derive(Clone)]
pub struct FleetOptions {
    pub spool: Spool,
    /// Rendered sides go under `<out_root>/<printer>/<job>/`.
    pub out_root: PathBuf,
    /// One client for the whole fleet: [`fleet_http_client`].
    pub http: reqwest::Client,
    /// False: lay each job out to count its sheets but draw nothing (throughput runs).
    pub render: bool,
}

/// Starts one task per printer. Each printer's link comes from `endpoint_of` (an [`Endpoint`]
/// for INFRA printers, or a [`Link`]). A Universal Print printer registers (once; the spool
/// keeps its identity) and gets its device token inside its task, retrying with backoff while
/// the service is unreachable; one that has not registered and has no admin token is refused
/// here, before anything starts.
pub fn start_fleet<L: Into<Link>>(
    printers: &[PrinterConfig],
    endpoint_of: impl Fn(&PrinterConfig) -> Result<L, RuntimeError>,
    options: FleetOptions,
) -> Result<RunningFleet, RuntimeError> {
    let shutdown = CancellationToken::new();
    let mut tasks = JoinSet::new();
    let mut handles = Vec::new();
    for config in printers {
        let link = endpoint_of(config)?.into();
        let started = Instant::now();
        let network = Arc::new(Network::new(config.faults.clone(), started));
        let (control_tx, control_rx) = mpsc::channel(8);
        let mut engine = Engine::new(config.engine.clone(), config.faults.clone());
        let memory =
            options
                .spool
                .fault_memory(&config.name)
                .map_err(|source| RuntimeError::Spool {
                    printer: config.name.clone(),
                    source,
                })?;
        if let Some(memory) = memory {
            engine.restore(&memory);
        }
        let status = engine.status();
        let snapshot = PrinterSnapshot {
            name: config.name.clone(),
            state: status.state,
            reasons: status.ipp_reasons().into_iter().map(String::from).collect(),
            connected: false,
            advertised: false,
            subscribed: false,
            job: None,
            jobs_completed: 0,
        };
        let (status_tx, status_rx) = watch::channel(snapshot);
        let parts = DeviceParts {
            config: config.clone(),
            spool: options.spool.clone(),
            out_root: options.out_root.clone(),
            http: options.http.clone(),
            render_enabled: options.render,
            engine,
            started,
            network,
            control: control_rx,
            status: status_tx,
            shutdown: shutdown.child_token(),
        };
        // Spans at ERROR level so that even `--log warn` lines say whose they are.
        let span = error_span!("printer", name = %config.name);
        match link {
            Link::Infra(endpoint) => {
                let client = InfraClient::new(
                    options.http.clone(),
                    &endpoint.printer_uri,
                    &device_uuid(&config.name),
                    endpoint.credentials,
                )
                .map_err(|source| RuntimeError::Infra {
                    printer: config.name.clone(),
                    source,
                })?
                .with_network(parts.network.clone());
                tasks.spawn(
                    async move {
                        // Fixed credentials: there is no registration to lose, so no parts
                        // come back.
                        parts.into_device(Arc::new(client), None).run().await;
                    }
                    .instrument(span),
                );
            }
            Link::UniversalPrint(access) => {
                let registered = is_registered(&options.spool, &config.name).map_err(|source| {
                    RuntimeError::Spool {
                        printer: config.name.clone(),
                        source,
                    }
                })?;
                if !registered && access.admin_token.is_none() {
                    return Err(RuntimeError::NeedsAdminToken {
                        message: RegistrationError::NeedsAdminToken(config.name.clone())
                            .to_string(),
                    });
                }
                tasks.spawn(
                    async move {
                        let mut parts = parts;
                        // Boxed: the task keeps only the phase it is in, not room for both. A
                        // device the service stopped knowing comes back to register again.
                        while let Some((client, tokens)) =
                            Box::pin(parts.connect_universal_print(&access)).await
                        {
                            match Box::pin(parts.into_device(client, Some(tokens)).run()).await {
                                Some(returned) => parts = returned,
                                None => break,
                            }
                        }
                    }
                    .instrument(span),
                );
            }
        }
        handles.push(PrinterHandle {
            name: config.name.clone(),
            control: control_tx,
            status: status_rx,
        });
    }
    Ok(RunningFleet {
        printers: handles,
        tasks,
        shutdown,
    })
}

/// What a printer task owns before it knows how to reach its service.
struct DeviceParts {
    config: PrinterConfig,
    spool: Spool,
    out_root: PathBuf,
    http: reqwest::Client,
    render_enabled: bool,
    /// Restored from the spool's fault memory.
    engine: Engine,
    started: Instant,
    network: Arc<Network>,
    control: mpsc::Receiver<Control>,
    status: watch::Sender<PrinterSnapshot>,
    shutdown: CancellationToken,
}

impl DeviceParts {
    fn into_device(self, client: Arc<InfraClient>, tokens: Option<Arc<DeviceTokens>>) -> Device {
        Device {
            config: self.config,
            client,
            tokens,
            http: self.http,
            spool: self.spool,
            out_root: self.out_root,
            render_enabled: self.render_enabled,
            engine: self.engine,
            started: self.started,
            network: self.network,
            control: self.control,
            status: self.status,
            wake: Arc::new(Notify::new()),
            current: Arc::new(Mutex::new(None)),
            shutdown: self.shutdown,
        }
    }

    /// Registers (or reuses the spool's registration) and gets a device token, retrying with
    /// backoff; `None` on shutdown. The INFRA client then posts to `{cloud}/printers` with
    /// `printer-uri` `ipp(s)://{cloud host}/printers/{printer id}` and `output-device-uuid`
    /// `urn:uuid:{printer id}`, as Universal Print devices do (reference §4.1).
    async fn connect_universal_print(
        &self,
        access: &UniversalPrintAccess,
    ) -> Option<(Arc<InfraClient>, Arc<DeviceTokens>)> {
        let description = DeviceDescription {
            name: self.config.name.clone(),
            manufacturer: self
                .config
                .manufacturer
                .clone()
                .unwrap_or_else(|| "printlab".into()),
            model: self
                .config
                .model
                .clone()
                .unwrap_or_else(|| "Emulated printer".into()),
            device_id: device_uuid(&self.config.name),
        };
        let base = access.cloud_url.trim_end_matches('/');
        let mut attempt = 0;
        loop {
            let connected = async {
                let device =
                    ensure_registered(&self.http, &self.spool, access, &description).await?;
                let tokens = DeviceTokens::new(
                    self.http.clone(),
                    self.spool.clone(),
                    &self.config.name,
                    device,
                )?;
                let token = tokens.token().await?;
                Ok::<_, RegistrationError>((tokens, token))
            };
            let outcome = tokio::select! {
                r = connected => r,
                _ = self.shutdown.cancelled() => return None,
            };
            match outcome {
                Ok((tokens, token)) => {
                    let printer_id = tokens.device().printer_id.clone();
                    let client = InfraClient::with_endpoint(
                        self.http.clone(),
                        &format!("{base}/printers"),
                        &format!("{}/printers/{printer_id}", ipp_base(base)),
                        &printer_id,
                        Credentials::Bearer(token.access_token),
                    )
                    .with_network(self.network.clone());
                    return Some((Arc::new(client), Arc::new(tokens)));
                }
                Err(RegistrationError::NotKnown { detail, .. }) if access.admin_token.is_some() => {
                    warn!(%detail, "the service does not know this printer any more (deleted, or a reset or different service); registering again");
                    if let Err(e) = forget_registration(&self.spool, &self.config.name) {
                        warn!(error = %e, "cannot drop the old registration from the spool");
                    }
                }
                Err(e @ RegistrationError::NotKnown { .. }) => error!(
                    error = %e,
                    "only a new registration helps, and that needs an admin token (--admin-token); retrying"
                ),
                Err(e) => warn!(error = %e, "registration or device token failed; retrying"),
            }
            if !backoff(&mut attempt, &self.shutdown).await {
                return None;
            }
        }
    }
}

/// The IPP form of the service's base URL (`http` → `ipp`, `https` → `ipps`).
fn ipp_base(http_base: &str) -> String {
    if let Some(rest) = http_base.strip_prefix("https://") {
        format!("ipps://{rest}")
    } else if let Some(rest) = http_base.strip_prefix("http://") {
        format!("ipp://{rest}")
    } else {
        http_base.to_string()
    }
}

/// A stable UUID per printer name, so a restarted device is the same output device.
fn device_uuid(name: &str) -> String {
    use sha2::{Digest, Sha256};
    let digest = Sha256::digest(format!("printlab-device:{name}").as_bytes());
    let mut bytes = [0u8; 16];
    bytes.copy_from_slice(&digest[..16]);
    uuid::Builder::from_custom_bytes(bytes)
        .into_uuid()
        .to_string()
}

/// Sleeps a jittered, growing delay; returns false if shutdown came first.
async fn backoff(attempt: &mut u32, shutdown: &CancellationToken) -> bool {
    let base = BACKOFF_START
        .saturating_mul(1 << (*attempt).min(10))
        .min(BACKOFF_MAX);
    *attempt += 1;
    let jitter = rand::rng().random_range(0.5..1.5);
    tokio::select! {
        _ = tokio::time::sleep(base.mul_f64(jitter)) => true,
        _ = shutdown.cancelled() => false,
    }
}

/// Why a job's processing ended early.
enum Interrupted {
    Canceled,
    Shutdown,
    /// An offline window began: the session ends without a word to the service.
    Offline,
    Infra(InfraError),
    Spool(SpoolError),
}

impl From<InfraError> for Interrupted {
    fn from(e: InfraError) -> Self {
        match e {
            InfraError::Offline(_) => Interrupted::Offline,
            e => Interrupted::Infra(e),
        }
    }
}

impl From<SpoolError> for Interrupted {
    fn from(e: SpoolError) -> Self {
        Interrupted::Spool(e)
    }
}

struct Device {
    config: PrinterConfig,
    client: Arc<InfraClient>,
    /// Universal Print printers' device tokens (INFRA printers have fixed credentials).
    tokens: Option<Arc<DeviceTokens>>,
    /// Kept for a new registration (see [`Device::into_parts`]).
    http: reqwest::Client,
    spool: Spool,
    out_root: PathBuf,
    render_enabled: bool,
    engine: Engine,
    started: Instant,
    network: Arc<Network>,
    control: mpsc::Receiver<Control>,
    status: watch::Sender<PrinterSnapshot>,
    /// Rung by the notification task when jobs may be fetchable.
    wake: Arc<Notify>,
    /// The job being processed and its cancel token, which the notification task fires.
    current: Arc<Mutex<Option<(u32, CancellationToken)>>>,
    shutdown: CancellationToken,
}

impl Device {
    fn now(&self) -> Duration {
        self.started.elapsed()
    }

    /// Back to what a printer owns before it is connected, for a new registration.
    fn into_parts(self) -> DeviceParts {
        DeviceParts {
            config: self.config,
            spool: self.spool,
            out_root: self.out_root,
            http: self.http,
            render_enabled: self.render_enabled,
            engine: self.engine,
            started: self.started,
            network: self.network,
            control: self.control,
            status: self.status,
            shutdown: self.shutdown,
        }
    }

    /// Runs until shutdown; gives its parts back when the service no longer knows the device's
    /// registration (only a new one helps).
    async fn run(mut self) -> Option<DeviceParts> {
        let notifier = tokio::spawn(
            notification_loop(
                self.client.clone(),
                self.network.clone(),
                self.current.clone(),
                self.wake.clone(),
                self.status.clone(),
                self.shutdown.clone(),
            )
            .in_current_span(),
        );
        let refresher = self.tokens.clone().map(|tokens| {
            tokio::spawn(
                refresh_tokens(tokens, self.client.clone(), self.shutdown.clone())
                    .in_current_span(),
            )
        });
        let mut attempt = 0;
        let mut not_known = false;
        while !self.shutdown.is_cancelled() {
            if let Some(back) = self.network.offline_until() {
                // The engine keeps its job and faults; the service hears nothing until the
                // window ends, then the session starts over with advertise + reconcile.
                info!("offline window: not talking to the service");
                self.status.send_modify(|s| s.connected = false);
                tokio::select! {
                    _ = tokio::time::sleep_until(back.into()) => {}
                    _ = self.shutdown.cancelled() => break,
                }
                info!("offline window over: reconnecting");
                attempt = 0;
                continue;
            }
            match self.connected_session().await {
                Ok(()) => break,
                Err(Interrupted::Shutdown) => break,
                Err(Interrupted::Offline) => continue,
                Err(Interrupted::Infra(e)) if e.is_unauthorized() && self.tokens.is_some() => {
                    warn!(error = %e, "device token refused; getting a new one");
                    if let Err(RegistrationError::NotKnown { .. }) = self.renew_token().await {
                        not_known = true;
                        break;
                    }
                }
                Err(Interrupted::Infra(e)) => warn!(error = %e, "service unreachable; retrying"),
                Err(Interrupted::Spool(e)) => warn!(error = %e, "spool error; retrying"),
                Err(Interrupted::Canceled) => {}
            }
            self.status.send_modify(|s| s.connected = false);
            if !backoff(&mut attempt, &self.shutdown).await {
                break;
            }
        }
        notifier.abort();
        if let Some(refresher) = refresher {
            refresher.abort();
        }
        self.status.send_modify(|s| {
            s.connected = false;
            s.subscribed = false;
        });
        not_known.then(|| self.into_parts())
    }

    /// Replaces a device token the service refused (expired, or the service restarted with
    /// other keys) before the session starts again.
    async fn renew_token(&self) -> Result<(), RegistrationError> {
        let Some(tokens) = &self.tokens else {
            return Ok(());
        };
        tokens.invalidate().await?;
        match tokens.token().await {
            Ok(token) => {
                self.client
                    .set_credentials(Credentials::Bearer(token.access_token));
                Ok(())
            }
            Err(e) => {
                warn!(error = %e, "cannot get a device token");
                Err(e)
            }
        }
    }

    /// Advertise, resume what the spool holds, then take jobs until shutdown or an error.
    async fn connected_session(&mut self) -> Result<(), Interrupted> {
        self.advertise(true).await?;
        self.status.send_modify(|s| {
            s.connected = true;
            s.advertised = true;
        });
        info!("advertised to the service");
        // Jobs are boxed while they run: an idle printer's task then holds only its wait, not
        // room for every step of a job (kilobytes per printer in a fleet).
        Box::pin(self.reconcile()).await?;
        loop {
            for job in self.client.fetchable_jobs().await? {
                Box::pin(self.process_job(job, true)).await?;
            }
            let fallback = if self.status.borrow().subscribed {
                Duration::MAX
            } else {
                FALLBACK_POLL
            };
            tokio::select! {
                _ = self.wake.notified() => {}
                _ = tokio::time::sleep(fallback) => {}
                _ = self.network.offline() => return Err(Interrupted::Offline),
                _ = self.shutdown.cancelled() => return Err(Interrupted::Shutdown),
                Some(action) = self.control.recv() => self.apply_control(action).await?,
            }
        }
    }

    /// Update-Output-Device-Attributes with the state (and, on connect, the capabilities).
    async fn advertise(&mut self, with_capabilities: bool) -> Result<(), InfraError> {
        let status = self.engine.status();
        let mut attributes = if with_capabilities {
            let mut attrs =
                printer_attributes_from_graph(&self.config.capabilities, &self.config.defaults)
                    .value;
            attrs.push(Attribute::new(
                "printer-name",
                Value::name(self.config.name.clone()),
            ));
            let make_model = [&self.config.manufacturer, &self.config.model]
                .into_iter()
                .flatten()
                .cloned()
                .collect::<Vec<_>>()
                .join(" ");
            if !make_model.is_empty() {
                attrs.push(Attribute::new(
                    "printer-make-and-model",
                    Value::text(make_model),
                ));
            }
            attrs
        } else {
            Vec::new()
        };
        attributes.extend(printer_status_to_ipp(&status.graph_status()).value);
        // A stopped printer still queues jobs, as hardware does; nothing here pauses acceptance.
        attributes.push(Attribute::new(
            "printer-is-accepting-jobs",
            Value::Boolean(true),
        ));
        let reasons: Vec<String> = status
            .ipp_reasons()
            .into_iter()
            .map(str::to_string)
            .collect();
        self.status.send_modify(|s| {
            s.state = status.state;
            s.reasons = reasons;
        });
        self.client
            .update_output_device_attributes(attributes)
            .await
    }

    async fn apply_control(&mut self, action: Control) -> Result<(), Interrupted> {
        match action {
            Control::Clear => {
                let now = self.now();
                for fault in self.engine.status().faults {
                    info!(fault = fault.ipp_keyword(), "fault cleared");
                    self.engine.clear(fault, now);
                }
                self.remember_faults()?;
                self.advertise(false).await?;
                Ok(())
            }
        }
    }

    /// Rebuilds from the spool: reports the unfinished jobs with Update-Active-Jobs, drops
    /// those the service no longer has or has ended, and finishes the rest.
    async fn reconcile(&mut self) -> Result<(), Interrupted> {
        let name = self.config.name.clone();
        let records = self.spool.printer_jobs(&name)?;
        // Ended before a crash could tell the service: tell it now.
        for record in records.iter().filter(|r| r.state.is_terminal()) {
            let reported = self
                .spool
                .events(&name, record.job_id)?
                .last()
                .is_some_and(|e| e.kind == REPORTED);
            if !reported {
                match self.report_final(record.job_id).await {
                    Err(e) if e.is_gone() => {}
                    other => other?,
                }
            }
        }
        let held: Vec<_> = records
            .into_iter()
            .filter(|r| r.acknowledged && !r.state.is_terminal())
            .collect();
        let states: Vec<(u32, i32)> = held
            .iter()
            .map(|r| (r.job_id, job_state::PROCESSING))
            .collect();
        let differing = self.client.update_active_jobs(&states).await?;
        for record in held {
            let verdict = differing.iter().find(|(id, _)| *id == record.job_id);
            match verdict {
                Some((_, state)) if state.is_none_or(job_state::is_terminal) => {
                    info!(job = record.job_id, "the service ended this job meanwhile");
                    self.spool.update(
                        &name,
                        record.job_id,
                        "reconciled",
                        "the service no longer has this job active",
                        |r| {
                            r.state = PrintJobProcessingState::Canceled;
                            r.reasons = vec!["job-canceled-at-device".into()];
                        },
                    )?;
                }
                _ => Box::pin(self.process_job(record.job_id, false)).await?,
            }
        }
        Ok(())
    }

    async fn process_job(&mut self, job: u32, fetchable: bool) -> Result<(), Interrupted> {
        let cancel = CancellationToken::new();
        *self.current.lock().expect("not poisoned") = Some((job, cancel.clone()));
        self.status.send_modify(|s| s.job = Some(job));
        let span = error_span!("job", id = job);
        let outcome = self
            .process_job_inner(job, fetchable, &cancel)
            .instrument(span)
            .await;
        *self.current.lock().expect("not poisoned") = None;
        self.status.send_modify(|s| s.job = None);
        match outcome {
            Err(Interrupted::Canceled) => self.finish_canceled(job).await?,
            Err(Interrupted::Infra(e)) if e.is_gone() => {
                info!(job, error = %e, "job is gone from the service");
            }
            other => other?,
        }
        self.advertise_if_changed().await?;
        Ok(())
    }

    /// Update-Output-Device-Attributes when the printer's state or reasons differ from what
    /// the service was last told (a job started or ended), so Graph is always current.
    async fn advertise_if_changed(&mut self) -> Result<(), InfraError> {
        let status = self.engine.status();
        let told = self.status.borrow().clone();
        let reasons: Vec<String> = status.ipp_reasons().into_iter().map(String::from).collect();
        if told.state == status.state && told.reasons == reasons {
            return Ok(());
        }
        self.advertise(false).await
    }

    async fn process_job_inner(
        &mut self,
        job: u32,
        fetchable: bool,
        cancel: &CancellationToken,
    ) -> Result<(), Interrupted> {
        let name = self.config.name.clone();
        let record = match self.spool.job(&name, job)? {
            Some(record) => record,
            None => {
                let fetched = self.client.fetch_job(job).await?;
                let attrs = &fetched.attributes;
                let new = NewJob {
                    name: attrs.string("job-name").map(str::to_string),
                    user: attrs
                        .string("job-originating-user-name")
                        .map(str::to_string),
                    configuration: graph_from_job_template(attrs)
                        .value
                        .with_defaults(&self.config.defaults),
                };
                self.spool.create_job(&name, job, new)?
            }
        };
        if record.state.is_terminal() {
            // Finished before a crash hid the final report: say it again.
            return self.report_final(job).await.map_err(Into::into);
        }
        if fetchable || !record.acknowledged {
            if !record.acknowledged {
                self.spool.update(&name, job, "acknowledged", "", |r| {
                    r.acknowledged = true;
                    r.state = PrintJobProcessingState::Processing;
                })?;
                self.spool.flush()?;
            }
            match self.client.acknowledge_job(job).await {
                // Acknowledged by an earlier run whose record we hold: nothing is lost.
                Err(e) if e.is_gone() && record.acknowledged => {}
                other => other?,
            }
            info!("job acknowledged");
        }
        self.download(job, cancel).await?;
        let record = self.spool.job(&name, job)?.ok_or(SpoolError::NoSuchJob {
            printer: name.clone(),
            job,
        })?;
        let document = record.document.clone().expect("downloaded");
        // A service other than ours may hand over options this printer does not have.
        let unsupported = check_job(&record.configuration, &self.config.capabilities);
        if !unsupported.is_empty() {
            let problems: Vec<String> = unsupported.iter().map(|v| v.to_string()).collect();
            let message = format!(
                "This printer cannot print the job as asked: {}",
                problems.join("; ")
            );
            return self
                .finish_aborted(job, "unsupported-attributes-or-values", &message)
                .await;
        }
        if let Err(failure) = self.engine.interpret(&document.format) {
            return self
                .finish_aborted(job, "document-format-error", &failure.0)
                .await;
        }
        self.client
            .update_job_status(
                job,
                &JobReport {
                    state: job_state::PROCESSING,
                    reasons: vec!["job-printing".into()],
                    message: None,
                    impressions_completed: Some(record.progress.impressions_completed),
                    sheets_completed: Some(record.progress.sheets_completed),
                },
            )
            .await?;
        let work = match self.render(job, &record, cancel).await? {
            Ok(work) => work,
            Err(RenderError::Cancelled) => return Err(Interrupted::Canceled),
            Err(e) => {
                return self
                    .finish_aborted(job, e.job_state_reason(), &e.to_string())
                    .await;
            }
        };
        self.print(job, work, record.progress.sheets_completed, cancel)
            .await?;
        self.spool.update(&name, job, "completed", "", |r| {
            r.state = PrintJobProcessingState::Completed;
            r.reasons = vec!["job-completed-successfully".into()];
        })?;
        self.spool.flush()?;
        self.report_final(job).await?;
        self.status.send_modify(|s| s.jobs_completed += 1);
        info!("job completed");
        Ok(())
    }

    /// Fetch-Document into the spool, resuming after the bytes an earlier run kept, then
    /// Acknowledge-Document once they are durable.
    async fn download(&mut self, job: u32, cancel: &CancellationToken) -> Result<(), Interrupted> {
        let name = self.config.name.clone();
        let record = self.spool.job(&name, job)?.ok_or(SpoolError::NoSuchJob {
            printer: name.clone(),
            job,
        })?;
        let complete = record.document.as_ref().is_some_and(|d| d.sha256.is_some());
        if !complete {
            let (attrs, mut reader) = tokio::select! {
                r = self.client.fetch_document(job, 1) => r?,
                _ = cancel.cancelled() => return Err(Interrupted::Canceled),
                _ = self.shutdown.cancelled() => return Err(Interrupted::Shutdown),
            };
            let format = attrs
                .string("document-format")
                .unwrap_or("application/octet-stream")
                .to_string();
            let doc_name = attrs.string("document-name").map(str::to_string);
            let begun =
                self.spool
                    .begin_document(&name, job, 1, &format, doc_name.as_deref(), None)?;
            let mut skip = begun.document.map(|d| d.bytes_received).unwrap_or(0);
            let mut offset = skip;
            let mut buffer = vec![0u8; CHUNK];
            loop {
                let mut filled = 0;
                while filled < CHUNK {
                    let n = tokio::select! {
                        r = reader.read(&mut buffer[filled..]) => r.map_err(InfraError::DocumentStream)?,
                        _ = cancel.cancelled() => return Err(Interrupted::Canceled),
                        _ = self.network.offline() => return Err(Interrupted::Offline),
                        _ = self.shutdown.cancelled() => return Err(Interrupted::Shutdown),
                    };
                    if n == 0 {
                        break;
                    }
                    filled += n;
                }
                let mut chunk = &buffer[..filled];
                let drop = (skip as usize).min(chunk.len());
                chunk = &chunk[drop..];
                skip -= drop as u64;
                if !chunk.is_empty() {
                    offset = self.spool.append_chunk(&name, job, offset, chunk)?;
                }
                if filled < CHUNK {
                    break;
                }
            }
            self.spool.complete_document(&name, job)?;
        }
        let acknowledged = self
            .spool
            .job(&name, job)?
            .and_then(|r| r.document)
            .is_some_and(|d| d.acknowledged);
        if !acknowledged {
            self.spool.flush()?;
            self.client.acknowledge_document(job, 1).await?;
            self.spool
                .update(&name, job, "document-acknowledged", "", |r| {
                    if let Some(d) = &mut r.document {
                        d.acknowledged = true;
                    }
                })?;
        }
        Ok(())
    }

    /// Renders the job (or, with rendering off, only lays it out) into the sheets and sides the
    /// engine must print.
    async fn render(
        &mut self,
        job: u32,
        record: &JobRecord,
        cancel: &CancellationToken,
    ) -> Result<Result<JobWork, RenderError>, Interrupted> {
        let name = self.config.name.clone();
        let bytes = self.spool.document_bytes(&name, job)?;
        let format = record
            .document
            .as_ref()
            .map(|d| d.format.clone())
            .unwrap_or_default();
        let config = &record.configuration;
        let profile = render_profile(&self.config, config.media_size.as_deref());
        let ticket = match ticket_from_graph(config) {
            Ok(ticket) => ticket,
            Err(e) => {
                return Ok(Err(RenderError::InvalidOption {
                    option: e.option,
                    value: e.value,
                    reason: e.reason.to_string(),
                }));
            }
        };
        let out_dir = self.out_root.join(&name).join(job.to_string());
        let cancel = cancel.clone();
        let render_span = tracing::Span::current();
        let draw = self.render_enabled;
        let result = tokio::task::spawn_blocking(move || {
            let _entered = render_span.enter();
            let on_sheet = |p: render::SheetProgress| {
                tracing::debug!(
                    sheet = p.sheets_completed,
                    of = p.sheets_total,
                    "sheet rendered"
                );
            };
            let request = JobRequest {
                document: &bytes,
                content_type: &format,
                ticket: &ticket,
                profile: &profile,
                out_dir: &out_dir,
                cancel: &cancel,
                on_sheet: &on_sheet,
            };
            if draw {
                render::render_job(&request).map(|m| Drawn::Rendered(m, out_dir.clone()))
            } else {
                render::count_job(&request).map(Drawn::Counted)
            }
        })
        .await
        .map_err(|e| {
            Interrupted::Spool(SpoolError::Corrupt {
                key: format!("{name}/{job}"),
                reason: format!("render task failed: {e}"),
            })
        })?;
        match result {
            Ok(Drawn::Counted(count)) => Ok(Ok(JobWork {
                sheets: count.media_sheets as u64,
                impressions: count.impressions as u64,
            })),
            Ok(Drawn::Rendered(manifest, out_dir)) => {
                let outputs: Vec<OutputRecord> = manifest
                    .sides
                    .iter()
                    .map(|s| OutputRecord {
                        path: out_dir.join(&s.file).display().to_string(),
                        sha256: s.sha256.clone(),
                    })
                    .collect();
                self.spool.update(&name, job, "rendered", "", |r| {
                    r.outputs = outputs.clone();
                })?;
                Ok(Ok(JobWork {
                    sheets: manifest.media_sheets as u64,
                    impressions: manifest.impressions as u64,
                }))
            }
            Err(e) => Ok(Err(e)),
        }
    }

    /// Paces the sheets through the engine, reporting each one after it is durable in the
    /// spool; waits out faults until a person clears them.
    async fn print(
        &mut self,
        job: u32,
        work: JobWork,
        already: u64,
        cancel: &CancellationToken,
    ) -> Result<(), Interrupted> {
        let name = self.config.name.clone();
        let now = self.now();
        match self.engine.active_job() {
            // Resumed after an offline window or a lost connection: the engine kept printing.
            Some((active, _)) if active == job => {}
            active => {
                if let Some((other, _)) = active {
                    // A job the service dropped while it was on the engine.
                    let _ = self.engine.cancel_job(other, now);
                }
                self.engine
                    .start_job(job, work, already, now)
                    .expect("the engine is idle after the cancel");
                self.advertise_if_changed().await?;
            }
        }
        // Still stopped from before a restart, an outage or an offline window: the job waits,
        // and the service hears so (it was just told the job is processing).
        if let Some(&fault) = self.engine.status().faults.first() {
            self.stopped(job, fault).await?;
        }
        loop {
            let mut done = false;
            for event in self.engine.advance(self.now()) {
                match event {
                    EngineEvent::SheetDone {
                        sheets_completed,
                        impressions_completed,
                        ..
                    } => {
                        self.spool.update(&name, job, "sheet", "", |r| {
                            r.progress.sheets_completed = sheets_completed;
                            r.progress.impressions_completed = impressions_completed;
                        })?;
                        self.spool.flush()?;
                        self.client
                            .update_job_status(
                                job,
                                &JobReport {
                                    state: job_state::PROCESSING,
                                    reasons: vec!["job-printing".into()],
                                    message: None,
                                    impressions_completed: Some(impressions_completed),
                                    sheets_completed: Some(sheets_completed),
                                },
                            )
                            .await?;
                    }
                    EngineEvent::Stopped { fault, .. } => self.stopped(job, fault).await?,
                    EngineEvent::JobDone { .. } => done = true,
                }
            }
            if done {
                return Ok(());
            }
            let wake = self.engine.next_wakeup().map(|at| self.started + at);
            tokio::select! {
                _ = sleep_until(wake) => {}
                _ = cancel.cancelled() => return Err(Interrupted::Canceled),
                _ = self.network.offline() => return Err(Interrupted::Offline),
                _ = self.shutdown.cancelled() => return Err(Interrupted::Shutdown),
                Some(action) = self.control.recv() => {
                    self.apply_control(action).await?;
                    if self.engine.status().faults.is_empty() {
                        let progress = self.spool.job(&name, job)?.map(|r| r.progress).unwrap_or_default();
                        self.client.update_job_status(job, &JobReport {
                            state: job_state::PROCESSING,
                            reasons: vec!["job-printing".into()],
                            message: None,
                            impressions_completed: Some(progress.impressions_completed),
                            sheets_completed: Some(progress.sheets_completed),
                        }).await?;
                    }
                }
            }
        }
    }

    async fn stopped(&mut self, job: u32, fault: Fault) -> Result<(), Interrupted> {
        warn!(fault = fault.ipp_keyword(), "printer stopped");
        self.remember_faults()?;
        self.spool.flush()?;
        self.advertise(false).await?;
        self.client
            .update_job_status(
                job,
                &JobReport {
                    state: job_state::PROCESSING_STOPPED,
                    reasons: vec!["printer-stopped".into()],
                    message: Some(format!(
                        "The printer stopped ({}): {}",
                        fault.ipp_keyword(),
                        fault.remedy()
                    )),
                    impressions_completed: None,
                    sheets_completed: None,
                },
            )
            .await?;
        Ok(())
    }

    /// Keeps the uncleared faults in the spool, so a restarted printer is still stopped.
    fn remember_faults(&self) -> Result<(), SpoolError> {
        self.spool
            .put_fault_memory(&self.config.name, &self.engine.memory())
    }

    async fn finish_aborted(
        &mut self,
        job: u32,
        reason: &str,
        message: &str,
    ) -> Result<(), Interrupted> {
        warn!(reason, message, "job aborted");
        let name = self.config.name.clone();
        self.spool.update(&name, job, "aborted", message, |r| {
            r.state = PrintJobProcessingState::Aborted;
            r.reasons = vec![reason.to_string()];
        })?;
        self.spool.flush()?;
        self.report_final(job).await?;
        Ok(())
    }

    async fn finish_canceled(&mut self, job: u32) -> Result<(), Interrupted> {
        info!(job, "job canceled");
        let name = self.config.name.clone();
        let now = self.now();
        let _ = self.engine.cancel_job(job, now);
        self.spool
            .update(&name, job, "canceled", "canceled by the service", |r| {
                r.state = PrintJobProcessingState::Canceled;
                r.reasons = vec!["job-canceled-by-user".into()];
            })?;
        self.spool.flush()?;
        match self.report_final(job).await {
            Err(e) if e.is_gone() => Ok(()),
            other => other.map_err(Into::into),
        }
    }

    /// Reports the final state recorded in the spool.
    async fn report_final(&mut self, job: u32) -> Result<(), InfraError> {
        let Ok(Some(record)) = self.spool.job(&self.config.name, job) else {
            return Ok(());
        };
        let state = match record.state {
            PrintJobProcessingState::Completed => job_state::COMPLETED,
            PrintJobProcessingState::Canceled => job_state::CANCELED,
            _ => job_state::ABORTED,
        };
        let message = if state == job_state::COMPLETED {
            completion_message(&record)
        } else {
            self.spool
                .events(&self.config.name, job)
                .ok()
                .and_then(|events| events.into_iter().rev().find(|e| !e.detail.is_empty()))
                .filter(|_| state == job_state::ABORTED)
                .map(|e| e.detail)
        };
        self.client
            .update_job_status(
                job,
                &JobReport {
                    state,
                    reasons: record.reasons.clone(),
                    message,
                    impressions_completed: Some(record.progress.impressions_completed),
                    sheets_completed: Some(record.progress.sheets_completed),
                },
            )
            .await?;
        // Not flushed: losing this mark only means reporting the final state once more.
        if let Err(e) = self
            .spool
            .update(&self.config.name, job, REPORTED, "", |_| {})
        {
            warn!(error = %e, "cannot note the final report in the spool");
        }
        Ok(())
    }
}

/// What the render step produced.
enum Drawn {
    Rendered(render::Manifest, PathBuf),
    Counted(render::JobCount),
}

/// What a finished job's final status says: sheets printed and where the PNG sides are, as a
/// `file://` URL so clients on the same machine (`printlab print --wait`, `demo`) can show them.
fn completion_message(record: &JobRecord) -> Option<String> {
    let sheets = record.progress.sheets_completed;
    let folder = record
        .outputs
        .first()
        .and_then(|o| Path::new(&o.path).parent().map(Path::to_path_buf))?;
    let folder = std::path::absolute(&folder).unwrap_or(folder);
    let url = url::Url::from_directory_path(&folder).ok()?;
    Some(format!(
        "printed {sheets} sheet(s), {} PNG side(s) in {url}",
        record.outputs.len()
    ))
}

async fn sleep_until(at: Option<Instant>) {
    match at {
        Some(at) => tokio::time::sleep_until(at.into()).await,
        None => std::future::pending().await,
    }
}

/// The renderer's view of a printer: the hardware margins of the job's media size.
pub fn render_profile(config: &PrinterConfig, media: Option<&str>) -> DeviceProfile {
    let hw = &config.hardware;
    let default_media = config
        .defaults
        .media_size
        .clone()
        .or_else(|| hw.media.first().map(|m| m.size.graph_name.to_string()))
        .unwrap_or_else(|| "A4".into());
    let margins = hw
        .media(media.unwrap_or(&default_media))
        .or_else(|| hw.media(&default_media))
        .map(|m| EdgeMicrons {
            top: m.margins.top,
            bottom: m.margins.bottom,
            left: m.margins.left,
            right: m.margins.right,
        })
        .unwrap_or_default();
    let default_dpi = config
        .defaults
        .dpi
        .and_then(|d| u32::try_from(d).ok())
        .or_else(|| hw.dpis.first().copied())
        .unwrap_or(300);
    DeviceProfile {
        hardware_margins: margins,
        dpis: hw.dpis.clone(),
        default_dpi,
        color: hw.color,
        content_types: config
            .capabilities
            .content_types
            .clone()
            .unwrap_or_default(),
        default_media: media_by_name(&default_media)
            .unwrap_or_else(|| DeviceProfile::default().default_media),
        quality_dpi: None,
    }
}

/// Replaces the device token ahead of its expiry, so long sessions never send an expired one.
async fn refresh_tokens(
    tokens: Arc<DeviceTokens>,
    client: Arc<InfraClient>,
    shutdown: CancellationToken,
) {
    let mut attempt = 0;
    loop {
        let token = tokio::select! {
            r = tokens.token() => r,
            _ = shutdown.cancelled() => return,
        };
        match token {
            Ok(token) => {
                attempt = 0;
                client.set_credentials(Credentials::Bearer(token.access_token));
                let wait = (token.refresh_at - chrono::Utc::now())
                    .to_std()
                    .unwrap_or(Duration::ZERO)
                    .max(Duration::from_millis(100));
                tokio::select! {
                    _ = tokio::time::sleep(wait) => {}
                    _ = shutdown.cancelled() => return,
                }
            }
            Err(e) => {
                warn!(error = %e, "device token refresh failed; retrying");
                if !backoff(&mut attempt, &shutdown).await {
                    return;
                }
            }
        }
    }
}

/// Holds the ippget subscription and long-polls Get-Notifications: wakes the printer when
/// something happened and cancels the job in progress when the service cancels it.
async fn notification_loop(
    client: Arc<InfraClient>,
    network: Arc<Network>,
    current: Arc<Mutex<Option<(u32, CancellationToken)>>>,
    wake: Arc<Notify>,
    status: watch::Sender<PrinterSnapshot>,
    shutdown: CancellationToken,
) {
    let mut attempt = 0;
    loop {
        tokio::select! {
            _ = network.online() => {}
            _ = shutdown.cancelled() => return,
        }
        let subscription = tokio::select! {
            r = client.create_printer_subscription() => r,
            _ = shutdown.cancelled() => return,
        };
        let subscription = match subscription {
            Ok(id) => id,
            Err(e) => {
                warn!(error = %e, "cannot subscribe to notifications; polling slowly");
                status.send_modify(|s| s.subscribed = false);
                wake.notify_one();
                if !backoff(&mut attempt, &shutdown).await {
                    return;
                }
                continue;
            }
        };
        status.send_modify(|s| s.subscribed = true);
        attempt = 0;
        // Prime after every (re-)subscription: jobs that became fetchable while there was no
        // subscription (before the first one, or while the cloud restarted and forgot it)
        // raised no event this subscription will see.
        wake.notify_one();
        let mut sequence = 0;
        loop {
            let asked = Instant::now();
            let answer = tokio::select! {
                r = client.get_notifications(subscription, sequence, true) => r,
                // The long poll drops with the network; subscribe again once it is back.
                _ = network.offline() => break,
                _ = shutdown.cancelled() => return,
            };
            match answer {
                Ok((notifications, last)) => {
                    sequence = last;
                    for event in &notifications.events {
                        let ended = event.job_state.is_some_and(job_state::is_terminal);
                        if let (true, Some(job)) = (ended, event.job_id) {
                            let current = current.lock().expect("not poisoned");
                            if let Some((id, token)) = current.as_ref()
                                && *id == job
                            {
                                token.cancel();
                            }
                        }
                    }
                    if !notifications.events.is_empty() {
                        wake.notify_one();
                    } else if asked.elapsed() < Duration::from_secs(1) {
                        // The service did not hold the request: respect its interval.
                        let interval = notifications.get_interval.unwrap_or(10).max(1);
                        tokio::select! {
                            _ = tokio::time::sleep(Duration::from_secs(interval.into())) => {}
                            _ = shutdown.cancelled() => return,
                        }
                    }
                }
                Err(e) if e.is_gone() => {
                    // The service forgot the subscription (it restarted): subscribe again at
                    // once; the new subscription primes with Get-Jobs.
                    info!(error = %e, "subscription gone; resubscribing");
                    break;
                }
                Err(e) => {
                    warn!(error = %e, "notifications failed; resubscribing");
                    status.send_modify(|s| s.subscribed = false);
                    wake.notify_one();
                    if !backoff(&mut attempt, &shutdown).await {
                        return;
                    }
                    break;
                }
            }
        }
    }
}

/// The control API: `GET /control/printers` and `POST /control/printers/{name}/clear`.
pub fn control_router(printers: &[PrinterHandle]) -> axum::Router {
    use axum::extract::{Path as UrlPath, State};
    use axum::http::StatusCode;
    use axum::routing::{get, post};
    let map: Arc<HashMap<String, PrinterHandle>> = Arc::new(
        printers
            .iter()
            .map(|p| (p.name.clone(), p.clone()))
            .collect(),
    );
    let order: Arc<Vec<String>> = Arc::new(printers.iter().map(|p| p.name.clone()).collect());
    axum::Router::new()
        .route(
            "/control/printers",
            get({
                let order = order.clone();
                move |State(map): State<Arc<HashMap<String, PrinterHandle>>>| async move {
                    let list: Vec<PrinterSnapshot> = order
                        .iter()
                        .filter_map(|n| map.get(n))
                        .map(|p| p.snapshot())
                        .collect();
                    axum::Json(list)
                }
            }),
        )
        .route(
            "/control/printers/{name}/clear",
            post(
                |State(map): State<Arc<HashMap<String, PrinterHandle>>>,
                 UrlPath(name): UrlPath<String>| async move {
                    match map.get(&name) {
                        Some(p) if p.control(Control::Clear).await => {
                            (StatusCode::ACCEPTED, format!("clearing faults of {name}\n"))
                        }
                        Some(_) => (StatusCode::GONE, format!("printer {name} is not running\n")),
                        None => (StatusCode::NOT_FOUND, format!("no printer named {name}\n")),
                    }
                },
            ),
        )
        .with_state(map)
}

/// Where a fleet's rendered output goes inside its spool folder.
pub fn out_root(spool_dir: &Path) -> PathBuf {
    spool_dir.join("out")
}
