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
        (2, vec!["up", "--public-url", "localhost:8443"]),
        (2, vec!["cloud", "--public-url", "http://h/?q"]),
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
    // Once: the error quotes its cause and also keeps it as its source.
    assert_eq!(
        stderr.matches("No such file or directory").count(),
        1,
        "{stderr}"
    );
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

/// Whether `GET {base}/healthz` answers 200 (a plain HTTP/1.1 request, so the test needs no
/// async runtime).
fn healthy(base: &str) -> bool {
    use std::io::Write;
    let Some(addr) = base.strip_prefix("http://") else {
        return false;
    };
    let Ok(mut stream) = std::net::TcpStream::connect(addr) else {
        return false;
    };
    let request = format!("GET /healthz HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n");
    let mut answer = String::new();
    stream.write_all(request.as_bytes()).is_ok()
        && stream.read_to_string(&mut answer).is_ok()
        && answer.starts_with("HTTP/1.1 200")
}

/// `printlab cloud` logging at debug level into `stderr`, serving until it answers `/healthz`;
/// then it must still be running (a log line written to a stderr nobody reads must not end it)
/// and no file in its data folder may hold a log line. A closed stderr (`2>&-`) is put on
/// `/dev/null` by Rust's runtime before `main`, so no file the process opens can take its place;
/// the case stays here so a change of runtime or of how stderr is opened cannot bring it back.
fn cloud_survives_its_stderr(stderr: Stdio, close_stderr: bool, what: &str) {
    use std::io::BufRead;
    use std::os::unix::process::CommandExt;
    let dir = tempfile::tempdir().unwrap();
    let mut command = printlab();
    command
        .args(["cloud", "--listen", "127.0.0.1:0", "--data"])
        .arg(dir.path().join("cloud"))
        .env("PRINTLAB_LOG", "debug")
        .stdout(Stdio::piped())
        .stderr(stderr);
    if close_stderr {
        // SAFETY: close(2) is async-signal-safe; the child starts with no stderr at all, as
        // `printlab cloud 2>&-` does.
        unsafe {
            command.pre_exec(|| {
                libc::close(2);
                Ok(())
            });
        }
    }
    let mut cloud = super::KilledOnDrop(command.spawn().unwrap());
    let mut first = String::new();
    std::io::BufReader::new(cloud.0.stdout.take().unwrap())
        .read_line(&mut first)
        .unwrap();
    let base = first.trim().trim_end_matches("/v1.0").to_string();
    let deadline = Instant::now() + Duration::from_secs(30);
    while !healthy(&base) && cloud.0.try_wait().unwrap().is_none() {
        assert!(Instant::now() < deadline, "{what}: the cloud never served");
        std::thread::sleep(Duration::from_millis(50));
    }
    assert_eq!(
        cloud.0.try_wait().unwrap(),
        None,
        "{what}: the cloud ended (first line {first:?})"
    );
    drop(cloud);
    for entry in walk(dir.path()) {
        let bytes = std::fs::read(&entry).unwrap_or_default();
        let text = String::from_utf8_lossy(&bytes);
        assert!(
            !text.contains("cloud serving Graph"),
            "{what}: a log line landed in {}",
            entry.display()
        );
    }
}

/// Every file under `dir`.
fn walk(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut files = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            files.extend(walk(&path));
        } else {
            files.push(path);
        }
    }
    files
}

#[test]
fn a_closed_stderr_never_ends_the_cloud() {
    cloud_survives_its_stderr(Stdio::inherit(), true, "2>&-");
    cloud_survives_its_stderr(Stdio::from(closed_pipe()), false, "a closed pipe");
}

#[test]
fn an_error_told_to_a_closed_stderr_keeps_its_exit_code() {
    let dir = tempfile::tempdir().unwrap();
    let args = ["render", "missing.pdf", "-o", "out"];
    let out = printlab()
        .current_dir(dir.path())
        .args(args)
        .stderr(closed_pipe())
        .output()
        .unwrap();
    exits(1, &args, &out);
}
