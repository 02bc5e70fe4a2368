//! Accounts over HTTP: credentials and profile edits (federated as `Update(Person)`),
//! look-ups, an account's posts with its filters, following and unfollowing a second
//! kith instance, blocks and mutes, follow requests of a locked account, and lists.

use crate::api::*;
use serde_json::json;

#[test]
fn credentials_and_profile_updates_federate() {
    let alice = Api::start("alice");
    let bob = Api::start("bob");
    let a = alice.login("read write follow");
    let b = bob.login("read write follow");
    follow(&bob, &b, &alice);

    let me = a.get("/api/v1/accounts/verify_credentials").ok();
    assert_eq!(me["username"], "alice");
    assert_eq!(me["acct"], "alice");
    assert_eq!(me["followers_count"], 1);
    assert!(me["source"]["note"].is_string());
    assert!(
        me["created_at"]
            .as_str()
            .unwrap()
            .ends_with("T00:00:00.000Z"),
        "{}",
        me["created_at"]
    );

    // Mastodon.py sends a form with Rails-style field attributes.
    let updated = a
        .form_body(
            "PATCH",
            "/api/v1/accounts/update_credentials",
            &[
                ("display_name", "Alice A."),
                ("note", "Hello #kith"),
                ("bot", "0"),
                ("fields_attributes[0][name]", "Site"),
                ("fields_attributes[0][value]", "https://alice.example"),
            ],
        )
        .ok();
    assert_eq!(updated["display_name"], "Alice A.");
    assert!(updated["note"].as_str().unwrap().contains("kith"));
    assert_eq!(updated["source"]["note"], "Hello #kith");
    assert_eq!(updated["fields"][0]["name"], "Site");
    assert_eq!(updated["bot"], false);
    // JSON works as well.
    let updated = a
        .json_body(
            "PATCH",
            "/api/v1/accounts/update_credentials",
            &json!({"locked": true, "discoverable": false}),
        )
        .ok();
    assert_eq!(updated["locked"], true);
    assert_eq!(updated["display_name"], "Alice A.", "untouched fields stay");

    // Bad values change nothing.
    a.json_body(
        "PATCH",
        "/api/v1/accounts/update_credentials",
        &json!({"display_name": "x".repeat(31)}),
    )
    .assert_error(422);
    a.json_body(
        "PATCH",
        "/api/v1/accounts/update_credentials",
        &json!({"locked": "perhaps"}),
    )
    .assert_error(422);
    let me = a.get("/api/v1/accounts/verify_credentials").ok();
    assert_eq!(me["display_name"], "Alice A.");
    assert_eq!(me["locked"], true);

    // The follower saw the Update(Person).
    settle(&[&alice, &bob]);
    let seen = resolve_account(&b, &alice.handle());
    assert_eq!(seen["display_name"], "Alice A.");
    assert_eq!(seen["locked"], true);
}

#[test]
fn lookup_show_and_account_statuses() {
    let alice = Api::start("alice");
    let a = alice.login("read write");
    let anon = alice.anon();
    for acct in [
        "alice".to_string(),
        "@alice".to_string(),
        format!("alice@localhost:{}", alice.port),
    ] {
        let q = form(&[("acct", &acct)]);
        let found = anon.get(&format!("/api/v1/accounts/lookup?{q}")).ok();
        assert_eq!(found["id"], "1", "{acct}");
    }
    anon.get("/api/v1/accounts/lookup?acct=nobody")
        .assert_error(404);
    anon.get("/api/v1/accounts/lookup?acct=nobody@elsewhere.example")
        .assert_error(404);
    anon.get("/api/v1/accounts/lookup").assert_error(422);
    assert_eq!(anon.get("/api/v1/accounts/1").ok()["username"], "alice");

    let first = a.status("first, public", "public");
    let first_id = first["id"].as_str().unwrap();
    let reply = a
        .post_json(
            "/api/v1/statuses",
            &json!({"status": "a reply", "in_reply_to_id": first_id}),
        )
        .ok();
    assert_eq!(reply["in_reply_to_id"], first_id);
    assert_eq!(reply["in_reply_to_account_id"], "1");
    let unlisted = a.status("unlisted", "unlisted");
    let private = a.status("followers only", "private");
    let direct = a.status("a note to myself", "direct");
    a.post(&format!("/api/v1/statuses/{first_id}/pin")).ok();
    let id = |v: &serde_json::Value| v["id"].as_str().unwrap().to_string();

    let listed = |client: &Client, query: &str| {
        ids(&client
            .get(&format!("/api/v1/accounts/1/statuses{query}"))
            .ok())
    };
    assert_eq!(
        listed(&anon, ""),
        vec![id(&unlisted), id(&reply), id(&first)],
        "anonymous callers see public and unlisted posts"
    );
    assert_eq!(
        listed(&a, ""),
        vec![id(&private), id(&unlisted), id(&reply), id(&first)],
        "the owner sees followers-only posts, never direct ones here"
    );
    assert!(!listed(&a, "?limit=40").contains(&id(&direct)));
    assert_eq!(
        listed(&anon, "?exclude_replies=true"),
        vec![id(&unlisted), id(&first)]
    );
    assert_eq!(listed(&anon, "?pinned=true"), vec![id(&first)]);
    assert_eq!(
        listed(&anon, "?pinned=1&exclude_replies=1"),
        vec![id(&first)]
    );
    assert!(listed(&a, "?only_media=true").is_empty());
    assert_eq!(listed(&anon, "?limit=1"), vec![id(&unlisted)]);
    anon.get("/api/v1/accounts/1/statuses?pinned=maybe")
        .assert_error(422);
    anon.get("/api/v1/accounts/77/statuses").assert_error(404);
    anon.get("/api/v1/accounts/abc/statuses").assert_error(404);
    let me = a.get("/api/v1/accounts/verify_credentials").ok();
    assert_eq!(me["statuses_count"], 5);
}

#[test]
fn follow_unfollow_block_and_mute_a_second_instance() {
    let alice = Api::start("alice");
    let bob = Api::start("bob");
    let a = alice.login("read write follow");
    let b = bob.login("read write follow");
    let bob_post = b.status("bob says hi", "public");

    let bob_at_alice = follow(&alice, &a, &bob);
    let bid = bob_at_alice["id"].as_str().unwrap().to_string();
    assert_eq!(bob_at_alice["acct"], format!("bob@localhost:{}", bob.port));
    assert_ne!(bid, "1");
    let rel = a
        .get(&format!("/api/v1/accounts/relationships?id[]={bid}&id[]=1"))
        .ok();
    assert_eq!(rel[0]["id"], bid);
    assert_eq!(rel[0]["following"], true);
    assert_eq!(rel[0]["requested"], false);
    assert_eq!(rel[1]["id"], "1");
    let followers = b.get("/api/v1/accounts/1/followers").ok();
    assert_eq!(followers.as_array().unwrap().len(), 1);
    assert_eq!(
        followers[0]["acct"],
        format!("alice@localhost:{}", alice.port)
    );
    let following = a.get("/api/v1/accounts/1/following").ok();
    assert_eq!(ids(&following), vec![bid.clone()]);
    assert_eq!(
        a.get(&format!("/api/v1/accounts/{bid}")).ok()["username"],
        "bob"
    );

    // Bob's new posts reach alice's home timeline.
    let later = b.status("after the follow", "public");
    settle(&[&alice, &bob]);
    let home = a.get("/api/v1/timelines/home").ok();
    assert!(
        home.as_array()
            .unwrap()
            .iter()
            .any(|s| s["uri"] == later["uri"]),
        "{home}"
    );
    assert!(
        !home
            .as_array()
            .unwrap()
            .iter()
            .any(|s| s["uri"] == bob_post["uri"]),
        "older posts were never sent"
    );
    // Bob's account statuses at alice: what alice has stored.
    let bobs = a.get(&format!("/api/v1/accounts/{bid}/statuses")).ok();
    assert_eq!(bobs[0]["uri"], later["uri"]);

    // Unfollow.
    let rel = a.post(&format!("/api/v1/accounts/{bid}/unfollow")).ok();
    assert_eq!(rel["following"], false);
    settle(&[&alice, &bob]);
    assert_eq!(b.get("/api/v1/accounts/1/followers").ok(), json!([]));

    // Mute and unmute.
    let rel = a.post(&format!("/api/v1/accounts/{bid}/mute")).ok();
    assert_eq!(rel["muting"], true);
    assert_eq!(ids(&a.get("/api/v1/mutes").ok()), vec![bid.clone()]);
    let public = a.get("/api/v1/timelines/public").ok();
    assert!(
        !public
            .as_array()
            .unwrap()
            .iter()
            .any(|s| s["account"]["id"] == bid.as_str()),
        "muted accounts' posts are hidden"
    );
    assert_eq!(
        a.post(&format!("/api/v1/accounts/{bid}/unmute")).ok()["muting"],
        false
    );
    assert_eq!(a.get("/api/v1/mutes").ok(), json!([]));

    // Block: ends bob's follow of alice too, and bob learns of it.
    follow(&bob, &b, &alice);
    assert_eq!(
        a.get("/api/v1/accounts/verify_credentials").ok()["followers_count"],
        1
    );
    let rel = a.post(&format!("/api/v1/accounts/{bid}/block")).ok();
    assert_eq!(rel["blocking"], true);
    assert_eq!(rel["followed_by"], false);
    assert_eq!(ids(&a.get("/api/v1/blocks").ok()), vec![bid.clone()]);
    settle(&[&alice, &bob]);
    let alice_at_bob = resolve_account(&b, &alice.handle());
    let rel = b
        .get(&format!(
            "/api/v1/accounts/relationships?id={}",
            alice_at_bob["id"].as_str().unwrap()
        ))
        .ok();
    assert_eq!(rel[0]["blocked_by"], true);
    assert_eq!(rel[0]["following"], false);
    let rel = a.post(&format!("/api/v1/accounts/{bid}/unblock")).ok();
    assert_eq!(rel["blocking"], false);
    assert_eq!(a.get("/api/v1/blocks").ok(), json!([]));

    // Domain blocks.
    let block = |domain: &str| a.post_form("/api/v1/domain_blocks", &[("domain", domain)]);
    let unblock = |domain: &str| {
        a.form_body("DELETE", "/api/v1/domain_blocks", &[("domain", domain)])
            .ok();
    };
    let listed = || a.get("/api/v1/domain_blocks").ok();
    block("spam.example").ok();
    assert_eq!(listed(), json!(["spam.example"]));
    unblock("spam.example");
    assert_eq!(listed(), json!([]));
    block("a b/c").assert_error(422);
    a.post("/api/v1/domain_blocks").assert_error(422);
    // An international name is kept in the form hosts arrive in; kith's own host is
    // not blockable, with or without its port.
    block(" Bücher.Example. ").ok();
    assert_eq!(listed(), json!(["xn--bcher-kva.example"]));
    unblock("bücher.example");
    assert_eq!(listed(), json!([]));
    for refused in ["localhost", "LOCALHOST.", "spam.example:443"] {
        block(refused).assert_error(422);
    }
    assert_eq!(listed(), json!([]));
    // IPv6 hosts are kept in brackets, as they arrive.
    block("2001:DB8::7").ok();
    assert_eq!(listed(), json!(["[2001:db8::7]"]));
    unblock("[2001:db8::7]");
    // A block stored as typed, before names were normalised, can still be removed.
    alice
        .ctx()
        .db
        .write(|tx| kith::db::blocks::insert_domain_block(tx, "bücher.example", 1))
        .unwrap();
    unblock("bücher.example");
    assert_eq!(listed(), json!([]));

    // Bad targets change nothing.
    let follows_before = alice.count("following");
    a.post("/api/v1/accounts/1/follow").assert_error(422);
    a.post("/api/v1/accounts/999999/follow").assert_error(404);
    a.post("/api/v1/accounts/xyz/follow").assert_error(404);
    a.post(&format!("/api/v1/accounts/{bid}/frobnicate"))
        .assert_error(404);
    assert_eq!(alice.count("following"), follows_before);
    assert_eq!(alice.count("blocks"), 0);
}

#[test]
fn follow_requests_of_a_locked_account() {
    let alice = Api::start("alice");
    let bob = Api::start("bob");
    let a = alice.login("read write follow");
    let b = bob.login("read write follow");
    a.form_body(
        "PATCH",
        "/api/v1/accounts/update_credentials",
        &[("locked", "1")],
    )
    .ok();

    let alice_at_bob = follow(&bob, &b, &alice);
    let aid = alice_at_bob["id"].as_str().unwrap().to_string();
    let rel = b
        .get(&format!("/api/v1/accounts/relationships?id={aid}"))
        .ok();
    assert_eq!(rel[0]["requested"], true);
    assert_eq!(rel[0]["following"], false);

    let requests = a.get("/api/v1/follow_requests").ok();
    assert_eq!(requests.as_array().unwrap().len(), 1);
    let bid = requests[0]["id"].as_str().unwrap().to_string();
    assert_eq!(requests[0]["username"], "bob");
    assert_eq!(
        a.get("/api/v1/accounts/verify_credentials").ok()["source"]["follow_requests_count"],
        1
    );
    let notes = a.get("/api/v1/notifications").ok();
    assert_eq!(notes[0]["type"], "follow_request");

    let rel = a
        .post(&format!("/api/v1/follow_requests/{bid}/authorize"))
        .ok();
    assert_eq!(rel["followed_by"], true);
    assert_eq!(rel["requested_by"], false);
    assert_eq!(a.get("/api/v1/follow_requests").ok(), json!([]));
    settle(&[&alice, &bob]);
    let rel = b
        .get(&format!("/api/v1/accounts/relationships?id={aid}"))
        .ok();
    assert_eq!(rel[0]["following"], true);
    let notes = a.get("/api/v1/notifications").ok();
    assert_eq!(notes[0]["type"], "follow");

    // Followers-only posts now reach bob.
    let private = a.status("for my followers", "private");
    settle(&[&alice, &bob]);
    let home = b.get("/api/v1/timelines/home").ok();
    let copy = home
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["uri"] == private["uri"])
        .expect("bob got the followers-only post");
    assert_eq!(copy["visibility"], "private");

    // Remove bob from the followers, then he asks again and is rejected.
    a.post(&format!("/api/v1/accounts/{bid}/remove_from_followers"))
        .ok();
    settle(&[&alice, &bob]);
    b.post(&format!("/api/v1/accounts/{aid}/follow")).ok();
    settle(&[&alice, &bob]);
    assert_eq!(
        ids(&a.get("/api/v1/follow_requests").ok()),
        vec![bid.clone()]
    );
    let rel = a
        .post(&format!("/api/v1/follow_requests/{bid}/reject"))
        .ok();
    assert_eq!(rel["requested_by"], false);
    assert_eq!(rel["followed_by"], false);
    settle(&[&alice, &bob]);
    let rel = b
        .get(&format!("/api/v1/accounts/relationships?id={aid}"))
        .ok();
    assert_eq!(rel[0]["following"], false);
    assert_eq!(rel[0]["requested"], false);
    // No request left to answer.
    a.post(&format!("/api/v1/follow_requests/{bid}/authorize"))
        .assert_error(404);
    a.post("/api/v1/follow_requests/424242/authorize")
        .assert_error(404);
}

#[test]
fn lists_and_members() {
    let alice = Api::start("alice");
    let bob = Api::start("bob");
    let carol = Api::start("carol");
    let a = alice.login("read write follow");
    let b = bob.login("write");
    let c = carol.login("write");
    let bob_acc = follow(&alice, &a, &bob);
    let carol_acc = follow(&alice, &a, &carol);
    let bid = bob_acc["id"].as_str().unwrap();
    let cid = carol_acc["id"].as_str().unwrap();

    let list = a.post_form("/api/v1/lists", &[("title", "Friends")]).ok();
    assert_eq!(list["title"], "Friends");
    assert_eq!(list["replies_policy"], "list");
    let lid = list["id"].as_str().unwrap().to_string();
    let renamed = a
        .json_body(
            "PUT",
            &format!("/api/v1/lists/{lid}"),
            &json!({"title": "Close friends", "replies_policy": "followed"}),
        )
        .ok();
    assert_eq!(renamed["title"], "Close friends");
    assert_eq!(a.get("/api/v1/lists").ok()[0]["title"], "Close friends");
    a.post_form(
        &format!("/api/v1/lists/{lid}/accounts"),
        &[("account_ids[]", bid)],
    )
    .ok();
    assert_eq!(
        ids(&a.get(&format!("/api/v1/lists/{lid}/accounts")).ok()),
        vec![bid.to_string()]
    );

    let from_bob = b.status("bob in the list", "public");
    let from_carol = c.status("carol not in the list", "public");
    settle(&[&alice, &bob, &carol]);
    let tl = a.get(&format!("/api/v1/timelines/list/{lid}")).ok();
    let uris: Vec<&str> = tl
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["uri"].as_str().unwrap())
        .collect();
    assert_eq!(uris, vec![from_bob["uri"].as_str().unwrap()]);
    let home = a.get("/api/v1/timelines/home").ok();
    assert_eq!(home.as_array().unwrap().len(), 2, "{home}");
    assert!(
        home.to_string()
            .contains(from_carol["uri"].as_str().unwrap())
    );

    // Removing a member, bad input, unknown lists.
    a.json_body(
        "DELETE",
        &format!("/api/v1/lists/{lid}/accounts"),
        &json!({"account_ids": [bid]}),
    )
    .ok();
    assert_eq!(
        a.get(&format!("/api/v1/lists/{lid}/accounts")).ok(),
        json!([])
    );
    a.post_form(
        &format!("/api/v1/lists/{lid}/accounts"),
        &[("account_ids[]", "999999")],
    )
    .assert_error(404);
    a.post_form(
        &format!("/api/v1/lists/{lid}/accounts"),
        &[("account_ids[]", cid), ("account_ids[]", "1")],
    )
    .assert_error(404);
    assert_eq!(alice.count("list_members"), 0, "nothing half-added");
    a.post_json("/api/v1/lists", &json!({"title": ""}))
        .assert_error(422);
    a.post_json(
        "/api/v1/lists",
        &json!({"title": "x", "replies_policy": "everyone"}),
    )
    .assert_error(422);
    assert_eq!(alice.count("lists"), 1);
    a.get("/api/v1/lists/999").assert_error(404);
    a.get("/api/v1/timelines/list/999").assert_error(404);
    a.delete(&format!("/api/v1/lists/{lid}")).ok();
    assert_eq!(a.get("/api/v1/lists").ok(), json!([]));
    a.get(&format!("/api/v1/lists/{lid}")).assert_error(404);
}
