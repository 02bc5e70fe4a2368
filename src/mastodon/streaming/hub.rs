//! The open streams: the [`Hub`] that registers them (at most [`MAX_STREAMS`],
//! WebSockets and server-sent events together) and hands events to their bounded
//! queues, and each WebSocket stream's two threads — the writer
//! (events, answers, a ping every [`HEARTBEAT`]) and the reader (the client's
//! subscribe, unsubscribe, ping and close frames). A stream whose queue overflows,
//! whose write times out, or whose client stays silent for a few heartbeats ends.

use super::channels::{Channel, Event, render};
use crate::db;
use crate::http::Upgraded;
use crate::mastodon::auth;
use crate::mastodon::websocket::{self, FrameReader, Incoming};
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
pub(super) struct Entry {
    id: u64,
    pub(super) token_id: i64,
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
    pub(super) catching_up: Mutex<()>,
}

/// A registered stream, owned by its writer thread; dropping it unregisters the stream.
pub(super) struct Session {
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

/// What a one-way stream (server-sent events, no reader thread) gets next.
pub(super) enum Next {
    /// An event for it to render.
    Event(Arc<Event>),
    /// Nothing within the wait: time for a heartbeat.
    Idle,
    /// The stream is closed (by the hub, or its queue is gone).
    Closed,
}

impl Session {
    /// Waits up to `wait` for what a one-way stream does next.
    pub(super) fn next(&self, wait: Duration) -> Next {
        if self.state.closing().is_some() {
            return Next::Closed;
        }
        match self.rx.recv_timeout(wait) {
            Ok(Msg::Event(e)) => Next::Event(e),
            Ok(_) if self.state.closing().is_some() => Next::Closed,
            Ok(_) => Next::Idle,
            Err(RecvTimeoutError::Timeout) => match self.state.closing() {
                Some(_) => Next::Closed,
                None => Next::Idle,
            },
            Err(RecvTimeoutError::Disconnected) => Next::Closed,
        }
    }
}

impl Hub {
    /// Registers a stream for a token, unless [`MAX_STREAMS`] are open. `newest` is the
    /// newest notification now, from which notifications are sent if none were.
    pub(super) fn register(&self, token_id: i64, newest: i64) -> Option<Session> {
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
    pub(super) fn close_where(&self, code: u16, which: impl Fn(&Entry) -> bool) {
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
    pub(super) fn notifications_sent(&self) -> Option<i64> {
        let r = self.registry.lock().ok()?;
        if r.open.is_empty() {
            return None;
        }
        r.notifications_sent
    }

    pub(super) fn set_notifications_sent(&self, id: i64) {
        if let Ok(mut r) = self.registry.lock()
            && let Some(sent) = r.notifications_sent.as_mut()
        {
            *sent = (*sent).max(id);
        }
    }
}

/// A stream's life, on the thread the HTTP layer started for it: a reader thread is
/// started for the client's frames, and this one writes until the stream ends.
pub(super) fn run_stream(session: Session, conn: Upgraded, scopes: String, first: Option<Channel>) {
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
    // Unregistered before the connection closes: a client that sees it closed can
    // count on its slot being free.
    drop(session);
    drop(writer);
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
        let incoming = frames.read_message().unwrap_or(Incoming::Eof);
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

#[cfg(test)]
mod tests {
    use super::*;

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
