//! kith patch: deadlines for one connection's reads and writes.
//!
//! A socket's own timeout applies to each read or write alone, so a client that sends
//! (or takes) one byte every few seconds is never cut by it. `Pace` keeps, for one
//! connection, what is being waited for and since when, and sets the socket's timeout
//! before every read and write to what is left:
//!
//! - between requests, the first byte of the next one may take the idle timeout;
//! - once it has come, the whole head (request line and headers) must follow within
//!   the head timeout;
//! - a body, and an answer, must move at a minimum average rate after a grace period
//!   (`grace + bytes / rate` from their start), and neither may stall for longer than
//!   the idle timeout;
//! - an upgraded connection (a WebSocket) has the plain per-read idle timeout and
//!   per-write timeout only.
//!
//! Past a deadline a read or write fails with `TimedOut`.

use std::io::{self, ErrorKind, Read, Write};
use std::net::Shutdown;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::connection::Connection;

/// The times and rate a connection is held to.
#[derive(Debug, Clone, Copy)]
pub struct PaceLimits {
    /// Per read while idle (between requests) or upgraded.
    pub idle: Duration,
    /// Per write on an upgraded connection (an answer's writes also stop at `idle`).
    pub write: Duration,
    /// The whole head, from its first byte.
    pub head: Duration,
    /// Before a body or an answer is held to `min_rate`.
    pub grace: Duration,
    /// Bytes per second a body or an answer must average after `grace`.
    pub min_rate: u64,
}

#[derive(Debug, Clone, Copy)]
enum ReadMode {
    /// Waiting for the first byte of a request.
    Waiting,
    /// Reading a head that must be complete by then.
    Head(Instant),
    /// Reading a body that started then, and how much of it has come.
    Body(Instant, u64),
    /// Upgraded: per-read idle timeout only.
    Plain,
}

#[derive(Debug, Clone, Copy)]
enum WriteMode {
    /// Writing an answer that started then, and how much of it has gone.
    Answer(Instant, u64),
    /// Upgraded: per-write timeout only.
    Plain,
}

#[derive(Debug)]
struct State {
    read: ReadMode,
    write: WriteMode,
}

/// One connection's deadlines, shared by its reading and its writing half.
pub struct Pace {
    sock: Connection,
    limits: PaceLimits,
    state: Mutex<State>,
    closing: AtomicBool,
}

fn timed_out(what: &str) -> io::Error {
    io::Error::new(ErrorKind::TimedOut, what.to_string())
}

/// When `done + 1` bytes are due for a transfer that started at `since`.
fn due(limits: &PaceLimits, since: Instant, done: u64) -> Instant {
    let rate = limits.min_rate.max(1);
    let secs = (done + 1) / rate;
    let nanos = ((done + 1) % rate) * 1_000_000_000 / rate;
    since + limits.grace + Duration::new(secs, nanos as u32)
}

/// What is left until `deadline`, no more than `cap`; `None` once it has passed.
fn left(deadline: Instant, cap: Duration) -> Option<Duration> {
    let rest = deadline.checked_duration_since(Instant::now())?;
    if rest < Duration::from_millis(1) {
        return None;
    }
    Some(rest.min(cap))
}

impl Pace {
    /// Deadlines for `sock` (a handle of its own onto the connection).
    pub(crate) fn new(sock: Connection, limits: PaceLimits) -> Arc<Pace> {
        Arc::new(Pace {
            sock,
            limits,
            state: Mutex::new(State { read: ReadMode::Waiting, write: WriteMode::Answer(Instant::now(), 0) }),
            closing: AtomicBool::new(false),
        })
    }

    fn state(&self) -> std::sync::MutexGuard<'_, State> {
        match self.state.lock() {
            Ok(g) => g,
            Err(poisoned) => poisoned.into_inner(),
        }
    }

    /// The next request may take the idle timeout to start.
    pub(crate) fn await_request(&self) {
        self.state().read = ReadMode::Waiting;
    }

    /// The first byte of a request has come: the rest of its head is due soon.
    pub(crate) fn head_started(&self) {
        let mut s = self.state();
        if let ReadMode::Waiting = s.read {
            s.read = ReadMode::Head(Instant::now() + self.limits.head);
        }
        // An interim or error answer written while reading this request is paced from now.
        s.write = WriteMode::Answer(Instant::now(), 0);
    }

    /// The head is read: the body is held to the minimum rate from now.
    pub(crate) fn body_started(&self) {
        self.state().read = ReadMode::Body(Instant::now(), 0);
    }

    /// An answer starts: it is held to the minimum rate from now.
    pub(crate) fn answer_started(&self) {
        self.state().write = WriteMode::Answer(Instant::now(), 0);
    }

    /// The connection is upgraded: per-read and per-write timeouts only from now.
    pub(crate) fn plain(&self) {
        let mut s = self.state();
        s.read = ReadMode::Plain;
        s.write = WriteMode::Plain;
    }

    /// Asks for the connection to be closed once the current answer is written.
    pub(crate) fn close(&self) {
        self.closing.store(true, Ordering::SeqCst);
    }

    /// Whether `close` was asked for.
    pub(crate) fn closing(&self) -> bool {
        self.closing.load(Ordering::SeqCst)
    }

    /// Ends the connection after an answer that leaves unread bytes behind (an error):
    /// stops writing, then reads and drops what the client still sends for a moment,
    /// so that closing does not reset the connection before the client has read the
    /// answer. Bounded in time and bytes.
    /// (Never inlined: its 4 KiB buffer stays out of the frames of the reading path.)
    #[inline(never)]
    #[cold]
    pub(crate) fn linger(&self) {
        let _ = self.sock.shutdown(Shutdown::Write);
        let until = Instant::now() + Duration::from_millis(500);
        let mut budget: usize = 1024 * 1024;
        let mut buf = [0u8; 4096];
        let mut sock = match self.sock.try_clone() {
            Ok(s) => s,
            Err(_) => return,
        };
        while budget > 0 {
            let Some(wait) = left(until, Duration::from_secs(1)) else { return };
            if sock.set_timeouts(Some(wait), Some(self.limits.write)).is_err() {
                return;
            }
            match sock.read(&mut buf) {
                Ok(0) | Err(_) => return,
                Ok(n) => budget = budget.saturating_sub(n),
            }
        }
    }

    /// Sets the read timeout for the next read; `Err(TimedOut)` once past a deadline.
    fn before_read(&self) -> io::Result<ReadMode> {
        let mode = self.state().read;
        let limits = &self.limits;
        let wait = match mode {
            ReadMode::Waiting | ReadMode::Plain => Some(limits.idle),
            ReadMode::Head(deadline) => left(deadline, limits.idle),
            ReadMode::Body(since, got) => left(due(limits, since, got), limits.idle),
        };
        let wait = match wait {
            Some(w) => w,
            None => return Err(timed_out("the client was too slow sending its request")),
        };
        self.sock.set_read_timeout(Some(wait))?;
        Ok(mode)
    }

    fn after_read(&self, mode: ReadMode, result: io::Result<usize>) -> io::Result<usize> {
        match result {
            Ok(n) => {
                if let ReadMode::Body(since, got) = mode {
                    let mut s = self.state();
                    if let ReadMode::Body(now_since, _) = s.read {
                        if now_since == since {
                            s.read = ReadMode::Body(since, got + n as u64);
                        }
                    }
                }
                Ok(n)
            }
            // The socket's timeout: while a request is under way it is a deadline
            // missed, not an idle connection.
            Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => match mode {
                ReadMode::Head(_) | ReadMode::Body(..) => {
                    Err(timed_out("the client was too slow sending its request"))
                }
                _ => Err(e),
            },
            Err(e) => Err(e),
        }
    }

    fn before_write(&self) -> io::Result<WriteMode> {
        let mode = self.state().write;
        let wait = match mode {
            WriteMode::Plain => Some(self.limits.write),
            // A client that takes nothing of its answer for the idle timeout is gone.
            WriteMode::Answer(since, sent) => {
                left(due(&self.limits, since, sent), self.limits.idle.min(self.limits.write))
            }
        };
        let wait = match wait {
            Some(w) => w,
            None => {
                self.close();
                return Err(timed_out("the client was too slow taking its answer"));
            }
        };
        self.sock.set_write_timeout(Some(wait))?;
        Ok(mode)
    }

    fn after_write(&self, mode: WriteMode, result: io::Result<usize>) -> io::Result<usize> {
        match result {
            Ok(n) => {
                if let WriteMode::Answer(since, sent) = mode {
                    let mut s = self.state();
                    if let WriteMode::Answer(now_since, _) = s.write {
                        if now_since == since {
                            s.write = WriteMode::Answer(since, sent + n as u64);
                        }
                    }
                }
                Ok(n)
            }
            // An answer that could not be written whole leaves the connection unusable.
            Err(e) if e.kind() == ErrorKind::WouldBlock => {
                self.close();
                Err(timed_out("the client was too slow taking its answer"))
            }
            Err(e) => {
                if e.kind() != ErrorKind::Interrupted {
                    self.close();
                }
                Err(e)
            }
        }
    }
}

/// A reading or writing half of a connection held to its `Pace`.
pub struct Paced<S> {
    inner: S,
    pace: Arc<Pace>,
}

impl<S> Paced<S> {
    /// `inner` held to `pace`.
    pub(crate) fn new(inner: S, pace: Arc<Pace>) -> Paced<S> {
        Paced { inner, pace }
    }
}

impl<S: Read> Read for Paced<S> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let mode = self.pace.before_read()?;
        let result = self.inner.read(buf);
        self.pace.after_read(mode, result)
    }
}

impl<S: Write> Write for Paced<S> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let mode = self.pace.before_write()?;
        let result = self.inner.write(buf);
        self.pace.after_write(mode, result)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}
