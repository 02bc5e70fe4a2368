//! Storage: opening the SQLite file with kith's pragmas, the append-only migrations
//! applied by `PRAGMA user_version`, and the connection handling (one writer, a few
//! readers). All SQL of kith lives below this module; callers get domain types.

pub mod account;
pub mod actor_counts;
pub mod actors;
pub mod backups;
pub mod blocks;
pub mod cards;
pub mod deliveries;
pub mod doctor;
pub mod favourites;
pub mod filters;
pub mod follows;
pub mod lists;
pub(crate) mod markers;
pub mod media;
pub mod notification_groups;
pub mod notifications;
pub(crate) mod oauth;
pub(crate) mod pages;
pub(crate) mod polls;
pub mod portability;
pub mod posts;
pub mod push;
pub(crate) mod queue;
pub mod reports;
pub mod retention;
pub mod scheduled;
pub(crate) mod sessions;
pub mod tags;
pub(crate) mod timelines;
pub mod tokens;
pub(crate) mod writer;

use crate::error::{Error, Result};
use rusqlite::{Connection, OpenFlags, TransactionBehavior};
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::Duration;

/// A database connection, as code outside `db` names it. Transactions deref to one, so
/// the functions below take `&Conn` for both.
pub type Conn = Connection;

/// The SQLite driver's error, for `crate::error`'s conversion.
pub type SqlError = rusqlite::Error;

/// The SQLite driver's error codes (busy and locked become `Error::Busy`).
pub type SqlErrorCode = rusqlite::ErrorCode;

/// SQLite's errors become kith's: a lock held past the busy timeout is
/// [`Error::Busy`](crate::error::Error::Busy) (503 with `Retry-After`), the rest an
/// internal database error whose cause stays in the log.
impl From<SqlError> for crate::error::Error {
    fn from(e: SqlError) -> Self {
        match e.sqlite_error_code() {
            Some(SqlErrorCode::DatabaseBusy) | Some(SqlErrorCode::DatabaseLocked) => {
                crate::error::Error::Busy
            }
            _ => crate::error::Error::Db(Box::new(e)),
        }
    }
}

/// The migrations, in order; the database's `user_version` counts how many ran.
const MIGRATIONS: &[&str] = &[
    include_str!("migrations/0001_init.sql"),
    include_str!("migrations/0002_federation.sql"),
    include_str!("migrations/0003_client_api.sql"),
    include_str!("migrations/0004_media.sql"),
    include_str!("migrations/0005_portability.sql"),
    include_str!("migrations/0006_web.sql"),
    include_str!("migrations/0007_privacy.sql"),
    include_str!("migrations/0008_scheduled.sql"),
    include_str!("migrations/0009_api.sql"),
    include_str!("migrations/0010_first_run.sql"),
    include_str!("migrations/0011_push.sql"),
    include_str!("migrations/0012_doctor.sql"),
    include_str!("migrations/0013_cards.sql"),
    include_str!("migrations/0014_backups.sql"),
];

/// How often the server checkpoints the write-ahead log.
const CHECKPOINT_EVERY_MS: i64 = 1000;
/// WAL pages after which a commit checkpoints by itself (SQLite's default is 1,000).
const WAL_BACKSTOP_PAGES: i64 = 8000;

/// How many idle reader connections are kept open.
const IDLE_READERS: usize = 8;

/// The database: one serialised writer connection and a small pool of readers.
pub struct Db {
    path: PathBuf,
    writer: writer::Writer,
    /// When [`Db::checkpoint_if_due`] last ran (ms).
    last_checkpoint: std::sync::atomic::AtomicI64,
    readers: Mutex<Vec<Connection>>,
}

impl Db {
    /// Opens (creating if needed) the database at `path` and brings its schema up to date.
    pub fn open(path: &Path) -> Result<Db> {
        let mut writer = open_connection(path)?;
        migrate(&mut writer)?;
        // Checkpoints run beside the writer ([`Db::checkpoint_if_due`]), so no commit
        // waits for one; this larger limit is only the backstop.
        writer.pragma_update(None, "wal_autocheckpoint", WAL_BACKSTOP_PAGES)?;
        Ok(Db {
            path: path.to_path_buf(),
            writer: writer::Writer::new(writer),
            // The first checkpoint waits a period: start-up has little to copy.
            last_checkpoint: std::sync::atomic::AtomicI64::new(now_ms()),
            readers: Mutex::new(Vec::new()),
        })
    }

    /// Opens an in-memory database with the real migrations (tests).
    pub fn open_in_memory() -> Result<Connection> {
        let mut conn = Connection::open_in_memory()?;
        conn.execute_batch("PRAGMA foreign_keys = ON;")?;
        migrate(&mut conn)?;
        Ok(conn)
    }

    /// Runs `f` on a reader connection.
    pub fn read<T>(&self, f: impl FnOnce(&Connection) -> Result<T>) -> Result<T> {
        let conn = self.take_reader()?;
        let result = f(&conn);
        let mut pool = self.readers.lock().map_err(|_| poisoned())?;
        if pool.len() < IDLE_READERS {
            pool.push(conn);
        }
        result
    }

    /// Runs `f` on a reader connection inside one read transaction: its queries see one
    /// snapshot and share one lock, instead of one each (the inbox's hot path).
    pub fn read_tx<T>(&self, f: impl FnOnce(&Connection) -> Result<T>) -> Result<T> {
        self.read(|conn| {
            let tx = conn.unchecked_transaction()?;
            let value = f(&tx)?;
            tx.commit()?;
            Ok(value)
        })
    }

    /// Runs `f` inside one `BEGIN IMMEDIATE` transaction on the writer; commits on `Ok`
    /// (together with any grouped writes waiting in the same transaction).
    pub fn write<T>(&self, f: impl FnOnce(&Connection) -> Result<T>) -> Result<T> {
        self.writer.write(false, f)
    }

    /// Like [`Db::write`], but the commit may be shared with writes from other threads
    /// waiting at the same moment (group commit, see [`writer`]); returns after it. Only
    /// for closures that touch nothing but the database.
    pub fn write_grouped<T>(&self, f: impl FnOnce(&Connection) -> Result<T>) -> Result<T> {
        self.writer.write(true, f)
    }

    /// Copies the write-ahead log into the database file when a second has passed since
    /// the last time (a passive checkpoint on a reader: writers go on meanwhile, and the
    /// file sync happens outside the write lock). Returns whether it ran.
    pub fn checkpoint_if_due(&self) -> Result<bool> {
        let now = now_ms();
        let last = self
            .last_checkpoint
            .load(std::sync::atomic::Ordering::Relaxed);
        if now - last < CHECKPOINT_EVERY_MS {
            return Ok(false);
        }
        self.last_checkpoint
            .store(now, std::sync::atomic::Ordering::Relaxed);
        self.read(|conn| {
            conn.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |_| Ok(()))?;
            Ok(true)
        })
    }

    /// Whether the database answers a trivial query.
    pub fn healthy(&self) -> bool {
        self.read(|conn| Ok(conn.query_row("SELECT 1", [], |r| r.get::<_, i64>(0))?))
            .is_ok()
    }

    /// Writes a consistent copy of the database to `dest` (`VACUUM INTO`).
    pub fn snapshot(&self, dest: &Path) -> Result<()> {
        let dest = dest
            .to_str()
            .ok_or_else(|| Error::Internal("backup path is not UTF-8".into()))?;
        self.read(|conn| {
            conn.execute("VACUUM INTO ?1", [dest])?;
            Ok(())
        })
    }

    /// Runs `PRAGMA optimize` before the process exits.
    pub fn close(&self) {
        let _ = self
            .writer
            .with_conn(|conn| conn.execute_batch("PRAGMA optimize;"));
    }

    fn take_reader(&self) -> Result<Connection> {
        if let Some(conn) = self.readers.lock().map_err(|_| poisoned())?.pop() {
            return Ok(conn);
        }
        open_connection(&self.path)
    }
}

fn poisoned() -> Error {
    Error::Internal("a database lock was poisoned by a panic".into())
}

/// Opens one connection with kith's pragmas: busy timeout first, then WAL and the rest.
fn open_connection(path: &Path) -> Result<Connection> {
    let flags = OpenFlags::SQLITE_OPEN_READ_WRITE
        | OpenFlags::SQLITE_OPEN_CREATE
        | OpenFlags::SQLITE_OPEN_NO_MUTEX
        | OpenFlags::SQLITE_OPEN_URI;
    let conn = Connection::open_with_flags(path, flags)?;
    conn.busy_timeout(Duration::from_secs(10))?;
    conn.execute_batch(
        "PRAGMA journal_mode = WAL;
         PRAGMA synchronous = NORMAL;
         PRAGMA foreign_keys = ON;
         PRAGMA cache_size = -2048;
         PRAGMA temp_store = MEMORY;",
    )?;
    conn.set_prepared_statement_cache_capacity(64);
    Ok(conn)
}

/// Applies every migration newer than the database's `user_version`, each in its own transaction.
fn migrate(conn: &mut Connection) -> Result<()> {
    let current: usize =
        conn.query_row("PRAGMA user_version", [], |r| r.get::<_, i64>(0))? as usize;
    if current > MIGRATIONS.len() {
        return Err(Error::Config(format!(
            "the database has schema version {current}, newer than this kith knows ({}); \
             run a newer kith or restore a backup",
            MIGRATIONS.len()
        )));
    }
    for (index, sql) in MIGRATIONS.iter().enumerate().skip(current) {
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        tx.execute_batch(sql)?;
        tx.pragma_update(None, "user_version", (index + 1) as i64)?;
        tx.commit()?;
    }
    if current < MIGRATIONS.len() {
        let _ = conn.execute_batch("PRAGMA wal_checkpoint(RESTART);");
    }
    Ok(())
}

/// Current time in milliseconds since the Unix epoch, as stored in every `*_at` column.
pub fn now_ms() -> i64 {
    crate::dates::now_ms()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn migrations_apply_and_set_user_version() {
        let conn = Db::open_in_memory().unwrap();
        let v: i64 = conn
            .query_row("PRAGMA user_version", [], |r| r.get(0))
            .unwrap();
        assert_eq!(v as usize, MIGRATIONS.len());
        let tables: i64 = conn
            .query_row(
                "SELECT count(*) FROM sqlite_master WHERE type='table' AND name='account'",
                [],
                |r| r.get(0),
            )
            .unwrap();
        assert_eq!(tables, 1);
    }

    #[test]
    fn reopening_runs_nothing_twice_and_refuses_newer_schemas() {
        let dir = std::env::temp_dir().join(format!("kith-db-test-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("t.sqlite3");
        let _ = std::fs::remove_file(&path);
        drop(Db::open(&path).unwrap());
        let db = Db::open(&path).unwrap();
        assert!(db.healthy());
        let mode: String = db
            .read(|c| Ok(c.query_row("PRAGMA journal_mode", [], |r| r.get(0))?))
            .unwrap();
        assert_eq!(mode, "wal");
        db.write(|tx| {
            tx.pragma_update(None, "user_version", 999)?;
            Ok(())
        })
        .unwrap();
        drop(db);
        match Db::open(&path) {
            Err(Error::Config(m)) => assert!(m.contains("newer")),
            other => panic!("expected refusal, got {:?}", other.map(|_| ())),
        }
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
