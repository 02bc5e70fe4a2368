//! Pages that used to trip people up: notification cards about the owner's own posts
//! carry no Edit or Delete, the delete confirmation offers nothing else to click,
//! counts read "1 like", a remote account's page shows its header image and counts, search
//! failures are sentences rather than raw network errors, and the time zone setting
//! takes only the offsets it offers.

use crate::fake_remote::{FakeRemote, Key, Reply};
use crate::support::Instance;
use crate::web::{Browser, count, csrf, deliver, owner_post, password};
use serde_json::json;

#[test]
fn notifications_confirmation_counts_and_remote_headers() {
    let k = Instance::start("owner", "");
    let remote = FakeRemote::start();
    let mut bob = remote.actor_unserved("bob", Key::A);
    bob.doc["image"] =
        json!({"type": "Image", "mediaType": "image/png", "url": remote.url("/header.png")});
    remote.serve(&bob.doc);
    remote.route("/users/bob/inbox", Reply::status(202));
    remote.route("/inbox", Reply::status(202));
    // Its outbox and followers say how many; its following collection is not served.
    remote.route(
        "/users/bob/outbox",
        Reply::ap(&json!({"type": "OrderedCollection", "totalItems": 12})),
    );
    remote.route(
        "/users/bob/followers",
        Reply::ap(&json!({"type": "OrderedCollection", "totalItems": 1})),
    );
    let post = owner_post(&k, "OWN-MARK a post of mine", "public");
    let like = json!({
        "@context": "https://www.w3.org/ns/activitystreams",
        "id": remote.url("/likes/1"), "type": "Like", "actor": bob.uri, "object": post.uri,
    });
    deliver(&k, &bob, &like);
    assert_eq!(
        count(
            &k,
            "SELECT count(*) FROM notifications WHERE kind = 'favourite'"
        ),
        1
    );
    let mut owner = Browser::new(&k);
    owner.login(&password(&k));

    // The card about the owner's liked post: the post, but no buttons under it.
    let page = owner.get("/notifications");
    assert_eq!(page.status, 200);
    assert!(page.body.contains("liked your post"), "{}", page.body);
    assert!(page.body.contains("OWN-MARK"), "{}", page.body);
    for control in ["/edit\"", "/delete\"", "/like\"", "/boost\""] {
        assert!(!page.body.contains(control), "{control}: {}", page.body);
    }
    // On the post itself the owner still has them.
    let home = owner.get("/home");
    assert!(home.body.contains(&format!("/posts/{}/delete\"", post.id)));

    // The delete confirmation: the post and one Delete button, nothing else to press.
    let confirm = owner.get(&format!("/posts/{}/delete", post.id));
    assert_eq!(confirm.status, 200);
    assert!(confirm.body.contains("OWN-MARK"));
    let main = confirm.body.split("<main").nth(1).unwrap();
    assert_eq!(main.matches("<button").count(), 1, "{main}");
    assert!(
        !main.contains("/boost\"") && !main.contains("/like\""),
        "{main}"
    );

    // Counts in words, singular for one.
    let profile = Browser::new(&k).get("/@owner");
    assert!(profile.body.contains("1 like<"), "{}", profile.body);
    assert!(profile.body.contains("0 replies<"), "{}", profile.body);
    assert!(!profile.body.contains("1 likes"), "{}", profile.body);

    // The remote account's page shows its header image, through the media proxy.
    let bob_id = count(
        &k,
        &format!("SELECT id FROM actors WHERE uri = '{}'", bob.uri),
    );
    let page = owner.get(&format!("/accounts/{bob_id}"));
    assert_eq!(page.status, 200);
    let banner = page
        .body
        .split("class=\"banner\" src=\"")
        .nth(1)
        .expect("a header image")
        .split('"')
        .next()
        .unwrap()
        .to_string();
    // Its counts, fetched from its collections, leaving out the one it did not give;
    // the second view does not ask again (they are kept for a day).
    assert!(
        page.body.contains("12 posts · 1 follower<"),
        "{}",
        page.body
    );
    assert!(!page.body.contains("following<"), "{}", page.body);
    owner.get(&format!("/accounts/{bob_id}"));
    assert_eq!(remote.requests_to("/users/bob/outbox").len(), 1);
    assert!(
        banner.contains("/media/proxy?url=") && banner.contains("header.png"),
        "{banner}"
    );
}

#[test]
fn sec_72_search_failures_read_as_sentences_and_the_time_zone_is_checked() {
    let k = Instance::start("owner", "");
    let mut owner = Browser::new(&k);
    owner.login(&password(&k));
    // Nothing listens on this port: the look-up fails at the network.
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = closed.local_addr().unwrap().port();
    drop(closed);
    let page = owner.get(&format!("/search?q=%40nobody%40127.0.0.1%3A{port}"));
    assert_eq!(page.status, 404);
    assert!(
        page.body.contains("its server could not be reached"),
        "{}",
        page.body
    );
    for raw in [
        "io:",
        "os error",
        "lookup",
        "Connection refused",
        "network:",
    ] {
        assert!(!page.body.contains(raw), "{raw}: {}", page.body);
    }

    // The time zone: one of the offered offsets, else refused and unchanged.
    let t = csrf(&owner.get("/settings").body);
    let got = owner.post(
        "/settings/time_zone",
        &[("csrf", &t), ("time_offset", "61")],
    );
    assert_eq!(got.status, 422);
    assert!(got.body.contains("Choose a time zone from the list"));
    assert_eq!(count(&k, "SELECT time_offset_minutes FROM account"), 0);
    let got = owner.post(
        "/settings/time_zone",
        &[("csrf", &t), ("time_offset", "-210")],
    );
    assert_eq!(got.status, 303, "{}", got.body);
    assert_eq!(count(&k, "SELECT time_offset_minutes FROM account"), -210);
    owner_post(&k, "a post at some time", "public");
    let home = owner.get("/home");
    assert!(home.body.contains(" UTC-03:30</time>"), "{}", home.body);
    assert!(home.body.contains("<time datetime=\""), "{}", home.body);
}
