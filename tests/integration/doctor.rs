//! `kith doctor` against a healthy instance (the real binary, exit 0) and against
//! broken setups, each reported ✗ with its fix: a proxy that rewrites `Host`, a peer
//! that refused deliveries for a week, a clock ten minutes off (seeded deliveries'
//! dates), and a host whose signatures keep failing. The public URL is probed through
//! the network on loopback.

use crate::support::{Instance, TestServer};
use kith::doctor::{self, Check};
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::time::Duration;

fn find<'a>(checks: &'a [Check], name: &str) -> &'a Check {
    checks
        .iter()
        .find(|c| c.name == name)
        .unwrap_or_else(|| panic!("no check {name:?} in {checks:?}"))
}

/// Seeds rows straight into the instance's database.
fn seed(k: &Instance, sql: &str) {
    k.ctx()
        .db
        .write(|tx| {
            tx.execute_batch(sql)?;
            Ok(())
        })
        .unwrap();
}

#[test]
fn a_healthy_instance_passes_every_check_and_exits_0() {
    let s = TestServer::start("");
    let out = s.command(&["doctor"], None);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{text}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(text.contains("✓ actor at the public URL"), "{text}");
    assert!(text.contains("✓ WebFinger"), "{text}");
    assert!(text.contains("✓ proxy headers"), "{text}");
    assert!(text.contains("✓ database integrity"), "{text}");
    assert!(!text.contains('✗'), "{text}");
    assert!(text.contains("checks passed"), "{text}");
}

#[test]
fn a_refusing_peer_a_wrong_clock_and_failing_signatures_are_reported_with_fixes() {
    let k = Instance::start("owner", "");
    let now = kith::db::now_ms();
    let day = 24 * 60 * 60 * 1000;
    seed(
        &k,
        &format!(
            "INSERT INTO hosts (host, failure_days, unavailable, last_success_at)
               VALUES ('gone.example', 8, 1, {});
             INSERT INTO seen_activities (signer_host, activity_id, seen_at, skew_ms) VALUES
               ('a.example', 'https://a.example/1', {now}, 600000),
               ('a.example', 'https://a.example/2', {now}, 601000),
               ('b.example', 'https://b.example/1', {now}, 599000);
             INSERT INTO signature_failures (host, day, failures) VALUES ('bad.example', {}, 25);",
            now - 8 * day,
            now / day
        ),
    );
    let checks = doctor::run(k.ctx(), true);
    let deliveries = find(&checks, "deliveries");
    assert!(!deliveries.ok, "{deliveries:?}");
    assert!(deliveries.detail.contains("gone.example"), "{deliveries:?}");
    assert!(deliveries.fix.is_some());
    let clock = find(&checks, "clock");
    assert!(!clock.ok, "{clock:?}");
    assert!(clock.detail.contains("600 s"), "{clock:?}");
    assert!(clock.fix.as_deref().unwrap().contains("clock"), "{clock:?}");
    let inbound = find(&checks, "inbound");
    assert!(
        !inbound.ok && inbound.detail.contains("bad.example: 25"),
        "{inbound:?}"
    );
    // The rest of this instance is fine.
    for name in [
        "actor at the public URL",
        "WebFinger",
        "data directory writable",
    ] {
        assert!(find(&checks, name).ok, "{:?}", find(&checks, name));
    }
}

/// A forwarding proxy that rewrites `Host` to kith's own address, as a misconfigured
/// proxy does; one connection at a time, until the test ends.
fn host_rewriting_proxy(upstream: std::net::SocketAddr) -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    std::thread::spawn(move || {
        for client in listener.incoming().take(16) {
            let Ok(mut client) = client else { continue };
            client
                .set_read_timeout(Some(Duration::from_secs(5)))
                .unwrap();
            let mut head = Vec::new();
            let mut byte = [0u8; 1];
            while !head.ends_with(b"\r\n\r\n") && client.read(&mut byte).unwrap_or(0) == 1 {
                head.push(byte[0]);
            }
            let text = String::from_utf8_lossy(&head).to_string();
            let rewritten: String = text
                .split("\r\n")
                .map(|line| {
                    if line.to_ascii_lowercase().starts_with("host:") {
                        format!("Host: {upstream}")
                    } else if line.to_ascii_lowercase().starts_with("connection:") {
                        "Connection: close".to_string()
                    } else {
                        line.to_string()
                    }
                })
                .collect::<Vec<_>>()
                .join("\r\n");
            let Ok(mut server) = TcpStream::connect(upstream) else {
                continue;
            };
            server
                .set_read_timeout(Some(Duration::from_secs(5)))
                .unwrap();
            let _ = server.write_all(rewritten.as_bytes());
            let mut answer = Vec::new();
            let _ = server.read_to_end(&mut answer);
            let _ = client.write_all(&answer);
        }
    });
    port
}

#[test]
fn a_proxy_that_rewrites_host_is_reported() {
    // kith is reached through a proxy that changes Host on the way.
    let k = Instance::start_at("127.0.0.1", "owner", "", true);
    let port = host_rewriting_proxy(k.addr());
    // The instance's own public URL is its listen port; point a copy of its config at
    // the proxy instead, as an operator whose proxy sits in front would.
    let mut config = k.ctx().config.clone();
    config.public_url = format!("http://127.0.0.1:{port}");
    config.domain = format!("127.0.0.1:{port}");
    let ctx = kith::cli_context(config).unwrap();
    let checks = doctor::run(&ctx, true);
    let headers = find(&checks, "proxy headers");
    assert!(!headers.ok, "{headers:?}");
    assert!(headers.detail.contains("Host is"), "{headers:?}");
    assert!(
        headers.fix.as_deref().unwrap().contains("Host"),
        "{headers:?}"
    );
}

#[test]
fn the_settings_page_shows_the_same_checks_to_the_owner_only() {
    let k = Instance::start("owner", "");
    let anonymous = crate::web::Browser::new(&k).get("/settings/doctor");
    assert_eq!(anonymous.status, 303, "visitors are sent to the login");
    let mut b = crate::web::Browser::new(&k);
    b.login(&crate::web::password(&k));
    let page = b.get("/settings/doctor");
    assert_eq!(page.status, 200, "{}", page.body);
    assert!(
        page.body.contains("✓ actor at the public URL"),
        "{}",
        page.body
    );
    assert!(page.body.contains("✓ database integrity"), "{}", page.body);
    assert!(page.body.contains("checks passed"), "{}", page.body);
}
