//! Writing one range of a session: admission against stored and in-flight spans, streaming the
//! body into the blob file chunk by chunk, and recording what was written.

use super::digest::{PrefixHash, SharedPrefixHash};
use super::range::{ContentRange, Span};
use super::store::{self, SessionRecord};
use super::{RangeOutcome, SessionProgress, UploadService, UploadStoreError};
use crate::odata::{ErrorCode, GraphError};
use axum::http::StatusCode;
use bytes::{Bytes, BytesMut};
use chrono::Utc;
use futures::{Stream, StreamExt};
use std::fs::File;
use std::os::unix::fs::FileExt;
use std::sync::Arc;
use tracing::Instrument;
use uuid::Uuid;

/// Removes this request's span from the in-flight list however the request ends (including
/// when hyper drops the handler because the client went away) and records the whole chunks it
/// stored.
struct InFlightGuard<'a> {
    service: &'a UploadService,
    session: Uuid,
    claimed: Span,
    /// Bytes written to the blob file from `claimed.start`, synced and recorded or not.
    written_end: u64,
    /// Bytes recorded in the span index from `claimed.start`.
    stored_end: u64,
}

/// The session's hash while this range extends it in-line: the lock, and a copy moved on as
/// chunks are written, committed only once they are recorded (`digest.rs`).
struct InlineHash {
    lock: tokio::sync::OwnedMutexGuard<PrefixHash>,
    copy: PrefixHash,
}

impl Drop for InFlightGuard<'_> {
    fn drop(&mut self) {
        let mut live = self.service.live.lock().expect("upload lock poisoned");
        if let Some(state) = live.get_mut(&self.session) {
            state.in_flight.retain(|s| *s != self.claimed);
            state.stored.insert(Span {
                start: self.claimed.start,
                end: self.stored_end,
            });
        }
    }
}

impl UploadService {
    /// Writes one range of a session (both upload designs): checks it against the session,
    /// streams the body into the blob file chunk by chunk, moves the document's hash on, and
    /// completes the document when it was the last missing range.
    pub async fn write_range<S, E>(
        &self,
        session_id: &str,
        range: ContentRange,
        body: S,
    ) -> Result<RangeOutcome, GraphError>
    where
        S: Stream<Item = Result<Bytes, E>> + Send,
        E: std::fmt::Display,
    {
        let record = self.live_session(session_id)?;
        let span = tracing::info_span!("upload", session = %record.id);
        self.write_checked_range(record, range, body)
            .instrument(span)
            .await
    }

    async fn write_checked_range<S, E>(
        &self,
        record: SessionRecord,
        range: ContentRange,
        body: S,
    ) -> Result<RangeOutcome, GraphError>
    where
        S: Stream<Item = Result<Bytes, E>> + Send,
        E: std::fmt::Display,
    {
        if range.total != record.size {
            return Err(GraphError::bad_request(format!(
                "Content-Range total {} differs from the session's size {}.",
                range.total, record.size
            )));
        }
        if range.length() >= self.limits.max_fragment {
            return Err(GraphError::new(
                StatusCode::PAYLOAD_TOO_LARGE,
                ErrorCode::InvalidRequest,
                format!(
                    "Content-Range {}-{} carries {} bytes; each request must be under {} bytes.",
                    range.first,
                    range.last,
                    range.length(),
                    self.limits.max_fragment
                ),
            ));
        }
        let claimed = range.span();
        enum Admission {
            Write(SharedPrefixHash),
            Finish,
        }
        let admission = self.with_live(&record, |state| {
            if state.completing {
                return Err(GraphError::conflict(
                    "The upload session is being completed; GET it for the outcome.",
                ));
            }
            if state.stored.missing(record.size).is_empty() {
                state.completing = true;
                return Ok(Admission::Finish);
            }
            if state.stored.overlaps(&claimed) {
                return Err(GraphError::new(
                    StatusCode::RANGE_NOT_SATISFIABLE,
                    ErrorCode::InvalidRange,
                    format!(
                        "Uploaded fragment {}-{} overlaps with existing data.",
                        range.first, range.last
                    ),
                ));
            }
            // Still listed in nextExpectedRanges (nothing of it is stored yet), so the answer
            // says why it is refused and when it comes free.
            if state.in_flight.iter().any(|s| s.overlaps(&claimed)) {
                return Err(GraphError::new(
                    StatusCode::RANGE_NOT_SATISFIABLE,
                    ErrorCode::InvalidRange,
                    format!(
                        "Uploaded fragment {}-{} overlaps a range another request is uploading; send it again once that request ends (a request whose body sends nothing for {} s gives its range back).",
                        range.first,
                        range.last,
                        self.limits.stall_time.as_secs()
                    ),
                ));
            }
            if state.in_flight.len() >= self.limits.max_ranges_in_flight {
                return Err(GraphError::new(
                    StatusCode::TOO_MANY_REQUESTS,
                    ErrorCode::ActivityLimitReached,
                    format!(
                        "At most {} ranges may be uploaded to one session at once.",
                        self.limits.max_ranges_in_flight
                    ),
                ));
            }
            state.in_flight.push(claimed);
            Ok(Admission::Write(state.prefix.clone()))
        })??;
        let prefix = match admission {
            Admission::Write(prefix) => prefix,
            Admission::Finish => return self.finish(&record).await,
        };

        let blob = self.blob_writer(&record)?;
        let mut guard = InFlightGuard {
            service: self,
            session: record.id,
            claimed,
            written_end: claimed.start,
            stored_end: claimed.start,
        };
        let mut inline = None;
        let streamed = self
            .stream_into_blob(range, body, &blob, &mut guard, &prefix, &mut inline)
            .await;
        // Whatever whole chunks a broken body left are kept too (partial acceptance).
        let persisted = self.persist(&record, &mut guard).await;
        if let Some(InlineHash { mut lock, copy }) = inline
            && persisted.is_ok()
            && copy.hashed == guard.stored_end
        {
            self.store.put_prefix_hash(record.id, &copy)?;
            *lock = copy;
        }
        streamed?;
        persisted?;
        drop(guard);
        self.catch_up_digest(&record, &prefix).await?;

        let expires = Utc::now() + self.limits.session_lifetime;
        let (missing, last) = self.with_live(&record, |state| {
            let missing = state.stored.missing(record.size);
            let last = missing.is_empty() && state.in_flight.is_empty() && !state.completing;
            if last {
                state.completing = true;
            }
            (missing, last)
        })?;
        if last {
            return self.finish(&record).await;
        }
        let missing_bytes: u64 = missing.iter().map(|s| s.end - s.start).sum();
        self.listener.upload_progress(
            &super::UploadSessionInfo {
                target: record.target.clone(),
                document_name: record.document_name.clone(),
                size: record.size,
            },
            record.size.saturating_sub(missing_bytes),
        );
        let mut touched = record.clone();
        touched.expires = expires;
        let touched = store::encode(&touched);
        // Only refresh a record that still exists: a DELETE may have come in since.
        self.store
            .sessions
            .update_and_fetch(record.id.as_bytes(), |old| old.map(|_| touched.clone()))
            .map_err(UploadStoreError::from)?;
        Ok(RangeOutcome::Accepted(SessionProgress {
            session_id: record.id.to_string(),
            size: record.size,
            expires,
            missing,
        }))
    }

    /// The session's blob file, created on the first range written to it.
    fn blob_writer(&self, record: &SessionRecord) -> Result<Arc<File>, UploadStoreError> {
        if let Some(blob) = self.with_live(record, |state| state.blob.clone())? {
            return Ok(blob);
        }
        let opened = Arc::new(self.store.open_blob_for_writing(record.id)?);
        // Two first ranges may race here; both handles are on the same file, keep one.
        self.with_live(record, |state| state.blob.get_or_insert(opened).clone())
    }

    /// Records what this request wrote as a stored span, then flushes sled (one flush shared
    /// with other ranges finishing at the same time).
    async fn persist(
        &self,
        record: &SessionRecord,
        guard: &mut InFlightGuard<'_>,
    ) -> Result<(), UploadStoreError> {
        let span = Span {
            start: guard.claimed.start,
            end: guard.written_end,
        };
        if span.start == span.end {
            return Ok(());
        }
        self.store.record_span(record.id, span)?;
        self.flush().await?;
        guard.stored_end = span.end;
        Ok(())
    }

    /// Writes the body to the blob file in whole chunks, advancing `guard.written_end` and, when
    /// this range holds the session's hash (`inline`), hashing each chunk; a malformed or
    /// stalled body leaves `written_end` at the range's start, so nothing of it is recorded.
    async fn stream_into_blob<S, E>(
        &self,
        range: ContentRange,
        body: S,
        blob: &Arc<File>,
        guard: &mut InFlightGuard<'_>,
        prefix: &SharedPrefixHash,
        inline: &mut Option<InlineHash>,
    ) -> Result<(), GraphError>
    where
        S: Stream<Item = Result<Bytes, E>> + Send,
        E: std::fmt::Display,
    {
        let chunk_size = self.limits.chunk_size;
        let end = range.last + 1;
        let mut pending = BytesMut::with_capacity(chunk_size.min(range.length() as usize));
        let mut received: u64 = 0;
        futures::pin_mut!(body);
        let malformed = |guard: &mut InFlightGuard<'_>, message: String| {
            guard.written_end = range.first;
            GraphError::bad_request(message)
        };
        loop {
            let Ok(piece) = tokio::time::timeout(self.limits.stall_time, body.next()).await else {
                // The writer went silent: give its range back whole. Its later bytes never
                // reach the file, as this request ends here and its body is dropped.
                guard.written_end = range.first;
                tracing::warn!(
                    first = range.first,
                    last = range.last,
                    received,
                    "range body stalled; giving the range back"
                );
                return Err(GraphError::new(
                    StatusCode::REQUEST_TIMEOUT,
                    ErrorCode::Timeout,
                    format!(
                        "The body of range {}-{} sent nothing for {} s after {received} bytes; \
                         the range was given back, send it again.",
                        range.first,
                        range.last,
                        self.limits.stall_time.as_secs_f64()
                    ),
                ));
            };
            let Some(piece) = piece else { break };
            let mut piece = match piece {
                Ok(piece) => piece,
                Err(e) => {
                    tracing::warn!(kept = guard.written_end - range.first, error = %e,
                        "range body broke off; keeping the whole chunks written");
                    return Err(GraphError::bad_request(format!(
                        "The body of range {}-{} broke off after {received} bytes: {e}",
                        range.first, range.last
                    )));
                }
            };
            received += piece.len() as u64;
            if received > range.length() {
                return Err(malformed(
                    guard,
                    format!(
                        "The body is longer than Content-Range {}-{} ({} bytes).",
                        range.first,
                        range.last,
                        range.length()
                    ),
                ));
            }
            while !piece.is_empty() {
                let take = (chunk_size - pending.len()).min(piece.len());
                pending.extend_from_slice(&piece.split_to(take));
                let at_end = guard.written_end + pending.len() as u64 == end;
                if pending.len() == chunk_size || at_end {
                    let len = pending.len() as u64;
                    // A write can block on the disk; off the runtime's workers, the other
                    // ranges' sockets keep being read meanwhile.
                    let chunk = pending.split().freeze();
                    let (writer, offset) = (blob.clone(), guard.written_end);
                    if inline.is_none() {
                        *inline = adopt_hash(prefix, range.first);
                    }
                    // The copy goes with the write and comes back moved on; a failed write
                    // drops it with the lock, and the hash stays where it was.
                    let copy = inline.as_mut().map(|h| std::mem::take(&mut h.copy));
                    let copy = tokio::task::spawn_blocking(move || -> std::io::Result<_> {
                        writer.write_all_at(&chunk, offset)?;
                        let mut copy = copy;
                        if let Some(copy) = copy.as_mut() {
                            // Adopted midway: first this range's own bytes before `offset`.
                            copy.read_on(&writer, offset - copy.hashed)?;
                            copy.update(&chunk);
                        }
                        Ok(copy)
                    })
                    .await;
                    let copy = match copy {
                        Ok(Ok(copy)) => copy,
                        Ok(Err(e)) => {
                            *inline = None;
                            let path = self.store.blob_path(guard.session);
                            return Err(UploadStoreError::io(&path, e).into());
                        }
                        Err(e) => {
                            *inline = None;
                            return Err(UploadStoreError::Task(e.to_string()).into());
                        }
                    };
                    if let (Some(h), Some(copy)) = (inline.as_mut(), copy) {
                        h.copy = copy;
                    }
                    guard.written_end = offset + len;
                    pending.reserve(chunk_size);
                }
            }
        }
        if received < range.length() {
            return Err(malformed(
                guard,
                format!(
                    "The body has {received} bytes but Content-Range {}-{} promises {}.",
                    range.first,
                    range.last,
                    range.length()
                ),
            ));
        }
        Ok(())
    }
}

/// The session's hash for a range starting at `first`, if it stands there and no one holds it.
fn adopt_hash(prefix: &SharedPrefixHash, first: u64) -> Option<InlineHash> {
    let lock = prefix.clone().try_lock_owned().ok()?;
    (lock.hashed == first).then(|| InlineHash {
        copy: lock.clone(),
        lock,
    })
}

impl UploadService {
    /// Makes every write so far durable: one sled flush shared with the requests that finish
    /// at the same time, on the blocking pool, so no runtime worker waits on the disk.
    pub(super) async fn flush(&self) -> Result<(), UploadStoreError> {
        let ticket = self.db_sync.wrote();
        (self.db_sync)
            .sync_through(ticket, || flush_db(&self.store.db))
            .await
    }
}

/// sled 0.34's `flush_async` can leave concurrent callers waiting forever (spacejam/sled #1241,
/// #1308), and the cloud's store flushes the same database from other requests: the blocking
/// flush on the blocking pool instead.
async fn flush_db(db: &sled::Db) -> Result<(), UploadStoreError> {
    let db = db.clone();
    tokio::task::spawn_blocking(move || db.flush())
        .await
        .map_err(|e| UploadStoreError::Task(e.to_string()))??;
    Ok(())
}
