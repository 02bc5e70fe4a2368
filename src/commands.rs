//! The command-line actions other than `serve`: `init`, `passwd` and `token`. Each
//! opens the same database beside a running server (SQLite WAL allows it) and works
//! whether or not the server runs.

use crate::config::{self, Config};
use crate::error::{Error, Result};
use crate::{db, keys, open_storage, password};
use std::path::Path;

/// The scopes a `kith token` gets when none are asked for.
pub const DEFAULT_TOKEN_SCOPES: &str = "read write follow push";

/// Known top-level scopes; `read:statuses`-style children of the first four are allowed too.
const SCOPES: &[&str] = &[
    "read",
    "write",
    "follow",
    "push",
    "profile",
    "admin:read",
    "admin:write",
];

/// Writes a new config file and creates the data directory it names.
pub fn init(config_path: &Path, public_url: &str, username: &str) -> Result<Config> {
    if config_path.exists() {
        return Err(Error::Config(format!(
            "{} already exists; edit it or remove it first",
            config_path.display()
        )));
    }
    let text = config::init_text(public_url, username, config::DEFAULT_DATA_DIR);
    let config = Config::parse(&text)?;
    std::fs::create_dir_all(&config.data_dir)?;
    std::fs::write(config_path, text)?;
    Ok(config)
}

/// Sets the login password.
pub fn passwd(config: &Config, new_password: &str) -> Result<()> {
    let hash = password::hash(new_password)?;
    let (db, _) = open_storage(config)?;
    db.write(|tx| db::account::update_password_hash(tx, &hash, db::now_ms()))
}

/// Creates an API access token with the given scopes and returns it; only its hash is kept.
pub fn token(config: &Config, scopes: &str) -> Result<String> {
    let scopes = normalise_scopes(scopes)?;
    let (db, _) = open_storage(config)?;
    let token = keys::random_token(32)?;
    let hash = keys::sha256_hex(token.as_bytes());
    db.write(|tx| db::tokens::insert(tx, None, &hash, &scopes, db::now_ms()))?;
    Ok(token)
}

/// Checks a space-separated scope list and returns it normalised.
pub fn normalise_scopes(scopes: &str) -> Result<String> {
    let mut out: Vec<&str> = Vec::new();
    for scope in scopes.split_whitespace() {
        let parent = scope.split(':').next().unwrap_or(scope);
        let known = SCOPES.contains(&scope)
            || (scope.contains(':')
                && ["read", "write", "admin"].contains(&parent)
                && scope.len() < 64);
        if !known {
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
        assert!(normalise_scopes("  ").is_err());
    }
}
