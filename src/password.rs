//! Login passwords: argon2id hashing and verification, and the generated first-run
//! password. Inputs are length-capped so a huge password cannot be a denial of service.

use crate::error::{Error, Result};
use argon2::Argon2;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};

/// Longest password accepted, in bytes.
pub const MAX_LEN: usize = 1024;
/// Shortest password accepted by `kith passwd` and the settings page.
pub const MIN_LEN: usize = 8;

/// Hashes a password with argon2id and a random salt, as a PHC string.
pub fn hash(password: &str) -> Result<String> {
    check_length(password)?;
    let salt = SaltString::generate(&mut rand_core::OsRng);
    one_at_a_time(|| {
        Argon2::default()
            .hash_password(password.as_bytes(), &salt)
            .map(|h| h.to_string())
            .map_err(|e| Error::Internal(format!("password hashing failed: {e}")))
    })
}

/// Whether `password` matches the stored PHC hash.
pub fn verify(password: &str, stored: &str) -> bool {
    if password.len() > MAX_LEN {
        return false;
    }
    match PasswordHash::new(stored) {
        Ok(parsed) => one_at_a_time(|| {
            Argon2::default()
                .verify_password(password.as_bytes(), &parsed)
                .is_ok()
        }),
        Err(_) => false,
    }
}

/// Runs argon2 work one at a time: each run takes a 19 MiB block, and logins arriving
/// together would otherwise take one each at once (see also [`crate::heap`]).
fn one_at_a_time<T>(work: impl FnOnce() -> T) -> T {
    static ARGON2: std::sync::Mutex<()> = std::sync::Mutex::new(());
    let _turn = ARGON2
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    work()
}

/// Refuses passwords that are too short or too long.
pub fn check_length(password: &str) -> Result<()> {
    if password.len() < MIN_LEN {
        return Err(Error::Unprocessable(format!(
            "the password must be at least {MIN_LEN} characters"
        )));
    }
    if password.len() > MAX_LEN {
        return Err(Error::Unprocessable(format!(
            "the password must be at most {MAX_LEN} bytes"
        )));
    }
    Ok(())
}

/// A new random password: 20 characters from an unambiguous alphabet (about 100 bits).
pub fn generate() -> Result<String> {
    const ALPHABET: &[u8] = b"abcdefghijkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789";
    let bytes = crate::keys::random_bytes(20)?;
    Ok(bytes
        .iter()
        .map(|b| ALPHABET[*b as usize % ALPHABET.len()] as char)
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hash_and_verify() {
        let h = hash("correct horse").unwrap();
        assert!(h.starts_with("$argon2id$"));
        assert!(verify("correct horse", &h));
        assert!(!verify("wrong horse!", &h));
        assert!(!verify("correct horse", "not a hash"));
    }

    #[test]
    fn lengths_are_capped() {
        assert!(hash("short").is_err());
        assert!(hash(&"x".repeat(MAX_LEN + 1)).is_err());
        let g = generate().unwrap();
        assert_eq!(g.len(), 20);
        assert_ne!(g, generate().unwrap());
    }
}
