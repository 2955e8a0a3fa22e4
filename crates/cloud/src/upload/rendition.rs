//! Renditions: the bytes a device gets instead of the uploaded document, when the service had to
//! convert it (Universal Print hands a PDF-only printer a PDF made from an OXPS upload).
//!
//! A rendition is a blob of its own next to the upload's, recorded in `upload.renditions` under
//! the document id; the upload itself stays as it was, because Graph keeps showing the
//! document the client sent (its size, type, SHA-256 and `$value`). The record is written only
//! after the blob file is, then sled is flushed, the same order as upload spans, so a rendition
//! that is recorded is also readable. A document uploaded again or deleted trashes its rendition
//! in the same transaction (`complete.rs`, `document.rs`).

use super::UploadService;
use super::UploadStoreError;
use super::download::read_span;
use super::range::Span;
use super::store::{self, Rendition, Store};
use crate::odata::GraphError;
use bytes::Bytes;
use futures::Stream;
use sled::Transactional;
use sled::transaction::{ConflictableTransactionError, TransactionalTree};
use uuid::Uuid;

impl UploadService {
    /// A completed document's bytes, whole, with the blob they are in. Only for conversions: a
    /// ZIP package is read from its central directory at the end, so the converter needs all of
    /// it; the document size is already bounded by [`super::UploadLimits::max_document_size`].
    pub async fn document_bytes(&self, document_id: &str) -> Result<(Uuid, Vec<u8>), GraphError> {
        let record = self.stored_document(document_id)?;
        let store = self.store.clone();
        let len = usize::try_from(record.size).map_err(|_| {
            GraphError::internal(format!("document {document_id} is too large to convert"))
        })?;
        let path = store.blob_path(record.blob);
        let bytes = tokio::task::spawn_blocking(move || {
            if len == 0 {
                return Ok(Bytes::new());
            }
            let file = store.open_blob(record.blob)?;
            store::read_at(&file, 0, len).map_err(|e| UploadStoreError::io(&path, e))
        })
        .await
        .map_err(|e| UploadStoreError::Task(e.to_string()))??;
        Ok((record.blob, bytes.to_vec()))
    }

    /// Stores `bytes` as what devices get for `document_id`, made from the upload blob
    /// `source_blob`; replaces an earlier rendition of the document.
    pub async fn store_rendition(
        &self,
        document_id: &str,
        source_blob: Uuid,
        content_type: &str,
        bytes: Vec<u8>,
    ) -> Result<Rendition, UploadStoreError> {
        let rendition = Rendition {
            blob: Uuid::new_v4(),
            source_blob,
            size: bytes.len() as u64,
            content_type: content_type.to_string(),
        };
        let path = self.store.blob_path(rendition.blob);
        let write_path = path.clone();
        tokio::task::spawn_blocking(move || std::fs::write(&write_path, &bytes))
            .await
            .map_err(|e| UploadStoreError::Task(e.to_string()))?
            .map_err(|e| UploadStoreError::io(&path, e))?;
        let s = &self.store;
        let key = document_id.as_bytes();
        let replaced = (&s.renditions, s.trash_tree())
            .transaction(|(renditions, trash)| {
                let replaced = drop_rendition_in(renditions, trash, key)?;
                renditions.insert(key, store::encode(&rendition))?;
                Ok(replaced)
            })
            .map_err(store::transaction_error)?;
        self.flush().await?;
        if replaced {
            s.empty_trash()?;
        }
        Ok(rendition)
    }

    /// The rendition devices get for `document_id`, if one was made from its current upload.
    pub fn rendition(&self, document_id: &str) -> Result<Option<Rendition>, UploadStoreError> {
        let Some(document) = self.store.document(document_id)? else {
            return Ok(None);
        };
        let Some(bytes) = self.store.renditions.get(document_id.as_bytes())? else {
            return Ok(None);
        };
        let rendition: Rendition = store::decode(&bytes, "rendition")?;
        Ok(Some(rendition).filter(|r| r.source_blob == document.blob))
    }

    /// A rendition's bytes as a stream (IPP Fetch-Document), read ahead like an upload's.
    pub fn read_rendition(
        &self,
        rendition: &Rendition,
    ) -> impl Stream<Item = Result<Bytes, UploadStoreError>> + Send + 'static {
        read_span(
            self.metrics.download_bytes.clone(),
            self.store.clone(),
            rendition.blob,
            Span {
                start: 0,
                end: rendition.size,
            },
        )
    }
}

/// Inside a transaction: forgets the document's rendition, if any, and trashes its blob; gives
/// whether there was one (the caller empties the trash after committing).
pub(super) fn drop_rendition_in(
    renditions: &TransactionalTree,
    trash: &TransactionalTree,
    document_key: &[u8],
) -> Result<bool, ConflictableTransactionError<UploadStoreError>> {
    let Some(old) = renditions.remove(document_key)? else {
        return Ok(false);
    };
    let old: Rendition =
        store::decode(&old, "rendition").map_err(ConflictableTransactionError::Abort)?;
    Store::trash_in(trash, old.blob)?;
    Ok(true)
}
