//! Metadata removal without decoding, for the files kith keeps as uploaded: a GIF is
//! copied block by block without its comments and application extensions (XMP among
//! them) but with its looping block; an MP4/QuickTime file keeps every byte in place but
//! has its `udta` and `meta` boxes (where phones write the place a video was shot)
//! turned into `free` boxes of zeros, which players skip, so no offset moves. No file
//! paths: bytes (a GIF) or a seekable reader (an MP4, whose box headers are read and
//! whose media data is streamed through a small buffer, so a long video never sits in
//! memory) in, a writer out.

use crate::error::{Error, Result};
use std::io::{Read, Seek, SeekFrom, Write};

fn corrupt(what: &str) -> Error {
    Error::Unprocessable(format!("Validation failed: the {what} is corrupt"))
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
/// than the looping one; refuses a malformed stream, and one over the frame or pixel
/// caps of `budget` (stopping there). Returns the number of frames.
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
    let mut pixels = 0;
    loop {
        match bytes.get(pos).copied() {
            Some(0x3B) => {
                out.write_all(&[0x3B])?;
                return if frames == 0 {
                    Err(bad())
                } else {
                    Ok(frames as usize)
                };
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
                super::budget::count_gif_frame(&mut frames, &mut pixels, w, h)?;
                let mut data = pos + 10;
                if desc[8] & 0x80 != 0 {
                    data += 3 << ((desc[8] & 7) + 1);
                }
                // LZW minimum code size, then the image data sub-blocks.
                let end = sub_blocks_end(bytes, data + 1).ok_or_else(bad)?;
                out.write_all(&bytes[pos..end])?;
                pos = end;
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
    pub type_at: u64,
    pub body_at: u64,
    pub end: u64,
}

/// The metadata boxes of an ISO media file (MP4, MOV, M4A) of `len` bytes, in file
/// order, found by reading box headers only (the media data is skipped, never read).
/// Refuses a file whose box structure does not add up.
pub fn mp4_metadata_boxes<R: Read + Seek>(input: &mut R, len: u64) -> Result<Vec<MetaBox>> {
    let mut found = Vec::new();
    walk_boxes(input, 0, len, 0, &mut found)?;
    Ok(found)
}

/// Reads as much of `buf` as there is at `pos`; returns how many bytes.
fn read_at<R: Read + Seek>(input: &mut R, pos: u64, buf: &mut [u8]) -> Result<usize> {
    input.seek(SeekFrom::Start(pos))?;
    super::store::read_up_to(input, buf)
}

fn walk_boxes<R: Read + Seek>(
    input: &mut R,
    mut pos: u64,
    end: u64,
    depth: usize,
    found: &mut Vec<MetaBox>,
) -> Result<()> {
    let bad = || corrupt("video or audio file");
    if depth > 8 {
        return Err(bad());
    }
    while pos < end {
        let mut header = [0u8; 16];
        let got = read_at(input, pos, &mut header)?;
        if got < 8 || pos + 8 > end {
            return Err(bad());
        }
        let size32 = u64::from(u32::from_be_bytes([
            header[0], header[1], header[2], header[3],
        ]));
        let kind: [u8; 4] = [header[4], header[5], header[6], header[7]];
        let (size, body) = match size32 {
            0 => (end - pos, pos + 8),
            1 => {
                if got < 16 || pos + 16 > end {
                    return Err(bad());
                }
                let mut b = [0u8; 8];
                b.copy_from_slice(&header[8..16]);
                (u64::from_be_bytes(b), pos + 16)
            }
            n => (n, pos + 8),
        };
        let box_end = pos
            .checked_add(size)
            .filter(|&e| e <= end && e >= body)
            .ok_or_else(bad)?;
        if METADATA.contains(&&kind) {
            found.push(MetaBox {
                type_at: pos + 4,
                body_at: body,
                end: box_end,
            });
        } else if CONTAINERS.contains(&&kind) {
            walk_boxes(input, body, box_end, depth + 1, found)?;
        }
        pos = box_end;
    }
    Ok(())
}

/// Copies bytes `from..to` of `input` to `out`.
fn copy_range<R: Read + Seek>(
    input: &mut R,
    from: u64,
    to: u64,
    out: &mut dyn Write,
) -> Result<()> {
    input.seek(SeekFrom::Start(from))?;
    let copied = std::io::copy(&mut input.by_ref().take(to - from), out)?;
    if copied != to - from {
        return Err(corrupt("video or audio file"));
    }
    Ok(())
}

/// Writes an ISO media file of `len` bytes with its metadata boxes turned into `free`
/// boxes of zeros (same sizes, so every offset in the file stays right), streaming it
/// through a small buffer. Returns how many boxes were blanked.
pub fn mp4<R: Read + Seek>(input: &mut R, len: u64, out: &mut dyn Write) -> Result<usize> {
    let boxes = mp4_metadata_boxes(input, len)?;
    let zeros = [0u8; 4096];
    let mut pos = 0;
    for b in &boxes {
        copy_range(input, pos, b.type_at, out)?;
        out.write_all(b"free")?;
        // A 64-bit size, when there is one, stays.
        copy_range(input, b.type_at + 4, b.body_at, out)?;
        let mut left = b.end - b.body_at;
        while left > 0 {
            let n = left.min(zeros.len() as u64);
            out.write_all(&zeros[..n as usize])?;
            left -= n;
        }
        pos = b.end;
    }
    copy_range(input, pos, len, out)?;
    Ok(boxes.len())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Cursor;

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

    fn mp4_bytes(file: &[u8], out: &mut Vec<u8>) -> usize {
        mp4(&mut Cursor::new(file), file.len() as u64, out).unwrap()
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
        assert_eq!(mp4_bytes(&file, &mut out), 2);
        assert_eq!(out.len(), file.len());
        assert!(!out.windows(4).any(|w| w == b"udta" || w == b"meta"));
        assert!(!out.windows(7).any(|w| w == b"+48.857"));
        assert!(!out.windows(8).any(|w| w == b"location"));
        assert_eq!(out.windows(4).filter(|w| w == b"free").count(), 2);
        assert!(out.ends_with(&bx(b"mdat", b"frames")));
    }

    #[test]
    fn mp4_with_lying_sizes_is_refused() {
        let boxes = |b: &[u8]| mp4_metadata_boxes(&mut Cursor::new(b), b.len() as u64);
        let mut file = [bx(b"ftyp", b"isom\0\0\0\0"), bx(b"moov", &[0; 8])].concat();
        assert!(boxes(&file).is_ok());
        file[16..20].copy_from_slice(&1000u32.to_be_bytes());
        assert!(boxes(&file).is_err());
        assert!(boxes(&[0, 0, 0, 4, b'f']).is_err());
        assert!(mp4(&mut Cursor::new(&file), file.len() as u64, &mut Vec::new()).is_err());
    }
}
