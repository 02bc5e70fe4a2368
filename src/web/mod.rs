//! The HTML face of kith: public pages (profile, posts, hashtags, feeds, remote
//! interaction) and the owner's pages behind a login (timeline, notifications,
//! compose, people, search, settings, import and export). Pages are rendered with maud (auto-escaping)
//! and served with a strict CSP; every state-changing form carries a CSRF token that
//! [`form`] checks before any handler runs. This file is the web route table.

pub mod actions;
pub mod apps;
pub mod authorize;

pub mod compose;
pub mod doctor;
pub mod export;
pub mod feeds;
pub mod interaction;
pub mod layout;
pub mod login;
pub mod moderation;
pub mod moving;
pub mod notifications;
pub mod people;
pub mod portability;
pub mod post;
pub mod profile;
pub mod remote_counts;
pub mod render;
pub mod scheduled;
pub mod search;
pub mod session;
pub mod settings;
pub mod timeline;

use crate::ctx::Ctx;
use crate::error::{Error, Result};
use crate::http::params::Params;
use crate::http::{Req, Resp};
use session::Viewer;

/// Answers a request of the web face (`segments` is the path split on `/`).
pub fn route(ctx: &Ctx, req: &Req, method: &str, segments: &[&str]) -> Result<Resp> {
    let viewer = session::current(ctx, req)?;
    let v = viewer.as_ref();
    let user = ctx.config.username.as_str();
    let resp = match (method, segments) {
        // Public pages.
        ("GET", [""]) => match v {
            Some(v) => timeline::home(ctx, req, v),
            None => profile::show(ctx, req, None),
        },
        ("GET", [at]) if at.starts_with('@') => match feeds::split(&at[1..]) {
            (name, Some(kind)) if name.eq_ignore_ascii_case(user) => feeds::serve(ctx, kind),
            (name, None) if name.eq_ignore_ascii_case(user) => profile::show(ctx, req, v),
            _ => Err(Error::NotFound("No such account".into())),
        },
        ("GET", [at, id]) if at.starts_with('@') && at[1..].eq_ignore_ascii_case(user) => {
            post::show(ctx, req, v, id)
        }
        ("GET", ["tags", tag]) => timeline::tag(ctx, req, v, tag),
        ("POST", ["tags", tag, action @ ("follow" | "unfollow")]) => form(ctx, req, v)
            .and_then(|(_, p)| timeline::tag_follow(ctx, &p, tag, *action == "follow")),
        ("GET", ["remote_follow"]) => interaction::remote_follow(ctx, req),
        ("GET", ["authorize_interaction"]) => owner(req, v, |v| interaction::show(ctx, req, v)),
        ("GET", ["login"]) => login::form(ctx, req, v),
        ("POST", ["login"]) => login::submit(ctx, req),
        ("POST", ["logout"]) => form(ctx, req, v).and_then(|(v, _)| login::logout(ctx, &v)),
        // The owner's pages.
        ("GET", ["home"]) => owner(req, v, |v| timeline::home(ctx, req, v)),
        ("GET", ["bookmarks"]) => owner(req, v, |v| timeline::bookmarks(ctx, req, v)),
        ("GET", ["notifications"]) => owner(req, v, |v| notifications::show(ctx, req, v)),
        ("GET", ["compose"]) => owner(req, v, |v| compose::show(ctx, req, v)),
        ("POST", ["compose"]) => form(ctx, req, v).and_then(|(v, p)| compose::submit(ctx, &v, &p)),
        ("GET", ["scheduled"]) => owner(req, v, |v| scheduled::show(ctx, req, v)),
        ("POST", ["scheduled", id, action]) => {
            form(ctx, req, v).and_then(|(_, p)| scheduled::act(ctx, &p, id, action))
        }
        ("GET", ["posts", id]) => owner(req, v, |v| post::thread(ctx, req, v, id)),
        ("GET", ["posts", id, "edit"]) => owner(req, v, |v| compose::edit_form(ctx, req, v, id)),
        ("POST", ["posts", id, "edit"]) => {
            form(ctx, req, v).and_then(|(v, p)| compose::edit_submit(ctx, &v, &p, id))
        }
        ("GET", ["posts", id, "delete"]) => {
            owner(req, v, |v| actions::confirm_delete(ctx, req, v, id))
        }
        ("POST", ["posts", id, action]) => {
            form(ctx, req, v).and_then(|(_, p)| actions::post_action(ctx, &p, id, action))
        }
        ("GET", ["search"]) => owner(req, v, |v| search::show(ctx, req, v)),
        ("GET", ["people"]) => owner(req, v, |v| people::show(ctx, req, v)),
        ("POST", ["people", "follow"]) => {
            form(ctx, req, v).and_then(|(_, p)| people::follow(ctx, &p))
        }
        ("GET", ["accounts", id]) => owner(req, v, |v| people::account(ctx, req, v, id)),
        ("POST", ["accounts", id, action]) => {
            form(ctx, req, v).and_then(|(_, p)| people::act(ctx, &p, id, action))
        }
        ("GET", ["settings"]) => owner(req, v, |v| settings::show(ctx, req, v, None)),
        ("GET", ["settings", "moderation"]) => owner(req, v, |v| moderation::show(ctx, req, v)),
        ("GET", ["settings", "apps"]) => owner(req, v, |v| apps::show(ctx, req, v)),
        ("GET", ["settings", "doctor"]) => owner(req, v, |v| doctor::show(ctx, v)),
        // Import, export and moving away (the command line's portability actions).
        ("GET", ["settings", "data"]) => owner(req, v, |v| portability::show(ctx, v, None)),
        ("POST", ["settings", "import", "csv"]) => {
            form(ctx, req, v).and_then(|(v, p)| portability::import_csv(ctx, &v, &p))
        }
        ("POST", ["settings", "import", "archive"]) => portability::import_archive(ctx, req, v),
        ("POST", ["settings", "import", "fetch"]) => {
            form(ctx, req, v).and_then(|(v, _)| portability::fetch_waiting(ctx, &v))
        }
        ("POST", ["settings", "export"]) => form(ctx, req, v).and_then(|_| export::archive(ctx)),
        ("GET", ["settings", "export", name]) => owner(req, v, |_| export::csv_file(ctx, name)),
        ("POST", ["settings", "move"]) => {
            form(ctx, req, v).and_then(|(v, p)| moving::confirm(ctx, req, &v, &p))
        }
        ("POST", ["settings", "move", "confirm"]) => {
            form(ctx, req, v).and_then(|(v, p)| moving::perform(ctx, req, &v, &p))
        }
        ("POST", ["settings", section]) => {
            form(ctx, req, v).and_then(|(v, p)| settings::submit(ctx, req, &v, &p, section))
        }
        ("POST", ["settings", section, item]) => {
            form(ctx, req, v).and_then(|(_, p)| moderation::item_action(ctx, &p, section, item))
        }
        _ => Err(Error::NotFound("Not found".into())),
    }?;
    Ok(if viewer.is_some() {
        // Pages for the owner carry CSRF tokens and private data: no cache keeps them.
        resp.with_header("Cache-Control", "private, no-store")
    } else {
        resp
    })
}

/// Runs an owner page, or sends a visitor to the login form (coming back afterwards).
fn owner(
    req: &Req,
    viewer: Option<&Viewer>,
    page: impl FnOnce(&Viewer) -> Result<Resp>,
) -> Result<Resp> {
    match viewer {
        Some(v) => page(v),
        None => Ok(login::to_login(req)),
    }
}

/// The owner and the parameters of a form post whose CSRF token checks out.
/// Anything else is refused with 403 before a handler runs, so nothing changes.
fn form(ctx: &Ctx, req: &Req, viewer: Option<&Viewer>) -> Result<(Viewer, Params)> {
    let Some(v) = viewer else {
        return Err(Error::Forbidden(
            "You are not logged in (or your session ended); log in and try again".into(),
        ));
    };
    let p = Params::from_request(req)?;
    let token = p.str("csrf")?.unwrap_or_default();
    if !session::csrf_ok(ctx, v, &token) {
        return Err(Error::Forbidden(
            "This form has expired; go back, reload the page and try again".into(),
        ));
    }
    Ok((v.clone(), p))
}

/// Whether an error refuses what the owner asked for (bad input, another server's
/// answer) and is shown on the form's page, rather than kith's own failure.
pub fn is_refusal(e: &Error) -> bool {
    matches!(
        e,
        Error::Status(..)
            | Error::Unprocessable(_)
            | Error::Gone(_)
            | Error::Conflict(_)
            | Error::NotFound(_)
            | Error::BadRequest(_)
            | Error::Forbidden(_)
            | Error::Network { .. }
            | Error::PrivateAddress(_)
    )
}

/// The `max_id` paging parameter, when it is a number.
pub fn max_id(req: &Req) -> Option<i64> {
    req.query_param("max_id").and_then(|s| s.parse().ok())
}

/// The 303 answer to a form: back to the local path the form named, or `default`.
pub fn back(p: &Params, default: &str) -> Resp {
    let candidate = p.str("back").ok().flatten();
    Resp::redirect(303, &session::local_path(candidate.as_deref(), default))
}
