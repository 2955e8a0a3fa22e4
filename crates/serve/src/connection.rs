//! One connection: hyper's HTTP/1.1 or HTTP/2 state machine (told apart by the HTTP/2 preface)
//! on a socket whose activity is watched, so the connection is closed when its headers are late,
//! when it idles too long, or when the budget of unauthenticated connections needs its place.
//!
//! HTTP/2 carries many requests at once and sends frames of its own between them (settings,
//! window updates, pings), so there the header-read timeout covers the preface and the first
//! request only, and the connection is idle when no stream is open; hyper's HTTP/2 code bounds
//! each stream's headers itself.

use crate::{ConnectionTrust, DRAIN_LIMIT, ServeLimits};
use axum::http::{HeaderValue, Request, Response, Version, header};
use http_body::{Body, Frame, SizeHint};
use hyper::body::Incoming;
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::service::TowerToHyperService;
use std::convert::Infallible;
use std::pin::{Pin, pin};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::sync::Notify;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

/// How long after the idle timeout announced in `Keep-Alive` the connection is really closed,
/// so a client that honours the header to the second lets go first.
const IDLE_GRACE: Duration = Duration::from_secs(1);
/// The largest header section an HTTP/2 request may send (h2 counts 32 bytes besides each
/// field's name and value). hyper's default, 16 KiB, is under what HTTP/1.1 takes (its read
/// buffer, about 400 KiB), so a long URL refused over HTTP/1.1 by the service itself, with the
/// service's own error body, was refused over HTTP/2 by h2 with an empty 431.
const HTTP2_MAX_HEADER_LIST: u32 = 256 * 1024;

/// Serves one accepted connection until the peer closes it, a limit closes it, or `shutdown`
/// is cancelled and the request in flight is answered.
pub(super) async fn drive<S>(
    stream: S,
    router: axum::Router,
    limits: Arc<ServeLimits>,
    trust: ConnectionTrust,
    shutdown: CancellationToken,
) where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let activity = Arc::new(Activity::new());
    let io = TokioIo::new(Watched {
        inner: stream,
        activity: activity.clone(),
    });
    let keep_alive = HeaderValue::from_str(&format!("timeout={}", limits.idle_timeout.as_secs()))
        .expect("a number is a header value");
    let service = ConnectionService {
        router: TowerToHyperService::new(router),
        activity: activity.clone(),
        trust: trust.clone(),
        keep_alive,
        drain_time: limits.idle_timeout,
    };
    let mut http = hyper_util::server::conn::auto::Builder::new(TokioExecutor::new());
    // The header-read timeout is ours: hyper's runs from the end of the previous response, so
    // it would also be the idle timeout.
    http.http1().header_read_timeout(None);
    // A fleet's devices hold one long poll each, all on one connection: hyper's default of 200
    // streams would queue all but the first 200.
    http.http2()
        .max_concurrent_streams(limits.http2_max_concurrent_streams)
        .initial_connection_window_size(limits.http2_connection_window)
        .max_header_list_size(HTTP2_MAX_HEADER_LIST);
    let mut connection = pin!(http.serve_connection(io, service));
    let mut draining = false;
    loop {
        let deadline = activity.deadline(&limits);
        tokio::select! {
            served = connection.as_mut() => {
                if let Err(e) = served {
                    tracing::debug!(error = %e, "connection ended with an error");
                }
                return;
            }
            _ = activity.changed.notified() => {}
            _ = sleep_until(deadline) => {
                if let Some(why) = activity.expired(&limits) {
                    tracing::debug!(why, "closing a connection");
                    if !activity.is_multiplexed() || draining {
                        return;
                    }
                    // HTTP/2 says goodbye (GOAWAY), so the client opens a new connection for its
                    // next request instead of sending it into a closed one.
                    connection.as_mut().graceful_shutdown();
                    draining = true;
                }
            }
            _ = trust.evicted() => return,
            _ = shutdown.cancelled(), if !draining => {
                connection.as_mut().graceful_shutdown();
                draining = true;
            }
        }
    }
}

async fn sleep_until(deadline: Option<Instant>) {
    match deadline {
        Some(deadline) => tokio::time::sleep_until(deadline).await,
        None => std::future::pending().await,
    }
}

/// Where a connection is between its requests.
#[derive(Debug, Clone, Copy)]
enum Phase {
    /// Reading a request's headers since this instant (its first byte, or the accept).
    Head(Instant),
    /// Requests or body drains in flight: no timeout applies.
    Busy(usize),
    /// Waiting for the next request since this instant.
    Idle(Instant),
}

struct Activity {
    phase: Mutex<Phase>,
    /// Set at the first HTTP/2 request: from then on bytes without a request (HTTP/2's own
    /// frames) start no header-read timeout.
    multiplexed: AtomicBool,
    /// Wakes the connection's watch when the phase changes, so it sleeps until the deadline of
    /// the phase it is in (one permit is kept when nobody waits).
    changed: Notify,
}

impl Activity {
    fn new() -> Self {
        Self {
            phase: Mutex::new(Phase::Head(Instant::now())),
            multiplexed: AtomicBool::new(false),
            changed: Notify::new(),
        }
    }

    fn phase(&self) -> std::sync::MutexGuard<'_, Phase> {
        // Every change is one assignment, so a poisoned lock holds no half-made change.
        self.phase
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn set(&self, phase: &mut Phase, next: Phase) {
        *phase = next;
        self.changed.notify_one();
    }

    fn is_multiplexed(&self) -> bool {
        self.multiplexed.load(Ordering::Relaxed)
    }

    /// Bytes came in: on an idle HTTP/1.1 connection, that starts the next request's headers.
    fn bytes_read(&self) {
        if self.is_multiplexed() {
            return;
        }
        let mut phase = self.phase();
        if let Phase::Idle(_) = *phase {
            self.set(&mut phase, Phase::Head(Instant::now()));
        }
    }

    /// A request (headers complete) or a body drain begins; the connection is idle again once
    /// every [`InFlight`] is dropped.
    fn begin(self: &Arc<Self>) -> InFlight {
        let mut phase = self.phase();
        let next = match *phase {
            Phase::Busy(n) => Phase::Busy(n + 1),
            Phase::Head(_) | Phase::Idle(_) => Phase::Busy(1),
        };
        self.set(&mut phase, next);
        InFlight(self.clone())
    }

    /// When the current phase times out; none while busy.
    fn deadline(&self, limits: &ServeLimits) -> Option<Instant> {
        match *self.phase() {
            Phase::Head(since) => Some(since + limits.header_read_timeout),
            Phase::Idle(since) => Some(since + limits.idle_timeout + IDLE_GRACE),
            Phase::Busy(_) => None,
        }
    }

    /// Why the connection should close now, if it should.
    fn expired(&self, limits: &ServeLimits) -> Option<&'static str> {
        let now = Instant::now();
        match *self.phase() {
            Phase::Head(since) if now >= since + limits.header_read_timeout => {
                Some("the request headers did not arrive within the header-read timeout")
            }
            Phase::Idle(since) if now >= since + limits.idle_timeout + IDLE_GRACE => {
                Some("no request within the idle timeout")
            }
            _ => None,
        }
    }
}

/// A request or a body drain in flight on a connection.
struct InFlight(Arc<Activity>);

impl Drop for InFlight {
    fn drop(&mut self) {
        let mut phase = self.0.phase();
        let next = match *phase {
            Phase::Busy(n) if n > 1 => Phase::Busy(n - 1),
            _ => Phase::Idle(Instant::now()),
        };
        self.0.set(&mut phase, next);
    }
}

/// The socket, telling the connection's [`Activity`] when bytes arrive.
struct Watched<S> {
    inner: S,
    activity: Arc<Activity>,
}

impl<S: AsyncRead + Unpin> AsyncRead for Watched<S> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        let before = buf.filled().len();
        let polled = Pin::new(&mut self.inner).poll_read(cx, buf);
        if buf.filled().len() > before {
            self.activity.bytes_read();
        }
        polled
    }
}

impl<S: AsyncWrite + Unpin> AsyncWrite for Watched<S> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        Pin::new(&mut self.inner).poll_write(cx, buf)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[std::io::IoSlice<'_>],
    ) -> Poll<std::io::Result<usize>> {
        Pin::new(&mut self.inner).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}

/// The router as hyper calls it on this connection: each request carries the connection's
/// [`ConnectionTrust`], each response the `Keep-Alive` timeout.
struct ConnectionService {
    router: TowerToHyperService<axum::Router>,
    activity: Arc<Activity>,
    trust: ConnectionTrust,
    keep_alive: HeaderValue,
    /// The longest a body nobody read is drained for.
    drain_time: Duration,
}

type Reply = Response<ResponseBody>;

impl hyper::service::Service<Request<Incoming>> for ConnectionService {
    type Response = Reply;
    type Error = Infallible;
    type Future = Pin<Box<dyn Future<Output = Result<Reply, Infallible>> + Send>>;

    fn call(&self, request: Request<Incoming>) -> Self::Future {
        let http1 = request.version() < Version::HTTP_2;
        if !http1 {
            self.activity.multiplexed.store(true, Ordering::Relaxed);
        }
        let in_flight = self.activity.begin();
        let (mut parts, body) = request.into_parts();
        parts.extensions.insert(self.trust.clone());
        let body = RequestBody {
            inner: Some(body),
            ended: false,
            activity: self.activity.clone(),
            drain_time: self.drain_time,
        };
        let answer = hyper::service::Service::call(&self.router, Request::from_parts(parts, body));
        let keep_alive = self.keep_alive.clone();
        Box::pin(async move {
            let Ok(mut response) = answer.await;
            // HTTP/2 has no `Keep-Alive` (a connection-specific header is malformed there).
            if http1 {
                response
                    .headers_mut()
                    .entry(header::HeaderName::from_static("keep-alive"))
                    .or_insert(keep_alive);
            }
            Ok(response.map(|inner| ResponseBody {
                inner,
                _in_flight: in_flight,
            }))
        })
    }
}

/// A response body; the request stays in flight until hyper has sent (or dropped) it.
struct ResponseBody {
    inner: axum::body::Body,
    _in_flight: InFlight,
}

impl Body for ResponseBody {
    type Data = bytes::Bytes;
    type Error = axum::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Self::Data>, Self::Error>>> {
        Pin::new(&mut self.inner).poll_frame(cx)
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

/// A request body; what the handler leaves unread is drained in the background, so the
/// connection neither resets under the client's feet nor loses its keep-alive.
struct RequestBody {
    inner: Option<Incoming>,
    ended: bool,
    activity: Arc<Activity>,
    drain_time: Duration,
}

impl Body for RequestBody {
    type Data = bytes::Bytes;
    type Error = hyper::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Self::Data>, Self::Error>>> {
        let Some(inner) = self.inner.as_mut() else {
            return Poll::Ready(None);
        };
        let polled = Pin::new(inner).poll_frame(cx);
        if let Poll::Ready(None) = polled {
            self.ended = true;
        }
        polled
    }

    fn is_end_stream(&self) -> bool {
        self.ended || self.inner.as_ref().is_none_or(Body::is_end_stream)
    }

    fn size_hint(&self) -> SizeHint {
        self.inner
            .as_ref()
            .map_or_else(|| SizeHint::with_exact(0), Body::size_hint)
    }
}

impl Drop for RequestBody {
    fn drop(&mut self) {
        if self.is_end_stream() {
            return;
        }
        let (Some(body), Ok(runtime)) = (self.inner.take(), tokio::runtime::Handle::try_current())
        else {
            return;
        };
        let in_flight = self.activity.begin();
        runtime.spawn(tokio::time::timeout(
            self.drain_time,
            drain(body, in_flight),
        ));
    }
}

/// Reads and drops the rest of a request body, up to [`DRAIN_LIMIT`] bytes; giving up drops the
/// body, and hyper then closes the connection after its response.
async fn drain(mut body: Incoming, _in_flight: InFlight) {
    let mut drained = 0u64;
    while let Some(Ok(frame)) = std::future::poll_fn(|cx| Pin::new(&mut body).poll_frame(cx)).await
    {
        if let Some(data) = frame.data_ref() {
            drained += data.len() as u64;
            if drained > DRAIN_LIMIT {
                return;
            }
        }
    }
}
