//! Media over real HTTP against an in-process kith: uploads of every accepted kind
//! (EXIF orientation applied, EXIF/GPS and comments gone), refusals that leave nothing
//! on disk (wrong magic, decompression bombs, oversized bodies), `GET`/`PUT`/`DELETE`
//! of uploads, media on a posted status and in its federated Note, the headers of
//! served files, the remote media cache against a fake loopback origin (MAC, type
//! allow-list, least-recently-used eviction), and removal of unattached uploads.

use crate::support::free_port;
use kith::Server;
use serde_json::Value;
use std::collections::HashMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// An in-process kith with an owner token.
struct Kith {
    server: Option<Server>,
    dir: tempfile::TempDir,
    port: u16,
    token: String,
}

impl Kith {
    /// Starts kith with `extra` TOML (tables allowed: `[federation]` comes after it).
    fn start(extra: &str) -> Kith {
        Kith::start_with_scopes(extra, "read write")
    }

    fn start_with_scopes(extra: &str, scopes: &str) -> Kith {
        let dir = tempfile::tempdir().unwrap();
        let port = free_port();
        let text = format!(
            "public_url = \"http://localhost:{port}\"\nusername = \"alice\"\nlisten = \"127.0.0.1:{port}\"\n\
             data_dir = \"{d}\"\n{extra}\n[federation]\nallow_private_addresses = true\ndelivery_workers = 1\n",
            d = dir.path().join("data").display()
        );
        let config = kith::config::Config::parse(&text).unwrap();
        let server = kith::start(config).unwrap();
        let token = kith::keys::random_token(32).unwrap();
        let hash = kith::keys::sha256_hex(token.as_bytes());
        server
            .ctx()
            .db
            .write(|tx| kith::db::tokens::insert(tx, None, &hash, scopes, kith::db::now_ms()))
            .unwrap();
        Kith {
            server: Some(server),
            dir,
            port,
            token,
        }
    }

    fn ctx(&self) -> &kith::Ctx {
        self.server.as_ref().unwrap().ctx()
    }

    fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{path}", self.port)
    }

    fn media_dir(&self) -> PathBuf {
        self.dir.path().join("data").join("media")
    }

    /// Files in the media directory.
    fn media_files(&self) -> Vec<String> {
        list_dir(&self.media_dir())
    }

    fn count(&self, sql: &str) -> i64 {
        self.ctx()
            .db
            .read(|c| Ok(c.query_row(sql, [], |r| r.get(0))?))
            .unwrap()
    }

    fn bearer(&self) -> String {
        format!("Bearer {}", self.token)
    }

    /// Uploads `bytes` as the multipart `file` field with extra text fields.
    fn upload(&self, name: &str, content_type: &str, bytes: &[u8], fields: &[(&str, &str)]) -> Got {
        let (ct, body) = multipart(name, content_type, bytes, fields);
        let auth = self.bearer();
        send(
            "POST",
            &self.url("/api/v2/media"),
            &[("Authorization", &auth), ("Content-Type", &ct)],
            &body,
        )
    }

    /// Uploads a fixture as `file_name` and expects 200; returns the MediaAttachment.
    fn upload_ok(
        &self,
        fixture_name: &str,
        file_name: &str,
        content_type: &str,
        fields: &[(&str, &str)],
    ) -> Value {
        let got = self.upload(file_name, content_type, &fixture(fixture_name), fields);
        assert_eq!(got.status, 200, "{}", got.text());
        got.json()
    }

    /// Posts a status with `text` and one uploaded medium; expects 200, returns it.
    fn post_with(&self, text: &str, media_id: &str) -> Value {
        let body = format!("status={text}&media_ids[]={media_id}");
        let got = self.api(
            "POST",
            "/api/v1/statuses",
            "application/x-www-form-urlencoded",
            body.as_bytes(),
        );
        assert_eq!(got.status, 200, "{}", got.text());
        got.json()
    }

    fn api(&self, method: &str, path: &str, content_type: &str, body: &[u8]) -> Got {
        let auth = self.bearer();
        let mut headers = vec![("Authorization", auth.as_str())];
        if !content_type.is_empty() {
            headers.push(("Content-Type", content_type));
        }
        send(method, &self.url(path), &headers, body)
    }

    /// GETs a URL kith gave out (public_url is localhost; the socket is 127.0.0.1).
    fn fetch(&self, public: &str, headers: &[(&str, &str)]) -> Got {
        let path = public
            .strip_prefix(&format!("http://localhost:{}", self.port))
            .unwrap_or_else(|| panic!("not a URL of this kith: {public}"));
        send("GET", &self.url(path), headers, b"")
    }
}

impl Drop for Kith {
    fn drop(&mut self) {
        if let Some(s) = self.server.take() {
            s.shutdown();
        }
    }
}

fn list_dir(dir: &std::path::Path) -> Vec<String> {
    match std::fs::read_dir(dir) {
        Ok(entries) => entries
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect(),
        Err(_) => Vec::new(),
    }
}

pub(crate) fn fixture(name: &str) -> Vec<u8> {
    std::fs::read(
        PathBuf::from(env!("CARGO_MANIFEST_DIR"))
            .join("tests/fixtures/media")
            .join(name),
    )
    .unwrap()
}

/// A multipart body: (Content-Type header, body).
pub(crate) fn multipart(
    file_name: &str,
    content_type: &str,
    bytes: &[u8],
    fields: &[(&str, &str)],
) -> (String, Vec<u8>) {
    let boundary = "----kithtestboundary7MA4YWxk";
    let mut body = Vec::new();
    for (k, v) in fields {
        body.extend(
            format!("--{boundary}\r\nContent-Disposition: form-data; name=\"{k}\"\r\n\r\n{v}\r\n")
                .into_bytes(),
        );
    }
    body.extend(
        format!(
            "--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"{file_name}\"\r\n\
             Content-Type: {content_type}\r\n\r\n"
        )
        .into_bytes(),
    );
    body.extend(bytes);
    body.extend(format!("\r\n--{boundary}--\r\n").into_bytes());
    (format!("multipart/form-data; boundary={boundary}"), body)
}

/// A response read fully, body as bytes.
struct Got {
    status: u16,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

impl Got {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }
    fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
    fn json(&self) -> Value {
        serde_json::from_slice(&self.body)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {}", self.text()))
    }
    fn contains(&self, needle: &[u8]) -> bool {
        self.body.windows(needle.len()).any(|w| w == needle)
    }
}

fn send(method: &str, url: &str, headers: &[(&str, &str)], body: &[u8]) -> Got {
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .max_redirects(0)
        .timeout_global(Some(Duration::from_secs(30)))
        .build()
        .into();
    let mut req = ureq::http::Request::builder().method(method).uri(url);
    for (n, v) in headers {
        req = req.header(*n, *v);
    }
    let resp = agent
        .run(req.body(body.to_vec()).unwrap())
        .expect("request");
    let status = resp.status().as_u16();
    let headers = resp
        .headers()
        .iter()
        .map(|(n, v)| {
            (
                n.as_str().to_ascii_lowercase(),
                v.to_str().unwrap_or("").to_string(),
            )
        })
        .collect();
    let body = resp
        .into_body()
        .with_config()
        .limit(64 * 1024 * 1024)
        .read_to_vec()
        .unwrap_or_default();
    Got {
        status,
        headers,
        body,
    }
}

/// Checks the headers every served media file carries.
fn assert_file_headers(got: &Got, media_type: &str) {
    assert_eq!(got.status, 200, "{}", got.text());
    assert_eq!(got.header("content-type"), Some(media_type));
    assert_eq!(
        got.header("cache-control"),
        Some("public, max-age=31536000, immutable")
    );
    assert_eq!(got.header("x-content-type-options"), Some("nosniff"));
    assert_eq!(
        got.header("content-security-policy"),
        Some("default-src 'none'; sandbox")
    );
}

/// The file name at the end of a media URL, checked for kith's shape.
fn file_name(url: &str) -> String {
    let name = url.rsplit('/').next().unwrap().to_string();
    let (stem, _) = name.split_once('.').unwrap();
    assert_eq!(stem.len(), 32, "{name}");
    assert!(
        stem.bytes()
            .all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase()),
        "{name}"
    );
    name
}

fn has_exif(bytes: &[u8]) -> bool {
    bytes.windows(6).any(|w| w == b"Exif\0\0") || bytes.windows(2).any(|w| w == [0xFF, 0xE1])
}

#[test]
fn jpeg_is_turned_upright_and_loses_exif_gps_and_comments() {
    let k = Kith::start("");
    let original = fixture("exif-rotated.jpg");
    assert!(has_exif(&original));
    let m = k.upload_ok(
        "exif-rotated.jpg",
        "IMG_0001.JPG",
        "image/jpeg",
        &[("description", "A red square"), ("focus", "0.5,-0.25")],
    );
    assert_eq!(m["type"], "image");
    assert_eq!(m["description"], "A red square");
    assert_eq!(m["meta"]["original"]["width"], 32);
    assert_eq!(m["meta"]["original"]["height"], 64);
    assert_eq!(m["meta"]["original"]["aspect"], 0.5);
    assert_eq!(m["meta"]["small"]["width"], 32);
    assert_eq!(m["meta"]["focus"]["x"], 0.5);
    assert_eq!(m["meta"]["focus"]["y"], -0.25);
    assert!(m["blurhash"].as_str().unwrap().len() >= 6);
    assert!(m["remote_url"].is_null());
    let url = m["url"].as_str().unwrap();
    assert!(url.starts_with(&format!("http://localhost:{}/media/", k.port)));
    assert!(file_name(url).ends_with(".jpg"));
    assert!(!url.contains("IMG_0001"));

    let got = k.fetch(url, &[]);
    assert_file_headers(&got, "image/jpeg");
    assert!(!has_exif(&got.body), "EXIF survived");
    assert!(!got.contains(b"secret place"), "the comment survived");
    let img = image::load_from_memory(&got.body).unwrap().into_rgb8();
    assert_eq!(img.dimensions(), (32, 64), "orientation 6 swaps the sides");
    // The red corner was top-left; turned 90° clockwise it is top-right.
    let red = |p: &image::Rgb<u8>| p[0] > 200 && p[2] < 80;
    assert!(red(img.get_pixel(28, 4)), "{:?}", img.get_pixel(28, 4));
    assert!(!red(img.get_pixel(4, 4)));
    assert!(!red(img.get_pixel(28, 60)));

    let preview = k.fetch(m["preview_url"].as_str().unwrap(), &[]);
    assert_file_headers(&preview, "image/jpeg");
    assert!(!has_exif(&preview.body));
    assert_eq!(image::load_from_memory(&preview.body).unwrap().width(), 32);
    assert_eq!(k.media_files().len(), 2);
}

#[test]
fn png_gif_and_webp_are_reencoded_or_cleaned() {
    let k = Kith::start("");
    let png = k.upload_ok("alpha.png", "a.png", "image/png", &[]);
    let got = k.fetch(png["url"].as_str().unwrap(), &[]);
    assert_file_headers(&got, "image/png");
    assert!(!got.contains(b"secret place"), "the tEXt chunk survived");
    let img = image::load_from_memory(&got.body).unwrap();
    assert_eq!((img.width(), img.height()), (40, 30));
    assert!(img.color().has_alpha());
    assert_eq!(png["meta"]["original"]["width"], 40);

    let gif = k.upload_ok("anim.gif", "anim.gif", "image/gif", &[]);
    assert_eq!(gif["type"], "image", "a GIF is an image, not a gifv video");
    let got = k.fetch(gif["url"].as_str().unwrap(), &[]);
    assert_file_headers(&got, "image/gif");
    assert!(got.contains(b"NETSCAPE2.0"), "looping was lost");
    assert!(!got.contains(b"secret place") && !got.contains(b"XMP"));
    use image::AnimationDecoder;
    let frames = image::codecs::gif::GifDecoder::new(std::io::Cursor::new(&got.body))
        .unwrap()
        .into_frames()
        .count();
    assert_eq!(frames, 2);
    assert_eq!(gif["meta"]["original"]["width"], 20);
    let preview = k.fetch(gif["preview_url"].as_str().unwrap(), &[]);
    assert_eq!(preview.status, 200);
    assert!(
        preview
            .header("content-type")
            .unwrap()
            .starts_with("image/")
    );
    // Posted, it stays an image in the status (apps would play a `gifv` as a video, and
    // a GIF is not one).
    let status = k.post_with("loop", gif["id"].as_str().unwrap());
    assert_eq!(status["media_attachments"][0]["type"], "image");

    let webp = k.upload_ok("lossless.webp", "x.webp", "image/webp", &[]);
    let got = k.fetch(webp["url"].as_str().unwrap(), &[]);
    assert_file_headers(&got, "image/png");
    let img = image::load_from_memory(&got.body).unwrap();
    assert_eq!((img.width(), img.height()), (30, 20));
}

#[test]
fn video_is_kept_with_its_place_blanked_and_served_in_ranges() {
    let k = Kith::start("");
    let original = fixture("clip.mp4");
    let m = k.upload_ok(
        "clip.mp4",
        "clip.mp4",
        "video/mp4",
        &[("description", "a clip")],
    );
    assert_eq!(m["type"], "video");
    assert!(m["preview_url"].is_null());
    let url = m["url"].as_str().unwrap();
    assert!(url.ends_with(".mp4"));
    let got = k.fetch(url, &[]);
    assert_file_headers(&got, "video/mp4");
    assert_eq!(got.body.len(), original.len(), "offsets must not move");
    assert!(!got.contains(b"+48.8577"), "the place survived");
    assert!(!got.contains(b"udta"));
    assert!(
        got.body.ends_with(&original[original.len() - 72..]),
        "media data changed"
    );

    let part = k.fetch(url, &[("Range", "bytes=0-7")]);
    assert_eq!(part.status, 206);
    assert_eq!(part.body, original[..8].to_vec());
    assert_eq!(
        part.header("content-range"),
        Some(format!("bytes 0-7/{}", original.len()).as_str())
    );
    let beyond = k.fetch(url, &[("Range", "bytes=99999-")]);
    assert_eq!(beyond.status, 416);
}

#[test]
fn bad_uploads_are_refused_and_leave_nothing_behind() {
    let k = Kith::start("");
    let refusals: Vec<(&str, &str, Vec<u8>)> = vec![
        ("fake.png", "image/png", fixture("fake.png")),
        ("notes.txt", "text/plain", b"hello there".to_vec()),
        (
            "page.svg",
            "image/svg+xml",
            b"<svg xmlns=\"http://www.w3.org/2000/svg\"/>".to_vec(),
        ),
        (
            "cut.jpg",
            "image/jpeg",
            fixture("exif-rotated.jpg")[..300].to_vec(),
        ),
        ("cut.gif", "image/gif", fixture("anim.gif")[..60].to_vec()),
        ("cut.mp4", "video/mp4", fixture("clip.mp4")[..100].to_vec()),
        // Served from the remote cache, but not taken as an upload: kith cannot decode
        // it to strip its metadata (and the instance entity does not list it).
        (
            "still.avif",
            "image/avif",
            b"\0\0\0\x18ftypavif\0\0\0\0mif1avif".to_vec(),
        ),
    ];
    for (name, ct, bytes) in refusals {
        let got = k.upload(name, ct, &bytes, &[]);
        assert_eq!(got.status, 422, "{name}: {}", got.text());
        assert!(got.json()["error"].is_string(), "{name}");
    }
    // A decompression bomb: refused from its header, at once.
    let start = Instant::now();
    let got = k.upload("bomb.png", "image/png", &fixture("bomb.png"), &[]);
    assert_eq!(got.status, 422, "{}", got.text());
    assert!(got.json()["error"].as_str().unwrap().contains("pixels"));
    assert!(start.elapsed() < Duration::from_secs(2));
    // No file part, an empty one, bad focus, too long a description.
    let got = k.api(
        "POST",
        "/api/v2/media",
        "application/x-www-form-urlencoded",
        b"description=x",
    );
    assert_eq!(got.status, 422);
    let got = k.upload("empty.png", "image/png", b"", &[]);
    assert_eq!(got.status, 422);
    let png = fixture("alpha.png");
    let got = k.upload("a.png", "image/png", &png, &[("focus", "3,3")]);
    assert_eq!(got.status, 422);
    let long = "x".repeat(1501);
    let got = k.upload("a.png", "image/png", &png, &[("description", &long)]);
    assert_eq!(got.status, 422);
    // No token; a token without write:media.
    let (ct, body) = multipart("a.png", "image/png", &png, &[]);
    let got = send(
        "POST",
        &k.url("/api/v1/media"),
        &[("Content-Type", &ct)],
        &body,
    );
    assert_eq!(got.status, 401);
    assert_eq!(k.count("SELECT COUNT(*) FROM media"), 0);
    let leftovers: Vec<String> = k.media_files();
    assert!(leftovers.is_empty(), "files left: {leftovers:?}");

    let reader = Kith::start_with_scopes("", "read");
    let got = reader.upload("a.png", "image/png", &png, &[]);
    assert_eq!(got.status, 403);
    assert!(reader.media_files().is_empty());
}

#[test]
fn oversized_upload_gets_413_from_the_http_layer() {
    let k = Kith::start("[limits]\nupload_max_bytes = 100000");
    let big = vec![0xFFu8; 150_000];
    let got = k.upload("big.jpg", "image/jpeg", &big, &[]);
    assert_eq!(got.status, 413);
    assert!(got.json()["error"].is_string());
    assert!(k.media_files().is_empty());
    assert_eq!(k.count("SELECT COUNT(*) FROM media"), 0);
    // Within the cap it goes through.
    assert_eq!(
        k.upload("a.png", "image/png", &fixture("alpha.png"), &[])
            .status,
        200
    );
}

#[test]
fn media_can_be_read_described_and_deleted_until_posted() {
    let k = Kith::start("");
    let m = k.upload_ok("alpha.png", "a.png", "image/png", &[]);
    let id = m["id"].as_str().unwrap().to_string();
    assert!(m["description"].is_null());

    let got = k.api("GET", &format!("/api/v1/media/{id}"), "", b"");
    assert_eq!(got.status, 200);
    assert_eq!(got.json()["url"], m["url"]);

    let got = k.api(
        "PUT",
        &format!("/api/v1/media/{id}"),
        "application/json",
        br#"{"description": "An orange gradient", "focus": "-0.5,0.5"}"#,
    );
    assert_eq!(got.status, 200, "{}", got.text());
    assert_eq!(got.json()["description"], "An orange gradient");
    assert_eq!(got.json()["meta"]["focus"]["x"], -0.5);
    // A bad focus changes nothing.
    let got = k.api(
        "PUT",
        &format!("/api/v1/media/{id}"),
        "application/x-www-form-urlencoded",
        b"description=changed&focus=2,0",
    );
    assert_eq!(got.status, 422);
    let got = k.api("GET", &format!("/api/v1/media/{id}"), "", b"");
    assert_eq!(got.json()["description"], "An orange gradient");

    for (method, path) in [
        ("GET", "/api/v1/media/123456"),
        ("PUT", "/api/v1/media/123456"),
        ("GET", "/api/v1/media/abc"),
        ("DELETE", "/api/v1/media/123456"),
    ] {
        let got = k.api(
            method,
            path,
            "application/x-www-form-urlencoded",
            b"description=x",
        );
        assert_eq!(got.status, 404, "{method} {path}");
        assert!(got.json()["error"].is_string());
    }

    let other = k.upload_ok("alpha.png", "b.png", "image/png", &[]);
    let other_id = other["id"].as_str().unwrap();
    assert_eq!(k.media_files().len(), 4);
    let got = k.api("DELETE", &format!("/api/v1/media/{other_id}"), "", b"");
    assert_eq!(got.status, 200);
    assert_eq!(k.media_files().len(), 2);
    assert_eq!(k.fetch(other["url"].as_str().unwrap(), &[]).status, 404);
}

#[test]
fn posted_media_is_in_the_status_and_the_federated_note() {
    let k = Kith::start("");
    let m = k.upload_ok(
        "exif-rotated.jpg",
        "IMG_0001.JPG",
        "image/jpeg",
        &[("description", "A red square")],
    );
    let id = m["id"].as_str().unwrap();
    let status = k.post_with("look", id);
    let media = &status["media_attachments"][0];
    assert_eq!(media["id"], id);
    assert_eq!(media["url"], m["url"]);
    assert_eq!(media["description"], "A red square");
    assert_eq!(media["meta"]["original"]["height"], 64);

    let uri = status["uri"].as_str().unwrap();
    let note = k.fetch(uri, &[("Accept", "application/activity+json")]);
    assert_eq!(note.status, 200, "{}", note.text());
    let note = note.json();
    let doc = &note["attachment"][0];
    assert_eq!(doc["type"], "Document");
    assert_eq!(doc["mediaType"], "image/jpeg");
    assert_eq!(doc["url"], m["url"]);
    assert_eq!(doc["name"], "A red square");
    assert_eq!(doc["blurhash"], m["blurhash"]);
    assert_eq!(
        (doc["width"].as_i64(), doc["height"].as_i64()),
        (Some(32), Some(64))
    );

    // Posted media is no longer editable through the media API, nor postable again.
    let got = k.api(
        "PUT",
        &format!("/api/v1/media/{id}"),
        "application/x-www-form-urlencoded",
        b"description=x",
    );
    assert_eq!(got.status, 404);
    let got = k.api(
        "POST",
        "/api/v1/statuses",
        "application/x-www-form-urlencoded",
        format!("status=look&media_ids[]={id}").as_bytes(),
    );
    assert_eq!(got.status, 422);
}

#[test]
fn avatar_and_header_are_processed_and_served() {
    let k = Kith::start("");
    let mut body = Vec::new();
    let boundary = "kithavatarboundary";
    for (field, name, bytes) in [
        ("avatar", "me.jpg", fixture("exif-rotated.jpg")),
        ("header", "banner.png", fixture("alpha.png")),
    ] {
        body.extend(
            format!(
                "--{boundary}\r\nContent-Disposition: form-data; name=\"{field}\"; filename=\"{name}\"\r\n\
                 Content-Type: application/octet-stream\r\n\r\n"
            )
            .into_bytes(),
        );
        body.extend(bytes);
        body.extend(b"\r\n");
    }
    body.extend(format!("--{boundary}--\r\n").into_bytes());
    let got = k.api(
        "PATCH",
        "/api/v1/accounts/update_credentials",
        &format!("multipart/form-data; boundary={boundary}"),
        &body,
    );
    assert_eq!(got.status, 200, "{}", got.text());
    let account = got.json();
    let avatar = k.fetch(account["avatar"].as_str().unwrap(), &[]);
    assert_file_headers(&avatar, "image/jpeg");
    assert!(!has_exif(&avatar.body));
    let img = image::load_from_memory(&avatar.body).unwrap();
    assert_eq!((img.width(), img.height()), (32, 64));
    let header = k.fetch(account["header"].as_str().unwrap(), &[]);
    assert_file_headers(&header, "image/png");
    // Profile images are not uploads for posts.
    assert_eq!(
        k.count("SELECT COUNT(*) FROM media WHERE purpose = 'attachment'"),
        0
    );
    let got = k.api(
        "PATCH",
        "/api/v1/accounts/update_credentials",
        &format!("multipart/form-data; boundary={boundary}"),
        &multipart_field(boundary, "avatar", &fixture("fake.png")),
    );
    assert_eq!(got.status, 422);
}

fn multipart_field(boundary: &str, field: &str, bytes: &[u8]) -> Vec<u8> {
    let mut body = format!(
        "--{boundary}\r\nContent-Disposition: form-data; name=\"{field}\"; filename=\"x\"\r\n\r\n"
    )
    .into_bytes();
    body.extend(bytes);
    body.extend(format!("\r\n--{boundary}--\r\n").into_bytes());
    body
}

#[test]
fn only_names_kith_gave_are_served() {
    let k = Kith::start("");
    let m = k.upload_ok("alpha.png", "a.png", "image/png", &[]);
    assert_eq!(k.fetch(m["url"].as_str().unwrap(), &[]).status, 200);
    std::fs::write(k.dir.path().join("data").join("secret.txt"), "no").unwrap();
    for path in [
        "/media/..%2Fkith.sqlite3",
        "/media/../kith.sqlite3",
        "/media/%2E%2E%2Fsecret.txt",
        "/media/0123456789abcdef0123456789abcdef.png",
        "/media/0123456789ABCDEF0123456789ABCDEF.png",
        "/media/kith.sqlite3",
        "/media/",
    ] {
        let got = send("GET", &k.url(path), &[], b"");
        assert_eq!(got.status, 404, "{path}");
        assert!(!got.contains(b"SQLite"), "{path}");
    }
    // A file put in the directory by hand is not served either: no record, no type.
    let stray = "0123456789abcdef0123456789abcdef.png";
    std::fs::write(k.media_dir().join(stray), fixture("alpha.png")).unwrap();
    assert_eq!(
        send("GET", &k.url(&format!("/media/{stray}")), &[], b"").status,
        404
    );
}

#[test]
fn unattached_uploads_are_removed_after_a_day() {
    let k = Kith::start("");
    let kept = k.upload_ok("alpha.png", "a.png", "image/png", &[]);
    let posted = k.upload_ok("alpha.png", "b.png", "image/png", &[]);
    let body = format!("status=x&media_ids[]={}", posted["id"].as_str().unwrap());
    let got = k.api(
        "POST",
        "/api/v1/statuses",
        "application/x-www-form-urlencoded",
        body.as_bytes(),
    );
    assert_eq!(got.status, 200);
    let now = kith::db::now_ms();
    assert_eq!(
        kith::media::cleanup(k.ctx(), now).unwrap(),
        0,
        "too young to go"
    );
    assert_eq!(k.media_files().len(), 4);
    let removed = kith::media::cleanup(k.ctx(), now + 25 * 3600 * 1000).unwrap();
    assert_eq!(removed, 1);
    assert_eq!(k.media_files().len(), 2);
    assert_eq!(k.fetch(kept["url"].as_str().unwrap(), &[]).status, 404);
    let id = kept["id"].as_str().unwrap();
    assert_eq!(
        k.api("GET", &format!("/api/v1/media/{id}"), "", b"").status,
        404
    );
    assert_eq!(k.fetch(posted["url"].as_str().unwrap(), &[]).status, 200);
}

/// A loopback origin serving fixed files by path and counting requests.
struct Origin {
    port: u16,
    hits: Arc<Mutex<HashMap<String, usize>>>,
}

impl Origin {
    fn start(files: Vec<(&'static str, &'static str, Vec<u8>)>) -> Origin {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let hits: Arc<Mutex<HashMap<String, usize>>> = Arc::default();
        let files: Arc<HashMap<String, (String, Vec<u8>)>> = Arc::new(
            files
                .into_iter()
                .map(|(p, t, b)| (p.to_string(), (t.to_string(), b)))
                .collect(),
        );
        let counter = hits.clone();
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(mut stream) = stream else { continue };
                let mut reader = BufReader::new(stream.try_clone().unwrap());
                let mut line = String::new();
                if reader.read_line(&mut line).is_err() {
                    continue;
                }
                let path = line.split_whitespace().nth(1).unwrap_or("/").to_string();
                loop {
                    let mut h = String::new();
                    if reader.read_line(&mut h).unwrap_or(0) == 0 || h == "\r\n" {
                        break;
                    }
                }
                *counter.lock().unwrap().entry(path.clone()).or_default() += 1;
                let (status, ct, body) = match files.get(&path) {
                    Some((t, b)) => ("200 OK", t.as_str(), b.clone()),
                    None => ("404 Not Found", "text/plain", b"no".to_vec()),
                };
                let head = format!(
                    "HTTP/1.1 {status}\r\nContent-Type: {ct}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
                    body.len()
                );
                let _ = stream.write_all(head.as_bytes());
                let _ = stream.write_all(&body);
                let _ = stream.flush();
                let mut rest = Vec::new();
                let _ = reader.read_to_end(&mut rest);
            }
        });
        Origin { port, hits }
    }

    fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{path}", self.port)
    }

    fn hits(&self, path: &str) -> usize {
        self.hits.lock().unwrap().get(path).copied().unwrap_or(0)
    }
}

fn ogg(size: usize) -> Vec<u8> {
    let mut b = b"OggS\0\x02".to_vec();
    b.resize(size, 7);
    b
}

#[test]
fn proxy_checks_its_signature_sniffs_and_caches() {
    let origin = Origin::start(vec![
        ("/a.png", "image/png", fixture("alpha.png")),
        (
            "/page",
            "image/png",
            b"<html><script>alert(1)</script>".to_vec(),
        ),
        (
            "/drawing.svg",
            "image/svg+xml",
            b"<svg xmlns=\"http://www.w3.org/2000/svg\"/>".to_vec(),
        ),
        ("/bomb.png", "image/png", fixture("bomb.png")),
        ("/big.ogg", "audio/ogg", ogg(150 * 1024)),
    ]);
    let k = Kith::start("");
    let ctx = k.ctx();
    let good = kith::media::cache::proxied(ctx, &origin.url("/a.png"));
    let forged = good.replace("sig=", "sig=00");
    assert_eq!(k.fetch(&forged, &[]).status, 403);
    let other = format!(
        "http://localhost:{}/media/proxy?url={}&sig={}",
        k.port,
        url_encode(&origin.url("/page")),
        good.rsplit("sig=").next().unwrap()
    );
    assert_eq!(k.fetch(&other, &[]).status, 403, "a MAC for another URL");
    assert_eq!(
        origin.hits("/a.png"),
        0,
        "nothing fetched without a valid MAC"
    );

    let got = k.fetch(&good, &[]);
    assert_file_headers(&got, "image/png");
    assert_eq!(got.body, fixture("alpha.png"));
    let again = k.fetch(&good, &[]);
    assert_file_headers(&again, "image/png");
    assert_eq!(
        origin.hits("/a.png"),
        1,
        "the second answer comes from the cache"
    );
    assert_eq!(list_dir(&k.dir.path().join("data/cache")).len(), 1);

    for path in ["/page", "/drawing.svg", "/bomb.png"] {
        let got = k.fetch(&kith::media::cache::proxied(ctx, &origin.url(path)), &[]);
        assert_eq!(got.status, 415, "{path}");
    }
    let missing = k.fetch(
        &kith::media::cache::proxied(ctx, &origin.url("/gone.png")),
        &[],
    );
    assert!(missing.status >= 400, "{}", missing.status);
    // Emoji have a cap of 100 KiB.
    let emoji = format!(
        "{}&kind=emoji",
        kith::media::cache::proxied(ctx, &origin.url("/big.ogg"))
    );
    assert!(k.fetch(&emoji, &[]).status >= 400);
    let big = k.fetch(
        &kith::media::cache::proxied(ctx, &origin.url("/big.ogg")),
        &[],
    );
    assert_file_headers(&big, "audio/ogg");
    assert_eq!(list_dir(&k.dir.path().join("data/cache")).len(), 2);
}

fn url_encode(s: &str) -> String {
    url::form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

#[test]
fn cache_evicts_the_least_recently_used_first() {
    let origin = Origin::start(vec![
        ("/a.ogg", "audio/ogg", ogg(400 * 1024)),
        ("/b.ogg", "audio/ogg", ogg(400 * 1024)),
        ("/c.ogg", "audio/ogg", ogg(400 * 1024)),
    ]);
    let k = Kith::start("[media]\ncache_max_mb = 1");
    let proxied = |p: &str| kith::media::cache::proxied(k.ctx(), &origin.url(p));
    assert_eq!(k.fetch(&proxied("/a.ogg"), &[]).status, 200);
    assert_eq!(k.fetch(&proxied("/b.ogg"), &[]).status, 200);
    // Make both look old, b older than a; then use a, so b is the least recently used.
    k.ctx()
        .db
        .write(|tx| {
            tx.execute(
                "UPDATE media_cache SET last_used_at = 1000 WHERE url LIKE '%/a.ogg'",
                [],
            )?;
            tx.execute(
                "UPDATE media_cache SET last_used_at = 500 WHERE url LIKE '%/b.ogg'",
                [],
            )?;
            Ok(())
        })
        .unwrap();
    assert_eq!(k.fetch(&proxied("/a.ogg"), &[]).status, 200);
    assert_eq!(origin.hits("/a.ogg"), 1);
    assert_eq!(k.fetch(&proxied("/c.ogg"), &[]).status, 200);
    let urls: Vec<String> = k
        .ctx()
        .db
        .read(|c| {
            let mut s = c.prepare("SELECT url FROM media_cache ORDER BY url")?;
            let rows = s.query_map([], |r| r.get::<_, String>(0))?;
            Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
        })
        .unwrap();
    assert_eq!(urls, vec![origin.url("/a.ogg"), origin.url("/c.ogg")]);
    assert_eq!(list_dir(&k.dir.path().join("data/cache")).len(), 2);
    assert!(k.count("SELECT SUM(size) FROM media_cache") <= 1024 * 1024);
    // b is fetched again on its next use; a and c are still served from the cache.
    assert_eq!(k.fetch(&proxied("/b.ogg"), &[]).status, 200);
    assert_eq!(origin.hits("/b.ogg"), 2);
    assert_eq!(origin.hits("/c.ogg"), 1);
}

/// A valid PNG of `w`×`h` black pixels of 16-bit RGBA, compressed as it is written:
/// a few hundred KB that decode to `w`×`h`×8 bytes.
fn dense_png(w: u32, h: u32) -> Vec<u8> {
    let mut png = b"\x89PNG\r\n\x1a\n".to_vec();
    let mut chunk = |kind: &[u8], body: &[u8]| {
        let mut crc = flate2::Crc::new();
        crc.update(kind);
        crc.update(body);
        png.extend_from_slice(&(body.len() as u32).to_be_bytes());
        png.extend_from_slice(kind);
        png.extend_from_slice(body);
        png.extend_from_slice(&crc.sum().to_be_bytes());
    };
    let mut ihdr = w.to_be_bytes().to_vec();
    ihdr.extend_from_slice(&h.to_be_bytes());
    ihdr.extend_from_slice(&[16, 6, 0, 0, 0]);
    chunk(b"IHDR", &ihdr);
    let mut z = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::best());
    let row = vec![0u8; 1 + w as usize * 8];
    for _ in 0..h {
        z.write_all(&row).unwrap();
    }
    chunk(b"IDAT", &z.finish().unwrap());
    chunk(b"IEND", b"");
    png
}

/// A GIF of `frames` frames of one pixel each.
fn many_frames_gif(frames: usize) -> Vec<u8> {
    let mut gif = b"GIF89a\x01\x00\x01\x00\x80\x00\x00\x00\x00\x00\xff\xff\xff".to_vec();
    for _ in 0..frames {
        gif.extend_from_slice(b"\x2c\0\0\0\0\x01\0\x01\0\0\x02\x02\x44\x01\0");
    }
    gif.push(0x3b);
    gif
}

#[test]
fn sec_67_68_pictures_over_the_memory_budget_or_frame_cap_get_422() {
    let k = Kith::start("");
    // Within the pixel cap kith had, but 128 MB once decoded.
    let png = dense_png(4000, 4000);
    assert!(png.len() < 1 << 20, "{} bytes", png.len());
    let start = Instant::now();
    let got = k.upload("dense.png", "image/png", &png, &[]);
    assert_eq!(got.status, 422, "{}", got.text());
    assert!(
        got.json()["error"]
            .as_str()
            .unwrap()
            .contains("MB of memory"),
        "{}",
        got.text()
    );
    assert!(
        start.elapsed() < Duration::from_secs(2),
        "refused from its header"
    );
    // A GIF of 3000 frames.
    let got = k.upload("frames.gif", "image/gif", &many_frames_gif(3000), &[]);
    assert_eq!(got.status, 422, "{}", got.text());
    assert!(got.json()["error"].as_str().unwrap().contains("frames"));
    // Nothing was kept of either; a small GIF still uploads.
    assert!(k.media_files().is_empty(), "{:?}", k.media_files());
    let got = k.upload("small.gif", "image/gif", &many_frames_gif(20), &[]);
    assert_eq!(got.status, 200, "{}", got.text());
    // The instance announces the smaller pixel cap, so apps shrink pictures first.
    let instance = send("GET", &k.url("/api/v2/instance"), &[], b"").json();
    assert_eq!(
        instance["configuration"]["media_attachments"]["image_matrix_limit"],
        kith::media::image::MAX_PIXELS
    );
}
