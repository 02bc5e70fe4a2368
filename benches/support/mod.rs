//! What the benchmark programs share: reading a process's memory figures from
//! `/proc`, a free loopback port, and medians. Each benchmark is its own crate and
//! uses what it needs of this.
#![allow(dead_code)]

use std::fmt::Display;

/// A field of `/proc/<pid>/status` in kB (`pid` may be "self"); 0 when absent.
pub fn proc_kb(pid: impl Display, field: &str) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .unwrap_or_default()
        .lines()
        .find(|l| l.starts_with(field))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|v| v.parse().ok())
        .unwrap_or(0)
}

/// A loopback port that was free a moment ago.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .expect("bind")
        .local_addr()
        .expect("addr")
        .port()
}

/// The middle value (the upper one of the two middles for an even count).
pub fn median<T: Copy + PartialOrd>(mut v: Vec<T>) -> T {
    v.sort_by(|a, b| a.partial_cmp(b).unwrap_or(std::cmp::Ordering::Equal));
    v[v.len() / 2]
}
