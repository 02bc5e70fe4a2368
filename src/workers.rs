//! Background threads: the inbox workers (one per CPU), the delivery workers (which
//! also send Web Push messages) and the card worker (link previews), each taking one
//! batch step (`run_once`) at a time, woken by a condition variable when work is
//! queued and every few seconds anyway (so work queued by another process — the
//! command line — is picked up). Shutdown lets the current step finish and leaves the
//! rest queued. The first inbox worker, when idle, also has the allocator give free
//! memory back (`heap::give_back`). `settle` lets tests wait until every queue is
//! drained, without sleeps.

use crate::ctx::Ctx;
use crate::wake::{Signal, Wake};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// How often idle workers look at the queues without being woken.
const POLL: Duration = Duration::from_secs(3);

/// The running worker threads.
pub struct Workers {
    handles: Vec<JoinHandle<()>>,
    stop: Arc<AtomicBool>,
    ctx: Arc<Ctx>,
}

/// One step of an inbox worker: `(ctx, worker, workers)`, handling that worker's
/// share of the queue; returns how many activities it finished. The processing layer
/// provides it (its inbound `run_once`), so this module need not know it.
pub type InboxStep = fn(&Ctx, usize, usize) -> crate::error::Result<usize>;

/// One step of the card worker (link previews), provided like [`InboxStep`]; returns
/// how many queued pages it handled.
pub type CardStep = fn(&Ctx) -> crate::error::Result<usize>;

/// Starts the inbox workers, `config.delivery_workers()` delivery workers and the card
/// worker.
pub fn start(ctx: Arc<Ctx>, inbox_step: InboxStep, card_step: CardStep) -> Workers {
    let stop = Arc::new(AtomicBool::new(false));
    let mut handles = Vec::new();
    // One inbox worker per CPU; each takes its own shards, so one actor's activities
    // are handled in the order they came.
    let inbox_workers = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1)
        .clamp(1, 4);
    for worker in 0..inbox_workers {
        let name = format!("inbox-{worker}");
        handles.extend(spawn(
            &ctx,
            &stop,
            name,
            move |ctx, _| {
                if worker == 0 {
                    crate::media::cleanup_if_due(ctx);
                    if let Err(e) = ctx.db.checkpoint_if_due() {
                        eprintln!("database: checkpoint failed: {e}");
                    }
                }
                let done = inbox_step(ctx, worker, inbox_workers)?;
                if worker == 0 && done == 0 {
                    // Nothing to do: what the last burst freed goes back.
                    crate::heap::give_back();
                }
                Ok(done)
            },
            |w| &w.inbox,
        ));
    }
    for slot in 0..ctx.config.delivery_workers() {
        let name = format!("deliver-{slot}");
        handles.extend(spawn(
            &ctx,
            &stop,
            name,
            move |ctx, _| {
                // Push jobs share the delivery workers; one failing leaves the other going.
                let delivered = crate::ap::deliver::run_once(ctx, slot);
                let pushed = crate::push::deliver::run_once(ctx, slot);
                Ok(delivered? + pushed?)
            },
            |w| &w.delivery,
        ));
    }
    // One card worker: page fetches never hold up the inbox or deliveries, and no
    // host sees more than one at a time.
    handles.extend(spawn(
        &ctx,
        &stop,
        "cards".into(),
        move |ctx, _| card_step(ctx),
        |w| &w.cards,
    ));
    Workers { handles, stop, ctx }
}

fn spawn(
    ctx: &Arc<Ctx>,
    stop: &Arc<AtomicBool>,
    name: String,
    step: impl Fn(&Ctx, usize) -> crate::error::Result<usize> + Send + 'static,
    signal: fn(&Wake) -> &Signal,
) -> Option<JoinHandle<()>> {
    let ctx = ctx.clone();
    let stop = stop.clone();
    let thread_name = name.clone();
    let name = name.clone();
    std::thread::Builder::new()
        .name(thread_name.clone())
        .stack_size(1024 * 1024)
        .spawn(move || {
            while !stop.load(Ordering::SeqCst) {
                let seen = signal(&ctx.wake).current();
                let done = match step(&ctx, 0) {
                    Ok(n) => n,
                    Err(e) => {
                        eprintln!("{name}: {e}");
                        0
                    }
                };
                ctx.wake.progress.raise();
                if done == 0 && !stop.load(Ordering::SeqCst) {
                    signal(&ctx.wake).wait(seen, POLL);
                }
            }
        })
        .map_err(|e| eprintln!("cannot start worker {thread_name}: {e}"))
        .ok()
}

impl Workers {
    /// Lets each worker finish its current step, then joins them; queued work stays queued.
    pub fn shutdown(self) {
        self.stop.store(true, Ordering::SeqCst);
        self.ctx.wake.all();
        for h in self.handles {
            let _ = h.join();
        }
    }
}

/// Waits until every given instance has an empty inbox queue and no delivery due now
/// or in flight, or until `limit` passes; returns whether everything settled.
pub fn settle(ctxs: &[&Ctx], limit: Duration) -> bool {
    let deadline = Instant::now() + limit;
    // Instances are looked at one after another, so one instance's worker may hand work
    // to another between two looks (a delivery answered, its job deleted, the other's
    // inbox now holding it). Only two idle passes in a row, with no worker step finished
    // in between, count as settled.
    let mut idle_before: Option<Vec<u64>> = None;
    loop {
        let seen: Vec<u64> = ctxs.iter().map(|c| c.wake.progress.current()).collect();
        let busy = ctxs.iter().any(|c| has_work(c));
        if !busy && idle_before.as_ref() == Some(&seen) {
            return true;
        }
        idle_before = (!busy).then(|| seen.clone());
        if Instant::now() >= deadline {
            return false;
        }
        if busy {
            for c in ctxs {
                c.wake.all();
            }
        }
        // Wait for any worker to report a finished step (a quiet period when idle).
        if let (Some(c), Some(s)) = (ctxs.first(), seen.first()) {
            c.wake
                .progress
                .wait(*s, Duration::from_millis(if busy { 50 } else { 20 }));
        }
    }
}

fn has_work(ctx: &Ctx) -> bool {
    let now = crate::db::now_ms();
    ctx.db
        .read(|c| crate::db::queue::pending_work(c, now))
        .unwrap_or(true)
}
