//! Moving in and out: the synthetic Mastodon archive (`tests/fixtures/mastodon-archive`)
//! imports as a directory, a zip and a tar.gz; damaged archives are refused with the
//! problem named and the database unchanged; archive media are processed like uploads
//! (EXIF gone, turned upright, blurhash and sizes measured) and a file that cannot be
//! stored is reported and left out while its post imports; the profile in
//! `actor.json` fills what is unset, reaches followers, and replaces what is set only
//! with `overwrite_profile`; an export of one kith imports into another with the same
//! posts, media (same pixels, or the same size for re-encoded JPEGs), profile, threads,
//! boosts, follows and blocks;
//! `Move` between kith instances on loopback; backups taken while posts are written
//! restore to a working server; and the command line wires it all up.

use crate::support::Instance;
use kith::db::{self, follows, portability, posts};
use kith::portability::archive::Limits;
use kith::portability::{backup, csv, export, import};
use kith::process::{self, Draft};
use kith::process::{alias, moving};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::Duration;

pub(crate) fn fixture() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/mastodon-archive")
}

fn settle(instances: &[&Instance]) {
    let ctxs: Vec<&kith::Ctx> = instances.iter().map(|i| i.ctx()).collect();
    assert!(
        kith::workers::settle(&ctxs, Duration::from_secs(60)),
        "queues did not drain"
    );
}

/// Import options for tests: no network, no progress lines.
fn offline() -> import::Options {
    import::Options {
        resolve: false,
        progress: false,
        ..import::Options::default()
    }
}

pub(crate) fn footprint(inst: &Instance) -> [i64; 5] {
    inst.read(portability::import_footprint)
}

/// The files under `dir`, relative and `/`-separated, sorted.
pub(crate) fn files_under(dir: &Path) -> Vec<String> {
    let mut out = Vec::new();
    let mut pending = vec![dir.to_path_buf()];
    while let Some(d) = pending.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let e = e.unwrap();
            if e.file_type().unwrap().is_dir() {
                pending.push(e.path());
            } else {
                let rel = e
                    .path()
                    .strip_prefix(dir)
                    .unwrap()
                    .to_string_lossy()
                    .into_owned();
                out.push(rel);
            }
        }
    }
    out.sort();
    out
}

/// Packs a directory as a zip (stored, so its text can be found in the bytes) with
/// extra raw entries (name, bytes, deflated) appended.
pub(crate) fn zip_dir(dir: &Path, dest: &Path, extra: &[(&str, &[u8])]) {
    let mut zip = zip::ZipWriter::new(std::fs::File::create(dest).unwrap());
    let stored =
        zip::write::SimpleFileOptions::default().compression_method(zip::CompressionMethod::Stored);
    for rel in files_under(dir) {
        zip.start_file(rel.as_str(), stored).unwrap();
        zip.write_all(&std::fs::read(dir.join(&rel)).unwrap())
            .unwrap();
    }
    let deflated = zip::write::SimpleFileOptions::default();
    for (name, bytes) in extra {
        zip.start_file(*name, deflated).unwrap();
        zip.write_all(bytes).unwrap();
    }
    zip.finish().unwrap();
}

/// Packs a directory as a tar.gz under a top-level folder, as people repack archives.
fn tar_gz_dir(dir: &Path, dest: &Path) {
    let gz = flate2::write::GzEncoder::new(
        std::fs::File::create(dest).unwrap(),
        flate2::Compression::fast(),
    );
    let mut tar = tar::Builder::new(gz);
    tar.append_dir_all("archive-20240101", dir).unwrap();
    tar.into_inner().unwrap().finish().unwrap();
}

fn own_posts(inst: &Instance) -> Vec<posts::Post> {
    inst.read(|c| portability::list_own_posts_after(c, 0, 10_000))
}

fn media_dir(inst: &Instance) -> PathBuf {
    inst.ctx().config.data_dir.join("media")
}

/// The media rows attached to a post, in order, with their files' bytes.
fn media_of(inst: &Instance, post_id: i64) -> Vec<(db::media::Media, Vec<u8>)> {
    let list = inst.read(|c| posts::list_attachments(c, post_id));
    list.iter()
        .map(|a| {
            let m = inst.read(|c| db::media::get(c, a.media_id.expect("a local file")));
            let bytes = std::fs::read(media_dir(inst).join(&m.file_name)).unwrap();
            (m, bytes)
        })
        .collect()
}

/// The decoded pixels of an image file.
fn pixels(bytes: &[u8]) -> image::RgbaImage {
    image::load_from_memory(bytes).unwrap().into_rgba8()
}

/// Whether a file carries an EXIF block.
fn has_exif(bytes: &[u8]) -> bool {
    bytes.windows(6).any(|w| w == b"Exif\0\0") || bytes.windows(2).any(|w| w == [0xFF, 0xE1])
}

fn fixture_file(rel: &str) -> Vec<u8> {
    std::fs::read(fixture().join(rel)).unwrap()
}

const PNG_IN_ARCHIVE: &str = "media_attachments/files/109/301/000/original/5f1c2a.png";
const JPEG_IN_ARCHIVE: &str = "media_attachments/files/109/301/000/original/9a7b3c.jpg";

/// Checks the fixture's JPEG as stored: upright (32×64, the red corner top-right),
/// without EXIF or its comment, with a thumbnail, a blurhash and its sizes.
fn assert_processed_jpeg(inst: &Instance, m: &db::media::Media, bytes: &[u8]) {
    assert!(
        has_exif(&fixture_file(JPEG_IN_ARCHIVE)),
        "the fixture has EXIF"
    );
    assert_eq!(m.media_type, "image/jpeg");
    assert!(m.file_name.ends_with(".jpg"));
    assert!(!has_exif(bytes), "EXIF (with the GPS position) survived");
    assert!(
        !bytes.windows(12).any(|w| w == b"secret place"),
        "the comment survived"
    );
    let img = pixels(bytes);
    assert_eq!(img.dimensions(), (32, 64), "orientation 6 applied");
    let red = |p: &image::Rgba<u8>| p[0] > 200 && p[2] < 80;
    assert!(red(img.get_pixel(28, 4)), "the red corner is top-right");
    assert!(!red(img.get_pixel(4, 4)));
    assert_eq!(
        (m.width, m.height),
        (Some(32), Some(64)),
        "measured, not the archive's 64×32"
    );
    assert!(m.blurhash.as_deref().is_some_and(|b| b.len() >= 6), "{m:?}");
    let thumb = m.thumb_name.as_deref().expect("a thumbnail");
    assert!(!has_exif(
        &std::fs::read(media_dir(inst).join(thumb)).unwrap()
    ));
    let entity = inst.read(|c| kith::mastodon::media::attachment_json(inst.ctx(), c, m.id));
    assert_eq!(entity["type"], "image");
    assert_eq!(entity["meta"]["original"]["width"], 32);
    assert_eq!(entity["meta"]["original"]["height"], 64);
    assert_eq!(entity["meta"]["small"]["height"], 64);
    assert_eq!(entity["blurhash"], m.blurhash.clone().unwrap());
    assert!(entity["preview_url"].as_str().unwrap().ends_with(thumb));
}

/// The text of some HTML, tags left out (the sanitiser may add link attributes).
fn plain(html: &str) -> String {
    let mut out = String::new();
    let mut in_tag = false;
    for c in html.chars() {
        match c {
            '<' => in_tag = true,
            '>' => in_tag = false,
            c if !in_tag => out.push(c),
            _ => {}
        }
    }
    out
}

#[test]
fn the_synthetic_mastodon_archive_imports() {
    let a = Instance::start("alice", "");
    let report = import::import_archive(a.ctx(), &fixture(), &offline()).unwrap();
    assert_eq!(report.items, 7);
    assert_eq!(report.posts, 6, "{report:?}");
    assert_eq!(report.media, 2);
    assert_eq!((report.media_missing, report.media_failed), (0, 0));
    assert!(report.problems.is_empty(), "{:?}", report.problems);
    assert_eq!(report.refs_new, 3, "a boost, a like and a bookmark");
    assert_eq!(report.refs_open, 3);
    assert_eq!(report.replies_linked, 1);

    let posts = own_posts(&a);
    assert_eq!(posts.len(), 6);
    let by_text = |needle: &str| {
        posts
            .iter()
            .find(|p| p.content_html.contains(needle))
            .unwrap_or_else(|| panic!("no post with {needle:?}"))
            .clone()
    };
    let hello = by_text("Hello from my old home");
    assert_eq!(hello.visibility, "public");
    assert_eq!(
        hello.published_at,
        kith::dates::parse_rfc3339("2022-11-05T09:12:40Z").unwrap()
    );
    assert_eq!(
        kith::ids::millis(hello.id),
        hello.published_at,
        "ids keep their place in time"
    );
    assert!(
        hello.uri.starts_with(&a.actor()),
        "new ids on kith: {}",
        hello.uri
    );
    assert_eq!(
        a.read(|c| posts::list_tags(c, hello.id)),
        vec!["introduction"]
    );
    assert_eq!(
        a.read(|c| posts::list_mentions(c, hello.id))[0].actor_uri,
        "https://other.example/users/bob"
    );
    // The PNG is re-encoded like an upload: the same pixels, kith's own blurhash and
    // thumbnail, the archive's description and focal point.
    let hello_media = media_of(&a, hello.id);
    assert_eq!(hello_media.len(), 1);
    let (png, png_bytes) = &hello_media[0];
    assert_eq!(pixels(png_bytes), pixels(&fixture_file(PNG_IN_ARCHIVE)));
    assert_eq!(png.media_type, "image/png");
    assert_eq!((png.width, png.height), (Some(1), Some(1)));
    assert_eq!(png.description, "A green pixel");
    assert_eq!((png.focus_x, png.focus_y), (Some(0.0), Some(0.0)));
    assert!(png.thumb_name.is_some());
    assert_ne!(
        png.blurhash.as_deref(),
        Some("U00000fQfQfQfQfQfQfQfQfQfQfQfQfQfQfQ"),
        "computed, not taken from the archive"
    );
    let alt = a.read(|c| posts::list_attachments(c, hello.id));
    assert_eq!(alt[0].description, "A green pixel");
    assert_eq!(alt[0].media_type, "image/png");
    assert_eq!(alt[0].blurhash, png.blurhash);

    let reply = by_text("thread");
    assert_eq!(reply.visibility, "unlisted");
    assert_eq!(
        reply.in_reply_to_uri.as_deref(),
        Some(hello.uri.as_str()),
        "thread kept"
    );
    let reply_media = media_of(&a, reply.id);
    assert_eq!(reply_media.len(), 1);
    assert_processed_jpeg(&a, &reply_media[0].0, &reply_media[0].1);
    assert_eq!(by_text("Only for my followers").visibility, "private");
    let secret = by_text("a secret");
    assert_eq!(secret.visibility, "direct");
    assert_eq!(secret.spoiler_text, "spoilers");
    assert!(secret.sensitive);
    assert!(!secret.content_html.contains("script"), "sanitised");
    assert_eq!(
        by_text("I agree").in_reply_to_uri.as_deref(),
        Some("https://other.example/users/bob/statuses/98"),
        "replies to others keep their link"
    );
    let poll = by_text("Tea or coffee");
    assert!(poll.edited_at.is_some());
    let options = a.read(|c| posts::find_poll(c, poll.id)).unwrap().options;
    assert_eq!(
        options,
        vec![("Tea".to_string(), 2), ("Coffee".to_string(), 1)]
    );

    // Imported posts are delivered to no one and notify no one.
    let queued = a.read(kith::db::deliveries::list_pending);
    assert!(queued.is_empty(), "{queued:?}");
    assert!(
        a.read(|c| kith::db::notifications::list(c, None, None, None, 10))
            .is_empty()
    );

    // The profile: the account had none, so all of it comes from the archive.
    assert_eq!(
        report.profile_set,
        ["display name", "bio", "fields", "avatar", "header"]
    );
    assert!(report.profile_kept.is_empty());
    // Two images with their thumbnails, the avatar and the header.
    assert_eq!(files_under(&media_dir(&a)).len(), 6);

    // Twice: nothing new.
    let before = footprint(&a);
    let account_before = a.read(db::account::get);
    let again = import::import_archive(a.ctx(), &fixture(), &offline()).unwrap();
    assert_eq!((again.posts, again.already, again.refs_new), (0, 6, 0));
    assert!(again.profile_set.is_empty() && again.profile_kept.is_empty());
    assert_eq!(footprint(&a), before);
    assert_eq!(
        a.read(db::account::get).updated_at,
        account_before.updated_at
    );
    assert_eq!(
        files_under(&media_dir(&a)).len(),
        6,
        "no second copy of the media"
    );
}

#[test]
fn archive_media_are_processed_like_uploads_and_bad_files_are_left_out() {
    let a = Instance::start("alice", "");
    let dir = tempfile::tempdir().unwrap();
    let archive = dir.path().join("archive");
    copy_dir(&fixture(), &archive);
    // The first post's PNG is corrupt; the followers-only post gets a video with a
    // place in its metadata, and an attachment whose file is not in the archive.
    std::fs::write(
        archive.join(PNG_IN_ARCHIVE),
        b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR but nothing after",
    )
    .unwrap();
    let clip =
        std::fs::read(Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/media/clip.mp4"))
            .unwrap();
    std::fs::write(archive.join("media_attachments/files/clip.mp4"), &clip).unwrap();
    let mut outbox: serde_json::Value =
        serde_json::from_slice(&std::fs::read(archive.join("outbox.json")).unwrap()).unwrap();
    let followers_only = outbox["orderedItems"]
        .as_array_mut()
        .unwrap()
        .iter_mut()
        .find(|i| {
            i["object"]["content"]
                .as_str()
                .is_some_and(|c| c.contains("Only for my followers"))
        })
        .unwrap();
    followers_only["object"]["attachment"] = serde_json::json!([
        {"type": "Document", "mediaType": "video/mp4", "url": "media_attachments/files/clip.mp4",
         "name": "A short clip", "width": 640, "height": 360, "blurhash": "UBL_:rOpGG-oBUNG,qRj2so|=eE1w^n4S5NH"},
        {"type": "Document", "mediaType": "image/png", "url": "media_attachments/files/gone.png", "name": "lost"},
    ]);
    std::fs::write(
        archive.join("outbox.json"),
        serde_json::to_vec(&outbox).unwrap(),
    )
    .unwrap();

    let report = import::import_archive(a.ctx(), &archive, &offline()).unwrap();
    assert_eq!(report.posts, 6, "every post imports: {report:?}");
    assert_eq!(
        (report.media, report.media_failed, report.media_missing),
        (2, 1, 1)
    );
    assert_eq!(report.problems.len(), 2, "{:?}", report.problems);
    let corrupt = report
        .problems
        .iter()
        .find(|p| p.contains("5f1c2a.png"))
        .expect("the corrupt file is named");
    assert!(
        corrupt.contains("https://mastodon.example/users/alice/statuses/109000000000000001"),
        "and its post: {corrupt}"
    );
    assert!(corrupt.contains("imported without it"), "{corrupt}");
    assert!(
        report
            .problems
            .iter()
            .any(|p| p.contains("gone.png") && p.contains("not in the archive"))
    );
    let summary = report.summary();
    assert!(summary.contains("1 that could not be stored"), "{summary}");
    assert!(summary.contains(corrupt.as_str()), "{summary}");

    let posts = own_posts(&a);
    let with = |needle: &str| {
        posts
            .iter()
            .find(|p| p.content_html.contains(needle))
            .unwrap()
            .id
    };
    // The post of the corrupt image is there, without it.
    assert!(media_of(&a, with("Hello from my old home")).is_empty());
    // The JPEG, processed like an upload.
    let reply = media_of(&a, with("thread"));
    assert_processed_jpeg(&a, &reply[0].0, &reply[0].1);
    // The video: streamed to disk with its metadata boxes blanked, same length; its
    // size and blurhash, which kith does not measure for video, from the archive.
    let video = media_of(&a, with("Only for my followers"));
    assert_eq!(video.len(), 1);
    let (m, bytes) = &video[0];
    assert_eq!(
        (m.media_type.as_str(), m.kind.as_str()),
        ("video/mp4", "video")
    );
    assert_eq!(m.description, "A short clip");
    assert_eq!(bytes.len(), clip.len());
    assert!(clip.windows(8).any(|w| w == b"+48.8577"));
    assert!(
        !bytes.windows(8).any(|w| w == b"+48.8577"),
        "the place survived"
    );
    assert!(!bytes.windows(4).any(|w| w == b"udta"));
    assert_eq!((m.width, m.height), (Some(640), Some(360)));
    assert!(m.thumb_name.is_none());
    // The video, the JPEG and its thumbnail, the avatar and the header; nothing else.
    let files = files_under(&media_dir(&a));
    assert_eq!(files.len(), 5, "{files:?}");
    assert!(files.iter().all(|f| !f.starts_with(".tmp")));
}

#[test]
fn the_archive_profile_fills_what_is_unset_and_reaches_followers() {
    let a = Instance::start("alice", "");
    let carol = Instance::start("carol", "");
    process::follow(carol.ctx(), &a.actor()).unwrap();
    settle(&[&a, &carol]);
    // The person named the kith account already; the rest is unset.
    let mine = "Alice on kith";
    let account = a.read(db::account::get);
    a.ctx()
        .db
        .write(|tx| {
            db::account::update_profile(
                tx,
                &db::account::Profile {
                    display_name: mine.into(),
                    fields_json: account.fields_json.clone(),
                    discoverable: account.discoverable,
                    ..db::account::Profile::default()
                },
                1,
            )
        })
        .unwrap();

    let report = import::import_archive(a.ctx(), &fixture(), &offline()).unwrap();
    assert_eq!(report.profile_kept, ["display name"]);
    assert_eq!(report.profile_set, ["bio", "fields", "avatar", "header"]);
    assert!(
        report.summary().contains("--overwrite-profile"),
        "{}",
        report.summary()
    );
    let account = a.read(db::account::get);
    assert_eq!(account.display_name, mine, "what the person set is kept");
    assert!(
        account.note_html.contains("Moving house."),
        "{}",
        account.note_html
    );
    assert!(
        !account.note_html.contains("script"),
        "sanitised: {}",
        account.note_html
    );
    assert!(
        account
            .note_html
            .contains("href=\"https://mastodon.example/tags/newhome\"")
    );
    assert_eq!(account.note_source, "Moving house. Say hi at #newhome");
    let fields: Vec<serde_json::Value> = serde_json::from_str(&account.fields_json).unwrap();
    assert_eq!(fields.len(), 2);
    assert_eq!(fields[0]["name"], "Website");
    assert_eq!(fields[0]["value"], "https://alice.example");
    assert!(
        fields[0]["value_html"]
            .as_str()
            .unwrap()
            .contains("href=\"https://alice.example\"")
    );
    assert_eq!(
        (&fields[1]["name"], &fields[1]["value"]),
        (&"Pronouns".into(), &"she/her".into())
    );
    // The avatar and header, processed like uploaded ones.
    let image_of = |name: &Option<String>| {
        let name = name.as_deref().expect("set");
        pixels(&std::fs::read(media_dir(&a).join(name)).unwrap())
    };
    // An opaque profile picture becomes a JPEG, as an uploaded one does.
    assert!(account.avatar_path.as_deref().unwrap().ends_with(".jpg"));
    let (avatar, original) = (
        image_of(&account.avatar_path),
        pixels(&fixture_file("avatar.png")),
    );
    assert_eq!(avatar.dimensions(), (1, 1));
    let near = |x: u8, y: u8| x.abs_diff(y) <= 4;
    let (p, q) = (avatar.get_pixel(0, 0), original.get_pixel(0, 0));
    assert!((0..3).all(|i| near(p[i], q[i])), "{p:?} is not {q:?}");
    assert_eq!(image_of(&account.header_path).dimensions(), (120, 40));

    // Followers hear of it with Update(Person).
    settle(&[&a, &carol]);
    let seen = carol.remote(&a);
    assert_eq!(seen.display_name, mine);
    assert!(
        seen.note_html.contains("Moving house."),
        "{}",
        seen.note_html
    );
    assert!(
        seen.fields_json.contains("Pronouns"),
        "{}",
        seen.fields_json
    );
    let avatar_name = account.avatar_path.clone().unwrap();
    assert!(
        seen.avatar_url
            .as_deref()
            .is_some_and(|u| u.ends_with(&avatar_name)),
        "{:?}",
        seen.avatar_url
    );

    // Twice: nothing changes and nothing is sent.
    let files = files_under(&media_dir(&a));
    let again = import::import_archive(a.ctx(), &fixture(), &offline()).unwrap();
    assert!(again.profile_set.is_empty());
    assert_eq!(again.profile_kept, ["display name"]);
    assert_eq!(a.read(db::account::get).updated_at, account.updated_at);
    assert!(a.read(kith::db::deliveries::list_pending).is_empty());
    assert_eq!(files_under(&media_dir(&a)), files);

    // Asked to, the import replaces what the person set; twice changes nothing more.
    let overwrite = import::Options {
        overwrite_profile: true,
        ..offline()
    };
    let replaced = import::import_archive(a.ctx(), &fixture(), &overwrite).unwrap();
    assert_eq!(replaced.profile_set, ["display name"]);
    assert!(replaced.profile_kept.is_empty());
    let account = a.read(db::account::get);
    assert_eq!(account.display_name, "Alice");
    assert_eq!(
        account.avatar_path.as_deref(),
        Some(avatar_name.as_str()),
        "same picture, same file"
    );
    settle(&[&a, &carol]);
    assert_eq!(carol.remote(&a).display_name, "Alice");
    let twice = import::import_archive(a.ctx(), &fixture(), &overwrite).unwrap();
    assert!(twice.profile_set.is_empty() && twice.profile_kept.is_empty());
    assert_eq!(a.read(db::account::get).updated_at, account.updated_at);
    assert!(a.read(kith::db::deliveries::list_pending).is_empty());
    assert_eq!(files_under(&media_dir(&a)), files);
}

#[test]
fn zip_and_tar_gz_archives_import_like_the_directory() {
    let dir = tempfile::tempdir().unwrap();
    let zip = dir.path().join("archive.zip");
    zip_dir(&fixture(), &zip, &[]);
    let tgz = dir.path().join("archive.tar.gz");
    tar_gz_dir(&fixture(), &tgz);
    for packed in [&zip, &tgz] {
        let a = Instance::start("alice", "");
        let report = import::import_archive(a.ctx(), packed, &offline()).unwrap();
        assert_eq!((report.posts, report.media), (6, 2), "{}", packed.display());
        let data = &a.ctx().config.data_dir;
        let staging: Vec<_> = std::fs::read_dir(data)
            .unwrap()
            .filter_map(|e| e.ok())
            .filter(|e| e.file_name().to_string_lossy().starts_with("import-"))
            .collect();
        assert!(staging.is_empty(), "the staging directory is removed");
        assert_eq!(
            import::import_archive(a.ctx(), packed, &offline())
                .unwrap()
                .posts,
            0
        );
    }
}

/// Imports `path` and expects a refusal mentioning `needle`, with nothing written.
fn refused(inst: &Instance, path: &Path, opts: &import::Options, needle: &str) {
    let before = footprint(inst);
    let e = import::import_archive(inst.ctx(), path, opts).expect_err("refused");
    let message = e.to_string();
    assert!(message.contains(needle), "{needle:?} not in {message:?}");
    assert_eq!(footprint(inst), before, "the database is unchanged");
    assert!(
        !media_dir(inst).exists() || files_under(&media_dir(inst)).is_empty(),
        "no media left behind"
    );
    let data = &inst.ctx().config.data_dir;
    assert!(
        std::fs::read_dir(data).unwrap().all(|e| !e
            .unwrap()
            .file_name()
            .to_string_lossy()
            .starts_with("import-")),
        "staging removed"
    );
}

/// Holds the import lock as a running import does, until the file is dropped.
pub(crate) fn hold_import_lock(inst: &Instance) -> std::fs::File {
    let file = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(inst.ctx().config.data_dir.join("import.lock"))
        .unwrap();
    file.try_lock().unwrap();
    file
}

#[test]
fn one_import_at_a_time() {
    let a = Instance::start("alice", "");
    // Another import (here, one holding the lock file as a second process would).
    let other = hold_import_lock(&a);
    refused(&a, &fixture(), &offline(), "Another import is running");
    let e = import::import_archive(a.ctx(), &fixture(), &offline()).unwrap_err();
    assert_eq!(e.status(), 409);
    drop(other);
    let report = import::import_archive(a.ctx(), &fixture(), &offline()).unwrap();
    assert_eq!(report.posts, 6, "{}", report.summary());
    // Its lock ended with it: a second import runs (and finds nothing new).
    let again = import::import_archive(a.ctx(), &fixture(), &offline()).unwrap();
    assert_eq!(again.posts, 0, "{}", again.summary());
}

#[test]
fn damaged_archives_are_refused_and_change_nothing() {
    let a = Instance::start("alice", "");
    let dir = tempfile::tempdir().unwrap();

    // A truncated zip.
    let zip = dir.path().join("whole.zip");
    zip_dir(&fixture(), &zip, &[]);
    let bytes = std::fs::read(&zip).unwrap();
    let truncated = dir.path().join("truncated.zip");
    std::fs::write(&truncated, &bytes[..bytes.len() * 2 / 3]).unwrap();
    refused(&a, &truncated, &offline(), "damaged");

    // A corrupt entry inside an intact zip: the checksum catches it before any write.
    let mut flipped = bytes.clone();
    let at = flipped
        .windows(10)
        .position(|w| w == b"Hello from")
        .expect("stored text");
    flipped[at] = b'J';
    let corrupt = dir.path().join("corrupt.zip");
    std::fs::write(&corrupt, &flipped).unwrap();
    refused(&a, &corrupt, &offline(), "damaged");

    // Invalid JSON in outbox.json (a copy of the fixture, cut short).
    let broken = dir.path().join("broken");
    copy_dir(&fixture(), &broken);
    let outbox = std::fs::read(broken.join("outbox.json")).unwrap();
    std::fs::write(broken.join("outbox.json"), &outbox[..outbox.len() / 2]).unwrap();
    refused(&a, &broken, &offline(), "outbox.json is not valid JSON");

    // A path with `..`, in a zip and in a tar.gz.
    let dotdot = dir.path().join("dotdot.zip");
    zip_dir(
        &fixture(),
        &dotdot,
        &[("media_attachments/../../evil.png", b"x")],
    );
    refused(&a, &dotdot, &offline(), "contains ..");
    let dotdot_tgz = dir.path().join("dotdot.tar.gz");
    write_raw_tar_gz(&dotdot_tgz, "../outbox.json", b"{}");
    refused(&a, &dotdot_tgz, &offline(), "contains ..");

    // An absolute path.
    let absolute = dir.path().join("absolute.zip");
    zip_dir(&fixture(), &absolute, &[("/etc/kith.png", b"x")]);
    refused(&a, &absolute, &offline(), "absolute");

    // An oversized file.
    let small = import::Options {
        limits: Limits {
            max_file_bytes: 20,
            ..Limits::default()
        },
        ..offline()
    };
    refused(&a, &fixture(), &small, "more than the 20 allowed");
    refused(&a, &zip, &small, "more than the 20 allowed");

    // A zip bomb: one entry that inflates a million-fold.
    let bomb = dir.path().join("bomb.zip");
    let zeros = vec![0u8; 8 << 20];
    zip_dir(
        &fixture(),
        &bomb,
        &[("media_attachments/files/zeros.png", &zeros)],
    );
    refused(&a, &bomb, &offline(), "zip bomb");

    // A link inside an unpacked archive.
    #[cfg(unix)]
    {
        let linked = dir.path().join("linked");
        copy_dir(&fixture(), &linked);
        std::os::unix::fs::symlink("/etc/passwd", linked.join("media_attachments/x.png")).unwrap();
        refused(&a, &linked, &offline(), "link");
    }

    // Not an archive at all.
    let text = dir.path().join("notes.txt");
    std::fs::write(&text, "hello").unwrap();
    refused(&a, &text, &offline(), "not a zip, a tar.gz or a directory");

    // After all that, the real archive still imports.
    assert_eq!(
        import::import_archive(a.ctx(), &fixture(), &offline())
            .unwrap()
            .posts,
        6
    );
}

pub(crate) fn copy_dir(from: &Path, to: &Path) {
    for rel in files_under(from) {
        let target = to.join(&rel);
        std::fs::create_dir_all(target.parent().unwrap()).unwrap();
        std::fs::copy(from.join(&rel), target).unwrap();
    }
}

/// A tar.gz with one entry whose name is written raw (the tar crate refuses `..`).
fn write_raw_tar_gz(dest: &Path, name: &str, body: &[u8]) {
    let mut header = tar::Header::new_gnu();
    header.as_gnu_mut().unwrap().name[..name.len()].copy_from_slice(name.as_bytes());
    header.set_size(body.len() as u64);
    header.set_mode(0o644);
    header.set_entry_type(tar::EntryType::Regular);
    header.set_cksum();
    let gz = flate2::write::GzEncoder::new(
        std::fs::File::create(dest).unwrap(),
        flate2::Compression::fast(),
    );
    let mut tar = tar::Builder::new(gz);
    tar.append(&header, body).unwrap();
    tar.into_inner().unwrap().finish().unwrap();
}

/// Media of a post and of its imported copy: the same number, types, sizes,
/// descriptions and focal points; the same pixels for PNG (lossless), the same size
/// for JPEG (re-encoded, so not the same bytes), and no EXIF in the copy.
fn assert_same_media(a: &Instance, a_post: i64, b: &Instance, b_post: i64) {
    let (from, to) = (media_of(a, a_post), media_of(b, b_post));
    assert_eq!(from.len(), to.len(), "attachments");
    for ((ma, fa), (mb, fb)) in from.iter().zip(&to) {
        assert_eq!(mb.media_type, ma.media_type);
        assert_eq!((mb.width, mb.height), (ma.width, ma.height));
        assert_eq!(mb.description, ma.description);
        assert_eq!((mb.focus_x, mb.focus_y), (ma.focus_x, ma.focus_y));
        assert!(mb.blurhash.is_some() && mb.thumb_name.is_some());
        assert!(!has_exif(fb));
        let (pa, pb) = (pixels(fa), pixels(fb));
        assert_eq!(pa.dimensions(), pb.dimensions());
        if ma.media_type == "image/png" {
            assert_eq!(pa, pb, "a PNG keeps its pixels");
        }
    }
}

fn draft(text: &str, visibility: &str) -> Draft {
    Draft {
        text: text.into(),
        visibility: visibility.into(),
        ..Draft::default()
    }
}

#[test]
fn an_export_imports_into_another_kith_with_nothing_lost() {
    let a = Instance::start("alice", "");
    let b = Instance::start("bob", "");
    let carol = Instance::start("carol", "");
    let dave = Instance::start("dave", "");
    // a's history: the Mastodon archive, then posts made here.
    import::import_archive(a.ctx(), &fixture(), &offline()).unwrap();
    process::follow(a.ctx(), &carol.actor()).unwrap();
    process::follow(carol.ctx(), &a.actor()).unwrap();
    settle(&[&a, &carol]);
    let first = process::create_post(a.ctx(), &draft("kith post #one", "public")).unwrap();
    let reply = process::create_post(
        a.ctx(),
        &Draft {
            in_reply_to_id: Some(first.id),
            ..draft("and a reply", "private")
        },
    )
    .unwrap();
    let carols = process::create_post(carol.ctx(), &draft("carol says hi", "public")).unwrap();
    settle(&[&a, &carol]);
    let carols_at_a = a.read(|c| posts::find_by_uri(c, &carols.uri)).unwrap();
    process::boost(a.ctx(), carols_at_a.id).unwrap();
    process::like(a.ctx(), carols_at_a.id).unwrap();
    a.ctx()
        .db
        .write(|tx| posts::set_bookmarked(tx, carols_at_a.id, true, 1))
        .unwrap();
    let dave_at_a = kith::ap::resolve::actor(a.ctx(), &dave.actor()).unwrap();
    process::block(a.ctx(), dave_at_a.id).unwrap();
    settle(&[&a, &carol, &dave]);

    // Export to a directory and to a zip.
    let out = tempfile::tempdir().unwrap();
    let dir = out.path().join("export");
    let done = export::export(a.ctx(), &dir, false).unwrap();
    assert_eq!(done.posts, 9, "6 imported, 2 new, 1 boost: {done:?}");
    assert_eq!((done.media, done.likes, done.bookmarks), (2, 1, 1));
    for name in [
        "outbox.json",
        "actor.json",
        "likes.json",
        "bookmarks.json",
        "following_accounts.csv",
        "followers.csv",
        "blocked_accounts.csv",
        "muted_accounts.csv",
        "blocked_domains.csv",
        "bookmarks.csv",
        "lists.csv",
    ] {
        assert!(dir.join(name).is_file(), "{name}");
    }
    let following = std::fs::read_to_string(dir.join("following_accounts.csv")).unwrap();
    assert!(following.starts_with("Account address,Show boosts,Notify on new posts,Languages\n"));
    assert!(
        following.contains(&format!("carol@localhost:{}", carol.port)),
        "{following}"
    );
    let outbox: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.join("outbox.json")).unwrap()).unwrap();
    assert_eq!(outbox["totalItems"], 9);
    let zip = out.path().join("export.zip");
    export::export(a.ctx(), &zip, false).unwrap();
    assert!(
        export::export(a.ctx(), &zip, false).is_err(),
        "an existing file is kept"
    );

    // Import the zip into b, with the network: carol's boosted post is fetched.
    let opts = import::Options {
        progress: false,
        ..import::Options::default()
    };
    let report = import::import_archive(b.ctx(), &zip, &opts).unwrap();
    assert_eq!(report.posts, 8, "{report:?}");
    assert_eq!(
        report.refs_open, 0,
        "boost, like and bookmark resolved: {report:?}"
    );
    let a_posts: Vec<posts::Post> = own_posts(&a);
    let b_posts: Vec<posts::Post> = own_posts(&b);
    assert_eq!(a_posts.len(), b_posts.len());
    let a_notes: Vec<&posts::Post> = a_posts
        .iter()
        .filter(|p| p.reblog_of_id.is_none())
        .collect();
    for original in &a_notes {
        let copy = b_posts
            .iter()
            .find(|p| {
                p.reblog_of_id.is_none() && plain(&p.content_html) == plain(&original.content_html)
            })
            .unwrap_or_else(|| panic!("b lacks {}", original.content_html));
        assert_eq!(
            copy.published_at / 1000,
            original.published_at / 1000,
            "dates"
        );
        assert_eq!(copy.visibility, original.visibility);
        assert_eq!(copy.spoiler_text, original.spoiler_text);
        assert_eq!(copy.sensitive, original.sensitive);
        assert_same_media(&a, original.id, &b, copy.id);
        // Threads: a reply points at b's copy of the parent.
        if let Some(parent_uri) = &original.in_reply_to_uri {
            match a_posts.iter().find(|p| &p.uri == parent_uri) {
                Some(parent) => {
                    let b_parent = b_posts
                        .iter()
                        .find(|p| {
                            p.reblog_of_id.is_none()
                                && plain(&p.content_html) == plain(&parent.content_html)
                        })
                        .unwrap();
                    assert_eq!(copy.in_reply_to_uri.as_deref(), Some(b_parent.uri.as_str()));
                }
                None => assert_eq!(copy.in_reply_to_uri.as_ref(), Some(parent_uri)),
            }
        }
    }
    assert!(a_notes.iter().any(|p| p.id == reply.id));
    let boost = b_posts
        .iter()
        .find(|p| p.reblog_of_id.is_some())
        .expect("the boost");
    let boosted = b.read(|c| posts::get(c, boost.reblog_of_id.unwrap()));
    assert_eq!(boosted.uri, carols.uri, "a boost of the original URL");
    assert_eq!(
        b.read(|c| posts::owner_flags(c, boosted.id)),
        (true, true, true)
    );
    // Imported posts reach no one: carol got nothing from b.
    assert!(b.read(kith::db::deliveries::list_pending).is_empty());
    // The profile came along: b had none of its own.
    let (pa, pb) = (a.read(db::account::get), b.read(db::account::get));
    assert_eq!(pb.display_name, "Alice");
    assert_eq!(pb.display_name, pa.display_name);
    assert_eq!(pb.note_html, pa.note_html);
    assert_eq!(pb.note_source, pa.note_source);
    let fields = |json: &str| serde_json::from_str::<serde_json::Value>(json).unwrap();
    assert_eq!(fields(&pb.fields_json), fields(&pa.fields_json));
    for (ia, ib) in [
        (&pa.avatar_path, &pb.avatar_path),
        (&pa.header_path, &pb.header_path),
    ] {
        let read = |inst: &Instance, name: &Option<String>| {
            std::fs::read(media_dir(inst).join(name.as_deref().expect("set"))).unwrap()
        };
        let (fa, fb) = (read(&a, ia), read(&b, ib));
        assert_eq!(pixels(&fa).dimensions(), pixels(&fb).dimensions());
        if ia.as_deref().is_some_and(|n| n.ends_with(".png")) {
            assert_eq!(pixels(&fa), pixels(&fb), "a PNG keeps its pixels");
        }
    }

    // The follows (as Follows sent) and blocks, from the CSV files.
    let follows_report = csv::import(
        b.ctx(),
        csv::Kind::Following,
        &dir.join("following_accounts.csv"),
        false,
        false,
    )
    .unwrap();
    assert_eq!(
        (follows_report.applied, follows_report.failed.len()),
        (1, 0)
    );
    let blocks_report = csv::import(
        b.ctx(),
        csv::Kind::Blocks,
        &dir.join("blocked_accounts.csv"),
        false,
        false,
    )
    .unwrap();
    assert_eq!(blocks_report.applied, 1, "{blocks_report:?}");
    settle(&[&b, &carol, &dave]);
    let bob_at_carol = carol
        .read(|c| kith::db::actors::find_by_uri(c, &b.actor()))
        .unwrap();
    assert!(
        carol
            .read(|c| follows::find(c, false, bob_at_carol.id))
            .unwrap()
            .accepted,
        "carol received b's Follow"
    );
    let bob_at_dave = dave
        .read(|c| kith::db::actors::find_by_uri(c, &b.actor()))
        .unwrap();
    assert!(
        dave.read(|c| kith::db::blocks::is_blocked_by(c, bob_at_dave.id)),
        "dave got the Block"
    );

    // Importing everything twice changes nothing.
    let before = footprint(&b);
    let again = import::import_archive(b.ctx(), &zip, &opts).unwrap();
    assert_eq!((again.posts, again.refs_new), (0, 0));
    let again_follows = csv::import(
        b.ctx(),
        csv::Kind::Following,
        &dir.join("following_accounts.csv"),
        false,
        false,
    )
    .unwrap();
    assert_eq!(again_follows.unchanged, 1);
    assert_eq!(footprint(&b), before);
    assert!(b.read(kith::db::deliveries::list_pending).is_empty());
}

#[test]
fn csv_overwrite_replaces_and_bad_files_change_nothing() {
    let a = Instance::start("alice", "");
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("blocked_domains.csv");
    std::fs::write(&file, "spam.example\nads.example\n").unwrap();
    let r = csv::import(a.ctx(), csv::Kind::DomainBlocks, &file, false, false).unwrap();
    assert_eq!(r.applied, 2);
    std::fs::write(&file, "#domain\nads.example\nnew.example\n").unwrap();
    let r = csv::import(a.ctx(), csv::Kind::DomainBlocks, &file, true, false).unwrap();
    assert_eq!((r.applied, r.unchanged, r.removed), (1, 1, 1));
    assert_eq!(
        a.read(kith::db::blocks::list_domain_blocks),
        vec!["ads.example".to_string(), "new.example".to_string()]
    );
    std::fs::write(&file, "ok.example\nnot a domain\n").unwrap();
    let e = csv::import(a.ctx(), csv::Kind::DomainBlocks, &file, true, false).unwrap_err();
    assert!(e.to_string().contains("line 2"), "{e}");
    assert_eq!(
        a.read(kith::db::blocks::list_domain_blocks).len(),
        2,
        "unchanged"
    );
}

#[test]
fn moving_between_kith_instances() {
    let old = Instance::start("alice", "");
    let new = Instance::start("bob", "");
    let follower = Instance::start("carol", "");
    let stranger = Instance::start("dave", "");
    process::follow(follower.ctx(), &old.actor()).unwrap();
    settle(&[&old, &follower]);
    assert_eq!(old.read(follows::counts), (1, 0));
    // The follower keeps the old account on a list; the list follows the move.
    let alice_at_carol = follower.remote(&old);
    let list = follower
        .ctx()
        .db
        .write(|tx| {
            let id = db::lists::save(tx, None, "friends", "list", false, 1)?;
            db::lists::set_member(tx, id, alice_at_carol.id, true)?;
            Ok(id)
        })
        .unwrap();

    // Without the alias on the new account, kith refuses to move.
    let e = moving::move_to(old.ctx(), &format!("@bob@localhost:{}", new.port)).unwrap_err();
    assert!(e.to_string().contains("alias"), "{e}");
    assert!(old.read(db::account::get).moved_to.is_none());

    // The new account lists the old one; then the move goes out.
    alias::add(new.ctx(), &old.actor()).unwrap();
    assert_eq!(alias::list(new.ctx()).unwrap(), vec![old.actor()]);
    let actor = crate::support::get(
        &format!("http://127.0.0.1:{}/users/bob", new.port),
        &[("Accept", "application/activity+json")],
    )
    .json();
    assert_eq!(actor["alsoKnownAs"][0], old.actor());
    let moved = moving::move_to(old.ctx(), &format!("@bob@localhost:{}", new.port)).unwrap();
    assert_eq!(moved.target, new.actor());
    settle(&[&old, &new, &follower]);

    // The follower now follows the new account, not the old one.
    let bob_at_carol = follower.remote(&new);
    assert!(
        follower
            .read(|c| follows::find(c, true, bob_at_carol.id))
            .unwrap()
            .accepted
    );
    assert!(
        follower
            .read(|c| follows::find(c, true, alice_at_carol.id))
            .is_none()
    );
    assert!(
        follower
            .read(|c| db::lists::members(c, list))
            .contains(&bob_at_carol.id)
    );
    let kinds: Vec<String> = follower
        .read(|c| kith::db::notifications::list(c, None, None, None, 10))
        .into_iter()
        .map(|n| n.kind)
        .collect();
    assert!(kinds.contains(&"move".to_string()), "{kinds:?}");
    // The new account sees the follow as coming with the move.
    let carol_at_bob = new.remote(&follower);
    let via_move: bool = new.read(|c| {
        Ok(c.query_row(
            "SELECT via_move FROM followers WHERE actor_id = ?1",
            [carol_at_bob.id],
            |r| r.get(0),
        )?)
    });
    assert!(via_move);
    let notice = new.read(|c| kith::db::notifications::list(c, None, None, None, 10));
    assert_eq!(notice[0].kind, "follow");
    assert_eq!(notice[0].extra.as_deref(), Some(old.actor().as_str()));

    // movedTo is shown: the actor document, the client API account, the profile page.
    let doc = crate::support::get(
        &format!("http://127.0.0.1:{}/users/alice", old.port),
        &[("Accept", "application/activity+json")],
    )
    .json();
    assert_eq!(doc["movedTo"], new.actor());
    let account = old.read(|c| kith::mastodon::views::local_account(old.ctx(), c));
    assert_eq!(account["moved"]["uri"], new.actor());
    let page = crate::support::get(&format!("http://127.0.0.1:{}/@alice", old.port), &[]);
    assert!(page.body.contains("has moved to"), "{}", page.body);
    // The follower's copy of the old actor knows it moved (from the Update).
    assert_eq!(
        follower.remote(&old).moved_to.as_deref(),
        Some(new.actor().as_str())
    );

    // A Move without the alias is ignored: the old account "moves" to a stranger.
    process::follow(follower.ctx(), &old.actor()).unwrap();
    settle(&[&old, &follower]);
    let dave_at_alice = kith::ap::resolve::actor(old.ctx(), &stranger.actor()).unwrap();
    let carol_at_alice = old.remote(&follower);
    let ctx = old.ctx();
    ctx.db
        .write(|tx| {
            let activity = kith::ap::outbox::build_move(
                &ctx.config,
                &process::activity_id(ctx, "moves"),
                &dave_at_alice.uri,
            );
            process::queue(
                tx,
                &activity,
                std::slice::from_ref(&carol_at_alice.inbox),
                false,
                db::now_ms(),
            )
        })
        .unwrap();
    ctx.wake.delivery();
    settle(&[&old, &follower, &stranger]);
    assert!(
        follower
            .read(|c| kith::db::actors::find_by_uri(c, &stranger.actor()))
            .is_none_or(|d| follower.read(|c| follows::find(c, true, d.id)).is_none())
    );
    assert!(
        follower
            .read(|c| follows::find(c, true, alice_at_carol.id))
            .is_some()
    );
    assert_eq!(stranger.read(follows::counts), (0, 0));
}

#[test]
fn a_backup_taken_while_posting_restores_to_a_working_server() {
    let a = Instance::start("alice", "");
    let out = tempfile::tempdir().unwrap();
    let snapshot = out.path().join("kith-backup.sqlite3");
    let ctx = a.server.as_ref().unwrap().ctx().clone();
    let writer = std::thread::spawn(move || {
        for n in 0..150 {
            process::create_post(&ctx, &draft(&format!("post {n}"), "public")).unwrap();
        }
    });
    // Take backups while the writer runs; keep the last one.
    let mut taken = 0;
    while !writer.is_finished() || taken == 0 {
        let path = out.path().join(format!("b{taken}.sqlite3"));
        backup::backup(&a.ctx().config, &path, None).unwrap();
        std::fs::rename(&path, &snapshot).unwrap();
        taken += 1;
    }
    writer.join().unwrap();
    let media = out.path().join("media.tar");
    backup::backup(
        &a.ctx().config,
        &out.path().join("final.sqlite3"),
        Some(&media),
    )
    .unwrap();
    assert!(
        backup::backup(&a.ctx().config, &snapshot, None).is_err(),
        "no overwriting"
    );
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&snapshot).unwrap().permissions().mode();
        assert_eq!(mode & 0o077, 0, "the key is in there: owner only");
    }
    let info = portability::inspect_snapshot(&snapshot).unwrap();
    assert_eq!(info.integrity, "ok");

    // Restoring under a running server is refused.
    let e = backup::restore(&a.ctx().config, &snapshot, None).unwrap_err();
    assert!(e.to_string().contains("stop it"), "{e}");

    // Restore into a fresh data directory and start a server there.
    let port = crate::support::free_port();
    let data = tempfile::tempdir().unwrap();
    let text = format!(
        "public_url = \"http://localhost:{port}\"\nusername = \"alice\"\nlisten = \"127.0.0.1:{port}\"\n\
         data_dir = \"{}\"\n[federation]\nallow_private_addresses = true\n",
        data.path().join("data").display()
    );
    let config = kith::config::Config::parse(&text).unwrap();
    let restored = backup::restore(&config, &snapshot, Some(&media)).unwrap();
    assert_eq!(restored.posts, info.posts);
    assert!(restored.posts > 0, "some posts were in the snapshot");
    let server = kith::start(config).unwrap();
    assert!(
        server.first_run_password.is_none(),
        "the account came from the backup"
    );
    let health = crate::support::get(&format!("http://127.0.0.1:{port}/health"), &[]);
    assert_eq!(health.status, 200);
    let count = server.ctx().db.read(posts::count_local).unwrap();
    assert_eq!(count, info.posts);
    let key_a = a.read(db::account::get).public_key_pem;
    assert_eq!(
        server
            .ctx()
            .db
            .read(db::account::get)
            .unwrap()
            .public_key_pem,
        key_a,
        "the same key"
    );
    process::create_post(server.ctx(), &draft("after the restore", "public")).unwrap();
    server.shutdown();

    // A file that is not a backup is refused.
    let junk = out.path().join("junk");
    std::fs::write(&junk, "not sqlite").unwrap();
    let other = kith::config::Config::parse(&text.replace("data\"", "data2\"")).unwrap();
    assert!(
        backup::restore(&other, &junk, None)
            .unwrap_err()
            .to_string()
            .contains("not a kith backup")
    );
}

#[test]
fn the_command_line_moves_in_and_out() {
    let mut server = crate::support::TestServer::start("");
    let dir = server.dir.path().to_path_buf();
    let out = server.command(
        &[
            "import",
            "mastodon-archive",
            fixture().to_str().unwrap(),
            "--no-fetch",
        ],
        None,
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert!(stderr.contains("import: posts: 7/7 (100%)"), "{stderr}");
    assert!(stderr.contains("Imported 6 posts"), "{stderr}");
    assert!(
        stderr.contains("Profile: set display name, bio, fields, avatar, header from the archive."),
        "{stderr}"
    );
    let out = server.command(
        &[
            "import",
            "mastodon-archive",
            fixture().to_str().unwrap(),
            "--no-fetch",
            "--overwrite-profile",
        ],
        None,
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert!(stderr.contains("Imported 0 posts"), "{stderr}");
    assert!(
        !stderr.contains("Profile:"),
        "the same profile again: {stderr}"
    );

    let export_dir = dir.join("out");
    let out = server.command(&["export", export_dir.to_str().unwrap()], None);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(export_dir.join("outbox.json").is_file());

    let out = server.command(&["alias", "list"], None);
    assert!(out.status.success());
    assert!(out.stdout.is_empty());

    let backup_file = dir.join("backup.sqlite3");
    let out = server.command(
        &[
            "backup",
            backup_file.to_str().unwrap(),
            "--media",
            dir.join("m.tar").to_str().unwrap(),
        ],
        None,
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let out = server.command(&["restore", backup_file.to_str().unwrap()], None);
    assert!(!out.status.success(), "refused while serving");
    assert!(String::from_utf8_lossy(&out.stderr).contains("stop it"));
    assert_eq!(server.stop(), 0);
    let out = server.command(&["restore", backup_file.to_str().unwrap()], None);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    server.spawn().expect("starts after the restore");

    let out = server.command(&["import", "csv", "--type", "nope", "x.csv"], None);
    assert_eq!(out.status.code(), Some(2));
    let out = server.command(&["move", "@bob@localhost:1"], None);
    assert!(!out.status.success());
}
