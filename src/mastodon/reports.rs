//! Reporting an account to its server: `POST /api/v1/reports` stores the report and,
//! with `forward`, has `process::reports` send a `Flag`. kith has no server rules, so
//! `rule_ids` can name none.

use super::entities::{AccountRef, parse_account_id};
use super::{auth, ok, views};
use crate::ctx::Ctx;
use crate::db::{self, reports::OwnReport};
use crate::error::{Error, Result};
use crate::http::params::Params;
use crate::http::{Req, Resp};
use serde_json::{Value, json};

/// Longest report comment, in characters (Mastodon's limit).
const MAX_COMMENT_CHARS: usize = 1000;

/// `POST /api/v1/reports`.
pub fn create(ctx: &Ctx, req: &Req) -> Result<Resp> {
    auth::require(ctx, req, "write:reports")?;
    let p = Params::from_request(req)?;
    let actor_id = match parse_account_id(&p.required("account_id")?) {
        Some(AccountRef::Remote(a)) => a,
        Some(AccountRef::Local) => {
            return Err(Error::Unprocessable(
                "Validation failed: you cannot report your own account".into(),
            ));
        }
        None => return Err(Error::NotFound("Record not found".into())),
    };
    let comment = p.str("comment")?.unwrap_or_default();
    if comment.chars().count() > MAX_COMMENT_CHARS {
        return Err(Error::Unprocessable(
            "Validation failed: Comment is too long (maximum is 1000 characters)".into(),
        ));
    }
    let rule_ids = p.list("rule_ids")?;
    if !rule_ids.is_empty() {
        return Err(Error::Unprocessable(
            "Validation failed: Rules do not exist on this server".into(),
        ));
    }
    let category = p.str("category")?.unwrap_or_else(|| "other".into());
    if !matches!(category.as_str(), "spam" | "legal" | "violation" | "other") {
        return Err(Error::Unprocessable(
            "Validation failed: category must be spam, legal, violation or other".into(),
        ));
    }
    if category == "violation" {
        return Err(Error::Unprocessable(
            "Validation failed: a violation names rules, and this server has none".into(),
        ));
    }
    let status_ids = p
        .list("status_ids")?
        .iter()
        .map(|s| {
            s.parse::<i64>()
                .map_err(|_| Error::NotFound("Record not found".into()))
        })
        .collect::<Result<Vec<_>>>()?;
    let forward = p.bool("forward")?.unwrap_or(false);
    let (target, uris) = ctx.db.read(|c| {
        let target = db::actors::get(c, actor_id)?;
        let mut uris = Vec::new();
        for id in &status_ids {
            // Only the reported account's own posts can be part of its report.
            match db::posts::find(c, *id)? {
                Some(post) if post.actor_id == Some(actor_id) => uris.push(post.uri),
                _ => return Err(Error::NotFound("Record not found".into())),
            }
        }
        Ok((target, uris))
    })?;
    let report = OwnReport {
        id: 0,
        actor_id,
        status_ids,
        comment: crate::text::clean_plain(&comment, MAX_COMMENT_CHARS),
        category,
        rule_ids,
        forwarded: forward,
        created_at: db::now_ms(),
    };
    let id = crate::process::reports::report(ctx, &report, &target, &uris)?;
    let stored = ctx
        .db
        .read(|c| db::reports::find(c, id))?
        .ok_or_else(|| Error::Internal("report vanished".into()))?;
    let account = ctx.db.read(|c| views::remote_account(ctx, c, &target))?;
    ok(report_json(&stored, account))
}

/// A `Report`.
fn report_json(r: &OwnReport, target_account: Value) -> Value {
    json!({
        "id": r.id.to_string(),
        "action_taken": false,
        "action_taken_at": null,
        "category": r.category,
        "comment": r.comment,
        "forwarded": r.forwarded,
        "created_at": crate::dates::mastodon(r.created_at),
        "status_ids": r.status_ids.iter().map(i64::to_string).collect::<Vec<_>>(),
        "rule_ids": r.rule_ids,
        "target_account": target_account,
    })
}
