//! The one HTTP client a fleet shares, and which HTTP it speaks to each service.
//!
//! Over HTTP/1.1 every request in flight holds a connection of its own, so every idle printer
//! holds one (its long poll) in this process and one in the service: file descriptors, buffers
//! and a connection task on both sides, per printer. Over HTTP/2 all of a fleet's requests to
//! one service share one connection. On `https://` URLs the client offers HTTP/2 through ALPN
//! and the service picks; on plain `http://` there is nothing to negotiate with (h2c with prior
//! knowledge), so [`fleet_http_client_for`] asks each service first and speaks HTTP/2 only when
//! every one of them answers it, and HTTP/1.1 otherwise: a fleet pointed at an INFRA service
//! that speaks only HTTP/1.1 still works, one connection per request as before.

use super::RuntimeError;
use crate::config::{Connection, PrinterConfig};
use crate::infra_client::http_endpoint;
use std::time::Duration;

/// How long a fleet's idle HTTP connection stays open for reuse. A long poll's connection is
/// reused the moment the poll is renewed; the connections of a burst (registration, a job's
/// requests) would otherwise stay open for reqwest's default 90 s, each with its buffers and
/// task here and on the service: about three idle connections per printer after a fleet's
/// start, more memory than the printers themselves (HTTP/1.1; over HTTP/2 there is one).
pub const FLEET_POOL_IDLE: Duration = Duration::from_secs(5);
/// How many idle connections a fleet keeps at most. A fleet's start (every printer registering,
/// advertising and subscribing at once) opens several connections per printer over HTTP/1.1;
/// without a cap they all wait out [`FLEET_POOL_IDLE`], and that peak stays in the process's
/// resident memory long after they close. Renewed long polls take their connection back at
/// once, so they never need more than a few idle ones.
pub const FLEET_POOL_MAX_IDLE: usize = 64;
/// The HTTP/2 connection window of the fleet's client (the service's is set by the service).
const HTTP2_CONNECTION_WINDOW: u32 = 16 << 20;
/// How long [`fleet_http_client_for`] waits for a service to answer its HTTP/2 question, each
/// time it asks.
const PROBE_TIMEOUT: Duration = Duration::from_secs(5);
/// How long it keeps asking a service that does not answer at all (not listening yet, or too
/// busy to answer in [`PROBE_TIMEOUT`]) before settling for HTTP/1.1. Silence says nothing
/// about which HTTP a service speaks: a shard started before the cloud (pods start in any
/// order) or beside nine others registering 90,000 printers would otherwise speak HTTP/1.1 for
/// its whole life, a connection per printer.
const PROBE_PATIENCE: Duration = Duration::from_secs(120);
/// How often the fleet's client pings an HTTP/2 connection that has requests open, and how long
/// it waits for the answer before closing it. A service holds a long poll for minutes over
/// HTTP/2 and no request has a timeout, so a connection that died without a word (a peer gone
/// from the network) would otherwise keep every printer's long poll waiting; one ping per
/// connection (not per printer) notices in under a minute, and the printers subscribe again.
const HTTP2_PING_INTERVAL: Duration = Duration::from_secs(30);
const HTTP2_PING_TIMEOUT: Duration = Duration::from_secs(20);

/// Which HTTP a fleet's client speaks on plain `http://` URLs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FleetHttp {
    /// HTTP/1.1 (and HTTP/2 on `https://` when the service picks it through ALPN).
    Http1,
    /// HTTP/2 with prior knowledge (h2c) on `http://`, HTTP/2 through ALPN on `https://`: every
    /// request to one service shares one connection.
    Http2,
}

/// The fleet's client speaking HTTP/1.1 on `http://` URLs (HTTP/2 on `https://` when the
/// service offers it), idle connections capped at [`FLEET_POOL_MAX_IDLE`] and closed after
/// [`FLEET_POOL_IDLE`].
pub fn fleet_http_client() -> Result<reqwest::Client, RuntimeError> {
    fleet_http_client_trusting(FleetHttp::Http1, None)
}

/// The fleet's client speaking `http`, also trusting the CA certificates of a PEM bundle (a
/// lab's own HTTPS CA) besides the system's.
pub fn fleet_http_client_trusting(
    http: FleetHttp,
    extra_roots_pem: Option<&[u8]>,
) -> Result<reqwest::Client, RuntimeError> {
    // Pings apply to any HTTP/2 connection, an `https://` one that ALPN chose included.
    let mut builder = reqwest::Client::builder()
        .pool_idle_timeout(FLEET_POOL_IDLE)
        .pool_max_idle_per_host(FLEET_POOL_MAX_IDLE)
        .http2_keep_alive_interval(HTTP2_PING_INTERVAL)
        .http2_keep_alive_timeout(HTTP2_PING_TIMEOUT);
    if http == FleetHttp::Http2 {
        // The replies to every printer's requests share the connection's window, and the h2
        // crate closes the connection once small DATA frames not yet read pass half of it.
        builder = builder
            .http2_prior_knowledge()
            .http2_initial_connection_window_size(HTTP2_CONNECTION_WINDOW);
    }
    if let Some(pem) = extra_roots_pem {
        for root in reqwest::Certificate::from_pem_bundle(pem).map_err(RuntimeError::HttpClient)? {
            builder = builder.add_root_certificate(root);
        }
    }
    builder.build().map_err(RuntimeError::HttpClient)
}

/// The fleet's client for the services at `services` (URLs; see [`service_urls`]) with the
/// HTTP [`fleet_http_for`] chose.
pub async fn fleet_http_client_for(
    services: &[String],
    extra_roots_pem: Option<&[u8]>,
) -> Result<reqwest::Client, RuntimeError> {
    let http = fleet_http_for(services, extra_roots_pem).await?;
    fleet_http_client_trusting(http, extra_roots_pem)
}

/// HTTP/2 when every service at `services` answers a request over HTTP/2, HTTP/1.1 otherwise
/// (logged, with the service that did not). A service that does not answer at all is asked
/// again for up to [`PROBE_PATIENCE`] (all services at once); one still silent then counts as
/// one that does not speak HTTP/2: the fleet works with it whatever it speaks, at one
/// connection per request.
pub async fn fleet_http_for(
    services: &[String],
    extra_roots_pem: Option<&[u8]>,
) -> Result<FleetHttp, RuntimeError> {
    let http2 = fleet_http_client_trusting(FleetHttp::Http2, extra_roots_pem)?;
    let mut origins: Vec<String> = services.iter().filter_map(|url| origin(url)).collect();
    origins.sort();
    origins.dedup();
    let answers = futures::future::join_all(origins.iter().map(|o| speaks_http2(&http2, o))).await;
    for (origin, answer) in origins.iter().zip(answers) {
        if let Err(why) = answer {
            tracing::warn!(
                service = %origin,
                why = %why,
                "the service did not answer over HTTP/2: the fleet speaks HTTP/1.1, one connection per request in flight"
            );
            return Ok(FleetHttp::Http1);
        }
    }
    tracing::info!(
        services = origins.len(),
        "the fleet speaks HTTP/2: its requests to each service share one connection"
    );
    Ok(FleetHttp::Http2)
}

/// Asks `origin` a question over HTTP/2 until it answers or [`PROBE_PATIENCE`] runs out: `Ok`
/// when it answered over HTTP/2, else why not. Only silence (no connection, or no answer in
/// time) is asked again; a service that answered otherwise has said it does not speak HTTP/2.
async fn speaks_http2(http2: &reqwest::Client, origin: &str) -> Result<(), String> {
    let give_up = tokio::time::Instant::now() + PROBE_PATIENCE;
    let mut pause = Duration::from_millis(250);
    loop {
        let why = match tokio::time::timeout(PROBE_TIMEOUT, http2.get(origin).send()).await {
            Ok(Ok(_answer)) => return Ok(()),
            Ok(Err(e)) if !e.is_connect() => return Err(e.to_string()),
            Ok(Err(e)) => e.to_string(),
            Err(_) => format!("no answer within {PROBE_TIMEOUT:?}"),
        };
        if tokio::time::Instant::now() + pause >= give_up {
            return Err(format!("{why}, for {PROBE_PATIENCE:?}"));
        }
        tracing::info!(service = %origin, why = %why, "the service is silent; asking again");
        tokio::time::sleep(pause).await;
        pause = (pause * 2).min(PROBE_TIMEOUT);
    }
}

/// The URLs a fleet's printers reach: `cloud_url` for Universal Print printers, each INFRA
/// printer's URI otherwise.
pub fn service_urls(printers: &[PrinterConfig], cloud_url: Option<&str>) -> Vec<String> {
    printers
        .iter()
        .filter_map(|printer| match &printer.connection {
            Connection::UniversalPrint => cloud_url.map(str::to_string),
            Connection::Infra { printer_uri, .. } => Some(printer_uri.clone()),
        })
        .collect()
}

/// `scheme://authority/` of an `http`, `https`, `ipp` or `ipps` URL, as the client reaches it.
fn origin(url: &str) -> Option<String> {
    let endpoint = http_endpoint(url).ok()?;
    let (scheme, rest) = endpoint.split_once("://")?;
    let authority = rest.split('/').next()?;
    Some(format!("{scheme}://{authority}/"))
}

#[cfg(test)]
mod tests {
    use super::origin;

    #[test]
    fn origins_follow_the_ipp_schemes() {
        assert_eq!(
            origin("ipp://printers.test/ipp/print/a").as_deref(),
            Some("http://printers.test:631/")
        );
        assert_eq!(
            origin("ipps://printers.test:8443/x").as_deref(),
            Some("https://printers.test:8443/")
        );
        assert_eq!(
            origin("http://127.0.0.1:5000").as_deref(),
            Some("http://127.0.0.1:5000/")
        );
        assert_eq!(origin("ftp://x/"), None);
    }
}
