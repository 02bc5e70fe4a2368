//! The inbox worker: [`run_once`] takes queued activities (`ap::inbox::receive` put
//! them there) and [`process`] dispatches each with one `match` on its type, each arm
//! one `handle_*` call: the follow graph in `follows`, notes in `remote_posts`, likes,
//! boosts, reactions and reports in `reactions`, moves in `moving`. Every handler
//! checks that the signer may do what the activity says (SECURITY.md 26) before it
//! writes.

use super::follows::{handle_accept, handle_block, handle_follow};
use super::{moving, reactions, remote_posts};
use crate::ap::resolve::id_of;
use crate::ctx::Ctx;
use crate::db::actors::RemoteActor;
use crate::db::{self, follows, notifications};
use crate::error::{Error, Result};
use crate::events::Event;
use serde_json::Value;

/// Activities handled per worker step.
const BATCH: i64 = 16;
/// Attempts at processing one queued activity before it is dropped.
const MAX_ATTEMPTS: i64 = 5;

/// Handles one verified activity from `signer_uri`.
pub fn process(ctx: &Ctx, signer_uri: &str, activity: &Value) -> Result<()> {
    let signer = ctx
        .db
        .read(|c| db::actors::find_by_uri(c, signer_uri))?
        .ok_or_else(|| Error::Internal(format!("signer {signer_uri} is not cached")))?;
    let kind = activity.get("type").and_then(Value::as_str).unwrap_or("");
    match kind {
        "Follow" => handle_follow(ctx, &signer, activity),
        "Accept" => handle_accept(ctx, &signer, activity, true),
        "Reject" => handle_accept(ctx, &signer, activity, false),
        "Undo" => handle_undo(ctx, &signer, activity),
        "Create" => remote_posts::handle_create(ctx, &signer, activity),
        "Update" => remote_posts::handle_update(ctx, &signer, activity),
        "Delete" => remote_posts::handle_delete(ctx, &signer, activity),
        "Like" | "EmojiReact" => reactions::handle_like(ctx, &signer, activity),
        "Announce" => reactions::handle_announce(ctx, &signer, activity),
        "Flag" => reactions::handle_flag(ctx, &signer, activity),
        "Block" => handle_block(ctx, &signer, activity, true),
        "Move" => moving::handle_move(ctx, &signer, activity),
        _ => Ok(()),
    }
}

/// One inbox worker step: processes up to a batch of queued activities, then removes
/// the handled ones in one transaction (processing is idempotent, so a crash before
/// that only means they are processed again).
pub fn run_once(ctx: &Ctx, worker: usize, workers: usize) -> Result<usize> {
    let batch = ctx
        .db
        .read(|c| crate::db::queue::list_batch(c, worker as i64, workers as i64, BATCH))?;
    let mut done = Vec::with_capacity(batch.len());
    let mut failed = Vec::new();
    for item in &batch {
        let outcome = serde_json::from_str::<Value>(&item.body)
            .map_err(Error::from)
            .and_then(|activity| process(ctx, &item.signer_uri, &activity));
        match outcome {
            Ok(()) => done.push(item.id),
            Err(e) if e.is_transient() && item.attempts + 1 < MAX_ATTEMPTS => {
                failed.push((item.id, e.to_string()))
            }
            Err(e) => {
                eprintln!("inbox: dropped {} after an error: {e}", item.activity_id);
                done.push(item.id);
            }
        }
    }
    ctx.db.write_grouped(|tx| {
        for id in &done {
            crate::db::queue::delete(tx, *id)?;
        }
        for (id, msg) in &failed {
            crate::db::queue::record_failure(tx, *id, msg)?;
        }
        if batch.is_empty() && worker == 0 {
            crate::db::queue::prune_seen(tx, crate::db::now_ms())?;
        }
        Ok(())
    })?;
    // Whatever the step noticed for the owner goes out to those who listen.
    ctx.emit(Event::Notified);
    if batch.is_empty() && worker == 0 {
        super::retention::run_if_due(ctx);
    }
    // A batch that only failed transiently waits for the next poll instead of spinning.
    Ok(done.len())
}

fn handle_undo(ctx: &Ctx, signer: &RemoteActor, activity: &Value) -> Result<()> {
    let inner = activity.get("object").cloned().unwrap_or(Value::Null);
    let inner_kind = inner.get("type").and_then(Value::as_str).unwrap_or("");
    // The undone activity must be the signer's own (SECURITY.md 26).
    if let Some(actor) = inner.get("actor").and_then(id_of)
        && actor != signer.uri
    {
        return Ok(());
    }
    match inner_kind {
        "Follow" => ctx.db.write(|tx| {
            if follows::delete(tx, false, signer.id)?.is_some() {
                notifications::delete_matching(tx, "follow", signer.id, None)?;
                notifications::delete_matching(tx, "follow_request", signer.id, None)?;
            }
            Ok(())
        }),
        "Like" | "EmojiReact" => reactions::undo_like(ctx, signer, &inner),
        "Announce" => reactions::undo_announce(ctx, signer, &inner),
        "Block" => handle_block(ctx, signer, &inner, false),
        _ => match id_of(&inner) {
            // Only an id: try the kinds kith keeps by activity id.
            Some(id) => reactions::undo_by_id(ctx, signer, id),
            None => Ok(()),
        },
    }
}
