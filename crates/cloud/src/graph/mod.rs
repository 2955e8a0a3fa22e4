//! The Graph print routes (`/v1.0/print/...`): the router, the permissions each endpoint's Graph
//! reference page lists, and the helpers every noun shares (caller, JSON shape, paging). The
//! handlers live in one file per noun; each authenticates, checks those permissions, persists
//! before answering, and shapes the JSON the way Graph does.

use super::CloudState;
use super::auth::{Caller, Permissions};
use super::infra::InfraServiceError;
use super::odata::{ErrorCode, GraphError};
use super::query::{self, QueryOptions, Supported};
use super::store::{JobRecord, NewPrinter, OperationRecord, PrinterRecord, ShareRecord};
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
pub(crate) const JOB_CREATE: Permissions = Permissions {
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
/// job its trigger holds (Graph's pull-printing documentation allows it), on the printer path
/// only.
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
mod conversion;
mod documents;
mod envelope;
mod jobs;
mod navigation;
mod operations;
mod printers;
mod request_limits;
mod shares;
mod subscriptions;
mod task_definitions;
mod task_triggers;
mod tasks;

pub(crate) use conversion::{Conversions, resume as resume_conversions};
use documents::{check_content_type, upload_creator, upload_target};
pub(crate) use envelope::envelope;
use jobs::{
    DeviceNotice, accept_job_configuration, collection, job_value, needs_oxps_conversion,
    release_job,
};
use operations::operation_value;
use printers::printer_value;
use shares::{SHARE_QUERY, bound_id, is_admin_user, parse_share_query, share_value};

pub(super) fn router(state: AppState) -> Router {
    Router::new()
        .nest("/v1.0", print_routes())
        .nest("/beta", beta::routes(print_routes(), state.clone()))
        .fallback(|uri: axum::http::Uri| async move {
            GraphError::not_found(format!(
                "Resource not found for the segment '{}'.",
                uri.path()
            ))
        })
        .layer(axum::middleware::from_fn_with_state(
            state.transport_faults.clone(),
            crate::transport_faults::inject,
        ))
        .with_state(state)
        .layer(axum::middleware::from_fn(envelope::envelope))
}

/// Every `/print` route, the same under `/v1.0` and `/beta` (which adds the 2020 upload design).
fn print_routes() -> Router<AppState> {
    let print = Router::new()
        .route("/print/printers", get(printers::list_printers))
        .route("/print/printers/create", post(operations::create_printer))
        .route(
            "/print/printers/{printer_id}",
            get(printers::get_printer)
                .patch(printers::patch_printer)
                .delete(printers::delete_printer),
        )
        .route(
            "/print/printers/{printer_id}/restoreFactoryDefaults",
            post(printers::restore_factory_defaults),
        )
        .route(
            "/print/printers/{printer_id}/shares",
            get(shares::shares_of_printer),
        )
        .route(
            "/print/operations/{operation_id}",
            get(operations::get_operation),
        )
        .route(
            "/print/shares",
            get(shares::list_shares).post(shares::create_share),
        )
        .route(
            "/print/shares/{share_id}",
            get(shares::get_share)
                .patch(shares::patch_share)
                .delete(shares::delete_share),
        )
        .route(
            "/print/shares/{share_id}/printer",
            get(printers::printer_of_share),
        )
        .route(
            "/print/shares/{share_id}/allowedUsers",
            get(shares::list_allowed_users),
        )
        .route(
            "/print/shares/{share_id}/allowedUsers/$ref",
            post(shares::add_allowed_user),
        )
        .route(
            "/print/shares/{share_id}/allowedUsers/{user_id}/$ref",
            axum::routing::delete(shares::remove_allowed_user),
        );
    let print = job_routes::<false>(print, "printers");
    let print = job_routes::<true>(print, "shares");
    subscriptions::routes(navigation::routes(actions::routes(tasks::routes(print))))
}

/// The job and document routes, under printers (`SHARE = false`) or shares (`SHARE = true`).
fn job_routes<const SHARE: bool>(router: Router<AppState>, collection: &str) -> Router<AppState> {
    let base = format!("/print/{collection}/{{parent_id}}/jobs");
    router
        .route(
            &base,
            get(jobs::list_jobs::<SHARE>).post(jobs::create_job::<SHARE>),
        )
        .route(&format!("{base}/{{job_id}}"), get(jobs::get_job::<SHARE>))
        .route(
            &format!("{base}/{{job_id}}/start"),
            post(jobs::start_job::<SHARE>),
        )
        .route(
            &format!("{base}/{{job_id}}/cancel"),
            post(jobs::cancel_job::<SHARE>),
        )
        .route(
            &format!("{base}/{{job_id}}/documents"),
            get(documents::list_documents::<SHARE>),
        )
        .route(
            &format!("{base}/{{job_id}}/documents/{{document_id}}"),
            get(documents::get_document::<SHARE>),
        )
        .route(
            &format!("{base}/{{job_id}}/documents/{{document_id}}/createUploadSession"),
            post(documents::create_upload_session::<SHARE>),
        )
        .route(
            &format!("{base}/{{job_id}}/documents/{{document_id}}/$value"),
            get(documents::document_value::<SHARE>),
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

/// How much of a printer or share a response shows: a collection leaves out the heavy members.
#[derive(Clone, Copy, PartialEq)]
enum View {
    List,
    Single,
}

/// Members of a collection page when the client gives no `$top`: Graph's usual default page
/// size (Universal Print documents none; its job lists page at 100 in practice, as most Graph
/// collections do).
pub(crate) const DEFAULT_PAGE_SIZE: usize = 100;

/// The most members a page holds whatever `$top` asks: Graph's usual maximum page size (its
/// directory collections cap `$top` at 999; Universal Print documents only that `$top=n`
/// returns *up to* n with `@odata.nextLink`, so a capped page is what its clients follow).
pub(crate) const MAX_PAGE_SIZE: usize = 999;

/// Slices a collection into one page per `$skip`/`$skiptoken` and `$top` (the page size when
/// given, the cloud's otherwise, never more than the maximum page size) and adds
/// `@odata.nextLink` when more remain, so no collection comes back in one unbounded page.
fn page(
    state: &CloudState,
    path: &str,
    q: &QueryOptions,
    items: Vec<Value>,
    context: String,
) -> Value {
    let total = items.len();
    let start = q.skip.min(total);
    let end = start
        .saturating_add(q.top.unwrap_or(state.page_size).min(state.max_page_size))
        .min(total);
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

#[cfg(test)]
mod tests {
    use super::*;

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
