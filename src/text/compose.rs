//! Rendering the owner's plain text as the HTML Mastodon would write for it.
//!
//! This file owns the markup of composed posts: paragraphs and line breaks, the
//! shortened link display, the `h-card` mention and the hashtag link, all in the shapes
//! Mastodon clients and servers expect. Every byte of the owner's text is escaped here;
//! nothing else may produce this HTML. It must not resolve mentions or do I/O: the
//! caller passes the mentions it resolved, and an unresolved mention stays plain text.

use super::escape_into;
use super::scan::{Mention, Token, tokenize};

/// A resolved mention for rendering: the profile URL the link points at and the actor id.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResolvedMention {
    /// The account's user name.
    pub username: String,
    /// The account's host (its WebFinger domain).
    pub host: String,
    /// The profile page the link points at (the actor's `url`).
    pub href: String,
    /// The actor id; the link falls back to it when `href` is not an http(s) URL.
    pub actor_uri: String,
}

/// The `rel` of every link kith writes into post HTML.
pub(super) const LINK_REL: &str = "nofollow noopener noreferrer";

/// How many characters of a URL (after its scheme) show before the ellipsis.
const SHOWN_URL_CHARS: usize = 30;

/// Renders plain text as Mastodon does: everything escaped, `<p>` paragraphs on blank lines, `<br>` for single newlines, and links, resolved `@mentions` and `#hashtags` (linked under `tag_base`) as Mastodon marks them up.
pub fn render_plain(text: &str, mentions: &[ResolvedMention], tag_base: &str) -> String {
    let text = text.replace("\r\n", "\n").replace('\r', "\n");
    let renderer = Renderer {
        mentions,
        tag_base: tag_base.trim_end_matches('/'),
    };
    let mut out = String::with_capacity(text.len() * 2);
    for paragraph in paragraphs(&text) {
        out.push_str("<p>");
        for token in tokenize(&paragraph) {
            renderer.token(&mut out, token);
        }
        out.push_str("</p>");
    }
    out
}

/// The text's paragraphs: runs of non-blank lines, joined by `\n`.
fn paragraphs(text: &str) -> Vec<String> {
    let mut paragraphs = Vec::new();
    let mut lines: Vec<&str> = Vec::new();
    for line in text.split('\n') {
        if !line.trim().is_empty() {
            lines.push(line);
        } else if !lines.is_empty() {
            paragraphs.push(lines.join("\n"));
            lines.clear();
        }
    }
    if !lines.is_empty() {
        paragraphs.push(lines.join("\n"));
    }
    paragraphs
}

struct Renderer<'a> {
    mentions: &'a [ResolvedMention],
    tag_base: &'a str,
}

impl Renderer<'_> {
    fn token(&self, out: &mut String, token: Token<'_>) {
        match token {
            Token::Text(text) => push_text(out, text),
            Token::Url(url) => push_link(out, url),
            Token::Mention(m) => match self.resolve(&m) {
                Some((r, href)) => self.push_mention(out, r, href),
                None => escape_into(out, m.text),
            },
            Token::Hashtag(tag) => self.push_hashtag(out, tag),
        }
    }

    /// The resolved mention a typed one refers to, and the http(s) URL to link to.
    /// `@user@host` needs the same user and host; a bare `@user` links only when every
    /// resolved mention with that user name is on the same host.
    fn resolve(&self, m: &Mention<'_>) -> Option<(&ResolvedMention, &str)> {
        let mut candidates = self.mentions.iter().filter(|r| {
            r.username.eq_ignore_ascii_case(m.username)
                && m.host.is_none_or(|h| same_host(h, &r.host))
        });
        let first = candidates.next()?;
        if !candidates.all(|r| same_host(&r.host, &first.host)) {
            return None;
        }
        let href = [&first.href, &first.actor_uri]
            .into_iter()
            .find(|u| is_web_url(u))?;
        Some((first, href))
    }

    fn push_mention(&self, out: &mut String, r: &ResolvedMention, href: &str) {
        let ambiguous = self
            .mentions
            .iter()
            .any(|o| o.username.eq_ignore_ascii_case(&r.username) && !same_host(&o.host, &r.host));
        out.push_str(r#"<span class="h-card" translate="no"><a href=""#);
        escape_into(out, href);
        out.push_str(r#"" class="u-url mention">@<span>"#);
        escape_into(out, &r.username);
        if ambiguous {
            out.push('@');
            escape_into(out, &r.host);
        }
        out.push_str("</span></a></span>");
    }

    fn push_hashtag(&self, out: &mut String, tag: &str) {
        out.push_str(r#"<a href=""#);
        escape_into(out, self.tag_base);
        out.push('/');
        push_percent_encoded(out, tag);
        out.push_str(r#"" class="mention hashtag" rel="tag">#<span>"#);
        escape_into(out, tag);
        out.push_str("</span></a>");
    }
}

fn same_host(a: &str, b: &str) -> bool {
    a.to_lowercase() == b.to_lowercase()
}

fn is_web_url(s: &str) -> bool {
    url::Url::parse(s).is_ok_and(|u| matches!(u.scheme(), "http" | "https"))
}

/// Escaped text with each newline as `<br>`.
fn push_text(out: &mut String, text: &str) {
    for (n, line) in text.split('\n').enumerate() {
        if n > 0 {
            out.push_str("<br>");
        }
        escape_into(out, line);
    }
}

/// A link shortened as Mastodon shows it: the scheme (and `www.`) invisible, 30
/// characters shown, the rest invisible behind an ellipsis.
fn push_link(out: &mut String, url: &str) {
    let lower = url.get(..12).unwrap_or(url).to_ascii_lowercase();
    let prefix_len = ["https://www.", "http://www.", "https://", "http://"]
        .iter()
        .find(|p| lower.starts_with(*p))
        .map_or(0, |p| p.len());
    let (prefix, rest) = url.split_at(prefix_len);
    let cut = rest
        .char_indices()
        .nth(SHOWN_URL_CHARS)
        .map_or(rest.len(), |(i, _)| i);
    let (shown, hidden) = rest.split_at(cut);
    out.push_str(r#"<a href=""#);
    escape_into(out, url);
    out.push_str(r#"" rel=""#);
    out.push_str(LINK_REL);
    out.push_str(r#"" target="_blank" translate="no"><span class="invisible">"#);
    escape_into(out, prefix);
    out.push_str(if hidden.is_empty() {
        r#"</span><span class="">"#
    } else {
        r#"</span><span class="ellipsis">"#
    });
    escape_into(out, shown);
    out.push_str(r#"</span><span class="invisible">"#);
    escape_into(out, hidden);
    out.push_str("</span></a>");
}

/// `s` as one URL path segment: ASCII letters, digits and `_` kept, all else `%XX`.
fn push_percent_encoded(out: &mut String, s: &str) {
    const HEX: &[u8; 16] = b"0123456789ABCDEF";
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b == b'_' {
            out.push(char::from(b));
        } else {
            out.push('%');
            out.push(char::from(HEX[usize::from(b >> 4)]));
            out.push(char::from(HEX[usize::from(b & 0xF)]));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const TAGS: &str = "https://kith.example/tags";

    fn plain(text: &str) -> String {
        render_plain(text, &[], TAGS)
    }

    fn bob_at(host: &str) -> ResolvedMention {
        ResolvedMention {
            username: "bob".into(),
            host: host.into(),
            href: format!("https://{host}/@bob"),
            actor_uri: format!("https://{host}/users/bob"),
        }
    }

    fn hcard(href: &str, shown: &str) -> String {
        format!(
            r#"<span class="h-card" translate="no"><a href="{href}" class="u-url mention">@<span>{shown}</span></a></span>"#
        )
    }

    fn tag_link(path: &str, shown: &str) -> String {
        format!(
            r#"<a href="{TAGS}/{path}" class="mention hashtag" rel="tag">#<span>{shown}</span></a>"#
        )
    }

    fn link(href: &str, prefix: &str, shown: &str, hidden: &str) -> String {
        let class = if hidden.is_empty() { "" } else { "ellipsis" };
        format!(
            r#"<a href="{href}" rel="nofollow noopener noreferrer" target="_blank" translate="no"><span class="invisible">{prefix}</span><span class="{class}">{shown}</span><span class="invisible">{hidden}</span></a>"#
        )
    }

    #[test]
    fn escapes_everything() {
        assert_eq!(
            plain("<script>alert('x')</script> & \"q\""),
            "<p>&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt; &amp; &quot;q&quot;</p>"
        );
        assert_eq!(plain("a &amp; b"), "<p>a &amp;amp; b</p>");
    }

    #[test]
    fn paragraphs_and_line_breaks() {
        assert_eq!(plain("one\ntwo\n\nthree"), "<p>one<br>two</p><p>three</p>");
        assert_eq!(plain("a\r\nb\r\n \r\n\n\nc\n"), "<p>a<br>b</p><p>c</p>");
        assert_eq!(plain("\n\nonly\n\n"), "<p>only</p>");
        assert_eq!(plain(""), "");
        assert_eq!(plain(" \n\t\n"), "");
    }

    #[test]
    fn short_link() {
        assert_eq!(
            plain("see https://example.org/a"),
            format!(
                "<p>see {}</p>",
                link("https://example.org/a", "https://", "example.org/a", "")
            )
        );
        assert_eq!(
            plain("http://www.x.org"),
            format!(
                "<p>{}</p>",
                link("http://www.x.org", "http://www.", "x.org", "")
            )
        );
    }

    #[test]
    fn long_link_is_shortened_with_full_href() {
        let url = "https://example.org/very/long/path/that/goes/on";
        assert_eq!(
            plain(url),
            format!(
                "<p>{}</p>",
                link(
                    url,
                    "https://",
                    "example.org/very/long/path/tha",
                    "t/goes/on"
                )
            )
        );
    }

    #[test]
    fn link_trailing_punctuation_stays_outside() {
        assert_eq!(
            plain("(https://x.org/a)."),
            format!(
                "<p>({}).</p>",
                link("https://x.org/a", "https://", "x.org/a", "")
            )
        );
    }

    #[test]
    fn link_query_and_fragment_are_escaped() {
        let out = plain("https://x.org/s?q=a&b=c#top");
        let href = "https://x.org/s?q=a&amp;b=c#top";
        assert_eq!(
            out,
            format!(
                "<p>{}</p>",
                link(href, "https://", "x.org/s?q=a&amp;b=c#top", "")
            )
        );
        let out = plain("say \"https://x.org/a\"");
        let a = link("https://x.org/a", "https://", "x.org/a", "");
        assert_eq!(out, format!("<p>say &quot;{a}&quot;</p>"));
    }

    #[test]
    fn resolved_mentions_link() {
        let out = render_plain("hi @bob@a.org!", &[bob_at("a.org")], TAGS);
        assert_eq!(
            out,
            format!("<p>hi {}!</p>", hcard("https://a.org/@bob", "bob"))
        );
        let out = render_plain("hi @Bob", &[bob_at("a.org")], TAGS);
        assert_eq!(
            out,
            format!("<p>hi {}</p>", hcard("https://a.org/@bob", "bob"))
        );
    }

    #[test]
    fn unresolved_mentions_stay_text() {
        assert_eq!(plain("hi @bob@a.org"), "<p>hi @bob@a.org</p>");
        let out = render_plain("hi @bob@b.org", &[bob_at("a.org")], TAGS);
        assert_eq!(out, "<p>hi @bob@b.org</p>");
    }

    #[test]
    fn same_name_on_two_hosts() {
        let both = [bob_at("a.org"), bob_at("b.org")];
        let out = render_plain("@bob@a.org @bob@b.org @bob", &both, TAGS);
        let expected = format!(
            "<p>{} {} @bob</p>",
            hcard("https://a.org/@bob", "bob@a.org"),
            hcard("https://b.org/@bob", "bob@b.org")
        );
        assert_eq!(out, expected);
    }

    #[test]
    fn mention_href_must_be_web_url() {
        let mut evil = bob_at("a.org");
        evil.href = "javascript:alert(1)".into();
        let out = render_plain("@bob@a.org", std::slice::from_ref(&evil), TAGS);
        assert_eq!(
            out,
            format!("<p>{}</p>", hcard("https://a.org/users/bob", "bob"))
        );
        evil.actor_uri = "data:text/html,x".into();
        assert_eq!(
            render_plain("@bob@a.org", &[evil], TAGS),
            "<p>@bob@a.org</p>"
        );
    }

    #[test]
    fn mention_fields_are_escaped() {
        let odd = ResolvedMention {
            username: "b<o>b".into(),
            host: "a.org".into(),
            href: "https://a.org/@b\"ob".into(),
            actor_uri: "https://a.org/u".into(),
        };
        let out = render_plain(
            "@b",
            &[ResolvedMention {
                username: "b".into(),
                ..odd.clone()
            }],
            TAGS,
        );
        assert!(out.contains(r#"href="https://a.org/@b&quot;ob""#), "{out}");
        let out = render_plain("@b<o>b", &[odd], TAGS);
        assert!(!out.contains("<o>"), "{out}");
    }

    #[test]
    fn mention_after_punctuation_and_email_is_text() {
        let out = render_plain("(@bob@a.org), mail a@b.org", &[bob_at("a.org")], TAGS);
        assert_eq!(
            out,
            format!(
                "<p>({}), mail a@b.org</p>",
                hcard("https://a.org/@bob", "bob")
            )
        );
        let out = render_plain("mail bob@a.org", &[bob_at("a.org")], TAGS);
        assert_eq!(out, "<p>mail bob@a.org</p>");
    }

    #[test]
    fn hashtags() {
        assert_eq!(
            plain("#café #123 #tag_1"),
            format!(
                "<p>{} #123 {}</p>",
                tag_link("caf%C3%A9", "café"),
                tag_link("tag_1", "tag_1")
            )
        );
        assert_eq!(
            render_plain("#Rust", &[], "https://kith.example/tags/"),
            format!("<p>{}</p>", tag_link("Rust", "Rust"))
        );
    }

    #[test]
    fn everything_together() {
        let out = render_plain(
            "Hey @bob@a.org,\nread https://x.org/p #Rust\n\n<3",
            &[bob_at("a.org")],
            TAGS,
        );
        let expected = format!(
            "<p>Hey {},<br>read {} {}</p><p>&lt;3</p>",
            hcard("https://a.org/@bob", "bob"),
            link("https://x.org/p", "https://", "x.org/p", ""),
            tag_link("Rust", "Rust")
        );
        assert_eq!(out, expected);
    }
}
