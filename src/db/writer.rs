//! The one writer connection, with group commit. Every write runs in a `BEGIN
//! IMMEDIATE` transaction on this connection and its caller returns only once that
//! transaction has committed. A *grouped* write that finishes while other writes are
//! already waiting for the connection leaves the transaction open for them and waits;
//! the last of them commits for all (or the first to wait past [`MAX_WAIT`]). Under
//! concurrent load (inbox requests, inbox workers, delivery workers) that turns many
//! small commits into a few larger ones; alone, a write commits at once as before.
//!
//! A write that joins an open transaction runs inside a savepoint, so its failure
//! undoes only its own changes. Only callers whose closures touch nothing but the
//! database use grouped writes: a waiting caller still holds whatever it held when it
//! called.

use crate::error::{Error, Result};
use rusqlite::Connection;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Condvar, Mutex, MutexGuard};
use std::time::{Duration, Instant};

/// Writes one shared transaction may hold before it is committed.
const MAX_MEMBERS: usize = 64;
/// How long a shared transaction may stay open before a write commits it anyway.
const MAX_OPEN: Duration = Duration::from_millis(5);
/// How long a waiting write waits for the commit before committing itself.
const MAX_WAIT: Duration = Duration::from_millis(10);

/// The writer connection and its group-commit state.
pub struct Writer {
    state: Mutex<State>,
    committed: Condvar,
    /// Writes waiting for the connection's lock.
    queued: AtomicUsize,
}

struct State {
    conn: Connection,
    /// The open shared transaction, if any.
    open: Option<Group>,
    /// Number of the last transaction that ended (committed or failed).
    ended: u64,
    /// The latest transactions whose commit failed, with the error (a few, newest last).
    failed: Vec<(u64, String)>,
    /// Number of the last transaction begun.
    begun: u64,
}

struct Group {
    number: u64,
    members: usize,
    opened: Instant,
}

impl Writer {
    /// Wraps the writer connection.
    pub fn new(conn: Connection) -> Writer {
        Writer {
            state: Mutex::new(State {
                conn,
                open: None,
                ended: 0,
                failed: Vec::new(),
                begun: 0,
            }),
            committed: Condvar::new(),
            queued: AtomicUsize::new(0),
        }
    }

    /// Runs `f` in a transaction and returns once it committed; with `grouped`, the
    /// commit may be shared with writes waiting at the same moment.
    pub fn write<T>(&self, grouped: bool, f: impl FnOnce(&Connection) -> Result<T>) -> Result<T> {
        self.queued.fetch_add(1, Ordering::SeqCst);
        let locked = self.state.lock();
        self.queued.fetch_sub(1, Ordering::SeqCst);
        let mut st = locked.map_err(|_| poisoned())?;
        let value = match st.open.as_ref().map(|g| g.number) {
            Some(_) => {
                // Others' work is in the transaction: only this write's part may be undone.
                let sp = st.conn.savepoint()?;
                let value = f(&sp);
                if value.is_ok() {
                    sp.commit()?;
                }
                value
            }
            None => {
                st.conn.execute_batch("BEGIN IMMEDIATE")?;
                st.begun += 1;
                st.open = Some(Group {
                    number: st.begun,
                    members: 0,
                    opened: Instant::now(),
                });
                let value = f(&st.conn);
                if value.is_err() {
                    // Nobody else is in it: the whole transaction goes.
                    let _ = st.conn.execute_batch("ROLLBACK");
                    st.open = None;
                    st.ended = st.begun;
                    self.committed.notify_all();
                    return value;
                }
                value
            }
        };
        let Some(group) = st.open.as_mut() else {
            return Err(Error::Internal("the write transaction ended early".into()));
        };
        group.members += 1;
        let number = group.number;
        let share = grouped
            && self.queued.load(Ordering::SeqCst) > 0
            && group.members < MAX_MEMBERS
            && group.opened.elapsed() < MAX_OPEN;
        if share {
            st = self.wait_for(st, number)?;
        } else {
            self.commit(&mut st);
        }
        match st.failed.iter().find(|(n, _)| *n == number) {
            Some((_, message)) => Err(Error::Internal(format!(
                "the database could not commit: {message}"
            ))),
            None => value,
        }
    }

    /// Waits until transaction `number` has ended; commits it after [`MAX_WAIT`] if
    /// nobody else has.
    fn wait_for<'a>(
        &'a self,
        mut st: MutexGuard<'a, State>,
        number: u64,
    ) -> Result<MutexGuard<'a, State>> {
        let started = Instant::now();
        while st.ended < number {
            let (guard, _) = self
                .committed
                .wait_timeout(st, MAX_WAIT)
                .map_err(|_| poisoned())?;
            st = guard;
            let still_open = st.open.as_ref().is_some_and(|g| g.number == number);
            if still_open && started.elapsed() >= MAX_WAIT {
                self.commit(&mut st);
            }
        }
        Ok(st)
    }

    /// Commits the open transaction (rolls it back if the commit fails) and wakes its waiters.
    fn commit(&self, st: &mut State) {
        let Some(group) = st.open.take() else { return };
        if let Err(e) = st.conn.execute_batch("COMMIT") {
            let _ = st.conn.execute_batch("ROLLBACK");
            if st.failed.len() >= 16 {
                st.failed.remove(0);
            }
            st.failed.push((group.number, e.to_string()));
        }
        st.ended = group.number;
        self.committed.notify_all();
    }

    /// Runs `f` on the connection outside any transaction (after committing an open one).
    pub fn with_conn<T>(&self, f: impl FnOnce(&Connection) -> T) -> Result<T> {
        let mut st = self.state.lock().map_err(|_| poisoned())?;
        self.commit(&mut st);
        Ok(f(&st.conn))
    }
}

fn poisoned() -> Error {
    Error::Internal("a database lock was poisoned by a panic".into())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    fn writer() -> (tempfile::TempDir, Arc<Writer>) {
        let dir = tempfile::tempdir().unwrap();
        let conn = Connection::open(dir.path().join("w.sqlite3")).unwrap();
        conn.execute_batch("PRAGMA journal_mode = WAL; CREATE TABLE t (n INTEGER PRIMARY KEY);")
            .unwrap();
        (dir, Arc::new(Writer::new(conn)))
    }

    fn count(w: &Writer) -> i64 {
        w.with_conn(|c| {
            c.query_row("SELECT count(*) FROM t", [], |r| r.get(0))
                .unwrap()
        })
        .unwrap()
    }

    #[test]
    fn concurrent_grouped_writes_all_commit_in_fewer_transactions() {
        let (_dir, w) = writer();
        let threads: Vec<_> = (0..8)
            .map(|t| {
                let w = w.clone();
                std::thread::spawn(move || {
                    for i in 0..200 {
                        w.write(true, |c| {
                            c.execute("INSERT INTO t (n) VALUES (?1)", [t * 1000 + i])?;
                            Ok(())
                        })
                        .unwrap();
                    }
                })
            })
            .collect();
        for t in threads {
            t.join().unwrap();
        }
        assert_eq!(count(&w), 1600);
        let st = w.state.lock().unwrap();
        assert!(st.open.is_none(), "a transaction was left open");
        eprintln!("{} transactions for 1600 writes", st.begun);
        assert!(st.begun < 1600, "no write shared a commit");
        assert_eq!(st.ended, st.begun);
    }

    #[test]
    fn a_failed_write_undoes_only_its_own_changes() {
        let (_dir, w) = writer();
        // Open a shared transaction by hand, as a waiting grouped write leaves it.
        {
            let mut st = w.state.lock().unwrap();
            st.conn.execute_batch("BEGIN IMMEDIATE").unwrap();
            st.conn.execute("INSERT INTO t (n) VALUES (1)", []).unwrap();
            st.begun += 1;
            st.open = Some(Group {
                number: st.begun,
                members: 1,
                opened: Instant::now(),
            });
        }
        let failed = w.write(false, |c| {
            c.execute("INSERT INTO t (n) VALUES (2)", [])?;
            Err::<(), _>(Error::BadRequest("no".into()))
        });
        assert!(failed.is_err());
        // The failed write joined the open transaction and committed it for the other.
        let rows: Vec<i64> = w
            .with_conn(|c| {
                c.prepare("SELECT n FROM t ORDER BY n")
                    .unwrap()
                    .query_map([], |r| r.get(0))
                    .unwrap()
                    .collect::<rusqlite::Result<_>>()
                    .unwrap()
            })
            .unwrap();
        assert_eq!(rows, vec![1]);
    }

    #[test]
    fn a_failed_write_alone_rolls_back_and_the_next_one_commits() {
        let (_dir, w) = writer();
        let failed = w.write(true, |c| {
            c.execute("INSERT INTO t (n) VALUES (7)", [])?;
            Err::<(), _>(Error::BadRequest("no".into()))
        });
        assert!(failed.is_err());
        assert_eq!(count(&w), 0);
        w.write(true, |c| Ok(c.execute("INSERT INTO t (n) VALUES (8)", [])?))
            .unwrap();
        assert_eq!(count(&w), 1);
    }
}
