//! The inbox queue (verified activities waiting for the inbox worker) and the
//! seen-activity ids that make redeliveries no-ops, plus the "is there work" check
//! that `workers::settle` uses across both queues.

use crate::error::Result;
use rusqlite::{Connection, params};

/// How long accepted activity ids are remembered (7 days, past Mastodon's retry window).
pub const SEEN_TTL_MS: i64 = 7 * 24 * 3600 * 1000;

/// A queued inbound activity.
#[derive(Debug, Clone)]
pub struct Queued {
    pub id: i64,
    pub activity_id: String,
    pub signer_uri: String,
    pub body: String,
    pub attempts: i64,
}

/// Shards of the inbox queue: each inbox worker takes the shards `i mod workers`.
pub const SHARDS: i64 = 64;

/// The shard of a signer (FNV-1a of its URI), so one signer's activities stay in order.
pub fn shard_of(signer_uri: &str) -> i64 {
    let hash = signer_uri.bytes().fold(0xcbf2_9ce4_8422_2325u64, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    });
    (hash % SHARDS as u64) as i64
}

/// A verified activity waiting to be queued: its id, its signer and the signer's host.
#[derive(Debug, Clone, Copy)]
pub struct Incoming<'a> {
    pub activity_id: &'a str,
    pub signer_uri: &'a str,
    /// The host (`host[:port]`) of the signer's actor id, part of the seen-id key.
    pub signer_host: &'a str,
    pub body: &'a str,
    /// The delivery's `Date` against kith's clock (ms, positive when the peer is
    /// behind), when it sent one; `kith doctor` reads it.
    pub skew_ms: Option<i64>,
}

/// Queues a verified activity unless its signer's host sent that id before; returns
/// whether it was new.
pub fn enqueue(conn: &Connection, a: Incoming, now: i64) -> Result<bool> {
    let Incoming {
        activity_id,
        signer_uri,
        signer_host,
        body,
        skew_ms,
    } = a;
    let fresh = conn
        .prepare_cached(
            "INSERT OR IGNORE INTO seen_activities (signer_host, activity_id, seen_at, skew_ms)
             VALUES (?1, ?2, ?3, ?4)",
        )?
        .execute(params![signer_host, activity_id, now, skew_ms])?;
    if fresh == 0 {
        return Ok(false);
    }
    conn.prepare_cached(
        "INSERT OR IGNORE INTO inbox_queue (activity_id, signer_uri, shard, body, received_at)
         VALUES (?1, ?2, ?3, ?4, ?5)",
    )?
    .execute(params![
        activity_id,
        signer_uri,
        shard_of(signer_uri),
        body,
        now
    ])?;
    Ok(true)
}

/// The oldest queued activities of worker `worker` out of `workers`, at most `limit`.
pub fn list_batch(conn: &Connection, worker: i64, workers: i64, limit: i64) -> Result<Vec<Queued>> {
    let mut stmt = conn.prepare_cached(
        "SELECT id, activity_id, signer_uri, body, attempts FROM inbox_queue
         WHERE shard % ?2 = ?1 ORDER BY id LIMIT ?3",
    )?;
    let rows = stmt.query_map(params![worker, workers.max(1), limit], |r| {
        Ok(Queued {
            id: r.get(0)?,
            activity_id: r.get(1)?,
            signer_uri: r.get(2)?,
            body: r.get(3)?,
            attempts: r.get(4)?,
        })
    })?;
    Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
}

/// Removes a processed activity from the queue.
pub fn delete(conn: &Connection, id: i64) -> Result<()> {
    conn.prepare_cached("DELETE FROM inbox_queue WHERE id = ?1")?
        .execute([id])?;
    Ok(())
}

/// Records a failed attempt to process a queued activity.
pub fn record_failure(conn: &Connection, id: i64, error: &str) -> Result<()> {
    conn.prepare_cached(
        "UPDATE inbox_queue SET attempts = attempts + 1, last_error = ?2 WHERE id = ?1",
    )?
    .execute(params![id, error])?;
    Ok(())
}

/// Whether an activity id was accepted before from a signer on `signer_host`.
#[cfg(test)]
pub fn was_seen(conn: &Connection, signer_host: &str, activity_id: &str) -> Result<bool> {
    use rusqlite::OptionalExtension;
    Ok(conn
        .prepare_cached(
            "SELECT 1 FROM seen_activities WHERE signer_host = ?1 AND activity_id = ?2",
        )?
        .query_row([signer_host, activity_id], |_| Ok(()))
        .optional()?
        .is_some())
}

/// Forgets activity ids older than the TTL.
pub fn prune_seen(conn: &Connection, now: i64) -> Result<usize> {
    Ok(conn
        .prepare_cached("DELETE FROM seen_activities WHERE seen_at < ?1")?
        .execute([now - SEEN_TTL_MS])?)
}

/// Whether any inbound activity is queued or any delivery, push job or link preview
/// fetch is due now or in flight.
pub fn pending_work(conn: &Connection, now: i64) -> Result<bool> {
    let inbox: bool = conn
        .prepare_cached("SELECT EXISTS (SELECT 1 FROM inbox_queue)")?
        .query_row([], |r| r.get(0))?;
    let deliveries: bool = conn
        .prepare_cached(
            "SELECT EXISTS (SELECT 1 FROM deliveries WHERE next_at <= ?1 OR claimed_until > ?1)",
        )?
        .query_row([now], |r| r.get(0))?;
    Ok(inbox
        || deliveries
        || crate::db::push::pending_work(conn, now)?
        || crate::db::cards::pending_work(conn, now)?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::db::Db;

    fn incoming<'a>(id: &'a str, host: &'a str) -> Incoming<'a> {
        Incoming {
            activity_id: id,
            signer_uri: "https://r.example/u",
            signer_host: host,
            body: "{}",
            skew_ms: None,
        }
    }

    #[test]
    fn redelivery_is_a_no_op() {
        let conn = Db::open_in_memory().unwrap();
        let a1 = incoming("https://r.example/a/1", "r.example");
        assert!(enqueue(&conn, a1, 1).unwrap());
        assert!(!enqueue(&conn, a1, 2).unwrap());
        let batch = list_batch(&conn, 0, 1, 10).unwrap();
        let shard = shard_of("https://r.example/u");
        assert_eq!(list_batch(&conn, shard % 2, 2, 10).unwrap().len(), 1);
        assert!(
            list_batch(&conn, (shard + 1) % 2, 2, 10)
                .unwrap()
                .is_empty()
        );
        assert_eq!(batch.len(), 1);
        assert!(pending_work(&conn, 5).unwrap());
        delete(&conn, batch[0].id).unwrap();
        assert!(!pending_work(&conn, 5).unwrap());
        // Even after processing, the id stays seen for the TTL.
        assert!(!enqueue(&conn, a1, 3).unwrap());
        assert!(was_seen(&conn, "r.example", "https://r.example/a/1").unwrap());
        assert!(!was_seen(&conn, "other.example", "https://r.example/a/1").unwrap());
        assert_eq!(prune_seen(&conn, SEEN_TTL_MS + 2).unwrap(), 1);
        assert!(!was_seen(&conn, "r.example", "https://r.example/a/1").unwrap());
    }

    #[test]
    fn ids_seen_before_the_host_key_keep_the_host_they_name() {
        let migrations = crate::db::MIGRATIONS;
        let keyed = migrations
            .iter()
            .position(|m| m.contains("seen_activities_by_host"))
            .unwrap();
        let conn = Connection::open_in_memory().unwrap();
        for sql in &migrations[..keyed] {
            conn.execute_batch(sql).unwrap();
        }
        let old = [
            "https://R.example/users/bob/statuses/1#delete",
            "https://r.example:8443?x=1",
            "https://q.example#delete",
        ];
        for (n, id) in old.iter().enumerate() {
            conn.execute(
                "INSERT INTO seen_activities (activity_id, seen_at) VALUES (?1, ?2)",
                params![id, n as i64],
            )
            .unwrap();
        }
        for sql in &migrations[keyed..] {
            conn.execute_batch(sql).unwrap();
        }
        for (host, id) in ["r.example", "r.example:8443", "q.example"].iter().zip(old) {
            assert!(was_seen(&conn, host, id).unwrap(), "{id}");
        }
        assert!(!enqueue(&conn, incoming(old[2], "q.example"), 9).unwrap());
    }
}
