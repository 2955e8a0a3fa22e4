//! `--tls`, `--tls-cert`, `--tls-key`: HTTPS for `printlab cloud` and `printlab up`.

use anyhow::Context;
use clap::Args;
use printlab_serve::{TlsConfig, create_lab_certificates, server_config};
use std::path::{Path, PathBuf};
use std::sync::Arc;

#[derive(Args, Clone)]
pub struct TlsArgs {
    /// Serve HTTPS. Without --tls-cert/--tls-key, a CA and a certificate for the listen address
    /// and localhost are created in the data folder (`tls/ca.pem` is the CA clients must trust).
    #[arg(long)]
    tls: bool,
    /// The server's certificate chain (PEM); implies --tls.
    #[arg(long, requires = "tls_key")]
    tls_cert: Option<PathBuf>,
    /// The certificate's private key (PEM).
    #[arg(long, requires = "tls_cert")]
    tls_key: Option<PathBuf>,
}

/// HTTPS as asked: the server configuration and, when printlab made the certificate, its CA.
pub struct Https {
    pub config: Arc<TlsConfig>,
    pub ca: Option<PathBuf>,
    /// What this process's own clients trust: the CA printlab made, or the chain given.
    pub trusted_pem: Vec<u8>,
}

/// The host part of a listen address (`127.0.0.1:8443`, `[::1]:0`, `localhost:8443`).
pub fn listen_host(listen: &str) -> &str {
    listen
        .rsplit_once(':')
        .map_or(listen, |(host, _)| host)
        .trim_start_matches('[')
        .trim_end_matches(']')
}

impl TlsArgs {
    /// `None` for plain HTTP; certificates printlab creates go under `data`, for `host` (the
    /// listen address's host) besides localhost.
    pub fn https(&self, data: &Path, host: &str) -> anyhow::Result<Option<Https>> {
        if let (Some(cert), Some(key)) = (&self.tls_cert, &self.tls_key) {
            let config = server_config(cert, key).context("loading --tls-cert and --tls-key")?;
            let trusted_pem =
                std::fs::read(cert).with_context(|| format!("reading {}", cert.display()))?;
            return Ok(Some(Https {
                config,
                ca: None,
                trusted_pem,
            }));
        }
        if !self.tls {
            return Ok(None);
        }
        let files = create_lab_certificates(data, &[host])
            .with_context(|| format!("creating a certificate in {}", data.display()))?;
        let config = server_config(&files.cert, &files.key)?;
        let trusted_pem =
            std::fs::read(&files.ca).with_context(|| format!("reading {}", files.ca.display()))?;
        Ok(Some(Https {
            config,
            ca: Some(files.ca),
            trusted_pem,
        }))
    }
}
