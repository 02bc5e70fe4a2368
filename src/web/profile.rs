//! The public profile page `/@USER` (also `/` for visitors): header image, avatar,
//! name, bio, profile fields with `rel="me"` links, counts, feed links, the "follow
//! from your own server" form, pinned posts, then posts and boosts newest first with
//! paging. Visitors see public and unlisted posts; the owner also followers-only ones.

use super::render::{View, own_avatar, pager};
use super::session::Viewer;
use crate::ctx::Ctx;
use crate::db::account::Account;
use crate::db::{follows, pages};
use crate::error::Result;
use crate::http::{Req, Resp};
use maud::{Markup, PreEscaped, html};

/// Posts on one page of a profile.
pub const PAGE: i64 = 20;

/// Renders the profile page of the local account.
pub fn show(ctx: &Ctx, req: &Req, viewer: Option<&Viewer>) -> Result<Resp> {
    if crate::ap::wants_activity_json(req.header("accept")) {
        let account = ctx.db.read(crate::db::account::get)?;
        let doc = crate::ap::actor::build_person(&ctx.config, &account);
        return Ok(Resp::json_as(200, crate::ap::CONTENT_TYPE, &doc).with_header("Vary", "Accept"));
    }
    let max_id = super::max_id(req);
    let path = format!("/@{}", ctx.config.username);
    let markup = View::read(ctx, req, viewer, |view| {
        let conn = view.conn;
        let account = view.account;
        let list = pages::list_profile(conn, viewer.is_some(), max_id, PAGE)?;
        let pinned = if max_id.is_none() {
            pages::list_pinned_public(conn)?
        } else {
            Vec::new()
        };
        let (followers, following) = follows::counts(conn)?;
        let count = pages::count_own_posts(conn)?;
        let body = html! {
            (header(ctx, account, viewer, (count, following, followers)))
            @if !pinned.is_empty() {
                section.pinned aria-labelledby="pinned-h" {
                    h2 #pinned-h { "Pinned" }
                    (view.posts(&pinned, "")?)
                }
            }
            section aria-labelledby="posts-h" {
                h2 #posts-h.visually-hidden { "Posts" }
                (view.posts(&list, "No posts yet.")?)
                (pager(&path, max_id.is_none(), list.last().map(|p| p.id), list.len() as i64 == PAGE))
            }
        };
        let name = super::render::display_name(&account.display_name, &account.username);
        let title = format!("{name} (@{}@{})", account.username, ctx.config.domain);
        Ok(super::layout::frame(
            viewer,
            &title,
            head(ctx, account, name),
            body,
        ))
    })?;
    Ok(super::layout::respond(200, markup).with_header("Vary", "Accept, Cookie"))
}

fn head(ctx: &Ctx, account: &Account, name: &str) -> Markup {
    let config = &ctx.config;
    let profile = format!("{}/@{}", config.public_url, account.username);
    let description = crate::text::html_to_text(&account.note_html);
    html! {
        link rel="alternate" type="application/activity+json" href=(config.actor_url());
        link rel="alternate" type="application/rss+xml" title="RSS" href=(format!("{profile}.rss"));
        link rel="alternate" type="application/atom+xml" title="Atom" href=(format!("{profile}.atom"));
        link rel="canonical" href=(profile);
        meta name="description" content=(description);
        meta property="og:site_name" content=(config.domain);
        meta property="og:title" content=(name);
        meta property="og:type" content="profile";
        meta property="og:url" content=(profile);
        meta property="og:description" content=(description);
        meta property="og:image" content=(crate::media::avatar_url(ctx, account));
        meta property="profile:username" content=(format!("{}@{}", account.username, config.domain));
    }
}

/// A profile field: its name and kith-rendered value, links marked `rel="me"`.
fn fields(account: &Account) -> Vec<(String, String)> {
    serde_json::from_str::<Vec<serde_json::Value>>(&account.fields_json)
        .unwrap_or_default()
        .iter()
        .map(|f| {
            let name = f["name"].as_str().unwrap_or_default().to_string();
            // value_html is kith's own rendering of the owner's text (every byte escaped,
            // links with this exact rel); marking them rel="me" lets other sites verify.
            let value = f["value_html"].as_str().unwrap_or_default().replace(
                "rel=\"nofollow noopener noreferrer\"",
                "rel=\"me nofollow noopener noreferrer\"",
            );
            (name, value)
        })
        .collect()
}

fn header(
    ctx: &Ctx,
    account: &Account,
    viewer: Option<&Viewer>,
    (count, following, followers): (i64, i64, i64),
) -> Markup {
    let config = &ctx.config;
    let name = super::render::display_name(&account.display_name, &account.username);
    let handle = format!("@{}@{}", account.username, config.domain);
    let header_src = super::render::media_src(ctx, &crate::media::header_url(ctx, account));
    html! {
        article.profile {
            img.banner src=(header_src) alt="" width="600" height="200";
            header {
                img.avatar src=(own_avatar(ctx, account)) alt=(format!("Avatar of {name}")) width="96" height="96";
                div {
                    h1 { (name) }
                    p.handle { (handle) }
                    @if account.locked { p.tag { "Approves followers" } }
                }
            }
            @if let Some(url) = &account.moved_to {
                p.moved { "This account has moved to " a href=(url) { (url) } "." }
            }
            @if !account.note_html.is_empty() {
                // note_html is produced by kith's own text renderer, never taken from outside.
                div.bio { (PreEscaped(&account.note_html)) }
            }
            @let fields = fields(account);
            @if !fields.is_empty() {
                dl.fields {
                    @for (n, v) in &fields { dt { (n) } dd { (PreEscaped(v)) } }
                }
            }
            ul.counts {
                li { strong { (count) } " posts" }
                li { strong { (following) } " following" }
                li { strong { (followers) } " followers" }
            }
            p.feeds {
                "Feeds: "
                a href=(format!("/@{}.rss", account.username)) { "RSS" }
                " · "
                a href=(format!("/@{}.atom", account.username)) { "Atom" }
            }
            @if viewer.is_some() {
                p { a.button href="/settings" { "Edit profile" } }
            } @else {
                form.remote-follow method="get" action="/remote_follow" {
                    label for="acct" { "Follow " (handle) " from your own server" }
                    div.row {
                        input #acct type="text" name="acct" placeholder="you@your.server" required
                            autocomplete="username" inputmode="email" spellcheck="false";
                        button type="submit" { "Follow" }
                    }
                }
            }
        }
    }
}
