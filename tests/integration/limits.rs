//! Rate limits by who, not only where (SECURITY.md 49, 70): the owner's token is
//! counted per token with a large budget, anonymous API calls per address; validly
//! signed deliveries per signing host, unsigned or failing ones per address; failed
//! logins per address with growing delays, never for the account as a whole.

use crate::api::{Api, PASSWORD, send};
use crate::fake_remote::{FakeRemote, Key, now};
use serde_json::json;

#[test]
fn sec_70_the_owner_is_counted_per_token_strangers_per_address() {
    let api = Api::start_with("owner", "api_requests = 5\nlogin_attempts = 1000\n");
    let owner = api.login("read write");
    // Far past the anonymous budget, from the same address.
    for n in 0..2000 {
        let got = owner.get("/api/v1/accounts/verify_credentials");
        assert_eq!(got.status, 200, "request {n}: {}", got.body);
    }
    // Logging in took some of the address's anonymous budget (registering the app,
    // redeeming the code); the rest runs out within five more calls.
    let anon = api.anon();
    let limited = (0..6)
        .map(|_| anon.get("/api/v1/instance"))
        .find(|got| got.status != 200)
        .expect("the anonymous budget runs out");
    assert_eq!(limited.status, 429, "{}", limited.body);
    assert_eq!(limited.header("x-ratelimit-limit"), Some("5"));
    assert!(limited.header("retry-after").is_some());
    // The owner goes on regardless.
    assert_eq!(owner.get("/api/v1/instance").status, 200);
}

#[test]
fn sec_70_an_owner_token_has_its_own_budget() {
    let api = Api::start_with(
        "owner",
        "api_requests = 5\nowner_requests = 3\nlogin_attempts = 1000\n",
    );
    let owner = api.login("read");
    for _ in 0..3 {
        assert_eq!(owner.get("/api/v1/instance").status, 200);
    }
    let limited = owner.get("/api/v1/instance");
    assert_eq!(limited.status, 429);
    assert_eq!(limited.header("x-ratelimit-limit"), Some("3"));
    // A made-up token is a stranger: counted by its address, still within budget.
    let stranger = api.with_token("not-a-token");
    assert_eq!(stranger.get("/api/v1/instance").status, 200);
}

#[test]
fn sec_70_signed_deliveries_are_counted_per_host_unsigned_per_address() {
    let api = Api::start_with("owner", "inbox_requests = 3\nlogin_attempts = 1000\n");
    let remote = FakeRemote::start();
    let bob = remote.actor("bob", Key::A);
    let addr = format!("127.0.0.1:{}", api.port).parse().unwrap();
    let owner = api.public(&format!("/users/{}", api.name));
    // A busy server: a thousand signed deliveries from one address, none refused.
    for n in 0..1000 {
        let like = json!({
            "@context": "https://www.w3.org/ns/activitystreams",
            "id": format!("{}#likes/{n}", bob.uri),
            "type": "Like",
            "actor": bob.uri,
            "object": owner,
        });
        let body = serde_json::to_vec(&like).unwrap();
        let h = bob.sign_post(&api.public("/inbox"), &body, now());
        let got = crate::fake_remote::send(addr, "POST", "/inbox", &h, &body);
        assert_eq!(got.status, 202, "delivery {n}: {}", got.body);
    }
    // Unsigned POSTs from one address: refused, then limited.
    let unsigned = || {
        send(
            "POST",
            &api.url("/inbox"),
            &[],
            Some(("application/activity+json", b"{}".as_slice())),
        )
    };
    for _ in 0..3 {
        assert_eq!(unsigned().status, 401);
    }
    let limited = unsigned();
    assert_eq!(limited.status, 429, "{}", limited.body);
    assert_eq!(limited.header("x-ratelimit-limit"), Some("3"));
}

#[test]
fn sec_70_a_strangers_failed_logins_do_not_lock_the_owner_out() {
    let api = Api::start_with("owner", "login_attempts = 25\n");
    let login_as = |ip: &str, password: &str| {
        let page = send("GET", &api.url("/login"), &[("X-Forwarded-For", ip)], None);
        let token = crate::web::csrf(&page.body);
        let body = crate::api::form(&[("csrf", &token), ("next", "/home"), ("password", password)]);
        send(
            "POST",
            &api.url("/login"),
            &[("X-Forwarded-For", ip)],
            Some(("application/x-www-form-urlencoded", body.as_bytes())),
        )
    };
    let mut refused = 0;
    for _ in 0..100 {
        let got = login_as("203.0.113.9", "wrong password");
        assert!(matches!(got.status, 401 | 429), "{}", got.status);
        refused += usize::from(got.status == 429);
    }
    assert!(
        refused > 70,
        "the stranger is slowed down: {refused} of 100 refused"
    );
    // The owner, elsewhere, logs in at once.
    let owner = login_as("198.51.100.4", PASSWORD);
    assert_eq!(owner.status, 303, "{}", owner.body);
    // The stranger, even with the right password, waits.
    assert_eq!(login_as("203.0.113.9", PASSWORD).status, 429);
}
