//! Trays, supplies and job constraints (`[[printer.trays]]`, `[[printer.supplies]]`,
//! `[[printer.constraints]]`) through a real cloud and device: a constraint's resolver changes
//! what prints, a constraint without one refuses the job naming it, a tray with a level stops
//! the printer with paper out and Graph shows it, a supply at its low mark shows in Graph while
//! printing goes on, and a restarted device keeps the levels.

use printlab_device::runtime::out_root;
use printlab_testkit::{Graph, TestCloud, job_ended};
use printlab_testkit_fleet::{
    ONE_PRINTER, TestFleet, device_cloud, lab_proxy, pdf, proxied_printer,
};
use serde_json::{Value as Json, json};
use std::time::Duration;

/// The test printer with duplex, two media types, a tray of A4 and a toner.
fn printer(extra: &str) -> String {
    ONE_PRINTER.replace(
        r#"duplex_modes = ["oneSided"]"#,
        "duplex_modes = [\"oneSided\", \"flipOnLongEdge\"]\n\
             media_types = [\"stationery\", \"envelope\", \"transparency\"]\n\
             input_bins = [\"auto\", \"tray-1\"]",
    ) + extra
}

struct Lab {
    /// Holds the cloud's and the spool's folders until the test ends.
    _dir: tempfile::TempDir,
    cloud: TestCloud,
    fleet: TestFleet,
    admin: Graph,
    printer: String,
}

impl Lab {
    async fn start(toml: &str) -> Lab {
        let dir = tempfile::tempdir().unwrap();
        let cloud = device_cloud(&dir.path().join("cloud")).await;
        let fleet = TestFleet::open(&dir.path().join("spool"));
        let admin = cloud.admin_graph();
        let printer = proxied_printer(&cloud).await;
        let mut lab = Lab {
            _dir: dir,
            cloud,
            fleet,
            admin,
            printer,
        };
        lab.devices(toml).await;
        lab
    }

    /// Starts the devices and waits until Graph shows the printer's media types.
    async fn devices(&mut self, toml: &str) {
        self.fleet.start(toml, true, lab_proxy(&self.cloud));
        self.admin
            .wait(
                &format!("/print/printers/{}?$select=capabilities", self.printer),
                "the device to advertise",
                Duration::from_secs(10),
                |view| view["capabilities"]["mediaTypes"].as_array().is_some(),
            )
            .await;
    }

    fn jobs(&self) -> String {
        format!("/print/printers/{}/jobs", self.printer)
    }

    async fn submit(&self, pages: usize, configuration: Json) -> String {
        let jobs = self.jobs();
        let job = self.admin.create_job(&jobs, configuration).await;
        let id = job["id"].as_str().unwrap().to_string();
        self.admin
            .upload(&jobs, &job, "doc.pdf", "application/pdf", pdf(pages))
            .await;
        self.admin.start_job(&jobs, &id).await;
        id
    }

    async fn wait_job(&self, id: &str, what: &str, done: impl Fn(&Json) -> bool) -> Json {
        self.admin
            .wait(
                &format!("{}/{id}", self.jobs()),
                what,
                Duration::from_secs(60),
                done,
            )
            .await
    }

    async fn wait_printer(&self, what: &str, done: impl Fn(&Json) -> bool) -> Json {
        self.admin
            .wait(
                &format!("/print/printers/{}", self.printer),
                what,
                Duration::from_secs(30),
                done,
            )
            .await
    }

    fn sheets(&self, id: &str) -> u64 {
        let record = self.fleet.spool.job("Lab", id.parse().unwrap()).unwrap();
        record.unwrap().progress.sheets_completed
    }

    async fn clear(&self) {
        let handle = self.fleet.running().printer("Lab").unwrap();
        assert!(
            handle
                .control(printlab_device::runtime::Control::Clear)
                .await
        );
    }

    async fn stop(mut self) {
        self.fleet.stop().await;
        self.cloud.stop().await;
    }
}

fn has_detail(printer: &Json, detail: &str) -> bool {
    printer["status"]["details"]
        .as_array()
        .is_some_and(|d| d.iter().any(|x| x == detail))
}

const CONSTRAINTS: &str = r#"
[[printer.constraints]]
resolver = "no-duplex-on-envelopes"
when = { media_type = ["envelope"], duplex_mode = ["flipOnLongEdge"] }
resolve = { duplex_mode = ["oneSided"] }
[[printer.constraints]]
resolver = "no-film"
when = { media_type = ["transparency"] }
"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_constraint_resolves_the_job_or_without_a_resolver_refuses_it_naming_it() {
    let lab = Lab::start(&printer(CONSTRAINTS)).await;

    // Duplex on envelopes: printed one-sided, two pages on two sheets.
    let id = lab
        .submit(
            2,
            json!({ "mediaType": "envelope", "duplexMode": "flipOnLongEdge" }),
        )
        .await;
    let done = lab
        .wait_job(&id, "the resolved job to end", job_ended)
        .await;
    assert_eq!(done["status"]["state"], "completed", "{done}");
    let folder = out_root(&lab.fleet.dir).join("Lab").join(&id);
    let manifest: Json =
        serde_json::from_slice(&std::fs::read(folder.join("manifest.json")).unwrap()).unwrap();
    assert_eq!(manifest["mediaSheets"], 2, "{manifest}");
    assert!(
        manifest["sides"]
            .as_array()
            .unwrap()
            .iter()
            .all(|s| s["back"] == false),
        "{manifest}"
    );
    let record = lab.fleet.spool.job("Lab", id.parse().unwrap()).unwrap();
    let record = record.unwrap();
    assert_eq!(
        record.configuration.duplex_mode,
        Some(printlab_graph::PrintDuplexMode::OneSided)
    );
    let events = lab.fleet.spool.events("Lab", id.parse().unwrap()).unwrap();
    assert!(
        events
            .iter()
            .any(|e| e.detail == "resolved by no-duplex-on-envelopes"),
        "{events:?}"
    );

    // The same duplex job on stationery matches no constraint and prints duplex.
    let id = lab
        .submit(
            2,
            json!({ "mediaType": "stationery", "duplexMode": "flipOnLongEdge" }),
        )
        .await;
    let done = lab.wait_job(&id, "the duplex job to end", job_ended).await;
    assert_eq!(done["status"]["state"], "completed", "{done}");
    assert_eq!(lab.sheets(&id), 1);

    // Film has no resolver: refused, and the description says which constraint.
    let id = lab.submit(1, json!({ "mediaType": "transparency" })).await;
    let done = lab.wait_job(&id, "the refused job to end", job_ended).await;
    assert_eq!(done["status"]["state"], "aborted", "{done}");
    let description = done["status"]["description"].as_str().unwrap_or_default();
    assert!(
        description.contains("media_type transparency") && description.contains("`no-film`"),
        "{done}"
    );
    assert_eq!(lab.sheets(&id), 0);
    lab.stop().await;
}

const TRAY_AND_TONER: &str = r##"
[[printer.trays]]
name = "tray-1"
media_size = "A4"
capacity = 10
level = 3
[[printer.supplies]]
name = "Black Toner"
kind = "toner"
color = "#000000"
level = 12
low = 10
sheets_per_percent = 2
"##;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_tray_runs_out_a_toner_runs_low_in_graph_and_a_restart_keeps_both_levels() {
    let mut lab = Lab::start(&printer(TRAY_AND_TONER)).await;

    // Three sheets in the tray: the printer stops with paper out after the third.
    let id = lab.submit(5, json!({})).await;
    lab.wait_job(&id, "the job to stop", |j| {
        j["status"]["state"] == "stopped"
    })
    .await;
    let shown = lab
        .wait_printer("media empty in Graph", |p| has_detail(p, "mediaEmpty"))
        .await;
    assert_eq!(shown["status"]["state"], "stopped", "{shown}");
    assert_eq!(lab.sheets(&id), 3);
    assert!(!has_detail(&shown, "tonerLow"), "{shown}");

    // Refilled to 10: sheets 4 and 5 print; toner 12 % → 10 % after four sheets: low, and the
    // printer goes on (the job completes, the printer is idle, not stopped).
    lab.clear().await;
    let done = lab.wait_job(&id, "the job to end", job_ended).await;
    assert_eq!(done["status"]["state"], "completed", "{done}");
    assert_eq!(lab.sheets(&id), 5);
    let shown = lab
        .wait_printer("toner low in Graph", |p| {
            has_detail(p, "tonerLow") && p["status"]["state"] == "idle"
        })
        .await;
    assert!(!has_detail(&shown, "mediaEmpty"), "{shown}");

    // Power cycle: the tray holds the 8 sheets left, not a full 10, and the toner stays low.
    lab.fleet.stop().await;
    let kept = lab.fleet.spool.fault_memory("Lab").unwrap().unwrap();
    assert_eq!(kept.levels.trays["tray-1"], 8);
    assert_eq!(kept.levels.supplies["Black Toner"].percent, 10);
    lab.devices(&printer(TRAY_AND_TONER)).await;
    lab.wait_printer("toner still low after the restart", |p| {
        has_detail(p, "tonerLow")
    })
    .await;
    let id = lab.submit(9, json!({})).await;
    lab.wait_job(&id, "the job to stop", |j| {
        j["status"]["state"] == "stopped"
    })
    .await;
    lab.wait_printer("media empty again", |p| has_detail(p, "mediaEmpty"))
        .await;
    assert_eq!(lab.sheets(&id), 8);
    lab.stop().await;
}
