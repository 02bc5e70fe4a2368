//! `kith serve`: prepares the data directory (on the first run it shows the generated
//! password and starts itself afresh), runs the server until SIGINT or SIGTERM, then
//! shuts it down in order.

use crate::config::Config;
use crate::error::Result;
use signal_hook::consts::{SIGINT, SIGTERM};

/// `kith serve`: runs the server in this process until a stop signal arrives.
pub fn run(config: Config) -> Result<()> {
    if let Some(password) = crate::prepare(&config)? {
        print_first_run(&config, &password);
        let error = crate::restart::exec_self();
        eprintln!(
            "kith: could not restart after the first run ({error}); going on in this process"
        );
    }
    let mut signals = signal_hook::iterator::Signals::new([SIGINT, SIGTERM])?;
    let public_url = config.public_url.clone();
    let server = crate::start(config)?;
    eprintln!(
        "kith {} listening on {}, public address {public_url}",
        env!("CARGO_PKG_VERSION"),
        server.addr()
    );
    if let Some(signal) = signals.forever().next() {
        eprintln!("kith: signal {signal} received, shutting down");
    }
    server.shutdown();
    eprintln!("kith: stopped");
    Ok(())
}

/// The one-time notice with the account's generated password.
fn print_first_run(config: &Config, password: &str) {
    eprintln!(
        "First run: your account @{} was created.\n  Open {}/ and log in with the password: {password}\n  \
         (shown only this once; change it with `kith passwd`)",
        config.username, config.public_url
    );
}
