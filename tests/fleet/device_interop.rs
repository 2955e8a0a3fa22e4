//! A device against the cloud's strict reference mode (`CloudOptions::infra_strict_reference`),
//! which refuses what PWG's reference infrastructure printer (ippsample's ippserver) and the
//! printers behind its proxy refuse: the device gets through start-up, prints a job with a media
//! size, and treats a request the service refuses as refused, not as an unreachable service.

use axum::body::Body;
use axum::extract::{Request, State};
use axum::middleware::Next;
use axum::response::Response;
use printlab_device::runtime::out_root;
use printlab_graph::MediaSize;
use printlab_ipp::{Attribute, GroupTag, Limits, Operation, StatusCode, Value};
use printlab_testkit::{TestCloud, TestCloudBuilder};
use printlab_testkit_fleet::{ONE_PRINTER, TestFleet, lab_proxy, pdf, proxied_printer};
use serde_json::{Value as Json, json};
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

fn strict_cloud(dir: &Path) -> TestCloudBuilder {
    TestCloud::builder()
        .data(dir)
        .long_poll(Duration::from_secs(2))
        .strict_reference()
}

/// Waits until Graph shows the capabilities the device advertised.
async fn wait_advertised(cloud: &TestCloud, printer: &str) {
    cloud
        .admin_graph()
        .wait(
            &format!("/print/printers/{printer}?$select=capabilities"),
            "the device to advertise",
            Duration::from_secs(10),
            |view| view["capabilities"]["contentTypes"] == json!(["application/pdf"]),
        )
        .await;
}

/// Graph: an A4 job of `pages` pages on `printer`, once its device has advertised, waited for
/// until it ends; gives the job id and its Graph view.
async fn print_a4(cloud: &TestCloud, printer: &str, pages: usize) -> (String, Json) {
    wait_advertised(cloud, printer).await;
    let admin = cloud.admin_graph();
    let jobs = format!("/print/printers/{printer}/jobs");
    let job = admin
        .submit(
            &jobs,
            "application/pdf",
            pdf(pages),
            json!({"mediaSize": "A4"}),
        )
        .await;
    let done = admin
        .wait(
            &format!("{jobs}/{job}"),
            "the job to end",
            Duration::from_secs(60),
            printlab_testkit::job_ended,
        )
        .await;
    (job, done)
}

/// Pixel width and height of a PNG, from its IHDR.
fn png_size(path: &Path) -> (u32, u32) {
    let bytes = std::fs::read(path).unwrap();
    let be = |at: usize| u32::from_be_bytes(bytes[at..at + 4].try_into().unwrap());
    (be(16), be(20))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_device_starts_and_prints_a_sized_job_against_the_strict_reference_service() {
    let dir = tempfile::tempdir().unwrap();
    let cloud = strict_cloud(&dir.path().join("cloud")).start().await;
    let printer = proxied_printer(&cloud).await;
    let mut fleet = TestFleet::open(&dir.path().join("spool"));
    fleet.start(ONE_PRINTER, true, lab_proxy(&cloud));

    let (job, done) = print_a4(&cloud, &printer, 2).await;
    assert_eq!(done["status"]["state"], "completed", "{done}");
    let a4 = MediaSize::by_graph_name("A4").unwrap();
    let at_72_dpi = |pwg_units: u32| (pwg_units as f64 * 72.0 / 2540.0).round() as u32;
    let folder = out_root(&fleet.dir).join("Lab").join(&job);
    for side in ["0001-sheet0001-front.png", "0002-sheet0002-front.png"] {
        assert_eq!(
            png_size(&folder.join(side)),
            (at_72_dpi(a4.width), at_72_dpi(a4.height)),
            "{side} is not A4 at 72 dpi"
        );
    }
    let handle = &fleet.running().printers[0];
    assert!(handle.snapshot().connected, "{:?}", handle.snapshot());
    fleet.stop().await;
    cloud.stop().await;
}

/// What the refusing path saw: session starts (capability advertisements) and refusals.
#[derive(Clone, Default)]
struct Refusals {
    advertisements: Arc<AtomicUsize>,
    refused: Arc<AtomicUsize>,
}

/// Adds to every Update-Output-Device-Attributes after the advertisement (the state reports)
/// a `media-col-ready` that names a range of sizes by a size name, which PWG 5100.7 forbids and
/// the strict service refuses: those reports are refused by the real service, every time. The
/// advertisement itself goes through, so Graph knows what the printer takes.
async fn spoil_attribute_reports(
    State(seen): State<Refusals>,
    request: Request,
    next: Next,
) -> Response {
    let is_ipp = request
        .headers()
        .get("content-type")
        .is_some_and(|v| v.as_bytes().starts_with(b"application/ipp"));
    if !is_ipp {
        return next.run(request).await;
    }
    let (mut parts, body) = request.into_parts();
    let bytes = axum::body::to_bytes(body, 16 << 20).await.unwrap();
    let Ok((mut message, _)) = printlab_ipp::decode(&bytes, &Limits::default()) else {
        return next
            .run(Request::from_parts(parts, Body::from(bytes)))
            .await;
    };
    if message.operation() != Operation::UPDATE_OUTPUT_DEVICE_ATTRIBUTES {
        return next
            .run(Request::from_parts(parts, Body::from(bytes)))
            .await;
    }
    let printer = message.group_mut(GroupTag::PRINTER);
    if printer
        .attributes
        .iter()
        .any(|a| a.name == "document-format-supported")
    {
        seen.advertisements.fetch_add(1, Ordering::Relaxed);
        return next
            .run(Request::from_parts(parts, Body::from(bytes)))
            .await;
    }
    printer.attributes.push(ranged_media_col_ready());
    let spoiled = message.to_bytes().unwrap();
    parts.headers.remove("content-length");
    let response = next
        .run(Request::from_parts(parts, Body::from(spoiled)))
        .await;
    let (parts, body) = response.into_parts();
    let answer = axum::body::to_bytes(body, 16 << 20).await.unwrap();
    if let Ok((answer_message, _)) = printlab_ipp::decode(&answer, &Limits::default())
        && answer_message.status() == StatusCode::CLIENT_ERROR_ATTRIBUTES_OR_VALUES_NOT_SUPPORTED
    {
        seen.refused.fetch_add(1, Ordering::Relaxed);
    }
    Response::from_parts(parts, Body::from(answer))
}

fn ranged_media_col_ready() -> Attribute {
    let size = Value::Collection(vec![
        Attribute::new(
            "x-dimension",
            Value::RangeOfInteger {
                lower: 7600,
                upper: 21600,
            },
        ),
        Attribute::new("y-dimension", Value::Integer(29700)),
    ]);
    Attribute::new(
        "media-col-ready",
        Value::Collection(vec![
            Attribute::new("media-size", size),
            Attribute::new("media-size-name", Value::keyword("custom_76x297mm")),
        ]),
    )
}

/// The service refuses every state report (a client error): the device logs the refusal,
/// keeps its one session (no restart loop, which would advertise again and again) and prints.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refused_request_is_a_refusal_and_the_session_stays_up() {
    let dir = tempfile::tempdir().unwrap();
    let seen = Refusals::default();
    let layer_state = seen.clone();
    let cloud = strict_cloud(&dir.path().join("cloud"))
        .layer(move |router| {
            router.layer(axum::middleware::from_fn_with_state(
                layer_state.clone(),
                spoil_attribute_reports,
            ))
        })
        .start()
        .await;
    let printer = proxied_printer(&cloud).await;
    let mut fleet = TestFleet::open(&dir.path().join("spool"));
    fleet.start(ONE_PRINTER, true, lab_proxy(&cloud));

    let (_, done) = print_a4(&cloud, &printer, 1).await;
    assert_eq!(done["status"]["state"], "completed", "{done}");
    // Long enough for a restart loop's first backoffs (250 ms, 500 ms, 1 s) to show.
    tokio::time::sleep(Duration::from_secs(2)).await;
    let refused = seen.refused.load(Ordering::Relaxed);
    assert!(
        refused >= 2,
        "the reports of the job starting and ending were refused: {refused}"
    );
    assert_eq!(
        seen.advertisements.load(Ordering::Relaxed),
        1,
        "one session: the capabilities were advertised once"
    );
    let handle = &fleet.running().printers[0];
    assert!(handle.snapshot().connected, "{:?}", handle.snapshot());
    fleet.stop().await;
    cloud.stop().await;
}
