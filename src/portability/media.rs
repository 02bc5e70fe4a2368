//! Media files of an imported archive, stored as the account's uploads under
//! `data_dir/media`. The file's first bytes decide its type (from a short allow-list:
//! JPEG, PNG, GIF, WebP, MP4, WebM, MP3, Ogg); a file of any other type, or whose
//! bytes do not match, is not stored. kith names the file (32 random hex digits and
//! the extension of the sniffed type), never the archive (SECURITY.md 45).
//!
//! For now files are kept as they are in the archive, streamed (a staged file is
//! moved, a file of an unpacked directory copied): memory stays flat however large a
//! video is. When the media branch's `media::store_upload` lands on main, [`store`] is
//! the one function to switch, so imports are re-processed (metadata stripped,
//! thumbnails, blurhash) exactly like uploads.

use super::archive::Entry;
use crate::config::Config;
use crate::error::Result;
use std::io::Read;
use std::path::PathBuf;

/// A stored media file.
#[derive(Debug, Clone, PartialEq)]
pub struct Stored {
    pub file_name: String,
    pub media_type: String,
    /// The MediaAttachment type: image, gifv, video or audio.
    pub kind: String,
    pub size: i64,
}

/// The directory uploads live in.
pub fn media_dir(config: &Config) -> PathBuf {
    config.data_dir.join("media")
}

/// The type, file extension and attachment kind of a file's first bytes, if kith keeps
/// files of that type.
pub fn sniff(head: &[u8]) -> Option<(&'static str, &'static str, &'static str)> {
    let at = |offset: usize, magic: &[u8]| head.get(offset..offset + magic.len()) == Some(magic);
    if at(0, &[0xff, 0xd8, 0xff]) {
        Some(("image/jpeg", "jpg", "image"))
    } else if at(0, b"\x89PNG\r\n\x1a\n") {
        Some(("image/png", "png", "image"))
    } else if at(0, b"GIF87a") || at(0, b"GIF89a") {
        Some(("image/gif", "gif", "image"))
    } else if at(0, b"RIFF") && at(8, b"WEBP") {
        Some(("image/webp", "webp", "image"))
    } else if at(4, b"ftyp") {
        Some(("video/mp4", "mp4", "video"))
    } else if at(0, &[0x1a, 0x45, 0xdf, 0xa3]) {
        Some(("video/webm", "webm", "video"))
    } else if at(0, b"ID3") || at(0, &[0xff, 0xfb]) || at(0, &[0xff, 0xf3]) {
        Some(("audio/mpeg", "mp3", "audio"))
    } else if at(0, b"OggS") {
        Some(("audio/ogg", "ogg", "audio"))
    } else {
        None
    }
}

/// A fresh file name kith chooses: 32 random hex digits and `ext`.
fn new_name(ext: &str) -> Result<String> {
    let stem: String = crate::keys::random_bytes(16)?
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    Ok(format!("{stem}.{ext}"))
}

/// Stores an archive's media file as an upload; `None` when its type is not one kith
/// keeps. The caller records the row (and removes the file if that fails).
pub fn store(config: &Config, entry: &Entry) -> Result<Option<Stored>> {
    let mut head = [0u8; 16];
    let mut file = std::fs::File::open(&entry.path)?;
    let n = read_head(&mut file, &mut head)?;
    let Some((media_type, ext, kind)) = sniff(&head[..n]) else {
        return Ok(None);
    };
    let dir = media_dir(config);
    std::fs::create_dir_all(&dir)?;
    let file_name = new_name(ext)?;
    let target = dir.join(&file_name);
    if entry.staged && std::fs::rename(&entry.path, &target).is_ok() {
        // Moved into place: the staged copy was ours.
    } else {
        let tmp = dir.join(format!(".tmp-{file_name}"));
        std::fs::copy(&entry.path, &tmp)?;
        std::fs::rename(&tmp, &target)?;
    }
    Ok(Some(Stored {
        file_name,
        media_type: media_type.to_string(),
        kind: kind.to_string(),
        size: entry.size as i64,
    }))
}

fn read_head(file: &mut std::fs::File, head: &mut [u8]) -> Result<usize> {
    let mut n = 0;
    while n < head.len() {
        match file.read(&mut head[n..])? {
            0 => break,
            k => n += k,
        }
    }
    Ok(n)
}

/// Removes stored files again (after a failed write); missing files are fine.
pub fn remove(config: &Config, names: &[String]) {
    for name in names {
        let _ = std::fs::remove_file(media_dir(config).join(name));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn types_come_from_the_bytes() {
        assert_eq!(sniff(b"\x89PNG\r\n\x1a\n....").unwrap().0, "image/png");
        assert_eq!(sniff(&[0xff, 0xd8, 0xff, 0xe0]).unwrap().1, "jpg");
        assert_eq!(sniff(b"RIFF\0\0\0\0WEBPVP8 ").unwrap().0, "image/webp");
        assert_eq!(sniff(b"\0\0\0\x18ftypmp42").unwrap().2, "video");
        assert!(sniff(b"<svg xmlns=").is_none());
        assert!(sniff(b"").is_none());
    }
}
