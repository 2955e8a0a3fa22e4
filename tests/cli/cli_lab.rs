//! Client commands in the folder where `printlab up` runs, told nothing else: they find the lab
//! through `spool/lab.json` and `spool/user.token` (the lab listens on an ephemeral port, so the
//! default address would be wrong), and from any folder given `PRINTLAB_DATA` (`token`, `faults` and
//! `pull` find the cloud's signing key through it too); identical `print`
//! commands run at once are separate jobs; the example of `printlab token --help` makes a token
//! the client commands accept; `up --public-url` is the address clients are handed everywhere.

use super::cli_e2e::{fleet, job_id_of, print_args, printlab, up, up_with};
use std::collections::BTreeSet;
use std::process::Output;

#[track_caller]
fn succeeded(args: &[&str], out: &Output) -> String {
    assert!(
        out.status.success(),
        "printlab {args:?} failed ({}):\n{}\n{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout.clone()).unwrap()
}

#[test]
fn client_commands_find_the_lab_and_parallel_prints_stay_apart() {
    let dir = tempfile::tempdir().unwrap();
    let up = up(dir.path());
    assert!(
        !up.url.ends_with(":8443"),
        "the lab must not be on the default port"
    );
    let run = |args: &[&str]| {
        let out = up.here().args(args).output().unwrap();
        succeeded(args, &out)
    };

    // Discovery: no --cloud, no PRINTLAB_CLOUD.
    let listed: serde_json::Value = serde_json::from_str(&run(&["printers", "--json"])).unwrap();
    assert_eq!(listed.as_array().unwrap().len(), 2, "{listed}");
    assert!(run(&["printer", "Mono Test"]).contains("flipOnLongEdge"));
    // From another folder, told only where the lab keeps its folder (as `up --data` reads it).
    let elsewhere = tempfile::tempdir().unwrap();
    let from_elsewhere = |args: &[&str]| {
        printlab()
            .current_dir(elsewhere.path())
            .env("PRINTLAB_DATA", dir.path().join("spool"))
            .args(args)
            .output()
            .unwrap()
    };
    let args = ["printers", "--json"];
    assert_eq!(succeeded(&args, &from_elsewhere(&args)), run(&args));
    let out = from_elsewhere(&["devices", "pause", "Nope"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("no printer named Nope"), "{stderr}");
    // The commands that mint tokens with the cloud's signing key find it there too.
    let args = [
        "token",
        "--user",
        "bob",
        "--scopes",
        "PrinterShare.Read.All",
    ];
    let minted = succeeded(&args, &from_elsewhere(&args));
    let args = ["printers", "--token", minted.trim()];
    assert_eq!(succeeded(&args, &from_elsewhere(&args)), run(&["printers"]));
    for args in [["faults", "show"], ["pull", "held"]] {
        succeeded(&args, &from_elsewhere(&args));
    }
    // `devices fault` finds the control API in lab.json and its token in control.token,
    // without --control; a wrong name is named.
    run(&["devices", "fault", "Mono Test", "clear"]);
    let refused = |args: &[&str], words: &str| {
        let out = up.here().args(args).output().unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(
            !out.status.success() && stderr.contains(words),
            "{args:?}: {stderr}"
        );
    };
    refused(
        &["devices", "fault", "Nope", "jam"],
        "no printer named Nope",
    );
    refused(&["devices", "pause", "Nope"], "no printer named Nope");
    // `devices pause` shows in Graph as the printer's `paused` detail, `devices resume` ends it.
    let shows_paused = |paused: bool| {
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
        loop {
            let listed: serde_json::Value =
                serde_json::from_str(&run(&["printers", "--json"])).unwrap();
            let mono = (listed.as_array().unwrap().iter())
                .find(|p| p["name"] == "Mono Test")
                .cloned()
                .unwrap();
            let details = mono["details"].as_array().cloned().unwrap();
            if details.iter().any(|d| d == "paused") == paused {
                return;
            }
            assert!(std::time::Instant::now() < deadline, "{mono}");
            std::thread::sleep(std::time::Duration::from_millis(100));
        }
    };
    refused(
        &["devices", "fault", "Mono Test", "offline", "--for", "soon"],
        "is not a duration",
    );
    run(&["devices", "fault", "Mono Test", "offline", "--for", "30s"]);
    run(&["devices", "fault", "Mono Test", "offline", "--clear"]);
    refused(
        &["devices", "fault", "Mono Test", "network-latency"],
        "needs ms",
    );
    run(&[
        "devices",
        "fault",
        "Mono Test",
        "network-latency",
        "--ms",
        "5",
    ]);
    run(&[
        "devices",
        "fault",
        "Mono Test",
        "network-latency",
        "--clear",
    ]);
    run(&["devices", "pause", "Mono Test"]);
    shows_paused(true);
    run(&["devices", "resume", "Mono Test"]);
    shows_paused(false);
    refused(
        &["devices", "fault", "Mono Test", "smoke"],
        "no fault named smoke",
    );
    refused(
        &[
            "devices",
            "fault",
            "Mono Test",
            "paper-out",
            "--tray",
            "tray-9",
        ],
        "no tray named tray-9",
    );
    refused(
        &["devices", "media", "Mono Test", "tray-9", "A4"],
        "no tray named tray-9",
    );
    refused(
        &["devices", "supply", "Mono Test", "Cyan Ink", "5"],
        "no supply named Cyan Ink",
    );
    // The sample page is one of the printer's own jobs: it prints, and Graph never hears of it.
    let sample: serde_json::Value =
        serde_json::from_str(&run(&["devices", "sample-page", "Mono Test"])).unwrap();
    assert_eq!(sample["origin"], "localIpp", "{sample}");
    assert_eq!(sample["document"]["format"], "application/pdf", "{sample}");

    // The example scopes of `token --help`, minted as the help says, are enough to list printers.
    let help = run(&["token", "--help"]);
    let example = help
        .lines()
        .find_map(|l| l.split_once("Delegated scopes, e.g. ").map(|(_, e)| e))
        .unwrap_or_else(|| panic!("no example scopes in:\n{help}"));
    let mut mint = vec!["token", "--user", "ada", "--scopes"];
    mint.extend(example.split_whitespace());
    let token = run(&mint);
    // The same printers (their states may move between the two listings: the sample page prints).
    let shares = |listed: String| -> Vec<(String, String)> {
        let listed: serde_json::Value = serde_json::from_str(&listed).unwrap();
        (listed.as_array().unwrap().iter())
            .map(|p| (p["name"].to_string(), p["shareId"].to_string()))
            .collect()
    };
    let theirs = shares(run(&["printers", "--json", "--token", token.trim()]));
    assert_eq!(theirs, shares(run(&["printers", "--json"])));
    assert_eq!(theirs.len(), 2);

    // Identical print commands at once: one job each, each uploaded, started and completed.
    let page = dir.path().join("page.pdf");
    run(&["testpage", "-o", page.to_str().unwrap(), "--pages", "1"]);
    const RUNS: usize = 10;
    let args = print_args(&page, "Mono Test", &["--wait"]);
    let children: Vec<_> = (0..RUNS)
        .map(|_| {
            up.here()
                .args(&args)
                .stdout(std::process::Stdio::piped())
                .stderr(std::process::Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    let mut jobs = BTreeSet::new();
    for child in children {
        let printed = succeeded(&args, &child.wait_with_output().unwrap());
        assert!(printed.contains("completed"), "{printed}");
        assert!(!printed.contains("already started"), "{printed}");
        jobs.insert(job_id_of(&printed));
    }
    assert_eq!(jobs.len(), RUNS, "{jobs:?}");
    let state = std::fs::read_dir(dir.path().join("client-state")).unwrap();
    assert_eq!(
        state.count(),
        0,
        "every started job's resume record is gone"
    );
}

/// `up --public-url` under a name other than the bound address (`localhost`, which resolves to
/// loopback here): `lab.json` records it, client commands print through it, and the URLs the
/// cloud hands clients (an upload session's uploadUrl, Graph links) start with it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn up_public_url_is_what_clients_are_handed() {
    let dir = tempfile::tempdir().unwrap();
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let public = format!("http://localhost:{port}");
    let up = up_with(
        dir.path(),
        &fleet(),
        &format!("127.0.0.1:{port}"),
        &["--public-url", &format!("{public}/")],
    );
    assert_eq!(up.url, public, "the welcome names the public URL");
    let lab: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.path().join("spool/lab.json")).unwrap()).unwrap();
    assert_eq!(lab["cloud"], public.as_str(), "{lab}");
    assert_eq!(lab["graph"], format!("{public}/v1.0"), "{lab}");
    // Each printer's IPP Everywhere URI, on the listener `up` started beside the cloud.
    let ipp = lab["printers"][0]["ippUri"].as_str().unwrap_or_default();
    assert!(
        ipp.starts_with("ipp://127.0.0.1:") && ipp.contains("/ipp/print/"),
        "{lab}"
    );

    let run = |args: &[&str]| {
        let out = up.here().args(args).output().unwrap();
        succeeded(args, &out)
    };
    let page = dir.path().join("page.pdf");
    run(&["testpage", "-o", page.to_str().unwrap(), "--pages", "1"]);
    let printed = run(&print_args(&page, "Mono Test", &["--wait"]));
    assert!(printed.contains("completed"), "{printed}");

    let token = std::fs::read_to_string(dir.path().join("spool/user.token")).unwrap();
    let graph = printlab_client::GraphClient::new(&format!("{public}/v1.0"), Some(token));
    let share = lab["printers"][0]["shareId"].as_str().unwrap().to_string();
    let parent = printlab_client::JobParent::Share(share);
    let job = graph
        .create_job(&parent, &Default::default())
        .await
        .unwrap();
    let session = graph
        .create_upload_session(
            &parent,
            &job.id,
            &job.documents.as_ref().unwrap()[0].id,
            &printlab_graph::PrintDocumentUploadProperties {
                document_name: "page.pdf".into(),
                content_type: "application/pdf".into(),
                size: 3,
            },
        )
        .await
        .unwrap();
    let upload_url = session.upload_url.unwrap();
    assert!(
        upload_url.starts_with(&format!("{public}/")),
        "{upload_url}"
    );
}
