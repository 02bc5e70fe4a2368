//! The web UI over real HTTP: an in-process kith and a [`FakeRemote`] whose actor
//! delivers signed content (some of it hostile). Every page is fetched as a visitor
//! and as the logged-in owner; visibility is checked on every public page and feed;
//! forms without the right CSRF token change nothing; failed logins are rate limited;
//! remote HTML and profile fields arrive escaped or sanitized.

use crate::fake_remote::{Actor, FakeRemote, Key, Reply, now, send};
use crate::support::{Got, Instance, agent, collect};
use serde_json::{Value, json};
use std::time::Duration;

const PUBLIC: &str = "https://www.w3.org/ns/activitystreams#Public";

/// A browser of sorts: kith's address and the session cookie once logged in.
pub(crate) struct Browser {
    base: String,
    pub(crate) cookie: Option<String>,
}

impl Browser {
    pub(crate) fn new(k: &Instance) -> Browser {
        Browser {
            base: format!("http://127.0.0.1:{}", k.port),
            cookie: None,
        }
    }

    pub(crate) fn get(&self, path: &str) -> Got {
        let mut req = agent().get(&format!("{}{path}", self.base));
        if let Some(c) = &self.cookie {
            req = req.header("Cookie", c);
        }
        collect(req.call().expect("GET"))
    }

    pub(crate) fn post(&self, path: &str, fields: &[(&str, &str)]) -> Got {
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
    pub(crate) fn post_multipart(
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
    pub(crate) fn login(&mut self, password: &str) -> Got {
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
    pub(crate) fn token(&self) -> String {
        csrf(&self.get("/home").body)
    }
}

/// The first `name="csrf"` value of a page.
pub(crate) fn csrf(body: &str) -> String {
    let at = body
        .find("name=\"csrf\" value=\"")
        .expect("a form with a CSRF token");
    let rest = &body[at + "name=\"csrf\" value=\"".len()..];
    rest[..rest.find('"').unwrap()].to_string()
}

pub(crate) fn password(k: &Instance) -> String {
    k.server
        .as_ref()
        .unwrap()
        .first_run_password
        .clone()
        .expect("first-run password")
}

pub(crate) fn settle(k: &Instance) {
    assert!(
        kith::workers::settle(&[k.ctx()], Duration::from_secs(30)),
        "queues did not drain"
    );
}

pub(crate) fn count(k: &Instance, sql: &str) -> i64 {
    k.read(|c| Ok(c.query_row(sql, [], |r| r.get(0))?))
}

/// Delivers `activity` from `actor` to kith's shared inbox and waits for it.
pub(crate) fn deliver(k: &Instance, actor: &Actor, activity: &Value) {
    let body = serde_json::to_vec(activity).unwrap();
    let h = actor.sign_post(&format!("{}/inbox", k.base()), &body, now());
    let got = send(k.addr(), "POST", "/inbox", &h, &body);
    assert_eq!(got.status, 202, "{}", got.body);
    settle(k);
}

/// A remote actor whose name, bio and profile field carry markup and scripts.
pub(crate) fn hostile_actor(remote: &FakeRemote) -> Actor {
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
pub(crate) fn hostile_note(remote: &FakeRemote, k: &Instance, actor: &Actor, n: u32) -> Value {
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

pub(crate) fn owner_post(k: &Instance, text: &str, visibility: &str) -> kith::db::posts::Post {
    kith::process::create_post(
        k.ctx(),
        &kith::process::Draft {
            text: text.into(),
            visibility: visibility.into(),
            ..Default::default()
        },
    )
    .unwrap()
}

#[track_caller]
pub(crate) fn assert_html_page(got: &Got, what: &str) {
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
pub(crate) fn raw_tags(body: &str) -> Vec<&str> {
    body.split('<')
        .skip(1)
        .map(|t| t.split('>').next().unwrap_or(""))
        .collect()
}

#[track_caller]
pub(crate) fn assert_no_hostile_markup(got: &Got, what: &str) {
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
