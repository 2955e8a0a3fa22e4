//! Pull printing (Graph's printTaskDefinition, printTaskTrigger and printTask): task definitions an
//! app owns, the one `jobStarted` trigger a printer may have, and the tasks those triggers create.
//! A job started on a printer with a trigger is held (`paused`, `releaseWait`, not fetchable) until
//! the definition's app reports its task `completed` (the job is released to the printer) or
//! `aborted` (so is the job), or acts on the job itself (`actions.rs`: PATCH, abort, redirect).

use super::*;
use crate::task_store::{DefinitionRecord, TaskRecord, TriggerRecord};

const TASK_DEFINITIONS: Permissions = Permissions {
    delegated: &[],
    application: &["PrintTaskDefinition.ReadWrite.All"],
};
const TRIGGER_READ: Permissions = Permissions {
    delegated: &[
        "Printer.Read.All",
        "Printer.ReadWrite.All",
        "Printer.FullControl.All",
    ],
    application: &[],
};
const TRIGGER_WRITE: Permissions = Permissions {
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
            get(list_definitions).post(create_definition),
        )
        .route(
            definition,
            get(get_definition)
                .patch(patch_definition)
                .delete(delete_definition),
        )
        .route(&format!("{definition}/tasks"), get(list_definition_tasks))
        .route(
            &format!("{definition}/tasks/{{task_id}}"),
            get(get_task).patch(patch_task),
        )
        .route(trigger, get(list_triggers).post(create_trigger))
        .route(
            &format!("{trigger}/{{trigger_id}}"),
            get(get_trigger).delete(delete_trigger),
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

fn task_value(task: &TaskRecord) -> PrintTask {
    PrintTask {
        id: task.id.clone(),
        parent_url: task.parent_url.clone(),
        status: task.status.clone(),
    }
}

// ---------------------------------------------------------------- definitions

fn definition_value(d: &DefinitionRecord) -> Value {
    serde_json::to_value(PrintTaskDefinition {
        id: d.id.clone(),
        display_name: d.display_name.clone(),
        created_by: AppIdentity {
            app_id: Some(d.app_id.clone()),
            display_name: d.app_display_name.clone(),
            service_principal_id: None,
            service_principal_name: None,
        },
    })
    .expect("definitions serialise")
}

fn definition_record(state: &CloudState, id: &str) -> Result<DefinitionRecord, GraphError> {
    state
        .tasks
        .definition(id)?
        .ok_or_else(|| GraphError::not_found(format!("No task definition with id '{id}'.")))
}

async fn list_definitions(State(state): State<AppState>, headers: HeaderMap) -> GraphResult {
    caller(&state, &headers, &TASK_DEFINITIONS)?;
    let items: Vec<Value> = state
        .tasks
        .definitions()?
        .iter()
        .map(definition_value)
        .collect();
    Ok(json_response(
        StatusCode::OK,
        json!({"@odata.context": state.context("print/taskDefinitions"), "value": items}),
    ))
}

/// `createdBy` in a definition body: only its display name is the client's to set.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct CreatedByBody {
    display_name: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct DefinitionBody {
    display_name: Option<String>,
    created_by: Option<CreatedByBody>,
}

async fn create_definition(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Bytes,
) -> GraphResult {
    let who = caller(&state, &headers, &TASK_DEFINITIONS)?;
    let req: DefinitionBody = query::json_body(&headers, &body)?;
    let display_name = req
        .display_name
        .filter(|n| !n.trim().is_empty())
        .ok_or_else(|| GraphError::bad_request("displayName is required and must not be empty."))?;
    let record = DefinitionRecord {
        id: uuid::Uuid::new_v4().to_string(),
        display_name,
        app_display_name: req.created_by.and_then(|c| c.display_name),
        app_id: who.id().to_string(),
        created_date_time: Utc::now(),
    };
    state.tasks.put_definition(&record)?;
    state.store.flush().await?;
    Ok(json_response(
        StatusCode::CREATED,
        with_context(
            state.context("print/taskDefinitions/$entity"),
            definition_value(&record),
        ),
    ))
}

async fn get_definition(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(definition_id): Path<String>,
) -> GraphResult {
    caller(&state, &headers, &TASK_DEFINITIONS)?;
    let record = definition_record(&state, &definition_id)?;
    Ok(json_response(
        StatusCode::OK,
        with_context(
            state.context("print/taskDefinitions/$entity"),
            definition_value(&record),
        ),
    ))
}

async fn patch_definition(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(definition_id): Path<String>,
    body: Bytes,
) -> GraphResult {
    caller(&state, &headers, &TASK_DEFINITIONS)?;
    let req: DefinitionBody = query::json_body(&headers, &body)?;
    let record = {
        let _guard = state.write_lock();
        let mut record = definition_record(&state, &definition_id)?;
        if let Some(name) = req.display_name {
            if name.trim().is_empty() {
                return Err(GraphError::bad_request("displayName must not be empty."));
            }
            record.display_name = name;
        }
        if let Some(created_by) = req.created_by {
            record.app_display_name = created_by.display_name;
        }
        state.tasks.put_definition(&record)?;
        record
    };
    state.store.flush().await?;
    Ok(json_response(
        StatusCode::OK,
        with_context(
            state.context("print/taskDefinitions/$entity"),
            definition_value(&record),
        ),
    ))
}

/// Deleting a definition takes its tasks with it; it is refused while a printer's trigger
/// still runs it or one of its tasks still holds a job, which would otherwise wait forever.
async fn delete_definition(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(definition_id): Path<String>,
) -> GraphResult {
    caller(&state, &headers, &TASK_DEFINITIONS)?;
    {
        let _guard = state.write_lock();
        definition_record(&state, &definition_id)?;
        if let Some(trigger) = state.tasks.triggers_of_definition(&definition_id)?.first() {
            return Err(GraphError::conflict(format!(
                "Task definition '{definition_id}' is bound to printer '{}' by trigger '{}': delete the trigger first.",
                trigger.printer_id, trigger.id
            )));
        }
        if let Some(task) = state
            .tasks
            .tasks_of_definition(&definition_id)?
            .iter()
            .find(|t| t.status.state == PrintTaskProcessingState::Processing)
        {
            return Err(GraphError::conflict(format!(
                "Task '{}' of this definition still holds job {}: complete or abort it first.",
                task.id, task.job_number
            )));
        }
        state.tasks.delete_definition(&definition_id)?;
    }
    state.store.flush().await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

// ---------------------------------------------------------------- tasks

async fn list_definition_tasks(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(definition_id): Path<String>,
) -> GraphResult {
    caller(&state, &headers, &TASK_DEFINITIONS)?;
    definition_record(&state, &definition_id)?;
    let items: Vec<PrintTask> = state
        .tasks
        .tasks_of_definition(&definition_id)?
        .iter()
        .map(task_value)
        .collect();
    Ok(json_response(
        StatusCode::OK,
        json!({
            "@odata.context": state.context(&format!("print/taskDefinitions('{definition_id}')/tasks")),
            "value": items,
        }),
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

/// A printTaskTrigger with its `@odata.context`, answered with `status`.
fn trigger_response(state: &CloudState, status: StatusCode, trigger: &TriggerRecord) -> Response {
    json_response(
        status,
        with_context(
            state.context(&format!(
                "print/printers('{}')/taskTriggers/$entity",
                trigger.printer_id
            )),
            trigger_value(trigger),
        ),
    )
}

fn task_response(state: &CloudState, task: &TaskRecord) -> Response {
    json_response(
        StatusCode::OK,
        with_context(
            state.context(&format!(
                "print/taskDefinitions('{}')/tasks/$entity",
                task.definition_id
            )),
            serde_json::to_value(task_value(task)).expect("tasks serialise"),
        ),
    )
}

async fn get_task(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path((definition_id, task_id)): Path<(String, String)>,
) -> GraphResult {
    caller(&state, &headers, &TASK_DEFINITIONS)?;
    let task = task_record(&state, &definition_id, &task_id)?;
    Ok(task_response(&state, &task))
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
    let req: PatchTaskBody = query::json_body(&headers, &body)?;
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
                abort_job(
                    &state,
                    &mut job,
                    format!("The print job was aborted by task '{task_id}'."),
                )?
            }
            _ => None,
        };
        (task, event)
    };
    state.store.flush().await?;
    if let Some(event) = event {
        state.notify_devices(event);
    }
    Ok(task_response(&state, &task))
}

// ---------------------------------------------------------------- triggers

fn trigger_value(t: &TriggerRecord) -> Value {
    serde_json::to_value(PrintTaskTrigger {
        id: t.id.clone(),
        event: t.event,
    })
    .expect("triggers serialise")
}

/// Triggers are a Printer Administrator's business.
fn require_admin(who: &Caller) -> Result<(), GraphError> {
    if is_admin_user(who) {
        Ok(())
    } else {
        Err(GraphError::forbidden(
            "Task triggers need the Printer Administrator role.",
        ))
    }
}

fn printer_trigger(
    state: &CloudState,
    printer_id: &str,
    trigger_id: &str,
) -> Result<TriggerRecord, GraphError> {
    state.printer_record(printer_id)?;
    state
        .tasks
        .trigger_of(printer_id)?
        .filter(|t| t.id == trigger_id)
        .ok_or_else(|| {
            GraphError::not_found(format!(
                "Printer '{printer_id}' has no task trigger '{trigger_id}'."
            ))
        })
}

async fn list_triggers(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(printer_id): Path<String>,
) -> GraphResult {
    let who = caller(&state, &headers, &TRIGGER_READ)?;
    require_admin(&who)?;
    state.printer_record(&printer_id)?;
    let items: Vec<Value> = state
        .tasks
        .trigger_of(&printer_id)?
        .iter()
        .map(trigger_value)
        .collect();
    Ok(json_response(
        StatusCode::OK,
        json!({
            "@odata.context": state.context(&format!("print/printers('{printer_id}')/taskTriggers")),
            "value": items,
        }),
    ))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CreateTriggerBody {
    event: PrintEvent,
    #[serde(rename = "definition@odata.bind")]
    definition_bind: String,
}

/// Binds a definition to a printer. The admin's token must come from the app that created the
/// definition (its `appid`), and a printer takes one trigger.
async fn create_trigger(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(printer_id): Path<String>,
    body: Bytes,
) -> GraphResult {
    let who = caller(&state, &headers, &TRIGGER_WRITE)?;
    require_admin(&who)?;
    let req: CreateTriggerBody = query::json_body(&headers, &body)?;
    if req.event != PrintEvent::JobStarted {
        return Err(GraphError::bad_request(format!(
            "event: '{}' is not an event triggers can fire on (jobStarted).",
            req.event
        )));
    }
    let definition_id = super::bound_id(
        &req.definition_bind,
        "definition@odata.bind",
        "taskDefinitions",
        "a task definition",
    )?;
    let trigger = {
        let _guard = state.write_lock();
        state.printer_record(&printer_id)?;
        let definition = definition_record(&state, &definition_id)?;
        if who.app_id() != Some(definition.app_id.as_str()) {
            return Err(GraphError::forbidden(format!(
                "Task definition '{definition_id}' belongs to another application: sign in through the application that created it."
            )));
        }
        if let Some(existing) = state.tasks.trigger_of(&printer_id)? {
            return Err(GraphError::conflict(format!(
                "Printer '{printer_id}' already has task trigger '{}'; a printer takes one.",
                existing.id
            )));
        }
        let trigger = TriggerRecord {
            id: uuid::Uuid::new_v4().to_string(),
            printer_id: printer_id.clone(),
            event: req.event,
            definition_id,
        };
        state.tasks.put_trigger(&trigger)?;
        trigger
    };
    state.store.flush().await?;
    Ok(trigger_response(&state, StatusCode::CREATED, &trigger))
}

async fn get_trigger(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path((printer_id, trigger_id)): Path<(String, String)>,
) -> GraphResult {
    let who = caller(&state, &headers, &TRIGGER_READ)?;
    require_admin(&who)?;
    let trigger = printer_trigger(&state, &printer_id, &trigger_id)?;
    Ok(trigger_response(&state, StatusCode::OK, &trigger))
}

async fn delete_trigger(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path((printer_id, trigger_id)): Path<(String, String)>,
) -> GraphResult {
    let who = caller(&state, &headers, &TRIGGER_WRITE)?;
    require_admin(&who)?;
    {
        let _guard = state.write_lock();
        printer_trigger(&state, &printer_id, &trigger_id)?;
        state.tasks.delete_trigger(&printer_id)?;
    }
    state.store.flush().await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

// ---------------------------------------------------------------- a job's tasks

async fn list_job_tasks(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path((parent_id, job_id)): Path<(String, String)>,
) -> GraphResult {
    let who = caller(&state, &headers, &JOB_READ)?;
    let printer = state.printer_record(&parent_id)?;
    let rec = state.visible_job(&who, &printer.printer.id, &job_id)?;
    Ok(json_response(
        StatusCode::OK,
        json!({
            "@odata.context": state.context(&format!("print/printers('{parent_id}')/jobs('{job_id}')/tasks")),
            "value": tasks_of_job(&state, &rec)?,
        }),
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

async fn get_job_task(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path((parent_id, job_id, task_id)): Path<(String, String, String)>,
) -> GraphResult {
    let who = caller(&state, &headers, &JOB_READ)?;
    let task = job_task(&state, &who, (&parent_id, &job_id, &task_id))?;
    Ok(task_response(&state, &task))
}

async fn job_task_definition(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path((parent_id, job_id, task_id)): Path<(String, String, String)>,
) -> GraphResult {
    let who = caller(&state, &headers, &JOB_READ)?;
    let task = job_task(&state, &who, (&parent_id, &job_id, &task_id))?;
    let definition = definition_record(&state, &task.definition_id)?;
    Ok(json_response(
        StatusCode::OK,
        with_context(
            state.context("print/taskDefinitions/$entity"),
            definition_value(&definition),
        ),
    ))
}

async fn job_task_trigger(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path((parent_id, job_id, task_id)): Path<(String, String, String)>,
) -> GraphResult {
    let who = caller(&state, &headers, &JOB_READ)?;
    let task = job_task(&state, &who, (&parent_id, &job_id, &task_id))?;
    let trigger = state
        .tasks
        .trigger_of(&task.printer_id)?
        .filter(|t| t.id == task.trigger_id)
        .ok_or_else(|| {
            GraphError::not_found(format!(
                "The trigger that created task '{task_id}' has been deleted."
            ))
        })?;
    Ok(trigger_response(&state, StatusCode::OK, &trigger))
}
