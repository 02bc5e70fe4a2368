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
    let ids = pick(conn, now, limit)?;
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

/// Due jobs looked at per query while picking; more rounds skip saturated hosts.
const PICK_WINDOW: i64 = 64;

/// Chooses up to `limit` due jobs: the oldest first, one per host, only while the host
/// has room in flight (two, or one while its breaker is half-open) and is neither
/// paused nor (for other than `Follow`) unavailable. Reads an index window of due jobs
/// at a time instead of ranking the whole queue, so a claim stays cheap with 10,000
/// jobs queued; hosts found full are excluded from the next window.
fn pick(conn: &Connection, now: i64, limit: i64) -> Result<Vec<i64>> {
    let mut in_flight: std::collections::HashMap<String, i64> = std::collections::HashMap::new();
    let mut stmt = conn.prepare_cached(
        "SELECT host, count(*) FROM deliveries WHERE claimed_until > ?1 GROUP BY host",
    )?;
    for row in stmt.query_map([now], |r| Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)?)))? {
        let (host, n) = row?;
        in_flight.insert(host, n);
    }
    let mut picked: Vec<i64> = Vec::new();
    let mut taken_hosts: HashSet<String> = HashSet::new();
    let mut closed_hosts: Vec<String> = Vec::new();
    for _round in 0..3 {
        let excluded = serde_json::to_string(&closed_hosts).unwrap_or_else(|_| "[]".into());
        let candidates: Vec<(i64, String, bool)> = conn
            .prepare_cached(
                "SELECT id, host, is_follow FROM deliveries
                 WHERE next_at <= ?1 AND (claimed_until IS NULL OR claimed_until <= ?1)
                   AND host NOT IN (SELECT value FROM json_each(?2))
                 ORDER BY next_at, id LIMIT ?3",
            )?
            .query_map(params![now, excluded, PICK_WINDOW], |r| {
                Ok((r.get(0)?, r.get(1)?, r.get(2)?))
            })?
            .collect::<rusqlite::Result<_>>()?;
        let window_full = candidates.len() as i64 == PICK_WINDOW;
        for (id, host, is_follow) in candidates {
            if picked.len() as i64 >= limit {
                return Ok(picked);
            }
            if taken_hosts.contains(&host) || closed_hosts.contains(&host) {
                continue;
            }
            let cap = host_cap(conn, &host, now, is_follow)?;
            if in_flight.get(&host).copied().unwrap_or(0) >= cap {
                closed_hosts.push(host);
                continue;
            }
            taken_hosts.insert(host);
            picked.push(id);
        }
        if !window_full || picked.len() as i64 >= limit {
            break;
        }
        closed_hosts.extend(taken_hosts.iter().cloned());
    }
    Ok(picked)
}

/// How many jobs of `host` may be in flight now: 0 when paused (or unavailable, for
/// other than `Follow`), 1 while the breaker is half-open, else the usual limit.
fn host_cap(conn: &Connection, host: &str, now: i64, is_follow: bool) -> Result<i64> {
    let state: Option<(Option<i64>, bool, i64)> = conn
        .prepare_cached(
            "SELECT paused_until, unavailable, consecutive_fails FROM hosts WHERE host = ?1",
        )?
        .query_row([host], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
        .optional()?;
    Ok(match state {
        None => MAX_IN_FLIGHT_PER_HOST,
        Some((paused, unavailable, fails)) => {
            if paused.is_some_and(|p| p > now) || (unavailable && !is_follow) {
                0
            } else if fails >= BREAKER_THRESHOLD {
                1
            } else {
                MAX_IN_FLIGHT_PER_HOST
            }
        }
    })
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
    let any: bool = conn
        .prepare_cached("SELECT EXISTS (SELECT 1 FROM hosts WHERE unavailable = 1)")?
        .query_row([], |r| r.get(0))?;
    if !any {
        return Ok(0);
    }
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

/// Whether [`mark_host_alive`] would change anything for `host`: it is marked
/// unavailable or has failure days counted (a read, so the common case writes nothing).
pub fn host_has_failures(conn: &Connection, host: &str) -> Result<bool> {
    Ok(conn
        .prepare_cached(
            "SELECT EXISTS (SELECT 1 FROM hosts
                 WHERE host = ?1 AND (unavailable = 1 OR failure_days > 0))",
        )?
        .query_row([host], |r| r.get(0))?)
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
mod tests;
