//! OAuth over HTTP: app registration (form and JSON, forbidden redirect schemes), the
//! authorize page and its form (redirect and out-of-band), PKCE, the token endpoint
//! for both grants and body formats, revocation, wrong passwords and the login rate
//! limit; then scopes, instance information and the JSON shape of every API error.

use crate::api::*;
use base64::Engine;
use serde_json::json;

#[test]
fn app_registration_form_and_json() {
    let api = Api::start("alice");
    let anon = api.anon();
    // Mastodon.py registers with a form.
    let app = anon
        .post_form(
            "/api/v1/apps",
            &[
                ("client_name", "Mastodon.py app"),
                ("scopes", "read write follow push"),
                ("redirect_uris", "urn:ietf:wg:oauth:2.0:oob"),
                ("website", "https://example.org"),
            ],
        )
        .ok();
    assert_eq!(app["name"], "Mastodon.py app");
    assert_eq!(app["redirect_uri"], "urn:ietf:wg:oauth:2.0:oob");
    assert!(app["id"].as_str().unwrap().parse::<i64>().is_ok());
    assert!(app["client_id"].as_str().unwrap().len() >= 32);
    assert!(app["client_secret"].as_str().unwrap().len() >= 32);
    // toot, masto and megalodon register with JSON; several redirect URIs are fine.
    let app2 = anon
        .post_json(
            "/api/v1/apps",
            &json!({"client_name": "toot - a Mastodon CLI client", "redirect_uris": "urn:ietf:wg:oauth:2.0:oob https://app.example/cb", "scopes": "read write follow"}),
        )
        .ok();
    assert_eq!(
        app2["redirect_uris"],
        json!(["urn:ietf:wg:oauth:2.0:oob", "https://app.example/cb"])
    );
    assert_ne!(app["client_id"], app2["client_id"]);
    assert_eq!(api.count("oauth_apps"), 2);

    // Dangerous redirect schemes and bad input are refused with 422 and store nothing.
    for uri in [
        "javascript:alert(1)",
        "data:text/html,<script>x</script>",
        "vbscript:msgbox",
        "JavaScript:alert(1)",
        "not a url",
    ] {
        anon.post_form(
            "/api/v1/apps",
            &[("client_name", "evil"), ("redirect_uris", uri)],
        )
        .assert_error(422);
        anon.post_json(
            "/api/v1/apps",
            &json!({"client_name": "evil", "redirect_uris": uri}),
        )
        .assert_error(422);
    }
    anon.post_json("/api/v1/apps", &json!({"redirect_uris": REDIRECT}))
        .assert_error(422);
    anon.post_json("/api/v1/apps", &json!({"client_name": "x"}))
        .assert_error(422);
    anon.post_json(
        "/api/v1/apps",
        &json!({"client_name": "x", "redirect_uris": REDIRECT, "scopes": "read sudo"}),
    )
    .assert_error(422);
    anon.post_json(
        "/api/v1/apps",
        &json!({"client_name": ["x"], "redirect_uris": REDIRECT}),
    )
    .assert_error(422);
    assert_eq!(api.count("oauth_apps"), 2, "no refused app was stored");
}

#[test]
fn authorize_page_redirect_and_out_of_band() {
    let api = Api::start("alice");
    let app = register_app(
        &api,
        &format!("urn:ietf:wg:oauth:2.0:oob\n{REDIRECT}"),
        "read write follow",
    );
    let client_id = app["client_id"].as_str().unwrap();

    // Mastodon.py's URL, with its literal False/None values; and toot's trailing slash.
    for path in ["/oauth/authorize", "/oauth/authorize/"] {
        let page = authorize_page(
            &api,
            path,
            &[
                ("client_id", client_id),
                ("response_type", "code"),
                ("redirect_uri", REDIRECT),
                ("scope", "read write"),
                ("force_login", "False"),
                ("state", "None"),
                ("lang", "None"),
            ],
        );
        assert_eq!(page.status, 200, "{path}: {}", page.body);
        assert!(
            page.header("content-type")
                .unwrap()
                .starts_with("text/html")
        );
        assert!(page.body.contains("kith tests"), "the page names the app");
        assert!(page.body.contains("<strong>read</strong>"));
        assert!(page.body.contains("<strong>write</strong>"));
        assert!(!page.body.contains("<strong>follow</strong>"));
        assert!(!page.body.contains("<script"), "no JavaScript needed");
        let fields = form_fields(&page.body);
        assert!(fields.iter().any(|(k, _)| k == "csrf_token"));
        assert!(fields.iter().any(|(k, _)| k == "password"));
    }

    // Redirect with code and state.
    let page = authorize_page(
        &api,
        "/oauth/authorize",
        &[
            ("client_id", client_id),
            ("response_type", "code"),
            ("redirect_uri", REDIRECT),
            ("scope", "read write"),
            ("state", "xyz 123"),
        ],
    );
    let done = submit_authorize(&api, &page, PASSWORD);
    assert_eq!(done.status, 302, "{}", done.body);
    let location = done.header("location").unwrap().to_string();
    assert!(location.starts_with(&format!("{REDIRECT}?")), "{location}");
    assert_eq!(query_param(&location, "state").as_deref(), Some("xyz 123"));
    let code = query_param(&location, "code").unwrap();
    // toot: a form without `scope` gets the scopes approved on the page.
    let token = api
        .anon()
        .post_form(
            "/oauth/token",
            &[
                ("grant_type", "authorization_code"),
                ("code", &code),
                ("client_id", client_id),
                ("client_secret", app["client_secret"].as_str().unwrap()),
                ("redirect_uri", REDIRECT),
            ],
        )
        .ok();
    assert_eq!(token["scope"], "read write");
    assert_eq!(token["token_type"], "Bearer");
    assert!(token["created_at"].as_i64().unwrap() > 1_700_000_000);
    // A code works once.
    api.anon()
        .post_form(
            "/oauth/token",
            &[
                ("grant_type", "authorization_code"),
                ("code", &code),
                ("client_id", client_id),
                ("client_secret", app["client_secret"].as_str().unwrap()),
            ],
        )
        .assert_error(400);

    // Out of band: the code is shown in #authorization-code.
    let page = authorize_page(
        &api,
        "/oauth/authorize",
        &[
            ("client_id", client_id),
            ("response_type", "code"),
            ("redirect_uri", "urn:ietf:wg:oauth:2.0:oob"),
            ("scope", "read write follow"),
        ],
    );
    let done = submit_authorize(&api, &page, PASSWORD);
    assert_eq!(done.status, 200, "{}", done.body);
    let marker = "id=\"authorization-code\">";
    let start = done.body.find(marker).expect("the code element") + marker.len();
    let code = &done.body[start..start + done.body[start..].find('<').unwrap()];
    assert!(code.len() >= 32, "{code}");
    // Mastodon.py: a form with `scope`; the answer covers every requested scope.
    let token = api
        .anon()
        .post_form(
            "/oauth/token",
            &[
                ("grant_type", "authorization_code"),
                ("code", code),
                ("client_id", client_id),
                ("client_secret", app["client_secret"].as_str().unwrap()),
                ("redirect_uri", "urn:ietf:wg:oauth:2.0:oob"),
                ("scope", "read write follow"),
            ],
        )
        .ok();
    assert_eq!(token["scope"], "read write follow");
    let me = api
        .with_token(token["access_token"].as_str().unwrap())
        .get("/api/v1/accounts/verify_credentials")
        .ok();
    assert_eq!(me["username"], "alice");
    assert_eq!(me["id"], "1");

    // Asking for more than the app registered, or a redirect it did not register, is refused.
    let too_much = authorize_page(
        &api,
        "/oauth/authorize",
        &[
            ("client_id", client_id),
            ("redirect_uri", REDIRECT),
            ("scope", "read push"),
        ],
    );
    assert_eq!(too_much.status, 400);
    let elsewhere = authorize_page(
        &api,
        "/oauth/authorize",
        &[
            ("client_id", client_id),
            ("redirect_uri", "https://evil.example/cb"),
        ],
    );
    assert_eq!(elsewhere.status, 400);
    let unknown = authorize_page(&api, "/oauth/authorize", &[("client_id", "nope")]);
    assert_eq!(unknown.status, 401);
}

fn s256(verifier: &str) -> String {
    let digest = ring::digest::digest(&ring::digest::SHA256, verifier.as_bytes());
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(digest.as_ref())
}

#[test]
fn pkce_s256_only() {
    let api = Api::start("alice");
    let app = register_app(&api, REDIRECT, "read");
    let client_id = app["client_id"].as_str().unwrap();
    let secret = app["client_secret"].as_str().unwrap();
    let verifier = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk-kith-tests";
    let code_for = |challenge: &str, method: &str| -> String {
        let page = authorize_page(
            &api,
            "/oauth/authorize",
            &[
                ("client_id", client_id),
                ("redirect_uri", REDIRECT),
                ("response_type", "code"),
                ("code_challenge", challenge),
                ("code_challenge_method", method),
            ],
        );
        let done = submit_authorize(&api, &page, PASSWORD);
        assert_eq!(done.status, 302, "{}", done.body);
        query_param(done.header("location").unwrap(), "code").unwrap()
    };
    let exchange = |code: &str, verifier: Option<&str>| {
        let mut body = json!({"grant_type": "authorization_code", "code": code, "client_id": client_id,
                              "client_secret": secret, "redirect_uri": REDIRECT});
        if let Some(v) = verifier {
            body["code_verifier"] = json!(v);
        }
        api.anon().post_json("/oauth/token", &body)
    };
    let code = code_for(&s256(verifier), "S256");
    exchange(&code, None).assert_error(400);
    let code = code_for(&s256(verifier), "S256");
    exchange(&code, Some("another-verifier-of-enough-length-xxxxxxxxxx")).assert_error(400);
    let code = code_for(&s256(verifier), "S256");
    let token = exchange(&code, Some(verifier)).ok();
    assert_eq!(token["scope"], "read");

    // The plain method is refused on the page itself.
    let plain = authorize_page(
        &api,
        "/oauth/authorize",
        &[
            ("client_id", client_id),
            ("redirect_uri", REDIRECT),
            ("code_challenge", verifier),
            ("code_challenge_method", "plain"),
        ],
    );
    assert_eq!(plain.status, 400);
    assert!(!plain.body.contains("csrf_token"), "no form for plain PKCE");
}

#[test]
fn token_grants_and_revocation() {
    let api = Api::start("alice");
    let app = register_app(&api, REDIRECT, "read write");
    let client_id = app["client_id"].as_str().unwrap();
    let secret = app["client_secret"].as_str().unwrap();

    // client_credentials: the app's own token; not the owner's.
    let cc = api
        .anon()
        .post_form(
            "/oauth/token",
            &[
                ("grant_type", "client_credentials"),
                ("client_id", client_id),
                ("client_secret", secret),
                ("scope", "read"),
            ],
        )
        .ok();
    assert_eq!(cc["scope"], "read");
    let app_client = api.with_token(cc["access_token"].as_str().unwrap());
    let verified = app_client.get("/api/v1/apps/verify_credentials").ok();
    assert_eq!(verified["name"], "kith tests");
    assert!(verified.get("client_secret").is_none());
    app_client
        .get("/api/v1/accounts/verify_credentials")
        .assert_error(403);
    app_client.get("/api/v1/timelines/home").assert_error(403);

    // JSON without `scope` (megalodon) and JSON with it (masto).
    let page = authorize_page(
        &api,
        "/oauth/authorize",
        &[
            ("client_id", client_id),
            ("redirect_uri", REDIRECT),
            ("scope", "read write"),
        ],
    );
    let code = query_param(
        submit_authorize(&api, &page, PASSWORD)
            .header("location")
            .unwrap(),
        "code",
    )
    .unwrap();
    let t = api
        .anon()
        .post_json(
            "/oauth/token",
            &json!({"grant_type": "authorization_code", "code": code, "client_id": client_id, "client_secret": secret, "redirect_uri": REDIRECT, "scope": "read"}),
        )
        .ok();
    assert_eq!(t["scope"], "read", "a narrower scope may be asked");
    let reader = api.with_token(t["access_token"].as_str().unwrap());
    reader.get("/api/v1/timelines/home").ok();
    reader
        .post_json("/api/v1/statuses", &json!({"status": "no"}))
        .assert_error(403);

    // Wrong secrets and grant types.
    api.anon()
        .post_form(
            "/oauth/token",
            &[
                ("grant_type", "client_credentials"),
                ("client_id", client_id),
                ("client_secret", "wrong"),
            ],
        )
        .assert_error(401);
    api.anon()
        .post_form(
            "/oauth/token",
            &[
                ("grant_type", "password"),
                ("client_id", client_id),
                ("client_secret", secret),
                ("username", "alice"),
                ("password", PASSWORD),
            ],
        )
        .assert_error(400);
    api.anon()
        .post_form(
            "/oauth/token",
            &[
                ("grant_type", "authorization_code"),
                ("code", "made-up"),
                ("client_id", client_id),
                ("client_secret", secret),
            ],
        )
        .assert_error(400);

    // Revocation: the token stops working at once; another app cannot revoke it.
    let other = register_app(&api, REDIRECT, "read");
    let tokens_before = api.count("tokens WHERE revoked_at IS NULL");
    api.anon()
        .post_form(
            "/oauth/revoke",
            &[
                ("client_id", other["client_id"].as_str().unwrap()),
                ("client_secret", other["client_secret"].as_str().unwrap()),
                ("token", reader.token.as_deref().unwrap()),
            ],
        )
        .ok();
    reader.get("/api/v1/timelines/home").ok();
    assert_eq!(api.count("tokens WHERE revoked_at IS NULL"), tokens_before);
    api.anon()
        .post_json(
            "/oauth/revoke",
            &json!({"client_id": client_id, "client_secret": secret, "token": reader.token}),
        )
        .ok();
    reader.get("/api/v1/timelines/home").assert_error(401);
    reader.get("/api/v1/timelines/public").assert_error(401);
}

#[test]
fn wrong_password_and_login_rate_limit() {
    let api = Api::start_with("alice", "api_requests = 100000\nlogin_attempts = 3\n");
    let app = register_app(&api, REDIRECT, "read");
    let client_id = app["client_id"].as_str().unwrap();
    let query = [("client_id", client_id), ("redirect_uri", REDIRECT)];
    let codes_before = api.count("oauth_codes");
    for _ in 0..3 {
        let page = authorize_page(&api, "/oauth/authorize", &query);
        let done = submit_authorize(&api, &page, "not the password");
        assert_eq!(done.status, 401);
        assert!(
            done.header("content-type")
                .unwrap()
                .starts_with("text/html")
        );
        assert!(done.body.contains("That password is not right."));
        assert!(done.header("location").is_none());
        assert!(
            form_fields(&done.body).iter().any(|(k, _)| k == "password"),
            "the form is shown again"
        );
    }
    assert_eq!(api.count("oauth_codes"), codes_before, "no code issued");
    // The fourth attempt is refused before the password is even checked.
    let page = authorize_page(&api, "/oauth/authorize", &query);
    let limited = submit_authorize(&api, &page, PASSWORD);
    limited.assert_error(429);
    assert_eq!(limited.header("x-ratelimit-limit"), Some("3"));
    assert_eq!(limited.header("x-ratelimit-remaining"), Some("0"));
    assert!(
        limited
            .header("x-ratelimit-reset")
            .unwrap()
            .parse::<u64>()
            .unwrap()
            > 0
    );
    assert!(limited.header("retry-after").is_some());
    // The token endpoint shares the limit.
    api.anon()
        .post_form(
            "/oauth/token",
            &[
                ("grant_type", "client_credentials"),
                ("client_id", client_id),
                ("client_secret", app["client_secret"].as_str().unwrap()),
            ],
        )
        .assert_error(429);
    assert_eq!(api.count("oauth_codes"), codes_before);

    // An expired or forged form token is refused.
    let api = Api::start("bob");
    let app = register_app(&api, REDIRECT, "read");
    let client_id = app["client_id"].as_str().unwrap();
    let forged = form(&[
        ("client_id", client_id),
        ("redirect_uri", REDIRECT),
        ("csrf_token", "1.00"),
        ("password", PASSWORD),
    ]);
    let r = send(
        "POST",
        &api.url("/oauth/authorize"),
        &[],
        Some(("application/x-www-form-urlencoded", forged.as_bytes())),
    );
    assert_eq!(r.status, 403);
    assert!(r.header("location").is_none());
}

#[test]
fn oauth_server_metadata() {
    let api = Api::start("alice");
    let meta = api
        .anon()
        .get("/.well-known/oauth-authorization-server")
        .ok();
    assert_eq!(
        meta["authorization_endpoint"],
        api.public("/oauth/authorize")
    );
    assert_eq!(meta["token_endpoint"], api.public("/oauth/token"));
    assert_eq!(meta["code_challenge_methods_supported"], json!(["S256"]));
    assert!(
        meta["scopes_supported"]
            .as_array()
            .unwrap()
            .contains(&json!("read:statuses"))
    );
}

#[test]
fn instance_information() {
    let api = Api::start("alice");
    let anon = api.anon();
    let version = format!("4.3.0 (compatible; kith {})", env!("CARGO_PKG_VERSION"));
    for path in ["/api/v1/instance", "/api/v1/instance/"] {
        let v1 = anon.get(path).ok();
        assert_eq!(v1["version"], version.as_str(), "{path}");
        assert_eq!(v1["uri"], format!("localhost:{}", api.port));
        assert_eq!(
            v1["urls"]["streaming_api"],
            format!("ws://localhost:{}", api.port)
        );
        assert_eq!(v1["stats"]["user_count"], 1);
        assert_eq!(
            v1["configuration"]["statuses"]["max_characters"],
            json!(500)
        );
        assert_eq!(v1["contact_account"]["username"], "alice");
    }
    for path in ["/api/v2/instance", "/api/v2/instance/"] {
        let v2 = anon.get(path).ok();
        assert_eq!(v2["version"], version.as_str(), "{path}");
        assert_eq!(v2["api_versions"]["mastodon"], json!(2));
        assert_eq!(v2["domain"], format!("localhost:{}", api.port));
        // What uploads may be: what kith takes, not a fixed list; the size caps are the
        // configured one.
        let media = &v2["configuration"]["media_attachments"];
        let types = media["supported_mime_types"].as_array().unwrap();
        for t in [
            "image/jpeg",
            "image/png",
            "image/gif",
            "image/webp",
            "video/mp4",
        ] {
            assert!(types.contains(&json!(t)), "{t} in {types:?}");
        }
        for t in [
            "video/quicktime",
            "video/webm",
            "audio/mpeg",
            "audio/ogg",
            "audio/flac",
        ] {
            assert!(types.contains(&json!(t)), "{t} in {types:?}");
        }
        assert!(
            !types.contains(&json!("image/avif")),
            "no decoder, no uploads"
        );
        assert_eq!(media["image_size_limit"], json!(40 * 1024 * 1024));
        assert_eq!(media["video_size_limit"], json!(40 * 1024 * 1024));
    }
    assert_eq!(anon.get("/api/v1/instance/peers").ok(), json!([]));
    assert_eq!(anon.get("/api/v1/custom_emojis").ok(), json!([]));
    anon.get("/api/v1/preferences").assert_error(401);
    let me = api.login("read");
    assert_eq!(
        me.get("/api/v1/preferences").ok()["posting:default:visibility"],
        "public"
    );
    // A blank or missing User-Agent is fine (ureq sends its own unless told otherwise).
    let r = send(
        "GET",
        &api.url("/api/v1/instance"),
        &[("User-Agent", "")],
        None,
    );
    assert_eq!(r.status, 200);
    // NodeInfo names Mastodon as upstream, which megalodon's detector needs.
    let links = anon.get("/.well-known/nodeinfo").ok();
    let href = links["links"][0]["href"].as_str().unwrap();
    let info = anon.get(href).ok();
    assert_eq!(info["software"]["name"], "kith");
    assert_eq!(info["metadata"]["upstream"]["name"], "mastodon");
}

#[test]
fn scopes_are_enforced() {
    let api = Api::start("alice");
    let anon = api.anon();
    let reader = api.login("read");
    let writer = api.login("write");
    let post = writer.status("a post to act on", "public");
    let pid = post["id"].as_str().unwrap();

    // No token: 401 on everything private.
    for path in [
        "/api/v1/accounts/verify_credentials",
        "/api/v1/timelines/home",
        "/api/v1/timelines/list/1",
        "/api/v1/timelines/direct",
        "/api/v1/conversations",
        "/api/v1/notifications",
        "/api/v2/notifications",
        "/api/v1/markers",
        "/api/v1/lists",
        "/api/v2/filters",
        "/api/v1/bookmarks",
        "/api/v1/favourites",
        "/api/v1/follow_requests",
        "/api/v1/blocks",
        "/api/v1/mutes",
        "/api/v1/domain_blocks",
        "/api/v1/accounts/relationships?id=1",
        "/api/v1/preferences",
        "/api/v1/apps/verify_credentials",
    ] {
        anon.get(path).assert_error(401);
    }
    let statuses_before = api.count("posts");
    for (method, path) in [
        ("POST", "/api/v1/statuses".to_string()),
        ("DELETE", format!("/api/v1/statuses/{pid}")),
        ("PUT", format!("/api/v1/statuses/{pid}")),
        ("POST", format!("/api/v1/statuses/{pid}/favourite")),
        ("POST", format!("/api/v1/statuses/{pid}/reblog")),
        ("POST", format!("/api/v1/statuses/{pid}/bookmark")),
        ("POST", format!("/api/v1/statuses/{pid}/pin")),
        ("POST", "/api/v1/lists".to_string()),
        ("POST", "/api/v2/filters".to_string()),
        ("POST", "/api/v1/markers".to_string()),
        ("POST", "/api/v1/notifications/clear".to_string()),
        ("PATCH", "/api/v1/accounts/update_credentials".to_string()),
        ("POST", "/api/v1/accounts/2/follow".to_string()),
        ("POST", "/api/v1/domain_blocks".to_string()),
    ] {
        let body = json!({"status": "x", "title": "x", "context": ["home"], "domain": "x.example"});
        anon.json_body(method, &path, &body).assert_error(401);
        // A read-only token may not write.
        reader.json_body(method, &path, &body).assert_error(403);
    }
    assert_eq!(api.count("posts"), statuses_before);
    assert_eq!(api.count("lists"), 0);
    assert_eq!(api.count("filters"), 0);
    assert_eq!(api.count("bookmarks"), 0);
    assert_eq!(api.count("favourites"), 0);
    // A write-only token may not read private things.
    writer.get("/api/v1/timelines/home").assert_error(403);
    writer.get("/api/v1/notifications").assert_error(403);
    // Fine-grained scopes: read:statuses reads timelines but not notifications.
    let statuses_only = api.login("read:statuses");
    statuses_only.get("/api/v1/timelines/home").ok();
    statuses_only.get("/api/v1/notifications").assert_error(403);
    // An unknown token is refused even on public endpoints.
    api.with_token("not-a-token")
        .get("/api/v1/timelines/public")
        .assert_error(401);
    // Public things need no token.
    anon.get("/api/v1/timelines/public").ok();
    anon.get(&format!("/api/v1/statuses/{pid}")).ok();
    anon.get("/api/v1/accounts/1").ok();
}

#[test]
fn every_api_error_is_json() {
    let api = Api::start("alice");
    let me = api.login("read write follow");
    let anon = api.anon();
    for path in [
        "/api/v1/nope",
        "/api/v1/nope/",
        "/api/v3/instance",
        "/api",
        "/api/",
        "/api/v1",
        "/oauth/nope",
        "/api/v1/statuses/123456789",
        "/api/v1/statuses/abc",
        "/api/v1/accounts/999999",
        "/api/v1/accounts/0",
        "/api/v1/polls/1",
    ] {
        anon.get(path).assert_error(404);
        me.get(path).assert_error(404);
    }
    anon.request("PATCH", "/api/v1/instance", &[], None)
        .assert_error(404);
    anon.request("DELETE", "/oauth/token", &[], None)
        .assert_error(404);
    me.get("/api/v1/timelines/home?limit=abc").assert_error(422);
    me.get("/api/v1/timelines/home?max_id=abc")
        .assert_error(422);
    me.request(
        "POST",
        "/api/v1/statuses",
        &[],
        Some(("application/json", b"{not json")),
    )
    .assert_error(400);
    me.request(
        "POST",
        "/api/v1/statuses",
        &[],
        Some(("application/json", b"[1,2]")),
    )
    .assert_error(400);
    me.request(
        "POST",
        "/api/v1/statuses",
        &[],
        Some(("multipart/form-data", b"--x\r\n")),
    )
    .assert_error(400);
    // A body over the cap is refused as JSON too.
    let big = vec![b'a'; 2 * 1024 * 1024];
    me.request(
        "POST",
        "/api/v1/statuses",
        &[],
        Some(("application/x-www-form-urlencoded", &big)),
    )
    .assert_error(413);
    anon.post_form("/oauth/token", &[("grant_type", "password")])
        .assert_error(401);
    anon.post_form("/oauth/revoke", &[("token", "x")])
        .assert_error(401);
    assert_eq!(api.count("posts"), 0);
}
