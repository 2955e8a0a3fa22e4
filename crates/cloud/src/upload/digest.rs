//! Documents' SHA-256, computed while the bytes arrive so that it is known when the last range
//! is stored: the 201 carries a document whose digest is already recorded.
//!
//! Each session has one [`PrefixHash`]: the SHA-256 state of the document's first `hashed`
//! bytes, all of them stored. A range that starts where the hash stands (or reaches that point
//! while it streams) hashes its chunks as it writes them; a range stored ahead of it is read back
//! from the page cache and hashed as soon as the gap before it fills (`catch_up`). Only what was
//! not hashed in-line is read again. The hasher works on a copy and commits it only once the
//! bytes it covers are recorded, so a range that breaks off, stalls or is cancelled leaves the
//! hash where it was, and a hash never covers bytes the span index does not claim.
//!
//! The state is persisted (`upload.prefix_digests`) whenever it moves, after the spans it
//! covers were flushed, so a restarted cloud goes on from it; a state that is missing or does
//! not decode only costs hashing the stored prefix again. SHA-256 runs on the CPU's SHA
//! extensions where it has them (`sha2` detects them at run time).

use super::store::{self, DocumentRecord, SessionRecord, Store};
use super::{UploadService, UploadStoreError};
use crate::odata::GraphError;
use sha2::digest::common::hazmat::SerializableState;
use sha2::{Digest, Sha256};
use std::os::unix::fs::FileExt;
use std::sync::Arc;
use uuid::Uuid;

/// The SHA-256 state of a document's first `hashed` bytes.
#[derive(Clone, Default)]
pub(super) struct PrefixHash {
    pub hashed: u64,
    state: Sha256,
}

/// A session's prefix hash, shared by the writers that may move it; whoever holds the lock
/// moves it.
pub(super) type SharedPrefixHash = Arc<tokio::sync::Mutex<PrefixHash>>;

impl PrefixHash {
    pub fn update(&mut self, bytes: &[u8]) {
        self.state.update(bytes);
        self.hashed += bytes.len() as u64;
    }

    /// Hashes `len` bytes of `file` from where the hash stands (bytes already written there).
    pub fn read_on(&mut self, file: &std::fs::File, len: u64) -> std::io::Result<()> {
        let mut buf = vec![0u8; HASH_READ.min(len as usize)];
        let end = self.hashed + len;
        while self.hashed < end {
            let take = (end - self.hashed).min(buf.len() as u64) as usize;
            file.read_exact_at(&mut buf[..take], self.hashed)?;
            self.update(&buf[..take]);
        }
        Ok(())
    }

    pub fn hex(self) -> String {
        hex::encode(self.state.finalize())
    }

    /// `hashed` (8 bytes, big-endian) then the serialised SHA-256 state.
    pub fn encode(&self) -> Vec<u8> {
        let mut bytes = self.hashed.to_be_bytes().to_vec();
        bytes.extend_from_slice(&self.state.serialize());
        bytes
    }

    pub fn decode(bytes: &[u8]) -> Option<Self> {
        let (hashed, state) = bytes.split_at_checked(8)?;
        let state = state.try_into().ok()?;
        Some(Self {
            hashed: u64::from_be_bytes(hashed.try_into().ok()?),
            state: Sha256::deserialize(&state).ok()?,
        })
    }
}

/// Bytes read per step when hashing what is already in a blob file.
const HASH_READ: usize = 1 << 20;

impl UploadService {
    /// Moves the session's hash over whatever is stored right after it, for as long as no one
    /// else holds it. Whoever holds it when more bytes land checks again after letting go, so
    /// no stored span is left waiting for the completion.
    pub(super) async fn catch_up_digest(
        &self,
        record: &SessionRecord,
        prefix: &SharedPrefixHash,
    ) -> Result<(), UploadStoreError> {
        loop {
            let Ok(mut hash) = prefix.clone().try_lock_owned() else {
                return Ok(());
            };
            let ready = self.with_live(record, |s| s.stored.contiguous_end(hash.hashed))?;
            if ready <= hash.hashed {
                let hashed = hash.hashed;
                drop(hash);
                // A writer that found the lock taken after recording its span relies on us.
                if self.with_live(record, |s| s.stored.contiguous_end(hashed))? > hashed {
                    continue;
                }
                return Ok(());
            }
            let mut copy = hash.clone();
            let (store, blob) = (self.store.clone(), record.id);
            let copy = tokio::task::spawn_blocking(move || {
                let file = store.open_blob(blob)?;
                copy.read_on(&file, ready - copy.hashed)
                    .map_err(|e| UploadStoreError::io(&store.blob_path(blob), e))?;
                Ok::<_, UploadStoreError>(copy)
            })
            .await
            .map_err(|e| UploadStoreError::Task(e.to_string()))??;
            self.store.put_prefix_hash(record.id, &copy)?;
            *hash = copy;
        }
    }

    /// The whole document's digest, for its completion: every byte is stored and no range is
    /// being written, so the hash only has to catch up with what it has not seen.
    pub(super) async fn final_digest(
        &self,
        record: &SessionRecord,
    ) -> Result<String, UploadStoreError> {
        let prefix = self.with_live(record, |s| s.prefix.clone())?;
        let hash = prefix.lock().await.clone();
        let (store, blob, size) = (self.store.clone(), record.id, record.size);
        tokio::task::spawn_blocking(move || {
            let mut hash = hash;
            if hash.hashed < size {
                let file = store.open_blob(blob)?;
                hash.read_on(&file, size - hash.hashed)
                    .map_err(|e| UploadStoreError::io(&store.blob_path(blob), e))?;
            }
            Ok(hash.hex())
        })
        .await
        .map_err(|e| UploadStoreError::Task(e.to_string()))?
    }

    /// Records the digests of documents completed by an older printlab, which hashed after the
    /// 201 and could be stopped before it recorded the digest.
    pub(super) fn finish_digests(&self) -> Result<(), UploadStoreError> {
        let mut undigested = Vec::new();
        for entry in self.store.documents.iter() {
            let (key, value) = entry?;
            let record: DocumentRecord = store::decode(&value, "document")?;
            if record.sha256.is_none() {
                undigested.push((key, record));
            }
        }
        for (key, mut record) in undigested {
            let file = self.store.open_blob(record.blob)?;
            let mut hash = PrefixHash::default();
            hash.read_on(&file, record.size)
                .map_err(|e| UploadStoreError::io(&self.store.blob_path(record.blob), e))?;
            record.sha256 = Some(hash.hex());
            self.store.documents.insert(key, store::encode(&record))?;
            tracing::info!(document = %record.target.document_id, "document digest recorded");
        }
        self.store.db.flush()?;
        Ok(())
    }

    /// The SHA-256 (lowercase hex) of a completed document's bytes.
    pub async fn document_sha256(&self, document_id: &str) -> Result<String, GraphError> {
        self.digest_of(&self.stored_document(document_id)?)
    }

    /// The digest of a document record already read (every record has one once the store is
    /// open: `finish_digests`).
    pub(super) fn digest_of(&self, record: &DocumentRecord) -> Result<String, GraphError> {
        record.sha256.clone().ok_or_else(|| {
            UploadStoreError::Corrupt(format!(
                "document {} has no digest",
                record.target.document_id
            ))
            .into()
        })
    }
}

impl Store {
    /// The persisted hash of a session's first bytes, if any and if it decodes.
    pub fn prefix_hash(&self, blob: Uuid) -> Result<Option<PrefixHash>, UploadStoreError> {
        Ok(self
            .prefix_digests
            .get(blob.as_bytes())?
            .and_then(|bytes| PrefixHash::decode(&bytes)))
    }

    /// Persists a session's hash; the next sled flush makes it durable. Call only once the
    /// spans it covers are flushed.
    pub fn put_prefix_hash(&self, blob: Uuid, hash: &PrefixHash) -> Result<(), UploadStoreError> {
        self.prefix_digests.insert(blob.as_bytes(), hash.encode())?;
        Ok(())
    }
}
