//! The `[storage]` and `[backup]` tables: where media live (the data directory or an
//! S3-compatible bucket) and when backups are taken and where they go. Values are
//! checked here, with messages naming the key; whether the bucket answers is checked
//! at start by `storage::Storage::open`.

use crate::error::{Error, Result};
use serde::Deserialize;
use std::path::{Path, PathBuf};

/// Which backend holds the media.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum Backend {
    /// Files under `data_dir` (`media/`, `cache/`).
    #[default]
    Local,
    /// Objects in an S3-compatible bucket (`media/…`, `cache/…`).
    S3,
}

/// How `/media/<name>` answers for a file in the bucket.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Serve {
    /// A redirect to `public_url` or, without one, a presigned URL that expires (for
    /// an endpoint every follower's server can reach).
    Redirect,
    /// kith fetches the object and passes it on (a private bucket nobody else reaches).
    Proxy,
}

/// The `[storage]` table.
#[derive(Debug, Clone, Deserialize, Default)]
#[serde(deny_unknown_fields, default)]
pub struct Storage {
    /// `local` (the default) or `s3`.
    pub backend: Backend,
    /// The S3 endpoint, such as `https://s3.example.org` or `http://127.0.0.1:3900`.
    pub endpoint: Option<String>,
    /// The bucket's region (`us-east-1` when unset; Garage uses `garage`).
    pub region: Option<String>,
    /// The bucket's name.
    pub bucket: Option<String>,
    /// The access key id.
    pub access_key_id: Option<String>,
    /// The secret access key, written in the file.
    pub secret_access_key: Option<String>,
    /// A file holding the secret access key (relative to the config file).
    pub secret_access_key_file: Option<PathBuf>,
    /// Path-style addresses (`endpoint/bucket/key`); false for virtual-host style
    /// (`bucket.endpoint/key`). Defaults to true, which every self-hosted server takes.
    pub path_style: Option<bool>,
    /// Where the bucket's objects are public (a CDN or the bucket's own address);
    /// media redirect there instead of to presigned URLs.
    pub public_url: Option<String>,
    /// `redirect` or `proxy`; the default is `redirect` with a `public_url`, else
    /// `proxy` (an endpoint on a home network is not one followers can reach).
    pub serve: Option<Serve>,
}

/// The S3 settings, complete and checked.
#[derive(Debug, Clone)]
pub struct S3Settings {
    pub endpoint: url::Url,
    pub region: String,
    pub bucket: String,
    pub access_key_id: String,
    /// The secret itself, or the file it is read from at start.
    pub secret: Secret,
    pub path_style: bool,
    /// Without a trailing slash.
    pub public_url: Option<String>,
    pub serve: Serve,
}

/// Where the secret access key comes from.
#[derive(Clone)]
pub enum Secret {
    /// Written in the config file.
    Inline(String),
    /// Read from this file.
    File(PathBuf),
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Secret::Inline(_) => f.write_str("Inline(…)"),
            Secret::File(p) => write!(f, "File({})", p.display()),
        }
    }
}

impl Secret {
    /// The secret, reading the file if it is kept in one.
    pub fn read(&self) -> Result<String> {
        match self {
            Secret::Inline(s) => Ok(s.clone()),
            Secret::File(path) => {
                let text = std::fs::read_to_string(path).map_err(|e| {
                    Error::Config(format!(
                        "storage.secret_access_key_file: cannot read {}: {e}",
                        path.display()
                    ))
                })?;
                let secret = text.trim().to_string();
                if secret.is_empty() {
                    return Err(Error::Config(format!(
                        "storage.secret_access_key_file: {} is empty",
                        path.display()
                    )));
                }
                Ok(secret)
            }
        }
    }
}

impl Storage {
    /// The S3 settings when any are written (the bucket may serve as the second place
    /// while `backend = "local"`, or as a backup destination); an error names the
    /// missing or wrong key. `config_dir` anchors a relative secret file.
    pub fn s3(&self, config_dir: &Path) -> Result<Option<S3Settings>> {
        let any = self.endpoint.is_some() || self.bucket.is_some();
        if !any {
            if self.backend == Backend::S3 {
                return Err(Error::Config(
                    "storage: backend = \"s3\" needs endpoint, bucket, access_key_id and \
                     secret_access_key (or secret_access_key_file)"
                        .into(),
                ));
            }
            return Ok(None);
        }
        let endpoint_text = required("endpoint", &self.endpoint)?;
        let endpoint = url::Url::parse(&endpoint_text)
            .ok()
            .filter(|u| matches!(u.scheme(), "http" | "https") && u.host().is_some())
            // Keys in the address would be shown wherever the address is.
            .filter(|u| u.username().is_empty() && u.password().is_none())
            .ok_or_else(|| {
                Error::Config(format!(
                    "storage.endpoint: {endpoint_text:?} is not an http(s) address such as \"https://s3.example.org\""
                ))
            })?;
        let bucket = required("bucket", &self.bucket)?;
        if !bucket
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'.')
            || !(3..=63).contains(&bucket.len())
        {
            return Err(Error::Config(format!(
                "storage.bucket: {bucket:?} is not a bucket name (3 to 63 of a-z, 0-9, '-' and '.')"
            )));
        }
        let access_key_id = required("access_key_id", &self.access_key_id)?;
        let secret = self.secret(config_dir)?;
        let public_url = self
            .public_url
            .as_deref()
            .map(checked_public_url)
            .transpose()?;
        Ok(Some(S3Settings {
            endpoint,
            region: self
                .region
                .clone()
                .filter(|r| !r.trim().is_empty())
                .unwrap_or_else(|| "us-east-1".into()),
            bucket,
            access_key_id,
            secret,
            path_style: self.path_style.unwrap_or(true),
            serve: self.serve.unwrap_or(match public_url {
                Some(_) => Serve::Redirect,
                None => Serve::Proxy,
            }),
            public_url,
        }))
    }

    /// Where the secret key comes from: written inline or in a file.
    fn secret(&self, config_dir: &Path) -> Result<Secret> {
        Ok(
            match (&self.secret_access_key, &self.secret_access_key_file) {
                (Some(_), Some(_)) => {
                    return Err(Error::Config(
                        "storage: set secret_access_key or secret_access_key_file, not both".into(),
                    ));
                }
                (Some(s), None) => Secret::Inline(required("secret_access_key", &Some(s.clone()))?),
                (None, Some(f)) => Secret::File(super::beside_dir(config_dir, f)),
                (None, None) => {
                    return Err(Error::Config(
                    "storage.secret_access_key: must be set (or secret_access_key_file) to use an S3 bucket"
                        .into(),
                ));
                }
            },
        )
    }
}

/// A key that must be set (not blank) to use a bucket.
fn required(key: &str, value: &Option<String>) -> Result<String> {
    match value.as_deref().map(str::trim) {
        Some(s) if !s.is_empty() => Ok(s.to_string()),
        _ => Err(Error::Config(format!(
            "storage.{key}: must be set to use an S3 bucket"
        ))),
    }
}

/// `public_url` checked (http(s), a host, no query, no keys), without a trailing slash.
fn checked_public_url(u: &str) -> Result<String> {
    let parsed = url::Url::parse(u).ok().filter(|p| {
        matches!(p.scheme(), "http" | "https")
            && p.host().is_some()
            && p.query().is_none()
            && p.username().is_empty()
            && p.password().is_none()
    });
    if parsed.is_none() {
        return Err(Error::Config(format!(
            "storage.public_url: {u:?} is not an http(s) address such as \"https://media.example.org\""
        )));
    }
    Ok(u.trim_end_matches('/').to_string())
}

/// How often scheduled backups are taken.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum Schedule {
    /// None (the default): only `kith backup`.
    #[default]
    Off,
    Hourly,
    Daily,
    Weekly,
}

impl Schedule {
    /// The time between two backups, in milliseconds (None when off).
    pub fn every_ms(self) -> Option<i64> {
        match self {
            Schedule::Off => None,
            Schedule::Hourly => Some(3600 * 1000),
            Schedule::Daily => Some(24 * 3600 * 1000),
            Schedule::Weekly => Some(7 * 24 * 3600 * 1000),
        }
    }
}

/// The `[backup]` table as written.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Backup {
    /// `off` (the default), `hourly`, `daily` or `weekly`.
    pub schedule: Schedule,
    /// `"s3"` for the bucket of `[storage]`, or a local folder (relative to the config
    /// file); unset with a schedule is an error.
    pub destination: Option<String>,
    /// The key prefix of backups in the bucket; `backups/DOMAIN/` when unset, so two
    /// servers sharing a bucket never prune or restore each other's backups.
    pub prefix: Option<String>,
    /// How many scheduled backups are kept; older ones are removed.
    pub keep: u32,
}

impl Default for Backup {
    fn default() -> Self {
        Backup {
            schedule: Schedule::Off,
            destination: None,
            prefix: None,
            keep: 7,
        }
    }
}

/// Where backups go.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Destination {
    /// The bucket of `[storage]`, under this prefix (ending in `/`).
    Bucket(String),
    /// A folder on this machine.
    Folder(PathBuf),
}

impl Backup {
    /// The key prefix of backups in the bucket (ending in `/`), for the server of
    /// `domain`; an error names a prefix that is not one.
    pub fn bucket_prefix(&self, domain: &str) -> Result<String> {
        let prefix = match &self.prefix {
            Some(p) => p.trim_start_matches('/').to_string(),
            None => format!("backups/{domain}/"),
        };
        if prefix.contains("..") || prefix.chars().any(|c| c.is_control()) || prefix.len() > 200 {
            return Err(Error::Config(format!(
                "backup.prefix: {prefix:?} is not a key prefix such as \"backups/\""
            )));
        }
        let mut prefix = prefix;
        if !prefix.is_empty() && !prefix.ends_with('/') {
            prefix.push('/');
        }
        Ok(prefix)
    }

    /// Checks the table; `has_bucket` says whether `[storage]` names a bucket.
    pub fn check(
        &self,
        config_dir: &Path,
        has_bucket: bool,
        domain: &str,
    ) -> Result<Option<Destination>> {
        if self.keep == 0 || self.keep > 1000 {
            return Err(Error::Config(format!(
                "backup.keep: {} is out of range (1 to 1000)",
                self.keep
            )));
        }
        let prefix = self.bucket_prefix(domain)?;
        let destination = match self.destination.as_deref().map(str::trim) {
            None | Some("") => None,
            Some("s3") => {
                if !has_bucket {
                    return Err(Error::Config(
                        "backup.destination: \"s3\" needs a bucket in [storage] (endpoint, bucket and keys)"
                            .into(),
                    ));
                }
                Some(Destination::Bucket(prefix))
            }
            Some(folder) => Some(Destination::Folder(super::beside_dir(
                config_dir,
                Path::new(folder),
            ))),
        };
        if self.schedule != Schedule::Off && destination.is_none() {
            return Err(Error::Config(
                "backup.destination: a schedule needs a destination: \"s3\" or a folder".into(),
            ));
        }
        Ok(destination)
    }
}
