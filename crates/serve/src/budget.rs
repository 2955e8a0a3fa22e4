//! The budget of connections that have not yet sent an authenticated request.
//!
//! Every accepted connection starts unauthenticated and is admitted here; the service calls
//! [`ConnectionTrust::authenticated`] once one of its requests carries valid credentials, and
//! from then on the budget forgets it. When admitting a connection would exceed the budget, the
//! oldest unauthenticated connection is closed instead of refusing the new one: a real client
//! sends its request right after connecting and authenticates, while what lingers longest
//! unauthenticated is what sends nothing useful.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use tokio_util::sync::CancellationToken;

pub(super) struct ConnectionBudget {
    limit: usize,
    /// Unauthenticated connections by admission order, each with the token that closes it.
    waiting: Mutex<Waiting>,
}

#[derive(Default)]
struct Waiting {
    next: u64,
    open: BTreeMap<u64, CancellationToken>,
}

impl ConnectionBudget {
    pub(super) fn new(limit: usize) -> Arc<Self> {
        Arc::new(Self {
            limit: limit.max(1),
            waiting: Mutex::default(),
        })
    }

    fn waiting(&self) -> std::sync::MutexGuard<'_, Waiting> {
        // Every change under this lock is one map operation, so a poisoned lock holds no
        // half-made change.
        self.waiting
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Admits a new connection, closing the oldest unauthenticated ones beyond the budget.
    pub(super) fn admit(self: &Arc<Self>) -> ConnectionTrust {
        let evict = CancellationToken::new();
        let id = {
            let mut waiting = self.waiting();
            while waiting.open.len() >= self.limit {
                if let Some((_, oldest)) = waiting.open.pop_first() {
                    tracing::debug!(
                        budget = self.limit,
                        "closing the oldest unauthenticated connection: the budget is full"
                    );
                    oldest.cancel();
                }
            }
            let id = waiting.next;
            waiting.next += 1;
            waiting.open.insert(id, evict.clone());
            id
        };
        ConnectionTrust(Arc::new(Admission {
            id,
            budget: self.clone(),
            authenticated: AtomicBool::new(false),
            evict,
        }))
    }

    /// Closes the oldest unauthenticated connection (to free its file descriptor); false when
    /// there is none.
    pub(super) fn evict_oldest(&self) -> bool {
        match self.waiting().open.pop_first() {
            Some((_, oldest)) => {
                oldest.cancel();
                true
            }
            None => false,
        }
    }
}

struct Admission {
    id: u64,
    budget: Arc<ConnectionBudget>,
    authenticated: AtomicBool,
    /// Cancelled when the budget closes this connection.
    evict: CancellationToken,
}

impl Drop for Admission {
    fn drop(&mut self) {
        self.budget.waiting().open.remove(&self.id);
    }
}

/// What a request knows of its connection's standing; every request served by
/// [`serve`](crate::serve) carries one as an extension.
#[derive(Clone)]
pub struct ConnectionTrust(Arc<Admission>);

impl ConnectionTrust {
    /// The connection has sent valid credentials: the budget of unauthenticated connections no
    /// longer counts or closes it.
    pub fn authenticated(&self) {
        if !self.0.authenticated.swap(true, Ordering::AcqRel) {
            self.0.budget.waiting().open.remove(&self.0.id);
        }
    }

    /// Whether [`ConnectionTrust::authenticated`] was called for this connection.
    pub fn is_authenticated(&self) -> bool {
        self.0.authenticated.load(Ordering::Acquire)
    }

    /// Resolves when the budget closes this connection.
    pub(super) async fn evicted(&self) {
        self.0.evict.cancelled().await
    }
}
