//! Local actions on the follow graph and the profile: follow and unfollow, answering
//! follow requests, removing a follower, blocking, and announcing a profile update.

use super::{activity_id, queue};
use crate::Ctx;
use crate::ap::{outbox, resolve};
use crate::db::Conn;
use crate::db::actors::RemoteActor;
use crate::db::{self, blocks, follows, notifications};
use crate::error::{Error, Result};

/// Follows `target` (an actor URL or `@user@host`); returns the actor.
pub fn follow(ctx: &Ctx, target: &str) -> Result<RemoteActor> {
    let actor = resolve::by_url_or_handle(ctx, target)?;
    follow_actor(ctx, &actor)?;
    Ok(actor)
}

/// Sends a `Follow` to `actor` (again, when a follow exists but is not accepted yet).
pub fn follow_actor(ctx: &Ctx, actor: &RemoteActor) -> Result<()> {
    if ctx.db.read(|c| blocks::is_blocked(c, actor.id))? {
        return Err(Error::Status(
            422,
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
    crate::mastodon::streaming::publish_notifications(ctx);
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
