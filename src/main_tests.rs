//! Tests of the command line's parsing: every command and flag, and the refusals.

use super::*;

fn parse(s: &str) -> Result<Args, String> {
    parse_args(&s.split_whitespace().map(String::from).collect::<Vec<_>>())
}

#[test]
fn commands_and_flags() {
    assert_eq!(parse("").unwrap().command, Command::Serve);
    assert_eq!(
        parse("serve --config /x.toml").unwrap().config,
        Some(PathBuf::from("/x.toml"))
    );
    assert_eq!(
        parse("--config=/y.toml").unwrap().config,
        Some(PathBuf::from("/y.toml"))
    );
    assert_eq!(
        parse("init --public-url https://a.b --username me")
            .unwrap()
            .command,
        Command::Init {
            public_url: "https://a.b".into(),
            username: "me".into(),
            data_dir: None
        }
    );
    assert_eq!(
        parse("token").unwrap().command,
        Command::Token {
            scopes: "read write follow push".into()
        }
    );
    assert_eq!(
        parse("token --scopes read").unwrap().command,
        Command::Token {
            scopes: "read".into()
        }
    );
    assert_eq!(parse("--version").unwrap().command, Command::Version);
    assert_eq!(parse("passwd --help").unwrap().command, Command::Help);
    assert_eq!(
        parse("queue --config /q.toml").unwrap(),
        Args {
            command: Command::Queue { retry: None },
            config: Some(PathBuf::from("/q.toml"))
        }
    );
    assert_eq!(
        parse("queue retry example.org --config /q.toml").unwrap(),
        Args {
            command: Command::Queue {
                retry: Some("example.org".into())
            },
            config: Some(PathBuf::from("/q.toml"))
        }
    );
    assert_eq!(
        parse("queue --config=/q.toml retry 127.0.0.1:8080")
            .unwrap()
            .command,
        Command::Queue {
            retry: Some("127.0.0.1:8080".into())
        }
    );
}

#[test]
fn mistakes_are_refused() {
    assert!(parse("serv").is_err());
    assert!(parse("serve --confg x").is_err());
    assert!(parse("serve --config").is_err());
    assert!(parse("init --username me").is_err());
    assert!(parse("serve --scopes read").is_err());
    assert!(parse("queue retry").is_err());
    assert!(parse("queue flush").is_err());
    assert!(parse("queue retry a.example b.example").is_err());
    assert!(parse("queue --scopes read").is_err());
    assert!(parse("serve retry").is_err());
    assert!(parse("token extra").is_err());
}

#[test]
fn moving_commands() {
    assert_eq!(
        parse("alias").unwrap().command,
        Command::Alias(AliasAction::List)
    );
    assert_eq!(
        parse("alias add @me@old.example --config /c.toml").unwrap(),
        Args {
            command: Command::Alias(AliasAction::Add("@me@old.example".into())),
            config: Some(PathBuf::from("/c.toml"))
        }
    );
    assert_eq!(
        parse("alias remove https://old.example/users/me")
            .unwrap()
            .command,
        Command::Alias(AliasAction::Remove("https://old.example/users/me".into()))
    );
    assert_eq!(
        parse("import mastodon-archive /a.zip --no-fetch")
            .unwrap()
            .command,
        Command::ImportArchive {
            path: PathBuf::from("/a.zip"),
            fetch: false,
            overwrite_profile: false
        }
    );
    assert_eq!(
        parse("import mastodon-archive /a.zip --overwrite-profile")
            .unwrap()
            .command,
        Command::ImportArchive {
            path: PathBuf::from("/a.zip"),
            fetch: true,
            overwrite_profile: true
        }
    );
    assert_eq!(
        parse("import csv --type domain-blocks --overwrite b.csv")
            .unwrap()
            .command,
        Command::ImportCsv {
            kind: "domain-blocks".into(),
            overwrite: true,
            path: PathBuf::from("b.csv")
        }
    );
    assert_eq!(
        parse("export out.zip").unwrap().command,
        Command::Export {
            dest: PathBuf::from("out.zip")
        }
    );
    assert_eq!(
        parse("move @me@new.example").unwrap().command,
        Command::Move {
            target: "@me@new.example".into()
        }
    );
    assert_eq!(
        parse("backup --to s3").unwrap().command,
        Command::BackupToBucket
    );
    assert_eq!(
        parse("storage migrate --to local").unwrap().command,
        Command::StorageMigrate { to: "local".into() }
    );
    assert_eq!(
        parse("backup b.sqlite3 --media m.tar").unwrap().command,
        Command::Backup {
            dest: PathBuf::from("b.sqlite3"),
            media: Some(PathBuf::from("m.tar"))
        }
    );
    assert_eq!(
        parse("restore b.sqlite3 --config /c.toml").unwrap().command,
        Command::Restore {
            source: PathBuf::from("b.sqlite3"),
            media: None
        }
    );
    for bad in [
        "alias add",
        "alias rename x",
        "alias add a b",
        "import",
        "import csv x.csv",
        "import csv --type nope x.csv",
        "import mastodon-archive",
        "import zip a.zip",
        "import mastodon-archive a.zip --overwrite",
        "import csv --type blocks x.csv --no-fetch",
        "import csv --type blocks x.csv --overwrite-profile",
        "export out.zip --overwrite-profile",
        "export",
        "export a b",
        "move",
        "backup",
        "backup a --type x",
        "restore a b",
        "restore a --to s3",
        "backup --to s3 --media m.tar",
        "backup a --to s3",
        "backup --to ftp",
        "storage",
        "storage migrate",
        "storage migrate --to ftp",
        "storage move --to s3",
        "storage migrate x --to s3",
        "move x --media m.tar",
        "serve --overwrite",
    ] {
        assert!(parse(bad).is_err(), "{bad}");
    }
}
