//! Printer shares: list, read, create, PATCH (rebinding to another printer), delete, and the
//! users a share is allowed to.

use super::*;

/// What a share's `$expand` can name: the navigations the cloud keeps (`allowedGroups` is not
/// one: the cloud has no groups).
const SHARE_EXPAND: &[&str] = &["printer", "allowedUsers"];
/// The query options of one share's read: `$select`, `$expand`.
pub(super) const SHARE_QUERY: Supported = Supported {
    expand: SHARE_EXPAND,
    ..Supported::SELECT
};
/// The query options of a list of shares: those of a share's read, and paging.
const SHARE_LIST_QUERY: Supported = Supported {
    expand: SHARE_EXPAND,
    ..LIST_QUERY
};

/// What Graph's List shares gives of each share to a user who is not a Printer Administrator
/// ("a limited set of properties"); the other properties are read with Get printerShare.
const BASIC_SHARE_PROPERTIES: [&str; 5] =
    ["id", "displayName", "manufacturer", "model", "location"];

/// Parses a share route's query options; `$expand=printer` needs what reading the printer
/// through `GET /print/shares/{id}/printer` needs, so the expansion shows no more than that path.
pub(super) fn parse_share_query(
    raw: Option<&str>,
    supported: Supported,
    who: &Caller,
) -> Result<QueryOptions, GraphError> {
    let q = query::parse_query(raw, supported)?;
    if q.expands("printer") {
        who.require(&PRINTER_READ)?;
    }
    Ok(q)
}

/// A share as `q` asks for it: `$select`, and its `printer` and `allowedUsers` when expanded.
/// `basic_only` keeps only what a non-administrator's listing shows; `viewer` is the caller,
/// whose `viewPoint` the share shows.
pub(super) fn share_value(
    state: &CloudState,
    share: &ShareRecord,
    view: View,
    basic_only: bool,
    q: &QueryOptions,
    unknown_members: bool,
    viewer: &Caller,
) -> Result<Value, GraphError> {
    let printer_record = state.printer_record(&share.printer_id)?;
    let printer = printer_record.printer.clone();
    let view_point = match viewer {
        Caller::User { id, .. } => Some(PrinterShareViewpoint {
            last_used_date_time: last_used_by(state, &share.printer_id, id)?,
        }),
        Caller::App { .. } => None,
    };
    let select = q.select.as_deref();
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
        view_point,
        printer: None,
    };
    if !unknown_members {
        query::hide_evolvable_in_printer(&mut s.capabilities, &mut s.defaults, &mut s.status);
    }
    let mut v = serde_json::to_value(&s).expect("shares serialise");
    if basic_only {
        refuse_unlisted_selection(&v, select.unwrap_or_default())?;
        v = query::apply_select(v, &BASIC_SHARE_PROPERTIES.map(String::from))?;
    }
    if q.expands("printer") {
        v["printer"] = printer_value(&printer_record, view, None, unknown_members, None)?;
    }
    if q.expands("allowedUsers") {
        v["allowedUsers"] = share
            .allowed_users
            .iter()
            .map(|id| allowed_user(id))
            .collect();
    }
    // `capabilities` may be selected even though it was absent by default.
    if selected("capabilities") && v.get("capabilities").is_none() {
        v["capabilities"] = Value::Null;
    }
    query::select_expanded(v, q)
}

/// A 400 for a `$select` naming a property the share has (in `full`) that a non-administrator's
/// listing leaves out: it is not available to this caller here, which is not the same as the
/// share not having it.
fn refuse_unlisted_selection(full: &Value, select: &[String]) -> Result<(), GraphError> {
    match select
        .iter()
        .find(|name| !BASIC_SHARE_PROPERTIES.contains(&name.as_str()) && full.get(name).is_some())
    {
        Some(name) => Err(GraphError::bad_request(format!(
            "$select: '{name}' is not available to this caller when listing shares: a listing \
             for a user who is not a Printer Administrator shows only {}; read the share \
             (GET /print/shares/{{id}}) for its other properties.",
            BASIC_SHARE_PROPERTIES.join(", ")
        ))),
        None => Ok(()),
    }
}

/// A member of a share's `allowedUsers`, as the cloud knows users: by id.
fn allowed_user(id: &str) -> Value {
    json!({ "id": id })
}

/// When `user_id` last created a job on the printer (Graph: "when the printer was last used by
/// the signed-in user").
fn last_used_by(
    state: &CloudState,
    printer_id: &str,
    user_id: &str,
) -> Result<Option<chrono::DateTime<Utc>>, GraphError> {
    Ok(state
        .store
        .jobs_of(printer_id)?
        .iter()
        .filter(|j| j.owner_id == user_id)
        .map(|j| j.job.created_date_time)
        .max())
}

pub(super) fn is_admin_user(caller: &Caller) -> bool {
    matches!(caller, Caller::User { admin: true, .. })
}

pub(super) async fn list_shares(
    State(state): State<AppState>,
    headers: HeaderMap,
    RawQuery(raw): RawQuery,
) -> GraphResult {
    let who = caller(&state, &headers, &SHARE_READ)?;
    let q = parse_share_query(raw.as_deref(), SHARE_LIST_QUERY, &who)?;
    let unknown = query::wants_unknown_enum_members(&headers);
    let basic_only = !is_admin_user(&who);
    let items = state
        .store
        .shares()?
        .iter()
        .map(|s| share_value(&state, s, View::List, basic_only, &q, unknown, &who))
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

pub(super) async fn shares_of_printer(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(printer_id): Path<String>,
    RawQuery(raw): RawQuery,
) -> GraphResult {
    let who = caller(&state, &headers, &SHARE_READ)?;
    let q = parse_share_query(raw.as_deref(), SHARE_LIST_QUERY, &who)?;
    state.printer_record(&printer_id)?;
    let unknown = query::wants_unknown_enum_members(&headers);
    let items = state
        .store
        .shares()?
        .iter()
        .filter(|s| s.printer_id == printer_id)
        .map(|s| {
            share_value(
                &state,
                s,
                View::List,
                !is_admin_user(&who),
                &q,
                unknown,
                &who,
            )
        })
        .collect::<Result<Vec<_>, _>>()?;
    let body = page(
        &state,
        &format!("/print/printers/{printer_id}/shares"),
        &q,
        items,
        state.context(&format!("print/printers('{printer_id}')/shares")),
    );
    Ok(json_response(StatusCode::OK, body))
}

pub(super) async fn get_share(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(share_id): Path<String>,
    RawQuery(raw): RawQuery,
) -> GraphResult {
    let who = caller(&state, &headers, &SHARE_READ)?;
    let q = parse_share_query(raw.as_deref(), SHARE_QUERY, &who)?;
    let share = state.share_record(&share_id)?;
    let v = share_value(
        &state,
        &share,
        View::Single,
        false,
        &q,
        query::wants_unknown_enum_members(&headers),
        &who,
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

pub(super) async fn create_share(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Bytes,
) -> GraphResult {
    let who = caller(&state, &headers, &SHARE_WRITE)?;
    let req: CreateShareRequest = query::entity_body(&headers, &body, read_only::PRINTER_SHARE)?;
    check_share_name(&req.display_name)?;
    let printer_id = bound_printer_id(&req.printer_bind)?;
    let share = {
        let _guard = state.write_lock();
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
        &QueryOptions::default(),
        query::wants_unknown_enum_members(&headers),
        &who,
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

pub(super) async fn patch_share(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(share_id): Path<String>,
    body: Bytes,
) -> GraphResult {
    let who = caller(&state, &headers, &SHARE_WRITE)?;
    let req: PatchShareRequest = query::entity_body(&headers, &body, read_only::PRINTER_SHARE)?;
    let share = {
        let _guard = state.write_lock();
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
        &QueryOptions::default(),
        query::wants_unknown_enum_members(&headers),
        &who,
    )?;
    Ok(json_response(
        StatusCode::OK,
        with_context(state.context("print/shares/$entity"), v),
    ))
}

pub(super) async fn delete_share(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(share_id): Path<String>,
) -> GraphResult {
    caller(&state, &headers, &SHARE_WRITE)?;
    {
        let _guard = state.write_lock();
        let share = state.share_record(&share_id)?;
        state.store.delete_share(&share_id)?;
        unshare_printer(&state, &share.printer_id)?;
    }
    state.store.flush().await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

pub(super) async fn list_allowed_users(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(share_id): Path<String>,
    RawQuery(raw): RawQuery,
) -> GraphResult {
    caller(&state, &headers, &SHARE_READ)?;
    let q = query::parse_query(raw.as_deref(), LIST_QUERY)?;
    let share = state.share_record(&share_id)?;
    let users = share
        .allowed_users
        .iter()
        .map(|id| {
            let user = allowed_user(id);
            match &q.select {
                Some(select) => query::apply_select(user, select),
                None => Ok(user),
            }
        })
        .collect::<Result<Vec<_>, _>>()?;
    Ok(json_response(
        StatusCode::OK,
        page(
            &state,
            &format!("/print/shares/{share_id}/allowedUsers"),
            &q,
            users,
            state.context(&format!("print/shares('{share_id}')/allowedUsers")),
        ),
    ))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ReferenceBody {
    #[serde(rename = "@odata.id")]
    odata_id: String,
}

pub(super) async fn add_allowed_user(
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
        let _guard = state.write_lock();
        let mut share = state.share_record(&share_id)?;
        if !share.allowed_users.contains(&user_id) {
            share.allowed_users.push(user_id);
            state.store.put_share(&share)?;
        }
    }
    state.store.flush().await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

pub(super) async fn remove_allowed_user(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path((share_id, user_id)): Path<(String, String)>,
) -> GraphResult {
    caller(&state, &headers, &SHARE_WRITE)?;
    {
        let _guard = state.write_lock();
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
}
