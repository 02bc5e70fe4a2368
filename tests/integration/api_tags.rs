//! Hashtags and featured things over HTTP: following a hashtag brings posts that reach
//! kith onto the home timeline; featured hashtags (also served to peers as the actor's
//! `featuredTags`) and endorsed accounts; the web hashtag page's follow button; and
//! the bad input each endpoint refuses. Posts with a followed hashtag are kept however
//! they reach kith, relayed ones included.

use crate::api::*;
use crate::fake_remote::{Actor, FakeRemote, Key};
use crate::web::{Browser, deliver, password};
use serde_json::{Value, json};

fn uris(v: &Value) -> Vec<String> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|s| s["uri"].as_str().unwrap().to_string())
        .collect()
}

fn ids_of_tags(v: &Value) -> Vec<String> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|t| t["name"].as_str().unwrap().to_string())
        .collect()
}

/// Makes `client`'s server fetch and store a post by its URI.
fn fetch_post(client: &Client, uri: &str) {
    let q = form(&[("q", uri), ("resolve", "true"), ("type", "statuses")]);
    let found = client.get(&format!("/api/v2/search?{q}")).ok();
    assert_eq!(found["statuses"][0]["uri"], uri, "{found}");
}

#[test]
fn followed_hashtag_brings_posts_home() {
    let alice = Api::start("alice");
    let bob = Api::start("bob");
    let a = alice.login("read write follow");
    let b = bob.login("read write");
    let rust = b.status("a post about #Rust", "public");
    let go = b.status("a post about #go", "public");
    let private = b.status("followers only #rust", "private");
    assert_eq!(
        a.get("/api/v1/tags/rust").ok(),
        json!({"name": "rust", "url": alice.public("/tags/rust"), "history": [], "following": false})
    );
    let followed = a.post("/api/v1/tags/Rust/follow").ok();
    assert_eq!(followed["name"], "rust");
    assert_eq!(followed["following"], true);
    // Following twice is one follow.
    a.post("/api/v1/tags/rust/follow").ok();
    assert_eq!(a.get("/api/v1/tags/RUST").ok()["following"], true);
    let list = a.get("/api/v1/followed_tags").ok();
    assert_eq!(list.as_array().unwrap().len(), 1, "{list}");
    assert_eq!(list[0]["name"], "rust");
    assert_eq!(list[0]["following"], true);

    // Bob is not followed: his posts reach alice only when fetched.
    let home = a.get("/api/v1/timelines/home").ok();
    assert!(home.as_array().unwrap().is_empty(), "{home}");
    fetch_post(&a, rust["uri"].as_str().unwrap());
    fetch_post(&a, go["uri"].as_str().unwrap());
    let home = a.get("/api/v1/timelines/home").ok();
    assert_eq!(uris(&home), vec![rust["uri"].as_str().unwrap().to_string()]);
    assert!(!uris(&home).contains(&private["uri"].as_str().unwrap().to_string()));

    a.post("/api/v1/tags/rust/unfollow").ok();
    assert_eq!(a.get("/api/v1/tags/rust").ok()["following"], false);
    assert_eq!(a.get("/api/v1/followed_tags").ok(), json!([]));
    assert_eq!(a.get("/api/v1/timelines/home").ok(), json!([]));
    // Percent-encoded names are decoded; paging follows the Link header.
    let cafe = a.post("/api/v1/tags/Caf%C3%A9/follow").ok();
    assert_eq!(cafe["name"], "café");
    let first = a.get("/api/v1/followed_tags?limit=1");
    assert_eq!(ids_of_tags(&first.ok()), vec!["café"]);
    let next = a.get(&first.link("next").unwrap()).ok();
    assert_eq!(ids_of_tags(&next), Vec::<String>::new());
    a.post("/api/v1/tags/caf%C3%A9/unfollow").ok();
    // Without a token `following` is false, whatever the owner follows.
    a.post("/api/v1/tags/rust/follow").ok();
    assert_eq!(
        alice.anon().get("/api/v1/tags/rust").ok()["following"],
        false
    );
}

#[test]
fn hashtag_bad_input() {
    let alice = Api::start("alice");
    let a = alice.login("read write follow");
    for bad in ["123", "a-b", "no%20space"] {
        a.post(&format!("/api/v1/tags/{bad}/follow"))
            .assert_error(422);
    }
    a.get("/api/v1/tags/a-b").assert_error(404);
    let read_only = alice.login("read");
    read_only.post("/api/v1/tags/rust/follow").assert_error(403);
    alice
        .anon()
        .post("/api/v1/tags/rust/follow")
        .assert_error(401);
    alice.anon().get("/api/v1/followed_tags").assert_error(401);
    assert_eq!(alice.count("followed_tags"), 0);
}

#[test]
fn featured_tags_and_the_actor_collection() {
    let alice = Api::start("alice");
    let a = alice.login("read write");
    a.status("first #Rust post", "public");
    a.status("second #rust post", "unlisted");
    a.status("a #cooking post", "public");
    let made = a
        .post_form("/api/v1/featured_tags", &[("name", "#Rust")])
        .ok();
    assert_eq!(made["name"], "Rust");
    assert_eq!(made["statuses_count"], 2);
    assert_eq!(made["url"], alice.public("/tags/rust"));
    assert_eq!(made["last_status_at"].as_str().unwrap().len(), 10);
    let id = made["id"].as_str().unwrap().to_string();
    a.post_form("/api/v1/featured_tags", &[("name", "rust")])
        .assert_error(422);
    a.post_form("/api/v1/featured_tags", &[("name", "not a tag")])
        .assert_error(422);
    a.post_form("/api/v1/featured_tags", &[]).assert_error(422);
    assert_eq!(a.get("/api/v1/featured_tags").ok(), json!([made]));
    assert_eq!(
        alice.anon().get("/api/v1/accounts/1/featured_tags").ok(),
        json!([made])
    );
    alice
        .anon()
        .get("/api/v1/accounts/99999/featured_tags")
        .assert_error(404);
    let suggested = a.get("/api/v1/featured_tags/suggestions").ok();
    assert_eq!(
        suggested
            .as_array()
            .unwrap()
            .iter()
            .map(|t| t["name"].as_str().unwrap())
            .collect::<Vec<_>>(),
        vec!["cooking"],
        "featured tags are not suggested again"
    );

    // Peers see the featured hashtags as the actor's `featuredTags` collection.
    let accept = [("Accept", "application/activity+json")];
    let actor = send("GET", &alice.url("/users/alice"), &accept, None).json();
    let collection_url = actor["featuredTags"].as_str().unwrap();
    assert_eq!(
        collection_url,
        alice.public("/users/alice/collections/tags")
    );
    let collection = send(
        "GET",
        &alice.url("/users/alice/collections/tags"),
        &accept,
        None,
    )
    .json();
    assert_eq!(collection["totalItems"], 1);
    assert_eq!(
        collection["orderedItems"][0],
        json!({"type": "Hashtag", "href": alice.public("/tags/rust"), "name": "#Rust"})
    );

    alice
        .login("read")
        .delete(&format!("/api/v1/featured_tags/{id}"))
        .assert_error(403);
    a.delete(&format!("/api/v1/featured_tags/{id}")).ok();
    a.delete(&format!("/api/v1/featured_tags/{id}"))
        .assert_error(404);
    a.delete("/api/v1/featured_tags/nope").assert_error(404);
    assert_eq!(a.get("/api/v1/featured_tags").ok(), json!([]));
}

#[test]
fn endorsements() {
    let alice = Api::start("alice");
    let bob = Api::start("bob");
    let a = alice.login("read write follow");
    let bob_account = follow(&alice, &a, &bob);
    let id = bob_account["id"].as_str().unwrap();
    let rel = a.post(&format!("/api/v1/accounts/{id}/endorse")).ok();
    assert_eq!(rel["endorsed"], true);
    assert_eq!(rel["following"], true);
    assert_eq!(
        ids(&a.get("/api/v1/endorsements").ok()),
        vec![id.to_string()]
    );
    assert_eq!(
        ids(&alice.anon().get("/api/v1/accounts/1/endorsements").ok()),
        vec![id.to_string()]
    );
    assert_eq!(
        a.get(&format!("/api/v1/accounts/{id}/endorsements")).ok(),
        json!([]),
        "kith knows only its owner's endorsements"
    );
    let rels = a
        .get(&format!("/api/v1/accounts/relationships?id[]={id}"))
        .ok();
    assert_eq!(rels[0]["endorsed"], true);
    let rel = a.post(&format!("/api/v1/accounts/{id}/unendorse")).ok();
    assert_eq!(rel["endorsed"], false);
    assert_eq!(a.get("/api/v1/endorsements").ok(), json!([]));

    // Bad input: unknown ids, the owner's own account, an account not followed.
    a.post("/api/v1/accounts/99999/endorse").assert_error(404);
    a.post("/api/v1/accounts/zzz/endorse").assert_error(404);
    a.post("/api/v1/accounts/1/endorse").assert_error(422);
    alice
        .login("read")
        .post(&format!("/api/v1/accounts/{id}/endorse"))
        .assert_error(403);
    a.post(&format!("/api/v1/accounts/{id}/unfollow")).ok();
    a.post(&format!("/api/v1/accounts/{id}/endorse"))
        .assert_error(422);
    assert_eq!(alice.count("endorsements"), 0);
    alice
        .anon()
        .get("/api/v1/accounts/99999/endorsements")
        .assert_error(404);
}

#[test]
fn web_hashtag_page_has_a_follow_button() {
    let k = crate::support::Instance::start("owner", "");
    let mut browser = Browser::new(&k);
    browser.login(&password(&k));
    let page = browser.get("/tags/Rust");
    assert!(page.body.contains("Follow hashtag"), "{}", page.body);
    let token = browser.token();
    // Without the CSRF token nothing changes.
    let refused = browser.post("/tags/rust/follow", &[("csrf", "wrong")]);
    assert_eq!(refused.status, 403);
    assert_eq!(
        crate::web::count(&k, "SELECT count(*) FROM followed_tags"),
        0
    );
    let done = browser.post(
        "/tags/rust/follow",
        &[("csrf", &token), ("back", "/tags/rust")],
    );
    assert_eq!(done.status, 303);
    assert_eq!(done.header("location"), Some("/tags/rust"));
    assert_eq!(
        crate::web::count(&k, "SELECT count(*) FROM followed_tags WHERE name = 'rust'"),
        1
    );
    assert!(browser.get("/tags/rust").body.contains("Unfollow hashtag"));
    browser.post("/tags/rust/unfollow", &[("csrf", &token)]);
    assert_eq!(
        crate::web::count(&k, "SELECT count(*) FROM followed_tags"),
        0
    );
    // A visitor sees no button.
    let visitor = Browser::new(&k).get("/tags/rust");
    assert!(!visitor.body.contains("Follow hashtag"));
    let bad = browser.post("/tags/123/follow", &[("csrf", &token)]);
    assert_eq!(bad.status, 422);
}

/// A public note by `actor`, addressed to nobody in particular (as a relay passes
/// it on), with one hashtag.
pub(crate) fn relayed_note(
    remote: &FakeRemote,
    actor: &Actor,
    n: u32,
    tag: &str,
    mark: &str,
) -> Value {
    let id = remote.url(&format!("/users/{}/statuses/{n}", actor.name));
    json!({
        "@context": "https://www.w3.org/ns/activitystreams",
        "id": format!("{id}/activity"), "type": "Create", "actor": actor.uri,
        "to": ["https://www.w3.org/ns/activitystreams#Public"],
        "object": {
            "id": id, "type": "Note", "url": id, "attributedTo": actor.uri,
            "published": "2026-01-02T10:00:00Z",
            "to": ["https://www.w3.org/ns/activitystreams#Public"],
            "content": format!("<p>{mark} <a href=\"{}\" rel=\"tag\">#{tag}</a></p>", remote.url(&format!("/tags/{tag}"))),
            "tag": [{"type": "Hashtag", "name": format!("#{tag}"), "href": remote.url(&format!("/tags/{tag}"))}],
        }
    })
}

#[test]
fn relayed_posts_with_a_followed_hashtag_are_kept_and_shown_home() {
    let k = crate::support::Instance::start("owner", "");
    let remote = FakeRemote::start();
    let carol = remote.actor("carol", Key::A);
    let mut browser = Browser::new(&k);
    browser.login(&password(&k));
    let token = browser.token();
    // Nobody follows carol and nothing addresses the owner: not kept.
    deliver(
        &k,
        &carol,
        &relayed_note(&remote, &carol, 1, "Rust", "BEFORE-MARK"),
    );
    assert_eq!(
        crate::web::count(&k, "SELECT count(*) FROM posts WHERE actor_id IS NOT NULL"),
        0
    );
    browser.post("/tags/rust/follow", &[("csrf", &token)]);
    deliver(
        &k,
        &carol,
        &relayed_note(&remote, &carol, 2, "Rust", "TAGGED-MARK"),
    );
    deliver(
        &k,
        &carol,
        &relayed_note(&remote, &carol, 3, "go", "OTHER-MARK"),
    );
    assert_eq!(
        crate::web::count(&k, "SELECT count(*) FROM posts WHERE actor_id IS NOT NULL"),
        1
    );
    let home = browser.get("/home").body;
    assert!(home.contains("TAGGED-MARK"), "{home}");
    assert!(!home.contains("OTHER-MARK"));
}
