//! Logging in and out of the web UI. The password is the one from the first run or
//! `kith passwd`; failed attempts count against the login rate limit that OAuth's
//! authorize form shares (per client address, with growing delays; SECURITY 49, 50, 70).

use super::layout;
use super::session::{self, Viewer};
use crate::auth::{check_login_limits, password_ok, record_failed_login};
use crate::ctx::Ctx;
use crate::error::Result;
use crate::http::params::Params;
use crate::http::{Req, Resp};
use maud::html;

/// A redirect of a visitor to the login form, coming back to this page afterwards.
pub fn to_login(req: &Req) -> Resp {
    let mut target = String::from("/login?next=");
    target.extend(url::form_urlencoded::byte_serialize(
        req.target().as_bytes(),
    ));
    Resp::redirect(303, &target)
}

fn page(ctx: &Ctx, next: &str, error: Option<&str>, status: u16) -> Resp {
    let handle = format!("@{}@{}", ctx.config.username, ctx.config.domain);
    let body = html! {
        section.narrow {
            h1 { "Log in" }
            p { "Log in as " strong { (handle) } "." }
            @if let Some(e) = error { p.error role="alert" { (e) } }
            form method="post" action="/login" {
                input type="hidden" name="csrf" value=(session::login_form_token(ctx));
                input type="hidden" name="next" value=(next);
                label for="password" { "Password" }
                input #password type="password" name="password" autocomplete="current-password" required autofocus;
                button type="submit" { "Log in" }
            }
        }
    };
    layout::respond(status, layout::page("Log in", html! {}, body))
}

/// `GET /login`: the form (the owner, already logged in, goes on at once).
pub fn form(ctx: &Ctx, req: &Req, viewer: Option<&Viewer>) -> Result<Resp> {
    let next = session::local_path(req.query_param("next").as_deref(), "/home");
    if viewer.is_some() {
        return Ok(Resp::redirect(303, &next));
    }
    Ok(page(ctx, &next, None, 200))
}

/// `POST /login`: checks the limits, the form token and the password; starts a session.
pub fn submit(ctx: &Ctx, req: &Req) -> Result<Resp> {
    check_login_limits(ctx, req)?;
    let p = Params::from_request(req)?;
    let next = session::local_path(p.str("next")?.as_deref(), "/home");
    if !session::login_form_token_ok(ctx, &p.str("csrf")?.unwrap_or_default()) {
        return Ok(page(
            ctx,
            &next,
            Some("The form had expired; please try again."),
            403,
        ));
    }
    if !password_ok(ctx, &p.str("password")?.unwrap_or_default())? {
        record_failed_login(ctx, req);
        return Ok(page(ctx, &next, Some("That password is not right."), 401));
    }
    crate::auth::record_login(ctx, req);
    let cookie = session::start(ctx, req)?;
    Ok(Resp::redirect(303, &next)
        .with_header("Set-Cookie", &cookie)
        .with_header("Cache-Control", "no-store"))
}

/// `POST /logout`: ends this session and clears the cookie.
pub fn logout(ctx: &Ctx, viewer: &Viewer) -> Result<Resp> {
    let cookie = session::end(ctx, viewer)?;
    Ok(Resp::redirect(303, "/").with_header("Set-Cookie", &cookie))
}
