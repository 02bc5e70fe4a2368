//! Fixed-window rate limits per client address and bucket. IPv6 clients are counted
//! per /64, so rotating addresses inside one allocation does not reset the count.
//! State is in memory only and bounded: old windows are pruned as the map grows.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// The separately counted groups of requests.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Bucket {
    /// Federation and discovery: inbox, actors, WebFinger, NodeInfo.
    Federation,
    /// The client API.
    Api,
    /// Failed logins and other credential checks.
    Login,
    /// The client API with the owner's token, counted per token.
    Owner,
    /// Validly signed inbox deliveries, counted per signing host.
    SignedHost,
}

/// The outcome of counting one request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Verdict {
    pub allowed: bool,
    pub limit: u32,
    pub remaining: u32,
    /// Seconds until the window resets.
    pub reset_secs: u64,
}

/// The limiter shared by all request threads.
pub struct RateLimiter {
    window: Duration,
    counts: Mutex<HashMap<(Bucket, u128), (Instant, u32)>>,
}

const PRUNE_AT: usize = 10_000;

impl RateLimiter {
    /// A limiter whose windows last `window`.
    pub fn new(window: Duration) -> RateLimiter {
        RateLimiter {
            window,
            counts: Mutex::new(HashMap::new()),
        }
    }

    /// Counts one request from `ip` in `bucket`, allowing at most `limit` per window.
    pub fn hit(&self, bucket: Bucket, ip: IpAddr, limit: u32) -> Verdict {
        self.hit_at(bucket, client_key(ip), limit, Instant::now())
    }

    /// Counts one request under a name rather than an address (a token, a signing
    /// host), allowing at most `limit` per window.
    pub fn hit_named(&self, bucket: Bucket, name: &str, limit: u32) -> Verdict {
        self.hit_at(bucket, name_key(name), limit, Instant::now())
    }

    /// Whether `ip` is already over `limit` in `bucket`, without counting a request.
    pub fn exceeded(&self, bucket: Bucket, ip: IpAddr, limit: u32) -> Option<Verdict> {
        let now = Instant::now();
        let counts = self.counts.lock().ok()?;
        let (start, count) = *counts.get(&(bucket, client_key(ip)))?;
        let elapsed = now.duration_since(start);
        (elapsed < self.window && count >= limit).then(|| Verdict {
            allowed: false,
            limit,
            remaining: 0,
            reset_secs: (self.window - elapsed).as_secs().max(1),
        })
    }

    fn hit_at(&self, bucket: Bucket, key: u128, limit: u32, now: Instant) -> Verdict {
        let Ok(mut counts) = self.counts.lock() else {
            return Verdict {
                allowed: true,
                limit,
                remaining: limit,
                reset_secs: 0,
            };
        };
        if counts.len() >= PRUNE_AT {
            let window = self.window;
            counts.retain(|_, (start, _)| now.duration_since(*start) < window);
        }
        let entry = counts.entry((bucket, key)).or_insert((now, 0));
        if now.duration_since(entry.0) >= self.window {
            *entry = (now, 0);
        }
        entry.1 = entry.1.saturating_add(1);
        let reset_secs = self
            .window
            .saturating_sub(now.duration_since(entry.0))
            .as_secs()
            .max(1);
        Verdict {
            allowed: entry.1 <= limit,
            limit,
            remaining: limit.saturating_sub(entry.1),
            reset_secs,
        }
    }
}

/// The key a name counts under (a hash: names never collide with addresses, which
/// live in other buckets).
fn name_key(name: &str) -> u128 {
    use std::hash::{Hash, Hasher};
    let mut hasher = std::collections::hash_map::DefaultHasher::new();
    name.hash(&mut hasher);
    u128::from(hasher.finish())
}

/// The key a client address counts under: an IPv4 address alone, an IPv6 address by
/// its /64 (the usual allocation for one site).
pub fn client_key(ip: IpAddr) -> u128 {
    match ip {
        IpAddr::V4(v4) => u128::from(u32::from(v4)),
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => u128::from(u32::from(v4)),
            None => (u128::from(v6) >> 64) << 64 | 1 << 63,
        },
    }
}

/// Failures from one address before each further attempt has to wait.
const FREE_FAILURES: u32 = 5;
/// The longest wait between attempts from one address.
const MAX_DELAY_SECS: u64 = 15 * 60;
/// Failures are forgotten this long after the last one.
const FORGET_AFTER: Duration = Duration::from_secs(3600);
/// Addresses tracked before the oldest are pruned.
const TRACKED: usize = 10_000;

/// Growing delays between failed logins from one address (IPv6: one /64): after a few
/// failures, each further attempt from there waits twice as long as the last, up to a
/// quarter of an hour. Kept per address only, so nobody elsewhere can lock the owner
/// out (SECURITY.md 49, 70).
#[derive(Default)]
pub struct LoginDelays {
    failures: Mutex<HashMap<u128, (u32, Instant)>>,
}

impl LoginDelays {
    /// Seconds `ip` must still wait before its next attempt, if any.
    pub(crate) fn wait(&self, ip: IpAddr) -> Option<u64> {
        let failures = self.failures.lock().ok()?;
        let (count, last) = *failures.get(&client_key(ip))?;
        let delay = delay_after(count)?;
        let waited = last.elapsed();
        (waited < delay).then(|| (delay - waited).as_secs().max(1))
    }

    /// Counts a failure from `ip`.
    pub(crate) fn record(&self, ip: IpAddr) {
        let Ok(mut failures) = self.failures.lock() else {
            return;
        };
        let now = Instant::now();
        if failures.len() >= TRACKED {
            failures.retain(|_, (_, last)| now.duration_since(*last) < FORGET_AFTER);
        }
        let entry = failures.entry(client_key(ip)).or_insert((0, now));
        if now.duration_since(entry.1) >= FORGET_AFTER {
            entry.0 = 0;
        }
        *entry = (entry.0.saturating_add(1), now);
    }

    /// Forgets `ip`'s failures (after a successful login from there).
    pub(crate) fn clear(&self, ip: IpAddr) {
        if let Ok(mut failures) = self.failures.lock() {
            failures.remove(&client_key(ip));
        }
    }
}

/// The wait after `failures` failed attempts: none for the first few, then 1 s, 2 s,
/// 4 s … up to [`MAX_DELAY_SECS`].
fn delay_after(failures: u32) -> Option<Duration> {
    let over = failures.checked_sub(FREE_FAILURES)?;
    let secs = 1u64
        .checked_shl(over)
        .unwrap_or(u64::MAX)
        .min(MAX_DELAY_SECS);
    Some(Duration::from_secs(secs))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_per_window_and_bucket() {
        let rl = RateLimiter::new(Duration::from_secs(300));
        let ip: IpAddr = "203.0.113.5".parse().unwrap();
        let t0 = Instant::now();
        for i in 0..3 {
            let v = rl.hit_at(Bucket::Login, client_key(ip), 3, t0);
            assert!(v.allowed);
            assert_eq!(v.remaining, 2 - i);
        }
        assert!(!rl.hit_at(Bucket::Login, client_key(ip), 3, t0).allowed);
        assert!(
            rl.hit_at(Bucket::Api, client_key(ip), 3, t0).allowed,
            "buckets are separate"
        );
        let later = t0 + Duration::from_secs(301);
        assert!(
            rl.hit_at(Bucket::Login, client_key(ip), 3, later).allowed,
            "a new window starts fresh"
        );
    }

    #[test]
    fn ipv6_counts_per_64() {
        let rl = RateLimiter::new(Duration::from_secs(300));
        let t0 = Instant::now();
        assert!(
            rl.hit_at(
                Bucket::Login,
                client_key("2001:db8:1:2::1".parse().unwrap()),
                1,
                t0
            )
            .allowed
        );
        assert!(
            !rl.hit_at(
                Bucket::Login,
                client_key("2001:db8:1:2::ffff".parse().unwrap()),
                1,
                t0
            )
            .allowed
        );
        assert!(
            rl.hit_at(
                Bucket::Login,
                client_key("2001:db8:1:3::1".parse().unwrap()),
                1,
                t0
            )
            .allowed
        );
        assert_ne!(
            client_key("0.0.0.1".parse().unwrap()),
            client_key("::1".parse().unwrap())
        );
    }
}

#[cfg(test)]
mod login_delay_tests {
    use super::*;

    #[test]
    fn delays_grow_after_a_few_failures_and_are_capped() {
        assert_eq!(delay_after(0), None);
        assert_eq!(delay_after(FREE_FAILURES - 1), None);
        assert_eq!(delay_after(FREE_FAILURES), Some(Duration::from_secs(1)));
        assert_eq!(delay_after(FREE_FAILURES + 3), Some(Duration::from_secs(8)));
        assert_eq!(
            delay_after(FREE_FAILURES + 40),
            Some(Duration::from_secs(MAX_DELAY_SECS))
        );
    }

    #[test]
    fn delays_are_per_address() {
        let delays = LoginDelays::default();
        let stranger: IpAddr = "203.0.113.9".parse().unwrap();
        let owner: IpAddr = "198.51.100.4".parse().unwrap();
        for _ in 0..100 {
            delays.record(stranger);
        }
        assert!(delays.wait(stranger).is_some());
        assert_eq!(delays.wait(owner), None);
        delays.clear(stranger);
        assert_eq!(delays.wait(stranger), None);
    }
}
