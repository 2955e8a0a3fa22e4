//! Running a plan: every case printed through Graph like any client, printers in parallel and
//! the cases of one printer one after another (a printer prints one job at a time, so sending it
//! more would only measure its queue), each followed to its end and verified.

mod case_run;
mod documents;
mod faults;
mod result;

pub use result::{CaseResult, Timings, Verdict};

use crate::Case;
use documents::Documents;
use futures::StreamExt;
use printlab_client::GraphClient;
use printlab_client::resume::ResumeStore;
use std::path::PathBuf;
use std::time::Duration;

/// How a plan is run.
#[derive(Debug, Clone)]
pub struct RunOptions {
    /// Longest a case may take from creating its job to its end; past it the job is cancelled
    /// and the case fails.
    pub timeout: Duration,
    /// The lab's control API, through which a stopped printer's fault is cleared as an operator
    /// would; without it a fault is waited out.
    pub control: Option<ControlApi>,
    /// Where the test documents and upload resume records are written (the report folder).
    pub work_dir: PathBuf,
    /// How many printers print at once.
    pub parallel_printers: usize,
}

/// The devices' control API: its base URL (`http://127.0.0.1:port`) and bearer token.
#[derive(Debug, Clone)]
pub struct ControlApi {
    pub url: String,
    pub token: String,
}

/// What a run tells its caller as it goes, so a terminal can draw progress and an interrupted
/// run can cancel the jobs it leaves behind.
pub trait RunObserver: Sync {
    /// The case's job was created and started; it prints until [`RunObserver::ended`].
    fn submitted(&self, case: &Case, job_id: &str);
    /// The case's job ended (or was cancelled past its time): nothing of it prints any more,
    /// though its output may still be being verified, while the printer's next case prints.
    fn ended(&self, case: &Case);
    fn finished(&self, result: &CaseResult);
}

/// Runs every case and returns one result per case, in plan order.
pub async fn run_cases(
    client: &GraphClient,
    cases: Vec<Case>,
    options: &RunOptions,
    observer: &dyn RunObserver,
) -> Vec<CaseResult> {
    let documents = Documents::new(&options.work_dir.join("documents"));
    let store = ResumeStore::new(options.work_dir.join("uploads"));
    let mut by_share: Vec<(String, Vec<(usize, Case)>)> = Vec::new();
    for (index, case) in cases.into_iter().enumerate() {
        match by_share
            .iter_mut()
            .find(|(share, _)| *share == case.share_id)
        {
            Some((_, queue)) => queue.push((index, case)),
            None => by_share.push((case.share_id.clone(), vec![(index, case)])),
        }
    }
    let printers = futures::stream::iter(by_share.into_iter().map(|(share_id, queue)| {
        let ctx = case_run::Context {
            client,
            store: &store,
            documents: &documents,
            options,
            observer,
        };
        async move { ctx.run_printer(&share_id, queue).await }
    }))
    .buffer_unordered(options.parallel_printers.max(1));
    let mut results: Vec<(usize, CaseResult)> = printers
        .collect::<Vec<_>>()
        .await
        .into_iter()
        .flatten()
        .collect();
    results.sort_by_key(|(index, _)| *index);
    results.into_iter().map(|(_, result)| result).collect()
}
