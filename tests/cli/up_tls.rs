//! `printlab up --tls`: the lab serves Graph over HTTPS with a CA it creates in the data folder
//! and names in its welcome. Its devices trust that CA (they registered and advertised, or `up`
//! would never be ready), a client given the CA reaches Graph, one without it is refused, and
//! printlab's client commands trust it through lab.json; nothing it writes is readable by other
//! users, even on the first start. A certificate file its own devices cannot verify is refused
//! at once, and a start that waits still stops on SIGTERM.

use crate::KilledOnDrop;
use std::io::{BufRead, BufReader};
use std::os::unix::fs::PermissionsExt;
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// `printlab up` in `dir` with `args`, its files created under the common umask 022 whatever
/// this test process's umask is.
fn up_command(dir: &Path, args: &[&str]) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_printlab"));
    command
        .current_dir(dir)
        .arg("up")
        .args(["--listen", "127.0.0.1:0", "--ipp-listen", "127.0.0.1:0"])
        .args(args)
        .args(["--log", "warn"]);
    // SAFETY: umask is async-signal-safe and touches nothing but the child's creation mask.
    unsafe {
        command.pre_exec(|| {
            libc::umask(0o022);
            Ok(())
        });
    }
    command
}

/// Entries under `folder` (itself included) that other users may read, write or enter.
fn open_to_others(folder: &Path) -> Vec<String> {
    let mut open = Vec::new();
    let mut pending = vec![folder.to_path_buf()];
    while let Some(path) = pending.pop() {
        let metadata = std::fs::symlink_metadata(&path).unwrap();
        if metadata.permissions().mode() & 0o007 != 0 {
            open.push(format!(
                "{} {:o}",
                path.display(),
                metadata.permissions().mode()
            ));
        }
        if metadata.is_dir() {
            pending.extend(std::fs::read_dir(&path).unwrap().map(|e| e.unwrap().path()));
        }
    }
    open
}

/// Waits up to `limit` for `child` to exit.
fn exit_within(child: &mut std::process::Child, limit: Duration) -> std::process::ExitStatus {
    let deadline = Instant::now() + limit;
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            return status;
        }
        assert!(Instant::now() < deadline, "still running after {limit:?}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[tokio::test]
async fn up_tls_serves_graph_to_clients_that_trust_its_ca() {
    let dir = tempfile::tempdir().unwrap();
    let fleet = format!(
        "[fleet]\nconnection = {{ mode = \"universal-print\" }}\n{}",
        printlab_testkit_fleet::ONE_PRINTER
    );
    std::fs::write(dir.path().join("printers.toml"), fleet).unwrap();
    let log = dir.path().join("up.log");
    let mut up = KilledOnDrop(
        up_command(dir.path(), &["--tls"])
            .stdout(Stdio::piped())
            .stderr(std::fs::File::create(&log).unwrap())
            .spawn()
            .unwrap(),
    );
    let mut lines = BufReader::new(up.0.stdout.take().unwrap()).lines();
    let mut url = None;
    let mut ca = None;
    for line in lines.by_ref() {
        let line = line.unwrap();
        if let Some(rest) = line.strip_prefix("printlab is up: ") {
            url = rest.rsplit(' ').next().map(str::to_string);
        }
        if let Some(rest) = line.trim().strip_prefix("HTTPS CA") {
            ca = rest.split_whitespace().next().map(str::to_string);
            break;
        }
    }
    std::thread::spawn(move || for _ in lines {});
    let url = url.expect("a welcome naming the URL");
    assert!(url.starts_with("https://127.0.0.1:"), "{url}");
    let ca = ca.expect("the welcome names the CA file");
    let ca = dir.path().join(ca);
    let discovery: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.path().join("spool/lab.json")).unwrap()).unwrap();
    assert_eq!(
        discovery["ca"].as_str().map(std::path::Path::new),
        Some(std::path::Path::new("spool/tls/ca.pem")),
        "{discovery}"
    );
    let token = std::fs::read_to_string(dir.path().join("spool/user.token")).unwrap();
    let shares = format!("{url}/v1.0/print/shares");
    assert_eq!(
        open_to_others(&dir.path().join("spool")),
        Vec::<String>::new(),
        "the first start left entries open to other users"
    );
    let log = std::fs::read_to_string(&log).unwrap();
    assert!(
        !log.contains("readable by other users"),
        "the certificates were written before the folder was made private: {log}"
    );

    let trusted = reqwest::Certificate::from_pem(&std::fs::read(&ca).unwrap()).unwrap();
    let client = reqwest::Client::builder()
        .add_root_certificate(trusted)
        .build()
        .unwrap();
    let answer = client
        .get(&shares)
        .bearer_auth(token.trim())
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status(), 200);
    let body: serde_json::Value = answer.json().await.unwrap();
    assert_eq!(body["value"][0]["displayName"], "Lab", "{body}");

    let refused = reqwest::Client::new()
        .get(&shares)
        .bearer_auth(token.trim())
        .send()
        .await
        .expect_err("a client that does not trust the lab's CA is refused");
    assert!(refused.is_connect(), "{refused:?}");

    // printlab's own client commands find the URL and the CA in lab.json.
    let printers = Command::new(env!("CARGO_BIN_EXE_printlab"))
        .current_dir(dir.path())
        .args(["printers", "--json"])
        .env_remove("PRINTLAB_CLOUD")
        .env_remove("PRINTLAB_CA")
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&printers.stderr);
    assert!(printers.status.success(), "{stderr}");
    let listed: serde_json::Value = serde_json::from_slice(&printers.stdout).unwrap();
    assert_eq!(listed[0]["name"], "Lab", "{listed}");
}

#[test]
fn a_certificate_without_its_ca_is_refused_at_once() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("printers.toml"),
        printlab_testkit_fleet::ONE_PRINTER,
    )
    .unwrap();
    let ca_key = rcgen::KeyPair::generate().unwrap();
    let mut ca = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
    ca.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
    let issuer = rcgen::Issuer::new(ca, ca_key);
    let server_key = rcgen::KeyPair::generate().unwrap();
    let server = rcgen::CertificateParams::new(vec!["127.0.0.1".to_string()])
        .unwrap()
        .signed_by(&server_key, &issuer)
        .unwrap();
    // The server's certificate alone, as a CA's leaf often comes.
    std::fs::write(dir.path().join("server.pem"), server.pem()).unwrap();
    std::fs::write(dir.path().join("server.key"), server_key.serialize_pem()).unwrap();
    let mut up = KilledOnDrop(
        up_command(
            dir.path(),
            &["--tls-cert", "server.pem", "--tls-key", "server.key"],
        )
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap(),
    );
    let status = exit_within(&mut up.0, Duration::from_secs(30));
    let mut stderr = String::new();
    std::io::Read::read_to_string(&mut up.0.stderr.take().unwrap(), &mut stderr).unwrap();
    assert_eq!(status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("cannot reach its cloud") && stderr.contains("invalid peer certificate"),
        "{stderr}"
    );
}

#[test]
fn a_start_that_waits_stops_on_sigterm() {
    let dir = tempfile::tempdir().unwrap();
    // A printer whose INFRA service refuses connections: the start waits for it to advertise.
    let fleet = format!(
        "[fleet]\nconnection = {{ mode = \"infra\", printer_uri = \"ipp://127.0.0.1:9/ipp/print/lab\", username = \"lab\", password_env = \"PRINTLAB_TEST_NO_PASSWORD\" }}\n{}",
        printlab_testkit_fleet::ONE_PRINTER
    );
    std::fs::write(dir.path().join("printers.toml"), fleet).unwrap();
    let mut up = KilledOnDrop(
        up_command(dir.path(), &[])
            .env("PRINTLAB_TEST_NO_PASSWORD", "x")
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap(),
    );
    std::thread::sleep(Duration::from_secs(2));
    assert!(up.0.try_wait().unwrap().is_none(), "the start did not wait");
    // SAFETY: a signal to our own child.
    assert_eq!(unsafe { libc::kill(up.0.id() as i32, libc::SIGTERM) }, 0);
    let status = exit_within(&mut up.0, Duration::from_secs(10));
    let mut stdout = String::new();
    std::io::Read::read_to_string(&mut up.0.stdout.take().unwrap(), &mut stdout).unwrap();
    assert!(status.success(), "{status}: {stdout}");
    assert!(stdout.contains("SIGTERM during the start"), "{stdout}");
}
