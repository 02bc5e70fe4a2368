//! API access tokens, stored only as SHA-256 hashes, with their scopes.

use crate::error::Result;
use rusqlite::{Connection, OptionalExtension, params};

/// A live token as the authorisation check sees it.
#[derive(Debug, Clone)]
pub struct Token {
    pub id: i64,
    pub app_id: Option<i64>,
    pub scopes: String,
}

/// Stores a token hash with its scopes; returns the row id.
pub fn insert(
    conn: &Connection,
    app_id: Option<i64>,
    token_sha256: &str,
    scopes: &str,
    now: i64,
) -> Result<i64> {
    conn.prepare_cached(
        "INSERT INTO tokens (app_id, token_sha256, scopes, created_at) VALUES (?1, ?2, ?3, ?4)",
    )?
    .execute(params![app_id, token_sha256, scopes, now])?;
    Ok(conn.last_insert_rowid())
}

/// The unrevoked token with this hash, if any.
pub fn find_live(conn: &Connection, token_sha256: &str) -> Result<Option<Token>> {
    Ok(conn
        .prepare_cached(
            "SELECT id, app_id, scopes FROM tokens WHERE token_sha256 = ?1 AND revoked_at IS NULL",
        )?
        .query_row([token_sha256], |r| {
            Ok(Token {
                id: r.get(0)?,
                app_id: r.get(1)?,
                scopes: r.get(2)?,
            })
        })
        .optional()?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::db::Db;

    #[test]
    fn tokens_are_found_by_hash() {
        let conn = Db::open_in_memory().unwrap();
        let id = insert(&conn, None, "abc", "read write", 1).unwrap();
        let t = find_live(&conn, "abc").unwrap().unwrap();
        assert_eq!(t.id, id);
        assert_eq!(t.scopes, "read write");
        assert!(find_live(&conn, "abd").unwrap().is_none());
    }
}
