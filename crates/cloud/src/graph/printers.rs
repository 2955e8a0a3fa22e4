//! Printers: list, read, PATCH (what each permission may change, merged the way OData merges),
//! delete and restore factory defaults.

use super::*;

/// `shares` is the expanded `shares` navigation (`$expand=shares`), when asked for.
pub(super) fn printer_value(
    rec: &PrinterRecord,
    view: View,
    select: Option<&[String]>,
    unknown_members: bool,
    shares: Option<Vec<Value>>,
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
    if let Some(shares) = shares {
        v["shares"] = Value::Array(shares);
    }
    if let Some(select) = select {
        // `capabilities` may be selected even though it was absent by default.
        if selected("capabilities") && v.get("capabilities").is_none() {
            v["capabilities"] = Value::Null;
        }
        v = query::apply_select(v, select)?;
    }
    Ok(v)
}

/// `$expand=shares` (documented for printers) and `$select`, which keeps what was expanded.
const PRINTER_EXPAND: &[&str] = &["shares"];

/// A printer as `q` asks for it: `$select`, and its shares when `$expand=shares`.
fn printer_read(
    state: &CloudState,
    rec: &PrinterRecord,
    view: View,
    q: &QueryOptions,
    unknown_members: bool,
    viewer: &Caller,
) -> Result<Value, GraphError> {
    let shares = if q.expand.iter().any(|e| e == "shares") {
        let shares = state
            .store
            .shares()?
            .iter()
            .filter(|s| s.printer_id == rec.printer.id)
            .map(|s| {
                share_value(
                    state,
                    s,
                    View::List,
                    !is_admin_user(viewer),
                    &QueryOptions::default(),
                    unknown_members,
                    viewer,
                )
            })
            .collect::<Result<Vec<_>, _>>()?;
        Some(shares)
    } else {
        None
    };
    let select = q.select.as_ref().map(|select| {
        // What was expanded stays beside the selected properties.
        let mut select = select.clone();
        select.extend(q.expand.iter().cloned());
        select
    });
    printer_value(rec, view, select.as_deref(), unknown_members, shares)
}

pub(super) async fn list_printers(
    State(state): State<AppState>,
    headers: HeaderMap,
    RawQuery(raw): RawQuery,
) -> GraphResult {
    let who = caller(&state, &headers, &PRINTER_LIST)?;
    let q = query::parse_query(
        raw.as_deref(),
        Supported {
            expand: PRINTER_EXPAND,
            ..LIST_QUERY
        },
    )?;
    let unknown = query::wants_unknown_enum_members(&headers);
    let items = state
        .store
        .printers()?
        .iter()
        .map(|p| printer_read(&state, p, View::List, &q, unknown, &who))
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

pub(super) async fn get_printer(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(printer_id): Path<String>,
    RawQuery(raw): RawQuery,
) -> GraphResult {
    single_printer(
        &state,
        &headers,
        raw.as_deref(),
        |state| state.printer_record(&printer_id),
        "print/printers/$entity".to_owned(),
    )
}

pub(super) async fn printer_of_share(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(share_id): Path<String>,
    RawQuery(raw): RawQuery,
) -> GraphResult {
    single_printer(
        &state,
        &headers,
        raw.as_deref(),
        |state| state.printer_record(&state.share_record(&share_id)?.printer_id),
        format!("print/shares('{share_id}')/printer/$entity"),
    )
}

/// One printer as `GET` answers it, whichever path named it: `$select`/`$expand` checked before
/// the record is looked up, so a bad query is a 400 even for an unknown id.
fn single_printer(
    state: &AppState,
    headers: &HeaderMap,
    raw: Option<&str>,
    record: impl FnOnce(&AppState) -> Result<PrinterRecord, GraphError>,
    context: String,
) -> GraphResult {
    let who = caller(state, headers, &PRINTER_READ)?;
    let q = query::parse_query(
        raw,
        Supported {
            expand: PRINTER_EXPAND,
            ..Supported::SELECT
        },
    )?;
    let rec = record(state)?;
    let v = printer_read(
        state,
        &rec,
        View::Single,
        &q,
        query::wants_unknown_enum_members(headers),
        &who,
    )?;
    Ok(json_response(
        StatusCode::OK,
        with_context(state.context(&context), v),
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

pub(super) async fn patch_printer(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(printer_id): Path<String>,
    body: Bytes,
) -> GraphResult {
    let who = caller(&state, &headers, &PRINTER_WRITE)?;
    let patch = query::entity_object(&headers, &body, read_only::PRINTER)?;
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
        let _guard = state.write_lock();
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
            None,
        )?
    };
    state.store.flush().await?;
    Ok(json_response(
        StatusCode::OK,
        with_context(state.context("print/printers/$entity"), value),
    ))
}

pub(super) async fn delete_printer(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(printer_id): Path<String>,
) -> GraphResult {
    caller(&state, &headers, &PRINTER_DELETE)?;
    {
        let _guard = state.write_lock();
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

pub(super) async fn restore_factory_defaults(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(printer_id): Path<String>,
) -> GraphResult {
    caller(&state, &headers, &PRINTER_WRITE)?;
    {
        let _guard = state.write_lock();
        let mut rec = state.printer_record(&printer_id)?;
        rec.printer.defaults = Some(rec.factory_defaults.clone());
        state.store.put_printer(&rec)?;
    }
    state.store.flush().await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}
