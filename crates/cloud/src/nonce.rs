//! Device token nonces (`grant_type=srv_challenge`) that cost the cloud nothing to hand out.
//!
//! A nonce is `<expiry ms>.<random id>.<HMAC-SHA256 of both>` under a key drawn when the cloud
//! opens (jsonwebtoken's HS256 signer, the crypto the cloud already has); handing one out costs
//! a random draw and one HMAC.
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

use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey};
use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

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

    /// A fresh nonce; stores nothing. Its expiry is in milliseconds since the epoch, so tests
    /// can give nonces lifetimes shorter than a second.
    pub fn issue(&self) -> String {
        let lifetime = *self.lifetime.lock().unwrap_or_else(|p| p.into_inner());
        let expires = now_ms().saturating_add(lifetime.as_millis() as u64);
        let claim = format!("{expires}.{}", hex::encode(rand::random::<[u8; 16]>()));
        let mac = jsonwebtoken::crypto::sign(claim.as_bytes(), &self.encoding, Algorithm::HS256)
            .expect("HMAC-SHA256 under a 32-byte key cannot fail");
        format!("{claim}.{mac}")
    }

    /// Uses a nonce up: accepted only once, only if this cloud signed it, only before it
    /// expires. Call only for a request whose signature has already been checked.
    pub fn redeem(&self, nonce: &str) -> Result<(), NonceRefusal> {
        let (claim, mac) = nonce.rsplit_once('.').ok_or(NonceRefusal::Unknown)?;
        let signed =
            jsonwebtoken::crypto::verify(mac, claim.as_bytes(), &self.decoding, Algorithm::HS256);
        if !matches!(signed, Ok(true)) {
            return Err(NonceRefusal::Unknown);
        }
        let (expires, id) = claim.split_once('.').ok_or(NonceRefusal::Unknown)?;
        let expires: u64 = expires.parse().map_err(|_| NonceRefusal::Unknown)?;
        let now = now_ms();
        if expires <= now {
            return Err(NonceRefusal::Expired);
        }
        let mut redeemed = self.redeemed.lock().unwrap_or_else(|p| p.into_inner());
        redeemed.retain(|_, until| *until > now);
        if redeemed.insert(id.to_string(), expires).is_some() {
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
        let (claim, mac) = nonce.rsplit_once('.').unwrap();
        let (_, id) = claim.split_once('.').unwrap();
        let later = format!("{}.{id}.{mac}", u64::MAX);
        assert_eq!(
            nonces.redeem(&later),
            Err(NonceRefusal::Unknown),
            "forged expiry"
        );
        nonces.set_lifetime(Duration::ZERO);
        assert_eq!(nonces.redeem(&nonces.issue()), Err(NonceRefusal::Expired));
    }
}
