//! One follower's batch of changes over a short window: each printer and job once, in the
//! order they first changed, and each upload's latest progress only. This is what bounds a
//! follower's events under load: a job created, uploaded, started and fetched within one window
//! is read and sent once, and an upload sending many ranges a second is reported once a window.

use super::{CloudChange, UploadProgress};

/// The changes of one window.
#[derive(Debug, Default)]
pub(crate) struct Batch {
    /// Printers and jobs, each once, in the order they first changed.
    records: Vec<CloudChange>,
    /// Each upload's furthest progress, in the order the uploads first moved.
    uploads: Vec<UploadProgress>,
    /// The follower fell behind the feed: it must be sent everything again.
    pub(crate) lagged: bool,
}

impl Batch {
    pub(crate) fn add(&mut self, change: CloudChange) {
        match change {
            CloudChange::Upload(progress) => {
                let same = |u: &&mut UploadProgress| {
                    u.printer_id == progress.printer_id && u.document_id == progress.document_id
                };
                match self.uploads.iter_mut().find(same) {
                    // Ranges land in any order; what is stored only grows.
                    Some(known) => {
                        known.bytes_received = known.bytes_received.max(progress.bytes_received)
                    }
                    None => self.uploads.push(progress),
                }
            }
            record => {
                if !self.records.contains(&record) {
                    self.records.push(record);
                }
            }
        }
    }

    /// The printers and jobs, then the uploads.
    pub(crate) fn into_parts(self) -> (Vec<CloudChange>, Vec<UploadProgress>) {
        (self.records, self.uploads)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn upload(document: &str, received: u64) -> CloudChange {
        CloudChange::Upload(UploadProgress {
            printer_id: "p".into(),
            job_id: "7".into(),
            document_id: document.into(),
            document_name: "d.pdf".into(),
            bytes_received: received,
            size: 100,
        })
    }

    #[test]
    fn each_record_once_in_first_change_order_and_each_upload_at_its_furthest() {
        let mut batch = Batch::default();
        let job = |id| CloudChange::Job {
            printer_id: "p".into(),
            job_id: id,
        };
        let printer = CloudChange::Printer {
            printer_id: "p".into(),
        };
        for change in [
            job(2),
            upload("a", 40),
            printer.clone(),
            job(1),
            job(2),
            upload("b", 10),
            upload("a", 90),
            upload("a", 60),
            printer.clone(),
        ] {
            batch.add(change);
        }
        let (records, uploads) = batch.into_parts();
        assert_eq!(records, [job(2), printer, job(1)]);
        let furthest: Vec<(&str, u64)> = (uploads.iter())
            .map(|u| (u.document_id.as_str(), u.bytes_received))
            .collect();
        assert_eq!(furthest, [("a", 90), ("b", 10)]);
    }
}
