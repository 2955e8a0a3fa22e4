//! Printer attributes as a device reads and writes them: Get-Printer-Attributes, the output
//! device's own attributes (Update/Get-Output-Device-Attributes) and Deregister-Output-Device.

use super::everywhere_description::add_everywhere_attributes;
use super::identify::{self, IDENTIFY_REQUESTED, identify_pending, state_changed};
use super::*;
use printlab_ipp::requested_attributes::RequestedAttributes;

/// The operations a printer of the cloud serves: the client operations of PWG 5100.18's
/// Infrastructure Printer (RFC 8011's required ones, Create-Job/Send-Document, Cancel-My-Jobs,
/// ippget subscriptions) and the INFRA operations of its output device.
pub(super) const SUPPORTED_OPERATIONS: [Operation; 27] = [
    Operation::PRINT_JOB,
    Operation::VALIDATE_JOB,
    Operation::CREATE_JOB,
    Operation::SEND_DOCUMENT,
    Operation::CANCEL_JOB,
    Operation::GET_JOB_ATTRIBUTES,
    Operation::GET_JOBS,
    Operation::GET_PRINTER_ATTRIBUTES,
    Operation::CREATE_PRINTER_SUBSCRIPTIONS,
    Operation::CREATE_JOB_SUBSCRIPTIONS,
    Operation::CANCEL_SUBSCRIPTION,
    Operation::RENEW_SUBSCRIPTION,
    Operation::GET_NOTIFICATIONS,
    Operation::CANCEL_MY_JOBS,
    Operation::CLOSE_JOB,
    Operation::IDENTIFY_PRINTER,
    Operation::ACKNOWLEDGE_IDENTIFY_PRINTER,
    Operation::ACKNOWLEDGE_DOCUMENT,
    Operation::ACKNOWLEDGE_JOB,
    Operation::FETCH_DOCUMENT,
    Operation::FETCH_JOB,
    Operation::GET_OUTPUT_DEVICE_ATTRIBUTES,
    Operation::UPDATE_ACTIVE_JOBS,
    Operation::DEREGISTER_OUTPUT_DEVICE,
    Operation::UPDATE_DOCUMENT_STATUS,
    Operation::UPDATE_JOB_STATUS,
    Operation::UPDATE_OUTPUT_DEVICE_ATTRIBUTES,
];

/// `printer-more-info`: where a person reads about the printer (its Graph resource).
pub(super) fn more_info(state: &Shared, printer_id: &str) -> String {
    format!("{}/v1.0/print/printers/{printer_id}", state.device_url)
}

fn location_text(rec: &PrinterRecord) -> String {
    let Some(location) = &rec.printer.location else {
        return String::new();
    };
    [
        location.room_name.as_deref(),
        location.floor.as_deref(),
        location.building.as_deref(),
        location.site.as_deref(),
        location.city.as_deref(),
    ]
    .into_iter()
    .flatten()
    .filter(|part| !part.is_empty())
    .collect::<Vec<_>>()
    .join(", ")
}

/// Text attributes are at most 127 octets here (ipptool's conformance files hold printers to
/// it); cut at a character boundary.
fn short_text(text: &str) -> String {
    let mut end = text.len().min(127);
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    text[..end].to_owned()
}

/// The Infrastructure Printer's description: what the cloud itself answers for (URIs, charsets,
/// operations, job counts, ippget), then what the output device advertised, then the cloud's
/// fall-backs for required attributes the device did not send, then the printer's state.
pub(super) fn printer_description(state: &Shared, rec: &PrinterRecord) -> Result<Group, Refusal> {
    let printer_id = rec.printer.id.as_str();
    let security = if state.serves_tls() { "tls" } else { "none" };
    let lease = subscriptions::lease_seconds(state.long_poll.subscription_lease());
    let jobs = state.store.unfinished_jobs_of(printer_id);
    let queued = jobs
        .map_err(store_failed)?
        .iter()
        .filter(|j| is_handed_over(j))
        .count();
    let mut group = Group::new(GroupTag::PRINTER)
        .with(
            "printer-uri-supported",
            Value::uri(state.printer_uri(printer_id)),
        )
        .with("uri-security-supported", Value::keyword(security))
        .with("uri-authentication-supported", Value::keyword("basic"))
        .with(
            "printer-name",
            Value::name(short_text(&rec.printer.display_name)),
        )
        .with("printer-up-time", Value::Integer(state.up_time()))
        .with_set("ipp-versions-supported", ["1.1", "2.0"].map(Value::keyword))
        .with_set(
            "operations-supported",
            SUPPORTED_OPERATIONS.map(|o| Value::Enum(i32::from(o.0))),
        )
        .with("charset-configured", Value::charset("utf-8"))
        .with_set(
            "charset-supported",
            printlab_ipp::request_check::CHARSETS_SUPPORTED.map(Value::charset),
        )
        .with("natural-language-configured", Value::natural_language("en"))
        .with_set(
            "generated-natural-language-supported",
            [Value::natural_language("en")],
        )
        .with_set("compression-supported", [Value::keyword("none")])
        .with("pdl-override-supported", Value::keyword("attempted"))
        .with(
            "printer-is-accepting-jobs",
            Value::Boolean(rec.printer.is_accepting_jobs.unwrap_or(true)),
        )
        .with(
            "queued-job-count",
            Value::Integer(i32::try_from(queued).unwrap_or(i32::MAX)),
        )
        .with(
            "printer-more-info",
            Value::uri(more_info(state, printer_id)),
        )
        .with("multiple-document-jobs-supported", Value::Boolean(false))
        .with(
            "multiple-operation-time-out",
            Value::Integer(
                i32::try_from(state.multiple_operation_time_out.as_secs())
                    .unwrap_or(i32::MAX)
                    .max(1),
            ),
        )
        .with(
            "multiple-operation-time-out-action",
            Value::keyword("abort-job"),
        )
        .with("job-ids-supported", Value::Boolean(true))
        .with_set(
            "which-jobs-supported",
            ["fetchable", "not-completed", "completed", "all"].map(Value::keyword),
        )
        .with_set(
            "notify-events-supported",
            EventKind::ALL.map(|k| Value::keyword(k.keyword())),
        )
        .with_set(
            "notify-events-default",
            [Value::keyword(EventKind::JobStateChanged.keyword())],
        )
        .with_set("notify-pull-method-supported", [Value::keyword("ippget")])
        .with("notify-lease-duration-default", Value::Integer(lease))
        .with(
            "notify-lease-duration-supported",
            Value::RangeOfInteger {
                lower: 1,
                upper: lease,
            },
        )
        .with(
            "notify-max-events-supported",
            Value::Integer(EventKind::ALL.len() as i32),
        );
    let status = printer_status_to_ipp(&rec.printer.status).value;
    let skip: Vec<&str> = status.iter().map(|a| a.name.as_str()).collect();
    for a in device_attributes(&rec.device) {
        if !skip.contains(&a.name.as_str()) && !group.attributes.iter().any(|g| g.name == a.name) {
            group.push(a);
        }
    }
    let make_and_model = [
        rec.printer.manufacturer.as_deref(),
        rec.printer.model.as_deref(),
    ]
    .into_iter()
    .flatten()
    .collect::<Vec<_>>()
    .join(" ");
    let formats: Vec<String> = rec
        .printer
        .capabilities
        .as_ref()
        .and_then(|c| c.content_types.clone())
        .unwrap_or_default();
    let fallbacks = [
        (
            "printer-info",
            Value::text(short_text(&rec.printer.display_name)),
        ),
        (
            "printer-location",
            Value::text(short_text(&location_text(rec))),
        ),
        (
            "printer-make-and-model",
            Value::text(short_text(&make_and_model)),
        ),
        (
            "document-format-default",
            Value::mime_media_type(
                formats
                    .first()
                    .cloned()
                    .unwrap_or_else(|| "application/octet-stream".into()),
            ),
        ),
        ("page-ranges-supported", Value::Boolean(false)),
    ];
    for (name, value) in fallbacks {
        if group.attr(name).is_none() {
            group.push(Attribute::new(name, value));
        }
    }
    if group.attr("document-format-supported").is_none() {
        let values: Vec<Value> = if formats.is_empty() {
            vec![Value::mime_media_type("application/octet-stream")]
        } else {
            formats.into_iter().map(Value::mime_media_type).collect()
        };
        group.push(Attribute::set("document-format-supported", values));
    }
    add_everywhere_attributes(state, rec, &mut group);
    group
        .attributes
        .retain(|a| !STATE.contains(&a.name.as_str()));
    group.attributes.extend(printer_state(state, rec, status));
    Ok(group)
}

/// The attributes [`printer_state`] gives.
const STATE: [&str; 2] = ["printer-state", "printer-state-reasons"];

/// `printer-state` and `printer-state-reasons` (with `identify-printer-requested` while an
/// Identify-Printer waits for the device) and the rest of `status`, the printer's status as
/// IPP: what the description ends with and what a printer event carries (RFC 3995 §9.1).
pub(super) fn printer_state(
    state: &Shared,
    rec: &PrinterRecord,
    status: Vec<Attribute>,
) -> Vec<Attribute> {
    let identify = identify_pending(state, &rec.printer.id);
    let mut out = Vec::new();
    for mut a in status {
        if a.name == "printer-state-reasons" && identify {
            a.values.retain(|v| v.as_str() != Some("none"));
            a.values.push(Value::keyword(IDENTIFY_REQUESTED));
        }
        if a.name != "printer-state" || rec.printer.status.state != PrinterProcessingState::Unknown
        {
            out.push(a);
        }
    }
    if out.attr("printer-state").is_none() {
        out.push(Attribute::new("printer-state", Value::Enum(3)));
    }
    if out.attr("printer-state-reasons").is_none() {
        let reason = if identify { IDENTIFY_REQUESTED } else { "none" };
        out.push(Attribute::new(
            "printer-state-reasons",
            Value::keyword(reason),
        ));
    }
    out
}

pub(super) fn get_printer_attributes(
    state: &Shared,
    printer_id: &str,
    message: &Message,
) -> Outcome {
    let rec = printer_record(state, printer_id)?;
    let requested = RequestedAttributes::of(message, RequestedAttributes::All);
    let mut group = printer_description(state, &rec)?;
    group.attributes.retain(|a| requested.printer(&a.name));
    let mut response = ok(message.request_id);
    response.push_group(group);
    Ok(IppReply::new(response))
}

pub(super) async fn update_output_device_attributes(
    state: &Shared,
    printer_id: &str,
    message: &Message,
) -> Outcome {
    let attributes: Vec<Attribute> = message
        .groups_of(GroupTag::PRINTER)
        .flat_map(|g| g.attributes.iter().cloned())
        .collect();
    if let Some(bad) = attributes.iter().find(|a| {
        a.name == "printer-state"
            && !a
                .first()
                .and_then(Value::as_enum)
                .is_some_and(|v| (3..=5).contains(&v))
    }) {
        return Err(Refusal::unsupported_value(
            bad.clone(),
            "printer-state must be 3 (idle), 4 (processing) or 5 (stopped)",
        ));
    }
    let (unmapped, name, config_changed, state_changed_now) =
        update_printer(state, printer_id, |rec| {
            let before = (
                rec.printer.capabilities.clone(),
                rec.factory_defaults.clone(),
                rec.printer.status.clone(),
            );
            let unmapped = update_device_attributes(rec, attributes);
            (
                unmapped,
                rec.printer.display_name.clone(),
                before.0 != rec.printer.capabilities || before.1 != rec.factory_defaults,
                before.2 != rec.printer.status,
            )
        })
        .await?;
    if config_changed {
        identify::config_changed(state, printer_id);
    }
    if state_changed_now {
        state_changed(state, printer_id);
        state.raise(
            printer_id,
            EventKind::PrinterStateChanged,
            None,
            None,
            &format!("printer {name} changed state"),
        );
    }
    state.raise(
        printer_id,
        EventKind::PrinterConfigChanged,
        None,
        None,
        &format!("printer {name} changed"),
    );
    if unmapped.is_empty() {
        return Ok(IppReply::new(ok(message.request_id)));
    }
    // Kept as sent (Get-Output-Device-Attributes returns them) but without a Graph
    // counterpart: say so, as RFC 8011 does for substituted values.
    let mut response = Message::response(
        StatusCode::SUCCESSFUL_OK_IGNORED_OR_SUBSTITUTED_ATTRIBUTES,
        message.request_id,
    );
    response.push_group(Group {
        tag: GroupTag::UNSUPPORTED,
        attributes: unmapped
            .into_iter()
            .map(|name| {
                Attribute::new(name, Value::OutOfBand(printlab_ipp::OutOfBand::UNSUPPORTED))
            })
            .collect(),
    });
    Ok(IppReply::new(response))
}

pub(super) fn get_output_device_attributes(state: &Shared, printer_id: &str, id: u32) -> Outcome {
    let rec = printer_record(state, printer_id)?;
    let attributes = device_attributes(&rec.device);
    let mut response = ok(id);
    if !attributes.is_empty() {
        response.push_group(Group {
            tag: GroupTag::PRINTER,
            attributes,
        });
    }
    Ok(IppReply::new(response))
}

pub(super) async fn deregister(state: &Shared, printer_id: &str, id: u32) -> Outcome {
    update_printer(state, printer_id, clear_device).await?;
    let mut live = state.live();
    live.remove_printer_subscriptions(printer_id);
    live.wakeup(printer_id).notify_waiters();
    Ok(IppReply::new(ok(id)))
}
