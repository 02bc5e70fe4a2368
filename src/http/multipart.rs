//! A strict `multipart/form-data` parser over a body already read within its cap
//! ([`parse`]), or streamed from a reader with each file part written out as it comes
//! ([`parse_stream`], for uploads too large for memory). No maintained synchronous
//! crate does this; this one accepts only what RFC 7578 allows: a boundary from the
//! Content-Type, CRLF line ends, a `Content-Disposition: form-data; name=…` header on
//! every part, and a closing delimiter.

use crate::error::{Error, Result};
use std::io::{Read, Write};

/// One part of a multipart body.
#[derive(Debug, Clone, PartialEq)]
pub struct Part<'a> {
    pub name: String,
    pub filename: Option<String>,
    pub content_type: Option<String>,
    pub data: &'a [u8],
}

/// The headers of one part.
#[derive(Debug, Clone, PartialEq)]
pub struct Head {
    pub name: String,
    pub filename: Option<String>,
    pub content_type: Option<String>,
}

/// Most parts accepted in one body.
const MAX_PARTS: usize = 64;
/// Longest preamble or part header block read by [`parse_stream`].
const MAX_HEAD: usize = 16 * 1024;
/// Longest field kept in memory by [`parse_stream`].
const MAX_FIELD: usize = 64 * 1024;
/// Bytes read at a time by [`parse_stream`].
const CHUNK: usize = 64 * 1024;

fn bad(why: &str) -> Error {
    Error::BadRequest(format!("malformed multipart body: {why}"))
}

/// The boundary named by a `multipart/form-data` Content-Type.
pub fn boundary(content_type: &str) -> Option<String> {
    let mut pieces = content_type.split(';');
    if !pieces
        .next()?
        .trim()
        .eq_ignore_ascii_case("multipart/form-data")
    {
        return None;
    }
    pieces.find_map(|p| {
        let (k, v) = p.split_once('=')?;
        if !k.trim().eq_ignore_ascii_case("boundary") {
            return None;
        }
        let v = v.trim().trim_matches('"');
        (!v.is_empty() && v.len() <= 70).then(|| v.to_string())
    })
}

fn find(haystack: &[u8], needle: &[u8], from: usize) -> Option<usize> {
    if needle.is_empty() || from > haystack.len() {
        return None;
    }
    haystack[from..]
        .windows(needle.len())
        .position(|w| w == needle)
        .map(|i| i + from)
}

/// Splits a body into its parts.
pub fn parse<'a>(body: &'a [u8], boundary: &str) -> Result<Vec<Part<'a>>> {
    let delimiter = format!("--{boundary}");
    let next_delimiter = format!("\r\n--{boundary}");
    let mut pos = find(body, delimiter.as_bytes(), 0).ok_or_else(|| bad("no opening boundary"))?;
    pos += delimiter.len();
    let mut parts = Vec::new();
    loop {
        if body[pos..].starts_with(b"--") {
            return Ok(parts);
        }
        if !body[pos..].starts_with(b"\r\n") {
            return Err(bad("boundary not followed by CRLF"));
        }
        pos += 2;
        let head_end = find(body, b"\r\n\r\n", pos).ok_or_else(|| bad("part headers never end"))?;
        let headers = std::str::from_utf8(&body[pos..head_end])
            .map_err(|_| bad("part headers are not UTF-8"))?;
        let data_start = head_end + 4;
        let data_end = find(body, next_delimiter.as_bytes(), data_start)
            .ok_or_else(|| bad("no closing boundary"))?;
        let head = head(headers)?;
        parts.push(Part {
            name: head.name,
            filename: head.filename,
            content_type: head.content_type,
            data: &body[data_start..data_end],
        });
        if parts.len() > MAX_PARTS {
            return Err(bad("too many parts"));
        }
        pos = data_end + next_delimiter.len();
    }
}

fn head(headers: &str) -> Result<Head> {
    let mut name = None;
    let mut filename = None;
    let mut content_type = None;
    for line in headers.split("\r\n") {
        let (key, value) = line
            .split_once(':')
            .ok_or_else(|| bad("a part header without a colon"))?;
        match key.trim().to_ascii_lowercase().as_str() {
            "content-disposition" => {
                let mut fields = value.split(';');
                if fields.next().map(str::trim) != Some("form-data") {
                    return Err(bad("Content-Disposition is not form-data"));
                }
                for field in fields {
                    let Some((k, v)) = field.split_once('=') else {
                        continue;
                    };
                    let v = v.trim().trim_matches('"').to_string();
                    match k.trim().to_ascii_lowercase().as_str() {
                        "name" => name = Some(v),
                        "filename" => filename = Some(v),
                        _ => {}
                    }
                }
            }
            "content-type" => content_type = Some(value.trim().to_string()),
            _ => {}
        }
    }
    let name = name
        .filter(|n| !n.is_empty())
        .ok_or_else(|| bad("a part without a name"))?;
    Ok(Head {
        name,
        filename,
        content_type,
    })
}

/// Where [`parse_stream`] puts the data of a part.
pub enum Target {
    /// Kept in memory (at most 64 KiB) and returned.
    Keep,
    /// Written out as it is read; flushed when the part ends.
    Write(Box<dyn Write>),
    /// Read past.
    Skip,
}

/// A reader with a window of unconsumed bytes.
struct Window<R> {
    reader: R,
    data: Vec<u8>,
    eof: bool,
}

impl<R: Read> Window<R> {
    /// Reads one more chunk (or up to the end, noting it).
    fn more(&mut self) -> Result<()> {
        let n = (&mut self.reader)
            .take(CHUNK as u64)
            .read_to_end(&mut self.data)?;
        self.eof = n == 0;
        Ok(())
    }

    /// Where `needle` starts, reading on while it is not found within `max` bytes.
    fn find(&mut self, needle: &[u8], max: usize) -> Result<Option<usize>> {
        loop {
            if let Some(at) = find(&self.data, needle, 0) {
                return Ok(Some(at));
            }
            if self.eof || self.data.len() > max {
                return Ok(None);
            }
            self.more()?;
        }
    }

    /// Makes at least `n` bytes available, if the reader has them.
    fn fill(&mut self, n: usize) -> Result<()> {
        while self.data.len() < n && !self.eof {
            self.more()?;
        }
        Ok(())
    }

    fn consume(&mut self, n: usize) {
        self.data.drain(..n);
    }
}

/// Parses a streamed body: `target` says, for each part's headers, where its data
/// goes. Returns the kept parts. Memory stays within a few chunks whatever the size
/// of the written parts.
pub fn parse_stream<R: Read>(
    reader: R,
    boundary: &str,
    mut target: impl FnMut(&Head) -> Result<Target>,
) -> Result<Vec<(Head, Vec<u8>)>> {
    let opening = format!("--{boundary}");
    let delimiter = format!("\r\n--{boundary}");
    let mut w = Window {
        reader,
        data: Vec::with_capacity(2 * CHUNK),
        eof: false,
    };
    let at = w
        .find(opening.as_bytes(), MAX_HEAD)?
        .ok_or_else(|| bad("no opening boundary"))?;
    w.consume(at + opening.len());
    let mut kept = Vec::new();
    let mut count = 0;
    loop {
        w.fill(2)?;
        if w.data.starts_with(b"--") {
            return Ok(kept);
        }
        if !w.data.starts_with(b"\r\n") {
            return Err(bad("boundary not followed by CRLF"));
        }
        w.consume(2);
        let end = w
            .find(b"\r\n\r\n", MAX_HEAD)?
            .ok_or_else(|| bad("part headers never end"))?;
        let part = head(
            std::str::from_utf8(&w.data[..end]).map_err(|_| bad("part headers are not UTF-8"))?,
        )?;
        w.consume(end + 4);
        count += 1;
        if count > MAX_PARTS {
            return Err(bad("too many parts"));
        }
        let mut dest = target(&part)?;
        let mut field = Vec::new();
        let mut emit = |bytes: &[u8], dest: &mut Target| -> Result<()> {
            match dest {
                Target::Keep if field.len() + bytes.len() > MAX_FIELD => {
                    Err(bad(&format!("the field {} is too long", part.name)))
                }
                Target::Keep => {
                    field.extend_from_slice(bytes);
                    Ok(())
                }
                Target::Write(out) => Ok(out.write_all(bytes)?),
                Target::Skip => Ok(()),
            }
        };
        loop {
            if let Some(at) = find(&w.data, delimiter.as_bytes(), 0) {
                emit(&w.data[..at], &mut dest)?;
                w.consume(at + delimiter.len());
                break;
            }
            if w.eof {
                return Err(bad("no closing boundary"));
            }
            // All but what could be the start of a delimiter goes out now.
            let safe = w.data.len().saturating_sub(delimiter.len() - 1);
            emit(&w.data[..safe], &mut dest)?;
            w.consume(safe);
            w.more()?;
        }
        match dest {
            Target::Write(mut out) => out.flush()?,
            Target::Keep => kept.push((part, field)),
            Target::Skip => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const B: &str = "XyZ123";

    fn body(parts: &[(&str, Option<&str>, &[u8])]) -> Vec<u8> {
        let mut out = Vec::new();
        for (name, file, data) in parts {
            out.extend_from_slice(format!("--{B}\r\n").as_bytes());
            match file {
                Some(f) => out.extend_from_slice(
                    format!("Content-Disposition: form-data; name=\"{name}\"; filename=\"{f}\"\r\nContent-Type: image/png\r\n\r\n").as_bytes(),
                ),
                None => out.extend_from_slice(format!("Content-Disposition: form-data; name=\"{name}\"\r\n\r\n").as_bytes()),
            }
            out.extend_from_slice(data);
            out.extend_from_slice(b"\r\n");
        }
        out.extend_from_slice(format!("--{B}--\r\n").as_bytes());
        out
    }

    #[test]
    fn boundaries() {
        assert_eq!(
            boundary("multipart/form-data; boundary=abc").as_deref(),
            Some("abc")
        );
        assert_eq!(
            boundary("Multipart/Form-Data; charset=utf-8; boundary=\"a b\"").as_deref(),
            Some("a b")
        );
        assert_eq!(boundary("multipart/mixed; boundary=abc"), None);
        assert_eq!(boundary("multipart/form-data"), None);
        assert_eq!(
            boundary(&format!("multipart/form-data; boundary={}", "x".repeat(71))),
            None
        );
    }

    #[test]
    fn parses_fields_and_files_with_odd_bytes() {
        // File data containing CRLF, dashes and a near-boundary must survive exactly.
        let data: &[u8] = b"\x89PNG\r\n--XyZ12\r\n\r\n--XyZ12 end\r\n--";
        let b = body(&[
            ("description", None, b"alt text"),
            ("file", Some("a.png"), data),
            ("empty", None, b""),
        ]);
        let parts = parse(&b, B).unwrap();
        assert_eq!(parts.len(), 3);
        assert_eq!(parts[0].name, "description");
        assert_eq!(parts[0].data, b"alt text");
        assert_eq!(parts[1].filename.as_deref(), Some("a.png"));
        assert_eq!(parts[1].content_type.as_deref(), Some("image/png"));
        assert_eq!(parts[1].data, data);
        assert_eq!(parts[2].data, b"");
    }

    #[test]
    fn refuses_malformed_bodies() {
        let good = body(&[("a", None, b"1")]);
        let cases: Vec<(Vec<u8>, &str)> = vec![
            (b"no boundary here".to_vec(), "no opening boundary"),
            (good[..good.len() - 9].to_vec(), "no closing boundary"),
            (
                format!("--{B}\r\nContent-Disposition: form-data\r\n\r\nx\r\n--{B}--").into_bytes(),
                "without a name",
            ),
            (
                format!("--{B}\r\nContent-Disposition: attachment; name=\"a\"\r\n\r\nx\r\n--{B}--")
                    .into_bytes(),
                "not form-data",
            ),
            (
                format!("--{B}\r\nBroken header\r\n\r\nx\r\n--{B}--").into_bytes(),
                "without a colon",
            ),
            (
                format!("--{B}\r\nContent-Disposition: form-data; name=\"a\"").into_bytes(),
                "never end",
            ),
            (format!("--{B}junk").into_bytes(), "CRLF"),
        ];
        for (b, why) in cases {
            let err = parse(&b, B).unwrap_err().public_message();
            assert!(err.contains(why), "{why}: {err}");
        }
        let many: Vec<(&str, Option<&str>, &[u8])> =
            (0..70).map(|_| ("a", None, &b"1"[..])).collect();
        assert!(parse(&body(&many), B).is_err());
    }

    /// A reader that hands out at most `step` bytes a call.
    struct Trickle<'a> {
        data: &'a [u8],
        step: usize,
    }

    impl Read for Trickle<'_> {
        fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
            let n = self.step.min(buf.len()).min(self.data.len());
            buf[..n].copy_from_slice(&self.data[..n]);
            self.data = &self.data[n..];
            Ok(n)
        }
    }

    /// A writer whose bytes can be looked at after it was handed away.
    #[derive(Clone, Default)]
    struct Shared(std::rc::Rc<std::cell::RefCell<Vec<u8>>>);

    impl Write for Shared {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.0.borrow_mut().extend_from_slice(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn streamed_parts_match_the_whole_body_parser_in_any_chunking() {
        let tricky: &[u8] = b"\x89PNG\r\n--XyZ12\r\n\r\n--XyZ12 end\r\n--\r\n-XyZ123x";
        let big: Vec<u8> = (0..200_000u32).map(|i| (i % 251) as u8).collect();
        let b = body(&[
            ("csrf", None, b"token"),
            ("file", Some("a.zip"), tricky),
            ("big", Some("b.bin"), &big),
            ("empty", None, b""),
            ("skipped", Some("c.txt"), b"ignored"),
        ]);
        for step in [1, 2, 3, 7, 41, 4096, 1 << 20] {
            let files: Vec<Shared> = vec![Shared::default(), Shared::default()];
            let mut next = 0;
            let kept = parse_stream(Trickle { data: &b, step }, B, |h| {
                Ok(match h.filename.as_deref() {
                    Some("c.txt") => Target::Skip,
                    Some(_) => {
                        next += 1;
                        Target::Write(Box::new(files[next - 1].clone()))
                    }
                    None => Target::Keep,
                })
            })
            .unwrap();
            assert_eq!(kept.len(), 2, "step {step}");
            assert_eq!(kept[0].0.name, "csrf");
            assert_eq!(kept[0].1, b"token");
            assert_eq!(kept[1].0.name, "empty");
            assert_eq!(kept[1].1, b"");
            assert_eq!(&*files[0].0.borrow(), tricky, "step {step}");
            assert_eq!(&*files[1].0.borrow(), &big, "step {step}");
        }
    }

    #[test]
    fn streamed_refusals_name_the_problem() {
        let good = body(&[("a", None, b"1")]);
        let long = body(&[("a", None, &[b'x'; MAX_FIELD + 1])]);
        let cases: Vec<(Vec<u8>, &str)> = vec![
            (b"no boundary here".to_vec(), "no opening boundary"),
            (good[..good.len() - 9].to_vec(), "no closing boundary"),
            (
                format!("--{B}\r\nContent-Disposition: form-data\r\n\r\nx\r\n--{B}--").into_bytes(),
                "without a name",
            ),
            (
                format!("--{B}\r\nContent-Disposition: form-data; name=\"a\"").into_bytes(),
                "never end",
            ),
            (format!("--{B}junk").into_bytes(), "CRLF"),
            (long, "too long"),
        ];
        for (b, why) in cases {
            let err = parse_stream(Trickle { data: &b, step: 5 }, B, |_| Ok(Target::Keep))
                .unwrap_err()
                .public_message();
            assert!(err.contains(why), "{why}: {err}");
        }
    }
}
