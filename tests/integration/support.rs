//! Test support: start the real `kith` binary on a free loopback port in a fresh
//! temporary directory, capture its stderr, and talk to it over real HTTP.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// A running kith process and the directory it lives in.
pub struct TestServer {
    pub child: Option<Child>,
    pub port: u16,
    pub dir: tempfile::TempDir,
    pub log: Arc<Mutex<Vec<String>>>,
    pub extra_config: String,
}

/// The path of the kith binary under test: `$KITH_TEST_BIN` when set (scripts/pi-check
/// sets it to a wrapper that runs a cross-built kith under qemu-user), else Cargo's.
pub fn kith_bin() -> &'static str {
    static BIN: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    BIN.get_or_init(|| {
        std::env::var("KITH_TEST_BIN").unwrap_or_else(|_| env!("CARGO_BIN_EXE_kith").to_string())
    })
}

/// A free TCP port on 127.0.0.1 (bound and released).
pub fn free_port() -> u16 {
    let l = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    l.local_addr().expect("addr").port()
}

/// The config text for a test instance on `port` with extra TOML appended.
pub fn config_text(port: u16, extra: &str) -> String {
    // Top-level keys in `extra` must come before any table, so tables go last here.
    format!(
        "public_url = \"http://localhost:{port}\"\nusername = \"alice\"\nlisten = \"127.0.0.1:{port}\"\n\
         data_dir = \"data\"\n{extra}\n"
    )
}

impl TestServer {
    /// Writes a config into a new temp dir and starts kith; waits until it listens.
    pub fn start(extra: &str) -> TestServer {
        let dir = tempfile::tempdir().expect("tempdir");
        let mut s = TestServer {
            child: None,
            port: 0,
            dir,
            log: Arc::default(),
            extra_config: extra.to_string(),
        };
        s.spawn_fresh_port();
        s
    }

    fn spawn_fresh_port(&mut self) {
        for _ in 0..5 {
            self.port = free_port();
            std::fs::write(
                self.config_path(),
                config_text(self.port, &self.extra_config),
            )
            .expect("write config");
            if self.spawn().is_ok() {
                return;
            }
        }
        panic!("kith did not start: {:#?}", self.log.lock().unwrap());
    }

    /// Starts (or restarts) the process with the existing config; Err if it exited early.
    pub fn spawn(&mut self) -> Result<(), i32> {
        let mut child = Command::new(kith_bin())
            .args(["serve", "--config"])
            .arg(self.config_path())
            .current_dir(self.dir.path())
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn kith");
        let stderr = child.stderr.take().expect("stderr");
        let (tx, rx) = mpsc::channel();
        let log = self.log.clone();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                if line.contains(" listening on ") {
                    let _ = tx.send(true);
                }
                log.lock().unwrap().push(line);
            }
            let _ = tx.send(false);
        });
        match rx.recv_timeout(Duration::from_secs(60)) {
            Ok(true) => {
                self.child = Some(child);
                Ok(())
            }
            _ => {
                let status = child.wait().expect("wait");
                Err(status.code().unwrap_or(-1))
            }
        }
    }

    /// The path of the config file.
    pub fn config_path(&self) -> PathBuf {
        self.dir.path().join("kith.toml")
    }

    /// The data directory.
    pub fn data_dir(&self) -> PathBuf {
        self.dir.path().join("data")
    }

    /// `http://127.0.0.1:PORT` + path.
    pub fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{path}", self.port)
    }

    /// The public base URL (`http://localhost:PORT`).
    pub fn public(&self) -> String {
        format!("http://localhost:{}", self.port)
    }

    /// Sends SIGTERM and waits for the exit code.
    pub fn stop(&mut self) -> i32 {
        let mut child = self.child.take().expect("running");
        signal(&child, "TERM");
        let status = child.wait().expect("wait");
        status.code().unwrap_or(-1)
    }

    /// A copy of everything kith wrote to stderr so far.
    pub fn log_lines(&self) -> Vec<String> {
        self.log.lock().unwrap().clone()
    }

    /// Waits (bounded) until a stderr line satisfies `pred`; the line, or a panic with the log.
    pub fn wait_log(&self, pred: impl Fn(&str) -> bool) -> String {
        let deadline = std::time::Instant::now() + Duration::from_secs(10);
        loop {
            if let Some(line) = self.log.lock().unwrap().iter().find(|l| pred(l)) {
                return line.clone();
            }
            assert!(
                std::time::Instant::now() < deadline,
                "log line never came: {:#?}",
                self.log_lines()
            );
            std::thread::park_timeout(Duration::from_millis(5));
        }
    }

    /// Runs another kith command against this instance's config.
    pub fn command(&self, args: &[&str], stdin: Option<&str>) -> std::process::Output {
        run_kith(
            self.dir.path(),
            &[args, &["--config", self.config_path().to_str().unwrap()]].concat(),
            stdin,
        )
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// Runs the kith binary with `args` in `dir`, feeding `stdin`.
pub fn run_kith(dir: &Path, args: &[&str], stdin: Option<&str>) -> std::process::Output {
    use std::io::Write;
    let mut child = Command::new(kith_bin())
        .args(args)
        .current_dir(dir)
        .env_remove("KITH_CONFIG")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn kith");
    if let Some(text) = stdin {
        child
            .stdin
            .take()
            .unwrap()
            .write_all(text.as_bytes())
            .unwrap();
    }
    drop(child.stdin.take());
    child.wait_with_output().expect("output")
}

/// Sends a signal by name with the `kill` command.
pub fn signal(child: &Child, name: &str) {
    let ok = Command::new("kill")
        .arg(format!("-{name}"))
        .arg(child.id().to_string())
        .status()
        .expect("kill");
    assert!(ok.success());
}

/// A plain HTTP client that returns every status as a response and follows no redirects.
pub fn agent() -> ureq::Agent {
    ureq::Agent::config_builder()
        .http_status_as_error(false)
        .max_redirects(0)
        .timeout_global(Some(Duration::from_secs(20)))
        .build()
        .into()
}

/// A response read fully: status, headers (lower-case names) and body text.
#[derive(Debug)]
pub struct Got {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: String,
}

impl Got {
    /// A header value by lower-case name.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }

    /// The body as JSON.
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.body)
            .unwrap_or_else(|e| panic!("not JSON ({e}), status {}: {}", self.status, self.body))
    }

    /// The body as JSON, after checking the status is 200.
    pub fn ok(&self) -> serde_json::Value {
        assert_eq!(self.status, 200, "expected 200, got: {}", self.body);
        self.json()
    }

    /// Checks this is a JSON error `{"error": …}` with `status` and `application/json`.
    pub fn assert_error(&self, status: u16) -> &Got {
        assert_eq!(self.status, status, "body: {}", self.body);
        let ct = self.header("content-type").unwrap_or("");
        assert!(
            ct.starts_with("application/json"),
            "error with content type {ct:?}: {}",
            self.body
        );
        let v = self.json();
        assert!(
            v["error"].as_str().is_some_and(|e| !e.is_empty()),
            "no error text: {}",
            self.body
        );
        self
    }

    /// The URLs of the `Link` header by relation (`next`, `prev`).
    pub fn link(&self, rel: &str) -> Option<String> {
        let header = self.header("link")?;
        header.split(',').find_map(|part| {
            let (url, params) = part.trim().split_once(';')?;
            params
                .contains(&format!("rel=\"{rel}\""))
                .then(|| url.trim().trim_matches(['<', '>']).to_string())
        })
    }
}

/// Reads a whole response (bodies up to 64 MiB).
pub fn collect(resp: ureq::http::Response<ureq::Body>) -> Got {
    let status = resp.status().as_u16();
    let headers = resp
        .headers()
        .iter()
        .map(|(n, v)| {
            (
                n.as_str().to_ascii_lowercase(),
                v.to_str().unwrap_or("").to_string(),
            )
        })
        .collect();
    let body = resp
        .into_body()
        .with_config()
        .limit(64 * 1024 * 1024)
        .read_to_string()
        .unwrap_or_default();
    Got {
        status,
        headers,
        body,
    }
}

/// GET with optional extra headers.
pub fn get(url: &str, headers: &[(&str, &str)]) -> Got {
    let mut req = agent().get(url);
    for (n, v) in headers {
        req = req.header(*n, *v);
    }
    collect(req.call().expect("GET"))
}

/// POST a body with a content type and extra headers.
pub fn post(url: &str, content_type: &str, body: &[u8], headers: &[(&str, &str)]) -> Got {
    let mut req = agent().post(url).header("Content-Type", content_type);
    for (n, v) in headers {
        req = req.header(*n, *v);
    }
    collect(req.send(body).expect("POST"))
}

/// One in-process kith instance (`kith::start`) with its own data directory.
pub struct Instance {
    pub server: Option<kith::Server>,
    /// Kept so the data directory lives as long as the instance.
    _dir: tempfile::TempDir,
    pub port: u16,
    pub name: String,
    /// The host of its public URL (`localhost` unless started with [`Instance::start_at`]).
    pub host: String,
}

impl Instance {
    /// Starts an instance named `name` with extra config (top-level keys, or tables
    /// such as `[limits]`), able to reach loopback peers.
    pub fn start(name: &str, extra: &str) -> Instance {
        Instance::start_with(name, extra, true)
    }

    /// Like [`Instance::start`]; `allow_private` is `[federation] allow_private_addresses`
    /// (false: the private-address guard is on, as in production).
    pub fn start_with(name: &str, extra: &str, allow_private: bool) -> Instance {
        Instance::start_at("localhost", name, extra, allow_private)
    }

    /// Like [`Instance::start_with`] with another host in the public URL (it still
    /// listens on 127.0.0.1; the host need not resolve). A `[federation]` table in
    /// `extra` adds to the one written here.
    pub fn start_at(host: &str, name: &str, extra: &str, allow_private: bool) -> Instance {
        let dir = tempfile::tempdir().unwrap();
        let (extra, federation) = extra.split_once("[federation]\n").unwrap_or((extra, ""));
        let mut last = None;
        for _ in 0..5 {
            let port = free_port();
            let text = format!(
                "public_url = \"http://{host}:{port}\"\nusername = \"{name}\"\n\
                 listen = \"127.0.0.1:{port}\"\ndata_dir = \"{d}\"\n{extra}\n\
                 [federation]\nallow_private_addresses = {allow_private}\ndelivery_workers = 2\n\
                 {federation}",
                d = dir.path().join("data").display()
            );
            let config = kith::config::Config::parse(&text).unwrap();
            match kith::start(config) {
                Ok(server) => {
                    return Instance {
                        server: Some(server),
                        _dir: dir,
                        port,
                        name: name.to_string(),
                        host: host.to_string(),
                    };
                }
                // The free port may have been taken in between: try another.
                Err(e) => last = Some(e),
            }
        }
        panic!("kith did not start: {last:?}");
    }

    /// The shared context.
    pub fn ctx(&self) -> &kith::Ctx {
        self.server.as_ref().unwrap().ctx()
    }

    /// The public base URL (`http://localhost:PORT`).
    pub fn base(&self) -> String {
        format!("http://{}:{}", self.host, self.port)
    }

    /// The actor URL.
    pub fn actor(&self) -> String {
        format!("{}/users/{}", self.base(), self.name)
    }

    /// The socket address kith listens on.
    pub fn addr(&self) -> std::net::SocketAddr {
        self.server.as_ref().unwrap().addr()
    }

    /// Reads from the database.
    pub fn read<T>(&self, f: impl FnOnce(&rusqlite::Connection) -> kith::error::Result<T>) -> T {
        self.ctx().db.read(f).unwrap()
    }

    /// This instance's view of another instance's actor.
    pub fn remote(&self, other: &Instance) -> kith::db::actors::RemoteActor {
        self.read(|c| kith::db::actors::find_by_uri(c, &other.actor()))
            .expect("actor cached")
    }

    /// A post of `other` as stored here, by the id `other` gave it.
    pub fn copy_of(
        &self,
        other: &Instance,
        post: &kith::db::posts::Post,
    ) -> Option<kith::db::posts::Post> {
        let _ = other;
        self.read(|c| kith::db::posts::find_by_uri(c, &post.uri))
    }
}

impl Drop for Instance {
    fn drop(&mut self) {
        if let Some(s) = self.server.take() {
            s.shutdown();
        }
    }
}
