//! The configuration: a TOML file read once at start, turned into a validated
//! [`Config`]. Unknown keys and bad values are refused with a message naming the key;
//! nothing here touches the disk beyond reading the file.

mod storage;
mod tables;

pub use storage::{Backend, Backup, Destination, S3Settings, Schedule, Secret, Serve};
pub use tables::{Cidr, Federation, Instance, Limits, Media, Retention};

use crate::error::{Error, Result};
use serde::Deserialize;
use std::net::SocketAddr;
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
    /// Which backend holds the media (`[storage] backend`).
    pub storage_backend: Backend,
    /// The bucket of `[storage]`, when one is written.
    pub s3: Option<S3Settings>,
    /// The `[backup]` table.
    pub backup: Backup,
    /// Where backups go, when `[backup] destination` is set.
    pub backup_destination: Option<Destination>,
}

/// `data_dir` as the config file at `config_path` means it: a relative path is
/// relative to the directory the file is in (leading `./` parts dropped, so messages
/// show a plain path).
pub fn beside(config_path: &Path, data_dir: &Path) -> PathBuf {
    beside_dir(config_path.parent().unwrap_or(Path::new("")), data_dir)
}

/// `path` relative to the directory `base` (itself when absolute), without `./` parts.
pub fn beside_dir(base: &Path, path: &Path) -> PathBuf {
    if path.is_absolute() {
        return path.to_path_buf();
    }
    base.components()
        .chain(path.components())
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
    #[serde(default)]
    storage: storage::Storage,
    #[serde(default)]
    backup: Backup,
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
                let dir = path.parent().unwrap_or(Path::new(""));
                let mut config = Config::parse_in(&text, dir)
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
        Config::parse_in(text, Path::new(""))
    }

    /// Parses and validates config text whose relative paths other than `data_dir`
    /// (the secret key file, a backup folder) are relative to `config_dir`.
    pub fn parse_in(text: &str, config_dir: &Path) -> Result<Config> {
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
        let s3 = raw.storage.s3(config_dir)?;
        let backup_destination = raw.backup.check(config_dir, s3.is_some(), &domain)?;
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
            storage_backend: raw.storage.backend,
            backup_destination,
            s3,
            backup: raw.backup,
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
mod tests;
