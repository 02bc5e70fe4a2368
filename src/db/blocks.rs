//! Blocks, mutes and domain blocks set by the owner, and blocks received from others.

use crate::error::Result;
use rusqlite::{Connection, params};

/// Whether `host` (without port) or any parent domain of it is blocked.
pub fn is_domain_blocked(conn: &Connection, host: &str) -> Result<bool> {
    let host = crate::domain::without_port(host)
        .trim_end_matches('.')
        .to_ascii_lowercase();
    let mut candidate = host.as_str();
    loop {
        let hit = conn
            .prepare_cached("SELECT EXISTS (SELECT 1 FROM domain_blocks WHERE domain = ?1)")?
            .query_row([candidate], |r| r.get::<_, bool>(0))?;
        if hit {
            return Ok(true);
        }
        match candidate.split_once('.') {
            Some((_, parent)) if parent.contains('.') => candidate = parent,
            _ => return Ok(false),
        }
    }
}

/// Blocks a domain.
pub fn insert_domain_block(conn: &Connection, domain: &str, now: i64) -> Result<()> {
    block_domain(conn, domain, now).map(|_| ())
}

/// Blocks a domain; returns whether it was not blocked before.
pub fn block_domain(conn: &Connection, domain: &str, now: i64) -> Result<bool> {
    let added = conn
        .prepare_cached("INSERT OR IGNORE INTO domain_blocks (domain, created_at) VALUES (?1, ?2)")?
        .execute(params![
            domain.trim_end_matches('.').to_ascii_lowercase(),
            now
        ])?;
    Ok(added > 0)
}

/// Unblocks a domain.
pub fn delete_domain_block(conn: &Connection, domain: &str) -> Result<()> {
    conn.prepare_cached("DELETE FROM domain_blocks WHERE domain = ?1")?
        .execute([domain.trim_end_matches('.').to_ascii_lowercase()])?;
    Ok(())
}

/// The blocked domains.
pub fn list_domain_blocks(conn: &Connection) -> Result<Vec<String>> {
    let mut stmt = conn.prepare_cached("SELECT domain FROM domain_blocks ORDER BY domain")?;
    let rows = stmt.query_map([], |r| r.get(0))?;
    Ok(rows.collect::<rusqlite::Result<Vec<String>>>()?)
}

/// Whether the owner blocks this actor.
pub fn is_blocked(conn: &Connection, actor_id: i64) -> Result<bool> {
    Ok(conn
        .prepare_cached("SELECT EXISTS (SELECT 1 FROM blocks WHERE actor_id = ?1)")?
        .query_row([actor_id], |r| r.get(0))?)
}

/// Records the owner's block of an actor.
pub fn insert_block(conn: &Connection, actor_id: i64, activity_uri: &str, now: i64) -> Result<()> {
    conn.prepare_cached(
        "INSERT OR REPLACE INTO blocks (actor_id, activity_uri, created_at) VALUES (?1, ?2, ?3)",
    )?
    .execute(params![actor_id, activity_uri, now])?;
    Ok(())
}

/// Removes the owner's block; returns the Block activity's id when there was one.
pub fn delete_block(conn: &Connection, actor_id: i64) -> Result<Option<String>> {
    let uri: Option<String> = conn
        .prepare_cached("DELETE FROM blocks WHERE actor_id = ?1 RETURNING activity_uri")?
        .query_row([actor_id], |r| r.get(0))
        .ok();
    Ok(uri)
}

/// Records or clears that a remote actor blocks the owner.
pub fn set_blocked_by(conn: &Connection, actor_id: i64, blocked: bool, now: i64) -> Result<()> {
    if blocked {
        conn.prepare_cached(
            "INSERT OR IGNORE INTO blocked_by (actor_id, created_at) VALUES (?1, ?2)",
        )?
        .execute(params![actor_id, now])?;
    } else {
        conn.prepare_cached("DELETE FROM blocked_by WHERE actor_id = ?1")?
            .execute([actor_id])?;
    }
    Ok(())
}

/// Whether a remote actor blocks the owner.
pub fn is_blocked_by(conn: &Connection, actor_id: i64) -> Result<bool> {
    Ok(conn
        .prepare_cached("SELECT EXISTS (SELECT 1 FROM blocked_by WHERE actor_id = ?1)")?
        .query_row([actor_id], |r| r.get(0))?)
}

/// Mutes an actor.
pub fn insert_mute(conn: &Connection, actor_id: i64, now: i64) -> Result<()> {
    mute(conn, actor_id, now).map(|_| ())
}

/// Mutes an actor; returns whether it was not muted before.
pub fn mute(conn: &Connection, actor_id: i64, now: i64) -> Result<bool> {
    let added = conn
        .prepare_cached("INSERT OR IGNORE INTO mutes (actor_id, created_at) VALUES (?1, ?2)")?
        .execute(params![actor_id, now])?;
    Ok(added > 0)
}

/// Unmutes an actor.
pub fn delete_mute(conn: &Connection, actor_id: i64) -> Result<()> {
    conn.prepare_cached("DELETE FROM mutes WHERE actor_id = ?1")?
        .execute([actor_id])?;
    Ok(())
}

/// Whether the owner mutes this actor.
pub fn is_muted(conn: &Connection, actor_id: i64) -> Result<bool> {
    Ok(conn
        .prepare_cached("SELECT EXISTS (SELECT 1 FROM mutes WHERE actor_id = ?1)")?
        .query_row([actor_id], |r| r.get(0))?)
}

/// Ids of blocked (`blocks`) or muted (`mutes`) actors, newest first.
pub fn list_ids(conn: &Connection, muted: bool, limit: i64) -> Result<Vec<i64>> {
    let sql = if muted {
        "SELECT actor_id FROM mutes ORDER BY created_at DESC LIMIT ?1"
    } else {
        "SELECT actor_id FROM blocks ORDER BY created_at DESC LIMIT ?1"
    };
    let mut stmt = conn.prepare_cached(sql)?;
    let rows = stmt.query_map([limit], |r| r.get(0))?;
    Ok(rows.collect::<rusqlite::Result<Vec<i64>>>()?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::db::Db;

    #[test]
    fn domain_blocks_cover_subdomains_and_ports() {
        let conn = Db::open_in_memory().unwrap();
        insert_domain_block(&conn, "Evil.Example.", 1).unwrap();
        assert!(is_domain_blocked(&conn, "evil.example").unwrap());
        assert!(is_domain_blocked(&conn, "sub.evil.example:8443").unwrap());
        assert!(is_domain_blocked(&conn, "EVIL.example.").unwrap());
        assert!(!is_domain_blocked(&conn, "notevil.example").unwrap());
        assert!(!is_domain_blocked(&conn, "example").unwrap());
        delete_domain_block(&conn, "evil.example").unwrap();
        assert!(!is_domain_blocked(&conn, "evil.example").unwrap());
    }
}
