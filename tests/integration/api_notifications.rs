//! Grouped notifications (v2) and the notification policy over HTTP: likes of one
//! post, and follows, within the window form one group with its sample accounts and
//! count; one group, its accounts, dismissing it and the unread count; a policy that
//! filters senders the owner does not follow holds their notifications as requests,
//! which can be accepted or dismissed; and the bad input each endpoint refuses.

use crate::api::*;
use serde_json::{Value, json};

/// `who` (following `alice` already) likes alice's newest post as it reached them.
fn like_newest(who: &Client, post_uri: &str) {
    let home = who.get("/api/v1/timelines/home").ok();
    let local = home
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["uri"] == post_uri)
        .unwrap_or_else(|| panic!("{post_uri} not in {home}"))
        .clone();
    let id = local["id"].as_str().unwrap();
    who.post(&format!("/api/v1/statuses/{id}/favourite")).ok();
}

fn group<'a>(results: &'a Value, ty: &str) -> &'a Value {
    results["notification_groups"]
        .as_array()
        .unwrap()
        .iter()
        .find(|g| g["type"] == ty)
        .unwrap_or_else(|| panic!("no {ty} group in {results}"))
}

#[test]
fn likes_of_one_post_form_one_group() {
    let alice = Api::start("alice");
    let bob = Api::start("bob");
    let carol = Api::start("carol");
    let a = alice.login("read write follow");
    let b = bob.login("read write follow");
    let c = carol.login("read write follow");
    follow(&bob, &b, &alice);
    follow(&carol, &c, &alice);
    let post = a.status("like me", "public");
    settle(&[&alice, &bob, &carol]);
    let uri = post["uri"].as_str().unwrap();
    like_newest(&b, uri);
    settle(&[&alice, &bob, &carol]);
    like_newest(&c, uri);
    settle(&[&alice, &bob, &carol]);

    let results = a.get("/api/v2/notifications").ok();
    let groups = results["notification_groups"].as_array().unwrap();
    assert_eq!(groups.len(), 2, "{results}");
    let likes = group(&results, "favourite");
    let key = likes["group_key"].as_str().unwrap().to_string();
    assert!(
        key.starts_with(&format!("favourite-{}-", post["id"].as_str().unwrap())),
        "{key}"
    );
    assert_eq!(likes["notifications_count"], 2);
    assert_eq!(likes["status_id"], post["id"]);
    assert_eq!(likes["sample_account_ids"].as_array().unwrap().len(), 2);
    for field in ["most_recent_notification_id", "page_min_id", "page_max_id"] {
        assert!(likes[field].is_string(), "{field}: {likes}");
    }
    assert!(likes["latest_page_notification_at"].is_string());
    assert_eq!(likes["page_max_id"], likes["most_recent_notification_id"]);
    assert_ne!(likes["page_min_id"], likes["page_max_id"]);
    let follows = group(&results, "follow");
    assert_eq!(follows["notifications_count"], 2);
    assert!(
        follows["group_key"]
            .as_str()
            .unwrap()
            .starts_with("follow-")
    );
    assert!(follows.get("status_id").is_none());
    assert_eq!(results["accounts"].as_array().unwrap().len(), 2);
    assert_eq!(results["statuses"].as_array().unwrap().len(), 1);
    assert_eq!(results["statuses"][0]["id"], post["id"]);
    // v1 notifications carry the same group keys.
    let v1 = a.get("/api/v1/notifications?types[]=favourite").ok();
    assert_eq!(v1.as_array().unwrap().len(), 2);
    assert!(
        v1.as_array()
            .unwrap()
            .iter()
            .all(|n| n["group_key"] == key.as_str())
    );
    // Without grouping favourites each like is its own group.
    let apart = a.get("/api/v2/notifications?grouped_types[]=follow").ok();
    assert_eq!(apart["notification_groups"].as_array().unwrap().len(), 3);
    assert!(
        apart["notification_groups"][0]["group_key"]
            .as_str()
            .unwrap()
            .starts_with("ungrouped-")
    );
    // A page of one group, then the next page.
    let first = a.get("/api/v2/notifications?limit=1");
    let first_page = first.ok();
    assert_eq!(first_page["notification_groups"][0]["type"], "favourite");
    let next = a.get(&first.link("next").unwrap()).ok();
    assert_eq!(next["notification_groups"][0]["type"], "follow");
    assert_eq!(next["notification_groups"].as_array().unwrap().len(), 1);
    let types = a.get("/api/v2/notifications?types[]=follow").ok();
    assert_eq!(types["notification_groups"].as_array().unwrap().len(), 1);

    // One group, its accounts, the unread count, dismissing.
    let one = a.get(&format!("/api/v2/notifications/{key}")).ok();
    assert_eq!(one["notification_groups"][0]["notifications_count"], 2);
    assert_eq!(one["notification_groups"][0]["group_key"], key.as_str());
    let accounts = a.get(&format!("/api/v2/notifications/{key}/accounts")).ok();
    assert_eq!(accounts.as_array().unwrap().len(), 2);
    assert_eq!(
        a.get("/api/v2/notifications/unread_count").ok(),
        json!({"count": 2})
    );
    assert_eq!(
        a.get("/api/v2/notifications/unread_count?limit=1").ok(),
        json!({"count": 1})
    );
    let read_only = alice.login("read");
    read_only
        .post(&format!("/api/v2/notifications/{key}/dismiss"))
        .assert_error(403);
    a.post(&format!("/api/v2/notifications/{key}/dismiss")).ok();
    a.get(&format!("/api/v2/notifications/{key}"))
        .assert_error(404);
    a.post(&format!("/api/v2/notifications/{key}/dismiss"))
        .assert_error(404);
    assert_eq!(
        a.get("/api/v2/notifications/unread_count").ok(),
        json!({"count": 1})
    );
    assert_eq!(
        a.get("/api/v2/notifications").ok()["notification_groups"]
            .as_array()
            .unwrap()
            .len(),
        1
    );
    // Bad input.
    for bad in [
        "ungrouped-99999",
        "ungrouped-x",
        "favourite-1-1",
        "nonsense",
    ] {
        a.get(&format!("/api/v2/notifications/{bad}"))
            .assert_error(404);
        a.get(&format!("/api/v2/notifications/{bad}/accounts"))
            .assert_error(404);
    }
    a.get("/api/v2/notifications?limit=many").assert_error(422);
    a.get("/api/v2/notifications?max_id=x").assert_error(422);
    a.get("/api/v2/notifications?expand_accounts=some")
        .assert_error(422);
    alice
        .login("read:statuses")
        .get("/api/v2/notifications")
        .assert_error(403);
    alice
        .anon()
        .get("/api/v2/notifications/unread_count")
        .assert_error(401);
}

/// SECURITY 81: with a policy filtering senders the owner does not follow, their
/// notifications stay out of every list and unread count until accepted.
#[test]
fn sec_81_policy_holds_strangers_notifications_as_requests() {
    let alice = Api::start("alice");
    let bob = Api::start("bob");
    let carol = Api::start("carol");
    let a = alice.login("read write follow");
    let b = bob.login("read write follow");
    let c = carol.login("read write follow");
    let policy = a.get("/api/v2/notifications/policy").ok();
    assert_eq!(
        policy,
        json!({"for_not_following": "accept", "for_not_followers": "accept", "for_new_accounts": "accept",
               "for_private_mentions": "accept", "for_limited_accounts": "accept",
               "summary": {"pending_requests_count": 0, "pending_notifications_count": 0}})
    );
    let set = a
        .json_body(
            "PATCH",
            "/api/v2/notifications/policy",
            &json!({"for_not_following": "filter"}),
        )
        .ok();
    assert_eq!(set["for_not_following"], "filter");
    a.json_body(
        "PATCH",
        "/api/v2/notifications/policy",
        &json!({"for_not_followers": "block"}),
    )
    .assert_error(422);
    alice
        .login("read")
        .json_body(
            "PATCH",
            "/api/v2/notifications/policy",
            &json!({"for_not_following": "accept"}),
        )
        .assert_error(403);
    assert_eq!(
        a.get("/api/v2/notifications/policy").ok()["for_not_followers"],
        "accept"
    );

    // Strangers mention alice: held back, as one request each.
    b.status(&format!("hello {}", alice.handle()), "public");
    c.status(&format!("hi {}", alice.handle()), "public");
    settle(&[&alice, &bob, &carol]);
    assert_eq!(a.get("/api/v1/notifications").ok(), json!([]));
    assert_eq!(
        a.get("/api/v2/notifications").ok()["notification_groups"],
        json!([])
    );
    assert_eq!(
        a.get("/api/v1/notifications/unread_count").ok(),
        json!({"count": 0})
    );
    assert_eq!(
        a.get("/api/v2/notifications/policy").ok()["summary"],
        json!({"pending_requests_count": 2, "pending_notifications_count": 2})
    );
    let requests = a.get("/api/v1/notifications/requests").ok();
    assert_eq!(requests.as_array().unwrap().len(), 2, "{requests}");
    let bob_request = requests
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["account"]["acct"] == format!("bob@localhost:{}", bob.port))
        .unwrap()
        .clone();
    assert_eq!(bob_request["notifications_count"], "1");
    assert!(
        bob_request["last_status"]["content"]
            .as_str()
            .unwrap()
            .contains("hello")
    );
    let bob_id = bob_request["id"].as_str().unwrap().to_string();
    let carol_id = requests
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["id"].as_str().unwrap().to_string())
        .find(|id| *id != bob_id)
        .unwrap();
    assert_eq!(
        a.get(&format!("/api/v1/notifications/requests/{bob_id}"))
            .ok(),
        bob_request
    );

    // Accepting shows bob's notifications; dismissing deletes carol's.
    a.post(&format!("/api/v1/notifications/requests/{bob_id}/accept"))
        .ok();
    let shown = a.get("/api/v1/notifications").ok();
    assert_eq!(shown.as_array().unwrap().len(), 1);
    assert_eq!(shown[0]["account"]["id"], bob_id.as_str());
    a.get(&format!("/api/v1/notifications/requests/{bob_id}"))
        .assert_error(404);
    a.post_form(
        "/api/v1/notifications/requests/dismiss",
        &[("id[]", &carol_id)],
    )
    .ok();
    assert_eq!(a.get("/api/v1/notifications/requests").ok(), json!([]));
    assert_eq!(alice.count("notifications"), 1);
    a.post(&format!(
        "/api/v1/notifications/requests/{carol_id}/dismiss"
    ))
    .assert_error(404);
    a.post("/api/v1/notifications/requests/1/accept")
        .assert_error(404);
    a.post("/api/v1/notifications/requests/abc/accept")
        .assert_error(404);
    a.get("/api/v1/notifications/requests?max_id=abc")
        .assert_error(422);
    assert_eq!(
        a.get("/api/v1/notifications/requests/merged").ok(),
        json!({"merged": true})
    );
}
