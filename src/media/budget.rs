//! The memory budget of picture decoding: a decoded picture (and the one copy some
//! steps need: a GIF's first frame beside its canvas, a PNG turned upright by a
//! quarter turn) must fit in [`DECODE_BUDGET`], so processing any upload — whatever
//! the dimensions its header declares — stays under 64 MB however small the file is.
//! Checked on the header, before a pixel is decoded. Animated GIFs are also capped in
//! frames and in the pixels of all frames together (what a viewer decodes to play
//! them), counted as the file is copied block by block (`strip::gif`).

use crate::error::{Error, Result};

/// The most bytes a decoded picture, with its working copies, may take.
pub const DECODE_BUDGET: u64 = 48 << 20;
/// The most frames of an animated GIF.
pub const MAX_GIF_FRAMES: u64 = 1000;
/// The most pixels of all frames of a GIF together.
pub const MAX_GIF_PIXELS: u64 = 250_000_000;

fn refuse(why: String) -> Error {
    Error::Status(422, format!("Validation failed: {why}"))
}

/// Refuses a `width`×`height` picture whose decoded form takes `decoded` bytes, held
/// `copies` times at once, when that is over [`DECODE_BUDGET`].
pub fn check(width: u32, height: u32, decoded: u64, copies: u64) -> Result<()> {
    let need = decoded.saturating_mul(copies);
    if need > DECODE_BUDGET {
        return Err(refuse(format!(
            "the image is {width}×{height} pixels: processing it would take {} MB of memory, \
             more than the {} MB allowed; upload a smaller one",
            need.div_ceil(1 << 20),
            DECODE_BUDGET >> 20
        )));
    }
    Ok(())
}

/// Counts one more GIF frame of `width`×`height` against the frame and pixel caps.
pub fn count_gif_frame(frames: &mut u64, pixels: &mut u64, width: u64, height: u64) -> Result<()> {
    *frames += 1;
    *pixels = pixels.saturating_add(width * height);
    if *frames > MAX_GIF_FRAMES {
        return Err(refuse(format!(
            "the GIF has more than {MAX_GIF_FRAMES} frames"
        )));
    }
    if *pixels > MAX_GIF_PIXELS {
        return Err(refuse(format!(
            "the GIF's frames hold more than {MAX_GIF_PIXELS} pixels together"
        )));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::media::{image, sniff};
    use std::io::Write;

    #[test]
    fn the_budget_counts_copies() {
        assert!(check(4000, 3000, 36_000_000, 1).is_ok(), "a 12 MP photo");
        let e = check(4000, 3000, 36_000_000, 2).unwrap_err();
        assert_eq!(e.status(), 422);
        assert!(e.to_string().contains("MB of memory"), "{e}");
        assert!(
            check(5760, 5760, 5760 * 5760 * 8, 1).is_err(),
            "16-bit RGBA"
        );
    }

    #[test]
    fn gif_frames_and_pixels_are_capped() {
        let (mut frames, mut pixels) = (0, 0);
        for _ in 0..MAX_GIF_FRAMES {
            count_gif_frame(&mut frames, &mut pixels, 1, 1).unwrap();
        }
        assert!(count_gif_frame(&mut frames, &mut pixels, 1, 1).is_err());
        let (mut frames, mut pixels) = (0, 0);
        count_gif_frame(&mut frames, &mut pixels, 10_000, 10_000).unwrap();
        let e = count_gif_frame(&mut frames, &mut pixels, 20_000, 10_000).unwrap_err();
        assert!(e.to_string().contains("pixels"), "{e}");
    }

    /// A PNG that declares `w`×`h` pixels of 16-bit RGBA and holds one row of them.
    fn png_header(w: u32, h: u32) -> Vec<u8> {
        let mut png = b"\x89PNG\r\n\x1a\n".to_vec();
        let mut chunk = |kind: &[u8], body: &[u8]| {
            let mut crc = flate2::Crc::new();
            crc.update(kind);
            crc.update(body);
            png.extend_from_slice(&(body.len() as u32).to_be_bytes());
            png.extend_from_slice(kind);
            png.extend_from_slice(body);
            png.extend_from_slice(&crc.sum().to_be_bytes());
        };
        let mut ihdr = w.to_be_bytes().to_vec();
        ihdr.extend_from_slice(&h.to_be_bytes());
        ihdr.extend_from_slice(&[16, 6, 0, 0, 0]);
        chunk(b"IHDR", &ihdr);
        let mut z = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::fast());
        z.write_all(&vec![0u8; 1 + w as usize * 8]).unwrap();
        chunk(b"IDAT", &z.finish().unwrap());
        chunk(b"IEND", b"");
        png
    }

    /// A GIF of `frames` frames of one pixel each.
    fn gif_of(frames: usize) -> Vec<u8> {
        let mut gif = b"GIF89a\x01\x00\x01\x00\x80\x00\x00\x00\x00\x00\xff\xff\xff".to_vec();
        for _ in 0..frames {
            gif.extend_from_slice(b"\x2c\0\0\0\0\x01\0\x01\0\0\x02\x02\x44\x01\0");
        }
        gif.push(0x3b);
        gif
    }

    #[test]
    fn sec_67_a_picture_over_the_memory_budget_is_refused_from_its_header() {
        // Under the pixel cap, but 128 MB once decoded.
        let png = png_header(4000, 4000);
        let e = image::process(&png, sniff::PNG, &mut Vec::new()).unwrap_err();
        assert_eq!(e.status(), 422);
        assert!(e.to_string().contains("MB of memory"), "{e}");
        assert!(
            image::dimensions(&png, sniff::PNG).is_err(),
            "the remote cache's check"
        );
        assert!(image::dimensions(&png_header(2000, 2000), sniff::PNG).is_ok());
    }

    #[test]
    fn sec_68_gifs_are_capped_in_frames() {
        let mut out = Vec::new();
        let p = image::process(&gif_of(3), sniff::GIF, &mut out).unwrap();
        assert_eq!((p.width, p.height), (1, 1));
        let e = image::process(&gif_of(3000), sniff::GIF, &mut Vec::new()).unwrap_err();
        assert_eq!(e.status(), 422);
        assert!(e.to_string().contains("frames"), "{e}");
    }

    /// The headers of a JPEG of 4000×3000 in three components, `sof` its frame marker
    /// (0xC0 baseline, 0xC2 progressive), with no picture data.
    fn jpeg_headers(sof: u8) -> Vec<u8> {
        let mut jpeg = vec![0xFF, 0xD8, 0xFF, 0xDB, 0x00, 0x43, 0x00];
        jpeg.extend_from_slice(&[1u8; 64]);
        jpeg.extend_from_slice(&[0xFF, sof, 0x00, 0x11, 8, 0x0B, 0xB8, 0x0F, 0xA0, 3]);
        jpeg.extend_from_slice(&[1, 0x22, 0, 2, 0x11, 0, 3, 0x11, 0]);
        jpeg.extend_from_slice(&[
            0xFF, 0xDA, 0x00, 0x0C, 3, 1, 0, 2, 0x11, 3, 0x11, 0, 0x3F, 0,
        ]);
        jpeg.extend_from_slice(&[0xFF, 0xD9]);
        jpeg
    }

    #[test]
    fn sec_67_a_progressive_jpeg_counts_its_coefficients() {
        let e = image::process(&jpeg_headers(0xC2), sniff::JPEG, &mut Vec::new()).unwrap_err();
        assert!(e.to_string().contains("MB of memory"), "{e}");
        // The same size in baseline decodes row by row into 36 MB: within the budget
        // (and refused here only because it has no picture data).
        let e = image::process(&jpeg_headers(0xC0), sniff::JPEG, &mut Vec::new()).unwrap_err();
        assert!(!e.to_string().contains("MB of memory"), "{e}");
    }
}
