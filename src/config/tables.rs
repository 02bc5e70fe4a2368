//! The tables of the configuration file, each with its defaults: `[federation]`,
//! `[limits]`, `[media]`, `[retention]`, `[instance]`, and the address blocks of
//! `trusted_proxies`. Parsing and checking the whole file is `config`'s.

use serde::Deserialize;
use std::net::IpAddr;

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
    /// Fetch the first link of posts for a preview card (off: no page fetches, no cards).
    pub link_previews: bool,
}

impl Default for Federation {
    fn default() -> Self {
        Federation {
            allow_private_addresses: false,
            delivery_workers: 0,
            fetch_timeout_secs: 30,
            link_previews: true,
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
