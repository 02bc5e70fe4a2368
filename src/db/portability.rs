//! Storage for moving in and out: which archive posts were imported (and as what),
//! the boosts, likes and bookmarks of an archive still to be resolved, the aliases
//! seen to have moved here, free ids at a past time, and the paged reads the export
//! and the CSV files are made from. SQL only; the rules live in `portability`.

use crate::db::posts::{self, Post};
use crate::error::Result;
use rusqlite::{Connection, OptionalExtension, params};

/// The columns `posts::from_row` reads, in its order.
const POST_COLUMNS: &str = "id, uri, url, actor_id, kind, content_html, source_text, spoiler_text, sensitive, \
    visibility, language, in_reply_to_uri, reblog_of_id, audience_json, published_at, edited_at, pinned_at, deleted_at";

/// The post an archive item was imported as, if it was.
pub fn find_imported(conn: &Connection, source_uri: &str) -> Result<Option<i64>> {
    Ok(conn
        .prepare_cached("SELECT post_id FROM imported_posts WHERE source_uri = ?1")?
        .query_row([source_uri], |r| r.get(0))
        .optional()?)
}

/// Remembers that the archive item `source_uri` became post `post_id`.
pub fn insert_imported(conn: &Connection, source_uri: &str, post_id: i64) -> Result<()> {
    conn.prepare_cached("INSERT INTO imported_posts (source_uri, post_id) VALUES (?1, ?2)")?
        .execute(params![source_uri, post_id])?;
    Ok(())
}

/// Points replies at their imported parents: an own post whose `inReplyTo` is the
/// archive id of an imported post now names that post's new id. Returns how many changed.
pub fn link_imported_replies(conn: &Connection) -> Result<usize> {
    Ok(conn
        .prepare_cached(
            "UPDATE posts SET in_reply_to_uri = (
                SELECT p.uri FROM imported_posts i JOIN posts p ON p.id = i.post_id
                WHERE i.source_uri = posts.in_reply_to_uri)
             WHERE actor_id IS NULL AND in_reply_to_uri IN (SELECT source_uri FROM imported_posts)",
        )?
        .execute([])?)
}

/// A post id for something published at `ms` that no stored post has: the first free
/// id of that millisecond (ids are `ms << 16 | sequence`).
pub fn free_post_id(conn: &Connection, ms: i64) -> Result<i64> {
    free_id(
        conn,
        "SELECT max(id) FROM posts WHERE id >= ?1 AND id < ?2",
        ms,
    )
}

/// A media id for a file uploaded at `ms` that no stored upload has.
pub fn free_media_id(conn: &Connection, ms: i64) -> Result<i64> {
    free_id(
        conn,
        "SELECT max(id) FROM media WHERE id >= ?1 AND id < ?2",
        ms,
    )
}

fn free_id(conn: &Connection, sql: &str, ms: i64) -> Result<i64> {
    let low = crate::ids::floor(ms);
    let high = crate::ids::floor(ms.max(0) + 1);
    let max: Option<i64> = conn
        .prepare_cached(sql)?
        .query_row(params![low, high], |r| r.get(0))?;
    match max {
        None => Ok(low),
        Some(m) if m + 1 < high => Ok(m + 1),
        // 65,536 things in one millisecond: take the next millisecond.
        Some(_) => free_id(conn, sql, ms + 1),
    }
}

/// A boost, like or bookmark from an archive that waits for its post to be fetched.
#[derive(Debug, Clone, PartialEq)]
pub struct ImportRef {
    pub kind: String,
    pub object_uri: String,
    pub source_uri: Option<String>,
    pub published_at: i64,
    pub last_error: Option<String>,
}

/// Records a reference to resolve; returns `false` when it was recorded before.
pub fn insert_ref(
    conn: &Connection,
    kind: &str,
    object_uri: &str,
    source_uri: Option<&str>,
    published_at: i64,
) -> Result<bool> {
    Ok(conn
        .prepare_cached(
            "INSERT OR IGNORE INTO import_refs (kind, object_uri, source_uri, published_at)
             VALUES (?1, ?2, ?3, ?4)",
        )?
        .execute(params![kind, object_uri, source_uri, published_at])?
        > 0)
}

/// Unresolved references after `(kind, object_uri)`, in key order.
pub fn list_open_refs(
    conn: &Connection,
    after: Option<(&str, &str)>,
    limit: i64,
) -> Result<Vec<ImportRef>> {
    let (kind, uri) = after.unwrap_or(("", ""));
    let mut stmt = conn.prepare_cached(
        "SELECT kind, object_uri, source_uri, published_at, last_error FROM import_refs
         WHERE done_at IS NULL AND (kind, object_uri) > (?1, ?2) ORDER BY kind, object_uri LIMIT ?3",
    )?;
    let rows = stmt.query_map(params![kind, uri, limit], |r| {
        Ok(ImportRef {
            kind: r.get(0)?,
            object_uri: r.get(1)?,
            source_uri: r.get(2)?,
            published_at: r.get(3)?,
            last_error: r.get(4)?,
        })
    })?;
    Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
}

/// Number of unresolved references.
pub fn count_open_refs(conn: &Connection) -> Result<i64> {
    Ok(conn
        .prepare_cached("SELECT count(*) FROM import_refs WHERE done_at IS NULL")?
        .query_row([], |r| r.get(0))?)
}

/// Marks a reference resolved (`error` None) or records why it is not, yet.
pub fn update_ref(
    conn: &Connection,
    kind: &str,
    object_uri: &str,
    error: Option<&str>,
    now: i64,
) -> Result<()> {
    conn.prepare_cached(
        "UPDATE import_refs SET last_error = ?3, done_at = CASE WHEN ?3 IS NULL THEN ?4 END
         WHERE kind = ?1 AND object_uri = ?2",
    )?
    .execute(params![kind, object_uri, error, now])?;
    Ok(())
}

/// Records that the alias `old_uri` moved to this account (the first sighting counts).
pub fn record_move_in(conn: &Connection, old_uri: &str, now: i64) -> Result<()> {
    conn.prepare_cached("INSERT OR IGNORE INTO moves_in (old_uri, seen_at) VALUES (?1, ?2)")?
        .execute(params![old_uri, now])?;
    Ok(())
}

/// The alias whose move here was seen at or after `since`, if any (the latest).
pub fn find_move_in_since(conn: &Connection, since: i64) -> Result<Option<String>> {
    Ok(conn
        .prepare_cached(
            "SELECT old_uri FROM moves_in WHERE seen_at >= ?1 ORDER BY seen_at DESC LIMIT 1",
        )?
        .query_row([since], |r| r.get(0))
        .optional()?)
}

/// Whether a move here from `old_uri` was ever seen.
pub fn has_move_in(conn: &Connection, old_uri: &str) -> Result<bool> {
    Ok(conn
        .prepare_cached("SELECT EXISTS (SELECT 1 FROM moves_in WHERE old_uri = ?1)")?
        .query_row([old_uri], |r| r.get(0))?)
}

/// After a followed account moved: the new account joins the lists the old one was
/// on, and is muted when the old one was.
pub fn carry_over(conn: &Connection, from: i64, to: i64, now: i64) -> Result<()> {
    conn.prepare_cached(
        "INSERT OR IGNORE INTO list_members (list_id, actor_id)
         SELECT list_id, ?2 FROM list_members WHERE actor_id = ?1",
    )?
    .execute(params![from, to])?;
    conn.prepare_cached(
        "INSERT OR IGNORE INTO mutes (actor_id, created_at)
         SELECT ?2, ?3 FROM mutes WHERE actor_id = ?1",
    )?
    .execute(params![from, to, now])?;
    Ok(())
}

/// The owner's posts and boosts (every visibility, tombstones left out) with ids above
/// `after`, oldest first.
pub fn list_own_posts_after(conn: &Connection, after: i64, limit: i64) -> Result<Vec<Post>> {
    let sql = format!(
        "SELECT {POST_COLUMNS} FROM posts WHERE actor_id IS NULL AND deleted_at IS NULL AND id > ?1
         ORDER BY id LIMIT ?2"
    );
    let mut stmt = conn.prepare_cached(&sql)?;
    let rows = stmt.query_map(params![after, limit], posts::from_row)?;
    Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
}

/// How many posts and boosts of the owner an export writes.
pub fn count_own_posts(conn: &Connection) -> Result<i64> {
    Ok(conn
        .prepare_cached("SELECT count(*) FROM posts WHERE actor_id IS NULL AND deleted_at IS NULL")?
        .query_row([], |r| r.get(0))?)
}

/// The ids of posts the owner liked (`bookmarks` false) or bookmarked, with the
/// post's URI, in the order they were made, after row `after`.
pub fn list_owner_marks_after(
    conn: &Connection,
    bookmarks: bool,
    after: i64,
    limit: i64,
) -> Result<Vec<(i64, String)>> {
    let sql = if bookmarks {
        "SELECT b.rowid, p.uri FROM bookmarks b JOIN posts p ON p.id = b.post_id
         WHERE b.rowid > ?1 ORDER BY b.rowid LIMIT ?2"
    } else {
        "SELECT f.id, p.uri FROM favourites f JOIN posts p ON p.id = f.post_id
         WHERE f.actor_id IS NULL AND f.id > ?1 ORDER BY f.id LIMIT ?2"
    };
    let mut stmt = conn.prepare_cached(sql)?;
    let rows = stmt.query_map(params![after, limit], |r| Ok((r.get(0)?, r.get(1)?)))?;
    Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
}

/// Which relation of the owner to other accounts a CSV file lists.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Relation {
    Following,
    Followers,
    Blocks,
    Mutes,
}

/// The actors in one relation: (row id, `user@domain`), oldest first. Pending follows
/// count as following (the Follow was sent).
pub fn list_relation(conn: &Connection, relation: Relation) -> Result<Vec<(i64, String)>> {
    let table = match relation {
        Relation::Following => "following",
        Relation::Followers => "followers",
        Relation::Blocks => "blocks",
        Relation::Mutes => "mutes",
    };
    let accepted = if relation == Relation::Followers {
        "AND r.accepted = 1"
    } else {
        ""
    };
    let sql = format!(
        "SELECT a.id, a.username || '@' || a.domain FROM {table} r JOIN actors a ON a.id = r.actor_id
         WHERE a.username != '' {accepted} ORDER BY r.created_at, a.id"
    );
    let mut stmt = conn.prepare_cached(&sql)?;
    let rows = stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?;
    Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
}

/// Every list membership: (list title, `user@domain`), by list then member.
pub fn list_list_members(conn: &Connection) -> Result<Vec<(String, String)>> {
    let mut stmt = conn.prepare_cached(
        "SELECT l.title, a.username || '@' || a.domain FROM list_members m
         JOIN lists l ON l.id = m.list_id JOIN actors a ON a.id = m.actor_id
         WHERE a.username != '' ORDER BY l.id, a.id",
    )?;
    let rows = stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?;
    Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
}

/// The id of the freshest actor stored as exactly `username@domain` (case as given),
/// with when it was fetched and whether it is gone: an indexed lookup, for imports
/// that name many accounts (the case-blind one in `actors` scans a domain's actors).
pub fn find_actor_exact(
    conn: &Connection,
    username: &str,
    domain: &str,
) -> Result<Option<(i64, i64, bool)>> {
    Ok(conn
        .prepare_cached(
            "SELECT id, fetched_at, gone_at IS NOT NULL FROM actors
             WHERE username = ?1 AND domain = ?2 ORDER BY fetched_at DESC LIMIT 1",
        )?
        .query_row([username, domain], |r| {
            Ok((r.get(0)?, r.get(1)?, r.get(2)?))
        })
        .optional()?)
}

/// The id of the list with this title, if there is one.
pub fn find_list_by_title(conn: &Connection, title: &str) -> Result<Option<i64>> {
    Ok(conn
        .prepare_cached("SELECT id FROM lists WHERE title = ?1 ORDER BY id LIMIT 1")?
        .query_row([title], |r| r.get(0))
        .optional()?)
}

/// Removes every list (their memberships go with them).
pub fn delete_all_lists(conn: &Connection) -> Result<()> {
    conn.prepare_cached("DELETE FROM lists")?.execute([])?;
    Ok(())
}

/// Row counts of the tables an import writes, to show that a refused one wrote nothing.
pub fn import_footprint(conn: &Connection) -> Result<[i64; 5]> {
    let mut out = [0; 5];
    for (slot, table) in [
        "posts",
        "media",
        "attachments",
        "imported_posts",
        "import_refs",
    ]
    .iter()
    .enumerate()
    {
        out[slot] = conn.query_row(&format!("SELECT count(*) FROM {table}"), [], |r| r.get(0))?;
    }
    Ok(out)
}

/// What a database snapshot file says about itself.
#[derive(Debug, Clone, PartialEq)]
pub struct SnapshotInfo {
    /// `ok`, or SQLite's list of problems.
    pub integrity: String,
    pub schema_version: i64,
    /// The account's user name, when the snapshot has one.
    pub username: Option<String>,
    /// The owner's posts (tombstones left out).
    pub posts: i64,
}

/// Opens a snapshot file read-only and reports on it; an error when it is not SQLite.
pub fn inspect_snapshot(path: &std::path::Path) -> Result<SnapshotInfo> {
    let conn = Connection::open_with_flags(
        path,
        rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY | rusqlite::OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )?;
    let integrity = integrity_check(&conn)?;
    let schema_version = schema_version(&conn)?;
    let has_account: bool = conn.query_row(
        "SELECT EXISTS (SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'account')",
        [],
        |r| r.get(0),
    )?;
    let username = if has_account {
        conn.query_row("SELECT username FROM account WHERE id = 1", [], |r| {
            r.get(0)
        })
        .optional()?
    } else {
        None
    };
    let posts = if has_account {
        count_own_posts(&conn)?
    } else {
        0
    };
    Ok(SnapshotInfo {
        integrity,
        schema_version,
        username,
        posts,
    })
}

/// SQLite's `PRAGMA integrity_check` answer (`ok` when the file is sound).
pub fn integrity_check(conn: &Connection) -> Result<String> {
    let lines: Vec<String> = conn
        .prepare("PRAGMA integrity_check(5)")?
        .query_map([], |r| r.get(0))?
        .collect::<rusqlite::Result<Vec<String>>>()?;
    Ok(lines.join("; "))
}

/// The schema version (`PRAGMA user_version`).
pub fn schema_version(conn: &Connection) -> Result<i64> {
    Ok(conn.query_row("PRAGMA user_version", [], |r| r.get(0))?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::db::Db;

    #[test]
    fn free_ids_skip_taken_ones() {
        let conn = Db::open_in_memory().unwrap();
        let ms = 1_600_000_000_000;
        let first = free_post_id(&conn, ms).unwrap();
        assert_eq!(first, crate::ids::floor(ms));
        posts::insert(
            &conn,
            &posts::sample(first, "https://k.example/1"),
            &Default::default(),
        )
        .unwrap();
        assert_eq!(free_post_id(&conn, ms).unwrap(), first + 1);
        assert_eq!(
            free_post_id(&conn, ms + 1).unwrap(),
            crate::ids::floor(ms + 1)
        );
    }

    #[test]
    fn imported_replies_are_linked() {
        let conn = Db::open_in_memory().unwrap();
        let parent = posts::sample(10, "https://k.example/users/me/statuses/10");
        let mut child = posts::sample(20, "https://k.example/users/me/statuses/20");
        child.in_reply_to_uri = Some("https://old.example/users/me/statuses/1".into());
        let mut other = posts::sample(30, "https://k.example/users/me/statuses/30");
        other.in_reply_to_uri = Some("https://elsewhere.example/notes/9".into());
        for p in [&parent, &child, &other] {
            posts::insert(&conn, p, &Default::default()).unwrap();
        }
        insert_imported(&conn, "https://old.example/users/me/statuses/1", 10).unwrap();
        assert_eq!(link_imported_replies(&conn).unwrap(), 1);
        let got = posts::get(&conn, 20).unwrap();
        assert_eq!(got.in_reply_to_uri.as_deref(), Some(parent.uri.as_str()));
        assert_eq!(
            posts::get(&conn, 30).unwrap().in_reply_to_uri.as_deref(),
            Some("https://elsewhere.example/notes/9")
        );
        assert_eq!(
            find_imported(&conn, "https://old.example/users/me/statuses/1").unwrap(),
            Some(10)
        );
    }

    #[test]
    fn refs_and_moves() {
        let conn = Db::open_in_memory().unwrap();
        assert!(
            insert_ref(
                &conn,
                "boost",
                "https://r.example/1",
                Some("https://o.example/a"),
                5
            )
            .unwrap()
        );
        assert!(!insert_ref(&conn, "boost", "https://r.example/1", None, 5).unwrap());
        assert!(insert_ref(&conn, "like", "https://r.example/1", None, 5).unwrap());
        assert_eq!(count_open_refs(&conn).unwrap(), 2);
        update_ref(&conn, "boost", "https://r.example/1", Some("410 gone"), 6).unwrap();
        assert_eq!(count_open_refs(&conn).unwrap(), 2);
        update_ref(&conn, "boost", "https://r.example/1", None, 7).unwrap();
        let open = list_open_refs(&conn, None, 10).unwrap();
        assert_eq!(open.len(), 1);
        assert_eq!(open[0].kind, "like");
        record_move_in(&conn, "https://old.example/users/me", 100).unwrap();
        record_move_in(&conn, "https://old.example/users/me", 200).unwrap();
        assert_eq!(
            find_move_in_since(&conn, 100).unwrap().as_deref(),
            Some("https://old.example/users/me")
        );
        assert!(find_move_in_since(&conn, 101).unwrap().is_none());
        assert!(has_move_in(&conn, "https://old.example/users/me").unwrap());
    }
}
