//! The owner's scheduled posts (`/scheduled`, linked from the compose form): each with
//! its time, text and audience, a form to move its time and a button to cancel it.
//! Scheduling happens in the compose form; what it does is `process::scheduled`'s.

use super::render::{View, hidden};
use super::session::Viewer;
use crate::ctx::Ctx;
use crate::error::{Error, Result};
use crate::http::params::Params;
use crate::http::{Req, Resp};
use crate::process::scheduled;
use maud::html;

/// Scheduled posts shown at most (kith allows no more than this many anyway).
const LIMIT: i64 = scheduled::MAX_SCHEDULED;

/// `GET /scheduled`.
pub fn show(ctx: &Ctx, req: &Req, viewer: &Viewer) -> Result<Resp> {
    let markup = View::read(ctx, req, Some(viewer), |view| {
        let waiting = crate::db::scheduled::list_by_time(view.conn, LIMIT)?;
        let body = html! {
            h1 { "Scheduled posts" }
            p.hint { "Each is published at its time, as if you posted it then. Times are in your time zone (UTC without JavaScript)." }
            p { a href="/compose" { "Write a post" } }
            @if waiting.is_empty() { p.empty { "Nothing is scheduled." } }
            ol.scheduled {
                @for s in &waiting {
                    @let draft = scheduled::draft_of(s);
                    li.scheduled-post {
                        p.when {
                            time datetime=(crate::dates::iso8601(s.scheduled_at)) { (crate::dates::iso8601(s.scheduled_at)) }
                            " · " (draft.visibility)
                            @if !s.media_ids.is_empty() { " · " (s.media_ids.len()) " image(s)" }
                        }
                        @if !draft.spoiler_text.is_empty() { p.cw { "Content warning: " (draft.spoiler_text) } }
                        p.text { (draft.text) }
                        form.inline method="post" action=(format!("/scheduled/{}/move", s.id)) {
                            (hidden(viewer, "/scheduled"))
                            label for=(format!("when-{}", s.id)) { "New time" }
                            input id=(format!("when-{}", s.id)) type="datetime-local" name="scheduled_at" required
                                value=(crate::dates::local_input(s.scheduled_at))
                                data-utc=(crate::dates::iso8601(s.scheduled_at));
                            input type="hidden" name="schedule_offset" value="0";
                            button type="submit" { "Move" }
                        }
                        form.inline method="post" action=(format!("/scheduled/{}/delete", s.id)) {
                            (hidden(viewer, "/scheduled"))
                            button type="submit" { "Delete" }
                        }
                    }
                }
            }
        };
        Ok(super::layout::frame(
            Some(viewer),
            "Scheduled posts",
            super::layout::compose_script(),
            body,
        ))
    })?;
    Ok(super::layout::respond(200, markup))
}

/// `POST /scheduled/:id/move` and `/scheduled/:id/delete`.
pub fn act(ctx: &Ctx, p: &Params, id: &str, action: &str) -> Result<Resp> {
    let id: i64 = id
        .parse()
        .map_err(|_| Error::NotFound("No such scheduled post".into()))?;
    let missing = |e: Error| match e {
        Error::NotFound(_) => Error::NotFound("No such scheduled post".into()),
        e => e,
    };
    match action {
        "move" => {
            let at = super::compose::schedule_of(p)?
                .ok_or_else(|| Error::Unprocessable("Give the new date and time".into()))?;
            scheduled::get(ctx, id).map_err(missing)?;
            scheduled::reschedule(ctx, id, at)?;
        }
        "delete" => scheduled::cancel(ctx, id).map_err(missing)?,
        _ => return Err(Error::NotFound("Not found".into())),
    }
    Ok(super::back(p, "/scheduled"))
}
