//! The owner's buttons on a post: like, boost, bookmark, pin and their undoing, and
//! deleting (after a confirmation page, so it works without JavaScript). Each is a
//! CSRF-checked form post (checked in `web::form`) that calls `process` and goes back.

use super::render::{View, hidden};
use super::session::Viewer;
use crate::ctx::Ctx;
use crate::db::{self, posts};
use crate::error::{Error, Result};
use crate::http::params::Params;
use crate::http::{Req, Resp};
use crate::process;
use maud::html;

fn post_id(id: &str) -> Result<i64> {
    id.parse()
        .map_err(|_| Error::NotFound("No such post".into()))
}

/// `POST /posts/:id/:action`.
pub fn post_action(ctx: &Ctx, p: &Params, id: &str, action: &str) -> Result<Resp> {
    let id = post_id(id)?;
    let post = ctx
        .db
        .read(|c| posts::find(c, id))?
        .filter(|p| p.deleted_at.is_none())
        .ok_or_else(|| Error::NotFound("No such post".into()))?;
    let now = db::now_ms();
    let fragment = format!("#post-{id}");
    match action {
        "like" => process::like(ctx, id)?,
        "unlike" => process::unlike(ctx, id)?,
        "boost" => {
            process::boost(ctx, id)?;
        }
        "unboost" => process::unboost(ctx, id)?,
        "bookmark" | "unbookmark" => ctx
            .db
            .write(|tx| posts::set_bookmarked(tx, id, action == "bookmark", now))?,
        "pin" | "unpin" => {
            if !post.is_local() || !matches!(post.visibility.as_str(), "public" | "unlisted") {
                return Err(Error::Unprocessable(
                    "Only your own public posts can be pinned".into(),
                ));
            }
            ctx.db
                .write(|tx| posts::set_pinned(tx, id, (action == "pin").then_some(now)))?;
        }
        "delete" => {
            process::delete_post(ctx, id)?;
            return Ok(super::back(p, "/home"));
        }
        _ => return Err(Error::NotFound("Not found".into())),
    }
    let back = p.str("back")?.unwrap_or_else(|| "/home".into());
    let target = super::session::local_path(Some(&back), "/home");
    let target = if target.contains('#') {
        target
    } else {
        format!("{target}{fragment}")
    };
    Ok(Resp::redirect(303, &target))
}

/// `GET /posts/:id/delete`: asks before deleting an own post.
pub fn confirm_delete(ctx: &Ctx, req: &Req, viewer: &Viewer, id: &str) -> Result<Resp> {
    let id = post_id(id)?;
    let back = req.target();
    let markup = ctx.db.read(|conn| {
        let post = posts::find(conn, id)?
            .filter(|p| p.is_local() && p.deleted_at.is_none())
            .ok_or_else(|| Error::NotFound("No such post".into()))?;
        let account = crate::db::account::get(conn)?;
        let view = View {
            ctx,
            conn,
            viewer: Some(viewer),
            account: &account,
            back: &back,
        };
        let body = html! {
            h1 { "Delete this post?" }
            (view.post_without_controls(&post)?)
            p { "It is removed here and a deletion goes to every server that received it." }
            form method="post" action=(format!("/posts/{id}/delete")) {
                (hidden(viewer, "/home"))
                button.danger type="submit" { "Delete" }
                " "
                a href=(view.post_href(&post)) { "Cancel" }
            }
        };
        Ok(super::layout::frame(
            Some(viewer),
            "Delete post",
            html! {},
            body,
        ))
    })?;
    Ok(super::layout::respond(200, markup))
}
