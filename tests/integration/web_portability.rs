//! Moving in and out on the settings pages, over real HTTP: the CSV and archive
//! uploads (owner-only, CSRF-checked, merge and overwrite, refusals that change
//! nothing, the 413 caps, the archive spooled rather than held in memory, the posts of
//! imported boosts, likes and bookmarks fetched from the page), the export
//! downloads (an archive the command line imports, the CSV files), moving away with
//! its alias check and confirmation between kith instances, and the client API's
//! `moved` on remote accounts that moved.

use crate::fake_remote::{FakeRemote, Key, fixture as remote_fixture};
use crate::portability::{copy_dir, files_under, fixture, footprint, zip_dir};
use crate::support::{Instance, TestServer, agent};
use crate::web::{Browser, count, deliver, owner_post, password, settle};
use kith::process::alias;
use serde_json::{Value, json};
use std::path::PathBuf;
use std::time::{Duration, Instant};

/// A logged-in owner and their CSRF token.
fn owner(k: &Instance) -> (Browser, String) {
    let mut b = Browser::new(k);
    b.login(&password(k));
    let t = b.token();
    (b, t)
}

/// The scratch directory of uploads and exports being sent.
fn scratch(k: &Instance) -> PathBuf {
    k.ctx().config.data_dir.join("tmp")
}

/// Files left in the scratch directory, waiting (bounded) for an answer that is still
/// being sent to let go of its file.
fn scratch_files(k: &Instance) -> Vec<String> {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let left = if scratch(k).exists() {
            files_under(&scratch(k))
        } else {
            Vec::new()
        };
        if left.is_empty() || Instant::now() > deadline {
            return left;
        }
        std::thread::park_timeout(Duration::from_millis(5));
    }
}

/// A download: status, headers and the raw body bytes.
fn download(
    k: &Instance,
    b: &Browser,
    method: &str,
    path: &str,
    form: &[(&str, &str)],
) -> (u16, Vec<(String, String)>, Vec<u8>) {
    let url = format!("http://127.0.0.1:{}{path}", k.port);
    let cookie = b.cookie.clone().unwrap_or_default();
    let resp = if method == "POST" {
        let mut body = url::form_urlencoded::Serializer::new(String::new());
        for (n, v) in form {
            body.append_pair(n, v);
        }
        agent()
            .post(&url)
            .header("Cookie", &cookie)
            .header("Content-Type", "application/x-www-form-urlencoded")
            .send(body.finish().as_bytes())
    } else {
        agent().get(&url).header("Cookie", &cookie).call()
    }
    .expect("request");
    let status = resp.status().as_u16();
    let headers = resp
        .headers()
        .iter()
        .map(|(n, v)| (n.as_str().to_string(), v.to_str().unwrap_or("").to_string()))
        .collect();
    let body = resp
        .into_body()
        .with_config()
        .limit(64 << 20)
        .read_to_vec()
        .expect("body");
    (status, headers, body)
}

fn header<'a>(headers: &'a [(String, String)], name: &str) -> Option<&'a str> {
    headers
        .iter()
        .find(|(n, _)| n.eq_ignore_ascii_case(name))
        .map(|(_, v)| v.as_str())
}

fn domain_blocks(k: &Instance) -> Vec<String> {
    k.read(kith::db::blocks::list_domain_blocks)
}

/// The fixture archive packed as a zip: (its directory, its path).
fn fixture_zip() -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let zip = dir.path().join("archive.zip");
    zip_dir(&fixture(), &zip, &[]);
    (dir, zip)
}

/// A client API token of the owner with these scopes.
fn api_get(k: &Instance, path: &str) -> Value {
    let token = kith::cli::account::token(&k.ctx().config, "read").unwrap();
    let got = crate::support::get(
        &format!("http://127.0.0.1:{}{path}", k.port),
        &[("Authorization", &format!("Bearer {token}"))],
    );
    assert_eq!(got.status, 200, "{path}: {}", got.body);
    got.json()
}

#[test]
fn import_export_and_move_forms_need_the_owner_and_a_csrf_token() {
    let k = Instance::start("owner", "");
    let (a, ta) = owner(&k);
    let (_, tb) = owner(&k);
    let visitor = Browser::new(&k);
    let (_dir, zip) = fixture_zip();
    let archive = std::fs::read(&zip).unwrap();
    let csv = b"spam.example\n";
    let before = footprint(&k);

    // Pages and downloads send a visitor to the login form.
    for path in ["/settings/data", "/settings/export/blocked_domains.csv"] {
        let got = visitor.get(path);
        assert_eq!(got.status, 303, "{path}");
        assert!(
            got.header("location").unwrap().starts_with("/login"),
            "{path}"
        );
    }
    let page = a.get("/settings/data");
    assert_eq!(page.status, 200);
    for text in [
        "Import a list",
        "Import an account archive",
        "Download the archive",
        "following_accounts.csv",
    ] {
        assert!(page.body.contains(text), "{text}");
    }

    for token in [None, Some(tb.as_str()), Some("00")] {
        let mut fields = vec![("type", "domain-blocks"), ("mode", "merge")];
        if let Some(t) = token {
            fields.push(("csrf", t));
        }
        let got = a.post_multipart(
            "/settings/import/csv",
            &fields,
            &[("file", "b.csv", &csv[..])],
        );
        assert_eq!(got.status, 403, "csv with {token:?}: {}", got.body);
        let mut fields = vec![];
        if let Some(t) = token {
            fields.push(("csrf", t));
        }
        let got = a.post_multipart(
            "/settings/import/archive",
            &fields,
            &[("archive", "a.zip", &archive[..])],
        );
        assert_eq!(got.status, 403, "archive with {token:?}: {}", got.body);
        let mut fields = vec![("target", "@someone@localhost:1")];
        if let Some(t) = token {
            fields.push(("csrf", t));
        }
        for path in [
            "/settings/move",
            "/settings/move/confirm",
            "/settings/export",
            "/settings/import/fetch",
        ] {
            assert_eq!(a.post(path, &fields).status, 403, "{path} with {token:?}");
        }
    }
    // Without a session, even with a real token.
    let got = visitor.post_multipart(
        "/settings/import/csv",
        &[("csrf", &ta), ("type", "domain-blocks")],
        &[("file", "b.csv", &csv[..])],
    );
    assert_eq!(got.status, 403);
    let got = visitor.post_multipart(
        "/settings/import/archive",
        &[("csrf", &ta)],
        &[("archive", "a.zip", &b"PK\x03\x04"[..])],
    );
    assert_eq!(got.status, 403);
    assert_eq!(
        visitor.post("/settings/export", &[("csrf", &ta)]).status,
        403
    );
    assert_eq!(
        visitor
            .post(
                "/settings/move/confirm",
                &[("csrf", &ta), ("target", "@x@localhost:1")]
            )
            .status,
        403
    );

    assert!(domain_blocks(&k).is_empty());
    assert_eq!(footprint(&k), before, "nothing imported");
    assert!(k.read(kith::db::account::get).moved_to.is_none());
    assert!(scratch_files(&k).is_empty(), "no upload left behind");
}

#[test]
fn csv_upload_merges_overwrites_refuses_and_reports() {
    let k = Instance::start("alice", "");
    let bob = Instance::start("bob", "");
    let (a, t) = owner(&k);
    let import = |kind: &str, mode: &str, bytes: &[u8]| {
        a.post_multipart(
            "/settings/import/csv",
            &[("csrf", &t), ("type", kind), ("mode", mode)],
            &[("file", "list.csv", bytes)],
        )
    };

    // Merge (the default): the file's domains are added.
    let got = import("domain-blocks", "merge", b"spam.example\nads.example\n");
    assert_eq!(got.status, 200, "{}", got.body);
    assert!(
        got.body.contains("Imported: Blocked domains"),
        "{}",
        got.body
    );
    assert!(
        got.body.contains("<dt>Applied</dt><dd>2</dd>"),
        "{}",
        got.body
    );
    assert_eq!(domain_blocks(&k), ["ads.example", "spam.example"]);
    // Merge keeps what the file does not list.
    let got = import("domain-blocks", "merge", b"other.example\n");
    assert!(
        got.body.contains("<dt>Applied</dt><dd>1</dd>"),
        "{}",
        got.body
    );
    assert_eq!(domain_blocks(&k).len(), 3);

    // Overwrite makes the list exactly the file.
    let got = import(
        "domain-blocks",
        "overwrite",
        b"#domain\nads.example\nnew.example\n",
    );
    assert_eq!(got.status, 200, "{}", got.body);
    assert!(got.body.contains("(overwrite)"));
    for (dt, dd) in [
        ("Rows", 2),
        ("Applied", 1),
        ("Already so", 1),
        ("Failed", 0),
        ("Removed", 2),
    ] {
        assert!(
            got.body.contains(&format!("<dt>{dt}</dt><dd>{dd}</dd>")),
            "{dt}: {}",
            got.body
        );
    }
    assert_eq!(domain_blocks(&k), ["ads.example", "new.example"]);

    // A malformed file is refused, naming the line, and changes nothing.
    let got = import("domain-blocks", "overwrite", b"ok.example\nnot a domain\n");
    assert_eq!(got.status, 422);
    assert!(got.body.contains("line 2: not a domain"), "{}", got.body);
    assert_eq!(domain_blocks(&k), ["ads.example", "new.example"]);
    // So are a missing file and an unknown type.
    let got = a.post_multipart(
        "/settings/import/csv",
        &[("csrf", &t), ("type", "domain-blocks")],
        &[("file", "", &b""[..])],
    );
    assert_eq!(got.status, 422);
    assert!(got.body.contains("Choose a CSV file"), "{}", got.body);
    let got = import("friends", "merge", b"x.example\n");
    assert_eq!(got.status, 422);

    // Follows go out through the delivery queue; an account that cannot be found is
    // reported and skipped.
    let got = import(
        "following",
        "merge",
        format!(
            "Account address,Show boosts\nbob@localhost:{},true\nghost@localhost:1,true\n",
            bob.port
        )
        .as_bytes(),
    );
    assert_eq!(got.status, 200, "{}", got.body);
    assert!(
        got.body.contains("<dt>Applied</dt><dd>1</dd>"),
        "{}",
        got.body
    );
    assert!(
        got.body.contains("<dt>Failed</dt><dd>1</dd>"),
        "{}",
        got.body
    );
    assert!(
        got.body.contains("ghost@localhost:1"),
        "the failed row is named"
    );
    settle(&k);
    settle(&bob);
    assert_eq!(
        bob.read(kith::db::follows::counts),
        (1, 0),
        "bob has a follower"
    );

    // Over the cap: 413 with a message, and nothing changes.
    let cap = kith::portability::csv::MAX_BYTES as usize;
    let big = vec![b'a'; cap + 70 * 1024];
    let got = import("domain-blocks", "overwrite", &big);
    assert_eq!(got.status, 413);
    let needle = format!("larger than {} MiB", cap >> 20);
    assert!(got.body.contains(&needle), "{}", got.body);
    assert_eq!(domain_blocks(&k), ["ads.example", "new.example"]);
}

#[test]
fn archive_upload_is_spooled_imported_and_refused_when_damaged_or_too_large() {
    // A form body may be 4 KiB: the archive (about 70 KiB) can only arrive spooled.
    let k = Instance::start(
        "alice",
        "[limits]\nbody_max_bytes = 4096\nimport_max_bytes = 200000\n",
    );
    let (a, t) = owner(&k);
    let (dir, zip) = fixture_zip();
    let archive = std::fs::read(&zip).unwrap();
    assert!(archive.len() > 4096 && archive.len() < 200_000);
    let upload = |bytes: &[u8], extra: &[(&str, &str)]| {
        let mut fields = vec![("csrf", t.as_str())];
        fields.extend_from_slice(extra);
        a.post_multipart(
            "/settings/import/archive",
            &fields,
            &[("archive", "archive.zip", bytes)],
        )
    };

    // A damaged archive is refused with the importer's message; nothing changes.
    let before = footprint(&k);
    let got = upload(&archive[..archive.len() * 2 / 3], &[]);
    assert_eq!(got.status, 422, "{}", got.body);
    assert!(got.body.contains("damaged"), "{}", got.body);
    assert_eq!(footprint(&k), before);
    assert!(scratch_files(&k).is_empty(), "the upload is removed");

    // While another import runs (it holds the lock file), the page says so with 409.
    let other = crate::portability::hold_import_lock(&k);
    let got = upload(&archive, &[]);
    assert_eq!(got.status, 409, "{}", got.body);
    assert!(
        got.body.contains("Another import is running"),
        "{}",
        got.body
    );
    assert_eq!(footprint(&k), before);
    assert!(scratch_files(&k).is_empty(), "the upload is removed");
    drop(other);

    // The archive imports, and the report is shown.
    let got = upload(&archive, &[]);
    assert_eq!(got.status, 200, "{}", got.body);
    assert!(got.body.contains("Archive imported"), "{}", got.body);
    assert!(
        got.body.contains(
            "Imported 6 posts (0 were there already) with 2 media files from 7 archive items"
        ),
        "{}",
        got.body
    );
    assert!(
        got.body.contains("3 boosts, likes and bookmarks wait"),
        "{}",
        got.body
    );
    assert_eq!(
        count(&k, "SELECT count(*) FROM posts WHERE actor_id IS NULL"),
        6
    );
    assert!(scratch_files(&k).is_empty(), "the upload is removed");
    let staging = std::fs::read_dir(&k.ctx().config.data_dir)
        .unwrap()
        .filter(|e| {
            e.as_ref()
                .unwrap()
                .file_name()
                .to_string_lossy()
                .starts_with("import-")
        })
        .count();
    assert_eq!(staging, 0, "the staging directory is removed");
    // Again: nothing twice.
    let got = upload(&archive, &[]);
    assert!(
        got.body.contains("Imported 0 posts (6 were there already)"),
        "{}",
        got.body
    );
    assert_eq!(
        count(&k, "SELECT count(*) FROM posts WHERE actor_id IS NULL"),
        6
    );

    // Over the cap: refused before it is stored, with a message naming the setting.
    let after = footprint(&k);
    let big = vec![b'x'; 210_000];
    let got = upload(&big, &[]);
    assert_eq!(got.status, 413);
    assert!(got.body.contains("larger than 195.3 KiB"), "{}", got.body);
    assert!(got.body.contains("import_max_bytes"), "{}", got.body);
    // Without a file: refused.
    let got = a.post_multipart(
        "/settings/import/archive",
        &[("csrf", &t)],
        &[("archive", "", &b""[..])],
    );
    assert_eq!(got.status, 422);
    assert!(got.body.contains("Choose an archive file"), "{}", got.body);
    // Not logged in, the body is not spooled: the form cap applies, and nothing is kept.
    let visitor = Browser::new(&k);
    let got = visitor.post_multipart(
        "/settings/import/archive",
        &[("csrf", &t)],
        &[("archive", "a.zip", &archive[..])],
    );
    assert_eq!(got.status, 413);
    assert_eq!(footprint(&k), after);
    assert!(
        scratch_files(&k).is_empty(),
        "nothing left in the scratch directory"
    );
    drop(dir);
}

#[test]
fn waiting_boosts_likes_and_bookmarks_are_fetched_from_the_page() {
    let k = Instance::start("alice", "");
    let remote = FakeRemote::start();
    remote.actor("bob", Key::A);
    let note = remote_fixture("create_note.json", &remote, Some((&k.base(), &k.actor())))["object"]
        .clone();
    remote.serve(&note);
    // The fixture archive, its like pointing at that note, its bookmark and boost at
    // posts that are gone (the fake remote answers 404).
    let dir = tempfile::tempdir().unwrap();
    let copy = dir.path().join("archive");
    copy_dir(&fixture(), &copy);
    for (file, from, to) in [
        (
            "likes.json",
            "https://other.example/users/bob/statuses/42",
            note["id"].as_str().unwrap().to_string(),
        ),
        (
            "bookmarks.json",
            "https://other.example/users/bob/statuses/43",
            remote.url("/users/bob/statuses/gone"),
        ),
        (
            "outbox.json",
            "https://other.example/users/bob/statuses/99",
            remote.url("/users/bob/statuses/gone2"),
        ),
    ] {
        let text = std::fs::read_to_string(copy.join(file)).unwrap();
        assert!(text.contains(from), "{file}");
        std::fs::write(copy.join(file), text.replace(from, &to)).unwrap();
    }
    let zip = dir.path().join("archive.zip");
    zip_dir(&copy, &zip, &[]);
    let (a, t) = owner(&k);
    let got = a.post_multipart(
        "/settings/import/archive",
        &[("csrf", &t)],
        &[("archive", "archive.zip", &std::fs::read(&zip).unwrap()[..])],
    );
    assert_eq!(got.status, 200, "{}", got.body);
    assert!(
        got.body.contains("3 boosts, likes and bookmarks wait"),
        "{}",
        got.body
    );
    assert_eq!(
        count(&k, "SELECT count(*) FROM favourites"),
        0,
        "nothing fetched yet"
    );

    let got = a.post("/settings/import/fetch", &[("csrf", &t)]);
    assert_eq!(got.status, 200, "{}", got.body);
    assert!(
        got.body
            .contains("Found or fetched the posts of 1; 2 still wait"),
        "{}",
        got.body
    );
    assert!(
        got.body.contains("2 boosts, likes and bookmarks wait"),
        "{}",
        got.body
    );
    assert_eq!(
        count(&k, "SELECT count(*) FROM favourites"),
        1,
        "the like is recorded"
    );
}

#[test]
fn the_exported_archive_downloads_and_the_command_line_imports_it() {
    let k = Instance::start("alice", "");
    let (a, t) = owner(&k);
    owner_post(&k, "words worth keeping", "public");
    let got = a.post_multipart(
        "/settings/import/csv",
        &[("csrf", &t), ("type", "domain-blocks")],
        &[("file", "b.csv", &b"spam.example\n"[..])],
    );
    assert_eq!(got.status, 200);

    let (status, headers, body) = download(&k, &a, "POST", "/settings/export", &[("csrf", &t)]);
    assert_eq!(status, 200);
    assert_eq!(header(&headers, "content-type"), Some("application/zip"));
    let today = kith::dates::date_only(kith::db::now_ms());
    assert_eq!(
        header(&headers, "content-disposition"),
        Some(format!("attachment; filename=\"kith-alice-{today}.zip\"").as_str())
    );
    assert_eq!(
        header(&headers, "content-length"),
        Some(body.len().to_string().as_str())
    );
    assert!(body.starts_with(b"PK\x03\x04"));
    assert!(
        scratch_files(&k).is_empty(),
        "the export file is removed once sent"
    );
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("export.zip");
    std::fs::write(&file, &body).unwrap();
    let names: Vec<String> = zip::ZipArchive::new(std::fs::File::open(&file).unwrap())
        .unwrap()
        .file_names()
        .map(|n| n.unwrap().to_string())
        .collect();
    for name in [
        "outbox.json",
        "actor.json",
        "blocked_domains.csv",
        "following_accounts.csv",
    ] {
        assert!(names.iter().any(|n| n == name), "{name} in {names:?}");
    }

    // `kith import mastodon-archive` reads it, on another kith.
    let other = TestServer::start("");
    let out = other.command(
        &[
            "import",
            "mastodon-archive",
            file.to_str().unwrap(),
            "--no-fetch",
        ],
        None,
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert!(stderr.contains("Imported 1 posts"), "{stderr}");
    // What a stopped server left in its scratch directory is removed at the next start.
    let mut other = other;
    assert_eq!(other.stop(), 0);
    let leftover = other.data_dir().join("tmp").join("upload-0123");
    std::fs::create_dir_all(leftover.parent().unwrap()).unwrap();
    std::fs::write(&leftover, b"half an upload").unwrap();
    other.spawn().unwrap();
    assert!(!leftover.exists());

    // The CSV files, one by one.
    let (status, headers, body) =
        download(&k, &a, "GET", "/settings/export/blocked_domains.csv", &[]);
    assert_eq!(status, 200);
    assert_eq!(
        header(&headers, "content-type"),
        Some("text/csv; charset=utf-8")
    );
    assert_eq!(
        header(&headers, "content-disposition"),
        Some("attachment; filename=\"blocked_domains.csv\"")
    );
    assert_eq!(body, b"spam.example\n");
    let (status, _, body) = download(
        &k,
        &a,
        "GET",
        "/settings/export/following_accounts.csv",
        &[],
    );
    assert_eq!(status, 200);
    assert!(body.starts_with(b"Account address,Show boosts"));
    for name in [
        "followers.csv",
        "blocked_accounts.csv",
        "muted_accounts.csv",
        "bookmarks.csv",
        "lists.csv",
    ] {
        let (status, headers, _) =
            download(&k, &a, "GET", &format!("/settings/export/{name}"), &[]);
        assert_eq!(status, 200, "{name}");
        assert_eq!(
            header(&headers, "content-type"),
            Some("text/csv; charset=utf-8"),
            "{name}"
        );
    }
    assert_eq!(a.get("/settings/export/passwords.csv").status, 404);
    assert_eq!(a.get("/settings/export/..%2Fkith.toml").status, 404);
}

#[test]
fn moving_on_the_settings_page_needs_the_alias_and_a_confirmation() {
    let old = Instance::start("alice", "");
    let new = Instance::start("bob", "");
    let follower = Instance::start("carol", "");
    kith::process::follow(follower.ctx(), &old.actor()).unwrap();
    settle(&old);
    settle(&follower);
    let (a, t) = owner(&old);
    let handle = format!("@bob@localhost:{}", new.port);

    // Without the alias on the new account: refused, saying what to do.
    let got = a.post("/settings/move", &[("csrf", &t), ("target", &handle)]);
    assert_eq!(got.status, 422, "{}", got.body);
    assert!(got.body.contains("does not list"), "{}", got.body);
    assert!(got.body.contains("as an alias"), "{}", got.body);
    let got = a.post("/settings/move", &[("csrf", &t), ("target", " ")]);
    assert_eq!(got.status, 422);
    // Skipping the check page does not help.
    let got = a.post(
        "/settings/move/confirm",
        &[("csrf", &t), ("target", &new.actor())],
    );
    assert_eq!(got.status, 422);
    assert!(old.read(kith::db::account::get).moved_to.is_none());

    // With the alias: a confirmation first, which changes nothing.
    alias::add(new.ctx(), &old.actor()).unwrap();
    let got = a.post("/settings/move", &[("csrf", &t), ("target", &handle)]);
    assert_eq!(got.status, 200, "{}", got.body);
    assert!(
        got.body.contains(&format!("Move to {handle}?")),
        "{}",
        got.body
    );
    assert!(
        got.body
            .contains(&format!("name=\"target\" value=\"{}\"", new.actor())),
        "{}",
        got.body
    );
    assert!(old.read(kith::db::account::get).moved_to.is_none());
    let got = a.post(
        "/settings/move/confirm",
        &[("csrf", &t), ("target", &new.actor())],
    );
    assert_eq!(got.status, 303);
    assert_eq!(got.header("location"), Some("/settings?saved=moved"));
    assert_eq!(
        old.read(kith::db::account::get).moved_to.as_deref(),
        Some(new.actor().as_str())
    );
    settle(&old);
    settle(&new);
    settle(&follower);

    // The settings page, the profile page and the client API say so.
    let page = a.get("/settings?saved=moved");
    assert!(page.body.contains("Moved. Your followers"), "{}", page.body);
    assert!(page.body.contains(&format!(
        "This account has moved to <a href=\"{0}\">{0}</a>",
        new.actor()
    )));
    let profile = Browser::new(&old).get("/@alice");
    assert!(profile.body.contains("has moved to"), "{}", profile.body);
    let me = api_get(&old, "/api/v1/accounts/verify_credentials");
    assert_eq!(me["moved"]["uri"], new.actor());
    // The follower now follows the new account, and its client API shows the old one
    // as moved (a remote account's `moved`).
    let bob_at_carol = follower.remote(&new);
    assert!(
        follower
            .read(|c| kith::db::follows::find(c, true, bob_at_carol.id))
            .is_some()
    );
    let alice = api_get(
        &follower,
        &format!("/api/v1/accounts/lookup?acct=alice@localhost:{}", old.port),
    );
    assert_eq!(alice["moved"]["uri"], new.actor());
    assert_eq!(
        alice["moved"]["acct"],
        format!("bob@localhost:{}", new.port)
    );
}

#[test]
fn remote_accounts_that_moved_say_so_in_the_api_and_on_their_page() {
    let k = Instance::start("owner", "");
    let remote = FakeRemote::start();
    let account = |uri: &str| -> Value {
        let actor = k
            .read(|c| kith::db::actors::find_by_uri(c, uri))
            .expect("cached");
        api_get(&k, &format!("/api/v1/accounts/{}", actor.id + 1))
    };
    let move_activity = |from: &crate::fake_remote::Actor, to: &str, n: u32| {
        json!({
            "@context": "https://www.w3.org/ns/activitystreams",
            "id": format!("{}#moves/{n}", from.uri), "type": "Move",
            "actor": from.uri, "object": from.uri, "target": to,
        })
    };

    // A received Move whose target lists the mover as an alias.
    let bob = remote.actor("bob", Key::A);
    let mut robert = remote.actor("robert", Key::B);
    robert.doc["alsoKnownAs"] = json!([bob.uri]);
    remote.serve(&robert.doc);
    deliver(&k, &bob, &move_activity(&bob, &robert.uri, 1));
    let got = account(&bob.uri);
    assert_eq!(got["moved"]["uri"], robert.uri, "{got}");
    assert_eq!(got["moved"]["acct"], format!("robert@{}", remote.host()));
    assert!(got["moved"].get("moved").is_none(), "nested once");
    assert!(account(&robert.uri).get("moved").is_none());
    // The web page of the old account says so and links the new one's page here.
    let (web, _) = owner(&k);
    let page_of = |uri: &str| {
        let actor = k
            .read(|c| kith::db::actors::find_by_uri(c, uri))
            .expect("cached");
        (actor.id, web.get(&format!("/accounts/{}", actor.id)).body)
    };
    let (_, bob_page) = page_of(&bob.uri);
    let (robert_id, robert_page) = page_of(&robert.uri);
    let notice = format!(
        "This account has moved to <a href=\"/accounts/{robert_id}\">@robert@{}</a>.",
        remote.host()
    );
    assert!(bob_page.contains(&notice), "{notice} in {bob_page}");
    assert!(!robert_page.contains("has moved to"));

    // A Move to an account that does not list the mover changes nothing.
    let erin = remote.actor("erin", Key::A);
    let mallory = remote.actor("mallory", Key::B);
    deliver(&k, &erin, &move_activity(&erin, &mallory.uri, 2));
    assert!(account(&erin.uri).get("moved").is_none());
    assert!(
        k.read(|c| kith::db::actors::find_by_uri(c, &erin.uri))
            .unwrap()
            .moved_to
            .is_none()
    );

    // An actor document naming movedTo: the new account is fetched with it once, and
    // shown when it lists the old one.
    let mut carl = remote.actor("carl", Key::A);
    let mut carla = remote.actor("carla", Key::B);
    carla.doc["alsoKnownAs"] = json!([carl.uri]);
    remote.serve(&carla.doc);
    carl.doc["movedTo"] = json!(carla.uri);
    remote.serve(&carl.doc);
    remote.clear();
    kith::ap::resolve::actor(k.ctx(), &carl.uri).unwrap();
    assert_eq!(
        remote.requests_to("/users/carla").len(),
        1,
        "the new account is fetched"
    );
    assert_eq!(account(&carl.uri)["moved"]["uri"], carla.uri);
    // Fetched again unchanged: the new account is not fetched again.
    remote.clear();
    kith::ap::resolve::refresh(k.ctx(), &carl.uri).unwrap();
    assert!(remote.requests_to("/users/carla").is_empty());

    // A movedTo that the named account does not confirm is not shown.
    let mut dan = remote.actor("dan", Key::A);
    dan.doc["movedTo"] = json!(mallory.uri);
    remote.serve(&dan.doc);
    kith::ap::resolve::actor(k.ctx(), &dan.uri).unwrap();
    let got = account(&dan.uri);
    assert!(got.get("moved").is_none(), "{got}");
    // Nor on the web pages: an actor cannot make its page claim someone else's account.
    for unconfirmed in [&dan.uri, &erin.uri] {
        let (_, page) = page_of(unconfirmed);
        assert!(!page.contains("has moved to"), "{unconfirmed}: {page}");
    }
}
