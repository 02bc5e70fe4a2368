//! RFC 9421 message signatures in Mastodon's profile: parsing `Signature-Input`
//! and `Signature`, the required components, and the signature base.

use super::*;

/// The one signature of an RFC 9421 request.
pub(super) struct SigInput {
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
pub(super) fn parse_rfc9421(input: &str, signature: &str) -> Result<(SigInput, Vec<u8>)> {
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
pub(super) fn rfc9421_base(
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
pub(super) fn check_rfc9421(
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
