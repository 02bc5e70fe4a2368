//! Media and backups in an S3-compatible bucket, against a real S3 server on a
//! loopback port (`s3s-fs`, which checks every signature): uploads, thumbnails and
//! deletes in the bucket; files served by redirect to presigned or public URLs, or
//! passed on by kith with byte ranges; a 150 MB video sent in parts within the upload
//! memory bound; wrong keys, a missing bucket and an unreachable endpoint refused at
//! start with the key to fix; an upload that fails leaving nothing; the remote media
//! cache evicted in the bucket; `kith storage migrate` both ways, interrupted and
//! resumed, while kith serves every file; scheduled and on-demand backups pruned to
//! their count and restored into a fresh instance with the same posts and keys.

#[allow(dead_code)]
#[path = "../fixtures/media/generate.rs"]
mod generate;

use crate::media::multipart;
use crate::s3_server::{ACCESS_KEY, BUCKET, S3Server, list_files};
use crate::support::{Got, TestServer, agent, collect, free_port, get, run_kith, signal};
use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const JPEG: &str = "exif-rotated.jpg";

fn fixture(name: &str) -> Vec<u8> {
    std::fs::read(
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/fixtures/media")
            .join(name),
    )
    .unwrap()
}

/// A kith binary on `s3` with an owner token.
struct Owner {
    kith: TestServer,
    token: String,
}

impl Owner {
    fn start(extra: &str) -> Owner {
        let kith = TestServer::start(extra);
        let out = kith.command(&["token"], None);
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let token = String::from_utf8(out.stdout).unwrap().trim().to_string();
        Owner { kith, token }
    }

    fn auth(&self) -> String {
        format!("Bearer {}", self.token)
    }

    /// Uploads `bytes` as the `file` part; returns the answer.
    fn upload(&self, name: &str, content_type: &str, bytes: &[u8]) -> Got {
        let (ct, body) = multipart(name, content_type, bytes, &[("description", "a test")]);
        let resp = agent()
            .post(self.kith.url("/api/v2/media"))
            .header("Authorization", &self.auth())
            .header("Content-Type", &ct)
            .send(&body[..])
            .unwrap();
        collect(resp)
    }

    /// The path of a media URL (`/media/NAME`) and its file name.
    fn media_path(url: &str) -> (String, String) {
        let path = url.split_once("/media/").map(|(_, n)| n).unwrap();
        (format!("/media/{path}"), path.to_string())
    }

    /// The bytes served at `path`, following one redirect to the bucket.
    fn fetch(&self, path: &str) -> Vec<u8> {
        fetch_bytes(&self.kith.url(path), &[])
    }

    /// Every file in a folder of the data directory, temporary ones included.
    fn data(&self, sub: &str) -> Vec<String> {
        let mut names: Vec<String> = std::fs::read_dir(self.kith.data_dir().join(sub))
            .map(|entries| {
                entries
                    .flatten()
                    .filter_map(|e| e.file_name().to_str().map(str::to_string))
                    .collect()
            })
            .unwrap_or_default();
        names.sort();
        names
    }

    fn pid(&self) -> u32 {
        self.kith.child.as_ref().unwrap().id()
    }
}

/// GETs `url` and the bucket address it redirects to, if it does; the final bytes.
fn fetch_bytes(url: &str, headers: &[(&str, &str)]) -> Vec<u8> {
    let (status, location, body) = raw_get(url, headers);
    match status {
        200 | 206 => body,
        302 => {
            let (status, _, body) = raw_get(&location.unwrap(), headers);
            assert!(
                status == 200 || status == 206,
                "the bucket answered {status}"
            );
            body
        }
        other => panic!("{url} answered {other}"),
    }
}

/// Status, `Location` and body bytes (up to 256 MiB) of a GET.
fn raw_get(url: &str, headers: &[(&str, &str)]) -> (u16, Option<String>, Vec<u8>) {
    let mut req = agent().get(url);
    for (n, v) in headers {
        req = req.header(*n, *v);
    }
    let resp = req.call().unwrap();
    let status = resp.status().as_u16();
    let location = resp
        .headers()
        .get("location")
        .map(|v| v.to_str().unwrap().to_string());
    let body = resp
        .into_body()
        .with_config()
        .limit(256 * 1024 * 1024)
        .read_to_vec()
        .unwrap();
    (status, location, body)
}

#[test]
fn sec_83_bucket_media_are_handed_out_by_expiring_signatures_or_passed_on() {
    let s3 = S3Server::start();
    // Presigned redirects, for an endpoint followers' servers can reach.
    let owner = Owner::start(&s3.storage_toml("s3", "serve = \"redirect\""));
    let m = owner.upload("photo.jpg", "image/jpeg", &fixture(JPEG)).ok();
    let (path, name) = Owner::media_path(m["url"].as_str().unwrap());
    let (_, thumb) = Owner::media_path(m["preview_url"].as_str().unwrap());
    // Both files are in the bucket, none in the data directory.
    assert_eq!(s3.objects("media"), {
        let mut both = vec![name.clone(), thumb.clone()];
        both.sort();
        both
    });
    assert!(owner.data("media").is_empty(), "{:?}", owner.data("media"));
    assert!(owner.data("tmp").is_empty(), "{:?}", owner.data("tmp"));
    // Served by a redirect to a presigned URL that the bucket honours.
    let (status, location, _) = raw_get(&owner.kith.url(&path), &[]);
    assert_eq!(status, 302);
    let location = location.unwrap();
    assert!(location.starts_with(&s3.endpoint()), "{location}");
    assert!(location.contains("X-Amz-Signature="), "{location}");
    assert!(!location.contains(crate::s3_server::SECRET_KEY));
    assert_eq!(owner.fetch(&path), s3.object(&format!("media/{name}")));
    // A forged or expired signature is the bucket's to refuse.
    let forged = location.replace("X-Amz-Signature=", "X-Amz-Signature=0");
    let refused = raw_get(&forged, &[]).0;
    assert!(
        refused == 400 || refused == 403,
        "a forged signature got {refused}"
    );
    // Deleting the upload deletes both objects.
    let del = agent()
        .delete(
            owner
                .kith
                .url(&format!("/api/v1/media/{}", m["id"].as_str().unwrap())),
        )
        .header("Authorization", &owner.auth())
        .call()
        .unwrap();
    assert_eq!(del.status().as_u16(), 200);
    assert!(s3.objects("media").is_empty(), "{:?}", s3.objects("media"));
    assert_eq!(raw_get(&owner.kith.url(&path), &[]).0, 404);

    // Passed on by kith for a private bucket (the default without a public address):
    // type, length and one byte range.
    let proxied = Owner::start(&s3.storage_toml("s3", ""));
    let m = proxied
        .upload("photo.jpg", "image/jpeg", &fixture(JPEG))
        .ok();
    let (path, name) = Owner::media_path(m["url"].as_str().unwrap());
    let whole = get(&proxied.kith.url(&path), &[]);
    assert_eq!(whole.status, 200);
    assert_eq!(whole.header("content-type"), Some("image/jpeg"));
    assert_eq!(whole.header("x-content-type-options"), Some("nosniff"));
    let stored = s3.object(&format!("media/{name}"));
    assert_eq!(proxied.fetch(&path), stored);
    let (status, _, part) = raw_get(&proxied.kith.url(&path), &[("Range", "bytes=2-11")]);
    assert_eq!(status, 206);
    assert_eq!(part, stored[2..12].to_vec());
    let (status, _, whole) = raw_get(&proxied.kith.url(&path), &[("Range", "bytes=9-3")]);
    assert_eq!(
        (status, whole.len()),
        (200, stored.len()),
        "an invalid range is ignored"
    );

    // With a public address (a CDN), the redirect goes there.
    let public = Owner::start(&s3.storage_toml("s3", "public_url = \"https://cdn.example/m/\""));
    let m = public
        .upload("photo.jpg", "image/jpeg", &fixture(JPEG))
        .ok();
    let (path, name) = Owner::media_path(m["url"].as_str().unwrap());
    let (status, location, _) = raw_get(&public.kith.url(&path), &[]);
    assert_eq!(status, 302);
    assert_eq!(
        location.unwrap(),
        format!("https://cdn.example/m/media/{name}")
    );
}

/// The peak resident memory of a process, in bytes.
fn peak_rss(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    let kb: u64 = status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap();
    kb * 1024
}

#[test]
fn a_150_mb_video_goes_up_in_parts_within_the_upload_memory_bound() {
    let s3 = S3Server::start();
    let owner = Owner::start(&format!(
        "[limits]\nupload_max_bytes = 209715200\n{}",
        s3.storage_toml("s3", "")
    ));
    let video = generate::mp4_of(150 * 1024 * 1024);
    let m = owner.upload("clip.mp4", "video/mp4", &video).ok();
    assert_eq!(m["type"], "video");
    let (path, name) = Owner::media_path(m["url"].as_str().unwrap());
    let stored = s3.object(&format!("media/{name}"));
    assert_eq!(stored.len(), video.len());
    assert!(stored == video, "the stored video differs from the upload");
    // The upload benchmark's bound for the whole server (README: under 64 MB).
    let peak = peak_rss(owner.pid());
    assert!(peak < 64 * 1024 * 1024, "kith peaked at {peak} bytes");
    assert!(owner.data("media").is_empty());
    assert!(owner.data("tmp").is_empty(), "{:?}", owner.data("tmp"));
    // The last megabyte, by range, through the bucket.
    let start = video.len() - (1 << 20);
    let range = format!("bytes={start}-");
    let tail = fetch_bytes(&owner.kith.url(&path), &[("Range", &range)]);
    assert!(tail == video[start..], "the range differs");
}

/// Runs `kith serve` with `config` in a new directory; it must exit within 30 s.
/// Returns the exit code and stderr.
fn serve_refused(config: &str) -> (i32, String) {
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let path = dir.path().join("kith.toml");
    std::fs::write(&path, crate::support::config_text(port, config)).unwrap();
    let mut child = Command::new(crate::support::kith_bin())
        .args(["serve", "--config"])
        .arg(&path)
        .current_dir(dir.path())
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            let mut err = String::new();
            std::io::Read::read_to_string(&mut child.stderr.take().unwrap(), &mut err).unwrap();
            return (status.code().unwrap_or(-1), err);
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("kith serve did not stop with {config}");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn sec_84_wrong_keys_a_missing_bucket_or_no_server_stop_kith_at_start() {
    let s3 = S3Server::start();
    let cases = [
        (
            s3.storage_toml("s3", "")
                .replace(crate::s3_server::SECRET_KEY, "wrong-secret"),
            "storage.secret_access_key",
        ),
        (
            s3.storage_toml("s3", "").replace(ACCESS_KEY, "nobody"),
            "storage.access_key_id",
        ),
        (
            s3.storage_toml("s3", "").replace(BUCKET, "no-such-bucket"),
            "storage.bucket",
        ),
        (
            s3.storage_toml("s3", "")
                .replace(&s3.endpoint(), &format!("http://127.0.0.1:{}", free_port())),
            "storage.endpoint",
        ),
    ];
    for (config, key) in cases {
        let (code, err) = serve_refused(&config);
        assert_ne!(code, 0, "{config}");
        assert!(err.contains(key), "{key} not named in: {err}");
        assert!(!err.contains("panicked"), "{err}");
    }
    // A bucket only for backups (or a move) that refuses: kith starts with media in the
    // data directory, and says which key to fix.
    let warned = TestServer::start(&s3.storage_toml("local", "").replace(ACCESS_KEY, "nobody"));
    let line = warned.wait_log(|l| l.starts_with("kith: warning: media storage:"));
    assert!(line.contains("storage.access_key_id"), "{line}");
    // Incomplete settings are configuration errors (exit 2), before any request.
    for (config, key) in [
        (
            "[storage]\nbackend = \"s3\"\n",
            "storage: backend = \"s3\" needs endpoint",
        ),
        (
            "[storage]\nbackend = \"s3\"\nendpoint = \"ftp://x\"\nbucket = \"b1b\"\n",
            "storage.endpoint",
        ),
        (
            &format!(
                "[storage]\nendpoint = \"{}\"\nbucket = \"kith\"\naccess_key_id = \"a\"\n",
                s3.endpoint()
            ),
            "storage.secret_access_key",
        ),
        ("[backup]\nschedule = \"daily\"\n", "backup.destination"),
        ("[backup]\ndestination = \"s3\"\n", "backup.destination"),
    ] {
        let (code, err) = serve_refused(config);
        assert_eq!(code, 2, "{config}: {err}");
        assert!(err.contains(key), "{key} not named in: {err}");
    }
}

#[test]
fn sec_84_an_upload_that_cannot_reach_the_bucket_leaves_nothing() {
    let mut s3 = S3Server::start();
    let owner = Owner::start(&s3.storage_toml("s3", ""));
    s3.stop();
    for (name, ct, bytes) in [
        ("photo.jpg", "image/jpeg", fixture(JPEG)),
        ("clip.mp4", "video/mp4", generate::mp4_of(20 * 1024 * 1024)),
    ] {
        let got = owner.upload(name, ct, &bytes);
        got.assert_error(503);
        assert!(
            got.body.contains("Media storage is unavailable"),
            "{}",
            got.body
        );
    }
    assert!(owner.data("media").is_empty(), "{:?}", owner.data("media"));
    assert!(owner.data("tmp").is_empty(), "{:?}", owner.data("tmp"));
    let db = rusqlite::Connection::open(owner.kith.data_dir().join("kith.sqlite3")).unwrap();
    let rows: i64 = db
        .query_row("SELECT count(*) FROM media", [], |r| r.get(0))
        .unwrap();
    assert_eq!(rows, 0);
    assert!(s3.objects("media").is_empty());
    // The bucket back, the same upload works.
    s3.spawn();
    owner.upload("photo.jpg", "image/jpeg", &fixture(JPEG)).ok();
    assert_eq!(s3.objects("media").len(), 2);
}

#[test]
fn the_remote_media_cache_is_kept_within_its_budget_in_the_bucket() {
    let s3 = S3Server::start();
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let text = format!(
        "public_url = \"http://localhost:{port}\"\nusername = \"alice\"\nlisten = \"127.0.0.1:{port}\"\n\
         data_dir = \"{}\"\n[media]\ncache_max_mb = 1\n{}",
        dir.path().join("data").display(),
        s3.storage_toml("s3", "")
    );
    let server = kith::start(kith::config::Config::parse(&text).unwrap()).unwrap();
    let ctx = server.ctx();
    let urls: Vec<String> = (0..3)
        .map(|i| format!("https://remote.example/{i}.png"))
        .collect();
    for url in &urls {
        let key = kith::keys::sha256_hex(url.as_bytes());
        let bytes = vec![7u8; 400 * 1024];
        kith::media::cache::store(ctx, &key, url, kith::media::sniff::PNG, &bytes).unwrap();
    }
    // 1.2 MB stored under a 1 MiB budget: the oldest went, from the bucket too.
    assert_eq!(s3.objects("cache").len(), 2, "{:?}", s3.objects("cache"));
    let total: i64 = ctx.db.read(kith::db::media::cached_total).unwrap();
    assert_eq!(total, 2 * 400 * 1024);
    assert!(list_files(&dir.path().join("data/cache")).is_empty());
    assert_eq!(kith::media::cache::forget(ctx, &urls[1..2]).unwrap(), 1);
    assert_eq!(s3.objects("cache").len(), 1);
    server.shutdown();
}

/// Runs `kith storage migrate --to TO`, killed after its first moved file when `cut`.
/// Returns whether it exited with success, and its stderr.
fn migrate(owner: &Owner, to: &str, cut: bool) -> (bool, String) {
    let config = owner.kith.config_path();
    if !cut {
        let out = run_kith(
            owner.kith.dir.path(),
            &[
                "storage",
                "migrate",
                "--to",
                to,
                "--config",
                config.to_str().unwrap(),
            ],
            None,
        );
        return (
            out.status.success(),
            String::from_utf8_lossy(&out.stderr).into(),
        );
    }
    let mut child = Command::new(crate::support::kith_bin())
        .args(["storage", "migrate", "--to", to, "--config"])
        .arg(&config)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stderr.take().unwrap()).lines();
    let first = lines.next().unwrap().unwrap();
    signal(&child, "KILL");
    let status = child.wait().unwrap();
    (status.success(), first)
}

#[test]
fn sec_86_storage_migrate_resumes_after_an_interruption_and_loses_nothing() {
    let s3 = S3Server::start();
    let owner = Owner::start(&s3.storage_toml("local", ""));
    let mut paths = Vec::new();
    for i in 0..20 {
        let mut jpeg = fixture(JPEG);
        // Each upload different, so each file is its own.
        jpeg.extend(format!("{i:04}").as_bytes());
        let m = owner.upload("photo.jpg", "image/jpeg", &jpeg).ok();
        for field in ["url", "preview_url"] {
            paths.push(Owner::media_path(m[field].as_str().unwrap()).0);
        }
    }
    let originals: Vec<Vec<u8>> = paths.iter().map(|p| owner.fetch(p)).collect();
    assert_eq!(owner.data("media").len(), 40);
    let all_served = |when: &str| {
        for (path, bytes) in paths.iter().zip(&originals) {
            assert!(owner.fetch(path) == *bytes, "{path} differs {when}");
        }
    };

    // To the bucket, cut after the first file: the rest stay whole where they were.
    let (ok, first) = migrate(&owner, "s3", true);
    assert!(!ok);
    assert!(first.starts_with("[1/40] moved media/"), "{first}");
    let (local, remote) = (owner.data("media").len(), s3.objects("media").len());
    assert!(
        local >= 1 && remote >= 1,
        "{local} local, {remote} in the bucket"
    );
    assert!(local + remote >= 40);
    all_served("after the interruption");
    // Run again: it finishes, and what was sent before is not sent twice.
    let (ok, err) = migrate(&owner, "s3", false);
    assert!(ok, "{err}");
    assert!(err.contains("Now set backend = \"s3\""), "{err}");
    assert!(owner.data("media").is_empty(), "{:?}", owner.data("media"));
    assert_eq!(s3.objects("media").len(), 40);
    all_served("in the bucket");

    // And back, cut and resumed the same way.
    let (ok, first) = migrate(&owner, "local", true);
    assert!(!ok);
    assert!(first.starts_with("[1/40]"), "{first}");
    all_served("after the second interruption");
    let (ok, err) = migrate(&owner, "local", false);
    assert!(ok, "{err}");
    assert_eq!(owner.data("media").len(), 40);
    assert!(s3.objects("media").is_empty(), "{:?}", s3.objects("media"));
    assert!(owner.data("media").iter().all(|n| !n.starts_with(".tmp")));
    all_served("back in the data directory");
}

#[test]
fn scheduled_backups_are_pruned_and_restore_into_a_fresh_instance() {
    let s3 = S3Server::start();
    let storage = s3.storage_toml("s3", "");
    let backup = "[backup]\nschedule = \"daily\"\ndestination = \"s3\"\nkeep = 2\n";
    let mut owner = Owner::start(&format!("{storage}{backup}"));
    // The first scheduled backup is taken at start.
    let line = owner.kith.wait_log(|l| l.starts_with("backup: wrote "));
    assert!(
        line.contains(&format!("to s3:backups/localhost:{}/", owner.kith.port)),
        "{line}"
    );
    let status = crate::support::post(
        &owner.kith.url("/api/v1/statuses"),
        "application/x-www-form-urlencoded",
        b"status=kept+across+a+restore",
        &[("Authorization", &owner.auth())],
    )
    .ok();
    let m = owner.upload("photo.jpg", "image/jpeg", &fixture(JPEG)).ok();
    let (media_path, _) = Owner::media_path(m["url"].as_str().unwrap());
    let picture = owner.fetch(&media_path);
    for _ in 0..2 {
        let out = owner.kith.command(&["backup", "--to", "s3"], None);
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(out.status.success(), "{err}");
        assert!(err.contains("Wrote kith-"), "{err}");
    }
    // Three taken, two kept, under a prefix of this server's own.
    let kept = s3.objects(&format!("backups/localhost:{}", owner.kith.port));
    assert_eq!(kept.len(), 2, "{kept:?}");
    assert!(
        kept.iter()
            .all(|n| n.starts_with("kith-") && n.ends_with(".sqlite3"))
    );
    let doctor = owner.kith.command(&["doctor"], None);
    let report = String::from_utf8_lossy(&doctor.stdout).to_string()
        + &String::from_utf8_lossy(&doctor.stderr);
    assert!(
        report
            .lines()
            .any(|l| l.starts_with("✓ backups: last good 0 h ago")),
        "{report}"
    );
    assert!(
        report.lines().any(|l| l.starts_with("✓ media bucket")),
        "{report}"
    );
    let actor = get(
        &owner.kith.url("/users/alice"),
        &[("Accept", "application/activity+json")],
    )
    .json();
    let port = owner.kith.port;
    assert_eq!(owner.kith.stop(), 0);

    // A fresh directory, the same config: restored from the bucket's newest backup.
    let fresh = tempfile::tempdir().unwrap();
    let config = fresh.path().join("kith.toml");
    std::fs::write(&config, crate::support::config_text(port, &storage)).unwrap();
    let out = run_kith(
        fresh.path(),
        &["restore", "s3:latest", "--config", config.to_str().unwrap()],
        None,
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        list_files(&fresh.path().join("data"))
            .iter()
            .all(|n| !n.contains("download"))
    );
    let mut restored = TestServer {
        child: None,
        port,
        dir: fresh,
        log: Default::default(),
        extra_config: storage.clone(),
    };
    restored.spawn().expect("the restored instance starts");
    let again = get(
        &restored.url("/users/alice"),
        &[("Accept", "application/activity+json")],
    )
    .json();
    assert_eq!(
        again["publicKey"]["publicKeyPem"],
        actor["publicKey"]["publicKeyPem"]
    );
    let seen = get(
        &restored.url(&format!(
            "/api/v1/statuses/{}",
            status["id"].as_str().unwrap()
        )),
        &[],
    )
    .ok();
    assert!(
        seen["content"]
            .as_str()
            .unwrap()
            .contains("kept across a restore")
    );
    assert!(fetch_bytes(&restored.url(&media_path), &[]) == picture);
}

#[test]
fn sec_85_backups_are_private_and_pruning_touches_only_kiths_own() {
    let dir = tempfile::tempdir().unwrap();
    let folder = dir.path().join("backups");
    std::fs::create_dir_all(&folder).unwrap();
    // An old backup goes; a file that is not one of kith's backups stays.
    std::fs::write(folder.join("kith-20000101T000000000Z.sqlite3"), b"old").unwrap();
    std::fs::write(folder.join("notes.txt"), b"mine").unwrap();
    let mut kith = TestServer {
        child: None,
        port: free_port(),
        dir,
        log: Default::default(),
        extra_config: "[backup]\nschedule = \"hourly\"\ndestination = \"backups\"\nkeep = 1\n"
            .into(),
    };
    std::fs::write(
        kith.config_path(),
        crate::support::config_text(kith.port, &kith.extra_config),
    )
    .unwrap();
    kith.spawn().expect("kith starts");
    let line = kith.wait_log(|l| l.starts_with("backup: wrote "));
    assert!(line.contains("removed 1 older"), "{line}");
    let names = list_files(&folder);
    assert_eq!(names.len(), 2, "{names:?}");
    assert!(names.contains(&"notes.txt".to_string()));
    let backup = names
        .iter()
        .find(|n| n.starts_with("kith-2026") || n.starts_with("kith-20"))
        .unwrap();
    assert_ne!(backup, "kith-20000101T000000000Z.sqlite3");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(folder.join(backup))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o077, 0, "a backup holds the private key: {mode:o}");
    }
    let head = std::fs::read(folder.join(backup)).unwrap();
    assert!(head.starts_with(b"SQLite format 3\0"));
    // Without a bucket, `--to s3` says what is missing.
    let out = kith.command(&["backup", "--to", "s3"], None);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("[storage]"));
}

/// A web server on loopback that answers 200 with one byte to every request.
fn open_to_anyone() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    std::thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            let mut stream = stream;
            let mut buf = [0u8; 4096];
            let _ = std::io::Read::read(&mut stream, &mut buf);
            let _ = std::io::Write::write_all(
                &mut stream,
                b"HTTP/1.1 200 OK\r\nContent-Length: 1\r\nConnection: close\r\n\r\nx",
            );
        }
    });
    port
}

#[test]
fn sec_85_doctor_fails_when_anyone_can_read_a_backup() {
    let s3 = S3Server::start();
    let public = open_to_anyone();
    let owner = Owner::start(&format!(
        "{}[backup]\nschedule = \"daily\"\ndestination = \"s3\"\n",
        s3.storage_toml("s3", &format!("public_url = \"http://127.0.0.1:{public}\""))
    ));
    owner.kith.wait_log(|l| l.starts_with("backup: wrote "));
    let doctor = owner.kith.command(&["doctor"], None);
    let report = String::from_utf8_lossy(&doctor.stdout).to_string();
    assert!(!doctor.status.success(), "{report}");
    let line = report
        .lines()
        .find(|l| l.starts_with("✗ backups: anyone can read the last backup"))
        .unwrap_or_else(|| panic!("{report}"));
    assert!(
        line.contains(&format!("http://127.0.0.1:{public}/backups/")),
        "{line}"
    );
}
