//! kith's web UI in a real browser: two kith instances in this process on loopback
//! ports, and `suite.mjs` driving headless Chromium (Debian's `chromium` package)
//! through `playwright-core` (npm), both installed by `scripts/install-browser`. Built
//! only with `--features interop`: `cargo test --features interop --test browser`.
//! The suite logs in (an empty home points to Search and People), uploads an avatar
//! and header in Settings and sees them on the public profile, sets a time zone and
//! sees post times in it, posts with a content warning and an image with alt text, finds
//! the post on the home timeline and the public profile, likes and boosts it (counts
//! in the singular for one, an SVG boost mark, no element id twice on Home), deletes a
//! post through its confirmation page (which offers no other button), follows the second
//! instance's account by handle and sees its post arrive, imports a CSV file on the
//! import and export page, moves to the second instance's account (which lists it as
//! an alias) through the confirmation step, and logs out; every page is
//! checked for horizontal overflow (320, 390 and 1280 px wide) and console errors, and
//! screenshots at 390×844 and 1280×800 are written for README.
//!
//! A second run, `cross-origin.mjs`, is a browser app served from another loopback
//! origin (127.0.0.2, by a small static server here) that registers itself, is
//! authorized on kith's page, and reads the home timeline and posts with plain
//! `fetch`: kith's CORS answers and preflights must let every call through.

use std::io::{BufRead, BufReader, Write};
use std::net::TcpListener;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn free_port() -> u16 {
    let l = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    l.local_addr().expect("addr").port()
}

/// A kith instance in this process, with its first-run password.
struct Instance {
    server: Option<kith::Server>,
    port: u16,
    password: String,
    _dir: tempfile::TempDir,
}

impl Instance {
    fn start(name: &str) -> Instance {
        let dir = tempfile::tempdir().expect("tempdir");
        let port = free_port();
        let text = format!(
            "public_url = \"http://localhost:{port}\"\nusername = \"{name}\"\nlisten = \"127.0.0.1:{port}\"\n\
             data_dir = \"{}\"\n[federation]\nallow_private_addresses = true\ndelivery_workers = 2\n",
            dir.path().join("data").display()
        );
        let config = kith::config::Config::parse(&text).expect("config");
        let server = kith::start(config).expect("kith starts");
        let password = server
            .first_run_password
            .clone()
            .expect("a new account has a first-run password");
        Instance {
            server: Some(server),
            port,
            password,
            _dir: dir,
        }
    }

    fn url(&self) -> String {
        format!("http://localhost:{}", self.port)
    }
}

/// Serves the cross-origin app page (any path) on 127.0.0.2 until `stop` is set;
/// returns its origin. Each connection gets one answer and is closed.
fn serve_app(kith: &str, stop: Arc<AtomicBool>) -> (String, std::thread::JoinHandle<()>) {
    let page = std::fs::read_to_string(root().join("tests/browser/fixtures/cross-origin-app.html"))
        .expect("app page")
        .replace("__KITH__", kith);
    let listener = TcpListener::bind("127.0.0.2:0").expect("bind 127.0.0.2");
    let origin = format!("http://{}", listener.local_addr().expect("addr"));
    listener.set_nonblocking(true).expect("nonblocking");
    let handle = std::thread::spawn(move || {
        while !stop.load(Ordering::SeqCst) {
            let Ok((stream, _)) = listener.accept() else {
                std::thread::sleep(Duration::from_millis(20));
                continue;
            };
            let _ = stream.set_nonblocking(false);
            let _ = stream.set_read_timeout(Some(Duration::from_secs(5)));
            let _ = stream.set_write_timeout(Some(Duration::from_secs(5)));
            let mut reader = BufReader::new(&stream);
            let mut line = String::new();
            while reader.read_line(&mut line).is_ok_and(|n| n > 0) && line != "\r\n" {
                line.clear();
            }
            let head = format!(
                "HTTP/1.1 200 OK\r\nContent-Type: text/html; charset=utf-8\r\n\
                 Content-Length: {}\r\nCache-Control: no-store\r\nConnection: close\r\n\r\n",
                page.len()
            );
            let _ = (&stream).write_all(head.as_bytes());
            let _ = (&stream).write_all(page.as_bytes());
        }
    });
    (origin, handle)
}

/// Runs a node script in tests/browser with these variables; fails the test if it
/// fails or runs for more than `limit`.
fn run_node(script: &str, vars: &[(&str, String)], limit: Duration) {
    let dir = root().join("tests/browser");
    let mut command = Command::new("node");
    command
        .arg(dir.join(script))
        .current_dir(&dir)
        .stdin(Stdio::null());
    for (k, v) in vars {
        command.env(k, v);
    }
    let mut child = command
        .spawn()
        .expect("node runs (Node.js is needed for the browser suite)");
    let deadline = std::time::Instant::now() + limit;
    let status = loop {
        if let Some(status) = child.try_wait().expect("wait") {
            break status;
        }
        if std::time::Instant::now() > deadline {
            let _ = child.kill();
            panic!("{script} ran for more than {limit:?}");
        }
        std::thread::sleep(Duration::from_millis(200));
    };
    assert!(
        status.success(),
        "{script} failed ({status}); see its output above"
    );
}

#[test]
fn a_browser_app_on_another_origin_uses_the_api() {
    let dir = root().join("tests/browser");
    assert!(
        dir.join("node_modules/playwright-core").exists()
            && PathBuf::from("/usr/bin/chromium").exists(),
        "Chromium or playwright-core is missing: run scripts/install-browser first"
    );
    let alice = Instance::start("alice");
    let stop = Arc::new(AtomicBool::new(false));
    let (origin, server) = serve_app(&alice.url(), stop.clone());
    run_node(
        "cross-origin.mjs",
        &[
            ("KITH_URL", alice.url()),
            ("KITH_PASSWORD", alice.password.clone()),
            ("APP_URL", origin),
        ],
        Duration::from_secs(120),
    );
    stop.store(true, Ordering::SeqCst);
    server.join().expect("the app server stops");
    let ctx = alice.server.as_ref().expect("running").ctx();
    let posts = ctx.db.read(kith::db::posts::count_local).expect("count");
    assert_eq!(posts, 1, "the app's post is stored once");
}

impl Drop for Instance {
    fn drop(&mut self) {
        if let Some(s) = self.server.take() {
            s.shutdown();
        }
    }
}

#[test]
fn web_ui_in_chromium() {
    let dir = root().join("tests/browser");
    assert!(
        dir.join("node_modules/playwright-core").exists()
            && PathBuf::from("/usr/bin/chromium").exists(),
        "Chromium or playwright-core is missing: run scripts/install-browser first"
    );
    let alice = Instance::start("alice");
    let bob = Instance::start("bob");
    let shots = std::env::var("KITH_SCREENSHOTS")
        .map(PathBuf::from)
        .unwrap_or_else(|_| PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("screenshots"));
    std::fs::create_dir_all(&shots).expect("screenshot dir");
    let mut child = Command::new("node")
        .arg(dir.join("suite.mjs"))
        .current_dir(&dir)
        .env("KITH_A_URL", alice.url())
        .env("KITH_A_PASSWORD", &alice.password)
        .env("KITH_B_URL", bob.url())
        .env("KITH_B_PASSWORD", &bob.password)
        .env("KITH_B_HANDLE", format!("@bob@localhost:{}", bob.port))
        .env("KITH_SCREENSHOTS", &shots)
        .stdin(Stdio::null())
        .spawn()
        .expect("node runs (Node.js is needed for the browser suite)");
    // The suite bounds its own waits; this is the backstop.
    let deadline = std::time::Instant::now() + Duration::from_secs(300);
    let status = loop {
        if let Some(status) = child.try_wait().expect("wait") {
            break status;
        }
        if std::time::Instant::now() > deadline {
            let _ = child.kill();
            panic!("the browser suite ran for more than 5 minutes");
        }
        std::thread::sleep(Duration::from_millis(200));
    };
    assert!(
        status.success(),
        "the browser suite failed ({status}); see its output above"
    );
    for name in [
        "home-phone.png",
        "home-desktop.png",
        "profile-phone.png",
        "profile-desktop.png",
    ] {
        assert!(
            shots.join(name).exists(),
            "screenshot {name} was not written"
        );
    }
    drop(bob);
    drop(alice);
}
