//! Reading documents back: pre-authenticated download URLs and their grants, and the byte
//! stream behind downloads and IPP Fetch-Document.

use super::range::Span;
use super::session::parse_id;
use super::store::{self, DocumentRecord, GrantRecord, Store};
use super::token::{random_token, tokens_match};
use super::{UploadService, UploadStoreError};
use crate::odata::GraphError;
use bytes::Bytes;
use chrono::Utc;
use futures::{Stream, StreamExt};
use std::fs::File;
use std::sync::Arc;
use uuid::Uuid;

/// Bytes read per step when serving a blob.
const SERVE_READ: usize = 256 << 10;
/// Reads of [`SERVE_READ`] bytes a download keeps in flight.
const READ_AHEAD: usize = 4;

impl UploadService {
    /// A pre-authenticated, short-lived download URL for `$value` (the Graph route answers 302
    /// with it as Location).
    pub fn download_url(&self, document_id: &str) -> Result<String, GraphError> {
        self.stored_document(document_id)?;
        self.sweep_expired()?;
        // Time-ordered, so the expired grants are the first keys ([`UploadService::sweep_expired`]).
        let grant_id = Uuid::now_v7();
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
    pub(crate) fn authorize_download(
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
            self.metrics.download_bytes.clone(),
            self.store.clone(),
            record.blob,
            Span {
                start: 0,
                end: record.size,
            },
        ))
    }
}

/// A stream over `span` of a blob file, one read of at most [`SERVE_READ`] bytes per item,
/// [`READ_AHEAD`] reads in flight so the disk read of the next piece overlaps sending this one
/// (one read at a time left Fetch-Document at a fifth of a plain loopback GET).
/// The bytes of `span` of a blob, read ahead a little; each chunk read counts in `sent`.
pub(super) fn read_span(
    sent: prometheus::IntCounter,
    store: Store,
    blob: Uuid,
    span: Span,
) -> impl Stream<Item = Result<Bytes, UploadStoreError>> + Send + 'static {
    let path = store.blob_path(blob);
    let file = Arc::new(tokio::sync::OnceCell::<Arc<File>>::new());
    futures::stream::iter((span.start..span.end).step_by(SERVE_READ))
        .map(move |offset| {
            let (store, path, file) = (store.clone(), path.clone(), file.clone());
            let sent = sent.clone();
            async move {
                let file = file
                    .get_or_try_init(|| async { store.open_blob(blob).map(Arc::new) })
                    .await?
                    .clone();
                let len = SERVE_READ.min((span.end - offset) as usize);
                let chunk = tokio::task::spawn_blocking(move || store::read_at(&file, offset, len))
                    .await
                    .map_err(|e| UploadStoreError::Task(e.to_string()))?
                    .map_err(|e| UploadStoreError::io(&path, e))?;
                sent.inc_by(chunk.len() as u64);
                Ok(chunk)
            }
        })
        .buffered(READ_AHEAD)
}
