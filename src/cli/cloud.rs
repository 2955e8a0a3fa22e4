//! `printlab cloud`: the Universal Print emulator alone, until interrupted.

use super::output::outln;
use super::stop_signal::StopSignals;
use super::tls::TlsArgs;
use anyhow::Context;
use printlab_cloud::{Cloud, CloudOptions};
use std::path::Path;

/// Binds first so the public URL can name the real port (`--listen 127.0.0.1:0` works).
pub fn run(
    listen: &str,
    data: &Path,
    public_url: Option<&str>,
    tls: &TlsArgs,
    options: CloudOptions,
) -> anyhow::Result<()> {
    let runtime = tokio::runtime::Runtime::new().context("starting the async runtime")?;
    runtime.block_on(async {
        let mut stop = StopSignals::listen()?;
        let listener = tokio::net::TcpListener::bind(listen)
            .await
            .with_context(|| format!("binding {listen}"))?;
        let bound = listener.local_addr().context("reading the bound address")?;
        let https = tls.https(data, &bound.ip().to_string())?;
        let scheme = if https.is_some() { "https" } else { "http" };
        let public_url = public_url.map_or_else(|| format!("{scheme}://{bound}"), str::to_string);
        let options = CloudOptions {
            tls: https.as_ref().map(|h| h.config.clone()),
            ..options
        };
        let cloud = Cloud::open_with(data, &public_url, options)
            .with_context(|| format!("opening the cloud store in {}", data.display()))?;
        outln!("{}", cloud.graph_base_url());
        if let Some(ca) = https.and_then(|h| h.ca) {
            outln!("CA certificate (trust it in clients): {}", ca.display());
        }
        tokio::select! {
            served = cloud.serve(listener) => served.context("serving the cloud")?,
            signal = stop.stop_requested() => {
                tracing::info!(signal, "stopping; the store is flushed on every change");
            }
        }
        Ok(())
    })
}
