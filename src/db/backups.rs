//! The record of backups taken (`portability::backups` writes it): when each started,
//! where it went and how it ended. Only the last hundred are kept.

use crate::error::Result;
use rusqlite::{Connection, OptionalExtension, params};

/// One backup attempt.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BackupRow {
    pub taken_at: i64,
    pub destination: String,
    pub name: String,
    pub bytes: i64,
    /// None when it succeeded.
    pub error: Option<String>,
}

/// Records an attempt, and forgets all but the last hundred.
pub fn record(conn: &Connection, row: &BackupRow) -> Result<()> {
    conn.prepare_cached(
        "INSERT INTO backups (taken_at, destination, name, bytes, error)
         VALUES (?1, ?2, ?3, ?4, ?5)",
    )?
    .execute(params![
        row.taken_at,
        row.destination,
        row.name,
        row.bytes,
        row.error
    ])?;
    conn.prepare_cached(
        "DELETE FROM backups WHERE id NOT IN (SELECT id FROM backups ORDER BY id DESC LIMIT 100)",
    )?
    .execute([])?;
    Ok(())
}

fn row(r: &rusqlite::Row<'_>) -> rusqlite::Result<BackupRow> {
    Ok(BackupRow {
        taken_at: r.get(0)?,
        destination: r.get(1)?,
        name: r.get(2)?,
        bytes: r.get(3)?,
        error: r.get(4)?,
    })
}

/// The last attempt, good or not.
pub fn last_attempt(conn: &Connection) -> Result<Option<BackupRow>> {
    Ok(conn
        .prepare_cached(
            "SELECT taken_at, destination, name, bytes, error FROM backups
             ORDER BY taken_at DESC, id DESC LIMIT 1",
        )?
        .query_row([], row)
        .optional()?)
}

/// The last backup that succeeded.
pub fn last_good(conn: &Connection) -> Result<Option<BackupRow>> {
    Ok(conn
        .prepare_cached(
            "SELECT taken_at, destination, name, bytes, error FROM backups
             WHERE error IS NULL ORDER BY taken_at DESC, id DESC LIMIT 1",
        )?
        .query_row([], row)
        .optional()?)
}
