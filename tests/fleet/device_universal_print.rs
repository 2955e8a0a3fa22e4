//! Universal Print mode end to end through the real cloud on loopback: an emulated printer
//! registers (CSR, polling), gets a device token (nonce, signed JWT), advertises over INFRA as
//! the registered printer, and prints a job a Graph client submitted to its share. A restarted
//! device reuses its identity instead of registering again, and expired tokens are replaced.

use printlab_device::config;
use printlab_device::registration::KeyKind;
use printlab_device::spool::DeviceIdentity;
use printlab_testkit::{Graph, TestCloud};
use printlab_testkit_fleet::{ONE_PRINTER, TestFleet, device_cloud, pdf, universal_print};
use reqwest::Method;
use serde_json::{Value as Json, json};
use std::time::{Duration, Instant};

fn printer_toml() -> String {
    format!("[fleet]\nconnection = {{ mode = \"universal-print\" }}\n{ONE_PRINTER}")
}

/// A user who prints through shares.
fn user(cloud: &TestCloud) -> Graph {
    cloud.graph(&cloud.user(
        "ada",
        &["PrintJob.ReadWrite", "PrinterShare.ReadBasic.All"],
        false,
    ))
}

async fn printers(cloud: &TestCloud) -> Vec<Json> {
    let list = cloud.admin_graph().get_ok("/print/printers").await;
    list["value"].as_array().unwrap().clone()
}

/// Waits until the device registered and advertised: Graph shows its capabilities.
async fn advertised_printer(cloud: &TestCloud) -> String {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        if let Some(p) = printers(cloud).await.first() {
            let id = p["id"].as_str().unwrap().to_string();
            let view = cloud
                .admin_graph()
                .get_ok(&format!(
                    "/print/printers/{id}?$select=id,capabilities,status"
                ))
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
async fn submit(cloud: &TestCloud, share: &str, pages: usize) -> String {
    let jobs = format!("/print/shares/{share}/jobs");
    let configuration = json!({"mediaSize": "A4"});
    user(cloud)
        .submit(&jobs, "application/pdf", pdf(pages), configuration)
        .await
}

async fn wait_completed(cloud: &TestCloud, share: &str, job: &str) -> Json {
    let path = format!("/print/shares/{share}/jobs/{job}");
    let what = format!("job {job} to complete");
    let limit = Duration::from_secs(30);
    user(cloud)
        .wait(&path, &what, limit, |j| j["status"]["state"] == "completed")
        .await
}

/// Starts the device with the administrator's token, waits until it registered and
/// advertised, and shares its printer; gives the printer and the share.
async fn shared_device(fleet: &mut TestFleet, cloud: &TestCloud) -> (String, String) {
    start_device(fleet, cloud, true);
    let printer = advertised_printer(cloud).await;
    let share = share(cloud, &printer).await;
    (printer, share)
}

/// A user's job of `pages` pages on `share`, submitted and waited for until it completed;
/// gives the job id and the completed job.
async fn print_and_wait(cloud: &TestCloud, share: &str, pages: usize) -> (String, Json) {
    let job = submit(cloud, share, pages).await;
    let done = wait_completed(cloud, share, &job).await;
    (job, done)
}

/// The cloud (in `dir/cloud`, issuing device tokens for `token_lifetime` when given) and the
/// device fleet (spool in `dir/spool`) every test here starts from, in a new folder `dir`; no
/// device runs yet.
async fn cloud_and_fleet(
    token_lifetime: Option<chrono::Duration>,
) -> (tempfile::TempDir, TestCloud, TestFleet) {
    let dir = tempfile::tempdir().unwrap();
    let cloud = device_cloud(&dir.path().join("cloud")).await;
    if let Some(lifetime) = token_lifetime {
        cloud.cloud.set_device_token_lifetime(lifetime);
    }
    let fleet = TestFleet::open(&dir.path().join("spool"));
    (dir, cloud, fleet)
}

/// Starts the device again without an administrator's token, so it has only the identity in
/// its spool, and prints one job on `share` through it; gives that identity afterwards.
async fn print_as_restarted(
    fleet: &mut TestFleet,
    cloud: &TestCloud,
    share: &str,
) -> DeviceIdentity {
    start_device(fleet, cloud, false);
    print_and_wait(cloud, share, 1).await;
    fleet.spool.identity("Lab").unwrap().unwrap()
}

/// Stops the fleet, then the cloud: every test's end, and how a test takes its cloud away.
async fn stop(fleet: &mut TestFleet, cloud: TestCloud) {
    fleet.stop().await;
    cloud.stop().await;
}

/// Starts the one Universal Print device of the fleet against `cloud`, with the administrator's
/// token to register with when `admin`, or only the identity in its spool.
fn start_device(fleet: &mut TestFleet, cloud: &TestCloud, admin: bool) {
    let token = admin.then(|| cloud.admin());
    fleet.start(
        &printer_toml(),
        true,
        universal_print(&cloud.url, token, KeyKind::Rsa2048),
    );
}

async fn share(cloud: &TestCloud, printer: &str) -> String {
    cloud.admin_graph().share(printer, "Lab share").await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_universal_print_device_registers_once_and_prints_graph_jobs() {
    let (_dir, cloud, mut fleet) = cloud_and_fleet(None).await;
    start_device(&mut fleet, &cloud, true);
    let printer = advertised_printer(&cloud).await;
    let listed = printers(&cloud).await;
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0]["displayName"], "Lab");
    assert_eq!(listed[0]["manufacturer"], "printlab");
    assert_eq!(listed[0]["model"], "Emulated Laser");
    assert_eq!(listed[0]["hasPhysicalDevice"], true);
    let identity = fleet.spool.identity("Lab").unwrap().unwrap();
    assert_eq!(identity.device_id.as_deref(), Some(printer.as_str()));
    assert!(identity.certificate_pem.is_some() && identity.access_token.is_some());

    let share = share(&cloud, &printer).await;
    let (job, done) = print_and_wait(&cloud, &share, 2).await;
    assert_eq!(done["status"]["isAcquiredByPrinter"], true, "{done}");
    let record = fleet
        .spool
        .job("Lab", job.parse().unwrap())
        .unwrap()
        .unwrap();
    assert_eq!(record.progress.sheets_completed, 2);
    fleet.stop().await;

    // Restarted without an admin token: the spool's identity is the same printer.
    let identity = print_as_restarted(&mut fleet, &cloud, &share).await;
    assert_eq!(
        printers(&cloud).await.len(),
        1,
        "the device registered again"
    );
    assert_eq!(identity.device_id.as_deref(), Some(printer.as_str()));
    stop(&mut fleet, cloud).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn expired_device_tokens_are_replaced() {
    let (_dir, cloud, mut fleet) = cloud_and_fleet(Some(chrono::Duration::seconds(2))).await;
    let (printer, share) = shared_device(&mut fleet, &cloud).await;
    let first = fleet.spool.identity("Lab").unwrap().unwrap();

    // The device renews by itself while idle (at four fifths of the lifetime, 1.6 s here).
    let deadline = Instant::now() + Duration::from_secs(20);
    let renewed = loop {
        let now = fleet.spool.identity("Lab").unwrap().unwrap();
        if now.access_token != first.access_token {
            break now;
        }
        assert!(Instant::now() < deadline, "the idle device never renewed");
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert!(renewed.token_expires_at > first.token_expires_at);
    print_and_wait(&cloud, &share, 1).await;
    fleet.stop().await;

    // A token the service refuses (expired an hour ago, though the spool thinks it good):
    // HTTP 401, and the device gets a new one and carries on.
    cloud
        .cloud
        .set_device_token_lifetime(chrono::Duration::hours(1));
    let stale = cloud
        .cloud
        .token_key()
        .mint_device(&printer, chrono::Duration::hours(-1))
        .unwrap();
    let mut identity = fleet.spool.identity("Lab").unwrap().unwrap();
    identity.access_token = Some(stale.clone());
    identity.token_expires_at = Some(chrono::Utc::now() + chrono::Duration::hours(1));
    identity.token_refresh_at = identity.token_expires_at;
    fleet.spool.put_identity("Lab", &identity).unwrap();
    fleet.spool.flush().unwrap();
    let now = print_as_restarted(&mut fleet, &cloud, &share).await;
    assert_ne!(now.access_token.as_deref(), Some(stale.as_str()));
    assert_eq!(
        cloud
            .cloud
            .token_key()
            .verify_device(now.access_token.as_deref().unwrap()),
        Some(printer.clone())
    );
    stop(&mut fleet, cloud).await;
}

/// `printlab up` says the lab is up when `printlab_lab::Lab::start` returns: by then each
/// printer must show Graph clients the state its device advertised, not the blank one
/// registration leaves (state `unknown`, `isAcceptingJobs` null), nor the one a previous run
/// left behind. The printers' network is slow (every request waits 300 ms), so each one is
/// listed in Graph well before its device, after its token requests, advertises.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_started_lab_lists_every_printer_as_its_device_advertised_it() {
    let dir = tempfile::tempdir().unwrap();
    let slow = format!(
        "{}[printer.faults]\nextra_latency_ms = 300\n",
        printer_toml()
    );
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
            tls: None,
            public_url: None,
            transport_faults: Default::default(),
            allow_remote_webhooks: false,
            ipp_listen: None,
            dns_sd: false,
            render: true,
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
    let (_dir, cloud, mut fleet) = cloud_and_fleet(None).await;
    start_device(&mut fleet, &cloud, true);
    let deleted = advertised_printer(&cloud).await;
    let key = fleet
        .spool
        .identity("Lab")
        .unwrap()
        .unwrap()
        .private_key_pem;
    let path = format!("/print/printers/{deleted}");
    cloud.admin_graph().ok(Method::DELETE, &path, None).await;
    let printer = advertised_printer(&cloud).await;
    assert_ne!(printer, deleted);
    assert_eq!(printers(&cloud).await.len(), 1);
    let identity = fleet.spool.identity("Lab").unwrap().unwrap();
    assert_eq!(identity.device_id.as_deref(), Some(printer.as_str()));
    assert_eq!(identity.private_key_pem, key, "the device kept its key");
    let share = share(&cloud, &printer).await;
    print_and_wait(&cloud, &share, 1).await;
    stop(&mut fleet, cloud).await;
}

/// The lab's cloud is reset (a new folder: new keys, no printers) and comes back on another
/// port. The restarted device follows the service to its new address, is refused there as an
/// unknown client (its token and certificate come from the old keys) and registers again.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_device_registers_again_with_a_reset_cloud_at_a_new_address() {
    let (dir, cloud, mut fleet) = cloud_and_fleet(None).await;
    start_device(&mut fleet, &cloud, true);
    let old = advertised_printer(&cloud).await;
    let old_base = cloud.url.clone();
    stop(&mut fleet, cloud).await;

    let cloud = device_cloud(&dir.path().join("cloud-reset")).await;
    assert_ne!(cloud.url, old_base);
    let (printer, share) = shared_device(&mut fleet, &cloud).await;
    assert_ne!(printer, old);
    print_and_wait(&cloud, &share, 1).await;
    stop(&mut fleet, cloud).await;
}

/// The same cloud (same folder) comes back on another port. The device, restarted without an
/// admin token and with an expired token, gets a new one at the service's new address and
/// prints as the same printer.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_device_follows_its_cloud_to_a_new_address() {
    let (dir, cloud, mut fleet) = cloud_and_fleet(Some(chrono::Duration::seconds(1))).await;
    let (printer, share) = shared_device(&mut fleet, &cloud).await;
    let old_base = cloud.url.clone();
    stop(&mut fleet, cloud).await;
    let expires = fleet
        .spool
        .identity("Lab")
        .unwrap()
        .unwrap()
        .token_expires_at
        .unwrap();
    let wait = (expires - chrono::Utc::now()).to_std().unwrap_or_default();
    tokio::time::sleep(wait + Duration::from_millis(100)).await;

    let cloud = device_cloud(&dir.path().join("cloud")).await;
    assert_ne!(cloud.url, old_base);
    let identity = print_as_restarted(&mut fleet, &cloud, &share).await;
    assert_eq!(printers(&cloud).await.len(), 1);
    assert_eq!(identity.device_id.as_deref(), Some(printer.as_str()));
    assert!(
        identity
            .device_token_url
            .unwrap()
            .starts_with(&format!("{}/", cloud.url))
    );
    stop(&mut fleet, cloud).await;
}

/// Scripts and probes poll `GET /readyz` instead of reading the log: a lab's cloud (and its
/// control API) answers 503 naming what it waits for while a printer has not advertised, and
/// 200 once `Lab::start` has everything registered, advertised and shared.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_lab_is_ready_only_once_every_printer_has_advertised() {
    let dir = tempfile::tempdir().unwrap();
    // The printer's network is down for its first 2 s: it cannot register before then.
    let offline = format!(
        "{}[printer.faults]\noffline = [{{ after_seconds = 0, for_seconds = 2 }}]\n",
        printer_toml()
    );
    let printers = config::parse(&offline, "test.toml").unwrap().printers;
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let starting = tokio::spawn(printlab_lab::Lab::start(printlab_lab::LabOptions {
        listen: format!("127.0.0.1:{port}"),
        control: "127.0.0.1:0".parse().unwrap(),
        data_dir: dir.path().to_path_buf(),
        printers,
        tls: None,
        public_url: None,
        transport_faults: Default::default(),
        allow_remote_webhooks: false,
        ipp_listen: None,
        dns_sd: false,
        render: true,
    }));
    let probe = |url: String| async move {
        let answer = reqwest::get(&url).await.map_err(|e| json!(e.to_string()))?;
        let status = answer.status().as_u16();
        Ok((status, answer.json::<Json>().await.unwrap()))
    };
    let readyz = format!("http://127.0.0.1:{port}/readyz");
    let (status, body) =
        printlab_testkit::wait_for("the lab's cloud to answer", Duration::from_secs(20), || {
            probe(readyz.clone())
        })
        .await;
    assert_eq!(status, 503, "{body}");
    assert_eq!(body["status"], "notReady", "{body}");
    assert!(body["pending"]["printers"].is_string(), "{body}");

    let lab = starting.await.unwrap().unwrap();
    let ready = json!({"status": "ready"});
    assert_eq!(probe(readyz).await.unwrap(), (200, ready.clone()));
    let control = format!("{}/readyz", lab.control_url);
    assert_eq!(probe(control).await.unwrap(), (200, ready));
    let healthz = format!("{}/healthz", lab.cloud_url);
    assert_eq!(probe(healthz).await.unwrap().0, 200);
    lab.shutdown().await.unwrap();
}
