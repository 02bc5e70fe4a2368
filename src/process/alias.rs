//! Aliases: the `alsoKnownAs` list of kith's actor. An account elsewhere may `Move`
//! here only once this list names it (Mastodon checks before it sends the Move), and
//! kith notices follows that come with such a move. Changes are announced to
//! followers with `Update(Person)`.

use crate::ap::resolve;
use crate::ctx::Ctx;
use crate::db::{self, account};
use crate::error::{Error, Result};

/// Most aliases kept.
pub const MAX_ALIASES: usize = 10;

/// The aliases (actor URLs), in the order they were added.
pub fn list(ctx: &Ctx) -> Result<Vec<String>> {
    Ok(parse(&ctx.db.read(account::get)?.also_known_as))
}

/// The aliases stored in an account's `also_known_as` column.
pub fn parse(also_known_as: &str) -> Vec<String> {
    serde_json::from_str(also_known_as).unwrap_or_default()
}

/// Adds the account `target` (`@user@host` or an actor URL) as an alias and announces
/// it; returns the actor URL. Adding one already there only announces again.
pub fn add(ctx: &Ctx, target: &str) -> Result<String> {
    let found = resolve::by_url_or_handle(ctx, target)?;
    let uri = found.uri;
    let now = db::now_ms();
    ctx.db.write(|tx| {
        let mut aliases = parse(&account::get(tx)?.also_known_as);
        if !aliases.contains(&uri) {
            if aliases.len() >= MAX_ALIASES {
                return Err(Error::Unprocessable(format!(
                    "at most {MAX_ALIASES} aliases; remove one first"
                )));
            }
            aliases.push(uri.clone());
        }
        account::update_aliases(tx, &serde_json::to_string(&aliases)?, now)
    })?;
    crate::process::update_profile(ctx)?;
    Ok(uri)
}

/// Removes the alias `target` (an actor URL, or `@user@host` as cached or looked up)
/// and announces it; returns the removed actor URL.
pub fn remove(ctx: &Ctx, target: &str) -> Result<String> {
    let aliases = list(ctx)?;
    let target = target.trim();
    let uri = if aliases.iter().any(|a| a == target) {
        target.to_string()
    } else {
        let (user, host) = resolve::split_handle(target).ok_or_else(|| {
            Error::NotFound(format!(
                "{target:?} is not one of the aliases (see `kith alias list`)"
            ))
        })?;
        let cached = ctx
            .db
            .read(|c| db::actors::find_by_acct(c, &user, &host))?
            .map(|a| a.uri);
        match cached {
            Some(uri) if aliases.contains(&uri) => uri,
            _ => resolve::by_handle(ctx, &user, &host)?.uri,
        }
    };
    if !aliases.contains(&uri) {
        return Err(Error::NotFound(format!(
            "{uri} is not one of the aliases (see `kith alias list`)"
        )));
    }
    let now = db::now_ms();
    ctx.db.write(|tx| {
        let kept: Vec<String> = parse(&account::get(tx)?.also_known_as)
            .into_iter()
            .filter(|a| a != &uri)
            .collect();
        account::update_aliases(tx, &serde_json::to_string(&kept)?, now)
    })?;
    crate::process::update_profile(ctx)?;
    Ok(uri)
}
