//! Each emulated printer as an IPP Everywhere printer on the fleet's one IPP listener: CUPS'
//! ipptool conformance files (`/usr/share/cups/ipptool`) against every printer of a small
//! fleet, a hostile body answered cleanly, half-sent requests that cannot exhaust the listener, and
//! a job received over IPP that survives a device restart in the spool.

use printlab_device::spool::JobOrigin;
use printlab_graph::PrintJobProcessingState;
use printlab_testkit_fleet::{
    ONE_PRINTER, TestFleet, device_cloud, lab_proxy, pdf, proxied_printer,
};
use std::path::{Path, PathBuf};
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// A colour printer that takes PWG raster and JPEG besides PDF: an IPP Everywhere printer.
const EVERYWHERE_PRINTER: &str = r##"
[[printer]]
name = "Photo Everywhere"
manufacturer = "printlab"
model = "Everywhere Inkjet"
[printer.capabilities]
document_formats = ["application/pdf", "image/jpeg", "image/pwg-raster"]
media = [
  { size = "A4", margins = { top = 3, bottom = 3, left = 3, right = 3 } },
  { size = "North America Letter", margins = { top = 3, bottom = 3, left = 3, right = 3 } },
]
dpis = [72]
color_modes = ["color", "grayscale"]
duplex_modes = ["oneSided"]
finishings = ["none"]
copies = { min = 1, max = 9 }
page_ranges = true
[printer.defaults]
document_format = "application/pdf"
media_size = "A4"
color_mode = "color"
duplex_mode = "oneSided"
dpi = 72
copies = 1
[printer.engine]
pages_per_minute = 600
warm_up_seconds = 0
[[printer.supplies]]
name = "Colour Ink"
kind = "ink"
color = "#0080FF"
level = 90
low = 10
"##;

const SUITE: &str = "/usr/share/cups/ipptool";

/// Runs ipptool with `file` on `test` against `uri`; gives (passed, failed, report).
pub(super) async fn ipptool(uri: &str, test: &str, file: &Path) -> (usize, usize, String) {
    let args = ["-f".to_owned(), file.display().to_string()];
    let (_, report) =
        printlab_testkit::ipp::ipptool(uri, &Path::new(SUITE).join(test), &args).await;
    let count = |word: &str| report.lines().filter(|l| l.contains(word)).count();
    (count("[PASS]"), count("[FAIL]"), report)
}

/// A small colour JPEG.
fn jpeg(dir: &Path) -> PathBuf {
    let path = dir.join("photo.jpg");
    let image = image::RgbImage::from_fn(160, 120, |x, y| image::Rgb([x as u8, y as u8, 128]));
    image.save(&path).unwrap();
    path
}

pub(super) fn pdf_file(dir: &Path) -> PathBuf {
    let path = dir.join("document.pdf");
    std::fs::write(&path, pdf(1)).unwrap();
    path
}

/// A cloud and a fleet of `printers` with the IPP listener on an ephemeral loopback port.
pub(super) async fn fleet(dir: &Path, printers: &str) -> (printlab_testkit::TestCloud, TestFleet) {
    let cloud = device_cloud(&dir.join("cloud")).await;
    proxied_printer(&cloud).await;
    let mut fleet = TestFleet::open(&dir.join("spool")).with_ipp();
    fleet.start(printers, true, lab_proxy(&cloud));
    for printer in &fleet.running().printers {
        printer.wait_for(|s| s.advertised).await;
    }
    (cloud, fleet)
}

pub(super) fn uri_of(fleet: &TestFleet, name: &str) -> String {
    let ipp = fleet.running().ipp.as_ref().expect("the IPP listener runs");
    ipp.printers
        .iter()
        .find(|p| p.name == name)
        .unwrap()
        .uri
        .clone()
}

/// One ipptool run: what it is against, the printer URI, the test file and the document.
struct Run {
    against: String,
    uri: String,
    test: &'static str,
    file: PathBuf,
}

/// The three conformance files against `uri`: ipp-1.1 and ipp-2.0 with the PDF, ipp-everywhere
/// with the PDF and with the JPEG (PWG 5100.14 asks for both) when `everywhere`.
fn conformance_runs(
    against: &str,
    uri: &str,
    pdf: &Path,
    jpeg: &Path,
    everywhere: bool,
) -> Vec<Run> {
    let mut runs = vec![("ipp-1.1.test", pdf), ("ipp-2.0.test", pdf)];
    if everywhere {
        runs.push(("ipp-everywhere.test", pdf));
        runs.push(("ipp-everywhere.test", jpeg));
    }
    runs.into_iter()
        .map(|(test, file)| Run {
            against: against.to_owned(),
            uri: uri.to_owned(),
            test,
            file: file.to_path_buf(),
        })
        .collect()
}

/// Runs each with ipptool, printing the pass and fail counts; gives the reports of the runs
/// with a FAIL or without a PASS.
async fn failed_runs(runs: Vec<Run>) -> Vec<String> {
    let mut failures = Vec::new();
    for run in runs {
        let (passed, failed, report) = ipptool(&run.uri, run.test, &run.file).await;
        let file_name = run.file.file_name().unwrap().to_string_lossy().to_string();
        let what = format!("{} {} -f {file_name}", run.against, run.test);
        println!("{what}: {passed} pass, {failed} fail");
        if failed > 0 || passed == 0 {
            failures.push(format!("{what}:\n{report}"));
        }
    }
    failures
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ipptool_conformance_files_pass_on_every_printer() {
    let dir = tempfile::tempdir().unwrap();
    let printers = format!("{ONE_PRINTER}\n{EVERYWHERE_PRINTER}");
    let (_cloud, mut fleet) = fleet(dir.path(), &printers).await;
    let pdf = pdf_file(dir.path());
    let jpeg = jpeg(dir.path());
    let mut runs = conformance_runs("Lab", &uri_of(&fleet, "Lab"), &pdf, &jpeg, false);
    runs.extend(conformance_runs(
        "Photo Everywhere",
        &uri_of(&fleet, "Photo Everywhere"),
        &pdf,
        &jpeg,
        true,
    ));
    let failures = failed_runs(runs).await;
    fleet.stop().await;
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}

/// The cloud's printer URI (`/ipp/print/lab`, PWG 5100.18's Infrastructure Printer) passes
/// the same files with an IPP Everywhere device behind it: a client holding the lab user's IPP
/// credential prints, the device fetches each job over INFRA and prints it, and the printer's
/// description is the device's with what the cloud adds.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ipptool_conformance_files_pass_against_the_cloud_printer() {
    let dir = tempfile::tempdir().unwrap();
    let (cloud, mut fleet) = fleet(dir.path(), EVERYWHERE_PRINTER).await;
    let issued = cloud
        .cloud
        .infra()
        .issue_user_credential("ada")
        .await
        .unwrap();
    let uri = format!(
        "ipp://{}:{}@{}/ipp/print/lab",
        issued.username,
        issued.password,
        cloud.addr()
    );
    let pdf = pdf_file(dir.path());
    let jpeg = jpeg(dir.path());
    let failures = failed_runs(conformance_runs("cloud", &uri, &pdf, &jpeg, true)).await;
    // The jobs really print: the device fetched them over INFRA and finished them.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    let printed = loop {
        let jobs = fleet.spool.printer_jobs("Photo Everywhere").unwrap();
        let printed = jobs
            .iter()
            .filter(|r| r.origin == JobOrigin::Service)
            .filter(|r| r.state == PrintJobProcessingState::Completed && !r.outputs.is_empty())
            .count();
        if printed > 0 || tokio::time::Instant::now() > deadline {
            break printed;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    fleet.stop().await;
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
    assert!(printed > 0, "the device printed none of the cloud's jobs");
}

/// A body that is not IPP gets an IPP error (never a panic, never a dropped connection), and
/// the listener goes on serving.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_garbled_body_gets_a_clean_error() {
    let dir = tempfile::tempdir().unwrap();
    let (_cloud, mut fleet) = fleet(dir.path(), ONE_PRINTER).await;
    let url = uri_of(&fleet, "Lab").replacen("ipp://", "http://", 1);
    let http = reqwest::Client::new();
    let bodies: [&[u8]; 4] = [
        b"",
        b"\x02\x00\x00\x0b\x00\x00\x00\x01\x01\x47\xff\xff",
        b"\x02\x00\x00\x02\x00\x00\x00\x07\x01\x47\x00\x12attributes-charset\x00\x05utf-8\x04\x03",
        &[0xAB; 4096],
    ];
    for body in bodies {
        let response = http
            .post(&url)
            .header("content-type", "application/ipp")
            .body(body.to_vec())
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200);
        let bytes = response.bytes().await.unwrap();
        let (message, _) = printlab_ipp::decode(&bytes, &Default::default()).unwrap();
        assert!(
            message.code >= 0x0400,
            "status 0x{:04x} for {body:?}",
            message.code
        );
    }
    // Still serving.
    let (passed, failed, report) = ipptool(
        &uri_of(&fleet, "Lab"),
        "get-printer-attributes.test",
        &pdf_file(dir.path()),
    )
    .await;
    assert!(passed > 0 && failed == 0, "{report}");
    fleet.stop().await;
}

/// The listener is open to the network: connections that never finish a request are bounded
/// (the oldest closed beyond the budget of unauthenticated connections), so they cannot take
/// the process's file descriptors, and the printers go on answering.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn half_sent_requests_cannot_take_the_listener() {
    // Both ends of every connection live in this process.
    raise_descriptor_limit(4096);
    let dir = tempfile::tempdir().unwrap();
    let (_cloud, mut fleet) = fleet(dir.path(), ONE_PRINTER).await;
    let uri = uri_of(&fleet, "Lab");
    let address = uri.trim_start_matches("ipp://").split('/').next().unwrap();
    let budget = printlab_serve::ServeLimits::default().unauthenticated_connections;
    let mut held = Vec::new();
    for _ in 0..budget + 8 {
        let mut stream = tokio::net::TcpStream::connect(address).await.unwrap();
        stream
            .write_all(b"POST /ipp/print/lab HTTP/1.1\r\nHost: x\r\n")
            .await
            .unwrap();
        held.push(stream);
    }
    for (n, stream) in held.iter_mut().take(8).enumerate() {
        let mut byte = [0u8; 1];
        let read = tokio::time::timeout(Duration::from_secs(10), stream.read(&mut byte)).await;
        assert!(
            matches!(read, Ok(Ok(0)) | Ok(Err(_))),
            "connection {n} of {} is still open: {read:?}",
            budget + 8
        );
    }
    let (passed, failed, report) =
        ipptool(&uri, "get-printer-attributes.test", &pdf_file(dir.path())).await;
    assert!(passed > 0 && failed == 0, "{report}");
    drop(held);
    fleet.stop().await;
}

/// Raises this process's soft limit on open files to `wanted` (or the hard limit, if lower).
fn raise_descriptor_limit(wanted: u64) {
    let mut limit = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit and setrlimit only read and write the struct given.
    unsafe {
        assert_eq!(libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit), 0);
        limit.rlim_cur = limit.rlim_cur.max(wanted.min(limit.rlim_max));
        assert_eq!(libc::setrlimit(libc::RLIMIT_NOFILE, &limit), 0);
    }
}

/// A job received over IPP is in the spool before Print-Job is answered; the printer's next
/// life prints it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_local_job_survives_a_device_restart() {
    let dir = tempfile::tempdir().unwrap();
    let cloud = device_cloud(&dir.path().join("cloud")).await;
    let printer = proxied_printer(&cloud).await;
    let mut fleet = TestFleet::open(&dir.path().join("spool")).with_ipp();
    // One page a minute: the job is still on the engine when the devices stop.
    let slow = ONE_PRINTER.replace("pages_per_minute = 600", "pages_per_minute = 1");
    fleet.start(&slow, true, lab_proxy(&cloud));
    let uri = uri_of(&fleet, "Lab");
    let (passed, failed, report) = ipptool(&uri, "print-job.test", &pdf_file(dir.path())).await;
    assert!(passed > 0 && failed == 0, "{report}");
    let jobs = fleet.spool.printer_jobs("Lab").unwrap();
    let job = jobs
        .iter()
        .find(|r| r.origin == JobOrigin::LocalIpp)
        .expect("the job is in the spool")
        .job_id;
    fleet.stop().await;
    let record = fleet.spool.job("Lab", job).unwrap().unwrap();
    assert!(!record.state.is_terminal(), "{record:?}");
    fleet.start(ONE_PRINTER, true, lab_proxy(&cloud));
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    loop {
        let record = fleet.spool.job("Lab", job).unwrap().unwrap();
        if record.state == PrintJobProcessingState::Completed {
            assert!(!record.outputs.is_empty(), "{record:?}");
            // Listed for the dashboard as the printer's own job, and never sent to the service.
            let view = printlab_device::runtime::job_view(&fleet.spool, record);
            assert_eq!(view.origin, JobOrigin::LocalIpp);
            let (status, jobs) = cloud
                .admin_graph()
                .get(&format!("/print/printers/{printer}/jobs"))
                .await;
            assert!(status.is_success(), "{jobs}");
            assert_eq!(jobs["value"], serde_json::json!([]), "{jobs}");
            break;
        }
        assert!(tokio::time::Instant::now() < deadline, "{record:?}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    fleet.stop().await;
}

/// A fleet of [`ONE_PRINTER`] with the IPP listener, against a cloud whose Graph printer shows
/// the device's capabilities already; gives the Graph printer's id too.
pub(super) async fn graph_and_ipp_lab(
    dir: &Path,
) -> (printlab_testkit::TestCloud, TestFleet, String) {
    let cloud = device_cloud(&dir.join("cloud")).await;
    let printer = proxied_printer(&cloud).await;
    let mut fleet = TestFleet::open(&dir.join("spool")).with_ipp();
    fleet.start(ONE_PRINTER, true, lab_proxy(&cloud));
    cloud
        .admin_graph()
        .wait(
            &format!("/print/printers/{printer}?$select=capabilities"),
            "the device to advertise",
            Duration::from_secs(10),
            |view| view["capabilities"]["contentTypes"] == serde_json::json!(["application/pdf"]),
        )
        .await;
    (cloud, fleet, printer)
}

/// Prints `document` through Graph with one copy; gives the job id.
pub(super) async fn print_through_graph(
    cloud: &printlab_testkit::TestCloud,
    printer: &str,
    document: Vec<u8>,
) -> u32 {
    let job = cloud
        .admin_graph()
        .submit(
            &format!("/print/printers/{printer}/jobs"),
            "application/pdf",
            document,
            serde_json::json!({"copies": 1}),
        )
        .await;
    job.parse().unwrap()
}

/// Waits for the local IPP job and the Graph job `graph_job` to complete; asserts that their
/// `sides` PNG sides are byte for byte the same.
async fn assert_same_output(fleet: &TestFleet, graph_job: u32, sides: usize) {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    let (local, graph) = loop {
        let jobs = fleet.spool.printer_jobs("Lab").unwrap();
        let completed = |origin: JobOrigin| {
            jobs.iter()
                .filter(|r| r.state == PrintJobProcessingState::Completed)
                .find(|r| {
                    r.origin == origin && (origin == JobOrigin::LocalIpp || r.job_id == graph_job)
                })
                .cloned()
        };
        if let (Some(local), Some(graph)) = (
            completed(JobOrigin::LocalIpp),
            completed(JobOrigin::Service),
        ) {
            break (local, graph);
        }
        assert!(tokio::time::Instant::now() < deadline, "{jobs:#?}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert_eq!(local.outputs.len(), sides, "{local:?}");
    assert_eq!(local.outputs.len(), graph.outputs.len(), "{graph:?}");
    for (a, b) in local.outputs.iter().zip(&graph.outputs) {
        assert_eq!(a.sha256, b.sha256);
        assert_eq!(
            std::fs::read(&a.path).unwrap(),
            std::fs::read(&b.path).unwrap()
        );
    }
}

/// The same document printed through the printer's IPP Everywhere endpoint (CUPS' ipptool)
/// and through Graph comes out as the same PNG bytes: one engine, one output path.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_ipp_job_prints_the_same_pngs_as_a_graph_job() {
    let dir = tempfile::tempdir().unwrap();
    let (cloud, mut fleet, printer) = graph_and_ipp_lab(dir.path()).await;
    let document = pdf(2);
    let file = dir.path().join("two-pages.pdf");
    std::fs::write(&file, &document).unwrap();
    // print-job.test asks for one copy, as the Graph job does.
    let (passed, failed, report) = ipptool(&uri_of(&fleet, "Lab"), "print-job.test", &file).await;
    assert!(passed > 0 && failed == 0, "{report}");
    let graph_job = print_through_graph(&cloud, &printer, document).await;
    assert_same_output(&fleet, graph_job, 2).await;
    fleet.stop().await;
}

/// A second, independent IPP client (the `ipp` crate from crates.io, which encodes the request
/// and reads the answer; reqwest carries it) prints to the printer, and the sides come out as
/// for the same job through Graph.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_ipp_crate_prints_to_an_emulated_printer() {
    use ipp::operation::IppOperation as _;
    use ipp::prelude::*;
    let dir = tempfile::tempdir().unwrap();
    let (cloud, mut fleet, printer) = graph_and_ipp_lab(dir.path()).await;
    let document = pdf(1);
    let uri: Uri = uri_of(&fleet, "Lab").parse().unwrap();
    let request = IppOperationBuilder::print_job(
        uri,
        IppPayload::new(std::io::Cursor::new(document.clone())),
    )
    .user_name("ada")
    .job_title("from the ipp crate")
    .document_format("application/pdf")
    .build()
    .into_ipp_request();
    let mut body = Vec::new();
    std::io::Read::read_to_end(&mut request.into_read(), &mut body).unwrap();
    let url = uri_of(&fleet, "Lab").replacen("ipp://", "http://", 1);
    let answer = reqwest::Client::new()
        .post(&url)
        .header("content-type", "application/ipp")
        .body(body)
        .send()
        .await
        .unwrap()
        .bytes()
        .await
        .unwrap();
    let response =
        ipp::parser::IppParser::new(ipp::reader::IppReader::new(std::io::Cursor::new(answer)))
            .parse()
            .unwrap();
    assert!(
        response.header().status_code().is_success(),
        "{:?}",
        response.header().status_code()
    );
    let job = response
        .attributes()
        .groups_of(DelimiterTag::JobAttributes)
        .next()
        .and_then(|group| group.attributes().get("job-id"))
        .map(|attribute| attribute.value().clone());
    assert!(
        matches!(job, Some(IppValue::Integer(id)) if id > 0),
        "{job:?}"
    );

    let graph_job = print_through_graph(&cloud, &printer, document).await;
    assert_same_output(&fleet, graph_job, 1).await;
    let local = fleet.spool.printer_jobs("Lab").unwrap();
    let local = local
        .iter()
        .find(|r| r.origin == JobOrigin::LocalIpp)
        .unwrap();
    assert_eq!(local.user.as_deref(), Some("ada"));
    assert_eq!(local.name.as_deref(), Some("from the ipp crate"));
    fleet.stop().await;
}
