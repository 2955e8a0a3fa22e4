//! The upload engine alone on loopback, without Graph: what the upload tests and the upload
//! bench exercise, with a real sled store and real blob files.

use printlab_cloud::odata::GraphError;
use printlab_cloud::upload::{CompletedUpload, UploadLimits, UploadListener, UploadService};
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
}
