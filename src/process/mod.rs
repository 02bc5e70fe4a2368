//! What kith does when something happens, whoever made it happen: an activity from
//! the inbox (`inbound` dispatches it) or the owner's own action through either face.
//! One file per kind of thing: `follows` (the follow graph, blocks, the profile),
//! `posts` (the owner's posts), `remote_posts` (others' posts arriving), `reactions`
//! (likes, boosts, reports received), `reports` (reports the owner makes), `scheduled`
//! (posts published later), `moving` and `alias` (accounts moving in and out);
//! `retention` removes what others wrote once nothing needs it.
//!
//! A local action becomes rows, one activity and its delivery jobs, written in one
//! transaction (network look-ups happen first, with no lock held). What open streams
//! (or any other listener) should learn is emitted as an [`Event`](crate::events::Event)
//! after the commit; nothing here names a face.

pub mod alias;
pub mod follows;
pub mod inbound;
pub mod moving;
pub mod posts;
pub mod reactions;
pub mod remote_posts;
pub mod reports;
pub mod retention;
pub mod scheduled;

pub use follows::{
    accept_follow_request, block, follow, follow_actor, reject_follow_request, remove_follower,
    unblock, unfollow, unfollow_actor, update_profile,
};
pub use posts::{Draft, DraftPoll, create_post, delete_post, edit_post, vote};
pub use reactions::{boost, like, unboost, unlike};

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
pub fn activity_id(ctx: &crate::ctx::Ctx, kind: &str) -> String {
    format!("{}#{kind}/{}", ctx.config.actor_url(), crate::ids::now())
}

/// The remote author of a post, if it has one.
pub fn author_of(
    conn: &Conn,
    post: &crate::db::posts::Post,
) -> Result<Option<crate::db::actors::RemoteActor>> {
    post.actor_id
        .map(|id| crate::db::actors::get(conn, id))
        .transpose()
}
