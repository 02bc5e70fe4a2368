//! Statuses over HTTP: posting with forms and JSON and an Idempotency-Key, reading,
//! threads, likes, boosts, bookmarks and pins, editing with history and source,
//! deleting, bad input that must change nothing, remote polls through two instances,
//! search with `resolve=true`, and keyword filters.

use crate::api::*;
use serde_json::{Value, json};

fn id(v: &Value) -> String {
    v["id"].as_str().unwrap().to_string()
}

#[test]
fn create_read_and_idempotency() {
    let alice = Api::start("alice");
    let a = alice.login("read write");
    // Mastodon.py: a form with 0/1 booleans.
    let s = a
        .post_form(
            "/api/v1/statuses",
            &[
                ("status", "Hello #Fediverse from a form"),
                ("sensitive", "0"),
                ("visibility", "unlisted"),
                ("language", "en"),
                ("spoiler_text", ""),
            ],
        )
        .ok();
    assert_eq!(s["visibility"], "unlisted");
    assert_eq!(s["sensitive"], false);
    assert_eq!(s["language"], "en");
    assert_eq!(s["account"]["id"], "1");
    assert_eq!(s["tags"][0]["name"], "fediverse");
    assert!(s["content"].as_str().unwrap().contains("Hello"));
    assert!(s["card"].is_null());
    assert_eq!(s["media_attachments"], json!([]));
    assert_eq!(s["favourited"], false);
    let created = s["created_at"].as_str().unwrap();
    assert!(
        created.len() == 24 && created.ends_with('Z') && created.as_bytes()[10] == b'T',
        "{created}"
    );
    // toot and masto: JSON.
    let j = a
        .post_json(
            "/api/v1/statuses",
            &json!({"status": "from JSON", "sensitive": false, "spoiler_text": "cw", "media_ids": []}),
        )
        .ok();
    assert_eq!(j["visibility"], "public");
    assert_eq!(j["spoiler_text"], "cw");
    assert_eq!(j["sensitive"], true, "a content warning makes it sensitive");
    assert!(
        j["id"].as_str().unwrap().parse::<i64>().unwrap()
            > s["id"].as_str().unwrap().parse::<i64>().unwrap(),
        "ids grow"
    );

    // The same Idempotency-Key twice makes one post.
    let before = alice.count("posts");
    let body = serde_json::to_vec(&json!({"status": "only once"})).unwrap();
    let first = a
        .request(
            "POST",
            "/api/v1/statuses",
            &[("Idempotency-Key", "key-1")],
            Some(("application/json", &body)),
        )
        .ok();
    let again = a
        .request(
            "POST",
            "/api/v1/statuses",
            &[("Idempotency-Key", "key-1")],
            Some(("application/json", &body)),
        )
        .ok();
    assert_eq!(first["id"], again["id"]);
    assert_eq!(alice.count("posts"), before + 1);
    let other = a
        .request(
            "POST",
            "/api/v1/statuses",
            &[("Idempotency-Key", "key-2")],
            Some(("application/json", &body)),
        )
        .ok();
    assert_ne!(first["id"], other["id"]);

    // Reading: anyone for public posts.
    let got = alice
        .anon()
        .get(&format!("/api/v1/statuses/{}", id(&j)))
        .ok();
    assert_eq!(got["id"], j["id"]);
    assert_eq!(got["spoiler_text"], "cw");
}

#[test]
fn bad_status_input_changes_nothing() {
    let alice = Api::start("alice");
    let a = alice.login("read write");
    let posts = alice.count("posts");
    let long = "x".repeat(501);
    for body in [
        json!({}),
        json!({"status": ""}),
        json!({"status": "   "}),
        json!({"status": {"nested": 1}}),
        json!({"status": ["a"]}),
        json!({"status": "x", "visibility": "everyone"}),
        json!({"status": "x", "sensitive": "maybe"}),
        json!({"status": "x", "sensitive": 2}),
        json!({"status": long}),
        json!({"status": "x", "media_ids": ["abc"]}),
        json!({"status": "x", "media_ids": ["123456"]}),
        json!({"status": "x", "media_ids": [{"id": 1}]}),
        json!({"status": "x", "in_reply_to_id": "abc"}),
        json!({"status": "x", "poll": {"options": ["only one"], "expires_in": 600}}),
        json!({"status": "x", "poll": {"options": ["a", "b"], "expires_in": 5}}),
        json!({"status": "x", "poll": {"options": ["a", "b", "c", "d", "e"], "expires_in": 600}}),
        json!({"status": "x", "poll": {"options": ["a", ""], "expires_in": 600}}),
        json!({"status": "x", "poll": {"options": ["a", "b"], "expires_in": "soon"}}),
    ] {
        a.post_json("/api/v1/statuses", &body).assert_error(422);
    }
    a.post_form(
        "/api/v1/statuses",
        &[("status", "x"), ("sensitive", "yes please")],
    )
    .assert_error(422);
    a.post_json(
        "/api/v1/statuses",
        &json!({"status": "x", "in_reply_to_id": "999999"}),
    )
    .assert_error(404);
    assert_eq!(alice.count("posts"), posts, "nothing was stored");
    assert_eq!(alice.count("deliveries"), 0, "nothing was queued");
    assert_eq!(alice.count("polls"), 0);
    assert_eq!(alice.count("idempotency_keys"), 0);

    // Unknown ids everywhere.
    for path in [
        "/api/v1/statuses/999999",
        "/api/v1/statuses/999999/context",
        "/api/v1/statuses/999999/history",
        "/api/v1/statuses/999999/source",
        "/api/v1/statuses/999999/favourited_by",
        "/api/v1/polls/999999",
    ] {
        a.get(path).assert_error(404);
    }
    for action in ["favourite", "reblog", "bookmark", "pin", "unfavourite"] {
        a.post(&format!("/api/v1/statuses/999999/{action}"))
            .assert_error(404);
    }
    a.delete("/api/v1/statuses/999999").assert_error(404);
    a.json_body("PUT", "/api/v1/statuses/999999", &json!({"status": "x"}))
        .assert_error(404);
    a.post_json("/api/v1/polls/999999/votes", &json!({"choices": [0]}))
        .assert_error(404);
    assert_eq!(alice.count("favourites"), 0);
    assert_eq!(alice.count("bookmarks"), 0);
    assert_eq!(alice.count("posts"), posts);
}

#[test]
fn reactions_round_trip() {
    let alice = Api::start("alice");
    let a = alice.login("read write");
    let s = a.status("react to me", "public");
    let sid = id(&s);

    let fav = a.post(&format!("/api/v1/statuses/{sid}/favourite")).ok();
    assert_eq!(fav["favourited"], true);
    assert_eq!(fav["favourites_count"], 1);
    // Twice is still one.
    let fav = a.post(&format!("/api/v1/statuses/{sid}/favourite")).ok();
    assert_eq!(fav["favourites_count"], 1);
    assert_eq!(ids(&a.get("/api/v1/favourites").ok()), vec![sid.clone()]);
    let unfav = a.post(&format!("/api/v1/statuses/{sid}/unfavourite")).ok();
    assert_eq!(unfav["favourited"], false);
    assert_eq!(unfav["favourites_count"], 0);
    assert_eq!(a.get("/api/v1/favourites").ok(), json!([]));

    let boost = a.post(&format!("/api/v1/statuses/{sid}/reblog")).ok();
    assert_ne!(boost["id"], s["id"]);
    assert_eq!(boost["reblog"]["id"], s["id"]);
    assert_eq!(boost["reblog"]["reblogged"], true);
    assert_eq!(boost["reblog"]["reblogs_count"], 1);
    let home = a.get("/api/v1/timelines/home").ok();
    assert_eq!(
        home[0]["id"], boost["id"],
        "the boost heads the home timeline"
    );
    let again = a.post(&format!("/api/v1/statuses/{sid}/reblog")).ok();
    assert_eq!(again["id"], boost["id"], "boosting twice keeps one boost");
    let unboost = a.post(&format!("/api/v1/statuses/{sid}/unreblog")).ok();
    assert_eq!(unboost["reblogged"], false);
    assert_eq!(unboost["reblogs_count"], 0);
    assert_eq!(
        ids(&a.get("/api/v1/timelines/home").ok()),
        vec![sid.clone()]
    );

    let bm = a.post(&format!("/api/v1/statuses/{sid}/bookmark")).ok();
    assert_eq!(bm["bookmarked"], true);
    assert_eq!(ids(&a.get("/api/v1/bookmarks").ok()), vec![sid.clone()]);
    let unbm = a.post(&format!("/api/v1/statuses/{sid}/unbookmark")).ok();
    assert_eq!(unbm["bookmarked"], false);
    assert_eq!(a.get("/api/v1/bookmarks").ok(), json!([]));

    let pin = a.post(&format!("/api/v1/statuses/{sid}/pin")).ok();
    assert_eq!(pin["pinned"], true);
    let unpin = a.post(&format!("/api/v1/statuses/{sid}/unpin")).ok();
    assert_eq!(unpin["pinned"], false);
    let private = a.status("not pinnable", "private");
    a.post(&format!("/api/v1/statuses/{}/pin", id(&private)))
        .assert_error(422);
    // A followers-only post cannot be boosted.
    a.post(&format!("/api/v1/statuses/{}/reblog", id(&private)))
        .assert_error(422);
    assert_eq!(alice.count("posts WHERE reblog_of_id IS NOT NULL"), 0);
}

#[test]
fn threads_edits_history_source_and_delete() {
    let alice = Api::start("alice");
    let a = alice.login("read write");
    let root = a.status("root of a thread", "public");
    let mid = a
        .post_json(
            "/api/v1/statuses",
            &json!({"status": "middle", "in_reply_to_id": id(&root)}),
        )
        .ok();
    let leaf = a
        .post_json(
            "/api/v1/statuses",
            &json!({"status": "leaf", "in_reply_to_id": id(&mid)}),
        )
        .ok();
    let hidden = a
        .post_json(
            "/api/v1/statuses",
            &json!({"status": "followers-only reply", "in_reply_to_id": id(&mid), "visibility": "private"}),
        )
        .ok();
    let context = a
        .get(&format!("/api/v1/statuses/{}/context", id(&mid)))
        .ok();
    assert_eq!(ids(&context["ancestors"]), vec![id(&root)]);
    assert_eq!(ids(&context["descendants"]), vec![id(&leaf), id(&hidden)]);
    let anon_context = alice
        .anon()
        .get(&format!("/api/v1/statuses/{}/context", id(&root)))
        .ok();
    assert_eq!(
        ids(&anon_context["descendants"]),
        vec![id(&mid), id(&leaf)],
        "anonymous readers do not see the followers-only reply"
    );
    assert_eq!(
        a.get(&format!("/api/v1/statuses/{}", id(&mid))).ok()["replies_count"],
        2
    );

    // Edit, then history and source.
    let edited = a
        .json_body(
            "PUT",
            &format!("/api/v1/statuses/{}", id(&root)),
            &json!({"status": "root, edited #tagged", "spoiler_text": "", "language": "de"}),
        )
        .ok();
    assert!(edited["content"].as_str().unwrap().contains("edited"));
    assert!(edited["edited_at"].is_string());
    assert_eq!(edited["created_at"], root["created_at"]);
    assert_eq!(edited["id"], root["id"]);
    assert_eq!(edited["visibility"], "public", "visibility does not change");
    let history = a
        .get(&format!("/api/v1/statuses/{}/history", id(&root)))
        .ok();
    let versions = history.as_array().unwrap();
    assert_eq!(versions.len(), 2);
    assert!(
        versions[0]["content"]
            .as_str()
            .unwrap()
            .contains("root of a thread")
    );
    assert!(versions[1]["content"].as_str().unwrap().contains("edited"));
    let source = a
        .get(&format!("/api/v1/statuses/{}/source", id(&root)))
        .ok();
    assert_eq!(source["text"], "root, edited #tagged");
    assert_eq!(source["id"], root["id"]);
    alice
        .anon()
        .get(&format!("/api/v1/statuses/{}/source", id(&root)))
        .assert_error(401);
    a.json_body(
        "PUT",
        &format!("/api/v1/statuses/{}", id(&root)),
        &json!({"status": ""}),
    )
    .assert_error(422);
    assert_eq!(
        alice.count("post_edits"),
        1,
        "the refused edit left no version"
    );

    // Delete answers the status with its source text, then it is gone.
    let deleted = a.delete(&format!("/api/v1/statuses/{}", id(&leaf))).ok();
    assert_eq!(deleted["id"], leaf["id"]);
    assert_eq!(deleted["text"], "leaf");
    a.get(&format!("/api/v1/statuses/{}", id(&leaf)))
        .assert_error(404);
    a.delete(&format!("/api/v1/statuses/{}", id(&leaf)))
        .assert_error(404);
    // megalodon sends a JSON body `{}` with DELETE.
    let deleted = a
        .json_body(
            "DELETE",
            &format!("/api/v1/statuses/{}", id(&hidden)),
            &json!({}),
        )
        .ok();
    assert_eq!(deleted["id"], hidden["id"]);
    let context = a
        .get(&format!("/api/v1/statuses/{}/context", id(&mid)))
        .ok();
    assert_eq!(context["descendants"], json!([]));
    assert_eq!(
        a.get("/api/v1/accounts/verify_credentials").ok()["statuses_count"],
        2
    );
}

#[test]
fn remote_poll_vote_through_two_instances() {
    let alice = Api::start("alice");
    let bob = Api::start("bob");
    let a = alice.login("read write follow");
    let b = bob.login("read write");
    follow(&alice, &a, &bob);
    // Mastodon.py sends a poll as a form.
    let with_poll = b
        .post_form(
            "/api/v1/statuses",
            &[
                ("status", "Tea or coffee?"),
                ("poll[options][]", "tea"),
                ("poll[options][]", "coffee"),
                ("poll[expires_in]", "3600"),
            ],
        )
        .ok();
    let poll = &with_poll["poll"];
    assert_eq!(poll["options"][1]["title"], "coffee");
    assert_eq!(poll["multiple"], false);
    assert_eq!(poll["expired"], false);
    let bob_poll_id = poll["id"].as_str().unwrap().to_string();
    // Bob cannot vote in his own poll.
    b.post_json(
        &format!("/api/v1/polls/{bob_poll_id}/votes"),
        &json!({"choices": [0]}),
    )
    .assert_error(422);
    settle(&[&alice, &bob]);

    let home = a.get("/api/v1/timelines/home").ok();
    let copy = home
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["uri"] == with_poll["uri"])
        .expect("alice has bob's poll")
        .clone();
    let pid = copy["poll"]["id"].as_str().unwrap().to_string();
    assert_eq!(a.get(&format!("/api/v1/polls/{pid}")).ok()["voted"], false);
    for bad in [
        json!({"choices": [2]}),
        json!({"choices": [0, 1]}),
        json!({"choices": []}),
        json!({"choices": ["x"]}),
    ] {
        a.post_json(&format!("/api/v1/polls/{pid}/votes"), &bad)
            .assert_error(422);
    }
    assert_eq!(alice.count("poll_votes"), 0);
    let voted = a
        .post_form(&format!("/api/v1/polls/{pid}/votes"), &[("choices[]", "1")])
        .ok();
    assert_eq!(voted["voted"], true);
    assert_eq!(voted["own_votes"], json!([1]));
    assert_eq!(voted["options"][1]["votes_count"], 1);
    a.post_json(
        &format!("/api/v1/polls/{pid}/votes"),
        &json!({"choices": [0]}),
    )
    .assert_error(422);
    settle(&[&alice, &bob]);
    let at_bob = b.get(&format!("/api/v1/polls/{bob_poll_id}")).ok();
    assert_eq!(at_bob["votes_count"], 1);
    assert_eq!(at_bob["options"][1]["votes_count"], 1);
    assert_eq!(at_bob["options"][0]["votes_count"], 0);
    assert_eq!(at_bob["voters_count"], 1);
}

#[test]
fn search_resolves_remote_accounts_and_posts() {
    let alice = Api::start("alice");
    let bob = Api::start("bob");
    let a = alice.login("read write follow");
    let b = bob.login("read write");
    let bob_post = b.status("a findable #searchable post", "public");

    // Without resolve, nothing is known yet; with it, bob is fetched through WebFinger.
    let q = form(&[("q", &bob.handle())]);
    let found = a.get(&format!("/api/v2/search?{q}")).ok();
    assert_eq!(found["accounts"], json!([]));
    let account = resolve_account(&a, &bob.handle());
    assert_eq!(account["username"], "bob");
    assert_eq!(account["acct"], format!("bob@localhost:{}", bob.port));
    // Now known, it is found without resolve and by lookup.
    let found = a.get(&format!("/api/v2/search?{q}")).ok();
    assert_eq!(found["accounts"][0]["id"], account["id"]);
    let look = a
        .get(&format!(
            "/api/v1/accounts/lookup?acct=bob@localhost:{}",
            bob.port
        ))
        .ok();
    assert_eq!(look["id"], account["id"]);
    // A post URL resolves to the post.
    let q = form(&[
        ("q", bob_post["uri"].as_str().unwrap()),
        ("resolve", "true"),
    ]);
    let found = a.get(&format!("/api/v2/search?{q}")).ok();
    assert_eq!(found["statuses"][0]["uri"], bob_post["uri"]);
    // Anonymous callers may not make kith fetch anything.
    let q = form(&[("q", "@carol@localhost:1"), ("resolve", "true")]);
    assert_eq!(
        alice.anon().get(&format!("/api/v2/search?{q}")).ok()["accounts"],
        json!([])
    );
    // Text and hashtag search.
    a.status("my own #searchable words", "public");
    let found = a.get("/api/v2/search?q=searchable").ok();
    assert_eq!(found["statuses"].as_array().unwrap().len(), 2);
    assert_eq!(found["hashtags"][0]["name"], "searchable");
    let only = a.get("/api/v2/search?q=searchable&type=hashtags").ok();
    assert_eq!(only["statuses"], json!([]));
    a.get("/api/v2/search").assert_error(422);
    a.get("/api/v2/search?q=x&limit=ten").assert_error(422);
}

#[test]
fn filters_hide_and_warn() {
    let alice = Api::start("alice");
    let a = alice.login("read write");
    let spoiler = a.status("the finale was a surprise", "public");
    let plain = a.status("nothing to see", "public");
    let tv = a.status("a tv show", "public");

    let hide = a
        .post_form(
            "/api/v2/filters",
            &[
                ("title", "Spoilers"),
                ("context[]", "home"),
                ("context[]", "public"),
                ("filter_action", "hide"),
                ("keywords_attributes[][keyword]", "finale"),
            ],
        )
        .ok();
    assert_eq!(hide["filter_action"], "hide");
    assert_eq!(hide["keywords"][0]["keyword"], "finale");
    assert_eq!(hide["context"], json!(["home", "public"]));
    let home = a.get("/api/v1/timelines/home").ok();
    assert_eq!(
        ids(&home),
        vec![id(&tv), id(&plain)],
        "the hidden status is gone"
    );
    assert!(!ids(&a.get("/api/v1/timelines/public").ok()).contains(&id(&spoiler)));
    // A context the filter does not name is untouched.
    assert!(ids(&a.get("/api/v1/accounts/1/statuses").ok()).contains(&id(&spoiler)));

    let warn = a
        .post_json(
            "/api/v2/filters",
            &json!({"title": "TV", "context": ["home"], "filter_action": "warn",
                    "keywords_attributes": [{"keyword": "tv", "whole_word": true}]}),
        )
        .ok();
    let home = a.get("/api/v1/timelines/home").ok();
    let marked = home
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["id"] == tv["id"])
        .unwrap();
    assert_eq!(marked["filtered"][0]["filter"]["title"], "TV");
    assert_eq!(marked["filtered"][0]["keyword_matches"], json!(["tv"]));
    let other = home
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["id"] == plain["id"])
        .unwrap();
    assert_eq!(other["filtered"], json!([]));

    // List, update, delete.
    assert_eq!(a.get("/api/v2/filters").ok().as_array().unwrap().len(), 2);
    let wid = id(&warn);
    let updated = a
        .json_body(
            "PUT",
            &format!("/api/v2/filters/{wid}"),
            &json!({"title": "Telly", "context": ["home"], "filter_action": "hide", "keywords_attributes": [{"keyword": "tv"}]}),
        )
        .ok();
    assert_eq!(updated["title"], "Telly");
    assert!(!ids(&a.get("/api/v1/timelines/home").ok()).contains(&id(&tv)));
    a.delete(&format!("/api/v2/filters/{wid}")).ok();
    a.delete(&format!("/api/v2/filters/{}", id(&hide))).ok();
    assert_eq!(ids(&a.get("/api/v1/timelines/home").ok()).len(), 3);
    // Bad filters change nothing.
    let filters = alice.count("filters");
    for bad in [
        json!({"title": "x", "context": []}),
        json!({"title": "x", "context": ["everywhere"]}),
        json!({"title": "x", "context": ["home"], "filter_action": "explode"}),
        json!({"context": ["home"]}),
    ] {
        a.post_json("/api/v2/filters", &bad).assert_error(422);
    }
    assert_eq!(alice.count("filters"), filters);
    a.get("/api/v2/filters/999").assert_error(404);
    a.delete("/api/v2/filters/999").assert_error(404);
    a.json_body(
        "PUT",
        "/api/v2/filters/999",
        &json!({"title": "x", "context": ["home"]}),
    )
    .assert_error(404);
}
