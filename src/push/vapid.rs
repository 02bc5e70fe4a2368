//! VAPID (RFC 8292): the instance's P-256 key pair, made with ring on first use, kept
//! beside the account's key and never replaced (apps pin its public key), and the
//! ES256 JWT that identifies kith to a push service: `aud` the endpoint's origin,
//! `exp` twelve hours ahead, `sub` the instance URL. It signs; it must not send.

use crate::ctx::Ctx;
use crate::db;
use crate::error::{Error, Result};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use ring::rand::SystemRandom;
use ring::signature::{ECDSA_P256_SHA256_FIXED_SIGNING, EcdsaKeyPair, KeyPair};
use serde_json::json;

/// How long a VAPID JWT is valid (RFC 8292 allows at most 24 hours).
pub const JWT_LIFETIME_SECS: i64 = 12 * 3600;

/// The loaded VAPID key pair.
pub struct Vapid {
    pair: EcdsaKeyPair,
}

fn vapid_error(what: &str) -> Error {
    Error::Internal(format!("VAPID key: {what}"))
}

impl Vapid {
    /// Loads a stored PKCS#8 key.
    pub fn from_pkcs8(pkcs8: &[u8]) -> Result<Vapid> {
        let pair = EcdsaKeyPair::from_pkcs8(
            &ECDSA_P256_SHA256_FIXED_SIGNING,
            pkcs8,
            &SystemRandom::new(),
        )
        .map_err(|e| vapid_error(&format!("the stored key does not load: {e}")))?;
        Ok(Vapid { pair })
    }

    /// The public key, an uncompressed point (65 bytes).
    pub fn public_key(&self) -> &[u8] {
        self.pair.public_key().as_ref()
    }

    /// The public key as apps are given it: base64url without padding.
    pub fn public_key_b64(&self) -> String {
        URL_SAFE_NO_PAD.encode(self.public_key())
    }

    /// A signed JWT for the push service at `endpoint`, valid until `now_secs` plus
    /// [`JWT_LIFETIME_SECS`], naming `subject` (a URL or a `mailto:`).
    pub fn jwt(&self, endpoint: &url::Url, subject: &str, now_secs: i64) -> Result<String> {
        let header = json!({"typ": "JWT", "alg": "ES256"});
        let claims = json!({
            "aud": endpoint.origin().ascii_serialization(),
            "exp": now_secs + JWT_LIFETIME_SECS,
            "sub": subject,
        });
        let signing_input = format!(
            "{}.{}",
            URL_SAFE_NO_PAD.encode(header.to_string()),
            URL_SAFE_NO_PAD.encode(claims.to_string())
        );
        let signature = self
            .pair
            .sign(&SystemRandom::new(), signing_input.as_bytes())
            .map_err(|_| vapid_error("signing failed"))?;
        Ok(format!(
            "{signing_input}.{}",
            URL_SAFE_NO_PAD.encode(signature.as_ref())
        ))
    }
}

/// Generates a new key pair: (PKCS#8, uncompressed public point).
pub fn generate() -> Result<(Vec<u8>, Vec<u8>)> {
    let rng = SystemRandom::new();
    let pkcs8 = EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, &rng)
        .map_err(|_| vapid_error("generation failed"))?;
    let vapid = Vapid::from_pkcs8(pkcs8.as_ref())?;
    Ok((pkcs8.as_ref().to_vec(), vapid.public_key().to_vec()))
}

/// The instance's VAPID key, generated and stored the first time it is asked for.
pub fn key(ctx: &Ctx) -> Result<Vapid> {
    if let Some((pkcs8, _)) = ctx.db.read(db::push::vapid_key)? {
        return Vapid::from_pkcs8(&pkcs8);
    }
    let (pkcs8, public) = generate()?;
    // Two first uses at once: the first stored wins and both load it.
    let stored = ctx.db.write(|tx| {
        db::push::set_vapid_key(tx, &pkcs8, &public)?;
        db::push::vapid_key(tx)
    })?;
    let (pkcs8, _) = stored.ok_or_else(|| vapid_error("not stored"))?;
    Vapid::from_pkcs8(&pkcs8)
}

/// The public key for the instance and app entities (base64url, no padding).
pub fn public_key_b64(ctx: &Ctx) -> Result<String> {
    if let Some((_, public)) = ctx.db.read(db::push::vapid_key)? {
        return Ok(URL_SAFE_NO_PAD.encode(public));
    }
    Ok(key(ctx)?.public_key_b64())
}

#[cfg(test)]
mod tests {
    use super::*;
    use ring::signature::{ECDSA_P256_SHA256_FIXED, UnparsedPublicKey};

    #[test]
    fn the_jwt_verifies_with_the_public_key_and_names_the_origin() {
        let (pkcs8, public) = generate().unwrap();
        assert_eq!(public.len(), 65);
        assert_eq!(public[0], 4);
        let vapid = Vapid::from_pkcs8(&pkcs8).unwrap();
        let endpoint = url::Url::parse("https://push.example:8443/wpush/v2/abc?x=1").unwrap();
        let jwt = vapid.jwt(&endpoint, "https://kith.example", 1000).unwrap();
        let parts: Vec<&str> = jwt.split('.').collect();
        assert_eq!(parts.len(), 3);
        let claims: serde_json::Value =
            serde_json::from_slice(&URL_SAFE_NO_PAD.decode(parts[1]).unwrap()).unwrap();
        assert_eq!(claims["aud"], "https://push.example:8443");
        assert_eq!(claims["exp"], 1000 + JWT_LIFETIME_SECS);
        assert_eq!(claims["sub"], "https://kith.example");
        let signature = URL_SAFE_NO_PAD.decode(parts[2]).unwrap();
        let signed = format!("{}.{}", parts[0], parts[1]);
        UnparsedPublicKey::new(&ECDSA_P256_SHA256_FIXED, &public)
            .verify(signed.as_bytes(), &signature)
            .unwrap();
        assert!(
            UnparsedPublicKey::new(&ECDSA_P256_SHA256_FIXED, &public)
                .verify(b"other", &signature)
                .is_err()
        );
    }
}
