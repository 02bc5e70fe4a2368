//! Media files: where uploads and the remote cache live under `data_dir`, the names
//! kith gives them, files written atomically, serving files at `/media/<name>` with
//! their recorded type and strict headers, and removing uploads nobody attached.
//! Storing an upload (from memory or from a file: sniffed, processed, stripped of
//! metadata) is in `store`, image processing in `image` (within the memory
//! `budget`), magic-byte sniffing in `sniff`, metadata removal without decoding in
//! `strip`, the remote media cache in `cache`.
//!
//! Invariant (SECURITY #45): no path or extension ever comes from the uploader or a
//! remote server. Names are 32 random hex digits and an extension from kith's own
//! allow-list, and every name from a URL is checked against that shape before it
//! touches the file system.

pub mod budget;
pub mod cache;
pub mod image;
pub mod sniff;
pub mod store;
pub mod strip;

pub use store::{
    AVATAR_MAX, HEADER_MAX, IMAGE_MAX_BYTES, profile_image, read_image_file, save_profile_image,
    store_file, store_profile_image, store_upload,
};

use crate::config::Config;
use crate::ctx::Ctx;
use crate::db;
use crate::db::account::Account;
use crate::error::{Error, Result};
use crate::http::{Req, Resp};
use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicI64, Ordering};

/// Unattached uploads older than this are removed.
pub const UNATTACHED_TTL_MS: i64 = 24 * 3600 * 1000;
/// How often the workers run [`cleanup`].
const CLEANUP_EVERY_MS: i64 = 3600 * 1000;
/// Headers on every media file: cached for a year (names never change), never sniffed,
/// and sandboxed if opened directly.
pub const FILE_HEADERS: &[(&str, &str)] = &[
    ("Cache-Control", "public, max-age=31536000, immutable"),
    ("X-Content-Type-Options", "nosniff"),
    ("Content-Security-Policy", "default-src 'none'; sandbox"),
    ("Access-Control-Allow-Origin", "*"),
    ("Accept-Ranges", "bytes"),
];

/// The directory of uploaded media.
pub fn media_dir(ctx: &Ctx) -> PathBuf {
    uploads_dir(&ctx.config)
}

/// The directory of uploaded media under this configuration's `data_dir` (for the
/// commands that have a configuration and no running context).
pub fn uploads_dir(config: &Config) -> PathBuf {
    config.data_dir.join("media")
}

/// The directory of the remote media cache.
pub fn cache_dir(ctx: &Ctx) -> PathBuf {
    ctx.config.data_dir.join("cache")
}

/// The public URL of an uploaded file (a name kith chose).
pub fn local_url(ctx: &Ctx, file_name: &str) -> String {
    format!("{}/media/{file_name}", ctx.config.public_url)
}

/// The account's avatar URL: the uploaded one, or the built-in placeholder.
pub fn avatar_url(ctx: &Ctx, account: &Account) -> String {
    match &account.avatar_path {
        Some(name) => local_url(ctx, name),
        None => format!(
            "{}{}",
            ctx.config.public_url,
            crate::assets::url("avatar.png")
        ),
    }
}

/// The account's header URL: the uploaded one, or the built-in placeholder.
pub fn header_url(ctx: &Ctx, account: &Account) -> String {
    match &account.header_path {
        Some(name) => local_url(ctx, name),
        None => format!(
            "{}{}",
            ctx.config.public_url,
            crate::assets::url("header.png")
        ),
    }
}

/// Length of the random part of a file name, in hex digits.
const NAME_LEN: usize = 32;

/// Whether `name` has the shape of a name kith gives files: 32 of `[a-z0-9]`, a dot,
/// and a known extension. Nothing else reaches the file system.
pub fn valid_name(name: &str) -> bool {
    let Some((stem, ext)) = name.split_once('.') else {
        return false;
    };
    stem.len() == NAME_LEN
        && stem
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
        && sniff::known_ext(ext)
}

/// A fresh random file name with this extension.
pub fn new_name(ext: &str) -> Result<String> {
    let stem: String = crate::keys::random_bytes(NAME_LEN / 2)?
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    Ok(format!("{stem}.{ext}"))
}

/// A file being written under a temporary name; it takes its final name on
/// [`NewFile::commit`], and is removed if dropped before.
pub struct NewFile {
    dir: PathBuf,
    tmp: PathBuf,
    writer: Option<BufWriter<File>>,
}

impl NewFile {
    /// Creates a temporary file in `dir` (creating the directory if needed).
    pub fn create(dir: &Path) -> Result<NewFile> {
        std::fs::create_dir_all(dir)?;
        let tmp = dir.join(format!(".tmp-{}", new_name("part")?));
        let file = File::create_new(&tmp)?;
        Ok(NewFile {
            dir: dir.to_path_buf(),
            tmp,
            writer: Some(BufWriter::with_capacity(64 * 1024, file)),
        })
    }

    /// The writer of the file's content.
    pub fn writer(&mut self) -> &mut BufWriter<File> {
        self.writer
            .as_mut()
            .expect("a NewFile is written before commit")
    }

    /// Flushes, syncs and renames the file to a fresh name with `ext`; returns the name.
    pub fn commit(mut self, ext: &str) -> Result<String> {
        let writer = self.writer.take().expect("committed once");
        let file = writer.into_inner().map_err(|e| e.into_error())?;
        file.sync_all()?;
        let name = new_name(ext)?;
        std::fs::rename(&self.tmp, self.dir.join(&name))?;
        Ok(name)
    }
}

impl Drop for NewFile {
    fn drop(&mut self) {
        if self.writer.take().is_some() {
            let _ = std::fs::remove_file(&self.tmp);
        }
    }
}

/// Writes `bytes` as a new file in `dir` named with `ext`; returns the name.
pub fn write_new(dir: &Path, bytes: &[u8], ext: &str) -> Result<String> {
    let mut file = NewFile::create(dir)?;
    file.writer().write_all(bytes)?;
    file.commit(ext)
}

/// Removes files kith named from `dir` (missing files are fine).
pub fn remove_files(dir: &Path, names: &[&str]) {
    for name in names.iter().filter(|n| valid_name(n)) {
        match std::fs::remove_file(dir.join(name)) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => eprintln!("media: cannot remove {name}: {e}"),
        }
    }
}

/// The MediaAttachment `type` of a media type. A GIF is an `image`: kith serves GIFs as
/// they are, and `gifv` (Mastodon's GIFs turned into MP4) makes apps use a video player.
pub fn kind_of(media_type: &str) -> &'static str {
    match media_type.split('/').next().unwrap_or("") {
        "image" => "image",
        "video" => "video",
        "audio" => "audio",
        _ => "unknown",
    }
}

/// `GET /media/<name>`: an uploaded file with the type kith recorded for it.
pub fn serve(ctx: &Ctx, req: &Req, name: &str) -> Result<Resp> {
    let not_found = || Error::NotFound("No such file".into());
    if !valid_name(name) {
        return Err(not_found());
    }
    let media_type = ctx
        .db
        .read(|c| db::media::find_file_type(c, name))?
        .filter(|t| sniff::allowed(t))
        .ok_or_else(not_found)?;
    let bytes = match std::fs::read(media_dir(ctx).join(name)) {
        Ok(b) => b,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Err(not_found()),
        Err(e) => return Err(e.into()),
    };
    Ok(file_response(req, &media_type, bytes))
}

/// A media file answer: the recorded type, the strict headers, and one byte range
/// when asked (Safari plays video only from servers that honour ranges).
pub fn file_response(req: &Req, media_type: &str, bytes: Vec<u8>) -> Resp {
    let total = bytes.len();
    let mut resp = match req.header("range").and_then(|r| byte_range(r, total)) {
        Some(Ok((start, end))) => Resp::bytes(206, media_type, bytes[start..=end].to_vec())
            .with_header("Content-Range", &format!("bytes {start}-{end}/{total}")),
        Some(Err(())) => Resp::empty(416).with_header("Content-Range", &format!("bytes */{total}")),
        None => Resp::bytes(200, media_type, bytes),
    };
    for (name, value) in FILE_HEADERS {
        resp = resp.with_header(name, value);
    }
    resp
}

/// Parses a single `bytes=a-b` range: None to ignore the header (send everything),
/// `Some(Err)` when it cannot be satisfied.
fn byte_range(header: &str, total: usize) -> Option<std::result::Result<(usize, usize), ()>> {
    let spec = header.trim().strip_prefix("bytes=")?;
    if spec.contains(',') {
        return None;
    }
    let (a, b) = spec.split_once('-')?;
    let (a, b) = (a.trim(), b.trim());
    let range = if a.is_empty() {
        let n: usize = b.parse().ok()?;
        if n == 0 {
            return Some(Err(()));
        }
        (total.saturating_sub(n), total.checked_sub(1)?)
    } else {
        let start: usize = a.parse().ok()?;
        let end = if b.is_empty() {
            total.saturating_sub(1)
        } else {
            b.parse::<usize>().ok()?.min(total.saturating_sub(1))
        };
        if start >= total || end < start {
            return Some(Err(()));
        }
        (start, end)
    };
    Some(Ok(range))
}

/// Removes uploads left unattached for a day and profile images no longer shown, with
/// their files. Returns how many rows went.
pub fn cleanup(ctx: &Ctx, now: i64) -> Result<usize> {
    let before = now - UNATTACHED_TTL_MS;
    let stale = ctx.db.read(|c| {
        let mut list = db::media::list_unattached(c, before)?;
        list.extend(db::media::list_unused_profile_images(c, before)?);
        Ok(list)
    })?;
    let dir = media_dir(ctx);
    for m in &stale {
        ctx.db.write(|tx| db::media::delete(tx, m.id))?;
        let mut names = vec![m.file_name.as_str()];
        names.extend(m.thumb_name.as_deref());
        remove_files(&dir, &names);
    }
    remove_stale_partials(&dir);
    remove_stale_partials(&cache_dir(ctx));
    Ok(stale.len())
}

/// Removes temporary files an interrupted write left behind (older than an hour).
fn remove_stale_partials(dir: &Path) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    let hour = std::time::Duration::from_secs(3600);
    for entry in entries.flatten() {
        let name = entry.file_name();
        let old = entry
            .metadata()
            .and_then(|m| m.modified())
            .is_ok_and(|t| t.elapsed().is_ok_and(|age| age > hour));
        if name.to_string_lossy().starts_with(".tmp-") && old {
            let _ = std::fs::remove_file(entry.path());
        }
    }
}

/// When the last [`cleanup`] ran in this process (ms).
static LAST_CLEANUP: AtomicI64 = AtomicI64::new(0);

/// Runs [`cleanup`] if an hour has passed since the last run; for a worker's idle step.
pub fn cleanup_if_due(ctx: &Ctx) {
    let now = db::now_ms();
    let last = LAST_CLEANUP.load(Ordering::Relaxed);
    if now - last < CLEANUP_EVERY_MS
        || LAST_CLEANUP
            .compare_exchange(last, now, Ordering::Relaxed, Ordering::Relaxed)
            .is_err()
    {
        return;
    }
    if let Err(e) = cleanup(ctx, now) {
        eprintln!("media cleanup: {e}");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_kith_shaped_names_are_valid() {
        let name = new_name("jpg").unwrap();
        assert!(valid_name(&name), "{name}");
        assert_ne!(name, new_name("jpg").unwrap());
        let stem = "0123456789abcdef0123456789abcdef";
        assert!(valid_name(&format!("{stem}.png")));
        for bad in [
            format!("{stem}.html"),
            format!("{stem}.png.exe"),
            format!("../{stem}.png"),
            format!("{}.png", &stem[1..]),
            format!("{}.png", stem.to_uppercase()),
            stem.to_string(),
            ".png".into(),
            format!("{}/.png", &stem[1..]),
        ] {
            assert!(!valid_name(&bad), "{bad}");
        }
    }

    #[test]
    fn byte_ranges() {
        assert_eq!(byte_range("bytes=0-1", 10), Some(Ok((0, 1))));
        assert_eq!(byte_range("bytes=5-", 10), Some(Ok((5, 9))));
        assert_eq!(byte_range("bytes=-3", 10), Some(Ok((7, 9))));
        assert_eq!(byte_range("bytes=8-100", 10), Some(Ok((8, 9))));
        assert_eq!(byte_range("bytes=10-", 10), Some(Err(())));
        assert_eq!(byte_range("bytes=0-1,4-5", 10), None);
        assert_eq!(byte_range("items=0-1", 10), None);
    }

    #[test]
    fn a_new_file_leaves_nothing_unless_committed() {
        let dir = tempfile::tempdir().unwrap();
        {
            let mut f = NewFile::create(dir.path()).unwrap();
            f.writer().write_all(b"half").unwrap();
        }
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
        let name = write_new(dir.path(), b"whole", "png").unwrap();
        assert_eq!(std::fs::read(dir.path().join(&name)).unwrap(), b"whole");
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
    }
}
