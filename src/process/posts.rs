//! Local actions on posts: create (with mentions resolved on the network first),
//! edit, delete, and voting in remote polls.

use super::{activity_id, author_of, queue};
use crate::ap::note::{build_note, local_url};
use crate::ap::{outbox, resolve};
use crate::ctx::Ctx;
use crate::db::Conn;
use crate::db::posts::{Mention, Parts, Poll, Post};
use crate::db::{self, follows, posts};
use crate::error::{Error, Result};
use crate::events::Event;
use crate::text;

/// Longest post accepted, in characters.
pub const MAX_CHARS: usize = 500;
/// Most options a poll may have.
pub const MAX_POLL_OPTIONS: usize = 4;

/// What the owner wrote.
#[derive(Debug, Clone, Default)]
pub struct Draft {
    pub text: String,
    pub spoiler_text: String,
    pub sensitive: bool,
    /// public, unlisted, private or direct.
    pub visibility: String,
    pub language: Option<String>,
    pub in_reply_to_id: Option<i64>,
    pub poll: Option<DraftPoll>,
    /// Uploaded media to attach, in order (at most 4).
    pub media_ids: Vec<i64>,
}

/// A poll in a draft.
#[derive(Debug, Clone, Default)]
pub struct DraftPoll {
    pub options: Vec<String>,
    pub expires_in_secs: i64,
    pub multiple: bool,
}

/// Refuses a draft that cannot be posted (422 with the reason).
pub(super) fn check_draft(d: &Draft) -> Result<()> {
    let invalid = |m: &str| Error::Unprocessable(format!("Validation failed: {m}"));
    if !matches!(
        d.visibility.as_str(),
        "public" | "unlisted" | "private" | "direct"
    ) {
        return Err(invalid(
            "visibility must be public, unlisted, private or direct",
        ));
    }
    let chars = d.text.chars().count() + d.spoiler_text.chars().count();
    if chars > MAX_CHARS {
        return Err(invalid(&format!(
            "text is longer than {MAX_CHARS} characters"
        )));
    }
    if d.media_ids.len() > 4 {
        return Err(invalid("a post can have at most 4 media attachments"));
    }
    if d.poll.is_some() && !d.media_ids.is_empty() {
        return Err(invalid("a post cannot have both media and a poll"));
    }
    if d.text.trim().is_empty() && d.poll.is_none() && d.media_ids.is_empty() {
        return Err(invalid("text can't be blank"));
    }
    if let Some(p) = &d.poll {
        if p.options.len() < 2 || p.options.len() > MAX_POLL_OPTIONS {
            return Err(invalid(&format!(
                "a poll needs 2 to {MAX_POLL_OPTIONS} options"
            )));
        }
        if p.options
            .iter()
            .any(|o| o.trim().is_empty() || o.chars().count() > 50)
        {
            return Err(invalid("poll options must be 1 to 50 characters"));
        }
        if !(300..=2_629_746).contains(&p.expires_in_secs) {
            return Err(invalid("a poll must last between 5 minutes and a month"));
        }
    }
    Ok(())
}

/// Resolves the mentions of a text on the network (no lock held); unknown ones stay text.
fn resolve_mentions(
    ctx: &Ctx,
    source: &str,
) -> Vec<(text::ResolvedMention, crate::db::actors::RemoteActor)> {
    let mut out = Vec::new();
    for m in text::scan(source).mentions {
        let Some(host) = m.host.as_deref() else {
            continue;
        };
        match resolve::by_handle(ctx, &m.username, host) {
            Ok(actor) => {
                let href = actor.url.clone().unwrap_or_else(|| actor.uri.clone());
                let rm = text::ResolvedMention {
                    username: actor.username.clone(),
                    host: actor.domain.clone(),
                    href,
                    actor_uri: actor.uri.clone(),
                };
                out.push((rm, actor));
            }
            Err(e) => eprintln!("post: mention {} not resolved: {e}", m.text),
        }
    }
    out
}

/// The parts and inboxes of a draft: rendered HTML, mentions, tags and who receives it.
struct Rendered {
    html: String,
    parts: Parts,
    audience: Vec<String>,
    mention_inboxes: Vec<String>,
}

fn render(
    ctx: &Ctx,
    draft: &Draft,
    parent_author: Option<&crate::db::actors::RemoteActor>,
) -> Rendered {
    let resolved = resolve_mentions(ctx, &draft.text);
    let tag_base = format!("{}/tags", ctx.config.public_url);
    let rms: Vec<text::ResolvedMention> = resolved.iter().map(|(m, _)| m.clone()).collect();
    let html = text::render_plain(&draft.text, &rms, &tag_base);
    let mut mentions: Vec<Mention> = resolved
        .iter()
        .map(|(m, a)| Mention {
            actor_uri: a.uri.clone(),
            username: a.username.clone(),
            domain: a.domain.clone(),
            href: Some(m.href.clone()),
        })
        .collect();
    let mut inboxes: Vec<String> = resolved.iter().map(|(_, a)| a.inbox.clone()).collect();
    if let Some(parent) = parent_author
        && !mentions.iter().any(|m| m.actor_uri == parent.uri)
    {
        mentions.push(Mention {
            actor_uri: parent.uri.clone(),
            username: parent.username.clone(),
            domain: parent.domain.clone(),
            href: parent.url.clone(),
        });
        inboxes.push(parent.inbox.clone());
    }
    let audience = mentions.iter().map(|m| m.actor_uri.clone()).collect();
    let tags = text::scan(&draft.text)
        .hashtags
        .iter()
        .map(|t| t.to_lowercase())
        .collect();
    let poll = draft.poll.as_ref().map(|p| Poll {
        multiple: p.multiple,
        options: p
            .options
            .iter()
            .map(|o| (o.trim().to_string(), 0))
            .collect(),
        voters_count: Some(0),
        expires_at: Some(db::now_ms() + p.expires_in_secs * 1000),
        closed_at: None,
    });
    Rendered {
        html,
        parts: Parts {
            mentions,
            tags,
            attachments: Vec::new(),
            poll,
        },
        audience,
        mention_inboxes: inboxes,
    }
}

/// Who receives a post: followers (shared inboxes) unless direct, plus everyone mentioned.
fn recipients(tx: &Conn, visibility: &str, mention_inboxes: &[String]) -> Result<Vec<String>> {
    let mut inboxes = if visibility == "direct" {
        Vec::new()
    } else {
        follows::follower_inboxes(tx)?
    };
    inboxes.extend(mention_inboxes.iter().cloned());
    Ok(inboxes)
}

/// Publishes a new post; returns it as stored.
pub fn create_post(ctx: &Ctx, draft: &Draft) -> Result<Post> {
    create_post_with(ctx, draft, |_| Ok(()))
}

/// Publishes a new post, running `also` first in the transaction that stores it (a
/// scheduled post is taken off its list there); an error from `also` stores nothing.
pub(super) fn create_post_with(
    ctx: &Ctx,
    draft: &Draft,
    also: impl FnOnce(&Conn) -> Result<()>,
) -> Result<Post> {
    check_draft(draft)?;
    let parent = match draft.in_reply_to_id {
        Some(id) => Some(ctx.db.read(|c| posts::get(c, id))?),
        None => None,
    };
    let parent_author = match &parent {
        Some(p) => ctx.db.read(|c| author_of(c, p))?,
        None => None,
    };
    let mut rendered = render(ctx, draft, parent_author.as_ref());
    rendered.parts.attachments = ctx.db.read(|c| attachments_for(ctx, c, &draft.media_ids))?;
    let now = db::now_ms();
    let id = crate::ids::at(now);
    let uri = format!("{}/statuses/{id}", ctx.config.actor_url());
    let post = Post {
        id,
        uri: uri.clone(),
        url: Some(local_url(&ctx.config, id)),
        actor_id: None,
        kind: "Note".into(),
        content_html: rendered.html.clone(),
        source_text: Some(draft.text.clone()),
        spoiler_text: draft.spoiler_text.clone(),
        sensitive: draft.sensitive || !draft.spoiler_text.is_empty(),
        visibility: draft.visibility.clone(),
        language: draft.language.clone(),
        in_reply_to_uri: parent.as_ref().map(|p| p.uri.clone()),
        reblog_of_id: None,
        audience_json: serde_json::to_string(&rendered.audience)?,
        published_at: now,
        edited_at: None,
        pinned_at: None,
        deleted_at: None,
    };
    ctx.db.write(|tx| {
        also(tx)?;
        posts::insert(tx, &post, &rendered.parts)?;
        for media_id in &draft.media_ids {
            db::media::attach(tx, *media_id, post.id)?;
        }
        let note = build_note(&ctx.config, &post, &rendered.parts, None);
        let create = outbox::wrap_object(
            &ctx.config,
            "Create",
            &format!("{uri}/activity"),
            note,
            None,
        );
        queue(
            tx,
            &create,
            &recipients(tx, &post.visibility, &rendered.mention_inboxes)?,
            false,
            now,
        )
    })?;
    ctx.wake.delivery();
    ctx.emit(Event::Posted(post.id));
    crate::cards::request(ctx, post.id, &post.content_html);
    Ok(post)
}

/// The attachments of uploads about to be posted; uploads already posted are refused.
fn attachments_for(
    ctx: &Ctx,
    conn: &Conn,
    ids: &[i64],
) -> Result<Vec<crate::db::posts::Attachment>> {
    ids.iter()
        .map(|id| {
            let m = db::media::get(conn, *id)
                .map_err(|_| Error::Unprocessable(format!("Validation failed: no media {id}")))?;
            if m.post_id.is_some() {
                return Err(Error::Unprocessable(format!(
                    "Validation failed: media {id} is already attached"
                )));
            }
            Ok(crate::db::posts::Attachment {
                id: 0,
                remote_url: Some(crate::media::local_url(ctx, &m.file_name)),
                media_type: m.media_type,
                description: m.description,
                blurhash: m.blurhash,
                width: m.width,
                height: m.height,
                media_id: Some(m.id),
            })
        })
        .collect()
}

fn own_post(conn: &Conn, post_id: i64) -> Result<Post> {
    let post = posts::get(conn, post_id)?;
    if !post.is_local() || post.deleted_at.is_some() || post.reblog_of_id.is_some() {
        return Err(Error::NotFound("Record not found".into()));
    }
    Ok(post)
}

/// Edits an own post (text, content warning, sensitivity, language); keeps history.
pub fn edit_post(ctx: &Ctx, post_id: i64, draft: &Draft) -> Result<Post> {
    let old = ctx.db.read(|c| own_post(c, post_id))?;
    let draft = Draft {
        visibility: old.visibility.clone(),
        ..draft.clone()
    };
    check_draft(&Draft {
        poll: None,
        ..draft.clone()
    })?;
    let rendered = render(ctx, &draft, None);
    let now = db::now_ms();
    let mut post = old.clone();
    post.content_html = rendered.html.clone();
    post.source_text = Some(draft.text.clone());
    post.spoiler_text = draft.spoiler_text.clone();
    post.sensitive = draft.sensitive || !draft.spoiler_text.is_empty();
    post.language = draft.language.clone().or(old.language.clone());
    post.edited_at = Some(now);
    ctx.db.write(|tx| {
        let mut parts = rendered.parts.clone();
        parts.mentions.extend(
            posts::list_mentions(tx, post_id)?
                .into_iter()
                .filter(|m| !rendered.parts.mentions.contains(m)),
        );
        parts.attachments = posts::list_attachments(tx, post_id)?;
        parts.poll = None;
        posts::update_content(tx, &post, &parts)?;
        let note = build_note(&ctx.config, &post, &parts, None);
        let update = outbox::wrap_object(
            &ctx.config,
            "Update",
            &format!("{}#updates/{now}", post.uri),
            note,
            None,
        );
        let mention_inboxes = mention_inboxes(tx, &parts.mentions)?;
        queue(
            tx,
            &update,
            &recipients(tx, &post.visibility, &mention_inboxes)?,
            false,
            now,
        )
    })?;
    ctx.wake.delivery();
    ctx.emit(Event::Edited(post_id));
    crate::cards::request(ctx, post_id, &post.content_html);
    ctx.db.read(|c| posts::get(c, post_id))
}

fn mention_inboxes(conn: &Conn, mentions: &[Mention]) -> Result<Vec<String>> {
    let mut out = Vec::new();
    for m in mentions {
        if let Some(a) = db::actors::find_by_uri(conn, &m.actor_uri)? {
            out.push(a.inbox);
        }
    }
    Ok(out)
}

/// Deletes an own post (or boost): a tombstone stays so its URL answers 410.
pub fn delete_post(ctx: &Ctx, post_id: i64) -> Result<Post> {
    let post = ctx.db.read(|c| posts::get(c, post_id))?;
    if !post.is_local() || post.deleted_at.is_some() {
        return Err(Error::NotFound("Record not found".into()));
    }
    if post.reblog_of_id.is_some() {
        super::reactions::unboost_post(ctx, &post)?;
        return Ok(post);
    }
    let now = db::now_ms();
    ctx.db.write(|tx| {
        let mentions = posts::list_mentions(tx, post_id)?;
        let inboxes = recipients(tx, &post.visibility, &mention_inboxes(tx, &mentions)?)?;
        let uris: Vec<String> = mentions.iter().map(|m| m.actor_uri.clone()).collect();
        let aud = outbox::audience(&ctx.config, &post.visibility, &uris);
        let delete = outbox::build_delete(
            &ctx.config,
            &format!("{}#delete", post.uri),
            &post.uri,
            &aud,
        );
        posts::tombstone(tx, post_id, now)?;
        queue(tx, &delete, &inboxes, false, now)
    })?;
    ctx.wake.delivery();
    ctx.emit(Event::Deleted(post_id));
    Ok(post)
}

/// Votes in a remote poll: one `Create(Note)` per choice, named after the option, as Mastodon sends them.
pub fn vote(ctx: &Ctx, post_id: i64, choices: &[usize]) -> Result<()> {
    let now = db::now_ms();
    ctx.db.write(|tx| {
        let post = posts::get(tx, post_id)?;
        let mut poll = posts::find_poll(tx, post_id)?.ok_or_else(|| Error::NotFound("Record not found".into()))?;
        let author = author_of(tx, &post)?.ok_or_else(|| Error::Unprocessable("you cannot vote in your own poll".into()))?;
        if poll.expires_at.is_some_and(|e| e <= now) || poll.closed_at.is_some() {
            return Err(Error::Unprocessable("Validation failed: The poll has already ended".into()));
        }
        if choices.is_empty() || (!poll.multiple && choices.len() > 1) || choices.iter().any(|c| *c >= poll.options.len()) {
            return Err(Error::Unprocessable("Validation failed: invalid choices".into()));
        }
        if db::polls::owner_voted(tx, post_id)? {
            return Err(Error::Unprocessable("Validation failed: You have already voted on this poll".into()));
        }
        for &choice in choices {
            let id = activity_id(ctx, "votes");
            db::polls::insert(tx, post_id, None, choice as i64, &id, now)?;
            poll.options[choice].1 += 1;
            let note = serde_json::json!({
                "id": id, "type": "Note", "name": poll.options[choice].0, "attributedTo": ctx.config.actor_url(),
                "to": [author.uri], "inReplyTo": post.uri,
            });
            let create = outbox::wrap_object(&ctx.config, "Create", &format!("{id}/activity"), note, None);
            queue(tx, &create, std::slice::from_ref(&author.inbox), false, now)?;
        }
        poll.voters_count = Some(poll.voters_count.unwrap_or(0) + 1);
        posts::update_poll_counts(tx, post_id, &poll)
    })?;
    ctx.wake.delivery();
    Ok(())
}
