//! `kith serve`: starts itself afresh once with the allocator's settings (`heap`),
//! checks it can listen and reach the media bucket, prepares the data directory (on
//! the first run it hands over the generated password and starts itself afresh), runs
//! the server until SIGINT or SIGTERM, then shuts it down in order.

use crate::config::Config;
use crate::error::Result;
use signal_hook::consts::{SIGINT, SIGTERM};
use std::io::IsTerminal;

/// `kith serve`: runs the server in this process until a stop signal arrives.
pub fn run(config: Config) -> Result<()> {
    // glibc's per-thread caches are turned off by the environment only, before start.
    if !crate::heap::thread_caches_off() {
        let error = crate::restart::exec_self();
        eprintln!("kith: could not restart with the allocator's settings ({error}); going on");
    }
    // A port in use stops kith here, before a data directory or account exists.
    crate::check_listen(&config)?;
    // So is a media bucket that does not answer or refuses the keys (the message names
    // the key to fix); `start` checks again (and warns of a bucket for backups only).
    if config.storage_backend == crate::config::Backend::S3 {
        crate::storage::Storage::open(&config)?.check()?;
    }
    if let Some(password) = crate::prepare(&config)? {
        announce_password(&config, &password);
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

/// The one-time notice of a new account. The password itself goes only to a terminal
/// on standard output; anywhere else (a service's journal, a pipe) it is written to a
/// file only this user can read, and the notice names that file instead.
pub fn announce_password(config: &Config, password: &str) {
    let login = format!("{}/login", config.public_url);
    if std::io::stdout().is_terminal() {
        println!(
            "First run: your account @{} was created.\n  Open {login} and log in with the password: {password}\n  \
             (shown only this once; change it with `kith passwd`)",
            config.username
        );
        return;
    }
    match crate::first_run::write_password_file(config, password) {
        Ok(path) => eprintln!(
            "First run: your account @{} was created.\n  Its password is in {} (readable only by this user).\n  \
             Open {login} and log in with it; the file is removed at the first login or by `kith passwd`.",
            config.username,
            path.display()
        ),
        Err(e) => eprintln!(
            "First run: your account @{} was created, but its password could not be kept ({e}).\n  \
             Set one with `kith passwd`, then open {login} and log in.",
            config.username
        ),
    }
}
