//! People: the owner's followers, the accounts they follow and pending follow
//! requests, with follow back, unfollow, remove follower, accept and reject; following
//! by `@user@host` or URL; and a remote account's page with its relationship, actions
//! and the posts kith has of it.

use super::render::{View, button, pager};
use super::session::Viewer;
use crate::ctx::Ctx;
use crate::db::Conn;
use crate::db::actors::RemoteActor;
use crate::db::timelines::{self, Page, Timeline};
use crate::db::{self, blocks, follows};
use crate::error::{Error, Result};
use crate::http::params::Params;
use crate::http::{Req, Resp};
use crate::process;
use crate::process::moving::ConfirmedMove;
use maud::{Markup, html};

const PAGE: i64 = 40;

/// What the owner and a remote account are to each other.
#[derive(Debug, Default)]
struct Relation {
    following: bool,
    requested: bool,
    follower: bool,
    pending_request: bool,
    blocked: bool,
    muted: bool,
}

fn relation(conn: &Conn, actor_id: i64) -> Result<Relation> {
    let out = follows::find(conn, true, actor_id)?;
    let inc = follows::find(conn, false, actor_id)?;
    Ok(Relation {
        following: out.as_ref().is_some_and(|f| f.accepted),
        requested: out.as_ref().is_some_and(|f| !f.accepted),
        follower: inc.as_ref().is_some_and(|f| f.accepted),
        pending_request: inc.as_ref().is_some_and(|f| !f.accepted),
        blocked: blocks::is_blocked(conn, actor_id)?,
        muted: blocks::is_muted(conn, actor_id)?,
    })
}

/// The follow and moderation buttons for a remote account.
fn controls(viewer: &Viewer, back: &str, a: &RemoteActor, r: &Relation, full: bool) -> Markup {
    let base = format!("/accounts/{}", a.id);
    let b =
        |action: &str, label: &str| button(viewer, back, &format!("{base}/{action}"), label, false);
    html! {
        div.actions {
            @if r.pending_request { (b("accept", "Accept request")) (b("reject", "Reject request")) }
            @if r.following { (b("unfollow", "Unfollow")) }
            @else if r.requested { (b("unfollow", "Cancel follow request")) }
            @else if !r.blocked { (b("follow", if r.follower { "Follow back" } else { "Follow" })) }
            @if r.follower { (b("remove", "Remove follower")) }
            @if full {
                @if r.muted { (b("unmute", "Unmute")) } @else { (b("mute", "Mute")) }
                @if r.blocked { (b("unblock", "Unblock")) } @else { (b("block", "Block")) }
            }
        }
    }
}

fn row(view: &View, viewer: &Viewer, a: &RemoteActor) -> Result<Markup> {
    let who = view.remote_author(a);
    let r = relation(view.conn, a.id)?;
    Ok(html! {
        li.person {
            a.who href=(who.href) {
                img.avatar.small src=(who.avatar) alt="" width="48" height="48" loading="lazy";
                span.names { span.name { (who.name) } " " span.acct { (who.acct) } }
            }
            (controls(viewer, view.back, a, &r, false))
        }
    })
}

/// `GET /people[?tab=followers|following|requests]`.
pub fn show(ctx: &Ctx, req: &Req, viewer: &Viewer) -> Result<Resp> {
    let tab = req.query_param("tab").unwrap_or_default();
    let (tab, outgoing, accepted, title) = match tab.as_str() {
        "following" => ("following", true, true, "Following"),
        "requests" => ("requests", false, false, "Follow requests"),
        _ => ("followers", false, true, "Followers"),
    };
    let before = super::max_id(req);
    let markup = View::read(ctx, req, Some(viewer), |view| {
        let conn = view.conn;
        let rows = follows::list(conn, outgoing, accepted, before, PAGE)?;
        let (followers, following) = follows::counts(conn)?;
        let requests = follows::list(conn, false, false, None, 1000)?.len();
        let items = rows
            .iter()
            .map(|(_, a)| row(view, viewer, a))
            .collect::<Result<Vec<_>>>()?;
        let path = format!("/people?tab={tab}");
        let tabs = [
            ("followers", format!("Followers ({followers})")),
            ("following", format!("Following ({following})")),
            ("requests", format!("Requests ({requests})")),
        ];
        let body = html! {
            h1 { "People" }
            form.follow-by-handle method="post" action="/people/follow" {
                (super::render::hidden(viewer, "/people?tab=following"))
                label for="target" { "Follow someone by @user@host or profile URL" }
                div.row {
                    input #target type="text" name="target" required placeholder="@someone@example.social"
                        autocomplete="off" spellcheck="false";
                    button type="submit" { "Follow" }
                }
            }
            nav.tabs aria-label="Lists" {
                @for (key, label) in &tabs {
                    a href=(format!("/people?tab={key}")) aria-current=[(*key == tab).then_some("page")] { (label) }
                }
            }
            h2.visually-hidden { (title) }
            @if items.is_empty() { p.empty { "Nobody here yet." } }
            ul.people { @for i in items { (i) } }
            (pager(&path, before.is_none(), rows.last().map(|(f, _)| f.created_at), rows.len() as i64 == PAGE))
        };
        Ok(super::layout::frame(Some(viewer), title, html! {}, body))
    })?;
    Ok(super::layout::respond(200, markup))
}

/// `POST /people/follow`: looks the account up on the network and follows it.
pub fn follow(ctx: &Ctx, p: &Params) -> Result<Resp> {
    let target = p.required("target")?;
    let actor = process::follow(ctx, &target)?;
    Ok(Resp::redirect(303, &format!("/accounts/{}", actor.id)))
}

fn actor_id(id: &str) -> Result<i64> {
    id.parse()
        .map_err(|_| Error::NotFound("No such account".into()))
}

/// `GET /accounts/:id`: a remote account with its relationship and known posts.
pub fn account(ctx: &Ctx, req: &Req, viewer: &Viewer, id: &str) -> Result<Resp> {
    let id = actor_id(id)?;
    let max_id = super::max_id(req);
    let me = ctx.config.actor_url();
    // The counts may need the network: fetched before a connection is held.
    let actor = ctx.db.read(|c| db::actors::get(c, id))?;
    let counts = super::remote_counts::counts(ctx, &actor)?;
    let markup = View::read(ctx, req, Some(viewer), |view| {
        let conn = view.conn;
        let r = relation(conn, id)?;
        // Where it moved, when the new account confirms it, as that account's page here.
        let moved = match crate::process::moving::confirmed_move(ctx, conn, &actor)? {
            Some(ConfirmedMove::Here) => Some((
                format!("/@{}", ctx.config.username),
                format!("@{}@{}", ctx.config.username, ctx.config.domain),
            )),
            Some(ConfirmedMove::To(new)) => Some((
                format!("/accounts/{}", new.id),
                format!("@{}@{}", new.username, new.domain),
            )),
            None => None,
        };
        let t = Timeline::Account {
            actor_id: Some(id),
            with_private: r.following,
            exclude_replies: false,
            only_media: false,
            pinned: false,
        };
        let page = Page {
            max_id,
            since_id: None,
            min_id: None,
            limit: 20,
        };
        let list = timelines::list(conn, &t, page, &me)?;
        let path = format!("/accounts/{id}");
        let name = super::render::display_name(&actor.display_name, &actor.username).to_string();
        let body = html! {
            (view.account_card(&actor))
            (super::remote_counts::line(&counts))
            @if let Some((href, label)) = &moved {
                p.moved role="status" { "This account has moved to " a href=(href) { (label) } "." }
            }
            @if r.follower { p.tag { "Follows you" } }
            @if r.requested { p.tag { "Follow request sent" } }
            (controls(viewer, view.back, &actor, &r, true))
            section aria-labelledby="their-posts" {
                h2 #their-posts { "Posts kith has seen" }
                (view.posts(&list, "No posts of this account have reached kith yet.")?)
                (pager(&path, max_id.is_none(), list.last().map(|p| p.id), list.len() == 20))
            }
        };
        Ok(super::layout::frame(Some(viewer), &name, html! {}, body))
    })?;
    Ok(super::layout::respond(200, markup))
}

/// `POST /accounts/:id/:action`: follow, unfollow, remove, accept, reject, block, unblock, mute, unmute.
pub fn act(ctx: &Ctx, p: &Params, id: &str, action: &str) -> Result<Resp> {
    let id = actor_id(id)?;
    let actor = ctx.db.read(|c| db::actors::get(c, id))?;
    let now = db::now_ms();
    match action {
        "follow" => process::follow_actor(ctx, &actor)?,
        "unfollow" => process::unfollow_actor(ctx, &actor)?,
        "remove" => process::remove_follower(ctx, id)?,
        "accept" => process::accept_follow_request(ctx, id)?,
        "reject" => process::reject_follow_request(ctx, id)?,
        "block" => process::block(ctx, id)?,
        "unblock" => process::unblock(ctx, id)?,
        "mute" => ctx.db.write(|tx| blocks::insert_mute(tx, id, now))?,
        "unmute" => ctx.db.write(|tx| blocks::delete_mute(tx, id))?,
        _ => return Err(Error::NotFound("Not found".into())),
    }
    Ok(super::back(p, &format!("/accounts/{id}")))
}
