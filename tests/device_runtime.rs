//! The device loop against a small PWG 5100.18 infrastructure printer on loopback (the real
//! cloud's INFRA service lands on another branch): real HTTP, real sled spool, real renderer.
//! The service here keeps jobs in memory and implements exactly the operations the standard
//! gives an output device, including ippget long polls.

use axum::extract::State;
use axum::routing::post;
use printlab::device::config;
use printlab::device::runtime::{
    Endpoint, FleetOptions, RunningFleet, control_router, out_root, start_fleet,
};
use printlab::device::spool::Spool;
use printlab::ipp::http::{Credentials, IppReply, IppRequest};
use printlab::ipp::{
    Attribute, AttributeLookup, Group, GroupTag, Message, Operation, StatusCode, Value,
};
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::sync::Notify;

#[derive(Default, Clone)]
struct ServiceJob {
    document: Vec<u8>,
    format: String,
    fetchable: bool,
    acknowledged: bool,
    canceled: bool,
    /// output-device-job-state reported by the device.
    device_state: Option<i32>,
    reasons: Vec<String>,
    message: Option<String>,
    sheets: Option<i32>,
    impressions: Option<i32>,
    /// Bytes per 50 ms when sending the document (None: all at once).
    throttle: Option<usize>,
    acks: u32,
    /// Job template attributes Fetch-Job sends besides `copies`.
    template: Vec<Attribute>,
}

#[derive(Default)]
struct ServiceState {
    jobs: BTreeMap<u32, ServiceJob>,
    events: Vec<(i32, String, u32, Option<i32>)>,
    printer_reasons: Vec<String>,
    advertised_formats: Vec<String>,
    history: Vec<String>,
    /// When each request of `history` arrived.
    arrivals: Vec<Instant>,
    /// Every `job-media-sheets-completed` the device reported, in order.
    sheet_reports: Vec<(u32, i32)>,
}

#[derive(Clone, Default)]
struct Service {
    state: Arc<Mutex<ServiceState>>,
    changed: Arc<Notify>,
}

impl Service {
    fn add_job(&self, id: u32, format: &str, document: Vec<u8>, throttle: Option<usize>) {
        let mut s = self.state.lock().unwrap();
        s.jobs.insert(
            id,
            ServiceJob {
                document,
                format: format.into(),
                fetchable: true,
                throttle,
                ..Default::default()
            },
        );
        let seq = s.events.len() as i32 + 1;
        s.events.push((seq, "job-fetchable".into(), id, Some(3)));
        drop(s);
        self.changed.notify_waiters();
    }

    /// A job whose Fetch-Job answer carries `template` (options a printer may not have).
    fn add_job_with(&self, id: u32, format: &str, document: Vec<u8>, template: Vec<Attribute>) {
        self.add_job(id, format, document, None);
        self.state
            .lock()
            .unwrap()
            .jobs
            .get_mut(&id)
            .unwrap()
            .template = template;
    }

    fn cancel(&self, id: u32) {
        let mut s = self.state.lock().unwrap();
        s.jobs.get_mut(&id).unwrap().canceled = true;
        s.jobs.get_mut(&id).unwrap().fetchable = false;
        let seq = s.events.len() as i32 + 1;
        s.events
            .push((seq, "job-state-changed".into(), id, Some(7)));
        drop(s);
        self.changed.notify_waiters();
    }

    fn job(&self, id: u32) -> ServiceJob {
        self.state.lock().unwrap().jobs[&id].clone()
    }

    async fn wait_for(&self, what: &str, pred: impl Fn(&ServiceState) -> bool) {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let notified = self.changed.notified();
            if pred(&self.state.lock().unwrap()) {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "timed out waiting for {what}; history: {:?}",
                self.state.lock().unwrap().history
            );
            let _ = tokio::time::timeout(Duration::from_millis(200), notified).await;
        }
    }
}

fn job_id(message: &Message) -> u32 {
    message
        .operation_attributes()
        .integer("job-id")
        .unwrap_or(0) as u32
}

async fn handle(State(service): State<Service>, request: IppRequest) -> IppReply {
    let message = request.message;
    let op = message.operation();
    let id = message.request_id;
    let ok = || Message::response(StatusCode::SUCCESSFUL_OK, id);
    let name = op.name().unwrap_or("?").to_string();
    {
        let mut s = service.state.lock().unwrap();
        s.history.push(format!("{name} {}", job_id(&message)));
        s.arrivals.push(Instant::now());
    }
    let reply = match op {
        Operation::UPDATE_OUTPUT_DEVICE_ATTRIBUTES => {
            let mut s = service.state.lock().unwrap();
            if let Some(g) = message.group(GroupTag::PRINTER) {
                if let Some(a) = g.attr("printer-state-reasons") {
                    s.printer_reasons = a.keywords().map(str::to_string).collect();
                }
                if let Some(a) = g.attr("document-format-supported") {
                    s.advertised_formats = a
                        .values
                        .iter()
                        .filter_map(|v| v.as_str().map(str::to_string))
                        .collect();
                }
            }
            IppReply::new(ok())
        }
        Operation::CREATE_PRINTER_SUBSCRIPTIONS => {
            let mut m = ok();
            m.push_group(
                Group::new(GroupTag::SUBSCRIPTION)
                    .with("notify-subscription-id", Value::Integer(1)),
            );
            IppReply::new(m)
        }
        Operation::GET_NOTIFICATIONS => {
            let from = message
                .operation_attributes()
                .integer("notify-sequence-numbers")
                .unwrap_or(1);
            let deadline = Instant::now() + Duration::from_secs(5);
            loop {
                let notified = service.changed.notified();
                let events: Vec<_> = service
                    .state
                    .lock()
                    .unwrap()
                    .events
                    .iter()
                    .filter(|e| e.0 >= from)
                    .cloned()
                    .collect();
                if !events.is_empty() || Instant::now() >= deadline {
                    let mut m = ok();
                    m.group_mut(GroupTag::OPERATION)
                        .push(Attribute::new("notify-get-interval", Value::Integer(5)));
                    for (seq, event, job, state) in events {
                        let mut g = Group::new(GroupTag::EVENT_NOTIFICATION)
                            .with("notify-subscription-id", Value::Integer(1))
                            .with("notify-sequence-number", Value::Integer(seq))
                            .with("notify-subscribed-event", Value::keyword(event))
                            .with("notify-job-id", Value::Integer(job as i32));
                        if let Some(state) = state {
                            g.push(Attribute::new("job-state", Value::Enum(state)));
                        }
                        m.push_group(g);
                    }
                    break IppReply::new(m);
                }
                let _ = tokio::time::timeout(Duration::from_millis(500), notified).await;
            }
        }
        Operation::GET_JOBS => {
            let mut m = ok();
            let fetchable: Vec<u32> = service
                .state
                .lock()
                .unwrap()
                .jobs
                .iter()
                .filter(|(_, j)| j.fetchable)
                .map(|(id, _)| *id)
                .collect();
            for job in fetchable {
                m.push_group(Group::new(GroupTag::JOB).with("job-id", Value::Integer(job as i32)));
            }
            IppReply::new(m)
        }
        Operation::FETCH_JOB => {
            let job = job_id(&message);
            let s = service.state.lock().unwrap();
            match s.jobs.get(&job) {
                Some(j) if j.fetchable => {
                    let mut m = ok();
                    let mut group = Group::new(GroupTag::JOB)
                        .with("job-id", Value::Integer(job as i32))
                        .with("job-name", Value::name(format!("job {job}")))
                        .with("job-originating-user-name", Value::name("tester"))
                        .with("copies", Value::Integer(1));
                    for attribute in &j.template {
                        group.push(attribute.clone());
                    }
                    m.push_group(group);
                    IppReply::new(m)
                }
                _ => IppReply::new(Message::error_response(
                    StatusCode::CLIENT_ERROR_NOT_FETCHABLE,
                    id,
                    "not fetchable",
                )),
            }
        }
        Operation::ACKNOWLEDGE_JOB => {
            let job = job_id(&message);
            let mut s = service.state.lock().unwrap();
            let j = s.jobs.get_mut(&job).unwrap();
            j.fetchable = false;
            j.acknowledged = true;
            j.acks += 1;
            IppReply::new(ok())
        }
        Operation::FETCH_DOCUMENT => {
            let job = service.job(job_id(&message));
            if job.canceled {
                IppReply::new(Message::error_response(
                    StatusCode::CLIENT_ERROR_NOT_FETCHABLE,
                    id,
                    "canceled",
                ))
            } else {
                let mut m = ok();
                m.group_mut(GroupTag::OPERATION).push(Attribute::new(
                    "document-format",
                    Value::mime_media_type(job.format.clone()),
                ));
                let reader: printlab::ipp::DocumentReader = match job.throttle {
                    None => Box::pin(std::io::Cursor::new(job.document)),
                    Some(step) => {
                        let chunks: Vec<Result<bytes::Bytes, std::io::Error>> = job
                            .document
                            .chunks(step)
                            .map(|c| Ok(bytes::Bytes::copy_from_slice(c)))
                            .collect();
                        let stream = futures::StreamExt::then(
                            futures::stream::iter(chunks),
                            |c| async move {
                                tokio::time::sleep(Duration::from_millis(50)).await;
                                c
                            },
                        );
                        Box::pin(tokio_util::io::StreamReader::new(stream))
                    }
                };
                IppReply::with_document(m, reader)
            }
        }
        Operation::ACKNOWLEDGE_DOCUMENT => IppReply::new(ok()),
        Operation::UPDATE_JOB_STATUS => {
            let job = job_id(&message);
            let mut guard = service.state.lock().unwrap();
            let s = &mut *guard;
            let j = s.jobs.get_mut(&job).unwrap();
            if let Some(g) = message.group(GroupTag::JOB) {
                j.device_state = g.enum_value("output-device-job-state").or(j.device_state);
                if let Some(a) = g.attr("output-device-job-state-reasons") {
                    j.reasons = a.keywords().map(str::to_string).collect();
                }
                j.message = g
                    .string("output-device-job-state-message")
                    .map(str::to_string)
                    .or(j.message.clone());
                j.sheets = g.integer("job-media-sheets-completed").or(j.sheets);
                if let Some(n) = g.integer("job-media-sheets-completed") {
                    s.sheet_reports.push((job, n));
                }
                j.impressions = g.integer("job-impressions-completed").or(j.impressions);
            }
            IppReply::new(ok())
        }
        Operation::UPDATE_ACTIVE_JOBS => {
            let s = service.state.lock().unwrap();
            let ids: Vec<u32> = message
                .operation_attributes()
                .attr("job-ids")
                .map(|a| a.integers().map(|i| i as u32).collect())
                .unwrap_or_default();
            let mut m = ok();
            let differing: Vec<(u32, i32)> = ids
                .iter()
                .filter_map(|id| match s.jobs.get(id) {
                    None => Some((*id, 8)),
                    Some(j) if j.canceled => Some((*id, 7)),
                    _ => None,
                })
                .collect();
            if !differing.is_empty() {
                let op = m.group_mut(GroupTag::OPERATION);
                op.push(Attribute::set(
                    "job-ids",
                    differing.iter().map(|(id, _)| Value::Integer(*id as i32)),
                ));
                op.push(Attribute::set(
                    "output-device-job-states",
                    differing.iter().map(|(_, s)| Value::Enum(*s)),
                ));
            }
            IppReply::new(m)
        }
        _ => IppReply::new(Message::error_response(
            StatusCode::SERVER_ERROR_OPERATION_NOT_SUPPORTED,
            id,
            "unsupported",
        )),
    };
    service.changed.notify_waiters();
    reply
}

async fn serve(router: axum::Router) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, router).await.unwrap() });
    format!("http://{addr}")
}

const PRINTER: &str = r#"
[[printer]]
name = "Lab"
[printer.capabilities]
document_formats = ["application/pdf", "image/pwg-raster"]
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
"#;

struct Lab {
    service: Service,
    fleet: RunningFleet,
    spool_dir: tempfile::TempDir,
    control: String,
    spool: Spool,
}

async fn lab(extra: &str) -> Lab {
    lab_from(&format!("{PRINTER}{extra}")).await
}

async fn lab_from(text: &str) -> Lab {
    lab_with(text, true).await
}

async fn lab_with(text: &str, render: bool) -> Lab {
    let service = Service::default();
    let base = serve(
        axum::Router::new()
            .route("/ipp/print/lab", post(handle))
            .with_state(service.clone()),
    )
    .await;
    let fleet = config::parse(text, "test.toml").expect("valid printer");
    let spool_dir = tempfile::tempdir().unwrap();
    let spool = Spool::open(&spool_dir.path().join("db")).unwrap();
    let uri = format!("{base}/ipp/print/lab");
    let running = start_fleet(
        &fleet.printers,
        |_| {
            Ok(Endpoint {
                printer_uri: uri.clone(),
                credentials: Credentials::Basic {
                    user: "lab".into(),
                    password: "secret".into(),
                },
            })
        },
        FleetOptions {
            spool: spool.clone(),
            out_root: out_root(spool_dir.path()),
            http: reqwest::Client::new(),
            render,
        },
    )
    .unwrap();
    let control = serve(control_router(&running.printers)).await;
    Lab {
        service,
        fleet: running,
        spool_dir,
        control,
        spool,
    }
}

fn pdf(pages: usize) -> Vec<u8> {
    printlab::render::testpage::generate(&vec![(595.0, 842.0); pages]).unwrap()
}

fn job_finished(s: &ServiceState, id: u32) -> bool {
    s.jobs
        .get(&id)
        .and_then(|j| j.device_state)
        .is_some_and(|st| st >= 7)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_job_is_fetched_spooled_rendered_paced_and_completed() {
    let lab = lab("").await;
    lab.service.add_job(7, "application/pdf", pdf(3), None);
    lab.service
        .wait_for("job 7 to finish", |s| job_finished(s, 7))
        .await;
    let job = lab.service.job(7);
    assert_eq!(job.device_state, Some(9), "{:?}", job.message);
    assert_eq!(job.sheets, Some(3));
    assert_eq!(job.impressions, Some(3));
    assert_eq!(job.acks, 1);
    assert!(
        job.reasons
            .contains(&"job-completed-successfully".to_string())
    );
    let out = lab.spool_dir.path().join("out/Lab/7");
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
    let record = lab.spool.job("Lab", 7).unwrap().unwrap();
    assert!(record.acknowledged);
    assert_eq!(record.progress.sheets_completed, 3);
    assert_eq!(record.outputs.len(), 3);
    assert!(
        lab.service
            .state
            .lock()
            .unwrap()
            .advertised_formats
            .contains(&"application/pdf".to_string())
    );
    lab.fleet.shutdown().await;
}

/// Every way a job can be unprintable on this printer ends in `aborted` with a reason a person
/// can act on, and the printer goes on with the next job.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unprintable_jobs_are_aborted_with_a_reason_and_the_next_one_prints() {
    let lab =
        lab("warm_up_seconds = 0\n[printer.faults]\nfailing_formats = [\"image/pwg-raster\"]\n")
            .await;
    lab.service.add_job(
        1,
        "application/pdf",
        b"%PDF-1.7 this is not a pdf".to_vec(),
        None,
    );
    lab.service.add_job_with(
        2,
        "application/pdf",
        pdf(1),
        vec![Attribute::new("media", Value::keyword("iso_a3_297x420mm"))],
    );
    lab.service.add_job(3, "image/pwg-raster", pdf(1), None);
    lab.service.add_job(4, "image/jpeg", pdf(1), None);
    lab.service.add_job(5, "application/pdf", pdf(1), None);
    lab.service
        .wait_for("every job to finish", |s| {
            (1..=5).all(|id| job_finished(s, id))
        })
        .await;
    let expect = [
        (1, "document-unprintable-error", "cannot be printed"),
        (2, "unsupported-attributes-or-values", "A3"),
        (
            3,
            "document-format-error",
            "interpreter failed on image/pwg-raster",
        ),
        (
            4,
            "document-format-error",
            "image/jpeg` is not supported by this printer",
        ),
    ];
    for (id, reason, words) in expect {
        let job = lab.service.job(id);
        assert_eq!(job.device_state, Some(8), "job {id}: {:?}", job.message);
        assert_eq!(job.reasons, vec![reason.to_string()], "job {id}");
        assert!(
            job.message.as_deref().is_some_and(|m| m.contains(words)),
            "job {id}: {:?}",
            job.message
        );
    }
    assert_eq!(lab.service.job(5).device_state, Some(9));
    lab.fleet.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_jam_stops_the_printer_until_cleared_and_no_sheet_prints_twice() {
    let lab = lab("[printer.faults]\njam_every_sheets = 2\n").await;
    lab.service.add_job(3, "application/pdf", pdf(3), None);
    lab.service
        .wait_for("the jam", |s| {
            s.printer_reasons.contains(&"media-jam".to_string())
                && s.jobs[&3].device_state == Some(6)
        })
        .await;
    assert_eq!(lab.service.job(3).sheets, Some(1));
    let printer = lab.fleet.printer("Lab").unwrap();
    assert!(
        printer
            .snapshot()
            .reasons
            .contains(&"media-jam".to_string())
    );
    let http = reqwest::Client::new();
    let answer = http
        .post(format!("{}/control/printers/Lab/clear", lab.control))
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status(), 202);
    // Sheet 2 jams (pick 2), is reprinted after the clear (pick 3), then sheet 3 is pick 4,
    // which jams again.
    lab.service
        .wait_for("the second jam", |s| {
            s.jobs[&3].sheets == Some(2) && s.printer_reasons.contains(&"media-jam".to_string())
        })
        .await;
    http.post(format!("{}/control/printers/Lab/clear", lab.control))
        .send()
        .await
        .unwrap();
    lab.service
        .wait_for("job 3 to finish", |s| job_finished(s, 3))
        .await;
    let job = lab.service.job(3);
    assert_eq!(job.device_state, Some(9));
    assert_eq!(job.sheets, Some(3));
    assert_eq!(
        http.post(format!("{}/control/printers/Nope/clear", lab.control))
            .send()
            .await
            .unwrap()
            .status(),
        404
    );
    lab.fleet.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cancel_stops_the_download_within_a_second() {
    let lab = lab("").await;
    // 1 MiB at 16 KiB per 50 ms: over three seconds of download.
    let mut document = pdf(1);
    document.resize(1 << 20, b' ');
    lab.service
        .add_job(5, "application/pdf", document, Some(16 * 1024));
    lab.service
        .wait_for("the download to start", |s| {
            s.history.iter().any(|h| h == "Fetch-Document 5")
        })
        .await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    let canceled_at = Instant::now();
    lab.service.cancel(5);
    lab.service
        .wait_for("job 5 to end", |s| job_finished(s, 5))
        .await;
    assert!(
        canceled_at.elapsed() < Duration::from_secs(1),
        "took {:?}",
        canceled_at.elapsed()
    );
    assert_eq!(lab.service.job(5).device_state, Some(7));
    let record = lab.spool.job("Lab", 5).unwrap().unwrap();
    assert_eq!(
        record.state,
        printlab::model::PrintJobProcessingState::Canceled
    );
    lab.fleet.shutdown().await;
}

/// Kills a real `printlab devices` process (SIGKILL) at many points of a stream of jobs and
/// restarts it on the same spool: every job ends completed exactly once, the sheet count the
/// device reports never goes back (no sheet printed twice), and the spool stays consistent.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigkill_at_many_points_never_loses_or_reprints_a_job() {
    let service = Service::default();
    let base = serve(
        axum::Router::new()
            .route("/ipp/print/lab", post(handle))
            .with_state(service.clone()),
    )
    .await;
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("printers.toml");
    let text = format!(
        "[fleet]\nconnection = {{ mode = \"infra\", printer_uri = \"{base}/ipp/print/lab\" }}\n{}\nwarm_up_seconds = 0\n",
        PRINTER.replace("pages_per_minute = 600", "pages_per_minute = 300")
    );
    std::fs::write(&config, text).unwrap();
    let jobs: Vec<u32> = (1..=8).collect();
    for id in &jobs {
        service.add_job(*id, "application/pdf", pdf(3), None);
    }
    let spool_dir = dir.path().join("spool");
    let start = || {
        std::process::Command::new(env!("CARGO_BIN_EXE_printlab"))
            .args(["devices", "--config"])
            .arg(&config)
            .arg("--spool")
            .arg(&spool_dir)
            .env("PRINTLAB_LOG", "warn")
            .stdout(std::process::Stdio::null())
            .spawn()
            .unwrap()
    };
    let all_done = |s: &ServiceState| jobs.iter().all(|id| job_finished(s, *id));
    let mut kills = 0;
    for round in 0..30u64 {
        if all_done(&service.state.lock().unwrap()) {
            break;
        }
        let mut child = start();
        // Spread the kills over startup, download, render and pacing.
        tokio::time::sleep(Duration::from_millis(150 + (round * 97) % 700)).await;
        child.kill().unwrap();
        child.wait().unwrap();
        kills += 1;
    }
    let mut child = start();
    service.wait_for("every job to finish", all_done).await;
    child.kill().unwrap();
    child.wait().unwrap();
    assert!(
        kills >= 5,
        "only {kills} kills happened before the stream finished"
    );
    {
        let s = service.state.lock().unwrap();
        for id in &jobs {
            let j = &s.jobs[id];
            assert_eq!(j.device_state, Some(9), "job {id}: {:?}", j.message);
            assert_eq!(j.sheets, Some(3), "job {id}");
            let reports: Vec<i32> = s
                .sheet_reports
                .iter()
                .filter(|(job, _)| job == id)
                .map(|(_, n)| *n)
                .collect();
            assert!(
                reports.windows(2).all(|w| w[0] <= w[1]),
                "job {id} printed a sheet again: {reports:?}"
            );
        }
        // A job resumed mid-print reports its recorded sheets again when it restarts pacing.
        let resumed_mid_print = jobs
            .iter()
            .filter(|id| {
                let reports: Vec<i32> = s
                    .sheet_reports
                    .iter()
                    .filter(|(job, _)| job == *id)
                    .map(|(_, n)| *n)
                    .collect();
                reports
                    .windows(2)
                    .any(|w| w[0] == w[1] && w[0] > 0 && w[0] < 3)
            })
            .count();
        eprintln!("{kills} kills; {resumed_mid_print} jobs resumed mid-print");
    }
    let spool = Spool::open(&spool_dir.join("db")).unwrap();
    assert_eq!(spool.verify().unwrap(), Vec::<String>::new());
    for id in &jobs {
        let record = spool.job("Lab", *id).unwrap().unwrap();
        assert_eq!(record.progress.sheets_completed, 3);
    }
}

/// Requests the service received in `[from, to)`.
fn requests_between(s: &ServiceState, from: Instant, to: Instant) -> Vec<String> {
    s.history
        .iter()
        .zip(&s.arrivals)
        .filter(|(_, at)| **at >= from && **at < to)
        .map(|(h, _)| h.clone())
        .collect()
}

fn sheet_reports(s: &ServiceState, id: u32) -> Vec<i32> {
    s.sheet_reports
        .iter()
        .filter(|(job, _)| *job == id)
        .map(|(_, n)| *n)
        .collect()
}

/// During an offline window the device says nothing (no long poll, no report) while its engine
/// keeps its state; afterwards it reconnects, reconciles with Update-Active-Jobs, finishes the
/// job it held and takes the one that arrived meanwhile, each exactly once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_offline_window_silences_the_device_and_it_recovers_without_loss() {
    let before_start = Instant::now();
    let lab = lab_from(&format!(
        "{}warm_up_seconds = 0\n[printer.faults]\noffline = [{{ after_seconds = 2, for_seconds = 2 }}]\n",
        PRINTER.replace("pages_per_minute = 600", "pages_per_minute = 60")
    ))
    .await;
    let after_start = Instant::now();
    let window_start = after_start + Duration::from_secs(2);
    let window_end = before_start + Duration::from_secs(4);
    // 5 sheets at one a second: printing runs across the window.
    lab.service.add_job(1, "application/pdf", pdf(5), None);
    tokio::time::sleep_until((before_start + Duration::from_secs(3)).into()).await;
    let printer = lab.fleet.printer("Lab").unwrap();
    assert!(!printer.snapshot().connected);
    let sheets_when_silenced = lab.service.job(1).sheets;
    lab.service.add_job(2, "application/pdf", pdf(2), None);
    lab.service
        .wait_for("both jobs to finish", |s| {
            job_finished(s, 1) && job_finished(s, 2)
        })
        .await;
    {
        let s = lab.service.state.lock().unwrap();
        let quiet_from = window_start + Duration::from_millis(250);
        assert_eq!(
            requests_between(&s, quiet_from, window_end),
            Vec::<String>::new(),
            "the device talked while offline"
        );
        let after_window =
            requests_between(&s, window_end, Instant::now() + Duration::from_secs(1));
        assert!(
            after_window
                .iter()
                .any(|r| r.starts_with("Update-Active-Jobs")),
            "no reconcile after the window: {after_window:?}"
        );
        for (id, sheets) in [(1, 5), (2, 2)] {
            let job = &s.jobs[&id];
            assert_eq!(job.device_state, Some(9), "job {id}: {:?}", job.message);
            assert_eq!(job.sheets, Some(sheets), "job {id}");
            assert_eq!(job.acks, 1, "job {id}");
            let reports = sheet_reports(&s, id);
            assert!(
                reports.windows(2).all(|w| w[0] <= w[1]),
                "job {id} printed a sheet again: {reports:?}"
            );
        }
        eprintln!("job 1 had {sheets_when_silenced:?} sheets reported when the window began");
    }
    lab.fleet.shutdown().await;
}

/// `extra_latency_ms` delays every exchange: consecutive steps of one job are at least that far
/// apart at the service.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn extra_latency_delays_every_request() {
    let lab = lab("warm_up_seconds = 0\n[printer.faults]\nextra_latency_ms = 300\n").await;
    lab.service.add_job(1, "application/pdf", pdf(1), None);
    lab.service
        .wait_for("job 1 to finish", |s| job_finished(s, 1))
        .await;
    {
        let s = lab.service.state.lock().unwrap();
        let steps = [
            "Fetch-Job 1",
            "Acknowledge-Job 1",
            "Fetch-Document 1",
            "Acknowledge-Document 1",
        ];
        let at: Vec<Instant> = steps
            .iter()
            .map(|step| {
                let i = s.history.iter().position(|h| h == step).unwrap();
                s.arrivals[i]
            })
            .collect();
        for (pair, names) in at.windows(2).zip(steps.windows(2)) {
            assert!(
                pair[1] - pair[0] >= Duration::from_millis(300),
                "{} came {:?} after {}",
                names[1],
                pair[1] - pair[0],
                names[0]
            );
        }
        assert_eq!(s.jobs[&1].device_state, Some(9));
    }
    lab.fleet.shutdown().await;
}

/// An idle device waits on the long poll: a few requests in seconds, not a poll loop.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_idle_device_does_not_poll() {
    let lab = lab("warm_up_seconds = 0\n").await;
    lab.service
        .wait_for("the subscription", |s| {
            s.history.iter().any(|h| h.starts_with("Get-Notifications"))
        })
        .await;
    let from = Instant::now();
    tokio::time::sleep(Duration::from_secs(4)).await;
    let idle = requests_between(&lab.service.state.lock().unwrap(), from, Instant::now());
    // The test service holds each long poll for 5 s.
    assert!(idle.len() <= 2, "requests while idle: {idle:?}");
    lab.fleet.shutdown().await;
}

/// A real `printlab devices` process; its control API URL is read from what it prints.
struct DevicesProcess {
    child: std::process::Child,
    control: String,
}

impl DevicesProcess {
    fn start(config: &std::path::Path, spool: &std::path::Path) -> Self {
        use std::io::BufRead;
        let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_printlab"))
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

    fn kill(mut self) {
        self.child.kill().unwrap();
        self.child.wait().unwrap();
    }
}

/// Killed while jammed, the printer comes back still jammed with the job waiting in
/// `processing-stopped`; cleared through `printlab devices clear`, it prints the rest of the job
/// after the recorded sheets.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_jammed_printer_is_still_jammed_after_a_kill_and_resumes_when_cleared() {
    let service = Service::default();
    let base = serve(
        axum::Router::new()
            .route("/ipp/print/lab", post(handle))
            .with_state(service.clone()),
    )
    .await;
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("printers.toml");
    let text = format!(
        "[fleet]\nconnection = {{ mode = \"infra\", printer_uri = \"{base}/ipp/print/lab\" }}\n{PRINTER}warm_up_seconds = 0\n[printer.faults]\njam_every_sheets = 3\n"
    );
    std::fs::write(&config, text).unwrap();
    let spool_dir = dir.path().join("spool");
    service.add_job(9, "application/pdf", pdf(3), None);
    let first = DevicesProcess::start(&config, &spool_dir);
    service
        .wait_for("the jam", |s| {
            s.printer_reasons.contains(&"media-jam".to_string())
                && s.jobs[&9].device_state == Some(6)
        })
        .await;
    assert_eq!(service.job(9).sheets, Some(2));
    first.kill();
    let restarts_at = {
        let mut s = service.state.lock().unwrap();
        s.printer_reasons.clear();
        s.jobs.get_mut(&9).unwrap().device_state = None;
        s.history.len()
    };
    let second = DevicesProcess::start(&config, &spool_dir);
    service
        .wait_for("the restarted printer to report the jam", |s| {
            s.printer_reasons.contains(&"media-jam".to_string())
                && s.jobs[&9].device_state == Some(6)
        })
        .await;
    // Nothing moves until a person clears the jam.
    tokio::time::sleep(Duration::from_secs(1)).await;
    {
        let s = service.state.lock().unwrap();
        assert_eq!(s.jobs[&9].device_state, Some(6));
        assert_eq!(s.jobs[&9].sheets, Some(2));
        assert!(
            s.history[restarts_at..]
                .iter()
                .any(|h| h.starts_with("Update-Active-Jobs"))
        );
    }
    let cleared = std::process::Command::new(env!("CARGO_BIN_EXE_printlab"))
        .args(["devices", "clear", "Lab", "--control", &second.control])
        .output()
        .unwrap();
    assert!(cleared.status.success(), "{cleared:?}");
    service
        .wait_for("job 9 to finish", |s| job_finished(s, 9))
        .await;
    second.kill();
    let s = service.state.lock().unwrap();
    let job = &s.jobs[&9];
    assert_eq!(job.device_state, Some(9), "{:?}", job.message);
    assert_eq!(job.sheets, Some(3));
    assert_eq!(job.acks, 1);
    assert_eq!(s.printer_reasons, vec!["none".to_string()]);
    let reports = sheet_reports(&s, 9);
    assert!(
        reports.windows(2).all(|w| w[0] <= w[1]),
        "a sheet printed twice: {reports:?}"
    );
}

/// The service goes away (process gone: its connections close) and comes back on the same
/// port: the device backs off, reconnects by itself and takes the next job.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_device_recovers_when_the_service_comes_back_on_the_same_port() {
    let service = Service::default();
    let router = axum::Router::new()
        .route("/ipp/print/lab", post(handle))
        .with_state(service.clone());
    // The service runs on its own runtime, so dropping that runtime closes every connection.
    let start_service = |addr: std::net::SocketAddr| {
        let router = router.clone();
        let rt = tokio::runtime::Runtime::new().unwrap();
        let listener = std::net::TcpListener::bind(addr).expect("the port is free again");
        listener.set_nonblocking(true).unwrap();
        let addr = listener.local_addr().unwrap();
        rt.spawn(async move {
            let listener = tokio::net::TcpListener::from_std(listener).unwrap();
            axum::serve(listener, router).await
        });
        (rt, addr)
    };
    let (first, addr) = start_service("127.0.0.1:0".parse().unwrap());
    let text = format!("{PRINTER}warm_up_seconds = 0\n");
    let fleet = config::parse(&text, "test.toml").unwrap();
    let spool_dir = tempfile::tempdir().unwrap();
    let spool = Spool::open(&spool_dir.path().join("db")).unwrap();
    let uri = format!("http://{addr}/ipp/print/lab");
    let running = start_fleet(
        &fleet.printers,
        |_| {
            Ok(Endpoint {
                printer_uri: uri.clone(),
                credentials: Credentials::None,
            })
        },
        FleetOptions {
            spool,
            out_root: out_root(spool_dir.path()),
            http: reqwest::Client::new(),
            render: true,
        },
    )
    .unwrap();
    let printer = running.printer("Lab").unwrap().clone();
    service.add_job(1, "application/pdf", pdf(1), None);
    service
        .wait_for("job 1 to finish", |s| job_finished(s, 1))
        .await;
    first.shutdown_background();
    tokio::time::timeout(Duration::from_secs(10), printer.wait_for(|s| !s.connected))
        .await
        .expect("the device notices the service is gone");
    tokio::time::sleep(Duration::from_secs(2)).await;
    service.add_job(2, "application/pdf", pdf(1), None);
    let (second, _) = start_service(addr);
    service
        .wait_for("job 2 to finish after the restart", |s| job_finished(s, 2))
        .await;
    assert!(printer.snapshot().connected);
    {
        let s = service.state.lock().unwrap();
        assert_eq!(s.jobs[&2].device_state, Some(9));
        assert_eq!(s.jobs[&1].acks, 1);
    }
    running.shutdown().await;
    second.shutdown_background();
}

/// A jammed printer that drops off the network is still jammed when it comes back: the job it
/// holds shows `processing-stopped` again, not the `processing` of a fresh start.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_jam_outlasts_an_offline_window() {
    let started = Instant::now();
    let lab = lab(
        "warm_up_seconds = 0\n[printer.faults]\njam_every_sheets = 2\noffline = [{ after_seconds = 2, for_seconds = 1 }]\n",
    )
    .await;
    lab.service.add_job(4, "application/pdf", pdf(3), None);
    lab.service
        .wait_for("the jam", |s| s.jobs[&4].device_state == Some(6))
        .await;
    let back = started + Duration::from_secs(3);
    lab.service
        .wait_for("the reconcile after the window", |s| {
            requests_between(s, back, Instant::now() + Duration::from_secs(1))
                .iter()
                .any(|r| r.starts_with("Update-Active-Jobs"))
        })
        .await;
    lab.service
        .wait_for("the held job to be stopped again", |s| {
            let after = requests_between(s, back, Instant::now() + Duration::from_secs(1));
            after.iter().filter(|r| *r == "Update-Job-Status 4").count() >= 2
                && s.jobs[&4].device_state == Some(6)
        })
        .await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(lab.service.job(4).device_state, Some(6));
    assert!(
        lab.service
            .state
            .lock()
            .unwrap()
            .printer_reasons
            .contains(&"media-jam".to_string())
    );
    let printer = lab.fleet.printer("Lab").unwrap();
    while printer.snapshot().job.is_some()
        && printer
            .snapshot()
            .reasons
            .contains(&"media-jam".to_string())
    {
        printer
            .control(printlab::device::runtime::Control::Clear)
            .await;
        lab.service
            .wait_for("the next sheet or jam", |s| {
                job_finished(s, 4) || s.printer_reasons.contains(&"none".to_string())
            })
            .await;
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
    lab.service
        .wait_for("job 4 to finish", |s| job_finished(s, 4))
        .await;
    assert_eq!(lab.service.job(4).sheets, Some(3));
    assert_eq!(lab.service.job(4).device_state, Some(9));
    lab.fleet.shutdown().await;
}

/// With rendering off the device still lays the job out, so it reports the true sheet and side
/// counts (and aborts what it cannot print), but writes no PNGs.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_rendering_off_jobs_print_by_their_layout() {
    let lab = lab_with(
        &PRINTER
            .replace(
                "duplex_modes = [\"oneSided\"]",
                "duplex_modes = [\"oneSided\", \"flipOnLongEdge\"]",
            )
            .replace(
                "pages_per_minute = 600",
                "pages_per_minute = 600\nfull_speed = true",
            ),
        false,
    )
    .await;
    lab.service.add_job_with(
        1,
        "application/pdf",
        pdf(5),
        vec![Attribute::new(
            "sides",
            Value::keyword("two-sided-long-edge"),
        )],
    );
    lab.service
        .add_job(2, "application/pdf", b"%PDF-1.7 broken".to_vec(), None);
    lab.service
        .wait_for("both jobs to finish", |s| {
            job_finished(s, 1) && job_finished(s, 2)
        })
        .await;
    let job = lab.service.job(1);
    assert_eq!(job.device_state, Some(9), "{:?}", job.message);
    assert_eq!((job.sheets, job.impressions), (Some(3), Some(5)));
    assert_eq!(lab.service.job(2).device_state, Some(8));
    assert!(!lab.spool_dir.path().join("out/Lab/1").exists());
    lab.fleet.shutdown().await;
}
