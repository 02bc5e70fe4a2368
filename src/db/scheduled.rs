//! Posts scheduled for later: storing them with the uploads they will carry, paging
//! through them, moving their time, and taking one away (when it is published or
//! cancelled). What a scheduled post means is `process::scheduled`'s business.

use crate::db::timelines::Page;
use crate::error::{Error, Result};
use rusqlite::{Connection, OptionalExtension, params};

/// A stored scheduled post.
#[derive(Debug, Clone, PartialEq)]
pub struct Scheduled {
    pub id: i64,
    /// When it is to be published (Unix ms).
    pub scheduled_at: i64,
    /// The draft as the API's `params` object.
    pub params_json: String,
    pub application_id: Option<i64>,
    /// The uploads it will carry, in order.
    pub media_ids: Vec<i64>,
}

const COLUMNS: &str = "id, scheduled_at, params_json, application_id";

fn read(conn: &Connection, row: &rusqlite::Row<'_>) -> rusqlite::Result<Scheduled> {
    let id: i64 = row.get(0)?;
    let mut stmt = conn.prepare_cached(
        "SELECT media_id FROM scheduled_media WHERE scheduled_id = ?1 ORDER BY position",
    )?;
    let media_ids = stmt
        .query_map([id], |r| r.get(0))?
        .collect::<rusqlite::Result<Vec<i64>>>()?;
    Ok(Scheduled {
        id,
        scheduled_at: row.get(1)?,
        params_json: row.get(2)?,
        application_id: row.get(3)?,
        media_ids,
    })
}

/// Stores a scheduled post with its uploads; returns its id. An upload already
/// waiting with another scheduled post is refused (422).
pub fn insert(
    conn: &Connection,
    scheduled_at: i64,
    params_json: &str,
    application_id: Option<i64>,
    media_ids: &[i64],
    now: i64,
) -> Result<i64> {
    conn.prepare_cached(
        "INSERT INTO scheduled_statuses (scheduled_at, params_json, application_id, created_at)
         VALUES (?1, ?2, ?3, ?4)",
    )?
    .execute(params![scheduled_at, params_json, application_id, now])?;
    let id = conn.last_insert_rowid();
    for (position, media_id) in media_ids.iter().enumerate() {
        let taken: bool = conn
            .prepare_cached("SELECT EXISTS (SELECT 1 FROM scheduled_media WHERE media_id = ?1)")?
            .query_row([media_id], |r| r.get(0))?;
        if taken {
            return Err(Error::Unprocessable(format!(
                "Validation failed: media {media_id} is already attached"
            )));
        }
        conn.prepare_cached(
            "INSERT INTO scheduled_media (scheduled_id, position, media_id) VALUES (?1, ?2, ?3)",
        )?
        .execute(params![id, position as i64, media_id])?;
    }
    Ok(id)
}

/// One scheduled post, if it is still waiting.
pub fn find(conn: &Connection, id: i64) -> Result<Option<Scheduled>> {
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT {COLUMNS} FROM scheduled_statuses WHERE id = ?1"
    ))?;
    Ok(stmt.query_row([id], |r| read(conn, r)).optional()?)
}

/// A page of scheduled posts, newest id first (`min_id` pages from the oldest up).
pub fn list(conn: &Connection, page: &Page) -> Result<Vec<Scheduled>> {
    let ascending = page.min_id.is_some() && page.max_id.is_none() && page.since_id.is_none();
    let order = if ascending { "ASC" } else { "DESC" };
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT {COLUMNS} FROM scheduled_statuses
         WHERE (?1 IS NULL OR id < ?1) AND (?2 IS NULL OR id > ?2) AND (?3 IS NULL OR id > ?3)
         ORDER BY id {order} LIMIT ?4"
    ))?;
    let rows = stmt.query_map(
        params![page.max_id, page.since_id, page.min_id, page.limit],
        |r| read(conn, r),
    )?;
    let mut list = rows.collect::<rusqlite::Result<Vec<_>>>()?;
    if ascending {
        list.reverse();
    }
    Ok(list)
}

/// The scheduled post made with this `Idempotency-Key`, if one is still waiting.
pub fn find_idempotent(conn: &Connection, key: &str) -> Result<Option<i64>> {
    Ok(conn
        .prepare_cached(
            "SELECT id FROM scheduled_statuses
             WHERE json_extract(params_json, '$.idempotency') = ?1 ORDER BY id LIMIT 1",
        )?
        .query_row([key], |r| r.get(0))
        .optional()?)
}

/// How many posts are scheduled.
pub fn count(conn: &Connection) -> Result<i64> {
    Ok(conn
        .prepare_cached("SELECT count(*) FROM scheduled_statuses")?
        .query_row([], |r| r.get(0))?)
}

/// Every scheduled post, soonest first (the web page).
pub fn list_by_time(conn: &Connection, limit: i64) -> Result<Vec<Scheduled>> {
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT {COLUMNS} FROM scheduled_statuses ORDER BY scheduled_at, id LIMIT ?1"
    ))?;
    let rows = stmt.query_map([limit], |r| read(conn, r))?;
    Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
}

/// The scheduled posts due at `now`, soonest first.
pub fn due(conn: &Connection, now: i64, limit: i64) -> Result<Vec<Scheduled>> {
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT {COLUMNS} FROM scheduled_statuses WHERE scheduled_at <= ?1
         ORDER BY scheduled_at, id LIMIT ?2"
    ))?;
    let rows = stmt.query_map(params![now, limit], |r| read(conn, r))?;
    Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
}

/// Moves a scheduled post to a new time, keeping its `params` in step; NotFound when
/// it is no longer waiting.
pub fn reschedule(conn: &Connection, id: i64, scheduled_at: i64, params_json: &str) -> Result<()> {
    let n = conn
        .prepare_cached(
            "UPDATE scheduled_statuses SET scheduled_at = ?2, params_json = ?3 WHERE id = ?1",
        )?
        .execute(params![id, scheduled_at, params_json])?;
    if n == 0 {
        return Err(Error::NotFound("Record not found".into()));
    }
    Ok(())
}

/// Takes a scheduled post away with its upload links (published or cancelled);
/// NotFound when it was already gone, so that it is never published twice.
pub fn take(conn: &Connection, id: i64) -> Result<()> {
    conn.prepare_cached("DELETE FROM scheduled_media WHERE scheduled_id = ?1")?
        .execute([id])?;
    let n = conn
        .prepare_cached("DELETE FROM scheduled_statuses WHERE id = ?1")?
        .execute([id])?;
    if n == 0 {
        return Err(Error::NotFound("Record not found".into()));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::db::Db;

    fn page(max_id: Option<i64>, min_id: Option<i64>, limit: i64) -> Page {
        Page {
            max_id,
            since_id: None,
            min_id,
            limit,
        }
    }

    #[test]
    fn store_page_due_and_take_once() {
        let conn = Db::open_in_memory().unwrap();
        let a = insert(&conn, 300, "{}", None, &[], 1).unwrap();
        let b = insert(&conn, 100, "{}", Some(4), &[], 1).unwrap();
        let c = insert(&conn, 200, "{}", None, &[], 1).unwrap();
        let ids = |l: Vec<Scheduled>| l.iter().map(|s| s.id).collect::<Vec<_>>();
        assert_eq!(ids(list(&conn, &page(None, None, 10)).unwrap()), [c, b, a]);
        assert_eq!(ids(list(&conn, &page(Some(c), None, 10)).unwrap()), [b, a]);
        assert_eq!(ids(list(&conn, &page(None, Some(a), 1)).unwrap()), [b]);
        assert_eq!(ids(due(&conn, 200, 10).unwrap()), [b, c]);
        assert_eq!(ids(list_by_time(&conn, 10).unwrap()), [b, c, a]);
        reschedule(&conn, a, 50, "{\"x\":1}").unwrap();
        assert_eq!(ids(due(&conn, 60, 10).unwrap()), [a]);
        assert_eq!(find(&conn, a).unwrap().unwrap().params_json, "{\"x\":1}");
        let keyed = insert(&conn, 900, r#"{"idempotency":"k1"}"#, None, &[], 1).unwrap();
        assert_eq!(find_idempotent(&conn, "k1").unwrap(), Some(keyed));
        assert_eq!(find_idempotent(&conn, "k2").unwrap(), None);
        take(&conn, a).unwrap();
        assert!(take(&conn, a).is_err());
        assert!(find(&conn, a).unwrap().is_none());
        assert!(reschedule(&conn, a, 1, "{}").is_err());
    }
}
