//! Uploaded media files and their metadata, and the remote media cache's index: which
//! file holds which remote URL, its recorded type, size and last use (for eviction).

use crate::error::{Error, Result};
use rusqlite::{Connection, OptionalExtension, Row, params};

/// An uploaded file.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Media {
    pub id: i64,
    pub post_id: Option<i64>,
    pub file_name: String,
    pub thumb_name: Option<String>,
    pub media_type: String,
    pub kind: String,
    pub description: String,
    pub focus_x: Option<f64>,
    pub focus_y: Option<f64>,
    pub blurhash: Option<String>,
    pub width: Option<i64>,
    pub height: Option<i64>,
    pub size: i64,
    pub created_at: i64,
    /// The media type of the thumbnail, when there is one.
    pub thumb_media_type: Option<String>,
    /// `attachment`, `avatar` or `header`.
    pub purpose: String,
}

/// Uploads made for posts.
pub const ATTACHMENT: &str = "attachment";

const COLUMNS: &str = "id, post_id, file_name, thumb_name, media_type, kind, description, focus_x, focus_y, blurhash, \
    width, height, size, created_at, thumb_media_type, purpose";

fn from_row(r: &Row) -> rusqlite::Result<Media> {
    Ok(Media {
        id: r.get(0)?,
        post_id: r.get(1)?,
        file_name: r.get(2)?,
        thumb_name: r.get(3)?,
        media_type: r.get(4)?,
        kind: r.get(5)?,
        description: r.get(6)?,
        focus_x: r.get(7)?,
        focus_y: r.get(8)?,
        blurhash: r.get(9)?,
        width: r.get(10)?,
        height: r.get(11)?,
        size: r.get(12)?,
        created_at: r.get(13)?,
        thumb_media_type: r.get(14)?,
        purpose: r.get(15)?,
    })
}

/// Stores a new upload.
pub fn insert(conn: &Connection, m: &Media) -> Result<()> {
    let purpose = if m.purpose.is_empty() {
        ATTACHMENT
    } else {
        &m.purpose
    };
    conn.prepare_cached(&format!("INSERT INTO media ({COLUMNS}) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16)"))?
        .execute(params![
            m.id, m.post_id, m.file_name, m.thumb_name, m.media_type, m.kind, m.description, m.focus_x, m.focus_y, m.blurhash,
            m.width, m.height, m.size, m.created_at, m.thumb_media_type, purpose
        ])?;
    Ok(())
}

/// The upload with this id.
pub fn get(conn: &Connection, id: i64) -> Result<Media> {
    conn.prepare_cached(&format!("SELECT {COLUMNS} FROM media WHERE id = ?1"))?
        .query_row([id], from_row)
        .optional()?
        .ok_or_else(|| Error::NotFound("Record not found".into()))
}

/// The upload made for posts with this id (profile images are not found).
pub fn get_attachment(conn: &Connection, id: i64) -> Result<Media> {
    conn.prepare_cached(&format!(
        "SELECT {COLUMNS} FROM media WHERE id = ?1 AND purpose = 'attachment'"
    ))?
    .query_row([id], from_row)
    .optional()?
    .ok_or_else(|| Error::NotFound("Record not found".into()))
}

/// The recorded media type of the uploaded file (original or thumbnail) named `name`.
pub fn find_file_type(conn: &Connection, name: &str) -> Result<Option<String>> {
    Ok(conn
        .prepare_cached(
            "SELECT media_type FROM media WHERE file_name = ?1
             UNION ALL SELECT thumb_media_type FROM media WHERE thumb_name = ?1 LIMIT 1",
        )?
        .query_row([name], |r| r.get::<_, Option<String>>(0))
        .optional()?
        .flatten())
}

/// Updates the description and focal point of an upload.
pub fn update_meta(
    conn: &Connection,
    id: i64,
    description: &str,
    focus: Option<(f64, f64)>,
) -> Result<()> {
    conn.prepare_cached(
        "UPDATE media SET description = ?2, focus_x = ?3, focus_y = ?4 WHERE id = ?1",
    )?
    .execute(params![
        id,
        description,
        focus.map(|f| f.0),
        focus.map(|f| f.1)
    ])?;
    conn.prepare_cached("UPDATE attachments SET description = ?2 WHERE media_id = ?1")?
        .execute(params![id, description])?;
    Ok(())
}

/// Marks an upload as attached to a post.
pub fn attach(conn: &Connection, id: i64, post_id: i64) -> Result<()> {
    conn.prepare_cached("UPDATE media SET post_id = ?2 WHERE id = ?1")?
        .execute(params![id, post_id])?;
    Ok(())
}

/// Uploads for posts never attached and older than `before`; removed with their files.
pub fn list_unattached(conn: &Connection, before: i64) -> Result<Vec<Media>> {
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT {COLUMNS} FROM media WHERE post_id IS NULL AND created_at < ?1 AND purpose = 'attachment'
         AND id NOT IN (SELECT media_id FROM attachments WHERE media_id IS NOT NULL)
         AND id NOT IN (SELECT media_id FROM scheduled_media)"
    ))?;
    let rows = stmt.query_map([before], from_row)?;
    Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
}

/// Profile images older than `before` that the account no longer shows.
pub fn list_unused_profile_images(conn: &Connection, before: i64) -> Result<Vec<Media>> {
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT {COLUMNS} FROM media WHERE purpose IN ('avatar', 'header') AND created_at < ?1
         AND file_name NOT IN (SELECT avatar_path FROM account WHERE avatar_path IS NOT NULL
                               UNION SELECT header_path FROM account WHERE header_path IS NOT NULL)"
    ))?;
    let rows = stmt.query_map([before], from_row)?;
    Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
}

/// Deletes an upload's row.
pub fn delete(conn: &Connection, id: i64) -> Result<()> {
    conn.prepare_cached("DELETE FROM media WHERE id = ?1")?
        .execute([id])?;
    Ok(())
}

/// A remote file in the cache.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cached {
    pub url_sha256: String,
    pub url: String,
    pub file_name: String,
    pub media_type: String,
    pub size: i64,
    pub last_used_at: i64,
}

const CACHE_COLUMNS: &str = "url_sha256, url, file_name, media_type, size, last_used_at";

fn cached_from_row(r: &Row) -> rusqlite::Result<Cached> {
    Ok(Cached {
        url_sha256: r.get(0)?,
        url: r.get(1)?,
        file_name: r.get(2)?,
        media_type: r.get(3)?,
        size: r.get(4)?,
        last_used_at: r.get(5)?,
    })
}

/// The cache entry of a URL (by its SHA-256), if any.
pub fn find_cached(conn: &Connection, url_sha256: &str) -> Result<Option<Cached>> {
    Ok(conn
        .prepare_cached(&format!(
            "SELECT {CACHE_COLUMNS} FROM media_cache WHERE url_sha256 = ?1"
        ))?
        .query_row([url_sha256], cached_from_row)
        .optional()?)
}

/// Records a cached file; false when another request cached the same URL first.
pub fn insert_cached(conn: &Connection, c: &Cached) -> Result<bool> {
    let n = conn
        .prepare_cached(&format!(
            "INSERT INTO media_cache ({CACHE_COLUMNS}) VALUES (?1, ?2, ?3, ?4, ?5, ?6)
             ON CONFLICT (url_sha256) DO NOTHING"
        ))?
        .execute(params![
            c.url_sha256,
            c.url,
            c.file_name,
            c.media_type,
            c.size,
            c.last_used_at
        ])?;
    Ok(n == 1)
}

/// Notes that a cached file was served at `now`.
pub fn touch_cached(conn: &Connection, url_sha256: &str, now: i64) -> Result<()> {
    conn.prepare_cached("UPDATE media_cache SET last_used_at = ?2 WHERE url_sha256 = ?1")?
        .execute(params![url_sha256, now])?;
    Ok(())
}

/// The bytes the cache holds.
pub fn cached_total(conn: &Connection) -> Result<i64> {
    Ok(conn
        .prepare_cached("SELECT COALESCE(SUM(size), 0) FROM media_cache")?
        .query_row([], |r| r.get(0))?)
}

/// Cache entries, least recently used first.
pub fn list_cached_lru(conn: &Connection, limit: i64) -> Result<Vec<Cached>> {
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT {CACHE_COLUMNS} FROM media_cache ORDER BY last_used_at, url_sha256 LIMIT ?1"
    ))?;
    let rows = stmt.query_map([limit], cached_from_row)?;
    Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
}

/// Forgets a cache entry.
pub fn delete_cached(conn: &Connection, url_sha256: &str) -> Result<()> {
    conn.prepare_cached("DELETE FROM media_cache WHERE url_sha256 = ?1")?
        .execute([url_sha256])?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::db::Db;

    fn media(id: i64, name: &str, created_at: i64) -> Media {
        Media {
            id,
            file_name: format!("{name}.jpg"),
            thumb_name: Some(format!("{name}t.jpg")),
            thumb_media_type: Some("image/jpeg".into()),
            media_type: "image/png".into(),
            kind: "image".into(),
            size: 10,
            created_at,
            ..Media::default()
        }
    }

    #[test]
    fn files_are_found_by_name_with_their_recorded_type() {
        let conn = Db::open_in_memory().unwrap();
        insert(&conn, &media(1, "aaaa", 5)).unwrap();
        assert_eq!(
            find_file_type(&conn, "aaaa.jpg").unwrap().as_deref(),
            Some("image/png")
        );
        assert_eq!(
            find_file_type(&conn, "aaaat.jpg").unwrap().as_deref(),
            Some("image/jpeg")
        );
        assert_eq!(find_file_type(&conn, "nope.jpg").unwrap(), None);
        assert_eq!(get(&conn, 1).unwrap().purpose, ATTACHMENT);
    }

    #[test]
    fn unattached_and_profile_images_are_listed_for_removal() {
        let conn = Db::open_in_memory().unwrap();
        insert(&conn, &media(1, "old", 5)).unwrap();
        insert(&conn, &media(2, "new", 50)).unwrap();
        let mut avatar = media(3, "avatar", 5);
        avatar.purpose = "avatar".into();
        insert(&conn, &avatar).unwrap();
        let old: Vec<i64> = list_unattached(&conn, 10)
            .unwrap()
            .iter()
            .map(|m| m.id)
            .collect();
        assert_eq!(old, vec![1]);
        assert!(get_attachment(&conn, 3).is_err());
        assert_eq!(list_unused_profile_images(&conn, 10).unwrap().len(), 1);
    }

    #[test]
    fn cache_index_is_least_recently_used_first() {
        let conn = Db::open_in_memory().unwrap();
        for (i, used) in [(1, 30), (2, 10), (3, 20)] {
            let c = Cached {
                url_sha256: format!("h{i}"),
                url: format!("https://r.example/{i}"),
                file_name: format!("f{i}.png"),
                media_type: "image/png".into(),
                size: 100,
                last_used_at: used,
            };
            assert!(insert_cached(&conn, &c).unwrap());
            assert!(!insert_cached(&conn, &c).unwrap());
        }
        assert_eq!(cached_total(&conn).unwrap(), 300);
        touch_cached(&conn, "h2", 40).unwrap();
        let order: Vec<String> = list_cached_lru(&conn, 10)
            .unwrap()
            .into_iter()
            .map(|c| c.url_sha256)
            .collect();
        assert_eq!(order, vec!["h3", "h1", "h2"]);
        delete_cached(&conn, "h3").unwrap();
        assert_eq!(find_cached(&conn, "h3").unwrap(), None);
        assert_eq!(find_cached(&conn, "h1").unwrap().unwrap().size, 100);
    }
}
