//! The web UI's forms over real HTTP (helpers in `web.rs`): CSRF refusals that change
//! nothing, login sessions and cookies, the login rate limit, the password form,
//! composing (with images), the post buttons, people, moderation, settings and the
//! remote-interaction pages.

use crate::fake_remote::{FakeRemote, Key, Reply};
use crate::support::Instance;
use crate::web::{Browser, assert_no_hostile_markup, count, deliver, owner_post, password};
use serde_json::json;

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
