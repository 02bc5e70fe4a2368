//! # Simple usage
//!
//! ## Creating the server
//!
//! The easiest way to create a server is to call `Server::http()`.
//!
//! The `http()` function returns an `IoResult<Server>` which will return an error
//! in the case where the server creation fails (for example if the listening port is already
//! occupied).
//!
//! ```no_run
//! let server = tiny_http::Server::http("0.0.0.0:0").unwrap();
//! ```
//!
//! A newly-created `Server` will immediately start listening for incoming connections and HTTP
//! requests.
//!
//! ## Receiving requests
//!
//! Calling `server.recv()` will block until the next request is available.
//! This function returns an `IoResult<Request>`, so you need to handle the possible errors.
//!
//! ```no_run
//! # let server = tiny_http::Server::http("0.0.0.0:0").unwrap();
//!
//! loop {
//!     // blocks until the next request is received
//!     let request = match server.recv() {
//!         Ok(rq) => rq,
//!         Err(e) => { println!("error: {}", e); break }
//!     };
//!
//!     // do something with the request
//!     // ...
//! }
//! ```
//!
//! In a real-case scenario, you will probably want to spawn multiple worker tasks and call
//! `server.recv()` on all of them. Like this:
//!
//! ```no_run
//! # use std::sync::{Arc, Mutex};
//! # use std::thread;
//! # let server = tiny_http::Server::http("0.0.0.0:0").unwrap();
//! let server = Arc::new(server);
//! let mut guards = Vec::with_capacity(4);
//!
//! for _ in (0 .. 4) {
//!     let server = server.clone();
//!
//!     let guard = thread::spawn(move || {
//!         loop {
//!             let rq = server.recv().unwrap();
//!
//!             // ...
//!         }
//!     });
//!
//!     guards.push(guard);
//! }
//! ```
//!
//! If you don't want to block, you can call `server.try_recv()` instead.
//!
//! ## Handling requests
//!
//! The `Request` object returned by `server.recv()` contains informations about the client's request.
//! The most useful methods are probably `request.method()` and `request.url()` which return
//! the requested method (`GET`, `POST`, etc.) and url.
//!
//! To handle a request, you need to create a `Response` object. See the docs of this object for
//! more infos. Here is an example of creating a `Response` from a file:
//!
//! ```no_run
//! # use std::fs::File;
//! # use std::path::Path;
//! let response = tiny_http::Response::from_file(File::open(&Path::new("image.png")).unwrap());
//! ```
//!
//! All that remains to do is call `request.respond()`:
//!
//! ```no_run
//! # use std::fs::File;
//! # use std::path::Path;
//! # let server = tiny_http::Server::http("0.0.0.0:0").unwrap();
//! # let request = server.recv().unwrap();
//! # let response = tiny_http::Response::from_file(File::open(&Path::new("image.png")).unwrap());
//! let _ = request.respond(response);
//! ```
#![forbid(unsafe_code)]
#![deny(rust_2018_idioms)]
#![allow(clippy::match_like_matches_macro)]


use std::error::Error;
use std::io::Error as IoError;
use std::io::ErrorKind as IoErrorKind;
use std::io::Result as IoResult;
use std::collections::HashMap;
use std::net::{IpAddr, Shutdown, TcpStream, ToSocketAddrs};
use std::sync::atomic::AtomicBool;
use std::sync::atomic::Ordering::Relaxed;
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::Duration;

use client::ClientConnection;
use connection::Connection;
use util::MessagesQueue;

pub use common::{HTTPVersion, Header, HeaderField, Method, StatusCode};
pub use connection::{ConfigListenAddr, ListenAddr, Listener};
pub use request::{ReadWrite, Request};
pub use response::{Response, ResponseBox};
pub use test::TestRequest;

mod client;
mod common;
mod connection;
mod request;
mod response;
mod test;
mod util;

/// kith patch: limits applied to every accepted connection.
#[derive(Clone)]
pub struct ConnectionLimits {
    /// Read timeout of each connection between requests (and of an upgraded one): an
    /// idle keep-alive connection is closed after this.
    pub read_timeout: Duration,
    /// Write timeout of each single write; an answer is also held to `min_rate`.
    pub write_timeout: Duration,
    /// From the first byte of a request, its whole head must come within this, else
    /// `408` and the connection is closed.
    pub head_timeout: Duration,
    /// A body, and an answer, may take this long before `min_rate` applies.
    pub min_rate_grace: Duration,
    /// Bytes per second a body, and an answer, must average after the grace period;
    /// a slower body is refused (`TimedOut` while reading it), a slower reader cut.
    pub min_rate: u64,
    /// Connections open at once; more are answered 503 and closed.
    pub max_connections: usize,
    /// Connections open at once from one address; more from it are answered 503 and
    /// closed.
    pub max_per_address: usize,
    /// Addresses that `max_per_address` does not apply to (a reverse proxy, which
    /// carries everyone's connections).
    pub uncapped: Option<Arc<dyn Fn(IpAddr) -> bool + Send + Sync>>,
}

impl Default for ConnectionLimits {
    fn default() -> Self {
        let long = Duration::from_secs(3600);
        ConnectionLimits {
            read_timeout: long,
            write_timeout: long,
            head_timeout: long,
            min_rate_grace: long,
            min_rate: 1,
            max_connections: usize::MAX,
            max_per_address: usize::MAX,
            uncapped: None,
        }
    }
}

/// kith patch: what is called, on the connection's own thread, with each request read
/// from it; the next request on that connection is read once it returns.
pub type Serve = Arc<dyn Fn(Request) + Send + Sync>;

/// kith patch: the connections open now, in all and by address.
#[derive(Default)]
struct OpenCount {
    total: usize,
    by_address: HashMap<IpAddr, usize>,
}

/// kith patch: counts one open connection for as long as it lives.
struct OpenGuard {
    open: Arc<Mutex<OpenCount>>,
    address: Option<IpAddr>,
}

impl OpenGuard {
    /// Counts a new connection from `address`, or `None` when a cap is reached.
    fn admit(
        open: &Arc<Mutex<OpenCount>>,
        address: Option<IpAddr>,
        limits: &ConnectionLimits,
    ) -> Option<OpenGuard> {
        let mut count = match open.lock() {
            Ok(c) => c,
            Err(poisoned) => poisoned.into_inner(),
        };
        if count.total >= limits.max_connections {
            return None;
        }
        if let Some(ip) = address {
            let capped = !limits.uncapped.as_ref().map_or(false, |f| f(ip));
            let from_it = count.by_address.get(&ip).copied().unwrap_or(0);
            if capped && from_it >= limits.max_per_address {
                return None;
            }
            *count.by_address.entry(ip).or_insert(0) += 1;
        }
        count.total += 1;
        Some(OpenGuard { open: open.clone(), address })
    }
}

impl Drop for OpenGuard {
    fn drop(&mut self) {
        let mut count = match self.open.lock() {
            Ok(c) => c,
            Err(poisoned) => poisoned.into_inner(),
        };
        count.total = count.total.saturating_sub(1);
        if let Some(ip) = self.address {
            if let Some(n) = count.by_address.get_mut(&ip) {
                *n -= 1;
                if *n == 0 {
                    count.by_address.remove(&ip);
                }
            }
        }
    }
}

/// kith patch: answers a connection over a cap and closes it.
fn refuse(sock: Connection) {
    use std::io::Write;
    let _ = sock.set_timeouts(Some(Duration::from_secs(1)), Some(Duration::from_secs(1)));
    let mut sock = sock;
    let _ = sock.write_all(
        b"HTTP/1.1 503 Service Unavailable\r\nRetry-After: 5\r\n\
          Content-Length: 0\r\nConnection: close\r\n\r\n",
    );
    let _ = sock.shutdown(Shutdown::Both);
}

/// The main class of this library.
///
/// Destroying this object will immediately close the listening socket and the reading
///  part of all the client's connections. Requests that have already been returned by
///  the `recv()` function will not close and the responses will be transferred to the client.
pub struct Server {
    // should be false as long as the server exists
    // when set to true, all the subtasks will close within a few hundreds ms
    close: Arc<AtomicBool>,

    // queue for messages received by child threads
    messages: Arc<MessagesQueue<Message>>,

    // result of TcpListener::local_addr()
    listening_addr: ListenAddr,
}

enum Message {
    Error(IoError),
    NewRequest(Request),
}

impl From<IoError> for Message {
    fn from(e: IoError) -> Message {
        Message::Error(e)
    }
}

impl From<Request> for Message {
    fn from(rq: Request) -> Message {
        Message::NewRequest(rq)
    }
}

// this trait is to make sure that Server implements Share and Send
#[doc(hidden)]
trait MustBeShareDummy: Sync + Send {}
#[doc(hidden)]
impl MustBeShareDummy for Server {}

pub struct IncomingRequests<'a> {
    server: &'a Server,
}

/// Represents the parameters required to create a server.
#[derive(Debug, Clone)]
pub struct ServerConfig {
    /// The addresses to try to listen to.
    pub addr: ConfigListenAddr,

    /// If `Some`, then the server will use SSL to encode the communications.
    pub ssl: Option<SslConfig>,
}

/// Configuration of the server for SSL.
#[derive(Debug, Clone)]
pub struct SslConfig {
    /// Contains the public certificate to send to clients.
    pub certificate: Vec<u8>,
    /// Contains the ultra-secret private key used to decode communications.
    pub private_key: Vec<u8>,
}

impl Server {
    /// Shortcut for a simple server on a specific address.
    #[inline]
    pub fn http<A>(addr: A) -> Result<Server, Box<dyn Error + Send + Sync + 'static>>
    where
        A: ToSocketAddrs,
    {
        Server::new(ServerConfig {
            addr: ConfigListenAddr::from_socket_addrs(addr)?,
            ssl: None,
        })
    }

    #[cfg(unix)]
    #[inline]
    /// Shortcut for a UNIX socket server at a specific path
    pub fn http_unix(
        path: &std::path::Path,
    ) -> Result<Server, Box<dyn Error + Send + Sync + 'static>> {
        Server::new(ServerConfig {
            addr: ConfigListenAddr::unix_from_path(path),
            ssl: None,
        })
    }

    /// Builds a new server that listens on the specified address.
    pub fn new(config: ServerConfig) -> Result<Server, Box<dyn Error + Send + Sync + 'static>> {
        let listener = config.addr.bind()?;
        Self::from_listener(listener, config.ssl)
    }

    /// Builds a new server using the specified TCP listener.
    ///
    /// This is useful if you've constructed TcpListener using some less usual method
    /// such as from systemd. For other cases, you probably want the `new()` function.
    pub fn from_listener<L: Into<Listener>>(
        listener: L,
        ssl_config: Option<SslConfig>,
    ) -> Result<Server, Box<dyn Error + Send + Sync + 'static>> {
        Server::from_listener_with_limits(listener, ssl_config, ConnectionLimits::default())
    }

    /// kith patch: like `from_listener`, with the connection limits: the requests are
    /// queued for `recv()` as in the published crate. Refuses an SSL config (the TLS
    /// features were removed).
    pub fn from_listener_with_limits<L: Into<Listener>>(
        listener: L,
        ssl_config: Option<SslConfig>,
        limits: ConnectionLimits,
    ) -> Result<Server, Box<dyn Error + Send + Sync + 'static>> {
        if ssl_config.is_some() {
            return Err("this tiny_http is built without TLS".into());
        }
        let messages = MessagesQueue::with_capacity(8);
        let queue = messages.clone();
        let serve: Serve = Arc::new(move |rq: Request| queue.push(rq.into()));
        Server::start(listener.into(), limits, serve, messages)
    }

    /// kith patch: a server that hands each request to `serve` on the thread of the
    /// connection it came from, instead of queueing it for `recv()`. The connection's
    /// next request is read once `serve` returns, so `serve` may read the body and
    /// write the answer there, and a slow client holds only its own connection's
    /// thread. `recv()` on such a server waits for nothing.
    pub fn from_listener_serving<L: Into<Listener>>(
        listener: L,
        limits: ConnectionLimits,
        serve: Serve,
    ) -> Result<Server, Box<dyn Error + Send + Sync + 'static>> {
        Server::start(listener.into(), limits, serve, MessagesQueue::with_capacity(1))
    }

    /// kith patch: the accept loop shared by both constructors.
    fn start(
        listener: Listener,
        limits: ConnectionLimits,
        serve: Serve,
        messages: Arc<MessagesQueue<Message>>,
    ) -> Result<Server, Box<dyn Error + Send + Sync + 'static>> {
        let close_trigger = Arc::new(AtomicBool::new(false));
        let local_addr = listener.local_addr()?;
        log::debug!("Server listening on {}", local_addr);

        let inside_close_trigger = close_trigger.clone();
        let open = Arc::new(Mutex::new(OpenCount::default()));
        thread::spawn(move || {
            // a tasks pool is used to dispatch the connections into threads
            let tasks_pool = util::TaskPool::new();

            log::debug!("Running accept thread");
            while !inside_close_trigger.load(Relaxed) {
                let (mut sock, address) = match listener.accept() {
                    Ok(accepted) => accepted,
                    Err(e) => {
                        // kith patch: a failed accept (a timeout, a connection reset
                        // before accept, or running out of file descriptors) must not
                        // stop the server; wait a moment and accept again.
                        log::error!("Error accepting new client: {}", e);
                        thread::sleep(Duration::from_millis(50));
                        continue;
                    }
                };
                // kith patch: bound every connection in number, in all and by address.
                let address = address.or_else(|| sock.peer_addr().ok().flatten()).map(|a| a.ip());
                let Some(guard) = OpenGuard::admit(&open, address, &limits) else {
                    refuse(sock);
                    continue;
                };
                let client = match ClientConnection::new(sock, &limits) {
                    Ok(client) => client,
                    Err(e) => {
                        log::error!("Error setting up a connection: {}", e);
                        thread::sleep(Duration::from_millis(50));
                        continue;
                    }
                };
                let serve = serve.clone();
                let mut client = Some(client);
                tasks_pool.spawn(Box::new(move || {
                    let _open = &guard;
                    if let Some(client) = client.take() {
                        for rq in client {
                            serve(rq);
                        }
                    }
                }));
            }
            log::debug!("Terminating accept thread");
        });

        Ok(Server { messages, close: close_trigger, listening_addr: local_addr })
    }

    /// Returns an iterator for all the incoming requests.
    ///
    /// The iterator will return `None` if the server socket is shutdown.
    #[inline]
    pub fn incoming_requests(&self) -> IncomingRequests<'_> {
        IncomingRequests { server: self }
    }

    /// Returns the address the server is listening to.
    #[inline]
    pub fn server_addr(&self) -> ListenAddr {
        self.listening_addr.clone()
    }

    /// Returns the number of clients currently connected to the server.
    pub fn num_connections(&self) -> usize {
        unimplemented!()
        //self.requests_receiver.lock().len()
    }

    /// Blocks until an HTTP request has been submitted and returns it.
    pub fn recv(&self) -> IoResult<Request> {
        match self.messages.pop() {
            Some(Message::Error(err)) => Err(err),
            Some(Message::NewRequest(rq)) => Ok(rq),
            None => Err(IoError::new(IoErrorKind::Other, "thread unblocked")),
        }
    }

    /// Same as `recv()` but doesn't block longer than timeout
    pub fn recv_timeout(&self, timeout: Duration) -> IoResult<Option<Request>> {
        match self.messages.pop_timeout(timeout) {
            Some(Message::Error(err)) => Err(err),
            Some(Message::NewRequest(rq)) => Ok(Some(rq)),
            None => Ok(None),
        }
    }

    /// Same as `recv()` but doesn't block.
    pub fn try_recv(&self) -> IoResult<Option<Request>> {
        match self.messages.try_pop() {
            Some(Message::Error(err)) => Err(err),
            Some(Message::NewRequest(rq)) => Ok(Some(rq)),
            None => Ok(None),
        }
    }

    /// Unblock thread stuck in recv() or incoming_requests().
    /// If there are several such threads, only one is unblocked.
    /// This method allows graceful shutdown of server.
    pub fn unblock(&self) {
        self.messages.unblock();
    }
}

impl Iterator for IncomingRequests<'_> {
    type Item = Request;
    fn next(&mut self) -> Option<Request> {
        self.server.recv().ok()
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.close.store(true, Relaxed);
        // Connect briefly to ourselves to unblock the accept thread
        let maybe_stream = match &self.listening_addr {
            ListenAddr::IP(addr) => TcpStream::connect(addr).map(Connection::from),
            #[cfg(unix)]
            ListenAddr::Unix(addr) => {
                // TODO: use connect_addr when its stabilized.
                let path = addr.as_pathname().unwrap();
                std::os::unix::net::UnixStream::connect(path).map(Connection::from)
            }
        };
        if let Ok(stream) = maybe_stream {
            let _ = stream.shutdown(Shutdown::Both);
        }

        #[cfg(unix)]
        if let ListenAddr::Unix(addr) = &self.listening_addr {
            if let Some(path) = addr.as_pathname() {
                let _ = std::fs::remove_file(path);
            }
        }
    }
}
