//! Completed documents' SHA-256: computed in the background after the 201, once per document,
//! and recorded in the document record.

use super::store::{self, DocumentRecord, Store};
use super::{UploadService, UploadStoreError};
use crate::odata::GraphError;
use sha2::{Digest, Sha256};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use uuid::Uuid;

/// Computes completed documents' SHA-256 off the upload's path, once per document however many
/// callers (the background task, downloads) ask for it at the same time.
pub(super) struct Digests {
    pub(super) store: Store,
    /// Blob id → the digest being computed; dropped once it is recorded.
    pub(super) pending: Mutex<HashMap<Uuid, Arc<tokio::sync::OnceCell<String>>>>,
}

impl Digests {
    /// The digest of `document_id`'s bytes in blob `blob`, computing and recording it if it is
    /// not in the document record yet.
    pub(super) async fn get(
        &self,
        document_id: &str,
        blob: Uuid,
    ) -> Result<String, UploadStoreError> {
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
    let sha256 = hex::encode(hasher.finalize());
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

/// Bytes read per step when hashing a blob.
const HASH_READ: usize = 1 << 20;

impl UploadService {
    /// Records the digests a stop interrupted between a document's 201 and its digest.
    pub(super) fn finish_digests(&self) -> Result<(), UploadStoreError> {
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

    /// The SHA-256 (lowercase hex) of a completed document's bytes, waiting for it if it is
    /// still being computed.
    pub async fn document_sha256(&self, document_id: &str) -> Result<String, GraphError> {
        self.digest_of(&self.stored_document(document_id)?).await
    }

    /// The digest of a document record already read, waiting for it if it is being computed.
    pub(super) async fn digest_of(&self, record: &DocumentRecord) -> Result<String, GraphError> {
        match &record.sha256 {
            Some(sha256) => Ok(sha256.clone()),
            None => Ok(self
                .digests
                .get(&record.target.document_id, record.blob)
                .await?),
        }
    }
}
