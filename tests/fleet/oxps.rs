//! An OpenXPS job to a printer that only takes PDF, end to end: the cloud converts it, a real
//! device (INFRA proxy) fetches the PDF and prints it, and what it put on paper is exactly what
//! `printlab_render::render_job` gives offline for the converter's PDF with the same ticket, so
//! `printlab render` of the OXPS file predicts the printer.

use printlab_device::config;
use printlab_device::runtime::{out_root, render_profile};
use printlab_render::JobRequest;
use printlab_testkit::xps::oxps_package;
use printlab_testkit_fleet::{ONE_PRINTER, TestFleet, device_cloud, lab_proxy, proxied_printer};
use serde_json::{Value as Json, json};
use std::time::Duration;
use tokio_util::sync::CancellationToken;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_oxps_job_prints_on_a_pdf_only_printer_as_its_converted_pdf_renders_offline() {
    let dir = tempfile::tempdir().unwrap();
    let cloud = device_cloud(&dir.path().join("cloud")).await;
    let mut fleet = TestFleet::open(&dir.path().join("spool"));
    let admin = cloud.admin_graph();
    let printer = proxied_printer(&cloud).await;
    fleet.start(ONE_PRINTER, true, lab_proxy(&cloud));
    admin
        .wait(
            &format!("/print/printers/{printer}?$select=capabilities"),
            "the device to advertise PDF only",
            Duration::from_secs(10),
            |view| view["capabilities"]["contentTypes"] == json!(["application/pdf"]),
        )
        .await;

    let oxps = oxps_package(3);
    let jobs = format!("/print/printers/{printer}/jobs");
    let job = admin.create_job(&jobs, json!({"mediaSize": "A4"})).await;
    admin
        .upload(&jobs, &job, "three.oxps", "application/oxps", oxps.clone())
        .await;
    let id = job["id"].as_str().unwrap().to_string();
    admin.start_job(&jobs, &id).await;
    let done: Json = admin
        .wait(
            &format!("{jobs}/{id}"),
            "the OXPS job to complete",
            Duration::from_secs(60),
            printlab_testkit::job_ended,
        )
        .await;
    assert_eq!(done["status"]["state"], "completed", "{done}");

    let record = fleet
        .spool
        .job("Lab", id.parse().unwrap())
        .unwrap()
        .unwrap();
    let document = record.document.as_ref().unwrap();
    assert_eq!(
        document.format, "application/pdf",
        "the device was handed a PDF"
    );
    assert_eq!(record.progress.sheets_completed, 3);
    let manifest: Json = serde_json::from_slice(
        &std::fs::read(
            out_root(&fleet.dir)
                .join("Lab")
                .join(&id)
                .join("manifest.json"),
        )
        .unwrap(),
    )
    .unwrap();
    let printed: Vec<&str> = manifest["sides"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["sha256"].as_str().unwrap())
        .collect();

    // Offline: the converter's PDF of the same package, the device's profile, the same ticket.
    let pdf = printlab_convert::xps_to_pdf(&oxps, &printlab_convert::Limits::default()).unwrap();
    let printer_config = &config::parse(ONE_PRINTER, "test.toml").unwrap().printers[0];
    let profile = render_profile(printer_config, &record.configuration);
    let ticket = printlab_mapping::ticket_from_graph(&record.configuration).unwrap();
    let offline_dir = dir.path().join("offline");
    let offline = printlab_render::render_job(&JobRequest {
        document: &pdf.bytes,
        content_type: printlab_render::PDF,
        ticket: &ticket,
        profile: &profile,
        out_dir: &offline_dir,
        cancel: &CancellationToken::new(),
        on_sheet: &|_| {},
    })
    .unwrap();
    let expected: Vec<&str> = offline.sides.iter().map(|s| s.sha256.as_str()).collect();
    assert_eq!(expected.len(), 3, "one side per FixedPage");
    assert_eq!(
        printed, expected,
        "each printed side equals the offline rendering of the converted PDF"
    );
    fleet.stop().await;
    cloud.stop().await;
}
