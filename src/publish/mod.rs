//! The only place a local action becomes rows, one activity and its delivery jobs,
//! written in one transaction (network look-ups happen first, with no lock held):
//! `social` has the follow graph, blocks and the profile; `posts` has posting,
//! editing, deleting, likes, boosts and poll votes.

pub mod posts;
pub mod social;

pub use posts::{
    Draft, DraftPoll, boost, create_post, delete_post, edit_post, like, unboost, unlike, vote,
};
pub use social::{
    accept_follow_request, block, follow, follow_actor, reject_follow_request, remove_follower,
    unblock, unfollow, unfollow_actor, update_profile,
};

use crate::db::Conn;
use crate::error::Result;
use serde_json::Value;

/// Queues `activity` for delivery to `inboxes` inside the caller's transaction.
/// The JSON is serialised once here; the exact bytes are what gets signed and sent.
pub fn queue(
    tx: &Conn,
    activity: &Value,
    inboxes: &[String],
    is_follow: bool,
    now: i64,
) -> Result<()> {
    if inboxes.is_empty() {
        return Ok(());
    }
    let body = serde_json::to_string(activity)?;
    crate::db::deliveries::enqueue(tx, inboxes, &body, is_follow, now)?;
    Ok(())
}

/// A fresh activity id under the account: `{actor}#{kind}/{n}`.
pub fn activity_id(ctx: &crate::Ctx, kind: &str) -> String {
    format!("{}#{kind}/{}", ctx.config.actor_url(), crate::ids::now())
}
