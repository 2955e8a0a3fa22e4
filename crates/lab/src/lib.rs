//! A whole lab in one process: the embedded cloud on a loopback port and the fleet of
//! `printers.toml`, each printer registered, advertised and shared, ready for Graph clients.
//! `printlab up`, `printlab demo` and the end-to-end tests and benchmarks start it the same way.
//!
//! The two halves still meet only over HTTP: devices register and fetch jobs through the cloud's
//! public URL, and the shares are created through Graph, exactly as an administrator would.
//!
//! It is the one crate that assembles the others (cloud, device, client, render for samples);
//! none of them knows it. The demo plan and its expectations ([`demo`]) live here too.

pub mod dashboard;
pub mod demo;
pub mod demo_output;
pub mod discovery;
pub mod refusals;

use discovery::{DISCOVERY_FILE, LabInfo, USER_TOKEN_FILE};
use printlab_client::{ClientError, GraphClient};
use printlab_cloud::{Cloud, CloudError, CloudOptions};
use printlab_device::config::{self, ConfigError, Fleet, PrinterConfig};
use printlab_device::dns_sd::{AdvertisedPrinter, DnsSdResponder};
use printlab_device::registration::{KeyKind, UniversalPrintAccess};
use printlab_device::runtime::{
    self, FleetOptions, Link, PrinterHandle, RunningFleet, RuntimeError,
};
use printlab_device::spool::{Spool, SpoolError};
use printlab_serve::{ServeLimits, TlsConfig, health_router, serve};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::Duration;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

/// Delegated scopes of the lab's ready-made user token: what a person printing needs.
pub const USER_SCOPES: [&str; 3] = [
    "PrintJob.ReadWrite",
    "Printer.Read.All",
    "PrinterShare.Read.All",
];

/// Delegated scopes of the lab's administrator token: device registration (`Printers.Create`
/// is the Universal Print service's scope, the rest are Graph's), sharing, every job.
pub const ADMIN_SCOPES: [&str; 6] = [
    "Printers.Create",
    "Printer.Create",
    "Printer.FullControl.All",
    "PrinterShare.ReadWrite.All",
    "PrintJob.ReadWrite.All",
    "Printer.ReadWrite.All",
];

/// The user the ready-made token is for.
pub const LAB_USER: &str = "lab-user@printlab.test";
/// The lab user's name for IPP (its jobs are [`LAB_USER`]'s).
const LAB_IPP_USER: &str = "lab-user";
/// The administrator the lab acts as.
pub const LAB_ADMIN: &str = "lab-admin@printlab.test";

/// How long the lab waits for one more printer to register and advertise before it gives up: a
/// big fleet takes minutes on a small machine, and is fine while printers keep coming up.
const READY_STALL: Duration = Duration::from_secs(60);

/// Printers named in a message about many, at most; the rest are counted.
const NAMES_SHOWN: usize = 20;

#[derive(Debug, thiserror::Error)]
pub enum LabError {
    #[error(
        "cannot listen on {addr}: {source} (is another printlab running? try --listen 127.0.0.1:0)"
    )]
    Listen {
        addr: String,
        source: std::io::Error,
    },
    #[error("cannot create {path}: {source}")]
    Folder {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error(transparent)]
    DataDir(#[from] printlab_datadir::DataDirError),
    #[error(transparent)]
    Cloud(#[from] CloudError),
    #[error(transparent)]
    Spool(#[from] SpoolError),
    #[error(transparent)]
    Devices(#[from] RuntimeError),
    #[error("cannot register the devices' metrics: {0}")]
    Metrics(#[from] prometheus::Error),
    #[error("minting the lab's tokens: {0}")]
    Token(#[from] printlab_cloud::auth::TokenKeyError),
    #[error("Graph call failed while setting up the lab: {0}")]
    Graph(#[from] ClientError),
    #[error(
        "printers did not register and advertise (none came up in the last {seconds} s; the log says why): {names}"
    )]
    NotReady { seconds: u64, names: String },
    #[error("printer {name:?} advertised, but Graph does not list it")]
    NotListed { name: String },
    #[error("DNS-SD announces the printers' IPP Everywhere listener, and this lab has none")]
    DnsSdWithoutIpp,
    #[error(transparent)]
    DnsSd(#[from] printlab_device::dns_sd::DnsSdError),
    #[error("issuing the lab user's IPP credential: {0}")]
    IppUser(#[from] printlab_cloud::infra::InfraServiceError),
    #[error("writing {path}: {source}")]
    Write {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error(
        "the lab's own clients cannot reach its cloud at {url} over HTTPS: {reason}. A certificate file given with --tls-cert must hold the server's certificate followed by the CA certificate that issued it (or be self-signed and not a CA)"
    )]
    UntrustedCertificate { url: String, reason: String },
    /// Names its file itself (`cannot read F`, `F:line:column: …`).
    #[error(transparent)]
    Fleet(ConfigError),
    #[error("reading the built-in printers.toml")]
    ShippedFleet(#[source] ConfigError),
}

/// The fleet run when no printers.toml is at hand: the one shipped in the repository, so a
/// fresh machine has printers to print to.
const SHIPPED_FLEET: &str = include_str!("../../../printers.toml");

/// The fleet file read when none is named.
pub const DEFAULT_FLEET_FILE: &str = "printers.toml";

/// Reads the fleet file the user named (which must exist: a mistyped path never silently runs
/// another fleet), or, when none is named, `printers.toml` if there is one and the shipped fleet
/// otherwise; `full_speed` drops every printer's warm-up and pages-per-minute pacing.
pub fn load_fleet(named: Option<&Path>, full_speed: bool) -> Result<Fleet, LabError> {
    let read = |path: &Path| config::load(path).map_err(LabError::Fleet);
    let default = Path::new(DEFAULT_FLEET_FILE);
    let mut fleet = match named {
        Some(path) => read(path)?,
        None if default.exists() => read(default)?,
        None => config::parse(SHIPPED_FLEET, "printers.toml (built in)")
            .map_err(LabError::ShippedFleet)?,
    };
    if full_speed {
        for p in &mut fleet.printers {
            p.engine.full_speed = true;
        }
    }
    Ok(fleet)
}

/// What to start.
pub struct LabOptions {
    /// Where the cloud listens (port 0: any free port).
    pub listen: String,
    /// Where the control API listens.
    pub control: SocketAddr,
    /// Data folder: `cloud/` (the cloud's store), `devices/` (the spool), `out/` (PNGs).
    pub data_dir: PathBuf,
    /// The printers to run.
    pub printers: Vec<PrinterConfig>,
    /// Serve the cloud over HTTPS.
    pub tls: Option<LabTls>,
    /// The base URL clients reach the lab at when it is not the bound address (a proxy, a host
    /// name); Graph links, upload and download URLs and `lab.json` name it. The devices, in
    /// this process, keep the bound address, so they never depend on the name resolving here.
    pub public_url: Option<String>,
    /// The cloud's transport faults, in force once the printers are shared (the lab's own
    /// set-up calls are not the client under test).
    pub transport_faults: printlab_cloud::transport_faults::FaultRules,
    /// Graph change notifications may go to webhooks off loopback.
    pub allow_remote_webhooks: bool,
    /// Where the fleet's IPP Everywhere listener binds (`None`: no local IPP printers).
    pub ipp_listen: Option<SocketAddr>,
    /// Announce each IPP Everywhere printer over DNS-SD (mDNS), where the listener listens.
    pub dns_sd: bool,
    /// Draw each printed side; false: lay jobs out to count their sheets, no PNGs (load runs).
    pub render: bool,
}

/// HTTPS for a lab's cloud.
pub struct LabTls {
    pub config: Arc<TlsConfig>,
    /// PEM certificates the lab's own clients (its devices, its Graph administrator) trust
    /// besides the system's: the CA printlab created, or the chain the user gave.
    pub trusted_pem: Vec<u8>,
    /// The CA file printlab created, for `lab.json` (none when the user gave the certificate).
    pub ca_file: Option<PathBuf>,
}

/// One printer of the lab, as Graph knows it.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct LabPrinter {
    pub name: String,
    pub printer_id: String,
    pub share_id: String,
    /// What the printer was configured to refuse or change, which Graph cannot show.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub refuses: Vec<refusals::ConfiguredRule>,
    /// The printer's IPP Everywhere URI on the lab's IPP listener, when it runs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ipp_uri: Option<String>,
    /// The printer's URI on the cloud's infrastructure printer: printing there over IPP makes
    /// a Graph job (with the lab's IPP user credential, [`LabInfo::ipp_user`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cloud_ipp_uri: Option<String>,
}

/// A running lab. Dropping it without [`Lab::shutdown`] leaves the tasks to the runtime.
pub struct Lab {
    /// Base URL clients reach the cloud at, e.g. `http://127.0.0.1:8443` (the public URL when
    /// one was given).
    pub cloud_url: String,
    /// Graph root, `{cloud_url}/v1.0`.
    pub graph_url: String,
    /// The devices' control API, e.g. `http://127.0.0.1:40123`.
    pub control_url: String,
    pub user_token: String,
    pub admin_token: String,
    pub printers: Vec<LabPrinter>,
    /// Where rendered sides go: `<out>/<printer>/<job>/`.
    pub out_dir: PathBuf,
    pub data_dir: PathBuf,
    /// The HTTPS CA file clients must trust, when printlab created it (`up --tls`).
    pub ca_file: Option<PathBuf>,
    /// The lab user's credential for the cloud's printers over IPP (HTTP Basic).
    pub ipp_user: discovery::IppUser,
    fleet: RunningFleet,
    /// The mDNS responder announcing the printers (`up --dns-sd`).
    dns_sd: Option<DnsSdResponder>,
    spool: Spool,
    cloud: Cloud,
    stop: CancellationToken,
    cloud_task: tokio::task::JoinHandle<Result<(), CloudError>>,
}

impl Lab {
    /// Starts the cloud, then the devices, waits until every printer has registered and
    /// advertised, and shares each one through Graph (reusing shares from an earlier run).
    pub async fn start(options: LabOptions) -> Result<Lab, LabError> {
        let data = &options.data_dir;
        printlab_datadir::ensure_private(data)?;
        for sub in ["cloud", "devices"] {
            let path = data.join(sub);
            std::fs::create_dir_all(&path).map_err(|source| LabError::Folder { path, source })?;
        }
        let listener =
            TcpListener::bind(&options.listen)
                .await
                .map_err(|source| LabError::Listen {
                    addr: options.listen.clone(),
                    source,
                })?;
        let addr = listener.local_addr().map_err(|source| LabError::Listen {
            addr: options.listen.clone(),
            source,
        })?;
        let scheme = if options.tls.is_some() {
            "https"
        } else {
            "http"
        };
        let bound_url = format!("{scheme}://{addr}");
        let cloud_url = options.public_url.as_deref().map_or_else(
            || bound_url.clone(),
            |url| url.trim_end_matches('/').to_string(),
        );
        // One registry for the cloud and the devices: `GET /metrics` on the lab's address shows
        // both halves in one scrape.
        let metrics = prometheus::Registry::new();
        let cloud_options = CloudOptions {
            metrics: metrics.clone(),
            tls: options.tls.as_ref().map(|tls| tls.config.clone()),
            device_url: Some(bound_url.clone()),
            webhooks: printlab_cloud::webhooks::WebhookOptions {
                allow_remote: options.allow_remote_webhooks,
                ..Default::default()
            },
            ..CloudOptions::default()
        };
        let cloud = Cloud::open_with(&data.join(discovery::CLOUD_DIR), &cloud_url, cloud_options)?;
        let infra = cloud.infra().clone();
        let graph_url = cloud.graph_base_url();
        let day = chrono::Duration::hours(24);
        let scopes = |list: &[&str]| list.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        let admin_token =
            cloud
                .token_key()
                .mint_user(LAB_ADMIN, &scopes(&ADMIN_SCOPES), true, day)?;
        let user_token =
            cloud
                .token_key()
                .mint_user(LAB_USER, &scopes(&USER_SCOPES), false, day)?;
        // `/readyz` answers 503 until every printer has advertised and is shared.
        let devices: Arc<OnceLock<Vec<PrinterHandle>>> = Arc::new(OnceLock::new());
        let shared = Arc::new(AtomicBool::new(false));
        cloud.readiness().add_check("printers", {
            let (devices, shared) = (devices.clone(), shared.clone());
            move || match devices.get() {
                None => Some("the devices are starting".to_string()),
                Some(devices) => fleet_not_ready(devices).or_else(|| {
                    (!shared.load(Ordering::Acquire))
                        .then(|| "sharing the printers through Graph".to_string())
                }),
            }
        });
        let readiness = cloud.readiness().clone();
        let stop = CancellationToken::new();

        // The devices start before the cloud serves: the cloud's listener is bound, so their
        // first requests wait in its backlog, and the control API they answer to exists before
        // the cloud's address serves it beside the dashboard.
        // HTTP/2 to this lab's own cloud, which speaks it; INFRA printers' other services are
        // asked first (not the lab's cloud, which does not serve yet).
        let foreign_services = runtime::service_urls(&options.printers, None);
        let http = runtime::fleet_http_client_for(
            &foreign_services,
            options.tls.as_ref().map(|tls| tls.trusted_pem.as_slice()),
        )
        .await?;
        let spool = Spool::open(&data.join("devices").join("db"))?;
        let out_dir = runtime::out_root(&data.join("devices"));
        let fleet = start_devices(
            &options.printers,
            &bound_url,
            &admin_token,
            FleetOptions {
                spool: spool.clone(),
                out_root: out_dir.clone(),
                http: http.clone(),
                render: options.render,
                ipp_listen: options.ipp_listen,
                metrics: runtime::FleetMetrics::register(&metrics)?,
            },
        )?;
        let _ = devices.set(fleet.printers.clone());
        let control_api = runtime::control_router(
            &fleet.printers,
            runtime::JobOutputs {
                spool: spool.clone(),
                out_root: out_dir.clone(),
            },
            &admin_token,
        );
        // The lab's address serves the dashboard and the control API it calls next to Graph
        // (same origin, so the page needs no CORS); the control address serves the API alone.
        let on_lab_address = dashboard::dashboard_router()
            .merge(dashboard::matrix_reports_router(
                data.clone(),
                admin_token.clone(),
            ))
            .merge(dashboard::dashboard_events_router(
                fleet.printers.clone(),
                spool.clone(),
                cloud.clone(),
                admin_token.clone(),
            ))
            .merge(control_api.clone());
        let transport_faults = cloud.transport_faults().clone();
        let cloud_stop = stop.clone();
        let cloud_task = tokio::spawn(cloud.clone().serve_wrapped_until(
            listener,
            move |graph| graph.merge(on_lab_address),
            async move { cloud_stop.cancelled().await },
        ));
        // A certificate the lab's own clients cannot verify (a server certificate given without
        // the CA that issued it, a self-signed one marked as a CA) would leave every printer
        // retrying its registration for ever: one request to the lab's own address says so now.
        if options.tls.is_some()
            && let Err(refused) = http.get(format!("{bound_url}/healthz")).send().await
        {
            stop.cancel();
            return Err(LabError::UntrustedCertificate {
                url: bound_url,
                reason: printlab_client::error_chain(&refused),
            });
        }

        let control =
            TcpListener::bind(options.control)
                .await
                .map_err(|source| LabError::Listen {
                    addr: options.control.to_string(),
                    source,
                })?;
        let control_url = format!(
            "http://{}",
            control.local_addr().map_err(|source| LabError::Listen {
                addr: options.control.to_string(),
                source,
            })?
        );
        tokio::spawn(serve(
            control,
            control_api.merge(health_router(readiness)),
            ServeLimits::default(),
            None,
            stop.clone(),
        ));

        // The lab's own administrator, in this process too, uses the bound address.
        let admin = GraphClient::new(&format!("{bound_url}/v1.0"), Some(admin_token.clone()))
            .with_http(http);
        let mut printers = share_when_ready(&admin, &options.printers, &fleet.printers).await?;
        if let Some(ipp) = &fleet.ipp {
            for printer in &mut printers {
                printer.ipp_uri = (ipp.printers.iter())
                    .find(|p| p.name == printer.name)
                    .map(|p| p.uri.clone());
            }
        }
        // Tools that cannot send a bearer token (CUPS 2.4's ipptool) print to the cloud's
        // printers with HTTP Basic: the lab user's IPP credential, new at each start.
        let ipp_user = infra.issue_user_credential(LAB_IPP_USER).await?;
        for printer in &mut printers {
            printer.cloud_ipp_uri = Some(infra.printer_uri(&printer.printer_id));
        }
        // Announced only once shared and ready, so a desktop that finds one can print at once.
        let dns_sd = match (&fleet.ipp, options.dns_sd) {
            (Some(ipp), true) => {
                let announced: Vec<AdvertisedPrinter> = (ipp.printers.iter())
                    .map(|p| AdvertisedPrinter {
                        name: p.name.clone(),
                        resource_path: p.resource_path.clone(),
                        attributes: p.description.clone(),
                    })
                    .collect();
                Some(DnsSdResponder::start(ipp.local_addr, &announced)?)
            }
            (None, true) => return Err(LabError::DnsSdWithoutIpp),
            (_, false) => None,
        };
        // The rules apply from here: the lab setting itself up is not the client under test.
        transport_faults.replace(options.transport_faults);
        shared.store(true, Ordering::Release);
        Ok(Lab {
            cloud_url,
            graph_url,
            control_url,
            user_token,
            admin_token,
            printers,
            out_dir,
            data_dir: options.data_dir,
            ca_file: options.tls.and_then(|tls| tls.ca_file),
            ipp_user: discovery::IppUser {
                username: ipp_user.username,
                password: ipp_user.password,
            },
            fleet,
            dns_sd,
            spool,
            cloud,
            stop,
            cloud_task,
        })
    }

    /// The DNS-SD service names announced (`Office Laser 2F._ipp._tcp.local.`), when announcing.
    pub fn dns_sd_services(&self) -> &[String] {
        self.dns_sd.as_ref().map_or(&[], DnsSdResponder::services)
    }

    /// The dashboard's address, with the admin token in its fragment (`/#token=…`).
    pub fn dashboard_url(&self) -> String {
        dashboard::dashboard_url(&self.cloud_url, &self.admin_token)
    }

    /// The devices' spool (job records and event logs), for benchmarks and tests.
    pub fn spool(&self) -> &Spool {
        &self.spool
    }

    /// What the cloud writes, by key, once durable ([`Cloud::changes`]): a process embedding
    /// the lab learns that a job changed when it does, where polling Graph would take the CPU
    /// the printers render with.
    pub fn cloud_changes(
        &self,
    ) -> tokio::sync::broadcast::Receiver<printlab_cloud::changes::CloudChange> {
        self.cloud.changes()
    }

    /// The running printers (state, faults), for progress displays.
    pub fn devices(&self) -> &[PrinterHandle] {
        &self.fleet.printers
    }

    /// Writes `lab.json` (URLs, the printers, the HTTPS CA file), `control.token` (the admin
    /// token, which the control API asks for) and `user.token` into the data folder, so that
    /// commands in another terminal find the lab without flags ([`discovery`]).
    pub fn write_discovery(&self) -> Result<(), LabError> {
        let info = LabInfo {
            cloud: self.cloud_url.clone(),
            graph: self.graph_url.clone(),
            control: self.control_url.clone(),
            printers: self.printers.clone(),
            out: self.out_dir.clone(),
            ca: self.ca_file.clone(),
            ipp_user: Some(self.ipp_user.clone()),
        };
        let at = |name: &str| {
            let path = self.data_dir.join(name);
            move |source| LabError::Write { path, source }
        };
        info.write(&self.data_dir).map_err(at(DISCOVERY_FILE))?;
        discovery::write_control_token(&self.data_dir, &self.admin_token)
            .map_err(at(discovery::CONTROL_TOKEN_FILE))?;
        discovery::write_user_token(&self.data_dir, &self.user_token).map_err(at(USER_TOKEN_FILE))
    }

    /// Stops the devices (jobs in flight stay in the spool and resume on the next start), then
    /// the cloud, and flushes both stores.
    pub async fn shutdown(self) -> Result<(), LabError> {
        if let Some(dns_sd) = self.dns_sd {
            // The goodbyes take the printers off the desktops' lists before they stop answering.
            tokio::task::spawn_blocking(move || dns_sd.shutdown())
                .await
                .ok();
        }
        self.fleet.shutdown().await;
        self.spool.flush()?;
        self.stop.cancel();
        match self.cloud_task.await {
            Ok(result) => result?,
            Err(join) => tracing::warn!(error = %join, "the cloud task ended abnormally"),
        }
        Ok(())
    }
}

fn start_devices(
    printers: &[PrinterConfig],
    cloud_url: &str,
    admin_token: &str,
    options: FleetOptions,
) -> Result<RunningFleet, RuntimeError> {
    let access = UniversalPrintAccess {
        cloud_url: cloud_url.to_string(),
        admin_token: Some(admin_token.to_string()),
        key: KeyKind::Rsa2048,
    };
    runtime::start_fleet(
        printers,
        |printer| Link::from_config(printer, Some(&access)),
        options,
    )
}

/// What a fleet still waits for before it is ready: the printers that have not registered and
/// advertised yet (`None` once all have). The readiness check of `printlab up` and `printlab
/// devices`.
pub fn fleet_not_ready(devices: &[PrinterHandle]) -> Option<String> {
    let waiting: Vec<&str> = devices
        .iter()
        .filter(|d| !d.snapshot().advertised)
        .map(|d| d.name.as_str())
        .collect();
    (!waiting.is_empty()).then(|| {
        format!(
            "{} of {} printers have not registered and advertised: {}",
            waiting.len(),
            devices.len(),
            some_names(&waiting)
        )
    })
}

/// The first [`NAMES_SHOWN`] names, and how many more there are.
fn some_names(names: &[&str]) -> String {
    match names.len().checked_sub(NAMES_SHOWN) {
        Some(more) if more > 0 => format!("{} and {more} more", names[..NAMES_SHOWN].join(", ")),
        _ => names.join(", "),
    }
}

/// Waits until every device has advertised (its capabilities and state are in the cloud, so the
/// first Graph client sees the printer as it is, not as registration left it), then shares the
/// printers that have no share yet.
async fn share_when_ready(
    admin: &GraphClient,
    printers: &[PrinterConfig],
    devices: &[PrinterHandle],
) -> Result<Vec<LabPrinter>, LabError> {
    let mut advertised = 0;
    let mut progress_by = tokio::time::Instant::now() + READY_STALL;
    loop {
        let waiting: Vec<&PrinterHandle> = (devices.iter())
            .filter(|d| !d.snapshot().advertised)
            .collect();
        // A device whose task ended (registration refused, say) stops the wait early.
        let stalled = tokio::time::Instant::now() >= progress_by;
        if !waiting.is_empty() && (stalled || waiting.iter().any(|d| !d.is_running())) {
            let names: Vec<&str> = waiting.iter().map(|d| d.name.as_str()).collect();
            return Err(LabError::NotReady {
                seconds: READY_STALL.as_secs(),
                names: some_names(&names),
            });
        }
        if waiting.is_empty() {
            break;
        }
        if devices.len() - waiting.len() > advertised {
            advertised = devices.len() - waiting.len();
            progress_by = tokio::time::Instant::now() + READY_STALL;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let listed = admin.printers().await?;
    let mut registered = Vec::new();
    for p in printers {
        match listed.iter().find(|g| g.display_name == p.name) {
            Some(g) => registered.push((p.name.clone(), g.id.clone())),
            None => {
                return Err(LabError::NotListed {
                    name: p.name.clone(),
                });
            }
        }
    }
    let shares = admin.shares().await?;
    let mut out = Vec::new();
    for (name, printer_id) in registered {
        let share_id = match shares.iter().find(|s| s.display_name == name) {
            Some(s) => s.id.clone(),
            None => admin.create_share(&printer_id, &name).await?.id,
        };
        let config = printers.iter().find(|p| p.name == name);
        out.push(LabPrinter {
            refuses: config.map(refusals::configured_rules).unwrap_or_default(),
            ipp_uri: None,
            cloud_ipp_uri: None,
            name,
            printer_id,
            share_id,
        });
    }
    Ok(out)
}
