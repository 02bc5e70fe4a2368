//! The web UI's login sessions: one row per logged-in browser, keyed by the SHA-256
//! of the session token (the token itself is only in the cookie). Expiry slides while
//! the session is used.

use crate::error::Result;
use rusqlite::{Connection, OptionalExtension, params};

/// A live session.
#[derive(Debug, Clone, PartialEq)]
pub struct Session {
    pub token_sha256: String,
    pub user_agent: String,
    pub created_at: i64,
    pub last_seen_at: i64,
    pub expires_at: i64,
}

/// Stores a new session.
pub fn insert(conn: &Connection, s: &Session) -> Result<()> {
    conn.prepare_cached(
        "INSERT INTO web_sessions (token_sha256, user_agent, created_at, last_seen_at, expires_at)
         VALUES (?1, ?2, ?3, ?4, ?5)",
    )?
    .execute(params![
        s.token_sha256,
        s.user_agent,
        s.created_at,
        s.last_seen_at,
        s.expires_at
    ])?;
    Ok(())
}

/// The session with this token hash, unless it has expired.
pub fn find_live(conn: &Connection, token_sha256: &str, now: i64) -> Result<Option<Session>> {
    Ok(conn
        .prepare_cached(
            "SELECT token_sha256, user_agent, created_at, last_seen_at, expires_at FROM web_sessions
             WHERE token_sha256 = ?1 AND expires_at > ?2",
        )?
        .query_row(params![token_sha256, now], |r| {
            Ok(Session {
                token_sha256: r.get(0)?,
                user_agent: r.get(1)?,
                created_at: r.get(2)?,
                last_seen_at: r.get(3)?,
                expires_at: r.get(4)?,
            })
        })
        .optional()?)
}

/// Records use of a session and moves its expiry.
pub fn touch(conn: &Connection, token_sha256: &str, now: i64, expires_at: i64) -> Result<()> {
    conn.prepare_cached(
        "UPDATE web_sessions SET last_seen_at = ?2, expires_at = ?3 WHERE token_sha256 = ?1",
    )?
    .execute(params![token_sha256, now, expires_at])?;
    Ok(())
}

/// Ends one session.
pub fn delete(conn: &Connection, token_sha256: &str) -> Result<()> {
    conn.prepare_cached("DELETE FROM web_sessions WHERE token_sha256 = ?1")?
        .execute([token_sha256])?;
    Ok(())
}

/// Ends every session but `keep` (after a password change); returns how many ended.
pub fn delete_others(conn: &Connection, keep: &str) -> Result<usize> {
    Ok(conn
        .prepare_cached("DELETE FROM web_sessions WHERE token_sha256 != ?1")?
        .execute([keep])?)
}

/// Forgets expired sessions.
pub fn prune(conn: &Connection, now: i64) -> Result<usize> {
    Ok(conn
        .prepare_cached("DELETE FROM web_sessions WHERE expires_at <= ?1")?
        .execute([now])?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::db::Db;

    #[test]
    fn live_touch_and_end() {
        let conn = Db::open_in_memory().unwrap();
        let s = |t: &str, exp| Session {
            token_sha256: t.into(),
            user_agent: "ua".into(),
            created_at: 1,
            last_seen_at: 1,
            expires_at: exp,
        };
        insert(&conn, &s("a", 100)).unwrap();
        insert(&conn, &s("b", 100)).unwrap();
        assert!(find_live(&conn, "a", 50).unwrap().is_some());
        assert!(find_live(&conn, "a", 100).unwrap().is_none(), "expired");
        touch(&conn, "a", 90, 200).unwrap();
        assert_eq!(
            find_live(&conn, "a", 150).unwrap().unwrap().last_seen_at,
            90
        );
        assert_eq!(prune(&conn, 150).unwrap(), 1);
        insert(&conn, &s("c", 500)).unwrap();
        assert_eq!(delete_others(&conn, "a").unwrap(), 1);
        delete(&conn, "a").unwrap();
        assert!(find_live(&conn, "a", 0).unwrap().is_none());
    }
}
