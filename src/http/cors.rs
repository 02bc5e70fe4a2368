//! Cross-origin access as Mastodon allows it, so that browser apps on their own
//! origin (Elk, Phanpy) can call the client API: which paths are open to other
//! origins, the headers every answer on them carries, and the answer to a browser's
//! `OPTIONS` preflight. There is no credentials mode: tokens travel in headers, never
//! in cookies, so `*` is the only origin named. The web UI's pages and forms are not
//! opened here; they stay same-origin.

use super::{Req, Resp};

/// The methods a preflight allows.
const METHODS: &str = "GET, POST, PUT, PATCH, DELETE, OPTIONS";
/// The request headers a preflight always allows.
const BASE_HEADERS: [&str; 3] = ["authorization", "content-type", "idempotency-key"];
/// The answer headers a script may read.
const EXPOSE: &str = "Link, X-RateLimit-Limit, X-RateLimit-Remaining, X-RateLimit-Reset";
/// How long a browser may cache a preflight, in seconds (Mastodon's figure).
const MAX_AGE: &str = "7200";
/// Header names a preflight may ask for at once (browsers ask for a handful).
const MAX_REQUESTED: usize = 32;

/// Whether answers on this path are open to other origins: the client API, the token
/// endpoints, discovery, and the actor and its objects. `/oauth/authorize` is a web
/// page and is not.
pub fn applies(path: &str) -> bool {
    path.starts_with("/api/")
        || path == "/oauth/token"
        || path == "/oauth/revoke"
        || path.starts_with("/.well-known/")
        || path.starts_with("/nodeinfo/")
        || path.starts_with("/users/")
}

/// Adds the headers every cross-origin answer carries (error answers and 429s too).
pub fn decorate(mut resp: Resp) -> Resp {
    resp.headers
        .retain(|(n, _)| !n.eq_ignore_ascii_case("access-control-allow-origin"));
    resp.with_header("Access-Control-Allow-Origin", "*")
        .with_header("Access-Control-Expose-Headers", EXPOSE)
}

/// The header names of `Access-Control-Request-Headers`, lower-case; `None` when the
/// value is not a comma-separated list of header names (RFC 9110 tokens).
fn requested_headers(value: &str) -> Option<Vec<String>> {
    let mut names = Vec::new();
    for item in value.split(',') {
        let name = item.trim_matches([' ', '\t']);
        if name.is_empty() {
            continue;
        }
        if !name.bytes().all(is_tchar) {
            return None;
        }
        let name = name.to_ascii_lowercase();
        if !names.contains(&name) {
            names.push(name);
        }
    }
    (names.len() <= MAX_REQUESTED).then_some(names)
}

/// A `tchar` of RFC 9110: the bytes a header name may hold.
fn is_tchar(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b)
}

/// The answer to an `OPTIONS` preflight: 204 with the allowed methods and headers
/// (the usual ones and those the browser asks for), or 400 when it asks for headers
/// in a form that is not a list of names. Needs no token.
pub fn preflight(req: &Req) -> Resp {
    let asked = req.header("access-control-request-headers").unwrap_or("");
    let Some(asked) = requested_headers(asked) else {
        let message = "Access-Control-Request-Headers must be a list of at most 32 header names";
        return decorate(Resp::json(400, &serde_json::json!({ "error": message })));
    };
    let mut allowed: Vec<String> = BASE_HEADERS.iter().map(|h| h.to_string()).collect();
    for name in asked {
        if !allowed.contains(&name) {
            allowed.push(name);
        }
    }
    decorate(Resp::empty(204))
        .with_header("Access-Control-Allow-Methods", METHODS)
        .with_header("Access-Control-Allow-Headers", &allowed.join(", "))
        .with_header("Access-Control-Max-Age", MAX_AGE)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_open_to_other_origins() {
        for p in [
            "/api/v1/timelines/home",
            "/oauth/token",
            "/oauth/revoke",
            "/.well-known/webfinger",
            "/nodeinfo/2.0",
            "/users/alice",
            "/users/alice/statuses/1",
        ] {
            assert!(applies(p), "{p}");
        }
        for p in [
            "/oauth/authorize",
            "/",
            "/compose",
            "/@alice",
            "/apiary",
            "/login",
        ] {
            assert!(!applies(p), "{p}");
        }
    }

    #[test]
    fn requested_header_lists() {
        assert_eq!(
            requested_headers("Authorization, X-Custom,x-custom"),
            Some(vec!["authorization".to_string(), "x-custom".to_string()])
        );
        assert_eq!(requested_headers(""), Some(vec![]));
        assert_eq!(requested_headers("x-a\r\nSet-Cookie: a"), None);
        assert_eq!(requested_headers("x a"), None);
        assert_eq!(requested_headers("x:a"), None);
        let many: Vec<String> = (0..33).map(|i| format!("x-{i}")).collect();
        assert_eq!(requested_headers(&many.join(",")), None);
    }

    #[test]
    fn preflight_answers() {
        let mut req = Req::new("OPTIONS", "/api/v1/statuses");
        req.headers.push((
            "access-control-request-headers".into(),
            "x-csrf, content-type".into(),
        ));
        let resp = preflight(&req);
        assert_eq!(resp.status, 204);
        assert_eq!(resp.header("access-control-allow-origin"), Some("*"));
        assert_eq!(
            resp.header("access-control-allow-headers"),
            Some("authorization, content-type, idempotency-key, x-csrf")
        );
        assert_eq!(resp.header("access-control-allow-credentials"), None);
        req.headers[0].1 = "bad header".into();
        assert_eq!(preflight(&req).status, 400);
    }
}
