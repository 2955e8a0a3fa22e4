//! One job through the printer: fetch into the spool, render, pace the sheets through the engine,
//! report each step to the service after it is durable.

use super::session::{Device, Interrupted};
use crate::config::PrinterConfig;
use crate::constraint::{self, Resolution};
use crate::engine::{EngineEvent, JobWork};
use crate::infra_client::{InfraClientError, JobReport, job_state};
use crate::spool::{JobOrigin, JobRecord, NewJob, OutputRecord, Progress, SpoolError};
use printlab_graph::rules::check_job;
use printlab_graph::{PrintJobConfiguration, PrintJobProcessingState, PrinterProcessingState};
use printlab_ipp::AttributeLookup;
use printlab_mapping::{graph_from_job_template, media_by_name, ticket_from_graph};
use printlab_render::{
    self as render, DeviceProfile, EdgeMicrons, JobRequest, LimitExceeded, OutputLimits,
    RenderError,
};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Instant;
use tokio::io::AsyncReadExt;
use tokio_util::sync::CancellationToken;
use tracing::{Instrument, error_span, info, warn};

/// Documents are streamed into the spool in chunks of this size: smaller chunks cost a
/// transaction each (see the spool's benchmark), larger ones only hold more memory.
const CHUNK: usize = 64 * 1024;

impl Device {
    pub(super) async fn process_job(
        &mut self,
        job: u32,
        fetchable: bool,
    ) -> Result<(), Interrupted> {
        let cancel = CancellationToken::new();
        *self.current.lock().expect("not poisoned") = Some((job, cancel.clone()));
        self.status.send_modify(|s| s.job = Some(job));
        let span = error_span!("job", id = job);
        let outcome = self
            .process_job_inner(job, fetchable, &cancel)
            .instrument(span)
            .await;
        *self.current.lock().expect("not poisoned") = None;
        self.status.send_modify(|s| s.job = None);
        match outcome {
            Err(Interrupted::Canceled) => self.finish_canceled(job).await?,
            Err(Interrupted::Infra(e)) if e.is_gone() => {
                info!(job, error = %e, "job is gone from the service");
            }
            // The connection is fine, and the same request would be refused again: the job is
            // set aside (what the spool holds of it stays there for the next reconcile) and the
            // printer goes on with the others.
            Err(Interrupted::Infra(e)) if e.is_refusal() => {
                warn!(job, error = %e, "the service refused a request for this job; setting it aside");
            }
            other => other?,
        }
        self.advertise_if_changed().await?;
        Ok(())
    }

    async fn process_job_inner(
        &mut self,
        job: u32,
        fetchable: bool,
        cancel: &CancellationToken,
    ) -> Result<(), Interrupted> {
        let name = self.config.name.clone();
        let record = match self.spool.job(&name, job)? {
            Some(record) => record,
            None => {
                let fetched = self.client.fetch_job(job).await?;
                let attrs = &fetched.attributes;
                let new = NewJob {
                    origin: JobOrigin::Service,
                    name: attrs.string("job-name").map(str::to_string),
                    user: attrs
                        .string("job-originating-user-name")
                        .map(str::to_string),
                    configuration: graph_from_job_template(attrs)
                        .value
                        .with_defaults(&self.config.defaults),
                };
                self.spool.create_job(&name, job, new)?
            }
        };
        let local = record.origin == JobOrigin::LocalIpp;
        if local && fetchable {
            // A service whose job ids run into the printer's own (see `LOCAL_JOB_IDS`).
            warn!(
                job,
                "the service offers a job whose id a local IPP job has; skipping it"
            );
            return Ok(());
        }
        if record.state.is_terminal() {
            // Finished before a crash hid the final report: say it again.
            return self.report_final(job).await.map_err(Into::into);
        }
        if local {
            if !local_job_ready(&record) {
                // Create-Job without its last document yet: the IPP listener rings again.
                return Ok(());
            }
            if record.state == PrintJobProcessingState::Pending {
                self.spool.update(&name, job, "processing", "", |r| {
                    r.state = PrintJobProcessingState::Processing;
                    r.reasons = vec!["job-printing".into()];
                })?;
            }
        } else {
            // A resumed job whose acknowledgement was never answered is acknowledged again:
            // the device may have been killed between the flush below and the request.
            let acknowledge = fetchable || !record.acknowledgement_answered;
            let acknowledged_before = record.acknowledged;
            if !acknowledged_before {
                self.spool.update(&name, job, "taken", "", |r| {
                    r.acknowledged = true;
                    r.state = PrintJobProcessingState::Processing;
                })?;
            }
            // The document's fetch starts at once, beside the flush that makes the job ours
            // and the acknowledgement that follows it: only Acknowledge-Job must wait until the
            // job is durable in the spool (a device killed before then finds the job still
            // fetchable and takes it again), so every job's path is a flush and an exchange
            // shorter.
            let (client, spool) = (Arc::clone(&self.client), self.spool.clone());
            let acknowledging = async move {
                if !acknowledged_before {
                    spool.flush_shared().await?;
                }
                if !acknowledge {
                    return Ok(());
                }
                match client.acknowledge_job(job).await {
                    // Acknowledged by an earlier run whose record we hold: nothing is lost.
                    Err(e) if e.is_gone() && acknowledged_before => Ok(()),
                    other => other.map_err(Interrupted::from),
                }
            };
            let (acknowledged, downloaded) =
                tokio::join!(acknowledging, self.download(job, cancel));
            acknowledged?;
            if acknowledge {
                info!("job acknowledged");
            }
            if !record.acknowledgement_answered {
                self.spool.update(&name, job, "acknowledged", "", |r| {
                    r.acknowledgement_answered = true;
                })?;
            }
            downloaded?;
        }
        let record = self.spool.job(&name, job)?.ok_or(SpoolError::NoSuchJob {
            printer: name.clone(),
            job,
        })?;
        let document = record.document.clone().expect("downloaded");
        // A service other than ours may hand over options this printer does not have.
        let unsupported = check_job(&record.configuration, &self.config.capabilities);
        if !unsupported.is_empty() {
            let problems: Vec<String> = unsupported.iter().map(|v| v.to_string()).collect();
            let message = format!(
                "This printer cannot print the job as asked: {}",
                problems.join("; ")
            );
            return self
                .refuse_fetched(job, "unsupported-attributes-or-values", &message)
                .await;
        }
        let record = match constraint::resolve(&self.config.constraints, &record.configuration) {
            Resolution::Unchanged => record,
            Resolution::Resolved {
                resolvers,
                job: resolved,
            } => {
                let detail = format!("resolved by {}", resolvers.join(", "));
                info!(resolvers = ?resolvers, "job options resolved");
                self.spool
                    .update(&name, job, "constraint-resolved", &detail, |r| {
                        r.configuration = resolved.clone();
                    })?
            }
            Resolution::Refused(refusal) => {
                return self
                    .refuse_fetched(
                        job,
                        "unsupported-attributes-or-values",
                        &refusal.to_string(),
                    )
                    .await;
            }
        };
        // A planted defect (`[printer.misprint]`): a size the printer advertises and refuses,
        // with no reason it was configured with.
        if let Some(message) = self.config.misprint.refusal(&record.configuration) {
            warn!("misprint: refusing an advertised media size");
            return self
                .refuse_fetched(job, "unsupported-attributes-or-values", &message)
                .await;
        }
        if let Err(failure) = self.engine.interpret(&document.format) {
            return self
                .refuse_fetched(job, "document-format-error", &failure.0)
                .await;
        }
        // The document's acknowledgement and the processing report go while the job renders:
        // the document is in the spool, and neither answer changes what is drawn, so a job's
        // path is two exchanges shorter. A failed report still stops the job, after its render.
        let reporting = async {
            self.acknowledge_document(job).await?;
            let processing = JobReport {
                state: job_state::PROCESSING,
                reasons: vec!["job-printing".into()],
                message: None,
                impressions_completed: Some(record.progress.impressions_completed),
                sheets_completed: Some(record.progress.sheets_completed),
            };
            self.tell_job_status(job, &processing)
                .await
                .map_err(Interrupted::from)
        };
        let (reported, rendered) = tokio::join!(reporting, self.render(job, &record, cancel));
        reported?;
        let (work, stopped_at_limit) = match rendered? {
            Ok(rendered) => rendered,
            Err(RenderError::Cancelled) => return Err(Interrupted::Canceled),
            Err(e) => {
                return self
                    .finish_aborted(job, e.job_state_reason(), &e.to_string())
                    .await;
            }
        };
        self.print(job, work, record.progress.sheets_completed, cancel)
            .await?;
        if let Some(limit) = stopped_at_limit {
            let record = self.spool.job(&name, job)?;
            let message = limit_message(&limit, record.as_ref());
            return self
                .finish_aborted(job, "aborted-by-system", &message)
                .await;
        }
        self.spool.update(&name, job, "completed", "", |r| {
            r.state = PrintJobProcessingState::Completed;
            r.reasons = vec!["job-completed-successfully".into()];
        })?;
        self.metrics.jobs.with_label_values(&["completed"]).inc();
        self.spool.flush()?;
        self.report_final(job).await?;
        self.status.send_modify(|s| s.jobs_completed += 1);
        info!("job completed");
        Ok(())
    }

    /// Fetch-Document into the spool, resuming after the bytes an earlier run kept.
    async fn download(&mut self, job: u32, cancel: &CancellationToken) -> Result<(), Interrupted> {
        let name = self.config.name.clone();
        let record = self.spool.job(&name, job)?.ok_or(SpoolError::NoSuchJob {
            printer: name.clone(),
            job,
        })?;
        let complete = record.document.as_ref().is_some_and(|d| d.sha256.is_some());
        if !complete {
            let (attrs, mut reader) = tokio::select! {
                r = self.client.fetch_document(job, 1) => r?,
                _ = cancel.cancelled() => return Err(Interrupted::Canceled),
                _ = self.shutdown.cancelled() => return Err(Interrupted::Shutdown),
            };
            let format = attrs
                .string("document-format")
                .unwrap_or("application/octet-stream")
                .to_string();
            let doc_name = attrs.string("document-name").map(str::to_string);
            let begun =
                self.spool
                    .begin_document(&name, job, 1, &format, doc_name.as_deref(), None)?;
            let mut skip = begun.document.map(|d| d.bytes_received).unwrap_or(0);
            let mut offset = skip;
            let mut buffer = vec![0u8; CHUNK];
            loop {
                let mut filled = 0;
                while filled < CHUNK {
                    let n = tokio::select! {
                        r = reader.read(&mut buffer[filled..]) => r.map_err(InfraClientError::DocumentStream)?,
                        _ = cancel.cancelled() => return Err(Interrupted::Canceled),
                        _ = self.network.offline() => return Err(Interrupted::Offline),
                        _ = self.shutdown.cancelled() => return Err(Interrupted::Shutdown),
                    };
                    if n == 0 {
                        break;
                    }
                    filled += n;
                }
                let mut chunk = &buffer[..filled];
                let drop = (skip as usize).min(chunk.len());
                chunk = &chunk[drop..];
                skip -= drop as u64;
                if !chunk.is_empty() {
                    offset = self.spool.append_chunk(&name, job, offset, chunk)?;
                    self.metrics.download_bytes.inc_by(chunk.len() as u64);
                }
                if filled < CHUNK {
                    break;
                }
            }
            self.spool.complete_document(&name, job)?;
        }
        Ok(())
    }

    /// Acknowledge-Document, once the document is durable, for a job the service gave.
    async fn acknowledge_document(&self, job: u32) -> Result<(), Interrupted> {
        let name = &self.config.name;
        let Some(record) = self.spool.job(name, job)? else {
            return Ok(());
        };
        let acknowledged = record.document.is_some_and(|d| d.acknowledged);
        if acknowledged || record.origin == JobOrigin::LocalIpp {
            return Ok(());
        }
        // On the blocking pool, not this task's worker: this runs beside the render, in the
        // task that takes the render's result.
        self.spool.flush_shared().await?;
        self.client.acknowledge_document(job, 1).await?;
        self.spool
            .update(name, job, "document-acknowledged", "", |r| {
                if let Some(d) = &mut r.document {
                    d.acknowledged = true;
                }
            })?;
        Ok(())
    }

    /// Acknowledges the document, then refuses the job with `reason`.
    async fn refuse_fetched(
        &mut self,
        job: u32,
        reason: &str,
        message: &str,
    ) -> Result<(), Interrupted> {
        self.acknowledge_document(job).await?;
        self.finish_aborted(job, reason, message).await
    }

    /// Renders the job (or, with rendering off, only lays it out) into the sheets and sides the
    /// engine must print, and the output limit that cut it short, if one did.
    async fn render(
        &self,
        job: u32,
        record: &JobRecord,
        cancel: &CancellationToken,
    ) -> Result<Result<(JobWork, Option<LimitExceeded>), RenderError>, Interrupted> {
        let name = self.config.name.clone();
        let bytes = self.spool.document_bytes(&name, job)?;
        let format = record
            .document
            .as_ref()
            .map(|d| d.format.clone())
            .unwrap_or_default();
        let config = &record.configuration;
        let profile = render_profile(&self.config, config);
        let asked = match ticket_from_graph(config) {
            Ok(ticket) => ticket,
            Err(e) => {
                return Ok(Err(RenderError::InvalidOption {
                    option: e.option,
                    value: e.value,
                    reason: e.reason.to_string(),
                }));
            }
        };
        // What the engine is handed: the job's ticket, unless a planted defect changes it.
        let misprint = self.config.misprint.clone();
        let ticket = misprint.engine_ticket(&asked);
        let out_dir = self.out_root.join(&name).join(job.to_string());
        let cancel = cancel.clone();
        let render_span = tracing::Span::current();
        let draw = self.render_enabled;
        let result = tokio::task::spawn_blocking(move || -> Result<Drawn, RenderError> {
            let _entered = render_span.enter();
            let on_sheet = |p: render::SheetProgress| {
                tracing::debug!(
                    sheet = p.sheets_completed,
                    of = p.sheets_total,
                    "sheet rendered"
                );
            };
            let request = JobRequest {
                document: &bytes,
                content_type: &format,
                ticket: &ticket,
                profile: &profile,
                out_dir: &out_dir,
                cancel: &cancel,
                on_sheet: &on_sheet,
            };
            if draw {
                let mut manifest = render::render_job(&request)?;
                misprint.finish_output(&asked, &mut manifest, &out_dir)?;
                Ok(Drawn::Rendered(manifest, out_dir.clone()))
            } else {
                render::count_job(&request).map(Drawn::Counted)
            }
        })
        .await
        .map_err(|e| {
            Interrupted::Spool(SpoolError::Corrupt {
                key: format!("{name}/{job}"),
                reason: format!("render task failed: {e}"),
            })
        })?;
        match result {
            Ok(Drawn::Counted(count)) => Ok(Ok((
                JobWork {
                    sheets: count.media_sheets as u64,
                    impressions: count.impressions as u64,
                },
                count.stopped_at_limit,
            ))),
            Ok(Drawn::Rendered(manifest, out_dir)) => {
                let outputs: Vec<OutputRecord> = manifest
                    .sides
                    .iter()
                    .map(|s| OutputRecord {
                        path: out_dir.join(&s.file).display().to_string(),
                        sha256: s.sha256.clone(),
                    })
                    .collect();
                self.spool.update(&name, job, "rendered", "", |r| {
                    r.outputs = outputs.clone();
                })?;
                Ok(Ok((
                    JobWork {
                        sheets: manifest.media_sheets as u64,
                        impressions: manifest.impressions as u64,
                    },
                    manifest.stopped_at_limit,
                )))
            }
            Err(e) => Ok(Err(e)),
        }
    }

    /// Paces the sheets through the engine, reporting each one after it is durable in the
    /// spool; waits out faults until a person clears them.
    async fn print(
        &mut self,
        job: u32,
        work: JobWork,
        already: u64,
        cancel: &CancellationToken,
    ) -> Result<(), Interrupted> {
        let name = self.config.name.clone();
        let now = self.now();
        match self.engine.active_job() {
            // Resumed after an offline window or a lost connection: the engine kept printing.
            Some((active, _)) if active == job => {}
            active => {
                if let Some((other, _)) = active {
                    // A job the service dropped while it was on the engine.
                    let _ = self.engine.cancel_job(other, now);
                }
                self.engine
                    .start_job(job, work, already, now)
                    .expect("the engine is idle after the cancel");
                let configuration = self.spool.job(&name, job)?.map(|r| r.configuration);
                self.engine.select_tray(
                    configuration.as_ref().and_then(|c| c.input_bin.as_deref()),
                    configuration.as_ref().and_then(|c| c.media_size.as_deref()),
                );
                // The printer's new state is told after the engine's first step below: an
                // engine at full speed has already printed the job by then and is idle again,
                // so it was never processing long enough to say so (two exchanges fewer).
            }
        }
        // Still stopped from before a restart, an outage or an offline window: the job waits,
        // and the service hears so (it was just told the job is processing).
        if self.engine.status().state == PrinterProcessingState::Stopped {
            self.stopped(job).await?;
        }
        // Impressions of this job already counted (by an earlier run, for a resumed job).
        let mut impressions_counted =
            (self.spool.job(&name, job)?).map_or(0, |r| r.progress.impressions_completed);
        loop {
            let mut done = false;
            let events = self.engine.advance(self.now());
            // The job's last sheet, when the job ends with it: the final report, which follows at
            // once, tells it, and the job's completion flushes its record (one exchange and one
            // flush fewer per job; still recorded before it is reported).
            let last_sheet = events
                .iter()
                .any(|e| matches!(e, EngineEvent::JobDone { .. }))
                .then(|| {
                    events
                        .iter()
                        .rposition(|e| matches!(e, EngineEvent::SheetDone { .. }))
                })
                .flatten();
            // Of sheets done back to back, only the last is recorded and reported: it says
            // all the earlier ones did, and an engine at full speed finishes thousands of
            // sheets (999 copies) in one step, which a flush and an exchange per sheet would
            // turn into minutes.
            for event in &events {
                match event {
                    EngineEvent::SheetDone {
                        impressions_completed,
                        ..
                    } => {
                        self.metrics.sheets.inc();
                        self.metrics
                            .pages
                            .inc_by(impressions_completed.saturating_sub(impressions_counted));
                        impressions_counted = *impressions_completed;
                    }
                    // Raised by the engine itself (a schedule, paper or a supply running out);
                    // a person's are counted where the control action arrives.
                    EngineEvent::Stopped { fault, .. } => {
                        self.metrics.fault_raised(fault.ipp_keyword())
                    }
                    EngineEvent::JobDone { .. } => {}
                }
            }
            let superseded: Vec<bool> = (0..events.len())
                .map(|i| {
                    matches!(events[i], EngineEvent::SheetDone { .. })
                        && matches!(events.get(i + 1), Some(EngineEvent::SheetDone { .. }))
                })
                .collect();
            for (index, event) in events.into_iter().enumerate() {
                if superseded[index] {
                    continue;
                }
                match event {
                    EngineEvent::SheetDone {
                        sheets_completed,
                        impressions_completed,
                        ..
                    } => {
                        self.spool.update(&name, job, "sheet", "", |r| {
                            r.progress.sheets_completed = sheets_completed;
                            r.progress.impressions_completed = impressions_completed;
                            // A sheet out: whatever stopped the job is over (a restart or an
                            // outage can end a stop without a control action seeing it).
                            if r.state == PrintJobProcessingState::Stopped {
                                r.state = PrintJobProcessingState::Processing;
                                r.reasons = vec!["job-printing".into()];
                            }
                        })?;
                        if self.engine.counts_levels() {
                            // Flushed with the sheet: a restart never finds more paper or
                            // toner than the sheets printed left.
                            self.remember_faults()?;
                        }
                        if Some(index) == last_sheet {
                            continue;
                        }
                        self.spool.flush()?;
                        self.tell_job_status(
                            job,
                            &JobReport {
                                state: job_state::PROCESSING,
                                reasons: vec!["job-printing".into()],
                                message: None,
                                impressions_completed: Some(impressions_completed),
                                sheets_completed: Some(sheets_completed),
                            },
                        )
                        .await?;
                    }
                    EngineEvent::Stopped { .. } => self.stopped(job).await?,
                    EngineEvent::JobDone { .. } => done = true,
                }
            }
            // The printer's state is told at once: processing from the first step on, a supply
            // that went low while the printer goes on printing.
            self.advertise_if_changed().await?;
            if done {
                return Ok(());
            }
            let wake = self.engine.next_wakeup().map(|at| self.started + at);
            tokio::select! {
                _ = sleep_until(wake) => {}
                _ = cancel.cancelled() => return Err(Interrupted::Canceled),
                _ = self.network.offline() => return Err(Interrupted::Offline),
                _ = self.shutdown.cancelled() => return Err(Interrupted::Shutdown),
                Some(action) = self.control.recv() => {
                    self.apply_control(action).await?;
                    if self.engine.status().state != PrinterProcessingState::Stopped {
                        let progress = self.resumed(job)?;
                        self.tell_job_status(job, &JobReport {
                            state: job_state::PROCESSING,
                            reasons: vec!["job-printing".into()],
                            message: None,
                            impressions_completed: Some(progress.impressions_completed),
                            sheets_completed: Some(progress.sheets_completed),
                        }).await?;
                    }
                }
            }
        }
    }

    /// Tells the service the job waits (`processing-stopped`) and why: every fault present and
    /// a pause, each with what a person must do.
    pub(super) async fn stopped(&mut self, job: u32) -> Result<(), Interrupted> {
        let status = self.engine.status();
        let why = (status.faults.iter())
            .map(|f| format!("{}: {}", f.ipp_keyword(), f.remedy()))
            .chain(
                status
                    .paused
                    .then(|| "paused: resume the printer".to_string()),
            )
            .collect::<Vec<_>>()
            .join("; ");
        warn!(why, "printer stopped");
        self.remember_faults()?;
        // The job waits with the printer; the spool says so, so whoever watches it (the
        // dashboard) sees when, and why.
        self.spool
            .update(&self.config.name, job, "stopped", &why, |r| {
                r.state = PrintJobProcessingState::Stopped;
                r.reasons = vec!["printer-stopped".into()];
            })?;
        self.spool.flush()?;
        self.advertise(false).await?;
        self.tell_job_status(
            job,
            &JobReport {
                state: job_state::PROCESSING_STOPPED,
                reasons: vec!["printer-stopped".into()],
                message: Some(format!("The printer stopped ({why})")),
                impressions_completed: None,
                sheets_completed: None,
            },
        )
        .await?;
        Ok(())
    }

    /// The printer runs again: a job the spool has as stopped is processing again. Gives the
    /// job's progress, which the service is told next.
    fn resumed(&self, job: u32) -> Result<Progress, SpoolError> {
        let name = &self.config.name;
        match self.spool.job(name, job)? {
            Some(record) if record.state == PrintJobProcessingState::Stopped => Ok(self
                .spool
                .update(name, job, "resumed", "", |r| {
                    r.state = PrintJobProcessingState::Processing;
                    r.reasons = vec!["job-printing".into()];
                })?
                .progress),
            Some(record) => Ok(record.progress),
            None => Ok(Progress::default()),
        }
    }

    /// Keeps the uncleared faults in the spool, so a restarted printer is still stopped.
    pub(super) fn remember_faults(&self) -> Result<(), SpoolError> {
        self.spool
            .put_fault_memory(&self.config.name, &self.engine.memory())
    }

    async fn finish_aborted(
        &mut self,
        job: u32,
        reason: &str,
        message: &str,
    ) -> Result<(), Interrupted> {
        warn!(reason, message, "job aborted");
        let name = self.config.name.clone();
        self.spool.update(&name, job, "aborted", message, |r| {
            r.state = PrintJobProcessingState::Aborted;
            r.reasons = vec![reason.to_string()];
        })?;
        self.metrics.jobs.with_label_values(&["aborted"]).inc();
        self.spool.flush()?;
        self.report_final(job).await?;
        Ok(())
    }

    async fn finish_canceled(&mut self, job: u32) -> Result<(), Interrupted> {
        info!(job, "job canceled");
        let name = self.config.name.clone();
        let now = self.now();
        let _ = self.engine.cancel_job(job, now);
        self.spool.update(&name, job, "canceled", "canceled", |r| {
            r.state = PrintJobProcessingState::Canceled;
            r.reasons = vec!["job-canceled-by-user".into()];
        })?;
        self.metrics.jobs.with_label_values(&["canceled"]).inc();
        self.spool.flush()?;
        match self.report_final(job).await {
            Err(e) if e.is_gone() => Ok(()),
            other => other.map_err(Into::into),
        }
    }

    /// Update-Job-Status, for a job the service gave; a local IPP job's state is the spool's
    /// alone (its IPP clients read it there).
    pub(super) async fn tell_job_status(
        &self,
        job: u32,
        report: &JobReport,
    ) -> Result<(), InfraClientError> {
        let local = matches!(
            self.spool.job(&self.config.name, job),
            Ok(Some(record)) if record.origin == JobOrigin::LocalIpp
        );
        if local {
            return Ok(());
        }
        self.client.update_job_status(job, report).await
    }

    /// Reports the final state recorded in the spool (a local IPP job's goes nowhere).
    pub(super) async fn report_final(&mut self, job: u32) -> Result<(), InfraClientError> {
        let Ok(Some(record)) = self.spool.job(&self.config.name, job) else {
            return Ok(());
        };
        if record.origin == JobOrigin::LocalIpp {
            return Ok(());
        }
        let state = match record.state {
            PrintJobProcessingState::Completed => job_state::COMPLETED,
            PrintJobProcessingState::Canceled => job_state::CANCELED,
            _ => job_state::ABORTED,
        };
        let message = if state == job_state::COMPLETED {
            completion_message(&record)
        } else {
            self.spool
                .events(&self.config.name, job)
                .ok()
                .and_then(|events| events.into_iter().rev().find(|e| !e.detail.is_empty()))
                .filter(|_| state == job_state::ABORTED)
                .map(|e| e.detail)
        };
        let told = self
            .tell_job_status(
                job,
                &JobReport {
                    state,
                    reasons: record.reasons.clone(),
                    message,
                    impressions_completed: Some(record.progress.impressions_completed),
                    sheets_completed: Some(record.progress.sheets_completed),
                },
            )
            .await;
        // A service that no longer has the job has nothing more to hear of it. Not flushed:
        // losing this mark only means reporting the final state once more.
        let answered = match &told {
            Ok(()) => true,
            Err(e) => e.is_gone(),
        };
        if answered
            && let Err(e) = self
                .spool
                .note_final_report_answered(&self.config.name, job)
        {
            warn!(error = %e, "cannot note the final report in the spool");
        }
        told
    }
}

/// Whether a local IPP job has all its document and was closed (Create-Job leaves
/// `job-incoming` until the last document or Close-Job).
pub(super) fn local_job_ready(record: &JobRecord) -> bool {
    record.document.as_ref().is_some_and(|d| d.sha256.is_some())
        && !record.reasons.iter().any(|r| r == "job-incoming")
}

/// What the render step produced.
#[allow(
    clippy::large_enum_variant,
    reason = "one value per job, alive between rendering and printing: boxing saves nothing"
)]
enum Drawn {
    Rendered(render::Manifest, PathBuf),
    Counted(render::JobCount),
}

/// What a finished job's final status says: sheets printed and where the PNG sides are, as a
/// `file://` URL so clients on the same machine (`printlab print --wait`, `demo`) can show them.
fn completion_message(record: &JobRecord) -> Option<String> {
    let sheets = record.progress.sheets_completed;
    let folder = record
        .outputs
        .first()
        .and_then(|o| Path::new(&o.path).parent().map(Path::to_path_buf))?;
    let folder = std::path::absolute(&folder).unwrap_or(folder);
    let url = url::Url::from_directory_path(&folder).ok()?;
    Some(format!(
        "printed {sheets} sheet(s), {} PNG side(s) in {url}",
        record.outputs.len()
    ))
}

/// What a job stopped at an output limit says: which limit, and what was printed before it
/// and where (the output folder holds exactly those sheets and a manifest naming the limit).
fn limit_message(limit: &LimitExceeded, record: Option<&JobRecord>) -> String {
    let printed = record.and_then(completion_message);
    match printed {
        Some(printed) => format!("Stopped at an output limit: {limit}; {printed}"),
        None => format!("Stopped at an output limit: {limit}"),
    }
}

async fn sleep_until(at: Option<Instant>) {
    match at {
        Some(at) => tokio::time::sleep_until(at.into()).await,
        None => std::future::pending().await,
    }
}

/// The renderer's view of a printer: the hardware margins of the job's media size, all 0 when
/// the size is borderless and the job asks for no margins.
pub fn render_profile(config: &PrinterConfig, job: &PrintJobConfiguration) -> DeviceProfile {
    let media = job.media_size.as_deref();
    let hw = &config.hardware;
    let default_media = config.default_media_size();
    let no_margins = job.margin.as_ref().is_some_and(|m| {
        [m.top, m.bottom, m.left, m.right]
            .iter()
            .all(|side| *side == Some(0))
    });
    let margins = hw
        .media(media.unwrap_or(&default_media))
        .or_else(|| hw.media(&default_media))
        .filter(|m| !(m.borderless && no_margins))
        .map(|m| EdgeMicrons {
            top: m.margins.top,
            bottom: m.margins.bottom,
            left: m.margins.left,
            right: m.margins.right,
        })
        .unwrap_or_default();
    let default_dpi = config
        .defaults
        .dpi
        .and_then(|d| u32::try_from(d).ok())
        .or_else(|| hw.dpis.first().copied())
        .unwrap_or(300);
    DeviceProfile {
        hardware_margins: margins,
        dpis: hw.dpis.clone(),
        default_dpi,
        color: hw.color,
        content_types: config
            .capabilities
            .content_types
            .clone()
            .unwrap_or_default(),
        default_media: media_by_name(&default_media)
            .unwrap_or_else(|| DeviceProfile::default().default_media),
        quality_dpi: None,
        output_limits: OutputLimits {
            pages: Some(config.limits.max_pages),
            sheets: Some(config.limits.max_sheets),
            output_bytes: Some(config.limits.max_output_bytes),
        },
    }
}
