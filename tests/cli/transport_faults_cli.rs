//! `printlab faults` against `printlab up --transport-faults FILE`: the lab starts with the
//! rules, a client meets them, the log shows it, the rules change live, and a mistake in a rules
//! file is reported at its line and column before anything is sent.

use super::cli_e2e::{fleet, up_with};

#[test]
fn transport_faults_start_with_the_lab_and_change_live() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("faults.toml"),
        r#"
[[rule]]
name = "first share listing fails"
methods = ["GET"]
path = "/v1.0/print/shares"
sequence = [true, false]
status = 503
retry_after = 1
"#,
    )
    .unwrap();
    let up = up_with(
        dir.path(),
        &fleet(),
        "127.0.0.1:0",
        &["--transport-faults", "faults.toml"],
    );
    let shown = up.ok(&["faults", "show"]);
    assert!(shown.contains("first share listing fails"), "{shown}");

    // The client under test (here printlab's own) meets the 503, then the next call passes.
    let failed = up.run(&["printers"]);
    assert_eq!(failed.status.code(), Some(5), "{failed:?}");
    assert!(String::from_utf8_lossy(&failed.stderr).contains("503"));
    up.ok(&["printers"]);
    let log: serde_json::Value =
        serde_json::from_str(&up.ok(&["faults", "log", "--json"])).unwrap();
    let outcomes: Vec<&str> = (log["records"].as_array().unwrap().iter())
        .map(|r| r["outcome"].as_str().unwrap())
        .collect();
    assert_eq!(outcomes, ["status", "passed"], "{log}");
    assert!(up.ok(&["faults", "log"]).contains("503, Retry-After 1 s"));

    // A mistake is named at its place and nothing changes.
    std::fs::write(
        dir.path().join("bad.toml"),
        "[[rule]]\nname = \"x\"\npath = \"/v1.0/**\"\nstatus = 418\n",
    )
    .unwrap();
    let refused = up.run(&["faults", "load", "bad.toml"]);
    assert_eq!(refused.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&refused.stderr).contains("bad.toml:1:1: rule \"x\": status 418"),
        "{refused:?}"
    );
    assert!(
        up.ok(&["faults", "show"])
            .contains("first share listing fails")
    );

    up.ok(&["faults", "clear"]);
    assert!(up.ok(&["faults", "show"]).contains("no transport faults"));
    let schema: serde_json::Value = serde_json::from_str(&up.ok(&["faults", "schema"])).unwrap();
    assert_eq!(schema["title"], "printlab transport faults");
}
