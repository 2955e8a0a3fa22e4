//! Completed documents: looking up a document's record and deleting its bytes (and any
//! rendition made from them).

use super::rendition::drop_rendition_in;
use super::store::{self, DocumentRecord, Store};
use super::{UploadService, UploadStoreError};
use crate::odata::GraphError;
use sled::Transactional;

impl UploadService {
    pub(super) fn stored_document(&self, document_id: &str) -> Result<DocumentRecord, GraphError> {
        self.store.document(document_id)?.ok_or_else(|| {
            GraphError::not_found(format!("Document {document_id} has no uploaded content."))
        })
    }

    /// Deletes a completed document's bytes (the printDocument record is the Graph side's).
    pub fn delete_document(&self, document_id: &str) -> Result<(), GraphError> {
        let record = self.stored_document(document_id)?;
        let s = &self.store;
        (&s.documents, &s.renditions, s.trash_tree())
            .transaction(|(documents, renditions, trash)| {
                documents.remove(document_id.as_bytes())?;
                Store::trash_in(trash, record.blob)?;
                drop_rendition_in(renditions, trash, document_id.as_bytes())?;
                Ok(())
            })
            .map_err(store::transaction_error)?;
        // Durable before the file goes, as in `remove_session`.
        s.db.flush().map_err(UploadStoreError::from)?;
        s.empty_trash()?;
        Ok(())
    }
}
