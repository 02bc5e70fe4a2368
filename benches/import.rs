//! `cargo bench --bench import`: importing a large Mastodon archive.
//!
//! Generates, in a temporary directory, a zip shaped like Mastodon's archive with
//! 50,000 posts (`KITH_BENCH_POSTS`) and 2 GiB of media (`KITH_BENCH_MEDIA_MB`, in
//! files of 200 KiB, stored as Mastodon stores them), then imports it into a fresh kith
//! data directory in a child process (this program again, so the archive's generation
//! does not count) and prints the time of each phase and the child's peak resident
//! memory (VmHWM). The target is under 64 MB. A second import of the same archive is
//! timed too (nothing new is written). Asserts nothing; needs about three times the
//! media size free on disk (the zip, the staged copy that is then moved into place).

use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::Instant;

const PHASE_ENV: &str = "KITH_BENCH_IMPORT_CHILD";
const MEDIA_FILE: usize = 200 * 1024;

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
    let posts = env_or("KITH_BENCH_POSTS", 50_000) as usize;
    let media_mb = env_or("KITH_BENCH_MEDIA_MB", 2048) as usize;
    let media_files = media_mb * 1024 * 1024 / MEDIA_FILE;
    let dir = tempfile::tempdir().expect("tempdir");
    let archive = dir.path().join("archive.zip");
    let started = Instant::now();
    generate(&archive, posts, media_files);
    let size = std::fs::metadata(&archive).map(|m| m.len()).unwrap_or(0);
    println!(
        "generated {} posts and {} media files ({} MiB) as a {} MiB zip in {:.1} s",
        posts,
        media_files,
        (media_files * MEDIA_FILE) >> 20,
        size >> 20,
        started.elapsed().as_secs_f64()
    );
    // The account (its key and password hash, argon2 takes 19 MiB) is made here, so
    // the child's peak memory is the import's.
    kith::cli_context(bench_config(dir.path())).expect("account");
    let status = std::process::Command::new(std::env::current_exe().expect("exe"))
        .env(PHASE_ENV, dir.path())
        .status()
        .expect("child");
    assert!(status.success(), "the import child failed");
}

/// Writes the archive: `outbox.json` (deflated, streamed), `actor.json`, `likes.json`,
/// `bookmarks.json` and the media files (stored).
fn generate(path: &Path, posts: usize, media_files: usize) {
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
                vec![serde_json::json!({
                    "type": "Document", "mediaType": "image/jpeg",
                    "url": format!("/system/media_attachments/files/{:03}/{:03}/original/{m}.jpg", m / 1000, m % 1000),
                    "name": format!("picture {m}"), "width": 640, "height": 480,
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
    let mut body = vec![0u8; MEDIA_FILE];
    let mut seed = 0x2545_f491_4f6c_dd1du64;
    for b in body.iter_mut() {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        *b = seed as u8;
    }
    body[..4].copy_from_slice(&[0xff, 0xd8, 0xff, 0xe0]);
    for m in 0..media_files {
        let name = format!(
            "media_attachments/files/{:03}/{:03}/original/{m}.jpg",
            m / 1000,
            m % 1000
        );
        zip.start_file(name, stored).expect("media");
        body[4..12].copy_from_slice(&(m as u64).to_le_bytes());
        zip.write_all(&body).expect("media");
    }
    zip.finish().expect("finish");
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
        "public_url = \"https://kith.example\"\nusername = \"me\"\ndata_dir = \"{}\"\n",
        data.display()
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
        "import: {} posts, {} media files, {} boosts recorded, {} replies linked in {:.1} s ({:.0} items/s); \
         then {:.1} s until the written files were on disk (sync)",
        report.posts,
        report.media,
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
