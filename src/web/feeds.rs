//! The Atom (`/@USER.atom`) and RSS (`/@USER.rss`) feeds of the owner's public posts
//! that start a thread (no boosts, replies, unlisted, followers-only or direct posts).
//! Written with maud, whose escaping is XML's; post HTML goes in as escaped text.
//! Attachments ride along for cross-posters: RSS items carry the first as an
//! `<enclosure>` and each picture as Media RSS `<media:content>` (with its
//! description), Atom entries carry each as a `rel="enclosure"` link.

use crate::ctx::Ctx;
use crate::db::account::Account;
use crate::db::posts::{self, Attachment, Post};
use crate::error::Result;
use crate::http::Resp;
use maud::{Markup, PreEscaped, html};

/// Entries in a feed.
const ENTRIES: i64 = 20;

/// Which feed format.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Atom,
    Rss,
}

/// Splits `alice.rss` into `("alice", Some(Rss))`; a plain name has no feed kind.
pub fn split(name: &str) -> (&str, Option<Kind>) {
    if let Some(n) = name.strip_suffix(".rss") {
        (n, Some(Kind::Rss))
    } else if let Some(n) = name.strip_suffix(".atom") {
        (n, Some(Kind::Atom))
    } else {
        (name, None)
    }
}

/// The HTML of an RSS item: the warning (escaped once for HTML here, and once more
/// for XML by maud, like the content) and the post's HTML.
fn description(post: &Post) -> String {
    if post.spoiler_text.is_empty() {
        return post.content_html.clone();
    }
    let cw = html! { p { "CW: " (post.spoiler_text) } };
    format!("{}{}", cw.into_string(), post.content_html)
}

fn title(post: &Post) -> String {
    super::post::excerpt(post)
}

/// An attachment as a feed shows it: absolute URL, media type, size in bytes (0
/// when kith does not know it: a file that is not its own upload) and description.
struct Enclosure {
    url: String,
    media_type: String,
    length: i64,
    description: String,
}

impl Enclosure {
    fn is_picture(&self) -> bool {
        self.media_type.starts_with("image/")
    }
}

/// A post with its attachments.
type Entry = (Post, Vec<Enclosure>);

fn enclosures(conn: &crate::db::Conn, post: &Post) -> Result<Vec<Enclosure>> {
    posts::list_attachments(conn, post.id)?
        .into_iter()
        .filter_map(|a: Attachment| {
            let url = a.remote_url?;
            let length = match a.media_id {
                Some(id) => crate::db::media::get(conn, id).map(|m| m.size),
                None => Ok(0),
            };
            Some(length.map(|length| Enclosure {
                url,
                media_type: a.media_type,
                length,
                description: a.description,
            }))
        })
        .collect()
}

/// Serves a feed.
pub fn serve(ctx: &Ctx, kind: Kind) -> Result<Resp> {
    let (account, posts) = ctx.db.read(|c| {
        let list = crate::visibility::filter(
            c,
            &crate::visibility::Viewer::Anonymous,
            crate::db::pages::list_feed(c, ENTRIES)?,
        )?;
        let entries = list
            .into_iter()
            .map(|p| enclosures(c, &p).map(|e| (p, e)))
            .collect::<Result<Vec<Entry>>>()?;
        Ok((crate::db::account::get(c)?, entries))
    })?;
    let (content_type, body) = match kind {
        Kind::Atom => (
            "application/atom+xml; charset=utf-8",
            atom(ctx, &account, &posts),
        ),
        Kind::Rss => (
            "application/rss+xml; charset=utf-8",
            rss(ctx, &account, &posts),
        ),
    };
    let xml = format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n{}",
        body.into_string()
    );
    Ok(Resp::bytes(200, content_type, xml.into_bytes())
        .with_header("X-Content-Type-Options", "nosniff")
        .with_header("Cache-Control", "public, max-age=300"))
}

fn names(ctx: &Ctx, account: &Account) -> (String, String) {
    let name = super::render::display_name(&account.display_name, &account.username);
    let profile = format!("{}/@{}", ctx.config.public_url, account.username);
    (
        format!("{name} (@{}@{})", account.username, ctx.config.domain),
        profile,
    )
}

fn atom(ctx: &Ctx, account: &Account, posts: &[Entry]) -> Markup {
    let (title_text, profile) = names(ctx, account);
    let updated = posts
        .first()
        .map(|(p, _)| p.edited_at.unwrap_or(p.published_at))
        .unwrap_or(account.updated_at);
    html! {
        feed xmlns="http://www.w3.org/2005/Atom" {
            id { (profile) }
            title { (title_text) }
            subtitle { (crate::text::html_to_text(&account.note_html)) }
            updated { (crate::dates::iso8601(updated)) }
            link rel="alternate" type="text/html" href=(profile) {}
            link rel="self" type="application/atom+xml" href=(format!("{profile}.atom")) {}
            icon { (crate::media::avatar_url(ctx, account)) }
            author { name { (account.username) } uri { (profile) } }
            @for (p, media) in posts {
                @let url = crate::ap::note::local_url(&ctx.config, p.id);
                entry {
                    id { (p.uri) }
                    title { (title(p)) }
                    link rel="alternate" type="text/html" href=(url) {}
                    published { (crate::dates::iso8601(p.published_at)) }
                    updated { (crate::dates::iso8601(p.edited_at.unwrap_or(p.published_at))) }
                    @if !p.spoiler_text.is_empty() { summary { (p.spoiler_text) } }
                    content type="html" { (description(p)) }
                    @for m in media {
                        link rel="enclosure" type=(m.media_type) href=(m.url)
                            length=[(m.length > 0).then_some(m.length)]
                            title=[(!m.description.is_empty()).then_some(&m.description)] {}
                    }
                }
            }
        }
    }
}

/// The Media RSS element of a picture (maud writes no prefixed element names), with
/// its description, and an adult rating when the post is marked sensitive.
fn media_content(m: &Enclosure, sensitive: bool) -> Markup {
    let text = |s: &str| html! { (s) }.into_string();
    let mut out = format!(
        "<media:content url=\"{}\" type=\"{}\" medium=\"image\"",
        text(&m.url),
        text(&m.media_type)
    );
    if m.length > 0 {
        out.push_str(&format!(" fileSize=\"{}\"", m.length));
    }
    out.push('>');
    if sensitive {
        out.push_str("<media:rating scheme=\"urn:simple\">adult</media:rating>");
    }
    if !m.description.is_empty() {
        out.push_str(&format!(
            "<media:description type=\"plain\">{}</media:description>",
            text(&m.description)
        ));
    }
    out.push_str("</media:content>");
    PreEscaped(out)
}

fn rss(ctx: &Ctx, account: &Account, posts: &[Entry]) -> Markup {
    let (title_text, profile) = names(ctx, account);
    html! {
        rss version="2.0" xmlns:atom="http://www.w3.org/2005/Atom" xmlns:media="http://search.yahoo.com/mrss/" {
            channel {
                title { (title_text) }
                link { (profile) }
                description { (crate::text::html_to_text(&account.note_html)) }
                (PreEscaped(format!(
                    "<atom:link href=\"{}\" rel=\"self\" type=\"application/rss+xml\"/>",
                    maud::html! { (format!("{profile}.rss")) }.into_string()
                )))
                image {
                    url { (crate::media::avatar_url(ctx, account)) }
                    title { (title_text) }
                    link { (profile) }
                }
                @for (p, media) in posts {
                    @let url = crate::ap::note::local_url(&ctx.config, p.id);
                    item {
                        guid isPermaLink="true" { (url) }
                        link { (url) }
                        title { (title(p)) }
                        pubDate { (httpdate::fmt_http_date(std::time::UNIX_EPOCH + std::time::Duration::from_millis(p.published_at.max(0) as u64))) }
                        description { (description(p)) }
                        @if let Some(m) = media.first() {
                            enclosure url=(m.url) length=(m.length) type=(m.media_type) {}
                        }
                        @for m in media.iter().filter(|m| m.is_picture()) {
                            (media_content(m, p.sensitive))
                        }
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn feed_names() {
        assert_eq!(split("alice.rss"), ("alice", Some(Kind::Rss)));
        assert_eq!(split("alice.atom"), ("alice", Some(Kind::Atom)));
        assert_eq!(split("alice"), ("alice", None));
    }

    #[test]
    fn warnings_are_escaped_inside_the_item_html() {
        let post = Post {
            spoiler_text: "<b>cw</b>".into(),
            content_html: "<p>hi</p>".into(),
            ..Post::default()
        };
        assert_eq!(
            description(&post),
            "<p>CW: &lt;b&gt;cw&lt;/b&gt;</p><p>hi</p>"
        );
    }
}
