//! Backups kept off the data directory: taken on the `[backup]` schedule by the
//! server's background worker, or on demand by `kith backup --to s3`, and fetched
//! back for `kith restore s3:NAME`. Each backup is the checked snapshot of `backup`
//! (`kith-TIME.sqlite3`), written to a folder or sent to the bucket under the
//! configured prefix; then the oldest beyond `keep` are removed. Every attempt is
//! recorded (`db::backups`), so the schedule survives restarts and `kith doctor` can
//! tell the age of the last good one. A failed attempt is tried again an hour later
//! (or at the next scheduled time, when that is sooner).

use super::backup::{private, snapshot};
use crate::config::{Config, Destination};
use crate::ctx::Ctx;
use crate::db::{self, Db, backups::BackupRow};
use crate::error::{Error, Result};
use crate::storage::Storage;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicI64, Ordering};

/// What one backup wrote.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Taken {
    /// The file or object name.
    pub name: String,
    /// Where it went, for messages (`s3:PREFIX` or the folder).
    pub destination: String,
    pub bytes: u64,
    /// The owner's posts in it.
    pub posts: i64,
    /// Older backups removed to keep `keep`.
    pub pruned: usize,
}

/// The name of a backup taken at `ms`: `kith-20261206T120000123Z.sqlite3`, which
/// sorts by time.
pub fn name_at(ms: i64) -> String {
    let stamp: String = crate::dates::mastodon(ms)
        .chars()
        .filter(|c| c.is_ascii_alphanumeric())
        .collect();
    format!("kith-{stamp}.sqlite3")
}

/// Whether `name` is one of kith's backup names (only those are ever pruned).
pub fn is_backup_name(name: &str) -> bool {
    name.strip_prefix("kith-")
        .and_then(|n| n.strip_suffix(".sqlite3"))
        .is_some_and(|stamp| {
            stamp.len() >= 16
                && stamp
                    .bytes()
                    .all(|b| b.is_ascii_digit() || b == b'T' || b == b'Z')
        })
}

/// A label of a destination, for messages and the record.
pub fn label(dest: &Destination) -> String {
    match dest {
        Destination::Bucket(prefix) => format!("s3:{prefix}"),
        Destination::Folder(dir) => dir.display().to_string(),
    }
}

/// Takes one backup of `db` to `dest`, prunes to `keep`, and records the attempt.
pub fn take(
    db: &Db,
    storage: &Storage,
    config: &Config,
    dest: &Destination,
    keep: u32,
) -> Result<Taken> {
    let now = db::now_ms();
    let name = name_at(now);
    let result = write(db, storage, config, dest, &name)
        .and_then(|(bytes, posts)| Ok((bytes, posts, prune(storage, dest, keep)?)));
    let row = BackupRow {
        taken_at: now,
        destination: label(dest),
        name: name.clone(),
        bytes: result.as_ref().map_or(0, |r| r.0 as i64),
        error: result.as_ref().err().map(ToString::to_string),
    };
    if let Err(e) = db.write(|tx| db::backups::record(tx, &row)) {
        eprintln!("backup: cannot record the backup: {e}");
    }
    let (bytes, posts, pruned) = result?;
    Ok(Taken {
        name,
        destination: row.destination,
        bytes,
        posts,
        pruned,
    })
}

/// Writes the snapshot named `name` to `dest`; returns its size and posts.
fn write(
    db: &Db,
    storage: &Storage,
    config: &Config,
    dest: &Destination,
    name: &str,
) -> Result<(u64, i64)> {
    match dest {
        Destination::Folder(dir) => {
            create_private_dir(dir)?;
            let path = dir.join(name);
            let posts = snapshot(db, &path).map_err(|e| match e {
                Error::Io(io) => Error::Config(format!(
                    "backup.destination: cannot write in {}: {io}",
                    dir.display()
                )),
                other => other,
            })?;
            Ok((std::fs::metadata(&path)?.len(), posts))
        }
        Destination::Bucket(prefix) => {
            let s3 = bucket(storage)?;
            let staging = config.data_dir.join("backup-staging");
            create_private_dir(&staging)?;
            let path = staging.join(name);
            let sent = snapshot(db, &path).and_then(|posts| {
                let info =
                    s3.put_file(&format!("{prefix}{name}"), &path, "application/vnd.sqlite3")?;
                Ok((info.size, posts))
            });
            let _ = std::fs::remove_file(&path);
            sent
        }
    }
}

/// Creates the backup folder readable by kith's user only; a folder that exists is
/// left as its owner set it.
fn create_private_dir(dir: &Path) -> Result<()> {
    if dir.is_dir() {
        return Ok(());
    }
    let named = |e: std::io::Error| {
        Error::Config(format!(
            "backup.destination: cannot create {}: {e}",
            dir.display()
        ))
    };
    std::fs::create_dir_all(dir).map_err(named)?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700)).map_err(named)?;
    }
    Ok(())
}

fn bucket(storage: &Storage) -> Result<&crate::storage::s3::S3> {
    storage.bucket().ok_or_else(|| {
        Error::Config(
            "storage: backups to s3 need a bucket in [storage] (endpoint, bucket and keys)".into(),
        )
    })
}

/// The backups at `dest`, oldest first.
pub fn list(storage: &Storage, dest: &Destination) -> Result<Vec<String>> {
    let mut names: Vec<String> = match dest {
        Destination::Folder(dir) => match std::fs::read_dir(dir) {
            Ok(entries) => entries
                .flatten()
                .filter_map(|e| e.file_name().to_str().map(str::to_string))
                .collect(),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Vec::new(),
            Err(e) => return Err(e.into()),
        },
        Destination::Bucket(prefix) => bucket(storage)?
            .list(prefix)?
            .into_iter()
            .filter_map(|o| o.key.strip_prefix(prefix.as_str()).map(str::to_string))
            .collect(),
    };
    names.retain(|n| is_backup_name(n));
    names.sort();
    Ok(names)
}

/// The bucket under the `[backup]` prefix, whatever `[backup] destination` says: where
/// `kith backup --to s3` writes and `kith restore s3:…` reads.
pub fn bucket_destination(config: &Config) -> Result<Destination> {
    match &config.backup_destination {
        Some(d @ Destination::Bucket(_)) => Ok(d.clone()),
        _ => Ok(Destination::Bucket(
            config.backup.bucket_prefix(&config.domain)?,
        )),
    }
}

/// What one backup wrote, as a line: its name, size, place, and what was pruned.
pub fn summary(t: &Taken) -> String {
    format!(
        "{} ({} bytes, {} posts) to {}{}",
        t.name,
        t.bytes,
        t.posts,
        t.destination,
        match t.pruned {
            0 => String::new(),
            n => format!("; removed {n} older"),
        }
    )
}

/// Removes the oldest backups at `dest` beyond `keep`; returns how many went.
fn prune(storage: &Storage, dest: &Destination, keep: u32) -> Result<usize> {
    let names = list(storage, dest)?;
    let extra = names.len().saturating_sub(keep as usize);
    for name in &names[..extra] {
        match dest {
            Destination::Folder(dir) => match std::fs::remove_file(dir.join(name)) {
                Ok(()) => {}
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(e) => return Err(e.into()),
            },
            Destination::Bucket(prefix) => bucket(storage)?.delete(&format!("{prefix}{name}"))?,
        }
    }
    Ok(extra)
}

/// How long after a failed scheduled backup it is tried again, at most.
const RETRY_MS: i64 = 3600 * 1000;
/// How often the worker looks at the schedule.
const LOOK_EVERY_MS: i64 = 30_000;
/// When the worker last looked.
static LAST_LOOK: AtomicI64 = AtomicI64::new(0);

/// Takes a scheduled backup when one is due; for the background worker's step.
/// Returns whether one was taken (or tried).
pub fn run_if_due(ctx: &Ctx) -> bool {
    let (Some(every), Some(dest)) = (
        ctx.config.backup.schedule.every_ms(),
        ctx.config.backup_destination.as_ref(),
    ) else {
        return false;
    };
    let now = db::now_ms();
    let last_look = LAST_LOOK.load(Ordering::Relaxed);
    if now - last_look < LOOK_EVERY_MS
        || LAST_LOOK
            .compare_exchange(last_look, now, Ordering::Relaxed, Ordering::Relaxed)
            .is_err()
    {
        return false;
    }
    let last = match ctx.db.read(db::backups::last_attempt) {
        Ok(last) => last,
        Err(e) => {
            eprintln!("backup: {e}");
            return false;
        }
    };
    let due = match &last {
        None => true,
        Some(row) if row.error.is_some() => now - row.taken_at >= every.min(RETRY_MS),
        Some(row) => now - row.taken_at >= every,
    };
    if !due {
        return false;
    }
    match take(
        &ctx.db,
        &ctx.storage,
        &ctx.config,
        dest,
        ctx.config.backup.keep,
    ) {
        Ok(t) => eprintln!("backup: wrote {}", summary(&t)),
        Err(e) => eprintln!(
            "backup: failed to back up to {}: {}; trying again within an hour",
            label(dest),
            e
        ),
    }
    true
}

/// Downloads the backup `spec` from the bucket for a restore: `latest`, a name under
/// the `[backup]` prefix, or a whole key. Returns the file it was written to, in the
/// data directory, readable by the owner only.
pub fn fetch_from_bucket(config: &Config, spec: &str) -> Result<PathBuf> {
    let storage = Storage::open(config)?;
    let s3 = bucket(&storage)?;
    let Destination::Bucket(prefix) = bucket_destination(config)? else {
        return Err(Error::Internal(
            "a bucket destination without a prefix".into(),
        ));
    };
    let key = if spec == "latest" {
        let names = list(&storage, &Destination::Bucket(prefix.clone()))?;
        let newest = names.last().ok_or_else(|| {
            Error::NotFound(format!(
                "there are no backups in {} under {prefix:?}",
                s3.name()
            ))
        })?;
        format!("{prefix}{newest}")
    } else if spec.contains('/') {
        spec.to_string()
    } else {
        format!("{prefix}{spec}")
    };
    let got = s3
        .get(&key, None)?
        .filter(|d| d.status == 200)
        .ok_or_else(|| Error::NotFound(format!("there is no object {key:?} in {}", s3.name())))?;
    std::fs::create_dir_all(&config.data_dir)?;
    let path = config.data_dir.join("kith.sqlite3.download");
    let _ = std::fs::remove_file(&path);
    let mut file = std::fs::File::create_new(&path)?;
    private(&path)?;
    let mut reader = got.reader;
    let copied = std::io::copy(&mut reader, &mut file);
    match copied {
        Ok(n) if got.len.is_none_or(|len| len == n) => Ok(path),
        Ok(n) => {
            let _ = std::fs::remove_file(&path);
            Err(Error::Storage(format!(
                "{key}: {n} bytes arrived of {}",
                got.len.unwrap_or(0)
            )))
        }
        Err(e) => {
            let _ = std::fs::remove_file(&path);
            Err(e.into())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backup_names_sort_by_time_and_only_they_are_pruned() {
        let a = name_at(1_700_000_000_000);
        let b = name_at(1_700_000_000_001);
        assert!(is_backup_name(&a), "{a}");
        assert!(a < b);
        for other in [
            "kith.sqlite3",
            "kith-x.sqlite3",
            "notes.txt",
            "kith-2026.sqlite3",
        ] {
            assert!(!is_backup_name(other), "{other}");
        }
    }
}
