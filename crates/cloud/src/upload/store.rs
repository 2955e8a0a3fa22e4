//! Where upload sessions and document bytes are kept.
//!
//! Document bytes live in one sparse file per blob, `<data>/upload-blobs/<blob id>`, written with
//! positional writes; everything that says what those bytes *are* lives in the cloud's one
//! `sled::Db`:
//! - `upload.sessions`: session id → [`SessionRecord`] (JSON);
//! - `upload.session_by_document`: document id → session id (one live session per document);
//! - `upload.documents`: document id → [`DocumentRecord`] for completed uploads, with their
//!   SHA-256;
//! - `upload.spans`: blob id ‖ offset (big-endian) → length of a stored span (8 bytes);
//! - `upload.meta`: `download-key`, the secret download URLs are signed with;
//! - `upload.prefix_digests`: blob id → the SHA-256 state of the blob's first stored bytes
//!   (`digest.rs`), while its session lasts;
//! - `upload.trash`: blob ids whose file, spans and prefix digest are being deleted;
//! - `upload.renditions`: document id → [`Rendition`], the bytes devices get instead of the
//!   upload (OXPS converted to PDF), in a blob of their own.
//!
//! A blob is the byte content of one upload; its id is the session id, and a completed document
//! keeps pointing at it, so completion moves no bytes. A span is recorded only after its bytes
//! are written to the blob file, so after the process is killed the span index claims nothing
//! the file lacks; bytes written but not yet recorded are simply not there as far as the session
//! is concerned and are sent again. The file is created on the first write, so a declared but
//! empty upload has no file at all. Deleting a blob first records it in `upload.trash` in the
//! same transaction that drops its owner, so a crash halfway through a deletion (file removed,
//! spans not yet) is finished at the next open.

use super::UploadStoreError;
use super::range::{Span, SpanSet};
use super::{UploadCreator, UploadTarget};
use bytes::Bytes;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use sled::transaction::TransactionError;
use std::fs::File;
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use uuid::Uuid;

/// Which of the two upload designs created a session (they differ in how the session is
/// addressed and authorised, not in how bytes are stored).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum UploadDesign {
    /// v1.0 `createUploadSession` + pre-authenticated upload URL.
    UploadUrl,
    /// The 2020 beta `.../documents/{id}/uploadSession` resource.
    Beta2020,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SessionRecord {
    pub id: Uuid,
    pub design: UploadDesign,
    pub target: UploadTarget,
    pub size: u64,
    pub content_type: String,
    pub document_name: String,
    pub creator: UploadCreator,
    pub token: String,
    pub created: DateTime<Utc>,
    pub expires: DateTime<Utc>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DocumentRecord {
    pub blob: Uuid,
    pub target: UploadTarget,
    pub size: u64,
    /// Lowercase hex. `None` only in a store written by an older printlab, which hashed after
    /// completion; opening the store fills it in.
    #[serde(default)]
    pub sha256: Option<String>,
    pub content_type: String,
    pub document_name: String,
    pub uploaded: DateTime<Utc>,
}

/// What devices are given instead of an uploaded document. It names the upload blob it was made
/// from, so a document uploaded again (a new blob) never serves a rendition of its old bytes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Rendition {
    pub blob: Uuid,
    pub source_blob: Uuid,
    pub size: u64,
    pub content_type: String,
}

/// Handles to the upload trees and the blob folder; cheap to clone (sled trees are reference
/// counted).
#[derive(Clone)]
pub struct Store {
    pub db: sled::Db,
    pub sessions: sled::Tree,
    pub session_by_document: sled::Tree,
    pub documents: sled::Tree,
    spans: sled::Tree,
    pub(super) prefix_digests: sled::Tree,
    pub(super) meta: sled::Tree,
    pub renditions: sled::Tree,
    trash: sled::Tree,
    blob_dir: Arc<PathBuf>,
}

fn span_key(blob: Uuid, offset: u64) -> [u8; 24] {
    let mut key = [0u8; 24];
    key[..16].copy_from_slice(blob.as_bytes());
    key[16..].copy_from_slice(&offset.to_be_bytes());
    key
}

fn decode_u64(bytes: &[u8], what: &str) -> Result<u64, UploadStoreError> {
    let array: [u8; 8] = bytes.try_into().map_err(|_| {
        UploadStoreError::Corrupt(format!("{what} is {} bytes, not 8", bytes.len()))
    })?;
    Ok(u64::from_be_bytes(array))
}

pub fn decode<T: serde::de::DeserializeOwned>(
    bytes: &[u8],
    what: &str,
) -> Result<T, UploadStoreError> {
    serde_json::from_slice(bytes)
        .map_err(|e| UploadStoreError::Corrupt(format!("{what} does not parse: {e}")))
}

pub fn encode<T: Serialize>(value: &T) -> Vec<u8> {
    serde_json::to_vec(value).expect("upload records always serialise")
}

/// Turns a failed multi-tree transaction into our error; the closures abort only with
/// [`UploadStoreError`].
pub fn transaction_error(err: TransactionError<UploadStoreError>) -> UploadStoreError {
    match err {
        TransactionError::Abort(e) => e,
        TransactionError::Storage(e) => UploadStoreError::Storage(e),
    }
}

impl Store {
    /// Opens the upload trees and `<data_dir>/upload-blobs`, finishing interrupted deletions.
    pub fn open(db: &sled::Db, data_dir: &Path) -> Result<Self, UploadStoreError> {
        let blob_dir = data_dir.join("upload-blobs");
        std::fs::create_dir_all(&blob_dir).map_err(|e| UploadStoreError::io(&blob_dir, e))?;
        let store = Store {
            db: db.clone(),
            sessions: db.open_tree("upload.sessions")?,
            session_by_document: db.open_tree("upload.session_by_document")?,
            documents: db.open_tree("upload.documents")?,
            spans: db.open_tree("upload.spans")?,
            prefix_digests: db.open_tree("upload.prefix_digests")?,
            meta: db.open_tree("upload.meta")?,
            renditions: db.open_tree("upload.renditions")?,
            trash: db.open_tree("upload.trash")?,
            blob_dir: Arc::new(blob_dir),
        };
        store.empty_trash()?;
        // Download URLs were stored grants before they were signed (`download.rs`).
        db.drop_tree("upload.download_grants")?;
        Ok(store)
    }

    pub fn blob_path(&self, blob: Uuid) -> PathBuf {
        self.blob_dir.join(blob.to_string())
    }

    pub fn session(&self, id: Uuid) -> Result<Option<SessionRecord>, UploadStoreError> {
        self.sessions
            .get(id.as_bytes())?
            .map(|v| decode(&v, &format!("upload session {id}")))
            .transpose()
    }

    pub fn document(&self, document_id: &str) -> Result<Option<DocumentRecord>, UploadStoreError> {
        self.documents
            .get(document_id.as_bytes())?
            .map(|v| decode(&v, &format!("document {document_id}")))
            .transpose()
    }

    /// Opens a blob's file for writing, creating it (sparse, no length set) on first use.
    pub fn open_blob_for_writing(&self, blob: Uuid) -> Result<File, UploadStoreError> {
        let path = self.blob_path(blob);
        File::options()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(&path)
            .map_err(|e| UploadStoreError::io(&path, e))
    }

    /// Opens a blob's file for reading; a blob with stored spans must have one.
    pub fn open_blob(&self, blob: Uuid) -> Result<File, UploadStoreError> {
        let path = self.blob_path(blob);
        File::open(&path).map_err(|e| UploadStoreError::io(&path, e))
    }

    /// Records that `span` of a blob is stored; call only after its bytes are written.
    pub fn record_span(&self, blob: Uuid, span: Span) -> Result<(), UploadStoreError> {
        self.spans.insert(
            span_key(blob, span.start),
            &(span.end - span.start).to_be_bytes(),
        )?;
        Ok(())
    }

    /// The spans a blob holds, from the span index.
    pub fn stored_spans(&self, blob: Uuid) -> Result<SpanSet, UploadStoreError> {
        let mut set = SpanSet::default();
        for entry in self.spans.scan_prefix(blob.as_bytes()) {
            let (key, len) = entry?;
            let offset = decode_u64(&key[16..], "span key offset")?;
            let len = decode_u64(&len, "span length")?;
            set.insert(Span {
                start: offset,
                end: offset + len,
            });
        }
        Ok(set)
    }

    /// Marks blobs for deletion inside a caller's transaction (see the module doc).
    pub fn trash_in(
        trash: &sled::transaction::TransactionalTree,
        blob: Uuid,
    ) -> Result<(), sled::transaction::UnabortableTransactionError> {
        trash.insert(blob.as_bytes(), &[])?;
        Ok(())
    }

    pub fn trash_tree(&self) -> &sled::Tree {
        &self.trash
    }

    /// Deletes every trashed blob's file, span entries and prefix digest, then forgets the trash
    /// entry.
    pub fn empty_trash(&self) -> Result<(), UploadStoreError> {
        for entry in self.trash.iter() {
            let (blob_key, _) = entry?;
            let blob = Uuid::from_slice(&blob_key)
                .map_err(|_| UploadStoreError::Corrupt("trash entry is not a blob id".into()))?;
            let path = self.blob_path(blob);
            match std::fs::remove_file(&path) {
                Ok(()) => {}
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(e) => return Err(UploadStoreError::io(&path, e)),
            }
            let mut batch = sled::Batch::default();
            for key in self.spans.scan_prefix(&blob_key).keys() {
                batch.remove(key?);
            }
            self.spans.apply_batch(batch)?;
            self.prefix_digests.remove(&blob_key)?;
            self.trash.remove(&blob_key)?;
        }
        Ok(())
    }
}

/// Reads `len` bytes at `offset` of a blob file (a stored span, so the bytes exist).
pub fn read_at(file: &File, offset: u64, len: usize) -> std::io::Result<Bytes> {
    let mut buf = vec![0u8; len];
    file.read_exact_at(&mut buf, offset)?;
    Ok(Bytes::from(buf))
}
