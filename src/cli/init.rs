//! `kith init`: writes a config file with the public address and user name given and
//! creates the data directory it names. The account itself (key pair, password) is
//! made by the first `kith serve`.

use crate::config::{self, Config};
use crate::error::{Error, Result};
use std::path::Path;

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

/// `kith init`: writes the config file and says what the account will be called and
/// how to start it.
pub fn run(config_path: &Path, public_url: &str, username: &str) -> Result<()> {
    let config = init(config_path, public_url, username)?;
    eprintln!(
        "Wrote {}. Your account will be @{}@{}; start it with: kith serve --config {}",
        config_path.display(),
        config.username,
        config.domain,
        config_path.display()
    );
    Ok(())
}
