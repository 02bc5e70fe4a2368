//! Timelines over HTTP: home, public (local and remote), hashtag; paging with
//! `max_id`, `since_id` and `min_id` and `Link` headers that keep the other
//! parameters; notifications with type filters, one, dismiss and clear; markers; and
//! the visibility rule that a direct message shows in no public place.

use crate::api::*;
use serde_json::{Value, json};

fn id(v: &Value) -> String {
    v["id"].as_str().unwrap().to_string()
}

#[test]
fn home_public_local_remote_and_tag() {
    let alice = Api::start("alice");
    let bob = Api::start("bob");
    let a = alice.login("read write follow");
    let b = bob.login("read write");
    follow(&alice, &a, &bob);
    let mine = a.status("local #Rust post", "public");
    let quiet = a.status("local unlisted #rust", "unlisted");
    let theirs = b.status("remote #rust post", "public");
    // Remote posts are ordered by arrival within a second: deliver one at a time.
    settle(&[&alice, &bob]);
    let other_tag = b.status("remote #go post", "public");
    settle(&[&alice, &bob]);
    let anon = alice.anon();
    let uris = |v: &Value| -> Vec<String> {
        v.as_array()
            .unwrap()
            .iter()
            .map(|s| s["uri"].as_str().unwrap().to_string())
            .collect()
    };
    let uri = |v: &Value| v["uri"].as_str().unwrap().to_string();

    let home = a.get("/api/v1/timelines/home").ok();
    assert_eq!(
        uris(&home),
        vec![uri(&other_tag), uri(&theirs), uri(&quiet), uri(&mine)]
    );
    let public = anon.get("/api/v1/timelines/public").ok();
    assert_eq!(
        uris(&public),
        vec![uri(&other_tag), uri(&theirs), uri(&mine)],
        "unlisted posts stay out of the public timeline"
    );
    for local in ["local=true", "local=1"] {
        assert_eq!(
            uris(&anon.get(&format!("/api/v1/timelines/public?{local}")).ok()),
            vec![uri(&mine)]
        );
    }
    assert_eq!(
        uris(&anon.get("/api/v1/timelines/public?remote=true").ok()),
        vec![uri(&other_tag), uri(&theirs)]
    );
    assert_eq!(
        uris(&anon.get("/api/v1/timelines/tag/rust").ok()),
        vec![uri(&theirs), uri(&mine)]
    );
    assert_eq!(
        uris(&a.get("/api/v1/timelines/tag/RUST").ok()),
        vec![uri(&theirs), uri(&mine)],
        "tags match case-insensitively"
    );
    assert_eq!(anon.get("/api/v1/timelines/tag/nothing").ok(), json!([]));
    // Remote statuses carry their author as a remote account.
    let remote = &public[1];
    assert_eq!(
        remote["account"]["acct"],
        format!("bob@localhost:{}", bob.port)
    );
    assert_ne!(remote["account"]["id"], "1");
    anon.get("/api/v1/timelines/public?local=sure")
        .assert_error(422);
}

#[test]
fn paging_boundaries_and_link_headers() {
    let alice = Api::start("alice");
    let a = alice.login("read write");
    let posts: Vec<String> = (1..=5)
        .map(|i| id(&a.status(&format!("post {i}"), "public")))
        .collect();
    let (p1, p2, p3, p4, p5) = (&posts[0], &posts[1], &posts[2], &posts[3], &posts[4]);
    let page = |q: &str| ids(&a.get(&format!("/api/v1/timelines/public?{q}")).ok());

    assert_eq!(page(&format!("max_id={p3}")), vec![p2.clone(), p1.clone()]);
    assert_eq!(
        page(&format!("since_id={p3}")),
        vec![p5.clone(), p4.clone()]
    );
    assert_eq!(
        page(&format!("since_id={p1}&limit=2")),
        vec![p5.clone(), p4.clone()],
        "since_id gives the newest"
    );
    assert_eq!(
        page(&format!("min_id={p1}&limit=2")),
        vec![p3.clone(), p2.clone()],
        "min_id gives the ones right after it, newest first"
    );
    assert_eq!(
        page(&format!("max_id={p5}&min_id={p2}")),
        vec![p4.clone(), p3.clone()]
    );
    assert_eq!(page(&format!("max_id={p1}")), Vec::<String>::new());
    assert_eq!(page(&format!("min_id={p5}")), Vec::<String>::new());

    // Walk with Link headers; other parameters survive; the last page has none.
    let first = a.get("/api/v1/timelines/public?limit=2&local=true");
    assert_eq!(ids(&first.json()), vec![p5.clone(), p4.clone()]);
    let next = first.link("next").expect("a next link");
    let prev = first.link("prev").expect("a prev link");
    assert!(
        next.starts_with(&alice.public("/api/v1/timelines/public?")),
        "Link URLs use the public address: {next}"
    );
    for url in [&next, &prev] {
        assert_eq!(query_param(url, "limit").as_deref(), Some("2"), "{url}");
        assert_eq!(query_param(url, "local").as_deref(), Some("true"), "{url}");
    }
    assert_eq!(query_param(&next, "max_id").as_deref(), Some(p4.as_str()));
    assert_eq!(query_param(&prev, "min_id").as_deref(), Some(p5.as_str()));
    let second = a.get(&next);
    assert_eq!(ids(&second.json()), vec![p3.clone(), p2.clone()]);
    let third = a.get(&second.link("next").unwrap());
    assert_eq!(ids(&third.json()), vec![p1.clone()]);
    let end = a.get(&third.link("next").unwrap());
    assert_eq!(end.ok(), json!([]));
    assert!(end.header("link").is_none(), "no Link on an empty page");
    // The prev link of the second page leads back to the newest.
    let back = a.get(&second.link("prev").unwrap());
    assert_eq!(ids(&back.json()), vec![p5.clone(), p4.clone()]);
    let top = a.get(&first.link("prev").unwrap());
    assert_eq!(top.ok(), json!([]));
    assert!(top.header("link").is_none());

    // limit is clamped to 40, never refused.
    for i in 0..40 {
        kith::process::create_post(
            alice.ctx(),
            &kith::process::Draft {
                text: format!("filler {i}"),
                visibility: "public".into(),
                ..Default::default()
            },
        )
        .unwrap();
    }
    assert_eq!(page("limit=1000").len(), 40);
    assert_eq!(page("limit=0").len(), 1);
    assert_eq!(page("").len(), 20, "the default is 20");
    assert_eq!(
        a.get("/api/v1/timelines/home?limit=100")
            .ok()
            .as_array()
            .unwrap()
            .len(),
        40
    );
    assert_eq!(
        a.get("/api/v1/accounts/1/statuses?limit=41")
            .ok()
            .as_array()
            .unwrap()
            .len(),
        40
    );
}

#[test]
fn notifications_types_one_dismiss_and_clear() {
    let alice = Api::start("alice");
    let bob = Api::start("bob");
    let a = alice.login("read write follow");
    let b = bob.login("read write follow");
    let post = a.status("notify me", "public");
    follow(&bob, &b, &alice);
    let copy = {
        let q = form(&[("q", post["uri"].as_str().unwrap()), ("resolve", "true")]);
        b.get(&format!("/api/v2/search?{q}")).ok()["statuses"][0].clone()
    };
    // One at a time, so notifications arrive in a known order.
    b.post(&format!("/api/v1/statuses/{}/favourite", id(&copy)))
        .ok();
    settle(&[&alice, &bob]);
    b.post(&format!("/api/v1/statuses/{}/reblog", id(&copy)))
        .ok();
    settle(&[&alice, &bob]);
    b.post_json(
        "/api/v1/statuses",
        &json!({"status": format!("{} hello", alice.handle()), "in_reply_to_id": id(&copy)}),
    )
    .ok();
    settle(&[&alice, &bob]);

    let all = a.get("/api/v1/notifications").ok();
    let types: Vec<&str> = all
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n["type"].as_str().unwrap())
        .collect();
    assert_eq!(types, vec!["mention", "reblog", "favourite", "follow"]);
    assert_eq!(all[0]["account"]["username"], "bob");
    assert!(
        all[0]["status"]["content"]
            .as_str()
            .unwrap()
            .contains("hello")
    );
    assert_eq!(all[2]["status"]["id"], post["id"]);
    assert!(all[3]["status"].is_null());

    let only = |q: &str| -> Vec<String> {
        a.get(&format!("/api/v1/notifications?{q}"))
            .ok()
            .as_array()
            .unwrap()
            .iter()
            .map(|n| n["type"].as_str().unwrap().to_string())
            .collect()
    };
    assert_eq!(only("types[]=mention"), vec!["mention"]);
    assert_eq!(
        only("types[]=favourite&types[]=reblog"),
        vec!["reblog", "favourite"]
    );
    assert_eq!(
        only("exclude_types[]=follow&exclude_types[]=mention"),
        vec!["reblog", "favourite"]
    );
    assert_eq!(
        only("types[]=follow&exclude_types[]=follow"),
        Vec::<String>::new()
    );
    // since_id gives the newest above it; min_id (a prev link) the ones right after it.
    let oldest = id(&all[3]);
    assert_eq!(
        only(&format!("since_id={oldest}&limit=2")),
        vec!["mention", "reblog"]
    );
    assert_eq!(
        only(&format!("min_id={oldest}&limit=2")),
        vec!["reblog", "favourite"]
    );
    let newest_two = a.get(&format!(
        "/api/v1/notifications?limit=2&max_id={}",
        id(&all[0])
    ));
    let back = a.get(&newest_two.link("prev").unwrap()).ok();
    assert_eq!(ids(&back), vec![id(&all[0])], "the prev page of a page");
    // Paging through notifications keeps the type filter.
    let first = a.get("/api/v1/notifications?limit=1&exclude_types[]=follow");
    let next = first.link("next").unwrap();
    assert_eq!(
        query_param(&next, "exclude_types[]").as_deref(),
        Some("follow")
    );
    let second = a.get(&next).ok();
    assert_eq!(second[0]["type"], "reblog");
    // Grouped notifications (Mastodon.py 2.x reads these).
    let grouped = a.get("/api/v2/notifications").ok();
    assert_eq!(grouped["notification_groups"].as_array().unwrap().len(), 4);
    assert_eq!(grouped["accounts"].as_array().unwrap().len(), 1);

    // One, dismiss, clear.
    let nid = id(&all[1]);
    assert_eq!(
        a.get(&format!("/api/v1/notifications/{nid}")).ok()["type"],
        "reblog"
    );
    a.get("/api/v1/notifications/12345").assert_error(404);
    a.post(&format!("/api/v1/notifications/{nid}/dismiss")).ok();
    a.get(&format!("/api/v1/notifications/{nid}"))
        .assert_error(404);
    a.post(&format!("/api/v1/notifications/{nid}/dismiss"))
        .assert_error(404);
    assert_eq!(alice.count("notifications"), 3);
    assert_eq!(a.get("/api/v1/notifications/unread_count").ok()["count"], 3);
    a.post("/api/v1/notifications/clear").ok();
    assert_eq!(a.get("/api/v1/notifications").ok(), json!([]));
    assert_eq!(alice.count("notifications"), 0);
    // favourited_by and reblogged_by name bob.
    assert_eq!(
        a.get(&format!("/api/v1/statuses/{}/favourited_by", id(&post)))
            .ok()[0]["username"],
        "bob"
    );
    assert_eq!(
        a.get(&format!("/api/v1/statuses/{}/reblogged_by", id(&post)))
            .ok()[0]["username"],
        "bob"
    );
}

#[test]
fn markers_round_trip() {
    let alice = Api::start("alice");
    let a = alice.login("read write");
    assert_eq!(a.get("/api/v1/markers?timeline[]=home").ok(), json!({}));
    let s = a.status("read up to here", "public");
    let set = a
        .post_form(
            "/api/v1/markers",
            &[("home[last_read_id]", s["id"].as_str().unwrap())],
        )
        .ok();
    assert_eq!(set["home"]["last_read_id"], s["id"]);
    let set = a
        .post_json(
            "/api/v1/markers",
            &json!({"notifications": {"last_read_id": "42"}}),
        )
        .ok();
    assert_eq!(set["notifications"]["last_read_id"], "42");
    let got = a
        .get("/api/v1/markers?timeline[]=home&timeline[]=notifications")
        .ok();
    assert_eq!(got["home"]["last_read_id"], s["id"]);
    assert_eq!(got["notifications"]["last_read_id"], "42");
    assert!(got["home"]["updated_at"].as_str().unwrap().ends_with('Z'));
    let only_home = a.get("/api/v1/markers?timeline[]=home").ok();
    assert!(only_home.get("notifications").is_none());
    a.post_json(
        "/api/v1/markers",
        &json!({"home": {"last_read_id": "not-an-id"}}),
    )
    .assert_error(422);
    a.post_json("/api/v1/markers", &json!({"home": {}}))
        .assert_error(422);
    assert_eq!(
        a.get("/api/v1/markers").ok()["home"]["last_read_id"],
        s["id"],
        "refused updates changed nothing"
    );
}

/// SECURITY 54: a direct message shows in no public timeline, hashtag timeline,
/// search, anonymous account listing or Link page; followers-only posts stay private.
#[test]
fn direct_messages_stay_out_of_public_places() {
    let alice = Api::start("alice");
    let bob = Api::start("bob");
    let a = alice.login("read write follow");
    let b = bob.login("read write follow");
    follow(&bob, &b, &alice);
    follow(&alice, &a, &bob);
    let public_before = a.status("public #secret words", "public");
    let dm = a.status(
        &format!("{} the #secret words in a direct message", bob.handle()),
        "direct",
    );
    let private = a.status("followers-only #secret words", "private");
    let public_after = a.status("public #secret words again", "public");
    // Bob answers with a direct message of his own, which alice stores.
    let bob_dm = b.status(
        &format!("{} #secret words back, directly", alice.handle()),
        "direct",
    );
    settle(&[&alice, &bob]);
    let bob_dm_at_alice = {
        let direct = a.get("/api/v1/timelines/direct").ok();
        direct
            .as_array()
            .unwrap()
            .iter()
            .find(|s| s["uri"] == bob_dm["uri"])
            .expect("alice got bob's DM")
            .clone()
    };
    assert_eq!(bob_dm_at_alice["visibility"], "direct");
    let secret_ids = [id(&dm), id(&bob_dm_at_alice)];
    let private_id = id(&private);
    let anon = alice.anon();

    let check = |client: &Client, path: &str, allow_private: bool| {
        // Walk every page through Link headers, both ways, with a small page size.
        let mut seen = Vec::new();
        let mut queue = vec![format!(
            "{path}{}limit=1",
            if path.contains('?') { "&" } else { "?" }
        )];
        let mut visited = std::collections::HashSet::new();
        while let Some(url) = queue.pop() {
            if !visited.insert(url.clone()) || visited.len() > 40 {
                continue;
            }
            let got = client.get(&url);
            let v = got.ok();
            let text = v.to_string();
            for s in &secret_ids {
                assert!(
                    !text.contains(&format!("\"id\":\"{s}\"")),
                    "{path}: DM {s} leaked via {url}"
                );
                for rel in ["next", "prev"] {
                    if let Some(link) = got.link(rel) {
                        assert!(
                            !link.contains(s.as_str()),
                            "{path}: DM id {s} in a Link: {link}"
                        );
                    }
                }
            }
            if !allow_private {
                assert!(
                    !text.contains(&format!("\"id\":\"{private_id}\"")),
                    "{path}: followers-only post leaked via {url}"
                );
            }
            assert!(
                !text.contains("directly"),
                "{path}: DM text leaked via {url}"
            );
            assert!(
                !text.contains("in a direct message"),
                "{path}: DM text leaked via {url}"
            );
            for i in ids(&v) {
                if !seen.contains(&i) {
                    seen.push(i);
                }
            }
            for rel in ["next", "prev"] {
                if let Some(link) = got.link(rel) {
                    queue.push(link);
                }
            }
        }
        seen
    };
    for client in [&anon, &a] {
        let owner = client.token.is_some();
        let seen = check(client, "/api/v1/timelines/public", false);
        assert!(seen.contains(&id(&public_before)) && seen.contains(&id(&public_after)));
        check(client, "/api/v1/timelines/public?local=true", false);
        check(client, "/api/v1/timelines/public?remote=true", false);
        let seen = check(client, "/api/v1/timelines/tag/secret", false);
        assert_eq!(
            seen.len(),
            2,
            "only the two public posts carry the tag publicly"
        );
        let seen = check(client, "/api/v1/accounts/1/statuses", owner);
        assert!(seen.contains(&id(&public_after)));
        assert_eq!(seen.contains(&private_id), owner);
        let bob_id = resolve_account(&a, &bob.handle())["id"]
            .as_str()
            .unwrap()
            .to_string();
        check(
            client,
            &format!("/api/v1/accounts/{bob_id}/statuses"),
            owner,
        );
        for q in ["secret", "directly", "direct message", "#secret"] {
            let found = client
                .get(&format!("/api/v2/search?{}", form(&[("q", q)])))
                .ok();
            for s in &secret_ids {
                assert!(
                    !found.to_string().contains(s.as_str()),
                    "search {q:?} found DM {s}"
                );
            }
            assert!(!found.to_string().contains("directly"));
        }
    }
    // Anonymous readers cannot open the DMs or the followers-only post by id.
    for s in secret_ids.iter().chain([&private_id]) {
        anon.get(&format!("/api/v1/statuses/{s}")).assert_error(404);
        anon.get(&format!("/api/v1/statuses/{s}/context"))
            .assert_error(404);
        anon.post(&format!("/api/v1/statuses/{s}/favourite"))
            .assert_error(401);
    }
    // An app's own token (client_credentials) is not the owner either.
    let app = register_app(&alice, REDIRECT, "read");
    let cc = alice
        .anon()
        .post_form(
            "/oauth/token",
            &[
                ("grant_type", "client_credentials"),
                ("client_id", app["client_id"].as_str().unwrap()),
                ("client_secret", app["client_secret"].as_str().unwrap()),
                ("scope", "read"),
            ],
        )
        .ok();
    let app_client = alice.with_token(cc["access_token"].as_str().unwrap());
    for s in secret_ids.iter().chain([&private_id]) {
        app_client
            .get(&format!("/api/v1/statuses/{s}"))
            .assert_error(404);
    }
    let seen = check(&app_client, "/api/v1/accounts/1/statuses", false);
    assert!(!seen.contains(&private_id));
    let found = app_client.get("/api/v2/search?q=secret").ok();
    assert!(!found.to_string().contains(&private_id), "{found}");
    // The owner still has them where they belong.
    let direct = ids(&a.get("/api/v1/timelines/direct").ok());
    assert!(direct.contains(&id(&dm)) && direct.contains(&id(&bob_dm_at_alice)));
    let conversations = a.get("/api/v1/conversations").ok();
    assert_eq!(conversations.as_array().unwrap().len(), 2);
    a.get(&format!("/api/v1/statuses/{}", id(&dm))).ok();
}
