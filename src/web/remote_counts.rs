//! The counts on a remote account's page (posts, following, followers): the
//! `totalItems` its server gives for its outbox and collections, fetched (signed, the
//! three at once) when the owner opens the page and kept for a day. A server that does
//! not answer leaves that count unknown until the next day; a blocked or gone account
//! is not asked. This file fetches and stores; it renders nothing but the one line.

use crate::ctx::Ctx;
use crate::db::actor_counts::{self, Counts};
use crate::db::actors::RemoteActor;
use crate::db::{self, blocks};
use crate::error::Result;
use maud::{Markup, html};

/// How long fetched counts are shown before they are fetched again.
const MAX_AGE_MS: i64 = 24 * 3600 * 1000;

/// The account's counts: stored ones younger than a day, else fetched now and stored.
/// Call with no database connection held (it may wait on the network).
pub fn counts(ctx: &Ctx, actor: &RemoteActor) -> Result<Counts> {
    let now = db::now_ms();
    let stored = ctx.db.read(|c| actor_counts::find(c, actor.id))?;
    if let Some(c) = stored.as_ref().filter(|c| now - c.fetched_at < MAX_AGE_MS) {
        return Ok(c.clone());
    }
    let blocked = ctx
        .db
        .read(|c| blocks::is_domain_blocked(c, &actor.domain))?;
    if blocked || actor.gone_at.is_some() {
        return Ok(stored.unwrap_or_default());
    }
    let urls = [
        actor.outbox.as_deref(),
        actor.following_url.as_deref(),
        actor.followers_url.as_deref(),
    ];
    let [statuses, following, followers] = std::thread::scope(|s| {
        let running = urls.map(|url| s.spawn(move || url.and_then(|u| total_items(ctx, u))));
        running.map(|r| r.join().ok().flatten())
    });
    let fetched = Counts {
        followers,
        following,
        statuses,
        fetched_at: now,
    };
    ctx.db
        .write(|tx| actor_counts::upsert(tx, actor.id, &fetched))?;
    Ok(fetched)
}

/// A collection's `totalItems`, or `None` when it cannot be had.
fn total_items(ctx: &Ctx, url: &str) -> Option<i64> {
    let fetched = ctx.get_signed(url).ok()?;
    let doc: serde_json::Value = serde_json::from_slice(&fetched.body).ok()?;
    doc.get("totalItems")?.as_i64().filter(|n| *n >= 0)
}

/// "12 posts · 3 following · 1 follower", leaving out what is unknown.
pub fn line(c: &Counts) -> Markup {
    let parts: Vec<String> = [
        c.statuses.map(|n| super::render::count(n, "post", "posts")),
        c.following.map(|n| format!("{n} following")),
        c.followers
            .map(|n| super::render::count(n, "follower", "followers")),
    ]
    .into_iter()
    .flatten()
    .collect();
    html! {
        @if !parts.is_empty() { p.counts { (parts.join(" · ")) } }
    }
}
