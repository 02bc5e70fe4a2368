//! Likes and boosts, both ways. Inbound `Like`, `EmojiReact`, `Announce` and `Flag`,
//! and their `Undo`s: likes and reactions count only on the owner's posts; boosts of
//! the owner's posts are counted and notified, boosts by followed accounts are stored
//! for the home timeline. Local actions: like and unlike, boost and unboost.

use super::remote_posts::{Budget, fetch_object};
use super::{activity_id, author_of, queue};
use crate::ap::note::ids;
use crate::ap::object_id;
use crate::ap::outbox;
use crate::ap::resolve::{self, id_of};
use crate::ctx::Ctx;
use crate::db::actors::RemoteActor;
use crate::db::posts::{Parts, Post};
use crate::db::{self, favourites, follows, notifications, posts};
use crate::error::{Error, Result};
use crate::events::Event;
use crate::visibility::{self, Viewer};
use serde_json::Value;

/// The owner's post an activity points at, if it is one.
fn local_post(ctx: &Ctx, activity: &Value) -> Result<Option<posts::Post>> {
    let Some(uri) = object_id(activity) else {
        return Ok(None);
    };
    if !resolve::is_local(ctx, uri) {
        return Ok(None);
    }
    Ok(ctx
        .db
        .read(|c| posts::find_by_uri(c, uri))?
        .filter(|p| p.is_local() && p.deleted_at.is_none()))
}

/// The emoji of a reaction: `EmojiReact`, or a Misskey-style `Like` with `content`.
fn reaction_emoji(activity: &Value) -> Option<String> {
    let content = activity.get("content").and_then(Value::as_str)?;
    let emoji = crate::text::clean_plain(content, 64);
    (!emoji.is_empty()).then_some(emoji)
}

/// `Like` or `EmojiReact` of the owner's post.
pub fn handle_like(ctx: &Ctx, signer: &RemoteActor, activity: &Value) -> Result<()> {
    let Some(post) = local_post(ctx, activity)? else {
        return Ok(());
    };
    let Some(activity_id) = activity.get("id").and_then(Value::as_str) else {
        return Ok(());
    };
    let now = db::now_ms();
    let kind = activity
        .get("type")
        .and_then(Value::as_str)
        .unwrap_or("Like");
    let emoji = reaction_emoji(activity);
    ctx.db.write(|tx| {
        let (fresh, notice) = match (kind, emoji) {
            ("EmojiReact", Some(e)) | ("Like", Some(e)) if kind == "EmojiReact" || e != "❤" => (
                favourites::insert_reaction(tx, post.id, signer.id, &e, activity_id, now)?,
                "reaction",
            ),
            ("EmojiReact", None) => return Ok(()),
            _ => (
                favourites::insert(tx, post.id, Some(signer.id), activity_id, now)?,
                "favourite",
            ),
        };
        if fresh {
            notifications::insert(tx, notice, signer.id, Some(post.id), None, now)?;
        }
        Ok(())
    })
}

/// `Undo` of a like or reaction; only the signer's own.
pub fn undo_like(ctx: &Ctx, signer: &RemoteActor, inner: &Value) -> Result<()> {
    match id_of(inner) {
        Some(id) => undo_by_id(ctx, signer, id),
        None => Ok(()),
    }
}

/// `Announce`: a boost of the owner's post is counted; a boost by a followed account
/// is stored with the boosted post (fetched within the budget). Only public and
/// unlisted posts that the booster may see are boosted.
pub fn handle_announce(ctx: &Ctx, signer: &RemoteActor, activity: &Value) -> Result<()> {
    let Some(activity_id) = activity.get("id").and_then(Value::as_str) else {
        return Ok(());
    };
    let Some(object_uri) = object_id(activity).map(str::to_string) else {
        return Ok(());
    };
    let local = local_post(ctx, activity)?;
    let target = match local {
        Some(post) => post,
        None => {
            if ctx
                .db
                .read(|c| follows::find(c, true, signer.id))?
                .is_none()
            {
                return Ok(());
            }
            match boosted_remote(ctx, &object_uri)? {
                Some(post) => post,
                None => return Ok(()),
            }
        }
    };
    // A boost spreads a post to the booster's audience: only a public or unlisted post
    // the booster may see is boosted, as Mastodon refuses boosts of private posts by
    // anyone but their author (SECURITY.md 57).
    let booster = Viewer::remote(signer);
    if !visibility::is_public(&target.visibility)
        || !ctx.db.read(|c| visibility::may_see(c, &booster, &target))?
    {
        return Ok(());
    }
    let now = db::now_ms();
    let published = activity
        .get("published")
        .and_then(Value::as_str)
        .and_then(crate::dates::parse_rfc3339)
        .unwrap_or(now)
        .min(now);
    let to = ids(activity.get("to"));
    let cc = ids(activity.get("cc"));
    let visibility = crate::ap::note::visibility(&to, &cc, signer.followers_url.as_deref());
    if visibility == "direct" || (visibility == "private" && !target.is_local()) {
        return Ok(());
    }
    let boost = posts::Post {
        id: crate::ids::at(published),
        uri: activity_id.to_string(),
        actor_id: Some(signer.id),
        kind: "Announce".into(),
        visibility: visibility.to_string(),
        reblog_of_id: Some(target.id),
        audience_json: serde_json::to_string(&[to, cc].concat()).unwrap_or_else(|_| "[]".into()),
        published_at: published,
        ..posts::Post::default()
    };
    let inserted = ctx.db.write(|tx| {
        if posts::find_reblog(tx, Some(signer.id), target.id)?.is_some() {
            return Ok(false);
        }
        let inserted = posts::insert(tx, &boost, &posts::Parts::default())?;
        if inserted && target.is_local() {
            notifications::insert(tx, "reblog", signer.id, Some(target.id), None, now)?;
        }
        Ok(inserted)
    })?;
    if inserted {
        ctx.emit(Event::Posted(boost.id));
        // The boosted post reaches the home timeline: its card, if it never had one.
        crate::cards::request_missing(ctx, &[&target]);
    }
    Ok(())
}

/// The remote post a boost points at: stored already, or fetched and stored (public only).
fn boosted_remote(ctx: &Ctx, uri: &str) -> Result<Option<posts::Post>> {
    if let Some(p) = ctx.db.read(|c| posts::find_by_uri(c, uri))? {
        return Ok(Some(p));
    }
    let mut budget = Budget::new();
    let object = fetch_object(ctx, uri, &mut budget)?;
    let now = db::now_ms();
    let first = crate::ap::note::parse_note(&object, None, now)?;
    let author = resolve::actor(ctx, &first.author_uri)?;
    let mut note = crate::ap::note::parse_note(&object, author.followers_url.as_deref(), now)?;
    if !matches!(note.post.visibility.as_str(), "public" | "unlisted") {
        return Ok(None);
    }
    note.post.actor_id = Some(author.id);
    note.post.id = crate::ids::at(note.post.published_at);
    ctx.db
        .write(|tx| posts::insert(tx, &note.post, &note.parts))?;
    ctx.db.read(|c| posts::find_by_uri(c, uri))
}

/// `Undo` of a boost; only the signer's own.
pub fn undo_announce(ctx: &Ctx, signer: &RemoteActor, inner: &Value) -> Result<()> {
    match id_of(inner) {
        Some(id) => undo_by_id(ctx, signer, id),
        None => Ok(()),
    }
}

/// Undoes whatever the signer did with this activity id: a like, a reaction or a boost.
pub fn undo_by_id(ctx: &Ctx, signer: &RemoteActor, activity_id: &str) -> Result<()> {
    ctx.db.write(|tx| {
        if let Some(post_id) = favourites::delete_by_activity(tx, activity_id, signer.id)? {
            return notifications::delete_matching(tx, "favourite", signer.id, Some(post_id));
        }
        if let Some(post_id) = favourites::delete_reaction(tx, activity_id, signer.id)? {
            return notifications::delete_matching(tx, "reaction", signer.id, Some(post_id));
        }
        if let Some(boost) = posts::find_by_uri(tx, activity_id)?
            && boost.actor_id == Some(signer.id)
            && boost.reblog_of_id.is_some()
        {
            notifications::delete_matching(tx, "reblog", signer.id, boost.reblog_of_id)?;
            posts::delete(tx, boost.id)?;
        }
        Ok(())
    })
}

/// `Flag`: kept as a report for the owner.
pub fn handle_flag(ctx: &Ctx, signer: &RemoteActor, activity: &Value) -> Result<()> {
    let Some(activity_id) = activity.get("id").and_then(Value::as_str) else {
        return Ok(());
    };
    let objects = ids(activity.get("object"));
    let content = crate::text::clean_plain(
        activity
            .get("content")
            .and_then(Value::as_str)
            .unwrap_or(""),
        5000,
    );
    let now = db::now_ms();
    let objects_json = serde_json::to_string(&objects).unwrap_or_else(|_| "[]".into());
    ctx.db.write(|tx| {
        if favourites::insert_report(tx, signer.id, activity_id, &content, &objects_json, now)?
            .is_some()
        {
            notifications::insert(tx, "report", signer.id, None, Some(activity_id), now)?;
        }
        Ok(())
    })
}

/// Likes a post; remote posts get a `Like`.
pub fn like(ctx: &Ctx, post_id: i64) -> Result<()> {
    let now = db::now_ms();
    ctx.db.write(|tx| {
        let post = posts::get(tx, post_id)?;
        let id = activity_id(ctx, "likes");
        if !favourites::insert(tx, post_id, None, &id, now)? {
            return Ok(());
        }
        if let Some(author) = author_of(tx, &post)? {
            queue(
                tx,
                &outbox::build_like(&ctx.config, &id, &post.uri, &author.uri),
                std::slice::from_ref(&author.inbox),
                false,
                now,
            )?;
        }
        Ok(())
    })?;
    ctx.wake.delivery();
    Ok(())
}

/// Takes a like back with `Undo(Like)`.
pub fn unlike(ctx: &Ctx, post_id: i64) -> Result<()> {
    let now = db::now_ms();
    ctx.db.write(|tx| {
        let post = posts::get(tx, post_id)?;
        let Some(like_id) = favourites::delete(tx, post_id, None)? else {
            return Ok(());
        };
        if let Some(author) = author_of(tx, &post)? {
            let inner = outbox::build_like(&ctx.config, &like_id, &post.uri, &author.uri);
            let undo = outbox::build_undo(
                &ctx.config,
                &format!("{like_id}/undo"),
                inner,
                std::slice::from_ref(&author.uri),
            );
            queue(tx, &undo, std::slice::from_ref(&author.inbox), false, now)?;
        }
        Ok(())
    })?;
    ctx.wake.delivery();
    Ok(())
}

/// Boosts a public or unlisted post; returns the boost.
pub fn boost(ctx: &Ctx, post_id: i64) -> Result<Post> {
    let now = db::now_ms();
    let (boost, created) = ctx.db.write(|tx| {
        let post = posts::get(tx, post_id)?;
        if post.deleted_at.is_some()
            || !matches!(post.visibility.as_str(), "public" | "unlisted")
            || post.reblog_of_id.is_some()
        {
            return Err(Error::Unprocessable("this post cannot be boosted".into()));
        }
        if let Some(existing) = posts::find_reblog(tx, None, post_id)? {
            return Ok((existing, false));
        }
        let id = crate::ids::at(now);
        let uri = format!("{}/statuses/{id}/activity", ctx.config.actor_url());
        let author_uri = author_of(tx, &post)?
            .map(|a| a.uri)
            .unwrap_or_else(|| ctx.config.actor_url());
        let announce = outbox::build_announce(
            &ctx.config,
            &uri,
            &post.uri,
            &author_uri,
            &crate::dates::iso8601(now),
        );
        let boost = Post {
            id,
            uri,
            kind: "Announce".into(),
            visibility: "public".into(),
            reblog_of_id: Some(post_id),
            audience_json: serde_json::to_string(&[crate::ap::PUBLIC.to_string(), author_uri])?,
            published_at: now,
            ..Post::default()
        };
        posts::insert(tx, &boost, &Parts::default())?;
        let mut inboxes = follows::follower_inboxes(tx)?;
        if let Some(author) = author_of(tx, &post)? {
            inboxes.push(author.inbox);
        }
        queue(tx, &announce, &inboxes, false, now)?;
        Ok((boost, true))
    })?;
    ctx.wake.delivery();
    if created {
        ctx.emit(Event::Posted(boost.id));
    }
    Ok(boost)
}

/// Takes a boost back with `Undo(Announce)`.
pub fn unboost(ctx: &Ctx, post_id: i64) -> Result<()> {
    match ctx.db.read(|c| posts::find_reblog(c, None, post_id))? {
        Some(boost) => unboost_post(ctx, &boost),
        None => Ok(()),
    }
}

/// Undoes a boost: deletes the row and sends `Undo(Announce)`.
pub(super) fn unboost_post(ctx: &Ctx, boost: &Post) -> Result<()> {
    let now = db::now_ms();
    ctx.db.write(|tx| {
        let Some(original_id) = boost.reblog_of_id else {
            return Ok(());
        };
        let original = posts::get(tx, original_id)?;
        let author_uri = author_of(tx, &original)?
            .map(|a| a.uri)
            .unwrap_or_else(|| ctx.config.actor_url());
        let inner = outbox::build_announce(
            &ctx.config,
            &boost.uri,
            &original.uri,
            &author_uri,
            &crate::dates::iso8601(boost.published_at),
        );
        let undo = outbox::build_undo(
            &ctx.config,
            &format!("{}/undo", boost.uri),
            inner,
            &[crate::ap::PUBLIC.to_string()],
        );
        let mut inboxes = follows::follower_inboxes(tx)?;
        if let Some(author) = author_of(tx, &original)? {
            inboxes.push(author.inbox);
        }
        posts::delete(tx, boost.id)?;
        queue(tx, &undo, &inboxes, false, now)
    })?;
    ctx.wake.delivery();
    ctx.emit(Event::Deleted(boost.id));
    Ok(())
}
