//! What changed in the cloud, for a process that embeds it to follow live (the lab's
//! dashboard shows each printer as Graph shows it, and each job from the moment Graph has it).
//!
//! - **Persisted before announced.** A printer or job written to the store is announced only
//!   once the store flush that made it durable has returned ([`crate::store::Store::flush`]),
//!   so a follower never shows what a crash could take back; each handler already flushes
//!   before it answers, so nothing waits longer than the answer.
//! - **Upload progress** is announced as each range's span is recorded and flushed (the
//!   upload engine's own promise), never per chunk in flight.
//! - **Cheap when nobody follows**: with no subscriber nothing is recorded or sent.
//! - **In process only**: a broadcast channel. [`graph_events`](graph_events::graph_events)
//!   turns it into Graph-shaped events, coalesced per follower ([`coalesce`]), so a busy cloud
//!   sends each changed printer or job at most once per window and each upload's progress at
//!   most a few times a second.

pub(crate) mod coalesce;
pub(crate) mod graph_events;

pub use graph_events::GraphEvent;

use std::collections::HashSet;
use std::sync::{Arc, Mutex};
use tokio::sync::broadcast;

/// How many changes a slow follower may fall behind before it is sent everything again.
const BACKLOG: usize = 4096;

/// One change, named by its key; followers read the record itself from the store.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum CloudChange {
    Printer { printer_id: String },
    Job { printer_id: String, job_id: u64 },
    Upload(UploadProgress),
}

/// How much of a job's document is stored, as the upload engine recorded it.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct UploadProgress {
    pub printer_id: String,
    pub job_id: String,
    pub document_id: String,
    /// As the upload session declared it (the printDocument has it only once complete).
    pub document_name: String,
    pub bytes_received: u64,
    pub size: u64,
}

/// The cloud's change feed: changes written but not yet flushed, and the channel that
/// announces them once they are.
#[derive(Clone)]
pub struct ChangeFeed {
    sender: broadcast::Sender<CloudChange>,
    unflushed: Arc<Mutex<HashSet<CloudChange>>>,
}

impl Default for ChangeFeed {
    fn default() -> Self {
        Self {
            sender: broadcast::channel(BACKLOG).0,
            unflushed: Arc::default(),
        }
    }
}

impl ChangeFeed {
    /// Follows every change announced from now on.
    pub fn subscribe(&self) -> broadcast::Receiver<CloudChange> {
        self.sender.subscribe()
    }

    fn followed(&self) -> bool {
        self.sender.receiver_count() > 0
    }

    fn unflushed(&self) -> std::sync::MutexGuard<'_, HashSet<CloudChange>> {
        self.unflushed
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// A record was written; it is announced after the next flush.
    pub(crate) fn wrote(&self, change: CloudChange) {
        if self.followed() {
            self.unflushed().insert(change);
        }
    }

    /// What was written so far, taken before a flush that will make it durable.
    pub(crate) fn take_unflushed(&self) -> Vec<CloudChange> {
        std::mem::take(&mut *self.unflushed()).into_iter().collect()
    }

    /// Announces changes already durable.
    pub(crate) fn announce(&self, changes: impl IntoIterator<Item = CloudChange>) {
        for change in changes {
            // No follower left: nothing to tell.
            let _ = self.sender.send(change);
        }
    }

    /// An upload's recorded progress (already flushed by the upload engine).
    pub(crate) fn upload_progress(&self, progress: UploadProgress) {
        if self.followed() {
            self.announce([CloudChange::Upload(progress)]);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn job(id: u64) -> CloudChange {
        CloudChange::Job {
            printer_id: "p".into(),
            job_id: id,
        }
    }

    #[test]
    fn nothing_is_kept_without_a_follower_and_writes_are_announced_once_each() {
        let feed = ChangeFeed::default();
        feed.wrote(job(1));
        assert!(
            feed.take_unflushed().is_empty(),
            "no follower, nothing kept"
        );
        let mut follower = feed.subscribe();
        feed.wrote(job(2));
        feed.wrote(job(2));
        feed.wrote(job(3));
        assert!(
            follower.try_recv().is_err(),
            "nothing announced before the flush"
        );
        let mut taken = feed.take_unflushed();
        taken.sort_by_key(|c| format!("{c:?}"));
        assert_eq!(taken, [job(2), job(3)]);
        feed.announce(taken);
        assert_eq!(follower.try_recv().unwrap(), job(2));
        assert_eq!(follower.try_recv().unwrap(), job(3));
        assert!(feed.take_unflushed().is_empty());
    }
}
