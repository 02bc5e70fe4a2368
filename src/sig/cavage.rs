//! draft-cavage signatures: strict parsing of the `Signature` header, the required
//! coverage, the time window from `Date` or `(created)`, and the signing string.

use super::*;

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

/// Parses `name=value` pairs (value a token or a quoted string) separated by commas;
/// None on any junk or a repeated name. Tolerates the "Signature " prefix some old
/// node-http-signature versions add.
pub(super) fn parse_cavage_pairs(raw: &str) -> Option<Vec<(String, String)>> {
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
pub(super) fn check_cavage(req: &Incoming, raw: &str, domain: &str, now: i64) -> Result<Checked> {
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
