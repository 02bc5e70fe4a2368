//! The one local account: its row, its key pair and its password hash.

use crate::error::{Error, Result};
use rusqlite::{Connection, OptionalExtension, Row, params};

/// The stored account.
#[derive(Debug, Clone)]
pub struct Account {
    pub username: String,
    pub display_name: String,
    pub note_html: String,
    pub private_key_der: Vec<u8>,
    pub public_key_pem: String,
    pub locked: bool,
    pub discoverable: bool,
    pub bot: bool,
    pub fields_json: String,
    pub also_known_as: String,
    pub moved_to: Option<String>,
    pub avatar_path: Option<String>,
    pub header_path: Option<String>,
    pub note_source: String,
    /// The owner's time zone for the web UI: minutes east of UTC.
    pub time_offset_minutes: i64,
    pub created_at: i64,
    pub updated_at: i64,
}

/// What a new account is created with.
pub struct NewAccount<'a> {
    pub username: &'a str,
    pub private_key_der: &'a [u8],
    pub public_key_pem: &'a str,
    pub password_hash: &'a str,
    pub now: i64,
}

const COLUMNS: &str = "username, display_name, note_html, private_key_der, public_key_pem, \
    locked, discoverable, bot, fields_json, also_known_as, moved_to, created_at, updated_at, \
    avatar_path, header_path, note_source, time_offset_minutes";

fn from_row(r: &Row) -> rusqlite::Result<Account> {
    Ok(Account {
        username: r.get(0)?,
        display_name: r.get(1)?,
        note_html: r.get(2)?,
        private_key_der: r.get(3)?,
        public_key_pem: r.get(4)?,
        locked: r.get(5)?,
        discoverable: r.get(6)?,
        bot: r.get(7)?,
        fields_json: r.get(8)?,
        also_known_as: r.get(9)?,
        moved_to: r.get(10)?,
        created_at: r.get(11)?,
        updated_at: r.get(12)?,
        avatar_path: r.get(13)?,
        header_path: r.get(14)?,
        note_source: r.get(15)?,
        time_offset_minutes: r.get(16)?,
    })
}

/// The account, if it has been created.
pub fn find(conn: &Connection) -> Result<Option<Account>> {
    let sql = format!("SELECT {COLUMNS} FROM account WHERE id = 1");
    Ok(conn
        .prepare_cached(&sql)?
        .query_row([], from_row)
        .optional()?)
}

/// The account; an error when it does not exist yet.
pub fn get(conn: &Connection) -> Result<Account> {
    find(conn)?.ok_or_else(|| Error::Internal("the account has not been created".into()))
}

/// Creates the account row.
pub fn insert(conn: &Connection, new: &NewAccount) -> Result<()> {
    conn.prepare_cached(
        "INSERT INTO account (id, username, private_key_der, public_key_pem, password_hash, created_at, updated_at)
         VALUES (1, ?1, ?2, ?3, ?4, ?5, ?5)",
    )?
    .execute(params![new.username, new.private_key_der, new.public_key_pem, new.password_hash, new.now])?;
    Ok(())
}

/// The stored password hash.
pub fn get_password_hash(conn: &Connection) -> Result<String> {
    Ok(conn
        .prepare_cached("SELECT password_hash FROM account WHERE id = 1")?
        .query_row([], |r| r.get(0))?)
}

/// Replaces the password hash.
pub fn update_password_hash(conn: &Connection, hash: &str, now: i64) -> Result<()> {
    let n = conn
        .prepare_cached("UPDATE account SET password_hash = ?1, updated_at = ?2 WHERE id = 1")?
        .execute(params![hash, now])?;
    if n == 1 {
        Ok(())
    } else {
        Err(Error::Internal("the account has not been created".into()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::db::Db;

    #[test]
    fn insert_then_read_back() {
        let conn = Db::open_in_memory().unwrap();
        assert!(find(&conn).unwrap().is_none());
        insert(
            &conn,
            &NewAccount {
                username: "me",
                private_key_der: b"k",
                public_key_pem: "pem",
                password_hash: "h",
                now: 5,
            },
        )
        .unwrap();
        let a = get(&conn).unwrap();
        assert_eq!(a.username, "me");
        assert_eq!(a.created_at, 5);
        assert!(!a.locked && a.discoverable);
        update_password_hash(&conn, "h2", 6).unwrap();
        assert_eq!(get_password_hash(&conn).unwrap(), "h2");
        let second = insert(
            &conn,
            &NewAccount {
                username: "x",
                private_key_der: b"k",
                public_key_pem: "p",
                password_hash: "h",
                now: 1,
            },
        );
        assert!(second.is_err(), "only one account may exist");
    }
}

/// The editable profile of the account.
#[derive(Debug, Clone, Default)]
pub struct Profile {
    pub display_name: String,
    pub note_source: String,
    pub note_html: String,
    pub locked: bool,
    pub bot: bool,
    pub discoverable: bool,
    pub fields_json: String,
}

impl Profile {
    /// The account's profile as it is now (to change some of it and save).
    pub fn of(account: &Account) -> Profile {
        Profile {
            display_name: account.display_name.clone(),
            note_source: account.note_source.clone(),
            note_html: account.note_html.clone(),
            locked: account.locked,
            bot: account.bot,
            discoverable: account.discoverable,
            fields_json: account.fields_json.clone(),
        }
    }
}

/// Saves the editable profile.
pub fn update_profile(conn: &Connection, p: &Profile, now: i64) -> Result<()> {
    conn.prepare_cached(
        "UPDATE account SET display_name = ?1, note_source = ?2, note_html = ?3, locked = ?4, bot = ?5,
            discoverable = ?6, fields_json = ?7, updated_at = ?8 WHERE id = 1",
    )?
    .execute(params![p.display_name, p.note_source, p.note_html, p.locked, p.bot, p.discoverable, p.fields_json, now])?;
    Ok(())
}

/// Sets the avatar or header file (`which` is `avatar` or `header`).
pub fn update_image(
    conn: &Connection,
    which: &str,
    file_name: Option<&str>,
    now: i64,
) -> Result<()> {
    let sql = match which {
        "avatar" => "UPDATE account SET avatar_path = ?1, updated_at = ?2 WHERE id = 1",
        "header" => "UPDATE account SET header_path = ?1, updated_at = ?2 WHERE id = 1",
        other => return Err(Error::Internal(format!("no such profile image: {other}"))),
    };
    conn.prepare_cached(sql)?.execute(params![file_name, now])?;
    Ok(())
}

/// Sets the owner's time zone for the web UI (minutes east of UTC).
pub fn update_time_offset(conn: &Connection, minutes: i64, now: i64) -> Result<()> {
    conn.prepare_cached(
        "UPDATE account SET time_offset_minutes = ?1, updated_at = ?2 WHERE id = 1",
    )?
    .execute(params![minutes, now])?;
    Ok(())
}

/// Replaces the `alsoKnownAs` list (JSON array of actor URLs).
pub fn update_aliases(conn: &Connection, aliases_json: &str, now: i64) -> Result<()> {
    conn.prepare_cached("UPDATE account SET also_known_as = ?1, updated_at = ?2 WHERE id = 1")?
        .execute(params![aliases_json, now])?;
    Ok(())
}

/// Sets or clears `movedTo`.
pub fn update_moved_to(conn: &Connection, moved_to: Option<&str>, now: i64) -> Result<()> {
    conn.prepare_cached("UPDATE account SET moved_to = ?1, updated_at = ?2 WHERE id = 1")?
        .execute(params![moved_to, now])?;
    Ok(())
}
