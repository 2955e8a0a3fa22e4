//! When a request is sent again: the one place that decides it, for Graph calls and the upload
//! URL alike.
//!
//! Only idempotent requests (GET, HEAD, PUT, DELETE, OPTIONS) are ever sent twice; a POST
//! (create a job, start it, create an upload session) may have taken effect even when its answer
//! was lost, so it fails instead. A Graph call is retried only when the connection closed before
//! any response arrived: a kept-alive connection the server closed just as it was reused, the
//! one failure where asking again is certainly right. The upload URL also retries other network
//! errors and 5xx answers, because its ranges are made to be re-sent.

use reqwest::{Method, Request, Response};
use std::error::Error;
use std::io::ErrorKind;
use std::time::Duration;

/// How many times, after what and how soon a request is sent again.
#[derive(Debug, Clone, Copy)]
pub(crate) struct RetryPolicy {
    /// Tries in all, the first included.
    attempts: u32,
    /// Wait before the second try; it doubles for each further one.
    first_delay: Duration,
    /// Retry every network error and 5xx, not only a connection closed before any answer.
    broad: bool,
}

impl RetryPolicy {
    /// Graph calls: a connection closed before any response, at most twice more, quickly.
    pub(crate) const GRAPH: RetryPolicy = RetryPolicy {
        attempts: 3,
        first_delay: Duration::from_millis(50),
        broad: false,
    };

    /// The upload URL's GET and PUT: any network error or 5xx, `attempts` tries in all, from
    /// 100 ms apart.
    pub(crate) fn upload(attempts: u32) -> RetryPolicy {
        RetryPolicy {
            attempts: attempts.max(1),
            first_delay: Duration::from_millis(100),
            broad: true,
        }
    }
}

/// A request that failed on every try.
#[derive(Debug)]
pub(crate) struct SendFailed {
    pub(crate) attempts: u32,
    pub(crate) source: reqwest::Error,
}

/// Sends `request`, again as `policy` allows when it is idempotent.
pub(crate) async fn send(
    http: &reqwest::Client,
    request: Request,
    policy: RetryPolicy,
) -> Result<Response, SendFailed> {
    let attempts = if is_idempotent(request.method()) {
        policy.attempts
    } else {
        1
    };
    let mut delay = policy.first_delay;
    let mut tried = 0;
    let mut request = request;
    loop {
        tried += 1;
        // A body that cannot be copied (a stream) cannot be sent twice: then this is the last try.
        let copy = if tried < attempts {
            request.try_clone()
        } else {
            None
        };
        let outcome = http.execute(request).await;
        let again = match &outcome {
            Ok(response) => policy.broad && response.status().is_server_error(),
            Err(err) => policy.broad || closed_before_response(err),
        };
        match copy {
            Some(copy) if again => request = copy,
            _ => {
                return outcome.map_err(|source| SendFailed {
                    attempts: tried,
                    source,
                });
            }
        }
        tokio::time::sleep(delay).await;
        delay *= 2;
    }
}

fn is_idempotent(method: &Method) -> bool {
    [
        Method::GET,
        Method::HEAD,
        Method::PUT,
        Method::DELETE,
        Method::OPTIONS,
    ]
    .contains(method)
}

/// Whether the connection closed (or was reset) after the request went out and before any
/// response: hyper's "connection closed before message completed", or the socket error beneath.
fn closed_before_response(err: &reqwest::Error) -> bool {
    if err.is_connect() || err.is_timeout() {
        return false;
    }
    let mut cause: Option<&(dyn Error + 'static)> = err.source();
    while let Some(current) = cause {
        if let Some(hyper) = current.downcast_ref::<hyper::Error>()
            && hyper.is_incomplete_message()
        {
            return true;
        }
        if let Some(io) = current.downcast_ref::<std::io::Error>()
            && matches!(
                io.kind(),
                ErrorKind::ConnectionReset
                    | ErrorKind::ConnectionAborted
                    | ErrorKind::BrokenPipe
                    | ErrorKind::UnexpectedEof
            )
        {
            return true;
        }
        cause = current.source();
    }
    false
}

#[cfg(test)]
mod tests {
    use crate::{GraphClient, JobParent};
    use printlab_graph::PrintJobConfiguration;
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    use tokio::net::{TcpListener, TcpStream};

    /// A real HTTP/1.1 server on loopback that reads each request, closes the first `drops`
    /// connections without a byte of answer, and answers the rest with an empty share list.
    /// Counts the connections it accepted.
    async fn flaky_server(drops: usize) -> (String, Arc<AtomicUsize>) {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}/v1.0", listener.local_addr().unwrap());
        let accepted = Arc::new(AtomicUsize::new(0));
        let counter = accepted.clone();
        tokio::spawn(async move {
            loop {
                let (mut socket, _) = listener.accept().await.unwrap();
                let n = counter.fetch_add(1, Ordering::SeqCst);
                read_request(&mut socket).await;
                if n < drops {
                    drop(socket);
                    continue;
                }
                let body = r#"{"value":[]}"#;
                let answer = format!(
                    "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                    body.len()
                );
                socket.write_all(answer.as_bytes()).await.unwrap();
                socket.shutdown().await.ok();
            }
        });
        (url, accepted)
    }

    /// Reads one request's head and its `content-length` body.
    async fn read_request(socket: &mut TcpStream) {
        let mut seen = Vec::new();
        let mut buf = [0u8; 4096];
        loop {
            let n = socket.read(&mut buf).await.unwrap();
            if n == 0 {
                return;
            }
            seen.extend_from_slice(&buf[..n]);
            if let Some(end) = seen.windows(4).position(|w| w == b"\r\n\r\n") {
                let head = String::from_utf8_lossy(&seen[..end]).to_ascii_lowercase();
                let length: usize = head
                    .lines()
                    .find_map(|l| l.strip_prefix("content-length:"))
                    .map_or(0, |v| v.trim().parse().unwrap());
                while seen.len() < end + 4 + length {
                    let n = socket.read(&mut buf).await.unwrap();
                    if n == 0 {
                        return;
                    }
                    seen.extend_from_slice(&buf[..n]);
                }
                return;
            }
        }
    }

    #[tokio::test]
    async fn a_get_whose_connection_closed_unanswered_is_sent_again() {
        let (url, accepted) = flaky_server(1).await;
        let client = GraphClient::new(&url, None);
        let shares = client.shares().await.expect("the second try is answered");
        assert!(shares.is_empty());
        assert_eq!(accepted.load(Ordering::SeqCst), 2);
    }

    #[tokio::test]
    async fn retries_are_bounded() {
        let (url, accepted) = flaky_server(usize::MAX).await;
        let client = GraphClient::new(&url, None);
        let err = client.shares().await.unwrap_err();
        assert!(matches!(err, crate::ClientError::Transport { .. }), "{err}");
        assert_eq!(accepted.load(Ordering::SeqCst), 3);
    }

    #[tokio::test]
    async fn a_post_is_never_sent_twice() {
        let (url, accepted) = flaky_server(1).await;
        let client = GraphClient::new(&url, None);
        let parent = JobParent::Share("s".into());
        let err = client
            .create_job(&parent, &PrintJobConfiguration::default())
            .await
            .unwrap_err();
        assert!(matches!(err, crate::ClientError::Transport { .. }), "{err}");
        assert_eq!(accepted.load(Ordering::SeqCst), 1);
    }
}
