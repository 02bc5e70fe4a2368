//! `kith import mastodon-archive`: a Mastodon account archive becomes the account's own
//! history. Posts keep their dates, visibility, content warnings, polls, hashtags,
//! mentions and media; a reply whose parent is also in the archive is pointed at the
//! imported parent, other replies keep their `inReplyTo`; boosts, likes and bookmarks
//! are kept by the URL of their post, which is fetched afterwards (posts that cannot
//! be fetched are retried by the next run). Imported posts get new ids on kith, are
//! delivered to no one and notify no one.
//!
//! All or nothing: the whole archive is read and checked first (every item parsed,
//! every media path checked, a packed archive unpacked and its checksums verified);
//! a damaged or unsafe archive is refused, naming the problem, before anything is
//! written. Then posts are written in small transactions, so a running server is never
//! locked out for long. An import cut short (power loss, a full disk) is finished by
//! running it again: every archive item is remembered by its id, so importing the same
//! archive twice imports nothing new.
//!
//! Media are stored exactly as uploads are, by `attachments`; a file that cannot be
//! stored is reported and left out, and its post is imported without it. The profile
//! in `actor.json` is `profile`'s.
//!
//! Memory: the archive's items are streamed one at a time (`outbox_stream`), video and
//! audio are streamed, and an image is read whole only while it is processed.

use super::archive::{self, Archive, Limits};
use super::attachments::{self, ArchivedMedia};
use super::outbox_stream::for_each_item;
use super::{profile, progress, refused};
use crate::ap::note::{NOTE_TYPES, local_url, parse_note};
use crate::ap::resolve::id_of;
use crate::ctx::Ctx;
use crate::db::Conn;
use crate::db::posts::{Attachment, Parts, Post};
use crate::db::{self, media::Media, portability, posts};
use crate::error::{Error, Result};
use serde_json::Value;
use std::path::Path;

pub use super::refs::{find_or_fetch_post, resolve_refs};

/// How an import runs.
#[derive(Debug, Clone)]
pub struct Options {
    pub limits: Limits,
    /// Fetch the posts of boosts, likes and bookmarks (network).
    pub resolve: bool,
    /// Items written per transaction.
    pub batch: usize,
    /// Print progress to stderr.
    pub progress: bool,
    /// Replace the profile (display name, bio, fields, avatar, header) with the
    /// archive's; otherwise only what is still unset on kith is filled.
    pub overwrite_profile: bool,
}

impl Default for Options {
    fn default() -> Options {
        Options {
            limits: Limits::default(),
            resolve: true,
            batch: 200,
            progress: true,
            overwrite_profile: false,
        }
    }
}

/// What an import did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Report {
    /// Items in `outbox.json`.
    pub items: u64,
    /// Posts imported by this run.
    pub posts: u64,
    /// Posts imported before (or already on kith).
    pub already: u64,
    /// Media files stored.
    pub media: u64,
    /// Attachments whose file is missing from the archive.
    pub media_missing: u64,
    /// Attachments whose file could not be stored (unknown type, corrupt, over a limit).
    pub media_failed: u64,
    /// Why files were left out, one line each (the first [`MAX_PROBLEMS`]).
    pub problems: Vec<String>,
    /// Problem lines past the first [`MAX_PROBLEMS`] (printed, not kept).
    pub problems_more: u64,
    /// The parts of the profile this run set (display name, bio, fields, avatar, header).
    pub profile_set: Vec<String>,
    /// The parts of the profile the archive has but kith kept, as they were set already.
    pub profile_kept: Vec<String>,
    /// Items left out: other types than `Create` and `Announce`, or by another account.
    pub skipped: u64,
    /// Boosts, likes and bookmarks newly recorded.
    pub refs_new: u64,
    /// Boosts, likes and bookmarks whose post was found or fetched by this run.
    pub refs_resolved: u64,
    /// Boosts, likes and bookmarks still waiting for their post.
    pub refs_open: u64,
    /// Replies pointed at their imported parents.
    pub replies_linked: u64,
}

/// The most problem lines a [`Report`] keeps (all are printed as they happen).
pub const MAX_PROBLEMS: usize = 100;

impl Report {
    /// One paragraph for the operator, then the problems, one a line.
    pub fn summary(&self) -> String {
        let mut text = format!(
            "Imported {} posts ({} were there already) with {} media files from {} archive items; \
             {} items left out; {} attachments missing from the archive and {} that could not be \
             stored (their posts were imported without them). Boosts, likes and bookmarks: \
             {} new, {} resolved now, {} still waiting for their post (run the import again to retry).",
            self.posts,
            self.already,
            self.media,
            self.items,
            self.skipped,
            self.media_missing,
            self.media_failed,
            self.refs_new,
            self.refs_resolved,
            self.refs_open
        );
        text.push_str(&profile::summary(&self.profile_set, &self.profile_kept));
        for line in &self.problems {
            text.push_str("\n  ");
            text.push_str(line);
        }
        if self.problems_more > 0 {
            text.push_str(&format!(
                "\n  … and {} more (printed above)",
                self.problems_more
            ));
        }
        text
    }

    /// Records why a file was left out, printing it at once when `print`.
    pub fn problem(&mut self, line: String, print: bool) {
        if print {
            eprintln!("import: {line}");
        }
        if self.problems.len() < MAX_PROBLEMS {
            self.problems.push(line);
        } else {
            self.problems_more += 1;
        }
    }
}

/// The archive's account: its id and followers collection (for visibility), and its
/// profile.
#[derive(Debug, Clone)]
struct ArchiveActor {
    id: String,
    followers: Option<String>,
    profile: profile::ArchivedProfile,
}

/// An `outbox.json` item, checked.
enum Item {
    Post(Box<ArchivedPost>),
    Boost {
        source: String,
        object: String,
        published: i64,
    },
    Skip,
}

struct ArchivedPost {
    post: Post,
    parts: Parts,
    media: Vec<ArchivedMedia>,
}

/// Imports the archive at `path` (zip, tar.gz or directory). One at a time: a second
/// import while one runs (from the settings page or the command line) is refused.
pub fn import_archive(ctx: &Ctx, path: &Path, opts: &Options) -> Result<Report> {
    let _only_import = lock_imports(&ctx.config.data_dir)?;
    if opts.progress {
        eprintln!(
            "import: reading and checking {} (nothing is written until it is all checked)",
            path.display()
        );
    }
    let archive = archive::open(path, &ctx.config.data_dir, &opts.limits)?;
    let actor = read_actor(&archive, &opts.limits)?;
    let mut report = Report::default();
    check(&archive, &actor, opts, &mut report)?;
    if opts.progress {
        eprintln!(
            "import: the archive is sound: {} items, {} files kept",
            report.items,
            archive.len()
        );
    }
    write_posts(ctx, &archive, &actor, opts, &mut report)?;
    report.replies_linked = ctx.db.write(portability::link_imported_replies)? as u64;
    for (file, kind) in [("likes.json", "like"), ("bookmarks.json", "bookmark")] {
        report.refs_new += write_refs(ctx, &archive, file, kind, opts)?;
    }
    profile::import(ctx, &archive, &actor.profile, opts, &mut report)?;
    drop(archive);
    if opts.resolve {
        resolve_refs(ctx, opts, &mut report)?;
    }
    report.refs_open = ctx.db.read(portability::count_open_refs)? as u64;
    Ok(report)
}

/// Takes `import.lock` in the data directory for as long as the file is held. The lock
/// belongs to the open file, so it keeps out imports in this process and in others.
fn lock_imports(data_dir: &Path) -> Result<std::fs::File> {
    let file = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(data_dir.join("import.lock"))?;
    match file.try_lock() {
        Ok(()) => Ok(file),
        Err(std::fs::TryLockError::WouldBlock) => Err(Error::Conflict(
            "Another import is running (from the settings page or `kith import`); \
             try again when it has finished"
                .into(),
        )),
        Err(std::fs::TryLockError::Error(e)) => Err(Error::Io(e)),
    }
}

fn read_actor(archive: &Archive, limits: &Limits) -> Result<ArchiveActor> {
    let mut text = String::new();
    use std::io::Read;
    archive
        .open("actor.json")?
        .ok_or_else(|| refused("the archive has no actor.json"))?
        .take(limits.max_actor_bytes + 1)
        .read_to_string(&mut text)
        .map_err(|e| refused(format!("actor.json cannot be read: {e}")))?;
    let doc: Value = serde_json::from_str(&text)
        .map_err(|e| refused(format!("actor.json is not valid JSON: {e}")))?;
    let id = doc
        .get("id")
        .and_then(Value::as_str)
        .filter(|s| url::Url::parse(s).is_ok())
        .ok_or_else(|| refused("actor.json has no id URL"))?;
    Ok(ArchiveActor {
        id: id.to_string(),
        followers: doc
            .get("followers")
            .and_then(Value::as_str)
            .map(str::to_string),
        profile: profile::parse(&doc),
    })
}

/// Reads every item once, refusing the archive at the first problem; counts them.
fn check(
    archive: &Archive,
    actor: &ArchiveActor,
    opts: &Options,
    report: &mut Report,
) -> Result<()> {
    let reader = archive
        .open("outbox.json")?
        .ok_or_else(|| refused("the archive has no outbox.json"))?;
    let now = db::now_ms();
    let summary = for_each_item(
        "outbox.json",
        reader,
        opts.limits.max_item_bytes,
        |n, value| {
            if let Item::Post(p) = convert(&value, actor, n, now)? {
                for m in &p.media {
                    archive.media(&m.url)?;
                }
            }
            Ok(())
        },
    )?;
    report.items = summary.items;
    profile::check(archive, &actor.profile)?;
    for file in ["likes.json", "bookmarks.json"] {
        if let Some(reader) = archive.open(file)? {
            for_each_item(file, reader, 64 * 1024, |n, value| {
                ref_url(file, n, &value).map(|_| ())
            })?;
        }
    }
    Ok(())
}

/// The URL an item of `likes.json` or `bookmarks.json` names.
fn ref_url(file: &str, n: u64, value: &Value) -> Result<String> {
    id_of(value)
        .filter(|s| url::Url::parse(s).is_ok_and(|u| matches!(u.scheme(), "http" | "https")))
        .map(str::to_string)
        .ok_or_else(|| refused(format!("{file}: item {} is not a post URL", n + 1)))
}

/// Turns one `outbox.json` item into what is stored; malformed items refuse the archive.
fn convert(item: &Value, actor: &ArchiveActor, n: u64, now: i64) -> Result<Item> {
    let at = |why: String| refused(format!("outbox.json: item {}: {why}", n + 1));
    let kind = item
        .get("type")
        .and_then(Value::as_str)
        .ok_or_else(|| at("it has no type".into()))?;
    match kind {
        "Create" => {
            let object = item
                .get("object")
                .filter(|o| o.is_object())
                .ok_or_else(|| at("a Create without its object".into()))?;
            if !object
                .get("type")
                .and_then(Value::as_str)
                .is_some_and(|t| NOTE_TYPES.contains(&t))
            {
                return Ok(Item::Skip);
            }
            let note = parse_note(object, actor.followers.as_deref(), now)
                .map_err(|e| at(e.public_message()))?;
            if note.author_uri != actor.id {
                return Ok(Item::Skip);
            }
            let mut post = note.post;
            post.edited_at = note.updated_at.filter(|u| *u > post.published_at);
            let mut parts = note.parts;
            parts.attachments.clear();
            Ok(Item::Post(Box::new(ArchivedPost {
                post,
                parts,
                media: attachments::parse(object).map_err(|e| at(e.public_message()))?,
            })))
        }
        "Announce" => {
            let source = item
                .get("id")
                .and_then(Value::as_str)
                .ok_or_else(|| at("an Announce without id".into()))?;
            let object = item
                .get("object")
                .and_then(id_of)
                .filter(|o| url::Url::parse(o).is_ok())
                .ok_or_else(|| at("an Announce without the URL of its post".into()))?;
            let published = item
                .get("published")
                .and_then(Value::as_str)
                .and_then(crate::dates::parse_rfc3339)
                .unwrap_or(now)
                .min(now);
            Ok(Item::Boost {
                source: source.to_string(),
                object: object.to_string(),
                published,
            })
        }
        _ => Ok(Item::Skip),
    }
}

/// Streams `outbox.json` again and writes its posts in batches.
fn write_posts(
    ctx: &Ctx,
    archive: &Archive,
    actor: &ArchiveActor,
    opts: &Options,
    report: &mut Report,
) -> Result<()> {
    let reader = archive
        .open("outbox.json")?
        .ok_or_else(|| refused("the archive has no outbox.json"))?;
    let now = db::now_ms();
    let total = report.items;
    let mut batch = Vec::with_capacity(opts.batch);
    let mut last_percent = u64::MAX;
    for_each_item(
        "outbox.json",
        reader,
        opts.limits.max_item_bytes,
        |n, value| {
            batch.push(convert(&value, actor, n, now)?);
            if batch.len() >= opts.batch || n + 1 == total {
                write_batch(ctx, archive, std::mem::take(&mut batch), opts, report)?;
                let percent = (n + 1) * 100 / total.max(1);
                if opts.progress && percent != last_percent {
                    progress("import: posts", n + 1, total);
                    last_percent = percent;
                }
            }
            Ok(())
        },
    )?;
    if !batch.is_empty() {
        write_batch(ctx, archive, batch, opts, report)?;
    }
    Ok(())
}

/// Whether an archive item is on kith already (imported before, or kith's own post).
fn exists(conn: &Conn, source: &str) -> Result<bool> {
    Ok(portability::find_imported(conn, source)?.is_some()
        || posts::find_by_uri(conn, source)?.is_some())
}

/// Writes one batch: media files first (no lock held), then one transaction.
fn write_batch(
    ctx: &Ctx,
    archive: &Archive,
    items: Vec<Item>,
    opts: &Options,
    report: &mut Report,
) -> Result<()> {
    let mut fresh = Vec::new();
    let mut boosts = Vec::new();
    for item in items {
        match item {
            Item::Post(p) => {
                if ctx.db.read(|c| exists(c, &p.post.uri))? {
                    report.already += 1;
                } else {
                    fresh.push(p);
                }
            }
            Item::Boost {
                source,
                object,
                published,
            } => boosts.push((source, object, published)),
            Item::Skip => report.skipped += 1,
        }
    }
    let mut stored_names = Vec::new();
    let mut prepared = Vec::new();
    for p in fresh {
        match attachments::store(
            ctx,
            archive,
            &p.post.uri,
            &p.media,
            opts,
            report,
            &mut stored_names,
        ) {
            Ok(files) => prepared.push((p, files)),
            Err(e) => {
                attachments::remove_stored(ctx, &stored_names);
                return Err(e);
            }
        }
    }
    let written = ctx.db.write(|tx| {
        let mut counts = (0u64, 0u64, 0u64, 0u64);
        let mut unused = Vec::new();
        for (p, files) in &prepared {
            if exists(tx, &p.post.uri)? {
                // Imported meanwhile by another run: its files here are not needed.
                counts.1 += 1;
                for (_, m) in files {
                    unused.push(m.file_name.clone());
                    unused.extend(m.thumb_name.clone());
                }
                continue;
            }
            counts.2 += files.len() as u64;
            insert_post(ctx, tx, p, files)?;
            counts.0 += 1;
        }
        for (source, object, published) in &boosts {
            if portability::find_imported(tx, source)?.is_none()
                && portability::insert_ref(tx, "boost", object, Some(source), *published)?
            {
                counts.3 += 1;
            }
        }
        Ok((counts, unused))
    });
    match written {
        Ok(((posts, already, media_count, refs), unused)) => {
            attachments::remove_stored(ctx, &unused);
            report.posts += posts;
            report.already += already;
            report.media += media_count;
            report.refs_new += refs;
            Ok(())
        }
        Err(e) => {
            attachments::remove_stored(ctx, &stored_names);
            Err(e)
        }
    }
}

/// Inserts one archived post as the owner's, with its media rows.
fn insert_post(ctx: &Ctx, tx: &Conn, p: &ArchivedPost, files: &[(usize, Media)]) -> Result<()> {
    let published = p.post.published_at;
    let id = portability::free_post_id(tx, published)?;
    let mentioned: Vec<&str> = p
        .parts
        .mentions
        .iter()
        .map(|m| m.actor_uri.as_str())
        .collect();
    let post = Post {
        id,
        uri: format!("{}/statuses/{id}", ctx.config.actor_url()),
        url: Some(local_url(&ctx.config, id)),
        actor_id: None,
        audience_json: serde_json::to_string(&mentioned)?,
        ..p.post.clone()
    };
    let mut parts = p.parts.clone();
    for (index, stored) in files {
        let row = Media {
            id: portability::free_media_id(tx, published)?,
            created_at: published,
            ..p.media[*index].row(stored)
        };
        db::media::insert(tx, &row)?;
        parts.attachments.push(Attachment {
            id: 0,
            remote_url: Some(crate::media::local_url(ctx, &row.file_name)),
            media_type: row.media_type.clone(),
            description: row.description.clone(),
            blurhash: row.blurhash.clone(),
            width: row.width,
            height: row.height,
            media_id: Some(row.id),
        });
    }
    if !posts::insert(tx, &post, &parts)? {
        return Err(Error::Internal(format!("post id {id} is taken")));
    }
    for a in &parts.attachments {
        if let Some(media_id) = a.media_id {
            db::media::attach(tx, media_id, id)?;
        }
    }
    portability::insert_imported(tx, &p.post.uri, id)
}

/// Records the likes or bookmarks of an archive file; returns how many were new.
fn write_refs(ctx: &Ctx, archive: &Archive, file: &str, kind: &str, opts: &Options) -> Result<u64> {
    let Some(reader) = archive.open(file)? else {
        return Ok(0);
    };
    let now = db::now_ms();
    let mut urls = Vec::new();
    let mut new = 0;
    let mut flush = |urls: &mut Vec<String>| -> Result<()> {
        new += ctx.db.write(|tx| {
            let mut n = 0;
            for url in urls.iter() {
                n += u64::from(portability::insert_ref(tx, kind, url, None, now)?);
            }
            Ok(n)
        })?;
        urls.clear();
        Ok(())
    };
    for_each_item(file, reader, 64 * 1024, |n, value| {
        urls.push(ref_url(file, n, &value)?);
        if urls.len() >= opts.batch * 5 {
            flush(&mut urls)?;
        }
        Ok(())
    })?;
    flush(&mut urls)?;
    Ok(new)
}
