//! Metadata removal without decoding, for the files kith keeps as uploaded: a GIF is
//! copied block by block without its comments and application extensions (XMP among
//! them) but with its looping block; an MP4/QuickTime file keeps every byte in place but
//! has its `udta` and `meta` boxes (where phones write the place a video was shot)
//! turned into `free` boxes of zeros, which players skip, so no offset moves. Pure:
//! bytes in, bytes out.

use crate::error::{Error, Result};
use std::io::Write;

fn corrupt(what: &str) -> Error {
    Error::Status(422, format!("Validation failed: the {what} is corrupt"))
}

/// The logical screen size of a GIF.
pub fn gif_size(bytes: &[u8]) -> Result<(u32, u32)> {
    if bytes.len() < 13 {
        return Err(corrupt("GIF"));
    }
    let w = u16::from_le_bytes([bytes[6], bytes[7]]);
    let h = u16::from_le_bytes([bytes[8], bytes[9]]);
    Ok((u32::from(w), u32::from(h)))
}

/// Copies a GIF to `out` without comment, plain-text and application extensions other
/// than the looping one; refuses a malformed stream. Returns the number of frames.
pub fn gif(bytes: &[u8], out: &mut dyn Write) -> Result<usize> {
    let bad = || corrupt("GIF");
    let (sw, sh) = gif_size(bytes)?;
    let packed = bytes[10];
    let mut pos = 13;
    if packed & 0x80 != 0 {
        pos += 3 << ((packed & 7) + 1);
    }
    if pos > bytes.len() {
        return Err(bad());
    }
    out.write_all(&bytes[..pos])?;
    let mut frames = 0;
    loop {
        match bytes.get(pos).copied() {
            Some(0x3B) => {
                out.write_all(&[0x3B])?;
                return if frames == 0 { Err(bad()) } else { Ok(frames) };
            }
            Some(0x21) => {
                let label = *bytes.get(pos + 1).ok_or_else(bad)?;
                let end = sub_blocks_end(bytes, pos + 2).ok_or_else(bad)?;
                let keep = match label {
                    0xF9 => true,
                    0xFF => {
                        let id = bytes.get(pos + 3..pos + 14).ok_or_else(bad)?;
                        bytes[pos + 2] == 11 && (id == b"NETSCAPE2.0" || id == b"ANIMEXTS1.0")
                    }
                    _ => false,
                };
                if keep {
                    out.write_all(&bytes[pos..end])?;
                }
                pos = end;
            }
            Some(0x2C) => {
                let desc = bytes.get(pos + 1..pos + 10).ok_or_else(bad)?;
                let w = u64::from(u16::from_le_bytes([desc[4], desc[5]]));
                let h = u64::from(u16::from_le_bytes([desc[6], desc[7]]));
                if w * h > 4 * u64::from(sw.max(1)) * u64::from(sh.max(1)) {
                    // A frame far larger than the screen is a decoder-bomb trick.
                    return Err(bad());
                }
                let mut data = pos + 10;
                if desc[8] & 0x80 != 0 {
                    data += 3 << ((desc[8] & 7) + 1);
                }
                // LZW minimum code size, then the image data sub-blocks.
                let end = sub_blocks_end(bytes, data + 1).ok_or_else(bad)?;
                out.write_all(&bytes[pos..end])?;
                pos = end;
                frames += 1;
            }
            _ => return Err(bad()),
        }
    }
}

/// The position after a chain of sub-blocks starting at `pos` (ending with a 0 length).
fn sub_blocks_end(bytes: &[u8], mut pos: usize) -> Option<usize> {
    loop {
        let len = *bytes.get(pos)? as usize;
        pos += 1;
        if len == 0 {
            return Some(pos);
        }
        pos += len;
        if pos > bytes.len() {
            return None;
        }
    }
}

/// Boxes whose children are walked to find metadata.
const CONTAINERS: &[&[u8; 4]] = &[b"moov", b"trak", b"mdia", b"minf", b"stbl"];
/// Metadata boxes blanked.
const METADATA: &[&[u8; 4]] = &[b"udta", b"meta", b"XMP_"];

/// A metadata box: where its type field is, where its body starts and where it ends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MetaBox {
    pub type_at: usize,
    pub body_at: usize,
    pub end: usize,
}

/// The metadata boxes of an ISO media file (MP4, MOV, M4A), in file order. Refuses a
/// file whose box structure does not add up.
pub fn mp4_metadata_boxes(bytes: &[u8]) -> Result<Vec<MetaBox>> {
    let mut found = Vec::new();
    walk_boxes(bytes, 0, bytes.len(), 0, &mut found)?;
    Ok(found)
}

fn walk_boxes(
    bytes: &[u8],
    mut pos: usize,
    end: usize,
    depth: usize,
    found: &mut Vec<MetaBox>,
) -> Result<()> {
    let bad = || corrupt("video or audio file");
    if depth > 8 {
        return Err(bad());
    }
    while pos < end {
        let header = bytes.get(pos..pos + 8).ok_or_else(bad)?;
        let size32 = u32::from_be_bytes([header[0], header[1], header[2], header[3]]) as u64;
        let kind: [u8; 4] = [header[4], header[5], header[6], header[7]];
        let (size, body) = match size32 {
            0 => ((end - pos) as u64, pos + 8),
            1 => {
                let large = bytes.get(pos + 8..pos + 16).ok_or_else(bad)?;
                let mut b = [0u8; 8];
                b.copy_from_slice(large);
                (u64::from_be_bytes(b), pos + 16)
            }
            n => (n, pos + 8),
        };
        let box_end = usize::try_from(size)
            .ok()
            .and_then(|s| pos.checked_add(s))
            .filter(|&e| e <= end && e >= body)
            .ok_or_else(bad)?;
        if METADATA.contains(&&kind) {
            found.push(MetaBox {
                type_at: pos + 4,
                body_at: body,
                end: box_end,
            });
        } else if CONTAINERS.contains(&&kind) {
            walk_boxes(bytes, body, box_end, depth + 1, found)?;
        }
        pos = box_end;
    }
    Ok(())
}

/// Writes an ISO media file with its metadata boxes turned into `free` boxes of
/// zeros (same sizes, so every offset in the file stays right). Returns how many.
pub fn mp4(bytes: &[u8], out: &mut dyn Write) -> Result<usize> {
    let boxes = mp4_metadata_boxes(bytes)?;
    let zeros = [0u8; 4096];
    let mut pos = 0;
    for b in &boxes {
        out.write_all(&bytes[pos..b.type_at])?;
        out.write_all(b"free")?;
        // A 64-bit size, when there is one, stays.
        out.write_all(&bytes[b.type_at + 4..b.body_at])?;
        let mut left = b.end - b.body_at;
        while left > 0 {
            let n = left.min(zeros.len());
            out.write_all(&zeros[..n])?;
            left -= n;
        }
        pos = b.end;
    }
    out.write_all(&bytes[pos..])?;
    Ok(boxes.len())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn gif_with_comment() -> Vec<u8> {
        let mut g = b"GIF89a".to_vec();
        g.extend([2, 0, 2, 0, 0x80, 0, 0]); // 2x2, global table of 2 colours
        g.extend([0, 0, 0, 255, 255, 255]);
        g.extend([0x21, 0xFF, 11]);
        g.extend(b"NETSCAPE2.0");
        g.extend([3, 1, 0, 0, 0]);
        g.extend([0x21, 0xFE, 5]);
        g.extend(b"where");
        g.push(0);
        g.extend([0x21, 0xFF, 11]);
        g.extend(b"XMP DataXMP");
        g.extend([4, b'g', b'p', b's', b'!', 0]);
        g.extend([0x21, 0xF9, 4, 0, 0, 0, 0, 0]);
        g.extend([0x2C, 0, 0, 0, 0, 2, 0, 2, 0, 0]);
        g.extend([2, 2, 0x44, 0x01, 0]);
        g.push(0x3B);
        g
    }

    #[test]
    fn gif_loses_comments_and_xmp_but_keeps_looping() {
        let mut out = Vec::new();
        assert_eq!(gif(&gif_with_comment(), &mut out).unwrap(), 1);
        assert!(out.windows(8).any(|w| w == b"NETSCAPE"));
        assert!(!out.windows(5).any(|w| w == b"where"));
        assert!(!out.windows(3).any(|w| w == b"XMP"));
        assert_eq!(out.last(), Some(&0x3B));
    }

    #[test]
    fn truncated_gif_is_refused() {
        let g = gif_with_comment();
        for cut in [5, 13, 20, g.len() - 1] {
            assert!(gif(&g[..cut], &mut Vec::new()).is_err(), "cut at {cut}");
        }
        let mut trailing = g.clone();
        trailing.pop();
        trailing.push(0x99);
        assert!(gif(&trailing, &mut Vec::new()).is_err());
    }

    fn bx(kind: &[u8; 4], body: &[u8]) -> Vec<u8> {
        let mut b = ((body.len() + 8) as u32).to_be_bytes().to_vec();
        b.extend(kind);
        b.extend(body);
        b
    }

    #[test]
    fn mp4_metadata_boxes_become_free_in_place() {
        let xyz = bx(b"\xa9xyz", b"+48.8577+002.2950/");
        let udta = bx(b"udta", &xyz);
        let tkhd = bx(b"tkhd", &[0; 16]);
        let trak = bx(b"trak", &[tkhd, bx(b"meta", b"location")].concat());
        let moov = bx(b"moov", &[bx(b"mvhd", &[0; 12]), trak, udta].concat());
        let file = [bx(b"ftyp", b"isom\0\0\0\0"), moov, bx(b"mdat", b"frames")].concat();
        let mut out = Vec::new();
        assert_eq!(mp4(&file, &mut out).unwrap(), 2);
        assert_eq!(out.len(), file.len());
        assert!(!out.windows(4).any(|w| w == b"udta" || w == b"meta"));
        assert!(!out.windows(7).any(|w| w == b"+48.857"));
        assert!(!out.windows(8).any(|w| w == b"location"));
        assert_eq!(out.windows(4).filter(|w| w == b"free").count(), 2);
        assert!(out.ends_with(&bx(b"mdat", b"frames")));
    }

    #[test]
    fn mp4_with_lying_sizes_is_refused() {
        let mut file = [bx(b"ftyp", b"isom\0\0\0\0"), bx(b"moov", &[0; 8])].concat();
        assert!(mp4_metadata_boxes(&file).is_ok());
        file[16..20].copy_from_slice(&1000u32.to_be_bytes());
        assert!(mp4_metadata_boxes(&file).is_err());
        assert!(mp4_metadata_boxes(&[0, 0, 0, 4, b'f']).is_err());
    }
}
