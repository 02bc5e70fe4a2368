//! Questions asked across many posts rather than of one: the owner's counts and
//! profile lists (outbox, pinned), the counts and reactions shown on a status, and
//! search. Re-exported from `db::posts`, whose `Post` rows they return.

use super::{COLUMNS, Post, from_row};
use crate::error::Result;
use rusqlite::{Connection, params};

/// How many posts the local account has written (not deleted, boosts excluded).
pub fn count_local(conn: &Connection) -> Result<i64> {
    Ok(conn
        .prepare_cached(
            "SELECT count(*) FROM posts INDEXED BY posts_local_counted
             WHERE actor_id IS NULL AND reblog_of_id IS NULL AND deleted_at IS NULL",
        )?
        .query_row([], |r| r.get(0))?)
}

/// Local public and unlisted posts and boosts, newest first, with ids below `max_id`.
pub fn list_local_public(conn: &Connection, max_id: Option<i64>, limit: i64) -> Result<Vec<Post>> {
    let sql = format!(
        "SELECT {COLUMNS} FROM posts WHERE actor_id IS NULL AND deleted_at IS NULL
         AND visibility IN ('public', 'unlisted') AND id < ?1 ORDER BY id DESC LIMIT ?2"
    );
    let mut stmt = conn.prepare_cached(&sql)?;
    let rows = stmt.query_map(params![max_id.unwrap_or(i64::MAX), limit], from_row)?;
    Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
}

/// Number of local public and unlisted posts and boosts (the outbox's `totalItems`).
pub fn count_local_public(conn: &Connection) -> Result<i64> {
    Ok(conn
        .prepare_cached(
            "SELECT count(*) FROM posts WHERE actor_id IS NULL AND deleted_at IS NULL AND visibility IN ('public', 'unlisted')",
        )?
        .query_row([], |r| r.get(0))?)
}

/// The owner's pinned posts, most recently pinned first.
pub fn list_pinned(conn: &Connection) -> Result<Vec<Post>> {
    let sql = format!(
        "SELECT {COLUMNS} FROM posts WHERE actor_id IS NULL AND pinned_at IS NOT NULL AND deleted_at IS NULL
         ORDER BY pinned_at DESC"
    );
    let mut stmt = conn.prepare_cached(&sql)?;
    let rows = stmt.query_map([], from_row)?;
    Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
}

/// Counts shown on a status: (replies, boosts, likes).
pub fn counts(conn: &Connection, post: &Post) -> Result<(i64, i64, i64)> {
    let replies = conn
        .prepare_cached(
            "SELECT count(*) FROM posts WHERE in_reply_to_uri = ?1 AND deleted_at IS NULL",
        )?
        .query_row([&post.uri], |r| r.get(0))?;
    let boosts = conn
        .prepare_cached(
            "SELECT count(*) FROM posts WHERE reblog_of_id = ?1 AND deleted_at IS NULL",
        )?
        .query_row([post.id], |r| r.get(0))?;
    let likes = conn
        .prepare_cached("SELECT count(*) FROM favourites WHERE post_id = ?1")?
        .query_row([post.id], |r| r.get(0))?;
    Ok((replies, boosts, likes))
}

/// The owner's relation to a post: (liked, boosted, bookmarked).
pub fn owner_flags(conn: &Connection, post_id: i64) -> Result<(bool, bool, bool)> {
    Ok(conn
        .prepare_cached(
            "SELECT EXISTS (SELECT 1 FROM favourites WHERE post_id = ?1 AND actor_id IS NULL),
                    EXISTS (SELECT 1 FROM posts WHERE reblog_of_id = ?1 AND actor_id IS NULL AND deleted_at IS NULL),
                    EXISTS (SELECT 1 FROM bookmarks WHERE post_id = ?1)",
        )?
        .query_row([post_id], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?)
}

/// The time of the owner's latest post, if any.
pub fn last_local_at(conn: &Connection) -> Result<Option<i64>> {
    Ok(conn
        .prepare_cached(
            "SELECT max(published_at) FROM posts WHERE actor_id IS NULL AND deleted_at IS NULL",
        )?
        .query_row([], |r| r.get(0))?)
}

/// Actors who liked (`boosts` false) or boosted a post; with `public_only` (anybody but
/// the owner looking) only public and unlisted boosts count, as Mastodon shows them.
pub fn list_reactors(
    conn: &Connection,
    post_id: i64,
    boosts: bool,
    public_only: bool,
) -> Result<Vec<i64>> {
    if !boosts {
        let mut stmt = conn.prepare_cached(
            "SELECT actor_id FROM favourites WHERE post_id = ?1 AND actor_id IS NOT NULL ORDER BY id DESC LIMIT 80",
        )?;
        let rows = stmt.query_map([post_id], |r| r.get(0))?;
        return Ok(rows.collect::<rusqlite::Result<Vec<i64>>>()?);
    }
    let mut stmt = conn.prepare_cached(
        "SELECT actor_id FROM posts WHERE reblog_of_id = ?1 AND actor_id IS NOT NULL AND deleted_at IS NULL
         AND (NOT ?2 OR visibility IN ('public', 'unlisted')) ORDER BY id DESC LIMIT 80",
    )?;
    let rows = stmt.query_map(params![post_id, public_only], |r| r.get(0))?;
    Ok(rows.collect::<rusqlite::Result<Vec<i64>>>()?)
}

/// Posts whose text contains `q` (public ones, or any of the owner's), newest first.
pub fn search(conn: &Connection, q: &str, limit: i64) -> Result<Vec<Post>> {
    let pattern = format!("%{}%", q.replace(['%', '_'], ""));
    let sql = format!(
        "SELECT {COLUMNS} FROM posts WHERE deleted_at IS NULL AND reblog_of_id IS NULL
         AND (visibility = 'public' OR actor_id IS NULL AND visibility != 'direct')
         AND (content_html LIKE ?1 OR spoiler_text LIKE ?1) ORDER BY id DESC LIMIT ?2"
    );
    let mut stmt = conn.prepare_cached(&sql)?;
    let rows = stmt.query_map(params![pattern, limit], from_row)?;
    Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
}

/// Hashtags in use that start with `q`: on any stored post, or (`public_only`, for
/// anybody but the owner) on public and unlisted posts, so a tag used only in private
/// posts is not given away.
pub fn search_tags(
    conn: &Connection,
    q: &str,
    limit: i64,
    public_only: bool,
) -> Result<Vec<String>> {
    let pattern = format!("{}%", q.to_lowercase().replace(['%', '_'], ""));
    let mut stmt = conn.prepare_cached(
        "SELECT DISTINCT t.tag FROM post_tags t WHERE t.tag LIKE ?1
         AND (NOT ?3 OR EXISTS (SELECT 1 FROM posts p WHERE p.id = t.post_id AND p.deleted_at IS NULL
              AND p.visibility IN ('public', 'unlisted')))
         ORDER BY t.tag LIMIT ?2",
    )?;
    let rows = stmt.query_map(params![pattern, limit, public_only], |r| r.get(0))?;
    Ok(rows.collect::<rusqlite::Result<Vec<String>>>()?)
}
