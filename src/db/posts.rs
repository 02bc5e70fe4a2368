//! Posts, local (`actor_id` NULL) and remote, with their mentions, hashtags,
//! attachments, polls and edit history. A boost is a post whose `reblog_of_id` is set.

use crate::error::{Error, Result};
use rusqlite::{Connection, OptionalExtension, Row, params};

mod queries;
pub use queries::{
    count_local, count_local_public, counts, last_local_at, list_local_public, list_pinned,
    list_reactors, owner_flags, search, search_tags,
};

/// A stored post.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Post {
    pub id: i64,
    pub uri: String,
    pub url: Option<String>,
    pub actor_id: Option<i64>,
    pub kind: String,
    pub content_html: String,
    pub source_text: Option<String>,
    pub spoiler_text: String,
    pub sensitive: bool,
    pub visibility: String,
    pub language: Option<String>,
    pub in_reply_to_uri: Option<String>,
    pub reblog_of_id: Option<i64>,
    pub audience_json: String,
    pub published_at: i64,
    pub edited_at: Option<i64>,
    pub pinned_at: Option<i64>,
    pub deleted_at: Option<i64>,
}

impl Post {
    /// Whether the post is the owner's.
    pub fn is_local(&self) -> bool {
        self.actor_id.is_none()
    }

    /// The `to` and `cc` URIs the post was addressed to.
    pub fn audience(&self) -> Vec<String> {
        serde_json::from_str(&self.audience_json).unwrap_or_default()
    }
}

/// A mention inside a post.
#[derive(Debug, Clone, PartialEq)]
pub struct Mention {
    pub actor_uri: String,
    pub username: String,
    pub domain: String,
    pub href: Option<String>,
}

/// A media attachment of a post.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Attachment {
    pub id: i64,
    pub remote_url: Option<String>,
    pub media_type: String,
    pub description: String,
    pub blurhash: Option<String>,
    pub width: Option<i64>,
    pub height: Option<i64>,
    /// The local upload this attachment shows, for the owner's posts.
    pub media_id: Option<i64>,
}

/// A poll attached to a post.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Poll {
    pub multiple: bool,
    /// Option titles with their vote counts.
    pub options: Vec<(String, i64)>,
    pub voters_count: Option<i64>,
    pub expires_at: Option<i64>,
    pub closed_at: Option<i64>,
}

/// Everything that hangs off a post, as written together.
#[derive(Debug, Clone, Default)]
pub struct Parts {
    pub mentions: Vec<Mention>,
    pub tags: Vec<String>,
    pub attachments: Vec<Attachment>,
    pub poll: Option<Poll>,
}

const COLUMNS: &str = "id, uri, url, actor_id, kind, content_html, source_text, spoiler_text, sensitive, \
    visibility, language, in_reply_to_uri, reblog_of_id, audience_json, published_at, edited_at, pinned_at, deleted_at";

/// Reads a post from a row selected with `COLUMNS`.
pub fn from_row(r: &Row) -> rusqlite::Result<Post> {
    Ok(Post {
        id: r.get(0)?,
        uri: r.get(1)?,
        url: r.get(2)?,
        actor_id: r.get(3)?,
        kind: r.get(4)?,
        content_html: r.get(5)?,
        source_text: r.get(6)?,
        spoiler_text: r.get(7)?,
        sensitive: r.get(8)?,
        visibility: r.get(9)?,
        language: r.get(10)?,
        in_reply_to_uri: r.get(11)?,
        reblog_of_id: r.get(12)?,
        audience_json: r.get(13)?,
        published_at: r.get(14)?,
        edited_at: r.get(15)?,
        pinned_at: r.get(16)?,
        deleted_at: r.get(17)?,
    })
}

/// Inserts a post with its parts; returns `false` (and writes nothing) when its `uri` exists.
pub fn insert(conn: &Connection, post: &Post, parts: &Parts) -> Result<bool> {
    let n = conn
        .prepare_cached(
            "INSERT OR IGNORE INTO posts (id, uri, url, actor_id, kind, content_html, source_text, spoiler_text,
                sensitive, visibility, language, in_reply_to_uri, reblog_of_id, audience_json, published_at,
                edited_at, pinned_at, deleted_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18)",
        )?
        .execute(params![
            post.id,
            post.uri,
            post.url,
            post.actor_id,
            post.kind,
            post.content_html,
            post.source_text,
            post.spoiler_text,
            post.sensitive,
            post.visibility,
            post.language,
            post.in_reply_to_uri,
            post.reblog_of_id,
            post.audience_json,
            post.published_at,
            post.edited_at,
            post.pinned_at,
            post.deleted_at
        ])?;
    if n == 0 {
        return Ok(false);
    }
    insert_parts(conn, post.id, parts, post.published_at)?;
    Ok(true)
}

fn insert_parts(conn: &Connection, post_id: i64, parts: &Parts, now: i64) -> Result<()> {
    for m in &parts.mentions {
        conn.prepare_cached(
            "INSERT OR IGNORE INTO mentions (post_id, actor_uri, username, domain, href) VALUES (?1, ?2, ?3, ?4, ?5)",
        )?
        .execute(params![post_id, m.actor_uri, m.username, m.domain, m.href])?;
    }
    for tag in &parts.tags {
        conn.prepare_cached("INSERT OR IGNORE INTO post_tags (post_id, tag) VALUES (?1, ?2)")?
            .execute(params![post_id, tag.to_lowercase()])?;
    }
    for (position, a) in parts.attachments.iter().enumerate() {
        conn.prepare_cached(
            "INSERT INTO attachments (post_id, position, remote_url, media_type, description, blurhash, width, height,
                media_id, created_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
        )?
        .execute(params![
            post_id,
            position as i64,
            a.remote_url,
            a.media_type,
            a.description,
            a.blurhash,
            a.width,
            a.height,
            a.media_id,
            now
        ])?;
    }
    if let Some(poll) = &parts.poll {
        let options: Vec<serde_json::Value> = poll
            .options
            .iter()
            .map(|(t, v)| serde_json::json!({"title": t, "votes": v}))
            .collect();
        conn.prepare_cached(
            "INSERT OR REPLACE INTO polls (post_id, multiple, options_json, voters_count, expires_at, closed_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
        )?
        .execute(params![
            post_id,
            poll.multiple,
            serde_json::Value::Array(options).to_string(),
            poll.voters_count,
            poll.expires_at,
            poll.closed_at
        ])?;
    }
    Ok(())
}

fn delete_parts(conn: &Connection, post_id: i64) -> Result<()> {
    for sql in [
        "DELETE FROM mentions WHERE post_id = ?1",
        "DELETE FROM post_tags WHERE post_id = ?1",
        "DELETE FROM attachments WHERE post_id = ?1",
    ] {
        conn.prepare_cached(sql)?.execute([post_id])?;
    }
    Ok(())
}

/// The post with this ActivityPub id.
pub fn find_by_uri(conn: &Connection, uri: &str) -> Result<Option<Post>> {
    let sql = format!("SELECT {COLUMNS} FROM posts WHERE uri = ?1");
    Ok(conn
        .prepare_cached(&sql)?
        .query_row([uri], from_row)
        .optional()?)
}

/// The post with this id, if any.
pub fn find(conn: &Connection, id: i64) -> Result<Option<Post>> {
    let sql = format!("SELECT {COLUMNS} FROM posts WHERE id = ?1");
    Ok(conn
        .prepare_cached(&sql)?
        .query_row([id], from_row)
        .optional()?)
}

/// The post with this id; `NotFound` otherwise.
pub fn get(conn: &Connection, id: i64) -> Result<Post> {
    find(conn, id)?.ok_or_else(|| Error::NotFound("Record not found".into()))
}

/// The boost of `reblog_of_id` by `actor_id` (None: the owner), if any.
pub fn find_reblog(
    conn: &Connection,
    actor_id: Option<i64>,
    reblog_of_id: i64,
) -> Result<Option<Post>> {
    let sql = format!(
        "SELECT {COLUMNS} FROM posts WHERE reblog_of_id = ?1 AND ifnull(actor_id, 0) = ifnull(?2, 0) AND deleted_at IS NULL"
    );
    Ok(conn
        .prepare_cached(&sql)?
        .query_row(params![reblog_of_id, actor_id], from_row)
        .optional()?)
}

/// Replaces a post's content after an edit, keeping the previous version as history.
pub fn update_content(conn: &Connection, new: &Post, parts: &Parts) -> Result<()> {
    let old = get(conn, new.id)?;
    let old_poll = find_poll(conn, new.id)?.map(|p| poll_json(&p));
    conn.prepare_cached(
        "INSERT INTO post_edits (post_id, content_html, spoiler_text, sensitive, poll_json, created_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
    )?
    .execute(params![
        old.id,
        old.content_html,
        old.spoiler_text,
        old.sensitive,
        old_poll,
        old.edited_at.unwrap_or(old.published_at)
    ])?;
    conn.prepare_cached(
        "UPDATE posts SET content_html = ?2, source_text = ?3, spoiler_text = ?4, sensitive = ?5, language = ?6,
            edited_at = ?7 WHERE id = ?1",
    )?
    .execute(params![new.id, new.content_html, new.source_text, new.spoiler_text, new.sensitive, new.language, new.edited_at])?;
    delete_parts(conn, new.id)?;
    insert_parts(
        conn,
        new.id,
        parts,
        new.edited_at.unwrap_or(new.published_at),
    )
}

fn poll_json(p: &Poll) -> String {
    let options: Vec<serde_json::Value> = p
        .options
        .iter()
        .map(|(t, v)| serde_json::json!({"title": t, "votes": v}))
        .collect();
    serde_json::Value::Array(options).to_string()
}

/// Deletes a remote post (and, by cascade, what hangs off it).
pub fn delete(conn: &Connection, id: i64) -> Result<()> {
    conn.prepare_cached("DELETE FROM posts WHERE id = ?1")?
        .execute([id])?;
    Ok(())
}

/// Turns a local post into a tombstone: content gone, the row kept so its URL answers 410.
pub fn tombstone(conn: &Connection, id: i64, now: i64) -> Result<()> {
    delete_parts(conn, id)?;
    conn.prepare_cached("DELETE FROM polls WHERE post_id = ?1")?
        .execute([id])?;
    conn.prepare_cached("DELETE FROM posts WHERE reblog_of_id = ?1")?
        .execute([id])?;
    conn.prepare_cached(
        "UPDATE posts SET deleted_at = ?2, content_html = '', source_text = NULL, spoiler_text = '', pinned_at = NULL
         WHERE id = ?1",
    )?
    .execute(params![id, now])?;
    Ok(())
}

/// The mentions of a post.
pub fn list_mentions(conn: &Connection, post_id: i64) -> Result<Vec<Mention>> {
    let mut stmt = conn.prepare_cached(
        "SELECT actor_uri, username, domain, href FROM mentions WHERE post_id = ?1 ORDER BY rowid",
    )?;
    let rows = stmt.query_map([post_id], |r| {
        Ok(Mention {
            actor_uri: r.get(0)?,
            username: r.get(1)?,
            domain: r.get(2)?,
            href: r.get(3)?,
        })
    })?;
    Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
}

/// The hashtags of a post.
pub fn list_tags(conn: &Connection, post_id: i64) -> Result<Vec<String>> {
    let mut stmt =
        conn.prepare_cached("SELECT tag FROM post_tags WHERE post_id = ?1 ORDER BY rowid")?;
    let rows = stmt.query_map([post_id], |r| r.get(0))?;
    Ok(rows.collect::<rusqlite::Result<Vec<String>>>()?)
}

/// The attachments of a post, in order.
pub fn list_attachments(conn: &Connection, post_id: i64) -> Result<Vec<Attachment>> {
    let mut stmt = conn.prepare_cached(
        "SELECT id, remote_url, media_type, description, blurhash, width, height, media_id FROM attachments
         WHERE post_id = ?1 ORDER BY position",
    )?;
    let rows = stmt.query_map([post_id], |r| {
        Ok(Attachment {
            id: r.get(0)?,
            remote_url: r.get(1)?,
            media_type: r.get(2)?,
            description: r.get(3)?,
            blurhash: r.get(4)?,
            width: r.get(5)?,
            height: r.get(6)?,
            media_id: r.get(7)?,
        })
    })?;
    Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
}

/// The poll of a post, if any.
pub fn find_poll(conn: &Connection, post_id: i64) -> Result<Option<Poll>> {
    let row = conn
        .prepare_cached("SELECT multiple, options_json, voters_count, expires_at, closed_at FROM polls WHERE post_id = ?1")?
        .query_row([post_id], |r| {
            Ok((r.get::<_, bool>(0)?, r.get::<_, String>(1)?, r.get(2)?, r.get(3)?, r.get(4)?))
        })
        .optional()?;
    Ok(
        row.map(|(multiple, options, voters_count, expires_at, closed_at)| {
            let options: Vec<serde_json::Value> =
                serde_json::from_str(&options).unwrap_or_default();
            Poll {
                multiple,
                options: options
                    .iter()
                    .map(|o| {
                        (
                            o["title"].as_str().unwrap_or("").to_string(),
                            o["votes"].as_i64().unwrap_or(0),
                        )
                    })
                    .collect(),
                voters_count,
                expires_at,
                closed_at,
            }
        }),
    )
}

/// Sets the vote counts of a poll.
pub fn update_poll_counts(conn: &Connection, post_id: i64, poll: &Poll) -> Result<()> {
    conn.prepare_cached(
        "UPDATE polls SET options_json = ?2, voters_count = ?3 WHERE post_id = ?1",
    )?
    .execute(params![post_id, poll_json(poll), poll.voters_count])?;
    Ok(())
}

#[cfg(test)]
pub(crate) fn sample(id: i64, uri: &str) -> Post {
    Post {
        id,
        uri: uri.into(),
        kind: "Note".into(),
        content_html: "<p>hi</p>".into(),
        visibility: "public".into(),
        audience_json: "[]".into(),
        published_at: 1000,
        ..Post::default()
    }
}

/// Pins (`Some(time)`) or unpins (`None`) one of the owner's posts.
pub fn set_pinned(conn: &Connection, id: i64, pinned_at: Option<i64>) -> Result<()> {
    conn.prepare_cached("UPDATE posts SET pinned_at = ?2 WHERE id = ?1 AND actor_id IS NULL")?
        .execute(params![id, pinned_at])?;
    Ok(())
}

/// Bookmarks or un-bookmarks a post.
pub fn set_bookmarked(conn: &Connection, id: i64, on: bool, now: i64) -> Result<()> {
    if on {
        conn.prepare_cached(
            "INSERT OR IGNORE INTO bookmarks (post_id, created_at) VALUES (?1, ?2)",
        )?
        .execute(params![id, now])?;
    } else {
        conn.prepare_cached("DELETE FROM bookmarks WHERE post_id = ?1")?
            .execute([id])?;
    }
    Ok(())
}

/// Earlier versions of a post, oldest first: (content, spoiler, sensitive, from time).
pub fn list_edits(conn: &Connection, post_id: i64) -> Result<Vec<(String, String, bool, i64)>> {
    let mut stmt = conn.prepare_cached(
        "SELECT content_html, spoiler_text, sensitive, created_at FROM post_edits WHERE post_id = ?1 ORDER BY id",
    )?;
    let rows = stmt.query_map([post_id], |r| {
        Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?))
    })?;
    Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
}

/// The post made earlier with this Idempotency-Key (within a day).
pub fn find_idempotent(conn: &Connection, key: &str) -> Result<Option<i64>> {
    Ok(conn
        .prepare_cached("SELECT post_id FROM idempotency_keys WHERE key = ?1 AND created_at > ?2")?
        .query_row(params![key, crate::db::now_ms() - 86_400_000], |r| r.get(0))
        .optional()?)
}

/// Remembers the post an Idempotency-Key made.
pub fn remember_idempotent(conn: &Connection, key: &str, post_id: i64, now: i64) -> Result<()> {
    conn.prepare_cached("DELETE FROM idempotency_keys WHERE created_at < ?1")?
        .execute([now - 86_400_000])?;
    conn.prepare_cached(
        "INSERT OR REPLACE INTO idempotency_keys (key, post_id, created_at) VALUES (?1, ?2, ?3)",
    )?
    .execute(params![key, post_id, now])?;
    Ok(())
}

#[cfg(test)]
mod tests;
