//! Graph over real HTTP, as a test's client sends it.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use reqwest::header::HeaderMap;
use reqwest::{Client, Method, StatusCode};
use serde_json::{Value, json};
use std::future::Future;
use std::panic::Location;

/// One HTTP call with an optional bearer token and JSON body: status, headers and the JSON
/// answer (Null when empty). The tests of status codes and headers use this directly.
pub async fn call(
    client: &Client,
    method: Method,
    url: &str,
    token: Option<&str>,
    body: Option<Value>,
) -> (StatusCode, HeaderMap, Value) {
    let mut request = client.request(method, url);
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    if let Some(body) = body {
        request = request.json(&body);
    }
    let response = request.send().await.unwrap();
    let status = response.status();
    let headers = response.headers().clone();
    let bytes = response.bytes().await.unwrap();
    let value = if bytes.is_empty() {
        Value::Null
    } else {
        serde_json::from_slice(&bytes).unwrap_or_else(|e| panic!("non-JSON body {e}: {bytes:?}"))
    };
    (status, headers, value)
}

/// The body of a plain GET (a download URL, a redirect's target).
pub async fn download(client: &Client, url: &str) -> Vec<u8> {
    let response = client.get(url).send().await.unwrap();
    response.bytes().await.unwrap().to_vec()
}

/// Sends a whole document to an upload URL in one range; gives the status (201 when it
/// completed the upload).
pub async fn put_whole(client: &Client, upload_url: &str, bytes: Vec<u8>) -> StatusCode {
    client
        .put(upload_url)
        .header(
            "Content-Range",
            format!("bytes 0-{}/{}", bytes.len() - 1, bytes.len()),
        )
        .body(bytes)
        .send()
        .await
        .unwrap()
        .status()
}

/// A fresh key's certificate signing request for `name`, base64 DER as Graph takes it, and the
/// key's public key.
pub fn csr_base64(name: &str) -> (String, Vec<u8>) {
    let key = rcgen::KeyPair::generate().unwrap();
    let csr = rcgen::CertificateParams::new(vec![name.to_string()])
        .unwrap()
        .serialize_request(&key)
        .unwrap();
    (STANDARD.encode(csr.der()), key.public_key_raw().to_vec())
}

/// Graph as one caller: a base URL (`…/v1.0` or `…/beta`) and a token. Paths are relative to
/// the base unless they are whole URLs (an `Operation-Location`, a `nextLink`).
#[derive(Clone)]
pub struct Graph {
    pub http: Client,
    pub base: String,
    pub token: String,
}

impl Graph {
    pub fn new(base: &str, token: &str) -> Self {
        Self {
            http: Client::new(),
            base: base.to_string(),
            token: token.to_string(),
        }
    }

    /// The same base as another caller.
    pub fn with_token(&self, token: &str) -> Self {
        Self {
            token: token.to_string(),
            ..self.clone()
        }
    }

    pub fn url(&self, path: &str) -> String {
        if path.starts_with("http") {
            path.to_string()
        } else {
            format!("{}{path}", self.base)
        }
    }

    /// One call: status, headers and the JSON answer.
    pub async fn send(
        &self,
        method: Method,
        path: &str,
        body: Option<Value>,
    ) -> (StatusCode, HeaderMap, Value) {
        call(&self.http, method, &self.url(path), Some(&self.token), body).await
    }

    pub async fn get(&self, path: &str) -> (StatusCode, Value) {
        let (status, _, body) = self.send(Method::GET, path, None).await;
        (status, body)
    }

    pub async fn post(&self, path: &str, body: Option<Value>) -> (StatusCode, Value) {
        let (status, _, body) = self.send(Method::POST, path, body).await;
        (status, body)
    }

    pub async fn patch(&self, path: &str, body: Value) -> (StatusCode, Value) {
        let (status, _, body) = self.send(Method::PATCH, path, Some(body)).await;
        (status, body)
    }

    pub async fn delete(&self, path: &str) -> (StatusCode, Value) {
        let (status, _, body) = self.send(Method::DELETE, path, None).await;
        (status, body)
    }

    /// One call that must succeed; gives the JSON answer. A failure names the test line that
    /// made the call (see [`Graph::expect`]).
    #[track_caller]
    pub fn ok(
        &self,
        method: Method,
        path: &str,
        body: Option<Value>,
    ) -> impl Future<Output = Value> + '_ {
        let at = Location::caller();
        let url = self.url(path);
        async move {
            let (status, _, answer) = call(&self.http, method, &url, Some(&self.token), body).await;
            assert!(status.is_success(), "{at}: {url}: {status} {answer}");
            answer
        }
    }

    /// One call whose status must be `expected`; gives the JSON answer. This is the
    /// call-and-assert-the-status step most Graph tests are made of, so a test states each step
    /// in one line.
    ///
    /// It is a plain function giving a future, not an `async fn`, because `#[track_caller]`
    /// does not reach into an `async fn`: this way a wrong status names the test line that made
    /// the call, not this file.
    #[track_caller]
    pub fn expect(
        &self,
        method: Method,
        path: &str,
        body: Option<Value>,
        expected: StatusCode,
    ) -> impl Future<Output = Value> + '_ {
        let at = Location::caller();
        let url = self.url(path);
        async move {
            let (status, _, answer) =
                call(&self.http, method.clone(), &url, Some(&self.token), body).await;
            assert_eq!(status, expected, "{at}: {method} {url}: {answer}");
            answer
        }
    }

    /// `GET path`, which must answer 200; gives the JSON answer (see [`Graph::expect`]).
    #[track_caller]
    pub fn get_ok(&self, path: &str) -> impl Future<Output = Value> + '_ {
        self.expect(Method::GET, path, None, StatusCode::OK)
    }

    /// `POST printers/create` with `body` (a CSR is added); gives the `Operation-Location`.
    pub async fn create_printer_with(&self, mut body: Value) -> String {
        body["certificateSigningRequest"] =
            json!({"content": csr_base64("printer.printlab.test").0, "transportKey": "a2V5"});
        let (status, headers, answer) = self
            .send(Method::POST, "/print/printers/create", Some(body))
            .await;
        assert_eq!(status, StatusCode::ACCEPTED, "{answer}");
        headers["operation-location"].to_str().unwrap().to_string()
    }

    /// Registers a printer for a physical device (Graph's default); gives its id.
    pub async fn create_printer(&self, name: &str) -> String {
        self.registered(json!({"displayName": name, "manufacturer": "printlab", "model": "test"}))
            .await
    }

    /// Registers a virtual printer (no physical device), which the app that connects it may
    /// PATCH; gives its id.
    pub async fn create_virtual_printer(&self, name: &str) -> String {
        self.registered(json!({
            "displayName": name, "manufacturer": "printlab", "model": "virtual",
            "physicalDeviceId": null, "hasPhysicalDevice": false,
        }))
        .await
    }

    async fn registered(&self, body: Value) -> String {
        let location = self.create_printer_with(body).await;
        let operation = self.ok(Method::GET, &location, None).await;
        operation["printer"]["id"].as_str().unwrap().to_string()
    }

    /// Shares `printer` with every user; gives the share id.
    pub async fn share(&self, printer: &str, name: &str) -> String {
        let share = self
            .ok(
                Method::POST,
                "/print/shares",
                Some(json!({"displayName": name, "allowAllUsers": true,
                    "printer@odata.bind": format!("{}/print/printers/{printer}", self.base)})),
            )
            .await;
        share["id"].as_str().unwrap().to_string()
    }

    /// Creates a job under `jobs` (a printer's or a share's jobs path); gives the job.
    pub async fn create_job(&self, jobs: &str, configuration: Value) -> Value {
        let (status, job) = self
            .post(jobs, Some(json!({ "configuration": configuration })))
            .await;
        assert_eq!(status, StatusCode::CREATED, "{job}");
        job
    }

    /// Uploads the job's first document, named `name`, through an upload session in one range.
    pub async fn upload(
        &self,
        jobs: &str,
        job: &Value,
        name: &str,
        content_type: &str,
        bytes: Vec<u8>,
    ) {
        let (id, document) = (job["id"].as_str().unwrap(), &job["documents"][0]["id"]);
        let (status, session) = self
            .post(
                &format!(
                    "{jobs}/{id}/documents/{}/createUploadSession",
                    document.as_str().unwrap()
                ),
                Some(json!({"properties": {
                    "documentName": name, "contentType": content_type, "size": bytes.len(),
                }})),
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{session}");
        let url = session["uploadUrl"].as_str().unwrap();
        assert_eq!(put_whole(&self.http, url, bytes).await, StatusCode::CREATED);
    }

    /// `POST …/jobs/{id}/start`; gives the printJobStatus it answered.
    pub async fn start_job(&self, jobs: &str, id: &str) -> Value {
        let (status, started) = self.post(&format!("{jobs}/{id}/start"), None).await;
        assert_eq!(status, StatusCode::OK, "{started}");
        started
    }

    /// Creates a job under `jobs`, uploads `bytes` as its document and starts it; gives the
    /// job id.
    pub async fn submit(
        &self,
        jobs: &str,
        content_type: &str,
        bytes: Vec<u8>,
        configuration: Value,
    ) -> String {
        let job = self.create_job(jobs, configuration).await;
        let name = format!("job-{}.pdf", job["id"].as_str().unwrap());
        self.upload(jobs, &job, &name, content_type, bytes).await;
        let id = job["id"].as_str().unwrap();
        self.start_job(jobs, id).await;
        id.to_string()
    }
}

impl Graph {
    /// Polls `GET path` until `done` holds (at most `limit`); gives the resource then.
    pub async fn wait(
        &self,
        path: &str,
        what: &str,
        limit: std::time::Duration,
        done: impl Fn(&Value) -> bool,
    ) -> Value {
        crate::wait_for(what, limit, || async {
            let seen = self.ok(Method::GET, path, None).await;
            if done(&seen) { Ok(seen) } else { Err(seen) }
        })
        .await
    }
}

/// A Graph job's `status.state`.
pub fn job_state(job: &Value) -> &str {
    job["status"]["state"].as_str().unwrap_or_default()
}

/// Whether a Graph job has reached an end: completed, aborted or canceled.
pub fn job_ended(job: &Value) -> bool {
    matches!(job_state(job), "completed" | "aborted" | "canceled")
}
