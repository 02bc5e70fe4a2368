//! Media files: serving them at `/media/<name>` with their recorded type and strict
//! headers (from the local folder, or the bucket by redirect or passed on), and
//! removing uploads nobody attached. Where files live, their names and writing them
//! atomically are `storage`'s.
//! Storing an upload (from memory or from a file: sniffed, processed, stripped of
//! metadata) is in `store`, image processing in `image` (within the memory
//! `budget`), magic-byte sniffing in `sniff`, metadata removal without decoding in
//! `strip`, the remote media cache in `cache`, moving files between the folder and
//! the bucket in `migrate`.
//!
//! Invariant (SECURITY #45): no path or extension ever comes from the uploader or a
//! remote server. Names are 32 random hex digits and an extension from kith's own
//! allow-list, and every name from a URL is checked against that shape before it
//! touches the file system.

pub mod budget;
pub mod cache;
pub mod image;
pub mod migrate;
pub mod sniff;
pub mod store;
pub mod strip;

pub use store::{
    AVATAR_MAX, HEADER_MAX, IMAGE_MAX_BYTES, profile_image, read_image_file, save_profile_image,
    store_file, store_profile_image, store_upload,
};

use crate::ctx::Ctx;
use crate::db;
use crate::db::account::Account;
use crate::error::{Error, Result};
use crate::http::{Req, Resp};
use crate::storage::{self, Area, Located};
use std::fs::File;
use std::io::{Seek, SeekFrom};
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

/// Whether `name` has the shape of a name kith gives files: 32 of `[a-z0-9]`, a dot,
/// and a known extension. Nothing else reaches the file system or the bucket.
pub fn valid_name(name: &str) -> bool {
    storage::valid_name(name)
        && name
            .split_once('.')
            .is_some_and(|(_, ext)| sniff::known_ext(ext))
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
    stored_response(ctx, req, Area::Uploads, name, &media_type)?.ok_or_else(not_found)
}

/// The answer for a stored file, wherever it is: a local file read as it is sent
/// (one byte range when asked), a redirect to the bucket, or the bucket's object
/// passed on. None when the file is nowhere.
pub fn stored_response(
    ctx: &Ctx,
    req: &Req,
    area: Area,
    name: &str,
    media_type: &str,
) -> Result<Option<Resp>> {
    let mut located = ctx.storage.locate(area, name)?;
    if let Some(Located::File(path)) = &located
        && !path.is_file()
    {
        // Moved to the bucket since it was found (`kith storage migrate`).
        located = ctx.storage.locate_in_bucket(area, name);
    }
    let resp = match located {
        None => return Ok(None),
        Some(Located::File(path)) => match File::open(&path) {
            Ok(file) => file_answer(req, file, media_type)?,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(e.into()),
        },
        Some(Located::Object {
            redirect: Some(url),
            ..
        }) => {
            // The address of a presigned URL expires; a public one does not change.
            return Ok(Some(
                Resp::empty(302)
                    .with_header("Location", &url)
                    .with_header("Cache-Control", "public, max-age=600")
                    .with_header("Access-Control-Allow-Origin", "*"),
            ));
        }
        Some(Located::Object {
            key,
            redirect: None,
        }) => {
            let Some(bucket) = ctx.storage.bucket() else {
                return Ok(None);
            };
            // Only a range kith would honour itself is passed on; others are ignored.
            let range = req
                .header("range")
                .filter(|r| byte_range(r, u64::MAX).is_some());
            let Some(got) = bucket.get(&key, range)? else {
                return Ok(None);
            };
            let mut resp = Resp::reader(got.status, media_type, got.reader, got.len.unwrap_or(0));
            if let Some(range) = got.content_range {
                resp = resp.with_header("Content-Range", &range);
            }
            resp
        }
    };
    Ok(Some(with_file_headers(resp)))
}

/// A local file read as it is sent: whole, or the one byte range asked for.
fn file_answer(req: &Req, mut file: File, media_type: &str) -> Result<Resp> {
    let total = file.metadata()?.len();
    Ok(
        match req.header("range").and_then(|r| byte_range(r, total)) {
            Some(Ok((start, end))) => {
                file.seek(SeekFrom::Start(start))?;
                Resp::reader(206, media_type, Box::new(file), end - start + 1)
                    .with_header("Content-Range", &format!("bytes {start}-{end}/{total}"))
            }
            Some(Err(())) => {
                Resp::empty(416).with_header("Content-Range", &format!("bytes */{total}"))
            }
            None => Resp::reader(200, media_type, Box::new(file), total),
        },
    )
}

/// A media file answer: the recorded type, the strict headers, and one byte range
/// when asked (Safari plays video only from servers that honour ranges).
pub fn file_response(req: &Req, media_type: &str, bytes: Vec<u8>) -> Resp {
    let total = bytes.len() as u64;
    let resp = match req.header("range").and_then(|r| byte_range(r, total)) {
        Some(Ok((start, end))) => Resp::bytes(
            206,
            media_type,
            bytes[start as usize..=end as usize].to_vec(),
        )
        .with_header("Content-Range", &format!("bytes {start}-{end}/{total}")),
        Some(Err(())) => Resp::empty(416).with_header("Content-Range", &format!("bytes */{total}")),
        None => Resp::bytes(200, media_type, bytes),
    };
    with_file_headers(resp)
}

/// Adds [`FILE_HEADERS`] to a media answer.
fn with_file_headers(mut resp: Resp) -> Resp {
    for (name, value) in FILE_HEADERS {
        resp = resp.with_header(name, value);
    }
    resp
}

/// Parses a single `bytes=a-b` range: None to ignore the header (send everything),
/// `Some(Err)` when it cannot be satisfied.
fn byte_range(header: &str, total: u64) -> Option<std::result::Result<(u64, u64), ()>> {
    let spec = header.trim().strip_prefix("bytes=")?;
    if spec.contains(',') {
        return None;
    }
    let (a, b) = spec.split_once('-')?;
    let (a, b) = (a.trim(), b.trim());
    let range = if a.is_empty() {
        let n: u64 = b.parse().ok()?;
        if n == 0 {
            return Some(Err(()));
        }
        (total.saturating_sub(n), total.checked_sub(1)?)
    } else {
        let start: u64 = a.parse().ok()?;
        let end = if b.is_empty() {
            total.saturating_sub(1)
        } else {
            let last: u64 = b.parse().ok()?;
            if last < start {
                // Not a valid range at all: ignored, as RFC 9110 asks.
                return None;
            }
            last.min(total.saturating_sub(1))
        };
        if start >= total {
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
    for m in &stale {
        ctx.db.write(|tx| db::media::delete(tx, m.id))?;
        let mut names = vec![m.file_name.as_str()];
        names.extend(m.thumb_name.as_deref());
        ctx.storage.remove(Area::Uploads, &names);
    }
    for area in Area::ALL {
        storage::remove_stale_partials(&ctx.storage.local_dir(area));
    }
    Ok(stale.len())
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
        let name = storage::new_name("jpg").unwrap();
        assert!(valid_name(&name), "{name}");
        assert_ne!(name, storage::new_name("jpg").unwrap());
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
        assert_eq!(byte_range("bytes=10-20", 10), Some(Err(())));
        assert_eq!(byte_range("bytes=5-3", 10), None);
        assert_eq!(byte_range("bytes=0-1,4-5", 10), None);
        assert_eq!(byte_range("items=0-1", 10), None);
    }
}
