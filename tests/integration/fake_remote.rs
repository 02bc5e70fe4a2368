//! A fake remote ActivityPub server for the security tests (SECURITY.md "How to test
//! these" 5): a small HTTP/1.1 server on `127.0.0.1:0` in the test process that serves
//! Mastodon-shaped fixture actors and notes, misbehaves on chosen paths (redirects,
//! wrong ids, wrong content types, 410, 429, 500, lying `Content-Length`, oversized
//! bodies, slow drip) and records every request it receives, so "kith made no
//! outbound request" is `assert!(remote.requests().is_empty())`.
//!
//! Its actors can also sign and send requests to kith (`Actor::sign_post`,
//! `Actor::sign_get`, [`Cavage`] for hand-made bad signatures, [`send`] for the raw
//! request), with the test-only keys of `tests/fixtures/sig/` and a chosen clock.
//!
//! Ids use the host `localhost:PORT`: kith started with `allow_private_addresses`
//! reaches it on loopback. The server stops when dropped.

use crate::support::Got;
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use ring::signature::{RSA_PKCS1_SHA256, RsaKeyPair};
use serde_json::{Value, json};
use std::collections::HashMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

/// Connections served at once; more are closed unanswered.
const MAX_CONNECTIONS: usize = 32;
/// How long a connection may take to send its request head and body.
const READ_TIMEOUT: Duration = Duration::from_secs(10);
/// The largest request body read.
const MAX_REQUEST_BODY: usize = 4 * 1024 * 1024;
/// The content type of ActivityPub documents.
pub const AP: &str = "application/activity+json; charset=utf-8";

/// One of the test-only keys of `tests/fixtures/sig/` (see its README).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Key {
    A,
    B,
}

impl Key {
    /// The private key, PKCS#8 DER.
    fn pkcs8(self) -> &'static [u8] {
        match self {
            Key::A => include_bytes!("../fixtures/sig/key-a.pk8.der"),
            Key::B => include_bytes!("../fixtures/sig/key-b.pk8.der"),
        }
    }

    /// The public key, SPKI PEM (`BEGIN PUBLIC KEY`).
    pub fn public_pem(self) -> &'static str {
        match self {
            Key::A => include_str!("../fixtures/sig/key-a.pub.pem"),
            Key::B => include_str!("../fixtures/sig/key-b.pub.pem"),
        }
    }

    /// The key pair, for signing.
    pub fn pair(self) -> RsaKeyPair {
        RsaKeyPair::from_pkcs8(self.pkcs8()).expect("fixture key loads")
    }
}

/// What the fake remote answers on one path.
#[derive(Debug, Clone)]
pub enum Reply {
    /// A document with a status and content type, and an honest `Content-Length`.
    Doc {
        status: u16,
        content_type: String,
        body: Vec<u8>,
    },
    /// A redirect to `location`.
    Redirect { status: u16, location: String },
    /// `429 Too Many Requests` with `Retry-After`.
    TooMany { retry_after_secs: u64 },
    /// A `Content-Length` of `declared`, then `body` (shorter or longer), then close.
    LyingLength { declared: u64, body: Vec<u8> },
    /// No `Content-Length`: the body ends when the connection closes.
    CloseDelimited { content_type: String, body: Vec<u8> },
    /// The body one byte at a time, `every` apart (slowloris against kith's client).
    Drip { body: Vec<u8>, every: Duration },
}

impl Reply {
    /// An ActivityPub JSON document, 200.
    pub fn ap(doc: &Value) -> Reply {
        Reply::with_type(200, AP, doc)
    }

    /// A JSON document with another status or content type.
    pub fn with_type(status: u16, content_type: &str, doc: &Value) -> Reply {
        Reply::Doc {
            status,
            content_type: content_type.into(),
            body: serde_json::to_vec(doc).unwrap(),
        }
    }

    /// A bare status with a short JSON body (`410`, `500`, `202`…).
    pub fn status(status: u16) -> Reply {
        Reply::with_type(status, "application/json", &json!({}))
    }
}

/// One request the fake remote received.
#[derive(Debug, Clone)]
pub struct Request {
    pub method: String,
    /// Path and query, as sent.
    pub target: String,
    /// Headers with lower-case names, in the order received.
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Request {
    /// A header value by (lower-case) name.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }

    /// The path without the query.
    pub fn path(&self) -> &str {
        self.target.split('?').next().unwrap_or("")
    }
}

#[derive(Default)]
struct Shared {
    routes: Mutex<HashMap<String, Reply>>,
    log: Mutex<Vec<Request>>,
    connections: AtomicUsize,
    active: AtomicUsize,
    stop: AtomicBool,
}

/// The fake remote server.
pub struct FakeRemote {
    addr: SocketAddr,
    shared: Arc<Shared>,
    accept: Option<JoinHandle<()>>,
}

/// A fixture actor of the fake remote and its signing key.
pub struct Actor {
    pub name: String,
    /// `http://localhost:PORT/users/NAME`.
    pub uri: String,
    /// `URI#main-key`.
    pub key_id: String,
    /// The Person document served at `uri`.
    pub doc: Value,
    key: RsaKeyPair,
}

impl FakeRemote {
    /// Starts listening on `127.0.0.1:0`.
    pub fn start() -> FakeRemote {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind the fake remote");
        let addr = listener.local_addr().unwrap();
        let shared = Arc::new(Shared::default());
        let state = shared.clone();
        let accept = std::thread::spawn(move || accept_loop(&listener, &state));
        FakeRemote {
            addr,
            shared,
            accept: Some(accept),
        }
    }

    /// The port it listens on.
    pub fn port(&self) -> u16 {
        self.addr.port()
    }

    /// `localhost:PORT`, the host of every id it serves.
    pub fn host(&self) -> String {
        format!("localhost:{}", self.port())
    }

    /// `http://localhost:PORT`.
    pub fn base(&self) -> String {
        format!("http://{}", self.host())
    }

    /// `http://localhost:PORT` + path.
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base())
    }

    /// Sets the answer for a path (with its query, if any).
    pub fn route(&self, path: &str, reply: Reply) {
        self.shared
            .routes
            .lock()
            .unwrap()
            .insert(path.to_string(), reply);
    }

    /// Serves an ActivityPub document at its own `id` (which must be on this server).
    pub fn serve(&self, doc: &Value) {
        let id = doc["id"].as_str().expect("the document has an id");
        let path = id.strip_prefix(&self.base()).expect("an id on this server");
        self.route(path, Reply::ap(doc));
    }

    /// Every request received so far, in order.
    pub fn requests(&self) -> Vec<Request> {
        self.shared.log.lock().unwrap().clone()
    }

    /// The requests received for one path (query ignored).
    pub fn requests_to(&self, path: &str) -> Vec<Request> {
        self.requests()
            .into_iter()
            .filter(|r| r.path() == path)
            .collect()
    }

    /// Forgets the requests received so far.
    pub fn clear(&self) {
        self.shared.log.lock().unwrap().clear();
    }

    /// TCP connections accepted so far (a refused dial never makes one).
    pub fn connections(&self) -> usize {
        self.shared.connections.load(Ordering::SeqCst)
    }

    /// A Mastodon-shaped `Person` from `tests/fixtures/mastodon/person.json`, with
    /// `key`'s public key, served at `/users/NAME`, with an inbox answering 202.
    pub fn actor(&self, name: &str, key: Key) -> Actor {
        let actor = self.actor_unserved(name, key);
        self.serve(&actor.doc);
        self.route(&format!("/users/{name}/inbox"), Reply::status(202));
        self.route("/inbox", Reply::status(202));
        actor
    }

    /// Like [`FakeRemote::actor`] but nothing is served: the test decides what
    /// `/users/NAME` answers.
    pub fn actor_unserved(&self, name: &str, key: Key) -> Actor {
        let uri = self.url(&format!("/users/{name}"));
        let mut doc = fixture("person.json", self, None);
        let text = doc
            .to_string()
            .replace("/users/bob", &format!("/users/{name}"));
        doc = serde_json::from_str(&text).unwrap();
        doc["preferredUsername"] = json!(name);
        doc["url"] = json!(self.url(&format!("/@{name}")));
        doc["publicKey"]["publicKeyPem"] = json!(key.public_pem());
        Actor {
            name: name.to_string(),
            key_id: format!("{uri}#main-key"),
            uri,
            doc,
            key: key.pair(),
        }
    }
}

impl Drop for FakeRemote {
    fn drop(&mut self) {
        self.shared.stop.store(true, Ordering::SeqCst);
        // Wake the accept loop so it sees the stop flag.
        let _ = TcpStream::connect(self.addr);
        if let Some(h) = self.accept.take() {
            let _ = h.join();
        }
    }
}

fn accept_loop(listener: &TcpListener, shared: &Arc<Shared>) {
    for stream in listener.incoming() {
        if shared.stop.load(Ordering::SeqCst) {
            return;
        }
        let Ok(stream) = stream else { continue };
        shared.connections.fetch_add(1, Ordering::SeqCst);
        if shared.active.fetch_add(1, Ordering::SeqCst) >= MAX_CONNECTIONS {
            shared.active.fetch_sub(1, Ordering::SeqCst);
            continue;
        }
        let state = shared.clone();
        std::thread::spawn(move || {
            let _ = serve_connection(stream, &state);
            state.active.fetch_sub(1, Ordering::SeqCst);
        });
    }
}

/// Reads one request, records it and answers it; the connection then closes.
fn serve_connection(stream: TcpStream, shared: &Shared) -> std::io::Result<()> {
    stream.set_read_timeout(Some(READ_TIMEOUT))?;
    stream.set_write_timeout(Some(READ_TIMEOUT))?;
    let mut reader = BufReader::new(stream.try_clone()?);
    let (method, target, headers) = read_head(&mut reader)?;
    let length = headers
        .iter()
        .find(|(n, _)| n == "content-length")
        .and_then(|(_, v)| v.trim().parse::<usize>().ok())
        .unwrap_or(0)
        .min(MAX_REQUEST_BODY);
    let mut body = vec![0; length];
    reader.read_exact(&mut body)?;
    shared.log.lock().unwrap().push(Request {
        method,
        target: target.clone(),
        headers,
        body,
    });
    let reply = {
        let routes = shared.routes.lock().unwrap();
        let path = target.split('?').next().unwrap_or("");
        routes
            .get(&target)
            .or_else(|| routes.get(path))
            .cloned()
            .unwrap_or_else(|| {
                Reply::with_type(
                    404,
                    "application/json",
                    &json!({"error": "Record not found"}),
                )
            })
    };
    let mut out = stream;
    write_reply(&mut out, reply, &shared.stop)?;
    let _ = out.flush();
    let _ = out.shutdown(Shutdown::Both);
    Ok(())
}

type Head = (String, String, Vec<(String, String)>);

fn read_head(reader: &mut impl BufRead) -> std::io::Result<Head> {
    let bad = || std::io::Error::new(std::io::ErrorKind::InvalidData, "bad request head");
    let mut line = String::new();
    reader.read_line(&mut line)?;
    let mut parts = line.split_whitespace();
    let method = parts.next().ok_or_else(bad)?.to_string();
    let target = parts.next().ok_or_else(bad)?.to_string();
    let mut headers = Vec::new();
    loop {
        line.clear();
        if reader.read_line(&mut line)? == 0 || headers.len() > 200 {
            return Err(bad());
        }
        let l = line.trim_end_matches(['\r', '\n']);
        if l.is_empty() {
            return Ok((method, target, headers));
        }
        let (name, value) = l.split_once(':').ok_or_else(bad)?;
        headers.push((name.trim().to_ascii_lowercase(), value.trim().to_string()));
    }
}

fn reason(status: u16) -> &'static str {
    match status {
        200 => "OK",
        202 => "Accepted",
        301 => "Moved Permanently",
        302 => "Found",
        404 => "Not Found",
        410 => "Gone",
        429 => "Too Many Requests",
        500 => "Internal Server Error",
        _ => "Status",
    }
}

fn write_reply(out: &mut TcpStream, reply: Reply, stop: &AtomicBool) -> std::io::Result<()> {
    let head = |status: u16, extra: &str| {
        format!(
            "HTTP/1.1 {status} {}\r\nConnection: close\r\n{extra}\r\n",
            reason(status)
        )
    };
    match reply {
        Reply::Doc {
            status,
            content_type,
            body,
        } => {
            let extra = format!(
                "Content-Type: {content_type}\r\nContent-Length: {}\r\n",
                body.len()
            );
            out.write_all(head(status, &extra).as_bytes())?;
            out.write_all(&body)
        }
        Reply::Redirect { status, location } => {
            let extra = format!("Location: {location}\r\nContent-Length: 0\r\n");
            out.write_all(head(status, &extra).as_bytes())
        }
        Reply::TooMany { retry_after_secs } => {
            let extra = format!("Retry-After: {retry_after_secs}\r\nContent-Length: 0\r\n");
            out.write_all(head(429, &extra).as_bytes())
        }
        Reply::LyingLength { declared, body } => {
            let extra = format!("Content-Type: {AP}\r\nContent-Length: {declared}\r\n");
            out.write_all(head(200, &extra).as_bytes())?;
            out.write_all(&body)
        }
        Reply::CloseDelimited { content_type, body } => {
            let extra = format!("Content-Type: {content_type}\r\n");
            out.write_all(head(200, &extra).as_bytes())?;
            out.write_all(&body)
        }
        Reply::Drip { body, every } => {
            let extra = format!("Content-Type: {AP}\r\nContent-Length: {}\r\n", body.len());
            out.write_all(head(200, &extra).as_bytes())?;
            for byte in body {
                if stop.load(Ordering::SeqCst) {
                    break;
                }
                out.write_all(&[byte])?;
                out.flush()?;
                std::thread::sleep(every);
            }
            Ok(())
        }
    }
}

/// Loads a fixture of `tests/fixtures/mastodon/`, moving its hosts onto the fake
/// remote (`https://mastodon.example`) and the kith instance (`https://kith.example`,
/// whose account is `owner`) given as `(base, actor)`.
pub fn fixture(name: &str, remote: &FakeRemote, kith: Option<(&str, &str)>) -> Value {
    let path = format!(
        "{}/tests/fixtures/mastodon/{name}",
        env!("CARGO_MANIFEST_DIR")
    );
    let mut text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
    text = text
        .replace("https://mastodon.example", &remote.base())
        .replace("mastodon.example", &remote.host());
    if let Some((base, actor)) = kith {
        let host = base.trim_start_matches("http://");
        text = text
            .replace("https://kith.example/users/owner", actor)
            .replace("https://kith.example", base)
            .replace("kith.example", host);
    }
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{path}: {e}"))
}

impl Actor {
    /// Headers of a signed POST of `body` to `url`, made by kith's own signer
    /// (`kith::sig::sign`, draft-cavage rsa-sha256) at `now` (Unix seconds).
    pub fn sign_post(&self, url: &str, body: &[u8], now: i64) -> Vec<(String, String)> {
        self.sign_post_as(url, body, now, "application/activity+json")
    }

    /// Like [`Actor::sign_post`] with another (signed) `Content-Type`.
    pub fn sign_post_as(
        &self,
        url: &str,
        body: &[u8],
        now: i64,
        content_type: &str,
    ) -> Vec<(String, String)> {
        let url = url::Url::parse(url).unwrap();
        let outgoing = kith::sig::Outgoing {
            method: "POST",
            url: &url,
            accept: None,
            content_type: Some(content_type),
            body: Some(body),
        };
        let mut headers = kith::sig::sign(&self.key, &self.key_id, &outgoing, now);
        headers.push(("Content-Type".into(), content_type.into()));
        headers
    }

    /// Headers of a POST signed with RFC 9421 (`kith::sig::sign_rfc9421`, Mastodon's
    /// profile) at `now`.
    pub fn sign_post_9421(&self, url: &str, body: &[u8], now: i64) -> Vec<(String, String)> {
        let url = url::Url::parse(url).unwrap();
        let outgoing = kith::sig::Outgoing {
            method: "POST",
            url: &url,
            accept: None,
            content_type: Some("application/activity+json"),
            body: Some(body),
        };
        let mut headers = kith::sig::sign_rfc9421(&self.key, &self.key_id, &outgoing, now);
        headers.push(("Content-Type".into(), "application/activity+json".into()));
        headers
    }

    /// Headers of a signed GET of `url` at `now`.
    pub fn sign_get(&self, url: &str, now: i64) -> Vec<(String, String)> {
        let url = url::Url::parse(url).unwrap();
        let outgoing = kith::sig::Outgoing {
            method: "GET",
            url: &url,
            accept: Some("application/activity+json"),
            content_type: None,
            body: None,
        };
        let mut headers = kith::sig::sign(&self.key, &self.key_id, &outgoing, now);
        headers.push(("Accept".into(), "application/activity+json".into()));
        headers
    }

    /// A hand-made draft-cavage signature by this actor's key, for bad variants.
    pub fn cavage(&self) -> Cavage<'_> {
        Cavage {
            key: &self.key,
            key_id: Some(self.key_id.clone()),
            algorithm: Some("rsa-sha256".into()),
            covered: vec![
                "(request-target)".into(),
                "host".into(),
                "date".into(),
                "digest".into(),
                "content-type".into(),
            ],
            created: None,
        }
    }
}

/// A draft-cavage `Signature` built by hand: any algorithm name, any covered headers,
/// any `keyId`, signed over whatever the request holds.
pub struct Cavage<'a> {
    key: &'a RsaKeyPair,
    pub key_id: Option<String>,
    pub algorithm: Option<String>,
    pub covered: Vec<String>,
    /// The `created` parameter (for `(created)`).
    pub created: Option<i64>,
}

impl Cavage<'_> {
    /// Another keyId (or none).
    pub fn key_id(mut self, key_id: Option<&str>) -> Self {
        self.key_id = key_id.map(str::to_string);
        self
    }

    /// Another algorithm name (or none).
    pub fn algorithm(mut self, algorithm: Option<&str>) -> Self {
        self.algorithm = algorithm.map(str::to_string);
        self
    }

    /// Other covered headers.
    pub fn covering(mut self, names: &[&str]) -> Self {
        self.covered = names.iter().map(|s| s.to_string()).collect();
        self
    }

    /// A `created` parameter.
    pub fn created(mut self, created: i64) -> Self {
        self.created = Some(created);
        self
    }

    /// The `Signature` header value for `method target` with `headers`.
    pub fn header(&self, method: &str, target: &str, headers: &[(String, String)]) -> String {
        self.header_with(method, target, headers, &[])
    }

    /// Like [`Cavage::header`] with more pseudo-header parameters, such as
    /// `("(expires)", 1700000000)`, signed and sent as `expires=…`.
    pub fn header_with(
        &self,
        method: &str,
        target: &str,
        headers: &[(String, String)],
        pseudo: &[(&str, i64)],
    ) -> String {
        let mut lines = Vec::new();
        for name in &self.covered {
            let extra = pseudo.iter().find(|(n, _)| n == name).map(|(_, v)| *v);
            let value = match name.as_str() {
                _ if extra.is_some() => extra.unwrap_or(0).to_string(),
                "(request-target)" => format!("{} {target}", method.to_ascii_lowercase()),
                "(created)" => self.created.unwrap_or(0).to_string(),
                other => headers
                    .iter()
                    .filter(|(n, _)| n.eq_ignore_ascii_case(other))
                    .map(|(_, v)| v.trim().to_string())
                    .collect::<Vec<_>>()
                    .join(", "),
            };
            lines.push(format!("{name}: {value}"));
        }
        let mut signature = vec![0; self.key.public().modulus_len()];
        self.key
            .sign(
                &RSA_PKCS1_SHA256,
                &ring::rand::SystemRandom::new(),
                lines.join("\n").as_bytes(),
                &mut signature,
            )
            .unwrap();
        let mut params = Vec::new();
        if let Some(k) = &self.key_id {
            params.push(format!("keyId=\"{k}\""));
        }
        if let Some(a) = &self.algorithm {
            params.push(format!("algorithm=\"{a}\""));
        }
        if let Some(c) = self.created {
            params.push(format!("created={c}"));
        }
        for (name, value) in pseudo {
            params.push(format!("{}={value}", name.trim_matches(['(', ')'])));
        }
        params.push(format!("headers=\"{}\"", self.covered.join(" ")));
        params.push(format!("signature=\"{}\"", STANDARD.encode(signature)));
        params.join(",")
    }
}

/// The current time in Unix seconds.
pub fn now() -> i64 {
    kith::db::now_ms() / 1000
}

/// Sends one raw HTTP/1.1 request to `addr` exactly as given (no header is added but
/// `Content-Length`, when neither it nor `Transfer-Encoding` is given, and
/// `Connection: close`) and reads the answer. A chunked body is sent as given.
pub fn send(
    addr: SocketAddr,
    method: &str,
    target: &str,
    headers: &[(String, String)],
    body: &[u8],
) -> Got {
    let mut stream = TcpStream::connect(addr).expect("connect to kith");
    stream
        .set_read_timeout(Some(Duration::from_secs(30)))
        .unwrap();
    let mut head = format!("{method} {target} HTTP/1.1\r\n");
    for (n, v) in headers {
        head.push_str(&format!("{n}: {v}\r\n"));
    }
    let framed = headers.iter().any(|(n, _)| {
        n.eq_ignore_ascii_case("content-length") || n.eq_ignore_ascii_case("transfer-encoding")
    });
    if !framed && (method == "POST" || !body.is_empty()) {
        head.push_str(&format!("Content-Length: {}\r\n", body.len()));
    }
    head.push_str("Connection: close\r\n\r\n");
    stream.write_all(head.as_bytes()).unwrap();
    // The body goes from another thread, so an early answer (413) is read at once.
    let mut writer = stream.try_clone().unwrap();
    let body = body.to_vec();
    let sender = std::thread::spawn(move || {
        let _ = writer.write_all(&body);
        let _ = writer.flush();
    });
    let mut raw = Vec::new();
    let _ = stream.read_to_end(&mut raw);
    let _ = sender.join();
    parse_response(&raw)
}

fn parse_response(raw: &[u8]) -> Got {
    let split = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .unwrap_or_else(|| panic!("no response head: {:?}", String::from_utf8_lossy(raw)));
    let head = String::from_utf8_lossy(&raw[..split]).to_string();
    let mut lines = head.split("\r\n");
    let status: u16 = lines
        .next()
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|s| s.parse().ok())
        .expect("status line");
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(n, v)| (n.trim().to_ascii_lowercase(), v.trim().to_string()))
        .collect();
    let mut body = raw[split + 4..].to_vec();
    let chunked = headers
        .iter()
        .any(|(n, v)| n == "transfer-encoding" && v.eq_ignore_ascii_case("chunked"));
    if chunked {
        body = dechunk(&body);
    }
    Got {
        status,
        headers,
        body: String::from_utf8_lossy(&body).to_string(),
    }
}

fn dechunk(mut data: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    while let Some(end) = data.windows(2).position(|w| w == b"\r\n") {
        let size_text = String::from_utf8_lossy(&data[..end]).to_string();
        let size =
            usize::from_str_radix(size_text.split(';').next().unwrap().trim(), 16).unwrap_or(0);
        if size == 0 {
            break;
        }
        let start = end + 2;
        let stop = (start + size).min(data.len());
        out.extend_from_slice(&data[start..stop]);
        data = &data[(stop + 2).min(data.len())..];
    }
    out
}
