//! kith: a single-user ActivityPub server in one synchronous binary.
//!
//! Reading order: `config` (what the operator says) → `db` (everything kept, one
//! SQLite file) → `keys`/`password` (identity) → `http` (the tiny_http boundary) →
//! `router` (the one route table) → the faces it dispatches to: `wellknown`
//! (discovery), `ap` (ActivityPub), `web` (HTML), which all ask `visibility` who may
//! see a post. [`start`] wires them into a running [`Server`]; `cli` (the command-line
//! actions) and `portability` (moving in and out, backups) hold the work that happens
//! beside it.

pub mod ap;
pub mod assets;
pub mod auth;
pub mod cards;
pub mod cli;
pub mod config;
pub mod ctx;
pub mod dates;
pub mod db;
pub mod doctor;
pub(crate) mod domain;
pub mod error;
pub mod events;
pub mod fetch;
pub mod first_run;
pub mod heap;
pub mod http;
pub mod ids;
pub mod key_fetches;
pub mod keys;
pub mod mastodon;
pub mod media;
pub mod password;
pub mod portability;
pub mod process;
pub mod push;
pub(crate) mod ratelimit;
pub(crate) mod restart;
pub(crate) mod router;
pub mod sig;
pub mod storage;
pub mod text;
pub mod visibility;
pub mod wake;
pub mod web;
pub(crate) mod wellknown;
pub mod workers;

use crate::config::Config;
pub use crate::ctx::Ctx;
use crate::db::Db;
use crate::error::{Error, Result};
use std::fs::File;
use std::sync::Arc;
use std::time::Duration;

/// The Mastodon version whose client API kith follows.
pub const MASTODON_API_VERSION: &str = "4.3.0";

/// A running kith: the HTTP server, its context and the data directory lock.
pub struct Server {
    http: http::HttpServer,
    workers: workers::Workers,
    ctx: Arc<Ctx>,
    _lock: File,
    /// The generated login password, when this start created the account.
    pub first_run_password: Option<String>,
}

impl Server {
    /// The address the HTTP server is bound to.
    pub fn addr(&self) -> std::net::SocketAddr {
        self.http.addr()
    }

    /// The shared context (tests and benchmarks).
    pub fn ctx(&self) -> &Arc<Ctx> {
        &self.ctx
    }

    /// Stops accepting requests, finishes in-flight ones, closes the open streams, and
    /// closes the database.
    pub fn shutdown(self) {
        self.http.shutdown();
        self.ctx.streams.close_all();
        self.workers.shutdown();
        self.ctx.db.close();
    }
}

/// Opens the database of an existing account, for the commands beside the server.
/// A data directory without an account is refused with "no kith account in PATH: run
/// kith init or kith serve first", and nothing is created: only [`prepare`] and
/// [`start`] make an account.
pub fn open_storage(config: &Config) -> Result<Db> {
    if !config.db_path().is_file() {
        return Err(first_run::no_account(config));
    }
    let db = open_db(config)?;
    match db.read(db::account::find)? {
        Some(account) => first_run::check_username(config, &account.username).map(|()| db),
        None => Err(first_run::no_account(config)),
    }
}

/// Opens the data directory and database, creating the account on first use.
/// Returns the database and, when the account was just created, its password.
fn create_storage(config: &Config) -> Result<(Db, Option<String>)> {
    create_data_dir(config)?;
    let db = open_db(config)?;
    let password = first_run::ensure_account(&db, config)?;
    Ok((db, password))
}

/// Opens the database file; a failure names the file (a busy database stays `Busy`).
fn open_db(config: &Config) -> Result<Db> {
    let path = config.db_path();
    Db::open(&path).map_err(|e| match e {
        Error::Busy => Error::Busy,
        other => Error::Io(std::io::Error::other(format!(
            "cannot open the database {}: {}; check that kith's user may read and write it",
            path.display(),
            cli::sentence(&other)
        ))),
    })
}

fn create_data_dir(config: &Config) -> Result<()> {
    let dir = &config.data_dir;
    std::fs::create_dir_all(dir)
        .map_err(|e| Error::Config(format!("data_dir: cannot create {}: {e}", dir.display())))?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let _ = std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700));
    }
    Ok(())
}

/// Takes the data directory's lock, so a second `kith serve` cannot share it.
fn lock_data_dir(config: &Config) -> Result<File> {
    let path = config.data_dir.join("kith.lock");
    let file = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&path)
        .map_err(|e| Error::Config(format!("data_dir: cannot open {}: {e}", path.display())))?;
    match file.try_lock() {
        Ok(()) => Ok(file),
        Err(std::fs::TryLockError::WouldBlock) => Err(Error::Config(format!(
            "data_dir: {} is in use by another running kith serve; stop it first",
            config.data_dir.display()
        ))),
        Err(std::fs::TryLockError::Error(e)) => Err(Error::Io(e)),
    }
}

/// A context for command-line actions that sign, fetch and queue deliveries beside a
/// running server (or none): the same database, key and guarded client, but no HTTP
/// server and no workers. What it queues, a running server's workers send within a
/// few seconds; a stopped one sends it when it starts.
pub fn cli_context(config: Config) -> Result<Arc<Ctx>> {
    let db = open_storage(&config)?;
    let media = storage::Storage::open(&config)?;
    Ok(Arc::new(context(config, db, media)?))
}

/// The shared context over an opened database: the account's key loaded, a guarded
/// client, and empty rate limiters, wake-ups and streams.
fn context(config: Config, db: Db, storage: storage::Storage) -> Result<Ctx> {
    let account = db.read(db::account::get)?;
    let key = keys::load(&account.private_key_der)?;
    Ok(Ctx {
        limiter: ratelimit::RateLimiter::new(Duration::from_secs(config.limits.window_secs)),
        fetcher: fetch::Fetcher::new(&config),
        wake: wake::Wake::default(),
        key_fetches: key_fetches::KeyFetches::default(),
        login_delays: ratelimit::LoginDelays::default(),
        mac_key: keys::MacKey::from_private_key(&account.private_key_der),
        streams: mastodon::streaming::Hub::default(),
        listeners: ctx::Listeners::new(vec![mastodon::streaming::on_event, push::on_event]),
        key,
        db,
        storage,
        config,
    })
}

/// Sets up a data directory under its lock: the database, the key pair and the
/// account. Returns the generated login password when this call created the account.
/// `kith serve` runs it first and, when it created the account, starts itself afresh
/// ([`start`] then finds everything in place), so the memory that key generation and
/// hashing touched is not carried into the running server.
pub fn prepare(config: &Config) -> Result<Option<String>> {
    create_data_dir(config)?;
    let _lock = lock_data_dir(config)?;
    let (_db, password) = create_storage(config)?;
    Ok(password)
}

/// Checks that the listen address can be bound (and lets it go again), so `kith serve`
/// can stop before it creates anything when the port is taken.
pub fn check_listen(config: &Config) -> Result<()> {
    bind(config).map(drop)
}

fn bind(config: &Config) -> Result<std::net::TcpListener> {
    http::bind(config.listen).map_err(|e| {
        let why = match e {
            Error::Io(io) if io.kind() == std::io::ErrorKind::AddrInUse => {
                "another program (or another kith serve) is using it; stop that or change listen"
                    .to_string()
            }
            Error::Io(io) => io.to_string(),
            other => other.to_string(),
        };
        Error::Config(format!("listen: cannot listen on {}: {why}", config.listen))
    })
}

/// Starts kith: storage, account, HTTP server. Returns once it is answering.
pub fn start(config: Config) -> Result<Server> {
    heap::return_large_blocks();
    // The address first: a port in use stops kith before anything is created.
    let listener = bind(&config)?;
    create_data_dir(&config)?;
    let lock = lock_data_dir(&config)?;
    // Uploads and exports in progress when kith last stopped are of no use now; only
    // `kith serve` (which holds the lock) writes there.
    let _ = std::fs::remove_dir_all(config.scratch_dir());
    // A bucket that does not answer or refuses the keys stops kith now, naming the key
    // to fix, rather than failing the first upload.
    let media = storage::Storage::open(&config)?;
    media.check_at_start()?;
    let (db, first_run_password) = create_storage(&config)?;
    let ctx = Arc::new(context(config, db, media)?);
    let opts = http::HttpOptions {
        threads: ctx.config.http_threads,
        idle_timeout: Duration::from_secs(ctx.config.idle_timeout_secs),
        max_connections: ctx.config.max_connections,
        max_per_address: ctx.config.max_connections_per_address,
        trusted_proxies: ctx.config.trusted_proxies.clone(),
        scratch_dir: ctx.config.scratch_dir(),
    };
    let http = http::HttpServer::start(listener, opts, Arc::new(router::Router::new(ctx.clone())))?;
    let workers = workers::start(ctx.clone(), inbox_step, background_step);
    Ok(Server {
        http,
        workers,
        ctx,
        _lock: lock,
        first_run_password,
    })
}

/// The background worker's step: a scheduled backup when one is due, then the link
/// previews; neither holds up the inbox or deliveries.
fn background_step(ctx: &Ctx) -> Result<usize> {
    let backed_up = usize::from(portability::backups::run_if_due(ctx));
    Ok(cards::run_once(ctx)? + backed_up)
}

/// The inbox workers' step; worker 0 also publishes the scheduled posts that fell due,
/// so they go out within the workers' poll interval (a few seconds) of their time, and
/// those that fell due while kith was stopped go out at its first step.
fn inbox_step(ctx: &Ctx, worker: usize, workers: usize) -> Result<usize> {
    let published = match worker {
        0 => process::scheduled::publish_due(ctx),
        _ => 0,
    };
    Ok(process::inbound::run_once(ctx, worker, workers)? + published)
}
