//! Universal Print mode end to end through the real cloud on loopback: an emulated printer
//! registers (CSR, polling), gets a device token (nonce, signed JWT), advertises over INFRA as
//! the registered printer, and prints a job a Graph client submitted to its share. A restarted
//! device reuses its identity instead of registering again, and expired tokens are replaced.

use printlab_cloud::{Cloud, CloudOptions};
use printlab_device::config;
use printlab_device::registration::{KeyKind, UniversalPrintAccess};
use printlab_device::runtime::{FleetOptions, Link, RunningFleet, out_root, start_fleet};
use printlab_device::spool::Spool;
use serde_json::{Value as Json, json};
use std::path::Path;
use std::time::{Duration, Instant};
use tokio::sync::oneshot;

const PRINTER: &str = r#"
[fleet]
connection = { mode = "universal-print" }

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

/// The real cloud on an ephemeral loopback port.
struct Lab {
    cloud: Cloud,
    base: String,
    admin: String,
    user: String,
    http: reqwest::Client,
    stop: Option<oneshot::Sender<()>>,
    serving: tokio::task::JoinHandle<()>,
}

impl Lab {
    async fn start(data: &Path) -> Self {
        let socket = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", socket.local_addr().unwrap());
        let cloud = Cloud::open_with(
            data,
            &base,
            CloudOptions {
                long_poll: Duration::from_secs(2),
            },
        )
        .unwrap();
        let scopes = [
            "Printers.Create",
            "Printer.FullControl.All",
            "PrinterShare.ReadWrite.All",
            "PrintJob.ReadWrite.All",
        ]
        .map(String::from);
        let admin = cloud
            .token_key()
            .mint_user("admin", &scopes, true, chrono::Duration::hours(1))
            .unwrap();
        let user = cloud
            .token_key()
            .mint_user(
                "ada",
                &[
                    "PrintJob.ReadWrite".into(),
                    "PrinterShare.ReadBasic.All".into(),
                ],
                false,
                chrono::Duration::hours(1),
            )
            .unwrap();
        let (stop, stopped) = oneshot::channel::<()>();
        let serving = tokio::spawn(cloud.clone().serve_until(socket, async {
            let _ = stopped.await;
        }));
        let serving = tokio::spawn(async move {
            serving.await.unwrap().unwrap();
        });
        Self {
            cloud,
            base,
            admin,
            user,
            http: reqwest::Client::new(),
            stop: Some(stop),
            serving,
        }
    }

    async fn stop(mut self) {
        self.stop.take().unwrap().send(()).unwrap();
        drop(self.cloud);
        tokio::time::timeout(Duration::from_secs(10), self.serving)
            .await
            .expect("the cloud stops within the long-poll limit")
            .unwrap();
    }

    /// One Graph call; panics on anything but success.
    async fn graph(
        &self,
        token: &str,
        method: reqwest::Method,
        path: &str,
        body: Option<Json>,
    ) -> Json {
        let mut request = self
            .http
            .request(method, format!("{}/v1.0{path}", self.base))
            .bearer_auth(token);
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request.send().await.unwrap();
        let status = response.status();
        let text = response.text().await.unwrap();
        assert!(status.is_success(), "{path}: {status} {text}");
        if text.is_empty() {
            Json::Null
        } else {
            serde_json::from_str(&text).unwrap()
        }
    }

    async fn printers(&self) -> Vec<Json> {
        let list = self
            .graph(&self.admin, reqwest::Method::GET, "/print/printers", None)
            .await;
        list["value"].as_array().unwrap().clone()
    }

    /// Waits until the device registered and advertised: Graph shows its capabilities.
    async fn advertised_printer(&self) -> String {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            if let Some(p) = self.printers().await.first() {
                let id = p["id"].as_str().unwrap().to_string();
                let view = self
                    .graph(
                        &self.admin,
                        reqwest::Method::GET,
                        &format!("/print/printers/{id}?$select=id,capabilities,status"),
                        None,
                    )
                    .await;
                if view["capabilities"]["contentTypes"] == json!(["application/pdf"]) {
                    return id;
                }
            }
            assert!(
                Instant::now() < deadline,
                "the device never registered and advertised"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// A user's job on `share`: create, upload, start. Returns the job id.
    async fn submit(&self, share: &str, pages: usize) -> String {
        use reqwest::Method;
        let data = printlab_render::testpage::generate(&vec![(595.0, 842.0); pages]).unwrap();
        let jobs = format!("/print/shares/{share}/jobs");
        let job = self
            .graph(
                &self.user,
                Method::POST,
                &jobs,
                Some(json!({"configuration": {"mediaSize": "A4"}})),
            )
            .await;
        let job_id = job["id"].as_str().unwrap().to_owned();
        let document_id = job["documents"][0]["id"].as_str().unwrap();
        let session = self
            .graph(
                &self.user,
                Method::POST,
                &format!("{jobs}/{job_id}/documents/{document_id}/createUploadSession"),
                Some(json!({"properties": {
                    "documentName": "page.pdf", "contentType": "application/pdf", "size": data.len(),
                }})),
            )
            .await;
        let status = self
            .http
            .put(session["uploadUrl"].as_str().unwrap())
            .header(
                "Content-Range",
                format!("bytes 0-{}/{}", data.len() - 1, data.len()),
            )
            .body(data)
            .send()
            .await
            .unwrap()
            .status();
        assert_eq!(status.as_u16(), 201);
        self.graph(
            &self.user,
            Method::POST,
            &format!("{jobs}/{job_id}/start"),
            None,
        )
        .await;
        job_id
    }

    async fn wait_completed(&self, share: &str, job: &str) -> Json {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let j = self
                .graph(
                    &self.user,
                    reqwest::Method::GET,
                    &format!("/print/shares/{share}/jobs/{job}"),
                    None,
                )
                .await;
            if j["status"]["state"] == "completed" {
                return j;
            }
            assert!(Instant::now() < deadline, "job {job} never completed: {j}");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    async fn share(&self, printer: &str) -> String {
        let share = self
            .graph(
                &self.admin,
                reqwest::Method::POST,
                "/print/shares",
                Some(json!({"displayName": "Lab share", "allowAllUsers": true,
                    "printer@odata.bind": format!("{}/v1.0/print/printers/{printer}", self.base)})),
            )
            .await;
        share["id"].as_str().unwrap().to_string()
    }
}

fn start_device(
    dir: &Path,
    spool: &Spool,
    base: &str,
    admin_token: Option<String>,
) -> RunningFleet {
    let fleet = config::parse(PRINTER, "test.toml").unwrap();
    let access = UniversalPrintAccess {
        cloud_url: base.to_string(),
        admin_token,
        key: KeyKind::Rsa2048,
    };
    start_fleet(
        &fleet.printers,
        |printer| Link::from_config(printer, Some(&access)),
        FleetOptions {
            spool: spool.clone(),
            out_root: out_root(dir),
            http: reqwest::Client::new(),
            render: true,
        },
    )
    .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_universal_print_device_registers_once_and_prints_graph_jobs() {
    let dir = tempfile::tempdir().unwrap();
    let lab = Lab::start(&dir.path().join("cloud")).await;
    let spool = Spool::open(&dir.path().join("spool")).unwrap();
    let running = start_device(dir.path(), &spool, &lab.base, Some(lab.admin.clone()));
    let printer = lab.advertised_printer().await;
    let listed = lab.printers().await;
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0]["displayName"], "Lab");
    assert_eq!(listed[0]["manufacturer"], "printlab");
    assert_eq!(listed[0]["model"], "Emulated Laser");
    assert_eq!(listed[0]["hasPhysicalDevice"], true);
    let identity = spool.identity("Lab").unwrap().unwrap();
    assert_eq!(identity.device_id.as_deref(), Some(printer.as_str()));
    assert!(identity.certificate_pem.is_some() && identity.access_token.is_some());

    let share = lab.share(&printer).await;
    let job = lab.submit(&share, 2).await;
    let done = lab.wait_completed(&share, &job).await;
    assert_eq!(done["status"]["isAcquiredByPrinter"], true, "{done}");
    let record = spool.job("Lab", job.parse().unwrap()).unwrap().unwrap();
    assert_eq!(record.progress.sheets_completed, 2);
    running.shutdown().await;

    // Restarted without an admin token: the spool's identity is the same printer.
    let running = start_device(dir.path(), &spool, &lab.base, None);
    let job = lab.submit(&share, 1).await;
    lab.wait_completed(&share, &job).await;
    assert_eq!(lab.printers().await.len(), 1, "the device registered again");
    assert_eq!(
        spool.identity("Lab").unwrap().unwrap().device_id.as_deref(),
        Some(printer.as_str())
    );
    running.shutdown().await;
    lab.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn expired_device_tokens_are_replaced() {
    let dir = tempfile::tempdir().unwrap();
    let lab = Lab::start(&dir.path().join("cloud")).await;
    lab.cloud
        .set_device_token_lifetime(chrono::Duration::seconds(2));
    let spool = Spool::open(&dir.path().join("spool")).unwrap();
    let running = start_device(dir.path(), &spool, &lab.base, Some(lab.admin.clone()));
    let printer = lab.advertised_printer().await;
    let share = lab.share(&printer).await;
    let first = spool.identity("Lab").unwrap().unwrap();

    // The device renews by itself while idle (at four fifths of the lifetime, 1.6 s here).
    let deadline = Instant::now() + Duration::from_secs(20);
    let renewed = loop {
        let now = spool.identity("Lab").unwrap().unwrap();
        if now.access_token != first.access_token {
            break now;
        }
        assert!(Instant::now() < deadline, "the idle device never renewed");
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert!(renewed.token_expires_at > first.token_expires_at);
    let job = lab.submit(&share, 1).await;
    lab.wait_completed(&share, &job).await;
    running.shutdown().await;

    // A token the service refuses (expired an hour ago, though the spool thinks it good):
    // HTTP 401, and the device gets a new one and carries on.
    lab.cloud
        .set_device_token_lifetime(chrono::Duration::hours(1));
    let stale = lab
        .cloud
        .token_key()
        .mint_device(&printer, chrono::Duration::hours(-1))
        .unwrap();
    let mut identity = spool.identity("Lab").unwrap().unwrap();
    identity.access_token = Some(stale.clone());
    identity.token_expires_at = Some(chrono::Utc::now() + chrono::Duration::hours(1));
    identity.token_refresh_at = identity.token_expires_at;
    spool.put_identity("Lab", &identity).unwrap();
    spool.flush().unwrap();
    let running = start_device(dir.path(), &spool, &lab.base, None);
    let job = lab.submit(&share, 1).await;
    lab.wait_completed(&share, &job).await;
    let now = spool.identity("Lab").unwrap().unwrap();
    assert_ne!(now.access_token.as_deref(), Some(stale.as_str()));
    assert_eq!(
        lab.cloud
            .token_key()
            .verify_device(now.access_token.as_deref().unwrap()),
        Some(printer.clone())
    );
    running.shutdown().await;
    lab.stop().await;
}

/// `printlab up` says the lab is up when `printlab_lab::Lab::start` returns: by then each
/// printer must show Graph clients the state its device advertised, not the blank one
/// registration leaves (state `unknown`, `isAcceptingJobs` null), nor the one a previous run
/// left behind. The printers' network is slow (every request waits 300 ms), so each one is
/// listed in Graph well before its device, after its token requests, advertises.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_started_lab_lists_every_printer_as_its_device_advertised_it() {
    let dir = tempfile::tempdir().unwrap();
    let slow = format!("{PRINTER}[printer.faults]\nextra_latency_ms = 300\n");
    let template = config::parse(&slow, "test.toml").unwrap().printers[0].clone();
    let printers: Vec<_> = (1..=4)
        .map(|n| {
            let mut printer = template.clone();
            printer.name = format!("Lab {n}");
            printer
        })
        .collect();
    for start in ["first start", "restart"] {
        let lab = printlab_lab::Lab::start(printlab_lab::LabOptions {
            listen: "127.0.0.1:0".into(),
            control: "127.0.0.1:0".parse().unwrap(),
            data_dir: dir.path().to_path_buf(),
            printers: printers.clone(),
        })
        .await
        .unwrap();
        let user = printlab_client::GraphClient::new(&lab.graph_url, Some(lab.user_token.clone()));
        let listed = user.printers().await.unwrap();
        assert_eq!(listed.len(), 4, "{start}");
        for printer in &listed {
            let name = &printer.display_name;
            assert_eq!(
                printer.status.state,
                printlab_graph::PrinterProcessingState::Idle,
                "{start}: {name}"
            );
            assert_eq!(printer.is_accepting_jobs, Some(true), "{start}: {name}");
        }
        assert_eq!(user.shares().await.unwrap().len(), 4, "{start}");
        let devices: Vec<_> = lab.devices().iter().map(|d| d.snapshot()).collect();
        assert!(devices.iter().all(|d| d.advertised), "{start}: {devices:?}");
        lab.shutdown().await.unwrap();
    }
}

/// An administrator deletes the printer through Graph while its device runs: the service now
/// refuses the device as an unknown client, and the device, holding an admin token as a
/// connector an administrator left signed in does, registers again (same key, new printer) and
/// prints for the new printer's share.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_device_whose_printer_was_deleted_registers_again() {
    let dir = tempfile::tempdir().unwrap();
    let lab = Lab::start(&dir.path().join("cloud")).await;
    let spool = Spool::open(&dir.path().join("spool")).unwrap();
    let running = start_device(dir.path(), &spool, &lab.base, Some(lab.admin.clone()));
    let deleted = lab.advertised_printer().await;
    let key = spool.identity("Lab").unwrap().unwrap().private_key_pem;
    lab.graph(
        &lab.admin,
        reqwest::Method::DELETE,
        &format!("/print/printers/{deleted}"),
        None,
    )
    .await;
    let printer = lab.advertised_printer().await;
    assert_ne!(printer, deleted);
    assert_eq!(lab.printers().await.len(), 1);
    let identity = spool.identity("Lab").unwrap().unwrap();
    assert_eq!(identity.device_id.as_deref(), Some(printer.as_str()));
    assert_eq!(identity.private_key_pem, key, "the device kept its key");
    let share = lab.share(&printer).await;
    let job = lab.submit(&share, 1).await;
    lab.wait_completed(&share, &job).await;
    running.shutdown().await;
    lab.stop().await;
}

/// The lab's cloud is reset (a new folder: new keys, no printers) and comes back on another
/// port. The restarted device follows the service to its new address, is refused there as an
/// unknown client (its token and certificate come from the old keys) and registers again.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_device_registers_again_with_a_reset_cloud_at_a_new_address() {
    let dir = tempfile::tempdir().unwrap();
    let lab = Lab::start(&dir.path().join("cloud")).await;
    let spool = Spool::open(&dir.path().join("spool")).unwrap();
    let running = start_device(dir.path(), &spool, &lab.base, Some(lab.admin.clone()));
    let old = lab.advertised_printer().await;
    let old_base = lab.base.clone();
    running.shutdown().await;
    lab.stop().await;

    let lab = Lab::start(&dir.path().join("cloud-reset")).await;
    assert_ne!(lab.base, old_base);
    let running = start_device(dir.path(), &spool, &lab.base, Some(lab.admin.clone()));
    let printer = lab.advertised_printer().await;
    assert_ne!(printer, old);
    let share = lab.share(&printer).await;
    let job = lab.submit(&share, 1).await;
    lab.wait_completed(&share, &job).await;
    running.shutdown().await;
    lab.stop().await;
}

/// The same cloud (same folder) comes back on another port. The device, restarted without an
/// admin token and with an expired token, gets a new one at the service's new address and
/// prints as the same printer.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_device_follows_its_cloud_to_a_new_address() {
    let dir = tempfile::tempdir().unwrap();
    let lab = Lab::start(&dir.path().join("cloud")).await;
    lab.cloud
        .set_device_token_lifetime(chrono::Duration::seconds(1));
    let spool = Spool::open(&dir.path().join("spool")).unwrap();
    let running = start_device(dir.path(), &spool, &lab.base, Some(lab.admin.clone()));
    let printer = lab.advertised_printer().await;
    let share = lab.share(&printer).await;
    let old_base = lab.base.clone();
    running.shutdown().await;
    lab.stop().await;
    let expires = spool
        .identity("Lab")
        .unwrap()
        .unwrap()
        .token_expires_at
        .unwrap();
    let wait = (expires - chrono::Utc::now()).to_std().unwrap_or_default();
    tokio::time::sleep(wait + Duration::from_millis(100)).await;

    let lab = Lab::start(&dir.path().join("cloud")).await;
    assert_ne!(lab.base, old_base);
    let running = start_device(dir.path(), &spool, &lab.base, None);
    let job = lab.submit(&share, 1).await;
    lab.wait_completed(&share, &job).await;
    assert_eq!(lab.printers().await.len(), 1);
    let identity = spool.identity("Lab").unwrap().unwrap();
    assert_eq!(identity.device_id.as_deref(), Some(printer.as_str()));
    assert!(
        identity
            .device_token_url
            .unwrap()
            .starts_with(&format!("{}/", lab.base))
    );
    running.shutdown().await;
    lab.stop().await;
}
