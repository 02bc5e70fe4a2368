//! Posts scheduled for later: scheduling one (checked now as if it were posted, at
//! least `limits.schedule_min_secs` ahead), moving or cancelling it, and publishing
//! those that fell due through the normal path ([`super::posts::create_post`]). The
//! row is taken off the list in the transaction that stores the post, so a post is
//! published once even if kith stops half-way; one that fell due while kith was
//! stopped is published at the first pass after start. Nothing of a scheduled post is
//! shown or sent anywhere before its time. Both faces call these functions.

use super::posts::{Draft, DraftPoll, check_draft, create_post_with};
use crate::ctx::Ctx;
use crate::db::posts::Post;
use crate::db::{self, scheduled};
use crate::error::{Error, Result};
use serde_json::{Value, json};

pub use crate::db::scheduled::Scheduled;

/// Posts one account may have waiting at once (Mastodon's figure).
pub const MAX_SCHEDULED: i64 = 300;
/// Due posts published in one pass of the worker.
const BATCH: i64 = 20;

/// The refusal of a time too near (Mastodon's wording).
fn too_soon() -> Error {
    Error::Unprocessable(
        "Validation failed: Scheduled at The scheduled date must be in the future".into(),
    )
}

/// Checks a requested time against now and the configured minimum lead.
fn check_time(ctx: &Ctx, at: i64) -> Result<()> {
    let min_ms = i64::try_from(ctx.config.limits.schedule_min_secs)
        .unwrap_or(i64::MAX / 2)
        .saturating_mul(1000);
    if at < db::now_ms().saturating_add(min_ms) {
        return Err(too_soon());
    }
    Ok(())
}

/// The draft as the API's `params` object (ids as strings, as Mastodon shows them).
fn params_of(
    draft: &Draft,
    at: i64,
    application_id: Option<i64>,
    idempotency: Option<&str>,
) -> Value {
    let poll = draft.poll.as_ref().map(|p| {
        json!({
            "options": p.options,
            "expires_in": p.expires_in_secs.to_string(),
            "multiple": p.multiple,
            "hide_totals": false,
        })
    });
    let media_ids: Vec<String> = draft.media_ids.iter().map(i64::to_string).collect();
    json!({
        "text": draft.text,
        "spoiler_text": draft.spoiler_text,
        "sensitive": draft.sensitive,
        "visibility": draft.visibility,
        "language": draft.language,
        "in_reply_to_id": draft.in_reply_to_id.map(|id| id.to_string()),
        "poll": poll,
        "media_ids": if media_ids.is_empty() { Value::Null } else { json!(media_ids) },
        "scheduled_at": crate::dates::mastodon(at),
        "application_id": application_id,
        "idempotency": idempotency,
        "with_rate_limit": false,
    })
}

/// The draft a stored scheduled post will publish.
pub fn draft_of(s: &Scheduled) -> Draft {
    let p: Value = serde_json::from_str(&s.params_json).unwrap_or(Value::Null);
    let text = |k: &str| p[k].as_str().unwrap_or_default().to_string();
    let poll = p["poll"].as_object().map(|poll| DraftPoll {
        options: poll
            .get("options")
            .and_then(Value::as_array)
            .map(|o| {
                o.iter()
                    .filter_map(Value::as_str)
                    .map(String::from)
                    .collect()
            })
            .unwrap_or_default(),
        expires_in_secs: poll
            .get("expires_in")
            .and_then(Value::as_str)
            .and_then(|e| e.parse().ok())
            .unwrap_or(86_400),
        multiple: poll
            .get("multiple")
            .and_then(Value::as_bool)
            .unwrap_or(false),
    });
    Draft {
        text: text("text"),
        spoiler_text: text("spoiler_text"),
        sensitive: p["sensitive"].as_bool().unwrap_or(false),
        visibility: Some(text("visibility"))
            .filter(|v| !v.is_empty())
            .unwrap_or_else(|| "public".into()),
        language: p["language"].as_str().map(String::from),
        in_reply_to_id: p["in_reply_to_id"].as_str().and_then(|i| i.parse().ok()),
        poll,
        media_ids: s.media_ids.clone(),
    }
}

/// Schedules a draft for `at` (Unix ms); the draft is checked as a post would be, its
/// uploads must be unposted and not waiting with another scheduled post. A repeated
/// `idempotency` key returns the scheduled post it made, unchanged.
pub fn schedule(
    ctx: &Ctx,
    draft: &Draft,
    at: i64,
    application_id: Option<i64>,
    idempotency: Option<&str>,
) -> Result<Scheduled> {
    check_time(ctx, at)?;
    check_draft(draft)?;
    let params = params_of(draft, at, application_id, idempotency).to_string();
    let now = db::now_ms();
    let id = ctx.db.write(|tx| {
        // The same Idempotency-Key again (an app retrying) gets the same scheduled post.
        if let Some(key) = idempotency
            && let Some(id) = scheduled::find_idempotent(tx, key)?
        {
            return Ok(id);
        }
        if scheduled::count(tx)? >= MAX_SCHEDULED {
            return Err(Error::Unprocessable(format!(
                "Validation failed: Scheduled at You cannot have more than {MAX_SCHEDULED} \
                 scheduled posts"
            )));
        }
        if let Some(parent) = draft.in_reply_to_id {
            let gone = db::posts::find(tx, parent)?.is_none_or(|p| p.deleted_at.is_some());
            if gone {
                return Err(Error::Unprocessable(
                    "Validation failed: the post replied to does not exist".into(),
                ));
            }
        }
        for media_id in &draft.media_ids {
            let media = db::media::get(tx, *media_id).map_err(|_| {
                Error::Unprocessable(format!("Validation failed: no media {media_id}"))
            })?;
            if media.post_id.is_some() || media.purpose != db::media::ATTACHMENT {
                return Err(Error::Unprocessable(format!(
                    "Validation failed: media {media_id} is already attached"
                )));
            }
        }
        scheduled::insert(tx, at, &params, application_id, &draft.media_ids, now)
    })?;
    get(ctx, id)
}

/// A scheduled post that is still waiting (404 otherwise).
pub fn get(ctx: &Ctx, id: i64) -> Result<Scheduled> {
    ctx.db
        .read(|c| scheduled::find(c, id))?
        .ok_or_else(|| Error::NotFound("Record not found".into()))
}

/// Moves a scheduled post to a new time, at least the minimum lead ahead.
pub fn reschedule(ctx: &Ctx, id: i64, at: i64) -> Result<Scheduled> {
    check_time(ctx, at)?;
    ctx.db.write(|tx| {
        let s =
            scheduled::find(tx, id)?.ok_or_else(|| Error::NotFound("Record not found".into()))?;
        let mut params: Value = serde_json::from_str(&s.params_json)?;
        params["scheduled_at"] = json!(crate::dates::mastodon(at));
        scheduled::reschedule(tx, id, at, &params.to_string())
    })?;
    get(ctx, id)
}

/// Cancels a scheduled post; its uploads become ordinary unattached uploads again.
pub fn cancel(ctx: &Ctx, id: i64) -> Result<()> {
    ctx.db.write(|tx| scheduled::take(tx, id))
}

/// Publishes one scheduled post now; `None` when it was no longer waiting.
fn publish(ctx: &Ctx, s: &Scheduled) -> Result<Option<Post>> {
    let draft = draft_of(s);
    match create_post_with(ctx, &draft, |tx| scheduled::take(tx, s.id)) {
        Ok(post) => Ok(Some(post)),
        Err(Error::NotFound(_)) if get(ctx, s.id).is_err() => Ok(None),
        Err(e) => Err(e),
    }
}

/// Publishes every scheduled post that is due (for a worker's step); returns how many
/// went out. One that can no longer be posted (its reply target or an upload is gone,
/// it no longer passes the checks) is dropped with a log line; one that failed for a
/// passing reason (the database was busy) is tried again on the next pass.
pub fn publish_due(ctx: &Ctx) -> usize {
    let due = match ctx.db.read(|c| scheduled::due(c, db::now_ms(), BATCH)) {
        Ok(due) => due,
        Err(e) => {
            eprintln!("scheduled posts: {e}");
            return 0;
        }
    };
    let mut published = 0;
    for s in &due {
        match publish(ctx, s) {
            Ok(Some(_)) => published += 1,
            Ok(None) => {}
            Err(e @ (Error::NotFound(_) | Error::Unprocessable(_) | Error::BadRequest(_))) => {
                eprintln!("scheduled posts: post {} dropped: {e}", s.id);
                let _ = cancel(ctx, s.id);
            }
            Err(e) => eprintln!("scheduled posts: post {} not published yet: {e}", s.id),
        }
    }
    published
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn params_carry_the_draft_back() {
        let draft = Draft {
            text: "later".into(),
            spoiler_text: "cw".into(),
            sensitive: true,
            visibility: "unlisted".into(),
            language: Some("de".into()),
            in_reply_to_id: Some(42),
            poll: Some(DraftPoll {
                options: vec!["a".into(), "b".into()],
                expires_in_secs: 600,
                multiple: true,
            }),
            media_ids: vec![],
        };
        let params = params_of(&draft, 1_000, Some(3), Some("k"));
        assert_eq!(params["scheduled_at"], "1970-01-01T00:00:01.000Z");
        assert_eq!(params["in_reply_to_id"], "42");
        assert_eq!(params["media_ids"], Value::Null);
        let s = Scheduled {
            id: 1,
            scheduled_at: 1_000,
            params_json: params.to_string(),
            application_id: Some(3),
            media_ids: vec![7, 8],
        };
        let back = draft_of(&s);
        assert_eq!(back.text, "later");
        assert_eq!(back.spoiler_text, "cw");
        assert!(back.sensitive);
        assert_eq!(back.visibility, "unlisted");
        assert_eq!(back.language.as_deref(), Some("de"));
        assert_eq!(back.in_reply_to_id, Some(42));
        let poll = back.poll.unwrap();
        assert_eq!(
            (poll.options.len(), poll.expires_in_secs, poll.multiple),
            (2, 600, true)
        );
        assert_eq!(back.media_ids, vec![7, 8]);
    }
}
