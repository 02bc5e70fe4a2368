//! The remote media cache behind `GET /media/proxy?url=…&sig=…`: avatars, headers,
//! emoji and attachments of remote accounts and posts, served to apps and the web UI
//! from kith's own origin. The URL must carry kith's MAC (`views::proxied` makes it),
//! so kith fetches only what it linked to itself. A file is fetched on first use
//! through the guarded fetcher with the caps of SECURITY.md #46, sniffed (its bytes,
//! not its Content-Type, decide its type, from a strict allow-list), its declared
//! dimensions checked for images (the header only: nothing is decoded), stored under
//! `cache/` (in `data_dir` or the bucket) by a name kith chooses, and the least recently used files are
//! evicted beyond `[media] cache_max_mb`. No database lock is held while fetching.

use super::{file_response, sniff, stored_response, valid_name};
use crate::ctx::Ctx;
use crate::db::{self, media::Cached};
use crate::error::{Error, Result};
use crate::http::{Req, Resp};
use crate::storage::Area;

/// The largest remote media file fetched.
pub const REMOTE_MAX_BYTES: u64 = 40 * 1024 * 1024;
/// The largest remote custom emoji fetched (`kind=emoji`).
pub const EMOJI_MAX_BYTES: u64 = 100 * 1024;
/// A cached file's last use is written at most this often (ms).
const TOUCH_EVERY_MS: i64 = 60_000;

/// The budget of the cache in bytes.
pub fn budget(ctx: &Ctx) -> u64 {
    ctx.config.media.cache_max_mb.saturating_mul(1024 * 1024)
}

/// `GET /media/proxy`: checks the MAC, then serves the file from the cache or fetches it.
pub fn serve(ctx: &Ctx, req: &Req) -> Result<Resp> {
    let url = req.query_param("url").unwrap_or_default();
    let sig = req.query_param("sig").unwrap_or_default();
    if url.is_empty() || !ctx.mac_ok(&format!("proxy:{url}"), &sig) {
        return Err(Error::Forbidden("Invalid signature".into()));
    }
    let key = crate::keys::sha256_hex(url.as_bytes());
    if let Some(resp) = from_cache(ctx, req, &key)? {
        return Ok(resp);
    }
    let cap = if req.query_param("kind").as_deref() == Some("emoji") {
        EMOJI_MAX_BYTES
    } else {
        REMOTE_MAX_BYTES
    };
    let fetched = ctx.fetcher.get_media(&url, cap)?;
    let kind = check(&fetched.body, &fetched.content_type)?;
    if let Err(e) = store(ctx, &key, &url, kind, &fetched.body) {
        eprintln!("media cache: cannot store {url}: {e}");
    }
    Ok(file_response(req, kind.media_type, fetched.body))
}

/// The type of fetched bytes, if kith serves such files: sniffed, on the allow-list,
/// and for images within the pixel cap and the decoding budget (read from the header;
/// a GIF's frames counted against their caps).
pub fn check(bytes: &[u8], declared: &str) -> Result<sniff::Sniffed> {
    let unsupported = || Error::Status(415, "Unsupported media type".into());
    let kind = sniff::sniff(bytes, Some(declared)).ok_or_else(unsupported)?;
    if sniff::is_decodable_image(kind) {
        let (w, h) = super::image::dimensions(bytes, kind).map_err(|_| unsupported())?;
        super::image::check_pixels(w, h).map_err(|_| unsupported())?;
        if kind == sniff::GIF {
            super::strip::gif(bytes, &mut std::io::sink()).map_err(|_| unsupported())?;
        }
    }
    Ok(kind)
}

/// The cached copy under `key`, answered (and its last use recorded now and then);
/// None when there is none, or its file is gone (the entry is then dropped).
fn from_cache(ctx: &Ctx, req: &Req, key: &str) -> Result<Option<Resp>> {
    let Some(entry) = ctx.db.read(|c| db::media::find_cached(c, key))? else {
        return Ok(None);
    };
    let resp = if valid_name(&entry.file_name) && sniff::allowed(&entry.media_type) {
        stored_response(ctx, req, Area::Cache, &entry.file_name, &entry.media_type)?
    } else {
        None
    };
    let Some(resp) = resp else {
        ctx.db.write(|tx| db::media::delete_cached(tx, key))?;
        return Ok(None);
    };
    let now = db::now_ms();
    if now - entry.last_used_at >= TOUCH_EVERY_MS {
        ctx.db.write(|tx| db::media::touch_cached(tx, key, now))?;
    }
    Ok(Some(resp))
}

/// Stores a fetched file and evicts beyond the budget. Files larger than the whole
/// budget are served but not kept.
pub fn store(ctx: &Ctx, key: &str, url: &str, kind: sniff::Sniffed, bytes: &[u8]) -> Result<()> {
    let budget = budget(ctx);
    if bytes.len() as u64 > budget {
        return Ok(());
    }
    let file_name = ctx
        .storage
        .write_new(Area::Cache, bytes, kind.ext, kind.media_type)?;
    let entry = Cached {
        url_sha256: key.to_string(),
        url: url.to_string(),
        file_name: file_name.clone(),
        media_type: kind.media_type.to_string(),
        size: bytes.len() as i64,
        last_used_at: db::now_ms(),
    };
    match ctx.db.write(|tx| db::media::insert_cached(tx, &entry)) {
        Ok(true) => {}
        Ok(false) => ctx.storage.remove(Area::Cache, &[&file_name]),
        Err(e) => {
            ctx.storage.remove(Area::Cache, &[&file_name]);
            return Err(e);
        }
    }
    evict(ctx, budget)?;
    Ok(())
}

/// Removes the least recently used files until the cache holds at most `budget`
/// bytes; returns how many went.
pub fn evict(ctx: &Ctx, budget: u64) -> Result<usize> {
    let mut removed = 0;
    loop {
        let (total, oldest) = ctx.db.read(|c| {
            Ok((
                db::media::cached_total(c)?,
                db::media::list_cached_lru(c, 32)?,
            ))
        })?;
        let mut over = total - budget.min(i64::MAX as u64) as i64;
        if over <= 0 || oldest.is_empty() {
            return Ok(removed);
        }
        for entry in oldest {
            if over <= 0 {
                break;
            }
            ctx.db
                .write(|tx| db::media::delete_cached(tx, &entry.url_sha256))?;
            ctx.storage.remove(Area::Cache, &[&entry.file_name]);
            over -= entry.size;
            removed += 1;
        }
    }
}

/// Removes the cached copies of these remote URLs, if any (their posts are gone).
pub fn forget(ctx: &Ctx, urls: &[String]) -> Result<usize> {
    let mut removed = 0;
    for url in urls {
        let key = crate::keys::sha256_hex(url.as_bytes());
        let Some(entry) = ctx.db.read(|c| db::media::find_cached(c, &key))? else {
            continue;
        };
        ctx.db.write(|tx| db::media::delete_cached(tx, &key))?;
        ctx.storage.remove(Area::Cache, &[&entry.file_name]);
        removed += 1;
    }
    Ok(removed)
}

/// The URL kith serves a remote image or file at (through its media cache).
pub fn proxied(ctx: &Ctx, remote: &str) -> String {
    let sig = ctx.mac(&format!("proxy:{remote}"));
    let mut url = format!("{}/media/proxy?url=", ctx.config.public_url);
    url.extend(url::form_urlencoded::byte_serialize(remote.as_bytes()));
    format!("{url}&sig={sig}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_sniffed_allowed_types_pass() {
        assert_eq!(check(b"<svg/>", "image/svg+xml").unwrap_err().status(), 415);
        assert_eq!(
            check(b"<html><script>", "image/png").unwrap_err().status(),
            415
        );
        assert_eq!(
            check(b"OggS\0\x02rest", "application/octet-stream").unwrap(),
            sniff::OGG
        );
        // A PNG header claiming 100000×100000 pixels.
        let mut png = b"\x89PNG\r\n\x1a\n\0\0\0\x0dIHDR".to_vec();
        png.extend(100_000u32.to_be_bytes());
        png.extend(100_000u32.to_be_bytes());
        png.extend([8, 2, 0, 0, 0, 0, 0, 0, 0]);
        assert_eq!(check(&png, "image/png").unwrap_err().status(), 415);
    }
}
