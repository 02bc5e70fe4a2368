//! Lists of accounts (CRUD and members) and keyword filters (v2), and applying filters
//! to timelines: a `hide` filter removes matching statuses (by keyword or named status),
//! a `warn` filter marks them in `filtered`. A filter's keywords and statuses edited one
//! at a time are `filters`.

use super::entities::{AccountRef, parse_account_id};
use super::{auth, ok, path_id, views};
use crate::ctx::Ctx;
use crate::db::{self, lists};
use crate::error::{Error, Result};
use crate::http::params::Params;
use crate::http::{Req, Resp};
use serde_json::{Value, json};

/// Routes under `/api/v1/lists` (and the v1 `filters` list, served from v2 filters).
pub fn route(ctx: &Ctx, req: &Req, method: &str, rest: &[&str]) -> Result<Resp> {
    match (method, rest) {
        ("GET", ["lists"]) => {
            auth::require(ctx, req, "read:lists")?;
            ok(Value::Array(
                ctx.db
                    .read(lists::list_all)?
                    .iter()
                    .map(list_json)
                    .collect(),
            ))
        }
        ("POST", ["lists"]) => save(ctx, req, None),
        ("GET", ["lists", id]) => {
            auth::require(ctx, req, "read:lists")?;
            let id = path_id(id)?;
            ok(list_json(&ctx.db.read(|c| lists::get(c, id))?))
        }
        ("PUT", ["lists", id]) => save(ctx, req, Some(path_id(id)?)),
        ("DELETE", ["lists", id]) => {
            auth::require(ctx, req, "write:lists")?;
            let id = path_id(id)?;
            ctx.db.write(|tx| lists::delete(tx, id))?;
            ok(json!({}))
        }
        ("GET", ["lists", id, "accounts"]) => members(ctx, req, id),
        ("POST" | "DELETE", ["lists", id, "accounts"]) => {
            set_members(ctx, req, id, method == "POST")
        }
        ("GET", ["filters"]) => {
            auth::require(ctx, req, "read:filters")?;
            ok(json!([]))
        }
        _ => Err(Error::NotFound("Not found".into())),
    }
}

fn list_json(l: &lists::List) -> Value {
    json!({"id": l.id.to_string(), "title": l.title, "replies_policy": l.replies_policy, "exclusive": l.exclusive})
}

fn save(ctx: &Ctx, req: &Req, id: Option<i64>) -> Result<Resp> {
    auth::require(ctx, req, "write:lists")?;
    let p = Params::from_request(req)?;
    let title = crate::text::clean_plain(&p.required("title")?, 100);
    let policy = p.str("replies_policy")?.unwrap_or_else(|| "list".into());
    if !matches!(policy.as_str(), "followed" | "list" | "none") {
        return Err(Error::Unprocessable(
            "Validation failed: replies_policy".into(),
        ));
    }
    let exclusive = p.bool("exclusive")?.unwrap_or(false);
    let now = db::now_ms();
    let id = ctx
        .db
        .write(|tx| lists::save(tx, id, &title, &policy, exclusive, now))?;
    ok(list_json(&ctx.db.read(|c| lists::get(c, id))?))
}

fn members(ctx: &Ctx, req: &Req, id: &str) -> Result<Resp> {
    auth::require(ctx, req, "read:lists")?;
    let id = path_id(id)?;
    ctx.db.read(|c| {
        lists::get(c, id)?;
        let items = lists::members(c, id)?
            .iter()
            .map(|a| views::remote_account(ctx, c, &db::actors::get(c, *a)?))
            .collect::<Result<Vec<_>>>()?;
        ok(Value::Array(items))
    })
}

fn set_members(ctx: &Ctx, req: &Req, id: &str, add: bool) -> Result<Resp> {
    auth::require(ctx, req, "write:lists")?;
    let id = path_id(id)?;
    let p = Params::from_request(req)?;
    let ids = p.list("account_ids")?;
    ctx.db.write(|tx| {
        lists::get(tx, id)?;
        for account in &ids {
            let Some(AccountRef::Remote(actor_id)) = parse_account_id(account) else {
                return Err(Error::NotFound("Record not found".into()));
            };
            db::actors::get(tx, actor_id)?;
            lists::set_member(tx, id, actor_id, add)?;
        }
        Ok(())
    })?;
    ok(json!({}))
}

fn filter_json(f: &lists::Filter) -> Value {
    json!({
        "id": f.id.to_string(),
        "title": f.title,
        "context": f.context,
        "expires_at": f.expires_at.map(crate::dates::mastodon),
        "filter_action": f.action,
        "keywords": f.keywords.iter().map(|(id, k, w)| json!({"id": id.to_string(), "keyword": k, "whole_word": w})).collect::<Vec<_>>(),
        "statuses": f.statuses.iter().map(|(id, post)| super::filters::status_json(*id, *post)).collect::<Vec<_>>(),
    })
}

/// `GET /api/v2/filters`.
pub fn filters(ctx: &Ctx, req: &Req) -> Result<Resp> {
    auth::require(ctx, req, "read:filters")?;
    ok(Value::Array(
        ctx.db
            .read(lists::filters)?
            .iter()
            .map(filter_json)
            .collect(),
    ))
}

/// `GET /api/v2/filters/:id`.
pub fn filter(ctx: &Ctx, req: &Req, id: &str) -> Result<Resp> {
    auth::require(ctx, req, "read:filters")?;
    let id = path_id(id)?;
    let all = ctx.db.read(lists::filters)?;
    all.iter()
        .find(|f| f.id == id)
        .map(|f| ok(filter_json(f)))
        .unwrap_or_else(|| Err(Error::NotFound("Record not found".into())))
}

fn filter_from(p: &Params, id: i64) -> Result<lists::Filter> {
    let context = p.list("context")?;
    if context.is_empty()
        || context.iter().any(|c| {
            !matches!(
                c.as_str(),
                "home" | "notifications" | "public" | "thread" | "account"
            )
        })
    {
        return Err(Error::Unprocessable("Validation failed: context".into()));
    }
    let action = p.str("filter_action")?.unwrap_or_else(|| "warn".into());
    if !matches!(action.as_str(), "warn" | "hide") {
        return Err(Error::Unprocessable(
            "Validation failed: filter_action".into(),
        ));
    }
    let keywords = p
        .objects("keywords_attributes")
        .iter()
        .filter(|k| !k.bool("_destroy").ok().flatten().unwrap_or(false))
        .filter_map(|k| {
            let word = k.str("keyword").ok()??;
            (!word.trim().is_empty()).then(|| {
                (
                    0,
                    word.trim().to_string(),
                    k.bool("whole_word").ok().flatten().unwrap_or(true),
                )
            })
        })
        .collect();
    let expires_at = p.int("expires_in")?.map(|s| db::now_ms() + s * 1000);
    Ok(lists::Filter {
        id,
        title: crate::text::clean_plain(&p.required("title")?, 100),
        context,
        action,
        expires_at,
        keywords,
        statuses: Vec::new(),
    })
}

/// `POST /api/v2/filters`.
pub fn create_filter(ctx: &Ctx, req: &Req) -> Result<Resp> {
    auth::require(ctx, req, "write:filters")?;
    let f = filter_from(&Params::from_request(req)?, 0)?;
    let now = db::now_ms();
    let id = ctx.db.write(|tx| lists::save_filter(tx, &f, now))?;
    filter(ctx, req, &id.to_string())
}

/// `PUT /api/v2/filters/:id`.
pub fn update_filter(ctx: &Ctx, req: &Req, id: &str) -> Result<Resp> {
    auth::require(ctx, req, "write:filters")?;
    let f = filter_from(&Params::from_request(req)?, path_id(id)?)?;
    let now = db::now_ms();
    ctx.db.write(|tx| lists::save_filter(tx, &f, now))?;
    filter(ctx, req, id)
}

/// `DELETE /api/v2/filters/:id`.
pub fn delete_filter(ctx: &Ctx, req: &Req, id: &str) -> Result<Resp> {
    auth::require(ctx, req, "write:filters")?;
    let id = path_id(id)?;
    ctx.db.write(|tx| lists::delete_filter(tx, id))?;
    ok(json!({}))
}

fn matches(text: &str, keyword: &str, whole: bool) -> bool {
    let text = text.to_lowercase();
    let keyword = keyword.to_lowercase();
    if !whole {
        return text.contains(&keyword);
    }
    text.match_indices(&keyword).any(|(i, _)| {
        let before = text[..i].chars().next_back();
        let after = text[i + keyword.len()..].chars().next();
        !before.is_some_and(char::is_alphanumeric) && !after.is_some_and(char::is_alphanumeric)
    })
}

/// Applies the active filters of `context` to statuses: drops `hide` matches, marks `warn` matches.
pub fn apply(ctx: &Ctx, context: &str, statuses: Vec<Value>) -> Result<Vec<Value>> {
    let now = db::now_ms();
    let active: Vec<lists::Filter> = ctx
        .db
        .read(lists::filters)?
        .into_iter()
        .filter(|f| f.context.iter().any(|c| c == context) && f.expires_at.is_none_or(|e| e > now))
        .collect();
    if active.is_empty() {
        return Ok(statuses);
    }
    let mut out = Vec::new();
    for mut s in statuses {
        let shown = if s["reblog"].is_object() {
            &s["reblog"]
        } else {
            &s
        };
        let text = crate::text::html_to_text(&format!(
            "{} {}",
            shown["spoiler_text"].as_str().unwrap_or(""),
            shown["content"].as_str().unwrap_or("")
        ));
        let mut results = Vec::new();
        let mut hide = false;
        for f in &active {
            let hits: Vec<&str> = f
                .keywords
                .iter()
                .filter(|(_, k, w)| matches(&text, k, *w))
                .map(|(_, k, _)| k.as_str())
                .collect();
            let status_hits: Vec<String> = f
                .statuses
                .iter()
                .map(|(_, post)| post.to_string())
                .filter(|post| shown["id"].as_str() == Some(post.as_str()))
                .collect();
            if !hits.is_empty() || !status_hits.is_empty() {
                hide |= f.action == "hide";
                results.push(json!({"filter": filter_json(f), "keyword_matches": hits, "status_matches": status_hits}));
            }
        }
        if hide {
            continue;
        }
        s["filtered"] = json!(results);
        out.push(s);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::matches;

    #[test]
    fn keyword_matching() {
        assert!(matches("The Finale was great", "finale", true));
        assert!(!matches("finales", "finale", true));
        assert!(matches("finales", "finale", false));
        assert!(matches("über-finale!", "finale", true));
    }
}
