//! `printlab token`: prints a bearer token the cloud using the same data folder accepts.

use anyhow::{Context, bail};
use printlab_cloud::auth::TokenKey;
use std::path::Path;

pub struct TokenRequest<'a> {
    pub user: Option<&'a str>,
    pub app: Option<&'a str>,
    pub admin: bool,
    pub scopes: &'a [String],
    pub roles: &'a [String],
    pub hours: i64,
}

pub fn run(data: &Path, req: &TokenRequest<'_>) -> anyhow::Result<()> {
    let key = TokenKey::read_from_data_dir(data).with_context(|| {
        format!(
            "no signing key in {}: start `printlab cloud --data {}` once first",
            data.display(),
            data.display()
        )
    })?;
    let lifetime = chrono::Duration::hours(req.hours);
    let token = match (req.user, req.app) {
        (Some(user), None) => key.mint_user(user, req.scopes, req.admin, lifetime)?,
        (None, Some(app)) => {
            if req.admin || !req.scopes.is_empty() {
                bail!("--admin and --scopes are for --user tokens; apps get --roles");
            }
            key.mint_app(app, req.roles, lifetime)?
        }
        _ => bail!("give exactly one of --user NAME or --app NAME"),
    };
    println!("{token}");
    Ok(())
}
