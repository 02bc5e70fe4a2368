//! Read positions of the home timeline and notifications (Mastodon markers).

use crate::error::Result;
use rusqlite::{Connection, params};

/// A stored marker: (timeline, last read id, version, updated at).
pub type Marker = (String, String, i64, i64);

/// The markers of the given timelines.
pub fn list(conn: &Connection, timelines: &[String]) -> Result<Vec<Marker>> {
    let mut out = Vec::new();
    for t in timelines {
        let mut stmt = conn.prepare_cached(
            "SELECT timeline, last_read_id, version, updated_at FROM markers WHERE timeline = ?1",
        )?;
        let rows = stmt.query_map([t], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)))?;
        for row in rows {
            out.push(row?);
        }
    }
    Ok(out)
}

/// Sets a marker, counting its version up.
pub fn set(conn: &Connection, timeline: &str, last_read_id: &str, now: i64) -> Result<()> {
    conn.prepare_cached(
        "INSERT INTO markers (timeline, last_read_id, version, updated_at) VALUES (?1, ?2, 1, ?3)
         ON CONFLICT(timeline) DO UPDATE SET last_read_id = excluded.last_read_id, version = version + 1,
            updated_at = excluded.updated_at",
    )?
    .execute(params![timeline, last_read_id, now])?;
    Ok(())
}
