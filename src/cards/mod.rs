//! Link preview cards: which page a post's card is for ([`request`], called by the
//! processing layer once a post is stored, never before), and the card queue's step
//! ([`run_once`], run by its own worker thread) that fetches each queued page once
//! through the guarded fetcher, reads its head (`parse`), stores the card or the
//! memory that there is none, and tells the posts showing it (`Event::Edited`, which
//! open streams show as `status.update`). One fetch serves every post linking a page.

pub mod parse;

use crate::ctx::Ctx;
use crate::db::{self, cards};
use crate::error::Result;
use crate::events::Event;
use std::sync::atomic::{AtomicI64, Ordering};

/// The most bytes of a page read: its head is enough.
pub const PAGE_MAX_BYTES: u64 = 1024 * 1024;
/// How long a card is kept before its page may be fetched again (3 days).
pub const FRESH_MS: i64 = 3 * 24 * 3600 * 1000;
/// How long "this page has no card" is remembered (1 day).
pub const NONE_MS: i64 = 24 * 3600 * 1000;
/// How long a failed fetch (network, status, refusal) is remembered (1 hour).
pub const FAILED_MS: i64 = 3600 * 1000;
/// The most pages of one host fetched per minute; more wait for the next minute.
pub const HOST_PER_MINUTE: i64 = 30;

/// Queues the card of a stored post's first link (not a mention or a hashtag), unless
/// link previews are off or the post has none; its page is fetched later by the card
/// worker. Failures are logged: a card never stops a post.
pub fn request(ctx: &Ctx, post_id: i64, content_html: &str) {
    if !ctx.config.federation.link_previews {
        return;
    }
    let link = parse::first_link(content_html);
    let queued = match &link {
        Some(url) => {
            let host = url.host_str().unwrap_or("").to_ascii_lowercase();
            ctx.db
                .write(|tx| cards::request(tx, post_id, url.as_str(), &host, db::now_ms()))
        }
        // Only an edit that dropped the link has anything to forget.
        None => match ctx.db.read(|c| cards::has_post(c, post_id)) {
            Ok(true) => ctx
                .db
                .write(|tx| cards::unlink(tx, post_id))
                .map(|()| false),
            other => other,
        },
    };
    match queued {
        Ok(true) => ctx.wake.cards(),
        Ok(false) => {}
        Err(e) => eprintln!("cards: cannot queue the card of post {post_id}: {e}"),
    }
}

/// Queues the cards of posts the owner opens in a thread that never had one asked
/// for (remote posts that did not come through the inbox: fetched ancestors, replies).
pub fn request_missing(ctx: &Ctx, posts: &[&crate::db::posts::Post]) {
    if !ctx.config.federation.link_previews {
        return;
    }
    for post in posts {
        if parse::first_link(&post.content_html).is_none() {
            continue;
        }
        match ctx.db.read(|c| cards::has_post(c, post.id)) {
            Ok(false) => request(ctx, post.id, &post.content_html),
            Ok(true) => {}
            Err(e) => eprintln!("cards: post {}: {e}", post.id),
        }
    }
}

/// One step of the card worker: fetches the page due first, if any; returns how many
/// pages it handled (0 or 1).
pub fn run_once(ctx: &Ctx) -> Result<usize> {
    let now = db::now_ms();
    let Some(job) = ctx.db.read(|c| cards::next_due(c, now))? else {
        prune_if_due(ctx, now)?;
        return Ok(0);
    };
    if !ctx.config.federation.link_previews {
        ctx.db
            .write(|tx| cards::store_none(tx, &job.url, now, now + FAILED_MS))?;
        return Ok(1);
    }
    let minute_ago = now - 60_000;
    if ctx
        .db
        .read(|c| cards::fetches_since(c, &job.host, minute_ago))?
        >= HOST_PER_MINUTE
    {
        ctx.db
            .write(|tx| cards::postpone(tx, &job.url, now + 60_000))?;
        return Ok(1);
    }
    let answer = fetch_card(ctx, &job.url);
    let now = db::now_ms();
    let found = match answer {
        Ok(Some(card)) => {
            ctx.db
                .write(|tx| cards::store(tx, &card, now, now + FRESH_MS))?;
            true
        }
        Ok(None) => {
            ctx.db
                .write(|tx| cards::store_none(tx, &job.url, now, now + NONE_MS))?;
            false
        }
        Err(e) => {
            eprintln!("cards: no card for {}: {e}", job.url);
            ctx.db
                .write(|tx| cards::store_none(tx, &job.url, now, now + FAILED_MS))?;
            false
        }
    };
    if found {
        for post_id in ctx.db.read(|c| cards::posts_of(c, &job.url))? {
            ctx.emit(Event::Edited(post_id));
        }
    }
    Ok(1)
}

/// When the card worker last forgot unlinked pages (ms), so it does so hourly.
static LAST_PRUNE: AtomicI64 = AtomicI64::new(0);

/// Forgets stale pages no post links any more, at most once an hour.
fn prune_if_due(ctx: &Ctx, now: i64) -> Result<()> {
    let last = LAST_PRUNE.load(Ordering::Relaxed);
    if now - last < 3600 * 1000
        || LAST_PRUNE
            .compare_exchange(last, now, Ordering::Relaxed, Ordering::Relaxed)
            .is_err()
    {
        return Ok(());
    }
    ctx.db.write(|tx| cards::prune(tx, now)).map(|_| ())
}

/// Fetches a page and reads its card; `Ok(None)` when it has nothing usable.
fn fetch_card(ctx: &Ctx, url: &str) -> Result<Option<cards::Card>> {
    let page = ctx.fetcher.get_page(url, PAGE_MAX_BYTES)?;
    let html = String::from_utf8_lossy(&page.body);
    let Some(found) = parse::page_card(&html, &page.final_url) else {
        return Ok(None);
    };
    Ok(Some(cards::Card {
        url: url.to_string(),
        title: found.title,
        description: found.description,
        image_url: found.image_url,
        provider_name: found.site_name,
        author_name: found.author_name,
        author_url: found.author_url,
        published_at: found.published_at,
    }))
}
