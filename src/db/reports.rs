//! Reports the owner makes about other accounts (the Flags kith receives are in
//! `reports`, see `db::favourites`), and direct conversations the owner removed from
//! the conversation list.

use crate::error::Result;
use rusqlite::{Connection, OptionalExtension, params};

/// A report the owner made.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct OwnReport {
    pub id: i64,
    pub actor_id: i64,
    pub status_ids: Vec<i64>,
    pub comment: String,
    pub category: String,
    pub rule_ids: Vec<String>,
    pub forwarded: bool,
    pub created_at: i64,
}

/// Stores a report; returns its id.
pub fn insert(conn: &Connection, r: &OwnReport) -> Result<i64> {
    let id = crate::ids::at(r.created_at);
    conn.prepare_cached(
        "INSERT INTO own_reports (id, actor_id, status_ids_json, comment, category, rule_ids_json, forwarded, created_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
    )?
    .execute(params![
        id,
        r.actor_id,
        serde_json::to_string(&r.status_ids)?,
        r.comment,
        r.category,
        serde_json::to_string(&r.rule_ids)?,
        r.forwarded,
        r.created_at
    ])?;
    Ok(id)
}

/// One report the owner made.
pub fn find(conn: &Connection, id: i64) -> Result<Option<OwnReport>> {
    Ok(conn
        .prepare_cached(
            "SELECT id, actor_id, status_ids_json, comment, category, rule_ids_json, forwarded, created_at
             FROM own_reports WHERE id = ?1",
        )?
        .query_row([id], |r| {
            Ok(OwnReport {
                id: r.get(0)?,
                actor_id: r.get(1)?,
                status_ids: serde_json::from_str(&r.get::<_, String>(2)?).unwrap_or_default(),
                comment: r.get(3)?,
                category: r.get(4)?,
                rule_ids: serde_json::from_str(&r.get::<_, String>(5)?).unwrap_or_default(),
                forwarded: r.get(6)?,
                created_at: r.get(7)?,
            })
        })
        .optional()?)
}

/// Removes a direct conversation (named by its post) from the conversation list.
pub fn hide_conversation(conn: &Connection, post_id: i64, now: i64) -> Result<()> {
    conn.prepare_cached(
        "INSERT OR IGNORE INTO hidden_conversations (post_id, created_at) VALUES (?1, ?2)",
    )?
    .execute(params![post_id, now])?;
    Ok(())
}

/// Whether a conversation was removed from the list.
pub fn is_hidden(conn: &Connection, post_id: i64) -> Result<bool> {
    Ok(conn
        .prepare_cached("SELECT 1 FROM hidden_conversations WHERE post_id = ?1")?
        .query_row([post_id], |_| Ok(()))
        .optional()?
        .is_some())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::db::{Db, actors};

    #[test]
    fn reports_round_trip() {
        let conn = Db::open_in_memory().unwrap();
        let a = actors::upsert(&conn, &actors::sample("https://r.example/users/bob")).unwrap();
        let r = OwnReport {
            actor_id: a,
            status_ids: vec![3],
            comment: "spam".into(),
            category: "spam".into(),
            forwarded: true,
            created_at: 1000,
            ..OwnReport::default()
        };
        let id = insert(&conn, &r).unwrap();
        let back = find(&conn, id).unwrap().unwrap();
        assert_eq!(back.status_ids, vec![3]);
        assert!(back.forwarded);
    }
}
