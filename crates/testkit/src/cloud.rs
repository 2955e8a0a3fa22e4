//! A real cloud on loopback for one test.

use crate::Graph;
use printlab_cloud::{Cloud, CloudOptions};
use printlab_serve::{ServeLimits, create_lab_certificates, server_config};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::net::TcpListener;
use tokio::sync::oneshot;

/// What [`TestCloud::admin`] may do: every scope the tests' administrators use, so a test
/// about one permission names its own narrower token instead.
pub const ADMIN_SCOPES: &[&str] = &[
    "Printers.Create",
    "Printer.FullControl.All",
    "Printer.ReadWrite.All",
    "PrinterShare.ReadWrite.All",
    "PrintJob.ReadWrite.All",
];

type Layer = Arc<dyn Fn(axum::Router) -> axum::Router + Send + Sync>;

/// How to start a [`TestCloud`]; kept so a restart comes back the same.
#[derive(Clone, Default)]
pub struct TestCloudBuilder {
    data: Option<PathBuf>,
    addr: Option<SocketAddr>,
    long_poll: Option<printlab_cloud::infra::LongPoll>,
    page_size: Option<usize>,
    max_page_size: Option<usize>,
    limits: Option<ServeLimits>,
    layer: Option<Layer>,
    tls: bool,
    strict_reference: bool,
    multiple_operation_time_out: Option<Duration>,
    webhooks: Option<printlab_cloud::webhooks::WebhookOptions>,
}

impl TestCloudBuilder {
    /// The cloud's data folder; without one it gets a temporary folder of its own.
    pub fn data(mut self, data: &Path) -> Self {
        self.data = Some(data.to_path_buf());
        self
    }

    /// The INFRA long-poll limit, over HTTP/1.1 and HTTP/2 alike: tests shorten it so a stop
    /// never waits out a long period.
    pub fn long_poll(mut self, limit: Duration) -> Self {
        self.long_poll = Some(printlab_cloud::infra::LongPoll::always(limit));
        self
    }

    /// The INFRA long-poll limits over HTTP/1.1 and over HTTP/2, apart.
    pub fn long_polls(mut self, limits: printlab_cloud::infra::LongPoll) -> Self {
        self.long_poll = Some(limits);
        self
    }

    /// Members per Graph collection page without `$top`: tests of paging shorten it.
    pub fn page_size(mut self, members: usize) -> Self {
        self.page_size = Some(members);
        self
    }

    /// The most members per page whatever `$top` asks: tests of the cap shrink it.
    pub fn max_page_size(mut self, members: usize) -> Self {
        self.max_page_size = Some(members);
        self
    }

    /// The connection timeouts and budget, which tests shorten and shrink.
    pub fn limits(mut self, limits: ServeLimits) -> Self {
        self.limits = Some(limits);
        self
    }

    /// Serves HTTPS with the CA and certificate `--tls` creates (in the data folder, for
    /// 127.0.0.1); [`TestCloud::ca_file`] names the CA, and [`TestCloud::http`] trusts it.
    pub fn tls(mut self) -> Self {
        self.tls = true;
        self
    }

    /// The INFRA service refuses what PWG's reference peers refuse
    /// ([`CloudOptions::infra_strict_reference`]).
    pub fn strict_reference(mut self) -> Self {
        self.strict_reference = true;
        self
    }

    /// How long a job made by Create-Job waits for its document
    /// ([`CloudOptions::multiple_operation_time_out`]): tests of the time-out shorten it.
    pub fn multiple_operation_time_out(mut self, limit: Duration) -> Self {
        self.multiple_operation_time_out = Some(limit);
        self
    }

    /// How change notifications are delivered: tests shorten the retries.
    pub fn webhooks(mut self, options: printlab_cloud::webhooks::WebhookOptions) -> Self {
        self.webhooks = Some(options);
        self
    }

    /// Wraps the cloud's router, for a test that watches or slows what reaches the cloud; it is
    /// served by the production connection loop all the same ([`Cloud::serve_wrapped_until`]).
    pub fn layer(
        mut self,
        layer: impl Fn(axum::Router) -> axum::Router + Send + Sync + 'static,
    ) -> Self {
        self.layer = Some(Arc::new(layer));
        self
    }

    pub async fn start(self) -> TestCloud {
        let (dir, data) = match &self.data {
            Some(data) => (None, data.clone()),
            None => {
                let dir = tempfile::tempdir().unwrap();
                let data = dir.path().to_path_buf();
                (Some(dir), data)
            }
        };
        let listener = bind(self.addr).await;
        let addr = listener.local_addr().unwrap();
        let mut options = CloudOptions::default();
        let ca_file = self.tls.then(|| {
            let files = create_lab_certificates(&data, &[&addr.ip().to_string()]).unwrap();
            options.tls = Some(server_config(&files.cert, &files.key).unwrap());
            files.ca
        });
        let scheme = if self.tls { "https" } else { "http" };
        let url = format!("{scheme}://{addr}");
        if let Some(limits) = self.long_poll {
            options.long_poll = limits;
        }
        if let Some(members) = self.page_size {
            options.page_size = members;
        }
        if let Some(members) = self.max_page_size {
            options.max_page_size = members;
        }
        if let Some(limits) = &self.limits {
            options.limits = limits.clone();
        }
        options.infra_strict_reference = self.strict_reference;
        if let Some(limit) = self.multiple_operation_time_out {
            options.multiple_operation_time_out = limit;
        }
        if let Some(webhooks) = &self.webhooks {
            options.webhooks = webhooks.clone();
        }
        let cloud = Cloud::open_with(&data, &url, options).unwrap();
        let (stop, stopped) = oneshot::channel::<()>();
        let stopped = async {
            let _ = stopped.await;
        };
        let layer = self.layer.clone();
        let task = tokio::spawn(cloud.clone().serve_wrapped_until(
            listener,
            move |router| match layer {
                Some(layer) => layer(router),
                None => router,
            },
            stopped,
        ));
        TestCloud {
            cloud,
            url,
            ca_file,
            builder: TestCloudBuilder {
                data: Some(data),
                addr: Some(addr),
                ..self
            },
            dir,
            stop: Some(stop),
            task,
        }
    }
}

/// Binds `addr`, or an ephemeral port. A port just closed by a stopped cloud may take a moment
/// to be free again.
async fn bind(addr: Option<SocketAddr>) -> TcpListener {
    let Some(addr) = addr else {
        return TcpListener::bind("127.0.0.1:0").await.unwrap();
    };
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        match TcpListener::bind(addr).await {
            Ok(listener) => return listener,
            Err(e) if Instant::now() < deadline => {
                let _ = e;
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
            Err(e) => panic!("cannot rebind {addr}: {e}"),
        }
    }
}

/// The real cloud serving on loopback until stopped.
pub struct TestCloud {
    pub cloud: Cloud,
    /// `http://127.0.0.1:port` (`https://` with [`TestCloudBuilder::tls`]), without a version.
    pub url: String,
    ca_file: Option<PathBuf>,
    builder: TestCloudBuilder,
    dir: Option<tempfile::TempDir>,
    stop: Option<oneshot::Sender<()>>,
    task: tokio::task::JoinHandle<Result<(), printlab_cloud::CloudError>>,
}

/// A stopped cloud: its data and port, to start it again.
pub struct Stopped {
    builder: TestCloudBuilder,
    dir: Option<tempfile::TempDir>,
}

impl Stopped {
    /// The same cloud again: same data folder, same port, same options.
    pub async fn start(self) -> TestCloud {
        let mut cloud = self.builder.start().await;
        cloud.dir = self.dir;
        cloud
    }
}

impl TestCloud {
    /// A cloud with default options in a temporary folder of its own.
    pub async fn start() -> Self {
        Self::builder().start().await
    }

    /// A cloud on the data folder `data` (a restart of an earlier one when it holds data).
    pub async fn start_in(data: &Path) -> Self {
        Self::builder().data(data).start().await
    }

    pub fn builder() -> TestCloudBuilder {
        TestCloudBuilder::default()
    }

    /// Stops serving and waits until every connection is closed and the store is released,
    /// so the folder can be opened again.
    pub async fn stop(mut self) -> Stopped {
        self.stop.take().unwrap().send(()).unwrap();
        drop(self.cloud);
        tokio::time::timeout(Duration::from_secs(10), self.task)
            .await
            .expect("the cloud stops within the long-poll limit")
            .unwrap()
            .unwrap();
        Stopped {
            builder: self.builder,
            dir: self.dir,
        }
    }

    /// Stop, then start again on the same data and port.
    pub async fn restart(self) -> Self {
        self.stop().await.start().await
    }

    pub fn addr(&self) -> SocketAddr {
        self.builder.addr.unwrap()
    }

    /// The data folder.
    pub fn data(&self) -> &Path {
        self.builder.data.as_deref().unwrap()
    }

    /// `…/v1.0`.
    pub fn v1(&self) -> String {
        self.cloud.graph_base_url()
    }

    /// `…/beta`.
    pub fn beta(&self) -> String {
        format!("{}/beta", self.url)
    }

    pub fn user(&self, name: &str, scopes: &[&str], admin: bool) -> String {
        self.cloud
            .token_key()
            .mint_user(name, &strings(scopes), admin, chrono::Duration::hours(1))
            .unwrap()
    }

    /// An administrator with [`ADMIN_SCOPES`].
    pub fn admin(&self) -> String {
        self.user("admin", ADMIN_SCOPES, true)
    }

    /// The administrator of [`TestCloud::admin`], signed in through the application `app`.
    pub fn admin_via(&self, app: &str) -> String {
        self.user_via(app, "admin", ADMIN_SCOPES, true)
    }

    /// The user `name` signed in through the application `app` rather than printlab's own
    /// client, for the tests that tell callers apart by the application they came through.
    pub fn user_via(&self, app: &str, name: &str, scopes: &[&str], admin: bool) -> String {
        self.cloud
            .token_key()
            .mint_user_via_app(
                app,
                name,
                &strings(scopes),
                admin,
                chrono::Duration::hours(1),
            )
            .unwrap()
    }

    pub fn app(&self, name: &str, roles: &[&str]) -> String {
        self.cloud
            .token_key()
            .mint_app(name, &strings(roles), chrono::Duration::hours(1))
            .unwrap()
    }

    /// The CA certificate (PEM file) of an HTTPS cloud's certificate; `None` over HTTP.
    pub fn ca_file(&self) -> Option<&Path> {
        self.ca_file.as_deref()
    }

    /// An HTTP client for this cloud: one that trusts its CA when it serves HTTPS.
    pub fn http(&self) -> reqwest::Client {
        let mut builder = reqwest::Client::builder();
        if let Some(ca) = &self.ca_file {
            let pem = std::fs::read(ca).unwrap();
            builder = builder.add_root_certificate(reqwest::Certificate::from_pem(&pem).unwrap());
        }
        builder.build().unwrap()
    }

    /// Graph v1.0 as `token`.
    pub fn graph(&self, token: &str) -> Graph {
        Graph {
            http: self.http(),
            ..Graph::new(&self.v1(), token)
        }
    }

    /// Graph v1.0 as the administrator.
    pub fn admin_graph(&self) -> Graph {
        self.graph(&self.admin())
    }
}

/// An administrator's token signed by a key no test cloud knows, for the tests that a cloud
/// refuses a well-formed token it did not issue.
pub fn foreign_token(name: &str, scopes: &[&str]) -> String {
    printlab_cloud::auth::TokenKey::generate()
        .mint_user(name, &strings(scopes), true, chrono::Duration::hours(1))
        .unwrap()
}

fn strings(list: &[&str]) -> Vec<String> {
    list.iter().map(|s| s.to_string()).collect()
}
