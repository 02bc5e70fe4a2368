//! The boosts, likes and bookmarks of an import (an archive's `outbox.json` boosts,
//! `likes.json` and `bookmarks.json`, or a CSV of bookmarks), kept by the URL of their
//! post: each post is found on kith (imported, or stored before) or fetched, and the
//! boost, favourite or bookmark is then recorded as the owner's. A post that cannot be
//! fetched stays open with its error, for the next run to retry.

use super::import::{Options, Report};
use super::progress;
use crate::ctx::Ctx;
use crate::db::posts::{Parts, Post};
use crate::db::{self, portability, posts};
use crate::error::{Error, Result};

/// Finds or fetches the posts of open boosts, likes and bookmarks, one at a time.
pub fn resolve_refs(ctx: &Ctx, opts: &Options, report: &mut Report) -> Result<()> {
    let total = ctx.db.read(portability::count_open_refs)? as u64;
    let mut after: Option<(String, String)> = None;
    let mut done = 0;
    loop {
        let page = ctx.db.read(|c| {
            portability::list_open_refs(
                c,
                after.as_ref().map(|(k, u)| (k.as_str(), u.as_str())),
                100,
            )
        })?;
        let Some(last) = page.last() else {
            break;
        };
        after = Some((last.kind.clone(), last.object_uri.clone()));
        for r in &page {
            let outcome = resolve_one(ctx, r);
            let error = outcome.as_ref().err().map(|e| e.to_string());
            let now = db::now_ms();
            ctx.db.write(|tx| {
                portability::update_ref(tx, &r.kind, &r.object_uri, error.as_deref(), now)
            })?;
            if outcome.is_ok() {
                report.refs_resolved += 1;
            }
            done += 1;
            if opts.progress && (done % 100 == 0 || done == total) {
                progress("import: boosts, likes and bookmarks", done, total);
            }
        }
    }
    Ok(())
}

/// The post at `uri` (an archive id of an imported post, a stored post, or one fetched now).
pub fn find_or_fetch_post(ctx: &Ctx, uri: &str) -> Result<Post> {
    let found = ctx.db.read(|c| {
        if let Some(id) = portability::find_imported(c, uri)? {
            return posts::find(c, id);
        }
        posts::find_by_uri(c, uri)
    })?;
    if let Some(post) = found.filter(|p| p.deleted_at.is_none()) {
        return Ok(post);
    }
    if crate::ap::resolve::is_local(ctx, uri) {
        return Err(Error::NotFound(format!("{uri} is not a post here")));
    }
    let mut budget = crate::process::remote_posts::Budget::new();
    let object = crate::process::remote_posts::fetch_object(ctx, uri, &mut budget)?;
    crate::process::remote_posts::store_fetched(ctx, &object, &mut budget)?;
    ctx.db
        .read(|c| posts::find_by_uri(c, uri))?
        .ok_or_else(|| Error::NotFound(format!("{uri} could not be stored")))
}

fn resolve_one(ctx: &Ctx, r: &portability::ImportRef) -> Result<()> {
    let post = find_or_fetch_post(ctx, &r.object_uri)?;
    let now = db::now_ms();
    ctx.db.write(|tx| match r.kind.as_str() {
        "boost" => {
            if post.reblog_of_id.is_some()
                || !matches!(post.visibility.as_str(), "public" | "unlisted")
            {
                return Err(Error::Status(422, "this post cannot be boosted".into()));
            }
            if posts::find_reblog(tx, None, post.id)?.is_some() {
                return Ok(());
            }
            let id = portability::free_post_id(tx, r.published_at)?;
            let author = match post.actor_id {
                Some(a) => db::actors::get(tx, a)?.uri,
                None => ctx.config.actor_url(),
            };
            let boost = Post {
                id,
                uri: format!("{}/statuses/{id}/activity", ctx.config.actor_url()),
                kind: "Announce".into(),
                visibility: "public".into(),
                reblog_of_id: Some(post.id),
                audience_json: serde_json::to_string(&[crate::ap::PUBLIC.to_string(), author])?,
                published_at: r.published_at,
                ..Post::default()
            };
            posts::insert(tx, &boost, &Parts::default())?;
            if let Some(source) = &r.source_uri
                && portability::find_imported(tx, source)?.is_none()
            {
                portability::insert_imported(tx, source, id)?;
            }
            Ok(())
        }
        "like" => {
            let id = crate::process::activity_id(ctx, "likes");
            db::favourites::insert(tx, post.id, None, &id, now).map(|_| ())
        }
        _ => posts::set_bookmarked(tx, post.id, true, now),
    })
}
