//! How commands in another terminal find a running lab: `printlab up` writes `lab.json` (where
//! it listens) and `user.token` (a ready-made user token) into its data folder, and every client
//! command reads them from there when the command line and the environment say nothing.
//!
//! This module is the one place that knows the file's name and shape; `lab.json` is a struct so
//! that a field added later (a CA file for HTTPS, say) is one line here and nowhere else.

use crate::LabPrinter;
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

/// Where a client looks for the cloud when nothing says otherwise: `printlab up`'s and
/// `printlab cloud`'s default listen address.
pub const DEFAULT_CLOUD_URL: &str = "http://127.0.0.1:8443";
/// The data folder `printlab up` uses unless told otherwise, relative to where it runs; client
/// commands look for `lab.json` and `user.token` there.
pub const DEFAULT_DATA_DIR: &str = "spool";
/// The cloud's folder (its store and token-signing key) inside a lab's data folder.
pub const CLOUD_DIR: &str = "cloud";
/// The file in a lab's data folder that says where it listens.
pub const DISCOVERY_FILE: &str = "lab.json";
/// The file in a lab's data folder that holds the ready-made user token.
pub const USER_TOKEN_FILE: &str = "user.token";

/// The file in a lab's (or a `printlab devices` spool's) data folder that holds the control
/// API's bearer token: `printlab up` writes its admin token there, `printlab devices` the token
/// it was given or generated.
pub const CONTROL_TOKEN_FILE: &str = "control.token";

/// What `lab.json` holds. Fields are only ever added, so an older file still reads (`default`
/// for anything a newer lab adds).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct LabInfo {
    /// The cloud's base URL, e.g. `http://127.0.0.1:8443`.
    pub cloud: String,
    /// The Graph root, `{cloud}/v1.0`.
    pub graph: String,
    /// The devices' control API (clearing faults), e.g. `http://127.0.0.1:40123`.
    pub control: String,
    #[serde(default)]
    pub printers: Vec<LabPrinter>,
    /// Where rendered sides go: `<out>/<printer>/<job>/`.
    #[serde(default)]
    pub out: PathBuf,
    /// The CA certificate of the lab's HTTPS (`up --tls`), which clients must trust; else none.
    #[serde(default)]
    pub ca: Option<PathBuf>,
    /// HTTP Basic credentials for the cloud's printers over IPP (each printer's `cloudIppUri`),
    /// for clients that cannot send a bearer token.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ipp_user: Option<IppUser>,
}

/// A user credential for printing to the cloud over IPP.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct IppUser {
    pub username: String,
    pub password: String,
}

/// Why `lab.json` could not be used. A missing file is not an error (there is no lab here); a
/// file that is there but unreadable is, so a command never silently talks to the wrong place.
#[derive(Debug, thiserror::Error)]
pub enum DiscoveryError {
    #[error("reading {}", path.display())]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("no token for the control API at {url}: pass --control-token (as `printlab devices` printed it) or run this where {} is", path.display())]
    NoControlToken { path: PathBuf, url: String },
    #[error("{} is not a lab.json that printlab wrote", path.display())]
    Parse {
        path: PathBuf,
        #[source]
        source: serde_json::Error,
    },
}

impl LabInfo {
    /// The lab described in `data_dir`, or `None` when no lab wrote one there.
    pub fn read(data_dir: &Path) -> Result<Option<LabInfo>, DiscoveryError> {
        let path = data_dir.join(DISCOVERY_FILE);
        let text = match std::fs::read_to_string(&path) {
            Ok(text) => text,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(source) => return Err(DiscoveryError::Read { path, source }),
        };
        serde_json::from_str(&text)
            .map(Some)
            .map_err(|source| DiscoveryError::Parse { path, source })
    }

    /// The JSON `printlab up` writes.
    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(self).expect("lab.json serialises")
    }

    /// Writes `lab.json` into `data_dir` whole or not at all
    /// ([`printlab_datadir::replace_file`]): a client command reading it while `printlab up`
    /// starts, or after a crash mid-write, never meets half a file.
    pub fn write(&self, data_dir: &Path) -> std::io::Result<()> {
        printlab_datadir::replace_file(&data_dir.join(DISCOVERY_FILE), self.to_json().as_bytes())
    }
}

/// Writes the ready-made user token into `data_dir`, as [`LabInfo::write`] does `lab.json`.
pub fn write_user_token(data_dir: &Path, token: &str) -> std::io::Result<()> {
    printlab_datadir::replace_file(&data_dir.join(USER_TOKEN_FILE), token.as_bytes())
}

/// Where the cloud is, in this order: `given` (a flag or the environment), the lab described in
/// `data_dir`, the default address.
pub fn cloud_url(given: Option<&str>, data_dir: &Path) -> Result<String, DiscoveryError> {
    if let Some(url) = given {
        return Ok(url.to_string());
    }
    Ok(LabInfo::read(data_dir)?.map_or_else(|| DEFAULT_CLOUD_URL.to_string(), |lab| lab.cloud))
}

/// The CA certificate file clients must trust to reach the cloud over HTTPS: `given`, else the
/// one the lab described in `data_dir` names (`up --tls`), else none (the system's roots).
pub fn ca_file(given: Option<&Path>, data_dir: &Path) -> Result<Option<PathBuf>, DiscoveryError> {
    if let Some(path) = given {
        return Ok(Some(path.to_path_buf()));
    }
    Ok(LabInfo::read(data_dir)?.and_then(|lab| lab.ca))
}

/// How to reach the devices' control API: its URL and bearer token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ControlAccess {
    pub url: String,
    pub token: String,
}

/// Writes the control API's token into `data_dir` (owner-only), as [`LabInfo::write`] does
/// `lab.json`.
pub fn write_control_token(data_dir: &Path, token: &str) -> std::io::Result<()> {
    printlab_datadir::replace_file(&data_dir.join(CONTROL_TOKEN_FILE), token.as_bytes())
}

/// The control token kept in `data_dir`, if there is one.
pub fn control_token(data_dir: &Path) -> Option<String> {
    read_token(&data_dir.join(CONTROL_TOKEN_FILE))
}

/// The devices' control API: `url` else the lab described in `data_dir`, with `token` else the
/// one kept in `data_dir`. `None` when nothing names a control API; an error when one is named
/// but no token for it is found.
pub fn control_access(
    url: Option<&str>,
    token: Option<&str>,
    data_dir: &Path,
) -> Result<Option<ControlAccess>, DiscoveryError> {
    let url = match url {
        Some(url) => url.to_string(),
        None => match LabInfo::read(data_dir)? {
            Some(lab) => lab.control,
            None => return Ok(None),
        },
    };
    let token = match token {
        Some(token) => token.to_string(),
        None => control_token(data_dir).ok_or_else(|| DiscoveryError::NoControlToken {
            path: data_dir.join(CONTROL_TOKEN_FILE),
            url: url.clone(),
        })?,
    };
    Ok(Some(ControlAccess { url, token }))
}

fn read_token(path: &Path) -> Option<String> {
    std::fs::read_to_string(path)
        .ok()
        .map(|t| t.trim().to_string())
        .filter(|t| !t.is_empty())
}

/// The user token a lab left in `data_dir`, if there is one.
pub fn user_token(data_dir: &Path) -> Option<String> {
    read_token(&data_dir.join(USER_TOKEN_FILE))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lab_json_round_trips_and_is_absent_without_a_lab() {
        let dir = tempfile::tempdir().unwrap();
        assert!(LabInfo::read(dir.path()).unwrap().is_none());
        assert_eq!(cloud_url(None, dir.path()).unwrap(), DEFAULT_CLOUD_URL);
        assert_eq!(control_access(None, None, dir.path()).unwrap(), None);
        let info = LabInfo {
            cloud: "http://127.0.0.1:1".into(),
            graph: "http://127.0.0.1:1/v1.0".into(),
            control: "http://127.0.0.1:2".into(),
            printers: vec![],
            out: "out".into(),
            ca: Some("tls/ca.pem".into()),
            ipp_user: Some(IppUser {
                username: "lab-user".into(),
                password: "p".into(),
            }),
        };
        std::fs::write(dir.path().join(DISCOVERY_FILE), info.to_json()).unwrap();
        assert_eq!(LabInfo::read(dir.path()).unwrap(), Some(info));
        assert_eq!(cloud_url(None, dir.path()).unwrap(), "http://127.0.0.1:1");
        assert_eq!(cloud_url(Some("http://h"), dir.path()).unwrap(), "http://h");
        let err = control_access(None, None, dir.path()).unwrap_err();
        assert!(err.to_string().contains(CONTROL_TOKEN_FILE), "{err}");
        write_control_token(dir.path(), "secret").unwrap();
        assert_eq!(
            control_access(None, None, dir.path()).unwrap(),
            Some(ControlAccess {
                url: "http://127.0.0.1:2".into(),
                token: "secret".into()
            })
        );
        std::fs::write(dir.path().join(DISCOVERY_FILE), "{").unwrap();
        let err = LabInfo::read(dir.path()).unwrap_err();
        assert!(err.to_string().contains("lab.json"), "{err}");
    }

    /// A client command that reads `lab.json` while `printlab up` rewrites it sees one whole
    /// file or the other, never a part.
    #[test]
    fn a_reader_never_sees_lab_json_half_written() {
        let dir = tempfile::tempdir().unwrap();
        let lab = |printers: usize| LabInfo {
            cloud: "http://127.0.0.1:1".into(),
            graph: "http://127.0.0.1:1/v1.0".into(),
            control: "http://127.0.0.1:2".into(),
            printers: (0..printers)
                .map(|i| LabPrinter {
                    name: format!("printer {i}"),
                    printer_id: format!("p{i}"),
                    share_id: format!("s{i}"),
                    refuses: Vec::new(),
                    ipp_uri: None,
                    cloud_ipp_uri: None,
                })
                .collect(),
            out: "out".into(),
            ca: None,
            ipp_user: None,
        };
        let (small, large) = (lab(1), lab(2000));
        small.write(dir.path()).unwrap();
        let done = std::sync::atomic::AtomicBool::new(false);
        std::thread::scope(|scope| {
            let reader = scope.spawn(|| {
                while !done.load(std::sync::atomic::Ordering::Acquire) {
                    let seen = LabInfo::read(dir.path())
                        .unwrap_or_else(|e| panic!("{e}: {:?}", std::error::Error::source(&e)))
                        .expect("lab.json vanished while it was rewritten");
                    assert!(seen == small || seen == large);
                }
            });
            for round in 0..100 {
                let next = if round % 2 == 0 { &large } else { &small };
                next.write(dir.path()).unwrap();
            }
            done.store(true, std::sync::atomic::Ordering::Release);
            reader.join().unwrap();
        });
    }
}
