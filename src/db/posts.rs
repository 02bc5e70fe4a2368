//! Posts, local and remote.

use crate::error::Result;
use rusqlite::Connection;

/// How many posts the local account has written (not deleted, boosts excluded).
pub fn count_local(conn: &Connection) -> Result<i64> {
    Ok(conn
        .prepare_cached("SELECT count(*) FROM posts WHERE actor_id IS NULL AND reblog_of_id IS NULL AND deleted_at IS NULL")?
        .query_row([], |r| r.get(0))?)
}
