//! Wake-ups of the worker threads: a signal per queue (inbox, delivery, cards) that request
//! threads and the command line raise after queueing work, and one the workers raise
//! after each step (what `workers::settle` waits on). Kept in the shared context.

use std::sync::{Condvar, Mutex};
use std::time::Duration;

/// A wake-up signal per queue, plus a signal workers raise after each step.
#[derive(Default)]
pub struct Wake {
    pub(crate) inbox: Signal,
    pub(crate) delivery: Signal,
    pub(crate) cards: Signal,
    pub(crate) progress: Signal,
}

#[derive(Default)]
pub(crate) struct Signal {
    generation: Mutex<u64>,
    cond: Condvar,
}

impl Signal {
    /// Wakes whoever waits.
    pub(crate) fn raise(&self) {
        if let Ok(mut g) = self.generation.lock() {
            *g = g.wrapping_add(1);
            self.cond.notify_all();
        }
    }

    /// The current generation.
    pub(crate) fn current(&self) -> u64 {
        self.generation.lock().map(|g| *g).unwrap_or(0)
    }

    /// Waits until the generation moves past `seen` or `timeout` passes.
    pub(crate) fn wait(&self, seen: u64, timeout: Duration) {
        if let Ok(g) = self.generation.lock() {
            let _ = self.cond.wait_timeout_while(g, timeout, |g| *g == seen);
        }
    }
}

impl Wake {
    /// Tells the inbox worker that activities were queued.
    pub fn inbox(&self) {
        self.inbox.raise();
    }

    /// Tells the delivery workers that jobs were queued.
    pub fn delivery(&self) {
        self.delivery.raise();
    }

    /// Tells the card worker that link previews were queued.
    pub fn cards(&self) {
        self.cards.raise();
    }

    /// Wakes every worker.
    pub(crate) fn all(&self) {
        self.inbox.raise();
        self.delivery.raise();
        self.cards.raise();
    }
}
