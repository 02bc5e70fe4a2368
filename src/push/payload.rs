//! The message a push carries, in Mastodon's shape: `access_token`,
//! `preferred_locale`, `notification_id`, `notification_type`, `icon`, `title` and
//! `body`, as JSON well under the 4 KB a push service accepts (names and texts are
//! cut, an overlong icon URL falls back to the default avatar). It reads what it
//! names and must not send.

use crate::ctx::Ctx;
use crate::db::notifications::Notification;
use crate::db::{Conn, actors, posts, push::Subscription};
use crate::error::Result;
use serde_json::{Value, json};

/// The largest payload kith sends, in bytes (the encrypted record must fit in 4096).
pub const MAX_PAYLOAD_BYTES: usize = 3072;
/// Characters of a post or bio shown in the body (as Mastodon: 140).
const BODY_CHARS: usize = 140;
/// Characters of a display name in the title.
const NAME_CHARS: usize = 80;
/// The longest icon URL sent; longer ones become the default avatar.
const ICON_BYTES: usize = 1024;

/// The payload for notification `n` on subscription `s` (JSON bytes).
pub fn build(ctx: &Ctx, conn: &Conn, s: &Subscription, n: &Notification) -> Result<Vec<u8>> {
    let actor = actors::get(conn, n.actor_id)?;
    let name = if actor.display_name.trim().is_empty() {
        actor.acct()
    } else {
        actor.display_name.clone()
    };
    let name = cut(&crate::text::clean_plain(&name, NAME_CHARS), NAME_CHARS);
    let kind = super::notification_type(&n.kind);
    let post = match n.post_id {
        Some(id) => posts::find(conn, id)?.filter(|p| p.deleted_at.is_none()),
        None => None,
    };
    let text = match &post {
        Some(p) if !p.spoiler_text.trim().is_empty() => p.spoiler_text.clone(),
        Some(p) => crate::text::html_to_text(&p.content_html),
        None => crate::text::html_to_text(&actor.note_html),
    };
    let default_icon = format!(
        "{}{}",
        ctx.config.public_url,
        crate::assets::url("avatar.png")
    );
    let icon = actor
        .avatar_url
        .as_deref()
        .map(|u| crate::media::cache::proxied(ctx, u))
        .filter(|u| u.len() <= ICON_BYTES)
        .unwrap_or_else(|| default_icon.clone());
    let mut payload = json!({
        "access_token": s.access_token,
        "preferred_locale": "en",
        "notification_id": n.id,
        "notification_type": kind,
        "icon": icon,
        "title": title(kind, &name),
        "body": cut(text.trim(), BODY_CHARS),
    });
    let mut bytes = payload.to_string().into_bytes();
    if bytes.len() > MAX_PAYLOAD_BYTES {
        payload["icon"] = Value::String(default_icon);
        payload["body"] = Value::String(cut(text.trim(), 40));
        bytes = payload.to_string().into_bytes();
    }
    Ok(bytes)
}

/// The title of a notification of Mastodon type `kind` from `name`.
pub fn title(kind: &str, name: &str) -> String {
    match kind {
        "mention" => format!("You were mentioned by {name}"),
        "status" => format!("{name} just posted"),
        "reblog" => format!("{name} boosted your post"),
        "follow" => format!("{name} is now following you"),
        "follow_request" => format!("New follow request from {name}"),
        "favourite" => format!("{name} favorited your post"),
        "poll" => "A poll has ended".to_string(),
        "update" => format!("{name} edited a post"),
        "admin.report" => format!("{name} filed a report"),
        "move" => format!("{name} has moved to a new account"),
        _ => format!("New notification from {name}"),
    }
}

/// At most `max` characters of `text`, with an ellipsis when cut.
fn cut(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        return text.to_string();
    }
    let mut out: String = text.chars().take(max.saturating_sub(1)).collect();
    out.push('…');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn texts_are_cut_to_their_limits() {
        assert_eq!(cut("short", 10), "short");
        let long = "é".repeat(500);
        let c = cut(&long, BODY_CHARS);
        assert_eq!(c.chars().count(), BODY_CHARS);
        assert!(c.ends_with('…'));
        assert_eq!(title("mention", "Bob"), "You were mentioned by Bob");
        assert_eq!(title("favourite", "Bob"), "Bob favorited your post");
    }
}
