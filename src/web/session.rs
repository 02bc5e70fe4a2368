//! Login sessions of the web UI: the session cookie (`HttpOnly`, `SameSite=Lax`,
//! `Secure` when the public URL is https), finding the session a request carries, and
//! the CSRF tokens of forms. A session's CSRF token is a MAC of its token hash, so a
//! token from another session (or none) never verifies. Only the token's hash is stored.
//! This file does not render pages or check passwords (`login.rs` does).

use crate::ctx::Ctx;
use crate::db::{self, sessions};
use crate::error::Result;
use crate::http::Req;
use crate::keys;

/// The cookie's name.
pub const COOKIE: &str = "kith_session";
/// How long a session lives without being used.
const IDLE_TTL_MS: i64 = 30 * 24 * 3600 * 1000;
/// Use of a session is written down at most this often.
const TOUCH_EVERY_MS: i64 = 3600 * 1000;
/// How long the login form may be submitted after it was shown.
const LOGIN_FORM_TTL_MS: i64 = 3600 * 1000;

/// The logged-in owner, as a request sees them.
#[derive(Debug, Clone)]
pub struct Viewer {
    /// SHA-256 (hex) of the session token.
    pub token_hash: String,
    /// The CSRF token every form of this session carries.
    pub csrf: String,
    /// Unread notifications, for the navigation.
    pub unread: i64,
    /// The path of the owner's public profile (`/@name`).
    pub profile: String,
}

/// The session token a request's `Cookie` header carries, if any.
fn token_of(req: &Req) -> Option<String> {
    req.headers
        .iter()
        .filter(|(n, _)| n == "cookie")
        .flat_map(|(_, v)| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(name, _)| *name == COOKIE)
        .map(|(_, value)| value.trim().to_string())
        .filter(|v| !v.is_empty() && v.len() <= 128)
}

fn csrf_for(ctx: &Ctx, token_hash: &str) -> String {
    ctx.mac(&format!("csrf:{token_hash}"))
}

/// The owner when the request carries a live session cookie; `None` for visitors.
pub fn current(ctx: &Ctx, req: &Req) -> Result<Option<Viewer>> {
    let Some(token) = token_of(req) else {
        return Ok(None);
    };
    let hash = keys::sha256_hex(token.as_bytes());
    let now = db::now_ms();
    let Some((found, unread)) = ctx.db.read(|c| {
        let Some(s) = sessions::find_live(c, &hash, now)? else {
            return Ok(None);
        };
        Ok(Some((s, db::notifications::count_unread(c)?)))
    })?
    else {
        return Ok(None);
    };
    if now - found.last_seen_at > TOUCH_EVERY_MS {
        ctx.db
            .write(|tx| sessions::touch(tx, &hash, now, now + IDLE_TTL_MS))?;
    }
    Ok(Some(Viewer {
        csrf: csrf_for(ctx, &hash),
        token_hash: hash,
        unread,
        profile: format!("/@{}", ctx.config.username),
    }))
}

/// Whether `token` is this session's CSRF token (constant time).
pub fn csrf_ok(ctx: &Ctx, viewer: &Viewer, token: &str) -> bool {
    ctx.mac_ok(&format!("csrf:{}", viewer.token_hash), token)
}

/// Starts a session; returns the `Set-Cookie` value that carries it.
pub fn start(ctx: &Ctx, req: &Req) -> Result<String> {
    let token = keys::random_token(32)?;
    let now = db::now_ms();
    let user_agent: String = req
        .header("user-agent")
        .unwrap_or("")
        .chars()
        .take(200)
        .collect();
    let row = sessions::Session {
        token_sha256: keys::sha256_hex(token.as_bytes()),
        user_agent,
        created_at: now,
        last_seen_at: now,
        expires_at: now + IDLE_TTL_MS,
    };
    ctx.db.write(|tx| {
        sessions::prune(tx, now)?;
        sessions::insert(tx, &row)
    })?;
    Ok(cookie(secure(ctx), &token, IDLE_TTL_MS / 1000))
}

/// Ends the viewer's session; returns the `Set-Cookie` value that clears the cookie.
pub fn end(ctx: &Ctx, viewer: &Viewer) -> Result<String> {
    ctx.db
        .write(|tx| sessions::delete(tx, &viewer.token_hash))?;
    Ok(cookie(secure(ctx), "", 0))
}

/// Ends every session but the viewer's (after a password change).
pub fn end_others(ctx: &Ctx, viewer: &Viewer) -> Result<usize> {
    ctx.db
        .write(|tx| sessions::delete_others(tx, &viewer.token_hash))
}

/// Whether cookies get the `Secure` flag: when the public URL is https.
fn secure(ctx: &Ctx) -> bool {
    ctx.config.scheme == "https"
}

/// A `Set-Cookie` value for the session cookie.
fn cookie(secure: bool, value: &str, max_age_secs: i64) -> String {
    let flag = if secure { "; Secure" } else { "" };
    format!("{COOKIE}={value}; Path=/; Max-Age={max_age_secs}; HttpOnly; SameSite=Lax{flag}")
}

/// A CSRF token for the login form, which has no session yet: issue time and its MAC.
pub fn login_form_token(ctx: &Ctx) -> String {
    let issued = db::now_ms();
    format!("{issued}.{}", ctx.mac(&format!("login:{issued}")))
}

/// Whether a login form token is this server's and recent.
pub fn login_form_token_ok(ctx: &Ctx, token: &str) -> bool {
    let Some((issued, mac)) = token.split_once('.') else {
        return false;
    };
    let Ok(issued_ms) = issued.parse::<i64>() else {
        return false;
    };
    let age = db::now_ms() - issued_ms;
    (0..LOGIN_FORM_TTL_MS).contains(&age) && ctx.mac_ok(&format!("login:{issued}"), mac)
}

/// A local path to go back to after a form: only `/…` paths on this server, never
/// `//host` or a backslash trick, so no form can be turned into an open redirect.
pub fn local_path(candidate: Option<&str>, default: &str) -> String {
    match candidate {
        Some(p)
            if p.starts_with('/')
                && !p.starts_with("//")
                && !p.contains('\\')
                && !p.chars().any(char::is_control)
                && p.len() <= 2000 =>
        {
            p.to_string()
        }
        _ => default.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cookie_token_is_found_among_others() {
        let mut req = Req::new("GET", "/");
        req.headers
            .push(("cookie".into(), "a=1; kith_session=abc ; b=2".into()));
        assert_eq!(token_of(&req).as_deref(), Some("abc"));
        let mut none = Req::new("GET", "/");
        none.headers.push(("cookie".into(), "kith_session=".into()));
        assert_eq!(token_of(&none), None);
    }

    #[test]
    fn cookie_flags() {
        assert_eq!(
            cookie(true, "t", 60),
            "kith_session=t; Path=/; Max-Age=60; HttpOnly; SameSite=Lax; Secure"
        );
        assert!(!cookie(false, "t", 60).contains("Secure"));
    }

    #[test]
    fn only_local_paths_go_back() {
        assert_eq!(local_path(Some("/home?max_id=1"), "/"), "/home?max_id=1");
        for bad in [
            "//evil.example/",
            "https://evil.example/",
            "/\\evil.example",
            "/a\nb",
            "",
        ] {
            assert_eq!(local_path(Some(bad), "/home"), "/home", "{bad:?}");
        }
        assert_eq!(local_path(None, "/home"), "/home");
    }
}
