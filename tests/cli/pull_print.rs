//! Pull printing done entirely with printlab commands, in the folder where `printlab up` runs:
//! `pull setup` makes a printer hold its jobs, `pull held` lists them, `release` prints one,
//! `abort` ends another, `redirect` moves a third to another printer, and `teardown` lets jobs
//! print at once again. The tokens each step needs are minted from the lab's signing key.

use super::cli_e2e::{Up, job_id_of, print_args, up};
use std::time::{Duration, Instant};

/// The job's final state: `printlab job ID --watch` follows it to the end (exit 0 only if it
/// completed), then `--json` shows it.
fn finished(up: &Up, job: &str, printer: &str) -> serde_json::Value {
    let watched = up.run(&["job", job, "--printer", printer, "--watch"]);
    assert!(
        watched.status.success(),
        "job {job} did not complete ({}): {}",
        watched.status,
        String::from_utf8_lossy(&watched.stderr)
    );
    shown(up, job, printer)
}

fn shown(up: &Up, job: &str, printer: &str) -> serde_json::Value {
    serde_json::from_str(&up.ok(&["job", job, "--printer", printer, "--json"])).unwrap()
}

#[test]
fn pull_printing_from_the_command_line_releases_aborts_and_redirects() {
    let dir = tempfile::tempdir().unwrap();
    let up = up(dir.path());
    let page = dir.path().join("page.pdf");
    up.ok(&["testpage", "-o", page.to_str().unwrap(), "--pages", "1"]);

    let setup = up.ok(&["pull", "setup", "--printer", "Mono Test"]);
    assert!(
        setup.contains("now wait for printlab-release-station"),
        "{setup}"
    );
    // One trigger per printer: a second setup is refused with what to do.
    let again = up.run(&["pull", "setup", "--printer", "Mono Test"]);
    assert_eq!(again.status.code(), Some(5));
    assert!(String::from_utf8_lossy(&again.stderr).contains("pull teardown"));

    let jobs: Vec<String> = (0..3)
        .map(|_| job_id_of(&up.ok(&print_args(&page, "Mono Test", &[]))))
        .collect();
    // Every job waits for the app, listed with its printer and owner.
    let deadline = Instant::now() + Duration::from_secs(20);
    let held = loop {
        let held: serde_json::Value =
            serde_json::from_str(&up.ok(&["pull", "held", "--json"])).unwrap();
        if held.as_array().unwrap().len() == jobs.len() || Instant::now() > deadline {
            break held;
        }
        std::thread::sleep(Duration::from_millis(100));
    };
    let listed: Vec<&str> = (held.as_array().unwrap().iter())
        .map(|row| row["job"].as_str().unwrap())
        .collect();
    for job in &jobs {
        assert!(listed.contains(&job.as_str()), "{job} not in {held}");
    }
    for row in held.as_array().unwrap() {
        assert_eq!(row["printer"], "Mono Test", "{row}");
        assert!(row["owner"].as_str().unwrap().contains('@'), "{row}");
        assert_eq!(row["document"], "page.pdf", "{row}");
    }
    let status = |job: &str| shown(&up, job, "Mono Test");
    let waiting = status(&jobs[0]);
    assert_eq!(waiting["state"], "paused", "{waiting}");

    assert!(up.ok(&["pull", "release", &jobs[0]]).contains("released"));
    let aborted = up.ok(&["pull", "abort", &jobs[1], "--reason", "left the building"]);
    assert!(aborted.contains("aborted"), "{aborted}");
    let redirected = up.ok(&["pull", "redirect", &jobs[2], "--to", "Slow Test"]);
    let moved = redirected
        .rsplit("as job ")
        .next()
        .unwrap()
        .trim()
        .to_string();
    assert!(moved.parse::<u64>().is_ok(), "{redirected}");

    let released = finished(&up, &jobs[0], "Mono Test");
    assert_eq!(released["state"], "completed", "{released}");
    let ended = status(&jobs[1]);
    assert_eq!(ended["state"], "aborted", "{ended}");
    assert!(
        ended["description"]
            .as_str()
            .unwrap()
            .contains("left the building"),
        "{ended}"
    );
    let elsewhere = finished(&up, &moved, "Slow Test");
    assert_eq!(elsewhere["state"], "completed", "{elsewhere}");
    let original = status(&jobs[2]);
    assert_eq!(original["state"], "completed", "{original}");

    // Nothing waits any more; a job that is not waiting is named as such. The tokens `pull
    // --help` tells how to mint serve as well as the ones minted from --data.
    let help = up.ok(&["pull", "--help"]);
    let minted = |variable: &str| {
        let command = help
            .split(&format!("export {variable}=$(printlab "))
            .nth(1)
            .unwrap();
        let command = command.split(')').next().unwrap().replace("\\\n", " ");
        let args: Vec<&str> = command.split_whitespace().collect();
        up.ok(&[args.as_slice(), &["--data", "spool/cloud"]].concat())
            .trim()
            .to_string()
    };
    let (app, admin) = (minted("PRINTLAB_APP_TOKEN"), minted("PRINTLAB_ADMIN_TOKEN"));
    let held = up
        .here()
        .env("PRINTLAB_APP_TOKEN", app)
        .env("PRINTLAB_ADMIN_TOKEN", admin)
        .args(["pull", "held", "--data", "no-such-folder"])
        .output()
        .unwrap();
    let listed = String::from_utf8_lossy(&held.stdout);
    assert!(listed.contains("no job is waiting"), "{listed}{held:?}");
    let stale = up.run(&["pull", "release", &jobs[0]]);
    assert_eq!(stale.status.code(), Some(5));
    assert!(String::from_utf8_lossy(&stale.stderr).contains("is not waiting for release"));

    // After teardown a job prints at once.
    up.ok(&["pull", "teardown", "--printer", "Mono Test"]);
    let direct = job_id_of(&up.ok(&print_args(&page, "Mono Test", &["--wait"])));
    assert_eq!(status(&direct)["state"], "completed");
}
