//! Private posts stay private, ids belong to their server, and the OAuth loose ends
//! (SECURITY.md 56–61): an in-process kith with a known password ([`Api`]) and
//! [`FakeRemote`] servers whose actors sign their deliveries. Each `sec_NN` test sends
//! the hostile input and asserts what is refused or hidden, then that the honest path
//! next to it still works.

use crate::api::{
    Api, Client, PASSWORD, REDIRECT, authorize_page, ids, query_param, register_app, settle,
    submit_authorize,
};
use crate::fake_remote::{Actor, FakeRemote, Key, fixture, now, send};
use crate::support::Got;
use kith::db::posts::{self, Post};
use kith::mastodon::entities::remote_account_id;
use serde_json::{Value, json};
use std::sync::atomic::{AtomicUsize, Ordering};

const PUBLIC: &str = "https://www.w3.org/ns/activitystreams#Public";

// ---------------------------------------------------------------------------------
// Helpers

/// A fresh suffix for ids.
fn seq() -> usize {
    static N: AtomicUsize = AtomicUsize::new(1);
    N.fetch_add(1, Ordering::SeqCst)
}

/// The owner's actor URL.
fn owner_uri(api: &Api) -> String {
    api.public(&format!("/users/{}", api.name))
}

/// POSTs `activity` to kith's shared inbox, signed by `actor` now.
fn deliver(api: &Api, actor: &Actor, activity: &Value) -> Got {
    let body = serde_json::to_vec(activity).unwrap();
    let h = actor.sign_post(&api.public("/inbox"), &body, now());
    let addr = format!("127.0.0.1:{}", api.port).parse().unwrap();
    send(addr, "POST", "/inbox", &h, &body)
}

/// Delivers `activity` and waits for kith to process it.
fn deliver_settled(api: &Api, actor: &Actor, activity: &Value) {
    let got = deliver(api, actor, activity);
    assert_eq!(got.status, 202, "{}", got.body);
    settle(&[api]);
}

/// An activity of `kind` by `actor` on `object`, addressed publicly.
fn activity(actor: &Actor, kind: &str, object: Value) -> Value {
    json!({
        "@context": "https://www.w3.org/ns/activitystreams",
        "id": format!("{}#{}-{}", actor.uri, kind.to_lowercase(), seq()),
        "type": kind,
        "actor": actor.uri,
        "to": [PUBLIC],
        "cc": [format!("{}/followers", actor.uri)],
        "object": object,
    })
}

/// A note by `actor`, to the public or (`followers_only`) to its followers alone.
fn note(remote: &FakeRemote, actor: &Actor, text: &str, followers_only: bool) -> Value {
    let id = remote.url(&format!("/users/{}/statuses/{}", actor.name, seq()));
    let followers = format!("{}/followers", actor.uri);
    let (to, cc) = if followers_only {
        (json!([followers]), json!([]))
    } else {
        (json!([PUBLIC]), json!([followers]))
    };
    json!({
        "id": id, "type": "Note", "attributedTo": actor.uri, "url": id,
        "published": "2024-08-20T10:00:00Z", "to": to, "cc": cc,
        "content": format!("<p>{text}</p>"), "sensitive": false,
    })
}

/// The `Create` of a note, addressed as the note is.
fn create(actor: &Actor, note: &Value) -> Value {
    json!({
        "@context": "https://www.w3.org/ns/activitystreams",
        "id": format!("{}/activity", note["id"].as_str().unwrap()),
        "type": "Create", "actor": actor.uri,
        "to": note["to"], "cc": note["cc"], "object": note,
    })
}

/// The row id kith gives a remote actor (fetching it if needed).
fn actor_id(api: &Api, actor: &Actor) -> i64 {
    kith::ap::resolve::actor(api.ctx(), &actor.uri).unwrap().id
}

/// The owner follows `actor` (accepted), as if the follow had gone through.
fn owner_follows(api: &Api, actor: &Actor) -> i64 {
    let id = actor_id(api, actor);
    let follow = format!("{}#follows/{}", owner_uri(api), seq());
    api.ctx()
        .db
        .write(|tx| kith::db::follows::upsert(tx, true, id, &follow, true, 0))
        .unwrap();
    id
}

/// `actor` follows the owner with a signed `Follow` (accepted at once).
fn follows_owner(api: &Api, actor: &Actor) {
    deliver_settled(
        api,
        actor,
        &activity(actor, "Follow", json!(owner_uri(api))),
    );
}

fn find_post(api: &Api, uri: &str) -> Option<Post> {
    api.ctx().db.read(|c| posts::find_by_uri(c, uri)).unwrap()
}

/// A post by the owner.
fn owner_post(api: &Api, text: &str, visibility: &str) -> Post {
    kith::process::create_post(
        api.ctx(),
        &kith::process::Draft {
            text: text.into(),
            visibility: visibility.into(),
            ..kith::process::Draft::default()
        },
    )
    .unwrap()
}

/// The boost of `post` by the actor with row id `actor`, if kith stored one.
fn boost_of(api: &Api, actor: i64, post: &Post) -> Option<Post> {
    api.ctx()
        .db
        .read(|c| posts::find_reblog(c, Some(actor), post.id))
        .unwrap()
}

/// The statuses of an account as `client` sees them.
fn account_statuses(client: &Client, actor: i64) -> Value {
    client
        .get(&format!(
            "/api/v1/accounts/{}/statuses",
            remote_account_id(actor)
        ))
        .ok()
}

/// Opens the authorize page of `app` with `redirect` (None: not named), submits it
/// with the password and returns the code.
fn authorized_code(api: &Api, app: &Value, redirect: Option<&str>) -> String {
    let client_id = app["client_id"].as_str().unwrap();
    let mut query = vec![("client_id", client_id), ("response_type", "code")];
    if let Some(r) = redirect {
        query.push(("redirect_uri", r));
    }
    let page = authorize_page(api, "/oauth/authorize", &query);
    let done = submit_authorize(api, &page, PASSWORD);
    assert_eq!(done.status, 302, "{}", done.body);
    query_param(done.header("location").unwrap(), "code").unwrap()
}

/// Exchanges a code at the token endpoint, with `redirect` when given.
fn exchange(api: &Api, app: &Value, code: &str, redirect: Option<&str>) -> Got {
    let mut body = json!({"grant_type": "authorization_code", "code": code,
        "client_id": app["client_id"], "client_secret": app["client_secret"]});
    if let Some(r) = redirect {
        body["redirect_uri"] = json!(r);
    }
    api.anon().post_json("/oauth/token", &body)
}

#[track_caller]
fn assert_invalid_grant(got: &Got) {
    got.assert_error(400);
    assert_eq!(got.json()["error"], "invalid_grant", "{}", got.body);
}

// ---------------------------------------------------------------------------------
// 56–58: private posts and activity ids

#[test]
fn sec_56_followers_only_posts_of_followed_accounts_are_the_owners_alone() {
    let api = Api::start("alice");
    let remote = FakeRemote::start();
    let bob = remote.actor("bob", Key::A);
    let bob_id = owner_follows(&api, &bob);
    let secret = note(&remote, &bob, "for my followers only", true);
    let open = note(&remote, &bob, "for everyone", false);
    deliver_settled(&api, &bob, &create(&bob, &secret));
    deliver_settled(&api, &bob, &create(&bob, &open));
    let secret = find_post(&api, secret["id"].as_str().unwrap()).expect("kept for the owner");
    let open = find_post(&api, open["id"].as_str().unwrap()).expect("kept");
    assert_eq!(secret.visibility, "private");

    // Nobody else sees it: not in the account's statuses, not by id, not in a thread.
    let anon = api.anon();
    let listed = account_statuses(&anon, bob_id);
    assert_eq!(ids(&listed), vec![open.id.to_string()]);
    assert!(!listed.to_string().contains("for my followers only"));
    for path in ["", "/context", "/favourited_by"] {
        anon.get(&format!("/api/v1/statuses/{}{path}", secret.id))
            .assert_error(404);
    }
    // An app's own token (client_credentials) is nobody either.
    let app = register_app(&api, REDIRECT, "read");
    let app_token = anon
        .post_json(
            "/oauth/token",
            &json!({"grant_type": "client_credentials", "client_id": app["client_id"],
                    "client_secret": app["client_secret"], "scope": "read"}),
        )
        .ok();
    let as_app = api.with_token(app_token["access_token"].as_str().unwrap());
    assert_eq!(
        ids(&account_statuses(&as_app, bob_id)),
        vec![open.id.to_string()]
    );

    // The owner still sees both with a token.
    let owner = api.login("read");
    assert_eq!(
        ids(&account_statuses(&owner, bob_id)),
        vec![open.id.to_string(), secret.id.to_string()]
    );
    let shown = owner.get(&format!("/api/v1/statuses/{}", secret.id)).ok();
    assert_eq!(shown["visibility"], "private");
}

#[test]
fn sec_57_a_strangers_announce_of_a_private_post_is_not_a_boost() {
    let api = Api::start("alice");
    let remote = FakeRemote::start();
    let carol = remote.actor("carol", Key::A);
    let dave = remote.actor("dave", Key::B);
    let private = owner_post(&api, "words for followers", "private");
    let public = owner_post(&api, "words for all", "public");

    // A stranger's signed public Announce of the followers-only post stores nothing.
    deliver_settled(
        &api,
        &carol,
        &activity(&carol, "Announce", json!(private.uri)),
    );
    let carol_id = actor_id(&api, &carol);
    assert!(boost_of(&api, carol_id, &private).is_none());
    assert_eq!(api.count("notifications"), 0);
    let listed = account_statuses(&api.anon(), carol_id);
    assert!(
        !listed.to_string().contains("words for followers"),
        "{listed}"
    );

    // A follower may not boost it either (only public and unlisted posts are boosted)…
    follows_owner(&api, &dave);
    let dave_id = actor_id(&api, &dave);
    deliver_settled(
        &api,
        &dave,
        &activity(&dave, "Announce", json!(private.uri)),
    );
    assert!(boost_of(&api, dave_id, &private).is_none());
    // …but a follower's (or anyone's) boost of a public post is stored and shown.
    deliver_settled(&api, &dave, &activity(&dave, "Announce", json!(public.uri)));
    let boost = boost_of(&api, dave_id, &public).expect("the boost is stored");
    let listed = account_statuses(&api.anon(), dave_id);
    assert_eq!(ids(&listed), vec![boost.id.to_string()]);
    assert_eq!(listed[0]["reblog"]["id"], public.id.to_string());
    // A boost to the booster's followers only is shown to the owner alone.
    let erin = remote.actor("erin", Key::A);
    follows_owner(&api, &erin);
    let mut quiet = activity(&erin, "Announce", json!(public.uri));
    quiet["to"] = json!([format!("{}/followers", erin.uri)]);
    quiet["cc"] = json!([owner_uri(&api)]);
    deliver_settled(&api, &erin, &quiet);
    let erin_id = actor_id(&api, &erin);
    let quiet = boost_of(&api, erin_id, &public).expect("stored for the owner");
    assert_eq!(quiet.visibility, "private");
    assert!(ids(&account_statuses(&api.anon(), erin_id)).is_empty());
    let boosters = |client: &Client| {
        ids(&client
            .get(&format!("/api/v1/statuses/{}/reblogged_by", public.id))
            .ok())
    };
    assert_eq!(boosters(&api.anon()), vec![remote_account_id(dave_id)]);

    // Belt and braces: a public boost of the private post, however it got stored, never
    // carries the post to anybody but the owner.
    let planted = Post {
        id: kith::ids::at(kith::db::now_ms()),
        uri: remote.url("/users/carol/statuses/planted/activity"),
        actor_id: Some(carol_id),
        kind: "Announce".into(),
        visibility: "public".into(),
        reblog_of_id: Some(private.id),
        audience_json: json!([PUBLIC]).to_string(),
        published_at: kith::db::now_ms(),
        ..Post::default()
    };
    api.ctx()
        .db
        .write(|tx| posts::insert(tx, &planted, &posts::Parts::default()))
        .unwrap();
    let anon = api.anon();
    anon.get(&format!("/api/v1/statuses/{}", planted.id))
        .assert_error(404);
    let listed = account_statuses(&anon, carol_id);
    assert!(ids(&listed).is_empty(), "{listed}");
    let owner = api.login("read");
    let seen = owner.get(&format!("/api/v1/statuses/{}", planted.id)).ok();
    assert_eq!(seen["reblog"]["id"], private.id.to_string());
    assert_eq!(
        boosters(&owner),
        vec![remote_account_id(erin_id), remote_account_id(dave_id)]
    );
}

#[test]
fn sec_58_an_activity_id_on_another_host_is_refused() {
    let api = Api::start("alice");
    let remote = FakeRemote::start();
    let elsewhere = FakeRemote::start();
    let bob = remote.actor("bob", Key::A);
    let eve = elsewhere.actor("eve", Key::B);
    let kith_side = (api.public(""), owner_uri(&api));
    let kith_side = Some((kith_side.0.as_str(), kith_side.1.as_str()));
    // Bob's Mastodon-shaped note, and the Delete his server will send for it.
    deliver_settled(&api, &bob, &fixture("create_note.json", &remote, kith_side));
    let delete = fixture("delete_note.json", &remote, kith_side);
    let note_id = delete["object"]["id"].as_str().unwrap();
    assert!(find_post(&api, note_id).is_some());
    let seen = api.count("seen_activities");

    // Eve, on another server, takes the id of bob's future Delete: 400, nothing queued.
    let mut squat = activity(&eve, "Delete", json!(note_id));
    squat["id"] = delete["id"].clone();
    let got = deliver(&api, &eve, &squat);
    got.assert_error(400);
    assert_eq!(
        got.json()["error"],
        "activity id is not on the host of its actor"
    );
    // An id that is no URL with a host belongs to no server.
    let mut hostless = activity(&eve, "Like", json!(note_id));
    hostless["id"] = json!("urn:uuid:0f2c1b5e-58aa-4c6e-9d1e-123456789abc");
    deliver(&api, &eve, &hostless).assert_error(400);
    settle(&[&api]);
    assert_eq!(api.count("seen_activities"), seen);
    assert_eq!(api.count("inbox_queue"), 0);

    // Bob's real Delete, with that id from his own host, still deletes the note.
    deliver_settled(&api, &bob, &delete);
    assert!(
        find_post(&api, note_id).is_none(),
        "the real Delete was applied"
    );
}

#[test]
fn ap_get_of_the_owners_private_posts_goes_to_their_audience_only() {
    let api = Api::start("alice");
    let remote = FakeRemote::start();
    let follower = remote.actor("fran", Key::A);
    let stranger = remote.actor("sam", Key::B);
    follows_owner(&api, &follower);
    actor_id(&api, &stranger);
    let private = owner_post(&api, "followers see this", "private");
    let addr = format!("127.0.0.1:{}", api.port).parse().unwrap();
    let fetch = |who: Option<&Actor>| {
        let path = private.uri.strip_prefix(&api.public("")).unwrap();
        let headers = match who {
            Some(a) => a.sign_get(&private.uri, now()),
            None => vec![("Accept".into(), "application/activity+json".into())],
        };
        send(addr, "GET", path, &headers, b"")
    };
    let got = fetch(Some(&follower));
    assert_eq!(got.status, 200, "{}", got.body);
    assert!(got.body.contains("followers see this"));
    assert_eq!(fetch(Some(&stranger)).status, 404);
    assert_eq!(fetch(None).status, 404);
}

// ---------------------------------------------------------------------------------
// 59–61: OAuth

#[test]
fn sec_59_a_replayed_code_is_refused_and_revokes_its_token() {
    let api = Api::start("alice");
    let app = register_app(&api, REDIRECT, "read write");
    let code = authorized_code(&api, &app, Some(REDIRECT));
    let first = exchange(&api, &app, &code, Some(REDIRECT)).ok();
    let client = api.with_token(first["access_token"].as_str().unwrap());
    client.get("/api/v1/accounts/verify_credentials").ok();
    // Another authorization of the same app, untouched by the replay below.
    let other_code = authorized_code(&api, &app, Some(REDIRECT));
    let other = exchange(&api, &app, &other_code, Some(REDIRECT)).ok();
    let other = api.with_token(other["access_token"].as_str().unwrap());

    assert_invalid_grant(&exchange(&api, &app, &code, Some(REDIRECT)));
    client
        .get("/api/v1/accounts/verify_credentials")
        .assert_error(401);
    assert_invalid_grant(&exchange(&api, &app, &code, Some(REDIRECT)));
    other.get("/api/v1/accounts/verify_credentials").ok();
}

#[test]
fn sec_60_a_code_is_redeemed_only_with_its_redirect_uri() {
    let api = Api::start("alice");
    let second = "https://app.example/other-callback";
    let app = register_app(&api, &format!("{REDIRECT} {second}"), "read");
    // Issued for REDIRECT: another registered URI, or none at all, is refused.
    let code = authorized_code(&api, &app, Some(REDIRECT));
    assert_invalid_grant(&exchange(&api, &app, &code, Some(second)));
    let code = authorized_code(&api, &app, Some(REDIRECT));
    assert_invalid_grant(&exchange(&api, &app, &code, None));
    assert_invalid_grant(&exchange(&api, &app, &code, Some(REDIRECT)));
    assert_eq!(api.count("tokens"), 0);
    // The same one works.
    let code = authorized_code(&api, &app, Some(REDIRECT));
    exchange(&api, &app, &code, Some(REDIRECT)).ok();
    // A code issued without naming one (the app's first) needs none, or that one.
    let code = authorized_code(&api, &app, None);
    exchange(&api, &app, &code, None).ok();
    let code = authorized_code(&api, &app, None);
    assert_invalid_grant(&exchange(&api, &app, &code, Some(second)));
}

#[test]
fn sec_61_apps_cannot_register_scopes_kith_does_not_have() {
    let api = Api::start("alice");
    let anon = api.anon();
    let register = |scopes: &str| {
        anon.post_json(
            "/api/v1/apps",
            &json!({"client_name": "x", "redirect_uris": REDIRECT, "scopes": scopes}),
        )
    };
    for bad in [
        "read admin:read",
        "admin:write",
        "admin:read:accounts",
        "read:everything",
        "write:nonsense",
        "crypto",
    ] {
        let got = register(bad);
        got.assert_error(422);
        assert!(
            got.json()["error"]
                .as_str()
                .unwrap()
                .starts_with("Validation failed: unknown scope"),
            "{bad}: {}",
            got.body
        );
    }
    assert_eq!(api.count("oauth_apps"), 0);
    // What real clients ask for still registers.
    for good in [
        "read write follow push",
        "read:statuses write:media profile",
        "read write:statuses read:notifications write:favourites",
    ] {
        let app = register(good).ok();
        assert_eq!(app["scopes"], json!(good.split(' ').collect::<Vec<_>>()));
    }
    assert_eq!(api.count("oauth_apps"), 3);
}
