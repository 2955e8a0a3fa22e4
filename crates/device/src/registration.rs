//! A Universal Print device's identity: registration (key + CSR in, certificate and printer id
//! out) and device access tokens (nonce challenge, then a JWT signed with the device key that
//! carries the certificate), the two steps Universal Print devices take with the service, over
//! plain HTTP so it works against any service that implements them.
//!
//! Everything a device learns is written to its spool's `identity` tree before it is used: the
//! key before the CSR leaves, the registration id before polling, the answer before the first
//! token. A device stopped at any point resumes with the same key and registration, and one
//! that registered never registers again.

use super::spool::{DeviceIdentity, Spool, SpoolError};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use chrono::{DateTime, Utc};
use printlab_graph::PrinterLocation;
use rcgen::{CertificateParams, DistinguishedName, DnType, KeyPair, PublicKeyData};
use serde::Deserialize;
use serde_json::json;
use std::time::Duration;
use tracing::info;

/// The key a device makes for itself.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyKind {
    /// RSA 2048 with RS256, what Universal Print documents and its sample devices use.
    Rsa2048,
    /// ECDSA P-256 with ES256: a thousandth of the key generation time, for large fleets.
    EcdsaP256,
}

/// How printers in Universal Print mode reach the service.
#[derive(Debug, Clone)]
pub struct UniversalPrintAccess {
    /// The service's base URL (registration at `/api/v1.0/register`, IPP at `/printers`).
    pub cloud_url: String,
    /// A Printer Administrator's delegated token with `Printers.Create`; only needed by printers
    /// that have not registered yet.
    pub admin_token: Option<String>,
    pub key: KeyKind,
}

#[derive(Debug, thiserror::Error)]
pub enum RegistrationError {
    #[error(
        "printer {0} has not registered yet and no admin token was given: pass --admin-token or \
         set PRINTLAB_TOKEN to a Printer Administrator token with Printers.Create (e.g. \
         `printlab token --user admin --admin --scopes Printers.Create`)"
    )]
    NeedsAdminToken(String),
    #[error("{url}: {source}")]
    Http { url: String, source: reqwest::Error },
    #[error("{url} answered HTTP {status}: {body}")]
    Refused {
        url: String,
        status: u16,
        body: String,
    },
    #[error("{url} answered without a usable {what}: {detail}")]
    BadAnswer {
        url: String,
        what: &'static str,
        detail: String,
    },
    /// The token endpoint refused the device as a client (`invalid_client`): the service does
    /// not know its certificate or printer any more (deleted by an administrator, or a reset or
    /// different service), so only a new registration helps.
    #[error("{url} does not know this device any more: {detail}")]
    NotKnown { url: String, detail: String },
    #[error("the device key: {0}")]
    Key(String),
    #[error(transparent)]
    Spool(#[from] SpoolError),
}

impl From<rcgen::Error> for RegistrationError {
    fn from(e: rcgen::Error) -> Self {
        RegistrationError::Key(e.to_string())
    }
}

/// What a registered device knows about itself, checked complete.
#[derive(Clone)]
pub struct RegisteredDevice {
    /// The cloud's printer id (`cloud_device_id`).
    pub printer_id: String,
    pub certificate_der: Vec<u8>,
    pub device_token_url: String,
    pub client_id: String,
    pub redirect_uri: String,
    pub resource: String,
    key_pem: String,
}

impl std::fmt::Debug for RegisteredDevice {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RegisteredDevice")
            .field("printer_id", &self.printer_id)
            .field("device_token_url", &self.device_token_url)
            .finish_non_exhaustive()
    }
}

/// What the device tells the registration service about itself.
#[derive(Debug, Clone)]
pub struct DeviceDescription {
    pub name: String,
    pub manufacturer: String,
    pub model: String,
    /// The physical device's UUID (stable across restarts).
    pub device_id: String,
    /// Where `printers.toml` says the printer stands; sent with the registration (a printlab
    /// addition the cloud reads) so Graph shows it from the start.
    pub location: PrinterLocation,
}

/// Returns the device's registration, registering first if the spool has none (or resuming one
/// that was sent but not answered).
pub async fn ensure_registered(
    http: &reqwest::Client,
    spool: &Spool,
    access: &UniversalPrintAccess,
    device: &DeviceDescription,
) -> Result<RegisteredDevice, RegistrationError> {
    let printer = device.name.as_str();
    let mut identity = match spool.identity(printer)? {
        Some(identity) => identity,
        None => {
            let kind = access.key;
            // One key per core at a time: a fleet of a thousand generating RSA keys all at once
            // would finish them all at the very end, so no printer would come up for a minute.
            // The turn ends with the key, before it is saved: held through the save, it let
            // only as many printers as cores wait for a sync at a time.
            let turn = key_generation_turns()
                .acquire()
                .await
                .map_err(|e| RegistrationError::Key(e.to_string()))?;
            let key = tokio::task::spawn_blocking(move || generate_key(kind))
                .await
                .map_err(|e| RegistrationError::Key(e.to_string()))??;
            drop(turn);
            let identity = DeviceIdentity {
                private_key_pem: key.serialize_pem(),
                ..DeviceIdentity::default()
            };
            save(spool, printer, &identity).await?;
            identity
        }
    };
    let base = access.cloud_url.trim_end_matches('/');
    if follow_moved_service(&mut identity, base) {
        save(spool, printer, &identity).await?;
    }
    if let Some(done) = registered(&identity) {
        return Ok(done);
    }
    let admin_token = access
        .admin_token
        .as_deref()
        .ok_or_else(|| RegistrationError::NeedsAdminToken(printer.to_string()))?;
    let url = format!("{base}/api/v1.0/register");
    loop {
        let registration_id = match identity.registration_id.clone() {
            Some(id) => id,
            None => {
                let id = start_registration(http, &url, admin_token, &identity, device).await?;
                identity.registration_id = Some(id.clone());
                save(spool, printer, &identity).await?;
                id
            }
        };
        match poll(http, &url, admin_token, &registration_id).await? {
            Some(answer) => {
                identity.device_id = Some(answer.cloud_device_id);
                identity.certificate_pem = Some(answer.certificate);
                identity.device_token_url = Some(answer.device_token_url);
                identity.printer_client_id = Some(answer.printer_client_id);
                identity.printer_redirect_uri = Some(answer.printer_redirect_uri);
                identity.mcp_svc_resource_id = Some(answer.mcp_svc_resource_id);
                identity.registration_id = None;
                identity.service_url = Some(base.to_string());
                save(spool, printer, &identity).await?;
                let done = registered(&identity).ok_or_else(|| RegistrationError::BadAnswer {
                    url: url.clone(),
                    what: "certificate",
                    detail: "the certificate is not PEM".into(),
                })?;
                info!(printer = %done.printer_id, "registered with the service");
                return Ok(done);
            }
            None => {
                // The service no longer knows the registration (expired, or a different
                // service): register again with the same key.
                identity.registration_id = None;
                save(spool, printer, &identity).await?;
            }
        }
    }
}

/// Points a registration made through another address of the service at `base`: the token
/// endpoint the service named then moves with it when it lived under the same address (as it
/// does in printlab's cloud). Returns whether the identity changed. A service that is really a
/// different one refuses the device's certificate, and the device registers again.
fn follow_moved_service(identity: &mut DeviceIdentity, base: &str) -> bool {
    let Some(old) = identity.service_url.clone() else {
        return false;
    };
    if old == base {
        return false;
    }
    if let Some(rest) = identity
        .device_token_url
        .as_deref()
        .and_then(|url| url.strip_prefix(old.as_str()))
        .filter(|rest| rest.is_empty() || rest.starts_with('/'))
    {
        identity.device_token_url = Some(format!("{base}{rest}"));
    }
    info!(from = %old, to = %base, "the service moved; following it");
    identity.service_url = Some(base.to_string());
    true
}

/// Drops the registration from the spool when the service no longer knows it, keeping the key,
/// so that the next [`ensure_registered`] registers again.
pub fn forget_registration(spool: &Spool, printer: &str) -> Result<(), SpoolError> {
    let Some(identity) = spool.identity(printer)? else {
        return Ok(());
    };
    let kept = DeviceIdentity {
        private_key_pem: identity.private_key_pem,
        ..DeviceIdentity::default()
    };
    spool.put_identity(printer, &kept)?;
    spool.flush()
}

/// Whether the spool holds a complete registration for `printer`.
pub fn is_registered(spool: &Spool, printer: &str) -> Result<bool, SpoolError> {
    Ok(spool
        .identity(printer)?
        .is_some_and(|identity| registered(&identity).is_some()))
}

/// The process's turns at generating a device key: as many as it has cores.
fn key_generation_turns() -> &'static tokio::sync::Semaphore {
    static TURNS: std::sync::OnceLock<tokio::sync::Semaphore> = std::sync::OnceLock::new();
    TURNS.get_or_init(|| {
        let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
        tokio::sync::Semaphore::new(cores)
    })
}

fn generate_key(kind: KeyKind) -> Result<KeyPair, rcgen::Error> {
    match kind {
        KeyKind::Rsa2048 => KeyPair::generate_for(&rcgen::PKCS_RSA_SHA256),
        KeyKind::EcdsaP256 => KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256),
    }
}

/// Writes the identity and waits until it is durable (a group commit with the fleet's other
/// printers: [`Spool::flush_shared`]).
async fn save(spool: &Spool, printer: &str, identity: &DeviceIdentity) -> Result<(), SpoolError> {
    spool.put_identity(printer, identity)?;
    spool.flush_shared().await
}

/// The registration the identity holds, if it is complete.
fn registered(identity: &DeviceIdentity) -> Option<RegisteredDevice> {
    let (_, pem) =
        x509_parser::pem::parse_x509_pem(identity.certificate_pem.as_deref()?.as_bytes()).ok()?;
    Some(RegisteredDevice {
        printer_id: identity.device_id.clone()?,
        certificate_der: pem.contents,
        device_token_url: identity.device_token_url.clone()?,
        client_id: identity.printer_client_id.clone()?,
        redirect_uri: identity.printer_redirect_uri.clone().unwrap_or_default(),
        resource: identity.mcp_svc_resource_id.clone()?,
        key_pem: identity.private_key_pem.clone(),
    })
}

async fn start_registration(
    http: &reqwest::Client,
    url: &str,
    admin_token: &str,
    identity: &DeviceIdentity,
    device: &DeviceDescription,
) -> Result<String, RegistrationError> {
    let key = KeyPair::from_pem(&identity.private_key_pem)?;
    let mut params = CertificateParams::default();
    let mut subject = DistinguishedName::new();
    subject.push(DnType::CommonName, device.name.as_str());
    params.distinguished_name = subject;
    let csr = params.serialize_request(&key)?;
    let mut body = json!({
        "name": device.name,
        "manufacturer": device.manufacturer,
        "model": device.model,
        "device_id": device.device_id,
        "device_type": "printer",
        "certificate_request": {
            "type": "pkcs10",
            "data": STANDARD.encode(csr.der()),
            "transport_key": STANDARD.encode(key.subject_public_key_info()),
        },
        "device_capabilities": ["print"],
        "preferred_lang": "en-us",
        "has_physical_device": true,
    });
    if device.location != PrinterLocation::default() {
        body["location"] = json!(device.location);
    }
    let response = http
        .post(url)
        .bearer_auth(admin_token)
        .json(&body)
        .send()
        .await
        .map_err(|source| http_error(url, source))?;
    #[derive(Deserialize)]
    struct Accepted {
        registration_id: String,
    }
    let accepted: Accepted = expect_json(url, response, &[202, 200], "registration_id").await?;
    info!(registration = %accepted.registration_id, "registration sent");
    Ok(accepted.registration_id)
}

#[derive(Deserialize)]
struct Completed {
    cloud_device_id: String,
    certificate: String,
    device_token_url: String,
    printer_client_id: String,
    #[serde(default)]
    printer_redirect_uri: String,
    mcp_svc_resource_id: String,
}

/// Polls until the registration completes (`Some`) or the service does not know it (`None`).
async fn poll(
    http: &reqwest::Client,
    url: &str,
    admin_token: &str,
    registration_id: &str,
) -> Result<Option<Completed>, RegistrationError> {
    #[derive(Deserialize)]
    struct Pending {
        #[serde(default)]
        interval: Option<u64>,
    }
    loop {
        let query = serde_urlencoded::to_string([("registration_id", registration_id)])
            .expect("string pairs always encode");
        let response = http
            .get(format!("{url}?{query}"))
            .bearer_auth(admin_token)
            .send()
            .await
            .map_err(|source| http_error(url, source))?;
        match response.status().as_u16() {
            202 => {
                let pending: Pending = expect_json(url, response, &[202], "interval").await?;
                let wait = pending.interval.unwrap_or(5).clamp(1, 60);
                tokio::time::sleep(Duration::from_secs(wait)).await;
            }
            404 => return Ok(None),
            _ => {
                return expect_json(url, response, &[200], "registration result")
                    .await
                    .map(Some);
            }
        }
    }
}

fn http_error(url: &str, source: reqwest::Error) -> RegistrationError {
    RegistrationError::Http {
        url: url.to_string(),
        source,
    }
}

async fn expect_json<T: serde::de::DeserializeOwned>(
    url: &str,
    response: reqwest::Response,
    ok: &[u16],
    what: &'static str,
) -> Result<T, RegistrationError> {
    let status = response.status().as_u16();
    let body = response
        .bytes()
        .await
        .map_err(|source| http_error(url, source))?;
    if !ok.contains(&status) {
        return Err(RegistrationError::Refused {
            url: url.to_string(),
            status,
            body: String::from_utf8_lossy(&body).chars().take(500).collect(),
        });
    }
    serde_json::from_slice(&body).map_err(|e| RegistrationError::BadAnswer {
        url: url.to_string(),
        what,
        detail: e.to_string(),
    })
}

// ---------------------------------------------------------------- device tokens

/// A device access token and when to replace it.
#[derive(Debug, Clone)]
pub struct DeviceToken {
    pub access_token: String,
    pub expires_at: DateTime<Utc>,
    /// A fifth of the lifetime (at most five minutes) before expiry, so requests in flight
    /// never carry an expired token.
    pub refresh_at: DateTime<Utc>,
}

/// Gets a device token as Universal Print devices do: a nonce challenge, then the request signed
/// with the device key.
pub async fn request_device_token(
    http: &reqwest::Client,
    device: &RegisteredDevice,
) -> Result<DeviceToken, RegistrationError> {
    let url = device.device_token_url.as_str();
    #[derive(Deserialize)]
    struct Challenge {
        #[serde(rename = "Nonce")]
        nonce: String,
    }
    let response = post_form(
        http,
        url,
        &[
            ("grant_type", "srv_challenge"),
            ("windows_api_version", "2.0"),
        ],
    )
    .await?;
    let challenge: Challenge = expect_json(url, response, &[200], "Nonce").await?;
    let request = signed_token_request(device, &challenge.nonce)?;
    let response = post_form(
        http,
        url,
        &[
            ("grant_type", "urn:ietf:params:oauth:grant-type:jwt-bearer"),
            ("request", request.as_str()),
        ],
    )
    .await?;
    #[derive(Deserialize)]
    struct Granted {
        access_token: String,
        #[serde(default)]
        expires_in: Option<i64>,
    }
    if response.status() == reqwest::StatusCode::UNAUTHORIZED {
        #[derive(Deserialize)]
        struct Refusal {
            error: String,
            #[serde(default)]
            error_description: String,
        }
        let body = response
            .bytes()
            .await
            .map_err(|source| http_error(url, source))?;
        if let Ok(refusal) = serde_json::from_slice::<Refusal>(&body)
            && refusal.error == "invalid_client"
        {
            return Err(RegistrationError::NotKnown {
                url: url.to_string(),
                detail: refusal.error_description,
            });
        }
        return Err(RegistrationError::Refused {
            url: url.to_string(),
            status: 401,
            body: String::from_utf8_lossy(&body).chars().take(500).collect(),
        });
    }
    let granted: Granted = expect_json(url, response, &[200], "access_token").await?;
    let lifetime = chrono::Duration::seconds(granted.expires_in.unwrap_or(3600).max(1));
    let now = Utc::now();
    let margin = (lifetime / 5).min(chrono::Duration::minutes(5));
    Ok(DeviceToken {
        access_token: granted.access_token,
        expires_at: now + lifetime,
        refresh_at: now + lifetime - margin,
    })
}

async fn post_form(
    http: &reqwest::Client,
    url: &str,
    fields: &[(&str, &str)],
) -> Result<reqwest::Response, RegistrationError> {
    let body = serde_urlencoded::to_string(fields).expect("string pairs always encode");
    http.post(url)
        .header(
            reqwest::header::CONTENT_TYPE,
            "application/x-www-form-urlencoded",
        )
        .body(body)
        .send()
        .await
        .map_err(|source| http_error(url, source))
}

/// The JWT that proves the device holds the key of its certificate: RS256 or ES256 by key,
/// the certificate in `x5c`, the claims Universal Print's token endpoint reads.
pub fn signed_token_request(
    device: &RegisteredDevice,
    nonce: &str,
) -> Result<String, RegistrationError> {
    let key = KeyPair::from_pem(&device.key_pem)?;
    let pkcs8 = key.serialize_der();
    let (algorithm, encoding_key) = if key.algorithm() == &rcgen::PKCS_RSA_SHA256 {
        (
            jsonwebtoken::Algorithm::RS256,
            jsonwebtoken::EncodingKey::from_rsa_der(&rsa_private_key(&pkcs8)?),
        )
    } else if key.algorithm() == &rcgen::PKCS_ECDSA_P256_SHA256 {
        (
            jsonwebtoken::Algorithm::ES256,
            jsonwebtoken::EncodingKey::from_ec_der(&pkcs8),
        )
    } else {
        return Err(RegistrationError::Key(
            "the device key is neither RSA nor ECDSA P-256".into(),
        ));
    };
    let mut header = jsonwebtoken::Header::new(algorithm);
    header.x5c = Some(vec![STANDARD.encode(&device.certificate_der)]);
    let now = Utc::now().timestamp();
    let claims = json!({
        "iss": device.printer_id,
        "request_nonce": nonce,
        "grant_type": "device_token",
        "resource": device.resource,
        "client_id": device.client_id,
        "redirect_uri": device.redirect_uri,
        "iat": now,
        "exp": now + 300,
    });
    jsonwebtoken::encode(&header, &claims, &encoding_key)
        .map_err(|e| RegistrationError::Key(format!("signing the token request: {e}")))
}

/// The PKCS#1 `RSAPrivateKey` inside a PKCS#8 `PrivateKeyInfo` (what the JWT signer takes).
fn rsa_private_key(pkcs8: &[u8]) -> Result<Vec<u8>, RegistrationError> {
    let malformed = || RegistrationError::Key("the RSA key is not PKCS#8".into());
    let (_, info) = x509_parser::der_parser::parse_der(pkcs8).map_err(|_| malformed())?;
    let fields = info.as_sequence().map_err(|_| malformed())?;
    let key = fields
        .get(2)
        .and_then(|f| f.as_slice().ok())
        .ok_or_else(malformed)?;
    Ok(key.to_vec())
}

/// A registered device's current token, refreshed on demand; the spool keeps the last one so a
/// restarted device does not ask again while it is valid.
pub struct DeviceTokens {
    http: reqwest::Client,
    spool: Spool,
    printer_name: String,
    device: RegisteredDevice,
    current: tokio::sync::Mutex<Option<DeviceToken>>,
}

impl DeviceTokens {
    pub fn new(
        http: reqwest::Client,
        spool: Spool,
        printer_name: &str,
        device: RegisteredDevice,
    ) -> Result<Self, RegistrationError> {
        let stored = spool.identity(printer_name)?.and_then(|i| {
            Some(DeviceToken {
                access_token: i.access_token?,
                expires_at: i.token_expires_at?,
                refresh_at: i.token_refresh_at.or(i.token_expires_at)?,
            })
        });
        Ok(Self {
            http,
            spool,
            printer_name: printer_name.to_string(),
            device,
            current: tokio::sync::Mutex::new(stored),
        })
    }

    pub fn device(&self) -> &RegisteredDevice {
        &self.device
    }

    /// A token that is not due for refresh, asking the service for one if needed.
    pub async fn token(&self) -> Result<DeviceToken, RegistrationError> {
        let mut current = self.current.lock().await;
        if let Some(token) = current.as_ref()
            && token.refresh_at > Utc::now()
        {
            return Ok(token.clone());
        }
        let token = request_device_token(&self.http, &self.device).await?;
        if let Some(mut identity) = self.spool.identity(&self.printer_name)? {
            identity.access_token = Some(token.access_token.clone());
            identity.token_expires_at = Some(token.expires_at);
            identity.token_refresh_at = Some(token.refresh_at);
            self.spool.put_identity(&self.printer_name, &identity)?;
        }
        info!(expires_at = %token.expires_at, "device token obtained");
        *current = Some(token.clone());
        Ok(token)
    }

    /// Forgets the current token (the service refused it), here and in the spool, so the next
    /// [`Self::token`], in this process or the next, asks for a new one.
    pub async fn invalidate(&self) -> Result<(), SpoolError> {
        let mut current = self.current.lock().await;
        *current = None;
        if let Some(mut identity) = self.spool.identity(&self.printer_name)? {
            identity.access_token = None;
            identity.token_expires_at = None;
            identity.token_refresh_at = None;
            self.spool.put_identity(&self.printer_name, &identity)?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rsa_keys_sign_rs256_and_ec_keys_es256() {
        for (kind, alg) in [
            (KeyKind::Rsa2048, jsonwebtoken::Algorithm::RS256),
            (KeyKind::EcdsaP256, jsonwebtoken::Algorithm::ES256),
        ] {
            let key = generate_key(kind).unwrap();
            let device = RegisteredDevice {
                printer_id: "p-1".into(),
                certificate_der: vec![1, 2, 3],
                device_token_url: "http://127.0.0.1:1/oauth2/token".into(),
                client_id: "c".into(),
                redirect_uri: "r".into(),
                resource: "https://print.print.microsoft.com".into(),
                key_pem: key.serialize_pem(),
            };
            let jwt = signed_token_request(&device, "n-1").unwrap();
            let header = jsonwebtoken::decode_header(&jwt).unwrap();
            assert_eq!(header.alg, alg);
            assert_eq!(header.x5c_der().unwrap(), Some(vec![vec![1, 2, 3]]));
            let spki = key.subject_public_key_info();
            let (_, spki) =
                <x509_parser::x509::SubjectPublicKeyInfo as x509_parser::prelude::FromDer<
                    x509_parser::error::X509Error,
                >>::from_der(&spki)
                .unwrap();
            let raw = spki.subject_public_key.data.as_ref();
            let decoding = match alg {
                jsonwebtoken::Algorithm::RS256 => jsonwebtoken::DecodingKey::from_rsa_der(raw),
                _ => jsonwebtoken::DecodingKey::from_ec_der(raw),
            };
            let mut validation = jsonwebtoken::Validation::new(alg);
            validation.validate_aud = false;
            let claims =
                jsonwebtoken::decode::<serde_json::Value>(&jwt, &decoding, &validation).unwrap();
            assert_eq!(claims.claims["request_nonce"], "n-1");
            assert_eq!(claims.claims["iss"], "p-1");
        }
    }
}
