//! The configuration: a TOML file read once at start, turned into a validated
//! [`Config`]. Unknown keys and bad values are refused with a message naming the key;
//! nothing here touches the disk beyond reading the file.

use crate::error::{Error, Result};
use serde::Deserialize;
use std::net::{IpAddr, SocketAddr};
use std::path::{Path, PathBuf};

/// The validated configuration of one kith instance.
#[derive(Debug, Clone)]
pub struct Config {
    /// Scheme, host and optional port of the public address, without a trailing slash.
    pub public_url: String,
    /// `https` or `http`, from `public_url`.
    pub scheme: String,
    /// Host and port as written in account handles (`example.org`, `localhost:8080`).
    pub domain: String,
    /// The account's user name.
    pub username: String,
    /// The socket address the HTTP server binds.
    pub listen: SocketAddr,
    /// Where the database, media and lock file live.
    pub data_dir: PathBuf,
    /// Number of threads answering requests.
    pub http_threads: usize,
    /// Seconds a connection may stay idle (keep-alive or a slow client) before it is closed.
    pub idle_timeout_secs: u64,
    /// Connections open at once; more are answered 503 and closed.
    pub max_connections: usize,
    /// Connections open at once from one address other than a trusted proxy; more are
    /// answered 503 and closed. Defaults to a quarter of `max_connections`.
    pub max_connections_per_address: usize,
    /// Addresses (CIDR) whose `X-Forwarded-*` headers are believed.
    pub trusted_proxies: Vec<Cidr>,
    /// The `[federation]` table.
    pub federation: Federation,
    /// The `[limits]` table.
    pub limits: Limits,
    /// The `[media]` table.
    pub media: Media,
    /// The `[retention]` table.
    pub retention: Retention,
    /// The `[instance]` table.
    pub instance: Instance,
}

/// The `[federation]` table.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Federation {
    /// Allow fetching from and delivering to loopback and private addresses (tests only).
    pub allow_private_addresses: bool,
    /// Delivery worker threads; 0 means two per CPU.
    pub delivery_workers: usize,
    /// Deadline of one outbound request (fetch or delivery, redirects and body
    /// included), in seconds (SECURITY.md 41); at most 40, under a delivery's lease.
    pub fetch_timeout_secs: u64,
}

impl Default for Federation {
    fn default() -> Self {
        Federation {
            allow_private_addresses: false,
            delivery_workers: 0,
            fetch_timeout_secs: 30,
        }
    }
}

/// The `[limits]` table: caps and rate limits, per client address unless said otherwise.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Limits {
    /// Largest request body accepted, in bytes (inbox, forms, JSON).
    pub body_max_bytes: u64,
    /// Largest media upload accepted, in bytes.
    pub upload_max_bytes: u64,
    /// Largest account archive uploaded on the settings page, in bytes (spooled to
    /// `data_dir/tmp`, never held in memory).
    pub import_max_bytes: u64,
    /// Length of every rate-limit window, in seconds.
    pub window_secs: u64,
    /// Failed logins allowed per client address (IPv6: per /64) per window; past a few,
    /// each further attempt from that address waits longer. The account itself is
    /// never locked: a stranger's failures do not stop the owner elsewhere.
    pub login_attempts: u32,
    /// Client API requests without the owner's token, per client address per window.
    pub api_requests: u32,
    /// Client API requests with the owner's token, per token per window (never per
    /// address: a phone and a laptop behind one router do not share it).
    pub owner_requests: u32,
    /// Federation requests that are not validly signed deliveries (unsigned or failing
    /// inbox POSTs, actor and WebFinger GETs), per client address per window.
    pub inbox_requests: u32,
    /// Validly signed inbox deliveries, per signing host per window: a budget a large
    /// server's real traffic never reaches.
    pub signed_inbox_requests: u32,
    /// How far ahead a scheduled post must be, in seconds (Mastodon's 5 minutes).
    pub schedule_min_secs: u64,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            body_max_bytes: 1024 * 1024,
            upload_max_bytes: 40 * 1024 * 1024,
            import_max_bytes: 4 << 30,
            window_secs: 300,
            login_attempts: 25,
            api_requests: 300,
            owner_requests: 15_000,
            inbox_requests: 300,
            signed_inbox_requests: 100_000,
            schedule_min_secs: 300,
        }
    }
}

/// The `[media]` table.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Media {
    /// Disk budget of the remote media cache, in MiB; least recently used files go first.
    pub cache_max_mb: u64,
}

impl Default for Media {
    fn default() -> Self {
        Media { cache_max_mb: 512 }
    }
}

/// The `[retention]` table: how long what others wrote is kept. What the owner wrote
/// or touched is kept for ever.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Retention {
    /// Remote posts older than this many days that the owner never interacted with are
    /// removed, with their cached media; 0 keeps them for ever.
    pub remote_posts_days: u32,
    /// Notifications older than this many days are removed; 0 keeps them for ever.
    pub notifications_days: u32,
}

impl Default for Retention {
    fn default() -> Self {
        Retention {
            remote_posts_days: 90,
            notifications_days: 180,
        }
    }
}

/// The `[instance]` table: texts apps show about the server. Unset texts are served
/// with kith's defaults (see `mastodon::instance`).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Instance {
    /// The longer description of the server (HTML), `/api/v1/instance/extended_description`.
    pub extended_description: Option<String>,
    /// The privacy policy (HTML), `/api/v1/instance/privacy_policy`.
    pub privacy_policy: Option<String>,
    /// The terms of service (HTML), `/api/v1/instance/terms_of_service`.
    pub terms_of_service: Option<String>,
}

/// An address block such as `127.0.0.1/32` or `::1/128`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cidr {
    addr: IpAddr,
    prefix: u8,
}

impl Cidr {
    /// Parses `ADDR` or `ADDR/PREFIX`.
    pub fn parse(s: &str) -> Option<Cidr> {
        let (addr, prefix) = match s.split_once('/') {
            Some((a, p)) => (a.parse::<IpAddr>().ok()?, Some(p.parse::<u8>().ok()?)),
            None => (s.parse::<IpAddr>().ok()?, None),
        };
        let max = if addr.is_ipv4() { 32 } else { 128 };
        let prefix = prefix.unwrap_or(max);
        (prefix <= max).then_some(Cidr { addr, prefix })
    }

    /// Whether `ip` lies inside this block (IPv4-mapped IPv6 addresses count as IPv4).
    pub fn contains(&self, ip: IpAddr) -> bool {
        let ip = match ip {
            IpAddr::V6(v6) => v6.to_ipv4_mapped().map(IpAddr::V4).unwrap_or(ip),
            v4 => v4,
        };
        match (self.addr, ip) {
            (IpAddr::V4(net), IpAddr::V4(ip)) => {
                let mask = u32::MAX
                    .checked_shl(32 - u32::from(self.prefix))
                    .unwrap_or(0);
                u32::from(net) & mask == u32::from(ip) & mask
            }
            (IpAddr::V6(net), IpAddr::V6(ip)) => {
                let mask = u128::MAX
                    .checked_shl(128 - u32::from(self.prefix))
                    .unwrap_or(0);
                u128::from(net) & mask == u128::from(ip) & mask
            }
            _ => false,
        }
    }
}

/// `data_dir` as the config file at `config_path` means it: a relative path is
/// relative to the directory the file is in (leading `./` parts dropped, so messages
/// show a plain path).
pub fn beside(config_path: &Path, data_dir: &Path) -> PathBuf {
    if data_dir.is_absolute() {
        return data_dir.to_path_buf();
    }
    let base = config_path.parent().unwrap_or(Path::new(""));
    base.components()
        .chain(data_dir.components())
        .filter(|c| !matches!(c, std::path::Component::CurDir))
        .collect()
}

/// The file as written: every key optional, unknown keys refused.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawConfig {
    public_url: Option<String>,
    username: Option<String>,
    listen: Option<String>,
    data_dir: Option<PathBuf>,
    http_threads: Option<i64>,
    idle_timeout_secs: Option<i64>,
    max_connections: Option<i64>,
    max_connections_per_address: Option<i64>,
    trusted_proxies: Option<Vec<String>>,
    #[serde(default)]
    federation: Federation,
    #[serde(default)]
    limits: Limits,
    #[serde(default)]
    media: Media,
    #[serde(default)]
    retention: Retention,
    #[serde(default)]
    instance: Instance,
}

/// Built-in default public URL when no config file exists.
pub const DEFAULT_PUBLIC_URL: &str = "http://localhost:8080";
/// Built-in default user name.
pub const DEFAULT_USERNAME: &str = "me";
/// Built-in default listen address.
pub const DEFAULT_LISTEN: &str = "127.0.0.1:8080";
/// Built-in default data directory.
pub const DEFAULT_DATA_DIR: &str = "./kith-data";

impl Config {
    /// The configuration used when no file exists.
    pub fn defaults() -> Config {
        Config::parse("").expect("the built-in defaults are valid")
    }

    /// Reads and validates a config file; a missing file gives the defaults when `optional`.
    pub fn load(path: &Path, optional: bool) -> Result<Config> {
        match std::fs::read_to_string(path) {
            Ok(text) => {
                let mut config = Config::parse(&text)
                    .map_err(|e| Error::Config(format!("{}: {e}", path.display())))?;
                config.data_dir = beside(path, &config.data_dir);
                Ok(config)
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound && optional => {
                Ok(Config::defaults())
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Err(Error::Config(format!(
                "cannot read {}: there is no such file; write one with kith init or give another --config",
                path.display()
            ))),
            Err(e) => Err(Error::Config(format!(
                "cannot read {}: {e}",
                path.display()
            ))),
        }
    }

    /// Parses and validates config text. A relative `data_dir` stays as written
    /// (relative to the current directory); [`Config::load`] anchors it at the file.
    pub fn parse(text: &str) -> Result<Config> {
        let raw: RawConfig =
            toml::from_str(text).map_err(|e| Error::Config(toml_message(text, &e)))?;
        let public_url = raw.public_url.unwrap_or_else(|| DEFAULT_PUBLIC_URL.into());
        let (scheme, domain) = parse_public_url(&public_url)?;
        let username = raw.username.unwrap_or_else(|| DEFAULT_USERNAME.into());
        validate_username(&username)?;
        let listen_text = raw.listen.unwrap_or_else(|| DEFAULT_LISTEN.into());
        let listen = listen_text.parse::<SocketAddr>().map_err(|_| {
            Error::Config(format!(
                "listen: {listen_text:?} is not an address and port such as \"127.0.0.1:8080\""
            ))
        })?;
        let data_dir = raw
            .data_dir
            .unwrap_or_else(|| PathBuf::from(DEFAULT_DATA_DIR));
        if data_dir.as_os_str().is_empty() {
            return Err(Error::Config("data_dir: must not be empty".into()));
        }
        let http_threads = in_range("http_threads", raw.http_threads.unwrap_or(4), 1, 256)?;
        let idle_timeout_secs = in_range(
            "idle_timeout_secs",
            raw.idle_timeout_secs.unwrap_or(10),
            1,
            3600,
        )? as u64;
        let max_connections = in_range(
            "max_connections",
            raw.max_connections.unwrap_or(256),
            1,
            100_000,
        )?;
        let max_connections_per_address = match raw.max_connections_per_address {
            Some(n) => in_range("max_connections_per_address", n, 1, max_connections as i64)?,
            None => (max_connections / 4).max(1),
        };
        let trusted_proxies = raw
            .trusted_proxies
            .unwrap_or_else(|| vec!["127.0.0.1/32".into(), "::1/128".into()])
            .iter()
            .map(|s| {
                Cidr::parse(s).ok_or_else(|| {
                    Error::Config(format!(
                        "trusted_proxies: {s:?} is not an address or block such as \"10.0.0.0/8\""
                    ))
                })
            })
            .collect::<Result<Vec<_>>>()?;
        validate_federation(&raw.federation)?;
        validate_limits(&raw.limits)?;
        if raw.media.cache_max_mb > 1_048_576 {
            return Err(Error::Config(format!(
                "media.cache_max_mb: {} is out of range (0 to 1048576)",
                raw.media.cache_max_mb
            )));
        }
        Ok(Config {
            public_url: format!("{scheme}://{domain}"),
            scheme,
            domain,
            username,
            listen,
            data_dir,
            http_threads,
            idle_timeout_secs,
            max_connections,
            max_connections_per_address,
            trusted_proxies,
            federation: raw.federation,
            limits: raw.limits,
            media: raw.media,
            retention: check_retention(raw.retention)?,
            instance: raw.instance,
        })
    }

    /// The path of the SQLite database.
    pub fn db_path(&self) -> PathBuf {
        self.data_dir.join("kith.sqlite3")
    }

    /// The account's actor URL.
    pub fn actor_url(&self) -> String {
        format!("{}/users/{}", self.public_url, self.username)
    }

    /// Where the server keeps uploads being received and exports being sent
    /// (`data_dir/tmp`, emptied at start).
    pub fn scratch_dir(&self) -> PathBuf {
        self.data_dir.join("tmp")
    }

    /// Number of delivery workers after applying the "two per CPU" default.
    pub fn delivery_workers(&self) -> usize {
        match self.federation.delivery_workers {
            0 => {
                2 * std::thread::available_parallelism()
                    .map(|n| n.get())
                    .unwrap_or(1)
            }
            n => n,
        }
    }
}

/// Refuses retention periods past a century (a typo, not a policy).
fn check_retention(r: Retention) -> Result<Retention> {
    for (key, days) in [
        ("retention.remote_posts_days", r.remote_posts_days),
        ("retention.notifications_days", r.notifications_days),
    ] {
        if days > 36_500 {
            return Err(Error::Config(format!(
                "{key}: {days} is out of range (0 to 36500 days; 0 keeps for ever)"
            )));
        }
    }
    Ok(r)
}

/// Turns a TOML error into one line naming the key (`limits.login_attempts: …`) and line.
fn toml_message(text: &str, e: &toml::de::Error) -> String {
    let msg = e.message().trim().replace('\n', " ");
    let Some(span) = e.span() else { return msg };
    let before = &text[..span.start.min(text.len())];
    let line_no = before.matches('\n').count() + 1;
    let line = text.lines().nth(line_no - 1).unwrap_or("").trim();
    let table = before
        .lines()
        .rev()
        .map(str::trim)
        .find(|l| l.starts_with('[') && l.ends_with(']'))
        .map(|l| l.trim_matches(|c| c == '[' || c == ']').trim().to_string());
    let key = line
        .split_once('=')
        .map(|(k, _)| k.trim().trim_matches('"').to_string());
    match (table, key) {
        (Some(t), Some(k)) => format!("{t}.{k}: {msg} (line {line_no})"),
        (None, Some(k)) => format!("{k}: {msg} (line {line_no})"),
        _ => format!("{msg} (line {line_no})"),
    }
}

fn in_range(key: &str, value: i64, min: i64, max: i64) -> Result<usize> {
    if value < min || value > max {
        return Err(Error::Config(format!(
            "{key}: {value} is out of range ({min} to {max})"
        )));
    }
    Ok(value as usize)
}

fn parse_public_url(s: &str) -> Result<(String, String)> {
    let bad = |why: &str| Error::Config(format!("public_url: {s:?} {why}"));
    let url = url::Url::parse(s).map_err(|e| bad(&format!("is not a URL ({e})")))?;
    if url.scheme() != "http" && url.scheme() != "https" {
        return Err(bad("must start with https:// or http://"));
    }
    let host = url.host_str().ok_or_else(|| bad("has no host"))?;
    if !(url.path() == "/" || url.path().is_empty()) || url.query().is_some() {
        return Err(bad(
            "must be scheme, host and port only, with no path or query",
        ));
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err(bad("must not carry a user name or password"));
    }
    let host = host.trim_end_matches('.').to_ascii_lowercase();
    let domain = match url.port() {
        Some(p) => format!("{host}:{p}"),
        None => host,
    };
    Ok((url.scheme().to_string(), domain))
}

fn validate_username(name: &str) -> Result<()> {
    let ok = !name.is_empty()
        && name.len() <= 30
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_');
    if ok {
        Ok(())
    } else {
        Err(Error::Config(format!(
            "username: {name:?} must be 1 to 30 characters of a-z, 0-9 and _"
        )))
    }
}

fn validate_federation(f: &Federation) -> Result<()> {
    if f.delivery_workers > 64 {
        return Err(Error::Config(format!(
            "federation.delivery_workers: {} is out of range (0 to 64)",
            f.delivery_workers
        )));
    }
    // A delivery's lease (ap::deliver::LEASE_MS, renewed below 45 s left) must outlast
    // its request, or another worker could claim the job and send it twice.
    if !(1..=40).contains(&f.fetch_timeout_secs) {
        return Err(Error::Config(format!(
            "federation.fetch_timeout_secs: {} is out of range (1 to 40)",
            f.fetch_timeout_secs
        )));
    }
    Ok(())
}

fn validate_limits(l: &Limits) -> Result<()> {
    let checks: [(&str, u64, u64); 9] = [
        ("limits.body_max_bytes", l.body_max_bytes, 1),
        ("limits.upload_max_bytes", l.upload_max_bytes, 1),
        ("limits.import_max_bytes", l.import_max_bytes, 1),
        ("limits.window_secs", l.window_secs, 1),
        ("limits.login_attempts", u64::from(l.login_attempts), 1),
        ("limits.api_requests", u64::from(l.api_requests), 1),
        ("limits.inbox_requests", u64::from(l.inbox_requests), 1),
        ("limits.owner_requests", u64::from(l.owner_requests), 1),
        (
            "limits.signed_inbox_requests",
            u64::from(l.signed_inbox_requests),
            1,
        ),
    ];
    for (key, value, min) in checks {
        if value < min {
            return Err(Error::Config(format!("{key}: must be at least {min}")));
        }
    }
    Ok(())
}

/// The text `kith init` writes: the given values, everything else at its default.
pub fn init_text(public_url: &str, username: &str, data_dir: &str) -> String {
    format!(
        "# kith configuration, written by `kith init`. Every key and its default is\n\
         # documented in config.example.toml.\n\
         public_url = {}\nusername = {}\nlisten = \"{DEFAULT_LISTEN}\"\ndata_dir = {}\n",
        toml_string(public_url),
        toml_string(username),
        toml_string(data_dir)
    )
}

fn toml_string(s: &str) -> String {
    toml::Value::String(s.to_string()).to_string()
}

#[cfg(test)]
mod tests {
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
        let text = include_str!("../config.example.toml");
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
        assert!(
            err("[federation]\nallow_private_addresses = 3").contains("allow_private_addresses")
        );
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
}
