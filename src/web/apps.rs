//! The apps the owner authorized through OAuth (phone and desktop clients), with when
//! each last got a token, and revoking one: all its tokens stop working at once and
//! its open streams close.

use super::render::{button, when};
use super::session::Viewer;
use crate::Ctx;
use crate::db::{self, oauth, tokens};
use crate::error::Result;
use crate::http::{Req, Resp};
use maud::html;

/// `GET /settings/apps`.
pub fn show(ctx: &Ctx, req: &Req, viewer: &Viewer) -> Result<Resp> {
    let apps = ctx.db.read(oauth::list_authorized_apps)?;
    let offset = ctx.db.read(db::account::get)?.time_offset_minutes;
    let back = req.target();
    let body = html! {
        h1 { "Authorized apps" }
        (super::settings::tabs("/settings/apps"))
        @if apps.is_empty() { p.empty { "No app can use your account." } }
        ul.apps {
            @for (app, last) in &apps {
                li {
                    div {
                        strong { (app.name) }
                        @if let Some(w) = &app.website {
                            " · " a href=(w) rel="nofollow noopener noreferrer" { (w) }
                        }
                        p.hint { "Can: " (app.scopes) ". Last authorized " (when(*last, offset)) "." }
                    }
                    (button(viewer, &back, &format!("/settings/apps/{}", app.id), "Revoke", false))
                }
            }
        }
    };
    Ok(super::layout::respond(
        200,
        super::layout::frame(Some(viewer), "Authorized apps", html! {}, body),
    ))
}

/// Revokes every token of an app and closes its streams.
pub fn revoke(ctx: &Ctx, app_id: i64) -> Result<()> {
    let now = db::now_ms();
    let revoked = ctx.db.write(|tx| tokens::revoke_app(tx, app_id, now))?;
    for id in revoked {
        ctx.emit(crate::events::Event::TokenRevoked(id));
    }
    Ok(())
}
