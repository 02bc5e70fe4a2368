//! `kith storage migrate --to s3|local`: moves the media between the data directory
//! and the bucket (`media::migrate`), printing each file as it goes. It works beside a
//! running server, and running it again resumes an interrupted move.

use crate::config::{Backend, Config};
use crate::error::{Error, Result};
use crate::media::migrate;
use crate::storage::Storage;

/// `kith storage migrate --to s3|local`.
pub fn run_migrate(config: &Config, to: &str) -> Result<()> {
    let target = match to {
        "s3" => Backend::S3,
        _ => Backend::Local,
    };
    let storage = Storage::open(config)?;
    let mut progress = |step: &migrate::Step| {
        eprintln!(
            "[{}/{}] {} {} ({} bytes)",
            step.done,
            step.total,
            if step.already_there {
                "already there:"
            } else {
                "moved"
            },
            step.key,
            step.bytes
        );
    };
    let mut failure = |key: &str, e: &Error| eprintln!("cannot move {key}: {}", super::sentence(e));
    let done = migrate::migrate(&storage, target, &mut progress, &mut failure)?;
    let place = match target {
        Backend::S3 => "the bucket",
        Backend::Local => "the data directory",
    };
    eprintln!(
        "Moved {} files ({} bytes) to {place}; {} were there already.",
        done.moved, done.bytes, done.already_there
    );
    if done.failed > 0 {
        return Err(Error::Storage(format!(
            "{} files could not be moved (see above); run the command again to retry them",
            done.failed
        )));
    }
    if config.storage_backend != target {
        eprintln!(
            "Now set backend = \"{to}\" in [storage] and restart kith serve, so new media go there too; \
             then run this command once more for what arrived meanwhile."
        );
    }
    Ok(())
}
