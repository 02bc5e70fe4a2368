//! Poll votes: the owner's votes in remote polls and remote votes in the owner's polls.

use crate::error::Result;
use rusqlite::{Connection, params};

/// Whether the owner has voted in this poll.
pub fn owner_voted(conn: &Connection, post_id: i64) -> Result<bool> {
    Ok(conn
        .prepare_cached(
            "SELECT EXISTS (SELECT 1 FROM poll_votes WHERE post_id = ?1 AND actor_id IS NULL)",
        )?
        .query_row([post_id], |r| r.get(0))?)
}

/// The owner's choices in a poll.
pub fn owner_choices(conn: &Connection, post_id: i64) -> Result<Vec<i64>> {
    let mut stmt = conn.prepare_cached(
        "SELECT choice FROM poll_votes WHERE post_id = ?1 AND actor_id IS NULL ORDER BY choice",
    )?;
    let rows = stmt.query_map([post_id], |r| r.get(0))?;
    Ok(rows.collect::<rusqlite::Result<Vec<i64>>>()?)
}

/// Whether an actor has voted in this poll.
pub fn has_voted(conn: &Connection, post_id: i64, actor_id: i64) -> Result<bool> {
    Ok(conn
        .prepare_cached(
            "SELECT EXISTS (SELECT 1 FROM poll_votes WHERE post_id = ?1 AND actor_id = ?2)",
        )?
        .query_row(params![post_id, actor_id], |r| r.get(0))?)
}

/// Records one vote; returns `false` when that choice was already recorded for the voter.
pub fn insert(
    conn: &Connection,
    post_id: i64,
    actor_id: Option<i64>,
    choice: i64,
    activity_uri: &str,
    now: i64,
) -> Result<bool> {
    Ok(conn
        .prepare_cached(
            "INSERT OR IGNORE INTO poll_votes (post_id, actor_id, choice, activity_uri, created_at) VALUES (?1, ?2, ?3, ?4, ?5)",
        )?
        .execute(params![post_id, actor_id, choice, activity_uri, now])?
        > 0)
}
