//! The streaming API, as Mastodon's: `GET /api/v1/streaming/health`, and WebSockets at
//! `/api/v1/streaming` carrying `update`, `status.update`, `delete` and `notification`
//! events for the `user`, `user:notification`, `public[:local|:remote][:media]`,
//! `hashtag[:local]` and `list` channels. A channel is named in the URL (`?stream=`) or
//! subscribed to later with `{"type":"subscribe",…}` messages (masto, and so Elk and
//! Phanpy, only do the latter).
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

use super::auth::{self, Auth};
use super::views;
use super::websocket::{self, FrameReader, Incoming};
use crate::Ctx;
use crate::db::timelines::{self, Page, Timeline};
use crate::db::{self, notifications, posts, tokens};
use crate::error::{Error, Result};
use crate::http::{Req, Resp, Upgraded};
use rusqlite::Connection;
use serde_json::{Value, json};
use std::io::Write;
use std::sync::atomic::{AtomicI64, AtomicU16, Ordering};
use std::sync::mpsc::{Receiver, RecvTimeoutError, SyncSender, TrySendError, sync_channel};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// Streams open at once; one more is answered 503 before upgrading.
pub const MAX_STREAMS: usize = 16;
/// How often a stream pings its client.
pub const HEARTBEAT: Duration = Duration::from_secs(30);
/// A client that has sent nothing, not even a pong, for this long is gone.
const SILENCE_LIMIT: Duration = Duration::from_secs(95);
/// Messages waiting for one stream; a stream this far behind is closed.
const QUEUE: usize = 64;
/// The largest message read from a client (subscriptions are tiny).
const MAX_CLIENT_MESSAGE: usize = 4096;
/// Channels one stream may subscribe to.
const MAX_CHANNELS: usize = 32;
/// Notifications sent in one catch-up at most (a client refetches after a gap).
const CATCH_UP_LIMIT: usize = 200;

/// A channel of events, as a client names it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Channel {
    /// The home timeline and notifications.
    User,
    /// Notifications only.
    UserNotification,
    /// Public posts; `local`: `Some(true)` local only, `Some(false)` remote only.
    Public { local: Option<bool>, media: bool },
    /// Public posts with a hashtag (as the client spelled it).
    Hashtag { tag: String, local: bool },
    /// Posts of a list's members.
    List(i64),
}

impl Channel {
    /// The channel a `stream` name and its `tag` or `list` parameter name; the error is
    /// the message Mastodon sends.
    pub fn parse(
        stream: &str,
        tag: Option<&str>,
        list: Option<&str>,
    ) -> std::result::Result<Channel, &'static str> {
        let tag = || {
            tag.map(|t| t.trim().trim_start_matches('#').to_string())
                .filter(|t| !t.is_empty())
                .ok_or("Missing tag name parameter")
        };
        let public = |local, media| Ok(Channel::Public { local, media });
        match stream {
            "user" => Ok(Channel::User),
            "user:notification" => Ok(Channel::UserNotification),
            "public" => public(None, false),
            "public:media" => public(None, true),
            "public:local" => public(Some(true), false),
            "public:local:media" => public(Some(true), true),
            "public:remote" => public(Some(false), false),
            "public:remote:media" => public(Some(false), true),
            "hashtag" => Ok(Channel::Hashtag {
                tag: tag()?,
                local: false,
            }),
            "hashtag:local" => Ok(Channel::Hashtag {
                tag: tag()?,
                local: true,
            }),
            "list" => list
                .and_then(|l| l.trim().parse().ok())
                .map(Channel::List)
                .ok_or("Missing list name parameter"),
            _ => Err("Unknown stream type"),
        }
    }

    /// The `stream` array of its events.
    pub fn names(&self) -> Vec<String> {
        match self {
            Channel::User => vec!["user".into()],
            Channel::UserNotification => vec!["user:notification".into()],
            Channel::Public { local, media } => {
                let origin = match local {
                    Some(true) => ":local",
                    Some(false) => ":remote",
                    None => "",
                };
                let media = if *media { ":media" } else { "" };
                vec![format!("public{origin}{media}")]
            }
            Channel::Hashtag { tag, local } => {
                let name = if *local { "hashtag:local" } else { "hashtag" };
                vec![name.into(), tag.clone()]
            }
            Channel::List(id) => vec!["list".into(), id.to_string()],
        }
    }

    /// The scope a token needs for it (`read` covers them all).
    pub fn scope(&self) -> &'static str {
        match self {
            Channel::UserNotification => "read:notifications",
            Channel::List(_) => "read:lists",
            _ => "read:statuses",
        }
    }
}

/// Something to tell the open streams, already rendered.
#[derive(Debug, Clone, PartialEq)]
pub enum Event {
    /// A new (`update`) or edited (`status.update`) status.
    Status {
        event: &'static str,
        /// The `Status` JSON for the home timeline and lists, if it belongs there and
        /// no filter hides it.
        home: Option<String>,
        /// The `Status` JSON for public and hashtag timelines, likewise.
        public: Option<String>,
        /// Written here (for the `:local` and `:remote` channels).
        local: bool,
        /// Has media attachments (for the `:media` channels).
        media: bool,
        /// Its hashtags, lower-case.
        tags: Vec<String>,
        /// The lists whose timeline shows it.
        lists: Vec<i64>,
    },
    /// A status is gone (deleted, or a boost undone).
    Delete(i64),
    /// A `Notification` JSON.
    Notification(String),
}

/// The message a channel carries for an event, if it carries one; `scopes` are the
/// stream's token's.
pub fn render(event: &Event, channel: &Channel, scopes: &str) -> Option<String> {
    let (name, payload) = match (event, channel) {
        (Event::Notification(json), Channel::User | Channel::UserNotification) => {
            if !auth::covers(scopes, "read:notifications") {
                return None;
            }
            ("notification", json.clone())
        }
        (Event::Notification(_), _) | (_, Channel::UserNotification) => return None,
        (Event::Delete(id), _) => ("delete", id.to_string()),
        (
            Event::Status {
                event, home, lists, ..
            },
            _,
        ) if matches!(channel, Channel::User)
            || matches!(channel, Channel::List(id) if lists.contains(id)) =>
        {
            (*event, home.clone()?)
        }
        (
            Event::Status {
                event,
                public,
                local: is_local,
                media: has_media,
                tags,
                ..
            },
            _,
        ) => {
            let shown = match channel {
                Channel::Public { local, media } => {
                    local.is_none_or(|l| l == *is_local) && (!media || *has_media)
                }
                Channel::Hashtag { tag, local } => {
                    tags.contains(&tag.to_lowercase()) && (!local || *is_local)
                }
                _ => false,
            };
            if !shown {
                return None;
            }
            (*event, public.clone()?)
        }
    };
    Some(json!({"stream": channel.names(), "event": name, "payload": payload}).to_string())
}

/// What a stream's writer thread is told.
enum Msg {
    /// An event for its channels.
    Event(Arc<Event>),
    /// The client subscribes to a channel.
    Subscribe(Channel),
    /// The client unsubscribes from a channel.
    Unsubscribe(Channel),
    /// A message to send as is (an error about a subscription).
    Text(String),
    /// Answer the client's ping.
    Pong(Vec<u8>),
    /// The client closed (with its code): answer and end.
    ClientClosed(Option<u16>),
    /// The client broke the protocol: close with this code.
    Invalid(u16),
    /// The connection is gone: end without writing.
    Gone,
    /// Look at the stream's state (the hub closed it).
    Wake,
}

/// What the hub, the writer and the reader of one stream share.
struct StreamState {
    /// 0 while open; else the close code the hub asked for.
    closing: AtomicU16,
    /// When the client last sent anything (Unix ms).
    heard_at: AtomicI64,
}

impl StreamState {
    fn closing(&self) -> Option<u16> {
        match self.closing.load(Ordering::SeqCst) {
            0 => None,
            code => Some(code),
        }
    }

    fn close(&self, code: u16) {
        let _ = self
            .closing
            .compare_exchange(0, code, Ordering::SeqCst, Ordering::SeqCst);
    }
}

/// One open stream as the hub sees it.
struct Entry {
    id: u64,
    token_id: i64,
    tx: SyncSender<Msg>,
    state: Arc<StreamState>,
}

#[derive(Default)]
struct Registry {
    next_id: u64,
    open: Vec<Entry>,
    /// The newest notification already sent (`None` while no stream is open).
    notifications_sent: Option<i64>,
}

/// The open streams of this server (one per process, in [`Ctx`]).
#[derive(Default)]
pub struct Hub {
    registry: Arc<Mutex<Registry>>,
    /// Held while notifications are caught up, so that two threads never send one twice.
    catching_up: Mutex<()>,
}

/// A registered stream, owned by its writer thread; dropping it unregisters the stream.
struct Session {
    id: u64,
    registry: Arc<Mutex<Registry>>,
    rx: Receiver<Msg>,
    tx: SyncSender<Msg>,
    state: Arc<StreamState>,
}

impl Drop for Session {
    fn drop(&mut self) {
        self.state.close(websocket::CLOSE_NORMAL);
        if let Ok(mut r) = self.registry.lock() {
            r.open.retain(|e| e.id != self.id);
        }
    }
}

impl Hub {
    /// Registers a stream for a token, unless [`MAX_STREAMS`] are open. `newest` is the
    /// newest notification now, from which notifications are sent if none were.
    fn register(&self, token_id: i64, newest: i64) -> Option<Session> {
        let mut r = self.registry.lock().ok()?;
        if r.open.len() >= MAX_STREAMS {
            return None;
        }
        let (tx, rx) = sync_channel(QUEUE);
        let state = Arc::new(StreamState {
            closing: AtomicU16::new(0),
            heard_at: AtomicI64::new(db::now_ms()),
        });
        if r.open.is_empty() {
            r.notifications_sent = Some(newest);
        }
        r.next_id += 1;
        let id = r.next_id;
        r.open.push(Entry {
            id,
            token_id,
            tx: tx.clone(),
            state: state.clone(),
        });
        Some(Session {
            id,
            registry: self.registry.clone(),
            rx,
            tx,
            state,
        })
    }

    /// How many streams are open.
    pub fn open_streams(&self) -> usize {
        self.registry.lock().map(|r| r.open.len()).unwrap_or(0)
    }

    /// Closes the streams of entries matching `which` with `code`.
    fn close_where(&self, code: u16, which: impl Fn(&Entry) -> bool) {
        let Ok(mut r) = self.registry.lock() else {
            return;
        };
        r.open.retain(|e| {
            if !which(e) {
                return true;
            }
            e.state.close(code);
            let _ = e.tx.try_send(Msg::Wake);
            false
        });
    }

    /// Closes every stream (the server is stopping).
    pub fn close_all(&self) {
        self.close_where(websocket::CLOSE_GOING_AWAY, |_| true);
    }

    /// Hands an event to every open stream; a stream whose queue is full is closed.
    pub fn broadcast(&self, event: Event) {
        let event = Arc::new(event);
        let Ok(mut r) = self.registry.lock() else {
            return;
        };
        r.open
            .retain(|e| match e.tx.try_send(Msg::Event(event.clone())) {
                Ok(()) => true,
                Err(TrySendError::Full(_)) => {
                    eprintln!("streaming: a client fell {QUEUE} events behind; closing its stream");
                    e.state.close(websocket::CLOSE_POLICY);
                    false
                }
                Err(TrySendError::Disconnected(_)) => false,
            });
    }

    /// The newest notification sent, or `None` when no stream is open.
    fn notifications_sent(&self) -> Option<i64> {
        let r = self.registry.lock().ok()?;
        if r.open.is_empty() {
            return None;
        }
        r.notifications_sent
    }

    fn set_notifications_sent(&self, id: i64) {
        if let Ok(mut r) = self.registry.lock()
            && let Some(sent) = r.notifications_sent.as_mut()
        {
            *sent = (*sent).max(id);
        }
    }
}

/// Closes the live streams of a revoked token (SECURITY.md 53).
pub fn close_token(ctx: &Ctx, token_id: i64) {
    ctx.streams
        .close_where(websocket::CLOSE_POLICY, |e| e.token_id == token_id);
}

/// Routes under `/api/v1/streaming`.
pub fn route(ctx: &Ctx, req: &Req, method: &str, rest: &[&str]) -> Result<Resp> {
    match (method, rest) {
        ("GET", ["streaming", "health"]) => Ok(Resp::text(200, "OK")),
        ("GET", ["streaming"]) => handshake(ctx, req),
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
    let newest = ctx.db.read(|c| {
        Ok(notifications::list(c, None, None, None, 1)?
            .first()
            .map_or(0, |n| n.id))
    })?;
    let session = ctx
        .streams
        .register(auth.token_id, newest)
        .ok_or_else(|| Error::Status(503, "Too many open streams; try again later".into()))?;
    let now = db::now_ms();
    let _ = ctx.db.write(|tx| tokens::touch(tx, auth.token_id, now));
    let scopes = auth.scopes;
    let resp = Resp::switching(
        "websocket",
        Box::new(move |conn| run_stream(session, conn, scopes, first)),
    )
    .with_header("Sec-WebSocket-Accept", &websocket::accept_key(key));
    Ok(match offered {
        Some(p) => resp.with_header("Sec-WebSocket-Protocol", &p),
        None => resp,
    })
}

/// A stream's life, on the thread the HTTP layer started for it: a reader thread is
/// started for the client's frames, and this one writes until the stream ends.
fn run_stream(session: Session, conn: Upgraded, scopes: String, first: Option<Channel>) {
    let Upgraded { reader, mut writer } = conn;
    let (tx, state, reader_scopes) = (session.tx.clone(), session.state.clone(), scopes.clone());
    let started = std::thread::Builder::new()
        .name("stream-read".into())
        .stack_size(128 * 1024)
        .spawn(move || read_client(reader, &tx, &state, &reader_scopes));
    if let Err(e) = started {
        eprintln!("streaming: cannot start a reader thread: {e}");
        return;
    }
    let mut channels: Vec<Channel> = first.into_iter().collect();
    let end = write_events(&session, &mut *writer, &mut channels, &scopes);
    if let Some(code) = end {
        let _ = send(&mut *writer, &websocket::close(code, close_reason(code)));
    }
}

fn close_reason(code: u16) -> &'static str {
    match code {
        websocket::CLOSE_GOING_AWAY => "server shutting down",
        websocket::CLOSE_POLICY => "stream closed by the server",
        websocket::CLOSE_TOO_BIG => "message too big",
        websocket::CLOSE_PROTOCOL => "protocol error",
        _ => "",
    }
}

fn send(w: &mut dyn Write, bytes: &[u8]) -> std::io::Result<()> {
    w.write_all(bytes)?;
    w.flush()
}

/// Writes events, answers and heartbeats until the stream ends; returns the close code
/// to send, if a close frame is still to be sent.
fn write_events(
    session: &Session,
    w: &mut dyn Write,
    channels: &mut Vec<Channel>,
    scopes: &str,
) -> Option<u16> {
    let mut next_ping = Instant::now() + HEARTBEAT;
    loop {
        if let Some(code) = session.state.closing() {
            return Some(code);
        }
        let wait = next_ping.saturating_duration_since(Instant::now());
        let written = match session.rx.recv_timeout(wait) {
            Ok(Msg::Event(e)) => channels
                .iter()
                .filter_map(|c| render(&e, c, scopes))
                .try_for_each(|text| send(w, &websocket::text(&text))),
            Ok(Msg::Subscribe(c)) => {
                if channels.len() >= MAX_CHANNELS {
                    send(
                        w,
                        &websocket::text(&error_json("Too many subscriptions", 400)),
                    )
                } else {
                    if !channels.contains(&c) {
                        channels.push(c);
                    }
                    Ok(())
                }
            }
            Ok(Msg::Unsubscribe(c)) => {
                channels.retain(|x| *x != c);
                Ok(())
            }
            Ok(Msg::Text(text)) => send(w, &websocket::text(&text)),
            Ok(Msg::Pong(payload)) => send(w, &websocket::pong(&payload)),
            Ok(Msg::ClientClosed(code)) => return Some(code.unwrap_or(websocket::CLOSE_NORMAL)),
            Ok(Msg::Invalid(code)) => return Some(code),
            Ok(Msg::Gone) | Err(RecvTimeoutError::Disconnected) => return None,
            Ok(Msg::Wake) => Ok(()),
            Err(RecvTimeoutError::Timeout) => {
                let heard = session.state.heard_at.load(Ordering::SeqCst);
                if db::now_ms() - heard > SILENCE_LIMIT.as_millis() as i64 {
                    return Some(websocket::CLOSE_POLICY);
                }
                next_ping = Instant::now() + HEARTBEAT;
                send(w, &websocket::ping(b""))
            }
        };
        if written.is_err() {
            // The client stopped reading (the write timed out) or went away.
            return None;
        }
    }
}

/// An error message about a subscription, as Mastodon sends it.
fn error_json(message: &str, status: u16) -> String {
    json!({"error": message, "status": status}).to_string()
}

/// The reader thread: passes the client's subscriptions, pings and close on to the
/// writer, until the connection ends or the stream is closed.
fn read_client(
    reader: Box<dyn std::io::Read + Send>,
    tx: &SyncSender<Msg>,
    state: &StreamState,
    scopes: &str,
) {
    let mut frames = FrameReader::new(reader, MAX_CLIENT_MESSAGE);
    while state.closing().is_none() {
        let incoming = frames.next().unwrap_or(Incoming::Eof);
        if incoming != Incoming::Idle {
            state.heard_at.store(db::now_ms(), Ordering::SeqCst);
        }
        let msg = match incoming {
            Incoming::Idle | Incoming::Pong | Incoming::Binary(_) => continue,
            Incoming::Text(text) => match client_message(&text, scopes) {
                Some(msg) => msg,
                None => continue,
            },
            Incoming::Ping(payload) => Msg::Pong(payload),
            Incoming::Close(code) => Msg::ClientClosed(code),
            Incoming::Invalid(code) => Msg::Invalid(code),
            Incoming::Eof => Msg::Gone,
        };
        let last = matches!(msg, Msg::ClientClosed(_) | Msg::Invalid(_) | Msg::Gone);
        if tx.send(msg).is_err() || last {
            return;
        }
    }
}

/// A client's `subscribe` or `unsubscribe` message, or the error to answer it with.
fn client_message(text: &str, scopes: &str) -> Option<Msg> {
    let v: Value = serde_json::from_str(text).ok()?;
    let kind = v.get("type").and_then(Value::as_str)?;
    if kind != "subscribe" && kind != "unsubscribe" {
        return None;
    }
    let param = |name: &str| match v.get(name) {
        Some(Value::String(s)) => Some(s.clone()),
        Some(Value::Number(n)) => Some(n.to_string()),
        _ => None,
    };
    let stream = param("stream").unwrap_or_default();
    let channel = match Channel::parse(&stream, param("tag").as_deref(), param("list").as_deref()) {
        Ok(c) => c,
        Err(message) => return Some(Msg::Text(error_json(message, 400))),
    };
    if !auth::covers(scopes, channel.scope()) {
        let message = "Access token does not have the required scopes";
        return Some(Msg::Text(error_json(message, 401)));
    }
    Some(if kind == "subscribe" {
        Msg::Subscribe(channel)
    } else {
        Msg::Unsubscribe(channel)
    })
}

/// Whether a post is on a timeline, by the timeline's own query.
fn on_timeline(conn: &Connection, t: &Timeline, post_id: i64, me: &str) -> Result<bool> {
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

/// Renders a status event: the status once, where it belongs, the filters per context.
fn status_event(ctx: &Ctx, post_id: i64, event: &'static str) -> Result<Option<Event>> {
    let me = ctx.config.actor_url();
    let found = ctx.db.read(|c| {
        let Some(post) = posts::find(c, post_id)?.filter(|p| p.deleted_at.is_none()) else {
            return Ok(None);
        };
        let status = views::status(ctx, c, &post)?;
        let home = on_timeline(c, &Timeline::Home, post_id, &me)?;
        let public = on_timeline(c, &Timeline::Public(None), post_id, &me)?;
        let mut tags = Vec::new();
        for tag in posts::list_tags(c, post_id)? {
            if on_timeline(c, &Timeline::Tag(tag.clone()), post_id, &me)? {
                tags.push(tag.to_lowercase());
            }
        }
        let mut lists = Vec::new();
        for list in db::lists::list_all(c)? {
            if on_timeline(c, &Timeline::List(list.id), post_id, &me)? {
                lists.push(list.id);
            }
        }
        Ok(Some((status, post.is_local(), home, public, tags, lists)))
    })?;
    let Some((status, local, home, public, tags, lists)) = found else {
        return Ok(None);
    };
    let media = status["media_attachments"]
        .as_array()
        .is_some_and(|a| !a.is_empty());
    let home = match home || !lists.is_empty() {
        true => filtered(ctx, "home", &status)?,
        false => None,
    };
    let public = match public || !tags.is_empty() {
        true => filtered(ctx, "public", &status)?,
        false => None,
    };
    Ok(Some(Event::Status {
        event,
        home,
        public,
        local,
        media,
        tags,
        lists,
    }))
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

    #[test]
    fn channels_parse_and_name() {
        let cases: Vec<(&str, Option<&str>, Option<&str>, Vec<&str>)> = vec![
            ("user", None, None, vec!["user"]),
            ("user:notification", None, None, vec!["user:notification"]),
            ("public", None, None, vec!["public"]),
            ("public:local", None, None, vec!["public:local"]),
            (
                "public:remote:media",
                None,
                None,
                vec!["public:remote:media"],
            ),
            ("hashtag", Some("#Rust"), None, vec!["hashtag", "Rust"]),
            ("hashtag:local", Some("x"), None, vec!["hashtag:local", "x"]),
            ("list", None, Some("12"), vec!["list", "12"]),
        ];
        for (stream, tag, list, names) in cases {
            let c = Channel::parse(stream, tag, list).unwrap();
            assert_eq!(c.names(), names, "{stream}");
        }
        assert_eq!(
            Channel::parse("hashtag", None, None),
            Err("Missing tag name parameter")
        );
        assert_eq!(
            Channel::parse("list", None, Some("x")),
            Err("Missing list name parameter")
        );
        assert_eq!(
            Channel::parse("direct", None, None),
            Err("Unknown stream type")
        );
    }

    fn status(home: bool, public: bool, local: bool, tags: &[&str]) -> Event {
        Event::Status {
            event: "update",
            home: home.then(|| "{\"id\":\"1\"}".to_string()),
            public: public.then(|| "{\"id\":\"1\"}".to_string()),
            local,
            media: false,
            tags: tags.iter().map(|t| t.to_string()).collect(),
            lists: vec![7],
        }
    }

    #[test]
    fn events_reach_the_right_channels() {
        let user = Channel::User;
        let notes = Channel::UserNotification;
        let public = Channel::parse("public", None, None).unwrap();
        let local = Channel::parse("public:local", None, None).unwrap();
        let remote = Channel::parse("public:remote", None, None).unwrap();
        let media = Channel::parse("public:media", None, None).unwrap();
        let tag = Channel::parse("hashtag", Some("Rust"), None).unwrap();
        let list = Channel::List(7);
        let other_list = Channel::List(8);
        let sends = |e: &Event, c: &Channel| render(e, c, "read").is_some();

        let private = status(true, false, true, &[]);
        assert!(sends(&private, &user) && sends(&private, &list));
        for c in [&notes, &public, &local, &tag, &other_list] {
            assert!(!sends(&private, c), "a private post on {c:?}");
        }
        let public_remote = status(false, true, false, &["rust"]);
        assert!(sends(&public_remote, &public) && sends(&public_remote, &remote));
        assert!(sends(&public_remote, &tag));
        for c in [&user, &notes, &local, &media, &list] {
            assert!(!sends(&public_remote, c), "{c:?}");
        }
        let n = Event::Notification("{}".into());
        assert!(sends(&n, &user) && sends(&n, &notes) && !sends(&n, &public));
        assert!(render(&n, &user, "read:statuses").is_none());
        let d = Event::Delete(5);
        assert!(sends(&d, &user) && sends(&d, &public) && !sends(&d, &notes));
    }

    #[test]
    fn messages_are_mastodons() {
        let e = status(true, true, true, &["rust"]);
        let text = render(
            &e,
            &Channel::parse("hashtag", Some("Rust"), None).unwrap(),
            "read",
        )
        .unwrap();
        let v: Value = serde_json::from_str(&text).unwrap();
        assert_eq!(v["stream"], json!(["hashtag", "Rust"]));
        assert_eq!(v["event"], "update");
        assert_eq!(v["payload"], "{\"id\":\"1\"}");
        let d = render(&Event::Delete(42), &Channel::User, "read").unwrap();
        let v: Value = serde_json::from_str(&d).unwrap();
        assert_eq!(
            v,
            json!({"stream": ["user"], "event": "delete", "payload": "42"})
        );
    }

    #[test]
    fn client_messages() {
        let sub = client_message(
            r#"{"type":"subscribe","stream":"hashtag","tag":"x"}"#,
            "read",
        );
        assert!(matches!(sub, Some(Msg::Subscribe(Channel::Hashtag { .. }))));
        let unsub = client_message(r#"{"type":"unsubscribe","stream":"list","list":3}"#, "read");
        assert!(matches!(unsub, Some(Msg::Unsubscribe(Channel::List(3)))));
        let scope = client_message(
            r#"{"type":"subscribe","stream":"user:notification"}"#,
            "read:statuses",
        );
        assert!(matches!(scope, Some(Msg::Text(t)) if t.contains("\"status\":401")));
        let unknown = client_message(r#"{"type":"subscribe","stream":"nope"}"#, "read");
        assert!(matches!(unknown, Some(Msg::Text(t)) if t.contains("Unknown stream type")));
        assert!(client_message("not json", "read").is_none());
        assert!(client_message(r#"{"type":"dance"}"#, "read").is_none());
    }

    #[test]
    fn hub_caps_and_closes_by_token() {
        let hub = Hub::default();
        let sessions: Vec<Session> = (0..MAX_STREAMS)
            .map(|i| hub.register(i as i64 % 2, 0).unwrap())
            .collect();
        assert!(hub.register(9, 0).is_none());
        hub.close_where(websocket::CLOSE_POLICY, |e| e.token_id == 1);
        assert_eq!(hub.open_streams(), MAX_STREAMS / 2);
        for s in &sessions {
            let closed = s.state.closing().is_some();
            assert_eq!(closed, s.id % 2 == 0, "stream {}", s.id);
        }
        hub.broadcast(Event::Delete(1));
        let open = sessions
            .iter()
            .find(|s| s.state.closing().is_none())
            .unwrap();
        assert!(matches!(open.rx.try_recv(), Ok(Msg::Event(_))));
        drop(sessions);
        assert_eq!(hub.open_streams(), 0);
        assert_eq!(hub.notifications_sent(), None);
        let _again = hub.register(1, 77).unwrap();
        assert_eq!(hub.notifications_sent(), Some(77));
    }

    #[test]
    fn a_stream_that_falls_behind_is_closed() {
        let hub = Hub::default();
        let s = hub.register(1, 0).unwrap();
        for i in 0..=QUEUE {
            hub.broadcast(Event::Delete(i as i64));
        }
        assert_eq!(s.state.closing(), Some(websocket::CLOSE_POLICY));
        assert_eq!(hub.open_streams(), 0);
    }
}
