//! The public profile page `/@USER` (also `/`): rendered from the database through
//! the template engine, so every string is escaped or comes from kith's own renderer.

use crate::Ctx;
use crate::db::account::Account;
use crate::error::Result;
use crate::http::Resp;
use maud::{PreEscaped, html};

/// Renders the profile page of the local account.
pub fn show(ctx: &Ctx) -> Result<Resp> {
    let account = ctx.db.read(crate::db::account::get)?;
    // A moved account links to its new profile page (or actor, when kith has no page URL).
    let moved = match &account.moved_to {
        Some(uri) => Some(
            ctx.db
                .read(|c| crate::db::actors::find_by_uri(c, uri))?
                .and_then(|a| a.url)
                .unwrap_or_else(|| uri.clone()),
        ),
        None => None,
    };
    Ok(super::layout::respond(
        200,
        render(ctx, &account, moved.as_deref()),
    ))
}

fn render(ctx: &Ctx, account: &Account, moved: Option<&str>) -> maud::Markup {
    let config = &ctx.config;
    let handle = format!("@{}@{}", account.username, config.domain);
    let name = if account.display_name.is_empty() {
        &account.username
    } else {
        &account.display_name
    };
    let head = html! {
        link rel="alternate" type="application/activity+json" href=(config.actor_url());
        meta property="og:title" content=(name);
        meta property="og:type" content="profile";
        meta property="og:url" content=(format!("{}/@{}", config.public_url, account.username));
    };
    let body = html! {
        article.profile {
            @if let Some(url) = moved {
                p.moved { "This account has moved to " a href=(url) { (url) } "." }
            }
            header {
                img.avatar src=(super::assets::url("avatar.png")) alt=(format!("Avatar of {name}")) width="96" height="96";
                div {
                    h1 { (name) }
                    p.handle { (handle) }
                }
            }
            @if !account.note_html.is_empty() {
                // note_html is produced by kith's own text renderer, never taken from outside.
                div.bio { (PreEscaped(&account.note_html)) }
            }
        }
        p.empty { "No posts yet." }
    };
    super::layout::page(&format!("{name} ({handle})"), head, body)
}
