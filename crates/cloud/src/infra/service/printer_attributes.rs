//! Printer attributes as a device reads and writes them: Get-Printer-Attributes, the output
//! device's own attributes (Update/Get-Output-Device-Attributes) and Deregister-Output-Device.

use super::*;

pub(super) fn get_printer_attributes(state: &Shared, printer_id: &str, id: u32) -> Outcome {
    let rec = printer_record(state, printer_id)?;
    let mut group = Group::new(GroupTag::PRINTER)
        .with(
            "printer-uri-supported",
            Value::uri(state.printer_uri(printer_id)),
        )
        .with("uri-security-supported", Value::keyword("none"))
        .with(
            "uri-authentication-supported",
            Value::keyword("requesting-user-name"),
        )
        .with(
            "printer-name",
            Value::name(rec.printer.display_name.clone()),
        )
        .with("printer-up-time", Value::Integer(state.up_time()))
        .with_set("ipp-versions-supported", [Value::keyword("2.0")])
        .with_set(
            "notify-events-supported",
            EventKind::ALL.map(|k| Value::keyword(k.keyword())),
        )
        .with_set("notify-pull-method-supported", [Value::keyword("ippget")])
        .with_set(
            "which-jobs-supported",
            ["fetchable", "not-completed", "completed", "all"].map(Value::keyword),
        )
        .with_set(
            "operations-supported",
            SUPPORTED_OPERATIONS.map(|o| Value::Enum(i32::from(o.0))),
        );
    let status = printer_status_to_ipp(&rec.printer.status).value;
    let skip: Vec<&str> = status.iter().map(|a| a.name.as_str()).collect();
    for a in device_attributes(&rec.device) {
        if !skip.contains(&a.name.as_str()) && !group.attributes.iter().any(|g| g.name == a.name) {
            group.push(a);
        }
    }
    for a in status {
        if a.name != "printer-state" || rec.printer.status.state != PrinterProcessingState::Unknown
        {
            group.push(a);
        }
    }
    if group.attr("printer-state").is_none() {
        group.push(Attribute::new("printer-state", Value::Enum(3)));
    }
    let mut response = ok(id);
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
    let (unmapped, name) = update_printer(state, printer_id, |rec| {
        (
            update_device_attributes(rec, attributes),
            rec.printer.display_name.clone(),
        )
    })
    .await?;
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
    live.subscriptions.retain(|_, s| s.printer_id != printer_id);
    live.wakeup(printer_id).notify_waiters();
    Ok(IppReply::new(ok(id)))
}
