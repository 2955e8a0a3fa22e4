//! The session a printer holds with its service: advertise, reconcile with the spool, wait for
//! jobs, and start over after outages, offline windows and refused tokens.

use super::backoff;
use super::job_pipeline::local_job_ready;
use super::metrics::FleetMetrics;
use super::notifications::notification_loop;
use super::printer_attributes::{capability_attributes, consumable_attributes};
use super::printer_handle::{Control, CurrentJob, PrinterSnapshot};
use super::token_refresh::refresh_tokens;
use crate::config::PrinterConfig;
use crate::engine::{Engine, EngineEvent};
use crate::infra_client::{InfraClient, InfraClientError, job_state};
use crate::network::Network;
use crate::registration::{DeviceTokens, RegistrationError};
use crate::spool::{JobOrigin, Spool, SpoolError};
use printlab_graph::PrintJobProcessingState;
use printlab_ipp::http::Credentials;
use printlab_ipp::{Attribute, Value};
use printlab_mapping::printer_status_to_ipp;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::sync::{Notify, mpsc, watch};
use tokio_util::sync::CancellationToken;
use tracing::{Instrument, info, warn};

/// What a printer task owns before it knows how to reach its service.
pub(super) struct DeviceParts {
    pub(super) config: PrinterConfig,
    pub(super) spool: Spool,
    pub(super) out_root: PathBuf,
    pub(super) http: reqwest::Client,
    pub(super) render_enabled: bool,
    pub(super) metrics: FleetMetrics,
    /// Restored from the spool's fault memory.
    pub(super) engine: Engine,
    pub(super) started: Instant,
    pub(super) network: Arc<Network>,
    pub(super) control: mpsc::Receiver<Control>,
    pub(super) status: watch::Sender<PrinterSnapshot>,
    /// Rung when jobs may be waiting: by the notification task, and by the IPP Everywhere
    /// listener when a job arrives over IPP.
    pub(super) wake: Arc<Notify>,
    /// The job on the engine and its cancel token (shared with the IPP listener's Cancel-Job).
    pub(super) current: CurrentJob,
    pub(super) shutdown: CancellationToken,
}

/// What the printer advertises as `printer-is-accepting-jobs`: a stopped printer still queues
/// jobs, as hardware does; nothing here pauses acceptance.
pub(super) const ACCEPTING_JOBS: bool = true;

/// While notifications fail, look for fetchable jobs this often.
const FALLBACK_POLL: Duration = Duration::from_secs(30);

/// Why a job's processing ended early.
pub(super) enum Interrupted {
    Canceled,
    Shutdown,
    /// An offline window began: the session ends without a word to the service.
    Offline,
    Infra(InfraClientError),
    Spool(SpoolError),
}

impl From<InfraClientError> for Interrupted {
    fn from(e: InfraClientError) -> Self {
        match e {
            InfraClientError::Offline(_) => Interrupted::Offline,
            e => Interrupted::Infra(e),
        }
    }
}

impl From<SpoolError> for Interrupted {
    fn from(e: SpoolError) -> Self {
        Interrupted::Spool(e)
    }
}

pub(super) struct Device {
    pub(super) config: PrinterConfig,
    pub(super) client: Arc<InfraClient>,
    /// Universal Print printers' device tokens (INFRA printers have fixed credentials).
    pub(super) tokens: Option<Arc<DeviceTokens>>,
    /// Kept for a new registration (see [`Device::into_parts`]).
    pub(super) http: reqwest::Client,
    pub(super) spool: Spool,
    pub(super) out_root: PathBuf,
    pub(super) render_enabled: bool,
    pub(super) metrics: FleetMetrics,
    pub(super) engine: Engine,
    pub(super) started: Instant,
    pub(super) network: Arc<Network>,
    pub(super) control: mpsc::Receiver<Control>,
    pub(super) status: watch::Sender<PrinterSnapshot>,
    /// Rung by the notification task when jobs may be fetchable.
    pub(super) wake: Arc<Notify>,
    /// The jobs the notification task heard became fetchable (`job-fetchable` events), in the
    /// order it heard them.
    pub(super) notified_jobs: NotifiedJobs,
    /// The job being processed and its cancel token, which the notification task fires.
    pub(super) current: CurrentJob,
    pub(super) shutdown: CancellationToken,
}

/// Job ids from `job-fetchable` events, shared by the notification task and the printer.
pub(super) type NotifiedJobs = Arc<Mutex<Vec<u32>>>;

impl Device {
    pub(super) fn now(&self) -> Duration {
        self.started.elapsed()
    }

    /// Back to what a printer owns before it is connected, for a new registration.
    fn into_parts(self) -> DeviceParts {
        DeviceParts {
            config: self.config,
            spool: self.spool,
            out_root: self.out_root,
            http: self.http,
            render_enabled: self.render_enabled,
            metrics: self.metrics,
            engine: self.engine,
            started: self.started,
            network: self.network,
            control: self.control,
            status: self.status,
            wake: self.wake,
            current: self.current,
            shutdown: self.shutdown,
        }
    }

    /// Runs until shutdown; gives its parts back when the service no longer knows the device's
    /// registration (only a new one helps).
    pub(super) async fn run(mut self) -> Option<DeviceParts> {
        let notifier = tokio::spawn(
            notification_loop(
                self.client.clone(),
                self.network.clone(),
                self.current.clone(),
                self.wake.clone(),
                self.notified_jobs.clone(),
                self.status.clone(),
                self.shutdown.clone(),
            )
            .in_current_span(),
        );
        let refresher = self.tokens.clone().map(|tokens| {
            tokio::spawn(
                refresh_tokens(tokens, self.client.clone(), self.shutdown.clone())
                    .in_current_span(),
            )
        });
        let mut attempt = 0;
        let mut not_known = false;
        while !self.shutdown.is_cancelled() {
            if self.network.is_offline() {
                // The engine keeps its job and faults; the service hears nothing until the
                // window ends, then the session starts over with advertise + reconcile.
                info!("offline window: not talking to the service");
                self.status.send_modify(|s| s.connected = false);
                tokio::select! {
                    _ = self.network.online() => {}
                    _ = self.shutdown.cancelled() => break,
                }
                info!("offline window over: reconnecting");
                attempt = 0;
                continue;
            }
            match self.connected_session().await {
                Ok(()) => break,
                Err(Interrupted::Shutdown) => break,
                Err(Interrupted::Offline) => continue,
                Err(Interrupted::Infra(e)) if e.is_unauthorized() && self.tokens.is_some() => {
                    warn!(error = %e, "device token refused; getting a new one");
                    if let Err(RegistrationError::NotKnown { .. }) = self.renew_token().await {
                        not_known = true;
                        break;
                    }
                }
                Err(Interrupted::Infra(e @ InfraClientError::Refused { .. })) => {
                    warn!(error = %e, "the service refused a request; starting the session again")
                }
                Err(Interrupted::Infra(e)) => warn!(error = %e, "service unreachable; retrying"),
                Err(Interrupted::Spool(e)) => warn!(error = %e, "spool error; retrying"),
                Err(Interrupted::Canceled) => {}
            }
            self.status.send_modify(|s| s.connected = false);
            if !backoff(&mut attempt, &self.shutdown).await {
                break;
            }
        }
        notifier.abort();
        if let Some(refresher) = refresher {
            refresher.abort();
        }
        self.status.send_modify(|s| {
            s.connected = false;
            s.subscribed = false;
        });
        not_known.then(|| self.into_parts())
    }

    /// Replaces a device token the service refused (expired, or the service restarted with
    /// other keys) before the session starts again.
    async fn renew_token(&self) -> Result<(), RegistrationError> {
        let Some(tokens) = &self.tokens else {
            return Ok(());
        };
        tokens.invalidate().await?;
        match tokens.token().await {
            Ok(token) => {
                self.client
                    .set_credentials(Credentials::Bearer(token.access_token));
                Ok(())
            }
            Err(e) => {
                warn!(error = %e, "cannot get a device token");
                Err(e)
            }
        }
    }

    /// Advertise, resume what the spool holds, then take jobs until shutdown or an error.
    async fn connected_session(&mut self) -> Result<(), Interrupted> {
        self.advertise(true).await?;
        self.status.send_modify(|s| {
            s.connected = true;
            s.advertised = true;
        });
        info!("advertised to the service");
        // Jobs are boxed while they run: an idle printer's task then holds only its wait, not
        // room for every step of a job (kilobytes per printer in a fleet).
        Box::pin(self.reconcile()).await?;
        loop {
            // A job the service named fetchable is fetched at once, without a Get-Jobs to find
            // it first: one exchange fewer before every job starts. Get-Jobs still follows, for
            // whatever the events missed. A notified job the spool already holds was taken
            // from an earlier Get-Jobs; anything left of it is that path's business.
            let notified = std::mem::take(&mut *self.notified_jobs.lock().expect("not poisoned"));
            for job in notified {
                if self.spool.job(&self.config.name, job)?.is_none() {
                    Box::pin(self.process_job(job, true)).await?;
                }
            }
            let fetchable = match self.client.fetchable_jobs().await {
                Err(e) if e.is_refusal() => {
                    warn!(error = %e, "the service refused Get-Jobs; waiting for its next event");
                    Vec::new()
                }
                other => other?,
            };
            for job in fetchable {
                Box::pin(self.process_job(job, true)).await?;
            }
            // Jobs that arrived over IPP, in the order they came.
            for job in self.local_jobs_waiting()? {
                Box::pin(self.process_job(job, false)).await?;
            }
            let fallback = if self.status.borrow().subscribed {
                Duration::MAX
            } else {
                FALLBACK_POLL
            };
            tokio::select! {
                _ = self.wake.notified() => {}
                _ = tokio::time::sleep(fallback) => {}
                _ = self.network.offline() => return Err(Interrupted::Offline),
                _ = self.shutdown.cancelled() => return Err(Interrupted::Shutdown),
                Some(action) = self.control.recv() => self.apply_control(action).await?,
            }
        }
    }

    /// Update-Output-Device-Attributes with the state and the tray and supply levels (and, on
    /// connect, the capabilities). Levels therefore reach the service with every state change
    /// (a job starting or ending, a fault, a supply going low), not with every sheet.
    pub(super) async fn advertise(
        &mut self,
        with_capabilities: bool,
    ) -> Result<(), InfraClientError> {
        let status = self.engine.status();
        let mut attributes = if with_capabilities {
            capability_attributes(&self.config)
        } else {
            Vec::new()
        };
        attributes.extend(printer_status_to_ipp(&status.graph_status()).value);
        attributes.extend(consumable_attributes(&self.config, &self.engine));
        attributes.push(Attribute::new(
            "printer-is-accepting-jobs",
            Value::Boolean(ACCEPTING_JOBS),
        ));
        let reasons: Vec<String> = status
            .ipp_reasons()
            .into_iter()
            .map(str::to_string)
            .collect();
        let engine = &self.engine;
        self.status.send_modify(|s| {
            s.state = status.state;
            s.reasons = reasons;
            s.accepting_jobs = ACCEPTING_JOBS;
            s.set_consumables(engine);
        });
        match self
            .client
            .update_output_device_attributes(attributes)
            .await
        {
            // The service keeps what it had; the printer goes on, as a refused description is
            // no reason to stop taking jobs.
            Err(e) if e.is_refusal() => {
                warn!(error = %e, "the service refused the printer's attributes");
                Ok(())
            }
            other => other,
        }
    }

    /// Carries out what a person did through the control API. A fault raised while a job is on
    /// the engine stops that job at once (`processing-stopped`), as an engine event would.
    pub(super) async fn apply_control(&mut self, action: Control) -> Result<(), Interrupted> {
        let now = self.now();
        match action {
            Control::Clear => {
                for fault in self.engine.status().faults {
                    info!(fault = fault.ipp_keyword(), "fault cleared");
                    self.engine.clear(fault, now);
                }
            }
            Control::ClearFault(fault) => {
                if self.engine.clear(fault, now) {
                    info!(fault = fault.ipp_keyword(), "fault cleared");
                }
            }
            Control::Raise(fault) => {
                if self.engine.raise_now(fault, now).is_some() {
                    info!(fault = fault.ipp_keyword(), "fault raised");
                    self.metrics.fault_raised(fault.ipp_keyword());
                    if let Some((job, _)) = self.engine.active_job() {
                        return self.stopped(job).await;
                    }
                }
            }
            Control::Pause => {
                if self.engine.pause() {
                    info!("paused");
                    if let Some((job, _)) = self.engine.active_job() {
                        return self.stopped(job).await;
                    }
                }
            }
            Control::Resume => {
                if self.engine.resume(now) {
                    info!("resumed");
                }
            }
            Control::EmptyTray(tray) => match self.engine.empty_tray(&tray) {
                Ok(()) => info!(tray = %tray, "tray emptied"),
                Err(e) => warn!("{e}"),
            },
            Control::LoadMedia { tray, media_size } => {
                match self.engine.load_media(&tray, &media_size, now) {
                    Ok(()) => info!(tray = %tray, media_size = %media_size, "media loaded"),
                    Err(e) => warn!("{e}"),
                }
            }
            Control::SetSupplyLevel { supply, percent } => {
                match self.engine.set_supply_level(&supply, percent, now) {
                    Ok(stop) => {
                        info!(supply = %supply, percent, "supply level set");
                        if let Some(EngineEvent::Stopped { fault, .. }) = &stop {
                            self.metrics.fault_raised(fault.ipp_keyword());
                        }
                        if stop.is_some()
                            && let Some((job, _)) = self.engine.active_job()
                        {
                            return self.stopped(job).await;
                        }
                    }
                    Err(e) => warn!("{e}"),
                }
            }
        }
        self.remember_faults()?;
        self.advertise(false).await?;
        Ok(())
    }

    /// Rebuilds from the spool: reports the unfinished jobs with Update-Active-Jobs, drops
    /// those the service no longer has or has ended, and finishes the rest.
    async fn reconcile(&mut self) -> Result<(), Interrupted> {
        let name = self.config.name.clone();
        // Only the jobs the device still has business with: a printer's history is not read at
        // every reconnect (a flaky printer reconnects after each offline window).
        let records = self.spool.unfinished_printer_jobs(&name)?;
        // Ended before a crash could tell the service: tell it now.
        for record in records.iter().filter(|r| r.state.is_terminal()) {
            match self.report_final(record.job_id).await {
                Err(e) if e.is_gone() => {}
                Err(e) if e.is_refusal() => {
                    warn!(job = record.job_id, error = %e, "the service refused the job's final state")
                }
                other => other?,
            }
        }
        let held: Vec<_> = records
            .into_iter()
            .filter(|r| r.acknowledged && !r.state.is_terminal())
            .collect();
        // Local IPP jobs are the printer's own: the service never hears of them.
        let states: Vec<(u32, i32)> = held
            .iter()
            .filter(|r| r.origin == JobOrigin::Service)
            .map(|r| (r.job_id, job_state::PROCESSING))
            .collect();
        // Refused, the spool is the only word: every held job is finished.
        let differing = match self.client.update_active_jobs(&states).await {
            Err(e) if e.is_refusal() => {
                warn!(error = %e, "the service refused Update-Active-Jobs; finishing the held jobs");
                Vec::new()
            }
            other => other?,
        };
        for record in held {
            let verdict = differing.iter().find(|(id, _)| *id == record.job_id);
            match verdict {
                Some((_, state)) if state.is_none_or(job_state::is_terminal) => {
                    info!(job = record.job_id, "the service ended this job meanwhile");
                    self.spool.update(
                        &name,
                        record.job_id,
                        "reconciled",
                        "the service no longer has this job active",
                        |r| {
                            r.state = PrintJobProcessingState::Canceled;
                            r.reasons = vec!["job-canceled-at-device".into()];
                            // The service ended it: there is no final state to tell.
                            r.final_report_answered = true;
                        },
                    )?;
                }
                _ => Box::pin(self.process_job(record.job_id, false)).await?,
            }
        }
        Ok(())
    }

    /// The local IPP jobs the spool holds unfinished, oldest first.
    fn local_jobs_waiting(&self) -> Result<Vec<u32>, SpoolError> {
        Ok(self
            .spool
            .unfinished_printer_jobs(&self.config.name)?
            .into_iter()
            .filter(|r| r.origin == JobOrigin::LocalIpp)
            .filter(local_job_ready)
            .map(|r| r.job_id)
            .collect())
    }

    /// Update-Output-Device-Attributes when the printer's state or reasons differ from what
    /// the service was last told (a job started or ended), so Graph is always current.
    pub(super) async fn advertise_if_changed(&mut self) -> Result<(), InfraClientError> {
        let status = self.engine.status();
        let told = self.status.borrow().clone();
        let reasons: Vec<String> = status.ipp_reasons().into_iter().map(String::from).collect();
        if told.state == status.state && told.reasons == reasons {
            return Ok(());
        }
        self.advertise(false).await
    }
}
