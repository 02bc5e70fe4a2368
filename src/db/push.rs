//! Web Push storage: the VAPID key pair kept beside the account's key, the apps' push
//! subscriptions (one per access token), the push jobs of the durable queue with their
//! leases and retry times, and the watermark of notifications already turned into
//! jobs. It decides nothing: `push` builds, encrypts and sends, and says what to record.

use crate::error::Result;
use rusqlite::{Connection, OptionalExtension, Row, params};

/// A stored push subscription.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Subscription {
    pub id: i64,
    pub token_id: i64,
    /// The access token in clear, for the payload's `access_token`.
    pub access_token: String,
    pub endpoint: String,
    /// The app's P-256 public key, uncompressed (65 bytes).
    pub p256dh: Vec<u8>,
    /// The app's auth secret (16 bytes).
    pub auth: Vec<u8>,
    /// RFC 8291 `aes128gcm` when true, the legacy `aesgcm` otherwise.
    pub standard: bool,
    /// JSON object: notification type → whether to push it.
    pub alerts: String,
    pub policy: String,
    pub created_at: i64,
}

/// A subscription about to be stored for a token (replacing the token's old one).
#[derive(Debug, Clone, Copy)]
pub struct NewSubscription<'a> {
    pub token_id: i64,
    pub access_token: &'a str,
    pub endpoint: &'a str,
    pub p256dh: &'a [u8],
    pub auth: &'a [u8],
    pub standard: bool,
    pub alerts: &'a str,
    pub policy: &'a str,
}

/// A push job claimed by a worker, with the lease it holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Job {
    pub id: i64,
    pub subscription_id: i64,
    pub notification_id: i64,
    /// Failed attempts so far.
    pub attempts: u32,
    pub claimed_until: i64,
    pub created_at: i64,
}

/// A queued push job as `kith queue` shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pending {
    pub id: i64,
    pub endpoint: String,
    pub notification_id: i64,
    pub attempts: u32,
    pub next_at: i64,
    pub claimed_until: Option<i64>,
    pub last_status: Option<u16>,
    pub last_error: Option<String>,
    pub created_at: i64,
}

/// The stored VAPID key pair: (PKCS#8 private key, uncompressed public point).
pub fn vapid_key(conn: &Connection) -> Result<Option<(Vec<u8>, Vec<u8>)>> {
    let row = conn
        .prepare_cached("SELECT vapid_private_pkcs8, vapid_public_key FROM account WHERE id = 1")?
        .query_row([], |r| {
            Ok((
                r.get::<_, Option<Vec<u8>>>(0)?,
                r.get::<_, Option<Vec<u8>>>(1)?,
            ))
        })
        .optional()?;
    Ok(match row {
        Some((Some(private), Some(public))) => Some((private, public)),
        _ => None,
    })
}

/// Stores a VAPID key pair unless one is stored already (it is never replaced);
/// returns whether this one was stored.
pub fn set_vapid_key(conn: &Connection, pkcs8: &[u8], public: &[u8]) -> Result<bool> {
    Ok(conn
        .prepare_cached(
            "UPDATE account SET vapid_private_pkcs8 = ?1, vapid_public_key = ?2
             WHERE id = 1 AND vapid_private_pkcs8 IS NULL",
        )?
        .execute(params![pkcs8, public])?
        == 1)
}

const SUBSCRIPTION_COLUMNS: &str =
    "id, token_id, access_token, endpoint, p256dh, auth, standard, alerts, policy, created_at";

fn subscription_from_row(r: &Row) -> rusqlite::Result<Subscription> {
    Ok(Subscription {
        id: r.get(0)?,
        token_id: r.get(1)?,
        access_token: r.get(2)?,
        endpoint: r.get(3)?,
        p256dh: r.get(4)?,
        auth: r.get(5)?,
        standard: r.get(6)?,
        alerts: r.get(7)?,
        policy: r.get(8)?,
        created_at: r.get(9)?,
    })
}

/// Stores a token's subscription, replacing (with its queued jobs) any it had; returns
/// the new subscription.
pub fn replace(conn: &Connection, new: &NewSubscription, now: i64) -> Result<Subscription> {
    delete_for_token(conn, new.token_id)?;
    Ok(conn
        .prepare_cached(&format!(
            "INSERT INTO push_subscriptions
                 (token_id, access_token, endpoint, p256dh, auth, standard, alerts, policy,
                  created_at, updated_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?9)
             RETURNING {SUBSCRIPTION_COLUMNS}"
        ))?
        .query_row(
            params![
                new.token_id,
                new.access_token,
                new.endpoint,
                new.p256dh,
                new.auth,
                new.standard,
                new.alerts,
                new.policy,
                now
            ],
            subscription_from_row,
        )?)
}

/// The subscription of a token, if it has one.
pub fn find_for_token(conn: &Connection, token_id: i64) -> Result<Option<Subscription>> {
    Ok(conn
        .prepare_cached(&format!(
            "SELECT {SUBSCRIPTION_COLUMNS} FROM push_subscriptions WHERE token_id = ?1"
        ))?
        .query_row([token_id], subscription_from_row)
        .optional()?)
}

/// A subscription by id, if it still exists and its token is live.
pub fn find_live(conn: &Connection, id: i64) -> Result<Option<Subscription>> {
    Ok(conn
        .prepare_cached(&format!(
            "SELECT {SUBSCRIPTION_COLUMNS} FROM push_subscriptions
             WHERE id = ?1 AND token_id IN (SELECT id FROM tokens WHERE revoked_at IS NULL)"
        ))?
        .query_row([id], subscription_from_row)
        .optional()?)
}

/// Every subscription whose token is live.
pub fn list_live(conn: &Connection) -> Result<Vec<Subscription>> {
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT {SUBSCRIPTION_COLUMNS} FROM push_subscriptions
         WHERE token_id IN (SELECT id FROM tokens WHERE revoked_at IS NULL) ORDER BY id"
    ))?;
    let rows = stmt.query_map([], subscription_from_row)?;
    Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
}

/// Changes the alerts and policy of a token's subscription; the updated one, if any.
pub fn update_data(
    conn: &Connection,
    token_id: i64,
    alerts: &str,
    policy: &str,
    now: i64,
) -> Result<Option<Subscription>> {
    Ok(conn
        .prepare_cached(&format!(
            "UPDATE push_subscriptions SET alerts = ?2, policy = ?3, updated_at = ?4
             WHERE token_id = ?1 RETURNING {SUBSCRIPTION_COLUMNS}"
        ))?
        .query_row(
            params![token_id, alerts, policy, now],
            subscription_from_row,
        )
        .optional()?)
}

/// Removes a token's subscription and its queued jobs; whether there was one.
pub fn delete_for_token(conn: &Connection, token_id: i64) -> Result<bool> {
    Ok(conn
        .prepare_cached("DELETE FROM push_subscriptions WHERE token_id = ?1")?
        .execute([token_id])?
        > 0)
}

/// Removes a subscription by id (its endpoint is gone) and its queued jobs.
pub fn delete(conn: &Connection, id: i64) -> Result<()> {
    conn.prepare_cached("DELETE FROM push_subscriptions WHERE id = ?1")?
        .execute([id])?;
    Ok(())
}

/// The live subscriptions with the name of the app their token belongs to (`None`
/// for a token made by `kith token`), for the owner's settings page.
pub fn list_with_apps(conn: &Connection) -> Result<Vec<(Option<String>, Subscription)>> {
    let columns = SUBSCRIPTION_COLUMNS
        .split(", ")
        .map(|c| format!("s.{c}"))
        .collect::<Vec<_>>()
        .join(", ");
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT {columns}, a.name FROM push_subscriptions s
         JOIN tokens t ON t.id = s.token_id AND t.revoked_at IS NULL
         LEFT JOIN oauth_apps a ON a.id = t.app_id
         ORDER BY s.id"
    ))?;
    let rows = stmt.query_map([], |r| Ok((r.get(10)?, subscription_from_row(r)?)))?;
    Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
}

/// The newest notification id already turned into push jobs.
pub fn queued_up_to(conn: &Connection) -> Result<i64> {
    Ok(conn
        .prepare_cached("SELECT queued_up_to FROM push_state WHERE id = 1")?
        .query_row([], |r| r.get(0))
        .optional()?
        .unwrap_or(0))
}

/// Moves the watermark forward to `id` (never back).
pub fn set_queued_up_to(conn: &Connection, id: i64) -> Result<()> {
    conn.prepare_cached(
        "INSERT INTO push_state (id, queued_up_to) VALUES (1, ?1)
         ON CONFLICT (id) DO UPDATE SET queued_up_to = max(queued_up_to, ?1)",
    )?
    .execute([id])?;
    Ok(())
}

/// Queues one notification for one subscription, due now; a second call for the same
/// pair changes nothing. Returns whether a job was added.
pub fn enqueue(
    conn: &Connection,
    subscription_id: i64,
    notification_id: i64,
    now: i64,
) -> Result<bool> {
    Ok(conn
        .prepare_cached(
            "INSERT OR IGNORE INTO push_jobs (subscription_id, notification_id, next_at, created_at)
             VALUES (?1, ?2, ?3, ?3)",
        )?
        .execute(params![subscription_id, notification_id, now])?
        == 1)
}

/// Claims up to `limit` due, unclaimed jobs, oldest first, leasing each for `lease_ms`.
pub fn claim(conn: &Connection, now: i64, limit: i64, lease_ms: i64) -> Result<Vec<Job>> {
    let mut stmt = conn.prepare_cached(
        "UPDATE push_jobs SET claimed_until = ?2
         WHERE id IN (SELECT id FROM push_jobs
                      WHERE next_at <= ?1 AND (claimed_until IS NULL OR claimed_until <= ?1)
                      ORDER BY next_at, id LIMIT ?3)
         RETURNING id, subscription_id, notification_id, attempts, claimed_until, created_at",
    )?;
    let rows = stmt.query_map(params![now, now + lease_ms, limit], |r| {
        Ok(Job {
            id: r.get(0)?,
            subscription_id: r.get(1)?,
            notification_id: r.get(2)?,
            attempts: r.get(3)?,
            claimed_until: r.get(4)?,
            created_at: r.get(5)?,
        })
    })?;
    let mut jobs = rows.collect::<rusqlite::Result<Vec<_>>>()?;
    jobs.sort_by_key(|j| j.id);
    Ok(jobs)
}

/// Extends a claim from `held_until` to `until`; false when the lease was lost.
pub fn renew(conn: &Connection, id: i64, held_until: i64, until: i64) -> Result<bool> {
    Ok(conn
        .prepare_cached(
            "UPDATE push_jobs SET claimed_until = ?3 WHERE id = ?1 AND claimed_until = ?2",
        )?
        .execute(params![id, held_until, until])?
        == 1)
}

/// Removes a job: sent, or ended unsent.
pub fn finish(conn: &Connection, id: i64) -> Result<()> {
    conn.prepare_cached("DELETE FROM push_jobs WHERE id = ?1")?
        .execute([id])?;
    Ok(())
}

/// Records a failed attempt to be retried at `next_at`.
pub fn record_retry(
    conn: &Connection,
    id: i64,
    next_at: i64,
    status: Option<u16>,
    error: Option<&str>,
) -> Result<()> {
    conn.prepare_cached(
        "UPDATE push_jobs SET attempts = attempts + 1, next_at = ?2, claimed_until = NULL,
                last_status = ?3, last_error = ?4
         WHERE id = ?1",
    )?
    .execute(params![id, next_at, status, error])?;
    Ok(())
}

/// Puts a claimed job back without counting an attempt (kith's own interruption).
pub fn release(conn: &Connection, id: i64) -> Result<()> {
    conn.prepare_cached("UPDATE push_jobs SET claimed_until = NULL WHERE id = ?1")?
        .execute([id])?;
    Ok(())
}

/// Removes due, unclaimed jobs created before `cutoff`; returns how many.
pub fn drop_expired(conn: &Connection, cutoff: i64, now: i64) -> Result<usize> {
    Ok(conn
        .prepare_cached(
            "DELETE FROM push_jobs WHERE created_at < ?1 AND next_at <= ?2
               AND (claimed_until IS NULL OR claimed_until <= ?2)",
        )?
        .execute(params![cutoff, now])?)
}

/// Whether any push job is due now or in flight (for `workers::settle`).
pub fn pending_work(conn: &Connection, now: i64) -> Result<bool> {
    Ok(conn
        .prepare_cached(
            "SELECT EXISTS (SELECT 1 FROM push_jobs WHERE next_at <= ?1 OR claimed_until > ?1)",
        )?
        .query_row([now], |r| r.get(0))?)
}

/// Every queued push job, next due first, with its endpoint.
pub fn list_pending(conn: &Connection) -> Result<Vec<Pending>> {
    let mut stmt = conn.prepare_cached(
        "SELECT j.id, s.endpoint, j.notification_id, j.attempts, j.next_at, j.claimed_until,
                j.last_status, j.last_error, j.created_at
         FROM push_jobs j JOIN push_subscriptions s ON s.id = j.subscription_id
         ORDER BY j.next_at, j.id",
    )?;
    let rows = stmt.query_map([], |r| {
        Ok(Pending {
            id: r.get(0)?,
            endpoint: r.get(1)?,
            notification_id: r.get(2)?,
            attempts: r.get(3)?,
            next_at: r.get(4)?,
            claimed_until: r.get(5)?,
            last_status: r.get(6)?,
            last_error: r.get(7)?,
            created_at: r.get(8)?,
        })
    })?;
    Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::db::Db;

    fn setup() -> Connection {
        let conn = Db::open_in_memory().unwrap();
        conn.execute_batch(
            "INSERT INTO account (id, username, private_key_der, public_key_pem, password_hash,
                                  created_at, updated_at)
             VALUES (1, 'a', x'00', '', '', 0, 0);
             INSERT INTO tokens (id, token_sha256, scopes, created_at) VALUES (7, 'h', 'push', 0);",
        )
        .unwrap();
        conn
    }

    fn new_sub(endpoint: &str) -> NewSubscription<'_> {
        NewSubscription {
            token_id: 7,
            access_token: "tok",
            endpoint,
            p256dh: &[4; 65],
            auth: &[1; 16],
            standard: true,
            alerts: "{}",
            policy: "all",
        }
    }

    #[test]
    fn the_vapid_key_is_stored_once_and_never_replaced() {
        let conn = setup();
        assert_eq!(vapid_key(&conn).unwrap(), None);
        assert!(set_vapid_key(&conn, b"first", b"pub1").unwrap());
        assert!(!set_vapid_key(&conn, b"second", b"pub2").unwrap());
        assert_eq!(
            vapid_key(&conn).unwrap(),
            Some((b"first".to_vec(), b"pub1".to_vec()))
        );
    }

    #[test]
    fn one_subscription_per_token_and_jobs_go_with_it() {
        let conn = setup();
        let first = replace(&conn, &new_sub("https://push.example/1"), 1).unwrap();
        assert!(enqueue(&conn, first.id, 100, 1).unwrap());
        assert!(!enqueue(&conn, first.id, 100, 1).unwrap(), "once per pair");
        let second = replace(&conn, &new_sub("https://push.example/2"), 2).unwrap();
        assert_ne!(first.id, second.id);
        assert_eq!(list_live(&conn).unwrap(), vec![second.clone()]);
        assert!(list_pending(&conn).unwrap().is_empty(), "old jobs removed");
        assert!(enqueue(&conn, second.id, 101, 2).unwrap());
        let jobs = claim(&conn, 5, 10, 1000).unwrap();
        assert_eq!(jobs.len(), 1);
        assert!(claim(&conn, 5, 10, 1000).unwrap().is_empty(), "leased");
        assert!(pending_work(&conn, 5).unwrap());
        record_retry(&conn, jobs[0].id, 50, Some(429), None).unwrap();
        assert!(!pending_work(&conn, 10).unwrap());
        assert_eq!(claim(&conn, 50, 10, 1000).unwrap()[0].attempts, 1);
        conn.execute("UPDATE tokens SET revoked_at = 9 WHERE id = 7", [])
            .unwrap();
        assert_eq!(find_live(&conn, second.id).unwrap(), None);
        assert!(delete_for_token(&conn, 7).unwrap());
        assert!(list_pending(&conn).unwrap().is_empty());
    }

    #[test]
    fn the_watermark_only_moves_forward() {
        let conn = setup();
        assert_eq!(queued_up_to(&conn).unwrap(), 0);
        set_queued_up_to(&conn, 10).unwrap();
        set_queued_up_to(&conn, 5).unwrap();
        assert_eq!(queued_up_to(&conn).unwrap(), 10);
    }
}
