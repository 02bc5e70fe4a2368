//! `cargo bench --bench idle`: the release binary's size and its resident memory when
//! idle. Each round starts kith on a new data directory (the first start, which also
//! generates the account's key and hashes its password), reads VmRSS and RssAnon a
//! settled moment after it answers, stops it, starts it again on the same directory
//! (a later start) and reads them again; then logs in a few times at once through the
//! web form (argon2id, 19 MiB a login) and reads them once more. Prints medians and
//! ranges; asserts nothing.

mod support;
use support::*;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

const ROUNDS: usize = 7;
const LOGINS: usize = 4;
/// How long a started server is left alone before its memory is read.
const SETTLE: Duration = Duration::from_secs(3);

/// VmRSS and RssAnon of a running process, in kB.
fn memory(pid: u32) -> (u64, u64) {
    (proc_kb(pid, "VmRSS:"), proc_kb(pid, "RssAnon:"))
}

/// Starts `kith serve` in `dir`; returns the child and the first-run password if the
/// server printed one, once it listens.
/// Starts kith in `dir`; says whether its log spoke of a password (only a first start
/// does: with no terminal, it names the file the password went to).
fn start(dir: &std::path::Path) -> (Child, bool) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_kith"))
        .args(["serve", "--config", "kith.toml"])
        .current_dir(dir)
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn kith");
    let stderr = child.stderr.take().expect("stderr");
    let mut lines = BufReader::new(stderr).lines();
    let mut password = false;
    for line in lines.by_ref() {
        let line = line.expect("line");
        password |= line.contains("password");
        if line.contains(" listening on ") {
            break;
        }
    }
    std::thread::spawn(move || for _ in lines {});
    (child, password)
}

fn stop(mut child: Child) {
    let _ = Command::new("kill").arg(child.id().to_string()).status();
    let _ = child.wait();
}

/// One HTTP/1.1 request on a new connection; returns the status and the body.
fn http(port: u16, head: &str, body: &str) -> (u16, String) {
    let mut s = TcpStream::connect(("127.0.0.1", port)).expect("connect");
    s.set_read_timeout(Some(Duration::from_secs(30)))
        .expect("timeout");
    let request = format!(
        "{head}\r\nHost: localhost:{port}\r\nConnection: close\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    );
    s.write_all(request.as_bytes()).expect("write");
    let mut answer = String::new();
    let _ = s.read_to_string(&mut answer);
    let status = answer
        .split_whitespace()
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or(0);
    let body = answer
        .split_once("\r\n\r\n")
        .map(|(_, b)| b.to_string())
        .unwrap_or_default();
    (status, body)
}

/// Logs in through the web form: fetches the form's token, posts the password.
fn login(port: u16, password: &str) -> u16 {
    let (_, form) = http(port, "GET /login HTTP/1.1", "");
    let csrf = form
        .split_once("name=\"csrf\" value=\"")
        .and_then(|(_, rest)| rest.split_once('"'))
        .map(|(token, _)| token.to_string())
        .expect("login form token");
    let body = format!("csrf={csrf}&next=%2Fhome&password={password}");
    let head = "POST /login HTTP/1.1\r\nContent-Type: application/x-www-form-urlencoded";
    http(port, head, &body).0
}

fn line(label: &str, samples: Vec<(u64, u64)>) {
    let rss: Vec<u64> = samples.iter().map(|s| s.0).collect();
    let anon: Vec<u64> = samples.iter().map(|s| s.1).collect();
    let (lo, hi) = (rss.iter().min(), rss.iter().max());
    println!(
        "{label:<28} VmRSS median {:>6} kB (range {}–{} kB), anonymous median {:>5} kB",
        median(rss.clone()),
        lo.unwrap_or(&0),
        hi.unwrap_or(&0),
        median(anon)
    );
}

fn main() {
    let binary = std::fs::metadata(env!("CARGO_BIN_EXE_kith"))
        .map(|m| m.len())
        .unwrap_or(0);
    println!("kith idle benchmark ({ROUNDS} rounds; binary {binary} bytes)");
    let (mut first, mut later, mut logged_in) = (Vec::new(), Vec::new(), Vec::new());
    for _ in 0..ROUNDS {
        let dir = tempfile::tempdir().expect("tempdir");
        let port = free_port();
        let config = format!(
            "public_url = \"http://localhost:{port}\"\nlisten = \"127.0.0.1:{port}\"\n\
             data_dir = \"data\"\n[limits]\nlogin_attempts = 1000\n"
        );
        std::fs::write(dir.path().join("kith.toml"), config).expect("config");

        let (child, told) = start(dir.path());
        assert!(told, "the first start names the password's file");
        let password = std::fs::read_to_string(dir.path().join("data/first-run-password"))
            .expect("the first-run password file")
            .trim()
            .to_string();
        std::thread::sleep(SETTLE);
        first.push(memory(child.id()));
        stop(child);

        let (child, again) = start(dir.path());
        assert!(!again, "a later start spoke of a password again");
        std::thread::sleep(SETTLE);
        later.push(memory(child.id()));
        let logins: Vec<_> = (0..LOGINS)
            .map(|_| {
                let password = password.clone();
                std::thread::spawn(move || login(port, &password))
            })
            .collect();
        for l in logins {
            assert_eq!(l.join().expect("login thread"), 303, "login failed");
        }
        std::thread::sleep(SETTLE);
        logged_in.push(memory(child.id()));
        stop(child);
    }
    line("first start:", first);
    line("later start:", later);
    line(&format!("after {LOGINS} logins at once:"), logged_in);
}
