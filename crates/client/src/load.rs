//! A load generator for the other side of a lab (`printlab load`): jobs submitted through Graph
//! at a fixed rate, round-robin across printers, each the way an SDK client submits one (create
//! the job, create an upload session, PUT the document, start), and followed to its end.
//!
//! The schedule is open-loop: job `i` is due `i / rate` seconds after the start whatever the
//! earlier ones are doing, and every latency is counted from when the job was due, not from
//! when a free slot let it go. A system that falls behind therefore shows it in the
//! percentiles, instead of quietly slowing the generator down (coordinated omission).

use crate::upload::{UploadOptions, upload_bytes};
use crate::{GraphClient, JobParent};
use printlab_graph::{
    PrintDocumentUploadProperties, PrintJobConfiguration, PrintJobProcessingState,
};
use serde::Serialize;
use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::Semaphore;
use tokio::time::Instant;

/// How often a started job is asked for its state: the resolution of the end-to-end figures.
pub const FOLLOW_POLL: Duration = Duration::from_millis(250);

/// The document every job sends.
#[derive(Debug, Clone)]
pub struct LoadDocument {
    pub name: String,
    pub content_type: String,
    pub bytes: bytes::Bytes,
}

impl LoadDocument {
    /// The document as a submission describes it, for checking it against a printer's
    /// capabilities before the run ([`crate::submit::check_supported`]).
    pub fn as_document(&self) -> crate::submit::Document {
        use sha2::Digest;
        crate::submit::Document {
            path: self.name.clone().into(),
            name: self.name.clone(),
            size: self.bytes.len() as u64,
            sha256: hex::encode(sha2::Sha256::digest(&self.bytes)),
            content_type: self.content_type.clone(),
        }
    }
}

/// What to send, where and how fast.
#[derive(Debug, Clone)]
pub struct LoadPlan {
    /// Jobs go to these in turn.
    pub targets: Vec<JobParent>,
    /// Jobs a second.
    pub rate: f64,
    pub jobs: usize,
    pub document: LoadDocument,
    pub configuration: PrintJobConfiguration,
    /// Submissions (create to start) in flight at most; a due job waits for a slot, and the
    /// wait counts in its latency.
    pub in_flight: usize,
    /// Follow each started job until it ends (or `follow_timeout` after it started).
    pub follow: bool,
    pub follow_timeout: Duration,
}

/// Latency percentiles of one measure, in milliseconds.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Percentiles {
    pub count: usize,
    pub p50: f64,
    pub p90: f64,
    pub p99: f64,
    pub max: f64,
}

impl Percentiles {
    /// Nearest-rank percentiles (a sort of at most a few hundred thousand samples costs
    /// nothing next to the run, so no histogram crate).
    fn of(mut samples: Vec<Duration>) -> Option<Percentiles> {
        if samples.is_empty() {
            return None;
        }
        samples.sort_unstable();
        let at = |p: f64| {
            let rank = ((p / 100.0) * samples.len() as f64).ceil() as usize;
            samples[rank.clamp(1, samples.len()) - 1].as_secs_f64() * 1000.0
        };
        Some(Percentiles {
            count: samples.len(),
            p50: at(50.0),
            p90: at(90.0),
            p99: at(99.0),
            max: samples[samples.len() - 1].as_secs_f64() * 1000.0,
        })
    }
}

/// What a run measured.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct LoadReport {
    pub planned: usize,
    pub rate: f64,
    pub printers: usize,
    pub document_bytes: usize,
    /// From the first job's due time to the last job's start answered.
    pub submit_seconds: f64,
    /// Jobs started per second over `submit_seconds`.
    pub started_per_second: f64,
    pub started: usize,
    /// Jobs that never started, by what stopped them.
    pub failed: BTreeMap<String, usize>,
    /// Started jobs by how they ended (`completed`, `aborted`, …; `unfinished` when the follow
    /// timed out).
    pub ended: BTreeMap<String, usize>,
    /// Due → job created.
    pub create: Option<Percentiles>,
    /// Session created → document stored.
    pub upload: Option<Percentiles>,
    /// Due → start answered: what a user waits for "print".
    pub submit: Option<Percentiles>,
    /// Due → the job seen in its final state (± [`FOLLOW_POLL`]).
    pub end_to_end: Option<Percentiles>,
}

/// One job's fate.
#[derive(Debug, Default)]
struct JobTiming {
    created: Option<Duration>,
    uploaded: Option<Duration>,
    started: Option<Duration>,
    /// Since the run's start, when the start was answered.
    started_at: Option<Duration>,
    ended: Option<(Duration, String)>,
    failure: Option<String>,
}

/// Runs `plan` with `client` and reports; only the run's own mistakes (an empty plan) are
/// errors, everything the cloud does is measured.
pub async fn run(client: &GraphClient, plan: LoadPlan) -> Result<LoadReport, LoadPlanError> {
    if plan.targets.is_empty() {
        return Err(LoadPlanError::NoPrinters);
    }
    if !(plan.rate.is_finite() && plan.rate > 0.0) {
        return Err(LoadPlanError::Rate(plan.rate));
    }
    let plan = Arc::new(plan);
    let slots = Arc::new(Semaphore::new(plan.in_flight.max(1)));
    let start = Instant::now();
    let mut tasks = tokio::task::JoinSet::new();
    for i in 0..plan.jobs {
        let due = start + Duration::from_secs_f64(i as f64 / plan.rate);
        tokio::time::sleep_until(due).await;
        let slot = slots.clone().acquire_owned().await.expect("never closed");
        let client = client.clone();
        let plan = plan.clone();
        let target = plan.targets[i % plan.targets.len()].clone();
        tasks.spawn(async move {
            let mut timing = JobTiming::default();
            let job_id = submit_one(&client, &plan, &target, due, &mut timing).await;
            drop(slot);
            if let (Some(job_id), true) = (job_id, plan.follow) {
                timing.ended =
                    follow_one(&client, &target, &job_id, due, plan.follow_timeout).await;
            }
            timing.started_at = timing.started.map(|s| (due + s) - start);
            timing
        });
    }
    let mut timings = Vec::with_capacity(plan.jobs);
    while let Some(done) = tasks.join_next().await {
        timings.push(done.expect("a load task panicked"));
    }
    Ok(report(&plan, &timings))
}

/// Why a plan cannot run.
#[derive(Debug, thiserror::Error)]
pub enum LoadPlanError {
    #[error("no printers to send jobs to")]
    NoPrinters,
    #[error("the rate must be a positive number of jobs a second, not {0}")]
    Rate(f64),
}

/// Creates, uploads and starts one job, filling in `timing`; gives the job's id once started.
async fn submit_one(
    client: &GraphClient,
    plan: &LoadPlan,
    target: &JobParent,
    due: Instant,
    timing: &mut JobTiming,
) -> Option<String> {
    let failed = |timing: &mut JobTiming, step: &str, error: String| {
        timing.failure = Some(format!("{step}: {}", first_line(&error)));
        None
    };
    let job = match client.create_job(target, &plan.configuration).await {
        Ok(job) => job,
        Err(e) => return failed(timing, "create", e.to_string()),
    };
    timing.created = Some(due.elapsed());
    let Some(document_id) = (job.documents.as_ref())
        .and_then(|d| d.first())
        .map(|d| d.id.clone())
    else {
        return failed(timing, "create", "the job has no document".into());
    };
    let properties = PrintDocumentUploadProperties {
        document_name: plan.document.name.clone(),
        content_type: plan.document.content_type.clone(),
        size: plan.document.bytes.len() as i64,
    };
    let session =
        match (client.create_upload_session(target, &job.id, &document_id, &properties)).await {
            Ok(session) => session,
            Err(e) => return failed(timing, "createUploadSession", e.to_string()),
        };
    let Some(upload_url) = session.upload_url else {
        return failed(timing, "createUploadSession", "no uploadUrl".into());
    };
    let uploading = Instant::now();
    let options = UploadOptions::default();
    if let Err(e) = upload_bytes(
        client.http(),
        &upload_url,
        plan.document.bytes.clone(),
        &options,
    )
    .await
    {
        return failed(timing, "upload", e.to_string());
    }
    timing.uploaded = Some(uploading.elapsed());
    if let Err(e) = client.start_job(target, &job.id).await {
        return failed(timing, "start", e.to_string());
    }
    timing.started = Some(due.elapsed());
    Some(job.id)
}

/// Polls a started job until it ends: its final state and when it was seen, from `due`.
async fn follow_one(
    client: &GraphClient,
    target: &JobParent,
    job_id: &str,
    due: Instant,
    timeout: Duration,
) -> Option<(Duration, String)> {
    let give_up = Instant::now() + timeout;
    loop {
        tokio::time::sleep(FOLLOW_POLL).await;
        match client.job(target, job_id).await {
            Ok(job) if job.status.state.is_terminal() => {
                return Some((due.elapsed(), state_name(job.status.state)));
            }
            // A poll that failed is asked again: the job's fate is the measure, not the poll's.
            Ok(_) | Err(_) if Instant::now() < give_up => {}
            _ => return Some((due.elapsed(), "unfinished".into())),
        }
    }
}

fn state_name(state: PrintJobProcessingState) -> String {
    serde_json::to_value(state)
        .ok()
        .and_then(|v| v.as_str().map(str::to_string))
        .unwrap_or_else(|| format!("{state:?}"))
}

fn first_line(text: &str) -> String {
    let line = text.lines().next().unwrap_or_default();
    line.chars().take(160).collect()
}

fn report(plan: &LoadPlan, timings: &[JobTiming]) -> LoadReport {
    let mut failed = BTreeMap::new();
    let mut ended = BTreeMap::new();
    for timing in timings {
        if let Some(failure) = &timing.failure {
            *failed.entry(failure.clone()).or_insert(0) += 1;
        }
        if let Some((_, state)) = &timing.ended {
            *ended.entry(state.clone()).or_insert(0) += 1;
        }
    }
    let started = timings.iter().filter(|t| t.started.is_some()).count();
    let submit_seconds = (timings.iter().filter_map(|t| t.started_at))
        .max()
        .map_or(0.0, |d| d.as_secs_f64());
    let collect = |pick: fn(&JobTiming) -> Option<Duration>| {
        Percentiles::of(timings.iter().filter_map(pick).collect())
    };
    LoadReport {
        planned: plan.jobs,
        rate: plan.rate,
        printers: plan.targets.len(),
        document_bytes: plan.document.bytes.len(),
        submit_seconds,
        started_per_second: if submit_seconds > 0.0 {
            started as f64 / submit_seconds
        } else {
            0.0
        },
        started,
        failed,
        ended,
        create: collect(|t| t.created),
        upload: collect(|t| t.uploaded),
        submit: collect(|t| t.started),
        end_to_end: collect(|t| t.ended.as_ref().map(|(d, _)| *d)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_are_nearest_rank() {
        let samples: Vec<Duration> = (1..=100).map(Duration::from_millis).collect();
        let p = Percentiles::of(samples).unwrap();
        assert_eq!(
            (p.count, p.p50, p.p90, p.p99, p.max),
            (100, 50.0, 90.0, 99.0, 100.0)
        );
        let one = Percentiles::of(vec![Duration::from_millis(7)]).unwrap();
        assert_eq!((one.p50, one.p99, one.max), (7.0, 7.0, 7.0));
        assert!(Percentiles::of(Vec::new()).is_none());
    }
}
