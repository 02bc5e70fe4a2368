//! Reading a card out of a page's head, and choosing the link a post's card is for.
//! Both run html5ever's streaming tokenizer (the parser ammonia already builds on) over
//! text already in memory: no tree is built, no script runs, and the head reader stops
//! looking at `</head>` or the first tag of the body. Pure functions of their input.

use html5ever::tendril::StrTendril;
use html5ever::tokenizer::states::RawKind;
use html5ever::tokenizer::{
    BufferQueue, CharacterTokens, EndTag, StartTag, Tag, TagToken, Token, TokenSink,
    TokenSinkResult, Tokenizer, TokenizerOpts,
};
use std::cell::RefCell;
use url::Url;

/// The longest title kept, in characters.
pub const TITLE_MAX: usize = 200;
/// The longest description kept, in characters.
pub const DESCRIPTION_MAX: usize = 500;
/// The longest site or author name kept, in characters.
pub const NAME_MAX: usize = 100;
/// The longest URL kept (image, author); longer ones are dropped, not cut.
pub const URL_MAX: usize = 2048;

/// What a page's head says about it, plain text, capped.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct PageCard {
    pub title: String,
    pub description: String,
    /// Absolute http(s) URL of the picture.
    pub image_url: Option<String>,
    pub site_name: String,
    pub author_name: String,
    pub author_url: String,
    pub published_at: Option<i64>,
}

/// Reads the card of a page from its HTML (`base` resolves relative image URLs):
/// OpenGraph, then Twitter card tags, then `<title>` and the meta description;
/// `None` when the head holds no title.
pub fn page_card(html: &str, base: &Url) -> Option<PageCard> {
    let mut head = Head::default();
    run(html, &mut |token| head.take(token));
    let pick = |names: &[&str]| {
        names
            .iter()
            .find_map(|n| head.metas.iter().find(|(k, v)| k == n && !v.is_empty()))
            .map(|(_, v)| v.clone())
    };
    let title = pick(&["og:title", "twitter:title"]).unwrap_or(head.title);
    let title = plain(&title, TITLE_MAX);
    if title.is_empty() {
        return None;
    }
    let description = pick(&["og:description", "twitter:description", "description"])
        .map(|d| plain(&d, DESCRIPTION_MAX))
        .unwrap_or_default();
    let image_url = pick(&[
        "og:image:secure_url",
        "og:image:url",
        "og:image",
        "twitter:image",
        "twitter:image:src",
    ])
    .and_then(|i| absolute(base, &i));
    let (author_name, author_url) = match pick(&["article:author"]) {
        Some(a) if absolute(base, &a).is_some() => (pick(&["author"]), absolute(base, &a)),
        Some(a) => (Some(a), None),
        None => (pick(&["author", "twitter:creator"]), None),
    };
    Some(PageCard {
        title,
        description,
        image_url,
        site_name: pick(&["og:site_name"])
            .map(|s| plain(&s, NAME_MAX))
            .unwrap_or_default(),
        author_name: author_name.map(|a| plain(&a, NAME_MAX)).unwrap_or_default(),
        author_url: author_url.unwrap_or_default(),
        published_at: pick(&["article:published_time", "published_time"])
            .and_then(|p| crate::dates::parse_rfc3339(&p)),
    })
}

/// The link a post's card is for: its first `<a>` to an http(s) URL that is not a
/// mention or a hashtag (by class, `rel="tag"`, or text starting with `@` or `#`).
pub fn first_link(content_html: &str) -> Option<Url> {
    let mut links = Links::default();
    run(content_html, &mut |token| links.take(token));
    links.found
}

/// What reads the tokens of one text.
type Read<'a> = &'a mut dyn FnMut(Token) -> TokenSinkResult<()>;

/// The one sink type given to the tokenizer, so the binary holds one copy of its
/// code: it hands each token to a reader.
struct Reader<'a>(RefCell<Read<'a>>);

impl TokenSink for Reader<'_> {
    type Handle = ();

    fn process_token(&self, token: Token, _line: u64) -> TokenSinkResult<()> {
        (self.0.borrow_mut())(token)
    }
}

/// Tokenizes `text`, handing every token to `read`.
fn run(text: &str, read: Read) {
    let input = BufferQueue::default();
    input.push_back(StrTendril::from_slice(text));
    let tokenizer = Tokenizer::new(Reader(RefCell::new(read)), TokenizerOpts::default());
    let _ = tokenizer.feed(&input);
    tokenizer.end();
}

/// Plain text: control characters dropped, white space collapsed, at most `max`
/// characters (cut ones end with an ellipsis).
pub fn plain(text: &str, max: usize) -> String {
    let words: Vec<&str> = text.split(|c: char| c.is_whitespace()).collect();
    let joined: String = words
        .iter()
        .filter(|w| !w.is_empty())
        .copied()
        .collect::<Vec<_>>()
        .join(" ")
        .chars()
        .filter(|c| !c.is_control())
        .collect();
    if joined.chars().count() <= max {
        return joined;
    }
    let mut cut: String = joined.chars().take(max.saturating_sub(1)).collect();
    cut.truncate(cut.trim_end().len());
    cut.push('…');
    cut
}

/// An absolute http(s) URL from a possibly relative one, when short enough.
fn absolute(base: &Url, raw: &str) -> Option<String> {
    let raw = raw.trim();
    if raw.is_empty() || raw.len() > URL_MAX {
        return None;
    }
    let url = base.join(raw).ok()?;
    let ok = matches!(url.scheme(), "http" | "https") && url.host().is_some();
    (ok && url.as_str().len() <= URL_MAX).then(|| url.to_string())
}

/// The longest start of `text` of at most `max` bytes that ends on a character.
fn prefix(text: &str, max: usize) -> &str {
    let mut end = text.len().min(max);
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    &text[..end]
}

fn attr<'a>(tag: &'a Tag, name: &str) -> Option<&'a str> {
    tag.attrs
        .iter()
        .find(|a| &*a.name.local == name)
        .map(|a| &*a.value)
}

/// What the head reader collected.
#[derive(Default)]
struct Head {
    /// `(property or name, lower case; content)` of each meta tag, in order.
    metas: Vec<(String, String)>,
    title: String,
    in_title: bool,
    /// The head ended: nothing more is read.
    done: bool,
}

/// The most bytes of a meta value or title text collected (the rest is dropped
/// before the caps cut them further).
const RAW_MAX: usize = 16 * 1024;
/// The most meta tags collected.
const METAS_MAX: usize = 200;

impl Head {
    /// Reads one token of a page; asks the tokenizer to read what follows `<title>`,
    /// `<script>` and the like as text.
    fn take(&mut self, token: Token) -> TokenSinkResult<()> {
        let head = self;
        if head.done {
            return TokenSinkResult::Continue;
        }
        match token {
            TagToken(tag) => match (tag.kind, &*tag.name) {
                (StartTag, "title") if head.title.is_empty() => {
                    head.in_title = true;
                    return TokenSinkResult::RawData(RawKind::Rcdata);
                }
                (StartTag, "meta") => {
                    let key = attr(&tag, "property").or_else(|| attr(&tag, "name"));
                    if let (Some(key), Some(content)) = (key, attr(&tag, "content"))
                        && head.metas.len() < METAS_MAX
                    {
                        let key = key.trim().to_ascii_lowercase();
                        head.metas.push((key, prefix(content, RAW_MAX).to_string()));
                    }
                }
                // Scripts, styles and the rest are read as text, never as tags.
                (StartTag, "script") => return TokenSinkResult::RawData(RawKind::ScriptData),
                (StartTag, "style" | "noscript" | "template" | "xmp" | "iframe") => {
                    return TokenSinkResult::RawData(RawKind::Rawtext);
                }
                (StartTag, "textarea") => return TokenSinkResult::RawData(RawKind::Rcdata),
                (StartTag, "body") | (EndTag, "head") => head.done = true,
                (EndTag, "title") => head.in_title = false,
                _ => {}
            },
            CharacterTokens(text) if head.in_title => {
                let room = RAW_MAX.saturating_sub(head.title.len());
                head.title.push_str(prefix(&text, room));
            }
            _ => {}
        }
        TokenSinkResult::Continue
    }
}

/// What the link chooser collected.
#[derive(Default)]
struct Links {
    /// The current `<a>`'s URL when it may be the card's, and its text so far.
    open: Option<(Url, String)>,
    found: Option<Url>,
}

impl Links {
    /// Reads one token of a post's HTML.
    fn take(&mut self, token: Token) -> TokenSinkResult<()> {
        let links = self;
        if links.found.is_some() {
            return TokenSinkResult::Continue;
        }
        match token {
            TagToken(tag) if &*tag.name == "a" => match tag.kind {
                StartTag => links.open = candidate(&tag).map(|u| (u, String::new())),
                EndTag => {
                    if let Some((url, text)) = links.open.take() {
                        let text = text.trim_start();
                        if !text.starts_with(['@', '#']) {
                            links.found = Some(url);
                        }
                    }
                }
            },
            CharacterTokens(text) => {
                if let Some((_, t)) = links.open.as_mut()
                    && t.len() < 64
                {
                    t.push_str(&text);
                }
            }
            _ => {}
        }
        TokenSinkResult::Continue
    }
}

/// The URL of a start tag `<a>` that may carry a card.
fn candidate(tag: &Tag) -> Option<Url> {
    let class = attr(tag, "class").unwrap_or("");
    let rel = attr(tag, "rel").unwrap_or("");
    let words = |s: &str, w: &[&str]| s.split_ascii_whitespace().any(|x| w.contains(&x));
    if words(class, &["mention", "hashtag"]) || words(rel, &["tag"]) {
        return None;
    }
    let href = attr(tag, "href")?.trim();
    if href.len() > URL_MAX {
        return None;
    }
    let url = Url::parse(href).ok()?;
    (matches!(url.scheme(), "http" | "https") && url.host().is_some()).then_some(url)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn base() -> Url {
        Url::parse("https://p.example/a/page").unwrap()
    }

    #[test]
    fn opengraph_wins_over_title_and_description() {
        let html = r#"<!doctype html><html><head><title>Plain title</title>
            <meta name="description" content="plain description">
            <meta property="og:title" content="  OG   title ">
            <meta property="og:description" content="OG description">
            <meta property="og:image" content="/img/p.png">
            <meta property="og:site_name" content="Example Site">
            <meta property="og:type" content="article">
            <meta name="author" content="Ann Author">
            <meta property="article:published_time" content="2026-11-01T10:00:00Z">
            </head><body><meta property="og:title" content="late"></body></html>"#;
        let card = page_card(html, &base()).unwrap();
        assert_eq!(
            card,
            PageCard {
                title: "OG title".into(),
                description: "OG description".into(),
                image_url: Some("https://p.example/img/p.png".into()),
                site_name: "Example Site".into(),
                author_name: "Ann Author".into(),
                author_url: String::new(),
                published_at: crate::dates::parse_rfc3339("2026-11-01T10:00:00Z"),
            }
        );
    }

    #[test]
    fn title_and_twitter_tags_are_fallbacks() {
        let html = "<title>Only &amp; title</title>";
        let card = page_card(html, &base()).unwrap();
        assert_eq!(card.title, "Only & title");
        assert_eq!(card.description, "");
        assert_eq!(card.image_url, None);
        let html = r#"<head><meta name="twitter:title" content="TT">
            <meta name="twitter:image" content="https://i.example/x.jpg"></head>"#;
        let card = page_card(html, &base()).unwrap();
        assert_eq!(card.title, "TT");
        assert_eq!(card.image_url.as_deref(), Some("https://i.example/x.jpg"));
    }

    #[test]
    fn nothing_usable_gives_no_card() {
        assert_eq!(page_card("", &base()), None);
        assert_eq!(page_card("<p>text but no head</p>", &base()), None);
        assert_eq!(
            page_card("<head></head><body><title>late</title>", &base()),
            None
        );
    }

    #[test]
    fn hostile_markup_stays_text_and_scripts_are_not_read() {
        let html = r#"<head><script>document.write('<meta property="og:title" content="from script">')</script>
            <title><b>Bold</b> &lt;script&gt;alert(1)&lt;/script&gt;</title>
            <meta property="og:image" content="javascript:alert(1)">
            <meta property="og:description" content="a&#10;b&#0;c"></head>"#;
        let card = page_card(html, &base()).unwrap();
        assert_eq!(card.title, "<b>Bold</b> <script>alert(1)</script>");
        assert_eq!(card.image_url, None);
        assert_eq!(card.description, "a b\u{fffd}c");
    }

    #[test]
    fn long_values_are_capped() {
        let long = "x".repeat(10_000);
        let html = format!(
            r#"<meta property="og:title" content="{long}"><meta property="og:description" content="{long}"><meta property="og:image" content="https://p.example/{long}">"#
        );
        let card = page_card(&html, &base()).unwrap();
        assert_eq!(card.title.chars().count(), TITLE_MAX);
        assert!(card.title.ends_with('…'));
        assert_eq!(card.description.chars().count(), DESCRIPTION_MAX);
        assert_eq!(card.image_url, None);
    }

    #[test]
    fn first_link_skips_mentions_and_hashtags() {
        let html = r##"<p><span class="h-card"><a href="https://m.example/@bob" class="u-url mention">@<span>bob</span></a></span>
            <a href="https://m.example/tags/rust" class="mention hashtag" rel="tag">#<span>rust</span></a>
            <a href="https://x.example/#me">#notag</a>
            <a href="mailto:a@b.example">mail</a>
            see <a href="https://news.example/story?id=1">news.example/story</a>
            <a href="https://later.example/">later</a></p>"##;
        assert_eq!(
            first_link(html).map(|u| u.to_string()),
            Some("https://news.example/story?id=1".into())
        );
        assert_eq!(first_link("<p>no links</p>"), None);
    }
}
