//! `GET /dashboard/events`: the page's one live stream, the devices' control events (printer
//! snapshots, spooled jobs: `printer`, `job`, `job-removed`, `ready`) merged with the cloud's
//! view of the same printers and jobs as Graph shows them (`graph-printer`, `graph-job`,
//! `graph-upload`, `graph-ready`: [`printlab_cloud::Cloud::graph_events`]). So a demo audience
//! sees a device's jam become Graph's `stopped`/`mediaJam`, and a job from the moment Graph
//! has it, its upload's progress included, before any device fetched it. Both halves gather
//! their changes over [`WINDOW`] and send each changed printer and job once, as it is at the
//! window's end, so the page gets the latest state of what changed rather than every step.
//!
//! The lab names both halves only here, in its own process; each half's events come from its
//! own records, and the cloud and the devices still meet only over HTTP. The stream ends when
//! the fleet stops, as the control API's does, so a page left open never holds a shutdown.
//! Admin token only: 401 without one, 403 with another.

use super::admin_token::AdminToken;
use axum::Router;
use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use futures::stream::{self, StreamExt};
use printlab_cloud::Cloud;
use printlab_device::runtime::{self, PrinterHandle};
use printlab_device::spool::Spool;
use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;

/// How long each half's changes are gathered before they are read and sent: each printer, job
/// and upload at most once in it, so a busy lab (50 jobs a second, each a dozen steps between
/// the cloud and its printer) costs the page a few events per job, an upload at most four a
/// second, and nothing shows later than this. The page draws at the same pace.
pub const WINDOW: Duration = Duration::from_millis(250);

struct Sources {
    printers: Vec<PrinterHandle>,
    spool: Spool,
    cloud: Cloud,
    token: AdminToken,
}

/// The router of `GET /dashboard/events`.
pub fn dashboard_events_router(
    printers: Vec<PrinterHandle>,
    spool: Spool,
    cloud: Cloud,
    token: String,
) -> Router {
    Router::new()
        .route("/dashboard/events", get(events))
        .with_state(Arc::new(Sources {
            printers,
            spool,
            cloud,
            token: AdminToken::new(token),
        }))
}

async fn events(State(sources): State<Arc<Sources>>, headers: HeaderMap) -> Response {
    if let Some(refused) = sources.token.refusal(&headers) {
        return refused;
    }
    // `None` marks the end of the devices' stream, which ends the merged one.
    let devices = runtime::live_events(&sources.printers, sources.spool.clone(), WINDOW)
        .map(Some)
        .chain(stream::once(async { None }));
    let cloud = (sources.cloud.graph_events(WINDOW))
        .map(|e| Some(Event::default().event(e.kind).data(e.data.to_string())));
    let merged = stream::select(devices, cloud)
        .take_while(|event| std::future::ready(event.is_some()))
        .filter_map(std::future::ready)
        .map(Ok::<Event, Infallible>);
    Sse::new(merged)
        .keep_alive(KeepAlive::default())
        .into_response()
}
