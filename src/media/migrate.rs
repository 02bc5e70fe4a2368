//! `kith storage migrate --to s3|local`: moves every media file (uploads and the
//! remote cache) between the data directory and the bucket. Each file is copied,
//! checked (its size, and its MD5 against the bucket's ETag), and only then removed
//! from where it was; a file already in place and matching is not sent again. So an
//! interrupted move is resumed by running the command again, and nothing is lost at
//! any point: until a file is removed from one place it is whole in that place, and
//! `storage` looks in both. A running kith keeps serving meanwhile.

use crate::config::Backend;
use crate::error::{Error, Result};
use crate::storage::etag::{Hashing, file_etag};
use crate::storage::s3::{ObjectInfo, S3};
use crate::storage::{Area, Storage, local_names, new_name, remove_partials};
use std::fs::File;
use std::io::BufWriter;
use std::path::Path;
use std::time::Duration;

/// One file moved (or found in place), for progress reports.
#[derive(Debug, Clone)]
pub struct Step {
    /// `media/NAME` or `cache/NAME`.
    pub key: String,
    pub bytes: u64,
    /// The file was already in place, and only its old copy was removed.
    pub already_there: bool,
    /// Files handled so far, and in all.
    pub done: usize,
    pub total: usize,
}

/// What a migration did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Migrated {
    pub moved: usize,
    pub already_there: usize,
    pub bytes: u64,
    /// Files that could not be moved (each reported); running again retries them.
    pub failed: usize,
}

/// Moves every media file to `to`, calling `progress` after each and `failure` with
/// each file that could not be moved.
pub fn migrate(
    storage: &Storage,
    to: Backend,
    progress: &mut dyn FnMut(&Step),
    failure: &mut dyn FnMut(&str, &Error),
) -> Result<Migrated> {
    let s3 = storage.bucket().ok_or_else(|| {
        Error::Config(
            "storage: moving media needs a bucket in [storage] (endpoint, bucket and keys)".into(),
        )
    })?;
    s3.check()?;
    let _lock = lock(storage)?;
    let mut work = Vec::new();
    for area in Area::ALL {
        // What a killed run was downloading (only a migration writes these names).
        remove_partials(&storage.local_dir(area), PARTIAL, Duration::ZERO);
        match to {
            Backend::S3 => {
                let names = local_names(&storage.local_dir(area))?;
                work.extend(names.into_iter().map(|name| (area, name, None)));
            }
            Backend::Local => {
                let objects = storage.bucket_objects(area)?;
                work.extend(objects.into_iter().map(|(name, o)| (area, name, Some(o))));
            }
        }
    }
    let total = work.len();
    let mut out = Migrated::default();
    for (i, (area, name, object)) in work.into_iter().enumerate() {
        let key = area.key(&name);
        let dir = storage.local_dir(area);
        let moved = match object {
            None => to_bucket(s3, &dir, &name, &key),
            Some(object) => to_folder(s3, &dir, &name, &object),
        };
        match moved {
            Ok((bytes, already_there)) => {
                if already_there {
                    out.already_there += 1;
                } else {
                    out.moved += 1;
                }
                out.bytes += bytes;
                progress(&Step {
                    key,
                    bytes,
                    already_there,
                    done: i + 1,
                    total,
                });
            }
            Err(e) => {
                out.failed += 1;
                failure(&key, &e);
            }
        }
    }
    Ok(out)
}

/// The prefix of the files a migration downloads into before they are checked.
const PARTIAL: &str = ".tmp-migrate-";

/// The migration's lock in the data directory: one runs at a time.
fn lock(storage: &Storage) -> Result<File> {
    let path = storage.data_dir().join("storage-migrate.lock");
    std::fs::create_dir_all(storage.data_dir())?;
    let file = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&path)?;
    match file.try_lock() {
        Ok(()) => Ok(file),
        Err(std::fs::TryLockError::WouldBlock) => Err(Error::Conflict(
            "another kith storage migrate is running on this data directory".into(),
        )),
        Err(std::fs::TryLockError::Error(e)) => Err(e.into()),
    }
}

/// The media type of a file by its extension (as kith named it).
fn media_type(name: &str) -> &'static str {
    let ext = name.rsplit('.').next().unwrap_or_default();
    super::sniff::media_type_of_ext(ext).unwrap_or("application/octet-stream")
}

/// Sends `dir/name` to the bucket as `key` unless a matching copy is there, then
/// removes the local file. Returns its size and whether it was already there.
fn to_bucket(s3: &S3, dir: &Path, name: &str, key: &str) -> Result<(u64, bool)> {
    let path = dir.join(name);
    let (size, etag) = file_etag(&path)?;
    let there = s3
        .head(key)?
        .is_some_and(|info| info.size == size && info.etag == etag);
    if !there {
        let stored = s3.put_file(key, &path, media_type(name))?;
        if stored.size != size {
            return Err(Error::Storage(format!(
                "{key}: the bucket holds {} bytes, not {size}",
                stored.size
            )));
        }
    }
    std::fs::remove_file(&path)?;
    Ok((size, there))
}

/// Copies the object to `dir/name` unless a matching file is there, checks it, then
/// removes the object. Returns its size and whether it was already there.
fn to_folder(s3: &S3, dir: &Path, name: &str, listed: &ObjectInfo) -> Result<(u64, bool)> {
    // Some servers leave the ETag out of listings; the object's own head has it.
    let object = &match listed.etag.is_empty() {
        true => s3.head(&listed.key)?.unwrap_or_else(|| listed.clone()),
        false => listed.clone(),
    };
    if object.etag.is_empty() {
        return Err(Error::Storage(format!(
            "{}: the bucket gives no ETag to check a copy against",
            object.key
        )));
    }
    let path = dir.join(name);
    let matches = |p: &Path| -> Result<bool> {
        let (size, etag) = file_etag(p)?;
        // A multipart ETag from another uploader depends on its part size, which is
        // not known: then the size is what can be compared (and every byte counted).
        Ok(size == object.size && (etag == object.etag || object.etag.contains('-')))
    };
    let there = path.is_file() && matches(&path)?;
    if !there {
        std::fs::create_dir_all(dir)?;
        let tmp = dir.join(format!("{PARTIAL}{}", new_name("part")?));
        let copied = download(s3, &object.key, &tmp).and_then(|()| {
            if matches(&tmp)? {
                Ok(())
            } else {
                Err(Error::Storage(format!(
                    "{}: the copy does not match the object's size and ETag",
                    object.key
                )))
            }
        });
        if let Err(e) = copied.and_then(|()| Ok(std::fs::rename(&tmp, &path)?)) {
            let _ = std::fs::remove_file(&tmp);
            return Err(e);
        }
    }
    s3.delete(&object.key)?;
    Ok((object.size, there))
}

/// Writes the object `key` to `path` (synced).
fn download(s3: &S3, key: &str, path: &Path) -> Result<()> {
    let got = s3
        .get(key, None)?
        .ok_or_else(|| Error::Storage(format!("{key}: the object went away")))?;
    let mut file = BufWriter::with_capacity(256 * 1024, File::create_new(path)?);
    let mut reader = Hashing::new(got.reader);
    std::io::copy(&mut reader, &mut file)?;
    let file = file.into_inner().map_err(|e| e.into_error())?;
    file.sync_all()?;
    let (_, n) = reader.finish();
    if got.len.is_some_and(|len| len != n) {
        return Err(Error::Storage(format!(
            "{key}: {n} bytes arrived of {}",
            got.len.unwrap_or(0)
        )));
    }
    Ok(())
}
