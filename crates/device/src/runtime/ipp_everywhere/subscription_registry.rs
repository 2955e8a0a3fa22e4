//! The listener's ippget subscriptions (RFC 3995/3996): who subscribed to which events of which
//! printer (or of one job), each with its own numbered, bounded queue, and the wakeups that
//! Get-Notifications' long polls wait on. Kept in memory, as a printer keeps them: a client
//! whose subscription is gone after a restart hears `client-error-not-found` and subscribes
//! again.
//!
//! The cloud's INFRA service keeps its own (`printlab_cloud::infra::events`, about fifty lines
//! of queue); the two are not one module because what they queue differs (the service's
//! events carry job numbers of its store, these carry the printer's and job's state at the
//! event) and a device may not name the cloud.

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};
use tokio::sync::Notify;

/// The events a printer of the listener raises (RFC 3995 §5.3.3.4).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(super) enum EventKind {
    JobCreated,
    JobStateChanged,
    JobStopped,
    JobCompleted,
    JobProgress,
    PrinterStateChanged,
    PrinterStopped,
    PrinterConfigChanged,
}

impl EventKind {
    pub const ALL: [Self; 8] = [
        Self::JobCreated,
        Self::JobStateChanged,
        Self::JobStopped,
        Self::JobCompleted,
        Self::JobProgress,
        Self::PrinterStateChanged,
        Self::PrinterStopped,
        Self::PrinterConfigChanged,
    ];

    /// `notify-events-default`: what a subscription without `notify-events` hears (CUPS' choice).
    pub const DEFAULT: Self = Self::JobCompleted;

    pub fn keyword(self) -> &'static str {
        match self {
            Self::JobCreated => "job-created",
            Self::JobStateChanged => "job-state-changed",
            Self::JobStopped => "job-stopped",
            Self::JobCompleted => "job-completed",
            Self::JobProgress => "job-progress",
            Self::PrinterStateChanged => "printer-state-changed",
            Self::PrinterStopped => "printer-stopped",
            Self::PrinterConfigChanged => "printer-config-changed",
        }
    }

    pub fn from_keyword(keyword: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.keyword() == keyword)
    }

    /// Whether a subscription to `self` hears `raised`: RFC 3995 makes `job-created`,
    /// `job-stopped` and `job-completed` kinds of `job-state-changed`, and `printer-stopped` a
    /// kind of `printer-state-changed`.
    fn covers(self, raised: Self) -> bool {
        self == raised
            || (self == Self::JobStateChanged
                && matches!(
                    raised,
                    Self::JobCreated | Self::JobStopped | Self::JobCompleted
                ))
            || (self == Self::PrinterStateChanged && raised == Self::PrinterStopped)
    }
}

/// A job's state when the event was raised.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct JobFacts {
    pub id: u32,
    /// IPP `job-state`.
    pub state: i32,
    pub reasons: Vec<String>,
    pub impressions_completed: u64,
}

/// The printer's state when the event was raised.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct PrinterFacts {
    /// IPP `printer-state`.
    pub state: i32,
    pub reasons: Vec<String>,
    pub accepting_jobs: bool,
}

/// What happened, before a subscription numbers it.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct Happening {
    pub kind: EventKind,
    pub text: String,
    /// `printer-up-time` at the event.
    pub up_time: i32,
    /// Job events carry the job's state, printer events the printer's.
    pub job: Option<JobFacts>,
    pub printer: Option<PrinterFacts>,
}

/// One queued notification.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct Event {
    pub sequence: i32,
    /// `notify-subscribed-event`: the raised kind if the subscription asked for it, else the
    /// kind it asked for that covers it (`printer-state-changed` for `printer-stopped`), so
    /// the value is always one of the subscription's `notify-events`.
    pub subscribed: EventKind,
    pub happening: Arc<Happening>,
}

/// Events kept per subscription for a client that is slow to ask; older ones are dropped
/// (the client sees the gap in sequence numbers).
pub(super) const MAX_QUEUED_EVENTS: usize = 1000;
/// Subscriptions a printer holds at once; more are refused (`client-error-too-many-subscriptions`).
pub(super) const MAX_SUBSCRIPTIONS_PER_PRINTER: usize = 100;
/// `ippget-event-life`: how long a job subscription outlives its job's end, so the client can
/// still read `job-completed` (RFC 3996 asks for at least 15 s).
pub(super) const EVENT_LIFE: Duration = Duration::from_secs(60);
/// The longest lease a printer subscription gets (`notify-lease-duration-supported`'s upper
/// bound, RFC 3995's largest value); 0 asks for no expiry.
pub(super) const MAX_LEASE_SECONDS: i32 = 67_108_863;
/// `notify-lease-duration-default`.
pub(super) const DEFAULT_LEASE_SECONDS: i32 = 86_400;

/// What a client asked for in one subscription template group, checked.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct Template {
    pub events: Vec<EventKind>,
    pub user: Option<String>,
    pub user_data: Option<Vec<u8>>,
    pub natural_language: String,
    /// Printer subscriptions only: seconds, 0 for none.
    pub lease_seconds: i32,
    pub time_interval: i32,
}

#[derive(Debug)]
pub(super) struct Subscription {
    pub id: i32,
    /// A job subscription's job; `None` for a printer subscription.
    pub job: Option<u32>,
    pub template: Template,
    /// When the lease runs out (printer subscriptions with a lease only).
    pub expires: Option<Instant>,
    /// Set when its job ended: the subscription ends [`EVENT_LIFE`] later.
    pub job_ended: Option<Instant>,
    /// The number the next event gets (the first is 1).
    next_sequence: i32,
    queue: VecDeque<Event>,
}

impl Subscription {
    /// The sequence number of the last event queued, 0 before any.
    pub fn last_sequence(&self) -> i32 {
        self.next_sequence - 1
    }

    /// The subscribed kind this happening is heard as, if it is heard.
    fn hears(&self, happening: &Happening) -> Option<EventKind> {
        let kind = happening.kind;
        let this_job = match (&happening.job, self.job) {
            (Some(job), Some(only)) => job.id == only,
            _ => true,
        };
        let events = &self.template.events;
        let heard = if events.contains(&kind) {
            Some(kind)
        } else {
            events.iter().copied().find(|e| e.covers(kind))
        };
        heard.filter(|_| this_job)
    }

    fn offer(&mut self, happening: &Arc<Happening>, now: Instant) {
        if let (Some(job), Some(only)) = (&happening.job, self.job)
            && job.id == only
            && happening.kind == EventKind::JobCompleted
        {
            self.job_ended.get_or_insert(now);
        }
        let Some(subscribed) = self.hears(happening) else {
            return;
        };
        if self.queue.len() == MAX_QUEUED_EVENTS {
            self.queue.pop_front();
        }
        self.queue.push_back(Event {
            sequence: self.next_sequence,
            subscribed,
            happening: happening.clone(),
        });
        self.next_sequence = self.next_sequence.saturating_add(1);
    }

    /// Events numbered `from` or later; earlier ones are forgotten, since the client asking
    /// from `from` has seen them (RFC 3996 §5.2: `notify-sequence-numbers`).
    fn take_from(&mut self, from: i32) -> Vec<Event> {
        while self.queue.front().is_some_and(|e| e.sequence < from) {
            self.queue.pop_front();
        }
        self.queue.iter().cloned().collect()
    }

    fn over(&self, now: Instant) -> bool {
        self.expires.is_some_and(|at| at <= now)
            || self.job_ended.is_some_and(|at| at + EVENT_LIFE <= now)
    }
}

/// Why a subscription could not be made or found.
#[derive(Debug, PartialEq, Eq)]
pub(super) enum RegistryRefusal {
    TooMany,
    NotFound(i32),
}

#[derive(Default)]
struct Inner {
    /// Keyed by the printer's slug.
    printers: HashMap<String, Vec<Subscription>>,
    next_id: i32,
}

impl Inner {
    /// Drops the printer's subscriptions whose lease ran out or whose job ended long enough ago.
    fn purge(&mut self, printer: &str, now: Instant) -> &mut Vec<Subscription> {
        let list = self.printers.entry(printer.to_owned()).or_default();
        list.retain(|s| !s.over(now));
        list
    }
}

/// The listener's subscriptions, one registry for every printer it serves.
#[derive(Default)]
pub(super) struct Subscriptions {
    inner: Mutex<Inner>,
    /// Rung on every event and cancellation; keyed by slug, made on first wait.
    wakeups: Mutex<HashMap<String, Arc<Notify>>>,
}

impl Subscriptions {
    fn inner(&self) -> MutexGuard<'_, Inner> {
        self.inner
            .lock()
            .expect("the subscription registry is never poisoned")
    }

    /// What a long poll on `printer` waits on.
    pub fn wakeup(&self, printer: &str) -> Arc<Notify> {
        let mut wakeups = self.wakeups.lock().expect("never poisoned");
        wakeups.entry(printer.to_owned()).or_default().clone()
    }

    fn wake(&self, printer: &str) {
        let wakeups = self.wakeups.lock().expect("never poisoned");
        if let Some(wakeup) = wakeups.get(printer) {
            wakeup.notify_waiters();
        }
    }

    /// A new subscription of `printer` (for `job` only, if given); its id.
    pub fn create(
        &self,
        printer: &str,
        job: Option<u32>,
        template: Template,
    ) -> Result<i32, RegistryRefusal> {
        let now = Instant::now();
        let mut inner = self.inner();
        if inner.purge(printer, now).len() >= MAX_SUBSCRIPTIONS_PER_PRINTER {
            return Err(RegistryRefusal::TooMany);
        }
        inner.next_id = inner.next_id.checked_add(1).unwrap_or(1);
        let id = inner.next_id;
        let expires = (job.is_none() && template.lease_seconds > 0)
            .then(|| now + Duration::from_secs(template.lease_seconds as u64));
        inner.purge(printer, now).push(Subscription {
            id,
            job,
            template,
            expires,
            job_ended: None,
            next_sequence: 1,
            queue: VecDeque::new(),
        });
        Ok(id)
    }

    /// Queues the event for every subscription of `printer` that hears it and wakes the long
    /// polls waiting on the printer.
    pub fn raise(&self, printer: &str, happening: Happening) {
        let now = Instant::now();
        let happening = Arc::new(happening);
        {
            let mut inner = self.inner();
            let Some(list) = inner.printers.get_mut(printer) else {
                return;
            };
            list.retain(|s| !s.over(now));
            for subscription in list.iter_mut() {
                subscription.offer(&happening, now);
            }
        }
        self.wake(printer);
    }

    /// Runs `read` on one subscription of `printer`.
    pub fn with<T>(
        &self,
        printer: &str,
        id: i32,
        read: impl FnOnce(&mut Subscription) -> T,
    ) -> Result<T, RegistryRefusal> {
        let mut inner = self.inner();
        inner
            .purge(printer, Instant::now())
            .iter_mut()
            .find(|s| s.id == id)
            .map(read)
            .ok_or(RegistryRefusal::NotFound(id))
    }

    /// Runs `read` on each subscription of `printer`, in the order they were made.
    pub fn each<T>(&self, printer: &str, mut read: impl FnMut(&Subscription) -> T) -> Vec<T> {
        let mut inner = self.inner();
        inner
            .purge(printer, Instant::now())
            .iter()
            .map(&mut read)
            .collect()
    }

    /// The events of each `(id, from)` pair (every id checked to exist), and whether every one
    /// of these subscriptions has ended (its job ended): nothing more will come.
    pub fn take(
        &self,
        printer: &str,
        wanted: &[(i32, i32)],
    ) -> Result<(Vec<(i32, Event)>, bool), RegistryRefusal> {
        let mut inner = self.inner();
        let list = inner.purge(printer, Instant::now());
        let mut events = Vec::new();
        let mut all_ended = true;
        for (id, from) in wanted {
            let subscription = list
                .iter_mut()
                .find(|s| s.id == *id)
                .ok_or(RegistryRefusal::NotFound(*id))?;
            all_ended &= subscription.job_ended.is_some();
            events.extend(subscription.take_from(*from).into_iter().map(|e| (*id, e)));
        }
        Ok((events, all_ended))
    }

    /// Renews a printer subscription's lease; `None` when it is a job subscription.
    pub fn renew(&self, printer: &str, id: i32, seconds: i32) -> Result<bool, RegistryRefusal> {
        self.with(printer, id, |s| {
            if s.job.is_some() {
                return false;
            }
            s.template.lease_seconds = seconds;
            s.expires = (seconds > 0).then(|| Instant::now() + Duration::from_secs(seconds as u64));
            true
        })
    }

    pub fn cancel(&self, printer: &str, id: i32) -> Result<(), RegistryRefusal> {
        {
            let mut inner = self.inner();
            let list = inner.purge(printer, Instant::now());
            let at = list
                .iter()
                .position(|s| s.id == id)
                .ok_or(RegistryRefusal::NotFound(id))?;
            list.remove(at);
        }
        // A long poll on it answers now (client-error-not-found).
        self.wake(printer);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn template(events: &[EventKind]) -> Template {
        Template {
            events: events.to_vec(),
            user: None,
            user_data: None,
            natural_language: "en".into(),
            lease_seconds: 0,
            time_interval: 0,
        }
    }

    fn job_event(kind: EventKind, id: u32) -> Happening {
        Happening {
            kind,
            text: String::new(),
            up_time: 1,
            job: Some(JobFacts {
                id,
                state: 9,
                reasons: vec![],
                impressions_completed: 0,
            }),
            printer: None,
        }
    }

    #[test]
    fn job_state_changed_hears_created_and_completed_and_numbers_from_one() {
        let registry = Subscriptions::default();
        let id = registry
            .create("p", None, template(&[EventKind::JobStateChanged]))
            .unwrap();
        registry.raise("p", job_event(EventKind::JobCreated, 7));
        registry.raise("p", job_event(EventKind::JobProgress, 7));
        registry.raise("p", job_event(EventKind::JobCompleted, 7));
        let (events, ended) = registry.take("p", &[(id, 1)]).unwrap();
        let kinds: Vec<_> = events.iter().map(|(_, e)| e.happening.kind).collect();
        assert_eq!(kinds, [EventKind::JobCreated, EventKind::JobCompleted]);
        // Heard as the kind subscribed to.
        assert!(
            events
                .iter()
                .all(|(_, e)| e.subscribed == EventKind::JobStateChanged)
        );
        let numbers: Vec<_> = events.iter().map(|(_, e)| e.sequence).collect();
        assert_eq!(numbers, [1, 2]);
        assert!(!ended, "a printer subscription never ends with a job");
        let (rest, _) = registry.take("p", &[(id, 3)]).unwrap();
        assert!(rest.is_empty());
    }

    #[test]
    fn a_job_subscription_hears_only_its_job_and_ends_with_it() {
        let registry = Subscriptions::default();
        let id = registry
            .create("p", Some(2), template(&[EventKind::JobCompleted]))
            .unwrap();
        registry.raise("p", job_event(EventKind::JobCompleted, 1));
        registry.raise("p", job_event(EventKind::JobCompleted, 2));
        let (events, ended) = registry.take("p", &[(id, 1)]).unwrap();
        assert_eq!(events.len(), 1);
        assert_eq!(events[0].1.happening.job.as_ref().unwrap().id, 2);
        assert!(ended);
    }

    #[test]
    fn other_printers_ids_are_not_found_and_canceled_ones_neither() {
        let registry = Subscriptions::default();
        let id = registry
            .create("p", None, template(&[EventKind::PrinterStateChanged]))
            .unwrap();
        assert_eq!(
            registry.take("q", &[(id, 1)]).unwrap_err(),
            RegistryRefusal::NotFound(id)
        );
        registry.cancel("p", id).unwrap();
        assert_eq!(
            registry.cancel("p", id).unwrap_err(),
            RegistryRefusal::NotFound(id)
        );
    }

    #[test]
    fn a_slow_reader_loses_only_the_oldest_events() {
        let registry = Subscriptions::default();
        let id = registry
            .create("p", None, template(&[EventKind::JobProgress]))
            .unwrap();
        for _ in 0..MAX_QUEUED_EVENTS + 5 {
            registry.raise("p", job_event(EventKind::JobProgress, 1));
        }
        let (events, _) = registry.take("p", &[(id, 1)]).unwrap();
        assert_eq!(events.len(), MAX_QUEUED_EVENTS);
        assert_eq!(events[0].1.sequence, 6);
    }

    #[test]
    fn a_printer_holds_a_bounded_number_of_subscriptions() {
        let registry = Subscriptions::default();
        for _ in 0..MAX_SUBSCRIPTIONS_PER_PRINTER {
            registry
                .create("p", None, template(&[EventKind::JobCompleted]))
                .unwrap();
        }
        assert_eq!(
            registry
                .create("p", None, template(&[EventKind::JobCompleted]))
                .unwrap_err(),
            RegistryRefusal::TooMany
        );
        assert!(
            registry
                .create("q", None, template(&[EventKind::JobCompleted]))
                .is_ok()
        );
    }
}
