//! `kith init`: writes a config file with the public address, user name and data
//! directory given, then sets up that directory with the account (key pair and a
//! generated password, shown the way [`super::serve::announce_password`] does). It
//! never touches a directory other than the one the new config names.

use crate::config::{self, Config};
use crate::error::{Error, Result};
use std::path::Path;

/// What `kith init` did: the config it wrote and, when it created the account, the
/// generated password.
pub struct Initialised {
    /// The config as `kith serve --config PATH` will read it.
    pub config: Config,
    /// The generated password, when the account was created now.
    pub password: Option<String>,
}

/// Writes a new config file and sets up the data directory it names (relative to the
/// file's directory), creating the account. `data_dir` is taken from the current
/// directory when relative, and written to the file as an absolute path; without it,
/// the file says `./kith-data`, beside itself.
pub fn init(
    config_path: &Path,
    public_url: &str,
    username: &str,
    data_dir: Option<&Path>,
) -> Result<Initialised> {
    if config_path.exists() {
        return Err(Error::Config(format!(
            "{} already exists; edit it or remove it first",
            config_path.display()
        )));
    }
    let dir_text = match data_dir {
        Some(dir) => {
            let absolute = std::path::absolute(dir).map_err(|e| {
                Error::Config(format!("--data-dir: cannot use {}: {e}", dir.display()))
            })?;
            absolute
                .to_str()
                .ok_or_else(|| {
                    Error::Config(format!(
                        "--data-dir: {} is not valid UTF-8; choose another path",
                        dir.display()
                    ))
                })?
                .to_string()
        }
        None => config::DEFAULT_DATA_DIR.to_string(),
    };
    let text = config::init_text(public_url, username, &dir_text);
    // The values are checked before anything is written; a refusal names the flag.
    let mut config = Config::parse(&text).map_err(|e| match e {
        Error::Config(m) => Error::Config(flag_names(&m)),
        other => other,
    })?;
    config.data_dir = config::beside(config_path, &config.data_dir);
    std::fs::write(config_path, text).map_err(|e| {
        Error::Config(format!(
            "cannot write {}: {e}; check that its directory exists and is writable",
            config_path.display()
        ))
    })?;
    let password = crate::prepare(&config)?;
    Ok(Initialised { config, password })
}

/// `kith init`: writes the config file, creates the account, shows its password and
/// says how to start it.
pub fn run(
    config_path: &Path,
    public_url: &str,
    username: &str,
    data_dir: Option<&Path>,
) -> Result<()> {
    let done = init(config_path, public_url, username, data_dir)?;
    eprintln!(
        "Wrote {} (data in {}).",
        config_path.display(),
        done.config.data_dir.display()
    );
    match &done.password {
        Some(password) => super::serve::announce_password(&done.config, password),
        None => eprintln!(
            "{} already holds the account @{}; it is used as it is.",
            done.config.data_dir.display(),
            done.config.username
        ),
    }
    eprintln!(
        "Your account is @{}@{}; start it with: kith serve --config {}",
        done.config.username,
        done.config.domain,
        config_path.display()
    );
    Ok(())
}

/// A config refusal about a value `kith init` took from a flag, naming the flag.
fn flag_names(message: &str) -> String {
    for (key, flag) in [
        ("public_url:", "--public-url:"),
        ("username:", "--username:"),
        ("data_dir:", "--data-dir:"),
    ] {
        if let Some(rest) = message.strip_prefix(key) {
            return format!("{flag}{rest}");
        }
    }
    message.to_string()
}
