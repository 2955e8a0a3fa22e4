//! The device loop: one tokio task per printer, all on one runtime and one HTTP connection
//! pool, speaking PWG 5100.18 to the service through [`InfraClient`](crate::infra_client::InfraClient).
//!
//! A printer advertises its attributes, then a companion task holds an ippget subscription
//! open with Get-Notifications long polls and wakes the printer when jobs become fetchable or a
//! job it is printing is canceled. Idle printers therefore cost a parked task and one pending
//! HTTP request each, and no CPU; a slow fallback poll runs only while notifications fail.
//!
//! The spool is the device's memory: every step that the service must be able to rely on is
//! flushed before the service hears of it (Acknowledge-Job, Acknowledge-Document, each printed
//! sheet, the final state), so a device killed at any point restarts from the spool, reconciles
//! with Update-Active-Jobs, and neither loses an acknowledged job nor prints a sheet twice.

mod connect;
mod control_api;
mod control_events;
mod control_front_panel;
mod fleet;
mod fleet_http;
mod identify;
mod ipp_everywhere;
mod job_pipeline;
mod metrics;
mod notifications;
mod printer_attributes;
mod printer_handle;
mod sample_page;
mod session;
mod side_thumbnail;
mod token_refresh;

pub use control_api::{JobOutputs, control_router, generate_control_token};
pub use control_events::{DocumentView, JobView, ProgressView, Transition, job_view, live_events};
pub use fleet::{Endpoint, FleetOptions, Link, RunningFleet, out_root, start_fleet};
pub use fleet_http::{
    FLEET_POOL_IDLE, FLEET_POOL_MAX_IDLE, FleetHttp, fleet_http_client, fleet_http_client_for,
    fleet_http_client_trusting, fleet_http_for, service_urls,
};
pub use identify::Identified;
pub use ipp_everywhere::{IppEndpoint, IppPrinter};
pub use job_pipeline::render_profile;
pub use metrics::FleetMetrics;
pub use printer_handle::{Control, PrinterHandle, PrinterSnapshot, SupplyLevel, TrayLevel};
pub use sample_page::{SamplePageError, print_sample_page};

use crate::infra_client::InfraClientError;
use crate::spool::SpoolError;
use rand::RngExt;
use std::time::Duration;
use tokio_util::sync::CancellationToken;

const BACKOFF_START: Duration = Duration::from_millis(250);
const BACKOFF_MAX: Duration = Duration::from_secs(30);

#[derive(Debug, thiserror::Error)]
pub enum RuntimeError {
    #[error("printer {printer}: {source}")]
    Infra {
        printer: String,
        source: InfraClientError,
    },
    #[error("printer {printer}: {source}")]
    Spool { printer: String, source: SpoolError },
    #[error(
        "printer {0} uses Universal Print registration, which needs the service's URL: pass \
         --cloud URL, or give it an `infra` connection (printer URI + HTTP Basic) in printers.toml"
    )]
    NeedsCloud(String),
    /// A printer that must register first and has no admin token; the message (the
    /// registration error's) names the printer and how to mint a token.
    #[error("{message}")]
    NeedsAdminToken { message: String },
    #[error("printer {printer}: {message}")]
    Config { printer: String, message: String },
    #[error("cannot set up the fleet's HTTP client: {0}")]
    HttpClient(reqwest::Error),
    #[error("cannot listen for IPP on {addr}: {source}")]
    IppListen {
        addr: std::net::SocketAddr,
        source: std::io::Error,
    },
}

/// Sleeps a jittered, growing delay; returns false if shutdown came first.
async fn backoff(attempt: &mut u32, shutdown: &CancellationToken) -> bool {
    let base = BACKOFF_START
        .saturating_mul(1 << (*attempt).min(10))
        .min(BACKOFF_MAX);
    *attempt += 1;
    let jitter = rand::rng().random_range(0.5..1.5);
    tokio::select! {
        _ = tokio::time::sleep(base.mul_f64(jitter)) => true,
        _ = shutdown.cancelled() => false,
    }
}
