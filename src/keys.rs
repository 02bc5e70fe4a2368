//! The account's RSA key pair: generated once (the `rsa` crate, used for nothing
//! else), stored in the database as PKCS#8 DER, and loaded into ring for signing.
//! Also the small random helpers (tokens, passwords) that read ring's system RNG.

use crate::error::{Error, Result};
use ring::rand::{SecureRandom, SystemRandom};
use ring::signature::RsaKeyPair;

/// A freshly generated key pair in its stored forms.
pub struct GeneratedKey {
    /// PKCS#8 DER of the private key.
    pub private_der: Vec<u8>,
    /// PEM of the SubjectPublicKeyInfo, as published in the actor document.
    pub public_pem: String,
}

/// Generates an RSA-2048 key pair.
pub fn generate() -> Result<GeneratedKey> {
    use rsa::pkcs8::{EncodePrivateKey, EncodePublicKey, LineEnding};
    let mut rng = rand_core::OsRng;
    let private = rsa::RsaPrivateKey::new(&mut rng, 2048)
        .map_err(|e| Error::Internal(format!("RSA key generation failed: {e}")))?;
    let private_der = private
        .to_pkcs8_der()
        .map_err(|e| Error::Internal(format!("PKCS#8 encoding failed: {e}")))?
        .as_bytes()
        .to_vec();
    let public_pem = private
        .to_public_key()
        .to_public_key_pem(LineEnding::LF)
        .map_err(|e| Error::Internal(format!("public key encoding failed: {e}")))?;
    Ok(GeneratedKey {
        private_der,
        public_pem,
    })
}

/// Loads a stored PKCS#8 private key for signing.
pub fn load(private_der: &[u8]) -> Result<RsaKeyPair> {
    RsaKeyPair::from_pkcs8(private_der)
        .map_err(|e| Error::Internal(format!("the stored private key does not load: {e}")))
}

/// Fills a buffer with `n` random bytes from the system RNG.
pub fn random_bytes(n: usize) -> Result<Vec<u8>> {
    let mut buf = vec![0u8; n];
    SystemRandom::new()
        .fill(&mut buf)
        .map_err(|_| Error::Internal("the system RNG failed".into()))?;
    Ok(buf)
}

/// A random URL-safe token carrying `bytes` bytes of entropy.
pub fn random_token(bytes: usize) -> Result<String> {
    use base64::Engine;
    Ok(base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(random_bytes(bytes)?))
}

/// Compares two secrets without leaking where they differ: their SHA-256 digests are
/// compared, so timing reveals nothing about the secrets themselves.
pub fn secure_eq(a: &[u8], b: &[u8]) -> bool {
    let da = ring::digest::digest(&ring::digest::SHA256, a);
    let db = ring::digest::digest(&ring::digest::SHA256, b);
    da.as_ref()
        .iter()
        .zip(db.as_ref())
        .fold(0u8, |acc, (x, y)| acc | (x ^ y))
        == 0
}

/// The lower-case hex SHA-256 of `data`.
pub fn sha256_hex(data: &[u8]) -> String {
    let digest = ring::digest::digest(&ring::digest::SHA256, data);
    digest.as_ref().iter().map(|b| format!("{b:02x}")).collect()
}

/// The key of the MACs kith puts in forms and proxy URLs, derived from the account's
/// private key (so it survives restarts and never leaves the server).
pub struct MacKey(ring::hmac::Key);

impl MacKey {
    /// The key derived from the account's private key (DER).
    pub fn from_private_key(der: &[u8]) -> MacKey {
        let seed = ring::digest::digest(&ring::digest::SHA256, der);
        MacKey(ring::hmac::Key::new(ring::hmac::HMAC_SHA256, seed.as_ref()))
    }

    /// A MAC of `data`, in hex.
    pub fn sign(&self, data: &str) -> String {
        let tag = ring::hmac::sign(&self.0, data.as_bytes());
        tag.as_ref().iter().map(|b| format!("{b:02x}")).collect()
    }

    /// Whether `mac` (hex) is the MAC of `data` (constant time).
    pub fn verify(&self, data: &str, mac: &str) -> bool {
        let Some(bytes) = (0..mac.len())
            .step_by(2)
            .map(|i| {
                mac.get(i..i + 2)
                    .and_then(|h| u8::from_str_radix(h, 16).ok())
            })
            .collect::<Option<Vec<u8>>>()
        else {
            return false;
        };
        ring::hmac::verify(&self.0, data.as_bytes(), &bytes).is_ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_key_loads_into_ring_and_verifies() {
        let key = generate().unwrap();
        assert!(key.public_pem.starts_with("-----BEGIN PUBLIC KEY-----\n"));
        let pair = load(&key.private_der).unwrap();
        assert_eq!(pair.public().modulus_len(), 256);
        let mut sig = vec![0u8; pair.public().modulus_len()];
        pair.sign(
            &ring::signature::RSA_PKCS1_SHA256,
            &SystemRandom::new(),
            b"hello",
            &mut sig,
        )
        .unwrap();
        let public = ring::signature::UnparsedPublicKey::new(
            &ring::signature::RSA_PKCS1_2048_8192_SHA256,
            pair.public().as_ref(),
        );
        assert!(public.verify(b"hello", &sig).is_ok());
        assert!(load(b"not a key").is_err());
    }

    #[test]
    fn tokens_are_random_and_hashes_stable() {
        let a = random_token(32).unwrap();
        assert_eq!(a.len(), 43);
        assert_ne!(a, random_token(32).unwrap());
        assert_eq!(
            sha256_hex(b"abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }
}
