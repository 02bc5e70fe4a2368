//! The tiny_http boundary: the listening socket, the connection bounds (idle timeout
//! and a cap on open connections, through kith's patch to tiny_http), the request threads, turning a tiny_http request into a
//! capped [`Req`] and a [`Resp`] back into bytes, the access log, and graceful
//! shutdown. No other module sees tiny_http.
//!
//! A handler may also answer `101 Switching Protocols` with an [`Upgrade`] (the
//! streaming API's WebSockets): the answer is written, and the upgrade's callback then
//! runs on the connection's two halves ([`Upgraded`]) in a thread of its own, so the
//! request thread is free again at once. A [`Resp::stream`] (server-sent events)
//! likewise hands the connection's writing half to a thread of its own after the
//! head is written (`stream`).
//!
//! Large bodies never sit whole in memory: a handler may have a request's body
//! spooled to a file as it arrives ([`Handler::spool`], [`SpooledBody`]), and may
//! answer with a file that is read as it is sent ([`Resp::file`]).

pub mod cors;
pub mod multipart;
pub mod params;
pub mod stream;

use crate::config::Cidr;
use crate::error::Result;
use std::io::{Read, Write};
use std::net::{IpAddr, SocketAddr, TcpListener};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// An HTTP request with its body already read (within the cap).
#[derive(Debug, Clone)]
pub struct Req {
    /// Upper-case method.
    pub method: String,
    /// The path exactly as sent, without the query.
    pub path: String,
    /// The raw query string, without `?` (empty when none).
    pub query: String,
    /// Headers with lower-case names, in the order received.
    pub headers: Vec<(String, String)>,
    /// The body bytes (empty when the body was spooled to a file).
    pub body: Vec<u8>,
    /// The body, when the handler asked for it to be spooled to a file.
    pub spooled: Option<Arc<SpooledBody>>,
    /// The client's address: the socket peer, or the forwarded address from a trusted proxy.
    pub client_ip: IpAddr,
}

/// A request body written to a file as it arrived; the file is removed when the last
/// handle is dropped.
#[derive(Debug)]
pub struct SpooledBody {
    /// Where the bytes are.
    pub path: PathBuf,
    /// How many bytes.
    pub len: u64,
}

impl Drop for SpooledBody {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.path);
    }
}

/// Where a handler wants a request's body spooled, and the most it accepts.
#[derive(Debug, Clone)]
pub struct Spool {
    /// The directory the file goes in (created when missing).
    pub dir: PathBuf,
    /// The largest body accepted, in bytes.
    pub limit: u64,
}

impl Req {
    /// A request with no headers or body (tests and internal dispatch).
    pub fn new(method: &str, target: &str) -> Req {
        let (path, query) = target.split_once('?').unwrap_or((target, ""));
        Req {
            method: method.to_string(),
            path: path.to_string(),
            query: query.to_string(),
            headers: Vec::new(),
            body: Vec::new(),
            spooled: None,
            client_ip: IpAddr::from([127, 0, 0, 1]),
        }
    }

    /// The first header with this (lower-case) name.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }

    /// The decoded query parameters, in order.
    pub fn query_pairs(&self) -> Vec<(String, String)> {
        url::form_urlencoded::parse(self.query.as_bytes())
            .into_owned()
            .collect()
    }

    /// The first query parameter with this name.
    pub fn query_param(&self, name: &str) -> Option<String> {
        url::form_urlencoded::parse(self.query.as_bytes())
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.into_owned())
    }

    /// The path and query as sent (`/path?query`).
    pub fn target(&self) -> String {
        if self.query.is_empty() {
            self.path.clone()
        } else {
            format!("{}?{}", self.path, self.query)
        }
    }
}

/// An HTTP response.
#[derive(Debug)]
pub struct Resp {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
    /// With status 101: what runs on the connection once the answer is written.
    pub upgrade: Option<Upgrade>,
    /// A body read from a file as it is sent, in place of `body`.
    pub file: Option<BodyFile>,
    /// A body written over time by a thread of its own, in place of `body`.
    pub stream: Option<stream::BodyStream>,
}

/// A response body streamed from a file; with `remove`, the file is deleted once the
/// answer is sent (or dropped).
pub struct BodyFile {
    file: std::fs::File,
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
    pub fn stream(status: u16, content_type: &str, run: stream::WriteBody) -> Resp {
        let mut resp = Resp::empty(status).with_header("Content-Type", content_type);
        resp.stream = Some(stream::BodyStream { run });
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
            file,
            remove: remove_after.then(|| path.to_path_buf()),
        };
        let mut resp = Resp::empty(status).with_header("Content-Type", content_type);
        resp.file = Some(body);
        Ok(resp)
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

/// What the server calls for every request.
pub trait Handler: Send + Sync + 'static {
    /// The largest body accepted for this method and path.
    fn body_limit(&self, method: &str, path: &str) -> u64;
    /// Whether this request's body (the request is given without it) goes to a file
    /// as it arrives, rather than into memory; `None` reads it into memory.
    fn spool(&self, _head: &Req) -> Option<Spool> {
        None
    }
    /// The answer to a body over its cap (`limit` bytes); the request is given
    /// without its body.
    fn too_large(&self, _head: &Req, _limit: u64) -> Resp {
        Resp::json(413, &serde_json::json!({"error": "Request body too large"}))
    }
    /// Answers one request.
    fn handle(&self, req: Req) -> Resp;
}

/// Settings of the HTTP layer.
pub struct HttpOptions {
    pub threads: usize,
    /// An idle keep-alive connection, or a client that stops sending, is closed after this.
    pub idle_timeout: Duration,
    /// Connections open at once; more are answered 503 and closed.
    pub max_connections: usize,
    pub trusted_proxies: Vec<Cidr>,
}

/// A running HTTP server: its address and request threads.
pub struct HttpServer {
    server: Arc<tiny_http::Server>,
    threads: Vec<JoinHandle<()>>,
    addr: SocketAddr,
    stopping: Arc<AtomicBool>,
}

/// Binds `addr` for the HTTP server.
pub fn bind(addr: SocketAddr) -> Result<TcpListener> {
    use socket2::{Domain, Protocol, Socket, Type};
    let socket = Socket::new(Domain::for_address(addr), Type::STREAM, Some(Protocol::TCP))?;
    socket.set_reuse_address(true)?;
    socket.set_tcp_nodelay(true)?;
    socket.bind(&addr.into())?;
    socket.listen(1024)?;
    Ok(socket.into())
}

impl HttpServer {
    /// Starts the request threads on an already bound listener.
    pub fn start(
        listener: TcpListener,
        opts: HttpOptions,
        handler: Arc<dyn Handler>,
    ) -> Result<HttpServer> {
        let addr = listener.local_addr()?;
        let limits = tiny_http::ConnectionLimits {
            read_timeout: Some(opts.idle_timeout),
            write_timeout: Some(Duration::from_secs(30)),
            max_connections: opts.max_connections,
        };
        let server =
            tiny_http::Server::from_listener_with_limits(listener, None, limits).map_err(|e| {
                crate::error::Error::Internal(format!("cannot start the HTTP server: {e}"))
            })?;
        let server = Arc::new(server);
        let stopping = Arc::new(AtomicBool::new(false));
        let proxies = Arc::new(opts.trusted_proxies);
        let mut threads = Vec::new();
        for i in 0..opts.threads {
            let server = server.clone();
            let handler = handler.clone();
            let proxies = proxies.clone();
            let stopping = stopping.clone();
            let t = std::thread::Builder::new()
                .name(format!("http-{i}"))
                .stack_size(512 * 1024)
                .spawn(move || worker_loop(&server, handler.as_ref(), &proxies, &stopping))?;
            threads.push(t);
        }
        Ok(HttpServer {
            server,
            threads,
            addr,
            stopping,
        })
    }

    /// The bound address.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Stops taking new requests, lets in-flight ones finish, and joins the threads.
    pub fn shutdown(self) {
        self.stopping.store(true, Ordering::SeqCst);
        for t in self.threads {
            let _ = t.join();
        }
        // Dropping the last handle closes the listening socket.
        drop(self.server);
    }
}

/// How long a request thread waits for work before it looks at the stop flag.
const POLL: Duration = Duration::from_millis(100);
/// How long shutdown keeps answering requests that are already queued.
const DRAIN_LIMIT: Duration = Duration::from_secs(10);

/// Answers requests until told to stop; then answers what is already queued (until
/// the queue has been quiet for one poll, at most `DRAIN_LIMIT`) and returns.
fn worker_loop(
    server: &tiny_http::Server,
    handler: &dyn Handler,
    proxies: &[Cidr],
    stopping: &AtomicBool,
) {
    let mut stop_seen: Option<Instant> = None;
    loop {
        match server.recv_timeout(POLL) {
            Ok(Some(rq)) => serve_one(rq, handler, proxies),
            Ok(None) if stop_seen.is_some() => return,
            Ok(None) => {}
            Err(_) => return,
        }
        if stopping.load(Ordering::SeqCst) {
            let since = *stop_seen.get_or_insert_with(Instant::now);
            if since.elapsed() > DRAIN_LIMIT {
                return;
            }
        }
    }
}

/// Reads one request within its body cap, runs the handler, writes the response, logs.
fn serve_one(mut rq: tiny_http::Request, handler: &dyn Handler, proxies: &[Cidr]) {
    let started = Instant::now();
    let method = rq.method().as_str().to_ascii_uppercase();
    let url = rq.url().to_string();
    let (path, query) = match url.split_once('?') {
        Some((p, q)) => (p.to_string(), q.to_string()),
        None => (url.clone(), String::new()),
    };
    let headers: Vec<(String, String)> = rq
        .headers()
        .iter()
        .map(|h| {
            (
                h.field.as_str().as_str().to_ascii_lowercase(),
                h.value.as_str().to_string(),
            )
        })
        .collect();
    let peer = rq
        .remote_addr()
        .map(|a| a.ip())
        .unwrap_or(IpAddr::from([127, 0, 0, 1]));
    let client_ip = client_address(peer, &headers, proxies);
    let upgrading = wants_upgrade(&headers);
    let mut req = Req {
        method: method.clone(),
        path: path.clone(),
        query,
        headers,
        body: Vec::new(),
        spooled: None,
        client_ip,
    };
    let spool = if upgrading { None } else { handler.spool(&req) };
    let read = match &spool {
        Some(spool) => spool_body(&mut rq, spool).map(|s| req.spooled = Some(Arc::new(s))),
        None => read_body(&mut rq, handler.body_limit(&method, &path), upgrading)
            .map(|body| req.body = body),
    };
    let resp = match read {
        Ok(()) => {
            match std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| handler.handle(req))) {
                Ok(resp) => resp,
                Err(_) => {
                    eprintln!("error: a request handler panicked on {method} {path}");
                    Resp::json(500, &serde_json::json!({"error": "Internal server error"}))
                }
            }
        }
        Err(413) => {
            let limit = match &spool {
                Some(s) => s.limit,
                None => handler.body_limit(&method, &path),
            };
            handler.too_large(&req, limit)
        }
        Err(status) => Resp::json(
            status,
            &serde_json::json!({"error": match status {
                507 => "The upload could not be stored",
                _ => "Could not read the request body",
            }}),
        ),
    };
    let status = respond(rq, resp, upgrading);
    let line = format!(
        "{method} {path} {status} {:.1}ms {client_ip}\n",
        started.elapsed().as_secs_f64() * 1000.0
    );
    // One write for the whole line: stderr is unbuffered, and `eprintln!` would make
    // a system call of each formatted piece.
    let _ = std::io::Write::write_all(&mut std::io::stderr().lock(), line.as_bytes());
}

/// Whether the client asks to switch protocols (`Connection: upgrade`, as tiny_http
/// tests it). tiny_http then hands over the raw connection as the request's body.
fn wants_upgrade(headers: &[(String, String)]) -> bool {
    headers
        .iter()
        .any(|(n, v)| n == "connection" && v.to_ascii_lowercase().contains("upgrade"))
}

/// Writes the answer; a 101 with an [`Upgrade`] to a request that asked for one hands
/// the connection to its callback in a new thread. Returns the status sent.
fn respond(rq: tiny_http::Request, mut resp: Resp, upgrading: bool) -> u16 {
    if let Some(body) = resp.stream.take() {
        return stream::hand_over(rq, resp, body);
    }
    let upgrade = resp.upgrade.take().filter(|_| resp.status == 101);
    let Some(upgrade) = upgrade else {
        let status = resp.status;
        let _ = rq.respond(to_tiny(resp));
        return status;
    };
    if !upgrading {
        // tiny_http would go on reading requests from a connection handed away.
        eprintln!("error: a handler switched protocols on a request that did not ask to");
        let _ = rq.respond(to_tiny(Resp::json(
            500,
            &serde_json::json!({"error": "Internal server error"}),
        )));
        return 500;
    }
    let (reader, writer) = match rq.upgrade_split(&upgrade.protocol, to_tiny(resp)) {
        Ok(halves) => halves,
        Err(e) => {
            eprintln!("upgrade: could not answer 101: {e}");
            return 101;
        }
    };
    let run = upgrade.run;
    let spawned = std::thread::Builder::new()
        .name("upgraded".into())
        .stack_size(256 * 1024)
        .spawn(move || run(Upgraded { reader, writer }));
    if let Err(e) = spawned {
        eprintln!("upgrade: cannot start a thread: {e}");
    }
    101
}

/// Reads the body, refusing with 413 past `limit` (on Content-Length or while reading).
/// For an upgrade request only what `Content-Length` announces is read (nothing without
/// one): its body reader is the raw connection, and reading to its end would wait for
/// the client to hang up.
fn read_body(
    rq: &mut tiny_http::Request,
    limit: u64,
    upgrading: bool,
) -> std::result::Result<Vec<u8>, u16> {
    if let Some(len) = rq.body_length()
        && len as u64 > limit
    {
        return Err(413);
    }
    if upgrading {
        let announced = rq.body_length().unwrap_or(0) as u64;
        let mut body = Vec::new();
        return match rq.as_reader().take(announced).read_to_end(&mut body) {
            Ok(n) if n as u64 == announced => Ok(body),
            _ => Err(400),
        };
    }
    let mut body = Vec::new();
    match rq
        .as_reader()
        .take(limit.saturating_add(1))
        .read_to_end(&mut body)
    {
        Ok(n) if n as u64 > limit => Err(413),
        Ok(_) => Ok(body),
        Err(_) => Err(400),
    }
}

/// Writes the body to a new file in the spool's directory as it arrives, refusing
/// with 413 past the limit (on Content-Length or while reading); the file is removed
/// on any failure. 400 when the client's bytes cannot be read, 507 when they cannot
/// be written.
fn spool_body(rq: &mut tiny_http::Request, spool: &Spool) -> std::result::Result<SpooledBody, u16> {
    if let Some(len) = rq.body_length()
        && len as u64 > spool.limit
    {
        return Err(413);
    }
    let (mut file, path) = new_spool_file(&spool.dir).map_err(|e| {
        eprintln!(
            "error: cannot create an upload file in {}: {e}",
            spool.dir.display()
        );
        507u16
    })?;
    // Removes the file unless the body arrives whole.
    let mut body = SpooledBody { path, len: 0 };
    let mut reader = rq.as_reader().take(spool.limit.saturating_add(1));
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        let n = match reader.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(_) => return Err(400),
        };
        body.len += n as u64;
        if body.len > spool.limit {
            return Err(413);
        }
        file.write_all(&buf[..n]).map_err(|e| {
            eprintln!(
                "error: cannot write an upload to {}: {e}",
                body.path.display()
            );
            507u16
        })?;
    }
    file.flush().map_err(|_| 507u16)?;
    Ok(body)
}

/// A new file (owner-only) with a random name in `dir`.
fn new_spool_file(dir: &Path) -> std::io::Result<(std::io::BufWriter<std::fs::File>, PathBuf)> {
    std::fs::create_dir_all(dir)?;
    let random = crate::keys::random_bytes(12).map_err(|e| std::io::Error::other(e.to_string()))?;
    let name: String = random.iter().map(|b| format!("{b:02x}")).collect();
    let path = dir.join(format!("upload-{name}"));
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let file = options.open(&path)?;
    Ok((std::io::BufWriter::with_capacity(256 * 1024, file), path))
}

/// The client's address: `X-Forwarded-For` is believed only from a trusted proxy, and
/// then the right-most address that is not itself a trusted proxy is the client.
pub fn client_address(peer: IpAddr, headers: &[(String, String)], proxies: &[Cidr]) -> IpAddr {
    if !proxies.iter().any(|c| c.contains(peer)) {
        return peer;
    }
    let forwarded = headers
        .iter()
        .filter(|(n, _)| n == "x-forwarded-for")
        .map(|(_, v)| v.as_str());
    let hops: Vec<IpAddr> = forwarded
        .flat_map(|v| v.split(','))
        .filter_map(|s| s.trim().parse::<IpAddr>().ok())
        .collect();
    hops.iter()
        .rev()
        .find(|ip| !proxies.iter().any(|c| c.contains(**ip)))
        .copied()
        .unwrap_or(peer)
}

fn to_tiny(resp: Resp) -> tiny_http::Response<Box<dyn Read + Send>> {
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

#[cfg(test)]
mod tests {
    use super::*;

    fn h(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(a, b)| (a.to_string(), b.to_string()))
            .collect()
    }

    #[test]
    fn forwarded_for_only_from_trusted_proxies() {
        let proxies = vec![Cidr::parse("127.0.0.1").unwrap()];
        let headers = h(&[("x-forwarded-for", "203.0.113.9")]);
        let lo: IpAddr = "127.0.0.1".parse().unwrap();
        let other: IpAddr = "198.51.100.1".parse().unwrap();
        assert_eq!(
            client_address(lo, &headers, &proxies),
            "203.0.113.9".parse::<IpAddr>().unwrap()
        );
        assert_eq!(client_address(other, &headers, &proxies), other);
        // a client-supplied hop in front of the real one is ignored
        let spoofed = h(&[("x-forwarded-for", "1.1.1.1, 203.0.113.9")]);
        assert_eq!(
            client_address(lo, &spoofed, &proxies),
            "203.0.113.9".parse::<IpAddr>().unwrap()
        );
        assert_eq!(
            client_address(lo, &h(&[("x-forwarded-for", "junk")]), &proxies),
            lo
        );
    }

    #[test]
    fn upgrade_requests() {
        assert!(wants_upgrade(&h(&[("connection", "Upgrade")])));
        assert!(wants_upgrade(&h(&[("connection", "keep-alive, Upgrade")])));
        assert!(!wants_upgrade(&h(&[("connection", "keep-alive")])));
        assert!(!wants_upgrade(&h(&[("upgrade", "websocket")])));
        let r = Resp::switching("websocket", Box::new(|_| {}));
        assert_eq!(r.status, 101);
        assert_eq!(
            r.upgrade.as_ref().map(|u| u.protocol.as_str()),
            Some("websocket")
        );
    }

    #[test]
    fn query_helpers() {
        let r = Req::new("GET", "/x?resource=acct%3Ame%40a.b&a=1");
        assert_eq!(r.path, "/x");
        assert_eq!(r.query_param("resource").as_deref(), Some("acct:me@a.b"));
        assert_eq!(r.target(), "/x?resource=acct%3Ame%40a.b&a=1");
    }
}
