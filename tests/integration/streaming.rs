//! The streaming API over real TCP against in-process kith instances: the health
//! check, the WebSocket handshake with each way of passing the token, refusals before
//! upgrading (no token, scopes, the stream cap), `update`, `status.update`, `delete`,
//! `conversation` and `notification` events caused through the API and through
//! federation, subscribe messages, and streams closed by token revocation and by
//! shutdown. Every wait is a blocking read with a
//! timeout; a client ping answered by a pong orders the client's messages before what
//! the test does next.

use crate::federation::settle;
use crate::support::Instance;
use crate::support::{agent, get, post};
use kith::db::tokens;
use serde_json::{Value, json};
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::time::Duration;

/// The key of RFC 6455's example handshake, and the accept value it must get.
const KEY: &str = "dGhlIHNhbXBsZSBub25jZQ==";
const ACCEPT: &str = "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=";

/// The answer to a handshake: status, headers (lower-case names), and the socket
/// when it was upgraded.
struct Handshake {
    status: u16,
    headers: Vec<(String, String)>,
    body: String,
    ws: Option<Ws>,
}

impl Handshake {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }

    fn upgraded(self) -> Ws {
        assert_eq!(
            self.status, 101,
            "not upgraded: {} {}",
            self.status, self.body
        );
        self.ws.unwrap()
    }
}

/// A WebSocket client, just enough for the tests.
struct Ws {
    reader: BufReader<TcpStream>,
    writer: TcpStream,
}

/// A frame from the server.
#[derive(Debug)]
enum Frame {
    Text(Value),
    Ping,
    Pong,
    Close(u16),
    Eof,
}

/// Opens a connection and sends a WebSocket handshake for `target` with extra headers.
fn connect(inst: &Instance, target: &str, headers: &[(&str, &str)]) -> Handshake {
    let stream = TcpStream::connect(("127.0.0.1", inst.port)).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(20)))
        .unwrap();
    let mut request = format!(
        "GET {target} HTTP/1.1\r\nHost: localhost:{}\r\nConnection: Upgrade\r\n\
         Upgrade: websocket\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: {KEY}\r\n",
        inst.port
    );
    for (n, v) in headers {
        request.push_str(&format!("{n}: {v}\r\n"));
    }
    request.push_str("\r\n");
    let mut writer = stream.try_clone().unwrap();
    writer.write_all(request.as_bytes()).unwrap();
    let mut reader = BufReader::new(stream);
    let mut line = String::new();
    reader.read_line(&mut line).unwrap();
    let status: u16 = line.split_whitespace().nth(1).unwrap().parse().unwrap();
    let mut headers = Vec::new();
    loop {
        line.clear();
        reader.read_line(&mut line).unwrap();
        let Some((n, v)) = line.trim_end().split_once(':') else {
            break;
        };
        headers.push((n.to_ascii_lowercase(), v.trim().to_string()));
    }
    let mut hs = Handshake {
        status,
        headers,
        body: String::new(),
        ws: None,
    };
    if status == 101 {
        hs.ws = Some(Ws { reader, writer });
    } else {
        let len: usize = hs.header("content-length").unwrap_or("0").parse().unwrap();
        let mut body = vec![0; len];
        reader.read_exact(&mut body).unwrap();
        hs.body = String::from_utf8(body).unwrap();
    }
    hs
}

impl Ws {
    /// The next frame; a read that times out fails the test.
    fn frame(&mut self) -> Frame {
        let mut head = [0u8; 2];
        match self.reader.read(&mut head[..1]) {
            Ok(0) => return Frame::Eof,
            Ok(_) => {}
            Err(e) if e.kind() == std::io::ErrorKind::ConnectionReset => return Frame::Eof,
            Err(e) => panic!("no frame: {e}"),
        }
        self.reader.read_exact(&mut head[1..]).unwrap();
        assert_eq!(head[1] & 0x80, 0, "server frames are not masked");
        let len = match head[1] & 0x7F {
            126 => {
                let mut b = [0u8; 2];
                self.reader.read_exact(&mut b).unwrap();
                u16::from_be_bytes(b) as usize
            }
            127 => {
                let mut b = [0u8; 8];
                self.reader.read_exact(&mut b).unwrap();
                u64::from_be_bytes(b) as usize
            }
            n => n as usize,
        };
        let mut payload = vec![0; len];
        self.reader.read_exact(&mut payload).unwrap();
        match head[0] {
            0x81 => Frame::Text(serde_json::from_slice(&payload).unwrap()),
            0x89 => Frame::Ping,
            0x8A => Frame::Pong,
            0x88 => Frame::Close(u16::from_be_bytes([payload[0], payload[1]])),
            other => panic!("unexpected frame {other:#x}"),
        }
    }

    /// The next text message (pings and pongs skipped).
    fn message(&mut self) -> Value {
        loop {
            match self.frame() {
                Frame::Text(v) => return v,
                Frame::Ping | Frame::Pong => {}
                other => panic!("expected a message, got {other:?}"),
            }
        }
    }

    /// Sends a masked client frame.
    fn send(&mut self, first: u8, payload: &[u8]) {
        let mask = [1u8, 2, 3, 4];
        let mut out = vec![first, 0x80 | payload.len() as u8];
        out.extend_from_slice(&mask);
        out.extend(payload.iter().enumerate().map(|(i, b)| b ^ mask[i % 4]));
        self.writer.write_all(&out).unwrap();
    }

    /// Sends a JSON message.
    fn send_json(&mut self, v: Value) {
        self.send(0x81, v.to_string().as_bytes());
    }

    /// Pings and waits for the pong: everything sent before is then handled.
    fn sync(&mut self) {
        self.send(0x89, b"sync");
        loop {
            match self.frame() {
                Frame::Pong => return,
                Frame::Ping => {}
                other => panic!("expected a pong, got {other:?}"),
            }
        }
    }

    /// Reads until the server's close frame; returns its code, then expects the end.
    fn closed(&mut self) -> u16 {
        let code = loop {
            match self.frame() {
                Frame::Close(code) => break code,
                Frame::Text(_) | Frame::Ping | Frame::Pong => {}
                Frame::Eof => panic!("closed without a close frame"),
            }
        };
        assert!(matches!(self.frame(), Frame::Eof));
        code
    }
}

/// A token for the owner with these scopes.
fn token(inst: &Instance, scopes: &str) -> String {
    kith::cli::account::token(&inst.ctx().config, scopes).unwrap()
}

fn bearer(token: &str) -> String {
    format!("Bearer {token}")
}

/// Posts a status through the API; returns it.
fn post_status(inst: &Instance, token: &str, text: &str, visibility: &str) -> Value {
    let body = json!({"status": text, "visibility": visibility}).to_string();
    let got = post(
        &format!("http://127.0.0.1:{}/api/v1/statuses", inst.port),
        "application/json",
        body.as_bytes(),
        &[("Authorization", &bearer(token))],
    );
    assert_eq!(got.status, 200, "{}", got.body);
    got.json()
}

/// The payload of an event, parsed when it is JSON.
fn payload(event: &Value) -> Value {
    let text = event["payload"].as_str().unwrap();
    serde_json::from_str(text).unwrap_or_else(|_| Value::String(text.to_string()))
}

#[test]
fn health_answers_ok() {
    let a = Instance::start("alice", "");
    let got = get(
        &format!("http://127.0.0.1:{}/api/v1/streaming/health", a.port),
        &[],
    );
    assert_eq!(got.status, 200);
    assert_eq!(got.body, "OK");
}

#[test]
fn handshake_takes_the_token_three_ways() {
    let a = Instance::start("alice", "");
    let t = token(&a, "read");
    let by_header = connect(
        &a,
        "/api/v1/streaming?stream=user",
        &[("Authorization", &bearer(&t))],
    );
    assert_eq!(by_header.status, 101);
    assert_eq!(by_header.header("sec-websocket-accept"), Some(ACCEPT));
    assert_eq!(by_header.header("upgrade"), Some("websocket"));
    assert_eq!(by_header.header("sec-websocket-protocol"), None);

    let by_protocol = connect(&a, "/api/v1/streaming", &[("Sec-WebSocket-Protocol", &t)]);
    assert_eq!(by_protocol.status, 101);
    assert_eq!(
        by_protocol.header("sec-websocket-protocol"),
        Some(t.as_str())
    );

    let by_query = connect(
        &a,
        &format!("/api/v1/streaming/?stream=public&access_token={t}"),
        &[],
    );
    assert_eq!(by_query.status, 101);
    assert_eq!(a.ctx().streams.open_streams(), 3);
}

#[test]
fn refusals_before_upgrading() {
    let a = Instance::start("alice", "");
    for (target, headers) in [
        ("/api/v1/streaming?stream=user", vec![]),
        (
            "/api/v1/streaming?stream=user",
            vec![("Authorization", "Bearer nope")],
        ),
        ("/api/v1/streaming?stream=user&access_token=nope", vec![]),
    ] {
        let hs = connect(&a, target, &headers);
        assert_eq!(hs.status, 401, "{target}");
        assert!(
            hs.header("content-type")
                .unwrap()
                .starts_with("application/json")
        );
        assert_eq!(
            serde_json::from_str::<Value>(&hs.body).unwrap()["error"],
            "The access token is invalid"
        );
    }
    let write_only = token(&a, "write");
    let hs = connect(
        &a,
        "/api/v1/streaming?stream=user",
        &[("Authorization", &bearer(&write_only))],
    );
    assert_eq!(hs.status, 403);
    let statuses_only = token(&a, "read:statuses");
    let hs = connect(
        &a,
        "/api/v1/streaming?stream=user:notification",
        &[("Authorization", &bearer(&statuses_only))],
    );
    assert_eq!(hs.status, 403);
    let t = token(&a, "read");
    let hs = connect(
        &a,
        "/api/v1/streaming?stream=nope",
        &[("Authorization", &bearer(&t))],
    );
    assert_eq!(hs.status, 400);
    assert!(hs.body.contains("Unknown stream type"));
    // A plain GET is no handshake.
    let got = get(
        &format!("http://127.0.0.1:{}/api/v1/streaming?stream=user", a.port),
        &[("Authorization", &bearer(&t))],
    );
    assert_eq!(got.status, 400);
    assert_eq!(a.ctx().streams.open_streams(), 0);
}

#[test]
fn posting_and_deleting_through_the_api_stream_update_and_delete() {
    let a = Instance::start("alice", "");
    let t = token(&a, "read write");
    let mut user = connect(
        &a,
        "/api/v1/streaming?stream=user",
        &[("Authorization", &bearer(&t))],
    )
    .upgraded();
    let mut public = connect(
        &a,
        "/api/v1/streaming?stream=public:local",
        &[("Authorization", &bearer(&t))],
    )
    .upgraded();
    let mut dms = connect(
        &a,
        "/api/v1/streaming?stream=direct",
        &[("Authorization", &bearer(&t))],
    )
    .upgraded();

    let direct = post_status(&a, &t, "just for @nobody", "direct");
    let status = post_status(&a, &t, "Hello #streams", "public");

    let first = user.message();
    assert_eq!(first["stream"], json!(["user"]));
    assert_eq!(first["event"], "update");
    assert_eq!(payload(&first)["id"], direct["id"]);
    let second = user.message();
    assert_eq!(payload(&second)["id"], status["id"]);
    assert!(
        payload(&second)["content"]
            .as_str()
            .unwrap()
            .contains("Hello")
    );
    // The direct post never reaches a public stream: the public one comes first.
    let on_public = public.message();
    assert_eq!(on_public["stream"], json!(["public:local"]));
    assert_eq!(payload(&on_public)["id"], status["id"]);
    let conversation = dms.message();
    assert_eq!(conversation["event"], "conversation");
    assert_eq!(payload(&conversation)["last_status"]["id"], direct["id"]);

    let id = status["id"].as_str().unwrap();
    let resp = agent()
        .delete(&format!("http://127.0.0.1:{}/api/v1/statuses/{id}", a.port))
        .header("Authorization", &bearer(&t))
        .call()
        .unwrap();
    assert_eq!(resp.status().as_u16(), 200);
    // The public post never reached the direct stream: the delete comes next there.
    for ws in [&mut user, &mut public, &mut dms] {
        let deleted = ws.message();
        assert_eq!(deleted["event"], "delete");
        assert_eq!(deleted["payload"], id, "the payload is the id itself");
    }
}

#[test]
fn subscribe_messages_and_a_remote_follow_notification() {
    let (a, b) = (Instance::start("alice", ""), Instance::start("bob", ""));
    let t = token(&a, "read");
    let mut ws = connect(&a, "/api/v1/streaming", &[("Sec-WebSocket-Protocol", &t)]).upgraded();
    ws.send_json(json!({"type": "subscribe", "stream": "nope"}));
    assert_eq!(
        ws.message(),
        json!({"error": "Unknown stream type", "status": 400})
    );
    ws.send_json(json!({"type": "subscribe", "stream": "user:notification"}));
    ws.sync();

    kith::process::follow(b.ctx(), &a.actor()).unwrap();
    settle(&a, &b);
    let event = ws.message();
    assert_eq!(event["stream"], json!(["user:notification"]));
    assert_eq!(event["event"], "notification");
    let n = payload(&event);
    assert_eq!(n["type"], "follow");
    assert_eq!(n["account"]["acct"], format!("bob@localhost:{}", b.port));

    // Unsubscribed, the next notification is not sent; a public post then is the
    // first message on the newly subscribed public stream.
    ws.send_json(json!({"type": "unsubscribe", "stream": "user:notification"}));
    ws.send_json(json!({"type": "subscribe", "stream": "public"}));
    ws.sync();
    kith::process::unfollow(b.ctx(), &a.actor()).unwrap();
    kith::process::follow(b.ctx(), &a.actor()).unwrap();
    settle(&a, &b);
    // Whatever the inbox worker noticed is broadcast once this returns.
    kith::mastodon::streaming::publish_notifications(a.ctx());
    let draft = kith::process::Draft {
        text: "after the follow".into(),
        visibility: "public".into(),
        ..Default::default()
    };
    kith::process::create_post(a.ctx(), &draft).unwrap();
    let event = ws.message();
    assert_eq!(event["stream"], json!(["public"]));
    assert_eq!(event["event"], "update");
}

#[test]
fn posts_of_followed_accounts_arrive_on_the_user_stream() {
    let (a, b) = (Instance::start("alice", ""), Instance::start("bob", ""));
    kith::process::follow(b.ctx(), &a.actor()).unwrap();
    settle(&a, &b);
    let t = token(&b, "read");
    let mut ws = connect(
        &b,
        "/api/v1/streaming?stream=user",
        &[("Authorization", &bearer(&t))],
    )
    .upgraded();
    let draft = kith::process::Draft {
        text: "news from alice".into(),
        visibility: "private".into(),
        ..Default::default()
    };
    let post = kith::process::create_post(a.ctx(), &draft).unwrap();
    settle(&a, &b);
    let event = ws.message();
    assert_eq!(event["event"], "update");
    let status = payload(&event);
    assert!(
        status["content"]
            .as_str()
            .unwrap()
            .contains("news from alice")
    );
    assert_eq!(status["uri"], post.uri);
}

#[test]
fn streams_are_capped() {
    let a = Instance::start("alice", "");
    let t = token(&a, "read");
    let auth = bearer(&t);
    let target = "/api/v1/streaming?stream=user";
    let mut open: Vec<Ws> = (0..kith::mastodon::streaming::MAX_STREAMS)
        .map(|_| connect(&a, target, &[("Authorization", &auth)]).upgraded())
        .collect();
    let over = connect(&a, target, &[("Authorization", &auth)]);
    assert_eq!(over.status, 503);
    assert!(over.body.contains("Too many open streams"));
    // A client that closes frees its slot once the server has closed too.
    let mut first = open.remove(0);
    first.send(0x88, &1000u16.to_be_bytes());
    assert_eq!(first.closed(), 1000);
    connect(&a, target, &[("Authorization", &auth)]).upgraded();
}

#[test]
fn revoking_the_token_closes_its_streams() {
    let a = Instance::start("alice", "");
    let base = format!("http://127.0.0.1:{}", a.port);
    let app = post(
        &format!("{base}/api/v1/apps"),
        "application/json",
        json!({"client_name": "streamer", "redirect_uris": "urn:ietf:wg:oauth:2.0:oob", "scopes": "read"})
            .to_string()
            .as_bytes(),
        &[],
    )
    .json();
    let app_id: i64 = app["id"].as_str().unwrap().parse().unwrap();
    let revoked = kith::keys::random_token(32).unwrap();
    let kept = token(&a, "read");
    a.ctx()
        .db
        .write(|tx| {
            let hash = kith::keys::sha256_hex(revoked.as_bytes());
            tokens::insert(tx, Some(app_id), &hash, "read", kith::db::now_ms())
        })
        .unwrap();
    let mut doomed = connect(
        &a,
        "/api/v1/streaming?stream=user",
        &[("Authorization", &bearer(&revoked))],
    )
    .upgraded();
    let mut other = connect(
        &a,
        "/api/v1/streaming?stream=user",
        &[("Authorization", &bearer(&kept))],
    )
    .upgraded();

    let form = format!(
        "client_id={}&client_secret={}&token={revoked}",
        app["client_id"].as_str().unwrap(),
        app["client_secret"].as_str().unwrap()
    );
    let got = post(
        &format!("{base}/oauth/revoke"),
        "application/x-www-form-urlencoded",
        form.as_bytes(),
        &[],
    );
    assert_eq!(got.status, 200, "{}", got.body);
    assert_eq!(doomed.closed(), 1008);
    let again = connect(
        &a,
        "/api/v1/streaming?stream=user",
        &[("Authorization", &bearer(&revoked))],
    );
    assert_eq!(again.status, 401);
    // The other token's stream lives on.
    other.sync();
    assert_eq!(a.ctx().streams.open_streams(), 1);
}

#[test]
fn shutdown_closes_streams() {
    let mut a = Instance::start("alice", "");
    let t = token(&a, "read");
    let mut ws = connect(
        &a,
        "/api/v1/streaming?stream=user",
        &[("Authorization", &bearer(&t))],
    )
    .upgraded();
    ws.sync();
    a.server.take().unwrap().shutdown();
    assert_eq!(ws.closed(), 1001);
}

#[test]
fn edits_and_boosts_stream_too() {
    let a = Instance::start("alice", "");
    let t = token(&a, "read write");
    let mut ws = connect(
        &a,
        "/api/v1/streaming?stream=user",
        &[("Authorization", &bearer(&t))],
    )
    .upgraded();
    let status = post_status(&a, &t, "first words", "public");
    assert_eq!(ws.message()["event"], "update");
    let id = status["id"].as_str().unwrap();
    let base = format!("http://127.0.0.1:{}/api/v1/statuses/{id}", a.port);

    let resp = agent()
        .put(&base)
        .header("Authorization", &bearer(&t))
        .header("Content-Type", "application/json")
        .send(json!({"status": "better words"}).to_string())
        .unwrap();
    assert_eq!(resp.status().as_u16(), 200);
    let edited = ws.message();
    assert_eq!(edited["event"], "status.update");
    let edited = payload(&edited);
    assert_eq!(edited["id"], id);
    assert!(edited["content"].as_str().unwrap().contains("better words"));
    assert!(edited["edited_at"].is_string());

    let auth = [("Authorization", bearer(&t))];
    let headers: Vec<(&str, &str)> = auth.iter().map(|(n, v)| (*n, v.as_str())).collect();
    let boosted = post(
        &format!("{base}/reblog"),
        "application/json",
        b"{}",
        &headers,
    );
    assert_eq!(boosted.status, 200, "{}", boosted.body);
    let boost = ws.message();
    assert_eq!(boost["event"], "update");
    let boost = payload(&boost);
    assert_eq!(boost["reblog"]["id"], id);
    let undone = post(
        &format!("{base}/unreblog"),
        "application/json",
        b"{}",
        &headers,
    );
    assert_eq!(undone.status, 200, "{}", undone.body);
    let gone = ws.message();
    assert_eq!(gone["event"], "delete");
    assert_eq!(gone["payload"], boost["id"]);
}

#[test]
fn posts_with_a_followed_hashtag_arrive_on_the_user_stream() {
    let k = Instance::start("owner", "");
    let remote = crate::fake_remote::FakeRemote::start();
    let carol = remote.actor("carol", crate::fake_remote::Key::A);
    let t = token(&k, "read write follow");
    let followed = post(
        &format!("http://127.0.0.1:{}/api/v1/tags/rust/follow", k.port),
        "application/json",
        b"{}",
        &[("Authorization", &bearer(&t))],
    );
    assert_eq!(followed.status, 200, "{}", followed.body);
    let mut ws = connect(
        &k,
        "/api/v1/streaming?stream=user",
        &[("Authorization", &bearer(&t))],
    )
    .upgraded();
    // Neither followed nor addressing the owner: only its hashtag brings it in.
    let note = crate::api_tags::relayed_note(&remote, &carol, 1, "Rust", "STREAMED-MARK");
    crate::web::deliver(&k, &carol, &note);
    let event = ws.message();
    assert_eq!(event["event"], "update");
    let status = payload(&event);
    assert!(
        status["content"]
            .as_str()
            .unwrap()
            .contains("STREAMED-MARK")
    );
    assert_eq!(status["tags"][0]["name"], "rust");
}
