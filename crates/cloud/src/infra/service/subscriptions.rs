//! ippget subscriptions: Create-Printer-Subscriptions, Get-Notifications (the long poll),
//! Renew-Subscription and Cancel-Subscription.
//!
//! A printer subscription has a lease ([`LongPoll::subscription_lease`], an hour at the default
//! holds), which each Get-Notifications naming it renews as Renew-Subscription does: a device
//! that keeps polling keeps its subscription, and one that restarted and subscribed again does
//! not leave the old one collecting its printer's events for as long as the cloud runs.

use super::*;
use crate::infra::events::Subscription;
use crate::infra::state::Live;

/// Create-Printer-Subscriptions, and for clients (`owner`) Create-Job-Subscriptions: ippget
/// only, `notify-pull-method` defaulting to it for clients (the one method offered), events
/// defaulting to `job-state-changed`.
pub(super) fn create_subscriptions(
    state: &Shared,
    printer_id: &str,
    owner: Option<&str>,
    message: &Message,
) -> Outcome {
    let templates: Vec<&Group> = message.groups_of(GroupTag::SUBSCRIPTION).collect();
    if templates.is_empty() {
        return Err(Refusal::bad_request("no subscription template group"));
    }
    let job_id = if message.operation() == Operation::CREATE_JOB_SUBSCRIPTIONS {
        let id = match message.operation_attributes().attr("notify-job-id") {
            Some(_) => required_integer(message, "notify-job-id")?,
            None => envelope::target_job_id(message)?,
        };
        let number = u64::try_from(id).unwrap_or(0);
        if state
            .store
            .job(printer_id, number)
            .map_err(store_failed)?
            .is_none()
        {
            return Err(Refusal::new(
                StatusCode::CLIENT_ERROR_NOT_FOUND,
                format!("no job {id} on this printer"),
            ));
        }
        Some(id)
    } else {
        None
    };
    let lease = state.long_poll.subscription_lease();
    let mut live = state.live();
    let mut response = ok(message.request_id);
    let mut created = 0;
    let mut groups = Vec::new();
    for template in templates {
        let method = template
            .keyword("notify-pull-method")
            .or(owner.and(Some("ippget")))
            .filter(|_| template.attr("notify-recipient-uri").is_none());
        let events: Vec<EventKind> = template
            .attr("notify-events")
            .map(|a| a.keywords().filter_map(EventKind::from_keyword).collect())
            .unwrap_or_else(|| vec![EventKind::JobStateChanged]);
        let group = if method != Some("ippget") || events.is_empty() {
            Group::new(GroupTag::SUBSCRIPTION).with(
                "notify-status-code",
                Value::Enum(i32::from(
                    StatusCode::CLIENT_ERROR_ATTRIBUTES_OR_VALUES_NOT_SUPPORTED.0,
                )),
            )
        } else {
            created += 1;
            let id = live.new_owned_subscription(printer_id, owner, job_id, events, lease);
            let granted = if job_id.is_some() {
                0
            } else {
                lease_seconds(lease)
            };
            Group::new(GroupTag::SUBSCRIPTION)
                .with("notify-subscription-id", Value::Integer(id))
                .with("notify-lease-duration", Value::Integer(granted))
        };
        groups.push(group);
    }
    if created == 0 {
        response.code = StatusCode::CLIENT_ERROR_IGNORED_ALL_SUBSCRIPTIONS.0;
        response.groups[0].push(Attribute::new(
            "status-message",
            Value::text("every subscription needs notify-pull-method=ippget and a supported notify-events value"),
        ));
    } else if created < groups.len() {
        response.code = StatusCode::SUCCESSFUL_OK_IGNORED_SUBSCRIPTIONS.0;
    }
    for g in groups {
        response.push_group(g);
    }
    Ok(IppReply::new(response))
}

/// Subscription `id` of this printer and subscriber, still within its lease; an expired one is
/// forgotten.
fn live_subscription<'a>(
    live: &'a mut Live,
    id: i32,
    printer_id: &str,
    owner: Option<&str>,
) -> Result<&'a mut Subscription, Refusal> {
    let expired = match live.subscriptions.get(&id) {
        // Also what a device hears after the cloud restarted: subscribe again, then prime
        // with Get-Jobs.
        None => {
            return Err(Refusal::new(
                StatusCode::CLIENT_ERROR_NOT_FOUND,
                format!("no subscription {id}"),
            ));
        }
        Some(s) if s.printer_id != printer_id || s.owner.as_deref() != owner => {
            return Err(Refusal::new(
                StatusCode::CLIENT_ERROR_NOT_AUTHORIZED,
                format!("subscription {id} belongs to another printer or subscriber"),
            ));
        }
        Some(s) => s.expired(std::time::Instant::now()),
    };
    if expired {
        live.remove_subscription(id);
        return Err(Refusal::new(
            StatusCode::CLIENT_ERROR_NOT_FOUND,
            format!("subscription {id} expired: its lease ran out without a poll or a renewal"),
        ));
    }
    Ok(live
        .subscriptions
        .get_mut(&id)
        .expect("a subscription just looked up"))
}

/// `notify-lease-duration` in whole seconds, rounded up so a lease never reads shorter than it is.
pub(super) fn lease_seconds(lease: std::time::Duration) -> i32 {
    i32::try_from(lease.as_millis().div_ceil(1000)).unwrap_or(i32::MAX)
}

fn subscription_ids(
    state: &Shared,
    printer_id: &str,
    owner: Option<&str>,
    message: &Message,
) -> Result<Vec<(i32, i32)>, Refusal> {
    let attrs = message.operation_attributes();
    let ids: Vec<i32> = attrs
        .attr("notify-subscription-ids")
        .map(|a| a.integers().collect())
        .unwrap_or_default();
    if ids.is_empty() {
        return Err(Refusal::bad_request("notify-subscription-ids is required"));
    }
    let sequences: Vec<i32> = attrs
        .attr("notify-sequence-numbers")
        .map(|a| a.integers().collect())
        .unwrap_or_default();
    let mut live = state.live();
    for id in &ids {
        live_subscription(&mut live, *id, printer_id, owner)?.renew(std::time::Instant::now());
    }
    Ok(ids
        .into_iter()
        .enumerate()
        .map(|(i, id)| (id, sequences.get(i).copied().unwrap_or(1)))
        .collect())
}

/// Get-Notifications; with `notify-wait`, held until an event comes or for `hold` at most.
pub(super) async fn get_notifications(
    state: &Shared,
    printer_id: &str,
    owner: Option<&str>,
    message: &Message,
    hold: std::time::Duration,
) -> Outcome {
    let wanted = subscription_ids(state, printer_id, owner, message)?;
    let wait = message
        .operation_attributes()
        .boolean("notify-wait")
        .unwrap_or(false);
    let deadline = Instant::now() + hold;
    let _held = wait.then(|| state.metrics.long_poll());
    let serving = state.serving();
    let wakeup = state.live().wakeup(printer_id);
    loop {
        let notified = wakeup.notified();
        tokio::pin!(notified);
        // Registered before looking, so an event raised in between still wakes us.
        notified.as_mut().enable();
        let events = {
            let mut live = state.live();
            let mut found = Vec::new();
            for (id, from) in &wanted {
                let Some(s) = live.subscriptions.get_mut(id) else {
                    return Err(Refusal::new(
                        StatusCode::CLIENT_ERROR_NOT_FOUND,
                        format!("subscription {id} was canceled"),
                    ));
                };
                // A held poll keeps its subscription's lease running from its latest look.
                s.renew(std::time::Instant::now());
                found.extend(s.take_from(*from).into_iter().map(|e| (*id, e)));
            }
            found
        };
        let closing = serving.is_cancelled();
        if !events.is_empty() || !wait || closing || Instant::now() >= deadline {
            return Ok(IppReply::new(notifications_response(
                state,
                printer_id,
                message.request_id,
                events,
            )));
        }
        let woken = tokio::select! {
            r = tokio::time::timeout_at(deadline, notified) => r.is_ok(),
            // The server is shutting down: answer now; the device asks again elsewhere.
            _ = serving.cancelled() => false,
        };
        if !woken {
            return Ok(IppReply::new(notifications_response(
                state,
                printer_id,
                message.request_id,
                Vec::new(),
            )));
        }
    }
}

fn notifications_response(
    state: &Shared,
    printer_id: &str,
    id: u32,
    events: Vec<(i32, Event)>,
) -> Message {
    let mut response = ok(id);
    // Ask again at once: the next request long-polls again.
    response.groups[0].push(Attribute::new("notify-get-interval", Value::Integer(0)));
    response.groups[0].push(Attribute::new(
        "printer-up-time",
        Value::Integer(state.up_time()),
    ));
    // Printer events carry the printer's state (RFC 3995 §9.1), read once for the answer:
    // how a device sees `identify-printer-requested` without asking again.
    let mut printer_state = None;
    for (subscription, e) in events {
        let mut g = Group::new(GroupTag::EVENT_NOTIFICATION)
            .with("notify-subscription-id", Value::Integer(subscription))
            .with("notify-sequence-number", Value::Integer(e.sequence))
            .with("notify-subscribed-event", Value::keyword(e.kind.keyword()))
            .with(
                "notify-printer-uri",
                Value::uri(state.printer_uri(printer_id)),
            )
            .with("notify-text", Value::text(e.text))
            .with("printer-up-time", Value::Integer(state.up_time()));
        if let Some(job_id) = e.job_id {
            g.push(Attribute::new("notify-job-id", Value::Integer(job_id)));
            g.push(Attribute::new("job-id", Value::Integer(job_id)));
            if let Some(s) = e.job_state {
                g.push(Attribute::new("job-state", Value::Enum(s)));
            }
            let reasons = u64::try_from(job_id)
                .ok()
                .and_then(|n| state.store.job(printer_id, n).ok().flatten())
                .map(|j| job_summary(state, printer_id, job_id, &j))
                .and_then(|g| g.attr("job-state-reasons").cloned())
                .unwrap_or_else(|| Attribute::new("job-state-reasons", Value::keyword("none")));
            g.push(reasons);
        } else {
            let attributes =
                printer_state.get_or_insert_with(|| printer_event_state(state, printer_id));
            g.attributes.extend(attributes.iter().cloned());
        }
        response.push_group(g);
    }
    response
}

/// `printer-state`, `printer-state-reasons` (`-message` when there is one) and
/// `printer-is-accepting-jobs` as a printer event has them; none when the printer cannot be
/// read (the event still goes out).
fn printer_event_state(state: &Shared, printer_id: &str) -> Vec<Attribute> {
    let Ok(rec) = printer_record(state, printer_id) else {
        return Vec::new();
    };
    let status = printer_status_to_ipp(&rec.printer.status).value;
    let mut out = printer_attributes::printer_state(state, &rec, status);
    out.push(Attribute::new(
        "printer-is-accepting-jobs",
        Value::Boolean(rec.printer.is_accepting_jobs.unwrap_or(true)),
    ));
    out
}

pub(super) fn cancel_subscription(
    state: &Shared,
    printer_id: &str,
    owner: Option<&str>,
    message: &Message,
) -> Outcome {
    let id = required_integer(message, "notify-subscription-id")?;
    let mut live = state.live();
    live_subscription(&mut live, id, printer_id, owner)?;
    live.remove_subscription(id);
    live.wakeup(printer_id).notify_waiters();
    Ok(IppReply::new(ok(message.request_id)))
}

/// Renew-Subscription (RFC 3995): a printer subscription's lease starts over, for the lease
/// asked for (`notify-lease-duration`, up to the service's) or the service's; a job's
/// subscription has none to renew.
pub(super) fn renew_subscription(
    state: &Shared,
    printer_id: &str,
    owner: Option<&str>,
    message: &Message,
) -> Outcome {
    let id = required_integer(message, "notify-subscription-id")?;
    let longest = state.long_poll.subscription_lease();
    let asked = match message.operation_attributes().attr("notify-lease-duration") {
        Some(_) => Some(required_integer(message, "notify-lease-duration")?),
        None => None,
    };
    let lease = asked
        .and_then(|seconds| u64::try_from(seconds).ok())
        .filter(|&seconds| seconds > 0)
        .map(std::time::Duration::from_secs)
        .map_or(longest, |asked| asked.min(longest));
    let mut live = state.live();
    let subscription = live_subscription(&mut live, id, printer_id, owner)?;
    if subscription.job_id.is_some() {
        return Err(Refusal::new(
            StatusCode::CLIENT_ERROR_NOT_POSSIBLE,
            format!("subscription {id} is a job's: it lasts as long as the job"),
        ));
    }
    subscription.lease = Some(lease);
    subscription.renew(std::time::Instant::now());
    let mut response = ok(message.request_id);
    response.push_group(Group::new(GroupTag::SUBSCRIPTION).with(
        "notify-lease-duration",
        Value::Integer(lease_seconds(lease)),
    ));
    Ok(IppReply::new(response))
}
