//! Follow relationships: whom the owner follows (`following`) and who follows the
//! owner (`followers`, where `accepted = 0` is a pending follow request).

use crate::db::actors::RemoteActor;
use crate::error::Result;
use rusqlite::{Connection, OptionalExtension, params};

/// A follow in either direction.
#[derive(Debug, Clone, PartialEq)]
pub struct Follow {
    pub actor_id: i64,
    pub activity_uri: String,
    pub accepted: bool,
    pub created_at: i64,
}

fn table(outgoing: bool) -> &'static str {
    if outgoing { "following" } else { "followers" }
}

/// Records a follow (outgoing: the owner follows `actor_id`; incoming: they follow the owner).
pub fn upsert(
    conn: &Connection,
    outgoing: bool,
    actor_id: i64,
    activity_uri: &str,
    accepted: bool,
    now: i64,
) -> Result<()> {
    let sql = format!(
        "INSERT INTO {} (actor_id, activity_uri, accepted, created_at) VALUES (?1, ?2, ?3, ?4)
         ON CONFLICT(actor_id) DO UPDATE SET activity_uri = excluded.activity_uri, accepted = excluded.accepted",
        table(outgoing)
    );
    conn.prepare_cached(&sql)?
        .execute(params![actor_id, activity_uri, accepted, now])?;
    Ok(())
}

/// The follow with this actor, if any.
pub fn find(conn: &Connection, outgoing: bool, actor_id: i64) -> Result<Option<Follow>> {
    let sql = format!(
        "SELECT actor_id, activity_uri, accepted, created_at FROM {} WHERE actor_id = ?1",
        table(outgoing)
    );
    Ok(conn
        .prepare_cached(&sql)?
        .query_row([actor_id], |r| {
            Ok(Follow {
                actor_id: r.get(0)?,
                activity_uri: r.get(1)?,
                accepted: r.get(2)?,
                created_at: r.get(3)?,
            })
        })
        .optional()?)
}

/// The outgoing follow whose Follow activity had this id.
#[cfg(test)]
pub fn find_outgoing_by_activity(conn: &Connection, activity_uri: &str) -> Result<Option<Follow>> {
    Ok(conn
        .prepare_cached("SELECT actor_id, activity_uri, accepted, created_at FROM following WHERE activity_uri = ?1")?
        .query_row([activity_uri], |r| {
            Ok(Follow { actor_id: r.get(0)?, activity_uri: r.get(1)?, accepted: r.get(2)?, created_at: r.get(3)? })
        })
        .optional()?)
}

/// Marks a follow accepted.
pub fn accept(conn: &Connection, outgoing: bool, actor_id: i64) -> Result<bool> {
    let sql = format!(
        "UPDATE {} SET accepted = 1 WHERE actor_id = ?1",
        table(outgoing)
    );
    Ok(conn.prepare_cached(&sql)?.execute([actor_id])? > 0)
}

/// Marks an incoming follow as having arrived through a `Move`.
pub fn mark_via_move(conn: &Connection, actor_id: i64) -> Result<()> {
    conn.prepare_cached("UPDATE followers SET via_move = 1 WHERE actor_id = ?1")?
        .execute([actor_id])?;
    Ok(())
}

/// Removes a follow; returns the removed row.
pub fn delete(conn: &Connection, outgoing: bool, actor_id: i64) -> Result<Option<Follow>> {
    let found = find(conn, outgoing, actor_id)?;
    if found.is_some() {
        let sql = format!("DELETE FROM {} WHERE actor_id = ?1", table(outgoing));
        conn.prepare_cached(&sql)?.execute([actor_id])?;
    }
    Ok(found)
}

/// Accepted counts: (followers, following).
pub fn counts(conn: &Connection) -> Result<(i64, i64)> {
    let followers = conn
        .prepare_cached("SELECT count(*) FROM followers WHERE accepted = 1")?
        .query_row([], |r| r.get(0))?;
    let following = conn
        .prepare_cached("SELECT count(*) FROM following WHERE accepted = 1")?
        .query_row([], |r| r.get(0))?;
    Ok((followers, following))
}

/// Accepted follows in one direction with their actors, newest first, paged by `created_at`.
pub fn list(
    conn: &Connection,
    outgoing: bool,
    accepted: bool,
    before: Option<i64>,
    limit: i64,
) -> Result<Vec<(Follow, RemoteActor)>> {
    let sql = format!(
        "SELECT actor_id, activity_uri, accepted, created_at FROM {} WHERE accepted = ?1 AND created_at < ?2
         ORDER BY created_at DESC, actor_id DESC LIMIT ?3",
        table(outgoing)
    );
    let mut stmt = conn.prepare_cached(&sql)?;
    let rows = stmt.query_map(params![accepted, before.unwrap_or(i64::MAX), limit], |r| {
        Ok(Follow {
            actor_id: r.get(0)?,
            activity_uri: r.get(1)?,
            accepted: r.get(2)?,
            created_at: r.get(3)?,
        })
    })?;
    let follows = rows.collect::<rusqlite::Result<Vec<_>>>()?;
    follows
        .into_iter()
        .map(|f| Ok((f.clone(), crate::db::actors::get(conn, f.actor_id)?)))
        .collect()
}

/// The inboxes of accepted followers, shared inboxes preferred, deduplicated.
pub fn follower_inboxes(conn: &Connection) -> Result<Vec<String>> {
    let mut stmt = conn.prepare_cached(
        "SELECT DISTINCT coalesce(a.shared_inbox, a.inbox) FROM followers f JOIN actors a ON a.id = f.actor_id
         WHERE f.accepted = 1 AND a.gone_at IS NULL",
    )?;
    let rows = stmt.query_map([], |r| r.get(0))?;
    Ok(rows.collect::<rusqlite::Result<Vec<String>>>()?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::db::{Db, actors};

    #[test]
    fn follow_lifecycle() {
        let conn = Db::open_in_memory().unwrap();
        let a = actors::upsert(&conn, &actors::sample("https://remote.example/users/bob")).unwrap();
        let b =
            actors::upsert(&conn, &actors::sample("https://remote.example/users/carol")).unwrap();
        upsert(&conn, false, a, "https://remote.example/f/1", false, 1).unwrap();
        upsert(&conn, false, b, "https://remote.example/f/2", true, 2).unwrap();
        assert_eq!(counts(&conn).unwrap(), (1, 0));
        assert!(accept(&conn, false, a).unwrap());
        assert_eq!(counts(&conn).unwrap(), (2, 0));
        assert_eq!(
            follower_inboxes(&conn).unwrap(),
            vec!["https://remote.example/inbox".to_string()]
        );
        upsert(&conn, true, a, "https://kith.example/f/9", false, 3).unwrap();
        assert_eq!(
            find_outgoing_by_activity(&conn, "https://kith.example/f/9")
                .unwrap()
                .unwrap()
                .actor_id,
            a
        );
        let listed = list(&conn, false, true, None, 10).unwrap();
        assert_eq!(listed.len(), 2);
        assert_eq!(listed[0].1.uri, "https://remote.example/users/carol");
        assert!(delete(&conn, false, a).unwrap().is_some());
        assert!(delete(&conn, false, a).unwrap().is_none());
    }
}
