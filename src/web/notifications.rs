//! The owner's notifications: follows, follow requests (accept or reject right
//! there), mentions, replies, likes, boosts, reactions, reports, edits and moves,
//! newest first with paging. Showing a page marks what it shows as read. The owner's
//! own posts appear there without their buttons; others' posts keep Reply and Like.

use super::render::{View, button, pager};
use super::session::Viewer;
use crate::ctx::Ctx;
use crate::db::{self, notifications};
use crate::error::Result;
use crate::http::{Req, Resp};
use maud::{Markup, html};

const PAGE: i64 = 30;

fn verb(kind: &str) -> &'static str {
    match kind {
        "follow" => "followed you",
        "follow_request" => "asked to follow you",
        "mention" => "mentioned you",
        "reply" => "replied to you",
        "favourite" => "liked your post",
        "reblog" => "boosted your post",
        "reaction" => "reacted to your post",
        "report" => "reported",
        "update" => "edited a post you interacted with",
        "move" => "moved to a new account",
        "poll" => "'s poll has ended",
        _ => "did something",
    }
}

/// `GET /notifications`.
pub fn show(ctx: &Ctx, req: &Req, viewer: &Viewer) -> Result<Resp> {
    let max_id = super::max_id(req);
    let (markup, unread_up_to) = View::read(ctx, req, Some(viewer), |view| {
        let conn = view.conn;
        let list = notifications::list(conn, max_id, None, None, PAGE)?;
        let unread_up_to = list
            .iter()
            .filter(|n| n.read_at.is_none())
            .map(|n| n.id)
            .max();
        let items = list
            .iter()
            .map(|n| item(view, viewer, n))
            .collect::<Result<Vec<_>>>()?;
        let body = html! {
            h1 { "Notifications" }
            @if items.is_empty() { p.empty { "No notifications yet." } }
            ol.notifications { @for i in items { (i) } }
            (pager("/notifications", max_id.is_none(), list.last().map(|n| n.id), list.len() as i64 == PAGE))
        };
        Ok((
            super::layout::frame(Some(viewer), "Notifications", html! {}, body),
            unread_up_to,
        ))
    })?;
    if let Some(up_to) = unread_up_to {
        let now = db::now_ms();
        ctx.db
            .write(|tx| notifications::mark_read(tx, up_to, now))?;
    }
    Ok(super::layout::respond(200, markup))
}

fn item(view: &View, viewer: &Viewer, n: &notifications::Notification) -> Result<Markup> {
    let actor = db::actors::get(view.conn, n.actor_id)?;
    let who = view.remote_author(&actor);
    let post = match n.post_id {
        Some(id) => db::posts::find(view.conn, id)?.filter(|p| p.deleted_at.is_none()),
        None => None,
    };
    let pending = n.kind == "follow_request"
        && db::follows::find(view.conn, false, actor.id)?.is_some_and(|f| !f.accepted);
    Ok(html! {
        li.notification.unread[n.read_at.is_none()] {
            p.what {
                img.avatar.tiny src=(who.avatar) alt="" width="32" height="32" loading="lazy";
                a href=(who.href) { (who.name) } " " span.acct { (who.acct) } " " (verb(&n.kind))
                " · " (super::render::when(n.created_at, view.account.time_offset_minutes))
            }
            @if pending {
                div.actions {
                    (button(viewer, view.back, &format!("/accounts/{}/accept", actor.id), "Accept", false))
                    (button(viewer, view.back, &format!("/accounts/{}/reject", actor.id), "Reject", false))
                }
            }
            // The owner's own post (liked, boosted, replied to) is shown without its
            // buttons: Edit and Delete belong on the post itself, not on every card.
            @if let Some(p) = &post {
                @if p.is_local() && p.reblog_of_id.is_none() { (view.post_without_controls(p)?) }
                @else { (view.post(p, false)?) }
            }
        }
    })
}
