//! The streaming API as server-sent events, over a raw socket against in-process kith
//! instances: the answer's head, `update`, `delete` and `notification` events on the
//! user stream (a local post, a remote follow), the channel paths and their refusals,
//! the heartbeat, streams outliving the connection's idle timeout, the cap shared with
//! WebSockets, and streams ended by revoking their token and by shutdown. Every read
//! has a timeout; the chunked body is decoded as it arrives.

use crate::federation::settle;
use crate::support::{Instance, post};
use serde_json::{Value, json};
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

/// An open SSE answer: status, headers, and the body being read.
struct Sse {
    status: u16,
    headers: Vec<(String, String)>,
    reader: BufReader<TcpStream>,
    /// Decoded body bytes not yet parsed into events.
    pending: String,
    /// The last chunk arrived: the answer is over.
    ended: bool,
}

/// What the stream carried.
#[derive(Debug, PartialEq)]
enum Item {
    /// A comment line (`:thump`).
    Comment(String),
    /// An event: name and data.
    Event(String, String),
    /// The answer ended (last chunk).
    End,
}

fn open(inst: &Instance, target: &str, headers: &[(&str, &str)]) -> Sse {
    let stream = TcpStream::connect(("127.0.0.1", inst.port)).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(20)))
        .unwrap();
    let mut request = format!(
        "GET {target} HTTP/1.1\r\nHost: localhost:{}\r\nAccept: text/event-stream\r\n",
        inst.port
    );
    for (n, v) in headers {
        request.push_str(&format!("{n}: {v}\r\n"));
    }
    request.push_str("\r\n");
    (&stream).write_all(request.as_bytes()).unwrap();
    let mut reader = BufReader::new(stream);
    let mut line = String::new();
    reader.read_line(&mut line).unwrap();
    let status: u16 = line.split(' ').nth(1).unwrap().parse().unwrap();
    let mut headers = Vec::new();
    loop {
        line.clear();
        reader.read_line(&mut line).unwrap();
        let l = line.trim_end();
        if l.is_empty() {
            break;
        }
        let (n, v) = l.split_once(':').unwrap();
        headers.push((n.to_ascii_lowercase(), v.trim().to_string()));
    }
    Sse {
        status,
        headers,
        reader,
        pending: String::new(),
        ended: false,
    }
}

impl Sse {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }

    /// The body of an answer that is not a stream (Content-Length).
    fn body(mut self) -> String {
        let len: usize = self.header("content-length").unwrap().parse().unwrap();
        let mut body = vec![0; len];
        self.reader.read_exact(&mut body).unwrap();
        String::from_utf8(body).unwrap()
    }

    /// Reads one chunk into `pending`.
    fn chunk(&mut self) {
        let mut line = String::new();
        self.reader.read_line(&mut line).unwrap();
        let size = usize::from_str_radix(line.trim_end(), 16)
            .unwrap_or_else(|_| panic!("bad chunk size line {line:?}"));
        let mut data = vec![0; size + 2];
        self.reader.read_exact(&mut data).unwrap();
        assert_eq!(&data[size..], b"\r\n");
        if size == 0 {
            self.ended = true;
        }
        self.pending
            .push_str(std::str::from_utf8(&data[..size]).unwrap());
    }

    /// The next comment, event or the end.
    fn next(&mut self) -> Item {
        loop {
            if let Some(at) = self.pending.find("\n\n") {
                let block: String = self.pending.drain(..at + 2).collect();
                let mut name = String::new();
                let mut data = Vec::new();
                for line in block.lines() {
                    if let Some(c) = line.strip_prefix(':') {
                        return Item::Comment(c.to_string());
                    } else if let Some(n) = line.strip_prefix("event: ") {
                        name = n.to_string();
                    } else if let Some(d) = line.strip_prefix("data: ") {
                        data.push(d);
                    }
                }
                return Item::Event(name, data.join("\n"));
            }
            if self.ended {
                return Item::End;
            }
            self.chunk();
        }
    }

    /// The next event (comments skipped): its name and data.
    fn event(&mut self) -> (String, String) {
        loop {
            match self.next() {
                Item::Comment(_) => {}
                Item::Event(n, d) => return (n, d),
                Item::End => panic!("the stream ended"),
            }
        }
    }

    /// Reads until the stream ends (events before it are skipped).
    fn ended(&mut self) {
        while self.next() != Item::End {}
    }
}

fn token(inst: &Instance, scopes: &str) -> String {
    kith::cli::account::token(&inst.ctx().config, scopes).unwrap()
}

fn bearer(token: &str) -> String {
    format!("Bearer {token}")
}

fn draft(text: &str, visibility: &str) -> kith::process::Draft {
    kith::process::Draft {
        text: text.into(),
        visibility: visibility.into(),
        ..Default::default()
    }
}

#[test]
fn user_stream_carries_updates_deletes_and_notifications() {
    let (a, b) = (Instance::start("alice", ""), Instance::start("bob", ""));
    let t = token(&a, "read");
    let mut sse = open(
        &a,
        "/api/v1/streaming/user",
        &[("Authorization", &bearer(&t))],
    );
    assert_eq!(sse.status, 200);
    assert_eq!(
        sse.header("content-type"),
        Some("text/event-stream; charset=utf-8")
    );
    assert_eq!(sse.header("transfer-encoding"), Some("chunked"));
    assert_eq!(sse.header("access-control-allow-origin"), Some("*"));
    assert_eq!(sse.header("content-length"), None);
    assert_eq!(sse.next(), Item::Comment(")".into()));

    let posted = kith::process::create_post(a.ctx(), &draft("hello stream", "public")).unwrap();
    let (name, data) = sse.event();
    assert_eq!(name, "update");
    let status: Value = serde_json::from_str(&data).unwrap();
    assert_eq!(status["uri"], posted.uri);
    assert!(status["content"].as_str().unwrap().contains("hello stream"));

    kith::process::follow(b.ctx(), &a.actor()).unwrap();
    settle(&a, &b);
    kith::mastodon::streaming::publish_notifications(a.ctx());
    let (name, data) = sse.event();
    assert_eq!(name, "notification");
    let n: Value = serde_json::from_str(&data).unwrap();
    assert_eq!(n["type"], "follow");
    assert_eq!(n["account"]["acct"], format!("bob@localhost:{}", b.port));

    kith::process::delete_post(a.ctx(), posted.id).unwrap();
    assert_eq!(
        sse.event(),
        ("delete".into(), status["id"].as_str().unwrap().into())
    );
}

#[test]
fn channel_paths_and_the_token_in_the_query() {
    // A one-second idle timeout: the streams must outlive it (the connection's reading
    // side gives up, the stream's writer goes on).
    let a = Instance::start("alice", "idle_timeout_secs = 1\n");
    let t = token(&a, "read");
    let mut local = open(
        &a,
        &format!("/api/v1/streaming/public/local?access_token={t}"),
        &[],
    );
    assert_eq!(local.status, 200);
    let mut tag = open(
        &a,
        &format!("/api/v1/streaming/hashtag?tag=Cats&access_token={t}"),
        &[],
    );
    assert_eq!(tag.status, 200);
    let mut notes = open(
        &a,
        "/api/v1/streaming/user/notification",
        &[("Authorization", &bearer(&t))],
    );
    assert_eq!(notes.status, 200);
    kith::process::create_post(a.ctx(), &draft("no tag here", "public")).unwrap();
    let tagged = kith::process::create_post(a.ctx(), &draft("about #cats", "public")).unwrap();
    // The public stream sees both, the hashtag stream only the tagged one, and the
    // notification stream neither (its next item is a heartbeat).
    assert_eq!(local.event().0, "update");
    let (name, data) = local.event();
    assert_eq!(name, "update");
    assert!(data.contains("about #"));
    let (name, data) = tag.event();
    assert_eq!(name, "update");
    let status: Value = serde_json::from_str(&data).unwrap();
    assert_eq!(status["uri"], tagged.uri);
    assert_eq!(notes.next(), Item::Comment(")".into()));
    let started = Instant::now();
    assert_eq!(notes.next(), Item::Comment("thump".into()));
    assert!(started.elapsed() < Duration::from_secs(15));
    // Past the idle timeout the streams still carry events.
    let later = kith::process::create_post(a.ctx(), &draft("#cats later", "public")).unwrap();
    let (name, data) = tag.event();
    assert_eq!(name, "update");
    assert!(data.contains(&later.uri), "{data}");
}

#[test]
fn refusals_before_streaming() {
    let a = Instance::start("alice", "");
    let t = token(&a, "read:statuses");
    let cases: [(&str, Option<&str>, u16, &str); 6] = [
        (
            "/api/v1/streaming/user",
            None,
            401,
            "The access token is invalid",
        ),
        (
            "/api/v1/streaming/user",
            Some("nonsense"),
            401,
            "The access token is invalid",
        ),
        (
            "/api/v1/streaming/user/notification",
            Some(&t),
            403,
            "outside the authorized scopes",
        ),
        (
            "/api/v1/streaming/hashtag",
            Some(&t),
            400,
            "Missing tag name",
        ),
        (
            "/api/v1/streaming/list?list=x",
            Some(&t),
            400,
            "Missing list",
        ),
        (
            "/api/v1/streaming/nope",
            Some(&t),
            404,
            "Unknown stream type",
        ),
    ];
    for (target, tok, status, message) in cases {
        let auth = tok.map(bearer);
        let headers: Vec<(&str, &str)> =
            auth.iter().map(|h| ("Authorization", h.as_str())).collect();
        let got = open(&a, target, &headers);
        assert_eq!(got.status, status, "{target}");
        let body = got.body();
        assert!(body.contains(message), "{target}: {body}");
    }
    // A HEAD request gets the head alone and opens no stream.
    let stream = TcpStream::connect(("127.0.0.1", a.port)).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(20)))
        .unwrap();
    let head = format!(
        "HEAD /api/v1/streaming/public HTTP/1.1\r\nHost: localhost\r\n\
         Authorization: Bearer {t}\r\nConnection: close\r\n\r\n"
    );
    (&stream).write_all(head.as_bytes()).unwrap();
    let mut answer = String::new();
    BufReader::new(&stream).read_to_string(&mut answer).unwrap();
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    assert!(
        answer
            .to_ascii_lowercase()
            .contains("content-type: text/event-stream")
    );
    assert!(
        answer.ends_with("\r\n\r\n"),
        "no body after the head: {answer:?}"
    );
    assert_eq!(a.ctx().streams.open_streams(), 0);
}

#[test]
fn the_cap_is_shared_with_websockets() {
    let a = Instance::start("alice", "");
    let t = token(&a, "read");
    let auth = bearer(&t);
    let open_ones: Vec<Sse> = (0..kith::mastodon::streaming::MAX_STREAMS)
        .map(|_| open(&a, "/api/v1/streaming/public", &[("Authorization", &auth)]))
        .collect();
    assert!(open_ones.iter().all(|s| s.status == 200));
    let refused = open(&a, "/api/v1/streaming/user", &[("Authorization", &auth)]);
    assert_eq!(refused.status, 503);
    // A WebSocket handshake is refused by the same cap.
    let stream = TcpStream::connect(("127.0.0.1", a.port)).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(20)))
        .unwrap();
    let handshake = format!(
        "GET /api/v1/streaming?stream=user HTTP/1.1\r\nHost: localhost\r\nConnection: Upgrade\r\n\
         Upgrade: websocket\r\nSec-WebSocket-Version: 13\r\n\
         Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nAuthorization: {auth}\r\n\r\n"
    );
    (&stream).write_all(handshake.as_bytes()).unwrap();
    let mut line = String::new();
    BufReader::new(&stream).read_line(&mut line).unwrap();
    assert!(line.starts_with("HTTP/1.1 503"), "{line}");
}

#[test]
fn sec_53_revoking_the_token_ends_its_streams_and_shutdown_ends_the_rest() {
    let mut a = Instance::start("alice", "");
    let base = format!("http://127.0.0.1:{}", a.port);
    let app = post(
        &format!("{base}/api/v1/apps"),
        "application/json",
        json!({"client_name": "sse", "redirect_uris": "urn:ietf:wg:oauth:2.0:oob", "scopes": "read"})
            .to_string()
            .as_bytes(),
        &[],
    )
    .json();
    let app_id: i64 = app["id"].as_str().unwrap().parse().unwrap();
    let revoked = kith::keys::random_token(32).unwrap();
    a.ctx()
        .db
        .write(|tx| {
            let hash = kith::keys::sha256_hex(revoked.as_bytes());
            kith::db::tokens::insert(tx, Some(app_id), &hash, "read", kith::db::now_ms())
        })
        .unwrap();
    let kept = token(&a, "read");
    let mut doomed = open(
        &a,
        "/api/v1/streaming/user",
        &[("Authorization", &bearer(&revoked))],
    );
    let mut other = open(
        &a,
        "/api/v1/streaming/user",
        &[("Authorization", &bearer(&kept))],
    );
    assert_eq!((doomed.status, other.status), (200, 200));
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
    doomed.ended();
    assert_eq!(a.ctx().streams.open_streams(), 1);
    kith::process::create_post(a.ctx(), &draft("still here", "public")).unwrap();
    assert_eq!(other.event().0, "update");
    a.server.take().unwrap().shutdown();
    other.ended();
}

#[test]
fn a_link_preview_arriving_later_streams_status_update() {
    let pages = crate::cards::Pages::start();
    pages.html("/story", "<head><title>Streamed card</title></head>");
    let a = Instance::start("carder", "");
    let t = token(&a, "read");
    let mut sse = open(
        &a,
        "/api/v1/streaming/user",
        &[("Authorization", &bearer(&t))],
    );
    assert_eq!(sse.next(), Item::Comment(")".into()));
    let text = format!("see {}", pages.url("/story"));
    kith::process::create_post(a.ctx(), &draft(&text, "public")).unwrap();
    let (name, data) = sse.event();
    assert_eq!(name, "update");
    let shown: Value = serde_json::from_str(&data).unwrap();
    assert!(shown["card"].is_null(), "the post is shown before its card");
    let (name, data) = sse.event();
    assert_eq!(name, "status.update");
    let updated: Value = serde_json::from_str(&data).unwrap();
    assert_eq!(updated["id"], shown["id"]);
    assert_eq!(updated["card"]["title"], "Streamed card");
}
