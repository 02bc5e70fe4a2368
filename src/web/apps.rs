//! The apps the owner authorized through OAuth (phone and desktop clients), with when
//! each last got a token, and revoking one: all its tokens stop working at once and
//! its open streams close (and its push subscriptions go). Below them, the apps that
//! receive push notifications: which push service, which alerts, from whom.

use super::render::{button, when};
use super::session::Viewer;
use crate::ctx::Ctx;
use crate::db::{self, oauth, tokens};
use crate::error::Result;
use crate::http::{Req, Resp};
use maud::html;

/// `GET /settings/apps`.
pub fn show(ctx: &Ctx, req: &Req, viewer: &Viewer) -> Result<Resp> {
    let apps = ctx.db.read(oauth::list_authorized_apps)?;
    let offset = ctx.db.read(db::account::get)?.time_offset_minutes;
    let pushes = ctx.db.read(db::push::list_with_apps)?;
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
        h2 { "Push notifications" }
        @if pushes.is_empty() { p.empty { "No app receives push notifications." } }
        ul.apps.push {
            @for (name, s) in &pushes {
                li {
                    div {
                        strong { (name.as_deref().unwrap_or("A token made with kith token")) }
                        " · " (push_host(&s.endpoint))
                        p.hint { "Alerts: " (alerts_on(&s.alerts)) ". From: " (policy_text(&s.policy)) "." }
                    }
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

/// The push service's host, as the owner would recognise it.
fn push_host(endpoint: &str) -> String {
    url::Url::parse(endpoint)
        .ok()
        .and_then(|u| u.host_str().map(str::to_string))
        .unwrap_or_else(|| endpoint.to_string())
}

/// The alerts a subscription turned on, comma-separated, or "none".
fn alerts_on(alerts: &str) -> String {
    let on: Vec<&str> = crate::push::ALERTS
        .iter()
        .copied()
        .filter(|a| crate::push::alerted(alerts, a))
        .collect();
    if on.is_empty() {
        "none".into()
    } else {
        on.join(", ")
    }
}

fn policy_text(policy: &str) -> &'static str {
    match policy {
        "all" => "everyone",
        "followed" => "accounts you follow",
        "follower" => "your followers",
        _ => "nobody",
    }
}
