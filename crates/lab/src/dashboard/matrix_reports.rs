//! The capability-matrix reports `printlab matrix` left in the lab's data folder
//! (`matrix/<run>/`, its default when run beside the lab), listed for the dashboard with each
//! run's summary, and their files (`report.html`, `report.json`, `junit.xml`) served, both for
//! the lab's admin token only: a report names the lab's printers and its Graph address.
//!
//! The lab reads `report.json` as JSON rather than through the matrix crate's types: the lab
//! may not name the matrix, and it shows only a few of the report's fields.

use super::admin_token::AdminToken;
use axum::Router;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use serde_json::{Value, json};
use std::path::PathBuf;
use std::sync::Arc;

/// The files of a run the dashboard may hand out, with their types.
const FILES: [(&str, &str); 3] = [
    ("report.html", "text/html; charset=utf-8"),
    ("report.json", "application/json"),
    ("junit.xml", "application/xml"),
];

struct Reports {
    /// `<data folder>/matrix`.
    root: PathBuf,
    token: AdminToken,
}

/// `GET /dashboard/matrix-reports` and `GET /dashboard/matrix-reports/{run}/{file}`.
pub fn matrix_reports_router(data_dir: PathBuf, token: String) -> Router {
    let reports = Arc::new(Reports {
        root: data_dir.join("matrix"),
        token: AdminToken::new(token),
    });
    Router::new()
        .route("/dashboard/matrix-reports", get(list))
        .route("/dashboard/matrix-reports/{run}/{file}", get(file))
        .with_state(reports)
}

async fn list(State(reports): State<Arc<Reports>>, headers: HeaderMap) -> Response {
    if let Some(refused) = reports.token.refusal(&headers) {
        return refused;
    }
    let mut runs = Vec::new();
    if let Ok(entries) = std::fs::read_dir(&reports.root) {
        for entry in entries.flatten() {
            let name = entry.file_name().to_string_lossy().into_owned();
            let Ok(text) = std::fs::read_to_string(entry.path().join("report.json")) else {
                continue;
            };
            let report: Value = match serde_json::from_str(&text) {
                Ok(report) => report,
                Err(e) => {
                    tracing::warn!(run = %name, "matrix report.json unreadable: {e}");
                    continue;
                }
            };
            runs.push(json!({
                "name": name,
                "started": report["started"],
                "finished": report["finished"],
                "interrupted": report["interrupted"],
                "graph": report["graph"],
                "summary": report["summary"],
            }));
        }
    }
    runs.sort_by(|a, b| b["started"].as_str().cmp(&a["started"].as_str()));
    axum::Json(json!({ "reports": runs })).into_response()
}

async fn file(
    State(reports): State<Arc<Reports>>,
    headers: HeaderMap,
    Path((run, file)): Path<(String, String)>,
) -> Response {
    if let Some(refused) = reports.token.refusal(&headers) {
        return refused;
    }
    let Some((_, content_type)) = FILES.iter().find(|(name, _)| *name == file) else {
        return (
            StatusCode::NOT_FOUND,
            "a run has report.html, report.json and junit.xml",
        )
            .into_response();
    };
    // A run is one folder name: nothing that could climb out of matrix/.
    if run.is_empty() || run.starts_with('.') || run.contains(['/', '\\']) {
        return (StatusCode::NOT_FOUND, "no such run").into_response();
    }
    match std::fs::read(reports.root.join(&run).join(&file)) {
        Ok(bytes) => {
            let mut response = bytes.into_response();
            response
                .headers_mut()
                .insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
            response.headers_mut().insert(
                header::CONTENT_DISPOSITION,
                HeaderValue::from_str(&format!("attachment; filename=\"matrix-{run}-{file}\""))
                    .unwrap_or(HeaderValue::from_static("attachment")),
            );
            response
        }
        Err(_) => (StatusCode::NOT_FOUND, format!("run {run} has no {file}")).into_response(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// GETs `path` from `router` served on loopback.
    async fn get(router: &Router, path: &str, token: Option<&str>) -> (StatusCode, String) {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(axum::serve(listener, router.clone()).into_future());
        let mut request = reqwest::Client::new().get(format!("http://{addr}{path}"));
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        let response = request.send().await.unwrap();
        let status = StatusCode::from_u16(response.status().as_u16()).unwrap();
        (status, response.text().await.unwrap())
    }

    #[tokio::test]
    async fn runs_are_listed_newest_first_and_served_only_with_the_token() {
        let data = tempfile::tempdir().unwrap();
        for (run, started) in [("a", "2026-12-01T10:00:00Z"), ("b", "2026-12-02T10:00:00Z")] {
            let dir = data.path().join("matrix").join(run);
            std::fs::create_dir_all(&dir).unwrap();
            let report = json!({"started": started, "summary": {"cases": 3, "failed": 1}});
            std::fs::write(dir.join("report.json"), report.to_string()).unwrap();
            std::fs::write(dir.join("report.html"), "<html>").unwrap();
        }
        let router = matrix_reports_router(data.path().to_owned(), "secret".into());
        assert_eq!(
            get(&router, "/dashboard/matrix-reports", None).await.0,
            StatusCode::UNAUTHORIZED
        );
        assert_eq!(
            get(&router, "/dashboard/matrix-reports", Some("secreT"))
                .await
                .0,
            StatusCode::FORBIDDEN
        );
        let (status, body) = get(&router, "/dashboard/matrix-reports", Some("secret")).await;
        assert_eq!(status, StatusCode::OK);
        let listed: Value = serde_json::from_str(&body).unwrap();
        let names: Vec<&str> = (listed["reports"].as_array().unwrap().iter())
            .map(|r| r["name"].as_str().unwrap())
            .collect();
        assert_eq!(names, ["b", "a"]);
        assert_eq!(listed["reports"][0]["summary"]["failed"], 1);
        let (status, body) = get(
            &router,
            "/dashboard/matrix-reports/a/report.html",
            Some("secret"),
        )
        .await;
        assert_eq!((status, body.as_str()), (StatusCode::OK, "<html>"));
        for path in [
            "/dashboard/matrix-reports/a/printers.toml",
            "/dashboard/matrix-reports/../report.json",
            "/dashboard/matrix-reports/..%2Fa/report.json",
            "/dashboard/matrix-reports/c/report.json",
        ] {
            assert_eq!(
                get(&router, path, Some("secret")).await.0,
                StatusCode::NOT_FOUND,
                "{path}"
            );
        }
    }
}
