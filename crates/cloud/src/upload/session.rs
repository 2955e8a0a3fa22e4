//! Upload sessions: creation, lookup and authorisation, live state, progress (GET) and
//! discarding (DELETE).

use super::range::{self, Span};
use super::store::{self, SessionRecord, Store, UploadDesign};
use super::token::{random_token, tokens_match};
use super::{
    LiveSession, RangeOutcome, SessionProgress, UploadCreator, UploadService, UploadStoreError,
    UploadTarget,
};
use crate::odata::GraphError;
use chrono::Utc;
use printlab_graph::{PrintDocumentUploadProperties, UploadSession};
use sled::Transactional;
use std::collections::hash_map::Entry;
use std::sync::Arc;
use uuid::Uuid;

fn parse_id(id: &str, what: &str) -> Result<Uuid, GraphError> {
    Uuid::parse_str(id).map_err(|_| GraphError::not_found(format!("No {what} {id:?}.")))
}

fn busy(record: &SessionRecord) -> GraphError {
    GraphError::conflict(format!(
        "Upload session {} has ranges being written or is completing; retry when they finish.",
        record.id
    ))
}

pub(super) fn session_not_found(id: &str) -> GraphError {
    GraphError::not_found(format!(
        "Upload session {id} does not exist or has expired."
    ))
}

impl UploadService {
    /// createUploadSession (v1.0): validating `contentType` against the printer is the caller's
    /// job. A new session replaces any earlier one for the same document.
    pub async fn create_session(
        &self,
        target: UploadTarget,
        props: &PrintDocumentUploadProperties,
        creator: &UploadCreator,
    ) -> Result<UploadSession, GraphError> {
        let record = self.new_session(target, props, creator, UploadDesign::UploadUrl)?;
        self.flush().await?;
        Ok(UploadSession {
            upload_url: Some(self.upload_url(&record)),
            expiration_date_time: Some(record.expires),
            next_expected_ranges: Some(range::next_expected_ranges(&[Span {
                start: 0,
                end: record.size,
            }])),
        })
    }

    fn upload_url(&self, record: &SessionRecord) -> String {
        format!(
            "{}/uploadSessions/{}?tempauthtoken={}",
            self.base_url, record.id, record.token
        )
    }

    /// Writes a new session, not yet durable: each design's caller flushes before answering.
    pub(super) fn new_session(
        &self,
        target: UploadTarget,
        props: &PrintDocumentUploadProperties,
        creator: &UploadCreator,
        design: UploadDesign,
    ) -> Result<SessionRecord, GraphError> {
        if props.size <= 0 {
            return Err(GraphError::bad_request(format!(
                "properties.size is {}; a document has at least one byte.",
                props.size
            )));
        }
        if props.size as u64 > self.limits.max_document_size {
            return Err(GraphError::bad_request(format!(
                "properties.size is {} bytes; documents may be at most {} bytes.",
                props.size, self.limits.max_document_size
            )));
        }
        if props.document_name.trim().is_empty() {
            return Err(GraphError::bad_request("properties.documentName is empty."));
        }
        if props.content_type.trim().is_empty() {
            return Err(GraphError::bad_request("properties.contentType is empty."));
        }
        self.sweep_expired()?;
        let now = Utc::now();
        let record = SessionRecord {
            id: Uuid::new_v4(),
            design,
            target,
            size: props.size as u64,
            content_type: props.content_type.clone(),
            document_name: props.document_name.clone(),
            creator: creator.clone(),
            token: random_token(),
            created: now,
            expires: now + self.limits.session_lifetime,
        };
        if let Some(previous) = self.session_for_document(&record.target.document_id)?
            && !self.remove_session(&previous)?
        {
            return Err(busy(&previous));
        }
        let s = &self.store;
        (&s.sessions, &s.session_by_document)
            .transaction(|(sessions, by_document)| {
                sessions.insert(record.id.as_bytes(), store::encode(&record))?;
                by_document.insert(record.target.document_id.as_bytes(), record.id.as_bytes())?;
                Ok(())
            })
            .map_err(store::transaction_error)?;
        tracing::info!(session = %record.id, document = %record.target.document_id,
            size = record.size, "upload session created");
        Ok(record)
    }

    pub(super) fn session_for_document(
        &self,
        document_id: &str,
    ) -> Result<Option<SessionRecord>, UploadStoreError> {
        let Some(id) = self.store.session_by_document.get(document_id.as_bytes())? else {
            return Ok(None);
        };
        let id = Uuid::from_slice(&id)
            .map_err(|_| UploadStoreError::Corrupt(format!("session index for {document_id}")))?;
        self.store.session(id)
    }

    /// A live (unexpired) session; an expired one is deleted on the spot.
    pub(super) fn live_session(&self, session_id: &str) -> Result<SessionRecord, GraphError> {
        let id = parse_id(session_id, "upload session")?;
        let record = self
            .store
            .session(id)?
            .ok_or_else(|| session_not_found(session_id))?;
        if record.expires <= Utc::now() {
            self.remove_session(&record)?;
            return Err(session_not_found(session_id));
        }
        Ok(record)
    }

    /// Checks the upload URL's `tempauthtoken` against the session it names.
    pub fn authorize_session(
        &self,
        session_id: &str,
        token: Option<&str>,
    ) -> Result<(), GraphError> {
        let record = self.live_session(session_id)?;
        match token {
            Some(t) if tokens_match(&record.token, t) => Ok(()),
            Some(_) => Err(GraphError::unauthenticated(
                "The tempauthtoken does not belong to this upload session.",
            )),
            None => Err(GraphError::unauthenticated(
                "The upload URL needs its tempauthtoken query parameter.",
            )),
        }
    }

    /// Runs `f` on the session's live state, loading it from the chunk index first if this
    /// process has not seen the session yet (e.g. after a restart).
    pub(super) fn with_live<T>(
        &self,
        record: &SessionRecord,
        f: impl FnOnce(&mut LiveSession) -> T,
    ) -> Result<T, UploadStoreError> {
        let mut live = self.live.lock().expect("upload lock poisoned");
        let state = match live.entry(record.id) {
            Entry::Occupied(entry) => entry.into_mut(),
            Entry::Vacant(_) if !self.store.sessions.contains_key(record.id.as_bytes())? => {
                return Err(UploadStoreError::Gone);
            }
            Entry::Vacant(entry) => {
                let stored = self.store.stored_spans(record.id)?;
                // The hash a restart found goes on from where it stood, if that is stored.
                let prefix = self
                    .store
                    .prefix_hash(record.id)?
                    .filter(|p| p.hashed <= stored.contiguous_end(0))
                    .unwrap_or_default();
                entry.insert(LiveSession {
                    stored,
                    prefix: Arc::new(tokio::sync::Mutex::new(prefix)),
                    ..LiveSession::default()
                })
            }
        };
        Ok(f(state))
    }

    /// GET on the upload URL.
    pub fn progress(&self, session_id: &str) -> Result<SessionProgress, GraphError> {
        let record = self.live_session(session_id)?;
        let missing = self.with_live(&record, |s| s.stored.missing(record.size))?;
        Ok(SessionProgress {
            session_id: record.id.to_string(),
            size: record.size,
            expires: record.expires,
            missing,
        })
    }

    /// GET on the upload URL. Like [`Self::progress`], but a session whose bytes are all stored
    /// (its completion failed, e.g. the listener errored or the cloud died midway) is completed
    /// now, so a client that only polls still ends with the document.
    pub async fn progress_or_complete(&self, session_id: &str) -> Result<RangeOutcome, GraphError> {
        let record = self.live_session(session_id)?;
        let (missing, complete_now) = self.with_live(&record, |state| {
            let missing = state.stored.missing(record.size);
            let complete_now =
                missing.is_empty() && state.in_flight.is_empty() && !state.completing;
            if complete_now {
                state.completing = true;
            }
            (missing, complete_now)
        })?;
        if complete_now {
            return self.finish(&record).await;
        }
        Ok(RangeOutcome::Accepted(SessionProgress {
            session_id: record.id.to_string(),
            size: record.size,
            expires: record.expires,
            missing,
        }))
    }

    /// DELETE on the upload URL: the session and every byte it received are gone.
    pub fn discard(&self, session_id: &str) -> Result<(), GraphError> {
        let record = self.live_session(session_id)?;
        if !self.remove_session(&record)? {
            return Err(busy(&record));
        }
        tracing::info!(session = %record.id, "upload session discarded");
        Ok(())
    }

    /// Deletes a session and its bytes, unless ranges are being written to it or it is being
    /// completed (then it returns false and changes nothing). The check and the removal of the
    /// record happen under the live lock, so no writer can be admitted in between.
    pub(super) fn remove_session(&self, record: &SessionRecord) -> Result<bool, UploadStoreError> {
        let s = &self.store;
        let document_key = record.target.document_id.as_bytes();
        {
            let mut live = self.live.lock().expect("upload lock poisoned");
            if let Some(state) = live.get(&record.id)
                && (state.completing || !state.in_flight.is_empty())
            {
                return Ok(false);
            }
            (&s.sessions, &s.session_by_document, s.trash_tree())
                .transaction(|(sessions, by_document, trash)| {
                    sessions.remove(record.id.as_bytes())?;
                    if by_document.get(document_key)?.as_deref() == Some(record.id.as_bytes()) {
                        by_document.remove(document_key)?;
                    }
                    Store::trash_in(trash, record.id)?;
                    Ok(())
                })
                .map_err(store::transaction_error)?;
            live.remove(&record.id);
        }
        // The removal is durable before any file goes: a cloud killed in between finds the
        // trash entry and deletes the rest when it opens, never a session without its blob.
        s.db.flush()?;
        s.empty_trash()?;
        Ok(true)
    }
}
