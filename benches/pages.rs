//! `cargo bench --bench pages`: how fast every web page answers with 100,000 posts
//! stored. Starts kith in this process on a loopback port, fills its database (half
//! the owner's posts of every visibility, half from 200 remote accounts, with
//! hashtags, content warnings, replies, boosts, likes, bookmarks and notifications),
//! logs in, then requests each page of a visitor and of the owner over one keep-alive
//! connection and prints the median and 90th percentile of the full HTTP round trip.
//! Pages that would go to the network (remote look-ups) are measured on stored data.
//! The target: every page under 5 ms at the median on a 2-core machine.
//! Asserts nothing; `KITH_BENCH_POSTS` changes the number of posts.

mod support;
use support::*;

use kith::db::actors::RemoteActor;
use kith::db::posts::{self, Parts, Post};
use kith::db::{favourites, follows, notifications};
use std::time::{Duration, Instant};

const ACTORS: i64 = 200;
const ROUNDS: usize = 200;

fn actor(i: i64) -> RemoteActor {
    let uri = format!("https://r{}.example/users/u{i}", i % 20);
    RemoteActor {
        id: 0,
        username: format!("u{i}"),
        domain: format!("r{}.example", i % 20),
        display_name: format!("Remote person {i}"),
        note_html: format!("<p>Bio of person {i}</p>"),
        url: Some(format!("https://r{}.example/@u{i}", i % 20)),
        inbox: format!("{uri}/inbox"),
        shared_inbox: Some(format!("https://r{}.example/inbox", i % 20)),
        outbox: None,
        followers_url: Some(format!("{uri}/followers")),
        following_url: None,
        featured_url: None,
        key_id: Some(format!("{uri}#main-key")),
        public_key_pem: Some("pem".into()),
        avatar_url: Some(format!("https://r{}.example/avatars/{i}.png", i % 20)),
        header_url: None,
        kind: "Person".into(),
        locked: false,
        discoverable: true,
        fields_json: "[]".into(),
        also_known_as: "[]".into(),
        moved_to: None,
        published_at: None,
        fetched_at: kith::db::now_ms(),
        gone_at: None,
        uri,
    }
}

/// What the filled database holds that the page list needs.
struct Filled {
    local_public: i64,
    local_with_replies: i64,
    remote: i64,
    middle: i64,
    actor_id: i64,
    remote_uri: String,
}

fn fill(ctx: &kith::Ctx, total: i64) -> Filled {
    let public_url = ctx.config.public_url.clone();
    let me = ctx.config.actor_url();
    let start = kith::db::now_ms() - total * 60_000;
    ctx.db
        .write(|tx| {
            let mut actor_ids = Vec::new();
            for i in 0..ACTORS {
                let id = kith::db::actors::upsert(tx, &actor(i))?;
                if i < 100 {
                    follows::upsert(tx, true, id, &format!("{me}#follows/{i}"), true, start)?;
                }
                if i % 4 != 0 {
                    follows::upsert(tx, false, id, &format!("https://x/f/{i}"), i % 50 != 1, start)?;
                }
                actor_ids.push(id);
            }
            let mut last_remote: Option<(i64, String)> = None;
            let mut filled = Filled {
                local_public: 0,
                local_with_replies: 0,
                remote: 0,
                middle: 0,
                actor_id: actor_ids[1],
                remote_uri: String::new(),
            };
            for i in 0..total {
                let at = start + i * 60_000;
                let id = kith::ids::at(at);
                let local = i % 2 == 0;
                let visibility = match (local, i % 20) {
                    (true, 2) => "unlisted",
                    (true, 4) => "private",
                    (true, 6) => "direct",
                    _ => "public",
                };
                let tag = format!("tag{}", (i / 2) % 20);
                let uri = if local {
                    format!("{me}/statuses/{id}")
                } else {
                    format!("https://r.example/notes/{i}")
                };
                let mut post = Post {
                    id,
                    uri: uri.clone(),
                    url: Some(if local { format!("{public_url}/@bench/{id}") } else { uri.clone() }),
                    actor_id: (!local).then(|| actor_ids[(i % ACTORS) as usize]),
                    kind: "Note".into(),
                    content_html: format!(
                        "<p>Post number {i}, with a few words about things and <a href=\"{public_url}/tags/{tag}\" class=\"mention hashtag\" rel=\"tag\">#<span>{tag}</span></a>.</p>"
                    ),
                    source_text: local.then(|| format!("Post number {i} #{tag}")),
                    spoiler_text: if i % 7 == 0 { "A warning".into() } else { String::new() },
                    visibility: visibility.into(),
                    audience_json: "[]".into(),
                    published_at: at,
                    ..Post::default()
                };
                if local
                    && i % 10 == 0
                    && let Some((_, parent)) = &last_remote
                {
                    post.in_reply_to_uri = Some(parent.clone());
                }
                if local
                    && i % 50 == 8
                    && let Some((rid, _)) = &last_remote
                {
                    post.reblog_of_id = Some(*rid);
                    post.content_html.clear();
                }
                let parts = Parts {
                    tags: vec![tag],
                    ..Parts::default()
                };
                posts::insert(tx, &post, &parts)?;
                if !local {
                    if i % 25 == 1 {
                        favourites::insert(tx, id, None, &format!("{me}#likes/{i}"), at)?;
                        notifications::insert(tx, "mention", post.actor_id.unwrap_or(0), Some(id), None, at)?;
                    }
                    if i % 500 == 1 {
                        posts::set_bookmarked(tx, id, true, at)?;
                    }
                    last_remote = Some((id, uri.clone()));
                    filled.remote = id;
                    filled.remote_uri = uri.clone();
                } else if visibility == "public" && post.reblog_of_id.is_none() {
                    filled.local_public = id;
                    if post.in_reply_to_uri.is_none() {
                        filled.local_with_replies = id;
                    }
                }
                if i == total / 2 {
                    filled.middle = id;
                }
            }
            // Replies to one local post, so one thread page has some.
            for r in 0..5 {
                let at = start + total * 60_000 + r;
                let reply = Post {
                    id: kith::ids::at(at),
                    uri: format!("https://r.example/replies/{r}"),
                    actor_id: Some(actor_ids[r as usize]),
                    kind: "Note".into(),
                    content_html: "<p>A reply</p>".into(),
                    visibility: "public".into(),
                    audience_json: "[]".into(),
                    in_reply_to_uri: Some(format!("{me}/statuses/{}", filled.local_with_replies)),
                    published_at: at,
                    ..Post::default()
                };
                posts::insert(tx, &reply, &Parts::default())?;
            }
            Ok(filled)
        })
        .expect("fill")
}

/// One keep-alive HTTP client with the session cookie.
struct Client {
    agent: ureq::Agent,
    base: String,
    cookie: Option<String>,
}

impl Client {
    fn get(&self, path: &str) -> (u16, usize) {
        let mut req = self.agent.get(&format!("{}{path}", self.base));
        if let Some(c) = &self.cookie {
            req = req.header("Cookie", c);
        }
        let resp = req.call().expect("GET");
        let status = resp.status().as_u16();
        let body = resp.into_body().read_to_string().unwrap_or_default();
        (status, body.len())
    }

    fn login(&mut self, password: &str) {
        let form = self
            .agent
            .get(&format!("{}/login", self.base))
            .call()
            .expect("login form")
            .into_body()
            .read_to_string()
            .unwrap_or_default();
        let at = form.find("name=\"csrf\" value=\"").expect("token") + 19;
        let token = &form[at..at + form[at..].find('"').unwrap()];
        let body = format!("csrf={}&next=%2Fhome&password={password}", token);
        let resp = self
            .agent
            .post(&format!("{}/login", self.base))
            .header("Content-Type", "application/x-www-form-urlencoded")
            .send(body.as_bytes())
            .expect("login");
        let cookie = resp
            .headers()
            .get("set-cookie")
            .and_then(|v| v.to_str().ok())
            .expect("a session cookie");
        self.cookie = Some(cookie.split(';').next().unwrap_or("").to_string());
    }
}

fn percentile(sorted: &[Duration], p: f64) -> f64 {
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i].as_secs_f64() * 1000.0
}

fn measure(client: &Client, path: &str) -> (f64, f64, u16, usize) {
    let (status, size) = client.get(path);
    for _ in 0..10 {
        client.get(path);
    }
    let mut times = Vec::with_capacity(ROUNDS);
    for _ in 0..ROUNDS {
        let t = Instant::now();
        client.get(path);
        times.push(t.elapsed());
    }
    times.sort();
    (
        percentile(&times, 0.5),
        percentile(&times, 0.9),
        status,
        size,
    )
}

fn main() {
    let total: i64 = std::env::var("KITH_BENCH_POSTS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(100_000);
    let dir = tempfile::tempdir().expect("tempdir");
    let port = free_port();
    let text = format!(
        "public_url = \"http://localhost:{port}\"\nusername = \"bench\"\nlisten = \"127.0.0.1:{port}\"\n\
         data_dir = \"{}\"\n",
        dir.path().join("data").display()
    );
    let server = kith::start(kith::config::Config::parse(&text).expect("config")).expect("start");
    let password = server.first_run_password.clone().expect("password");
    let t = Instant::now();
    let f = fill(server.ctx(), total);
    println!("filled {total} posts in {:.1} s", t.elapsed().as_secs_f64());

    let agent: ureq::Agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .max_redirects(0)
        .build()
        .into();
    let visitor = Client {
        agent: agent.clone(),
        base: format!("http://127.0.0.1:{port}"),
        cookie: None,
    };
    let mut owner = Client {
        agent,
        base: visitor.base.clone(),
        cookie: None,
    };
    owner.login(&password);

    let visitor_pages = vec![
        ("profile", "/@bench".to_string()),
        (
            "profile, page in the middle",
            format!("/@bench?max_id={}", f.middle),
        ),
        (
            "post with replies",
            format!("/@bench/{}", f.local_with_replies),
        ),
        ("post", format!("/@bench/{}", f.local_public)),
        ("hashtag", "/tags/tag5".to_string()),
        // The owner used tag3 only in direct posts, and remote posts use it as much.
        ("hashtag with no public own post", "/tags/tag3".to_string()),
        ("RSS feed", "/@bench.rss".to_string()),
        ("Atom feed", "/@bench.atom".to_string()),
        ("login form", "/login".to_string()),
    ];
    let uri: String = url::form_urlencoded::byte_serialize(f.remote_uri.as_bytes()).collect();
    let owner_pages = vec![
        ("home", "/home".to_string()),
        (
            "home, page in the middle",
            format!("/home?max_id={}", f.middle),
        ),
        ("profile (owner)", "/@bench".to_string()),
        (
            "post with replies (owner)",
            format!("/@bench/{}", f.local_with_replies),
        ),
        ("thread of a remote post", format!("/posts/{}", f.remote)),
        ("notifications", "/notifications".to_string()),
        ("compose", "/compose".to_string()),
        ("reply form", format!("/compose?in_reply_to={}", f.remote)),
        ("edit form", format!("/posts/{}/edit", f.local_public)),
        (
            "delete confirmation",
            format!("/posts/{}/delete", f.local_public),
        ),
        ("hashtag (owner)", "/tags/tag5".to_string()),
        ("bookmarks", "/bookmarks".to_string()),
        ("search form", "/search".to_string()),
        ("search for a name", "/search?q=person".to_string()),
        ("followers", "/people".to_string()),
        ("following", "/people?tab=following".to_string()),
        ("follow requests", "/people?tab=requests".to_string()),
        ("remote account", format!("/accounts/{}", f.actor_id)),
        ("settings", "/settings".to_string()),
        ("blocks and mutes", "/settings/moderation".to_string()),
        ("authorized apps", "/settings/apps".to_string()),
        (
            "remote interaction",
            format!("/authorize_interaction?uri={uri}"),
        ),
    ];
    println!("\n{total} posts stored; {ROUNDS} requests per page over one keep-alive connection\n");
    println!("| page | who | median ms | p90 ms | status | bytes |");
    println!("|---|---|---:|---:|---:|---:|");
    let mut worst: f64 = 0.0;
    for (who, client, pages) in [
        ("visitor", &visitor, &visitor_pages),
        ("owner", &owner, &owner_pages),
    ] {
        for (name, path) in pages {
            let (median, p90, status, size) = measure(client, path);
            worst = worst.max(median);
            println!("| {name} | {who} | {median:.2} | {p90:.2} | {status} | {size} |");
        }
    }
    println!("\nslowest median: {worst:.2} ms (target: under 5 ms)");
    server.shutdown();
}
