//! Identify-Printer on an emulated printer (PWG 5100.13; relayed by an infrastructure printer
//! as PWG 5100.18 describes): a person asks a printer to show itself, and the printer "shows"
//! by logging the actions in its span and putting them on its front panel, the
//! [`PrinterSnapshot::identified`] the dashboard reads. Both ways a request reaches a printer
//! end here: a client of the printer's own IPP listener, and a client of its service, whose
//! request the device collects with Acknowledge-Identify-Printer when the printer's
//! `printer-state-reasons` say `identify-printer-requested`.

use super::printer_handle::PrinterSnapshot;
use crate::infra_client::{InfraClient, InfraClientError};
use chrono::{DateTime, Utc};
use serde::Serialize;
use tokio::sync::watch;
use tracing::{info, warn};

/// The `identify-actions` an emulated printer can take: it has a front panel (the dashboard)
/// and nothing that flashes, beeps or speaks.
pub(super) const ACTIONS_SUPPORTED: [&str; 1] = ["display"];

/// `identify-actions-default`.
pub(super) const ACTION_DEFAULT: &str = "display";

/// The `printer-state-reasons` keyword of a request waiting at the service (PWG 5100.18).
pub(super) const IDENTIFY_REQUESTED: &str = "identify-printer-requested";

/// PWG 5100.13's `message` is text(127): longer ones are cut at a character boundary.
const MESSAGE_MAX_OCTETS: usize = 127;

/// The last Identify-Printer a printer performed, as its front panel shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Identified {
    /// The `identify-actions` taken (keywords).
    pub actions: Vec<String>,
    /// The `message` to display, when the request had one.
    pub message: Option<String>,
    /// When the printer performed it.
    pub at: DateTime<Utc>,
}

/// Performs an Identify-Printer: logs it (in the caller's span: the printer's) and records it
/// on the printer's front panel.
pub(super) fn perform(
    status: &watch::Sender<PrinterSnapshot>,
    actions: Vec<String>,
    message: Option<String>,
    from: &'static str,
) {
    let message = message.map(clip);
    info!(
        actions = actions.join(","),
        // Not `message`: tracing keeps that name for the line's own text.
        text = message.as_deref().unwrap_or(""),
        from,
        "Identify-Printer: the printer shows itself"
    );
    let identified = Identified {
        actions,
        message,
        at: Utc::now(),
    };
    status.send_modify(|s| s.identified = Some(identified));
}

fn clip(mut message: String) -> String {
    if message.len() > MESSAGE_MAX_OCTETS {
        let mut end = MESSAGE_MAX_OCTETS;
        while !message.is_char_boundary(end) {
            end -= 1;
        }
        message.truncate(end);
    }
    message
}

/// Collects and performs the request waiting at the service, if `reasons` (the printer's
/// `printer-state-reasons` as a `printer-state-changed` event carried them) say one waits;
/// with `None` (after subscribing, or an event without them) it simply asks: with nothing
/// waiting Acknowledge-Identify-Printer is refused `client-error-not-possible`, one request
/// as a Get-Printer-Attributes would be. Failures are logged: the next event or subscription
/// tries again, and jobs go on meanwhile.
pub(super) async fn collect_from_service(
    client: &InfraClient,
    status: &watch::Sender<PrinterSnapshot>,
    reasons: Option<Vec<String>>,
) {
    if let Err(e) = try_collect(client, status, reasons).await {
        warn!(error = %e, "cannot collect the service's Identify-Printer");
    }
}

async fn try_collect(
    client: &InfraClient,
    status: &watch::Sender<PrinterSnapshot>,
    reasons: Option<Vec<String>>,
) -> Result<(), InfraClientError> {
    if reasons.is_some_and(|reasons| !reasons.iter().any(|r| r == IDENTIFY_REQUESTED)) {
        return Ok(());
    }
    // None waits (any more: another device of the printer may have taken it in between).
    let Some(request) = client.acknowledge_identify_printer().await? else {
        return Ok(());
    };
    let actions = if request.actions.is_empty() {
        vec![ACTION_DEFAULT.to_owned()]
    } else {
        request.actions
    };
    perform(status, actions, request.message, "service");
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_long_message_is_cut_at_a_character_boundary() {
        assert_eq!(clip("Hello, World!".into()), "Hello, World!");
        let long = "é".repeat(100);
        let cut = clip(long);
        assert_eq!(cut.len(), 126);
        assert!(cut.chars().all(|c| c == 'é'));
    }

    /// The control API's OpenAPI description says what the snapshot's `identified` holds.
    #[test]
    fn the_openapi_description_documents_identified() {
        let openapi: serde_json::Value =
            serde_json::from_str(include_str!("control_openapi.json")).unwrap();
        let schema =
            &openapi["components"]["schemas"]["PrinterSnapshot"]["properties"]["identified"];
        let identified = Identified {
            actions: vec!["display".into()],
            message: Some("by the window".into()),
            at: Utc::now(),
        };
        let json = serde_json::to_value(&identified).unwrap();
        let documented = schema["properties"].as_object().expect("documented fields");
        for (field, _) in json.as_object().unwrap() {
            assert!(documented.contains_key(field), "{field} is not documented");
        }
        for field in schema["required"].as_array().unwrap() {
            assert!(json.get(field.as_str().unwrap()).is_some(), "{field}");
        }
    }
}
