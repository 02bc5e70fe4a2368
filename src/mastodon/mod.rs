//! The Mastodon client API: the route table under `/api` and `/oauth`, bearer
//! authentication and scopes (`auth`), parameters (`crate::http::params`), `Link` paging, and the endpoint modules. Every error here is JSON `{"error": …}`
//! (the router shapes it). The HTML page of `/oauth/authorize` is the web UI's
//! (`web::authorize`); the router joins it to [`oauth`]'s checks. OAuth is `oauth`
//! (apps, the authorize checks) and `oauth_token` (the token and revoke endpoints).

pub mod accounts;
pub mod auth;
pub mod discovery;
pub mod entities;
pub mod filters;
pub mod instance;
pub mod lists;
pub mod media;
pub mod notifications;
pub mod oauth;
pub mod oauth_token;
pub mod push;
pub mod reports;
pub mod scheduled;
pub mod statuses;
pub mod streaming;
pub mod tags;
pub mod timelines;
pub mod views;
pub mod websocket;

use crate::ctx::Ctx;
use crate::db::timelines::Page;
use crate::error::{Error, Result};
use crate::http::params::Params;
use crate::http::{Req, Resp};
use serde_json::Value;

/// Default and largest page sizes.
pub const DEFAULT_LIMIT: i64 = 20;
/// The largest `limit` honoured; larger values are clamped.
pub const MAX_LIMIT: i64 = 40;

/// Reads `max_id`, `since_id`, `min_id` and `limit` (clamped to 1…`max`).
pub fn page(p: &Params, max: i64) -> Result<Page> {
    let limit = p.int("limit")?.unwrap_or(DEFAULT_LIMIT).clamp(1, max);
    Ok(Page {
        max_id: p.id("max_id")?,
        since_id: p.id("since_id")?,
        min_id: p.id("min_id")?,
        limit,
    })
}

/// The `Link` header of a page whose items span ids `newest`…`oldest`; other query
/// parameters are kept. `None` for an empty page, so clients stop paging.
pub fn link_header(
    ctx: &Ctx,
    req: &Req,
    newest: Option<i64>,
    oldest: Option<i64>,
) -> Option<String> {
    let (newest, oldest) = (newest?, oldest?);
    let kept: Vec<(String, String)> = req
        .query_pairs()
        .into_iter()
        .filter(|(k, _)| !matches!(k.as_str(), "max_id" | "min_id" | "since_id"))
        .collect();
    let url = |key: &str, id: i64| {
        let mut q = url::form_urlencoded::Serializer::new(String::new());
        for (k, v) in &kept {
            q.append_pair(k, v);
        }
        q.append_pair(key, &id.to_string());
        format!("{}{}?{}", ctx.config.public_url, req.path, q.finish())
    };
    Some(format!(
        "<{}>; rel=\"next\", <{}>; rel=\"prev\"",
        url("max_id", oldest),
        url("min_id", newest)
    ))
}

/// A JSON array answer with its `Link` header.
pub fn paged(ctx: &Ctx, req: &Req, items: Vec<Value>, ids: &[i64]) -> Resp {
    let resp = Resp::json(200, &Value::Array(items));
    match link_header(
        ctx,
        req,
        ids.iter().copied().max(),
        ids.iter().copied().min(),
    ) {
        Some(link) => resp.with_header("Link", &link),
        None => resp,
    }
}

/// A JSON answer.
pub fn ok(v: Value) -> Result<Resp> {
    Ok(Resp::json(200, &v))
}

/// Parses an id path segment.
pub fn path_id(s: &str) -> Result<i64> {
    s.parse()
        .map_err(|_| Error::NotFound("Record not found".into()))
}

/// Dispatches a request under `/api` or `/oauth`.
pub fn route(ctx: &Ctx, req: &Req) -> Result<Resp> {
    let path = req
        .path
        .strip_suffix('/')
        .filter(|p| !p.is_empty())
        .unwrap_or(&req.path);
    let method = if req.method == "HEAD" {
        "GET"
    } else {
        req.method.as_str()
    };
    let segments: Vec<&str> = path.trim_start_matches('/').split('/').collect();
    match segments.as_slice() {
        ["oauth", ..] => oauth_route(ctx, req, method, &segments[1..]),
        ["api", "v1", rest @ ..] => v1(ctx, req, method, rest),
        ["api", "v2", rest @ ..] => v2(ctx, req, method, rest),
        _ => Err(Error::NotFound("Not found".into())),
    }
}

fn oauth_route(ctx: &Ctx, req: &Req, method: &str, rest: &[&str]) -> Result<Resp> {
    match (method, rest) {
        ("POST", ["token"]) => oauth_token::token(ctx, req),
        ("POST", ["revoke"]) => oauth_token::revoke(ctx, req),
        _ => Err(Error::NotFound("Not found".into())),
    }
}

fn v2(ctx: &Ctx, req: &Req, method: &str, rest: &[&str]) -> Result<Resp> {
    match (method, rest) {
        ("GET", ["instance"]) => instance::v2(ctx),
        ("POST", ["media"]) => media::upload(ctx, req, true),
        ("GET", ["search"]) => statuses::search(ctx, req),
        ("GET", ["filters"]) => lists::filters(ctx, req),
        ("POST", ["filters"]) => lists::create_filter(ctx, req),
        ("GET", ["filters", id]) => lists::filter(ctx, req, id),
        ("PUT", ["filters", id]) => lists::update_filter(ctx, req, id),
        ("DELETE", ["filters", id]) => lists::delete_filter(ctx, req, id),
        (_, ["notifications", ..]) => notifications::route_v2(ctx, req, method, rest),
        ("GET", ["suggestions"]) => discovery::suggestions(ctx, req),
        (
            _,
            ["filters", _, "keywords" | "statuses"] | ["filter_keywords" | "filter_statuses", ..],
        ) => filters::route(ctx, req, method, rest),
        _ => Err(Error::NotFound("Not found".into())),
    }
}

fn v1(ctx: &Ctx, req: &Req, method: &str, rest: &[&str]) -> Result<Resp> {
    match rest.first().copied() {
        Some("accounts" | "follow_requests" | "blocks" | "mutes" | "domain_blocks") => {
            accounts::route(ctx, req, method, rest)
        }
        Some("statuses" | "polls" | "bookmarks" | "favourites") => {
            statuses::route(ctx, req, method, rest)
        }
        Some("timelines" | "notifications" | "markers" | "conversations") => {
            timelines::route(ctx, req, method, rest)
        }
        Some("lists" | "filters") => lists::route(ctx, req, method, rest),
        Some("media") => media::route(ctx, req, method, rest),
        Some("tags" | "followed_tags" | "featured_tags" | "endorsements") => {
            tags::route(ctx, req, method, rest)
        }
        Some("streaming") => streaming::route(ctx, req, method, rest),
        Some("push") => push::route(ctx, req, method, rest),
        Some("scheduled_statuses") => scheduled::route(ctx, req, method, rest),
        _ => v1_misc(ctx, req, method, rest),
    }
}

fn v1_misc(ctx: &Ctx, req: &Req, method: &str, rest: &[&str]) -> Result<Resp> {
    match (method, rest) {
        ("POST", ["apps"]) => oauth::create_app(ctx, req),
        ("POST", ["reports"]) => reports::create(ctx, req),
        ("GET", ["apps", "verify_credentials"]) => oauth::verify_app(ctx, req),
        ("GET", ["instance"]) => instance::v1(ctx),
        ("GET", ["instance", "peers"]) => instance::peers(ctx),
        ("GET", ["instance", "activity"]) => ok(Value::Array(vec![])),
        ("GET", ["instance", "rules"]) => ok(Value::Array(vec![])),
        (
            "GET",
            [
                "instance",
                which @ ("extended_description" | "privacy_policy" | "terms_of_service"),
            ],
        ) => ok(instance::text(ctx, which)?),
        ("DELETE", ["profile", which @ ("avatar" | "header")]) => {
            accounts::delete_profile_image(ctx, req, which)
        }
        ("GET", ["custom_emojis"]) => ok(Value::Array(vec![])),
        ("GET", ["preferences"]) => instance::preferences(ctx, req),
        ("GET", ["announcements"]) => {
            auth::require(ctx, req, "read")?;
            ok(Value::Array(vec![]))
        }
        ("GET", ["trends", ..]) => ok(Value::Array(vec![])),
        ("GET", ["suggestions"]) => ok(Value::Array(vec![])),
        ("GET", ["directory"]) => discovery::directory(ctx, req),
        _ => Err(Error::NotFound("Not found".into())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paging_parameters() {
        let p = Params::from_value(serde_json::json!({"limit": "100", "max_id": "50"}));
        assert_eq!(
            page(&p, MAX_LIMIT).unwrap(),
            Page {
                max_id: Some(50),
                since_id: None,
                min_id: None,
                limit: 40
            }
        );
        let p = Params::from_value(serde_json::json!({"limit": "0"}));
        assert_eq!(page(&p, MAX_LIMIT).unwrap().limit, 1);
        let p = Params::from_value(serde_json::json!({"max_id": "abc"}));
        assert!(page(&p, MAX_LIMIT).is_err());
    }
}
