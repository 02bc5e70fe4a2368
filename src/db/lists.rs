//! The owner's lists of accounts and keyword filters.

use crate::error::{Error, Result};
use rusqlite::{Connection, OptionalExtension, params};

/// A list of accounts.
#[derive(Debug, Clone, PartialEq)]
pub struct List {
    pub id: i64,
    pub title: String,
    pub replies_policy: String,
    pub exclusive: bool,
}

/// A keyword filter with its keywords: (id, keyword, whole word), and the statuses it
/// names: (filter status id, post id).
#[derive(Debug, Clone, PartialEq)]
pub struct Filter {
    pub id: i64,
    pub title: String,
    pub context: Vec<String>,
    pub action: String,
    pub expires_at: Option<i64>,
    pub keywords: Vec<(i64, String, bool)>,
    pub statuses: Vec<(i64, i64)>,
}

/// All lists.
pub fn list_all(conn: &Connection) -> Result<Vec<List>> {
    let mut stmt =
        conn.prepare_cached("SELECT id, title, replies_policy, exclusive FROM lists ORDER BY id")?;
    let rows = stmt.query_map([], |r| {
        Ok(List {
            id: r.get(0)?,
            title: r.get(1)?,
            replies_policy: r.get(2)?,
            exclusive: r.get(3)?,
        })
    })?;
    Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
}

/// One list.
pub fn get(conn: &Connection, id: i64) -> Result<List> {
    conn.prepare_cached("SELECT id, title, replies_policy, exclusive FROM lists WHERE id = ?1")?
        .query_row([id], |r| {
            Ok(List {
                id: r.get(0)?,
                title: r.get(1)?,
                replies_policy: r.get(2)?,
                exclusive: r.get(3)?,
            })
        })
        .optional()?
        .ok_or_else(|| Error::NotFound("Record not found".into()))
}

/// Creates or (with `id`) updates a list; returns its id.
pub fn save(
    conn: &Connection,
    id: Option<i64>,
    title: &str,
    replies_policy: &str,
    exclusive: bool,
    now: i64,
) -> Result<i64> {
    match id {
        Some(id) => {
            get(conn, id)?;
            conn.prepare_cached(
                "UPDATE lists SET title = ?2, replies_policy = ?3, exclusive = ?4 WHERE id = ?1",
            )?
            .execute(params![id, title, replies_policy, exclusive])?;
            Ok(id)
        }
        None => {
            conn.prepare_cached("INSERT INTO lists (title, replies_policy, exclusive, created_at) VALUES (?1, ?2, ?3, ?4)")?
                .execute(params![title, replies_policy, exclusive, now])?;
            Ok(conn.last_insert_rowid())
        }
    }
}

/// Deletes a list.
pub fn delete(conn: &Connection, id: i64) -> Result<()> {
    get(conn, id)?;
    conn.prepare_cached("DELETE FROM lists WHERE id = ?1")?
        .execute([id])?;
    Ok(())
}

/// The actor ids on a list.
pub fn members(conn: &Connection, id: i64) -> Result<Vec<i64>> {
    let mut stmt = conn
        .prepare_cached("SELECT actor_id FROM list_members WHERE list_id = ?1 ORDER BY actor_id")?;
    let rows = stmt.query_map([id], |r| r.get(0))?;
    Ok(rows.collect::<rusqlite::Result<Vec<i64>>>()?)
}

/// Adds or removes a member.
pub fn set_member(conn: &Connection, list_id: i64, actor_id: i64, on: bool) -> Result<()> {
    if on {
        conn.prepare_cached(
            "INSERT OR IGNORE INTO list_members (list_id, actor_id) VALUES (?1, ?2)",
        )?
        .execute(params![list_id, actor_id])?;
    } else {
        conn.prepare_cached("DELETE FROM list_members WHERE list_id = ?1 AND actor_id = ?2")?
            .execute(params![list_id, actor_id])?;
    }
    Ok(())
}

/// All filters with their keywords.
pub fn filters(conn: &Connection) -> Result<Vec<Filter>> {
    let mut stmt = conn.prepare_cached(
        "SELECT id, title, context_json, action, expires_at FROM filters ORDER BY id",
    )?;
    let rows = stmt.query_map([], |r| {
        Ok(Filter {
            id: r.get(0)?,
            title: r.get(1)?,
            context: serde_json::from_str(&r.get::<_, String>(2)?).unwrap_or_default(),
            action: r.get(3)?,
            expires_at: r.get(4)?,
            keywords: Vec::new(),
            statuses: Vec::new(),
        })
    })?;
    let mut out = rows.collect::<rusqlite::Result<Vec<_>>>()?;
    for f in &mut out {
        let mut kw = conn.prepare_cached(
            "SELECT id, keyword, whole_word FROM filter_keywords WHERE filter_id = ?1 ORDER BY id",
        )?;
        let rows = kw.query_map([f.id], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?;
        f.keywords = rows.collect::<rusqlite::Result<Vec<_>>>()?;
        f.statuses = crate::db::filters::statuses(conn, f.id)?
            .into_iter()
            .map(|s| (s.id, s.post_id))
            .collect();
    }
    Ok(out)
}

/// Creates or (with `f.id` > 0) replaces a filter and its keywords; returns its id.
pub fn save_filter(conn: &Connection, f: &Filter, now: i64) -> Result<i64> {
    let context = serde_json::to_string(&f.context)?;
    let id = if f.id > 0 {
        let n = conn
            .prepare_cached("UPDATE filters SET title = ?2, context_json = ?3, action = ?4, expires_at = ?5 WHERE id = ?1")?
            .execute(params![f.id, f.title, context, f.action, f.expires_at])?;
        if n == 0 {
            return Err(Error::NotFound("Record not found".into()));
        }
        conn.prepare_cached("DELETE FROM filter_keywords WHERE filter_id = ?1")?
            .execute([f.id])?;
        f.id
    } else {
        conn.prepare_cached("INSERT INTO filters (title, context_json, action, expires_at, created_at) VALUES (?1, ?2, ?3, ?4, ?5)")?
            .execute(params![f.title, context, f.action, f.expires_at, now])?;
        conn.last_insert_rowid()
    };
    for (_, keyword, whole) in &f.keywords {
        conn.prepare_cached(
            "INSERT INTO filter_keywords (filter_id, keyword, whole_word) VALUES (?1, ?2, ?3)",
        )?
        .execute(params![id, keyword, whole])?;
    }
    Ok(id)
}

/// Deletes a filter.
pub fn delete_filter(conn: &Connection, id: i64) -> Result<()> {
    let n = conn
        .prepare_cached("DELETE FROM filters WHERE id = ?1")?
        .execute([id])?;
    if n == 0 {
        Err(Error::NotFound("Record not found".into()))
    } else {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::db::{Db, actors};

    #[test]
    fn lists_and_filters() {
        let conn = Db::open_in_memory().unwrap();
        let id = save(&conn, None, "friends", "list", false, 1).unwrap();
        let a = actors::upsert(&conn, &actors::sample("https://r.example/users/bob")).unwrap();
        set_member(&conn, id, a, true).unwrap();
        assert_eq!(members(&conn, id).unwrap(), vec![a]);
        save(&conn, Some(id), "pals", "none", true, 1).unwrap();
        assert_eq!(get(&conn, id).unwrap().title, "pals");
        delete(&conn, id).unwrap();
        assert!(get(&conn, id).is_err());
        let f = Filter {
            id: 0,
            title: "spoilers".into(),
            context: vec!["home".into()],
            action: "hide".into(),
            expires_at: None,
            keywords: vec![(0, "finale".into(), true)],
            statuses: vec![],
        };
        let fid = save_filter(&conn, &f, 1).unwrap();
        assert_eq!(filters(&conn).unwrap()[0].keywords[0].1, "finale");
        delete_filter(&conn, fid).unwrap();
        assert!(filters(&conn).unwrap().is_empty());
    }
}
