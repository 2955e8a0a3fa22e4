//! Every client command, as a person types it, against `printlab up` (a real cloud and a real
//! fleet on loopback, in a child process): printers, printer, print --wait (with the PNG paths),
//! jobs, job, cancel, an option the printer lacks, an upload killed midway and resumed by a
//! second run, and `demo --cloud` against the same lab.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

/// A mono printer that fails URF, then the harness's one printer, slowed to 6 pages a minute.
pub(super) const MONO: &str = r#"
[fleet]
connection = { mode = "universal-print" }

[[printer]]
name = "Mono Test"
manufacturer = "printlab"
model = "Mono 1"
[printer.capabilities]
document_formats = ["application/pdf", "image/urf", "image/jpeg"]
media = [
    { size = "A4", margins = { top = 4, bottom = 4, left = 4, right = 4 } },
    { size = "North America Letter", margins = { top = 4, bottom = 4, left = 4, right = 4 } },
]
dpis = [150, 300]
color_modes = ["blackAndWhite", "grayscale"]
duplex_modes = ["oneSided", "flipOnLongEdge"]
pages_per_sheet = [1, 2]
multipage_layouts = ["clockwiseFromTopLeft"]
orientations = ["portrait", "landscape"]
scalings = ["auto", "fit"]
finishings = ["none"]
copies = { min = 1, max = 9 }
collation = true
page_ranges = true
[printer.defaults]
document_format = "application/pdf"
media_size = "A4"
color_mode = "blackAndWhite"
duplex_mode = "oneSided"
dpi = 150
copies = 1
[printer.engine]
pages_per_minute = 60
full_speed = true
[printer.faults]
failing_formats = ["image/urf"]

"#;

pub(super) fn fleet() -> String {
    let slow = printlab_testkit_fleet::ONE_PRINTER
        .replace(r#"name = "Lab""#, r#"name = "Slow Test""#)
        .replace(r#"model = "Emulated Laser""#, r#"model = "Slow 1""#)
        .replace("dpis = [72]", "dpis = [150]")
        .replace("dpi = 72", "dpi = 150")
        .replace(
            "pages_per_minute = 600\nwarm_up_seconds = 0\n",
            "pages_per_minute = 6\n",
        );
    format!("{MONO}{slow}")
}

pub(super) fn printlab() -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_printlab"));
    command
        .env_remove("PRINTLAB_TOKEN")
        .env_remove("PRINTLAB_CLOUD")
        .env_remove("PRINTLAB_CONTROL")
        .env_remove("PRINTLAB_DATA")
        .env_remove("PRINTLAB_LISTEN")
        .env_remove("PRINTLAB_IPP_LISTEN")
        .env_remove("PRINTLAB_PUBLIC_URL");
    command
}

/// `printlab up` in a child process; killed when dropped.
pub(super) struct Up {
    child: Child,
    pub(super) url: String,
    pub(super) token: String,
    pub(super) dir: PathBuf,
}

impl Drop for Up {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub(super) fn up(dir: &Path) -> Up {
    up_with(dir, &fleet(), "127.0.0.1:0", &[])
}

/// `printlab up --listen LISTEN` in `dir` with `printers_toml` as its fleet and the flags `extra`.
pub(super) fn up_with(dir: &Path, printers_toml: &str, listen: &str, extra: &[&str]) -> Up {
    std::fs::write(dir.join("printers.toml"), printers_toml).unwrap();
    let mut child = printlab()
        .current_dir(dir)
        .args([
            "up",
            "--listen",
            listen,
            "--ipp-listen",
            "127.0.0.1:0",
            "--log",
            "warn",
        ])
        .args(extra)
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let url = loop {
        let line = lines
            .next()
            .expect("printlab up ended before its welcome")
            .unwrap();
        if let Some(rest) = line.strip_prefix("printlab is up: ") {
            break rest.rsplit(' ').next().unwrap().to_string();
        }
    };
    // Keep draining the welcome so the child never blocks on a full pipe.
    std::thread::spawn(move || for _ in lines {});
    let token = std::fs::read_to_string(dir.join("spool/user.token")).unwrap();
    Up {
        child,
        url,
        token: token.trim().to_string(),
        dir: dir.to_path_buf(),
    }
}

/// `printlab print FILE --printer PRINTER` and the options `extra`: the command line the tests
/// here print with.
pub(super) fn print_args<'a>(file: &'a Path, printer: &'a str, extra: &[&'a str]) -> Vec<&'a str> {
    let mut args = vec!["print", file.to_str().unwrap(), "--printer", printer];
    args.extend_from_slice(extra);
    args
}

impl Up {
    /// `printlab ARGS` in the lab's folder, told the cloud's address by PRINTLAB_CLOUD.
    pub(super) fn run(&self, args: &[&str]) -> Output {
        self.here()
            .env("PRINTLAB_CLOUD", &self.url)
            .args(args)
            .output()
            .unwrap()
    }

    /// `printlab` in the lab's folder, told nothing of where the lab is (it finds `spool/`).
    pub(super) fn here(&self) -> Command {
        let mut command = printlab();
        command
            .current_dir(&self.dir)
            .env("PRINTLAB_STATE_DIR", self.dir.join("client-state"));
        command
    }

    #[track_caller]
    pub(super) fn ok(&self, args: &[&str]) -> String {
        let out = self.run(args);
        assert!(
            out.status.success(),
            "printlab {args:?} failed ({}):\n{}\n{}",
            out.status,
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap()
    }
}

pub(super) fn job_id_of(stdout: &str) -> String {
    stdout
        .lines()
        .find_map(|l| l.strip_prefix("job ")?.split_whitespace().next())
        .unwrap_or_else(|| panic!("no job line in {stdout}"))
        .trim_end_matches(':')
        .to_string()
}

#[test]
fn every_command_works_against_up() {
    let dir = tempfile::tempdir().unwrap();
    let up = up(dir.path());

    // printers / printer: both printers, shared, with capabilities as a table.
    let listed: serde_json::Value = serde_json::from_str(&up.ok(&["printers", "--json"])).unwrap();
    let names: Vec<&str> = listed
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["name"].as_str().unwrap())
        .collect();
    assert!(
        listed
            .as_array()
            .unwrap()
            .iter()
            .all(|p| p["state"] != "unknown" && p["acceptingJobs"].is_boolean()),
        "{listed}"
    );
    assert!(
        names.contains(&"Mono Test") && names.contains(&"Slow Test"),
        "{names:?}"
    );
    let table = up.ok(&["printer", "Mono Test"]);
    assert!(
        table.contains("flipOnLongEdge") && table.contains("150"),
        "{table}"
    );

    // print --wait: completes and names PNG files that exist.
    let page = dir.path().join("page.pdf");
    up.ok(&["testpage", "-o", page.to_str().unwrap(), "--pages", "3"]);
    let printed = up.ok(&print_args(
        &page,
        "Mono Test",
        &["--duplex", "long", "--nup", "2", "--wait"],
    ));
    assert!(printed.contains("completed"), "{printed}");
    let pngs: Vec<&str> = printed
        .lines()
        .map(str::trim)
        .filter(|l| l.ends_with(".png"))
        .collect();
    // 3 pages 2-up = 2 impressions on one duplex sheet.
    assert_eq!(pngs.len(), 2, "{printed}");
    for png in &pngs {
        assert!(Path::new(png).is_file(), "{png} missing");
    }
    let job = job_id_of(&printed);

    // jobs / job.
    let jobs: serde_json::Value = serde_json::from_str(&up.ok(&["jobs", "--json"])).unwrap();
    assert!(
        jobs.as_array()
            .unwrap()
            .iter()
            .any(|j| j["id"] == job.as_str()),
        "{jobs}"
    );
    assert!(up.ok(&["job", &job]).contains("completed"));

    // A format the printer fails on ends aborted with a reason: exit 6 for --wait.
    let urf = dir.path().join("page.urf");
    std::fs::write(&urf, printlab_render::samples::urf_gray(1, 200, 280, 50)).unwrap();
    let failed = up.run(&print_args(&urf, "Mono Test", &["--wait"]));
    assert_eq!(failed.status.code(), Some(6), "{failed:?}");
    assert!(String::from_utf8_lossy(&failed.stdout).contains("aborted"));

    // An option the printer does not have is refused before upload, naming what it has.
    let refused = up.run(&print_args(&page, "Slow Test", &["--duplex", "long"]));
    assert_eq!(refused.status.code(), Some(3), "{refused:?}");
    assert!(String::from_utf8_lossy(&refused.stderr).contains("oneSided"));

    // cancel: a slow printer's job stops.
    let slow = up.ok(&print_args(&page, "Slow Test", &[]));
    let slow_job = job_id_of(&slow);
    up.ok(&["cancel", &slow_job]);
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let shown = up.ok(&["job", &slow_job]);
        if shown.contains("canceled") {
            break;
        }
        assert!(Instant::now() < deadline, "job not canceled: {shown}");
        std::thread::sleep(Duration::from_millis(200));
    }

    // An upload killed midway resumes from where it stopped; print checks the stored SHA-256.
    let big = dir.path().join("big.pdf");
    let mut bytes = b"%PDF-1.7\n".to_vec();
    bytes.extend((0..160u64 << 20).map(|i| (i.wrapping_mul(2654435761) >> 13) as u8));
    std::fs::write(&big, &bytes).unwrap();
    let mut first = printlab()
        .current_dir(&up.dir)
        .env("PRINTLAB_CLOUD", &up.url)
        .env("PRINTLAB_STATE_DIR", up.dir.join("client-state"))
        .args(print_args(&big, "Mono Test", &["--range-size", "1048576"]))
        .stderr(Stdio::piped())
        .stdout(Stdio::null())
        .spawn()
        .unwrap();
    let mut progress = BufReader::new(first.stderr.take().unwrap()).lines();
    let seen = progress
        .by_ref()
        .map_while(Result::ok)
        .find(|l| l.contains("uploaded") && !l.contains("uploaded 0 of"));
    first.kill().unwrap();
    first.wait().unwrap();
    assert!(
        seen.is_some(),
        "the first run showed no progress before it ended"
    );
    let second = up.run(&print_args(&big, "Mono Test", &["--range-size", "1048576"]));
    let stderr = String::from_utf8_lossy(&second.stderr);
    assert!(second.status.success(), "{stderr}");
    assert!(stderr.contains("resuming job"), "{stderr}");
    let sha = printlab_client::upload::file_sha256(&big).unwrap().1;
    assert!(String::from_utf8_lossy(&second.stdout).contains(&sha));

    // demo against the same lab: every job ends as expected (the URF one aborts on purpose).
    let demo = up.run(&[
        "demo", "--cloud", &up.url, "--token", &up.token, "--data", "demo-out",
    ]);
    let shown = String::from_utf8_lossy(&demo.stdout);
    assert!(
        demo.status.success(),
        "{shown}\n{}",
        String::from_utf8_lossy(&demo.stderr)
    );
    assert!(
        shown.contains(
            "every job ended as expected, and every completed job printed what it asked for"
        ) && shown.contains("(meant to)"),
        "{shown}"
    );
    // Progress with an estimate, and each completed job's output checked, page ranges shown.
    assert!(
        shown.contains("progress [") && shown.contains(" ETA "),
        "{shown}"
    );
    assert!(
        shown.contains(" checked ") && shown.contains(" 1-3 "),
        "{shown}"
    );
}
