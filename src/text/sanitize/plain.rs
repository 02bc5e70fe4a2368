//! The plain-text reading of HTML ([`html_to_text`]): ammonia keeps only block tags,
//! `br` and table cells, and a small writer turns them into line breaks and collapses
//! white space outside `<pre>`. The tag caps and the tags dropped with their content
//! are the parent's, so plain text never parses more than sanitizing would.

use super::{DROPPED_WITH_CONTENT, cap_tags};
use ammonia::Builder;
use std::collections::{HashMap, HashSet};
use std::sync::LazyLock;

/// Tags that start a new line in [`html_to_text`], with how many line breaks.
#[rustfmt::skip]
const BLOCK_TAGS: &[(&str, usize)] = &[
    ("p", 2), ("div", 2), ("blockquote", 2), ("pre", 2), ("ul", 2), ("ol", 2), ("table", 2),
    ("h1", 2), ("h2", 2), ("h3", 2), ("h4", 2), ("h5", 2), ("h6", 2), ("li", 1), ("tr", 1),
];

static TEXT_EXTRACTOR: LazyLock<Builder<'static>> = LazyLock::new(text_extractor);

/// A builder whose output holds only attribute-less block tags, `br` and table cells, so that
/// [`html_to_text`] can read it with a few lines of code.
fn text_extractor() -> Builder<'static> {
    let mut b = Builder::empty();
    b.tags(
        BLOCK_TAGS
            .iter()
            .map(|(t, _)| *t)
            .chain(["br", "td", "th"])
            .collect(),
    )
    .clean_content_tags(DROPPED_WITH_CONTENT.iter().copied().collect())
    .generic_attributes(HashSet::new())
    .tag_attributes(HashMap::new())
    .link_rel(None)
    .strip_comments(true);
    b
}

/// Plain text of an HTML fragment (tags stripped, entities decoded, <br>/</p> to newlines) — for notifications, search, page titles, CSV exports.
pub fn html_to_text(html: &str) -> String {
    let cleaned = TEXT_EXTRACTOR.clean(cap_tags(html)).to_string();
    let mut writer = TextWriter::default();
    let mut rest = cleaned.as_str();
    // The extractor's output escapes every `<` in text, so each `<` opens a tag.
    while let Some(lt) = rest.find('<') {
        writer.text(&rest[..lt]);
        let gt = rest[lt..].find('>').map_or(rest.len(), |g| lt + g);
        writer.tag(&rest[lt + 1..gt]);
        rest = rest.get(gt + 1..).unwrap_or("");
    }
    writer.text(rest);
    writer.finish()
}

/// Builds plain text from the extractor's output: collapses HTML white space outside
/// `<pre>`, and turns block boundaries into line breaks without leading or doubled ones.
#[derive(Default)]
struct TextWriter {
    out: String,
    pending_breaks: usize,
    pending_space: bool,
    pre_depth: usize,
}

impl TextWriter {
    /// Serialized text: html5ever writes only the first four entities in text; `&quot;`
    /// is decoded too in case that ever changes.
    fn text(&mut self, raw: &str) {
        const ENTITIES: &[(&str, char)] = &[
            ("&amp;", '&'),
            ("&lt;", '<'),
            ("&gt;", '>'),
            ("&nbsp;", '\u{A0}'),
            ("&quot;", '"'),
        ];
        let mut rest = raw;
        while let Some(c) = rest.chars().next() {
            let (c, len) = ENTITIES
                .iter()
                .find(|(name, _)| rest.starts_with(name))
                .map_or((c, c.len_utf8()), |(name, c)| (*c, name.len()));
            rest = &rest[len..];
            if self.pre_depth == 0 && c.is_ascii_whitespace() {
                self.pending_space = true;
            } else {
                self.push(c);
            }
        }
    }

    fn push(&mut self, c: char) {
        if !self.out.is_empty() {
            if self.pending_breaks > 0 {
                let breaks = self.pending_breaks - usize::from(self.out.ends_with('\n'));
                self.out.extend(std::iter::repeat_n('\n', breaks));
            } else if self.pending_space && !self.out.ends_with('\n') {
                self.out.push(' ');
            }
        }
        self.pending_breaks = 0;
        self.pending_space = false;
        self.out.push(c);
    }

    fn tag(&mut self, tag: &str) {
        let (closing, name) = match tag.strip_prefix('/') {
            Some(name) => (true, name),
            None => (false, tag),
        };
        let name = name.trim_end_matches('/').trim();
        if name == "br" {
            self.push('\n');
            return;
        }
        if matches!(name, "td" | "th") {
            self.pending_space = true;
        }
        if name == "pre" {
            self.pre_depth = if closing {
                self.pre_depth.saturating_sub(1)
            } else {
                self.pre_depth + 1
            };
        }
        if let Some((_, breaks)) = BLOCK_TAGS.iter().find(|(t, _)| *t == name) {
            self.pending_breaks = self.pending_breaks.max(*breaks);
        }
    }

    fn finish(mut self) -> String {
        let end = self.out.trim_end().len();
        self.out.truncate(end);
        self.out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn html_to_text_basics() {
        assert_eq!(
            html_to_text("<p>Hello <b>world</b></p><p>again</p>"),
            "Hello world\n\nagain"
        );
        assert_eq!(html_to_text("a<br>b<br/><br>c"), "a\nb\n\nc");
        assert_eq!(
            html_to_text("<p>Tom &amp; Jerry &lt;3 &quot;hi&quot; &#39;x&#39; &eacute;</p>"),
            "Tom & Jerry <3 \"hi\" 'x' é"
        );
        assert_eq!(
            html_to_text("x<script>alert(1)</script><style>p{}</style>y"),
            "xy"
        );
        assert_eq!(html_to_text("  <p>\n  spaced \n  out </p>  "), "spaced out");
        assert_eq!(html_to_text(""), "");
        assert_eq!(html_to_text("&amp;lt;"), "&lt;");
    }

    #[test]
    fn html_to_text_mastodon_shapes() {
        let content = r#"<p>Hi <span class="h-card"><a href="https://m.example/@bob" class="u-url mention">@<span>bob</span></a></span>, see <a href="https://x.org/very/long"><span class="invisible">https://</span><span class="ellipsis">x.org/very</span><span class="invisible">/long</span></a></p><p>line<br>two</p>"#;
        assert_eq!(
            html_to_text(content),
            "Hi @bob, see https://x.org/very/long\n\nline\ntwo"
        );
    }

    #[test]
    fn html_to_text_blocks() {
        assert_eq!(
            html_to_text("intro<ul><li>a</li><li>b</li></ul>end"),
            "intro\n\na\nb\n\nend"
        );
        assert_eq!(html_to_text("<pre>a\n  b</pre>"), "a\n  b");
        assert_eq!(
            html_to_text("<blockquote><p>q</p></blockquote><p>r</p>"),
            "q\n\nr"
        );
        assert_eq!(html_to_text("a&nbsp;b"), "a\u{A0}b");
        let table = "<table><tr><th>k</th><th>v</th></tr><tr><td>a</td><td>b</td></tr></table>";
        assert_eq!(html_to_text(table), "k v\na b");
    }
}
