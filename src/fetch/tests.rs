//! Tests of the fetcher against fake remotes: tiny HTTP servers on 127.0.0.1 started
//! by each test, answering canned bytes and recording every request. Nothing here
//! reaches the internet; each server stops when its test drops it.

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

#[test]
fn sec_32_36_guard_on_refuses_loopback_before_any_connection() {
    let (listener, addr) = silent_listener();
    let f = strict();
    let m = refusal(f.get_activity(&format!("http://{addr}/actor"), None));
    assert!(m.contains("plain http"), "{m}");
    let m = refusal(f.get_json(&format!("https://{addr}/.well-known/nodeinfo")));
    assert!(
        m.contains("127.0.0.1 is a private or reserved address"),
        "{m}"
    );
    let m = refusal(f.get_media(
        &format!("https://[::ffff:{}]:{}/a.png", addr.ip(), addr.port()),
        10,
    ));
    assert!(m.contains("private or reserved"), "{m}");
    let m = refusal(f.post_activity(&format!("https://{addr}/inbox"), b"{}", &no_signature));
    assert!(m.contains("private or reserved"), "{m}");
    assert_never_connected(&listener);
}

#[test]
fn sec_32_34_dialler_refuses_a_name_resolving_to_loopback() {
    let (listener, addr) = silent_listener();
    let resolves = ("localhost", addr.port()).to_socket_addrs();
    if resolves.map(|mut a| a.next().is_none()).unwrap_or(true) {
        return; // No `localhost` entry on this machine: nothing to show.
    }
    let url = format!("https://localhost:{}/users/bob", addr.port());
    let m = refusal(strict().get_activity(&url, None));
    assert!(m.contains("refused to connect to"), "{m}");
    assert!(m.contains("127.0.0.1") || m.contains("::1"), "{m}");
    assert!(m.contains("private or reserved address"), "{m}");
    assert_never_connected(&listener);
}

#[test]
fn sec_32_dialler_refuses_literal_loopback_every_method() {
    let (listener, addr) = silent_listener();
    let f = dial_strict_except(Vec::new());
    let url = format!("http://{addr}/x");
    for m in [
        refusal(f.get_activity(&url, None)),
        refusal(f.get_json(&url)),
        refusal(f.get_media(&url, 10)),
        refusal(f.post_activity(&url, b"{}", &no_signature)),
    ] {
        assert!(m.contains("refused to connect to 127.0.0.1"), "{m}");
    }
    assert_never_connected(&listener);
}

#[test]
fn sec_35_redirects_are_followed_and_each_hop_resigned() {
    let remote = FakeRemote::start(|req| match req.path.as_str() {
        "/r0" => redirect(302, "/r1"),
        "/r1" => redirect(301, "r2"),
        "/r2" => redirect(303, "/r3?x=1#frag"),
        "/r3?x=1" => activity("{\"id\":\"r3\"}"),
        _ => Reply::Bytes(response(404, &[], b"")),
    });
    let signed = Mutex::new(Vec::new());
    let signer = |method: &str, url: &Url, body: Option<&[u8]>| {
        assert!(body.is_none());
        signed.lock().unwrap().push(format!("{method} {url}"));
        vec![
            ("Signature".to_string(), format!("sig {}", url.path())),
            (
                "Date".to_string(),
                "Tue, 20 Jan 2026 10:00:00 GMT".to_string(),
            ),
        ]
    };
    let fetched = lax()
        .get_activity(&remote.url("/r0#main-key"), Some(&signer))
        .unwrap();
    assert_eq!(fetched.final_url.as_str(), remote.url("/r3?x=1"));
    assert_eq!(fetched.status, 200);
    assert_eq!(fetched.body, b"{\"id\":\"r3\"}");
    assert_eq!(fetched.content_type, "application/activity+json");
    let hops = ["/r0", "/r1", "/r2", "/r3?x=1"];
    let expected: Vec<String> = hops
        .iter()
        .map(|p| format!("GET {}", remote.url(p)))
        .collect();
    assert_eq!(*signed.lock().unwrap(), expected);
    let seen = remote.requests();
    assert_eq!(seen.len(), 4);
    for (req, path) in seen.iter().zip(hops) {
        assert_eq!(req.method, "GET");
        assert_eq!(req.path, path);
        let sig_path = path.split('?').next().unwrap();
        assert_eq!(
            req.header("signature"),
            Some(format!("sig {sig_path}").as_str())
        );
        assert_eq!(req.header("accept"), Some(ACTIVITY_ACCEPT));
        assert_eq!(
            req.header("user-agent"),
            Some("kith/0.1.0 (+https://kith.example/)")
        );
    }
}

#[test]
fn sec_35_a_fourth_redirect_is_refused() {
    let remote = FakeRemote::start(|req| {
        let n: u32 = req.path.trim_start_matches("/a").parse().unwrap_or(99);
        redirect(
            if n.is_multiple_of(2) { 307 } else { 308 },
            &format!("/a{}", n + 1),
        )
    });
    let m = refusal(lax().get_json(&remote.url("/a0")));
    assert!(m.contains("more than 3 redirects"), "{m}");
    let paths: Vec<String> = remote.requests().into_iter().map(|r| r.path).collect();
    assert_eq!(paths, ["/a0", "/a1", "/a2", "/a3"]);
}

#[test]
fn sec_35_36_38_22_each_redirect_target_is_rechecked() {
    let remote = FakeRemote::start(|req| match req.path.as_str() {
        "/file" => redirect(302, "file:///etc/passwd"),
        "/gopher" => redirect(302, "gopher://127.0.0.1:70/"),
        "/onion" => redirect(302, "http://abcdefghij.onion/actor"),
        "/self" => redirect(302, "https://kith.example/users/me"),
        "/userinfo" => redirect(302, "http://admin:pw@127.0.0.1/"),
        "/space" => redirect(302, "/a b"),
        "/backslash" => redirect(302, "\\\\127.0.0.1\\x"),
        _ => Reply::Bytes(response(302, &[], b"")),
    });
    let f = lax();
    let cases = [
        ("/file", "only http and https"),
        ("/gopher", "only http and https"),
        ("/onion", "hidden-service"),
        ("/self", "own URLs"),
        ("/userinfo", "user-info"),
        ("/space", "control characters"),
        ("/backslash", "backslash"),
        ("/no-location", "without a usable Location"),
    ];
    for (path, why) in cases {
        let m = refusal(f.get_activity(&remote.url(path), None));
        assert!(m.contains(why), "{path}: {m}");
    }
    assert_eq!(remote.requests().len(), cases.len());
}

#[test]
fn sec_34_35_redirect_to_a_forbidden_address_is_refused_at_dial_time() {
    let (other, other_addr) = silent_listener();
    let location = format!("http://{other_addr}/stolen");
    let remote = FakeRemote::start(move |req| match req.path.as_str() {
        "/ok" => activity("{}"),
        _ => redirect(302, &location),
    });
    let f = dial_strict_except(vec![remote.addr]);
    assert!(f.get_activity(&remote.url("/ok"), None).is_ok());
    let m = refusal(f.get_activity(&remote.url("/jump"), None));
    assert!(
        m.contains(&format!("refused to connect to {}", other_addr.ip())),
        "{m}"
    );
    assert!(m.contains("/stolen"), "{m}");
    assert_never_connected(&other);
    assert_eq!(remote.requests().len(), 2);
}

#[test]
fn sec_40_a_larger_content_length_is_refused_without_reading() {
    let remote = FakeRemote::start(|_| {
        let head = "HTTP/1.1 200 OK\r\nContent-Type: application/activity+json\r\n\
                    Content-Length: 2000000\r\n\r\n{";
        Reply::Stall(head.as_bytes().to_vec())
    });
    let timeouts = Timeouts {
        io: Duration::from_secs(8),
        total: Duration::from_secs(20),
        ..fast()
    };
    let started = Instant::now();
    let f = Fetcher::with_timeouts(&config(true), timeouts);
    let m = refusal(f.get_activity(&remote.url("/big"), None));
    assert!(m.contains("larger than 1048576 bytes"), "{m}");
    assert!(
        started.elapsed() < Duration::from_secs(6),
        "waited for the body"
    );
    let m = refusal(f.get_media(&remote.url("/big"), 1000));
    assert!(m.contains("larger than 1000 bytes"), "{m}");
}

#[test]
fn sec_40_46_reading_stops_past_the_cap() {
    let remote = FakeRemote::start(|req| {
        let len = match req.path.as_str() {
            "/huge" => JSON_MAX_BYTES as usize + 100,
            "/eleven" => 11,
            _ => 10,
        };
        // No Content-Length: the body ends when the connection closes.
        let mut bytes = b"HTTP/1.1 200 OK\r\nContent-Type: application/activity+json\r\n\
                          Connection: close\r\n\r\n"
            .to_vec();
        bytes.resize(bytes.len() + len, b' ');
        Reply::Bytes(bytes)
    });
    let f = lax();
    let m = refusal(f.get_activity(&remote.url("/huge"), None));
    assert!(m.contains("larger than 1048576 bytes"), "{m}");
    let m = refusal(f.get_media(&remote.url("/eleven"), 10));
    assert!(m.contains("larger than 10 bytes"), "{m}");
    let fetched = f.get_media(&remote.url("/ten"), 10).unwrap();
    assert_eq!(fetched.body.len(), 10);
}

#[test]
fn sec_24_content_types_are_checked() {
    let remote = FakeRemote::start(|req| {
        let ct = match req.path.as_str() {
            "/as" => "application/activity+json; charset=utf-8",
            "/ld" => "application/ld+json; profile=\"https://www.w3.org/ns/activitystreams\"",
            "/ld-plain" => "Application/LD+JSON",
            "/jrd" => "application/jrd+json",
            "/json" => "application/json",
            "/html" => "text/html",
            "/png" => "image/png",
            _ => "",
        };
        let headers: Vec<(&str, &str)> = if ct.is_empty() {
            Vec::new()
        } else {
            vec![("Content-Type", ct)]
        };
        Reply::Bytes(response(200, &headers, b"{}"))
    });
    let f = lax();
    for ok in ["/as", "/ld", "/ld-plain"] {
        assert!(f.get_activity(&remote.url(ok), None).is_ok(), "{ok}");
    }
    for bad in ["/json", "/html", "/png", "/none", "/jrd"] {
        let m = refusal(f.get_activity(&remote.url(bad), None));
        assert!(m.contains("unexpected Content-Type"), "{bad}: {m}");
    }
    for ok in ["/jrd", "/json", "/as"] {
        assert!(f.get_json(&remote.url(ok)).is_ok(), "{ok}");
    }
    for bad in ["/html", "/ld", "/none"] {
        assert!(refusal(f.get_json(&remote.url(bad))).contains("unexpected Content-Type"));
    }
    let media = f.get_media(&remote.url("/png"), 100).unwrap();
    assert_eq!(media.content_type, "image/png");
    assert_eq!(
        f.get_media(&remote.url("/none"), 100).unwrap().content_type,
        ""
    );
    let accepts: Vec<String> = remote
        .requests()
        .iter()
        .filter_map(|r| r.header("accept").map(String::from))
        .collect();
    assert!(accepts.contains(&JSON_ACCEPT.to_string()));
    assert!(accepts.contains(&"*/*".to_string()));
}

#[test]
fn statuses_map_to_errors() {
    let remote = FakeRemote::start(|req| {
        let status: u16 = req.path.trim_start_matches('/').parse().unwrap_or(500);
        Reply::Bytes(response(
            status,
            &[("Content-Type", "application/activity+json")],
            b"{}",
        ))
    });
    let f = lax();
    match f.get_activity(&remote.url("/410"), None) {
        Err(Error::Gone(m)) => assert_eq!(m, "Gone"),
        other => panic!("expected 410 Gone, got {other:?}"),
    }
    for status in [400, 401, 403, 404, 406, 304] {
        let m = refusal(f.get_activity(&remote.url(&format!("/{status}")), None));
        assert!(m.contains(&format!("answered {status}")), "{m}");
    }
    for status in [408, 429, 500, 502, 503] {
        let m = transient(f.get_activity(&remote.url(&format!("/{status}")), None));
        assert!(m.contains(&format!("answered {status}")), "{m}");
    }
    assert_eq!(
        f.get_activity(&remote.url("/203"), None).unwrap().status,
        203
    );
}

#[test]
fn post_activity_returns_status_and_retry_after() {
    let later = httpdate::fmt_http_date(SystemTime::now() + Duration::from_secs(3600));
    let remote = FakeRemote::start(move |req| match req.path.as_str() {
        "/inbox" => Reply::Bytes(response(202, &[], b"accepted")),
        "/busy" => Reply::Bytes(response(429, &[("Retry-After", "120")], b"")),
        "/down" => Reply::Bytes(response(503, &[("Retry-After", later.as_str())], b"")),
        "/bare503" => Reply::Bytes(response(503, &[], b"")),
        "/moved" => redirect(301, "/inbox"),
        _ => Reply::Bytes(response(410, &[("Retry-After", "5")], b"gone")),
    });
    let host = remote.addr.to_string();
    let calls = Mutex::new(Vec::new());
    let signer = |method: &str, url: &Url, body: Option<&[u8]>| {
        calls.lock().unwrap().push((
            method.to_string(),
            url.to_string(),
            body.map(<[u8]>::to_vec),
        ));
        vec![
            ("Host".to_string(), host.clone()),
            ("Digest".to_string(), "SHA-256=abc".to_string()),
            ("Signature".to_string(), "sig".to_string()),
        ]
    };
    let f = lax();
    let body = br#"{"type":"Follow"}"#;
    let posted = f
        .post_activity(&remote.url("/inbox"), body, &signer)
        .unwrap();
    assert_eq!(
        posted,
        Posted {
            status: 202,
            retry_after: None
        }
    );
    let busy = f
        .post_activity(&remote.url("/busy"), body, &signer)
        .unwrap();
    assert_eq!(
        busy,
        Posted {
            status: 429,
            retry_after: Some(Duration::from_secs(120))
        }
    );
    let down = f
        .post_activity(&remote.url("/down"), body, &signer)
        .unwrap();
    assert_eq!(down.status, 503);
    let wait = down.retry_after.unwrap();
    assert!(
        wait > Duration::from_secs(3500) && wait <= Duration::from_secs(3600),
        "{wait:?}"
    );
    let bare = f
        .post_activity(&remote.url("/bare503"), body, &signer)
        .unwrap();
    assert_eq!(
        bare,
        Posted {
            status: 503,
            retry_after: None
        }
    );
    let moved = f
        .post_activity(&remote.url("/moved"), body, &signer)
        .unwrap();
    assert_eq!(
        moved,
        Posted {
            status: 301,
            retry_after: None
        }
    );
    let gone = f
        .post_activity(&remote.url("/gone"), body, &signer)
        .unwrap();
    assert_eq!(
        gone,
        Posted {
            status: 410,
            retry_after: None
        }
    );

    let seen = remote.requests();
    assert_eq!(seen.len(), 6, "the 301 was not followed");
    let first = &seen[0];
    assert_eq!(
        (first.method.as_str(), first.body.as_slice()),
        ("POST", &body[..])
    );
    assert_eq!(first.header("content-type"), Some(ACTIVITY_CONTENT_TYPE));
    assert_eq!(first.header("digest"), Some("SHA-256=abc"));
    assert_eq!(first.header("signature"), Some("sig"));
    assert_eq!(
        (first.header("host"), first.count("host")),
        (Some(host.as_str()), 1)
    );
    let calls = calls.lock().unwrap();
    assert_eq!(
        calls[0],
        ("POST".into(), remote.url("/inbox"), Some(body.to_vec()))
    );
}

#[test]
fn sec_37_header_injection_through_a_signer_is_refused_unsent() {
    let (listener, addr) = silent_listener();
    let evil = |_: &str, _: &Url, _: Option<&[u8]>| {
        vec![("Signature".to_string(), "x\r\nX-Injected: 1".to_string())]
    };
    let f = lax();
    let url = format!("http://{addr}/inbox");
    refusal(f.post_activity(&url, b"{}", &evil));
    refusal(f.get_activity(&url, Some(&evil)));
    assert_never_connected(&listener);
}

#[test]
fn sec_41_a_stalled_body_hits_the_read_timeout() {
    let remote = FakeRemote::start(|_| {
        let head = "HTTP/1.1 200 OK\r\nContent-Type: application/activity+json\r\n\
                    Content-Length: 100\r\n\r\n{";
        Reply::Stall(head.as_bytes().to_vec())
    });
    let timeouts = Timeouts {
        io: Duration::from_millis(300),
        ..fast()
    };
    let started = Instant::now();
    let f = Fetcher::with_timeouts(&config(true), timeouts);
    let m = transient(f.get_activity(&remote.url("/drip"), None));
    assert!(
        m.to_lowercase().contains("timeout") || m.contains("timed out"),
        "{m}"
    );
    assert!(started.elapsed() < Duration::from_secs(3));
}

#[test]
fn sec_41_the_total_deadline_bounds_a_steady_drip() {
    let remote = FakeRemote::start(|_| {
        let head = "HTTP/1.1 200 OK\r\nContent-Type: application/activity+json\r\n\
                    Content-Length: 1000\r\n\r\n";
        Reply::Drip(head.as_bytes().to_vec(), Duration::from_millis(50))
    });
    let timeouts = Timeouts {
        io: Duration::from_secs(2),
        total: Duration::from_millis(600),
        ..fast()
    };
    let started = Instant::now();
    let f = Fetcher::with_timeouts(&config(true), timeouts);
    let m = transient(f.get_activity(&remote.url("/drip"), None));
    assert!(
        m.to_lowercase().contains("timeout") || m.contains("timed out"),
        "{m}"
    );
    assert!(started.elapsed() < Duration::from_secs(3));
}

#[test]
fn unreachable_peer_is_transient() {
    let (listener, addr) = silent_listener();
    drop(listener); // Nobody listens any more: the connection is refused.
    transient(lax().get_activity(&format!("http://{addr}/x"), None));
}

#[test]
fn webfinger_urls() {
    let s = strict();
    let url = s.webfinger_url("alice", "Example.ORG.").unwrap();
    assert_eq!(
        url.as_str(),
        "https://example.org/.well-known/webfinger?resource=acct:alice@example.org"
    );
    let url = s.webfinger_url("a+b", "example.org:8443").unwrap();
    assert_eq!(
        url.as_str(),
        "https://example.org:8443/.well-known/webfinger?resource=acct:a%2Bb@example.org:8443"
    );
    // Guard on: private hosts are refused, never looked up over http.
    assert!(refusal(s.webfinger_url("bob", "127.0.0.1:8003")).contains("private or reserved"));
    let l = lax();
    let url = l.webfinger_url("bob", "127.0.0.1:8003").unwrap();
    assert_eq!(
        url.as_str(),
        "http://127.0.0.1:8003/.well-known/webfinger?resource=acct:bob@127.0.0.1:8003"
    );
    let url = l.webfinger_url("bob", "[::1]:8003").unwrap();
    assert!(url.as_str().starts_with("http://[::1]:8003/"), "{url}");
    let url = l.webfinger_url("carol", "8.8.8.8").unwrap();
    assert!(url.as_str().starts_with("https://8.8.8.8/"), "{url}");
    if ("localhost", 80).to_socket_addrs().is_ok() {
        let url = l.webfinger_url("bob", "localhost:8003").unwrap();
        assert!(url.as_str().starts_with("http://localhost:8003/"), "{url}");
    }
    for (user, host) in [
        ("", "example.org"),
        ("a b", "example.org"),
        ("a", ""),
        ("a", "example.org/path"),
        ("a", "x@example.org"),
        ("a", "example.org?q"),
        ("a", "exa mple.org"),
        ("a", "abc.onion"),
        ("a", "kith.example"),
    ] {
        refusal(s.webfinger_url(user, host));
    }
}

#[test]
fn retry_after_parsing() {
    let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_000);
    let parse = |value: &str| {
        let mut headers = HeaderMap::new();
        headers.insert(header::RETRY_AFTER, value.parse().unwrap());
        retry_after(&headers, now)
    };
    assert_eq!(parse("0"), Some(Duration::ZERO));
    assert_eq!(parse(" 30 "), Some(Duration::from_secs(30)));
    let in_90 = httpdate::fmt_http_date(now + Duration::from_secs(90));
    assert_eq!(parse(&in_90), Some(Duration::from_secs(90)));
    let past = httpdate::fmt_http_date(now - Duration::from_secs(90));
    assert_eq!(parse(&past), Some(Duration::ZERO));
    assert_eq!(parse("soon"), None);
    assert_eq!(parse("-5"), None);
    assert_eq!(retry_after(&HeaderMap::new(), now), None);
}

#[test]
fn signer_headers_replace_base_headers() {
    let merged = merge_headers(
        &[("Accept", "a"), ("Content-Type", "c")],
        vec![("accept".into(), "b".into()), ("Date".into(), "d".into())],
    );
    let expected: Vec<(String, String)> = [("Content-Type", "c"), ("accept", "b"), ("Date", "d")]
        .iter()
        .map(|(n, v)| (n.to_string(), v.to_string()))
        .collect();
    assert_eq!(merged, expected);
    assert_eq!(
        media_type(" Application/JSON ; charset=utf-8"),
        "application/json"
    );
    assert_eq!(percent_encode("a.b-c_d~e@f g"), "a.b-c_d~e%40f%20g");
}

#[test]
fn fetcher_is_shared_between_threads() {
    fn shared<T: Send + Sync + Clone>() {}
    shared::<Fetcher>();
}
