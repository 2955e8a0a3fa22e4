//! The fleet: one task per printer on a shared HTTP client, the handles and snapshots that
//! show a running printer from outside, and how each printer reaches its service.

use super::RuntimeError;
use super::connect::device_uuid;
use super::ipp_everywhere::{IppEndpoint, start_ipp_listener};
use super::metrics::FleetMetrics;
use super::printer_handle::CurrentJob;
use super::printer_handle::{PrinterHandle, PrinterSnapshot};
use super::session::ACCEPTING_JOBS;
use super::session::DeviceParts;
use crate::config::{Connection, PrinterConfig};
use crate::engine::Engine;
use crate::infra_client::InfraClient;
use crate::network::Network;
use crate::registration::{RegistrationError, UniversalPrintAccess, is_registered};
use crate::spool::Spool;
use printlab_ipp::http::Credentials;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Instant;
use tokio::sync::{Notify, mpsc, watch};
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;
use tracing::{Instrument, error_span};

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

/// A running fleet: its printers and their tasks.
pub struct RunningFleet {
    pub printers: Vec<PrinterHandle>,
    /// The fleet's IPP Everywhere listener, when [`FleetOptions::ipp_listen`] asked for one.
    pub ipp: Option<IppEndpoint>,
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

/// Options shared by all printers of a fleet.
#[derive(Clone)]
pub struct FleetOptions {
    pub spool: Spool,
    /// Rendered sides go under `<out_root>/<printer>/<job>/`.
    pub out_root: PathBuf,
    /// One client for the whole fleet: [`fleet_http_client_for`](super::fleet_http_client_for)
    /// (or [`fleet_http_client`](super::fleet_http_client)).
    pub http: reqwest::Client,
    /// False: lay each job out to count its sheets but draw nothing (throughput runs).
    pub render: bool,
    /// Where the fleet's one IPP Everywhere listener binds (every printer at
    /// `/ipp/print/{slug}` on it); `None`: printers are reachable only through their service.
    pub ipp_listen: Option<SocketAddr>,
    /// What the printers count ([`FleetMetrics::register`] for a process that serves them).
    pub metrics: FleetMetrics,
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
    let mut local_printers = Vec::new();
    for config in printers {
        let link = endpoint_of(config)?.into();
        let started = Instant::now();
        let network = Arc::new(Network::new(config.faults.clone(), started));
        let cable = network.clone();
        let (control_tx, control_rx) = mpsc::channel(8);
        let mut engine = Engine::new(config.engine.clone(), config.faults.clone())
            .with_consumables(config.trays.clone(), config.supplies.clone());
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
        let mut snapshot = PrinterSnapshot {
            name: config.name.clone(),
            state: status.state,
            reasons: status.ipp_reasons().into_iter().map(String::from).collect(),
            connected: false,
            advertised: false,
            subscribed: false,
            job: None,
            jobs_completed: 0,
            accepting_jobs: ACCEPTING_JOBS,
            trays: Vec::new(),
            supplies: Vec::new(),
            media_sizes: (config.capabilities.media_sizes.clone()).unwrap_or_default(),
            identified: None,
        };
        snapshot.set_consumables(&engine);
        let (status_tx, status_rx) = watch::channel(snapshot);
        let panel = status_tx.clone();
        let wake = Arc::new(Notify::new());
        let current: CurrentJob = Arc::new(Mutex::new(None));
        let parts = DeviceParts {
            config: config.clone(),
            spool: options.spool.clone(),
            out_root: options.out_root.clone(),
            http: options.http.clone(),
            render_enabled: options.render,
            metrics: options.metrics.clone(),
            engine,
            started,
            network,
            control: control_rx,
            status: status_tx,
            wake: wake.clone(),
            current: current.clone(),
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
                .with_network(parts.network.clone())
                .with_metrics(options.metrics.clone());
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
        let handle = PrinterHandle {
            name: config.name.clone(),
            config: Arc::new(config.clone()),
            control: control_tx,
            network: cable,
            status: status_rx,
            wake,
            current,
        };
        local_printers.push((config.clone(), handle.clone(), panel));
        handles.push(handle);
    }
    if let Err(e) = options.metrics.watch_printers(&handles) {
        tracing::warn!(error = %e, "the printers-by-state metric is not served");
    }
    let ipp = match options.ipp_listen {
        Some(addr) => Some(start_ipp_listener(
            addr,
            local_printers,
            options.spool.clone(),
            shutdown.child_token(),
            &mut tasks,
        )?),
        None => None,
    };
    Ok(RunningFleet {
        printers: handles,
        ipp,
        tasks,
        shutdown,
    })
}

/// Where a fleet's rendered output goes inside its spool folder.
pub fn out_root(spool_dir: &Path) -> PathBuf {
    spool_dir.join("out")
}
