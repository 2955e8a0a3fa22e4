//! How a device becomes a printer and gets its access tokens, following Universal Print's
//! printer registration and device token flows: the registration service (`POST`/`GET
//! /api/v1.0/register`) and the device token endpoint (`POST /oauth2/token`, nonce challenge then
//! a JWT the device signs with its key).
//!
//! A registration is accepted (202) and completes on a later poll, as Universal Print's does, so
//! devices exercise their polling; pending registrations live in sled (`registrations`), so a
//! cloud restarted between the POST and the poll still completes them. Printers made here are the
//! same records `printers/create` writes ([`Store::add_printer`](super::store::Store::add_printer)), so admins list and share them through
//! Graph. Certificates name their printer (`CN=<printer id>`); the token endpoint checks that the
//! certificate in the JWT's `x5c` was issued by this cloud's CA to the printer the JWT names, that
//! the JWT verifies with that certificate's key, and that the nonce is fresh and unused.

use super::CloudState;
use super::auth::{Caller, DEVICE_AUDIENCE, Permissions};
use super::nonce::{NonceRefusal, Nonces};
use super::odata::GraphError;
use super::query;
use super::store::NewPrinter;
use axum::Router;
use axum::body::Bytes;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use chrono::{DateTime, Utc};
use printlab_graph::PrinterLocation;
use serde::{Deserialize, Serialize};
use serde_json::json;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// Seconds a device waits between polls; the real service answers a few seconds.
const POLL_INTERVAL: u64 = 1;
/// A registration nobody polled to completion within this time is dropped.
const PENDING_LIFETIME: chrono::Duration = chrono::Duration::minutes(15);
/// How long a device token endpoint nonce is accepted.
const NONCE_LIFETIME: Duration = Duration::from_secs(300);
/// The OEM application printlab's devices act as (`printer_client_id`).
const PRINTER_CLIENT_NAME: &str = "printlab-printer";
const PRINTER_REDIRECT_URI: &str = "urn:ietf:wg:oauth:2.0:oob";

/// The registration service accepts the Universal Print scope and the Graph ones that include
/// creating printers, but only from Printer Administrators (checked separately).
const REGISTER: Permissions = Permissions {
    delegated: &[
        "Printers.Create",
        "Printer.Create",
        "Printer.ReadWrite.All",
        "Printer.FullControl.All",
    ],
    application: &[],
};

/// Timing knobs tests shorten.
#[derive(Debug, Clone, Copy)]
struct Timing {
    token_lifetime: chrono::Duration,
}

/// The registration service's state: pending registrations in sled, token nonces signed and
/// checked in memory (`nonce.rs`).
pub(crate) struct Registrations {
    tree: sled::Tree,
    nonces: Nonces,
    timing: Mutex<Timing>,
}

impl Registrations {
    pub fn open(store: &super::store::Store) -> Result<Self, super::store::StoreError> {
        Ok(Self {
            tree: store.tree("registrations")?,
            nonces: Nonces::new(NONCE_LIFETIME),
            timing: Mutex::new(Timing {
                token_lifetime: chrono::Duration::hours(1),
            }),
        })
    }

    fn timing(&self) -> Timing {
        *self.timing.lock().unwrap_or_else(|p| p.into_inner())
    }

    pub fn set_token_lifetime(&self, lifetime: chrono::Duration) {
        self.timing
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .token_lifetime = lifetime;
    }

    pub fn set_nonce_lifetime(&self, lifetime: Duration) {
        self.nonces.set_lifetime(lifetime);
    }

    fn get(&self, id: &str) -> Result<Option<RegistrationRecord>, GraphError> {
        let Some(bytes) = self.tree.get(id).map_err(store_error)? else {
            return Ok(None);
        };
        serde_json::from_slice(&bytes)
            .map(Some)
            .map_err(|e| GraphError::internal(format!("corrupt registration record {id}: {e}")))
    }

    fn put(&self, record: &RegistrationRecord) -> Result<(), GraphError> {
        let bytes = serde_json::to_vec(record).expect("registration records serialise");
        self.tree
            .insert(record.id.as_bytes(), bytes)
            .map_err(store_error)?;
        Ok(())
    }

    fn remove(&self, id: &str) -> Result<(), GraphError> {
        self.tree.remove(id).map_err(store_error)?;
        Ok(())
    }

    fn new_nonce(&self) -> String {
        self.nonces.issue()
    }

    /// Uses a nonce up (see `nonce.rs`); call only once the request's signature is checked.
    fn consume_nonce(&self, nonce: &str) -> Result<(), NonceRefusal> {
        self.nonces.redeem(nonce)
    }
}

fn store_error(e: sled::Error) -> GraphError {
    GraphError::from(super::store::StoreError::Sled(e))
}

/// `certificate_request` of a registration.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct CertificateRequest {
    #[serde(rename = "type")]
    kind: String,
    data: String,
    transport_key: String,
}

/// The body of `POST /api/v1.0/register` (snake_case, as the real service).
#[derive(Debug, Clone, Serialize, Deserialize)]
struct RegisterRequest {
    name: String,
    manufacturer: String,
    model: String,
    device_id: String,
    device_type: String,
    certificate_request: CertificateRequest,
    #[serde(default)]
    device_capabilities: Vec<String>,
    #[serde(default)]
    preferred_lang: Option<String>,
    #[serde(default)]
    has_physical_device: Option<bool>,
    /// A printlab addition: the Graph `printerLocation` the printer starts with. Universal
    /// Print leaves location to the administrator; an emulated fleet's `printers.toml` is that
    /// administrator's declaration, so the device brings it along, and a later PATCH wins.
    #[serde(default)]
    location: Option<PrinterLocation>,
}

/// A registration between its POST and the poll that completes it (and after, so a device that
/// lost the answer can poll again).
#[derive(Debug, Clone, Serialize, Deserialize)]
struct RegistrationRecord {
    id: String,
    created: DateTime<Utc>,
    created_by: String,
    /// Chosen at POST, so a completion redone after a crash makes the same printer.
    printer_id: String,
    /// Issued at POST (which is where a bad CSR is refused), handed out on completion.
    certificate_pem: String,
    request: RegisterRequest,
    polls: u32,
    completed: bool,
}

pub(super) fn router(state: Arc<CloudState>) -> Router {
    Router::new()
        .route("/api/v1.0/register", post(register).get(poll_registration))
        .route("/oauth2/token", post(device_token))
        .with_state(state)
}

fn admin_caller(state: &CloudState, headers: &HeaderMap) -> Result<Caller, GraphError> {
    let auth = headers
        .get(header::AUTHORIZATION)
        .map(|v| v.to_str().unwrap_or(""));
    let caller = state.tokens.verify_header(auth)?;
    caller.require(&REGISTER)?;
    match &caller {
        Caller::User { admin: true, .. } => Ok(caller),
        _ => Err(GraphError::forbidden(
            "Registering a printer needs a Printer Administrator's delegated token.",
        )),
    }
}

fn check_request(req: &RegisterRequest) -> Result<(), GraphError> {
    for (field, value) in [
        ("name", &req.name),
        ("manufacturer", &req.manufacturer),
        ("model", &req.model),
        ("device_id", &req.device_id),
    ] {
        if value.trim().is_empty() {
            return Err(GraphError::bad_request(format!(
                "{field} is required and must not be empty."
            )));
        }
    }
    if uuid::Uuid::parse_str(&req.device_id).is_err() {
        return Err(GraphError::bad_request(format!(
            "device_id `{}` is not a UUID.",
            req.device_id
        )));
    }
    if req.device_type != "printer" {
        return Err(GraphError::bad_request(format!(
            "device_type `{}` is not supported; only \"printer\" devices register here.",
            req.device_type
        )));
    }
    if !req.certificate_request.kind.eq_ignore_ascii_case("pkcs10") {
        return Err(GraphError::bad_request(format!(
            "certificate_request.type `{}` is not supported; send \"pkcs10\".",
            req.certificate_request.kind
        )));
    }
    if STANDARD
        .decode(req.certificate_request.transport_key.trim())
        .is_err()
    {
        return Err(GraphError::bad_request(
            "certificate_request.transport_key is not base64.",
        ));
    }
    Ok(())
}

async fn register(
    State(state): State<Arc<CloudState>>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, GraphError> {
    let who = admin_caller(&state, &headers)?;
    let req: RegisterRequest = query::json_body(&headers, &body)?;
    check_request(&req)?;
    let printer_id = uuid::Uuid::new_v4().to_string();
    let der = state.ca.issue(
        &req.certificate_request.data,
        &printer_id,
        "certificate_request.data",
    )?;
    let record = RegistrationRecord {
        id: uuid::Uuid::new_v4().to_string(),
        created: Utc::now(),
        created_by: who.id().to_string(),
        printer_id,
        certificate_pem: pem_certificate(&der),
        request: req,
        polls: 0,
        completed: false,
    };
    state.registrations.put(&record)?;
    state.store.flush().await?;
    tracing::info!(registration = %record.id, device = %record.request.device_id, "registration accepted");
    Ok((
        StatusCode::ACCEPTED,
        axum::Json(json!({"registration_id": record.id, "interval": POLL_INTERVAL})),
    )
        .into_response())
}

#[derive(Deserialize)]
struct PollQuery {
    registration_id: Option<String>,
}

async fn poll_registration(
    State(state): State<Arc<CloudState>>,
    headers: HeaderMap,
    Query(q): Query<PollQuery>,
) -> Result<Response, GraphError> {
    let who = admin_caller(&state, &headers)?;
    let id = q
        .registration_id
        .filter(|id| !id.trim().is_empty())
        .ok_or_else(|| GraphError::bad_request("registration_id is required in the query."))?;
    let missing = || GraphError::not_found(format!("No registration with id '{id}'."));
    let record = {
        let _guard = state.write_lock();
        let mut record = state
            .registrations
            .get(&id)?
            .filter(|r| r.created_by == who.id())
            .ok_or_else(missing)?;
        if !record.completed && Utc::now() - record.created > PENDING_LIFETIME {
            state.registrations.remove(&id)?;
            return Err(missing());
        }
        if record.polls == 0 {
            record.polls = 1;
            state.registrations.put(&record)?;
        } else if !record.completed {
            complete(&state, &mut record)?;
        }
        record
    };
    state.store.flush().await?;
    if !record.completed {
        return Ok((
            StatusCode::ACCEPTED,
            axum::Json(json!({"registration_id": record.id, "interval": POLL_INTERVAL})),
        )
            .into_response());
    }
    let device_url = &state.device_url;
    Ok((
        StatusCode::OK,
        axum::Json(json!({
            "cloud_device_id": record.printer_id,
            "certificate": record.certificate_pem,
            "device_token_url": format!("{device_url}/oauth2/token"),
            "printer_client_id": printer_client_id(),
            "printer_redirect_uri": PRINTER_REDIRECT_URI,
            "mcp_svc_resource_id": DEVICE_AUDIENCE,
        })),
    )
        .into_response())
}

/// Makes the registration's printer (once: a completion redone after a crash finds it).
fn complete(state: &CloudState, record: &mut RegistrationRecord) -> Result<(), GraphError> {
    if state.store.printer(&record.printer_id)?.is_none() {
        let req = &record.request;
        state.store.add_printer(NewPrinter {
            id: record.printer_id.clone(),
            display_name: req.name.clone(),
            manufacturer: req.manufacturer.clone(),
            model: req.model.clone(),
            physical_device_id: Some(req.device_id.clone()),
            has_physical_device: req.has_physical_device.unwrap_or(true),
            registered_by: record.created_by.clone(),
            registered: Utc::now(),
            location: req.location.clone(),
        })?;
    }
    record.polls += 1;
    record.completed = true;
    state.registrations.put(record)
}

/// The application id devices present as `client_id` (stable across restarts and clouds).
pub fn printer_client_id() -> String {
    super::auth::object_id("app", PRINTER_CLIENT_NAME)
}

fn pem_certificate(der: &[u8]) -> String {
    let body = STANDARD.encode(der);
    let mut pem = String::from("-----BEGIN CERTIFICATE-----\n");
    for line in body.as_bytes().chunks(64) {
        pem.push_str(std::str::from_utf8(line).expect("base64 is ASCII"));
        pem.push('\n');
    }
    pem.push_str("-----END CERTIFICATE-----\n");
    pem
}

// ---------------------------------------------------------------- device tokens

/// An OAuth 2.0 error answer (RFC 6749 §5.2), what Entra's token endpoint sends devices.
#[derive(Debug)]
struct OAuthError {
    status: StatusCode,
    error: &'static str,
    description: String,
}

impl OAuthError {
    fn new(status: StatusCode, error: &'static str, description: impl Into<String>) -> Self {
        Self {
            status,
            error,
            description: description.into(),
        }
    }

    fn request(description: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "invalid_request", description)
    }

    fn grant(description: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "invalid_grant", description)
    }

    fn client(description: impl Into<String>) -> Self {
        Self::new(StatusCode::UNAUTHORIZED, "invalid_client", description)
    }
}

impl IntoResponse for OAuthError {
    fn into_response(self) -> Response {
        tracing::info!(error = self.error, description = %self.description, "device token refused");
        (
            self.status,
            axum::Json(json!({"error": self.error, "error_description": self.description})),
        )
            .into_response()
    }
}

/// The claims of the JWT a device signs to ask for a token, as Universal Print's device token
/// flow defines them.
#[derive(Debug, Deserialize)]
struct DeviceTokenRequest {
    iss: String,
    request_nonce: String,
    grant_type: String,
    resource: String,
}

const JWT_BEARER: &str = "urn:ietf:params:oauth:grant-type:jwt-bearer";

async fn device_token(
    State(state): State<Arc<CloudState>>,
    body: Bytes,
) -> Result<Response, OAuthError> {
    let form: HashMap<String, String> = serde_urlencoded::from_bytes(&body)
        .map_err(|e| OAuthError::request(format!("the body is not a form: {e}")))?;
    let grant = form
        .get("grant_type")
        .ok_or_else(|| OAuthError::request("grant_type is required"))?;
    match grant.as_str() {
        "srv_challenge" => {
            let nonce = state.registrations.new_nonce();
            Ok(axum::Json(json!({"Nonce": nonce})).into_response())
        }
        JWT_BEARER => {
            let request = form
                .get("request")
                .ok_or_else(|| OAuthError::request("request (the signed JWT) is required"))?;
            let printer_id = verify_device_request(&state, request)?;
            let lifetime = state.registrations.timing().token_lifetime;
            let token = state
                .tokens
                .mint_device(&printer_id, lifetime)
                .map_err(|e| {
                    OAuthError::new(
                        StatusCode::INTERNAL_SERVER_ERROR,
                        "server_error",
                        e.to_string(),
                    )
                })?;
            tracing::info!(printer = %printer_id, "device token issued");
            Ok(axum::Json(json!({
                "access_token": token,
                "token_type": "Bearer",
                "expires_in": lifetime.num_seconds(),
                "resource": DEVICE_AUDIENCE,
            }))
            .into_response())
        }
        other => Err(OAuthError::new(
            StatusCode::BAD_REQUEST,
            "unsupported_grant_type",
            format!("grant_type `{other}` is not supported; use srv_challenge or {JWT_BEARER}"),
        )),
    }
}

/// Checks a device's signed token request; returns the printer it proves to be.
fn verify_device_request(state: &CloudState, jwt: &str) -> Result<String, OAuthError> {
    use jsonwebtoken::{Algorithm, DecodingKey, Validation};
    let header = jsonwebtoken::decode_header(jwt)
        .map_err(|e| OAuthError::request(format!("request is not a JWT: {e}")))?;
    if !matches!(header.alg, Algorithm::RS256 | Algorithm::ES256) {
        return Err(OAuthError::request(format!(
            "request is signed with {:?}; sign it with RS256 or ES256",
            header.alg
        )));
    }
    let der = header
        .x5c_der()
        .map_err(|_| OAuthError::request("the x5c header is not base64"))?
        .and_then(|chain| chain.into_iter().next())
        .ok_or_else(|| {
            OAuthError::request("the JWT header has no x5c (the registration certificate)")
        })?;
    let certified = state
        .ca
        .verify_issued(&der)
        .map_err(|e| OAuthError::client(format!("x5c certificate refused: {e}")))?;
    let (_, cert) = x509_parser::parse_x509_certificate(&der)
        .map_err(|e| OAuthError::client(format!("x5c certificate refused: {e}")))?;
    let spki = cert.public_key().subject_public_key.data.as_ref();
    let key = match header.alg {
        Algorithm::RS256 => DecodingKey::from_rsa_der(spki),
        _ => DecodingKey::from_ec_der(spki),
    };
    let mut validation = Validation::new(header.alg);
    validation.required_spec_claims.clear();
    validation.validate_aud = false;
    let claims = jsonwebtoken::decode::<DeviceTokenRequest>(jwt, &key, &validation)
        .map_err(|e| match e.kind() {
            jsonwebtoken::errors::ErrorKind::InvalidSignature
            | jsonwebtoken::errors::ErrorKind::InvalidEcdsaKey
            | jsonwebtoken::errors::ErrorKind::InvalidRsaKey(_)
            | jsonwebtoken::errors::ErrorKind::InvalidAlgorithm => OAuthError::client(
                "the JWT signature does not verify with the x5c certificate's key",
            ),
            jsonwebtoken::errors::ErrorKind::ExpiredSignature => {
                OAuthError::grant("the JWT has expired")
            }
            _ => OAuthError::request(format!(
                "the JWT claims are not a device token request: {e}"
            )),
        })?
        .claims;
    if claims.iss != certified {
        return Err(OAuthError::client(format!(
            "the x5c certificate was issued to printer {certified}, not to {}",
            claims.iss
        )));
    }
    if claims.grant_type != "device_token" {
        return Err(OAuthError::request(format!(
            "the JWT's grant_type is `{}`; it must be device_token",
            claims.grant_type
        )));
    }
    if claims.resource != DEVICE_AUDIENCE {
        return Err(OAuthError::new(
            StatusCode::BAD_REQUEST,
            "invalid_target",
            format!(
                "resource `{}` is not this service; ask for {DEVICE_AUDIENCE}",
                claims.resource
            ),
        ));
    }
    if let Err(refusal) = state.registrations.consume_nonce(&claims.request_nonce) {
        let why = match refusal {
            NonceRefusal::Unknown => "is not one this service issued",
            NonceRefusal::Expired => "has expired",
            NonceRefusal::AlreadyUsed => "was used already",
        };
        return Err(OAuthError::grant(format!(
            "request_nonce {why}; ask for a new one with grant_type=srv_challenge"
        )));
    }
    let exists = state.store.printer(&claims.iss).map_err(|e| {
        OAuthError::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "server_error",
            e.to_string(),
        )
    })?;
    if exists.is_none() {
        // An unknown client (RFC 6749 §5.2), as for a certificate this service never issued:
        // the device can tell that only a new registration helps.
        return Err(OAuthError::client(format!(
            "printer {} is not registered (any more)",
            claims.iss
        )));
    }
    Ok(claims.iss)
}
