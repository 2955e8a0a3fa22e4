//! Reading documents back: signed, short-lived download URLs, and the byte
//! stream behind downloads and IPP Fetch-Document.

use super::range::Span;
use super::store::{self, DocumentRecord, Store};
use super::{UploadService, UploadStoreError};
use crate::odata::GraphError;
use bytes::Bytes;
use chrono::Utc;
use futures::{Stream, StreamExt};
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};
use std::fs::File;
use std::sync::Arc;
use uuid::Uuid;

/// Bytes read per step when serving a blob.
const SERVE_READ: usize = 256 << 10;
/// Reads of [`SERVE_READ`] bytes a download keeps in flight.
const READ_AHEAD: usize = 4;

/// Where the signing secret is kept in `upload.meta`.
const DOWNLOAD_KEY: &[u8] = b"download-key";

/// The secret download URLs are signed with: made at the first opening and kept in the store, so
/// a URL outlives a restart of the cloud.
pub(super) struct DownloadKey {
    encoding: EncodingKey,
    decoding: DecodingKey,
}

impl DownloadKey {
    pub(super) fn load_or_create(store: &Store) -> Result<Self, UploadStoreError> {
        let secret = match store.meta.get(DOWNLOAD_KEY)? {
            Some(secret) => secret.to_vec(),
            None => {
                let secret: [u8; 32] = rand::random();
                store.meta.insert(DOWNLOAD_KEY, &secret)?;
                store.db.flush()?;
                secret.to_vec()
            }
        };
        Ok(Self {
            encoding: EncodingKey::from_secret(&secret),
            decoding: DecodingKey::from_secret(&secret),
        })
    }
}

/// What a download URL's `tempauthtoken` says: the document and until when, to the millisecond
/// (JWT's `exp` counts whole seconds).
#[derive(Serialize, Deserialize)]
struct DownloadClaims {
    sub: String,
    expires_ms: i64,
}

impl UploadService {
    /// A pre-authenticated, short-lived download URL for `$value` (the Graph route answers 302
    /// with it as Location). The URL carries its own proof, an HS256 token naming the document
    /// and the expiry: nothing is stored, so handing one out writes and flushes nothing, and it
    /// outlives a restart. (Each URL used to be a stored grant: a write and a sled flush on
    /// every job's path, and a sweep of the expired ones.)
    pub fn download_url(&self, document_id: &str) -> Result<String, GraphError> {
        self.stored_document(document_id)?;
        let claims = DownloadClaims {
            sub: document_id.to_string(),
            expires_ms: (Utc::now() + self.limits.download_lifetime).timestamp_millis(),
        };
        let token = jsonwebtoken::encode(
            &Header::new(Algorithm::HS256),
            &claims,
            &self.download_key.encoding,
        )
        .map_err(|e| GraphError::internal(format!("signing a download URL: {e}")))?;
        Ok(format!(
            "{}/downloads/{document_id}?tempauthtoken={token}",
            self.base_url
        ))
    }

    /// The document a download URL may read: its token must be signed by this cloud for this
    /// document and not have expired.
    pub(crate) fn authorize_download(
        &self,
        document_id: &str,
        token: Option<&str>,
    ) -> Result<DocumentRecord, GraphError> {
        let refused = || {
            GraphError::unauthenticated(
                "The tempauthtoken is missing or does not belong to this download.",
            )
        };
        let mut validation = Validation::new(Algorithm::HS256);
        validation.required_spec_claims.clear();
        // `expires_ms` is checked below, to the millisecond.
        validation.validate_exp = false;
        validation.sub = Some(document_id.to_string());
        let claims = jsonwebtoken::decode::<DownloadClaims>(
            token.ok_or_else(refused)?,
            &self.download_key.decoding,
            &validation,
        )
        .map_err(|_| refused())?
        .claims;
        if claims.expires_ms <= Utc::now().timestamp_millis() {
            return Err(GraphError::not_found(format!(
                "The download of {document_id} has expired."
            )));
        }
        self.stored_document(document_id)
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
