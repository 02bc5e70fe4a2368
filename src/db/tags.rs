//! Followed hashtags, featured hashtags and endorsed accounts: the owner's choices of
//! tags and people. Names are stored without `#`; followed names in lower case, so
//! they join `post_tags` directly. Nothing here decides who may see what.

use crate::error::{Error, Result};
use rusqlite::{Connection, OptionalExtension, params};

/// A followed or featured hashtag: its row id, name and when it was added.
#[derive(Debug, Clone, PartialEq)]
pub struct TagRow {
    pub id: i64,
    pub name: String,
    pub created_at: i64,
}

fn tag_row(r: &rusqlite::Row) -> rusqlite::Result<TagRow> {
    Ok(TagRow {
        id: r.get(0)?,
        name: r.get(1)?,
        created_at: r.get(2)?,
    })
}

/// Follows a hashtag (`name` in lower case); following it twice is one follow.
pub fn follow(conn: &Connection, name: &str, now: i64) -> Result<()> {
    conn.prepare_cached(
        "INSERT OR IGNORE INTO followed_tags (id, name, created_at) VALUES (?1, ?2, ?3)",
    )?
    .execute(params![crate::ids::at(now), name, now])?;
    Ok(())
}

/// Stops following a hashtag.
pub fn unfollow(conn: &Connection, name: &str) -> Result<()> {
    conn.prepare_cached("DELETE FROM followed_tags WHERE name = ?1")?
        .execute([name])?;
    Ok(())
}

/// Whether the owner follows this (lower-case) hashtag.
pub fn is_followed(conn: &Connection, name: &str) -> Result<bool> {
    Ok(conn
        .prepare_cached("SELECT 1 FROM followed_tags WHERE name = ?1")?
        .query_row([name], |_| Ok(()))
        .optional()?
        .is_some())
}

/// Whether any of these hashtags (in any case) is followed.
pub fn any_followed(conn: &Connection, names: &[String]) -> Result<bool> {
    for name in names {
        if is_followed(conn, &name.to_lowercase())? {
            return Ok(true);
        }
    }
    Ok(false)
}

/// Followed hashtags, newest first, with row ids below `max_id` and above `min_id`.
pub fn followed(
    conn: &Connection,
    max_id: Option<i64>,
    min_id: Option<i64>,
    limit: i64,
) -> Result<Vec<TagRow>> {
    let mut stmt = conn.prepare_cached(
        "SELECT id, name, created_at FROM followed_tags WHERE id < ?1 AND id > ?2
         ORDER BY id DESC LIMIT ?3",
    )?;
    let rows = stmt.query_map(
        params![max_id.unwrap_or(i64::MAX), min_id.unwrap_or(0), limit],
        tag_row,
    )?;
    Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
}

/// Features a hashtag; refused (422) if it is featured already, in any case.
pub fn feature(conn: &Connection, name: &str, now: i64) -> Result<i64> {
    let exists = conn
        .prepare_cached("SELECT 1 FROM featured_tags WHERE lower(name) = lower(?1)")?
        .query_row([name], |_| Ok(()))
        .optional()?
        .is_some();
    if exists {
        return Err(Error::Unprocessable(
            "Validation failed: Tag has already been featured".into(),
        ));
    }
    let id = crate::ids::at(now);
    conn.prepare_cached("INSERT INTO featured_tags (id, name, created_at) VALUES (?1, ?2, ?3)")?
        .execute(params![id, name, now])?;
    Ok(id)
}

/// Removes a featured hashtag; `NotFound` for an unknown id.
pub fn unfeature(conn: &Connection, id: i64) -> Result<()> {
    let n = conn
        .prepare_cached("DELETE FROM featured_tags WHERE id = ?1")?
        .execute([id])?;
    if n == 0 {
        return Err(Error::NotFound("Record not found".into()));
    }
    Ok(())
}

/// Featured hashtags, oldest first.
pub fn featured(conn: &Connection) -> Result<Vec<TagRow>> {
    let mut stmt =
        conn.prepare_cached("SELECT id, name, created_at FROM featured_tags ORDER BY id")?;
    let rows = stmt.query_map([], tag_row)?;
    Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
}

/// Use counts of a featured hashtag in the owner's public and unlisted posts, and the
/// time of the last such post.
pub fn featured_stats(conn: &Connection, name: &str) -> Result<(i64, Option<i64>)> {
    Ok(conn
        .prepare_cached(
            "SELECT count(*), max(p.published_at) FROM post_tags t JOIN posts p ON p.id = t.post_id
             WHERE t.tag = lower(?1) AND p.actor_id IS NULL AND p.deleted_at IS NULL
               AND p.visibility IN ('public', 'unlisted') AND p.reblog_of_id IS NULL",
        )?
        .query_row([name], |r| Ok((r.get(0)?, r.get(1)?)))?)
}

/// The hashtags the owner used most in their own posts, most used first.
pub fn most_used(conn: &Connection, limit: i64) -> Result<Vec<String>> {
    let mut stmt = conn.prepare_cached(
        "SELECT t.tag FROM post_tags t JOIN posts p ON p.id = t.post_id
         WHERE p.actor_id IS NULL AND p.deleted_at IS NULL
         GROUP BY t.tag ORDER BY count(*) DESC, max(p.id) DESC LIMIT ?1",
    )?;
    let rows = stmt.query_map([limit], |r| r.get(0))?;
    Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
}

/// Endorses (or with `on = false` stops endorsing) an actor.
pub fn set_endorsed(conn: &Connection, actor_id: i64, on: bool, now: i64) -> Result<()> {
    if on {
        conn.prepare_cached(
            "INSERT OR IGNORE INTO endorsements (actor_id, created_at) VALUES (?1, ?2)",
        )?
        .execute(params![actor_id, now])?;
    } else {
        conn.prepare_cached("DELETE FROM endorsements WHERE actor_id = ?1")?
            .execute([actor_id])?;
    }
    Ok(())
}

/// Whether the owner endorses this actor.
pub fn is_endorsed(conn: &Connection, actor_id: i64) -> Result<bool> {
    Ok(conn
        .prepare_cached("SELECT 1 FROM endorsements WHERE actor_id = ?1")?
        .query_row([actor_id], |_| Ok(()))
        .optional()?
        .is_some())
}

/// Endorsed actors still followed, newest first: (actor id, endorsed at), paged by
/// `endorsed at`.
pub fn endorsed(conn: &Connection, before: Option<i64>, limit: i64) -> Result<Vec<(i64, i64)>> {
    let mut stmt = conn.prepare_cached(
        "SELECT e.actor_id, e.created_at FROM endorsements e JOIN actors a ON a.id = e.actor_id
         WHERE a.gone_at IS NULL AND e.created_at < ?1
           AND e.actor_id IN (SELECT actor_id FROM following WHERE accepted = 1)
         ORDER BY e.created_at DESC, e.actor_id DESC LIMIT ?2",
    )?;
    let rows = stmt.query_map(params![before.unwrap_or(i64::MAX), limit], |r| {
        Ok((r.get(0)?, r.get(1)?))
    })?;
    Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::db::Db;

    #[test]
    fn follow_feature_and_endorse() {
        let conn = Db::open_in_memory().unwrap();
        follow(&conn, "rust", 1000).unwrap();
        follow(&conn, "rust", 2000).unwrap();
        assert!(is_followed(&conn, "rust").unwrap());
        assert_eq!(followed(&conn, None, None, 10).unwrap().len(), 1);
        unfollow(&conn, "rust").unwrap();
        assert!(!is_followed(&conn, "rust").unwrap());
        let id = feature(&conn, "Rust", 1000).unwrap();
        assert!(matches!(
            feature(&conn, "rust", 2000),
            Err(Error::Unprocessable(_))
        ));
        unfeature(&conn, id).unwrap();
        assert!(matches!(unfeature(&conn, id), Err(Error::NotFound(_))));
    }
}
