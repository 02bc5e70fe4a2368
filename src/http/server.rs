//! The server: the listening socket, the connection threads and the request threads,
//! and graceful shutdown.
//!
//! Each connection has a thread of its own (kept by kith's patch to tiny_http, which
//! also holds it to its deadlines and caps). That thread reads a request's head and
//! its whole body (into a file when it is large or the handler asks), then hands the
//! request to the small pool of request threads (`http_threads`) and waits for the
//! answer, which it writes itself. A request thread therefore only ever runs a
//! handler: a client that sends its body slowly, or does not read its answers, holds
//! its own connection's thread and nothing else, and its deadlines cut it.

use super::body::{Body, read_body, spool_body};
use super::resp::to_tiny;
use super::{Handler, HttpOptions, Req, Resp, Upgraded, client_address};
use crate::config::Cidr;
use crate::error::Result;
use std::net::{IpAddr, SocketAddr, TcpListener};
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{Receiver, Sender};
use std::sync::{Arc, Condvar, Mutex, PoisonError, mpsc};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// A running HTTP server: its address and request threads.
pub struct HttpServer {
    server: tiny_http::Server,
    threads: Vec<JoinHandle<()>>,
    addr: SocketAddr,
    stopping: Arc<AtomicBool>,
}

/// Work for a request thread: runs a handler and sends its answer back.
type Job = Box<dyn FnOnce() + Send>;

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

/// How long a request's head may take from its first byte, and how long a body or an
/// answer may take before it is held to [`MIN_RATE`]: the idle timeout, at most this.
const HEAD_TIMEOUT: Duration = Duration::from_secs(10);
/// Bytes per second a body, or an answer, must average after its first seconds.
const MIN_RATE: u64 = 1024;
/// The longest single write of an answer (and of an upgraded connection).
const WRITE_TIMEOUT: Duration = Duration::from_secs(30);

impl HttpServer {
    /// Starts the request threads on an already bound listener.
    pub fn start(
        listener: TcpListener,
        opts: HttpOptions,
        handler: Arc<dyn Handler>,
    ) -> Result<HttpServer> {
        let addr = listener.local_addr()?;
        let proxies = Arc::new(opts.trusted_proxies);
        let uncapped = proxies.clone();
        let head = opts.idle_timeout.min(HEAD_TIMEOUT);
        let limits = tiny_http::ConnectionLimits {
            read_timeout: opts.idle_timeout,
            write_timeout: WRITE_TIMEOUT,
            head_timeout: head,
            min_rate_grace: head,
            min_rate: MIN_RATE,
            max_connections: opts.max_connections,
            max_per_address: opts.max_per_address,
            uncapped: Some(Arc::new(move |ip| uncapped.iter().any(|c| c.contains(ip)))),
        };
        let (jobs, queue) = mpsc::channel::<Job>();
        let queue = Arc::new(Mutex::new(queue));
        let stopping = Arc::new(AtomicBool::new(false));
        let mut threads = Vec::new();
        for i in 0..opts.threads {
            let queue = queue.clone();
            let stopping = stopping.clone();
            let t = std::thread::Builder::new()
                .name(format!("http-{i}"))
                .stack_size(512 * 1024)
                .spawn(move || worker_loop(&queue, &stopping))?;
            threads.push(t);
        }
        let scratch = opts.scratch_dir;
        let serve: tiny_http::Serve =
            Arc::new(move |rq| serve_one(rq, &handler, &proxies, &scratch, &jobs));
        let server =
            tiny_http::Server::from_listener_serving(listener, limits, serve).map_err(|e| {
                crate::error::Error::Internal(format!("cannot start the HTTP server: {e}"))
            })?;
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
        // Dropping the server closes the listening socket. A request read after the
        // request threads are gone is answered 503.
        drop(self.server);
    }
}

/// How long a request thread waits for work before it looks at the stop flag.
const POLL: Duration = Duration::from_millis(100);
/// How long shutdown keeps answering requests that are already queued.
const DRAIN_LIMIT: Duration = Duration::from_secs(10);

/// Runs jobs until told to stop; then runs what is already queued (until the queue has
/// been quiet for one poll, at most `DRAIN_LIMIT`) and returns.
fn worker_loop(queue: &Mutex<Receiver<Job>>, stopping: &AtomicBool) {
    let mut stop_seen: Option<Instant> = None;
    loop {
        let next = match queue.lock() {
            Ok(q) => q.recv_timeout(POLL),
            Err(_) => return,
        };
        match next {
            Ok(job) => job(),
            Err(mpsc::RecvTimeoutError::Timeout) if stop_seen.is_some() => return,
            Err(mpsc::RecvTimeoutError::Timeout) => {}
            Err(mpsc::RecvTimeoutError::Disconnected) => return,
        }
        if stopping.load(Ordering::SeqCst) {
            let since = *stop_seen.get_or_insert_with(Instant::now);
            if since.elapsed() > DRAIN_LIMIT {
                return;
            }
        }
    }
}

/// An answer on its way from a request thread back to the connection's thread: the
/// answer once given, and whether the giving side is gone. One small allocation per
/// request (an `mpsc` channel is several, one of them aligned to 128 bytes, which
/// fragments the heap when hundreds of connections are served at once).
struct Answer {
    slot: Mutex<(Option<Resp>, bool)>,
    ready: Condvar,
}

/// The request thread's end of an [`Answer`]; dropped unanswered (the job was never
/// run), it wakes the connection's thread with nothing.
struct AnswerTx(Arc<Answer>);

impl AnswerTx {
    fn send(self, resp: Resp) {
        let mut slot = self.0.slot.lock().unwrap_or_else(PoisonError::into_inner);
        slot.0 = Some(resp);
    }
}

impl Drop for AnswerTx {
    fn drop(&mut self) {
        let mut slot = self.0.slot.lock().unwrap_or_else(PoisonError::into_inner);
        slot.1 = true;
        self.0.ready.notify_one();
    }
}

impl Answer {
    /// Waits for the answer; `None` when the job was dropped without one.
    fn wait(&self) -> Option<Resp> {
        let mut slot = self.slot.lock().unwrap_or_else(PoisonError::into_inner);
        loop {
            if let Some(resp) = slot.0.take() {
                return Some(resp);
            }
            if slot.1 {
                return None;
            }
            slot = self
                .ready
                .wait(slot)
                .unwrap_or_else(PoisonError::into_inner);
        }
    }
}

/// Runs `work` on a request thread and waits for its answer; 500 when it panics, 503
/// when the request threads have stopped.
fn on_request_thread(
    jobs: &Sender<Job>,
    what: &str,
    work: impl FnOnce() -> Resp + Send + 'static,
) -> Resp {
    let answer = Arc::new(Answer {
        slot: Mutex::new((None, false)),
        ready: Condvar::new(),
    });
    let tx = AnswerTx(answer.clone());
    let what = what.to_string();
    let job: Job = Box::new(move || {
        let resp = match std::panic::catch_unwind(std::panic::AssertUnwindSafe(work)) {
            Ok(resp) => resp,
            Err(_) => {
                eprintln!("error: a request handler panicked on {what}");
                Resp::json(500, &serde_json::json!({"error": "Internal server error"}))
            }
        };
        tx.send(resp);
    });
    let unavailable = || {
        Resp::json(503, &serde_json::json!({"error": "The server is stopping"}))
            .with_header("Retry-After", "5")
    };
    if jobs.send(job).is_err() {
        return unavailable();
    }
    answer.wait().unwrap_or_else(unavailable)
}

/// On the connection's thread: reads one request and its body within the cap, has a
/// request thread run the handler, writes the answer, logs.
fn serve_one(
    mut rq: tiny_http::Request,
    handler: &Arc<dyn Handler>,
    proxies: &[Cidr],
    scratch: &Path,
    jobs: &Sender<Job>,
) {
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
        Some(spool) => spool_body(&mut rq, spool).map(|s| {
            req.spooled = Some(Arc::new(s));
            Body::Memory(Vec::new())
        }),
        None => read_body(
            &mut rq,
            handler.body_limit(&method, &path),
            upgrading,
            scratch,
        ),
    };
    let what = format!("{method} {path}");
    let resp = match read {
        Ok(body) => {
            let handler = handler.clone();
            on_request_thread(jobs, &what, move || match body.into_bytes() {
                Ok(bytes) => {
                    req.body = bytes;
                    handler.handle(req)
                }
                Err(e) => {
                    eprintln!("error: cannot read back a request body: {e}");
                    Resp::json(500, &serde_json::json!({"error": "Internal server error"}))
                }
            })
        }
        Err(413) => {
            let limit = match &spool {
                Some(s) => s.limit,
                None => handler.body_limit(&method, &path),
            };
            let handler = handler.clone();
            on_request_thread(jobs, &what, move || handler.too_large(&req, limit))
        }
        Err(status) => {
            // Where the next request would start is unknown: the connection ends.
            rq.close_connection();
            Resp::json(
                status,
                &serde_json::json!({"error": match status {
                    408 => "The request body came too slowly",
                    507 => "The upload could not be stored",
                    _ => "Could not read the request body",
                }}),
            )
            .with_header("Connection", "close")
        }
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
pub(super) fn wants_upgrade(headers: &[(String, String)]) -> bool {
    headers
        .iter()
        .any(|(n, v)| n == "connection" && v.to_ascii_lowercase().contains("upgrade"))
}

/// Writes the answer; a 101 with an [`Upgrade`] to a request that asked for one hands
/// the connection to its callback in a new thread. Returns the status sent.
fn respond(rq: tiny_http::Request, mut resp: Resp, upgrading: bool) -> u16 {
    if let Some(body) = resp.stream.take() {
        return super::stream::hand_over(rq, resp, body);
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
