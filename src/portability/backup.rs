//! `kith backup FILE [--media FILE.tar]` and `kith restore FILE [--media FILE.tar]`.
//!
//! A backup is a consistent snapshot of the database taken while the server runs
//! (`VACUUM INTO`, which reads one transaction's view of the file), checked with
//! SQLite's integrity check, written under a temporary name and renamed, readable by
//! the owner only: it holds the account's private key. The media tarball holds the
//! uploads (`data_dir/media`); the remote media cache is not backed up.
//!
//! A restore needs the server stopped (it takes the data directory's lock). It checks
//! the snapshot (SQLite, sound, an account whose name matches the config, a schema
//! this kith knows), brings its schema up to date, keeps the current database beside
//! it as `kith.sqlite3.before-restore-TIME`, and puts the snapshot in place. Media
//! files are unpacked only under names kith gives files; other entries are refused.
//! The media tarball is read through once before anything changes: its entries
//! checked and their total measured against the free disk; while unpacking, bytes
//! are counted as they are written, so an entry cannot grow past its header.

use super::refused;
use crate::config::Config;
use crate::db::{self, portability};
use crate::error::{Error, Result};
use crate::storage::{Area, Storage};
use std::fs::File;
use std::io::{BufWriter, Read, Write};
use std::path::{Path, PathBuf};

/// What a backup wrote.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BackedUp {
    pub bytes: u64,
    /// The owner's posts in the snapshot.
    pub posts: i64,
    /// Media files in the tarball, when one was asked for.
    pub media_files: Option<u64>,
}

/// Writes a snapshot of the database to `dest` and, with `media`, a tarball of the uploads.
pub fn backup(config: &Config, dest: &Path, media: Option<&Path>) -> Result<BackedUp> {
    for path in std::iter::once(dest).chain(media) {
        if path.exists() {
            return Err(refused(format!(
                "{} exists already; choose a new name",
                path.display()
            )));
        }
    }
    let db = crate::open_storage(config)?;
    let posts = snapshot(&db, dest)?;
    let media_files = match media {
        Some(path) => Some(write_media_tar(&Storage::open(config)?, path)?),
        None => None,
    };
    Ok(BackedUp {
        bytes: std::fs::metadata(dest)?.len(),
        posts,
        media_files,
    })
}

/// Writes a checked snapshot of `db` to `dest` (under a temporary name, then renamed;
/// readable by the owner only); returns the owner's posts in it.
pub fn snapshot(db: &db::Db, dest: &Path) -> Result<i64> {
    let tmp = partial(dest);
    let _ = std::fs::remove_file(&tmp);
    db.snapshot(&tmp)?;
    private(&tmp)?;
    let info = match portability::inspect_snapshot(&tmp) {
        Ok(info) if info.integrity == "ok" => info,
        Ok(info) => {
            let _ = std::fs::remove_file(&tmp);
            return Err(Error::Internal(format!(
                "the snapshot failed its integrity check: {}",
                info.integrity
            )));
        }
        Err(e) => {
            let _ = std::fs::remove_file(&tmp);
            return Err(e);
        }
    };
    File::open(&tmp)?.sync_all()?;
    std::fs::rename(&tmp, dest)?;
    Ok(info.posts)
}

fn partial(path: &Path) -> PathBuf {
    let mut name = path.file_name().unwrap_or_default().to_os_string();
    name.push(".partial");
    path.with_file_name(name)
}

/// Makes a file readable by its owner only.
pub(super) fn private(path: &Path) -> Result<()> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600))?;
    }
    let _ = path;
    Ok(())
}

/// Whether `name` has the shape of a file name kith gives uploads.
fn kith_name(name: &str) -> bool {
    let Some((stem, ext)) = name.split_once('.') else {
        return false;
    };
    stem.len() == 32
        && stem
            .bytes()
            .all(|b| b.is_ascii_digit() || b.is_ascii_lowercase())
        && (1..=5).contains(&ext.len())
        && ext
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
}

/// Writes the uploads (from the folder and the bucket) to a tarball; returns how many
/// files.
fn write_media_tar(storage: &Storage, dest: &Path) -> Result<u64> {
    let tmp = partial(dest);
    let file = File::create(&tmp)?;
    private(&tmp)?;
    let mut tar = tar::Builder::new(BufWriter::with_capacity(256 * 1024, file));
    let mut count = 0;
    let now = (db::now_ms() / 1000).max(0) as u64;
    for name in storage.list(Area::Uploads)? {
        // A file removed since the listing is simply not in the backup.
        let Some(opened) = storage.open_file(Area::Uploads, &name)? else {
            continue;
        };
        let mut header = tar::Header::new_gnu();
        header.set_size(opened.len);
        header.set_mode(0o600);
        header.set_mtime(now);
        header.set_entry_type(tar::EntryType::Regular);
        tar.append_data(
            &mut header,
            format!("media/{name}"),
            opened.reader.take(opened.len),
        )?;
        count += 1;
    }
    let mut out = tar.into_inner()?;
    out.flush()?;
    out.get_ref().sync_all()?;
    std::fs::rename(tmp, dest)?;
    Ok(count)
}

/// What a restore did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Restored {
    pub posts: i64,
    /// Where the database that was replaced is kept, if there was one.
    pub previous: Option<PathBuf>,
    pub media_files: Option<u64>,
}

/// Puts the snapshot `snapshot` in place as the database of `config` (server stopped).
pub fn restore(config: &Config, snapshot: &Path, media: Option<&Path>) -> Result<Restored> {
    std::fs::create_dir_all(&config.data_dir)?;
    let _lock = lock(config)?;
    let mut head = [0u8; 16];
    let n = std::io::Read::read(
        &mut File::open(snapshot)
            .map_err(|e| refused(format!("cannot read {}: {e}", snapshot.display())))?,
        &mut head,
    )?;
    if &head[..n] != b"SQLite format 3\0" {
        return Err(refused(format!(
            "{} is not a kith backup (not an SQLite database)",
            snapshot.display()
        )));
    }
    if let Some(tar) = media {
        check_media_tar(config, tar)?;
    }
    let db_path = config.db_path();
    let candidate = config.data_dir.join("kith.sqlite3.restoring");
    remove_with_journals(&candidate);
    std::fs::copy(snapshot, &candidate)?;
    private(&candidate)?;
    let checked = check_candidate(config, &candidate);
    let info = match checked {
        Ok(info) => info,
        Err(e) => {
            remove_with_journals(&candidate);
            return Err(e);
        }
    };
    let previous = if db_path.exists() {
        let aside = config.data_dir.join(format!(
            "kith.sqlite3.before-restore-{}",
            crate::dates::iso8601(db::now_ms()).replace(':', "-")
        ));
        for suffix in ["", "-wal", "-shm"] {
            let from = with_suffix(&db_path, suffix);
            if from.exists() {
                std::fs::rename(&from, with_suffix(&aside, suffix))?;
            }
        }
        Some(aside)
    } else {
        None
    };
    std::fs::rename(&candidate, &db_path)?;
    let media_files = match media {
        Some(tar) => Some(read_media_tar(config, tar)?),
        None => None,
    };
    Ok(Restored {
        posts: info.posts,
        previous,
        media_files,
    })
}

/// Checks a copied snapshot and brings its schema up to date.
fn check_candidate(config: &Config, candidate: &Path) -> Result<portability::SnapshotInfo> {
    let info = portability::inspect_snapshot(candidate)
        .map_err(|e| refused(format!("the backup cannot be read as a database: {e}")))?;
    if info.integrity != "ok" {
        return Err(refused(format!(
            "the backup failed SQLite's integrity check: {}",
            info.integrity
        )));
    }
    match &info.username {
        Some(name) if *name == config.username => {}
        Some(name) => {
            return Err(refused(format!(
                "the backup belongs to {name:?}, but the config says {:?}",
                config.username
            )));
        }
        None => return Err(refused("the backup has no account in it")),
    }
    // Refuses a newer schema; migrates an older one. Closed again when dropped.
    drop(db::Db::open(candidate)?);
    remove_journals(candidate);
    Ok(info)
}

fn with_suffix(path: &Path, suffix: &str) -> PathBuf {
    let mut name = path.as_os_str().to_os_string();
    name.push(suffix);
    PathBuf::from(name)
}

fn remove_journals(path: &Path) {
    for suffix in ["-wal", "-shm"] {
        let _ = std::fs::remove_file(with_suffix(path, suffix));
    }
}

fn remove_with_journals(path: &Path) {
    let _ = std::fs::remove_file(path);
    remove_journals(path);
}

/// Takes the data directory's lock, as `kith serve` does; refuses while it runs.
fn lock(config: &Config) -> Result<File> {
    let file = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(config.data_dir.join("kith.lock"))?;
    match file.try_lock() {
        Ok(()) => Ok(file),
        Err(std::fs::TryLockError::WouldBlock) => Err(refused(format!(
            "kith serve is running on {}; stop it before restoring",
            config.data_dir.display()
        ))),
        Err(std::fs::TryLockError::Error(e)) => Err(Error::Io(e)),
    }
}

/// The media directory's name for a tarball entry, refusing one kith did not write.
fn media_entry_name<R: std::io::Read>(entry: &tar::Entry<'_, R>) -> Result<Option<String>> {
    if entry.header().entry_type().is_dir() {
        return Ok(None);
    }
    let raw = String::from_utf8_lossy(&entry.path_bytes()).into_owned();
    let name = raw.strip_prefix("media/").unwrap_or(&raw);
    if !entry.header().entry_type().is_file() || !kith_name(name) {
        return Err(refused(format!(
            "the media tarball has an entry kith did not write: {raw:?}"
        )));
    }
    Ok(Some(name.to_string()))
}

fn damaged_tar(e: impl std::fmt::Display) -> Error {
    refused(format!("the media tarball is damaged: {e}"))
}

/// Reads a media tarball through without writing: every entry checked, and the total
/// must fit on the disk with room to spare. Returns the total.
fn check_media_tar(config: &Config, path: &Path) -> Result<u64> {
    let file =
        File::open(path).map_err(|e| refused(format!("cannot read {}: {e}", path.display())))?;
    let mut tar = tar::Archive::new(std::io::BufReader::new(file));
    let mut total = 0u64;
    for entry in tar.entries().map_err(damaged_tar)? {
        let entry = entry.map_err(damaged_tar)?;
        if media_entry_name(&entry)?.is_some() {
            total = total.saturating_add(entry.size());
        }
    }
    let reserve = super::archive::Limits::default().min_free_bytes;
    let free = super::budget::free_bytes(&config.data_dir)?;
    if total.saturating_add(reserve) > free {
        return Err(refused(format!(
            "the media tarball holds {total} bytes, but the disk has {free} bytes free and \
             {reserve} must stay free"
        )));
    }
    Ok(total)
}

/// Unpacks a media tarball into the uploads (the folder or the bucket); existing
/// files are kept.
fn read_media_tar(config: &Config, path: &Path) -> Result<u64> {
    let storage = Storage::open(config)?;
    let mut tar = tar::Archive::new(std::io::BufReader::new(File::open(path)?));
    let mut count = 0;
    for entry in tar.entries().map_err(damaged_tar)? {
        let entry = entry.map_err(damaged_tar)?;
        let Some(name) = media_entry_name(&entry)? else {
            continue;
        };
        if storage.exists(Area::Uploads, &name)? {
            continue;
        }
        let size = entry.size();
        let mut out = storage.create(Area::Uploads)?;
        let copied = std::io::copy(&mut entry.take(size + 1), out.writer());
        match copied {
            Ok(n) if n == size => {}
            other => {
                return Err(match other {
                    Err(e) => damaged_tar(e),
                    Ok(n) => damaged_tar(format!(
                        "{name} has {n} bytes, not the {size} of its header"
                    )),
                });
            }
        }
        let ext = name.rsplit('.').next().unwrap_or_default();
        let media_type =
            crate::media::sniff::media_type_of_ext(ext).unwrap_or("application/octet-stream");
        out.commit_as(&name, media_type)?;
        count += 1;
    }
    Ok(count)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_kith_names_pass() {
        assert!(kith_name("0123456789abcdef0123456789abcdef.png"));
        assert!(!kith_name("../0123456789abcdef0123456789abcdef.png"));
        assert!(!kith_name("0123456789abcdef0123456789abcdef"));
        assert!(!kith_name("kith.sqlite3"));
        assert_eq!(
            partial(Path::new("/b/kith.db")),
            PathBuf::from("/b/kith.db.partial")
        );
    }
}
