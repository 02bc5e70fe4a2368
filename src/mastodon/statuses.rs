//! Statuses: posting (form or JSON, with media, polls, replies and an
//! Idempotency-Key), reading with visibility rules, deleting, editing and history,
//! thread contexts (fetching missing remote ancestors), likes, boosts, bookmarks,
//! pins, polls, bookmark and favourite lists, and search.

use super::{auth, ok, page, paged, path_id, views};
use crate::ctx::Ctx;
use crate::db::posts::{self, Post};
use crate::db::timelines::{self, Timeline};
use crate::db::{self};
use crate::error::{Error, Result};
use crate::http::params::Params;
use crate::http::{Req, Resp};
use crate::process::{self, Draft, DraftPoll};
use crate::visibility::{self, Viewer};
use serde_json::{Value, json};

/// Routes under `/api/v1/statuses`, `polls`, `bookmarks` and `favourites`.
pub fn route(ctx: &Ctx, req: &Req, method: &str, rest: &[&str]) -> Result<Resp> {
    match (method, rest) {
        ("POST", ["statuses"]) => create(ctx, req),
        ("GET", ["statuses", id]) => show(ctx, req, id),
        ("DELETE", ["statuses", id]) => delete(ctx, req, id),
        ("PUT", ["statuses", id]) => edit(ctx, req, id),
        ("GET", ["statuses", id, "context"]) => context(ctx, req, id),
        ("GET", ["statuses", id, "history"]) => history(ctx, req, id),
        ("GET", ["statuses", id, "source"]) => source(ctx, req, id),
        ("GET", ["statuses", id, "card"]) => card(ctx, req, id),
        ("GET", ["statuses", id, who @ ("favourited_by" | "reblogged_by")]) => {
            reactors(ctx, req, id, *who == "reblogged_by")
        }
        ("POST", ["statuses", id, action]) => act(ctx, req, id, action),
        ("GET", ["polls", id]) => poll(ctx, req, id),
        ("POST", ["polls", id, "votes"]) => vote(ctx, req, id),
        ("GET", ["bookmarks"]) => listed(ctx, req, Timeline::Bookmarks, "read:bookmarks"),
        ("GET", ["favourites"]) => listed(ctx, req, Timeline::Favourites, "read:favourites"),
        _ => Err(Error::NotFound("Not found".into())),
    }
}

fn draft_from(p: &Params) -> Result<Draft> {
    let poll = match p.nested("poll") {
        Some(poll) => Some(DraftPoll {
            options: poll.list("options")?,
            expires_in_secs: poll.int("expires_in")?.unwrap_or(86_400),
            multiple: poll.bool("multiple")?.unwrap_or(false),
        }),
        None => None,
    };
    let media_ids = p
        .list("media_ids")?
        .iter()
        .map(|s| {
            s.parse::<i64>().map_err(|_| {
                Error::Unprocessable("Validation failed: media_ids must be ids".into())
            })
        })
        .collect::<Result<Vec<_>>>()?;
    Ok(Draft {
        text: p.str("status")?.unwrap_or_default(),
        spoiler_text: p.str("spoiler_text")?.unwrap_or_default(),
        sensitive: p.bool("sensitive")?.unwrap_or(false),
        visibility: p
            .str("visibility")?
            .filter(|v| !v.is_empty())
            .unwrap_or_else(|| "public".into()),
        language: p
            .str("language")?
            .filter(|l| !l.is_empty() && l.len() <= 16),
        in_reply_to_id: p.id("in_reply_to_id")?,
        poll,
        media_ids,
    })
}

fn create(ctx: &Ctx, req: &Req) -> Result<Resp> {
    let who = auth::require(ctx, req, "write:statuses")?;
    let p = Params::from_request(req)?;
    let key = req
        .header("idempotency-key")
        .map(|k| k.chars().take(200).collect::<String>());
    if let Some(at) = p.str("scheduled_at")?.filter(|v| !v.is_empty()) {
        // A post for later: stored, not published (process::scheduled).
        let at = super::scheduled::parse_time(&at)?;
        let draft = draft_from(&p)?;
        let s = process::scheduled::schedule(ctx, &draft, at, who.app_id, key.as_deref())?;
        return ok(super::scheduled::entity(ctx, &s)?);
    }
    if let Some(k) = &key
        && let Some(post_id) = ctx.db.read(|c| posts::find_idempotent(c, k))?
    {
        return ok(ctx
            .db
            .read(|c| views::status(ctx, c, &posts::get(c, post_id)?, &Viewer::Owner))?);
    }
    let draft = draft_from(&p)?;
    let post = process::create_post(ctx, &draft)?;
    if let Some(k) = &key {
        let now = db::now_ms();
        ctx.db
            .write(|tx| posts::remember_idempotent(tx, k, post.id, now))?;
    }
    ok(ctx
        .db
        .read(|c| views::status(ctx, c, &post, &Viewer::Owner))?)
}

/// The post with this id when the caller may see it (`crate::visibility`), with the caller.
fn find_visible(ctx: &Ctx, req: &Req, id: &str) -> Result<(Post, Viewer)> {
    let id = path_id(id)?;
    let viewer = auth::viewer(ctx, req)?;
    let post = ctx
        .db
        .read(|c| match posts::find(c, id)? {
            Some(p) if visibility::may_see(c, &viewer, &p)? => Ok(Some(p)),
            _ => Ok(None),
        })?
        .ok_or_else(|| Error::NotFound("Record not found".into()))?;
    Ok((post, viewer))
}

fn show(ctx: &Ctx, req: &Req, id: &str) -> Result<Resp> {
    let (post, viewer) = find_visible(ctx, req, id)?;
    ok(ctx.db.read(|c| views::status(ctx, c, &post, &viewer))?)
}

fn delete(ctx: &Ctx, req: &Req, id: &str) -> Result<Resp> {
    auth::require(ctx, req, "write:statuses")?;
    let id = path_id(id)?;
    let before = ctx.db.read(|c| {
        let post = posts::get(c, id)?;
        if !post.is_local() || post.deleted_at.is_some() {
            return Err(Error::NotFound("Record not found".into()));
        }
        views::status(ctx, c, &post, &Viewer::Owner)
    })?;
    process::delete_post(ctx, id)?;
    ok(before)
}

fn edit(ctx: &Ctx, req: &Req, id: &str) -> Result<Resp> {
    auth::require(ctx, req, "write:statuses")?;
    let p = Params::from_request(req)?;
    let draft = draft_from(&p)?;
    let post = process::edit_post(ctx, path_id(id)?, &draft)?;
    ok(ctx
        .db
        .read(|c| views::status(ctx, c, &post, &Viewer::Owner))?)
}

fn context(ctx: &Ctx, req: &Req, id: &str) -> Result<Resp> {
    let (post, viewer) = find_visible(ctx, req, id)?;
    if viewer.is_owner()
        && let Some(parent) = &post.in_reply_to_uri
    {
        let mut budget = crate::process::remote_posts::Budget::new();
        if let Err(e) =
            crate::process::remote_posts::fetch_ancestors(ctx, parent, &post.uri, &mut budget)
        {
            eprintln!("context: ancestors of {} not fetched: {e}", post.uri);
        }
    }
    let (ancestors, descendants) = ctx.db.read(|c| {
        let mut ancestors = Vec::new();
        let mut next = post.in_reply_to_uri.clone();
        while let Some(uri) = next.take() {
            let Some(parent) = posts::find_by_uri(c, &uri)? else {
                break;
            };
            if ancestors.len() >= 40 || !visibility::may_see(c, &viewer, &parent)? {
                break;
            }
            next = parent.in_reply_to_uri.clone();
            ancestors.push(parent);
        }
        ancestors.reverse();
        let mut descendants = Vec::new();
        let mut queue = vec![post.uri.clone()];
        while let Some(uri) = queue.pop() {
            for child in timelines::replies(c, &uri, 60)? {
                if descendants.len() >= 60 || !visibility::may_see(c, &viewer, &child)? {
                    continue;
                }
                queue.push(child.uri.clone());
                descendants.push(child);
            }
        }
        descendants.sort_by_key(|p| p.id);
        Ok((ancestors, descendants))
    })?;
    if viewer.is_owner() {
        let thread: Vec<&Post> = ancestors
            .iter()
            .chain(&descendants)
            .chain([&post])
            .collect();
        crate::cards::request_missing(ctx, &thread);
    }
    ctx.db.read(|c| {
        ok(json!({
            "ancestors": views::statuses(ctx, c, &ancestors, &viewer)?,
            "descendants": views::statuses(ctx, c, &descendants, &viewer)?,
        }))
    })
}

fn history(ctx: &Ctx, req: &Req, id: &str) -> Result<Resp> {
    let (post, viewer) = find_visible(ctx, req, id)?;
    ctx.db.read(|c| {
        let account = views::author(ctx, c, post.actor_id)?;
        let mut versions: Vec<Value> = posts::list_edits(c, post.id)?
            .into_iter()
            .map(|(content, spoiler, sensitive, at)| {
                json!({"content": content, "spoiler_text": spoiler, "sensitive": sensitive,
                       "created_at": crate::dates::mastodon(at), "account": account, "media_attachments": [], "emojis": []})
            })
            .collect();
        let current = views::status(ctx, c, &post, &viewer)?;
        versions.push(json!({
            "content": post.content_html, "spoiler_text": post.spoiler_text, "sensitive": post.sensitive,
            "created_at": crate::dates::mastodon(post.edited_at.unwrap_or(post.published_at)),
            "account": account, "media_attachments": current["media_attachments"], "emojis": [], "poll": current["poll"],
        }));
        ok(Value::Array(versions))
    })
}

fn source(ctx: &Ctx, req: &Req, id: &str) -> Result<Resp> {
    auth::require(ctx, req, "read:statuses")?;
    let (post, _) = find_visible(ctx, req, id)?;
    ok(
        json!({"id": post.id.to_string(), "text": post.source_text.unwrap_or_default(), "spoiler_text": post.spoiler_text}),
    )
}

/// `GET /api/v1/statuses/:id/card`: the post's `PreviewCard`, or `{}` when it has none
/// (as Mastodon answered); 404 when the caller may not see the post.
fn card(ctx: &Ctx, req: &Req, id: &str) -> Result<Resp> {
    let (post, _) = find_visible(ctx, req, id)?;
    let card = ctx.db.read(|c| views::card(ctx, c, post.id))?;
    ok(card.unwrap_or_else(|| json!({})))
}

fn reactors(ctx: &Ctx, req: &Req, id: &str, boosts: bool) -> Result<Resp> {
    let (post, viewer) = find_visible(ctx, req, id)?;
    ctx.db.read(|c| {
        let ids = posts::list_reactors(c, post.id, boosts, !viewer.is_owner())?;
        let items = ids
            .iter()
            .map(|a| views::remote_account(ctx, c, &db::actors::get(c, *a)?))
            .collect::<Result<Vec<_>>>()?;
        ok(Value::Array(items))
    })
}

fn act(ctx: &Ctx, req: &Req, id: &str, action: &str) -> Result<Resp> {
    let scope = match action {
        "favourite" | "unfavourite" => "write:favourites",
        "bookmark" | "unbookmark" => "write:bookmarks",
        "mute" | "unmute" => "write:mutes",
        "reblog" | "unreblog" | "pin" | "unpin" => "write:statuses",
        _ => return Err(Error::NotFound("Not found".into())),
    };
    auth::require(ctx, req, scope)?;
    let (post, viewer) = find_visible(ctx, req, id)?;
    let now = db::now_ms();
    match action {
        "favourite" => process::like(ctx, post.id)?,
        "unfavourite" => process::unlike(ctx, post.id)?,
        "reblog" => {
            let boost = process::boost(ctx, post.id)?;
            return ok(ctx.db.read(|c| views::status(ctx, c, &boost, &viewer))?);
        }
        "unreblog" => process::unboost(ctx, post.id)?,
        "bookmark" | "unbookmark" => ctx
            .db
            .write(|tx| posts::set_bookmarked(tx, post.id, action == "bookmark", now))?,
        "pin" | "unpin" => {
            if !post.is_local()
                || post.reblog_of_id.is_some()
                || !matches!(post.visibility.as_str(), "public" | "unlisted")
            {
                return Err(Error::Unprocessable(
                    "Validation failed: only your own public posts can be pinned".into(),
                ));
            }
            ctx.db
                .write(|tx| posts::set_pinned(tx, post.id, (action == "pin").then_some(now)))?;
        }
        _ => {}
    }
    ok(ctx
        .db
        .read(|c| views::status(ctx, c, &posts::get(c, post.id)?, &viewer))?)
}

fn poll(ctx: &Ctx, req: &Req, id: &str) -> Result<Resp> {
    let (post, viewer) = find_visible(ctx, req, id)?;
    let status = ctx.db.read(|c| views::status(ctx, c, &post, &viewer))?;
    if status["poll"].is_null() {
        return Err(Error::NotFound("Record not found".into()));
    }
    ok(status["poll"].clone())
}

fn vote(ctx: &Ctx, req: &Req, id: &str) -> Result<Resp> {
    auth::require(ctx, req, "write:statuses")?;
    let (post, _) = find_visible(ctx, req, id)?;
    let p = Params::from_request(req)?;
    let choices = p
        .list("choices")?
        .iter()
        .map(|c| {
            c.parse::<usize>().map_err(|_| {
                Error::Unprocessable("Validation failed: choices must be numbers".into())
            })
        })
        .collect::<Result<Vec<_>>>()?;
    process::vote(ctx, post.id, &choices)?;
    poll(ctx, req, id)
}

fn listed(ctx: &Ctx, req: &Req, t: Timeline, scope: &str) -> Result<Resp> {
    auth::require(ctx, req, scope)?;
    let p = Params::from_request(req)?;
    let pg = page(&p, super::MAX_LIMIT)?;
    let me = ctx.config.actor_url();
    ctx.db.read(|c| {
        let list = timelines::list(c, &t, pg, &me)?;
        let ids: Vec<i64> = list.iter().map(|p| p.id).collect();
        Ok(paged(
            ctx,
            req,
            views::statuses(ctx, c, &list, &Viewer::Owner)?,
            &ids,
        ))
    })
}

/// `GET /api/v2/search`: accounts, statuses and hashtags; `resolve=true` looks up
/// `@user@host` and post URLs on the network.
pub fn search(ctx: &Ctx, req: &Req) -> Result<Resp> {
    // Only the owner searches posts or makes kith fetch from the network; an app's own
    // (client_credentials) token is treated like an anonymous caller.
    let owner = auth::optional(ctx, req)?
        .is_some_and(|a| !a.app_only && auth::covers(&a.scopes, "read:search"));
    let p = Params::from_request(req)?;
    let q = p.required("q")?;
    let kind = p.str("type")?;
    let limit = p.int("limit")?.unwrap_or(20).clamp(1, 40);
    let resolve = p.bool("resolve")?.unwrap_or(false) && owner;
    let want = |k: &str| kind.as_deref().is_none_or(|t| t == k);
    let accounts = if want("accounts") {
        super::accounts::find_accounts(ctx, &q, resolve, limit as usize)?
    } else {
        vec![]
    };
    let mut statuses = Vec::new();
    if want("statuses") {
        if resolve && (q.starts_with("https://") || q.starts_with("http://")) {
            if let Ok(post) = crate::process::remote_posts::resolve_post(ctx, &q) {
                statuses.push(
                    ctx.db
                        .read(|c| views::status(ctx, c, &post, &Viewer::Owner))?,
                );
            }
        } else if owner {
            let found = ctx.db.read(|c| posts::search(c, &q, limit))?;
            statuses = ctx
                .db
                .read(|c| views::statuses(ctx, c, &found, &Viewer::Owner))?;
        }
    }
    let hashtags: Vec<Value> = if want("hashtags") {
        let q = q.trim_start_matches('#');
        ctx.db
            .read(|c| posts::search_tags(c, q, limit, !owner))?
            .iter()
            .map(|t| super::entities::tag(&ctx.config, t, false))
            .collect()
    } else {
        vec![]
    };
    ok(json!({"accounts": accounts, "statuses": statuses, "hashtags": hashtags}))
}
