//! How upload sessions and document bytes sit in sled.
//!
//! Trees (all in the cloud's one `sled::Db`):
//! - `upload.sessions`: session id → [`SessionRecord`] (JSON);
//! - `upload.session_by_document`: document id → session id (one live session per document);
//! - `upload.documents`: document id → [`DocumentRecord`] for completed uploads;
//! - `upload.chunks`: blob id ‖ offset (big-endian) → bytes of one chunk;
//! - `upload.chunk_index`: the same key → chunk length (8 bytes, big-endian);
//! - `upload.download_grants`: grant id → [`GrantRecord`];
//! - `upload.trash`: blob ids whose chunks are being deleted.
//!
//! A blob is the byte content of one upload; its id is the session id, and a completed document
//! keeps pointing at it, so completion moves no bytes. The chunk index exists because iterating
//! `upload.chunks` would read every byte just to learn which spans are stored; a chunk and its
//! index entry are written in one transaction, so after a crash the index lists exactly the
//! chunks that exist. Deleting a blob first records it in `upload.trash` in the same transaction
//! that drops its owner, so a crash halfway through a deletion is finished at the next open.

use super::UploadError;
use super::range::{Span, SpanSet};
use super::{UploadCreator, UploadTarget};
use bytes::Bytes;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use sled::transaction::{TransactionError, Transactional};
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
    pub sha256: String,
    pub content_type: String,
    pub document_name: String,
    pub uploaded: DateTime<Utc>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct GrantRecord {
    pub document_id: String,
    pub token: String,
    pub expires: DateTime<Utc>,
}

/// Handles to the upload trees; cheap to clone (sled trees are reference counted).
#[derive(Clone)]
pub struct Store {
    pub db: sled::Db,
    pub sessions: sled::Tree,
    pub session_by_document: sled::Tree,
    pub documents: sled::Tree,
    chunks: sled::Tree,
    chunk_index: sled::Tree,
    pub grants: sled::Tree,
    trash: sled::Tree,
}

fn chunk_key(blob: Uuid, offset: u64) -> [u8; 24] {
    let mut key = [0u8; 24];
    key[..16].copy_from_slice(blob.as_bytes());
    key[16..].copy_from_slice(&offset.to_be_bytes());
    key
}

fn decode_u64(bytes: &[u8], what: &str) -> Result<u64, UploadError> {
    let array: [u8; 8] = bytes
        .try_into()
        .map_err(|_| UploadError::Corrupt(format!("{what} is {} bytes, not 8", bytes.len())))?;
    Ok(u64::from_be_bytes(array))
}

pub fn decode<T: serde::de::DeserializeOwned>(bytes: &[u8], what: &str) -> Result<T, UploadError> {
    serde_json::from_slice(bytes)
        .map_err(|e| UploadError::Corrupt(format!("{what} does not parse: {e}")))
}

pub fn encode<T: Serialize>(value: &T) -> Vec<u8> {
    serde_json::to_vec(value).expect("upload records always serialise")
}

/// Turns a failed multi-tree transaction into our error; the closures abort only with
/// [`UploadError`].
pub fn transaction_error(err: TransactionError<UploadError>) -> UploadError {
    match err {
        TransactionError::Abort(e) => e,
        TransactionError::Storage(e) => UploadError::Storage(e),
    }
}

impl Store {
    pub fn open(db: &sled::Db) -> Result<Self, UploadError> {
        let store = Store {
            db: db.clone(),
            sessions: db.open_tree("upload.sessions")?,
            session_by_document: db.open_tree("upload.session_by_document")?,
            documents: db.open_tree("upload.documents")?,
            chunks: db.open_tree("upload.chunks")?,
            chunk_index: db.open_tree("upload.chunk_index")?,
            grants: db.open_tree("upload.download_grants")?,
            trash: db.open_tree("upload.trash")?,
        };
        store.empty_trash()?;
        Ok(store)
    }

    pub fn session(&self, id: Uuid) -> Result<Option<SessionRecord>, UploadError> {
        self.sessions
            .get(id.as_bytes())?
            .map(|v| decode(&v, &format!("upload session {id}")))
            .transpose()
    }

    pub fn document(&self, document_id: &str) -> Result<Option<DocumentRecord>, UploadError> {
        self.documents
            .get(document_id.as_bytes())?
            .map(|v| decode(&v, &format!("document {document_id}")))
            .transpose()
    }

    /// Stores one chunk of a blob at `offset`, atomically with its index entry.
    pub fn put_chunk(&self, blob: Uuid, offset: u64, bytes: &[u8]) -> Result<(), UploadError> {
        let key = chunk_key(blob, offset);
        let value = sled::IVec::from(bytes);
        let len = (bytes.len() as u64).to_be_bytes();
        (&self.chunks, &self.chunk_index)
            .transaction(|(chunks, index)| {
                chunks.insert(&key, value.clone())?;
                index.insert(&key, &len)?;
                Ok(())
            })
            .map_err(transaction_error)
    }

    /// The spans a blob holds, read from the index only.
    pub fn stored_spans(&self, blob: Uuid) -> Result<SpanSet, UploadError> {
        let mut set = SpanSet::default();
        for entry in self.chunk_index.scan_prefix(blob.as_bytes()) {
            let (key, len) = entry?;
            let offset = decode_u64(&key[16..], "chunk key offset")?;
            let len = decode_u64(&len, "chunk length")?;
            set.insert(Span {
                start: offset,
                end: offset + len,
            });
        }
        Ok(set)
    }

    /// Deletes the chunks of `blob` that start inside `span` (used to drop what one rejected
    /// request wrote).
    pub fn remove_chunks_in(&self, blob: Uuid, span: Span) -> Result<(), UploadError> {
        let keys: Vec<sled::IVec> = self
            .chunk_index
            .range(chunk_key(blob, span.start)..chunk_key(blob, span.end))
            .keys()
            .collect::<Result<_, _>>()?;
        self.remove_chunk_keys(&keys)
    }

    fn remove_chunk_keys(&self, keys: &[sled::IVec]) -> Result<(), UploadError> {
        (&self.chunks, &self.chunk_index)
            .transaction(|(chunks, index)| {
                for key in keys {
                    chunks.remove(key)?;
                    index.remove(key)?;
                }
                Ok(())
            })
            .map_err(transaction_error)
    }

    /// The stored chunk that contains byte `offset`, as (chunk start, bytes).
    pub fn chunk_at(&self, blob: Uuid, offset: u64) -> Result<(u64, Bytes), UploadError> {
        let missing = || UploadError::Corrupt(format!("blob {blob} has no byte {offset}"));
        let (key, _) = self
            .chunk_index
            .range(chunk_key(blob, 0)..=chunk_key(blob, offset))
            .next_back()
            .ok_or_else(missing)??;
        let start = decode_u64(&key[16..], "chunk key offset")?;
        let bytes = self.chunks.get(&key)?.ok_or_else(missing)?;
        if start + bytes.len() as u64 <= offset {
            return Err(missing());
        }
        Ok((start, Bytes::from_owner(bytes)))
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

    /// Deletes every trashed blob's chunks, in bounded batches, then forgets the trash entry.
    pub fn empty_trash(&self) -> Result<(), UploadError> {
        for entry in self.trash.iter() {
            let (blob_key, _) = entry?;
            let mut keys = Vec::new();
            for key in self.chunk_index.scan_prefix(&blob_key).keys() {
                keys.push(key?);
                if keys.len() == 256 {
                    self.remove_chunk_keys(&keys)?;
                    keys.clear();
                }
            }
            self.remove_chunk_keys(&keys)?;
            self.trash.remove(&blob_key)?;
        }
        Ok(())
    }
}
