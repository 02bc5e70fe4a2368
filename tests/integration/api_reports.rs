//! The rest of the endpoints apps call, over HTTP: reports (stored, and forwarded as a
//! `Flag` that the reported server receives), marking and removing conversations,
//! filter keywords and statuses edited one at a time, removing the avatar and header
//! (followers learn it), the instance texts, familiar followers, suggestions and the
//! directory; with the unknown ids, other accounts' ids and wrong types each refuses.

use crate::api::*;
use serde_json::{Value, json};

fn id(v: &Value) -> String {
    v["id"].as_str().unwrap().to_string()
}

/// Makes `client`'s server fetch a post; returns the local status.
fn fetch_post(client: &Client, uri: &str) -> Value {
    let q = form(&[("q", uri), ("resolve", "true"), ("type", "statuses")]);
    let found = client.get(&format!("/api/v2/search?{q}")).ok();
    found["statuses"][0].clone()
}

#[test]
fn reports_are_stored_and_forwarded_as_flags() {
    let alice = Api::start("alice");
    let bob = Api::start("bob");
    let a = alice.login("read write follow");
    let b = bob.login("read write");
    let bob_post = b.status("something to report", "public");
    let local = fetch_post(&a, bob_post["uri"].as_str().unwrap());
    let bob_id = local["account"]["id"].as_str().unwrap().to_string();

    let report = a
        .post_json(
            "/api/v1/reports",
            &json!({"account_id": bob_id, "status_ids": [id(&local)], "comment": "spam, again",
                    "forward": true, "category": "spam"}),
        )
        .ok();
    assert_eq!(report["category"], "spam");
    assert_eq!(report["comment"], "spam, again");
    assert_eq!(report["forwarded"], true);
    assert_eq!(report["action_taken"], false);
    assert!(report["action_taken_at"].is_null());
    assert_eq!(report["status_ids"], json!([id(&local)]));
    assert_eq!(report["rule_ids"], json!([]));
    assert_eq!(report["target_account"]["id"], bob_id.as_str());
    assert!(report["created_at"].is_string());
    settle(&[&alice, &bob]);
    // Bob's server got the Flag: a report naming his post, with the comment.
    let (content, objects): (String, String) = bob
        .ctx()
        .db
        .read(|c| {
            Ok(
                c.query_row("SELECT content, objects_json FROM reports", [], |r| {
                    Ok((r.get(0)?, r.get(1)?))
                })?,
            )
        })
        .unwrap();
    assert_eq!(content, "spam, again");
    assert!(
        objects.contains(bob_post["uri"].as_str().unwrap()),
        "{objects}"
    );

    // Not forwarded: stored here, nothing sent.
    let quiet = a
        .post_form("/api/v1/reports", &[("account_id", &bob_id)])
        .ok();
    assert_eq!(quiet["forwarded"], false);
    assert_eq!(quiet["category"], "other");
    settle(&[&alice, &bob]);
    assert_eq!(bob.count("reports"), 1);
    assert_eq!(alice.count("own_reports"), 2);

    // Bad input changes nothing.
    let bad: &[(Value, u16)] = &[
        (json!({"account_id": "1"}), 422),
        (json!({"account_id": "99999"}), 404),
        (json!({"account_id": "nope"}), 404),
        (json!({}), 422),
        (json!({"account_id": bob_id, "status_ids": ["99999"]}), 404),
        (json!({"account_id": bob_id, "status_ids": ["x"]}), 404),
        (json!({"account_id": bob_id, "category": "rude"}), 422),
        (
            json!({"account_id": bob_id, "category": "violation", "rule_ids": ["1"]}),
            422,
        ),
        (
            json!({"account_id": bob_id, "comment": "x".repeat(1001)}),
            422,
        ),
        (json!({"account_id": bob_id, "forward": "maybe"}), 422),
    ];
    for (body, status) in bad {
        a.post_json("/api/v1/reports", body).assert_error(*status);
    }
    alice
        .login("read")
        .post_json("/api/v1/reports", &json!({"account_id": bob_id}))
        .assert_error(403);
    assert_eq!(alice.count("own_reports"), 2);
}

/// SECURITY 79: a report's statuses are the reported account's own; naming the owner's
/// posts (a private one would travel in the Flag) or a third account's is refused.
#[test]
fn sec_79_a_report_names_only_the_reported_accounts_posts() {
    let alice = Api::start("alice");
    let bob = Api::start("bob");
    let carol = Api::start("carol");
    let a = alice.login("read write follow");
    let b = bob.login("read write");
    let c = carol.login("read write");
    let bob_post = fetch_post(
        &a,
        b.status("bob's post", "public")["uri"].as_str().unwrap(),
    );
    let carol_post = fetch_post(
        &a,
        c.status("carol's post", "public")["uri"].as_str().unwrap(),
    );
    let bob_id = bob_post["account"]["id"].as_str().unwrap().to_string();
    let private = a.status("my followers-only post", "private");
    for others in [id(&private), id(&carol_post)] {
        a.post_json(
            "/api/v1/reports",
            &json!({"account_id": bob_id, "status_ids": [id(&bob_post), others], "forward": true}),
        )
        .assert_error(404);
    }
    settle(&[&alice, &bob, &carol]);
    assert_eq!(alice.count("own_reports"), 0);
    assert_eq!(bob.count("reports"), 0, "no Flag went out");
    assert_eq!(alice.count("deliveries"), 0);
}

/// SECURITY 80: WebFinger answers 400 for a malformed `resource` (RFC 7033 §4.2) and
/// 404 for a well-formed one naming no account here.
#[test]
fn sec_80_webfinger_refuses_malformed_resources() {
    let alice = Api::start("alice");
    let finger = |resource: &str| {
        let q = form(&[("resource", resource)]);
        send(
            "GET",
            &alice.url(&format!("/.well-known/webfinger?{q}")),
            &[],
            None,
        )
    };
    let handle = format!("acct:alice@localhost:{}", alice.port);
    let found = finger(&handle);
    assert_eq!(found.status, 200);
    assert_eq!(found.json()["subject"], handle.as_str());
    for malformed in [
        "",
        "acct:alice",
        "acct:@localhost",
        "acct:al ice@localhost",
        "acct:alice@local host",
        "acct:alice@localhost/x",
        "http://[::1",
        "alice@@localhost",
    ] {
        let got = finger(malformed);
        assert_eq!(got.status, 400, "{malformed:?}: {}", got.body);
        assert!(got.json()["error"].is_string());
    }
    for unknown in [
        format!("acct:bob@localhost:{}", alice.port),
        "acct:alice@elsewhere.example".to_string(),
        format!("mailto:alice@localhost:{}", alice.port),
        alice.public("/users/bob"),
    ] {
        assert_eq!(finger(&unknown).status, 404, "{unknown}");
    }
    assert_eq!(
        send("GET", &alice.url("/.well-known/webfinger"), &[], None).status,
        400
    );
}

#[test]
fn conversations_read_and_remove() {
    let alice = Api::start("alice");
    let bob = Api::start("bob");
    let a = alice.login("read write follow");
    let b = bob.login("read write follow");
    follow(&bob, &b, &alice);
    b.status(&format!("psst {}", alice.handle()), "direct");
    settle(&[&alice, &bob]);
    let list = a.get("/api/v1/conversations").ok();
    assert_eq!(list.as_array().unwrap().len(), 1, "{list}");
    let conv = id(&list[0]);
    let public = a.status("not a conversation", "public");

    let read = a.post(&format!("/api/v1/conversations/{conv}/read")).ok();
    assert_eq!(read["id"], conv.as_str());
    assert_eq!(read["unread"], false);
    assert_eq!(
        read["accounts"][0]["acct"],
        format!("bob@localhost:{}", bob.port)
    );
    a.post(&format!("/api/v1/conversations/{}/read", id(&public)))
        .assert_error(404);
    a.post("/api/v1/conversations/99999/read").assert_error(404);
    a.delete("/api/v1/conversations/abc").assert_error(404);
    alice
        .login("read")
        .delete(&format!("/api/v1/conversations/{conv}"))
        .assert_error(403);

    assert_eq!(
        a.delete(&format!("/api/v1/conversations/{conv}")).ok(),
        json!({})
    );
    assert_eq!(a.get("/api/v1/conversations").ok(), json!([]));
    // The post stays: only the conversation left the list.
    a.get(&format!("/api/v1/statuses/{conv}")).ok();
    a.delete(&format!("/api/v1/conversations/{conv}"))
        .assert_error(404);
    a.post(&format!("/api/v1/conversations/{conv}/read"))
        .assert_error(404);
}

#[test]
fn filter_keywords_and_statuses() {
    let alice = Api::start("alice");
    let a = alice.login("read write");
    let filter = a
        .post_json(
            "/api/v2/filters",
            &json!({"title": "tv", "context": ["home"], "filter_action": "hide",
                    "keywords_attributes": [{"keyword": "finale"}]}),
        )
        .ok();
    let fid = id(&filter);
    let listed = a.get(&format!("/api/v2/filters/{fid}/keywords")).ok();
    assert_eq!(listed.as_array().unwrap().len(), 1);
    assert_eq!(listed[0]["keyword"], "finale");
    let kw = a
        .post_form(
            &format!("/api/v2/filters/{fid}/keywords"),
            &[("keyword", "spoiler"), ("whole_word", "false")],
        )
        .ok();
    assert_eq!(kw["keyword"], "spoiler");
    assert_eq!(kw["whole_word"], false);
    let kid = id(&kw);
    assert_eq!(a.get(&format!("/api/v2/filter_keywords/{kid}")).ok(), kw);
    let changed = a
        .form_body(
            "PUT",
            &format!("/api/v2/filter_keywords/{kid}"),
            &[("whole_word", "true")],
        )
        .ok();
    assert_eq!(changed["keyword"], "spoiler");
    assert_eq!(changed["whole_word"], true);
    a.post_form(
        &format!("/api/v2/filters/{fid}/keywords"),
        &[("keyword", " ")],
    )
    .assert_error(422);
    a.post_form("/api/v2/filters/99999/keywords", &[("keyword", "x")])
        .assert_error(404);
    a.get("/api/v2/filters/99999/keywords").assert_error(404);
    a.form_body("PUT", "/api/v2/filter_keywords/99999", &[("keyword", "x")])
        .assert_error(404);
    a.form_body(
        "PUT",
        &format!("/api/v2/filter_keywords/{kid}"),
        &[("whole_word", "often")],
    )
    .assert_error(422);
    a.delete(&format!("/api/v2/filter_keywords/{kid}")).ok();
    a.get(&format!("/api/v2/filter_keywords/{kid}"))
        .assert_error(404);
    a.delete(&format!("/api/v2/filter_keywords/{kid}"))
        .assert_error(404);

    // A filtered status is hidden from the home timeline, by id rather than words.
    let plain = a.status("an ordinary post", "public");
    let other = a.status("another post", "public");
    let fs = a
        .post_form(
            &format!("/api/v2/filters/{fid}/statuses"),
            &[("status_id", &id(&plain))],
        )
        .ok();
    assert_eq!(fs["status_id"], id(&plain).as_str());
    let fsid = id(&fs);
    assert_eq!(a.get(&format!("/api/v2/filter_statuses/{fsid}")).ok(), fs);
    assert_eq!(
        a.get(&format!("/api/v2/filters/{fid}/statuses")).ok(),
        json!([fs])
    );
    assert_eq!(
        a.get(&format!("/api/v2/filters/{fid}")).ok()["statuses"],
        json!([fs])
    );
    let home = ids(&a.get("/api/v1/timelines/home").ok());
    assert_eq!(home, vec![id(&other)]);
    a.post_form(
        &format!("/api/v2/filters/{fid}/statuses"),
        &[("status_id", &id(&plain))],
    )
    .assert_error(422);
    a.post_form(
        &format!("/api/v2/filters/{fid}/statuses"),
        &[("status_id", "99999")],
    )
    .assert_error(404);
    a.post_form(
        &format!("/api/v2/filters/{fid}/statuses"),
        &[("status_id", "abc")],
    )
    .assert_error(422);
    a.post_form(&format!("/api/v2/filters/{fid}/statuses"), &[])
        .assert_error(422);
    a.post_form(
        "/api/v2/filters/99999/statuses",
        &[("status_id", &id(&plain))],
    )
    .assert_error(404);
    alice
        .login("read")
        .post_form(
            &format!("/api/v2/filters/{fid}/statuses"),
            &[("status_id", &id(&other))],
        )
        .assert_error(403);
    a.delete(&format!("/api/v2/filter_statuses/{fsid}")).ok();
    a.get(&format!("/api/v2/filter_statuses/{fsid}"))
        .assert_error(404);
    assert_eq!(ids(&a.get("/api/v1/timelines/home").ok()).len(), 2);
    assert_eq!(alice.count("filter_statuses"), 0);
}

/// A multipart body with one file field.
fn image_form(field: &str) -> (String, Vec<u8>) {
    let boundary = "kithreportsboundary";
    let png = std::fs::read(
        std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/media/alpha.png"),
    )
    .unwrap();
    let mut body = format!(
        "--{boundary}\r\nContent-Disposition: form-data; name=\"{field}\"; filename=\"a.png\"\r\n\
         Content-Type: image/png\r\n\r\n"
    )
    .into_bytes();
    body.extend(png);
    body.extend(format!("\r\n--{boundary}--\r\n").into_bytes());
    (format!("multipart/form-data; boundary={boundary}"), body)
}

#[test]
fn removing_the_avatar_and_header_tells_followers() {
    let alice = Api::start("alice");
    let bob = Api::start("bob");
    let a = alice.login("read write follow");
    let b = bob.login("read write follow");
    follow(&bob, &b, &alice);
    for field in ["avatar", "header"] {
        let (ct, body) = image_form(field);
        let got = a.request(
            "PATCH",
            "/api/v1/accounts/update_credentials",
            &[],
            Some((&ct, &body)),
        );
        assert_eq!(got.status, 200, "{}", got.body);
    }
    settle(&[&alice, &bob]);
    let actor_uri = alice.public("/users/alice");
    let avatar_at_bob = || -> (Option<String>, Option<String>) {
        bob.ctx()
            .db
            .read(|c| {
                Ok(c.query_row(
                    "SELECT avatar_url, header_url FROM actors WHERE uri = ?1",
                    [&actor_uri],
                    |r| Ok((r.get(0)?, r.get(1)?)),
                )?)
            })
            .unwrap()
    };
    let before = avatar_at_bob();
    assert!(
        before.0.is_some_and(|u| u.contains("/media/")),
        "{:?}",
        avatar_at_bob()
    );

    alice
        .login("read")
        .delete("/api/v1/profile/avatar")
        .assert_error(403);
    let me = alice
        .login("write:accounts")
        .delete("/api/v1/profile/avatar")
        .ok();
    assert!(
        me["avatar"].as_str().unwrap().ends_with("avatar.png"),
        "{me}"
    );
    assert!(me["source"].is_object());
    settle(&[&alice, &bob]);
    let after = avatar_at_bob();
    assert!(
        !after.0.clone().unwrap_or_default().contains("/media/"),
        "{after:?}"
    );
    assert_eq!(after.1, before.1, "the header stays");
    let me = a.delete("/api/v1/profile/header").ok();
    assert!(
        me["header"].as_str().unwrap().ends_with("header.png"),
        "{me}"
    );
    settle(&[&alice, &bob]);
    assert!(!avatar_at_bob().1.unwrap_or_default().contains("/media/"));
    // Removing what is not there is fine and changes nothing.
    a.delete("/api/v1/profile/header").ok();
    a.delete("/api/v1/profile/banner").assert_error(404);
}

#[test]
fn instance_texts_and_discovery() {
    let alice = Api::start_with(
        "alice",
        "api_requests = 100000\nlogin_attempts = 1000\n[instance]\n\
         privacy_policy = \"<p>We keep little.</p><script>alert(1)</script>\"\n",
    );
    let anon = alice.anon();
    let policy = anon.get("/api/v1/instance/privacy_policy").ok();
    assert_eq!(policy["content"], "<p>We keep little.</p>");
    assert!(policy["updated_at"].is_string());
    let about = anon.get("/api/v1/instance/extended_description").ok();
    assert!(
        about["content"]
            .as_str()
            .unwrap()
            .contains("@alice@localhost"),
        "{about}"
    );
    let terms = anon.get("/api/v1/instance/terms_of_service").ok();
    assert_eq!(terms["effective"], true);
    assert!(terms["succeeded_by"].is_null());
    assert_eq!(terms["effective_date"].as_str().unwrap().len(), 10);
    assert!(terms["content"].as_str().unwrap().starts_with("<p>"));
    assert_eq!(
        anon.get("/api/v2/instance").ok()["configuration"]["accounts"]["max_featured_tags"],
        10
    );

    let a = alice.login("read write follow");
    assert_eq!(a.get("/api/v2/suggestions").ok(), json!([]));
    a.get("/api/v2/suggestions?limit=many").assert_error(422);
    anon.get("/api/v2/suggestions").assert_error(401);
    assert_eq!(
        a.get("/api/v1/accounts/familiar_followers?id[]=1&id[]=99999")
            .ok(),
        json!([{"id": "1", "accounts": []}])
    );
    alice
        .login("read:statuses")
        .get("/api/v1/accounts/familiar_followers?id[]=1")
        .assert_error(403);
    let dir = anon.get("/api/v1/directory?local=true").ok();
    assert_eq!(ids(&dir), vec!["1".to_string()]);
    assert_eq!(anon.get("/api/v1/directory?offset=1").ok(), json!([]));
    anon.get("/api/v1/directory?order=random").assert_error(422);
    anon.get("/api/v1/directory?limit=ten").assert_error(422);
    a.form_body(
        "PATCH",
        "/api/v1/accounts/update_credentials",
        &[("discoverable", "false")],
    )
    .ok();
    assert_eq!(anon.get("/api/v1/directory").ok(), json!([]));
}
