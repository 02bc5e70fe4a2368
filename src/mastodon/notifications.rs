//! Notifications v2, grouped as Mastodon 4.3 groups them (`/api/v2/notifications`,
//! one group, its accounts, dismissing it, the unread count), and the notification
//! policy with the requests it makes (`/api/v2/notifications/policy`,
//! `/api/v1/notifications/requests`). Group keys are given when a notification is
//! stored (`db::notifications`); a page here is a run of notifications newest first,
//! cut when it holds `limit` groups, and each group counts its members in that run.

use super::entities::{AccountRef, parse_account_id, remote_account_id};
use super::{auth, ok, page, views};
use crate::ctx::Ctx;
use crate::db::notification_groups::{self as groups, Policy};
use crate::db::{self, Conn, notifications};
use crate::error::{Error, Result};
use crate::http::params::Params;
use crate::http::{Req, Resp};
use serde_json::{Value, json};

/// Accounts shown per group at most (Mastodon's sample size).
const SAMPLE_ACCOUNTS: usize = 8;
/// Notifications read per batch while a page is filled.
const BATCH: i64 = 100;
/// Notifications read for one page at most.
const SCAN_LIMIT: usize = 2000;

/// Routes under `/api/v2/notifications`.
pub fn route_v2(ctx: &Ctx, req: &Req, method: &str, rest: &[&str]) -> Result<Resp> {
    match (method, rest) {
        ("GET", ["notifications"]) => list(ctx, req),
        ("GET", ["notifications", "unread_count"]) => unread_count(ctx, req),
        ("GET", ["notifications", "policy"]) => {
            auth::require(ctx, req, "read:notifications")?;
            ok(ctx.db.read(policy_json)?)
        }
        ("PATCH" | "PUT", ["notifications", "policy"]) => set_policy(ctx, req),
        ("GET", ["notifications", key]) => one_group(ctx, req, key),
        ("GET", ["notifications", key, "accounts"]) => group_accounts(ctx, req, key),
        ("POST", ["notifications", key, "dismiss"]) => {
            auth::require(ctx, req, "write:notifications")?;
            ctx.db.write(|tx| groups::dismiss(tx, key))?;
            ok(json!({}))
        }
        _ => Err(Error::NotFound("Not found".into())),
    }
}

/// `GET|PATCH /api/v1/notifications/policy`: the older shape, a boolean per rule
/// (`true`: filter or drop, `false`: accept).
pub fn policy_v1(ctx: &Ctx, req: &Req, method: &str) -> Result<Resp> {
    if method != "GET" {
        auth::require(ctx, req, "write:notifications")?;
        let p = Params::from_request(req)?;
        let mut policy: Policy = ctx.db.read(groups::policy)?;
        for (key, slot) in [
            ("filter_not_following", &mut policy.for_not_following),
            ("filter_not_followers", &mut policy.for_not_followers),
            ("filter_new_accounts", &mut policy.for_new_accounts),
            ("filter_private_mentions", &mut policy.for_private_mentions),
        ] {
            match p.bool(key)? {
                Some(true) if slot == "accept" => *slot = "filter".into(),
                Some(false) => *slot = "accept".into(),
                _ => {}
            }
        }
        ctx.db.write(|tx| groups::set_policy(tx, &policy))?;
    } else {
        auth::require(ctx, req, "read:notifications")?;
    }
    let v2 = ctx.db.read(policy_json)?;
    let on = |key: &str| v2[key] != "accept";
    ok(json!({
        "filter_not_following": on("for_not_following"),
        "filter_not_followers": on("for_not_followers"),
        "filter_new_accounts": on("for_new_accounts"),
        "filter_private_mentions": on("for_private_mentions"),
        "summary": v2["summary"],
    }))
}

/// Routes under `/api/v1/notifications/requests`.
pub fn route_requests(ctx: &Ctx, req: &Req, method: &str, rest: &[&str]) -> Result<Resp> {
    match (method, rest) {
        ("GET", ["notifications", "requests"]) => requests(ctx, req),
        ("GET", ["notifications", "requests", "merged"]) => {
            auth::require(ctx, req, "read:notifications")?;
            ok(json!({"merged": true}))
        }
        ("POST", ["notifications", "requests", action @ ("accept" | "dismiss")]) => {
            auth::require(ctx, req, "write:notifications")?;
            let p = Params::from_request(req)?;
            for id in p.list("id")? {
                // Ids that name no request are skipped, as Mastodon does for lists.
                if let Ok(actor) = request_actor(&id) {
                    let done = answer(ctx, actor, *action == "accept");
                    if let Err(e) = done
                        && !matches!(e, Error::NotFound(_))
                    {
                        return Err(e);
                    }
                }
            }
            ok(json!({}))
        }
        ("GET", ["notifications", "requests", id]) => {
            auth::require(ctx, req, "read:notifications")?;
            let actor = request_actor(id)?;
            ctx.db.read(|c| {
                let r = groups::request(c, actor)?;
                ok(request_json(ctx, c, &r)?)
            })
        }
        (
            "POST",
            [
                "notifications",
                "requests",
                id,
                action @ ("accept" | "dismiss"),
            ],
        ) => {
            auth::require(ctx, req, "write:notifications")?;
            answer(ctx, request_actor(id)?, *action == "accept")?;
            ok(json!({}))
        }
        _ => Err(Error::NotFound("Not found".into())),
    }
}

/// One group as the page shows it.
struct Group {
    key: String,
    members: Vec<notifications::Notification>,
}

/// The Mastodon types grouped by default.
const GROUPED: [&str; 3] = ["favourite", "reblog", "follow"];

fn effective_key(n: &notifications::Notification, grouped: &[String]) -> String {
    let ty = super::entities::notification_type(&n.kind);
    match &n.group_key {
        Some(k) if grouped.iter().any(|g| g == ty) => k.clone(),
        _ => format!("ungrouped-{}", n.id),
    }
}

/// The stored kinds to list, from `types[]` and `exclude_types[]`.
fn kinds(p: &Params) -> Result<Option<Vec<String>>> {
    let types = p.list("types")?;
    let exclude = p.list("exclude_types")?;
    let mut kinds = (!types.is_empty()).then(|| super::timelines::kinds_for(&types));
    if !exclude.is_empty() {
        let all = super::timelines::kinds_for(
            &[
                "follow",
                "follow_request",
                "mention",
                "favourite",
                "reblog",
                "admin.report",
                "update",
                "move",
                "poll",
            ]
            .map(String::from),
        );
        let excluded = super::timelines::kinds_for(&exclude);
        kinds = Some(
            kinds
                .unwrap_or(all)
                .into_iter()
                .filter(|k| !excluded.contains(k))
                .collect(),
        );
    }
    Ok(kinds)
}

/// Reads notifications newest first (or, with only `min_id`, oldest first from it)
/// into at most `limit` groups.
fn fill(c: &Conn, p: &Params) -> Result<Vec<Group>> {
    let pg = page(p, 80)?;
    let limit = p.int("limit")?.unwrap_or(40).clamp(1, 80) as usize;
    let kinds = kinds(p)?;
    let mut grouped = p.list("grouped_types")?;
    if p.get("grouped_types").is_none() {
        grouped = GROUPED.map(String::from).to_vec();
    }
    let ascending = pg.min_id.is_some() && pg.max_id.is_none();
    let (mut max, mut min) = (pg.max_id, pg.min_id.or(pg.since_id));
    let since = pg.since_id;
    let mut out: Vec<Group> = Vec::new();
    let mut scanned = 0;
    'scan: loop {
        let mut batch = if ascending {
            notifications::page(c, None, None, min, kinds.as_deref(), BATCH)?
        } else {
            notifications::page(c, max, since, pg.min_id, kinds.as_deref(), BATCH)?
        };
        if ascending {
            batch.reverse();
        }
        let done = (batch.len() as i64) < BATCH;
        for n in batch {
            scanned += 1;
            if ascending {
                min = Some(n.id);
            } else {
                max = Some(n.id);
            }
            let key = effective_key(&n, &grouped);
            match out.iter().position(|g| g.key == key) {
                Some(i) => out[i].members.push(n),
                None if out.len() == limit => break 'scan,
                None => out.push(Group {
                    key,
                    members: vec![n],
                }),
            }
        }
        if done || scanned >= SCAN_LIMIT {
            break;
        }
    }
    for g in &mut out {
        g.members.sort_by_key(|n| std::cmp::Reverse(n.id));
    }
    if ascending {
        out.reverse();
    }
    Ok(out)
}

/// The `GroupedNotificationsResults` of some groups; `paged` adds the page fields.
fn results(ctx: &Ctx, c: &Conn, list: &[Group], paged: bool) -> Result<Value> {
    let mut accounts: Vec<Value> = Vec::new();
    let mut statuses: Vec<Value> = Vec::new();
    let mut out = Vec::new();
    for g in list {
        let Some(newest) = g.members.first() else {
            continue;
        };
        let oldest = g.members.last().unwrap_or(newest);
        let mut sample: Vec<String> = Vec::new();
        for n in &g.members {
            let id = remote_account_id(n.actor_id);
            if sample.len() < SAMPLE_ACCOUNTS && !sample.contains(&id) {
                sample.push(id.clone());
                if !accounts.iter().any(|a| a["id"] == id.as_str()) {
                    let actor = db::actors::get(c, n.actor_id)?;
                    accounts.push(views::remote_account(ctx, c, &actor)?);
                }
            }
        }
        let full = views::notification(ctx, c, newest)?;
        if !full["status"].is_null() && !statuses.iter().any(|s| s["id"] == full["status"]["id"]) {
            statuses.push(full["status"].clone());
        }
        let mut group = json!({
            "group_key": g.key,
            "notifications_count": g.members.len(),
            "type": full["type"],
            "most_recent_notification_id": newest.id.to_string(),
            "sample_account_ids": sample,
        });
        if paged {
            group["page_min_id"] = json!(oldest.id.to_string());
            group["page_max_id"] = json!(newest.id.to_string());
            group["latest_page_notification_at"] = full["created_at"].clone();
        }
        if !full["status"].is_null() {
            group["status_id"] = full["status"]["id"].clone();
        }
        out.push(group);
    }
    Ok(json!({"accounts": accounts, "statuses": statuses, "notification_groups": out}))
}

/// `GET /api/v2/notifications`.
fn list(ctx: &Ctx, req: &Req) -> Result<Resp> {
    auth::require(ctx, req, "read:notifications")?;
    let p = Params::from_request(req)?;
    if let Some(expand) = p.str("expand_accounts")?
        && !matches!(expand.as_str(), "full" | "partial_avatars")
    {
        return Err(Error::Unprocessable(
            "Validation failed: expand_accounts must be full or partial_avatars".into(),
        ));
    }
    ctx.db.read(|c| {
        let list = fill(c, &p)?;
        let ids: Vec<i64> = list
            .iter()
            .flat_map(|g| g.members.iter().map(|n| n.id))
            .collect();
        let body = results(ctx, c, &list, true)?;
        let resp = Resp::json(200, &body);
        Ok(
            match super::link_header(
                ctx,
                req,
                ids.iter().copied().max(),
                ids.iter().copied().min(),
            ) {
                Some(link) => resp.with_header("Link", &link),
                None => resp,
            },
        )
    })
}

fn group_of(c: &Conn, key: &str) -> Result<Group> {
    let members = groups::members(c, key)?;
    if members.is_empty() {
        return Err(Error::NotFound("Record not found".into()));
    }
    Ok(Group {
        key: key.to_string(),
        members,
    })
}

/// `GET /api/v2/notifications/:group_key`.
fn one_group(ctx: &Ctx, req: &Req, key: &str) -> Result<Resp> {
    auth::require(ctx, req, "read:notifications")?;
    ctx.db.read(|c| {
        let g = group_of(c, key)?;
        ok(results(ctx, c, &[g], false)?)
    })
}

/// `GET /api/v2/notifications/:group_key/accounts`: every account in the group.
fn group_accounts(ctx: &Ctx, req: &Req, key: &str) -> Result<Resp> {
    auth::require(ctx, req, "read:notifications")?;
    ctx.db.read(|c| {
        let g = group_of(c, key)?;
        let mut seen = Vec::new();
        let mut out = Vec::new();
        for n in &g.members {
            if !seen.contains(&n.actor_id) {
                seen.push(n.actor_id);
                out.push(views::remote_account(
                    ctx,
                    c,
                    &db::actors::get(c, n.actor_id)?,
                )?);
            }
        }
        ok(Value::Array(out))
    })
}

/// `GET /api/v2/notifications/unread_count`: unread groups, up to `limit` (100, at most 1000).
fn unread_count(ctx: &Ctx, req: &Req) -> Result<Resp> {
    auth::require(ctx, req, "read:notifications")?;
    let p = Params::from_request(req)?;
    let limit = p.int("limit")?.unwrap_or(100).clamp(1, 1000);
    ok(json!({"count": ctx.db.read(|c| groups::unread_groups(c, limit))?}))
}

fn policy_json(c: &Conn) -> Result<Value> {
    let p = groups::policy(c)?;
    let (requests, held) = groups::pending_counts(c)?;
    Ok(json!({
        "for_not_following": p.for_not_following,
        "for_not_followers": p.for_not_followers,
        "for_new_accounts": p.for_new_accounts,
        "for_private_mentions": p.for_private_mentions,
        "for_limited_accounts": p.for_limited_accounts,
        "summary": {"pending_requests_count": requests, "pending_notifications_count": held},
    }))
}

/// `PATCH /api/v2/notifications/policy`: each given rule is `accept`, `filter` or `drop`.
fn set_policy(ctx: &Ctx, req: &Req) -> Result<Resp> {
    auth::require(ctx, req, "write:notifications")?;
    let p = Params::from_request(req)?;
    let mut policy: Policy = ctx.db.read(groups::policy)?;
    for (key, slot) in [
        ("for_not_following", &mut policy.for_not_following),
        ("for_not_followers", &mut policy.for_not_followers),
        ("for_new_accounts", &mut policy.for_new_accounts),
        ("for_private_mentions", &mut policy.for_private_mentions),
        ("for_limited_accounts", &mut policy.for_limited_accounts),
    ] {
        if let Some(v) = p.str(key)? {
            if !matches!(v.as_str(), "accept" | "filter" | "drop") {
                return Err(Error::Unprocessable(format!(
                    "Validation failed: {key} must be accept, filter or drop"
                )));
            }
            *slot = v;
        }
    }
    ctx.db.write(|tx| groups::set_policy(tx, &policy))?;
    ok(ctx.db.read(policy_json)?)
}

/// The sender a request id (its account id) names.
fn request_actor(id: &str) -> Result<i64> {
    match parse_account_id(id) {
        Some(AccountRef::Remote(a)) => Ok(a),
        _ => Err(Error::NotFound("Record not found".into())),
    }
}

fn answer(ctx: &Ctx, actor: i64, accept: bool) -> Result<()> {
    let now = db::now_ms();
    ctx.db.write(|tx| {
        if accept {
            groups::accept(tx, actor, now)
        } else {
            groups::dismiss_request(tx, actor)
        }
    })?;
    if accept {
        ctx.emit(crate::events::Event::Notified);
    }
    Ok(())
}

/// A `NotificationRequest` (its id is the sender's account id).
fn request_json(ctx: &Ctx, c: &Conn, r: &groups::Request) -> Result<Value> {
    let actor = db::actors::get(c, r.actor_id)?;
    let last_status = match r.last_post_id {
        Some(id) => match db::posts::find(c, id)? {
            Some(p) if p.deleted_at.is_none() => {
                views::status(ctx, c, &p, &crate::visibility::Viewer::Owner)?
            }
            _ => Value::Null,
        },
        None => Value::Null,
    };
    Ok(json!({
        "id": remote_account_id(r.actor_id),
        "created_at": crate::dates::mastodon(r.first_at),
        "updated_at": crate::dates::mastodon(r.last_at),
        "account": views::remote_account(ctx, c, &actor)?,
        "notifications_count": r.count.to_string(),
        "last_status": last_status,
    }))
}

/// `GET /api/v1/notifications/requests`, paged by sender.
fn requests(ctx: &Ctx, req: &Req) -> Result<Resp> {
    auth::require(ctx, req, "read:notifications")?;
    let p = Params::from_request(req)?;
    let limit = p.int("limit")?.unwrap_or(40).clamp(1, 80);
    let max =
        match p.str("max_id")? {
            Some(id) => Some(request_actor(&id).map_err(|_| {
                Error::Unprocessable("Validation failed: max_id is not an id".into())
            })?),
            None => None,
        };
    ctx.db.read(|c| {
        let list = groups::requests(c, max, limit)?;
        let items = list
            .iter()
            .map(|r| request_json(ctx, c, r))
            .collect::<Result<Vec<_>>>()?;
        let ids: Vec<i64> = list.iter().map(|r| r.actor_id + 1).collect();
        Ok(super::paged(ctx, req, items, &ids))
    })
}
