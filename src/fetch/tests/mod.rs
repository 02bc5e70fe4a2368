//! Tests of the fetcher against fake remotes: tiny HTTP servers on 127.0.0.1 started
//! by each test, answering canned bytes and recording every request. Nothing here
//! reaches the internet; each server stops when its test drops it. This file holds
//! the fake remote and the shared helpers; `guard` tests the private-address guard
//! and redirects, `answers` the caps, content types, statuses and deadlines.

mod answers;
mod guard;

use super::*;
use std::io::{ErrorKind, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;

/// One request as the fake remote received it.
#[derive(Debug, Clone)]
struct Seen {
    method: String,
    path: String,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

impl Seen {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    fn count(&self, name: &str) -> usize {
        let named = |(n, _): &&(String, String)| n.eq_ignore_ascii_case(name);
        self.headers.iter().filter(named).count()
    }
}

/// What the fake remote does with one request.
enum Reply {
    /// Writes the bytes and closes.
    Bytes(Vec<u8>),
    /// Writes the bytes, then sends nothing more until the client goes away.
    Stall(Vec<u8>),
    /// Writes the head, then one byte every interval until the client goes away.
    Drip(Vec<u8>, Duration),
}

type Handler = dyn Fn(&Seen) -> Reply + Send + Sync;

/// A fake remote answering one connection at a time.
struct FakeRemote {
    addr: SocketAddr,
    seen: Arc<Mutex<Vec<Seen>>>,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl FakeRemote {
    fn start(handler: impl Fn(&Seen) -> Reply + Send + Sync + 'static) -> FakeRemote {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let seen = Arc::new(Mutex::new(Vec::new()));
        let stop = Arc::new(AtomicBool::new(false));
        let (log, halt) = (seen.clone(), stop.clone());
        let handler: Box<Handler> = Box::new(handler);
        let thread = std::thread::spawn(move || {
            for stream in listener.incoming() {
                if halt.load(Ordering::SeqCst) {
                    break;
                }
                if let Ok(stream) = stream {
                    serve(stream, &*handler, &log);
                }
            }
        });
        FakeRemote {
            addr,
            seen,
            stop,
            thread: Some(thread),
        }
    }

    fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    fn requests(&self) -> Vec<Seen> {
        self.seen.lock().unwrap().clone()
    }
}

impl Drop for FakeRemote {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        // Wakes the blocked accept; the loop sees the flag and ends.
        let _ = TcpStream::connect(self.addr);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

fn serve(mut stream: TcpStream, handler: &Handler, log: &Mutex<Vec<Seen>>) {
    let bound = Some(Duration::from_secs(5));
    let _ = stream.set_read_timeout(bound);
    let _ = stream.set_write_timeout(bound);
    let Some(seen) = read_request(&mut stream) else {
        return;
    };
    let reply = handler(&seen);
    log.lock().unwrap().push(seen);
    match reply {
        Reply::Bytes(bytes) => {
            let _ = stream.write_all(&bytes);
        }
        Reply::Stall(bytes) => {
            let _ = stream.write_all(&bytes);
            wait_for_close(&mut stream);
        }
        Reply::Drip(head, every) => {
            let _ = stream.write_all(&head);
            for _ in 0..100 {
                if stream.write_all(b"x").is_err() {
                    break;
                }
                std::thread::sleep(every); // pacing of the drip, not synchronisation
            }
        }
    }
}

/// Reads until the client closes (or the 5 s bound passes).
fn wait_for_close(stream: &mut TcpStream) {
    let mut buf = [0u8; 256];
    while matches!(stream.read(&mut buf), Ok(n) if n > 0) {}
}

fn read_request(stream: &mut TcpStream) -> Option<Seen> {
    let mut data = Vec::new();
    let mut buf = [0u8; 4096];
    let head_end = loop {
        if let Some(i) = data.windows(4).position(|w| w == b"\r\n\r\n") {
            break i;
        }
        let n = stream.read(&mut buf).ok().filter(|&n| n > 0)?;
        data.extend_from_slice(&buf[..n]);
    };
    let head = String::from_utf8_lossy(&data[..head_end]).to_string();
    let mut lines = head.split("\r\n");
    let mut first = lines.next()?.split(' ');
    let (method, path) = (first.next()?.to_string(), first.next()?.to_string());
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(n, v)| (n.trim().to_string(), v.trim().to_string()))
        .collect();
    let mut seen = Seen {
        method,
        path,
        headers,
        body: data[head_end + 4..].to_vec(),
    };
    let want: usize = seen
        .header("content-length")
        .map_or(0, |v| v.parse().unwrap_or(0));
    while seen.body.len() < want {
        let n = stream.read(&mut buf).ok().filter(|&n| n > 0)?;
        seen.body.extend_from_slice(&buf[..n]);
    }
    Some(seen)
}

/// A complete response with a Content-Length and `Connection: close`.
fn response(status: u16, headers: &[(&str, &str)], body: &[u8]) -> Vec<u8> {
    let mut out = format!("HTTP/1.1 {status} Whatever\r\nConnection: close\r\n");
    for (name, value) in headers {
        out.push_str(&format!("{name}: {value}\r\n"));
    }
    out.push_str(&format!("Content-Length: {}\r\n\r\n", body.len()));
    let mut bytes = out.into_bytes();
    bytes.extend_from_slice(body);
    bytes
}

fn activity(body: &str) -> Reply {
    let headers = [("Content-Type", "application/activity+json")];
    Reply::Bytes(response(200, &headers, body.as_bytes()))
}

fn redirect(status: u16, location: &str) -> Reply {
    Reply::Bytes(response(status, &[("Location", location)], b""))
}

fn config(allow_private: bool) -> Config {
    let text = format!(
        "public_url = \"https://kith.example\"\n\
         [federation]\nallow_private_addresses = {allow_private}"
    );
    Config::parse(&text).unwrap()
}

fn fast() -> Timeouts {
    Timeouts {
        resolve: Duration::from_secs(2),
        connect: Duration::from_secs(2),
        io: Duration::from_secs(2),
        total: Duration::from_secs(10),
    }
}

/// The guard off, as in loopback tests against real peers.
fn lax() -> Fetcher {
    Fetcher::with_timeouts(&config(true), fast())
}

/// The guard on, as in production.
fn strict() -> Fetcher {
    Fetcher::with_timeouts(&config(false), fast())
}

/// URL checks lenient (http, private literals), but the dialler refuses every
/// forbidden address except the given ones: shows the dial-time check per hop.
fn dial_strict_except(exempt: Vec<SocketAddr>) -> Fetcher {
    let resolver = GuardedResolver::strict_except(exempt);
    Fetcher::build(&config(true), fast(), resolver)
}

/// A listener nobody serves: a connection attempt would wait in its backlog.
fn silent_listener() -> (TcpListener, SocketAddr) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    listener.set_nonblocking(true).unwrap();
    let addr = listener.local_addr().unwrap();
    (listener, addr)
}

fn assert_never_connected(listener: &TcpListener) {
    match listener.accept() {
        Err(e) => assert_eq!(e.kind(), ErrorKind::WouldBlock),
        Ok((_, peer)) => panic!("a connection was made from {peer}"),
    }
}

/// The message of a non-transient network error.
fn refusal<T: std::fmt::Debug>(result: Result<T>) -> String {
    match result {
        Err(Error::Network {
            message,
            transient: false,
        }) => message,
        other => panic!("expected a refusal, got {other:?}"),
    }
}

/// The message of a transient network error.
fn transient<T: std::fmt::Debug>(result: Result<T>) -> String {
    match result {
        Err(Error::Network {
            message,
            transient: true,
        }) => message,
        other => panic!("expected a transient error, got {other:?}"),
    }
}

fn no_signature(_: &str, _: &Url, _: Option<&[u8]>) -> Vec<(String, String)> {
    Vec::new()
}
