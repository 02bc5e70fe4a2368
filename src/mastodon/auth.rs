//! Bearer-token authentication of the client API and the scope rules: `read`, `write`,
//! `follow`, `push`, `profile` and their `read:statuses`-style children. The API never
//! reads the web UI's cookie.

use crate::ctx::Ctx;
use crate::db::tokens;
use crate::error::{Error, Result};
use crate::http::Req;
use crate::visibility::Viewer;

/// An authenticated API caller.
#[derive(Debug, Clone)]
pub struct Auth {
    pub token_id: i64,
    pub app_id: Option<i64>,
    pub scopes: String,
    /// A client_credentials token: it speaks for the app, not for the owner.
    pub app_only: bool,
}

/// Whether the granted scopes cover `needed` (for example `read:statuses`).
pub fn covers(granted: &str, needed: &str) -> bool {
    let parent = needed.split(':').next().unwrap_or(needed);
    granted.split_whitespace().any(|g| {
        g == needed
            || g == parent
            // The legacy `follow` scope covers the follow graph, blocks and mutes.
            || (g == "follow"
                && matches!(
                    needed,
                    "read:follows" | "write:follows" | "read:blocks" | "write:blocks" | "read:mutes" | "write:mutes"
                ))
    })
}

/// The bearer token of a request, if it carries one.
pub fn bearer(req: &Req) -> Option<&str> {
    let value = req.header("authorization")?;
    let (scheme, token) = value.trim().split_once(' ')?;
    scheme
        .eq_ignore_ascii_case("bearer")
        .then(|| token.trim())
        .filter(|t| !t.is_empty())
}

/// Looks up a raw token.
pub fn lookup(ctx: &Ctx, token: &str) -> Result<Option<Auth>> {
    let hash = crate::keys::sha256_hex(token.as_bytes());
    let found = ctx.db.read(|c| tokens::find_live(c, &hash))?;
    Ok(found.map(|t| Auth {
        token_id: t.id,
        app_id: t.app_id,
        scopes: t.scopes,
        app_only: t.app_only,
    }))
}

/// The caller, if the request carries a valid token; an invalid one is refused with 401.
pub fn optional(ctx: &Ctx, req: &Req) -> Result<Option<Auth>> {
    let Some(token) = bearer(req) else {
        return Ok(None);
    };
    match lookup(ctx, token)? {
        Some(auth) => Ok(Some(auth)),
        None => Err(Error::Unauthorized("The access token is invalid".into())),
    }
}

/// Who the caller is for `crate::visibility`: the owner with a user token that may read
/// statuses, anybody otherwise (no token, or an app's own token); a bad token is 401.
pub fn viewer(ctx: &Ctx, req: &Req) -> Result<Viewer> {
    Ok(viewer_of(optional(ctx, req)?.as_ref()))
}

/// The viewer an (optional) authenticated caller is.
pub fn viewer_of(auth: Option<&Auth>) -> Viewer {
    Viewer::owner_if(auth.is_some_and(|a| !a.app_only && covers(&a.scopes, "read:statuses")))
}

/// The owner's token with `scope`: 401 without a token, 403 when the scope is missing.
pub fn require(ctx: &Ctx, req: &Req, scope: &str) -> Result<Auth> {
    let auth = optional(ctx, req)?
        .ok_or_else(|| Error::Unauthorized("The access token is invalid".into()))?;
    if auth.app_only {
        return Err(Error::Forbidden(
            "This method requires an authenticated user".into(),
        ));
    }
    if !covers(&auth.scopes, scope) {
        return Err(Error::Forbidden(
            "This action is outside the authorized scopes".into(),
        ));
    }
    let now = crate::db::now_ms();
    let _ = ctx.db.write(|tx| tokens::touch(tx, auth.token_id, now));
    Ok(auth)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scope_rules() {
        assert!(covers("read write", "read:statuses"));
        assert!(covers("read:statuses", "read:statuses"));
        assert!(!covers("read:statuses", "read:accounts"));
        assert!(!covers("read", "write:statuses"));
        assert!(covers("follow", "write:follows"));
        assert!(!covers("follow", "write:statuses"));
        assert!(covers("profile", "profile"));
        assert!(!covers("profile", "read:accounts"));
        assert!(!covers("readwrite", "read"));
    }

    #[test]
    fn bearer_parsing() {
        let mut r = Req::new("GET", "/api/v1/x");
        assert_eq!(bearer(&r), None);
        r.headers
            .push(("authorization".into(), "Bearer abc".into()));
        assert_eq!(bearer(&r), Some("abc"));
        r.headers[0].1 = "bearer   xyz ".into();
        assert_eq!(bearer(&r), Some("xyz"));
        r.headers[0].1 = "Basic abc".into();
        assert_eq!(bearer(&r), None);
    }
}
