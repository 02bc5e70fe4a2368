//! `cargo bench --bench federation`: federation throughput of the release binary.
//!
//! Inbound: signed `Create(Note)` activities from 1,000 distinct remote actors (actor
//! documents served by this program on loopback) are posted to kith's shared inbox;
//! the clock stops when all of them are stored (read from kith's database), so the
//! figure is "accepted and processed" per second. The first pass also fetches every
//! actor's key (cold); later passes find them cached (warm).
//!
//! Fan-out: one post to 10,000 followers, each with its own inbox, spread over 64
//! loopback ports so the per-host limit is not what binds; the clock stops when the
//! sinks have acknowledged every delivery. Then again with 500 shared inboxes.
//!
//! Peak resident memory (VmHWM) of the kith process is printed for each. Prints
//! medians; asserts nothing.

mod support;
use support::*;

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

const ACTORS: usize = 1_000;
const RUNS: usize = 3;
const FOLLOWERS: usize = 10_000;
const SINK_PORTS: usize = 64;
const SHARED_INBOXES: usize = 500;
const KEY_DER: &[u8] = include_bytes!("../tests/fixtures/sig/key-a.pk8.der");
const KEY_PEM: &str = include_str!("../tests/fixtures/sig/key-a.pub.pem");

/// CPU seconds (user and system, all threads, ended ones included) kith has used.
fn cpu_seconds(pid: u32) -> f64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    // Fields after the command name, which is in parentheses and may hold spaces.
    let rest = stat.rsplit_once(')').map(|(_, r)| r).unwrap_or("");
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let ticks = |i: usize| {
        fields
            .get(i)
            .and_then(|f| f.parse::<f64>().ok())
            .unwrap_or(0.0)
    };
    // utime and stime are fields 14 and 15 of stat, 12 and 13 after the name.
    // Counted in clock ticks of USER_HZ, which is 100 on Linux.
    (ticks(11) + ticks(12)) / 100.0
}

/// A kith child process on a fresh data directory.
struct Kith {
    child: Child,
    port: u16,
    dir: tempfile::TempDir,
}

impl Kith {
    fn start(extra: &str) -> Kith {
        let dir = tempfile::tempdir().expect("tempdir");
        let port = free_port();
        let config = format!(
            "public_url = \"http://localhost:{port}\"\nusername = \"me\"\nlisten = \"127.0.0.1:{port}\"\n\
             data_dir = \"data\"\nhttp_threads = 4\nmax_connections = 1000\n{extra}\n\
             [federation]\nallow_private_addresses = true\n[limits]\ninbox_requests = 100000000\napi_requests = 100000\n"
        );
        std::fs::write(dir.path().join("kith.toml"), config).expect("config");
        // The account is made here (key generation and password hashing), not in the
        // server, so they do not raise the server's peak; `token` then opens it.
        let config =
            kith::config::Config::load(&dir.path().join("kith.toml"), false).expect("config");
        kith::prepare(&config).expect("the account");
        let made = Command::new(env!("CARGO_BIN_EXE_kith"))
            .args(["token", "--config", "kith.toml"])
            .current_dir(dir.path())
            .output()
            .expect("kith token");
        assert!(made.status.success());
        let mut k = Kith {
            child: spawn(dir.path()),
            port,
            dir,
        };
        wait_listening(&mut k.child);
        k
    }

    fn db(&self) -> rusqlite::Connection {
        let c = rusqlite::Connection::open(self.dir.path().join("data/kith.sqlite3")).expect("db");
        c.busy_timeout(Duration::from_secs(30)).expect("busy");
        c
    }

    fn restart(&mut self) {
        stop(&mut self.child);
        self.child = spawn(self.dir.path());
        wait_listening(&mut self.child);
    }

    fn hwm(&self) -> u64 {
        proc_kb(self.child.id(), "VmHWM:")
    }
}

impl Drop for Kith {
    fn drop(&mut self) {
        stop(&mut self.child);
    }
}

fn spawn(dir: &std::path::Path) -> Child {
    Command::new(env!("CARGO_BIN_EXE_kith"))
        .args(["serve", "--config", "kith.toml"])
        .current_dir(dir)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn kith")
}

fn wait_listening(child: &mut Child) {
    let stderr = child.stderr.take().expect("stderr");
    let mut lines = BufReader::new(stderr).lines();
    for line in lines.by_ref() {
        if line.expect("line").contains(" listening on ") {
            break;
        }
    }
    // Keep draining the access log so kith never blocks on a full pipe.
    std::thread::spawn(move || for _ in lines {});
}

fn stop(child: &mut Child) {
    let _ = Command::new("kill").arg(child.id().to_string()).status();
    let _ = child.wait();
}

/// Serves the remote actors' documents: `/users/aN` with the fixture key.
fn serve_actors() -> u16 {
    let listener = kith::http::bind("127.0.0.1:0".parse().expect("addr")).expect("actors");
    let port = listener.local_addr().expect("addr").port();
    let server = Arc::new(tiny_http::Server::from_listener(listener, None).expect("actor server"));
    for _ in 0..4 {
        let server = server.clone();
        std::thread::spawn(move || {
            for rq in server.incoming_requests() {
                let name = rq.url().trim_start_matches("/users/").to_string();
                let id = format!("http://localhost:{port}/users/{name}");
                let doc = serde_json::json!({
                    "@context": ["https://www.w3.org/ns/activitystreams", "https://w3id.org/security/v1"],
                    "id": id, "type": "Person", "preferredUsername": name, "inbox": format!("{id}/inbox"),
                    "followers": format!("{id}/followers"),
                    "publicKey": {"id": format!("{id}#main-key"), "owner": id, "publicKeyPem": KEY_PEM},
                });
                let header =
                    tiny_http::Header::from_bytes("Content-Type", "application/activity+json")
                        .expect("header");
                let _ = rq
                    .respond(tiny_http::Response::from_string(doc.to_string()).with_header(header));
            }
        });
    }
    port
}

/// Builds and signs one `Create(Note)` from actor `n`, addressed to kith's account.
fn signed_create(
    key: &ring::signature::RsaKeyPair,
    actor_port: u16,
    kith_port: u16,
    n: usize,
    run: usize,
) -> (Vec<(String, String)>, Vec<u8>) {
    let actor = format!("http://localhost:{actor_port}/users/a{n}");
    let me = format!("http://localhost:{kith_port}/users/me");
    let note_id = format!("{actor}/statuses/{run}-{n}");
    let body = serde_json::json!({
        "@context": "https://www.w3.org/ns/activitystreams",
        "id": format!("{note_id}/activity"), "type": "Create", "actor": actor,
        "to": ["https://www.w3.org/ns/activitystreams#Public"], "cc": [me],
        "object": {
            "id": note_id, "type": "Note", "attributedTo": actor, "content": format!("<p>hello number {n}</p>"),
            "published": "2026-11-26T10:00:00Z", "to": ["https://www.w3.org/ns/activitystreams#Public"], "cc": [me],
            "tag": [{"type": "Mention", "href": me, "name": "@me"}]
        }
    })
    .to_string()
    .into_bytes();
    let url = url::Url::parse(&format!("http://localhost:{kith_port}/inbox")).expect("url");
    let out = kith::sig::Outgoing {
        method: "POST",
        url: &url,
        accept: None,
        content_type: Some("application/activity+json"),
        body: Some(&body),
    };
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("clock")
        .as_secs() as i64;
    (
        kith::sig::sign(key, &format!("{actor}#main-key"), &out, now),
        body,
    )
}

fn count(db: &rusqlite::Connection, sql: &str) -> i64 {
    db.query_row(sql, [], |r| r.get(0)).unwrap_or(0)
}

/// A signed request ready to send: its headers and body.
type Signed = (Vec<(String, String)>, Vec<u8>);

/// Posts every signed request over 8 keep-alive connections, sending again at once
/// what kith answers 429 (it takes at most `http_threads - 1` key fetches at a time, and
/// asks the rest to come back, as peers do later); returns the seconds until all were
/// accepted (202) and until all are stored, and how many 429s there were.
fn send_all(k: &Kith, requests: Vec<Signed>, expect_posts: i64) -> (f64, f64, usize) {
    let db = k.db();
    let queue = Arc::new(Mutex::new(requests));
    let busy = Arc::new(AtomicUsize::new(0));
    let started = Instant::now();
    let senders: Vec<_> = (0..8)
        .map(|_| {
            let queue = queue.clone();
            let busy = busy.clone();
            let port = k.port;
            std::thread::spawn(move || {
                let agent: ureq::Agent = ureq::Agent::config_builder()
                    .http_status_as_error(false)
                    .build()
                    .into();
                loop {
                    let next = queue.lock().expect("lock").pop();
                    let Some((headers, body)) = next else { break };
                    let mut rq = agent
                        .post(format!("http://127.0.0.1:{port}/inbox"))
                        .header("Content-Type", "application/activity+json");
                    for (n, v) in &headers {
                        rq = rq.header(n.as_str(), v.as_str());
                    }
                    let status = rq.send(&body[..]).map(|r| r.status().as_u16()).unwrap_or(0);
                    if status == 429 {
                        busy.fetch_add(1, Ordering::SeqCst);
                        queue.lock().expect("lock").push((headers, body));
                        continue;
                    }
                    assert_eq!(status, 202, "kith refused an activity");
                }
            })
        })
        .collect();
    for s in senders {
        s.join().expect("sender");
    }
    let accepted = started.elapsed().as_secs_f64();
    while count(&db, "SELECT count(*) FROM posts WHERE actor_id IS NOT NULL") < expect_posts {
        std::thread::park_timeout(Duration::from_millis(2));
    }
    (
        accepted,
        started.elapsed().as_secs_f64(),
        busy.load(Ordering::SeqCst),
    )
}

fn inbound() {
    let k = Kith::start("");
    let actor_port = serve_actors();
    let key = ring::signature::RsaKeyPair::from_pkcs8(KEY_DER).expect("key");
    let mut cold = 0.0;
    let mut cold_busy = 0;
    let mut warm = Vec::new();
    let mut warm_accepted = Vec::new();
    let mut warm_cpu = 0.0;
    for run in 0..=RUNS {
        let cpu_before = cpu_seconds(k.child.id());
        let requests: Vec<_> = (0..ACTORS)
            .map(|n| signed_create(&key, actor_port, k.port, n, run))
            .collect();
        let (accepted, processed, busy) = send_all(&k, requests, ((run + 1) * ACTORS) as i64);
        if run == 0 {
            cold = ACTORS as f64 / processed;
            cold_busy = busy;
        } else {
            warm.push(ACTORS as f64 / processed);
            warm_accepted.push(ACTORS as f64 / accepted);
            warm_cpu += cpu_seconds(k.child.id()) - cpu_before;
        }
    }
    println!("inbound Create(Note) from {ACTORS} actors, accepted and processed:");
    println!(
        "  first contact (key fetch per actor): {cold:.0} per second ({cold_busy} answers 429, sent again)"
    );
    println!(
        "  keys cached, median of {RUNS} runs:      {:.0} per second",
        median(warm)
    );
    println!(
        "  (accepted with 202 alone:            {:.0} per second)",
        median(warm_accepted)
    );
    println!(
        "  kith CPU time per activity (cached):  {:.0} µs",
        warm_cpu / (RUNS * ACTORS) as f64 * 1e6
    );
    println!(
        "  peak resident memory (VmHWM):        {:.1} MB",
        k.hwm() as f64 / 1024.0
    );
}

/// Loopback sinks answering 202 to every POST; counts deliveries.
fn start_sinks(count: usize, received: Arc<AtomicUsize>) -> Vec<u16> {
    let mut ports = Vec::new();
    for _ in 0..count {
        // TCP_NODELAY, as any real server sets it: without it the sink's small writes
        // wait for delayed ACKs and the benchmark measures the sink, not kith.
        let listener = kith::http::bind("127.0.0.1:0".parse().expect("addr")).expect("sink");
        ports.push(listener.local_addr().expect("addr").port());
        let server = Arc::new(tiny_http::Server::from_listener(listener, None).expect("sink"));
        for _ in 0..2 {
            let server = server.clone();
            let received = received.clone();
            std::thread::spawn(move || {
                for mut rq in server.incoming_requests() {
                    let mut body = Vec::new();
                    let _ = std::io::Read::read_to_end(rq.as_reader(), &mut body);
                    let _ = rq.respond(tiny_http::Response::empty(202));
                    received.fetch_add(1, Ordering::SeqCst);
                }
            });
        }
    }
    ports
}

/// Adds `FOLLOWERS` followers whose inboxes spread over the sink ports (`shared`: that many shared inboxes).
fn add_followers(db: &rusqlite::Connection, ports: &[u16], shared: Option<usize>) {
    db.execute_batch("BEGIN").expect("begin");
    for n in 0..FOLLOWERS {
        let port = ports[n % ports.len()];
        let uri = format!("http://localhost:{port}/users/f{n}");
        let shared_inbox = shared.map(|s| format!("http://localhost:{port}/shared/{}", n % s));
        db.execute(
            "INSERT INTO actors (uri, username, domain, inbox, shared_inbox, public_key_pem, key_id, fetched_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, 0)",
            rusqlite::params![uri, format!("f{n}"), format!("localhost:{port}"), format!("{uri}/inbox"), shared_inbox, KEY_PEM, format!("{uri}#main-key")],
        )
        .expect("actor");
        db.execute(
            "INSERT INTO followers (actor_id, activity_uri, accepted, created_at) VALUES (last_insert_rowid(), ?1, 1, 0)",
            [format!("{uri}/follow")],
        )
        .expect("follower");
    }
    db.execute_batch("COMMIT").expect("commit");
}

fn post_status(k: &Kith, token: &str) {
    let resp = ureq::post(format!("http://127.0.0.1:{}/api/v1/statuses", k.port))
        .header("Authorization", &format!("Bearer {token}"))
        .send_form([
            ("status", "hello, all ten thousand of you"),
            ("visibility", "public"),
        ])
        .expect("post");
    assert_eq!(resp.status().as_u16(), 200);
}

fn fan_out(shared: Option<usize>) {
    let received = Arc::new(AtomicUsize::new(0));
    let ports = start_sinks(SINK_PORTS, received.clone());
    let mut k = Kith::start("");
    add_followers(&k.db(), &ports, shared);
    k.restart();
    let token = String::from_utf8(
        Command::new(env!("CARGO_BIN_EXE_kith"))
            .args(["token", "--config", "kith.toml"])
            .current_dir(k.dir.path())
            .output()
            .expect("token")
            .stdout,
    )
    .expect("utf8")
    .trim()
    .to_string();
    let expected = shared.map(|s| s.min(FOLLOWERS)).unwrap_or(FOLLOWERS);
    let mut times = Vec::new();
    let cpu_before = cpu_seconds(k.child.id());
    for _ in 0..RUNS {
        let before = received.load(Ordering::SeqCst);
        let started = Instant::now();
        post_status(&k, &token);
        while received.load(Ordering::SeqCst) < before + expected {
            std::thread::park_timeout(Duration::from_millis(2));
            if started.elapsed() > Duration::from_secs(300) {
                panic!(
                    "deliveries stalled at {}",
                    received.load(Ordering::SeqCst) - before
                );
            }
        }
        times.push(started.elapsed().as_secs_f64());
    }
    let what = match shared {
        Some(s) => {
            format!("{FOLLOWERS} followers behind {s} shared inboxes ({expected} deliveries)")
        }
        None => format!("{FOLLOWERS} followers, one inbox each ({expected} deliveries)"),
    };
    let cpu = cpu_seconds(k.child.id()) - cpu_before;
    let t = median(times);
    println!("fan-out, {what}:");
    println!(
        "  until the last delivery was acknowledged, median of {RUNS}: {t:.2} s ({:.0} deliveries per second)",
        expected as f64 / t
    );
    println!(
        "  kith CPU time per delivery: {:.0} µs",
        cpu / (RUNS * expected) as f64 * 1e6
    );
    println!(
        "  peak resident memory (VmHWM): {:.1} MB",
        k.hwm() as f64 / 1024.0
    );
}

fn main() {
    println!(
        "kith federation benchmark ({} CPUs)",
        std::thread::available_parallelism()
            .map(|n| n.get())
            .unwrap_or(1)
    );
    // KITH_BENCH=inbound|fanout|shared runs one part only.
    let only = std::env::var("KITH_BENCH").unwrap_or_default();
    let run = |name: &str| only.is_empty() || only == name;
    if run("inbound") {
        inbound();
    }
    if run("fanout") {
        fan_out(None);
    }
    if run("shared") {
        fan_out(Some(SHARED_INBOXES));
    }
}
