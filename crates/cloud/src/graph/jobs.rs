//! Print jobs under a printer or a share: list, create, read, start, cancel, and telling devices
//! when a job becomes fetchable or is canceled.

use super::*;

pub(super) fn collection(share: bool) -> &'static str {
    if share { "shares" } else { "printers" }
}

pub(super) fn job_value(
    state: &CloudState,
    rec: &JobRecord,
    q: &QueryOptions,
    unknown_members: bool,
) -> Result<Value, GraphError> {
    let mut job = rec.job.clone();
    if q.expands("documents") {
        job.documents = Some(vec![rec.document.clone()]);
    }
    if q.expands("tasks") {
        job.tasks = Some(tasks::tasks_of_job(state, rec)?);
    }
    if !unknown_members {
        query::hide_evolvable_finishings(&mut job.configuration.finishings);
    }
    query::select_expanded(serde_json::to_value(&job).expect("jobs serialise"), q)
}

pub(super) async fn list_jobs<const SHARE: bool>(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(parent_id): Path<String>,
    RawQuery(raw): RawQuery,
) -> GraphResult {
    let who = caller(&state, &headers, &JOB_READ)?;
    let q = query::parse_query(raw.as_deref(), JOB_QUERY)?;
    let (printer, _) = state.parent_printer(SHARE, &parent_id)?;
    let sees_all = match &who {
        Caller::User { admin, scopes, .. } => {
            *admin
                && scopes
                    .iter()
                    .any(|s| ALL_USERS_JOB_SCOPES.contains(&s.as_str()))
        }
        Caller::App { .. } => true,
    };
    let unknown = query::wants_unknown_enum_members(&headers);
    let items = state
        .store
        .jobs_of(&printer.printer.id)?
        .iter()
        .filter(|j| sees_all || j.owner_id == who.id())
        .filter(|j| {
            q.created_by_upn.as_ref().is_none_or(|upn| {
                j.job
                    .created_by
                    .as_ref()
                    .and_then(|c| c.user_principal_name.as_ref())
                    .is_some_and(|u| u.eq_ignore_ascii_case(upn))
            })
        })
        .map(|j| job_value(&state, j, &q, unknown))
        .collect::<Result<Vec<_>, _>>()?;
    let path = format!("/print/{}/{parent_id}/jobs", collection(SHARE));
    let context = state.context(&format!("print/{}('{parent_id}')/jobs", collection(SHARE)));
    Ok(json_response(
        StatusCode::OK,
        page(&state, &path, &q, items, context),
    ))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CreateJobRequest {
    #[serde(default)]
    configuration: PrintJobConfiguration,
}

pub(super) async fn create_job<const SHARE: bool>(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(parent_id): Path<String>,
    body: Bytes,
) -> GraphResult {
    let who = caller(&state, &headers, &JOB_CREATE)?;
    let Caller::User {
        id: user_id,
        upn,
        admin,
        ..
    } = &who
    else {
        unreachable!("JOB_CREATE admits delegated callers only");
    };
    let req: CreateJobRequest =
        query::entity_body(&headers, &body, printlab_graph::read_only::PRINT_JOB)?;
    let (printer, share) = state.parent_printer(SHARE, &parent_id)?;
    let configuration = accept_job_configuration(req.configuration, &printer)?;
    if let Some(share) = &share
        && !share.allow_all_users
        && !*admin
        && !share.allowed_users.contains(user_id)
    {
        return Err(GraphError::forbidden(format!(
            "User '{upn}' is not allowed to print to share '{}'.",
            share.id
        )));
    }
    if printer.printer.is_accepting_jobs == Some(false) {
        return Err(GraphError::conflict("The printer is not accepting jobs."));
    }
    let number = state.store.next_job_number()?;
    let owner = UserIdentity {
        id: Some(user_id.clone()),
        display_name: Some(upn.split('@').next().unwrap_or(upn).to_string()),
        ip_address: None,
        user_principal_name: Some(upn.clone()),
    };
    let record =
        JobRecord::awaiting_document(&printer.printer.id, number, &owner, configuration, "");
    state.store.put_job(&record)?;
    state.store.flush().await?;
    tracing::info!(printer = %record.printer_id, job = %record.job.id, "job created");
    let q = QueryOptions {
        expand: vec!["documents".into()],
        ..QueryOptions::default()
    };
    let v = job_value(
        &state,
        &record,
        &q,
        query::wants_unknown_enum_members(&headers),
    )?;
    Ok(json_response(
        StatusCode::CREATED,
        with_context(
            state.context(&format!(
                "print/{}('{parent_id}')/jobs/$entity",
                collection(SHARE)
            )),
            v,
        ),
    ))
}

pub(super) async fn get_job<const SHARE: bool>(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path((parent_id, job_id)): Path<(String, String)>,
    RawQuery(raw): RawQuery,
) -> GraphResult {
    let who = caller(&state, &headers, &JOB_READ)?;
    let q = query::parse_query(
        raw.as_deref(),
        Supported {
            paging: false,
            filter_created_by: false,
            ..JOB_QUERY
        },
    )?;
    let (printer, _) = state.parent_printer(SHARE, &parent_id)?;
    let rec = state.visible_job(&who, &printer.printer.id, &job_id)?;
    let v = job_value(
        &state,
        &rec,
        &q,
        query::wants_unknown_enum_members(&headers),
    )?;
    let context = state.context(&format!(
        "print/{}('{parent_id}')/jobs/$entity",
        collection(SHARE)
    ));
    Ok(json_response(StatusCode::OK, with_context(context, v)))
}

/// The printer gets OXPS as PDF when it lists PDF but not OXPS; such jobs show `transforming`.
pub(super) fn needs_oxps_conversion(printer: &PrinterRecord, content_type: Option<&str>) -> bool {
    let types = printer
        .printer
        .capabilities
        .as_ref()
        .and_then(|c| c.content_types.as_ref());
    content_type == Some("application/oxps")
        && types.is_some_and(|t| {
            t.iter().any(|c| c == "application/pdf") && !t.iter().any(|c| c == "application/oxps")
        })
}

pub(super) async fn start_job<const SHARE: bool>(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path((parent_id, job_id)): Path<(String, String)>,
) -> GraphResult {
    let who = caller(&state, &headers, &JOB_CREATE)?;
    let (printer, _) = state.parent_printer(SHARE, &parent_id)?;
    let (status, released) = {
        let _guard = state.write_lock();
        let mut rec = state.visible_job(&who, &printer.printer.id, &job_id)?;
        if !rec.document_stored {
            return Err(GraphError::conflict(format!(
                "Job {job_id} cannot start: its document upload is incomplete."
            )));
        }
        let status = &rec.job.status;
        if !(status.state == PrintJobProcessingState::Paused
            && status.details.contains(&PrintJobStateDetail::UploadPending))
        {
            return Err(GraphError::conflict(format!(
                "Job {job_id} was already started (state {}).",
                status.state
            )));
        }
        // A printer with a `jobStarted` trigger holds the job for the trigger's app.
        let released = if tasks::hold_for_trigger(&state, &printer, &mut rec)? {
            None
        } else {
            Some(release_job(&state, &printer, &mut rec)?)
        };
        (rec.job.status, released)
    };
    state.store.flush().await?;
    if let Some(notice) = released {
        state.notify_devices(notice);
    }
    let body = with_context(
        state.context("microsoft.graph.printJobStatus"),
        serde_json::to_value(status).expect("statuses serialise"),
    );
    Ok(json_response(StatusCode::OK, body))
}

/// A job change the device side must hear about, told once the store is flushed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum DeviceNotice {
    Fetchable {
        printer_id: String,
        job_id: String,
    },
    Canceled {
        printer_id: String,
        job_id: String,
    },
    /// Not fetchable yet: the cloud converts the document first (`conversion.rs`), and that
    /// raises `Fetchable` once the PDF is stored.
    Convert {
        printer_id: String,
        job_id: String,
    },
}

impl CloudState {
    /// Tells INFRA (devices) about a job change already flushed to the store, or starts the
    /// conversion that has to come before devices may fetch it.
    pub(super) fn notify_devices(self: &Arc<Self>, notice: DeviceNotice) {
        match notice {
            DeviceNotice::Fetchable { printer_id, job_id } => {
                self.infra.job_fetchable(&printer_id, &job_id);
                self.webhooks.job_fetchable(&printer_id, &job_id);
            }
            DeviceNotice::Canceled { printer_id, job_id } => {
                self.infra.job_canceled(&printer_id, &job_id)
            }
            DeviceNotice::Convert { printer_id, job_id } => {
                super::conversion::start(self, &printer_id, &job_id)
            }
        }
    }
}

/// Makes a started job fetchable for its printer: `processing`, `interpreting`, stored. A job
/// whose OXPS document the cloud must convert to PDF first is `processing`, `transforming` and
/// not fetchable yet; the returned `Convert` notice starts the conversion, which makes it
/// fetchable. Called with the write lock held, from `start`, when a pull-printing task releases
/// a held job and on redirect; the caller flushes the store and then passes the returned notice
/// to `notify_devices`.
pub(super) fn release_job(
    state: &CloudState,
    printer: &PrinterRecord,
    rec: &mut JobRecord,
) -> Result<DeviceNotice, GraphError> {
    let transforming = needs_oxps_conversion(printer, rec.declared_content_type.as_deref());
    rec.job.status = PrintJobStatus {
        state: PrintJobProcessingState::Processing,
        details: vec![if transforming {
            PrintJobStateDetail::Transforming
        } else {
            PrintJobStateDetail::Interpreting
        }],
        description: "The print job is currently being processed.".into(),
        is_acquired_by_printer: false,
    };
    rec.job.is_fetchable = !transforming;
    state.store.put_job(rec)?;
    let (printer_id, job_id) = (rec.printer_id.clone(), rec.job.id.clone());
    Ok(if transforming {
        DeviceNotice::Convert { printer_id, job_id }
    } else {
        DeviceNotice::Fetchable { printer_id, job_id }
    })
}

pub(super) async fn cancel_job<const SHARE: bool>(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path((parent_id, job_id)): Path<(String, String)>,
) -> GraphResult {
    let who = caller(&state, &headers, &JOB_CANCEL)?;
    let (printer, _) = state.parent_printer(SHARE, &parent_id)?;
    {
        let _guard = state.write_lock();
        let mut rec = state.visible_job(&who, &printer.printer.id, &job_id)?;
        if rec.job.status.state.is_terminal() {
            return Err(GraphError::conflict(format!(
                "Job {job_id} is already {}.",
                rec.job.status.state
            )));
        }
        rec.job.status = PrintJobStatus {
            state: PrintJobProcessingState::Canceled,
            details: Vec::new(),
            description: "The print job was canceled by the user.".into(),
            is_acquired_by_printer: rec.job.status.is_acquired_by_printer,
        };
        rec.job.is_fetchable = false;
        state.store.put_job(&rec)?;
    }
    state.store.flush().await?;
    state.infra.job_canceled(&printer.printer.id, &job_id);
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// The configuration the cloud stores for a job: `pageRanges` put in ascending order with
/// overlaps merged ([`PrintJobConfiguration::with_page_ranges_in_order`], the friendly door:
/// printers may refuse them otherwise), then refused with every offending field named if the
/// printer cannot honour it.
pub(super) fn accept_job_configuration(
    config: PrintJobConfiguration,
    printer: &PrinterRecord,
) -> Result<PrintJobConfiguration, GraphError> {
    let config = config.with_page_ranges_in_order();
    let caps = printer.printer.capabilities.clone().unwrap_or_default();
    // A printer registered but not yet described by its device (or app) has nothing to hold a
    // configuration to; its jobs wait for the device either way.
    if caps == PrinterCapabilities::default() {
        return Ok(config);
    }
    refuse_violations(
        &format!("configuration for printer '{}'", printer.printer.id),
        printlab_graph::rules::check_job(&config, &caps),
    )?;
    Ok(config)
}
