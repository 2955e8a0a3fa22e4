//! Which rule fires on a request, and the record of it. One engine per cloud behind a mutex:
//! a decision is a few comparisons, and taking them in one order keeps `every` and `sequence`
//! exact however many requests arrive at once.

use super::rules::{FaultRule, FaultRules, Latency};
use chrono::{DateTime, Utc};
use rand::rngs::StdRng;
use rand::{RngExt, SeedableRng};
use serde::Serialize;
use std::collections::{HashMap, VecDeque};
use std::time::{Duration, Instant};

/// How many records the log keeps (the oldest go first).
const LOG_CAPACITY: usize = 10_000;

/// What the middleware does with a request a rule matched.
#[derive(Debug, Clone, PartialEq)]
pub(super) enum Action {
    Pass,
    Status {
        status: u16,
        retry_after: Option<u32>,
    },
    ResetAfter(u64),
    SlowBody(u64),
}

#[derive(Debug, Clone)]
pub(super) struct Decision {
    /// The rule that fired, or the first that matched when none fired.
    pub rule: String,
    pub latency: Option<Duration>,
    pub action: Action,
}

/// One request a rule matched, as the log keeps it.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct FaultRecord {
    pub at: DateTime<Utc>,
    pub method: String,
    pub path: String,
    pub caller: String,
    /// The rule that fired; `None` when the matching rules let the request pass.
    pub rule: Option<String>,
    /// `passed`, `status`, `throttled`, `latency`, `reset` or `slowBody`.
    pub outcome: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status: Option<u16>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub retry_after: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub latency_ms: Option<u64>,
}

/// How often a rule matched and fired since the rules were loaded.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RuleCounter {
    pub rule: String,
    pub matched: u64,
    pub fired: u64,
}

struct Compiled {
    rule: FaultRule,
    pattern: Vec<String>,
    matched: u64,
    fired: u64,
    /// Per caller: when the current throttle window opened, and the requests in it.
    windows: HashMap<String, (Instant, u32)>,
}

pub(super) struct Engine {
    rules: FaultRules,
    compiled: Vec<Compiled>,
    random: StdRng,
    log: VecDeque<FaultRecord>,
}

impl Engine {
    pub fn new(rules: FaultRules) -> Self {
        let compiled = rules
            .rules
            .iter()
            .map(|rule| Compiled {
                pattern: rule.path.split('/').map(str::to_owned).collect(),
                rule: rule.clone(),
                matched: 0,
                fired: 0,
                windows: HashMap::new(),
            })
            .collect();
        Self {
            random: StdRng::seed_from_u64(rules.seed),
            rules,
            compiled,
            log: VecDeque::new(),
        }
    }

    /// No rule to match: requests pass untouched and unlogged.
    pub fn is_idle(&self) -> bool {
        self.compiled.is_empty()
    }

    pub fn rules(&self) -> &FaultRules {
        &self.rules
    }

    pub fn counters(&self) -> Vec<RuleCounter> {
        (self.compiled.iter())
            .map(|c| RuleCounter {
                rule: c.rule.name.clone(),
                matched: c.matched,
                fired: c.fired,
            })
            .collect()
    }

    pub fn log(&self) -> &VecDeque<FaultRecord> {
        &self.log
    }

    /// Every matching rule counts the request; the first that fires decides it. `None` when
    /// no rule matches (nothing is logged then).
    pub fn decide(&mut self, method: &str, path: &str, caller: &str) -> Option<Decision> {
        let now = Instant::now();
        let mut first_match = None;
        let mut fired = None;
        for compiled in &mut self.compiled {
            let rule = &compiled.rule;
            if !(rule.methods.is_empty() || rule.methods.iter().any(|m| m == method))
                || !path_matches(&compiled.pattern, path)
            {
                continue;
            }
            compiled.matched += 1;
            first_match.get_or_insert_with(|| rule.name.clone());
            let fires = match (&rule.rate, rule.every, &rule.sequence, &rule.throttle) {
                (Some(rate), ..) => self.random.random::<f64>() < *rate,
                (_, Some(every), ..) => compiled.matched.is_multiple_of(every),
                (_, _, Some(sequence), _) => {
                    let at = (compiled.matched - 1) % sequence.len() as u64;
                    sequence[usize::try_from(at).unwrap_or(0)]
                }
                (_, _, _, Some(throttle)) => {
                    let window = Duration::from_secs(u64::from(throttle.window_seconds));
                    let entry = compiled
                        .windows
                        .entry(caller.to_owned())
                        .or_insert((now, 0));
                    if now.duration_since(entry.0) >= window {
                        *entry = (now, 0);
                    }
                    entry.1 += 1;
                    if entry.1 > throttle.requests {
                        let left = window.saturating_sub(now.duration_since(entry.0));
                        let seconds =
                            u32::try_from(left.as_millis().div_ceil(1000)).unwrap_or(u32::MAX);
                        fired.get_or_insert((
                            rule.name.clone(),
                            None,
                            Action::Status {
                                status: 429,
                                retry_after: Some(seconds.max(1)),
                            },
                            "throttled",
                        ));
                        compiled.fired += 1;
                    }
                    false
                }
                _ => true,
            };
            if !fires || fired.is_some() {
                continue;
            }
            compiled.fired += 1;
            let latency = rule.latency_ms.map(|latency| match latency {
                Latency::Fixed(ms) => ms,
                Latency::Between([min, max]) => self.random.random_range(min..=max),
            });
            let (action, outcome) = if let Some(status) = rule.status {
                let retry_after = rule.retry_after;
                (
                    Action::Status {
                        status,
                        retry_after,
                    },
                    "status",
                )
            } else if let Some(bytes) = rule.reset_after_bytes {
                (Action::ResetAfter(bytes), "reset")
            } else if let Some(rate) = rule.body_bytes_per_second {
                (Action::SlowBody(rate), "slowBody")
            } else {
                (Action::Pass, "latency")
            };
            fired = Some((rule.name.clone(), latency, action, outcome));
        }
        let first_match = first_match?;
        let (rule, latency_ms, action, outcome) = match fired {
            Some((rule, latency, action, outcome)) => (Some(rule), latency, action, outcome),
            None => (None, None, Action::Pass, "passed"),
        };
        let (status, retry_after) = match &action {
            Action::Status {
                status,
                retry_after,
            } => (Some(*status), *retry_after),
            _ => (None, None),
        };
        if self.log.len() == LOG_CAPACITY {
            self.log.pop_front();
        }
        self.log.push_back(FaultRecord {
            at: Utc::now(),
            method: method.to_owned(),
            path: path.to_owned(),
            caller: caller.to_owned(),
            rule: rule.clone(),
            outcome,
            status,
            retry_after,
            latency_ms,
        });
        Some(Decision {
            rule: rule.unwrap_or(first_match),
            latency: latency_ms.map(Duration::from_millis),
            action,
        })
    }
}

/// `*` matches one segment, `**` any number of them (none included).
fn path_matches(pattern: &[String], path: &str) -> bool {
    let segments: Vec<&str> = path.split('/').collect();
    matches_from(pattern, &segments)
}

fn matches_from(pattern: &[String], segments: &[&str]) -> bool {
    match pattern.split_first() {
        None => segments.is_empty(),
        Some((first, rest)) if first == "**" => {
            (0..=segments.len()).any(|skip| matches_from(rest, &segments[skip..]))
        }
        Some((first, rest)) => match segments.split_first() {
            Some((segment, others)) if first == "*" || first == segment => {
                matches_from(rest, others)
            }
            _ => false,
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::transport_faults::rules::Throttle;

    fn rule(name: &str, path: &str) -> FaultRule {
        FaultRule {
            name: name.into(),
            methods: vec![],
            path: path.into(),
            rate: None,
            every: None,
            sequence: None,
            throttle: None,
            status: None,
            retry_after: None,
            latency_ms: None,
            reset_after_bytes: None,
            body_bytes_per_second: None,
        }
    }

    fn engine(rules: Vec<FaultRule>) -> Engine {
        Engine::new(FaultRules { seed: 1, rules })
    }

    #[test]
    fn patterns_match_segments() {
        let pattern = |p: &str| p.split('/').map(str::to_owned).collect::<Vec<_>>();
        assert!(path_matches(&pattern("/v1.0/**"), "/v1.0/print/printers"));
        assert!(path_matches(&pattern("/v1.0/**"), "/v1.0"));
        assert!(path_matches(&pattern("/upload/*"), "/upload/abc"));
        assert!(!path_matches(&pattern("/upload/*"), "/upload/abc/def"));
        assert!(path_matches(
            &pattern("/v1.0/print/*/jobs/**"),
            "/v1.0/print/printers/jobs/1"
        ));
        assert!(!path_matches(&pattern("/beta/**"), "/v1.0/print"));
    }

    #[test]
    fn every_third_request_fails_with_its_retry_after() {
        let mut every = rule("third", "/v1.0/**");
        every.every = Some(3);
        every.status = Some(503);
        every.retry_after = Some(2);
        let mut engine = engine(vec![every]);
        let outcomes: Vec<Action> = (0..6)
            .map(|_| {
                engine
                    .decide("GET", "/v1.0/print/printers", "alice")
                    .unwrap()
                    .action
            })
            .collect();
        let fail = Action::Status {
            status: 503,
            retry_after: Some(2),
        };
        assert_eq!(
            outcomes,
            [
                Action::Pass,
                Action::Pass,
                fail.clone(),
                Action::Pass,
                Action::Pass,
                fail
            ]
        );
        assert!(engine.decide("GET", "/healthz", "alice").is_none());
        assert_eq!(engine.counters()[0].matched, 6);
        assert_eq!(engine.counters()[0].fired, 2);
        let log = engine.log();
        assert_eq!(log.len(), 6);
        assert_eq!(log[2].outcome, "status");
        assert_eq!(log[2].retry_after, Some(2));
        assert_eq!(log[0].outcome, "passed");
    }

    #[test]
    fn a_throttle_counts_per_caller() {
        let mut throttle = rule("budget", "/v1.0/**");
        throttle.throttle = Some(Throttle {
            requests: 2,
            window_seconds: 60,
        });
        let mut engine = engine(vec![throttle]);
        let mut outcome = |caller: &str| engine.decide("GET", "/v1.0/x", caller).unwrap().action;
        assert_eq!(outcome("a"), Action::Pass);
        assert_eq!(outcome("a"), Action::Pass);
        assert!(matches!(
            outcome("a"),
            Action::Status { status: 429, retry_after: Some(s) } if (59..=60).contains(&s)
        ));
        assert_eq!(outcome("b"), Action::Pass);
    }

    #[test]
    fn a_sequence_cycles_and_methods_narrow() {
        let mut sequence = rule("seq", "/upload/*");
        sequence.methods = vec!["PUT".into()];
        sequence.sequence = Some(vec![false, true]);
        sequence.reset_after_bytes = Some(10);
        let mut engine = engine(vec![sequence]);
        assert!(engine.decide("GET", "/upload/s", "x").is_none());
        let actions: Vec<Action> = (0..4)
            .map(|_| engine.decide("PUT", "/upload/s", "x").unwrap().action)
            .collect();
        assert_eq!(
            actions,
            [
                Action::Pass,
                Action::ResetAfter(10),
                Action::Pass,
                Action::ResetAfter(10)
            ]
        );
    }

    #[test]
    fn the_same_seed_draws_the_same_faults() {
        let mut random = rule("half", "/**");
        random.rate = Some(0.5);
        random.status = Some(500);
        let draws = || {
            let mut engine = engine(vec![random.clone()]);
            (0..64)
                .map(|_| engine.decide("GET", "/a", "x").unwrap().action != Action::Pass)
                .collect::<Vec<_>>()
        };
        let first = draws();
        assert_eq!(first, draws());
        let fired = first.iter().filter(|f| **f).count();
        assert!((16..=48).contains(&fired), "{fired} of 64");
    }
}
