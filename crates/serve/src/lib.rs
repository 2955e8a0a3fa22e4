//! Serving a router over HTTP/1.1 and HTTP/2 on one port (h2c with prior knowledge in plain
//! text, h2 through ALPN over TLS) with the limits a service on an open port needs: the cloud,
//! the lab's and devices' control APIs and the printers' IPP listener are all served by
//! [`serve`].
//!
//! `axum::serve` keeps every connection for as long as the peer likes: one that never finishes
//! its request headers, or never sends another request, holds a file descriptor forever, and
//! enough of them starve the process. Here each connection is watched (`connection.rs`):
//!
//! - **header-read timeout**: from its first byte (or from the accept), a request's headers must
//!   arrive within [`ServeLimits::header_read_timeout`];
//! - **idle timeout**: a keep-alive connection with no request (HTTP/2: no open stream) for
//!   [`ServeLimits::idle_timeout`] is closed (HTTP/2 with a GOAWAY). Every HTTP/1.1 response
//!   says so in `Keep-Alive: timeout=N`, and the close comes a second after that, so a client that honours the header lets go first;
//!   one that does not (urllib3 keeps connections forever) sees the close long before it reuses
//!   the connection, unless it reuses it at that very moment, which only a retry can cover;
//! - **connection budget** (`budget.rs`): connections that have not yet sent an authenticated
//!   request are few in a healthy service (a client authenticates with its first request), so at
//!   most [`ServeLimits::unauthenticated_connections`] are kept; beyond that the oldest is closed.
//!   The service marks a connection authenticated through the [`ConnectionTrust`] every request
//!   carries as an extension, so authenticated clients and devices' long polls are never touched
//!   by the budget, whatever an attacker holds open.
//!
//! A request answered before its body was read (a refused upload range) has the rest of its
//! body read and dropped in the background, up to [`DRAIN_LIMIT`]: closing a socket that still
//! has unread bytes makes the kernel send a reset, which can destroy the response before the
//! client reads it (`connection closed before message completed`).

mod budget;
mod connection;
mod health;
mod metrics_endpoint;
mod tls;

pub use budget::ConnectionTrust;
pub use health::{Readiness, health_router};
pub use metrics_endpoint::metrics_router;
pub use tls::{TLS_FOLDER, TlsError, TlsFiles, create_lab_certificates, server_config};
pub use tokio_rustls::rustls::ServerConfig as TlsConfig;

use budget::ConnectionBudget;
use std::sync::Arc;
use std::time::Duration;
use tokio::net::TcpListener;
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;

/// How much of a request body nobody read is still read and dropped to keep the connection.
pub const DRAIN_LIMIT: u64 = 64 * 1024 * 1024;

/// The limits every connection is served under.
#[derive(Debug, Clone)]
pub struct ServeLimits {
    /// How long a request's headers may take from its first byte (for the first request, from
    /// the accept).
    pub header_read_timeout: Duration,
    /// How long a keep-alive connection may wait for its next request.
    pub idle_timeout: Duration,
    /// How many connections that have not yet sent an authenticated request are kept at once.
    pub unauthenticated_connections: usize,
    /// How many requests one HTTP/2 connection may have open at once: a whole fleet's long
    /// polls share one connection.
    pub http2_max_concurrent_streams: u32,
    /// How many request body bytes one HTTP/2 connection may have sent and not yet had read.
    /// The h2 crate also closes a connection (GOAWAY `ENHANCE_YOUR_CALM`,
    /// `too_many_data_frames`) once small DATA frames waiting to be read pass half of this: a
    /// fleet starting, every printer's small IPP request queued at once, passed hyper's 1 MiB.
    pub http2_connection_window: u32,
    /// Where the connections are counted (the cloud's metrics; nobody's by default).
    pub connections: ConnectionCounters,
}

/// A server's connections: accepted so far, and open now.
#[derive(Debug, Clone)]
pub struct ConnectionCounters {
    pub accepted: prometheus::IntCounter,
    pub open: prometheus::IntGauge,
}

impl Default for ConnectionCounters {
    /// Counters registered nowhere.
    fn default() -> Self {
        Self {
            accepted: prometheus::IntCounter::new("connections_accepted_total", "unregistered")
                .expect("a valid metric"),
            open: prometheus::IntGauge::new("connections", "unregistered").expect("a valid metric"),
        }
    }
}

/// Counts one connection as open until it is dropped with the connection's task.
struct OpenConnection(prometheus::IntGauge);

impl OpenConnection {
    fn new(counters: &ConnectionCounters) -> Self {
        counters.accepted.inc();
        counters.open.inc();
        Self(counters.open.clone())
    }
}

impl Drop for OpenConnection {
    fn drop(&mut self) {
        self.0.dec();
    }
}

impl Default for ServeLimits {
    /// 20 s for headers (a person typing a request by hand is slower, a client never is); 120 s
    /// idle, longer than the pools of reqwest and Go (90 s) and .NET (60 s), so those clients
    /// retire a connection before the server closes it; 512 unauthenticated connections, half
    /// the common soft limit of 1024 file descriptors; 65,536 HTTP/2 streams per connection,
    /// so a process of ten thousand printers holds all its long polls on one connection with
    /// room for the requests of their jobs (hyper's default, 200, would queue the rest); a
    /// 16 MiB HTTP/2 connection window, so ten thousand printers' small requests can wait to be
    /// read at once (8 MiB of h2's small-frame budget, at most 256 bytes a frame).
    fn default() -> Self {
        Self {
            header_read_timeout: Duration::from_secs(20),
            idle_timeout: Duration::from_secs(120),
            unauthenticated_connections: 512,
            http2_max_concurrent_streams: 65_536,
            http2_connection_window: 16 << 20,
            connections: ConnectionCounters::default(),
        }
    }
}

/// How long after `accept` fails for lack of file descriptors the next try waits, once the
/// oldest unauthenticated connection has been closed to free one.
const ACCEPT_RETRY: Duration = Duration::from_millis(50);
/// How long after any other failure of `accept` the next try waits.
const ACCEPT_PAUSE: Duration = Duration::from_secs(1);

/// Serves `router` on `listener` under `limits` (over HTTPS with `tls`) until `shutdown` is
/// cancelled, then lets each connection finish its request in flight and returns once all are
/// closed. A failing `accept` is logged and tried again, never the end of serving.
pub async fn serve(
    listener: TcpListener,
    router: axum::Router,
    limits: ServeLimits,
    tls: Option<Arc<TlsConfig>>,
    shutdown: CancellationToken,
) {
    let limits = Arc::new(limits);
    let tls = tls.map(tokio_rustls::TlsAcceptor::from);
    let budget = ConnectionBudget::new(limits.unauthenticated_connections);
    let mut connections = JoinSet::new();
    loop {
        let accepted = tokio::select! {
            accepted = listener.accept() => accepted,
            Some(_) = connections.join_next(), if !connections.is_empty() => continue,
            _ = shutdown.cancelled() => break,
        };
        let stream = match accepted {
            Ok((stream, _peer)) => stream,
            Err(e) if is_out_of_descriptors(&e) => {
                let freed = budget.evict_oldest();
                tracing::warn!(error = %e, freed, "cannot accept a connection: out of file descriptors");
                tokio::time::sleep(ACCEPT_RETRY).await;
                continue;
            }
            Err(e) if is_connection_error(&e) => continue,
            Err(e) => {
                // Anything else (out of memory or buffers) may pass; serving must not end here.
                tracing::error!(error = %e, "cannot accept a connection");
                tokio::time::sleep(ACCEPT_PAUSE).await;
                continue;
            }
        };
        // Without TCP_NODELAY a response written in two segments (head, then a small body)
        // waits for the peer's delayed ACK: 40 ms on Linux, on every download and IPP reply.
        if let Err(e) = stream.set_nodelay(true) {
            tracing::debug!(error = %e, "cannot set TCP_NODELAY on a connection");
        }
        let (router, limits, trust) = (router.clone(), limits.clone(), budget.admit());
        let shutdown = shutdown.clone();
        let open = OpenConnection::new(&limits.connections);
        match &tls {
            None => connections.spawn(async move {
                let _open = open;
                connection::drive(stream, router, limits, trust, shutdown).await
            }),
            Some(tls) => {
                let handshake = tls.accept(stream);
                connections.spawn(async move {
                    let _open = open;
                    // The handshake counts against the header-read timeout of the first request.
                    match tokio::time::timeout(limits.header_read_timeout, handshake).await {
                        Ok(Ok(stream)) => {
                            connection::drive(stream, router, limits, trust, shutdown).await
                        }
                        Ok(Err(e)) => tracing::debug!(error = %e, "TLS handshake failed"),
                        Err(_) => {
                            tracing::debug!("TLS handshake not done within the header-read timeout")
                        }
                    }
                })
            }
        };
    }
    drop(listener);
    while connections.join_next().await.is_some() {}
}

fn is_out_of_descriptors(e: &std::io::Error) -> bool {
    // EMFILE (the process's limit) and ENFILE (the system's).
    matches!(e.raw_os_error(), Some(24) | Some(23))
}

fn is_connection_error(e: &std::io::Error) -> bool {
    use std::io::ErrorKind::*;
    matches!(
        e.kind(),
        ConnectionRefused | ConnectionAborted | ConnectionReset
    )
}
