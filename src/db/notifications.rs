//! Notifications for the owner: who did what, about which post; their group keys (as
//! Mastodon 4.3 groups likes, boosts and follows); and the notification policy's
//! reach: notifications it filters or drops are left out of every list and count here
//! (`db::notification_groups` holds the grouped reads, the policy and its requests).

use crate::error::Result;
use rusqlite::{Connection, params};

/// A stored notification.
#[derive(Debug, Clone, PartialEq)]
pub struct Notification {
    pub id: i64,
    pub kind: String,
    pub actor_id: i64,
    pub post_id: Option<i64>,
    pub extra: Option<String>,
    pub created_at: i64,
    pub read_at: Option<i64>,
    pub group_key: Option<String>,
}

/// The columns [`from_row`] reads.
pub(crate) const COLUMNS: &str =
    "id, kind, actor_id, post_id, extra, created_at, read_at, group_key";

/// Hours a notification group may span from its first notification (Mastodon's).
const GROUP_SPAN_HOURS: i64 = 12;

/// A SQL condition, on a row of `notifications`, that holds when the notification
/// policy hides it: a rule whose setting satisfies `setting` (e.g. `!= 'accept'`)
/// applies to its sender, who is not an accepted request. Reports, edits, polls and
/// moves are never hidden.
pub(crate) fn policy_hides(setting: &str) -> String {
    format!(
        "(notifications.kind NOT IN ('report', 'update', 'poll', 'move')
          AND notifications.actor_id NOT IN (SELECT actor_id FROM notification_requests WHERE state = 'accepted')
          AND EXISTS (SELECT 1 FROM notification_policy pol WHERE
            (pol.for_not_following {setting}
               AND notifications.actor_id NOT IN (SELECT actor_id FROM following WHERE accepted = 1))
            OR (pol.for_not_followers {setting}
               AND notifications.actor_id NOT IN (SELECT actor_id FROM followers WHERE accepted = 1))
            OR (pol.for_private_mentions {setting} AND notifications.kind IN ('mention', 'reply')
               AND notifications.actor_id NOT IN (SELECT actor_id FROM following WHERE accepted = 1)
               AND EXISTS (SELECT 1 FROM posts p WHERE p.id = notifications.post_id AND p.visibility = 'direct'))))"
    )
}

/// The condition of notifications the policy leaves shown.
fn shown() -> String {
    format!("NOT {}", policy_hides("!= 'accept'"))
}

/// The group key prefix of a kind of notification, when that kind is grouped.
fn group_prefix(kind: &str, post_id: Option<i64>) -> Option<String> {
    match (kind, post_id) {
        ("favourite" | "reaction", Some(p)) => Some(format!("favourite-{p}")),
        ("reblog", Some(p)) => Some(format!("reblog-{p}")),
        ("follow", _) => Some("follow".into()),
        _ => None,
    }
}

/// The group key of a new notification: the latest group of its prefix while that
/// group spans less than [`GROUP_SPAN_HOURS`], else a group starting this hour.
fn group_key(
    conn: &Connection,
    kind: &str,
    post_id: Option<i64>,
    now: i64,
) -> Result<Option<String>> {
    use rusqlite::OptionalExtension;
    let Some(prefix) = group_prefix(kind, post_id) else {
        return Ok(None);
    };
    let hour = now / 3_600_000;
    let pattern = format!("{prefix}-%");
    let previous: Option<String> = conn
        .prepare_cached(
            "SELECT group_key FROM notifications WHERE group_key LIKE ?1 ORDER BY id DESC LIMIT 1",
        )?
        .query_row([&pattern], |r| r.get(0))
        .optional()?;
    let bucket = previous
        .and_then(|k| k.rsplit('-').next().and_then(|h| h.parse::<i64>().ok()))
        .filter(|start| hour >= *start && hour < start + GROUP_SPAN_HOURS)
        .unwrap_or(hour);
    Ok(Some(format!("{prefix}-{bucket}")))
}

/// Reads a notification from a row of [`COLUMNS`].
pub(crate) fn from_row(r: &rusqlite::Row) -> rusqlite::Result<Notification> {
    Ok(Notification {
        id: r.get(0)?,
        kind: r.get(1)?,
        actor_id: r.get(2)?,
        post_id: r.get(3)?,
        extra: r.get(4)?,
        created_at: r.get(5)?,
        read_at: r.get(6)?,
        group_key: r.get(7)?,
    })
}

/// Records a notification of `kind` (follow, follow_request, mention, reply, favourite,
/// reblog, reaction, report, update, move); returns its id.
pub fn insert(
    conn: &Connection,
    kind: &str,
    actor_id: i64,
    post_id: Option<i64>,
    extra: Option<&str>,
    now: i64,
) -> Result<i64> {
    let id = crate::ids::at(now);
    let group = group_key(conn, kind, post_id, now)?;
    conn.prepare_cached(
        "INSERT INTO notifications (id, kind, actor_id, post_id, extra, created_at, group_key) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
    )?
    .execute(params![id, kind, actor_id, post_id, extra, now, group])?;
    Ok(id)
}

/// Removes notifications of `kind` from an actor about a post (after an Undo).
pub fn delete_matching(
    conn: &Connection,
    kind: &str,
    actor_id: i64,
    post_id: Option<i64>,
) -> Result<()> {
    conn.prepare_cached(
        "DELETE FROM notifications WHERE kind = ?1 AND actor_id = ?2 AND ifnull(post_id, 0) = ifnull(?3, 0)",
    )?
    .execute(params![kind, actor_id, post_id])?;
    Ok(())
}

/// Notifications newest first, ids below `max_id` and above `min_id`, optionally of some kinds only.
pub fn list(
    conn: &Connection,
    max_id: Option<i64>,
    min_id: Option<i64>,
    kinds: Option<&[String]>,
    limit: i64,
) -> Result<Vec<Notification>> {
    let kinds_json = kinds.map(|k| serde_json::to_string(k).unwrap_or_else(|_| "[]".into()));
    let sql = format!(
        "SELECT {COLUMNS} FROM notifications
         WHERE id < ?1 AND id > ?2 AND (?3 IS NULL OR kind IN (SELECT value FROM json_each(?3)))
           AND {}
         ORDER BY id DESC LIMIT ?4",
        shown()
    );
    let mut stmt = conn.prepare_cached(&sql)?;
    let rows = stmt.query_map(
        params![
            max_id.unwrap_or(i64::MAX),
            min_id.unwrap_or(0),
            kinds_json,
            limit
        ],
        from_row,
    )?;
    Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
}

/// One page of notifications as Mastodon pages them: ids below `max_id` and above
/// `since_id` and `min_id`, newest first. With `min_id` (and no `max_id`) the page is
/// the one right after `min_id`, not the newest: that is what a `rel="prev"` link
/// asks for.
pub fn page(
    conn: &Connection,
    max_id: Option<i64>,
    since_id: Option<i64>,
    min_id: Option<i64>,
    kinds: Option<&[String]>,
    limit: i64,
) -> Result<Vec<Notification>> {
    let ascending = min_id.is_some() && max_id.is_none();
    let lower = since_id.unwrap_or(0).max(min_id.unwrap_or(0));
    let kinds_json = kinds.map(|k| serde_json::to_string(k).unwrap_or_else(|_| "[]".into()));
    let sql = format!(
        "SELECT {COLUMNS} FROM notifications
         WHERE id < ?1 AND id > ?2 AND (?3 IS NULL OR kind IN (SELECT value FROM json_each(?3)))
           AND {}
         ORDER BY id {} LIMIT ?4",
        shown(),
        if ascending { "ASC" } else { "DESC" }
    );
    let mut stmt = conn.prepare_cached(&sql)?;
    let rows = stmt.query_map(
        params![max_id.unwrap_or(i64::MAX), lower, kinds_json, limit],
        from_row,
    )?;
    let mut list = rows.collect::<rusqlite::Result<Vec<_>>>()?;
    if ascending {
        list.reverse();
    }
    Ok(list)
}

/// One notification.
pub fn find(conn: &Connection, id: i64) -> Result<Option<Notification>> {
    use rusqlite::OptionalExtension;
    Ok(conn
        .prepare_cached(&format!(
            "SELECT {COLUMNS} FROM notifications WHERE id = ?1"
        ))?
        .query_row([id], from_row)
        .optional()?)
}

/// Dismisses one notification.
pub fn delete(conn: &Connection, id: i64) -> Result<()> {
    conn.prepare_cached("DELETE FROM notifications WHERE id = ?1")?
        .execute([id])?;
    Ok(())
}

/// Dismisses every notification.
pub fn clear(conn: &Connection) -> Result<()> {
    conn.prepare_cached("DELETE FROM notifications")?
        .execute([])?;
    Ok(())
}

/// Marks notifications up to `id` as read.
pub fn mark_read(conn: &Connection, up_to: i64, now: i64) -> Result<()> {
    conn.prepare_cached(
        "UPDATE notifications SET read_at = ?2 WHERE id <= ?1 AND read_at IS NULL",
    )?
    .execute(params![up_to, now])?;
    Ok(())
}

/// Number of unread notifications.
pub fn count_unread(conn: &Connection) -> Result<i64> {
    Ok(conn
        .prepare_cached(&format!(
            "SELECT count(*) FROM notifications WHERE read_at IS NULL AND {}",
            shown()
        ))?
        .query_row([], |r| r.get(0))?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::db::{Db, actors};

    #[test]
    fn insert_list_filter_delete() {
        let conn = Db::open_in_memory().unwrap();
        let a = actors::upsert(&conn, &actors::sample("https://r.example/users/bob")).unwrap();
        insert(&conn, "follow", a, None, None, 1000).unwrap();
        insert(&conn, "mention", a, None, None, 2000).unwrap();
        assert_eq!(list(&conn, None, None, None, 10).unwrap().len(), 2);
        let only = list(&conn, None, None, Some(&["follow".to_string()]), 10).unwrap();
        assert_eq!(only.len(), 1);
        assert_eq!(only[0].kind, "follow");
        // Paging: since_id gives the newest above it, min_id the ones right after it.
        for t in [3000, 4000, 5000] {
            insert(&conn, "favourite", a, None, None, t).unwrap();
        }
        let ids: Vec<i64> = list(&conn, None, None, None, 10)
            .unwrap()
            .iter()
            .map(|n| n.id)
            .collect();
        let got = |v: Vec<Notification>| v.iter().map(|n| n.id).collect::<Vec<_>>();
        assert_eq!(
            got(page(&conn, None, Some(ids[4]), None, None, 2).unwrap()),
            vec![ids[0], ids[1]]
        );
        assert_eq!(
            got(page(&conn, None, None, Some(ids[4]), None, 2).unwrap()),
            vec![ids[2], ids[3]]
        );
        assert_eq!(
            got(page(&conn, Some(ids[0]), None, Some(ids[3]), None, 10).unwrap()),
            vec![ids[1], ids[2]]
        );
        conn.execute("DELETE FROM notifications WHERE kind = 'favourite'", [])
            .unwrap();
        delete_matching(&conn, "follow", a, None).unwrap();
        assert_eq!(list(&conn, None, None, None, 10).unwrap().len(), 1);
    }
}
