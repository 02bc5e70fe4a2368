//! Sending queued push jobs: one worker step claims a few due jobs (leased, like
//! deliveries), builds each message when it is sent (a notification deleted meanwhile
//! is not pushed), encrypts it for the subscription, signs the VAPID JWT and POSTs it
//! through the guarded fetcher. A 2xx ends the job; 404 and 410 mean the app
//! unsubscribed, so the subscription goes (with its other jobs); network errors,
//! 408, 429 and 5xx but 501 are retried on the deliveries' curve
//! ([`retry_delay_ms`]: `n⁴ + 15 s` plus jitter, `Retry-After` as a floor), 16 times
//! at most; other answers end the job. It decides nothing about which notifications
//! are pushed (`push::wants`).

use super::{encrypt, payload, vapid};
use crate::ap::deliver::{MAX_AGE_MS, MAX_RETRIES, retry_delay_ms};
use crate::ctx::Ctx;
use crate::db::{self, notifications, push};
use crate::error::{Error, Result};

/// Jobs one worker claims in one step.
const BATCH: i64 = 8;
/// The lease of a claim: longer than one request may take.
const LEASE_MS: i64 = 60_000;
/// A claim with less lease left than this is renewed before its request.
const RENEW_BELOW_MS: i64 = 45_000;
/// How long a push service keeps an undelivered message (`TTL`, seconds): two days.
pub const TTL_SECS: u32 = 48 * 3600;

/// What one attempt means for its job.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// 2xx: done.
    Sent,
    /// 404 or 410: the subscription is gone.
    Gone,
    /// Try again at this time.
    Retry {
        next_at: i64,
        status: Option<u16>,
        error: Option<String>,
    },
    /// Never retried: the job ends unsent.
    Ended(String),
    /// kith's own interruption (the database busy): the job goes back uncounted.
    PutBack,
}

/// What an answer status means: Some(true) sent, Some(false) gone, None retry or end.
fn classify_status(status: u16) -> Option<bool> {
    match status {
        200..=299 => Some(true),
        404 | 410 => Some(false),
        _ => None,
    }
}

/// Whether a status that is neither success nor gone is worth retrying.
pub fn retryable(status: u16) -> bool {
    matches!(status, 408 | 429) || (status >= 500 && status != 501)
}

/// Takes one step of push work; returns how many jobs it handled.
pub fn run_once(ctx: &Ctx, _slot: usize) -> Result<usize> {
    let now = db::now_ms();
    let (expired, jobs) = ctx.db.write_grouped(|tx| {
        let expired = push::drop_expired(tx, now - MAX_AGE_MS, now)?;
        Ok((expired, push::claim(tx, now, BATCH, LEASE_MS)?))
    })?;
    if expired > 0 {
        eprintln!("push: gave up on {expired} messages still queued after 7 days");
    }
    if jobs.is_empty() {
        return Ok(expired);
    }
    let key = vapid::key(ctx)?;
    for job in &jobs {
        let now = db::now_ms();
        if job.claimed_until - now < RENEW_BELOW_MS {
            let kept = ctx
                .db
                .write(|tx| push::renew(tx, job.id, job.claimed_until, now + LEASE_MS))?;
            if !kept {
                continue;
            }
        }
        let outcome = attempt(ctx, &key, job);
        record(ctx, job, &outcome)?;
    }
    Ok(expired + jobs.len())
}

fn record(ctx: &Ctx, job: &push::Job, outcome: &Outcome) -> Result<()> {
    ctx.db.write(|tx| match outcome {
        Outcome::Sent => push::finish(tx, job.id),
        Outcome::Gone => push::delete(tx, job.subscription_id),
        Outcome::Ended(_) => push::finish(tx, job.id),
        Outcome::PutBack => push::release(tx, job.id),
        Outcome::Retry {
            next_at,
            status,
            error,
        } => push::record_retry(tx, job.id, *next_at, *status, error.as_deref()),
    })?;
    match outcome {
        Outcome::Ended(why) => eprintln!("push: message {} not sent: {why}", job.id),
        Outcome::Gone => eprintln!(
            "push: the push service no longer knows subscription {}; removed",
            job.subscription_id
        ),
        _ => {}
    }
    Ok(())
}

/// The message for a job, encrypted, with its headers and endpoint; `None` when its
/// subscription or notification no longer exists.
struct Message {
    endpoint: String,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

fn message(ctx: &Ctx, key: &vapid::Vapid, job: &push::Job) -> Result<Option<Message>> {
    let found = ctx.db.read(|c| {
        let Some(s) = push::find_live(c, job.subscription_id)? else {
            return Ok(None);
        };
        let Some(n) = notifications::find(c, job.notification_id)? else {
            return Ok(None);
        };
        let body = payload::build(ctx, c, &s, &n)?;
        Ok(Some((s, body)))
    })?;
    let Some((s, plaintext)) = found else {
        return Ok(None);
    };
    let url = ctx.fetcher.check_url(&s.endpoint)?;
    let sealed = encrypt::encrypt(&plaintext, &s.p256dh, &s.auth, s.standard)?;
    let jwt = key.jwt(&url, &ctx.config.public_url, db::now_ms() / 1000)?;
    let k = key.public_key_b64();
    let mut headers = vec![
        (
            "Content-Type".to_string(),
            "application/octet-stream".to_string(),
        ),
        (
            "Content-Encoding".to_string(),
            sealed.content_encoding.to_string(),
        ),
        ("TTL".to_string(), TTL_SECS.to_string()),
        ("Urgency".to_string(), "normal".to_string()),
    ];
    if s.standard {
        headers.push(("Authorization".into(), format!("vapid t={jwt}, k={k}")));
    } else {
        let dh = sealed.dh.unwrap_or_default();
        let salt = sealed.salt.unwrap_or_default();
        headers.push(("Authorization".into(), format!("WebPush {jwt}")));
        headers.push(("Crypto-Key".into(), format!("dh={dh};p256ecdsa={k}")));
        headers.push(("Encryption".into(), format!("salt={salt}")));
    }
    Ok(Some(Message {
        endpoint: url.to_string(),
        headers,
        body: sealed.body,
    }))
}

/// Sends one claimed job and says what to record.
fn attempt(ctx: &Ctx, key: &vapid::Vapid, job: &push::Job) -> Outcome {
    let message = match message(ctx, key, job) {
        Ok(Some(m)) => m,
        Ok(None) => return Outcome::Ended("its notification or subscription is gone".into()),
        Err(Error::Busy) => return Outcome::PutBack,
        Err(e) => return Outcome::Ended(e.to_string()),
    };
    let result = ctx
        .fetcher
        .post_bytes(&message.endpoint, &message.headers, &message.body);
    let (status, retry_after, error) = match result {
        Ok(posted) => match classify_status(posted.status) {
            Some(true) => return Outcome::Sent,
            Some(false) => return Outcome::Gone,
            None if retryable(posted.status) => (Some(posted.status), posted.retry_after, None),
            None => return Outcome::Ended(format!("the push service answered {}", posted.status)),
        },
        Err(Error::Network {
            message,
            transient: true,
        }) => (None, None, Some(message)),
        Err(Error::Busy) => return Outcome::PutBack,
        Err(e) => return Outcome::Ended(e.to_string()),
    };
    if job.attempts >= MAX_RETRIES {
        return Outcome::Ended(format!(
            "gave up after {} attempts ({})",
            job.attempts + 1,
            status.map_or_else(|| error.clone().unwrap_or_default(), |s| s.to_string())
        ));
    }
    let retry_after_ms = retry_after.map(|d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX));
    Outcome::Retry {
        next_at: db::now_ms() + retry_delay_ms(job.attempts, jitter(), retry_after_ms),
        status,
        error,
    }
}

/// A random number in [0, 1) for the retry jitter (0 if the RNG fails).
fn jitter() -> f64 {
    let bytes = crate::keys::random_bytes(8).unwrap_or_default();
    let raw = bytes.try_into().map(u64::from_be_bytes).unwrap_or_default();
    (raw >> 11) as f64 / (1u64 << 53) as f64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses_decide_between_sent_gone_retry_and_the_end() {
        assert_eq!(classify_status(201), Some(true));
        assert_eq!(classify_status(404), Some(false));
        assert_eq!(classify_status(410), Some(false));
        assert_eq!(classify_status(429), None);
        assert!(retryable(429));
        assert!(retryable(503));
        assert!(retryable(408));
        assert!(!retryable(501));
        assert!(!retryable(400));
        assert!(!retryable(413));
    }
}
