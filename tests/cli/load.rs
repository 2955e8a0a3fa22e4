//! `printlab load` against `printlab up`: every job it planned is created, uploaded, started
//! and followed to `completed` on the real fleet, the cloud holds exactly those jobs, the report
//! adds up, and mistakes in the command line or the printers are refused with their exit codes.

use super::cli_e2e::up;
use serde_json::Value;

#[test]
fn load_submits_at_its_rate_follows_every_job_and_reports_percentiles() {
    let dir = tempfile::tempdir().unwrap();
    let up = up(dir.path());

    let report: Value = serde_json::from_str(&up.ok(&[
        "load",
        "--rate",
        "10",
        "--seconds",
        "2",
        "--printer",
        "Mono Test",
        "--json",
    ]))
    .unwrap();
    assert_eq!(report["planned"], 20, "{report}");
    assert_eq!(report["started"], 20, "{report}");
    assert_eq!(
        report["ended"],
        serde_json::json!({"completed": 20}),
        "{report}"
    );
    assert_eq!(report["failed"], serde_json::json!({}), "{report}");
    // 20 jobs due over 1.9 s: started no sooner than the schedule let them.
    assert!(report["submitSeconds"].as_f64().unwrap() >= 1.9, "{report}");
    for measure in ["create", "upload", "submit", "endToEnd"] {
        let p = &report[measure];
        assert_eq!(p["count"], 20, "{measure}: {report}");
        let ordered: Vec<f64> = ["p50", "p90", "p99", "max"]
            .iter()
            .map(|k| p[k].as_f64().unwrap())
            .collect();
        assert!(
            ordered[0] > 0.0 && ordered.windows(2).all(|w| w[0] <= w[1]),
            "{measure}: {p}"
        );
    }
    // Submitting is part of printing: due → started never exceeds due → ended.
    assert!(report["submit"]["p50"].as_f64() <= report["endToEnd"]["p50"].as_f64());

    // The cloud has exactly those jobs, completed, on that printer.
    let jobs: Value = serde_json::from_str(&up.ok(&["jobs", "--json"])).unwrap();
    let jobs = jobs.as_array().unwrap();
    assert_eq!(jobs.len(), 20);
    assert!(
        jobs.iter()
            .all(|j| j["printer"] == "Mono Test" && j["state"] == "completed"),
        "{jobs:?}"
    );

    // The table a person reads.
    let table = up.ok(&[
        "load",
        "--rate",
        "5",
        "--seconds",
        "1",
        "--printer",
        "Mono Test",
    ]);
    assert!(table.contains("started 5 of 5"), "{table}");
    assert!(table.contains("ended: completed 5"), "{table}");
    assert!(table.contains("end to end (due → ended"), "{table}");

    // Mistakes: a rate that is no rate (usage, 2) and a printer the cloud does not share
    // (refused, 5), each named.
    let zero = up.run(&["load", "--rate", "0"]);
    assert_eq!(zero.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&zero.stderr).contains("--rate must be"));
    let nobody = up.run(&["load", "--printer", "Nobody", "--seconds", "1"]);
    assert_eq!(nobody.status.code(), Some(5));
    assert!(String::from_utf8_lossy(&nobody.stderr).contains("Nobody"));
}
