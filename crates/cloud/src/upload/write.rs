//! Writing one range of a session: admission against stored and in-flight spans, streaming the
//! body into the blob file chunk by chunk, and recording what was written.

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
    /// streams the body into sled chunk by chunk, and completes the document when it was the
    /// last missing range.
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
            Write,
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
            if state.stored.overlaps(&claimed)
                || state.in_flight.iter().any(|s| s.overlaps(&claimed))
            {
                return Err(GraphError::new(
                    StatusCode::RANGE_NOT_SATISFIABLE,
                    ErrorCode::InvalidRange,
                    format!(
                        "Uploaded fragment {}-{} overlaps with existing data.",
                        range.first, range.last
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
            Ok(Admission::Write)
        })??;
        if let Admission::Finish = admission {
            return self.finish(&record).await;
        }

        let blob = self.blob_writer(&record)?;
        let mut guard = InFlightGuard {
            service: self,
            session: record.id,
            claimed,
            written_end: claimed.start,
            stored_end: claimed.start,
        };
        let streamed = self.stream_into_blob(range, body, &blob, &mut guard).await;
        // Whatever whole chunks a broken body left are kept too (partial acceptance).
        let persisted = self.persist(&record, &mut guard).await;
        streamed?;
        persisted?;
        drop(guard);

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
        let ticket = self.db_sync.wrote();
        self.db_sync
            .sync_through(ticket, || flush_db(&self.store.db))
            .await?;
        guard.stored_end = span.end;
        Ok(())
    }

    /// Writes the body to the blob file in whole chunks, advancing `guard.written_end`; a
    /// malformed body leaves `written_end` at the range's start, so nothing of it is recorded.
    async fn stream_into_blob<S, E>(
        &self,
        range: ContentRange,
        body: S,
        blob: &Arc<File>,
        guard: &mut InFlightGuard<'_>,
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
        while let Some(piece) = body.next().await {
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
                    tokio::task::spawn_blocking(move || writer.write_all_at(&chunk, offset))
                        .await
                        .map_err(|e| UploadStoreError::Task(e.to_string()))?
                        .map_err(|e| {
                            UploadStoreError::io(&self.store.blob_path(guard.session), e)
                        })?;
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

/// sled 0.34's `flush_async` can leave concurrent callers waiting forever (spacejam/sled #1241,
/// #1308), and the cloud's store flushes the same database from other requests: the blocking
/// flush on the blocking pool instead.
pub(super) async fn flush_db(db: &sled::Db) -> Result<(), UploadStoreError> {
    let db = db.clone();
    tokio::task::spawn_blocking(move || db.flush())
        .await
        .map_err(|e| UploadStoreError::Task(e.to_string()))??;
    Ok(())
}
