//! The streaming API, as Mastodon's: `GET /api/v1/streaming/health`, and WebSockets at
//! `/api/v1/streaming` carrying `update`, `status.update`, `delete` and `notification`
//! events for the `user`, `user:notification`, `public[:local|:remote][:media]`,
//! `hashtag[:local]` and `list` channels, and `conversation` events for `direct`. A
//! channel is named in the URL (`?stream=`) or subscribed to later with
//! `{"type":"subscribe",…}` messages (masto, and so Elk and Phanpy, only do the
//! latter). The same channels are served as server-sent events at
//! `/api/v1/streaming/user`, `/user/notification`, `/public[/local|/remote][/media]`,
//! `/hashtag[/local]?tag=`, `/list?list=` and `/direct` (`sse`), within the same cap.
//!
//! Events are built once, where they happen (after their transaction commits), as the
//! JSON each channel will carry: the status is rendered once, filters applied per
//! context, and membership decided by the very timeline queries of the REST API, so a
//! stream never shows what the timeline would not. The [`Hub`] hands them to every open
//! stream's bounded queue without waiting. Each stream has a writer thread (events,
//! heartbeat pings every 30 s) and a reader thread (subscribe, unsubscribe, ping and
//! close frames). A stream that falls a queue behind, whose writes time out, or whose
//! client has answered nothing for a few heartbeats is closed; so are the streams of a
//! revoked token (SECURITY.md 53). At most [`MAX_STREAMS`] are open at once.
//!
//! Notifications are inserted in many places of the inbox processing; rather than a
//! hook in each, [`publish_notifications`] sends every notification newer than the last
//! one sent, and runs after each inbox step and after the local actions that notify.
//! Notification ids are allocated inside the write transaction, so they grow in commit
//! order and none is skipped.

mod channels;
mod hub;
mod sse;

pub use channels::{Channel, Event, StatusEvent, render};
pub use hub::{HEARTBEAT, Hub, MAX_STREAMS};

use super::auth::{self, Auth};
use super::views;
use super::websocket;
use crate::ctx::Ctx;
use crate::db::Conn;
use crate::db::timelines::{self, Page, Timeline};
use crate::db::{self, notifications, posts, tokens};
use crate::error::{Error, Result};
use crate::http::{Req, Resp};
use serde_json::{Value, json};

/// Notifications sent in one catch-up at most (a client refetches after a gap).
const CATCH_UP_LIMIT: usize = 200;

/// Closes the live streams of a revoked token (SECURITY.md 53).
pub fn close_token(ctx: &Ctx, token_id: i64) {
    ctx.streams
        .close_where(websocket::CLOSE_POLICY, |e| e.token_id == token_id);
}

/// The streaming API's listener for [`crate::events::Event`]s: each becomes the
/// events of the open streams it concerns.
pub fn on_event(ctx: &Ctx, event: &crate::events::Event) {
    use crate::events::Event;
    match *event {
        Event::Posted(id) => publish_update(ctx, id),
        Event::Edited(id) => publish_status_update(ctx, id),
        Event::Deleted(id) => publish_delete(ctx, id),
        Event::Notified => publish_notifications(ctx),
        Event::TokenRevoked(id) => close_token(ctx, id),
    }
}

/// Routes under `/api/v1/streaming`.
pub fn route(ctx: &Ctx, req: &Req, method: &str, rest: &[&str]) -> Result<Resp> {
    match (method, rest) {
        ("GET", ["streaming", "health"]) => Ok(Resp::text(200, "OK")),
        ("GET", ["streaming"]) => handshake(ctx, req),
        ("GET", ["streaming", path @ ..]) => sse::open(ctx, req, path),
        _ => Err(Error::NotFound("Not found".into())),
    }
}

/// The client's `Sec-WebSocket-Key`, once the request is checked to be a WebSocket
/// handshake.
fn websocket_key(req: &Req) -> Result<&str> {
    let has = |name: &str, word: &str| {
        req.header(name).is_some_and(|v| {
            v.split(',')
                .any(|item| item.trim().eq_ignore_ascii_case(word))
        })
    };
    if !has("connection", "upgrade") || !has("upgrade", "websocket") {
        return Err(Error::BadRequest(
            "This endpoint only speaks WebSocket (send Upgrade: websocket)".into(),
        ));
    }
    if req.header("sec-websocket-version").map(str::trim) != Some("13") {
        return Err(Error::Status(426, "Unsupported WebSocket version".into()));
    }
    req.header("sec-websocket-key")
        .filter(|k| websocket::valid_key(k))
        .ok_or_else(|| Error::BadRequest("Missing or malformed Sec-WebSocket-Key".into()))
}

/// The token (from `Authorization`, else `Sec-WebSocket-Protocol`, else the
/// `access_token` parameter) and the subprotocol to echo, if the client offered one.
fn token_of(req: &Req) -> (Option<String>, Option<String>) {
    let offered = req
        .header("sec-websocket-protocol")
        .and_then(|v| v.split(',').map(str::trim).find(|p| !p.is_empty()))
        .map(str::to_string);
    let token = auth::bearer(req)
        .map(str::to_string)
        .or_else(|| offered.clone())
        .or_else(|| req.query_param("access_token").filter(|t| !t.is_empty()));
    (token, offered)
}

/// The channel named in the URL, if any, checked against the token's scopes.
fn initial_channel(req: &Req, auth: &Auth) -> Result<Option<Channel>> {
    let Some(stream) = req.query_param("stream") else {
        let any = ["read:statuses", "read:notifications", "read:lists"];
        if !any.iter().any(|s| auth::covers(&auth.scopes, s)) {
            return Err(Error::Forbidden(
                "This action is outside the authorized scopes".into(),
            ));
        }
        return Ok(None);
    };
    let tag = req.query_param("tag");
    let list = req.query_param("list");
    let channel = Channel::parse(&stream, tag.as_deref(), list.as_deref())
        .map_err(|m| Error::BadRequest(m.into()))?;
    if !auth::covers(&auth.scopes, channel.scope()) {
        return Err(Error::Forbidden(
            "This action is outside the authorized scopes".into(),
        ));
    }
    Ok(Some(channel))
}

/// `GET /api/v1/streaming`: checks the handshake, the token and the cap, then answers
/// 101 and hands the connection to a stream.
fn handshake(ctx: &Ctx, req: &Req) -> Result<Resp> {
    let key = websocket_key(req)?;
    let (token, offered) = token_of(req);
    let invalid = || Error::Unauthorized("The access token is invalid".into());
    let token = token.ok_or_else(invalid)?;
    let auth = auth::lookup(ctx, &token)?
        .filter(|a| !a.app_only)
        .ok_or_else(invalid)?;
    let first = initial_channel(req, &auth)?;
    let session = register(ctx, &token, &auth)?;
    let scopes = auth.scopes;
    let resp = Resp::switching(
        "websocket",
        Box::new(move |conn| hub::run_stream(session, conn, scopes, first)),
    )
    .with_header("Sec-WebSocket-Accept", &websocket::accept_key(key));
    Ok(match offered {
        Some(p) => resp.with_header("Sec-WebSocket-Protocol", &p),
        None => resp,
    })
}

/// Registers a stream for a checked token (within the cap shared by WebSockets and
/// server-sent events), and notes the token as used.
fn register(ctx: &Ctx, token: &str, auth: &Auth) -> Result<hub::Session> {
    let newest = ctx.db.read(|c| {
        Ok(notifications::list(c, None, None, None, 1)?
            .first()
            .map_or(0, |n| n.id))
    })?;
    let session = ctx
        .streams
        .register(auth.token_id, newest)
        .ok_or_else(|| Error::Status(503, "Too many open streams; try again later".into()))?;
    // A revocation that committed after the lookup but before the registration would
    // have found no stream to close: look again now that the stream is registered.
    if auth::lookup(ctx, token)?.is_none() {
        return Err(Error::Unauthorized("The access token is invalid".into()));
    }
    let now = db::now_ms();
    let _ = ctx.db.write(|tx| tokens::touch(tx, auth.token_id, now));
    Ok(session)
}

/// Whether a post is on a timeline, by the timeline's own query.
fn on_timeline(conn: &Conn, t: &Timeline, post_id: i64, me: &str) -> Result<bool> {
    let page = Page {
        max_id: Some(post_id.saturating_add(1)),
        since_id: Some(post_id.saturating_sub(1)),
        min_id: None,
        limit: 1,
    };
    Ok(timelines::list(conn, t, page, me)?
        .first()
        .is_some_and(|p| p.id == post_id))
}

/// Applies the owner's filters of `context` to a status: its JSON, or `None` if hidden.
fn filtered(ctx: &Ctx, context: &str, status: &Value) -> Result<Option<String>> {
    let shown = super::lists::apply(ctx, context, vec![status.clone()])?;
    Ok(shown.first().map(Value::to_string))
}

/// Where a stored post shows: its `Status` JSON, and the timelines that show it.
struct Placement {
    status: Value,
    local: bool,
    home: bool,
    public: bool,
    direct: bool,
    tags: Vec<String>,
    lists: Vec<i64>,
}

/// Reads a post and decides, by the timelines' own queries, where it shows.
fn place(ctx: &Ctx, c: &Conn, post_id: i64) -> Result<Option<Placement>> {
    let me = ctx.config.actor_url();
    let Some(post) = posts::find(c, post_id)?.filter(|p| p.deleted_at.is_none()) else {
        return Ok(None);
    };
    let on = |t: &Timeline| on_timeline(c, t, post_id, &me);
    let mut tags = Vec::new();
    for tag in posts::list_tags(c, post_id)? {
        if on(&Timeline::Tag(tag.clone()))? {
            tags.push(tag.to_lowercase());
        }
    }
    let mut lists = Vec::new();
    for list in db::lists::list_all(c)? {
        if on(&Timeline::List(list.id))? {
            lists.push(list.id);
        }
    }
    Ok(Some(Placement {
        status: views::status(ctx, c, &post, &crate::visibility::Viewer::Owner)?,
        local: post.is_local(),
        home: on(&Timeline::Home)?,
        public: on(&Timeline::Public(None))?,
        direct: on(&Timeline::Direct)?,
        tags,
        lists,
    }))
}

/// A direct status as a `Conversation`, as the conversations endpoint shows it.
fn conversation(status: &Value) -> String {
    let accounts = if status["account"]["id"] == super::entities::LOCAL_ACCOUNT_ID {
        json!([])
    } else {
        json!([status["account"]])
    };
    json!({"id": status["id"], "unread": false, "accounts": accounts, "last_status": status})
        .to_string()
}

/// Renders a status event: the status once, where it belongs, the filters per context.
fn status_event(ctx: &Ctx, post_id: i64, event: &'static str) -> Result<Option<Event>> {
    let Some(p) = ctx.db.read(|c| place(ctx, c, post_id))? else {
        return Ok(None);
    };
    let media = p.status["media_attachments"]
        .as_array()
        .is_some_and(|a| !a.is_empty());
    let home = match p.home || !p.lists.is_empty() {
        true => filtered(ctx, "home", &p.status)?,
        false => None,
    };
    let public = match p.public || !p.tags.is_empty() {
        true => filtered(ctx, "public", &p.status)?,
        false => None,
    };
    let conversation = (p.direct && event == "update").then(|| conversation(&p.status));
    Ok(Some(Event::Status(StatusEvent {
        event,
        home,
        public,
        local: p.local,
        media,
        tags: p.tags,
        lists: p.lists,
        conversation,
    })))
}

fn publish_status(ctx: &Ctx, post_id: i64, event: &'static str) {
    if ctx.streams.open_streams() == 0 {
        return;
    }
    match status_event(ctx, post_id, event) {
        Ok(Some(e)) => ctx.streams.broadcast(e),
        Ok(None) => {}
        Err(e) => eprintln!("streaming: {event} of post {post_id} not sent: {e}"),
    }
}

/// Tells open streams about a new status (a post or a boost), after it is committed.
pub fn publish_update(ctx: &Ctx, post_id: i64) {
    publish_status(ctx, post_id, "update");
}

/// Tells open streams that a status was edited, after the edit is committed.
pub fn publish_status_update(ctx: &Ctx, post_id: i64) {
    publish_status(ctx, post_id, "status.update");
}

/// Tells open streams that a post was deleted (or a boost undone).
pub fn publish_delete(ctx: &Ctx, post_id: i64) {
    if ctx.streams.open_streams() > 0 {
        ctx.streams.broadcast(Event::Delete(post_id));
    }
}

/// Sends every notification newer than the last one sent to the open streams.
pub fn publish_notifications(ctx: &Ctx) {
    let Ok(_one_at_a_time) = ctx.streams.catching_up.lock() else {
        return;
    };
    let Some(sent) = ctx.streams.notifications_sent() else {
        return;
    };
    let rendered = ctx.db.read(|c| {
        let mut newer = Vec::new();
        let mut below = None;
        while newer.len() < CATCH_UP_LIMIT {
            let page = notifications::list(c, below, Some(sent), None, 40)?;
            below = page.last().map(|n| n.id);
            let done = page.len() < 40;
            newer.extend(page);
            if done {
                break;
            }
        }
        newer.reverse();
        newer
            .iter()
            .map(|n| Ok((n.id, views::notification(ctx, c, n)?.to_string())))
            .collect::<Result<Vec<_>>>()
    });
    match rendered {
        Ok(list) => {
            for (id, json) in list {
                ctx.streams.broadcast(Event::Notification(json));
                ctx.streams.set_notifications_sent(id);
            }
        }
        Err(e) => eprintln!("streaming: notifications not sent: {e}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn req(headers: &[(&str, &str)], target: &str) -> Req {
        let mut r = Req::new("GET", target);
        r.headers = headers
            .iter()
            .map(|(n, v)| (n.to_string(), v.to_string()))
            .collect();
        r
    }

    #[test]
    fn token_sources_in_order() {
        let upgrade = [
            ("connection", "keep-alive, Upgrade"),
            ("upgrade", "websocket"),
            ("sec-websocket-version", "13"),
            ("sec-websocket-key", "dGhlIHNhbXBsZSBub25jZQ=="),
        ];
        let with = |extra: &[(&str, &str)], target: &str| {
            let all: Vec<(&str, &str)> = upgrade.iter().chain(extra).copied().collect();
            req(&all, target)
        };
        let r = with(&[("authorization", "Bearer h")], "/s?access_token=q");
        assert_eq!(token_of(&r), (Some("h".into()), None));
        let r = with(&[("sec-websocket-protocol", "p")], "/s?access_token=q");
        assert_eq!(token_of(&r), (Some("p".into()), Some("p".into())));
        let r = with(
            &[
                ("authorization", "Bearer h"),
                ("sec-websocket-protocol", "p, x"),
            ],
            "/s",
        );
        assert_eq!(token_of(&r), (Some("h".into()), Some("p".into())));
        assert_eq!(
            token_of(&with(&[], "/s?access_token=q")).0,
            Some("q".into())
        );
        assert_eq!(token_of(&with(&[], "/s?access_token=")).0, None);
        assert!(websocket_key(&with(&[], "/s")).is_ok());
    }

    #[test]
    fn handshakes_that_are_not() {
        let cases: [(&[(&str, &str)], u16); 4] = [
            (&[("upgrade", "websocket")], 400),
            (&[("connection", "upgrade"), ("upgrade", "h2c")], 400),
            (
                &[
                    ("connection", "upgrade"),
                    ("upgrade", "websocket"),
                    ("sec-websocket-version", "8"),
                ],
                426,
            ),
            (
                &[
                    ("connection", "upgrade"),
                    ("upgrade", "websocket"),
                    ("sec-websocket-version", "13"),
                    ("sec-websocket-key", "short"),
                ],
                400,
            ),
        ];
        for (headers, status) in cases {
            let err = websocket_key(&req(headers, "/s")).unwrap_err();
            assert_eq!(err.status(), status, "{headers:?}");
        }
    }
}
