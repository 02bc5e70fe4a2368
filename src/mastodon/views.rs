//! Loading what the entities need: accounts, statuses (with their boosted original,
//! media, mentions, counts and the owner's flags) and notifications, read in one
//! connection and handed to the pure builders in `entities`. Every status is built
//! for a viewer and checked with `crate::visibility` first, boosted original included.

use super::entities::{self, AccountRef, LocalCounts, StatusParts};
use crate::ctx::Ctx;
use crate::db::Conn;
use crate::db::actors::RemoteActor;
use crate::db::posts::{self, Post};
use crate::db::{self, follows, notifications, polls};
use crate::error::{Error, Result};
use crate::visibility::{self, Viewer};
use serde_json::Value;

/// The URL of an embedded static file, absolute.
pub fn static_url(ctx: &Ctx, name: &str) -> String {
    format!("{}{}", ctx.config.public_url, crate::assets::url(name))
}

fn remote_media(ctx: &Ctx) -> impl Fn(Option<&str>, &str) -> String + '_ {
    move |url: Option<&str>, kind: &str| match url {
        Some(u) => crate::media::cache::proxied(ctx, u),
        None if kind == "avatar" => static_url(ctx, "avatar.png"),
        None => static_url(ctx, "header.png"),
    }
}

/// The local account as an `Account`.
pub fn local_account(ctx: &Ctx, conn: &Conn) -> Result<Value> {
    let mut value = local_account_unmoved(ctx, conn)?;
    let account = db::account::get(conn)?;
    // A moved account names its new home (Mastodon's `moved`), when kith knows it.
    if let Some(target) = &account.moved_to
        && let Some(actor) = db::actors::find_by_uri(conn, target)?
    {
        value["moved"] = entities::remote_account(&actor, &remote_media(ctx));
    }
    Ok(value)
}

/// The local account as an `Account`, without `moved` (as Mastodon nests it: once).
fn local_account_unmoved(ctx: &Ctx, conn: &Conn) -> Result<Value> {
    let account = db::account::get(conn)?;
    let (followers, following) = follows::counts(conn)?;
    let counts = LocalCounts {
        followers,
        following,
        statuses: posts::count_local(conn)?,
        last_status_at: posts::last_local_at(conn)?,
    };
    let avatar = crate::media::avatar_url(ctx, &account);
    let header = crate::media::header_url(ctx, &account);
    Ok(entities::local_account(
        &ctx.config,
        &account,
        counts,
        &avatar,
        &header,
    ))
}

/// A remote actor as an `Account`; one that moved carries its new account as `moved`.
pub fn remote_account(ctx: &Ctx, conn: &Conn, actor: &RemoteActor) -> Result<Value> {
    let mut value = entities::remote_account(actor, &remote_media(ctx));
    if let Some(moved) = moved_to(ctx, conn, actor)? {
        value["moved"] = moved;
    }
    Ok(value)
}

/// The `Account` a remote actor moved to, when the move is confirmed.
fn moved_to(ctx: &Ctx, conn: &Conn, actor: &RemoteActor) -> Result<Option<Value>> {
    Ok(
        match crate::process::moving::confirmed_move(ctx, conn, actor)? {
            Some(crate::process::moving::ConfirmedMove::Here) => {
                Some(local_account_unmoved(ctx, conn)?)
            }
            Some(crate::process::moving::ConfirmedMove::To(t)) => {
                Some(entities::remote_account(&t, &remote_media(ctx)))
            }
            None => None,
        },
    )
}

/// The account a post was written by.
pub fn author(ctx: &Ctx, conn: &Conn, actor_id: Option<i64>) -> Result<Value> {
    match actor_id {
        None => local_account(ctx, conn),
        Some(id) => remote_account(ctx, conn, &db::actors::get(conn, id)?),
    }
}

/// The account an API id names.
pub fn account_by_ref(ctx: &Ctx, conn: &Conn, r: AccountRef) -> Result<Value> {
    match r {
        AccountRef::Local => local_account(ctx, conn),
        AccountRef::Remote(id) => {
            let actor = db::actors::get(conn, id)?;
            if actor.gone_at.is_some() {
                return Err(Error::Gone("This account is gone".into()));
            }
            remote_account(ctx, conn, &actor)
        }
    }
}

/// The `MediaAttachment`s of a post.
fn media(ctx: &Ctx, conn: &Conn, post: &Post) -> Result<Vec<Value>> {
    let list = posts::list_attachments(conn, post.id)?;
    list.iter()
        .map(|a| {
            if let Some(media_id) = a.media_id {
                return crate::mastodon::media::attachment_json(ctx, conn, media_id);
            }
            let remote = a.remote_url.as_deref().unwrap_or("");
            let url = crate::media::cache::proxied(ctx, remote);
            Ok(entities::media_attachment(
                a.id,
                a,
                &url,
                &url,
                Some(remote),
            ))
        })
        .collect()
}

/// A post as a `Status` for `viewer` (a boost embeds its original); a post the viewer
/// may not see, or a boost of one, is `NotFound`.
pub fn status(ctx: &Ctx, conn: &Conn, post: &Post, viewer: &Viewer) -> Result<Value> {
    if !visibility::may_see(conn, viewer, post)? {
        return Err(Error::NotFound("Record not found".into()));
    }
    let account = author(ctx, conn, post.actor_id)?;
    let reblog = match post.reblog_of_id {
        Some(id) => Some(status(ctx, conn, &posts::get(conn, id)?, viewer)?),
        None => None,
    };
    let mentions = posts::list_mentions(conn, post.id)?
        .iter()
        .map(|m| {
            let found = db::actors::find_by_uri(conn, &m.actor_uri)?;
            let (id, acct, url) = match found {
                Some(a) => (
                    entities::remote_account_id(a.id),
                    a.acct(),
                    a.url.clone().unwrap_or(a.uri.clone()),
                ),
                None if m.actor_uri == ctx.config.actor_url() => (
                    entities::LOCAL_ACCOUNT_ID.to_string(),
                    ctx.config.username.clone(),
                    m.actor_uri.clone(),
                ),
                None => (
                    "0".into(),
                    format!("{}@{}", m.username, m.domain),
                    m.actor_uri.clone(),
                ),
            };
            Ok(entities::mention(&id, &m.username, &acct, &url))
        })
        .collect::<Result<Vec<_>>>()?;
    let now = db::now_ms();
    let poll = match posts::find_poll(conn, post.id)? {
        Some(p) => Some(entities::poll(
            post.id,
            &p,
            &polls::owner_choices(conn, post.id)?,
            now,
        )),
        None => None,
    };
    let in_reply_to = match &post.in_reply_to_uri {
        Some(uri) => posts::find_by_uri(conn, uri)?.map(|parent| {
            let account_id = match parent.actor_id {
                None => entities::LOCAL_ACCOUNT_ID.to_string(),
                Some(a) => entities::remote_account_id(a),
            };
            (parent.id.to_string(), account_id)
        }),
        None => None,
    };
    let parts = StatusParts {
        account,
        media: media(ctx, conn, post)?,
        mentions,
        tags: posts::list_tags(conn, post.id)?,
        poll,
        counts: posts::counts(conn, post)?,
        flags: posts::owner_flags(conn, post.id)?,
        in_reply_to,
        reblog,
        application: None,
        card: card(ctx, conn, post.id)?,
    };
    Ok(entities::status(&ctx.config, post, parts))
}

/// The `PreviewCard` of a post, when link previews are on and its page gave one.
pub fn card(ctx: &Ctx, conn: &Conn, post_id: i64) -> Result<Option<Value>> {
    if !ctx.config.federation.link_previews {
        return Ok(None);
    }
    Ok(db::cards::for_post(conn, post_id)?.map(|card| {
        let image = card
            .image_url
            .as_deref()
            .map(|u| crate::media::cache::proxied(ctx, u));
        entities::preview_card(&card, image)
    }))
}

/// Several posts as statuses for `viewer`, leaving out those the viewer may not see.
pub fn statuses(ctx: &Ctx, conn: &Conn, list: &[Post], viewer: &Viewer) -> Result<Vec<Value>> {
    let mut out = Vec::with_capacity(list.len());
    for post in list {
        if visibility::may_see(conn, viewer, post)? {
            out.push(status(ctx, conn, post, viewer)?);
        }
    }
    Ok(out)
}

/// A stored notification as a `Notification`.
pub fn notification(ctx: &Ctx, conn: &Conn, n: &notifications::Notification) -> Result<Value> {
    let actor = db::actors::get(conn, n.actor_id)?;
    let status = match n.post_id {
        Some(id) => match posts::find(conn, id)? {
            // Notifications are the owner's alone.
            Some(p) if p.deleted_at.is_none() => Some(status(ctx, conn, &p, &Viewer::Owner)?),
            _ => None,
        },
        None => None,
    };
    let mut v = entities::notification(
        n.id,
        &n.kind,
        n.created_at,
        remote_account(ctx, conn, &actor)?,
        status,
    );
    if let Some(key) = &n.group_key {
        v["group_key"] = serde_json::json!(key);
    }
    Ok(v)
}
