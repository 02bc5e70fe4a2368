//! Search for the owner: an `@user@host` handle or a profile URL is looked up on the
//! network and opens that account's page (with follow and its posts); a post URL is
//! fetched and opens its thread; `#tag` opens the hashtag page; other words match the
//! accounts and hashtags kith already knows.

use super::render::View;
use super::session::Viewer;
use crate::ap::resolve;
use crate::ctx::Ctx;
use crate::db;
use crate::error::{Error, Result};
use crate::http::{Req, Resp};
use maud::{Markup, html};

/// What a search found on the network.
pub enum Found {
    Account(i64),
    Post(i64),
}

/// Looks a handle or URL up (stored first, then the network): an account or a post.
pub fn lookup(ctx: &Ctx, q: &str) -> Result<Found> {
    let q = q.trim();
    if q.starts_with("https://") || q.starts_with("http://") {
        if let Some(p) = ctx.db.read(|c| db::posts::find_by_uri(c, q))? {
            return Ok(Found::Post(p.id));
        }
        if let Some(a) = ctx.db.read(|c| db::actors::find_by_uri(c, q))? {
            return Ok(Found::Account(a.id));
        }
        return match resolve::actor(ctx, q) {
            Ok(a) => Ok(Found::Account(a.id)),
            Err(actor_err) => match crate::process::remote_posts::resolve_post(ctx, q) {
                Ok(p) => Ok(Found::Post(p.id)),
                Err(_) => Err(actor_err),
            },
        };
    }
    let actor = resolve::by_url_or_handle(ctx, q)?;
    Ok(Found::Account(actor.id))
}

/// Why a look-up found nothing, in words: a network failure is not shown raw ("io:
/// failed to lookup address information") but as what it means for the search.
fn not_found(q: &str, e: &Error) -> String {
    let why = match e {
        Error::Network {
            transient: true, ..
        } => "its server could not be reached. Check the address, or try again later.".to_string(),
        Error::Network { .. } => {
            "kith could not get an account or a post from that address. Check it.".to_string()
        }
        Error::Gone(_) => "that account or post has been deleted.".to_string(),
        Error::RateLimited { .. } | Error::Busy => "kith is busy. Try again shortly.".to_string(),
        other => other.public_message(),
    };
    format!("Nothing found for {q}: {why}")
}

fn form(q: &str) -> Markup {
    html! {
        form.search method="get" action="/search" role="search" {
            label for="q" { "Search by @user@host, profile or post URL, #hashtag or name" }
            div.row {
                input #q type="search" name="q" value=(q) required spellcheck="false" autocomplete="off";
                button type="submit" { "Search" }
            }
        }
    }
}

/// `GET /search?q=…`.
pub fn show(ctx: &Ctx, req: &Req, viewer: &Viewer) -> Result<Resp> {
    let q = req.query_param("q").unwrap_or_default();
    let q = q.trim();
    let is_handle = resolve::split_handle(q).is_some();
    let own = format!("{}@{}", ctx.config.username, ctx.config.domain);
    if q.trim_start_matches('@').eq_ignore_ascii_case(&own) {
        return Ok(Resp::redirect(303, "/"));
    }
    if let Some(tag) = q
        .strip_prefix('#')
        .filter(|t| !t.is_empty() && !t.contains(' '))
    {
        let mut path = String::from("/tags/");
        path.extend(url::form_urlencoded::byte_serialize(tag.as_bytes()));
        return Ok(Resp::redirect(303, &path));
    }
    let mut error = None;
    if is_handle || q.starts_with("https://") || q.starts_with("http://") {
        match lookup(ctx, q) {
            Ok(Found::Account(id)) => return Ok(Resp::redirect(303, &format!("/accounts/{id}"))),
            Ok(Found::Post(id)) => return Ok(Resp::redirect(303, &format!("/posts/{id}"))),
            Err(e @ (Error::Internal(_) | Error::Db(_) | Error::Io(_) | Error::Busy)) => {
                return Err(e);
            }
            Err(e) => error = Some(not_found(q, &e)),
        }
    }
    let markup = View::read(ctx, req, Some(viewer), |view| {
        let conn = view.conn;
        let (actors, tags) = if q.is_empty() || error.is_some() {
            (Vec::new(), Vec::new())
        } else {
            (
                db::actors::search(conn, q, 20)?,
                db::pages::tags_starting(conn, q, 20)?,
            )
        };
        let body = html! {
            h1 { "Search" }
            (form(q))
            @if let Some(e) = &error { p.error role="alert" { (e) } }
            @if !q.is_empty() && error.is_none() {
                section aria-labelledby="accounts-h" {
                    h2 #accounts-h { "Accounts" }
                    @if actors.is_empty() { p.empty { "No known account matches. Try @user@host." } }
                    ul.people {
                        @for a in &actors {
                            @let who = view.remote_author(a);
                            li.person {
                                a.who href=(who.href) {
                                    img.avatar.small src=(who.avatar) alt="" width="48" height="48" loading="lazy";
                                    span.names { span.name { (who.name) } " " span.acct { (who.acct) } }
                                }
                            }
                        }
                    }
                }
                section aria-labelledby="tags-h" {
                    h2 #tags-h { "Hashtags" }
                    @if tags.is_empty() { p.empty { "No hashtag matches." } }
                    ul.tags {
                        @for t in &tags {
                            li { a href=(format!("/tags/{}", url::form_urlencoded::byte_serialize(t.as_bytes()).collect::<String>())) { "#" (t) } }
                        }
                    }
                }
            }
        };
        Ok(super::layout::frame(Some(viewer), "Search", html! {}, body))
    })?;
    Ok(super::layout::respond(
        if error.is_some() { 404 } else { 200 },
        markup,
    ))
}
