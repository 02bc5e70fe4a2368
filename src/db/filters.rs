//! The parts of a v2 filter that apps edit one at a time: its keywords
//! (`filter_keywords`) and the statuses it names (`filter_statuses`). The filters
//! themselves, and reading them whole, are in `db::lists`.

use crate::error::{Error, Result};
use rusqlite::{Connection, OptionalExtension, params};

/// A keyword of a filter.
#[derive(Debug, Clone, PartialEq)]
pub struct Keyword {
    pub id: i64,
    pub filter_id: i64,
    pub keyword: String,
    pub whole_word: bool,
}

/// A status named by a filter.
#[derive(Debug, Clone, PartialEq)]
pub struct FilterStatus {
    pub id: i64,
    pub filter_id: i64,
    pub post_id: i64,
}

fn not_found() -> Error {
    Error::NotFound("Record not found".into())
}

/// Checks that a filter exists (`NotFound` otherwise).
pub fn require_filter(conn: &Connection, filter_id: i64) -> Result<()> {
    conn.prepare_cached("SELECT 1 FROM filters WHERE id = ?1")?
        .query_row([filter_id], |_| Ok(()))
        .optional()?
        .ok_or_else(not_found)
}

/// The keywords of a filter, oldest first.
pub fn keywords(conn: &Connection, filter_id: i64) -> Result<Vec<Keyword>> {
    require_filter(conn, filter_id)?;
    let mut stmt = conn.prepare_cached(
        "SELECT id, filter_id, keyword, whole_word FROM filter_keywords WHERE filter_id = ?1 ORDER BY id",
    )?;
    let rows = stmt.query_map([filter_id], |r| {
        Ok(Keyword {
            id: r.get(0)?,
            filter_id: r.get(1)?,
            keyword: r.get(2)?,
            whole_word: r.get(3)?,
        })
    })?;
    Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
}

/// One keyword.
pub fn keyword(conn: &Connection, id: i64) -> Result<Keyword> {
    conn.prepare_cached(
        "SELECT id, filter_id, keyword, whole_word FROM filter_keywords WHERE id = ?1",
    )?
    .query_row([id], |r| {
        Ok(Keyword {
            id: r.get(0)?,
            filter_id: r.get(1)?,
            keyword: r.get(2)?,
            whole_word: r.get(3)?,
        })
    })
    .optional()?
    .ok_or_else(not_found)
}

/// Adds a keyword to a filter; returns its id.
pub fn add_keyword(conn: &Connection, filter_id: i64, keyword: &str, whole: bool) -> Result<i64> {
    require_filter(conn, filter_id)?;
    conn.prepare_cached(
        "INSERT INTO filter_keywords (filter_id, keyword, whole_word) VALUES (?1, ?2, ?3)",
    )?
    .execute(params![filter_id, keyword, whole])?;
    Ok(conn.last_insert_rowid())
}

/// Changes a keyword.
pub fn update_keyword(conn: &Connection, id: i64, keyword: &str, whole: bool) -> Result<()> {
    let n = conn
        .prepare_cached("UPDATE filter_keywords SET keyword = ?2, whole_word = ?3 WHERE id = ?1")?
        .execute(params![id, keyword, whole])?;
    if n == 0 {
        return Err(not_found());
    }
    Ok(())
}

/// Removes a keyword.
pub fn delete_keyword(conn: &Connection, id: i64) -> Result<()> {
    let n = conn
        .prepare_cached("DELETE FROM filter_keywords WHERE id = ?1")?
        .execute([id])?;
    if n == 0 {
        return Err(not_found());
    }
    Ok(())
}

fn status_row(r: &rusqlite::Row) -> rusqlite::Result<FilterStatus> {
    Ok(FilterStatus {
        id: r.get(0)?,
        filter_id: r.get(1)?,
        post_id: r.get(2)?,
    })
}

/// The statuses a filter names, oldest first.
pub fn statuses(conn: &Connection, filter_id: i64) -> Result<Vec<FilterStatus>> {
    let mut stmt = conn.prepare_cached(
        "SELECT id, filter_id, post_id FROM filter_statuses WHERE filter_id = ?1 ORDER BY id",
    )?;
    let rows = stmt.query_map([filter_id], status_row)?;
    Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
}

/// One filter status.
pub fn status(conn: &Connection, id: i64) -> Result<FilterStatus> {
    conn.prepare_cached("SELECT id, filter_id, post_id FROM filter_statuses WHERE id = ?1")?
        .query_row([id], status_row)
        .optional()?
        .ok_or_else(not_found)
}

/// Names a status in a filter; refused (422) when the filter names it already.
pub fn add_status(conn: &Connection, filter_id: i64, post_id: i64, now: i64) -> Result<i64> {
    require_filter(conn, filter_id)?;
    let n = conn
        .prepare_cached(
            "INSERT OR IGNORE INTO filter_statuses (filter_id, post_id, created_at) VALUES (?1, ?2, ?3)",
        )?
        .execute(params![filter_id, post_id, now])?;
    if n == 0 {
        return Err(Error::Unprocessable(
            "Validation failed: Status has already been taken".into(),
        ));
    }
    Ok(conn.last_insert_rowid())
}

/// Removes a status from its filter.
pub fn delete_status(conn: &Connection, id: i64) -> Result<()> {
    let n = conn
        .prepare_cached("DELETE FROM filter_statuses WHERE id = ?1")?
        .execute([id])?;
    if n == 0 {
        return Err(not_found());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::db::{Db, lists, posts};

    #[test]
    fn keywords_and_statuses() {
        let conn = Db::open_in_memory().unwrap();
        let f = lists::Filter {
            id: 0,
            title: "t".into(),
            context: vec!["home".into()],
            action: "warn".into(),
            expires_at: None,
            keywords: vec![],
            statuses: vec![],
        };
        let fid = lists::save_filter(&conn, &f, 1).unwrap();
        let k = add_keyword(&conn, fid, "spoiler", true).unwrap();
        update_keyword(&conn, k, "spoilers", false).unwrap();
        assert_eq!(keyword(&conn, k).unwrap().keyword, "spoilers");
        assert!(matches!(
            add_keyword(&conn, 999, "x", true),
            Err(Error::NotFound(_))
        ));
        posts::insert(
            &conn,
            &posts::sample(7, "https://k/s/7"),
            &posts::Parts::default(),
        )
        .unwrap();
        let s = add_status(&conn, fid, 7, 1).unwrap();
        assert!(matches!(
            add_status(&conn, fid, 7, 1),
            Err(Error::Unprocessable(_))
        ));
        assert_eq!(statuses(&conn, fid).unwrap()[0].id, s);
        delete_status(&conn, s).unwrap();
        delete_keyword(&conn, k).unwrap();
        assert!(matches!(delete_keyword(&conn, k), Err(Error::NotFound(_))));
    }
}
