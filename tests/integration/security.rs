//! SECURITY.md groups A–D through real HTTP: an in-process kith and a [`FakeRemote`]
//! on loopback ports. Each test sends one kind of bad input and asserts the exact
//! status, the exact error text where SECURITY.md names one, that nothing was stored
//! (row counts unchanged) and what the fake remote saw (usually: nothing).
//!
//! Requests reach kith from 127.0.0.1, a trusted proxy by default, so a test that needs
//! several client addresses (the key-fetch cool-off is per address, case 18) sets
//! `X-Forwarded-For`.

use crate::fake_remote::{self, Actor, FakeRemote, Key, Reply, fixture, now, send};
use crate::support::{Got, Instance};
use kith::db::posts;
use serde_json::{Value, json};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

const PUBLIC: &str = "https://www.w3.org/ns/activitystreams#Public";
const MALFORMED: &str = "malformed incoming activity";
const NOT_SIGNED: &str = "Request not signed";
const WINDOW: &str = "Signed request date outside acceptable time window";

// ---------------------------------------------------------------------------------
// Helpers

/// A kith (account `owner`, reaching loopback) and a fake remote.
fn world() -> (Instance, FakeRemote) {
    (Instance::start("owner", ""), FakeRemote::start())
}

/// Row counts of the tables a bad input must not touch.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Counts {
    posts: i64,
    actors: i64,
    inbox_queue: i64,
    seen: i64,
    notifications: i64,
    followers: i64,
    favourites: i64,
}

impl Counts {
    /// The counts without `seen_activities`: a verified activity that is queued and
    /// then dropped by the worker is remembered as seen (so a redelivery is a no-op),
    /// but stores nothing.
    fn stored(self) -> Counts {
        Counts { seen: 0, ..self }
    }
}

fn count(k: &Instance, table: &str) -> i64 {
    k.read(|c| Ok(c.query_row(&format!("SELECT COUNT(*) FROM {table}"), [], |r| r.get(0))?))
}

fn counts(k: &Instance) -> Counts {
    Counts {
        posts: count(k, "posts"),
        actors: count(k, "actors"),
        inbox_queue: count(k, "inbox_queue"),
        seen: count(k, "seen_activities"),
        notifications: count(k, "notifications"),
        followers: count(k, "followers"),
        favourites: count(k, "favourites"),
    }
}

/// Waits until kith's queues are drained.
fn settle(k: &Instance) {
    assert!(
        kith::workers::settle(&[k.ctx()], Duration::from_secs(30)),
        "kith's queues did not drain"
    );
}

/// Asserts the status and the exact `{"error": …}` text.
#[track_caller]
fn assert_error(got: &Got, status: u16, text: &str) {
    assert_eq!(got.status, status, "{}", got.body);
    assert_eq!(got.json()["error"], text, "{}", got.body);
}

#[track_caller]
fn assert_accepted(got: &Got) {
    assert_eq!(got.status, 202, "{}", got.body);
}

/// Headers as owned pairs.
fn headers(list: &[(&str, &str)]) -> Vec<(String, String)> {
    list.iter()
        .map(|(n, v)| (n.to_string(), v.to_string()))
        .collect()
}

/// Replaces (or adds) a header.
fn set_header(list: &mut Vec<(String, String)>, name: &str, value: &str) {
    list.retain(|(n, _)| !n.eq_ignore_ascii_case(name));
    list.push((name.to_string(), value.to_string()));
}

/// POSTs `activity`, signed by `actor` with kith's signer at `now`, to `path`.
fn deliver_at(k: &Instance, actor: &Actor, activity: &Value, path: &str, at: i64) -> Got {
    let body = serde_json::to_vec(activity).unwrap();
    let h = actor.sign_post(&format!("{}{path}", k.base()), &body, at);
    send(k.addr(), "POST", path, &h, &body)
}

/// POSTs `activity` to the shared inbox, signed now.
fn deliver(k: &Instance, actor: &Actor, activity: &Value) -> Got {
    deliver_at(k, actor, activity, "/inbox", now())
}

/// Like [`deliver`], as if from another client address (behind the trusted proxy).
fn deliver_from(k: &Instance, actor: &Actor, activity: &Value, ip: &str) -> Got {
    let body = serde_json::to_vec(activity).unwrap();
    let mut h = actor.sign_post(&format!("{}/inbox", k.base()), &body, now());
    h.push(("X-Forwarded-For".into(), ip.into()));
    send(k.addr(), "POST", "/inbox", &h, &body)
}

/// A fresh suffix for ids.
fn seq() -> usize {
    static N: AtomicUsize = AtomicUsize::new(1);
    N.fetch_add(1, Ordering::SeqCst)
}

/// A Mastodon-shaped public note by `author` at `remote` path `path`, addressed to and
/// mentioning kith's owner (so kith keeps it).
fn note(remote: &FakeRemote, k: &Instance, author: &str, path: &str) -> Value {
    let id = remote.url(path);
    json!({
        "id": id,
        "type": "Note",
        "summary": null,
        "inReplyTo": null,
        "published": "2024-08-20T10:00:00Z",
        "url": id,
        "attributedTo": author,
        "to": [PUBLIC],
        "cc": [format!("{author}/followers"), k.actor()],
        "sensitive": false,
        "content": format!("<p><span class=\"h-card\"><a href=\"{}\" class=\"u-url mention\">@<span>owner</span></a></span> hello</p>", k.actor()),
        "attachment": [],
        "tag": [{"type": "Mention", "href": k.actor(), "name": format!("@owner@localhost:{}", k.port)}],
    })
}

/// A `Create` of `object` (embedded, or an id) by `actor`.
fn create(actor: &Actor, object: Value) -> Value {
    json!({
        "@context": "https://www.w3.org/ns/activitystreams",
        "id": format!("{}#create-{}", actor.uri, seq()),
        "type": "Create",
        "actor": actor.uri,
        "published": "2024-08-20T10:00:00Z",
        "to": [PUBLIC],
        "object": object,
    })
}

/// An activity of `kind` by `actor` on `object`.
fn activity(actor: &Actor, kind: &str, object: Value) -> Value {
    json!({
        "@context": "https://www.w3.org/ns/activitystreams",
        "id": format!("{}#{}-{}", actor.uri, kind.to_lowercase(), seq()),
        "type": kind,
        "actor": actor.uri,
        "object": object,
    })
}

/// A Follow by `actor` of kith's owner, delivered and processed.
fn follow_owner(k: &Instance, actor: &Actor) {
    let f = activity(actor, "Follow", json!(k.actor()));
    assert_accepted(&deliver(k, actor, &f));
    settle(k);
}

fn find_post(k: &Instance, uri: &str) -> Option<posts::Post> {
    k.read(|c| posts::find_by_uri(c, uri))
}

fn stored_key(k: &Instance, uri: &str) -> Option<String> {
    k.read(|c| kith::db::actors::find_by_uri(c, uri))
        .and_then(|a| a.public_key_pem)
}

/// A local post of the owner.
fn owner_post(k: &Instance, visibility: &str) -> posts::Post {
    kith::process::create_post(
        k.ctx(),
        &kith::process::Draft {
            text: "owner's post".into(),
            visibility: visibility.into(),
            ..kith::process::Draft::default()
        },
    )
    .unwrap()
}

/// The path of a URL on kith.
fn path_of(url: &str) -> String {
    let u = url::Url::parse(url).unwrap();
    match u.query() {
        Some(q) => format!("{}?{q}", u.path()),
        None => u.path().to_string(),
    }
}

// ---------------------------------------------------------------------------------
// A. HTTP signatures

#[test]
fn sec_01_unsigned_post_is_refused_without_key_fetch() {
    let (k, remote) = world();
    let bob = remote.actor("bob", Key::A);
    let before = counts(&k);
    let body = serde_json::to_vec(&create(&bob, note(&remote, &k, &bob.uri, "/notes/1"))).unwrap();
    for path in ["/inbox", "/users/owner/inbox"] {
        let h = headers(&[
            ("Host", &format!("localhost:{}", k.port)),
            ("Content-Type", "application/activity+json"),
            ("Date", &kith::sig::http_date(now())),
            ("Digest", &kith::sig::digest_header(&body)),
        ]);
        assert_error(&send(k.addr(), "POST", path, &h, &body), 401, NOT_SIGNED);
    }
    settle(&k);
    assert_eq!(counts(&k), before);
    assert!(remote.requests().is_empty(), "{:?}", remote.requests());
}

#[test]
fn sec_02_junk_signature_is_refused_without_key_fetch() {
    let (k, remote) = world();
    let bob = remote.actor("bob", Key::A);
    let before = counts(&k);
    let body = serde_json::to_vec(&activity(&bob, "Follow", json!(k.actor()))).unwrap();
    let good = bob.sign_post(&format!("{}/inbox", k.base()), &body, now());
    let key_id = &bob.key_id;
    for junk in [
        "garbage".to_string(),
        format!("keyId=\"{key_id}\",signature=\"abc"),
        format!("keyId=\"{key_id}\" signature=\"abc\""),
        format!("keyId=\"{key_id}\",keyId=\"{key_id}\",signature=\"abc\""),
        format!("keyId=\"{key_id}\",signature=\"abc\",,"),
        format!("keyId=\"{key_id}\";signature=\"abc\""),
        "=\"x\"".to_string(),
    ] {
        let mut h = good.clone();
        set_header(&mut h, "Signature", &junk);
        let got = send(k.addr(), "POST", "/inbox", &h, &body);
        assert_error(&got, 401, "Error parsing signature parameters");
    }
    settle(&k);
    assert_eq!(counts(&k), before);
    assert!(remote.requests().is_empty());
}

#[test]
fn sec_03_missing_key_id_or_signature() {
    let (k, remote) = world();
    let bob = remote.actor("bob", Key::A);
    let before = counts(&k);
    let body = serde_json::to_vec(&activity(&bob, "Follow", json!(k.actor()))).unwrap();
    let good = bob.sign_post(&format!("{}/inbox", k.base()), &body, now());
    let with_sig = good
        .iter()
        .find(|(n, _)| n == "Signature")
        .unwrap()
        .1
        .clone();
    // Without keyId: rebuild the signature without that parameter.
    let no_key = bob.cavage().key_id(None).header("POST", "/inbox", &good);
    // Without signature: drop that parameter from a real header.
    let no_sig = with_sig
        .split(',')
        .filter(|p| !p.starts_with("signature="))
        .collect::<Vec<_>>()
        .join(",");
    let empty_key = with_sig.replace(&format!("keyId=\"{}\"", bob.key_id), "keyId=\"\"");
    for value in [no_key, no_sig, empty_key] {
        let mut h = good.clone();
        set_header(&mut h, "Signature", &value);
        let got = send(k.addr(), "POST", "/inbox", &h, &body);
        assert_error(&got, 401, "Incompatible request signature");
    }
    settle(&k);
    assert_eq!(counts(&k), before);
    assert!(remote.requests().is_empty());
}

#[test]
fn sec_04_unsupported_algorithm_is_refused_before_any_fetch() {
    let (k, remote) = world();
    let bob = remote.actor("bob", Key::A);
    let before = counts(&k);
    let body = serde_json::to_vec(&activity(&bob, "Follow", json!(k.actor()))).unwrap();
    let good = bob.sign_post(&format!("{}/inbox", k.base()), &body, now());
    for algorithm in [
        "rsa-sha512",
        "hmac-sha256",
        "ed25519",
        "rsa-sha1",
        "RSA-SHA256x",
    ] {
        let mut h = good.clone();
        let value = bob
            .cavage()
            .algorithm(Some(algorithm))
            .header("POST", "/inbox", &good);
        set_header(&mut h, "Signature", &value);
        let got = send(k.addr(), "POST", "/inbox", &h, &body);
        assert_error(
            &got,
            401,
            "Unsupported signature algorithm (only rsa-sha256 and hs2019 are supported)",
        );
    }
    settle(&k);
    assert_eq!(counts(&k), before);
    assert!(remote.requests().is_empty());

    // Both allowed names pass (and only then is the key fetched).
    for algorithm in ["hs2019", "rsa-sha256"] {
        let body = serde_json::to_vec(&activity(&bob, "Like", json!(k.actor()))).unwrap();
        let mut h = bob.sign_post(&format!("{}/inbox", k.base()), &body, now());
        let value = bob
            .cavage()
            .algorithm(Some(algorithm))
            .header("POST", "/inbox", &h);
        set_header(&mut h, "Signature", &value);
        assert_accepted(&send(k.addr(), "POST", "/inbox", &h, &body));
    }
    assert_eq!(remote.requests_to("/users/bob").len(), 1);
}

#[test]
fn sec_05_neither_date_nor_created_signed() {
    let (k, remote) = world();
    let bob = remote.actor("bob", Key::A);
    let before = counts(&k);
    let body = serde_json::to_vec(&activity(&bob, "Follow", json!(k.actor()))).unwrap();
    let mut h = bob.sign_post(&format!("{}/inbox", k.base()), &body, now());
    let value = bob
        .cavage()
        .covering(&["(request-target)", "host", "digest", "content-type"])
        .header("POST", "/inbox", &h);
    set_header(&mut h, "Signature", &value);
    let got = send(k.addr(), "POST", "/inbox", &h, &body);
    assert_error(
        &got,
        401,
        "kith requires the Date header or (created) pseudo-header to be signed",
    );
    settle(&k);
    assert_eq!(counts(&k), before);
    assert!(remote.requests().is_empty());

    // `(created)` instead of Date is fine with hs2019.
    let mut h = bob.sign_post(&format!("{}/inbox", k.base()), &body, now());
    h.retain(|(n, _)| n != "Date");
    let value = bob
        .cavage()
        .algorithm(Some("hs2019"))
        .created(now())
        .covering(&["(request-target)", "(created)", "host", "digest"])
        .header("POST", "/inbox", &h);
    set_header(&mut h, "Signature", &value);
    assert_accepted(&send(k.addr(), "POST", "/inbox", &h, &body));
}

#[test]
fn sec_06_post_without_signed_digest() {
    let (k, remote) = world();
    let bob = remote.actor("bob", Key::A);
    let before = counts(&k);
    let body = serde_json::to_vec(&activity(&bob, "Follow", json!(k.actor()))).unwrap();
    let signed = bob.sign_post(&format!("{}/inbox", k.base()), &body, now());
    // The Digest header is sent but not covered, and then not sent at all.
    for keep_digest in [true, false] {
        let mut h = signed.clone();
        if !keep_digest {
            h.retain(|(n, _)| n != "Digest");
        }
        let value = bob
            .cavage()
            .covering(&["(request-target)", "host", "date", "content-type"])
            .header("POST", "/inbox", &h);
        set_header(&mut h, "Signature", &value);
        let got = send(k.addr(), "POST", "/inbox", &h, &body);
        assert_error(
            &got,
            401,
            "kith requires the Digest header to be signed when doing a POST request",
        );
    }
    settle(&k);
    assert_eq!(counts(&k), before);
    assert!(remote.requests().is_empty());
}

#[test]
fn sec_07_tampered_body() {
    let (k, remote) = world();
    let bob = remote.actor("bob", Key::A);
    let before = counts(&k);
    let original = create(&bob, note(&remote, &k, &bob.uri, "/notes/7"));
    let body = serde_json::to_vec(&original).unwrap();
    let h = bob.sign_post(&format!("{}/inbox", k.base()), &body, now());
    let mut changed = original.clone();
    changed["object"]["content"] = json!("<p>something else</p>");
    let tampered = serde_json::to_vec(&changed).unwrap();
    let got = send(k.addr(), "POST", "/inbox", &h, &tampered);
    let given = kith::sig::digest_header(&body);
    let computed = kith::sig::digest_header(&tampered);
    assert_error(
        &got,
        401,
        &format!(
            "Invalid Digest value. Computed SHA-256 digest: {}; given: {}",
            computed.trim_start_matches("SHA-256="),
            given.trim_start_matches("SHA-256=")
        ),
    );
    // One byte more at the end is a change too.
    let mut longer = body.clone();
    longer.push(b' ');
    let got = send(k.addr(), "POST", "/inbox", &h, &longer);
    assert_eq!(got.status, 401);
    assert!(
        got.json()["error"]
            .as_str()
            .unwrap()
            .starts_with("Invalid Digest value. Computed SHA-256 digest: ")
    );
    // The same with RFC 9421 and Content-Digest.
    let h = bob.sign_post_9421(&format!("{}/inbox", k.base()), &body, now());
    let got = send(k.addr(), "POST", "/inbox", &h, &tampered);
    assert_error(
        &got,
        401,
        &format!(
            "Invalid Content-Digest value. Computed SHA-256 digest: {}; given: {}",
            computed.trim_start_matches("SHA-256="),
            given.trim_start_matches("SHA-256=")
        ),
    );
    settle(&k);
    assert_eq!(counts(&k), before);
    assert!(remote.requests().is_empty());
    // Untampered, both formats verify.
    assert_accepted(&send(k.addr(), "POST", "/inbox", &h, &body));
    let like = serde_json::to_vec(&activity(&bob, "Like", json!(k.actor()))).unwrap();
    let h = bob.sign_post(&format!("{}/inbox", k.base()), &like, now());
    assert_accepted(&send(k.addr(), "POST", "/inbox", &h, &like));
}

#[test]
fn sec_08_digest_variants() {
    use base64::Engine;
    let b64 = |bytes: &[u8]| base64::engine::general_purpose::STANDARD.encode(bytes);
    let (k, remote) = world();
    let bob = remote.actor("bob", Key::A);
    let before = counts(&k);
    // Each Digest value is signed (the signature covers it), so only the value is at fault.
    let send_with_digest = |body: &[u8], digest: &str| {
        let mut h = bob.sign_post(&format!("{}/inbox", k.base()), body, now());
        set_header(&mut h, "Digest", digest);
        let value = bob.cavage().header("POST", "/inbox", &h);
        set_header(&mut h, "Signature", &value);
        send(k.addr(), "POST", "/inbox", &h, body)
    };
    let body = serde_json::to_vec(&activity(&bob, "Like", json!(k.actor()))).unwrap();
    let sha256 = kith::sig::digest_header(&body);
    let value = sha256.trim_start_matches("SHA-256=").to_string();
    let refused: Vec<(String, String)> = vec![
        (
            "SHA-256=!!!not base64!!!".into(),
            "Invalid Digest value. The provided Digest value is not a valid base64 string. Given digest: !!!not base64!!!".into(),
        ),
        (
            format!("SHA-256={}", b64(&[7u8; 20])),
            format!(
                "Invalid Digest value. The provided Digest value is not a SHA-256 digest. Given digest: {}",
                b64(&[7u8; 20])
            ),
        ),
        (
            format!("SHA-512={}", b64(&[1u8; 64])),
            "Only SHA-256 is supported in the Digest header. Offered algorithms: SHA-512".into(),
        ),
        (
            format!("SHA-256={}", b64(&[0u8; 32])),
            format!(
                "Invalid Digest value. Computed SHA-256 digest: {value}; given: {}",
                b64(&[0u8; 32])
            ),
        ),
    ];
    for (digest, text) in &refused {
        assert_error(&send_with_digest(&body, digest), 401, text);
    }
    settle(&k);
    assert_eq!(counts(&k), before);
    assert!(remote.requests().is_empty());

    // Accepted: lower-case name, several algorithms with one matching SHA-256 entry.
    let accepted = [
        format!("sha-256={value}"),
        format!("SHA-512={},SHA-256={value}", b64(&[1u8; 64])),
        format!("sha-256={}, Sha-256={value}", b64(&[9u8; 32])),
    ];
    for digest in &accepted {
        // A fresh activity each time, with its own digest value.
        let body = serde_json::to_vec(&activity(&bob, "Like", json!(k.actor()))).unwrap();
        let real = kith::sig::digest_header(&body);
        let digest = digest.replace(&value, real.trim_start_matches("SHA-256="));
        assert_accepted(&send_with_digest(&body, &digest));
    }
}

#[test]
fn sec_09_10_replay_window_edges() {
    let (k, remote) = world();
    let bob = remote.actor("bob", Key::A);
    let before = counts(&k);
    let minutes = |m: i64| now() + m * 60;
    // Expiry is Date + 5 min, plus 1 h of clock skew: 65 min in the past is the edge.
    for at in [
        minutes(-66),
        minutes(-24 * 60),
        minutes(61),
        minutes(24 * 60),
    ] {
        let f = activity(&bob, "Follow", json!(k.actor()));
        assert_error(&deliver_at(&k, &bob, &f, "/inbox", at), 401, WINDOW);
    }
    // An unparsable Date.
    let body = serde_json::to_vec(&activity(&bob, "Follow", json!(k.actor()))).unwrap();
    let mut h = bob.sign_post(&format!("{}/inbox", k.base()), &body, now());
    set_header(&mut h, "Date", "yesterday at noon");
    let value = bob.cavage().header("POST", "/inbox", &h);
    set_header(&mut h, "Signature", &value);
    assert_error(
        &send(k.addr(), "POST", "/inbox", &h, &body),
        401,
        "Invalid Date header",
    );
    settle(&k);
    assert_eq!(counts(&k), before);
    assert!(
        remote.requests().is_empty(),
        "no key fetch for a stale request"
    );

    // hs2019 with (created) and (expires): `created` more than 1 h ahead, an
    // `expires` past, and an `expires` beyond the 12 h cap all fall outside.
    let with_times = |created: i64, expires: Option<i64>| {
        let body = serde_json::to_vec(&activity(&bob, "Like", json!(k.actor()))).unwrap();
        let mut h = bob.sign_post(&format!("{}/inbox", k.base()), &body, now());
        h.retain(|(n, _)| n != "Date");
        let mut covered = vec!["(request-target)", "(created)", "host", "digest"];
        if expires.is_some() {
            covered.push("(expires)");
        }
        let sig = bob
            .cavage()
            .algorithm(Some("hs2019"))
            .created(created)
            .covering(&covered)
            .header("POST", "/inbox", &h);
        // `(expires)` is not part of the builder: add it by hand.
        let sig = match expires {
            Some(e) => {
                let base = bob
                    .cavage()
                    .algorithm(Some("hs2019"))
                    .created(created)
                    .covering(&covered);
                base.header_with("POST", "/inbox", &h, &[("(expires)", e)])
            }
            None => sig,
        };
        set_header(&mut h, "Signature", &sig);
        send(k.addr(), "POST", "/inbox", &h, &body)
    };
    let refused = [
        (minutes(61), None),
        (minutes(-3 * 60), Some(minutes(-61))),
        (minutes(-14 * 60), Some(minutes(60))),
    ];
    for (created, expires) in refused {
        assert_error(&with_times(created, expires), 401, WINDOW);
    }
    settle(&k);
    assert_eq!(counts(&k), before);
    assert!(remote.requests().is_empty());

    // Just inside the window on both sides, with Date and with (created)/(expires).
    for at in [minutes(-64), minutes(59)] {
        let f = activity(&bob, "Like", json!(k.actor()));
        assert_accepted(&deliver_at(&k, &bob, &f, "/inbox", at));
    }
    assert_accepted(&with_times(minutes(59), None));
    // A signature valid for 3 h (expires within the 12 h cap), made 2 h ago.
    assert_accepted(&with_times(minutes(-2 * 60), Some(minutes(60))));
}

#[test]
fn sec_11_signature_replayed_on_another_path_or_query() {
    let (k, remote) = world();
    let bob = remote.actor("bob", Key::A);
    let before = counts(&k);
    let verification_failed = format!(
        "Verification failed for {} using rsa-sha256 (RSASSA-PKCS1-v1_5 with SHA-256)",
        bob.key_id
    );
    let f = activity(&bob, "Follow", json!(k.actor()));
    let body = serde_json::to_vec(&f).unwrap();
    // Signed for the shared inbox, sent to the personal one.
    let h = bob.sign_post(&format!("{}/inbox", k.base()), &body, now());
    let got = send(k.addr(), "POST", "/users/owner/inbox", &h, &body);
    assert_error(&got, 401, &verification_failed);
    // Signed with one query, sent with another.
    let h = bob.sign_post(&format!("{}/inbox?a=1", k.base()), &body, now());
    let got = send(k.addr(), "POST", "/inbox?a=2", &h, &body);
    assert_error(&got, 401, &verification_failed);
    settle(&k);
    let after = counts(&k);
    assert_eq!(
        Counts {
            actors: before.actors,
            ..after
        },
        before,
        "nothing but the signer's actor was stored"
    );
    // The key was fetched once, for the first request; the second used the fresh cache.
    assert_eq!(remote.requests().len(), 1, "{:?}", remote.requests());
    assert_eq!(remote.requests()[0].path(), "/users/bob");

    // A signature made without the query string is accepted (Mastodon, GoToSocial).
    let h = bob.sign_post(&format!("{}/inbox", k.base()), &body, now());
    assert_accepted(&send(k.addr(), "POST", "/inbox?x=1", &h, &body));
}

#[test]
fn sec_12_signed_get_with_wrong_host_or_without_host() {
    let (k, remote) = world();
    let bob = remote.actor("bob", Key::A);
    follow_owner(&k, &bob);
    let post = owner_post(&k, "private");
    settle(&k);
    let path = path_of(&post.uri);
    let get = |h: &[(String, String)]| send(k.addr(), "GET", &path, h, b"");
    // The follower may read it with a good signature.
    let good = bob.sign_get(&post.uri, now());
    let got = get(&good);
    assert_eq!(got.status, 200, "{}", got.body);
    assert_eq!(got.json()["id"], post.uri);
    // Unsigned: not found.
    let accept = headers(&[("Accept", "application/activity+json")]);
    assert_eq!(get(&accept).status, 404);

    remote.clear();
    // Signed for another server's Host.
    let elsewhere = post
        .uri
        .replace(&format!("localhost:{}", k.port), "kith.example");
    let got = get(&bob.sign_get(&elsewhere, now()));
    assert_error(&got, 401, "Signed Host header does not name this server");
    // Host not covered.
    let mut h = bob.sign_get(&post.uri, now());
    let value = bob
        .cavage()
        .covering(&["(request-target)", "date", "accept"])
        .header("GET", &path, &h);
    set_header(&mut h, "Signature", &value);
    assert_error(
        &get(&h),
        401,
        "kith requires the Host header to be signed when doing a GET request",
    );
    // A bad signature on a post that does not exist looks the same as on a private one.
    let missing = post.uri.replace(&post.id.to_string(), "1");
    let got = send(
        k.addr(),
        "GET",
        &path_of(&missing),
        &bob.sign_get(
            &missing.replace(&format!("localhost:{}", k.port), "kith.example"),
            now(),
        ),
        b"",
    );
    assert_error(&got, 401, "Signed Host header does not name this server");
    assert!(remote.requests().is_empty(), "{:?}", remote.requests());
}

#[test]
fn sec_13_key_on_blocked_domain_is_refused_before_any_fetch() {
    let (k, remote) = world();
    let bob = remote.actor("bob", Key::A);
    // An actor the owner blocked: 403 (its key is known, so no fetch is needed).
    let eve = remote.actor("eve", Key::B);
    follow_owner(&k, &eve);
    let eve_id = k
        .read(|c| kith::db::actors::find_by_uri(c, &eve.uri))
        .unwrap()
        .id;
    kith::process::block(k.ctx(), eve_id).unwrap();
    settle(&k);
    remote.clear();
    let before = counts(&k);
    let c = create(&eve, note(&remote, &k, &eve.uri, "/notes/13"));
    assert_error(&deliver(&k, &eve, &c), 403, "Actor is blocked");
    settle(&k);
    assert_eq!(counts(&k), before);
    assert!(remote.requests().is_empty());

    k.ctx()
        .db
        .write(|tx| kith::db::blocks::insert_domain_block(tx, "localhost", 0))
        .unwrap();
    let before = counts(&k);
    for path in ["/inbox", "/users/owner/inbox"] {
        let f = activity(&bob, "Follow", json!(k.actor()));
        let got = deliver_at(&k, &bob, &f, path, now());
        assert_error(&got, 403, "Domain is blocked");
    }
    settle(&k);
    assert_eq!(counts(&k), before);
    assert!(remote.requests().is_empty());

    // A keyId on an unblocked host whose key document turns out to live on the
    // blocked one (reached through a redirect) is no way around the block.
    let other = format!("http://127.0.0.1:{}", remote.port());
    let key_id = format!("{other}/users/bob-key#main-key");
    let mut doc = bob.doc.clone();
    doc["publicKey"]["id"] = json!(key_id);
    remote.serve(&doc);
    remote.route(
        "/users/bob-key",
        Reply::Redirect {
            status: 302,
            location: bob.uri.clone(),
        },
    );
    let f = activity(&bob, "Follow", json!(k.actor()));
    let body = serde_json::to_vec(&f).unwrap();
    let mut h = bob.sign_post(&format!("{}/inbox", k.base()), &body, now());
    let value = bob
        .cavage()
        .key_id(Some(&key_id))
        .header("POST", "/inbox", &h);
    set_header(&mut h, "Signature", &value);
    let got = send(k.addr(), "POST", "/inbox", &h, &body);
    assert_error(&got, 403, "Domain is blocked");
    settle(&k);
    assert_eq!(counts(&k), before, "not even bob's document was kept");
}

#[test]
fn sec_14_private_key_host_with_the_guard_on() {
    // kith's own host is not localhost here, or its own-URL rule would answer first.
    let k = Instance::start_at("kith.test", "owner", "", false);
    let remote = FakeRemote::start();
    let port = remote.port();
    let before = counts(&k);
    let cases = [
        (
            format!("https://localhost:{port}/users/bob"),
            "localhost".to_string(),
        ),
        (
            format!("https://127.0.0.1:{port}/users/bob"),
            "127.0.0.1".to_string(),
        ),
        (
            format!("https://[::1]:{port}/users/bob"),
            "[::1]".to_string(),
        ),
    ];
    for (i, (uri, host)) in cases.iter().enumerate() {
        let bob = remote.actor("bob", Key::A);
        let key_id = format!("{uri}#main-key");
        let f = json!({"id": format!("{uri}#f{i}"), "type": "Follow", "actor": uri, "object": k.actor()});
        let body = serde_json::to_vec(&f).unwrap();
        let mut h = bob.sign_post(&format!("{}/inbox", k.base()), &body, now());
        let value = bob
            .cavage()
            .key_id(Some(&key_id))
            .header("POST", "/inbox", &h);
        set_header(&mut h, "Signature", &value);
        // Each from its own address, so the key-fetch cool-off (case 18) plays no part.
        h.push(("X-Forwarded-For".into(), format!("203.0.113.{}", i + 1)));
        let got = send(k.addr(), "POST", "/inbox", &h, &body);
        assert_error(
            &got,
            401,
            &format!(
                "Requests to private network addresses are disallowed (tried to query {host})"
            ),
        );
    }
    // Plain http is refused with the guard on, before any lookup.
    let uri = format!("http://localhost:{port}/users/bob");
    let bob = remote.actor("bob", Key::A);
    let f = json!({"id": format!("{uri}#f"), "type": "Follow", "actor": uri, "object": k.actor()});
    let got = deliver_from(&k, &bob, &f, "203.0.113.9");
    assert_eq!(got.status, 401);
    assert_eq!(
        got.json()["error"],
        format!(
            "Unable to fetch key JSON at {uri}: refused URL \"{uri}\": plain http is not allowed"
        )
    );
    settle(&k);
    assert_eq!(counts(&k), before);
    assert_eq!(remote.connections(), 0, "no connection was opened");
}

#[test]
fn sec_15_key_owner_does_not_carry_the_key() {
    let (k, remote) = world();
    let before = counts(&k);
    // bob's document names carol as the owner of its key.
    let mut bob = remote.actor("bob", Key::A);
    bob.doc["publicKey"]["owner"] = json!(remote.url("/users/carol"));
    remote.serve(&bob.doc);
    let f = activity(&bob, "Follow", json!(k.actor()));
    let got = deliver(&k, &bob, &f);
    assert_error(
        &got,
        401,
        "key mismatch: the key's owner does not carry that key",
    );
    assert_eq!(stored_key(&k, &bob.uri), None, "no key was stored for bob");
    // dave signs with a keyId his document does not carry.
    let dave = remote.actor("dave", Key::A);
    let f = activity(&dave, "Follow", json!(k.actor()));
    let body = serde_json::to_vec(&f).unwrap();
    let mut h = dave.sign_post(&format!("{}/inbox", k.base()), &body, now());
    let value = dave
        .cavage()
        .key_id(Some(&format!("{}#other-key", dave.uri)))
        .header("POST", "/inbox", &h);
    set_header(&mut h, "Signature", &value);
    assert_error(
        &send(k.addr(), "POST", "/inbox", &h, &body),
        401,
        "key mismatch: the key's owner does not carry that key",
    );
    settle(&k);
    let after = counts(&k);
    assert_eq!(
        Counts {
            actors: before.actors,
            ..after
        },
        before
    );
    // Only the two actor documents were fetched.
    let paths: Vec<String> = remote.requests().iter().map(|r| r.target.clone()).collect();
    assert_eq!(paths, vec!["/users/bob", "/users/dave"]);
}

#[test]
fn sec_16_valid_signer_speaking_for_another_actor_is_dropped() {
    let (k, remote) = world();
    let bob = remote.actor("bob", Key::A);
    let carol = remote.actor("carol", Key::B);
    let before = counts(&k);
    // bob signs a Create and a Follow that claim to be carol's.
    let mut c = create(&carol, note(&remote, &k, &carol.uri, "/notes/16"));
    c["id"] = json!(format!("{}#create-16", carol.uri));
    assert_accepted(&deliver(&k, &bob, &c));
    let f = activity(&carol, "Follow", json!(k.actor()));
    assert_accepted(&deliver(&k, &bob, &f));
    settle(&k);
    let after = counts(&k);
    assert_eq!(
        Counts {
            actors: before.actors,
            ..after
        },
        before,
        "nothing queued, seen or stored"
    );
    // Only bob's key was fetched: carol's document and the note never.
    let paths: Vec<String> = remote.requests().iter().map(|r| r.target.clone()).collect();
    assert_eq!(paths, vec!["/users/bob"]);
}

#[test]
fn sec_17_update_person_cannot_swap_the_key() {
    let (k, remote) = world();
    let mut bob = remote.actor("bob", Key::A);
    follow_owner(&k, &bob);
    assert_eq!(
        stored_key(&k, &bob.uri).as_deref(),
        Some(Key::A.public_pem())
    );
    // An Update(Person) carrying key B, while bob's own URL still serves key A.
    let mut doc = bob.doc.clone();
    doc["publicKey"]["publicKeyPem"] = json!(Key::B.public_pem());
    doc["name"] = json!("Bob with another key");
    let mut update = fixture("update_person.json", &remote, None);
    update["object"] = doc.clone();
    remote.clear();
    assert_accepted(&deliver(&k, &bob, &update));
    settle(&k);
    assert_eq!(
        stored_key(&k, &bob.uri).as_deref(),
        Some(Key::A.public_pem()),
        "the key inside the activity is ignored"
    );
    assert_eq!(
        remote.requests_to("/users/bob").len(),
        1,
        "the actor was fetched from its own URL"
    );
    // An Update(Person) of someone else's profile changes nothing and fetches nothing.
    let carol = remote.actor("carol", Key::B);
    let mut other = fixture("update_person.json", &remote, None);
    other["id"] = json!(format!("{}#updates/2", bob.uri));
    other["object"] = carol.doc.clone();
    remote.clear();
    assert_accepted(&deliver(&k, &bob, &other));
    settle(&k);
    assert!(remote.requests_to("/users/carol").is_empty());
    assert!(
        k.read(|c| kith::db::actors::find_by_uri(c, &carol.uri))
            .is_none()
    );

    // Once bob's own URL serves key B, the next Update stores it.
    bob.doc = doc;
    remote.serve(&bob.doc);
    update["id"] = json!(format!("{}#updates/3", bob.uri));
    assert_accepted(&deliver(&k, &bob, &update));
    settle(&k);
    assert_eq!(
        stored_key(&k, &bob.uri).as_deref(),
        Some(Key::B.public_pem())
    );
}

#[test]
fn sec_18_unknown_key_flood_cools_off() {
    let (k, remote) = world();
    let before = counts(&k);
    let failures = [
        ("ghost", None, 404),
        (
            "busy",
            Some(Reply::TooMany {
                retry_after_secs: 120,
            }),
            429,
        ),
        ("broken", Some(Reply::status(500)), 500),
    ];
    for (i, (name, reply, status)) in failures.into_iter().enumerate() {
        let ip = format!("203.0.113.{}", 10 + i);
        let first = remote.actor_unserved(name, Key::A);
        if let Some(reply) = reply {
            remote.route(&format!("/users/{name}"), reply);
        }
        let f = activity(&first, "Follow", json!(k.actor()));
        assert_error(
            &deliver_from(&k, &first, &f, &ip),
            401,
            &format!(
                "Unable to fetch key JSON at {u}: GET {u} answered {status}",
                u = first.uri
            ),
        );
        assert_eq!(remote.requests_to(&format!("/users/{name}")).len(), 1);
        // The next unknown key from that address within 5 minutes is not fetched,
        // even one that would have verified.
        let second = remote.actor(&format!("{name}2"), Key::B);
        let f = activity(&second, "Follow", json!(k.actor()));
        assert_error(
            &deliver_from(&k, &second, &f, &ip),
            401,
            &format!("Unable to fetch key JSON at {}", second.uri),
        );
        assert!(remote.requests_to(&format!("/users/{name}2")).is_empty());
    }
    settle(&k);
    assert_eq!(counts(&k), before);
    assert_eq!(remote.requests().len(), 3, "{:?}", remote.requests());

    // Another client address is not affected.
    let bob = remote.actor("bob", Key::A);
    let f = activity(&bob, "Follow", json!(k.actor()));
    assert_accepted(&deliver_from(&k, &bob, &f, "203.0.113.5"));
    settle(&k);
    // A bad signature with a freshly fetched key does not refetch it: refetching
    // would let anyone make kith fetch bob once per request.
    remote.clear();
    let impostor = remote.actor_unserved("bob", Key::B);
    let f = activity(&bob, "Like", json!(k.actor()));
    let got = deliver_from(&k, &impostor, &f, "203.0.113.6");
    assert_error(
        &got,
        401,
        &format!(
            "Verification failed for {} using rsa-sha256 (RSASSA-PKCS1-v1_5 with SHA-256)",
            bob.key_id
        ),
    );
    // Nor does a keyId with another fragment on bob's fresh document.
    let f = activity(&bob, "Like", json!(k.actor()));
    let body = serde_json::to_vec(&f).unwrap();
    let mut h = bob.sign_post(&format!("{}/inbox", k.base()), &body, now());
    let value = bob
        .cavage()
        .key_id(Some(&format!("{}#key-{}", bob.uri, seq())))
        .header("POST", "/inbox", &h);
    set_header(&mut h, "Signature", &value);
    h.push(("X-Forwarded-For".into(), "203.0.113.7".into()));
    assert_error(
        &send(k.addr(), "POST", "/inbox", &h, &body),
        401,
        "key mismatch: the key's owner does not carry that key",
    );
    assert!(remote.requests().is_empty(), "{:?}", remote.requests());
}

#[test]
fn sec_19_key_owner_gone_gives_202_and_a_tombstone() {
    let (k, remote) = world();
    let gone = remote.actor_unserved("gone", Key::A);
    remote.route("/users/gone", Reply::status(410));
    let before = counts(&k);
    for i in 0..3 {
        let c = create(
            &gone,
            note(&remote, &k, &gone.uri, &format!("/notes/19-{i}")),
        );
        assert_accepted(&deliver(&k, &gone, &c));
    }
    settle(&k);
    let actor = k
        .read(|c| kith::db::actors::find_by_uri(c, &gone.uri))
        .expect("a tombstone");
    assert!(actor.gone_at.is_some());
    assert!(actor.public_key_pem.is_none());
    let after = counts(&k);
    assert_eq!(after.actors, before.actors + 1);
    assert_eq!(
        Counts {
            actors: before.actors,
            ..after
        },
        before
    );
    assert_eq!(
        remote.requests().len(),
        1,
        "fetched once, never again: {:?}",
        remote.requests()
    );

    // Nor when a followed account announces a Move to it.
    let bob = remote.actor("bob", Key::A);
    kith::process::follow(k.ctx(), &bob.uri).unwrap();
    settle(&k);
    remote.clear();
    let mv = json!({
        "@context": "https://www.w3.org/ns/activitystreams",
        "id": format!("{}#moves/1", bob.uri),
        "type": "Move",
        "actor": bob.uri,
        "object": bob.uri,
        "target": gone.uri,
    });
    assert_accepted(&deliver(&k, &bob, &mv));
    settle(&k);
    assert!(
        remote.requests_to("/users/gone").is_empty(),
        "{:?}",
        remote.requests()
    );
}

// ---------------------------------------------------------------------------------
// B. Origin and authorship

/// Sends a Create whose object is only an id, then settles.
fn create_by_id(k: &Instance, bob: &Actor, id: &str) {
    assert_accepted(&deliver(k, bob, &create(bob, json!(id))));
    settle(k);
}

#[test]
fn sec_20_fetched_id_differs_from_url() {
    let (k, remote) = world();
    let bob = remote.actor("bob", Key::A);
    follow_owner(&k, &bob);
    let before = counts(&k);
    let mut liar = note(&remote, &k, &bob.uri, "/notes/20-other");
    remote.route("/notes/20", Reply::ap(&liar));
    create_by_id(&k, &bob, &remote.url("/notes/20"));
    assert_eq!(counts(&k).stored(), before.stored(), "nothing stored");
    assert!(find_post(&k, &remote.url("/notes/20-other")).is_none());
    assert_eq!(remote.requests_to("/notes/20").len(), 1);
    assert!(remote.requests_to("/notes/20-other").is_empty());

    // The same note served at its own id is stored.
    liar["id"] = json!(remote.url("/notes/20-ok"));
    remote.serve(&liar);
    create_by_id(&k, &bob, &remote.url("/notes/20-ok"));
    assert!(find_post(&k, &remote.url("/notes/20-ok")).is_some());
}

#[test]
fn sec_21_redirect_to_another_host() {
    let (k, remote) = world();
    let bob = remote.actor("bob", Key::A);
    follow_owner(&k, &bob);
    let before = counts(&k);
    let port = remote.port();
    // localhost redirects to 127.0.0.1, whose answer claims the localhost id.
    let doc = note(&remote, &k, &bob.uri, "/notes/21");
    remote.route(
        "/notes/21",
        Reply::Redirect {
            status: 302,
            location: format!("http://127.0.0.1:{port}/notes/21-moved"),
        },
    );
    remote.route("/notes/21-moved", Reply::ap(&doc));
    create_by_id(&k, &bob, &remote.url("/notes/21"));
    assert_eq!(counts(&k).stored(), before.stored(), "nothing stored");
    assert_eq!(remote.requests_to("/notes/21-moved").len(), 1);

    // A redirect on the same host to a document whose id is the final URL is fine.
    remote.route(
        "/notes/21b",
        Reply::Redirect {
            status: 301,
            location: "/notes/21c".into(),
        },
    );
    remote.serve(&note(&remote, &k, &bob.uri, "/notes/21c"));
    create_by_id(&k, &bob, &remote.url("/notes/21b"));
    assert!(find_post(&k, &remote.url("/notes/21c")).is_some());
}

#[test]
fn sec_22_remote_document_claiming_a_kith_url() {
    let (k, remote) = world();
    let bob = remote.actor("bob", Key::A);
    follow_owner(&k, &bob);
    let before = counts(&k);
    remote.clear();
    let forged = format!("{}/users/owner/statuses/999", k.base());
    // An embedded object with a kith id: never fetched, never stored.
    let mut obj = note(&remote, &k, &k.actor(), "/unused");
    obj["id"] = json!(forged);
    assert_accepted(&deliver(&k, &bob, &create(&bob, obj.clone())));
    // The same, by id only.
    assert_accepted(&deliver(&k, &bob, &create(&bob, json!(forged))));
    // A document on the remote that claims the kith id.
    remote.route("/notes/22", Reply::ap(&obj));
    assert_accepted(&deliver(
        &k,
        &bob,
        &create(&bob, json!(remote.url("/notes/22"))),
    ));
    settle(&k);
    assert_eq!(counts(&k).stored(), before.stored());
    assert!(find_post(&k, &forged).is_none());
    let paths: Vec<String> = remote.requests().iter().map(|r| r.target.clone()).collect();
    assert_eq!(paths, vec!["/notes/22"], "no request for the kith URL");

    // An actor document that claims to be kith's owner.
    let mallory = remote.actor("mallory", Key::B);
    let mut claim = mallory.doc.clone();
    claim["id"] = json!(k.actor());
    remote.route("/users/mallory", Reply::ap(&claim));
    let f = activity(&mallory, "Follow", json!(k.actor()));
    let got = deliver_from(&k, &mallory, &f, "203.0.113.22");
    assert_error(
        &got,
        401,
        &format!(
            "Unable to fetch key JSON at {}: unusable actor document: id does not match the URL it was fetched from",
            mallory.uri
        ),
    );
    // A keyId naming kith's own actor: kith never fetches its own URLs.
    remote.clear();
    let f = activity(&mallory, "Follow", json!(k.actor()));
    let body = serde_json::to_vec(&f).unwrap();
    let mut h = mallory.sign_post(&format!("{}/inbox", k.base()), &body, now());
    let value = mallory
        .cavage()
        .key_id(Some(&format!("{}#main-key", k.actor())))
        .header("POST", "/inbox", &h);
    set_header(&mut h, "Signature", &value);
    h.push(("X-Forwarded-For".into(), "203.0.113.23".into()));
    let got = send(k.addr(), "POST", "/inbox", &h, &body);
    assert_eq!(got.status, 401, "{}", got.body);
    assert_eq!(
        got.json()["error"],
        format!(
            "Unable to fetch key JSON at {a}: refused URL \"{a}\": kith's own URLs are never fetched over the network",
            a = k.actor()
        )
    );
    assert!(remote.requests().is_empty());
    assert_eq!(counts(&k).stored(), before.stored());
}

#[test]
fn sec_23_cross_host_attribution() {
    let (k, remote) = world();
    let bob = remote.actor("bob", Key::A);
    follow_owner(&k, &bob);
    let before = counts(&k);
    remote.clear();
    let other_host = format!("http://127.0.0.1:{}", remote.port());
    // An embedded note on bob's host attributed to an actor on another host.
    let mut obj = note(&remote, &k, &format!("{other_host}/users/bob"), "/notes/23");
    assert_accepted(&deliver(&k, &bob, &create(&bob, obj.clone())));
    // A note on another host (fetched from there) attributed to that host's bob.
    obj["id"] = json!(format!("{other_host}/notes/23b"));
    remote.route("/notes/23b", Reply::ap(&obj));
    assert_accepted(&deliver(&k, &bob, &create(&bob, obj.clone())));
    // A note on bob's host whose attributedTo list puts another host first.
    // A note on bob's host attributed to carol, sent by bob.
    let carol = remote.url("/users/carol");
    assert_accepted(&deliver(
        &k,
        &bob,
        &create(&bob, note(&remote, &k, &carol, "/notes/23d")),
    ));
    let mut listed = note(&remote, &k, &bob.uri, "/notes/23c");
    listed["attributedTo"] = json!([format!("{other_host}/users/bob"), bob.uri]);
    assert_accepted(&deliver(&k, &bob, &create(&bob, listed)));
    settle(&k);
    assert_eq!(counts(&k).stored(), before.stored());
    let paths: Vec<String> = remote.requests().iter().map(|r| r.target.clone()).collect();
    assert_eq!(
        paths,
        vec!["/notes/23b"],
        "only the object on the other host"
    );
}

#[test]
fn sec_24_wrong_content_type_on_fetch() {
    let (k, remote) = world();
    let bob = remote.actor("bob", Key::A);
    follow_owner(&k, &bob);
    let before = counts(&k);
    for (i, content_type) in ["application/json", "text/html; charset=utf-8", "image/png"]
        .iter()
        .enumerate()
    {
        let path = format!("/notes/24-{i}");
        let doc = note(&remote, &k, &bob.uri, &path);
        remote.route(&path, Reply::with_type(200, content_type, &doc));
        create_by_id(&k, &bob, &remote.url(&path));
        assert_eq!(remote.requests_to(&path).len(), 1);
    }
    assert_eq!(counts(&k).stored(), before.stored());
    // ld+json with the ActivityStreams profile is fine.
    let path = "/notes/24-ld";
    let doc = note(&remote, &k, &bob.uri, path);
    remote.route(
        path,
        Reply::with_type(
            200,
            "application/ld+json; profile=\"https://www.w3.org/ns/activitystreams\"",
            &doc,
        ),
    );
    create_by_id(&k, &bob, &remote.url(path));
    assert!(find_post(&k, &remote.url(path)).is_some());

    // An actor document served as text/html is no key.
    let carol = remote.actor("carol", Key::B);
    remote.route(
        "/users/carol",
        Reply::with_type(200, "text/html", &carol.doc),
    );
    let before = counts(&k);
    let f = activity(&carol, "Follow", json!(k.actor()));
    let got = deliver_from(&k, &carol, &f, "203.0.113.24");
    assert_error(
        &got,
        401,
        &format!(
            "Unable to fetch key JSON at {u}: GET {u}: unexpected Content-Type \"text/html\"",
            u = carol.uri
        ),
    );
    settle(&k);
    assert_eq!(counts(&k), before);
}

#[test]
fn sec_25_look_alike_hosts_share_the_block_list() {
    let (k, remote) = world();
    let bob = remote.actor("bob", Key::A);
    let before = counts(&k);
    let block = |domain: &str| {
        k.ctx()
            .db
            .write(|tx| {
                tx.execute("DELETE FROM domain_blocks", [])?;
                kith::db::blocks::insert_domain_block(tx, domain, 0)
            })
            .unwrap()
    };
    let port = remote.port();
    let cases = [
        (
            "LocalHost.",
            format!("http://localhost:{port}/users/bob#main-key"),
        ),
        (
            "localhost",
            format!("http://LOCALHOST.:{port}/users/bob#main-key"),
        ),
        (
            "localhost.",
            format!("http://LocalHost:{port}/users/bob#main-key"),
        ),
    ];
    for (domain, key_id) in &cases {
        block(domain);
        let f = activity(&bob, "Follow", json!(k.actor()));
        let body = serde_json::to_vec(&f).unwrap();
        let mut h = bob.sign_post(&format!("{}/inbox", k.base()), &body, now());
        let value = bob
            .cavage()
            .key_id(Some(key_id))
            .header("POST", "/inbox", &h);
        set_header(&mut h, "Signature", &value);
        let got = send(k.addr(), "POST", "/inbox", &h, &body);
        assert_error(&got, 403, "Domain is blocked");
    }
    settle(&k);
    assert_eq!(counts(&k), before);
    assert!(remote.requests().is_empty());
}

/// bob (followed by nobody, following the owner) with one note stored, one like of an
/// owner's post, and carol on the same host.
struct Authored {
    k: Instance,
    remote: FakeRemote,
    bob: Actor,
    carol: Actor,
    note: Value,
    owner_post: posts::Post,
    like: Value,
    boost: Value,
}

fn authored() -> Authored {
    let (k, remote) = world();
    let bob = remote.actor("bob", Key::A);
    let carol = remote.actor("carol", Key::B);
    follow_owner(&k, &bob);
    follow_owner(&k, &carol);
    let note = note(&remote, &k, &bob.uri, "/users/bob/statuses/1");
    assert_accepted(&deliver(&k, &bob, &create(&bob, note.clone())));
    let owner_post = owner_post(&k, "public");
    let like = activity(&bob, "Like", json!(owner_post.uri));
    assert_accepted(&deliver(&k, &bob, &like));
    let mut boost = fixture("announce.json", &remote, None);
    boost["object"] = json!(owner_post.uri);
    boost["cc"] = json!([k.actor()]);
    assert_accepted(&deliver(&k, &bob, &boost));
    settle(&k);
    assert!(find_post(&k, note["id"].as_str().unwrap()).is_some());
    assert!(find_post(&k, boost["id"].as_str().unwrap()).is_some());
    assert_eq!(count(&k, "favourites"), 1);
    Authored {
        k,
        remote,
        bob,
        carol,
        note,
        owner_post,
        like,
        boost,
    }
}

#[test]
fn sec_26_delete_update_undo_by_a_non_author() {
    let a = authored();
    let (k, bob, carol) = (&a.k, &a.bob, &a.carol);
    let note_id = a.note["id"].as_str().unwrap();
    let stored = find_post(k, note_id).unwrap();
    let before = counts(k);
    // carol deletes bob's note.
    let mut delete = fixture("delete_note.json", &a.remote, None);
    delete["actor"] = json!(carol.uri);
    delete["id"] = json!(format!("{}#delete-26", carol.uri));
    delete["object"]["id"] = json!(note_id);
    assert_accepted(&deliver(k, carol, &delete));
    // carol edits bob's note, as bob, and as herself.
    for author in [&bob.uri, &carol.uri] {
        let mut edited = a.note.clone();
        edited["content"] = json!("<p>edited by carol</p>");
        edited["attributedTo"] = json!(author);
        edited["updated"] = json!("2024-08-21T10:00:00Z");
        assert_accepted(&deliver(k, carol, &activity(carol, "Update", edited)));
    }
    // carol undoes bob's like: the full object, and the id alone.
    let mut undo = activity(carol, "Undo", a.like.clone());
    assert_accepted(&deliver(k, carol, &undo));
    undo = activity(carol, "Undo", a.like["id"].clone());
    assert_accepted(&deliver(k, carol, &undo));
    // carol undoes and deletes bob's boost.
    assert_accepted(&deliver(
        k,
        carol,
        &activity(carol, "Undo", a.boost.clone()),
    ));
    assert_accepted(&deliver(
        k,
        carol,
        &activity(carol, "Undo", a.boost["id"].clone()),
    ));
    assert_accepted(&deliver(
        k,
        carol,
        &activity(carol, "Delete", a.boost["id"].clone()),
    ));
    // carol undoes bob's follow.
    let bobs_follow = json!({"id": format!("{}#follow-x", bob.uri), "type": "Follow", "actor": bob.uri, "object": k.actor()});
    assert_accepted(&deliver(k, carol, &activity(carol, "Undo", bobs_follow)));
    settle(k);
    let after = counts(k);
    assert_eq!(
        Counts {
            seen: before.seen,
            ..after
        },
        before
    );
    let now_stored = find_post(k, note_id).unwrap();
    assert_eq!(now_stored.content_html, stored.content_html);
    assert_eq!(now_stored.edited_at, None);
    assert_eq!(count(k, "favourites"), 1);
    assert!(find_post(k, a.boost["id"].as_str().unwrap()).is_some());
    assert_eq!(k.read(kith::db::follows::counts).0, 2, "both still follow");

    // bob may undo his own like.
    let mut undo = fixture("undo_like.json", &a.remote, None);
    undo["object"] = a.like.clone();
    assert_accepted(&deliver(k, bob, &undo));
    settle(k);
    assert_eq!(count(k, "favourites"), 0);
    let _ = a.owner_post;
}

#[test]
fn sec_27_update_changing_published_is_dropped() {
    let a = authored();
    let (k, bob) = (&a.k, &a.bob);
    let note_id = a.note["id"].as_str().unwrap();
    let stored = find_post(k, note_id).unwrap();
    let before = counts(k);
    let mut moved = a.note.clone();
    moved["content"] = json!("<p>moved in time</p>");
    moved["published"] = json!("2020-01-01T00:00:00Z");
    moved["updated"] = json!("2024-08-21T10:00:00Z");
    assert_accepted(&deliver(k, bob, &activity(bob, "Update", moved)));
    settle(k);
    let now_stored = find_post(k, note_id).unwrap();
    assert_eq!(now_stored.content_html, stored.content_html);
    assert_eq!(now_stored.published_at, stored.published_at);
    assert_eq!(now_stored.edited_at, None);
    let after = counts(k);
    assert_eq!(
        Counts {
            seen: before.seen,
            ..after
        },
        before
    );

    // The same edit keeping `published` is applied.
    let mut edit = a.note.clone();
    edit["content"] = json!("<p>a real edit</p>");
    edit["updated"] = json!("2024-08-21T10:00:00Z");
    assert_accepted(&deliver(k, bob, &activity(bob, "Update", edit)));
    settle(k);
    let edited = find_post(k, note_id).unwrap();
    assert!(edited.content_html.contains("a real edit"));
    assert_eq!(edited.published_at, stored.published_at);
}

#[test]
fn sec_29_activity_without_id_is_not_stored() {
    let (k, remote) = world();
    let bob = remote.actor("bob", Key::A);
    deliver(&k, &bob, &activity(&bob, "Like", json!(k.actor())));
    settle(&k);
    let before = counts(&k);
    let mut c = create(&bob, note(&remote, &k, &bob.uri, "/notes/29"));
    c.as_object_mut().unwrap().remove("id");
    assert_accepted(&deliver(&k, &bob, &c));
    let mut f = activity(&bob, "Follow", json!(k.actor()));
    f.as_object_mut().unwrap().remove("id");
    assert_accepted(&deliver(&k, &bob, &f));
    settle(&k);
    assert_eq!(counts(&k), before);
    assert_eq!(remote.requests().len(), 1, "only the first key fetch");
}

#[test]
fn sec_30_malformed_activities() {
    let (k, remote) = world();
    let bob = remote.actor("bob", Key::A);
    let before = counts(&k);
    let n = note(&remote, &k, &bob.uri, "/notes/30");
    let mut no_object = create(&bob, json!(null));
    no_object.as_object_mut().unwrap().remove("object");
    let mut no_type = activity(&bob, "Follow", json!(k.actor()));
    no_type.as_object_mut().unwrap().remove("type");
    let mut no_actor = activity(&bob, "Follow", json!(k.actor()));
    no_actor.as_object_mut().unwrap().remove("actor");
    let bodies: Vec<Vec<u8>> = vec![
        serde_json::to_vec(&n).unwrap(),
        serde_json::to_vec(&activity(&bob, "Dance", json!(k.actor()))).unwrap(),
        serde_json::to_vec(&no_object).unwrap(),
        serde_json::to_vec(&create(&bob, json!(null))).unwrap(),
        serde_json::to_vec(&no_type).unwrap(),
        serde_json::to_vec(&no_actor).unwrap(),
        serde_json::to_vec(&json!([activity(&bob, "Follow", json!(k.actor()))])).unwrap(),
        serde_json::to_vec(&json!("Follow")).unwrap(),
        b"{\"type\": \"Follow\", ".to_vec(),
        b"".to_vec(),
    ];
    for body in &bodies {
        let h = bob.sign_post(&format!("{}/inbox", k.base()), body, now());
        let got = send(k.addr(), "POST", "/inbox", &h, body);
        assert_error(&got, 400, MALFORMED);
    }
    settle(&k);
    assert_eq!(counts(&k), before);
    assert!(remote.requests().is_empty());
}

#[test]
fn sec_31_wrong_content_type() {
    let (k, remote) = world();
    let bob = remote.actor("bob", Key::A);
    let before = counts(&k);
    let f = activity(&bob, "Follow", json!(k.actor()));
    let body = serde_json::to_vec(&f).unwrap();
    for content_type in [
        Some("application/json"),
        Some("text/plain"),
        Some("application/x-www-form-urlencoded"),
        Some("application/activity+jsonx"),
        None,
    ] {
        let url = format!("{}/inbox", k.base());
        let mut h = bob.sign_post_as(&url, &body, now(), content_type.unwrap_or("x/y"));
        if content_type.is_none() {
            h.retain(|(n, _)| n != "Content-Type");
        }
        let got = send(k.addr(), "POST", "/inbox", &h, &body);
        assert_error(&got, 406, "Content-Type must be application/activity+json");
    }
    settle(&k);
    assert_eq!(counts(&k), before);
    assert!(remote.requests().is_empty());
    // ld+json (any profile) is accepted.
    let url = format!("{}/inbox", k.base());
    let h = bob.sign_post_as(
        &url,
        &body,
        now(),
        "application/ld+json; profile=\"https://www.w3.org/ns/activitystreams\"",
    );
    assert_accepted(&send(k.addr(), "POST", "/inbox", &h, &body));
}

// ---------------------------------------------------------------------------------
// C. SSRF (end to end; the ranges and the dialer are unit-tested in src/fetch)

#[test]
fn sec_32_36_follow_of_a_private_address_with_the_guard_on() {
    let k = Instance::start_at("kith.test", "owner", "", false);
    let remote = FakeRemote::start();
    let port = remote.port();
    let _x = remote.actor("x", Key::A);
    let before = counts(&k);
    let cases = [
        (
            format!("http://127.0.0.1:{port}/users/x"),
            format!("refused URL \"http://127.0.0.1:{port}/users/x\": plain http is not allowed"),
        ),
        (
            format!("https://127.0.0.1:{port}/users/x"),
            format!(
                "refused URL \"https://127.0.0.1:{port}/users/x\": Requests to private network addresses are disallowed (127.0.0.1 is a private or reserved address)"
            ),
        ),
        (
            format!("https://localhost:{port}/users/x"),
            format!(
                "https://localhost:{port}/users/x: Requests to private network addresses are disallowed (refused to connect to "
            ),
        ),
        (
            format!("@x@127.0.0.1:{port}"),
            "Requests to private network addresses are disallowed (127.0.0.1 is a private or reserved address)".into(),
        ),
        (
            format!("@x@localhost:{port}"),
            "Requests to private network addresses are disallowed (refused to connect to ".into(),
        ),
    ];
    for (target, message) in &cases {
        let err = kith::process::follow(k.ctx(), target).expect_err(target);
        let text = err.to_string();
        assert!(text.contains(message.as_str()), "{target}: {text}");
        assert!(!err.is_transient(), "{target}: a refusal is final");
    }
    settle(&k);
    assert_eq!(counts(&k), before);
    assert_eq!(count(&k, "deliveries"), 0);
    assert_eq!(remote.connections(), 0, "no connection was opened");
}

// ---------------------------------------------------------------------------------
// D. Resource exhaustion

#[test]
fn sec_39_oversized_inbox_body() {
    let (k, remote) = world();
    let bob = remote.actor("bob", Key::A);
    let before = counts(&k);
    // 1 MiB + 1 byte, signed and otherwise well-formed.
    let mut c = create(&bob, note(&remote, &k, &bob.uri, "/notes/39"));
    let filler = 1024 * 1024 + 1 - serde_json::to_vec(&c).unwrap().len() - r#","x":"""#.len();
    c["x"] = json!("a".repeat(filler));
    let body = serde_json::to_vec(&c).unwrap();
    assert_eq!(body.len(), 1024 * 1024 + 1);
    let h = bob.sign_post(&format!("{}/inbox", k.base()), &body, now());
    assert_error(
        &send(k.addr(), "POST", "/inbox", &h, &body),
        413,
        "Request body too large",
    );
    // The same body chunked, with no Content-Length: the bounded reader stops it.
    let mut chunked = Vec::new();
    for chunk in body.chunks(64 * 1024) {
        chunked.extend(format!("{:x}\r\n", chunk.len()).bytes());
        chunked.extend(chunk);
        chunked.extend(b"\r\n");
    }
    chunked.extend(b"0\r\n\r\n");
    let mut ch = h.clone();
    ch.push(("Transfer-Encoding".into(), "chunked".into()));
    assert_error(
        &send(k.addr(), "POST", "/inbox", &ch, &chunked),
        413,
        "Request body too large",
    );
    // Exactly 1 MiB passes the cap.
    c["x"] = json!("a".repeat(filler - 1));
    let body = serde_json::to_vec(&c).unwrap();
    assert_eq!(body.len(), 1024 * 1024);
    let h = bob.sign_post(&format!("{}/inbox", k.base()), &body, now());
    assert_accepted(&send(k.addr(), "POST", "/inbox", &h, &body));
    assert_eq!(
        remote.requests().len(),
        1,
        "the key fetch of the accepted one"
    );
    let _ = before;

    // A 1-byte cap refuses an ordinary Follow.
    let tiny = Instance::start("owner", "[limits]\nbody_max_bytes = 1\n");
    let remote = FakeRemote::start();
    let bob = remote.actor("bob", Key::A);
    let before = counts(&tiny);
    let f = activity(&bob, "Follow", json!(tiny.actor()));
    assert_error(&deliver(&tiny, &bob, &f), 413, "Request body too large");
    settle(&tiny);
    assert_eq!(counts(&tiny), before);
    assert!(remote.requests().is_empty());
}

#[test]
fn sec_40_oversized_or_lying_key_documents() {
    let (k, remote) = world();
    let before = counts(&k);
    let cap = kith::fetch::JSON_MAX_BYTES as usize;
    let big_doc = |a: &Actor| {
        let mut d = a.doc.clone();
        d["summary"] = json!("b".repeat(cap));
        serde_json::to_vec(&d).unwrap()
    };
    let honest = remote.actor_unserved("honest", Key::A);
    remote.route(
        "/users/honest",
        Reply::Doc {
            status: 200,
            content_type: fake_remote::AP.into(),
            body: big_doc(&honest),
        },
    );
    let no_length = remote.actor_unserved("unsized", Key::A);
    remote.route(
        "/users/unsized",
        Reply::CloseDelimited {
            content_type: fake_remote::AP.into(),
            body: big_doc(&no_length),
        },
    );
    let claims_big = remote.actor_unserved("claimsbig", Key::A);
    remote.route(
        "/users/claimsbig",
        Reply::LyingLength {
            declared: 50 * 1024 * 1024,
            body: serde_json::to_vec(&claims_big.doc).unwrap(),
        },
    );
    let claims_small = remote.actor_unserved("claimssmall", Key::A);
    remote.route(
        "/users/claimssmall",
        Reply::LyingLength {
            declared: 100,
            body: big_doc(&claims_small),
        },
    );
    let cut_short = remote.actor_unserved("cutshort", Key::A);
    remote.route(
        "/users/cutshort",
        Reply::LyingLength {
            declared: 500_000,
            body: serde_json::to_vec(&cut_short.doc).unwrap(),
        },
    );
    let too_large = format!("response larger than {cap} bytes");
    let cases: [(&Actor, String); 5] = [
        (&honest, format!("GET {}: {too_large}", honest.uri)),
        (&no_length, format!("GET {}: {too_large}", no_length.uri)),
        (&claims_big, format!("GET {}: {too_large}", claims_big.uri)),
        (&claims_small, "actor document is not JSON: ".into()),
        (&cut_short, format!("{}: ", cut_short.uri)),
    ];
    for (i, (actor, why)) in cases.iter().enumerate() {
        let f = activity(actor, "Follow", json!(k.actor()));
        let got = deliver_from(&k, actor, &f, &format!("203.0.113.{}", 40 + i));
        assert_eq!(got.status, 401, "{}: {}", actor.name, got.body);
        let text = got.json()["error"].as_str().unwrap().to_string();
        let prefix = format!("Unable to fetch key JSON at {}: {why}", actor.uri);
        assert!(text.starts_with(&prefix), "{}: {text}", actor.name);
        assert_eq!(
            remote.requests_to(&format!("/users/{}", actor.name)).len(),
            1
        );
    }
    settle(&k);
    assert_eq!(counts(&k), before, "nothing stored");
}

#[test]
fn sec_inbox_over_the_rate_limit_gets_429() {
    // Signed deliveries count per signing host (SECURITY.md 70).
    let k = Instance::start("owner", "[limits]\nsigned_inbox_requests = 3\n");
    let remote = FakeRemote::start();
    let bob = remote.actor("bob", Key::A);
    for _ in 0..3 {
        let f = activity(&bob, "Like", json!(k.actor()));
        assert_accepted(&deliver(&k, &bob, &f));
    }
    settle(&k);
    let before = counts(&k);
    remote.clear();
    let f = activity(&bob, "Follow", json!(k.actor()));
    let got = deliver(&k, &bob, &f);
    assert_error(&got, 429, "Too many requests");
    for name in [
        "x-ratelimit-limit",
        "x-ratelimit-remaining",
        "x-ratelimit-reset",
    ] {
        assert!(got.header(name).is_some(), "{name}: {:?}", got.headers);
    }
    assert_eq!(got.header("x-ratelimit-limit"), Some("3"));
    assert_eq!(got.header("x-ratelimit-remaining"), Some("0"));
    settle(&k);
    assert_eq!(counts(&k), before);
    assert!(remote.requests().is_empty());
}

/// The actor `slow`, whose document the remote sends one byte every 100 ms, and how
/// long the whole of it would take.
fn dripping_actor(remote: &FakeRemote) -> (Actor, Duration) {
    let slow = remote.actor_unserved("slow", Key::A);
    let body = serde_json::to_vec(&slow.doc).unwrap();
    let every = Duration::from_millis(100);
    let whole = every * body.len() as u32;
    remote.route("/users/slow", Reply::Drip { body, every });
    (slow, whole)
}

#[test]
fn sec_41_a_slow_drip_key_document_is_cut_off_at_the_deadline() {
    let k = Instance::start("owner", "[federation]\nfetch_timeout_secs = 2\n");
    let remote = FakeRemote::start();
    let before = counts(&k);
    // An actor whose document, whole, would take minutes to arrive.
    let (slow, whole) = dripping_actor(&remote);
    let started = Instant::now();
    let got = deliver(&k, &slow, &activity(&slow, "Follow", json!(k.actor())));
    let took = started.elapsed();
    assert_eq!(got.status, 401, "{}", got.body);
    let text = got.json()["error"].as_str().unwrap().to_string();
    assert!(
        text.starts_with(&format!("Unable to fetch key JSON at {}", slow.uri)),
        "{text}"
    );
    assert!(
        took < Duration::from_secs(10) && took * 10 < whole,
        "cut off near the 2 s deadline, not after the drip ({whole:?}): {took:?}"
    );
    assert_eq!(remote.requests_to("/users/slow").len(), 1);
    settle(&k);
    assert_eq!(counts(&k), before, "nothing stored");
}

#[test]
fn key_fetches_leave_a_request_thread_free() {
    // Two request threads: one key fetch may run at a time.
    let k = Instance::start(
        "owner",
        "http_threads = 2\n[federation]\nfetch_timeout_secs = 5\n",
    );
    let remote = FakeRemote::start();
    let (slow, _) = dripping_actor(&remote);
    let other = remote.actor("other", Key::B);
    let before = counts(&k);

    let waiting = std::thread::scope(|scope| {
        let first =
            scope.spawn(|| deliver(&k, &slow, &activity(&slow, "Follow", json!(k.actor()))));
        // Until kith is waiting on the slow server (bounded by the test's own deadline).
        let started = Instant::now();
        while remote.requests_to("/users/slow").is_empty() {
            assert!(
                started.elapsed() < Duration::from_secs(5),
                "no key fetch began"
            );
            std::thread::park_timeout(Duration::from_millis(5));
        }
        // Another unknown signer meanwhile: asked to come back, and nothing fetched.
        let got = deliver(&k, &other, &activity(&other, "Follow", json!(k.actor())));
        assert_error(&got, 429, "Too many requests");
        assert_eq!(got.header("retry-after"), Some("10"));
        assert!(remote.requests_to("/users/other").is_empty());
        // The other request thread still answers.
        let health = send(k.addr(), "GET", "/health", &[], b"");
        assert_eq!(health.status, 200);
        first.join().unwrap()
    });
    assert_eq!(waiting.status, 401, "{}", waiting.body);
    // The slot is free again once the slow fetch has given up.
    let again = deliver_from(
        &k,
        &other,
        &activity(&other, "Follow", json!(k.actor())),
        "203.0.113.77",
    );
    assert_accepted(&again);
    settle(&k);
    assert_eq!(k.read(kith::db::follows::counts).0, before.followers + 1);
}

#[test]
fn sec_42_reply_chain_is_capped() {
    let (k, remote) = world();
    let bob = remote.actor("bob", Key::A);
    follow_owner(&k, &bob);
    let before = counts(&k);
    remote.clear();
    // n0 <- n1 <- … <- n14 are on the remote; n15 replies to n14 and reaches kith.
    let chain: Vec<Value> = (0..=15)
        .map(|i| {
            let mut n = note(&remote, &k, &bob.uri, &format!("/notes/42-{i}"));
            n["cc"] = json!([format!("{}/followers", bob.uri)]);
            n["tag"] = json!([]);
            if i > 0 {
                n["inReplyTo"] = json!(remote.url(&format!("/notes/42-{}", i - 1)));
            }
            n
        })
        .collect();
    for n in &chain[..15] {
        remote.serve(n);
    }
    let mut last = chain[15].clone();
    last["cc"] = json!([k.actor()]);
    assert_accepted(&deliver(&k, &bob, &create(&bob, last)));
    settle(&k);
    let fetched: Vec<String> = remote
        .requests()
        .iter()
        .filter(|r| r.method == "GET")
        .map(|r| r.target.clone())
        .collect();
    let expected: Vec<String> = (5..15).rev().map(|i| format!("/notes/42-{i}")).collect();
    assert_eq!(fetched, expected, "at most 10 ancestors, nearest first");
    assert!(
        find_post(&k, &remote.url("/notes/42-15")).is_some(),
        "the post itself"
    );
    assert!(find_post(&k, &remote.url("/notes/42-5")).is_some());
    assert!(find_post(&k, &remote.url("/notes/42-4")).is_none());
    assert_eq!(counts(&k).posts, before.posts + 11);

    // A cycle (a replies to b, b to a) ends too.
    remote.clear();
    let mut a = note(&remote, &k, &bob.uri, "/notes/42-a");
    let mut b = note(&remote, &k, &bob.uri, "/notes/42-b");
    a["inReplyTo"] = json!(remote.url("/notes/42-b"));
    b["inReplyTo"] = json!(remote.url("/notes/42-a"));
    remote.serve(&a);
    remote.serve(&b);
    let notified = count(&k, "notifications");
    assert_accepted(&deliver(&k, &bob, &create(&bob, a)));
    settle(&k);
    let paths: Vec<String> = remote.requests().iter().map(|r| r.target.clone()).collect();
    assert_eq!(
        paths,
        vec!["/notes/42-b"],
        "the loop ends at the post itself"
    );
    assert!(find_post(&k, &remote.url("/notes/42-a")).is_some());
    assert!(find_post(&k, &remote.url("/notes/42-b")).is_some());
    assert_eq!(
        count(&k, "notifications"),
        notified + 1,
        "the post is stored as itself: its mention is notified"
    );
}

#[test]
fn sec_43_huge_arrays_and_strings_are_capped() {
    let (k, remote) = world();
    let bob = remote.actor("bob", Key::A);
    let mut n = note(&remote, &k, &bob.uri, "/notes/43");
    let mut tags = vec![json!({"type": "Mention", "href": k.actor(), "name": "@owner"})];
    for i in 0..1500 {
        tags.push(json!({"type": "Mention", "href": remote.url(&format!("/users/u{i}")), "name": format!("@u{i}")}));
        tags.push(json!({"type": "Hashtag", "href": remote.url(&format!("/tags/t{i}")), "name": format!("#t{i}")}));
    }
    n["tag"] = json!(tags);
    n["content"] = json!(format!("<p>{}</p>", "word ".repeat(40_000)));
    n["summary"] = json!("w".repeat(20_000));
    n["attachment"] = json!((0..40)
        .map(|i| json!({"type": "Document", "mediaType": "image/png", "url": remote.url(&format!("/m/{i}.png")), "name": "x".repeat(2000)}))
        .collect::<Vec<_>>());
    let cc: Vec<String> = (0..1000)
        .map(|i| remote.url(&format!("/users/c{i}")))
        .chain([k.actor()])
        .collect();
    n["cc"] = json!(cc);
    let c = create(&bob, n);
    let size = serde_json::to_vec(&c).unwrap().len();
    assert!(size < 1024 * 1024, "{size}");
    assert_accepted(&deliver(&k, &bob, &c));
    settle(&k);
    let post = find_post(&k, &remote.url("/notes/43")).expect("stored, not failed");
    let mentions = k.read(|c| posts::list_mentions(c, post.id));
    let tags = k.read(|c| posts::list_tags(c, post.id));
    let attachments = k.read(|c| posts::list_attachments(c, post.id));
    assert!(
        mentions.len() <= kith::text::MAX_MENTIONS,
        "{}",
        mentions.len()
    );
    assert!(mentions.iter().any(|m| m.actor_uri == k.actor()));
    assert!(
        !tags.is_empty() && tags.len() <= kith::text::MAX_HASHTAGS,
        "{}",
        tags.len()
    );
    assert!(attachments.len() <= 16);
    assert!(
        attachments
            .iter()
            .all(|a| a.description.chars().count() <= 1500)
    );
    assert!(
        post.content_html.len() <= kith::text::MAX_CONTENT_BYTES,
        "{}",
        post.content_html.len()
    );
    assert!(post.spoiler_text.chars().count() <= 1000);
    let audience: Vec<String> = serde_json::from_str(&post.audience_json).unwrap();
    assert!(audience.len() <= 400, "{}", audience.len());
    assert_eq!(
        count(&k, "notifications"),
        1,
        "the owner is told about the mention"
    );
}

#[test]
fn sec_44_deeply_nested_json_and_remote_context() {
    let (k, remote) = world();
    let bob = remote.actor("bob", Key::A);
    let before = counts(&k);
    let depth = 100_000;
    let mut body = format!(
        "{{\"id\":\"{}#deep\",\"type\":\"Create\",\"actor\":\"{}\",\"object\":",
        bob.uri, bob.uri
    )
    .into_bytes();
    body.extend(std::iter::repeat_n(b'[', depth));
    body.extend(std::iter::repeat_n(b']', depth));
    body.push(b'}');
    let h = bob.sign_post(&format!("{}/inbox", k.base()), &body, now());
    assert_error(&send(k.addr(), "POST", "/inbox", &h, &body), 400, MALFORMED);
    settle(&k);
    assert_eq!(counts(&k), before);
    assert!(remote.requests().is_empty());

    // A remote @context is never fetched: AS2 is read as plain JSON.
    remote.route("/context.jsonld", Reply::ap(&json!({"@context": {}})));
    let mut c = create(&bob, note(&remote, &k, &bob.uri, "/notes/44"));
    c["@context"] = json!([remote.url("/context.jsonld")]);
    c["object"]["@context"] = json!(remote.url("/context.jsonld"));
    assert_accepted(&deliver(&k, &bob, &c));
    settle(&k);
    assert!(find_post(&k, &remote.url("/notes/44")).is_some());
    assert!(remote.requests_to("/context.jsonld").is_empty());
}

// ---------------------------------------------------------------------------------
// Redelivery and real payload shapes

#[test]
fn sec_redelivered_create_is_stored_once() {
    let (k, remote) = world();
    let bob = remote.actor("bob", Key::A);
    let c = create(&bob, note(&remote, &k, &bob.uri, "/notes/dup"));
    let body = serde_json::to_vec(&c).unwrap();
    let h = bob.sign_post(&format!("{}/inbox", k.base()), &body, now());
    assert_accepted(&send(k.addr(), "POST", "/inbox", &h, &body));
    settle(&k);
    let first = counts(&k);
    // The very same request again, and the same activity freshly signed.
    assert_accepted(&send(k.addr(), "POST", "/inbox", &h, &body));
    assert_accepted(&deliver(&k, &bob, &c));
    settle(&k);
    assert_eq!(counts(&k), first);
    assert_eq!(
        k.read(|c| Ok(c.query_row(
            "SELECT COUNT(*) FROM posts WHERE uri = ?1",
            [remote.url("/notes/dup")],
            |r| r.get::<_, i64>(0)
        )?)),
        1
    );
    assert_eq!(count(&k, "notifications"), 1, "one mention notification");
}

#[test]
fn sec_mastodon_shaped_payloads_are_accepted() {
    let (k, remote) = world();
    let bob = remote.actor("bob", Key::A);
    let kith_side = (k.base(), k.actor());
    let kith_side = Some((kith_side.0.as_str(), kith_side.1.as_str()));
    let post = owner_post(&k, "public");

    // Follow: a follower, an Accept sent back, signed by kith.
    let follow = fixture("follow.json", &remote, kith_side);
    assert_accepted(&deliver_at(&k, &bob, &follow, "/users/owner/inbox", now()));
    settle(&k);
    assert_eq!(k.read(kith::db::follows::counts).0, 1);
    let accepts = remote.requests_to("/users/bob/inbox");
    assert_eq!(accepts.len(), 1);
    let accept: Value = serde_json::from_slice(&accepts[0].body).unwrap();
    assert_eq!(accept["type"], "Accept");
    assert_eq!(accept["object"]["id"], follow["id"]);
    assert!(accepts[0].header("signature").is_some());
    // kith signed its key fetch too (FEDERATION.md §7).
    let key_fetch = &remote.requests_to("/users/bob")[0];
    assert!(key_fetch.header("signature").is_some(), "{key_fetch:?}");

    // Create(Note) with a mention and a hashtag, and Mastodon's LD signature block.
    let create = fixture("create_note.json", &remote, kith_side);
    assert_accepted(&deliver(&k, &bob, &create));
    settle(&k);
    let note_id = create["object"]["id"].as_str().unwrap();
    let stored = find_post(&k, note_id).expect("the note is stored");
    assert!(stored.content_html.contains("Hello from Mastodon"));
    assert_eq!(stored.visibility, "public");
    assert_eq!(
        k.read(|c| posts::list_tags(c, stored.id)),
        vec!["fediverse"]
    );

    // Like and Announce of the owner's post.
    let mut like = fixture("like.json", &remote, kith_side);
    like["object"] = json!(post.uri);
    assert_accepted(&deliver(&k, &bob, &like));
    let mut announce = fixture("announce.json", &remote, kith_side);
    announce["object"] = json!(post.uri);
    assert_accepted(&deliver(&k, &bob, &announce));
    settle(&k);
    assert_eq!(k.read(|c| kith::db::favourites::count(c, post.id)), 1);
    let bob_id = k
        .read(|c| kith::db::actors::find_by_uri(c, &bob.uri))
        .unwrap()
        .id;
    assert!(
        k.read(|c| posts::find_reblog(c, Some(bob_id), post.id))
            .is_some()
    );
    let mut kinds: Vec<String> = k
        .read(|c| kith::db::notifications::list(c, None, None, None, 100))
        .into_iter()
        .map(|n| n.kind)
        .collect();
    kinds.sort();
    assert_eq!(kinds, vec!["favourite", "follow", "mention", "reblog"]);

    // Undo(Like) and Delete(Note).
    let mut undo = fixture("undo_like.json", &remote, kith_side);
    undo["object"]["object"] = json!(post.uri);
    assert_accepted(&deliver(&k, &bob, &undo));
    let delete = fixture("delete_note.json", &remote, kith_side);
    assert_accepted(&deliver(&k, &bob, &delete));
    settle(&k);
    assert_eq!(k.read(|c| kith::db::favourites::count(c, post.id)), 0);
    assert!(find_post(&k, note_id).is_none());
}
