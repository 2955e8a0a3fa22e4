//! The task that keeps a Universal Print printer's device token fresh.

use super::backoff;
use crate::infra_client::InfraClient;
use crate::registration::DeviceTokens;
use printlab_ipp::http::Credentials;
use std::sync::Arc;
use std::time::Duration;
use tokio_util::sync::CancellationToken;
use tracing::warn;

/// Replaces the device token ahead of its expiry, so long sessions never send an expired one.
pub(super) async fn refresh_tokens(
    tokens: Arc<DeviceTokens>,
    client: Arc<InfraClient>,
    shutdown: CancellationToken,
) {
    let mut attempt = 0;
    loop {
        let token = tokio::select! {
            r = tokens.token() => r,
            _ = shutdown.cancelled() => return,
        };
        match token {
            Ok(token) => {
                attempt = 0;
                client.set_credentials(Credentials::Bearer(token.access_token));
                let wait = (token.refresh_at - chrono::Utc::now())
                    .to_std()
                    .unwrap_or(Duration::ZERO)
                    .max(Duration::from_millis(100));
                tokio::select! {
                    _ = tokio::time::sleep(wait) => {}
                    _ = shutdown.cancelled() => return,
                }
            }
            Err(e) => {
                warn!(error = %e, "device token refresh failed; retrying");
                if !backoff(&mut attempt, &shutdown).await {
                    return;
                }
            }
        }
    }
}
