//! Message encryption for Web Push, with ring: RFC 8291 `aes128gcm` (one record, the
//! RFC 8188 header carrying the salt and kith's one-time public key) for standard
//! subscriptions, and the pre-RFC `aesgcm` draft that Mastodon still speaks to older
//! apps (salt and key travel in the `Encryption` and `Crypto-Key` headers). Each
//! message gets a fresh ECDH key pair and salt. It builds bytes and headers only; it
//! must not send or store anything.

use crate::error::{Error, Result};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use ring::rand::{SecureRandom, SystemRandom};
use ring::{aead, agreement, hkdf};

/// Length of an uncompressed P-256 point.
pub const P256_POINT_LEN: usize = 65;
/// Length of the app's auth secret.
pub const AUTH_LEN: usize = 16;
/// The record size kith announces in the `aes128gcm` header (the RFC's 4096).
const RECORD_SIZE: u32 = 4096;

/// An encrypted message: the body and the headers that go with it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Encrypted {
    pub body: Vec<u8>,
    /// `Content-Encoding` and, for `aesgcm`, `Encryption` and the `dh` of `Crypto-Key`.
    pub content_encoding: &'static str,
    /// `aesgcm` only: the `salt=` value of the `Encryption` header.
    pub salt: Option<String>,
    /// `aesgcm` only: kith's one-time public key for `Crypto-Key: dh=`.
    pub dh: Option<String>,
}

/// Whether `key` is an uncompressed P-256 point (65 bytes starting with 4) on the curve.
pub fn valid_public_key(key: &[u8]) -> bool {
    if key.len() != P256_POINT_LEN || key[0] != 4 {
        return false;
    }
    // An agreement with a throwaway key refuses points off the curve.
    let rng = SystemRandom::new();
    let Ok(ours) = agreement::EphemeralPrivateKey::generate(&agreement::ECDH_P256, &rng) else {
        return false;
    };
    let theirs = agreement::UnparsedPublicKey::new(&agreement::ECDH_P256, key);
    agreement::agree_ephemeral(ours, &theirs, |_| ()).is_ok()
}

/// Encrypts `plaintext` for a subscription: `aes128gcm` when `standard`, else `aesgcm`.
pub fn encrypt(plaintext: &[u8], p256dh: &[u8], auth: &[u8], standard: bool) -> Result<Encrypted> {
    let rng = SystemRandom::new();
    let mut salt = [0u8; 16];
    rng.fill(&mut salt)
        .map_err(|_| crypto("the system RNG failed"))?;
    if standard {
        aes128gcm(plaintext, p256dh, auth, &rng, &salt)
    } else {
        aesgcm(plaintext, p256dh, auth, &rng, &salt)
    }
}

fn crypto(what: &str) -> Error {
    Error::Internal(format!("push encryption: {what}"))
}

/// An output length for ring's HKDF.
struct Len(usize);

impl hkdf::KeyType for Len {
    fn len(&self) -> usize {
        self.0
    }
}

fn hkdf_expand(prk: &hkdf::Prk, info: &[&[u8]], len: usize) -> Result<Vec<u8>> {
    let mut out = vec![0u8; len];
    prk.expand(info, Len(len))
        .and_then(|okm| okm.fill(&mut out))
        .map_err(|_| crypto("HKDF expand failed"))?;
    Ok(out)
}

fn hkdf_extract(salt: &[u8], ikm: &[u8]) -> hkdf::Prk {
    hkdf::Salt::new(hkdf::HKDF_SHA256, salt).extract(ikm)
}

/// A one-time key pair from `rng` and the ECDH secret with the app's key:
/// (our public key, shared secret).
fn agree(p256dh: &[u8], rng: &dyn SecureRandom) -> Result<(Vec<u8>, Vec<u8>)> {
    if p256dh.len() != P256_POINT_LEN {
        return Err(crypto("the subscription's p256dh is not a P-256 point"));
    }
    let ours = agreement::EphemeralPrivateKey::generate(&agreement::ECDH_P256, rng)
        .map_err(|_| crypto("key generation failed"))?;
    let public = ours
        .compute_public_key()
        .map_err(|_| crypto("public key failed"))?
        .as_ref()
        .to_vec();
    let theirs = agreement::UnparsedPublicKey::new(&agreement::ECDH_P256, p256dh);
    let secret = agreement::agree_ephemeral(ours, &theirs, |s| s.to_vec())
        .map_err(|_| crypto("the subscription's p256dh is not on the curve"))?;
    Ok((public, secret))
}

fn seal(cek: &[u8], nonce: &[u8], mut record: Vec<u8>) -> Result<Vec<u8>> {
    let key = aead::UnboundKey::new(&aead::AES_128_GCM, cek).map_err(|_| crypto("bad CEK"))?;
    let nonce = aead::Nonce::try_assume_unique_for_key(nonce).map_err(|_| crypto("bad nonce"))?;
    aead::LessSafeKey::new(key)
        .seal_in_place_append_tag(nonce, aead::Aad::empty(), &mut record)
        .map_err(|_| crypto("sealing failed"))?;
    Ok(record)
}

/// RFC 8291 §3.4 and RFC 8188 with the one-time key from `rng` and the given salt.
fn aes128gcm(
    plaintext: &[u8],
    p256dh: &[u8],
    auth: &[u8],
    rng: &dyn SecureRandom,
    salt: &[u8; 16],
) -> Result<Encrypted> {
    let (as_public, secret) = agree(p256dh, rng)?;
    // IKM = HKDF(auth_secret, ecdh_secret, "WebPush: info" 0 ua_public as_public, 32).
    let prk_key = hkdf_extract(auth, &secret);
    let ikm = hkdf_expand(&prk_key, &[b"WebPush: info\0", p256dh, &as_public], 32)?;
    let prk = hkdf_extract(salt, &ikm);
    let cek = hkdf_expand(&prk, &[b"Content-Encoding: aes128gcm\0"], 16)?;
    let nonce = hkdf_expand(&prk, &[b"Content-Encoding: nonce\0"], 12)?;
    // One record: the plaintext and the last-record delimiter 2, no padding.
    let mut record = Vec::with_capacity(plaintext.len() + 17);
    record.extend_from_slice(plaintext);
    record.push(2);
    let sealed = seal(&cek, &nonce, record)?;
    let mut body = Vec::with_capacity(21 + as_public.len() + sealed.len());
    body.extend_from_slice(salt);
    body.extend_from_slice(&RECORD_SIZE.to_be_bytes());
    body.push(as_public.len() as u8);
    body.extend_from_slice(&as_public);
    body.extend_from_slice(&sealed);
    Ok(Encrypted {
        body,
        content_encoding: "aes128gcm",
        salt: None,
        dh: None,
    })
}

/// The pre-RFC `aesgcm` scheme (draft-ietf-webpush-encryption-04 with
/// draft-ietf-httpbis-encryption-encoding-03), as Mastodon sends to non-standard
/// subscriptions.
fn aesgcm(
    plaintext: &[u8],
    p256dh: &[u8],
    auth: &[u8],
    rng: &dyn SecureRandom,
    salt: &[u8; 16],
) -> Result<Encrypted> {
    let (as_public, secret) = agree(p256dh, rng)?;
    let prk_auth = hkdf_extract(auth, &secret);
    let ikm = hkdf_expand(&prk_auth, &[b"Content-Encoding: auth\0"], 32)?;
    let prk = hkdf_extract(salt, &ikm);
    // context = "P-256" 0 len(ua) ua len(as) as, lengths as two bytes.
    let mut context = b"P-256\0".to_vec();
    for key in [p256dh, &as_public] {
        context.extend_from_slice(&(key.len() as u16).to_be_bytes());
        context.extend_from_slice(key);
    }
    let cek = hkdf_expand(&prk, &[b"Content-Encoding: aesgcm\0", &context], 16)?;
    let nonce = hkdf_expand(&prk, &[b"Content-Encoding: nonce\0", &context], 12)?;
    // Two bytes of padding length (none), then the plaintext.
    let mut record = Vec::with_capacity(plaintext.len() + 18);
    record.extend_from_slice(&[0, 0]);
    record.extend_from_slice(plaintext);
    Ok(Encrypted {
        body: seal(&cek, &nonce, record)?,
        content_encoding: "aesgcm",
        salt: Some(URL_SAFE_NO_PAD.encode(salt)),
        dh: Some(URL_SAFE_NO_PAD.encode(&as_public)),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn b64(s: &str) -> Vec<u8> {
        URL_SAFE_NO_PAD.decode(s).unwrap()
    }

    /// RFC 8291 Appendix A: fixed keys and salt give exactly the RFC's message.
    #[test]
    #[allow(deprecated)]
    fn rfc_8291_appendix_a() {
        let as_private = b64("yfWPiYE-n46HLnH0KqZOF1fJJU3MYrct3AELtAQ-oRw");
        let ua_public = b64(
            "BCVxsr7N_eNgVRqvHtD0zTZsEc6-VV-JvLexhqUzORcxaOzi6-AYWXvTBHm4bjyPjs7Vd8pZGH6SRpkNtoIAiw4",
        );
        let auth = b64("BTBZMqHH6r4Tts7J_aSIgg");
        let salt: [u8; 16] = b64("DGv6ra1nlYgDCS1FRnbzlw").try_into().unwrap();
        let rng = ring::test::rand::FixedSliceRandom { bytes: &as_private };
        let out = aes128gcm(
            b"When I grow up, I want to be a watermelon",
            &ua_public,
            &auth,
            &rng,
            &salt,
        )
        .unwrap();
        assert_eq!(
            URL_SAFE_NO_PAD.encode(&out.body),
            "DGv6ra1nlYgDCS1FRnbzlwAAEABBBP4z9KsN6nGRTbVYI_c7VJSPQTBtkgcy27ml\
             mlMoZIIgDll6e3vCYLocInmYWAmS6TlzAC8wEqKK6PBru3jl7A_yl95bQpu6cVPT\
             pK4Mqgkf1CXztLVBSt2Ks3oZwbuwXPXLWyouBWLVWGNWQexSgSxsj_Qulcy4a-fN"
        );
        assert_eq!(out.content_encoding, "aes128gcm");
    }

    #[test]
    fn keys_are_checked() {
        let good = b64(
            "BCVxsr7N_eNgVRqvHtD0zTZsEc6-VV-JvLexhqUzORcxaOzi6-AYWXvTBHm4bjyPjs7Vd8pZGH6SRpkNtoIAiw4",
        );
        assert!(valid_public_key(&good));
        let mut off_curve = good.clone();
        off_curve[64] ^= 1;
        assert!(!valid_public_key(&off_curve));
        assert!(!valid_public_key(&good[..33]));
        assert!(!valid_public_key(&[0u8; 65]));
        assert!(encrypt(b"x", &off_curve, &[0; 16], true).is_err());
    }

    #[test]
    fn legacy_messages_carry_salt_and_key_in_headers() {
        let ua_public = b64(
            "BCVxsr7N_eNgVRqvHtD0zTZsEc6-VV-JvLexhqUzORcxaOzi6-AYWXvTBHm4bjyPjs7Vd8pZGH6SRpkNtoIAiw4",
        );
        let out = encrypt(b"hello", &ua_public, &[7; 16], false).unwrap();
        assert_eq!(out.content_encoding, "aesgcm");
        assert_eq!(out.body.len(), 2 + 5 + 16);
        assert_eq!(b64(out.salt.as_deref().unwrap()).len(), 16);
        assert_eq!(b64(out.dh.as_deref().unwrap()).len(), 65);
    }
}
