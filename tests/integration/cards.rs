//! Link preview cards over HTTP: a small page server on a loopback port serves
//! OpenGraph pages, title-only pages, redirect chains, a 5 MB page, a slow drip, a
//! page that is not HTML and hostile markup, and counts the requests of each path;
//! kith's posts link to it and the tests read the cards through the client API (and
//! the web page), after `settle` has drained the card queue.

use crate::api::{Api, Client, follow, settle};
use serde_json::{Value, json};
use std::collections::HashMap;
use std::io::{BufRead, BufReader, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// What the page server answers on one path.
#[derive(Clone)]
enum Page {
    /// 200 with this content type and body.
    Body(&'static str, Vec<u8>),
    /// A 302 to this path of the same server.
    Redirect(String),
    /// 200 text/html, one byte every `every`.
    Drip(Vec<u8>, Duration),
}

/// A recording page server on 127.0.0.1; stops when dropped.
pub(crate) struct Pages {
    port: u16,
    routes: Arc<Mutex<HashMap<String, Page>>>,
    hits: Arc<Mutex<HashMap<String, usize>>>,
    stop: Arc<AtomicBool>,
}

impl Pages {
    pub(crate) fn start() -> Pages {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let pages = Pages {
            port,
            routes: Arc::default(),
            hits: Arc::default(),
            stop: Arc::default(),
        };
        let (routes, hits, stop) = (pages.routes.clone(), pages.hits.clone(), pages.stop.clone());
        std::thread::spawn(move || {
            for conn in listener.incoming() {
                if stop.load(Ordering::SeqCst) {
                    break;
                }
                let Ok(conn) = conn else { continue };
                let (routes, hits, stop) = (routes.clone(), hits.clone(), stop.clone());
                std::thread::spawn(move || {
                    let _ = serve(conn, &routes, &hits, &stop);
                });
            }
        });
        pages
    }

    pub(crate) fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{path}", self.port)
    }

    fn route(&self, path: &str, page: Page) {
        self.routes.lock().unwrap().insert(path.into(), page);
    }

    pub(crate) fn html(&self, path: &str, html: &str) {
        self.route(path, Page::Body("text/html; charset=utf-8", html.into()));
    }

    fn hits(&self, path: &str) -> usize {
        self.hits.lock().unwrap().get(path).copied().unwrap_or(0)
    }

    fn total_hits(&self) -> usize {
        self.hits.lock().unwrap().values().sum()
    }
}

impl Drop for Pages {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        let _ = TcpStream::connect(("127.0.0.1", self.port));
    }
}

fn serve(
    conn: TcpStream,
    routes: &Mutex<HashMap<String, Page>>,
    hits: &Mutex<HashMap<String, usize>>,
    stop: &AtomicBool,
) -> std::io::Result<()> {
    conn.set_read_timeout(Some(Duration::from_secs(5)))?;
    conn.set_write_timeout(Some(Duration::from_secs(5)))?;
    let mut reader = BufReader::new(conn.try_clone()?);
    let mut line = String::new();
    reader.read_line(&mut line)?;
    let path = line.split(' ').nth(1).unwrap_or("/").to_string();
    loop {
        let mut header = String::new();
        if reader.read_line(&mut header)? == 0 || header.trim().is_empty() {
            break;
        }
    }
    *hits.lock().unwrap().entry(path.clone()).or_default() += 1;
    let page = routes.lock().unwrap().get(&path).cloned();
    let mut out = conn;
    let head = |status: &str, extra: &str| {
        format!("HTTP/1.1 {status}\r\nConnection: close\r\n{extra}\r\n")
    };
    match page {
        None => out.write_all(head("404 Not Found", "Content-Length: 0\r\n").as_bytes()),
        Some(Page::Body(ct, body)) => {
            let extra = format!("Content-Type: {ct}\r\nContent-Length: {}\r\n", body.len());
            out.write_all(head("200 OK", &extra).as_bytes())?;
            out.write_all(&body)
        }
        Some(Page::Redirect(to)) => {
            let extra = format!("Location: {to}\r\nContent-Length: 0\r\n");
            out.write_all(head("302 Found", &extra).as_bytes())
        }
        Some(Page::Drip(body, every)) => {
            let extra = format!(
                "Content-Type: text/html\r\nContent-Length: {}\r\n",
                body.len()
            );
            out.write_all(head("200 OK", &extra).as_bytes())?;
            for byte in body {
                if stop.load(Ordering::SeqCst) {
                    break;
                }
                out.write_all(&[byte])?;
                out.flush()?;
                std::thread::sleep(every);
            }
            Ok(())
        }
    }
}

const OG_PAGE: &str = r#"<!doctype html><html><head><meta charset="utf-8">
<title>Fallback title</title>
<meta name="description" content="fallback description">
<meta property="og:title" content="A &quot;good&quot; story">
<meta property="og:description" content="What happened,
  in two lines.">
<meta property="og:image" content="/pic.png">
<meta property="og:site_name" content="Example News">
<meta property="og:type" content="article">
<meta name="author" content="Ann Author">
<meta property="article:published_time" content="2026-11-01T10:00:00Z">
</head><body><p>Body text</p></body></html>"#;

/// Posts `text` and returns the status id.
fn post(client: &Client, text: &str) -> String {
    let status = client
        .post_json(
            "/api/v1/statuses",
            &json!({"status": text, "visibility": "public"}),
        )
        .ok();
    status["id"].as_str().unwrap().to_string()
}

fn card_of(client: &Client, id: &str) -> Value {
    client.get(&format!("/api/v1/statuses/{id}")).ok()["card"].clone()
}

#[test]
fn own_post_gets_an_opengraph_card_and_posts_share_one_fetch() {
    let pages = Pages::start();
    pages.html("/story", OG_PAGE);
    pages.html(
        "/plain",
        "<html><head><title>  Just a\n title </title></head></html>",
    );
    let a = Api::start("cardowner");
    let client = a.login("read write");
    let first = post(&client, &format!("Read {}", pages.url("/story")));
    settle(&[&a]);
    let card = card_of(&client, &first);
    assert_eq!(card["url"], pages.url("/story"));
    assert_eq!(card["title"], "A \"good\" story");
    assert_eq!(card["description"], "What happened, in two lines.");
    assert_eq!(card["type"], "link");
    assert_eq!(card["provider_name"], "Example News");
    assert_eq!(card["provider_url"], "");
    assert_eq!(card["author_name"], "Ann Author");
    assert_eq!(card["published_at"], "2026-11-01T10:00:00.000Z");
    assert_eq!(card["html"], "");
    assert_eq!(card["embed_url"], "");
    assert_eq!(
        (card["width"].clone(), card["height"].clone()),
        (json!(0), json!(0))
    );
    assert!(card["blurhash"].is_null());
    // The picture goes through kith's remote media cache, never straight to the page's host.
    let image = card["image"].as_str().unwrap();
    assert!(image.starts_with(&a.public("/media/proxy?url=")), "{image}");
    assert!(image.contains("pic.png"), "{image}");
    // The card endpoint answers the same card.
    assert_eq!(
        client.get(&format!("/api/v1/statuses/{first}/card")).ok(),
        card
    );

    // A second post linking the same page shares the card: no second fetch.
    let second = post(&client, &format!("Again: {}", pages.url("/story")));
    settle(&[&a]);
    assert_eq!(card_of(&client, &second), card);
    assert_eq!(pages.hits("/story"), 1);

    // A page with only a <title>: the title, nothing else.
    let third = post(&client, &format!("{} and #tag", pages.url("/plain")));
    settle(&[&a]);
    let plain = card_of(&client, &third);
    assert_eq!(plain["title"], "Just a title");
    assert_eq!(plain["description"], "");
    assert!(plain["image"].is_null());
    assert_eq!(plain["provider_name"], "");

    // A post without a link has no card; its card endpoint answers `{}`.
    let none = post(&client, "no links here");
    settle(&[&a]);
    assert!(card_of(&client, &none).is_null());
    assert_eq!(
        client.get(&format!("/api/v1/statuses/{none}/card")).ok(),
        json!({})
    );
    // The card endpoint of a post nobody may see (no such post) is a 404.
    client.get("/api/v1/statuses/999/card").assert_error(404);

    // The web page shows the card under the post, its link without referrer or opener.
    let page = crate::support::get(&a.url(&format!("/@cardowner/{first}")), &[]);
    assert_eq!(page.status, 200);
    assert!(
        page.body.contains("A &quot;good&quot; story"),
        "{}",
        page.body
    );
    assert!(page.body.contains("rel=\"noopener noreferrer nofollow\""));
}

#[test]
fn sec_82_link_previews_follow_three_redirects_not_four() {
    let pages = Pages::start();
    pages.html("/end3", "<title>After three</title>");
    pages.html("/end4", "<title>After four</title>");
    for (chain, end) in [("a", "/end3"), ("b", "/end4")] {
        let hops = if chain == "a" { 3 } else { 4 };
        for n in 1..hops {
            pages.route(
                &format!("/{chain}{n}"),
                Page::Redirect(format!("/{chain}{}", n + 1)),
            );
        }
        pages.route(&format!("/{chain}{hops}"), Page::Redirect(end.into()));
    }
    let a = Api::start("redirects");
    let client = a.login("read write");
    let three = post(&client, &pages.url("/a1"));
    let four = post(&client, &pages.url("/b1"));
    settle(&[&a]);
    let card = card_of(&client, &three);
    assert_eq!(card["title"], "After three");
    // The card keeps the URL the post linked, not where it led.
    assert_eq!(card["url"], pages.url("/a1"));
    assert!(card_of(&client, &four).is_null());
    assert_eq!(pages.hits("/b4"), 1);
    assert_eq!(
        pages.hits("/end4"),
        0,
        "a fourth redirect is never followed"
    );
}

#[test]
fn sec_82_link_previews_read_one_mebibyte_and_no_more() {
    let pages = Pages::start();
    // A 5 MB page whose head comes first: its card is read from the first MiB.
    let mut big = b"<head><title>Big page</title></head><body>".to_vec();
    big.resize(5 * 1024 * 1024, b'x');
    pages.route("/big", Page::Body("text/html", big));
    // A 5 MB page whose title lies past the first MiB: never read, so no card.
    let mut late = b"<head><!--".to_vec();
    late.resize(2 * 1024 * 1024, b'x');
    late.extend_from_slice(b"--><title>Too late</title></head>");
    late.resize(5 * 1024 * 1024, b'y');
    pages.route("/late", Page::Body("text/html", late));
    let a = Api::start("bigpages");
    let client = a.login("read write");
    let big = post(&client, &pages.url("/big"));
    let late = post(&client, &pages.url("/late"));
    settle(&[&a]);
    assert_eq!(card_of(&client, &big)["title"], "Big page");
    assert!(card_of(&client, &late).is_null());
    // What is stored is the capped card, not the page.
    let stored: i64 = a
        .ctx()
        .db
        .read(|c| {
            Ok(c.query_row(
                "SELECT max(length(title) + length(description)) FROM link_cards",
                [],
                |r| r.get(0),
            )?)
        })
        .unwrap();
    assert!(stored < 1000, "{stored}");
}

#[test]
fn sec_82_link_previews_cut_a_slow_drip_and_never_delay_the_post() {
    let pages = Pages::start();
    let mut body = b"<head><title>Slow</title>".to_vec();
    body.resize(4096, b' ');
    pages.route("/drip", Page::Drip(body, Duration::from_millis(50)));
    let a = Api::start_config(
        "dripped",
        "allow_private_addresses = true\nfetch_timeout_secs = 2\n",
        "api_requests = 100000\nlogin_attempts = 1000\n",
    );
    let client = a.login("read write");
    let started = Instant::now();
    let id = post(&client, &pages.url("/drip"));
    // The post is answered while the page still drips (it would take 200 s).
    assert!(started.elapsed() < Duration::from_secs(2));
    settle(&[&a]);
    // The fetch was cut at the 2 s deadline: no card, and the queue is empty.
    assert!(started.elapsed() < Duration::from_secs(20));
    assert!(card_of(&client, &id).is_null());
    assert_eq!(pages.hits("/drip"), 1);
}

#[test]
fn sec_82_link_previews_refuse_pages_that_are_not_html() {
    let pages = Pages::start();
    let title = b"<title>Looks like HTML</title>".to_vec();
    pages.route("/json", Page::Body("application/json", title.clone()));
    pages.route("/png", Page::Body("image/png", title.clone()));
    pages.route("/none", Page::Body("", title));
    let a = Api::start("nothtml");
    let client = a.login("read write");
    let ids: Vec<String> = ["/json", "/png", "/none"]
        .iter()
        .map(|p| post(&client, &pages.url(p)))
        .collect();
    settle(&[&a]);
    for id in &ids {
        assert!(card_of(&client, id).is_null());
    }
    assert_eq!(pages.total_hits(), 3);
    // The failure is remembered: another post linking the page fetches nothing.
    let again = post(&client, &format!("again {}", pages.url("/json")));
    settle(&[&a]);
    assert!(card_of(&client, &again).is_null());
    assert_eq!(pages.total_hits(), 3);
}

#[test]
fn sec_82_link_previews_keep_hostile_markup_as_capped_plain_text() {
    let pages = Pages::start();
    let long = "y".repeat(100_000);
    pages.html(
        "/hostile",
        &format!(
            r#"<head><script>document.write('<meta property="og:title" content="from a script">')</script>
            <meta property="og:title" content="&lt;img src=x onerror=alert(1)&gt; Tom &amp; Jerry">
            <meta property="og:description" content="{long}">
            <meta property="og:image" content="javascript:alert(1)">
            <meta property="og:site_name" content="<b>Site</b>"></head>"#
        ),
    );
    let a = Api::start("hostile");
    let client = a.login("read write");
    let id = post(&client, &pages.url("/hostile"));
    settle(&[&a]);
    let card = card_of(&client, &id);
    assert_eq!(card["title"], "<img src=x onerror=alert(1)> Tom & Jerry");
    let description = card["description"].as_str().unwrap();
    assert_eq!(description.chars().count(), 500);
    assert!(description.ends_with('…'));
    assert!(card["image"].is_null());
    assert_eq!(card["provider_name"], "<b>Site</b>");
    // The web page shows that text as text.
    let page = crate::support::get(&a.url(&format!("/@hostile/{id}")), &[]);
    assert!(!page.body.contains("<img src=x"));
    assert!(
        page.body
            .contains("&lt;img src=x onerror=alert(1)&gt; Tom &amp; Jerry")
    );
    assert!(!page.body.contains("<b>Site</b>"));
}

#[test]
fn sec_82_link_previews_never_reach_private_addresses() {
    let pages = Pages::start();
    pages.html("/inside", "<title>Private</title>");
    let a = Api::start_config(
        "guarded",
        "",
        "api_requests = 100000\nlogin_attempts = 1000\n",
    );
    let client = a.login("read write");
    let id = post(&client, &pages.url("/inside"));
    settle(&[&a]);
    assert!(card_of(&client, &id).is_null());
    assert_eq!(pages.total_hits(), 0);
}

#[test]
fn link_previews_off_fetch_nothing() {
    let pages = Pages::start();
    pages.html("/story", OG_PAGE);
    let a = Api::start_config(
        "nopreviews",
        "allow_private_addresses = true\nlink_previews = false\n",
        "api_requests = 100000\nlogin_attempts = 1000\n",
    );
    let client = a.login("read write");
    let id = post(&client, &pages.url("/story"));
    settle(&[&a]);
    assert!(card_of(&client, &id).is_null());
    assert_eq!(pages.total_hits(), 0);
}

#[test]
fn remote_post_reaching_home_gets_a_card() {
    let pages = Pages::start();
    pages.html("/story", OG_PAGE);
    let a = Api::start("reader");
    let b = Api::start("writer");
    let a_client = a.login("read write follow");
    let b_client = b.login("read write");
    follow(&a, &a_client, &b);
    post(&b_client, &format!("Look: {}", pages.url("/story")));
    settle(&[&a, &b]);
    let home = a_client.get("/api/v1/timelines/home").ok();
    let status = &home.as_array().unwrap()[0];
    assert_eq!(status["card"]["title"], "A \"good\" story");
    // Both servers fetched the page once each, for their own copy.
    assert_eq!(pages.hits("/story"), 2);
}

#[test]
fn feeds_carry_pictures_with_their_descriptions() {
    let a = Api::start("feeder");
    let client = a.login("read write");
    let (ct, body) = crate::media::multipart(
        "p.png",
        "image/png",
        &crate::media::fixture("alpha.png"),
        &[("description", "A <red> & blue square")],
    );
    let media = client
        .request(
            "POST",
            "/api/v2/media",
            &[("Content-Type", &ct)],
            Some((&ct, &body)),
        )
        .ok();
    let media_url = media["url"].as_str().unwrap().to_string();
    client
        .post_json(
            "/api/v1/statuses",
            &json!({"status": "PICTURE-MARK", "media_ids": [media["id"]], "visibility": "public",
                    "spoiler_text": "eye strain"}),
        )
        .ok();
    settle(&[&a]);
    let size = std::fs::metadata(
        a.ctx()
            .config
            .data_dir
            .join("media")
            .join(media_url.rsplit('/').next().unwrap()),
    )
    .unwrap()
    .len();
    let rss = a.anon().get("/@feeder.rss");
    assert_eq!(rss.status, 200);
    let xml = &rss.body;
    assert!(
        xml.contains("xmlns:media=\"http://search.yahoo.com/mrss/\""),
        "{xml}"
    );
    let enclosure = format!("<enclosure url=\"{media_url}\" length=\"");
    assert!(xml.contains(&enclosure), "{xml}");
    assert!(
        xml.contains(&format!("{enclosure}{size}\" type=\"image/png\"")),
        "{xml}"
    );
    assert!(xml.contains(&format!(
        "<media:content url=\"{media_url}\" type=\"image/png\" medium=\"image\""
    )));
    assert!(xml.contains(
        "<media:description type=\"plain\">A &lt;red&gt; &amp; blue square</media:description>"
    ));
    // The content warning leads the item, as on the web page.
    assert!(xml.contains("CW: eye strain"), "{xml}");
    let atom = a.anon().get("/@feeder.atom");
    assert_eq!(atom.status, 200);
    assert!(
        atom.body.contains(&format!(
            "<link rel=\"enclosure\" type=\"image/png\" href=\"{media_url}\""
        )),
        "{}",
        atom.body
    );
    assert!(
        atom.body
            .contains("title=\"A &lt;red&gt; &amp; blue square\"")
    );
    assert!(atom.body.contains("CW: eye strain"));
}

#[test]
fn a_remote_post_opened_in_a_thread_gets_its_card() {
    let pages = Pages::start();
    pages.html("/story", OG_PAGE);
    let a = Api::start("opener");
    let b = Api::start("linker");
    let a_client = a.login("read write follow");
    let b_client = b.login("read write");
    let linked = post(&b_client, &format!("Look: {}", pages.url("/story")));
    settle(&[&a, &b]);
    assert_eq!(
        pages.hits("/story"),
        1,
        "the author's own server fetched it"
    );
    // Found by search, not through the inbox: no card asked for yet.
    let uri = b_client.get(&format!("/api/v1/statuses/{linked}")).ok()["uri"]
        .as_str()
        .unwrap()
        .to_string();
    let q = crate::api::form(&[("q", &uri), ("resolve", "true")]);
    let found = a_client.get(&format!("/api/v2/search?{q}")).ok();
    let id = found["statuses"][0]["id"].as_str().unwrap().to_string();
    settle(&[&a, &b]);
    assert!(card_of(&a_client, &id).is_null());
    assert_eq!(pages.hits("/story"), 1);
    // The owner opens its thread: the card is fetched.
    a_client.get(&format!("/api/v1/statuses/{id}/context")).ok();
    settle(&[&a, &b]);
    assert_eq!(card_of(&a_client, &id)["title"], "A \"good\" story");
    assert_eq!(pages.hits("/story"), 2);
}

#[test]
fn an_edit_changes_or_drops_the_card() {
    let pages = Pages::start();
    pages.html("/one", "<title>One</title>");
    pages.html("/two", "<title>Two</title>");
    let a = Api::start("editor");
    let client = a.login("read write");
    let id = post(&client, &pages.url("/one"));
    settle(&[&a]);
    assert_eq!(card_of(&client, &id)["title"], "One");
    let edit = |text: &str| {
        client
            .json_body(
                "PUT",
                &format!("/api/v1/statuses/{id}"),
                &json!({"status": text}),
            )
            .ok()
    };
    edit(&format!("now {}", pages.url("/two")));
    settle(&[&a]);
    assert_eq!(card_of(&client, &id)["title"], "Two");
    edit("no link any more");
    settle(&[&a]);
    assert!(card_of(&client, &id).is_null());
    assert_eq!((pages.hits("/one"), pages.hits("/two")), (1, 1));
}

#[test]
fn sec_82_link_previews_fetch_at_most_thirty_pages_of_a_host_a_minute() {
    let pages = Pages::start();
    let a = Api::start("busyhost");
    let client = a.login("read write");
    let ids: Vec<String> = (0..31)
        .map(|n| {
            let path = format!("/p{n}");
            pages.html(&path, &format!("<title>Page {n}</title>"));
            post(&client, &pages.url(&path))
        })
        .collect();
    settle(&[&a]);
    // Thirty fetched; the thirty-first waits for the next minute (off the queue's
    // "due now", so settle does not wait for it).
    assert_eq!(pages.total_hits(), 30);
    let with_card = ids
        .iter()
        .filter(|id| !card_of(&client, id).is_null())
        .count();
    assert_eq!(with_card, 30);
}
