//! The inbox worker's dispatch: one `match` on the activity type, each arm one
//! `handle_*` call. Follow-graph activities are handled here; notes in `ap::notes`,
//! likes, boosts, reactions and reports in `ap::reactions`. Every handler checks that
//! the signer may do what the activity says (SECURITY.md 26) before it writes.

use crate::Ctx;
use crate::ap::resolve::{self, id_of};
use crate::ap::{notes, outbox, reactions};
use crate::db::actors::RemoteActor;
use crate::db::{self, blocks, follows, notifications};
use crate::error::{Error, Result};
use serde_json::Value;

/// Activity types the inbox accepts (others are refused with 400).
pub const KNOWN_TYPES: &[&str] = &[
    "Create",
    "Update",
    "Delete",
    "Follow",
    "Accept",
    "Reject",
    "Undo",
    "Like",
    "Announce",
    "EmojiReact",
    "Block",
    "Flag",
    "Move",
    "Add",
    "Remove",
];

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
        "Create" => notes::handle_create(ctx, &signer, activity),
        "Update" => notes::handle_update(ctx, &signer, activity),
        "Delete" => notes::handle_delete(ctx, &signer, activity),
        "Like" | "EmojiReact" => reactions::handle_like(ctx, &signer, activity),
        "Announce" => reactions::handle_announce(ctx, &signer, activity),
        "Flag" => reactions::handle_flag(ctx, &signer, activity),
        "Block" => handle_block(ctx, &signer, activity, true),
        "Move" => handle_move(ctx, &signer, activity),
        _ => Ok(()),
    }
}

/// The `object` of an activity as an id.
pub fn object_id(activity: &Value) -> Option<&str> {
    activity.get("object").and_then(id_of)
}

fn handle_follow(ctx: &Ctx, signer: &RemoteActor, activity: &Value) -> Result<()> {
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
        crate::portability::moving::moved_from(ctx).unwrap_or_else(|e| {
            eprintln!("inbox: follow from {}: move check failed: {e}", signer.uri);
            None
        })
    };
    ctx.db.write(|tx| {
        if blocked {
            let reject = outbox::build_follow_answer(
                &ctx.config,
                "Reject",
                &answer_id(ctx, "rejects"),
                &follow_id,
                &signer.uri,
            );
            return crate::publish::queue(
                tx,
                &reject,
                std::slice::from_ref(&signer.inbox),
                false,
                now,
            );
        }
        let existing = follows::find(tx, false, signer.id)?;
        let accepted = !account.locked || existing.as_ref().is_some_and(|f| f.accepted);
        follows::upsert(tx, false, signer.id, &follow_id, accepted, now)?;
        if accepted {
            let accept = outbox::build_follow_answer(
                &ctx.config,
                "Accept",
                &answer_id(ctx, "accepts"),
                &follow_id,
                &signer.uri,
            );
            crate::publish::queue(tx, &accept, std::slice::from_ref(&signer.inbox), false, now)?;
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

/// A fresh id for an Accept or Reject kith sends.
pub fn answer_id(ctx: &Ctx, kind: &str) -> String {
    format!("{}#{kind}/{}", ctx.config.actor_url(), crate::ids::now())
}

/// `Accept`/`Reject` of a Follow kith sent: it must name a Follow kith sent to this signer.
fn handle_accept(ctx: &Ctx, signer: &RemoteActor, activity: &Value, accepted: bool) -> Result<()> {
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

fn handle_block(ctx: &Ctx, signer: &RemoteActor, activity: &Value, blocked: bool) -> Result<()> {
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

/// `Move`: when the new account lists the old one in `alsoKnownAs`, the old one is
/// recorded as moved there (the client API shows it), and when kith follows the old
/// account it follows the new one instead. A `Move` to kith's own actor from one of
/// its aliases is remembered, so the follows that come with it are marked
/// (`portability::moving`).
fn handle_move(ctx: &Ctx, signer: &RemoteActor, activity: &Value) -> Result<()> {
    let old = object_id(activity).unwrap_or(&signer.uri);
    let Some(target) = activity.get("target").and_then(id_of) else {
        return Ok(());
    };
    if old != signer.uri || target == signer.uri {
        return Ok(());
    }
    if resolve::is_local(ctx, target) {
        if target == ctx.config.actor_url() {
            crate::portability::moving::arrived(ctx, signer)?;
        }
        return Ok(());
    }
    // Fetched fresh from its own URL, so the aliases are the target's own word.
    let new_actor = resolve::refresh(ctx, target)?;
    if !new_actor.aliases().iter().any(|a| a == &signer.uri) {
        return Ok(());
    }
    // The mover's account now points at its new home (the client API's `moved`).
    ctx.db
        .write(|tx| db::actors::update_moved_to(tx, signer.id, Some(&new_actor.uri)))?;
    let following = ctx.db.read(|c| follows::find(c, true, signer.id))?;
    if following.is_none() {
        return Ok(());
    }
    crate::publish::follow_actor(ctx, &new_actor)?;
    crate::publish::unfollow_actor(ctx, signer)?;
    let now = db::now_ms();
    ctx.db.write(|tx| {
        // As Mastodon does: lists and mutes follow the account to its new home.
        db::portability::carry_over(tx, signer.id, new_actor.id, now)?;
        notifications::insert(tx, "move", signer.id, None, Some(&new_actor.uri), now).map(|_| ())
    })
}
