//! Upload sessions and document bytes: the engine behind the v1.0 upload URL, the 2020 beta
//! `uploadSession` resource, the pre-authenticated download URL and IPP Fetch-Document.
//!
//! Choices (the contract with the Graph routes is in ARCHITECTURE.md):
//! - **Bytes go to one sparse file per upload as they arrive** (positional writes of at most
//!   [`UploadLimits::chunk_size`]); nothing holds a whole range, let alone a whole document.
//!   Sessions, the index of stored spans and digests are in sled (layout in `store.rs`). A
//!   session that declared 1 GB and sent nothing is one small record and no file.
//! - **A span counts once it is recorded, and it is recorded only after its bytes are written**
//!   to the blob file: the end of each range writes the span to sled and flushes sled (one flush
//!   for all ranges that end together, see `group_sync.rs`) before the 202/201. The promise is
//!   the issue's: killing the cloud at any moment loses nothing acknowledged. Written bytes sit
//!   in the kernel's page cache, which outlives the process, so the blob file is not fsynced per
//!   range; that fsync alone halved the upload URL's throughput. Power loss before the kernel
//!   writes them back can lose acknowledged bytes; an emulator's data folder is not a bank.
//! - **Partial acceptance.** When a range's connection breaks midway, the whole chunks already
//!   written are synced and recorded and `nextExpectedRanges` reports the precise gap, as
//!   OneDrive does. A crash midway keeps less: only the spans recorded before it (a range being
//!   received when the process dies is sent again). A request whose body is *shorter or longer
//!   than its range without a transport error* is malformed and records nothing.
//! - **Unknown or expired session → 404, bad or missing `tempauthtoken` → 401.** Graph answers an
//!   unknown upload URL with 404 `itemNotFound`; a token that does not match a live session is an
//!   authentication failure, as Graph reports any bad token. Session ids are random GUIDs, so the
//!   difference reveals nothing useful. An `Authorization` header on the upload URL is ignored.
//! - **Up to 4 ranges in flight per session**; a fifth gets 429 with `Retry-After`, which every
//!   Graph SDK's retry handler honours.
//! - **The SHA-256 is computed after the 201**, in the background, and then added to the document
//!   record. SHA-256 alone runs at about half the speed of a loopback PUT into a file, and hashing
//!   during the upload takes a core from the two that receive the ranges; nothing in Graph waits
//!   for the digest. The download URL sends it as `Repr-Digest` (RFC 9530) and waits for it; a
//!   digest the cloud died before recording is computed when the store opens again.
//! - Completion calls the [`UploadListener`] (the Graph side records the printDocument), then
//!   swaps the session for a document record in one transaction. If the cloud dies in between,
//!   the session is still complete on disk and the next request on it finishes the job; the
//!   listener must therefore be idempotent.

mod beta;
mod group_sync;
mod http;
mod range;
mod store;

pub use beta::BetaUploadSession;
pub use range::{ContentRange, RangeRequest, Span};

use crate::odata::GraphError;
use axum::http::StatusCode;
use base64::Engine;
use bytes::{Bytes, BytesMut};
use chrono::{DateTime, Utc};
use futures::{Stream, StreamExt};
use group_sync::GroupSync;
use printlab_graph::{PrintDocumentUploadProperties, UploadSession};
use range::SpanSet;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use sled::Transactional;
use std::collections::HashMap;
use std::collections::hash_map::Entry;
use std::fs::File;
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use store::{DocumentRecord, GrantRecord, SessionRecord, Store, UploadDesign};
use tracing::Instrument;
use uuid::Uuid;

/// Which document an upload session fills.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct UploadTarget {
    pub printer_id: String,
    pub job_id: String,
    pub document_id: String,
}

/// Who created a session: the beta design reports it as `createdBy` and lets only them delete.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct UploadCreator {
    pub user_id: Option<String>,
    pub application_id: Option<String>,
}

/// What the upload engine knows once the last byte is stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CompletedUpload {
    pub target: UploadTarget,
    pub size: u64,
    pub content_type: String,
    pub document_name: String,
    pub uploaded: DateTime<Utc>,
}

/// Implemented by the Graph side: records the completed document on its printDocument and
/// returns that printDocument's JSON, which the upload URL sends back with 201. It may be called
/// again for the same upload after a crash, so it must be idempotent.
pub trait UploadListener: Send + Sync + 'static {
    fn upload_completed(&self, done: &CompletedUpload) -> Result<serde_json::Value, GraphError>;
}

/// Failures of the store itself (the HTTP layer reports them as 500 `generalException`).
#[derive(Debug, thiserror::Error)]
pub enum UploadStoreError {
    #[error("upload store: {0}")]
    Storage(#[from] sled::Error),
    #[error("upload store is inconsistent: {0}")]
    Corrupt(String),
    /// The session was removed while the caller was looking at it.
    #[error("the upload session no longer exists")]
    Gone,
    #[error("upload store: background task failed: {0}")]
    Task(String),
    #[error("upload store: {}: {source}", path.display())]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
}

impl UploadStoreError {
    fn io(path: &Path, source: std::io::Error) -> Self {
        UploadStoreError::Io {
            path: path.to_path_buf(),
            source,
        }
    }
}

impl From<UploadStoreError> for GraphError {
    fn from(err: UploadStoreError) -> Self {
        if let UploadStoreError::Gone = err {
            return GraphError::not_found("The upload session does not exist or has expired.");
        }
        GraphError::internal(err.to_string())
    }
}

/// Limits and lifetimes; the defaults are Universal Print's documented ones where it has any.
#[derive(Debug, Clone)]
pub struct UploadLimits {
    /// Largest declared document (issue 2: documents up to 1 GB).
    pub max_document_size: u64,
    /// A range must be *smaller* than this (print docs: "each request < 10 MB").
    pub max_fragment: u64,
    pub max_ranges_in_flight: usize,
    /// Bytes per positional write; bounds the memory one request holds, and a range whose
    /// connection breaks keeps whole chunks only.
    pub chunk_size: usize,
    /// Sliding: each accepted range pushes the expiry this far from now.
    pub session_lifetime: chrono::Duration,
    pub download_lifetime: chrono::Duration,
}

impl Default for UploadLimits {
    fn default() -> Self {
        Self {
            max_document_size: 1 << 30,
            max_fragment: 10 << 20,
            max_ranges_in_flight: 4,
            chunk_size: 256 << 10,
            session_lifetime: chrono::Duration::hours(1),
            download_lifetime: chrono::Duration::minutes(10),
        }
    }
}

/// Where a session stands: its expiry and the byte spans still missing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionProgress {
    pub session_id: String,
    pub size: u64,
    pub expires: DateTime<Utc>,
    pub missing: Vec<Span>,
}

impl SessionProgress {
    /// The v1.0 body of GET and of a 202: `expirationDateTime` and `nextExpectedRanges`.
    pub fn to_json(&self) -> serde_json::Value {
        serde_json::json!({
            "expirationDateTime": self.expires,
            "nextExpectedRanges": range::next_expected_ranges(&self.missing),
        })
    }
}

/// The result of writing one range.
#[derive(Debug, Clone, PartialEq)]
pub enum RangeOutcome {
    /// Bytes are still missing (202).
    Accepted(SessionProgress),
    /// That was the last missing range; the listener's printDocument JSON (201).
    Completed(serde_json::Value),
}

/// In-memory view of a session being written: what is stored and what is being written now.
#[derive(Default)]
struct LiveSession {
    stored: SpanSet,
    in_flight: Vec<Span>,
    completing: bool,
    /// Opened (and the file created) by the first range written in this process.
    blob: Option<Arc<File>>,
}

/// Computes completed documents' SHA-256 off the upload's path, once per document however many
/// callers (the background task, downloads) ask for it at the same time.
struct Digests {
    store: Store,
    /// Blob id → the digest being computed; dropped once it is recorded.
    pending: Mutex<HashMap<Uuid, Arc<tokio::sync::OnceCell<String>>>>,
}

impl Digests {
    /// The digest of `document_id`'s bytes in blob `blob`, computing and recording it if it is
    /// not in the document record yet.
    async fn get(&self, document_id: &str, blob: Uuid) -> Result<String, UploadStoreError> {
        let cell = self
            .pending
            .lock()
            .expect("digest lock poisoned")
            .entry(blob)
            .or_default()
            .clone();
        let store = self.store.clone();
        let document_id = document_id.to_string();
        let digest = cell
            .get_or_try_init(|| async move {
                tokio::task::spawn_blocking(move || record_digest(&store, &document_id, blob))
                    .await
                    .map_err(|e| UploadStoreError::Task(e.to_string()))?
            })
            .await
            .cloned();
        self.pending
            .lock()
            .expect("digest lock poisoned")
            .remove(&blob);
        digest
    }
}

/// Hashes a completed document's blob and stores the digest in its record (unless the record
/// has it already, or now belongs to another blob because the document was uploaded again).
fn record_digest(store: &Store, document_id: &str, blob: Uuid) -> Result<String, UploadStoreError> {
    let key = document_id.as_bytes();
    let recorded = |bytes: &[u8]| -> Result<Option<String>, UploadStoreError> {
        let record: DocumentRecord = store::decode(bytes, "document")?;
        Ok(record.sha256.filter(|_| record.blob == blob))
    };
    if let Some(old) = store.documents.get(key)?
        && let Some(sha256) = recorded(&old)?
    {
        return Ok(sha256);
    }
    let file = store.open_blob(blob)?;
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; HASH_READ];
    loop {
        let len = std::io::Read::read(&mut &file, &mut buf)
            .map_err(|e| UploadStoreError::io(&store.blob_path(blob), e))?;
        if len == 0 {
            break;
        }
        hasher.update(&buf[..len]);
    }
    let sha256 = format!("{:x}", hasher.finalize());
    loop {
        let Some(old) = store.documents.get(key)? else {
            return Ok(sha256);
        };
        let mut record: DocumentRecord = store::decode(&old, "document")?;
        if record.blob != blob {
            return Ok(sha256);
        }
        record.sha256 = Some(sha256.clone());
        let swapped =
            store
                .documents
                .compare_and_swap(key, Some(old), Some(store::encode(&record)))?;
        if swapped.is_ok() {
            store.db.flush()?;
            tracing::info!(document = document_id, %sha256, "document digest recorded");
            return Ok(sha256);
        }
    }
}

/// Bytes read per step when hashing or serving a blob.
const HASH_READ: usize = 1 << 20;
const SERVE_READ: usize = 256 << 10;
/// Reads of [`SERVE_READ`] bytes a download keeps in flight.
const READ_AHEAD: usize = 4;

/// The upload engine. One per cloud, shared behind an `Arc` by the routes.
pub struct UploadService {
    store: Store,
    base_url: String,
    listener: Arc<dyn UploadListener>,
    limits: UploadLimits,
    live: Mutex<HashMap<Uuid, LiveSession>>,
    /// Groups the sled flushes that follow span records.
    db_sync: GroupSync,
    digests: Arc<Digests>,
}

fn random_token() -> String {
    let bytes: [u8; 32] = rand::random();
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

/// Compares tokens without an early exit, so timing does not reveal a matching prefix.
fn tokens_match(expected: &str, given: &str) -> bool {
    expected.len() == given.len()
        && expected
            .bytes()
            .zip(given.bytes())
            .fold(0u8, |acc, (a, b)| acc | (a ^ b))
            == 0
}

fn parse_id(id: &str, what: &str) -> Result<Uuid, GraphError> {
    Uuid::parse_str(id).map_err(|_| GraphError::not_found(format!("No {what} {id:?}.")))
}

fn busy(record: &SessionRecord) -> GraphError {
    GraphError::conflict(format!(
        "Upload session {} has ranges being written or is completing; retry when they finish.",
        record.id
    ))
}

fn session_not_found(id: &str) -> GraphError {
    GraphError::not_found(format!(
        "Upload session {id} does not exist or has expired."
    ))
}

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
    /// Opens the upload trees in the cloud's database and the blob files under
    /// `data_dir/upload-blobs` (`data_dir` is the cloud's data folder), finishes interrupted
    /// deletions and digests, and drops expired sessions and download grants.
    pub fn open(
        db: &sled::Db,
        data_dir: &Path,
        public_base_url: &str,
        listener: Arc<dyn UploadListener>,
    ) -> Result<Self, UploadStoreError> {
        Self::with_limits(
            db,
            data_dir,
            public_base_url,
            listener,
            UploadLimits::default(),
        )
    }

    pub fn with_limits(
        db: &sled::Db,
        data_dir: &Path,
        public_base_url: &str,
        listener: Arc<dyn UploadListener>,
        limits: UploadLimits,
    ) -> Result<Self, UploadStoreError> {
        let store = Store::open(db, data_dir)?;
        let service = UploadService {
            store: store.clone(),
            base_url: public_base_url.trim_end_matches('/').to_string(),
            listener,
            limits,
            live: Mutex::new(HashMap::new()),
            db_sync: GroupSync::default(),
            digests: Arc::new(Digests {
                store,
                pending: Mutex::new(HashMap::new()),
            }),
        };
        service.sweep_expired()?;
        service.finish_digests()?;
        Ok(service)
    }

    /// Records the digests a stop interrupted between a document's 201 and its digest.
    fn finish_digests(&self) -> Result<(), UploadStoreError> {
        let mut undigested = Vec::new();
        for entry in self.store.documents.iter() {
            let (key, value) = entry?;
            let record: DocumentRecord = store::decode(&value, "document")?;
            if record.sha256.is_none() {
                undigested.push((String::from_utf8_lossy(&key).into_owned(), record.blob));
            }
        }
        for (document_id, blob) in undigested {
            record_digest(&self.store, &document_id, blob)?;
        }
        Ok(())
    }

    pub fn limits(&self) -> &UploadLimits {
        &self.limits
    }

    /// Deletes expired sessions (with their bytes) and expired download grants.
    pub fn sweep_expired(&self) -> Result<(), UploadStoreError> {
        let now = Utc::now();
        let mut expired = Vec::new();
        for entry in self.store.sessions.iter() {
            let (_, value) = entry?;
            let record: SessionRecord = store::decode(&value, "upload session")?;
            if record.expires <= now {
                expired.push(record);
            }
        }
        for record in expired {
            self.remove_session(&record)?;
        }
        for entry in self.store.grants.iter() {
            let (key, value) = entry?;
            let grant: GrantRecord = store::decode(&value, "download grant")?;
            if grant.expires <= now {
                self.store.grants.remove(key)?;
            }
        }
        Ok(())
    }

    /// createUploadSession (v1.0): validating `contentType` against the printer is the caller's
    /// job. A new session replaces any earlier one for the same document.
    pub fn create_session(
        &self,
        target: UploadTarget,
        props: &PrintDocumentUploadProperties,
        creator: &UploadCreator,
    ) -> Result<UploadSession, GraphError> {
        let record = self.new_session(target, props, creator, UploadDesign::UploadUrl)?;
        Ok(UploadSession {
            upload_url: Some(self.upload_url(&record)),
            expiration_date_time: Some(record.expires),
            next_expected_ranges: Some(range::next_expected_ranges(&[Span {
                start: 0,
                end: record.size,
            }])),
        })
    }

    fn upload_url(&self, record: &SessionRecord) -> String {
        format!(
            "{}/uploadSessions/{}?tempauthtoken={}",
            self.base_url, record.id, record.token
        )
    }

    fn new_session(
        &self,
        target: UploadTarget,
        props: &PrintDocumentUploadProperties,
        creator: &UploadCreator,
        design: UploadDesign,
    ) -> Result<SessionRecord, GraphError> {
        if props.size <= 0 {
            return Err(GraphError::bad_request(format!(
                "properties.size is {}; a document has at least one byte.",
                props.size
            )));
        }
        if props.size as u64 > self.limits.max_document_size {
            return Err(GraphError::bad_request(format!(
                "properties.size is {} bytes; documents may be at most {} bytes.",
                props.size, self.limits.max_document_size
            )));
        }
        if props.document_name.trim().is_empty() {
            return Err(GraphError::bad_request("properties.documentName is empty."));
        }
        if props.content_type.trim().is_empty() {
            return Err(GraphError::bad_request("properties.contentType is empty."));
        }
        self.sweep_expired()?;
        let now = Utc::now();
        let record = SessionRecord {
            id: Uuid::new_v4(),
            design,
            target,
            size: props.size as u64,
            content_type: props.content_type.clone(),
            document_name: props.document_name.clone(),
            creator: creator.clone(),
            token: random_token(),
            created: now,
            expires: now + self.limits.session_lifetime,
        };
        if let Some(previous) = self.session_for_document(&record.target.document_id)?
            && !self.remove_session(&previous)?
        {
            return Err(busy(&previous));
        }
        let s = &self.store;
        (&s.sessions, &s.session_by_document)
            .transaction(|(sessions, by_document)| {
                sessions.insert(record.id.as_bytes(), store::encode(&record))?;
                by_document.insert(record.target.document_id.as_bytes(), record.id.as_bytes())?;
                Ok(())
            })
            .map_err(store::transaction_error)?;
        s.db.flush().map_err(UploadStoreError::from)?;
        tracing::info!(session = %record.id, document = %record.target.document_id,
            size = record.size, "upload session created");
        Ok(record)
    }

    fn session_for_document(
        &self,
        document_id: &str,
    ) -> Result<Option<SessionRecord>, UploadStoreError> {
        let Some(id) = self.store.session_by_document.get(document_id.as_bytes())? else {
            return Ok(None);
        };
        let id = Uuid::from_slice(&id)
            .map_err(|_| UploadStoreError::Corrupt(format!("session index for {document_id}")))?;
        self.store.session(id)
    }

    /// A live (unexpired) session; an expired one is deleted on the spot.
    fn live_session(&self, session_id: &str) -> Result<SessionRecord, GraphError> {
        let id = parse_id(session_id, "upload session")?;
        let record = self
            .store
            .session(id)?
            .ok_or_else(|| session_not_found(session_id))?;
        if record.expires <= Utc::now() {
            self.remove_session(&record)?;
            return Err(session_not_found(session_id));
        }
        Ok(record)
    }

    /// Checks the upload URL's `tempauthtoken` against the session it names.
    pub fn authorize_session(
        &self,
        session_id: &str,
        token: Option<&str>,
    ) -> Result<(), GraphError> {
        let record = self.live_session(session_id)?;
        match token {
            Some(t) if tokens_match(&record.token, t) => Ok(()),
            Some(_) => Err(GraphError::unauthenticated(
                "The tempauthtoken does not belong to this upload session.",
            )),
            None => Err(GraphError::unauthenticated(
                "The upload URL needs its tempauthtoken query parameter.",
            )),
        }
    }

    /// Runs `f` on the session's live state, loading it from the chunk index first if this
    /// process has not seen the session yet (e.g. after a restart).
    fn with_live<T>(
        &self,
        record: &SessionRecord,
        f: impl FnOnce(&mut LiveSession) -> T,
    ) -> Result<T, UploadStoreError> {
        let mut live = self.live.lock().expect("upload lock poisoned");
        let state = match live.entry(record.id) {
            Entry::Occupied(entry) => entry.into_mut(),
            Entry::Vacant(_) if !self.store.sessions.contains_key(record.id.as_bytes())? => {
                return Err(UploadStoreError::Gone);
            }
            Entry::Vacant(entry) => entry.insert(LiveSession {
                stored: self.store.stored_spans(record.id)?,
                ..LiveSession::default()
            }),
        };
        Ok(f(state))
    }

    /// GET on the upload URL.
    pub fn progress(&self, session_id: &str) -> Result<SessionProgress, GraphError> {
        let record = self.live_session(session_id)?;
        let missing = self.with_live(&record, |s| s.stored.missing(record.size))?;
        Ok(SessionProgress {
            session_id: record.id.to_string(),
            size: record.size,
            expires: record.expires,
            missing,
        })
    }

    /// GET on the upload URL. Like [`Self::progress`], but a session whose bytes are all stored
    /// (its completion failed, e.g. the listener errored or the cloud died midway) is completed
    /// now, so a client that only polls still ends with the document.
    pub async fn progress_or_complete(&self, session_id: &str) -> Result<RangeOutcome, GraphError> {
        let record = self.live_session(session_id)?;
        let (missing, complete_now) = self.with_live(&record, |state| {
            let missing = state.stored.missing(record.size);
            let complete_now =
                missing.is_empty() && state.in_flight.is_empty() && !state.completing;
            if complete_now {
                state.completing = true;
            }
            (missing, complete_now)
        })?;
        if complete_now {
            return self.finish(&record).await;
        }
        Ok(RangeOutcome::Accepted(SessionProgress {
            session_id: record.id.to_string(),
            size: record.size,
            expires: record.expires,
            missing,
        }))
    }

    /// DELETE on the upload URL: the session and every byte it received are gone.
    pub fn discard(&self, session_id: &str) -> Result<(), GraphError> {
        let record = self.live_session(session_id)?;
        if !self.remove_session(&record)? {
            return Err(busy(&record));
        }
        tracing::info!(session = %record.id, "upload session discarded");
        Ok(())
    }

    /// Deletes a session and its bytes, unless ranges are being written to it or it is being
    /// completed (then it returns false and changes nothing). The check and the removal of the
    /// record happen under the live lock, so no writer can be admitted in between.
    fn remove_session(&self, record: &SessionRecord) -> Result<bool, UploadStoreError> {
        let s = &self.store;
        let document_key = record.target.document_id.as_bytes();
        {
            let mut live = self.live.lock().expect("upload lock poisoned");
            if let Some(state) = live.get(&record.id)
                && (state.completing || !state.in_flight.is_empty())
            {
                return Ok(false);
            }
            (&s.sessions, &s.session_by_document, s.trash_tree())
                .transaction(|(sessions, by_document, trash)| {
                    sessions.remove(record.id.as_bytes())?;
                    if by_document.get(document_key)?.as_deref() == Some(record.id.as_bytes()) {
                        by_document.remove(document_key)?;
                    }
                    Store::trash_in(trash, record.id)?;
                    Ok(())
                })
                .map_err(store::transaction_error)?;
            live.remove(&record.id);
        }
        s.empty_trash()?;
        s.db.flush()?;
        Ok(true)
    }

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
                "invalidRequest",
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
                    "invalidRange",
                    format!(
                        "Uploaded fragment {}-{} overlaps with existing data.",
                        range.first, range.last
                    ),
                ));
            }
            if state.in_flight.len() >= self.limits.max_ranges_in_flight {
                return Err(GraphError::new(
                    StatusCode::TOO_MANY_REQUESTS,
                    "activityLimitReached",
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

    /// Tells the listener and turns the session into a document, whose digest follows in the
    /// background.
    async fn finish(&self, record: &SessionRecord) -> Result<RangeOutcome, GraphError> {
        let outcome = self.try_finish(record).await;
        if outcome.is_err() {
            let mut live = self.live.lock().expect("upload lock poisoned");
            if let Some(state) = live.get_mut(&record.id) {
                state.completing = false;
            }
        }
        outcome
    }

    async fn try_finish(&self, record: &SessionRecord) -> Result<RangeOutcome, GraphError> {
        let done = CompletedUpload {
            target: record.target.clone(),
            size: record.size,
            content_type: record.content_type.clone(),
            document_name: record.document_name.clone(),
            uploaded: Utc::now(),
        };
        let listener = self.listener.clone();
        let listener_done = done.clone();
        let document_json =
            tokio::task::spawn_blocking(move || listener.upload_completed(&listener_done))
                .await
                .map_err(|e| UploadStoreError::Task(e.to_string()))??;
        let document = DocumentRecord {
            blob: record.id,
            target: done.target.clone(),
            size: done.size,
            sha256: None,
            content_type: done.content_type.clone(),
            document_name: done.document_name.clone(),
            uploaded: done.uploaded,
        };
        let s = &self.store;
        let document_key = record.target.document_id.as_bytes();
        let replaced = s.document(&record.target.document_id)?;
        (
            &s.sessions,
            &s.session_by_document,
            &s.documents,
            s.trash_tree(),
        )
            .transaction(|(sessions, by_document, documents, trash)| {
                sessions.remove(record.id.as_bytes())?;
                by_document.remove(document_key)?;
                documents.insert(document_key, store::encode(&document))?;
                if let Some(old) = &replaced {
                    Store::trash_in(trash, old.blob)?;
                }
                Ok(())
            })
            .map_err(store::transaction_error)?;
        flush_db(&s.db).await?;
        self.live
            .lock()
            .expect("upload lock poisoned")
            .remove(&record.id);
        if replaced.is_some() {
            s.empty_trash()?;
        }
        tracing::info!(session = %record.id, document = %record.target.document_id,
            size = done.size, "upload complete");
        let (digests, document_id, blob) = (
            self.digests.clone(),
            record.target.document_id.clone(),
            record.id,
        );
        tokio::spawn(
            async move {
                if let Err(e) = digests.get(&document_id, blob).await {
                    tracing::warn!(error = %e, "hashing the document failed; a download retries");
                }
            }
            .in_current_span(),
        );
        Ok(RangeOutcome::Completed(document_json))
    }

    /// The SHA-256 (lowercase hex) of a completed document's bytes, waiting for it if it is
    /// still being computed.
    pub async fn document_sha256(&self, document_id: &str) -> Result<String, GraphError> {
        self.digest_of(&self.stored_document(document_id)?).await
    }

    /// The digest of a document record already read, waiting for it if it is being computed.
    async fn digest_of(&self, record: &DocumentRecord) -> Result<String, GraphError> {
        match &record.sha256 {
            Some(sha256) => Ok(sha256.clone()),
            None => Ok(self
                .digests
                .get(&record.target.document_id, record.blob)
                .await?),
        }
    }

    fn stored_document(&self, document_id: &str) -> Result<DocumentRecord, GraphError> {
        self.store.document(document_id)?.ok_or_else(|| {
            GraphError::not_found(format!("Document {document_id} has no uploaded content."))
        })
    }

    /// A pre-authenticated, short-lived download URL for `$value` (the Graph route answers 302
    /// with it as Location).
    pub fn download_url(&self, document_id: &str) -> Result<String, GraphError> {
        self.stored_document(document_id)?;
        self.sweep_expired()?;
        let grant_id = Uuid::new_v4();
        let grant = GrantRecord {
            document_id: document_id.to_string(),
            token: random_token(),
            expires: Utc::now() + self.limits.download_lifetime,
        };
        self.store
            .grants
            .insert(grant_id.as_bytes(), store::encode(&grant))
            .map_err(UploadStoreError::from)?;
        self.store.db.flush().map_err(UploadStoreError::from)?;
        Ok(format!(
            "{}/downloads/{grant_id}?tempauthtoken={}",
            self.base_url, grant.token
        ))
    }

    /// Resolves a download URL's grant to the document it may read.
    fn authorize_download(
        &self,
        grant_id: &str,
        token: Option<&str>,
    ) -> Result<DocumentRecord, GraphError> {
        let not_found = || {
            GraphError::not_found(format!(
                "Download {grant_id} does not exist or has expired."
            ))
        };
        let id = parse_id(grant_id, "download")?;
        let grant: GrantRecord = match self
            .store
            .grants
            .get(id.as_bytes())
            .map_err(UploadStoreError::from)?
        {
            Some(v) => store::decode(&v, "download grant")?,
            None => return Err(not_found()),
        };
        if grant.expires <= Utc::now() {
            return Err(not_found());
        }
        match token {
            Some(t) if tokens_match(&grant.token, t) => self.stored_document(&grant.document_id),
            _ => Err(GraphError::unauthenticated(
                "The tempauthtoken is missing or does not belong to this download.",
            )),
        }
    }

    /// The stored bytes as a stream (IPP Fetch-Document), one chunk at a time.
    pub fn read_document(
        &self,
        document_id: &str,
    ) -> Result<impl Stream<Item = Result<Bytes, UploadStoreError>> + Send + 'static, GraphError>
    {
        let record = self.stored_document(document_id)?;
        Ok(read_span(
            self.store.clone(),
            record.blob,
            Span {
                start: 0,
                end: record.size,
            },
        ))
    }

    /// Deletes a completed document's bytes (the printDocument record is the Graph side's).
    pub fn delete_document(&self, document_id: &str) -> Result<(), GraphError> {
        let record = self.stored_document(document_id)?;
        let s = &self.store;
        (&s.documents, s.trash_tree())
            .transaction(|(documents, trash)| {
                documents.remove(document_id.as_bytes())?;
                Store::trash_in(trash, record.blob)?;
                Ok(())
            })
            .map_err(store::transaction_error)?;
        s.empty_trash()?;
        s.db.flush().map_err(UploadStoreError::from)?;
        Ok(())
    }
}

/// A stream over `span` of a blob file, one read of at most [`SERVE_READ`] bytes per item,
/// [`READ_AHEAD`] reads in flight so the disk read of the next piece overlaps sending this one
/// (one read at a time left Fetch-Document at a fifth of a plain loopback GET).
fn read_span(
    store: Store,
    blob: Uuid,
    span: Span,
) -> impl Stream<Item = Result<Bytes, UploadStoreError>> + Send + 'static {
    let path = store.blob_path(blob);
    let file = Arc::new(tokio::sync::OnceCell::<Arc<File>>::new());
    futures::stream::iter((span.start..span.end).step_by(SERVE_READ))
        .map(move |offset| {
            let (store, path, file) = (store.clone(), path.clone(), file.clone());
            async move {
                let file = file
                    .get_or_try_init(|| async { store.open_blob(blob).map(Arc::new) })
                    .await?
                    .clone();
                let len = SERVE_READ.min((span.end - offset) as usize);
                tokio::task::spawn_blocking(move || store::read_at(&file, offset, len))
                    .await
                    .map_err(|e| UploadStoreError::Task(e.to_string()))?
                    .map_err(|e| UploadStoreError::io(&path, e))
            }
        })
        .buffered(READ_AHEAD)
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
