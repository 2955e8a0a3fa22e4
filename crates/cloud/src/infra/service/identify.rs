//! Identify-Printer as PWG 5100.18 has an Infrastructure Printer relay it: the cloud cannot
//! blink a lamp, so it keeps the request, adds `identify-printer-requested` to the printer's
//! `printer-state-reasons` and raises `printer-state-changed`; the output device, subscribed to
//! that event (or reading the reasons), takes the request with Acknowledge-Identify-Printer,
//! which answers the `identify-actions` and `message` and clears the reason.

use super::state::{IdentifyRequest, PrinterChanges};
use super::*;

/// The `printer-state-reasons` keyword of a pending request.
pub(super) const IDENTIFY_REQUESTED: &str = "identify-printer-requested";

/// `identify-actions-supported` when the device did not say (what printlab's devices show).
const DEFAULT_ACTIONS: [&str; 1] = ["display"];

/// The actions the printer's device can take: its own `identify-actions-supported`, else
/// [`DEFAULT_ACTIONS`].
pub(super) fn actions_supported(device: &[Attribute]) -> Vec<String> {
    let said: Vec<String> = device
        .attr("identify-actions-supported")
        .map(|a| a.keywords().map(str::to_owned).collect())
        .unwrap_or_default();
    if said.is_empty() {
        DEFAULT_ACTIONS.map(str::to_owned).to_vec()
    } else {
        said
    }
}

/// Records that the printer's state changed now (`printer-state-change-*`).
pub(super) fn state_changed(state: &Shared, printer_id: &str) {
    record_change(state, printer_id, |changes, now| changes.state = now);
}

/// Records that the printer's configuration changed now (`printer-config-change-*`).
pub(super) fn config_changed(state: &Shared, printer_id: &str) {
    record_change(state, printer_id, |changes, now| changes.config = now);
}

fn record_change(
    state: &Shared,
    printer_id: &str,
    mark: impl FnOnce(&mut PrinterChanges, chrono::DateTime<chrono::Utc>),
) {
    let started = state.started_at;
    let mut live = state.live();
    let changes =
        (live.changes.entry(printer_id.to_owned())).or_insert(PrinterChanges::none_since(started));
    mark(changes, chrono::Utc::now());
}

/// Identify-Printer from a client: `identify-actions` (default: the device's
/// `identify-actions-default`, else the first supported) and `message`, kept for the device.
pub(super) fn identify_printer(state: &Shared, printer_id: &str, message: &Message) -> Outcome {
    let rec = printer_record(state, printer_id)?;
    let device = device_attributes(&rec.device);
    let supported = actions_supported(&device);
    let operation = message.operation_attributes();
    let actions: Vec<String> = match operation.attr("identify-actions") {
        Some(asked) => {
            let actions: Vec<String> = asked.keywords().map(str::to_owned).collect();
            if actions.is_empty() || actions.iter().any(|a| !supported.contains(a)) {
                return Err(Refusal::unsupported_value(
                    asked.clone(),
                    format!(
                        "identify-actions must be among {} (keywords)",
                        supported.join(", ")
                    ),
                ));
            }
            actions
        }
        None => vec![
            device
                .attr("identify-actions-default")
                .and_then(|a| a.keywords().next())
                .filter(|a| supported.iter().any(|s| s == *a))
                .unwrap_or(supported[0].as_str())
                .to_owned(),
        ],
    };
    let text = operation.string("message").map(str::to_owned);
    state.live().identify_requests.insert(
        printer_id.to_owned(),
        IdentifyRequest {
            actions,
            message: text,
        },
    );
    state_changed(state, printer_id);
    tracing::info!(printer = %printer_id, "Identify-Printer kept for the output device");
    state.raise(
        printer_id,
        EventKind::PrinterStateChanged,
        None,
        None,
        "Identify-Printer requested",
    );
    Ok(IppReply::new(ok(message.request_id)))
}

/// Acknowledge-Identify-Printer from the printer's output device: the pending request's
/// `identify-actions` and `message`, after which the reason is cleared; none pending is
/// `client-error-not-possible`.
pub(super) fn acknowledge_identify_printer(
    state: &Shared,
    printer_id: &str,
    message: &Message,
) -> Outcome {
    let pending = state.live().identify_requests.remove(printer_id);
    let Some(request) = pending else {
        return Err(Refusal::new(
            StatusCode::CLIENT_ERROR_NOT_POSSIBLE,
            "no Identify-Printer request is pending",
        ));
    };
    state_changed(state, printer_id);
    state.raise(
        printer_id,
        EventKind::PrinterStateChanged,
        None,
        None,
        "Identify-Printer acknowledged",
    );
    let mut response = ok(message.request_id);
    response.groups[0].push(Attribute::set(
        "identify-actions",
        request.actions.into_iter().map(Value::keyword),
    ));
    if let Some(text) = request.message {
        response.groups[0].push(Attribute::new("message", Value::text(text)));
    }
    Ok(IppReply::new(response))
}

/// Whether a request waits for the printer's device.
pub(super) fn identify_pending(state: &Shared, printer_id: &str) -> bool {
    state.live().identify_requests.contains_key(printer_id)
}
