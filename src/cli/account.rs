//! `kith passwd` and `kith token`: the login password and API tokens for scripts and
//! bots. Each opens the same database beside a running server (SQLite WAL allows it)
//! and works whether or not the server runs.

use crate::config::Config;
use crate::error::{Error, Result};
use crate::{db, keys, open_storage, password};
use std::io::{IsTerminal, Read};

/// The scopes a `kith token` gets when none are asked for.
pub const DEFAULT_TOKEN_SCOPES: &str = "read write follow push";

/// Sets the login password.
pub fn passwd(config: &Config, new_password: &str) -> Result<()> {
    set_password(config, &open_storage(config)?, new_password)
}

/// Sets the login password in an opened database; the first-run password file goes.
fn set_password(config: &Config, db: &db::Db, new_password: &str) -> Result<()> {
    let hash = password::hash(new_password)?;
    db.write(|tx| db::account::update_password_hash(tx, &hash, db::now_ms()))?;
    crate::first_run::forget_password(config);
    Ok(())
}

/// Creates an API access token with the given scopes and returns it; only its hash is kept.
pub fn token(config: &Config, scopes: &str) -> Result<String> {
    let scopes = normalise_scopes(scopes)?;
    let db = open_storage(config)?;
    let token = keys::random_token(32)?;
    let hash = keys::sha256_hex(token.as_bytes());
    db.write(|tx| db::tokens::insert(tx, None, &hash, &scopes, db::now_ms()))?;
    Ok(token)
}

/// `kith passwd`: reads the new password (twice from a terminal, else the first line
/// of stdin), sets it and says so.
pub fn run_passwd(config: &Config) -> Result<()> {
    // The account first: no point asking for a password nobody can use.
    let db = open_storage(config)?;
    let password = read_password()?;
    set_password(config, &db, &password)?;
    eprintln!("Password changed.");
    Ok(())
}

/// `kith token`: creates a token with `scopes` and prints it on stdout.
pub fn run_token(config: &Config, scopes: &str) -> Result<()> {
    println!("{}", token(config, scopes)?);
    Ok(())
}

/// The new password: asked twice on a terminal, else the first line of stdin.
fn read_password() -> Result<String> {
    if std::io::stdin().is_terminal() {
        let first = rpassword::prompt_password("New password: ")?;
        let second = rpassword::prompt_password("Again: ")?;
        if first != second {
            return Err(Error::BadRequest("the two passwords differ".into()));
        }
        return Ok(first);
    }
    let mut text = String::new();
    std::io::stdin().take(4096).read_to_string(&mut text)?;
    Ok(text.lines().next().unwrap_or("").to_string())
}

/// Checks a space-separated scope list and returns it normalised.
pub fn normalise_scopes(scopes: &str) -> Result<String> {
    let mut out: Vec<&str> = Vec::new();
    for scope in scopes.split_whitespace() {
        // The same list the OAuth endpoints accept (SECURITY.md 61): no `admin:*`.
        if !crate::mastodon::oauth::is_known_scope(scope) {
            return Err(Error::BadRequest(format!("unknown scope {scope:?}")));
        }
        if !out.contains(&scope) {
            out.push(scope);
        }
    }
    if out.is_empty() {
        return Err(Error::BadRequest("no scopes given".into()));
    }
    Ok(out.join(" "))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scopes() {
        assert_eq!(normalise_scopes("read  write read").unwrap(), "read write");
        assert_eq!(
            normalise_scopes("read:statuses write:media").unwrap(),
            "read:statuses write:media"
        );
        assert!(normalise_scopes("sudo").is_err());
        assert!(normalise_scopes("read admin:read").is_err());
        assert!(normalise_scopes("  ").is_err());
    }
}
