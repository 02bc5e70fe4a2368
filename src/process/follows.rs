//! The follow graph, both ways. Local actions: follow and unfollow, answering follow
//! requests, removing a follower, blocking, and announcing a profile update. Inbound:
//! `Follow`, `Accept`/`Reject` of kith's follows, `Block` of kith's actor.

use super::{activity_id, queue};
use crate::ap::resolve::id_of;
use crate::ap::{object_id, outbox, resolve};
use crate::ctx::Ctx;
use crate::db::Conn;
use crate::db::actors::RemoteActor;
use crate::db::{self, blocks, follows, notifications};
use crate::error::{Error, Result};
use crate::events::Event;
use serde_json::Value;

/// Follows `target` (an actor URL or `@user@host`); returns the actor.
pub fn follow(ctx: &Ctx, target: &str) -> Result<RemoteActor> {
    let actor = resolve::by_url_or_handle(ctx, target)?;
    follow_actor(ctx, &actor)?;
    Ok(actor)
}

/// Sends a `Follow` to `actor` (again, when a follow exists but is not accepted yet).
pub fn follow_actor(ctx: &Ctx, actor: &RemoteActor) -> Result<()> {
    if ctx.db.read(|c| blocks::is_blocked(c, actor.id))? {
        return Err(Error::Unprocessable(
            "unblock this account before following it".into(),
        ));
    }
    let now = db::now_ms();
    let sent = ctx.db.write(|tx| {
        if follows::find(tx, true, actor.id)?.is_some_and(|f| f.accepted) {
            return Ok(false);
        }
        let id = activity_id(ctx, "follows");
        let activity = outbox::build_follow(&ctx.config, &id, &actor.uri);
        follows::upsert(tx, true, actor.id, &id, false, now)?;
        queue(tx, &activity, std::slice::from_ref(&actor.inbox), true, now)?;
        Ok(true)
    })?;
    if sent {
        ctx.wake.delivery();
    }
    Ok(())
}

/// Unfollows `target` (an actor URL or `@user@host`).
pub fn unfollow(ctx: &Ctx, target: &str) -> Result<RemoteActor> {
    let actor = resolve::by_url_or_handle(ctx, target)?;
    unfollow_actor(ctx, &actor)?;
    Ok(actor)
}

/// Sends `Undo(Follow)` and forgets the follow.
pub fn unfollow_actor(ctx: &Ctx, actor: &RemoteActor) -> Result<()> {
    let now = db::now_ms();
    ctx.db.write(|tx| {
        let Some(follow) = follows::delete(tx, true, actor.id)? else {
            return Ok(());
        };
        let inner = outbox::build_follow(&ctx.config, &follow.activity_uri, &actor.uri);
        queue_undo(ctx, tx, &follow.activity_uri, inner, actor, now)
    })?;
    ctx.wake.delivery();
    Ok(())
}

/// Queues `Undo(inner)` (whose id was `inner_id`) to `actor`.
fn queue_undo(
    ctx: &Ctx,
    tx: &Conn,
    inner_id: &str,
    inner: serde_json::Value,
    actor: &RemoteActor,
    now: i64,
) -> Result<()> {
    let id = format!("{inner_id}/undo");
    let undo = outbox::build_undo(&ctx.config, &id, inner, std::slice::from_ref(&actor.uri));
    queue(tx, &undo, std::slice::from_ref(&actor.inbox), false, now)
}

fn answer_follow(ctx: &Ctx, actor_id: i64, accept: bool) -> Result<()> {
    let now = db::now_ms();
    ctx.db.write(|tx| {
        let follow = follows::find(tx, false, actor_id)?
            .ok_or_else(|| Error::NotFound("No such follow request".into()))?;
        let actor = db::actors::get(tx, actor_id)?;
        let kind = if accept { "Accept" } else { "Reject" };
        let id = activity_id(ctx, if accept { "accepts" } else { "rejects" });
        let answer =
            outbox::build_follow_answer(&ctx.config, kind, &id, &follow.activity_uri, &actor.uri);
        if accept {
            follows::accept(tx, false, actor_id)?;
        } else {
            follows::delete(tx, false, actor_id)?;
        }
        notifications::delete_matching(tx, "follow_request", actor_id, None)?;
        if accept {
            notifications::insert(tx, "follow", actor_id, None, None, now)?;
        }
        queue(tx, &answer, std::slice::from_ref(&actor.inbox), false, now)
    })?;
    ctx.wake.delivery();
    ctx.emit(Event::Notified);
    Ok(())
}

/// Accepts a pending follow request.
pub fn accept_follow_request(ctx: &Ctx, actor_id: i64) -> Result<()> {
    answer_follow(ctx, actor_id, true)
}

/// Rejects a pending follow request.
pub fn reject_follow_request(ctx: &Ctx, actor_id: i64) -> Result<()> {
    answer_follow(ctx, actor_id, false)
}

/// Removes a follower (sends `Reject` of their follow, as Mastodon does).
pub fn remove_follower(ctx: &Ctx, actor_id: i64) -> Result<()> {
    answer_follow(ctx, actor_id, false)
}

/// Blocks an actor: sends `Block`, ends follows both ways.
pub fn block(ctx: &Ctx, actor_id: i64) -> Result<()> {
    let now = db::now_ms();
    ctx.db.write(|tx| {
        let actor = db::actors::get(tx, actor_id)?;
        if blocks::is_blocked(tx, actor_id)? {
            return Ok(());
        }
        let id = activity_id(ctx, "blocks");
        blocks::insert_block(tx, actor_id, &id, now)?;
        if let Some(f) = follows::delete(tx, true, actor_id)? {
            let inner = outbox::build_follow(&ctx.config, &f.activity_uri, &actor.uri);
            queue_undo(ctx, tx, &f.activity_uri, inner, &actor, now)?;
        }
        follows::delete(tx, false, actor_id)?;
        queue(
            tx,
            &outbox::build_block(&ctx.config, &id, &actor.uri),
            std::slice::from_ref(&actor.inbox),
            false,
            now,
        )
    })?;
    ctx.wake.delivery();
    Ok(())
}

/// Unblocks an actor: sends `Undo(Block)`.
pub fn unblock(ctx: &Ctx, actor_id: i64) -> Result<()> {
    let now = db::now_ms();
    ctx.db.write(|tx| {
        let actor = db::actors::get(tx, actor_id)?;
        let Some(block_id) = blocks::delete_block(tx, actor_id)? else {
            return Ok(());
        };
        let inner = outbox::build_block(&ctx.config, &block_id, &actor.uri);
        queue_undo(ctx, tx, &block_id, inner, &actor, now)
    })?;
    ctx.wake.delivery();
    Ok(())
}

/// Sends `Update(Person)` with the current profile to every follower.
pub fn update_profile(ctx: &Ctx) -> Result<()> {
    let now = db::now_ms();
    ctx.db.write(|tx| {
        let account = db::account::get(tx)?;
        let person = crate::ap::actor::build_person(&ctx.config, &account);
        let mut inner = person;
        if let Some(o) = inner.as_object_mut() {
            o.remove("@context");
        }
        let aud = outbox::Audience {
            to: vec![crate::ap::PUBLIC.into()],
            cc: vec![format!("{}/followers", ctx.config.actor_url())],
        };
        let update = outbox::build_activity(
            &ctx.config,
            "Update",
            &activity_id(ctx, "updates"),
            inner,
            Some(&aud),
        );
        queue(tx, &update, &follows::follower_inboxes(tx)?, false, now)
    })?;
    ctx.wake.delivery();
    Ok(())
}

/// `Follow` of kith's actor: accepted at once unless the account is locked (then a
/// follow request); a blocked follower is answered `Reject`.
pub(super) fn handle_follow(ctx: &Ctx, signer: &RemoteActor, activity: &Value) -> Result<()> {
    if object_id(activity) != Some(ctx.config.actor_url().as_str()) {
        return Ok(());
    }
    let follow_id = activity
        .get("id")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_string();
    let account = ctx.db.read(db::account::get)?;
    let now = db::now_ms();
    let blocked = ctx.db.read(|c| blocks::is_blocked(c, signer.id))?;
    // A new follower may come with a move here from one of the aliases (network
    // trouble only means the follow is not marked).
    let moved_from = if blocked
        || ctx
            .db
            .read(|c| follows::find(c, false, signer.id))?
            .is_some()
    {
        None
    } else {
        super::moving::moved_from(ctx).unwrap_or_else(|e| {
            eprintln!("inbox: follow from {}: move check failed: {e}", signer.uri);
            None
        })
    };
    ctx.db.write(|tx| {
        if blocked {
            let reject = outbox::build_follow_answer(
                &ctx.config,
                "Reject",
                &activity_id(ctx, "rejects"),
                &follow_id,
                &signer.uri,
            );
            return queue(tx, &reject, std::slice::from_ref(&signer.inbox), false, now);
        }
        let existing = follows::find(tx, false, signer.id)?;
        let accepted = !account.locked || existing.as_ref().is_some_and(|f| f.accepted);
        follows::upsert(tx, false, signer.id, &follow_id, accepted, now)?;
        if accepted {
            let accept = outbox::build_follow_answer(
                &ctx.config,
                "Accept",
                &activity_id(ctx, "accepts"),
                &follow_id,
                &signer.uri,
            );
            queue(tx, &accept, std::slice::from_ref(&signer.inbox), false, now)?;
        }
        if existing.is_none() {
            if moved_from.is_some() {
                follows::mark_via_move(tx, signer.id)?;
            }
            let kind = if accepted { "follow" } else { "follow_request" };
            notifications::insert(tx, kind, signer.id, None, moved_from.as_deref(), now)?;
        }
        Ok(())
    })?;
    ctx.wake.delivery();
    Ok(())
}

/// `Accept`/`Reject` of a Follow kith sent: it must name a Follow kith sent to this signer.
pub(super) fn handle_accept(
    ctx: &Ctx,
    signer: &RemoteActor,
    activity: &Value,
    accepted: bool,
) -> Result<()> {
    let object = activity.get("object").cloned().unwrap_or(Value::Null);
    let follow_id = id_of(&object).map(str::to_string);
    ctx.db.write(|tx| {
        let Some(follow) = follows::find(tx, true, signer.id)? else {
            return Ok(());
        };
        // Mastodon names our Follow by id; some servers send only the object's shape.
        let matches = follow_id.as_deref() == Some(follow.activity_uri.as_str())
            || (object.get("type").and_then(Value::as_str) == Some("Follow")
                && object.get("actor").and_then(id_of) == Some(ctx.config.actor_url().as_str()))
            || follow_id.is_none();
        if !matches {
            return Ok(());
        }
        if accepted {
            follows::accept(tx, true, signer.id)?;
        } else {
            follows::delete(tx, true, signer.id)?;
        }
        Ok(())
    })
}

/// `Block` (or its `Undo`) of kith's actor by `signer`.
pub(super) fn handle_block(
    ctx: &Ctx,
    signer: &RemoteActor,
    activity: &Value,
    blocked: bool,
) -> Result<()> {
    if object_id(activity) != Some(ctx.config.actor_url().as_str()) {
        return Ok(());
    }
    let now = db::now_ms();
    ctx.db.write(|tx| {
        blocks::set_blocked_by(tx, signer.id, blocked, now)?;
        if blocked {
            // As Mastodon does: a block ends the follows in both directions.
            follows::delete(tx, false, signer.id)?;
            follows::delete(tx, true, signer.id)?;
        }
        Ok(())
    })
}
