//! Job and printer subscriptions with ippget (RFC 3995, RFC 3996): Create-Printer-Subscriptions,
//! Create-Job-Subscriptions (and the subscription groups of Print-Job and Create-Job),
//! Get-Subscription-Attributes, Get-Subscriptions, Renew-Subscription, Cancel-Subscription and
//! Get-Notifications with its long poll (`notify-wait`). The events themselves come from
//! `event_watch`. As for jobs, `requesting-user-name` is recorded, not enforced: a test lab on
//! loopback without authentication.

use super::job_description::job_uri;
use super::subscription_registry::{
    DEFAULT_LEASE_SECONDS, Event, EventKind, MAX_LEASE_SECONDS, RegistryRefusal, Subscription,
    Template,
};
use super::{LocalPrinter, Refusal, Target};
use crate::spool::JobOrigin;
use printlab_ipp::{Attribute, AttributeLookup, Group, GroupTag, Message, StatusCode, Value};
use std::time::Duration;
use tokio::time::Instant;

/// How long Get-Notifications with `notify-wait` holds the request when nothing happens.
const LONG_POLL: Duration = Duration::from_secs(30);
/// `notify-get-interval` for a client that does not wait: how soon to ask again.
const GET_INTERVAL_SECONDS: i32 = 10;
/// The longest `notify-user-data` (RFC 3995 §5.3.6).
const MAX_USER_DATA: usize = 63;

fn refused(refusal: RegistryRefusal) -> Refusal {
    match refusal {
        RegistryRefusal::NotFound(id) => Refusal::new(
            StatusCode::CLIENT_ERROR_NOT_FOUND,
            format!("no subscription {id} on this printer"),
        ),
        RegistryRefusal::TooMany => Refusal::new(
            StatusCode::CLIENT_ERROR_TOO_MANY_SUBSCRIPTIONS,
            "this printer holds as many subscriptions as it can",
        ),
    }
}

fn status_value(status: StatusCode) -> Value {
    Value::Enum(i32::from(status.0))
}

/// One subscription template group, checked: the template, or why it is not taken (with the
/// attributes to name in the unsupported group).
type Checked = Result<(Template, Vec<Attribute>), (StatusCode, Vec<Attribute>)>;

fn read_template(group: &Group, request: &Message, for_job: bool) -> Checked {
    let attrs = &group.attributes;
    let not_supported = |a: &Attribute| {
        (
            StatusCode::CLIENT_ERROR_ATTRIBUTES_OR_VALUES_NOT_SUPPORTED,
            vec![a.clone()],
        )
    };
    if let Some(recipient) = attrs.attr("notify-recipient-uri") {
        // Push delivery (ippnotify, mailto, …) is not offered: ippget only.
        return Err((
            StatusCode::CLIENT_ERROR_URI_SCHEME_NOT_SUPPORTED,
            vec![recipient.clone()],
        ));
    }
    match attrs.attr("notify-pull-method") {
        None => return Err((StatusCode::CLIENT_ERROR_BAD_REQUEST, Vec::new())),
        Some(method) if method.values != [Value::keyword("ippget")] => {
            return Err(not_supported(method));
        }
        Some(_) => {}
    }
    let mut ignored = Vec::new();
    let events = match attrs.attr("notify-events") {
        None => vec![EventKind::DEFAULT],
        Some(asked) => {
            let mut events = Vec::new();
            let mut unknown = Vec::new();
            for value in &asked.values {
                match value.as_keyword().and_then(EventKind::from_keyword) {
                    Some(kind) if !events.contains(&kind) => events.push(kind),
                    Some(_) => {}
                    None => unknown.push(value.clone()),
                }
            }
            if events.is_empty() {
                return Err(not_supported(asked));
            }
            if !unknown.is_empty() {
                ignored.push(Attribute::set("notify-events", unknown));
            }
            events
        }
    };
    let lease_seconds = match attrs.attr("notify-lease-duration") {
        // RFC 3995 §5.3.8: a job subscription lasts as long as its job.
        Some(lease) if for_job => {
            return Err((StatusCode::CLIENT_ERROR_BAD_REQUEST, vec![lease.clone()]));
        }
        Some(lease) => match lease.first() {
            Some(Value::Integer(n)) if (0..=MAX_LEASE_SECONDS).contains(n) => *n,
            _ => return Err(not_supported(lease)),
        },
        None if for_job => 0,
        None => DEFAULT_LEASE_SECONDS,
    };
    let time_interval = match attrs.attr("notify-time-interval") {
        Some(interval) => match interval.first() {
            Some(Value::Integer(n)) if *n >= 0 => *n,
            _ => return Err(not_supported(interval)),
        },
        None => 0,
    };
    let user_data = match attrs.attr("notify-user-data") {
        Some(data) => match data.first() {
            Some(Value::OctetString(bytes)) if bytes.len() <= MAX_USER_DATA => Some(bytes.to_vec()),
            Some(Value::OctetString(_)) => {
                return Err((
                    StatusCode::CLIENT_ERROR_REQUEST_VALUE_TOO_LONG,
                    vec![data.clone()],
                ));
            }
            _ => return Err(not_supported(data)),
        },
        None => None,
    };
    if let Some(charset) = attrs.attr("notify-charset")
        && !charset
            .first()
            .and_then(Value::as_str)
            .is_some_and(|c| ["utf-8", "us-ascii"].contains(&c))
    {
        return Err(not_supported(charset));
    }
    let op = request.operation_attributes();
    let natural_language = attrs
        .string("notify-natural-language")
        .or_else(|| op.string("attributes-natural-language"))
        .unwrap_or("en")
        .to_string();
    Ok((
        Template {
            events,
            user: op.string("requesting-user-name").map(str::to_string),
            user_data,
            natural_language,
            lease_seconds,
            time_interval,
        },
        ignored,
    ))
}

/// The subscription groups of a request, checked before anything is made (so Print-Job and
/// Create-Job can check them before the job exists and make them before its first event).
pub(super) struct Requested {
    templates: Vec<Checked>,
}

impl Requested {
    pub(super) fn of(request: &Message, for_job: bool) -> Self {
        Self {
            templates: request
                .groups_of(GroupTag::SUBSCRIPTION)
                .map(|g| read_template(g, request, for_job))
                .collect(),
        }
    }

    pub(super) fn is_empty(&self) -> bool {
        self.templates.is_empty()
    }

    /// Makes the subscriptions; the answer's subscription groups, how many were made, and the
    /// attributes for the unsupported group.
    pub(super) fn make(
        self,
        target: &Target<'_>,
        printer: &LocalPrinter,
        job: Option<u32>,
    ) -> Made {
        let mut made = Made::default();
        for checked in self.templates {
            let (status, attributes) = match checked {
                Err((status, unsupported)) => {
                    made.unsupported.extend(unsupported);
                    (status, Vec::new())
                }
                Ok((template, ignored)) => {
                    let lease = template.lease_seconds;
                    match target
                        .service
                        .subscriptions
                        .create(&printer.slug, job, template)
                    {
                        Err(refusal) => (refused(refusal).refusal.status, Vec::new()),
                        Ok(id) => {
                            made.count += 1;
                            let mut attributes =
                                vec![Attribute::new("notify-subscription-id", Value::Integer(id))];
                            if job.is_none() {
                                attributes.push(Attribute::new(
                                    "notify-lease-duration",
                                    Value::Integer(lease),
                                ));
                            }
                            let status = if ignored.is_empty() {
                                StatusCode::SUCCESSFUL_OK
                            } else {
                                StatusCode::SUCCESSFUL_OK_IGNORED_OR_SUBSTITUTED_ATTRIBUTES
                            };
                            made.unsupported.extend(ignored);
                            (status, attributes)
                        }
                    }
                }
            };
            let mut group = Group {
                tag: GroupTag::SUBSCRIPTION,
                attributes,
            };
            if status != StatusCode::SUCCESSFUL_OK {
                group.push(Attribute::new("notify-status-code", status_value(status)));
            }
            made.groups.push(group);
        }
        made
    }
}

#[derive(Default)]
pub(super) struct Made {
    pub groups: Vec<Group>,
    pub count: usize,
    pub unsupported: Vec<Attribute>,
}

impl Made {
    /// Adds the groups to a job creation's answer (RFC 3995 §11.1.3): a subscription not made
    /// does not refuse the job, it turns `successful-ok` into `successful-ok-ignored-subscriptions`.
    pub(super) fn add_to(self, reply: &mut Message) {
        if self.count < self.groups.len() && reply.code == StatusCode::SUCCESSFUL_OK.0 {
            reply.code = StatusCode::SUCCESSFUL_OK_IGNORED_SUBSCRIPTIONS.0;
        }
        if !self.unsupported.is_empty() {
            reply
                .group_mut(GroupTag::UNSUPPORTED)
                .attributes
                .extend(self.unsupported);
        }
        for group in self.groups {
            reply.push_group(group);
        }
    }
}

/// Create-Printer-Subscriptions and Create-Job-Subscriptions (`notify-job-id`, a local job that
/// has not ended).
pub(super) fn create_subscriptions(
    target: &Target<'_>,
    printer: &LocalPrinter,
    request: &Message,
    for_job: bool,
) -> Result<Message, Refusal> {
    let job = if for_job {
        let op = request.operation_attributes();
        let Some(id) = op.integer("notify-job-id").filter(|id| *id > 0) else {
            return Err(Refusal::new(
                StatusCode::CLIENT_ERROR_BAD_REQUEST,
                "Create-Job-Subscriptions needs notify-job-id, a positive integer",
            ));
        };
        let record = target
            .service
            .spool
            .job(&printer.config.name, id as u32)
            .map_err(|e| Refusal::new(StatusCode::SERVER_ERROR_INTERNAL_ERROR, e.to_string()))?
            .filter(|r| r.origin == JobOrigin::LocalIpp)
            .ok_or_else(|| {
                Refusal::new(
                    StatusCode::CLIENT_ERROR_NOT_FOUND,
                    format!("job {id} is not a job of this printer"),
                )
            })?;
        if record.state.is_terminal() {
            return Err(Refusal::new(
                StatusCode::CLIENT_ERROR_NOT_POSSIBLE,
                format!("job {id} has ended: there is nothing left to subscribe to"),
            ));
        }
        Some(record.job_id)
    } else {
        None
    };
    let requested = Requested::of(request, for_job);
    if requested.is_empty() {
        return Err(Refusal::new(
            StatusCode::CLIENT_ERROR_BAD_REQUEST,
            "the request has no subscription template group",
        ));
    }
    let made = requested.make(target, printer, job);
    let too_many = made.groups.iter().any(|g| {
        g.attributes.first_value("notify-status-code")
            == Some(&status_value(
                StatusCode::CLIENT_ERROR_TOO_MANY_SUBSCRIPTIONS,
            ))
    });
    let status = match (made.count, made.groups.len()) {
        (0, _) if too_many => StatusCode::CLIENT_ERROR_TOO_MANY_SUBSCRIPTIONS,
        (0, _) => StatusCode::CLIENT_ERROR_IGNORED_ALL_SUBSCRIPTIONS,
        (count, all) if count < all => StatusCode::SUCCESSFUL_OK_IGNORED_SUBSCRIPTIONS,
        _ if !made.unsupported.is_empty() => {
            StatusCode::SUCCESSFUL_OK_IGNORED_OR_SUBSTITUTED_ATTRIBUTES
        }
        _ => StatusCode::SUCCESSFUL_OK,
    };
    let mut reply = request.reply(status);
    if made.count == 0 {
        reply.groups[0].push(Attribute::new(
            "status-message",
            Value::text(
                "no subscription was made: each needs notify-pull-method ippget and a notify-events \
                 value of notify-events-supported",
            ),
        ));
    }
    // Status already set: add_to only adds the groups.
    made.add_to(&mut reply);
    Ok(reply)
}

/// Whether a subscription attribute is asked for (RFC 3995 §11.2.4.1: `all`,
/// `subscription-template`, `subscription-description` or names).
fn asked(request: &Message, name: &str) -> bool {
    const TEMPLATE: [&str; 7] = [
        "notify-pull-method",
        "notify-events",
        "notify-charset",
        "notify-natural-language",
        "notify-lease-duration",
        "notify-time-interval",
        "notify-user-data",
    ];
    let Some(requested) = request.operation_attributes().attr("requested-attributes") else {
        return true;
    };
    requested.keywords().any(|k| match k {
        "all" => true,
        "subscription-template" => TEMPLATE.contains(&name),
        "subscription-description" => !TEMPLATE.contains(&name),
        other => other == name,
    })
}

/// A subscription's attributes (RFC 3995 §5.3, §5.4).
fn subscription_attributes(
    target: &Target<'_>,
    printer: &LocalPrinter,
    s: &Subscription,
    request: &Message,
) -> Group {
    let t = &s.template;
    let mut attrs = vec![
        Attribute::new("notify-subscription-id", Value::Integer(s.id)),
        Attribute::new(
            "notify-printer-uri",
            Value::uri(target.printer_uri(printer)),
        ),
        Attribute::new("notify-pull-method", Value::keyword("ippget")),
        Attribute::set(
            "notify-events",
            t.events.iter().map(|e| Value::keyword(e.keyword())),
        ),
        Attribute::new("notify-charset", Value::charset("utf-8")),
        Attribute::new(
            "notify-natural-language",
            Value::natural_language(t.natural_language.clone()),
        ),
        Attribute::new("notify-time-interval", Value::Integer(t.time_interval)),
        Attribute::new("notify-sequence-number", Value::Integer(s.last_sequence())),
        Attribute::new("notify-printer-up-time", Value::Integer(target.up_time())),
        Attribute::new(
            "notify-subscriber-user-name",
            Value::name(t.user.clone().unwrap_or_else(|| "anonymous".into())),
        ),
    ];
    match s.job {
        Some(job) => attrs.push(Attribute::new("notify-job-id", Value::Integer(job as i32))),
        None => {
            attrs.push(Attribute::new(
                "notify-lease-duration",
                Value::Integer(t.lease_seconds),
            ));
            // On the printer-up-time clock; 0: never.
            let expires = s.expires.map_or(0, |at| {
                let left = at.saturating_duration_since(std::time::Instant::now());
                target.up_time().saturating_add(left.as_secs() as i32)
            });
            attrs.push(Attribute::new(
                "notify-lease-expiration-time",
                Value::Integer(expires),
            ));
        }
    }
    if let Some(data) = &t.user_data {
        attrs.push(Attribute::new(
            "notify-user-data",
            Value::OctetString(data.clone().into()),
        ));
    }
    Group {
        tag: GroupTag::SUBSCRIPTION,
        attributes: attrs
            .into_iter()
            .filter(|a| asked(request, &a.name))
            .collect(),
    }
}

fn subscription_id(request: &Message) -> Result<i32, Refusal> {
    request
        .operation_attributes()
        .integer("notify-subscription-id")
        .ok_or_else(|| {
            Refusal::new(
                StatusCode::CLIENT_ERROR_BAD_REQUEST,
                "the request needs notify-subscription-id (integer)",
            )
        })
}

pub(super) fn get_subscription_attributes(
    target: &Target<'_>,
    printer: &LocalPrinter,
    request: &Message,
) -> Result<Message, Refusal> {
    let id = subscription_id(request)?;
    let group = target
        .service
        .subscriptions
        .with(&printer.slug, id, |s| {
            subscription_attributes(target, printer, s, request)
        })
        .map_err(refused)?;
    let mut reply = request.reply(StatusCode::SUCCESSFUL_OK);
    reply.push_group(group);
    Ok(reply)
}

/// Get-Subscriptions: the printer's subscriptions, or with `notify-job-id` that job's;
/// `my-subscriptions` keeps the requesting user's, `limit` the first ones.
pub(super) fn get_subscriptions(
    target: &Target<'_>,
    printer: &LocalPrinter,
    request: &Message,
) -> Result<Message, Refusal> {
    let op = request.operation_attributes();
    let job = match op.first_value("notify-job-id") {
        None => None,
        Some(Value::Integer(id)) if *id > 0 => Some(*id as u32),
        Some(_) => {
            return Err(Refusal::new(
                StatusCode::CLIENT_ERROR_BAD_REQUEST,
                "notify-job-id must be a positive integer",
            ));
        }
    };
    let limit = match op.integer("limit") {
        Some(n) if n > 0 => n as usize,
        Some(_) => {
            return Err(Refusal::new(
                StatusCode::CLIENT_ERROR_BAD_REQUEST,
                "limit must be positive",
            ));
        }
        None => usize::MAX,
    };
    let user = op
        .boolean("my-subscriptions")
        .unwrap_or(false)
        .then(|| op.string("requesting-user-name"))
        .flatten();
    let groups = target.service.subscriptions.each(&printer.slug, |s| {
        let wanted = s.job == job && user.is_none_or(|u| s.template.user.as_deref() == Some(u));
        wanted.then(|| subscription_attributes(target, printer, s, request))
    });
    let mut reply = request.reply(StatusCode::SUCCESSFUL_OK);
    for group in groups.into_iter().flatten().take(limit) {
        reply.push_group(group);
    }
    Ok(reply)
}

/// Renew-Subscription: a new lease for a printer subscription (`notify-lease-duration` in the
/// operation group, the default without); a job subscription has none to renew.
pub(super) fn renew_subscription(
    target: &Target<'_>,
    printer: &LocalPrinter,
    request: &Message,
) -> Result<Message, Refusal> {
    let id = subscription_id(request)?;
    let seconds = match request.operation_attributes().attr("notify-lease-duration") {
        None => DEFAULT_LEASE_SECONDS,
        Some(lease) => match lease.first() {
            Some(Value::Integer(n)) if (0..=MAX_LEASE_SECONDS).contains(n) => *n,
            _ => {
                return Err(Refusal::new(
                    StatusCode::CLIENT_ERROR_ATTRIBUTES_OR_VALUES_NOT_SUPPORTED,
                    format!(
                        "notify-lease-duration must be an integer from 0 to {MAX_LEASE_SECONDS}"
                    ),
                )
                .with_unsupported(vec![lease.clone()]));
            }
        },
    };
    let renewed = target
        .service
        .subscriptions
        .renew(&printer.slug, id, seconds)
        .map_err(refused)?;
    if !renewed {
        return Err(Refusal::new(
            StatusCode::CLIENT_ERROR_NOT_POSSIBLE,
            format!("subscription {id} is a job subscription: it lasts as long as its job"),
        ));
    }
    let mut reply = request.reply(StatusCode::SUCCESSFUL_OK);
    reply.push_group(
        Group::new(GroupTag::SUBSCRIPTION).with("notify-lease-duration", Value::Integer(seconds)),
    );
    Ok(reply)
}

pub(super) fn cancel_subscription(
    target: &Target<'_>,
    printer: &LocalPrinter,
    request: &Message,
) -> Result<Message, Refusal> {
    let id = subscription_id(request)?;
    target
        .service
        .subscriptions
        .cancel(&printer.slug, id)
        .map_err(refused)?;
    Ok(request.reply(StatusCode::SUCCESSFUL_OK))
}

/// The subscriptions a Get-Notifications names, each with the first sequence number wanted.
fn wanted(request: &Message) -> Result<Vec<(i32, i32)>, Refusal> {
    let op = request.operation_attributes();
    let ids: Vec<i32> = op
        .attr("notify-subscription-ids")
        .map(|a| a.integers().collect())
        .unwrap_or_default();
    if ids.is_empty() {
        return Err(Refusal::new(
            StatusCode::CLIENT_ERROR_BAD_REQUEST,
            "Get-Notifications needs notify-subscription-ids",
        ));
    }
    let from: Vec<i32> = op
        .attr("notify-sequence-numbers")
        .map(|a| a.integers().collect())
        .unwrap_or_default();
    // Each subscription once (its first sequence number): a request naming one id many times
    // must not multiply its queue in the answer.
    let mut wanted: Vec<(i32, i32)> = Vec::new();
    for (i, id) in ids.into_iter().enumerate() {
        if !wanted.iter().any(|(seen, _)| *seen == id) {
            wanted.push((id, from.get(i).copied().unwrap_or(1).max(1)));
        }
    }
    Ok(wanted)
}

/// Get-Notifications (RFC 3996 §5): the events of the named subscriptions from the sequence
/// numbers given; with `notify-wait`, held until one comes (at most [`LONG_POLL`], or until
/// the listener shuts down). `successful-ok-events-complete` when every named subscription has
/// ended with its job, so the client stops asking.
pub(super) async fn get_notifications(
    target: &Target<'_>,
    printer: &LocalPrinter,
    request: &Message,
) -> Result<Message, Refusal> {
    let wanted = wanted(request)?;
    let wait = request
        .operation_attributes()
        .boolean("notify-wait")
        .unwrap_or(false);
    let service = target.service;
    let deadline = Instant::now() + LONG_POLL;
    let wakeup = service.subscriptions.wakeup(&printer.slug);
    let (events, complete) = loop {
        let notified = wakeup.notified();
        tokio::pin!(notified);
        // Registered before looking, so an event raised in between still wakes us.
        notified.as_mut().enable();
        let (events, complete) = service
            .subscriptions
            .take(&printer.slug, &wanted)
            .map_err(refused)?;
        if !events.is_empty() || !wait || complete || Instant::now() >= deadline {
            break (events, complete);
        }
        tokio::select! {
            _ = notified => {}
            _ = tokio::time::sleep_until(deadline) => {}
            _ = service.shutdown.cancelled() => break (events, complete),
        }
    };
    let status = if complete {
        StatusCode::SUCCESSFUL_OK_EVENTS_COMPLETE
    } else {
        StatusCode::SUCCESSFUL_OK
    };
    let mut reply = request.reply(status);
    if !complete {
        let interval = if wait { 0 } else { GET_INTERVAL_SECONDS };
        reply.groups[0].push(Attribute::new(
            "notify-get-interval",
            Value::Integer(interval),
        ));
    }
    reply.groups[0].push(Attribute::new(
        "printer-up-time",
        Value::Integer(target.up_time()),
    ));
    for (id, event) in events {
        let from_subscription = service
            .subscriptions
            .with(&printer.slug, id, |s| {
                (
                    s.template.natural_language.clone(),
                    s.template.user_data.clone(),
                )
            })
            .ok();
        reply.push_group(event_group(target, printer, id, &event, from_subscription));
    }
    Ok(reply)
}

/// One event-notification group (RFC 3995 §9.1, RFC 3996 §5.2.2).
fn event_group(
    target: &Target<'_>,
    printer: &LocalPrinter,
    subscription: i32,
    event: &Event,
    from_subscription: Option<(String, Option<Vec<u8>>)>,
) -> Group {
    let happening = &event.happening;
    let (language, user_data) = from_subscription.unwrap_or_else(|| ("en".into(), None));
    let mut group = Group::new(GroupTag::EVENT_NOTIFICATION)
        .with("notify-subscription-id", Value::Integer(subscription))
        .with(
            "notify-printer-uri",
            Value::uri(target.printer_uri(printer)),
        )
        .with(
            "notify-subscribed-event",
            Value::keyword(event.subscribed.keyword()),
        )
        .with("printer-up-time", Value::Integer(happening.up_time))
        .with("notify-sequence-number", Value::Integer(event.sequence))
        .with("notify-charset", Value::charset("utf-8"))
        .with("notify-natural-language", Value::natural_language(language))
        .with("notify-text", Value::text(happening.text.clone()));
    if let Some(data) = user_data {
        group.push(Attribute::new(
            "notify-user-data",
            Value::OctetString(data.into()),
        ));
    }
    if let Some(job) = &happening.job {
        group.push(Attribute::new(
            "notify-job-id",
            Value::Integer(job.id as i32),
        ));
        group.push(Attribute::new(
            "job-uri",
            Value::uri(job_uri(target, printer, job.id)),
        ));
        group.push(Attribute::new("job-state", Value::Enum(job.state)));
        group.push(Attribute::set(
            "job-state-reasons",
            job.reasons.iter().map(|r| Value::keyword(r.clone())),
        ));
        group.push(Attribute::new(
            "job-impressions-completed",
            Value::Integer(i32::try_from(job.impressions_completed).unwrap_or(i32::MAX)),
        ));
    }
    if let Some(state) = &happening.printer {
        group.push(Attribute::new("printer-state", Value::Enum(state.state)));
        group.push(Attribute::set(
            "printer-state-reasons",
            state.reasons.iter().map(|r| Value::keyword(r.clone())),
        ));
        group.push(Attribute::new(
            "printer-is-accepting-jobs",
            Value::Boolean(state.accepting_jobs),
        ));
    }
    group
}

#[cfg(test)]
mod tests {
    use super::*;
    use printlab_ipp::Operation;

    #[test]
    fn a_subscription_named_many_times_is_read_once_from_its_first_number() {
        let mut request = Message::request(Operation::GET_NOTIFICATIONS, 1);
        request.groups[0].push(Attribute::set(
            "notify-subscription-ids",
            [Value::Integer(4), Value::Integer(7), Value::Integer(4)],
        ));
        request.groups[0].push(Attribute::set(
            "notify-sequence-numbers",
            [Value::Integer(3), Value::Integer(-5), Value::Integer(9)],
        ));
        assert_eq!(wanted(&request).unwrap(), [(4, 3), (7, 1)]);
    }

    #[test]
    fn a_template_needs_ippget_and_known_events() {
        let request = Message::request(Operation::CREATE_PRINTER_SUBSCRIPTIONS, 1);
        let group = |attributes: Vec<Attribute>| Group {
            tag: GroupTag::SUBSCRIPTION,
            attributes,
        };
        let ippget = Attribute::new("notify-pull-method", Value::keyword("ippget"));
        let (template, ignored) = read_template(
            &group(vec![
                ippget.clone(),
                Attribute::set(
                    "notify-events",
                    [
                        Value::keyword("job-completed"),
                        Value::keyword("no-such-event"),
                    ],
                ),
            ]),
            &request,
            false,
        )
        .unwrap();
        assert_eq!(template.events, [EventKind::JobCompleted]);
        assert_eq!(template.lease_seconds, DEFAULT_LEASE_SECONDS);
        assert_eq!(ignored[0].values, [Value::keyword("no-such-event")]);
        let no_method = read_template(&group(vec![]), &request, false).unwrap_err();
        assert_eq!(no_method.0, StatusCode::CLIENT_ERROR_BAD_REQUEST);
        let lease_on_a_job = read_template(
            &group(vec![
                ippget,
                Attribute::new("notify-lease-duration", Value::Integer(60)),
            ]),
            &request,
            true,
        )
        .unwrap_err();
        assert_eq!(lease_on_a_job.0, StatusCode::CLIENT_ERROR_BAD_REQUEST);
    }
}
