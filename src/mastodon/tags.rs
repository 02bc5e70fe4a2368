//! Hashtags and featured things: following hashtags (`/api/v1/tags/:name`,
//! `follow`, `unfollow`, `/api/v1/followed_tags`), featured hashtags
//! (`/api/v1/featured_tags`, its `suggestions`, `/api/v1/accounts/:id/featured_tags`)
//! and endorsed accounts (`/api/v1/accounts/:id/endorse|unendorse`,
//! `/api/v1/endorsements`, `/api/v1/accounts/:id/endorsements`). Which posts a followed
//! hashtag brings home is the home timeline query's business (`db::timelines`).

use super::entities::{self, AccountRef, parse_account_id};
use super::{auth, ok, page, paged, path_id, views};
use crate::ctx::Ctx;
use crate::db::{self, tags};
use crate::error::{Error, Result};
use crate::http::params::Params;
use crate::http::{Req, Resp};
use serde_json::{Value, json};

/// The most hashtags the owner may feature (Mastodon's limit).
pub const MAX_FEATURED: usize = 10;

/// Routes under `/api/v1/tags`, `followed_tags`, `featured_tags` and `endorsements`.
pub fn route(ctx: &Ctx, req: &Req, method: &str, rest: &[&str]) -> Result<Resp> {
    match (method, rest) {
        ("GET", ["tags", name]) => show(ctx, req, name),
        ("POST", ["tags", name, action @ ("follow" | "unfollow")]) => {
            follow(ctx, req, name, *action == "follow")
        }
        ("GET", ["followed_tags"]) => followed(ctx, req),
        ("GET", ["featured_tags"]) => {
            auth::require(ctx, req, "read:accounts")?;
            ok(featured_list(ctx)?)
        }
        ("POST", ["featured_tags"]) => feature(ctx, req),
        ("GET", ["featured_tags", "suggestions"]) => suggestions(ctx, req),
        ("DELETE", ["featured_tags", id]) => {
            auth::require(ctx, req, "write:accounts")?;
            let id = path_id(id)?;
            ctx.db.write(|tx| tags::unfeature(tx, id))?;
            ok(json!({}))
        }
        ("GET", ["endorsements"]) => endorsements(ctx, req),
        _ => Err(Error::NotFound("Not found".into())),
    }
}

/// A hashtag name from a path or parameter: without `#`, as a post would write it;
/// anything else is refused with 422.
pub fn valid_name(raw: &str) -> Result<String> {
    crate::text::hashtag_name(raw).ok_or_else(|| {
        Error::Unprocessable("Validation failed: Name is not a valid hashtag".into())
    })
}

/// A path segment, percent-decoded (hashtags may be any letters).
fn decoded(segment: &str) -> String {
    url::form_urlencoded::parse(format!("t={}", segment.replace('+', "%2B")).as_bytes())
        .next()
        .map(|(_, v)| v.into_owned())
        .unwrap_or_default()
}

fn show(ctx: &Ctx, req: &Req, name: &str) -> Result<Resp> {
    let caller = auth::optional(ctx, req)?;
    let name = valid_name(&decoded(name))
        .map_err(|_| Error::NotFound("Record not found".into()))?
        .to_lowercase();
    let following = match caller {
        Some(a) if !a.app_only => ctx.db.read(|c| tags::is_followed(c, &name))?,
        _ => false,
    };
    ok(entities::tag(&ctx.config, &name, following))
}

fn follow(ctx: &Ctx, req: &Req, name: &str, on: bool) -> Result<Resp> {
    auth::require(ctx, req, "write:follows")?;
    let name = valid_name(&decoded(name))?.to_lowercase();
    let now = db::now_ms();
    ctx.db.write(|tx| {
        if on {
            tags::follow(tx, &name, now)
        } else {
            tags::unfollow(tx, &name)
        }
    })?;
    ok(entities::tag(&ctx.config, &name, on))
}

fn followed(ctx: &Ctx, req: &Req) -> Result<Resp> {
    auth::require(ctx, req, "read:follows")?;
    let p = Params::from_request(req)?;
    let pg = page(&p, 200)?;
    // Mastodon's default page of followed hashtags is 100.
    let limit = p.int("limit")?.map_or(100, |_| pg.limit);
    let rows = ctx
        .db
        .read(|c| tags::followed(c, pg.max_id, pg.min_id.or(pg.since_id), limit))?;
    let items = rows
        .iter()
        .map(|t| entities::tag(&ctx.config, &t.name, true))
        .collect();
    let ids: Vec<i64> = rows.iter().map(|t| t.id).collect();
    Ok(paged(ctx, req, items, &ids))
}

fn featured_list(ctx: &Ctx) -> Result<Value> {
    ctx.db.read(|c| {
        let mut out = Vec::new();
        for t in tags::featured(c)? {
            let (count, last) = tags::featured_stats(c, &t.name)?;
            out.push(entities::featured_tag(
                &ctx.config,
                t.id,
                &t.name,
                count,
                last,
            ));
        }
        Ok(Value::Array(out))
    })
}

fn feature(ctx: &Ctx, req: &Req) -> Result<Resp> {
    auth::require(ctx, req, "write:accounts")?;
    let p = Params::from_request(req)?;
    let name = valid_name(&p.required("name")?)?;
    let now = db::now_ms();
    let id = ctx.db.write(|tx| {
        if tags::featured(tx)?.len() >= MAX_FEATURED {
            return Err(Error::Unprocessable(
                "Validation failed: You can feature at most 10 hashtags".into(),
            ));
        }
        tags::feature(tx, &name, now)
    })?;
    let (count, last) = ctx.db.read(|c| tags::featured_stats(c, &name))?;
    ok(entities::featured_tag(&ctx.config, id, &name, count, last))
}

fn suggestions(ctx: &Ctx, req: &Req) -> Result<Resp> {
    auth::require(ctx, req, "read:accounts")?;
    ctx.db.read(|c| {
        let featured: Vec<String> = tags::featured(c)?
            .into_iter()
            .map(|t| t.name.to_lowercase())
            .collect();
        let items = tags::most_used(c, 10 + featured.len() as i64)?
            .into_iter()
            .filter(|t| !featured.contains(t))
            .take(10)
            .map(|t| entities::tag(&ctx.config, &t, false))
            .collect();
        ok(Value::Array(items))
    })
}

/// `GET /api/v1/accounts/:id/featured_tags`: the owner's featured hashtags; none for
/// other accounts (kith does not fetch theirs).
pub fn account_featured_tags(ctx: &Ctx, req: &Req, id: &str) -> Result<Resp> {
    auth::optional(ctx, req)?;
    match parse_account_id(id) {
        Some(AccountRef::Local) => ok(featured_list(ctx)?),
        Some(AccountRef::Remote(actor_id)) => {
            ctx.db.read(|c| db::actors::get(c, actor_id))?;
            ok(json!([]))
        }
        None => Err(Error::NotFound("Record not found".into())),
    }
}

/// `POST /api/v1/accounts/:id/endorse|unendorse`: features (or stops featuring) an
/// account on the profile; only accounts the owner follows can be endorsed.
pub fn endorse(ctx: &Ctx, req: &Req, id: &str, on: bool) -> Result<Resp> {
    auth::require(ctx, req, "write:accounts")?;
    let actor_id = match parse_account_id(id) {
        Some(AccountRef::Remote(a)) => a,
        Some(AccountRef::Local) => {
            return Err(Error::Unprocessable("That is your own account".into()));
        }
        None => return Err(Error::NotFound("Record not found".into())),
    };
    let now = db::now_ms();
    ctx.db.write(|tx| {
        db::actors::get(tx, actor_id)?;
        let following = db::follows::find(tx, true, actor_id)?.is_some_and(|f| f.accepted);
        if on && !following {
            return Err(Error::Unprocessable(
                "You must be following this account to endorse it".into(),
            ));
        }
        tags::set_endorsed(tx, actor_id, on, now)
    })?;
    ok(super::accounts::relationship(ctx, actor_id)?)
}

fn endorsements(ctx: &Ctx, req: &Req) -> Result<Resp> {
    auth::require(ctx, req, "read:accounts")?;
    endorsed_page(ctx, req)
}

fn endorsed_page(ctx: &Ctx, req: &Req) -> Result<Resp> {
    let p = Params::from_request(req)?;
    let limit = p.int("limit")?.unwrap_or(40).clamp(1, 80);
    ctx.db.read(|c| {
        let rows = tags::endorsed(c, p.id("max_id")?, limit)?;
        let items = rows
            .iter()
            .map(|(a, _)| views::remote_account(ctx, c, &db::actors::get(c, *a)?))
            .collect::<Result<Vec<_>>>()?;
        let ids: Vec<i64> = rows.iter().map(|(_, at)| *at).collect();
        Ok(paged(ctx, req, items, &ids))
    })
}

/// `GET /api/v1/accounts/:id/endorsements`: the accounts the owner endorses, public as
/// on the profile; other accounts' are not known to kith.
pub fn account_endorsements(ctx: &Ctx, req: &Req, id: &str) -> Result<Resp> {
    auth::optional(ctx, req)?;
    match parse_account_id(id) {
        Some(AccountRef::Local) => endorsed_page(ctx, req),
        Some(AccountRef::Remote(actor_id)) => {
            ctx.db.read(|c| db::actors::get(c, actor_id))?;
            ok(json!([]))
        }
        None => Err(Error::NotFound("Record not found".into())),
    }
}
