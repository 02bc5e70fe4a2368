//! The HTTP layer's bounds, on raw sockets with bounded waits (issue 17, items 4 to 7):
//! oversized heads (431), ambiguous framing and folded headers (400), unsupported
//! transfer codings (501), the head, body and answer deadlines (408 or the connection
//! cut), the per-address connection cap (503), and `/health` answering while one
//! address holds hundreds of hostile connections open.

use crate::support::*;
use std::io::{ErrorKind, Read, Write};
use std::net::{Ipv4Addr, SocketAddr, TcpStream};
use std::time::{Duration, Instant};

/// A connection to `s` from the loopback address `from`, reads and writes giving up
/// after `secs` seconds; with `rcvbuf`, a small receive buffer (a client that reads
/// little).
fn open_from(s: &TestServer, from: Ipv4Addr, secs: u64, rcvbuf: Option<usize>) -> TcpStream {
    use socket2::{Domain, Protocol, Socket, Type};
    let socket = Socket::new(Domain::IPV4, Type::STREAM, Some(Protocol::TCP)).unwrap();
    if let Some(size) = rcvbuf {
        socket.set_recv_buffer_size(size).unwrap();
    }
    socket.bind(&SocketAddr::from((from, 0)).into()).unwrap();
    let to = SocketAddr::from((Ipv4Addr::LOCALHOST, s.port));
    socket
        .connect_timeout(&to.into(), Duration::from_secs(5))
        .unwrap();
    let stream: TcpStream = socket.into();
    stream
        .set_read_timeout(Some(Duration::from_secs(secs)))
        .unwrap();
    stream
        .set_write_timeout(Some(Duration::from_secs(secs)))
        .unwrap();
    stream
}

/// A connection from 127.0.0.1.
fn open(s: &TestServer, secs: u64) -> TcpStream {
    open_from(s, Ipv4Addr::LOCALHOST, secs, None)
}

/// Everything the server sends until it closes the connection (or the read timeout,
/// or a reset), as text.
fn read_all(stream: &mut TcpStream) -> String {
    let mut all = Vec::new();
    let mut buf = [0u8; 8192];
    loop {
        match stream.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => all.extend_from_slice(&buf[..n]),
        }
    }
    String::from_utf8_lossy(&all).into_owned()
}

/// Sends `request` on a new connection and returns all the server answers before it
/// closes the connection.
fn exchange(s: &TestServer, request: &[u8]) -> String {
    let mut c = open(s, 10);
    c.write_all(request).unwrap();
    read_all(&mut c)
}

/// How many answers (status lines) a server's output holds, and the first status.
fn answers(text: &str) -> (usize, u16) {
    let count = text.matches("HTTP/1.1 ").count();
    let first = text
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    (count, first)
}

/// One `GET /health` on a fresh connection from `from`: its status and how long it took.
fn health_from(s: &TestServer, from: Ipv4Addr) -> (u16, Duration) {
    let started = Instant::now();
    let mut c = open_from(s, from, 5, None);
    c.write_all(b"GET /health HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")
        .unwrap();
    let (_, status) = answers(&read_all(&mut c));
    (status, started.elapsed())
}

/// Reads one whole answer (head and Content-Length body) and leaves the connection open.
fn read_one_answer(c: &mut TcpStream) -> String {
    let mut head = Vec::new();
    let mut byte = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") {
        match c.read(&mut byte) {
            Ok(1) => head.push(byte[0]),
            _ => break,
        }
    }
    let text = String::from_utf8_lossy(&head).into_owned();
    let len: usize = text
        .lines()
        .find_map(|l| {
            l.to_ascii_lowercase()
                .strip_prefix("content-length:")
                .map(|v| v.trim().parse().unwrap_or(0))
        })
        .unwrap_or(0);
    let mut body = vec![0u8; len];
    let _ = c.read_exact(&mut body);
    text
}

#[test]
fn sec_62_oversized_request_lines_headers_and_heads_get_431() {
    let s = TestServer::start("");
    let long_target = format!(
        "GET /{} HTTP/1.1\r\nHost: localhost\r\n\r\n",
        "a".repeat(9000)
    );
    let (_, status) = answers(&exchange(&s, long_target.as_bytes()));
    assert_eq!(status, 431, "a request line over 8 KiB");

    let long_header = format!(
        "GET /health HTTP/1.1\r\nHost: localhost\r\nX-Long: {}\r\n\r\n",
        "b".repeat(9000)
    );
    let (_, status) = answers(&exchange(&s, long_header.as_bytes()));
    assert_eq!(status, 431, "a header line over 8 KiB");

    let mut big_head = String::from("GET /health HTTP/1.1\r\nHost: localhost\r\n");
    for i in 0..20 {
        big_head.push_str(&format!("X-Part-{i}: {}\r\n", "c".repeat(4000)));
    }
    big_head.push_str("\r\n");
    let (_, status) = answers(&exchange(&s, big_head.as_bytes()));
    assert_eq!(status, 431, "80 KB of headers, each line under 8 KiB");

    let many = |n: usize| {
        let mut head = String::from("GET /health HTTP/1.1\r\nConnection: close\r\n");
        for i in 1..n {
            head.push_str(&format!("X-H{i}: v\r\n"));
        }
        head + "\r\n"
    };
    let (_, status) = answers(&exchange(&s, many(101).as_bytes()));
    assert_eq!(status, 431, "101 headers");
    let (_, status) = answers(&exchange(&s, many(100).as_bytes()));
    assert_eq!(status, 200, "100 headers are fine");
}

#[test]
fn sec_62_a_huge_header_line_is_not_read_whole() {
    let s = TestServer::start("");
    let c = open(&s, 10);
    let mut reader = c.try_clone().unwrap();
    let answer = std::thread::spawn(move || read_all(&mut reader));
    let mut writer = c;
    const TOTAL: usize = 64 * 1024 * 1024;
    let chunk = vec![b'a'; 64 * 1024];
    let mut sent = writer
        .write(b"GET /health HTTP/1.1\r\nHost: localhost\r\nX-Flood: ")
        .unwrap();
    while sent < TOTAL {
        match writer.write(&chunk) {
            Ok(n) => sent += n,
            Err(_) => break,
        }
    }
    let text = answer.join().unwrap();
    assert_eq!(answers(&text).1, 431, "{text}");
    // The server stopped reading at the cap and closed the connection: the client could
    // not send it all (what socket buffers took, at most a few dozen MB, went in).
    assert!(sent < TOTAL, "all {sent} bytes were taken");
    assert_eq!(health_from(&s, Ipv4Addr::LOCALHOST).0, 200);
}

#[test]
fn sec_65_ambiguous_framing_and_folded_headers_get_400_and_close() {
    let s = TestServer::start("");
    let smuggled = b"POST /api/v1/apps HTTP/1.1\r\nHost: localhost\r\nContent-Length: 5\r\n\
        Transfer-Encoding: chunked\r\n\r\n0\r\n\r\nGET /health HTTP/1.1\r\nHost: localhost\r\n\r\n";
    let text = exchange(&s, smuggled);
    assert_eq!(
        answers(&text),
        (1, 400),
        "one 400, nothing answered after it: {text}"
    );

    for lengths in [
        "Content-Length: 5\r\nContent-Length: 6\r\n",
        "Content-Length: 5, 6\r\n",
    ] {
        let request = format!(
            "POST /api/v1/apps HTTP/1.1\r\nHost: localhost\r\n{lengths}\r\nabcdeGET /health HTTP/1.1\r\n\r\n"
        );
        let text = exchange(&s, request.as_bytes());
        assert_eq!(answers(&text), (1, 400), "{lengths:?}: {text}");
    }
    // The same length twice is one length.
    let same = b"POST /api/v1/apps HTTP/1.1\r\nHost: localhost\r\nContent-Length: 2, 2\r\n\
        Content-Type: application/json\r\nConnection: close\r\n\r\n{}";
    let (_, status) = answers(&exchange(&s, same));
    assert!(status != 400 && status != 0, "{status}");

    let folded = b"GET /health HTTP/1.1\r\nHost: localhost\r\nX-Folded: a\r\n b\r\n\r\n\
        GET /health HTTP/1.1\r\nHost: localhost\r\n\r\n";
    let text = exchange(&s, folded);
    assert_eq!(answers(&text), (1, 400), "an obs-fold line: {text}");
}

#[test]
fn sec_65_transfer_codings_other_than_chunked_get_501() {
    let s = TestServer::start("");
    for coding in ["gzip", "gzip, chunked", "chunked, chunked", "identity"] {
        let request = format!(
            "POST /api/v1/apps HTTP/1.1\r\nHost: localhost\r\nTransfer-Encoding: {coding}\r\n\r\n\
             0\r\n\r\nGET /health HTTP/1.1\r\n\r\n"
        );
        let text = exchange(&s, request.as_bytes());
        assert_eq!(answers(&text), (1, 501), "{coding:?}: {text}");
    }
    // A chunked body from a real client is read.
    let body = br#"{"client_name":"chunky","redirect_uris":"urn:ietf:wg:oauth:2.0:oob"}"#;
    let mut request =
        b"POST /api/v1/apps HTTP/1.1\r\nHost: localhost\r\nTransfer-Encoding: chunked\r\n\
        Content-Type: application/json\r\nConnection: close\r\n\r\n"
            .to_vec();
    request.extend_from_slice(format!("{:x}\r\n", body.len()).as_bytes());
    request.extend_from_slice(body);
    request.extend_from_slice(b"\r\n0\r\n\r\n");
    let text = exchange(&s, &request);
    assert_eq!(answers(&text).1, 200, "{text}");
    assert!(text.contains("chunky"), "{text}");
}

#[test]
fn sec_64_a_head_dribbled_a_byte_a_second_gets_408() {
    let s = TestServer::start("idle_timeout_secs = 2\n");
    let mut c = open(&s, 1);
    let started = Instant::now();
    let head = b"GET /health HTTP/1.1\r\nHost: localhost\r\nX-Drip: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";
    let mut got = Vec::new();
    let mut buf = [0u8; 512];
    // One byte a second, well inside the 2 s idle timeout, until the server answers.
    for byte in head.iter() {
        if c.write_all(&[*byte]).is_err() {
            break;
        }
        match c.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => {
                got.extend_from_slice(&buf[..n]);
                break;
            }
            Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {}
            Err(_) => break,
        }
    }
    let text = String::from_utf8_lossy(&got);
    assert!(text.starts_with("HTTP/1.1 408"), "{text:?}");
    let took = started.elapsed();
    assert!(
        took < Duration::from_secs(6),
        "cut about 2 s after the first byte, took {took:?}"
    );
}

#[test]
fn sec_63_a_body_sent_too_slowly_gets_408() {
    let s = TestServer::start("idle_timeout_secs = 2\n");
    let mut c = open(&s, 1);
    c.write_all(
        b"POST /api/v1/apps HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\n\
          Content-Length: 100000\r\n\r\n",
    )
    .unwrap();
    let started = Instant::now();
    let mut got = Vec::new();
    let mut buf = [0u8; 512];
    // Ten bytes a second: each read waits far less than the idle timeout, but the body
    // falls behind 1 KiB/s once the first 2 s are over.
    while started.elapsed() < Duration::from_secs(15) {
        if c.write_all(&[b' '; 10]).is_err() {
            break;
        }
        match c.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => {
                got.extend_from_slice(&buf[..n]);
                break;
            }
            Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {}
            Err(_) => break,
        }
    }
    let text = String::from_utf8_lossy(&got);
    assert!(text.starts_with("HTTP/1.1 408"), "{text:?}");
    assert!(
        started.elapsed() < Duration::from_secs(8),
        "{:?}",
        started.elapsed()
    );
    s.wait_log(|l| l.contains("POST /api/v1/apps 408"));
}

#[test]
fn sec_63_a_client_that_does_not_read_its_answers_holds_no_request_thread_and_is_cut() {
    let s = TestServer::start("idle_timeout_secs = 1\nhttp_threads = 1\n");
    const REQUESTS: usize = 1000;
    let mut reader = open_from(&s, Ipv4Addr::LOCALHOST, 5, Some(4096));
    let mut pipelined = Vec::new();
    for _ in 0..REQUESTS {
        pipelined.extend_from_slice(b"GET /static/kith.css HTTP/1.1\r\nHost: localhost\r\n\r\n");
    }
    reader.write_all(&pipelined).unwrap();
    // Meanwhile the only request thread answers others at once.
    let watching = Instant::now();
    while watching.elapsed() < Duration::from_secs(6) {
        let (status, took) = health_from(&s, Ipv4Addr::new(127, 0, 0, 2));
        assert_eq!(status, 200);
        assert!(took < Duration::from_secs(1), "/health took {took:?}");
    }
    // The answers stalled for longer than the write deadline allows (no progress for
    // the idle timeout of 1 s, twice at most as a write may first take part of its
    // bytes): the connection was cut before all of them went out.
    let text = read_all(&mut reader);
    let (count, first) = answers(&text);
    assert_eq!(first, 200);
    assert!(
        count < REQUESTS,
        "all {count} answers were sent to a client that did not read"
    );
}

#[test]
fn sec_64_one_address_cannot_fill_the_connection_cap() {
    let s = TestServer::start(
        "idle_timeout_secs = 30\nmax_connections = 8\nmax_connections_per_address = 2\n\
         trusted_proxies = [\"127.0.0.3/32\"]\n",
    );
    let hold = |from: Ipv4Addr| {
        let mut c = open_from(&s, from, 10, None);
        c.write_all(b"GET /health HTTP/1.1\r\nHost: localhost\r\n\r\n")
            .unwrap();
        let head = read_one_answer(&mut c);
        (c, head)
    };
    let mut held = Vec::new();
    for _ in 0..2 {
        let (c, head) = hold(Ipv4Addr::LOCALHOST);
        assert!(head.starts_with("HTTP/1.1 200"), "{head}");
        held.push(c);
    }
    // The refusal is written as soon as the connection is accepted.
    let head = read_all(&mut open_from(&s, Ipv4Addr::LOCALHOST, 10, None));
    assert!(
        head.starts_with("HTTP/1.1 503"),
        "a third from one address: {head}"
    );
    assert!(head.contains("Retry-After: 5"), "{head}");
    // Other addresses are served, and the trusted proxy is not held to the share.
    assert_eq!(health_from(&s, Ipv4Addr::new(127, 0, 0, 2)).0, 200);
    for _ in 0..4 {
        let (c, head) = hold(Ipv4Addr::new(127, 0, 0, 3));
        assert!(head.starts_with("HTTP/1.1 200"), "from the proxy: {head}");
        held.push(c);
    }
    // A connection from the capped address is served again once one of its own ends.
    drop(held.remove(0));
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let (_, head) = hold(Ipv4Addr::LOCALHOST);
        if head.starts_with("HTTP/1.1 200") {
            break;
        }
        assert!(Instant::now() < deadline, "never served again: {head}");
    }
}

/// Opens the issue's attack from 127.0.0.1: `bodies` connections sending a body a byte
/// at a time, `readers` pipelining requests without reading answers, `dribblers`
/// sending a head a byte at a time. Returns the connections (closing them ends the
/// attack).
fn attack(s: &TestServer, bodies: usize, readers: usize, dribblers: usize) -> Vec<TcpStream> {
    let mut open_conns = Vec::new();
    for _ in 0..bodies {
        let mut c = open(s, 5);
        c.write_all(
            b"POST /api/v1/apps HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\n\
              Content-Length: 1000000\r\n\r\n{",
        )
        .unwrap();
        open_conns.push(c);
    }
    let mut pipelined = Vec::new();
    for _ in 0..40 {
        pipelined.extend_from_slice(b"GET /static/kith.css HTTP/1.1\r\nHost: localhost\r\n\r\n");
    }
    for _ in 0..readers {
        let mut c = open_from(s, Ipv4Addr::LOCALHOST, 5, Some(4096));
        c.write_all(&pipelined).unwrap();
        open_conns.push(c);
    }
    for _ in 0..dribblers {
        let mut c = open(s, 5);
        c.write_all(b"G").unwrap();
        open_conns.push(c);
    }
    open_conns
}

#[test]
fn sec_64_health_answers_while_one_address_holds_hundreds_of_slow_connections() {
    // The per-address share is raised to the whole cap here, so that every hostile
    // connection really is open and served; the share itself is tested above.
    let s = TestServer::start(
        "idle_timeout_secs = 10\nmax_connections = 1000\nmax_connections_per_address = 1000\n\
         trusted_proxies = []\n",
    );
    let opened = Instant::now();
    let held = attack(&s, 64, 64, 200);
    for _ in 0..5 {
        let (status, took) = health_from(&s, Ipv4Addr::new(127, 0, 0, 2));
        assert_eq!(status, 200);
        assert!(took < Duration::from_secs(1), "/health took {took:?}");
    }
    assert!(
        opened.elapsed() < Duration::from_secs(9),
        "the attack was still under way (its deadlines are 10 s): {:?}",
        opened.elapsed()
    );
    drop(held);
}

#[test]
fn a_large_body_waits_on_disk_and_arrives_whole() {
    let s = TestServer::start("");
    let mut body =
        br#"{"client_name":"roomy","redirect_uris":"urn:ietf:wg:oauth:2.0:oob""#.to_vec();
    body.extend(std::iter::repeat_n(b' ', 200 * 1024));
    body.push(b'}');
    let mut c = open(&s, 10);
    write!(
        c,
        "POST /api/v1/apps HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\n\
         Content-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    )
    .unwrap();
    let (first, rest) = body.split_at(100 * 1024);
    c.write_all(first).unwrap();
    // Past 64 KiB the body goes to a file in the scratch directory as it arrives.
    let scratch = s.data_dir().join("tmp");
    let spooled = || {
        std::fs::read_dir(&scratch)
            .map(|d| {
                d.flatten()
                    .any(|e| e.file_name().to_string_lossy().starts_with("upload-"))
            })
            .unwrap_or(false)
    };
    let deadline = Instant::now() + Duration::from_secs(5);
    while !spooled() {
        assert!(
            Instant::now() < deadline,
            "no file in {}",
            scratch.display()
        );
        std::thread::park_timeout(Duration::from_millis(20));
    }
    c.write_all(rest).unwrap();
    let text = read_all(&mut c);
    assert_eq!(answers(&text).1, 200, "{text}");
    assert!(text.contains("roomy"), "{text}");
    assert!(
        !spooled(),
        "the file is removed once the request is handled"
    );
}

#[test]
fn a_burst_of_connections_each_get_a_thread_at_once() {
    // Each connection stays open after its answer (keep-alive, idle for 10 s), holding
    // its thread; none may wait for another's to end before it is read.
    let s = TestServer::start("idle_timeout_secs = 10\n");
    let started = Instant::now();
    let mut conns = Vec::new();
    for _ in 0..60 {
        let mut c = open(&s, 5);
        c.write_all(b"GET /health HTTP/1.1\r\nHost: localhost\r\n\r\n")
            .unwrap();
        conns.push(c);
    }
    for c in conns.iter_mut() {
        let head = read_one_answer(c);
        assert!(head.starts_with("HTTP/1.1 200"), "{head:?}");
    }
    let took = started.elapsed();
    assert!(took < Duration::from_secs(5), "{took:?}");
}
