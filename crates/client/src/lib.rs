//! A Microsoft Graph print client: what `printlab print`, `jobs`, `printers` and friends use.
//!
//! It speaks only the public wire protocol (Graph v1.0 JSON and the upload URL), typed on
//! [`printlab_graph`], so it works against printlab's cloud and, in principle, against the real
//! service. Failed calls surface the OData error's code and message, because those say what was
//! wrong far better than an HTTP status does.
//!
//! It may know only the Graph wire model (`printlab-graph`): never the cloud's insides, so
//! whatever passes here would pass against any Graph endpoint. The resumable submit ([`submit`],
//! [`upload`]) and following a job ([`follow`]) live here rather than in the command line so
//! that `print`, `demo` and tests share one implementation.

mod error_chain;
pub mod follow;
pub mod load;
pub mod provision;
pub mod pull;
pub mod resume;
mod retry;
pub mod shares;
pub mod submit;
pub mod token;
pub mod upload;

pub use error_chain::error_chain;

use printlab_graph::{
    ODataErrorBody, PrintDocument, PrintDocumentUploadProperties, PrintJob, PrintJobConfiguration,
    PrintJobStatus, Printer, PrinterCapabilities, PrinterDefaults, PrinterLocation, PrinterStatus,
    UploadSession,
};
use reqwest::{Method, StatusCode};
use serde::Serialize;
use serde::de::DeserializeOwned;
use std::fmt;

/// What a Graph call can fail with.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    /// The cloud could not be reached or the connection broke.
    #[error("cannot reach {url}")]
    Transport {
        url: String,
        #[source]
        source: reqwest::Error,
    },
    /// The cloud answered with an OData error.
    #[error("{method} {url} failed with {status} {code}: {message}")]
    Graph {
        method: Method,
        url: String,
        status: StatusCode,
        code: String,
        message: String,
        /// Seconds the cloud asked the client to wait (`Retry-After`, on 429 and 503); kept
        /// small so the error stays small (and fits beside `status`).
        retry_after: Option<u16>,
    },
    /// The cloud answered something that is not the resource Graph documents.
    #[error("{url} answered {status} with a body that is not {expected}: {detail}")]
    Unexpected {
        url: String,
        status: StatusCode,
        expected: &'static str,
        detail: String,
    },
}

impl ClientError {
    /// The HTTP status of an OData error, if that is what this is.
    pub fn status(&self) -> Option<StatusCode> {
        match self {
            ClientError::Graph { status, .. } | ClientError::Unexpected { status, .. } => {
                Some(*status)
            }
            ClientError::Transport { .. } => None,
        }
    }

    /// The wait the cloud asked for before trying again, when it asked.
    pub fn retry_after(&self) -> Option<std::time::Duration> {
        match self {
            ClientError::Graph { retry_after, .. } => {
                retry_after.map(|s| std::time::Duration::from_secs(s.into()))
            }
            _ => None,
        }
    }
}

/// `Retry-After` in seconds (the form Graph sends; longer than 18 hours reads as that); an
/// HTTP date is not read.
fn retry_after(headers: &reqwest::header::HeaderMap) -> Option<u16> {
    let seconds: u64 = headers
        .get(reqwest::header::RETRY_AFTER)?
        .to_str()
        .ok()?
        .trim()
        .parse()
        .ok()?;
    Some(seconds.min(u16::MAX.into()) as u16)
}

/// Where a job lives: under a printer (admin path) or a share (the normal user path).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, serde::Deserialize)]
#[serde(tag = "kind", content = "id", rename_all = "camelCase")]
pub enum JobParent {
    Printer(String),
    Share(String),
}

impl JobParent {
    fn path(&self) -> String {
        match self {
            JobParent::Printer(id) => format!("print/printers/{id}"),
            JobParent::Share(id) => format!("print/shares/{id}"),
        }
    }
}

impl fmt::Display for JobParent {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            JobParent::Printer(id) => write!(f, "printer {id}"),
            JobParent::Share(id) => write!(f, "share {id}"),
        }
    }
}

#[derive(serde::Deserialize)]
struct Collection<T> {
    value: Vec<T>,
    #[serde(rename = "@odata.nextLink")]
    next_link: Option<String>,
}

/// A printerShare as any caller may see it: Graph gives non-administrators only `id`,
/// `displayName`, `manufacturer`, `model` and `location`, so everything else is optional here.
#[derive(Debug, Clone, PartialEq, Serialize, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SharedPrinter {
    pub id: String,
    pub display_name: String,
    #[serde(default)]
    pub manufacturer: Option<String>,
    #[serde(default)]
    pub model: Option<String>,
    #[serde(default)]
    pub location: Option<PrinterLocation>,
    #[serde(default)]
    pub is_accepting_jobs: Option<bool>,
    #[serde(default)]
    pub status: Option<PrinterStatus>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub capabilities: Option<PrinterCapabilities>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub defaults: Option<PrinterDefaults>,
}

/// A Graph client bound to one cloud (`…/v1.0`) and one bearer token.
#[derive(Clone)]
pub struct GraphClient {
    http: reqwest::Client,
    base: String,
    token: Option<String>,
}

impl GraphClient {
    /// `base` is the Graph root including the version segment, e.g. `http://127.0.0.1:8080/v1.0`.
    pub fn new(base: &str, token: Option<String>) -> Self {
        Self {
            http: reqwest::Client::new(),
            base: base.trim_end_matches('/').to_string(),
            token,
        }
    }

    /// The same client on another HTTP client (one that trusts a lab's own CA, say).
    pub fn with_http(self, http: reqwest::Client) -> Self {
        Self { http, ..self }
    }

    pub fn base_url(&self) -> &str {
        &self.base
    }

    /// The underlying HTTP client (the upload URL is pre-authenticated and needs no token).
    pub fn http(&self) -> &reqwest::Client {
        &self.http
    }

    fn url(&self, path: &str) -> String {
        if path.starts_with("http://") || path.starts_with("https://") {
            path.to_string()
        } else {
            format!("{}/{}", self.base, path.trim_start_matches('/'))
        }
    }

    /// A request to `url` carrying the bearer token.
    fn request(&self, method: Method, url: &str) -> reqwest::RequestBuilder {
        let request = self.http.request(method, url);
        match &self.token {
            Some(token) => request.bearer_auth(token),
            None => request,
        }
    }

    /// Sends a Graph request, again if the connection closed before any answer and the request
    /// is idempotent ([`retry`]).
    async fn execute(
        &self,
        request: reqwest::RequestBuilder,
        url: &str,
    ) -> Result<reqwest::Response, ClientError> {
        let transport = |source| ClientError::Transport {
            url: url.to_string(),
            source,
        };
        let request = request.build().map_err(transport)?;
        retry::send(&self.http, request, retry::RetryPolicy::GRAPH)
            .await
            .map_err(|failed| transport(failed.source))
    }

    async fn send(
        &self,
        method: Method,
        path: &str,
        body: Option<&serde_json::Value>,
    ) -> Result<(StatusCode, bytes::Bytes, String), ClientError> {
        let url = self.url(path);
        let mut request = self.request(method.clone(), &url);
        if let Some(body) = body {
            request = request.json(body);
        }
        let response = self.execute(request, &url).await?;
        let status = response.status();
        let wait = retry_after(response.headers());
        let bytes = response
            .bytes()
            .await
            .map_err(|source| ClientError::Transport {
                url: url.clone(),
                source,
            })?;
        if !status.is_success() {
            return Err(odata_error(method, &url, (status, wait), &bytes));
        }
        Ok((status, bytes, url))
    }

    async fn call<T: DeserializeOwned>(
        &self,
        method: Method,
        path: &str,
        body: Option<&serde_json::Value>,
        expected: &'static str,
    ) -> Result<T, ClientError> {
        let (status, bytes, url) = self.send(method, path, body).await?;
        decode(&url, status, &bytes, expected)
    }

    /// Every member of a collection, following `@odata.nextLink`.
    async fn list<T: DeserializeOwned>(
        &self,
        path: &str,
        expected: &'static str,
    ) -> Result<Vec<T>, ClientError> {
        let mut out = Vec::new();
        let mut next = Some(path.to_string());
        while let Some(page) = next {
            let collection: Collection<T> = self.call(Method::GET, &page, None, expected).await?;
            out.extend(collection.value);
            next = collection.next_link;
        }
        Ok(out)
    }

    pub async fn printers(&self) -> Result<Vec<Printer>, ClientError> {
        self.list("print/printers", "a printer collection").await
    }

    pub async fn shares(&self) -> Result<Vec<SharedPrinter>, ClientError> {
        self.list("print/shares", "a printerShare collection").await
    }

    /// Shares a printer with every user of the tenant (admin).
    pub async fn create_share(
        &self,
        printer_id: &str,
        display_name: &str,
    ) -> Result<SharedPrinter, ClientError> {
        let body = serde_json::json!({
            "displayName": display_name,
            "allowAllUsers": true,
            "printer@odata.bind": self.url(&format!("print/printers/{printer_id}")),
        });
        self.call(Method::POST, "print/shares", Some(&body), "a printerShare")
            .await
    }

    /// One printer with its capabilities and defaults (Graph returns them only when selected).
    pub async fn printer(&self, id: &str) -> Result<Printer, ClientError> {
        self.call(
            Method::GET,
            &format!("print/printers/{id}?$select={PRINTER_SELECT}"),
            None,
            "a printer",
        )
        .await
    }

    /// One share with its capabilities and defaults.
    pub async fn share(&self, id: &str) -> Result<SharedPrinter, ClientError> {
        self.call(
            Method::GET,
            &format!("print/shares/{id}?$select={SHARE_SELECT}"),
            None,
            "a printerShare",
        )
        .await
    }

    /// Creates a job (paused, `uploadPending`) with its one empty document.
    pub async fn create_job(
        &self,
        parent: &JobParent,
        configuration: &PrintJobConfiguration,
    ) -> Result<PrintJob, ClientError> {
        let body = serde_json::json!({ "configuration": configuration });
        self.call(
            Method::POST,
            &format!("{}/jobs", parent.path()),
            Some(&body),
            "a printJob",
        )
        .await
    }

    pub async fn create_upload_session(
        &self,
        parent: &JobParent,
        job_id: &str,
        document_id: &str,
        properties: &PrintDocumentUploadProperties,
    ) -> Result<UploadSession, ClientError> {
        let body = serde_json::json!({ "properties": properties });
        self.call(
            Method::POST,
            &format!(
                "{}/jobs/{job_id}/documents/{document_id}/createUploadSession",
                parent.path()
            ),
            Some(&body),
            "an uploadSession",
        )
        .await
    }

    pub async fn start_job(
        &self,
        parent: &JobParent,
        job_id: &str,
    ) -> Result<PrintJobStatus, ClientError> {
        self.call(
            Method::POST,
            &format!("{}/jobs/{job_id}/start", parent.path()),
            Some(&serde_json::json!({})),
            "a printJobStatus",
        )
        .await
    }

    pub async fn job(&self, parent: &JobParent, job_id: &str) -> Result<PrintJob, ClientError> {
        self.call(
            Method::GET,
            &format!("{}/jobs/{job_id}?$expand=documents", parent.path()),
            None,
            "a printJob",
        )
        .await
    }

    /// The jobs of a printer or share; `created_by` narrows to one user's jobs by UPN.
    pub async fn jobs(
        &self,
        parent: &JobParent,
        created_by: Option<&str>,
    ) -> Result<Vec<PrintJob>, ClientError> {
        let mut path = format!("{}/jobs?$expand=documents", parent.path());
        if let Some(upn) = created_by {
            let filter = format!(
                "createdBy/userPrincipalName eq '{}'",
                upn.replace('\'', "''")
            );
            path.push_str("&$filter=");
            path.push_str(&encode_query(&filter));
        }
        self.list(&path, "a printJob collection").await
    }

    pub async fn cancel_job(&self, parent: &JobParent, job_id: &str) -> Result<(), ClientError> {
        self.send(
            Method::POST,
            &format!("{}/jobs/{job_id}/cancel", parent.path()),
            None,
        )
        .await
        .map(|_| ())
    }

    pub async fn document(
        &self,
        parent: &JobParent,
        job_id: &str,
        document_id: &str,
    ) -> Result<PrintDocument, ClientError> {
        self.call(
            Method::GET,
            &format!("{}/jobs/{job_id}/documents/{document_id}", parent.path()),
            None,
            "a printDocument",
        )
        .await
    }

    /// Streams the stored document (`$value`, which redirects to a pre-authenticated download
    /// URL) through SHA-256, so the caller can compare it with what it uploaded.
    pub async fn document_sha256(
        &self,
        parent: &JobParent,
        job_id: &str,
        document_id: &str,
    ) -> Result<(u64, String), ClientError> {
        use futures::StreamExt;
        use sha2::{Digest, Sha256};
        let url = self.url(&format!(
            "{}/jobs/{job_id}/documents/{document_id}/$value",
            parent.path()
        ));
        let transport = |source| ClientError::Transport {
            url: url.clone(),
            source,
        };
        let response = self.execute(self.request(Method::GET, &url), &url).await?;
        let status = response.status();
        if !status.is_success() {
            let wait = retry_after(response.headers());
            let bytes = response.bytes().await.map_err(transport)?;
            return Err(odata_error(Method::GET, &url, (status, wait), &bytes));
        }
        let mut hasher = Sha256::new();
        let mut size = 0u64;
        let mut body = response.bytes_stream();
        while let Some(chunk) = body.next().await {
            let chunk = chunk.map_err(transport)?;
            size += chunk.len() as u64;
            hasher.update(&chunk);
        }
        Ok((size, hex::encode(hasher.finalize())))
    }
}

/// Graph leaves capabilities and defaults out unless selected, and refuses to select a property
/// the resource does not have.
const SHARE_SELECT: &str =
    "id,displayName,manufacturer,model,isAcceptingJobs,status,location,capabilities,defaults";
const PRINTER_SELECT: &str = "id,displayName,manufacturer,model,isAcceptingJobs,status,location,\
capabilities,defaults,hasPhysicalDevice,isShared,registeredDateTime,lastSeenDateTime";

fn encode_query(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' | b'/' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

fn decode<T: DeserializeOwned>(
    url: &str,
    status: StatusCode,
    bytes: &[u8],
    expected: &'static str,
) -> Result<T, ClientError> {
    serde_json::from_slice(bytes).map_err(|err| ClientError::Unexpected {
        url: url.to_string(),
        status,
        expected,
        detail: err.to_string(),
    })
}

fn odata_error(
    method: Method,
    url: &str,
    (status, retry_after): (StatusCode, Option<u16>),
    bytes: &[u8],
) -> ClientError {
    match serde_json::from_slice::<ODataErrorBody>(bytes) {
        Ok(body) => ClientError::Graph {
            method,
            url: url.to_string(),
            status,
            code: body.error.code,
            message: body.error.message,
            retry_after,
        },
        Err(_) => {
            // Not every failure comes from Graph (a proxy, a wrong URL): keep what was said.
            let text = String::from_utf8_lossy(&bytes[..bytes.len().min(300)]).into_owned();
            ClientError::Graph {
                method,
                url: url.to_string(),
                status,
                code: "nonODataError".to_string(),
                retry_after,
                message: if text.trim().is_empty() {
                    status
                        .canonical_reason()
                        .unwrap_or("no message")
                        .to_string()
                } else {
                    text
                },
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_throttled_answer_keeps_the_wait_it_asked_for() {
        let mut headers = reqwest::header::HeaderMap::new();
        assert_eq!(retry_after(&headers), None);
        headers.insert(reqwest::header::RETRY_AFTER, "7".parse().unwrap());
        let wait = retry_after(&headers);
        assert_eq!(wait, Some(7));
        let body = br#"{"error":{"code":"activityLimitReached","message":"Slow down."}}"#;
        let err = odata_error(
            Method::POST,
            "http://h/jobs",
            (StatusCode::TOO_MANY_REQUESTS, wait),
            body,
        );
        assert_eq!(err.retry_after(), Some(std::time::Duration::from_secs(7)));
        headers.insert(
            reqwest::header::RETRY_AFTER,
            "Wed, 21 Oct 2015 07:28:00 GMT".parse().unwrap(),
        );
        assert_eq!(retry_after(&headers), None, "an HTTP date is not read");
    }

    #[test]
    fn odata_errors_keep_code_and_message_and_foreign_ones_their_text() {
        let body = br#"{"error":{"code":"itemNotFound","message":"No job 7.","innerError":{"request-id":"x","date":"2026-01-01T00:00:00Z"}}}"#;
        let err = odata_error(
            Method::GET,
            "http://h/x",
            (StatusCode::NOT_FOUND, None),
            body,
        );
        assert_eq!(
            err.to_string(),
            "GET http://h/x failed with 404 Not Found itemNotFound: No job 7."
        );
        let err = odata_error(
            Method::GET,
            "http://h/x",
            (StatusCode::BAD_GATEWAY, None),
            b"upstream down",
        );
        assert!(
            err.to_string().ends_with("nonODataError: upstream down"),
            "{err}"
        );
    }

    #[test]
    fn filters_are_percent_encoded() {
        assert_eq!(
            encode_query("createdBy/userPrincipalName eq 'a@b'"),
            "createdBy/userPrincipalName%20eq%20%27a%40b%27"
        );
    }
}
