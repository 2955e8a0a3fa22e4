//! Print task triggers (pull printing): a printer's binding of a task definition to an event,
//! a Printer Administrator's business.

use super::task_definitions::{definition_read, definition_record};
use super::tasks::{TRIGGER_READ, TRIGGER_WRITE};
use super::*;
use crate::task_store::TriggerRecord;

/// `$expand=definition` on a trigger; `$select`.
pub(super) const TRIGGER_QUERY: Supported = Supported {
    select: true,
    expand: &["definition"],
    paging: false,
    filter_created_by: false,
};
const TRIGGER_LIST_QUERY: Supported = Supported {
    paging: true,
    ..TRIGGER_QUERY
};

pub(super) fn trigger_value(t: &TriggerRecord) -> Value {
    serde_json::to_value(PrintTaskTrigger {
        id: t.id.clone(),
        event: t.event,
    })
    .expect("triggers serialise")
}

/// A trigger as `q` asks for it: its `definition` expanded, `$select` applied.
pub(super) fn trigger_read(
    state: &CloudState,
    t: &TriggerRecord,
    q: &QueryOptions,
) -> Result<Value, GraphError> {
    let mut v = trigger_value(t);
    if q.expands("definition") {
        v["definition"] = match state.tasks.definition(&t.definition_id)? {
            Some(d) => definition_read(state, &d, &QueryOptions::default())?,
            None => Value::Null,
        };
    }
    query::select_expanded(v, q)
}

/// A printTaskTrigger with its `@odata.context`, answered with `status`.
fn trigger_response(
    state: &CloudState,
    status: StatusCode,
    trigger: &TriggerRecord,
    q: &QueryOptions,
) -> GraphResult {
    Ok(json_response(
        status,
        with_context(
            state.context(&format!(
                "print/printers('{}')/taskTriggers/$entity",
                trigger.printer_id
            )),
            trigger_read(state, trigger, q)?,
        ),
    ))
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

pub(super) async fn list_triggers(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(printer_id): Path<String>,
    RawQuery(raw): RawQuery,
) -> GraphResult {
    let who = caller(&state, &headers, &TRIGGER_READ)?;
    require_admin(&who)?;
    let q = query::parse_query(raw.as_deref(), TRIGGER_LIST_QUERY)?;
    state.printer_record(&printer_id)?;
    let items = state
        .tasks
        .trigger_of(&printer_id)?
        .iter()
        .map(|t| trigger_read(&state, t, &q))
        .collect::<Result<Vec<_>, _>>()?;
    let context = state.context(&format!("print/printers('{printer_id}')/taskTriggers"));
    Ok(json_response(
        StatusCode::OK,
        page(
            &state,
            &format!("/print/printers/{printer_id}/taskTriggers"),
            &q,
            items,
            context,
        ),
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
pub(super) async fn create_trigger(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(printer_id): Path<String>,
    body: Bytes,
) -> GraphResult {
    let who = caller(&state, &headers, &TRIGGER_WRITE)?;
    require_admin(&who)?;
    let req: CreateTriggerBody =
        query::entity_body(&headers, &body, read_only::PRINT_TASK_TRIGGER)?;
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
    trigger_response(
        &state,
        StatusCode::CREATED,
        &trigger,
        &QueryOptions::default(),
    )
}

pub(super) async fn get_trigger(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path((printer_id, trigger_id)): Path<(String, String)>,
    RawQuery(raw): RawQuery,
) -> GraphResult {
    let who = caller(&state, &headers, &TRIGGER_READ)?;
    require_admin(&who)?;
    let q = query::parse_query(raw.as_deref(), TRIGGER_QUERY)?;
    let trigger = printer_trigger(&state, &printer_id, &trigger_id)?;
    trigger_response(&state, StatusCode::OK, &trigger, &q)
}

pub(super) async fn delete_trigger(
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
