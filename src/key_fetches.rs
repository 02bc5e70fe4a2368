//! Signer key fetches made from request threads (`ap::inbox`): which client
//! addresses' last fetch failed (they cool off, SECURITY.md 18), and how many fetches
//! run at once, so slow key servers cannot take every request thread. Kept in the
//! shared context, so it sits below everything that uses it.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Condvar, Mutex};
use std::time::{Duration, Instant};

/// After a failed key fetch, key fetches for that client address pause this long (SECURITY.md 18).
const KEY_FETCH_COOLOFF: Duration = Duration::from_secs(300);
/// How long a request waits for a key-fetch slot before it is refused: fetches from
/// quick servers end well within it, so only slow ones turn senders away.
const SLOT_WAIT: Duration = Duration::from_millis(100);

/// Key fetches made from request threads: client addresses whose last one failed (and
/// when), and how many are running now. A fetch may take up to the fetch deadline, so
/// they may fill all request threads but one: the owner's apps and pages keep an
/// answer while slow servers are waited on.
#[derive(Default)]
pub struct KeyFetches {
    /// Last failure by client bucket (an IPv4 address, an IPv6 /64).
    failed: Mutex<HashMap<u128, Instant>>,
    slots: Mutex<Slots>,
    freed: Condvar,
}

/// Key fetches running, and whether a request is waiting for one to end.
#[derive(Default)]
struct Slots {
    running: usize,
    waiting: bool,
}

/// A key fetch's place among the running ones, given back when dropped.
pub(crate) struct Slot<'a>(&'a KeyFetches);

impl Drop for Slot<'_> {
    fn drop(&mut self) {
        let mut slots = self.0.slots.lock().unwrap_or_else(|p| p.into_inner());
        slots.running = slots.running.saturating_sub(1);
        self.0.freed.notify_one();
    }
}

impl KeyFetches {
    /// A place for one more key fetch once fewer than `max` are running. One request
    /// at a time may wait for one, at most [`SLOT_WAIT`]; others are refused at once,
    /// so waiting cannot itself fill the thread kept free.
    pub(crate) fn slot(&self, max: usize) -> Option<Slot<'_>> {
        let mut slots = self.slots.lock().unwrap_or_else(|p| p.into_inner());
        if slots.running >= max {
            if slots.waiting {
                return None;
            }
            slots.waiting = true;
            slots = self
                .freed
                .wait_timeout_while(slots, SLOT_WAIT, |s| s.running >= max)
                .unwrap_or_else(|p| p.into_inner())
                .0;
            slots.waiting = false;
            if slots.running >= max {
                return None;
            }
        }
        slots.running += 1;
        Some(Slot(self))
    }

    /// Whether key fetches for `ip` are cooling off after a failure.
    pub(crate) fn blocked(&self, ip: IpAddr) -> bool {
        let Ok(mut map) = self.failed.lock() else {
            return false;
        };
        map.retain(|_, at| at.elapsed() < KEY_FETCH_COOLOFF);
        map.contains_key(&crate::ratelimit::client_key(ip))
    }

    /// Records a failed key fetch for `ip`.
    pub(crate) fn record(&self, ip: IpAddr) {
        if let Ok(mut map) = self.failed.lock() {
            map.insert(crate::ratelimit::client_key(ip), Instant::now());
        }
    }
}
