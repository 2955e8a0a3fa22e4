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
//!   for all ranges that end together, see `printlab_datadir::GroupSync`) before the 202/201. The promise is
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
//! - **The SHA-256 is computed while the bytes arrive** (`digest.rs`): a range at the point the
//!   hash has reached hashes its chunks as it writes them, ranges stored ahead are read back and
//!   hashed when the gap before them fills, and the completion only hashes what is left, so the
//!   document record has its digest when the 201 goes out. No work follows the 201 (a digest
//!   computed afterwards cost 0.2–0.3 s per 256 MiB that no throughput figure showed, and its
//!   background task could still hold the store when a test reopened it). The hash state is
//!   persisted as it moves, so a restarted cloud goes on from it. The download URL sends the
//!   digest as `Repr-Digest` (RFC 9530).
//! - **A stalled range is given back.** A range whose body sends nothing for
//!   [`UploadLimits::stall_time`] (30 s) ends with 408; nothing of it is recorded and the hash
//!   never counted it, so the range is missing again and may be sent again whole, from another
//!   connection (a client whose connection died silently resumes). The silent writer's later
//!   bytes never reach the file: its request is over.
//! - Completion calls the [`UploadListener`] (the Graph side records the printDocument), then
//!   swaps the session for a document record in one transaction. If the cloud dies in between,
//!   the session is still complete on disk and the next request on it finishes the job; the
//!   listener must therefore be idempotent.
//!
//! Files: this one holds the public types and the service's state; `impl UploadService` is
//! spread by what it does: `open.rs` (opening, expiry sweep), `session.rs` (create, GET,
//! DELETE), `write.rs` (range PUTs), `complete.rs`, `digest.rs` (the SHA-256 as bytes land),
//! `document.rs` (lookup,
//! deletion), `download.rs` (download URLs, reading bytes back) and `rendition.rs` (what devices
//! get instead of the upload); `token.rs` draws and compares `tempauthtoken`s.

mod beta;
mod complete;
mod digest;
mod document;
mod download;
mod http;
mod open;
mod range;
mod rendition;
mod session;
mod store;
mod token;
mod whole;
mod write;

pub use beta::BetaUploadSession;
pub use range::{ContentRange, RangeRequest, Span};
pub use store::Rendition;

use crate::odata::GraphError;
use chrono::{DateTime, Utc};
use digest::SharedPrefixHash;
use printlab_datadir::GroupSync;
use range::SpanSet;
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::fs::File;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use store::Store;
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

    /// A range was recorded and flushed and bytes are still missing: `bytes_received` of the
    /// session's declared size are stored (ranges land in any order, so this is a count, not an
    /// offset).
    fn upload_progress(&self, _session: &UploadSessionInfo, _bytes_received: u64) {}
}

/// What an upload session declared, for [`UploadListener::upload_progress`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UploadSessionInfo {
    pub target: UploadTarget,
    pub document_name: String,
    pub size: u64,
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
    /// A range whose body sends nothing for this long is given back: its writer is abandoned,
    /// nothing it sent is recorded, and the range may be sent again (a client whose connection
    /// died silently can resume). Until then a retry of the range is 416, saying so.
    pub stall_time: std::time::Duration,
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
            stall_time: std::time::Duration::from_secs(30),
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
    /// The SHA-256 of the document's first stored bytes, moved on as ranges land.
    prefix: SharedPrefixHash,
}

/// The upload engine. One per cloud, shared behind an `Arc` by the routes.
pub struct UploadService {
    store: Store,
    base_url: String,
    listener: Arc<dyn UploadListener>,
    limits: UploadLimits,
    live: Mutex<HashMap<Uuid, LiveSession>>,
    /// Groups the sled flushes that follow span records.
    db_sync: GroupSync,
    /// Signs and checks download URLs.
    download_key: download::DownloadKey,
    /// Bytes in and out ([`UploadService::with_metrics`]).
    metrics: crate::metrics::CloudMetrics,
}
