//! Image processing of uploads: decode JPEG, PNG, WebP and GIF within a pixel-count cap
//! and the memory budget (`budget`, both checked on the header, before any pixel is
//! decoded), turn the picture upright by
//! its EXIF orientation, re-encode it without metadata (EXIF, GPS, XMP, comments: only
//! the ICC colour profile is kept), and make a thumbnail of at most 640 px and a
//! blurhash. JPEG stays JPEG, PNG stays PNG, a lossy WebP becomes JPEG (PNG when it
//! has alpha, and a lossless one PNG: the `image` crate encodes WebP only losslessly),
//! and a GIF keeps its frames with its metadata blocks dropped (`strip::gif`).
//!
//! Memory: a 12-megapixel JPEG costs its decoded RGB buffer (36 MB) and little else —
//! the upright copy is never made (the JPEG encoder reads the buffer through a rotating
//! view), the thumbnail is an integer area average into a small buffer, and output goes
//! straight to the caller's writer. One image is processed at a time, on a thread with
//! a stack large enough for the decoders. No file paths: bytes in, a writer out.

use super::budget;
use super::sniff::{self, Sniffed};
use super::strip;
use crate::error::{Error, Result};
use ::image::codecs::gif::GifDecoder;
use ::image::codecs::jpeg::{JpegDecoder, JpegEncoder};
use ::image::codecs::png::{CompressionType, FilterType, PngDecoder, PngEncoder};
use ::image::codecs::webp::WebPDecoder;
use ::image::metadata::Orientation;
use ::image::{
    DynamicImage, GenericImageView, ImageBuffer, ImageDecoder, ImageEncoder, Limits, Pixel,
};
use std::io::{Cursor, Write};
use std::sync::Mutex;

/// The most pixels an image may have (width × height), checked before decoding, and
/// announced as the instance's `image_matrix_limit` (so apps shrink larger pictures
/// before uploading): 4096×4096, whose RGB pixels fill the decoding budget exactly.
/// Mastodon's default is 33,177,600, which would take 800 MB to decode at 16 bits.
pub const MAX_PIXELS: u64 = 16_777_216;
/// The longest side of a thumbnail.
pub const THUMB_MAX: u32 = 640;
/// JPEG quality of re-encoded originals.
const QUALITY: u8 = 85;
/// JPEG quality of thumbnails.
const THUMB_QUALITY: u8 = 80;
/// The largest ICC profile carried over.
const MAX_ICC: usize = 256 * 1024;
/// Stack of the processing thread (request threads have small stacks).
const STACK: usize = 8 * 1024 * 1024;

/// Serialises processing so concurrent uploads cannot multiply the peak memory.
static PROCESSING: Mutex<()> = Mutex::new(());

/// An encoded picture held in memory (thumbnails, profile images).
#[derive(Debug, Clone)]
pub struct Encoded {
    pub bytes: Vec<u8>,
    pub kind: Sniffed,
    pub width: u32,
    pub height: u32,
}

/// What processing an upload produced; the original itself went to the writer.
#[derive(Debug, Clone)]
pub struct Processed {
    /// The type of what was written.
    pub kind: Sniffed,
    /// Upright dimensions.
    pub width: u32,
    pub height: u32,
    pub blurhash: Option<String>,
    pub thumb: Encoded,
}

fn refuse(why: impl Into<String>) -> Error {
    Error::Unprocessable(format!("Validation failed: {}", why.into()))
}

/// A decoding failure as a refusal. Decoders read from memory, so an I/O error is a
/// truncated file, not the disk's.
fn decode_error(e: ::image::ImageError) -> Error {
    match e {
        ::image::ImageError::Limits(_) => refuse("the image is too large to process"),
        ::image::ImageError::IoError(e) => {
            refuse(format!("the image is truncated or corrupt ({e})"))
        }
        other => refuse(format!("the image could not be read ({other})")),
    }
}

/// Refuses an image with no pixels or more than [`MAX_PIXELS`].
pub fn check_pixels(width: u32, height: u32) -> Result<()> {
    if width == 0 || height == 0 {
        return Err(refuse("the image has no pixels"));
    }
    if u64::from(width) * u64::from(height) > MAX_PIXELS {
        return Err(refuse(format!(
            "the image is {width}×{height} pixels, more than the {MAX_PIXELS} allowed"
        )));
    }
    Ok(())
}

/// The dimensions an image declares in its header; nothing is decoded.
pub fn dimensions(bytes: &[u8], kind: Sniffed) -> Result<(u32, u32)> {
    if kind == sniff::GIF {
        let (w, h) = strip::gif_size(bytes)?;
        check_pixels(w, h)?;
        budget::check(w, h, u64::from(w) * u64::from(h) * 4, 2)?;
        return Ok((w, h));
    }
    Ok(open(bytes, kind)?.dimensions())
}

/// A decoder for the image, its header read (and the pixel cap checked), nothing decoded.
fn open<'a>(bytes: &'a [u8], kind: Sniffed) -> Result<Box<dyn ImageDecoder + 'a>> {
    let cursor = Cursor::new(bytes);
    let mut decoder: Box<dyn ImageDecoder + 'a> = match kind {
        k if k == sniff::JPEG => Box::new(JpegDecoder::new(cursor).map_err(decode_error)?),
        k if k == sniff::PNG => Box::new(PngDecoder::new(cursor).map_err(decode_error)?),
        k if k == sniff::WEBP => Box::new(WebPDecoder::new(cursor).map_err(decode_error)?),
        k if k == sniff::GIF => Box::new(GifDecoder::new(cursor).map_err(decode_error)?),
        _ => return Err(refuse("the file is not an image kith can read")),
    };
    let (w, h) = decoder.dimensions();
    check_pixels(w, h)?;
    // A GIF's first frame is decoded beside its canvas.
    let copies = if kind == sniff::GIF { 2 } else { 1 };
    budget::check(w, h, decoder.total_bytes(), copies)?;
    let mut limits = Limits::default();
    // Room for the pixels and the decoders' own buffers.
    limits.max_alloc = Some(budget::DECODE_BUDGET + 8 * 1024 * 1024);
    decoder.set_limits(limits).map_err(decode_error)?;
    Ok(decoder)
}

/// Runs `f` on a thread with a large stack, one image at a time.
fn isolated<T: Send>(f: impl FnOnce() -> Result<T> + Send) -> Result<T> {
    let _turn = PROCESSING.lock().unwrap_or_else(|e| e.into_inner());
    std::thread::scope(|scope| {
        let handle = std::thread::Builder::new()
            .name("media".into())
            .stack_size(STACK)
            .spawn_scoped(scope, f)?;
        handle
            .join()
            .unwrap_or_else(|_| Err(Error::Internal("image processing panicked".into())))
    })
}

/// Processes an uploaded image of the sniffed `kind`: the upright, metadata-free
/// original goes to `out`; the thumbnail and blurhash come back.
pub fn process(bytes: &[u8], kind: Sniffed, out: &mut (dyn Write + Send)) -> Result<Processed> {
    isolated(|| {
        if kind == sniff::GIF {
            process_gif(bytes, out)
        } else {
            process_still(bytes, kind, out)
        }
    })
}

/// A profile image (avatar, header): upright, metadata-free, at most `max_side` px.
/// An animated GIF keeps its frames (metadata dropped) and its size.
pub fn profile(bytes: &[u8], kind: Sniffed, max_side: u32) -> Result<Encoded> {
    isolated(|| {
        if kind == sniff::GIF {
            let (width, height) = dimensions(bytes, kind)?;
            let mut out = Vec::with_capacity(bytes.len());
            strip::gif(bytes, &mut out)?;
            return Ok(Encoded {
                bytes: out,
                kind,
                width,
                height,
            });
        }
        let (image, orientation, _) = decode(bytes, kind)?;
        let small = shrink(&image, max_side);
        drop(image);
        encode_small(small, orientation, QUALITY)
    })
}

/// Decodes a still image with its EXIF orientation and ICC profile.
fn decode(bytes: &[u8], kind: Sniffed) -> Result<(DynamicImage, Orientation, Option<Vec<u8>>)> {
    if kind == sniff::JPEG {
        return decode_jpeg(bytes);
    }
    let mut decoder = open(bytes, kind)?;
    let orientation = decoder.orientation().unwrap_or(Orientation::NoTransforms);
    if swaps(orientation) {
        // Turned upright by a copy before it is written as PNG.
        let (w, h) = decoder.dimensions();
        budget::check(w, h, decoder.total_bytes(), 2)?;
    }
    let icc = decoder.icc_profile().ok().flatten();
    let image = DynamicImage::from_decoder(decoder).map_err(decode_error)?;
    Ok((image, orientation, icc))
}

/// Decodes a JPEG straight from the borrowed bytes, into RGB (or grey): the `image`
/// crate's decoder would first copy the whole input.
fn decode_jpeg(bytes: &[u8]) -> Result<(DynamicImage, Orientation, Option<Vec<u8>>)> {
    use zune_core::bytestream::ZCursor;
    use zune_core::colorspace::ColorSpace;
    use zune_core::options::DecoderOptions;
    let unreadable =
        |e: zune_jpeg::errors::DecodeErrors| refuse(format!("the image could not be read ({e:?})"));
    let options = DecoderOptions::default()
        .set_strict_mode(false)
        .set_max_width(usize::from(u16::MAX))
        .set_max_height(usize::from(u16::MAX));
    let mut decoder = zune_jpeg::JpegDecoder::new_with_options(ZCursor::new(bytes), options);
    decoder.decode_headers().map_err(unreadable)?;
    let (w, h) = decoder
        .dimensions()
        .ok_or_else(|| refuse("the image has no size"))?;
    let (w, h) = (w as u32, h as u32);
    check_pixels(w, h)?;
    let orientation = decoder
        .exif()
        .and_then(|chunk| Orientation::from_exif_chunk(chunk))
        .unwrap_or(Orientation::NoTransforms);
    let icc = decoder.icc_profile();
    let grey = matches!(
        decoder.input_colorspace(),
        Some(ColorSpace::Luma | ColorSpace::LumaA)
    );
    let out = if grey {
        ColorSpace::Luma
    } else {
        ColorSpace::RGB
    };
    let channels = if grey { 1 } else { 3 };
    // A progressive JPEG keeps every coefficient (16 bits a sample of each component,
    // at most) until its last scan, beside the output.
    let coefficients = match decoder.info() {
        Some(info) if info.sof.is_progressive() => u64::from(info.components) * 2,
        _ => 0,
    };
    budget::check(
        w,
        h,
        u64::from(w) * u64::from(h) * (channels + coefficients),
        1,
    )?;
    decoder.set_options(decoder.options().jpeg_set_out_colorspace(out));
    let len = decoder
        .output_buffer_size()
        .ok_or_else(|| refuse("the image is too large to process"))?;
    let mut pixels = vec![0u8; len];
    decoder.decode_into(&mut pixels).map_err(unreadable)?;
    drop(decoder);
    let image = if grey {
        ImageBuffer::from_raw(w, h, pixels).map(DynamicImage::ImageLuma8)
    } else {
        ImageBuffer::from_raw(w, h, pixels).map(DynamicImage::ImageRgb8)
    }
    .ok_or_else(|| Error::Internal("decoded JPEG of the wrong size".into()))?;
    Ok((image, orientation, icc))
}

fn process_gif(bytes: &[u8], out: &mut dyn Write) -> Result<Processed> {
    // Copied first: its frames are counted (and capped) before anything is decoded.
    strip::gif(bytes, out)?;
    let decoder = open(bytes, sniff::GIF)?;
    let first = DynamicImage::from_decoder(decoder).map_err(decode_error)?;
    let (width, height) = first.dimensions();
    let small = shrink(&first, THUMB_MAX);
    drop(first);
    let blurhash = blurhash_of(&small);
    let thumb = encode_small(small, Orientation::NoTransforms, THUMB_QUALITY)?;
    Ok(Processed {
        kind: sniff::GIF,
        width,
        height,
        blurhash,
        thumb,
    })
}

fn process_still(bytes: &[u8], kind: Sniffed, out: &mut dyn Write) -> Result<Processed> {
    let (image, orientation, icc) = decode(bytes, kind)?;
    let icc = icc.filter(|p| p.len() <= MAX_ICC);
    let small = shrink(&image, THUMB_MAX);
    let blurhash = blurhash_of(&small);
    let as_jpeg = kind == sniff::JPEG
        || (kind == sniff::WEBP && !image.color().has_alpha() && !webp_lossless(bytes));
    let (w, h) = image.dimensions();
    let (width, height) = if swaps(orientation) { (h, w) } else { (w, h) };
    let written = if as_jpeg {
        write_jpeg(image, orientation, icc, out)?;
        sniff::JPEG
    } else {
        write_png(image, orientation, icc, out)?;
        sniff::PNG
    };
    let thumb = encode_small(small, orientation, THUMB_QUALITY)?;
    Ok(Processed {
        kind: written,
        width,
        height,
        blurhash,
        thumb,
    })
}

/// Whether a WebP file holds a lossless (`VP8L`) bitstream: such pictures (drawings,
/// screenshots) become PNG rather than JPEG.
fn webp_lossless(bytes: &[u8]) -> bool {
    let mut pos = 12;
    while let Some(header) = bytes.get(pos..pos + 8) {
        if &header[..4] == b"VP8L" {
            return true;
        }
        let size = u32::from_le_bytes([header[4], header[5], header[6], header[7]]) as usize;
        pos = match pos.checked_add(8 + size + (size & 1)) {
            Some(next) => next,
            None => return false,
        };
    }
    false
}

/// Encodes the full image as JPEG, upright, reading it through a rotating view.
fn write_jpeg(
    image: DynamicImage,
    orientation: Orientation,
    icc: Option<Vec<u8>>,
    out: &mut dyn Write,
) -> Result<()> {
    let mut encoder = JpegEncoder::new_with_quality(out, QUALITY);
    if let Some(icc) = icc {
        let _ = encoder.set_icc_profile(icc);
    }
    let result = match image {
        DynamicImage::ImageRgb8(buf) => encoder.encode_image(&Oriented::new(&buf, orientation)),
        DynamicImage::ImageLuma8(buf) => encoder.encode_image(&Oriented::new(&buf, orientation)),
        other => {
            let buf = other.into_rgb8();
            encoder.encode_image(&Oriented::new(&buf, orientation))
        }
    };
    result.map_err(encode_error)
}

/// Encodes the full image as PNG, upright.
fn write_png(
    mut image: DynamicImage,
    orientation: Orientation,
    icc: Option<Vec<u8>>,
    out: &mut dyn Write,
) -> Result<()> {
    image.apply_orientation(orientation);
    let mut encoder =
        PngEncoder::new_with_quality(out, CompressionType::Default, FilterType::Adaptive);
    if let Some(icc) = icc {
        let _ = encoder.set_icc_profile(icc);
    }
    let (w, h) = image.dimensions();
    encoder
        .write_image(image.as_bytes(), w, h, image.color().into())
        .map_err(encode_error)
}

fn encode_error(e: ::image::ImageError) -> Error {
    match e {
        ::image::ImageError::IoError(e) => Error::Io(e),
        other => Error::Internal(format!("image encoding failed: {other}")),
    }
}

/// Whether an orientation swaps width and height.
pub fn swaps(o: Orientation) -> bool {
    matches!(
        o,
        Orientation::Rotate90
            | Orientation::Rotate270
            | Orientation::Rotate90FlipH
            | Orientation::Rotate270FlipH
    )
}

/// The size of an image of `w`×`h` shrunk to fit `max`×`max` (never enlarged).
pub fn fit(w: u32, h: u32, max: u32) -> (u32, u32) {
    if w <= max && h <= max {
        return (w, h);
    }
    let scale = f64::from(max) / f64::from(w.max(h));
    let sw = ((f64::from(w) * scale).round() as u32).clamp(1, max);
    let sh = ((f64::from(h) * scale).round() as u32).clamp(1, max);
    (sw, sh)
}

/// A copy at most `max` px on its longest side (area average; a small new buffer).
fn shrink(image: &DynamicImage, max: u32) -> DynamicImage {
    let (w, h) = image.dimensions();
    let (tw, th) = fit(w, h, max);
    if (tw, th) == (w, h) {
        return image.clone();
    }
    image.thumbnail_exact(tw, th)
}

/// A small image, turned upright, as JPEG (opaque) or PNG (with alpha).
fn encode_small(mut image: DynamicImage, orientation: Orientation, quality: u8) -> Result<Encoded> {
    image.apply_orientation(orientation);
    let (width, height) = image.dimensions();
    let mut bytes = Vec::new();
    let kind = if image.color().has_alpha() {
        let rgba = image.into_rgba8();
        PngEncoder::new(&mut bytes)
            .write_image(
                rgba.as_raw(),
                width,
                height,
                ::image::ExtendedColorType::Rgba8,
            )
            .map_err(encode_error)?;
        sniff::PNG
    } else {
        let rgb = image.into_rgb8();
        JpegEncoder::new_with_quality(&mut bytes, quality)
            .encode_image(&rgb)
            .map_err(encode_error)?;
        sniff::JPEG
    };
    Ok(Encoded {
        bytes,
        kind,
        width,
        height,
    })
}

/// The blurhash (4×4 components, as Mastodon makes them) of a small image.
fn blurhash_of(image: &DynamicImage) -> Option<String> {
    let tiny = image.thumbnail(32, 32).into_rgba8();
    blurhash::encode(4, 4, tiny.width(), tiny.height(), tiny.as_raw()).ok()
}

/// An image read through an EXIF orientation, without copying its pixels.
struct Oriented<'a, P: Pixel> {
    inner: &'a ImageBuffer<P, Vec<P::Subpixel>>,
    orientation: Orientation,
}

impl<'a, P: Pixel> Oriented<'a, P> {
    fn new(inner: &'a ImageBuffer<P, Vec<P::Subpixel>>, orientation: Orientation) -> Self {
        Oriented { inner, orientation }
    }
}

impl<P: Pixel> GenericImageView for Oriented<'_, P> {
    type Pixel = P;

    fn dimensions(&self) -> (u32, u32) {
        let (w, h) = self.inner.dimensions();
        if swaps(self.orientation) {
            (h, w)
        } else {
            (w, h)
        }
    }

    fn get_pixel(&self, x: u32, y: u32) -> P {
        let (w, h) = self.inner.dimensions();
        let (sx, sy) = match self.orientation {
            Orientation::NoTransforms => (x, y),
            Orientation::FlipHorizontal => (w - 1 - x, y),
            Orientation::FlipVertical => (x, h - 1 - y),
            Orientation::Rotate180 => (w - 1 - x, h - 1 - y),
            Orientation::Rotate90 => (y, h - 1 - x),
            Orientation::Rotate270 => (w - 1 - y, x),
            Orientation::Rotate90FlipH => (y, x),
            Orientation::Rotate270FlipH => (w - 1 - y, h - 1 - x),
        };
        *self.inner.get_pixel(sx, sy)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ::image::{Rgb, RgbImage};

    fn sample(w: u32, h: u32) -> RgbImage {
        RgbImage::from_fn(w, h, |x, y| {
            Rgb([(x * 40) as u8, (y * 60) as u8, (x + y) as u8])
        })
    }

    #[test]
    fn oriented_view_matches_the_copying_transforms() {
        let img = sample(5, 3);
        for o in [
            Orientation::NoTransforms,
            Orientation::Rotate90,
            Orientation::Rotate180,
            Orientation::Rotate270,
            Orientation::FlipHorizontal,
            Orientation::FlipVertical,
            Orientation::Rotate90FlipH,
            Orientation::Rotate270FlipH,
        ] {
            let mut copy = DynamicImage::ImageRgb8(img.clone());
            copy.apply_orientation(o);
            let copy = copy.into_rgb8();
            let view = Oriented::new(&img, o);
            assert_eq!(view.dimensions(), copy.dimensions(), "{o:?}");
            for (x, y, p) in copy.enumerate_pixels() {
                assert_eq!(view.get_pixel(x, y), *p, "{o:?} at {x},{y}");
            }
        }
    }

    #[test]
    fn fit_keeps_the_aspect_and_never_enlarges() {
        assert_eq!(fit(4000, 3000, 640), (640, 480));
        assert_eq!(fit(3000, 4000, 640), (480, 640));
        assert_eq!(fit(100, 50, 640), (100, 50));
        assert_eq!(fit(10000, 1, 640), (640, 1));
    }

    #[test]
    fn pixel_cap() {
        assert!(check_pixels(4000, 3000).is_ok());
        assert!(check_pixels(4096, 4096).is_ok());
        assert_eq!(check_pixels(4097, 4096).unwrap_err().status(), 422);
        assert_eq!(check_pixels(0, 10).unwrap_err().status(), 422);
    }

    #[test]
    fn png_round_trip_with_thumbnail_and_blurhash() {
        let img = sample(1000, 500);
        let mut png = Vec::new();
        PngEncoder::new(&mut png)
            .write_image(img.as_raw(), 1000, 500, ::image::ExtendedColorType::Rgb8)
            .unwrap();
        let mut out = Vec::new();
        let p = process(&png, sniff::PNG, &mut out).unwrap();
        assert_eq!((p.width, p.height, p.kind), (1000, 500, sniff::PNG));
        assert_eq!((p.thumb.width, p.thumb.height), (640, 320));
        assert_eq!(p.thumb.kind, sniff::JPEG);
        assert!(p.blurhash.as_deref().is_some_and(|b| b.len() > 10));
        assert_eq!(sniff::sniff(&out, None), Some(sniff::PNG));
    }

    #[test]
    fn garbage_is_refused_with_422() {
        let e = process(b"\x89PNG\r\n\x1a\nnot really", sniff::PNG, &mut Vec::new()).unwrap_err();
        assert_eq!(e.status(), 422);
        let e = process(b"\xff\xd8\xff\xe0", sniff::JPEG, &mut Vec::new()).unwrap_err();
        assert_eq!(e.status(), 422);
    }
}
