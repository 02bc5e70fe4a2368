//! Finding people: `/api/v1/accounts/familiar_followers`, `/api/v2/suggestions` and
//! `/api/v1/directory`. kith knows only its owner's follow graph, so familiar
//! followers are always empty, it makes no suggestions, and its directory lists at
//! most the owner (when discoverable); each answer is well-formed for apps.

use super::entities::{AccountRef, parse_account_id};
use super::{auth, ok, views};
use crate::ctx::Ctx;
use crate::db;
use crate::error::{Error, Result};
use crate::http::params::Params;
use crate::http::{Req, Resp};
use serde_json::{Value, json};

/// `GET /api/v1/accounts/familiar_followers?id[]=…`: one `FamiliarFollowers` per known
/// account, each with no accounts (who follows a remote account is its server's
/// knowledge); unknown ids are left out, as in `relationships`.
pub fn familiar_followers(ctx: &Ctx, req: &Req) -> Result<Resp> {
    auth::require(ctx, req, "read:follows")?;
    let p = Params::from_request(req)?;
    let mut out = Vec::new();
    for id in p.list("id")? {
        let known = match parse_account_id(&id) {
            Some(AccountRef::Local) => true,
            Some(AccountRef::Remote(a)) => ctx.db.read(|c| db::actors::get(c, a)).is_ok(),
            None => false,
        };
        if known {
            out.push(json!({"id": id, "accounts": []}));
        }
    }
    ok(Value::Array(out))
}

/// `GET /api/v2/suggestions`: kith suggests nobody.
pub fn suggestions(ctx: &Ctx, req: &Req) -> Result<Resp> {
    auth::require(ctx, req, "read")?;
    let p = Params::from_request(req)?;
    p.int("limit")?;
    ok(json!([]))
}

/// `GET /api/v1/directory`: the owner's account when it is discoverable.
pub fn directory(ctx: &Ctx, req: &Req) -> Result<Resp> {
    auth::optional(ctx, req)?;
    let p = Params::from_request(req)?;
    let offset = p.int("offset")?.unwrap_or(0);
    let limit = p.int("limit")?.unwrap_or(40);
    if offset < 0 {
        return Err(Error::Unprocessable("Validation failed: offset".into()));
    }
    if let Some(order) = p.str("order")?
        && !matches!(order.as_str(), "active" | "new")
    {
        return Err(Error::Unprocessable(
            "Validation failed: order must be active or new".into(),
        ));
    }
    let discoverable = ctx.db.read(db::account::get)?.discoverable;
    if !discoverable || offset > 0 || limit < 1 {
        return ok(json!([]));
    }
    ok(json!([ctx.db.read(|c| views::local_account(ctx, c))?]))
}
