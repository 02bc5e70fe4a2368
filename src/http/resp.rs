//! Answers: [`Resp`] (bytes, a file read as it is sent, or a protocol switch) and
//! turning one into a tiny_http response. The two halves of an upgraded connection
//! ([`Upgraded`]) are handed to the [`Upgrade`]'s callback once the `101` is written.

use crate::error::Result;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};

/// An HTTP response.
#[derive(Debug)]
pub struct Resp {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
    /// With status 101: what runs on the connection once the answer is written.
    pub upgrade: Option<Upgrade>,
    /// A body read from a file (or another reader) as it is sent, in place of `body`.
    pub file: Option<BodyFile>,
    /// A body written over time by a thread of its own, in place of `body`.
    pub stream: Option<super::stream::BodyStream>,
}

/// A response body streamed from a file or another reader of a known length; with
/// `remove`, the file is deleted once the answer is sent (or dropped).
pub struct BodyFile {
    file: Box<dyn Read + Send>,
    len: u64,
    remove: Option<PathBuf>,
}

impl std::fmt::Debug for BodyFile {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BodyFile")
            .field("len", &self.len)
            .field("remove", &self.remove)
            .finish_non_exhaustive()
    }
}

impl Read for BodyFile {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        self.file.read(buf)
    }
}

impl Drop for BodyFile {
    fn drop(&mut self) {
        if let Some(path) = self.remove.take() {
            let _ = std::fs::remove_file(path);
        }
    }
}

/// The two halves of an upgraded connection. They keep the connection's timeouts: a
/// read that waits longer than the idle timeout fails with `WouldBlock`/`TimedOut` and
/// may be retried; a write the client does not take within 30 s fails. Dropping both
/// closes the connection.
pub struct Upgraded {
    /// What the client sends after the handshake.
    pub reader: Box<dyn Read + Send>,
    /// What the server sends; buffered, so flush after each message.
    pub writer: Box<dyn Write + Send>,
}

/// A protocol switch asked for by a handler: `protocol` goes in the `Upgrade` header of
/// the 101 answer, and `run` is called with the connection in a new thread.
pub struct Upgrade {
    /// The protocol switched to (`websocket`).
    pub protocol: String,
    /// What runs on the connection, in a thread of its own.
    pub run: Box<dyn FnOnce(Upgraded) + Send>,
}

impl std::fmt::Debug for Upgrade {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Upgrade")
            .field("protocol", &self.protocol)
            .finish_non_exhaustive()
    }
}

impl Resp {
    /// A response with this status, no headers and no body.
    pub fn empty(status: u16) -> Resp {
        Resp {
            status,
            headers: Vec::new(),
            body: Vec::new(),
            upgrade: None,
            file: None,
            stream: None,
        }
    }

    /// An answer whose body `run` writes over time in a thread of its own, once the
    /// head is written (no length: chunked, or to the connection's end on HTTP/1.0).
    pub fn stream(status: u16, content_type: &str, run: super::stream::WriteBody) -> Resp {
        let mut resp = Resp::empty(status).with_header("Content-Type", content_type);
        resp.stream = Some(super::stream::BodyStream { run });
        resp
    }

    /// An answer whose body is the file at `path`, read as it is sent; `remove_after`
    /// deletes the file once the answer is done with (a temporary file).
    pub fn file(status: u16, content_type: &str, path: &Path, remove_after: bool) -> Result<Resp> {
        let opened = std::fs::File::open(path);
        if remove_after && opened.is_err() {
            let _ = std::fs::remove_file(path);
        }
        let file = opened?;
        let body = BodyFile {
            len: file.metadata()?.len(),
            file: Box::new(file),
            remove: remove_after.then(|| path.to_path_buf()),
        };
        let mut resp = Resp::empty(status).with_header("Content-Type", content_type);
        resp.file = Some(body);
        Ok(resp)
    }

    /// An answer whose body is `len` bytes read from `reader` as they are sent (a part
    /// of a file, an object passed on from the media bucket).
    pub fn reader(status: u16, content_type: &str, reader: Box<dyn Read + Send>, len: u64) -> Resp {
        let mut resp = Resp::empty(status).with_header("Content-Type", content_type);
        resp.file = Some(BodyFile {
            file: Box::new(reader.take(len)),
            len,
            remove: None,
        });
        resp
    }

    /// A `101 Switching Protocols` answer that hands the connection to `run` (in a
    /// thread of its own) once written. `Connection` and `Upgrade` headers are added.
    pub fn switching(protocol: &str, run: Box<dyn FnOnce(Upgraded) + Send>) -> Resp {
        let mut resp = Resp::empty(101);
        resp.upgrade = Some(Upgrade {
            protocol: protocol.to_string(),
            run,
        });
        resp
    }

    /// A response with a body of the given content type.
    pub fn bytes(status: u16, content_type: &str, body: Vec<u8>) -> Resp {
        Resp::empty(status)
            .with_header("Content-Type", content_type)
            .with_body(body)
    }

    /// A JSON response of the given content type (`application/json`, `application/activity+json` …).
    pub fn json_as(status: u16, content_type: &str, value: &serde_json::Value) -> Resp {
        let body = serde_json::to_vec(value).unwrap_or_else(|_| b"{}".to_vec());
        Resp::bytes(status, content_type, body)
    }

    /// An `application/json` response.
    pub fn json(status: u16, value: &serde_json::Value) -> Resp {
        Resp::json_as(status, "application/json; charset=utf-8", value)
    }

    /// A `text/html` response.
    pub fn html(status: u16, body: String) -> Resp {
        Resp::bytes(status, "text/html; charset=utf-8", body.into_bytes())
    }

    /// A `text/plain` response.
    pub fn text(status: u16, body: &str) -> Resp {
        Resp::bytes(
            status,
            "text/plain; charset=utf-8",
            body.as_bytes().to_vec(),
        )
    }

    /// A redirect with this status (301, 302, 303, 307, 308) to `location`.
    pub fn redirect(status: u16, location: &str) -> Resp {
        Resp::empty(status).with_header("Location", location)
    }

    /// Adds a header.
    pub fn with_header(mut self, name: &str, value: &str) -> Resp {
        self.headers.push((name.to_string(), value.to_string()));
        self
    }

    /// Sets a header, replacing any of the same name.
    pub fn set_header(mut self, name: &str, value: &str) -> Resp {
        self.headers.retain(|(n, _)| !n.eq_ignore_ascii_case(name));
        self.with_header(name, value)
    }

    /// Replaces the body.
    pub fn with_body(mut self, body: Vec<u8>) -> Resp {
        self.body = body;
        self
    }

    /// The first header with this name (any case).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// The tiny_http response that sends `resp` (its upgrade, if any, taken out before).
pub(super) fn to_tiny(resp: Resp) -> tiny_http::Response<Box<dyn Read + Send>> {
    let mut out = match resp.file {
        // A known length that fits is sent as Content-Length (so a download shows its
        // progress); a larger one (over 4 GiB on a 32-bit machine) goes chunked.
        Some(file) => {
            let len = usize::try_from(file.len).ok();
            tiny_http::Response::new(
                tiny_http::StatusCode(resp.status),
                Vec::new(),
                Box::new(file) as Box<dyn Read + Send>,
                len,
                None,
            )
            .with_chunked_threshold(usize::MAX)
        }
        None => {
            let len = resp.body.len();
            tiny_http::Response::new(
                tiny_http::StatusCode(resp.status),
                Vec::new(),
                Box::new(std::io::Cursor::new(resp.body)) as Box<dyn Read + Send>,
                Some(len),
                None,
            )
        }
    };
    for (name, value) in resp.headers {
        if let Ok(h) = tiny_http::Header::from_bytes(name.as_bytes(), value.as_bytes()) {
            out.add_header(h);
        }
    }
    out
}
