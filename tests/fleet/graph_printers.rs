//! `printers.toml` as Graph shows it. Every shipped printer and every model of `models/`
//! registers and advertises through the real cloud, and Graph's printer and its share carry
//! exactly what the file declares: name, manufacturer, model, location, and every capability
//! and default, member by member. Each model then prints one job at its defaults, and an
//! administrator's location outlives the device reconnecting.

use printlab_device::config::{self, PrinterConfig};
use printlab_device::registration::KeyKind;
use printlab_device::runtime::out_root;
use printlab_graph::{MediaSize, PrinterLocation};
use printlab_testkit::{Graph, TestCloud};
use printlab_testkit_fleet::{ONE_PRINTER, TestFleet, device_cloud, pdf, universal_print};
use serde_json::{Value as Json, json};
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

const SELECT: &str = "$select=id,displayName,manufacturer,model,location,capabilities,defaults";

fn repo() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn model_files() -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(repo().join("models"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "toml"))
        .collect();
    files.sort();
    files
}

/// The printers of `files`, paced at full speed: these tests are about what is printed, not
/// how long a plotter takes.
fn printers_of(files: &[PathBuf]) -> Vec<PrinterConfig> {
    let mut printers: Vec<PrinterConfig> = files
        .iter()
        .flat_map(|f| config::load(f).unwrap().printers)
        .collect();
    for p in &mut printers {
        p.engine.full_speed = true;
    }
    printers
}

/// Starts `printers` (Universal Print, registering with the administrator's token) and waits
/// until each registered and advertised; gives each one's Graph printer id, in order.
async fn advertised(
    cloud: &TestCloud,
    fleet: &mut TestFleet,
    printers: &[PrinterConfig],
    render: bool,
) -> Vec<String> {
    fleet.start_printers(
        printers,
        render,
        universal_print(&cloud.url, Some(cloud.admin()), KeyKind::Rsa2048),
    );
    let admin = cloud.admin_graph();
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let listed = admin.get_ok("/print/printers").await;
        let listed = listed["value"].as_array().unwrap();
        let ids: Vec<String> = printers
            .iter()
            .filter_map(|p| {
                listed
                    .iter()
                    .find(|l| l["displayName"] == p.name.as_str())
                    .and_then(|l| l["id"].as_str())
                    .map(str::to_owned)
            })
            .collect();
        let mut all_advertised = ids.len() == printers.len();
        for id in &ids {
            let shown = admin
                .get_ok(&format!("/print/printers/{id}?{SELECT}"))
                .await;
            if shown["capabilities"]["contentTypes"]
                .as_array()
                .is_none_or(|t| t.is_empty())
            {
                all_advertised = false;
                break;
            }
        }
        if all_advertised {
            return ids;
        }
        assert!(
            Instant::now() < deadline,
            "not every printer registered and advertised: {listed:?}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// `GET path` as a client that takes every enum member (`punchDualLeft` is past
/// `unknownFutureValue`; other clients see that instead, as Graph does).
async fn view_of(graph: &Graph, path: &str) -> Json {
    let response = graph
        .http
        .get(graph.url(path))
        .bearer_auth(&graph.token)
        .header("Prefer", "include-unknown-enum-members")
        .send()
        .await
        .unwrap();
    assert!(
        response.status().is_success(),
        "GET {path}: {}",
        response.status()
    );
    response.json().await.unwrap()
}

/// `shown` (a Graph complex value) has exactly the members `declared` has, each equal.
fn assert_members(printer: &str, what: &str, shown: &Json, declared: &Json) {
    let declared = declared.as_object().unwrap();
    let shown_members = shown
        .as_object()
        .unwrap_or_else(|| panic!("{printer}: Graph shows {what} = {shown}"));
    for (member, value) in declared {
        assert_eq!(
            &shown[member], value,
            "{printer}: Graph's {what}.{member} is not what the file declares"
        );
    }
    let extra: Vec<&String> = shown_members
        .keys()
        .filter(|m| !declared.contains_key(*m))
        .collect();
    assert!(
        extra.is_empty(),
        "{printer}: Graph's {what} has members the file cannot declare: {extra:?}"
    );
}

/// What Graph must show for `p`: the file's identity, location, capabilities and defaults.
fn assert_shows(view: &str, shown: &Json, p: &PrinterConfig) {
    let name = &p.name;
    for (member, declared) in [("manufacturer", &p.manufacturer), ("model", &p.model)] {
        assert_eq!(shown[member], json!(declared), "{name}: {view} {member}");
    }
    let location = (p.location != PrinterLocation::default()).then(|| json!(p.location));
    assert_eq!(
        shown["location"],
        json!(location),
        "{name}: {view} location"
    );
    assert_members(
        name,
        &format!("{view} capabilities"),
        &shown["capabilities"],
        &json!(p.capabilities),
    );
    assert_members(
        name,
        &format!("{view} defaults"),
        &shown["defaults"],
        &json!(p.defaults),
    );
}

/// A member counts as declared when it is neither null nor an empty list.
fn declared_members(value: &Json) -> BTreeSet<String> {
    value
        .as_object()
        .unwrap()
        .iter()
        .filter(|(_, v)| !v.is_null() && v.as_array().is_none_or(|a| !a.is_empty()))
        .map(|(k, _)| k.clone())
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_shipped_printer_and_model_reaches_graph_as_declared() {
    let mut files = vec![repo().join("printers.toml")];
    files.extend(model_files());
    let printers = printers_of(&files);
    assert_eq!(printers.len(), 10, "five shipped printers and five models");

    // Between them the files declare every member Graph has, so none goes untested.
    let all = |of: fn(&PrinterConfig) -> Json| {
        let members: BTreeSet<String> = printers
            .iter()
            .flat_map(|p| declared_members(&of(p)))
            .collect();
        let graph: BTreeSet<String> = of(&printers[0])
            .as_object()
            .unwrap()
            .keys()
            .cloned()
            .collect();
        (members, graph)
    };
    let (declared, graph) = all(|p| json!(p.capabilities));
    assert_eq!(declared, graph, "capabilities no file declares");
    let (declared, graph) = all(|p| json!(p.defaults));
    assert_eq!(declared, graph, "defaults no file declares");

    let dir = tempfile::tempdir().unwrap();
    let cloud = device_cloud(&dir.path().join("cloud")).await;
    let mut fleet = TestFleet::open(&dir.path().join("spool"));
    let ids = advertised(&cloud, &mut fleet, &printers, false).await;
    let admin = cloud.admin_graph();
    for (p, id) in printers.iter().zip(&ids) {
        let shown = view_of(&admin, &format!("/print/printers/{id}?{SELECT}")).await;
        assert_eq!(shown["displayName"], p.name.as_str());
        assert_shows("printer", &shown, p);

        let share = admin.share(id, &p.name).await;
        let shown = view_of(&admin, &format!("/print/shares/{share}?{SELECT}")).await;
        assert_shows("share", &shown, p);
    }
    fleet.stop().await;
    cloud.stop().await;
}

/// Pixel width and height of a PNG, from its IHDR.
fn png_size(path: &Path) -> (u32, u32) {
    let bytes = std::fs::read(path).unwrap();
    let be = |at: usize| u32::from_be_bytes(bytes[at..at + 4].try_into().unwrap());
    (be(16), be(20))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_model_prints_a_job_at_its_defaults() {
    let printers = printers_of(&model_files());
    let dir = tempfile::tempdir().unwrap();
    let cloud = device_cloud(&dir.path().join("cloud")).await;
    let mut fleet = TestFleet::open(&dir.path().join("spool"));
    let ids = advertised(&cloud, &mut fleet, &printers, true).await;
    let admin = cloud.admin_graph();
    let mut jobs = Vec::new();
    for (p, id) in printers.iter().zip(&ids) {
        let share = admin.share(id, &p.name).await;
        // Everything at the printer's defaults but the resolution: the lowest keeps an A1
        // plotter's side at 17 megapixels and the suite fast.
        let dpi = *p.capabilities.dpis.as_ref().unwrap().iter().min().unwrap();
        let path = format!("/print/shares/{share}/jobs");
        let job = admin
            .submit(&path, "application/pdf", pdf(1), json!({"dpi": dpi}))
            .await;
        jobs.push((share, job, dpi));
    }
    for (p, (share, job, dpi)) in printers.iter().zip(jobs) {
        let path = format!("/print/shares/{share}/jobs/{job}");
        let done = admin
            .wait(
                &path,
                &format!("{}'s job", p.name),
                Duration::from_secs(120),
                printlab_testkit::job_ended,
            )
            .await;
        assert_eq!(done["status"]["state"], "completed", "{}: {done}", p.name);
        let media = MediaSize::by_graph_name(p.defaults.media_size.as_deref().unwrap()).unwrap();
        let expected = |pwg_units: u32| (pwg_units as f64 * dpi as f64 / 2540.0).round() as u32;
        let folder = out_root(&fleet.dir).join(&p.name).join(&job);
        let front = folder.join("0001-sheet0001-front.png");
        let (w, h) = png_size(&front);
        assert_eq!(
            (w, h),
            (expected(media.width), expected(media.height)),
            "{}: the side is not {} at {dpi} dpi",
            p.name,
            media.graph_name
        );
    }
    fleet.stop().await;
    cloud.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_administrators_location_outlives_the_device_reconnecting() {
    let toml = format!(
        "[fleet]\nconnection = {{ mode = \"universal-print\" }}\n{}",
        ONE_PRINTER.replace(
            "model = \"Emulated Laser\"",
            "model = \"Emulated Laser\"\nlocation = { building = \"HQ\", floor = \"2\", room = \"2.14\", city = \"Leeds\" }",
        )
    );
    let printers = config::parse(&toml, "test.toml").unwrap().printers;
    let dir = tempfile::tempdir().unwrap();
    let cloud = device_cloud(&dir.path().join("cloud")).await;
    let mut fleet = TestFleet::open(&dir.path().join("spool"));
    let id = advertised(&cloud, &mut fleet, &printers, false)
        .await
        .remove(0);
    let admin = cloud.admin_graph();
    let path = format!("/print/printers/{id}?{SELECT}");
    let shown = admin.get_ok(&path).await;
    assert_eq!(shown["location"]["building"], "HQ");
    assert_eq!(shown["location"]["roomName"], "2.14");

    let moved = json!({"building": "Annex", "floor": "B1", "roomName": "Store", "city": "York"});
    let (status, body) = admin
        .patch(&format!("/print/printers/{id}"), json!({"location": moved}))
        .await;
    assert!(status.is_success(), "{status}: {body}");
    fleet.stop().await;

    // Reconnected (with only its spool's identity), the device advertises again and prints.
    fleet.start_printers(
        &printers,
        false,
        universal_print(&cloud.url, None, KeyKind::Rsa2048),
    );
    let share = admin.share(&id, "Lab").await;
    let jobs = format!("/print/shares/{share}/jobs");
    let job = admin
        .submit(&jobs, "application/pdf", pdf(1), json!({}))
        .await;
    admin
        .wait(
            &format!("{jobs}/{job}"),
            "the job",
            Duration::from_secs(30),
            |j| j["status"]["state"] == "completed",
        )
        .await;
    let shown = admin.get_ok(&path).await;
    for (member, value) in moved.as_object().unwrap() {
        assert_eq!(&shown["location"][member], value, "location.{member}");
    }
    fleet.stop().await;
    cloud.stop().await;
}
