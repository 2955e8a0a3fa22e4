//! A printer's output limits (`[printer.limits]`) through a real cloud and device: a job that
//! needs more sheets than its printer allows prints whole sheets up to the limit, stops there
//! with nothing more written, and ends `aborted` in Graph with a description naming the limit;
//! the printer goes on with the next job. A sheet too large for the renderer to hold whole (the
//! shipped Photo Studio's A4 at its default 1440 dpi) prints in bands, at its full size.

use printlab_device::config;
use printlab_device::runtime::out_root;
use printlab_testkit_fleet::{
    ONE_PRINTER, TestFleet, device_cloud, lab_proxy, pdf, proxied_printer,
};
use serde_json::{Value as Json, json};
use std::time::Duration;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_job_past_the_printers_sheet_limit_stops_there_and_ends_aborted_saying_so() {
    let dir = tempfile::tempdir().unwrap();
    let cloud = device_cloud(&dir.path().join("cloud")).await;
    let mut fleet = TestFleet::open(&dir.path().join("spool"));
    let admin = cloud.admin_graph();
    let printer = proxied_printer(&cloud).await;
    let limited = format!("{ONE_PRINTER}[printer.limits]\nmax_sheets = 3\n");
    fleet.start(&limited, true, lab_proxy(&cloud));
    admin
        .wait(
            &format!("/print/printers/{printer}?$select=capabilities"),
            "the device to advertise",
            Duration::from_secs(10),
            |view| view["capabilities"]["contentTypes"] == json!(["application/pdf"]),
        )
        .await;

    let jobs = format!("/print/printers/{printer}/jobs");
    let print = |pages: usize| {
        let (admin, jobs) = (&admin, &jobs);
        async move {
            let job = admin.create_job(jobs, json!({})).await;
            let id = job["id"].as_str().unwrap().to_string();
            admin
                .upload(jobs, &job, "many.pdf", "application/pdf", pdf(pages))
                .await;
            admin.start_job(jobs, &id).await;
            let done: Json = admin
                .wait(
                    &format!("{jobs}/{id}"),
                    "the job to end",
                    Duration::from_secs(60),
                    printlab_testkit::job_ended,
                )
                .await;
            (id, done)
        }
    };

    let (id, done) = print(200).await;
    assert_eq!(done["status"]["state"], "aborted", "{done}");
    let description = done["status"]["description"].as_str().unwrap_or_default();
    assert!(
        description.contains("limit of 3 sheet(s) per job (limits.max_sheets)")
            && description.contains("stopped after 3 sheet(s)"),
        "{done}"
    );
    let record = fleet
        .spool
        .job("Lab", id.parse().unwrap())
        .unwrap()
        .unwrap();
    assert_eq!(record.progress.sheets_completed, 3);
    // The output holds the three sheets and a manifest that says why it ends there.
    let folder = out_root(&fleet.dir).join("Lab").join(&id);
    let mut files: Vec<String> = std::fs::read_dir(&folder)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    files.sort();
    assert_eq!(
        files,
        [
            "0001-sheet0001-front.png",
            "0002-sheet0002-front.png",
            "0003-sheet0003-front.png",
            "manifest.json"
        ]
    );
    let manifest: Json =
        serde_json::from_slice(&std::fs::read(folder.join("manifest.json")).unwrap()).unwrap();
    assert_eq!(manifest["mediaSheets"], 3, "{manifest}");
    assert_eq!(manifest["sides"].as_array().unwrap().len(), 3);
    assert_eq!(
        manifest["stoppedAtLimit"],
        json!({"limit": "sheets", "maximum": 3, "sheetsPrinted": 3})
    );

    // A job within the limit prints as ever.
    let (_, done) = print(3).await;
    assert_eq!(done["status"]["state"], "completed", "{done}");
    fleet.stop().await;
    cloud.stop().await;
}

/// Issue 14: Graph accepted A4 at 1440 dpi on the shipped Photo Studio, then the device aborted
/// it (200 M pixels, past the whole-side bound); drawn in bands, it completes at its size.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_photo_printers_a4_at_1440_dpi_prints_whole_in_bands() {
    let dir = tempfile::tempdir().unwrap();
    let cloud = device_cloud(&dir.path().join("cloud")).await;
    let mut fleet = TestFleet::open(&dir.path().join("spool"));
    let admin = cloud.admin_graph();
    let printer = proxied_printer(&cloud).await;
    let shipped = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("printers.toml");
    let mut photo = config::load(&shipped)
        .unwrap()
        .printers
        .into_iter()
        .find(|p| p.name == "Photo Studio")
        .expect("the shipped Photo Studio");
    photo.name = "Lab".into();
    photo.engine.full_speed = true;
    fleet.start_printers(&[photo], true, lab_proxy(&cloud));
    admin
        .wait(
            &format!("/print/printers/{printer}?$select=capabilities,defaults"),
            "the device to advertise",
            Duration::from_secs(10),
            |view| view["defaults"]["dpi"] == 1440,
        )
        .await;

    let jobs = format!("/print/printers/{printer}/jobs");
    let id = admin
        .submit(&jobs, "application/pdf", pdf(1), json!({"mediaSize": "A4"}))
        .await;
    let done: Json = admin
        .wait(
            &format!("{jobs}/{id}"),
            "the job to end",
            Duration::from_secs(300),
            printlab_testkit::job_ended,
        )
        .await;
    assert_eq!(done["status"]["state"], "completed", "{done}");
    let folder = out_root(&fleet.dir).join("Lab").join(&id);
    let manifest: Json =
        serde_json::from_slice(&std::fs::read(folder.join("manifest.json")).unwrap()).unwrap();
    let side = &manifest["sides"][0];
    // A4 (210 x 297 mm) at 1440 dpi.
    assert_eq!(
        (&side["width"], &side["height"]),
        (&json!(11906), &json!(16838)),
        "{manifest}"
    );
    let written = image::ImageReader::open(folder.join(side["file"].as_str().unwrap()))
        .unwrap()
        .into_dimensions()
        .unwrap();
    assert_eq!(written, (11906, 16838));
    fleet.stop().await;
    cloud.stop().await;
}
