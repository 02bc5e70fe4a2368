//! Moving between accounts, both ways.
//!
//! Away: [`move_to`] checks that the new account lists kith's actor in its
//! `alsoKnownAs`, sets `movedTo`, announces the profile with `Update(Person)` and sends
//! `Move` to every follower's inbox (and to the new account's, so a kith there knows
//! at once). The old actor and its posts keep being served.
//!
//! Here: a follow is marked as coming with a move (`followers.via_move`, and the
//! notification names the old account) when it arrives within [`MOVE_WINDOW_MS`]
//! after kith saw one of its aliases move here. kith sees that either from the `Move`
//! itself (kith sends it to the target too, see above) or, since Mastodon sends it
//! only to followers, by looking at the alias's actor when a follow arrives: its
//! `movedTo` names kith's actor. The alias is looked at no more than once every
//! [`ALIAS_RECHECK_MS`], so a burst of follows costs one fetch. A follow that merely
//! happens in that week is marked too: servers do not say why they follow.

use crate::ap::resolve::{self, id_of};
use crate::ap::{object_id, outbox};
use crate::ctx::Ctx;
use crate::db::Conn;
use crate::db::actors::RemoteActor;
use crate::db::{self, account, follows, notifications, portability};
use crate::error::{Error, Result};
use serde_json::Value;

/// How long after a move here new follows count as coming with it.
pub const MOVE_WINDOW_MS: i64 = 7 * 86_400_000;
/// How often an alias's actor may be fetched to see whether it moved here.
pub const ALIAS_RECHECK_MS: i64 = 10 * 60_000;
/// Most aliases looked at for one follow.
const ALIASES_CHECKED: usize = 5;

/// What a move away did.
#[derive(Debug, Clone, PartialEq)]
pub struct Moved {
    /// The new account's actor URL.
    pub target: String,
    /// How many inboxes the `Move` was queued for.
    pub inboxes: usize,
}

/// The account at `target` (`@user@host` or an actor URL), fetched fresh, when this
/// account may move there: it lists this one as an alias. Refuses, saying what to do,
/// otherwise. Changes nothing.
pub fn check_target(ctx: &Ctx, target: &str) -> Result<RemoteActor> {
    let me = ctx.config.actor_url();
    let found = resolve::by_url_or_handle(ctx, target)?;
    // Fetched fresh: the alias may have been added a minute ago.
    let new = resolve::refresh(ctx, &found.uri)?;
    if new.uri == me {
        return Err(Error::BadRequest("an account cannot move to itself".into()));
    }
    if !lists_alias(&new, &me) {
        return Err(Error::Unprocessable(format!(
            "{} does not list {me} as an alias (alsoKnownAs). On the new account, add \
                 this one as an alias first (Mastodon: Preferences → Account → Moving from a \
                 different account → Create an account alias; kith: kith alias add {me}), then \
                 move again.",
            display(&new)
        )));
    }
    Ok(new)
}

/// Moves the account to `target` (`@user@host` or an actor URL).
pub fn move_to(ctx: &Ctx, target: &str) -> Result<Moved> {
    let new = check_target(ctx, target)?;
    let now = db::now_ms();
    let inboxes = ctx.db.write(|tx| {
        account::update_moved_to(tx, Some(&new.uri), now)?;
        let mut inboxes = follows::follower_inboxes(tx)?;
        let target_inbox = new.delivery_inbox().to_string();
        if !inboxes.contains(&target_inbox) {
            inboxes.push(target_inbox);
        }
        let id = super::activity_id(ctx, "moves");
        let activity = outbox::build_move(&ctx.config, &id, &new.uri);
        super::queue(tx, &activity, &inboxes, false, now)?;
        Ok(inboxes.len())
    })?;
    super::follows::update_profile(ctx)?;
    ctx.wake.delivery();
    Ok(Moved {
        target: new.uri,
        inboxes,
    })
}

/// Whether `actor` lists `me` in its `alsoKnownAs`.
fn lists_alias(actor: &RemoteActor, me: &str) -> bool {
    let Ok(me_url) = url::Url::parse(me) else {
        return false;
    };
    actor
        .aliases()
        .iter()
        .any(|a| url::Url::parse(a).is_ok_and(|u| resolve::same_id(&u, &me_url)))
}

/// An account as people write it: `@user@host`, or its URL when it has no name.
pub fn display(actor: &RemoteActor) -> String {
    if actor.username.is_empty() {
        actor.uri.clone()
    } else {
        format!("@{}", actor.acct())
    }
}

/// A `Move` whose target is kith's own actor: when the mover is one of kith's aliases,
/// remember that it moved here (and that the mover's account now lives here).
pub fn arrived(ctx: &Ctx, mover: &RemoteActor) -> Result<()> {
    let aliases = crate::process::alias::list(ctx)?;
    if !aliases.contains(&mover.uri) {
        return Ok(());
    }
    let now = db::now_ms();
    let me = ctx.config.actor_url();
    ctx.db.write(|tx| {
        db::actors::update_moved_to(tx, mover.id, Some(&me))?;
        portability::record_move_in(tx, &mover.uri, now)
    })
}

/// For a new follow: the alias it comes with, when one moved here lately (see the
/// module notes). Network trouble means "no".
pub fn moved_from(ctx: &Ctx) -> Result<Option<String>> {
    let aliases = crate::process::alias::list(ctx)?;
    if aliases.is_empty() {
        return Ok(None);
    }
    let now = db::now_ms();
    if let Some(old) = ctx
        .db
        .read(|c| portability::find_move_in_since(c, now - MOVE_WINDOW_MS))?
        && aliases.contains(&old)
    {
        return Ok(Some(old));
    }
    let me = ctx.config.actor_url();
    for alias in aliases.iter().take(ALIASES_CHECKED) {
        if ctx.db.read(|c| portability::has_move_in(c, alias))? {
            // Seen before, and longer ago than the window.
            continue;
        }
        let cached = ctx.db.read(|c| db::actors::find_by_uri(c, alias))?;
        let actor = match cached {
            Some(a) if a.moved_to.as_deref() == Some(me.as_str()) => a,
            Some(a) if now - a.fetched_at < ALIAS_RECHECK_MS => continue,
            _ => match resolve::refresh(ctx, alias) {
                Ok(a) => a,
                Err(e) => {
                    eprintln!("move: cannot look at alias {alias}: {e}");
                    continue;
                }
            },
        };
        if actor.moved_to.as_deref() == Some(me.as_str()) {
            ctx.db
                .write(|tx| portability::record_move_in(tx, alias, now))?;
            return Ok(Some(alias.clone()));
        }
    }
    Ok(None)
}

/// Where a remote actor moved, when the move is confirmed: the new account is known
/// here, not gone, and lists the actor among its aliases (so an actor cannot claim
/// someone else's account as its new home).
pub enum ConfirmedMove {
    /// To kith's own account.
    Here,
    /// To another remote account.
    To(Box<RemoteActor>),
}

/// The confirmed move of `actor`, if any (see [`ConfirmedMove`]).
pub fn confirmed_move(
    ctx: &Ctx,
    conn: &Conn,
    actor: &RemoteActor,
) -> Result<Option<ConfirmedMove>> {
    let Some(target) = &actor.moved_to else {
        return Ok(None);
    };
    if *target == ctx.config.actor_url() {
        let aliases = super::alias::parse(&db::account::get(conn)?.also_known_as);
        return Ok(aliases.contains(&actor.uri).then_some(ConfirmedMove::Here));
    }
    Ok(db::actors::find_by_uri(conn, target)?
        .filter(|t| t.gone_at.is_none() && t.aliases().contains(&actor.uri))
        .map(|t| ConfirmedMove::To(Box::new(t))))
}

/// `Move`: when the new account lists the old one in `alsoKnownAs`, the old one is
/// recorded as moved there (the client API shows it), and when kith follows the old
/// account it follows the new one instead. A `Move` to kith's own actor from one of
/// its aliases is remembered, so the follows that come with it are marked
/// (see [`arrived`]).
pub(super) fn handle_move(ctx: &Ctx, signer: &RemoteActor, activity: &Value) -> Result<()> {
    let old = object_id(activity).unwrap_or(&signer.uri);
    let Some(target) = activity.get("target").and_then(id_of) else {
        return Ok(());
    };
    if old != signer.uri || target == signer.uri {
        return Ok(());
    }
    if resolve::is_local(ctx, target) {
        if target == ctx.config.actor_url() {
            arrived(ctx, signer)?;
        }
        return Ok(());
    }
    // Fetched fresh from its own URL, so the aliases are the target's own word.
    let new_actor = resolve::refresh(ctx, target)?;
    if !new_actor.aliases().iter().any(|a| a == &signer.uri) {
        return Ok(());
    }
    // The mover's account now points at its new home (the client API's `moved`).
    ctx.db
        .write(|tx| db::actors::update_moved_to(tx, signer.id, Some(&new_actor.uri)))?;
    let following = ctx.db.read(|c| follows::find(c, true, signer.id))?;
    if following.is_none() {
        return Ok(());
    }
    super::follows::follow_actor(ctx, &new_actor)?;
    super::follows::unfollow_actor(ctx, signer)?;
    let now = db::now_ms();
    ctx.db.write(|tx| {
        // As Mastodon does: lists and mutes follow the account to its new home.
        db::portability::carry_over(tx, signer.id, new_actor.id, now)?;
        notifications::insert(tx, "move", signer.id, None, Some(&new_actor.uri), now).map(|_| ())
    })
}
