//! Queries only the web UI's pages make: the owner's profile posts, the owner's posts
//! with a hashtag, the feed entries, and the owner's sessions-independent lookups.
//! Visibility is decided here, in SQL, so a page cannot show what its query never read:
//! followers-only posts only when `with_private`, direct posts never.

use crate::db::posts::{Post, from_row};
use crate::error::Result;
use rusqlite::{Connection, params};

const COLUMNS: &str = "p.id, p.uri, p.url, p.actor_id, p.kind, p.content_html, p.source_text, p.spoiler_text, \
    p.sensitive, p.visibility, p.language, p.in_reply_to_uri, p.reblog_of_id, p.audience_json, p.published_at, \
    p.edited_at, p.pinned_at, p.deleted_at";

/// The owner's posts and boosts for the profile page, newest first, ids below `max_id`:
/// public and unlisted, and followers-only too when `with_private` (the owner looking).
pub fn list_profile(
    conn: &Connection,
    with_private: bool,
    max_id: Option<i64>,
    limit: i64,
) -> Result<Vec<Post>> {
    let sql = format!(
        "SELECT {COLUMNS} FROM posts p WHERE p.actor_id IS NULL AND p.deleted_at IS NULL AND p.id < ?1
         AND (p.visibility IN ('public', 'unlisted') OR (?2 AND p.visibility = 'private'))
         ORDER BY p.id DESC LIMIT ?3"
    );
    let mut stmt = conn.prepare_cached(&sql)?;
    let rows = stmt.query_map(
        params![max_id.unwrap_or(i64::MAX), with_private, limit],
        from_row,
    )?;
    Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
}

/// The owner's pinned posts that a visitor may see (public and unlisted), newest pin first.
pub fn list_pinned_public(conn: &Connection) -> Result<Vec<Post>> {
    let sql = format!(
        "SELECT {COLUMNS} FROM posts p INDEXED BY posts_pinned WHERE p.actor_id IS NULL AND p.pinned_at IS NOT NULL
         AND p.deleted_at IS NULL AND p.reblog_of_id IS NULL AND p.visibility IN ('public', 'unlisted')
         ORDER BY p.pinned_at DESC LIMIT 5"
    );
    let mut stmt = conn.prepare_cached(&sql)?;
    let rows = stmt.query_map([], from_row)?;
    Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
}

/// How many posts the owner has written (not deleted, boosts excluded), counted on
/// the partial index made for it: without statistics SQLite would otherwise pick the
/// `reblog_of_id` index and read every post.
pub fn count_own_posts(conn: &Connection) -> Result<i64> {
    Ok(conn
        .prepare_cached(
            "SELECT count(*) FROM posts INDEXED BY posts_local_counted
             WHERE actor_id IS NULL AND reblog_of_id IS NULL AND deleted_at IS NULL",
        )?
        .query_row([], |r| r.get(0))?)
}

/// Public posts with a hashtag, newest first: the owner's only (`local_only`, what
/// visitors see) or every public post kith knows (what the owner sees).
pub fn list_tag(
    conn: &Connection,
    tag: &str,
    local_only: bool,
    max_id: Option<i64>,
    limit: i64,
) -> Result<Vec<Post>> {
    // The owner's public posts' tags have their own index (kept by a trigger).
    let (index, own) = if local_only {
        ("post_tags_own_public", " AND t.own_public = 1")
    } else {
        ("post_tags_tag", "")
    };
    let sql = format!(
        "SELECT {COLUMNS} FROM post_tags t INDEXED BY {index} JOIN posts p ON p.id = t.post_id
         WHERE t.tag = ?1 AND t.post_id < ?2{own} AND p.deleted_at IS NULL AND p.visibility = 'public'
           AND p.reblog_of_id IS NULL AND (NOT ?3 OR p.actor_id IS NULL)
           AND (p.actor_id IS NULL OR p.actor_id NOT IN (SELECT actor_id FROM blocks))
         ORDER BY t.post_id DESC LIMIT ?4"
    );
    let mut stmt = conn.prepare_cached(&sql)?;
    let rows = stmt.query_map(
        params![
            tag.to_lowercase(),
            max_id.unwrap_or(i64::MAX),
            local_only,
            limit
        ],
        from_row,
    )?;
    Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
}

/// Hashtags in use that start with `prefix`, read as a range of the tag index (tags
/// are stored in lower case; a `LIKE` could not use the index and would read them all).
pub fn tags_starting(conn: &Connection, prefix: &str, limit: i64) -> Result<Vec<String>> {
    let low = prefix.trim_start_matches('#').to_lowercase();
    if low.is_empty() {
        return Ok(Vec::new());
    }
    let high = format!("{low}\u{10FFFF}");
    let mut stmt = conn.prepare_cached(
        "SELECT DISTINCT tag FROM post_tags WHERE tag >= ?1 AND tag < ?2 ORDER BY tag LIMIT ?3",
    )?;
    let rows = stmt.query_map(params![low, high, limit], |r| r.get(0))?;
    Ok(rows.collect::<rusqlite::Result<Vec<String>>>()?)
}

/// The entries of the Atom and RSS feeds: the owner's public posts that start a
/// thread (no boosts, no replies, nothing unlisted or private), newest first.
pub fn list_feed(conn: &Connection, limit: i64) -> Result<Vec<Post>> {
    let sql = format!(
        "SELECT {COLUMNS} FROM posts p WHERE p.actor_id IS NULL AND p.deleted_at IS NULL
         AND p.visibility = 'public' AND p.reblog_of_id IS NULL AND p.in_reply_to_uri IS NULL
         ORDER BY p.id DESC LIMIT ?1"
    );
    let mut stmt = conn.prepare_cached(&sql)?;
    let rows = stmt.query_map([limit], from_row)?;
    Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::db::{Db, actors, posts};

    fn add(conn: &Connection, id: i64, actor: Option<i64>, visibility: &str, tag: Option<&str>) {
        let mut p = posts::sample(id, &format!("https://x.example/s/{id}"));
        p.actor_id = actor;
        p.visibility = visibility.into();
        let parts = posts::Parts {
            tags: tag.map(|t| vec![t.to_string()]).unwrap_or_default(),
            ..Default::default()
        };
        posts::insert(conn, &p, &parts).unwrap();
    }

    #[test]
    fn visibility_per_query() {
        let conn = Db::open_in_memory().unwrap();
        let bob = actors::upsert(&conn, &actors::sample("https://r.example/users/bob")).unwrap();
        add(&conn, 1, None, "public", Some("rust"));
        add(&conn, 2, None, "unlisted", Some("rust"));
        add(&conn, 3, None, "private", Some("rust"));
        add(&conn, 4, None, "direct", Some("rust"));
        add(&conn, 5, Some(bob), "public", Some("rust"));
        let ids = |v: Vec<Post>| v.iter().map(|p| p.id).collect::<Vec<_>>();
        assert_eq!(ids(list_profile(&conn, false, None, 10).unwrap()), [2, 1]);
        assert_eq!(ids(list_profile(&conn, true, None, 10).unwrap()), [3, 2, 1]);
        assert_eq!(ids(list_profile(&conn, true, Some(3), 10).unwrap()), [2, 1]);
        assert_eq!(ids(list_tag(&conn, "Rust", true, None, 10).unwrap()), [1]);
        assert_eq!(
            ids(list_tag(&conn, "rust", false, None, 10).unwrap()),
            [5, 1]
        );
        assert_eq!(ids(list_feed(&conn, 10).unwrap()), [1]);
        assert_eq!(tags_starting(&conn, "#Ru", 10).unwrap(), ["rust"]);
        assert!(tags_starting(&conn, "rx", 10).unwrap().is_empty());
        conn.execute("UPDATE posts SET pinned_at = 1 WHERE id IN (1, 3)", [])
            .unwrap();
        assert_eq!(ids(list_pinned_public(&conn).unwrap()), [1]);
        assert_eq!(count_own_posts(&conn).unwrap(), 4);
    }
}
