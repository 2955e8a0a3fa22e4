//! What the Graph client commands (`print`, `jobs`, `job`, `cancel`, `printers`, `printer`)
//! share: where the cloud is, who is calling, how a printer name becomes a share, and the
//! documented exit codes (README.md, "Command line").

use anyhow::{Context, anyhow};
use clap::Args;
use printlab_client::shares::{ShareError, Target};
use printlab_client::submit::SubmitError;
use printlab_client::upload::ResumableUploadError;
use printlab_client::{ClientError, GraphClient};
use printlab_lab::demo::DemoError;
use printlab_lab::discovery::{
    self, CLOUD_DIR, DEFAULT_CLOUD_URL, DEFAULT_DATA_DIR, DISCOVERY_FILE,
};
use reqwest::StatusCode;
use std::error::Error;
use std::path::PathBuf;

/// Exit codes; README.md lists them and scripts rely on them, so they never change meaning.
pub mod exit {
    /// Something else went wrong (a local file, the terminal, …).
    pub const OTHER: u8 = 1;
    /// The command line is wrong (unknown flag, missing argument, a value that cannot be).
    pub const USAGE: u8 = 2;
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
    err.chain().find_map(code_of).unwrap_or(exit::OTHER)
}

/// The code one cause decides, if it decides one; the library errors pass some failures
/// through `transparent` or a box, which hide the inner error from the chain, so those are
/// opened here.
fn code_of(cause: &(dyn Error + 'static)) -> Option<u8> {
    if let Some(exit) = cause.downcast_ref::<Exit>() {
        return Some(exit.code);
    }
    if let Some(client) = cause.downcast_ref::<ClientError>() {
        return Some(match client {
            ClientError::Transport { .. } => exit::UNREACHABLE,
            _ => exit::REFUSED,
        });
    }
    if let Some(upload) = cause.downcast_ref::<ResumableUploadError>() {
        return Some(match upload {
            ResumableUploadError::Transport { .. } => exit::UNREACHABLE,
            ResumableUploadError::File { .. } => exit::OTHER,
            _ => exit::REFUSED,
        });
    }
    if let Some(submit) = cause.downcast_ref::<SubmitError>() {
        return match submit {
            SubmitError::Unsupported { .. } => Some(exit::UNSUPPORTED),
            SubmitError::Mismatch { .. } => Some(exit::MISMATCH),
            SubmitError::Graph(client) => code_of(client),
            _ => None,
        };
    }
    match cause.downcast_ref::<DemoError>()? {
        DemoError::NotShared { .. } => Some(exit::REFUSED),
        DemoError::Timeout { .. } => Some(exit::JOB_FAILED),
        DemoError::Submit(submit) => code_of(submit),
        DemoError::Submitting { source, .. } => code_of(source.as_ref()),
        DemoError::Graph(client) => code_of(client),
        _ => None,
    }
}

/// The Graph failure one cause is, looking inside the library errors' `transparent` and boxed
/// variants.
fn graph_failure<'a>(cause: &'a (dyn Error + 'static)) -> Option<&'a ClientError> {
    if let Some(client) = cause.downcast_ref::<ClientError>() {
        return Some(client);
    }
    if let Some(SubmitError::Graph(client)) = cause.downcast_ref::<SubmitError>() {
        return Some(client);
    }
    match cause.downcast_ref::<DemoError>()? {
        DemoError::Graph(client) | DemoError::Submit(SubmitError::Graph(client)) => Some(client),
        DemoError::Submitting { source, .. } => graph_failure(source.as_ref()),
        _ => None,
    }
}

/// What to do about an error, when the error itself cannot say it.
pub fn hint(err: &anyhow::Error) -> Option<String> {
    for cause in err.chain() {
        match graph_failure(cause) {
            Some(ClientError::Transport { .. }) => {
                return Some(format!(
                    "is the cloud running? Start it with `printlab up` (or `printlab cloud`) or point --cloud / PRINTLAB_CLOUD at it (without them: the lab in {}, else {DEFAULT_CLOUD_URL})",
                    lab_folder().join(DISCOVERY_FILE).display()
                ));
            }
            Some(e) if e.status() == Some(StatusCode::UNAUTHORIZED) => {
                return Some(format!(
                    "pass a token with --token or PRINTLAB_TOKEN; `printlab token --user NAME --scopes {}` prints one",
                    printlab_lab::USER_SCOPES.join(" ")
                ));
            }
            Some(e) if e.status() == Some(StatusCode::FORBIDDEN) => {
                return Some(
                    "the token lacks a scope or role this call needs; mint one with the scopes named above".into(),
                );
            }
            _ => {}
        }
    }
    None
}

/// The folder where `printlab up` keeps `lab.json` and the tokens by which client commands find
/// the lab: `PRINTLAB_DATA`, which `up --data` reads too, else `spool` in the current folder.
pub fn lab_folder() -> PathBuf {
    std::env::var_os("PRINTLAB_DATA")
        .filter(|folder| !folder.is_empty())
        .map_or_else(|| PathBuf::from(DEFAULT_DATA_DIR), PathBuf::from)
}

/// The cloud's data folder when no `--data` names it: the `cloud` folder of the lab's, where
/// `printlab up` keeps the cloud's store and the signing key tokens are minted with.
pub fn lab_cloud_folder(given: Option<PathBuf>) -> PathBuf {
    given.unwrap_or_else(|| lab_folder().join(CLOUD_DIR))
}

/// Where the cloud is and who is calling: flags first, then the environment, then what a
/// `printlab up` run from this folder wrote in `spool/` (`lab.json`, `user.token`), then defaults.
#[derive(Args, Clone)]
pub struct ConnectArgs {
    /// The cloud's base URL (or its Graph root ending in /v1.0). Default: the lab that
    /// `printlab up` described in spool/lab.json, else http://127.0.0.1:8443.
    #[arg(long, env = "PRINTLAB_CLOUD", value_name = "URL")]
    pub cloud: Option<String>,
    /// Bearer token for Graph calls (`printlab token` prints one). Default: the user token
    /// `printlab up` left in `spool/user.token`.
    #[arg(
        long,
        env = "PRINTLAB_TOKEN",
        hide_env_values = true,
        value_name = "TOKEN"
    )]
    pub token: Option<String>,
    /// A CA certificate (PEM) to trust for an HTTPS cloud, besides the system's. Default: the
    /// CA that `printlab up --tls` named in spool/lab.json.
    #[arg(long, env = "PRINTLAB_CA", value_name = "FILE")]
    pub ca: Option<PathBuf>,
}

impl ConnectArgs {
    pub fn client(&self) -> anyhow::Result<GraphClient> {
        let data = lab_folder();
        let cloud = discovery::cloud_url(self.cloud.as_deref(), &data)
            .context("finding the cloud (--cloud URL or PRINTLAB_CLOUD skips lab.json)")?;
        let base = cloud.trim_end_matches('/');
        let graph = if base.ends_with("/v1.0") {
            base.to_string()
        } else {
            format!("{base}/v1.0")
        };
        let client = GraphClient::new(&graph, self.token());
        let Some(ca) = discovery::ca_file(self.ca.as_deref(), &data)
            .context("finding the HTTPS CA (--ca FILE or PRINTLAB_CA skips lab.json)")?
        else {
            return Ok(client);
        };
        let pem = std::fs::read(&ca)
            .with_context(|| format!("reading the HTTPS CA certificate {}", ca.display()))?;
        let mut http = reqwest::Client::builder();
        for root in reqwest::Certificate::from_pem_bundle(&pem)
            .with_context(|| format!("{} is not a PEM certificate bundle", ca.display()))?
        {
            http = http.add_root_certificate(root);
        }
        Ok(client.with_http(http.build().context("building the HTTPS client")?))
    }

    /// The token from the flag or environment, else the one a local `printlab up` wrote.
    fn token(&self) -> Option<String> {
        self.token
            .clone()
            .or_else(|| discovery::user_token(&lab_folder()))
    }

    /// The caller's user principal name, used to narrow job lists to the caller's own jobs.
    pub fn user_name(&self) -> Option<String> {
        printlab_client::token::user_name(&self.token()?)
    }
}

pub fn runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .map_err(|e| anyhow!("starting the async runtime: {e}"))
}

/// Finds the share the flags name: by id, or by display name, naming the choices when none fits.
pub async fn resolve(
    client: &GraphClient,
    printer: Option<&str>,
    share: Option<&str>,
) -> anyhow::Result<Target> {
    match (printer, share) {
        (_, Some(id)) => Ok(Target::by_share_id(client, id).await?),
        (Some(name), None) => Target::by_name(client, name).await.map_err(|err| match err {
            ShareError::NotShared { name, shared } => fail(
                exit::REFUSED,
                if shared.is_empty() {
                    format!(
                        "no printer named {name:?}: the cloud shares no printers yet (is `printlab up` running?)"
                    )
                } else {
                    format!(
                        "no printer named {name:?}; shared printers: {} (`printlab printers` lists them)",
                        shared.join(", ")
                    )
                },
            ),
            ShareError::Graph(client) => client.into(),
        }),
        (None, None) => Err(fail(
            exit::USAGE,
            "name a printer with --printer NAME or --share ID (`printlab printers` lists them)",
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cloud_urls_gain_the_graph_version_once() {
        let args = |cloud: &str| ConnectArgs {
            cloud: Some(cloud.into()),
            token: None,
            ca: None,
        };
        assert_eq!(
            args("http://h:1").client().unwrap().base_url(),
            "http://h:1/v1.0"
        );
        assert_eq!(
            args("http://h:1/v1.0/").client().unwrap().base_url(),
            "http://h:1/v1.0"
        );
    }

    #[test]
    fn exit_codes_follow_the_error_kind() {
        assert_eq!(exit_code(&fail(exit::UNSUPPORTED, "x")), exit::UNSUPPORTED);
        assert_eq!(exit_code(&anyhow!("plain")), exit::OTHER);
        let graph = || ClientError::Graph {
            method: reqwest::Method::GET,
            url: "u".into(),
            status: StatusCode::UNAUTHORIZED,
            code: "InvalidAuthenticationToken".into(),
            message: "no token".into(),
            retry_after: None,
        };
        let err = anyhow::Error::new(graph()).context("listing printers");
        assert_eq!(exit_code(&err), exit::REFUSED);
        assert!(hint(&err).unwrap().contains("PRINTLAB_TOKEN"));
        // A Graph failure passed through a library error's transparent variant counts the same.
        let err = anyhow::Error::new(DemoError::Submit(SubmitError::Graph(graph())));
        assert_eq!(exit_code(&err), exit::REFUSED);
        assert!(hint(&err).is_some());
        let unsupported = SubmitError::Unsupported {
            printer: "p".into(),
            problems: vec![],
        };
        assert_eq!(
            exit_code(&anyhow::Error::new(unsupported)),
            exit::UNSUPPORTED
        );
        let mismatch = SubmitError::Mismatch {
            job_id: "1".into(),
            stored_size: 1,
            stored_sha256: "a".into(),
            path: "f".into(),
            size: 1,
            sha256: "b".into(),
        };
        let err = anyhow::Error::new(DemoError::Submitting {
            document: "f".into(),
            printer: "p".into(),
            source: Box::new(mismatch),
        });
        assert_eq!(exit_code(&err), exit::MISMATCH);
        assert!(format!("{err:#}").starts_with("submitting f to p: job 1: the cloud stored"));
    }
}

/// How a client command reaches the devices' control API: the same two flags everywhere.
#[derive(Args)]
pub struct ControlArgs {
    /// The devices' control API, as `printlab devices` printed it. Default: the one `printlab
    /// up` wrote in spool/lab.json.
    #[arg(long, env = "PRINTLAB_CONTROL", value_name = "URL")]
    control: Option<String>,
    /// The control API's bearer token. Default: spool/control.token.
    #[arg(
        long,
        env = "PRINTLAB_CONTROL_TOKEN",
        hide_env_values = true,
        value_name = "TOKEN"
    )]
    control_token: Option<String>,
}

impl ControlArgs {
    /// The control API the flags or the lab name, if any.
    pub fn lookup(&self) -> anyhow::Result<Option<discovery::ControlAccess>> {
        Ok(discovery::control_access(
            self.control.as_deref(),
            self.control_token.as_deref(),
            &lab_folder(),
        )?)
    }

    /// The control API, which this command cannot do without.
    pub fn access(&self) -> anyhow::Result<discovery::ControlAccess> {
        let data = lab_folder();
        self.lookup()?.ok_or_else(|| {
            fail(
                exit::USAGE,
                format!(
                    "no control API: pass --control URL (as `printlab devices` printed it) or run this where `printlab up` keeps {}",
                    data.join(DISCOVERY_FILE).display()
                ),
            )
        })
    }
}
