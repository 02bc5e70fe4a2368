//! Likes and emoji reactions on posts, by the owner (`actor_id` NULL) or by others.

use crate::error::Result;
use rusqlite::{Connection, OptionalExtension, params};

/// Records a like; returns `false` when that actor already liked the post.
pub fn insert(
    conn: &Connection,
    post_id: i64,
    actor_id: Option<i64>,
    activity_uri: &str,
    now: i64,
) -> Result<bool> {
    Ok(conn
        .prepare_cached(
            "INSERT OR IGNORE INTO favourites (post_id, actor_id, activity_uri, created_at) VALUES (?1, ?2, ?3, ?4)",
        )?
        .execute(params![post_id, actor_id, activity_uri, now])?
        > 0)
}

/// Removes a like by its activity id; returns the post it was on.
pub fn delete_by_activity(
    conn: &Connection,
    activity_uri: &str,
    actor_id: i64,
) -> Result<Option<i64>> {
    Ok(conn
        .prepare_cached(
            "DELETE FROM favourites WHERE activity_uri = ?1 AND actor_id = ?2 RETURNING post_id",
        )?
        .query_row(params![activity_uri, actor_id], |r| r.get(0))
        .optional()?)
}

/// Removes an actor's like of a post (None: the owner's); returns its activity id.
pub fn delete(conn: &Connection, post_id: i64, actor_id: Option<i64>) -> Result<Option<String>> {
    Ok(conn
        .prepare_cached(
            "DELETE FROM favourites WHERE post_id = ?1 AND ifnull(actor_id, 0) = ifnull(?2, 0) RETURNING activity_uri",
        )?
        .query_row(params![post_id, actor_id], |r| r.get(0))
        .optional()?)
}

/// Number of likes of a post.
pub fn count(conn: &Connection, post_id: i64) -> Result<i64> {
    Ok(conn
        .prepare_cached("SELECT count(*) FROM favourites WHERE post_id = ?1")?
        .query_row([post_id], |r| r.get(0))?)
}

/// Whether the owner liked a post.
#[cfg(test)]
pub fn by_owner(conn: &Connection, post_id: i64) -> Result<bool> {
    Ok(conn
        .prepare_cached(
            "SELECT EXISTS (SELECT 1 FROM favourites WHERE post_id = ?1 AND actor_id IS NULL)",
        )?
        .query_row([post_id], |r| r.get(0))?)
}

/// Records an emoji reaction; returns `false` when it was already there.
pub fn insert_reaction(
    conn: &Connection,
    post_id: i64,
    actor_id: i64,
    emoji: &str,
    activity_uri: &str,
    now: i64,
) -> Result<bool> {
    Ok(conn
        .prepare_cached(
            "INSERT OR IGNORE INTO reactions (post_id, actor_id, emoji, activity_uri, created_at) VALUES (?1, ?2, ?3, ?4, ?5)",
        )?
        .execute(params![post_id, actor_id, emoji, activity_uri, now])?
        > 0)
}

/// Removes a reaction by its activity id; returns the post it was on.
pub fn delete_reaction(
    conn: &Connection,
    activity_uri: &str,
    actor_id: i64,
) -> Result<Option<i64>> {
    Ok(conn
        .prepare_cached(
            "DELETE FROM reactions WHERE activity_uri = ?1 AND actor_id = ?2 RETURNING post_id",
        )?
        .query_row(params![activity_uri, actor_id], |r| r.get(0))
        .optional()?)
}

/// Stores a report (`Flag`) from a remote actor; returns its id.
pub fn insert_report(
    conn: &Connection,
    actor_id: i64,
    activity_uri: &str,
    content: &str,
    objects_json: &str,
    now: i64,
) -> Result<Option<i64>> {
    let n = conn
        .prepare_cached(
            "INSERT OR IGNORE INTO reports (actor_id, activity_uri, content, objects_json, created_at) VALUES (?1, ?2, ?3, ?4, ?5)",
        )?
        .execute(params![actor_id, activity_uri, content, objects_json, now])?;
    Ok((n > 0).then(|| conn.last_insert_rowid()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::db::{Db, actors, posts};

    #[test]
    fn likes_once_per_actor() {
        let conn = Db::open_in_memory().unwrap();
        let a = actors::upsert(&conn, &actors::sample("https://r.example/users/bob")).unwrap();
        posts::insert(
            &conn,
            &posts::sample(5, "https://k.example/s/5"),
            &posts::Parts::default(),
        )
        .unwrap();
        assert!(insert(&conn, 5, Some(a), "https://r.example/l/1", 1).unwrap());
        assert!(!insert(&conn, 5, Some(a), "https://r.example/l/2", 1).unwrap());
        assert!(insert(&conn, 5, None, "https://k.example/l/1", 1).unwrap());
        assert!(!insert(&conn, 5, None, "https://k.example/l/2", 1).unwrap());
        assert_eq!(count(&conn, 5).unwrap(), 2);
        assert!(by_owner(&conn, 5).unwrap());
        assert_eq!(
            delete_by_activity(&conn, "https://r.example/l/1", a).unwrap(),
            Some(5)
        );
        assert_eq!(
            delete(&conn, 5, None).unwrap().as_deref(),
            Some("https://k.example/l/1")
        );
        assert_eq!(count(&conn, 5).unwrap(), 0);
    }
}
