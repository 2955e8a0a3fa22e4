//! The lab's dashboard: one page at `/` on the lab's address that shows the fleet, the jobs
//! with their printed sides, and each printer's front panel, live.
//!
//! The page is static (HTML, CSS and a small script compiled into the binary, no build step) and
//! public: it holds no data. What it does goes through the devices' control API, which the lab
//! serves on the same address with its admin token (the outputs, manifest and side PNGs, the
//! faults, pause and resume); what it shows live comes from `GET /dashboard/events` (`events.rs`),
//! the control API's stream of printer snapshots and job changes merged with the cloud's view
//! of the same printers and jobs as Graph shows them, upload progress included. The script reads the token
//! from the address's fragment (`/#token=…`, never sent to a server nor logged) and sends it as
//! `Authorization: Bearer` on every request.

mod admin_token;
mod events;
mod matrix_reports;
mod routes;

pub use events::{WINDOW, dashboard_events_router};
pub use matrix_reports::matrix_reports_router;
pub use routes::dashboard_router;

/// The address `printlab up` prints: the page, with the token in the fragment.
pub fn dashboard_url(lab_url: &str, token: &str) -> String {
    format!("{}/#token={token}", lab_url.trim_end_matches('/'))
}
