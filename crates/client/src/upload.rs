//! A resumable, parallel uploader for Graph upload URLs.
//!
//! The uploader never trusts its own bookkeeping about what the cloud holds: every round starts
//! with `GET {uploadUrl}` and sends exactly the gaps in `nextExpectedRanges`. That one rule covers
//! a fresh upload, a resumed one after Ctrl-C or `kill -9`, a range cut off midway (the cloud
//! keeps its whole chunks) and a 416 from a range that another attempt already delivered.
//!
//! Each range is read into memory before it is sent (at most `parallel × range_size`, 16 MiB by
//! default) so a failed range can be retried without reopening a stream; ranges stay well below
//! the documented 10 MB limit.

use crate::retry::{self, RetryPolicy};
use futures::StreamExt;
use reqwest::StatusCode;
use serde::Deserialize;
use sha2::{Digest, Sha256};
use std::io::{Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

/// How the uploader splits and paces its requests.
#[derive(Debug, Clone)]
pub struct UploadOptions {
    /// Bytes per PUT; Universal Print requires each request to carry < 10 MB.
    pub range_size: u64,
    /// Ranges in flight at once; Universal Print allows up to 4.
    pub parallel: usize,
    /// Attempts per range on a network error or 5xx before giving up.
    pub attempts: u32,
}

impl Default for UploadOptions {
    fn default() -> Self {
        Self {
            range_size: 4 << 20,
            parallel: 4,
            attempts: 5,
        }
    }
}

/// Why an upload stopped.
#[derive(Debug, thiserror::Error)]
pub enum ResumableUploadError {
    /// 404: the session expired or was discarded; the caller must create a new one.
    #[error("the upload session no longer exists (expired or discarded)")]
    SessionGone,
    #[error("reading {path}")]
    File {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("the upload URL answered {status}: {message}")]
    Refused { status: StatusCode, message: String },
    #[error("the upload URL could not be reached after {attempts} attempts")]
    Transport {
        attempts: u32,
        #[source]
        source: reqwest::Error,
    },
    #[error("the upload URL answered something unexpected: {0}")]
    Protocol(String),
    #[error("no progress after {0} rounds; the cloud keeps asking for the same bytes")]
    Stalled(u32),
}

/// The body of `GET {uploadUrl}` and of a 202.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Progress {
    next_expected_ranges: Vec<String>,
}

/// A missing span, `start..end` (end exclusive).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Span {
    start: u64,
    end: u64,
}

/// Reads `"a-b"` (inclusive) and the open form `"a-"` (up to the end).
fn parse_ranges(ranges: &[String], size: u64) -> Result<Vec<Span>, ResumableUploadError> {
    ranges
        .iter()
        .map(|r| {
            let bad = || ResumableUploadError::Protocol(format!("nextExpectedRanges entry {r:?}"));
            let (a, b) = r.split_once('-').ok_or_else(bad)?;
            let start: u64 = a.trim().parse().map_err(|_| bad())?;
            let end = match b.trim() {
                "" => size,
                b => b
                    .parse::<u64>()
                    .map_err(|_| bad())?
                    .saturating_add(1)
                    .min(size),
            };
            if start >= end {
                return Err(bad());
            }
            Ok(Span { start, end })
        })
        .collect()
}

fn split(spans: &[Span], range_size: u64) -> Vec<Span> {
    let mut out = Vec::new();
    for span in spans {
        let mut start = span.start;
        while start < span.end {
            let end = (start + range_size).min(span.end);
            out.push(Span { start, end });
            start = end;
        }
    }
    out
}

/// What `GET {uploadUrl}` says: bytes still missing, or (when the cloud finished a completion
/// that had been interrupted) the document itself.
enum SessionState {
    Missing(Vec<Span>),
    Complete(serde_json::Value),
}

/// What the uploader knows of a session's bytes before it starts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SessionStart {
    /// Just created: it holds no byte yet, so the first round sends them all without asking.
    New,
    /// From an earlier run: the session is asked which bytes it still lacks.
    Resumed,
}

/// Uploads `file` (of `size` bytes) through a Graph upload URL until the cloud answers with the
/// completed document, whose JSON it returns. `progress(stored, size)` is called as ranges land.
pub async fn upload(
    http: &reqwest::Client,
    upload_url: &str,
    file: &Path,
    size: u64,
    start: SessionStart,
    options: &UploadOptions,
    progress: &(dyn Fn(u64, u64) + Send + Sync),
) -> Result<serde_json::Value, ResumableUploadError> {
    let mut idle_rounds = 0;
    let mut last_missing = u64::MAX;
    // A new session's answer is known: one request fewer on every job's path.
    let mut known = (start == SessionStart::New && size > 0).then(|| {
        vec![Span {
            start: 0,
            end: size,
        }]
    });
    loop {
        let missing = match known.take() {
            Some(missing) => missing,
            None => match session_state(http, upload_url, size, options.attempts).await? {
                SessionState::Complete(document) => {
                    progress(size, size);
                    return Ok(document);
                }
                SessionState::Missing(missing) => missing,
            },
        };
        let missing_bytes: u64 = missing.iter().map(|s| s.end - s.start).sum();
        if missing_bytes >= last_missing {
            idle_rounds += 1;
            if idle_rounds >= 3 {
                return Err(ResumableUploadError::Stalled(idle_rounds));
            }
        } else {
            idle_rounds = 0;
        }
        last_missing = missing_bytes;
        let stored = Arc::new(AtomicU64::new(size - missing_bytes));
        progress(stored.load(Ordering::Relaxed), size);

        let pieces = split(&missing, options.range_size.max(1));
        let mut sends = futures::stream::iter(pieces.into_iter().map(|piece| {
            let stored = stored.clone();
            async move {
                let outcome =
                    put_range(http, upload_url, file, size, piece, options.attempts).await;
                if let Ok(RangeOutcome::Accepted) = outcome {
                    let now = stored.fetch_add(piece.end - piece.start, Ordering::Relaxed);
                    progress(now + piece.end - piece.start, size);
                }
                outcome
            }
        }))
        .buffer_unordered(options.parallel.max(1));
        let mut completed = None;
        while let Some(outcome) = sends.next().await {
            match outcome? {
                RangeOutcome::Completed(document) => completed = Some(document),
                RangeOutcome::Accepted | RangeOutcome::AlreadyThere => {}
            }
        }
        if let Some(document) = completed {
            progress(size, size);
            return Ok(document);
        }
    }
}

async fn session_state(
    http: &reqwest::Client,
    upload_url: &str,
    size: u64,
    attempts: u32,
) -> Result<SessionState, ResumableUploadError> {
    let response = send(http, http.get(upload_url), attempts).await?;
    let status = response.status();
    let body = response
        .bytes()
        .await
        .map_err(|source| ResumableUploadError::Transport { attempts, source })?;
    match status {
        StatusCode::NOT_FOUND => Err(ResumableUploadError::SessionGone),
        s if s.is_success() => {
            let value: serde_json::Value = serde_json::from_slice(&body)
                .map_err(|e| ResumableUploadError::Protocol(format!("GET on the session: {e}")))?;
            if value.get("nextExpectedRanges").is_some() {
                let progress: Progress = serde_json::from_value(value).map_err(|e| {
                    ResumableUploadError::Protocol(format!("GET on the session: {e}"))
                })?;
                Ok(SessionState::Missing(parse_ranges(
                    &progress.next_expected_ranges,
                    size,
                )?))
            } else {
                Ok(SessionState::Complete(value))
            }
        }
        s => Err(refused(s, &body)),
    }
}

enum RangeOutcome {
    Accepted,
    /// 416: the bytes are already stored (an earlier attempt delivered them after all).
    AlreadyThere,
    Completed(serde_json::Value),
}

fn read_piece(file: &Path, piece: Span) -> Result<Vec<u8>, ResumableUploadError> {
    let io = |source| ResumableUploadError::File {
        path: file.to_path_buf(),
        source,
    };
    let mut f = std::fs::File::open(file).map_err(io)?;
    f.seek(SeekFrom::Start(piece.start)).map_err(io)?;
    let mut bytes = vec![0; (piece.end - piece.start) as usize];
    f.read_exact(&mut bytes).map_err(io)?;
    Ok(bytes)
}

/// Uploads a document held in memory, one range of at most `options.range_size` after the
/// other, without asking the session first: what an SDK's upload task does with a document it
/// just made a session for (`printlab load`, which times it). Returns the stored document.
pub async fn upload_bytes(
    http: &reqwest::Client,
    upload_url: &str,
    bytes: bytes::Bytes,
    options: &UploadOptions,
) -> Result<serde_json::Value, ResumableUploadError> {
    let size = bytes.len() as u64;
    let mut start = 0;
    loop {
        let end = (start + options.range_size).min(size);
        let piece = bytes.slice(start as usize..end as usize);
        match put_bytes(http, upload_url, piece, start, size, options.attempts).await? {
            RangeOutcome::Completed(document) => return Ok(document),
            RangeOutcome::Accepted | RangeOutcome::AlreadyThere if end < size => start = end,
            RangeOutcome::Accepted | RangeOutcome::AlreadyThere => {
                return Err(ResumableUploadError::Protocol(
                    "every byte was sent but the session did not complete the document".into(),
                ));
            }
        }
    }
}

async fn put_range(
    http: &reqwest::Client,
    upload_url: &str,
    file: &Path,
    size: u64,
    piece: Span,
    attempts: u32,
) -> Result<RangeOutcome, ResumableUploadError> {
    let path = file.to_path_buf();
    let bytes = tokio::task::spawn_blocking(move || read_piece(&path, piece))
        .await
        .map_err(|e| ResumableUploadError::Protocol(format!("file reader task failed: {e}")))??;
    put_bytes(http, upload_url, bytes.into(), piece.start, size, attempts).await
}

/// PUTs `bytes` as the range starting at `start` of a `size`-byte document.
async fn put_bytes(
    http: &reqwest::Client,
    upload_url: &str,
    bytes: bytes::Bytes,
    start: u64,
    size: u64,
    attempts: u32,
) -> Result<RangeOutcome, ResumableUploadError> {
    let content_range = format!("bytes {start}-{}/{size}", start + bytes.len() as u64 - 1);
    let mut busy_waits = 0;
    loop {
        let request = http
            .put(upload_url)
            .header(reqwest::header::CONTENT_RANGE, &content_range)
            .body(bytes.clone());
        let response = send(http, request, attempts).await?;
        let status = response.status();
        let retry_after = response
            .headers()
            .get(reqwest::header::RETRY_AFTER)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse::<u64>().ok());
        let body = response
            .bytes()
            .await
            .map_err(|source| ResumableUploadError::Transport { attempts, source })?;
        return match status {
            StatusCode::ACCEPTED => Ok(RangeOutcome::Accepted),
            StatusCode::CREATED | StatusCode::OK => serde_json::from_slice(&body)
                .map(RangeOutcome::Completed)
                .map_err(|e| ResumableUploadError::Protocol(format!("completed document: {e}"))),
            StatusCode::RANGE_NOT_SATISFIABLE => Ok(RangeOutcome::AlreadyThere),
            StatusCode::NOT_FOUND => Err(ResumableUploadError::SessionGone),
            // Too many ranges in flight (another run on the same session) or a range being
            // completed: wait as told, a bounded number of times.
            StatusCode::TOO_MANY_REQUESTS | StatusCode::CONFLICT if busy_waits < 20 => {
                busy_waits += 1;
                tokio::time::sleep(Duration::from_millis(
                    retry_after.map_or(250, |s| s.saturating_mul(1000).min(5000)),
                ))
                .await;
                continue;
            }
            s => Err(refused(s, &body)),
        };
    }
}

/// Sends a request to the upload URL, again on network errors and 5xx ([`retry`]).
async fn send(
    http: &reqwest::Client,
    request: reqwest::RequestBuilder,
    attempts: u32,
) -> Result<reqwest::Response, ResumableUploadError> {
    let transport = |attempts, source| ResumableUploadError::Transport { attempts, source };
    let request = request.build().map_err(|source| transport(0, source))?;
    retry::send(http, request, RetryPolicy::upload(attempts))
        .await
        .map_err(|failed| transport(failed.attempts, failed.source))
}

fn refused(status: StatusCode, body: &[u8]) -> ResumableUploadError {
    let message = serde_json::from_slice::<printlab_graph::ODataErrorBody>(body)
        .map(|b| format!("{}: {}", b.error.code, b.error.message))
        .unwrap_or_else(|_| String::from_utf8_lossy(&body[..body.len().min(300)]).into_owned());
    ResumableUploadError::Refused { status, message }
}

/// SHA-256 (lowercase hex) and size of a file, streamed.
pub fn file_sha256(path: &Path) -> std::io::Result<(u64, String)> {
    let mut file = std::fs::File::open(path)?;
    let mut hasher = Sha256::new();
    let mut buf = vec![0; 1 << 20];
    let mut size = 0u64;
    loop {
        let n = file.read(&mut buf)?;
        if n == 0 {
            break;
        }
        size += n as u64;
        hasher.update(&buf[..n]);
    }
    Ok((size, hex::encode(hasher.finalize())))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn expected_ranges_parse_inclusive_and_open_forms_and_split_below_the_limit() {
        let spans = parse_ranges(&["0-9".into(), "20-".into()], 30).unwrap();
        assert_eq!(
            spans,
            vec![Span { start: 0, end: 10 }, Span { start: 20, end: 30 }]
        );
        assert!(parse_ranges(&["9-3".into()], 30).is_err());
        assert!(parse_ranges(&["x".into()], 30).is_err());
        let pieces = split(&spans, 4);
        assert_eq!(pieces.len(), 3 + 3);
        assert!(pieces.iter().all(|p| p.end - p.start <= 4));
        assert_eq!(pieces.iter().map(|p| p.end - p.start).sum::<u64>(), 20);
    }
}
