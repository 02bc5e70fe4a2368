//! The sizes remote accounts give for their collections (followers, following, posts),
//! as last fetched for the web UI's account page.

use crate::error::Result;
use rusqlite::{Connection, OptionalExtension, params};

/// A remote account's counts; `None` where its server did not say.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Counts {
    pub followers: Option<i64>,
    pub following: Option<i64>,
    pub statuses: Option<i64>,
    /// When they were fetched (Unix ms).
    pub fetched_at: i64,
}

/// The counts last fetched for an actor, if any.
pub fn find(conn: &Connection, actor_id: i64) -> Result<Option<Counts>> {
    Ok(conn
        .prepare_cached(
            "SELECT followers, following, statuses, fetched_at FROM actor_counts WHERE actor_id = ?1",
        )?
        .query_row([actor_id], |r| {
            Ok(Counts {
                followers: r.get(0)?,
                following: r.get(1)?,
                statuses: r.get(2)?,
                fetched_at: r.get(3)?,
            })
        })
        .optional()?)
}

/// Stores freshly fetched counts for an actor, replacing older ones.
pub fn upsert(conn: &Connection, actor_id: i64, c: &Counts) -> Result<()> {
    conn.prepare_cached(
        "INSERT INTO actor_counts (actor_id, followers, following, statuses, fetched_at)
         VALUES (?1, ?2, ?3, ?4, ?5)
         ON CONFLICT (actor_id) DO UPDATE SET followers = ?2, following = ?3, statuses = ?4,
             fetched_at = ?5",
    )?
    .execute(params![
        actor_id,
        c.followers,
        c.following,
        c.statuses,
        c.fetched_at
    ])?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stored_and_replaced() {
        let conn = crate::db::Db::open_in_memory().unwrap();
        conn.execute(
            "INSERT INTO actors (id, uri, domain, inbox, fetched_at) VALUES (7, 'https://a.example/u', 'a.example', 'https://a.example/i', 0)",
            [],
        )
        .unwrap();
        assert_eq!(find(&conn, 7).unwrap(), None);
        let c = Counts {
            followers: Some(3),
            following: None,
            statuses: Some(10),
            fetched_at: 5,
        };
        upsert(&conn, 7, &c).unwrap();
        assert_eq!(find(&conn, 7).unwrap(), Some(c.clone()));
        let newer = Counts {
            followers: Some(4),
            fetched_at: 6,
            ..c
        };
        upsert(&conn, 7, &newer).unwrap();
        assert_eq!(find(&conn, 7).unwrap(), Some(newer));
    }
}
