//! Applying a checked CSV import in batches of [`BATCH`] rows, so a file of a million
//! rows takes seconds rather than hours and never holds the database writer long
//! enough to keep the owner waiting: each batch's accounts and posts are looked up
//! first (on the network when kith does not know them, with no lock held), then the
//! batch is written in one transaction. What an import compares against (the lists
//! and their members, whom the owner follows or blocks) is read once, not per row.
//! Follows and blocks are still sent one by one (`publish`), as each is an activity
//! delivered to its server. `--overwrite` removes what the file does not list, in
//! batches too.

use super::csv::{CsvReport, Kind, Row, for_each_row};
use super::progress;
use crate::ap::resolve;
use crate::ctx::Ctx;
use crate::db::actors::RemoteActor;
use crate::db::portability::{self, Relation};
use crate::db::{self, blocks, posts};
use crate::error::{Error, Result};
use std::collections::{HashMap, HashSet};

/// Rows applied per transaction.
pub const BATCH: usize = 2000;

/// What the rows already applied are compared against, read once per import.
#[derive(Default)]
struct Known {
    /// Actors the owner follows (or has asked to) or blocks, for those kinds.
    related: HashSet<i64>,
    /// List ids by title.
    lists: HashMap<String, i64>,
    /// Members of the lists touched so far.
    members: HashMap<i64, HashSet<i64>>,
}

/// Applies the `rows` rows of checked CSV text, then (with `overwrite`) undoes what
/// they do not list.
pub fn apply(
    ctx: &Ctx,
    kind: Kind,
    bytes: &[u8],
    rows: u64,
    overwrite: bool,
    show_progress: bool,
) -> Result<CsvReport> {
    let mut report = CsvReport {
        rows,
        ..CsvReport::default()
    };
    if kind == Kind::Lists && overwrite {
        ctx.db.write(portability::delete_all_lists)?;
    }
    let mut known = Known::default();
    let relation = match kind {
        Kind::Following => Some(Relation::Following),
        Kind::Blocks => Some(Relation::Blocks),
        _ => None,
    };
    if let Some(relation) = relation {
        let current = ctx.db.read(|c| portability::list_relation(c, relation))?;
        known.related = current.into_iter().map(|(id, _)| id).collect();
    }
    let mut listed = overwrite.then(HashSet::new);
    let mut batch = Vec::with_capacity(BATCH);
    let mut done = 0u64;
    let mut flush = |batch: &mut Vec<Row>, report: &mut CsvReport| -> Result<()> {
        apply_batch(ctx, kind, batch, &mut known, report)?;
        done += batch.len() as u64;
        batch.clear();
        if show_progress {
            progress(&format!("import: {kind:?}"), done, rows);
        }
        // Lets a waiting write (the owner's) take the writer before the next batch.
        std::thread::yield_now();
        Ok(())
    };
    for_each_row(kind, bytes, |row| {
        if let Some(listed) = listed.as_mut() {
            listed.insert(listed_key(&row));
        }
        batch.push(row);
        if batch.len() >= BATCH {
            flush(&mut batch, &mut report)?;
        }
        Ok(())
    })?;
    if !batch.is_empty() {
        flush(&mut batch, &mut report)?;
    }
    if let Some(listed) = listed {
        report.removed = remove_unlisted(ctx, kind, &listed)?;
    }
    Ok(report)
}

/// What `--overwrite` compares: the account, domain or URL of a row, lower-cased.
fn listed_key(row: &Row) -> String {
    match row {
        Row::Account(a) | Row::Domain(a) | Row::Url(a) => a.to_ascii_lowercase(),
        Row::Member { account, .. } => account.to_ascii_lowercase(),
    }
}

fn row_value(row: &Row) -> String {
    match row {
        Row::Account(a) | Row::Domain(a) | Row::Url(a) => a.clone(),
        Row::Member { list, account } => format!("{list}: {account}"),
    }
}

/// What a row of a batch came to before its write: its target, or why it failed.
enum Target {
    Domain(String),
    Actor(Box<RemoteActor>),
    Post(i64),
    Member(String, i64),
}

/// Applies one batch: lookups first, then one transaction (or, for follows and
/// blocks, one activity each).
fn apply_batch(
    ctx: &Ctx,
    kind: Kind,
    rows: &[Row],
    known: &mut Known,
    report: &mut CsvReport,
) -> Result<()> {
    // Accounts named twice in a batch are resolved once.
    let mut actors: HashMap<&str, Result<RemoteActor, String>> = HashMap::new();
    let mut targets = Vec::with_capacity(rows.len());
    for row in rows {
        let target = match row {
            Row::Domain(d) => Ok(Target::Domain(d.clone())),
            Row::Account(acct) => actor_of(ctx, acct, &mut actors).map(|a| Target::Actor(a.into())),
            Row::Member { list, account } => {
                actor_of(ctx, account, &mut actors).map(|a| Target::Member(list.clone(), a.id))
            }
            Row::Url(url) => {
                super::import::find_or_fetch_post(ctx, url).map(|p| Target::Post(p.id))
            }
        };
        match target {
            Ok(t) => targets.push(t),
            Err(e) => report.failed.push((row_value(row), e.public_message())),
        }
    }
    if matches!(kind, Kind::Following | Kind::Blocks) {
        for target in &targets {
            let Target::Actor(actor) = target else {
                continue;
            };
            if known.related.contains(&actor.id) {
                report.unchanged += 1;
                continue;
            }
            let sent = if kind == Kind::Following {
                crate::process::follow_actor(ctx, actor)
            } else {
                crate::process::block(ctx, actor.id)
            };
            match sent {
                Ok(_) => {
                    known.related.insert(actor.id);
                    report.applied += 1;
                }
                Err(e) => report.failed.push((actor.acct(), e.public_message())),
            }
        }
        return Ok(());
    }
    let now = db::now_ms();
    let (applied, unchanged) = ctx.db.write(|tx| {
        let mut counts = (0u64, 0u64);
        for target in &targets {
            let fresh = match target {
                Target::Domain(d) => blocks::block_domain(tx, d, now)?,
                Target::Actor(actor) => blocks::mute(tx, actor.id, now)?,
                Target::Post(id) => {
                    let fresh = !posts::owner_flags(tx, *id)?.2;
                    posts::set_bookmarked(tx, *id, true, now)?;
                    fresh
                }
                Target::Member(title, actor_id) => add_member(tx, known, title, *actor_id, now)?,
            };
            if fresh {
                counts.0 += 1;
            } else {
                counts.1 += 1;
            }
        }
        Ok(counts)
    })?;
    report.applied += applied;
    report.unchanged += unchanged;
    Ok(())
}

/// Adds an actor to the list titled `title` (made when missing); whether it was new.
/// The list's id and members are read once per import.
fn add_member(
    tx: &crate::db::Conn,
    known: &mut Known,
    title: &str,
    actor_id: i64,
    now: i64,
) -> Result<bool> {
    let id = match known.lists.get(title) {
        Some(id) => *id,
        None => {
            let id = match portability::find_list_by_title(tx, title)? {
                Some(id) => id,
                None => db::lists::save(tx, None, title, "list", false, now)?,
            };
            known.lists.insert(title.to_string(), id);
            id
        }
    };
    let members = match known.members.entry(id) {
        std::collections::hash_map::Entry::Occupied(e) => e.into_mut(),
        std::collections::hash_map::Entry::Vacant(e) => {
            e.insert(db::lists::members(tx, id)?.into_iter().collect())
        }
    };
    if !members.insert(actor_id) {
        return Ok(false);
    }
    db::lists::set_member(tx, id, actor_id, true)?;
    Ok(true)
}

/// The actor of `user@host`, resolved once per batch: a fresh one stored under exactly
/// that name by an indexed lookup, others as `resolve` finds them (the database
/// without regard to case, then the network).
fn actor_of<'a>(
    ctx: &Ctx,
    acct: &'a str,
    cache: &mut HashMap<&'a str, Result<RemoteActor, String>>,
) -> Result<RemoteActor> {
    let found = cache.entry(acct).or_insert_with(|| {
        known_actor(ctx, acct)
            .transpose()
            .unwrap_or_else(|| resolve::by_url_or_handle(ctx, acct))
            .map_err(|e| e.public_message())
    });
    found.clone().map_err(|e| Error::Status(422, e))
}

/// The stored actor named exactly `acct`, if it was fetched recently and is not gone.
fn known_actor(ctx: &Ctx, acct: &str) -> Result<Option<RemoteActor>> {
    let Some((user, host)) = resolve::split_handle(acct) else {
        return Ok(None);
    };
    ctx.db
        .read(|c| match portability::find_actor_exact(c, &user, &host)? {
            Some((id, fetched_at, false))
                if db::now_ms() - fetched_at < resolve::STALE_AFTER_MS =>
            {
                db::actors::get(c, id).map(Some)
            }
            _ => Ok(None),
        })
}

/// Undoes, for `--overwrite`, what the file does not list; returns how many.
fn remove_unlisted(ctx: &Ctx, kind: Kind, listed: &HashSet<String>) -> Result<u64> {
    let relation = match kind {
        Kind::Following => Relation::Following,
        Kind::Blocks => Relation::Blocks,
        Kind::Mutes => Relation::Mutes,
        Kind::DomainBlocks => {
            let unlisted: Vec<String> = ctx
                .db
                .read(blocks::list_domain_blocks)?
                .into_iter()
                .filter(|d| !listed.contains(d))
                .collect();
            for chunk in unlisted.chunks(BATCH) {
                ctx.db.write(|tx| {
                    chunk
                        .iter()
                        .try_for_each(|d| blocks::delete_domain_block(tx, d))
                })?;
            }
            return Ok(unlisted.len() as u64);
        }
        Kind::Bookmarks => {
            let unlisted: Vec<String> = ctx
                .db
                .read(|c| portability::list_owner_marks_after(c, true, 0, i64::MAX))?
                .into_iter()
                .map(|(_, uri)| uri)
                .filter(|uri| !listed.contains(&uri.to_ascii_lowercase()))
                .collect();
            let mut n = 0;
            for chunk in unlisted.chunks(BATCH) {
                n += ctx.db.write(|tx| {
                    let mut n = 0;
                    for uri in chunk {
                        if let Some(p) = posts::find_by_uri(tx, uri)? {
                            posts::set_bookmarked(tx, p.id, false, 0)?;
                            n += 1;
                        }
                    }
                    Ok(n)
                })?;
            }
            return Ok(n);
        }
        // Lists were cleared before the rows were applied.
        Kind::Lists => return Ok(0),
    };
    let unlisted: Vec<i64> = ctx
        .db
        .read(|c| portability::list_relation(c, relation))?
        .into_iter()
        .filter(|(_, acct)| !listed.contains(&acct.to_ascii_lowercase()))
        .map(|(id, _)| id)
        .collect();
    if kind == Kind::Mutes {
        for chunk in unlisted.chunks(BATCH) {
            ctx.db
                .write(|tx| chunk.iter().try_for_each(|id| blocks::delete_mute(tx, *id)))?;
        }
        return Ok(unlisted.len() as u64);
    }
    for actor_id in &unlisted {
        if kind == Kind::Following {
            let actor = ctx.db.read(|c| db::actors::get(c, *actor_id))?;
            crate::process::unfollow_actor(ctx, &actor)?;
        } else {
            crate::process::unblock(ctx, *actor_id)?;
        }
    }
    Ok(unlisted.len() as u64)
}
