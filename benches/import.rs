//! `cargo bench --bench import`: importing a large Mastodon archive.
//!
//! Generates, in a temporary directory, a zip shaped like Mastodon's archive with
//! 50,000 posts (`KITH_BENCH_POSTS`) and 2 GiB of media (`KITH_BENCH_MEDIA_MB`, stored
//! as Mastodon stores them): one 12-megapixel phone photo (4000×3000, 8 MB, EXIF
//! orientation and GPS), one 150 MB video (an MP4 whose `moov` carries a place), and
//! for the rest real JPEG pictures of 1024×768 and about 230 KiB. It imports it into a
//! fresh kith data directory in a child process (this program again, so the archive's
//! generation does not count), where every picture is re-processed like an upload and
//! the video streamed, and prints the time of each phase and the child's peak
//! resident memory (VmHWM). The target is under 64 MB: the peak is one photo's decode,
//! since images are processed one at a time and video never sits in memory. The
//! child's `limits.upload_max_bytes` is raised to 200 MB so the video is stored. A
//! second import of the same archive is timed too (nothing new is written). Asserts
//! nothing; needs about three times the media size free on disk (the zip, the staged
//! copy, the stored files).
//!
//! Then a CSV import of 1,000,000 domain blocks (`KITH_BENCH_CSV_ROWS`) into a running
//! server, twice: from the command line (`kith import csv`, another process beside the
//! server: this program again, sharing the SQLite file) and as the settings page does
//! it (in the server's process, sharing its writer). Meanwhile the owner posts a
//! status through the API every 100 ms; prints the import's time and the posting
//! latencies (median and worst) against those before the import. Then mutes and list
//! members of 1,000,000 accounts kith already knows (`KITH_BENCH_CSV_KNOWN`; accounts
//! it does not know are one WebFinger and one actor fetch each, which no batching
//! changes), in the server's process. `KITH_BENCH_ONLY=csv` skips the archive.

#[allow(dead_code)]
#[path = "../tests/fixtures/media/generate.rs"]
mod generate;
mod support;

use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::Instant;

const PHASE_ENV: &str = "KITH_BENCH_IMPORT_CHILD";
const CSV_ENV: &str = "KITH_BENCH_CSV_CHILD";
/// The side of the small pictures.
const PICTURE: (u32, u32) = (1024, 768);
/// The phone photo's size.
const PHOTO: (u32, u32) = (4000, 3000);
/// The video's size.
const VIDEO_BYTES: usize = 150 << 20;

fn env_or(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn main() {
    if let Ok(dir) = std::env::var(PHASE_ENV) {
        child(Path::new(&dir));
        return;
    }
    if let Ok(dir) = std::env::var(CSV_ENV) {
        csv_child(Path::new(&dir));
        return;
    }
    if std::env::var("KITH_BENCH_ONLY").as_deref() != Ok("csv") {
        archive_bench();
    }
    csv_bench(env_or("KITH_BENCH_CSV_ROWS", 1_000_000));
}

fn archive_bench() {
    let posts = env_or("KITH_BENCH_POSTS", 50_000) as usize;
    let media_mb = env_or("KITH_BENCH_MEDIA_MB", 2048) as usize;
    let dir = tempfile::tempdir().expect("tempdir");
    let archive = dir.path().join("archive.zip");
    let started = Instant::now();
    let media = Media::new(media_mb << 20);
    let media_files = generate(&archive, posts, &media);
    let size = std::fs::metadata(&archive).map(|m| m.len()).unwrap_or(0);
    println!(
        "generated {} posts and {} media files (a {} MiB photo, a {} MiB video, {} pictures of {} KiB) \
         as a {} MiB zip in {:.1} s",
        posts,
        media_files,
        media.photo.len() >> 20,
        VIDEO_BYTES >> 20,
        media_files.saturating_sub(2),
        media.picture.len() >> 10,
        size >> 20,
        started.elapsed().as_secs_f64()
    );
    // The account (its key and password hash, argon2 takes 19 MiB) is made here, so
    // the child's peak memory is the import's.
    kith::prepare(&bench_config(dir.path())).expect("account");
    let status = std::process::Command::new(std::env::current_exe().expect("exe"))
        .env(PHASE_ENV, dir.path())
        .status()
        .expect("child");
    assert!(status.success(), "the import child failed");
}

/// A photo-like JPEG: smooth gradients with noise, so it compresses like a camera's.
fn photo_like(width: u32, height: u32, noise_mask: u64, quality: u8) -> Vec<u8> {
    let mut seed = 0x2545_F491_4F6C_DD1Du64;
    let img = image::RgbImage::from_fn(width, height, |x, y| {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        let noise = (seed & noise_mask) as u32;
        image::Rgb([
            ((x * 255 / width + noise) % 256) as u8,
            ((y * 255 / height + noise) % 256) as u8,
            (((x + y) / 40 + noise) % 256) as u8,
        ])
    });
    let mut jpeg = Vec::new();
    image::codecs::jpeg::JpegEncoder::new_with_quality(&mut jpeg, quality)
        .encode_image(&img)
        .expect("encode");
    jpeg
}

/// The media of the archive: the photo, one picture (varied per file by a comment
/// segment) and how many pictures fill the size asked for.
struct Media {
    photo: Vec<u8>,
    picture: Vec<u8>,
    pictures: usize,
}

impl Media {
    fn new(total: usize) -> Media {
        let photo = generate::with_segments(
            &photo_like(PHOTO.0, PHOTO.1, 0x1F, 92),
            &[generate::exif_segment(6)],
        );
        let picture = photo_like(PICTURE.0, PICTURE.1, 0x0F, 85);
        let rest = total.saturating_sub(photo.len() + VIDEO_BYTES);
        let pictures = rest / (picture.len() + 32);
        Media {
            photo,
            picture,
            pictures,
        }
    }

    /// The `m`th small picture: the same pixels, a comment that names it.
    fn picture(&self, m: usize) -> Vec<u8> {
        let text = format!("kith bench picture {m:08}");
        let mut comment = vec![0xFF, 0xFE];
        comment.extend(((text.len() + 2) as u16).to_be_bytes());
        comment.extend(text.as_bytes());
        generate::with_segments(&self.picture, &[comment])
    }
}

/// Writes the video: an MP4 whose `moov` carries a place in `udta`, then `mdat` to
/// `VIDEO_BYTES` in all, streamed into the zip.
fn write_video(out: &mut dyn Write) {
    let xyz = generate::iso_box(b"\xa9xyz", b"\0\x12\x15\xc7+48.8577+002.2950/");
    let trak = generate::iso_box(b"trak", &generate::iso_box(b"tkhd", &[0; 84]));
    let moov = generate::iso_box(
        b"moov",
        &[
            generate::iso_box(b"mvhd", &[0; 100]),
            trak,
            generate::iso_box(b"udta", &xyz),
        ]
        .concat(),
    );
    let head = [
        generate::iso_box(b"ftyp", b"isom\0\0\x02\0isomiso2mp41"),
        moov,
    ]
    .concat();
    out.write_all(&head).expect("video");
    let body = VIDEO_BYTES - head.len() - 8;
    out.write_all(&((body + 8) as u32).to_be_bytes())
        .expect("video");
    out.write_all(b"mdat").expect("video");
    let chunk = vec![7u8; 1 << 20];
    let mut left = body;
    while left > 0 {
        let n = left.min(chunk.len());
        out.write_all(&chunk[..n]).expect("video");
        left -= n;
    }
}

/// The archive path of media file `m`, its type and its kind of content.
fn media_path(m: usize) -> (String, &'static str) {
    let dir = format!(
        "media_attachments/files/{:03}/{:03}/original",
        m / 1000,
        m % 1000
    );
    if m == 1 {
        (format!("{dir}/{m}.mp4"), "video/mp4")
    } else {
        (format!("{dir}/{m}.jpg"), "image/jpeg")
    }
}

/// Writes the archive: `outbox.json` (deflated, streamed), `actor.json`, `likes.json`,
/// `bookmarks.json` and the media files (stored); returns how many media files.
fn generate(path: &Path, posts: usize, media: &Media) -> usize {
    let media_files = media.pictures + 2;
    let file = std::io::BufWriter::new(std::fs::File::create(path).expect("create"));
    let mut zip = zip::ZipWriter::new(file);
    let deflated = zip::write::SimpleFileOptions::default();
    let stored = deflated.compression_method(zip::CompressionMethod::Stored);
    let actor = "https://old.example/users/me";
    zip.start_file("outbox.json", deflated).expect("outbox");
    write!(
        zip,
        r#"{{"@context":"https://www.w3.org/ns/activitystreams","id":"outbox.json","type":"OrderedCollection","totalItems":{posts},"orderedItems":["#
    )
    .expect("write");
    let start = 1_500_000_000i64;
    for n in 0..posts {
        if n > 0 {
            zip.write_all(b",").expect("write");
        }
        let published = kith::dates::iso8601((start + n as i64 * 600) * 1000);
        let id = format!("{actor}/statuses/{}", 100_000_000 + n);
        let item = if n % 10 == 9 {
            serde_json::json!({
                "id": format!("{id}/activity"), "type": "Announce", "actor": actor, "published": published,
                "to": ["https://www.w3.org/ns/activitystreams#Public"], "cc": [format!("{actor}/followers")],
                "object": format!("https://elsewhere.example/notes/{n}"),
            })
        } else {
            // Media go to the first posts, one file each.
            let m = n - n / 10;
            let attachment: Vec<serde_json::Value> = if m < media_files {
                let (path, media_type) = media_path(m);
                vec![serde_json::json!({
                    "type": "Document", "mediaType": media_type,
                    "url": format!("/system/{path}"),
                    "name": format!("picture {m}"), "width": PICTURE.0, "height": PICTURE.1,
                })]
            } else {
                Vec::new()
            };
            let reply = (n % 7 == 3).then(|| format!("{actor}/statuses/{}", 100_000_000 + n - 1));
            let text = format!(
                "<p>Post number {n}: {} #bench</p>",
                "a few words about the day, ".repeat(1 + n % 5)
            );
            serde_json::json!({
                "id": format!("{id}/activity"), "type": "Create", "actor": actor, "published": published,
                "to": ["https://www.w3.org/ns/activitystreams#Public"], "cc": [format!("{actor}/followers")],
                "object": {
                    "id": id, "type": "Note", "attributedTo": actor, "published": published, "content": text,
                    "to": ["https://www.w3.org/ns/activitystreams#Public"], "cc": [format!("{actor}/followers")],
                    "inReplyTo": reply, "sensitive": false, "attachment": attachment,
                    "tag": [{"type": "Hashtag", "name": "#bench", "href": "https://old.example/tags/bench"}],
                },
            })
        };
        serde_json::to_writer(&mut zip, &item).expect("item");
    }
    zip.write_all(b"]}").expect("write");
    zip.start_file("actor.json", deflated).expect("actor");
    let person = serde_json::json!({
        "id": actor, "type": "Person", "preferredUsername": "me", "inbox": format!("{actor}/inbox"),
        "followers": format!("{actor}/followers"), "outbox": "outbox.json",
    });
    serde_json::to_writer(&mut zip, &person).expect("actor");
    for name in ["likes.json", "bookmarks.json"] {
        zip.start_file(name, deflated).expect("marks");
        zip.write_all(br#"{"type":"OrderedCollection","orderedItems":[]}"#)
            .expect("write");
    }
    for m in 0..media_files {
        let (name, _) = media_path(m);
        zip.start_file(name, stored).expect("media");
        match m {
            0 => zip.write_all(&media.photo).expect("photo"),
            1 => write_video(&mut zip),
            _ => zip.write_all(&media.picture(m)).expect("picture"),
        }
    }
    zip.finish().expect("finish");
    media_files
}

fn vm_hwm_kb() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .unwrap_or_default()
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or(0)
}

fn bench_config(dir: &Path) -> kith::config::Config {
    let data: PathBuf = dir.join("data");
    let text = format!(
        "public_url = \"https://kith.example\"\nusername = \"me\"\ndata_dir = \"{}\"\n\
         [limits]\nupload_max_bytes = {}\n",
        data.display(),
        200 << 20
    );
    kith::config::Config::parse(&text).expect("config")
}

/// The child: imports the archive into a fresh data directory and reports.
fn child(dir: &Path) {
    let ctx = kith::cli_context(bench_config(dir)).expect("context");
    let before = vm_hwm_kb();
    let opts = kith::portability::import::Options {
        resolve: false,
        progress: false,
        ..Default::default()
    };
    let archive = dir.join("archive.zip");
    let started = Instant::now();
    let report = kith::portability::import::import_archive(&ctx, &archive, &opts).expect("import");
    let first = started.elapsed().as_secs_f64();
    // The files the import wrote are still in the page cache: time writing them out.
    let flushing = Instant::now();
    let _ = std::process::Command::new("sync").status();
    let flushed = flushing.elapsed().as_secs_f64();
    println!(
        "import: {} posts, {} media files ({} left out), {} boosts recorded, {} replies linked in {:.1} s \
         ({:.0} items/s); then {:.1} s until the written files were on disk (sync)",
        report.posts,
        report.media,
        report.media_failed + report.media_missing,
        report.refs_new,
        report.replies_linked,
        first,
        report.items as f64 / first,
        flushed
    );
    let started = Instant::now();
    let again = kith::portability::import::import_archive(&ctx, &archive, &opts).expect("again");
    println!(
        "second import of the same archive: {} new posts, {} already there, {:.1} s",
        again.posts,
        again.already,
        started.elapsed().as_secs_f64()
    );
    let peak = vm_hwm_kb();
    println!(
        "peak resident memory of the importing process: {:.1} MB (before the import: {:.1} MB; target < 64 MB)",
        peak as f64 / 1024.0,
        before as f64 / 1024.0
    );
}

fn csv_config(dir: &Path, port: u16) -> kith::config::Config {
    let text = format!(
        "public_url = \"http://localhost:{port}\"\nusername = \"me\"\nlisten = \"127.0.0.1:{port}\"\n\
         data_dir = \"{}\"\n[limits]\napi_requests = 100000\n",
        dir.join("data").display()
    );
    kith::config::Config::parse(&text).expect("config")
}

/// Posts a status as the owner over loopback HTTP; returns the status code.
fn post_status(port: u16, token: &str, n: usize) -> u16 {
    use std::io::Read;
    let body = format!("status=Still+here+{n}&visibility=public");
    let request = format!(
        "POST /api/v1/statuses HTTP/1.1\r\nHost: localhost\r\nAuthorization: Bearer {token}\r\n\
         Content-Type: application/x-www-form-urlencoded\r\nContent-Length: {}\r\n\
         Connection: close\r\n\r\n{body}",
        body.len()
    );
    let mut stream = std::net::TcpStream::connect(("127.0.0.1", port)).expect("connect");
    stream
        .set_read_timeout(Some(std::time::Duration::from_secs(300)))
        .expect("timeout");
    stream.write_all(request.as_bytes()).expect("send");
    let mut answer = Vec::new();
    let _ = stream.read_to_end(&mut answer);
    std::str::from_utf8(answer.get(9..12).unwrap_or(b"000"))
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(0)
}

/// Posting latencies in ms: (count, median, worst).
fn latencies(mut ms: Vec<f64>) -> (usize, f64, f64) {
    if ms.is_empty() {
        return (0, 0.0, 0.0);
    }
    ms.sort_by(|a, b| a.total_cmp(b));
    (ms.len(), ms[ms.len() / 2], ms[ms.len() - 1])
}

/// Posts every 100 ms until `done`; returns the latencies in ms.
fn keep_posting(port: u16, token: &str, done: &std::sync::atomic::AtomicBool) -> Vec<f64> {
    let mut ms = Vec::new();
    let mut n = 0;
    while !done.load(std::sync::atomic::Ordering::SeqCst) {
        let started = Instant::now();
        let status = post_status(port, token, n);
        ms.push(started.elapsed().as_secs_f64() * 1000.0);
        assert_eq!(status, 200, "posting failed");
        n += 1;
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    ms
}

/// The CSV child: `kith import csv --type domain-blocks` beside the running server.
fn csv_child(dir: &Path) {
    let port: u16 = env_or("KITH_BENCH_CSV_PORT", 0) as u16;
    let ctx = kith::cli_context(csv_config(dir, port)).expect("context");
    let started = Instant::now();
    let report = kith::portability::csv::import(
        &ctx,
        kith::portability::csv::Kind::DomainBlocks,
        &dir.join("blocked_domains.csv"),
        false,
        false,
    )
    .expect("csv import");
    println!(
        "  {} rows: {} applied in {:.1} s ({:.0} rows/s); peak memory of the importing process {:.1} MB",
        report.rows,
        report.applied,
        started.elapsed().as_secs_f64(),
        report.rows as f64 / started.elapsed().as_secs_f64(),
        vm_hwm_kb() as f64 / 1024.0
    );
}

fn csv_bench(rows: u64) {
    use std::sync::atomic::{AtomicBool, Ordering};
    let dir = tempfile::tempdir().expect("tempdir");
    let csv_path = dir.path().join("blocked_domains.csv");
    let mut out = std::io::BufWriter::new(std::fs::File::create(&csv_path).expect("csv"));
    writeln!(out, "#domain").expect("write");
    for n in 0..rows {
        writeln!(out, "spam-{n:07}.example").expect("write");
    }
    out.flush().expect("flush");
    drop(out);
    let size = std::fs::metadata(&csv_path).map(|m| m.len()).unwrap_or(0);
    println!("csv: {rows} domain blocks, a {} MiB file", size >> 20);
    let port = support::free_port();
    let server = kith::start(csv_config(dir.path(), port)).expect("server");
    let ctx = server.ctx().clone();
    let token = kith::keys::random_token(32).expect("token");
    let hash = kith::keys::sha256_hex(token.as_bytes());
    ctx.db
        .write(|tx| kith::db::tokens::insert(tx, None, &hash, "read write", kith::db::now_ms()))
        .expect("token row");
    let quiet: Vec<f64> = (0..20)
        .map(|n| {
            let started = Instant::now();
            assert_eq!(post_status(port, &token, n), 200);
            started.elapsed().as_secs_f64() * 1000.0
        })
        .collect();
    let (_, median, worst) = latencies(quiet);
    println!("  posting with no import running: median {median:.1} ms, worst {worst:.1} ms");

    // From the command line: another process beside the server.
    println!("csv from the command line (another process, the same SQLite file):");
    let done = AtomicBool::new(false);
    let posted = std::thread::scope(|scope| {
        let poster = scope.spawn(|| keep_posting(port, &token, &done));
        let status = std::process::Command::new(std::env::current_exe().expect("exe"))
            .env(CSV_ENV, dir.path())
            .env("KITH_BENCH_CSV_PORT", port.to_string())
            .status()
            .expect("child");
        done.store(true, Ordering::SeqCst);
        assert!(status.success(), "the csv child failed");
        poster.join().expect("poster")
    });
    let (count, median, worst) = latencies(posted);
    println!(
        "  the owner posted {count} times meanwhile: median {median:.1} ms, worst {worst:.1} ms"
    );

    // As the settings page does it: in the server's process, sharing its writer.
    ctx.db
        .write(|tx| Ok(tx.execute("DELETE FROM domain_blocks", [])?))
        .expect("clear");
    println!("csv in the server's process (the settings page):");
    let done = AtomicBool::new(false);
    let (report, took, posted) = std::thread::scope(|scope| {
        let poster = scope.spawn(|| keep_posting(port, &token, &done));
        let started = Instant::now();
        let report = kith::portability::csv::import(
            &ctx,
            kith::portability::csv::Kind::DomainBlocks,
            &csv_path,
            false,
            false,
        )
        .expect("csv import");
        let took = started.elapsed().as_secs_f64();
        done.store(true, Ordering::SeqCst);
        (report, took, poster.join().expect("poster"))
    });
    println!(
        "  {} rows: {} applied in {took:.1} s ({:.0} rows/s)",
        report.rows,
        report.applied,
        report.rows as f64 / took
    );
    let (count, median, worst) = latencies(posted);
    println!(
        "  the owner posted {count} times meanwhile: median {median:.1} ms, worst {worst:.1} ms"
    );
    let known = env_or("KITH_BENCH_CSV_KNOWN", 1_000_000);
    let started = Instant::now();
    store_known_actors(&ctx, known);
    println!(
        "csv of {known} accounts kith knows (stored in {:.1} s), in the server's process:",
        started.elapsed().as_secs_f64()
    );
    let mutes = dir.path().join("muted_accounts.csv");
    let lists = dir.path().join("lists.csv");
    let mut m = std::io::BufWriter::new(std::fs::File::create(&mutes).expect("csv"));
    let mut l = std::io::BufWriter::new(std::fs::File::create(&lists).expect("csv"));
    writeln!(m, "Account address,Hide notifications").expect("write");
    for n in 0..known {
        writeln!(m, "known-{n}@remote.example,true").expect("write");
        writeln!(l, "List {},known-{n}@remote.example", n % 10).expect("write");
    }
    m.flush().expect("flush");
    l.flush().expect("flush");
    drop((m, l));
    for (what, kind, path) in [
        ("mutes", kith::portability::csv::Kind::Mutes, &mutes),
        ("list members", kith::portability::csv::Kind::Lists, &lists),
    ] {
        let done = AtomicBool::new(false);
        let (report, took, posted) = std::thread::scope(|scope| {
            let poster = scope.spawn(|| keep_posting(port, &token, &done));
            let started = Instant::now();
            let report =
                kith::portability::csv::import(&ctx, kind, path, false, false).expect("csv import");
            let took = started.elapsed().as_secs_f64();
            done.store(true, Ordering::SeqCst);
            (report, took, poster.join().expect("poster"))
        });
        let (count, median, worst) = latencies(posted);
        println!(
            "  {what}: {} rows, {} applied, {} failed in {took:.1} s ({:.0} rows/s); the owner \
             posted {count} times meanwhile: median {median:.1} ms, worst {worst:.1} ms",
            report.rows,
            report.applied,
            report.failed.len(),
            report.rows as f64 / took
        );
    }
    drop(server);
}

/// Stores `count` remote actors `known-N@remote.example`, fetched just now.
fn store_known_actors(ctx: &kith::Ctx, count: u64) {
    let now = kith::db::now_ms();
    let mut n = 0;
    while n < count {
        let end = (n + 10_000).min(count);
        ctx.db
            .write(|tx| {
                for i in n..end {
                    let uri = format!("https://remote.example/users/known-{i}");
                    let actor = kith::db::actors::RemoteActor {
                        id: 0,
                        uri: uri.clone(),
                        username: format!("known-{i}"),
                        domain: "remote.example".into(),
                        display_name: String::new(),
                        note_html: String::new(),
                        url: None,
                        inbox: format!("{uri}/inbox"),
                        shared_inbox: None,
                        outbox: None,
                        followers_url: None,
                        following_url: None,
                        featured_url: None,
                        key_id: None,
                        public_key_pem: None,
                        avatar_url: None,
                        header_url: None,
                        kind: "Person".into(),
                        locked: false,
                        discoverable: false,
                        fields_json: "[]".into(),
                        also_known_as: "[]".into(),
                        moved_to: None,
                        published_at: None,
                        fetched_at: now,
                        gone_at: None,
                    };
                    kith::db::actors::upsert(tx, &actor)?;
                }
                Ok(())
            })
            .expect("actors");
        n = end;
    }
}
