//! Uploaded media files and their metadata.

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
}

const COLUMNS: &str = "id, post_id, file_name, thumb_name, media_type, kind, description, focus_x, focus_y, blurhash, \
    width, height, size, created_at";

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
    })
}

/// Stores a new upload.
pub fn insert(conn: &Connection, m: &Media) -> Result<()> {
    conn.prepare_cached(&format!("INSERT INTO media ({COLUMNS}) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14)"))?
        .execute(params![
            m.id, m.post_id, m.file_name, m.thumb_name, m.media_type, m.kind, m.description, m.focus_x, m.focus_y, m.blurhash,
            m.width, m.height, m.size, m.created_at
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

/// Uploads never attached and older than `before`; removed with their files.
pub fn list_unattached(conn: &Connection, before: i64) -> Result<Vec<Media>> {
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT {COLUMNS} FROM media WHERE post_id IS NULL AND created_at < ?1
         AND id NOT IN (SELECT media_id FROM attachments WHERE media_id IS NOT NULL)"
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
