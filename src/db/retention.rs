//! The queries of retention (`process::retention`): which remote posts nobody needs
//! any more, which actors nothing refers to, and old notifications. A remote post is
//! kept for ever when the owner touched it or it belongs with the owner's own posts:
//! liked, boosted, bookmarked, voted in, replied to by the owner, in a reply thread with
//! the owner's posts (up or down), mentioning the owner, named by a notification, or
//! boosted by someone recently (the boost would vanish with it).

use crate::error::Result;
use rusqlite::{Connection, params};

/// How far reply threads are followed up and down from the owner's posts.
const THREAD_DEPTH: i64 = 64;

/// Up to `limit` remote posts stored before id `before_id` and published before
/// `before_ms` that nothing keeps, with the remote URLs of their attachments (for the
/// media cache), oldest first. (An old post fetched lately has a recent id, so it
/// stays until it has been here as long as the policy says.)
pub fn list_expired_posts(
    conn: &Connection,
    before_id: i64,
    before_ms: i64,
    owner_uri: &str,
    limit: i64,
) -> Result<Vec<(i64, Vec<String>)>> {
    let mut stmt = conn.prepare_cached(
        "WITH RECURSIVE
           up(uri, depth) AS (
             SELECT in_reply_to_uri, 0 FROM posts
              WHERE actor_id IS NULL AND in_reply_to_uri IS NOT NULL
             UNION
             SELECT p.in_reply_to_uri, up.depth + 1 FROM posts p JOIN up ON p.uri = up.uri
              WHERE p.in_reply_to_uri IS NOT NULL AND up.depth < ?4),
           down(uri, depth) AS (
             SELECT uri, 0 FROM posts WHERE actor_id IS NULL
             UNION
             SELECT p.uri, down.depth + 1 FROM posts p JOIN down ON p.in_reply_to_uri = down.uri
              WHERE down.depth < ?4)
         SELECT p.id FROM posts p
          WHERE p.actor_id IS NOT NULL AND p.id < ?1 AND p.published_at < ?5
            AND p.uri NOT IN (SELECT uri FROM up WHERE uri IS NOT NULL)
            AND p.uri NOT IN (SELECT uri FROM down)
            AND NOT EXISTS (SELECT 1 FROM favourites f WHERE f.post_id = p.id AND f.actor_id IS NULL)
            AND NOT EXISTS (SELECT 1 FROM bookmarks b WHERE b.post_id = p.id)
            AND NOT EXISTS (SELECT 1 FROM poll_votes v WHERE v.post_id = p.id AND v.actor_id IS NULL)
            AND NOT EXISTS (SELECT 1 FROM posts r WHERE r.reblog_of_id = p.id
                             AND (r.actor_id IS NULL OR r.id >= ?1))
            AND NOT EXISTS (SELECT 1 FROM notifications n WHERE n.post_id = p.id)
            AND NOT EXISTS (SELECT 1 FROM filter_statuses s WHERE s.post_id = p.id)
            AND NOT EXISTS (SELECT 1 FROM mentions m WHERE m.post_id = p.id AND m.actor_uri = ?2)
          ORDER BY p.id LIMIT ?3",
    )?;
    let ids = stmt
        .query_map(
            params![before_id, owner_uri, limit, THREAD_DEPTH, before_ms],
            |r| r.get::<_, i64>(0),
        )?
        .collect::<rusqlite::Result<Vec<i64>>>()?;
    let mut urls = conn.prepare_cached(
        "SELECT remote_url FROM attachments WHERE post_id = ?1 AND remote_url IS NOT NULL",
    )?;
    ids.into_iter()
        .map(|id| {
            let list = urls
                .query_map([id], |r| r.get::<_, String>(0))?
                .collect::<rusqlite::Result<Vec<String>>>()?;
            Ok((id, list))
        })
        .collect()
}

/// Deletes posts by id (their attachments, tags, mentions and boosts go with them).
pub fn delete_posts(conn: &Connection, ids: &[i64]) -> Result<usize> {
    let mut stmt = conn.prepare_cached("DELETE FROM posts WHERE id = ?1")?;
    let mut deleted = 0;
    for id in ids {
        deleted += stmt.execute([id])?;
    }
    Ok(deleted)
}

/// Deletes up to `limit` notifications created before `before_ms`; returns how many.
pub fn delete_old_notifications(conn: &Connection, before_ms: i64, limit: i64) -> Result<usize> {
    Ok(conn
        .prepare_cached(
            "DELETE FROM notifications WHERE id IN
               (SELECT id FROM notifications WHERE created_at < ?1 ORDER BY id LIMIT ?2)",
        )?
        .execute(params![before_ms, limit])?)
}

/// Deletes up to `limit` remote actors fetched before `before_ms` that nothing refers
/// to: no posts, no follow either way, no block, mute, list or endorsement, no
/// notification (or request), like, reaction, vote or report either way, and not the
/// new home of a moved account. Returns how many.
pub fn delete_orphan_actors(conn: &Connection, before_ms: i64, limit: i64) -> Result<usize> {
    Ok(conn
        .prepare_cached(
            "DELETE FROM actors WHERE id IN (
               SELECT a.id FROM actors a
                WHERE a.fetched_at < ?1
                  AND NOT EXISTS (SELECT 1 FROM posts p WHERE p.actor_id = a.id)
                  AND NOT EXISTS (SELECT 1 FROM following f WHERE f.actor_id = a.id)
                  AND NOT EXISTS (SELECT 1 FROM followers f WHERE f.actor_id = a.id)
                  AND NOT EXISTS (SELECT 1 FROM blocks b WHERE b.actor_id = a.id)
                  AND NOT EXISTS (SELECT 1 FROM blocked_by b WHERE b.actor_id = a.id)
                  AND NOT EXISTS (SELECT 1 FROM mutes m WHERE m.actor_id = a.id)
                  AND NOT EXISTS (SELECT 1 FROM list_members l WHERE l.actor_id = a.id)
                  AND NOT EXISTS (SELECT 1 FROM notifications n WHERE n.actor_id = a.id)
                  AND NOT EXISTS (SELECT 1 FROM favourites f WHERE f.actor_id = a.id)
                  AND NOT EXISTS (SELECT 1 FROM reactions r WHERE r.actor_id = a.id)
                  AND NOT EXISTS (SELECT 1 FROM poll_votes v WHERE v.actor_id = a.id)
                  AND NOT EXISTS (SELECT 1 FROM reports r WHERE r.actor_id = a.id)
                  AND NOT EXISTS (SELECT 1 FROM own_reports r WHERE r.actor_id = a.id)
                  AND NOT EXISTS (SELECT 1 FROM endorsements e WHERE e.actor_id = a.id)
                  AND NOT EXISTS (SELECT 1 FROM notification_requests q WHERE q.actor_id = a.id)
                  AND NOT EXISTS (SELECT 1 FROM actors o WHERE o.moved_to = a.uri)
                ORDER BY a.id LIMIT ?2)",
        )?
        .execute(params![before_ms, limit])?)
}

/// The database's size in bytes (pages in use and free).
pub fn database_bytes(conn: &Connection) -> Result<i64> {
    Ok(conn.query_row(
        "SELECT page_count * page_size FROM pragma_page_count(), pragma_page_size()",
        [],
        |r| r.get(0),
    )?)
}
