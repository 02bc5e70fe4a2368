//! The Mastodon JSON shapes: `Account`, `Status`, `Notification`, `Relationship`,
//! `MediaAttachment`, `Poll`, `Context` pieces and the rest. Pure: each function takes
//! values already loaded (see `mastodon::views`) and returns JSON. Ids are numeric
//! strings; dates are Mastodon's `2026-11-26T10:00:00.000Z`.

use crate::config::Config;
use crate::dates::{date_only, mastodon as date};
use crate::db::account::Account as LocalAccount;
use crate::db::actors::RemoteActor;
use crate::db::posts::{Attachment, Poll, Post};
use serde_json::{Value, json};

/// The API id of the local account.
pub const LOCAL_ACCOUNT_ID: &str = "1";

/// Which account an API account id names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AccountRef {
    Local,
    Remote(i64),
}

/// The API id of a remote actor (its row id plus one; `1` is the local account).
pub fn remote_account_id(actor_id: i64) -> String {
    (actor_id + 1).to_string()
}

/// Parses an API account id.
pub fn parse_account_id(id: &str) -> Option<AccountRef> {
    match id.parse::<i64>().ok()? {
        1 => Some(AccountRef::Local),
        n if n > 1 => Some(AccountRef::Remote(n - 1)),
        _ => None,
    }
}

/// Counts of the local account: (followers, following, statuses, last status time).
#[derive(Debug, Clone, Copy, Default)]
pub struct LocalCounts {
    pub followers: i64,
    pub following: i64,
    pub statuses: i64,
    pub last_status_at: Option<i64>,
}

fn fields_of(fields_json: &str) -> Vec<Value> {
    serde_json::from_str::<Vec<Value>>(fields_json)
        .unwrap_or_default()
        .into_iter()
        .map(|f| {
            let value = f.get("value_html").or_else(|| f.get("value")).cloned().unwrap_or(json!(""));
            json!({"name": f.get("name").cloned().unwrap_or(json!("")), "value": value, "verified_at": null})
        })
        .collect()
}

/// The local account as an `Account`.
pub fn local_account(
    config: &Config,
    a: &LocalAccount,
    counts: LocalCounts,
    avatar: &str,
    header: &str,
) -> Value {
    json!({
        "id": LOCAL_ACCOUNT_ID,
        "username": a.username,
        "acct": a.username,
        "display_name": a.display_name,
        "locked": a.locked,
        "bot": a.bot,
        "discoverable": a.discoverable,
        "indexable": a.discoverable,
        "group": false,
        "created_at": date(a.created_at - a.created_at % 86_400_000),
        "note": a.note_html,
        "url": format!("{}/@{}", config.public_url, a.username),
        "uri": config.actor_url(),
        "avatar": avatar,
        "avatar_static": avatar,
        "header": header,
        "header_static": header,
        "followers_count": counts.followers,
        "following_count": counts.following,
        "statuses_count": counts.statuses,
        "last_status_at": counts.last_status_at.map(date_only),
        "hide_collections": false,
        "noindex": !a.discoverable,
        "emojis": [],
        "roles": [],
        "fields": fields_of(&a.fields_json),
    })
}

/// The `source` block `verify_credentials` adds for the owner.
pub fn account_source(a: &LocalAccount, note_source: &str, follow_requests: i64) -> Value {
    json!({
        "privacy": "public",
        "sensitive": false,
        "language": null,
        "note": note_source,
        "fields": serde_json::from_str::<Vec<Value>>(&a.fields_json).unwrap_or_default().into_iter()
            .map(|f| json!({"name": f.get("name").cloned().unwrap_or(json!("")), "value": f.get("value").cloned().unwrap_or(json!("")), "verified_at": null}))
            .collect::<Vec<_>>(),
        "follow_requests_count": follow_requests,
    })
}

/// A remote actor as an `Account`. `media` maps a remote image URL to the URL kith serves it at.
pub fn remote_account(a: &RemoteActor, media: &dyn Fn(Option<&str>, &str) -> String) -> Value {
    let avatar = media(a.avatar_url.as_deref(), "avatar");
    let header = media(a.header_url.as_deref(), "header");
    json!({
        "id": remote_account_id(a.id),
        "username": a.username,
        "acct": a.acct(),
        "display_name": a.display_name,
        "locked": a.locked,
        "bot": a.kind == "Service" || a.kind == "Application",
        "discoverable": a.discoverable,
        "indexable": false,
        "group": a.kind == "Group",
        "created_at": date(a.published_at.unwrap_or(a.fetched_at) / 86_400_000 * 86_400_000),
        "note": a.note_html,
        "url": a.url.clone().unwrap_or_else(|| a.uri.clone()),
        "uri": a.uri,
        "avatar": avatar,
        "avatar_static": avatar,
        "header": header,
        "header_static": header,
        "followers_count": 0,
        "following_count": 0,
        "statuses_count": 0,
        "last_status_at": null,
        "hide_collections": true,
        "noindex": !a.discoverable,
        "emojis": [],
        "roles": [],
        "fields": fields_of(&a.fields_json),
    })
}

/// A `MediaAttachment`. `url` is where kith serves the file; `remote_url` the origin, if remote.
pub fn media_attachment(
    id: i64,
    a: &Attachment,
    url: &str,
    preview_url: &str,
    remote_url: Option<&str>,
) -> Value {
    let meta = match (a.width, a.height) {
        (Some(w), Some(h)) if h > 0 => {
            json!({"original": {"width": w, "height": h, "size": format!("{w}x{h}"), "aspect": w as f64 / h as f64}})
        }
        _ => json!({}),
    };
    json!({
        "id": id.to_string(),
        "type": crate::media::kind_of(&a.media_type),
        "url": url,
        "preview_url": preview_url,
        "remote_url": remote_url,
        "preview_remote_url": null,
        "text_url": null,
        "meta": meta,
        "description": if a.description.is_empty() { Value::Null } else { json!(a.description) },
        "blurhash": a.blurhash,
    })
}

/// A `Poll`. `own_votes` are the owner's choices (empty when not voted).
pub fn poll(post_id: i64, p: &Poll, own_votes: &[i64], now: i64) -> Value {
    let expired = p.closed_at.is_some() || p.expires_at.is_some_and(|e| e <= now);
    let votes: i64 = p.options.iter().map(|(_, v)| v).sum();
    json!({
        "id": post_id.to_string(),
        "expires_at": p.expires_at.map(date),
        "expired": expired,
        "multiple": p.multiple,
        "votes_count": votes,
        "voters_count": p.voters_count,
        "options": p.options.iter().map(|(t, v)| json!({"title": t, "votes_count": v})).collect::<Vec<_>>(),
        "emojis": [],
        "voted": !own_votes.is_empty(),
        "own_votes": own_votes,
    })
}

/// What a `Status` needs besides the post itself.
pub struct StatusParts {
    pub account: Value,
    pub media: Vec<Value>,
    pub mentions: Vec<Value>,
    pub tags: Vec<String>,
    pub poll: Option<Value>,
    pub counts: (i64, i64, i64),
    pub flags: (bool, bool, bool),
    pub in_reply_to: Option<(String, String)>,
    pub reblog: Option<Value>,
    pub application: Option<Value>,
    /// The `PreviewCard` of the post's first link, when its page gave one.
    pub card: Option<Value>,
}

/// A `Status`.
pub fn status(config: &Config, post: &Post, parts: StatusParts) -> Value {
    let (replies, reblogs, favourites) = parts.counts;
    let (favourited, reblogged, bookmarked) = parts.flags;
    let url = post.url.clone().or_else(|| {
        post.is_local()
            .then(|| crate::ap::note::local_url(config, post.id))
    });
    json!({
        "id": post.id.to_string(),
        "uri": post.uri,
        "url": url,
        "created_at": date(post.published_at),
        "edited_at": post.edited_at.map(date),
        "account": parts.account,
        "content": post.content_html,
        "text": post.source_text,
        "visibility": post.visibility,
        "sensitive": post.sensitive,
        "spoiler_text": post.spoiler_text,
        "media_attachments": parts.media,
        "application": parts.application,
        "mentions": parts.mentions,
        "tags": parts.tags.iter().map(|t| json!({"name": t, "url": format!("{}/tags/{t}", config.public_url)})).collect::<Vec<_>>(),
        "emojis": [],
        "reblogs_count": reblogs,
        "favourites_count": favourites,
        "replies_count": replies,
        "in_reply_to_id": parts.in_reply_to.as_ref().map(|(id, _)| id.clone()),
        "in_reply_to_account_id": parts.in_reply_to.as_ref().map(|(_, a)| a.clone()),
        "reblog": parts.reblog,
        "poll": parts.poll,
        "card": parts.card,
        "language": post.language,
        "favourited": favourited,
        "reblogged": reblogged,
        "muted": false,
        "bookmarked": bookmarked,
        "pinned": post.is_local().then_some(post.pinned_at.is_some()),
        "filtered": [],
    })
}

/// A `PreviewCard`, with `image` already proxied through the media cache. kith reads
/// no oEmbed, so the type is always `link` and `html`/`embed_url` are empty; the
/// picture's size is not known when the card is made, so `width` and `height` are 0
/// (Mastodon's own value for unknown) and `blurhash` is null.
pub fn preview_card(card: &crate::db::cards::Card, image: Option<String>) -> Value {
    let authors: Vec<Value> = (!card.author_name.is_empty() || !card.author_url.is_empty())
        .then(|| json!({"name": card.author_name, "url": card.author_url, "account": null}))
        .into_iter()
        .collect();
    json!({
        "url": card.url,
        "title": card.title,
        "description": card.description,
        "language": null,
        "type": "link",
        "author_name": card.author_name,
        "author_url": card.author_url,
        "authors": authors,
        "provider_name": card.provider_name,
        "provider_url": "",
        "html": "",
        "width": 0,
        "height": 0,
        "image": image,
        "image_description": "",
        "embed_url": "",
        "blurhash": null,
        "published_at": card.published_at.map(date),
    })
}

/// A `Mention` inside a status.
pub fn mention(id: &str, username: &str, acct: &str, url: &str) -> Value {
    json!({"id": id, "username": username, "acct": acct, "url": url})
}

/// A `Relationship` with a remote actor.
#[allow(clippy::too_many_arguments)]
pub fn relationship(
    id: &str,
    following: bool,
    requested: bool,
    followed_by: bool,
    blocking: bool,
    blocked_by: bool,
    muting: bool,
    requested_by: bool,
) -> Value {
    json!({
        "id": id,
        "following": following,
        "showing_reblogs": following,
        "notifying": false,
        "languages": null,
        "followed_by": followed_by,
        "blocking": blocking,
        "blocked_by": blocked_by,
        "muting": muting,
        "muting_notifications": muting,
        "requested": requested,
        "requested_by": requested_by,
        "domain_blocking": false,
        "endorsed": false,
        "note": "",
    })
}

/// The Mastodon notification type of a stored notification kind.
pub fn notification_type(kind: &str) -> &str {
    match kind {
        "reply" => "mention",
        "reaction" => "favourite",
        "report" => "admin.report",
        other => other,
    }
}

/// A `Notification`.
pub fn notification(
    id: i64,
    kind: &str,
    created_at: i64,
    account: Value,
    status: Option<Value>,
) -> Value {
    json!({
        "id": id.to_string(),
        "type": notification_type(kind),
        "created_at": date(created_at),
        "account": account,
        "status": status,
        "group_key": format!("ungrouped-{id}"),
    })
}

/// A `Tag`.
pub fn tag(config: &Config, name: &str, following: bool) -> Value {
    json!({"name": name, "url": format!("{}/tags/{name}", config.public_url), "history": [], "following": following})
}

/// A `FeaturedTag`: the owner's use count of it and the day of the last use.
pub fn featured_tag(
    config: &Config,
    id: i64,
    name: &str,
    statuses_count: i64,
    last_status_at: Option<i64>,
) -> Value {
    json!({
        "id": id.to_string(),
        "name": name,
        "url": format!("{}/tags/{}", config.public_url, name.to_lowercase()),
        "statuses_count": statuses_count,
        "last_status_at": last_status_at.map(date_only),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_round_trip() {
        assert_eq!(parse_account_id(LOCAL_ACCOUNT_ID), Some(AccountRef::Local));
        assert_eq!(
            parse_account_id(&remote_account_id(41)),
            Some(AccountRef::Remote(41))
        );
        assert_eq!(parse_account_id("0"), None);
        assert_eq!(parse_account_id("x"), None);
    }

    #[test]
    fn status_has_mastodon_fields() {
        let c = Config::parse("public_url = \"https://k.example\"\nusername = \"me\"").unwrap();
        let post = Post {
            id: 42,
            uri: "https://k.example/users/me/statuses/42".into(),
            visibility: "public".into(),
            published_at: 1_795_687_200_123,
            ..Post::default()
        };
        let parts = StatusParts {
            account: json!({"id": "1"}),
            media: vec![],
            mentions: vec![],
            tags: vec!["rust".into()],
            poll: None,
            counts: (1, 2, 3),
            flags: (true, false, false),
            in_reply_to: None,
            reblog: None,
            application: None,
            card: None,
        };
        let s = status(&c, &post, parts);
        assert_eq!(s["id"], "42");
        assert_eq!(s["created_at"], "2026-11-26T10:00:00.123Z");
        assert_eq!(s["url"], "https://k.example/@me/42");
        assert_eq!(s["favourites_count"], 3);
        assert_eq!(s["favourited"], true);
        assert!(s["card"].is_null());
        assert_eq!(s["tags"][0]["name"], "rust");
        assert_eq!(s["pinned"], false);
    }

    #[test]
    fn polls_and_media() {
        let p = Poll {
            multiple: false,
            options: vec![("a".into(), 2), ("b".into(), 1)],
            voters_count: Some(3),
            expires_at: Some(10),
            closed_at: None,
        };
        let v = poll(5, &p, &[0], 20);
        assert_eq!(v["expired"], true);
        assert_eq!(v["votes_count"], 3);
        assert_eq!(v["own_votes"][0], 0);
        // A GIF is served as the GIF it is: `gifv` would make apps play it as a video.
        assert_eq!(crate::media::kind_of("image/gif"), "image");
        let a = Attachment {
            media_type: "image/png".into(),
            width: Some(4),
            height: Some(2),
            ..Attachment::default()
        };
        let m = media_attachment(9, &a, "https://k/x.png", "https://k/x.png", None);
        assert_eq!(m["meta"]["original"]["aspect"], 2.0);
        assert_eq!(m["type"], "image");
    }
}
