//! Bearer tokens the cloud signs itself, and the permission check every Graph route makes.
//!
//! Tokens are HS256 JWTs shaped like Entra ID access tokens where it matters to Graph clients:
//! delegated tokens carry `scp` (space-separated scopes), application tokens carry `roles`.
//! The signing key lives in the store; because sled locks its folder while the cloud runs, the
//! key is also mirrored into `token-signing.key` in the data folder so `printlab token` can mint
//! tokens the running cloud accepts.

use super::odata::GraphError;
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};
use std::path::Path;

/// The file beside the sled store that holds the hex signing key for `printlab token`.
pub const SIGNING_KEY_FILE: &str = "token-signing.key";

/// The claims of a printlab access token.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Claims {
    /// Object id of the user or service principal (a GUID derived from the name).
    pub oid: String,
    /// User principal name (users) or the app's display name (applications).
    pub name: String,
    /// Delegated scopes, space-separated; absent for application tokens.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scp: Option<String>,
    /// Application roles; absent for delegated tokens.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub roles: Option<Vec<String>>,
    /// Delegated callers holding the Printer Administrator directory role.
    #[serde(default)]
    pub admin: bool,
    /// Delegated tokens: the client application the user signed in to, as in Entra tokens.
    /// Graph checks it where an action is bound to an app (task triggers) and reports it as
    /// `createdBy.application` of beta upload sessions.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub appid: Option<String>,
    pub iat: i64,
    pub exp: i64,
}

/// The client application delegated tokens from `printlab token` are issued to.
pub const PRINTLAB_CLIENT_APP: &str = "printlab";

/// The audience of device access tokens: the Universal Print service resource a device asks
/// for (`mcp_svc_resource_id` in the registration answer).
pub const DEVICE_AUDIENCE: &str = "https://print.print.microsoft.com";

/// The application roles Universal Print grants a printer's device token (its device token flow
/// lists them).
pub const DEVICE_ROLES: [&str; 4] = [
    "Printers.Read",
    "PrinterProperties.ReadWrite",
    "PrintJob.ReadWriteBasic",
    "PrintJob.Read",
];

/// The claims of a device access token: `sub` is the printer (cloud device) id.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DeviceClaims {
    pub sub: String,
    pub aud: String,
    pub roles: Vec<String>,
    pub iat: i64,
    pub exp: i64,
}

/// Who is calling, once the token checked out.
#[derive(Debug, Clone, PartialEq)]
pub enum Caller {
    User {
        id: String,
        upn: String,
        scopes: Vec<String>,
        admin: bool,
        /// The client application the user signed in through (`appid`); `None` for tokens
        /// minted before that claim existed.
        app_id: Option<String>,
    },
    App {
        id: String,
        name: String,
        roles: Vec<String>,
    },
}

/// The permissions a Graph endpoint accepts (any one suffices), as its reference page lists them.
#[derive(Debug, Clone, Copy)]
pub struct Permissions {
    pub delegated: &'static [&'static str],
    /// Empty when the endpoint does not support application permissions.
    pub application: &'static [&'static str],
}

impl Caller {
    /// 403 unless the caller holds one of the permissions the endpoint accepts.
    pub fn require(&self, needed: &Permissions) -> Result<(), GraphError> {
        let (held, accepted, kind) = match self {
            Caller::User { scopes, .. } => (scopes, needed.delegated, "delegated scopes"),
            Caller::App { roles, .. } => (roles, needed.application, "application roles"),
        };
        if accepted.is_empty() {
            return Err(GraphError::forbidden(format!(
                "This operation does not support {kind}."
            )));
        }
        if held.iter().any(|h| accepted.contains(&h.as_str())) {
            Ok(())
        } else {
            Err(GraphError::forbidden(format!(
                "Missing permission: the token's {kind} include none of {}.",
                accepted.join(", ")
            )))
        }
    }

    /// Users see and touch only their own jobs unless they are Printer Administrators;
    /// application permissions are tenant-wide.
    pub fn may_access_job_of(&self, owner_id: &str) -> bool {
        match self {
            Caller::User { id, admin, .. } => *admin || id == owner_id,
            Caller::App { .. } => true,
        }
    }

    /// The application behind the call: the app itself, or the client app a user signed in to.
    pub fn app_id(&self) -> Option<&str> {
        match self {
            Caller::User { app_id, .. } => app_id.as_deref(),
            Caller::App { id, .. } => Some(id),
        }
    }

    pub fn id(&self) -> &str {
        match self {
            Caller::User { id, .. } | Caller::App { id, .. } => id,
        }
    }
}

/// A stable GUID for a user or app name, so tokens minted at different times agree on identity.
pub fn object_id(kind: &str, name: &str) -> String {
    uuid::Uuid::new_v5(
        &uuid::Uuid::NAMESPACE_URL,
        format!("printlab:{kind}:{name}").as_bytes(),
    )
    .to_string()
}

/// The user principal name printlab gives the user `name`: `name` itself when it has a domain,
/// else `name@printlab.test`.
pub fn user_principal_name(name: &str) -> String {
    if name.contains('@') {
        name.to_string()
    } else {
        format!("{name}@printlab.test")
    }
}

/// Signs and verifies tokens with one HMAC key.
#[derive(Clone)]
pub struct TokenKey {
    secret: Vec<u8>,
}

impl std::fmt::Debug for TokenKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("TokenKey(..)")
    }
}

/// Why a signing key could not be read.
#[derive(Debug, thiserror::Error)]
pub enum TokenKeyError {
    #[error("cannot read the signing key {path}: {source}")]
    Read {
        path: String,
        source: std::io::Error,
    },
    #[error("the signing key in {path} is not 64 hex digits")]
    Malformed { path: String },
    #[error("cannot sign the token: {0}")]
    Sign(#[from] jsonwebtoken::errors::Error),
}

impl TokenKey {
    pub fn generate() -> Self {
        Self {
            secret: rand::random::<[u8; 32]>().to_vec(),
        }
    }

    pub fn from_bytes(secret: Vec<u8>) -> Self {
        Self { secret }
    }

    pub fn as_bytes(&self) -> &[u8] {
        &self.secret
    }

    pub fn to_hex(&self) -> String {
        hex::encode(&self.secret)
    }

    /// Reads the key the cloud mirrored into its data folder.
    pub fn read_from_data_dir(dir: &Path) -> Result<Self, TokenKeyError> {
        let path = dir.join(SIGNING_KEY_FILE);
        let shown = path.display().to_string();
        let text = std::fs::read_to_string(&path).map_err(|source| TokenKeyError::Read {
            path: shown.clone(),
            source,
        })?;
        let text = text.trim();
        if text.len() != 64 {
            return Err(TokenKeyError::Malformed { path: shown });
        }
        let secret = (0..32)
            .map(|i| u8::from_str_radix(&text[2 * i..2 * i + 2], 16))
            .collect::<Result<Vec<u8>, _>>()
            .map_err(|_| TokenKeyError::Malformed { path: shown })?;
        Ok(Self { secret })
    }

    /// A delegated token for a user signed in through printlab's own client application
    /// (`printlab token`, the CLI).
    pub fn mint_user(
        &self,
        name: &str,
        scopes: &[String],
        admin: bool,
        lifetime: chrono::Duration,
    ) -> Result<String, TokenKeyError> {
        self.mint_user_via_app(PRINTLAB_CLIENT_APP, name, scopes, admin, lifetime)
    }

    /// A delegated token for a user signed in through the application `app` (its `appid` is
    /// `object_id("app", app)`, the same id an application token for `app` carries).
    pub fn mint_user_via_app(
        &self,
        app: &str,
        name: &str,
        scopes: &[String],
        admin: bool,
        lifetime: chrono::Duration,
    ) -> Result<String, TokenKeyError> {
        let upn = user_principal_name(name);
        let now = chrono::Utc::now().timestamp();
        self.sign(&Claims {
            oid: object_id("user", &upn),
            name: upn,
            scp: Some(scopes.join(" ")),
            roles: None,
            admin,
            appid: Some(object_id("app", app)),
            iat: now,
            exp: now + lifetime.num_seconds(),
        })
    }

    /// An application token for an app.
    pub fn mint_app(
        &self,
        name: &str,
        roles: &[String],
        lifetime: chrono::Duration,
    ) -> Result<String, TokenKeyError> {
        let now = chrono::Utc::now().timestamp();
        self.sign(&Claims {
            oid: object_id("app", name),
            name: name.to_string(),
            scp: None,
            roles: Some(roles.to_vec()),
            admin: false,
            appid: None,
            iat: now,
            exp: now + lifetime.num_seconds(),
        })
    }

    fn sign(&self, claims: &Claims) -> Result<String, TokenKeyError> {
        Ok(jsonwebtoken::encode(
            &Header::new(Algorithm::HS256),
            claims,
            &EncodingKey::from_secret(&self.secret),
        )?)
    }

    /// A device access token bound to one printer, carrying the Universal Print device roles (as
    /// Universal Print's device token flow issues them). Signed with the same key as Graph tokens
    /// so it survives a restart of the cloud, but with its own audience, so Graph refuses it and
    /// INFRA refuses Graph tokens.
    pub fn mint_device(
        &self,
        printer_id: &str,
        lifetime: chrono::Duration,
    ) -> Result<String, TokenKeyError> {
        let now = chrono::Utc::now().timestamp();
        let claims = DeviceClaims {
            sub: printer_id.to_string(),
            aud: DEVICE_AUDIENCE.to_string(),
            roles: DEVICE_ROLES.iter().map(|r| r.to_string()).collect(),
            iat: now,
            exp: now + lifetime.num_seconds(),
        };
        Ok(jsonwebtoken::encode(
            &Header::new(Algorithm::HS256),
            &claims,
            &EncodingKey::from_secret(&self.secret),
        )?)
    }

    /// The printer a device access token is bound to; `None` for anything but a valid,
    /// unexpired device token signed by this key.
    pub fn verify_device(&self, token: &str) -> Option<String> {
        let mut validation = Validation::new(Algorithm::HS256);
        validation.required_spec_claims = ["exp".to_string(), "aud".to_string()].into();
        validation.set_audience(&[DEVICE_AUDIENCE]);
        jsonwebtoken::decode::<DeviceClaims>(
            token.trim(),
            &DecodingKey::from_secret(&self.secret),
            &validation,
        )
        .ok()
        .map(|data| data.claims.sub)
    }

    /// Checks an `Authorization` header value: 401 for anything but a valid, unexpired token.
    pub fn verify_header(&self, header: Option<&str>) -> Result<Caller, GraphError> {
        let header = header.ok_or_else(|| {
            GraphError::unauthenticated("Access token is empty: send an Authorization header.")
        })?;
        let token = header
            .strip_prefix("Bearer ")
            .or_else(|| header.strip_prefix("bearer "))
            .ok_or_else(|| {
                GraphError::unauthenticated("The Authorization header is not a Bearer token.")
            })?;
        let mut validation = Validation::new(Algorithm::HS256);
        validation.required_spec_claims = ["exp".to_string()].into();
        validation.validate_aud = false;
        let data = jsonwebtoken::decode::<Claims>(
            token.trim(),
            &DecodingKey::from_secret(&self.secret),
            &validation,
        )
        .map_err(|e| GraphError::unauthenticated(format!("Access token rejected: {e}.")))?;
        let c = data.claims;
        Ok(match (c.scp, c.roles) {
            (Some(scp), None) => Caller::User {
                id: c.oid,
                upn: c.name,
                scopes: scp.split_whitespace().map(str::to_string).collect(),
                admin: c.admin,
                app_id: c.appid,
            },
            (None, Some(roles)) => Caller::App {
                id: c.oid,
                name: c.name,
                roles,
            },
            _ => {
                return Err(GraphError::unauthenticated(
                    "Access token carries neither delegated scopes nor application roles.",
                ));
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn minted_tokens_verify_and_foreign_ones_do_not() {
        let key = TokenKey::generate();
        let token = key
            .mint_user(
                "ada",
                &["PrintJob.Create".into()],
                false,
                chrono::Duration::hours(1),
            )
            .unwrap();
        let caller = key.verify_header(Some(&format!("Bearer {token}"))).unwrap();
        assert!(matches!(&caller, Caller::User { upn, .. } if upn == "ada@printlab.test"));
        let other = TokenKey::generate();
        let err = other
            .verify_header(Some(&format!("Bearer {token}")))
            .unwrap_err();
        assert_eq!(err.status, 401);
        let expired = key
            .mint_app("app", &[], chrono::Duration::hours(-2))
            .unwrap();
        assert_eq!(
            key.verify_header(Some(&format!("Bearer {expired}")))
                .unwrap_err()
                .status,
            401
        );
    }

    #[test]
    fn device_tokens_bind_one_printer_and_are_refused_by_graph() {
        let key = TokenKey::generate();
        let token = key.mint_device("p-1", chrono::Duration::hours(1)).unwrap();
        assert_eq!(key.verify_device(&token).as_deref(), Some("p-1"));
        assert_eq!(
            key.verify_header(Some(&format!("Bearer {token}")))
                .unwrap_err()
                .status,
            401
        );
        let user = key
            .mint_user("ada", &[], false, chrono::Duration::hours(1))
            .unwrap();
        assert_eq!(key.verify_device(&user), None);
        let expired = key.mint_device("p-1", chrono::Duration::hours(-2)).unwrap();
        assert_eq!(key.verify_device(&expired), None);
        assert_eq!(TokenKey::generate().verify_device(&token), None);
    }

    #[test]
    fn permissions_are_checked_per_caller_kind() {
        let app = Caller::App {
            id: "a".into(),
            name: "a".into(),
            roles: vec!["Printer.Read.All".into()],
        };
        let delegated_only = Permissions {
            delegated: &["Printer.Read.All"],
            application: &[],
        };
        assert_eq!(app.require(&delegated_only).unwrap_err().status, 403);
        let both = Permissions {
            delegated: &[],
            application: &["Printer.Read.All"],
        };
        assert!(app.require(&both).is_ok());
    }
}
