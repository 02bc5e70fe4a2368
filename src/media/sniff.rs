//! Magic-byte sniffing: what a file really is, from its first bytes, whatever name or
//! Content-Type came with it. The answer is kith's own media type and file extension,
//! from a fixed allow-list; anything not on it is `None`. Pure: bytes in, a type out.

/// A file type kith accepts, with the extension it names such files with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Sniffed {
    /// The media type kith records and serves (`image/jpeg`, `video/mp4` …).
    pub media_type: &'static str,
    /// The extension of the file name kith chooses, without the dot.
    pub ext: &'static str,
}

const fn t(media_type: &'static str, ext: &'static str) -> Sniffed {
    Sniffed { media_type, ext }
}

/// JPEG.
pub const JPEG: Sniffed = t("image/jpeg", "jpg");
/// PNG.
pub const PNG: Sniffed = t("image/png", "png");
/// GIF (87a and 89a).
pub const GIF: Sniffed = t("image/gif", "gif");
/// WebP.
pub const WEBP: Sniffed = t("image/webp", "webp");
/// AVIF: served from the remote cache, not accepted as an upload (no decoder).
pub const AVIF: Sniffed = t("image/avif", "avif");
/// MPEG-4 video.
pub const MP4: Sniffed = t("video/mp4", "mp4");
/// QuickTime video (phones' `.mov`).
pub const MOV: Sniffed = t("video/quicktime", "mov");
/// WebM video.
pub const WEBM: Sniffed = t("video/webm", "webm");
/// WebM with audio only, when the client says so.
pub const WEBM_AUDIO: Sniffed = t("audio/webm", "weba");
/// MPEG-4 audio (`.m4a`).
pub const M4A: Sniffed = t("audio/mp4", "m4a");
/// MP3.
pub const MP3: Sniffed = t("audio/mpeg", "mp3");
/// AAC in ADTS frames.
pub const AAC: Sniffed = t("audio/aac", "aac");
/// Ogg (Vorbis, Opus).
pub const OGG: Sniffed = t("audio/ogg", "ogg");
/// Ogg video, when the client says so.
pub const OGV: Sniffed = t("video/ogg", "ogv");
/// WAV.
pub const WAV: Sniffed = t("audio/wav", "wav");
/// FLAC.
pub const FLAC: Sniffed = t("audio/flac", "flac");

/// How many leading bytes [`sniff`] looks at: the answer for a file's first
/// `HEAD_LEN` bytes is the answer for the whole file.
pub const HEAD_LEN: usize = 64;

/// Every type kith may serve, for checking names and recorded types.
pub const ALL: &[Sniffed] = &[
    JPEG, PNG, GIF, WEBP, AVIF, MP4, MOV, WEBM, WEBM_AUDIO, M4A, MP3, AAC, OGG, OGV, WAV, FLAC,
];

/// Whether kith would serve a file of this media type.
pub fn allowed(media_type: &str) -> bool {
    ALL.iter().any(|s| s.media_type == media_type)
}

/// The media type of files kith names with `ext`.
pub fn media_type_of_ext(ext: &str) -> Option<&'static str> {
    ALL.iter().find(|s| s.ext == ext).map(|s| s.media_type)
}

/// Whether `ext` is an extension kith names files with.
pub fn known_ext(ext: &str) -> bool {
    ALL.iter().any(|s| s.ext == ext)
}

/// The types an upload may have: everything kith serves except still images it cannot
/// decode (and so cannot strip of their metadata).
pub fn uploadable() -> impl Iterator<Item = Sniffed> {
    ALL.iter()
        .copied()
        .filter(|s| is_decodable_image(*s) || !s.media_type.starts_with("image/"))
}

/// Whether the sniffed type is one of the images kith decodes (JPEG, PNG, GIF, WebP).
pub fn is_decodable_image(s: Sniffed) -> bool {
    [JPEG, PNG, GIF, WEBP].contains(&s)
}

/// What the bytes are. `declared` (the uploader's or origin's Content-Type) only picks
/// between audio and video readings of the same container (Ogg, WebM); it never makes
/// unknown bytes acceptable.
pub fn sniff(bytes: &[u8], declared: Option<&str>) -> Option<Sniffed> {
    let declared = declared
        .unwrap_or("")
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    let b = bytes;
    if b.starts_with(&[0xFF, 0xD8, 0xFF]) {
        return Some(JPEG);
    }
    if b.starts_with(b"\x89PNG\r\n\x1a\n") {
        return Some(PNG);
    }
    if b.starts_with(b"GIF87a") || b.starts_with(b"GIF89a") {
        return Some(GIF);
    }
    if b.len() >= 12 && &b[..4] == b"RIFF" {
        return match &b[8..12] {
            b"WEBP" => Some(WEBP),
            b"WAVE" => Some(WAV),
            _ => None,
        };
    }
    if b.len() >= 12 && &b[4..8] == b"ftyp" {
        return iso_brand(&b[8..12]);
    }
    if b.starts_with(&[0x1A, 0x45, 0xDF, 0xA3]) {
        // EBML: only the WebM doc type, not Matroska at large.
        let head = &b[..b.len().min(HEAD_LEN)];
        if !head.windows(4).any(|w| w == b"webm") {
            return None;
        }
        return Some(if declared.starts_with("audio/") {
            WEBM_AUDIO
        } else {
            WEBM
        });
    }
    if b.starts_with(b"OggS") {
        return Some(if declared.starts_with("video/") {
            OGV
        } else {
            OGG
        });
    }
    if b.starts_with(b"fLaC") {
        return Some(FLAC);
    }
    if b.starts_with(b"ID3") && b.len() >= 10 {
        return Some(MP3);
    }
    if b.len() >= 4 && b[0] == 0xFF && b[1] & 0xE0 == 0xE0 {
        let layer = (b[1] >> 1) & 0b11;
        let version = (b[1] >> 3) & 0b11;
        // MPEG audio frame sync: layer 00 is ADTS (AAC); version 01 is reserved.
        return match (layer, version) {
            (0, _) if b[1] & 0xF6 == 0xF0 => Some(AAC),
            (0, _) | (_, 1) => None,
            _ if b[2] >> 4 != 0xF => Some(MP3),
            _ => None,
        };
    }
    None
}

/// The type of an ISO base media file by its major brand.
fn iso_brand(brand: &[u8]) -> Option<Sniffed> {
    match brand {
        b"qt  " => Some(MOV),
        b"M4A " | b"M4B " | b"M4P " => Some(M4A),
        b"avif" | b"avis" => Some(AVIF),
        // HEIF stills: no decoder, and not a video.
        b"heic" | b"heix" | b"heim" | b"heis" | b"hevc" | b"hevx" | b"mif1" | b"msf1" => None,
        b"isom" | b"iso2" | b"iso3" | b"iso4" | b"iso5" | b"iso6" | b"mp41" | b"mp42" | b"avc1"
        | b"M4V " | b"M4VH" | b"M4VP" | b"MSNV" | b"dash" | b"3gp4" | b"3gp5" | b"3gp6"
        | b"3g2a" | b"mmp4" | b"f4v " | b"NDAS" | b"XAVC" => Some(MP4),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn images_by_magic_not_by_declaration() {
        assert_eq!(
            sniff(b"\xff\xd8\xff\xe0rest", Some("text/html")),
            Some(JPEG)
        );
        assert_eq!(sniff(b"\x89PNG\r\n\x1a\n....", None), Some(PNG));
        assert_eq!(sniff(b"GIF89a......", None), Some(GIF));
        assert_eq!(sniff(b"RIFF\0\0\0\0WEBPVP8 ", None), Some(WEBP));
        assert_eq!(sniff(b"<svg xmlns=...>", Some("image/svg+xml")), None);
        assert_eq!(sniff(b"<html>", Some("image/png")), None);
        assert_eq!(sniff(b"", Some("image/png")), None);
    }

    #[test]
    fn containers_and_audio() {
        assert_eq!(sniff(b"\0\0\0\x18ftypisom\0\0\0\0", None), Some(MP4));
        assert_eq!(sniff(b"\0\0\0\x14ftypqt  \0\0\0\0", None), Some(MOV));
        assert_eq!(sniff(b"\0\0\0\x18ftypM4A \0\0\0\0", None), Some(M4A));
        assert_eq!(sniff(b"\0\0\0\x18ftypheic\0\0\0\0", None), None);
        assert_eq!(sniff(b"\0\0\0\x18ftypavif\0\0\0\0", None), Some(AVIF));
        let webm = b"\x1a\x45\xdf\xa3\x9f\x42\x86\x81\x01\x42\x82\x84webm";
        assert_eq!(sniff(webm, None), Some(WEBM));
        assert_eq!(sniff(webm, Some("audio/webm")), Some(WEBM_AUDIO));
        assert_eq!(
            sniff(b"\x1a\x45\xdf\xa3\x9f\x42\x82\x88matroska", None),
            None
        );
        assert_eq!(sniff(b"OggS\0\x02", None), Some(OGG));
        assert_eq!(sniff(b"OggS\0\x02", Some("video/ogg")), Some(OGV));
        assert_eq!(sniff(b"ID3\x04\0\0\0\0\0\0", None), Some(MP3));
        assert_eq!(sniff(&[0xFF, 0xFB, 0x90, 0x64], None), Some(MP3));
        assert_eq!(sniff(&[0xFF, 0xF1, 0x50, 0x80], None), Some(AAC));
        assert_eq!(sniff(b"fLaC\0\0\0\x22", None), Some(FLAC));
        assert_eq!(sniff(b"RIFF\0\0\0\0WAVEfmt ", None), Some(WAV));
        assert_eq!(sniff(b"RIFF\0\0\0\0AVI LIST", None), None);
    }

    #[test]
    fn allow_list() {
        assert!(allowed("image/png"));
        assert!(allowed("video/mp4"));
        assert!(!allowed("image/svg+xml"));
        assert!(!allowed("text/html"));
        assert!(known_ext("jpg") && known_ext("mp4") && !known_ext("html"));
    }
}
