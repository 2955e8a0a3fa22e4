//! The 2020 beta upload design: one `uploadSession` resource per printDocument, addressed by the
//! document, written with `POST .../uploadSession/$value` + `If-Match: <session id>`. It shares
//! the v1.0 engine (same sessions, chunks and completion); only addressing and authorisation
//! differ. The Graph side maps the `/beta` routes onto these calls.

use super::range;
use super::session::session_not_found;
use super::store::{SessionRecord, UploadDesign};
use super::{ContentRange, RangeOutcome, UploadCreator, UploadService, UploadTarget};
use crate::odata::{ErrorCode, GraphError};
use axum::http::StatusCode;
use bytes::Bytes;
use chrono::{DateTime, Utc};
use futures::Stream;
use printlab_graph::{IntegerRange, PrintDocumentUploadProperties};
use serde::Serialize;

/// `printUploadSession` as the 2020 beta docs describe it. The missing byte ranges are sent
/// twice: as `nextExpectedRanges` (the property name in the beta docs' type description) and as
/// `missingRanges` (the name issue 2's seed example uses), so clients written against either
/// find them.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct BetaUploadSession {
    pub id: String,
    pub content_type: String,
    pub created_by: serde_json::Value,
    pub document_name: String,
    pub expiry_date_time: DateTime<Utc>,
    pub size: i64,
    pub next_expected_ranges: Vec<IntegerRange>,
    pub missing_ranges: Vec<IntegerRange>,
}

impl BetaUploadSession {
    /// The `ETag` header value: the session id, which clients echo in `If-Match`.
    pub fn etag(&self) -> String {
        format!("\"{}\"", self.id)
    }
}

/// `identitySet` with the creator's application and user ids.
fn identity_set(creator: &UploadCreator) -> serde_json::Value {
    let identity = |id: &Option<String>| match id {
        Some(id) => serde_json::json!({ "id": id }),
        None => serde_json::Value::Null,
    };
    serde_json::json!({
        "application": identity(&creator.application_id),
        "user": identity(&creator.user_id),
    })
}

impl UploadService {
    /// `PUT .../documents/{id}/uploadSession`: creates the document's session, replacing any
    /// earlier one.
    pub async fn create_beta_session(
        &self,
        target: UploadTarget,
        props: &PrintDocumentUploadProperties,
        creator: &UploadCreator,
    ) -> Result<BetaUploadSession, GraphError> {
        let record = self.new_session(target, props, creator, UploadDesign::Beta2020)?;
        self.flush().await?;
        self.beta_view(&record)
    }

    /// `GET .../documents/{id}/uploadSession`.
    pub fn beta_session(&self, document_id: &str) -> Result<BetaUploadSession, GraphError> {
        let record = self.beta_record(document_id)?;
        self.beta_view(&record)
    }

    fn beta_record(&self, document_id: &str) -> Result<SessionRecord, GraphError> {
        let record = self.session_for_document(document_id)?.ok_or_else(|| {
            GraphError::not_found(format!("Document {document_id} has no upload session."))
        })?;
        // Expiry is checked (and an expired session deleted) by the common lookup.
        self.live_session(&record.id.to_string())
            .map_err(|_| session_not_found(&record.id.to_string()))
    }

    fn beta_view(&self, record: &SessionRecord) -> Result<BetaUploadSession, GraphError> {
        let progress = self.progress(&record.id.to_string())?;
        let ranges = range::integer_ranges(&progress.missing);
        Ok(BetaUploadSession {
            id: record.id.to_string(),
            content_type: record.content_type.clone(),
            created_by: identity_set(&record.creator),
            document_name: record.document_name.clone(),
            expiry_date_time: progress.expires,
            size: record.size as i64,
            next_expected_ranges: ranges.clone(),
            missing_ranges: ranges,
        })
    }

    /// `POST .../documents/{id}/uploadSession/$value`: `If-Match` must name the session (quoted
    /// or bare), otherwise 412.
    pub async fn write_beta_range<S, E>(
        &self,
        document_id: &str,
        if_match: Option<&str>,
        range: ContentRange,
        body: S,
    ) -> Result<RangeOutcome, GraphError>
    where
        S: Stream<Item = Result<Bytes, E>> + Send,
        E: std::fmt::Display,
    {
        let record = self.beta_record(document_id)?;
        let id = record.id.to_string();
        let given = if_match.map(|v| v.trim().trim_matches('"'));
        if given != Some(id.as_str()) {
            return Err(GraphError::new(
                StatusCode::PRECONDITION_FAILED,
                ErrorCode::PreconditionFailed,
                format!(
                    "If-Match {:?} does not name the document's upload session {id}.",
                    if_match.unwrap_or("")
                ),
            ));
        }
        self.write_range(&id, range, body).await
    }

    /// `DELETE .../documents/{id}/uploadSession`: only its creator may.
    pub fn discard_beta(
        &self,
        document_id: &str,
        caller: &UploadCreator,
    ) -> Result<(), GraphError> {
        let record = self.beta_record(document_id)?;
        if record.creator != *caller {
            return Err(GraphError::forbidden(
                "Only the creator of an upload session may delete it.",
            ));
        }
        self.discard(&record.id.to_string())
    }
}
