//! `printlab cloud` and `printlab token` as a user runs them: the token the CLI mints from the
//! data folder is accepted by the running cloud.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};

/// Kills the cloud process when the test ends, pass or fail.
struct Child(std::process::Child);

impl Drop for Child {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[tokio::test]
async fn cli_token_is_accepted_by_the_cli_cloud() {
    let exe = env!("CARGO_BIN_EXE_printlab");
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().to_str().unwrap();
    let mut cloud = Child(
        Command::new(exe)
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
    let base = first_line.trim().to_string();
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
