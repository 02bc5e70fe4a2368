//! What `kith doctor` reads: the clock differences of recent deliveries, signature
//! failures per host, the delivery queue and the hosts that stopped answering, and
//! the last accepted activity. Written by the inbox (`ap::inbox`), read here.

use crate::error::Result;
use rusqlite::{Connection, OptionalExtension, params};

const DAY_MS: i64 = 24 * 60 * 60 * 1000;

/// Counts one signature failure from `host` today (kept for a week).
pub fn record_signature_failure(conn: &Connection, host: &str, now: i64) -> Result<()> {
    let day = now / DAY_MS;
    conn.prepare_cached(
        "INSERT INTO signature_failures (host, day, failures) VALUES (?1, ?2, 1)
         ON CONFLICT (host, day) DO UPDATE SET failures = failures + 1",
    )?
    .execute(params![host, day])?;
    conn.prepare_cached("DELETE FROM signature_failures WHERE day < ?1")?
        .execute([day - 7])?;
    Ok(())
}

/// Signature failures per host since `since_ms` (whole days), most first.
pub fn signature_failures(conn: &Connection, since_ms: i64) -> Result<Vec<(String, i64)>> {
    let mut stmt = conn.prepare_cached(
        "SELECT host, sum(failures) AS n FROM signature_failures WHERE day >= ?1
         GROUP BY host ORDER BY n DESC LIMIT 20",
    )?;
    let rows = stmt.query_map([since_ms / DAY_MS], |r| Ok((r.get(0)?, r.get(1)?)))?;
    Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
}

/// The median clock difference (ms) of deliveries accepted since `since_ms`, and how
/// many carried one.
pub fn median_skew(conn: &Connection, since_ms: i64) -> Result<Option<(i64, i64)>> {
    let mut stmt = conn.prepare_cached(
        "SELECT skew_ms FROM seen_activities WHERE seen_at >= ?1 AND skew_ms IS NOT NULL
         ORDER BY skew_ms",
    )?;
    let skews = stmt
        .query_map([since_ms], |r| r.get::<_, i64>(0))?
        .collect::<rusqlite::Result<Vec<i64>>>()?;
    Ok((!skews.is_empty()).then(|| (skews[skews.len() / 2], skews.len() as i64)))
}

/// When the last activity was accepted, if ever (within the seen-id memory).
pub fn last_accepted_at(conn: &Connection) -> Result<Option<i64>> {
    Ok(conn
        .query_row("SELECT max(seen_at) FROM seen_activities", [], |r| {
            r.get::<_, Option<i64>>(0)
        })
        .optional()?
        .flatten())
}

/// The delivery queue: jobs waiting, and the due time of the oldest due one.
pub fn delivery_backlog(conn: &Connection, now: i64) -> Result<(i64, Option<i64>)> {
    Ok(conn.query_row(
        "SELECT count(*), (SELECT min(next_at) FROM deliveries WHERE next_at <= ?1) FROM deliveries",
        [now],
        |r| Ok((r.get(0)?, r.get(1)?)),
    )?)
}

/// A peer that failed deliveries.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HostTrouble {
    pub host: String,
    /// Marked unavailable (deliveries skipped until it answers).
    pub unavailable: bool,
    /// Distinct days with failures since the last success.
    pub failure_days: i64,
    pub last_success_at: Option<i64>,
}

/// Hosts that are unavailable or failed on more than one day since their last success.
pub fn troubled_hosts(conn: &Connection) -> Result<Vec<HostTrouble>> {
    let mut stmt = conn.prepare_cached(
        "SELECT host, unavailable, failure_days, last_success_at FROM hosts
          WHERE unavailable != 0 OR failure_days > 1 ORDER BY failure_days DESC LIMIT 20",
    )?;
    let rows = stmt.query_map([], |r| {
        Ok(HostTrouble {
            host: r.get(0)?,
            unavailable: r.get::<_, i64>(1)? != 0,
            failure_days: r.get(2)?,
            last_success_at: r.get(3)?,
        })
    })?;
    Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
}

/// `PRAGMA quick_check`: "ok", or the first problem found.
pub fn quick_check(conn: &Connection) -> Result<String> {
    Ok(conn.query_row("PRAGMA quick_check(1)", [], |r| r.get(0))?)
}
