//! The Universal Print emulator: the Graph print API for clients, upload and download URLs, and
//! (device side) the IPP INFRA service, all over HTTP, with every state change kept in sled.
//!
//! [`Cloud`] is opened on a data folder (one `sled::Db`) and the public base URL it is reached
//! at, which tests only know after binding an ephemeral port; [`Cloud::serve`] then runs the
//! router on a listener. Graph and INFRA work on the same store records: a Graph printer is an
//! INFRA printer, Graph `start`/`cancel` reach its devices as ippget events, and device reports
//! show in Graph at once.
//!
//! It may know the vocabularies (`printlab-ipp`, `printlab-graph`, `printlab-mapping`) and
//! nothing else of ours: never the devices nor the renderer, so a cloud build links no
//! rasterizer and the only way a device reaches it is the wire, as with the real service. The
//! decisions inside it, and why, are in this crate's `README.md`.

pub mod auth;
pub mod ca;
pub mod changes;
mod connection_trust;
mod graph;
pub mod infra;
pub mod metrics;
mod nonce;
pub mod odata;
pub mod query;
mod registration;
pub mod store;
pub mod task_store;
pub mod transport_faults;
pub mod upload;
pub mod webhooks;

use auth::TokenKey;
use ca::CertificateAuthority;
use infra::Infra;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use store::{JobRecord, Store};
use tokio::net::TcpListener;
use upload::{CompletedUpload, UploadListener, UploadService};

/// What a cloud can be tuned with; [`Cloud::open`] uses the defaults.
#[derive(Debug, Clone)]
pub struct CloudOptions {
    /// The longest an INFRA Get-Notifications with `notify-wait` is held, over HTTP/1.1 and
    /// over HTTP/2 (tests shorten both).
    pub long_poll: infra::LongPoll,
    /// How many members a Graph collection page holds when the client gives no `$top`; the
    /// rest follow through `@odata.nextLink` (tests shorten it).
    pub page_size: usize,
    /// The most members a Graph collection page holds whatever `$top` asks: a larger `$top`
    /// gets pages of this size and `@odata.nextLink`, as Graph answers (tests shrink it).
    pub max_page_size: usize,
    /// The upload engine's limits and lifetimes (tests shorten the stall time).
    pub upload_limits: upload::UploadLimits,
    /// Timeouts and the budget of unauthenticated connections (tests shorten and shrink them).
    pub limits: printlab_serve::ServeLimits,
    /// Serve HTTPS with this configuration (the public URL then starts with `https://`).
    pub tls: Option<Arc<printlab_serve::TlsConfig>>,
    /// The base URL devices reach the cloud at, when it is not the public URL: `printlab up
    /// --public-url` names an address for clients (a proxy, a host name) that its devices, in
    /// the same process, need not go through. What the cloud hands devices (the INFRA printer
    /// URIs, the token endpoint of a registration) names it; `None`: the public URL.
    pub device_url: Option<String>,
    /// The INFRA service refuses what PWG's reference infrastructure printer (ippsample's
    /// ippserver) and the output printers behind its proxy refuse where printlab is lenient: an
    /// Update-Active-Jobs without integer `job-ids` and enum `output-device-job-states`, and a
    /// media collection that breaks the rule of its use (`printlab_mapping::check_media_cols`),
    /// in requests and in its own answers. For tests of a device's interoperability.
    pub infra_strict_reference: bool,
    /// How long a job an IPP client created with Create-Job waits for Send-Document before it
    /// is aborted (`multiple-operation-time-out`; tests shorten it).
    pub multiple_operation_time_out: Duration,
    /// Transport faults on Graph and the upload and download URLs from the start
    /// (`--transport-faults FILE`); they can be replaced while the cloud runs.
    pub transport_faults: transport_faults::FaultRules,
    /// How Graph change notifications are delivered (tests shorten the retries).
    pub webhooks: webhooks::WebhookOptions,
    /// Where the cloud registers its metrics, served at `GET /metrics` with whatever else the
    /// embedding process registered there (the lab: the devices' metrics too).
    pub metrics: prometheus::Registry,
}

impl Default for CloudOptions {
    fn default() -> Self {
        Self {
            long_poll: infra::LongPoll::default(),
            page_size: graph::DEFAULT_PAGE_SIZE,
            max_page_size: graph::MAX_PAGE_SIZE,
            upload_limits: upload::UploadLimits::default(),
            limits: printlab_serve::ServeLimits::default(),
            tls: None,
            device_url: None,
            infra_strict_reference: false,
            multiple_operation_time_out: infra::DEFAULT_MULTIPLE_OPERATION_TIME_OUT,
            transport_faults: transport_faults::FaultRules::default(),
            webhooks: webhooks::WebhookOptions::default(),
            metrics: prometheus::Registry::new(),
        }
    }
}

/// Why the cloud could not start.
#[derive(Debug, thiserror::Error)]
pub enum CloudError {
    #[error(transparent)]
    DataDir(#[from] printlab_datadir::DataDirError),
    #[error("cannot open the store in {dir}: {source}")]
    Open { dir: PathBuf, source: sled::Error },
    #[error(transparent)]
    Store(#[from] store::StoreError),
    #[error(transparent)]
    Ca(#[from] ca::CaError),
    #[error("cannot write the token signing key to {path}: {source}")]
    KeyFile {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error(transparent)]
    Upload(#[from] upload::UploadStoreError),
    #[error("cannot register the cloud's metrics: {0}")]
    Metrics(#[from] prometheus::Error),
}

const SIGNING_KEY: &str = "token-signing-key";

pub(crate) struct CloudState {
    pub store: Store,
    pub tokens: TokenKey,
    pub ca: CertificateAuthority,
    /// Base URL clients reach the cloud at, without a trailing slash (no `/v1.0`).
    pub public_url: String,
    /// Base URL devices reach the cloud at ([`CloudOptions::device_url`]), without a trailing
    /// slash.
    pub device_url: String,
    pub uploads: Arc<UploadService>,
    /// Pull printing: task definitions, triggers and tasks.
    pub tasks: task_store::TaskStore,
    pub registrations: registration::Registrations,
    /// The device side; Graph tells it when jobs become fetchable or are canceled.
    pub infra: Infra,
    /// Serialises read-modify-write of records (Graph and INFRA alike) so concurrent updates
    /// cannot lose each other's changes.
    pub write_lock: Arc<Mutex<()>>,
    /// OXPS documents being converted to PDF for printers that only take PDF.
    pub conversions: graph::Conversions,
    /// Members per Graph collection page without `$top` ([`CloudOptions::page_size`]).
    pub page_size: usize,
    /// The cap on a page's members whatever `$top` asks ([`CloudOptions::max_page_size`]).
    pub max_page_size: usize,
    pub limits: printlab_serve::ServeLimits,
    pub tls: Option<Arc<printlab_serve::TlsConfig>>,
    /// Graph change notifications: subscriptions and their deliveries.
    pub webhooks: webhooks::Webhooks,
    /// Failures and delays injected into Graph and the upload and download URLs.
    pub transport_faults: transport_faults::TransportFaults,
    /// `/readyz`: the cloud's own check ("serving") and those the embedding process adds.
    pub readiness: printlab_serve::Readiness,
    /// True while [`Cloud::serve_until`] runs.
    pub serving: Arc<AtomicBool>,
    pub metrics: metrics::CloudMetrics,
    /// What `GET /metrics` shows ([`CloudOptions::metrics`]).
    pub metrics_registry: prometheus::Registry,
}

impl CloudState {
    /// Holds the write lock; a panic while it was held leaves no half-written record behind
    /// (each write is one sled insert), so a poisoned lock is taken over rather than propagated.
    pub(crate) fn write_lock(&self) -> std::sync::MutexGuard<'_, ()> {
        self.write_lock
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

/// The running emulator's state; cheap to clone.
#[derive(Clone)]
pub struct Cloud {
    state: Arc<CloudState>,
}

impl Cloud {
    /// Opens (or creates) the cloud's store in `data_dir`. `public_url` is the base clients use,
    /// e.g. `http://127.0.0.1:8443`; Graph lives under `{public_url}/v1.0`.
    pub fn open(data_dir: &Path, public_url: &str) -> Result<Self, CloudError> {
        Self::open_with(data_dir, public_url, CloudOptions::default())
    }

    /// As [`Cloud::open`], with chosen options.
    pub fn open_with(
        data_dir: &Path,
        public_url: &str,
        options: CloudOptions,
    ) -> Result<Self, CloudError> {
        // The store holds the token-signing key and the CA's private key.
        printlab_datadir::ensure_private(data_dir)?;
        let db = sled::open(data_dir.join("store")).map_err(|source| CloudError::Open {
            dir: data_dir.to_path_buf(),
            source,
        })?;
        let metrics = metrics::CloudMetrics::register(&options.metrics)?;
        let store = Store::open_with_metrics(&db, metrics.clone())?;
        let tasks = task_store::TaskStore::open(&db)?;
        let webhooks = webhooks::Webhooks::open(&db, options.webhooks.clone())?;
        let tokens = match store.meta(SIGNING_KEY)? {
            Some(bytes) => TokenKey::from_bytes(bytes),
            None => {
                let key = TokenKey::generate();
                store.set_meta(SIGNING_KEY, key.as_bytes())?;
                key
            }
        };
        let key_path = data_dir.join(auth::SIGNING_KEY_FILE);
        write_private(&key_path, tokens.to_hex().as_bytes()).map_err(|source| {
            CloudError::KeyFile {
                path: key_path,
                source,
            }
        })?;
        let ca = CertificateAuthority::load_or_create(&store)?;
        db.flush()
            .map_err(|e| CloudError::Store(store::StoreError::Sled(e)))?;
        let public_url = public_url.trim_end_matches('/').to_string();
        let device_url = options.device_url.as_deref().map_or_else(
            || public_url.clone(),
            |url| url.trim_end_matches('/').to_string(),
        );
        let uploads = Arc::new(
            UploadService::with_limits(
                &db,
                data_dir,
                &public_url,
                Arc::new(DocumentRecorder {
                    store: store.clone(),
                }),
                options.upload_limits,
            )?
            .with_metrics(metrics.clone()),
        );
        let registrations = registration::Registrations::open(&store)?;
        let write_lock = Arc::new(Mutex::new(()));
        let serving = Arc::new(AtomicBool::new(false));
        let readiness = printlab_serve::Readiness::default();
        readiness.add_check("cloud", {
            let serving = serving.clone();
            move || {
                (!serving.load(Ordering::Acquire))
                    .then(|| "the store is open but the cloud is not serving".to_string())
            }
        });
        let infra = Infra::new(
            infra::SharedWithGraph {
                store: store.clone(),
                tokens: tokens.clone(),
                documents: uploads.clone(),
                write_lock: write_lock.clone(),
                webhooks: webhooks.clone(),
                metrics: metrics.clone(),
            },
            &device_url,
            options.long_poll,
            options.infra_strict_reference,
            options.multiple_operation_time_out,
        );
        let cloud = Self {
            state: Arc::new(CloudState {
                store,
                transport_faults: transport_faults::TransportFaults::new(
                    options.transport_faults,
                    tokens.clone(),
                ),
                tokens,
                webhooks,
                ca,
                public_url,
                device_url,
                uploads,
                tasks,
                registrations,
                infra,
                write_lock,
                conversions: graph::Conversions::default(),
                page_size: options.page_size.max(1),
                max_page_size: options.max_page_size.max(1),
                limits: printlab_serve::ServeLimits {
                    connections: printlab_serve::ConnectionCounters {
                        accepted: metrics.connections_accepted.clone(),
                        open: metrics.connections.clone(),
                    },
                    ..options.limits
                },
                tls: options.tls,
                readiness,
                serving,
                metrics,
                metrics_registry: options.metrics,
            }),
        };
        // Conversions a stop interrupted start again now when there is a runtime to run them,
        // else when the cloud starts serving.
        if tokio::runtime::Handle::try_current().is_ok() {
            cloud.resume_conversions()?;
        }
        Ok(cloud)
    }

    /// Converts the OXPS documents of jobs still `transforming` (a stop or a kill came before
    /// their conversion ended); once per opening, later calls do nothing. Needs a tokio runtime.
    pub fn resume_conversions(&self) -> Result<usize, store::StoreError> {
        graph::resume_conversions(&self.state)
    }

    /// The Graph root clients point their SDK at.
    pub fn graph_base_url(&self) -> String {
        format!("{}/v1.0", self.state.public_url)
    }

    /// The key the cloud signs tokens with (tests and `printlab token` mint with it).
    pub fn token_key(&self) -> &TokenKey {
        &self.state.tokens
    }

    /// The CA that issues printer certificates, PEM.
    pub fn ca_certificate_pem(&self) -> &str {
        self.state.ca.certificate_pem()
    }

    /// How long device access tokens from the token endpoint live (1 h unless changed; tests
    /// shorten it to see devices refresh).
    pub fn set_device_token_lifetime(&self, lifetime: chrono::Duration) {
        self.state.registrations.set_token_lifetime(lifetime);
    }

    /// How long a device token endpoint nonce stays usable (5 min unless changed).
    pub fn set_nonce_lifetime(&self, lifetime: std::time::Duration) {
        self.state.registrations.set_nonce_lifetime(lifetime);
    }

    /// What `GET /readyz` waits for; an embedding process adds its own checks (the lab: every
    /// printer registered and advertised).
    pub fn readiness(&self) -> &printlab_serve::Readiness {
        &self.state.readiness
    }

    /// The device side: device tokens and proxy credentials are issued here.
    pub fn infra(&self) -> &Infra {
        &self.state.infra
    }

    /// The printer's jobs that are fetchable right now, oldest first.
    pub fn fetchable_jobs(&self, printer_id: &str) -> Result<Vec<JobRecord>, store::StoreError> {
        Ok(self
            .state
            .store
            .unfinished_jobs_of(printer_id)?
            .into_iter()
            .filter(|j| j.job.is_fetchable)
            .collect())
    }

    /// The whole HTTP surface: Graph, the pre-authenticated upload and download URLs, and the
    /// INFRA service devices talk to, the device registration and token endpoints,
    /// `/healthz`, `/readyz` and `/metrics`. Graph and the upload and download URLs answer through the Graph
    /// layer (request ids, OData error bodies, request limits: `graph/envelope.rs`). Served by
    /// [`printlab_serve::serve`], each request with valid credentials marks its connection authenticated.
    pub fn router(&self) -> axum::Router {
        graph::router(self.state.clone())
            .merge(printlab_serve::health_router(self.state.readiness.clone()))
            .merge(
                self.state
                    .uploads
                    .router()
                    .layer(axum::middleware::from_fn_with_state(
                        self.state.transport_faults.clone(),
                        transport_faults::inject,
                    ))
                    .layer(axum::middleware::from_fn(graph::envelope)),
            )
            .merge(transport_faults::control_router(
                self.state.transport_faults.clone(),
            ))
            .merge(self.state.infra.router())
            .merge(registration::router(self.state.clone()))
            .route_layer(axum::middleware::from_fn_with_state(
                self.state.metrics.clone(),
                metrics::track_http,
            ))
            .merge(printlab_serve::metrics_router(
                self.state.metrics_registry.clone(),
            ))
            .layer(axum::middleware::from_fn_with_state(
                self.state.clone(),
                connection_trust::mark_authenticated,
            ))
    }

    /// The cloud's printers and jobs as Graph shows them, live, for one follower (the lab's
    /// dashboard): everything first, then what changes, gathered over `window` so a busy cloud
    /// sends each changed printer or job, and each upload's progress, at most once a window.
    /// Never ends while the cloud is open; the follower drops it.
    pub fn graph_events(
        &self,
        window: Duration,
    ) -> impl futures::Stream<Item = changes::GraphEvent> + Send + 'static + use<> {
        changes::graph_events::graph_events(
            self.state.store.clone(),
            self.state.store.changes(),
            window,
        )
    }

    /// Every printer and job written from now on, by key, once durable (no store reads, no
    /// coalescing): for an embedding process that reads what it needs itself.
    pub fn changes(&self) -> tokio::sync::broadcast::Receiver<changes::CloudChange> {
        self.state.store.changes().subscribe()
    }

    /// Graph change notifications: tests read the deliveries tried.
    pub fn webhooks(&self) -> &webhooks::Webhooks {
        &self.state.webhooks
    }

    /// The transport faults in force: tests and the lab read their log and replace them.
    pub fn transport_faults(&self) -> &transport_faults::TransportFaults {
        &self.state.transport_faults
    }

    /// Serves until the listener fails or the task is dropped.
    pub async fn serve(self, listener: TcpListener) -> Result<(), CloudError> {
        self.serve_until(listener, std::future::pending()).await
    }

    /// Serves until `shutdown` completes, then waits for open connections to finish, so that the
    /// store is released (and can be reopened) when this returns. Held INFRA long polls are
    /// answered at once then, so this does not wait out a long-poll period.
    pub async fn serve_until(
        self,
        listener: TcpListener,
        shutdown: impl std::future::Future<Output = ()> + Send + 'static,
    ) -> Result<(), CloudError> {
        self.serve_wrapped_until(listener, |router| router, shutdown)
            .await
    }

    /// As [`Cloud::serve_until`], with the router wrapped by `wrap` first: for a test that
    /// watches or slows what reaches the cloud, which then still meets the production connection
    /// loop (timeouts, the unauthenticated budget, keep-alive, TLS).
    pub async fn serve_wrapped_until(
        self,
        listener: TcpListener,
        wrap: impl FnOnce(axum::Router) -> axum::Router,
        shutdown: impl std::future::Future<Output = ()> + Send + 'static,
    ) -> Result<(), CloudError> {
        tracing::info!(url = %self.graph_base_url(), "cloud serving Graph");
        self.resume_conversions()?;
        let serving = self.state.infra.start_serving();
        let stop = serving.clone();
        let stopping = async move {
            shutdown.await;
            stop.cancel();
            std::future::pending::<std::convert::Infallible>().await
        };
        self.state.serving.store(true, Ordering::Release);
        tokio::select! {
            () = printlab_serve::serve(
                listener,
                wrap(self.router()),
                self.state.limits.clone(),
                self.state.tls.clone(),
                serving,
            ) => {}
            never = stopping => match never {},
        }
        self.state.serving.store(false, Ordering::Release);
        // Unfinished conversions are redone at the next opening; stopping them here lets go of
        // the store, so the folder can be opened again as soon as this returns.
        self.state.conversions.stop_all().await;
        Ok(())
    }
}

/// Records a finished upload on its job's printDocument. Idempotent: the engine may call it
/// again for the same upload after a crash. Tells followers of the cloud's changes how far each
/// upload has come.
struct DocumentRecorder {
    store: Store,
}

impl UploadListener for DocumentRecorder {
    fn upload_progress(&self, session: &upload::UploadSessionInfo, bytes_received: u64) {
        let target = &session.target;
        self.store
            .changes()
            .upload_progress(changes::UploadProgress {
                printer_id: target.printer_id.clone(),
                job_id: target.job_id.clone(),
                document_id: target.document_id.clone(),
                document_name: session.document_name.clone(),
                bytes_received,
                size: session.size,
            });
    }

    fn upload_completed(
        &self,
        done: &CompletedUpload,
    ) -> Result<serde_json::Value, odata::GraphError> {
        let target = &done.target;
        let missing = || {
            odata::GraphError::not_found(format!(
                "Job {} on printer {} no longer exists.",
                target.job_id, target.printer_id
            ))
        };
        let number: u64 = target.job_id.parse().map_err(|_| missing())?;
        let mut record = self
            .store
            .job(&target.printer_id, number)?
            .filter(|r| r.document.id == target.document_id)
            .ok_or_else(missing)?;
        record.document.display_name = Some(done.document_name.clone());
        record.document.content_type = Some(done.content_type.clone());
        record.document.size = i64::try_from(done.size).unwrap_or(i64::MAX);
        record.document.uploaded_date_time = Some(done.uploaded);
        record.document_stored = true;
        self.store.put_job(&record)?;
        self.store.flush_blocking()?;
        tracing::info!(printer = %target.printer_id, job = %target.job_id, size = done.size, "document uploaded");
        Ok(serde_json::to_value(&record.document).expect("documents serialise"))
    }
}

/// Writes a secret readable only by the owner.
pub fn write_private(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    use std::io::Write;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    options.open(path)?.write_all(bytes)
}
