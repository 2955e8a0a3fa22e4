//! End to end through the real cloud on loopback: a Graph client creates, uploads and starts
//! jobs; an emulated printer connected as an INFRA proxy (printer URI + HTTP Basic) fetches,
//! prints and reports them; Graph shows the outcome. Also: a Graph cancel stops the device
//! mid-job within a second, a cloud restart in the middle of a job stream loses nothing, and
//! stopping the cloud does not wait out the long polls it holds.

use base64::Engine;
use printlab_cloud::{Cloud, CloudOptions};
use printlab_device::config;
use printlab_device::infra_client::InfraClient;
use printlab_device::runtime::{Endpoint, FleetOptions, RunningFleet, out_root, start_fleet};
use printlab_device::spool::Spool;
use printlab_graph::PrintJobProcessingState;
use printlab_ipp::http::Credentials;
use serde_json::{Value as Json, json};
use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::oneshot;

const PRINTER: &str = r#"
[[printer]]
name = "Lab"
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

/// The real cloud serving on a fixed loopback address, stoppable and restartable on the same
/// data folder and port.
struct Lab {
    cloud: Cloud,
    base: String,
    admin: String,
    http: reqwest::Client,
    stop: Option<oneshot::Sender<()>>,
    serving: tokio::task::JoinHandle<()>,
}

impl Lab {
    /// The cloud with a 2 s long poll, so stopping it never waits long even without the
    /// shutdown's own answer to held polls.
    async fn start(data: &Path, addr: Option<SocketAddr>) -> Self {
        let options = CloudOptions {
            long_poll: Duration::from_secs(2),
        };
        Self::start_with(data, addr, options).await
    }

    async fn start_with(data: &Path, addr: Option<SocketAddr>, options: CloudOptions) -> Self {
        let socket = match addr {
            None => tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap(),
            Some(addr) => {
                // The old listener is closed; the port may take a moment to be free again.
                let deadline = Instant::now() + Duration::from_secs(5);
                loop {
                    match tokio::net::TcpListener::bind(addr).await {
                        Ok(s) => break s,
                        Err(e) if Instant::now() < deadline => {
                            let _ = e;
                            tokio::time::sleep(Duration::from_millis(50)).await;
                        }
                        Err(e) => panic!("cannot rebind {addr}: {e}"),
                    }
                }
            }
        };
        let base = format!("http://{}", socket.local_addr().unwrap());
        let cloud = Cloud::open_with(data, &base, options).unwrap();
        let scopes = ["Printer.FullControl.All", "PrintJob.ReadWrite.All"].map(String::from);
        let admin = cloud
            .token_key()
            .mint_user("admin", &scopes, true, chrono::Duration::hours(1))
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
            http: reqwest::Client::new(),
            stop: Some(stop),
            serving,
        }
    }

    fn addr(&self) -> SocketAddr {
        self.base.trim_start_matches("http://").parse().unwrap()
    }

    /// Stops serving. Open long polls end with the server, so this returns once the devices
    /// have been cut off and the store is released.
    async fn stop(mut self) {
        self.stop.take().unwrap().send(()).unwrap();
        drop(self.cloud);
        tokio::time::timeout(Duration::from_secs(10), self.serving)
            .await
            .expect("the cloud stops within the long-poll limit")
            .unwrap();
    }

    async fn job(&self, printer_id: &str, job_id: &str) -> Json {
        graph(
            self,
            reqwest::Method::GET,
            &format!("/print/printers/{printer_id}/jobs/{job_id}"),
            None,
        )
        .await
    }

    /// Polls Graph `GET job` until `done` holds (at most `limit`).
    async fn wait_for_job(
        &self,
        printer_id: &str,
        job_id: &str,
        limit: Duration,
        done: impl Fn(&Json) -> bool,
    ) -> Json {
        let deadline = Instant::now() + limit;
        loop {
            let job = self.job(printer_id, job_id).await;
            if done(&job) {
                return job;
            }
            assert!(
                Instant::now() < deadline,
                "job {job_id} never got there: {job}"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

fn completed(job: &Json) -> bool {
    job["status"]["state"] == "completed"
}

/// A test document of `pages` A4 pages.
fn document(pages: usize) -> Vec<u8> {
    printlab_render::testpage::generate(&vec![(595.0, 842.0); pages]).unwrap()
}

fn start_device(data: &Path, base: &str, spool: &Spool) -> RunningFleet {
    let fleet = config::parse(PRINTER, "test.toml").unwrap();
    let uri = format!("{base}/ipp/print/lab");
    start_fleet(
        &fleet.printers,
        |_| {
            Ok(Endpoint {
                printer_uri: uri.clone(),
                credentials: Credentials::Basic {
                    user: "proxy".into(),
                    password: "s3cret".into(),
                },
            })
        },
        FleetOptions {
            spool: spool.clone(),
            out_root: out_root(data),
            http: reqwest::Client::new(),
            render: true,
        },
    )
    .unwrap()
}

/// A Graph printer provisioned for an INFRA proxy at `/ipp/print/lab`, with a device serving
/// it whose advertised capabilities Graph already shows.
async fn lab_printer(lab: &Lab, data: &Path, spool: &Spool) -> (String, RunningFleet) {
    let printer = create_printer(lab, "Lab").await;
    lab.cloud
        .infra()
        .add_proxy_credential(&printer, "lab", "proxy", "s3cret")
        .await
        .unwrap();
    let running = start_device(data, &lab.base, spool);
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let view = graph(
            lab,
            reqwest::Method::GET,
            &format!("/print/printers/{printer}?$select=capabilities,status,lastSeenDateTime"),
            None,
        )
        .await;
        if view["capabilities"]["contentTypes"] == json!(["application/pdf"]) {
            assert_eq!(view["capabilities"]["mediaSizes"], json!(["A4"]));
            assert_eq!(view["status"]["state"], "idle", "{view}");
            assert!(view["lastSeenDateTime"].is_string(), "{view}");
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the device never advertised: {view}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    (printer, running)
}

/// One Graph call as the admin user; panics on anything but success.
async fn graph(lab: &Lab, method: reqwest::Method, path: &str, body: Option<Json>) -> Json {
    let mut request = lab
        .http
        .request(method, format!("{}/v1.0{path}", lab.base))
        .bearer_auth(&lab.admin);
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

/// A printer created through Graph `printers/create`; returns its id.
async fn create_printer(lab: &Lab, name: &str) -> String {
    let key = rcgen::KeyPair::generate().unwrap();
    let csr = rcgen::CertificateParams::new(vec!["printer.test".into()])
        .unwrap()
        .serialize_request(&key)
        .unwrap();
    let response = lab
        .http
        .post(format!("{}/v1.0/print/printers/create", lab.base))
        .bearer_auth(&lab.admin)
        .json(&json!({
            "displayName": name,
            "manufacturer": "printlab",
            "model": "test",
            "certificateSigningRequest": {
                "content": base64::engine::general_purpose::STANDARD.encode(csr.der()),
                "transportKey": "unused",
            },
        }))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 202);
    let location = response.headers()["Operation-Location"].to_str().unwrap();
    let path = location.split("/v1.0").nth(1).unwrap().to_owned();
    let operation = graph(lab, reqwest::Method::GET, &path, None).await;
    operation["printer"]["id"].as_str().unwrap().to_owned()
}

/// Graph: create a job, upload its document through the upload session, start it. Returns the
/// job id.
async fn submit_job(lab: &Lab, printer_id: &str, data: &[u8], configuration: Json) -> String {
    use reqwest::Method;
    let jobs = format!("/print/printers/{printer_id}/jobs");
    let job = graph(
        lab,
        Method::POST,
        &jobs,
        Some(json!({ "configuration": configuration })),
    )
    .await;
    let job_id = job["id"].as_str().unwrap().to_owned();
    let document_id = job["documents"][0]["id"].as_str().unwrap();
    let session = graph(
        lab,
        Method::POST,
        &format!("{jobs}/{job_id}/documents/{document_id}/createUploadSession"),
        Some(json!({"properties": {
            "documentName": format!("job-{job_id}.pdf"),
            "contentType": "application/pdf",
            "size": data.len(),
        }})),
    )
    .await;
    let status = lab
        .http
        .put(session["uploadUrl"].as_str().unwrap())
        .header(
            "Content-Range",
            format!("bytes 0-{}/{}", data.len() - 1, data.len()),
        )
        .body(data.to_vec())
        .send()
        .await
        .unwrap()
        .status();
    assert_eq!(status.as_u16(), 201);
    graph(lab, Method::POST, &format!("{jobs}/{job_id}/start"), None).await;
    job_id
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn graph_jobs_reach_a_real_device_and_its_reports_reach_graph() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("cloud");
    let lab = Lab::start(&data, None).await;
    let spool = Spool::open(&dir.path().join("spool")).unwrap();
    let (printer, running) = lab_printer(&lab, dir.path(), &spool).await;

    let job = submit_job(&lab, &printer, &document(2), json!({"mediaSize": "A4"})).await;
    let done = lab
        .wait_for_job(&printer, &job, Duration::from_secs(30), completed)
        .await;
    assert_eq!(done["status"]["isAcquiredByPrinter"], true, "{done}");
    assert!(done["acknowledgedDateTime"].is_string(), "{done}");
    assert_eq!(done["isFetchable"], false);
    let record = spool.job("Lab", job.parse().unwrap()).unwrap().unwrap();
    assert_eq!(record.progress.sheets_completed, 2);
    assert_eq!(record.outputs.len(), 2);

    // Cancel from Graph while the device prints a long job: it stops within a second.
    let long = submit_job(&lab, &printer, &document(40), json!({"mediaSize": "A4"})).await;
    let long_id: u32 = long.parse().unwrap();
    let deadline = Instant::now() + Duration::from_secs(30);
    while spool
        .job("Lab", long_id)
        .unwrap()
        .is_none_or(|r| r.progress.sheets_completed < 2)
    {
        assert!(
            Instant::now() < deadline,
            "the long job never started printing"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    graph(
        &lab,
        reqwest::Method::POST,
        &format!("/print/printers/{printer}/jobs/{long}/cancel"),
        None,
    )
    .await;
    let canceled_at = Instant::now();
    loop {
        let record = spool.job("Lab", long_id).unwrap().unwrap();
        if record.state.is_terminal() {
            assert_eq!(record.state, PrintJobProcessingState::Canceled);
            assert!(record.progress.sheets_completed < 40);
            break;
        }
        assert!(
            canceled_at.elapsed() < Duration::from_secs(1),
            "the device still prints 1 s after the cancel: {record:?}"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let canceled = lab.job(&printer, &long).await;
    assert_eq!(canceled["status"]["state"], "canceled", "{canceled}");
    running.shutdown().await;
    lab.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cloud_restart_mid_stream_loses_nothing_acknowledged() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("cloud");
    let lab = Lab::start(&data, None).await;
    let addr = lab.addr();
    let spool = Spool::open(&dir.path().join("spool")).unwrap();
    let (printer, running) = lab_printer(&lab, dir.path(), &spool).await;

    let mut jobs = Vec::new();
    for _ in 0..4 {
        jobs.push(submit_job(&lab, &printer, &document(6), json!({"mediaSize": "A4"})).await);
    }
    // Stop the cloud once the device has acquired the first job, with the rest still queued.
    lab.wait_for_job(&printer, &jobs[0], Duration::from_secs(30), |j| {
        j["status"]["isAcquiredByPrinter"] == true
    })
    .await;
    lab.stop().await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    let lab = Lab::start(&data, Some(addr)).await;

    for job in &jobs {
        let done = lab
            .wait_for_job(&printer, job, Duration::from_secs(60), completed)
            .await;
        assert_eq!(done["status"]["isAcquiredByPrinter"], true, "{done}");
        let record = spool.job("Lab", job.parse().unwrap()).unwrap().unwrap();
        assert_eq!(
            record.progress.sheets_completed, 6,
            "job {job} printed exactly once"
        );
        assert_eq!(record.outputs.len(), 6);
    }
    // Jobs submitted after the restart reach the re-subscribed device too.
    let late = submit_job(&lab, &printer, &document(1), json!({"mediaSize": "A4"})).await;
    lab.wait_for_job(&printer, &late, Duration::from_secs(30), completed)
        .await;
    running.shutdown().await;
    lab.stop().await;
}

/// With the default long poll (most of a minute), stopping the cloud answers a held
/// Get-Notifications at once with an ordinary, empty answer, so the graceful stop returns in
/// moments instead of waiting the long poll out.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stopping_the_cloud_answers_held_long_polls_at_once() {
    let dir = tempfile::tempdir().unwrap();
    let options = CloudOptions::default();
    let long_poll = options.long_poll;
    assert!(long_poll >= Duration::from_secs(20), "{long_poll:?}");
    let lab = Lab::start_with(&dir.path().join("cloud"), None, options).await;
    let printer = create_printer(&lab, "Lab").await;
    lab.cloud
        .infra()
        .add_proxy_credential(&printer, "lab", "proxy", "s3cret")
        .await
        .unwrap();
    let client = Arc::new(
        InfraClient::new(
            reqwest::Client::new(),
            &format!("{}/ipp/print/lab", lab.base),
            "5d1b8a34-6c1e-4c61-9a39-3f0e2b6f1a77",
            Credentials::Basic {
                user: "proxy".into(),
                password: "s3cret".into(),
            },
        )
        .unwrap(),
    );
    let subscription = client.create_printer_subscription().await.unwrap();
    let held = tokio::spawn({
        let client = client.clone();
        async move { client.get_notifications(subscription, 0, true).await }
    });
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert!(
        !held.is_finished(),
        "the cloud answered the long poll early"
    );

    let stopping = Instant::now();
    lab.stop().await;
    let stopped = stopping.elapsed();
    let (notifications, _) = tokio::time::timeout(Duration::from_secs(5), held)
        .await
        .expect("the held long poll is answered once the cloud stops")
        .unwrap()
        .expect("an ordinary IPP answer, not a cut connection");
    assert!(notifications.events.is_empty(), "{notifications:?}");
    assert!(
        stopped < long_poll / 4,
        "stopping took {stopped:?} with a {long_poll:?} long poll held"
    );
}
