//! Completing an upload: the digest catches up with the last bytes, the listener records the
//! printDocument, and the session becomes a document record with its digest.

use super::rendition::drop_rendition_in;
use super::store::{self, DocumentRecord, SessionRecord, Store};
use super::{CompletedUpload, RangeOutcome, UploadService, UploadStoreError};
use crate::odata::GraphError;
use chrono::Utc;
use sled::Transactional;

impl UploadService {
    /// Finishes the digest, tells the listener and turns the session into a document.
    pub(super) async fn finish(&self, record: &SessionRecord) -> Result<RangeOutcome, GraphError> {
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
        let sha256 = self.final_digest(record).await?;
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
            sha256: Some(sha256),
            content_type: done.content_type.clone(),
            document_name: done.document_name.clone(),
            uploaded: done.uploaded,
        };
        let s = &self.store;
        let document_key = record.target.document_id.as_bytes();
        let replaced = s.document(&record.target.document_id)?;
        // A rendition of the old bytes goes with them.
        let dropped_rendition = (
            &s.sessions,
            &s.session_by_document,
            &s.documents,
            &s.renditions,
            s.trash_tree(),
        )
            .transaction(|(sessions, by_document, documents, renditions, trash)| {
                sessions.remove(record.id.as_bytes())?;
                by_document.remove(document_key)?;
                documents.insert(document_key, store::encode(&document))?;
                if let Some(old) = &replaced {
                    Store::trash_in(trash, old.blob)?;
                }
                drop_rendition_in(renditions, trash, document_key)
            })
            .map_err(store::transaction_error)?;
        s.prefix_digests
            .remove(record.id.as_bytes())
            .map_err(UploadStoreError::from)?;
        self.flush().await?;
        self.live
            .lock()
            .expect("upload lock poisoned")
            .remove(&record.id);
        if replaced.is_some() || dropped_rendition {
            s.empty_trash()?;
        }
        tracing::info!(session = %record.id, document = %record.target.document_id,
            size = done.size, "upload complete");
        Ok(RangeOutcome::Completed(document_json))
    }
}
