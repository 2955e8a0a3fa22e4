//! Kill -9 a real process while it writes the spool, at many points, and check after each crash
//! that the spool is whole: records agree with their chunks and events, document bytes are
//! exactly what was written, and nothing the writer had flushed and announced is lost.
//!
//! The writer is this test binary itself, run with `--ignored --exact spool_writer_child` and the
//! spool folder in an environment variable; it behaves like a device working through a stream
//! of jobs, resuming whatever the spool holds after each restart.

use printlab_device::spool::{NewJob, Spool};
use printlab_graph::PrintJobProcessingState;
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Write};
use std::process::{Command, Stdio};
use std::time::Duration;

const CHILD_ENV: &str = "PRINTLAB_SPOOL_CRASH_DIR";
const PRINTER: &str = "Crash Printer";
const SHEETS: u64 = 5;

fn byte_at(job: u32, offset: u64) -> u8 {
    ((offset * 31 + u64::from(job) * 7) % 251) as u8
}

fn doc_len(job: u32) -> u64 {
    20_000 + (u64::from(job) * 7919) % 30_000
}

fn chunk_len(job: u32, offset: u64) -> u64 {
    1 + (u64::from(job) * 977 + offset * 131) % 4000
}

fn document(job: u32, len: u64) -> Vec<u8> {
    (0..len).map(|o| byte_at(job, o)).collect()
}

#[test]
#[ignore = "the writer process of spool_survives_kill_9_at_many_points"]
fn spool_writer_child() {
    let Ok(dir) = std::env::var(CHILD_ENV) else {
        panic!("run by spool_survives_kill_9_at_many_points with {CHILD_ENV} set");
    };
    let spool = Spool::open(dir.as_ref()).unwrap();
    let mut out = std::io::stdout();
    let mut say = |line: String| {
        writeln!(out, "{line}").unwrap();
        out.flush().unwrap();
    };
    let first = spool
        .printer_jobs(PRINTER)
        .unwrap()
        .last()
        .map_or(1, |r| r.job_id);
    for job in first.. {
        let record = spool
            .create_job(
                PRINTER,
                job,
                NewJob {
                    name: Some(format!("job {job}")),
                    ..Default::default()
                },
            )
            .unwrap();
        if record.state.is_terminal() {
            continue;
        }
        if !record.acknowledged {
            spool
                .update(PRINTER, job, "acknowledged", "", |r| {
                    r.acknowledged = true;
                    r.state = PrintJobProcessingState::Processing;
                })
                .unwrap();
            spool.flush().unwrap();
            say(format!("ack {job}"));
        }
        let record = spool
            .begin_document(
                PRINTER,
                job,
                1,
                "application/octet-stream",
                None,
                Some(doc_len(job)),
            )
            .unwrap();
        let doc = record.document.unwrap();
        if doc.sha256.is_none() {
            let mut offset = doc.bytes_received;
            while offset < doc_len(job) {
                let end = (offset + chunk_len(job, offset)).min(doc_len(job));
                let bytes: Vec<u8> = (offset..end).map(|o| byte_at(job, o)).collect();
                offset = spool.append_chunk(PRINTER, job, offset, &bytes).unwrap();
            }
            spool.complete_document(PRINTER, job).unwrap();
            spool.flush().unwrap();
            say(format!("downloaded {job}"));
        }
        for sheet in record.progress.sheets_completed + 1..=SHEETS {
            spool
                .update(PRINTER, job, "sheet", &format!("sheet {sheet}"), |r| {
                    r.progress.sheets_completed = sheet;
                    r.progress.impressions_completed = sheet * 2;
                })
                .unwrap();
        }
        spool
            .update(PRINTER, job, "completed", "", |r| {
                r.state = PrintJobProcessingState::Completed;
            })
            .unwrap();
        spool.flush().unwrap();
        say(format!("completed {job}"));
        if job > 3 {
            spool.remove_job(PRINTER, job - 3).unwrap();
        }
    }
}

/// The furthest stage the writer announced (after a flush) for each job.
fn announced(lines: &[String], into: &mut BTreeMap<u32, u8>) {
    for line in lines {
        let Some((word, job)) = line.split_once(' ') else {
            continue;
        };
        let Ok(job) = job.trim().parse::<u32>() else {
            continue;
        };
        let stage = match word {
            "ack" => 1,
            "downloaded" => 2,
            "completed" => 3,
            _ => continue,
        };
        let e = into.entry(job).or_default();
        *e = (*e).max(stage);
    }
}

fn check(spool: &Spool, durable: &BTreeMap<u32, u8>) -> usize {
    assert_eq!(spool.verify().unwrap(), Vec::<String>::new());
    let records = spool.printer_jobs(PRINTER).unwrap();
    let newest = records.last().map_or(0, |r| r.job_id);
    for r in &records {
        let doc = r.document.as_ref();
        let received = doc.map_or(0, |d| d.bytes_received);
        let bytes = spool.document_bytes(PRINTER, r.job_id).unwrap();
        assert_eq!(bytes.len() as u64, received);
        assert!(
            bytes == document(r.job_id, received),
            "job {} bytes differ",
            r.job_id
        );
        if let Some(sha) = doc.and_then(|d| d.sha256.as_ref()) {
            assert_eq!(received, doc_len(r.job_id));
            let digest = hex::encode(Sha256::digest(&bytes));
            assert_eq!(sha, &digest);
        }
        assert!(r.progress.sheets_completed <= SHEETS);
        assert_eq!(
            r.progress.impressions_completed,
            r.progress.sheets_completed * 2
        );
        let events = spool.events(PRINTER, r.job_id).unwrap();
        assert_eq!(events.len() as u64, r.next_event);
        if r.state == PrintJobProcessingState::Completed {
            assert_eq!(r.progress.sheets_completed, SHEETS);
        }
    }
    for (&job, &stage) in durable {
        let record = records.iter().find(|r| r.job_id == job);
        let Some(r) = record else {
            // Only the writer's clean-up removes jobs, and only finished ones three behind.
            assert!(
                stage == 3 || job + 3 <= newest,
                "announced job {job} was lost"
            );
            continue;
        };
        assert!(r.acknowledged, "job {job} lost its acknowledgement");
        if stage >= 2 {
            assert!(
                r.document.as_ref().is_some_and(|d| d.sha256.is_some()),
                "job {job} lost its download"
            );
        }
        if stage >= 3 {
            assert_eq!(
                r.state,
                PrintJobProcessingState::Completed,
                "job {job} lost its completion"
            );
        }
    }
    records
        .iter()
        .filter(|r| r.state == PrintJobProcessingState::Completed)
        .count()
}

#[test]
fn spool_survives_kill_9_at_many_points() {
    let dir = tempfile::tempdir().unwrap();
    let exe = std::env::current_exe().unwrap();
    let mut durable = BTreeMap::new();
    for round in 0..24u64 {
        let mut child = Command::new(&exe)
            .args([
                "--ignored",
                "--exact",
                "device_spool_crash::spool_writer_child",
                "--nocapture",
                "--test-threads=1",
            ])
            .env(CHILD_ENV, dir.path())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let stdout = child.stdout.take().unwrap();
        let reader = std::thread::spawn(move || {
            BufReader::new(stdout)
                .lines()
                .map_while(Result::ok)
                .collect::<Vec<_>>()
        });
        // Spread the kills over start-up, downloads, progress updates and clean-up.
        std::thread::sleep(Duration::from_millis(15 + (round * 53) % 320));
        child.kill().unwrap(); // SIGKILL on Unix
        child.wait().unwrap();
        let lines = reader.join().unwrap();
        announced(&lines, &mut durable);
        let spool = Spool::open(dir.path()).unwrap();
        check(&spool, &durable);
    }
    let done = durable.values().filter(|s| **s == 3).count();
    assert!(
        done >= 10,
        "the writer completed only {done} jobs in 24 runs"
    );
}
