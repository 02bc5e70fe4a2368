//! Scheduled statuses, as Mastodon serves them: the `ScheduledStatus` entity (`id`,
//! `scheduled_at`, `params`, `media_attachments`), `GET /api/v1/scheduled_statuses`
//! (paged with `Link`), and `GET`, `PUT` (a new `scheduled_at`) and `DELETE` on
//! `/api/v1/scheduled_statuses/:id`. Scheduling itself is `POST /api/v1/statuses`
//! with `scheduled_at` (`statuses`); what it does is `process::scheduled`'s.

use super::{auth, ok, page, paged, path_id};
use crate::ctx::Ctx;
use crate::error::{Error, Result};
use crate::http::params::Params;
use crate::http::{Req, Resp};
use crate::process::scheduled::{self, Scheduled};
use serde_json::{Value, json};

/// Routes under `/api/v1/scheduled_statuses`.
pub fn route(ctx: &Ctx, req: &Req, method: &str, rest: &[&str]) -> Result<Resp> {
    match (method, rest) {
        ("GET", ["scheduled_statuses"]) => list(ctx, req),
        ("GET", ["scheduled_statuses", id]) => {
            auth::require(ctx, req, "read:statuses")?;
            ok(entity(ctx, &scheduled::get(ctx, path_id(id)?)?)?)
        }
        ("PUT", ["scheduled_statuses", id]) => update(ctx, req, id),
        ("DELETE", ["scheduled_statuses", id]) => {
            auth::require(ctx, req, "write:statuses")?;
            scheduled::cancel(ctx, path_id(id)?)?;
            ok(json!({}))
        }
        _ => Err(Error::NotFound("Not found".into())),
    }
}

/// The `ScheduledStatus` entity.
pub fn entity(ctx: &Ctx, s: &Scheduled) -> Result<Value> {
    let params: Value = serde_json::from_str(&s.params_json)?;
    // An upload deleted while it waited is left out (the post will be dropped).
    let media: Vec<Value> = ctx.db.read(|c| {
        Ok(s.media_ids
            .iter()
            .filter_map(|id| super::media::attachment_json(ctx, c, *id).ok())
            .collect())
    })?;
    Ok(json!({
        "id": s.id.to_string(),
        "scheduled_at": crate::dates::mastodon(s.scheduled_at),
        "params": params,
        "media_attachments": media,
    }))
}

/// Parses a `scheduled_at` value (ISO 8601 / RFC 3339, with an offset).
pub fn parse_time(value: &str) -> Result<i64> {
    crate::dates::parse_rfc3339(value).ok_or_else(|| {
        Error::Unprocessable(
            "Validation failed: Scheduled at must be an ISO 8601 date and time with a time zone"
                .into(),
        )
    })
}

fn list(ctx: &Ctx, req: &Req) -> Result<Resp> {
    auth::require(ctx, req, "read:statuses")?;
    let p = Params::from_request(req)?;
    let pg = page(&p, super::MAX_LIMIT)?;
    let rows = ctx.db.read(|c| crate::db::scheduled::list(c, &pg))?;
    let ids: Vec<i64> = rows.iter().map(|s| s.id).collect();
    let items = rows
        .iter()
        .map(|s| entity(ctx, s))
        .collect::<Result<Vec<_>>>()?;
    Ok(paged(ctx, req, items, &ids))
}

fn update(ctx: &Ctx, req: &Req, id: &str) -> Result<Resp> {
    auth::require(ctx, req, "write:statuses")?;
    let id = path_id(id)?;
    let p = Params::from_request(req)?;
    let at = p
        .str("scheduled_at")?
        .filter(|v| !v.is_empty())
        .ok_or_else(|| {
            Error::Unprocessable("Validation failed: Scheduled at can't be blank".into())
        })?;
    // An unknown id is 404 whatever the time says.
    scheduled::get(ctx, id)?;
    ok(entity(
        ctx,
        &scheduled::reschedule(ctx, id, parse_time(&at)?)?,
    )?)
}
