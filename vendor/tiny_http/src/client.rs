use ascii::AsciiString;

use std::io::Error as IoError;
use std::io::Result as IoResult;
use std::io::{BufReader, BufWriter, ErrorKind, Read, Write};

use std::net::SocketAddr;
use std::str::FromStr;
use std::sync::Arc;

use crate::common::{HTTPVersion, Header, Method};
use crate::connection::Connection;
use crate::util::{Pace, PaceLimits, Paced, RefinedTcpStream};
use crate::util::{SequentialReader, SequentialReaderBuilder, SequentialWriterBuilder};
use crate::{ConnectionLimits, Request};

/// kith patch: the longest request line, and the longest header line (without CRLF).
pub(crate) const MAX_LINE: usize = 8 * 1024;
/// kith patch: the most bytes of request line and headers together.
pub(crate) const MAX_HEAD: usize = 64 * 1024;
/// kith patch: the most header lines in one request.
pub(crate) const MAX_HEADERS: usize = 100;

type Source = BufReader<Paced<RefinedTcpStream>>;
type Sink = BufWriter<Paced<RefinedTcpStream>>;

/// A ClientConnection is an object that will store a socket to a client
/// and return Request objects.
pub struct ClientConnection {
    // address of the client
    remote_addr: Option<SocketAddr>,

    // sequence of Readers to the stream, so that the data is not read in
    //  the wrong order
    source: SequentialReaderBuilder<Source>,

    // sequence of Writers to the stream, to avoid writing response #2 before
    //  response #1
    sink: SequentialWriterBuilder<Sink>,

    // Reader to read the next header from
    next_header_source: SequentialReader<Source>,

    // set to true if we know that the previous request is the last one
    no_more_requests: bool,

    // kith patch: the deadlines of this connection's reads and writes
    pace: Arc<Pace>,
}

/// Error that can happen when reading a request.
#[derive(Debug)]
enum ReadError {
    WrongRequestLine,
    WrongHeader(HTTPVersion),
    /// kith patch: a line, the whole head or the number of headers over its cap (431)
    HeadTooLarge(HTTPVersion),
    /// kith patch: a transfer coding other than `chunked` alone (501)
    UnsupportedCoding(HTTPVersion),
    /// the client sent an unrecognized `Expect` header
    ExpectationFailed(HTTPVersion),
    ReadIoError(IoError),
}

/// kith patch: why a line could not be read.
enum LineError {
    TooLong,
    NotAscii,
    Io(IoError),
}

impl ClientConnection {
    /// Creates a new `ClientConnection` that takes ownership of the connection, held to
    /// `limits` (kith patch: fails rather than panics when the socket cannot be cloned).
    pub fn new(mut sock: Connection, limits: &ConnectionLimits) -> IoResult<ClientConnection> {
        sock.set_timeouts(Some(limits.read_timeout), Some(limits.write_timeout))?;
        let remote_addr = sock.peer_addr().ok().flatten();
        let pace = Pace::new(
            sock.try_clone()?,
            PaceLimits {
                idle: limits.read_timeout,
                write: limits.write_timeout,
                head: limits.head_timeout,
                grace: limits.min_rate_grace,
                min_rate: limits.min_rate,
            },
        );
        let (read_socket, write_socket) = RefinedTcpStream::new(sock)?;
        let reader = BufReader::with_capacity(1024, Paced::new(read_socket, pace.clone()));
        let writer = BufWriter::with_capacity(1024, Paced::new(write_socket, pace.clone()));
        let mut source = SequentialReaderBuilder::new(reader);
        let first_header = source.next_reader();

        Ok(ClientConnection {
            source,
            sink: SequentialWriterBuilder::new(writer),
            remote_addr,
            next_header_source: first_header,
            no_more_requests: false,
            pace,
        })
    }

    /// true if the connection is HTTPS
    pub fn secure(&self) -> bool {
        false
    }

    /// Reads the next line from self.next_header_source.
    ///
    /// Reads until `CRLF` is reached. The next read will start
    ///  at the first byte of the new line. kith patch: stops reading past `MAX_LINE`
    ///  bytes; with `first`, the head's deadline starts at the line's first byte.
    fn read_next_line(&mut self, first: bool) -> Result<AsciiString, LineError> {
        let mut buf = Vec::new();
        let mut prev_byte_was_cr = false;

        loop {
            let byte = self.next_header_source.by_ref().bytes().next();

            let byte = match byte {
                Some(Ok(b)) => b,
                Some(Err(e)) => return Err(LineError::Io(e)),
                None => {
                    return Err(LineError::Io(IoError::new(
                        ErrorKind::ConnectionAborted,
                        "Unexpected EOF",
                    )))
                }
            };
            if first && buf.is_empty() {
                self.pace.head_started();
            }

            if byte == b'\n' && prev_byte_was_cr {
                buf.pop(); // removing the '\r'
                return AsciiString::from_ascii(buf).map_err(|_| LineError::NotAscii);
            }

            prev_byte_was_cr = byte == b'\r';

            buf.push(byte);
            // the CR of the line's end may be the last byte allowed
            if buf.len() > MAX_LINE + 1 {
                return Err(LineError::TooLong);
            }
        }
    }

    /// Reads a request from the stream.
    /// Blocks until the header has been read.
    fn read(&mut self) -> Result<Request, ReadError> {
        self.pace.await_request();
        // reading the request line
        let line = match self.read_next_line(true) {
            Ok(line) => line,
            Err(LineError::TooLong) => return Err(ReadError::HeadTooLarge(HTTPVersion(1, 1))),
            Err(LineError::NotAscii) => return Err(ReadError::WrongRequestLine),
            Err(LineError::Io(e)) => return Err(ReadError::ReadIoError(e)),
        };
        let (method, path, version) = parse_request_line(
            line.as_str().trim(), // TODO: remove this conversion
        )?;

        // getting all headers
        let mut head_bytes = line.len() + 2;
        let mut headers: Vec<Header> = Vec::new();
        loop {
            let line = match self.read_next_line(false) {
                Ok(line) => line,
                Err(LineError::TooLong) => return Err(ReadError::HeadTooLarge(version)),
                Err(LineError::NotAscii) => return Err(ReadError::WrongHeader(version)),
                Err(LineError::Io(e)) => return Err(ReadError::ReadIoError(e)),
            };
            if line.is_empty() {
                break;
            }
            head_bytes += line.len() + 2;
            if head_bytes > MAX_HEAD || headers.len() >= MAX_HEADERS {
                return Err(ReadError::HeadTooLarge(version));
            }
            // kith patch: a line folded onto the previous header (obs-fold) is refused,
            // not taken as a header of its own.
            if line.as_bytes().first().map_or(false, |b| *b == b' ' || *b == b'\t') {
                return Err(ReadError::WrongHeader(version));
            }
            headers.push(match FromStr::from_str(line.as_str().trim()) {
                // TODO: remove this conversion
                Ok(h) => h,
                _ => return Err(ReadError::WrongHeader(version)),
            });
        }

        // kith patch: the body is held to the minimum rate from here; an upgraded
        // connection only to the idle timeout.
        let upgrading = headers.iter().any(|h| {
            h.field.equiv("Connection") && h.value.as_str().to_ascii_lowercase().contains("upgrade")
        });
        if upgrading {
            self.pace.plain();
        } else {
            self.pace.body_started();
        }

        // building the writer for the request
        let writer = self.sink.next_writer();

        // follow-up for next potential request
        let mut data_source = self.source.next_reader();
        std::mem::swap(&mut self.next_header_source, &mut data_source);

        // building the next reader
        let request = crate::request::new_request(
            false,
            method,
            path,
            version.clone(),
            headers,
            self.remote_addr,
            data_source,
            writer,
        )
        .map_err(|e| {
            use crate::request;
            match e {
                request::RequestCreationError::CreationIoError(e) => ReadError::ReadIoError(e),
                // kith patch: answered 400 and closed, as a malformed header is.
                request::RequestCreationError::BadContentLength => ReadError::WrongHeader(version),
                request::RequestCreationError::AmbiguousLength => ReadError::WrongHeader(version),
                request::RequestCreationError::UnsupportedCoding => {
                    ReadError::UnsupportedCoding(version)
                }
                request::RequestCreationError::ExpectationFailed => {
                    ReadError::ExpectationFailed(version)
                }
            }
        })?;

        Ok(request.with_pace(self.pace.clone()))
    }

    /// kith patch: answers a request that cannot be read on with an empty `status`,
    /// then ends the connection (its next request could not be found).
    /// kith patch: never inlined, so the answer's buffers are on the stack only while
    /// a refusal is written, not in the frame of every read.
    #[inline(never)]
    #[cold]
    fn refuse(&mut self, status: u16, version: HTTPVersion) {
        use crate::{Response, StatusCode};
        let mut writer = self.sink.next_writer();
        self.pace.answer_started();
        let response = Response::new_empty(StatusCode(status))
            .with_header(Header::from_bytes(&b"Connection"[..], &b"close"[..]).unwrap());
        if response.raw_print(&mut writer, version, &[], false, None).is_ok() {
            let _ = writer.flush();
        }
        drop(writer);
        self.end();
    }

    /// kith patch: no more requests are read; what the client still sends is drained
    /// for a moment so that the last answer reaches it.
    #[inline(never)]
    fn end(&mut self) {
        self.no_more_requests = true;
        self.pace.linger();
    }
}

impl Iterator for ClientConnection {
    type Item = Request;

    /// Blocks until the next Request is available.
    /// Returns None when no new Requests will come from the client.
    fn next(&mut self) -> Option<Request> {
        // the client sent a "connection: close" header in this previous request
        //  or is using HTTP 1.0, meaning that no new request will come
        if self.no_more_requests {
            return None;
        }
        // kith patch: the previous request's answer asked for the connection to end.
        if self.pace.closing() {
            self.end();
            return None;
        }

        let rq = match self.read() {
            Err(ReadError::WrongRequestLine) => {
                self.refuse(400, HTTPVersion(1, 1));
                return None;
            }
            Err(ReadError::WrongHeader(ver)) => {
                self.refuse(400, ver);
                return None;
            }
            Err(ReadError::HeadTooLarge(ver)) => {
                self.refuse(431, ver);
                return None;
            }
            Err(ReadError::UnsupportedCoding(ver)) => {
                self.refuse(501, ver);
                return None;
            }
            Err(ReadError::ReadIoError(ref err)) if err.kind() == ErrorKind::TimedOut => {
                // request timeout
                self.refuse(408, HTTPVersion(1, 1));
                return None;
            }
            Err(ReadError::ExpectationFailed(ver)) => {
                self.refuse(417, ver);
                return None;
            }
            Err(ReadError::ReadIoError(_)) => return None,
            Ok(rq) => rq,
        };

        // checking HTTP version
        if *rq.http_version() > (1, 1) {
            // kith patch: closed after the answer, as its body was not read.
            rq.close_connection();
            let response = crate::Response::from_string(
                "This server only supports HTTP versions 1.0 and 1.1".to_owned(),
            )
            .with_status_code(crate::StatusCode(505))
            .with_header(Header::from_bytes(&b"Connection"[..], &b"close"[..]).unwrap());
            let _ = rq.respond(response);
            self.end();
            return None;
        }

        // updating the status of the connection
        let connection_header = rq
            .headers()
            .iter()
            .find(|h| h.field.equiv("Connection"))
            .map(|h| h.value.as_str());

        let lowercase = connection_header.map(|h| h.to_ascii_lowercase());

        match lowercase {
            Some(ref val) if val.contains("close") => self.no_more_requests = true,
            Some(ref val) if val.contains("upgrade") => self.no_more_requests = true,
            Some(ref val)
                if !val.contains("keep-alive") && *rq.http_version() == HTTPVersion(1, 0) =>
            {
                self.no_more_requests = true
            }
            None if *rq.http_version() == HTTPVersion(1, 0) => self.no_more_requests = true,
            _ => (),
        };

        // returning the request
        Some(rq)
    }
}

/// Parses a "HTTP/1.1" string.
fn parse_http_version(version: &str) -> Result<HTTPVersion, ReadError> {
    let (major, minor) = match version {
        "HTTP/0.9" => (0, 9),
        "HTTP/1.0" => (1, 0),
        "HTTP/1.1" => (1, 1),
        "HTTP/2.0" => (2, 0),
        "HTTP/3.0" => (3, 0),
        _ => return Err(ReadError::WrongRequestLine),
    };

    Ok(HTTPVersion(major, minor))
}

/// Parses the request line of the request.
/// eg. GET / HTTP/1.1
fn parse_request_line(line: &str) -> Result<(Method, String, HTTPVersion), ReadError> {
    let mut parts = line.split(' ');

    let method = parts.next().and_then(|w| w.parse().ok());
    let path = parts.next().map(ToOwned::to_owned);
    let version = parts.next().and_then(|w| parse_http_version(w).ok());

    method
        .and_then(|method| Some((method, path?, version?)))
        .ok_or(ReadError::WrongRequestLine)
}

#[cfg(test)]
mod test {
    #[test]
    fn test_parse_request_line() {
        let (method, path, ver) = super::parse_request_line("GET /hello HTTP/1.1").unwrap();

        assert!(method == crate::Method::Get);
        assert!(path == "/hello");
        assert!(ver == crate::common::HTTPVersion(1, 1));

        assert!(super::parse_request_line("GET /hello").is_err());
        assert!(super::parse_request_line("qsd qsd qsd").is_err());
    }
}
