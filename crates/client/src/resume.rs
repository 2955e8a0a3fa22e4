//! The small files that let a second run of an interrupted `printlab print` continue the first
//! run's job instead of printing twice, without ever taking a job another live run is uploading.
//!
//! A print request (cloud, target, file content, options) has a key; each run of it owns one
//! record, `<key>.<id>.json`, and holds an OS lock on its companion `<key>.<id>.lock` for as long
//! as it lives. The lock is what tells an interrupted run from a running one: the kernel drops it
//! when the process ends however it ends (Ctrl-C, `kill -9`, a crash), so a later run may take
//! over exactly the records whose lock it can take. The same command run twice at once is two
//! jobs, each with its own record.
//!
//! Records are written with `printlab_datadir::replace_file` (a temporary file, a sync, a
//! rename), so a kill never leaves half a record; each record has one writer, the run that holds
//! its lock.

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::fs::{File, OpenOptions, TryLockError};
use std::path::{Path, PathBuf};

/// Everything a second run needs to continue an interrupted print instead of starting over:
/// the job it created and the upload URL it was filling.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ResumeState {
    pub graph: String,
    pub parent: super::JobParent,
    pub file: PathBuf,
    pub size: u64,
    pub sha256: String,
    pub job_id: String,
    pub document_id: String,
    pub upload_url: Option<String>,
}

/// A folder of resume records.
pub struct ResumeStore {
    dir: PathBuf,
}

impl ResumeStore {
    pub fn new(dir: impl Into<PathBuf>) -> Self {
        Self { dir: dir.into() }
    }

    /// The key of one print request: the same command on the same bytes finds the same records;
    /// a changed file, printer, cloud or option set starts a new job.
    pub fn key(graph: &str, parent: &super::JobParent, sha256: &str, options: &str) -> String {
        let mut hasher = Sha256::new();
        for part in [graph, &format!("{parent:?}"), sha256, options] {
            hasher.update(part.as_bytes());
            hasher.update([0]);
        }
        hex::encode(&hasher.finalize()[..16])
    }

    /// Takes over the record of an interrupted run of this request if there is one no live run
    /// holds, or starts a new record. The record stays this run's until the claim is dropped or
    /// finished.
    pub fn claim(&self, key: &str) -> std::io::Result<ResumeClaim> {
        // Resume records name upload URLs, whose tempauthtoken is a credential.
        printlab_datadir::ensure_private(&self.dir).map_err(std::io::Error::other)?;
        let prefix = format!("{key}.");
        let mut records: Vec<PathBuf> = std::fs::read_dir(&self.dir)?
            .filter_map(|entry| entry.ok().map(|e| e.path()))
            .filter(|path| {
                path.file_name()
                    .and_then(|n| n.to_str())
                    .is_some_and(|n| n.starts_with(&prefix) && n.ends_with(".json"))
            })
            .collect();
        records.sort();
        for record in records {
            let lock_path = record.with_extension("lock");
            let lock = OpenOptions::new()
                .write(true)
                .create(true)
                .truncate(false)
                .open(&lock_path)?;
            match lock.try_lock() {
                Ok(()) => {}
                Err(TryLockError::WouldBlock) => continue,
                Err(TryLockError::Error(e)) => return Err(e),
            }
            let mut claim = ResumeClaim {
                _lock: lock,
                lock_path,
                record,
                state: None,
                saved: true,
            };
            // Losing an unreadable record costs a fresh upload, never a wrong document; one
            // that vanished was finished by the run that held it a moment ago.
            match read_record(&claim.record) {
                Some(state) => {
                    claim.state = Some(state);
                    return Ok(claim);
                }
                None => claim.finish()?,
            }
        }
        let (lock, lock_path) = tempfile::Builder::new()
            .prefix(&prefix)
            .suffix(".lock")
            .tempfile_in(&self.dir)?
            .keep()
            .map_err(|e| e.error)?;
        lock.try_lock().map_err(std::io::Error::from)?;
        Ok(ResumeClaim {
            record: lock_path.with_extension("json"),
            _lock: lock,
            lock_path,
            state: None,
            saved: false,
        })
    }
}

fn read_record(path: &Path) -> Option<ResumeState> {
    serde_json::from_slice(&std::fs::read(path).ok()?).ok()
}

/// One run's record, locked for as long as the run holds it.
pub struct ResumeClaim {
    /// Held open and locked, never read: the lock is the claim, released when the file closes.
    _lock: File,
    lock_path: PathBuf,
    record: PathBuf,
    state: Option<ResumeState>,
    /// Whether the record file exists, so dropping a claim that never saved cleans up its lock.
    saved: bool,
}

impl ResumeClaim {
    /// What the interrupted run this claim took over had recorded; `None` for a new record.
    pub fn take_state(&mut self) -> Option<ResumeState> {
        self.state.take()
    }

    /// Replaces the record whole ([`printlab_datadir::replace_file`]).
    pub fn save(&mut self, state: &ResumeState) -> std::io::Result<()> {
        printlab_datadir::replace_file(&self.record, &serde_json::to_vec_pretty(state)?)?;
        self.saved = true;
        Ok(())
    }

    /// The request is done (the job started): removes the record, then its lock file, while
    /// still holding the lock, so no other run can take the record over in between.
    pub fn finish(mut self) -> std::io::Result<()> {
        remove_if_present(&self.record)?;
        self.saved = false;
        remove_if_present(&self.lock_path)
    }
}

impl Drop for ResumeClaim {
    /// A claim that never saved a record leaves nothing behind; one that did keeps its record
    /// for the next run, and the lock goes with the file handle.
    fn drop(&mut self) {
        if !self.saved {
            let _ = remove_if_present(&self.lock_path);
        }
    }
}

fn remove_if_present(path: &Path) -> std::io::Result<()> {
    match std::fs::remove_file(path) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(e),
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn state(job_id: &str) -> ResumeState {
        ResumeState {
            graph: "http://g/v1.0".into(),
            parent: super::super::JobParent::Share("s".into()),
            file: "/tmp/a.pdf".into(),
            size: 3,
            sha256: "abc".into(),
            job_id: job_id.into(),
            document_id: "d".into(),
            upload_url: Some("http://g/uploadSessions/x".into()),
        }
    }

    fn files(dir: &Path) -> usize {
        std::fs::read_dir(dir).unwrap().count()
    }

    #[test]
    fn keys_follow_every_input() {
        let parent = super::super::JobParent::Share("s".into());
        let key = ResumeStore::key("http://g/v1.0", &parent, "abc", "{}");
        assert_ne!(key, ResumeStore::key("http://g/v1.0", &parent, "abd", "{}"));
        assert_ne!(
            key,
            ResumeStore::key("http://g/v1.0", &parent, "abc", "{\"copies\":2}")
        );
    }

    #[test]
    fn a_live_claim_is_never_taken_and_a_released_one_is_resumed() {
        let dir = tempfile::tempdir().unwrap();
        let store = ResumeStore::new(dir.path());
        let mut first = store.claim("k").unwrap();
        assert!(first.take_state().is_none());
        first.save(&state("1")).unwrap();

        // The same request while the first run lives: a record of its own.
        let mut second = store.claim("k").unwrap();
        assert!(second.take_state().is_none(), "took a live run's record");
        second.save(&state("2")).unwrap();

        // The first run ends without finishing (an interruption): its record is taken over,
        // once, while the second run's stays untouched.
        drop(first);
        let mut third = store.claim("k").unwrap();
        assert_eq!(third.take_state().map(|s| s.job_id).as_deref(), Some("1"));
        let mut fourth = store.claim("k").unwrap();
        assert!(fourth.take_state().is_none());
        drop(fourth);

        third.finish().unwrap();
        second.finish().unwrap();
        assert_eq!(
            files(dir.path()),
            0,
            "finished and unsaved claims leave nothing"
        );
        assert!(store.claim("k").unwrap().take_state().is_none());
    }

    #[test]
    fn an_unreadable_record_is_dropped_and_a_fresh_one_started() {
        let dir = tempfile::tempdir().unwrap();
        let store = ResumeStore::new(dir.path());
        let mut claim = store.claim("k").unwrap();
        claim.save(&state("1")).unwrap();
        let record = claim.record.clone();
        drop(claim);
        std::fs::write(&record, b"{ half a record").unwrap();
        let mut again = store.claim("k").unwrap();
        assert!(again.take_state().is_none());
        assert!(!record.exists());
    }
}
