//! The owner's blocks, mutes and domain blocks: lists with undo buttons and a form to
//! block a whole domain. Blocking and muting single accounts happens on their page.

use super::render::{View, button, hidden};
use super::session::Viewer;
use crate::ctx::Ctx;
use crate::db::{self, blocks};
use crate::error::{Error, Result};
use crate::http::params::Params;
use crate::http::{Req, Resp};
use crate::process;
use maud::{Markup, html};

const LIMIT: i64 = 200;

fn list(view: &View, viewer: &Viewer, ids: &[i64], section: &str, label: &str) -> Result<Markup> {
    let rows = ids
        .iter()
        .map(|id| Ok((*id, view.remote_author(&db::actors::get(view.conn, *id)?))))
        .collect::<Result<Vec<_>>>()?;
    Ok(html! {
        @if rows.is_empty() { p.empty { "None." } }
        ul.people {
            @for (id, who) in &rows {
                li.person {
                    a.who href=(who.href) {
                        img.avatar.small src=(who.avatar) alt="" width="48" height="48" loading="lazy";
                        span.names { span.name { (who.name) } " " span.acct { (who.acct) } }
                    }
                    (button(viewer, view.back, &format!("/settings/{section}/{id}"), label, false))
                }
            }
        }
    })
}

/// `GET /settings/moderation`.
pub fn show(ctx: &Ctx, req: &Req, viewer: &Viewer) -> Result<Resp> {
    let markup = View::read(ctx, req, Some(viewer), |view| {
        let conn = view.conn;
        let blocked = blocks::list_ids(conn, false, LIMIT)?;
        let muted = blocks::list_ids(conn, true, LIMIT)?;
        let domains = blocks::list_domain_blocks(conn)?;
        let body = html! {
            h1 { "Blocks and mutes" }
            (super::settings::tabs("/settings/moderation"))
            section aria-labelledby="blocks-h" {
                h2 #blocks-h { "Blocked accounts" }
                p.hint { "They cannot follow you or see your posts through kith, and kith ignores what they send." }
                (list(view, viewer, &blocked, "blocks", "Unblock")?)
            }
            section aria-labelledby="mutes-h" {
                h2 #mutes-h { "Muted accounts" }
                p.hint { "Their posts stay out of your timelines; they are not told." }
                (list(view, viewer, &muted, "mutes", "Unmute")?)
            }
            section aria-labelledby="domains-h" {
                h2 #domains-h { "Blocked domains" }
                form.settings method="post" action="/settings/domain_blocks" {
                    (hidden(viewer, "/settings/moderation"))
                    label for="domain" { "Block a whole server (and its subdomains)" }
                    div.row {
                        input #domain type="text" name="domain" required placeholder="spam.example" spellcheck="false";
                        button type="submit" { "Block domain" }
                    }
                }
                @if domains.is_empty() { p.empty { "None." } }
                ul.domains {
                    @for d in &domains {
                        li {
                            span.domain { (d) }
                            form.inline method="post" action="/settings/domain_blocks/remove" {
                                (hidden(viewer, view.back))
                                input type="hidden" name="domain" value=(d);
                                button type="submit" { "Unblock " span.visually-hidden { (d) } }
                            }
                        }
                    }
                }
            }
        };
        Ok(super::layout::frame(
            Some(viewer),
            "Blocks and mutes",
            html! {},
            body,
        ))
    })?;
    Ok(super::layout::respond(200, markup))
}

fn domain_of(p: &Params, ctx: &Ctx) -> Result<String> {
    let typed = p.required("domain")?;
    crate::domain::normalize(&typed)
        .filter(|d| d != crate::domain::without_port(&ctx.config.domain))
        .ok_or_else(|| {
            Error::Unprocessable(format!("{:?} is not a domain you can block", typed.trim()))
        })
}

/// `POST /settings/domain_blocks`.
pub fn add_domain_block(ctx: &Ctx, p: &Params) -> Result<Resp> {
    let domain = domain_of(p, ctx)?;
    let now = db::now_ms();
    ctx.db
        .write(|tx| blocks::insert_domain_block(tx, &domain, now))?;
    Ok(super::back(p, "/settings/moderation"))
}

/// `POST /settings/:section/:item`: unblock, unmute, remove a domain block, revoke an app.
pub fn item_action(ctx: &Ctx, p: &Params, section: &str, item: &str) -> Result<Resp> {
    let id = || {
        item.parse::<i64>()
            .map_err(|_| Error::NotFound("Not found".into()))
    };
    match (section, item) {
        ("blocks", _) => process::unblock(ctx, id()?)?,
        ("mutes", _) => {
            let id = id()?;
            ctx.db.write(|tx| blocks::delete_mute(tx, id))?;
        }
        ("domain_blocks", "remove") => {
            // As stored, which for blocks older than normalisation is as typed.
            let forms = crate::domain::stored_forms(&p.required("domain")?);
            ctx.db.write(|tx| {
                forms
                    .iter()
                    .try_for_each(|d| blocks::delete_domain_block(tx, d))
            })?;
        }
        ("apps", _) => {
            super::apps::revoke(ctx, id()?)?;
            return Ok(super::back(p, "/settings/apps"));
        }
        _ => return Err(Error::NotFound("Not found".into())),
    }
    Ok(super::back(p, "/settings/moderation"))
}
