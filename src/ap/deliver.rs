//! Delivery of queued outbound activities: one worker step claims a small batch of due
//! jobs, POSTs each one signed with a fresh `Date` (no database lock is held while the
//! request runs), classifies the answer and records the outcome (SECURITY.md
//! "Reliability numbers"): 2xx is done; 4xx other than 401/408/429, 501 and
//! unreachable-for-good errors (guard refusals, bad URLs, TLS) end the job; everything
//! else is retried on Mastodon's curve, `n⁴ + 15 s` plus jitter, 16 retries, with
//! `Retry-After` as a floor (at most 6 h). The queue and host accounting live in
//! `db::deliveries`; this module must not build activities or choose audiences.

use crate::ctx::Ctx;
use crate::db::Conn;
use crate::db::{self, deliveries};
use crate::error::{Error, Result};
use crate::fetch::Posted;

/// Jobs one worker claims in one step.
pub const BATCH: i64 = 8;
/// The lease a claim holds: longer than one request may take (`[federation]
/// fetch_timeout_secs`, at most 40 s).
pub const LEASE_MS: i64 = 60_000;
/// A claim with less lease left than this is renewed before its request starts.
const RENEW_BELOW_MS: i64 = 45_000;
/// Retries after the first attempt before a job is given up.
pub const MAX_RETRIES: u32 = 16;
/// The longest wait a `Retry-After` header can impose.
pub const RETRY_AFTER_CAP_MS: i64 = 6 * 3600 * 1000;
/// Jobs still queued this long after they were written are dropped when they come due.
pub const MAX_AGE_MS: i64 = 7 * 86_400_000;

/// What one delivery attempt means for its job.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// 2xx: the job is done.
    Delivered,
    /// Worth trying again later: 401, 408, 429, 5xx but 501, any other non-2xx that is
    /// not a final 4xx, timeouts and transient network errors.
    Retry,
    /// Never retried. `unreachable`: the host could not be reached for good (guard
    /// refusal, bad URL, TLS, too many redirects), which counts against it; otherwise
    /// it answered (a 4xx or 501), which shows it is alive.
    Final { unreachable: bool },
    /// kith's own problem, not the peer's: the job goes back without counting.
    Interrupted,
}

/// The outcome of an inbox's answer status.
pub fn classify_status(status: u16) -> Outcome {
    match status {
        200..=299 => Outcome::Delivered,
        401 | 408 | 429 => Outcome::Retry,
        400..=499 | 501 => Outcome::Final { unreachable: false },
        _ => Outcome::Retry,
    }
}

/// The outcome of one POST, answered or not.
pub fn classify(result: &Result<Posted>) -> Outcome {
    match result {
        Ok(posted) => classify_status(posted.status),
        Err(Error::Network {
            transient: true, ..
        }) => Outcome::Retry,
        Err(Error::Network {
            transient: false, ..
        }) => Outcome::Final { unreachable: true },
        Err(_) => Outcome::Interrupted,
    }
}

/// The wait before retry `attempt` (0 after the first failure, up to 15): `n⁴ + 15`
/// seconds plus `jitter` (0 to 1) times `0.5·n⁴` seconds, and at least `retry_after_ms`
/// capped at [`RETRY_AFTER_CAP_MS`]; in milliseconds.
pub fn retry_delay_ms(attempt: u32, jitter: f64, retry_after_ms: Option<i64>) -> i64 {
    let n4 = i64::from(attempt).saturating_pow(4);
    let base_ms = n4.saturating_add(15).saturating_mul(1000);
    let jitter = if jitter.is_finite() {
        jitter.clamp(0.0, 1.0)
    } else {
        0.0
    };
    // n⁴ ≤ 2⁵³ for the attempts that occur, so the float keeps it exactly.
    let jitter_ms = (jitter * 0.5 * n4 as f64 * 1000.0) as i64;
    let delay = base_ms.saturating_add(jitter_ms);
    match retry_after_ms {
        Some(wait) => delay.max(wait.clamp(0, RETRY_AFTER_CAP_MS)),
        None => delay,
    }
}

/// Takes one batch step of delivery work; returns how many jobs it handled.
///
/// The outcomes of a batch are written together in one transaction after its last
/// request (or earlier, with a lease renewal, when a slow batch needs one): a crash in
/// between only means those jobs are sent again once their lease ends.
pub fn run_once(ctx: &Ctx, _slot: usize) -> Result<usize> {
    let now = db::now_ms();
    let (expired, jobs) = ctx.db.write_grouped(|tx| {
        let expired = deliveries::drop_expired(tx, now - MAX_AGE_MS, now)?;
        let jobs = deliveries::claim(tx, now, BATCH, LEASE_MS)?;
        Ok((expired, jobs))
    })?;
    for job in &expired {
        eprintln!(
            "deliver: gave up on {} ({} failed attempts): still queued after 7 days",
            job.inbox, job.attempts
        );
    }
    let mut done: Vec<(&deliveries::Job, Record)> = Vec::with_capacity(jobs.len());
    for job in &jobs {
        if !keep_lease(ctx, job, &mut done)? {
            continue;
        }
        done.push((job, attempt(ctx, job)));
    }
    record(ctx, &done)?;
    Ok(expired.len() + jobs.len())
}

/// What is written for one job after its attempt.
enum Record {
    Delivered,
    PutBack,
    Ended {
        unreachable: bool,
    },
    Retry {
        next_at: i64,
        status: Option<u16>,
        error: Option<String>,
    },
}

/// Sends one claimed job and decides what to record (nothing is written here).
fn attempt(ctx: &Ctx, job: &deliveries::Job) -> Record {
    let result = ctx.post_signed(&job.inbox, job.body.as_bytes());
    let outcome = classify(&result);
    let error_text = result.as_ref().err().map(ToString::to_string);
    let status = result.as_ref().ok().map(|p| p.status);
    let failure = deliveries::Failure {
        status,
        error: error_text.as_deref(),
    };
    match outcome {
        Outcome::Delivered => Record::Delivered,
        Outcome::Interrupted => {
            eprintln!("deliver: {} put back: {}", job.inbox, describe(&failure));
            Record::PutBack
        }
        Outcome::Final { unreachable } => {
            give_up(job, &failure);
            Record::Ended { unreachable }
        }
        Outcome::Retry if job.attempts >= MAX_RETRIES => {
            give_up(job, &failure);
            Record::Ended { unreachable: true }
        }
        Outcome::Retry => {
            let retry_after = result.as_ref().ok().and_then(|p| p.retry_after);
            let retry_after_ms =
                retry_after.map(|d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX));
            Record::Retry {
                next_at: db::now_ms() + retry_delay_ms(job.attempts, jitter(), retry_after_ms),
                status,
                error: error_text,
            }
        }
    }
}

/// Writes the outcomes of attempted jobs in one transaction.
fn record(ctx: &Ctx, done: &[(&deliveries::Job, Record)]) -> Result<()> {
    if done.is_empty() {
        return Ok(());
    }
    let now = db::now_ms();
    ctx.db.write_grouped(|tx| record_in(tx, done, now))
}

fn record_in(tx: &Conn, done: &[(&deliveries::Job, Record)], now: i64) -> Result<()> {
    for (job, outcome) in done {
        match outcome {
            Record::Delivered => deliveries::record_success(tx, job, now)?,
            Record::PutBack => deliveries::release(tx, job.id)?,
            Record::Ended { unreachable } => deliveries::record_final(tx, job, *unreachable, now)?,
            Record::Retry {
                next_at,
                status,
                error,
            } => {
                let failure = deliveries::Failure {
                    status: *status,
                    error: error.as_deref(),
                };
                deliveries::record_retry(tx, job, *next_at, &failure, now)?
            }
        }
    }
    Ok(())
}

/// Makes sure the job's lease outlasts the request about to start; false when the
/// lease was lost to another worker, and the job must not be sent. A renewal also
/// writes (and empties) `done`, whose leases are no longer than this one's.
fn keep_lease(
    ctx: &Ctx,
    job: &deliveries::Job,
    done: &mut Vec<(&deliveries::Job, Record)>,
) -> Result<bool> {
    let now = db::now_ms();
    if job.claimed_until - now >= RENEW_BELOW_MS {
        return Ok(true);
    }
    let kept = ctx.db.write_grouped(|tx| {
        record_in(tx, done, now)?;
        deliveries::renew(tx, job.id, job.claimed_until, now + LEASE_MS)
    })?;
    done.clear();
    Ok(kept)
}

fn give_up(job: &deliveries::Job, failure: &deliveries::Failure) {
    let attempts = job.attempts + 1;
    let noun = if attempts == 1 { "attempt" } else { "attempts" };
    eprintln!(
        "deliver: gave up on {} after {attempts} {noun}: {}",
        job.inbox,
        describe(failure)
    );
}

fn describe(failure: &deliveries::Failure) -> String {
    match (failure.status, failure.error) {
        (Some(status), _) => format!("status {status}"),
        (None, Some(error)) => error.to_string(),
        (None, None) => "no answer".into(),
    }
}

/// A random number in [0, 1) from the system RNG (0 if it fails).
fn jitter() -> f64 {
    let bytes = crate::keys::random_bytes(8).unwrap_or_default();
    let raw = bytes.try_into().map(u64::from_be_bytes).unwrap_or_default();
    (raw >> 11) as f64 / (1u64 << 53) as f64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn status_classification_table() {
        let final_answer = Outcome::Final { unreachable: false };
        let table: &[(u16, Outcome)] = &[
            (200, Outcome::Delivered),
            (201, Outcome::Delivered),
            (202, Outcome::Delivered),
            (204, Outcome::Delivered),
            (299, Outcome::Delivered),
            (100, Outcome::Retry),
            (301, Outcome::Retry),
            (302, Outcome::Retry),
            (400, final_answer),
            (401, Outcome::Retry),
            (403, final_answer),
            (404, final_answer),
            (405, final_answer),
            (407, final_answer),
            (408, Outcome::Retry),
            (409, final_answer),
            (410, final_answer),
            (413, final_answer),
            (422, final_answer),
            (428, final_answer),
            (429, Outcome::Retry),
            (451, final_answer),
            (499, final_answer),
            (500, Outcome::Retry),
            (501, final_answer),
            (502, Outcome::Retry),
            (503, Outcome::Retry),
            (504, Outcome::Retry),
            (599, Outcome::Retry),
        ];
        for &(status, expected) in table {
            assert_eq!(classify_status(status), expected, "status {status}");
            let posted = Ok(Posted {
                status,
                retry_after: None,
            });
            assert_eq!(classify(&posted), expected, "status {status}");
        }
    }

    #[test]
    fn error_classification() {
        let network = |transient| {
            Err(Error::Network {
                message: "x".into(),
                transient,
            })
        };
        assert_eq!(classify(&network(true)), Outcome::Retry);
        assert_eq!(
            classify(&network(false)),
            Outcome::Final { unreachable: true }
        );
        assert_eq!(
            classify(&Err(Error::Internal("signing failed".into()))),
            Outcome::Interrupted
        );
        assert_eq!(classify(&Err(Error::Busy)), Outcome::Interrupted);
    }

    #[test]
    fn base_schedule_is_mastodons() {
        // n⁴ + 15 s for retries 0…15: 15 s, 16 s, 31 s, 96 s, 4.5 min … 14.1 h.
        let seconds = [
            15, 16, 31, 96, 271, 640, 1311, 2416, 4111, 6576, 10015, 14656, 20751, 28576, 38431,
            50640,
        ];
        for (attempt, secs) in seconds.iter().enumerate() {
            assert_eq!(
                retry_delay_ms(attempt as u32, 0.0, None),
                secs * 1000,
                "retry {attempt}"
            );
        }
        let total: i64 = seconds.iter().sum();
        assert_eq!(total, 178_552, "about 2.1 days");
        assert_eq!(seconds.len() as u32, MAX_RETRIES);
    }

    #[test]
    fn jitter_adds_up_to_half_of_n4() {
        assert_eq!(retry_delay_ms(0, 1.0, None), 15_000);
        assert_eq!(retry_delay_ms(2, 1.0, None), 31_000 + 8_000);
        assert_eq!(retry_delay_ms(2, 0.5, None), 31_000 + 4_000);
        assert_eq!(retry_delay_ms(15, 1.0, None), 50_640_000 + 25_312_500);
        // Out-of-range jitter is clamped.
        assert_eq!(retry_delay_ms(2, 7.0, None), 39_000);
        assert_eq!(retry_delay_ms(2, -1.0, None), 31_000);
        assert_eq!(retry_delay_ms(2, f64::NAN, None), 31_000);
        for _ in 0..100 {
            let j = jitter();
            assert!((0.0..1.0).contains(&j), "{j}");
        }
    }

    #[test]
    fn retry_after_is_a_floor_capped_at_six_hours() {
        assert_eq!(retry_delay_ms(0, 0.0, Some(120_000)), 120_000);
        assert_eq!(retry_delay_ms(0, 0.0, Some(1_000)), 15_000);
        assert_eq!(retry_delay_ms(3, 0.0, Some(0)), 96_000);
        assert_eq!(retry_delay_ms(0, 0.0, Some(-5)), 15_000);
        assert_eq!(
            retry_delay_ms(0, 0.0, Some(10 * 3600 * 1000)),
            RETRY_AFTER_CAP_MS
        );
        assert_eq!(RETRY_AFTER_CAP_MS, 6 * 3600 * 1000);
        // The cap only limits Retry-After, never the schedule itself.
        assert_eq!(retry_delay_ms(15, 0.0, Some(i64::MAX)), 50_640_000);
    }

    #[test]
    fn out_of_range_attempts_do_not_overflow() {
        assert!(retry_delay_ms(u32::MAX, 1.0, None) > 0);
    }
}
