//! The v2 filter parts apps edit one at a time: keywords
//! (`/api/v2/filters/:id/keywords`, `/api/v2/filter_keywords/:id`) and statuses
//! (`/api/v2/filters/:id/statuses`, `/api/v2/filter_statuses/:id`). Whole filters and
//! applying them are in `lists`.

use super::{auth, ok, path_id};
use crate::ctx::Ctx;
use crate::db::{self, filters};
use crate::error::{Error, Result};
use crate::http::params::Params;
use crate::http::{Req, Resp};
use serde_json::{Value, json};

/// Routes under `/api/v2/filters/:id/keywords|statuses`, `filter_keywords` and
/// `filter_statuses`.
pub fn route(ctx: &Ctx, req: &Req, method: &str, rest: &[&str]) -> Result<Resp> {
    match (method, rest) {
        ("GET", ["filters", id, "keywords"]) => {
            auth::require(ctx, req, "read:filters")?;
            let id = path_id(id)?;
            let list = ctx.db.read(|c| filters::keywords(c, id))?;
            ok(Value::Array(list.iter().map(keyword_json).collect()))
        }
        ("POST", ["filters", id, "keywords"]) => {
            auth::require(ctx, req, "write:filters")?;
            let filter_id = path_id(id)?;
            let (keyword, whole) = keyword_params(req, None)?;
            let id = ctx
                .db
                .write(|tx| filters::add_keyword(tx, filter_id, &keyword, whole))?;
            ok(keyword_json(&ctx.db.read(|c| filters::keyword(c, id))?))
        }
        ("GET", ["filter_keywords", id]) => {
            auth::require(ctx, req, "read:filters")?;
            let id = path_id(id)?;
            ok(keyword_json(&ctx.db.read(|c| filters::keyword(c, id))?))
        }
        ("PUT", ["filter_keywords", id]) => {
            auth::require(ctx, req, "write:filters")?;
            let id = path_id(id)?;
            let old = ctx.db.read(|c| filters::keyword(c, id))?;
            let (keyword, whole) = keyword_params(req, Some(&old))?;
            ctx.db
                .write(|tx| filters::update_keyword(tx, id, &keyword, whole))?;
            ok(keyword_json(&ctx.db.read(|c| filters::keyword(c, id))?))
        }
        ("DELETE", ["filter_keywords", id]) => {
            auth::require(ctx, req, "write:filters")?;
            let id = path_id(id)?;
            ctx.db.write(|tx| filters::delete_keyword(tx, id))?;
            ok(json!({}))
        }
        ("GET", ["filters", id, "statuses"]) => {
            auth::require(ctx, req, "read:filters")?;
            let id = path_id(id)?;
            let list = ctx.db.read(|c| {
                filters::require_filter(c, id)?;
                filters::statuses(c, id)
            })?;
            ok(Value::Array(
                list.iter().map(|s| status_json(s.id, s.post_id)).collect(),
            ))
        }
        ("POST", ["filters", id, "statuses"]) => add_status(ctx, req, id),
        ("GET", ["filter_statuses", id]) => {
            auth::require(ctx, req, "read:filters")?;
            let id = path_id(id)?;
            let s = ctx.db.read(|c| filters::status(c, id))?;
            ok(status_json(s.id, s.post_id))
        }
        ("DELETE", ["filter_statuses", id]) => {
            auth::require(ctx, req, "write:filters")?;
            let id = path_id(id)?;
            ctx.db.write(|tx| filters::delete_status(tx, id))?;
            ok(json!({}))
        }
        _ => Err(Error::NotFound("Not found".into())),
    }
}

/// A `FilterKeyword`.
fn keyword_json(k: &filters::Keyword) -> Value {
    json!({"id": k.id.to_string(), "keyword": k.keyword, "whole_word": k.whole_word})
}

/// A `FilterStatus`.
pub fn status_json(id: i64, post_id: i64) -> Value {
    json!({"id": id.to_string(), "status_id": post_id.to_string()})
}

/// `keyword` (required when creating) and `whole_word` (default true), checked.
fn keyword_params(req: &Req, old: Option<&filters::Keyword>) -> Result<(String, bool)> {
    let p = Params::from_request(req)?;
    let keyword = match (p.str("keyword")?, old) {
        (Some(k), _) => k,
        (None, Some(old)) => old.keyword.clone(),
        (None, None) => p.required("keyword")?,
    };
    let keyword = crate::text::clean_plain(&keyword, 200);
    if keyword.is_empty() {
        return Err(Error::Unprocessable(
            "Validation failed: Keyword can't be blank".into(),
        ));
    }
    let whole = p
        .bool("whole_word")?
        .unwrap_or(old.is_none_or(|o| o.whole_word));
    Ok((keyword, whole))
}

fn add_status(ctx: &Ctx, req: &Req, filter_id: &str) -> Result<Resp> {
    auth::require(ctx, req, "write:filters")?;
    let filter_id = path_id(filter_id)?;
    let p = Params::from_request(req)?;
    let post_id = p
        .id("status_id")?
        .ok_or_else(|| Error::Unprocessable("Validation failed: status_id is missing".into()))?;
    let now = db::now_ms();
    let id = ctx.db.write(|tx| {
        filters::require_filter(tx, filter_id)?;
        match db::posts::find(tx, post_id)? {
            Some(p) if p.deleted_at.is_none() => filters::add_status(tx, filter_id, post_id, now),
            _ => Err(Error::NotFound("Record not found".into())),
        }
    })?;
    ok(status_json(id, post_id))
}
