//! The command-line actions beside `kith serve`'s argument parsing (which stays in the
//! binary): each file owns a group of commands, does the work through the library and
//! prints what the command says. They open the same database as a running server
//! (SQLite WAL allows it), so all but `restore` work whether or not the server runs.

pub mod account;
pub mod doctor;
pub mod init;
pub mod portability;
pub mod queue;
pub mod serve;
pub mod storage;

use crate::error::Error;

/// The command line's usage text.
pub const USAGE: &str = "\
kith — one person's home on the Fediverse

Usage:
  kith serve  [--config PATH]     run the server (the default when no command is given)
  kith init   [--config PATH] --public-url URL --username NAME [--data-dir PATH]
                                  write a config file with these values and create the account in
                                  its data directory (default: kith-data beside the config file)
  kith passwd [--config PATH]     set the login password (read from stdin when it is not a terminal)
  kith token  [--config PATH] [--scopes \"read write follow push\"]
                                  print a new API access token for scripts and bots
  kith queue  [--config PATH]     list queued deliveries and unavailable or paused hosts
  kith queue retry HOST [--config PATH]
                                  clear HOST's failure marks and make its deliveries due now
  kith doctor [--config PATH]     check the setup (storage, what peers see at the public URL,
                                  the clock, deliveries); exit 1 when a check fails

Moving in and out (these work while kith serve runs, except restore):
  kith alias list|add|remove [@user@host|URL] [--config PATH]
                                  the accounts this one is also known as (needed to move here)
  kith import mastodon-archive FILE.zip|FILE.tar.gz|DIR [--no-fetch] [--overwrite-profile] [--config PATH]
                                  import the posts, media, boosts, likes, bookmarks and profile of an
                                  archive; the profile fills only what is unset here, unless
                                  --overwrite-profile (name, bio, fields, avatar, header)
  kith import csv --type following|blocks|mutes|domain-blocks|bookmarks|lists [--overwrite] FILE
                                  import one of Mastodon's CSV exports (merge, or replace with --overwrite)
  kith export DIR|FILE.zip [--config PATH]
                                  write a Mastodon-layout archive and the CSV files
  kith move @user@host [--config PATH]
                                  move this account to a new one that lists it as an alias
  kith backup FILE [--media FILE.tar] [--config PATH]
                                  snapshot the database (it holds the keys) and the uploads
  kith backup --to s3 [--config PATH]
                                  snapshot the database into the bucket of [storage], under
                                  [backup] prefix, keeping the newest [backup] keep
  kith restore FILE|s3:NAME|s3:latest [--media FILE.tar] --config PATH
                                  put a backup in place (stop kith serve first); s3: takes it
                                  from the bucket
  kith storage migrate --to s3|local [--config PATH]
                                  move every media file to the bucket or the data directory,
                                  each checked before its old copy goes; run again to resume
  kith --help | --version

The config file is --config PATH, else $KITH_CONFIG, else ./kith.toml.
Without a config file, kith serve uses the built-in defaults (see config.example.toml).
";

/// An error as a sentence for the command line: what went wrong and, where kith knows
/// it, what to do; never an HTTP status (those are for the faces).
pub fn sentence(e: &Error) -> String {
    match e {
        Error::Config(m) => m.clone(),
        Error::Io(io) => format!("{io}"),
        Error::Db(db) => format!("the database reported an error: {db}"),
        Error::Internal(m) => format!("internal error: {m}"),
        Error::Network { message, .. } => format!("a network request failed: {message}"),
        Error::Storage(m) => format!("media storage: {m}"),
        Error::Doctor(failed) => format!(
            "{failed} check{} failed (see above)",
            if *failed == 1 { "" } else { "s" }
        ),
        other => other.public_message(),
    }
}

/// An I/O error of a command working on `path`, naming that path when the error does
/// not already ("Permission denied (os error 13)" alone says nothing of where).
pub fn naming(path: &std::path::Path, e: Error) -> Error {
    match e {
        Error::Io(io) if !io.to_string().contains(&path.display().to_string()) => Error::Io(
            std::io::Error::new(io.kind(), format!("{}: {io}", path.display())),
        ),
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sentences_carry_no_http_status() {
        let e = Error::Unprocessable("the password must be at least 8 characters".into());
        assert_eq!(sentence(&e), "the password must be at least 8 characters");
        assert_eq!(
            sentence(&Error::Conflict("stop kith serve first".into())),
            "stop kith serve first"
        );
    }
}
