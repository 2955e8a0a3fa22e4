//! What a bearer token says about its holder, read without checking its signature: the cloud
//! checks it, a client only wants to know whose jobs to ask for.

use base64::Engine;

/// The caller's user principal name from the token's claims, trying the claims Entra ID and
/// printlab's cloud put it in; `None` for an opaque or application token.
pub fn user_name(token: &str) -> Option<String> {
    let payload = token.split('.').nth(1)?;
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(payload.trim_end_matches('='))
        .ok()?;
    let claims: serde_json::Value = serde_json::from_slice(&bytes).ok()?;
    ["upn", "preferred_username", "name"]
        .iter()
        .find_map(|k| claims.get(*k)?.as_str().map(str::to_string))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_user_name_comes_from_the_token_claims() {
        let claims = base64::engine::general_purpose::URL_SAFE_NO_PAD
            .encode(br#"{"name":"ada@printlab.test","oid":"x"}"#);
        assert_eq!(
            user_name(&format!("h.{claims}.sig")).as_deref(),
            Some("ada@printlab.test")
        );
        assert_eq!(user_name("opaque"), None);
    }
}
