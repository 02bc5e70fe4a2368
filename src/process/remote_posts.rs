//! Inbound `Create`, `Update` and `Delete`: storing remote posts (with their missing
//! ancestors, fetched within a fixed budget and never recursively), edits kept as
//! history, deletions, and actor updates and deletions. Network work happens before
//! each write transaction.

use crate::ap::note::{NOTE_TYPES, ParsedNote, parse_note};
use crate::ap::object_id;
use crate::ap::resolve::{self, id_of, same_id};
use crate::ctx::Ctx;
use crate::db::actors::RemoteActor;
use crate::db::{self, follows, notifications, posts};
use crate::error::{Error, Result};
use crate::events::Event;
use serde_json::Value;
use url::Url;

/// At most this many ancestors are fetched for one inbound post (SECURITY.md 42).
pub const MAX_ANCESTORS: usize = 10;
/// At most this many fetches are made for one inbound activity (SECURITY.md 42).
pub const MAX_FETCHES: usize = 50;

/// What one inbound activity may still fetch.
pub struct Budget {
    pub fetches: usize,
}

impl Budget {
    /// A fresh budget of `MAX_FETCHES`.
    pub fn new() -> Budget {
        Budget {
            fetches: MAX_FETCHES,
        }
    }

    fn spend(&mut self) -> Result<()> {
        if self.fetches == 0 {
            return Err(Error::Unprocessable("fetch budget exhausted".into()));
        }
        self.fetches -= 1;
        Ok(())
    }
}

impl Default for Budget {
    fn default() -> Self {
        Budget::new()
    }
}

/// The object of a `Create`/`Update`: embedded when it comes from the signer's own
/// host, otherwise fetched from its id (whose answer must carry that id).
fn trusted_object(
    ctx: &Ctx,
    signer: &RemoteActor,
    activity: &Value,
    budget: &mut Budget,
) -> Result<Value> {
    let object = activity.get("object").cloned().unwrap_or(Value::Null);
    let id = id_of(&object)
        .ok_or_else(|| Error::BadRequest("object without id".into()))?
        .to_string();
    let id_url = Url::parse(&id).map_err(|_| Error::BadRequest("object id is not a URL".into()))?;
    if object.is_object() && resolve::domain_of(&id_url) == signer.domain {
        return Ok(object);
    }
    fetch_object(ctx, &id, budget)
}

/// Fetches an object by id with a signed GET; the answer's `id` must be the final URL.
pub fn fetch_object(ctx: &Ctx, id: &str, budget: &mut Budget) -> Result<Value> {
    if resolve::is_local(ctx, id) {
        return Err(Error::BadRequest("will not fetch a local id".into()));
    }
    budget.spend()?;
    let fetched = ctx.get_signed(id)?;
    let doc: Value = serde_json::from_slice(&fetched.body)?;
    let doc_id = doc
        .get("id")
        .and_then(Value::as_str)
        .and_then(|s| Url::parse(s).ok());
    match doc_id {
        Some(doc_id) if same_id(&doc_id, &fetched.final_url) => Ok(doc),
        _ => Err(Error::Unprocessable(
            "fetched object's id does not match its URL (SECURITY.md 20)".into(),
        )),
    }
}

/// The author of a parsed note, fetched if needed (counted against the budget).
fn author_of(ctx: &Ctx, author_uri: &str, budget: &mut Budget) -> Result<RemoteActor> {
    if let Some(a) = ctx.db.read(|c| db::actors::find_by_uri(c, author_uri))?
        && a.gone_at.is_none()
    {
        return Ok(a);
    }
    budget.spend()?;
    resolve::actor(ctx, author_uri)
}

/// Whether the owner has reason to keep this post: its author is followed, it
/// addresses or mentions the owner, it replies to the owner's post, or it is public
/// (or unlisted) with a hashtag the owner follows (as relays deliver).
fn is_relevant(ctx: &Ctx, author: &RemoteActor, note: &ParsedNote) -> Result<bool> {
    let me = ctx.config.actor_url();
    if note.post.audience().iter().any(|u| u == &me)
        || note.parts.mentions.iter().any(|m| m.actor_uri == me)
    {
        return Ok(true);
    }
    if note
        .post
        .in_reply_to_uri
        .as_deref()
        .is_some_and(|r| resolve::is_local(ctx, r))
    {
        return Ok(true);
    }
    if crate::visibility::is_public(&note.post.visibility)
        && ctx
            .db
            .read(|c| db::tags::any_followed(c, &note.parts.tags))?
    {
        return Ok(true);
    }
    Ok(ctx
        .db
        .read(|c| follows::find(c, true, author.id))?
        .is_some())
}

/// `Create` of a note.
pub fn handle_create(ctx: &Ctx, signer: &RemoteActor, activity: &Value) -> Result<()> {
    let mut budget = Budget::new();
    let object = trusted_object(ctx, signer, activity, &mut budget)?;
    let kind = object.get("type").and_then(Value::as_str).unwrap_or("");
    if !NOTE_TYPES.contains(&kind) {
        return Ok(());
    }
    let note = parse_note(&object, signer.followers_url.as_deref(), db::now_ms())?;
    if note.author_uri != signer.uri {
        return Ok(()); // Only the author may create their post.
    }
    if let Some(choice) = poll_vote(&object) {
        return record_vote(ctx, signer, &note, &choice);
    }
    if !is_relevant(ctx, signer, &note)? {
        return Ok(());
    }
    if let Some(parent) = &note.post.in_reply_to_uri {
        // Ancestors are a nicety: a failure to fetch them never loses the post itself.
        if let Err(e) = fetch_ancestors(ctx, parent, &note.post.uri, &mut budget) {
            eprintln!("inbox: ancestors of {} not fetched: {e}", note.post.uri);
        }
    }
    store_note(ctx, signer, note, true)
}

/// A vote in a poll arrives as a note with a `name` (the option) and no content.
fn poll_vote(object: &Value) -> Option<String> {
    let name = object.get("name").and_then(Value::as_str)?;
    let content = object.get("content").and_then(Value::as_str).unwrap_or("");
    (content.is_empty() && object.get("inReplyTo").is_some()).then(|| name.to_string())
}

/// Counts a remote vote in the owner's poll (once per voter, and per option).
fn record_vote(ctx: &Ctx, voter: &RemoteActor, note: &ParsedNote, choice: &str) -> Result<()> {
    let Some(poll_uri) = note.post.in_reply_to_uri.as_deref() else {
        return Ok(());
    };
    let now = db::now_ms();
    ctx.db.write(|tx| {
        let Some(post) = posts::find_by_uri(tx, poll_uri)?.filter(|p| p.is_local()) else {
            return Ok(());
        };
        let Some(mut poll) = posts::find_poll(tx, post.id)? else {
            return Ok(());
        };
        if poll.expires_at.is_some_and(|e| e <= now) || poll.closed_at.is_some() {
            return Ok(());
        }
        let Some(index) = poll.options.iter().position(|(title, _)| title == choice) else {
            return Ok(());
        };
        let voted_before = db::polls::has_voted(tx, post.id, voter.id)?;
        if !poll.multiple && voted_before {
            return Ok(());
        }
        if db::polls::insert(
            tx,
            post.id,
            Some(voter.id),
            index as i64,
            &note.post.uri,
            now,
        )? {
            poll.options[index].1 += 1;
            if !voted_before {
                poll.voters_count = Some(poll.voters_count.unwrap_or(0) + 1);
            }
            posts::update_poll_counts(tx, post.id, &poll)?;
        }
        Ok(())
    })
}

/// Stores a parsed note by `author`; with `notify`, tells the owner about mentions and replies.
fn store_note(ctx: &Ctx, author: &RemoteActor, mut note: ParsedNote, notify: bool) -> Result<()> {
    let me = ctx.config.actor_url();
    let now = db::now_ms();
    note.post.actor_id = Some(author.id);
    note.post.id = crate::ids::at(note.post.published_at);
    let mentions_me =
        note.parts.mentions.iter().any(|m| m.actor_uri == me) || note.post.audience().contains(&me);
    let replies_to_me = note
        .post
        .in_reply_to_uri
        .as_deref()
        .is_some_and(|r| resolve::is_local(ctx, r));
    let inserted = ctx.db.write_grouped(|tx| {
        if !posts::insert(tx, &note.post, &note.parts)? {
            return Ok(false);
        }
        if !notify {
            return Ok(true);
        }
        let kind = if mentions_me {
            Some("mention")
        } else if replies_to_me {
            Some("reply")
        } else {
            None
        };
        if let Some(kind) = kind {
            notifications::insert(tx, kind, author.id, Some(note.post.id), None, now)?;
        }
        Ok(true)
    })?;
    // Posts arriving through the inbox are live news; fetched ancestors and search
    // results are not.
    if inserted && notify {
        ctx.emit(Event::Posted(note.post.id));
        crate::cards::request(ctx, note.post.id, &note.post.content_html);
    }
    Ok(())
}

/// Stores a fetched public or unlisted note (a search by URL); its author is fetched if needed.
pub fn store_fetched(ctx: &Ctx, object: &Value, budget: &mut Budget) -> Result<()> {
    let now = db::now_ms();
    let author = author_of(ctx, &parse_note(object, None, now)?.author_uri, budget)?;
    let note = parse_note(object, author.followers_url.as_deref(), now)?;
    if !matches!(note.post.visibility.as_str(), "public" | "unlisted") {
        return Err(Error::NotFound("Record not found".into()));
    }
    store_note(ctx, &author, note, false)
}

/// Fetches missing ancestors of the post `own_uri`, up to `MAX_ANCESTORS`, iteratively.
/// A chain that loops back to the post itself ends there, so the post is stored (and
/// notified) as itself, not as its own ancestor.
pub fn fetch_ancestors(
    ctx: &Ctx,
    first_parent: &str,
    own_uri: &str,
    budget: &mut Budget,
) -> Result<()> {
    let mut next = Some(first_parent.to_string());
    for _ in 0..MAX_ANCESTORS {
        let Some(uri) = next.take() else {
            return Ok(());
        };
        if uri == own_uri
            || resolve::is_local(ctx, &uri)
            || ctx.db.read(|c| posts::find_by_uri(c, &uri))?.is_some()
        {
            return Ok(());
        }
        let object = fetch_object(ctx, &uri, budget)?;
        let now = db::now_ms();
        let author = author_of(ctx, &parse_note(&object, None, now)?.author_uri, budget)?;
        // Parsed again now that the author's followers collection is known.
        let note = parse_note(&object, author.followers_url.as_deref(), now)?;
        next = note.post.in_reply_to_uri.clone();
        store_note(ctx, &author, note, false)?;
    }
    Ok(())
}

/// `Update` of a note (an edit) or of the signer's own actor.
pub fn handle_update(ctx: &Ctx, signer: &RemoteActor, activity: &Value) -> Result<()> {
    let object = activity.get("object").cloned().unwrap_or(Value::Null);
    let kind = object.get("type").and_then(Value::as_str).unwrap_or("");
    if crate::ap::resolve::ACTOR_TYPES.contains(&kind) {
        // Only the signer's own profile, and only as fetched from its own URL (SECURITY.md 17).
        if id_of(&object) == Some(signer.uri.as_str()) {
            resolve::refresh(ctx, &signer.uri)?;
        }
        return Ok(());
    }
    if !NOTE_TYPES.contains(&kind) {
        return Ok(());
    }
    let mut budget = Budget::new();
    let object = trusted_object(ctx, signer, activity, &mut budget)?;
    let note = parse_note(&object, signer.followers_url.as_deref(), db::now_ms())?;
    let Some(stored) = ctx.db.read(|c| posts::find_by_uri(c, &note.post.uri))? else {
        return Ok(());
    };
    // The stored owner decides, not fields inside the activity (SECURITY.md 26).
    if stored.actor_id != Some(signer.id) || note.author_uri != signer.uri {
        return Ok(());
    }
    // An edit may not move a post in time (SECURITY.md 27).
    if object.get("published").is_some()
        && (note.post.published_at - stored.published_at).abs() >= 1000
    {
        return Ok(());
    }
    let edited_at = note.updated_at.unwrap_or_else(db::now_ms);
    if stored.edited_at.is_some_and(|e| e >= edited_at) {
        return Ok(()); // An older or repeated edit.
    }
    let mut updated = stored.clone();
    updated.content_html = note.post.content_html.clone();
    updated.spoiler_text = note.post.spoiler_text.clone();
    updated.sensitive = note.post.sensitive;
    updated.language = note.post.language.clone();
    updated.edited_at = Some(edited_at);
    let followed = ctx
        .db
        .read(|c| follows::find(c, true, signer.id))?
        .is_some();
    let now = db::now_ms();
    ctx.db.write(|tx| {
        posts::update_content(tx, &updated, &note.parts)?;
        if followed {
            notifications::insert(tx, "update", signer.id, Some(stored.id), None, now)?;
        }
        Ok(())
    })?;
    ctx.emit(Event::Edited(stored.id));
    crate::cards::request(ctx, stored.id, &updated.content_html);
    Ok(())
}

/// `Delete` of a note (by its author) or of the signer's own actor.
pub fn handle_delete(ctx: &Ctx, signer: &RemoteActor, activity: &Value) -> Result<()> {
    let Some(target) = object_id(activity) else {
        return Ok(());
    };
    let now = db::now_ms();
    if target == signer.uri {
        return ctx.db.write(|tx| db::actors::mark_gone(tx, signer.id, now));
    }
    let deleted = ctx.db.write(|tx| match posts::find_by_uri(tx, target)? {
        Some(post) if post.actor_id == Some(signer.id) => {
            posts::delete(tx, post.id)?;
            Ok(Some(post.id))
        }
        _ => Ok(None),
    })?;
    if let Some(id) = deleted {
        ctx.emit(Event::Deleted(id));
    }
    Ok(())
}

/// A post by URL: stored already, or fetched from the network and stored.
pub fn resolve_post(ctx: &Ctx, url: &str) -> Result<posts::Post> {
    if let Some(p) = ctx.db.read(|c| posts::find_by_uri(c, url))? {
        return Ok(p);
    }
    let mut budget = Budget::new();
    let object = fetch_object(ctx, url, &mut budget)?;
    let id = object
        .get("id")
        .and_then(Value::as_str)
        .unwrap_or(url)
        .to_string();
    store_fetched(ctx, &object, &mut budget)?;
    ctx.db
        .read(|c| posts::find_by_uri(c, &id))?
        .ok_or_else(|| Error::NotFound("Record not found".into()))
}
