//! Moving away, on the settings page: what `kith move @new@host` does, in two steps.
//! The first form looks the new account up and checks that it lists this one as an
//! alias (refusing with the same message as the command line when not); a
//! confirmation page then says what will happen, and only its button moves. The
//! moving itself is `process::moving`'s; this file renders and routes.

use super::render::hidden;
use super::session::Viewer;
use crate::ctx::Ctx;
use crate::db::{self, account::Account};
use crate::error::Result;
use crate::http::params::Params;
use crate::http::{Req, Resp};
use crate::process::moving;
use maud::{Markup, html};

/// The "Moving to another account" section of the settings page.
pub fn section(viewer: &Viewer, account: &Account) -> Markup {
    html! {
        section aria-labelledby="move-h" {
            h2 #move-h { "Moving to another account" }
            @if let Some(url) = &account.moved_to {
                p.moved role="status" { "This account has moved to " a href=(url) { (url) } "." }
            }
            p.hint {
                "Your followers' servers are told to follow the new account instead, and \
                 your profile says where you went. Your posts stay here. First, on the new \
                 account, add this one as an alias (Mastodon: Preferences → Account → Moving \
                 from a different account). Export your data before you move, to import it there."
            }
            form.settings method="post" action="/settings/move" {
                (hidden(viewer, "/settings"))
                label for="move-target" { "The new account (@user@host or its URL)" }
                input #move-target type="text" name="target" required spellcheck="false"
                    autocomplete="off" placeholder="@you@new.example";
                button type="submit" { "Continue" }
            }
        }
    }
}

/// `POST /settings/move`: checks the new account, then asks for confirmation.
pub fn confirm(ctx: &Ctx, req: &Req, viewer: &Viewer, p: &Params) -> Result<Resp> {
    let target = p.str("target")?.unwrap_or_default();
    if target.trim().is_empty() {
        return refuse(
            ctx,
            req,
            viewer,
            "Enter the new account, as @user@host or its URL",
        );
    }
    let new = match moving::check_target(ctx, &target) {
        Ok(actor) => actor,
        Err(e) if super::is_refusal(&e) => return refuse(ctx, req, viewer, &e.public_message()),
        Err(e) => return Err(e),
    };
    let (followers, _) = ctx.db.read(db::follows::counts)?;
    let shown_name = moving::display(&new);
    let me = format!("@{}@{}", ctx.config.username, ctx.config.domain);
    let body = html! {
        section.narrow aria-labelledby="confirm-h" {
            h1 #confirm-h { "Move to " (shown_name) "?" }
            p { (shown_name) " lists " (me) " as an alias, so the move can go ahead." }
            ul {
                li { "A Move goes to the servers of your " (followers) " followers; they follow " (shown_name) " instead." }
                li { "Your profile, here and in apps, says that you moved to " a href=(new.uri) { (new.uri) } "." }
                li { "Your posts stay here and keep working. Moving back takes another move, from the new account." }
            }
            form method="post" action="/settings/move/confirm" {
                (hidden(viewer, "/settings"))
                input type="hidden" name="target" value=(new.uri);
                button.danger type="submit" { "Move to " (shown_name) }
            }
            p { a href="/settings" { "Cancel" } }
        }
    };
    Ok(super::layout::respond(
        200,
        super::layout::frame(Some(viewer), "Move this account?", html! {}, body),
    ))
}

/// `POST /settings/move/confirm`: moves, as `kith move` does.
pub fn perform(ctx: &Ctx, req: &Req, viewer: &Viewer, p: &Params) -> Result<Resp> {
    let target = p.str("target")?.unwrap_or_default();
    match moving::move_to(ctx, &target) {
        Ok(_) => Ok(Resp::redirect(303, "/settings?saved=moved")),
        Err(e) if super::is_refusal(&e) => refuse(ctx, req, viewer, &e.public_message()),
        Err(e) => Err(e),
    }
}

fn refuse(ctx: &Ctx, req: &Req, viewer: &Viewer, message: &str) -> Result<Resp> {
    super::settings::show(ctx, req, viewer, Some(Err(message.to_string())))
}
