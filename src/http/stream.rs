//! Answers whose body is written over time by a thread of their own (the streaming
//! API's server-sent events): the handler returns a [`Resp::stream`], the head is
//! written here with no length, and the callback then gets the connection's writing
//! half in a new thread, so the request thread is free again at once. On HTTP/1.1 the
//! body is chunked and ends with the last chunk when the callback is done (the client
//! sees the answer end even while the connection stays open); on HTTP/1.0 it ends when
//! the connection closes.

use super::Resp;
use std::io::{self, Write};

/// What writes a streamed body, given the connection's writer.
pub type WriteBody = Box<dyn FnOnce(&mut dyn Write) + Send>;

/// A body written over time: `run` gets the writer (flush after each message) in a
/// thread of its own; the answer ends when it returns.
pub struct BodyStream {
    /// What writes the body.
    pub run: WriteBody,
}

impl std::fmt::Debug for BodyStream {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BodyStream").finish_non_exhaustive()
    }
}

/// Writes a streamed answer's head and starts its writer thread. Returns the status.
pub(super) fn hand_over(rq: tiny_http::Request, resp: Resp, body: BodyStream) -> u16 {
    let http11 = *rq.http_version() >= (1, 1);
    let status = resp.status;
    let mut head = format!(
        "HTTP/1.{} {status} {}\r\n",
        u8::from(http11),
        reason(status)
    );
    for (name, value) in &resp.headers {
        // Internal values, but never let one break the head.
        if !name.contains(['\r', '\n', ':']) && !value.contains(['\r', '\n']) {
            head.push_str(&format!("{name}: {value}\r\n"));
        }
    }
    head.push_str(match http11 {
        true => "Transfer-Encoding: chunked\r\n\r\n",
        false => "Connection: close\r\n\r\n",
    });
    let mut raw = rq.into_writer();
    if raw
        .write_all(head.as_bytes())
        .and_then(|()| raw.flush())
        .is_err()
    {
        return status;
    }
    let spawned = std::thread::Builder::new()
        .name("body-stream".into())
        .stack_size(256 * 1024)
        .spawn(move || {
            if http11 {
                let mut chunked = Chunked { inner: raw };
                (body.run)(&mut chunked);
                let _ = chunked.finish();
            } else {
                (body.run)(&mut raw);
            }
        });
    if let Err(e) = spawned {
        eprintln!("stream: cannot start a thread: {e}");
    }
    status
}

fn reason(status: u16) -> &'static str {
    match status {
        200 => "OK",
        _ => "Unknown",
    }
}

/// HTTP/1.1 chunked coding: each write is one chunk.
struct Chunked {
    inner: Box<dyn Write + Send>,
}

impl Chunked {
    /// Writes the last chunk.
    fn finish(&mut self) -> io::Result<()> {
        self.inner.write_all(b"0\r\n\r\n")?;
        self.inner.flush()
    }
}

impl Write for Chunked {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        if buf.is_empty() {
            return Ok(0);
        }
        self.inner
            .write_all(format!("{:x}\r\n", buf.len()).as_bytes())?;
        self.inner.write_all(buf)?;
        self.inner.write_all(b"\r\n")?;
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::{Arc, Mutex};

    #[derive(Clone, Default)]
    struct Shared(Arc<Mutex<Vec<u8>>>);

    impl Write for Shared {
        fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn chunks_and_the_last_chunk() {
        let out = Shared::default();
        let mut c = Chunked {
            inner: Box::new(out.clone()),
        };
        c.write_all(b"event: x\n\n").unwrap();
        c.write_all(b"").unwrap();
        c.finish().unwrap();
        let bytes = out.0.lock().unwrap().clone();
        assert_eq!(bytes, b"a\r\nevent: x\n\n\r\n0\r\n\r\n");
    }
}
