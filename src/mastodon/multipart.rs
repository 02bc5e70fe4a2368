//! A strict `multipart/form-data` parser over a body already read within its cap.
//! No maintained synchronous crate does this; this one accepts only what RFC 7578
//! allows: a boundary from the Content-Type, CRLF line ends, a `Content-Disposition:
//! form-data; name=…` header on every part, and a closing delimiter.

use crate::error::{Error, Result};

/// One part of a multipart body.
#[derive(Debug, Clone, PartialEq)]
pub struct Part<'a> {
    pub name: String,
    pub filename: Option<String>,
    pub content_type: Option<String>,
    pub data: &'a [u8],
}

/// Most parts accepted in one body.
const MAX_PARTS: usize = 64;

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
        parts.push(part(headers, &body[data_start..data_end])?);
        if parts.len() > MAX_PARTS {
            return Err(bad("too many parts"));
        }
        pos = data_end + next_delimiter.len();
    }
}

fn part<'a>(headers: &str, data: &'a [u8]) -> Result<Part<'a>> {
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
    Ok(Part {
        name,
        filename,
        content_type,
        data,
    })
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
}
