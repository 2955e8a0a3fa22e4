//! `printers/create` and the `printerCreateOperation` it answers with: how an admin makes a
//! printer through Graph and collects its certificate.

use super::*;

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

pub(super) async fn create_printer(
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
    state.store.add_printer(NewPrinter {
        id: printer_id.clone(),
        display_name: req.display_name,
        manufacturer: req.manufacturer,
        model: req.model,
        physical_device_id: req.physical_device_id,
        has_physical_device: req.has_physical_device.unwrap_or(true),
        registered_by: who.id().to_string(),
        registered: now,
        location: None,
    })?;
    if let Some(proxy) = &req.proxy_credential {
        let added = state
            .infra
            .add_proxy_credential(&printer_id, &proxy.name, &proxy.username, &proxy.password)
            .await;
        if let Err(e) = added {
            state.store.delete_printer(&printer_id)?;
            state.store.flush().await?;
            return Err(match e {
                InfraServiceError::ProxyNameTaken(_) => GraphError::conflict(e.to_string()),
                InfraServiceError::BadProxyName(_) => GraphError::bad_request(e.to_string()),
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

pub(super) async fn get_operation(
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
pub(super) fn operation_value(
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
        body["printer"] = printer_value(&printer, View::List, None, unknown_members, None)?;
    }
    Ok(body)
}
