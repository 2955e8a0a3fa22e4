//! Connecting a printer: Universal Print registration and device token, then the INFRA client
//! that speaks for the printer's identity.

use super::backoff;
use super::session::{Device, DeviceParts};
use crate::infra_client::InfraClient;
use crate::registration::{
    DeviceDescription, DeviceTokens, RegistrationError, UniversalPrintAccess, ensure_registered,
    forget_registration,
};
use printlab_ipp::http::Credentials;
use std::sync::Arc;
use tracing::{error, warn};

impl DeviceParts {
    pub(super) fn into_device(
        self,
        client: Arc<InfraClient>,
        tokens: Option<Arc<DeviceTokens>>,
    ) -> Device {
        Device {
            config: self.config,
            client,
            tokens,
            http: self.http,
            spool: self.spool,
            out_root: self.out_root,
            render_enabled: self.render_enabled,
            metrics: self.metrics,
            engine: self.engine,
            started: self.started,
            network: self.network,
            control: self.control,
            status: self.status,
            wake: self.wake,
            notified_jobs: Default::default(),
            current: self.current,
            shutdown: self.shutdown,
        }
    }

    /// Registers (or reuses the spool's registration) and gets a device token, retrying with
    /// backoff; `None` on shutdown. The INFRA client then posts to `{cloud}/printers` with
    /// `printer-uri` `ipp(s)://{cloud host}/printers/{printer id}` and `output-device-uuid`
    /// `urn:uuid:{printer id}`, as Universal Print devices do.
    pub(super) async fn connect_universal_print(
        &self,
        access: &UniversalPrintAccess,
    ) -> Option<(Arc<InfraClient>, Arc<DeviceTokens>)> {
        let description = DeviceDescription {
            name: self.config.name.clone(),
            manufacturer: self
                .config
                .manufacturer
                .clone()
                .unwrap_or_else(|| "printlab".into()),
            model: self
                .config
                .model
                .clone()
                .unwrap_or_else(|| "Emulated printer".into()),
            device_id: device_uuid(&self.config.name),
            location: self.config.location.clone(),
        };
        let base = access.cloud_url.trim_end_matches('/');
        let mut attempt = 0;
        loop {
            let connected = async {
                let device =
                    ensure_registered(&self.http, &self.spool, access, &description).await?;
                let tokens = DeviceTokens::new(
                    self.http.clone(),
                    self.spool.clone(),
                    &self.config.name,
                    device,
                )?;
                let token = tokens.token().await?;
                Ok::<_, RegistrationError>((tokens, token))
            };
            let outcome = tokio::select! {
                r = connected => r,
                _ = self.shutdown.cancelled() => return None,
            };
            match outcome {
                Ok((tokens, token)) => {
                    let printer_id = tokens.device().printer_id.clone();
                    let client = InfraClient::with_endpoint(
                        self.http.clone(),
                        &format!("{base}/printers"),
                        &format!("{}/printers/{printer_id}", ipp_base(base)),
                        &printer_id,
                        Credentials::Bearer(token.access_token),
                    )
                    .with_network(self.network.clone())
                    .with_metrics(self.metrics.clone());
                    return Some((Arc::new(client), Arc::new(tokens)));
                }
                Err(RegistrationError::NotKnown { detail, .. }) if access.admin_token.is_some() => {
                    warn!(%detail, "the service does not know this printer any more (deleted, or a reset or different service); registering again");
                    if let Err(e) = forget_registration(&self.spool, &self.config.name) {
                        warn!(error = %e, "cannot drop the old registration from the spool");
                    }
                }
                Err(e @ RegistrationError::NotKnown { .. }) => error!(
                    error = %e,
                    "only a new registration helps, and that needs an admin token (--admin-token); retrying"
                ),
                Err(e) => warn!(error = %e, "registration or device token failed; retrying"),
            }
            if !backoff(&mut attempt, &self.shutdown).await {
                return None;
            }
        }
    }
}

/// The IPP form of the service's base URL (`http` → `ipp`, `https` → `ipps`).
fn ipp_base(http_base: &str) -> String {
    if let Some(rest) = http_base.strip_prefix("https://") {
        format!("ipps://{rest}")
    } else if let Some(rest) = http_base.strip_prefix("http://") {
        format!("ipp://{rest}")
    } else {
        http_base.to_string()
    }
}

/// A stable UUID per printer name, so a restarted device is the same output device.
pub(super) fn device_uuid(name: &str) -> String {
    use sha2::{Digest, Sha256};
    let digest = Sha256::digest(format!("printlab-device:{name}").as_bytes());
    let mut bytes = [0u8; 16];
    bytes.copy_from_slice(&digest[..16]);
    uuid::Builder::from_custom_bytes(bytes)
        .into_uuid()
        .to_string()
}
