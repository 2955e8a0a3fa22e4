//! `printlab cloud` and `printlab token` as a user runs them: the token the CLI mints from the
//! data folder is accepted by the running cloud.

use crate::KilledOnDrop;
use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};

/// `printlab cloud` on an ephemeral loopback port with `data` as its folder, and the Graph base
/// URL it prints first.
fn cli_cloud(data: &str) -> (KilledOnDrop, String) {
    let mut cloud = KilledOnDrop(
        Command::new(env!("CARGO_BIN_EXE_printlab"))
            .args(["cloud", "--listen", "127.0.0.1:0", "--data", data])
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );
    let mut first_line = String::new();
    BufReader::new(cloud.0.stdout.take().unwrap())
        .read_line(&mut first_line)
        .unwrap();
    (cloud, first_line.trim().to_string())
}

#[tokio::test]
async fn cli_token_is_accepted_by_the_cli_cloud() {
    let exe = env!("CARGO_BIN_EXE_printlab");
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().to_str().unwrap();
    let (_cloud, base) = cli_cloud(data);
    assert!(
        base.starts_with("http://127.0.0.1:") && base.ends_with("/v1.0"),
        "{base}"
    );

    let mint = |args: &[&str]| {
        let out = Command::new(exe)
            .args(["token", "--data", data])
            .args(args)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap().trim().to_string()
    };
    let reader = mint(&["--user", "ada", "--scopes", "Printer.Read.All"]);
    let app = mint(&["--app", "connector", "--roles", "Printer.Read.All"]);
    // Listing printers is delegated-only: the app token is valid but lacks the right.
    for (token, expected) in [(&reader, 200), (&app, 403)] {
        let listed = reqwest::Client::new()
            .get(format!("{base}/print/printers"))
            .bearer_auth(token)
            .send()
            .await
            .unwrap();
        assert_eq!(listed.status(), expected);
    }

    let refused = Command::new(exe)
        .args(["token", "--data", data, "--app", "x", "--admin"])
        .output()
        .unwrap();
    assert!(!refused.status.success());
}

/// `printlab devices` answers `GET /readyz` on its control API: 503 naming the printers that
/// have not registered and advertised (here one whose network is down for its first 2 s), then
/// 200; `GET /healthz` answers at once.
#[tokio::test]
async fn cli_devices_are_ready_once_every_printer_has_advertised() {
    let exe = env!("CARGO_BIN_EXE_printlab");
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("cloud");
    let data = data.to_str().unwrap();
    let (_cloud, graph) = cli_cloud(data);
    let cloud_url = graph.trim_end_matches("/v1.0").to_string();
    let minted = Command::new(exe)
        .args(["token", "--data", data, "--user", "admin", "--admin"])
        .args(["--scopes", "Printers.Create"])
        .output()
        .unwrap();
    let admin = String::from_utf8(minted.stdout).unwrap().trim().to_string();
    let fleet = format!(
        "[fleet]\nconnection = {{ mode = \"universal-print\" }}\n{}[printer.faults]\noffline = [{{ after_seconds = 0, for_seconds = 2 }}]\n",
        printlab_testkit_fleet::ONE_PRINTER
    );
    let config = dir.path().join("printers.toml");
    std::fs::write(&config, fleet).unwrap();
    let mut devices = KilledOnDrop(
        Command::new(exe)
            .args(["devices", "--cloud", &cloud_url, "--admin-token", &admin])
            .arg("--config")
            .arg(&config)
            .arg("--spool")
            .arg(dir.path().join("devices"))
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );
    let mut announced = String::new();
    let mut output = BufReader::new(devices.0.stdout.take().unwrap());
    output.read_line(&mut announced).unwrap();
    // Keep reading what it prints, so it never writes to a closed pipe.
    std::thread::spawn(move || for _ in output.lines() {});
    let control = announced
        .strip_prefix("control API: ")
        .and_then(|rest| rest.split("/control/").next())
        .unwrap_or_else(|| panic!("no control URL in {announced:?}"))
        .to_string();
    let probe = |path: &str| {
        let url = format!("{control}{path}");
        async move {
            let answer = reqwest::get(&url).await.unwrap();
            let status = answer.status().as_u16();
            (status, answer.json::<serde_json::Value>().await.unwrap())
        }
    };
    assert_eq!(probe("/healthz").await.0, 200);
    let (status, body) = probe("/readyz").await;
    assert_eq!(status, 503, "{body}");
    assert!(
        body["pending"]["printers"]
            .as_str()
            .is_some_and(|p| p.contains("Lab")),
        "{body}"
    );
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    loop {
        let (status, body) = probe("/readyz").await;
        if status == 200 {
            assert_eq!(body, serde_json::json!({"status": "ready"}));
            break;
        }
        assert!(std::time::Instant::now() < deadline, "never ready: {body}");
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    // The control API: a token generated into the spool folder, owner-only, and asked for.
    let kept = dir.path().join("devices/control.token");
    let mode =
        std::os::unix::fs::PermissionsExt::mode(&std::fs::metadata(&kept).unwrap().permissions());
    assert_eq!(mode & 0o777, 0o600);
    let token = std::fs::read_to_string(&kept).unwrap();
    let http = reqwest::Client::new();
    let printers = format!("{control}/control/printers");
    assert_eq!(http.get(&printers).send().await.unwrap().status(), 401);
    let listed = http
        .get(&printers)
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(listed.status(), 200);
    // Off loopback only with a token given on the command line.
    let refused = Command::new(exe)
        .args(["devices", "--control", "0.0.0.0:0", "--config"])
        .arg(&config)
        .arg("--spool")
        .arg(dir.path().join("elsewhere"))
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&refused.stderr);
    assert!(
        !refused.status.success() && stderr.contains("--control-token"),
        "{stderr}"
    );
}
