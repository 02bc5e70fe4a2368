//! Lists of posts: the owner's home timeline (with the compose box on top), their
//! bookmarks, and hashtag pages. A visitor's hashtag page shows only the owner's
//! public posts; the owner's shows every public post kith knows with that tag.

use super::render::{View, pager};
use super::session::Viewer;
use crate::ctx::Ctx;
use crate::db::Conn;
use crate::db::posts::Post;
use crate::db::timelines::{self, Page, Timeline};
use crate::error::{Error, Result};
use crate::http::{Req, Resp};
use maud::{Markup, html};

/// Posts on one page of a timeline.
pub const PAGE: i64 = 20;

/// What a list page shows around its posts.
struct Frame<'a> {
    title: &'a str,
    /// The page's own path, for paging links.
    path: &'a str,
    head: Markup,
    /// What goes above the posts.
    top: Markup,
    /// What shows when there are no posts.
    empty: Markup,
}

/// Renders a list page: `load` reads the posts.
fn list_page(
    ctx: &Ctx,
    req: &Req,
    viewer: Option<&Viewer>,
    frame: Frame,
    load: impl FnOnce(&Conn, Option<i64>) -> Result<Vec<Post>>,
) -> Result<Resp> {
    let Frame {
        title,
        path,
        head,
        top,
        empty,
    } = frame;
    let max_id = super::max_id(req);
    let markup = View::read(ctx, req, viewer, |view| {
        let conn = view.conn;
        let list = load(conn, max_id)?;
        let body = html! {
            (top)
            @if max_id.is_some() && list.is_empty() {
                p.empty { "No older posts." }
            } @else {
                (view.posts_or(&list, empty)?)
            }
            (pager(path, max_id.is_none(), list.last().map(|p| p.id), list.len() as i64 == PAGE))
        };
        Ok(super::layout::frame(viewer, title, head, body))
    })?;
    Ok(super::layout::respond(200, markup))
}

/// `GET /home` (and `/` for the owner): the compose box and the home timeline.
pub fn home(ctx: &Ctx, req: &Req, viewer: &Viewer) -> Result<Resp> {
    let me = ctx.config.actor_url();
    let top = html! {
        h1.visually-hidden { "Home" }
        (super::compose::form_box(viewer, &super::compose::Prefill::default(), "/home"))
    };
    let frame = Frame {
        title: "Home",
        path: "/home",
        head: super::layout::compose_script(),
        top,
        empty: html! {
            div.empty.welcome {
                p { "Your home timeline is empty: your own posts and those of the accounts you follow show here." }
                p {
                    "Find people to follow with " a href="/search" { "Search" }
                    " (try @user@their.server), or see who follows you under " a href="/people" { "People" } "."
                }
            }
        },
    };
    list_page(ctx, req, Some(viewer), frame, |c, max_id| {
        timelines::list(c, &Timeline::Home, page(max_id), &me)
    })
}

/// `GET /bookmarks`: the owner's bookmarks.
pub fn bookmarks(ctx: &Ctx, req: &Req, viewer: &Viewer) -> Result<Resp> {
    let me = ctx.config.actor_url();
    let top = html! { h1 { "Bookmarks" } };
    let frame = Frame {
        title: "Bookmarks",
        path: "/bookmarks",
        head: html! {},
        top,
        empty: html! { p.empty { "No bookmarks yet: the Bookmark button under a post puts it here." } },
    };
    list_page(ctx, req, Some(viewer), frame, |c, max_id| {
        timelines::list(c, &Timeline::Bookmarks, page(max_id), &me)
    })
}

/// `GET /tags/:tag`: posts with a hashtag.
pub fn tag(ctx: &Ctx, req: &Req, viewer: Option<&Viewer>, tag: &str) -> Result<Resp> {
    let tag = url::form_urlencoded::parse(format!("t={tag}").as_bytes())
        .next()
        .map(|(_, v)| v.into_owned())
        .unwrap_or_default()
        .trim_start_matches('#')
        .to_lowercase();
    if tag.is_empty() || tag.chars().count() > crate::text::MAX_HASHTAG_CHARS {
        return Err(Error::NotFound("No such hashtag".into()));
    }
    let title = format!("#{tag}");
    let mut path = String::from("/tags/");
    path.extend(url::form_urlencoded::byte_serialize(tag.as_bytes()));
    let followed = match viewer {
        Some(_) => ctx.db.read(|c| crate::db::tags::is_followed(c, &tag))?,
        None => false,
    };
    let top = html! {
        h1 { (title) }
        @if let Some(v) = viewer.filter(|_| crate::text::hashtag_name(&tag).is_some()) {
            @if followed {
                (super::render::button(v, &path, &format!("{path}/unfollow"), "Unfollow hashtag", true))
            } @else {
                (super::render::button(v, &path, &format!("{path}/follow"), "Follow hashtag", false))
            }
        }
        @if viewer.is_none() {
            p.hint { "Public posts by @" (ctx.config.username) " with this hashtag." }
        }
    };
    let local_only = viewer.is_none();
    let frame = Frame {
        title: &title,
        path: &path,
        head: html! {},
        top,
        empty: html! { p.empty { "No posts with this hashtag yet." } },
    };
    let resp = list_page(ctx, req, viewer, frame, |c, max_id| {
        crate::db::pages::list_tag(c, &tag, local_only, max_id, PAGE)
    })?;
    Ok(resp.with_header("Vary", "Cookie"))
}

/// `POST /tags/:tag/follow|unfollow`: the hashtag page's button; posts with a followed
/// hashtag come to the home timeline.
pub fn tag_follow(
    ctx: &Ctx,
    p: &crate::http::params::Params,
    tag: &str,
    follow: bool,
) -> Result<Resp> {
    let decoded = url::form_urlencoded::parse(format!("t={tag}").as_bytes())
        .next()
        .map(|(_, v)| v.into_owned())
        .unwrap_or_default();
    let name = crate::text::hashtag_name(&decoded)
        .ok_or_else(|| Error::Unprocessable("That is not a hashtag".into()))?
        .to_lowercase();
    let now = crate::db::now_ms();
    ctx.db.write(|tx| {
        if follow {
            crate::db::tags::follow(tx, &name, now)
        } else {
            crate::db::tags::unfollow(tx, &name)
        }
    })?;
    let mut path = String::from("/tags/");
    path.extend(url::form_urlencoded::byte_serialize(name.as_bytes()));
    Ok(super::back(p, &path))
}

fn page(max_id: Option<i64>) -> Page {
    Page {
        max_id,
        since_id: None,
        min_id: None,
        limit: PAGE,
    }
}
