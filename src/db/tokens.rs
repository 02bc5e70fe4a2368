//! API access tokens, stored only as SHA-256 hashes, with their scopes.

use crate::error::Result;
use rusqlite::{Connection, OptionalExtension, params};

/// A live token as the authorisation check sees it.
#[derive(Debug, Clone)]
pub struct Token {
    pub id: i64,
    pub app_id: Option<i64>,
    pub scopes: String,
    /// Made by the client_credentials grant: speaks for the app, not the owner.
    pub app_only: bool,
}

/// Stores a token hash with its scopes; returns the row id.
pub fn insert(
    conn: &Connection,
    app_id: Option<i64>,
    token_sha256: &str,
    scopes: &str,
    now: i64,
) -> Result<i64> {
    insert_kind(conn, app_id, token_sha256, scopes, false, now)
}

/// Stores a token hash, for the owner or (`app_only`) for the app alone.
pub fn insert_kind(
    conn: &Connection,
    app_id: Option<i64>,
    token_sha256: &str,
    scopes: &str,
    app_only: bool,
    now: i64,
) -> Result<i64> {
    conn.prepare_cached(
        "INSERT INTO tokens (app_id, token_sha256, scopes, app_only, created_at) VALUES (?1, ?2, ?3, ?4, ?5)",
    )?
    .execute(params![app_id, token_sha256, scopes, app_only, now])?;
    Ok(conn.last_insert_rowid())
}

/// The unrevoked token with this hash, if any.
pub fn find_live(conn: &Connection, token_sha256: &str) -> Result<Option<Token>> {
    Ok(conn
        .prepare_cached("SELECT id, app_id, scopes, app_only FROM tokens WHERE token_sha256 = ?1 AND revoked_at IS NULL")?
        .query_row([token_sha256], |r| Ok(Token { id: r.get(0)?, app_id: r.get(1)?, scopes: r.get(2)?, app_only: r.get(3)? }))
        .optional()?)
}

/// Revokes a token by its hash, if it belongs to `app_id`; returns the token's id.
pub fn revoke(conn: &Connection, token_sha256: &str, app_id: i64, now: i64) -> Result<Option<i64>> {
    Ok(conn
        .prepare_cached(
            "UPDATE tokens SET revoked_at = ?3 WHERE token_sha256 = ?1 AND app_id = ?2 AND revoked_at IS NULL RETURNING id",
        )?
        .query_row(params![token_sha256, app_id, now], |r| r.get(0))
        .optional()?)
}

/// Revokes one token by its id (the token of a replayed authorization code); whether it was live.
pub fn revoke_id(conn: &Connection, id: i64, now: i64) -> Result<bool> {
    Ok(conn
        .prepare_cached("UPDATE tokens SET revoked_at = ?2 WHERE id = ?1 AND revoked_at IS NULL")?
        .execute(params![id, now])?
        > 0)
}

/// Revokes every token of an app (the owner revoking an authorized app); returns their ids.
pub fn revoke_app(conn: &Connection, app_id: i64, now: i64) -> Result<Vec<i64>> {
    let mut stmt = conn.prepare_cached(
        "UPDATE tokens SET revoked_at = ?2 WHERE app_id = ?1 AND revoked_at IS NULL RETURNING id",
    )?;
    let rows = stmt.query_map(params![app_id, now], |r| r.get(0))?;
    Ok(rows.collect::<rusqlite::Result<Vec<i64>>>()?)
}

/// Records that a token was used (at most once a minute, to spare writes).
pub fn touch(conn: &Connection, id: i64, now: i64) -> Result<()> {
    conn.prepare_cached(
        "UPDATE tokens SET last_used_at = ?2 WHERE id = ?1 AND (last_used_at IS NULL OR last_used_at < ?2 - 60000)",
    )?
    .execute(params![id, now])?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::db::Db;

    #[test]
    fn tokens_are_found_by_hash_and_revoked() {
        let conn = Db::open_in_memory().unwrap();
        let id = insert(&conn, None, "abc", "read write", 1).unwrap();
        let t = find_live(&conn, "abc").unwrap().unwrap();
        assert_eq!(t.id, id);
        assert_eq!(t.scopes, "read write");
        assert!(!t.app_only);
        assert!(find_live(&conn, "abd").unwrap().is_none());
        conn.execute("INSERT INTO oauth_apps (id, name, redirect_uris, scopes, client_id, client_secret, created_at) VALUES (7, 'a', 'x', 'read', 'c', 's', 1)", []).unwrap();
        insert(&conn, Some(7), "t7", "read", 1).unwrap();
        assert_eq!(
            revoke(&conn, "t7", 8, 2).unwrap(),
            None,
            "another app cannot revoke it"
        );
        assert!(revoke(&conn, "t7", 7, 2).unwrap().is_some());
        assert!(find_live(&conn, "t7").unwrap().is_none());
        let t8 = insert(&conn, Some(7), "t8", "read", 1).unwrap();
        assert!(revoke_id(&conn, t8, 3).unwrap());
        assert!(!revoke_id(&conn, t8, 4).unwrap(), "once");
        assert!(find_live(&conn, "t8").unwrap().is_none());
    }
}
