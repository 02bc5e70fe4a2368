//! Text in and out of kith: the owner's plain text becomes HTML the way Mastodon
//! writes it, and remote HTML and strings become safe to store and show.
//!
//! This module owns every rule about post text: how links, `@mentions` and `#hashtags`
//! are found ([`scan`]) and rendered ([`render_plain`]), the allow-list that remote HTML
//! passes through ([`sanitize_html`]), its plain-text form ([`html_to_text`]), cleaning
//! of remote plain strings ([`clean_plain`]) and the size caps the ingest path applies
//! (SECURITY 43, 47, 48). It is the only place that knows ammonia. It is pure: no I/O,
//! no database, no ActivityPub or Mastodon JSON shapes, and it resolves nothing — the
//! caller looks mentions up and passes the results in.

mod compose;
mod sanitize;
mod scan;

pub use compose::{ResolvedMention, render_plain};
pub use sanitize::{html_to_text, sanitize_html};
pub use scan::{MentionRef, Scanned, scan};

/// Cap on a remote post's `content` HTML, in bytes, before sanitizing.
pub const MAX_CONTENT_BYTES: usize = 100_000;
/// Cap on a remote post's `summary` (content warning) HTML, in bytes.
pub const MAX_SUMMARY_BYTES: usize = 10_000;
/// Cap on a remote actor's `summary` (bio) HTML, in bytes.
pub const MAX_BIO_BYTES: usize = 10_000;
/// Cap on one remote profile field value (`PropertyValue.value`) HTML, in bytes.
pub const MAX_FIELD_VALUE_BYTES: usize = 2_000;
/// Cap on a remote display name, in characters.
pub const MAX_NAME_CHARS: usize = 100;
/// Cap on a remote profile field name, in characters.
pub const MAX_FIELD_NAME_CHARS: usize = 255;
/// Cap on a custom emoji shortcode, in characters.
pub const MAX_SHORTCODE_CHARS: usize = 64;
/// Longest hashtag, in characters; a longer run after `#` is not a hashtag.
pub const MAX_HASHTAG_CHARS: usize = 100;
/// The most mentions kept from one post (composed or remote).
pub const MAX_MENTIONS: usize = 100;
/// The most hashtags kept from one post (composed or remote).
pub const MAX_HASHTAGS: usize = 100;
/// The most links [`scan`] reports for one post.
pub const MAX_LINKS: usize = 100;

/// A hashtag name as typed (with or without `#`), when it is one whole hashtag as a
/// post would write it: the name without `#`, else `None`.
pub fn hashtag_name(raw: &str) -> Option<String> {
    let name = raw.trim().trim_start_matches('#');
    match scan(&format!("#{name}")).hashtags.as_slice() {
        [one] if one == name => Some(name.to_string()),
        _ => None,
    }
}

/// Cleans and caps a remote plain string (display names, field names, emoji shortcodes): line breaks and tabs become spaces and runs of spaces one, other control and bidi-override characters go, the ends are trimmed and the result is cut to `max_chars` characters. The result is still plain text: the template engine escapes it on output.
pub fn clean_plain(s: &str, max_chars: usize) -> String {
    let mut out = String::with_capacity(s.len().min(max_chars.saturating_mul(4)));
    let mut count = 0;
    for c in s.trim().chars() {
        if count == max_chars {
            break;
        }
        let c = match c {
            '\t' | '\n' | '\r' | '\u{0B}' | '\u{0C}' | '\u{85}' | '\u{2028}' | '\u{2029}' => ' ',
            c if c.is_control() || is_bidi_control(c) => continue,
            c => c,
        };
        if c == ' ' && (out.is_empty() || out.ends_with(' ')) {
            continue;
        }
        out.push(c);
        count += 1;
    }
    out.trim_end().to_string()
}

/// Bidi embeddings, overrides and isolates: they can reorder the text around a name.
fn is_bidi_control(c: char) -> bool {
    matches!(c, '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}')
}

/// Appends `s` to `out` with `&`, `<`, `>`, `"` and `'` escaped.
fn escape_into(out: &mut String, s: &str) {
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
}

/// The longest prefix of `s` that is at most `max` bytes and ends on a char boundary.
fn truncate_bytes(s: &str, max: usize) -> &str {
    if s.len() <= max {
        return s;
    }
    let mut end = max;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    &s[..end]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clean_plain_removes_controls_and_trims() {
        assert_eq!(clean_plain("  Alice\u{0}\u{7}  ", 100), "Alice");
        assert_eq!(clean_plain("a\nb\tc\r\nd", 100), "a b c d");
        assert_eq!(clean_plain("\u{202E}evil\u{202C} \u{2067}x", 100), "evil x");
        assert_eq!(clean_plain("\u{1b}[31mred", 100), "[31mred");
        assert_eq!(clean_plain("\u{7} \u{202E} a \u{0}", 100), "a");
    }

    #[test]
    fn clean_plain_keeps_text_as_is() {
        assert_eq!(clean_plain("<b>Bob</b> & co", 100), "<b>Bob</b> & co");
        assert_eq!(clean_plain("👩‍💻 Ada", 100), "👩‍💻 Ada");
        assert_eq!(clean_plain("مرحبا\u{200F}", 100), "مرحبا\u{200F}");
    }

    #[test]
    fn clean_plain_caps_characters() {
        assert_eq!(clean_plain("ééééé", 3), "ééé");
        assert_eq!(clean_plain("ab cd", 3), "ab");
        assert_eq!(clean_plain("a   b", 3), "a b");
        assert_eq!(clean_plain("abc", 0), "");
        let long = "x".repeat(10 * MAX_NAME_CHARS);
        assert_eq!(
            clean_plain(&long, MAX_NAME_CHARS).chars().count(),
            MAX_NAME_CHARS
        );
    }

    #[test]
    fn escape_covers_the_five() {
        let mut out = String::new();
        escape_into(&mut out, r#"<a href="x" title='y'>&</a>"#);
        assert_eq!(
            out,
            "&lt;a href=&quot;x&quot; title=&#39;y&#39;&gt;&amp;&lt;/a&gt;"
        );
    }

    #[test]
    fn truncate_bytes_respects_char_boundaries() {
        assert_eq!(truncate_bytes("héllo", 2), "h");
        assert_eq!(truncate_bytes("héllo", 3), "hé");
        assert_eq!(truncate_bytes("abc", 10), "abc");
        assert_eq!(truncate_bytes("€", 2), "");
    }
}
