//! Web Push end to end (issue 14): apps subscribe through `/api/v1/push/subscription`,
//! a second kith instance makes notifications happen (follows, mentions), and a fake
//! push service on a loopback port records what kith POSTs. Messages are decrypted
//! here by code written from RFC 8291 (and the `aesgcm` draft Mastodon uses for
//! older apps) with ring's HMAC, ECDH and AES-GCM — not kith's own decryption, which
//! does not exist — and each VAPID JWT is verified with the instance's public key as
//! `/api/v2/instance` publishes it. Waits are `settle`, never sleeps.

use crate::fake_remote::{FakeRemote, Reply};
use crate::federation::settle;
use crate::support::{Got, Instance, agent, collect, free_port, get, post};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use kith::process::{self, Draft};
use ring::{aead, agreement, hmac};
use serde_json::{Value, json};
use std::time::Duration;

// ---------------------------------------------------------------------------------
// The app's side: its keys and an independent decryption.

/// A subscriber (the app): a P-256 key pair and an auth secret.
struct Subscriber {
    scalar: Vec<u8>,
    public: Vec<u8>,
    auth: Vec<u8>,
}

fn random(n: usize) -> Vec<u8> {
    use ring::rand::SecureRandom;
    let mut out = vec![0u8; n];
    ring::rand::SystemRandom::new().fill(&mut out).unwrap();
    out
}

/// One HMAC-SHA256 over the concatenated parts (HKDF by hand: extract is one HMAC,
/// and an expand of at most 32 bytes is one HMAC of info || 0x01).
fn hmac256(key: &[u8], parts: &[&[u8]]) -> Vec<u8> {
    let key = hmac::Key::new(hmac::HMAC_SHA256, key);
    let mut ctx = hmac::Context::with_key(&key);
    for part in parts {
        ctx.update(part);
    }
    ctx.sign().as_ref().to_vec()
}

fn open(key: &[u8], nonce: &[u8], mut sealed: Vec<u8>) -> Vec<u8> {
    let key = aead::LessSafeKey::new(aead::UnboundKey::new(&aead::AES_128_GCM, key).unwrap());
    let nonce = aead::Nonce::try_assume_unique_for_key(nonce).unwrap();
    let plain = key
        .open_in_place(nonce, aead::Aad::empty(), &mut sealed)
        .expect("the message authenticates");
    plain.to_vec()
}

impl Subscriber {
    fn new() -> Subscriber {
        let scalar = random(32);
        let mut s = Subscriber {
            scalar,
            public: Vec::new(),
            auth: random(16),
        };
        s.public = s.key().compute_public_key().unwrap().as_ref().to_vec();
        s
    }

    /// The private key again (ring's keys are single-use, so it is rebuilt from the
    /// stored scalar for each message).
    #[allow(deprecated)]
    fn key(&self) -> agreement::EphemeralPrivateKey {
        let rng = ring::test::rand::FixedSliceRandom {
            bytes: &self.scalar,
        };
        agreement::EphemeralPrivateKey::generate(&agreement::ECDH_P256, &rng).unwrap()
    }

    fn p256dh(&self) -> String {
        URL_SAFE_NO_PAD.encode(&self.public)
    }

    fn auth_b64(&self) -> String {
        URL_SAFE_NO_PAD.encode(&self.auth)
    }

    fn ecdh(&self, server_public: &[u8]) -> Vec<u8> {
        let theirs = agreement::UnparsedPublicKey::new(&agreement::ECDH_P256, server_public);
        agreement::agree_ephemeral(self.key(), &theirs, |s| s.to_vec()).unwrap()
    }

    /// RFC 8291 §3.4 and RFC 8188 §2, the receiving side.
    fn decrypt_aes128gcm(&self, body: &[u8]) -> Value {
        let salt = &body[..16];
        let record_size = u32::from_be_bytes(body[16..20].try_into().unwrap());
        assert!(record_size >= 18);
        let idlen = body[20] as usize;
        assert_eq!(idlen, 65, "the key id is the server's public key");
        let server_public = &body[21..21 + idlen];
        let sealed = body[21 + idlen..].to_vec();
        assert!(sealed.len() <= record_size as usize, "one record");
        let ecdh = self.ecdh(server_public);
        let prk_key = hmac256(&self.auth, &[&ecdh]);
        let ikm = hmac256(
            &prk_key,
            &[b"WebPush: info\0", &self.public, server_public, &[1]],
        );
        let prk = hmac256(salt, &[&ikm]);
        let cek = &hmac256(&prk, &[b"Content-Encoding: aes128gcm\0", &[1]])[..16];
        let nonce = &hmac256(&prk, &[b"Content-Encoding: nonce\0", &[1]])[..12];
        let mut plain = open(cek, nonce, sealed);
        // Padding: zeros after the delimiter 2 of the last record.
        while plain.last() == Some(&0) {
            plain.pop();
        }
        assert_eq!(plain.pop(), Some(2), "the last record's delimiter");
        serde_json::from_slice(&plain).expect("the payload is JSON")
    }

    /// The `aesgcm` draft (draft-ietf-webpush-encryption-04): salt and the server's key
    /// come in the `Encryption` and `Crypto-Key` headers.
    fn decrypt_aesgcm(&self, body: &[u8], salt: &[u8], server_public: &[u8]) -> Value {
        let ecdh = self.ecdh(server_public);
        let prk_auth = hmac256(&self.auth, &[&ecdh]);
        let ikm = hmac256(&prk_auth, &[b"Content-Encoding: auth\0", &[1]]);
        let prk = hmac256(salt, &[&ikm]);
        let mut context = b"P-256\0".to_vec();
        context.extend_from_slice(&[0, 65]);
        context.extend_from_slice(&self.public);
        context.extend_from_slice(&[0, 65]);
        context.extend_from_slice(server_public);
        let cek = &hmac256(&prk, &[b"Content-Encoding: aesgcm\0", &context, &[1]])[..16];
        let nonce = &hmac256(&prk, &[b"Content-Encoding: nonce\0", &context, &[1]])[..12];
        let plain = open(cek, nonce, body.to_vec());
        let pad = u16::from_be_bytes([plain[0], plain[1]]) as usize;
        serde_json::from_slice(&plain[2 + pad..]).expect("the payload is JSON")
    }
}

// ---------------------------------------------------------------------------------
// kith's side.

fn base(inst: &Instance) -> String {
    format!("http://127.0.0.1:{}", inst.port)
}

fn token(inst: &Instance, scopes: &str) -> String {
    kith::cli::account::token(&inst.ctx().config, scopes).unwrap()
}

fn auth_header(token: &str) -> String {
    format!("Bearer {token}")
}

/// The instance's VAPID public key as `/api/v2/instance` publishes it.
fn vapid_key(inst: &Instance) -> String {
    let v = get(&format!("{}/api/v2/instance", base(inst)), &[]).ok();
    v["configuration"]["vapid"]["public_key"]
        .as_str()
        .unwrap()
        .to_string()
}

/// Subscribes with a Rails-style form, as most apps send it.
fn subscribe(
    inst: &Instance,
    token: &str,
    endpoint: &str,
    app: &Subscriber,
    standard: bool,
    alerts: &[&str],
    policy: &str,
) -> Got {
    let mut form = url::form_urlencoded::Serializer::new(String::new());
    form.append_pair("subscription[endpoint]", endpoint)
        .append_pair("subscription[keys][p256dh]", &app.p256dh())
        .append_pair("subscription[keys][auth]", &app.auth_b64())
        .append_pair("subscription[standard]", &standard.to_string())
        .append_pair("data[policy]", policy);
    for alert in alerts {
        form.append_pair(&format!("data[alerts][{alert}]"), "true");
    }
    post(
        &format!("{}/api/v1/push/subscription", base(inst)),
        "application/x-www-form-urlencoded",
        form.finish().as_bytes(),
        &[("Authorization", &auth_header(token))],
    )
}

fn send(inst: &Instance, method: &str, token: &str, body: Option<Value>) -> Got {
    let url = format!("{}/api/v1/push/subscription", base(inst));
    let auth = auth_header(token);
    let resp = match (method, body) {
        ("GET", _) => agent().get(&url).header("Authorization", &auth).call(),
        ("DELETE", _) => agent().delete(&url).header("Authorization", &auth).call(),
        (_, Some(body)) => agent()
            .put(&url)
            .header("Authorization", &auth)
            .header("Content-Type", "application/json")
            .send(body.to_string().as_bytes()),
        (_, None) => agent()
            .put(&url)
            .header("Authorization", &auth)
            .send_empty(),
    };
    collect(resp.expect("request"))
}

fn live_subscriptions(inst: &Instance) -> Vec<kith::db::push::Subscription> {
    inst.read(kith::db::push::list_live)
}

fn pending(inst: &Instance) -> Vec<kith::db::push::Pending> {
    inst.read(kith::db::push::list_pending)
}

fn notification_ids(inst: &Instance) -> Vec<i64> {
    inst.read(|c| kith::db::notifications::list(c, None, None, None, 40))
        .iter()
        .map(|n| n.id)
        .collect()
}

/// A fake push service answering 201 on `paths`.
fn push_service(paths: &[&str]) -> FakeRemote {
    let service = FakeRemote::start();
    for path in paths {
        service.route(path, Reply::status(201));
    }
    service
}

/// Checks a message's VAPID header (and, for legacy ones, `Crypto-Key`'s key) against
/// the instance's public key; returns the JWT's claims.
fn verify_vapid(inst: &Instance, request: &crate::fake_remote::Request, standard: bool) -> Value {
    let key = vapid_key(inst);
    let authorization = request.header("authorization").expect("Authorization");
    let jwt = if standard {
        let rest = authorization.strip_prefix("vapid ").expect("vapid scheme");
        let (t, k) = rest.split_once(", ").expect("t and k");
        assert_eq!(k.strip_prefix("k="), Some(key.as_str()));
        t.strip_prefix("t=").expect("t=").to_string()
    } else {
        let crypto_key = request.header("crypto-key").expect("Crypto-Key");
        assert!(
            crypto_key
                .split(';')
                .any(|p| p == format!("p256ecdsa={key}")),
            "{crypto_key}"
        );
        authorization
            .strip_prefix("WebPush ")
            .expect("WebPush scheme")
            .to_string()
    };
    let parts: Vec<&str> = jwt.split('.').collect();
    assert_eq!(parts.len(), 3);
    let header: Value = serde_json::from_slice(&URL_SAFE_NO_PAD.decode(parts[0]).unwrap()).unwrap();
    assert_eq!(header["alg"], "ES256");
    let public = URL_SAFE_NO_PAD.decode(&key).unwrap();
    ring::signature::UnparsedPublicKey::new(&ring::signature::ECDSA_P256_SHA256_FIXED, &public)
        .verify(
            format!("{}.{}", parts[0], parts[1]).as_bytes(),
            &URL_SAFE_NO_PAD.decode(parts[2]).unwrap(),
        )
        .expect("the JWT verifies with the instance's VAPID key");
    let claims: Value = serde_json::from_slice(&URL_SAFE_NO_PAD.decode(parts[1]).unwrap()).unwrap();
    let now = kith::db::now_ms() / 1000;
    let exp = claims["exp"].as_i64().unwrap();
    assert!(exp > now && exp <= now + 24 * 3600, "exp within 24 h");
    assert_eq!(claims["sub"], inst.base());
    claims
}

// ---------------------------------------------------------------------------------
// Tests.

#[test]
fn the_vapid_key_is_published_and_stays_the_same() {
    let a = Instance::start("alice", "");
    let key = vapid_key(&a);
    let raw = URL_SAFE_NO_PAD.decode(&key).unwrap();
    assert_eq!(raw.len(), 65);
    assert_eq!(raw[0], 4, "an uncompressed point");
    let v1 = get(&format!("{}/api/v1/instance", base(&a)), &[]).ok();
    assert_eq!(v1["vapid_key"], key.as_str());
    let app = post(
        &format!("{}/api/v1/apps", base(&a)),
        "application/json",
        json!({"client_name": "phone", "redirect_uris": "urn:ietf:wg:oauth:2.0:oob", "scopes": "read push"})
            .to_string()
            .as_bytes(),
        &[],
    )
    .ok();
    assert_eq!(app["vapid_key"], key.as_str());
    assert_eq!(vapid_key(&a), key, "never replaced");
}

#[test]
fn subscriptions_are_created_read_changed_and_removed_per_token() {
    let a = Instance::start("alice", "");
    let t = token(&a, "read push");
    let app = Subscriber::new();
    let endpoint = "http://localhost:9/push/one";
    let created = subscribe(
        &a,
        &t,
        endpoint,
        &app,
        true,
        &["follow", "mention"],
        "follower",
    )
    .ok();
    assert_eq!(created["endpoint"], endpoint);
    assert_eq!(created["standard"], true);
    assert_eq!(created["policy"], "follower");
    assert_eq!(created["alerts"]["follow"], true);
    assert_eq!(created["alerts"]["mention"], true);
    assert_eq!(created["alerts"]["favourite"], false);
    assert_eq!(created["server_key"], vapid_key(&a).as_str());
    assert_eq!(send(&a, "GET", &t, None).ok(), created);

    // JSON bodies work too; PUT replaces alerts and policy.
    let changed = send(
        &a,
        "PUT",
        &t,
        Some(json!({"data": {"alerts": {"favourite": true}, "policy": "all"}})),
    )
    .ok();
    assert_eq!(changed["id"], created["id"]);
    assert_eq!(changed["alerts"]["favourite"], true);
    assert_eq!(changed["alerts"]["follow"], false);
    assert_eq!(changed["policy"], "all");

    // Subscribing again replaces the token's subscription.
    let again = subscribe(
        &a,
        &t,
        "http://localhost:9/push/two",
        &app,
        false,
        &[],
        "all",
    )
    .ok();
    assert_ne!(again["id"], created["id"]);
    assert_eq!(live_subscriptions(&a).len(), 1);

    assert_eq!(send(&a, "DELETE", &t, None).ok(), json!({}));
    send(&a, "GET", &t, None).assert_error(404);
    send(&a, "PUT", &t, Some(json!({"data": {"policy": "all"}}))).assert_error(404);
    assert!(live_subscriptions(&a).is_empty());

    // Without the push scope: 403; without a token: 401.
    let reader = token(&a, "read");
    subscribe(&a, &reader, endpoint, &app, true, &[], "all").assert_error(403);
    send(&a, "GET", &reader, None).assert_error(403);
    let anonymous = get(&format!("{}/api/v1/push/subscription", base(&a)), &[]);
    anonymous.assert_error(401);
    assert!(live_subscriptions(&a).is_empty());
}

#[test]
fn a_follow_is_pushed_encrypted_aes128gcm_with_a_vapid_jwt() {
    let (a, b) = (Instance::start("alice", ""), Instance::start("bob", ""));
    let service = push_service(&["/push/std"]);
    let t = token(&a, "push");
    let app = Subscriber::new();
    subscribe(
        &a,
        &t,
        &service.url("/push/std"),
        &app,
        true,
        &["follow"],
        "all",
    )
    .ok();

    process::follow(b.ctx(), &a.actor()).unwrap();
    settle(&a, &b);
    let got = service.requests_to("/push/std");
    assert_eq!(got.len(), 1, "one message");
    let message = &got[0];
    assert_eq!(message.method, "POST");
    assert_eq!(message.header("content-encoding"), Some("aes128gcm"));
    assert_eq!(
        message.header("content-type"),
        Some("application/octet-stream")
    );
    assert_eq!(message.header("ttl"), Some("172800"));
    assert_eq!(message.header("urgency"), Some("normal"));
    assert!(message.body.len() < 4096);
    let claims = verify_vapid(&a, message, true);
    assert_eq!(claims["aud"], service.base());

    let payload = app.decrypt_aes128gcm(&message.body);
    assert_eq!(payload["access_token"], t.as_str());
    assert_eq!(payload["preferred_locale"], "en");
    assert_eq!(payload["notification_type"], "follow");
    assert_eq!(
        payload["notification_id"].as_i64(),
        notification_ids(&a).first().copied()
    );
    // Without a display name, the handle names the follower.
    assert_eq!(
        payload["title"],
        format!("bob@localhost:{} is now following you", b.port)
    );
    assert!(payload["icon"].as_str().unwrap().starts_with(&a.base()));
    assert!(payload["body"].is_string());
    assert!(pending(&a).is_empty());
}

#[test]
fn legacy_subscriptions_get_aesgcm_with_its_headers() {
    let (a, b) = (Instance::start("alice", ""), Instance::start("bob", ""));
    let service = push_service(&["/push/old"]);
    let t = token(&a, "push");
    let app = Subscriber::new();
    subscribe(
        &a,
        &t,
        &service.url("/push/old"),
        &app,
        false,
        &["follow"],
        "all",
    )
    .ok();

    process::follow(b.ctx(), &a.actor()).unwrap();
    settle(&a, &b);
    let got = service.requests_to("/push/old");
    assert_eq!(got.len(), 1);
    let message = &got[0];
    assert_eq!(message.header("content-encoding"), Some("aesgcm"));
    verify_vapid(&a, message, false);
    let salt = message
        .header("encryption")
        .and_then(|e| e.strip_prefix("salt="))
        .expect("Encryption: salt=");
    let dh = message
        .header("crypto-key")
        .unwrap()
        .split(';')
        .find_map(|p| p.strip_prefix("dh="))
        .expect("Crypto-Key: dh=");
    let payload = app.decrypt_aesgcm(
        &message.body,
        &URL_SAFE_NO_PAD.decode(salt).unwrap(),
        &URL_SAFE_NO_PAD.decode(dh).unwrap(),
    );
    assert_eq!(payload["notification_type"], "follow");
    assert_eq!(payload["access_token"], t.as_str());
}

#[test]
fn alerts_and_policy_choose_what_is_pushed() {
    let (a, b) = (Instance::start("alice", ""), Instance::start("bob", ""));
    let paths = [
        "/push/follows",
        "/push/followed",
        "/push/none",
        "/push/mentions",
    ];
    let service = push_service(&paths);
    let app = Subscriber::new();
    let subs = [
        (&["follow"][..], "all"),
        (&["follow", "mention"][..], "followed"),
        (&["follow", "mention"][..], "none"),
        (&["mention"][..], "all"),
    ];
    for (path, (alerts, policy)) in paths.iter().zip(subs) {
        let t = token(&a, "push");
        subscribe(&a, &t, &service.url(path), &app, true, alerts, policy).ok();
    }

    // bob follows alice: only the follow alert with policy all hears of it (alice does
    // not follow bob yet, so "followed" stays quiet).
    process::follow(b.ctx(), &a.actor()).unwrap();
    settle(&a, &b);
    let types = |path: &str| -> Vec<String> {
        service
            .requests_to(path)
            .iter()
            .map(|r| {
                app.decrypt_aes128gcm(&r.body)["notification_type"]
                    .as_str()
                    .unwrap()
                    .to_string()
            })
            .collect()
    };
    assert_eq!(types("/push/follows"), ["follow"]);
    assert!(types("/push/followed").is_empty());
    assert!(types("/push/mentions").is_empty(), "mentions only");

    // alice follows bob; bob mentions alice: "followed" and the mention alert hear it.
    process::follow(a.ctx(), &b.actor()).unwrap();
    settle(&a, &b);
    let draft = Draft {
        text: format!("@alice@localhost:{} hello", a.port),
        visibility: "public".into(),
        ..Default::default()
    };
    process::create_post(b.ctx(), &draft).unwrap();
    settle(&a, &b);
    assert_eq!(types("/push/follows"), ["follow"]);
    assert_eq!(types("/push/followed"), ["mention"]);
    assert_eq!(types("/push/mentions"), ["mention"]);
    assert!(types("/push/none").is_empty(), "policy none");
    let mention = app.decrypt_aes128gcm(&service.requests_to("/push/mentions")[0].body);
    assert_eq!(
        mention["title"],
        format!("You were mentioned by bob@localhost:{}", b.port)
    );
    assert!(
        mention["body"].as_str().unwrap().contains("hello"),
        "{mention}"
    );
}

#[test]
fn a_gone_endpoint_removes_the_subscription() {
    let (a, b) = (Instance::start("alice", ""), Instance::start("bob", ""));
    let service = FakeRemote::start();
    service.route("/push/gone", Reply::status(410));
    let t = token(&a, "push");
    let app = Subscriber::new();
    subscribe(
        &a,
        &t,
        &service.url("/push/gone"),
        &app,
        true,
        &["follow"],
        "all",
    )
    .ok();

    process::follow(b.ctx(), &a.actor()).unwrap();
    settle(&a, &b);
    assert_eq!(service.requests_to("/push/gone").len(), 1);
    assert!(live_subscriptions(&a).is_empty());
    assert!(pending(&a).is_empty());
    send(&a, "GET", &t, None).assert_error(404);
}

#[test]
fn too_many_requests_is_retried_after_retry_after() {
    let (a, b) = (Instance::start("alice", ""), Instance::start("bob", ""));
    let service = FakeRemote::start();
    service.route(
        "/push/busy",
        Reply::TooMany {
            retry_after_secs: 600,
        },
    );
    let t = token(&a, "push");
    let app = Subscriber::new();
    subscribe(
        &a,
        &t,
        &service.url("/push/busy"),
        &app,
        true,
        &["follow"],
        "all",
    )
    .ok();

    let before = kith::db::now_ms();
    process::follow(b.ctx(), &a.actor()).unwrap();
    settle(&a, &b);
    assert_eq!(service.requests_to("/push/busy").len(), 1);
    let jobs = pending(&a);
    assert_eq!(jobs.len(), 1, "kept for later");
    assert_eq!(jobs[0].attempts, 1);
    assert_eq!(jobs[0].last_status, Some(429));
    assert!(
        jobs[0].next_at >= before + 600_000,
        "Retry-After is a floor: {} vs {before}",
        jobs[0].next_at
    );

    // `kith queue` shows it, by the push service's host.
    let report = kith::cli::queue::show(&a.ctx().config).unwrap();
    assert!(
        report.contains(&format!(
            "Queued push messages: 1\n  push to {}  notification {}  attempts: 1  next attempt: ",
            service.host(),
            jobs[0].notification_id
        )),
        "{report}"
    );
    assert!(report.contains("last answer: 429\n"), "{report}");

    // When it comes due and the service accepts, it is sent and done.
    service.route("/push/busy", Reply::status(201));
    a.ctx()
        .db
        .write(|tx| {
            tx.execute("UPDATE push_jobs SET next_at = 0", [])?;
            Ok(())
        })
        .unwrap();
    a.ctx().wake.delivery();
    settle(&a, &b);
    let got = service.requests_to("/push/busy");
    assert_eq!(got.len(), 2);
    assert_eq!(
        app.decrypt_aes128gcm(&got[1].body)["notification_type"],
        "follow"
    );
    assert!(pending(&a).is_empty());
}

#[test]
fn revoking_a_token_removes_its_subscription() {
    let a = Instance::start("alice", "");
    let app = post(
        &format!("{}/api/v1/apps", base(&a)),
        "application/json",
        json!({"client_name": "phone", "redirect_uris": "urn:ietf:wg:oauth:2.0:oob", "scopes": "push"})
            .to_string()
            .as_bytes(),
        &[],
    )
    .ok();
    let app_id: i64 = app["id"].as_str().unwrap().parse().unwrap();
    let raw = kith::keys::random_token(32).unwrap();
    a.ctx()
        .db
        .write(|tx| {
            let hash = kith::keys::sha256_hex(raw.as_bytes());
            kith::db::tokens::insert(tx, Some(app_id), &hash, "push", kith::db::now_ms())
        })
        .unwrap();
    let kept = token(&a, "push");
    let keys = Subscriber::new();
    subscribe(
        &a,
        &raw,
        "http://localhost:9/push/a",
        &keys,
        true,
        &[],
        "all",
    )
    .ok();
    subscribe(
        &a,
        &kept,
        "http://localhost:9/push/b",
        &keys,
        true,
        &[],
        "all",
    )
    .ok();
    assert_eq!(live_subscriptions(&a).len(), 2);

    let form = format!(
        "client_id={}&client_secret={}&token={raw}",
        app["client_id"].as_str().unwrap(),
        app["client_secret"].as_str().unwrap()
    );
    post(
        &format!("{}/oauth/revoke", base(&a)),
        "application/x-www-form-urlencoded",
        form.as_bytes(),
        &[],
    )
    .ok();
    let left = live_subscriptions(&a);
    assert_eq!(left.len(), 1);
    assert_eq!(left[0].endpoint, "http://localhost:9/push/b");
    let all: i64 =
        a.read(|c| Ok(c.query_row("SELECT count(*) FROM push_subscriptions", [], |r| r.get(0))?));
    assert_eq!(all, 1, "the revoked token's row is gone, not just hidden");
}

/// The data directory of an instance that is stopped and started again.
struct Home {
    dir: tempfile::TempDir,
}

impl Home {
    fn start(&self) -> kith::Server {
        let mut last = None;
        for _ in 0..5 {
            let port = free_port();
            let text = format!(
                "public_url = \"http://localhost:{port}\"\nusername = \"alice\"\n\
                 listen = \"127.0.0.1:{port}\"\ndata_dir = {:?}\n\
                 [federation]\nallow_private_addresses = true\ndelivery_workers = 2\n",
                self.dir.path().join("data")
            );
            match kith::start(kith::config::Config::parse(&text).unwrap()) {
                Ok(server) => return server,
                Err(e) => last = Some(e),
            }
        }
        panic!("kith did not start: {last:?}");
    }
}

fn settle_one(server: &kith::Server) {
    assert!(
        kith::workers::settle(&[server.ctx()], Duration::from_secs(30)),
        "the queues did not drain"
    );
}

#[test]
fn a_restart_between_notification_and_delivery_delivers_exactly_once() {
    let home = Home {
        dir: tempfile::tempdir().unwrap(),
    };
    let service = FakeRemote::start();
    service.route("/push/r", Reply::status(503));
    let app = Subscriber::new();
    let server = home.start();
    let t = kith::cli::account::token(&server.ctx().config, "push").unwrap();
    let ctx = server.ctx();
    // A remote actor for the notifications, as if it had followed.
    let actor_id = ctx
        .db
        .write(|tx| {
            let actor = kith::db::actors::RemoteActor {
                id: 0,
                uri: service.url("/users/carol"),
                username: "carol".into(),
                domain: service.host(),
                display_name: "Carol".into(),
                note_html: String::new(),
                url: None,
                inbox: service.url("/users/carol/inbox"),
                shared_inbox: None,
                outbox: None,
                followers_url: None,
                following_url: None,
                featured_url: None,
                key_id: None,
                public_key_pem: None,
                avatar_url: None,
                header_url: None,
                kind: "Person".into(),
                locked: false,
                discoverable: true,
                fields_json: "[]".into(),
                also_known_as: "[]".into(),
                moved_to: None,
                published_at: None,
                fetched_at: kith::db::now_ms(),
                gone_at: None,
            };
            kith::db::actors::upsert(tx, &actor)
        })
        .unwrap();
    let form = format!(
        "subscription[endpoint]={}&subscription[keys][p256dh]={}&subscription[keys][auth]={}\
         &subscription[standard]=true&data[alerts][mention]=true",
        service.url("/push/r"),
        app.p256dh(),
        app.auth_b64()
    );
    let port = server.addr().port();
    post(
        &format!("http://127.0.0.1:{port}/api/v1/push/subscription"),
        "application/x-www-form-urlencoded",
        form.as_bytes(),
        &[("Authorization", &auth_header(&t))],
    )
    .ok();
    server.shutdown();

    // Committed while no listener ran (as just before a crash): nothing was queued.
    let db = kith::db::Db::open(&home.dir.path().join("data/kith.sqlite3")).unwrap();
    let notification = db
        .write(|tx| {
            kith::db::notifications::insert(tx, "mention", actor_id, None, None, kith::db::now_ms())
        })
        .unwrap();
    assert!(db.read(kith::db::push::list_pending).unwrap().is_empty());
    drop(db);

    // Started again, kith queues it and tries; the service is down (503).
    let server = home.start();
    settle_one(&server);
    assert_eq!(service.requests_to("/push/r").len(), 1);
    let left = server.ctx().db.read(kith::db::push::list_pending).unwrap();
    assert_eq!(left.len(), 1);
    assert_eq!(left[0].notification_id, notification);
    server.shutdown();

    // After another restart, the retry (made due now) is delivered, once.
    service.route("/push/r", Reply::status(201));
    let server = home.start();
    server
        .ctx()
        .db
        .write(|tx| {
            tx.execute("UPDATE push_jobs SET next_at = 0", [])?;
            Ok(())
        })
        .unwrap();
    server.ctx().wake.delivery();
    settle_one(&server);
    server.shutdown();
    let server = home.start();
    settle_one(&server);
    let got = service.requests_to("/push/r");
    assert_eq!(
        got.len(),
        2,
        "one failed attempt, one delivery, nothing more"
    );
    let payload = app.decrypt_aes128gcm(&got[1].body);
    assert_eq!(payload["notification_id"].as_i64(), Some(notification));
    assert_eq!(payload["notification_type"], "mention");
    assert!(
        server
            .ctx()
            .db
            .read(kith::db::push::list_pending)
            .unwrap()
            .is_empty()
    );
    server.shutdown();
}

/// SECURITY.md 73: malformed subscriptions are refused with 422 and
/// nothing is stored.
#[test]
fn sec_73_malformed_subscriptions_are_refused_and_nothing_is_stored() {
    let a = Instance::start("alice", "");
    let t = token(&a, "push");
    let good = Subscriber::new();
    let url = format!("{}/api/v1/push/subscription", base(&a));
    let try_form = |pairs: &[(&str, &str)]| -> Got {
        let mut form = url::form_urlencoded::Serializer::new(String::new());
        for (k, v) in pairs {
            form.append_pair(k, v);
        }
        post(
            &url,
            "application/x-www-form-urlencoded",
            form.finish().as_bytes(),
            &[("Authorization", &auth_header(&t))],
        )
    };
    let p256dh = good.p256dh();
    let auth = good.auth_b64();
    let mut off_curve = good.public.clone();
    off_curve[64] ^= 1;
    let off_curve = URL_SAFE_NO_PAD.encode(&off_curve);
    let short = URL_SAFE_NO_PAD.encode(&good.public[..33]);
    let auth_long = URL_SAFE_NO_PAD.encode([1u8; 32]);
    let endpoint = "http://localhost:9/push";
    let cases: Vec<(Vec<(&str, &str)>, &str)> = vec![
        (vec![], "subscription"),
        (
            vec![
                ("subscription[keys][p256dh]", &p256dh),
                ("subscription[keys][auth]", &auth),
            ],
            "endpoint",
        ),
        (
            vec![
                ("subscription[endpoint]", "not a url"),
                ("subscription[keys][p256dh]", &p256dh),
                ("subscription[keys][auth]", &auth),
            ],
            "endpoint",
        ),
        (
            vec![
                ("subscription[endpoint]", "ftp://localhost/push"),
                ("subscription[keys][p256dh]", &p256dh),
                ("subscription[keys][auth]", &auth),
            ],
            "endpoint",
        ),
        (
            vec![
                ("subscription[endpoint]", endpoint),
                ("subscription[keys][p256dh]", "!!!"),
                ("subscription[keys][auth]", &auth),
            ],
            "p256dh",
        ),
        (
            vec![
                ("subscription[endpoint]", endpoint),
                ("subscription[keys][p256dh]", &short),
                ("subscription[keys][auth]", &auth),
            ],
            "p256dh",
        ),
        (
            vec![
                ("subscription[endpoint]", endpoint),
                ("subscription[keys][p256dh]", &off_curve),
                ("subscription[keys][auth]", &auth),
            ],
            "p256dh",
        ),
        (
            vec![
                ("subscription[endpoint]", endpoint),
                ("subscription[keys][p256dh]", &p256dh),
                ("subscription[keys][auth]", &auth_long),
            ],
            "auth",
        ),
        (
            vec![
                ("subscription[endpoint]", endpoint),
                ("subscription[keys][p256dh]", &p256dh),
            ],
            "auth",
        ),
        (
            vec![
                ("subscription[endpoint]", endpoint),
                ("subscription[keys][p256dh]", &p256dh),
                ("subscription[keys][auth]", &auth),
                ("data[policy]", "friends"),
            ],
            "policy",
        ),
    ];
    for (pairs, names) in cases {
        let got = try_form(&pairs);
        got.assert_error(422);
        assert!(got.body.contains(names), "{pairs:?}: {}", got.body);
        assert!(live_subscriptions(&a).is_empty(), "{pairs:?} stored");
    }
    // The same form with good values is accepted (the cases fail for their reason).
    try_form(&[
        ("subscription[endpoint]", endpoint),
        ("subscription[keys][p256dh]", &p256dh),
        ("subscription[keys][auth]", &auth),
    ])
    .ok();
}

/// SECURITY.md 74: with the private-address guard on, an endpoint on a
/// private or loopback address is refused, so a subscription cannot make kith POST
/// into its own network.
#[test]
fn sec_74_private_address_endpoints_are_refused_with_the_guard_on() {
    let a = Instance::start_with("alice", "", false);
    let t = token(&a, "push");
    let app = Subscriber::new();
    for endpoint in [
        "https://127.0.0.1/push",
        "https://10.1.2.3/push",
        "https://[::1]/push",
        "http://push.example/plain-http",
    ] {
        let got = subscribe(&a, &t, endpoint, &app, true, &[], "all");
        got.assert_error(422);
        assert!(got.body.contains("endpoint"), "{endpoint}: {}", got.body);
    }
    assert!(live_subscriptions(&a).is_empty());
    // A public https endpoint is fine (nothing is sent while subscribing).
    subscribe(
        &a,
        &t,
        "https://push.example/wpush/abc",
        &app,
        true,
        &[],
        "all",
    )
    .ok();
}

/// SECURITY.md 75: a token sees and changes only its own subscription.
#[test]
fn sec_75_another_tokens_subscription_is_out_of_reach() {
    let a = Instance::start("alice", "");
    let (mine, theirs) = (token(&a, "push"), token(&a, "push"));
    let app = Subscriber::new();
    subscribe(
        &a,
        &mine,
        "http://localhost:9/push/mine",
        &app,
        true,
        &["follow"],
        "all",
    )
    .ok();
    send(&a, "GET", &theirs, None).assert_error(404);
    send(
        &a,
        "PUT",
        &theirs,
        Some(json!({"data": {"policy": "none"}})),
    )
    .assert_error(404);
    assert_eq!(send(&a, "DELETE", &theirs, None).ok(), json!({}));
    let left = live_subscriptions(&a);
    assert_eq!(left.len(), 1);
    assert_eq!(left[0].policy, "all");
    assert_eq!(
        send(&a, "GET", &mine, None).ok()["endpoint"],
        "http://localhost:9/push/mine"
    );
}

#[test]
fn the_settings_page_lists_the_apps_that_receive_pushes() {
    let a = Instance::start("alice", "");
    let mut browser = crate::web::Browser::new(&a);
    browser.login(&crate::web::password(&a));
    let page = browser.get("/settings/apps");
    assert!(page.body.contains("No app receives push notifications."));

    let app = post(
        &format!("{}/api/v1/apps", base(&a)),
        "application/json",
        json!({"client_name": "Pocket <b>Phone</b>", "redirect_uris": "urn:ietf:wg:oauth:2.0:oob", "scopes": "push"})
            .to_string()
            .as_bytes(),
        &[],
    )
    .ok();
    let app_id: i64 = app["id"].as_str().unwrap().parse().unwrap();
    let raw = kith::keys::random_token(32).unwrap();
    a.ctx()
        .db
        .write(|tx| {
            let hash = kith::keys::sha256_hex(raw.as_bytes());
            kith::db::tokens::insert(tx, Some(app_id), &hash, "push", kith::db::now_ms())
        })
        .unwrap();
    let keys = Subscriber::new();
    let endpoint = "https://push.example/wpush/secret-part";
    subscribe(
        &a,
        &raw,
        endpoint,
        &keys,
        true,
        &["mention", "follow"],
        "follower",
    )
    .ok();
    let page = browser.get("/settings/apps");
    assert_eq!(page.status, 200);
    let body = &page.body;
    assert!(body.contains("Push notifications"), "{body}");
    assert!(
        body.contains("Pocket &lt;b&gt;Phone&lt;/b&gt;"),
        "the app's name, escaped: {body}"
    );
    assert!(body.contains("push.example"), "{body}");
    assert!(
        !body.contains("secret-part"),
        "the endpoint's path stays private"
    );
    assert!(
        body.contains("Alerts: mention, follow. From: your followers."),
        "{body}"
    );
}
