//! `printlab token`: prints a bearer token the cloud using the same data folder accepts.

use super::output::outln;
use anyhow::Context;
use printlab_cloud::auth::TokenKey;
use std::path::Path;

/// The help of `--scopes`: its example is what a person printing needs (the scopes of the user
/// token `printlab up` writes), so copying it gives a token every client command accepts.
pub fn scopes_help() -> String {
    format!(
        "Delegated scopes, e.g. {}",
        printlab_lab::USER_SCOPES.join(" ")
    )
}

/// What to mint; clap has already refused contradictory combinations.
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
            "no signing key in {}: run this where `printlab up` runs, set PRINTLAB_DATA to its data folder, or pass the cloud's --data",
            data.display()
        )
    })?;
    let lifetime = chrono::Duration::hours(req.hours);
    let token = match (req.user, req.app) {
        (Some(user), Some(app)) => {
            key.mint_user_via_app(app, user, req.scopes, req.admin, lifetime)?
        }
        (None, Some(app)) => key.mint_app(app, req.roles, lifetime)?,
        (Some(user), None) => key.mint_user(user, req.scopes, req.admin, lifetime)?,
        (None, None) => unreachable!("clap requires --user or --app"),
    };
    outln!("{token}");
    Ok(())
}
