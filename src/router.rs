//! The one route table. It picks the handler for a method and path, applies the rate
//! limits of each group, negotiates ActivityPub JSON against HTML, opens the API and
//! federation paths to other origins (`http::cors`, preflights included), and is the
//! only place where an [`Error`] becomes a response, in the shape of the face that failed.

use crate::ctx::Ctx;
use crate::error::{Error, Result};
use crate::http::{Handler, Req, Resp, Spool, cors};
use crate::ratelimit::Bucket;
use crate::{ap, web, wellknown};
use serde_json::json;
use std::sync::Arc;

/// The request handler of a running kith.
pub struct Router {
    ctx: Arc<Ctx>,
}

/// Which face of kith answers a path; it decides the shape of errors.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Face {
    /// Client API and OAuth: JSON errors.
    Api,
    /// ActivityPub and discovery: JSON errors.
    Federation,
    /// Web pages: HTML errors.
    Web,
}

fn face_of(path: &str) -> Face {
    if path.starts_with("/api/") || path == "/api" || path.starts_with("/oauth/") {
        Face::Api
    } else if path.starts_with("/users/")
        || path == "/inbox"
        || path.starts_with("/.well-known/")
        || path.starts_with("/nodeinfo/")
    {
        Face::Federation
    } else {
        Face::Web
    }
}

impl Router {
    /// A router over the shared context.
    pub fn new(ctx: Arc<Ctx>) -> Router {
        Router { ctx }
    }

    fn route(&self, req: &Req) -> Result<Resp> {
        let ctx = &self.ctx;
        let method = if req.method == "HEAD" {
            "GET"
        } else {
            req.method.as_str()
        };
        let path = req.path.as_str();
        // The authorize page: the client API's checks, the web UI's HTML (toot asks for
        // it with a trailing slash).
        match (method, path.trim_end_matches('/')) {
            ("GET", "/oauth/authorize") => {
                return crate::mastodon::oauth::authorize_form(ctx, req)
                    .map(|prompt| web::authorize::page(ctx, &prompt))
                    .or_else(web::authorize::refused);
            }
            ("POST", "/oauth/authorize") => {
                return crate::mastodon::oauth::authorize_submit(ctx, req)
                    .map(|answer| web::authorize::answer(ctx, &answer))
                    .or_else(web::authorize::refused);
            }
            _ => {}
        }
        if face_of(path) == Face::Api {
            return crate::mastodon::route(ctx, req);
        }
        let segments: Vec<&str> = path.trim_start_matches('/').split('/').collect();
        match (method, segments.as_slice()) {
            ("GET", ["health"]) => health(ctx, req),
            ("GET", [".well-known", "webfinger"]) => webfinger(ctx, req),
            ("GET", [".well-known", "host-meta"]) => Ok(Resp::bytes(
                200,
                "application/xrd+xml; charset=utf-8",
                wellknown::build_host_meta(&ctx.config).into_bytes(),
            )),
            ("GET", [".well-known", "nodeinfo"]) => Ok(Resp::json(
                200,
                &wellknown::build_nodeinfo_links(&ctx.config),
            )),
            ("GET", [".well-known", "oauth-authorization-server"]) => {
                Ok(crate::mastodon::oauth::metadata(ctx))
            }
            ("GET", ["nodeinfo", version @ ("2.0" | "2.1")]) => nodeinfo(ctx, version),
            ("GET", ["users", name]) => actor(ctx, req, name),
            ("POST", ["inbox"]) => ap::inbox::receive(ctx, req),
            ("POST", ["users", name, "inbox"]) => {
                self.own(name)?;
                ap::inbox::receive(ctx, req)
            }
            ("GET", ["users", name, "outbox"]) => {
                self.own(name)?;
                ap::serve::outbox(ctx, req)
            }
            ("GET", ["users", name, which @ ("followers" | "following")]) => {
                self.own(name)?;
                ap::serve::follow_collection(ctx, req, *which == "following")
            }
            ("GET", ["users", name, "collections", "featured"]) => {
                self.own(name)?;
                ap::serve::featured(ctx)
            }
            ("GET", ["users", name, "collections", "tags"]) => {
                self.own(name)?;
                ap::serve::featured_tags(ctx)
            }
            ("GET", ["users", name, "statuses", id]) => {
                self.own(name)?;
                if ap::wants_activity_json(req.header("accept")) {
                    ap::serve::status(ctx, req, id, false)
                } else {
                    Ok(ap::serve::status_page_redirect(ctx, id))
                }
            }
            ("GET", ["users", name, "statuses", id, "activity"]) => {
                self.own(name)?;
                ap::serve::status(ctx, req, id, true)
            }
            ("GET", ["media", "proxy"]) => crate::media::cache::serve(ctx, req),
            ("GET", ["media", name]) => crate::media::serve(ctx, req, name),
            ("GET", ["static", ..]) => {
                crate::assets::serve(req, path.trim_start_matches("/static/"))
                    .ok_or_else(|| Error::NotFound("No such file".into()))
            }
            // Everything else is the web UI's: pages, forms and feeds (web/mod.rs).
            _ => web::route(ctx, req, method, &segments),
        }
    }

    /// Refuses paths naming another account than the local one.
    fn own(&self, name: &str) -> Result<()> {
        if name.eq_ignore_ascii_case(&self.ctx.config.username) {
            Ok(())
        } else {
            Err(Error::NotFound("No such account".into()))
        }
    }

    /// Applies the rate limit of the request's group: the owner's API calls per token,
    /// other API calls and federation requests per client address. Inbox POSTs are
    /// limited by `ap::inbox::receive`, which knows whether they are validly signed.
    fn limit(&self, req: &Req, face: Face) -> Result<()> {
        let limits = &self.ctx.config.limits;
        let ctx = &self.ctx;
        let verdict = match face {
            Face::Web => return Ok(()),
            Face::Federation if req.method == "POST" && is_inbox(&req.path) => return Ok(()),
            Face::Federation => {
                ctx.limiter
                    .hit(Bucket::Federation, req.client_ip, limits.inbox_requests)
            }
            Face::Api => match crate::mastodon::auth::bearer(req) {
                Some(token) if self.is_owner_token(token) => {
                    ctx.limiter
                        .hit_named(Bucket::Owner, token, limits.owner_requests)
                }
                _ => ctx
                    .limiter
                    .hit(Bucket::Api, req.client_ip, limits.api_requests),
            },
        };
        if verdict.allowed {
            return Ok(());
        }
        Err(Error::RateLimited {
            limit: Some(verdict.limit),
            reset_secs: verdict.reset_secs,
        })
    }
}

impl Router {
    /// Whether `token` is a live token of the owner's (not an app-only one). A failed
    /// lookup counts as no: the request is then limited by its address.
    fn is_owner_token(&self, token: &str) -> bool {
        matches!(crate::mastodon::auth::lookup(&self.ctx, token), Ok(Some(a)) if !a.app_only)
    }
}

/// Whether `path` is one of the two inboxes.
fn is_inbox(path: &str) -> bool {
    path == "/inbox" || (path.starts_with("/users/") && path.ends_with("/inbox"))
}

impl Handler for Router {
    fn body_limit(&self, _method: &str, path: &str) -> u64 {
        let uploads = [
            "/api/v1/media",
            "/api/v2/media",
            "/api/v1/accounts/update_credentials",
            "/compose",
            "/settings/profile",
        ];
        if uploads.iter().any(|u| path.starts_with(u)) {
            self.ctx.config.limits.upload_max_bytes
        } else if path == web::portability::CSV_UPLOAD_PATH {
            web::portability::CSV_UPLOAD_MAX
        } else {
            self.ctx.config.limits.body_max_bytes
        }
    }

    fn spool(&self, head: &Req) -> Option<Spool> {
        // A media upload goes to disk as it arrives and is read from there in parts.
        if head.method == "POST" && matches!(head.path.as_str(), "/api/v1/media" | "/api/v2/media")
        {
            return Some(Spool {
                dir: self.ctx.config.scratch_dir(),
                limit: self.ctx.config.limits.upload_max_bytes,
            });
        }
        web::portability::spool(&self.ctx, head)
    }

    fn too_large(&self, head: &Req, limit: u64) -> Resp {
        match face_of(&head.path) {
            Face::Web => web::portability::too_large(&self.ctx, &head.path, limit),
            Face::Api | Face::Federation => {
                let resp = Resp::json(413, &json!({"error": "Request body too large"}));
                match cors::applies(&head.path) {
                    true => cors::decorate(resp),
                    false => resp,
                }
            }
        }
    }

    fn handle(&self, req: Req) -> Resp {
        let face = face_of(&req.path);
        let cross_origin = cors::applies(&req.path);
        // A preflight carries no token and costs nothing to answer: it is not counted
        // against the API's rate limit, which would otherwise halve a browser app's
        // allowance (one preflight per call).
        if cross_origin && req.method == "OPTIONS" {
            return cors::preflight(&req);
        }
        let resp = match self.limit(&req, face).and_then(|()| self.route(&req)) {
            Ok(resp) => resp,
            Err(e) => error_response(&e, face, &req),
        };
        match cross_origin {
            true => cors::decorate(resp),
            false => resp,
        }
    }
}

/// Turns an error into the response of its face, logging internal causes once.
fn error_response(e: &Error, face: Face, req: &Req) -> Resp {
    let status = e.status();
    if status >= 500 {
        eprintln!("error: {} {}: {e}", req.method, req.path);
    }
    let mut resp = match face {
        Face::Api | Face::Federation => Resp::json(status, &json!({"error": e.public_message()})),
        Face::Web => web::layout::error_page(status, &e.public_message()),
    };
    match e {
        Error::Busy => resp = resp.with_header("Retry-After", "5"),
        Error::RateLimited { limit, reset_secs } => {
            let reset = reset_secs.to_string();
            if let Some(limit) = limit {
                resp = resp
                    .with_header("X-RateLimit-Limit", &limit.to_string())
                    .with_header("X-RateLimit-Remaining", "0")
                    .with_header("X-RateLimit-Reset", &reset);
            }
            resp = resp.with_header("Retry-After", &reset);
        }
        _ => {}
    }
    resp
}

/// `GET /health`; with `kith doctor`'s probe token it also tells what reached kith
/// through the proxy (the scheme and host it was asked for, and whether the client's
/// address was forwarded).
fn health(ctx: &Ctx, req: &Req) -> Result<Resp> {
    if !ctx.db.healthy() {
        return Ok(Resp::json(503, &json!({"status": "database unavailable"})));
    }
    let probe = req.query_param("probe").unwrap_or_default();
    if probe.is_empty() || !ctx.mac_ok(crate::doctor::PROBE, &probe) {
        return Ok(Resp::json(200, &json!({"status": "ok"})));
    }
    let seen = json!({
        "proto": req.header("x-forwarded-proto"),
        "host": req.header("host"),
        "forwarded_for": req.header("x-forwarded-for").is_some(),
    });
    Ok(Resp::json(200, &json!({"status": "ok", "seen": seen}))
        .with_header("Cache-Control", "no-store"))
}

fn webfinger(ctx: &Ctx, req: &Req) -> Result<Resp> {
    let resource = req.query_param("resource");
    wellknown::match_resource(&ctx.config, resource.as_deref())?;
    Ok(Resp::json_as(
        200,
        wellknown::JRD,
        &wellknown::build_jrd(&ctx.config),
    ))
}

fn nodeinfo(ctx: &Ctx, version: &str) -> Result<Resp> {
    let posts = ctx.db.read(crate::db::posts::count_local)?;
    let doc = wellknown::build_nodeinfo(version, posts);
    Ok(Resp::json_as(
        200,
        &wellknown::nodeinfo_content_type(version),
        &doc,
    ))
}

fn actor(ctx: &Ctx, req: &Req, name: &str) -> Result<Resp> {
    if !name.eq_ignore_ascii_case(&ctx.config.username) {
        return Err(Error::NotFound("No such account".into()));
    }
    if !ap::wants_activity_json(req.header("accept")) {
        let profile = format!("{}/@{}", ctx.config.public_url, ctx.config.username);
        return Ok(Resp::redirect(302, &profile).with_header("Vary", "Accept"));
    }
    let account = ctx.db.read(crate::db::account::get)?;
    let doc = ap::actor::build_person(&ctx.config, &account);
    Ok(Resp::json_as(200, ap::CONTENT_TYPE, &doc).with_header("Vary", "Accept"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn faces() {
        assert_eq!(face_of("/api/v1/instance"), Face::Api);
        assert_eq!(face_of("/oauth/token"), Face::Api);
        assert_eq!(face_of("/users/me/inbox"), Face::Federation);
        assert_eq!(face_of("/inbox"), Face::Federation);
        assert_eq!(face_of("/.well-known/webfinger"), Face::Federation);
        assert_eq!(face_of("/@me"), Face::Web);
        assert_eq!(face_of("/apiary"), Face::Web);
    }
}
