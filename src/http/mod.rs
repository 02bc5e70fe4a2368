//! The tiny_http boundary: the listening socket, the connection bounds (through kith's
//! patch to tiny_http, `vendor/tiny_http/PATCH.md`), the request threads, turning a
//! tiny_http request into a capped [`Req`] and a [`Resp`] back into bytes, the access
//! log, and graceful shutdown. No other module sees tiny_http.
//!
//! Bounds on every connection: the request line and each header line at most 8 KiB,
//! all of the head 64 KiB and 100 headers (else 431); ambiguous framing (a
//! `Transfer-Encoding` with a `Content-Length`, differing lengths, folded header lines)
//! 400 and any transfer coding but `chunked` 501, each closing the connection; the head
//! within a few seconds of its first byte, and a body and an answer at a minimum rate
//! after their first seconds (else 408, or the connection cut); at most
//! `max_connections` open, and a share of it from any one address but a trusted proxy
//! (else 503). The connection's own thread reads the body and writes the answer, so
//! the request threads only run handlers (`server.rs`).
//!
//! A handler may also answer `101 Switching Protocols` with an [`Upgrade`] (the
//! streaming API's WebSockets): the answer is written, and the upgrade's callback then
//! runs on the connection's two halves ([`Upgraded`]) in a thread of its own. A
//! [`Resp::stream`] (server-sent events) likewise hands the connection's writing half
//! to a thread of its own after the head is written (`stream`).
//!
//! Large bodies never wait whole in memory: one over 64 KiB goes to a file in the
//! scratch directory as it arrives and is read back only on the request thread that
//! handles it (`body.rs`); a handler may have a request's body kept in a file
//! ([`Handler::spool`], [`SpooledBody`]), and may answer with a file that is read as
//! it is sent ([`Resp::file`]).

mod body;
pub mod cors;
pub mod multipart;
pub mod params;
mod resp;
mod server;
pub mod stream;

pub use resp::{BodyFile, Resp, Upgrade, Upgraded};
pub use server::{HttpServer, bind};

use crate::config::Cidr;
use std::net::IpAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

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
    /// Connections open at once from one address (not a trusted proxy's); more from
    /// it are answered 503 and closed.
    pub max_per_address: usize,
    pub trusted_proxies: Vec<Cidr>,
    /// Where bodies too large to wait in memory go while they arrive.
    pub scratch_dir: PathBuf,
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

#[cfg(test)]
mod tests {
    use super::server::wants_upgrade;
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
