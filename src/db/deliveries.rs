//! The durable outbound delivery queue and the per-host health that steers it. One
//! row in `deliveries` per target inbox, written before the first attempt; one row in
//! `hosts` per remote `host[:port]` with its failure accounting: the breaker (10
//! consecutive failures pause a host for 60 s, then one probe at a time) and the
//! unavailable mark (failures on 7 distinct days with no success in between). Workers
//! claim jobs with a lease, so a job whose worker died becomes due again when the lease
//! runs out. This module stores and decides nothing about HTTP: `ap::deliver` sends,
//! classifies answers and computes retry times, then records them here.

use crate::error::Result;
use rusqlite::{Connection, OptionalExtension, Row, params};
use std::collections::HashSet;
use url::{Host, Url};

/// Consecutive failures after which a host's breaker opens.
pub const BREAKER_THRESHOLD: i64 = 10;
/// How long an open breaker pauses a host before one probe may go.
pub const BREAKER_PAUSE_MS: i64 = 60_000;
/// Distinct failure days (with no success in between) that make a host unavailable.
pub const UNAVAILABLE_DAYS: i64 = 7;
/// Most jobs of one host in flight at once (one while its breaker is half-open).
pub const MAX_IN_FLIGHT_PER_HOST: i64 = 2;
/// How long a skipped job of an unavailable host is set aside before it is looked at again.
pub const PARK_MS: i64 = 6 * 3600 * 1000;
/// One day, as failure days are counted.
const DAY_MS: i64 = 86_400_000;

/// A job claimed by a worker; `claimed_until` is the lease it holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Job {
    pub id: i64,
    pub inbox: String,
    pub host: String,
    pub body: String,
    pub is_follow: bool,
    /// Failed attempts so far (0 before the first try).
    pub attempts: u32,
    pub claimed_until: i64,
    pub created_at: i64,
}

/// A queued job as the admin command shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pending {
    pub id: i64,
    pub inbox: String,
    pub host: String,
    pub is_follow: bool,
    pub attempts: u32,
    pub next_at: i64,
    pub claimed_until: Option<i64>,
    pub last_status: Option<u16>,
    pub last_error: Option<String>,
    pub created_at: i64,
}

/// The delivery health of one remote host.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HostState {
    pub host: String,
    pub failure_days: i64,
    pub last_failure_day: Option<i64>,
    pub consecutive_fails: i64,
    pub paused_until: Option<i64>,
    pub unavailable: bool,
    pub last_success_at: Option<i64>,
}

/// What went wrong with one attempt: the status the inbox answered, or the error.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Failure<'a> {
    pub status: Option<u16>,
    pub error: Option<&'a str>,
}

/// The normalised `host[:port]` of a URL (lower case, no trailing dot, default port
/// left out), as the `host` columns store it; `None` when it is not a URL with a host.
pub fn host_of(url: &str) -> Option<String> {
    let url = Url::parse(url).ok()?;
    let host = url.host_str()?.trim_end_matches('.').to_ascii_lowercase();
    if host.is_empty() {
        return None;
    }
    Some(match url.port() {
        Some(port) => format!("{host}:{port}"),
        None => host,
    })
}

/// Queues `body` for each distinct inbox, due at once, skipping inboxes that are not
/// URLs or whose host (or a parent domain of it) is blocked; returns how many jobs were
/// queued. Call it inside the caller's transaction, then wake the delivery workers.
pub fn enqueue(
    conn: &Connection,
    inboxes: &[String],
    body: &str,
    is_follow: bool,
    now: i64,
) -> Result<usize> {
    let mut seen = HashSet::new();
    let mut queued = 0;
    for inbox in inboxes {
        if !seen.insert(inbox.as_str()) {
            continue;
        }
        let Some(host) = host_of(inbox) else {
            eprintln!("deliver: not queued, not a URL with a host: {inbox:?}");
            continue;
        };
        if is_blocked(conn, inbox)? {
            continue;
        }
        conn.prepare_cached(
            "INSERT INTO deliveries (inbox, host, body, is_follow, next_at, created_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?5)",
        )?
        .execute(params![inbox, host, body, is_follow, now])?;
        queued += 1;
    }
    Ok(queued)
}

/// Whether the host of `url`, or a domain it lies under, is in `domain_blocks`.
fn is_blocked(conn: &Connection, url: &str) -> Result<bool> {
    let Some(host) = Url::parse(url)
        .ok()
        .and_then(|u| u.host().map(|h| h.to_owned()))
    else {
        return Ok(false);
    };
    let candidates: Vec<String> = match host {
        Host::Domain(d) => {
            let d = d.trim_end_matches('.').to_ascii_lowercase();
            let labels: Vec<&str> = d.split('.').collect();
            (0..labels.len()).map(|i| labels[i..].join(".")).collect()
        }
        Host::Ipv4(ip) => vec![ip.to_string()],
        Host::Ipv6(ip) => vec![ip.to_string(), format!("[{ip}]")],
    };
    let mut stmt =
        conn.prepare_cached("SELECT EXISTS (SELECT 1 FROM domain_blocks WHERE domain = ?1)")?;
    for candidate in &candidates {
        if stmt.query_row([candidate], |r| r.get::<_, bool>(0))? {
            return Ok(true);
        }
    }
    Ok(false)
}

/// Claims up to `limit` due jobs for one worker, leasing each for `lease_ms`: the
/// oldest due job of each host, at most one per host in one claim (a worker sends its
/// batch one after another), and only while fewer than two of that host's jobs are in
/// flight (fewer than one while its breaker is half-open). Paused hosts are skipped;
/// due jobs of unavailable hosts are set aside for [`PARK_MS`], except `Follow`s.
/// Run it inside one write transaction.
pub fn claim(conn: &Connection, now: i64, limit: i64, lease_ms: i64) -> Result<Vec<Job>> {
    park_unavailable(conn, now)?;
    let ids: Vec<i64> = conn
        .prepare_cached(
            "WITH due AS (
                 SELECT d.id, d.host, d.next_at,
                        row_number() OVER (PARTITION BY d.host ORDER BY d.next_at, d.id) AS rank
                 FROM deliveries d LEFT JOIN hosts h ON h.host = d.host
                 WHERE d.next_at <= ?1
                   AND (d.claimed_until IS NULL OR d.claimed_until <= ?1)
                   AND (h.paused_until IS NULL OR h.paused_until <= ?1)
                   AND (ifnull(h.unavailable, 0) = 0 OR d.is_follow = 1)
             )
             SELECT due.id FROM due LEFT JOIN hosts h ON h.host = due.host
             WHERE due.rank = 1
               AND (SELECT count(*) FROM deliveries f
                    WHERE f.host = due.host AND f.claimed_until > ?1)
                   < CASE WHEN ifnull(h.consecutive_fails, 0) >= ?3 THEN 1 ELSE ?4 END
             ORDER BY due.next_at, due.id
             LIMIT ?2",
        )?
        .query_map(
            params![now, limit, BREAKER_THRESHOLD, MAX_IN_FLIGHT_PER_HOST],
            |r| r.get(0),
        )?
        .collect::<rusqlite::Result<_>>()?;
    let mut stmt = conn.prepare_cached(
        "UPDATE deliveries SET claimed_until = ?2 WHERE id = ?1
         RETURNING id, inbox, host, body, is_follow, attempts, claimed_until, created_at",
    )?;
    let mut jobs = Vec::with_capacity(ids.len());
    for id in ids {
        jobs.push(stmt.query_row(params![id, now + lease_ms], job_from_row)?);
    }
    Ok(jobs)
}

fn job_from_row(r: &Row) -> rusqlite::Result<Job> {
    Ok(Job {
        id: r.get(0)?,
        inbox: r.get(1)?,
        host: r.get(2)?,
        body: r.get(3)?,
        is_follow: r.get(4)?,
        attempts: r.get(5)?,
        claimed_until: r.get(6)?,
        created_at: r.get(7)?,
    })
}

/// Sets aside due, unclaimed, non-`Follow` jobs of unavailable hosts for [`PARK_MS`].
fn park_unavailable(conn: &Connection, now: i64) -> Result<usize> {
    Ok(conn
        .prepare_cached(
            "UPDATE deliveries SET next_at = ?2
             WHERE next_at <= ?1 AND is_follow = 0
               AND (claimed_until IS NULL OR claimed_until <= ?1)
               AND host IN (SELECT host FROM hosts WHERE unavailable = 1)",
        )?
        .execute(params![now, now + PARK_MS])?)
}

/// Extends a claim from `held_until` to `until` before a send; false when the job is
/// gone or its lease ran out and another worker took it (then it must not be sent).
pub fn renew(conn: &Connection, id: i64, held_until: i64, until: i64) -> Result<bool> {
    Ok(conn
        .prepare_cached(
            "UPDATE deliveries SET claimed_until = ?3 WHERE id = ?1 AND claimed_until = ?2",
        )?
        .execute(params![id, held_until, until])?
        == 1)
}

/// Records a delivered job: removes it and marks its host healthy.
pub fn record_success(conn: &Connection, job: &Job, now: i64) -> Result<()> {
    delete(conn, job.id)?;
    host_succeeded(conn, &job.host, now)
}

/// Records a failed attempt that will be retried at `next_at`, and counts it against
/// the host.
pub fn record_retry(
    conn: &Connection,
    job: &Job,
    next_at: i64,
    failure: &Failure,
    now: i64,
) -> Result<()> {
    conn.prepare_cached(
        "UPDATE deliveries SET attempts = attempts + 1, next_at = ?2, claimed_until = NULL,
                last_status = ?3, last_error = ?4
         WHERE id = ?1",
    )?
    .execute(params![job.id, next_at, failure.status, failure.error])?;
    host_failed(conn, &job.host, now)
}

/// Records a job that ends unsent: removes it. `unreachable` says whether the host could
/// not be reached (counted as a failure) or answered (a 4xx: the host is alive).
pub fn record_final(conn: &Connection, job: &Job, unreachable: bool, now: i64) -> Result<()> {
    delete(conn, job.id)?;
    if unreachable {
        host_failed(conn, &job.host, now)
    } else {
        host_succeeded(conn, &job.host, now)
    }
}

/// Puts a claimed job back as it was (an attempt interrupted by kith itself, such as a
/// shutdown): no attempt and no host failure is counted.
pub fn release(conn: &Connection, id: i64) -> Result<()> {
    conn.prepare_cached("UPDATE deliveries SET claimed_until = NULL WHERE id = ?1")?
        .execute([id])?;
    Ok(())
}

fn delete(conn: &Connection, id: i64) -> Result<()> {
    conn.prepare_cached("DELETE FROM deliveries WHERE id = ?1")?
        .execute([id])?;
    Ok(())
}

/// Removes due, unclaimed jobs created before `cutoff` (jobs kept back by an unavailable
/// host, or by a long stop of kith) and returns them so the caller can log them.
pub fn drop_expired(conn: &Connection, cutoff: i64, now: i64) -> Result<Vec<Pending>> {
    let expired: Vec<Pending> = conn
        .prepare_cached(&format!(
            "DELETE FROM deliveries
             WHERE created_at < ?1 AND next_at <= ?2
               AND (claimed_until IS NULL OR claimed_until <= ?2)
             RETURNING {PENDING_COLUMNS}"
        ))?
        .query_map(params![cutoff, now], pending_from_row)?
        .collect::<rusqlite::Result<_>>()?;
    Ok(expired)
}

/// Counts a failed attempt against a host: one more consecutive failure (opening the
/// breaker at the threshold) and, on a new day, one more failure day (marking the host
/// unavailable at [`UNAVAILABLE_DAYS`]).
fn host_failed(conn: &Connection, host: &str, now: i64) -> Result<()> {
    let day = now.div_euclid(DAY_MS);
    conn.prepare_cached(
        "INSERT INTO hosts (host, failure_days, last_failure_day, consecutive_fails)
         VALUES (?1, 1, ?2, 1)
         ON CONFLICT (host) DO UPDATE SET
             failure_days = failure_days + (last_failure_day IS NOT ?2),
             last_failure_day = ?2,
             consecutive_fails = consecutive_fails + 1",
    )?
    .execute(params![host, day])?;
    conn.prepare_cached(
        "UPDATE hosts SET
             paused_until = CASE WHEN consecutive_fails >= ?2 THEN ?3 ELSE paused_until END,
             unavailable = (unavailable OR failure_days >= ?4)
         WHERE host = ?1",
    )?
    .execute(params![
        host,
        BREAKER_THRESHOLD,
        now + BREAKER_PAUSE_MS,
        UNAVAILABLE_DAYS
    ])?;
    Ok(())
}

/// Marks a host healthy after it answered: every failure count and mark cleared.
fn host_succeeded(conn: &Connection, host: &str, now: i64) -> Result<()> {
    clear_unavailable(conn, host, now)?;
    conn.prepare_cached(
        "INSERT INTO hosts (host, last_success_at) VALUES (?1, ?2)
         ON CONFLICT (host) DO UPDATE SET
             failure_days = 0, last_failure_day = NULL, consecutive_fails = 0,
             paused_until = NULL, unavailable = 0, last_success_at = ?2",
    )?
    .execute(params![host, now])?;
    Ok(())
}

/// Clears a host's failure days and unavailable mark; when it was unavailable, its
/// set-aside jobs become due at once. Returns whether it was unavailable.
fn clear_unavailable(conn: &Connection, host: &str, now: i64) -> Result<bool> {
    let was_unavailable = conn
        .prepare_cached(
            "UPDATE hosts SET unavailable = 0, failure_days = 0, last_failure_day = NULL
             WHERE host = ?1 AND unavailable = 1",
        )?
        .execute([host])?
        > 0;
    if was_unavailable {
        make_due(conn, host, now)?;
    }
    Ok(was_unavailable)
}

/// Makes every queued job of a host that is not in flight due at `now`; returns how many.
fn make_due(conn: &Connection, host: &str, now: i64) -> Result<usize> {
    Ok(conn
        .prepare_cached(
            "UPDATE deliveries SET next_at = min(next_at, ?2)
             WHERE host = ?1 AND (claimed_until IS NULL OR claimed_until <= ?2)",
        )?
        .execute(params![host, now])?)
}

/// A verified inbound request came from `host` (`host[:port]` as [`host_of`] gives):
/// clears its failure days and unavailable mark (its set-aside jobs become due).
pub fn mark_host_alive(conn: &Connection, host: &str, now: i64) -> Result<()> {
    if !clear_unavailable(conn, host, now)? {
        conn.prepare_cached(
            "UPDATE hosts SET failure_days = 0, last_failure_day = NULL
             WHERE host = ?1 AND failure_days > 0",
        )?
        .execute([host])?;
    }
    Ok(())
}

/// The admin's reset of a host: clears its breaker, failure counts and unavailable
/// mark, and makes all its queued jobs due now; returns how many jobs that is.
pub fn retry_host(conn: &Connection, host: &str, now: i64) -> Result<usize> {
    let host = host.trim().trim_end_matches('.').to_ascii_lowercase();
    conn.prepare_cached(
        "UPDATE hosts SET failure_days = 0, last_failure_day = NULL, consecutive_fails = 0,
                paused_until = NULL, unavailable = 0
         WHERE host = ?1",
    )?
    .execute([&host])?;
    make_due(conn, &host, now)
}

const PENDING_COLUMNS: &str = "id, inbox, host, is_follow, attempts, next_at, claimed_until, \
    last_status, last_error, created_at";

fn pending_from_row(r: &Row) -> rusqlite::Result<Pending> {
    Ok(Pending {
        id: r.get(0)?,
        inbox: r.get(1)?,
        host: r.get(2)?,
        is_follow: r.get(3)?,
        attempts: r.get(4)?,
        next_at: r.get(5)?,
        claimed_until: r.get(6)?,
        last_status: r.get(7)?,
        last_error: r.get(8)?,
        created_at: r.get(9)?,
    })
}

/// Every queued job, the next due first.
pub fn list_pending(conn: &Connection) -> Result<Vec<Pending>> {
    Ok(conn
        .prepare_cached(&format!(
            "SELECT {PENDING_COLUMNS} FROM deliveries ORDER BY next_at, id"
        ))?
        .query_map([], pending_from_row)?
        .collect::<rusqlite::Result<_>>()?)
}

const HOST_COLUMNS: &str = "host, failure_days, last_failure_day, consecutive_fails, \
    paused_until, unavailable, last_success_at";

fn host_from_row(r: &Row) -> rusqlite::Result<HostState> {
    Ok(HostState {
        host: r.get(0)?,
        failure_days: r.get(1)?,
        last_failure_day: r.get(2)?,
        consecutive_fails: r.get(3)?,
        paused_until: r.get(4)?,
        unavailable: r.get(5)?,
        last_success_at: r.get(6)?,
    })
}

/// Hosts that are marked unavailable or whose breaker pauses them at `now`.
pub fn list_unavailable_hosts(conn: &Connection, now: i64) -> Result<Vec<HostState>> {
    Ok(conn
        .prepare_cached(&format!(
            "SELECT {HOST_COLUMNS} FROM hosts
             WHERE unavailable = 1 OR paused_until > ?1 ORDER BY host"
        ))?
        .query_map([now], host_from_row)?
        .collect::<rusqlite::Result<_>>()?)
}

/// The delivery health of a host, if kith ever recorded an attempt to it.
pub fn find_host(conn: &Connection, host: &str) -> Result<Option<HostState>> {
    Ok(conn
        .prepare_cached(&format!("SELECT {HOST_COLUMNS} FROM hosts WHERE host = ?1"))?
        .query_row([host], host_from_row)
        .optional()?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::db::Db;
    use crate::db::queue::pending_work;

    const LEASE: i64 = 60_000;
    const T0: i64 = 1_700_000_000_000;
    const FAILED: Failure = Failure {
        status: Some(500),
        error: None,
    };

    fn inboxes(list: &[&str]) -> Vec<String> {
        list.iter().map(|s| s.to_string()).collect()
    }

    fn claim_all(conn: &Connection, now: i64) -> Vec<Job> {
        claim(conn, now, 100, LEASE).unwrap()
    }

    fn host(conn: &Connection, name: &str) -> HostState {
        find_host(conn, name).unwrap().expect("host row")
    }

    /// Queues one job for `inbox` and returns its id.
    fn one(conn: &Connection, inbox: &str, is_follow: bool, now: i64) -> i64 {
        assert_eq!(
            enqueue(conn, &inboxes(&[inbox]), "{}", is_follow, now).unwrap(),
            1
        );
        conn.last_insert_rowid()
    }

    /// Claims the job of `host` and records a failure with a retry due at `now`.
    fn fail_once(conn: &Connection, host_name: &str, now: i64) {
        let job = claim_all(conn, now)
            .into_iter()
            .find(|j| j.host == host_name)
            .expect("a job of the host is claimable");
        record_retry(conn, &job, now, &FAILED, now).unwrap();
    }

    #[test]
    fn host_of_normalises() {
        assert_eq!(
            host_of("https://Example.ORG/inbox").as_deref(),
            Some("example.org")
        );
        assert_eq!(
            host_of("https://example.org.:443/x").as_deref(),
            Some("example.org")
        );
        assert_eq!(
            host_of("http://127.0.0.1:8080/i").as_deref(),
            Some("127.0.0.1:8080")
        );
        assert_eq!(
            host_of("https://[::1]:8443/i").as_deref(),
            Some("[::1]:8443")
        );
        assert_eq!(host_of("not a url"), None);
        assert_eq!(host_of("mailto:a@b.example"), None);
    }

    #[test]
    fn enqueue_dedupes_and_skips_blocked_domains() {
        let conn = Db::open_in_memory().unwrap();
        conn.execute(
            "INSERT INTO domain_blocks (domain, created_at) VALUES ('blocked.org', 0), ('10.1.2.3', 0)",
            [],
        )
        .unwrap();
        let list = inboxes(&[
            "https://a.example/inbox",
            "https://a.example/inbox",
            "https://B.Example:8443/users/x/inbox",
            "https://blocked.org/inbox",
            "https://Sub.Blocked.org/inbox",
            "https://blocked.org:8443/inbox",
            "https://notblocked.org/inbox",
            "http://10.1.2.3:80/inbox",
            "http://10.1.2.4/inbox",
            "not a url",
        ]);
        assert_eq!(enqueue(&conn, &list, "{\"a\":1}", false, T0).unwrap(), 4);
        let pending = list_pending(&conn).unwrap();
        let got: Vec<(&str, &str)> = pending
            .iter()
            .map(|p| (p.inbox.as_str(), p.host.as_str()))
            .collect();
        assert_eq!(
            got,
            [
                ("https://a.example/inbox", "a.example"),
                ("https://B.Example:8443/users/x/inbox", "b.example:8443"),
                ("https://notblocked.org/inbox", "notblocked.org"),
                ("http://10.1.2.4/inbox", "10.1.2.4"),
            ]
        );
        for p in &pending {
            assert_eq!((p.attempts, p.next_at, p.created_at), (0, T0, T0));
            assert_eq!((p.claimed_until, p.last_status), (None, None));
            assert!(!p.is_follow);
        }
        assert!(pending_work(&conn, T0).unwrap());
        assert!(!pending_work(&conn, T0 - 1).unwrap());
    }

    #[test]
    fn claim_takes_one_per_host_and_at_most_two_in_flight() {
        let conn = Db::open_in_memory().unwrap();
        for n in 1..=5 {
            one(
                &conn,
                &format!("https://a.example/u{n}/inbox"),
                false,
                T0 + n,
            );
        }
        one(&conn, "https://b.example/inbox", false, T0);
        // One per host in one claim, oldest first.
        let first = claim_all(&conn, T0 + 10);
        let got: Vec<&str> = first.iter().map(|j| j.inbox.as_str()).collect();
        assert_eq!(
            got,
            ["https://b.example/inbox", "https://a.example/u1/inbox"]
        );
        assert_eq!(first[0].claimed_until, T0 + 10 + LEASE);
        let second = claim_all(&conn, T0 + 11);
        assert_eq!(second.len(), 1);
        assert_eq!(second[0].inbox, "https://a.example/u2/inbox");
        // Two of a.example are in flight: nothing more for it.
        assert!(claim_all(&conn, T0 + 12).is_empty());
        // A finished job frees a slot.
        record_success(&conn, &first[1], T0 + 13).unwrap();
        let third = claim_all(&conn, T0 + 14);
        assert_eq!(third.len(), 1);
        assert_eq!(third[0].inbox, "https://a.example/u3/inbox");
        // `limit` caps the batch.
        one(&conn, "https://c.example/inbox", false, T0);
        one(&conn, "https://d.example/inbox", false, T0);
        assert_eq!(claim(&conn, T0 + 15, 1, LEASE).unwrap().len(), 1);
        // Jobs not yet due are not claimed.
        one(&conn, "https://e.example/inbox", false, T0 + 100);
        assert!(
            claim_all(&conn, T0 + 16)
                .iter()
                .all(|j| j.host != "e.example")
        );
    }

    #[test]
    fn an_expired_lease_makes_the_job_claimable_again() {
        let conn = Db::open_in_memory().unwrap();
        let id = one(&conn, "https://a.example/inbox", false, T0);
        let job = claim(&conn, T0, 4, 1000).unwrap().remove(0);
        assert_eq!((job.id, job.claimed_until), (id, T0 + 1000));
        // In flight counts as pending work for settle().
        assert!(pending_work(&conn, T0 + 500).unwrap());
        assert!(claim(&conn, T0 + 999, 4, 1000).unwrap().is_empty());
        // The worker died: after the lease the job is due again, attempts unchanged.
        let again = claim(&conn, T0 + 1000, 4, 1000).unwrap().remove(0);
        assert_eq!(
            (again.id, again.attempts, again.claimed_until),
            (id, 0, T0 + 2000)
        );
        // The first holder lost its lease and may not renew (and so not send).
        assert!(!renew(&conn, id, job.claimed_until, T0 + 5000).unwrap());
        assert!(renew(&conn, id, again.claimed_until, T0 + 5000).unwrap());
        assert!(claim(&conn, T0 + 4999, 4, 1000).unwrap().is_empty());
    }

    #[test]
    fn release_puts_a_job_back_without_counting() {
        let conn = Db::open_in_memory().unwrap();
        one(&conn, "https://a.example/inbox", false, T0);
        let job = claim_all(&conn, T0).remove(0);
        release(&conn, job.id).unwrap();
        let p = &list_pending(&conn).unwrap()[0];
        assert_eq!((p.attempts, p.claimed_until, p.next_at), (0, None, T0));
        assert_eq!(find_host(&conn, "a.example").unwrap(), None);
        assert_eq!(claim_all(&conn, T0 + 1)[0].id, job.id);
    }

    #[test]
    fn retry_and_final_outcomes_are_recorded() {
        let conn = Db::open_in_memory().unwrap();
        one(&conn, "https://a.example/inbox", false, T0);
        let job = claim_all(&conn, T0).remove(0);
        let failure = Failure {
            status: None,
            error: Some("network: timed out"),
        };
        record_retry(&conn, &job, T0 + 15_000, &failure, T0).unwrap();
        let p = &list_pending(&conn).unwrap()[0];
        assert_eq!(
            (p.attempts, p.next_at, p.claimed_until),
            (1, T0 + 15_000, None)
        );
        assert_eq!(p.last_error.as_deref(), Some("network: timed out"));
        assert!(!pending_work(&conn, T0 + 14_999).unwrap());
        let h = host(&conn, "a.example");
        assert_eq!((h.consecutive_fails, h.failure_days), (1, 1));
        // A final 4xx ends the job and shows the host is alive.
        let job = claim_all(&conn, T0 + 15_000).remove(0);
        assert_eq!(job.attempts, 1);
        record_final(&conn, &job, false, T0 + 16_000).unwrap();
        assert!(list_pending(&conn).unwrap().is_empty());
        let h = host(&conn, "a.example");
        assert_eq!((h.consecutive_fails, h.failure_days), (0, 0));
        assert_eq!(h.last_success_at, Some(T0 + 16_000));
        // An unreachable final counts against the host.
        one(&conn, "https://a.example/inbox", false, T0);
        let job = claim_all(&conn, T0 + 17_000).remove(0);
        record_final(&conn, &job, true, T0 + 17_000).unwrap();
        assert!(list_pending(&conn).unwrap().is_empty());
        assert_eq!(host(&conn, "a.example").consecutive_fails, 1);
    }

    #[test]
    fn breaker_opens_after_ten_failures_then_lets_one_probe_through() {
        let conn = Db::open_in_memory().unwrap();
        one(&conn, "https://a.example/1", false, T0);
        one(&conn, "https://a.example/2", false, T0);
        for n in 0..9 {
            fail_once(&conn, "a.example", T0 + n);
        }
        assert_eq!(host(&conn, "a.example").paused_until, None);
        fail_once(&conn, "a.example", T0 + 9);
        let h = host(&conn, "a.example");
        assert_eq!(h.consecutive_fails, 10);
        assert_eq!(h.paused_until, Some(T0 + 9 + BREAKER_PAUSE_MS));
        assert!(
            !h.unavailable,
            "ten failures on one day do not make a host unavailable"
        );
        assert_eq!(
            list_unavailable_hosts(&conn, T0 + 10).unwrap(),
            vec![h.clone()]
        );
        assert!(claim_all(&conn, T0 + 10).is_empty());
        assert!(claim_all(&conn, T0 + 8 + BREAKER_PAUSE_MS).is_empty());
        // After the pause: one probe at a time, though two jobs are due.
        let after = T0 + 9 + BREAKER_PAUSE_MS;
        assert!(list_unavailable_hosts(&conn, after).unwrap().is_empty());
        let probe = claim_all(&conn, after);
        assert_eq!(probe.len(), 1);
        assert!(claim_all(&conn, after + 1).is_empty());
        // The probe fails: paused again.
        record_retry(&conn, &probe[0], after, &FAILED, after + 2).unwrap();
        assert_eq!(
            host(&conn, "a.example").paused_until,
            Some(after + 2 + BREAKER_PAUSE_MS)
        );
        assert!(claim_all(&conn, after + 3).is_empty());
        // The next probe succeeds: the breaker closes, two may go at once again.
        let later = after + 2 + BREAKER_PAUSE_MS;
        let probe = claim_all(&conn, later).remove(0);
        record_success(&conn, &probe, later).unwrap();
        let h = host(&conn, "a.example");
        assert_eq!((h.consecutive_fails, h.paused_until), (0, None));
        one(&conn, "https://a.example/3", false, later);
        assert_eq!(claim_all(&conn, later + 1).len(), 1);
        assert_eq!(claim_all(&conn, later + 2).len(), 1);
    }

    /// Records failures of `a.example` on each of `days` (day numbers from T0's day).
    fn fail_on_days(conn: &Connection, days: impl IntoIterator<Item = i64>) {
        for day in days {
            let now = T0 + day * DAY_MS;
            fail_once(conn, "a.example", now);
            // Twice a day (while the host may still be tried): the same day counts once.
            if !host(conn, "a.example").unavailable {
                fail_once(conn, "a.example", now + 1);
            }
            close_breaker(conn);
        }
    }

    /// Closes the breaker without touching the day count (keeps these tests about days).
    fn close_breaker(conn: &Connection) {
        conn.execute(
            "UPDATE hosts SET consecutive_fails = 0, paused_until = NULL WHERE host = 'a.example'",
            [],
        )
        .unwrap();
    }

    #[test]
    fn failures_on_seven_distinct_days_make_a_host_unavailable() {
        let conn = Db::open_in_memory().unwrap();
        one(&conn, "https://a.example/inbox", false, T0);
        fail_on_days(&conn, 0..6);
        let h = host(&conn, "a.example");
        assert_eq!((h.failure_days, h.unavailable), (6, false));
        fail_on_days(&conn, [6]);
        let h = host(&conn, "a.example");
        assert_eq!((h.failure_days, h.unavailable), (7, true));
        let day7 = T0 + 7 * DAY_MS;
        assert_eq!(list_unavailable_hosts(&conn, day7).unwrap(), [h]);
        // Its due job is skipped and set aside, so it is no pending work either.
        assert!(claim_all(&conn, day7).is_empty());
        let p = list_pending(&conn).unwrap().remove(0);
        assert_eq!(p.next_at, day7 + PARK_MS);
        assert!(!pending_work(&conn, day7).unwrap());
        // A Follow still goes; its success clears the mark and the set-aside job is due.
        one(&conn, "https://a.example/inbox", true, day7);
        let follow = claim_all(&conn, day7 + 1);
        assert_eq!(follow.len(), 1);
        assert!(follow[0].is_follow);
        record_success(&conn, &follow[0], day7 + 2).unwrap();
        let h = host(&conn, "a.example");
        assert_eq!(
            (h.failure_days, h.unavailable, h.last_failure_day),
            (0, false, None)
        );
        assert_eq!(list_pending(&conn).unwrap()[0].next_at, day7 + 2);
        assert_eq!(claim_all(&conn, day7 + 3).len(), 1);
    }

    #[test]
    fn a_success_between_failure_days_starts_the_count_again() {
        let conn = Db::open_in_memory().unwrap();
        one(&conn, "https://a.example/inbox", false, T0);
        fail_on_days(&conn, 0..4);
        let job = claim_all(&conn, T0 + 4 * DAY_MS).remove(0);
        record_success(&conn, &job, T0 + 4 * DAY_MS).unwrap();
        one(&conn, "https://a.example/inbox", false, T0);
        // A failure later on the day of the success counts that day again.
        fail_on_days(&conn, 4..10);
        assert_eq!(host(&conn, "a.example").failure_days, 6);
        assert!(!host(&conn, "a.example").unavailable);
        fail_on_days(&conn, [10]);
        assert!(host(&conn, "a.example").unavailable);
    }

    #[test]
    fn retry_host_and_inbound_traffic_clear_the_unavailable_mark() {
        for clear_by_retry in [true, false] {
            let conn = Db::open_in_memory().unwrap();
            one(&conn, "https://a.example/inbox", false, T0);
            fail_on_days(&conn, 0..7);
            let day7 = T0 + 7 * DAY_MS;
            one(&conn, "https://a.example/two", false, day7);
            one(&conn, "https://other.example/inbox", false, day7 + 50);
            assert!(claim_all(&conn, day7).is_empty());
            assert!(
                list_pending(&conn)
                    .unwrap()
                    .iter()
                    .all(|p| p.next_at > day7)
            );
            if clear_by_retry {
                assert_eq!(retry_host(&conn, " A.Example ", day7 + 1).unwrap(), 2);
            } else {
                mark_host_alive(&conn, "a.example", day7 + 1).unwrap();
            }
            let h = host(&conn, "a.example");
            assert_eq!((h.unavailable, h.failure_days), (false, 0));
            let due: Vec<String> = list_pending(&conn)
                .unwrap()
                .into_iter()
                .filter(|p| p.next_at <= day7 + 1)
                .map(|p| p.inbox)
                .collect();
            assert_eq!(due, ["https://a.example/inbox", "https://a.example/two"]);
            assert_eq!(claim_all(&conn, day7 + 2).len(), 1);
            assert_eq!(claim_all(&conn, day7 + 3).len(), 1);
        }
    }

    #[test]
    fn retry_host_resets_the_breaker_and_makes_jobs_due_now() {
        let conn = Db::open_in_memory().unwrap();
        one(&conn, "http://127.0.0.1:8080/inbox", false, T0);
        for n in 0..10 {
            fail_once(&conn, "127.0.0.1:8080", T0 + n);
        }
        let job = &list_pending(&conn).unwrap()[0];
        assert_eq!(job.attempts, 10);
        conn.execute("UPDATE deliveries SET next_at = ?1", [T0 + 3_600_000])
            .unwrap();
        assert!(claim_all(&conn, T0 + 20).is_empty());
        assert_eq!(retry_host(&conn, "127.0.0.1:8080", T0 + 20).unwrap(), 1);
        let h = host(&conn, "127.0.0.1:8080");
        assert_eq!((h.consecutive_fails, h.paused_until), (0, None));
        let p = &list_pending(&conn).unwrap()[0];
        assert_eq!((p.next_at, p.attempts), (T0 + 20, 10));
        assert_eq!(claim_all(&conn, T0 + 20).len(), 1);
        // A job in flight is left alone; an unknown host has nothing to retry.
        assert_eq!(retry_host(&conn, "127.0.0.1:8080", T0 + 21).unwrap(), 0);
        assert_eq!(retry_host(&conn, "nowhere.example", T0 + 21).unwrap(), 0);
    }

    #[test]
    fn mark_host_alive_forgets_failure_days_of_an_available_host() {
        let conn = Db::open_in_memory().unwrap();
        one(&conn, "https://a.example/inbox", false, T0);
        fail_on_days(&conn, 0..3);
        mark_host_alive(&conn, "a.example", T0 + 3 * DAY_MS).unwrap();
        assert_eq!(host(&conn, "a.example").failure_days, 0);
        mark_host_alive(&conn, "unknown.example", T0).unwrap();
        assert_eq!(find_host(&conn, "unknown.example").unwrap(), None);
    }

    #[test]
    fn old_due_jobs_expire() {
        let conn = Db::open_in_memory().unwrap();
        one(&conn, "https://a.example/old", false, T0);
        one(&conn, "https://a.example/new", false, T0 + 10);
        one(&conn, "https://b.example/old-not-due", false, T0);
        conn.execute(
            "UPDATE deliveries SET next_at = ?1 WHERE inbox LIKE '%not-due'",
            [T0 + 1000],
        )
        .unwrap();
        let gone = drop_expired(&conn, T0 + 1, T0 + 500).unwrap();
        assert_eq!(gone.len(), 1);
        assert_eq!(gone[0].inbox, "https://a.example/old");
        assert_eq!(list_pending(&conn).unwrap().len(), 2);
    }
}
