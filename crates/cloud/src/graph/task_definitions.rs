//! Print task definitions (pull printing): what an app runs when one of its triggers fires.
//! Only the app that created a definition sees its tasks change; any app with the role reads
//! them.

use super::tasks::{TASK_DEFINITIONS, tasks_of_definition};
use super::*;
use crate::task_store::DefinitionRecord;

/// `$expand=tasks` on a definition; `$select`.
pub(super) const DEFINITION_QUERY: Supported = Supported {
    select: true,
    expand: &["tasks"],
    paging: false,
    filter_created_by: false,
};
const DEFINITION_LIST_QUERY: Supported = Supported {
    paging: true,
    ..DEFINITION_QUERY
};

pub(super) fn definition_value(d: &DefinitionRecord) -> Value {
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

pub(super) fn definition_record(
    state: &CloudState,
    id: &str,
) -> Result<DefinitionRecord, GraphError> {
    state
        .tasks
        .definition(id)?
        .ok_or_else(|| GraphError::not_found(format!("No task definition with id '{id}'.")))
}

/// A definition as `q` asks for it: its `tasks` expanded, `$select` applied.
pub(super) fn definition_read(
    state: &CloudState,
    d: &DefinitionRecord,
    q: &QueryOptions,
) -> Result<Value, GraphError> {
    let mut v = definition_value(d);
    if q.expands("tasks") {
        v["tasks"] = Value::Array(tasks_of_definition(state, &d.id, &QueryOptions::default())?);
    }
    query::select_expanded(v, q)
}

pub(super) async fn list_definitions(
    State(state): State<AppState>,
    headers: HeaderMap,
    RawQuery(raw): RawQuery,
) -> GraphResult {
    caller(&state, &headers, &TASK_DEFINITIONS)?;
    let q = query::parse_query(raw.as_deref(), DEFINITION_LIST_QUERY)?;
    let items = state
        .tasks
        .definitions()?
        .iter()
        .map(|d| definition_read(&state, d, &q))
        .collect::<Result<Vec<_>, _>>()?;
    Ok(json_response(
        StatusCode::OK,
        page(
            &state,
            "/print/taskDefinitions",
            &q,
            items,
            state.context("print/taskDefinitions"),
        ),
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

pub(super) async fn create_definition(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Bytes,
) -> GraphResult {
    let who = caller(&state, &headers, &TASK_DEFINITIONS)?;
    let req: DefinitionBody =
        query::entity_body(&headers, &body, read_only::PRINT_TASK_DEFINITION)?;
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

pub(super) async fn get_definition(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(definition_id): Path<String>,
    RawQuery(raw): RawQuery,
) -> GraphResult {
    caller(&state, &headers, &TASK_DEFINITIONS)?;
    let q = query::parse_query(raw.as_deref(), DEFINITION_QUERY)?;
    let record = definition_record(&state, &definition_id)?;
    Ok(json_response(
        StatusCode::OK,
        with_context(
            state.context("print/taskDefinitions/$entity"),
            definition_read(&state, &record, &q)?,
        ),
    ))
}

pub(super) async fn patch_definition(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(definition_id): Path<String>,
    body: Bytes,
) -> GraphResult {
    caller(&state, &headers, &TASK_DEFINITIONS)?;
    let req: DefinitionBody =
        query::entity_body(&headers, &body, read_only::PRINT_TASK_DEFINITION)?;
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
pub(super) async fn delete_definition(
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
