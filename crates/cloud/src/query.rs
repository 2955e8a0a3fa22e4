//! OData request conventions: query options, JSON bodies, `$select`, and the `Prefer` header
//! for evolvable enums. Every violation is a 400 that names the option, header or field.

use super::odata::{ErrorCode, GraphError};
use axum::http::{HeaderMap, header};
use printlab_graph::{
    GraphEnum, PrintFinishing, PrinterCapabilities, PrinterDefaults, PrinterProcessingStateDetail,
    PrinterStatus,
};
use serde::de::DeserializeOwned;
use serde_json::{Map, Value};

/// The query options a request carried, already validated.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct QueryOptions {
    pub select: Option<Vec<String>>,
    pub expand: Vec<String>,
    pub top: Option<usize>,
    /// Offset into the collection: `$skip`, or a `$skiptoken` the cloud issued.
    pub skip: usize,
    /// `$filter=createdBy/userPrincipalName eq '…'`, the one filter Graph documents for jobs.
    pub created_by_upn: Option<String>,
}

impl QueryOptions {
    /// True when `$expand` names `navigation`.
    pub fn expands(&self, navigation: &str) -> bool {
        self.expand.iter().any(|e| e == navigation)
    }

    /// The options a next page must repeat, as query pairs (`$top` and `$skiptoken` aside), so
    /// that following `@odata.nextLink` returns the same shape of items.
    pub fn repeated_in_next_link(&self) -> Vec<(&'static str, String)> {
        let mut pairs = Vec::new();
        if let Some(select) = &self.select {
            pairs.push(("$select", select.join(",")));
        }
        if !self.expand.is_empty() {
            pairs.push(("$expand", self.expand.join(",")));
        }
        if let Some(upn) = &self.created_by_upn {
            let quoted = upn.replace('\'', "''");
            pairs.push((
                "$filter",
                format!("createdBy/userPrincipalName eq '{quoted}'"),
            ));
        }
        pairs
    }
}

/// Which system query options an endpoint supports.
#[derive(Debug, Clone, Copy)]
pub struct Supported {
    pub select: bool,
    pub expand: &'static [&'static str],
    pub paging: bool,
    pub filter_created_by: bool,
}

impl Supported {
    pub const NONE: Supported = Supported {
        select: false,
        expand: &[],
        paging: false,
        filter_created_by: false,
    };
    pub const SELECT: Supported = Supported {
        select: true,
        ..Self::NONE
    };
}

fn list_of(value: &str) -> Vec<String> {
    value
        .split(',')
        .map(|s| s.trim().to_string())
        .filter(|s| !s.is_empty())
        .collect()
}

/// Parses the raw query string; unknown or unsupported `$` options and malformed values are 400.
/// Parameters without `$` are not OData options and are left to the route (none use any).
pub fn parse_query(raw: Option<&str>, supported: Supported) -> Result<QueryOptions, GraphError> {
    let pairs: Vec<(String, String)> = serde_urlencoded::from_str(raw.unwrap_or(""))
        .map_err(|e| GraphError::bad_request(format!("The query string is malformed: {e}")))?;
    let mut options = QueryOptions::default();
    let mut skip_given = false;
    for (key, value) in pairs {
        let unsupported =
            || GraphError::bad_request(format!("Query option '{key}' is not supported here."));
        match key.as_str() {
            "$select" if supported.select => options.select = Some(list_of(&value)),
            "$expand" if !supported.expand.is_empty() => {
                for item in list_of(&value) {
                    if !supported.expand.contains(&item.as_str()) {
                        return Err(GraphError::bad_request(format!(
                            "$expand: '{item}' cannot be expanded here (supported: {}).",
                            supported.expand.join(", ")
                        )));
                    }
                    options.expand.push(item);
                }
            }
            "$top" if supported.paging => {
                let top: usize = value.parse().ok().filter(|n| *n > 0).ok_or_else(|| {
                    GraphError::bad_request(format!("$top: '{value}' is not a positive integer."))
                })?;
                options.top = Some(top);
            }
            "$skiptoken" | "$skip" if supported.paging => {
                if skip_given {
                    return Err(GraphError::bad_request(
                        "Give one of $skip and $skiptoken, once.",
                    ));
                }
                skip_given = true;
                options.skip = value.parse().map_err(|_| {
                    GraphError::bad_request(if key == "$skip" {
                        format!("$skip: '{value}' is not a non-negative integer.")
                    } else {
                        format!("$skiptoken: '{value}' is not a token this service issued.")
                    })
                })?;
            }
            "$filter" if supported.filter_created_by => {
                options.created_by_upn = Some(parse_created_by_filter(&value)?);
            }
            k if k.starts_with('$') => return Err(unsupported()),
            _ => {}
        }
    }
    Ok(options)
}

fn parse_created_by_filter(filter: &str) -> Result<String, GraphError> {
    let bad = || {
        GraphError::bad_request(format!(
            "$filter: '{filter}' is not supported; use createdBy/userPrincipalName eq '<upn>'."
        ))
    };
    let rest = filter
        .trim()
        .strip_prefix("createdBy/userPrincipalName")
        .ok_or_else(bad)?
        .trim_start();
    let rest = rest.strip_prefix("eq").ok_or_else(bad)?.trim();
    let quoted = rest
        .strip_prefix('\'')
        .and_then(|r| r.strip_suffix('\''))
        .ok_or_else(bad)?;
    if quoted.replace("''", "").contains('\'') {
        return Err(bad());
    }
    Ok(quoted.replace("''", "'"))
}

/// Keeps only the selected properties (and OData annotations). Naming a property the entity
/// does not have is a 400.
pub fn apply_select(value: Value, select: &[String]) -> Result<Value, GraphError> {
    let Value::Object(map) = value else {
        return Ok(value);
    };
    for name in select {
        if !map.contains_key(name) {
            return Err(GraphError::bad_request(format!(
                "$select: '{name}' is not a property of this resource."
            )));
        }
    }
    Ok(Value::Object(
        map.into_iter()
            .filter(|(k, _)| k.starts_with("@odata.") || select.contains(k))
            .collect(),
    ))
}

/// Applies `$select` to an entity whose `$expand`ed navigations are already in `value`; what
/// was expanded stays, as OData keeps expanded navigations beside the selected properties.
pub fn select_expanded(value: Value, q: &QueryOptions) -> Result<Value, GraphError> {
    match &q.select {
        Some(select) => {
            let mut select = select.clone();
            select.extend(q.expand.iter().cloned());
            apply_select(value, &select)
        }
        None => Ok(value),
    }
}

/// True when the client sent `Prefer: include-unknown-enum-members`.
pub fn wants_unknown_enum_members(headers: &HeaderMap) -> bool {
    headers
        .get_all("prefer")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .any(|p| {
            p.trim()
                .eq_ignore_ascii_case("include-unknown-enum-members")
        })
}

/// Replaces evolvable finishings with `unknownFutureValue` for clients that did not opt in.
pub fn hide_evolvable_finishings(finishings: &mut Option<Vec<PrintFinishing>>) {
    for f in finishings.iter_mut().flatten() {
        if f.is_evolvable() {
            *f = PrintFinishing::UnknownFutureValue;
        }
    }
}

pub fn hide_evolvable_in_printer(
    capabilities: &mut Option<PrinterCapabilities>,
    defaults: &mut Option<PrinterDefaults>,
    status: &mut PrinterStatus,
) {
    if let Some(c) = capabilities {
        hide_evolvable_finishings(&mut c.finishings);
    }
    if let Some(d) = defaults {
        hide_evolvable_finishings(&mut d.finishings);
    }
    let unknown = PrinterProcessingStateDetail::from_name("unknownFutureValue")
        .expect("unknownFutureValue is a printerProcessingStateDetail member");
    for d in &mut status.details {
        if d.is_evolvable() {
            *d = unknown.clone();
        }
    }
}

/// Removes `@odata.type` annotations (Graph SDKs send them on every object) so typed parsing
/// with `deny_unknown_fields` sees only real properties.
fn strip_type_annotations(value: &mut Value) {
    match value {
        Value::Object(map) => {
            map.remove("@odata.type");
            map.values_mut().for_each(strip_type_annotations);
        }
        Value::Array(items) => items.iter_mut().for_each(strip_type_annotations),
        _ => {}
    }
}

/// Parses a JSON request body into an object, checking the content type; malformed JSON is a
/// 400 that says where.
pub fn json_object(headers: &HeaderMap, body: &[u8]) -> Result<Map<String, Value>, GraphError> {
    if let Some(ct) = headers.get(header::CONTENT_TYPE) {
        let ct = ct.to_str().unwrap_or("");
        if !ct
            .trim_start()
            .to_ascii_lowercase()
            .starts_with("application/json")
        {
            return Err(GraphError::new(
                axum::http::StatusCode::UNSUPPORTED_MEDIA_TYPE,
                ErrorCode::InvalidRequest,
                format!("Content-Type '{ct}' is not supported; send application/json."),
            ));
        }
    }
    let mut value: Value = serde_json::from_slice(body).map_err(|e| {
        GraphError::bad_request(format!("The request body is not valid JSON: {e}."))
    })?;
    strip_type_annotations(&mut value);
    match value {
        Value::Object(map) => Ok(map),
        _ => Err(GraphError::bad_request(
            "The request body must be a JSON object.",
        )),
    }
}

/// Parses a JSON body into a typed request; unknown or mistyped properties are a 400 naming them.
/// For the parameters of actions and registrations; entities go through [`entity_body`].
pub fn json_body<T: DeserializeOwned>(headers: &HeaderMap, body: &[u8]) -> Result<T, GraphError> {
    let map = json_object(headers, body)?;
    typed(Value::Object(map))
}

/// An entity's JSON body (POST, PATCH) as an object, without the `read_only` properties
/// (`printlab_graph::read_only`), which Graph ignores when a client sends them.
pub fn entity_object(
    headers: &HeaderMap,
    body: &[u8],
    read_only: &[&str],
) -> Result<Map<String, Value>, GraphError> {
    let mut map = json_object(headers, body)?;
    for path in read_only {
        remove_path(&mut map, path);
    }
    Ok(map)
}

/// [`entity_object`] parsed into a typed request; unknown or mistyped properties are a 400.
pub fn entity_body<T: DeserializeOwned>(
    headers: &HeaderMap,
    body: &[u8],
    read_only: &[&str],
) -> Result<T, GraphError> {
    typed(Value::Object(entity_object(headers, body, read_only)?))
}

/// Removes `path` (`name` or `complex.name`) from `map` when it is there.
fn remove_path(map: &mut Map<String, Value>, path: &str) {
    match path.split_once('.') {
        None => {
            map.remove(path);
        }
        Some((head, rest)) => {
            if let Some(Value::Object(inner)) = map.get_mut(head) {
                remove_path(inner, rest);
            }
        }
    }
}

/// Converts a JSON value into a typed request body; the serde message names the field.
pub fn typed<T: DeserializeOwned>(value: Value) -> Result<T, GraphError> {
    serde_json::from_value(value)
        .map_err(|e| GraphError::bad_request(format!("Invalid request body: {e}.")))
}

#[cfg(test)]
mod tests {
    use super::*;

    const JOBS: Supported = Supported {
        select: true,
        expand: &["documents", "tasks"],
        paging: true,
        filter_created_by: true,
    };

    #[test]
    fn query_options_parse_and_reject() {
        let q = parse_query(
            Some("%24select=id,status&$expand=documents&$top=2&$filter=createdBy/userPrincipalName%20eq%20%27o''neil@x%27"),
            JOBS,
        )
        .unwrap();
        assert_eq!(q.select.unwrap(), ["id", "status"]);
        assert_eq!(q.expand, ["documents"]);
        assert_eq!(q.top, Some(2));
        assert_eq!(q.created_by_upn.as_deref(), Some("o'neil@x"));
        for bad in [
            "$top=0",
            "$top=x",
            "$count=true",
            "$expand=printer",
            "$filter=id eq '1'",
        ] {
            let err = parse_query(Some(bad), JOBS).unwrap_err();
            assert_eq!(err.status, 400, "{bad}");
        }
        assert!(parse_query(Some("$select=id"), Supported::NONE).is_err());
    }

    #[test]
    fn select_keeps_only_named_properties_and_rejects_unknown_ones() {
        let v = serde_json::json!({"@odata.context": "c", "id": "1", "size": 3});
        let kept = apply_select(v.clone(), &["size".into()]).unwrap();
        assert_eq!(kept, serde_json::json!({"@odata.context": "c", "size": 3}));
        assert!(apply_select(v, &["colour".into()]).is_err());
    }

    #[test]
    fn read_only_properties_are_dropped_from_entity_bodies() {
        let body = br#"{"id":"x","displayName":"d","createdBy":{"appId":"a","displayName":"n"}}"#;
        let map = entity_object(&HeaderMap::new(), body, &["id", "createdBy.appId"]).unwrap();
        assert_eq!(
            Value::Object(map),
            serde_json::json!({"displayName": "d", "createdBy": {"displayName": "n"}})
        );
    }

    #[test]
    fn malformed_json_and_wrong_content_type_are_rejected() {
        let mut headers = HeaderMap::new();
        assert_eq!(json_object(&headers, b"{\"a\":").unwrap_err().status, 400);
        headers.insert(header::CONTENT_TYPE, "text/plain".parse().unwrap());
        assert_eq!(json_object(&headers, b"{}").unwrap_err().status, 415);
    }
}
