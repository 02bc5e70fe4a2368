//! OAuth clients (apps registered through the API) and authorization codes, which are
//! kept after use with the token they gave, so that a replay can revoke it.

use crate::error::{Error, Result};
use rusqlite::{Connection, OptionalExtension, Row, params};

/// A registered client application.
#[derive(Debug, Clone, PartialEq)]
pub struct App {
    pub id: i64,
    pub name: String,
    pub website: Option<String>,
    /// Newline-separated redirect URIs.
    pub redirect_uris: String,
    pub scopes: String,
    pub client_id: String,
    pub client_secret: String,
    pub created_at: i64,
}

impl App {
    /// The registered redirect URIs.
    pub fn redirect_list(&self) -> Vec<String> {
        self.redirect_uris.lines().map(str::to_string).collect()
    }
}

/// A pending authorization code.
#[derive(Debug, Clone, PartialEq)]
pub struct Code {
    pub app_id: i64,
    pub redirect_uri: String,
    /// The authorization request named `redirect_uri` (else it was the app's first):
    /// the token request must then name the same one.
    pub redirect_given: bool,
    pub scopes: String,
    pub code_challenge: Option<String>,
    pub expires_at: i64,
}

/// What redeeming a code found.
#[derive(Debug, Clone, PartialEq)]
pub enum Redeemed {
    /// A code never redeemed before, now marked as used.
    Fresh(Code),
    /// A code redeemed before, with the token issued from it (if one was).
    Replayed { token_id: Option<i64> },
    /// No such code (or it was pruned).
    Unknown,
}

/// How long a code is kept past its expiry, so that a late replay is still known.
const KEPT_AFTER_EXPIRY_MS: i64 = 24 * 3600 * 1000;

const APP_COLUMNS: &str =
    "id, name, website, redirect_uris, scopes, client_id, client_secret, created_at";

fn app_from_row(r: &Row) -> rusqlite::Result<App> {
    Ok(App {
        id: r.get(0)?,
        name: r.get(1)?,
        website: r.get(2)?,
        redirect_uris: r.get(3)?,
        scopes: r.get(4)?,
        client_id: r.get(5)?,
        client_secret: r.get(6)?,
        created_at: r.get(7)?,
    })
}

/// Registers an app; returns its row id.
pub fn insert_app(conn: &Connection, app: &App) -> Result<i64> {
    conn.prepare_cached(
        "INSERT INTO oauth_apps (name, website, redirect_uris, scopes, client_id, client_secret, created_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
    )?
    .execute(params![app.name, app.website, app.redirect_uris, app.scopes, app.client_id, app.client_secret, app.created_at])?;
    Ok(conn.last_insert_rowid())
}

/// The app with this client id.
pub fn find_app_by_client_id(conn: &Connection, client_id: &str) -> Result<Option<App>> {
    let sql = format!("SELECT {APP_COLUMNS} FROM oauth_apps WHERE client_id = ?1");
    Ok(conn
        .prepare_cached(&sql)?
        .query_row([client_id], app_from_row)
        .optional()?)
}

/// The app with this row id.
pub fn get_app(conn: &Connection, id: i64) -> Result<App> {
    let sql = format!("SELECT {APP_COLUMNS} FROM oauth_apps WHERE id = ?1");
    conn.prepare_cached(&sql)?
        .query_row([id], app_from_row)
        .optional()?
        .ok_or_else(|| Error::NotFound("Record not found".into()))
}

/// Apps that hold at least one live token, with the newest token's time.
pub fn list_authorized_apps(conn: &Connection) -> Result<Vec<(App, i64)>> {
    let sql = format!(
        "SELECT {APP_COLUMNS}, (SELECT max(created_at) FROM tokens t WHERE t.app_id = oauth_apps.id AND t.revoked_at IS NULL AND t.app_only = 0)
         AS last FROM oauth_apps WHERE last IS NOT NULL ORDER BY last DESC"
    );
    let mut stmt = conn.prepare_cached(&sql)?;
    let rows = stmt.query_map([], |r| Ok((app_from_row(r)?, r.get(8)?)))?;
    Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
}

/// Stores a new authorization code (by its hash).
pub fn insert_code(conn: &Connection, code_sha256: &str, code: &Code) -> Result<()> {
    conn.prepare_cached(
        "INSERT INTO oauth_codes (code_sha256, app_id, redirect_uri, redirect_given, scopes, code_challenge, expires_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
    )?
    .execute(params![
        code_sha256,
        code.app_id,
        code.redirect_uri,
        code.redirect_given,
        code.scopes,
        code.code_challenge,
        code.expires_at
    ])?;
    Ok(())
}

/// Redeems a code: each code works once; a used one is kept (with its token) so that
/// a replay is known as one.
pub fn redeem_code(conn: &Connection, code_sha256: &str, now: i64) -> Result<Redeemed> {
    let fresh = conn
        .prepare_cached(
            "UPDATE oauth_codes SET used_at = ?2 WHERE code_sha256 = ?1 AND used_at IS NULL
             RETURNING app_id, redirect_uri, redirect_given, scopes, code_challenge, expires_at",
        )?
        .query_row(params![code_sha256, now], |r| {
            Ok(Code {
                app_id: r.get(0)?,
                redirect_uri: r.get(1)?,
                redirect_given: r.get(2)?,
                scopes: r.get(3)?,
                code_challenge: r.get(4)?,
                expires_at: r.get(5)?,
            })
        })
        .optional()?;
    if let Some(code) = fresh {
        return Ok(Redeemed::Fresh(code));
    }
    let used = conn
        .prepare_cached("SELECT token_id FROM oauth_codes WHERE code_sha256 = ?1")?
        .query_row([code_sha256], |r| r.get::<_, Option<i64>>(0))
        .optional()?;
    Ok(match used {
        Some(token_id) => Redeemed::Replayed { token_id },
        None => Redeemed::Unknown,
    })
}

/// Records the token a redeemed code gave.
pub fn link_token(conn: &Connection, code_sha256: &str, token_id: i64) -> Result<()> {
    conn.prepare_cached("UPDATE oauth_codes SET token_id = ?2 WHERE code_sha256 = ?1")?
        .execute(params![code_sha256, token_id])?;
    Ok(())
}

/// Removes codes a day past their expiry (an expired code is refused before that).
pub fn prune_codes(conn: &Connection, now: i64) -> Result<()> {
    conn.prepare_cached("DELETE FROM oauth_codes WHERE expires_at < ?1")?
        .execute([now - KEPT_AFTER_EXPIRY_MS])?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::db::Db;

    #[test]
    fn apps_and_single_use_codes() {
        let conn = Db::open_in_memory().unwrap();
        let app = App {
            id: 0,
            name: "toot".into(),
            website: None,
            redirect_uris: "urn:ietf:wg:oauth:2.0:oob".into(),
            scopes: "read write".into(),
            client_id: "cid".into(),
            client_secret: "sec".into(),
            created_at: 1,
        };
        let id = insert_app(&conn, &app).unwrap();
        assert_eq!(find_app_by_client_id(&conn, "cid").unwrap().unwrap().id, id);
        let code = Code {
            app_id: id,
            redirect_uri: "urn:ietf:wg:oauth:2.0:oob".into(),
            redirect_given: true,
            scopes: "read".into(),
            code_challenge: None,
            expires_at: 10,
        };
        insert_code(&conn, "h", &code).unwrap();
        assert_eq!(redeem_code(&conn, "h", 5).unwrap(), Redeemed::Fresh(code));
        assert_eq!(
            redeem_code(&conn, "h", 6).unwrap(),
            Redeemed::Replayed { token_id: None },
            "a code works once"
        );
        link_token(&conn, "h", 42).unwrap();
        assert_eq!(
            redeem_code(&conn, "h", 7).unwrap(),
            Redeemed::Replayed { token_id: Some(42) }
        );
        assert_eq!(redeem_code(&conn, "other", 7).unwrap(), Redeemed::Unknown);
        prune_codes(&conn, 10 + KEPT_AFTER_EXPIRY_MS).unwrap();
        assert!(matches!(
            redeem_code(&conn, "h", 8).unwrap(),
            Redeemed::Replayed { .. }
        ));
        prune_codes(&conn, 11 + KEPT_AFTER_EXPIRY_MS).unwrap();
        assert_eq!(redeem_code(&conn, "h", 9).unwrap(), Redeemed::Unknown);
    }
}
