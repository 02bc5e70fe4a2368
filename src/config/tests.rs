//! Tests of the configuration: defaults, every refusal naming its key, paths.

use super::*;

fn err(text: &str) -> String {
    match Config::parse(text) {
        Err(Error::Config(m)) => m,
        other => panic!("expected a config error, got {other:?}"),
    }
}

#[test]
fn defaults_are_the_documented_ones() {
    let c = Config::defaults();
    assert_eq!(c.public_url, "http://localhost:8080");
    assert_eq!(c.domain, "localhost:8080");
    assert_eq!(c.username, "me");
    assert_eq!(c.listen.to_string(), "127.0.0.1:8080");
    assert_eq!(c.data_dir, PathBuf::from("./kith-data"));
    assert!(!c.federation.allow_private_addresses);
    assert_eq!(c.limits.body_max_bytes, 1024 * 1024);
    assert_eq!(c.actor_url(), "http://localhost:8080/users/me");
}

#[test]
fn example_file_parses_to_the_defaults() {
    let text = include_str!("../../config.example.toml");
    let c = Config::parse(text).expect("config.example.toml is valid");
    let d = Config::defaults();
    assert_eq!(c.public_url, "https://example.org");
    assert_eq!(c.username, d.username);
    assert_eq!(c.listen, d.listen);
    assert_eq!(c.http_threads, d.http_threads);
    assert_eq!(c.trusted_proxies, d.trusted_proxies);
    assert_eq!(c.limits.login_attempts, d.limits.login_attempts);
    assert_eq!(c.limits.body_max_bytes, d.limits.body_max_bytes);
}

#[test]
fn public_url_is_normalised() {
    let c = Config::parse("public_url = \"https://Social.Example.ORG./\"").unwrap();
    assert_eq!(c.public_url, "https://social.example.org");
    assert_eq!(c.domain, "social.example.org");
    let c = Config::parse("public_url = \"http://localhost:8001\"").unwrap();
    assert_eq!(c.domain, "localhost:8001");
    assert_eq!(c.scheme, "http");
}

#[test]
fn unknown_keys_are_named() {
    assert!(err("usrname = \"x\"").contains("usrname"));
    assert!(err("[limits]\nlogin_atempts = 3").contains("login_atempts"));
    assert!(err("[federaton]\nallow_private_addresses = true").contains("federaton"));
}

#[test]
fn bad_values_are_named() {
    assert!(err("public_url = \"ftp://x.org\"").starts_with("public_url:"));
    assert!(err("public_url = \"https://x.org/social\"").starts_with("public_url:"));
    assert!(err("public_url = \"not a url\"").starts_with("public_url:"));
    assert!(err("username = \"Bad Name\"").starts_with("username:"));
    assert!(err("listen = \"localhost\"").starts_with("listen:"));
    assert!(err("http_threads = 0").starts_with("http_threads:"));
    assert!(err("trusted_proxies = [\"10.0.0.0/99\"]").starts_with("trusted_proxies:"));
    assert!(err("[limits]\nbody_max_bytes = 0").starts_with("limits.body_max_bytes:"));
    assert!(err("http_threads = \"four\"").contains("http_threads"));
    assert!(err("[federation]\nallow_private_addresses = 3").contains("allow_private_addresses"));
    for bad in ["0", "41"] {
        assert!(
            err(&format!("[federation]\nfetch_timeout_secs = {bad}"))
                .starts_with("federation.fetch_timeout_secs:")
        );
    }
}

#[test]
fn relative_data_dir_is_beside_the_config_file() {
    let at = |config: &str, dir: &str| beside(Path::new(config), Path::new(dir));
    assert_eq!(
        at("/etc/kith/kith.toml", "./kith-data"),
        PathBuf::from("/etc/kith/kith-data")
    );
    assert_eq!(
        at("/etc/kith/kith.toml", "/var/lib/kith"),
        PathBuf::from("/var/lib/kith")
    );
    assert_eq!(at("kith.toml", "./kith-data"), PathBuf::from("kith-data"));
    assert_eq!(at("conf/kith.toml", "data"), PathBuf::from("conf/data"));
    assert_eq!(at("../k.toml", "../d"), PathBuf::from("../../d"));
}

#[test]
fn cidr_matching() {
    let lo = Cidr::parse("127.0.0.1/32").unwrap();
    assert!(lo.contains("127.0.0.1".parse().unwrap()));
    assert!(!lo.contains("127.0.0.2".parse().unwrap()));
    assert!(lo.contains("::ffff:127.0.0.1".parse().unwrap()));
    let net = Cidr::parse("10.0.0.0/8").unwrap();
    assert!(net.contains("10.255.1.2".parse().unwrap()));
    assert!(!net.contains("11.0.0.0".parse().unwrap()));
    let v6 = Cidr::parse("2001:db8::/32").unwrap();
    assert!(v6.contains("2001:db8:1::5".parse().unwrap()));
    assert!(!v6.contains("2001:db9::".parse().unwrap()));
    let all = Cidr::parse("0.0.0.0/0").unwrap();
    assert!(all.contains("8.8.8.8".parse().unwrap()));
    assert!(Cidr::parse("::1").unwrap().contains("::1".parse().unwrap()));
    assert!(Cidr::parse("1.2.3.4/33").is_none());
}

#[test]
fn storage_and_backup_tables_are_checked() {
    let c = Config::defaults();
    assert_eq!(c.storage_backend, Backend::Local);
    assert!(c.s3.is_none());
    assert_eq!(c.backup.schedule, Schedule::Off);
    assert_eq!(c.backup_destination, None);
    let s3 = "[storage]\nbackend = \"s3\"\nendpoint = \"http://127.0.0.1:3900/\"\nbucket = \"kith-media\"\n\
              access_key_id = \"AK\"\nsecret_access_key = \"SK\"\n";
    let c = Config::parse(s3).unwrap();
    let settings = c.s3.as_ref().unwrap();
    assert_eq!(settings.region, "us-east-1");
    assert!(settings.path_style);
    assert_eq!(settings.serve, Serve::Proxy, "no public address: proxied");
    assert_eq!(settings.secret.read().unwrap(), "SK");
    assert!(
        !format!("{settings:?}").contains("SK\""),
        "the secret is not printed"
    );
    assert!(err("[storage]\nbackend = \"s3\"\n").contains("needs endpoint"));
    assert!(err("[storage]\nbackend = \"ftp\"\n").contains("storage"));
    assert!(err(&s3.replace("kith-media", "Kith_Media")).contains("storage.bucket"));
    assert!(
        err(&s3.replace("http://127.0.0.1:3900/", "s3.example.org")).contains("storage.endpoint")
    );
    assert!(err(&s3.replace("access_key_id = \"AK\"\n", "")).contains("storage.access_key_id"));
    assert!(
        err(&format!("{s3}secret_access_key_file = \"k\"\n")).contains("not both"),
        "a secret twice is refused"
    );
    assert!(err(&format!("{s3}public_url = \"cdn\"\n")).contains("storage.public_url"));
    // A secret in a file beside the config, read at start.
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("secret"), "from-a-file\n").unwrap();
    let text = s3.replace(
        "secret_access_key = \"SK\"",
        "secret_access_key_file = \"secret\"",
    );
    let c = Config::parse_in(&text, dir.path()).unwrap();
    assert_eq!(c.s3.unwrap().secret.read().unwrap(), "from-a-file");
    let c = Config::parse_in(&text, &dir.path().join("elsewhere")).unwrap();
    let e = c.s3.unwrap().secret.read().unwrap_err().to_string();
    assert!(e.contains("storage.secret_access_key_file"), "{e}");
    let cdn = Config::parse(&format!("{s3}public_url = \"https://cdn.example/\"\n")).unwrap();
    assert_eq!(
        cdn.s3.unwrap().serve,
        Serve::Redirect,
        "a public address: redirected"
    );
    assert!(
        err(&s3.replace("http://127.0.0.1", "http://AK:SK@127.0.0.1")).contains("storage.endpoint"),
        "keys in the address are refused"
    );
    // Backups: by default under a prefix of this server's own.
    let c = Config::parse(&format!("{s3}[backup]\ndestination = \"s3\"\n")).unwrap();
    assert_eq!(
        c.backup_destination,
        Some(Destination::Bucket("backups/localhost:8080/".into()))
    );
    assert!(err("[backup]\nschedule = \"daily\"\n").contains("backup.destination"));
    assert!(err("[backup]\ndestination = \"s3\"\n").contains("needs a bucket"));
    assert!(err("[backup]\nschedule = \"monthly\"\ndestination = \"b\"\n").contains("backup"));
    assert!(err("[backup]\nkeep = 0\ndestination = \"b\"\n").contains("backup.keep"));
    let c = Config::parse_in(
        &format!("{s3}[backup]\nschedule = \"weekly\"\ndestination = \"s3\"\nprefix = \"kith\"\n"),
        dir.path(),
    )
    .unwrap();
    assert_eq!(
        c.backup_destination,
        Some(Destination::Bucket("kith/".into()))
    );
    assert_eq!(c.backup.schedule.every_ms(), Some(7 * 24 * 3600 * 1000));
    let c = Config::parse_in("[backup]\ndestination = \"saved\"\n", dir.path()).unwrap();
    assert_eq!(
        c.backup_destination,
        Some(Destination::Folder(dir.path().join("saved")))
    );
}
