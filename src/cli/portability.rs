//! The moving-in-and-out commands: `kith alias`, `import`, `export`, `move`, `backup`
//! and `restore`. The work lives in `portability` (and `process` for aliases and
//! moving); these open what each needs (a command-line context for the ones that sign,
//! fetch or queue, the bare config for the backups) and print the summary. All but
//! `restore` work beside a running server.

use crate::config::Config;
use crate::error::{Error, Result};
use crate::portability::{backup, backups, csv, export, import};
use crate::process::{alias, moving};
use std::path::Path;

/// `kith backup FILE [--media FILE.tar]`: snapshots the database (and the uploads).
pub fn run_backup(config: &Config, dest: &Path, media: Option<&Path>) -> Result<()> {
    let done = backup::backup(config, dest, media).map_err(|e| super::naming(dest, e))?;
    eprintln!(
        "Wrote {} ({} bytes, {} posts){}. It holds the account's private key: keep it safe.",
        dest.display(),
        done.bytes,
        done.posts,
        done.media_files
            .map(|n| format!(" and {n} media files to the tarball"))
            .unwrap_or_default()
    );
    Ok(())
}

/// `kith backup --to s3`: a snapshot into the bucket under the `[backup]` prefix,
/// pruned to `[backup] keep`.
pub fn run_backup_to_bucket(config: &Config) -> Result<()> {
    let db = crate::open_storage(config)?;
    let storage = crate::storage::Storage::open(config)?;
    let dest = backups::bucket_destination(config)?;
    let taken = backups::take(&db, &storage, config, &dest, config.backup.keep)?;
    eprintln!(
        "Wrote {}. It holds the account's private key: keep the bucket private.",
        backups::summary(&taken)
    );
    Ok(())
}

/// `kith restore FILE|s3:NAME|s3:latest [--media FILE.tar]`: puts a backup in place
/// (kith serve stopped); `s3:` fetches it from the bucket first.
pub fn run_restore(config: &Config, source: &Path, media: Option<&Path>) -> Result<()> {
    if let Some(spec) = source.to_str().and_then(|s| s.strip_prefix("s3:")) {
        let fetched = backups::fetch_from_bucket(config, spec)?;
        let restored = restore_file(config, &fetched, media);
        let _ = std::fs::remove_file(&fetched);
        return restored;
    }
    restore_file(config, source, media)
}

fn restore_file(config: &Config, source: &Path, media: Option<&Path>) -> Result<()> {
    let done = backup::restore(config, source, media)?;
    eprintln!(
        "Restored {} ({} posts){}. {}Start it with: kith serve",
        source.display(),
        done.posts,
        done.media_files
            .map(|n| format!(" and {n} media files"))
            .unwrap_or_default(),
        done.previous
            .map(|p| format!("The database it replaced is kept as {}. ", p.display()))
            .unwrap_or_default()
    );
    Ok(())
}

/// `kith alias list`: prints the account's aliases, one a line.
pub fn run_alias_list(config: Config) -> Result<()> {
    let ctx = crate::cli_context(config)?;
    for uri in alias::list(&ctx)? {
        println!("{uri}");
    }
    Ok(())
}

/// `kith alias add TARGET`: adds an alias and tells the followers.
pub fn run_alias_add(config: Config, target: &str) -> Result<()> {
    let ctx = crate::cli_context(config)?;
    let uri = alias::add(&ctx, target)?;
    eprintln!("Added alias {uri}; followers are told with Update(Person).");
    Ok(())
}

/// `kith alias remove TARGET`: removes an alias.
pub fn run_alias_remove(config: Config, target: &str) -> Result<()> {
    let ctx = crate::cli_context(config)?;
    let uri = alias::remove(&ctx, target)?;
    eprintln!("Removed alias {uri}.");
    Ok(())
}

/// `kith import mastodon-archive PATH`: imports an archive and prints the report.
pub fn run_import_archive(
    config: Config,
    path: &Path,
    fetch: bool,
    overwrite_profile: bool,
) -> Result<()> {
    let ctx = crate::cli_context(config)?;
    let opts = import::Options {
        resolve: fetch,
        overwrite_profile,
        ..import::Options::default()
    };
    let report = import::import_archive(&ctx, path, &opts).map_err(|e| super::naming(path, e))?;
    eprintln!("{}", report.summary());
    Ok(())
}

/// `kith import csv --type KIND [--overwrite] PATH`: imports one CSV export.
pub fn run_import_csv(config: Config, kind: &str, overwrite: bool, path: &Path) -> Result<()> {
    let ctx = crate::cli_context(config)?;
    let kind = csv::Kind::parse(kind)
        .ok_or_else(|| Error::BadRequest(format!("unknown --type {kind:?}")))?;
    let report =
        csv::import(&ctx, kind, path, overwrite, true).map_err(|e| super::naming(path, e))?;
    eprintln!("{}", report.summary());
    Ok(())
}

/// `kith export DEST`: writes a Mastodon-layout archive and the CSV files.
pub fn run_export(config: Config, dest: &Path) -> Result<()> {
    let ctx = crate::cli_context(config)?;
    let done = export::export(&ctx, dest, true).map_err(|e| super::naming(dest, e))?;
    eprintln!(
        "Exported {} posts, {} media files ({} missing), {} likes and {} bookmarks to {}.",
        done.posts,
        done.media,
        done.media_missing,
        done.likes,
        done.bookmarks,
        dest.display()
    );
    Ok(())
}

/// `kith move TARGET`: moves the account to TARGET and queues the Move for followers.
pub fn run_move(config: Config, target: &str) -> Result<()> {
    let ctx = crate::cli_context(config)?;
    let moved = moving::move_to(&ctx, target)?;
    eprintln!(
        "Moved to {}: Move queued for {} inboxes; a running kith sends them within a few seconds. This account now shows that it moved.",
        moved.target, moved.inboxes
    );
    Ok(())
}
