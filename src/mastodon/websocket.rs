//! WebSocket framing (RFC 6455) for the streaming API, and nothing more: the
//! handshake's accept key, the frames the server writes (text, ping, pong and close;
//! never masked, never fragmented), and a strict reader of the client's frames (masked,
//! small, control frames whole), which reassembles fragmented messages within a size
//! cap. What the frames mean is `streaming`'s business.

use crate::error::{Error, Result};
use base64::Engine as _;
use std::io::{ErrorKind, Read};

/// The GUID RFC 6455 appends to the client's key.
const GUID: &str = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";

/// Opcodes.
const CONTINUATION: u8 = 0x0;
const TEXT: u8 = 0x1;
const BINARY: u8 = 0x2;
const CLOSE: u8 = 0x8;
const PING: u8 = 0x9;
const PONG: u8 = 0xA;

/// Close codes the server sends.
pub const CLOSE_NORMAL: u16 = 1000;
/// The server is going away (shutdown).
pub const CLOSE_GOING_AWAY: u16 = 1001;
/// The client broke the protocol.
pub const CLOSE_PROTOCOL: u16 = 1002;
/// A message was larger than the reader accepts.
pub const CLOSE_TOO_BIG: u16 = 1009;
/// The stream was ended by policy (a revoked token, a client that cannot keep up).
pub const CLOSE_POLICY: u16 = 1008;

/// `Sec-WebSocket-Accept` for a client's `Sec-WebSocket-Key`.
pub fn accept_key(key: &str) -> String {
    let digest = ring::digest::digest(
        &ring::digest::SHA1_FOR_LEGACY_USE_ONLY,
        format!("{}{GUID}", key.trim()).as_bytes(),
    );
    base64::engine::general_purpose::STANDARD.encode(digest.as_ref())
}

/// Whether a `Sec-WebSocket-Key` is what RFC 6455 asks for: 16 bytes in base64.
pub fn valid_key(key: &str) -> bool {
    base64::engine::general_purpose::STANDARD
        .decode(key.trim())
        .is_ok_and(|b| b.len() == 16)
}

/// One unmasked, final frame.
fn frame(opcode: u8, payload: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(payload.len() + 10);
    out.push(0x80 | opcode);
    match payload.len() {
        n if n < 126 => out.push(n as u8),
        n if n <= 0xFFFF => {
            out.push(126);
            out.extend_from_slice(&(n as u16).to_be_bytes());
        }
        n => {
            out.push(127);
            out.extend_from_slice(&(n as u64).to_be_bytes());
        }
    }
    out.extend_from_slice(payload);
    out
}

/// A text frame.
pub fn text(message: &str) -> Vec<u8> {
    frame(TEXT, message.as_bytes())
}

/// A ping frame (the heartbeat).
pub fn ping(payload: &[u8]) -> Vec<u8> {
    frame(PING, &payload[..payload.len().min(125)])
}

/// A pong frame answering a client's ping.
pub fn pong(payload: &[u8]) -> Vec<u8> {
    frame(PONG, &payload[..payload.len().min(125)])
}

/// A close frame with a status code and a reason (cut to fit a control frame).
pub fn close(code: u16, reason: &str) -> Vec<u8> {
    let mut payload = code.to_be_bytes().to_vec();
    let mut end = reason.len().min(123);
    while !reason.is_char_boundary(end) {
        end -= 1;
    }
    payload.extend_from_slice(&reason.as_bytes()[..end]);
    frame(CLOSE, &payload)
}

/// What the client sent, one message at a time.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Incoming {
    /// A whole text message.
    Text(String),
    /// A whole binary message (the streaming API ignores these).
    Binary(Vec<u8>),
    /// A ping, to be answered with a pong of the same payload.
    Ping(Vec<u8>),
    /// A pong (an answer to the heartbeat).
    Pong,
    /// The client closes, with its status code if it gave one.
    Close(Option<u16>),
    /// Nothing arrived before the connection's read timeout; reading may go on.
    Idle,
    /// The connection ended without a close frame.
    Eof,
    /// The client broke the protocol or sent too much; close with this code.
    Invalid(u16),
}

/// What reading one frame gave.
enum Step {
    /// A frame: FIN, opcode and the unmasked payload.
    Frame(bool, u8, Vec<u8>),
    /// Interrupted before any byte; read again.
    Retry,
    /// A condition that ends this read.
    Done(Incoming),
}

/// Reads the client's frames and reassembles its messages (at most `max` bytes each).
pub struct FrameReader<R> {
    inner: R,
    max: usize,
    /// The opcode and data of a fragmented message still arriving.
    partial: Option<(u8, Vec<u8>)>,
}

impl<R: Read> FrameReader<R> {
    /// A reader of messages of at most `max` bytes.
    pub fn new(inner: R, max: usize) -> FrameReader<R> {
        FrameReader {
            inner,
            max,
            partial: None,
        }
    }

    /// The next message, control frame or condition.
    pub fn read_message(&mut self) -> Result<Incoming> {
        loop {
            match self.frame()? {
                Step::Frame(fin, opcode, payload) => {
                    if let Some(incoming) = self.assemble(fin, opcode, payload) {
                        return Ok(incoming);
                    }
                }
                Step::Retry => {}
                Step::Done(incoming) => return Ok(incoming),
            }
        }
    }

    /// Reads one frame, unmasked.
    fn frame(&mut self) -> Result<Step> {
        let mut head = [0u8; 2];
        match self.inner.read(&mut head[..1]) {
            Ok(0) => return Ok(Step::Done(Incoming::Eof)),
            Ok(_) => {}
            Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {
                return Ok(Step::Done(Incoming::Idle));
            }
            Err(e) if e.kind() == ErrorKind::Interrupted => return Ok(Step::Retry),
            Err(e) => return Err(Error::Io(e)),
        }
        self.exact(&mut head[1..])?;
        let (fin, rsv, opcode) = (head[0] & 0x80 != 0, head[0] & 0x70, head[0] & 0x0F);
        let (masked, short) = (head[1] & 0x80 != 0, u64::from(head[1] & 0x7F));
        let control = opcode >= CLOSE;
        let known = [CONTINUATION, TEXT, BINARY, CLOSE, PING, PONG].contains(&opcode);
        if rsv != 0 || !masked || !known || (control && (!fin || short > 125)) {
            return Ok(Step::Done(Incoming::Invalid(CLOSE_PROTOCOL)));
        }
        let len = match short {
            126 => u64::from(u16::from_be_bytes(self.array()?)),
            127 => u64::from_be_bytes(self.array()?),
            n => n,
        };
        let so_far = self.partial.as_ref().map_or(0, |(_, d)| d.len()) as u64;
        if len.saturating_add(if control { 0 } else { so_far }) > self.max as u64 {
            return Ok(Step::Done(Incoming::Invalid(CLOSE_TOO_BIG)));
        }
        let mask: [u8; 4] = self.array()?;
        let mut payload = vec![0u8; len as usize];
        self.exact(&mut payload)?;
        for (i, b) in payload.iter_mut().enumerate() {
            *b ^= mask[i % 4];
        }
        Ok(Step::Frame(fin, opcode, payload))
    }

    /// Turns a frame into a message when it completes one.
    fn assemble(&mut self, fin: bool, opcode: u8, payload: Vec<u8>) -> Option<Incoming> {
        match opcode {
            PING => return Some(Incoming::Ping(payload)),
            PONG => return Some(Incoming::Pong),
            CLOSE => {
                let code =
                    (payload.len() >= 2).then(|| u16::from_be_bytes([payload[0], payload[1]]));
                return Some(Incoming::Close(code));
            }
            _ => {}
        }
        let (kind, data) = match (opcode, self.partial.take()) {
            (CONTINUATION, Some((kind, mut data))) => {
                data.extend_from_slice(&payload);
                (kind, data)
            }
            (CONTINUATION, None) | (_, Some(_)) => return Some(Incoming::Invalid(CLOSE_PROTOCOL)),
            (kind, None) => (kind, payload),
        };
        if !fin {
            self.partial = Some((kind, data));
            return None;
        }
        Some(match kind {
            TEXT => match String::from_utf8(data) {
                Ok(s) => Incoming::Text(s),
                Err(_) => Incoming::Invalid(1007),
            },
            _ => Incoming::Binary(data),
        })
    }

    fn exact(&mut self, buf: &mut [u8]) -> Result<()> {
        self.inner.read_exact(buf).map_err(Error::Io)
    }

    fn array<const N: usize>(&mut self) -> Result<[u8; N]> {
        let mut a = [0u8; N];
        self.exact(&mut a)?;
        Ok(a)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A client frame: masked with a fixed key.
    fn client_frame(first: u8, payload: &[u8]) -> Vec<u8> {
        let key = [0x37, 0xfa, 0x21, 0x3d];
        let mut out = vec![first];
        match payload.len() {
            n if n < 126 => out.push(0x80 | n as u8),
            n if n <= 0xFFFF => {
                out.push(0x80 | 126);
                out.extend_from_slice(&(n as u16).to_be_bytes());
            }
            n => {
                out.push(0x80 | 127);
                out.extend_from_slice(&(n as u64).to_be_bytes());
            }
        }
        out.extend_from_slice(&key);
        out.extend(payload.iter().enumerate().map(|(i, b)| b ^ key[i % 4]));
        out
    }

    fn read_all(bytes: Vec<u8>, max: usize) -> Vec<Incoming> {
        let mut r = FrameReader::new(std::io::Cursor::new(bytes), max);
        let mut out = Vec::new();
        loop {
            match r.read_message() {
                Ok(Incoming::Eof) => return out,
                Ok(i @ Incoming::Invalid(_)) => {
                    out.push(i);
                    return out;
                }
                Ok(i) => out.push(i),
                Err(_) => {
                    out.push(Incoming::Eof);
                    return out;
                }
            }
        }
    }

    #[test]
    fn accept_key_of_rfc_6455_example() {
        assert_eq!(
            accept_key("dGhlIHNhbXBsZSBub25jZQ=="),
            "s3pPLMBiTxaQ9kYGzzhZRbK+xOo="
        );
        assert!(valid_key("dGhlIHNhbXBsZSBub25jZQ=="));
        assert!(!valid_key("dGhlIHNhbXBsZQ=="));
        assert!(!valid_key("not base64!"));
    }

    #[test]
    fn server_frames() {
        let cases: Vec<(Vec<u8>, Vec<u8>)> = vec![
            (text("Hello"), b"\x81\x05Hello".to_vec()),
            (text(""), b"\x81\x00".to_vec()),
            (ping(b""), b"\x89\x00".to_vec()),
            (pong(b"ab"), b"\x8a\x02ab".to_vec()),
            (close(1000, ""), b"\x88\x02\x03\xe8".to_vec()),
            (close(1008, "revoked"), b"\x88\x09\x03\xf0revoked".to_vec()),
        ];
        for (got, want) in cases {
            assert_eq!(got, want);
        }
        let medium = text(&"x".repeat(126));
        assert_eq!(&medium[..4], &[0x81, 126, 0, 126]);
        assert_eq!(medium.len(), 4 + 126);
        let big = text(&"x".repeat(70_000));
        assert_eq!(&big[..2], &[0x81, 127]);
        assert_eq!(&big[2..10], &70_000u64.to_be_bytes());
        assert_eq!(big.len(), 10 + 70_000);
        // A close reason is cut on a character boundary to fit 125 bytes.
        let long = close(1000, &"é".repeat(100));
        assert_eq!(long[1] as usize, long.len() - 2);
        assert!(long.len() - 2 <= 125);
        assert!(std::str::from_utf8(&long[4..]).is_ok());
        assert!(ping(&[0u8; 200]).len() <= 127);
    }

    #[test]
    fn client_frames() {
        let mut bytes = client_frame(0x81, br#"{"type":"subscribe"}"#);
        bytes.extend(client_frame(0x89, b"hi"));
        bytes.extend(client_frame(0x8A, b""));
        bytes.extend(client_frame(0x82, &[1, 2, 3]));
        bytes.extend(client_frame(0x81, &vec![b'a'; 300]));
        bytes.extend(client_frame(0x88, &[0x03, 0xe8]));
        bytes.extend(client_frame(0x88, b""));
        assert_eq!(
            read_all(bytes, 1024),
            vec![
                Incoming::Text(r#"{"type":"subscribe"}"#.into()),
                Incoming::Ping(b"hi".to_vec()),
                Incoming::Pong,
                Incoming::Binary(vec![1, 2, 3]),
                Incoming::Text("a".repeat(300)),
                Incoming::Close(Some(1000)),
                Incoming::Close(None),
            ]
        );
    }

    #[test]
    fn fragmented_messages_with_a_ping_between() {
        let mut bytes = client_frame(0x01, b"Hel");
        bytes.extend(client_frame(0x89, b""));
        bytes.extend(client_frame(0x00, b"lo "));
        bytes.extend(client_frame(0x80, b"world"));
        assert_eq!(
            read_all(bytes, 1024),
            vec![Incoming::Ping(vec![]), Incoming::Text("Hello world".into())]
        );
    }

    #[test]
    fn protocol_errors() {
        let unmasked = b"\x81\x02hi".to_vec();
        let mut rsv = client_frame(0x81, b"hi");
        rsv[0] |= 0x40;
        let mut fragmented_ping = client_frame(0x89, b"");
        fragmented_ping[0] &= 0x7F;
        let cases: Vec<(&str, Vec<u8>, u16)> = vec![
            ("unmasked", unmasked, CLOSE_PROTOCOL),
            ("reserved bit", rsv, CLOSE_PROTOCOL),
            ("fragmented ping", fragmented_ping, CLOSE_PROTOCOL),
            ("unknown opcode", client_frame(0x83, b""), CLOSE_PROTOCOL),
            (
                "lone continuation",
                client_frame(0x80, b"x"),
                CLOSE_PROTOCOL,
            ),
            ("bad utf-8", client_frame(0x81, &[0xff, 0xfe]), 1007),
            ("too big", client_frame(0x81, &[b'a'; 65]), CLOSE_TOO_BIG),
            (
                "too big when assembled",
                [
                    client_frame(0x01, &[b'a'; 40]),
                    client_frame(0x80, &[b'a'; 40]),
                ]
                .concat(),
                CLOSE_TOO_BIG,
            ),
            (
                "new message inside a fragmented one",
                [client_frame(0x01, b"a"), client_frame(0x81, b"b")].concat(),
                CLOSE_PROTOCOL,
            ),
        ];
        for (name, bytes, code) in cases {
            assert_eq!(
                read_all(bytes, 64).last(),
                Some(&Incoming::Invalid(code)),
                "{name}"
            );
        }
    }

    #[test]
    fn truncated_frames_are_errors_and_timeouts_are_idle() {
        let cut = client_frame(0x81, b"hello")[..5].to_vec();
        let mut r = FrameReader::new(std::io::Cursor::new(cut), 64);
        assert!(r.read_message().is_err());

        struct Timeout;
        impl Read for Timeout {
            fn read(&mut self, _: &mut [u8]) -> std::io::Result<usize> {
                Err(std::io::Error::from(ErrorKind::WouldBlock))
            }
        }
        let mut r = FrameReader::new(Timeout, 64);
        assert_eq!(r.read_message().unwrap(), Incoming::Idle);
    }
}
