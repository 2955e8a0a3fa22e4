//! The upload engine alone on loopback, without Graph: what the upload tests and the upload
//! bench exercise, with a real sled store and real blob files.

use printlab_cloud::odata::GraphError;
use printlab_cloud::upload::{
    CompletedUpload, UploadCreator, UploadLimits, UploadListener, UploadService, UploadTarget,
};
use printlab_graph::{PrintDocumentUploadProperties, UploadSession};
use serde_json::{Value, json};
use std::path::Path;
use std::sync::Arc;

/// Answers a completion with the printDocument JSON, as the Graph side does.
pub struct DocumentListener;

impl UploadListener for DocumentListener {
    fn upload_completed(&self, done: &CompletedUpload) -> Result<Value, GraphError> {
        Ok(json!({
            "id": done.target.document_id,
            "documentName": done.document_name,
            "contentType": done.content_type,
            "size": done.size,
        }))
    }
}

/// An [`UploadService`] serving its upload URLs on an ephemeral loopback port.
pub struct UploadServer {
    pub service: Arc<UploadService>,
    /// `http://127.0.0.1:port`.
    pub base: String,
    pub server: tokio::task::JoinHandle<()>,
}

impl UploadServer {
    /// The engine on `db`, its blob files under `data`.
    pub async fn start(
        db: &sled::Db,
        data: &Path,
        listener: Arc<dyn UploadListener>,
        limits: UploadLimits,
    ) -> Self {
        let socket = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", socket.local_addr().unwrap());
        let service =
            Arc::new(UploadService::with_limits(db, data, &base, listener, limits).unwrap());
        let router = service.router();
        let server = tokio::spawn(async move { axum::serve(socket, router).await.unwrap() });
        Self {
            service,
            base,
            server,
        }
    }

    /// An upload session for the PDF document `document_id` named `name`, `size` bytes, of
    /// job `job_id` of printer `printer_id`, created without Graph by no one in particular: the
    /// upload bench and the Graph SDK test need an upload URL and nothing else.
    pub async fn pdf_session(
        &self,
        printer_id: &str,
        job_id: &str,
        document_id: &str,
        name: &str,
        size: usize,
    ) -> UploadSession {
        let target = UploadTarget {
            printer_id: printer_id.into(),
            job_id: job_id.into(),
            document_id: document_id.into(),
        };
        let props = PrintDocumentUploadProperties {
            document_name: name.into(),
            content_type: "application/pdf".into(),
            size: size as i64,
        };
        self.service
            .create_session(target, &props, &UploadCreator::default())
            .await
            .unwrap()
    }
}
