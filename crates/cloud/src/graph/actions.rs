//! What a pull-printing app may do to a job its trigger holds, per Graph's printJob update, abort
//! and redirect pages: update the job's configuration (PATCH), `abort` it, or `redirect` it to
//! another printer. Each needs
//! application permissions and a `processing` task on the job created by one of the calling
//! app's triggers.

use super::tasks::{abort_job, is_held, job_url, task_of_calling_app};
use super::*;
use axum::routing::patch;

/// PATCH and abort: one of the job roles plus one of the printer roles.
const JOB_MANAGE: Permissions = Permissions {
    delegated: &[],
    application: &[
        "PrintJob.ReadWriteBasic.All",
        "PrintJob.ReadWrite.All",
        "PrintJob.Manage.All",
    ],
};
const PRINTER_ROLE: Permissions = Permissions {
    delegated: &[],
    application: &["Printer.Read.All", "Printer.ReadWrite.All"],
};
const JOB_REDIRECT: Permissions = Permissions {
    delegated: &[],
    application: &["PrintJob.Manage.All"],
};

pub(super) fn routes(router: Router<AppState>) -> Router<AppState> {
    let job = "/print/printers/{parent_id}/jobs/{job_id}";
    router
        .route(job, patch(update_job))
        .route(&format!("{job}/abort"), post(abort))
        .route(&format!("{job}/redirect"), post(redirect))
}

/// The job, for an app holding a processing task on it.
fn managed_job(
    state: &CloudState,
    who: &Caller,
    printer_id: &str,
    job_id: &str,
) -> Result<(JobRecord, crate::task_store::TaskRecord), GraphError> {
    let rec = state.visible_job(who, printer_id, job_id)?;
    let task = task_of_calling_app(state, who, &rec)?;
    if rec.job.status.state.is_terminal() {
        return Err(GraphError::conflict(format!(
            "Job {job_id} is already {}.",
            rec.job.status.state
        )));
    }
    Ok((rec, task))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct UpdateJobBody {
    configuration: Map<String, Value>,
}

/// Only `configuration` is updatable; the fields given replace theirs, the rest stay, and the
/// result must suit the printer.
async fn update_job(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path((parent_id, job_id)): Path<(String, String)>,
    body: Bytes,
) -> GraphResult {
    let who = caller(&state, &headers, &JOB_MANAGE)?;
    who.require(&PRINTER_ROLE)?;
    let req: UpdateJobBody = query::entity_body(&headers, &body, read_only::PRINT_JOB)?;
    let printer = state.printer_record(&parent_id)?;
    let rec = {
        let _guard = state.write_lock();
        let (mut rec, _) = managed_job(&state, &who, &parent_id, &job_id)?;
        let mut merged = serde_json::to_value(&rec.job.configuration).expect("configs serialise");
        if let Value::Object(fields) = &mut merged {
            fields.extend(req.configuration);
        }
        let configuration: PrintJobConfiguration = serde_json::from_value(merged)
            .map_err(|e| GraphError::bad_request(format!("Invalid configuration: {e}.")))?;
        let configuration = accept_job_configuration(configuration, &printer)?;
        rec.job.configuration = configuration;
        state.store.put_job(&rec)?;
        rec
    };
    state.store.flush().await?;
    let v = job_value(
        &state,
        &rec,
        &QueryOptions::default(),
        query::wants_unknown_enum_members(&headers),
    )?;
    Ok(json_response(
        StatusCode::OK,
        with_context(
            state.context(&format!("print/printers('{parent_id}')/jobs/$entity")),
            v,
        ),
    ))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct AbortBody {
    reason: Option<String>,
}

async fn abort(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path((parent_id, job_id)): Path<(String, String)>,
    body: Bytes,
) -> GraphResult {
    let who = caller(&state, &headers, &JOB_MANAGE)?;
    who.require(&PRINTER_ROLE)?;
    // The body is optional: an empty POST aborts without a reason.
    let reason = if body.iter().all(u8::is_ascii_whitespace) {
        None
    } else {
        query::json_body::<AbortBody>(&headers, &body)?.reason
    };
    state.printer_record(&parent_id)?;
    let event = {
        let _guard = state.write_lock();
        let (mut rec, _) = managed_job(&state, &who, &parent_id, &job_id)?;
        let description = match reason {
            Some(reason) => format!("The print job was aborted: {reason}"),
            None => "The print job was aborted.".to_string(),
        };
        abort_job(&state, &mut rec, description)?
    };
    state.store.flush().await?;
    if let Some(event) = event {
        state.notify_devices(event);
    }
    tracing::info!(printer = %parent_id, job = %job_id, "job aborted by its print task's app");
    Ok(StatusCode::NO_CONTENT.into_response())
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct RedirectBody {
    destination_printer_id: String,
    configuration: Option<PrintJobConfiguration>,
}

/// Moves a held job to another printer: a new job there (same owner and document, the given
/// configuration or the old one, checked against the destination), released at once; the
/// original ends `completed` with `redirectedTo`, and the app's task is completed for it.
async fn redirect(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path((parent_id, job_id)): Path<(String, String)>,
    body: Bytes,
) -> GraphResult {
    let who = caller(&state, &headers, &JOB_REDIRECT)?;
    let req: RedirectBody = query::json_body(&headers, &body)?;
    state.printer_record(&parent_id)?;
    let destination = state.printer_record(&req.destination_printer_id)?;
    if destination.printer.id == parent_id {
        return Err(GraphError::bad_request(
            "destinationPrinterId names the job's own printer.",
        ));
    }
    if destination.printer.is_accepting_jobs == Some(false) {
        return Err(GraphError::conflict(
            "The destination printer is not accepting jobs.",
        ));
    }
    let (new_job, event) = {
        let _guard = state.write_lock();
        let (mut source, mut task) = managed_job(&state, &who, &parent_id, &job_id)?;
        if !is_held(&source) {
            return Err(GraphError::conflict(format!(
                "Job {job_id} is not waiting for release (state {}).",
                source.job.status.state
            )));
        }
        if let Some(content_type) = source.document.content_type.as_deref() {
            check_content_type(&destination, content_type)?;
        }
        let configuration = req
            .configuration
            .unwrap_or_else(|| source.job.configuration.clone());
        let configuration = accept_job_configuration(configuration, &destination)?;
        let number = state.store.next_job_number()?;
        let mut moved = JobRecord {
            printer_id: destination.printer.id.clone(),
            job: PrintJob {
                id: number.to_string(),
                created_date_time: Utc::now(),
                configuration,
                redirected_from: Some(job_url(&state, &parent_id, &job_id)),
                redirected_to: None,
                is_fetchable: false,
                ..source.job.clone()
            },
            device: Default::default(),
            ..source.clone()
        };
        let event = release_job(&state, &destination, &mut moved)?;
        source.job.redirected_to = Some(job_url(&state, &moved.printer_id, &moved.job.id));
        source.job.status = PrintJobStatus {
            state: PrintJobProcessingState::Completed,
            details: Vec::new(),
            description: "The print job was redirected to another printer.".into(),
            is_acquired_by_printer: false,
        };
        source.job.is_fetchable = false;
        state.store.put_job(&source)?;
        task.status = PrintTaskStatus {
            state: PrintTaskProcessingState::Completed,
            description: "The job was redirected.".into(),
        };
        state.tasks.put_task(&task)?;
        (moved, event)
    };
    state.store.flush().await?;
    state.notify_devices(event);
    tracing::info!(from = %parent_id, job = %job_id, to = %new_job.printer_id, new_job = %new_job.job.id, "job redirected");
    let v = job_value(
        &state,
        &new_job,
        &QueryOptions::default(),
        query::wants_unknown_enum_members(&headers),
    )?;
    Ok(json_response(
        StatusCode::OK,
        with_context(
            state.context(&format!(
                "print/printers('{}')/jobs/$entity",
                new_job.printer_id
            )),
            v,
        ),
    ))
}
