//! Storing an upload, one implementation for both ways a file arrives: bytes in memory
//! (a file sent to the client API or the web form) and a file on disk (the media,
//! avatar and header of an imported archive). The type comes from the first bytes
//! (`sniff`); a JPEG, PNG, GIF or WebP is read whole (at most [`IMAGE_MAX_BYTES`]) and
//! processed one at a time (`image`: pixel cap, upright, metadata stripped, thumbnail,
//! blurhash); video and audio are streamed to disk through a small buffer, MP4-family
//! metadata boxes blanked on the way (`strip`), so a large file on disk is never read
//! whole. Files are written under a temporary name and then renamed or sent to the
//! bucket (`storage::NewFile`); nothing stays under a final name on failure. A refusal (unknown type, too large, corrupt) is a 422
//! whose message says why; any other error is the disk's or the database's.

use super::{image, sniff, strip};
use crate::ctx::Ctx;
use crate::db::{self, media::Media};
use crate::error::{Error, Result};
use crate::storage::Area;
use std::fs::File;
use std::io::{BufReader, Cursor, Read, Seek, Write};
use std::path::Path;

/// The largest image upload (Mastodon's `image_size_limit`, which kith announces).
pub const IMAGE_MAX_BYTES: usize = 16 * 1024 * 1024;
/// The longest side of an avatar.
pub const AVATAR_MAX: u32 = 400;
/// The longest side of a header image.
pub const HEADER_MAX: u32 = 1500;

/// Where the file to store is.
#[derive(Clone, Copy)]
enum Source<'a> {
    Bytes(&'a [u8]),
    File(&'a Path),
}

/// Stores an uploaded file in the uploads (`storage`): images are processed (upright, without
/// metadata, with a thumbnail and blurhash), video and audio are kept as uploaded
/// after sniffing (MP4 metadata boxes blanked). Returns the row to insert (id,
/// description and focus left for the caller). Nothing stays on disk on failure.
pub fn store_upload(ctx: &Ctx, bytes: &[u8], declared: Option<&str>) -> Result<Media> {
    store(ctx, Source::Bytes(bytes), declared)
}

/// Stores the file at `path` exactly as [`store_upload`] stores an upload of its bytes,
/// streaming video and audio; a file over `limits.upload_max_bytes` is refused as an
/// upload that large would be.
pub fn store_file(ctx: &Ctx, path: &Path, declared: Option<&str>) -> Result<Media> {
    let size = std::fs::metadata(path)?.len();
    let max = ctx.config.limits.upload_max_bytes;
    if size > max {
        return Err(Error::Unprocessable(format!(
            "Validation failed: the file is {size} bytes, more than the {max} of limits.upload_max_bytes"
        )));
    }
    store(ctx, Source::File(path), declared)
}

fn store(ctx: &Ctx, source: Source, declared: Option<&str>) -> Result<Media> {
    let mut buf = [0u8; sniff::HEAD_LEN];
    let head = match source {
        Source::Bytes(b) => &b[..b.len().min(sniff::HEAD_LEN)],
        Source::File(path) => {
            let n = read_up_to(&mut File::open(path)?, &mut buf)?;
            &buf[..n]
        }
    };
    let kind = sniff::sniff(head, declared)
        .filter(|k| sniff::uploadable().any(|u| u == *k))
        .ok_or_else(unsupported)?;
    if sniff::is_decodable_image(kind) {
        return match source {
            Source::Bytes(bytes) => store_image(ctx, bytes, kind),
            Source::File(path) => store_image(ctx, &read_image_file(path)?, kind),
        };
    }
    let mut file = ctx.storage.create(Area::Uploads)?;
    let size = match source {
        Source::Bytes(bytes) => copy_stripped(
            &mut Cursor::new(bytes),
            bytes.len() as u64,
            kind,
            file.writer(),
        )?,
        Source::File(path) => {
            let input = File::open(path)?;
            let len = input.metadata()?.len();
            let mut input = BufReader::with_capacity(64 * 1024, input);
            copy_stripped(&mut input, len, kind, file.writer())?
        }
    };
    let file_name = file.commit(kind.ext, kind.media_type)?;
    Ok(Media {
        file_name,
        media_type: kind.media_type.into(),
        kind: super::kind_of(kind.media_type).into(),
        size: size as i64,
        created_at: db::now_ms(),
        purpose: db::media::ATTACHMENT.into(),
        ..Media::default()
    })
}

/// Copies video or audio of `len` bytes to `out`, MP4-family metadata boxes blanked.
fn copy_stripped<R: Read + Seek>(
    input: &mut R,
    len: u64,
    kind: sniff::Sniffed,
    out: &mut dyn Write,
) -> Result<u64> {
    if [sniff::MP4, sniff::MOV, sniff::M4A].contains(&kind) {
        strip::mp4(input, len, out)?;
    } else {
        let copied = std::io::copy(&mut input.take(len), out)?;
        if copied != len {
            return Err(Error::Unprocessable(
                "Validation failed: the file changed while it was read".into(),
            ));
        }
    }
    Ok(len)
}

/// Processes an image and writes it and its thumbnail.
fn store_image(ctx: &Ctx, bytes: &[u8], kind: sniff::Sniffed) -> Result<Media> {
    if bytes.len() > IMAGE_MAX_BYTES {
        return Err(image_too_large("images"));
    }
    let mut file = ctx.storage.create(Area::Uploads)?;
    let processed = image::process(bytes, kind, file.writer())?;
    file.writer().flush()?;
    let size = file.writer().get_ref().metadata()?.len() as i64;
    let thumb = processed.thumb.kind;
    let thumb_name = ctx.storage.write_new(
        Area::Uploads,
        &processed.thumb.bytes,
        thumb.ext,
        thumb.media_type,
    )?;
    let file_name = match file.commit(processed.kind.ext, processed.kind.media_type) {
        Ok(name) => name,
        Err(e) => {
            ctx.storage.remove(Area::Uploads, &[&thumb_name]);
            return Err(e);
        }
    };
    Ok(Media {
        file_name,
        thumb_name: Some(thumb_name),
        thumb_media_type: Some(processed.thumb.kind.media_type.into()),
        media_type: processed.kind.media_type.into(),
        kind: "image".into(),
        blurhash: processed.blurhash,
        width: Some(i64::from(processed.width)),
        height: Some(i64::from(processed.height)),
        size,
        created_at: db::now_ms(),
        purpose: db::media::ATTACHMENT.into(),
        ..Media::default()
    })
}

/// Reads an image file whole, refusing one over [`IMAGE_MAX_BYTES`] before reading it.
pub fn read_image_file(path: &Path) -> Result<Vec<u8>> {
    let file = File::open(path)?;
    if file.metadata()?.len() > IMAGE_MAX_BYTES as u64 {
        return Err(image_too_large("images"));
    }
    let mut bytes = Vec::new();
    file.take(IMAGE_MAX_BYTES as u64 + 1)
        .read_to_end(&mut bytes)?;
    Ok(bytes)
}

/// Reads as much of `buf` as the input has; returns how many bytes.
pub(crate) fn read_up_to(input: &mut impl Read, buf: &mut [u8]) -> Result<usize> {
    let mut n = 0;
    while n < buf.len() {
        match input.read(&mut buf[n..])? {
            0 => break,
            k => n += k,
        }
    }
    Ok(n)
}

fn image_too_large(what: &str) -> Error {
    Error::Unprocessable(format!(
        "Validation failed: {what} must be smaller than {} MB",
        IMAGE_MAX_BYTES >> 20
    ))
}

fn unsupported() -> Error {
    Error::Unprocessable("Validation failed: File content type is not supported (JPEG, PNG, GIF, WebP, MP4, MOV, WebM, MP3, M4A, AAC, Ogg, WAV, FLAC)".into(),
    )
}

/// An avatar (`which` = "avatar") or header image, processed and shrunk to its largest
/// size, not yet stored.
pub fn profile_image(bytes: &[u8], which: &str) -> Result<image::Encoded> {
    let max = if which == "avatar" {
        AVATAR_MAX
    } else {
        HEADER_MAX
    };
    let kind = sniff::sniff(bytes, None)
        .filter(|k| sniff::is_decodable_image(*k))
        .ok_or_else(|| {
            Error::Unprocessable(format!(
                "Validation failed: {which} must be a JPEG, PNG, GIF or WebP image"
            ))
        })?;
    if bytes.len() > IMAGE_MAX_BYTES {
        return Err(Error::Unprocessable(format!(
            "Validation failed: {which} is too large"
        )));
    }
    image::profile(bytes, kind, max)
}

/// Writes a processed avatar or header and records it; returns the file name.
pub fn save_profile_image(ctx: &Ctx, encoded: &image::Encoded, which: &str) -> Result<String> {
    let kind = encoded.kind;
    let file_name =
        ctx.storage
            .write_new(Area::Uploads, &encoded.bytes, kind.ext, kind.media_type)?;
    let now = db::now_ms();
    let row = Media {
        id: crate::ids::at(now),
        file_name: file_name.clone(),
        media_type: encoded.kind.media_type.into(),
        kind: "image".into(),
        width: Some(i64::from(encoded.width)),
        height: Some(i64::from(encoded.height)),
        size: encoded.bytes.len() as i64,
        created_at: now,
        purpose: which.into(),
        ..Media::default()
    };
    if let Err(e) = ctx.db.write(|tx| db::media::insert(tx, &row)) {
        ctx.storage.remove(Area::Uploads, &[&file_name]);
        return Err(e);
    }
    Ok(file_name)
}

/// Stores an avatar (`which` = "avatar") or header image, shrunk to its largest size,
/// and records it; returns the file name.
pub fn store_profile_image(ctx: &Ctx, bytes: &[u8], which: &str) -> Result<String> {
    save_profile_image(ctx, &profile_image(bytes, which)?, which)
}
