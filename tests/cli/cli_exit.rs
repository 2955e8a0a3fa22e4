//! The exit codes of README.md's table and the command's output ends, as scripts meet them: each
//! testable row of the table, `up --config` naming a file that is not there, a closed stdout
//! pipe, and logs written to a file.

use super::cli_e2e::printlab;
use printlab_testkit::TestCloud;
use std::io::Read;
use std::os::fd::{FromRawFd, OwnedFd};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

#[track_caller]
fn exits(code: i32, args: &[&str], out: &Output) {
    assert_eq!(
        out.status.code(),
        Some(code),
        "printlab {args:?}:\n{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// A loopback address nothing listens on.
fn closed_address() -> String {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    format!("http://{}", listener.local_addr().unwrap())
}

// Multi-threaded: the test thread waits for the child while the cloud answers it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn exit_codes_follow_the_readme_table() {
    let dir = tempfile::tempdir().unwrap();
    let page = dir.path().join("page.pdf");
    let page = page.to_str().unwrap();
    let out = dir.path().join("out");
    let out = out.to_str().unwrap();
    let cloud = TestCloud::start().await;
    let unreachable = closed_address();
    let run = |args: &[&str]| {
        printlab()
            .current_dir(dir.path())
            .env("PRINTLAB_STATE_DIR", dir.path().join("state"))
            .args(args)
            .output()
            .unwrap()
    };
    let rows: Vec<(i32, Vec<&str>)> = vec![
        (0, vec!["testpage", "-o", page]),
        // 1: a local file cannot be read.
        (1, vec!["render", "missing.pdf", "-o", out]),
        // 2: the command line is wrong: unknown flag, missing argument, a value that cannot be.
        (2, vec!["media", "--bogus"]),
        (2, vec!["print"]),
        (2, vec!["print", page, "--cloud", &cloud.url]),
        (2, vec!["print", page, "--printer", "P", "--pages", "0-2"]),
        (2, vec!["print", page, "--printer", "P", "--copies", "0"]),
        (2, vec!["render", page, "-o", out, "--margin", "5,5"]),
        (2, vec!["token", "--app", "x", "--admin"]),
        (2, vec!["token", "--scopes", "Printer.Read.All"]),
        // 4: the cloud cannot be reached.
        (4, vec!["printers", "--cloud", &unreachable, "--token", "t"]),
        // 5: the cloud refused the request (a token it did not sign).
        (
            5,
            vec!["printers", "--cloud", &cloud.url, "--token", "bogus"],
        ),
    ];
    for (code, args) in &rows {
        exits(*code, args, &run(args));
    }
}

#[test]
fn up_refuses_a_config_file_that_is_not_there() {
    let dir = tempfile::tempdir().unwrap();
    let args = ["up", "--listen", "127.0.0.1:0", "--config", "missing.toml"];
    let mut child = printlab()
        .current_dir(dir.path())
        .args(args)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(30);
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if Instant::now() > deadline {
            child.kill().unwrap();
            child.wait().unwrap();
            panic!("`printlab {args:?}` ran a fleet instead of refusing");
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    let mut stderr = String::new();
    child.stderr.unwrap().read_to_string(&mut stderr).unwrap();
    assert_eq!(status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("missing.toml"), "{stderr}");
}

/// A pipe whose reading end is already closed, as `| head -1` leaves it once head has its line.
fn closed_pipe() -> OwnedFd {
    let mut fds = [0; 2];
    assert_eq!(unsafe { libc::pipe(fds.as_mut_ptr()) }, 0);
    // SAFETY: pipe() just opened both descriptors and nothing else owns them.
    let (read, write) = unsafe { (OwnedFd::from_raw_fd(fds[0]), OwnedFd::from_raw_fd(fds[1])) };
    drop(read);
    write
}

#[test]
fn a_closed_stdout_pipe_ends_the_command_quietly() {
    let dir = tempfile::tempdir().unwrap();
    for args in [
        &["media", "--json"][..],
        &["media"],
        &["validate", "--schema"],
    ] {
        let out = printlab()
            .current_dir(dir.path())
            .args(args)
            .stdout(closed_pipe())
            .output()
            .unwrap();
        exits(0, args, &out);
        assert!(
            out.stderr.is_empty(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

#[test]
fn logs_written_to_a_file_have_no_colour_codes() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("cloud.log");
    let mut cloud = Command::new(env!("CARGO_BIN_EXE_printlab"))
        .args(["cloud", "--listen", "127.0.0.1:0", "--data"])
        .arg(dir.path().join("cloud"))
        .env_remove("NO_COLOR")
        .env("PRINTLAB_LOG", "info")
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(&log).unwrap())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(30);
    let text = loop {
        let text = std::fs::read_to_string(&log).unwrap();
        if text.contains("cloud serving Graph") || Instant::now() > deadline {
            break text;
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    cloud.kill().unwrap();
    cloud.wait().unwrap();
    assert!(text.contains("cloud serving Graph"), "{text}");
    assert!(
        !text.contains('\u{1b}'),
        "colour codes in a log file: {text:?}"
    );
}
