//! Pull printing (Graph's printTaskDefinition, printTaskTrigger and printTask): task definitions an
//! app owns, the one `jobStarted` trigger a printer may have, and the tasks those triggers create.
//! A job started on a printer with a trigger is held (`paused`, `releaseWait`, not fetchable) until
//! the definition's app reports its task `completed` (the job is released to the printer) or
//! `aborted` (so is the job), or acts on the job itself (`actions.rs`: PATCH, abort, redirect).

use super::task_definitions::{self, definition_read, definition_record};
use super::task_triggers::{self, trigger_read};
use super::*;
use crate::task_store::TaskRecord;

/// `$expand` on a printTask: its navigation properties.
const TASK_QUERY: Supported = Supported {
    select: true,
    expand: &["definition", "trigger"],
    paging: false,
    filter_created_by: false,
};
const TASK_LIST_QUERY: Supported = Supported {
    paging: true,
    ..TASK_QUERY
};

pub(super) const TASK_DEFINITIONS: Permissions = Permissions {
    delegated: &[],
    application: &["PrintTaskDefinition.ReadWrite.All"],
};
pub(super) const TRIGGER_READ: Permissions = Permissions {
    delegated: &[
        "Printer.Read.All",
        "Printer.ReadWrite.All",
        "Printer.FullControl.All",
    ],
    application: &[],
};
pub(super) const TRIGGER_WRITE: Permissions = Permissions {
    delegated: &["Printer.FullControl.All"],
    application: &[],
};

pub(super) fn routes(router: Router<AppState>) -> Router<AppState> {
    let definition = "/print/taskDefinitions/{definition_id}";
    let trigger = "/print/printers/{printer_id}/taskTriggers";
    let job_task = "/print/printers/{parent_id}/jobs/{job_id}/tasks/{task_id}";
    router
        .route(
            "/print/taskDefinitions",
            get(task_definitions::list_definitions).post(task_definitions::create_definition),
        )
        .route(
            definition,
            get(task_definitions::get_definition)
                .patch(task_definitions::patch_definition)
                .delete(task_definitions::delete_definition),
        )
        .route(&format!("{definition}/tasks"), get(list_definition_tasks))
        .route(
            &format!("{definition}/tasks/{{task_id}}"),
            get(get_task).patch(patch_task),
        )
        .route(
            trigger,
            get(task_triggers::list_triggers).post(task_triggers::create_trigger),
        )
        .route(
            &format!("{trigger}/{{trigger_id}}"),
            get(task_triggers::get_trigger).delete(task_triggers::delete_trigger),
        )
        .route(
            "/print/printers/{parent_id}/jobs/{job_id}/tasks",
            get(list_job_tasks),
        )
        .route(job_task, get(get_job_task))
        .route(&format!("{job_task}/definition"), get(job_task_definition))
        .route(&format!("{job_task}/trigger"), get(job_task_trigger))
}

// ---------------------------------------------------------------- held jobs

/// Called by `start` with the write lock held: when the printer has a `jobStarted` trigger,
/// creates the trigger's task (`processing`) and holds the job for its app. True if held.
pub(super) fn hold_for_trigger(
    state: &CloudState,
    printer: &PrinterRecord,
    rec: &mut JobRecord,
) -> Result<bool, GraphError> {
    let Some(trigger) = state.tasks.trigger_of(&printer.printer.id)? else {
        return Ok(false);
    };
    if trigger.event != PrintEvent::JobStarted {
        return Ok(false);
    }
    let job_number: u64 = rec
        .job
        .id
        .parse()
        .map_err(|_| GraphError::internal("job ids are decimal numbers"))?;
    let task = TaskRecord {
        id: uuid::Uuid::new_v4().to_string(),
        definition_id: trigger.definition_id.clone(),
        trigger_id: trigger.id.clone(),
        printer_id: rec.printer_id.clone(),
        job_number,
        parent_url: job_url(state, &rec.printer_id, &rec.job.id),
        status: PrintTaskStatus {
            state: PrintTaskProcessingState::Processing,
            description: "The task is being processed.".into(),
        },
    };
    state.tasks.put_task(&task)?;
    state.webhooks.task_created(&task.definition_id, &task.id);
    rec.job.status = PrintJobStatus {
        state: PrintJobProcessingState::Paused,
        details: vec![PrintJobStateDetail::ReleaseWait],
        description: "The job is waiting to be released by a print task.".into(),
        is_acquired_by_printer: false,
    };
    rec.job.is_fetchable = false;
    state.store.put_job(rec)?;
    tracing::info!(printer = %rec.printer_id, job = %rec.job.id, task = %task.id, "job held for a print task");
    Ok(true)
}

/// True while a job waits for its task's app.
pub(super) fn is_held(rec: &JobRecord) -> bool {
    rec.job.status.state == PrintJobProcessingState::Paused
        && rec
            .job
            .status
            .details
            .contains(&PrintJobStateDetail::ReleaseWait)
}

/// The Graph URL of a job (`printTask.parentUrl`, `redirectedFrom`/`redirectedTo`).
pub(super) fn job_url(state: &CloudState, printer_id: &str, job_id: &str) -> String {
    format!(
        "{}/v1.0/print/printers/{printer_id}/jobs/{job_id}",
        state.public_url
    )
}

/// Ends a job as `aborted` (held jobs and jobs a printer may be working on alike); with the
/// write lock held. Gives the notice for the devices, to send after the flush, when a printer could have
/// fetched it.
pub(super) fn abort_job(
    state: &CloudState,
    rec: &mut JobRecord,
    description: String,
) -> Result<Option<DeviceNotice>, GraphError> {
    let was_fetchable = rec.job.is_fetchable;
    rec.job.status = PrintJobStatus {
        state: PrintJobProcessingState::Aborted,
        details: Vec::new(),
        description,
        is_acquired_by_printer: rec.job.status.is_acquired_by_printer,
    };
    rec.job.is_fetchable = false;
    state.store.put_job(rec)?;
    Ok(was_fetchable.then(|| DeviceNotice::Canceled {
        printer_id: rec.printer_id.clone(),
        job_id: rec.job.id.clone(),
    }))
}

/// The `processing` task on this job that a trigger of the calling app created: pull-printing
/// apps may act on a job only through one (PATCH, abort, redirect).
pub(super) fn task_of_calling_app(
    state: &CloudState,
    who: &Caller,
    rec: &JobRecord,
) -> Result<TaskRecord, GraphError> {
    let number: u64 = rec.job.id.parse().unwrap_or_default();
    for task in state.tasks.tasks_of_job(&rec.printer_id, number)? {
        if task.status.state != PrintTaskProcessingState::Processing {
            continue;
        }
        if let Some(definition) = state.tasks.definition(&task.definition_id)?
            && definition.app_id == who.id()
        {
            return Ok(task);
        }
    }
    Err(GraphError::forbidden(format!(
        "Job {} has no print task in processing state started by a trigger this application created.",
        rec.job.id
    )))
}

pub(super) fn tasks_of_job(
    state: &CloudState,
    rec: &JobRecord,
) -> Result<Vec<PrintTask>, GraphError> {
    let number: u64 = rec.job.id.parse().unwrap_or_default();
    Ok(state
        .tasks
        .tasks_of_job(&rec.printer_id, number)?
        .iter()
        .map(task_value)
        .collect())
}

pub(super) fn task_value(task: &TaskRecord) -> PrintTask {
    PrintTask {
        id: task.id.clone(),
        parent_url: task.parent_url.clone(),
        status: task.status.clone(),
    }
}

/// A task as `q` asks for it: its `definition` and `trigger` expanded, `$select` applied.
fn task_read(state: &CloudState, task: &TaskRecord, q: &QueryOptions) -> Result<Value, GraphError> {
    let mut v = serde_json::to_value(task_value(task)).expect("tasks serialise");
    if q.expands("definition") {
        v["definition"] = match state.tasks.definition(&task.definition_id)? {
            Some(d) => definition_read(state, &d, &QueryOptions::default())?,
            None => Value::Null,
        };
    }
    if q.expands("trigger") {
        v["trigger"] = match trigger_of_task(state, task)? {
            Some(t) => trigger_read(state, &t, &QueryOptions::default())?,
            None => Value::Null,
        };
    }
    query::select_expanded(v, q)
}

/// The trigger that created `task`, unless it has been deleted since.
fn trigger_of_task(
    state: &CloudState,
    task: &TaskRecord,
) -> Result<Option<crate::task_store::TriggerRecord>, GraphError> {
    Ok(state
        .tasks
        .trigger_of(&task.printer_id)?
        .filter(|t| t.id == task.trigger_id))
}

/// The tasks of a definition as `q` asks for them (`$expand=tasks` on a definition).
pub(super) fn tasks_of_definition(
    state: &CloudState,
    definition_id: &str,
    q: &QueryOptions,
) -> Result<Vec<Value>, GraphError> {
    state
        .tasks
        .tasks_of_definition(definition_id)?
        .iter()
        .map(|t| task_read(state, t, q))
        .collect()
}
// ---------------------------------------------------------------- tasks

async fn list_definition_tasks(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(definition_id): Path<String>,
    RawQuery(raw): RawQuery,
) -> GraphResult {
    caller(&state, &headers, &TASK_DEFINITIONS)?;
    let q = query::parse_query(raw.as_deref(), TASK_LIST_QUERY)?;
    definition_record(&state, &definition_id)?;
    let items = tasks_of_definition(&state, &definition_id, &q)?;
    let path = format!("print/taskDefinitions('{definition_id}')/tasks");
    Ok(json_response(
        StatusCode::OK,
        page(
            &state,
            &format!("/print/taskDefinitions/{definition_id}/tasks"),
            &q,
            items,
            state.context(&path),
        ),
    ))
}

fn task_record(
    state: &CloudState,
    definition_id: &str,
    task_id: &str,
) -> Result<TaskRecord, GraphError> {
    state.tasks.task(definition_id, task_id)?.ok_or_else(|| {
        GraphError::not_found(format!(
            "No task '{task_id}' in task definition '{definition_id}'."
        ))
    })
}

/// A task read through its definition, with the `@odata.context` of that path.
fn definition_task_response(
    state: &CloudState,
    task: &TaskRecord,
    q: &QueryOptions,
) -> GraphResult {
    Ok(json_response(
        StatusCode::OK,
        with_context(
            state.context(&format!(
                "print/taskDefinitions('{}')/tasks/$entity",
                task.definition_id
            )),
            task_read(state, task, q)?,
        ),
    ))
}

async fn get_task(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path((definition_id, task_id)): Path<(String, String)>,
    RawQuery(raw): RawQuery,
) -> GraphResult {
    caller(&state, &headers, &TASK_DEFINITIONS)?;
    let q = query::parse_query(raw.as_deref(), TASK_QUERY)?;
    let task = task_record(&state, &definition_id, &task_id)?;
    definition_task_response(&state, &task, &q)
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct PatchTaskBody {
    status: PrintTaskStatus,
}

/// The app reports its task's outcome: `completed` releases a held job to its printer,
/// `aborted` aborts it. Only the definition's app may, and only while the task is not final.
async fn patch_task(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path((definition_id, task_id)): Path<(String, String)>,
    body: Bytes,
) -> GraphResult {
    let who = caller(&state, &headers, &TASK_DEFINITIONS)?;
    let req: PatchTaskBody = query::entity_body(&headers, &body, read_only::PRINT_TASK)?;
    if req.status.state == PrintTaskProcessingState::UnknownFutureValue {
        return Err(GraphError::bad_request(
            "status.state: unknownFutureValue is not a task state.",
        ));
    }
    let (task, event) = {
        let _guard = state.write_lock();
        let definition = definition_record(&state, &definition_id)?;
        if definition.app_id != who.id() {
            return Err(GraphError::forbidden(
                "Only the application that created the task definition may update its tasks.",
            ));
        }
        let mut task = task_record(&state, &definition_id, &task_id)?;
        if matches!(
            task.status.state,
            PrintTaskProcessingState::Completed | PrintTaskProcessingState::Aborted
        ) {
            return Err(GraphError::conflict(format!(
                "Task '{task_id}' is already {}.",
                task.status.state
            )));
        }
        task.status = req.status;
        state.tasks.put_task(&task)?;
        let job = state.store.job(&task.printer_id, task.job_number)?;
        let event = match (job, &task.status.state) {
            (Some(mut job), PrintTaskProcessingState::Completed) if is_held(&job) => {
                let printer = state.printer_record(&task.printer_id)?;
                Some(release_job(&state, &printer, &mut job)?)
            }
            (Some(mut job), PrintTaskProcessingState::Aborted)
                if !job.job.status.state.is_terminal() =>
            {
                // The task's own description is the app's reason; the job's owner reads it.
                let reason = task.status.description.trim();
                let description = if reason.is_empty() {
                    format!("The print job was aborted by task '{task_id}'.")
                } else {
                    format!("The print job was aborted by task '{task_id}': {reason}")
                };
                abort_job(&state, &mut job, description)?
            }
            _ => None,
        };
        (task, event)
    };
    state.store.flush().await?;
    if let Some(event) = event {
        state.notify_devices(event);
    }
    definition_task_response(&state, &task, &QueryOptions::default())
}

// ---------------------------------------------------------------- a job's tasks

async fn list_job_tasks(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path((parent_id, job_id)): Path<(String, String)>,
    RawQuery(raw): RawQuery,
) -> GraphResult {
    let who = caller(&state, &headers, &JOB_READ)?;
    let q = query::parse_query(raw.as_deref(), TASK_LIST_QUERY)?;
    let printer = state.printer_record(&parent_id)?;
    let rec = state.visible_job(&who, &printer.printer.id, &job_id)?;
    let number: u64 = rec.job.id.parse().unwrap_or_default();
    let items = state
        .tasks
        .tasks_of_job(&rec.printer_id, number)?
        .iter()
        .map(|t| task_read(&state, t, &q))
        .collect::<Result<Vec<_>, _>>()?;
    let context = state.context(&format!(
        "print/printers('{parent_id}')/jobs('{job_id}')/tasks"
    ));
    Ok(json_response(
        StatusCode::OK,
        page(
            &state,
            &format!("/print/printers/{parent_id}/jobs/{job_id}/tasks"),
            &q,
            items,
            context,
        ),
    ))
}

/// A task of a visible job, by id.
fn job_task(
    state: &CloudState,
    who: &Caller,
    (printer_id, job_id, task_id): (&str, &str, &str),
) -> Result<TaskRecord, GraphError> {
    let rec = state.visible_job(who, printer_id, job_id)?;
    let number: u64 = rec.job.id.parse().unwrap_or_default();
    state
        .tasks
        .tasks_of_job(printer_id, number)?
        .into_iter()
        .find(|t| t.id == task_id)
        .ok_or_else(|| GraphError::not_found(format!("Job {job_id} has no task '{task_id}'.")))
}

/// The `@odata.context` of what is read under a job's task: `print/printers('p')/jobs('j')/
/// tasks('t')` followed by `tail`.
fn job_task_context(
    state: &CloudState,
    (printer_id, job_id, task_id): (&str, &str, &str),
    tail: &str,
) -> String {
    state.context(&format!(
        "print/printers('{printer_id}')/jobs('{job_id}')/tasks{tail}",
        tail = if task_id.is_empty() {
            tail.to_string()
        } else {
            format!("('{task_id}'){tail}")
        }
    ))
}

async fn get_job_task(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path((parent_id, job_id, task_id)): Path<(String, String, String)>,
    RawQuery(raw): RawQuery,
) -> GraphResult {
    let who = caller(&state, &headers, &JOB_READ)?;
    let q = query::parse_query(raw.as_deref(), TASK_QUERY)?;
    let task = job_task(&state, &who, (&parent_id, &job_id, &task_id))?;
    let context = job_task_context(&state, (&parent_id, &job_id, ""), "/$entity");
    Ok(json_response(
        StatusCode::OK,
        with_context(context, task_read(&state, &task, &q)?),
    ))
}

async fn job_task_definition(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path((parent_id, job_id, task_id)): Path<(String, String, String)>,
    RawQuery(raw): RawQuery,
) -> GraphResult {
    let who = caller(&state, &headers, &JOB_READ)?;
    let q = query::parse_query(raw.as_deref(), task_definitions::DEFINITION_QUERY)?;
    let task = job_task(&state, &who, (&parent_id, &job_id, &task_id))?;
    let definition = definition_record(&state, &task.definition_id)?;
    let context = job_task_context(
        &state,
        (&parent_id, &job_id, &task_id),
        "/definition/$entity",
    );
    Ok(json_response(
        StatusCode::OK,
        with_context(context, definition_read(&state, &definition, &q)?),
    ))
}

async fn job_task_trigger(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path((parent_id, job_id, task_id)): Path<(String, String, String)>,
    RawQuery(raw): RawQuery,
) -> GraphResult {
    let who = caller(&state, &headers, &JOB_READ)?;
    let q = query::parse_query(raw.as_deref(), task_triggers::TRIGGER_QUERY)?;
    let task = job_task(&state, &who, (&parent_id, &job_id, &task_id))?;
    let trigger = trigger_of_task(&state, &task)?.ok_or_else(|| {
        GraphError::not_found(format!(
            "The trigger that created task '{task_id}' has been deleted."
        ))
    })?;
    let context = job_task_context(&state, (&parent_id, &job_id, &task_id), "/trigger/$entity");
    Ok(json_response(
        StatusCode::OK,
        with_context(context, trigger_read(&state, &trigger, &q)?),
    ))
}
