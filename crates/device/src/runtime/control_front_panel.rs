//! The front panel's other buttons in the control API: the paper loaded in a tray, a supply's
//! level, and a sample page. Faults, pause and the job listing are in `control_api`.

use super::control_api::{ControlState, Refusal, printer, send};
use super::printer_handle::{Control, PrinterHandle};
use super::sample_page::{SamplePageError, print_sample_page as queue_sample_page};
use axum::Json;
use axum::extract::{Path as UrlPath, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use printlab_graph::MediaSize;
use serde::Deserialize;

/// The printer has a tray by that name, or the refusal listing the ones it has.
pub(super) fn declared_tray(printer: &PrinterHandle, tray: &str) -> Result<(), Refusal> {
    let trays: Vec<&str> = (printer.config.trays.iter())
        .map(|t| t.name.as_str())
        .collect();
    if trays.contains(&tray) {
        return Ok(());
    }
    let listed = if trays.is_empty() {
        "none declared".to_string()
    } else {
        trays.join(", ")
    };
    Err((
        StatusCode::NOT_FOUND,
        format!(
            "printer {} has no tray named {tray}; its trays: {listed}\n",
            printer.name
        ),
    ))
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub(super) struct LoadedMedia {
    /// Graph (`A4`) or PWG (`iso_a4_210x297mm`) name.
    media_size: String,
}

/// `PUT …/trays/{tray}`: a full stack of another paper, one of the sizes the printer prints.
pub(super) async fn load_media(
    State(state): State<ControlState>,
    UrlPath((name, tray)): UrlPath<(String, String)>,
    Json(loaded): Json<LoadedMedia>,
) -> Response {
    let p = match printer(&state, &name) {
        Ok(p) => p,
        Err(refused) => return refused.into_response(),
    };
    if let Err(refused) = declared_tray(p, &tray) {
        return refused.into_response();
    }
    let asked = loaded.media_size.trim();
    let supported = p
        .config
        .capabilities
        .media_sizes
        .as_deref()
        .unwrap_or_default();
    let known = MediaSize::by_graph_name(asked).or_else(|| MediaSize::by_pwg_name(asked));
    let graph_name = match known.map(|m| m.graph_name) {
        Some(size) if supported.iter().any(|s| s == size) => size.to_string(),
        // A size outside the media table, declared by name in printers.toml.
        None if supported.iter().any(|s| s == asked) => asked.to_string(),
        _ => {
            return (
                StatusCode::BAD_REQUEST,
                format!(
                    "printer {name} does not print on {asked:?}; its media sizes: {}\n",
                    supported.join(", ")
                ),
            )
                .into_response();
        }
    };
    let done = format!("{name}: {graph_name} loaded in {tray}\n");
    let action = Control::LoadMedia {
        tray,
        media_size: graph_name,
    };
    send(p, action, done).await
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct SupplyLevelSet {
    /// Percent, 0 to 100.
    level: u8,
}

/// `PUT …/supplies/{supply}`: the level a person sets, as with a part-used cartridge.
pub(super) async fn set_supply_level(
    State(state): State<ControlState>,
    UrlPath((name, supply)): UrlPath<(String, String)>,
    Json(set): Json<SupplyLevelSet>,
) -> Response {
    let p = match printer(&state, &name) {
        Ok(p) => p,
        Err(refused) => return refused.into_response(),
    };
    let supplies: Vec<&str> = (p.config.supplies.iter())
        .map(|s| s.name.as_str())
        .collect();
    if !supplies.contains(&supply.as_str()) {
        let listed = if supplies.is_empty() {
            "none declared".to_string()
        } else {
            supplies.join(", ")
        };
        let refused =
            format!("printer {name} has no supply named {supply}; its supplies: {listed}\n");
        return (StatusCode::NOT_FOUND, refused).into_response();
    }
    if set.level > 100 {
        let refused = format!("level {} is not a percentage (0 to 100)\n", set.level);
        return (StatusCode::BAD_REQUEST, refused).into_response();
    }
    let done = format!("{name}: {supply} at {} %\n", set.level);
    let action = Control::SetSupplyLevel {
        supply,
        percent: set.level,
    };
    send(p, action, done).await
}

/// `POST …/sample-page`: 201 with the queued job's spool record.
pub(super) async fn print_sample_page(
    State(state): State<ControlState>,
    UrlPath(name): UrlPath<String>,
) -> Response {
    let p = match printer(&state, &name) {
        Ok(p) => p.clone(),
        Err(refused) => return refused.into_response(),
    };
    let spool = state.outputs.spool.clone();
    // Making the page and writing it to the spool is blocking work.
    match tokio::task::spawn_blocking(move || queue_sample_page(&p, &spool)).await {
        Ok(Ok(record)) => (StatusCode::CREATED, Json(record)).into_response(),
        Ok(Err(e @ SamplePageError::NoFormat { .. })) => {
            (StatusCode::CONFLICT, format!("{e}\n")).into_response()
        }
        Ok(Err(e)) => (StatusCode::INTERNAL_SERVER_ERROR, format!("{e}\n")).into_response(),
        Err(e) => (
            StatusCode::INTERNAL_SERVER_ERROR,
            format!("queuing a sample page on {name}: {e}\n"),
        )
            .into_response(),
    }
}
