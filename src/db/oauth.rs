//! OAuth clients (apps registered through the API) and authorization codes.

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
    pub scopes: String,
    pub code_challenge: Option<String>,
    pub expires_at: i64,
}

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
        "INSERT INTO oauth_codes (code_sha256, app_id, redirect_uri, scopes, code_challenge, expires_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
    )?
    .execute(params![code_sha256, code.app_id, code.redirect_uri, code.scopes, code.code_challenge, code.expires_at])?;
    Ok(())
}

/// Takes (reads and deletes) a code: each code works once.
pub fn take_code(conn: &Connection, code_sha256: &str) -> Result<Option<Code>> {
    Ok(conn
        .prepare_cached(
            "DELETE FROM oauth_codes WHERE code_sha256 = ?1 RETURNING app_id, redirect_uri, scopes, code_challenge, expires_at",
        )?
        .query_row([code_sha256], |r| {
            Ok(Code { app_id: r.get(0)?, redirect_uri: r.get(1)?, scopes: r.get(2)?, code_challenge: r.get(3)?, expires_at: r.get(4)? })
        })
        .optional()?)
}

/// Removes expired codes.
pub fn prune_codes(conn: &Connection, now: i64) -> Result<()> {
    conn.prepare_cached("DELETE FROM oauth_codes WHERE expires_at < ?1")?
        .execute([now])?;
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
            scopes: "read".into(),
            code_challenge: None,
            expires_at: 10,
        };
        insert_code(&conn, "h", &code).unwrap();
        assert_eq!(take_code(&conn, "h").unwrap(), Some(code));
        assert_eq!(take_code(&conn, "h").unwrap(), None, "a code works once");
    }
}
