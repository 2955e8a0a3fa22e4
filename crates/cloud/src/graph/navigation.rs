//! Navigation paths Graph v1.0 documents beside the main collections (`print/operations` and
//! `printer/shares`): the list of registration operations, and a printer's share addressed under
//! the printer.

use super::*;

pub(super) fn routes(router: Router<AppState>) -> Router<AppState> {
    router
        .route("/print/operations", get(list_operations))
        .route(
            "/print/printers/{printer_id}/shares/{share_id}",
            get(share_of_printer),
        )
}

/// The caller's registration operations (each is visible only to whoever started it, as
/// `GET /print/operations/{id}` is).
async fn list_operations(
    State(state): State<AppState>,
    headers: HeaderMap,
    RawQuery(raw): RawQuery,
) -> GraphResult {
    let who = caller(&state, &headers, &PRINTER_CREATE)?;
    let q = query::parse_query(raw.as_deref(), LIST_QUERY)?;
    let unknown = query::wants_unknown_enum_members(&headers);
    let items = state
        .store
        .operations()?
        .iter()
        .filter(|op| op.created_by == who.id())
        .map(|op| {
            let v = operation_value(&state, op, unknown)?;
            match &q.select {
                Some(select) => query::apply_select(v, select),
                None => Ok(v),
            }
        })
        .collect::<Result<Vec<_>, _>>()?;
    let body = page(
        &state,
        "/print/operations",
        &q,
        items,
        state.context("print/operations"),
    );
    Ok(json_response(StatusCode::OK, body))
}

/// `GET /print/printers/{printerId}/shares/{shareId}`: the share, if it shares this printer;
/// the same view as `GET /print/shares/{id}`.
async fn share_of_printer(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path((printer_id, share_id)): Path<(String, String)>,
    RawQuery(raw): RawQuery,
) -> GraphResult {
    let who = caller(&state, &headers, &SHARE_READ)?;
    let q = parse_share_query(raw.as_deref(), SHARE_QUERY, &who)?;
    state.printer_record(&printer_id)?;
    let share = state.share_record(&share_id)?;
    if share.printer_id != printer_id {
        return Err(GraphError::not_found(format!(
            "Printer '{printer_id}' has no share '{share_id}'."
        )));
    }
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
        with_context(
            state.context(&format!("print/printers('{printer_id}')/shares/$entity")),
            v,
        ),
    ))
}
