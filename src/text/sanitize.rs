//! Making remote HTML safe to store and show; reading its plain text is the child
//! module `plain` (re-exported here).
//!
//! This file owns the allow-list every remote HTML string passes through at ingest
//! (post content and summaries, bios, profile field values: SECURITY 47, 48) and the
//! size and tag-count caps applied before parsing (SECURITY 43). The allow-list is
//! Mastodon's: a few inline and block tags, links with safe schemes and a forced
//! `rel`/`target`, and the microformat classes Mastodon's own markup uses. ammonia (html5ever underneath) does
//! the parsing; this file and `plain` only configure it and read its output. It must not do
//! I/O, and it must never fail: oversized or broken input is cut or dropped, not refused.

use super::compose::LINK_REL;
use super::truncate_bytes;
use ammonia::{Builder, UrlRelative};
use std::borrow::Cow;
use std::collections::{HashMap, HashSet};
use std::sync::LazyLock;

mod plain;
pub use plain::html_to_text;

/// Tags kept by [`sanitize_html`]; every other tag is removed and its text kept.
#[rustfmt::skip]
const ALLOWED_TAGS: &[&str] = &[
    "p", "br", "span", "a", "del", "pre", "code", "em", "strong", "b", "i", "u", "s",
    "ul", "ol", "li", "blockquote", "h1", "h2", "h3", "h4", "h5", "h6", "sub", "sup",
];

/// Tags removed together with everything inside them.
const DROPPED_WITH_CONTENT: &[&str] = &[
    "script", "style", "template", "noscript", "iframe", "frame", "frameset", "object", "embed",
    "applet", "textarea", "select", "title", "noembed", "noframes", "xmp", "svg", "math",
];

/// Link schemes kept in `href` (Mastodon's `LINK_PROTOCOLS`); relative links are dropped.
const LINK_SCHEMES: &[&str] = &[
    "http", "https", "dat", "dweb", "ipfs", "ipns", "ssb", "gopher", "xmpp", "magnet", "gemini",
];

/// Classes kept on `a` and `span`: the ones Mastodon's markup relies on.
#[rustfmt::skip]
const ALLOWED_CLASSES: &[&str] = &["h-card", "u-url", "mention", "hashtag", "ellipsis", "invisible"];

/// The most tags (`<` then a letter or `/`) parsed from one input; the rest is cut.
/// html5ever's work grows with tags times nesting depth (its open-element and
/// formatting lists are walked for each tag), so this bounds the parsing time of a
/// hostile input, while a 100 kB article rarely has this many.
const MAX_TAGS: usize = 5_000;

/// The most formatting start tags (`<b>`, `<a>`, ...) parsed from one input: each one
/// left open is compared with all the others (the HTML spec's "Noah's Ark" clause),
/// which makes them the costliest tags to parse.
const MAX_FORMATTING_TAGS: usize = 1_000;

/// The HTML spec's formatting elements.
const FORMATTING_TAGS: &[&str] = &[
    "a", "b", "big", "code", "em", "font", "i", "nobr", "s", "small", "strike", "strong", "tt", "u",
];

/// How many times [`sanitize_html`] shrinks its input when the output outgrows the cap.
const SHRINK_ROUNDS: usize = 8;

static SANITIZER: LazyLock<Builder<'static>> = LazyLock::new(sanitizer);

fn set<const N: usize>(items: [&'static str; N]) -> HashSet<&'static str> {
    HashSet::from(items)
}

fn sanitizer() -> Builder<'static> {
    let classes: HashSet<&str> = ALLOWED_CLASSES.iter().copied().collect();
    let translate = || HashMap::from([("translate", set(["no", "yes"]))]);
    let mut b = Builder::default();
    b.tags(ALLOWED_TAGS.iter().copied().collect())
        .clean_content_tags(DROPPED_WITH_CONTENT.iter().copied().collect())
        .generic_attributes(HashSet::new())
        .tag_attributes(HashMap::from([
            ("a", set(["href"])),
            ("ol", set(["start", "reversed"])),
            ("li", set(["value"])),
        ]))
        .tag_attribute_values(HashMap::from([("a", translate()), ("span", translate())]))
        .set_tag_attribute_values(HashMap::from([(
            "a",
            HashMap::from([("target", "_blank")]),
        )]))
        .allowed_classes(HashMap::from([("a", classes.clone()), ("span", classes)]))
        .url_schemes(LINK_SCHEMES.iter().copied().collect())
        .url_relative(UrlRelative::Deny)
        .link_rel(Some(LINK_REL))
        .strip_comments(true)
        .attribute_filter(filter_attribute);
    b
}

/// Keeps list numbering attributes only when they are what they claim to be.
fn filter_attribute<'u>(element: &str, attribute: &str, value: &'u str) -> Option<Cow<'u, str>> {
    match (element, attribute) {
        ("ol", "start") | ("li", "value") => {
            let n: i32 = value.trim().parse().ok()?;
            Some(Cow::Owned(n.to_string()))
        }
        ("ol", "reversed") => Some(Cow::Borrowed("")),
        _ => Some(Cow::Borrowed(value)),
    }
}

/// Sanitizes remote HTML (post content, summaries, bios, profile field values) with Mastodon's allow-list; input over `max_len` bytes (or past the tag caps) is cut at a char boundary before parsing, and the result is never longer than `max_len` bytes.
pub fn sanitize_html(html: &str, max_len: usize) -> String {
    let mut input = cap_tags(truncate_bytes(html, max_len));
    for _ in 0..SHRINK_ROUNDS {
        let out = SANITIZER.clean(input).to_string();
        if out.len() <= max_len {
            return out;
        }
        // Forced attributes and escaping made it grow: cut the input in proportion.
        let target = (input.len() as u128 * max_len as u128 * 9 / 10 / out.len() as u128) as usize;
        input = truncate_bytes(input, target.min(input.len().saturating_sub(1)));
    }
    String::new()
}

/// The longest prefix of `html` with at most [`MAX_TAGS`] tags, of which at most
/// [`MAX_FORMATTING_TAGS`] formatting start tags.
fn cap_tags(html: &str) -> &str {
    let (mut tags, mut formatting) = (0, 0);
    for (i, _) in html.match_indices('<') {
        let rest = &html.as_bytes()[i + 1..];
        let is_end = rest.first() == Some(&b'/');
        if !is_end && !rest.first().is_some_and(u8::is_ascii_alphabetic) {
            continue;
        }
        tags += 1;
        let name_len = rest
            .iter()
            .take_while(|b| b.is_ascii_alphanumeric())
            .count();
        let name = &rest[..name_len];
        if FORMATTING_TAGS
            .iter()
            .any(|t| name.eq_ignore_ascii_case(t.as_bytes()))
        {
            formatting += 1;
        }
        if tags > MAX_TAGS || formatting > MAX_FORMATTING_TAGS {
            // `<` is ASCII, so `i` is a char boundary.
            return &html[..i];
        }
    }
    html
}

#[cfg(test)]
mod tests {
    use super::*;

    const CAP: usize = super::super::MAX_CONTENT_BYTES;

    fn clean(html: &str) -> String {
        sanitize_html(html, CAP)
    }

    /// Every tag in sanitized output, as (name, [(attribute, value)]). Sanitized output
    /// escapes `<` and `>` in text and attribute values, so splitting on them is exact.
    fn tags_of(html: &str) -> Vec<(String, Vec<(String, String)>)> {
        let mut tags = Vec::new();
        for piece in html.split('<').skip(1) {
            let inner = piece.split('>').next().unwrap_or_default();
            let inner = inner.trim_start_matches('/');
            let (name, mut attrs) = inner.split_once(' ').unwrap_or((inner, ""));
            let mut parsed = Vec::new();
            while let Some((key, rest)) = attrs.trim_start().split_once("=\"") {
                let (value, after) = rest.split_once('"').expect("quoted attribute");
                parsed.push((key.trim().to_string(), value.to_string()));
                attrs = after;
            }
            assert!(
                attrs.trim().is_empty(),
                "unparsed attributes {attrs:?} in {html}"
            );
            tags.push((name.to_string(), parsed));
        }
        tags
    }

    /// The allow-list, checked on the output rather than trusted from the configuration.
    fn assert_safe(input: &str, out: &str) {
        let lower = out.to_ascii_lowercase();
        for bad in [
            "<script",
            "<iframe",
            "<style",
            "<img",
            "<svg",
            "<math",
            "<form",
            "<object",
            "<base",
            "<meta",
            "<!--",
            "javascript:",
            "style=",
        ] {
            assert!(!lower.contains(bad), "{bad} survived {input:?}: {out}");
        }
        for (name, attrs) in tags_of(out) {
            assert!(
                ALLOWED_TAGS.contains(&name.as_str()),
                "tag {name} from {input:?}: {out}"
            );
            for (key, value) in attrs {
                let allowed = [
                    "href",
                    "rel",
                    "target",
                    "class",
                    "translate",
                    "start",
                    "reversed",
                    "value",
                ];
                assert!(
                    allowed.contains(&key.as_str()),
                    "attribute {key} from {input:?}: {out}"
                );
                assert!(!key.starts_with("on"), "{key} from {input:?}: {out}");
                if key == "href" {
                    let scheme = url::Url::parse(&value.replace("&amp;", "&"))
                        .map(|u| u.scheme().to_string());
                    assert!(
                        scheme.is_ok_and(|s| LINK_SCHEMES.contains(&s.as_str())),
                        "href {value} from {input:?}"
                    );
                }
            }
        }
    }

    const XSS_VECTORS: &[&str] = &[
        "<script>alert(1)</script>",
        "<SCRIPT SRC=https://evil.example/x.js></SCRIPT>",
        "<img src=x onerror=alert(1)>",
        "<IMG SRC=\"jav&#x09;ascript:alert('XSS');\">",
        "<a href=\"javascript:alert(1)\">x</a>",
        "<a href=\"JaVaScRiPt:alert(1)\">x</a>",
        "<a href=\"javascript&#58;alert(1)\">x</a>",
        "<a href=\"&#106;&#97;&#118;&#97;&#115;&#99;&#114;&#105;&#112;&#116;&#58;alert(1)\">x</a>",
        "<a href=\" \tjava\nscript:alert(1)\">x</a>",
        "<a href=\"vbscript:msgbox(1)\">x</a>",
        "<a href=\"data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==\">x</a>",
        "<a href=\"https://ok.example\" onclick=\"alert(1)\" onmouseover=alert(2)>x</a>",
        "<p onclick=alert(1) style=\"background:url(javascript:alert(1))\">x</p>",
        "<span style=\"color:red\" class=\"invisible evil\">x</span>",
        "<iframe src=\"https://evil.example\"></iframe>",
        "<iframe srcdoc=\"<script>alert(1)</script>\">",
        "<svg onload=alert(1)><circle r=1 /></svg>",
        "<svg><script>alert(1)</script></svg>",
        "<style>body{background:url(javascript:alert(1))}</style>",
        "<form action=\"https://evil.example\"><input name=p><button>go</button></form>",
        "<object data=\"javascript:alert(1)\"></object><embed src=x.swf>",
        "<math><mtext><table><mglyph><style><img src=x onerror=alert(1)></style></mglyph></table></mtext></math>",
        "<math><a xlink:href=\"javascript:alert(1)\">x</a></math>",
        "<svg><foreignObject><p onclick=alert(1)>x</p></foreignObject></svg>",
        "<p>unclosed <b>bold <a href=\"https://ok.example\">link",
        "<scr<script>ipt>alert(1)</scr</script>ipt>",
        "<<script>script>alert(1)<</script>/script>",
        "<base href=\"javascript:alert(1)//\">",
        "<meta http-equiv=\"refresh\" content=\"0;url=javascript:alert(1)\">",
        "<!-- <script>alert(1)</script> -->x<!--><img src=x onerror=alert(1)>-->",
        "<noscript><p title=\"</noscript><img src=x onerror=alert(1)>\"></noscript>",
        "<template><script>alert(1)</script></template>",
        "<textarea><script>alert(1)</script></textarea>",
        "<a href=\"/relative\">rel</a><a href=\"//evil.example\">proto-rel</a>",
        "<div><details open ontoggle=alert(1)>x</details></div>",
        "<video><source onerror=alert(1)></video><audio src=x onerror=alert(1)>",
        "<body onload=alert(1)><link rel=stylesheet href=x.css>",
        "<table background=\"javascript:alert(1)\"><tr><td>x</td></tr></table>",
        "<a href=\"https://ok.example\" target=\"_self\" rel=\"opener\">x</a>",
        "<ol start=\"javascript:1\"><li value=\"x\" onclick=alert(1)>a</li></ol>",
        "<p>\u{0}<script>alert(1)</script></p>",
        "<xmp><script>alert(1)</script></xmp><plaintext><script>alert(1)</script>",
    ];

    #[test]
    fn xss_vectors_are_neutralised() {
        assert!(XSS_VECTORS.len() >= 25);
        for input in XSS_VECTORS {
            let out = clean(input);
            assert_safe(input, &out);
            assert_eq!(clean(&out), out, "not idempotent for {input:?}");
        }
    }

    #[test]
    fn script_and_style_text_is_dropped() {
        assert_eq!(clean("a<script>alert(1)</script>b"), "ab");
        assert_eq!(clean("a<style>p{}</style>b"), "ab");
        assert_eq!(clean("<iframe>hidden</iframe>shown"), "shown");
    }

    #[test]
    fn unknown_tags_keep_their_text() {
        assert_eq!(clean("<div>a <font color=red>b</font></div>"), "a b");
        assert_eq!(clean("<img src=x alt=y>z"), "z");
    }

    #[test]
    fn mastodon_content_survives() {
        let input = r#"<p>Hi <span class="h-card" translate="no"><a href="https://m.example/@bob" class="u-url mention">@<span>bob</span></a></span></p>"#;
        let expected = r#"<p>Hi <span class="h-card" translate="no"><a href="https://m.example/@bob" class="u-url mention" target="_blank" rel="nofollow noopener noreferrer">@<span>bob</span></a></span></p>"#;
        assert_eq!(clean(input), expected);
        assert_eq!(clean(expected), expected);
    }

    #[test]
    fn mastodon_link_and_hashtag_survive() {
        let link = r#"<a href="https://x.org/very/long" target="_blank" rel="nofollow noopener noreferrer" translate="no"><span class="invisible">https://</span><span class="ellipsis">x.org/very</span><span class="invisible">/long</span></a>"#;
        let tag = r##"<a href="https://m.example/tags/rust" class="mention hashtag" rel="tag">#<span>rust</span></a>"##;
        let out = clean(&format!("<p>{link} {tag}</p>"));
        assert!(
            out.contains(
                r#"<span class="invisible">https://</span><span class="ellipsis">x.org/very</span>"#
            ),
            "{out}"
        );
        assert!(
            out.contains(r#"href="https://m.example/tags/rust" class="mention hashtag""#),
            "{out}"
        );
        assert!(out.contains(r#"translate="no""#), "{out}");
        assert_safe("mastodon", &out);
    }

    #[test]
    fn links_get_forced_rel_and_target() {
        let out = clean(r#"<a href="https://x.org" rel="me opener" target="_self">x</a>"#);
        assert_eq!(
            out,
            r#"<a href="https://x.org" target="_blank" rel="nofollow noopener noreferrer">x</a>"#
        );
    }

    #[test]
    fn link_schemes() {
        for ok in [
            "https://x.org/",
            "http://x.org/",
            "gemini://x.org/",
            "xmpp:bob@x.org",
            "magnet:?xt=urn:btih:abc",
        ] {
            assert!(
                clean(&format!(r#"<a href="{ok}">x</a>"#)).contains("href="),
                "{ok}"
            );
        }
        for bad in [
            "javascript:alert(1)",
            "data:text/html,x",
            "/local",
            "//evil.example/",
            "file:///etc/passwd",
            "mailto:a@b.org",
        ] {
            assert!(
                !clean(&format!(r#"<a href="{bad}">x</a>"#)).contains("href="),
                "{bad}"
            );
        }
    }

    #[test]
    fn classes_are_filtered() {
        assert_eq!(
            clean(r#"<span class="h-card evil">x</span>"#),
            r#"<span class="h-card">x</span>"#
        );
        assert_eq!(clean(r#"<p class="h-card">x</p>"#), "<p>x</p>");
    }

    #[test]
    fn list_attributes() {
        assert_eq!(
            clean(
                r#"<ol start="3" reversed="yes" type="a"><li value=" 7 ">x</li><li value="x">y</li></ol>"#
            ),
            r#"<ol start="3" reversed=""><li value="7">x</li><li>y</li></ol>"#
        );
    }

    #[test]
    fn formatting_tags_survive() {
        let input = "<h1>T</h1><blockquote><p><strong>b</strong> <em>e</em> <del>d</del> <code>c</code> x<sub>2</sub>y<sup>3</sup></p></blockquote><pre>a\n  b</pre><ul><li><s>s</s> <u>u</u> <i>i</i> <b>b</b></li></ul>";
        assert_eq!(clean(input), input);
    }

    #[test]
    fn truncates_before_parsing() {
        // About one formatting tag per 120 bytes, like prose: under the tag caps.
        let chunk = format!("é & {} <b>x</b> ", "a".repeat(100));
        let big = format!("<p>{}</p>", chunk.repeat(10_000));
        assert!(big.len() > 1_000_000);
        let out = sanitize_html(&big, CAP);
        assert!(out.len() <= CAP, "{}", out.len());
        assert!(out.len() > CAP / 2, "{}", out.len());
        assert!(out.starts_with("<p>é &amp; aaa"));
        assert!(out.ends_with("</p>"), "{}", &out[out.len() - 40..]);
        assert_eq!(clean(&out), out);
        assert_safe("big", &out);
    }

    #[test]
    fn truncation_inside_a_tag_or_char_is_safe() {
        let input = r#"<p>héllo <a href="https://x.org/" onclick="alert(1)">x</a></p>"#;
        for cap in 0..input.len() + 60 {
            let out = sanitize_html(input, cap);
            assert!(out.len() <= cap, "cap {cap}: {out}");
            assert_safe(input, &out);
        }
    }

    #[test]
    fn output_growth_is_capped() {
        // Each bare `<a>` gains a forced target and rel: the input grows about 18 times.
        let input = "<a>".repeat(5_000);
        let out = sanitize_html(&input, 10_000);
        assert!(out.len() <= 10_000, "{}", out.len());
        assert!(out.contains("<a target"));
        let out = sanitize_html(&"<".repeat(100), 150);
        assert!(out.len() <= 150 && out.len() >= 100, "{out}");
        assert_eq!(out.replace("&lt;", ""), "");
    }

    #[test]
    fn deep_nesting_does_not_overflow() {
        let tags = [
            ("span", MAX_TAGS),
            ("b", MAX_FORMATTING_TAGS),
            ("div", MAX_TAGS),
        ];
        for (tag, depth) in tags
            .into_iter()
            .chain([("blockquote", MAX_TAGS), ("ul", MAX_TAGS)])
        {
            let deep = format!("<{tag}>").repeat(depth) + "x";
            assert!(clean(&deep).len() <= CAP);
            assert!(html_to_text(&deep).ends_with('x'), "{tag}");
        }
    }

    #[test]
    fn tag_count_is_capped() {
        let uls = "<ul>".repeat(2 * MAX_TAGS);
        assert_eq!(cap_tags(&uls).len(), 4 * MAX_TAGS);
        let mixed = "<p>x</p>".repeat(MAX_TAGS);
        assert_eq!(cap_tags(&mixed).len(), 4 * MAX_TAGS);
        let bold = "<B>".repeat(2 * MAX_FORMATTING_TAGS);
        assert_eq!(cap_tags(&bold).len(), 3 * MAX_FORMATTING_TAGS);
        let not_tags = "< <1 <!-- a<=b".repeat(MAX_TAGS);
        assert_eq!(cap_tags(&not_tags).len(), 14 * MAX_TAGS);
        // html_to_text applies the same cap.
        let items = "<li>x".repeat(2 * MAX_TAGS);
        assert_eq!(html_to_text(&items).lines().count(), MAX_TAGS);
    }
}
