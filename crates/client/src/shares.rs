//! A printer as a user names it: its share, found by display name or id, with the capabilities a
//! job is checked against before anything is uploaded.

use crate::{ClientError, GraphClient, JobParent, SharedPrinter};
use printlab_graph::PrinterCapabilities;

/// A printer as a user sees it: its share, with capabilities and defaults.
#[derive(Debug, Clone)]
pub struct Target {
    pub parent: JobParent,
    pub share: SharedPrinter,
}

/// Why a printer name found no share.
#[derive(Debug, thiserror::Error)]
pub enum ShareError {
    /// Carries every shared name, so the caller can offer the choices.
    #[error("no printer named {name:?}")]
    NotShared { name: String, shared: Vec<String> },
    #[error(transparent)]
    Graph(#[from] ClientError),
}

impl Target {
    /// A share the cloud does not describe has no capabilities: nothing is known to be refused.
    pub fn capabilities(&self) -> PrinterCapabilities {
        self.share.capabilities.clone().unwrap_or_default()
    }

    /// Reads the share on its own, because listings leave status and capabilities out for
    /// non-administrators.
    pub async fn by_share_id(client: &GraphClient, id: &str) -> Result<Target, ClientError> {
        let share = client.share(id).await?;
        Ok(Target {
            parent: JobParent::Share(share.id.clone()),
            share,
        })
    }

    /// Matches display names case-insensitively, as people type them.
    pub async fn by_name(client: &GraphClient, name: &str) -> Result<Target, ShareError> {
        let shares = client.shares().await?;
        match shares
            .iter()
            .find(|s| s.display_name.eq_ignore_ascii_case(name))
        {
            Some(s) => Ok(Self::by_share_id(client, &s.id).await?),
            None => Err(ShareError::NotShared {
                name: name.to_string(),
                shared: shares.into_iter().map(|s| s.display_name).collect(),
            }),
        }
    }
}
