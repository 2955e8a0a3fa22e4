//! The device half of the test harness: real emulated printers from a `printers.toml` string,
//! in this process or as a real `printlab devices` process, against a
//! [`printlab_testkit::TestCloud`].
//!
//! A package of its own (not a feature of `printlab-testkit`) because cargo unifies features:
//! only the tests that run devices may link the devices and the rasterizer, and they name this
//! package; the tests of the cloud name `printlab-testkit` alone.

use printlab_device::config::{self, PrinterConfig};
use printlab_device::registration::{KeyKind, UniversalPrintAccess};
use printlab_device::runtime::{
    Endpoint, FleetOptions, Link, RunningFleet, RuntimeError, fleet_http_client_for, out_root,
    start_fleet,
};
use printlab_device::spool::Spool;
use printlab_ipp::http::Credentials;
use printlab_testkit::TestCloud;
use std::path::{Path, PathBuf};

/// The INFRA proxy credential the tests give the cloud and their devices.
pub const PROXY_USER: &str = "proxy";
pub const PROXY_PASSWORD: &str = "s3cret";

/// One fast A4 PDF printer named "Lab" (600 pages a minute, no warm-up, 72 dpi), the printer
/// most device tests need. Its connection comes from the test (or a `[fleet]` table before it).
pub const ONE_PRINTER: &str = r#"
[[printer]]
name = "Lab"
manufacturer = "printlab"
model = "Emulated Laser"
[printer.capabilities]
document_formats = ["application/pdf"]
media = [{ size = "A4", margins = { top = 4, bottom = 4, left = 4, right = 4 } }]
dpis = [72]
color_modes = ["blackAndWhite"]
duplex_modes = ["oneSided"]
finishings = ["none"]
copies = { min = 1, max = 9 }
[printer.defaults]
document_format = "application/pdf"
media_size = "A4"
color_mode = "blackAndWhite"
duplex_mode = "oneSided"
dpi = 72
copies = 1
[printer.engine]
pages_per_minute = 600
warm_up_seconds = 0
"#;

/// `count` copies of `printer` (an entry named "Lab", as [`ONE_PRINTER`] is) named P0, P1, …,
/// each connecting the Universal Print way: the fleets the benches start.
pub fn universal_print_fleet(printer: &str, count: usize) -> String {
    (0..count)
        .map(|n| {
            let named = format!("name = \"P{n}\"\nconnection = {{ mode = \"universal-print\" }}");
            printer.replace("name = \"Lab\"", &named)
        })
        .collect()
}

/// The real cloud on `data` with a 2 s long poll, so stopping it under running devices never
/// waits long even without the shutdown's own answer to held polls.
pub async fn device_cloud(data: &Path) -> TestCloud {
    TestCloud::builder()
        .data(data)
        .long_poll(std::time::Duration::from_secs(2))
        .start()
        .await
}

/// A real PDF of `pages` A4 pages.
pub fn pdf(pages: usize) -> Vec<u8> {
    printlab_render::testpage::generate(&vec![(595.0, 842.0); pages]).unwrap()
}

/// A Graph printer "Lab" provisioned for an INFRA proxy at `/ipp/print/lab` with the tests'
/// proxy credential, which devices reach through [`lab_proxy`]; gives the printer's id. Most
/// device tests start from it.
pub async fn proxied_printer(cloud: &TestCloud) -> String {
    let printer = cloud.admin_graph().create_printer("Lab").await;
    cloud
        .cloud
        .infra()
        .add_proxy_credential(&printer, "lab", PROXY_USER, PROXY_PASSWORD)
        .await
        .unwrap();
    printer
}

/// Every printer reaches the printer [`proxied_printer`] provisioned on `cloud`.
pub fn lab_proxy(
    cloud: &TestCloud,
) -> impl Fn(&PrinterConfig) -> Result<Link, RuntimeError> + use<> {
    infra(&format!("{}/ipp/print/lab", cloud.url))
}

/// Every printer reaches the INFRA proxy at `printer_uri` with the tests' proxy credential.
pub fn infra(printer_uri: &str) -> impl Fn(&PrinterConfig) -> Result<Link, RuntimeError> + use<> {
    let printer_uri = printer_uri.to_string();
    move |_| {
        Ok(Link::Infra(Endpoint {
            printer_uri: printer_uri.clone(),
            credentials: Credentials::Basic {
                user: PROXY_USER.into(),
                password: PROXY_PASSWORD.into(),
            },
        }))
    }
}

/// Each printer connects as its config says, Universal Print ones to the cloud at `cloud_url`
/// (registering with `admin_token` when they have no identity yet).
pub fn universal_print(
    cloud_url: &str,
    admin_token: Option<String>,
    key: KeyKind,
) -> impl Fn(&PrinterConfig) -> Result<Link, RuntimeError> {
    let access = UniversalPrintAccess {
        cloud_url: cloud_url.to_string(),
        admin_token,
        key,
    };
    move |printer| Link::from_config(printer, Some(&access))
}

/// A device spool under a folder, and the fleet currently running on it.
///
/// The spool stays open across restarts of the devices, as a sled database can be opened once
/// per process, and a restarted device must find what the previous one recorded.
pub struct TestFleet {
    pub spool: Spool,
    /// The devices' HTTP client: a plain one for tests, `fleet_http_client` for the benches'
    /// large fleets.
    pub http: reqwest::Client,
    /// The spool (`db/`) and the rendered output (`out/`).
    pub dir: PathBuf,
    /// Where the next start's IPP Everywhere listener binds (`None`: no listener); tests use
    /// `127.0.0.1:0` ([`TestFleet::with_ipp`]).
    pub ipp_listen: Option<std::net::SocketAddr>,
    running: Option<RunningFleet>,
}

impl TestFleet {
    /// The spool in `dir`, with no devices running yet.
    pub fn open(dir: &Path) -> Self {
        Self {
            spool: Spool::open(&dir.join("db")).unwrap(),
            http: reqwest::Client::new(),
            dir: dir.to_path_buf(),
            ipp_listen: None,
            running: None,
        }
    }

    /// The same, with the printers' IPP Everywhere listener on an ephemeral loopback port.
    pub fn with_ipp(mut self) -> Self {
        self.ipp_listen = Some(([127, 0, 0, 1], 0).into());
        self
    }

    /// Starts the printers of `toml` (a printers.toml) in this process, reaching their service
    /// through `link`; `render` false lays jobs out without drawing.
    pub fn start(
        &mut self,
        toml: &str,
        render: bool,
        link: impl Fn(&PrinterConfig) -> Result<Link, RuntimeError>,
    ) -> &RunningFleet {
        let fleet = config::parse(toml, "test.toml").expect("a valid printers.toml");
        self.start_printers(&fleet.printers, render, link)
    }

    /// Starts printers already read from a file (`config::load`), so a test can run a shipped
    /// file as it is, or adjusted (at full speed, say).
    pub fn start_printers(
        &mut self,
        printers: &[PrinterConfig],
        render: bool,
        link: impl Fn(&PrinterConfig) -> Result<Link, RuntimeError>,
    ) -> &RunningFleet {
        assert!(self.running.is_none(), "stop the running devices first");
        let options = FleetOptions {
            spool: self.spool.clone(),
            out_root: out_root(&self.dir),
            http: self.http.clone(),
            render,
            ipp_listen: self.ipp_listen,
            metrics: Default::default(),
        };
        self.running = Some(start_fleet(printers, link, options).unwrap());
        self.running()
    }

    /// Starts `count` copies of `printer` (a printers.toml entry, see [`universal_print_fleet`])
    /// as Universal Print printers registering with `cloud` (P-256 keys), over the HTTP
    /// `printlab devices` would choose for it, and waits until every one has registered and
    /// subscribed.
    pub async fn start_subscribed(
        &mut self,
        cloud: &TestCloud,
        printer: &str,
        count: usize,
    ) -> &RunningFleet {
        self.http = fleet_http_client_for(std::slice::from_ref(&cloud.url), None)
            .await
            .unwrap();
        let admin = cloud.user("admin", &["Printers.Create"], true);
        self.start(
            &universal_print_fleet(printer, count),
            false,
            universal_print(&cloud.url, Some(admin), KeyKind::EcdsaP256),
        );
        for printer in &self.running().printers {
            tokio::time::timeout(
                std::time::Duration::from_secs(60),
                printer.wait_for(|s| s.connected && s.subscribed),
            )
            .await
            .unwrap_or_else(|_| panic!("{} did not register and subscribe", printer.name));
        }
        self.running()
    }

    pub fn running(&self) -> &RunningFleet {
        self.running
            .as_ref()
            .expect("devices running in this process")
    }

    /// Shuts the running devices down; the spool stays for the next start.
    pub async fn stop(&mut self) {
        if let Some(running) = self.running.take() {
            running.shutdown().await;
        }
    }
}

/// A real `printlab devices` process, so a test can SIGKILL the devices mid-job; its control
/// API URL is read from what it prints.
pub struct DevicesProcess {
    child: std::process::Child,
    pub control: String,
}

impl DevicesProcess {
    /// `exe` is the `printlab` binary (`env!("CARGO_BIN_EXE_printlab")`, which only the root
    /// package's tests have).
    pub fn start(exe: &str, config: &Path, spool: &Path) -> Self {
        use std::io::BufRead;
        let mut child = std::process::Command::new(exe)
            .args(["devices", "--config"])
            .arg(config)
            .arg("--spool")
            .arg(spool)
            .env("PRINTLAB_LOG", "warn")
            .stdout(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        let mut lines = std::io::BufReader::new(child.stdout.take().unwrap()).lines();
        let control = lines
            .by_ref()
            .map_while(Result::ok)
            .find_map(|l| {
                l.strip_prefix("control API: ")
                    .and_then(|u| u.strip_suffix("/control/printers"))
                    .map(str::to_string)
            })
            .expect("printlab devices prints its control API");
        // Keep reading so the process never blocks on a full pipe.
        std::thread::spawn(move || lines.for_each(drop));
        Self { child, control }
    }

    /// SIGKILL, as a power cut would stop it.
    pub fn kill(mut self) {
        self.child.kill().unwrap();
        self.child.wait().unwrap();
    }
}
