//! Scheduled posts over the client API, with `limits.schedule_min_secs` lowered to a
//! couple of seconds: a post scheduled a few seconds ahead is neither shown nor
//! federated before its time and is published once after it (the worker and two more
//! publishers racing for it); the list pages, a post's time moves and it can be
//! cancelled, with precise refusals; its upload waits with it, safe from the
//! unattached-upload cleanup; and one that fell due while kith was stopped is published
//! once when it starts again. The only waits are on the clock (a post's time must
//! pass) and bounded.

use crate::api::{Api, Client, settle};
use crate::support::{TestServer, get, post};
use serde_json::{Value, json};
use std::time::Duration;

/// An instance whose scheduled posts need only be 2 s ahead.
fn start(name: &str) -> Api {
    Api::start_with(
        name,
        "api_requests = 100000\nlogin_attempts = 1000\nschedule_min_secs = 2\n",
    )
}

fn client(api: &Api, scopes: &str) -> Client {
    let token = kith::cli::account::token(&api.ctx().config, scopes).unwrap();
    api.with_token(&token)
}

fn at(ms_from_now: i64) -> (i64, String) {
    let ms = kith::db::now_ms() + ms_from_now;
    (ms, kith::dates::mastodon(ms))
}

/// Waits (on the clock) until `ms` has passed.
fn wait_until(ms: i64) {
    let left = ms + 20 - kith::db::now_ms();
    if left > 0 {
        std::thread::sleep(Duration::from_millis(left as u64));
    }
}

/// How many statuses of a timeline contain `text`.
fn count_on(c: &Client, path: &str, text: &str) -> usize {
    let got = c.get(path);
    assert_eq!(got.status, 200, "{}", got.body);
    got.json()
        .as_array()
        .unwrap()
        .iter()
        .filter(|s| s["content"].as_str().unwrap_or("").contains(text))
        .count()
}

/// Publishes what is due from two threads at once, beside the instance's own worker.
fn race_publishers(api: &Api) {
    std::thread::scope(|s| {
        for _ in 0..2 {
            s.spawn(|| kith::process::scheduled::publish_due(api.ctx()));
        }
    });
}

#[test]
fn a_scheduled_post_waits_for_its_time_then_is_published_once() {
    let (a, b) = (start("alice"), start("bob"));
    kith::process::follow(b.ctx(), &a.ctx().config.actor_url()).unwrap();
    settle(&[&a, &b]);
    let (ca, cb) = (client(&a, "read write"), client(&b, "read"));

    let (_, soon) = at(1000);
    let got = ca.post_json(
        "/api/v1/statuses",
        &json!({"status": "too soon", "scheduled_at": soon}),
    );
    assert_eq!(got.status, 422, "{}", got.body);
    assert_eq!(
        got.json()["error"],
        "Validation failed: Scheduled at The scheduled date must be in the future"
    );
    let got = ca.post_json(
        "/api/v1/statuses",
        &json!({"status": "when?", "scheduled_at": "tomorrow"}),
    );
    assert_eq!(got.status, 422, "{}", got.body);
    let (due, when) = at(4000);
    let got = ca.post_json(
        "/api/v1/statuses",
        &json!({"status": "from the past", "scheduled_at": when}),
    );
    assert_eq!(got.status, 200, "{}", got.body);
    let entity = got.json();
    let id = entity["id"].as_str().unwrap().to_string();
    assert_eq!(entity["scheduled_at"], when);
    assert_eq!(entity["params"]["text"], "from the past");
    assert_eq!(entity["params"]["visibility"], "public");
    assert_eq!(entity["params"]["scheduled_at"], when);
    assert_eq!(entity["media_attachments"], json!([]));

    // Nothing shows or travels before its time.
    settle(&[&a, &b]);
    assert_eq!(count_on(&ca, "/api/v1/timelines/home", "from the past"), 0);
    assert_eq!(
        count_on(&ca, "/api/v1/timelines/public", "from the past"),
        0
    );
    assert_eq!(count_on(&cb, "/api/v1/timelines/home", "from the past"), 0);
    let listed = ca.get("/api/v1/scheduled_statuses").json();
    assert_eq!(listed.as_array().unwrap().len(), 1);
    assert_eq!(
        ca.get(&format!("/api/v1/scheduled_statuses/{id}")).json(),
        entity
    );

    wait_until(due);
    race_publishers(&a);
    assert_eq!(count_on(&ca, "/api/v1/timelines/home", "from the past"), 1);
    assert_eq!(ca.get("/api/v1/scheduled_statuses").json(), json!([]));
    assert_eq!(
        ca.get(&format!("/api/v1/scheduled_statuses/{id}")).status,
        404
    );
    settle(&[&a, &b]);
    assert_eq!(count_on(&cb, "/api/v1/timelines/home", "from the past"), 1);
    // Another pass publishes nothing more.
    assert_eq!(kith::process::scheduled::publish_due(a.ctx()), 0);
    assert_eq!(count_on(&ca, "/api/v1/timelines/home", "from the past"), 1);
}

#[test]
fn scheduled_posts_page_move_and_cancel() {
    let a = start("alice");
    let c = client(&a, "read write");
    let (_, later) = at(3_600_000);
    let ids: Vec<String> = (0..3)
        .map(|i| {
            let got = c.post_json(
                "/api/v1/statuses",
                &json!({"status": format!("later {i}"), "scheduled_at": later, "visibility": "unlisted"}),
            );
            assert_eq!(got.status, 200, "{}", got.body);
            got.json()["id"].as_str().unwrap().to_string()
        })
        .collect();
    let first = c.get("/api/v1/scheduled_statuses?limit=2");
    let page: Vec<String> = first
        .json()
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["id"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(page, vec![ids[2].clone(), ids[1].clone()]);
    let next = first.link("next").expect("a next link");
    let rest = c.get(&next).json();
    // An app retrying with the same Idempotency-Key gets the same scheduled post.
    let keyed = |text: &str| {
        let body = serde_json::to_vec(&json!({"status": text, "scheduled_at": later})).unwrap();
        let got = c.request(
            "POST",
            "/api/v1/statuses",
            &[("Idempotency-Key", "retry-1")],
            Some(("application/json", &body)),
        );
        assert_eq!(got.status, 200, "{}", got.body);
        got.json()
    };
    let first_try = keyed("keyed");
    let retry = keyed("keyed, again");
    assert_eq!(retry["id"], first_try["id"]);
    assert_eq!(retry["params"]["text"], "keyed");
    assert_eq!(retry["params"]["idempotency"], "retry-1");
    let gone = c.delete(&format!(
        "/api/v1/scheduled_statuses/{}",
        first_try["id"].as_str().unwrap()
    ));
    assert_eq!(gone.status, 200);
    assert_eq!(rest.as_array().unwrap().len(), 1);
    assert_eq!(rest[0]["id"], ids[0].as_str());
    assert_eq!(rest[0]["params"]["visibility"], "unlisted");

    let (_, two_hours) = at(7_200_000);
    let path = format!("/api/v1/scheduled_statuses/{}", ids[0]);
    let moved = c.json_body("PUT", &path, &json!({"scheduled_at": two_hours}));
    assert_eq!(moved.status, 200, "{}", moved.body);
    assert_eq!(moved.json()["scheduled_at"], two_hours);
    assert_eq!(moved.json()["params"]["scheduled_at"], two_hours);
    let (_, soon) = at(500);
    let refused = c.json_body("PUT", &path, &json!({"scheduled_at": soon}));
    assert_eq!(refused.status, 422, "{}", refused.body);
    assert_eq!(
        c.json_body("PUT", &path, &json!({"scheduled_at": "soonish"}))
            .status,
        422
    );
    assert_eq!(c.json_body("PUT", &path, &json!({})).status, 422);
    assert_eq!(c.get(&path).json()["scheduled_at"], two_hours);
    assert_eq!(
        c.json_body(
            "PUT",
            "/api/v1/scheduled_statuses/999999",
            &json!({"scheduled_at": two_hours})
        )
        .status,
        404
    );
    assert_eq!(c.get("/api/v1/scheduled_statuses/nope").status, 404);

    let reader = client(&a, "read");
    assert_eq!(reader.get(&path).status, 200);
    assert_eq!(reader.delete(&path).status, 403);
    assert_eq!(a.anon().get("/api/v1/scheduled_statuses").status, 401);

    let gone = c.delete(&path);
    assert_eq!(gone.status, 200, "{}", gone.body);
    assert_eq!(c.get(&path).status, 404);
    assert_eq!(c.delete(&path).status, 404);
    assert_eq!(
        c.get("/api/v1/scheduled_statuses")
            .json()
            .as_array()
            .unwrap()
            .len(),
        2
    );
    // Nothing was published along the way.
    assert_eq!(count_on(&c, "/api/v1/timelines/home", "later"), 0);
}

#[test]
fn an_upload_waits_with_its_scheduled_post() {
    let a = start("alice");
    let c = client(&a, "read write");
    let png = std::fs::read(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/media/alpha.png"),
    )
    .unwrap();
    let boundary = "kithschedboundary";
    let mut body = format!(
        "--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"a.png\"\r\n\
         Content-Type: image/png\r\n\r\n"
    )
    .into_bytes();
    body.extend(&png);
    body.extend(format!("\r\n--{boundary}--\r\n").into_bytes());
    let ct = format!("multipart/form-data; boundary={boundary}");
    let up = c.request("POST", "/api/v2/media", &[], Some((&ct, &body)));
    assert!(up.status == 200 || up.status == 202, "{}", up.body);
    let media_id = up.json()["id"].as_str().unwrap().to_string();

    let (due, when) = at(3000);
    let got = c.post_json(
        "/api/v1/statuses",
        &json!({"status": "a picture later", "media_ids": [media_id], "scheduled_at": when}),
    );
    assert_eq!(got.status, 200, "{}", got.body);
    let entity = got.json();
    assert_eq!(entity["media_attachments"][0]["id"], media_id.as_str());
    assert_eq!(entity["params"]["media_ids"], json!([media_id]));
    let again = c.post_json(
        "/api/v1/statuses",
        &json!({"status": "the same picture", "media_ids": [media_id], "scheduled_at": when}),
    );
    assert_eq!(again.status, 422, "{}", again.body);

    // The cleanup of uploads left unattached (run as if days had passed) keeps it.
    let days_later = kith::db::now_ms() + 3 * 86_400_000;
    kith::media::cleanup(a.ctx(), days_later).unwrap();
    assert_eq!(a.count("media"), 1);

    wait_until(due);
    race_publishers(&a);
    let home = c.get("/api/v1/timelines/home").json();
    let status = home
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["content"].as_str().unwrap().contains("a picture later"))
        .expect("published")
        .clone();
    assert_eq!(status["media_attachments"][0]["id"], media_id.as_str());
}

#[test]
fn a_post_due_while_kith_was_stopped_is_published_at_start() {
    let mut s = TestServer::start("[limits]\nschedule_min_secs = 1\n");
    let out = s.command(&["token", "--scopes", "read write"], None);
    assert!(out.status.success());
    let token = String::from_utf8(out.stdout).unwrap().trim().to_string();
    let auth = format!("Bearer {token}");
    let headers = [("Authorization", auth.as_str())];
    let (due, when) = at(2500);
    let body = json!({"status": "while you were out", "scheduled_at": when}).to_string();
    let got = post(
        &s.url("/api/v1/statuses"),
        "application/json",
        body.as_bytes(),
        &headers,
    );
    assert_eq!(got.status, 200, "{}", got.body);
    assert_eq!(s.stop(), 0);
    let home = |s: &TestServer| -> Vec<Value> {
        let got = get(&s.url("/api/v1/timelines/home"), &headers);
        assert_eq!(got.status, 200, "{}", got.body);
        got.json().as_array().unwrap().clone()
    };

    wait_until(due);
    s.spawn().unwrap();
    // Worker 0 publishes it at its first step; wait for that (bounded).
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    let mut found = 0;
    while std::time::Instant::now() < deadline {
        found = home(&s)
            .iter()
            .filter(|p| {
                p["content"]
                    .as_str()
                    .unwrap()
                    .contains("while you were out")
            })
            .count();
        if found > 0 {
            break;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    assert_eq!(found, 1);
    let left = get(&s.url("/api/v1/scheduled_statuses"), &headers);
    assert_eq!(left.json(), json!([]));
    // A second restart publishes nothing again.
    assert_eq!(s.stop(), 0);
    s.spawn().unwrap();
    let again = home(&s)
        .iter()
        .filter(|p| {
            p["content"]
                .as_str()
                .unwrap()
                .contains("while you were out")
        })
        .count();
    assert_eq!(again, 1);
}

#[test]
fn the_web_ui_schedules_lists_moves_and_deletes() {
    use crate::support::Instance;
    use crate::web::{Browser, count, password};
    let k = Instance::start("owner", "[limits]\nschedule_min_secs = 2\n");
    let mut owner = Browser::new(&k);
    owner.login(&password(&k));
    let t = owner.token();
    let compose = owner.get("/compose");
    assert!(
        compose.body.contains("name=\"scheduled_at\"")
            && compose.body.contains("href=\"/scheduled\"")
    );

    let hour = kith::db::now_ms() + 3 * 3_600_000;
    let typed = kith::dates::local_input(hour);
    let got = owner.post(
        "/compose",
        &[
            ("csrf", &t),
            ("status", "an evening thought"),
            ("visibility", "private"),
            ("scheduled_at", &typed),
            ("schedule_offset", "-60"),
        ],
    );
    assert_eq!(got.status, 303, "{}", got.body);
    assert_eq!(got.header("location"), Some("/scheduled"));
    assert_eq!(count(&k, "SELECT count(*) FROM posts"), 0);
    let stored = k.read(|c| kith::db::scheduled::list_by_time(c, 10));
    assert_eq!(stored.len(), 1);
    // Typed in a zone an hour ahead of UTC: an hour earlier in UTC (minute precision).
    let expected = kith::dates::parse_local(&typed, 0).unwrap() - 3_600_000;
    assert_eq!(stored[0].scheduled_at, expected);
    let id = stored[0].id;

    let soon = kith::dates::local_input(kith::db::now_ms() - 60_000);
    let refused = owner.post(
        "/compose",
        &[
            ("csrf", &t),
            ("status", "too late now"),
            ("scheduled_at", &soon),
        ],
    );
    assert_eq!(refused.status, 422);
    assert!(
        refused.body.contains("must be in the future") && refused.body.contains("too late now")
    );
    let garbled = owner.post(
        "/compose",
        &[
            ("csrf", &t),
            ("status", "when"),
            ("scheduled_at", "next tuesday"),
        ],
    );
    assert_eq!(garbled.status, 422);
    assert_eq!(count(&k, "SELECT count(*) FROM scheduled_statuses"), 1);

    let page = owner.get("/scheduled");
    assert_eq!(page.status, 200);
    assert!(page.body.contains("an evening thought"));
    assert!(
        page.body
            .contains(&format!("action=\"/scheduled/{id}/move\""))
    );

    let later = kith::dates::local_input(hour + 86_400_000);
    let no_csrf = owner.post(
        &format!("/scheduled/{id}/move"),
        &[("scheduled_at", &later)],
    );
    assert_eq!(no_csrf.status, 403);
    let moved = owner.post(
        &format!("/scheduled/{id}/move"),
        &[
            ("csrf", &t),
            ("scheduled_at", &later),
            ("schedule_offset", "0"),
        ],
    );
    assert_eq!(moved.status, 303, "{}", moved.body);
    let stored = k.read(|c| kith::db::scheduled::list_by_time(c, 10));
    assert_eq!(
        stored[0].scheduled_at,
        kith::dates::parse_local(&later, 0).unwrap()
    );

    let deleted = owner.post(&format!("/scheduled/{id}/delete"), &[("csrf", &t)]);
    assert_eq!(deleted.status, 303);
    assert_eq!(count(&k, "SELECT count(*) FROM scheduled_statuses"), 0);
    let again = owner.post(&format!("/scheduled/{id}/delete"), &[("csrf", &t)]);
    assert_eq!(again.status, 404);
    assert!(
        owner
            .get("/scheduled")
            .body
            .contains("Nothing is scheduled.")
    );
}
