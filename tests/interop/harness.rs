//! What the interop tests share: an in-process kith on a free loopback port, peer
//! processes (killed on drop) whose "listening" line is awaited, a small JSON client,
//! and bounded polling.

use serde_json::Value;
use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// The repository root.
pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// A tool installed by `scripts/install-interop`; fails the test when it is missing.
pub fn installed(relative: &str) -> PathBuf {
    let path = root().join(relative);
    assert!(
        path.exists(),
        "{} is missing: run scripts/install-interop first (it installs Node 22, Fedify and \
         fediverse-pasture from the npm registry and PyPI)",
        path.display()
    );
    path
}

/// A free TCP port on 127.0.0.1 (bound and released).
pub fn free_port() -> u16 {
    let l = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    l.local_addr().expect("addr").port()
}

/// Polls `check` every 50 ms until it gives `Some`, or panics after `limit`.
pub fn wait_for<T>(what: &str, limit: Duration, mut check: impl FnMut() -> Option<T>) -> T {
    let deadline = Instant::now() + limit;
    loop {
        if let Some(v) = check() {
            return v;
        }
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// kith, started in this process with `kith::start`, as a single user `alice`.
pub struct Kith {
    pub server: Option<kith::Server>,
    pub port: u16,
    _dir: tempfile::TempDir,
}

impl Kith {
    /// Starts kith on a free port with the private-address guard off (loopback peers).
    pub fn start() -> Kith {
        let dir = tempfile::tempdir().unwrap();
        let port = free_port();
        let text = format!(
            "public_url = \"http://localhost:{port}\"\nusername = \"alice\"\n\
             listen = \"127.0.0.1:{port}\"\ndata_dir = \"{}\"\n\
             [federation]\nallow_private_addresses = true\ndelivery_workers = 2\n\
             [limits]\ninbox_requests = 100000\n",
            dir.path().join("data").display()
        );
        let config = kith::config::Config::parse(&text).unwrap();
        let server = kith::start(config).expect("kith starts");
        Kith {
            server: Some(server),
            port,
            _dir: dir,
        }
    }

    pub fn ctx(&self) -> &kith::Ctx {
        self.server.as_ref().unwrap().ctx()
    }

    /// The actor URL of kith's user.
    pub fn actor(&self) -> String {
        format!("http://localhost:{}/users/alice", self.port)
    }

    /// Reads from kith's database.
    pub fn read<T>(&self, f: impl FnOnce(&rusqlite::Connection) -> kith::error::Result<T>) -> T {
        self.ctx().db.read(f).unwrap()
    }

    /// Posts a public status through the client API (a bearer token made for the
    /// purpose) and returns the Status JSON.
    pub fn post_status(&self, text: &str) -> Value {
        let token = kith::keys::random_token(32).unwrap();
        let hash = kith::keys::sha256_hex(token.as_bytes());
        let now = kith::db::now_ms();
        self.ctx()
            .db
            .write(|tx| kith::db::tokens::insert(tx, None, &hash, "read write", now))
            .unwrap();
        let resp = agent(Duration::from_secs(30))
            .post(format!("http://127.0.0.1:{}/api/v1/statuses", self.port))
            .header("Authorization", &format!("Bearer {token}"))
            .send_form([("status", text), ("visibility", "public")])
            .unwrap_or_else(|e| panic!("POST /api/v1/statuses: {e}"));
        assert_eq!(resp.status().as_u16(), 200, "the API accepted the post");
        serde_json::from_str(&resp.into_body().read_to_string().unwrap()).unwrap()
    }

    /// Waits until kith's inbox and delivery queues are drained.
    pub fn settle(&self) {
        assert!(
            kith::workers::settle(&[self.ctx()], Duration::from_secs(30)),
            "kith's queues did not drain"
        );
    }
}

impl Drop for Kith {
    fn drop(&mut self) {
        if let Some(s) = self.server.take() {
            s.shutdown();
        }
    }
}

/// A peer process on a loopback port; its stdout and stderr are kept, and it is
/// killed when dropped (and exits by itself when this process dies and its stdin
/// closes).
pub struct Peer {
    child: Child,
    /// Held open: the peer exits when it reads EOF, so it dies with this process.
    _stdin: Option<std::process::ChildStdin>,
    pub port: u16,
    pub output: Arc<Mutex<Vec<String>>>,
}

impl Peer {
    /// Spawns `cmd` and waits (at most 30 s) for a line containing "listening".
    pub fn spawn(mut cmd: Command, port: u16) -> Peer {
        let mut child = cmd
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {cmd:?}: {e}"));
        let output: Arc<Mutex<Vec<String>>> = Arc::default();
        let (tx, rx) = mpsc::channel();
        let pipes: [Box<dyn std::io::Read + Send>; 2] = [
            Box::new(child.stdout.take().unwrap()),
            Box::new(child.stderr.take().unwrap()),
        ];
        for pipe in pipes {
            let (output, tx) = (output.clone(), tx.clone());
            std::thread::spawn(move || {
                for line in BufReader::new(pipe).lines().map_while(Result::ok) {
                    if line.contains("listening") {
                        let _ = tx.send(());
                    }
                    output.lock().unwrap().push(line);
                }
            });
        }
        let stdin = child.stdin.take();
        let mut peer = Peer {
            child,
            _stdin: stdin,
            port,
            output,
        };
        if rx.recv_timeout(Duration::from_secs(30)).is_err() {
            let _ = peer.child.kill();
            panic!(
                "peer {cmd:?} did not start listening within 30 s:\n{}",
                peer.output_text()
            );
        }
        peer
    }

    /// `http://localhost:PORT` + path.
    pub fn url(&self, path: &str) -> String {
        format!("http://localhost:{}{path}", self.port)
    }

    /// Everything the process printed so far.
    pub fn output_text(&self) -> String {
        self.output.lock().unwrap().join("\n")
    }
}

impl Drop for Peer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn agent(timeout: Duration) -> ureq::Agent {
    ureq::Agent::config_builder()
        .http_status_as_error(false)
        .max_redirects(0)
        .timeout_global(Some(timeout))
        .build()
        .into()
}

/// POSTs JSON and returns the status and the JSON answer (bounded by `timeout`).
pub fn post_json(url: &str, body: &Value, timeout: Duration) -> (u16, Value) {
    let resp = agent(timeout)
        .post(url)
        .header("Content-Type", "application/json")
        .send(body.to_string().as_bytes())
        .unwrap_or_else(|e| panic!("POST {url}: {e}"));
    let status = resp.status().as_u16();
    let text = resp.into_body().read_to_string().unwrap_or_default();
    (
        status,
        serde_json::from_str(&text).unwrap_or(Value::String(text)),
    )
}

/// GETs with extra headers; returns the status, the Content-Type and the body text.
pub fn get(url: &str, headers: &[(&str, &str)], timeout: Duration) -> (u16, String, String) {
    let mut req = agent(timeout).get(url);
    for (n, v) in headers {
        req = req.header(*n, *v);
    }
    let resp = req.call().unwrap_or_else(|e| panic!("GET {url}: {e}"));
    let status = resp.status().as_u16();
    let content_type = resp
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_string();
    let body = resp
        .into_body()
        .with_config()
        .limit(32 * 1024 * 1024)
        .read_to_string()
        .unwrap_or_default();
    (status, content_type, body)
}
