//! A desktop-style IPP client printing to Universal Print rather than to a printer: CUPS'
//! `ipptool`, which cannot send a bearer token, prints to a printer's `cloudIppUri` with the
//! HTTP Basic credential `printlab up` issued (`ippUser` in `lab.json`); the job is a Graph job
//! of the lab user, the printer fetches it as any other, and it completes.

use super::cli_e2e::up;
use serde_json::Value;
use std::time::{Duration, Instant};

#[test]
fn ipptool_prints_to_the_cloud_printer_with_the_labs_ipp_credential() {
    let dir = tempfile::tempdir().unwrap();
    let up = up(dir.path());
    let page = dir.path().join("page.pdf");
    up.ok(&["testpage", "-o", page.to_str().unwrap(), "--pages", "2"]);
    let lab: Value =
        serde_json::from_str(&std::fs::read_to_string(dir.path().join("spool/lab.json")).unwrap())
            .unwrap();
    let user = &lab["ippUser"];
    let mono = (lab["printers"].as_array().unwrap().iter())
        .find(|p| p["name"] == "Mono Test")
        .unwrap();
    let uri = mono["cloudIppUri"].as_str().unwrap();
    let with_credentials = uri.replacen(
        "ipp://",
        &format!(
            "ipp://{}:{}@",
            user["username"].as_str().unwrap(),
            user["password"].as_str().unwrap()
        ),
        1,
    );

    // Without the credential, nothing is printed.
    let refused = std::process::Command::new("ipptool")
        .args(["-T", "10", "-tf", page.to_str().unwrap(), uri])
        .arg("/usr/share/cups/ipptool/print-job.test")
        .output()
        .unwrap();
    assert!(!refused.status.success(), "{refused:?}");

    let printed = std::process::Command::new("ipptool")
        .args(["-T", "20", "-tf", page.to_str().unwrap(), &with_credentials])
        .arg("/usr/share/cups/ipptool/print-job.test")
        .output()
        .unwrap();
    let report = String::from_utf8_lossy(&printed.stdout);
    assert!(
        printed.status.success() && report.contains("[PASS]"),
        "{report}\n{}",
        String::from_utf8_lossy(&printed.stderr)
    );

    // The Graph job: the lab user's, printed by the device.
    let deadline = Instant::now() + Duration::from_secs(60);
    let job = loop {
        let jobs: Value =
            serde_json::from_str(&up.ok(&["jobs", "--printer", "Mono Test", "--json"])).unwrap();
        let done = (jobs.as_array().unwrap().iter())
            .find(|j| j["state"] == "completed")
            .cloned();
        if let Some(job) = done {
            break job;
        }
        assert!(Instant::now() < deadline, "no completed job: {jobs}");
        std::thread::sleep(Duration::from_millis(200));
    };
    assert_eq!(job["createdBy"], "lab-user@printlab.test", "{job}");
}
