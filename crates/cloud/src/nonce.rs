//! Device token nonces (`grant_type=srv_challenge`) that cost the cloud nothing to hand out.
//!
//! A nonce is a small HS256 JWT, `{jti, exp}`, signed with a key drawn when the cloud opens.
//! Checking one needs no table of issued nonces, so unauthenticated callers asking for millions
//! fill nothing and cannot lock devices out (a table of issued nonces capped at 100,000 could be
//! filled by anyone, and every device's token request then got 503 for the nonces' lifetime).
//!
//! Single use is enforced by a table of nonces *redeemed*: an entry is added only by a token
//! request that a registered device's certificate signed (checked before the nonce is used up,
//! so a forged request cannot burn a genuine device's nonce), and it is dropped once the nonce
//! has expired and could not be accepted anyway. So the table grows with devices' token
//! requests, never with anonymous traffic.
//!
//! The key and the table live in memory: a restarted cloud refuses the nonces it handed out
//! before (a device asks for another), so forgetting what was redeemed can never let a replay
//! through, and no token request costs a flush.

use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// What a nonce says: a random id and when it stops being accepted (milliseconds since the
/// epoch, so tests can give nonces lifetimes shorter than a second).
#[derive(Serialize, Deserialize)]
struct NonceClaims {
    jti: String,
    exp_ms: u64,
}

/// Why a nonce was refused; the token endpoint reports all of them as `invalid_grant`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum NonceRefusal {
    /// Not one this cloud (since it last opened) signed.
    Unknown,
    Expired,
    AlreadyUsed,
}

pub(crate) struct Nonces {
    encoding: EncodingKey,
    decoding: DecodingKey,
    lifetime: Mutex<Duration>,
    /// Redeemed nonce id → when it expires (ms since the epoch).
    redeemed: Mutex<HashMap<String, u64>>,
}

fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64)
}

impl Nonces {
    pub fn new(lifetime: Duration) -> Self {
        let key: [u8; 32] = rand::random();
        Self {
            encoding: EncodingKey::from_secret(&key),
            decoding: DecodingKey::from_secret(&key),
            lifetime: Mutex::new(lifetime),
            redeemed: Mutex::new(HashMap::new()),
        }
    }

    /// Applies to nonces issued from now on.
    pub fn set_lifetime(&self, lifetime: Duration) {
        *self.lifetime.lock().unwrap_or_else(|p| p.into_inner()) = lifetime;
    }

    /// A fresh nonce; stores nothing.
    pub fn issue(&self) -> String {
        let lifetime = *self.lifetime.lock().unwrap_or_else(|p| p.into_inner());
        let claims = NonceClaims {
            jti: hex::encode(rand::random::<[u8; 16]>()),
            exp_ms: now_ms().saturating_add(lifetime.as_millis() as u64),
        };
        jsonwebtoken::encode(&Header::new(Algorithm::HS256), &claims, &self.encoding)
            .expect("HS256 signing of a small claim set cannot fail")
    }

    /// Uses a nonce up: accepted only once, only if this cloud signed it, only before it
    /// expires. Call only for a request whose signature has already been checked.
    pub fn redeem(&self, nonce: &str) -> Result<(), NonceRefusal> {
        let mut validation = Validation::new(Algorithm::HS256);
        validation.required_spec_claims.clear();
        validation.validate_exp = false;
        validation.validate_aud = false;
        let claims = jsonwebtoken::decode::<NonceClaims>(nonce, &self.decoding, &validation)
            .map_err(|_| NonceRefusal::Unknown)?
            .claims;
        let now = now_ms();
        if claims.exp_ms <= now {
            return Err(NonceRefusal::Expired);
        }
        let mut redeemed = self.redeemed.lock().unwrap_or_else(|p| p.into_inner());
        redeemed.retain(|_, expires| *expires > now);
        if redeemed.insert(claims.jti, claims.exp_ms).is_some() {
            return Err(NonceRefusal::AlreadyUsed);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nonces_are_single_use_signed_and_expire() {
        let nonces = Nonces::new(Duration::from_secs(300));
        let nonce = nonces.issue();
        assert_eq!(nonces.redeem(&nonce), Ok(()));
        assert_eq!(nonces.redeem(&nonce), Err(NonceRefusal::AlreadyUsed));
        let other_cloud = Nonces::new(Duration::from_secs(300));
        assert_eq!(
            nonces.redeem(&other_cloud.issue()),
            Err(NonceRefusal::Unknown)
        );
        assert_eq!(nonces.redeem("not-a-nonce"), Err(NonceRefusal::Unknown));
        nonces.set_lifetime(Duration::ZERO);
        assert_eq!(nonces.redeem(&nonces.issue()), Err(NonceRefusal::Expired));
    }
}
