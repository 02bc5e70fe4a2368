//! Placeholder for the delivery queue storage (replaced by the delivery branch).

use crate::error::Result;
use rusqlite::{Connection, params};

/// Queues one delivery job per distinct inbox.
pub fn enqueue(conn: &Connection, inboxes: &[String], body: &str, is_follow: bool, now: i64) -> Result<usize> {
    let mut seen = std::collections::HashSet::new();
    for inbox in inboxes.iter().filter(|i| seen.insert(i.as_str())) {
        let host = url::Url::parse(inbox).map(|u| crate::ap::resolve::domain_of(&u)).unwrap_or_default();
        conn.prepare_cached(
            "INSERT INTO deliveries (inbox, host, body, is_follow, next_at, created_at) VALUES (?1, ?2, ?3, ?4, ?5, ?5)",
        )?
        .execute(params![inbox, host, body, is_follow, now])?;
    }
    Ok(seen.len())
}

/// Clears a host's unavailable mark after a verified request from it.
pub fn mark_host_alive(conn: &Connection, host: &str, _now: i64) -> Result<()> {
    conn.prepare_cached("UPDATE hosts SET unavailable = 0 WHERE host = ?1")?.execute([host])?;
    Ok(())
}
