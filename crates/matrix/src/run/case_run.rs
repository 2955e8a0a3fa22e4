//! One printer's cases, one after another: submit, follow to the end (clearing faults), verify
//! (while the next case prints).

use super::documents::Documents;
use super::faults;
use super::result::{CaseResult, Verdict};
use super::{RunObserver, RunOptions};
use crate::document::{TestDocument, page_geometry};
use crate::verify::{VerifyError, verify_output};
use crate::{Case, Expectation, Finding};
use printlab_client::follow::{follow, output_dir};
use printlab_client::resume::ResumeStore;
use printlab_client::shares::Target;
use printlab_client::submit::{Document, SubmitError, SubmitObserver, submit};
use printlab_client::upload::UploadOptions;
use printlab_client::{ClientError, GraphClient, SharedPrinter, error_chain};
use printlab_graph::rules::check_job;
use printlab_graph::{PrintJob, PrintJobConfiguration, PrintJobProcessingState};
use reqwest::StatusCode;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

/// A throttled job creation is tried this many times in all.
const CREATE_ATTEMPTS: u32 = 5;
/// The wait after a throttled creation whose answer names none (`Retry-After`); it doubles
/// each time.
const FIRST_BACKOFF: Duration = Duration::from_secs(1);
/// The longest wait a `Retry-After` is followed for: past it, the case would rather time out.
const LONGEST_RETRY_AFTER: Duration = Duration::from_secs(60);

pub(super) struct Context<'a> {
    pub client: &'a GraphClient,
    pub store: &'a ResumeStore,
    pub documents: &'a Documents,
    pub options: &'a RunOptions,
    pub observer: &'a dyn RunObserver,
}

/// Uploads are quiet: the run's own progress bar counts cases, not bytes.
struct Quiet;

impl SubmitObserver for Quiet {
    fn resuming(&self, _doc: &Document, _job_id: &str) {}
}

impl Context<'_> {
    pub(super) async fn run_printer(
        &self,
        share_id: &str,
        queue: Vec<(usize, Case)>,
    ) -> Vec<(usize, CaseResult)> {
        let target = Target::by_share_id(self.client, share_id).await;
        let mut results = Vec::with_capacity(queue.len());
        // A case's pixels are read while the next case prints: the printer is never idle for
        // a verification, and the results still come in the plan's order.
        let mut verifying: Option<(usize, Judged)> = None;
        for (index, case) in queue {
            let judged = match &target {
                Ok(target) => self.run_case(target, case).await,
                Err(err) => Judged::Done(CaseResult::failed_before_printing(
                    case,
                    Finding {
                        check: "printer".into(),
                        expected: format!("share {share_id} readable through Graph"),
                        observed: err.to_string(),
                    },
                )),
            };
            if let Some(earlier) = verifying.replace((index, judged)) {
                results.push(self.finish(earlier).await);
            }
        }
        if let Some(last) = verifying {
            results.push(self.finish(last).await);
        }
        results
    }

    /// The case's result once its pixels are checked, told to the observer.
    async fn finish(&self, (index, judged): (usize, Judged)) -> (usize, CaseResult) {
        let result = judged.finish().await;
        self.observer.finished(&result);
        (index, result)
    }

    async fn run_case(&self, target: &Target, case: Case) -> Judged {
        let geometry = page_geometry(&effective(target, &case), &target.capabilities());
        let made = self
            .documents
            .get(&case.content_type, case.document_pages, geometry);
        let (test_doc, upload) = match made.as_ref() {
            Ok(made) => made,
            Err(finding) => {
                return Judged::Done(CaseResult::failed_before_printing(case, finding.clone()));
            }
        };
        let mut result = CaseResult {
            document: Some(upload.path.clone()),
            ..CaseResult::not_run(case)
        };
        let began = Instant::now();
        let submitted = self.submit(target, upload, &result.case).await;
        result.timings.submit = began.elapsed().as_secs_f64();
        let job_id = match submitted {
            Ok(job_id) => job_id,
            Err(err) => {
                let refused_by_cloud = err_status(&err).is_some_and(|s| s.is_client_error());
                judge_refusal_or_fail(&mut result, refused_by_cloud, "submit", &error_chain(&err));
                return Judged::Done(result);
            }
        };
        self.observer.submitted(&result.case, &job_id);
        result.job_id = Some(job_id.clone());
        let printing = Instant::now();
        let remaining = self.options.timeout.saturating_sub(began.elapsed());
        let ended = self
            .follow(target, &job_id, remaining, &mut result.faults)
            .await;
        result.timings.print = printing.elapsed().as_secs_f64();
        self.observer.ended(&result.case);
        match ended {
            Ok(job) => judge(result, target, test_doc, &job),
            Err(finding) => {
                result.verdict = Verdict::Failed;
                result.findings.push(finding);
                Judged::Done(result)
            }
        }
    }

    /// Submits, waiting and trying again when the cloud throttles the job's creation.
    async fn submit(
        &self,
        target: &Target,
        upload: &Document,
        case: &Case,
    ) -> Result<String, SubmitError> {
        let mut wait = FIRST_BACKOFF;
        let mut attempt = 1;
        loop {
            match submit(
                self.client,
                self.store,
                target,
                upload,
                &case.configuration,
                &UploadOptions::default(),
                &Quiet,
            )
            .await
            {
                Ok(submitted) => return Ok(submitted.job_id().to_owned()),
                Err(SubmitError::CreateJob(err))
                    if attempt < CREATE_ATTEMPTS && is_throttled(&err) =>
                {
                    let asked = err.retry_after().map(|d| d.min(LONGEST_RETRY_AFTER));
                    let pause = asked.unwrap_or(wait);
                    tracing::info!(case = %case.id, "job creation throttled; trying again in {pause:?}");
                    tokio::time::sleep(pause).await;
                    wait *= 2;
                    attempt += 1;
                }
                Err(err) => return Err(err),
            }
        }
    }

    /// Follows the job to its end within `limit`, clearing the printer's faults meanwhile; past
    /// the limit the job is cancelled.
    async fn follow(
        &self,
        target: &Target,
        job_id: &str,
        limit: Duration,
        faults_met: &mut Vec<String>,
    ) -> Result<PrintJob, Finding> {
        let stopped = AtomicBool::new(false);
        let faults = Mutex::new(Vec::new());
        let followed = tokio::time::timeout(limit, async {
            tokio::select! {
                job = follow(self.client, &target.parent, job_id, |job| {
                    stopped.store(job.status.state == PrintJobProcessingState::Stopped, Ordering::Relaxed);
                }) => job,
                never = faults::watch(
                    self.client,
                    self.options.control.as_ref(),
                    &target.share.display_name,
                    &target.share.id,
                    &stopped,
                    &faults,
                ) => match never {},
            }
        })
        .await;
        faults_met.extend(faults.into_inner().expect("fault list lock poisoned"));
        match followed {
            Ok(Ok(job)) => Ok(job),
            Ok(Err(err)) => Err(Finding {
                check: "jobState".into(),
                expected: format!("job {job_id} followed to its end"),
                observed: error_chain(&err),
            }),
            Err(_) => {
                if let Err(err) = self.client.cancel_job(&target.parent, job_id).await {
                    tracing::warn!(job_id, "cancelling a job past its time: {err}");
                }
                Err(Finding {
                    check: "timeout".into(),
                    expected: format!("the job ends within {} s", self.options.timeout.as_secs()),
                    observed: "still running; cancelled".into(),
                })
            }
        }
    }
}

/// Judges a job that ended against what the case expected and, when the printed sides are
/// on this machine, starts checking them against its settings. The pixels are read on a
/// blocking thread: a verification takes long enough to starve the other printers' cases
/// and Ctrl-C.
fn judge(mut result: CaseResult, target: &Target, doc: &TestDocument, job: &PrintJob) -> Judged {
    let state = job.status.state;
    result.job_state = Some(state.to_string());
    result.job_description = Some(job.status.description.clone());
    if state != PrintJobProcessingState::Completed {
        let observed = format!("{state}: {}", job.status.description);
        if state == PrintJobProcessingState::Aborted
            && matches!(
                result.case.expect,
                Expectation::Prints | Expectation::PrintsResolved { .. }
            )
            && advertises(&target.share, &result.case)
        {
            result.verdict = Verdict::Failed;
            result.findings.push(Finding {
                check: "capabilityMismatch".into(),
                expected: "completed: Graph advertises every setting the job asked for, \
                           and the plan knows no reason the printer refuses it"
                    .into(),
                observed,
            });
            return Judged::Done(result);
        }
        judge_refusal_or_fail(
            &mut result,
            state == PrintJobProcessingState::Aborted,
            "jobState",
            &observed,
        );
        return Judged::Done(result);
    }
    let dir = output_dir(job);
    if let Some(dir) = &dir {
        result.outputs = sides_in(dir);
        result.output_dir = Some(dir.clone());
    }
    if let Expectation::Refused { reason } = &result.case.expect {
        result.verdict = Verdict::Failed;
        result.findings.push(Finding {
            check: "jobState".into(),
            expected: format!("refused ({reason})"),
            observed: "completed".into(),
        });
        return Judged::Done(result);
    }
    let Some(dir) = dir else {
        result.state_only = true;
        result.verdict = Verdict::Passed;
        return Judged::Done(result);
    };
    let effective = effective(target, &result.case);
    let doc = doc.clone();
    let verifying = tokio::task::spawn_blocking(move || {
        let began = Instant::now();
        let verified = verify_output(&effective, &doc, &dir);
        (verified, began.elapsed())
    });
    Judged::Verifying { result, verifying }
}

/// A case whose job has ended: judged, or waiting for its pixels to be checked.
enum Judged {
    Done(CaseResult),
    Verifying {
        result: CaseResult,
        verifying: tokio::task::JoinHandle<(Result<Vec<Finding>, VerifyError>, Duration)>,
    },
}

impl Judged {
    /// The case's result, once its pixels are checked.
    async fn finish(self) -> CaseResult {
        let (mut result, verifying) = match self {
            Judged::Done(result) => return result,
            Judged::Verifying { result, verifying } => (result, verifying),
        };
        match verifying.await {
            Ok((verified, took)) => {
                result.timings.verify = took.as_secs_f64();
                match verified {
                    Ok(findings) => result.findings.extend(findings),
                    Err(err) => result.findings.push(Finding {
                        check: "output".into(),
                        expected: "a readable render manifest".into(),
                        observed: err.to_string(),
                    }),
                }
            }
            Err(panicked) => result.findings.push(Finding {
                check: "output".into(),
                expected: "a verdict from the verifier".into(),
                observed: format!("the verifier failed: {panicked}"),
            }),
        }
        result.verdict = if result.findings.is_empty() {
            Verdict::Passed
        } else {
            Verdict::Failed
        };
        result
    }
}

/// What the printer should print `case` with: its settings (as the printer resolves them,
/// when it was configured to), every omitted one at the printer's default.
fn effective(target: &Target, case: &Case) -> PrintJobConfiguration {
    let asked = match &case.expect {
        Expectation::PrintsResolved { resolved, .. } => resolved.as_ref(),
        _ => &case.configuration,
    };
    (asked.clone()).with_defaults(&target.share.defaults.clone().unwrap_or_default())
}

/// A job that did not print: what the case expected decides whether that is a pass.
fn judge_refusal_or_fail(result: &mut CaseResult, refused: bool, check: &str, observed: &str) {
    let expect = &result.case.expect;
    if refused && expect.allows_refusal() {
        result.verdict = Verdict::RefusedAsExpected;
        return;
    }
    result.verdict = Verdict::Failed;
    result.findings.push(Finding {
        check: check.into(),
        expected: match expect {
            Expectation::Refused { reason } => format!("refused ({reason})"),
            _ => "completed".into(),
        },
        observed: observed.into(),
    });
}

/// Whether the share's Graph capabilities advertise every setting `case` asks for (with the
/// share's defaults for the rest): a printer that then refuses the job contradicts what it
/// advertises.
fn advertises(share: &SharedPrinter, case: &Case) -> bool {
    let Some(capabilities) = &share.capabilities else {
        return false;
    };
    let effective = case
        .configuration
        .clone()
        .with_defaults(&share.defaults.clone().unwrap_or_default());
    let format_advertised = capabilities
        .content_types
        .as_ref()
        .is_none_or(|types| types.contains(&case.content_type));
    format_advertised && check_job(&effective, capabilities).is_empty()
}

/// The PNG sides of an output folder, in the order the sheets left the printer (their names
/// sort that way).
fn sides_in(dir: &Path) -> Vec<PathBuf> {
    let mut sides: Vec<PathBuf> = std::fs::read_dir(dir)
        .map(|entries| {
            entries
                .filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|p| p.extension().is_some_and(|x| x == "png"))
                .collect()
        })
        .unwrap_or_default();
    sides.sort();
    sides
}

fn is_throttled(err: &ClientError) -> bool {
    matches!(
        err.status(),
        Some(StatusCode::TOO_MANY_REQUESTS | StatusCode::SERVICE_UNAVAILABLE)
    )
}

/// The HTTP status of the Graph call a submission failed on, if one answered.
fn err_status(err: &SubmitError) -> Option<StatusCode> {
    match err {
        SubmitError::CreateJob(e)
        | SubmitError::CreateSession(e)
        | SubmitError::ReadBack(e)
        | SubmitError::Graph(e)
        | SubmitError::Start { source: e, .. } => e.status(),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn share() -> SharedPrinter {
        serde_json::from_value(json!({
            "id": "s1",
            "displayName": "Office",
            "capabilities": {
                "contentTypes": ["application/pdf"],
                "mediaSizes": ["A4", "North America Letter"],
                "colorModes": ["blackAndWhite"],
            },
            "defaults": { "mediaSize": "A4" },
        }))
        .unwrap()
    }

    fn case(configuration: serde_json::Value, content_type: &str) -> Case {
        serde_json::from_value(json!({
            "id": "Office#1",
            "printer": "Office",
            "shareId": "s1",
            "contentType": content_type,
            "documentPages": 1,
            "configuration": configuration,
            "expect": { "outcome": "prints" },
        }))
        .unwrap()
    }

    #[test]
    fn a_job_is_advertised_only_when_every_setting_and_its_format_are() {
        let pdf = "application/pdf";
        assert!(advertises(&share(), &case(json!({}), pdf)));
        assert!(advertises(
            &share(),
            &case(json!({"mediaSize": "North America Letter"}), pdf)
        ));
        assert!(!advertises(
            &share(),
            &case(json!({"mediaSize": "A3"}), pdf)
        ));
        assert!(!advertises(
            &share(),
            &case(json!({"colorMode": "color"}), pdf)
        ));
        assert!(!advertises(&share(), &case(json!({}), "image/urf")));
        let hidden = SharedPrinter {
            capabilities: None,
            ..share()
        };
        assert!(!advertises(&hidden, &case(json!({}), pdf)));
    }
}
