//! Device faults met while a case prints: a printer the fleet file makes jam or run out of
//! paper stops its job; the run clears it through the lab's control API, as an operator would,
//! and notes it as a fault rather than a failure.

use super::ControlApi;
use printlab_client::GraphClient;
use printlab_graph::PrinterProcessingState;
use std::convert::Infallible;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

/// How often a stopped job's printer is looked at.
const LOOK: Duration = Duration::from_millis(250);

/// Watches the printer while its job is stopped; never ends (the job's end ends it).
pub(super) async fn watch(
    client: &GraphClient,
    control: Option<&ControlApi>,
    printer: &str,
    share_id: &str,
    job_stopped: &AtomicBool,
    faults: &Mutex<Vec<String>>,
) -> Infallible {
    loop {
        tokio::time::sleep(LOOK).await;
        if !job_stopped.load(Ordering::Relaxed) {
            continue;
        }
        let status = match client.share(share_id).await {
            Ok(share) => share.status,
            Err(err) => {
                tracing::warn!(printer, "reading the printer's status: {err}");
                continue;
            }
        };
        let Some(status) = status.filter(|s| s.state == PrinterProcessingState::Stopped) else {
            continue;
        };
        let what: Vec<String> = status.details.iter().map(|d| d.to_string()).collect();
        let fault = format!(
            "{}{}",
            what.join(", "),
            status
                .description
                .map(|d| format!(" ({d})"))
                .unwrap_or_default()
        );
        let cleared = match control {
            Some(control) => clear(client, control, printer).await,
            None => false,
        };
        let note = if cleared {
            format!("{fault}: cleared through the control API")
        } else {
            format!("{fault}: waited out")
        };
        let mut faults = faults.lock().expect("fault list lock poisoned");
        if faults.last() != Some(&note) {
            tracing::info!(printer, "{note}");
            faults.push(note);
        }
    }
}

/// `POST {control}/control/printers/{name}/clear`; whether the lab cleared it.
async fn clear(client: &GraphClient, control: &ControlApi, printer: &str) -> bool {
    let Ok(mut url) = reqwest::Url::parse(&control.url) else {
        tracing::warn!(
            control = control.url,
            "the control API address is not a URL"
        );
        return false;
    };
    if let Ok(mut path) = url.path_segments_mut() {
        path.pop_if_empty()
            .extend(["control", "printers", printer, "clear"]);
    }
    match client
        .http()
        .post(url.clone())
        .bearer_auth(&control.token)
        .send()
        .await
    {
        Ok(answer) => answer.status().is_success(),
        Err(err) => {
            tracing::warn!(%url, "clearing the fault: {err}");
            false
        }
    }
}
