//! The inbox: `receive` runs the verification checklist of FEDERATION.md §4 on a POST
//! to `/inbox` or `/users/NAME/inbox` (including that an activity's id is on its
//! signer's host, SECURITY.md 58) and queues the activity before answering 202 (the
//! inbox worker, `process::inbound::run_once`, takes it from there). Both inboxes
//! share this one handler and its checks.

use crate::ap::resolve;
use crate::ctx::Ctx;
use crate::db::Conn;
use crate::db::actors::RemoteActor;
use crate::error::{Error, Result};
use crate::http::{Req, Resp};
use crate::ratelimit::Bucket;
use crate::sig;
use serde_json::{Value, json};
use std::net::IpAddr;

/// A cached key fetched less than this long ago is not stale: a signature it does not
/// verify is refused without fetching the key again (SECURITY.md 18).
const KEY_FRESH_MS: i64 = 60 * 1000;

/// How long a peer refused for want of a free key-fetch slot is asked to wait.
const BUSY_RETRY_SECS: u64 = 10;

/// Whether a Content-Type names ActivityPub JSON (SECURITY.md 31).
pub fn is_activity_content_type(value: &str) -> bool {
    let media = value
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    media == "application/activity+json" || media == "application/ld+json"
}

/// Checks the shape every activity must have (SECURITY.md 30).
fn check_shape(activity: &Value) -> Result<()> {
    let malformed = || Error::BadRequest("malformed incoming activity".into());
    let kind = activity
        .get("type")
        .and_then(Value::as_str)
        .ok_or_else(malformed)?;
    if !crate::ap::KNOWN_TYPES.contains(&kind) {
        return Err(malformed());
    }
    activity
        .get("actor")
        .and_then(resolve::id_of)
        .ok_or_else(malformed)?;
    let needs_object =
        !matches!(kind, "Delete" | "Update" | "Move" | "Flag") || activity.get("object").is_none();
    if needs_object && activity.get("object").is_none_or(Value::is_null) {
        return Err(malformed());
    }
    Ok(())
}

/// Handles an inbox POST: verify synchronously, queue, answer 202. Requests that fail
/// (unsigned, a bad signature, a refused activity) count against the client address's
/// `inbox_requests` budget, and an address past it is refused before any work;
/// validly signed deliveries count only against their signing host's much larger
/// `signed_inbox_requests` budget, so a large server's traffic is never throttled by
/// the address it comes from.
pub fn receive(ctx: &Ctx, req: &Req) -> Result<Resp> {
    let budget = ctx.config.limits.inbox_requests;
    if let Some(v) = ctx
        .limiter
        .exceeded(Bucket::Federation, req.client_ip, budget)
    {
        return Err(Error::RateLimited {
            limit: Some(v.limit),
            reset_secs: v.reset_secs,
        });
    }
    let outcome = check_and_queue(ctx, req);
    if outcome
        .as_ref()
        .is_err_and(|e| !matches!(e, Error::RateLimited { .. }))
    {
        ctx.limiter.hit(Bucket::Federation, req.client_ip, budget);
    }
    outcome
}

/// The checklist of one inbox POST, then the queueing.
fn check_and_queue(ctx: &Ctx, req: &Req) -> Result<Resp> {
    let content_type = req.header("content-type").unwrap_or("");
    if !is_activity_content_type(content_type) {
        return Err(Error::Status(
            406,
            "Content-Type must be application/activity+json".into(),
        ));
    }
    let now = crate::db::now_ms();
    // The signature's form comes before the body's (no key is fetched yet): an
    // unsigned POST gets 401 whatever it carries (SECURITY.md 1).
    let checked = check_signature(ctx, req, now)?;
    let activity: Value = serde_json::from_slice(&req.body)
        .map_err(|_| Error::BadRequest("malformed incoming activity".into()))?;
    check_shape(&activity)?;
    let owner_url = sig::key_owner_url(&checked.key_id);
    let key_host = url::Url::parse(&owner_url)
        .map(|u| resolve::domain_of(&u))
        .map_err(|_| Error::Unauthorized("keyId is not a URL".into()))?;
    // What the database knows, read in one snapshot: whether the key's domain is
    // blocked, the cached signer, whether it is blocked and its host has failure marks.
    let (domain_blocked, cached) = ctx.db.read_tx(|c| {
        let domain_blocked = crate::db::blocks::is_domain_blocked(c, &key_host)?;
        let cached = match crate::db::actors::find_by_uri(c, &owner_url)? {
            Some(actor) => Some(SignerState::read(c, actor)?),
            None => None,
        };
        Ok((domain_blocked, cached))
    })?;
    if domain_blocked {
        return Err(Error::Forbidden("Domain is blocked".into()));
    }
    let cached_actor = cached.as_ref().map(|s| s.actor.clone());
    let signer = match verified_signer(ctx, req.client_ip, &checked, &owner_url, cached_actor) {
        Ok(signer) => signer,
        Err(Error::Gone(_)) => return Ok(accepted()),
        Err(e @ Error::Unauthorized(_)) => {
            // Counted for `kith doctor` (one small upsert; the address budget above
            // bounds how often a stranger can cause it).
            if let Err(record) = ctx
                .db
                .write_grouped(|tx| crate::db::doctor::record_signature_failure(tx, &key_host, now))
            {
                eprintln!("inbox: cannot count a signature failure: {record}");
            }
            return Err(e);
        }
        Err(e) => return Err(e),
    };
    let host_budget = ctx.config.limits.signed_inbox_requests;
    let verdict = ctx
        .limiter
        .hit_named(Bucket::SignedHost, &key_host, host_budget);
    if !verdict.allowed {
        return Err(Error::RateLimited {
            limit: Some(verdict.limit),
            reset_secs: verdict.reset_secs,
        });
    }
    if activity.get("actor").and_then(resolve::id_of) != Some(signer.uri.as_str()) {
        // The signer may not speak for another actor (SECURITY.md 16): drop.
        return Ok(accepted());
    }
    // The cached state holds unless the key was fetched afresh just now.
    let state = match cached {
        Some(state) if state.actor.id == signer.id && state.actor.key_id == signer.key_id => state,
        _ => ctx.db.read_tx(|c| SignerState::read(c, signer.clone()))?,
    };
    if state.blocked {
        return Err(Error::Forbidden("Actor is blocked".into()));
    }
    let Some(activity_id) = activity.get("id").and_then(Value::as_str) else {
        // A transient activity without an id is not stored (SECURITY.md 29).
        return Ok(accepted());
    };
    let signer_host = id_host(&signer.uri).unwrap_or_default();
    // An id belongs to its server: one on another host than its signer's (and actor's,
    // the same actor by now) is refused, or any actor could take another server's ids
    // before that server used them, and its real activities would be dropped as seen.
    if id_host(activity_id).as_deref() != Some(signer_host.as_str()) || signer_host.is_empty() {
        return Err(Error::BadRequest(
            "activity id is not on the host of its actor".into(),
        ));
    }
    let body = String::from_utf8_lossy(&req.body);
    let incoming = crate::db::queue::Incoming {
        activity_id,
        signer_uri: &signer.uri,
        signer_host: &signer_host,
        body: &body,
        skew_ms: req
            .header("date")
            .and_then(|d| httpdate::parse_http_date(d).ok())
            .and_then(|d| d.duration_since(std::time::UNIX_EPOCH).ok())
            .map(|d| now - d.as_millis() as i64),
    };
    let fresh = ctx.db.write_grouped(|tx| {
        // A host that delivers to kith is up: its failure marks go (looked at first, so
        // the usual case adds no write to the transaction).
        if state.host_failing {
            crate::db::deliveries::mark_host_alive(tx, &signer.domain, now)?;
        }
        crate::db::queue::enqueue(tx, incoming, now)
    })?;
    if fresh {
        ctx.wake.inbox();
    }
    Ok(accepted())
}

/// The host (`host[:port]`, lower case) of an id, when it is a URL with a host.
fn id_host(id: &str) -> Option<String> {
    let url = url::Url::parse(id).ok()?;
    url.host_str()?;
    Some(resolve::domain_of(&url))
}

/// A known signer and what the inbox must know of it before queueing.
struct SignerState {
    actor: RemoteActor,
    blocked: bool,
    host_failing: bool,
}

impl SignerState {
    fn read(c: &Conn, actor: RemoteActor) -> Result<SignerState> {
        Ok(SignerState {
            blocked: crate::db::blocks::is_blocked(c, actor.id)?,
            host_failing: crate::db::deliveries::host_has_failures(c, &actor.domain)?,
            actor,
        })
    }
}

/// Everything about a request's signature that needs no key (`sig::check`).
fn check_signature(ctx: &Ctx, req: &Req, now_ms: i64) -> Result<sig::Checked> {
    let incoming = sig::Incoming {
        method: &req.method,
        path: &req.path,
        query: &req.query,
        headers: &req.headers,
        body: &req.body,
    };
    sig::check(
        &incoming,
        &ctx.config.public_url,
        &ctx.config.domain,
        now_ms / 1000,
    )
}

/// Verifies the signature of any request (a signed GET of a private note) and
/// returns the signer.
pub fn verify_request(ctx: &Ctx, req: &Req) -> Result<RemoteActor> {
    let checked = check_signature(ctx, req, crate::db::now_ms())?;
    let owner_url = sig::key_owner_url(&checked.key_id);
    let cached = ctx
        .db
        .read(|c| crate::db::actors::find_by_uri(c, &owner_url))?;
    verified_signer(ctx, req.client_ip, &checked, &owner_url, cached)
}

fn accepted() -> Resp {
    Resp::json(202, &json!({}))
}

/// Finds the signer's key (`cached`, else a signed fetch) and verifies; refetches once
/// when a cached key fails and may be stale, since the actor may have rotated it.
fn verified_signer(
    ctx: &Ctx,
    ip: IpAddr,
    checked: &sig::Checked,
    owner_url: &str,
    cached: Option<RemoteActor>,
) -> Result<RemoteActor> {
    if let Some(actor) = &cached {
        if actor.gone_at.is_some() {
            return Err(Error::Gone("gone".into()));
        }
        let outcome = match (&actor.public_key_pem, &actor.key_id) {
            (Some(pem), Some(key_id)) if key_id == &checked.key_id => sig::verify(checked, pem),
            _ => Err(key_mismatch()),
        };
        match outcome {
            Ok(()) => return Ok(actor.clone()),
            // Refetching a key fetched moments ago would let anyone make kith fetch
            // that actor once per bad request (SECURITY.md 18).
            Err(e) if crate::db::now_ms() - actor.fetched_at < KEY_FRESH_MS => return Err(e),
            Err(_) => {}
        }
    }
    if ctx.key_fetches.blocked(ip) {
        return Err(Error::Unauthorized(format!(
            "Unable to fetch key JSON at {owner_url}"
        )));
    }
    let max_running = ctx.config.http_threads.saturating_sub(1).max(1);
    let Some(_slot) = ctx.key_fetches.slot(max_running) else {
        // Peers retry a 429 later (honouring Retry-After); a 401 would be final.
        return Err(Error::RateLimited {
            limit: None,
            reset_secs: BUSY_RETRY_SECS,
        });
    };
    let actor = match resolve::refresh(ctx, owner_url) {
        Ok(actor) => actor,
        Err(Error::Gone(m)) => return Err(Error::Gone(m)),
        // The key's actor is on a blocked domain (reached through a redirect).
        Err(Error::Forbidden(m)) => return Err(Error::Forbidden(m)),
        Err(Error::PrivateAddress(_)) => {
            ctx.key_fetches.record(ip);
            // Mastodon's words (SECURITY.md 14).
            let host = url::Url::parse(owner_url)
                .ok()
                .and_then(|u| u.host_str().map(str::to_string))
                .unwrap_or_default();
            return Err(Error::Unauthorized(format!(
                "{} (tried to query {host})",
                crate::fetch::PRIVATE_ADDRESS
            )));
        }
        Err(e) => {
            ctx.key_fetches.record(ip);
            let why = match e {
                Error::Network { message, .. } => message,
                other => other.public_message(),
            };
            return Err(Error::Unauthorized(format!(
                "Unable to fetch key JSON at {owner_url}: {why}"
            )));
        }
    };
    match (&actor.public_key_pem, &actor.key_id) {
        (Some(pem), Some(key_id)) if key_id == &checked.key_id => {
            sig::verify(checked, pem)?;
            Ok(actor)
        }
        _ => Err(key_mismatch()),
    }
}

fn key_mismatch() -> Error {
    Error::Unauthorized("key mismatch: the key's owner does not carry that key".into())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn content_types() {
        assert!(is_activity_content_type("application/activity+json"));
        assert!(is_activity_content_type(
            "application/ld+json; profile=\"https://www.w3.org/ns/activitystreams\""
        ));
        assert!(is_activity_content_type(
            "Application/Activity+JSON; charset=utf-8"
        ));
        assert!(!is_activity_content_type("application/json"));
        assert!(!is_activity_content_type("text/html"));
    }

    #[test]
    fn shapes() {
        let ok = json!({"type": "Follow", "actor": "https://r.example/u", "object": "https://k.example/users/me"});
        assert!(check_shape(&ok).is_ok());
        for bad in [
            json!({"type": "Follow", "actor": "https://r.example/u"}),
            json!({"type": "Create", "actor": "https://r.example/u", "object": null}),
            json!({"type": "Dance", "actor": "https://r.example/u", "object": "x"}),
            json!({"actor": "https://r.example/u", "object": "x"}),
            json!({"type": "Like", "object": "x"}),
            json!(["not", "an", "object"]),
        ] {
            assert_eq!(check_shape(&bad).unwrap_err().status(), 400, "{bad}");
        }
    }
}
