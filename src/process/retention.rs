//! Retention: what others wrote is not kept for ever on a small disk. Once an hour an
//! idle inbox worker removes, in small batches (each its own short transaction, so
//! the owner's own writes never wait behind a long one), remote posts older than
//! `[retention] remote_posts_days` that nothing keeps (`db::retention` says what keeps
//! a post), their cached media, actors nothing refers to any more, and notifications
//! older than `notifications_days`. Reads see a consistent snapshot (WAL), so a page
//! being rendered never sees half a removal.

use crate::ctx::Ctx;
use crate::db::{self, retention};
use crate::error::Result;
use std::sync::atomic::{AtomicI64, Ordering};

/// How often retention runs (ms).
const EVERY_MS: i64 = 60 * 60 * 1000;
/// Rows removed per transaction.
const BATCH: i64 = 200;
/// Batches per run at most; what is left waits for the next run.
const MAX_BATCHES: usize = 50;
const DAY_MS: i64 = 24 * 60 * 60 * 1000;

/// When retention last ran in this process (ms).
static LAST_RUN: AtomicI64 = AtomicI64::new(0);

/// What one run removed.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Removed {
    pub posts: usize,
    pub cached_files: usize,
    pub actors: usize,
    pub notifications: usize,
}

/// Runs [`run`] when an hour has passed since the last run; for an idle worker step.
pub fn run_if_due(ctx: &Ctx) {
    let now = db::now_ms();
    let last = LAST_RUN.load(Ordering::Relaxed);
    if now - last < EVERY_MS
        || LAST_RUN
            .compare_exchange(last, now, Ordering::Relaxed, Ordering::Relaxed)
            .is_err()
    {
        return;
    }
    match run(ctx, now) {
        Ok(r) if r != Removed::default() => eprintln!(
            "retention: removed {} remote posts ({} cached files), {} actors, {} notifications",
            r.posts, r.cached_files, r.actors, r.notifications
        ),
        Ok(_) => {}
        Err(e) => eprintln!("retention: {e}"),
    }
}

/// Removes what the `[retention]` settings say has expired by `now`.
pub fn run(ctx: &Ctx, now: i64) -> Result<Removed> {
    let policy = &ctx.config.retention;
    let mut removed = Removed::default();
    if policy.remote_posts_days > 0 {
        let cutoff = now - i64::from(policy.remote_posts_days) * DAY_MS;
        let before_id = crate::ids::floor(cutoff);
        let owner = ctx.config.actor_url();
        for _ in 0..MAX_BATCHES {
            let expired = ctx
                .db
                .read(|c| retention::list_expired_posts(c, before_id, cutoff, &owner, BATCH))?;
            if expired.is_empty() {
                break;
            }
            let ids: Vec<i64> = expired.iter().map(|(id, _)| *id).collect();
            removed.posts += ctx.db.write(|tx| retention::delete_posts(tx, &ids))?;
            let urls: Vec<String> = expired.into_iter().flat_map(|(_, urls)| urls).collect();
            removed.cached_files += crate::media::cache::forget(ctx, &urls)?;
        }
        for _ in 0..MAX_BATCHES {
            let n = ctx
                .db
                .write(|tx| retention::delete_orphan_actors(tx, cutoff, BATCH))?;
            removed.actors += n;
            if n < BATCH as usize {
                break;
            }
        }
    }
    if policy.notifications_days > 0 {
        let cutoff = now - i64::from(policy.notifications_days) * DAY_MS;
        for _ in 0..MAX_BATCHES {
            let n = ctx
                .db
                .write(|tx| retention::delete_old_notifications(tx, cutoff, BATCH))?;
            removed.notifications += n;
            if n < BATCH as usize {
                break;
            }
        }
    }
    Ok(removed)
}
