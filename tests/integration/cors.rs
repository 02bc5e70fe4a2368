//! Cross-origin access over real HTTP: preflights on the API, token, discovery and
//! actor paths are answered 204 without a token and without counting against the rate
//! limit; a malformed `Access-Control-Request-Headers` gets 400; answers on those paths
//! (errors, 413 and 429 included) name any origin and expose `Link` and the rate-limit
//! headers, never credentials; the web UI's pages and the authorize page stay
//! same-origin.

use crate::api::{Api, send};

const ORIGIN: &str = "http://127.0.0.2:5173";

fn preflight(api: &Api, path: &str, method: &str, headers: &str) -> crate::api::Got {
    send(
        "OPTIONS",
        &api.url(path),
        &[
            ("Origin", ORIGIN),
            ("Access-Control-Request-Method", method),
            ("Access-Control-Request-Headers", headers),
        ],
        None,
    )
}

fn assert_open(got: &crate::api::Got, what: &str) {
    assert_eq!(
        got.header("access-control-allow-origin"),
        Some("*"),
        "{what}"
    );
    assert_eq!(
        got.header("access-control-expose-headers"),
        Some("Link, X-RateLimit-Limit, X-RateLimit-Remaining, X-RateLimit-Reset"),
        "{what}"
    );
    assert_eq!(
        got.header("access-control-allow-credentials"),
        None,
        "{what}"
    );
}

#[test]
fn preflights_are_answered_without_a_token() {
    let a = Api::start("alice");
    for (path, method) in [
        ("/api/v1/timelines/home", "GET"),
        ("/api/v1/statuses", "POST"),
        ("/api/v1/statuses/1", "DELETE"),
        ("/api/v1/accounts/update_credentials", "PATCH"),
        ("/oauth/token", "POST"),
        ("/oauth/revoke", "POST"),
        ("/.well-known/webfinger", "GET"),
        ("/nodeinfo/2.0", "GET"),
        ("/users/alice", "GET"),
        ("/users/alice/statuses/1", "GET"),
    ] {
        let got = preflight(
            &a,
            path,
            method,
            "authorization, content-type, X-Client-Trace",
        );
        assert_eq!(got.status, 204, "{path}: {}", got.body);
        assert_open(&got, path);
        assert_eq!(
            got.header("access-control-allow-methods"),
            Some("GET, POST, PUT, PATCH, DELETE, OPTIONS")
        );
        assert_eq!(
            got.header("access-control-allow-headers"),
            Some("authorization, content-type, idempotency-key, x-client-trace"),
            "{path}"
        );
        assert_eq!(got.header("access-control-max-age"), Some("7200"));
        assert!(got.body.is_empty());
    }
}

#[test]
fn sec_77_malformed_requested_headers_are_refused() {
    let a = Api::start("alice");
    for bad in ["x-a y", "x-a:1", "x-a;b", "x-a/b"] {
        let got = preflight(&a, "/api/v1/statuses", "POST", bad);
        assert_eq!(got.status, 400, "{bad:?}");
        assert!(got.body.contains("Access-Control-Request-Headers"));
        assert_eq!(got.header("access-control-allow-headers"), None);
    }
    let many: Vec<String> = (0..40).map(|i| format!("x-h{i}")).collect();
    let got = preflight(&a, "/api/v1/statuses", "POST", &many.join(", "));
    assert_eq!(got.status, 400);
}

#[test]
fn answers_and_errors_on_open_paths_carry_the_headers() {
    let a = Api::start("alice");
    let client = a.login("read write");
    let anon = a.anon();
    let cases = [
        ("instance", anon.get("/api/v1/instance"), 200),
        ("no token", anon.get("/api/v1/timelines/home"), 401),
        ("unknown", anon.get("/api/v1/nowhere"), 404),
        (
            "webfinger",
            anon.get(&format!(
                "/.well-known/webfinger?resource=acct:alice@localhost:{}",
                a.port
            )),
            200,
        ),
        ("nodeinfo", anon.get("/nodeinfo/2.0"), 200),
        (
            "no client",
            anon.post_form("/oauth/token", &[("grant_type", "nonsense")]),
            401,
        ),
        ("home", client.get("/api/v1/timelines/home"), 200),
    ];
    for (what, got, status) in &cases {
        assert_eq!(got.status, *status, "{what}: {}", got.body);
        assert_open(got, what);
    }
    // Exactly one Allow-Origin, even where a handler set one itself.
    let wf = &cases[3].1;
    let n = wf
        .headers
        .iter()
        .filter(|(n, _)| n == "access-control-allow-origin")
        .count();
    assert_eq!(n, 1);
    let actor = send(
        "GET",
        &a.url("/users/alice"),
        &[("Accept", "application/activity+json")],
        None,
    );
    assert_eq!(actor.status, 200);
    assert_open(&actor, "actor");
    let huge = vec![b'a'; 2 * 1024 * 1024];
    let too_big = client.request(
        "POST",
        "/api/v1/statuses",
        &[],
        Some(("application/json", &huge)),
    );
    assert_eq!(too_big.status, 413);
    assert_open(&too_big, "413");
}

#[test]
fn sec_78_web_pages_stay_same_origin() {
    let a = Api::start("alice");
    let anon = a.anon();
    for path in ["/", "/@alice", "/login", "/oauth/authorize?client_id=x"] {
        let got = anon.get(path);
        assert_eq!(
            got.header("access-control-allow-origin"),
            None,
            "{path}: {}",
            got.status
        );
    }
    let got = preflight(&a, "/compose", "POST", "content-type");
    assert_ne!(got.status, 204);
    assert_eq!(got.header("access-control-allow-origin"), None);
    assert_eq!(got.header("access-control-allow-methods"), None);
    let got = preflight(&a, "/oauth/authorize", "POST", "content-type");
    assert_ne!(got.status, 204);
    assert_eq!(got.header("access-control-allow-origin"), None);
}

#[test]
fn preflights_do_not_count_against_the_rate_limit_and_429s_are_readable() {
    let a = Api::start_with("alice", "api_requests = 3\n");
    let anon = a.anon();
    for _ in 0..10 {
        assert_eq!(
            preflight(&a, "/api/v1/instance", "GET", "authorization").status,
            204
        );
    }
    for _ in 0..3 {
        assert_eq!(anon.get("/api/v1/instance").status, 200);
    }
    let limited = anon.get("/api/v1/instance");
    assert_eq!(limited.status, 429);
    assert_open(&limited, "429");
    assert_eq!(limited.header("x-ratelimit-limit"), Some("3"));
    assert_eq!(limited.header("x-ratelimit-remaining"), Some("0"));
    // A preflight still passes while the client is limited.
    assert_eq!(
        preflight(&a, "/api/v1/instance", "GET", "authorization").status,
        204
    );
}
