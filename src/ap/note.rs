//! Notes in both directions: `parse_note` turns a remote `Note`/`Article`/`Page`/
//! `Question` into storable values with the caps and origin checks of SECURITY.md
//! (23, 43, 47, 48), and `build_note` renders a stored local post as a `Note` or
//! `Question`. Pure: no I/O.

use crate::ap::resolve::{domain_of, id_of};
use crate::ap::{PUBLIC, context};
use crate::config::Config;
use crate::db::posts::{Attachment, Mention, Parts, Poll, Post};
use crate::error::{Error, Result};
use crate::text;
use serde_json::{Value, json};
use url::Url;

/// Object types stored as posts.
pub const NOTE_TYPES: &[&str] = &["Note", "Article", "Page", "Question"];
const MAX_ATTACHMENTS: usize = 16;
const MAX_POLL_OPTIONS: usize = 20;

/// A remote note, checked and capped, ready to store.
#[derive(Debug, Clone)]
pub struct ParsedNote {
    pub post: Post,
    pub parts: Parts,
    pub author_uri: String,
    /// `updated`, when the object carries one.
    pub updated_at: Option<i64>,
}

/// The ids in a field that may be one id, one object, or a list of either (at most 200).
pub fn ids(v: Option<&Value>) -> Vec<String> {
    match v {
        Some(Value::Array(items)) => items
            .iter()
            .filter_map(id_of)
            .take(200)
            .map(str::to_string)
            .collect(),
        Some(other) => id_of(other)
            .map(|s| vec![s.to_string()])
            .unwrap_or_default(),
        None => Vec::new(),
    }
}

fn is_public(uri: &str) -> bool {
    uri == PUBLIC || uri == "as:Public" || uri == "Public"
}

/// Visibility from addressing, as Mastodon derives it.
pub fn visibility(to: &[String], cc: &[String], followers_url: Option<&str>) -> &'static str {
    if to.iter().any(|u| is_public(u)) {
        "public"
    } else if cc.iter().any(|u| is_public(u)) {
        "unlisted"
    } else if followers_url.is_some_and(|f| to.iter().chain(cc).any(|u| u == f)) {
        "private"
    } else {
        "direct"
    }
}

fn first_str<'a>(obj: &'a Value, key: &str) -> Option<&'a str> {
    obj.get(key).and_then(Value::as_str)
}

/// The object's language, from `contentMap` keys.
fn language(obj: &Value) -> Option<String> {
    let map = obj.get("contentMap")?.as_object()?;
    map.keys().next().filter(|k| k.len() <= 16).cloned()
}

fn content_html(obj: &Value) -> String {
    let raw = first_str(obj, "content")
        .or_else(|| {
            obj.get("contentMap")
                .and_then(Value::as_object)
                .and_then(|m| m.values().next()?.as_str())
        })
        .unwrap_or("");
    let mut html = text::sanitize_html(raw, text::MAX_CONTENT_BYTES);
    if first_str(obj, "type") != Some("Note")
        && let Some(name) = first_str(obj, "name").filter(|n| !n.is_empty())
    {
        // Articles and pages carry a title: show it first, as Mastodon does.
        let title = maud::html! { p { strong { (text::clean_plain(name, 200)) } } };
        html = format!("{}{html}", title.into_string());
    }
    html
}

fn mentions_and_tags(obj: &Value) -> (Vec<Mention>, Vec<String>) {
    let mut mentions = Vec::new();
    let mut tags = Vec::new();
    let list = match obj.get("tag") {
        Some(Value::Array(items)) => items.iter().take(200).collect(),
        Some(one @ Value::Object(_)) => vec![one],
        _ => Vec::new(),
    };
    for t in list {
        match first_str(t, "type") {
            Some("Mention") if mentions.len() < text::MAX_MENTIONS => {
                if let Some(href) = first_str(t, "href").and_then(|h| Url::parse(h).ok()) {
                    let name = first_str(t, "name").unwrap_or("").trim_start_matches('@');
                    let username = name.split('@').next().unwrap_or("");
                    mentions.push(Mention {
                        actor_uri: href.to_string(),
                        username: text::clean_plain(username, 100),
                        domain: domain_of(&href),
                        href: None,
                    });
                }
            }
            Some("Hashtag") if tags.len() < text::MAX_HASHTAGS => {
                let name = first_str(t, "name").unwrap_or("").trim_start_matches('#');
                let name = text::clean_plain(name, text::MAX_HASHTAG_CHARS).to_lowercase();
                if !name.is_empty() && !tags.contains(&name) {
                    tags.push(name);
                }
            }
            _ => {}
        }
    }
    (mentions, tags)
}

fn attachments(obj: &Value) -> Vec<Attachment> {
    let list: Vec<&Value> = match obj.get("attachment") {
        Some(Value::Array(items)) => items.iter().collect(),
        Some(one @ Value::Object(_)) => vec![one],
        _ => Vec::new(),
    };
    list.into_iter()
        .filter_map(|a| {
            let url = match a.get("url") {
                Some(Value::String(s)) => s.clone(),
                Some(Value::Array(items)) => items
                    .iter()
                    .find_map(|i| first_str(i, "href").or(i.as_str()))?
                    .to_string(),
                Some(obj @ Value::Object(_)) => first_str(obj, "href")?.to_string(),
                _ => return None,
            };
            let parsed = Url::parse(&url)
                .ok()
                .filter(|u| matches!(u.scheme(), "http" | "https"))?;
            Some(Attachment {
                id: 0,
                media_id: None,
                remote_url: Some(parsed.to_string()),
                media_type: text::clean_plain(first_str(a, "mediaType").unwrap_or(""), 100),
                description: text::clean_plain(first_str(a, "name").unwrap_or(""), 1500),
                blurhash: first_str(a, "blurhash")
                    .filter(|b| b.len() <= 100)
                    .map(str::to_string),
                width: a
                    .get("width")
                    .and_then(Value::as_i64)
                    .filter(|w| (1..=100_000).contains(w)),
                height: a
                    .get("height")
                    .and_then(Value::as_i64)
                    .filter(|h| (1..=100_000).contains(h)),
            })
        })
        .take(MAX_ATTACHMENTS)
        .collect()
}

fn poll(obj: &Value) -> Option<Poll> {
    if first_str(obj, "type") != Some("Question") {
        return None;
    }
    let (multiple, list) = match (obj.get("oneOf"), obj.get("anyOf")) {
        (Some(Value::Array(l)), _) => (false, l),
        (_, Some(Value::Array(l))) => (true, l),
        _ => return None,
    };
    let options = list
        .iter()
        .take(MAX_POLL_OPTIONS)
        .map(|o| {
            let title = text::clean_plain(first_str(o, "name").unwrap_or(""), 200);
            let votes = o
                .get("replies")
                .and_then(|r| r.get("totalItems"))
                .and_then(Value::as_i64)
                .unwrap_or(0);
            (title, votes.max(0))
        })
        .collect();
    let closed = first_str(obj, "closed").and_then(crate::dates::parse_rfc3339);
    Some(Poll {
        multiple,
        options,
        voters_count: obj.get("votersCount").and_then(Value::as_i64),
        expires_at: first_str(obj, "endTime")
            .and_then(crate::dates::parse_rfc3339)
            .or(closed),
        closed_at: closed,
    })
}

/// Parses a remote note object. `author_followers` is the author's followers
/// collection (for the followers-only test). The author must be on the object's host.
pub fn parse_note(obj: &Value, author_followers: Option<&str>, now: i64) -> Result<ParsedNote> {
    let bad = |why: &str| Error::BadRequest(format!("unusable object: {why}"));
    let kind = first_str(obj, "type").ok_or_else(|| bad("no type"))?;
    if !NOTE_TYPES.contains(&kind) {
        return Err(bad("not a note"));
    }
    let id = first_str(obj, "id").ok_or_else(|| bad("no id"))?;
    let id_url = Url::parse(id).map_err(|_| bad("id is not a URL"))?;
    let author = obj.get("attributedTo").and_then(|v| match v {
        Value::Array(items) => items.iter().find_map(id_of),
        other => id_of(other),
    });
    let author = author.ok_or_else(|| bad("no attributedTo"))?;
    let author_url = Url::parse(author).map_err(|_| bad("attributedTo is not a URL"))?;
    if domain_of(&author_url) != domain_of(&id_url) {
        return Err(bad(
            "the author is on another host than the object (SECURITY.md 23)",
        ));
    }
    let to = ids(obj.get("to"));
    let cc = ids(obj.get("cc"));
    let (mentions, tags) = mentions_and_tags(obj);
    let published = first_str(obj, "published")
        .and_then(crate::dates::parse_rfc3339)
        .unwrap_or(now)
        .min(now + 3_600_000);
    let mut audience = to.clone();
    audience.extend(cc.iter().cloned());
    let post = Post {
        id: 0,
        uri: id.to_string(),
        url: obj
            .get("url")
            .and_then(|u| match u {
                Value::Array(items) => items.iter().find_map(id_of).map(str::to_string),
                other => id_of(other).map(str::to_string),
            })
            .filter(|u| Url::parse(u).is_ok_and(|u| matches!(u.scheme(), "http" | "https"))),
        actor_id: None,
        kind: kind.to_string(),
        content_html: content_html(obj),
        source_text: None,
        spoiler_text: text::clean_plain(first_str(obj, "summary").unwrap_or(""), 1000),
        sensitive: obj
            .get("sensitive")
            .and_then(Value::as_bool)
            .unwrap_or(false),
        visibility: visibility(&to, &cc, author_followers).to_string(),
        language: language(obj),
        in_reply_to_uri: obj.get("inReplyTo").and_then(id_of).map(str::to_string),
        reblog_of_id: None,
        audience_json: serde_json::to_string(&audience).unwrap_or_else(|_| "[]".into()),
        published_at: published,
        edited_at: None,
        pinned_at: None,
        deleted_at: None,
    };
    Ok(ParsedNote {
        post,
        parts: Parts {
            mentions,
            tags,
            attachments: attachments(obj),
            poll: poll(obj),
        },
        author_uri: author.to_string(),
        updated_at: first_str(obj, "updated").and_then(crate::dates::parse_rfc3339),
    })
}

/// The public URL of a local post's page.
pub fn local_url(config: &Config, post_id: i64) -> String {
    format!("{}/@{}/{post_id}", config.public_url, config.username)
}

/// Renders a local post as a `Note` (or `Question` when it has a poll).
pub fn build_note(
    config: &Config,
    post: &Post,
    parts: &Parts,
    in_reply_to_author: Option<&str>,
) -> Value {
    let audience = post.audience();
    let (to, cc) = split_audience(config, &post.visibility, &audience, in_reply_to_author);
    let tag: Vec<Value> = parts
        .mentions
        .iter()
        .map(|m| json!({"type": "Mention", "href": m.actor_uri, "name": format!("@{}@{}", m.username, m.domain)}))
        .chain(parts.tags.iter().map(|t| {
            json!({"type": "Hashtag", "href": format!("{}/tags/{t}", config.public_url), "name": format!("#{t}")})
        }))
        .collect();
    let attachment: Vec<Value> = parts
        .attachments
        .iter()
        .map(|a| {
            let mut d = json!({"type": "Document", "mediaType": a.media_type, "url": a.remote_url, "name": a.description});
            if let Some(b) = &a.blurhash {
                d["blurhash"] = json!(b);
            }
            if let (Some(w), Some(h)) = (a.width, a.height) {
                d["width"] = json!(w);
                d["height"] = json!(h);
            }
            d
        })
        .collect();
    let mut note = json!({
        "@context": context(),
        "id": post.uri,
        "type": if parts.poll.is_some() { "Question" } else { "Note" },
        "attributedTo": config.actor_url(),
        "content": post.content_html,
        "published": crate::dates::iso8601(post.published_at),
        "url": post.url.clone().unwrap_or_else(|| local_url(config, post.id)),
        "to": to,
        "cc": cc,
        "sensitive": post.sensitive,
        "summary": if post.spoiler_text.is_empty() { Value::Null } else { json!(post.spoiler_text) },
        "inReplyTo": post.in_reply_to_uri,
        "tag": tag,
        "attachment": attachment,
        "replies": {"id": format!("{}/replies", post.uri), "type": "Collection", "totalItems": 0},
    });
    if let Some(lang) = &post.language {
        note["contentMap"] = json!({ lang: post.content_html });
    }
    if let Some(edited) = post.edited_at {
        note["updated"] = json!(crate::dates::iso8601(edited));
    }
    if let Some(poll) = &parts.poll {
        add_poll(&mut note, poll);
    }
    note
}

fn add_poll(note: &mut Value, poll: &Poll) {
    let options: Vec<Value> = poll
        .options
        .iter()
        .map(|(title, votes)| json!({"type": "Note", "name": title, "replies": {"type": "Collection", "totalItems": votes}}))
        .collect();
    note[if poll.multiple { "anyOf" } else { "oneOf" }] = json!(options);
    if let Some(end) = poll.expires_at {
        note["endTime"] = json!(crate::dates::iso8601(end));
    }
    if let Some(closed) = poll.closed_at {
        note["closed"] = json!(crate::dates::iso8601(closed));
    }
    note["votersCount"] = json!(poll.voters_count.unwrap_or(0));
}

/// The stored audience split back into `to` and `cc` by the visibility rules.
fn split_audience(
    config: &Config,
    visibility: &str,
    audience: &[String],
    reply_author: Option<&str>,
) -> (Vec<String>, Vec<String>) {
    let mentioned: Vec<String> = audience
        .iter()
        .filter(|u| !is_public(u) && !u.ends_with("/followers"))
        .cloned()
        .chain(reply_author.map(str::to_string))
        .fold(Vec::new(), |mut acc, u| {
            if !acc.contains(&u) {
                acc.push(u);
            }
            acc
        });
    let aud = crate::ap::outbox::audience(config, visibility, &mentioned);
    (aud.to, aud.cc)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn note() -> Value {
        json!({
            "id": "https://r.example/users/bob/statuses/1",
            "type": "Note",
            "attributedTo": "https://r.example/users/bob",
            "content": "<p>Hello <script>alert(1)</script><a href=\"javascript:x\">x</a></p>",
            "published": "2026-11-26T10:00:00Z",
            "to": ["https://www.w3.org/ns/activitystreams#Public"],
            "cc": ["https://r.example/users/bob/followers"],
            "tag": [
                {"type": "Mention", "href": "https://k.example/users/me", "name": "@me@k.example"},
                {"type": "Hashtag", "href": "https://r.example/tags/Rust", "name": "#Rust"}
            ],
            "attachment": [{"type": "Document", "mediaType": "image/png", "url": "https://r.example/a.png", "name": "alt", "width": 10, "height": 5}],
            "inReplyTo": "https://k.example/users/me/statuses/9"
        })
    }

    #[test]
    fn parses_and_sanitises() {
        let now = 1_795_700_000_000;
        let p = parse_note(&note(), Some("https://r.example/users/bob/followers"), now).unwrap();
        assert_eq!(p.post.visibility, "public");
        assert!(
            !p.post.content_html.contains("script") && !p.post.content_html.contains("javascript")
        );
        assert_eq!(p.parts.mentions[0].actor_uri, "https://k.example/users/me");
        assert_eq!(p.parts.tags, vec!["rust".to_string()]);
        assert_eq!(p.parts.attachments[0].width, Some(10));
        assert_eq!(
            p.post.in_reply_to_uri.as_deref(),
            Some("https://k.example/users/me/statuses/9")
        );
        assert_eq!(p.post.published_at, 1_795_687_200_000);
    }

    #[test]
    fn origin_and_visibility() {
        let mut n = note();
        n["attributedTo"] = json!("https://evil.example/users/eve");
        assert!(
            parse_note(&n, None, 0).is_err(),
            "sec_23: cross-host author"
        );
        let f = "https://r.example/users/bob/followers".to_string();
        let p = PUBLIC.to_string();
        assert_eq!(visibility(std::slice::from_ref(&p), &[], None), "public");
        assert_eq!(
            visibility(std::slice::from_ref(&f), &[p], Some(&f)),
            "unlisted"
        );
        assert_eq!(
            visibility(std::slice::from_ref(&f), &[], Some(&f)),
            "private"
        );
        assert_eq!(
            visibility(&["https://k.example/users/me".into()], &[], Some(&f)),
            "direct"
        );
        assert_eq!(visibility(&["as:Public".into()], &[], None), "public");
    }

    #[test]
    fn question_becomes_a_poll() {
        let mut n = note();
        n["type"] = json!("Question");
        n["oneOf"] = json!([{"type": "Note", "name": "yes", "replies": {"totalItems": 3}}, {"type": "Note", "name": "no"}]);
        n["endTime"] = json!("2026-12-01T00:00:00Z");
        let p = parse_note(&n, None, 0).unwrap();
        let poll = p.parts.poll.unwrap();
        assert!(!poll.multiple);
        assert_eq!(
            poll.options,
            vec![("yes".to_string(), 3), ("no".to_string(), 0)]
        );
        assert!(poll.expires_at.is_some());
    }

    #[test]
    fn builds_mastodon_shaped_notes() {
        let c = Config::parse("public_url = \"https://k.example\"\nusername = \"me\"").unwrap();
        let post = Post {
            id: 7,
            uri: "https://k.example/users/me/statuses/7".into(),
            kind: "Note".into(),
            content_html: "<p>hi</p>".into(),
            visibility: "public".into(),
            audience_json: "[\"https://r.example/users/bob\"]".into(),
            published_at: 0,
            ..Post::default()
        };
        let parts = Parts {
            tags: vec!["rust".into()],
            ..Parts::default()
        };
        let n = build_note(&c, &post, &parts, None);
        assert_eq!(n["type"], "Note");
        assert_eq!(n["to"][0], PUBLIC);
        assert_eq!(n["cc"][0], "https://k.example/users/me/followers");
        assert_eq!(n["cc"][1], "https://r.example/users/bob");
        assert_eq!(n["url"], "https://k.example/@me/7");
        assert_eq!(n["tag"][0]["name"], "#rust");
        assert!(n["summary"].is_null());
    }
}
