//! Remote actors as cached from their own documents, with their public keys.

use crate::error::{Error, Result};
use rusqlite::{Connection, OptionalExtension, Row, params};

/// A cached remote actor.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct RemoteActor {
    pub id: i64,
    pub uri: String,
    pub username: String,
    pub domain: String,
    pub display_name: String,
    pub note_html: String,
    pub url: Option<String>,
    pub inbox: String,
    pub shared_inbox: Option<String>,
    pub outbox: Option<String>,
    pub followers_url: Option<String>,
    pub following_url: Option<String>,
    pub featured_url: Option<String>,
    pub key_id: Option<String>,
    pub public_key_pem: Option<String>,
    pub avatar_url: Option<String>,
    pub header_url: Option<String>,
    pub kind: String,
    pub locked: bool,
    pub discoverable: bool,
    pub fields_json: String,
    pub also_known_as: String,
    pub moved_to: Option<String>,
    pub published_at: Option<i64>,
    pub fetched_at: i64,
    pub gone_at: Option<i64>,
}

impl RemoteActor {
    /// The handle `user@domain` (without a leading `@`).
    pub fn acct(&self) -> String {
        format!("{}@{}", self.username, self.domain)
    }

    /// The inbox to deliver public and followers-only activities to.
    pub fn delivery_inbox(&self) -> &str {
        self.shared_inbox.as_deref().unwrap_or(&self.inbox)
    }

    /// The `alsoKnownAs` list.
    pub fn aliases(&self) -> Vec<String> {
        serde_json::from_str(&self.also_known_as).unwrap_or_default()
    }
}

const COLUMNS: &str = "id, uri, username, domain, display_name, note_html, url, inbox, shared_inbox, \
    outbox, followers_url, following_url, featured_url, key_id, public_key_pem, avatar_url, header_url, \
    kind, locked, discoverable, fields_json, also_known_as, moved_to, published_at, fetched_at, gone_at";

fn from_row(r: &Row) -> rusqlite::Result<RemoteActor> {
    Ok(RemoteActor {
        id: r.get(0)?,
        uri: r.get(1)?,
        username: r.get(2)?,
        domain: r.get(3)?,
        display_name: r.get(4)?,
        note_html: r.get(5)?,
        url: r.get(6)?,
        inbox: r.get(7)?,
        shared_inbox: r.get(8)?,
        outbox: r.get(9)?,
        followers_url: r.get(10)?,
        following_url: r.get(11)?,
        featured_url: r.get(12)?,
        key_id: r.get(13)?,
        public_key_pem: r.get(14)?,
        avatar_url: r.get(15)?,
        header_url: r.get(16)?,
        kind: r.get(17)?,
        locked: r.get(18)?,
        discoverable: r.get(19)?,
        fields_json: r.get(20)?,
        also_known_as: r.get(21)?,
        moved_to: r.get(22)?,
        published_at: r.get(23)?,
        fetched_at: r.get(24)?,
        gone_at: r.get(25)?,
    })
}

/// The actor with this ActivityPub id, if cached.
pub fn find_by_uri(conn: &Connection, uri: &str) -> Result<Option<RemoteActor>> {
    let sql = format!("SELECT {COLUMNS} FROM actors WHERE uri = ?1");
    Ok(conn
        .prepare_cached(&sql)?
        .query_row([uri], from_row)
        .optional()?)
}

/// The actor with this row id.
pub fn get(conn: &Connection, id: i64) -> Result<RemoteActor> {
    let sql = format!("SELECT {COLUMNS} FROM actors WHERE id = ?1");
    conn.prepare_cached(&sql)?
        .query_row([id], from_row)
        .optional()?
        .ok_or_else(|| Error::NotFound("Record not found".into()))
}

/// The actor with this handle, if cached.
pub fn find_by_acct(
    conn: &Connection,
    username: &str,
    domain: &str,
) -> Result<Option<RemoteActor>> {
    let sql = format!(
        "SELECT {COLUMNS} FROM actors WHERE username = ?1 COLLATE NOCASE AND domain = ?2 \
         ORDER BY fetched_at DESC LIMIT 1"
    );
    Ok(conn
        .prepare_cached(&sql)?
        .query_row(params![username, domain], from_row)
        .optional()?)
}

/// Inserts or refreshes an actor by its `uri`; returns the row id. The key is replaced
/// here, so callers pass only documents fetched from the actor's own URL.
pub fn upsert(conn: &Connection, a: &RemoteActor) -> Result<i64> {
    conn.prepare_cached(
        "INSERT INTO actors (uri, username, domain, display_name, note_html, url, inbox, shared_inbox,
            outbox, followers_url, following_url, featured_url, key_id, public_key_pem, avatar_url,
            header_url, kind, locked, discoverable, fields_json, also_known_as, moved_to, published_at,
            fetched_at, gone_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18, ?19,
            ?20, ?21, ?22, ?23, ?24, NULL)
         ON CONFLICT(uri) DO UPDATE SET username = excluded.username, domain = excluded.domain,
            display_name = excluded.display_name, note_html = excluded.note_html, url = excluded.url,
            inbox = excluded.inbox, shared_inbox = excluded.shared_inbox, outbox = excluded.outbox,
            followers_url = excluded.followers_url, following_url = excluded.following_url,
            featured_url = excluded.featured_url, key_id = excluded.key_id,
            public_key_pem = excluded.public_key_pem, avatar_url = excluded.avatar_url,
            header_url = excluded.header_url, kind = excluded.kind, locked = excluded.locked,
            discoverable = excluded.discoverable, fields_json = excluded.fields_json,
            also_known_as = excluded.also_known_as, moved_to = excluded.moved_to,
            published_at = excluded.published_at, fetched_at = excluded.fetched_at, gone_at = NULL",
    )?
    .execute(params![
        a.uri,
        a.username,
        a.domain,
        a.display_name,
        a.note_html,
        a.url,
        a.inbox,
        a.shared_inbox,
        a.outbox,
        a.followers_url,
        a.following_url,
        a.featured_url,
        a.key_id,
        a.public_key_pem,
        a.avatar_url,
        a.header_url,
        a.kind,
        a.locked,
        a.discoverable,
        a.fields_json,
        a.also_known_as,
        a.moved_to,
        a.published_at,
        a.fetched_at
    ])?;
    Ok(conn
        .prepare_cached("SELECT id FROM actors WHERE uri = ?1")?
        .query_row([&a.uri], |r| r.get(0))?)
}

/// Records where an actor moved (a verified `Move`), or that it did not.
pub fn update_moved_to(conn: &Connection, id: i64, moved_to: Option<&str>) -> Result<()> {
    conn.prepare_cached("UPDATE actors SET moved_to = ?2 WHERE id = ?1")?
        .execute(params![id, moved_to])?;
    Ok(())
}

/// Records that an actor is gone (410 or `Delete`): it is never fetched again and its
/// posts are removed.
pub fn mark_gone(conn: &Connection, id: i64, now: i64) -> Result<()> {
    conn.prepare_cached("UPDATE actors SET gone_at = ?2, public_key_pem = NULL WHERE id = ?1")?
        .execute(params![id, now])?;
    conn.prepare_cached("DELETE FROM posts WHERE actor_id = ?1")?
        .execute([id])?;
    conn.prepare_cached("DELETE FROM followers WHERE actor_id = ?1")?
        .execute([id])?;
    conn.prepare_cached("DELETE FROM following WHERE actor_id = ?1")?
        .execute([id])?;
    Ok(())
}

/// Records a tombstone for an actor URI that was never cached (410 on first fetch).
pub fn insert_tombstone(conn: &Connection, uri: &str, domain: &str, now: i64) -> Result<()> {
    conn.prepare_cached(
        "INSERT INTO actors (uri, domain, inbox, fetched_at, gone_at) VALUES (?1, ?2, '', ?3, ?3)
         ON CONFLICT(uri) DO UPDATE SET gone_at = ?3, public_key_pem = NULL",
    )?
    .execute(params![uri, domain, now])?;
    Ok(())
}

/// Number of distinct remote hosts kith knows actors on (for `instance/peers`).
pub fn list_domains(conn: &Connection) -> Result<Vec<String>> {
    let mut stmt = conn.prepare_cached(
        "SELECT DISTINCT domain FROM actors WHERE gone_at IS NULL ORDER BY domain",
    )?;
    let rows = stmt.query_map([], |r| r.get(0))?;
    Ok(rows.collect::<rusqlite::Result<Vec<String>>>()?)
}

#[cfg(test)]
pub(crate) fn sample(uri: &str) -> RemoteActor {
    RemoteActor {
        id: 0,
        uri: uri.to_string(),
        username: "bob".into(),
        domain: "remote.example".into(),
        display_name: "Bob".into(),
        note_html: String::new(),
        url: None,
        inbox: format!("{uri}/inbox"),
        shared_inbox: Some("https://remote.example/inbox".into()),
        outbox: None,
        followers_url: None,
        following_url: None,
        featured_url: None,
        key_id: Some(format!("{uri}#main-key")),
        public_key_pem: Some("pem".into()),
        avatar_url: None,
        header_url: None,
        kind: "Person".into(),
        locked: false,
        discoverable: true,
        fields_json: "[]".into(),
        also_known_as: "[]".into(),
        moved_to: None,
        published_at: None,
        fetched_at: 1,
        gone_at: None,
    }
}

/// Cached actors whose handle or name contains `q`, most recently fetched first.
pub fn search(conn: &Connection, q: &str, limit: i64) -> Result<Vec<RemoteActor>> {
    let pattern = format!("%{}%", q.replace(['%', '_'], ""));
    let sql = format!(
        "SELECT {COLUMNS} FROM actors WHERE gone_at IS NULL AND inbox != ''
         AND (username LIKE ?1 OR display_name LIKE ?1 OR domain LIKE ?1) ORDER BY fetched_at DESC LIMIT ?2"
    );
    let mut stmt = conn.prepare_cached(&sql)?;
    let rows = stmt.query_map(params![pattern, limit], from_row)?;
    Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::db::Db;

    #[test]
    fn upsert_refreshes_and_gone_sticks() {
        let conn = Db::open_in_memory().unwrap();
        let mut a = sample("https://remote.example/users/bob");
        let id = upsert(&conn, &a).unwrap();
        a.display_name = "Robert".into();
        assert_eq!(upsert(&conn, &a).unwrap(), id);
        let got = find_by_uri(&conn, &a.uri).unwrap().unwrap();
        assert_eq!(got.display_name, "Robert");
        assert_eq!(got.delivery_inbox(), "https://remote.example/inbox");
        assert_eq!(
            find_by_acct(&conn, "BOB", "remote.example")
                .unwrap()
                .unwrap()
                .id,
            id
        );
        mark_gone(&conn, id, 5).unwrap();
        let gone = get(&conn, id).unwrap();
        assert_eq!(gone.gone_at, Some(5));
        assert!(gone.public_key_pem.is_none());
        assert_eq!(list_domains(&conn).unwrap().len(), 0);
    }
}
