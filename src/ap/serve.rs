//! What kith serves to other servers besides the actor: the outbox, followers,
//! following and featured collections, and each post (and its activity) at its own
//! URL. Who sees what is `crate::visibility`'s call: followers-only and direct posts go
//! only to a signed request from an actor in their audience; others get 404. Deleted
//! posts answer 410 with a `Tombstone`.

use crate::ap::CONTENT_TYPE;
use crate::ap::note::build_note;
use crate::ap::outbox::{
    build_announce, build_collection, build_collection_page, build_tombstone, wrap_object,
};
use crate::ctx::Ctx;
use crate::db::Conn;
use crate::db::{follows, posts};
use crate::error::{Error, Result};
use crate::http::{Req, Resp};
use crate::visibility::{self, Viewer};
use serde_json::{Value, json};

/// Items on one collection page.
const PAGE_SIZE: i64 = 20;

fn ap(value: &Value) -> Resp {
    Resp::json_as(200, CONTENT_TYPE, value).with_header("Vary", "Accept")
}

/// The note JSON of a stored post, local or remote, with its parts.
pub fn note_json(ctx: &Ctx, conn: &Conn, post: &posts::Post) -> Result<Value> {
    let parts = posts::Parts {
        mentions: posts::list_mentions(conn, post.id)?,
        tags: posts::list_tags(conn, post.id)?,
        attachments: posts::list_attachments(conn, post.id)?,
        poll: posts::find_poll(conn, post.id)?,
    };
    Ok(build_note(&ctx.config, post, &parts, None))
}

/// The activity that published a post: `Create` for notes, `Announce` for boosts.
fn activity_json(ctx: &Ctx, conn: &Conn, post: &posts::Post) -> Result<Value> {
    let published = crate::dates::iso8601(post.published_at);
    if let Some(original_id) = post.reblog_of_id {
        let original = posts::get(conn, original_id)?;
        let author = match original.actor_id {
            Some(a) => crate::db::actors::get(conn, a)?.uri,
            None => ctx.config.actor_url(),
        };
        return Ok(build_announce(
            &ctx.config,
            &post.uri,
            &original.uri,
            &author,
            &published,
        ));
    }
    let note = note_json(ctx, conn, post)?;
    Ok(wrap_object(
        &ctx.config,
        "Create",
        &format!("{}/activity", post.uri),
        note,
        Some(&published),
    ))
}

/// `GET /users/NAME/outbox`: the collection, or with `?page=true` a page of public activities.
pub fn outbox(ctx: &Ctx, req: &Req) -> Result<Resp> {
    let base = format!("{}/outbox", ctx.config.actor_url());
    if req.query_param("page").is_none() {
        let total = ctx.db.read(posts::count_local_public)?;
        return Ok(ap(&build_collection(
            &base,
            total,
            Some(format!("{base}?page=true")),
        )));
    }
    let max_id = req
        .query_param("max_id")
        .and_then(|v| v.parse::<i64>().ok());
    ctx.db.read(|c| {
        let read = posts::list_local_public(c, max_id, PAGE_SIZE)?;
        // The next page starts below what was read, whatever this page leaves out.
        let next = (read.len() as i64 == PAGE_SIZE)
            .then(|| {
                read.last()
                    .map(|p| format!("{base}?page=true&max_id={}", p.id))
            })
            .flatten();
        let public: Vec<posts::Post> = read
            .into_iter()
            .filter(|p| p.visibility == "public")
            .collect();
        let items = visibility::filter(c, &Viewer::Anonymous, public)?
            .iter()
            .map(|p| activity_json(ctx, c, p))
            .collect::<Result<Vec<_>>>()?;
        Ok(ap(&build_collection_page(
            &req_url(ctx, req),
            &base,
            items,
            next,
        )))
    })
}

fn req_url(ctx: &Ctx, req: &Req) -> String {
    format!("{}{}", ctx.config.public_url, req.target())
}

/// `GET /users/NAME/followers` or `/following`: counts, and pages of actor ids.
pub fn follow_collection(ctx: &Ctx, req: &Req, outgoing: bool) -> Result<Resp> {
    let base = format!(
        "{}/{}",
        ctx.config.actor_url(),
        if outgoing { "following" } else { "followers" }
    );
    let (followers, following) = ctx.db.read(follows::counts)?;
    let total = if outgoing { following } else { followers };
    let Some(page) = req
        .query_param("page")
        .and_then(|p| p.parse::<i64>().ok())
        .filter(|p| *p >= 1)
    else {
        return Ok(ap(&build_collection(
            &base,
            total,
            Some(format!("{base}?page=1")),
        )));
    };
    let before = req
        .query_param("before")
        .and_then(|v| v.parse::<i64>().ok());
    let rows = ctx
        .db
        .read(|c| follows::list(c, outgoing, true, before, PAGE_SIZE))?;
    let items: Vec<Value> = rows.iter().map(|(_, a)| json!(a.uri)).collect();
    let next = (rows.len() as i64 == PAGE_SIZE)
        .then(|| {
            rows.last()
                .map(|(f, _)| format!("{base}?page={}&before={}", page + 1, f.created_at))
        })
        .flatten();
    let mut doc = build_collection_page(&req_url(ctx, req), &base, items, next);
    doc["totalItems"] = json!(total);
    Ok(ap(&doc))
}

/// `GET /users/NAME/collections/featured`: the pinned public posts.
pub fn featured(ctx: &Ctx) -> Result<Resp> {
    let id = format!("{}/collections/featured", ctx.config.actor_url());
    ctx.db.read(|c| {
        let pinned = visibility::filter(c, &Viewer::Anonymous, posts::list_pinned(c)?)?;
        let items = pinned
            .iter()
            .map(|p| note_json(ctx, c, p))
            .collect::<Result<Vec<_>>>()?;
        let mut doc = build_collection(&id, items.len() as i64, None);
        doc["orderedItems"] = json!(items);
        Ok(ap(&doc))
    })
}

/// `GET /users/NAME/collections/tags`: the featured hashtags, as `Hashtag` objects.
pub fn featured_tags(ctx: &Ctx) -> Result<Resp> {
    let id = format!("{}/collections/tags", ctx.config.actor_url());
    let tags = ctx.db.read(crate::db::tags::featured)?;
    let items: Vec<Value> = tags
        .iter()
        .map(|t| {
            json!({
                "type": "Hashtag",
                "href": format!("{}/tags/{}", ctx.config.public_url, t.name.to_lowercase()),
                "name": format!("#{}", t.name),
            })
        })
        .collect();
    let mut doc = build_collection(&id, items.len() as i64, None);
    doc["orderedItems"] = json!(items);
    Ok(ap(&doc))
}

fn is_signed(req: &Req) -> bool {
    req.header("signature").is_some() || req.header("signature-input").is_some()
}

/// Whether the request may see a post (`crate::visibility`): a public or unlisted one
/// needs no signature, so none is verified for it; for the others the signer is the
/// viewer. A signature that does not verify is refused with 401 (SECURITY.md 12), so a
/// peer that double-knocks can retry with its other format.
fn may_see(ctx: &Ctx, req: &Req, post: &posts::Post) -> Result<bool> {
    let anybody = Viewer::Anonymous;
    if ctx.db.read(|c| visibility::may_see(c, &anybody, post))? {
        return Ok(true);
    }
    if !is_signed(req) {
        return Ok(false);
    }
    let signer = Viewer::remote(&crate::ap::inbox::verify_request(ctx, req)?);
    ctx.db.read(|c| visibility::may_see(c, &signer, post))
}

/// `GET /users/NAME/statuses/ID[/activity]` as ActivityPub JSON.
pub fn status(ctx: &Ctx, req: &Req, id: &str, activity: bool) -> Result<Resp> {
    let not_found = || Error::NotFound("Record not found".into());
    let post = match id.parse::<i64>() {
        Ok(id) => ctx
            .db
            .read(|c| posts::find(c, id))?
            .filter(|p| p.is_local()),
        Err(_) => None,
    };
    let Some(post) = post else {
        // A bad signature gets its 401 here too, so that a 401 does not tell which
        // ids are followers-only posts.
        if is_signed(req) {
            crate::ap::inbox::verify_request(ctx, req)?;
        }
        return Err(not_found());
    };
    if let Some(deleted) = post.deleted_at {
        let doc = build_tombstone(&post.uri, &crate::dates::iso8601(deleted));
        return Ok(Resp::json_as(410, CONTENT_TYPE, &doc));
    }
    // A boost lives at its activity URL only.
    if post.reblog_of_id.is_some() && !activity {
        return Err(not_found());
    }
    if !may_see(ctx, req, &post)? {
        return Err(not_found());
    }
    let doc = ctx.db.read(|c| {
        if activity {
            activity_json(ctx, c, &post)
        } else {
            note_json(ctx, c, &post)
        }
    })?;
    let resp = ap(&doc);
    Ok(
        if post.visibility == "public" || post.visibility == "unlisted" {
            resp.with_header("Cache-Control", "max-age=60, public")
        } else {
            resp.with_header("Cache-Control", "private, no-store")
        },
    )
}

/// The web address of a post for a browser asking for a post's ActivityPub URL.
pub fn status_page_redirect(ctx: &Ctx, id: &str) -> Resp {
    let url = format!("{}/@{}/{}", ctx.config.public_url, ctx.config.username, id);
    Resp::redirect(302, &url).with_header("Vary", "Accept")
}
