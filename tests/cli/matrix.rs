//! `printlab matrix` against `printlab up`: a hand-written plan on two printers, one case of it
//! given a deliberately wrong expectation, printed through Graph and verified from the output;
//! the report in its three forms (report.json, junit.xml, report.html opened in headless
//! Chromium); a combination the printer is configured to refuse, planned as a refusal, passing; a
//! jam met on the way cleared through the control API and noted as a fault; a case
//! that cannot be verified (its job outlasts the timeout) failing the run; and Ctrl-C writing a
//! partial report.
//!
//! The plan is written here by hand, as a `single`-style plan would hold it (each case a few
//! chosen options, the rest at the printer's default), so the run path is tested apart from the
//! planner.

use super::cli_e2e::{MONO, fleet, up_with};
use serde_json::{Value, json};
use std::path::Path;
use std::process::{Command, Output};
use std::time::{Duration, Instant};

/// Two fast printers: the mono test printer and its twin under another name, which jams on
/// every third sheet and refuses Letter at 300 dpi (a constraint without a resolution).
fn two_printers() -> String {
    let (_, printer) = MONO.split_once("[[printer]]").unwrap();
    let twin = printer
        .replace(r#"name = "Mono Test""#, r#"name = "Twin Test""#)
        .replace(r#"model = "Mono 1""#, r#"model = "Twin 1""#)
        .replace(
            "[printer.faults]\n",
            "[printer.faults]\njam_every_sheets = 3\n",
        );
    assert!(twin.contains("jam_every_sheets"), "{twin}");
    format!(
        "{MONO}[[printer]]{twin}\n[[printer.constraints]]\nresolver = \"no-letter-at-300\"\n\
         when = {{ media_size = [\"North America Letter\"], dpi = [\"300\"] }}\n"
    )
}

/// The share id `printlab up` recorded in `spool/lab.json` for the printer `name`.
fn share_of(lab_dir: &Path, name: &str) -> String {
    let lab: Value =
        serde_json::from_slice(&std::fs::read(lab_dir.join("spool/lab.json")).unwrap()).unwrap();
    lab["printers"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["name"] == name)
        .unwrap_or_else(|| panic!("no {name} in {lab}"))["shareId"]
        .as_str()
        .unwrap()
        .to_string()
}

/// One case of a plan: `pages` of PDF on `printer` with the settings `configuration`.
fn case(
    lab_dir: &Path,
    printer: &str,
    n: u32,
    pages: u32,
    configuration: Value,
    expect: Value,
) -> Value {
    json!({
        "id": format!("{printer}#{n}"),
        "printer": printer,
        "shareId": share_of(lab_dir, printer),
        "contentType": "application/pdf",
        "documentPages": pages,
        "configuration": configuration,
        "expect": expect,
    })
}

fn show(out: &Output) -> String {
    format!(
        "{}\nstdout:\n{}\nstderr:\n{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

fn read_json(path: &Path) -> Value {
    serde_json::from_slice(
        &std::fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display())),
    )
    .unwrap()
}

/// `chromium --headless --no-sandbox ARGS file://HTML` with a profile of its own in `profile`.
fn chromium(profile: &Path, args: &[&str], html: &Path) -> Output {
    let out = Command::new("chromium")
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-dev-shm-usage",
            "--no-first-run",
        ])
        .arg(format!("--user-data-dir={}", profile.display()))
        .args(args)
        .arg(format!("file://{}", html.display()))
        .output()
        .expect("chromium (Debian's `chromium`, which tests/run.sh installs) runs");
    assert!(out.status.success(), "chromium {args:?}: {}", show(&out));
    out
}

#[test]
fn matrix_runs_a_plan_on_two_printers_and_reports_the_wrong_expectation() {
    let dir = tempfile::tempdir().unwrap();
    let up = up_with(dir.path(), &two_printers(), "127.0.0.1:0", &[]);
    let lab = dir.path();
    let prints = json!({"outcome": "prints"});
    let plan = json!({"cases": [
        case(lab, "Mono Test", 1, 1, json!({"mediaSize": "A4", "dpi": 150}), prints.clone()),
        case(lab, "Mono Test", 2, 3, json!({
            "mediaSize": "North America Letter", "dpi": 300,
            "duplexMode": "flipOnLongEdge", "pagesPerSheet": 2,
        }), prints.clone()),
        // Three sheets: the third jams, and the run clears it through the control API.
        case(lab, "Twin Test", 1, 3, json!({}), prints.clone()),
        // Deliberately wrong: the twin prints two copies happily.
        case(lab, "Twin Test", 2, 2, json!({"copies": 2, "collate": true}),
            json!({"outcome": "refused", "reason": "planted: the plan is wrong, not the printer"})),
        // Refused by the twin's constraint, as planned: not a failure.
        case(lab, "Twin Test", 3, 1, json!({"mediaSize": "North America Letter", "dpi": 300}),
            json!({"outcome": "refused", "reason": "constraint no-letter-at-300"})),
    ]});
    let plan_file = lab.join("plan.json");
    std::fs::write(&plan_file, plan.to_string()).unwrap();
    let plan_arg = plan_file.to_str().unwrap();

    // --dry-run prints the plan and its size, prints nothing; --save-plan writes it replayable.
    let saved = lab.join("saved.json");
    let dry = up
        .here()
        .args(["matrix", "--plan", plan_arg, "--dry-run", "--save-plan"])
        .arg(&saved)
        .output()
        .unwrap();
    assert_eq!(dry.status.code(), Some(0), "{}", show(&dry));
    assert!(
        String::from_utf8_lossy(&dry.stdout).contains("5 cases on 2 printers"),
        "{}",
        show(&dry)
    );
    let cases = |v: &Value| {
        serde_json::from_value::<Vec<printlab_matrix::Case>>(v["cases"].clone()).unwrap()
    };
    assert_eq!(cases(&read_json(&saved)), cases(&plan));
    assert!(
        !lab.join("spool/matrix").exists(),
        "a dry run wrote a report"
    );

    // The mono printer's cases alone all pass: exit 0, the report in spool/matrix/<timestamp>/.
    let mono = up
        .here()
        .args(["matrix", "--plan", plan_arg, "--printer", "Mono Test"])
        .output()
        .unwrap();
    assert_eq!(mono.status.code(), Some(0), "{}", show(&mono));
    assert!(
        String::from_utf8_lossy(&mono.stdout).contains("2 cases: 2 passed"),
        "{}",
        show(&mono)
    );
    let runs: Vec<_> = std::fs::read_dir(lab.join("spool/matrix"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    assert_eq!(runs.len(), 1, "{runs:?}");
    let default_report = read_json(&runs[0].join("report.json"));
    assert_eq!(default_report["summary"]["passed"], 2, "{default_report}");

    // The whole plan: both printers, one case failing on its wrong expectation: exit 6.
    let report_dir = lab.join("report");
    let all = up
        .here()
        .args(["matrix", "--plan", plan_arg, "--report"])
        .arg(&report_dir)
        .output()
        .unwrap();
    assert_eq!(all.status.code(), Some(6), "{}", show(&all));
    assert!(
        String::from_utf8_lossy(&all.stdout).contains("FAILED Twin Test#2"),
        "{}",
        show(&all)
    );

    // report.json: every case, the passes verified from output PNGs that exist.
    let report = read_json(&report_dir.join("report.json"));
    let summary = &report["summary"];
    assert_eq!(
        (
            &summary["cases"],
            &summary["passed"],
            &summary["refusedAsExpected"],
            &summary["failed"],
            &summary["stateOnly"]
        ),
        (&json!(5), &json!(3), &json!(1), &json!(1), &json!(0)),
        "{summary}"
    );
    let (refused, printed): (Vec<&Value>, Vec<&Value>) = report["cases"]
        .as_array()
        .unwrap()
        .iter()
        .partition(|c| c["case"]["id"] == "Twin Test#3");
    assert_eq!(refused[0]["verdict"], "refusedAsExpected", "{report}");
    assert!(
        refused[0]["outputs"].as_array().unwrap().is_empty(),
        "{report}"
    );
    for result in printed {
        let outputs = result["outputs"].as_array().unwrap();
        assert!(!outputs.is_empty(), "{result}");
        assert!(
            outputs
                .iter()
                .all(|p| Path::new(p.as_str().unwrap()).is_file()),
            "{result}"
        );
        assert_eq!(result["stateOnly"], false, "{result}");
        let failed = result["case"]["id"] == "Twin Test#2";
        assert_eq!(
            result["verdict"],
            if failed { "failed" } else { "passed" },
            "{result}"
        );
        if failed {
            assert_eq!(result["findings"][0]["check"], "jobState", "{result}");
            assert_eq!(result["findings"][0]["observed"], "completed", "{result}");
        }
    }
    // 3 pages 2-up on long-edge duplex: one sheet, two sides.
    assert_eq!(
        report["cases"][1]["outputs"].as_array().unwrap().len(),
        2,
        "{report}"
    );
    // The twin's jam is a fault met on the way, cleared, not a failure.
    let jammed = &report["cases"][2];
    assert_eq!(jammed["outputs"].as_array().unwrap().len(), 3, "{jammed}");
    let faults = jammed["faults"].as_array().unwrap();
    assert!(
        faults.iter().any(|f| f
            .as_str()
            .unwrap()
            .contains("cleared through the control API")),
        "{jammed}"
    );

    // junit.xml parses: a suite per printer, a testcase per case, the one failure named.
    let junit = std::fs::read_to_string(report_dir.join("junit.xml")).unwrap();
    let xml = roxmltree::Document::parse(&junit).unwrap_or_else(|e| panic!("{e}:\n{junit}"));
    let suites: Vec<_> = xml
        .descendants()
        .filter(|n| n.has_tag_name("testsuite"))
        .map(|n| n.attribute("name").unwrap())
        .collect();
    assert_eq!(suites, ["Mono Test", "Twin Test"], "{junit}");
    let testcases = xml.descendants().filter(|n| n.has_tag_name("testcase"));
    assert_eq!(testcases.count(), 5, "{junit}");
    let failed: Vec<_> = xml
        .descendants()
        .filter(|n| n.has_tag_name("failure"))
        .map(|n| n.parent().unwrap().attribute("name").unwrap())
        .collect();
    assert_eq!(failed, ["Twin Test#2"], "{junit}");

    // report.html in headless Chromium: the failures table renders, with the failed case and
    // thumbnails of what came out; a screenshot of it lands in the report folder.
    let html = report_dir.join("report.html");
    let profile = tempfile::tempdir().unwrap();
    let dom = chromium(profile.path(), &["--dump-dom"], &html);
    let dom = String::from_utf8_lossy(&dom.stdout);
    let failures = dom
        .split_once("<table id=\"failures\">")
        .and_then(|(_, rest)| rest.split_once("</table>"))
        .unwrap_or_else(|| panic!("no failures table in the DOM:\n{dom}"))
        .0;
    assert!(failures.contains("Twin Test#2"), "{failures}");
    assert!(!failures.contains("Mono Test#1"), "{failures}");
    // The options the case sent, and only those: what it left out is the printer's default.
    assert!(failures.contains("copies: 2"), "{failures}");
    assert!(!failures.contains("finishings"), "{failures}");
    assert!(
        failures.contains("<img src=\"data:image/png;base64,"),
        "{failures}"
    );
    let screenshot = report_dir.join("report-screenshot.png");
    chromium(
        profile.path(),
        &[
            &format!("--screenshot={}", screenshot.display()),
            "--window-size=1280,900",
        ],
        &html,
    );
    let shot = image::open(&screenshot)
        .unwrap_or_else(|e| panic!("{}: {e}", screenshot.display()))
        .to_rgb8();
    assert_eq!(shot.dimensions(), (1280, 900));
    let first = shot.get_pixel(0, 0);
    assert!(
        shot.pixels().any(|p| p != first),
        "the screenshot is one colour: nothing rendered"
    );

    // A plan made from Graph: the mono printer fails URF documents by its printers.toml, which
    // Graph cannot show; the lab wrote that into lab.json, so the URF case is planned as a
    // refusal and the run passes. The report counts the pairs of values the plan covered.
    let single_dir = lab.join("single");
    let single = up
        .here()
        .args(["matrix", "--strategy", "single", "--printer", "Mono Test"])
        .arg("--report")
        .arg(&single_dir)
        .output()
        .unwrap();
    assert_eq!(single.status.code(), Some(0), "{}", show(&single));
    let report = read_json(&single_dir.join("report.json"));
    let urf: Vec<&Value> = (report["cases"].as_array().unwrap().iter())
        .filter(|c| c["case"]["contentType"] == "image/urf")
        .collect();
    assert_eq!(urf.len(), 1, "{report}");
    assert_eq!(urf[0]["verdict"], "refusedAsExpected", "{report}");
    assert!(
        urf[0]["case"]["expect"]["reason"]
            .as_str()
            .unwrap()
            .contains("faults.failing_formats"),
        "{report}"
    );
    let pairs = &report["pairCoverage"][0];
    assert_eq!(pairs["printer"], "Mono Test", "{report}");
    assert!(pairs["pairsPossible"].as_u64().unwrap() > 0, "{report}");
    let dom = chromium(
        profile.path(),
        &["--dump-dom"],
        &single_dir.join("report.html"),
    );
    let dom = String::from_utf8_lossy(&dom.stdout);
    assert!(
        dom.contains("Pairs of option values covered"),
        "no pair coverage in the DOM:\n{dom}"
    );
}

/// A case whose job outlasts `--timeout` cannot be verified: it is cancelled, fails with the
/// reason in junit.xml, and the run exits non-zero.
#[test]
fn matrix_case_that_cannot_verify_fails_the_run() {
    let dir = tempfile::tempdir().unwrap();
    let up = up_with(dir.path(), &fleet(), "127.0.0.1:0", &[]);
    // Slow Test prints 6 pages a minute: two pages take 20 s, the timeout is 2 s.
    let plan = json!([case(
        dir.path(),
        "Slow Test",
        1,
        2,
        json!({}),
        json!({"outcome": "prints"})
    )]);
    let plan_file = dir.path().join("plan.json");
    std::fs::write(&plan_file, plan.to_string()).unwrap();
    let report_dir = dir.path().join("report");
    let out = up
        .here()
        .args(["matrix", "--timeout", "2", "--plan"])
        .arg(&plan_file)
        .arg("--report")
        .arg(&report_dir)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(6), "{}", show(&out));

    let junit = std::fs::read_to_string(report_dir.join("junit.xml")).unwrap();
    let xml = roxmltree::Document::parse(&junit).unwrap_or_else(|e| panic!("{e}:\n{junit}"));
    let failure = xml
        .descendants()
        .find(|n| n.has_tag_name("failure"))
        .unwrap_or_else(|| panic!("no failure in {junit}"));
    assert_eq!(failure.attribute("type"), Some("timeout"), "{junit}");
    assert_eq!(
        failure.parent().unwrap().attribute("name"),
        Some("Slow Test#1"),
        "{junit}"
    );

    // The job past its time was cancelled, not left printing.
    let report = read_json(&report_dir.join("report.json"));
    let job = report["cases"][0]["jobId"].as_str().unwrap().to_string();
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let shown = up.ok(&["job", &job]);
        if shown.contains("canceled") {
            break;
        }
        assert!(Instant::now() < deadline, "job not canceled: {shown}");
        std::thread::sleep(Duration::from_millis(200));
    }
}

/// Ctrl-C while cases print: the report of what finished is written, the rest "not run", and
/// the run exits non-zero.
#[test]
fn matrix_interrupted_writes_a_partial_report() {
    let dir = tempfile::tempdir().unwrap();
    let up = up_with(dir.path(), &fleet(), "127.0.0.1:0", &[]);
    // Slow Test prints 6 pages a minute: the first case is still printing when Ctrl-C comes.
    let plan = json!([
        case(
            dir.path(),
            "Slow Test",
            1,
            1,
            json!({}),
            json!({"outcome": "prints"})
        ),
        case(
            dir.path(),
            "Slow Test",
            2,
            1,
            json!({}),
            json!({"outcome": "prints"})
        ),
    ]);
    let plan_file = dir.path().join("plan.json");
    std::fs::write(&plan_file, plan.to_string()).unwrap();
    let report_dir = dir.path().join("report");
    let matrix = up
        .here()
        .args(["matrix", "--plan"])
        .arg(&plan_file)
        .arg("--report")
        .arg(&report_dir)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    // Once the first job prints, the run is under way (and listening for Ctrl-C).
    let deadline = Instant::now() + Duration::from_secs(30);
    let printing = loop {
        let jobs: Value = serde_json::from_str(&up.ok(&["jobs", "--json"])).unwrap();
        if let Some(job) = jobs
            .as_array()
            .unwrap()
            .iter()
            .find(|j| j["state"] == "processing")
        {
            break job["id"].as_str().unwrap().to_string();
        }
        assert!(Instant::now() < deadline, "no job printing: {jobs}");
        std::thread::sleep(Duration::from_millis(100));
    };
    // SAFETY: kill(2) on the child this test spawned and has not waited for.
    assert_eq!(unsafe { libc::kill(matrix.id() as i32, libc::SIGINT) }, 0);
    let out = matrix.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(6), "{}", show(&out));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("interrupted; partial report"),
        "{}",
        show(&out)
    );
    let report = read_json(&report_dir.join("report.json"));
    assert_eq!(report["interrupted"], true, "{report}");
    assert_eq!(report["summary"]["notRun"], 2, "{report}");
    let junit = std::fs::read_to_string(report_dir.join("junit.xml")).unwrap();
    let xml = roxmltree::Document::parse(&junit).unwrap_or_else(|e| panic!("{e}:\n{junit}"));
    assert_eq!(
        xml.descendants()
            .filter(|n| n.has_tag_name("skipped"))
            .count(),
        2,
        "{junit}"
    );

    // The job left printing was cancelled: Ctrl-C stops the printer too.
    let deadline = Instant::now() + Duration::from_secs(30);
    let ended = loop {
        let job: Value = serde_json::from_str(&up.ok(&["job", &printing, "--json"])).unwrap();
        if ["completed", "canceled", "aborted"].contains(&job["state"].as_str().unwrap()) {
            break job;
        }
        assert!(Instant::now() < deadline, "the job never ended: {job}");
        std::thread::sleep(Duration::from_millis(200));
    };
    assert_eq!(ended["state"], "canceled", "{ended}");
}

/// Four copies of the mono test printer, each with one defect planted through
/// `[printer.misprint]`: a short-edge back side printed upright, the last sheet dropped, colour
/// printed whatever the job asks, Letter advertised but refused.
fn misprinting_printers() -> String {
    let (fleet, printer) = MONO.split_once("[[printer]]").unwrap();
    let copy = |name: &str, capabilities: (&str, &str), misprint: &str| {
        let entry = printer
            .replace(r#"name = "Mono Test""#, &format!("name = \"{name}\""))
            .replace(r#"model = "Mono 1""#, &format!("model = \"{name} 1\""))
            .replace(capabilities.0, capabilities.1);
        assert!(entry.contains(capabilities.1), "{entry}");
        format!("[[printer]]{entry}[printer.misprint]\n{misprint}\n\n")
    };
    let duplex = r#"duplex_modes = ["oneSided", "flipOnLongEdge"]"#;
    let colour = r#"color_modes = ["blackAndWhite", "grayscale"]"#;
    [
        fleet.to_string(),
        copy(
            "Upright Back",
            (
                duplex,
                r#"duplex_modes = ["oneSided", "flipOnLongEdge", "flipOnShortEdge"]"#,
            ),
            "back_side_upright = true",
        ),
        copy("Dropper", (duplex, duplex), "drops_last_sheet = true"),
        copy(
            "Colourful",
            (
                colour,
                r#"color_modes = ["blackAndWhite", "grayscale", "color"]"#,
            ),
            "ignores_color_mode = true",
        ),
        copy(
            "Size Refuser",
            (duplex, duplex),
            r#"refuses_media_sizes = ["North America Letter"]"#,
        ),
    ]
    .concat()
}

/// The matrix finds each planted defect from what the printer did, with the right reason, and
/// passes a case on the same printer that the defect does not touch.
#[test]
fn matrix_reports_each_planted_misprint_with_its_reason() {
    let dir = tempfile::tempdir().unwrap();
    let lab = dir.path();
    let up = up_with(lab, &misprinting_printers(), "127.0.0.1:0", &[]);
    let prints = json!({"outcome": "prints"});
    let plan = json!({"cases": [
        case(lab, "Upright Back", 1, 2, json!({"duplexMode": "flipOnShortEdge"}), prints.clone()),
        case(lab, "Upright Back", 2, 2, json!({"duplexMode": "flipOnLongEdge"}), prints.clone()),
        case(lab, "Dropper", 1, 3, json!({}), prints.clone()),
        case(lab, "Dropper", 2, 1, json!({}), prints.clone()),
        case(lab, "Colourful", 1, 1, json!({"colorMode": "grayscale"}), prints.clone()),
        case(lab, "Colourful", 2, 1, json!({"colorMode": "blackAndWhite"}), prints.clone()),
        case(lab, "Colourful", 3, 1, json!({"colorMode": "color"}), prints.clone()),
        case(lab, "Size Refuser", 1, 1, json!({"mediaSize": "North America Letter"}), prints.clone()),
        case(lab, "Size Refuser", 2, 1, json!({"mediaSize": "A4"}), prints.clone()),
    ]});
    let plan_file = lab.join("plan.json");
    std::fs::write(&plan_file, plan.to_string()).unwrap();
    let report_dir = lab.join("report");
    let out = up
        .here()
        .args(["matrix", "--plan"])
        .arg(&plan_file)
        .arg("--report")
        .arg(&report_dir)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(6), "{}", show(&out));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.contains("FAILED Size Refuser#1 (Size Refuser): capabilityMismatch"),
        "{}",
        show(&out)
    );

    let report = read_json(&report_dir.join("report.json"));
    let summary = &report["summary"];
    assert_eq!(
        (&summary["cases"], &summary["passed"], &summary["failed"]),
        (&json!(9), &json!(4), &json!(5)),
        "{summary}"
    );
    let result = |id: &str| -> &Value {
        report["cases"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["case"]["id"] == id)
            .unwrap_or_else(|| panic!("no {id} in {report}"))
    };
    // Each defect case fails on its defect's check(s), and on nothing else.
    let failed_on = |id: &str, checks: &[&str]| -> Vec<Value> {
        let found = result(id);
        assert_eq!(found["verdict"], "failed", "{found}");
        let findings = found["findings"].as_array().unwrap().clone();
        assert!(!findings.is_empty(), "{found}");
        for f in &findings {
            assert!(
                checks.contains(&f["check"].as_str().unwrap()),
                "{id}: {f} is not about the planted defect ({checks:?})"
            );
        }
        findings
    };
    let finding = |findings: &[Value], check: &str| -> Value {
        findings
            .iter()
            .find(|f| f["check"] == check)
            .unwrap_or_else(|| panic!("no {check} finding in {findings:?}"))
            .clone()
    };
    for control in [
        "Upright Back#2",
        "Dropper#2",
        "Colourful#3",
        "Size Refuser#2",
    ] {
        assert_eq!(result(control)["verdict"], "passed", "{}", result(control));
    }

    // The back side came out upright where short-edge duplex turns it upside down.
    let upright = failed_on("Upright Back#1", &["duplexBackSide"]);
    let back = finding(&upright, "duplexBackSide");
    assert!(
        back["expected"]
            .as_str()
            .unwrap()
            .contains("back of copy 1), page 2: upside down"),
        "{back}"
    );
    assert_eq!(back["observed"], "upright", "{back}");

    // The third page never came out: two sides, page 3 missing.
    let dropped = failed_on("Dropper#1", &["sides", "pageRanges"]);
    assert_eq!(
        finding(&dropped, "sides")["observed"],
        "2 sides on 2 sheets"
    );
    assert_eq!(
        finding(&dropped, "pageRanges")["observed"],
        "pages 1, 2 found on the sides"
    );
    assert_eq!(result("Dropper#1")["outputs"].as_array().unwrap().len(), 2);

    // Colour in a grayscale and in a black-and-white job.
    let grayscale = finding(&failed_on("Colourful#1", &["colorMode"]), "colorMode");
    assert!(
        grayscale["observed"]
            .as_str()
            .unwrap()
            .ends_with("coloured pixels"),
        "{grayscale}"
    );
    let monochrome = finding(&failed_on("Colourful#2", &["colorMode"]), "colorMode");
    assert!(
        monochrome["expected"]
            .as_str()
            .unwrap()
            .contains("black and white pixels only"),
        "{monochrome}"
    );

    // Letter is advertised through Graph, the plan expected it to print, the printer aborted
    // it: a capability mismatch, not an expected refusal.
    let refused = finding(
        &failed_on("Size Refuser#1", &["capabilityMismatch"]),
        "capabilityMismatch",
    );
    let observed = refused["observed"].as_str().unwrap();
    assert!(
        observed.starts_with("aborted: ") && observed.contains("North America Letter"),
        "{refused}"
    );

    // The faulty printers' manifests say what the jobs asked for; the pixels said otherwise.
    let manifest = |id: &str| {
        read_json(&Path::new(result(id)["outputDir"].as_str().unwrap()).join("manifest.json"))
    };
    assert_eq!(
        manifest("Upright Back#1")["settings"]["duplex"],
        "shortEdge"
    );
    assert_eq!(manifest("Colourful#1")["settings"]["color"], "grayscale");
    assert_eq!(manifest("Dropper#1")["mediaSheets"], 3);
}
