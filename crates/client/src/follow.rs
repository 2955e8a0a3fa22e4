//! Watching a job to its end, and finding what it printed: Graph offers change notifications
//! only to webhooks, which a command line cannot receive, so the job is polled.

use crate::{ClientError, GraphClient, JobParent};
use printlab_graph::{PrintJob, PrintJobProcessingState, PrintJobStateDetail};
use std::path::PathBuf;
use std::time::Duration;

/// The pause after the first poll: an emulated printer at full speed prints a job in tens of
/// milliseconds, which a fixed 200 ms poll made 200 ms (every case of a capability matrix).
const FIRST_PAUSE: Duration = Duration::from_millis(10);
/// The pause the pauses double up to: often enough that a person sees each step, rare enough
/// to cost the cloud nothing.
const POLL: Duration = Duration::from_millis(200);

/// Polls a job until it ends and returns it; `on_change` sees the job each time its state or
/// details change, the first poll included. The pauses between polls double from
/// [`FIRST_PAUSE`] to [`POLL`]: a quick job is seen ending soon after it does, a slow one costs
/// five polls more.
pub async fn follow(
    client: &GraphClient,
    parent: &JobParent,
    job_id: &str,
    mut on_change: impl FnMut(&PrintJob),
) -> Result<PrintJob, ClientError> {
    let mut last: Option<(PrintJobProcessingState, Vec<PrintJobStateDetail>)> = None;
    let mut pause = FIRST_PAUSE;
    loop {
        let job = client.job(parent, job_id).await?;
        let now = (job.status.state, job.status.details.clone());
        if last.as_ref() != Some(&now) {
            on_change(&job);
            last = Some(now);
        }
        if job.status.state.is_terminal() {
            return Ok(job);
        }
        tokio::time::sleep(pause).await;
        pause = (pause * 2).min(POLL);
    }
}

/// The folder holding a finished job's PNG sides, when the printer's final status names it
/// with a `file://` URL (printlab's emulated printers do) and it is on this machine.
pub fn output_dir(job: &PrintJob) -> Option<PathBuf> {
    let url = job
        .status
        .description
        .split_whitespace()
        .find(|word| word.starts_with("file://"))?;
    let path = url::Url::parse(url).ok()?.to_file_path().ok()?;
    path.is_dir().then_some(path)
}
