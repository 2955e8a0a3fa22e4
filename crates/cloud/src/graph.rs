//! The Graph print routes (`/v1.0/print/...`): printers, registration operations, shares, jobs
//! and documents. Each handler authenticates, checks the permissions the real endpoint lists
//! (shared/reference/graph-print-api.md §1), persists before answering, and shapes the JSON the
//! way Graph does.

use super::CloudState;
use super::auth::{Caller, Permissions};
use super::infra::InfraError;
use super::odata::GraphError;
use super::query::{self, QueryOptions, Supported};
use super::registration::{NewPrinter, add_printer};
use super::store::{JobRecord, OperationRecord, PrinterRecord, ShareRecord};
use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use chrono::Utc;
use printlab_graph::*;
use serde::Deserialize;
use serde_json::{Map, Value, json};
use std::sync::Arc;

type AppState = Arc<CloudState>;
type GraphResult = Result<Response, GraphError>;

const PRINTER_READ: Permissions = Permissions {
    delegated: &[
        "Printer.Read.All",
        "Printer.ReadWrite.All",
        "Printer.FullControl.All",
    ],
    application: &["Printer.Read.All", "Printer.ReadWrite.All"],
};
const PRINTER_LIST: Permissions = Permissions {
    application: &[],
    ..PRINTER_READ
};
const PRINTER_WRITE: Permissions = Permissions {
    delegated: &["Printer.ReadWrite.All", "Printer.FullControl.All"],
    application: &["Printer.ReadWrite.All"],
};
const PRINTER_DELETE: Permissions = Permissions {
    delegated: &["Printer.FullControl.All"],
    application: &[],
};
const PRINTER_CREATE: Permissions = Permissions {
    delegated: &[
        "Printer.Create",
        "Printer.ReadWrite.All",
        "Printer.FullControl.All",
    ],
    application: &[],
};
const SHARE_READ: Permissions = Permissions {
    delegated: &[
        "PrinterShare.ReadBasic.All",
        "PrinterShare.Read.All",
        "PrinterShare.ReadWrite.All",
    ],
    application: &[],
};
const SHARE_WRITE: Permissions = Permissions {
    delegated: &["PrinterShare.ReadWrite.All"],
    application: &[],
};
const JOB_READ: Permissions = Permissions {
    delegated: &[
        "PrintJob.ReadBasic",
        "PrintJob.Read",
        "PrintJob.ReadBasic.All",
        "PrintJob.Read.All",
        "PrintJob.ReadWriteBasic",
        "PrintJob.ReadWrite",
        "PrintJob.ReadWriteBasic.All",
        "PrintJob.ReadWrite.All",
    ],
    application: &[
        "PrintJob.ReadBasic.All",
        "PrintJob.Read.All",
        "PrintJob.ReadWriteBasic.All",
        "PrintJob.ReadWrite.All",
    ],
};
const JOB_CREATE: Permissions = Permissions {
    delegated: &[
        "PrintJob.Create",
        "PrintJob.ReadWriteBasic",
        "PrintJob.ReadWrite",
        "PrintJob.ReadWriteBasic.All",
        "PrintJob.ReadWrite.All",
    ],
    application: &[],
};
/// createUploadSession: the job creators, plus a pull-printing app replacing the document of a
/// job its trigger holds (reference §1.8), on the printer path only.
const DOCUMENT_UPLOAD: Permissions = Permissions {
    delegated: JOB_CREATE.delegated,
    application: &["PrintJob.ReadWrite.All"],
};
const JOB_CANCEL: Permissions = Permissions {
    delegated: &[
        "PrintJob.ReadWriteBasic",
        "PrintJob.ReadWrite",
        "PrintJob.ReadWriteBasic.All",
        "PrintJob.ReadWrite.All",
    ],
    application: &[],
};
/// Reading other users' jobs needs one of these on top of the admin role.
const ALL_USERS_JOB_SCOPES: &[&str] = &[
    "PrintJob.ReadBasic.All",
    "PrintJob.Read.All",
    "PrintJob.ReadWriteBasic.All",
    "PrintJob.ReadWrite.All",
];

const JOB_QUERY: Supported = Supported {
    select: true,
    expand: &["documents", "tasks"],
    paging: true,
    filter_created_by: true,
};
const LIST_QUERY: Supported = Supported {
    select: true,
    expand: &[],
    paging: true,
    filter_created_by: false,
};

mod actions;
mod beta;
mod navigation;
mod tasks;

pub(super) fn router(state: AppState) -> Router {
    Router::new()
        .nest("/v1.0", print_routes())
        .nest("/beta", beta::routes(print_routes(), state.clone()))
        .fallback(|| async {
            GraphError::new(
                StatusCode::NOT_FOUND,
                "BadRequest",
                "Resource not found for the segment.",
            )
        })
        .with_state(state)
}

/// Every `/print` route, the same under `/v1.0` and `/beta` (which adds the 2020 upload design).
fn print_routes() -> Router<AppState> {
    let print = Router::new()
        .route("/print/printers", get(list_printers))
        .route("/print/printers/create", post(create_printer))
        .route(
            "/print/printers/{printer_id}",
            get(get_printer).patch(patch_printer).delete(delete_printer),
        )
        .route(
            "/print/printers/{printer_id}/restoreFactoryDefaults",
            post(restore_factory_defaults),
        )
        .route(
            "/print/printers/{printer_id}/shares",
            get(shares_of_printer),
        )
        .route("/print/operations/{operation_id}", get(get_operation))
        .route("/print/shares", get(list_shares).post(create_share))
        .route(
            "/print/shares/{share_id}",
            get(get_share).patch(patch_share).delete(delete_share),
        )
        .route("/print/shares/{share_id}/printer", get(printer_of_share))
        .route(
            "/print/shares/{share_id}/allowedUsers",
            get(list_allowed_users),
        )
        .route(
            "/print/shares/{share_id}/allowedUsers/$ref",
            post(add_allowed_user),
        )
        .route(
            "/print/shares/{share_id}/allowedUsers/{user_id}/$ref",
            axum::routing::delete(remove_allowed_user),
        );
    let print = job_routes::<false>(print, "printers");
    let print = job_routes::<true>(print, "shares");
    navigation::routes(actions::routes(tasks::routes(print)))
}

/// The job and document routes, under printers (`SHARE = false`) or shares (`SHARE = true`).
fn job_routes<const SHARE: bool>(router: Router<AppState>, collection: &str) -> Router<AppState> {
    let base = format!("/print/{collection}/{{parent_id}}/jobs");
    router
        .route(&base, get(list_jobs::<SHARE>).post(create_job::<SHARE>))
        .route(&format!("{base}/{{job_id}}"), get(get_job::<SHARE>))
        .route(
            &format!("{base}/{{job_id}}/start"),
            post(start_job::<SHARE>),
        )
        .route(
            &format!("{base}/{{job_id}}/cancel"),
            post(cancel_job::<SHARE>),
        )
        .route(
            &format!("{base}/{{job_id}}/documents"),
            get(list_documents::<SHARE>),
        )
        .route(
            &format!("{base}/{{job_id}}/documents/{{document_id}}"),
            get(get_document::<SHARE>),
        )
        .route(
            &format!("{base}/{{job_id}}/documents/{{document_id}}/createUploadSession"),
            post(create_upload_session::<SHARE>),
        )
        .route(
            &format!("{base}/{{job_id}}/documents/{{document_id}}/$value"),
            get(document_value::<SHARE>),
        )
}

fn caller(
    state: &CloudState,
    headers: &HeaderMap,
    needed: &Permissions,
) -> Result<Caller, GraphError> {
    let auth = headers
        .get(header::AUTHORIZATION)
        .map(|v| v.to_str().unwrap_or(""));
    let caller = state.tokens.verify_header(auth)?;
    caller.require(needed)?;
    Ok(caller)
}

fn json_response(status: StatusCode, body: Value) -> Response {
    let mut response = (status, axum::Json(body)).into_response();
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json;odata.metadata=minimal"),
    );
    response
}

fn with_context(context: String, body: Value) -> Value {
    let mut out = Map::new();
    out.insert("@odata.context".into(), Value::String(context));
    if let Value::Object(map) = body {
        out.extend(map);
    }
    Value::Object(out)
}

impl CloudState {
    fn context(&self, fragment: &str) -> String {
        format!("{}/v1.0/$metadata#{fragment}", self.public_url)
    }

    fn printer_record(&self, id: &str) -> Result<PrinterRecord, GraphError> {
        self.store
            .printer(id)?
            .ok_or_else(|| GraphError::not_found(format!("No printer with id '{id}'.")))
    }

    fn share_record(&self, id: &str) -> Result<ShareRecord, GraphError> {
        self.store
            .share(id)?
            .ok_or_else(|| GraphError::not_found(format!("No printer share with id '{id}'.")))
    }

    /// The printer behind a job route's parent (a printer, or a share's printer).
    fn parent_printer(
        &self,
        share: bool,
        parent_id: &str,
    ) -> Result<(PrinterRecord, Option<ShareRecord>), GraphError> {
        if share {
            let s = self.share_record(parent_id)?;
            Ok((self.printer_record(&s.printer_id)?, Some(s)))
        } else {
            Ok((self.printer_record(parent_id)?, None))
        }
    }

    /// A job the caller may see; someone else's job is reported as missing, not forbidden,
    /// so job numbers do not leak.
    fn visible_job(
        &self,
        caller: &Caller,
        printer_id: &str,
        job_id: &str,
    ) -> Result<JobRecord, GraphError> {
        let missing = || GraphError::not_found(format!("No print job with id '{job_id}'."));
        let number: u64 = job_id.parse().map_err(|_| missing())?;
        let record = self.store.job(printer_id, number)?.ok_or_else(missing)?;
        if caller.may_access_job_of(&record.owner_id) {
            Ok(record)
        } else {
            Err(missing())
        }
    }
}

pub(super) fn lock(state: &CloudState) -> std::sync::MutexGuard<'_, ()> {
    state
        .write_lock
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

// ---------------------------------------------------------------- printers

#[derive(Clone, Copy, PartialEq)]
enum View {
    List,
    Single,
}

fn printer_value(
    rec: &PrinterRecord,
    view: View,
    select: Option<&[String]>,
    unknown_members: bool,
) -> Result<Value, GraphError> {
    let mut p = rec.printer.clone();
    let selected = |name: &str| select.is_some_and(|s| s.iter().any(|n| n == name));
    if view == View::List || !selected("capabilities") {
        p.capabilities = None;
    }
    if view == View::List && !selected("defaults") {
        p.defaults = None;
    }
    if !unknown_members {
        query::hide_evolvable_in_printer(&mut p.capabilities, &mut p.defaults, &mut p.status);
    }
    let mut v = serde_json::to_value(&p).expect("printers serialise");
    if let Some(select) = select {
        // `capabilities` may be selected even though it was absent by default.
        if selected("capabilities") && v.get("capabilities").is_none() {
            v["capabilities"] = Value::Null;
        }
        v = query::apply_select(v, select)?;
    }
    Ok(v)
}

/// Slices a collection per `$top`/`$skiptoken` and adds `@odata.nextLink` when more remain.
fn page(
    state: &CloudState,
    path: &str,
    q: &QueryOptions,
    items: Vec<Value>,
    context: String,
) -> Value {
    let total = items.len();
    let start = q.skip.min(total);
    let end = q.top.map_or(total, |t| (start + t).min(total));
    let mut body = json!({
        "@odata.context": context,
        "value": items[start..end].to_vec(),
    });
    if end < total {
        let mut params = q.repeated_in_next_link();
        if let Some(top) = q.top {
            params.push(("$top", top.to_string()));
        }
        params.push(("$skiptoken", end.to_string()));
        let encoded = serde_urlencoded::to_string(&params).expect("query pairs encode");
        body["@odata.nextLink"] =
            Value::String(format!("{}/v1.0{path}?{encoded}", state.public_url));
    }
    body
}

async fn list_printers(
    State(state): State<AppState>,
    headers: HeaderMap,
    RawQuery(raw): RawQuery,
) -> GraphResult {
    caller(&state, &headers, &PRINTER_LIST)?;
    let q = query::parse_query(raw.as_deref(), LIST_QUERY)?;
    let unknown = query::wants_unknown_enum_members(&headers);
    let items = state
        .store
        .printers()?
        .iter()
        .map(|p| printer_value(p, View::List, q.select.as_deref(), unknown))
        .collect::<Result<Vec<_>, _>>()?;
    let body = page(
        &state,
        "/print/printers",
        &q,
        items,
        state.context("print/printers"),
    );
    Ok(json_response(StatusCode::OK, body))
}

async fn get_printer(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(printer_id): Path<String>,
    RawQuery(raw): RawQuery,
) -> GraphResult {
    caller(&state, &headers, &PRINTER_READ)?;
    let q = query::parse_query(raw.as_deref(), Supported::SELECT)?;
    let rec = state.printer_record(&printer_id)?;
    let v = printer_value(
        &rec,
        View::Single,
        q.select.as_deref(),
        query::wants_unknown_enum_members(&headers),
    )?;
    Ok(json_response(
        StatusCode::OK,
        with_context(state.context("print/printers/$entity"), v),
    ))
}

async fn printer_of_share(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(share_id): Path<String>,
    RawQuery(raw): RawQuery,
) -> GraphResult {
    caller(&state, &headers, &PRINTER_READ)?;
    let q = query::parse_query(raw.as_deref(), Supported::SELECT)?;
    let share = state.share_record(&share_id)?;
    let rec = state.printer_record(&share.printer_id)?;
    let v = printer_value(
        &rec,
        View::Single,
        q.select.as_deref(),
        query::wants_unknown_enum_members(&headers),
    )?;
    Ok(json_response(
        StatusCode::OK,
        with_context(state.context("print/printers/$entity"), v),
    ))
}

const DELEGATED_PRINTER_PATCH: &[&str] = &["defaults", "location", "displayName"];
const APPLICATION_PRINTER_PATCH: &[&str] = &[
    "defaults",
    "location",
    "displayName",
    "capabilities",
    "status",
    "manufacturer",
    "model",
    "isAcceptingJobs",
];
/// Complex properties a PATCH merges into (OData: properties left out keep their values).
const MERGED_COMPLEX: &[&str] = &["defaults", "location", "capabilities"];

/// 400 naming every broken rule (`defaults.mediaSize: ...`) when `violations` is not empty.
fn refuse_violations(
    what: &str,
    violations: Vec<printlab_graph::rules::Violation>,
) -> Result<(), GraphError> {
    if violations.is_empty() {
        return Ok(());
    }
    let listed: Vec<String> = violations.iter().map(ToString::to_string).collect();
    Err(GraphError::bad_request(format!(
        "Invalid {what}: {}.",
        listed.join("; ")
    )))
}

/// A job configuration the printer cannot honour is refused with every offending field named.
fn check_job_configuration(
    config: &PrintJobConfiguration,
    printer: &PrinterRecord,
) -> Result<(), GraphError> {
    let caps = printer.printer.capabilities.clone().unwrap_or_default();
    // A printer registered but not yet described by its device (or app) has nothing to hold a
    // configuration to; its jobs wait for the device either way.
    if caps == PrinterCapabilities::default() {
        return Ok(());
    }
    refuse_violations(
        &format!("configuration for printer '{}'", printer.printer.id),
        printlab_graph::rules::check_job(config, &caps),
    )
}

async fn patch_printer(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(printer_id): Path<String>,
    body: Bytes,
) -> GraphResult {
    let who = caller(&state, &headers, &PRINTER_WRITE)?;
    let patch = query::json_object(&headers, &body)?;
    let allowed = match &who {
        Caller::User { .. } => DELEGATED_PRINTER_PATCH,
        Caller::App { .. } => APPLICATION_PRINTER_PATCH,
    };
    for key in patch.keys() {
        if !allowed.contains(&key.as_str()) {
            return Err(GraphError::bad_request(format!(
                "Property '{key}' cannot be updated with {} permissions (updatable: {}).",
                if matches!(who, Caller::User { .. }) {
                    "delegated"
                } else {
                    "application"
                },
                allowed.join(", ")
            )));
        }
    }
    let capabilities_patched = patch.contains_key("capabilities");
    let defaults_patched = capabilities_patched || patch.contains_key("defaults");
    let value = {
        let _guard = lock(&state);
        let mut rec = state.printer_record(&printer_id)?;
        // Graph lets applications update only printers without a physical device (virtual,
        // pull-print printers), unless the app registered the printer itself.
        if let Caller::App { id, .. } = &who
            && rec.printer.has_physical_device
            && *id != rec.registered_by
        {
            return Err(GraphError::forbidden(
                "Applications may update only virtual printers or printers they registered.",
            ));
        }
        let mut current = serde_json::to_value(&rec.printer).expect("printers serialise");
        for (key, new) in patch {
            match (current.get_mut(&key), new) {
                (Some(Value::Object(old)), Value::Object(fields))
                    if MERGED_COMPLEX.contains(&key.as_str()) =>
                {
                    old.extend(fields);
                }
                (_, new) => {
                    current[key.as_str()] = new;
                }
            }
        }
        let updated: Printer = query::typed(current)?;
        if updated.display_name.trim().is_empty() {
            return Err(GraphError::bad_request("displayName must not be empty."));
        }
        // The whole rule set, on what this PATCH touched: a printer registered through
        // `printers/create` starts with empty capabilities, which only its app fills in.
        let capabilities = updated.capabilities.clone().unwrap_or_default();
        if capabilities_patched {
            refuse_violations(
                "printer capabilities",
                printlab_graph::rules::check_capabilities(&capabilities),
            )?;
        }
        if defaults_patched && let Some(defaults) = &updated.defaults {
            refuse_violations(
                "printer defaults",
                printlab_graph::rules::check_defaults(&capabilities, defaults),
            )?;
        }
        rec.printer = updated;
        state.store.put_printer(&rec)?;
        printer_value(
            &rec,
            View::Single,
            None,
            query::wants_unknown_enum_members(&headers),
        )?
    };
    state.store.flush().await?;
    Ok(json_response(
        StatusCode::OK,
        with_context(state.context("print/printers/$entity"), value),
    ))
}

async fn delete_printer(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(printer_id): Path<String>,
) -> GraphResult {
    caller(&state, &headers, &PRINTER_DELETE)?;
    {
        let _guard = lock(&state);
        let rec = state.printer_record(&printer_id)?;
        if rec.printer.is_shared {
            return Err(GraphError::conflict(
                "The printer is shared: delete its share first.",
            ));
        }
        state.store.delete_printer(&printer_id)?;
        // Its INFRA proxy names become free again; device tokens for it stop working by
        // themselves, since INFRA checks that the printer exists.
        state.store.delete_proxies_of(&printer_id)?;
    }
    state.store.flush().await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

async fn restore_factory_defaults(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(printer_id): Path<String>,
) -> GraphResult {
    caller(&state, &headers, &PRINTER_WRITE)?;
    {
        let _guard = lock(&state);
        let mut rec = state.printer_record(&printer_id)?;
        rec.printer.defaults = Some(rec.factory_defaults.clone());
        state.store.put_printer(&rec)?;
    }
    state.store.flush().await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct CreatePrinterRequest {
    display_name: String,
    manufacturer: String,
    model: String,
    #[serde(default)]
    physical_device_id: Option<String>,
    #[serde(default)]
    has_physical_device: Option<bool>,
    certificate_signing_request: PrintCertificateSigningRequest,
    #[serde(default)]
    connector_id: Option<String>,
    /// printlab's instance annotation: the printer is served by an existing INFRA proxy at
    /// `/ipp/print/{name}` with these HTTP Basic credentials.
    #[serde(default, rename = "@printlab.proxyCredential")]
    proxy_credential: Option<ProxyCredential>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ProxyCredential {
    name: String,
    username: String,
    password: String,
}

async fn create_printer(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Bytes,
) -> GraphResult {
    let who = caller(&state, &headers, &PRINTER_CREATE)?;
    let req: CreatePrinterRequest = query::json_body(&headers, &body)?;
    for (name, value) in [
        ("displayName", &req.display_name),
        ("manufacturer", &req.manufacturer),
        ("model", &req.model),
    ] {
        if value.trim().is_empty() {
            return Err(GraphError::bad_request(format!(
                "{name} is required and must not be empty."
            )));
        }
    }
    if let Some(proxy) = &req.proxy_credential
        && (proxy.username.is_empty() || proxy.password.is_empty())
    {
        return Err(GraphError::bad_request(
            "@printlab.proxyCredential needs a non-empty username and password.",
        ));
    }
    let now = Utc::now();
    let printer_id = uuid::Uuid::new_v4().to_string();
    let certificate = state.ca.issue(
        &req.certificate_signing_request.content,
        &printer_id,
        "certificateSigningRequest.content",
    )?;
    tracing::info!(printer = %printer_id, connector = ?req.connector_id, "printers/create");
    let operation = OperationRecord {
        id: uuid::Uuid::new_v4().to_string(),
        created_date_time: now,
        status: PrintOperationStatus {
            state: PrintOperationProcessingState::Succeeded,
            description: "The operation has completed successfully.".into(),
        },
        certificate: Some(STANDARD.encode(certificate)),
        printer_id: Some(printer_id.clone()),
        created_by: who.id().to_string(),
    };
    add_printer(
        &state,
        NewPrinter {
            id: printer_id.clone(),
            display_name: req.display_name,
            manufacturer: req.manufacturer,
            model: req.model,
            physical_device_id: req.physical_device_id,
            has_physical_device: req.has_physical_device.unwrap_or(true),
            registered_by: who.id().to_string(),
            registered: now,
        },
    )?;
    if let Some(proxy) = &req.proxy_credential {
        let added = state
            .infra
            .add_proxy_credential(&printer_id, &proxy.name, &proxy.username, &proxy.password)
            .await;
        if let Err(e) = added {
            state.store.delete_printer(&printer_id)?;
            state.store.flush().await?;
            return Err(match e {
                InfraError::ProxyNameTaken(_) => GraphError::conflict(e.to_string()),
                InfraError::BadProxyName(_) => GraphError::bad_request(e.to_string()),
                other => GraphError::internal(other.to_string()),
            });
        }
        tracing::info!(printer = %printer_id, name = %proxy.name, "printer provisioned for an INFRA proxy");
    }
    state.store.put_operation(&operation)?;
    state.store.flush().await?;
    let location = format!(
        "{}/v1.0/print/operations/{}",
        state.public_url, operation.id
    );
    let mut response = StatusCode::ACCEPTED.into_response();
    let headers = response.headers_mut();
    headers.insert(
        "Operation-Location",
        HeaderValue::from_str(&location)
            .map_err(|_| GraphError::internal("public URL is not a valid header value"))?,
    );
    headers.insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
    Ok(response)
}

async fn get_operation(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(operation_id): Path<String>,
) -> GraphResult {
    let who = caller(&state, &headers, &PRINTER_CREATE)?;
    let op = state
        .store
        .operation(&operation_id)?
        .filter(|op| op.created_by == who.id())
        .ok_or_else(|| GraphError::not_found(format!("No operation with id '{operation_id}'.")))?;
    let body = with_context(
        state.context("print/operations/$entity"),
        operation_value(&state, &op, query::wants_unknown_enum_members(&headers))?,
    );
    Ok(json_response(StatusCode::OK, body))
}

/// A `printerCreateOperation`, with its printer inlined once it exists.
fn operation_value(
    state: &CloudState,
    op: &OperationRecord,
    unknown_members: bool,
) -> Result<Value, GraphError> {
    let mut body = json!({
        "@odata.type": "#microsoft.graph.printerCreateOperation",
        "id": op.id,
        "createdDateTime": op.created_date_time,
        "status": op.status,
        "certificate": op.certificate,
    });
    if let Some(printer) = op
        .printer_id
        .as_deref()
        .map(|id| state.store.printer(id))
        .transpose()?
        .flatten()
    {
        body["printer"] = printer_value(&printer, View::List, None, unknown_members)?;
    }
    Ok(body)
}

// ---------------------------------------------------------------- shares

fn share_value(
    state: &CloudState,
    share: &ShareRecord,
    view: View,
    basic_only: bool,
    select: Option<&[String]>,
    unknown_members: bool,
) -> Result<Value, GraphError> {
    let printer = state.printer_record(&share.printer_id)?.printer;
    let selected = |name: &str| select.is_some_and(|s| s.iter().any(|n| n == name));
    let mut s = PrinterShare {
        id: share.id.clone(),
        display_name: share.display_name.clone(),
        manufacturer: printer.manufacturer,
        model: printer.model,
        is_accepting_jobs: printer.is_accepting_jobs,
        status: printer.status,
        capabilities: printer
            .capabilities
            .filter(|_| view == View::Single && selected("capabilities")),
        defaults: printer
            .defaults
            .filter(|_| view == View::Single || selected("defaults")),
        location: printer.location,
        allow_all_users: share.allow_all_users,
        created_date_time: share.created_date_time,
        printer: None,
    };
    if !unknown_members {
        query::hide_evolvable_in_printer(&mut s.capabilities, &mut s.defaults, &mut s.status);
    }
    let mut v = serde_json::to_value(&s).expect("shares serialise");
    if basic_only {
        v = query::apply_select(
            v,
            &["id", "displayName", "manufacturer", "model", "location"].map(String::from),
        )?;
    }
    if let Some(select) = select {
        if selected("capabilities") && v.get("capabilities").is_none() {
            v["capabilities"] = Value::Null;
        }
        v = query::apply_select(v, select)?;
    }
    Ok(v)
}

fn is_admin_user(caller: &Caller) -> bool {
    matches!(caller, Caller::User { admin: true, .. })
}

async fn list_shares(
    State(state): State<AppState>,
    headers: HeaderMap,
    RawQuery(raw): RawQuery,
) -> GraphResult {
    let who = caller(&state, &headers, &SHARE_READ)?;
    let q = query::parse_query(raw.as_deref(), LIST_QUERY)?;
    let unknown = query::wants_unknown_enum_members(&headers);
    let basic_only = !is_admin_user(&who);
    let items = state
        .store
        .shares()?
        .iter()
        .map(|s| {
            share_value(
                &state,
                s,
                View::List,
                basic_only,
                q.select.as_deref(),
                unknown,
            )
        })
        .collect::<Result<Vec<_>, _>>()?;
    let body = page(
        &state,
        "/print/shares",
        &q,
        items,
        state.context("print/shares"),
    );
    Ok(json_response(StatusCode::OK, body))
}

async fn shares_of_printer(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(printer_id): Path<String>,
) -> GraphResult {
    let who = caller(&state, &headers, &SHARE_READ)?;
    state.printer_record(&printer_id)?;
    let unknown = query::wants_unknown_enum_members(&headers);
    let items = state
        .store
        .shares()?
        .iter()
        .filter(|s| s.printer_id == printer_id)
        .map(|s| share_value(&state, s, View::List, !is_admin_user(&who), None, unknown))
        .collect::<Result<Vec<_>, _>>()?;
    let body = json!({
        "@odata.context": state.context(&format!("print/printers('{printer_id}')/shares")),
        "value": items,
    });
    Ok(json_response(StatusCode::OK, body))
}

async fn get_share(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(share_id): Path<String>,
    RawQuery(raw): RawQuery,
) -> GraphResult {
    caller(&state, &headers, &SHARE_READ)?;
    let q = query::parse_query(raw.as_deref(), Supported::SELECT)?;
    let share = state.share_record(&share_id)?;
    let v = share_value(
        &state,
        &share,
        View::Single,
        false,
        q.select.as_deref(),
        query::wants_unknown_enum_members(&headers),
    )?;
    Ok(json_response(
        StatusCode::OK,
        with_context(state.context("print/shares/$entity"), v),
    ))
}

/// The printer id in a `printer@odata.bind` URL: `.../print/printers/{id}` or
/// `.../print/printers('{id}')`.
fn bound_printer_id(bind: &str) -> Result<String, GraphError> {
    bound_id(bind, "printer@odata.bind", "printers", "a printer")
}

/// The GUID an `@odata.bind` URL points at in `collection`: `.../{collection}/{id}` or
/// `.../{collection}('{id}')`; a 400 naming `property` otherwise.
pub(super) fn bound_id(
    bind: &str,
    property: &str,
    collection: &str,
    what: &str,
) -> Result<String, GraphError> {
    let bad = || {
        GraphError::bad_request(format!(
            "{property}: '{bind}' is not {what} URL (…/print/{collection}/{{id}})."
        ))
    };
    let (_, tail) = bind.rsplit_once(collection).ok_or_else(bad)?;
    let id = tail
        .strip_prefix("('")
        .and_then(|t| t.strip_suffix("')"))
        .or_else(|| tail.strip_prefix('/'))
        .ok_or_else(bad)?;
    uuid::Uuid::parse_str(id).map_err(|_| bad())?;
    Ok(id.to_string())
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct CreateShareRequest {
    display_name: String,
    #[serde(default)]
    allow_all_users: Option<bool>,
    #[serde(rename = "printer@odata.bind")]
    printer_bind: String,
}

fn check_share_name(name: &str) -> Result<(), GraphError> {
    if name.trim().is_empty() || name.chars().count() > 50 {
        return Err(GraphError::bad_request(
            "displayName must be 1 to 50 characters.",
        ));
    }
    Ok(())
}

/// Marks the printer shared; one share per printer, as Universal Print allows today.
fn share_printer(state: &CloudState, printer_id: &str) -> Result<(), GraphError> {
    let mut printer = state.printer_record(printer_id)?;
    if printer.printer.is_shared {
        return Err(GraphError::conflict(format!(
            "Printer '{printer_id}' is already shared."
        )));
    }
    printer.printer.is_shared = true;
    state.store.put_printer(&printer)?;
    Ok(())
}

fn unshare_printer(state: &CloudState, printer_id: &str) -> Result<(), GraphError> {
    if let Some(mut printer) = state.store.printer(printer_id)? {
        printer.printer.is_shared = false;
        state.store.put_printer(&printer)?;
    }
    Ok(())
}

async fn create_share(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Bytes,
) -> GraphResult {
    caller(&state, &headers, &SHARE_WRITE)?;
    let req: CreateShareRequest = query::json_body(&headers, &body)?;
    check_share_name(&req.display_name)?;
    let printer_id = bound_printer_id(&req.printer_bind)?;
    let share = {
        let _guard = lock(&state);
        share_printer(&state, &printer_id)?;
        let share = ShareRecord {
            id: uuid::Uuid::new_v4().to_string(),
            display_name: req.display_name,
            allow_all_users: req.allow_all_users.unwrap_or(false),
            created_date_time: Utc::now(),
            printer_id,
            allowed_users: Vec::new(),
        };
        state.store.put_share(&share)?;
        share
    };
    state.store.flush().await?;
    let v = share_value(
        &state,
        &share,
        View::Single,
        false,
        None,
        query::wants_unknown_enum_members(&headers),
    )?;
    Ok(json_response(
        StatusCode::CREATED,
        with_context(state.context("print/shares/$entity"), v),
    ))
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct PatchShareRequest {
    #[serde(default)]
    display_name: Option<String>,
    #[serde(default)]
    allow_all_users: Option<bool>,
    #[serde(default, rename = "printer@odata.bind")]
    printer_bind: Option<String>,
}

async fn patch_share(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(share_id): Path<String>,
    body: Bytes,
) -> GraphResult {
    caller(&state, &headers, &SHARE_WRITE)?;
    let req: PatchShareRequest = query::json_body(&headers, &body)?;
    let share = {
        let _guard = lock(&state);
        let mut share = state.share_record(&share_id)?;
        if let Some(name) = req.display_name {
            check_share_name(&name)?;
            share.display_name = name;
        }
        if let Some(all) = req.allow_all_users {
            share.allow_all_users = all;
        }
        if let Some(bind) = req.printer_bind {
            let new_printer = bound_printer_id(&bind)?;
            if new_printer != share.printer_id {
                share_printer(&state, &new_printer)?;
                unshare_printer(&state, &share.printer_id)?;
                share.printer_id = new_printer;
            }
        }
        state.store.put_share(&share)?;
        share
    };
    state.store.flush().await?;
    let v = share_value(
        &state,
        &share,
        View::Single,
        false,
        None,
        query::wants_unknown_enum_members(&headers),
    )?;
    Ok(json_response(
        StatusCode::OK,
        with_context(state.context("print/shares/$entity"), v),
    ))
}

async fn delete_share(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(share_id): Path<String>,
) -> GraphResult {
    caller(&state, &headers, &SHARE_WRITE)?;
    {
        let _guard = lock(&state);
        let share = state.share_record(&share_id)?;
        state.store.delete_share(&share_id)?;
        unshare_printer(&state, &share.printer_id)?;
    }
    state.store.flush().await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

async fn list_allowed_users(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(share_id): Path<String>,
) -> GraphResult {
    caller(&state, &headers, &SHARE_READ)?;
    let share = state.share_record(&share_id)?;
    let users: Vec<Value> = share
        .allowed_users
        .iter()
        .map(|id| json!({"id": id}))
        .collect();
    Ok(json_response(
        StatusCode::OK,
        json!({"@odata.context": state.context("users"), "value": users}),
    ))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ReferenceBody {
    #[serde(rename = "@odata.id")]
    odata_id: String,
}

async fn add_allowed_user(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(share_id): Path<String>,
    body: Bytes,
) -> GraphResult {
    caller(&state, &headers, &SHARE_WRITE)?;
    let req: ReferenceBody = query::json_body(&headers, &body)?;
    let user_id = req
        .odata_id
        .rsplit_once("users/")
        .map(|(_, id)| {
            id.trim_matches(|c| c == '(' || c == ')' || c == '\'')
                .to_string()
        })
        .filter(|id| uuid::Uuid::parse_str(id).is_ok())
        .ok_or_else(|| {
            GraphError::bad_request(format!(
                "@odata.id: '{}' is not a user URL (…/users/{{id}}).",
                req.odata_id
            ))
        })?;
    {
        let _guard = lock(&state);
        let mut share = state.share_record(&share_id)?;
        if !share.allowed_users.contains(&user_id) {
            share.allowed_users.push(user_id);
            state.store.put_share(&share)?;
        }
    }
    state.store.flush().await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

async fn remove_allowed_user(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path((share_id, user_id)): Path<(String, String)>,
) -> GraphResult {
    caller(&state, &headers, &SHARE_WRITE)?;
    {
        let _guard = lock(&state);
        let mut share = state.share_record(&share_id)?;
        let before = share.allowed_users.len();
        share.allowed_users.retain(|u| *u != user_id);
        if share.allowed_users.len() == before {
            return Err(GraphError::not_found(format!(
                "User '{user_id}' is not among the share's allowed users."
            )));
        }
        state.store.put_share(&share)?;
    }
    state.store.flush().await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

// ---------------------------------------------------------------- jobs

fn collection(share: bool) -> &'static str {
    if share { "shares" } else { "printers" }
}

fn job_value(
    state: &CloudState,
    rec: &JobRecord,
    q: &QueryOptions,
    unknown_members: bool,
) -> Result<Value, GraphError> {
    let mut job = rec.job.clone();
    if q.expand.iter().any(|e| e == "documents") {
        job.documents = Some(vec![rec.document.clone()]);
    }
    if q.expand.iter().any(|e| e == "tasks") {
        job.tasks = Some(tasks::tasks_of_job(state, rec)?);
    }
    if !unknown_members {
        query::hide_evolvable_finishings(&mut job.configuration.finishings);
    }
    let v = serde_json::to_value(&job).expect("jobs serialise");
    match &q.select {
        Some(select) => {
            let mut select = select.clone();
            select.extend(q.expand.iter().cloned());
            query::apply_select(v, &select)
        }
        None => Ok(v),
    }
}

async fn list_jobs<const SHARE: bool>(
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

async fn create_job<const SHARE: bool>(
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
    let req: CreateJobRequest = query::json_body(&headers, &body)?;
    let (printer, share) = state.parent_printer(SHARE, &parent_id)?;
    check_job_configuration(&req.configuration, &printer)?;
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
    let record = JobRecord {
        printer_id: printer.printer.id.clone(),
        job: PrintJob {
            id: number.to_string(),
            created_date_time: Utc::now(),
            created_by: Some(UserIdentity {
                id: Some(user_id.clone()),
                display_name: Some(upn.split('@').next().unwrap_or(upn).to_string()),
                ip_address: None,
                user_principal_name: Some(upn.clone()),
            }),
            configuration: req.configuration,
            status: PrintJobStatus {
                state: PrintJobProcessingState::Paused,
                details: vec![PrintJobStateDetail::UploadPending],
                description: "The job is not a candidate for processing yet.".into(),
                is_acquired_by_printer: false,
            },
            is_fetchable: false,
            redirected_from: None,
            redirected_to: None,
            error_code: None,
            acknowledged_date_time: None,
            documents: None,
            tasks: None,
        },
        document: PrintDocument {
            id: uuid::Uuid::new_v4().to_string(),
            display_name: Some(String::new()),
            content_type: Some(String::new()),
            size: 0,
            uploaded_date_time: None,
            downloaded_date_time: None,
        },
        owner_id: user_id.clone(),
        document_stored: false,
        declared_content_type: None,
        device: Default::default(),
    };
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
        with_context(state.context("print/printJobs/$entity"), v),
    ))
}

async fn get_job<const SHARE: bool>(
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
fn needs_oxps_conversion(printer: &PrinterRecord, content_type: Option<&str>) -> bool {
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

async fn start_job<const SHARE: bool>(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path((parent_id, job_id)): Path<(String, String)>,
) -> GraphResult {
    let who = caller(&state, &headers, &JOB_CREATE)?;
    let (printer, _) = state.parent_printer(SHARE, &parent_id)?;
    let (status, released) = {
        let _guard = lock(&state);
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
    Fetchable { printer_id: String, job_id: String },
    Canceled { printer_id: String, job_id: String },
}

impl CloudState {
    /// Tells INFRA (devices) about a job change already flushed to the store.
    fn notify_devices(&self, notice: DeviceNotice) {
        match notice {
            DeviceNotice::Fetchable { printer_id, job_id } => {
                self.infra.job_fetchable(&printer_id, &job_id)
            }
            DeviceNotice::Canceled { printer_id, job_id } => {
                self.infra.job_canceled(&printer_id, &job_id)
            }
        }
    }
}

/// Makes a started job fetchable for its printer: `processing` (`transforming` when the cloud
/// converts OXPS to PDF), stored. Called with the write lock held, from `start` and when a
/// pull-printing task releases a held job; the caller flushes the store and then passes the
/// returned notice to `notify_devices`.
fn release_job(
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
    rec.job.is_fetchable = true;
    state.store.put_job(rec)?;
    Ok(DeviceNotice::Fetchable {
        printer_id: rec.printer_id.clone(),
        job_id: rec.job.id.clone(),
    })
}

async fn cancel_job<const SHARE: bool>(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path((parent_id, job_id)): Path<(String, String)>,
) -> GraphResult {
    let who = caller(&state, &headers, &JOB_CANCEL)?;
    let (printer, _) = state.parent_printer(SHARE, &parent_id)?;
    {
        let _guard = lock(&state);
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

async fn list_documents<const SHARE: bool>(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path((parent_id, job_id)): Path<(String, String)>,
    RawQuery(raw): RawQuery,
) -> GraphResult {
    let who = caller(&state, &headers, &JOB_READ)?;
    let q = query::parse_query(raw.as_deref(), Supported::SELECT)?;
    let (printer, _) = state.parent_printer(SHARE, &parent_id)?;
    let rec = state.visible_job(&who, &printer.printer.id, &job_id)?;
    let mut doc = serde_json::to_value(&rec.document).expect("documents serialise");
    if let Some(select) = &q.select {
        doc = query::apply_select(doc, select)?;
    }
    let context = state.context(&format!(
        "print/{}('{parent_id}')/jobs('{job_id}')/documents",
        collection(SHARE)
    ));
    Ok(json_response(
        StatusCode::OK,
        json!({"@odata.context": context, "value": [doc]}),
    ))
}

async fn get_document<const SHARE: bool>(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path((parent_id, job_id, document_id)): Path<(String, String, String)>,
    RawQuery(raw): RawQuery,
) -> GraphResult {
    let who = caller(&state, &headers, &JOB_READ)?;
    let q = query::parse_query(raw.as_deref(), Supported::SELECT)?;
    let (printer, _) = state.parent_printer(SHARE, &parent_id)?;
    let rec = state.visible_job(&who, &printer.printer.id, &job_id)?;
    if rec.document.id != document_id {
        return Err(GraphError::not_found(format!(
            "No document '{document_id}' in job {job_id}."
        )));
    }
    let mut doc = serde_json::to_value(&rec.document).expect("documents serialise");
    if let Some(select) = &q.select {
        doc = query::apply_select(doc, select)?;
    }
    let context = state.context(&format!(
        "print/{}('{parent_id}')/jobs('{job_id}')/documents/$entity",
        collection(SHARE)
    ));
    Ok(json_response(StatusCode::OK, with_context(context, doc)))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CreateUploadSessionRequest {
    properties: PrintDocumentUploadProperties,
}

/// The content type the printer accepts: one of its capabilities, or OXPS for a printer that
/// takes PDF but not OXPS (the cloud converts).
fn check_content_type(printer: &PrinterRecord, content_type: &str) -> Result<(), GraphError> {
    let types = printer
        .printer
        .capabilities
        .as_ref()
        .and_then(|c| c.content_types.clone())
        .unwrap_or_default();
    if types.iter().any(|t| t == content_type) || needs_oxps_conversion(printer, Some(content_type))
    {
        Ok(())
    } else {
        Err(GraphError::new(
            StatusCode::BAD_REQUEST,
            "invalidRequest",
            format!(
                "properties.contentType '{content_type}' is not supported by the printer (supported: {}).",
                types.join(", ")
            ),
        ))
    }
}

async fn create_upload_session<const SHARE: bool>(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path((parent_id, job_id, document_id)): Path<(String, String, String)>,
    body: Bytes,
) -> GraphResult {
    let who = caller(&state, &headers, &DOCUMENT_UPLOAD)?;
    let req: CreateUploadSessionRequest = query::json_body(&headers, &body)?;
    let props = req.properties;
    let target = upload_target(
        &state,
        &who,
        SHARE,
        &parent_id,
        &job_id,
        &document_id,
        &props,
    )
    .await?;
    let session = state
        .uploads
        .create_session(target, &props, &upload_creator(&who))?;
    let body = with_context(
        state.context("microsoft.graph.uploadSession"),
        serde_json::to_value(session).expect("sessions serialise"),
    );
    Ok(json_response(StatusCode::OK, body))
}

/// Who created an upload session, as both upload designs record it.
fn upload_creator(who: &Caller) -> super::upload::UploadCreator {
    match who {
        Caller::User { id, app_id, .. } => super::upload::UploadCreator {
            user_id: Some(id.clone()),
            application_id: app_id.clone(),
        },
        Caller::App { id, .. } => super::upload::UploadCreator {
            user_id: None,
            application_id: Some(id.clone()),
        },
    }
}

/// Checks an upload's properties against the job's printer and the job's state and records the
/// declared content type; shared by v1.0 `createUploadSession` and the beta `uploadSession`.
/// A user uploads once, before `start`; a pull-printing app may replace the document of a job
/// on which its trigger holds a processing task (the old bytes stay until the new ones are in).
async fn upload_target(
    state: &CloudState,
    who: &Caller,
    share: bool,
    parent_id: &str,
    job_id: &str,
    document_id: &str,
    props: &PrintDocumentUploadProperties,
) -> Result<super::upload::UploadTarget, GraphError> {
    if props.size <= 0 {
        return Err(GraphError::bad_request(
            "properties.size must be a positive number of bytes.",
        ));
    }
    if props.document_name.trim().is_empty() {
        return Err(GraphError::bad_request(
            "properties.documentName must not be empty.",
        ));
    }
    let (printer, _) = state.parent_printer(share, parent_id)?;
    check_content_type(&printer, &props.content_type)?;
    let target = {
        let _guard = lock(state);
        let mut rec = state.visible_job(who, &printer.printer.id, job_id)?;
        if rec.document.id != document_id {
            return Err(GraphError::not_found(format!(
                "No document '{document_id}' in job {job_id}."
            )));
        }
        if let Caller::App { .. } = who {
            if share {
                return Err(GraphError::forbidden(
                    "Applications upload documents through /print/printers/{id}/jobs, not shares.",
                ));
            }
            tasks::task_of_calling_app(state, who, &rec)?;
            if rec.job.status.state.is_terminal() {
                return Err(GraphError::conflict(format!(
                    "Job {job_id} is already {}.",
                    rec.job.status.state
                )));
            }
        } else if rec.document_stored
            || !rec
                .job
                .status
                .details
                .contains(&PrintJobStateDetail::UploadPending)
        {
            return Err(GraphError::conflict(format!(
                "Job {job_id} no longer accepts an upload."
            )));
        }
        rec.declared_content_type = Some(props.content_type.clone());
        state.store.put_job(&rec)?;
        super::upload::UploadTarget {
            printer_id: rec.printer_id.clone(),
            job_id: job_id.to_string(),
            document_id: document_id.to_string(),
        }
    };
    state.store.flush().await?;
    Ok(target)
}

async fn document_value<const SHARE: bool>(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path((parent_id, job_id, document_id)): Path<(String, String, String)>,
) -> GraphResult {
    let who = caller(&state, &headers, &JOB_READ)?;
    let (printer, _) = state.parent_printer(SHARE, &parent_id)?;
    let rec = state.visible_job(&who, &printer.printer.id, &job_id)?;
    if rec.document.id != document_id {
        return Err(GraphError::not_found(format!(
            "No document '{document_id}' in job {job_id}."
        )));
    }
    let location = state.uploads.download_url(&document_id)?;
    let mut response = StatusCode::FOUND.into_response();
    response.headers_mut().insert(
        header::LOCATION,
        HeaderValue::from_str(&location)
            .map_err(|_| GraphError::internal("download URL is not a valid header value"))?,
    );
    Ok(response)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn printer_binds_parse_in_both_url_forms() {
        let id = "0f9c2c6e-7e51-4d6b-9d1b-3c8e2f0a1b2c";
        assert_eq!(
            bound_printer_id(&format!(
                "https://graph.microsoft.com/v1.0/print/printers/{id}"
            ))
            .unwrap(),
            id
        );
        assert_eq!(
            bound_printer_id(&format!("http://x/v1.0/print/printers('{id}')")).unwrap(),
            id
        );
        assert!(bound_printer_id("http://x/v1.0/print/shares/abc").is_err());
    }

    #[test]
    fn rule_violations_are_named_in_the_400() {
        let caps = PrinterCapabilities {
            content_types: Some(vec!["application/pdf".into()]),
            ..Default::default()
        };
        let d = PrinterDefaults {
            content_type: Some("image/pwg-raster".into()),
            ..Default::default()
        };
        let err = refuse_violations(
            "printer defaults",
            printlab_graph::rules::check_defaults(&caps, &d),
        )
        .unwrap_err();
        assert_eq!(err.status, StatusCode::BAD_REQUEST);
        assert!(
            err.message.contains("defaults.contentType"),
            "{}",
            err.message
        );
        assert!(
            refuse_violations(
                "printer defaults",
                printlab_graph::rules::check_defaults(&caps, &PrinterDefaults::default())
            )
            .is_ok()
        );
    }
}
