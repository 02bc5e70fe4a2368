//! What both faces share about who the owner is: the password check, the limits on
//! failed logins (per client address, with growing delays; never for the account as a
//! whole, so nobody can lock the owner out: SECURITY.md 49, 50 and 70), and the MAC key behind CSRF tokens and signed media-proxy URLs. Also the
//! shape of an OAuth authorization prompt, which the client API's OAuth module decides
//! and the web UI renders, so neither face imports the other.

use crate::Ctx;
use crate::db;
use crate::error::{Error, Result};
use crate::http::Req;
use crate::ratelimit::{Bucket, client_key};
use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::{Duration, Instant};

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
    fn wait(&self, ip: IpAddr) -> Option<u64> {
        let failures = self.failures.lock().ok()?;
        let (count, last) = *failures.get(&client_key(ip))?;
        let delay = delay_after(count)?;
        let waited = last.elapsed();
        (waited < delay).then(|| (delay - waited).as_secs().max(1))
    }

    /// Counts a failure from `ip`.
    fn record(&self, ip: IpAddr) {
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
    fn clear(&self, ip: IpAddr) {
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

/// Refuses with 429 when this client address has too many failed logins in the window,
/// or must still wait after its last failure. Failures elsewhere never count here.
pub fn check_login_limits(ctx: &Ctx, req: &Req) -> Result<()> {
    let limit = ctx.config.limits.login_attempts;
    if let Some(v) = ctx.limiter.exceeded(Bucket::Login, req.client_ip, limit) {
        return Err(Error::RateLimited {
            limit: Some(limit),
            reset_secs: v.reset_secs,
        });
    }
    match ctx.login_delays.wait(req.client_ip) {
        Some(secs) => Err(Error::RateLimited {
            limit: None,
            reset_secs: secs,
        }),
        None => Ok(()),
    }
}

/// Counts a failed login against the client address.
pub fn record_failed_login(ctx: &Ctx, req: &Req) {
    let limit = ctx.config.limits.login_attempts;
    ctx.limiter.hit(Bucket::Login, req.client_ip, limit);
    ctx.login_delays.record(req.client_ip);
}

/// Forgets the growing delay of the client address after a successful login.
pub fn record_login(ctx: &Ctx, req: &Req) {
    ctx.login_delays.clear(req.client_ip);
}

/// Whether `password` is the owner's.
pub fn password_ok(ctx: &Ctx, password: &str) -> Result<bool> {
    let hash = ctx.db.read(db::account::get_password_hash)?;
    Ok(crate::password::verify(password, &hash))
}

/// The key of the MACs kith puts in forms and proxy URLs, derived from the account's
/// private key (so it survives restarts and never leaves the server).
pub struct MacKey(ring::hmac::Key);

impl MacKey {
    /// The key derived from the account's private key (DER).
    pub fn from_private_key(der: &[u8]) -> MacKey {
        let seed = ring::digest::digest(&ring::digest::SHA256, der);
        MacKey(ring::hmac::Key::new(ring::hmac::HMAC_SHA256, seed.as_ref()))
    }

    /// A MAC of `data`, in hex.
    pub fn sign(&self, data: &str) -> String {
        let tag = ring::hmac::sign(&self.0, data.as_bytes());
        tag.as_ref().iter().map(|b| format!("{b:02x}")).collect()
    }

    /// Whether `mac` (hex) is the MAC of `data` (constant time).
    pub fn verify(&self, data: &str, mac: &str) -> bool {
        let Some(bytes) = (0..mac.len())
            .step_by(2)
            .map(|i| {
                mac.get(i..i + 2)
                    .and_then(|h| u8::from_str_radix(h, 16).ok())
            })
            .collect::<Option<Vec<u8>>>()
        else {
            return false;
        };
        ring::hmac::verify(&self.0, data.as_bytes(), &bytes).is_ok()
    }
}

/// An OAuth authorization prompt: what the login-and-consent page shows and sends back.
#[derive(Debug, Clone)]
pub struct AuthorizePrompt {
    /// The app's name.
    pub app_name: String,
    /// The app's website, if it gave one.
    pub app_website: Option<String>,
    /// The scopes asked for.
    pub scopes: Vec<String>,
    /// The request's parameters, carried through the form as hidden fields.
    pub hidden: Vec<(String, String)>,
    /// The form's CSRF token.
    pub csrf_token: String,
    /// Why the last submission was refused (a wrong password), if it was.
    pub error: Option<String>,
}

/// What an authorization attempt came to.
#[derive(Debug, Clone)]
pub enum Authorized {
    /// Show the prompt (again, with its error).
    Prompt(AuthorizePrompt),
    /// Granted: send the browser back to the app (the code is in the URL).
    Redirect(String),
    /// Granted to an app without a redirect: show the code to copy.
    ShowCode {
        /// The app's name.
        app_name: String,
        /// The authorization code.
        code: String,
    },
}

#[cfg(test)]
mod tests {
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
