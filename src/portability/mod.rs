//! Moving in and out, and keeping a copy: the command-line actions that make "your
//! data is yours" true. `alias` sets `alsoKnownAs` (so an old account may move here);
//! `moving` sends `Move` (moving away) and notices moves here; `archive` reads a
//! Mastodon account archive (zip, tar.gz or a directory) as untrusted input, with
//! `budget` refusing archive bombs before anything is unpacked and `outbox_stream`
//! streaming its posts one at a time; `import` stores them as the account's own
//! history (`attachments` storing their media like uploads, through `crate::media`,
//! and `refs` finding the posts of boosts, likes and bookmarks) and `profile` fills
//! the profile from `actor.json`; `csv` reads and writes Mastodon's CSV exports
//! (`csv_apply` applying an import in batches); `export` writes a Mastodon-layout
//! archive; `backup` takes and restores database snapshots, and `backups` keeps them
//! off the data directory (a folder or the bucket, on a schedule or on demand).
//!
//! Each action opens the same database beside a running server (SQLite WAL allows it);
//! network work (resolving accounts, fetching boosted posts) is done here through a
//! command-line context ([`crate::cli_context`]), and deliveries are queued for the
//! server's workers. No SQL here: storage is in `db::portability` and its neighbours.

pub mod archive;
pub mod attachments;
pub mod backup;
pub mod backups;
pub mod budget;
pub mod csv;
pub mod csv_apply;
pub mod export;
pub mod import;
pub mod outbox_stream;
pub mod profile;
pub mod refs;

use crate::error::Error;

/// A refusal of an input file: 422 with a message that names the problem.
pub fn refused(message: impl Into<String>) -> Error {
    Error::Unprocessable(message.into())
}

/// Prints a progress line for `done` of `total` items (to stderr, for the operator).
pub fn progress(what: &str, done: u64, total: u64) {
    let percent = (done * 100).checked_div(total).unwrap_or(100);
    eprintln!("{what}: {done}/{total} ({percent}%)");
}
