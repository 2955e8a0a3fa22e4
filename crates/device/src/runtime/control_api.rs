//! The control API: what a person can do to a running printer over HTTP, and the printers' state.

use super::printer_handle::{Control, PrinterHandle, PrinterSnapshot};
use std::collections::HashMap;
use std::sync::Arc;

/// The control API: `GET /control/printers` and `POST /control/printers/{name}/clear`.
pub fn control_router(printers: &[PrinterHandle]) -> axum::Router {
    use axum::extract::{Path as UrlPath, State};
    use axum::http::StatusCode;
    use axum::routing::{get, post};
    let map: Arc<HashMap<String, PrinterHandle>> = Arc::new(
        printers
            .iter()
            .map(|p| (p.name.clone(), p.clone()))
            .collect(),
    );
    let order: Arc<Vec<String>> = Arc::new(printers.iter().map(|p| p.name.clone()).collect());
    axum::Router::new()
        .route(
            "/control/printers",
            get({
                let order = order.clone();
                move |State(map): State<Arc<HashMap<String, PrinterHandle>>>| async move {
                    let list: Vec<PrinterSnapshot> = order
                        .iter()
                        .filter_map(|n| map.get(n))
                        .map(|p| p.snapshot())
                        .collect();
                    axum::Json(list)
                }
            }),
        )
        .route(
            "/control/printers/{name}/clear",
            post(
                |State(map): State<Arc<HashMap<String, PrinterHandle>>>,
                 UrlPath(name): UrlPath<String>| async move {
                    match map.get(&name) {
                        Some(p) if p.control(Control::Clear).await => {
                            (StatusCode::ACCEPTED, format!("clearing faults of {name}\n"))
                        }
                        Some(_) => (StatusCode::GONE, format!("printer {name} is not running\n")),
                        None => (StatusCode::NOT_FOUND, format!("no printer named {name}\n")),
                    }
                },
            ),
        )
        .with_state(map)
}
