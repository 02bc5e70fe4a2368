//! The account's first run: creating it (key pair, generated password) in an empty
//! data directory, which only `kith serve` and `kith init` may do, and the file that
//! holds the generated password when it cannot be shown on a terminal. That file is
//! readable only by kith's user and goes away at the first login or `kith passwd`.
//! It must not print anything: what the person sees is the command line's business.

use crate::config::Config;
use crate::db::{self, Db};
use crate::error::{Error, Result};
use crate::{keys, password};
use std::path::PathBuf;

/// The name of the password file inside the data directory.
const PASSWORD_FILE: &str = "first-run-password";

/// The refusal of a command that needs the account when the data directory has none.
pub fn no_account(config: &Config) -> Error {
    Error::Config(format!(
        "no kith account in {}: run kith init or kith serve first",
        config.data_dir.display()
    ))
}

/// Creates the account with a new key pair and password unless it exists; checks the
/// configured user name against the stored one. Returns the password when this call
/// created the account.
pub fn ensure_account(db: &Db, config: &Config) -> Result<Option<String>> {
    if let Some(account) = db.read(db::account::find)? {
        return check_username(config, &account.username).map(|()| None);
    }
    // Slow work (key generation, hashing) happens before the write lock is taken.
    let key = keys::generate()?;
    let password = password::generate()?;
    let hash = password::hash(&password)?;
    let created = db.write(|tx| {
        if db::account::find(tx)?.is_some() {
            return Ok(false);
        }
        db::account::insert(
            tx,
            &db::account::NewAccount {
                username: &config.username,
                private_key_der: &key.private_der,
                public_key_pem: &key.public_pem,
                password_hash: &hash,
                now: db::now_ms(),
            },
        )?;
        Ok(true)
    })?;
    if created {
        Ok(Some(password))
    } else {
        ensure_account(db, config)
    }
}

/// Refuses a data directory whose account has another name than the config's.
pub fn check_username(config: &Config, stored: &str) -> Result<()> {
    if stored == config.username {
        return Ok(());
    }
    Err(Error::Config(format!(
        "username: the database belongs to {stored:?}, but the config says {:?}; \
         an account's name cannot change once it federates",
        config.username
    )))
}

/// Where the generated password is kept when it could not be shown on a terminal.
pub fn password_file(config: &Config) -> PathBuf {
    config.data_dir.join(PASSWORD_FILE)
}

/// Writes the generated password to [`password_file`], readable and writable only by
/// this user (mode 0600 from the moment it exists); returns its path.
pub fn write_password_file(config: &Config, password: &str) -> Result<PathBuf> {
    use std::io::Write;
    let path = password_file(config);
    let _ = std::fs::remove_file(&path);
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let written = options
        .open(&path)
        .and_then(|mut f| f.write_all(format!("{password}\n").as_bytes()));
    written.map_err(|e| Error::Config(format!("cannot write {}: {e}", path.display())))?;
    // Named in full in the notice: a service's journal knows no working directory.
    Ok(std::path::absolute(&path).unwrap_or(path))
}

/// Removes the password file, if there is one: the password has been used or replaced.
pub fn forget_password(config: &Config) {
    let _ = std::fs::remove_file(password_file(config));
}
