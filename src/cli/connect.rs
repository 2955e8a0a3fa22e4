//! What the Graph client commands (`print`, `jobs`, `job`, `cancel`, `printers`, `printer`)
//! share: where the cloud is, who is calling, how a printer name becomes a share, and the
//! documented exit codes (README.md, "Command line").

use anyhow::anyhow;
use clap::Args;
use printlab_client::upload::ResumableUploadError;
use printlab_client::{ClientError, GraphClient, JobParent, SharedPrinter};
use printlab_graph::PrinterCapabilities;
use reqwest::StatusCode;

/// The `printlab cloud` default listen address.
pub const DEFAULT_CLOUD: &str = "http://127.0.0.1:8443";

/// Exit codes; README.md lists them and scripts rely on them, so they never change meaning.
pub mod exit {
    /// Something else went wrong (a local file, the terminal, …).
    pub const OTHER: u8 = 1;
    /// The printer cannot do what was asked (format or option); nothing was uploaded.
    pub const UNSUPPORTED: u8 = 3;
    /// The cloud could not be reached.
    pub const UNREACHABLE: u8 = 4;
    /// The cloud refused the request (token, permission, unknown printer or job, conflict).
    pub const REFUSED: u8 = 5;
    /// The job ended but did not complete (aborted, canceled, stopped).
    pub const JOB_FAILED: u8 = 6;
    /// The stored document differs from the file (SHA-256 mismatch).
    pub const MISMATCH: u8 = 7;
}

/// An error that carries its own exit code.
#[derive(Debug, thiserror::Error)]
#[error("{message}")]
pub struct Exit {
    pub code: u8,
    pub message: String,
}

pub fn fail(code: u8, message: impl Into<String>) -> anyhow::Error {
    anyhow!(Exit {
        code,
        message: message.into(),
    })
}

/// The exit code an error maps to (see [`exit`]).
pub fn exit_code(err: &anyhow::Error) -> u8 {
    for cause in err.chain() {
        if let Some(exit) = cause.downcast_ref::<Exit>() {
            return exit.code;
        }
        if let Some(client) = cause.downcast_ref::<ClientError>() {
            return match client {
                ClientError::Transport { .. } => exit::UNREACHABLE,
                _ => exit::REFUSED,
            };
        }
        if let Some(upload) = cause.downcast_ref::<ResumableUploadError>() {
            return match upload {
                ResumableUploadError::Transport { .. } => exit::UNREACHABLE,
                ResumableUploadError::File { .. } => exit::OTHER,
                _ => exit::REFUSED,
            };
        }
    }
    exit::OTHER
}

/// What to do about an error, when the error itself cannot say it.
pub fn hint(err: &anyhow::Error) -> Option<&'static str> {
    for cause in err.chain() {
        match cause.downcast_ref::<ClientError>() {
            Some(ClientError::Transport { .. }) => {
                return Some(
                    "is the cloud running? Start it with `printlab up` (or `printlab cloud`) or point --cloud / PRINTLAB_CLOUD at it",
                );
            }
            Some(e) if e.status() == Some(StatusCode::UNAUTHORIZED) => {
                return Some(
                    "pass a token with --token or PRINTLAB_TOKEN; `printlab token --user NAME --scopes PrintJob.ReadWrite Printer.Read.All PrinterShare.ReadBasic.All` prints one",
                );
            }
            Some(e) if e.status() == Some(StatusCode::FORBIDDEN) => {
                return Some(
                    "the token lacks a scope or role this call needs; mint one with the scopes named above",
                );
            }
            _ => {}
        }
    }
    None
}

/// Where the cloud is and who is calling: flags first, then the environment, then defaults.
#[derive(Args, Clone)]
pub struct ConnectArgs {
    /// The cloud's base URL (or its Graph root ending in /v1.0).
    #[arg(long, env = "PRINTLAB_CLOUD", default_value = DEFAULT_CLOUD, value_name = "URL")]
    pub cloud: String,
    /// Bearer token for Graph calls (`printlab token` prints one). Default: the user token
    /// `printlab up` left in `spool/user.token`.
    #[arg(
        long,
        env = "PRINTLAB_TOKEN",
        hide_env_values = true,
        value_name = "TOKEN"
    )]
    pub token: Option<String>,
}

/// Where `printlab up` (run from the same folder) leaves its ready-made user token.
const LAB_TOKEN: &str = "spool/user.token";

impl ConnectArgs {
    pub fn client(&self) -> GraphClient {
        let base = self.cloud.trim_end_matches('/');
        let graph = if base.ends_with("/v1.0") {
            base.to_string()
        } else {
            format!("{base}/v1.0")
        };
        GraphClient::new(&graph, self.token())
    }

    /// The token from the flag or environment, else the one a local `printlab up` wrote.
    fn token(&self) -> Option<String> {
        self.token.clone().or_else(|| {
            std::fs::read_to_string(LAB_TOKEN)
                .ok()
                .map(|t| t.trim().to_string())
                .filter(|t| !t.is_empty())
        })
    }

    /// The caller's user principal name, read from the token's claims (not verified: the cloud
    /// does that); used to narrow job lists to the caller's own jobs.
    pub fn user_name(&self) -> Option<String> {
        use base64::Engine;
        let token = self.token()?;
        let payload = token.split('.').nth(1)?;
        let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(payload.trim_end_matches('='))
            .ok()?;
        let claims: serde_json::Value = serde_json::from_slice(&bytes).ok()?;
        ["upn", "preferred_username", "name"]
            .iter()
            .find_map(|k| claims.get(*k)?.as_str().map(str::to_string))
    }
}

pub fn runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .map_err(|e| anyhow!("starting the async runtime: {e}"))
}

/// A printer as a user sees it: its share, with capabilities and defaults.
#[derive(Clone)]
pub struct Target {
    pub parent: JobParent,
    pub share: SharedPrinter,
}

impl Target {
    pub fn capabilities(&self) -> PrinterCapabilities {
        self.share.capabilities.clone().unwrap_or_default()
    }
}

/// Finds a share by id, or by display name (case-insensitive), naming the choices when none fits.
pub async fn resolve(
    client: &GraphClient,
    printer: Option<&str>,
    share: Option<&str>,
) -> anyhow::Result<Target> {
    let id = match (printer, share) {
        (_, Some(id)) => id.to_string(),
        (Some(name), None) => {
            let shares = client.shares().await?;
            match shares
                .iter()
                .find(|s| s.display_name.eq_ignore_ascii_case(name))
            {
                Some(s) => s.id.clone(),
                None => {
                    let names: Vec<&str> = shares.iter().map(|s| s.display_name.as_str()).collect();
                    return Err(fail(
                        exit::REFUSED,
                        if names.is_empty() {
                            format!(
                                "no printer named {name:?}: the cloud shares no printers yet (is `printlab up` running?)"
                            )
                        } else {
                            format!(
                                "no printer named {name:?}; shared printers: {} (`printlab printers` lists them)",
                                names.join(", ")
                            )
                        },
                    ));
                }
            }
        }
        (None, None) => {
            return Err(fail(
                exit::OTHER,
                "name a printer with --printer NAME or --share ID (`printlab printers` lists them)",
            ));
        }
    };
    let share = client.share(&id).await?;
    Ok(Target {
        parent: JobParent::Share(share.id.clone()),
        share,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cloud_urls_gain_the_graph_version_once() {
        let args = |cloud: &str| ConnectArgs {
            cloud: cloud.into(),
            token: None,
        };
        assert_eq!(args("http://h:1").client().base_url(), "http://h:1/v1.0");
        assert_eq!(
            args("http://h:1/v1.0/").client().base_url(),
            "http://h:1/v1.0"
        );
    }

    #[test]
    fn exit_codes_follow_the_error_kind() {
        assert_eq!(exit_code(&fail(exit::UNSUPPORTED, "x")), exit::UNSUPPORTED);
        assert_eq!(exit_code(&anyhow!("plain")), exit::OTHER);
        let graph = ClientError::Graph {
            method: reqwest::Method::GET,
            url: "u".into(),
            status: StatusCode::UNAUTHORIZED,
            code: "InvalidAuthenticationToken".into(),
            message: "no token".into(),
        };
        let err = anyhow::Error::new(graph).context("listing printers");
        assert_eq!(exit_code(&err), exit::REFUSED);
        assert!(hint(&err).unwrap().contains("PRINTLAB_TOKEN"));
    }

    #[test]
    fn the_user_name_comes_from_the_token_claims() {
        use base64::Engine;
        let claims = base64::engine::general_purpose::URL_SAFE_NO_PAD
            .encode(br#"{"name":"ada@printlab.test","oid":"x"}"#);
        let args = ConnectArgs {
            cloud: DEFAULT_CLOUD.into(),
            token: Some(format!("h.{claims}.sig")),
        };
        assert_eq!(args.user_name().as_deref(), Some("ada@printlab.test"));
    }
}
