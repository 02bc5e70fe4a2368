//! The real-client interoperability suite (CLIENT-API.md §8): Mastodon.py, the toot
//! command line, masto and megalodon, at pinned versions, each driven through its
//! whole flow against the real kith binary on a loopback port.
//!
//! For each client the harness starts `kith serve` as a child process (plain http on
//! 127.0.0.1, a fresh data directory, a known password), lets a second, in-process
//! kith follow and mention the owner so there are notifications to read, runs the
//! client's script (pytest for the Python clients, `node --test` for the Node ones),
//! and then reads kith's access log: every (method, path) the client sent is recorded,
//! must be one the client is known to send, and none may have answered 404 or 5xx.
//!
//! Needs `scripts/install-clients` first (a virtualenv at `.venv-clients/` and
//! `tests/clients/node_modules`). Run: `cargo test --features interop --test clients`.

use std::collections::BTreeSet;
use std::io::{BufRead, BufReader, Read};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// The owner's password on the instance under test.
const PASSWORD: &str = "correct horse battery staple";
/// How long one client's whole flow may take before it is stopped and the test fails.
const CLIENT_TIMEOUT: Duration = Duration::from_secs(300);

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn free_port() -> u16 {
    let l = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    l.local_addr().expect("addr").port()
}

/// One access-log line: method, path, status.
#[derive(Debug, Clone)]
struct Logged {
    method: String,
    path: String,
    status: u16,
}

/// Parses kith's access log line `METHOD PATH STATUS 1.2ms ADDR`.
fn parse_access(line: &str) -> Option<Logged> {
    let mut words = line.split_whitespace();
    let (method, path, status, time) = (words.next()?, words.next()?, words.next()?, words.next()?);
    let is_method = !method.is_empty() && method.bytes().all(|b| b.is_ascii_uppercase());
    if !is_method || !path.starts_with('/') || !time.ends_with("ms") {
        return None;
    }
    Some(Logged {
        method: method.to_string(),
        path: path.to_string(),
        status: status.parse().ok()?,
    })
}

/// A path with its numeric segments written `:id`.
fn route_of(path: &str) -> String {
    path.split('/')
        .map(|s| {
            if !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()) {
                ":id"
            } else {
                s
            }
        })
        .collect::<Vec<_>>()
        .join("/")
}

/// The kith binary as a child process, with its stderr (the access log) collected.
struct Kith {
    child: Option<Child>,
    port: u16,
    dir: tempfile::TempDir,
    log: Arc<Mutex<Vec<String>>>,
    /// The thread reading stderr; it ends when kith has exited and said everything.
    reader: Option<std::thread::JoinHandle<()>>,
}

impl Kith {
    fn config_text(port: u16, data_dir: &std::path::Path) -> String {
        format!(
            "public_url = \"http://127.0.0.1:{port}\"\nusername = \"alice\"\nlisten = \"127.0.0.1:{port}\"\n\
             data_dir = \"{}\"\n[federation]\nallow_private_addresses = true\n\
             [limits]\napi_requests = 100000\n",
            data_dir.display()
        )
    }

    /// Starts `kith serve` with a known password; waits until it listens.
    fn start() -> Kith {
        let dir = tempfile::tempdir().expect("tempdir");
        let data_dir = dir.path().join("data");
        let config_path = dir.path().join("kith.toml");
        for _ in 0..5 {
            let port = free_port();
            let text = Kith::config_text(port, &data_dir);
            std::fs::write(&config_path, &text).expect("write config");
            let config = kith::config::Config::parse(&text).expect("config");
            // Only kith serve and kith init create the account; this is what they run.
            kith::prepare(&config).expect("the account");
            kith::cli::account::passwd(&config, PASSWORD).expect("set the password");
            let mut child = Command::new(env!("CARGO_BIN_EXE_kith"))
                .args(["serve", "--config"])
                .arg(&config_path)
                .current_dir(dir.path())
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(Stdio::piped())
                .spawn()
                .expect("spawn kith");
            let stderr = child.stderr.take().expect("stderr");
            let log: Arc<Mutex<Vec<String>>> = Arc::default();
            let (tx, rx) = mpsc::channel();
            let lines = log.clone();
            let reader = std::thread::spawn(move || {
                for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                    if line.contains(" listening on ") {
                        let _ = tx.send(true);
                    }
                    lines.lock().unwrap().push(line);
                }
                let _ = tx.send(false);
            });
            if rx.recv_timeout(Duration::from_secs(60)) == Ok(true) {
                return Kith {
                    child: Some(child),
                    port,
                    dir,
                    log,
                    reader: Some(reader),
                };
            }
            let _ = child.kill();
            let _ = child.wait();
            eprintln!("kith did not start on {port}: {:#?}", log.lock().unwrap());
        }
        panic!("kith did not start");
    }

    fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    fn handle(&self) -> String {
        format!("@alice@127.0.0.1:{}", self.port)
    }

    /// Stops kith gracefully (SIGTERM) and returns its whole log. kith writes an
    /// access-log line after it has answered, so only once it has finished every
    /// request and exited is the log complete.
    fn stop(&mut self) -> Vec<String> {
        if let Some(mut child) = self.child.take() {
            let _ = Command::new("kill")
                .args(["-TERM", &child.id().to_string()])
                .status();
            let status = child.wait().expect("wait for kith");
            assert!(status.success(), "kith exited with {status}");
        }
        if let Some(reader) = self.reader.take() {
            reader.join().expect("log reader");
        }
        self.log.lock().unwrap().clone()
    }

    fn log_len(&self) -> usize {
        self.log.lock().unwrap().len()
    }

    fn log_since(&self, start: usize) -> Vec<String> {
        self.log.lock().unwrap()[start..].to_vec()
    }

    /// Waits until the child has processed its inbox and holds `notifications`
    /// notifications: the out-of-process counterpart of `kith::workers::settle`, a
    /// bounded wait on a condition read from the child's own database.
    fn wait_processed(&self, notifications: i64) {
        let db = self.dir.path().join("data").join("kith.sqlite3");
        let conn = rusqlite::Connection::open_with_flags(
            &db,
            rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY | rusqlite::OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )
        .unwrap_or_else(|e| panic!("open {}: {e}", db.display()));
        conn.busy_timeout(Duration::from_secs(5)).unwrap();
        let count = |sql: &str| -> i64 { conn.query_row(sql, [], |r| r.get(0)).unwrap_or(-1) };
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let queued = count("SELECT count(*) FROM inbox_queue");
            let got = count("SELECT count(*) FROM notifications");
            if queued == 0 && got >= notifications {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "kith did not process the peer's activities: {queued} queued, {got} notifications\n{}",
                self.log_since(0).join("\n")
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for Kith {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// A second kith, in process, that follows the owner and mentions her, so the clients
/// have a follow and a mention to read among their notifications.
struct Peer {
    server: Option<kith::Server>,
    _dir: tempfile::TempDir,
    port: u16,
    /// A token of bob's with `write`, so a client's script can make bob mention the
    /// owner again while it waits for a push (test_push.py).
    token: String,
}

impl Peer {
    fn interact_with(alice: &Kith) -> Peer {
        let dir = tempfile::tempdir().unwrap();
        let port = free_port();
        let text = format!(
            "public_url = \"http://127.0.0.1:{port}\"\nusername = \"bob\"\nlisten = \"127.0.0.1:{port}\"\n\
             data_dir = \"{}\"\n[federation]\nallow_private_addresses = true\n",
            dir.path().join("data").display()
        );
        let server = kith::start(kith::config::Config::parse(&text).unwrap()).unwrap();
        let ctx = server.ctx().clone();
        kith::process::follow(&ctx, &alice.handle()).expect("bob follows alice");
        kith::process::create_post(
            &ctx,
            &kith::process::Draft {
                text: format!("{} hello alice, from bob", alice.handle()),
                visibility: "public".into(),
                ..Default::default()
            },
        )
        .expect("bob mentions alice");
        assert!(
            kith::workers::settle(&[&ctx], Duration::from_secs(30)),
            "bob's deliveries did not drain"
        );
        alice.wait_processed(2);
        let token = kith::cli::account::token(&ctx.config, "read write").expect("a token of bob's");
        Peer {
            server: Some(server),
            _dir: dir,
            port,
            token,
        }
    }

    fn handle(&self) -> String {
        format!("@bob@127.0.0.1:{}", self.port)
    }

    fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// A token for bob, so that a client's test can make him act while it watches.
    fn token(&self) -> String {
        self.token.clone()
    }
}

impl Drop for Peer {
    fn drop(&mut self) {
        if let Some(s) = self.server.take() {
            s.shutdown();
        }
    }
}

/// Runs a client's script with the instance's settings; fails past `CLIENT_TIMEOUT`.
fn run_client(mut cmd: Command, alice: &Kith, peer: &Peer) -> (bool, String) {
    cmd.current_dir(root())
        .env("KITH_URL", alice.url())
        .env("KITH_PASSWORD", PASSWORD)
        .env(
            "KITH_IMAGE",
            root().join("tests/clients/fixtures/image.png"),
        )
        .env("KITH_PEER", peer.handle())
        .env("KITH_PEER_URL", peer.url())
        .env("KITH_PEER_TOKEN", peer.token())
        .env("NO_PROXY", "127.0.0.1,localhost")
        .env("no_proxy", "127.0.0.1,localhost")
        .env_remove("HTTP_PROXY")
        .env_remove("HTTPS_PROXY")
        .env_remove("http_proxy")
        .env_remove("https_proxy")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let program = format!("{cmd:?}");
    let mut child = cmd
        .spawn()
        .unwrap_or_else(|e| panic!("{program}: {e} (run scripts/install-clients first)"));
    let mut out = child.stdout.take().unwrap();
    let mut err = child.stderr.take().unwrap();
    let out_reader = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = out.read_to_string(&mut s);
        s
    });
    let err_reader = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = err.read_to_string(&mut s);
        s
    });
    let pid = child.id();
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let _ = tx.send(child.wait());
    });
    let status = match rx.recv_timeout(CLIENT_TIMEOUT) {
        Ok(status) => status.expect("wait"),
        Err(_) => {
            // Stop the client this test started, by its id.
            let _ = Command::new("kill").arg(pid.to_string()).status();
            panic!("{program} did not finish within {CLIENT_TIMEOUT:?}");
        }
    };
    let output = format!(
        "{program}: {status}\n--- stdout\n{}\n--- stderr\n{}",
        out_reader.join().unwrap(),
        err_reader.join().unwrap()
    );
    (status.success(), output)
}

/// Paths that are federation traffic between the two instances, not the client's.
fn is_federation(path: &str) -> bool {
    path.starts_with("/users/")
        || path == "/inbox"
        || path == "/.well-known/webfinger"
        || path == "/.well-known/host-meta"
}

/// Runs one client against a fresh kith and checks what it sent.
fn check_client(name: &str, cmd: Command, expected: &[(&str, &str)]) {
    let started = Instant::now();
    let mut alice = Kith::start();
    let peer = Peer::interact_with(&alice);
    let from = alice.log_len();
    let (ok, output) = run_client(cmd, &alice, &peer);
    let lines = alice.stop()[from..].to_vec();
    drop(peer);
    let entries: Vec<Logged> = lines
        .iter()
        .filter_map(|l| parse_access(l))
        .filter(|e| !is_federation(&e.path))
        .collect();
    let sent: BTreeSet<(String, String)> = entries
        .iter()
        .map(|e| (e.method.clone(), route_of(&e.path)))
        .collect();
    let failed: Vec<String> = entries
        .iter()
        .filter(|e| e.status == 404 || e.status >= 500)
        .map(|e| format!("{} {} -> {}", e.method, e.path, e.status))
        .collect();
    let expected: BTreeSet<(String, String)> = expected
        .iter()
        .map(|(m, p)| (m.to_string(), p.to_string()))
        .collect();
    let missing: Vec<_> = expected.difference(&sent).collect();
    let unexpected: Vec<_> = sent.difference(&expected).collect();
    let recorded: Vec<String> = sent.iter().map(|(m, p)| format!("{m} {p}")).collect();
    eprintln!(
        "{name}: {} requests, {} distinct (method, path) pairs, {:.1}s\n  {}",
        entries.len(),
        sent.len(),
        started.elapsed().as_secs_f64(),
        recorded.join("\n  ")
    );
    let mut problems = Vec::new();
    if !ok {
        problems.push(format!("the {name} flow failed:\n{output}"));
    }
    if !failed.is_empty() {
        problems.push(format!(
            "kith answered 404 or 5xx to {name}:\n  {}",
            failed.join("\n  ")
        ));
    }
    if !missing.is_empty() {
        problems.push(format!("{name} did not send: {missing:?}"));
    }
    if !unexpected.is_empty() {
        problems.push(format!(
            "{name} now sends requests this test does not know: {unexpected:?}"
        ));
    }
    assert!(
        problems.is_empty(),
        "{}\n\nrecorded (method, path) pairs of {name}:\n  {}\n\nkith's log:\n{}",
        problems.join("\n\n"),
        recorded.join("\n  "),
        lines.join("\n")
    );
}

fn python(script: &str) -> Command {
    let mut cmd = Command::new(root().join(".venv-clients/bin/python"));
    cmd.args(["-m", "pytest", "-q", "-p", "no:cacheprovider", script]);
    cmd
}

fn node(script: &str) -> Command {
    let mut cmd = Command::new("node");
    cmd.args(["--test", script]);
    cmd
}

#[test]
fn mastodon_py() {
    check_client(
        "Mastodon.py",
        python("tests/clients/test_mastodonpy.py"),
        &[
            ("POST", "/api/v1/apps"),
            ("GET", "/.well-known/oauth-authorization-server"),
            ("GET", "/oauth/authorize"),
            ("POST", "/oauth/authorize"),
            ("POST", "/oauth/token"),
            ("GET", "/api/v1/instance/"),
            ("GET", "/api/v2/instance/"),
            ("GET", "/api/v1/accounts/verify_credentials"),
            ("POST", "/api/v2/media"),
            ("POST", "/api/v1/statuses"),
            ("GET", "/api/v1/timelines/home"),
            ("GET", "/api/v1/notifications"),
            ("GET", "/api/v1/notifications/:id"),
            ("POST", "/api/v1/statuses/:id/favourite"),
            ("POST", "/api/v1/statuses/:id/reblog"),
            ("GET", "/api/v1/statuses/:id"),
            ("DELETE", "/api/v1/statuses/:id"),
            ("GET", "/api/v1/streaming/user"),
        ],
    );
}

/// Web Push (issue 14): Mastodon.py subscribes and decrypts the legacy message itself;
/// http_ece decrypts the standard one; the VAPID JWTs are verified in Python.
#[test]
fn mastodon_py_push() {
    check_client(
        "Mastodon.py push",
        python("tests/clients/test_push.py"),
        &[
            ("POST", "/api/v1/apps"),
            ("GET", "/.well-known/oauth-authorization-server"),
            ("GET", "/oauth/authorize"),
            ("POST", "/oauth/authorize"),
            ("POST", "/oauth/token"),
            ("GET", "/api/v1/instance/"),
            ("GET", "/api/v2/instance/"),
            ("POST", "/api/v1/push/subscription"),
            ("GET", "/api/v1/push/subscription"),
            ("DELETE", "/api/v1/push/subscription"),
        ],
    );
}

#[test]
fn toot() {
    check_client(
        "toot",
        python("tests/clients/test_toot.py"),
        &[
            ("GET", "/api/v1/instance"),
            ("POST", "/api/v1/apps"),
            ("GET", "/oauth/authorize/"),
            ("POST", "/oauth/authorize"),
            ("POST", "/oauth/token"),
            ("GET", "/api/v1/accounts/verify_credentials"),
            ("POST", "/api/v2/media"),
            ("POST", "/api/v1/statuses"),
            ("GET", "/api/v1/timelines/home"),
            ("GET", "/api/v1/notifications"),
            ("POST", "/api/v1/statuses/:id/favourite"),
            ("POST", "/api/v1/statuses/:id/reblog"),
            ("DELETE", "/api/v1/statuses/:id"),
        ],
    );
}

#[test]
fn masto() {
    check_client(
        "masto",
        node("tests/clients/masto.test.mjs"),
        &[
            ("POST", "/api/v1/apps"),
            ("GET", "/oauth/authorize"),
            ("POST", "/oauth/authorize"),
            ("POST", "/oauth/token"),
            ("GET", "/api/v1/accounts/verify_credentials"),
            ("POST", "/api/v2/media"),
            ("GET", "/api/v1/media/:id"),
            ("POST", "/api/v1/statuses"),
            ("GET", "/api/v1/timelines/home"),
            ("GET", "/api/v1/notifications"),
            ("POST", "/api/v1/statuses/:id/favourite"),
            ("POST", "/api/v1/statuses/:id/reblog"),
            ("DELETE", "/api/v1/statuses/:id"),
        ],
    );
}

#[test]
fn megalodon() {
    check_client(
        "megalodon",
        node("tests/clients/megalodon.test.mjs"),
        &[
            ("GET", "/.well-known/nodeinfo"),
            ("GET", "/nodeinfo/2.0"),
            ("POST", "/api/v1/apps"),
            ("GET", "/oauth/authorize"),
            ("POST", "/oauth/authorize"),
            ("POST", "/oauth/token"),
            ("GET", "/api/v1/accounts/verify_credentials"),
            ("POST", "/api/v2/media"),
            ("POST", "/api/v1/statuses"),
            ("GET", "/api/v1/timelines/home"),
            ("GET", "/api/v1/notifications"),
            ("POST", "/api/v1/statuses/:id/favourite"),
            ("POST", "/api/v1/statuses/:id/reblog"),
            ("DELETE", "/api/v1/statuses/:id"),
        ],
    );
}
