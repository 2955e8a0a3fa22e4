//! Opening the upload engine on the cloud's database and data folder, and sweeping expired
//! sessions.

use super::download::DownloadKey;
use super::store::{self, SessionRecord, Store};
use super::{UploadLimits, UploadListener, UploadService, UploadStoreError};
use chrono::Utc;
use printlab_datadir::GroupSync;
use std::collections::HashMap;
use std::path::Path;
use std::sync::{Arc, Mutex};

impl UploadService {
    /// Opens the upload trees in the cloud's database and the blob files under
    /// `data_dir/upload-blobs` (`data_dir` is the cloud's data folder), finishes interrupted
    /// deletions and digests, and drops expired sessions.
    pub fn open(
        db: &sled::Db,
        data_dir: &Path,
        public_base_url: &str,
        listener: Arc<dyn UploadListener>,
    ) -> Result<Self, UploadStoreError> {
        Self::with_limits(
            db,
            data_dir,
            public_base_url,
            listener,
            UploadLimits::default(),
        )
    }

    pub fn with_limits(
        db: &sled::Db,
        data_dir: &Path,
        public_base_url: &str,
        listener: Arc<dyn UploadListener>,
        limits: UploadLimits,
    ) -> Result<Self, UploadStoreError> {
        let store = Store::open(db, data_dir)?;
        let service = UploadService {
            download_key: DownloadKey::load_or_create(&store)?,
            store,
            base_url: public_base_url.trim_end_matches('/').to_string(),
            listener,
            limits,
            live: Mutex::new(HashMap::new()),
            db_sync: GroupSync::default(),
            metrics: crate::metrics::CloudMetrics::default(),
        };
        service.sweep_expired()?;
        service.finish_digests()?;
        Ok(service)
    }

    /// The service counting the bytes it stores and sends in `metrics`.
    pub(crate) fn with_metrics(mut self, metrics: crate::metrics::CloudMetrics) -> Self {
        self.metrics = metrics;
        self
    }

    pub fn limits(&self) -> &UploadLimits {
        &self.limits
    }

    /// Deletes expired sessions with their bytes; runs at opening and before each new session.
    /// Sessions are few (a completed one is removed at once), so they are all read.
    pub fn sweep_expired(&self) -> Result<(), UploadStoreError> {
        let now = Utc::now();
        let mut expired = Vec::new();
        for entry in self.store.sessions.iter() {
            let (_, value) = entry?;
            let record: SessionRecord = store::decode(&value, "upload session")?;
            if record.expires <= now {
                expired.push(record);
            }
        }
        for record in expired {
            self.remove_session(&record)?;
        }
        Ok(())
    }
}
