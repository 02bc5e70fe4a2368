//! Writing and editing posts: the compose form (text, content warning, visibility,
//! reply-to, up to four images with alt text, a character counter that `kith.js`
//! keeps live), its submission through the media code and `process::create_post`,
//! or, with a time in its schedule field, through `process::scheduled` (the list of
//! scheduled posts is `scheduled`), and editing an own post through
//! `process::edit_post`. A refused draft comes back in the form with the reason and
//! its text (files must be chosen again).

use super::render::{View, hidden};
use super::session::Viewer;
use crate::ctx::Ctx;
use crate::db::posts::{self, Post};
use crate::error::{Error, Result};
use crate::http::params::Params;
use crate::http::{Req, Resp};
use crate::process::posts::MAX_CHARS;
use crate::process::{self, Draft};
use maud::{Markup, html};

/// What the form starts with.
#[derive(Debug, Clone, Default)]
pub struct Prefill {
    pub text: String,
    pub spoiler_text: String,
    pub visibility: String,
    pub in_reply_to: Option<i64>,
    pub error: Option<String>,
    /// The schedule field as typed (`datetime-local`), empty to post now.
    pub scheduled_at: String,
}

/// Images a post may carry.
const MAX_IMAGES: usize = 4;
/// Longest alt text, in characters (Mastodon's limit).
const MAX_ALT: usize = 1500;

const VISIBILITIES: [(&str, &str); 4] = [
    ("public", "Public"),
    ("unlisted", "Unlisted (not on public timelines)"),
    ("private", "Followers only"),
    ("direct", "Mentioned people only"),
];

/// The compose form, posting to `/compose` and coming back to `back`.
pub fn form_box(viewer: &Viewer, pre: &Prefill, back: &str) -> Markup {
    let visibility = if pre.visibility.is_empty() {
        "public"
    } else {
        pre.visibility.as_str()
    };
    let used = pre.text.chars().count() + pre.spoiler_text.chars().count();
    html! {
        form.compose method="post" action="/compose" enctype="multipart/form-data" {
            (hidden(viewer, back))
            @if let Some(id) = pre.in_reply_to { input type="hidden" name="in_reply_to_id" value=(id); }
            @if let Some(e) = &pre.error { p.error role="alert" { (e) } }
            label for="spoiler_text" { "Content warning " span.optional { "(optional)" } }
            input #spoiler_text type="text" name="spoiler_text" value=(pre.spoiler_text)
                maxlength=(MAX_CHARS) autocomplete="off" data-count="";
            label for="status" { "What's on your mind?" }
            textarea #status name="status" rows="5" maxlength=(MAX_CHARS) data-count="" { (pre.text) }
            details.media-inputs {
                summary { "Add images " span.optional { "(up to " (MAX_IMAGES) ", each with a description)" } }
                @for i in 0..MAX_IMAGES {
                    div.media-input {
                        div {
                            label for=(format!("image_{i}")) { "Image " (i + 1) }
                            input id=(format!("image_{i}")) type="file" name=(format!("image_{i}"))
                                accept="image/jpeg,image/png,image/gif,image/webp";
                        }
                        div {
                            label for=(format!("alt_{i}")) { "Description of image " (i + 1) " (alt text)" }
                            input id=(format!("alt_{i}")) type="text" name=(format!("alt_{i}")) maxlength=(MAX_ALT);
                        }
                    }
                }
            }
            div.row {
                label for="visibility" { "Who can see it" }
                select #visibility name="visibility" {
                    @for (value, label) in VISIBILITIES {
                        option value=(value) selected[value == visibility] { (label) }
                    }
                }
            }
            div.row {
                label for="scheduled_at" { "Schedule for " span.optional { "(optional; your time zone, UTC without JavaScript)" } }
                input #scheduled_at type="datetime-local" name="scheduled_at" value=(pre.scheduled_at);
                input type="hidden" name="schedule_offset" value="0";
                a href="/scheduled" { "Scheduled posts" }
            }
            div.row.submit {
                p.counter aria-live="polite" {
                    output #counter data-max=(MAX_CHARS) { (MAX_CHARS.saturating_sub(used)) }
                    " characters left (text and warning together, at most " (MAX_CHARS) ")"
                }
                button type="submit" { @if pre.in_reply_to.is_some() { "Reply" } @else { "Post" } }
            }
        }
    }
}

fn compose_page(ctx: &Ctx, req: &Req, viewer: &Viewer, pre: &Prefill, status: u16) -> Result<Resp> {
    let markup = View::read(ctx, req, Some(viewer), |view| {
        let conn = view.conn;
        let parent = match pre.in_reply_to {
            Some(id) => posts::find(conn, id)?.filter(|p| p.deleted_at.is_none()),
            None => None,
        };
        let body = html! {
            h1 { @if parent.is_some() { "Reply" } @else { "Write a post" } }
            @if let Some(p) = &parent { div.replying { (view.post(p, false)?) } }
            (form_box(viewer, pre, "/home"))
        };
        Ok(super::layout::frame(
            Some(viewer),
            "Write a post",
            super::layout::compose_script(),
            body,
        ))
    })?;
    Ok(super::layout::respond(status, markup))
}

/// `GET /compose[?in_reply_to=ID]`: the form, prefilled for a reply.
pub fn show(ctx: &Ctx, req: &Req, viewer: &Viewer) -> Result<Resp> {
    let mut pre = Prefill::default();
    if let Some(id) = req
        .query_param("in_reply_to")
        .and_then(|s| s.parse::<i64>().ok())
    {
        let parent = ctx
            .db
            .read(|c| posts::find(c, id))?
            .filter(|p| p.deleted_at.is_none())
            .ok_or_else(|| Error::NotFound("No such post".into()))?;
        pre = reply_prefill(ctx, &parent)?;
    }
    compose_page(ctx, req, viewer, &pre, 200)
}

/// A reply starts with the author's handle, the parent's warning and at most its audience.
fn reply_prefill(ctx: &Ctx, parent: &Post) -> Result<Prefill> {
    let mut text = String::new();
    if let Some(actor_id) = parent.actor_id {
        let author = ctx.db.read(|c| crate::db::actors::get(c, actor_id))?;
        text = format!("@{} ", author.acct());
    }
    Ok(Prefill {
        text,
        spoiler_text: parent.spoiler_text.clone(),
        visibility: parent.visibility.clone(),
        in_reply_to: Some(parent.id),
        error: None,
        scheduled_at: String::new(),
    })
}

fn draft_from(p: &Params) -> Result<Draft> {
    Ok(Draft {
        text: p.str("status")?.unwrap_or_default(),
        spoiler_text: p
            .str("spoiler_text")?
            .unwrap_or_default()
            .trim()
            .to_string(),
        sensitive: false,
        visibility: p
            .str("visibility")?
            .filter(|v| !v.is_empty())
            .unwrap_or_else(|| "public".into()),
        language: None,
        in_reply_to_id: p.id("in_reply_to_id")?,
        poll: None,
        media_ids: Vec::new(),
    })
}

fn refused(draft: &Draft, e: &Error) -> Prefill {
    Prefill {
        text: draft.text.clone(),
        spoiler_text: draft.spoiler_text.clone(),
        visibility: draft.visibility.clone(),
        in_reply_to: draft.in_reply_to_id,
        error: Some(e.public_message()),
        scheduled_at: String::new(),
    }
}

/// The form's schedule (`scheduled_at` as `datetime-local`, `schedule_offset` in
/// minutes behind UTC as the page's script sets it): `None` to post now.
pub fn schedule_of(p: &Params) -> Result<Option<i64>> {
    let Some(when) = p.str("scheduled_at")?.filter(|w| !w.trim().is_empty()) else {
        return Ok(None);
    };
    let offset = p
        .str("schedule_offset")?
        .and_then(|o| o.trim().parse::<i64>().ok())
        .unwrap_or(0);
    crate::dates::parse_local(&when, offset)
        .map(Some)
        .ok_or_else(|| Error::Unprocessable(format!("{:?} is not a date and time", when.trim())))
}

/// Stores the form's images (`image_N` with `alt_N`) as uploads; returns their ids.
/// Each is decoded, stripped of metadata and re-encoded by the media code first.
fn store_images(ctx: &Ctx, p: &Params) -> Result<Vec<i64>> {
    let mut ids = Vec::new();
    for i in 0..MAX_IMAGES {
        let field = format!("image_{i}");
        let Some((_, _, declared, bytes)) = p
            .files
            .iter()
            .find(|(name, _, _, bytes)| *name == field && !bytes.is_empty())
        else {
            continue;
        };
        let alt = p.str(&format!("alt_{i}"))?.unwrap_or_default();
        if alt.chars().count() > MAX_ALT {
            return Err(Error::Unprocessable(format!(
                "The description of image {} is longer than {MAX_ALT} characters",
                i + 1
            )));
        }
        let mut m = crate::media::store_upload(ctx, bytes, declared.as_deref())?;
        m.id = crate::ids::at(m.created_at);
        m.description = alt.trim().to_string();
        if let Err(e) = ctx.db.write(|tx| crate::db::media::insert(tx, &m)) {
            let mut names = vec![m.file_name.as_str()];
            names.extend(m.thumb_name.as_deref());
            ctx.storage.remove(crate::storage::Area::Uploads, &names);
            return Err(e);
        }
        ids.push(m.id);
    }
    Ok(ids)
}

/// `POST /compose`: publishes the post and goes back (or shows the form with the reason).
pub fn submit(ctx: &Ctx, viewer: &Viewer, p: &Params) -> Result<Resp> {
    let mut draft = draft_from(p)?;
    let typed_time = p.str("scheduled_at")?.unwrap_or_default();
    let stored = schedule_of(p).and_then(|at| {
        draft.media_ids = store_images(ctx, p)?;
        match at {
            // For later: stored until its time (process::scheduled), then to the list.
            Some(at) => process::scheduled::schedule(ctx, &draft, at, None, None)
                .map(|_| Resp::redirect(303, "/scheduled")),
            None => process::create_post(ctx, &draft).map(|_| super::back(p, "/home")),
        }
    });
    match stored {
        Ok(resp) => Ok(resp),
        Err(e @ Error::Unprocessable(_)) | Err(e @ Error::NotFound(_)) => {
            let req = crate::http::Req::new("GET", "/compose");
            let pre = Prefill {
                scheduled_at: typed_time,
                ..refused(&draft, &e)
            };
            compose_page(ctx, &req, viewer, &pre, 422)
        }
        Err(e) => Err(e),
    }
}

fn own_post(ctx: &Ctx, id: &str) -> Result<Post> {
    let id: i64 = id
        .parse()
        .map_err(|_| Error::NotFound("No such post".into()))?;
    ctx.db
        .read(|c| posts::find(c, id))?
        .filter(|p| p.is_local() && p.deleted_at.is_none() && p.reblog_of_id.is_none())
        .ok_or_else(|| Error::NotFound("No such post".into()))
}

fn edit_page(ctx: &Ctx, viewer: &Viewer, post: &Post, pre: &Prefill, status: u16) -> Result<Resp> {
    let used = pre.text.chars().count() + pre.spoiler_text.chars().count();
    let body = html! {
        h1 { "Edit post" }
        form.compose method="post" action=(format!("/posts/{}/edit", post.id)) {
            (hidden(viewer, &format!("/@{}/{}", ctx.config.username, post.id)))
            @if let Some(e) = &pre.error { p.error role="alert" { (e) } }
            label for="spoiler_text" { "Content warning " span.optional { "(optional)" } }
            input #spoiler_text type="text" name="spoiler_text" value=(pre.spoiler_text) maxlength=(MAX_CHARS) data-count="";
            label for="status" { "Text" }
            textarea #status name="status" rows="6" maxlength=(MAX_CHARS) required data-count="" { (pre.text) }
            p.hint { "Who can see it stays as it was. Followers' servers receive the edit." }
            div.row.submit {
                p.counter aria-live="polite" {
                    output #counter data-max=(MAX_CHARS) { (MAX_CHARS.saturating_sub(used)) }
                    " characters left"
                }
                button type="submit" { "Save" }
            }
        }
    };
    Ok(super::layout::respond(
        status,
        super::layout::frame(
            Some(viewer),
            "Edit post",
            super::layout::compose_script(),
            body,
        ),
    ))
}

/// `GET /posts/:id/edit`: the edit form of an own post.
pub fn edit_form(ctx: &Ctx, _req: &Req, viewer: &Viewer, id: &str) -> Result<Resp> {
    let post = own_post(ctx, id)?;
    let pre = Prefill {
        text: post
            .source_text
            .clone()
            .unwrap_or_else(|| crate::text::html_to_text(&post.content_html)),
        spoiler_text: post.spoiler_text.clone(),
        ..Prefill::default()
    };
    edit_page(ctx, viewer, &post, &pre, 200)
}

/// `POST /posts/:id/edit`: saves the edit and goes back to the post.
pub fn edit_submit(ctx: &Ctx, viewer: &Viewer, p: &Params, id: &str) -> Result<Resp> {
    let post = own_post(ctx, id)?;
    let draft = draft_from(p)?;
    match process::edit_post(ctx, post.id, &draft) {
        Ok(_) => Ok(super::back(
            p,
            &format!("/@{}/{}", ctx.config.username, post.id),
        )),
        Err(e @ Error::Unprocessable(_)) => {
            edit_page(ctx, viewer, &post, &refused(&draft, &e), 422)
        }
        Err(e) => Err(e),
    }
}
