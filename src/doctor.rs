//! `kith doctor`: checks that tell the owner whether federation works, each with ✓ or ✗
//! and one line on how to fix it — the configuration, the data directory (writable,
//! free disk, database integrity, write-ahead log), what peers see at the public URL
//! (the actor and WebFinger fetched through the network, the proxy passing the scheme,
//! host and client address), the clock against the `Date` of recent deliveries, the
//! delivery queue and the peers that stopped answering, and inbound health (the last
//! accepted activity, signature failures by host), the media bucket when there is one
//! and the age of the last good backup. The command line prints them; the
//! settings page shows the same list.

use crate::ctx::Ctx;
use crate::db;
use crate::fetch::probe::{Probed, probe};
use serde_json::Value;

/// The data the probe token is the MAC of.
pub const PROBE: &str = "doctor-probe";
const DAY_MS: i64 = 24 * 60 * 60 * 1000;
/// Free disk below which the check fails.
const MIN_FREE_BYTES: u64 = 512 * 1024 * 1024;
/// A write-ahead log larger than this means checkpoints are not keeping up.
const MAX_WAL_BYTES: u64 = 64 * 1024 * 1024;
/// A clock further off than this breaks signatures for some peers.
const MAX_SKEW_MS: i64 = 60 * 1000;

/// One check's outcome.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Check {
    /// What was checked.
    pub name: &'static str,
    /// Whether it passed.
    pub ok: bool,
    /// What was found.
    pub detail: String,
    /// How to fix it, when it failed.
    pub fix: Option<String>,
}

fn pass(name: &'static str, detail: impl Into<String>) -> Check {
    Check {
        name,
        ok: true,
        detail: detail.into(),
        fix: None,
    }
}

fn fail(name: &'static str, detail: impl Into<String>, fix: impl Into<String>) -> Check {
    Check {
        name,
        ok: false,
        detail: detail.into(),
        fix: Some(fix.into()),
    }
}

/// Runs every check. `network` says whether the public URL is probed (the web page
/// asks for it; tests of the storage checks need not).
pub fn run(ctx: &Ctx, network: bool) -> Vec<Check> {
    let now = db::now_ms();
    let mut checks = vec![pass(
        "configuration",
        format!("valid; public URL {}", ctx.config.public_url),
    )];
    checks.push(data_dir(ctx));
    checks.push(free_disk(ctx));
    checks.push(integrity(ctx));
    checks.push(wal(ctx));
    checks.push(sizes(ctx));
    if ctx.storage.bucket().is_some() {
        checks.push(bucket(ctx));
    }
    checks.push(backups(ctx, now));
    if network {
        checks.push(public_actor(ctx));
        checks.push(webfinger(ctx));
        checks.push(proxy_headers(ctx));
    }
    checks.push(clock(ctx, now));
    checks.push(deliveries(ctx, now));
    checks.push(inbound(ctx, now));
    checks
}

fn data_dir(ctx: &Ctx) -> Check {
    let name = "data directory writable";
    let dir = &ctx.config.data_dir;
    let path = dir.join(".doctor-write-test");
    match std::fs::write(&path, b"kith") {
        Ok(()) => {
            let _ = std::fs::remove_file(&path);
            pass(name, dir.display().to_string())
        }
        Err(e) => fail(
            name,
            format!("{}: {e}", dir.display()),
            "give the user kith runs as write access to the data directory (chown or a systemd StateDirectory)",
        ),
    }
}

fn free_disk(ctx: &Ctx) -> Check {
    let name = "free disk";
    match free_bytes(&ctx.config.data_dir) {
        Some(free) if free >= MIN_FREE_BYTES => pass(name, format!("{} free", mib(free))),
        Some(free) => fail(
            name,
            format!("only {} free", mib(free)),
            "free space on the data directory's disk, or lower [retention] and [media] cache_max_mb",
        ),
        None => fail(
            name,
            "cannot read the free space",
            "check that the data directory exists",
        ),
    }
}

/// Bytes free for an unprivileged user on the file system holding `path`.
fn free_bytes(path: &std::path::Path) -> Option<u64> {
    use std::os::unix::ffi::OsStrExt;
    let c = std::ffi::CString::new(path.as_os_str().as_bytes()).ok()?;
    // SAFETY: `c` is a valid NUL-terminated path and `stat` a properly sized buffer
    // that statvfs fills in.
    let mut stat: libc::statvfs = unsafe { std::mem::zeroed() };
    let rc = unsafe { libc::statvfs(c.as_ptr(), &mut stat) };
    (rc == 0).then(|| (stat.f_bavail as u64).saturating_mul(stat.f_frsize as u64))
}

fn mib(bytes: u64) -> String {
    format!("{:.1} MiB", bytes as f64 / (1024.0 * 1024.0))
}

fn integrity(ctx: &Ctx) -> Check {
    let name = "database integrity";
    match ctx.db.read(db::doctor::quick_check) {
        Ok(result) if result == "ok" => pass(name, "quick_check: ok"),
        Ok(result) => fail(
            name,
            format!("quick_check: {result}"),
            "stop kith, then restore the last backup (kith restore) or run sqlite3's .recover",
        ),
        Err(e) => fail(
            name,
            e.to_string(),
            "check the database file and its permissions",
        ),
    }
}

fn wal(ctx: &Ctx) -> Check {
    let name = "write-ahead log";
    let mut path = ctx.config.db_path().into_os_string();
    path.push("-wal");
    let size = std::fs::metadata(&path).map(|m| m.len()).unwrap_or(0);
    if size <= MAX_WAL_BYTES {
        pass(name, mib(size))
    } else {
        fail(
            name,
            format!("{} (checkpoints are not keeping up)", mib(size)),
            "look for a long-running reader of the database (a backup or sqlite3 left open) and stop it",
        )
    }
}

fn sizes(ctx: &Ctx) -> Check {
    let sizes = ctx.db.read(|c| {
        Ok((
            db::retention::database_bytes(c)?,
            db::media::cached_total(c)?,
        ))
    });
    match sizes {
        Ok((database, cache)) => pass(
            "storage",
            format!(
                "database {}, remote media cache {} of {} MiB",
                mib(database.max(0) as u64),
                mib(cache.max(0) as u64),
                ctx.config.media.cache_max_mb
            ),
        ),
        Err(e) => fail("storage", e.to_string(), "check the database file"),
    }
}

fn bucket(ctx: &Ctx) -> Check {
    let name = "media bucket";
    let Some(s3) = ctx.storage.bucket() else {
        return pass(name, "none configured");
    };
    match s3.check() {
        Ok(()) => pass(
            name,
            format!(
                "{} answers and takes the keys; new media go to {}",
                s3.name(),
                match ctx.storage.backend() {
                    crate::config::Backend::S3 => "the bucket",
                    crate::config::Backend::Local => "the data directory",
                }
            ),
        ),
        Err(e) => fail(
            name,
            e.to_string(),
            "check [storage] endpoint, bucket, region and keys, and that the S3 server runs",
        ),
    }
}

/// How long before `now` the time `ms` was: "5 h ago", "3 days ago".
fn ago(now: i64, ms: i64) -> String {
    let hours = (now - ms).max(0) / 3_600_000;
    if hours < 48 {
        format!("{hours} h ago")
    } else {
        format!("{} days ago", hours / 24)
    }
}

fn backups(ctx: &Ctx, now: i64) -> Check {
    let name = "backups";
    let every = ctx.config.backup.schedule.every_ms();
    let (last_good, last) = match ctx
        .db
        .read(|c| Ok((db::backups::last_good(c)?, db::backups::last_attempt(c)?)))
    {
        Ok(rows) => rows,
        Err(e) => return fail(name, e.to_string(), "check the database file"),
    };
    let age = |ms: i64| ago(now, ms);
    let fix = "check [backup] destination (and [storage] for s3) and the server's log";
    if let Some(row) = last.as_ref().filter(|r| r.error.is_some()) {
        return fail(
            name,
            format!(
                "the last attempt, {}, failed: {}{}",
                age(row.taken_at),
                row.error.as_deref().unwrap_or_default(),
                last_good
                    .as_ref()
                    .map(|g| format!("; the last good one was {}", age(g.taken_at)))
                    .unwrap_or_default()
            ),
            fix,
        );
    }
    let Some(good) = last_good else {
        return match every {
            None => pass(
                name,
                "none taken by kith; set [backup] schedule and destination to keep copies off this disk",
            ),
            Some(_) => fail(name, "no backup yet", fix),
        };
    };
    if let Some(every) = every
        && now - good.taken_at > 2 * every
    {
        return fail(
            name,
            format!(
                "the last good backup was taken {} ({})",
                age(good.taken_at),
                good.name
            ),
            fix,
        );
    }
    // A backup holds the account's key: nobody may read it without the bucket's keys.
    if let (Some(prefix), Some(s3)) = (good.destination.strip_prefix("s3:"), ctx.storage.bucket())
        && let Some(url) = s3.readable_by_anyone(&format!("{prefix}{}", good.name))
    {
        return fail(
            name,
            format!("anyone can read the last backup, which holds the account's key, at {url}"),
            "make the bucket private: only media/ and cache/ may be public (a policy on those prefixes)",
        );
    }
    pass(
        name,
        format!(
            "last good {} ({}, {})",
            age(good.taken_at),
            good.name,
            good.destination
        ),
    )
}

/// Probes `url`, turning a failure into a failed check.
fn fetch(name: &'static str, url: &str, accept: &str) -> std::result::Result<Probed, Check> {
    probe(url, accept).map_err(|e| {
        fail(
            name,
            e.public_message(),
            "make the public URL reach kith: DNS, the reverse proxy and its certificate (docs/reverse-proxy.md)",
        )
    })
}

fn public_actor(ctx: &Ctx) -> Check {
    let name = "actor at the public URL";
    let url = ctx.config.actor_url();
    let got = match fetch(name, &url, crate::fetch::ACTIVITY_ACCEPT) {
        Ok(got) => got,
        Err(check) => return check,
    };
    let doc: Value = serde_json::from_slice(&got.body).unwrap_or(Value::Null);
    match (got.status, doc.get("id").and_then(Value::as_str)) {
        (200, Some(id)) if id == url => pass(name, format!("{url} answers as itself")),
        (200, Some(id)) => fail(
            name,
            format!("{url} answers with id {id}"),
            "set public_url to the address peers use (scheme and host), and let the proxy pass Host unchanged",
        ),
        (status, _) => fail(
            name,
            format!("{url} answered {status}{}", redirect_note(&got)),
            "point the proxy's site at kith's listen address and pass every path through",
        ),
    }
}

fn redirect_note(got: &Probed) -> String {
    got.location
        .as_deref()
        .map(|l| format!(" (redirect to {l})"))
        .unwrap_or_default()
}

fn webfinger(ctx: &Ctx) -> Check {
    let name = "WebFinger";
    let c = &ctx.config;
    let resource = format!("acct:{}@{}", c.username, c.domain);
    let url = format!("{}/.well-known/webfinger?resource={resource}", c.public_url);
    let got = match fetch(name, &url, "application/jrd+json") {
        Ok(got) => got,
        Err(check) => return check,
    };
    let doc: Value = serde_json::from_slice(&got.body).unwrap_or(Value::Null);
    let self_link = doc
        .get("links")
        .and_then(Value::as_array)
        .and_then(|links| {
            links
                .iter()
                .find(|l| l.get("rel").and_then(Value::as_str) == Some("self"))
        })
        .and_then(|l| l.get("href"))
        .and_then(Value::as_str);
    if got.status == 200 && self_link == Some(c.actor_url().as_str()) {
        pass(name, format!("{resource} finds {}", c.actor_url()))
    } else {
        fail(
            name,
            format!("{url} answered {}{}", got.status, redirect_note(&got)),
            "pass /.well-known/ through the proxy to kith, on the host of public_url",
        )
    }
}

fn proxy_headers(ctx: &Ctx) -> Check {
    let name = "proxy headers";
    let c = &ctx.config;
    let url = format!("{}/health?probe={}", c.public_url, ctx.mac(PROBE));
    let got = match fetch(name, &url, "application/json") {
        Ok(got) => got,
        Err(check) => return check,
    };
    let doc: Value = serde_json::from_slice(&got.body).unwrap_or(Value::Null);
    let seen = &doc["seen"];
    let proto = seen["proto"].as_str();
    let host = seen["host"].as_str().unwrap_or("");
    let forwarded = seen["forwarded_for"].as_bool().unwrap_or(false);
    let behind_proxy = c.scheme == "https";
    let mut problems = Vec::new();
    if behind_proxy && proto != Some("https") {
        problems.push(format!(
            "X-Forwarded-Proto is {}",
            proto.unwrap_or("missing")
        ));
    }
    if !host.eq_ignore_ascii_case(&c.domain) {
        problems.push(format!("Host is {host:?}, not {:?}", c.domain));
    }
    if behind_proxy && !forwarded {
        problems.push("X-Forwarded-For is missing".into());
    }
    if seen.is_null() {
        return fail(
            name,
            format!("{url} answered {} without kith's probe answer", got.status),
            "route /health to kith",
        );
    }
    if problems.is_empty() {
        pass(name, "scheme, host and client address reach kith")
    } else {
        fail(
            name,
            problems.join("; "),
            "set the proxy headers as in docs/reverse-proxy.md (Host, X-Forwarded-Proto, X-Forwarded-For)",
        )
    }
}

fn clock(ctx: &Ctx, now: i64) -> Check {
    let name = "clock";
    match ctx.db.read(|c| db::doctor::median_skew(c, now - DAY_MS)) {
        Ok(None) => pass(name, "no deliveries in the last day to compare with"),
        Ok(Some((skew, n))) if skew.abs() <= MAX_SKEW_MS => pass(
            name,
            format!(
                "within {} s of {n} peers' clocks (median)",
                skew.abs() / 1000
            ),
        ),
        Ok(Some((skew, n))) => fail(
            name,
            format!(
                "{} s {} {n} peers' clocks (median)",
                skew.abs() / 1000,
                if skew > 0 { "ahead of" } else { "behind" }
            ),
            "synchronise the system clock (systemd-timesyncd or chrony)",
        ),
        Err(e) => fail(name, e.to_string(), "check the database"),
    }
}

fn deliveries(ctx: &Ctx, now: i64) -> Check {
    let name = "deliveries";
    let read = ctx.db.read(|c| {
        Ok((
            db::doctor::delivery_backlog(c, now)?,
            db::doctor::troubled_hosts(c)?,
        ))
    });
    let ((queued, oldest_due), troubled) = match read {
        Ok(found) => found,
        Err(e) => return fail(name, e.to_string(), "check the database"),
    };
    let overdue = oldest_due.map(|due| now - due).unwrap_or(0);
    let unavailable: Vec<String> = troubled
        .iter()
        .filter(|h| h.unavailable || h.failure_days >= 7)
        .map(|h| {
            let since = h.last_success_at.map_or("never answered".to_string(), |t| {
                format!("last success {} days ago", (now - t) / DAY_MS)
            });
            format!("{} ({} days failing, {since})", h.host, h.failure_days)
        })
        .collect();
    let detail = format!(
        "{queued} queued{}",
        if overdue > 0 {
            format!(", oldest due {} min ago", overdue / 60_000)
        } else {
            String::new()
        }
    );
    if overdue > 60 * 60 * 1000 {
        fail(
            name,
            detail,
            "deliveries are not going out: check that kith serve runs and can reach the network (kith queue)",
        )
    } else if !unavailable.is_empty() {
        fail(
            name,
            format!("{detail}; refusing for days: {}", unavailable.join(", ")),
            "these servers refused every delivery; see kith queue for their answers (they may have blocked you or gone)",
        )
    } else {
        pass(name, detail)
    }
}

fn inbound(ctx: &Ctx, now: i64) -> Check {
    let name = "inbound";
    let read = ctx.db.read(|c| {
        Ok((
            db::doctor::last_accepted_at(c)?,
            db::doctor::signature_failures(c, now - DAY_MS)?,
        ))
    });
    let (last, failures) = match read {
        Ok(found) => found,
        Err(e) => return fail(name, e.to_string(), "check the database"),
    };
    let last_text = last.map_or("none accepted yet".to_string(), |t| {
        format!("last activity accepted {} min ago", (now - t) / 60_000)
    });
    let many: Vec<String> = failures
        .iter()
        .filter(|(_, n)| *n >= 10)
        .map(|(host, n)| format!("{host}: {n}"))
        .collect();
    if many.is_empty() {
        pass(name, last_text)
    } else {
        fail(
            name,
            format!(
                "{last_text}; signature failures in the last day: {}",
                many.join(", ")
            ),
            "if every host fails, the proxy changes the request (Host, path) or the clock is off; if one does, it is that server's trouble",
        )
    }
}

/// The checks as text, one line each (`✓ name: detail` / `✗ name: detail — fix`).
pub fn render(checks: &[Check]) -> String {
    checks
        .iter()
        .map(|c| match &c.fix {
            None => format!("✓ {}: {}\n", c.name, c.detail),
            Some(fix) => format!("✗ {}: {}\n    fix: {fix}\n", c.name, c.detail),
        })
        .collect()
}
