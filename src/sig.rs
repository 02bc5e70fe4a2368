//! HTTP signatures in both formats kith meets: draft-cavage (`Signature` alone, which
//! every peer speaks) and RFC 9421 (`Signature-Input` plus `Signature`, in Mastodon's
//! profile). This module owns signing outgoing requests, the strict parsing and
//! checking of incoming ones (scheme, algorithm, coverage, time window,
//! `Digest`/`Content-Digest`), public-key PEM decoding and the RSA verification; it is
//! where ring signs, verifies and hashes. It is pure: no I/O, no network, no database
//! and no clock (the caller passes `now` in Unix seconds). It must not fetch keys,
//! judge domains or look at the activity: `ap::inbox` does that between [`check`]
//! (everything that needs no key) and [`verify`] (the RSA signature itself).

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

/// The parameters of a draft-cavage `Signature` header.
struct CavageParams {
    key_id: String,
    signature: String,
    /// `algorithm` was hs2019 or absent (which allows `(created)` and `(expires)`).
    hs2019: bool,
    /// Covered header names, lower-case, in order.
    covered: Vec<String>,
    created: Option<String>,
    expires: Option<String>,
}

fn is_tchar(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b)
}

/// Parses `name=value` pairs (value a token or a quoted string) separated by commas;
/// None on any junk or a repeated name. Tolerates the "Signature " prefix some old
/// node-http-signature versions add.
fn parse_cavage_pairs(raw: &str) -> Option<Vec<(String, String)>> {
    let raw = raw.strip_prefix("Signature ").unwrap_or(raw);
    let mut cursor = sf::Cursor::new(raw);
    let mut pairs: Vec<(String, String)> = Vec::new();
    loop {
        let name = cursor.take(is_tchar)?.to_string();
        cursor.skip_ows();
        if !cursor.eat(b'=') {
            return None;
        }
        cursor.skip_ows();
        let value = if cursor.peek() == Some(b'"') {
            cursor.quoted(false)?
        } else {
            cursor.take(is_tchar)?.to_string()
        };
        if pairs.iter().any(|(n, _)| *n == name) {
            return None;
        }
        pairs.push((name, value));
        cursor.skip_ows();
        if cursor.at_end() {
            return Some(pairs);
        }
        if !cursor.eat(b',') {
            return None;
        }
        cursor.skip_ows();
    }
}

/// Parses and validates the `Signature` header's parameters (cases 2–4).
fn cavage_params(raw: &str) -> Result<CavageParams> {
    let pairs = parse_cavage_pairs(raw).ok_or_else(|| unauthorized(PARSE_ERROR))?;
    let get = |name: &str| {
        pairs
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.clone())
    };
    let (Some(key_id), Some(signature)) = (get("keyId"), get("signature")) else {
        return Err(unauthorized(INCOMPATIBLE));
    };
    if key_id.is_empty() || signature.is_empty() {
        return Err(unauthorized(INCOMPATIBLE));
    }
    let hs2019 = match get("algorithm") {
        None => true,
        Some(a) if a.eq_ignore_ascii_case("hs2019") => true,
        Some(a) if a.eq_ignore_ascii_case("rsa-sha256") => false,
        Some(_) => return Err(unauthorized(ALGORITHM)),
    };
    // draft-cavage: without a `headers` parameter only `date` is signed.
    let covered = get("headers")
        .unwrap_or_else(|| "date".to_string())
        .split_ascii_whitespace()
        .map(str::to_ascii_lowercase)
        .collect();
    Ok(CavageParams {
        key_id,
        signature,
        hs2019,
        covered,
        created: get("created"),
        expires: get("expires"),
    })
}

/// Required coverage (cases 5, 6, 12): (request-target); date or (created); digest on
/// POST; host on every other method.
fn require_cavage_coverage(post: bool, covered: &[String]) -> Result<()> {
    let has = |name: &str| covered.iter().any(|c| c == name);
    if !has("(request-target)") {
        return Err(unauthorized(
            "kith requires the (request-target) pseudo-header to be signed",
        ));
    }
    if !has("date") && !has("(created)") {
        return Err(unauthorized(
            "kith requires the Date header or (created) pseudo-header to be signed",
        ));
    }
    if post && !has("digest") {
        return Err(unauthorized(
            "kith requires the Digest header to be signed when doing a POST request",
        ));
    }
    if !post && !has("host") {
        return Err(unauthorized(
            "kith requires the Host header to be signed when doing a GET request",
        ));
    }
    Ok(())
}

/// The value of a signed `(created)` or `(expires)` pseudo-header. Only hs2019 (or no
/// algorithm) may use them, as in Mastodon.
fn pseudo_time(params: &CavageParams, pseudo: &str, value: Option<&str>) -> Result<i64> {
    if !params.hs2019 {
        return Err(unauthorized(format!(
            "Invalid pseudo-header {pseudo} for rsa-sha256"
        )));
    }
    value
        .and_then(parse_seconds)
        .ok_or_else(|| unauthorized(format!("Invalid {pseudo} signature parameter")))
}

/// The signature's creation time and expiry. Only covered values count: `created` if
/// `(created)` is signed, else the signed Date header; `expires` only if `(expires)`
/// is signed (an unsigned one could be raised by anyone replaying the request).
fn cavage_times(req: &Incoming, params: &CavageParams) -> Result<(i64, Option<i64>)> {
    let has = |name: &str| params.covered.iter().any(|c| c == name);
    let base = if has("(created)") {
        pseudo_time(params, "(created)", params.created.as_deref())?
    } else {
        header_value(req.headers, "date")
            .as_deref()
            .and_then(parse_http_date)
            .ok_or_else(|| unauthorized(INVALID_DATE))?
    };
    let expires = if has("(expires)") {
        Some(pseudo_time(params, "(expires)", params.expires.as_deref())?)
    } else {
        None
    };
    Ok((base, expires))
}

/// One line's value in the cavage signing string.
fn cavage_value(req: &Incoming, params: &CavageParams, name: &str, query: bool) -> Result<String> {
    let missing = || unauthorized(format!("Signed header {name} is missing from the request"));
    match name {
        "(request-target)" => Ok(format!(
            "{} {}{}",
            req.method.to_ascii_lowercase(),
            req.path,
            query_suffix(Some(req.query).filter(|_| query))
        )),
        "(created)" => params.created.clone().ok_or_else(missing),
        "(expires)" => params.expires.clone().ok_or_else(missing),
        _ => header_value(req.headers, name).ok_or_else(missing),
    }
}

/// The cavage signing string, with or without the query in (request-target).
fn cavage_string(req: &Incoming, params: &CavageParams, query: bool) -> Result<Vec<u8>> {
    let mut lines = Vec::with_capacity(params.covered.len());
    for name in &params.covered {
        lines.push(format!(
            "{name}: {}",
            cavage_value(req, params, name, query)?
        ));
    }
    Ok(lines.join("\n").into_bytes())
}

/// Checks a draft-cavage signature (FEDERATION.md §4 steps 3–6 and 8).
fn check_cavage(req: &Incoming, raw: &str, domain: &str, now: i64) -> Result<Checked> {
    let params = cavage_params(raw)?;
    let post = req.method == "POST";
    require_cavage_coverage(post, &params.covered)?;
    check_host(req, &params.covered, domain)?;
    let (base, expires) = cavage_times(req, &params)?;
    check_window(base, expires, now)?;
    if post {
        check_digest(req)?;
    }
    let signature = LENIENT
        .decode(&params.signature)
        .map_err(|_| unauthorized("Invalid signature: not base64"))?;
    let mut bases = vec![cavage_string(req, &params, true)?];
    if !req.query.is_empty() {
        bases.push(cavage_string(req, &params, false)?);
    }
    Ok(Checked {
        scheme: Scheme::Cavage,
        key_id: params.key_id,
        bases,
        signature,
    })
}

// ---------------------------------------------------------------------------------
// RFC 9421

/// The one signature of an RFC 9421 request.
struct SigInput {
    /// Covered component identifiers, in order.
    components: Vec<String>,
    /// The signature parameters.
    params: Vec<(String, sf::Bare)>,
    /// The inner list and parameters exactly as received (the `@signature-params` value).
    raw: String,
}

/// Whether a component identifier is one kith can name: a lower-case field name or
/// `@` plus one.
fn valid_component(name: &str) -> bool {
    let field = name.strip_prefix('@').unwrap_or(name);
    !field.is_empty()
        && field
            .bytes()
            .all(|b| is_tchar(b) && !b.is_ascii_uppercase())
}

/// Parses `Signature-Input` and `Signature`: exactly one signature, same label.
fn parse_rfc9421(input: &str, signature: &str) -> Result<(SigInput, Vec<u8>)> {
    let inputs = sf::dictionary(input)
        .ok_or_else(|| unauthorized("Error parsing Signature-Input header"))?;
    let signatures =
        sf::dictionary(signature).ok_or_else(|| unauthorized("Error parsing Signature header"))?;
    let ([input], [signature]) = (inputs.as_slice(), signatures.as_slice()) else {
        return Err(unauthorized(ONE_SIGNATURE));
    };
    let incompatible = |why: &str| unauthorized(format!("{INCOMPATIBLE}: {why}"));
    if input.key != signature.key {
        return Err(incompatible("Signature and Signature-Input labels differ"));
    }
    let sf::Value::Item(sf::Bare::Bytes(bytes)) = &signature.value else {
        return Err(incompatible("the signature is not a byte sequence"));
    };
    let sf::Value::Inner(items) = &input.value else {
        return Err(incompatible("Signature-Input is not an inner list"));
    };
    let mut components: Vec<String> = Vec::with_capacity(items.len());
    for (item, params) in items {
        match item {
            sf::Bare::Str(name)
                if params.is_empty() && valid_component(name) && !components.contains(name) =>
            {
                components.push(name.clone());
            }
            _ => return Err(incompatible("unsupported covered component")),
        }
    }
    let input = SigInput {
        components,
        params: input.params.clone(),
        raw: input.raw.clone(),
    };
    Ok((input, bytes.clone()))
}

/// The validated RFC 9421 signature parameters: (keyid, created, expires).
fn rfc9421_params(params: &[(String, sf::Bare)]) -> Result<(String, i64, Option<i64>)> {
    let get = |name: &str| params.iter().find(|(n, _)| n == name).map(|(_, v)| v);
    match get("alg") {
        None => {}
        Some(sf::Bare::Str(alg)) if alg == "rsa-v1_5-sha256" => {}
        Some(_) => return Err(unauthorized(ALGORITHM_9421)),
    }
    let (Some(sf::Bare::Str(key_id)), Some(sf::Bare::Int(created))) =
        (get("keyid"), get("created"))
    else {
        return Err(unauthorized(format!(
            "{INCOMPATIBLE}: keyid and created are required"
        )));
    };
    if key_id.is_empty() {
        return Err(unauthorized(format!("{INCOMPATIBLE}: empty keyid")));
    }
    let expires = match get("expires") {
        None => None,
        Some(sf::Bare::Int(expires)) => Some(*expires),
        Some(_) => {
            return Err(unauthorized(format!(
                "{INCOMPATIBLE}: expires is not an integer"
            )));
        }
    };
    Ok((key_id.clone(), *created, expires))
}

/// Required coverage in Mastodon's profile: @method, @target-uri, content-digest on POST.
fn require_rfc9421_coverage(post: bool, components: &[String]) -> Result<()> {
    for required in ["@method", "@target-uri"] {
        if !components.iter().any(|c| c == required) {
            return Err(unauthorized(format!(
                "kith requires the {required} component to be signed"
            )));
        }
    }
    if post && !components.iter().any(|c| c == "content-digest") {
        return Err(unauthorized(
            "kith requires the content-digest component to be signed when doing a POST request",
        ));
    }
    Ok(())
}

/// The value of one covered component (RFC 9421 §2.1, §2.2), rebuilt from the real
/// request and kith's configured base URL.
fn component_value(req: &Incoming, name: &str, public_base: &str, domain: &str) -> Result<String> {
    let query = query_suffix(Some(req.query));
    let value = match name {
        "@method" => req.method.to_string(),
        "@target-uri" => format!("{}{}{query}", public_base.trim_end_matches('/'), req.path),
        "@authority" => domain.to_ascii_lowercase(),
        "@scheme" => public_base
            .split_once("://")
            .map(|(scheme, _)| scheme.to_ascii_lowercase())
            .unwrap_or_default(),
        "@path" => req.path.to_string(),
        "@query" => format!("?{}", req.query),
        "@request-target" => format!("{}{query}", req.path),
        _ if name.starts_with('@') => {
            return Err(unauthorized(format!(
                "Unsupported derived component {name}"
            )));
        }
        _ => header_value(req.headers, name).ok_or_else(|| {
            unauthorized(format!("Signed header {name} is missing from the request"))
        })?,
    };
    if value.contains(['\r', '\n']) {
        return Err(unauthorized(format!("Invalid value for component {name}")));
    }
    Ok(value)
}

/// The RFC 9421 signature base (§2.5): one line per component, then @signature-params.
fn rfc9421_base(
    input: &SigInput,
    req: &Incoming,
    public_base: &str,
    domain: &str,
) -> Result<Vec<u8>> {
    let mut base = String::new();
    for name in &input.components {
        let value = component_value(req, name, public_base, domain)?;
        base.push_str(&format!("\"{name}\": {value}\n"));
    }
    base.push_str("\"@signature-params\": ");
    base.push_str(&input.raw);
    Ok(base.into_bytes())
}

/// Checks an RFC 9421 signature in Mastodon's profile (FEDERATION.md §5).
fn check_rfc9421(
    req: &Incoming,
    input: &str,
    public_base: &str,
    domain: &str,
    now: i64,
) -> Result<Checked> {
    let signature = header_value(req.headers, "signature").ok_or_else(|| {
        unauthorized(format!("{INCOMPATIBLE}: Signature-Input without Signature"))
    })?;
    let (input, signature) = parse_rfc9421(input, &signature)?;
    let (key_id, created, expires) = rfc9421_params(&input.params)?;
    let post = req.method == "POST";
    require_rfc9421_coverage(post, &input.components)?;
    check_host(req, &input.components, domain)?;
    check_window(created, expires, now)?;
    if post {
        check_content_digest(req)?;
    }
    let base = rfc9421_base(&input, req, public_base, domain)?;
    Ok(Checked {
        scheme: Scheme::Rfc9421,
        key_id,
        bases: vec![base],
        signature,
    })
}

// ---------------------------------------------------------------------------------
// Public keys

/// Parses a PEM public key to the DER form ring verifies with (PKCS#1 RSAPublicKey).
///
/// Accepts SPKI (`BEGIN PUBLIC KEY`, the RSA key is extracted) and PKCS#1 (`BEGIN RSA
/// PUBLIC KEY`); anything else, including non-RSA keys, is a 401.
pub fn rsa_public_key_der(pem: &str) -> Result<Vec<u8>> {
    let invalid = || unauthorized("Invalid public key: expected an RSA public key in PEM");
    let (label, der) = pem_decode(pem).ok_or_else(invalid)?;
    let pkcs1 = match label {
        "RSA PUBLIC KEY" => der,
        "PUBLIC KEY" => spki_rsa_key(&der).ok_or_else(invalid)?.to_vec(),
        _ => return Err(invalid()),
    };
    if !is_rsa_public_key(&pkcs1) {
        return Err(invalid());
    }
    Ok(pkcs1)
}

/// The label and decoded body of the first PEM block.
fn pem_decode(pem: &str) -> Option<(&str, Vec<u8>)> {
    const BEGIN: &str = "-----BEGIN ";
    let rest = &pem[pem.find(BEGIN)? + BEGIN.len()..];
    let label_end = rest.find("-----")?;
    let label = &rest[..label_end];
    let body = &rest[label_end + 5..];
    let end = body.find(&format!("-----END {label}-----"))?;
    let text: String = body[..end]
        .chars()
        .filter(|c| !c.is_ascii_whitespace())
        .collect();
    Some((label, STANDARD.decode(text).ok()?))
}

/// Splits one DER element with `tag` off the front of `input`: (contents, rest).
fn der_element(input: &[u8], tag: u8) -> Option<(&[u8], &[u8])> {
    let (&found, rest) = input.split_first()?;
    let (&first, rest) = rest.split_first()?;
    if found != tag {
        return None;
    }
    let (len, rest) = if first < 0x80 {
        (usize::from(first), rest)
    } else {
        let n = usize::from(first & 0x7f);
        if n == 0 || n > 4 || rest.len() < n {
            return None;
        }
        let (bytes, rest) = rest.split_at(n);
        let len = bytes
            .iter()
            .fold(0usize, |acc, &b| (acc << 8) | usize::from(b));
        (len, rest)
    };
    (rest.len() >= len).then(|| rest.split_at(len))
}

/// The RSAPublicKey inside an RSA SubjectPublicKeyInfo.
fn spki_rsa_key(der: &[u8]) -> Option<&[u8]> {
    // OID 1.2.840.113549.1.1.1 (rsaEncryption).
    const RSA_OID: &[u8] = &[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x01];
    let (spki, rest) = der_element(der, 0x30)?;
    if !rest.is_empty() {
        return None;
    }
    let (algorithm, spki) = der_element(spki, 0x30)?;
    let (oid, parameters) = der_element(algorithm, 0x06)?;
    if oid != RSA_OID || !(parameters.is_empty() || parameters == [0x05, 0x00]) {
        return None;
    }
    let (bits, rest) = der_element(spki, 0x03)?;
    let (&unused_bits, key) = bits.split_first()?;
    (rest.is_empty() && unused_bits == 0).then_some(key)
}

/// Whether `der` is exactly one SEQUENCE of two INTEGERs (modulus, exponent).
fn is_rsa_public_key(der: &[u8]) -> bool {
    let Some((sequence, rest)) = der_element(der, 0x30) else {
        return false;
    };
    rest.is_empty()
        && der_element(sequence, 0x02)
            .and_then(|(_, rest)| der_element(rest, 0x02))
            .is_some_and(|(_, rest)| rest.is_empty())
}

/// The subset of RFC 8941 Structured Field Values that HTTP signatures need:
/// dictionaries whose members are items or inner lists, with parameters.
mod sf {
    use base64::Engine;

    /// A bare item. Decimals are not supported (nothing here uses them).
    #[derive(Debug, Clone, PartialEq)]
    pub enum Bare {
        Int(i64),
        Str(String),
        Token(String),
        Bytes(Vec<u8>),
        Bool(bool),
    }

    /// Parameters, in order; a repeated key is a parse error.
    pub type Params = Vec<(String, Bare)>;

    /// A dictionary member's value.
    #[derive(Debug)]
    pub enum Value {
        Item(Bare),
        Inner(Vec<(Bare, Params)>),
    }

    /// One dictionary member, with its value and parameters as received in `raw`.
    #[derive(Debug)]
    pub struct Member {
        pub key: String,
        pub value: Value,
        pub params: Params,
        pub raw: String,
    }

    /// A byte cursor over an ASCII header value.
    pub struct Cursor<'a> {
        text: &'a str,
        pos: usize,
    }

    impl<'a> Cursor<'a> {
        /// A cursor at the start of `text`.
        pub fn new(text: &'a str) -> Self {
            Cursor { text, pos: 0 }
        }

        /// The next byte, if any.
        pub fn peek(&self) -> Option<u8> {
            self.text.as_bytes().get(self.pos).copied()
        }

        /// Whether all input is consumed.
        pub fn at_end(&self) -> bool {
            self.pos >= self.text.len()
        }

        /// Consumes `b` if it is next.
        pub fn eat(&mut self, b: u8) -> bool {
            let found = self.peek() == Some(b);
            if found {
                self.pos += 1;
            }
            found
        }

        fn next(&mut self) -> Option<u8> {
            let b = self.peek()?;
            self.pos += 1;
            Some(b)
        }

        /// Skips spaces and tabs.
        pub fn skip_ows(&mut self) {
            while matches!(self.peek(), Some(b' ' | b'\t')) {
                self.pos += 1;
            }
        }

        fn skip_sp(&mut self) {
            while self.eat(b' ') {}
        }

        /// Consumes a non-empty run of ASCII bytes matching `pred`.
        pub fn take(&mut self, pred: fn(u8) -> bool) -> Option<&'a str> {
            let start = self.pos;
            while self.peek().is_some_and(|b| b.is_ascii() && pred(b)) {
                self.pos += 1;
            }
            self.text.get(start..self.pos).filter(|s| !s.is_empty())
        }

        /// A quoted string: RFC 8941 rules when `sf` (printable ASCII, only `\"` and
        /// `\\` escapes), else RFC 7230's quoted-string (tab allowed, any escape).
        pub fn quoted(&mut self, sf: bool) -> Option<String> {
            if !self.eat(b'"') {
                return None;
            }
            let mut out = String::new();
            loop {
                match self.next()? {
                    b'"' => return Some(out),
                    b'\\' => {
                        let escaped = self.next()?;
                        let allowed = if sf {
                            escaped == b'"' || escaped == b'\\'
                        } else {
                            escaped == b'\t' || (0x20..0x7f).contains(&escaped)
                        };
                        if !allowed {
                            return None;
                        }
                        out.push(char::from(escaped));
                    }
                    b'\t' if !sf => out.push('\t'),
                    b @ 0x20..=0x7e => out.push(char::from(b)),
                    _ => return None,
                }
            }
        }

        /// A key: lcalpha or "*", then lcalpha, digits, "_", "-", ".", "*".
        fn key(&mut self) -> Option<String> {
            let first = self.peek()?;
            if !(first.is_ascii_lowercase() || first == b'*') {
                return None;
            }
            self.take(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b"_-.*".contains(&b))
                .map(str::to_string)
        }

        fn integer(&mut self) -> Option<i64> {
            let negative = self.eat(b'-');
            let digits = self.take(|b| b.is_ascii_digit())?;
            if digits.len() > 15 || self.peek() == Some(b'.') {
                return None;
            }
            let value: i64 = digits.parse().ok()?;
            Some(if negative { -value } else { value })
        }

        fn bytes(&mut self) -> Option<Vec<u8>> {
            if !self.eat(b':') {
                return None;
            }
            let text = self
                .take(|b| b.is_ascii_alphanumeric() || b"+/=".contains(&b))
                .unwrap_or_default();
            if !self.eat(b':') {
                return None;
            }
            super::LENIENT.decode(text).ok()
        }

        fn bare(&mut self) -> Option<Bare> {
            match self.peek()? {
                b'-' | b'0'..=b'9' => self.integer().map(Bare::Int),
                b'"' => self.quoted(true).map(Bare::Str),
                b':' => self.bytes().map(Bare::Bytes),
                b'?' => {
                    self.pos += 1;
                    match self.next()? {
                        b'0' => Some(Bare::Bool(false)),
                        b'1' => Some(Bare::Bool(true)),
                        _ => None,
                    }
                }
                b if b.is_ascii_alphabetic() || b == b'*' => self
                    .take(|b| super::is_tchar(b) || b == b':' || b == b'/')
                    .map(|t| Bare::Token(t.to_string())),
                _ => None,
            }
        }

        fn params(&mut self) -> Option<Params> {
            let mut params: Params = Vec::new();
            while self.eat(b';') {
                self.skip_sp();
                let key = self.key()?;
                let value = if self.eat(b'=') {
                    self.bare()?
                } else {
                    Bare::Bool(true)
                };
                if params.iter().any(|(k, _)| *k == key) {
                    return None;
                }
                params.push((key, value));
            }
            Some(params)
        }

        fn inner_list(&mut self) -> Option<Vec<(Bare, Params)>> {
            if !self.eat(b'(') {
                return None;
            }
            let mut items = Vec::new();
            loop {
                self.skip_sp();
                if self.eat(b')') {
                    return Some(items);
                }
                let item = self.bare()?;
                items.push((item, self.params()?));
                if !matches!(self.peek(), Some(b' ' | b')')) {
                    return None;
                }
            }
        }

        /// One member's value (after the key) and parameters, with the raw text.
        fn member_value(&mut self) -> Option<(Value, Params, String)> {
            let has_value = self.eat(b'=');
            let start = self.pos;
            let value = match (has_value, self.peek()) {
                (false, _) => Value::Item(Bare::Bool(true)),
                (true, Some(b'(')) => Value::Inner(self.inner_list()?),
                (true, _) => Value::Item(self.bare()?),
            };
            let params = self.params()?;
            let raw = self.text.get(start..self.pos)?.to_string();
            Some((value, params, raw))
        }
    }

    /// Parses a dictionary; None on any syntax error. Members keep their order.
    pub fn dictionary(text: &str) -> Option<Vec<Member>> {
        let mut cursor = Cursor::new(text);
        let mut members = Vec::new();
        cursor.skip_sp();
        if cursor.at_end() {
            return Some(members);
        }
        loop {
            let key = cursor.key()?;
            let (value, params, raw) = cursor.member_value()?;
            members.push(Member {
                key,
                value,
                params,
                raw,
            });
            cursor.skip_ows();
            if cursor.at_end() {
                return Some(members);
            }
            if !cursor.eat(b',') {
                return None;
            }
            cursor.skip_ows();
            if cursor.at_end() {
                return None;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::fmt::Debug;

    const KEY_A: &[u8] = include_bytes!("../tests/fixtures/sig/key-a.pk8.der");
    const KEY_A_PEM: &str = include_str!("../tests/fixtures/sig/key-a.pub.pem");
    const KEY_A_PKCS1_PEM: &str = include_str!("../tests/fixtures/sig/key-a.pub-pkcs1.pem");
    const KEY_A_PRIVATE_PEM: &str = include_str!("../tests/fixtures/sig/key-a.pem");
    const KEY_B: &[u8] = include_bytes!("../tests/fixtures/sig/key-b.pk8.der");
    const KEY_B_PEM: &str = include_str!("../tests/fixtures/sig/key-b.pub.pem");
    const FOLLOW: &[u8] = include_bytes!("../tests/fixtures/sig/follow.json");
    const EC_PEM: &str = "-----BEGIN PUBLIC KEY-----\n\
        MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAEI3gR5NPp2cmHfmm8yFd/HwcNlw6Y\n\
        6c0qsJnWRjhcpjjDNdU9aq+AEOD6dB8q4G5Ua6/h0TqBmVnLyAgcME+kFQ==\n\
        -----END PUBLIC KEY-----\n";

    /// Mastodon's frozen test clock: 2023-12-20T10:00:00Z.
    const NOW: i64 = 1_703_066_400;
    const DATE: &str = "Wed, 20 Dec 2023 10:00:00 GMT";
    const BASE: &str = "https://kith.example";
    const DOMAIN: &str = "kith.example";
    const KEY_ID: &str = "https://remote.example/users/alice#main-key";
    const AS_JSON: &str = "application/activity+json";
    const ACCEPT: &str = "application/activity+json, application/ld+json; \
                          profile=\"https://www.w3.org/ns/activitystreams\"";
    const RSA: &str = "algorithm=\"rsa-sha256\"";
    const POST_NAMES: &str = "(request-target) host date digest content-type";
    const GET_NAMES: &str = "(request-target) host date accept";

    // Fixed vectors. The signatures were made with openssl over the literal strings
    // (tests/fixtures/sig/README.md); `sign`/`sign_rfc9421` must reproduce them.
    const FOLLOW_DIGEST: &str = "SHA-256=4dt2XNkVzley0++xPAA//XBFGWmq0lL+OuMs/TNlZM0=";
    const FOLLOW_CONTENT_DIGEST: &str = "sha-256=:4dt2XNkVzley0++xPAA//XBFGWmq0lL+OuMs/TNlZM0=:";
    const TAMPERED: &[u8] = br#"{"type":"Delete"}"#;
    const TAMPERED_SHA256: &str = "lqsWV57xmJLjwQbcsLXkzEAqm9K5zcsta46mRSQh6JQ=";
    const EMPTY_SHA256: &str = "47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=";
    const POST_STRING: &str = "(request-target): post /users/me/inbox\n\
        host: kith.example\n\
        date: Wed, 20 Dec 2023 10:00:00 GMT\n\
        digest: SHA-256=4dt2XNkVzley0++xPAA//XBFGWmq0lL+OuMs/TNlZM0=\n\
        content-type: application/activity+json";
    const POST_SIGNATURE: &str = "VfY1NDELGqoIhqXc0BR/KDoyO9gvk4FJQ6OMEW5ugGbL3jtMqx1b8AhKTROWNlhI\
        hM82xFePjJiCejVVFMZH/KHAlpukg3qMBgnLgUGUq5fFcGaV3uaNR8bHF5f9QqR5wR7IcFBFwNKK8WHGeMlPL7kEz/YW\
        KNOISaWRrWDE2EMrOFddUXCv/zDDzcwRurCifzQmZS5peLKJaAs4MazfQq70E0bTnEbyE0IMN+F4tfsmWquljn1sMQG2\
        cI6iEJbJ6Ri0kJI2mgzrDmi3V5OB7odmfCoCuTNwGUCzJuBXWjQVej9p5S3fddbP+ex9j2AUCPxzeH8gUn+8Bv1vTehR\
        TQ==";
    const GET_STRING: &str = "(request-target): get /users/me/outbox?page=true\n\
        host: kith.example\n\
        date: Wed, 20 Dec 2023 10:00:00 GMT\n\
        accept: application/activity+json, application/ld+json; \
        profile=\"https://www.w3.org/ns/activitystreams\"";
    const GET_SIGNATURE: &str = "FeC1aUeYhLig/wP65ndyzgVaDI4Fzqy+3zmXrM8cS1as/lsC1nFe2jso0Knf+9Ay\
        TB6KcLDlupbRZxswtnDdChZz1NuEjpnby8wYKnkds/uZc5dAKvXAygukOYkfWagFT+rnKBq4NjtOBE/xAGtAAcmpgmMw\
        oyaKAkYGJR0ZiCfbSseiCGiDflBECpGVP2h1ZIaP7eUKvkdX3/4DwUNrsMO+lUH/1vUYRJnj/YJ6v0CCiv1bUYRVVT26\
        /2gtPIc8hEcmla/JVGDar9bQxeRGYGCwiVazyrgkz9yAzEQdzDe1MomlfwvTe8WORvWa5OS287Q9eOtULgDXBlwmhX0E\
        UQ==";
    const RFC_INPUT: &str = "(\"@method\" \"@target-uri\" \"content-digest\");created=1703066400;\
        keyid=\"https://remote.example/users/alice#main-key\";alg=\"rsa-v1_5-sha256\"";
    const RFC_BASE: &str = "\"@method\": POST\n\
        \"@target-uri\": https://kith.example/users/me/inbox\n\
        \"content-digest\": sha-256=:4dt2XNkVzley0++xPAA//XBFGWmq0lL+OuMs/TNlZM0=:\n\
        \"@signature-params\": (\"@method\" \"@target-uri\" \"content-digest\");created=1703066400;\
        keyid=\"https://remote.example/users/alice#main-key\";alg=\"rsa-v1_5-sha256\"";
    const RFC_SIGNATURE: &str = "DgLfG6y8srT9SEV3HMtFzR3F0pbV4Gm4Jy4YhU/X88O/T8GfqWGe/Ivnwvn9S/0U\
        vx6tvW6vwzcqUcrWC8w9Cyzyqz4ljP4PDfAIbQyoQZsOJngKm6s6ZaccuDFLSbDZ+scqguw9iq8+hXGR2HhemOb6XCHr\
        7zDu1DJShh1Ei59R75OC8VO00iadqYc4I6MA82Sqc7czGhMG9bQrYuQZxxcUtBn69Nqq4lW2LUtS4vNmr7Ey37/c35uP\
        7FNaDxp9VU71GseMRPeRsfnBZjkhQOhuup1K3+qTXB+zKrzn29iSOGydCA7rl+MTfNSBel4ZM0Pyv0KTbdIjM9QozlVa\
        uw==";

    /// An owned incoming request.
    #[derive(Clone, Debug)]
    struct Req {
        method: String,
        path: String,
        query: String,
        headers: Vec<(String, String)>,
        body: Vec<u8>,
    }

    impl Req {
        fn new(method: &str, target: &str) -> Req {
            Req {
                method: method.into(),
                path: String::new(),
                query: String::new(),
                headers: Vec::new(),
                body: Vec::new(),
            }
            .at(target)
        }

        /// The same request sent to another path and query.
        fn at(mut self, target: &str) -> Req {
            let (path, query) = target.split_once('?').unwrap_or((target, ""));
            (self.path, self.query) = (path.into(), query.into());
            self
        }

        /// The same request with another method.
        fn method(mut self, method: &str) -> Req {
            self.method = method.into();
            self
        }

        /// Replaces every `name` header by one with `value`.
        fn with(self, name: &str, value: &str) -> Req {
            let mut req = self.without(name);
            req.headers.push((name.to_ascii_lowercase(), value.into()));
            req
        }

        /// Adds one more `name` header line.
        fn also(mut self, name: &str, value: &str) -> Req {
            self.headers.push((name.to_ascii_lowercase(), value.into()));
            self
        }

        fn without(mut self, name: &str) -> Req {
            self.headers.retain(|(n, _)| !n.eq_ignore_ascii_case(name));
            self
        }

        fn body(mut self, body: &[u8]) -> Req {
            self.body = body.to_vec();
            self
        }

        fn value(&self, name: &str) -> &str {
            let found = self.headers.iter().find(|(n, _)| n == name);
            &found.unwrap_or_else(|| panic!("no {name} header")).1
        }

        /// Every `name` header value, joined as draft-cavage says.
        fn joined(&self, name: &str) -> String {
            let values: Vec<&str> = self
                .headers
                .iter()
                .filter(|(n, _)| n == name)
                .map(|(_, v)| v.as_str())
                .collect();
            assert!(!values.is_empty(), "no {name} header");
            values.join(", ")
        }

        fn incoming(&self) -> Incoming<'_> {
            Incoming {
                method: &self.method,
                path: &self.path,
                query: &self.query,
                headers: &self.headers,
                body: &self.body,
            }
        }

        fn check(&self, now: i64) -> Result<Checked> {
            check(&self.incoming(), BASE, DOMAIN, now)
        }

        /// check + verify with key A's public key.
        fn run(&self, now: i64) -> Result<()> {
            verify(&self.check(now)?, KEY_A_PEM)
        }
    }

    fn key(der: &[u8]) -> RsaKeyPair {
        crate::keys::load(der).unwrap()
    }

    /// Base64 RSA-SHA256 signature of `text`, made with ring directly.
    fn ring_sign(der: &[u8], text: &str) -> String {
        let pair = key(der);
        let mut out = vec![0; pair.public().modulus_len()];
        let rng = ring::rand::SystemRandom::new();
        pair.sign(&RSA_PKCS1_SHA256, &rng, text.as_bytes(), &mut out)
            .unwrap();
        STANDARD.encode(out)
    }

    /// The test's own draft-cavage signer (independent of the module's string builder):
    /// signs `names` of `req` with key A; `params` (e.g. `algorithm="hs2019",created=1`)
    /// go first in the header and feed the `(created)`/`(expires)` lines.
    fn cavage(req: Req, names: &str, params: &str) -> Req {
        cavage_with(req, KEY_A, names, params)
    }

    fn cavage_with(req: Req, der: &[u8], names: &str, params: &str) -> Req {
        let param = |name: &str| {
            let prefix = format!("{name}=");
            let found = params.split(',').find_map(|p| p.strip_prefix(&prefix));
            found.unwrap().trim_matches('"').to_string()
        };
        let lines: Vec<String> = names
            .split(' ')
            .map(|name| {
                let value = match name {
                    "(request-target)" => {
                        let query = if req.query.is_empty() { "" } else { "?" };
                        let method = req.method.to_ascii_lowercase();
                        format!("{method} {}{query}{}", req.path, req.query)
                    }
                    "(created)" => param("created"),
                    "(expires)" => param("expires"),
                    header => req.joined(header),
                };
                format!("{name}: {value}")
            })
            .collect();
        let signature = ring_sign(der, &lines.join("\n"));
        let mut value = format!("keyId=\"{KEY_ID}\",headers=\"{names}\",signature=\"{signature}\"");
        if !params.is_empty() {
            value = format!("{params},{value}");
        }
        req.with("signature", &value)
    }

    fn post_at(date: &str) -> Req {
        Req::new("POST", "/users/me/inbox")
            .with("host", DOMAIN)
            .with("date", date)
            .with("digest", FOLLOW_DIGEST)
            .with("content-type", AS_JSON)
            .body(FOLLOW)
    }

    fn get_at(date: &str) -> Req {
        Req::new("GET", "/users/me/outbox?page=true")
            .with("host", DOMAIN)
            .with("date", date)
            .with("accept", ACCEPT)
    }

    fn signed_post() -> Req {
        cavage(post_at(DATE), POST_NAMES, RSA)
    }

    fn signed_get() -> Req {
        cavage(get_at(DATE), GET_NAMES, RSA)
    }

    /// The HTTP date `offset` seconds from NOW.
    fn date(offset: i64) -> String {
        http_date(NOW + offset)
    }

    fn hs2019(created: i64) -> String {
        format!("algorithm=\"hs2019\",created={created}")
    }

    fn failed(scheme: &str) -> String {
        format!("Verification failed for {KEY_ID} using {scheme} (RSASSA-PKCS1-v1_5 with SHA-256)")
    }

    /// Asserts one table row: `want` empty means accepted, else 401 with exactly `want`.
    fn assert_row<T: Debug>(case: &str, got: Result<T>, want: &str) {
        match got {
            Ok(_) if want.is_empty() => {}
            Ok(v) => panic!("{case}: accepted ({v:?}), wanted 401 {want:?}"),
            Err(e) => {
                assert!(
                    !want.is_empty(),
                    "{case}: rejected with {e}, wanted accepted"
                );
                assert_eq!(e.status(), 401, "{case}");
                assert_eq!(e.public_message(), want, "{case}");
            }
        }
    }

    fn outgoing<'a>(method: &'a str, url: &'a url::Url, body: Option<&'a [u8]>) -> Outgoing<'a> {
        let post = method == "POST";
        Outgoing {
            method,
            url,
            accept: (!post).then_some(ACCEPT),
            content_type: post.then_some(AS_JSON),
            body,
        }
    }

    /// The request a peer receives from `sign`/`sign_rfc9421` output.
    fn received(method: &str, url: &url::Url, signed: &[(String, String)], body: &[u8]) -> Req {
        let target = match url.query() {
            Some(q) => format!("{}?{q}", url.path()),
            None => url.path().to_string(),
        };
        let mut req = Req::new(method, &target).body(body);
        for (name, value) in signed {
            req = req.also(name, value);
        }
        if method == "POST" {
            req.with("content-type", AS_JSON)
        } else {
            req.with("accept", ACCEPT)
        }
    }

    fn url(s: &str) -> url::Url {
        url::Url::parse(s).unwrap()
    }

    fn pairs(list: &[(&str, &str)]) -> Vec<(String, String)> {
        list.iter()
            .map(|(n, v)| (n.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn fixed_cavage_post_vector_is_reproduced_and_verified() {
        let target = url("https://kith.example/users/me/inbox");
        let signed = sign(
            &key(KEY_A),
            KEY_ID,
            &outgoing("POST", &target, Some(FOLLOW)),
            NOW,
        );
        let signature = format!(
            "keyId=\"{KEY_ID}\",algorithm=\"rsa-sha256\",\
             headers=\"{POST_NAMES}\",signature=\"{POST_SIGNATURE}\""
        );
        let want = [
            ("Host", DOMAIN),
            ("Date", DATE),
            ("Digest", FOLLOW_DIGEST),
            ("Signature", &signature),
        ];
        assert_eq!(signed, pairs(&want));
        // The literal request, as a peer would send it.
        let literal = post_at(DATE).with("signature", &signature);
        let checked = literal.check(NOW).unwrap();
        assert_eq!(checked.scheme, Scheme::Cavage);
        assert_eq!(checked.key_id, KEY_ID);
        assert_eq!(checked.bases, vec![POST_STRING.as_bytes().to_vec()]);
        verify(&checked, KEY_A_PEM).unwrap();
        // The test's own signer agrees too.
        let own = signed_post();
        assert!(
            own.value("signature")
                .ends_with(&format!("signature=\"{POST_SIGNATURE}\""))
        );
        received("POST", &target, &signed, FOLLOW).run(NOW).unwrap();
    }

    #[test]
    fn fixed_cavage_get_vector_is_reproduced_and_verified() {
        let target = url("https://kith.example/users/me/outbox?page=true");
        let signed = sign(&key(KEY_A), KEY_ID, &outgoing("GET", &target, None), NOW);
        let signature = format!(
            "keyId=\"{KEY_ID}\",algorithm=\"rsa-sha256\",\
             headers=\"{GET_NAMES}\",signature=\"{GET_SIGNATURE}\""
        );
        let want = [("Host", DOMAIN), ("Date", DATE), ("Signature", &signature)];
        assert_eq!(signed, pairs(&want));
        let literal = get_at(DATE).with("signature", &signature);
        let checked = literal.check(NOW).unwrap();
        assert_eq!(checked.bases[0], GET_STRING.as_bytes());
        assert_eq!(
            checked.bases[1],
            GET_STRING.replace("?page=true", "").as_bytes(),
            "second try: without the query"
        );
        verify(&checked, KEY_A_PEM).unwrap();
        verify(&checked, KEY_A_PKCS1_PEM).unwrap();
        received("GET", &target, &signed, b"").run(NOW).unwrap();
    }

    #[test]
    fn fixed_rfc9421_vector_is_reproduced_and_verified() {
        let target = url("https://kith.example/users/me/inbox");
        let post = outgoing("POST", &target, Some(FOLLOW));
        let signed = sign_rfc9421(&key(KEY_A), KEY_ID, &post, NOW);
        let input = format!("sig1={RFC_INPUT}");
        let signature = format!("sig1=:{RFC_SIGNATURE}:");
        let want = [
            ("Host", DOMAIN),
            ("Date", DATE),
            ("Content-Digest", FOLLOW_CONTENT_DIGEST),
            ("Signature-Input", &input),
            ("Signature", &signature),
        ];
        assert_eq!(signed, pairs(&want));
        let literal = Req::new("POST", "/users/me/inbox")
            .with("host", DOMAIN)
            .with("content-type", AS_JSON)
            .with("content-digest", FOLLOW_CONTENT_DIGEST)
            .with("signature-input", &input)
            .with("signature", &signature)
            .body(FOLLOW);
        let checked = literal.check(NOW).unwrap();
        assert_eq!(checked.scheme, Scheme::Rfc9421);
        assert_eq!(checked.key_id, KEY_ID);
        assert_eq!(checked.bases, vec![RFC_BASE.as_bytes().to_vec()]);
        verify(&checked, KEY_A_PEM).unwrap();
        let own = rfc9421(rfc_post(), &RFC_COMPONENTS, &rfc_params(NOW));
        assert_eq!(own.value("signature-input"), input);
        assert_eq!(own.value("signature"), signature);
        received("POST", &target, &signed, FOLLOW).run(NOW).unwrap();
    }

    #[test]
    fn sec_01_to_12_group_a() {
        let failed = failed("rsa-sha256");
        let post = || post_at(DATE);
        let junk = |value: &str| post().with("signature", value);
        let sig = "signature=\"dGVzdA==\"";
        let key_id = format!("keyId=\"{KEY_ID}\"");
        let created_names = "(request-target) host (created) digest content-type";
        let expires_names = "(request-target) host (created) (expires) digest content-type";
        let expiring = |created: i64, expires: i64| {
            let params = format!("{},expires={expires}", hs2019(created));
            cavage(post(), expires_names, &params)
        };
        let lower = format!("sha-256={}", &FOLLOW_DIGEST[8..]);
        let several = format!("SHA-512=AAAA, {FOLLOW_DIGEST}");
        let wrong_then_right = format!("SHA-256={TAMPERED_SHA256},{FOLLOW_DIGEST}");
        let tampered_message = format!(
            "Invalid Digest value. Computed SHA-256 digest: {TAMPERED_SHA256}; given: {}",
            &FOLLOW_DIGEST[8..]
        );
        let get_no_query = cavage(get_at(DATE).at("/users/me/outbox"), GET_NAMES, RSA);
        let rows: Vec<(&str, Req, &str)> = vec![
            ("sec_01 POST without Signature", post(), NOT_SIGNED),
            ("sec_01 GET without Signature", get_at(DATE), NOT_SIGNED),
            (
                "sec_02 unquoted URL",
                junk("keyId=https://x/a,signature=\"x\""),
                PARSE_ERROR,
            ),
            (
                "sec_02 unterminated quote",
                junk("keyId=\"abc,signature=\"x\""),
                PARSE_ERROR,
            ),
            (
                "sec_02 trailing comma",
                junk(&format!("{key_id},{sig},")),
                PARSE_ERROR,
            ),
            (
                "sec_02 missing comma",
                junk(&format!("{key_id} {sig}")),
                PARSE_ERROR,
            ),
            ("sec_02 junk", junk("garbage"), PARSE_ERROR),
            ("sec_02 empty header", junk(""), PARSE_ERROR),
            (
                "sec_02 repeated keyId",
                junk(&format!("{key_id},{key_id},{sig}")),
                PARSE_ERROR,
            ),
            (
                "sec_02 control byte",
                junk(&format!("keyId=\"a\u{1}\",{sig}")),
                PARSE_ERROR,
            ),
            (
                "sec_02 no value",
                junk(&format!("keyId=,{sig}")),
                PARSE_ERROR,
            ),
            (
                "sec_03 no keyId",
                junk(&format!("{RSA},{sig}")),
                INCOMPATIBLE,
            ),
            (
                "sec_03 no signature",
                junk(&format!("{key_id},{RSA}")),
                INCOMPATIBLE,
            ),
            (
                "sec_03 empty keyId",
                junk(&format!("keyId=\"\",{sig}")),
                INCOMPATIBLE,
            ),
            (
                "sec_03 empty signature",
                junk(&format!("{key_id},signature=\"\"")),
                INCOMPATIBLE,
            ),
            (
                "sec_04 rsa-sha512",
                cavage(post(), POST_NAMES, "algorithm=\"rsa-sha512\""),
                ALGORITHM,
            ),
            (
                "sec_04 ed25519",
                cavage(post(), POST_NAMES, "algorithm=\"ed25519\""),
                ALGORITHM,
            ),
            (
                "sec_04 hmac-sha256",
                cavage(post(), POST_NAMES, "algorithm=\"hmac-sha256\""),
                ALGORITHM,
            ),
            (
                "sec_04 RSA-SHA256 upper case",
                cavage(post(), POST_NAMES, "algorithm=\"RSA-SHA256\""),
                "",
            ),
            (
                "sec_04 HS2019 upper case",
                cavage(post(), POST_NAMES, "algorithm=\"HS2019\""),
                "",
            ),
            ("sec_04 no algorithm", cavage(post(), POST_NAMES, ""), ""),
            (
                "sec_05 neither date nor (created)",
                cavage(post(), "(request-target) host digest content-type", RSA),
                "kith requires the Date header or (created) pseudo-header to be signed",
            ),
            (
                "sec_05 no headers parameter: only date is signed",
                junk(&format!("{key_id},{RSA},{sig}")),
                "kith requires the (request-target) pseudo-header to be signed",
            ),
            (
                "sec_05 (request-target) not signed",
                cavage(post(), "host date digest content-type", RSA),
                "kith requires the (request-target) pseudo-header to be signed",
            ),
            (
                "sec_06 POST without digest signed",
                cavage(post(), "(request-target) host date content-type", RSA),
                "kith requires the Digest header to be signed when doing a POST request",
            ),
            (
                "sec_07 body tampered",
                signed_post().body(TAMPERED),
                &tampered_message,
            ),
            (
                "sec_07 body and Digest both replaced",
                signed_post()
                    .body(TAMPERED)
                    .with("digest", &format!("SHA-256={TAMPERED_SHA256}")),
                &failed,
            ),
            (
                "sec_08 Digest not base64",
                signed_post().with("digest", "SHA-256=not base64!"),
                "Invalid Digest value. The provided Digest value is not a valid base64 string. \
                 Given digest: not base64!",
            ),
            (
                "sec_08 Digest not 32 bytes",
                signed_post().with("digest", "SHA-256=AAAA"),
                "Invalid Digest value. The provided Digest value is not a SHA-256 digest. \
                 Given digest: AAAA",
            ),
            (
                "sec_08 no SHA-256 entry",
                signed_post().with("digest", "SHA-512=AAAA, MD5=AAAA"),
                "Only SHA-256 is supported in the Digest header. Offered algorithms: SHA-512, MD5",
            ),
            (
                "sec_08 entry without =",
                signed_post().with("digest", "SHA-256"),
                "Invalid Digest header",
            ),
            (
                "sec_08 Digest header missing",
                signed_post().without("digest"),
                "Digest header missing",
            ),
            (
                "sec_08 lower-case sha-256",
                cavage(post().with("digest", &lower), POST_NAMES, RSA),
                "",
            ),
            (
                "sec_08 several algorithms",
                cavage(post().with("digest", &several), POST_NAMES, RSA),
                "",
            ),
            (
                "sec_08 a wrong SHA-256 entry beside the right one",
                cavage(post().with("digest", &wrong_then_right), POST_NAMES, RSA),
                "",
            ),
            (
                "sec_09 Date now-65min",
                cavage(post_at(&date(-3900)), POST_NAMES, RSA),
                "",
            ),
            (
                "sec_09 Date now-65min-1s",
                cavage(post_at(&date(-3901)), POST_NAMES, RSA),
                WINDOW,
            ),
            (
                "sec_09 created now-65min",
                cavage(post(), created_names, &hs2019(NOW - 3900)),
                "",
            ),
            (
                "sec_09 created now-65min-1s",
                cavage(post(), created_names, &hs2019(NOW - 3901)),
                WINDOW,
            ),
            (
                "sec_09 signed expires, last second",
                expiring(NOW - 4 * 3600, NOW - 3600),
                "",
            ),
            (
                "sec_09 signed expires, 1s late",
                expiring(NOW - 4 * 3600, NOW - 3601),
                WINDOW,
            ),
            (
                "sec_09 expires capped at 12h",
                expiring(NOW - 13 * 3600, NOW + 86400),
                "",
            ),
            (
                "sec_09 expires capped, 1s late",
                expiring(NOW - 13 * 3600 - 1, NOW + 86400),
                WINDOW,
            ),
            (
                "sec_09 unsigned expires is ignored",
                cavage(
                    post_at(&date(-3901)),
                    POST_NAMES,
                    &format!("{RSA},expires={}", NOW + 86400),
                ),
                WINDOW,
            ),
            (
                "sec_09 unsigned created is ignored",
                cavage(post_at(&date(-3901)), POST_NAMES, &hs2019(NOW)),
                WINDOW,
            ),
            (
                "sec_09 (created) with rsa-sha256",
                cavage(post(), created_names, &format!("{RSA},created={NOW}")),
                "Invalid pseudo-header (created) for rsa-sha256",
            ),
            (
                "sec_09 (created) signed without a created parameter",
                junk(&format!(
                    "{key_id},algorithm=\"hs2019\",headers=\"{created_names}\",{sig}"
                )),
                "Invalid (created) signature parameter",
            ),
            (
                "sec_10 Date unparsable",
                cavage(post_at("yesterday"), POST_NAMES, RSA),
                INVALID_DATE,
            ),
            (
                "sec_10 Date missing",
                signed_post().without("date"),
                INVALID_DATE,
            ),
            (
                "sec_10 Date now+60min",
                cavage(post_at(&date(3600)), POST_NAMES, RSA),
                "",
            ),
            (
                "sec_10 Date now+60min+1s",
                cavage(post_at(&date(3601)), POST_NAMES, RSA),
                WINDOW,
            ),
            (
                "sec_10 created now+60min",
                cavage(post(), created_names, &hs2019(NOW + 3600)),
                "",
            ),
            (
                "sec_10 created now+60min+1s",
                cavage(post(), created_names, &hs2019(NOW + 3601)),
                WINDOW,
            ),
            ("sec_11 another path", signed_post().at("/inbox"), &failed),
            (
                "sec_11 POST replayed as PUT",
                signed_post().method("PUT"),
                &failed,
            ),
            (
                "sec_11 GET replayed as HEAD",
                signed_get().method("HEAD"),
                &failed,
            ),
            (
                "sec_11 signed without the query",
                get_no_query.clone().at("/users/me/outbox?page=true"),
                "",
            ),
            (
                "sec_11 a different query",
                signed_get().at("/users/me/outbox?page=false"),
                &failed,
            ),
            (
                "sec_11 signed without the query, any query",
                get_no_query.at("/users/me/outbox?x=1"),
                "",
            ),
            (
                "sec_11 the query dropped",
                signed_get().at("/users/me/outbox"),
                &failed,
            ),
            (
                "sec_11 signed by another key",
                cavage_with(post(), KEY_B, POST_NAMES, RSA),
                &failed,
            ),
            (
                "sec_11 signature not base64",
                junk(&format!(
                    "{key_id},{RSA},headers=\"{POST_NAMES}\",signature=\"@@\""
                )),
                "Invalid signature: not base64",
            ),
            (
                "sec_12 GET without host signed",
                cavage(get_at(DATE), "(request-target) date accept", RSA),
                "kith requires the Host header to be signed when doing a GET request",
            ),
            (
                "sec_12 Host names another server",
                cavage(get_at(DATE).with("host", "evil.example"), GET_NAMES, RSA),
                WRONG_HOST,
            ),
            (
                "sec_12 signed Host missing",
                signed_get().without("host"),
                WRONG_HOST,
            ),
            (
                "sec_12 Host compared case-insensitively",
                cavage(get_at(DATE).with("host", "Kith.Example"), GET_NAMES, RSA),
                "",
            ),
        ];
        for (case, req, want) in &rows {
            assert_row(case, req.run(NOW), want);
        }
    }

    const RFC_COMPONENTS: [&str; 3] = ["@method", "@target-uri", "content-digest"];

    fn rfc_params(created: i64) -> String {
        format!(";created={created};keyid=\"{KEY_ID}\";alg=\"rsa-v1_5-sha256\"")
    }

    fn rfc_post() -> Req {
        Req::new("POST", "/users/me/inbox")
            .with("host", DOMAIN)
            .with("content-type", AS_JSON)
            .with("content-digest", FOLLOW_CONTENT_DIGEST)
            .body(FOLLOW)
    }

    fn rfc_get() -> Req {
        Req::new("GET", "/users/me/outbox?page=true")
            .with("host", DOMAIN)
            .with("accept", ACCEPT)
    }

    /// The test's own RFC 9421 signer (label sig1, key A): covers `components` of `req`,
    /// with `params` (";created=…;keyid=…") after the inner list.
    fn rfc9421(req: Req, components: &[&str], params: &str) -> Req {
        let quoted: Vec<String> = components.iter().map(|c| format!("\"{c}\"")).collect();
        let signature_params = format!("({}){params}", quoted.join(" "));
        let query = if req.query.is_empty() {
            String::new()
        } else {
            format!("?{}", req.query)
        };
        let mut base = String::new();
        for component in components {
            let value = match *component {
                "@method" => req.method.clone(),
                "@target-uri" => format!("{BASE}{}{query}", req.path),
                "@authority" => DOMAIN.to_string(),
                "@scheme" => "https".to_string(),
                "@path" => req.path.clone(),
                "@query" => format!("?{}", req.query),
                "@request-target" => format!("{}{query}", req.path),
                derived if derived.starts_with('@') => "unknown".to_string(),
                header => req.value(header).to_string(),
            };
            base.push_str(&format!("\"{component}\": {value}\n"));
        }
        base.push_str(&format!("\"@signature-params\": {signature_params}"));
        let signature = ring_sign(KEY_A, &base);
        req.with("signature-input", &format!("sig1={signature_params}"))
            .with("signature", &format!("sig1=:{signature}:"))
    }

    #[test]
    fn rfc9421_cases() {
        let failed = failed("rsa-v1_5-sha256");
        let post = |params: &str| rfc9421(rfc_post(), &RFC_COMPONENTS, params);
        let get = |components: &[&str]| rfc9421(rfc_get(), components, &rfc_params(NOW));
        let good = || post(&rfc_params(NOW));
        let key_id = format!("keyid=\"{KEY_ID}\"");
        let input = good().value("signature-input").to_string();
        let second = input.replace("sig1=", "sig2=");
        let signature = good().value("signature").to_string();
        let expiring = |created: i64, expires: i64| {
            post(&format!("{};expires={expires}", rfc_params(created)))
        };
        let incompatible = |why: &str| format!("{INCOMPATIBLE}: {why}");
        let (need_keyid, other_component) = (
            incompatible("keyid and created are required"),
            incompatible("unsupported covered component"),
        );
        let empty_keyid = incompatible("empty keyid");
        let labels_differ = incompatible("Signature and Signature-Input labels differ");
        let no_signature = incompatible("Signature-Input without Signature");
        let not_bytes = incompatible("the signature is not a byte sequence");
        let not_inner = incompatible("Signature-Input is not an inner list");
        let bad_expires = incompatible("expires is not an integer");
        let tampered = format!(
            "Invalid Content-Digest value. Computed SHA-256 digest: {TAMPERED_SHA256}; given: {}",
            &FOLLOW_CONTENT_DIGEST[9..53]
        );
        let all_derived = [
            "@method",
            "@target-uri",
            "@authority",
            "@scheme",
            "@path",
            "@query",
            "@request-target",
            "accept",
            "host",
        ];
        let rows: Vec<(&str, Req, &str)> = vec![
            ("POST round trip", good(), ""),
            ("GET round trip", get(&["@method", "@target-uri"]), ""),
            ("GET with every derived component", get(&all_derived), ""),
            (
                "no alg parameter",
                post(&format!(";created={NOW};{key_id}")),
                "",
            ),
            (
                "GET with the query dropped",
                get(&["@method", "@target-uri"]).at("/users/me/outbox"),
                &failed,
            ),
            (
                "GET with another query",
                get(&["@method", "@target-uri"]).at("/users/me/outbox?page=2"),
                &failed,
            ),
            ("another path", good().at("/inbox"), &failed),
            (
                "another method",
                get(&["@method", "@target-uri"]).method("HEAD"),
                &failed,
            ),
            (
                "signed by another key",
                good().with("signature", &signature.replace("sig1=:D", "sig1=:E")),
                &failed,
            ),
            (
                "missing created",
                post(&format!(";{key_id};alg=\"rsa-v1_5-sha256\"")),
                &need_keyid,
            ),
            (
                "missing keyid",
                post(&format!(";created={NOW}")),
                &need_keyid,
            ),
            (
                "keyid not a string",
                post(&format!(";created={NOW};keyid=abc")),
                &need_keyid,
            ),
            (
                "created not an integer",
                post(&format!(";created=\"{NOW}\";{key_id}")),
                &need_keyid,
            ),
            (
                "empty keyid",
                post(&format!(";created={NOW};keyid=\"\"")),
                &empty_keyid,
            ),
            (
                "alg rsa-pss-sha512",
                post(&format!(";created={NOW};{key_id};alg=\"rsa-pss-sha512\"")),
                ALGORITHM_9421,
            ),
            (
                "alg ed25519",
                post(&format!(";created={NOW};{key_id};alg=\"ed25519\"")),
                ALGORITHM_9421,
            ),
            (
                "alg as a token",
                post(&format!(";created={NOW};{key_id};alg=rsa")),
                ALGORITHM_9421,
            ),
            (
                "@target-uri not covered",
                rfc9421(
                    rfc_post(),
                    &["@method", "@path", "content-digest"],
                    &rfc_params(NOW),
                ),
                "kith requires the @target-uri component to be signed",
            ),
            (
                "@method not covered",
                rfc9421(
                    rfc_post(),
                    &["@target-uri", "content-digest"],
                    &rfc_params(NOW),
                ),
                "kith requires the @method component to be signed",
            ),
            (
                "content-digest not covered on POST",
                rfc9421(rfc_post(), &["@method", "@target-uri"], &rfc_params(NOW)),
                "kith requires the content-digest component to be signed when doing a POST request",
            ),
            ("body tampered", good().body(TAMPERED), &tampered),
            (
                "body and Content-Digest replaced",
                good()
                    .body(TAMPERED)
                    .with("content-digest", &format!("sha-256=:{TAMPERED_SHA256}:")),
                &failed,
            ),
            (
                "Content-Digest with only sha-512",
                good().with("content-digest", "sha-512=:AAAA:"),
                "Only SHA-256 is supported in the Content-Digest header. Offered algorithms: sha-512",
            ),
            (
                "Content-Digest not a byte sequence",
                good().with("content-digest", "sha-256=abc"),
                "Invalid Content-Digest value. The provided Content-Digest value is not a valid \
                 base64 string. Given digest: abc",
            ),
            (
                "Content-Digest junk",
                good().with("content-digest", "SHA-256=:x:"),
                "Invalid Content-Digest header",
            ),
            (
                "Content-Digest missing",
                good().without("content-digest"),
                "Content-Digest header missing",
            ),
            (
                "several digests",
                rfc9421(
                    rfc_post().with(
                        "content-digest",
                        &format!("sha-512=:AAAA:, {FOLLOW_CONTENT_DIGEST}"),
                    ),
                    &RFC_COMPONENTS,
                    &rfc_params(NOW),
                ),
                "",
            ),
            (
                "two signatures in one header",
                good().with("signature-input", &format!("{input}, {second}")),
                ONE_SIGNATURE,
            ),
            (
                "two Signature-Input lines",
                good().also("signature-input", &second),
                ONE_SIGNATURE,
            ),
            (
                "two Signature values",
                good().also("signature", &signature.replace("sig1=", "sig2=")),
                ONE_SIGNATURE,
            ),
            (
                "empty Signature-Input",
                good().with("signature-input", ""),
                ONE_SIGNATURE,
            ),
            (
                "labels differ",
                good().with("signature", &signature.replace("sig1=", "sig2=")),
                &labels_differ,
            ),
            (
                "Signature-Input without Signature",
                good().without("signature"),
                &no_signature,
            ),
            (
                "signature is a token",
                good().with("signature", "sig1=abc"),
                &not_bytes,
            ),
            (
                "Signature-Input is an item",
                good().with("signature-input", "sig1=\"@method\";created=1"),
                &not_inner,
            ),
            (
                "Signature junk",
                good().with("signature", "sig1=:abc"),
                "Error parsing Signature header",
            ),
            (
                "Signature-Input junk",
                good().with("signature-input", "sig1=(\"@method\""),
                "Error parsing Signature-Input header",
            ),
            (
                "a cavage Signature beside Signature-Input",
                signed_post().with("signature-input", &input),
                "Error parsing Signature header",
            ),
            (
                "component with parameters",
                good().with(
                    "signature-input",
                    &input.replace("\"@method\"", "\"@query-param\";name=\"Pet\""),
                ),
                &other_component,
            ),
            (
                "upper-case component",
                good().with(
                    "signature-input",
                    &input.replace("content-digest", "Content-Digest"),
                ),
                &other_component,
            ),
            (
                "repeated component",
                good().with(
                    "signature-input",
                    &input.replace("\"@target-uri\"", "\"@method\""),
                ),
                &other_component,
            ),
            (
                "@signature-params covered",
                get(&["@method", "@target-uri", "@signature-params"]),
                "Unsupported derived component @signature-params",
            ),
            (
                "unknown derived component",
                get(&["@method", "@target-uri", "@status"]),
                "Unsupported derived component @status",
            ),
            (
                "covered header missing",
                get(&["@method", "@target-uri", "accept"]).without("accept"),
                "Signed header accept is missing from the request",
            ),
            (
                "covered Host names another server",
                rfc9421(
                    rfc_get().with("host", "evil.example"),
                    &["@method", "@target-uri", "host"],
                    &rfc_params(NOW),
                ),
                WRONG_HOST,
            ),
            ("created now-65min", post(&rfc_params(NOW - 3900)), ""),
            (
                "created now-65min-1s",
                post(&rfc_params(NOW - 3901)),
                WINDOW,
            ),
            ("created now+60min", post(&rfc_params(NOW + 3600)), ""),
            (
                "created now+60min+1s",
                post(&rfc_params(NOW + 3601)),
                WINDOW,
            ),
            (
                "expires, last second",
                expiring(NOW - 4 * 3600, NOW - 3600),
                "",
            ),
            (
                "expires, 1s late",
                expiring(NOW - 4 * 3600, NOW - 3601),
                WINDOW,
            ),
            (
                "expires capped at 12h",
                expiring(NOW - 13 * 3600 - 1, NOW + 86400),
                WINDOW,
            ),
            (
                "expires not an integer",
                post(&format!("{};expires=\"soon\"", rfc_params(NOW))),
                &bad_expires,
            ),
        ];
        for (case, req, want) in &rows {
            assert_row(case, req.run(NOW), want);
        }
    }

    #[test]
    fn rfc9421_round_trips_through_sign_rfc9421() {
        let pair = key(KEY_A);
        for target in [
            "https://kith.example/users/me/outbox?page=true",
            "https://kith.example/users/me#frag",
        ] {
            let target = url(target);
            let signed = sign_rfc9421(&pair, KEY_ID, &outgoing("GET", &target, None), NOW);
            let names: Vec<&str> = signed.iter().map(|(n, _)| n.as_str()).collect();
            assert_eq!(names, ["Host", "Date", "Signature-Input", "Signature"]);
            received("GET", &target, &signed, b"").run(NOW).unwrap();
        }
        let local = url("http://localhost:8001/users/me/inbox");
        let signed = sign_rfc9421(&pair, KEY_ID, &outgoing("POST", &local, Some(b"{}")), NOW);
        let req = received("POST", &local, &signed, b"{}");
        let checked = check(
            &req.incoming(),
            "http://localhost:8001",
            "localhost:8001",
            NOW,
        )
        .unwrap();
        verify(&checked, KEY_A_PEM).unwrap();
        assert_eq!(verify(&checked, KEY_B_PEM).unwrap_err().status(), 401);
    }

    /// RFC 9421 Appendix B.2.3 ("Full Coverage"): kith rebuilds its signature base
    /// byte for byte from the RFC's test-request.
    #[test]
    fn rfc9421_appendix_b_2_3_signature_base() {
        let digest = "sha-512=:WZDPaVn/7XgHaAy8pmojAkGWoRx2UFChF41A2svX+TaPm+AbwAgBWnrIiYllu7BNNyealdVLvRwEmTHWXvJwew==:";
        let req = Req::new("POST", "/foo?param=Value&Pet=dog")
            .with("host", "example.com")
            .with("date", "Tue, 20 Apr 2021 02:07:55 GMT")
            .with("content-type", "application/json")
            .with("content-digest", digest)
            .with("content-length", "18")
            .body(br#"{"hello": "world"}"#);
        let input = "sig-b23=(\"date\" \"@method\" \"@path\" \"@query\" \"@authority\" \
                     \"content-type\" \"content-digest\" \"content-length\")\
                     ;created=1618884473;keyid=\"test-key-rsa-pss\"";
        let (parsed, _) = parse_rfc9421(input, "sig-b23=:AAAA:").unwrap();
        let base = rfc9421_base(
            &parsed,
            &req.incoming(),
            "https://example.com",
            "example.com",
        )
        .unwrap();
        let want = format!(
            "\"date\": Tue, 20 Apr 2021 02:07:55 GMT\n\
             \"@method\": POST\n\
             \"@path\": /foo\n\
             \"@query\": ?param=Value&Pet=dog\n\
             \"@authority\": example.com\n\
             \"content-type\": application/json\n\
             \"content-digest\": {digest}\n\
             \"content-length\": 18\n\
             \"@signature-params\": {}",
            &input[8..]
        );
        assert_eq!(String::from_utf8(base).unwrap(), want);
    }

    #[test]
    fn cavage_round_trips_and_peer_styles() {
        let pair = key(KEY_A);
        let inbox = url("https://kith.example/users/me/inbox");
        let signed = sign(
            &pair,
            KEY_ID,
            &outgoing("POST", &inbox, Some(FOLLOW)),
            NOW + 86400,
        );
        assert_ne!(signed[1].1, DATE, "a fresh Date for every attempt");
        received("POST", &inbox, &signed, FOLLOW)
            .run(NOW + 86400)
            .unwrap();
        assert_row(
            "a day-old signature",
            received("POST", &inbox, &signed, FOLLOW).run(NOW + 2 * 86400),
            WINDOW,
        );
        // Host carries the port when it is not the default one.
        let local = url("http://localhost:8001/users/me?x=1");
        let signed = sign(&pair, KEY_ID, &outgoing("GET", &local, None), NOW);
        assert_eq!(
            signed[0],
            ("Host".to_string(), "localhost:8001".to_string())
        );
        let req = received("GET", &local, &signed, b"");
        let checked = check(
            &req.incoming(),
            "http://localhost:8001",
            "localhost:8001",
            NOW,
        )
        .unwrap();
        verify(&checked, KEY_A_PEM).unwrap();
        assert_row("port mismatch", req.check(NOW), WRONG_HOST);
        let default_port = url("https://kith.example:443/users/me");
        let signed = sign(&pair, KEY_ID, &outgoing("GET", &default_port, None), NOW);
        assert_eq!(signed[0].1, DOMAIN);
        // A GET without Accept signs only what it sends.
        let bare = Outgoing {
            method: "GET",
            url: &default_port,
            accept: None,
            content_type: None,
            body: None,
        };
        let signed = sign(&pair, KEY_ID, &bare, NOW);
        assert!(
            signed[2]
                .1
                .contains("headers=\"(request-target) host date\"")
        );
        let spaced = format!(
            "keyId = \"{KEY_ID}\" ,algorithm=\"rsa-sha256\",\theaders =\"{POST_NAMES}\" , signature= \"{POST_SIGNATURE}\""
        );
        let rows: Vec<(&str, Req)> = vec![
            (
                "GoToSocial hs2019",
                cavage(post_at(DATE), POST_NAMES, "algorithm=\"hs2019\""),
            ),
            (
                "snac GET with a signed Digest",
                cavage(
                    get_at(DATE).with("digest", &digest_header(b"")),
                    "(request-target) host digest date",
                    RSA,
                ),
            ),
            (
                "snac GET whose Digest is not of the (empty) body",
                cavage(
                    get_at(DATE).with("digest", FOLLOW_DIGEST),
                    "(request-target) host digest date",
                    RSA,
                ),
            ),
            (
                "pasture POST, lower-case digest",
                cavage(
                    post_at(DATE).with("digest", &format!("sha-256={}", &FOLLOW_DIGEST[8..])),
                    POST_NAMES,
                    RSA,
                ),
            ),
            (
                "extra signed headers",
                cavage(
                    signed_get().with("user-agent", "bovine"),
                    "(request-target) host date accept user-agent",
                    RSA,
                ),
            ),
            (
                "a header sent twice is signed joined",
                cavage(get_at(DATE).also("accept", "text/html"), GET_NAMES, RSA),
            ),
            (
                "old node-http-signature prefix",
                signed_post().with(
                    "signature",
                    &format!("Signature {}", signed_post().value("signature")),
                ),
            ),
            (
                "spaces around = and ,",
                signed_post().with("signature", &spaced),
            ),
        ];
        for (case, req) in &rows {
            assert_row(case, req.run(NOW), "");
        }
        let joined = cavage(get_at(DATE).also("accept", "text/html"), GET_NAMES, RSA)
            .check(NOW)
            .unwrap();
        assert!(
            String::from_utf8_lossy(&joined.bases[0]).ends_with("activitystreams\", text/html")
        );
    }

    #[test]
    fn public_keys_from_pem() {
        let ring_der = key(KEY_A).public().as_ref().to_vec();
        assert_eq!(rsa_public_key_der(KEY_A_PEM).unwrap(), ring_der);
        assert_eq!(rsa_public_key_der(KEY_A_PKCS1_PEM).unwrap(), ring_der);
        assert_eq!(
            rsa_public_key_der(&KEY_A_PEM.replace('\n', "\r\n")).unwrap(),
            ring_der
        );
        let one_line = KEY_A_PEM.replace('\n', " ");
        assert_eq!(rsa_public_key_der(&one_line).unwrap(), ring_der);
        assert_eq!(
            rsa_public_key_der(&format!("  junk before\n{KEY_A_PEM}")).unwrap(),
            ring_der
        );
        assert_ne!(rsa_public_key_der(KEY_B_PEM).unwrap(), ring_der);
        let mut lines: Vec<&str> = KEY_A_PEM.lines().collect();
        lines.remove(lines.len() - 2);
        let truncated = lines.join("\n");
        let mislabelled = KEY_A_PKCS1_PEM.replace("RSA PUBLIC KEY", "PUBLIC KEY");
        // A valid SPKI with a NULL appended inside its outer SEQUENCE.
        let body: String = KEY_A_PEM
            .lines()
            .filter(|l| !l.starts_with("-----"))
            .collect();
        let mut der = STANDARD.decode(body).unwrap();
        assert_eq!(der[..4], [0x30, 0x82, 0x01, 0x22]);
        der[3] += 2;
        der.extend([0x05, 0x00]);
        let trailing = format!(
            "-----BEGIN PUBLIC KEY-----\n{}\n-----END PUBLIC KEY-----\n",
            STANDARD.encode(der)
        );
        let garbage = [
            "",
            "hello",
            "-----BEGIN PUBLIC KEY-----\n!!!!\n-----END PUBLIC KEY-----\n",
            "-----BEGIN PUBLIC KEY-----\nMIIB\n",
            "-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n",
            "-----BEGIN RSA PUBLIC KEY-----\nMAA=\n-----END RSA PUBLIC KEY-----\n",
            KEY_A_PRIVATE_PEM,
            EC_PEM,
            &truncated,
            &mislabelled,
            &trailing,
        ];
        for pem in garbage {
            let err = rsa_public_key_der(pem).unwrap_err();
            assert_eq!(err.status(), 401, "{pem:?}");
            assert_eq!(
                err.public_message(),
                "Invalid public key: expected an RSA public key in PEM"
            );
        }
        let checked = signed_post().check(NOW).unwrap();
        verify(&checked, KEY_A_PKCS1_PEM).unwrap();
        assert_row(
            "EC key",
            verify(&checked, EC_PEM),
            "Invalid public key: expected an RSA public key in PEM",
        );
        assert_row(
            "another key",
            verify(&checked, KEY_B_PEM),
            &failed("rsa-sha256"),
        );
    }

    #[test]
    fn helpers() {
        assert_eq!(digest_header(b""), format!("SHA-256={EMPTY_SHA256}"));
        assert_eq!(digest_header(FOLLOW), FOLLOW_DIGEST);
        assert_eq!(
            content_digest_header(b""),
            format!("sha-256=:{EMPTY_SHA256}:")
        );
        assert_eq!(http_date(NOW), DATE);
        assert_eq!(http_date(-5), "Thu, 01 Jan 1970 00:00:00 GMT");
        assert_eq!(parse_http_date(DATE), Some(NOW));
        assert_eq!(
            parse_http_date("Wednesday, 20-Dec-23 10:00:00 GMT"),
            Some(NOW)
        );
        assert_eq!(parse_http_date("Wed Dec 20 10:00:00 2023"), Some(NOW));
        assert_eq!(parse_http_date("2023-12-20T10:00:00Z"), None);
        let owner = "https://remote.example/users/alice";
        assert_eq!(key_owner_url(KEY_ID), owner);
        assert_eq!(
            key_owner_url("https://REMOTE.example/users/alice#main-key"),
            owner
        );
        assert_eq!(key_owner_url(owner), owner);
        let gts = "https://gts.example/users/bob/main-key";
        assert_eq!(key_owner_url(gts), gts);
        assert_eq!(key_owner_url("not a url#key"), "not a url");
        assert_eq!(parse_seconds("1703066400"), Some(NOW));
        for bad in ["", "-1", "+1", "1.5", "1e3", "1234567890123456"] {
            assert_eq!(parse_seconds(bad), None, "{bad}");
        }
        assert_eq!(quote("a\"b\\c"), "\"a\\\"b\\\\c\"");
        assert!(
            parse_cavage_pairs("a=\"x\\\"y\", b=tok")
                .is_some_and(|p| p[0].1 == "x\"y" && p[1].1 == "tok")
        );
    }

    #[test]
    fn structured_field_dictionaries() {
        use sf::{Bare, Value};
        let members =
            sf::dictionary("a=1, b=\"x\\\"y\";p=?0, c=:AQID:,d, e=(\"x\" tok);q=-2, f=tok/x:y")
                .unwrap();
        let keys: Vec<&str> = members.iter().map(|m| m.key.as_str()).collect();
        assert_eq!(keys, ["a", "b", "c", "d", "e", "f"]);
        assert!(matches!(members[0].value, Value::Item(Bare::Int(1))));
        assert!(matches!(&members[1].value, Value::Item(Bare::Str(s)) if s == "x\"y"));
        assert_eq!(
            members[1].params,
            vec![("p".to_string(), Bare::Bool(false))]
        );
        assert!(matches!(&members[2].value, Value::Item(Bare::Bytes(b)) if b == &[1, 2, 3]));
        assert!(matches!(members[3].value, Value::Item(Bare::Bool(true))));
        assert!(matches!(&members[4].value, Value::Inner(items) if items.len() == 2));
        assert_eq!(members[4].raw, "(\"x\" tok);q=-2");
        assert_eq!(members[4].params, vec![("q".to_string(), Bare::Int(-2))]);
        assert!(matches!(&members[5].value, Value::Item(Bare::Token(t)) if t == "tok/x:y"));
        assert!(sf::dictionary("").unwrap().is_empty());
        assert!(sf::dictionary("s=(  \"a\"   \"b\" )").is_some());
        for bad in [
            "a=1,",
            "A=1",
            "a=(\"x\"\"y\")",
            "a=1.5",
            "a=1;p=1;p=2",
            "a=\"\u{e9}\"",
            "a=\"x\\y\"",
            "a=:AQID",
            "a=?2",
            "a=1 b=2",
            "a=1234567890123456",
            "a=(\"x\"",
        ] {
            assert!(sf::dictionary(bad).is_none(), "{bad}");
        }
    }
}
