//! Link preview cards: the page each post's card comes from (`post_cards`), and one
//! row per page (`link_cards`) holding its fetched card or the memory that it has
//! none, shared by every post linking it. A page row is also the card queue's job
//! while its `due_at` is set; `cards::run_once` takes the jobs.

use crate::error::Result;
use rusqlite::{Connection, OptionalExtension, params};

/// A fetched card, as stored; every text is plain and already capped.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Card {
    /// The page linked from the post (as linked, before any redirect).
    pub url: String,
    pub title: String,
    pub description: String,
    /// The page's picture, absolute http(s), not yet proxied.
    pub image_url: Option<String>,
    pub provider_name: String,
    pub author_name: String,
    pub author_url: String,
    pub published_at: Option<i64>,
}

/// A queued page fetch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Job {
    pub url: String,
    pub host: String,
}

/// Links `post_id` to the card of `url` and queues the page unless its answer is
/// still fresh or it is already queued; returns whether a fetch was queued.
pub fn request(conn: &Connection, post_id: i64, url: &str, host: &str, now: i64) -> Result<bool> {
    conn.prepare_cached("INSERT OR REPLACE INTO post_cards (post_id, url) VALUES (?1, ?2)")?
        .execute(params![post_id, url])?;
    let queued = conn
        .prepare_cached(
            "INSERT INTO link_cards (url, host, due_at, stale_at) VALUES (?1, ?2, ?3, 0)
             ON CONFLICT (url) DO UPDATE SET due_at = ?3
             WHERE due_at IS NULL AND stale_at <= ?3",
        )?
        .execute(params![url, host, now])?;
    Ok(queued > 0)
}

/// Whether a post was ever given a card's page.
pub fn has_post(conn: &Connection, post_id: i64) -> Result<bool> {
    Ok(conn
        .prepare_cached("SELECT EXISTS (SELECT 1 FROM post_cards WHERE post_id = ?1)")?
        .query_row([post_id], |r| r.get(0))?)
}

/// Forgets which card a post shows (its edit left no link).
pub fn unlink(conn: &Connection, post_id: i64) -> Result<()> {
    conn.prepare_cached("DELETE FROM post_cards WHERE post_id = ?1")?
        .execute([post_id])?;
    Ok(())
}

/// The queued page due first, if one is due at `now`.
pub fn next_due(conn: &Connection, now: i64) -> Result<Option<Job>> {
    Ok(conn
        .prepare_cached(
            "SELECT url, host FROM link_cards WHERE due_at IS NOT NULL AND due_at <= ?1
             ORDER BY due_at, url LIMIT 1",
        )?
        .query_row([now], |r| {
            Ok(Job {
                url: r.get(0)?,
                host: r.get(1)?,
            })
        })
        .optional()?)
}

/// Moves a queued page to a later time (its host is over its limit).
pub fn postpone(conn: &Connection, url: &str, until: i64) -> Result<()> {
    conn.prepare_cached("UPDATE link_cards SET due_at = ?2 WHERE url = ?1")?
        .execute(params![url, until])?;
    Ok(())
}

/// How many pages of `host` were fetched since `since`.
pub fn fetches_since(conn: &Connection, host: &str, since: i64) -> Result<i64> {
    Ok(conn
        .prepare_cached("SELECT COUNT(*) FROM link_cards WHERE host = ?1 AND fetched_at > ?2")?
        .query_row(params![host, since], |r| r.get(0))?)
}

/// Stores a card fetched at `now`, fresh until `stale_at`, and takes the page off the
/// queue.
pub fn store(conn: &Connection, card: &Card, now: i64, stale_at: i64) -> Result<()> {
    conn.prepare_cached(
        "UPDATE link_cards SET due_at = NULL, stale_at = ?2, found = 1, title = ?3,
         description = ?4, image_url = ?5, provider_name = ?6, author_name = ?7,
         author_url = ?8, published_at = ?9, fetched_at = ?10 WHERE url = ?1",
    )?
    .execute(params![
        card.url,
        stale_at,
        card.title,
        card.description,
        card.image_url,
        card.provider_name,
        card.author_name,
        card.author_url,
        card.published_at,
        now
    ])?;
    Ok(())
}

/// Remembers until `stale_at` that a page fetched at `now` gave no card (a card found
/// before is kept), and takes it off the queue.
pub fn store_none(conn: &Connection, url: &str, now: i64, stale_at: i64) -> Result<()> {
    conn.prepare_cached(
        "UPDATE link_cards SET due_at = NULL, stale_at = ?2, fetched_at = ?3 WHERE url = ?1",
    )?
    .execute(params![url, stale_at, now])?;
    Ok(())
}

/// The posts showing the card of `url`.
pub fn posts_of(conn: &Connection, url: &str) -> Result<Vec<i64>> {
    let mut stmt = conn.prepare_cached("SELECT post_id FROM post_cards WHERE url = ?1")?;
    let rows = stmt.query_map([url], |r| r.get(0))?;
    Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
}

/// The card a post shows, when its page gave one.
pub fn for_post(conn: &Connection, post_id: i64) -> Result<Option<Card>> {
    Ok(conn
        .prepare_cached(
            "SELECT c.url, c.title, c.description, c.image_url, c.provider_name,
                    c.author_name, c.author_url, c.published_at
             FROM post_cards p JOIN link_cards c ON c.url = p.url
             WHERE p.post_id = ?1 AND c.found = 1",
        )?
        .query_row([post_id], |r| {
            Ok(Card {
                url: r.get(0)?,
                title: r.get(1)?,
                description: r.get(2)?,
                image_url: r.get(3)?,
                provider_name: r.get(4)?,
                author_name: r.get(5)?,
                author_url: r.get(6)?,
                published_at: r.get(7)?,
            })
        })
        .optional()?)
}

/// Forgets pages no post links any more once their answer is stale; returns how many.
pub fn prune(conn: &Connection, now: i64) -> Result<usize> {
    Ok(conn
        .prepare_cached(
            "DELETE FROM link_cards WHERE due_at IS NULL AND stale_at <= ?1
             AND NOT EXISTS (SELECT 1 FROM post_cards p WHERE p.url = link_cards.url)",
        )?
        .execute([now])?)
}

/// Whether a page fetch is due at `now` (or running: a job leaves the queue only
/// when its answer is stored).
pub fn pending_work(conn: &Connection, now: i64) -> Result<bool> {
    Ok(conn
        .prepare_cached(
            "SELECT EXISTS (SELECT 1 FROM link_cards WHERE due_at IS NOT NULL AND due_at <= ?1)",
        )?
        .query_row([now], |r| r.get(0))?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::db::Db;

    fn post(conn: &Connection, id: i64) {
        conn.execute(
            "INSERT INTO posts (id, uri, kind, content_html, visibility, audience_json, published_at)
             VALUES (?1, ?2, 'Note', '', 'public', '[]', 0)",
            params![id, format!("https://k.example/s/{id}")],
        )
        .unwrap();
    }

    #[test]
    fn one_fetch_per_page_shared_and_refreshed_when_stale() {
        let conn = Db::open_in_memory().unwrap();
        post(&conn, 1);
        post(&conn, 2);
        let url = "https://p.example/a";
        assert!(request(&conn, 1, url, "p.example", 10).unwrap());
        assert!(!has_post(&conn, 2).unwrap());
        assert!(!request(&conn, 2, url, "p.example", 11).unwrap());
        assert!(has_post(&conn, 2).unwrap());
        assert!(pending_work(&conn, 10).unwrap());
        assert_eq!(next_due(&conn, 10).unwrap().unwrap().url, url);
        assert_eq!(for_post(&conn, 1).unwrap(), None);
        let card = Card {
            url: url.into(),
            title: "T".into(),
            ..Card::default()
        };
        store(&conn, &card, 20, 100).unwrap();
        assert_eq!(fetches_since(&conn, "p.example", 19).unwrap(), 1);
        assert_eq!(fetches_since(&conn, "p.example", 20).unwrap(), 0);
        assert!(!pending_work(&conn, 50).unwrap());
        assert_eq!(for_post(&conn, 2).unwrap(), Some(card.clone()));
        assert_eq!(posts_of(&conn, url).unwrap(), vec![1, 2]);
        // Fresh: no new fetch; stale: one, and the old card shows meanwhile.
        assert!(!request(&conn, 1, url, "p.example", 99).unwrap());
        assert!(request(&conn, 1, url, "p.example", 100).unwrap());
        store_none(&conn, url, 100, 200).unwrap();
        assert_eq!(for_post(&conn, 1).unwrap(), Some(card));
        unlink(&conn, 1).unwrap();
        assert_eq!(for_post(&conn, 1).unwrap(), None);
        // Still linked by post 2: kept; unlinked and stale: forgotten.
        assert_eq!(prune(&conn, 500).unwrap(), 0);
        unlink(&conn, 2).unwrap();
        assert_eq!(prune(&conn, 199).unwrap(), 0);
        assert_eq!(prune(&conn, 200).unwrap(), 1);
        assert!(request(&conn, 1, url, "p.example", 201).unwrap());
    }
}
