//! A job's documents: list, read, the upload session that fills one, and the download of its
//! bytes (`$value`).

use super::*;

pub(super) async fn list_documents<const SHARE: bool>(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path((parent_id, job_id)): Path<(String, String)>,
    RawQuery(raw): RawQuery,
) -> GraphResult {
    let who = caller(&state, &headers, &JOB_READ)?;
    let q = query::parse_query(raw.as_deref(), LIST_QUERY)?;
    let (printer, _) = state.parent_printer(SHARE, &parent_id)?;
    let rec = state.visible_job(&who, &printer.printer.id, &job_id)?;
    let mut doc = serde_json::to_value(&rec.document).expect("documents serialise");
    if let Some(select) = &q.select {
        doc = query::apply_select(doc, select)?;
    }
    let path = format!(
        "/print/{}/{parent_id}/jobs/{job_id}/documents",
        collection(SHARE)
    );
    let context = state.context(&format!(
        "print/{}('{parent_id}')/jobs('{job_id}')/documents",
        collection(SHARE)
    ));
    Ok(json_response(
        StatusCode::OK,
        page(&state, &path, &q, vec![doc], context),
    ))
}

pub(super) async fn get_document<const SHARE: bool>(
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
pub(super) fn check_content_type(
    printer: &PrinterRecord,
    content_type: &str,
) -> Result<(), GraphError> {
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
            ErrorCode::InvalidRequest,
            format!(
                "properties.contentType '{content_type}' is not supported by the printer (supported: {}).",
                types.join(", ")
            ),
        ))
    }
}

pub(super) async fn create_upload_session<const SHARE: bool>(
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
        .create_session(target, &props, &upload_creator(&who))
        .await?;
    let body = with_context(
        state.context("microsoft.graph.uploadSession"),
        serde_json::to_value(session).expect("sessions serialise"),
    );
    Ok(json_response(StatusCode::OK, body))
}

/// Who created an upload session, as both upload designs record it.
pub(super) fn upload_creator(who: &Caller) -> crate::upload::UploadCreator {
    match who {
        Caller::User { id, app_id, .. } => crate::upload::UploadCreator {
            user_id: Some(id.clone()),
            application_id: app_id.clone(),
        },
        Caller::App { id, .. } => crate::upload::UploadCreator {
            user_id: None,
            application_id: Some(id.clone()),
        },
    }
}

/// Checks an upload's properties against the job's printer and the job's state and records the
/// declared content type; shared by v1.0 `createUploadSession` and the beta `uploadSession`.
/// A user uploads once, before `start`; a pull-printing app may replace the document of a job
/// on which its trigger holds a processing task (the old bytes stay until the new ones are in).
pub(super) async fn upload_target(
    state: &CloudState,
    who: &Caller,
    share: bool,
    parent_id: &str,
    job_id: &str,
    document_id: &str,
    props: &PrintDocumentUploadProperties,
) -> Result<crate::upload::UploadTarget, GraphError> {
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
        let _guard = state.write_lock();
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
        crate::upload::UploadTarget {
            printer_id: rec.printer_id.clone(),
            job_id: job_id.to_string(),
            document_id: document_id.to_string(),
        }
    };
    state.store.flush().await?;
    Ok(target)
}

pub(super) async fn document_value<const SHARE: bool>(
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
