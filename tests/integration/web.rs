//! The web UI over real HTTP: an in-process kith and a [`FakeRemote`] whose actor
//! delivers signed content (some of it hostile). Every page is fetched as a visitor
//! and as the logged-in owner; visibility is checked on every public page and feed;
//! forms without the right CSRF token change nothing; failed logins are rate limited;
//! remote HTML and profile fields arrive escaped or sanitized.

use crate::fake_remote::{Actor, FakeRemote, Key, Reply, now, send};
use crate::support::{Got, Instance, agent};
use serde_json::{Value, json};
use std::time::Duration;

const PUBLIC: &str = "https://www.w3.org/ns/activitystreams#Public";

/// A browser of sorts: kith's address and the session cookie once logged in.
struct Browser {
    base: String,
    cookie: Option<String>,
}

fn collect(resp: ureq::http::Response<ureq::Body>) -> Got {
    let status = resp.status().as_u16();
    let headers = resp
        .headers()
        .iter()
        .map(|(n, v)| {
            (
                n.as_str().to_ascii_lowercase(),
                v.to_str().unwrap_or("").to_string(),
            )
        })
        .collect();
    let body = resp.into_body().read_to_string().unwrap_or_default();
    Got {
        status,
        headers,
        body,
    }
}

impl Browser {
    fn new(k: &Instance) -> Browser {
        Browser {
            base: format!("http://127.0.0.1:{}", k.port),
            cookie: None,
        }
    }

    fn get(&self, path: &str) -> Got {
        let mut req = agent().get(&format!("{}{path}", self.base));
        if let Some(c) = &self.cookie {
            req = req.header("Cookie", c);
        }
        collect(req.call().expect("GET"))
    }

    fn post(&self, path: &str, fields: &[(&str, &str)]) -> Got {
        let mut body = url::form_urlencoded::Serializer::new(String::new());
        for (k, v) in fields {
            body.append_pair(k, v);
        }
        let mut req = agent()
            .post(&format!("{}{path}", self.base))
            .header("Content-Type", "application/x-www-form-urlencoded");
        if let Some(c) = &self.cookie {
            req = req.header("Cookie", c);
        }
        collect(req.send(body.finish().as_bytes()).expect("POST"))
    }

    /// A `multipart/form-data` post of text fields and files (name, file name, bytes).
    fn post_multipart(
        &self,
        path: &str,
        fields: &[(&str, &str)],
        files: &[(&str, &str, &[u8])],
    ) -> Got {
        let boundary = "kith-test-boundary-7MA4YWxkTrZu0gW";
        let mut body = Vec::new();
        for (k, v) in fields {
            body.extend(
                format!(
                    "--{boundary}\r\nContent-Disposition: form-data; name=\"{k}\"\r\n\r\n{v}\r\n"
                )
                .as_bytes(),
            );
        }
        for (k, name, bytes) in files {
            body.extend(format!("--{boundary}\r\nContent-Disposition: form-data; name=\"{k}\"; filename=\"{name}\"\r\nContent-Type: image/png\r\n\r\n").as_bytes());
            body.extend(*bytes);
            body.extend(b"\r\n");
        }
        body.extend(format!("--{boundary}--\r\n").as_bytes());
        let mut req = agent().post(&format!("{}{path}", self.base)).header(
            "Content-Type",
            &format!("multipart/form-data; boundary={boundary}"),
        );
        if let Some(c) = &self.cookie {
            req = req.header("Cookie", c);
        }
        collect(req.send(&body[..]).expect("POST"))
    }

    /// Logs in with `password`; returns the login answer.
    fn login(&mut self, password: &str) -> Got {
        let form = self.get("/login");
        let token = csrf(&form.body);
        let got = self.post(
            "/login",
            &[("csrf", &token), ("next", "/home"), ("password", password)],
        );
        if let Some(set) = got.header("set-cookie") {
            self.cookie = Some(set.split(';').next().unwrap().to_string());
        }
        got
    }

    /// The CSRF token of the owner's pages.
    fn token(&self) -> String {
        csrf(&self.get("/home").body)
    }
}

/// The first `name="csrf"` value of a page.
fn csrf(body: &str) -> String {
    let at = body
        .find("name=\"csrf\" value=\"")
        .expect("a form with a CSRF token");
    let rest = &body[at + "name=\"csrf\" value=\"".len()..];
    rest[..rest.find('"').unwrap()].to_string()
}

fn password(k: &Instance) -> String {
    k.server
        .as_ref()
        .unwrap()
        .first_run_password
        .clone()
        .expect("first-run password")
}

fn settle(k: &Instance) {
    assert!(
        kith::workers::settle(&[k.ctx()], Duration::from_secs(30)),
        "queues did not drain"
    );
}

fn count(k: &Instance, sql: &str) -> i64 {
    k.read(|c| Ok(c.query_row(sql, [], |r| r.get(0))?))
}

/// Delivers `activity` from `actor` to kith's shared inbox and waits for it.
fn deliver(k: &Instance, actor: &Actor, activity: &Value) {
    let body = serde_json::to_vec(activity).unwrap();
    let h = actor.sign_post(&format!("{}/inbox", k.base()), &body, now());
    let got = send(k.addr(), "POST", "/inbox", &h, &body);
    assert_eq!(got.status, 202, "{}", got.body);
    settle(k);
}

/// A remote actor whose name, bio and profile field carry markup and scripts.
fn hostile_actor(remote: &FakeRemote) -> Actor {
    let mut bob = remote.actor_unserved("bob", Key::A);
    bob.doc["name"] = json!("<script>alert('name')</script>Bob <b>bold</b>");
    bob.doc["summary"] =
        json!("<p>bio<script>alert('bio')</script><img src=x onerror=alert('img')></p>");
    bob.doc["attachment"] = json!([{
        "type": "PropertyValue",
        "name": "<i>Site</i><script>alert('field')</script>",
        "value": "<a href=\"javascript:alert('field')\" onclick=\"alert(1)\">click</a>"
    }]);
    bob.doc.as_object_mut().unwrap().remove("icon");
    remote.serve(&bob.doc);
    remote.route("/users/bob/inbox", Reply::status(202));
    remote.route("/inbox", Reply::status(202));
    bob
}

/// A public note by `actor` mentioning kith's owner, with hostile HTML.
fn hostile_note(remote: &FakeRemote, k: &Instance, actor: &Actor, n: u32) -> Value {
    let id = remote.url(&format!("/users/bob/statuses/{n}"));
    json!({
        "@context": "https://www.w3.org/ns/activitystreams",
        "id": format!("{id}/activity"), "type": "Create", "actor": actor.uri, "to": [PUBLIC],
        "object": {
            "id": id, "type": "Note", "url": id, "attributedTo": actor.uri,
            "published": "2026-01-02T10:00:00Z", "to": [PUBLIC], "cc": [k.actor()],
            "summary": null, "sensitive": false,
            "content": format!("<p>REMOTE-MARK <script>alert('post')</script><img src=x onerror=alert('img')>\
                <a href=\"javascript:alert('link')\">x</a><iframe src=\"https://evil.example\"></iframe>\
                <span style=\"color:red\" onmouseover=\"alert(1)\">@owner</span></p>"),
            "tag": [{"type": "Mention", "href": k.actor(), "name": format!("@owner@localhost:{}", k.port)}],
        }
    })
}

fn owner_post(k: &Instance, text: &str, visibility: &str) -> kith::db::posts::Post {
    kith::publish::create_post(
        k.ctx(),
        &kith::publish::Draft {
            text: text.into(),
            visibility: visibility.into(),
            ..Default::default()
        },
    )
    .unwrap()
}

#[track_caller]
fn assert_html_page(got: &Got, what: &str) {
    assert_eq!(got.status, 200, "{what}: {}", got.body);
    assert!(
        got.header("content-type").unwrap().starts_with("text/html"),
        "{what}"
    );
    let csp = got.header("content-security-policy").unwrap_or_default();
    assert!(
        csp.contains("frame-ancestors 'none'") && csp.contains("script-src 'self'"),
        "{what}: {csp}"
    );
    assert!(!csp.contains("unsafe-inline"), "{what}");
    assert_eq!(
        got.header("x-content-type-options"),
        Some("nosniff"),
        "{what}"
    );
    assert_eq!(got.header("referrer-policy"), Some("same-origin"), "{what}");
    assert!(!got.body.contains("<script>"), "{what}: an inline script");
}

/// Every raw tag of a page (`<…>`); escaped text (`&lt;…`) is not a tag.
fn raw_tags(body: &str) -> Vec<&str> {
    body.split('<')
        .skip(1)
        .map(|t| t.split('>').next().unwrap_or(""))
        .collect()
}

#[track_caller]
fn assert_no_hostile_markup(got: &Got, what: &str) {
    for tag in raw_tags(&got.body) {
        let lower = tag.to_ascii_lowercase();
        let name = lower.split_whitespace().next().unwrap_or("");
        assert!(
            !matches!(name, "iframe" | "object" | "embed" | "b" | "i" | "style")
                && (name != "script" || lower.starts_with("script src=\"/static/")),
            "{what} has a <{tag}> tag"
        );
        for bad in [
            "onerror=",
            "onclick=",
            "onmouseover=",
            "javascript:",
            "style=",
        ] {
            assert!(!lower.contains(bad), "{what} has <{tag}>");
        }
    }
}

#[test]
fn every_page_for_visitor_and_owner_with_visibility_and_escaping() {
    let k = Instance::start("owner", "");
    let remote = FakeRemote::start();
    let bob = hostile_actor(&remote);
    let public = owner_post(&k, "PUBLIC-MARK hello #shared", "public");
    let unlisted = owner_post(&k, "UNLISTED-MARK quiet #shared", "unlisted");
    let private = owner_post(&k, "PRIVATE-MARK followers #shared", "private");
    let direct = owner_post(&k, "DIRECT-MARK secret #shared", "direct");
    deliver(
        &k,
        &bob,
        &json!({
            "@context": "https://www.w3.org/ns/activitystreams",
            "id": format!("{}#follow-1", bob.uri), "type": "Follow", "actor": bob.uri, "object": k.actor(),
        }),
    );
    deliver(&k, &bob, &hostile_note(&remote, &k, &bob, 1));
    let note_id: i64 = count(&k, "SELECT id FROM posts WHERE actor_id IS NOT NULL");
    let bob_id: i64 = count(&k, "SELECT id FROM actors WHERE username = 'bob'");
    let private_marks = ["PRIVATE-MARK", "DIRECT-MARK"];

    // A visitor.
    let visitor = Browser::new(&k);
    let public_pages = [
        "/".to_string(),
        "/@owner".into(),
        format!("/@owner/{}", public.id),
        format!("/@owner/{}", unlisted.id),
        "/tags/shared".into(),
        format!("/@owner?max_id={}", public.id + 1),
        "/login".into(),
    ];
    for path in &public_pages {
        let got = visitor.get(path);
        assert_html_page(&got, path);
        assert_no_hostile_markup(&got, path);
        for mark in private_marks {
            assert!(!got.body.contains(mark), "{path} shows {mark} to a visitor");
        }
        assert!(
            !got.body.contains("REMOTE-MARK") || path.contains("max_id"),
            "{path}"
        );
    }
    let profile = visitor.get("/@owner");
    assert!(profile.body.contains("PUBLIC-MARK") && profile.body.contains("UNLISTED-MARK"));
    assert!(profile.body.contains("application/rss+xml") && profile.body.contains("og:title"));
    assert!(
        !profile.body.contains("name=\"csrf\""),
        "visitors get no owner forms"
    );
    let tag = visitor.get("/tags/shared");
    assert!(
        tag.body.contains("PUBLIC-MARK") && !tag.body.contains("UNLISTED-MARK"),
        "hashtag pages list public posts only"
    );
    for post in [&private, &direct] {
        assert_eq!(visitor.get(&format!("/@owner/{}", post.id)).status, 404);
    }
    assert_eq!(
        visitor.get(&format!("/@owner/{note_id}")).status,
        404,
        "remote posts are not under the owner's name"
    );
    for feed in ["/@owner.rss", "/@owner.atom"] {
        let got = visitor.get(feed);
        assert_eq!(got.status, 200, "{feed}");
        assert!(
            got.body.starts_with("<?xml") && got.body.contains("PUBLIC-MARK"),
            "{feed}: {}",
            got.body
        );
        for mark in [
            "UNLISTED-MARK",
            "PRIVATE-MARK",
            "DIRECT-MARK",
            "REMOTE-MARK",
        ] {
            assert!(!got.body.contains(mark), "{feed} carries {mark}");
        }
    }
    assert!(
        visitor
            .get("/@owner.rss")
            .header("content-type")
            .unwrap()
            .starts_with("application/rss+xml")
    );
    assert!(
        visitor
            .get("/@owner.atom")
            .header("content-type")
            .unwrap()
            .starts_with("application/atom+xml")
    );
    // The ActivityPub documents are still there for the same URLs.
    let ap = send(
        k.addr(),
        "GET",
        &format!("/@owner/{}", public.id),
        &[("Accept".into(), "application/activity+json".into())],
        b"",
    );
    assert_eq!(ap.status, 200);
    assert!(ap.body.contains("PUBLIC-MARK"));
    // Owner pages send a visitor to the login form, coming back afterwards.
    for path in [
        "/home",
        "/notifications",
        "/settings",
        "/people",
        "/compose",
        "/search",
    ] {
        let got = visitor.get(path);
        assert_eq!(got.status, 303, "{path}");
        assert_eq!(
            got.header("location").unwrap(),
            format!("/login?next=%2F{}", &path[1..])
        );
    }

    // The owner.
    let mut owner = Browser::new(&k);
    assert_eq!(owner.login(&password(&k)).status, 303);
    let mut owner_pages: Vec<String> = public_pages
        .iter()
        .filter(|p| *p != "/login")
        .cloned()
        .collect();
    owner_pages.extend([
        "/home".to_string(),
        "/notifications".into(),
        "/compose".into(),
        format!("/compose?in_reply_to={note_id}"),
        format!("/posts/{note_id}"),
        format!("/posts/{}", private.id),
        format!("/posts/{}/edit", public.id),
        format!("/posts/{}/delete", public.id),
        "/search".into(),
        "/search?q=bob".into(),
        "/people".into(),
        "/people?tab=following".into(),
        "/people?tab=requests".into(),
        format!("/accounts/{bob_id}"),
        "/settings".into(),
        "/settings/moderation".into(),
        "/settings/apps".into(),
        "/bookmarks".into(),
        format!(
            "/authorize_interaction?uri={}",
            url::form_urlencoded::byte_serialize(bob.uri.as_bytes()).collect::<String>()
        ),
    ]);
    for path in &owner_pages {
        let got = owner.get(path);
        assert_html_page(&got, path);
        assert_no_hostile_markup(&got, path);
        assert_eq!(
            got.header("cache-control"),
            Some("private, no-store"),
            "{path}"
        );
    }
    let home = owner.get("/home");
    for mark in [
        "PUBLIC-MARK",
        "UNLISTED-MARK",
        "PRIVATE-MARK",
        "DIRECT-MARK",
        "REMOTE-MARK",
    ] {
        assert!(home.body.contains(mark), "the owner's home shows {mark}");
    }
    // The hostile name arrives as text, escaped by the template engine.
    let account = owner.get(&format!("/accounts/{bob_id}"));
    assert!(
        account
            .body
            .contains("&lt;script&gt;alert('name')&lt;/script&gt;Bob")
            || account.body.contains("Bob &lt;b&gt;bold&lt;/b&gt;")
            || account.body.contains("alert('name')Bob bold"),
        "{}",
        account.body
    );
    assert!(
        account.body.contains(">click<"),
        "the field's link text stays, its script goes"
    );
    let notifications = owner.get("/notifications");
    assert!(
        notifications.body.contains("mentioned you") && notifications.body.contains("followed you")
    );
    assert_eq!(
        count(
            &k,
            "SELECT count(*) FROM notifications WHERE read_at IS NULL"
        ),
        0,
        "seen means read"
    );
}

#[test]
fn forms_without_the_right_csrf_token_change_nothing() {
    let k = Instance::start("owner", "");
    let pw = password(&k);
    let mut a = Browser::new(&k);
    let mut b = Browser::new(&k);
    a.login(&pw);
    b.login(&pw);
    let (ta, tb) = (a.token(), b.token());
    assert_ne!(ta, tb, "each session has its own token");
    let post = owner_post(&k, "likeable", "public");
    let posts_before = count(&k, "SELECT count(*) FROM posts");
    let forms: Vec<(String, Vec<(&str, &str)>)> = vec![
        (
            "/compose".into(),
            vec![("status", "forged post"), ("visibility", "public")],
        ),
        (format!("/posts/{}/like", post.id), vec![]),
        (format!("/posts/{}/delete", post.id), vec![]),
        ("/settings/profile".into(), vec![("display_name", "Forged")]),
        (
            "/settings/password".into(),
            vec![
                ("current", &pw),
                ("new", "forged-password"),
                ("confirm", "forged-password"),
            ],
        ),
        (
            "/settings/domain_blocks".into(),
            vec![("domain", "forged.example")],
        ),
        (
            "/people/follow".into(),
            vec![("target", "@x@forged.example")],
        ),
        ("/logout".into(), vec![]),
    ];
    for (path, fields) in &forms {
        for token in [None, Some(tb.as_str()), Some("00"), Some("")] {
            let mut f = fields.clone();
            if let Some(t) = token {
                f.push(("csrf", t));
            }
            let got = a.post(path, &f);
            assert_eq!(got.status, 403, "{path} with token {token:?}: {}", got.body);
        }
        // And with no session at all, even with a real token.
        let mut f = fields.clone();
        f.push(("csrf", &ta));
        assert_eq!(
            Browser::new(&k).post(path, &f).status,
            403,
            "{path} without a session"
        );
    }
    assert_eq!(count(&k, "SELECT count(*) FROM posts"), posts_before);
    assert_eq!(count(&k, "SELECT count(*) FROM favourites"), 0);
    assert_eq!(
        count(
            &k,
            "SELECT count(*) FROM posts WHERE deleted_at IS NOT NULL"
        ),
        0
    );
    assert_eq!(
        count(
            &k,
            "SELECT count(*) FROM account WHERE display_name = 'Forged'"
        ),
        0
    );
    assert_eq!(count(&k, "SELECT count(*) FROM domain_blocks"), 0);
    assert_eq!(
        count(&k, "SELECT count(*) FROM web_sessions"),
        2,
        "no session ended"
    );
    assert_eq!(
        a.get("/home").status,
        200,
        "the password did not change, the session lives"
    );
    // The right token works.
    let got = a.post(
        &format!("/posts/{}/like", post.id),
        &[("csrf", &ta), ("back", "/home")],
    );
    assert_eq!(got.status, 303);
    assert_eq!(
        got.header("location").unwrap(),
        format!("/home#post-{}", post.id)
    );
    assert_eq!(count(&k, "SELECT count(*) FROM favourites"), 1);
}

#[test]
fn login_sessions_cookies_and_logout() {
    let k = Instance::start("owner", "");
    let mut owner = Browser::new(&k);
    let got = owner.login(&password(&k));
    assert_eq!(got.status, 303);
    assert_eq!(got.header("location"), Some("/home"));
    let cookie = got.header("set-cookie").unwrap();
    for part in ["kith_session=", "HttpOnly", "SameSite=Lax", "Path=/"] {
        assert!(cookie.contains(part), "{cookie}");
    }
    assert!(
        !cookie.contains("Secure"),
        "http public URL: no Secure flag"
    );
    let token = keyed(owner.cookie.as_deref().unwrap());
    assert_eq!(
        count(
            &k,
            &format!(
                "SELECT count(*) FROM web_sessions WHERE token_sha256 = '{}'",
                kith::keys::sha256_hex(token.as_bytes())
            )
        ),
        1,
        "only the token's hash is stored"
    );
    assert_eq!(owner.get("/home").status, 200);
    assert_eq!(owner.get("/").status, 200, "/ is the owner's home");
    // `next` only goes to local paths.
    let form = Browser::new(&k).get("/login?next=//evil.example/x");
    assert!(
        form.body.contains("name=\"next\" value=\"/home\""),
        "{}",
        form.body
    );
    // Logging out ends the session for good.
    let t = owner.token();
    let out = owner.post("/logout", &[("csrf", &t)]);
    assert_eq!(out.status, 303);
    assert!(out.header("set-cookie").unwrap().contains("Max-Age=0"));
    assert_eq!(
        owner.get("/home").status,
        303,
        "the old cookie no longer works"
    );
    assert_eq!(count(&k, "SELECT count(*) FROM web_sessions"), 0);
    // A wrong password.
    let mut wrong = Browser::new(&k);
    let got = wrong.login("not the password");
    assert_eq!(got.status, 401);
    assert!(got.body.contains("That password is not right."));
    assert!(wrong.cookie.is_none());
}

fn keyed(cookie: &str) -> String {
    cookie.split_once('=').unwrap().1.to_string()
}

#[test]
fn failed_logins_are_rate_limited() {
    let k = Instance::start("owner", "[limits]\nlogin_attempts = 3\n");
    for _ in 0..3 {
        assert_eq!(Browser::new(&k).login("wrong password").status, 401);
    }
    let mut b = Browser::new(&k);
    let got = b.login(&password(&k));
    assert_eq!(got.status, 429, "{}", got.body);
    assert_eq!(got.header("x-ratelimit-limit"), Some("3"));
    assert_eq!(got.header("x-ratelimit-remaining"), Some("0"));
    assert!(got.header("retry-after").is_some());
    assert!(
        b.cookie.is_none(),
        "no session, even with the right password"
    );
}

#[test]
fn password_change_is_throttled_and_ends_other_sessions() {
    let k = Instance::start("owner", "[limits]\nlogin_attempts = 2\n");
    let pw = password(&k);
    let mut a = Browser::new(&k);
    let mut other = Browser::new(&k);
    a.login(&pw);
    other.login(&pw);
    let t = a.token();
    let wrong = a.post(
        "/settings/password",
        &[
            ("csrf", &t),
            ("current", "nope-nope"),
            ("new", "new-password-1"),
            ("confirm", "new-password-1"),
        ],
    );
    assert_eq!(wrong.status, 422);
    assert!(wrong.body.contains("current password is not right"));
    let differ = a.post(
        "/settings/password",
        &[
            ("csrf", &t),
            ("current", &pw),
            ("new", "new-password-1"),
            ("confirm", "new-password-2"),
        ],
    );
    assert_eq!(differ.status, 422);
    let ok = a.post(
        "/settings/password",
        &[
            ("csrf", &t),
            ("current", &pw),
            ("new", "new-password-1"),
            ("confirm", "new-password-1"),
        ],
    );
    assert_eq!(ok.status, 303, "{}", ok.body);
    assert_eq!(a.get("/home").status, 200, "this session goes on");
    assert_eq!(other.get("/home").status, 303, "the other session ended");
    let mut again = Browser::new(&k);
    assert_eq!(again.login("new-password-1").status, 303);
    // One more failure reaches the limit (2): the password form answers 429 too.
    let t = a.token();
    assert_eq!(
        a.post(
            "/settings/password",
            &[
                ("csrf", &t),
                ("current", "wrong-again"),
                ("new", "x"),
                ("confirm", "x")
            ]
        )
        .status,
        422
    );
    let limited = a.post(
        "/settings/password",
        &[
            ("csrf", &t),
            ("current", "new-password-1"),
            ("new", "new-password-2"),
            ("confirm", "new-password-2"),
        ],
    );
    assert_eq!(limited.status, 429);
}

#[test]
fn compose_reply_edit_delete_and_post_buttons() {
    let k = Instance::start("owner", "");
    let mut owner = Browser::new(&k);
    owner.login(&password(&k));
    let t = owner.token();
    let got = owner.post(
        "/compose",
        &[
            ("csrf", &t),
            ("back", "/home"),
            ("status", "First #post"),
            ("spoiler_text", "A warning"),
            ("visibility", "unlisted"),
        ],
    );
    assert_eq!(got.status, 303);
    let newest = count(&k, "SELECT max(id) FROM posts");
    let post = k.read(|c| kith::db::posts::get(c, newest));
    assert_eq!(
        (post.visibility.as_str(), post.spoiler_text.as_str()),
        ("unlisted", "A warning")
    );
    let page = owner.get(&format!("/@owner/{}", post.id));
    assert!(page.body.contains("<details class=\"cw\">") && page.body.contains("A warning"));
    // Too long: the form comes back with the reason and the text.
    let long = "x".repeat(501);
    let refused = owner.post(
        "/compose",
        &[("csrf", &t), ("status", &long), ("visibility", "public")],
    );
    assert_eq!(refused.status, 422);
    assert!(refused.body.contains("longer than 500") && refused.body.contains(&long));
    // Reply.
    let reply = owner.post(
        "/compose",
        &[
            ("csrf", &t),
            ("status", "a reply"),
            ("visibility", "public"),
            ("in_reply_to_id", &post.id.to_string()),
        ],
    );
    assert_eq!(reply.status, 303);
    assert_eq!(
        count(
            &k,
            &format!(
                "SELECT count(*) FROM posts WHERE in_reply_to_uri = '{}'",
                post.uri
            )
        ),
        1
    );
    let thread = owner.get(&format!("/@owner/{}", post.id));
    assert!(thread.body.contains("a reply") && thread.body.contains("Replies"));
    // Buttons.
    for action in ["like", "boost", "bookmark", "pin"] {
        assert_eq!(
            owner
                .post(&format!("/posts/{}/{action}", post.id), &[("csrf", &t)])
                .status,
            303,
            "{action}"
        );
    }
    assert_eq!(count(&k, "SELECT count(*) FROM favourites"), 1);
    assert_eq!(
        count(
            &k,
            &format!(
                "SELECT count(*) FROM posts WHERE reblog_of_id = {}",
                post.id
            )
        ),
        1
    );
    assert_eq!(count(&k, "SELECT count(*) FROM bookmarks"), 1);
    let profile = Browser::new(&k).get("/@owner");
    assert!(
        profile.body.contains("Pinned") && profile.body.contains("boosted"),
        "{}",
        profile.body
    );
    for action in ["unlike", "unboost", "unbookmark", "unpin"] {
        assert_eq!(
            owner
                .post(&format!("/posts/{}/{action}", post.id), &[("csrf", &t)])
                .status,
            303,
            "{action}"
        );
    }
    assert_eq!(
        count(&k, "SELECT count(*) FROM favourites") + count(&k, "SELECT count(*) FROM bookmarks"),
        0
    );
    // Edit.
    let edited = owner.post(
        &format!("/posts/{}/edit", post.id),
        &[
            ("csrf", &t),
            ("status", "Edited text"),
            ("spoiler_text", ""),
        ],
    );
    assert_eq!(edited.status, 303);
    assert!(
        owner
            .get(&format!("/@owner/{}", post.id))
            .body
            .contains("Edited text")
    );
    // Delete.
    assert_eq!(
        owner
            .post(&format!("/posts/{}/delete", post.id), &[("csrf", &t)])
            .status,
        303
    );
    assert_eq!(
        Browser::new(&k).get(&format!("/@owner/{}", post.id)).status,
        404
    );
}

#[test]
fn people_follow_requests_blocks_and_profile_settings() {
    let k = Instance::start("owner", "");
    let remote = FakeRemote::start();
    let bob = remote.actor("bob", Key::A);
    let mut owner = Browser::new(&k);
    owner.login(&password(&k));
    let t = owner.token();
    // Profile, with markup and a link in the fields.
    let got = owner.post(
        "/settings/profile",
        &[
            ("csrf", &t),
            ("display_name", "<b>Owner</b>"),
            ("note", "Hi <script>x</script>"),
            ("field_name_0", "Site <i>"),
            (
                "field_value_0",
                "https://owner.example/ <img src=x onerror=alert(1)>",
            ),
            ("locked", "1"),
            ("discoverable", "1"),
        ],
    );
    assert_eq!(got.status, 303, "{}", got.body);
    let profile = Browser::new(&k).get("/@owner");
    assert_no_hostile_markup(&profile, "profile");
    assert!(profile.body.contains("&lt;b&gt;Owner&lt;/b&gt;"));
    assert!(
        profile
            .body
            .contains("rel=\"me nofollow noopener noreferrer\""),
        "{}",
        profile.body
    );
    assert!(profile.body.contains("Approves followers"));
    // A follow request (the account is locked now), accepted on the web.
    deliver(
        &k,
        &bob,
        &json!({
            "@context": "https://www.w3.org/ns/activitystreams",
            "id": format!("{}#follow-1", bob.uri), "type": "Follow", "actor": bob.uri, "object": k.actor(),
        }),
    );
    let bob_id: i64 = count(&k, "SELECT id FROM actors WHERE username = 'bob'");
    assert!(
        owner
            .get("/people?tab=requests")
            .body
            .contains("Accept request")
    );
    assert_eq!(
        owner
            .post(&format!("/accounts/{bob_id}/accept"), &[("csrf", &t)])
            .status,
        303
    );
    assert_eq!(
        count(&k, "SELECT count(*) FROM followers WHERE accepted = 1"),
        1
    );
    // Follow by handle (bob's server is the fake remote), then unfollow.
    let handle = format!("@bob@{}", remote.host());
    let got = owner.post("/people/follow", &[("csrf", &t), ("target", &handle)]);
    assert_eq!(got.status, 303, "{}", got.body);
    assert_eq!(
        got.header("location").unwrap(),
        format!("/accounts/{bob_id}")
    );
    assert_eq!(count(&k, "SELECT count(*) FROM following"), 1);
    assert!(
        owner
            .get(&format!("/accounts/{bob_id}"))
            .body
            .contains("Cancel follow request")
    );
    owner.post(&format!("/accounts/{bob_id}/unfollow"), &[("csrf", &t)]);
    assert_eq!(count(&k, "SELECT count(*) FROM following"), 0);
    // Search by handle opens the account page.
    let found = owner.get(&format!(
        "/search?q={}",
        url::form_urlencoded::byte_serialize(handle.as_bytes()).collect::<String>()
    ));
    assert_eq!(
        found.header("location").unwrap(),
        format!("/accounts/{bob_id}")
    );
    // Remove the follower, block, mute, domain block, and undo them.
    owner.post(&format!("/accounts/{bob_id}/remove"), &[("csrf", &t)]);
    assert_eq!(count(&k, "SELECT count(*) FROM followers"), 0);
    for action in ["block", "mute"] {
        owner.post(&format!("/accounts/{bob_id}/{action}"), &[("csrf", &t)]);
    }
    owner.post(
        "/settings/domain_blocks",
        &[("csrf", &t), ("domain", "Spam.Example.")],
    );
    let moderation = owner.get("/settings/moderation");
    assert!(
        moderation.body.contains("spam.example")
            && moderation.body.contains("Unblock")
            && moderation.body.contains("Unmute")
    );
    owner.post(&format!("/settings/blocks/{bob_id}"), &[("csrf", &t)]);
    owner.post(&format!("/settings/mutes/{bob_id}"), &[("csrf", &t)]);
    owner.post(
        "/settings/domain_blocks/remove",
        &[("csrf", &t), ("domain", "spam.example")],
    );
    assert_eq!(
        count(
            &k,
            "SELECT (SELECT count(*) FROM blocks) + (SELECT count(*) FROM mutes) + (SELECT count(*) FROM domain_blocks)"
        ),
        0
    );
    // Aliases resolve to actor URLs.
    let got = owner.post("/settings/aliases", &[("csrf", &t), ("aliases", &handle)]);
    assert_eq!(got.status, 303, "{}", got.body);
    let aliases: String =
        k.read(|c| Ok(c.query_row("SELECT also_known_as FROM account", [], |r| r.get(0))?));
    assert_eq!(aliases, json!([bob.uri]).to_string());
    // Remote interaction: an interstitial, never a redirect.
    let uri: String = url::form_urlencoded::byte_serialize(bob.uri.as_bytes()).collect();
    let page = owner.get(&format!("/authorize_interaction?uri={uri}"));
    assert_eq!(page.status, 200);
    assert!(
        page.body.contains("Follow this account?")
            && page.body.contains(&format!("/accounts/{bob_id}/follow"))
    );
    let visitor = Browser::new(&k).get(&format!("/authorize_interaction?uri={uri}"));
    assert_eq!(visitor.status, 303);
    assert!(
        visitor
            .header("location")
            .unwrap()
            .starts_with("/login?next=%2Fauthorize_interaction")
    );
}

#[test]
fn remote_follow_shows_a_link_to_the_visitors_server() {
    let k = Instance::start("owner", "");
    let remote = FakeRemote::start();
    remote.route(
        "/.well-known/webfinger",
        Reply::ap(&json!({"subject": "acct:carol@x", "links": [
            {"rel": "http://ostatus.org/schema/1.0/subscribe", "template": format!("{}/authorize_interaction?uri={{uri}}", remote.base())}
        ]})),
    );
    let visitor = Browser::new(&k);
    let got = visitor.get(&format!("/remote_follow?acct=carol%40{}", remote.host()));
    assert_eq!(got.status, 200, "{}", got.body);
    assert!(
        got.header("location").is_none(),
        "an interstitial, not a redirect"
    );
    let expected = format!(
        "{}/authorize_interaction?uri={}",
        remote.base(),
        url::form_urlencoded::byte_serialize(k.actor().as_bytes()).collect::<String>()
    );
    assert!(
        got.body.contains(&expected.replace('&', "&amp;")),
        "{}",
        got.body
    );
    assert_eq!(visitor.get("/remote_follow?acct=nonsense").status, 422);
}

#[test]
fn compose_with_images_and_alt_text() {
    let k = Instance::start("owner", "");
    let mut owner = Browser::new(&k);
    owner.login(&password(&k));
    let t = owner.token();
    let png = include_bytes!("../fixtures/media/alpha.png");
    let got = owner.post_multipart(
        "/compose",
        &[
            ("csrf", &t),
            ("back", "/home"),
            ("status", "with a picture"),
            ("visibility", "public"),
            ("alt_0", "A <small> square"),
            ("alt_1", "unused"),
        ],
        &[("image_0", "a.png", png), ("image_1", "", b"")],
    );
    assert_eq!(got.status, 303, "{}", got.body);
    assert_eq!(count(&k, "SELECT count(*) FROM attachments"), 1);
    assert_eq!(
        count(
            &k,
            "SELECT count(*) FROM media WHERE post_id IS NOT NULL AND description = 'A <small> square'"
        ),
        1
    );
    let id = count(&k, "SELECT max(id) FROM posts");
    let page = Browser::new(&k).get(&format!("/@owner/{id}"));
    assert!(
        page.body.contains("alt=\"A &lt;small&gt; square\""),
        "{}",
        page.body
    );
    let src = page
        .body
        .split("<img src=\"/media/")
        .nth(1)
        .expect("the image")
        .split('"')
        .next()
        .unwrap();
    let image = Browser::new(&k).get(&format!("/media/{src}"));
    assert_eq!(image.status, 200);
    assert_eq!(image.header("content-type"), Some("image/png"));
    // Not an image: refused, the text comes back, nothing is posted.
    let before = count(&k, "SELECT count(*) FROM posts");
    let got = owner.post_multipart(
        "/compose",
        &[
            ("csrf", &t),
            ("status", "keep this text"),
            ("visibility", "public"),
            ("alt_0", "x"),
        ],
        &[("image_0", "a.png", b"not an image at all")],
    );
    assert_eq!(got.status, 422, "{}", got.body);
    assert!(got.body.contains("keep this text"));
    assert_eq!(count(&k, "SELECT count(*) FROM posts"), before);
    // A CSRF-less upload is refused before anything is stored.
    let media = count(&k, "SELECT count(*) FROM media");
    let got = owner.post_multipart("/compose", &[("status", "x")], &[("image_0", "a.png", png)]);
    assert_eq!(got.status, 403);
    assert_eq!(count(&k, "SELECT count(*) FROM media"), media);
}
