//! The lab's dashboard in real headless browsers, Chromium and Firefox
//! (`printlab_testkit::browser`), each against `printlab up` in a child process: the page is public and its data is not (401 without a token, 403 with the user's);
//! the fleet renders; a job printed through Graph appears live with its thumbnails; a jam raised
//! by clicking the front panel's button stops a job mid-print, which Graph then shows
//! `stopped`; clearing it from the page completes the job with every sheet exactly once; an
//! Identify-Printer sent to the cloud's printer URI shows on the printer's card; the front
//! panel's other buttons load paper, set a supply's level and print a sample page. Each card
//! shows the printer as Graph shows it beside the device's view (the jam becomes Graph's
//! `stopped`/`mediaJam`), and a job created through Graph shows in the list at once, with its
//! upload's progress while the upload is held part way.
//! Screenshots of each step go to `target/tmp/dashboard-screenshots/<browser>/`.

use super::cli_e2e::{MONO, Up, job_id_of, print_args, up_with};
use printlab_testkit::browser::{Browser, Engine};
use serde_json::Value;
use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// The e2e tests' mono printer (full speed) and a slow one, 20 pages a minute (3 s a sheet) with
/// a toner supply, so a 5-page job is mid-print long enough to jam it from the page.
fn fleet() -> String {
    let slow = printlab_testkit_fleet::ONE_PRINTER
        .replace(r#"name = "Lab""#, r#"name = "Slow Test""#)
        .replace("pages_per_minute = 600\n", "pages_per_minute = 20\n")
        .replace(
            "copies = { min = 1, max = 9 }\n",
            "copies = { min = 1, max = 9 }\ninput_bins = [\"tray-1\"]\n",
        )
        .replace(
            r#"media = [{ size = "A4","#,
            r#"media = [{ size = "A5", margins = { top = 4, bottom = 4, left = 4, right = 4 } }, { size = "A4","#,
        );
    format!(
        "{MONO}{slow}\n[[printer.supplies]]\nname = \"Black Toner\"\nkind = \"toner\"\n\
         color = \"#000000\"\nlevel = 80\nlow = 10\n\n[[printer.trays]]\nname = \"tray-1\"\n\
         media_size = \"A4\"\ncapacity = 500\nlevel = 400\n"
    )
}

/// The HTTP status of `GET path` on the lab, with `token` as the bearer token if given.
fn status(lab_url: &str, path: &str, token: Option<&str>) -> u16 {
    let host = lab_url.strip_prefix("http://").unwrap();
    let mut stream = TcpStream::connect(host).unwrap();
    let authorization = token.map_or(String::new(), |t| format!("Authorization: Bearer {t}\r\n"));
    write!(
        stream,
        "GET {path} HTTP/1.1\r\nHost: {host}\r\n{authorization}Connection: close\r\n\r\n"
    )
    .unwrap();
    let mut head = [0u8; 12];
    stream.read_exact(&mut head).unwrap();
    String::from_utf8_lossy(&head[9..12]).parse().unwrap()
}

/// The Graph job's state, as `printlab job ID --json` shows it.
fn graph_state(up: &Up, job: &str) -> String {
    let shown: Value = serde_json::from_str(&up.ok(&["job", job, "--json"])).unwrap();
    shown["state"].as_str().unwrap().to_string()
}

#[track_caller]
fn wait_for_graph_state(up: &Up, job: &str, state: &str) {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let now = graph_state(up, job);
        if now == state {
            return;
        }
        assert!(Instant::now() < deadline, "job {job} is {now}, not {state}");
        std::thread::sleep(Duration::from_millis(200));
    }
}

/// The sides the page shows for the open job once every thumbnail has loaded, in page order.
fn loaded_thumbnails(browser: &mut Browser, count: usize) -> Vec<String> {
    let value = browser.wait_for(
        &format!("{count} loaded thumbnails"),
        &format!(
            "(() => {{ const imgs = [...document.querySelectorAll('#output-sides img')]; \
             return imgs.length === {count} && imgs.every(i => i.complete && i.naturalWidth > 0) \
             ? imgs.map(i => i.dataset.file) : null; }})()"
        ),
        Duration::from_secs(30),
    );
    serde_json::from_value(value).unwrap()
}

/// The manifest of `job` of `printer` in the lab's output folder.
fn manifest(lab: &Path, printer: &str, job: &str) -> Value {
    let path = lab
        .join("spool/devices/out")
        .join(printer)
        .join(job)
        .join("manifest.json");
    serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap()
}

fn manifest_sides(manifest: &Value) -> Vec<String> {
    (manifest["sides"].as_array().unwrap().iter())
        .map(|s| s["file"].as_str().unwrap().to_string())
        .collect()
}

fn screenshots(engine: Engine) -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR"))
        .join("dashboard-screenshots")
        .join(engine.name());
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// ipptool's identify-printer-display.test ("Hello, World!") against `printer`'s
/// `cloudIppUri` with the lab's IPP credential (`lab.json`).
fn identify_through_the_cloud(lab: &Path, printer: &str) {
    let discovery: Value =
        serde_json::from_slice(&std::fs::read(lab.join("spool/lab.json")).unwrap()).unwrap();
    let user = &discovery["ippUser"];
    let entry = (discovery["printers"].as_array().unwrap().iter())
        .find(|p| p["name"] == printer)
        .unwrap();
    let uri = entry["cloudIppUri"].as_str().unwrap().replacen(
        "ipp://",
        &format!(
            "ipp://{}:{}@",
            user["username"].as_str().unwrap(),
            user["password"].as_str().unwrap()
        ),
        1,
    );
    let identified = std::process::Command::new("ipptool")
        .args(["-T", "20", "-t", &uri])
        .arg("/usr/share/cups/ipptool/identify-printer-display.test")
        .output()
        .unwrap();
    assert!(
        identified.status.success(),
        "{}{}",
        String::from_utf8_lossy(&identified.stdout),
        String::from_utf8_lossy(&identified.stderr)
    );
}

#[test]
fn in_chromium_the_dashboard_follows_the_lab_live_and_its_front_panel_jams_and_clears_a_job() {
    the_dashboard_follows_the_lab_live_and_its_front_panel_jams_and_clears_a_job(Engine::Chromium);
}

#[test]
fn in_firefox_the_dashboard_follows_the_lab_live_and_its_front_panel_jams_and_clears_a_job() {
    the_dashboard_follows_the_lab_live_and_its_front_panel_jams_and_clears_a_job(Engine::Firefox);
}

fn the_dashboard_follows_the_lab_live_and_its_front_panel_jams_and_clears_a_job(engine: Engine) {
    let dir = tempfile::tempdir().unwrap();
    let lab = dir.path();
    let up = up_with(lab, &fleet(), "127.0.0.1:0", &[]);
    let admin = std::fs::read_to_string(lab.join("spool/control.token")).unwrap();
    let admin = admin.trim();
    let shots = screenshots(engine);
    eprintln!("dashboard screenshots: {}", shots.display());

    // The page is public; the stream it reads is the control API's, which wants the admin
    // token: none is 401, the user's token 403.
    assert_eq!(status(&up.url, "/", None), 200);
    assert_eq!(status(&up.url, "/dashboard/dashboard.js", None), 200);
    assert_eq!(status(&up.url, "/control/events", None), 401);
    assert_eq!(status(&up.url, "/control/events", Some(&up.token)), 403);
    assert_eq!(status(&up.url, "/dashboard/events", None), 401);
    assert_eq!(status(&up.url, "/dashboard/events", Some(&up.token)), 403);

    let mut browser = Browser::launch(engine, 1280, 1500);
    browser.navigate(&format!("{}/#token={admin}", up.url));
    // Cards, and the front panel's list, go by name whichever printer was heard from first.
    let names = browser.wait_for(
        "every printer of the lab",
        "(() => { const n = [...document.querySelectorAll('#printers [data-printer]')]\
         .map(e => e.dataset.printer); return n.length === 2 ? n.join('|') : null; })()",
        Duration::from_secs(30),
    );
    assert_eq!(names, "Mono Test|Slow Test");
    assert_eq!(
        browser.eval(
            "[...document.getElementById('panel-printer').options].map(o => o.value).join('|')"
        ),
        "Mono Test|Slow Test"
    );
    browser.wait_for(
        "the stream to be live",
        "document.getElementById('connection').classList.contains('live')",
        Duration::from_secs(30),
    );
    // The token left the address bar; the supply shows as a meter.
    assert_eq!(browser.eval("location.hash"), "");
    assert_eq!(
        browser.eval("document.querySelector('[data-printer=\"Slow Test\"] meter')?.value"),
        80
    );
    // Each card shows Graph's view beside the device's.
    browser.wait_for(
        "Graph's view on every card",
        "[...document.querySelectorAll('#printers [data-printer]')]\
         .every(c => c.dataset.graphState === 'idle' && c.querySelector('.graph-accepting')?.textContent === 'yes')",
        Duration::from_secs(30),
    );
    browser.screenshot(&shots.join("1-fleet.png"));

    // Identify-Printer sent by ipptool to the cloud's printer URI reaches the device, whose card
    // shows it as a status line.
    identify_through_the_cloud(lab, "Mono Test");
    let shown = browser.wait_for(
        "the Identify-Printer on the printer's card",
        "document.querySelector('[data-printer=\"Mono Test\"] .identify[role=\"status\"]')\
         ?.textContent || null",
        Duration::from_secs(30),
    );
    let shown = shown.as_str().unwrap();
    assert!(
        shown.contains("Identify: display") && shown.contains("Hello, World!"),
        "{shown}"
    );
    browser.screenshot(&shots.join("1-identify.png"));

    // A job printed through Graph after the page loaded appears, and opens to its sides.
    let page = lab.join("three.pdf");
    up.ok(&["testpage", "-o", page.to_str().unwrap(), "--pages", "3"]);
    let printed = up.ok(&print_args(
        &page,
        "Mono Test",
        &["--duplex", "long", "--wait"],
    ));
    let mono_job = job_id_of(&printed);
    let row = format!("[data-job=\"Mono Test/{mono_job}\"]");
    browser.wait_for(
        "the printed job, completed",
        &format!("document.querySelector('{row}')?.dataset.state === 'completed'"),
        Duration::from_secs(30),
    );
    browser.click(&format!("{row} button[data-show-output]"));
    let mono = manifest(lab, "Mono Test", &mono_job);
    let expected = manifest_sides(&mono);
    assert!(expected.len() >= 3, "3 pages duplex: {expected:?}");
    assert_eq!(loaded_thumbnails(&mut browser, expected.len()), expected);
    browser.screenshot(&shots.join("2-job-output.png"));

    upload_held_part_way(&mut browser, &up, lab, &shots);

    // A slow job, jammed mid-print by clicking the front panel's button.
    let five = lab.join("five.pdf");
    up.ok(&["testpage", "-o", five.to_str().unwrap(), "--pages", "5"]);
    let slow_job = job_id_of(&up.ok(&print_args(&five, "Slow Test", &[])));
    let row = format!("[data-job=\"Slow Test/{slow_job}\"]");
    browser.wait_for(
        "the slow job's first sheet",
        &format!("Number(document.querySelector('{row}')?.dataset.sheets) >= 1"),
        Duration::from_secs(30),
    );
    browser.click("[data-printer=\"Slow Test\"] button");
    assert_eq!(
        browser.eval("document.getElementById('panel-printer').value"),
        "Slow Test"
    );
    browser.click("#panel-faults button[data-fault=\"jam\"][data-action=\"raise\"]");
    wait_for_graph_state(&up, &slow_job, "stopped");
    browser.wait_for(
        "the page to show the jam",
        &format!(
            "document.querySelector('{row}')?.dataset.state === 'stopped' && \
             document.querySelector('[data-printer=\"Slow Test\"]').dataset.state === 'stopped' && \
             document.querySelector('[data-printer=\"Slow Test\"] .reasons')?.textContent.includes('media jam')"
        ),
        Duration::from_secs(30),
    );
    let sheets_when_jammed: u64 = browser
        .eval(&format!(
            "Number(document.querySelector('{row}').dataset.sheets)"
        ))
        .as_u64()
        .unwrap();
    assert!(
        sheets_when_jammed < 5,
        "the jam came after the job: {sheets_when_jammed}"
    );
    // Graph's view beside it: the printer and the job stopped, the jam in Graph's words.
    browser.wait_for(
        "Graph's view of the jam",
        &format!(
            "document.querySelector('[data-printer=\"Slow Test\"]').dataset.graphState === 'stopped' && \
             document.querySelector('[data-printer=\"Slow Test\"] .graph-details')?.textContent.includes('mediaJam') && \
             document.querySelector('{row}').dataset.graphState === 'stopped' && \
             document.querySelector('{row} .graph-job-state')?.textContent === 'Graph: stopped'"
        ),
        Duration::from_secs(30),
    );
    browser.screenshot(&shots.join("3-jammed.png"));

    // Cleared from the page: the job completes, every sheet out exactly once.
    browser.click("#panel-faults button[data-fault=\"jam\"][data-action=\"clear\"]");
    wait_for_graph_state(&up, &slow_job, "completed");
    browser.wait_for(
        "the slow job, completed",
        &format!("document.querySelector('{row}')?.dataset.state === 'completed'"),
        Duration::from_secs(30),
    );
    let slow = manifest(lab, "Slow Test", &slow_job);
    assert_eq!(slow["mediaSheets"], 5);
    let counts = browser.eval(&format!(
        "(() => {{ const r = document.querySelector('{row}').dataset; \
         return [Number(r.sheets), Number(r.sheetEntries)]; }})()"
    ));
    assert_eq!(
        counts,
        serde_json::json!([5, 5]),
        "sheets out, and sheets logged"
    );
    browser.click(&format!("{row} button[data-show-output]"));
    let expected = manifest_sides(&slow);
    assert_eq!(loaded_thumbnails(&mut browser, expected.len()), expected);
    let transitions = browser.eval(&format!(
        "document.querySelector('{row} .transitions').textContent"
    ));
    let transitions = transitions.as_str().unwrap();
    assert!(
        transitions.contains("stopped") && transitions.contains("resumed"),
        "{transitions}"
    );
    browser.screenshot(&shots.join("4-cleared.png"));

    // A capability-matrix run in the lab's folder shows on the page with its counts.
    let matrix = up.run(&["matrix", "--printer", "Mono Test", "--strategy", "single"]);
    assert!(
        matrix.status.success(),
        "{}\n{}",
        String::from_utf8_lossy(&matrix.stdout),
        String::from_utf8_lossy(&matrix.stderr)
    );
    let run = std::fs::read_dir(lab.join("spool/matrix"))
        .unwrap()
        .next()
        .unwrap()
        .unwrap()
        .path();
    let report: Value =
        serde_json::from_str(&std::fs::read_to_string(run.join("report.json")).unwrap()).unwrap();
    browser.click("#matrix-refresh");
    let cells = browser.wait_for(
        "the matrix run",
        "(() => { const row = document.querySelector('#matrix-rows tr'); \
         return row ? [...row.cells].slice(1, 6).map(c => Number(c.textContent)) : null; })()",
        Duration::from_secs(30),
    );
    let summary = &report["summary"];
    assert_eq!(
        cells,
        serde_json::json!([
            summary["cases"],
            summary["passed"],
            summary["refusedAsExpected"],
            summary["failed"],
            summary["notRun"]
        ])
    );
    assert_eq!(
        browser.eval("document.getElementById('matrix-table').hidden"),
        false
    );
    browser.eval("document.getElementById('matrix').scrollIntoView()");
    browser.screenshot(&shots.join("5-matrix.png"));

    // The front panel's other buttons. Other paper in a tray: the tray is full of it.
    let tray_row = "#panel-trays tr[data-tray=\"tray-1\"]";
    browser.click("[data-printer=\"Slow Test\"] button");
    browser.eval(&format!(
        "document.querySelector('{tray_row} select').value = 'A5'"
    ));
    browser.click(&format!("{tray_row} button[data-action=\"load\"]"));
    browser.wait_for(
        "tray-1 full of A5",
        &format!(
            "document.querySelector('{tray_row} .loaded')?.textContent === 'A5, 500 of 500 sheets' && \
             document.querySelector('[data-printer=\"Slow Test\"] li[title=\"tray-1: A5\"]') !== null"
        ),
        Duration::from_secs(30),
    );
    // A supply set low warns, in Graph too; at 0 the printer stops; refilled it is idle again.
    let supply_row = "#panel-supplies tr[data-supply=\"Black Toner\"]";
    let set_level = |browser: &mut Browser, level: u8| {
        browser.eval(&format!(
            "document.querySelector('{supply_row} input').value = '{level}'"
        ));
        browser.click(&format!("{supply_row} button[data-action=\"set-level\"]"));
    };
    let slow_card = "[data-printer=\"Slow Test\"]";
    set_level(&mut browser, 5);
    browser.wait_for(
        "toner low on the card",
        &format!(
            "document.querySelector('{slow_card} .reasons')?.textContent.includes('toner low') && \
             document.querySelector('{slow_card}').dataset.state === 'idle'"
        ),
        Duration::from_secs(30),
    );
    wait_for_graph_detail(&up, "Slow Test", "tonerLow");
    set_level(&mut browser, 0);
    browser.wait_for(
        "toner empty stops the printer",
        &format!(
            "document.querySelector('{slow_card} .reasons')?.textContent.includes('toner empty') && \
             document.querySelector('{slow_card}').dataset.state === 'stopped'"
        ),
        Duration::from_secs(30),
    );
    wait_for_graph_detail(&up, "Slow Test", "tonerEmpty");
    browser.screenshot(&shots.join("6-front-panel.png"));
    set_level(&mut browser, 80);
    browser.wait_for(
        "a full toner, idle again",
        &format!(
            "document.querySelector('{slow_card}').dataset.state === 'idle' && \
             !document.querySelector('{slow_card} .reasons')"
        ),
        Duration::from_secs(30),
    );
    // The sample page: one of the printer's own jobs, printed and shown like any other.
    browser.click("[data-printer=\"Mono Test\"] button");
    browser.click("#panel-sample");
    let queued = browser.wait_for(
        "the sample page, queued",
        "(() => { const m = document.getElementById('panel-result').textContent\
         .match(/^Sample page queued as job #(\\d+)$/); return m ? m[1] : null; })()",
        Duration::from_secs(30),
    );
    let sample_row = format!("[data-job=\"Mono Test/{}\"]", queued.as_str().unwrap());
    browser.wait_for(
        "the sample page, printed",
        &format!("document.querySelector('{sample_row}')?.dataset.state === 'completed'"),
        Duration::from_secs(30),
    );
    browser.click(&format!("{sample_row} button[data-show-output]"));
    assert_eq!(loaded_thumbnails(&mut browser, 1).len(), 1);
    browser.eval("document.getElementById('panel').scrollIntoView()");
    browser.screenshot(&shots.join("7-sample-page.png"));
}

/// Waits until Graph lists `detail` among the printer's status details.
#[track_caller]
fn wait_for_graph_detail(up: &Up, printer: &str, detail: &str) {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let listed: Value = serde_json::from_str(&up.ok(&["printers", "--json"])).unwrap();
        let shown = (listed.as_array().unwrap().iter())
            .find(|p| p["name"] == printer)
            .cloned()
            .unwrap();
        if (shown["details"].as_array().unwrap().iter()).any(|d| d == detail) {
            return;
        }
        assert!(Instant::now() < deadline, "no {detail}: {shown}");
        std::thread::sleep(Duration::from_millis(200));
    }
}

/// A JPEG of noise, a few megabytes: an upload worth watching.
fn large_jpeg() -> Vec<u8> {
    let mut seed: u32 = 0x2545_f491;
    let image = image::RgbImage::from_fn(1240, 1754, |_, _| {
        seed ^= seed << 13;
        seed ^= seed >> 17;
        seed ^= seed << 5;
        let [r, g, b, _] = seed.to_le_bytes();
        image::Rgb([r, g, b])
    });
    let mut jpeg = Vec::new();
    image::codecs::jpeg::JpegEncoder::new_with_quality(&mut jpeg, 95)
        .encode_image(&image)
        .unwrap();
    jpeg
}

/// A job created through Graph shows on the page at once; its upload, held after the first
/// range, shows as a progress bar at that count; once the rest is sent and the job started it
/// prints as any other.
fn upload_held_part_way(browser: &mut Browser, up: &Up, lab: &Path, shots: &Path) {
    let discovery: Value =
        serde_json::from_slice(&std::fs::read(lab.join("spool/lab.json")).unwrap()).unwrap();
    let share = (discovery["printers"].as_array().unwrap().iter())
        .find(|p| p["name"] == "Mono Test")
        .unwrap()["shareId"]
        .as_str()
        .unwrap()
        .to_string();
    let jobs = format!("/print/shares/{share}/jobs");
    let graph = printlab_testkit::Graph::new(&format!("{}/v1.0", up.url), &up.token);
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let jpeg = large_jpeg();
    let total = jpeg.len();
    assert!(total > 2_000_000, "{total} bytes");
    let job = runtime.block_on(graph.create_job(&jobs, serde_json::json!({})));
    let id = job["id"].as_str().unwrap().to_string();
    let row = format!("[data-job=\"Mono Test/{id}\"]");
    browser.wait_for(
        "the job Graph created, before any upload",
        &format!(
            "document.querySelector('{row}')?.dataset.state === 'paused' && \
             document.querySelector('{row} .upload')?.textContent.includes('waiting')"
        ),
        Duration::from_secs(30),
    );
    let document = job["documents"][0]["id"].as_str().unwrap();
    let (status, session) = runtime.block_on(graph.post(
        &format!("{jobs}/{id}/documents/{document}/createUploadSession"),
        Some(serde_json::json!({"properties": {
            "documentName": "noise.jpg", "contentType": "image/jpeg", "size": total,
        }})),
    ));
    assert_eq!(status.as_u16(), 200, "{session}");
    let url = session["uploadUrl"].as_str().unwrap().to_string();
    let put = |first: usize, last: usize| {
        runtime.block_on(async {
            reqwest::Client::new()
                .put(&url)
                .header("Content-Range", format!("bytes {first}-{last}/{total}"))
                .body(jpeg[first..=last].to_vec())
                .send()
                .await
                .unwrap()
                .status()
                .as_u16()
        })
    };
    let held = total / 3;
    assert_eq!(put(0, held - 1), 202);
    let shown = browser.wait_for(
        "the upload's progress, held at a third",
        &format!(
            "(() => {{ const p = document.querySelector('{row} progress'); \
             return p && Number(p.value) === {held} && Number(p.max) === {total} \
             ? p.getAttribute('aria-label') : null; }})()"
        ),
        Duration::from_secs(30),
    );
    let shown = shown.as_str().unwrap();
    assert!(
        shown.starts_with("Upload of noise.jpg: ") && shown.contains(" of "),
        "{shown}"
    );
    browser.eval(&format!(
        "document.querySelector('{row}').scrollIntoView({{block: 'center'}})"
    ));
    browser.screenshot(&shots.join("2-upload-held.png"));

    assert_eq!(put(held, total - 1), 201);
    runtime.block_on(graph.start_job(&jobs, &id));
    browser.wait_for(
        "the uploaded job, printed",
        &format!(
            "document.querySelector('{row}')?.dataset.state === 'completed' && \
             !document.querySelector('{row} progress') && \
             Number(document.querySelector('{row}').dataset.sheets) === 1"
        ),
        Duration::from_secs(60),
    );
    browser.eval("window.scrollTo(0, 0)");
}
