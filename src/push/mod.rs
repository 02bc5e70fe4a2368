//! Web Push to the apps (issue 14): which notifications a subscription wants
//! (`alerts` by type, `policy` by relationship), turning new notifications into push
//! jobs of the durable queue, and the listener that does it when
//! [`Event::Notified`](crate::events::Event) arrives (and drops a revoked token's
//! subscription). Like the streaming API it finds the notifications newer than the
//! last ones queued, whose id (`push_state`) moves forward in the same transaction
//! that queues their jobs, so each notification becomes a job once, even across a
//! crash: the inbox worker emits `Notified` after every step, polls included, so
//! notifications committed while no listener ran (just before a crash) are queued
//! within seconds of the next start. The crypto is in `vapid` and `encrypt` (ring is named nowhere else in
//! here), the message in `payload`, the sending in `deliver`. The client API face
//! (`mastodon::push`) stores subscriptions; this module must not answer requests.

pub mod deliver;
pub mod encrypt;
pub mod payload;
pub mod vapid;

use crate::ctx::Ctx;
use crate::db::notifications::{self, Notification};
use crate::db::{self, Conn, follows, push};
use crate::error::Result;
use crate::events::Event;

/// The alert names a subscription may set, Mastodon's and those kith adds (`move`).
pub const ALERTS: &[&str] = &[
    "mention",
    "status",
    "reblog",
    "follow",
    "follow_request",
    "favourite",
    "poll",
    "update",
    "admin.sign_up",
    "admin.report",
    "move",
];

/// The policies: from whom notifications are pushed.
pub const POLICIES: &[&str] = &["all", "followed", "follower", "none"];

/// Notifications looked at per query while queueing.
const PAGE: i64 = 100;

/// The Mastodon type of a stored notification kind (as the API shows it).
pub fn notification_type(kind: &str) -> &str {
    match kind {
        "reply" => "mention",
        "reaction" => "favourite",
        "report" => "admin.report",
        other => other,
    }
}

/// The listener for [`Event`]s: new notifications become push jobs; a revoked token's
/// subscription is removed.
pub fn on_event(ctx: &Ctx, event: &Event) {
    match *event {
        Event::Notified => {
            if let Err(e) = queue_new(ctx) {
                eprintln!("push: notifications not queued: {e}");
            }
        }
        Event::TokenRevoked(token_id) => {
            if let Err(e) = ctx.db.write(|tx| push::delete_for_token(tx, token_id)) {
                eprintln!("push: the subscription of a revoked token stays: {e}");
            }
        }
        Event::Posted(_) | Event::Edited(_) | Event::Deleted(_) => {}
    }
}

/// Queues a push job for each notification newer than the last one queued and each
/// live subscription it matches, moves the watermark past them, and wakes the
/// workers; returns how many jobs were queued.
pub fn queue_new(ctx: &Ctx) -> Result<usize> {
    let newer = ctx.db.read(|c| {
        let up_to = push::queued_up_to(c)?;
        Ok(!notifications::list(c, None, Some(up_to), None, 1)?.is_empty())
    })?;
    if !newer {
        return Ok(0);
    }
    let now = db::now_ms();
    let queued = ctx.db.write(|tx| queue_in(tx, now))?;
    if queued > 0 {
        ctx.wake.delivery();
    }
    Ok(queued)
}

fn queue_in(tx: &Conn, now: i64) -> Result<usize> {
    let up_to = push::queued_up_to(tx)?;
    let subscriptions = push::list_live(tx)?;
    let mut queued = 0;
    let mut newest = up_to;
    let mut below = None;
    loop {
        let page = notifications::list(tx, below, Some(up_to), None, PAGE)?;
        for n in &page {
            newest = newest.max(n.id);
            for s in &subscriptions {
                if wants(tx, s, n)? && push::enqueue(tx, s.id, n.id, now)? {
                    queued += 1;
                }
            }
        }
        below = page.last().map(|n| n.id);
        if (page.len() as i64) < PAGE {
            break;
        }
    }
    push::set_queued_up_to(tx, newest)?;
    Ok(queued)
}

/// Whether a subscription wants a notification: made after it subscribed, its type
/// alerted, and its author allowed by the policy.
pub fn wants(conn: &Conn, s: &push::Subscription, n: &Notification) -> Result<bool> {
    if n.created_at < s.created_at || !alerted(&s.alerts, notification_type(&n.kind)) {
        return Ok(false);
    }
    let accepted = |outgoing| -> Result<bool> {
        Ok(follows::find(conn, outgoing, n.actor_id)?.is_some_and(|f| f.accepted))
    };
    match s.policy.as_str() {
        "all" => Ok(true),
        "followed" => accepted(true),
        "follower" => accepted(false),
        _ => Ok(false),
    }
}

/// Whether the stored alerts (a JSON object) turn on `kind`.
pub fn alerted(alerts: &str, kind: &str) -> bool {
    serde_json::from_str::<serde_json::Value>(alerts)
        .ok()
        .and_then(|v| v.get(kind).and_then(serde_json::Value::as_bool))
        .unwrap_or(false)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn alerts_are_read_by_type() {
        let alerts = r#"{"mention":true,"follow":false}"#;
        assert!(alerted(alerts, "mention"));
        assert!(!alerted(alerts, "follow"));
        assert!(!alerted(alerts, "favourite"));
        assert!(!alerted("not json", "mention"));
        assert_eq!(notification_type("reply"), "mention");
        assert_eq!(notification_type("reaction"), "favourite");
        assert_eq!(notification_type("follow"), "follow");
    }
}
