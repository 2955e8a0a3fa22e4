//! `/subscriptions`: Graph change notifications for the print events (`JobFetchable`,
//! `JobStarted`). Create runs the webhook's validation handshake first; each caller sees and
//! changes only its own subscriptions; PATCH renews one (its `expirationDateTime`). Delivery is
//! the webhooks engine's (`crate::webhooks`).

use super::task_definitions::definition_record;
use super::*;
use crate::webhooks::{MAX_LIFETIME_MINUTES, SubscriptionRecord, Watched, WebhookError};
use chrono::DateTime;

/// Reading a printer's jobs or a task definition's tasks, as the resources' own pages ask.
const SUBSCRIBE: Permissions = Permissions {
    delegated: &[
        "PrintJob.Read.All",
        "PrintJob.ReadWrite.All",
        "PrintJob.ReadBasic.All",
        "PrintJob.ReadWriteBasic.All",
        "Printer.Read.All",
        "Printer.ReadWrite.All",
        "Printer.FullControl.All",
    ],
    application: &[
        "PrintJob.Read.All",
        "PrintJob.ReadWrite.All",
        "PrintJob.ReadBasic.All",
        "PrintJob.ReadWriteBasic.All",
        "PrintJob.Manage.All",
        "PrintTaskDefinition.ReadWrite.All",
    ],
};

/// Graph's limit on `clientState`.
const CLIENT_STATE_MAX: usize = 128;

pub(super) fn routes(router: Router<AppState>) -> Router<AppState> {
    router
        .route("/subscriptions", get(list).post(create))
        .route(
            "/subscriptions/{subscription_id}",
            get(get_one).patch(renew).delete(delete),
        )
        .route(
            "/subscriptions/{subscription_id}/reauthorize",
            post(reauthorize),
        )
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct CreateBody {
    change_type: Option<String>,
    notification_url: Option<String>,
    resource: Option<String>,
    expiration_date_time: Option<DateTime<Utc>>,
    client_state: Option<String>,
    lifecycle_notification_url: Option<String>,
    notification_query_options: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RenewBody {
    expiration_date_time: Option<DateTime<Utc>>,
}

fn webhook_error(error: WebhookError) -> GraphError {
    match error {
        WebhookError::Refused(message) => GraphError::bad_request(message),
        WebhookError::Store(store) => store.into(),
    }
}

fn check_expiry(expiry: DateTime<Utc>) -> Result<(), GraphError> {
    let now = Utc::now();
    if expiry <= now {
        return Err(GraphError::bad_request(
            "expirationDateTime must be in the future.",
        ));
    }
    if expiry > now + chrono::Duration::minutes(MAX_LIFETIME_MINUTES) {
        return Err(GraphError::bad_request(format!(
            "Subscription expiration can only be {MAX_LIFETIME_MINUTES} minutes in the future."
        )));
    }
    Ok(())
}

fn subscription_response(
    state: &CloudState,
    status: StatusCode,
    record: &SubscriptionRecord,
) -> Response {
    json_response(
        status,
        with_context(state.context("subscriptions/$entity"), record.to_graph()),
    )
}

/// The caller's own subscription, or 404 (another caller's is not found either).
fn own(state: &CloudState, who: &Caller, id: &str) -> Result<SubscriptionRecord, GraphError> {
    state
        .webhooks
        .get(id)?
        .filter(|s| s.creator_id == who.id())
        .ok_or_else(|| GraphError::not_found(format!("No subscription with id '{id}'.")))
}

async fn create(State(state): State<AppState>, headers: HeaderMap, body: Bytes) -> GraphResult {
    let who = caller(&state, &headers, &SUBSCRIBE)?;
    let req: CreateBody = query::json_body(&headers, &body)?;
    let required = |value: Option<String>, name: &str| {
        value
            .filter(|v| !v.trim().is_empty())
            .ok_or_else(|| GraphError::bad_request(format!("{name} is required.")))
    };
    let resource = required(req.resource, "resource")?;
    let change_type = required(req.change_type, "changeType")?;
    let notification_url = required(req.notification_url, "notificationUrl")?;
    let expiry = req
        .expiration_date_time
        .ok_or_else(|| GraphError::bad_request("expirationDateTime is required."))?;
    check_expiry(expiry)?;
    if req
        .client_state
        .as_ref()
        .is_some_and(|c| c.len() > CLIENT_STATE_MAX)
    {
        return Err(GraphError::bad_request(format!(
            "clientState is longer than {CLIENT_STATE_MAX} characters."
        )));
    }
    let watched = Watched::parse(
        &resource,
        &change_type,
        req.notification_query_options.as_deref(),
    )
    .map_err(GraphError::bad_request)?;
    match &watched {
        Watched::JobFetchable { printer_id } => {
            state.printer_record(printer_id)?;
        }
        Watched::JobStarted { definition_id } => {
            let definition = definition_record(&state, definition_id)?;
            if definition.app_id != who.id() {
                return Err(GraphError::forbidden(
                    "Only the application that created the task definition may watch its tasks.",
                ));
            }
        }
    }
    let record = SubscriptionRecord {
        id: uuid::Uuid::new_v4().to_string(),
        resource: resource.trim_start_matches('/').to_owned(),
        change_type,
        notification_query_options: req.notification_query_options,
        client_state: req.client_state,
        notification_url,
        lifecycle_notification_url: req.lifecycle_notification_url,
        expiration_date_time: expiry,
        creator_id: who.id().to_owned(),
        application_id: who.app_id().map(str::to_owned),
        watched,
    };
    let record = state.webhooks.create(record).await.map_err(webhook_error)?;
    state.store.flush().await?;
    tracing::info!(subscription = %record.id, resource = %record.resource, "subscription created");
    Ok(subscription_response(&state, StatusCode::CREATED, &record))
}

async fn list(State(state): State<AppState>, headers: HeaderMap) -> GraphResult {
    let who = caller(&state, &headers, &SUBSCRIBE)?;
    let mine: Vec<Value> = (state.webhooks.list()?.into_iter())
        .filter(|s| s.creator_id == who.id())
        .map(|s| s.to_graph())
        .collect();
    Ok(json_response(
        StatusCode::OK,
        json!({ "@odata.context": state.context("subscriptions"), "value": mine }),
    ))
}

async fn get_one(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> GraphResult {
    let who = caller(&state, &headers, &SUBSCRIBE)?;
    let record = own(&state, &who, &id)?;
    Ok(subscription_response(&state, StatusCode::OK, &record))
}

async fn renew(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<String>,
    body: Bytes,
) -> GraphResult {
    let who = caller(&state, &headers, &SUBSCRIBE)?;
    let req: RenewBody = query::json_body(&headers, &body)?;
    let expiry = req
        .expiration_date_time
        .ok_or_else(|| GraphError::bad_request("expirationDateTime is required to renew."))?;
    check_expiry(expiry)?;
    let mut record = own(&state, &who, &id)?;
    record.expiration_date_time = expiry;
    state.webhooks.renew(&record)?;
    state.store.flush().await?;
    Ok(subscription_response(&state, StatusCode::OK, &record))
}

/// Graph's `reauthorize` action: the emulator's tokens do not expire under a subscription, so
/// it only confirms the subscription is the caller's.
async fn reauthorize(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> GraphResult {
    let who = caller(&state, &headers, &SUBSCRIBE)?;
    own(&state, &who, &id)?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

async fn delete(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> GraphResult {
    let who = caller(&state, &headers, &SUBSCRIBE)?;
    own(&state, &who, &id)?;
    state.webhooks.delete(&id)?;
    state.store.flush().await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}
