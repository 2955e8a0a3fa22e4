//! Group commit: writers that finish at about the same time share one sync. The cloud's store
//! and upload engine and the devices' spool all use it.
//!
//! A writer takes a ticket after its write is done and then asks for a sync covering that
//! ticket. Syncs run one at a time; a sync covers every write whose ticket was taken before it
//! started, so writers that queued behind a running sync usually find the next one (started by
//! whoever got the lock first) already covers them and return without syncing again.

use std::future::Future;
use std::sync::atomic::{AtomicU64, Ordering};

/// One data folder's syncs: see the module.
#[derive(Default)]
pub struct GroupSync {
    written: AtomicU64,
    synced: tokio::sync::Mutex<u64>,
}

impl GroupSync {
    /// Call after a write has completed; the ticket names that write.
    pub fn wrote(&self) -> u64 {
        self.written.fetch_add(1, Ordering::SeqCst) + 1
    }

    /// Returns once a sync that started after write `ticket` has succeeded, running `sync`
    /// only if no such sync has happened yet.
    pub async fn sync_through<F, Fut, E>(&self, ticket: u64, sync: F) -> Result<(), E>
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = Result<(), E>>,
    {
        let mut synced = self.synced.lock().await;
        if *synced >= ticket {
            return Ok(());
        }
        let covers = self.written.load(Ordering::SeqCst);
        sync().await?;
        *synced = covers;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;
    use std::sync::atomic::AtomicUsize;

    #[tokio::test]
    async fn writers_queued_behind_a_sync_share_the_next_one() {
        let group = Arc::new(GroupSync::default());
        let syncs = Arc::new(AtomicUsize::new(0));
        let first = group.wrote();
        let gate = Arc::new(tokio::sync::Notify::new());
        let running = {
            let (group, syncs, gate) = (group.clone(), syncs.clone(), gate.clone());
            tokio::spawn(async move {
                group
                    .sync_through(first, || async {
                        gate.notified().await;
                        syncs.fetch_add(1, Ordering::SeqCst);
                        Ok::<_, ()>(())
                    })
                    .await
            })
        };
        tokio::task::yield_now().await;
        // Three writes finish while the first sync runs: it does not cover them...
        let later: Vec<u64> = (0..3).map(|_| group.wrote()).collect();
        let waiters: Vec<_> = later
            .into_iter()
            .map(|ticket| {
                let (group, syncs) = (group.clone(), syncs.clone());
                tokio::spawn(async move {
                    group
                        .sync_through(ticket, || async {
                            syncs.fetch_add(1, Ordering::SeqCst);
                            Ok::<_, ()>(())
                        })
                        .await
                })
            })
            .collect();
        tokio::task::yield_now().await;
        gate.notify_one();
        running.await.unwrap().unwrap();
        for w in waiters {
            w.await.unwrap().unwrap();
        }
        // ...but one more sync covers all three.
        assert_eq!(syncs.load(Ordering::SeqCst), 2);
    }

    #[tokio::test]
    async fn a_failed_sync_covers_nothing() {
        let group = GroupSync::default();
        let ticket = group.wrote();
        assert!(
            group
                .sync_through(ticket, || async { Err("disk") })
                .await
                .is_err()
        );
        let mut ran = false;
        group
            .sync_through(ticket, || {
                ran = true;
                async { Ok::<_, ()>(()) }
            })
            .await
            .unwrap();
        assert!(ran);
    }
}
