//! One post with its thread: the public page `/@USER/:id` of a local post (public
//! and unlisted only, for visitors), and the owner's thread view `/posts/:id` of any
//! post, which first fetches missing remote ancestors. Ancestors and replies known to
//! kith are shown when the viewer may see them; direct and followers-only posts never
//! reach a visitor.

use super::render::View;
use super::session::Viewer;
use crate::ctx::Ctx;
use crate::db::Conn;
use crate::db::posts::{self, Post};
use crate::db::timelines;
use crate::error::{Error, Result};
use crate::http::{Req, Resp};
use maud::{Markup, html};

const MAX_ANCESTORS: usize = 40;
const MAX_REPLIES: usize = 60;

fn not_found() -> Error {
    Error::NotFound("No such post".into())
}

/// Whether the viewer may see a post (`crate::visibility`): the owner sees what kith
/// stored, visitors public and unlisted posts of accounts the owner has not blocked.
pub fn visible(conn: &Conn, post: &Post, owner: bool) -> Result<bool> {
    crate::visibility::may_see(conn, &crate::visibility::Viewer::owner_if(owner), post)
}

/// `GET /@USER/:id`: a local post and its thread (ActivityPub JSON when asked for).
pub fn show(ctx: &Ctx, req: &Req, viewer: Option<&Viewer>, id: &str) -> Result<Resp> {
    if crate::ap::wants_activity_json(req.header("accept")) {
        return crate::ap::serve::status(ctx, req, id, false);
    }
    let id: i64 = id.parse().map_err(|_| not_found())?;
    let owner = viewer.is_some();
    let post = ctx
        .db
        .read(|c| posts::find(c, id))?
        .filter(|p| p.is_local() && p.reblog_of_id.is_none())
        .ok_or_else(not_found)?;
    if !ctx.db.read(|c| visible(c, &post, owner))? {
        return Err(not_found());
    }
    let resp = render(ctx, req, viewer, &post)?;
    Ok(resp.with_header("Vary", "Accept, Cookie"))
}

/// `GET /posts/:id`: the owner's view of any post's thread, fetching missing ancestors.
pub fn thread(ctx: &Ctx, req: &Req, viewer: &Viewer, id: &str) -> Result<Resp> {
    let id: i64 = id.parse().map_err(|_| not_found())?;
    let mut post = ctx
        .db
        .read(|c| posts::find(c, id))?
        .filter(|p| p.deleted_at.is_none())
        .ok_or_else(not_found)?;
    if let Some(original) = post.reblog_of_id {
        post = ctx.db.read(|c| posts::get(c, original))?;
    }
    if let Some(parent) = &post.in_reply_to_uri {
        let missing = ctx.db.read(|c| posts::find_by_uri(c, parent))?.is_none();
        if missing {
            let mut budget = crate::process::remote_posts::Budget::new();
            if let Err(e) =
                crate::process::remote_posts::fetch_ancestors(ctx, parent, &post.uri, &mut budget)
            {
                eprintln!("web: ancestors of {} not fetched: {e}", post.uri);
            }
        }
    }
    crate::cards::request_missing(ctx, &[&post]);
    render(ctx, req, Some(viewer), &post)
}

fn render(ctx: &Ctx, req: &Req, viewer: Option<&Viewer>, post: &Post) -> Result<Resp> {
    let owner = viewer.is_some();
    let markup = View::read(ctx, req, viewer, |view| {
        let conn = view.conn;
        let (ancestors, replies) = thread_of(conn, post, owner)?;
        let author = view.author(post.actor_id)?;
        let body = html! {
            div.thread {
                @for a in &ancestors { (view.post(a, false)?) }
                (view.post(post, true)?)
                @if !replies.is_empty() {
                    section.replies aria-labelledby="replies-h" {
                        h2 #replies-h { "Replies" }
                        @for r in &replies { (view.post(r, false)?) }
                    }
                }
            }
            @if viewer.is_none() {
                p.hint { "To reply, like or boost, search for this post's address on your own server." }
            }
        };
        let excerpt = excerpt(post);
        let title = format!("{}: {}", author.name, excerpt);
        Ok(super::layout::frame(
            viewer,
            &title,
            head(ctx, view, post, &title)?,
            body,
        ))
    })?;
    Ok(super::layout::respond(200, markup))
}

/// A short plain-text description: the content warning, else the start of the text.
pub fn excerpt(post: &Post) -> String {
    if !post.spoiler_text.is_empty() {
        return format!("CW: {}", post.spoiler_text);
    }
    let text = crate::text::html_to_text(&post.content_html);
    let mut out: String = text.chars().take(80).collect();
    if text.chars().count() > 80 {
        out.push('…');
    }
    out
}

fn head(ctx: &Ctx, view: &View, post: &Post, title: &str) -> Result<Markup> {
    let image = posts::list_attachments(view.conn, post.id)?
        .into_iter()
        .find(|a| a.media_type.starts_with("image/"))
        .and_then(|a| a.remote_url)
        .filter(|_| !post.sensitive)
        .unwrap_or_else(|| crate::media::avatar_url(ctx, view.account));
    let description = if post.spoiler_text.is_empty() {
        crate::text::html_to_text(&post.content_html)
    } else {
        format!("CW: {}", post.spoiler_text)
    };
    let public = post.is_local() && post.visibility == "public";
    Ok(html! {
        @if post.is_local() {
            link rel="alternate" type="application/activity+json" href=(post.uri);
            link rel="canonical" href=(crate::ap::note::local_url(&ctx.config, post.id));
        }
        @if !public { meta name="robots" content="noindex"; }
        meta name="description" content=(description);
        meta property="og:site_name" content=(ctx.config.domain);
        meta property="og:type" content="article";
        meta property="og:title" content=(title);
        meta property="og:description" content=(description);
        meta property="og:url" content=(post.url.clone().unwrap_or_else(|| post.uri.clone()));
        meta property="og:image" content=(image);
        meta property="article:published_time" content=(crate::dates::iso8601(post.published_at));
    })
}

/// The ancestors (oldest first) and replies (in order) of a post that the viewer may see.
fn thread_of(conn: &Conn, post: &Post, owner: bool) -> Result<(Vec<Post>, Vec<Post>)> {
    let mut ancestors = Vec::new();
    let mut next = post.in_reply_to_uri.clone();
    while let Some(uri) = next.take() {
        let Some(parent) = posts::find_by_uri(conn, &uri)? else {
            break;
        };
        if ancestors.len() >= MAX_ANCESTORS || !visible(conn, &parent, owner)? {
            break;
        }
        next = parent.in_reply_to_uri.clone();
        ancestors.push(parent);
    }
    ancestors.reverse();
    let mut replies = Vec::new();
    let mut queue = vec![post.uri.clone()];
    while let Some(uri) = queue.pop() {
        for child in timelines::replies(conn, &uri, MAX_REPLIES as i64)? {
            if replies.len() >= MAX_REPLIES || !visible(conn, &child, owner)? {
                continue;
            }
            queue.push(child.uri.clone());
            replies.push(child);
        }
    }
    replies.sort_by_key(|p| p.id);
    Ok((ancestors, replies))
}
