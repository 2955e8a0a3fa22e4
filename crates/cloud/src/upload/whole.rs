//! A document that arrives whole rather than through an upload URL: the bytes of an IPP
//! Print-Job or Send-Document (the cloud's printers take jobs over IPP too). It goes through the
//! same engine as an upload (one session, ranges under the fragment limit, the completion and
//! its listener), so the job's printDocument, digest, download URL and Fetch-Document are the
//! same as for a job made through Graph.

use super::range::ContentRange;
use super::store::UploadDesign;
use super::{RangeOutcome, UploadCreator, UploadService, UploadTarget};
use crate::odata::GraphError;
use bytes::Bytes;
use printlab_graph::PrintDocumentUploadProperties;

impl UploadService {
    /// Stores `bytes` as the document of `target` and completes it; gives the listener's
    /// printDocument JSON. `bytes` must not be empty (a document has at least one byte).
    pub async fn store_whole(
        &self,
        target: UploadTarget,
        document_name: &str,
        content_type: &str,
        creator: &UploadCreator,
        bytes: Bytes,
    ) -> Result<serde_json::Value, GraphError> {
        let total = bytes.len() as u64;
        let props = PrintDocumentUploadProperties {
            document_name: document_name.to_owned(),
            content_type: content_type.to_owned(),
            size: i64::try_from(total).unwrap_or(i64::MAX),
        };
        let record = self.new_session(target, &props, creator, UploadDesign::UploadUrl)?;
        let session = record.id.to_string();
        let step = self.limits.max_fragment.saturating_sub(1).max(1);
        let mut first = 0u64;
        loop {
            let last = (first + step).min(total) - 1;
            let chunk = bytes.slice(first as usize..=last as usize);
            let body =
                futures::stream::once(async move { Ok::<_, std::convert::Infallible>(chunk) });
            let range = ContentRange { first, last, total };
            match self.write_range(&session, range, body).await? {
                RangeOutcome::Completed(document) => return Ok(document),
                RangeOutcome::Accepted(_) if last + 1 < total => first = last + 1,
                RangeOutcome::Accepted(progress) => {
                    return Err(GraphError::internal(format!(
                        "every byte was written but the upload is not complete: {:?}",
                        progress.missing
                    )));
                }
            }
        }
    }
}
