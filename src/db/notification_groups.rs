//! Grouped notifications and the notification policy: the members of a group by its
//! key, dismissing a group, counting unread groups; the policy's one row; and the
//! notification requests it makes (senders whose notifications a `filter` rule holds
//! back), accepted or dismissed. What the policy hides is `db::notifications`'s
//! `policy_hides`.

use crate::db::notifications::{COLUMNS, Notification, from_row, policy_hides};
use crate::error::{Error, Result};
use rusqlite::{Connection, OptionalExtension, params};

/// The notifications of a group (`ungrouped-<id>` or a stored group key) that the
/// policy shows, newest first.
pub fn members(conn: &Connection, key: &str) -> Result<Vec<Notification>> {
    let shown = format!("NOT {}", policy_hides("!= 'accept'"));
    if let Some(id) = key.strip_prefix("ungrouped-") {
        let Ok(id) = id.parse::<i64>() else {
            return Ok(Vec::new());
        };
        let sql = format!("SELECT {COLUMNS} FROM notifications WHERE id = ?1 AND {shown}");
        let found = conn
            .prepare_cached(&sql)?
            .query_row([id], from_row)
            .optional()?;
        return Ok(found.into_iter().collect());
    }
    let sql = format!(
        "SELECT {COLUMNS} FROM notifications WHERE group_key = ?1 AND {shown} ORDER BY id DESC"
    );
    let mut stmt = conn.prepare_cached(&sql)?;
    let rows = stmt.query_map([key], from_row)?;
    Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
}

/// Dismisses every notification of a group; `NotFound` when it has none.
pub fn dismiss(conn: &Connection, key: &str) -> Result<()> {
    let ids: Vec<i64> = members(conn, key)?.iter().map(|n| n.id).collect();
    if ids.is_empty() {
        return Err(Error::NotFound("Record not found".into()));
    }
    for id in ids {
        crate::db::notifications::delete(conn, id)?;
    }
    Ok(())
}

/// The number of groups with an unread notification the policy shows, up to `limit`.
pub fn unread_groups(conn: &Connection, limit: i64) -> Result<i64> {
    let sql = format!(
        "SELECT count(*) FROM (SELECT DISTINCT coalesce(group_key, 'ungrouped-' || id) FROM notifications
         WHERE read_at IS NULL AND NOT {} LIMIT ?1)",
        policy_hides("!= 'accept'")
    );
    Ok(conn
        .prepare_cached(&sql)?
        .query_row([limit], |r| r.get(0))?)
}

/// The notification policy: for each kind of sender, `accept`, `filter` or `drop`.
#[derive(Debug, Clone, PartialEq)]
pub struct Policy {
    pub for_not_following: String,
    pub for_not_followers: String,
    pub for_new_accounts: String,
    pub for_private_mentions: String,
    pub for_limited_accounts: String,
}

/// The stored policy.
pub fn policy(conn: &Connection) -> Result<Policy> {
    Ok(conn
        .prepare_cached(
            "SELECT for_not_following, for_not_followers, for_new_accounts, for_private_mentions,
                    for_limited_accounts FROM notification_policy WHERE id = 1",
        )?
        .query_row([], |r| {
            Ok(Policy {
                for_not_following: r.get(0)?,
                for_not_followers: r.get(1)?,
                for_new_accounts: r.get(2)?,
                for_private_mentions: r.get(3)?,
                for_limited_accounts: r.get(4)?,
            })
        })?)
}

/// Stores the policy.
pub fn set_policy(conn: &Connection, p: &Policy) -> Result<()> {
    conn.prepare_cached(
        "UPDATE notification_policy SET for_not_following = ?1, for_not_followers = ?2,
            for_new_accounts = ?3, for_private_mentions = ?4, for_limited_accounts = ?5 WHERE id = 1",
    )?
    .execute(params![
        p.for_not_following,
        p.for_not_followers,
        p.for_new_accounts,
        p.for_private_mentions,
        p.for_limited_accounts
    ])?;
    Ok(())
}

/// A pending notification request: a sender whose notifications a `filter` rule holds.
#[derive(Debug, Clone, PartialEq)]
pub struct Request {
    pub actor_id: i64,
    pub count: i64,
    pub first_at: i64,
    pub last_at: i64,
    pub last_post_id: Option<i64>,
}

/// The condition of notifications held for a request: hidden by a `filter` rule and
/// by no `drop` rule.
fn held() -> String {
    format!(
        "{} AND NOT {}",
        policy_hides("= 'filter'"),
        policy_hides("= 'drop'")
    )
}

/// Pending requests, the most recently active first, with sender ids below `max_id`.
pub fn requests(conn: &Connection, max_id: Option<i64>, limit: i64) -> Result<Vec<Request>> {
    let sql = format!(
        "SELECT actor_id, count(*), min(created_at), max(created_at),
                (SELECT n2.post_id FROM notifications n2 WHERE n2.actor_id = notifications.actor_id
                   AND n2.post_id IS NOT NULL ORDER BY n2.id DESC LIMIT 1)
         FROM notifications WHERE {} AND actor_id < ?1
         GROUP BY actor_id ORDER BY actor_id DESC LIMIT ?2",
        held()
    );
    let mut stmt = conn.prepare_cached(&sql)?;
    let rows = stmt.query_map(params![max_id.unwrap_or(i64::MAX), limit], |r| {
        Ok(Request {
            actor_id: r.get(0)?,
            count: r.get(1)?,
            first_at: r.get(2)?,
            last_at: r.get(3)?,
            last_post_id: r.get(4)?,
        })
    })?;
    Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
}

/// The pending request of one sender; `NotFound` when there is none.
pub fn request(conn: &Connection, actor_id: i64) -> Result<Request> {
    requests(conn, Some(actor_id + 1), 1)?
        .into_iter()
        .find(|r| r.actor_id == actor_id)
        .ok_or_else(|| Error::NotFound("Record not found".into()))
}

/// The numbers of pending requests and of the notifications they hold.
pub fn pending_counts(conn: &Connection) -> Result<(i64, i64)> {
    let sql = format!(
        "SELECT count(DISTINCT actor_id), count(*) FROM notifications WHERE {}",
        held()
    );
    Ok(conn
        .prepare_cached(&sql)?
        .query_row([], |r| Ok((r.get(0)?, r.get(1)?)))?)
}

/// Accepts a request: the sender's notifications are shown from now on.
pub fn accept(conn: &Connection, actor_id: i64, now: i64) -> Result<()> {
    request(conn, actor_id)?;
    conn.prepare_cached(
        "INSERT INTO notification_requests (actor_id, state, updated_at) VALUES (?1, 'accepted', ?2)
         ON CONFLICT (actor_id) DO UPDATE SET state = 'accepted', updated_at = ?2",
    )?
    .execute(params![actor_id, now])?;
    Ok(())
}

/// Dismisses a request: the notifications it holds are deleted.
pub fn dismiss_request(conn: &Connection, actor_id: i64) -> Result<()> {
    request(conn, actor_id)?;
    let sql = format!(
        "DELETE FROM notifications WHERE actor_id = ?1 AND {}",
        held()
    );
    conn.prepare_cached(&sql)?.execute([actor_id])?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::db::{Db, actors, notifications};

    #[test]
    fn groups_policy_and_requests() {
        let conn = Db::open_in_memory().unwrap();
        let a = actors::upsert(&conn, &actors::sample("https://r.example/users/bob")).unwrap();
        let c = actors::upsert(&conn, &actors::sample("https://r.example/users/carol")).unwrap();
        crate::db::posts::insert(
            &conn,
            &crate::db::posts::sample(9, "https://k/s/9"),
            &crate::db::posts::Parts::default(),
        )
        .unwrap();
        let hour = 3_600_000;
        let n1 = notifications::insert(&conn, "favourite", a, Some(9), None, 100 * hour).unwrap();
        let n2 = notifications::insert(&conn, "favourite", c, Some(9), None, 111 * hour).unwrap();
        // Twelve hours after the group began, a new group starts.
        let n3 = notifications::insert(&conn, "favourite", a, Some(9), None, 112 * hour).unwrap();
        let key = notifications::find(&conn, n1)
            .unwrap()
            .unwrap()
            .group_key
            .unwrap();
        assert_eq!(key, "favourite-9-100");
        assert_eq!(
            members(&conn, &key)
                .unwrap()
                .iter()
                .map(|n| n.id)
                .collect::<Vec<_>>(),
            vec![n2, n1]
        );
        assert_eq!(
            notifications::find(&conn, n3)
                .unwrap()
                .unwrap()
                .group_key
                .unwrap(),
            "favourite-9-112"
        );
        assert_eq!(unread_groups(&conn, 100).unwrap(), 2);

        // Filtering senders not followed: both are held as requests.
        let mut p = policy(&conn).unwrap();
        p.for_not_following = "filter".into();
        set_policy(&conn, &p).unwrap();
        assert_eq!(
            notifications::list(&conn, None, None, None, 10)
                .unwrap()
                .len(),
            0
        );
        assert_eq!(pending_counts(&conn).unwrap(), (2, 3));
        accept(&conn, a, 1).unwrap();
        assert_eq!(
            notifications::list(&conn, None, None, None, 10)
                .unwrap()
                .len(),
            2
        );
        dismiss_request(&conn, c).unwrap();
        assert_eq!(pending_counts(&conn).unwrap(), (0, 0));
        assert!(matches!(request(&conn, c), Err(Error::NotFound(_))));
        // Dropping: hidden, and no request.
        let d = actors::upsert(&conn, &actors::sample("https://r.example/users/dan")).unwrap();
        notifications::insert(&conn, "mention", d, None, None, 200 * hour).unwrap();
        p.for_not_following = "drop".into();
        set_policy(&conn, &p).unwrap();
        assert_eq!(pending_counts(&conn).unwrap(), (0, 0));
        assert_eq!(
            notifications::list(&conn, None, None, None, 10)
                .unwrap()
                .len(),
            2
        );
    }
}
