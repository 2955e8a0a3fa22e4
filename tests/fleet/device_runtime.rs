//! The device loop against the real cloud on loopback: jobs are created, uploaded and started
//! through Graph over HTTP, a real device fleet (`device::runtime`, INFRA mode with HTTP Basic
//! proxy credentials) fetches, renders, paces and reports them, and the outcome is read back
//! through Graph `GET`. Real sled spools, the real renderer.
//!
//! A tap in front of the cloud's router records each IPP request the device sends (operation,
//! job, reported sheet count, arrival time) without changing it: that is how the tests see that
//! an offline device is silent, that latency is added, that an idle one does not poll and that
//! no sheet is reported twice.

use axum::body::Body;
use axum::extract::{Request, State};
use axum::middleware::Next;
use axum::response::Response;
use printlab_device::runtime::{Control, JobOutputs, RunningFleet, control_router, out_root};
use printlab_device::spool::Spool;
use printlab_graph::PrintJobProcessingState;
use printlab_ipp::{AttributeLookup, GroupTag, Limits};
use printlab_testkit::{Graph, TestCloud, call, job_ended, job_state, serve, wait_for};
use printlab_testkit_fleet::{
    DevicesProcess, ONE_PRINTER, PROXY_PASSWORD, PROXY_USER, TestFleet, infra, pdf,
};
use reqwest::{Client, Method, StatusCode};
use serde_json::{Value, json};
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, LazyLock, Mutex};
use std::time::{Duration, Instant};
use tokio::sync::Notify;

const LONG_POLL: Duration = Duration::from_secs(2);
/// The in-process device's control API token.
const CONTROL_TOKEN: &str = "test-control-token";

/// The harness's one printer, also taking PWG raster and long-edge duplex.
static PRINTER: LazyLock<String> = LazyLock::new(|| {
    ONE_PRINTER
        .replace(
            r#"document_formats = ["application/pdf"]"#,
            r#"document_formats = ["application/pdf", "image/pwg-raster"]"#,
        )
        .replace(
            r#"duplex_modes = ["oneSided"]"#,
            r#"duplex_modes = ["oneSided", "flipOnLongEdge"]"#,
        )
});

/// One IPP request as the cloud received it.
#[derive(Debug, Clone)]
struct Seen {
    at: Instant,
    operation: String,
    job: Option<i32>,
    sheets: Option<i32>,
}

impl Seen {
    fn is(&self, operation: &str, job: i32) -> bool {
        self.operation == operation && self.job == Some(job)
    }
}

#[derive(Clone, Default)]
struct Tap {
    seen: Arc<Mutex<Vec<Seen>>>,
    changed: Arc<Notify>,
    /// Stream Fetch-Document answers at 16 KiB per 50 ms, as over a slow network.
    slow_documents: Arc<AtomicBool>,
}

impl Tap {
    fn all(&self) -> Vec<Seen> {
        self.seen.lock().unwrap().clone()
    }

    fn between(&self, from: Instant, to: Instant) -> Vec<Seen> {
        self.all()
            .into_iter()
            .filter(|s| s.at >= from && s.at < to)
            .collect()
    }

    /// Waits (at most 30 s) until the device has sent `n` Update-Job-Status for `job` since
    /// `since`: how the tests know a restarted or reconnected device has spoken again.
    async fn wait_reports(&self, since: Instant, job: i32, n: usize, what: &str) {
        wait_for(what, Duration::from_secs(30), || async {
            let far = Instant::now() + Duration::from_secs(3600);
            let seen = self.between(since, far);
            let reports = seen.iter().filter(|s| s.is("Update-Job-Status", job));
            match reports.count() {
                count if count >= n => Ok(()),
                count => Err(json!(count)),
            }
        })
        .await
    }

    /// How many times the device acknowledged `job`.
    fn acks(&self, job: i32) -> usize {
        self.all()
            .iter()
            .filter(|s| s.is("Acknowledge-Job", job))
            .count()
    }

    /// Asserts that the device reported `job` up to `sheets` sheets and never a sheet again
    /// (the counts it reported never go back), the promise of every recovery test; gives the
    /// counts it reported.
    #[track_caller]
    fn assert_sheets_once(&self, job: i32, sheets: i32) -> Vec<i32> {
        let reports = self.sheet_reports(job);
        assert_eq!(reports.last(), Some(&sheets), "job {job}: {reports:?}");
        assert!(
            reports.windows(2).all(|w| w[0] <= w[1]),
            "job {job} printed a sheet again: {reports:?}"
        );
        reports
    }

    /// Every `job-media-sheets-completed` the device reported for `job`, in order.
    fn sheet_reports(&self, job: i32) -> Vec<i32> {
        self.all()
            .into_iter()
            .filter(|s| s.job == Some(job))
            .filter_map(|s| s.sheets)
            .collect()
    }
}

/// Records IPP requests on their way to the cloud; everything else passes untouched.
async fn record(State(tap): State<Tap>, request: Request, next: Next) -> Response {
    let is_ipp = request
        .headers()
        .get("content-type")
        .is_some_and(|v| v.as_bytes().starts_with(b"application/ipp"));
    if !is_ipp {
        return next.run(request).await;
    }
    let (parts, body) = request.into_parts();
    let bytes = axum::body::to_bytes(body, 16 << 20).await.unwrap();
    let mut fetch_document = false;
    if let Ok((message, _)) = printlab_ipp::decode(&bytes, &Limits::default()) {
        let op = message.operation_attributes();
        let job_group = message.group(GroupTag::JOB);
        let operation = message.operation().name().unwrap_or("?").to_string();
        fetch_document = operation == "Fetch-Document";
        tap.seen.lock().unwrap().push(Seen {
            at: Instant::now(),
            operation,
            job: op.integer("job-id"),
            sheets: job_group.and_then(|g| g.integer("job-media-sheets-completed")),
        });
    }
    let response = next
        .run(Request::from_parts(parts, Body::from(bytes)))
        .await;
    tap.changed.notify_waiters();
    if !(fetch_document && tap.slow_documents.load(Ordering::Relaxed)) {
        return response;
    }
    let (parts, body) = response.into_parts();
    let whole = axum::body::to_bytes(body, 64 << 20).await.unwrap();
    let pieces: Vec<Result<bytes::Bytes, std::io::Error>> = whole
        .chunks(16 * 1024)
        .map(|c| Ok(bytes::Bytes::copy_from_slice(c)))
        .collect();
    let slow = futures::StreamExt::then(futures::stream::iter(pieces), |piece| async move {
        tokio::time::sleep(Duration::from_millis(50)).await;
        piece
    });
    Response::from_parts(parts, Body::from_stream(slow))
}

/// The cloud on an ephemeral loopback port behind the tap, stoppable and restartable on the
/// same port and folder.
async fn start_cloud(dir: &Path, tap: &Tap) -> TestCloud {
    let tap = tap.clone();
    TestCloud::builder()
        .data(dir)
        .long_poll(LONG_POLL)
        .layer(move |router| {
            router.layer(axum::middleware::from_fn_with_state(tap.clone(), record))
        })
        .start()
        .await
}

/// A Graph printer named Lab (printers/create) and the INFRA proxy credential the device uses;
/// gives the printer id.
async fn provision(run: &TestCloud) -> String {
    let printer = run.admin_graph().create_virtual_printer("Lab").await;
    run.cloud
        .infra()
        .add_proxy_credential(&printer, "lab", PROXY_USER, PROXY_PASSWORD)
        .await
        .unwrap();
    printer
}

/// The tapped cloud with the Lab printer provisioned, and the device serving it.
struct Rig {
    /// None only while the cloud is down.
    run: Option<TestCloud>,
    tap: Tap,
    http: Client,
    printer: String,
    admin: String,
    /// None when the device runs as a `printlab devices` process instead (it holds the spool's
    /// lock then).
    devices: Option<TestFleet>,
    /// Holds the cloud (`cloud/`) and the device spool with its rendered output (`spool/`).
    dir: tempfile::TempDir,
    control: String,
}

/// The cloud, a provisioned printer and one device for it running `text` (a printers.toml).
async fn lab_with(text: &str, render: bool) -> Rig {
    start_devices(cloud_lab().await, text, render).await
}

/// Starts the device fleet of `text` in this process, for the lab's printer.
async fn start_devices(mut lab: Rig, text: &str, render: bool) -> Rig {
    let mut devices = TestFleet::open(&lab.spool_dir());
    let outputs = JobOutputs {
        spool: devices.spool.clone(),
        out_root: out_root(&lab.spool_dir()),
    };
    let running = devices.start(text, render, infra(&lab.printer_uri()));
    lab.control = serve(control_router(&running.printers, outputs, CONTROL_TOKEN)).await;
    lab.devices = Some(devices);
    lab.wait_advertised().await;
    lab
}

/// The cloud with the Lab printer provisioned, and no device yet.
async fn cloud_lab() -> Rig {
    let dir = tempfile::tempdir().unwrap();
    let tap = Tap::default();
    let run = start_cloud(&dir.path().join("cloud"), &tap).await;
    let http = Client::builder()
        .redirect(reqwest::redirect::Policy::limited(3))
        .build()
        .unwrap();
    let printer = provision(&run).await;
    Rig {
        admin: run.admin(),
        run: Some(run),
        tap,
        http,
        printer,
        devices: None,
        dir,
        control: String::new(),
    }
}

async fn lab(extra: &str) -> Rig {
    lab_with(&format!("{}{extra}", *PRINTER), true).await
}

impl Rig {
    fn run(&self) -> &TestCloud {
        self.run.as_ref().expect("the cloud is up")
    }

    fn printer_uri(&self) -> String {
        format!("{}/ipp/print/lab", self.run().url)
    }

    fn spool_dir(&self) -> std::path::PathBuf {
        self.dir.path().join("spool")
    }

    fn spool(&self) -> &Spool {
        &self.devices.as_ref().expect("an in-process device").spool
    }

    fn fleet(&self) -> &RunningFleet {
        self.devices
            .as_ref()
            .expect("a device fleet in this process")
            .running()
    }

    fn graph(&self) -> Graph {
        Graph {
            http: self.http.clone(),
            ..self.run().graph(&self.admin)
        }
    }

    fn jobs(&self) -> String {
        format!("/print/printers/{}/jobs", self.printer)
    }

    /// Creates, uploads and starts a job through Graph; gives its id.
    async fn submit(&self, content_type: &str, bytes: Vec<u8>, configuration: Value) -> i32 {
        let graph = self.graph();
        let id = graph
            .submit(&self.jobs(), content_type, bytes, configuration)
            .await;
        id.parse().unwrap()
    }

    async fn job(&self, id: i32) -> Value {
        self.graph().get_ok(&format!("{}/{id}", self.jobs())).await
    }

    async fn cancel(&self, id: i32) {
        let cancel = format!("{}/{id}/cancel", self.jobs());
        self.graph().ok(Method::POST, &cancel, None).await;
    }

    async fn printer(&self) -> Value {
        let select = "$select=capabilities,status,lastSeenDateTime";
        let path = format!("/print/printers/{}?{select}", self.printer);
        self.graph().get_ok(&path).await
    }

    /// Polls Graph `GET job` until `pred` holds; gives the job.
    async fn wait_job(&self, what: &str, id: i32, pred: impl Fn(&Value) -> bool) -> Value {
        let job = format!("{}/{id}", self.jobs());
        let limit = Duration::from_secs(30);
        self.graph().wait(&job, what, limit, pred).await
    }

    async fn wait_printer(&self, what: &str, pred: impl Fn(&Value) -> bool) -> Value {
        let path = format!("/print/printers/{}", self.printer);
        let path = format!("{path}?$select=capabilities,status,lastSeenDateTime");
        let limit = Duration::from_secs(30);
        self.graph().wait(&path, what, limit, pred).await
    }

    async fn wait_ended(&self, id: i32) -> Value {
        self.wait_job(&format!("job {id} to end"), id, job_ended)
            .await
    }

    /// Waits until Graph shows the capabilities a device advertised: a started device is ready
    /// for jobs then.
    async fn wait_advertised(&self) {
        self.wait_printer("the device's capabilities in Graph", |p| {
            p["capabilities"]["contentTypes"]
                .as_array()
                .is_some_and(|t| !t.is_empty())
        })
        .await;
    }

    /// Starts a `printlab devices` process with `config` on the lab's spool and waits until
    /// Graph shows the capabilities it advertised, which new jobs are checked against: how the
    /// tests that kill the process begin.
    async fn advertised_process(&self, config: &Path) -> DevicesProcess {
        let spool_dir = self.spool_dir();
        let process = DevicesProcess::start(env!("CARGO_BIN_EXE_printlab"), config, &spool_dir);
        self.wait_advertised().await;
        process
    }

    async fn shutdown(self) {
        if let Some(mut devices) = self.devices {
            devices.stop().await;
        }
        if let Some(run) = self.run {
            run.stop().await;
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_job_is_fetched_spooled_rendered_paced_and_completed() {
    let lab = lab("").await;
    let id = lab.submit("application/pdf", pdf(3), json!({})).await;
    let job = lab.wait_ended(id).await;
    assert_eq!(job_state(&job), "completed", "{job}");
    assert_eq!(job["status"]["isAcquiredByPrinter"], true, "{job}");
    assert_eq!(
        job["status"]["details"],
        json!(["completedSuccessfully"]),
        "{job}"
    );
    let acks = lab.tap.acks(id);
    assert_eq!(acks, 1);
    assert_eq!(lab.tap.sheet_reports(id).last(), Some(&3));
    let out = lab.spool_dir().join(format!("out/Lab/{id}"));
    let pngs = std::fs::read_dir(&out)
        .unwrap()
        .filter(|e| {
            e.as_ref()
                .unwrap()
                .path()
                .extension()
                .is_some_and(|x| x == "png")
        })
        .count();
    assert_eq!(pngs, 3);
    let record = lab.spool().job("Lab", id as u32).unwrap().unwrap();
    assert!(record.acknowledged);
    assert_eq!(record.progress.sheets_completed, 3);
    assert_eq!(record.outputs.len(), 3);
    let printer = lab
        .wait_printer("the printer idle again", |p| p["status"]["state"] == "idle")
        .await;
    assert_eq!(
        printer["capabilities"]["contentTypes"],
        json!(["application/pdf", "image/pwg-raster"])
    );
    lab.shutdown().await;
}

/// Every way a job can be unprintable on this printer ends in `aborted` with a reason a person
/// can act on, and the printer goes on with the next job. Our cloud refuses sizes and formats a
/// printer did not advertise, so to reach the device's own check the test widens the printer
/// in Graph the way a stale or careless admin would (other INFRA services may not check at all).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unprintable_jobs_are_aborted_with_a_reason_and_the_next_one_prints() {
    let lab = lab("[printer.faults]\nfailing_formats = [\"image/pwg-raster\"]\n").await;
    let app = lab
        .run()
        .cloud
        .token_key()
        .mint_app(
            "connector",
            &["Printer.ReadWrite.All".to_string()],
            chrono::Duration::hours(1),
        )
        .unwrap();
    let (status, _, body) = call(
        &lab.http,
        Method::PATCH,
        &format!("{}/print/printers/{}", lab.run().v1(), lab.printer),
        Some(&app),
        Some(json!({"capabilities": {
            "contentTypes": ["application/pdf", "image/pwg-raster", "image/jpeg"],
            "mediaSizes": ["A4", "A3"]
        }})),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let corrupt = lab
        .submit(
            "application/pdf",
            b"%PDF-1.7 this is not a pdf".to_vec(),
            json!({}),
        )
        .await;
    let a3 = lab
        .submit("application/pdf", pdf(1), json!({"mediaSize": "A3"}))
        .await;
    let failing = lab.submit("image/pwg-raster", pdf(1), json!({})).await;
    let jpeg = lab.submit("image/jpeg", pdf(1), json!({})).await;
    let good = lab.submit("application/pdf", pdf(1), json!({})).await;
    let expect = [
        (corrupt, "cannot be printed"),
        (a3, "A3"),
        (failing, "interpreter failed on image/pwg-raster"),
        (jpeg, "image/jpeg` is not supported by this printer"),
    ];
    for (id, words) in expect {
        let job = lab.wait_ended(id).await;
        assert_eq!(job_state(&job), "aborted", "job {id}: {job}");
        let description = job["status"]["description"].as_str().unwrap_or_default();
        assert!(description.contains(words), "job {id}: {job}");
    }
    assert_eq!(job_state(&lab.wait_ended(good).await), "completed");
    lab.shutdown().await;
}

fn printer_has(printer: &Value, detail: &str) -> bool {
    printer["status"]["details"]
        .as_array()
        .is_some_and(|d| d.iter().any(|x| x == detail))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_jam_stops_the_printer_until_cleared_and_no_sheet_prints_twice() {
    let lab = lab("[printer.faults]\njam_every_sheets = 2\n").await;
    let id = lab.submit("application/pdf", pdf(3), json!({})).await;
    lab.wait_job("the jam", id, |j| job_state(j) == "stopped")
        .await;
    let printer = lab
        .wait_printer("the jam in Graph", |p| printer_has(p, "mediaJam"))
        .await;
    assert_eq!(printer["status"]["state"], "stopped", "{printer}");
    assert_eq!(lab.tap.sheet_reports(id).last(), Some(&1));
    let handle = lab.fleet().printer("Lab").unwrap();
    assert!(handle.snapshot().reasons.contains(&"media-jam".to_string()));
    let http = reqwest::Client::new();
    let answer = http
        .post(format!("{}/control/printers/Lab/clear", lab.control))
        .bearer_auth(CONTROL_TOKEN)
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status(), 202);
    // Sheet 2 jams (pick 2), is reprinted after the clear (pick 3), then sheet 3 is pick 4,
    // which jams again.
    lab.wait_printer("the second jam", |p| {
        printer_has(p, "mediaJam") && lab.tap.sheet_reports(id).last() == Some(&2)
    })
    .await;
    http.post(format!("{}/control/printers/Lab/clear", lab.control))
        .bearer_auth(CONTROL_TOKEN)
        .send()
        .await
        .unwrap();
    let job = lab.wait_ended(id).await;
    assert_eq!(job_state(&job), "completed", "{job}");
    let reports = lab.tap.sheet_reports(id);
    assert_eq!(reports.last(), Some(&3));
    assert!(reports.windows(2).all(|w| w[0] <= w[1]), "{reports:?}");
    lab.wait_printer("the printer idle again", |p| p["status"]["state"] == "idle")
        .await;
    assert_eq!(
        http.post(format!("{}/control/printers/Nope/clear", lab.control))
            .bearer_auth(CONTROL_TOKEN)
            .send()
            .await
            .unwrap()
            .status(),
        404
    );
    lab.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cancel_stops_the_download_within_a_second() {
    let lab = lab("").await;
    lab.tap.slow_documents.store(true, Ordering::Relaxed);
    // 1 MiB at 16 KiB per 50 ms: over three seconds of download.
    let mut document = pdf(1);
    document.resize(1 << 20, b' ');
    let id = lab.submit("application/pdf", document, json!({})).await;
    let deadline = Instant::now() + Duration::from_secs(30);
    while !lab.tap.all().iter().any(|s| s.is("Fetch-Document", id)) {
        assert!(Instant::now() < deadline, "the download never started");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
    let canceled_at = Instant::now();
    lab.cancel(id).await;
    let spooled = |lab: &Rig| {
        lab.spool()
            .job("Lab", id as u32)
            .unwrap()
            .is_some_and(|r| r.state == PrintJobProcessingState::Canceled)
    };
    while !spooled(&lab) {
        assert!(
            canceled_at.elapsed() < Duration::from_secs(5),
            "the device never stopped the download"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert!(
        canceled_at.elapsed() < Duration::from_secs(1),
        "took {:?}",
        canceled_at.elapsed()
    );
    let record = lab.spool().job("Lab", id as u32).unwrap().unwrap();
    assert!(
        record.document.is_none_or(|d| d.sha256.is_none()),
        "the download finished first"
    );
    assert_eq!(job_state(&lab.job(id).await), "canceled");
    lab.shutdown().await;
}

/// printers.toml for a `printlab devices` process serving the lab's printer.
fn process_config(lab: &Rig, printer: &str, extra: &str) -> std::path::PathBuf {
    let path = lab.dir.path().join("printers.toml");
    let text = format!(
        "[fleet]\nconnection = {{ mode = \"infra\", printer_uri = \"{}\", username = \"{PROXY_USER}\", password = \"{PROXY_PASSWORD}\" }}\n{printer}{extra}",
        lab.printer_uri()
    );
    std::fs::write(&path, text).unwrap();
    path
}

/// Kills a real `printlab devices` process (SIGKILL) at many points of a stream of jobs and
/// restarts it on the same spool: every job ends completed exactly once, the sheet count the
/// device reports never goes back (no sheet printed twice), and the spool stays consistent.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigkill_at_many_points_never_loses_or_reprints_a_job() {
    let lab = cloud_lab().await;
    let config = process_config(
        &lab,
        &PRINTER.replace("pages_per_minute = 600", "pages_per_minute = 300"),
        "",
    );
    let spool_dir = lab.spool_dir();
    // The first run advertises the capabilities Graph checks new jobs against.
    let first = lab.advertised_process(&config).await;
    let mut jobs = Vec::new();
    for _ in 0..8 {
        jobs.push(lab.submit("application/pdf", pdf(3), json!({})).await);
    }
    first.kill();
    let mut kills = 1;
    for round in 0..30u64 {
        let mut all_done = true;
        for id in &jobs {
            all_done &= job_ended(&lab.job(*id).await);
        }
        if all_done {
            break;
        }
        let child = DevicesProcess::start(env!("CARGO_BIN_EXE_printlab"), &config, &spool_dir);
        // Spread the kills over startup, download, render and pacing.
        tokio::time::sleep(Duration::from_millis(150 + (round * 97) % 700)).await;
        child.kill();
        kills += 1;
    }
    let last = DevicesProcess::start(env!("CARGO_BIN_EXE_printlab"), &config, &spool_dir);
    for id in &jobs {
        let job = lab.wait_ended(*id).await;
        assert_eq!(job_state(&job), "completed", "job {id}: {job}");
    }
    last.kill();
    assert!(
        kills >= 5,
        "only {kills} kills happened before the stream finished"
    );
    let mut resumed_mid_print = 0;
    for id in &jobs {
        let reports = lab.tap.assert_sheets_once(*id, 3);
        let acks = lab.tap.acks(*id);
        assert!(acks >= 1, "job {id} was never acknowledged");
        // A job resumed mid-print reports its recorded sheets again when it restarts pacing.
        if reports
            .windows(2)
            .any(|w| w[0] == w[1] && w[0] > 0 && w[0] < 3)
        {
            resumed_mid_print += 1;
        }
    }
    eprintln!("{kills} kills; {resumed_mid_print} jobs resumed mid-print");
    let spool = Spool::open(&spool_dir.join("db")).unwrap();
    assert_eq!(spool.verify().unwrap(), Vec::<String>::new());
    for id in &jobs {
        let record = spool.job("Lab", *id as u32).unwrap().unwrap();
        assert_eq!(record.progress.sheets_completed, 3);
    }
    drop(spool);
    lab.shutdown().await;
}

/// A device killed after it took a job (its spool says so, flushed) but before its
/// Acknowledge-Job went resumes the job from its spool and acknowledges it then: the service
/// hears the acknowledgement, and the job prints once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_job_taken_but_never_acknowledged_is_acknowledged_when_resumed() {
    use printlab_device::spool::{JobOrigin, NewJob};
    let lab = cloud_lab().await;
    let config = process_config(&lab, &PRINTER, "");
    let spool_dir = lab.spool_dir();
    lab.advertised_process(&config).await.kill();
    let id = lab.submit("application/pdf", pdf(2), json!({})).await;
    // What the killed device left: the job taken and flushed, the request never sent.
    let spool = Spool::open(&spool_dir.join("db")).unwrap();
    let new = NewJob {
        origin: JobOrigin::Service,
        name: None,
        user: None,
        configuration: Default::default(),
    };
    spool.create_job("Lab", id as u32, new).unwrap();
    spool
        .update("Lab", id as u32, "taken", "", |r| {
            r.acknowledged = true;
            r.state = PrintJobProcessingState::Processing;
        })
        .unwrap();
    spool.flush().unwrap();
    drop(spool);
    let device = DevicesProcess::start(env!("CARGO_BIN_EXE_printlab"), &config, &spool_dir);
    let job = lab.wait_ended(id).await;
    device.kill();
    assert_eq!(job_state(&job), "completed", "{job}");
    assert_eq!(lab.tap.acks(id), 1);
    lab.tap.assert_sheets_once(id, 2);
    lab.shutdown().await;
}

/// A restarted printer reads only the jobs it still has business with, not its history: a
/// finished job whose record has become unreadable does not keep it from reconnecting and
/// printing. (It used to decode every job it had ever printed, and read each finished job's
/// log, at every reconnect; the unreadable record failed the reconnect every time.)
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_printer_reconnects_past_an_unreadable_finished_job() {
    let lab = cloud_lab().await;
    let config = process_config(&lab, &PRINTER, "");
    let spool_dir = lab.spool_dir();
    let first = lab.advertised_process(&config).await;
    let printed = lab.submit("application/pdf", pdf(1), json!({})).await;
    assert_eq!(job_state(&lab.wait_ended(printed).await), "completed");
    first.kill();
    // The spool's job key: printer name, a zero byte, the job id big-endian.
    let db = sled::open(spool_dir.join("db")).unwrap();
    let mut key = b"Lab\0".to_vec();
    key.extend_from_slice(&(printed as u32).to_be_bytes());
    let jobs = db.open_tree("jobs").unwrap();
    assert!(
        jobs.insert(key, b"\xff not a job record".to_vec())
            .unwrap()
            .is_some()
    );
    db.flush().unwrap();
    drop((jobs, db));
    let device = DevicesProcess::start(env!("CARGO_BIN_EXE_printlab"), &config, &spool_dir);
    let id = lab.submit("application/pdf", pdf(2), json!({})).await;
    let job = lab.wait_ended(id).await;
    device.kill();
    assert_eq!(job_state(&job), "completed", "{job}");
    lab.tap.assert_sheets_once(id, 2);
    lab.shutdown().await;
}

/// Killed while jammed, the printer comes back still jammed with the job waiting in
/// `processing-stopped`; cleared through `printlab devices fault Lab clear` (with the token
/// the process kept in its spool folder), it prints the rest of the job
/// after the recorded sheets.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_jammed_printer_is_still_jammed_after_a_kill_and_resumes_when_cleared() {
    let lab = cloud_lab().await;
    let config = process_config(&lab, &PRINTER, "[printer.faults]\njam_every_sheets = 3\n");
    let spool_dir = lab.spool_dir();
    let first = lab.advertised_process(&config).await;
    let id = lab.submit("application/pdf", pdf(3), json!({})).await;
    lab.wait_job("the jam", id, |j| job_state(j) == "stopped")
        .await;
    lab.wait_printer("the jam in Graph", |p| printer_has(p, "mediaJam"))
        .await;
    assert_eq!(lab.tap.sheet_reports(id).last(), Some(&2));
    first.kill();
    let restarted_at = Instant::now();
    let second = DevicesProcess::start(env!("CARGO_BIN_EXE_printlab"), &config, &spool_dir);
    let what = "the restarted device to report the job";
    lab.tap.wait_reports(restarted_at, id, 1, what).await;
    // Nothing moves until a person clears the jam.
    tokio::time::sleep(Duration::from_secs(1)).await;
    let job = lab.job(id).await;
    assert_eq!(job_state(&job), "stopped", "{job}");
    let printer = lab.printer().await;
    assert!(printer_has(&printer, "mediaJam"), "{printer}");
    assert_eq!(lab.tap.sheet_reports(id).last(), Some(&2));
    let far = Instant::now() + Duration::from_secs(3600);
    let since_restart = lab.tap.between(restarted_at, far);
    assert!(
        since_restart
            .iter()
            .any(|s| s.operation == "Update-Active-Jobs")
    );
    let cleared = std::process::Command::new(env!("CARGO_BIN_EXE_printlab"))
        .args([
            "devices",
            "fault",
            "Lab",
            "clear",
            "--control",
            &second.control,
        ])
        .arg("--control-token")
        .arg(std::fs::read_to_string(spool_dir.join("control.token")).unwrap())
        .output()
        .unwrap();
    assert!(cleared.status.success(), "{cleared:?}");
    let job = lab.wait_ended(id).await;
    assert_eq!(job_state(&job), "completed", "{job}");
    // The device reports the job's end before its own return to idle: wait for both before the
    // kill, or the kill can land between the two reports.
    lab.wait_printer("the printer idle again", |p| p["status"]["state"] == "idle")
        .await;
    second.kill();
    lab.tap.assert_sheets_once(id, 3);
    let acks = lab.tap.acks(id);
    assert_eq!(acks, 1);
    lab.shutdown().await;
}

fn last_seen(printer: &Value) -> String {
    printer["lastSeenDateTime"]
        .as_str()
        .unwrap_or_default()
        .to_string()
}

/// During an offline window the device says nothing (no long poll, no report) and Graph's
/// `lastSeenDateTime` stands still, while the engine keeps its state; afterwards the device
/// reconnects, reconciles with Update-Active-Jobs, finishes the job it held and takes the one
/// that arrived meanwhile, each exactly once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_offline_window_silences_the_device_and_it_recovers_without_loss() {
    let mut lab = cloud_lab().await;
    let before_start = Instant::now();
    let lab_text = format!(
        "{}[printer.faults]\noffline = [{{ after_seconds = 3, for_seconds = 2 }}]\n",
        PRINTER.replace("pages_per_minute = 600", "pages_per_minute = 60")
    );
    lab = start_devices(lab, &lab_text, true).await;
    let after_start = Instant::now();
    let window_start = after_start + Duration::from_secs(3);
    let window_end = before_start + Duration::from_secs(5);
    // 5 sheets at one a second: printing runs across the window.
    let first = lab.submit("application/pdf", pdf(5), json!({})).await;
    tokio::time::sleep_until((window_start + Duration::from_millis(300)).into()).await;
    let seen_at_start = last_seen(&lab.printer().await);
    assert!(!lab.fleet().printer("Lab").unwrap().snapshot().connected);
    let sheets_when_silenced = lab.tap.sheet_reports(first).last().copied();
    let second = lab.submit("application/pdf", pdf(2), json!({})).await;
    tokio::time::sleep_until((window_end - Duration::from_millis(100)).into()).await;
    assert_eq!(
        last_seen(&lab.printer().await),
        seen_at_start,
        "Graph saw the device while offline"
    );
    for (id, sheets) in [(first, 5), (second, 2)] {
        let job = lab.wait_ended(id).await;
        assert_eq!(job_state(&job), "completed", "job {id}: {job}");
        lab.tap.assert_sheets_once(id, sheets);
        let acks = lab.tap.acks(id);
        assert_eq!(acks, 1, "job {id}");
    }
    let quiet_from = window_start + Duration::from_millis(250);
    let during: Vec<String> = lab
        .tap
        .between(quiet_from, window_end)
        .into_iter()
        .map(|s| s.operation)
        .collect();
    assert_eq!(
        during,
        Vec::<String>::new(),
        "the device talked while offline"
    );
    let after = lab.tap.between(window_end, Instant::now());
    assert!(
        after.iter().any(|s| s.operation == "Update-Active-Jobs"),
        "no reconcile after the window"
    );
    assert_ne!(last_seen(&lab.printer().await), seen_at_start);
    eprintln!("job {first} had {sheets_when_silenced:?} sheets reported when the window began");
    lab.shutdown().await;
}

/// `extra_latency_ms` delays every exchange: each step of one job is at least that far behind
/// the step it waits for, at the cloud.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn extra_latency_delays_every_request() {
    let lab = lab("[printer.faults]\nextra_latency_ms = 300\n").await;
    let id = lab.submit("application/pdf", pdf(1), json!({})).await;
    assert_eq!(job_state(&lab.wait_ended(id).await), "completed");
    for (gap, steps) in exchange_gaps(&lab, id) {
        assert!(gap >= Duration::from_millis(300), "{steps}: {gap:?}");
    }
    lab.shutdown().await;
}

/// The time between each exchange of a job and the one it waits for, with their names. The
/// device acknowledges a job and starts fetching its document at once (both wait for
/// Fetch-Job's answer, neither for the other), then acknowledges the document once stored.
fn exchange_gaps(lab: &Rig, id: i32) -> Vec<(Duration, String)> {
    let seen = lab.tap.all();
    let at = |step: &str| seen.iter().find(|s| s.is(step, id)).unwrap().at;
    [
        ("Fetch-Job", "Acknowledge-Job"),
        ("Fetch-Job", "Fetch-Document"),
        ("Fetch-Document", "Acknowledge-Document"),
    ]
    .into_iter()
    .map(|(before, after)| (at(after) - at(before), format!("{before} → {after}")))
    .collect()
}

/// Latency raised at run time delays every exchange; cleared, it is gone.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn network_latency_raised_at_run_time_delays_every_exchange_until_cleared() {
    let lab = lab("").await;
    let token = Some(CONTROL_TOKEN);
    let latency = Duration::from_millis(800);
    let path = "/Lab/faults/network-latency";
    let (status, body) = control_call(&lab, Method::POST, &format!("{path}?ms=800"), token).await;
    assert_eq!(status, StatusCode::ACCEPTED, "{body}");
    let slow = lab.submit("application/pdf", pdf(1), json!({})).await;
    assert_eq!(job_state(&lab.wait_ended(slow).await), "completed");
    for (gap, steps) in exchange_gaps(&lab, slow) {
        assert!(gap >= latency, "{steps}: {gap:?}");
    }
    let (status, body) = control_call(&lab, Method::DELETE, path, token).await;
    assert_eq!(status, StatusCode::ACCEPTED, "{body}");
    let quick = lab.submit("application/pdf", pdf(1), json!({})).await;
    assert_eq!(job_state(&lab.wait_ended(quick).await), "completed");
    let total: Duration = exchange_gaps(&lab, quick).iter().map(|(gap, _)| *gap).sum();
    assert!(total < latency, "{total:?} for three exchanges");
    let (status, body) = control_call(&lab, Method::POST, path, token).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert!(body.contains("needs ms"), "{body}");
    lab.shutdown().await;
}

/// The lab with its device subscribed to notifications, once the Get-Jobs that follows
/// subscribing has been answered: from then on, the device's requests are the test's.
async fn subscribed_lab() -> Rig {
    let lab = lab("").await;
    let printer = lab.fleet().printer("Lab").unwrap();
    tokio::time::timeout(Duration::from_secs(30), printer.wait_for(|s| s.subscribed))
        .await
        .expect("the device subscribes");
    tokio::time::sleep(Duration::from_secs(1)).await;
    lab
}

/// An idle device waits on the long poll: one Get-Notifications per long-poll period, nothing
/// else.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_idle_device_does_not_poll() {
    let lab = subscribed_lab().await;
    let from = Instant::now();
    tokio::time::sleep(Duration::from_secs(4)).await;
    let idle: Vec<String> = lab
        .tap
        .between(from, Instant::now())
        .into_iter()
        .map(|s| s.operation)
        .collect();
    // The cloud holds each long poll for LONG_POLL (2 s).
    assert!(idle.len() <= 3, "requests while idle: {idle:?}");
    assert!(idle.iter().all(|op| op == "Get-Notifications"), "{idle:?}");
    lab.shutdown().await;
}

/// A job the service's notification names is fetched at once: the device's first request
/// after the job starts is its Fetch-Job, not a Get-Jobs to find it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_notified_job_is_fetched_without_a_get_jobs_first() {
    let lab = subscribed_lab().await;
    let from = Instant::now();
    let id = lab.submit("application/pdf", pdf(1), json!({})).await;
    assert_eq!(job_state(&lab.wait_ended(id).await), "completed");
    let sent: Vec<Seen> = lab.tap.between(from, Instant::now());
    let fetch = sent
        .iter()
        .position(|s| s.is("Fetch-Job", id))
        .unwrap_or_else(|| panic!("no Fetch-Job in {sent:?}"));
    let before: Vec<&str> = sent[..fetch].iter().map(|s| s.operation.as_str()).collect();
    assert!(
        before.iter().all(|op| *op == "Get-Notifications"),
        "before the Fetch-Job: {before:?}"
    );
    lab.shutdown().await;
}

/// A job costs one Get-Jobs (the look for whatever the events missed, after the notified job):
/// the job-state-changed events its own reports raise do not send the printer looking again.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_job_costs_one_get_jobs() {
    let lab = subscribed_lab().await;
    let from = Instant::now();
    let id = lab.submit("application/pdf", pdf(1), json!({})).await;
    assert_eq!(job_state(&lab.wait_ended(id).await), "completed");
    // The events of the final report reach the device through its long poll within this.
    tokio::time::sleep(Duration::from_millis(500)).await;
    let sent: Vec<String> = (lab.tap.between(from, Instant::now()).into_iter())
        .map(|s| s.operation)
        .collect();
    let get_jobs = sent.iter().filter(|op| *op == "Get-Jobs").count();
    assert_eq!(get_jobs, 1, "{sent:?}");
    lab.shutdown().await;
}

/// The cloud goes away (its connections close) and comes back on the same port and folder:
/// the device backs off, reconnects by itself and takes the next job.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_device_recovers_when_the_cloud_comes_back_on_the_same_port() {
    let mut lab = lab("").await;
    let first = lab.submit("application/pdf", pdf(1), json!({})).await;
    assert_eq!(job_state(&lab.wait_ended(first).await), "completed");
    let stopped = lab.run.take().unwrap().stop().await;
    let printer = lab.fleet().printer("Lab").unwrap().clone();
    tokio::time::timeout(Duration::from_secs(10), printer.wait_for(|s| !s.connected))
        .await
        .expect("the device notices the cloud is gone");
    tokio::time::sleep(Duration::from_secs(2)).await;
    let run = stopped.start().await;
    lab.admin = run.admin();
    lab.run = Some(run);
    let second = lab.submit("application/pdf", pdf(1), json!({})).await;
    assert_eq!(job_state(&lab.wait_ended(second).await), "completed");
    assert!(printer.snapshot().connected);
    let acks = lab.tap.acks(first);
    assert_eq!(acks, 1);
    lab.shutdown().await;
}

/// A jammed printer that drops off the network is still jammed when it comes back: the job it
/// holds shows stopped again in Graph, not the `processing` of a fresh start.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_jam_outlasts_an_offline_window() {
    let lab = cloud_lab().await;
    let started = Instant::now();
    let lab = start_devices(
        lab,
        &format!("{}[printer.faults]\njam_every_sheets = 2\noffline = [{{ after_seconds = 3, for_seconds = 1 }}]\n", *PRINTER),
        true,
    )
    .await;
    let id = lab.submit("application/pdf", pdf(3), json!({})).await;
    lab.wait_job("the jam", id, |j| job_state(j) == "stopped")
        .await;
    let back = started + Duration::from_secs(4);
    tokio::time::sleep_until(back.into()).await;
    let what = "the held job to be reported again";
    lab.tap.wait_reports(back, id, 2, what).await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    let job = lab.job(id).await;
    assert_eq!(job_state(&job), "stopped", "{job}");
    assert!(printer_has(&lab.printer().await, "mediaJam"));
    let printer = lab.fleet().printer("Lab").unwrap();
    while !job_ended(&lab.job(id).await) {
        if printer
            .snapshot()
            .reasons
            .contains(&"media-jam".to_string())
        {
            printer.control(Control::Clear).await;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(job_state(&lab.job(id).await), "completed");
    assert_eq!(lab.tap.sheet_reports(id).last(), Some(&3));
    lab.shutdown().await;
}

/// With rendering off the device still lays the job out, so it reports the true sheet and side
/// counts (and aborts what it cannot print), but writes no PNGs.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_rendering_off_jobs_print_by_their_layout() {
    let lab = lab_with(
        &PRINTER.replace(
            "pages_per_minute = 600",
            "pages_per_minute = 600\nfull_speed = true",
        ),
        false,
    )
    .await;
    let duplex = lab
        .submit(
            "application/pdf",
            pdf(5),
            json!({"duplexMode": "flipOnLongEdge"}),
        )
        .await;
    let broken = lab
        .submit("application/pdf", b"%PDF-1.7 broken".to_vec(), json!({}))
        .await;
    assert_eq!(job_state(&lab.wait_ended(duplex).await), "completed");
    assert_eq!(job_state(&lab.wait_ended(broken).await), "aborted");
    let record = lab.spool().job("Lab", duplex as u32).unwrap().unwrap();
    assert_eq!(
        (
            record.progress.sheets_completed,
            record.progress.impressions_completed
        ),
        (3, 5)
    );
    assert!(!lab.spool_dir().join(format!("out/Lab/{duplex}")).exists());
    lab.shutdown().await;
}

/// A request to the in-process device's control API, with `token` as bearer when given.
async fn control_call(
    lab: &Rig,
    method: Method,
    path: &str,
    token: Option<&str>,
) -> (StatusCode, String) {
    let mut request = lab
        .http
        .request(method, format!("{}/control/printers{path}", lab.control));
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    let answer = request.send().await.unwrap();
    (answer.status(), answer.text().await.unwrap())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_control_api_answers_only_its_token() {
    let lab = lab("").await;
    for (method, path) in [
        (Method::GET, ""),
        (Method::POST, "/Lab/clear"),
        (Method::POST, "/Lab/faults/jam"),
        (Method::DELETE, "/Lab/faults/jam"),
    ] {
        let (status, body) = control_call(&lab, method.clone(), path, None).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{method} {path}: {body}");
        let (status, body) = control_call(&lab, method.clone(), path, Some("guess")).await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{method} {path}: {body}");
    }
    // The live stream too: it shows every job the printers hold.
    let events = format!("{}/control/events", lab.control);
    let none = lab.http.get(&events).send().await.unwrap();
    assert_eq!(none.status(), StatusCode::UNAUTHORIZED);
    let guess = lab
        .http
        .get(&events)
        .bearer_auth("guess")
        .send()
        .await
        .unwrap();
    assert_eq!(guess.status(), StatusCode::FORBIDDEN);
    let no_scheme = lab
        .http
        .get(format!("{}/control/printers", lab.control))
        .header("authorization", CONTROL_TOKEN)
        .send()
        .await
        .unwrap();
    assert_eq!(no_scheme.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(
        no_scheme.headers()["www-authenticate"].to_str().unwrap(),
        "Bearer"
    );
    // Nothing was raised by the refused requests.
    let (status, listing) = control_call(&lab, Method::GET, "", Some(CONTROL_TOKEN)).await;
    assert_eq!(status, StatusCode::OK, "{listing}");
    let listing: Value = serde_json::from_str(&listing).unwrap();
    assert_eq!(listing[0]["name"], "Lab", "{listing}");
    assert_eq!(listing[0]["reasons"], json!(["none"]), "{listing}");
    let (status, body) =
        control_call(&lab, Method::POST, "/Lab/faults/smoke", Some(CONTROL_TOKEN)).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert!(body.contains("jam, paper-out, cover-open"), "{body}");
    let (status, body) = control_call(
        &lab,
        Method::POST,
        "/Lab/faults/paper-out?tray=tray-1",
        Some(CONTROL_TOKEN),
    )
    .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert!(body.contains("no tray named tray-1"), "{body}");
    lab.shutdown().await;
}

/// Reads server-sent events (`event:` and `data:` lines) from a streaming response.
struct EventReader {
    response: reqwest::Response,
    buffer: String,
}

impl EventReader {
    /// The next event's kind and JSON data; `None` when the stream ends.
    async fn next(&mut self) -> Option<(String, Value)> {
        loop {
            if let Some(end) = self.buffer.find("\n\n") {
                let block: String = self.buffer.drain(..end + 2).collect();
                let kind = block.lines().find_map(|l| l.strip_prefix("event: "));
                let data = block.lines().find_map(|l| l.strip_prefix("data: "));
                match (kind, data) {
                    (Some(kind), Some(data)) => {
                        return Some((kind.to_string(), serde_json::from_str(data).unwrap()));
                    }
                    _ => continue, // a keep-alive comment
                }
            }
            let chunk = tokio::time::timeout(Duration::from_secs(30), self.response.chunk())
                .await
                .expect("an event within 30 s")
                .unwrap()?;
            self.buffer.push_str(std::str::from_utf8(&chunk).unwrap());
        }
    }
}

/// `GET /control/events`: the printer and `ready` first, then every change of a job as the
/// spool records it, in order, up to its completion with each sheet logged once; the stream
/// ends when the fleet stops.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_event_stream_follows_the_printers_and_each_job_change() {
    let lab = lab("").await;
    let response = (lab.http.get(format!("{}/control/events", lab.control)))
        .bearer_auth(CONTROL_TOKEN)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.headers()["content-type"], "text/event-stream");
    let mut events = EventReader {
        response,
        buffer: String::new(),
    };
    let (kind, printer) = events.next().await.unwrap();
    assert_eq!(
        (kind.as_str(), &printer["name"]),
        ("printer", &json!("Lab"))
    );
    assert_eq!(printer["state"], "idle", "{printer}");
    assert_eq!(events.next().await.unwrap().0, "ready");

    let id = lab.submit("application/pdf", pdf(2), json!({})).await;
    let mut states = Vec::new();
    let mut busy = false;
    let done = loop {
        let (kind, value) = events.next().await.expect("the stream goes on");
        match kind.as_str() {
            "printer" => busy |= value["job"] == id,
            "job" if value["jobId"] == id => {
                let state = value["state"].as_str().unwrap().to_string();
                if states.last() != Some(&state) {
                    states.push(state);
                }
                if value["state"] == "completed" {
                    break value;
                }
            }
            other => panic!("unexpected {other} event: {value}"),
        }
    };
    assert!(busy, "no printer snapshot named the job on the engine");
    // Each change is read back when it is sent, so a fast job may skip a state, never go back.
    let order = ["pending", "processing", "completed"];
    let ranks: Vec<usize> = (states.iter())
        .map(|s| order.iter().position(|o| o == s).unwrap())
        .collect();
    assert!(ranks.is_sorted(), "{states:?}");
    assert_eq!(done["progress"]["sheetsCompleted"], 2, "{done}");
    assert_eq!(done["sheetEntries"], 2, "{done}");
    assert_eq!(done["sides"].as_array().unwrap().len(), 2, "{done}");
    let kinds: Vec<&str> = (done["transitions"].as_array().unwrap().iter())
        .map(|t| t["kind"].as_str().unwrap())
        .collect();
    for step in ["fetched", "acknowledged", "rendered", "completed"] {
        assert!(kinds.contains(&step), "{step} missing from {kinds:?}");
    }
    assert!(!kinds.contains(&"sheet"), "{kinds:?}");

    // The final report's log entry may still come; then the stream ends with the fleet
    // (`next` fails the test if nothing comes for 30 s).
    lab.shutdown().await;
    while let Some((kind, value)) = events.next().await {
        assert!(kind == "job" || kind == "printer", "{kind}: {value}");
    }
}

/// A jam raised through the control API while sheet 2 of 4 is in the engine stops the job in
/// Graph (`stopped`, the jam named) and the printer (`mediaJam`, IPP `media-jam`); nothing
/// moves until the jam is cleared, and then the job completes with each sheet reported once
/// and in the manifest once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_jam_raised_mid_job_stops_it_and_the_clear_resumes_at_that_sheet() {
    let slow = PRINTER.replace("pages_per_minute = 600", "pages_per_minute = 60");
    let lab = lab_with(&slow, true).await;
    let token = Some(CONTROL_TOKEN);
    let id = lab.submit("application/pdf", pdf(4), json!({})).await;
    wait_for("sheet 1 reported", Duration::from_secs(30), || async {
        match lab.tap.sheet_reports(id).last() {
            Some(&sheets) if sheets >= 1 => Ok(()),
            last => Err(json!(last)),
        }
    })
    .await;
    let (status, body) = control_call(&lab, Method::POST, "/Lab/faults/jam", token).await;
    assert_eq!(status, StatusCode::ACCEPTED, "{body}");
    let job = lab
        .wait_job("the job stopped by the jam", id, |j| {
            job_state(j) == "stopped"
        })
        .await;
    let description = job["status"]["description"].as_str().unwrap_or_default();
    assert!(description.contains("media-jam"), "{job}");
    let printer = lab
        .wait_printer("the jam in Graph", |p| printer_has(p, "mediaJam"))
        .await;
    assert_eq!(printer["status"]["state"], "stopped", "{printer}");
    let handle = lab.fleet().printer("Lab").unwrap();
    assert!(handle.snapshot().reasons.contains(&"media-jam".to_string()));
    let stopped_at = lab.tap.sheet_reports(id).last().copied();
    assert!(stopped_at < Some(4), "{stopped_at:?}");
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert_eq!(lab.tap.sheet_reports(id).last().copied(), stopped_at);
    assert_eq!(job_state(&lab.job(id).await), "stopped");
    let (status, body) = control_call(&lab, Method::DELETE, "/Lab/faults/jam", token).await;
    assert_eq!(status, StatusCode::ACCEPTED, "{body}");
    let job = lab.wait_ended(id).await;
    assert_eq!(job_state(&job), "completed", "{job}");
    lab.tap.assert_sheets_once(id, 4);
    let manifest: Value = serde_json::from_slice(
        &std::fs::read(lab.spool_dir().join(format!("out/Lab/{id}/manifest.json"))).unwrap(),
    )
    .unwrap();
    let sheets: Vec<u64> = (manifest["sides"].as_array().unwrap().iter())
        .map(|s| s["sheet"].as_u64().unwrap())
        .collect();
    assert_eq!(sheets, vec![1, 2, 3, 4], "{manifest}");
    // The same outputs through the control API: the spool listing, the manifest, each side.
    let (status, listing) = control_call(&lab, Method::GET, "/Lab/jobs", token).await;
    assert_eq!(status, StatusCode::OK, "{listing}");
    let listing: Value = serde_json::from_str(&listing).unwrap();
    assert_eq!(listing[0]["job_id"], id, "{listing}");
    let job_path = format!("/Lab/jobs/{id}");
    let (status, served) = control_call(
        &lab,
        Method::GET,
        &format!("{job_path}/manifest.json"),
        token,
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(serde_json::from_str::<Value>(&served).unwrap(), manifest);
    for side in manifest["sides"].as_array().unwrap() {
        let file = side["file"].as_str().unwrap();
        let url = format!("{}/control/printers{job_path}/sides/{file}", lab.control);
        let answer = lab
            .http
            .get(url)
            .bearer_auth(CONTROL_TOKEN)
            .send()
            .await
            .unwrap();
        assert_eq!(answer.status(), StatusCode::OK, "{file}");
        assert_eq!(answer.headers()["content-type"], "image/png");
        let png = answer.bytes().await.unwrap();
        let on_disk = std::fs::read(lab.spool_dir().join(format!("out/Lab/{id}/{file}"))).unwrap();
        assert_eq!(png.as_ref(), on_disk.as_slice(), "{file}");
    }
    // A side's thumbnail: 100 pixels wide, aspect kept; a width out of range is refused.
    let side = &manifest["sides"][0];
    let (file, width, height) = (
        side["file"].as_str().unwrap(),
        side["width"].as_f64().unwrap(),
        side["height"].as_f64().unwrap(),
    );
    assert!(width > 100.0, "{side}");
    let url = format!(
        "{}/control/printers{job_path}/sides/{file}?width=100",
        lab.control
    );
    let answer = lab
        .http
        .get(url)
        .bearer_auth(CONTROL_TOKEN)
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status(), StatusCode::OK);
    let small = image::load_from_memory(&answer.bytes().await.unwrap()).unwrap();
    assert_eq!(small.width(), 100);
    assert!((f64::from(small.height()) - 100.0 * height / width).abs() <= 1.0);
    for bad in ["0", "5000", "wide"] {
        let path = format!("{job_path}/sides/{file}?width={bad}");
        let (status, body) = control_call(&lab, Method::GET, &path, token).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{path}: {body}");
    }
    for escape in [
        format!("{job_path}/sides/..%2Fmanifest.json"),
        format!("{job_path}/sides/..%2F..%2F..%2Fdb%2Fconf"),
        format!("{job_path}/sides/.hidden.png"),
        "/Lab/jobs/..%2F..%2Fdb/manifest.json".to_string(),
    ] {
        let (status, body) = control_call(&lab, Method::GET, &escape, token).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{escape}: {body}");
    }
    lab.wait_printer("the printer idle again", |p| p["status"]["state"] == "idle")
        .await;
    lab.shutdown().await;
}

/// Cover open raised while idle: Graph shows it, a job sent meanwhile waits `stopped`, and
/// clearing that one fault prints it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cover_opened_while_idle_holds_the_next_job_until_closed() {
    let lab = lab("").await;
    let token = Some(CONTROL_TOKEN);
    let (status, body) = control_call(&lab, Method::POST, "/Lab/faults/cover-open", token).await;
    assert_eq!(status, StatusCode::ACCEPTED, "{body}");
    lab.wait_printer("the open cover in Graph", |p| {
        printer_has(p, "coverOpen") && p["status"]["state"] == "stopped"
    })
    .await;
    let id = lab.submit("application/pdf", pdf(2), json!({})).await;
    lab.wait_job("the job held by the open cover", id, |j| {
        job_state(j) == "stopped"
    })
    .await;
    let reports = lab.tap.sheet_reports(id);
    assert!(reports.iter().all(|&s| s == 0), "{reports:?}");
    let (status, body) = control_call(&lab, Method::DELETE, "/Lab/faults/cover-open", token).await;
    assert_eq!(status, StatusCode::ACCEPTED, "{body}");
    assert_eq!(job_state(&lab.wait_ended(id).await), "completed");
    lab.tap.assert_sheets_once(id, 2);
    lab.shutdown().await;
}

/// Paper out on the tray a job feeds from stops it before its next sheet with `mediaEmpty`;
/// another tray running out does not.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn paper_out_on_the_selected_tray_stops_the_job_and_a_refill_resumes_it() {
    let trays = PRINTER
        .replace(
            r#"finishings = ["none"]"#,
            "finishings = [\"none\"]\ninput_bins = [\"auto\", \"tray-1\", \"tray-2\"]",
        )
        .replace("pages_per_minute = 600", "pages_per_minute = 60")
        + "[[printer.trays]]\nname = \"tray-1\"\nmedia_size = \"A4\"\ncapacity = 100\n\
           [[printer.trays]]\nname = \"tray-2\"\nmedia_size = \"A4\"\ncapacity = 100\n";
    let lab = lab_with(&trays, false).await;
    let token = Some(CONTROL_TOKEN);
    let id = lab
        .submit("application/pdf", pdf(3), json!({"inputBin": "tray-2"}))
        .await;
    wait_for("sheet 1 reported", Duration::from_secs(30), || async {
        match lab.tap.sheet_reports(id).last() {
            Some(&sheets) if sheets >= 1 => Ok(()),
            last => Err(json!(last)),
        }
    })
    .await;
    let (status, body) = control_call(
        &lab,
        Method::POST,
        "/Lab/faults/paper-out?tray=tray-1",
        token,
    )
    .await;
    assert_eq!(status, StatusCode::ACCEPTED, "{body}");
    let (status, body) = control_call(
        &lab,
        Method::POST,
        "/Lab/faults/paper-out?tray=tray-2",
        token,
    )
    .await;
    assert_eq!(status, StatusCode::ACCEPTED, "{body}");
    lab.wait_job("the job stopped by paper out", id, |j| {
        job_state(j) == "stopped"
    })
    .await;
    let printer = lab
        .wait_printer("paper out in Graph", |p| printer_has(p, "mediaEmpty"))
        .await;
    assert_eq!(printer["status"]["state"], "stopped", "{printer}");
    let (status, body) = control_call(&lab, Method::POST, "/Lab/clear", token).await;
    assert_eq!(status, StatusCode::ACCEPTED, "{body}");
    assert_eq!(job_state(&lab.wait_ended(id).await), "completed");
    lab.tap.assert_sheets_once(id, 3);
    lab.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_pause_stops_the_job_after_its_sheet_and_resume_completes_it() {
    let slow = PRINTER.replace("pages_per_minute = 600", "pages_per_minute = 60");
    let lab = lab_with(&slow, true).await;
    let token = Some(CONTROL_TOKEN);
    let id = lab.submit("application/pdf", pdf(4), json!({})).await;
    wait_for("sheet 1 reported", Duration::from_secs(30), || async {
        match lab.tap.sheet_reports(id).last() {
            Some(&sheets) if sheets >= 1 => Ok(()),
            last => Err(json!(last)),
        }
    })
    .await;
    let (status, body) = control_call(&lab, Method::POST, "/Lab/pause", token).await;
    assert_eq!(status, StatusCode::ACCEPTED, "{body}");
    let job = lab
        .wait_job("the job stopped by the pause", id, |j| {
            job_state(j) == "stopped"
        })
        .await;
    let description = job["status"]["description"].as_str().unwrap_or_default();
    assert!(description.contains("paused"), "{job}");
    let printer = lab
        .wait_printer("the pause in Graph", |p| printer_has(p, "paused"))
        .await;
    assert_eq!(printer["status"]["state"], "stopped", "{printer}");
    let handle = lab.fleet().printer("Lab").unwrap();
    assert_eq!(handle.snapshot().reasons, ["paused"]);
    let paused_at = lab.tap.sheet_reports(id).last().copied();
    assert!(paused_at < Some(4), "{paused_at:?}");
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert_eq!(lab.tap.sheet_reports(id).last().copied(), paused_at);
    assert_eq!(job_state(&lab.job(id).await), "stopped");
    let (status, body) = control_call(&lab, Method::POST, "/Lab/resume", token).await;
    assert_eq!(status, StatusCode::ACCEPTED, "{body}");
    let job = lab.wait_ended(id).await;
    assert_eq!(job_state(&job), "completed", "{job}");
    lab.tap.assert_sheets_once(id, 4);
    lab.wait_printer("the pause over in Graph", |p| !printer_has(p, "paused"))
        .await;
    let (status, _) = control_call(&lab, Method::POST, "/Nope/pause", token).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

/// Offline raised at run time: the device stops talking to the service (a job sent meanwhile is
/// not fetched), clearing it reconnects and prints the job; `for=` ends it by itself.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn offline_raised_at_run_time_stops_fetching_until_cleared_or_its_time_is_up() {
    let lab = lab("").await;
    let token = Some(CONTROL_TOKEN);
    let handle = lab.fleet().printer("Lab").unwrap();
    let (status, body) = control_call(&lab, Method::POST, "/Lab/faults/offline", token).await;
    assert_eq!(status, StatusCode::ACCEPTED, "{body}");
    tokio::time::timeout(Duration::from_secs(10), handle.wait_for(|s| !s.connected))
        .await
        .unwrap();
    let quiet_from = Instant::now();
    let id = lab.submit("application/pdf", pdf(2), json!({})).await;
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let during: Vec<String> = (lab.tap.between(quiet_from, Instant::now()).into_iter())
        .map(|s| s.operation)
        .collect();
    assert_eq!(
        during,
        Vec::<String>::new(),
        "the device talked while offline"
    );
    assert_eq!(lab.tap.acks(id), 0);
    assert!(lab.tap.sheet_reports(id).is_empty());
    let (status, body) = control_call(&lab, Method::DELETE, "/Lab/faults/offline", token).await;
    assert_eq!(status, StatusCode::ACCEPTED, "{body}");
    let job = lab.wait_ended(id).await;
    assert_eq!(job_state(&job), "completed", "{job}");
    lab.tap.assert_sheets_once(id, 2);
    // For a while: back by itself.
    let (status, body) =
        control_call(&lab, Method::POST, "/Lab/faults/offline?for=1s", token).await;
    assert_eq!(status, StatusCode::ACCEPTED, "{body}");
    tokio::time::timeout(Duration::from_secs(10), handle.wait_for(|s| !s.connected))
        .await
        .unwrap();
    tokio::time::timeout(Duration::from_secs(10), handle.wait_for(|s| s.connected))
        .await
        .unwrap();
    // Clearing every fault plugs the cable in too.
    let (status, body) = control_call(&lab, Method::POST, "/Lab/faults/offline", token).await;
    assert_eq!(status, StatusCode::ACCEPTED, "{body}");
    tokio::time::timeout(Duration::from_secs(10), handle.wait_for(|s| !s.connected))
        .await
        .unwrap();
    let (status, body) = control_call(&lab, Method::POST, "/Lab/clear", token).await;
    assert_eq!(status, StatusCode::ACCEPTED, "{body}");
    tokio::time::timeout(Duration::from_secs(10), handle.wait_for(|s| s.connected))
        .await
        .unwrap();
    for (path, words) in [
        ("/Lab/faults/offline?for=soon", "is not a duration"),
        (
            "/Lab/faults/offline?tray=tray-1",
            "only paper-out takes a tray",
        ),
        ("/Lab/faults/jam?for=1s", "only offline takes a duration"),
    ] {
        let (status, body) = control_call(&lab, Method::POST, path, token).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{path}: {body}");
        assert!(body.contains(words), "{path}: {body}");
    }
    lab.shutdown().await;
}
