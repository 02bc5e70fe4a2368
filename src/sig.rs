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

/// SHA-256 digest header value "SHA-256=<base64>" of a body.
pub fn digest_header(body: &[u8]) -> String {
    format!("SHA-256={}", STANDARD.encode(sha256(body)))
}

/// RFC 9530 Content-Digest header value "sha-256=:<base64>:" of a body.
pub fn content_digest_header(body: &[u8]) -> String {
    format!("sha-256=:{}:", STANDARD.encode(sha256(body)))
}

/// The key id without its #fragment, i.e. the actor URL to fetch (FEDERATION.md §4 step 7).
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

/// Signs with draft-cavage rsa-sha256 as Mastodon does. Returns Host, Date, Digest (POST) and Signature headers, in that order.
///
/// POST signs `(request-target) host date digest content-type`, GET signs
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

/// Signs with RFC 9421 rsa-v1_5-sha256 in Mastodon's profile (label `sig1`). Returns Host, Date, Content-Digest (POST), Signature-Input and Signature headers.
///
/// Covers `@method`, `@target-uri` and on POST `content-digest`, with `created`,
/// `keyid` and `alg` parameters. An empty signature means ring failed, as in [`sign`].
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

/// Checks everything that needs no key: scheme detection, strict parsing, algorithm allow-list, required coverage, time window, Digest/Content-Digest.
///
/// `public_base` is kith's configured "scheme://domain"; `domain` is its host[:port].
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
        match digest_problem("Content-Digest", &member.raw, decoded, req.body) {
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

/// Parses a PEM public key to the DER form ring verifies with (PKCS#1 RSAPublicKey), extracting it from SPKI if needed.
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
