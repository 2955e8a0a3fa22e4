//! HTTPS for `--tls`: a server configuration from PEM files the user gives, or from a CA and a
//! server certificate created in the data folder for a lab on this machine.
//!
//! The created CA is kept (`tls/ca.pem`, `tls/ca.key`) so a client that trusts it once keeps
//! trusting the lab across restarts; the server certificate is issued anew at every start for
//! the names it is reached at, so changing `--listen` needs nothing else. Keys are written
//! readable by the owner only.

use rcgen::{
    BasicConstraints, CertificateParams, DnType, IsCa, Issuer, KeyPair, KeyUsagePurpose, SanType,
};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use tokio_rustls::rustls::ServerConfig;
use tokio_rustls::rustls::pki_types::pem::PemObject;
use tokio_rustls::rustls::pki_types::{CertificateDer, PrivateKeyDer};

/// Why HTTPS could not be set up.
#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    #[error("reading {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("writing {path}: {source}")]
    Write {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error(transparent)]
    DataDir(#[from] printlab_datadir::DataDirError),
    #[error("{path} holds no {what} in PEM form")]
    NoPem { path: PathBuf, what: &'static str },
    #[error("creating a certificate: {0}")]
    Certificate(#[from] rcgen::Error),
    #[error("the certificate and key do not make a TLS server configuration: {0}")]
    Config(#[from] tokio_rustls::rustls::Error),
}

/// The files a lab's HTTPS uses: its CA (for clients to trust), its certificate and key.
#[derive(Debug, Clone)]
pub struct TlsFiles {
    pub ca: PathBuf,
    pub cert: PathBuf,
    pub key: PathBuf,
}

/// The folder under a data folder where [`create_lab_certificates`] writes.
pub const TLS_FOLDER: &str = "tls";

/// Creates (or reuses) the CA in `data_dir/tls/` and issues a server certificate for `hosts`
/// (DNS names or IP addresses) and always `localhost` and `127.0.0.1`.
pub fn create_lab_certificates(data_dir: &Path, hosts: &[&str]) -> Result<TlsFiles, TlsError> {
    // The data folder is made private before anything is written into it: the lab's start
    // does it too, but after the certificates it is handed.
    printlab_datadir::ensure_private(data_dir)?;
    let dir = data_dir.join(TLS_FOLDER);
    std::fs::create_dir_all(&dir).map_err(|source| TlsError::Write {
        path: dir.clone(),
        source,
    })?;
    let files = TlsFiles {
        ca: dir.join("ca.pem"),
        cert: dir.join("server.pem"),
        key: dir.join("server.key"),
    };
    let ca_key_path = dir.join("ca.key");
    let issuer = if files.ca.exists() && ca_key_path.exists() {
        let ca_pem = read(&files.ca)?;
        let ca_key = KeyPair::from_pem(&read(&ca_key_path)?)?;
        Issuer::from_ca_cert_pem(&ca_pem, ca_key)?
    } else {
        let key = KeyPair::generate()?;
        let mut params = CertificateParams::default();
        params
            .distinguished_name
            .push(DnType::CommonName, "printlab lab HTTPS CA");
        params.is_ca = IsCa::Ca(BasicConstraints::Constrained(0));
        params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
        let cert = params.self_signed(&key)?;
        write(&ca_key_path, key.serialize_pem().as_bytes(), true)?;
        write(&files.ca, cert.pem().as_bytes(), false)?;
        Issuer::new(params, key)
    };
    let mut names: Vec<String> = vec!["localhost".into(), "127.0.0.1".into()];
    for host in hosts {
        if !names.iter().any(|n| n == host) {
            names.push(host.to_string());
        }
    }
    let mut params = CertificateParams::default();
    params
        .distinguished_name
        .push(DnType::CommonName, "printlab lab");
    params.subject_alt_names = names
        .iter()
        .map(|name| match name.parse::<std::net::IpAddr>() {
            Ok(ip) => Ok(SanType::IpAddress(ip)),
            Err(_) => name.clone().try_into().map(SanType::DnsName),
        })
        .collect::<Result<_, _>>()?;
    let key = KeyPair::generate()?;
    let cert = params.signed_by(&key, &issuer)?;
    write(&files.key, key.serialize_pem().as_bytes(), true)?;
    write(&files.cert, cert.pem().as_bytes(), false)?;
    Ok(files)
}

/// A server configuration offering HTTP/2 and HTTP/1.1 through ALPN, as we serve both, from a
/// PEM certificate chain and key.
pub fn server_config(cert: &Path, key: &Path) -> Result<Arc<ServerConfig>, TlsError> {
    let chain = CertificateDer::pem_slice_iter(read(cert)?.as_bytes())
        .filter_map(Result::ok)
        .collect::<Vec<_>>();
    if chain.is_empty() {
        return Err(TlsError::NoPem {
            path: cert.to_path_buf(),
            what: "certificate",
        });
    }
    let key_der =
        PrivateKeyDer::from_pem_slice(read(key)?.as_bytes()).map_err(|_| TlsError::NoPem {
            path: key.to_path_buf(),
            what: "private key",
        })?;
    let mut config = ServerConfig::builder()
        .with_no_client_auth()
        .with_single_cert(chain, key_der)?;
    config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    Ok(Arc::new(config))
}

fn read(path: &Path) -> Result<String, TlsError> {
    std::fs::read_to_string(path).map_err(|source| TlsError::Read {
        path: path.to_path_buf(),
        source,
    })
}

fn write(path: &Path, bytes: &[u8], private: bool) -> Result<(), TlsError> {
    let written = if private {
        printlab_datadir::replace_file(path, bytes)
    } else {
        std::fs::write(path, bytes)
    };
    written.map_err(|source| TlsError::Write {
        path: path.to_path_buf(),
        source,
    })
}
