//! The `kith queue` admin command: shows the outbound delivery queue (each job's inbox,
//! attempts, next attempt and last answer), the hosts that are unavailable or paused
//! by the breaker and, when there are any, the queued Web Push messages, and `kith queue retry HOST` resets a host and makes its jobs due now.
//! It opens the database beside a running server (SQLite WAL allows it) and works
//! whether or not the server runs; a running server's workers poll every few seconds,
//! so jobs made due here go out soon. It renders text only; the rules live in
//! `db::deliveries` and `ap::deliver`.

use crate::config::Config;
use crate::db::deliveries::{self, HostState, Pending};
use crate::db::now_ms;
use crate::db::push::Pending as PushPending;
use crate::error::{Error, Result};
use crate::{dates, open_storage};
use std::fmt::Write;

/// The longest error text shown for a job.
const ERROR_SHOWN_CHARS: usize = 160;

/// The report `kith queue` prints.
pub fn show(config: &Config) -> Result<String> {
    let db = open_storage(config)?;
    let now = now_ms();
    let (pending, hosts, pushes) = db.read(|conn| {
        Ok((
            deliveries::list_pending(conn)?,
            deliveries::list_unavailable_hosts(conn, now)?,
            crate::db::push::list_pending(conn)?,
        ))
    })?;
    Ok(render(&pending, &hosts, now) + &render_push(&pushes, now))
}

/// Resets `host` (a `host[:port]` or any URL on it) and makes its jobs due now;
/// returns the message `kith queue retry` prints.
pub fn retry(config: &Config, host: &str) -> Result<String> {
    let host = normalise_host_arg(host)?;
    let db = open_storage(config)?;
    let now = now_ms();
    let due = db.write(|tx| deliveries::retry_host(tx, &host, now))?;
    let noun = if due == 1 { "delivery" } else { "deliveries" };
    Ok(format!(
        "{host}: marks cleared; {due} queued {noun} due now \
         (a running kith sends them within a few seconds)"
    ))
}

/// `kith queue [retry HOST]`: prints the report, or resets HOST and says what it did.
pub fn run(config: &Config, retry_host: Option<&str>) -> Result<()> {
    match retry_host {
        None => print!("{}", show(config)?),
        Some(host) => println!("{}", retry(config, host)?),
    }
    Ok(())
}

/// `host[:port]` from what the admin typed: a bare `host[:port]` or a URL on it.
fn normalise_host_arg(arg: &str) -> Result<String> {
    let arg = arg.trim();
    let host = if arg.contains("://") {
        deliveries::host_of(arg)
    } else {
        let plain = !arg.is_empty()
            && !arg.contains(|c: char| c.is_whitespace() || "/\\@?#".contains(c))
            && deliveries::host_of(&format!("http://{arg}/")).is_some();
        plain.then(|| arg.trim_end_matches('.').to_ascii_lowercase())
    };
    host.ok_or_else(|| {
        Error::BadRequest(format!(
            "{arg:?} is not a host such as example.org or 127.0.0.1:8080"
        ))
    })
}

/// The report: queued jobs first (next due first), then troubled hosts.
pub fn render(pending: &[Pending], hosts: &[HostState], now: i64) -> String {
    let mut out = String::new();
    match pending.len() {
        0 => out.push_str("Queued deliveries: none\n"),
        n => {
            let _ = writeln!(out, "Queued deliveries: {n}");
            for job in pending {
                let _ = writeln!(out, "  {}", job_line(job, now));
            }
        }
    }
    match hosts.len() {
        0 => out.push_str("Unavailable or paused hosts: none\n"),
        n => {
            let _ = writeln!(out, "Unavailable or paused hosts: {n}");
            for host in hosts {
                let _ = writeln!(out, "  {}", host_line(host, now));
            }
        }
    }
    out
}

/// The queued push messages (nothing when there are none): the push service's host
/// (an endpoint's path is the app's secret), the notification, attempts and answers.
pub fn render_push(pending: &[PushPending], now: i64) -> String {
    let mut out = String::new();
    if pending.is_empty() {
        return out;
    }
    let _ = writeln!(out, "Queued push messages: {}", pending.len());
    for job in pending {
        let host = deliveries::host_of(&job.endpoint).unwrap_or_else(|| "?".into());
        let _ = writeln!(
            out,
            "  push to {host}  notification {}  attempts: {}  {}  {}",
            job.notification_id,
            job.attempts,
            next_text(job.claimed_until, job.next_at, now),
            last_text(job.last_status, job.last_error.as_deref())
        );
    }
    out
}

fn next_text(claimed_until: Option<i64>, next_at: i64, now: i64) -> String {
    match claimed_until {
        Some(until) if until > now => "sending now".to_string(),
        _ if next_at <= now => "next attempt: due now".to_string(),
        _ => format!(
            "next attempt: {} (in {})",
            dates::iso8601(next_at),
            span(next_at - now)
        ),
    }
}

fn last_text(status: Option<u16>, error: Option<&str>) -> String {
    match (status, error) {
        (Some(status), _) => format!("last answer: {status}"),
        (None, Some(error)) => format!("last error: {}", shorten(error)),
        (None, None) => "not tried yet".to_string(),
    }
}

fn job_line(job: &Pending, now: i64) -> String {
    let kind = if job.is_follow { "  (Follow)" } else { "" };
    let next = next_text(job.claimed_until, job.next_at, now);
    let last = last_text(job.last_status, job.last_error.as_deref());
    format!(
        "{}{kind}  attempts: {}  {next}  {last}",
        job.inbox, job.attempts
    )
}

fn host_line(host: &HostState, now: i64) -> String {
    let mut marks = Vec::new();
    if host.unavailable {
        marks.push(format!(
            "unavailable (failures on {} days)",
            host.failure_days
        ));
    }
    if let Some(until) = host.paused_until.filter(|u| *u > now) {
        marks.push(format!(
            "paused until {} after {} consecutive failures",
            dates::iso8601(until),
            host.consecutive_fails
        ));
    }
    let success = match host.last_success_at {
        Some(at) => format!("last success {}", dates::iso8601(at)),
        None => "never delivered to".to_string(),
    };
    format!(
        "{}  {}; {success}; reset with: kith queue retry {}",
        host.host,
        marks.join(", "),
        host.host
    )
}

/// A rough duration: `15 s`, `4 min`, `2 h`, `3 d`.
fn span(ms: i64) -> String {
    let secs = ms.max(0).div_euclid(1000);
    match secs {
        0..=119 => format!("{secs} s"),
        120..=7199 => format!("{} min", secs / 60),
        7200..=172_799 => format!("{} h", secs / 3600),
        _ => format!("{} d", secs / 86_400),
    }
}

fn shorten(text: &str) -> String {
    let one_line = text.replace(['\n', '\r'], " ");
    match one_line.char_indices().nth(ERROR_SHOWN_CHARS) {
        Some((cut, _)) => format!("{}…", &one_line[..cut]),
        None => one_line,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: i64 = 1_764_151_200_000; // 2025-11-26T10:00:00Z

    fn pending(inbox: &str) -> Pending {
        Pending {
            id: 1,
            inbox: inbox.into(),
            host: deliveries::host_of(inbox).unwrap(),
            is_follow: false,
            attempts: 0,
            next_at: NOW,
            claimed_until: None,
            last_status: None,
            last_error: None,
            created_at: NOW,
        }
    }

    #[test]
    fn an_empty_queue() {
        assert_eq!(
            render(&[], &[], NOW),
            "Queued deliveries: none\nUnavailable or paused hosts: none\n"
        );
    }

    #[test]
    fn jobs_and_hosts_are_listed() {
        let fresh = pending("https://a.example/inbox");
        let retried = Pending {
            attempts: 2,
            next_at: NOW + 31_000,
            last_status: Some(503),
            ..pending("https://b.example/inbox")
        };
        let sending = Pending {
            is_follow: true,
            claimed_until: Some(NOW + 60_000),
            last_error: Some("network: http://c.example/inbox: timed out\nagain".into()),
            attempts: 1,
            ..pending("https://c.example/inbox")
        };
        let dead = HostState {
            host: "d.example".into(),
            failure_days: 7,
            last_failure_day: Some(20_000),
            consecutive_fails: 3,
            paused_until: None,
            unavailable: true,
            last_success_at: None,
        };
        let paused = HostState {
            host: "e.example:8443".into(),
            failure_days: 1,
            consecutive_fails: 10,
            paused_until: Some(NOW + 60_000),
            unavailable: false,
            last_success_at: Some(NOW - 3_600_000),
            ..dead.clone()
        };
        let text = render(&[fresh, retried, sending], &[dead, paused], NOW);
        let expected = "\
Queued deliveries: 3
  https://a.example/inbox  attempts: 0  next attempt: due now  not tried yet
  https://b.example/inbox  attempts: 2  next attempt: 2025-11-26T10:00:31Z (in 31 s)  last answer: 503
  https://c.example/inbox  (Follow)  attempts: 1  sending now  last error: network: http://c.example/inbox: timed out again
Unavailable or paused hosts: 2
  d.example  unavailable (failures on 7 days); never delivered to; reset with: kith queue retry d.example
  e.example:8443  paused until 2025-11-26T10:01:00Z after 10 consecutive failures; last success 2025-11-26T09:00:00Z; reset with: kith queue retry e.example:8443
";
        assert_eq!(text, expected);
    }

    #[test]
    fn push_messages_are_listed_by_service_host() {
        assert_eq!(render_push(&[], NOW), "");
        let job = PushPending {
            id: 3,
            endpoint: "https://push.example/wpush/v2/secret-part".into(),
            notification_id: 42,
            attempts: 1,
            next_at: NOW + 600_000,
            claimed_until: None,
            last_status: Some(429),
            last_error: None,
            created_at: NOW,
        };
        assert_eq!(
            render_push(&[job], NOW),
            "Queued push messages: 1\n  push to push.example  notification 42  attempts: 1  \
             next attempt: 2025-11-26T10:10:00Z (in 10 min)  last answer: 429\n"
        );
    }

    #[test]
    fn spans_and_long_errors() {
        assert_eq!(span(15_000), "15 s");
        assert_eq!(span(271_000), "4 min");
        assert_eq!(span(50_640_000), "14 h");
        assert_eq!(span(3 * 86_400_000), "3 d");
        assert_eq!(span(-5), "0 s");
        let long = "é".repeat(500);
        let short = shorten(&long);
        assert_eq!(short.chars().count(), ERROR_SHOWN_CHARS + 1);
        assert!(short.ends_with('…'));
    }

    #[test]
    fn host_arguments() {
        let ok = |arg: &str| normalise_host_arg(arg).unwrap();
        assert_eq!(ok("Example.ORG"), "example.org");
        assert_eq!(ok(" example.org. "), "example.org");
        assert_eq!(ok("127.0.0.1:8080"), "127.0.0.1:8080");
        assert_eq!(ok("https://Example.org/users/a/inbox"), "example.org");
        assert_eq!(ok("http://127.0.0.1:8080/inbox"), "127.0.0.1:8080");
        for bad in [
            "",
            "a b",
            "example.org/inbox",
            "me@example.org",
            "http://",
            "a:b:c",
        ] {
            assert!(normalise_host_arg(bad).is_err(), "{bad:?}");
        }
    }
}
