//! Finding links, `@mentions` and `#hashtags` in the owner's plain text.
//!
//! This file owns the one tokenizer that both [`scan`] (what a post mentions, tags and
//! links to) and `compose::render_plain` (how it looks) use, so the two can never
//! disagree. The rules follow Mastodon's `MENTION_RE`, `HASHTAG_RE` and its URL
//! extraction closely enough that a post reads the same on both sides. It must not
//! resolve anything, escape anything or do I/O: it only cuts a string into pieces.

use super::{MAX_HASHTAG_CHARS, MAX_HASHTAGS, MAX_LINKS, MAX_MENTIONS};

/// Longest URL that becomes a link; it also bounds the work spent on each `http`.
const MAX_URL_BYTES: usize = 8_192;

/// A mention found in composed text, before resolution: `@user` (local or unknown host → host None) or `@user@host`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MentionRef {
    /// The user name as typed, without `@`.
    pub username: String,
    /// The host, lower-cased; `None` for a bare `@user`.
    pub host: Option<String>,
    /// The mention as typed, e.g. `@bob@example.org`.
    pub text: String,
}

/// What [`scan`] found in a text, each list in order of first appearance.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Scanned {
    /// Mentions, deduplicated by user name (case-insensitively) and host.
    pub mentions: Vec<MentionRef>,
    /// Hashtags without `#`, deduplicated case-insensitively, first spelling kept.
    pub hashtags: Vec<String>,
    /// http(s) links as typed, deduplicated.
    pub links: Vec<String>,
}

/// Finds mentions, hashtags (without '#', Unicode letters/digits/underscore, not all digits, max 100 chars) and links in plain text, in order, deduplicated (hashtags compared case-insensitively).
pub fn scan(text: &str) -> Scanned {
    let mut found = Scanned::default();
    for token in tokenize(text) {
        match token {
            Token::Text(_) => {}
            Token::Url(url) => push_link(&mut found.links, url),
            Token::Mention(m) => push_mention(&mut found.mentions, &m),
            Token::Hashtag(tag) => push_hashtag(&mut found.hashtags, tag),
        }
    }
    found
}

fn push_link(links: &mut Vec<String>, url: &str) {
    if links.len() < MAX_LINKS && !links.iter().any(|l| l == url) {
        links.push(url.to_string());
    }
}

fn push_mention(mentions: &mut Vec<MentionRef>, m: &Mention<'_>) {
    if mentions.len() >= MAX_MENTIONS {
        return;
    }
    let host = m.host.map(str::to_lowercase);
    let seen = mentions
        .iter()
        .any(|x| x.username.eq_ignore_ascii_case(m.username) && x.host == host);
    if !seen {
        mentions.push(MentionRef {
            username: m.username.to_string(),
            host,
            text: m.text.to_string(),
        });
    }
}

fn push_hashtag(tags: &mut Vec<String>, tag: &str) {
    let lower = tag.to_lowercase();
    if tags.len() < MAX_HASHTAGS && !tags.iter().any(|t| t.to_lowercase() == lower) {
        tags.push(tag.to_string());
    }
}

/// One piece of plain text: either ordinary text or something that becomes a link.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Token<'a> {
    /// Text to show as it is (escaped).
    Text(&'a str),
    /// An http(s) URL as typed.
    Url(&'a str),
    /// An `@user` or `@user@host` mention.
    Mention(Mention<'a>),
    /// A hashtag, without the `#`.
    Hashtag(&'a str),
}

/// A mention as it appears in the text; the host is not yet lower-cased.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Mention<'a> {
    pub text: &'a str,
    pub username: &'a str,
    pub host: Option<&'a str>,
}

/// Cuts `text` into text, URL, mention and hashtag tokens, left to right.
pub(super) fn tokenize(text: &str) -> Vec<Token<'_>> {
    let mut tokens = Vec::new();
    let mut plain_start = 0;
    let mut i = 0;
    let mut url_stop = None;
    while let Some(c) = text[i..].chars().next() {
        let prev = text[..i].chars().next_back();
        let found = match c {
            'h' | 'H' => {
                url_at(text, i, prev, &mut url_stop).map(|end| (Token::Url(&text[i..end]), end))
            }
            '@' => mention_at(text, i, prev).map(|m| (Token::Mention(m), i + m.text.len())),
            '#' => hashtag_at(text, i, prev).map(|t| (Token::Hashtag(t), i + 1 + t.len())),
            _ => None,
        };
        match found {
            Some((token, end)) => {
                if plain_start < i {
                    tokens.push(Token::Text(&text[plain_start..i]));
                }
                tokens.push(token);
                plain_start = end;
                i = end;
            }
            None => i += c.len_utf8(),
        }
    }
    if plain_start < text.len() {
        tokens.push(Token::Text(&text[plain_start..]));
    }
    tokens
}

/// Letters, digits, underscore and combining marks: what regular expressions call `\w`.
fn is_word(c: char) -> bool {
    c.is_alphanumeric() || c == '_' || is_combining_mark(c)
}

/// The common combining diacritics (decomposed accents), which `char` does not classify.
fn is_combining_mark(c: char) -> bool {
    matches!(c, '\u{0300}'..='\u{036F}' | '\u{1AB0}'..='\u{1AFF}' | '\u{1DC0}'..='\u{1DFF}' | '\u{20D0}'..='\u{20FF}' | '\u{FE20}'..='\u{FE2F}')
}

/// The end of an http(s) URL starting at `i`, if one starts there. `next_stop` caches
/// the first URL-stopping character at or after the last position looked at, so a
/// text full of `http` costs linear time, not quadratic.
fn url_at(
    text: &str,
    i: usize,
    prev: Option<char>,
    next_stop: &mut Option<usize>,
) -> Option<usize> {
    if prev.is_some_and(|p| is_word(p) || matches!(p, '@' | '/' | '#' | '$' | '=')) {
        return None;
    }
    let rest = &text[i..];
    let scheme_len = ["https://", "http://"]
        .iter()
        .find(|s| {
            rest.get(..s.len())
                .is_some_and(|r| r.eq_ignore_ascii_case(s))
        })?
        .len();
    let stop = match *next_stop {
        Some(stop) if stop >= i => stop,
        _ => i + rest.find(is_url_stop).unwrap_or(rest.len()),
    };
    *next_stop = Some(stop);
    let run = stop - i;
    if run > MAX_URL_BYTES {
        return None;
    }
    let url = trim_url_end(&rest[..run]);
    if url.len() <= scheme_len {
        return None;
    }
    let parsed = url::Url::parse(url).ok()?;
    parsed.host_str().filter(|h| !h.is_empty())?;
    Some(i + url.len())
}

/// Characters that never belong to a URL typed in running text.
fn is_url_stop(c: char) -> bool {
    c.is_whitespace()
        || c.is_control()
        || matches!(
            c,
            '<' | '>' | '"' | '`' | '«' | '»' | '\u{2018}'..='\u{201F}'
        )
        || matches!(c, '\u{3000}'..='\u{303F}')
        || matches!(
            c,
            '\u{FF01}'
                | '\u{FF08}'
                | '\u{FF09}'
                | '\u{FF0C}'
                | '\u{FF1A}'
                | '\u{FF1B}'
                | '\u{FF1F}'
        )
}

/// Drops trailing punctuation and unbalanced closing brackets, as Mastodon does.
fn trim_url_end(url: &str) -> &str {
    let count = |c: char| url.matches(c).count();
    // Opening and closing counts of (), [] and {}; kept up to date as characters go.
    let mut brackets =
        [('(', ')'), ('[', ']'), ('{', '}')].map(|(o, c)| (o, c, count(o), count(c)));
    let mut end = url.len();
    while let Some(last) = url[..end].chars().next_back() {
        let drop = match brackets.iter_mut().find(|b| b.1 == last) {
            Some((_, _, opened, closed)) if *opened < *closed => {
                *closed -= 1;
                true
            }
            Some(_) => false,
            None => matches!(
                last,
                '.' | ',' | ':' | ';' | '!' | '?' | '\'' | '*' | '\u{2026}'
            ),
        };
        if !drop {
            break;
        }
        end -= last.len_utf8();
    }
    &url[..end]
}

/// The mention starting at the `@` at `i`, if one starts there.
fn mention_at(text: &str, i: usize, prev: Option<char>) -> Option<Mention<'_>> {
    if prev.is_some_and(|p| is_word(p) || matches!(p, '=' | '/')) {
        return None;
    }
    let user_start = i + 1;
    let username = name_run(&text[user_start..], |c| {
        c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-')
    });
    if !username.starts_with(|c: char| c.is_ascii_alphanumeric() || c == '_') {
        return None;
    }
    let mut end = user_start + username.len();
    let mut host = None;
    if let Some(after) = text[end..].strip_prefix('@') {
        let h = name_run(after, |c| is_word(c) || matches!(c, '.' | '-'));
        if h.starts_with(|c: char| c.is_alphanumeric()) {
            // A port belongs to the host (`@bob@localhost:8003`) when digits follow the colon.
            let port = after[h.len()..]
                .strip_prefix(':')
                .map(|p| p.len() - p.trim_start_matches(|c: char| c.is_ascii_digit()).len())
                .filter(|n| (1..=5).contains(n))
                .map_or(0, |n| n + 1);
            let h = &after[..h.len() + port];
            host = Some(h);
            end += 1 + h.len();
        }
    }
    Some(Mention {
        text: &text[i..end],
        username,
        host,
    })
}

/// The longest prefix of `s` made of `allowed` characters, minus trailing `.` and `-`.
fn name_run(s: &str, allowed: impl Fn(char) -> bool) -> &str {
    let run = s.find(|c: char| !allowed(c)).unwrap_or(s.len());
    s[..run].trim_end_matches(['.', '-'])
}

/// The hashtag (without `#`) starting at the `#` at `i`, if one starts there.
fn hashtag_at(text: &str, i: usize, prev: Option<char>) -> Option<&str> {
    if prev.is_some_and(|p| is_word(p) || matches!(p, '=' | '/' | ')' | '&')) {
        return None;
    }
    let rest = &text[i + 1..];
    let is_tag_char = |c: char| is_word(c) || matches!(c, '\u{00B7}' | '\u{200C}');
    let run = rest.find(|c: char| !is_tag_char(c)).unwrap_or(rest.len());
    let tag = rest[..run].trim_end_matches(['\u{00B7}', '\u{200C}']);
    let first_ok = tag.starts_with(|c: char| c.is_alphanumeric() || c == '_');
    let all_digits = tag.chars().all(|c| c.is_numeric() || is_combining_mark(c));
    let short = tag.chars().count() <= MAX_HASHTAG_CHARS;
    (first_ok && !all_digits && short).then_some(tag)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mention(username: &str, host: Option<&str>, text: &str) -> MentionRef {
        MentionRef {
            username: username.into(),
            host: host.map(Into::into),
            text: text.into(),
        }
    }

    fn tags(text: &str) -> Vec<String> {
        scan(text).hashtags
    }

    fn links(text: &str) -> Vec<String> {
        scan(text).links
    }

    #[test]
    fn finds_everything_in_order() {
        let s = scan("hi @alice and @bob@Example.ORG, see https://x.org/a #Rust #café");
        assert_eq!(
            s.mentions,
            vec![
                mention("alice", None, "@alice"),
                mention("bob", Some("example.org"), "@bob@Example.ORG"),
            ]
        );
        assert_eq!(s.hashtags, vec!["Rust", "café"]);
        assert_eq!(s.links, vec!["https://x.org/a"]);
    }

    #[test]
    fn deduplicates() {
        let s = scan("@bob@a.org @Bob@A.org @bob @bob #Tag #tag #TAG https://x.org https://x.org");
        assert_eq!(
            s.mentions,
            vec![
                mention("bob", Some("a.org"), "@bob@a.org"),
                mention("bob", None, "@bob"),
            ]
        );
        assert_eq!(s.hashtags, vec!["Tag"]);
        assert_eq!(s.links, vec!["https://x.org"]);
    }

    #[test]
    fn mention_hosts_keep_their_port() {
        let s = scan("hi @bob@localhost:8003 and @carol@b.org: there");
        assert_eq!(s.mentions[0].host.as_deref(), Some("localhost:8003"));
        assert_eq!(s.mentions[0].text, "@bob@localhost:8003");
        assert_eq!(s.mentions[1].host.as_deref(), Some("b.org"));
    }

    #[test]
    fn same_user_on_different_hosts_is_two_mentions() {
        let s = scan("@bob@a.org @bob@b.org");
        assert_eq!(s.mentions.len(), 2);
        assert_eq!(s.mentions[1].host.as_deref(), Some("b.org"));
    }

    #[test]
    fn mention_boundaries() {
        let s = scan("(@alice) @bob@a.org. @carol@b.org's,@dave-");
        let texts: Vec<_> = s.mentions.iter().map(|m| m.text.as_str()).collect();
        assert_eq!(texts, vec!["@alice", "@bob@a.org", "@carol@b.org", "@dave"]);
    }

    #[test]
    fn emails_and_urls_are_not_mentions() {
        assert!(
            scan("write to a@b.org or x=@y or me/@z")
                .mentions
                .is_empty()
        );
        let s = scan("https://m.example/@bob is a profile");
        assert!(s.mentions.is_empty());
        assert_eq!(s.links, vec!["https://m.example/@bob"]);
    }

    #[test]
    fn mention_with_dotted_username_and_bad_host() {
        let s = scan("@first.last @x@ @.nope @_ok");
        let texts: Vec<_> = s.mentions.iter().map(|m| m.text.as_str()).collect();
        assert_eq!(texts, vec!["@first.last", "@x", "@_ok"]);
        assert_eq!(s.mentions[1].host, None);
    }

    #[test]
    fn hashtag_rules() {
        assert_eq!(tags("#café #123 #tag_1 #1a"), vec!["café", "tag_1", "1a"]);
        assert_eq!(tags("a#b c/#d x=#e (x)#f &#38;"), Vec::<String>::new());
        assert_eq!(
            tags("(#paren) #end. #日本語"),
            vec!["paren", "end", "日本語"]
        );
        assert_eq!(tags("#foo·bar #foo·"), vec!["foo·bar", "foo"]);
        assert_eq!(tags("#cafe\u{301}"), vec!["cafe\u{301}"]);
    }

    #[test]
    fn hashtag_length_cap() {
        let ok = "a".repeat(MAX_HASHTAG_CHARS);
        let long = "a".repeat(MAX_HASHTAG_CHARS + 1);
        assert_eq!(tags(&format!("#{ok}")), vec![ok]);
        assert!(tags(&format!("#{long}")).is_empty());
    }

    #[test]
    fn url_trailing_punctuation() {
        assert_eq!(links("(see https://x.org/a)."), vec!["https://x.org/a"]);
        assert_eq!(
            links("https://en.wikipedia.org/wiki/Rust_(programming_language)!"),
            vec!["https://en.wikipedia.org/wiki/Rust_(programming_language)"]
        );
        assert_eq!(
            links("https://x.org/?q=1&b=2#frag, ok"),
            vec!["https://x.org/?q=1&b=2#frag"]
        );
        assert_eq!(links("'https://x.org/'"), vec!["https://x.org/"]);
        assert_eq!(links("<https://x.org/a>"), vec!["https://x.org/a"]);
        assert_eq!(links("見て https://x.org/a。"), vec!["https://x.org/a"]);
        assert_eq!(
            links("“https://x.org/a” «https://x.org/b»"),
            vec!["https://x.org/a", "https://x.org/b"]
        );
        assert_eq!(links("https://x.org/a…"), vec!["https://x.org/a"]);
        assert_eq!(links("[https://x.org/[a]]"), vec!["https://x.org/[a]"]);
        assert_eq!(links("https://x.org/a(b)c)"), vec!["https://x.org/a(b)c"]);
    }

    #[test]
    fn url_needs_scheme_and_host() {
        assert!(links("http:// https://? ftp://x.org x.org javascript:alert(1)").is_empty());
        assert!(links("xhttps://x.org").is_empty());
        assert_eq!(links("HTTPS://X.org/P"), vec!["HTTPS://X.org/P"]);
        assert_eq!(
            links("http://localhost:8080/x"),
            vec!["http://localhost:8080/x"]
        );
    }

    #[test]
    fn tokens_cover_the_whole_text() {
        let text = "a @b #c https://d.org/e f@g.h";
        let joined: String = tokenize(text)
            .iter()
            .map(|t| match t {
                Token::Text(s) | Token::Url(s) => s.to_string(),
                Token::Mention(m) => m.text.to_string(),
                Token::Hashtag(h) => format!("#{h}"),
            })
            .collect();
        assert_eq!(joined, text);
    }

    #[test]
    fn pathological_input_is_linear() {
        let parens = format!("https://x.org/{}", ")".repeat(MAX_URL_BYTES - 20));
        assert_eq!(links(&parens), vec!["https://x.org/"]);
        let failing = ".https://.".repeat(20_000);
        assert!(links(&failing).len() <= 1);
        let long = format!("https://x.org/{}", "a".repeat(MAX_URL_BYTES));
        assert!(links(&long).is_empty());
        let ats = "@".repeat(200_000);
        assert!(scan(&ats).mentions.is_empty());
        let hashes = "#a".repeat(100_000);
        assert_eq!(tags(&hashes), vec!["a"]);
    }

    #[test]
    fn caps_lists() {
        let n = MAX_MENTIONS.max(MAX_HASHTAGS).max(MAX_LINKS) + 10;
        let many: String = (0..n)
            .map(|n| format!("@u{n} #t{n} https://x.org/{n} "))
            .collect();
        let s = scan(&many);
        assert_eq!(s.mentions.len(), MAX_MENTIONS);
        assert_eq!(s.hashtags.len(), MAX_HASHTAGS);
        assert_eq!(s.links.len(), MAX_LINKS);
    }
}
