//! The durable delivery queue end to end: kith runs in this process (`kith::start`)
//! and delivers to fake inboxes on loopback ports that answer scripted statuses and
//! record every request. Jobs are queued through `db::deliveries::enqueue`, and tests
//! wait with `workers::settle`, never with sleeps; retry times are read from the
//! database. Also the `kith queue` command through the real binary.

use crate::support::{free_port, run_kith};
use kith::db::deliveries::{self, HostState, Pending};
use kith::db::now_ms;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// The longest any test waits for the queue to settle.
const SETTLE: Duration = Duration::from_secs(60);
/// The most connections a fake inbox accepts before it stops by itself.
const FAKE_MAX_CONNECTIONS: usize = 64;

// ---------------------------------------------------------------------------------
// A fake inbox server.

/// One request as the fake inbox received it.
#[derive(Debug, Clone)]
struct Recorded {
    method: String,
    path: String,
    /// Lower-case names, in the order received.
    headers: Vec<(String, String)>,
    body: String,
}

impl Recorded {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }
}

/// What the fake inbox answers to one request.
#[derive(Clone, Default)]
struct Reply {
    status: u16,
    headers: Vec<(&'static str, String)>,
    /// Hold the request until this many are in flight at once (or 5 s pass).
    wait_for_concurrent: usize,
    /// Then keep it open this long more: a slow remote.
    linger: Duration,
}

fn reply(status: u16) -> Reply {
    Reply {
        status,
        ..Reply::default()
    }
}

type Script = dyn Fn(usize, &Recorded) -> Reply + Send + Sync;

#[derive(Default)]
struct Log {
    requests: Vec<Recorded>,
    in_flight: usize,
    max_in_flight: usize,
}

struct Shared {
    log: Mutex<Log>,
    changed: Condvar,
}

/// A loopback HTTP server standing in for a remote inbox.
struct FakeInbox {
    addr: SocketAddr,
    shared: Arc<Shared>,
    stop: Arc<AtomicBool>,
    accept: Option<JoinHandle<()>>,
}

impl FakeInbox {
    /// Starts a fake inbox answering each request (numbered from 0) by `script`.
    fn start(script: impl Fn(usize, &Recorded) -> Reply + Send + Sync + 'static) -> FakeInbox {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind fake inbox");
        let addr = listener.local_addr().expect("addr");
        let shared = Arc::new(Shared {
            log: Mutex::default(),
            changed: Condvar::new(),
        });
        let stop = Arc::new(AtomicBool::new(false));
        let script: Arc<Script> = Arc::new(script);
        let (s, st) = (shared.clone(), stop.clone());
        let accept = std::thread::spawn(move || {
            let mut handlers = Vec::new();
            for stream in listener.incoming().take(FAKE_MAX_CONNECTIONS) {
                if st.load(Ordering::SeqCst) {
                    break;
                }
                let Ok(stream) = stream else { continue };
                let (s, script) = (s.clone(), script.clone());
                handlers.push(std::thread::spawn(move || serve(stream, &s, &*script)));
            }
            for h in handlers {
                let _ = h.join();
            }
        });
        FakeInbox {
            addr,
            shared,
            stop,
            accept: Some(accept),
        }
    }

    /// `host:port` as kith's queue names this host.
    fn host(&self) -> String {
        self.addr.to_string()
    }

    /// An inbox URL on this server.
    fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    fn requests(&self) -> Vec<Recorded> {
        self.shared.log.lock().unwrap().requests.clone()
    }

    fn max_in_flight(&self) -> usize {
        self.shared.log.lock().unwrap().max_in_flight
    }

    /// Blocks until `n` requests have arrived; false if `limit` passes first.
    fn wait_for_requests(&self, n: usize, limit: Duration) -> bool {
        let log = self.shared.log.lock().unwrap();
        let (log, _) = self
            .shared
            .changed
            .wait_timeout_while(log, limit, |l| l.requests.len() < n)
            .unwrap();
        log.requests.len() >= n
    }
}

impl Drop for FakeInbox {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        // Unblock accept().
        let _ = TcpStream::connect(self.addr);
        if let Some(h) = self.accept.take() {
            let _ = h.join();
        }
    }
}

/// Reads one request, records it, waits as the script says, answers, closes.
fn serve(mut stream: TcpStream, shared: &Shared, script: &Script) {
    let _ = stream.set_read_timeout(Some(Duration::from_secs(10)));
    let Some(request) = read_request(&stream) else {
        return;
    };
    let reply = {
        let mut log = shared.log.lock().unwrap();
        let reply = script(log.requests.len(), &request);
        log.requests.push(request);
        log.in_flight += 1;
        log.max_in_flight = log.max_in_flight.max(log.in_flight);
        shared.changed.notify_all();
        reply
    };
    {
        let log = shared.log.lock().unwrap();
        let deadline = Duration::from_secs(5);
        let (log, _) = shared
            .changed
            .wait_timeout_while(log, deadline, |l| {
                l.max_in_flight < reply.wait_for_concurrent
            })
            .unwrap();
        // A slow remote: keep the request open a little, whatever else happens.
        if !reply.linger.is_zero() {
            let _ = shared
                .changed
                .wait_timeout_while(log, reply.linger, |_| true);
        }
    }
    let mut head = format!(
        "HTTP/1.1 {} Fake\r\nContent-Length: 0\r\nConnection: close\r\n",
        reply.status
    );
    for (name, value) in &reply.headers {
        head.push_str(&format!("{name}: {value}\r\n"));
    }
    head.push_str("\r\n");
    let _ = stream.write_all(head.as_bytes());
    let _ = stream.flush();
    let mut log = shared.log.lock().unwrap();
    log.in_flight -= 1;
    shared.changed.notify_all();
}

fn read_request(stream: &TcpStream) -> Option<Recorded> {
    let mut reader = BufReader::new(stream);
    let mut line = String::new();
    reader.read_line(&mut line).ok()?;
    let mut parts = line.split_whitespace();
    let (method, path) = (parts.next()?.to_string(), parts.next()?.to_string());
    let mut headers = Vec::new();
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line).ok()? == 0 || headers.len() > 100 {
            return None;
        }
        let line = line.trim_end();
        if line.is_empty() {
            break;
        }
        let (name, value) = line.split_once(':')?;
        headers.push((name.trim().to_ascii_lowercase(), value.trim().to_string()));
    }
    let length: usize = headers
        .iter()
        .find(|(n, _)| n == "content-length")
        .and_then(|(_, v)| v.parse().ok())
        .unwrap_or(0);
    let mut body = vec![0; length.min(1 << 20)];
    reader.read_exact(&mut body).ok()?;
    Some(Recorded {
        method,
        path,
        headers,
        body: String::from_utf8_lossy(&body).into_owned(),
    })
}

// ---------------------------------------------------------------------------------
// kith in this process.

/// A temp dir holding a config file and the data directory.
struct Home {
    dir: tempfile::TempDir,
}

impl Home {
    fn new() -> Home {
        Home {
            dir: tempfile::tempdir().expect("tempdir"),
        }
    }

    fn config_path(&self) -> PathBuf {
        self.dir.path().join("kith.toml")
    }

    /// Starts kith on a free port with this data directory (again, after a shutdown).
    fn start(&self) -> kith::Server {
        let mut last_error = None;
        for _ in 0..5 {
            let text = config_text(self.dir.path(), free_port());
            std::fs::write(self.config_path(), &text).expect("write config");
            let config = kith::config::Config::parse(&text).expect("config");
            match kith::start(config) {
                Ok(server) => return server,
                Err(e) => last_error = Some(e),
            }
        }
        panic!("kith did not start: {last_error:?}");
    }

    /// Runs the kith binary with `args` and this config; returns (success, stdout, stderr).
    fn kith(&self, args: &[&str]) -> (bool, String, String) {
        let config = self.config_path();
        let args = [args, &["--config", config.to_str().unwrap()]].concat();
        let out = run_kith(self.dir.path(), &args, None);
        (
            out.status.success(),
            String::from_utf8_lossy(&out.stdout).into_owned(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    }
}

fn config_text(dir: &Path, port: u16) -> String {
    let data = dir.join("data");
    format!(
        "public_url = \"http://localhost:{port}\"\nusername = \"alice\"\n\
         listen = \"127.0.0.1:{port}\"\ndata_dir = {data:?}\n\
         [federation]\nallow_private_addresses = true\ndelivery_workers = 4\n"
    )
}

/// Queues `body` for each inbox as a caller would: in a transaction, then a wake-up.
fn queue(server: &kith::Server, inboxes: &[String], body: &str) -> usize {
    let ctx = server.ctx();
    let n = ctx
        .db
        .write(|tx| deliveries::enqueue(tx, inboxes, body, false, now_ms()))
        .expect("enqueue");
    ctx.wake.delivery();
    n
}

fn settle(server: &kith::Server) {
    let ctx: &kith::Ctx = server.ctx();
    assert!(
        kith::workers::settle(&[ctx], SETTLE),
        "the delivery queue did not settle: {:#?}",
        pending(server)
    );
}

fn pending(server: &kith::Server) -> Vec<Pending> {
    server
        .ctx()
        .db
        .read(deliveries::list_pending)
        .expect("list")
}

fn host_state(server: &kith::Server, host: &str) -> HostState {
    server
        .ctx()
        .db
        .read(|c| deliveries::find_host(c, host))
        .expect("read")
        .expect("a host row")
}

fn activity(n: usize) -> String {
    format!(
        "{{\"@context\":\"https://www.w3.org/ns/activitystreams\",\"id\":\"http://kith.test/activities/{n}\",\"type\":\"Create\"}}"
    )
}

// ---------------------------------------------------------------------------------
// Tests.

#[test]
fn a_2xx_removes_the_job_and_the_request_is_signed() {
    let home = Home::new();
    let server = home.start();
    let inbox = FakeInbox::start(|_, _| reply(202));
    let body = activity(1);
    assert_eq!(queue(&server, &[inbox.url("/users/bob/inbox")], &body), 1);
    settle(&server);
    assert!(pending(&server).is_empty());
    let got = inbox.requests();
    assert_eq!(got.len(), 1);
    let req = &got[0];
    assert_eq!(
        (req.method.as_str(), req.path.as_str()),
        ("POST", "/users/bob/inbox")
    );
    assert_eq!(req.body, body, "the exact queued bytes are sent");
    assert_eq!(
        req.header("content-type"),
        Some("application/activity+json")
    );
    assert_eq!(
        req.header("digest"),
        Some(kith::sig::digest_header(body.as_bytes()).as_str())
    );
    assert!(req.header("digest").unwrap().starts_with("SHA-256="));
    assert!(req.header("date").is_some());
    let signature = req.header("signature").expect("a Signature header");
    let key_id = format!("keyId=\"{}#main-key\"", server.ctx().config.actor_url());
    assert!(signature.contains(&key_id), "{signature}");
    // The signature verifies with the account's public key, as a peer would check it.
    let incoming = kith::sig::Incoming {
        method: &req.method,
        path: &req.path,
        query: "",
        headers: &req.headers,
        body: req.body.as_bytes(),
    };
    let checked = kith::sig::check(
        &incoming,
        &format!("http://{}", inbox.host()),
        &inbox.host(),
        now_ms() / 1000,
    )
    .expect("signature checks");
    let account = server.ctx().db.read(kith::db::account::get).unwrap();
    kith::sig::verify(&checked, &account.public_key_pem).expect("signature verifies");
    let host = host_state(&server, &inbox.host());
    assert_eq!((host.consecutive_fails, host.failure_days), (0, 0));
    assert!(host.last_success_at.is_some());
    server.shutdown();
}

#[test]
fn statuses_decide_between_retry_and_the_end() {
    let home = Home::new();
    let server = home.start();
    let failing = FakeInbox::start(|_, _| reply(500));
    let refusing = FakeInbox::start(|_, _| reply(400));
    let limited = FakeInbox::start(|_, _| Reply {
        headers: vec![("Retry-After", "120".into())],
        ..reply(429)
    });
    let before = now_ms();
    queue(&server, &[failing.url("/inbox")], &activity(1));
    queue(&server, &[refusing.url("/inbox")], &activity(2));
    queue(&server, &[limited.url("/inbox")], &activity(3));
    settle(&server);
    let after = now_ms();
    for fake in [&failing, &refusing, &limited] {
        assert_eq!(fake.requests().len(), 1, "one attempt each, then they wait");
    }
    let jobs = pending(&server);
    let job = |fake: &FakeInbox| jobs.iter().find(|j| j.host == fake.host()).cloned();
    // 500: retried after 15 s (retry 0 has no jitter).
    let retried = job(&failing).expect("the 500 job stays queued");
    assert_eq!((retried.attempts, retried.last_status), (1, Some(500)));
    assert!(
        (before + 15_000..=after + 15_000).contains(&retried.next_at),
        "next_at {} not 15 s after {before}..{after}",
        retried.next_at
    );
    assert_eq!(retried.claimed_until, None);
    assert_eq!(host_state(&server, &failing.host()).consecutive_fails, 1);
    // 400: the job ends, and the host counts as alive.
    assert!(job(&refusing).is_none(), "a 400 ends the job");
    assert_eq!(host_state(&server, &refusing.host()).consecutive_fails, 0);
    // 429 with Retry-After: 120 waits at least 120 s.
    let limited_job = job(&limited).expect("the 429 job stays queued");
    assert_eq!(
        (limited_job.attempts, limited_job.last_status),
        (1, Some(429))
    );
    assert!(
        (before + 120_000..=after + 120_000).contains(&limited_job.next_at),
        "next_at {} not 120 s after {before}..{after}",
        limited_job.next_at
    );
    assert_eq!(jobs.len(), 2);
    server.shutdown();
}

#[test]
fn at_most_two_requests_per_host_are_in_flight() {
    let home = Home::new();
    let server = home.start();
    let slow = |_: usize, _: &Recorded| Reply {
        wait_for_concurrent: 2,
        linger: Duration::from_millis(100),
        ..reply(202)
    };
    let busy = FakeInbox::start(slow);
    let other = FakeInbox::start(slow);
    let inboxes: Vec<String> = (0..8).map(|n| busy.url(&format!("/inbox/{n}"))).collect();
    assert_eq!(queue(&server, &inboxes, &activity(1)), 8);
    let others: Vec<String> = (0..2).map(|n| other.url(&format!("/inbox/{n}"))).collect();
    assert_eq!(queue(&server, &others, &activity(2)), 2);
    settle(&server);
    assert!(pending(&server).is_empty());
    assert_eq!(busy.requests().len(), 8);
    assert_eq!(other.requests().len(), 2);
    // Four workers, but never more than two requests at one host at a time.
    assert_eq!(busy.max_in_flight(), 2);
    assert_eq!(other.max_in_flight(), 2);
    server.shutdown();
}

#[test]
fn a_restart_mid_queue_loses_nothing_and_sends_nothing_twice() {
    let home = Home::new();
    let server = home.start();
    let inbox = FakeInbox::start(|_, _| Reply {
        linger: Duration::from_millis(100),
        ..reply(202)
    });
    // 30 jobs to one host, two at a time, 100 ms each: about 1.5 s of sending.
    let bodies: Vec<String> = (0..30).map(activity).collect();
    for (n, body) in bodies.iter().enumerate() {
        queue(&server, &[inbox.url(&format!("/inbox/{n}"))], body);
    }
    assert!(inbox.wait_for_requests(1, SETTLE), "delivery started");
    server.shutdown();
    let sent_before = inbox.requests().len();
    eprintln!("restart test: {sent_before} of 30 sent before the shutdown");
    // Stopped: what is left is queued, not claimed, and no attempt was counted.
    let left = kith::db::Db::open(&home.dir.path().join("data/kith.sqlite3"))
        .unwrap()
        .read(deliveries::list_pending)
        .unwrap();
    assert!(!left.is_empty(), "shutdown leaves the rest queued");
    assert_eq!(left.len() + sent_before, 30);
    assert!(
        left.iter()
            .all(|j| j.claimed_until.is_none() && j.attempts == 0)
    );

    let server = home.start();
    settle(&server);
    assert!(pending(&server).is_empty());
    let mut received: Vec<String> = inbox.requests().into_iter().map(|r| r.body).collect();
    received.sort();
    let mut expected = bodies.clone();
    expected.sort();
    assert_eq!(received, expected, "every job arrived exactly once");
    server.shutdown();
}

#[test]
fn the_queue_command_lists_jobs_and_retry_sends_them_now() {
    let home = Home::new();
    let server = home.start();
    // Fails once, then accepts.
    let inbox = FakeInbox::start(|n, _| reply(if n == 0 { 503 } else { 202 }));
    queue(&server, &[inbox.url("/users/bob/inbox")], &activity(1));
    settle(&server);
    assert_eq!(pending(&server)[0].attempts, 1);
    // Mark the host as a week of failures would.
    server
        .ctx()
        .db
        .write(|tx| {
            tx.execute(
                "UPDATE hosts SET unavailable = 1, failure_days = 7 WHERE host = ?1",
                [inbox.host()],
            )?;
            Ok(())
        })
        .unwrap();

    let (ok, out, err) = home.kith(&["queue"]);
    assert!(ok, "{err}");
    assert!(out.starts_with("Queued deliveries: 1\n"), "{out}");
    let job_line = out.lines().nth(1).unwrap();
    assert!(job_line.contains(&inbox.url("/users/bob/inbox")), "{out}");
    assert!(job_line.contains("attempts: 1"), "{out}");
    assert!(job_line.contains("next attempt: "), "{out}");
    assert!(job_line.contains("last answer: 503"), "{out}");
    assert!(out.contains("Unavailable or paused hosts: 1\n"), "{out}");
    assert!(
        out.contains(&format!(
            "  {}  unavailable (failures on 7 days)",
            inbox.host()
        )),
        "{out}"
    );

    let (ok, out, err) = home.kith(&["queue", "retry", &inbox.host()]);
    assert!(ok, "{err}");
    assert!(
        out.starts_with(&format!(
            "{}: marks cleared; 1 queued delivery due now",
            inbox.host()
        )),
        "{out}"
    );
    // The running server's workers send it.
    settle(&server);
    assert!(pending(&server).is_empty());
    assert_eq!(inbox.requests().len(), 2);
    assert!(!host_state(&server, &inbox.host()).unavailable);
    server.shutdown();

    // Without a running server the command works the same.
    let (ok, out, err) = home.kith(&["queue"]);
    assert!(ok, "{err}");
    assert_eq!(
        out,
        "Queued deliveries: none\nUnavailable or paused hosts: none\n"
    );
    let (ok, out, _) = home.kith(&["queue", "retry", "nowhere.example"]);
    assert!(ok);
    assert!(out.contains("0 queued deliveries due now"), "{out}");
    let (ok, _, err) = home.kith(&["queue", "retry", "bad/host"]);
    assert!(!ok);
    assert!(err.contains("not a host"), "{err}");
}

#[test]
fn settle_does_not_wait_for_retries_that_are_not_due() {
    let home = Home::new();
    let server = home.start();
    let inbox = FakeInbox::start(|_, _| reply(500));
    queue(&server, &[inbox.url("/inbox")], &activity(1));
    let start = Instant::now();
    settle(&server);
    assert!(
        start.elapsed() < Duration::from_secs(15),
        "settled before the retry"
    );
    assert_eq!(inbox.requests().len(), 1);
    server.shutdown();
}
