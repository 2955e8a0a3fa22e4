//! End to end through the real cloud on loopback: a Graph client creates, uploads and starts
//! jobs; an emulated printer connected as an INFRA proxy (printer URI + HTTP Basic) fetches,
//! prints and reports them; Graph shows the outcome. Also: a Graph cancel stops the device
//! mid-job within a second, a cloud restart in the middle of a job stream loses nothing, and
//! stopping the cloud does not wait out the long polls it holds.

use printlab_cloud::CloudOptions;
use printlab_device::infra_client::InfraClient;
use printlab_graph::PrintJobProcessingState;
use printlab_ipp::http::Credentials;
use printlab_testkit::TestCloud;
use printlab_testkit_fleet::{
    ONE_PRINTER, PROXY_PASSWORD, PROXY_USER, TestFleet, device_cloud, lab_proxy, pdf,
    proxied_printer,
};
use reqwest::Method;
use serde_json::{Value as Json, json};
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

fn completed(job: &Json) -> bool {
    job["status"]["state"] == "completed"
}

/// Polls Graph `GET job` until `done` holds (at most `limit`).
async fn wait_for_job(
    cloud: &TestCloud,
    printer_id: &str,
    job_id: &str,
    limit: Duration,
    done: impl Fn(&Json) -> bool,
) -> Json {
    let job = format!("/print/printers/{printer_id}/jobs/{job_id}");
    let what = format!("job {job_id} to get there");
    cloud.admin_graph().wait(&job, &what, limit, done).await
}

/// What both end-to-end tests start from: a cloud and a device fleet in `dir`, and a Graph
/// printer provisioned for an INFRA proxy at `/ipp/print/lab`, with a device serving it whose
/// advertised capabilities Graph already shows.
async fn lab(dir: &Path) -> (TestCloud, TestFleet, String) {
    let cloud = device_cloud(&dir.join("cloud")).await;
    let mut fleet = TestFleet::open(&dir.join("spool"));
    let admin = cloud.admin_graph();
    let printer = proxied_printer(&cloud).await;
    fleet.start(ONE_PRINTER, true, lab_proxy(&cloud));
    let view = admin
        .wait(
            &format!("/print/printers/{printer}?$select=capabilities,status,lastSeenDateTime"),
            "the device to advertise",
            Duration::from_secs(10),
            |view| view["capabilities"]["contentTypes"] == json!(["application/pdf"]),
        )
        .await;
    assert_eq!(view["capabilities"]["mediaSizes"], json!(["A4"]));
    assert_eq!(view["status"]["state"], "idle", "{view}");
    assert!(view["lastSeenDateTime"].is_string(), "{view}");
    (cloud, fleet, printer)
}

/// Graph: create a job, upload its document through the upload session, start it. Returns the
/// job id.
async fn submit_job(
    cloud: &TestCloud,
    printer_id: &str,
    data: Vec<u8>,
    configuration: Json,
) -> String {
    let jobs = format!("/print/printers/{printer_id}/jobs");
    let admin = cloud.admin_graph();
    admin
        .submit(&jobs, "application/pdf", data, configuration)
        .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn graph_jobs_reach_a_real_device_and_its_reports_reach_graph() {
    let dir = tempfile::tempdir().unwrap();
    let (cloud, mut fleet, printer) = lab(dir.path()).await;
    let spool = fleet.spool.clone();

    let job = submit_job(&cloud, &printer, pdf(2), json!({"mediaSize": "A4"})).await;
    let done = wait_for_job(&cloud, &printer, &job, Duration::from_secs(30), completed).await;
    assert_eq!(done["status"]["isAcquiredByPrinter"], true, "{done}");
    assert!(done["acknowledgedDateTime"].is_string(), "{done}");
    assert_eq!(done["isFetchable"], false);
    let record = spool.job("Lab", job.parse().unwrap()).unwrap().unwrap();
    assert_eq!(record.progress.sheets_completed, 2);
    assert_eq!(record.outputs.len(), 2);

    // Cancel from Graph while the device prints a long job: it stops within a second.
    let long = submit_job(&cloud, &printer, pdf(40), json!({"mediaSize": "A4"})).await;
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
    let cancel = format!("/print/printers/{printer}/jobs/{long}/cancel");
    cloud.admin_graph().ok(Method::POST, &cancel, None).await;
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
    let canceled = cloud
        .admin_graph()
        .get_ok(&format!("/print/printers/{printer}/jobs/{long}"))
        .await;
    assert_eq!(canceled["status"]["state"], "canceled", "{canceled}");
    fleet.stop().await;
    cloud.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cloud_restart_mid_stream_loses_nothing_acknowledged() {
    let dir = tempfile::tempdir().unwrap();
    let (cloud, mut fleet, printer) = lab(dir.path()).await;
    let spool = fleet.spool.clone();

    let mut jobs = Vec::new();
    for _ in 0..4 {
        jobs.push(submit_job(&cloud, &printer, pdf(6), json!({"mediaSize": "A4"})).await);
    }
    // Stop the cloud once the device has acquired the first job, with the rest still queued.
    wait_for_job(&cloud, &printer, &jobs[0], Duration::from_secs(30), |j| {
        j["status"]["isAcquiredByPrinter"] == true
    })
    .await;
    let stopped = cloud.stop().await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    let cloud = stopped.start().await;

    for job in &jobs {
        let done = wait_for_job(&cloud, &printer, job, Duration::from_secs(60), completed).await;
        assert_eq!(done["status"]["isAcquiredByPrinter"], true, "{done}");
        let record = spool.job("Lab", job.parse().unwrap()).unwrap().unwrap();
        assert_eq!(
            record.progress.sheets_completed, 6,
            "job {job} printed exactly once"
        );
        assert_eq!(record.outputs.len(), 6);
    }
    // Jobs submitted after the restart reach the re-subscribed device too.
    let late = submit_job(&cloud, &printer, pdf(1), json!({"mediaSize": "A4"})).await;
    wait_for_job(&cloud, &printer, &late, Duration::from_secs(30), completed).await;
    fleet.stop().await;
    cloud.stop().await;
}

/// With the default long poll (most of a minute), stopping the cloud answers a held
/// Get-Notifications at once with an ordinary, empty answer, so the graceful stop returns in
/// moments instead of waiting the long poll out.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stopping_the_cloud_answers_held_long_polls_at_once() {
    let dir = tempfile::tempdir().unwrap();
    let options = CloudOptions::default();
    // The hold over HTTP/1.1, which this test's client speaks.
    let long_poll = options.long_poll.http1;
    assert!(long_poll >= Duration::from_secs(20), "{long_poll:?}");
    let cloud = TestCloud::start_in(&dir.path().join("cloud")).await;
    proxied_printer(&cloud).await;
    let client = Arc::new(
        InfraClient::new(
            reqwest::Client::new(),
            &format!("{}/ipp/print/lab", cloud.url),
            "5d1b8a34-6c1e-4c61-9a39-3f0e2b6f1a77",
            Credentials::Basic {
                user: PROXY_USER.into(),
                password: PROXY_PASSWORD.into(),
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
    cloud.stop().await;
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
