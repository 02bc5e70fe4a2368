//! HTTP signatures in both formats kith meets: draft-cavage (`Signature` alone, which
//! every peer speaks) and RFC 9421 (`Signature-Input` plus `Signature`, in Mastodon's
//! profile). This module owns signing outgoing requests, the strict parsing and
//! checking of incoming ones (scheme, algorithm, coverage, time window,
//! `Digest`/`Content-Digest`), public-key PEM decoding and the RSA verification; it is
//! where ring signs, verifies and hashes. It is pure: no I/O, no network, no database
//! and no clock (the caller passes `now` in Unix seconds). It must not fetch keys,
//! judge domains or look at the activity: `ap::inbox` does that between [`check`]
//! (everything that needs no key) and [`verify`] (the RSA signature itself).

mod cavage;
mod pem;
mod rfc9421;
mod sf;
#[cfg(test)]
mod tests;

use cavage::check_cavage;
pub use pem::rsa_public_key_der;
use rfc9421::check_rfc9421;

use crate::error::{Error, Result};
use base64::Engine;
use base64::engine::DecodePaddingMode;
use base64::engine::general_purpose::{GeneralPurpose, GeneralPurposeConfig, STANDARD};
use ring::signature::{RSA_PKCS1_2048_8192_SHA256, RSA_PKCS1_SHA256, RsaKeyPair};
use std::time::{Duration, UNIX_EPOCH};

/// How long a signature stays valid without `expires` (Mastodon: 5 minutes).
const DEFAULT_VALIDITY: i64 = 5 * 60;
/// The longest validity an `expires` may claim (Mastodon's `EXPIRATION_WINDOW_LIMIT`).
const MAX_VALIDITY: i64 = 12 * 3600;
/// Clock skew tolerated either way (Mastodon's `CLOCK_SKEW_MARGIN`).
const CLOCK_SKEW: i64 = 3600;

const NOT_SIGNED: &str = "Request not signed";
const PARSE_ERROR: &str = "Error parsing signature parameters";
const INCOMPATIBLE: &str = "Incompatible request signature";
const ALGORITHM: &str =
    "Unsupported signature algorithm (only rsa-sha256 and hs2019 are supported)";
const ALGORITHM_9421: &str = "Unsupported signature algorithm (only rsa-v1_5-sha256 is supported)";
const WINDOW: &str = "Signed request date outside acceptable time window";
const INVALID_DATE: &str = "Invalid Date header";
const WRONG_HOST: &str = "Signed Host header does not name this server";
const ONE_SIGNATURE: &str = "Exactly one signature is supported";

/// Base64 that tolerates missing padding, for signature values from peers.
const LENIENT: GeneralPurpose = GeneralPurpose::new(
    &base64::alphabet::STANDARD,
    GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent),
);

/// What an outgoing request looks like, for signing.
pub struct Outgoing<'a> {
    /// "GET" or "POST".
    pub method: &'a str,
    /// The full target URL.
    pub url: &'a url::Url,
    /// GET: the Accept header value sent.
    pub accept: Option<&'a str>,
    /// POST: the Content-Type header value sent.
    pub content_type: Option<&'a str>,
    /// POST: the exact body bytes sent.
    pub body: Option<&'a [u8]>,
}

/// An incoming request as the verifier sees it. Header names are lower-case.
pub struct Incoming<'a> {
    /// Upper-case method.
    pub method: &'a str,
    /// The raw path as received, without the query.
    pub path: &'a str,
    /// The raw query without '?'; empty when none.
    pub query: &'a str,
    /// Headers with lower-case names, in the order received.
    pub headers: &'a [(String, String)],
    /// The raw body bytes.
    pub body: &'a [u8],
}

/// Which signature format an incoming request uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scheme {
    /// draft-cavage-http-signatures (`Signature` header alone).
    Cavage,
    /// RFC 9421 HTTP Message Signatures (`Signature-Input` and `Signature`).
    Rfc9421,
}

/// An incoming signature that passed every check needing no key; [`verify`] finishes it.
#[derive(Debug)]
pub struct Checked {
    /// The signature format.
    pub scheme: Scheme,
    /// The signer's key id, as sent.
    pub key_id: String,
    /// The signing strings to try, in order (cavage: with the query, then without).
    bases: Vec<Vec<u8>>,
    /// The signature bytes.
    signature: Vec<u8>,
}

fn unauthorized(message: impl Into<String>) -> Error {
    Error::Unauthorized(message.into())
}

fn sha256(data: &[u8]) -> Vec<u8> {
    ring::digest::digest(&ring::digest::SHA256, data)
        .as_ref()
        .to_vec()
}

/// SHA-256 digest header value `SHA-256=<base64>` of a body.
pub fn digest_header(body: &[u8]) -> String {
    format!("SHA-256={}", STANDARD.encode(sha256(body)))
}

/// RFC 9530 Content-Digest header value `sha-256=:<base64>:` of a body.
pub fn content_digest_header(body: &[u8]) -> String {
    format!("sha-256=:{}:", STANDARD.encode(sha256(body)))
}

/// The key id without its #fragment, i.e. the actor URL to fetch (FEDERATION.md §4 step 7).
///
/// A key id that parses as a URL comes back normalised (host lower-cased, IDNA).
pub fn key_owner_url(key_id: &str) -> String {
    match url::Url::parse(key_id) {
        Ok(mut url) => {
            url.set_fragment(None);
            url.into()
        }
        Err(_) => key_id.split('#').next().unwrap_or(key_id).to_string(),
    }
}

/// The HTTP date (IMF-fixdate) for Unix seconds `now`; times before 1970 give the epoch.
pub fn http_date(now: i64) -> String {
    let secs = u64::try_from(now).unwrap_or(0);
    httpdate::fmt_http_date(UNIX_EPOCH + Duration::from_secs(secs))
}

/// Parses an HTTP date (any of the three forms HTTP allows) to Unix seconds.
fn parse_http_date(value: &str) -> Option<i64> {
    let time = httpdate::parse_http_date(value).ok()?;
    i64::try_from(time.duration_since(UNIX_EPOCH).ok()?.as_secs()).ok()
}

/// All values of header `name`, each trimmed, joined with ", "; None when absent.
fn header_value(headers: &[(String, String)], name: &str) -> Option<String> {
    let mut values = headers
        .iter()
        .filter(|(n, _)| n.eq_ignore_ascii_case(name))
        .map(|(_, v)| v.trim());
    let first = values.next()?.to_string();
    Some(values.fold(first, |acc, v| format!("{acc}, {v}")))
}

/// Quotes a string with backslash escapes (draft-cavage and RFC 8941 agree on this).
fn quote(value: &str) -> String {
    let mut out = String::with_capacity(value.len() + 2);
    out.push('"');
    for c in value.chars() {
        if c == '"' || c == '\\' {
            out.push('\\');
        }
        out.push(c);
    }
    out.push('"');
    out
}

/// The Host header for a URL: the host, plus the port when it is not the default.
fn host_header(url: &url::Url) -> String {
    let host = url.host_str().unwrap_or_default();
    match url.port() {
        Some(port) => format!("{host}:{port}"),
        None => host.to_string(),
    }
}

/// "?query" when the query is not empty, else "".
fn query_suffix(query: Option<&str>) -> String {
    match query {
        Some(q) if !q.is_empty() => format!("?{q}"),
        _ => String::new(),
    }
}

/// RSASSA-PKCS1-v1_5 SHA-256; empty when ring fails (only if the system RNG fails).
fn rsa_sign(key: &RsaKeyPair, data: &[u8]) -> Vec<u8> {
    let mut signature = vec![0u8; key.public().modulus_len()];
    let rng = ring::rand::SystemRandom::new();
    match key.sign(&RSA_PKCS1_SHA256, &rng, data, &mut signature) {
        Ok(()) => signature,
        Err(_) => Vec::new(),
    }
}

/// Signs with draft-cavage rsa-sha256 as Mastodon does; returns the headers to send.
///
/// In this order: Host (with the port when not the default), Date (fresh, from
/// `now`), Digest (POST only, `SHA-256=` upper case), Signature. POST signs
/// `(request-target) host date digest content-type`, GET signs
/// `(request-target) host date accept` (content-type / accept only when given). If
/// ring cannot sign (a failed system RNG), the signature is empty and the peer
/// answers 401, which the delivery queue retries.
pub fn sign(key: &RsaKeyPair, key_id: &str, req: &Outgoing, now: i64) -> Vec<(String, String)> {
    let host = host_header(req.url);
    let date = http_date(now);
    let target = format!(
        "{} {}{}",
        req.method.to_ascii_lowercase(),
        req.url.path(),
        query_suffix(req.url.query())
    );
    let mut lines = vec![
        ("(request-target)", target),
        ("host", host.clone()),
        ("date", date.clone()),
    ];
    let mut headers = vec![("Host".to_string(), host), ("Date".to_string(), date)];
    if req.method.eq_ignore_ascii_case("POST") {
        let digest = digest_header(req.body.unwrap_or_default());
        lines.push(("digest", digest.clone()));
        headers.push(("Digest".to_string(), digest));
        if let Some(content_type) = req.content_type {
            lines.push(("content-type", content_type.to_string()));
        }
    } else if let Some(accept) = req.accept {
        lines.push(("accept", accept.to_string()));
    }
    let names: Vec<&str> = lines.iter().map(|(name, _)| *name).collect();
    let text: Vec<String> = lines.iter().map(|(n, v)| format!("{n}: {v}")).collect();
    let signature = STANDARD.encode(rsa_sign(key, text.join("\n").as_bytes()));
    let value = format!(
        "keyId={},algorithm=\"rsa-sha256\",headers=\"{}\",signature=\"{signature}\"",
        quote(key_id),
        names.join(" ")
    );
    headers.push(("Signature".to_string(), value));
    headers
}

/// Signs with RFC 9421 rsa-v1_5-sha256 in Mastodon's profile; returns the headers to send.
///
/// In this order: Host, Date, Content-Digest (POST only), Signature-Input and
/// Signature, with the label `sig1`. Covers `@method`, `@target-uri` and on POST
/// `content-digest`, with `created`, `keyid` and `alg` parameters. An empty signature
/// means ring failed, as in [`sign`].
pub fn sign_rfc9421(
    key: &RsaKeyPair,
    key_id: &str,
    req: &Outgoing,
    now: i64,
) -> Vec<(String, String)> {
    let mut target = req.url.clone();
    target.set_fragment(None);
    let mut headers = vec![
        ("Host".to_string(), host_header(req.url)),
        ("Date".to_string(), http_date(now)),
    ];
    let mut components = vec![
        ("@method", req.method.to_ascii_uppercase()),
        ("@target-uri", target.to_string()),
    ];
    if req.method.eq_ignore_ascii_case("POST") {
        let digest = content_digest_header(req.body.unwrap_or_default());
        components.push(("content-digest", digest.clone()));
        headers.push(("Content-Digest".to_string(), digest));
    }
    let list: Vec<String> = components.iter().map(|(n, _)| quote(n)).collect();
    let params = format!(
        "({});created={now};keyid={};alg=\"rsa-v1_5-sha256\"",
        list.join(" "),
        quote(key_id)
    );
    let mut base = String::new();
    for (name, value) in &components {
        base.push_str(&format!("\"{name}\": {value}\n"));
    }
    base.push_str(&format!("\"@signature-params\": {params}"));
    let signature = STANDARD.encode(rsa_sign(key, base.as_bytes()));
    headers.push(("Signature-Input".to_string(), format!("sig1={params}")));
    headers.push(("Signature".to_string(), format!("sig1=:{signature}:")));
    headers
}

/// Checks everything about an incoming signature that needs no key.
///
/// That is: scheme detection, strict parsing, the algorithm allow-list, required
/// coverage, the signed Host, the time window and Digest/Content-Digest against the
/// raw body (SECURITY.md cases 1–12). `public_base` is kith's configured
/// `scheme://domain`; `domain` is its `host[:port]`.
/// Every failure is `Error::Unauthorized` with a message for the peer.
pub fn check(req: &Incoming, public_base: &str, domain: &str, now: i64) -> Result<Checked> {
    if let Some(input) = header_value(req.headers, "signature-input") {
        check_rfc9421(req, &input, public_base, domain, now)
    } else if let Some(signature) = header_value(req.headers, "signature") {
        check_cavage(req, &signature, domain, now)
    } else {
        Err(unauthorized(NOT_SIGNED))
    }
}

/// Verifies the RSA signature with the signer's public key (PEM, SPKI or PKCS#1).
///
/// For cavage, tries the (request-target) with the query, then without it (never a
/// different query).
pub fn verify(checked: &Checked, public_key_pem: &str) -> Result<()> {
    let der = rsa_public_key_der(public_key_pem)?;
    let key = ring::signature::UnparsedPublicKey::new(&RSA_PKCS1_2048_8192_SHA256, der);
    if checked
        .bases
        .iter()
        .any(|base| key.verify(base, &checked.signature).is_ok())
    {
        return Ok(());
    }
    let algorithm = match checked.scheme {
        Scheme::Cavage => "rsa-sha256",
        Scheme::Rfc9421 => "rsa-v1_5-sha256",
    };
    Err(unauthorized(format!(
        "Verification failed for {} using {algorithm} (RSASSA-PKCS1-v1_5 with SHA-256)",
        checked.key_id
    )))
}

/// Checks that the signed Host header, if `host` is covered, names this server.
fn check_host(req: &Incoming, covered: &[String], domain: &str) -> Result<()> {
    if !covered.iter().any(|c| c == "host") {
        return Ok(());
    }
    match header_value(req.headers, "host") {
        Some(host) if host.eq_ignore_ascii_case(domain) => Ok(()),
        _ => Err(unauthorized(WRONG_HOST)),
    }
}

/// The time window: valid from `base` until `expires` (default base + 5 min, capped
/// at base + 12 h), with the clock-skew margin on both sides.
fn check_window(base: i64, expires: Option<i64>, now: i64) -> Result<()> {
    let cap = base.saturating_add(MAX_VALIDITY);
    let expiry = expires
        .unwrap_or(base.saturating_add(DEFAULT_VALIDITY))
        .min(cap);
    if base > now.saturating_add(CLOCK_SKEW) || now > expiry.saturating_add(CLOCK_SKEW) {
        return Err(unauthorized(WINDOW));
    }
    Ok(())
}

/// Parses a non-negative integer of at most 15 digits (a `created` or `expires` value).
fn parse_seconds(value: &str) -> Option<i64> {
    let digits_only = !value.is_empty() && value.bytes().all(|b| b.is_ascii_digit());
    if !digits_only || value.len() > 15 {
        return None;
    }
    value.parse().ok()
}

/// Why a given SHA-256 digest (already base64-decoded, or not decodable) is not the body's.
fn digest_problem(
    header: &str,
    given: &str,
    decoded: Option<&[u8]>,
    body: &[u8],
) -> Option<String> {
    let Some(decoded) = decoded else {
        return Some(format!(
            "Invalid {header} value. The provided {header} value is not a valid base64 string. Given digest: {given}"
        ));
    };
    if decoded.len() != 32 {
        return Some(format!(
            "Invalid {header} value. The provided {header} value is not a SHA-256 digest. Given digest: {given}"
        ));
    }
    let computed = sha256(body);
    if decoded != computed.as_slice() {
        return Some(format!(
            "Invalid {header} value. Computed SHA-256 digest: {}; given: {given}",
            STANDARD.encode(&computed)
        ));
    }
    None
}

/// Checks the `Digest` header (RFC 3230) against the raw body: any SHA-256 entry may match.
fn check_digest(req: &Incoming) -> Result<()> {
    let raw =
        header_value(req.headers, "digest").ok_or_else(|| unauthorized("Digest header missing"))?;
    let mut algorithms = Vec::new();
    let mut problem = None;
    for entry in raw.split(',') {
        let (algorithm, value) = entry
            .split_once('=')
            .ok_or_else(|| unauthorized("Invalid Digest header"))?;
        let (algorithm, value) = (algorithm.trim(), value.trim());
        algorithms.push(algorithm);
        if !algorithm.eq_ignore_ascii_case("sha-256") {
            continue;
        }
        let decoded = STANDARD.decode(value).ok();
        match digest_problem("Digest", value, decoded.as_deref(), req.body) {
            None => return Ok(()),
            Some(p) => problem = problem.or(Some(p)),
        }
    }
    Err(unauthorized(problem.unwrap_or_else(|| {
        format!(
            "Only SHA-256 is supported in the Digest header. Offered algorithms: {}",
            algorithms.join(", ")
        )
    })))
}

/// Checks the `Content-Digest` header (RFC 9530) against the raw body.
fn check_content_digest(req: &Incoming) -> Result<()> {
    let raw = header_value(req.headers, "content-digest")
        .ok_or_else(|| unauthorized("Content-Digest header missing"))?;
    let members =
        sf::dictionary(&raw).ok_or_else(|| unauthorized("Invalid Content-Digest header"))?;
    let mut problem = None;
    for member in members.iter().filter(|m| m.key == "sha-256") {
        let decoded = match &member.value {
            sf::Value::Item(sf::Bare::Bytes(bytes)) => Some(bytes.as_slice()),
            _ => None,
        };
        let given = member.raw.trim_matches(':');
        match digest_problem("Content-Digest", given, decoded, req.body) {
            None => return Ok(()),
            Some(p) => problem = problem.or(Some(p)),
        }
    }
    let offered: Vec<&str> = members.iter().map(|m| m.key.as_str()).collect();
    Err(unauthorized(problem.unwrap_or_else(|| {
        format!(
            "Only SHA-256 is supported in the Content-Digest header. Offered algorithms: {}",
            offered.join(", ")
        )
    })))
}

// ---------------------------------------------------------------------------------
// draft-cavage

fn is_tchar(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b)
}
