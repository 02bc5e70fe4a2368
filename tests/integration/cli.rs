//! The command line on a fresh machine: only `kith init` and `kith serve` create an
//! account, a port in use stops `serve` before anything exists, a relative `data_dir`
//! is beside its config file wherever kith runs, the first-run password stays out of a
//! non-terminal standard output and in a file only its owner can read, and errors are
//! sentences without HTTP status codes.

use crate::support::run_kith;
use crate::web::Browser;
use std::path::Path;

fn stderr(out: &std::process::Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// Every file and directory under `dir`, for "created nothing" checks.
fn tree(dir: &Path) -> Vec<String> {
    let mut found = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        found.push(path.display().to_string());
        if path.is_dir() {
            found.extend(tree(&path));
        }
    }
    found.sort();
    found
}

fn init(cwd: &Path, config: &str, extra: &[&str]) -> std::process::Output {
    let args = [
        &[
            "init",
            "--config",
            config,
            "--public-url",
            "https://social.example",
            "--username",
            "alice",
        ][..],
        extra,
    ]
    .concat();
    run_kith(cwd, &args, None)
}

#[test]
fn commands_other_than_init_and_serve_create_no_account() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("kith.toml"), "data_dir = \"data\"\n").unwrap();
    let before = tree(dir.path());
    for args in [
        &["token"][..],
        &["passwd"],
        &["queue"],
        &["alias", "list"],
        &["backup", "b.sqlite3"],
        &["export", "out.zip"],
    ] {
        let out = run_kith(dir.path(), args, None);
        let err = stderr(&out);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {err}");
        assert!(
            err.contains(&format!(
                "no kith account in {}: run kith init or kith serve first",
                Path::new("data").display()
            )),
            "{args:?}: {err}"
        );
        assert!(out.stdout.is_empty(), "{args:?}: no token or output");
        assert_eq!(tree(dir.path()), before, "{args:?} created nothing");
    }
    // Without any config file, on the built-in defaults, the same.
    let bare = tempfile::tempdir().unwrap();
    let out = run_kith(bare.path(), &["token"], None);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(stderr(&out).contains("run kith init or kith serve first"));
    assert!(tree(bare.path()).is_empty(), "{:?}", tree(bare.path()));
}

#[test]
fn serve_with_the_port_in_use_creates_nothing() {
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = taken.local_addr().unwrap().port();
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("kith.toml"),
        format!("listen = \"127.0.0.1:{port}\"\ndata_dir = \"data\"\n"),
    )
    .unwrap();
    let out = run_kith(dir.path(), &["serve", "--config", "kith.toml"], None);
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(
        err.contains(&format!("listen: cannot listen on 127.0.0.1:{port}")),
        "{err}"
    );
    assert!(!err.contains("First run"), "{err}");
    assert!(!dir.path().join("data").exists(), "{:?}", tree(dir.path()));
    drop(taken);
}

#[test]
fn a_relative_data_dir_is_beside_the_config_file() {
    let home = tempfile::tempdir().unwrap();
    let elsewhere = tempfile::tempdir().unwrap();
    std::fs::create_dir(home.path().join("etc")).unwrap();
    let config = home.path().join("etc").join("kith.toml");
    let config = config.to_str().unwrap();
    let out = init(elsewhere.path(), config, &[]);
    assert!(out.status.success(), "{}", stderr(&out));
    let text = std::fs::read_to_string(config).unwrap();
    assert!(text.contains("data_dir = \"./kith-data\""), "{text}");
    let data = home.path().join("etc").join("kith-data");
    assert!(data.join("kith.sqlite3").is_file());
    assert!(
        tree(elsewhere.path()).is_empty(),
        "no stray directory where init ran: {:?}",
        tree(elsewhere.path())
    );
    // Another command from a third directory finds the same account.
    let third = tempfile::tempdir().unwrap();
    let out = run_kith(third.path(), &["token", "--config", config], None);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(tree(third.path()).is_empty());
    let conn = rusqlite::Connection::open(data.join("kith.sqlite3")).unwrap();
    let tokens: i64 = conn
        .query_row("SELECT count(*) FROM tokens", [], |r| r.get(0))
        .unwrap();
    assert_eq!(tokens, 1);

    // --data-dir: relative to where init runs, written as an absolute path.
    let other = tempfile::tempdir().unwrap();
    let out = init(other.path(), "k.toml", &["--data-dir", "state/kith"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let text = std::fs::read_to_string(other.path().join("k.toml")).unwrap();
    let written = other.path().join("state").join("kith");
    assert!(
        text.contains(&format!("data_dir = \"{}\"", written.display())),
        "{text}"
    );
    assert!(written.join("kith.sqlite3").is_file());
    assert!(!other.path().join("kith-data").exists());
}

#[test]
fn sec_71_the_first_run_password_is_kept_out_of_a_non_terminal_stdout() {
    let dir = tempfile::tempdir().unwrap();
    let out = init(dir.path(), "kith.toml", &[]);
    let err = stderr(&out);
    assert!(out.status.success(), "{err}");
    let file = dir.path().join("kith-data").join("first-run-password");
    let password = std::fs::read_to_string(&file).expect("the password file");
    let password = password.trim();
    assert_eq!(password.len(), 20);
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&file).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600, "{mode:o}");
    }
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(!stdout.contains(password), "{stdout}");
    assert!(!err.contains(password), "{err}");
    assert!(err.contains(&file.display().to_string()), "{err}");
    assert!(err.contains("https://social.example/login"), "{err}");
    let conn = rusqlite::Connection::open(dir.path().join("kith-data/kith.sqlite3")).unwrap();
    let hash: String = conn
        .query_row("SELECT password_hash FROM account", [], |r| r.get(0))
        .unwrap();
    assert!(kith::password::verify(password, &hash));
    // kith passwd replaces the password, and the file goes.
    let out = run_kith(
        dir.path(),
        &["passwd", "--config", "kith.toml"],
        Some("another long password\n"),
    );
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(!file.exists());
}

#[test]
fn sec_71_the_first_login_removes_the_password_file() {
    let k = crate::support::Instance::start("owner", "");
    let password = crate::web::password(&k);
    let file = kith::first_run::write_password_file(&k.ctx().config, &password).unwrap();
    let mut visitor = Browser::new(&k);
    // A wrong password leaves it.
    visitor.login("not the password");
    assert!(file.exists());
    visitor.login(&password);
    assert!(!file.exists(), "the file is removed at the first login");
}

#[test]
fn errors_are_sentences_without_http_status_codes() {
    let dir = tempfile::tempdir().unwrap();
    let out = init(dir.path(), "kith.toml", &[]);
    assert!(out.status.success(), "{}", stderr(&out));
    let out = run_kith(
        dir.path(),
        &["passwd", "--config", "kith.toml"],
        Some("short\n"),
    );
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(err.starts_with("kith: "), "{err}");
    assert!(err.contains("at least 8"), "{err}");
    assert!(!err.contains("422"), "{err}");
    // An I/O error names the path it happened at.
    let dest = dir.path().join("no-such-dir").join("out.zip");
    let out = run_kith(
        dir.path(),
        &["export", dest.to_str().unwrap(), "--config", "kith.toml"],
        None,
    );
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(err.contains(&dest.display().to_string()), "{err}");
    // A config file that does not exist: the file and what to do.
    let out = run_kith(dir.path(), &["token", "--config", "nope.toml"], None);
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(
        err.contains("nope.toml") && err.contains("kith init"),
        "{err}"
    );
    // A flag value init refuses names the flag.
    let out = run_kith(
        dir.path(),
        &[
            "init",
            "--config",
            "other.toml",
            "--public-url",
            "https://x.example/path",
            "--username",
            "bob",
        ],
        None,
    );
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(err.contains("--public-url"), "{err}");
    assert!(!dir.path().join("other.toml").exists());
}
