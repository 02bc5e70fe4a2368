//! The outbound HTTP client: the only module that uses ureq. It owns every request
//! kith makes to other servers — signed ActivityPub GETs, unsigned WebFinger, NodeInfo
//! and media GETs, signed inbox POSTs, Web Push messages — with the private-address guard (`guard`),
//! deadlines, body size caps and redirects followed by hand so each hop is re-checked
//! and re-signed. It must not sign (callers pass a [`Signer`]), parse or store
//! documents, or decide about retries; it only reports whether a failure is transient.

mod guard;
pub mod probe;
#[cfg(test)]
mod tests;

pub use guard::{PRIVATE_ADDRESS, is_forbidden_ip};

use crate::config::Config;
use crate::error::{Error, Result};
use guard::{GuardedResolver, UrlPolicy, refused};
use std::io::Read;
use std::net::{SocketAddr, ToSocketAddrs};
use std::time::{Duration, Instant, SystemTime};
use ureq::http::{HeaderMap, Response, header};
use ureq::unversioned::transport::DefaultConnector;
use ureq::{Agent, Body, RequestBuilder};
use url::{Host, Url};

/// The Accept header of ActivityPub GETs (FEDERATION.md §3); signers sign this value.
pub const ACTIVITY_ACCEPT: &str = "application/activity+json, application/ld+json; profile=\"https://www.w3.org/ns/activitystreams\"";
/// The Content-Type of deliveries; signers sign this value.
pub const ACTIVITY_CONTENT_TYPE: &str = "application/activity+json";
/// The Accept header of WebFinger and NodeInfo GETs.
pub const JSON_ACCEPT: &str = "application/jrd+json, application/json";
/// The largest JSON body read (SECURITY.md 40).
pub const JSON_MAX_BYTES: u64 = 1024 * 1024;
/// The most redirects followed by one GET (SECURITY.md 35).
pub const MAX_REDIRECTS: usize = 3;

/// Response bytes read from an inbox answer before it is dropped.
const POST_DRAIN_BYTES: u64 = 16 * 1024;
/// The largest response head accepted.
const MAX_HEADER_BYTES: usize = 64 * 1024;
/// Media types accepted for ActivityPub documents (SECURITY.md 24).
const ACTIVITY_TYPES: &[&str] = &["application/activity+json", "application/ld+json"];
/// Media types accepted for web pages read for link previews.
const PAGE_TYPES: &[&str] = &["text/html", "application/xhtml+xml"];
/// The Accept header of web page GETs.
const PAGE_ACCEPT: &str = "text/html, application/xhtml+xml;q=0.9";
/// Media types accepted for WebFinger and NodeInfo.
const JSON_TYPES: &[&str] = &[
    "application/jrd+json",
    "application/json",
    "application/activity+json",
];

/// A signing callback: given the method, the URL of this hop and the body, returns
/// headers to add (Host, Date, Digest, Signature).
pub type Signer<'a> = &'a dyn Fn(&str, &Url, Option<&[u8]>) -> Vec<(String, String)>;

/// A response that passed every check.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fetched {
    /// The URL of the last hop, after redirects, without a fragment.
    pub final_url: Url,
    /// The HTTP status (always 2xx).
    pub status: u16,
    /// The Content-Type header as sent, or empty.
    pub content_type: String,
    /// The body, never longer than the cap.
    pub body: Vec<u8>,
}

/// Outcome of a POST delivery (any status is returned, not an error; network
/// problems are errors).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Posted {
    /// The HTTP status the inbox answered.
    pub status: u16,
    /// The Retry-After of a 429 or 503, from now.
    pub retry_after: Option<Duration>,
}

/// Time limits of outbound requests (SECURITY.md "Response size and time limits").
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Timeouts {
    /// DNS resolution.
    pub resolve: Duration,
    /// TCP connect, TLS handshake included.
    pub connect: Duration,
    /// Each single read or write.
    pub io: Duration,
    /// Everything of one call, across redirects, body included.
    pub total: Duration,
}

impl Default for Timeouts {
    fn default() -> Self {
        Timeouts::within(Duration::from_secs(30))
    }
}

impl Timeouts {
    /// The usual limits (5 s to resolve, 5 s to connect, 10 s for each read or write)
    /// under a total deadline, none of them longer than it.
    pub fn within(total: Duration) -> Timeouts {
        Timeouts {
            resolve: Duration::from_secs(5).min(total),
            connect: Duration::from_secs(5).min(total),
            io: Duration::from_secs(10).min(total),
            total,
        }
    }
}

/// The outbound HTTP client; cheap to clone and shared between threads.
#[derive(Debug, Clone)]
pub struct Fetcher {
    agent: Agent,
    policy: UrlPolicy,
    timeouts: Timeouts,
}

/// What distinguishes the GET variants; they share one loop.
struct GetSpec<'a> {
    accept: &'a str,
    signer: Option<Signer<'a>>,
    max_bytes: u64,
    /// Accepted media types, or any when `None`.
    types: Option<&'a [&'a str]>,
    /// A longer body is cut at `max_bytes` rather than refused.
    cut: bool,
}

impl Fetcher {
    /// Built from config: User-Agent "kith/<CARGO_PKG_VERSION> (+<public_url>/)", and
    /// `[federation] fetch_timeout_secs` as the deadline of each request.
    pub fn new(config: &Config) -> Fetcher {
        let total = Duration::from_secs(config.federation.fetch_timeout_secs);
        Fetcher::with_timeouts(config, Timeouts::within(total))
    }

    /// Like [`Fetcher::new`] with other time limits (tests lower them).
    pub fn with_timeouts(config: &Config, timeouts: Timeouts) -> Fetcher {
        let resolver = GuardedResolver::new(config.federation.allow_private_addresses);
        Fetcher::build(config, timeouts, resolver)
    }

    fn build(config: &Config, timeouts: Timeouts, resolver: GuardedResolver) -> Fetcher {
        let user_agent = format!(
            "kith/{} (+{}/)",
            env!("CARGO_PKG_VERSION"),
            config.public_url
        );
        let agent_config = Agent::config_builder()
            .max_redirects(0)
            .max_redirects_will_error(false)
            .proxy(None)
            .http_status_as_error(false)
            .user_agent(user_agent)
            .max_response_header_size(MAX_HEADER_BYTES)
            // ureq's 128 KiB buffers a connection would be allocated and freed for
            // every delivery; the input buffer must hold a whole response head.
            .input_buffer_size(MAX_HEADER_BYTES)
            .output_buffer_size(16 * 1024)
            .timeout_resolve(Some(timeouts.resolve))
            .timeout_connect(Some(timeouts.connect))
            .timeout_per_read(Some(timeouts.io))
            .timeout_per_write(Some(timeouts.io))
            .timeout_global(Some(timeouts.total))
            .build();
        Fetcher {
            agent: Agent::with_parts(agent_config, DefaultConnector::default(), resolver),
            policy: UrlPolicy::new(config),
            timeouts,
        }
    }

    /// Validates a URL before any I/O: http/https only, a host, no user-info, no
    /// control characters or whitespace (SECURITY.md 36, 37), no .onion/.i2p (38),
    /// plain http and private literal addresses only when allow_private, never kith's
    /// own host (22).
    pub fn check_url(&self, url: &str) -> Result<Url> {
        self.policy.check(url)
    }

    /// GET of an ActivityPub document, signed per hop by `signer` when given; up to 3
    /// redirects, each re-checked and re-signed; 410 gives `Error::Gone("Gone")`;
    /// body capped at 1 MiB; Content-Type must be activity+json or ld+json.
    pub fn get_activity(&self, url: &str, signer: Option<Signer>) -> Result<Fetched> {
        let spec = GetSpec {
            accept: ACTIVITY_ACCEPT,
            signer,
            max_bytes: JSON_MAX_BYTES,
            types: Some(ACTIVITY_TYPES),
            cut: false,
        };
        self.get(url, &spec)
    }

    /// Unsigned GET of JSON for WebFinger/NodeInfo: jrd+json, json or activity+json
    /// accepted; same redirects and caps as [`Fetcher::get_activity`].
    pub fn get_json(&self, url: &str) -> Result<Fetched> {
        let spec = GetSpec {
            accept: JSON_ACCEPT,
            signer: None,
            max_bytes: JSON_MAX_BYTES,
            types: Some(JSON_TYPES),
            cut: false,
        };
        self.get(url, &spec)
    }

    /// Unsigned GET of media (avatars, attachments) with the caller's byte cap; any
    /// content type, returned for the caller to judge.
    pub fn get_media(&self, url: &str, max_bytes: u64) -> Result<Fetched> {
        let spec = GetSpec {
            accept: "*/*",
            signer: None,
            max_bytes,
            types: None,
            cut: false,
        };
        self.get(url, &spec)
    }

    /// Unsigned GET of a web page (a link preview): HTML or XHTML only, same redirects
    /// and deadline as the others; only the first `max_bytes` are read, the rest of a
    /// longer page is never downloaded.
    pub fn get_page(&self, url: &str, max_bytes: u64) -> Result<Fetched> {
        let spec = GetSpec {
            accept: PAGE_ACCEPT,
            signer: None,
            max_bytes,
            types: Some(PAGE_TYPES),
            cut: true,
        };
        self.get(url, &spec)
    }

    /// Signed POST of an activity to an inbox. Redirects are not followed (a 3xx is
    /// returned as the status); Retry-After is parsed on 429 and 503; the response
    /// body is drained up to a small cap and discarded.
    pub fn post_activity(&self, inbox: &str, body: &[u8], signer: Signer) -> Result<Posted> {
        let url = self.request_url(inbox)?;
        let base = [
            ("Content-Type", ACTIVITY_CONTENT_TYPE),
            ("Accept", ACTIVITY_ACCEPT),
        ];
        let headers = merge_headers(&base, signer("POST", &url, Some(body)));
        self.post(&url, &headers, body)
    }

    /// Unsigned POST of an opaque body with the caller's headers (a Web Push message
    /// to its push service), checked and answered like [`Fetcher::post_activity`].
    pub fn post_bytes(
        &self,
        url: &str,
        headers: &[(String, String)],
        body: &[u8],
    ) -> Result<Posted> {
        let url = self.request_url(url)?;
        self.post(&url, headers, body)
    }

    /// One POST: no redirects followed, Retry-After read on 429 and 503, the answer
    /// drained up to a small cap.
    fn post(&self, url: &Url, headers: &[(String, String)], body: &[u8]) -> Result<Posted> {
        let request = with_headers(self.agent.post(url.as_str()), headers);
        let mut response = request.send(body).map_err(|e| network_error(url, e))?;
        let status = response.status().as_u16();
        let retry_after = match status {
            429 | 503 => retry_after(response.headers(), SystemTime::now()),
            _ => None,
        };
        let mut sink = Vec::new();
        // The status is all that matters; a failure while draining changes nothing.
        let _ = response
            .body_mut()
            .as_reader()
            .take(POST_DRAIN_BYTES)
            .read_to_end(&mut sink);
        Ok(Posted {
            status,
            retry_after,
        })
    }

    /// The WebFinger URL for `user@host` (FEDERATION.md §1): https, or plain http when
    /// allow_private and the host is, or resolves to, a loopback or private address.
    /// Pure except for that resolution, made only when allow_private.
    pub fn webfinger_url(&self, user: &str, host: &str) -> Result<Url> {
        let bad = |why: &str| refused(format!("refused handle {user:?}@{host:?}: {why}"));
        if user.is_empty() || guard::has_forbidden_chars(user) {
            return Err(bad("empty user, or control characters or whitespace"));
        }
        let probe = parse_authority(host).ok_or_else(|| bad("not a host name"))?;
        let authority = match (probe.host_str(), probe.port()) {
            (Some(h), Some(p)) => format!("{}:{p}", guard::normalise_host(h)),
            (Some(h), None) => guard::normalise_host(h),
            (None, _) => return Err(bad("not a host name")),
        };
        let private = self.policy.allow_private && self.is_private_host(&probe);
        let scheme = if private { "http" } else { "https" };
        let user = percent_encode(user);
        self.check_url(&format!(
            "{scheme}://{authority}/.well-known/webfinger?resource=acct:{user}@{authority}"
        ))
    }

    fn is_private_host(&self, url: &Url) -> bool {
        let port = url.port_or_known_default().unwrap_or(443);
        match url.host() {
            Some(Host::Ipv4(ip)) => is_forbidden_ip(ip.into()),
            Some(Host::Ipv6(ip)) => is_forbidden_ip(ip.into()),
            Some(Host::Domain(d)) => resolve(d, port, self.timeouts.resolve)
                .iter()
                .any(|a| is_forbidden_ip(a.ip())),
            None => false,
        }
    }

    /// A checked URL as requested: without its fragment, which is never sent.
    fn request_url(&self, raw: &str) -> Result<Url> {
        let mut url = self.policy.check(raw)?;
        url.set_fragment(None);
        Ok(url)
    }

    /// The one GET loop: redirects, per-hop checks and signatures, status, type, cap.
    fn get(&self, url: &str, spec: &GetSpec) -> Result<Fetched> {
        let deadline = Instant::now() + self.timeouts.total;
        let mut current = self.request_url(url)?;
        let mut redirects = 0;
        loop {
            let response = self.get_once(&current, spec, deadline)?;
            if !is_redirect(response.status().as_u16()) {
                return finish(current, response, spec);
            }
            if redirects == MAX_REDIRECTS {
                return Err(refused(format!(
                    "GET {url}: more than {MAX_REDIRECTS} redirects"
                )));
            }
            redirects += 1;
            current = self.redirect_target(&current, response.headers())?;
        }
    }

    fn get_once(&self, url: &Url, spec: &GetSpec, deadline: Instant) -> Result<Response<Body>> {
        let remaining = deadline.saturating_duration_since(Instant::now());
        if remaining.is_zero() {
            return Err(Error::Network {
                message: format!("GET {url}: timed out (total deadline)"),
                transient: true,
            });
        }
        let signed = spec.signer.map(|sign| sign("GET", url, None));
        let headers = merge_headers(&[("Accept", spec.accept)], signed.unwrap_or_default());
        with_headers(self.agent.get(url.as_str()), &headers)
            .config()
            .timeout_global(Some(remaining))
            .build()
            .call()
            .map_err(|e| network_error(url, e))
    }

    /// The next hop of a redirect, checked like any URL (SECURITY.md 35).
    fn redirect_target(&self, from: &Url, headers: &HeaderMap) -> Result<Url> {
        let location = headers
            .get(header::LOCATION)
            .and_then(|v| std::str::from_utf8(v.as_bytes()).ok())
            .ok_or_else(|| refused(format!("GET {from}: redirect without a usable Location")))?;
        if guard::has_forbidden_chars(location) || location.contains('\\') {
            return Err(refused(format!(
                "GET {from}: redirect Location {location:?} holds control characters, \
                 whitespace or a backslash"
            )));
        }
        let next = from
            .join(location)
            .map_err(|e| refused(format!("GET {from}: bad redirect Location ({e})")))?;
        self.request_url(next.as_str())
    }
}

fn is_redirect(status: u16) -> bool {
    matches!(status, 301 | 302 | 303 | 307 | 308)
}

/// Checks status, content type and size of a final response, then reads its body.
fn finish(url: Url, response: Response<Body>, spec: &GetSpec) -> Result<Fetched> {
    let status = response.status().as_u16();
    check_status(&url, status)?;
    let content_type = response
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .trim()
        .to_string();
    if let Some(types) = spec.types
        && !types.contains(&media_type(&content_type).as_str())
    {
        return Err(refused(format!(
            "GET {url}: unexpected Content-Type {content_type:?}"
        )));
    }
    let body = if spec.cut {
        read_cut(&url, response, spec.max_bytes)?
    } else {
        read_capped(&url, response, spec.max_bytes)?
    };
    Ok(Fetched {
        final_url: url,
        status,
        content_type,
        body,
    })
}

fn check_status(url: &Url, status: u16) -> Result<()> {
    match status {
        200..=299 => Ok(()),
        410 => Err(Error::Gone("Gone".into())),
        _ => Err(Error::Network {
            message: format!("GET {url} answered {status}"),
            transient: matches!(status, 408 | 429 | 500..=599),
        }),
    }
}

/// The media type of a Content-Type value, lower case, without parameters.
fn media_type(content_type: &str) -> String {
    let essence = content_type.split(';').next().unwrap_or("");
    essence.trim().to_ascii_lowercase()
}

/// Reads the body, refusing at once a larger Content-Length and stopping at cap + 1
/// bytes (SECURITY.md 40, 46).
fn read_capped(url: &Url, response: Response<Body>, max_bytes: u64) -> Result<Vec<u8>> {
    let too_big = || refused(format!("GET {url}: response larger than {max_bytes} bytes"));
    let declared = response
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u64>().ok());
    if declared.is_some_and(|len| len > max_bytes) {
        return Err(too_big());
    }
    let mut body = Vec::new();
    response
        .into_body()
        .into_reader()
        .take(max_bytes.saturating_add(1))
        .read_to_end(&mut body)
        .map_err(|e| network_error(url, ureq::Error::from(e)))?;
    if body.len() as u64 > max_bytes {
        return Err(too_big());
    }
    Ok(body)
}

/// Reads at most `max_bytes` of the body and drops the connection on the rest.
fn read_cut(url: &Url, response: Response<Body>, max_bytes: u64) -> Result<Vec<u8>> {
    let mut body = Vec::new();
    response
        .into_body()
        .into_reader()
        .take(max_bytes)
        .read_to_end(&mut body)
        .map_err(|e| network_error(url, ureq::Error::from(e)))?;
    Ok(body)
}

/// Base headers, each replaced by a signer header of the same name.
fn merge_headers(base: &[(&str, &str)], signed: Vec<(String, String)>) -> Vec<(String, String)> {
    let mut headers: Vec<(String, String)> = base
        .iter()
        .filter(|(name, _)| !signed.iter().any(|(s, _)| s.eq_ignore_ascii_case(name)))
        .map(|(n, v)| (n.to_string(), v.to_string()))
        .collect();
    headers.extend(signed);
    headers
}

/// Adds headers; invalid names or values (CR, LF…) make the request fail unsent.
fn with_headers<B>(
    mut request: RequestBuilder<B>,
    headers: &[(String, String)],
) -> RequestBuilder<B> {
    for (name, value) in headers {
        request = request.header(name.as_str(), value.as_str());
    }
    request
}

/// Turns a ureq failure into kith's error; guard refusals and malformed requests are
/// not transient, everything else (timeouts, DNS, connection, TLS) is.
fn network_error(url: &Url, e: ureq::Error) -> Error {
    if let ureq::Error::Other(inner) = &e
        && let Some(refusal) = inner.downcast_ref::<guard::Refused>()
    {
        return Error::PrivateAddress(format!("{url}: {refusal}"));
    }
    let transient = !matches!(
        e,
        ureq::Error::BadUri(_)
            | ureq::Error::Http(_)
            | ureq::Error::LargeResponseHeader(..)
            | ureq::Error::TooManyRedirects
            | ureq::Error::RedirectFailed
            | ureq::Error::BodyExceedsLimit(_)
            | ureq::Error::RequireHttpsOnly(_)
            | ureq::Error::Other(_)
    );
    Error::Network {
        message: format!("{url}: {e}"),
        transient,
    }
}

/// Retry-After as seconds or an HTTP date, relative to `now`.
fn retry_after(headers: &HeaderMap, now: SystemTime) -> Option<Duration> {
    let value = headers.get(header::RETRY_AFTER)?.to_str().ok()?.trim();
    if let Ok(secs) = value.parse::<u64>() {
        return Some(Duration::from_secs(secs));
    }
    let when = httpdate::parse_http_date(value).ok()?;
    Some(when.duration_since(now).unwrap_or(Duration::ZERO))
}

/// Parses `host[:port]` alone: no path, user-info, query or fragment.
fn parse_authority(host: &str) -> Option<Url> {
    let plain = !host.is_empty()
        && !guard::has_forbidden_chars(host)
        && !host.contains(['/', '\\', '?', '#', '@']);
    if !plain {
        return None;
    }
    Url::parse(&format!("https://{host}/")).ok()
}

/// Percent-encodes everything but RFC 3986 unreserved characters.
fn percent_encode(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for byte in text.bytes() {
        if byte.is_ascii_alphanumeric() || b"-._~".contains(&byte) {
            out.push(char::from(byte));
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

/// Resolves a name within `timeout`; nothing when it fails or takes longer.
fn resolve(host: &str, port: u16, timeout: Duration) -> Vec<SocketAddr> {
    let (tx, rx) = std::sync::mpsc::sync_channel(1);
    let name = host.to_string();
    std::thread::spawn(move || {
        let addrs: Vec<SocketAddr> = (name.as_str(), port)
            .to_socket_addrs()
            .map(Iterator::collect)
            .unwrap_or_default();
        let _ = tx.send(addrs);
    });
    rx.recv_timeout(timeout).unwrap_or_default()
}
