//! `cargo bench --bench connections`: what many open keep-alive connections cost.
//! Starts the release kith binary on a loopback port, measures its idle resident
//! memory, then holds N keep-alive connections open (each has made one request) and
//! measures memory, thread count and the latency of fresh requests meanwhile, then
//! again after the idle timeout has closed them. Then, on a fresh kith, the hostile
//! load of issue 17 from one address: 64 connections sending a body a byte at a time,
//! 64 pipelining requests without reading the answers and 200 dribbling a head, all
//! open at once (the per-address share raised to the whole cap so none is refused),
//! with the peak memory and the latency of `/health` from another address meanwhile.
//! Last, a viral boost: 200 connections fetching the actor and a note at once, with
//! the peak memory. Prints medians; asserts nothing.

mod support;
use support::*;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const CONNECTIONS: usize = 500;
const PROBES: usize = 50;
const IDLE_TIMEOUT: u64 = 5;

fn request(stream: &mut TcpStream) -> bool {
    get(stream, "/health", "*/*")
}

/// One keep-alive GET of `path`, reading the whole answer.
fn get(stream: &mut TcpStream, path: &str, accept: &str) -> bool {
    let head = format!("GET {path} HTTP/1.1\r\nHost: localhost\r\nAccept: {accept}\r\n\r\n");
    if stream.write_all(head.as_bytes()).is_err() {
        return false;
    }
    // Read the head, then exactly Content-Length bytes, leaving the connection open.
    let mut reader = BufReader::new(stream.try_clone().expect("clone"));
    let mut len = 0usize;
    let mut line = String::new();
    loop {
        line.clear();
        if reader.read_line(&mut line).unwrap_or(0) == 0 {
            return false;
        }
        if let Some(v) = line.to_ascii_lowercase().strip_prefix("content-length:") {
            len = v.trim().parse().unwrap_or(0);
        }
        if line == "\r\n" {
            break;
        }
    }
    let mut body = vec![0u8; len];
    reader.read_exact(&mut body).is_ok()
}

fn probe_latency(port: u16) -> (f64, f64) {
    let mut times = Vec::new();
    for _ in 0..PROBES {
        let started = Instant::now();
        let mut s = TcpStream::connect(("127.0.0.1", port)).expect("connect");
        s.set_read_timeout(Some(Duration::from_secs(30)))
            .expect("timeout");
        assert!(request(&mut s), "probe request failed");
        times.push(started.elapsed().as_secs_f64() * 1000.0);
    }
    let max = times.iter().cloned().fold(0.0, f64::max);
    (median(times), max)
}

/// Starts the release kith on a free port with `extra` config; returns it and its port
/// once it listens. `_dir` must outlive it.
fn start_kith(dir: &std::path::Path, extra: &str) -> (std::process::Child, u16) {
    let port = free_port();
    let config = format!(
        "public_url = \"http://localhost:{port}\"\nlisten = \"127.0.0.1:{port}\"\ndata_dir = \"data\"\n\
         {extra}\n[limits]\ninbox_requests = 1000000\n"
    );
    std::fs::write(dir.join("kith.toml"), config).expect("config");
    let mut child = Command::new(env!("CARGO_BIN_EXE_kith"))
        .args(["serve", "--config", "kith.toml"])
        .current_dir(dir)
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn kith");
    let stderr = child.stderr.take().expect("stderr");
    let mut lines = BufReader::new(stderr).lines();
    for line in lines.by_ref() {
        if line.expect("line").contains(" listening on ") {
            break;
        }
    }
    std::thread::spawn(move || for _ in lines {});
    (child, port)
}

fn main() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (mut child, port) = start_kith(
        dir.path(),
        &format!("idle_timeout_secs = {IDLE_TIMEOUT}\nmax_connections = 1000"),
    );
    let pid = child.id();
    let mut warm = TcpStream::connect(("127.0.0.1", port)).expect("connect");
    assert!(request(&mut warm));
    drop(warm);
    let idle_rss = proc_kb(pid, "VmRSS:");
    let (idle_p50, idle_max) = probe_latency(port);
    println!(
        "kith connections benchmark ({CONNECTIONS} keep-alive connections, idle_timeout_secs = {IDLE_TIMEOUT})"
    );
    println!(
        "idle:            VmRSS {idle_rss} kB, threads {}, fresh request p50 {idle_p50:.2} ms, max {idle_max:.2} ms",
        proc_kb(pid, "Threads:")
    );

    let started = Instant::now();
    let mut held = Vec::new();
    for _ in 0..CONNECTIONS {
        let mut s = TcpStream::connect(("127.0.0.1", port)).expect("connect");
        s.set_read_timeout(Some(Duration::from_secs(30)))
            .expect("timeout");
        assert!(request(&mut s), "request on a held connection failed");
        held.push(s);
    }
    let open_secs = started.elapsed().as_secs_f64();
    let (p50, max) = probe_latency(port);
    println!(
        "{CONNECTIONS} held open:   VmRSS {} kB (peak VmHWM {} kB), threads {}, opened in {open_secs:.2} s, fresh request p50 {p50:.2} ms, max {max:.2} ms",
        proc_kb(pid, "VmRSS:"),
        proc_kb(pid, "VmHWM:"),
        proc_kb(pid, "Threads:")
    );
    // Wait for the server to close the idle connections: each read returns EOF.
    let waited = Instant::now();
    for s in held.iter_mut() {
        let mut buf = [0u8; 1];
        let _ = s.read(&mut buf);
    }
    println!(
        "idle timeout:    all {CONNECTIONS} closed by the server after {:.1} s",
        waited.elapsed().as_secs_f64()
    );
    drop(held);
    // tiny_http's idle pool threads exit a few seconds after their connection ends.
    let settle = Instant::now();
    while proc_kb(pid, "Threads:") > 20 && settle.elapsed() < Duration::from_secs(30) {
        std::thread::park_timeout(Duration::from_millis(200));
    }
    let (after_p50, _) = probe_latency(port);
    println!(
        "after close:     VmRSS {} kB, threads {}, fresh request p50 {after_p50:.2} ms",
        proc_kb(pid, "VmRSS:"),
        proc_kb(pid, "Threads:")
    );
    let _ = Command::new("kill").arg(pid.to_string()).status();
    let _ = child.wait();
    attack_scenario();
    viral_scenario();
}

/// A post of the owner's boosted by a big account: many servers fetch the actor and
/// the note at once. 200 connections, each five rounds of both, all started together;
/// prints the peak memory (issue 16 compares it with snac2's 18.6 MB in the same run).
fn viral_scenario() {
    const CLIENTS: usize = 200;
    const ROUNDS: usize = 5;
    let dir = tempfile::tempdir().expect("tempdir");
    let (mut child, port) = start_kith(
        dir.path(),
        "idle_timeout_secs = 10\nmax_connections = 1000\nmax_connections_per_address = 1000\n\
         trusted_proxies = []",
    );
    let pid = child.id();
    let token = Command::new(env!("CARGO_BIN_EXE_kith"))
        .args(["token", "--config", "kith.toml", "--scopes", "write"])
        .current_dir(dir.path())
        .output()
        .expect("kith token");
    let token = String::from_utf8_lossy(&token.stdout).trim().to_string();
    let mut s = TcpStream::connect(("127.0.0.1", port)).expect("connect");
    let body = "status=a+post+that+went+far&visibility=public";
    let post = format!(
        "POST /api/v1/statuses HTTP/1.1\r\nHost: localhost\r\nAuthorization: Bearer {token}\r\n\
         Content-Type: application/x-www-form-urlencoded\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    s.write_all(post.as_bytes()).expect("post");
    let mut answer = String::new();
    let _ = s.read_to_string(&mut answer);
    let id = answer
        .split("\"id\":\"")
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .expect("the post's id")
        .to_string();
    let note = format!("/users/me/statuses/{id}");
    let idle_rss = proc_kb(pid, "VmRSS:");
    let idle_hwm = proc_kb(pid, "VmHWM:");
    let barrier = std::sync::Arc::new(std::sync::Barrier::new(CLIENTS + 1));
    let started = Instant::now();
    let clients: Vec<_> = (0..CLIENTS)
        .map(|_| {
            let barrier = barrier.clone();
            let note = note.clone();
            std::thread::spawn(move || {
                let mut c = TcpStream::connect(("127.0.0.1", port)).expect("connect");
                c.set_read_timeout(Some(Duration::from_secs(30)))
                    .expect("timeout");
                barrier.wait();
                let accept = "application/activity+json";
                (0..ROUNDS).all(|_| get(&mut c, "/users/me", accept) && get(&mut c, &note, accept))
            })
        })
        .collect();
    barrier.wait();
    let mut peak_rss = 0;
    while !clients.iter().all(|c| c.is_finished()) {
        peak_rss = peak_rss.max(proc_kb(pid, "VmRSS:"));
        std::thread::park_timeout(Duration::from_millis(5));
    }
    let ok = clients
        .into_iter()
        .map(|c| c.join().unwrap_or(false))
        .filter(|ok| *ok)
        .count();
    println!(
        "\nviral boost ({CLIENTS} connections x {ROUNDS} rounds of the actor and a note): \
         {ok} of {CLIENTS} answered in full in {:.2} s; VmRSS idle {idle_rss} kB (peak so far {idle_hwm} kB), \
         sampled peak {peak_rss} kB, VmHWM {} kB, after {} kB",
        started.elapsed().as_secs_f64(),
        proc_kb(pid, "VmHWM:"),
        proc_kb(pid, "VmRSS:")
    );
    let _ = Command::new("kill").arg(pid.to_string()).status();
    let _ = child.wait();
}

/// A connection from `from` (a loopback address) with a small receive buffer when
/// `rcvbuf` is given.
fn open_from(port: u16, from: [u8; 4], rcvbuf: Option<usize>) -> TcpStream {
    use socket2::{Domain, Protocol, Socket, Type};
    let socket = Socket::new(Domain::IPV4, Type::STREAM, Some(Protocol::TCP)).expect("socket");
    if let Some(size) = rcvbuf {
        socket.set_recv_buffer_size(size).expect("rcvbuf");
    }
    let bind = std::net::SocketAddr::from((from, 0));
    socket.bind(&bind.into()).expect("bind");
    let to = std::net::SocketAddr::from(([127, 0, 0, 1], port));
    socket.connect(&to.into()).expect("connect");
    let stream: TcpStream = socket.into();
    stream
        .set_write_timeout(Some(Duration::from_secs(10)))
        .expect("timeout");
    stream
}

/// `/health` on fresh connections from 127.0.0.2: median and worst time in ms.
fn probe_from_elsewhere(port: u16) -> (f64, f64) {
    let mut times = Vec::new();
    for _ in 0..PROBES {
        let started = Instant::now();
        let mut s = open_from(port, [127, 0, 0, 2], None);
        s.set_read_timeout(Some(Duration::from_secs(30)))
            .expect("timeout");
        assert!(request(&mut s), "probe request failed");
        times.push(started.elapsed().as_secs_f64() * 1000.0);
    }
    let max = times.iter().cloned().fold(0.0, f64::max);
    (median(times), max)
}

fn attack_scenario() {
    const BODIES: usize = 64;
    const READERS: usize = 64;
    const DRIBBLERS: usize = 200;
    let dir = tempfile::tempdir().expect("tempdir");
    let (mut child, port) = start_kith(
        dir.path(),
        "idle_timeout_secs = 10\nmax_connections = 1000\nmax_connections_per_address = 1000\n\
         trusted_proxies = []",
    );
    let pid = child.id();
    let mut warm = TcpStream::connect(("127.0.0.1", port)).expect("connect");
    assert!(request(&mut warm));
    drop(warm);
    let idle_rss = proc_kb(pid, "VmRSS:");
    println!(
        "\nattack from one address ({BODIES} slow bodies, {READERS} non-reading pipeliners, \
         {DRIBBLERS} head dribblers; idle_timeout_secs = 10)"
    );
    let before_threads = proc_kb(pid, "Threads:");
    println!("before:          VmRSS {idle_rss} kB, threads {before_threads}");
    let started = Instant::now();
    let mut held = Vec::new();
    for _ in 0..BODIES {
        let mut c = open_from(port, [127, 0, 0, 1], None);
        c.write_all(
            b"POST /api/v1/apps HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\n\
              Content-Length: 1000000\r\n\r\n{",
        )
        .expect("slow body");
        held.push(c);
    }
    let mut pipelined = Vec::new();
    for _ in 0..40 {
        pipelined.extend_from_slice(b"GET /static/kith.css HTTP/1.1\r\nHost: localhost\r\n\r\n");
    }
    for _ in 0..READERS {
        let mut c = open_from(port, [127, 0, 0, 1], Some(4096));
        c.write_all(&pipelined).expect("pipelined");
        held.push(c);
    }
    for _ in 0..DRIBBLERS {
        let mut c = open_from(port, [127, 0, 0, 1], None);
        c.write_all(b"G").expect("dribble");
        held.push(c);
    }
    // Every connection has its thread once the server has accepted them all (the
    // connection pool's four idle threads take the first four).
    let all = before_threads + held.len() as u64 - 4;
    while proc_kb(pid, "Threads:") < all && started.elapsed() < Duration::from_secs(5) {
        std::thread::park_timeout(Duration::from_millis(20));
    }
    let open_secs = started.elapsed().as_secs_f64();
    // One more byte from every body and every dribbler, as they would send it.
    for c in held.iter_mut() {
        let _ = c.write_all(b" ");
    }
    let (p50, max) = probe_from_elsewhere(port);
    println!(
        "under attack:    VmRSS {} kB (peak VmHWM {} kB), threads {}, opened in {open_secs:.2} s, \
         /health from 127.0.0.2 p50 {p50:.2} ms, max {max:.2} ms, {:.1} s after the first",
        proc_kb(pid, "VmRSS:"),
        proc_kb(pid, "VmHWM:"),
        proc_kb(pid, "Threads:"),
        started.elapsed().as_secs_f64()
    );
    // The deadlines end every hostile connection: each read returns EOF or an error.
    let waited = Instant::now();
    for c in held.iter_mut() {
        c.set_read_timeout(Some(Duration::from_secs(60)))
            .expect("timeout");
        let mut buf = vec![0u8; 64 * 1024];
        while matches!(c.read(&mut buf), Ok(n) if n > 0) {}
    }
    println!(
        "deadlines:       all {} ended by the server {:.1} s later; peak VmHWM {} kB",
        held.len(),
        waited.elapsed().as_secs_f64(),
        proc_kb(pid, "VmHWM:")
    );
    drop(held);
    let _ = Command::new("kill").arg(pid.to_string()).status();
    let _ = child.wait();
}
