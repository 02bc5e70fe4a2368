//! The streaming API as server-sent events, for clients that do not speak WebSocket
//! (Mastodon.py's `stream_user`, npm `mastodon-api`, tooi): `GET
//! /api/v1/streaming/<channel path>` answers `text/event-stream` and then writes each
//! event of that one channel as `event: <name>` and `data: <payload>`, as Mastodon
//! does, and a `:thump` comment every [`HEARTBEAT`] so that clients and proxies see
//! the stream alive. The token comes from `Authorization: Bearer` or `access_token`.
//! Streams count against the cap shared with WebSockets and end when their token is
//! revoked or the server stops; a client that went away is noticed when a write
//! fails (at the latest at the second heartbeat after).

use super::channels::{Channel, message};
use super::hub::{Next, Session};
use crate::ctx::Ctx;
use crate::error::{Error, Result};
use crate::http::{Req, Resp};
use crate::mastodon::auth;
use std::io::Write;
use std::time::Duration;

/// The answer's content type.
const EVENT_STREAM: &str = "text/event-stream; charset=utf-8";

/// How often an idle stream writes a comment.
pub const HEARTBEAT: Duration = Duration::from_secs(5);

/// The channel a path under `/api/v1/streaming/` names (`public/local` is Mastodon's
/// `public:local`), with its `tag` or `list` parameter.
fn channel_of(req: &Req, path: &[&str]) -> Result<Channel> {
    if path.is_empty() || path.iter().any(|p| p.is_empty() || p.contains(':')) {
        return Err(Error::NotFound("Unknown stream type".into()));
    }
    let stream = path.join(":");
    let tag = req.query_param("tag");
    let list = req.query_param("list");
    Channel::parse(&stream, tag.as_deref(), list.as_deref()).map_err(|m| match m {
        "Unknown stream type" => Error::NotFound(m.into()),
        _ => Error::BadRequest(m.into()),
    })
}

/// `GET /api/v1/streaming/<channel>`: checks the channel, the token, its scope and the
/// cap, then answers 200 and writes the stream in a thread of its own.
pub(super) fn open(ctx: &Ctx, req: &Req, path: &[&str]) -> Result<Resp> {
    let channel = channel_of(req, path)?;
    let invalid = || Error::Unauthorized("The access token is invalid".into());
    let token = auth::bearer(req)
        .map(str::to_string)
        .or_else(|| req.query_param("access_token").filter(|t| !t.is_empty()))
        .ok_or_else(invalid)?;
    let auth = auth::lookup(ctx, &token)?
        .filter(|a| !a.app_only)
        .ok_or_else(invalid)?;
    if !auth::covers(&auth.scopes, channel.scope()) {
        return Err(Error::Forbidden(
            "This action is outside the authorized scopes".into(),
        ));
    }
    if req.method == "HEAD" {
        // The head alone: no stream is opened, and no body may follow.
        return Ok(Resp::empty(200).with_header("Content-Type", EVENT_STREAM));
    }
    let session = super::register(ctx, &token, &auth)?;
    let scopes = auth.scopes;
    Ok(Resp::stream(
        200,
        EVENT_STREAM,
        Box::new(move |w| write_events(&session, w, &channel, &scopes)),
    )
    .with_header("Cache-Control", "no-store")
    .with_header("X-Accel-Buffering", "no"))
}

/// Writes the channel's events and heartbeats until the stream is closed or a write
/// fails; the session is dropped (unregistered) on return.
fn write_events(session: &Session, w: &mut dyn Write, channel: &Channel, scopes: &str) {
    if send(w, ":)\n\n").is_err() {
        return;
    }
    loop {
        let written = match session.next(HEARTBEAT) {
            Next::Event(event) => match message(&event, channel, scopes) {
                Some((name, data)) => send(w, &frame(name, &data)),
                None => Ok(()),
            },
            Next::Idle => send(w, ":thump\n\n"),
            Next::Closed => return,
        };
        if written.is_err() {
            return;
        }
    }
}

/// One event: its name and its data, a `data:` line per line of the payload.
fn frame(name: &str, data: &str) -> String {
    let mut out = format!("event: {name}\n");
    for line in data.split('\n') {
        out.push_str("data: ");
        out.push_str(line.trim_end_matches('\r'));
        out.push('\n');
    }
    out.push('\n');
    out
}

fn send(w: &mut dyn Write, text: &str) -> std::io::Result<()> {
    w.write_all(text.as_bytes())?;
    w.flush()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_name_channels() {
        let req = Req::new("GET", "/x?tag=Cats&list=4");
        let ok = |path: &[&str]| channel_of(&req, path).unwrap();
        assert_eq!(ok(&["user"]), Channel::User);
        assert_eq!(ok(&["user", "notification"]), Channel::UserNotification);
        assert_eq!(
            ok(&["public", "remote"]),
            Channel::Public {
                local: Some(false),
                media: false
            }
        );
        assert_eq!(
            ok(&["hashtag", "local"]),
            Channel::Hashtag {
                tag: "Cats".into(),
                local: true
            }
        );
        assert_eq!(ok(&["list"]), Channel::List(4));
        assert_eq!(ok(&["direct"]), Channel::Direct);
        let bare = Req::new("GET", "/x");
        assert_eq!(channel_of(&bare, &["hashtag"]).unwrap_err().status(), 400);
        assert_eq!(channel_of(&bare, &["list"]).unwrap_err().status(), 400);
        assert_eq!(channel_of(&bare, &["nope"]).unwrap_err().status(), 404);
        assert_eq!(
            channel_of(&bare, &["public:local"]).unwrap_err().status(),
            404
        );
        assert_eq!(channel_of(&bare, &["user", ""]).unwrap_err().status(), 404);
    }

    #[test]
    fn frames() {
        assert_eq!(frame("delete", "12"), "event: delete\ndata: 12\n\n");
        assert_eq!(frame("x", "a\nb"), "event: x\ndata: a\ndata: b\n\n");
    }
}
