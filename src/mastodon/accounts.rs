//! Accounts: the owner's credentials and profile edits, looking accounts up, their
//! posts and follow lists, following, blocking and muting, relationships, follow
//! requests, and the block, mute and domain-block lists.

use super::entities::{self, AccountRef, parse_account_id};
use super::{auth, ok, page, paged, views};
use crate::ap::resolve;
use crate::ctx::Ctx;
use crate::db::timelines::{self, Timeline};
use crate::db::{self, blocks, follows};
use crate::error::{Error, Result};
use crate::http::params::Params;
use crate::http::{Req, Resp};
use crate::process;
use serde_json::{Value, json};

/// Routes under `/api/v1/accounts`, `follow_requests`, `blocks`, `mutes` and `domain_blocks`.
pub fn route(ctx: &Ctx, req: &Req, method: &str, rest: &[&str]) -> Result<Resp> {
    match (method, rest) {
        ("GET", ["accounts", "verify_credentials"]) => verify_credentials(ctx, req),
        ("PATCH" | "PUT" | "POST", ["accounts", "update_credentials"]) => {
            update_credentials(ctx, req)
        }
        ("GET", ["accounts", "relationships"]) => relationships(ctx, req),
        ("GET", ["accounts", "lookup"]) => lookup(ctx, req),
        ("GET", ["accounts", "search"]) => search(ctx, req),
        ("GET", ["accounts", "familiar_followers"]) => {
            super::discovery::familiar_followers(ctx, req)
        }
        ("GET", ["accounts", id]) => show(ctx, req, id),
        ("GET", ["accounts", id, "statuses"]) => statuses(ctx, req, id),
        ("GET", ["accounts", id, which @ ("followers" | "following")]) => {
            follow_list(ctx, req, id, *which == "following")
        }
        ("GET", ["accounts", id, "featured_tags"]) => {
            super::tags::account_featured_tags(ctx, req, id)
        }
        ("GET", ["accounts", id, "endorsements"]) => {
            super::tags::account_endorsements(ctx, req, id)
        }
        ("POST", ["accounts", id, action @ ("endorse" | "unendorse")]) => {
            super::tags::endorse(ctx, req, id, *action == "endorse")
        }
        ("GET", ["accounts", _, "lists" | "identity_proofs"]) => {
            auth::optional(ctx, req)?;
            ok(json!([]))
        }
        ("POST", ["accounts", id, action]) => act(ctx, req, id, action),
        ("GET", ["follow_requests"]) => follow_requests(ctx, req),
        ("POST", ["follow_requests", id, answer @ ("authorize" | "reject")]) => {
            answer_request(ctx, req, id, answer)
        }
        ("GET", ["blocks"]) => listed(ctx, req, false),
        ("GET", ["mutes"]) => listed(ctx, req, true),
        ("GET", ["domain_blocks"]) => {
            auth::require(ctx, req, "read:blocks")?;
            ok(json!(ctx.db.read(blocks::list_domain_blocks)?))
        }
        ("POST" | "DELETE", ["domain_blocks"]) => domain_block(ctx, req, method == "POST"),
        _ => Err(Error::NotFound("Not found".into())),
    }
}

fn verify_credentials(ctx: &Ctx, req: &Req) -> Result<Resp> {
    let caller = auth::optional(ctx, req)?
        .ok_or_else(|| Error::Unauthorized("The access token is invalid".into()))?;
    if !auth::covers(&caller.scopes, "read:accounts") && !auth::covers(&caller.scopes, "profile") {
        return Err(Error::Forbidden(
            "This action is outside the authorized scopes".into(),
        ));
    }
    auth::require(
        ctx,
        req,
        if auth::covers(&caller.scopes, "profile") {
            "profile"
        } else {
            "read:accounts"
        },
    )?;
    credential_account(ctx)
}

/// The owner's `CredentialAccount` (the account with its `source`).
fn credential_account(ctx: &Ctx) -> Result<Resp> {
    ctx.db.read(|c| {
        let mut me = views::local_account(ctx, c)?;
        let account = db::account::get(c)?;
        let requests = follows::list(c, false, false, None, 1000)?.len() as i64;
        me["source"] = entities::account_source(&account, &account.note_source, requests);
        ok(me)
    })
}

fn update_credentials(ctx: &Ctx, req: &Req) -> Result<Resp> {
    auth::require(ctx, req, "write:accounts")?;
    let p = Params::from_request(req)?;
    let account = ctx.db.read(db::account::get)?;
    let mut profile = db::account::Profile::of(&account);
    if let Some(name) = p.str("display_name")? {
        if name.chars().count() > 30 {
            return Err(Error::Unprocessable(
                "Validation failed: Display name is too long (maximum is 30 characters)".into(),
            ));
        }
        profile.display_name = crate::text::clean_plain(&name, 30);
    }
    if let Some(note) = p.str("note")? {
        if note.chars().count() > 500 {
            return Err(Error::Unprocessable(
                "Validation failed: Note is too long (maximum is 500 characters)".into(),
            ));
        }
        profile.note_html =
            crate::text::render_plain(&note, &[], &format!("{}/tags", ctx.config.public_url));
        profile.note_source = note;
    }
    profile.locked = p.bool("locked")?.unwrap_or(profile.locked);
    profile.bot = p.bool("bot")?.unwrap_or(profile.bot);
    profile.discoverable = p.bool("discoverable")?.unwrap_or(profile.discoverable);
    if p.get("fields_attributes").is_some() {
        profile.fields_json = fields_json(ctx, &p)?;
    }
    let avatar = super::media::profile_image(ctx, &p, "avatar")?;
    let header = super::media::profile_image(ctx, &p, "header")?;
    let now = db::now_ms();
    ctx.db.write(|tx| {
        db::account::update_profile(tx, &profile, now)?;
        if let Some(name) = &avatar {
            db::account::update_image(tx, "avatar", Some(name), now)?;
        }
        if let Some(name) = &header {
            db::account::update_image(tx, "header", Some(name), now)?;
        }
        Ok(())
    })?;
    process::update_profile(ctx)?;
    verify_credentials(ctx, req)
}

/// `DELETE /api/v1/profile/avatar|header`: back to the default picture, told to
/// followers with `Update(Person)`.
pub fn delete_profile_image(ctx: &Ctx, req: &Req, which: &str) -> Result<Resp> {
    auth::require(ctx, req, "write:accounts")?;
    let now = db::now_ms();
    let had = ctx.db.write(|tx| {
        let account = db::account::get(tx)?;
        let had = match which {
            "avatar" => account.avatar_path.is_some(),
            _ => account.header_path.is_some(),
        };
        if had {
            db::account::update_image(tx, which, None, now)?;
        }
        Ok(had)
    })?;
    if had {
        process::update_profile(ctx)?;
    }
    credential_account(ctx)
}

fn fields_json(ctx: &Ctx, p: &Params) -> Result<String> {
    let fields = p.objects("fields_attributes");
    if fields.len() > 4 {
        return Err(Error::Unprocessable(
            "Validation failed: at most 4 profile fields".into(),
        ));
    }
    let tag_base = format!("{}/tags", ctx.config.public_url);
    let list: Vec<Value> = fields
        .iter()
        .filter_map(|f| {
            let name = crate::text::clean_plain(&f.str("name").ok()??, 255);
            let value = f.str("value").ok().flatten().unwrap_or_default();
            (!name.is_empty()).then(|| {
                json!({"name": name, "value": value, "value_html": crate::text::render_plain(&value, &[], &tag_base)})
            })
        })
        .collect();
    Ok(Value::Array(list).to_string())
}

fn account_ref(id: &str) -> Result<AccountRef> {
    parse_account_id(id).ok_or_else(|| Error::NotFound("Record not found".into()))
}

fn remote_id(id: &str) -> Result<i64> {
    match account_ref(id)? {
        AccountRef::Remote(actor_id) => Ok(actor_id),
        AccountRef::Local => Err(Error::Unprocessable("That is your own account".into())),
    }
}

fn show(ctx: &Ctx, req: &Req, id: &str) -> Result<Resp> {
    auth::optional(ctx, req)?;
    let r = account_ref(id)?;
    ok(ctx.db.read(|c| views::account_by_ref(ctx, c, r))?)
}

fn lookup(ctx: &Ctx, req: &Req) -> Result<Resp> {
    auth::optional(ctx, req)?;
    let p = Params::from_request(req)?;
    let acct = p.required("acct")?;
    let acct = acct.trim_start_matches('@');
    let (user, host) = match acct.split_once('@') {
        Some((u, h)) => (u.to_string(), h.to_ascii_lowercase()),
        None => (acct.to_string(), ctx.config.domain.clone()),
    };
    if host == ctx.config.domain {
        if user.eq_ignore_ascii_case(&ctx.config.username) {
            return ok(ctx.db.read(|c| views::local_account(ctx, c))?);
        }
        return Err(Error::NotFound("Record not found".into()));
    }
    let actor = ctx.db.read(|c| db::actors::find_by_acct(c, &user, &host))?;
    match actor {
        Some(a) if a.gone_at.is_none() => ok(ctx.db.read(|c| views::remote_account(ctx, c, &a))?),
        _ => Err(Error::NotFound("Record not found".into())),
    }
}

/// Accounts matching a query: cached actors, the owner, and with `resolve` a WebFinger look-up.
pub fn find_accounts(ctx: &Ctx, q: &str, resolve_remote: bool, limit: usize) -> Result<Vec<Value>> {
    let q = q.trim().trim_start_matches('@');
    let mut out = Vec::new();
    if ctx
        .config
        .username
        .contains(&q.split('@').next().unwrap_or(q).to_lowercase())
        && !q.is_empty()
    {
        out.push(ctx.db.read(|c| views::local_account(ctx, c))?);
    }
    if let Some((user, host)) = resolve::split_handle(q) {
        let found = if resolve_remote {
            resolve::by_handle(ctx, &user, &host).ok()
        } else {
            ctx.db.read(|c| db::actors::find_by_acct(c, &user, &host))?
        };
        if let Some(a) = found {
            out.push(ctx.db.read(|c| views::remote_account(ctx, c, &a))?);
        }
    } else if q.starts_with("https://") || q.starts_with("http://") {
        if let Ok(a) = if resolve_remote {
            resolve::actor(ctx, q)
        } else {
            Err(Error::NotFound(String::new()))
        } {
            out.push(ctx.db.read(|c| views::remote_account(ctx, c, &a))?);
        }
    } else if !q.is_empty() {
        let like = ctx.db.read(|c| {
            db::actors::search(c, q, limit as i64)?
                .iter()
                .map(|a| views::remote_account(ctx, c, a))
                .collect::<Result<Vec<_>>>()
        })?;
        out.extend(like);
    }
    out.truncate(limit);
    Ok(out)
}

fn search(ctx: &Ctx, req: &Req) -> Result<Resp> {
    auth::require(ctx, req, "read:accounts")?;
    let p = Params::from_request(req)?;
    let q = p.required("q")?;
    let limit = p.int("limit")?.unwrap_or(40).clamp(1, 80) as usize;
    ok(Value::Array(find_accounts(
        ctx,
        &q,
        p.bool("resolve")?.unwrap_or(false),
        limit,
    )?))
}

fn statuses(ctx: &Ctx, req: &Req, id: &str) -> Result<Resp> {
    let viewer = auth::viewer(ctx, req)?;
    let p = Params::from_request(req)?;
    let r = account_ref(id)?;
    let actor_id = match r {
        AccountRef::Local => None,
        AccountRef::Remote(a) => {
            // An unknown account is a 404, not an empty list.
            ctx.db.read(|c| db::actors::get(c, a))?;
            Some(a)
        }
    };
    // Followers-only posts (the owner's, or those kith keeps because the owner follows
    // their author) are for the owner alone (SECURITY.md 56).
    let t = Timeline::Account {
        actor_id,
        with_private: viewer.is_owner(),
        exclude_replies: p.bool("exclude_replies")?.unwrap_or(false),
        only_media: p.bool("only_media")?.unwrap_or(false),
        pinned: p.bool("pinned")?.unwrap_or(false),
    };
    let pg = page(&p, super::MAX_LIMIT)?;
    let me = ctx.config.actor_url();
    ctx.db.read(|c| {
        let list = timelines::list(c, &t, pg, &me)?;
        let ids: Vec<i64> = list.iter().map(|p| p.id).collect();
        Ok(paged(
            ctx,
            req,
            views::statuses(ctx, c, &list, &viewer)?,
            &ids,
        ))
    })
}

fn follow_list(ctx: &Ctx, req: &Req, id: &str, outgoing: bool) -> Result<Resp> {
    auth::optional(ctx, req)?;
    if account_ref(id)? != AccountRef::Local {
        return ok(json!([]));
    }
    let p = Params::from_request(req)?;
    let limit = p.int("limit")?.unwrap_or(40).clamp(1, 80);
    let before = p.id("max_id")?;
    ctx.db.read(|c| {
        let rows = follows::list(c, outgoing, true, before, limit)?;
        let items = rows
            .iter()
            .map(|(_, a)| views::remote_account(ctx, c, a))
            .collect::<Result<Vec<_>>>()?;
        let ids: Vec<i64> = rows.iter().map(|(f, _)| f.created_at).collect();
        Ok(paged(ctx, req, items, &ids))
    })
}

/// The `Relationship` with a remote actor.
pub fn relationship(ctx: &Ctx, actor_id: i64) -> Result<Value> {
    ctx.db.read(|c| {
        let out = follows::find(c, true, actor_id)?;
        let inc = follows::find(c, false, actor_id)?;
        let mut rel = entities::relationship(
            &entities::remote_account_id(actor_id),
            out.as_ref().is_some_and(|f| f.accepted),
            out.as_ref().is_some_and(|f| !f.accepted),
            inc.as_ref().is_some_and(|f| f.accepted),
            blocks::is_blocked(c, actor_id)?,
            blocks::is_blocked_by(c, actor_id)?,
            blocks::is_muted(c, actor_id)?,
            inc.as_ref().is_some_and(|f| !f.accepted),
        );
        rel["endorsed"] = json!(db::tags::is_endorsed(c, actor_id)?);
        Ok(rel)
    })
}

fn relationships(ctx: &Ctx, req: &Req) -> Result<Resp> {
    auth::require(ctx, req, "read:follows")?;
    let p = Params::from_request(req)?;
    let mut out = Vec::new();
    for id in p.list("id")? {
        match parse_account_id(&id) {
            Some(AccountRef::Remote(a)) if ctx.db.read(|c| db::actors::get(c, a)).is_ok() => {
                out.push(relationship(ctx, a)?)
            }
            Some(AccountRef::Local) => out.push(entities::relationship(
                &id, false, false, false, false, false, false, false,
            )),
            _ => {}
        }
    }
    ok(Value::Array(out))
}

fn act(ctx: &Ctx, req: &Req, id: &str, action: &str) -> Result<Resp> {
    let scope = match action {
        "follow" | "unfollow" | "remove_from_followers" => "write:follows",
        "block" | "unblock" => "write:blocks",
        "mute" | "unmute" => "write:mutes",
        "note" | "pin" | "unpin" => "write:accounts",
        _ => return Err(Error::NotFound("Not found".into())),
    };
    auth::require(ctx, req, scope)?;
    let actor_id = remote_id(id)?;
    let actor = ctx.db.read(|c| db::actors::get(c, actor_id))?;
    let now = db::now_ms();
    match action {
        "follow" => process::follow_actor(ctx, &actor)?,
        "unfollow" => process::unfollow_actor(ctx, &actor)?,
        "remove_from_followers" => process::remove_follower(ctx, actor_id)?,
        "block" => process::block(ctx, actor_id)?,
        "unblock" => process::unblock(ctx, actor_id)?,
        "mute" => ctx.db.write(|tx| blocks::insert_mute(tx, actor_id, now))?,
        "unmute" => ctx.db.write(|tx| blocks::delete_mute(tx, actor_id))?,
        _ => {}
    }
    ok(relationship(ctx, actor_id)?)
}

fn follow_requests(ctx: &Ctx, req: &Req) -> Result<Resp> {
    auth::require(ctx, req, "read:follows")?;
    let p = Params::from_request(req)?;
    let limit = p.int("limit")?.unwrap_or(40).clamp(1, 80);
    ctx.db.read(|c| {
        let rows = follows::list(c, false, false, p.id("max_id")?, limit)?;
        let ids: Vec<i64> = rows.iter().map(|(f, _)| f.created_at).collect();
        Ok(paged(
            ctx,
            req,
            rows.iter()
                .map(|(_, a)| views::remote_account(ctx, c, a))
                .collect::<Result<Vec<_>>>()?,
            &ids,
        ))
    })
}

fn answer_request(ctx: &Ctx, req: &Req, id: &str, answer: &str) -> Result<Resp> {
    auth::require(ctx, req, "write:follows")?;
    let actor_id = remote_id(id)?;
    if answer == "authorize" {
        process::accept_follow_request(ctx, actor_id)?;
    } else {
        process::reject_follow_request(ctx, actor_id)?;
    }
    ok(relationship(ctx, actor_id)?)
}

fn listed(ctx: &Ctx, req: &Req, muted: bool) -> Result<Resp> {
    auth::require(ctx, req, if muted { "read:mutes" } else { "read:blocks" })?;
    let p = Params::from_request(req)?;
    let limit = p.int("limit")?.unwrap_or(40).clamp(1, 80);
    ctx.db.read(|c| {
        let ids = blocks::list_ids(c, muted, limit)?;
        let items = ids
            .iter()
            .map(|id| views::remote_account(ctx, c, &db::actors::get(c, *id)?))
            .collect::<Result<Vec<_>>>()?;
        ok(Value::Array(items))
    })
}

fn domain_block(ctx: &Ctx, req: &Req, add: bool) -> Result<Resp> {
    auth::require(ctx, req, "write:blocks")?;
    let p = Params::from_request(req)?;
    let typed = p.required("domain")?;
    if !add {
        let forms = crate::domain::stored_forms(&typed);
        if forms.is_empty() {
            return Err(Error::Unprocessable(
                "Validation failed: not a domain".into(),
            ));
        }
        ctx.db.write(|tx| {
            forms
                .iter()
                .try_for_each(|d| blocks::delete_domain_block(tx, d))
        })?;
        return ok(json!({}));
    }
    let domain = crate::domain::normalize(&typed)
        .filter(|d| d != crate::domain::without_port(&ctx.config.domain))
        .ok_or_else(|| Error::Unprocessable("Validation failed: not a domain".into()))?;
    let now = db::now_ms();
    ctx.db
        .write(|tx| blocks::insert_domain_block(tx, &domain, now))?;
    ok(json!({}))
}
