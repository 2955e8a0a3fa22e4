//! ippget subscriptions (RFC 3995/3996 as PWG 5100.18 uses them): each subscription keeps its
//! own queue and numbers its events from 1, so a device that asks again with the last
//! sequence number it saw gets exactly what it has not seen yet.

use std::collections::VecDeque;
use std::time::{Duration, Instant};

/// The events the INFRA service raises.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EventKind {
    JobFetchable,
    JobStateChanged,
    PrinterConfigChanged,
    /// The printer's state or reasons changed; among them `identify-printer-requested`, which
    /// is how an output device hears of a client's Identify-Printer (PWG 5100.18).
    PrinterStateChanged,
}

impl EventKind {
    pub const ALL: [Self; 4] = [
        Self::JobFetchable,
        Self::JobStateChanged,
        Self::PrinterConfigChanged,
        Self::PrinterStateChanged,
    ];

    pub fn keyword(self) -> &'static str {
        match self {
            Self::JobFetchable => "job-fetchable",
            Self::JobStateChanged => "job-state-changed",
            Self::PrinterConfigChanged => "printer-config-changed",
            Self::PrinterStateChanged => "printer-state-changed",
        }
    }

    pub fn from_keyword(keyword: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.keyword() == keyword)
    }
}

/// One queued notification.
#[derive(Debug, Clone, PartialEq)]
pub struct Event {
    pub sequence: i32,
    pub kind: EventKind,
    pub job_id: Option<i32>,
    /// IPP `job-state` at the time of the event (job events only).
    pub job_state: Option<i32>,
    pub text: String,
}

/// Events kept per subscription for a device that is slow to ask; older ones are dropped
/// (the device notices the gap in sequence numbers and primes again with Get-Jobs).
pub const MAX_QUEUED_EVENTS: usize = 1000;

#[derive(Debug)]
pub struct Subscription {
    pub printer_id: String,
    /// The user who subscribed over IPP as a client; `None` for the printer's device.
    pub owner: Option<String>,
    /// Create-Job-Subscriptions' job: only its events are queued.
    pub job_id: Option<i32>,
    pub events: Vec<EventKind>,
    next_sequence: i32,
    queue: VecDeque<Event>,
    /// A printer subscription's lease (RFC 3995): it ends this long after it was created or
    /// last polled or renewed. `None` for a job's subscriptions, which live as long as the job.
    pub lease: Option<Duration>,
    lease_ends: Option<Instant>,
}

impl Subscription {
    pub fn new(printer_id: String, events: Vec<EventKind>) -> Self {
        Self {
            printer_id,
            owner: None,
            job_id: None,
            events,
            next_sequence: 1,
            queue: VecDeque::new(),
            lease: None,
            lease_ends: None,
        }
    }

    /// Starts the lease over from `now`: at creation, and at each Get-Notifications or
    /// Renew-Subscription.
    pub fn renew(&mut self, now: Instant) {
        self.lease_ends = self.lease.map(|lease| now + lease);
    }

    /// Whether the lease ran out: its subscriber neither polled nor renewed it for a whole
    /// lease (a device that restarted and subscribed again, or is gone).
    pub fn expired(&self, now: Instant) -> bool {
        self.lease_ends.is_some_and(|ends| ends <= now)
    }

    /// Queues the event if this subscription asked for its kind.
    pub fn offer(
        &mut self,
        kind: EventKind,
        job_id: Option<i32>,
        job_state: Option<i32>,
        text: &str,
    ) {
        if !self.events.contains(&kind) || self.job_id.is_some_and(|only| job_id != Some(only)) {
            return;
        }
        if self.queue.len() == MAX_QUEUED_EVENTS {
            self.queue.pop_front();
        }
        self.queue.push_back(Event {
            sequence: self.next_sequence,
            kind,
            job_id,
            job_state,
            text: text.to_owned(),
        });
        self.next_sequence += 1;
    }

    /// Events with a sequence number of at least `from`; earlier ones are forgotten, since the
    /// device asking from `from` has seen them.
    pub fn take_from(&mut self, from: i32) -> Vec<Event> {
        while self.queue.front().is_some_and(|e| e.sequence < from) {
            self.queue.pop_front();
        }
        self.queue.iter().cloned().collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sequence_numbers_continue_and_acknowledged_events_are_dropped() {
        let mut s = Subscription::new("p".into(), vec![EventKind::JobFetchable]);
        s.offer(EventKind::JobFetchable, Some(1), Some(3), "a");
        s.offer(EventKind::PrinterConfigChanged, None, None, "ignored");
        s.offer(EventKind::JobFetchable, Some(2), Some(3), "b");
        let all = s.take_from(1);
        assert_eq!(all.iter().map(|e| e.sequence).collect::<Vec<_>>(), [1, 2]);
        let rest = s.take_from(2);
        assert_eq!(rest.len(), 1);
        assert_eq!(rest[0].job_id, Some(2));
        assert!(s.take_from(3).is_empty());
    }

    #[test]
    fn a_slow_reader_loses_only_the_oldest_events() {
        let mut s = Subscription::new("p".into(), vec![EventKind::JobStateChanged]);
        for i in 0..(MAX_QUEUED_EVENTS as i32 + 5) {
            s.offer(EventKind::JobStateChanged, Some(i), Some(5), "");
        }
        let events = s.take_from(1);
        assert_eq!(events.len(), MAX_QUEUED_EVENTS);
        assert_eq!(events[0].sequence, 6);
    }
}
