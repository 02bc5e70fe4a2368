//! Timelines (home, public, hashtag, list, direct conversations), notifications
//! (with type filters, one, dismiss, clear) and markers.

use super::{auth, entities, ok, page, paged, path_id, views};
use crate::ctx::Ctx;
use crate::db::timelines::{self, Timeline};
use crate::db::{self, markers, notifications};
use crate::error::{Error, Result};
use crate::http::params::Params;
use crate::http::{Req, Resp};
use crate::visibility::Viewer;
use serde_json::{Value, json};

/// Routes under `/api/v1/timelines`, `notifications`, `markers` and `conversations`.
pub fn route(ctx: &Ctx, req: &Req, method: &str, rest: &[&str]) -> Result<Resp> {
    match (method, rest) {
        ("GET", ["timelines", "home"]) => timeline(ctx, req, Timeline::Home, true),
        ("GET", ["timelines", "public"]) => {
            let p = Params::from_request(req)?;
            let local = if p.bool("local")?.unwrap_or(false) {
                Some(true)
            } else if p.bool("remote")?.unwrap_or(false) {
                Some(false)
            } else {
                None
            };
            timeline(ctx, req, Timeline::Public(local), false)
        }
        ("GET", ["timelines", "tag", tag]) => {
            timeline(ctx, req, Timeline::Tag(tag.to_string()), false)
        }
        ("GET", ["timelines", "list", id]) => {
            let id = path_id(id)?;
            auth::require(ctx, req, "read:lists")?;
            // An unknown list is a 404, not an empty timeline.
            ctx.db.read(|c| crate::db::lists::get(c, id))?;
            timeline(ctx, req, Timeline::List(id), true)
        }
        ("GET", ["timelines", "direct"]) | ("GET", ["conversations"]) => {
            conversations(ctx, req, rest[0] == "timelines")
        }
        ("POST", ["conversations", id, "read"]) => conversation_read(ctx, req, id),
        ("DELETE", ["conversations", id]) => conversation_remove(ctx, req, id),
        ("GET", ["notifications"]) => notifications_list(ctx, req),
        ("GET" | "PATCH" | "PUT", ["notifications", "policy"]) => {
            super::notifications::policy_v1(ctx, req, method)
        }
        (_, ["notifications", "requests", ..]) => {
            super::notifications::route_requests(ctx, req, method, rest)
        }
        ("GET", ["notifications", "unread_count"]) => {
            auth::require(ctx, req, "read:notifications")?;
            ok(json!({"count": ctx.db.read(notifications::count_unread)?}))
        }
        ("GET", ["notifications", id]) => notification(ctx, req, id),
        ("POST", ["notifications", "clear"]) => {
            auth::require(ctx, req, "write:notifications")?;
            ctx.db.write(notifications::clear)?;
            ok(json!({}))
        }
        ("POST", ["notifications", id, "dismiss"]) => {
            auth::require(ctx, req, "write:notifications")?;
            let id = path_id(id)?;
            ctx.db.write(|tx| {
                // Dismissing an unknown notification is a 404, as in Mastodon.
                notifications::find(tx, id)?
                    .ok_or_else(|| Error::NotFound("Record not found".into()))?;
                notifications::delete(tx, id)
            })?;
            ok(json!({}))
        }
        ("GET", ["markers"]) => get_markers(ctx, req),
        ("POST", ["markers"]) => set_markers(ctx, req),
        _ => Err(Error::NotFound("Not found".into())),
    }
}

fn filter_context(t: &Timeline) -> &'static str {
    match t {
        Timeline::Home | Timeline::List(_) => "home",
        Timeline::Account { .. } => "account",
        _ => "public",
    }
}

fn timeline(ctx: &Ctx, req: &Req, t: Timeline, private: bool) -> Result<Resp> {
    let viewer = if private {
        auth::require(ctx, req, "read:statuses")?;
        Viewer::Owner
    } else {
        auth::viewer(ctx, req)?
    };
    let p = Params::from_request(req)?;
    let pg = page(&p, super::MAX_LIMIT)?;
    let me = ctx.config.actor_url();
    let (statuses, ids) = ctx.db.read(|c| {
        let list = timelines::list(c, &t, pg, &me)?;
        let ids: Vec<i64> = list.iter().map(|p| p.id).collect();
        Ok((views::statuses(ctx, c, &list, &viewer)?, ids))
    })?;
    let shown = super::lists::apply(ctx, filter_context(&t), statuses)?;
    Ok(paged(ctx, req, shown, &ids))
}

fn conversations(ctx: &Ctx, req: &Req, as_timeline: bool) -> Result<Resp> {
    auth::require(ctx, req, "read:statuses")?;
    let p = Params::from_request(req)?;
    let pg = page(&p, super::MAX_LIMIT)?;
    let me = ctx.config.actor_url();
    ctx.db.read(|c| {
        let list = timelines::list(c, &Timeline::Direct, pg, &me)?;
        let ids: Vec<i64> = list.iter().map(|p| p.id).collect();
        let statuses = views::statuses(ctx, c, &list, &Viewer::Owner)?;
        if as_timeline {
            return Ok(paged(ctx, req, statuses, &ids));
        }
        let mut items = Vec::new();
        for s in statuses {
            let hidden = s["id"]
                .as_str()
                .and_then(|id| id.parse().ok())
                .map(|id| db::reports::is_hidden(c, id))
                .transpose()?
                .unwrap_or(false);
            if !hidden {
                items.push(conversation_json(s));
            }
        }
        Ok(paged(ctx, req, items, &ids))
    })
}

/// A `Conversation`: one direct post and the other account in it. kith shows each
/// direct post as its own conversation, read once listed.
fn conversation_json(s: Value) -> Value {
    let accounts = if s["account"]["id"] == entities::LOCAL_ACCOUNT_ID {
        json!([])
    } else {
        json!([s["account"]])
    };
    json!({"id": s["id"], "unread": false, "accounts": accounts, "last_status": s})
}

/// The direct post a conversation id names, unless it was removed from the list.
fn conversation_post(c: &db::Conn, id: &str) -> Result<db::posts::Post> {
    let id = path_id(id)?;
    match db::posts::find(c, id)? {
        Some(p)
            if p.deleted_at.is_none()
                && p.visibility == "direct"
                && p.reblog_of_id.is_none()
                && !db::reports::is_hidden(c, id)? =>
        {
            Ok(p)
        }
        _ => Err(Error::NotFound("Record not found".into())),
    }
}

/// `POST /api/v1/conversations/:id/read`.
fn conversation_read(ctx: &Ctx, req: &Req, id: &str) -> Result<Resp> {
    auth::require(ctx, req, "write:conversations")?;
    ctx.db.read(|c| {
        let post = conversation_post(c, id)?;
        ok(conversation_json(views::status(
            ctx,
            c,
            &post,
            &Viewer::Owner,
        )?))
    })
}

/// `DELETE /api/v1/conversations/:id`: removes it from the list (the posts stay).
fn conversation_remove(ctx: &Ctx, req: &Req, id: &str) -> Result<Resp> {
    auth::require(ctx, req, "write:conversations")?;
    let now = db::now_ms();
    ctx.db.write(|tx| {
        let post = conversation_post(tx, id)?;
        db::reports::hide_conversation(tx, post.id, now)
    })?;
    ok(json!({}))
}

/// The stored kinds matching Mastodon notification types.
pub(super) fn kinds_for(types: &[String]) -> Vec<String> {
    let all = [
        "follow",
        "follow_request",
        "mention",
        "reply",
        "favourite",
        "reaction",
        "reblog",
        "report",
        "update",
        "move",
        "poll",
    ];
    all.iter()
        .filter(|k| types.iter().any(|t| t == entities::notification_type(k)))
        .map(|k| k.to_string())
        .collect()
}

fn notifications_list(ctx: &Ctx, req: &Req) -> Result<Resp> {
    auth::require(ctx, req, "read:notifications")?;
    let p = Params::from_request(req)?;
    let pg = page(&p, 80)?;
    let types = p.list("types")?;
    let exclude = p.list("exclude_types")?;
    let mut kinds: Option<Vec<String>> = (!types.is_empty()).then(|| kinds_for(&types));
    if !exclude.is_empty() {
        let excluded = kinds_for(&exclude);
        let base = kinds.unwrap_or_else(|| {
            kinds_for(
                &[
                    "follow",
                    "follow_request",
                    "mention",
                    "favourite",
                    "reblog",
                    "admin.report",
                    "update",
                    "move",
                    "poll",
                ]
                .map(String::from),
            )
        });
        kinds = Some(base.into_iter().filter(|k| !excluded.contains(k)).collect());
    }
    ctx.db.read(|c| {
        let list = notifications::page(
            c,
            pg.max_id,
            pg.since_id,
            pg.min_id,
            kinds.as_deref(),
            pg.limit,
        )?;
        let items = list
            .iter()
            .map(|n| views::notification(ctx, c, n))
            .collect::<Result<Vec<_>>>()?;
        let ids: Vec<i64> = list.iter().map(|n| n.id).collect();
        Ok(paged(ctx, req, items, &ids))
    })
}

fn notification(ctx: &Ctx, req: &Req, id: &str) -> Result<Resp> {
    auth::require(ctx, req, "read:notifications")?;
    let id = path_id(id)?;
    ctx.db.read(|c| {
        let n = notifications::find(c, id)?
            .ok_or_else(|| Error::NotFound("Record not found".into()))?;
        ok(views::notification(ctx, c, &n)?)
    })
}

fn marker_json(m: &markers::Marker) -> Value {
    json!({"last_read_id": m.1, "version": m.2, "updated_at": crate::dates::mastodon(m.3)})
}

fn get_markers(ctx: &Ctx, req: &Req) -> Result<Resp> {
    auth::require(ctx, req, "read:statuses")?;
    let p = Params::from_request(req)?;
    let mut wanted = p.list("timeline")?;
    if wanted.is_empty() {
        wanted = vec!["home".into(), "notifications".into()];
    }
    let found = ctx.db.read(|c| markers::list(c, &wanted))?;
    let mut out = serde_json::Map::new();
    for m in &found {
        out.insert(m.0.clone(), marker_json(m));
    }
    ok(Value::Object(out))
}

fn set_markers(ctx: &Ctx, req: &Req) -> Result<Resp> {
    auth::require(ctx, req, "write:statuses")?;
    let p = Params::from_request(req)?;
    let now = db::now_ms();
    for timeline in ["home", "notifications"] {
        let Some(inner) = p.nested(timeline) else {
            continue;
        };
        let id = inner.required("last_read_id")?;
        let numeric: i64 = id
            .parse()
            .map_err(|_| Error::Unprocessable("Validation failed: last_read_id".into()))?;
        ctx.db.write(|tx| {
            markers::set(tx, timeline, &id, now)?;
            if timeline == "notifications" {
                notifications::mark_read(tx, numeric, now)?;
            }
            Ok(())
        })?;
    }
    get_markers(ctx, req)
}
