//! The OAuth token endpoint and revocation: client authentication (body fields or HTTP
//! Basic), the authorization_code grant with PKCE (S256) and the client_credentials
//! grant. A code works once: a replay is refused and revokes the token issued from it
//! (RFC 6749 §4.1.2); a code issued for a named redirect URI is redeemed only with it.

use super::oauth::{parse_scopes, scopes_within};
use crate::auth::{check_login_limits, record_failed_login};
use crate::ctx::Ctx;
use crate::db::{self, oauth, tokens};
use crate::error::{Error, Result};
use crate::http::params::Params;
use crate::http::{Req, Resp};
use crate::keys;
use base64::Engine;
use serde_json::json;

/// The client credentials of a token or revoke request: body fields or HTTP Basic.
fn client(ctx: &Ctx, req: &Req, p: &Params) -> Result<oauth::App> {
    let (id, secret) = match (p.str("client_id")?, p.str("client_secret")?) {
        (Some(id), Some(secret)) => (id, secret),
        _ => basic_credentials(req)
            .ok_or_else(|| Error::Unauthorized("Client authentication failed".into()))?,
    };
    let app = ctx.db.read(|c| oauth::find_app_by_client_id(c, &id))?;
    match app {
        Some(app) if keys::secure_eq(app.client_secret.as_bytes(), secret.as_bytes()) => Ok(app),
        _ => Err(Error::Unauthorized("Client authentication failed due to unknown client, no client authentication included, or unsupported authentication method.".into())),
    }
}

fn basic_credentials(req: &Req) -> Option<(String, String)> {
    let value = req.header("authorization")?;
    let (scheme, data) = value.trim().split_once(' ')?;
    if !scheme.eq_ignore_ascii_case("basic") {
        return None;
    }
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(data.trim())
        .ok()?;
    let text = String::from_utf8(decoded).ok()?;
    let (id, secret) = text.split_once(':')?;
    Some((id.to_string(), secret.to_string()))
}

fn pkce_ok(challenge: &str, verifier: &str) -> bool {
    let digest = ring::digest::digest(&ring::digest::SHA256, verifier.as_bytes());
    let computed = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(digest.as_ref());
    keys::secure_eq(computed.as_bytes(), challenge.as_bytes())
}

/// The answer to a code that does not give a token: RFC 6749 §5.2's `invalid_grant`
/// with Doorkeeper's (Mastodon's) description.
fn invalid_grant() -> Resp {
    Resp::json(
        400,
        &json!({
            "error": "invalid_grant",
            "error_description": "The provided authorization grant is invalid, expired, revoked, does not match \
                the redirection URI used in the authorization request, or was issued to another client.",
        }),
    )
    .with_header("Cache-Control", "no-store")
}

/// `POST /oauth/token`.
pub fn token(ctx: &Ctx, req: &Req) -> Result<Resp> {
    check_login_limits(ctx, req)?;
    let p = Params::from_request(req)?;
    let app = match client(ctx, req, &p) {
        Ok(app) => app,
        Err(e) => {
            record_failed_login(ctx, req);
            return Err(e);
        }
    };
    let now = db::now_ms();
    let token = keys::random_token(32)?;
    let hash = keys::sha256_hex(token.as_bytes());
    let scopes = match p.str("grant_type")?.as_deref() {
        Some("authorization_code") => match code_grant(ctx, req, &p, &app, &hash, now)? {
            Some(scopes) => scopes,
            None => return Ok(invalid_grant()),
        },
        Some("client_credentials") => {
            let scopes = parse_scopes(p.str("scope")?.as_deref())?;
            if !scopes_within(&scopes, &app.scopes) {
                return Err(Error::BadRequest(
                    "The requested scope is invalid, unknown, or malformed.".into(),
                ));
            }
            ctx.db
                .write(|tx| tokens::insert_kind(tx, Some(app.id), &hash, &scopes, true, now))?;
            scopes
        }
        _ => {
            return Err(Error::BadRequest(
                "The authorization grant type is not supported by the authorization server.".into(),
            ));
        }
    };
    Ok(Resp::json(200, &json!({"access_token": token, "token_type": "Bearer", "scope": scopes, "created_at": now / 1000}))
        .with_header("Cache-Control", "no-store"))
}

/// What the token request names besides the code, read before the code is redeemed.
struct CodeRequest {
    redirect_uri: Option<String>,
    verifier: String,
    scopes: Option<String>,
}

/// What redeeming a code came to.
enum Grant {
    /// The token was stored (with these scopes) and linked to the code.
    Issued(String),
    /// Refused; the code is used up all the same.
    Refused,
    /// The code was redeemed before: the token it gave (if any) is now revoked.
    Replayed(Option<i64>),
}

/// The authorization_code grant: redeems the code, stores the token (by `token_hash`)
/// and returns its scopes, or `None` for an `invalid_grant`. A code works once: a replay is refused and revokes the token
/// issued from it (RFC 6749 §4.1.2, SECURITY.md 59); a code issued for a named
/// `redirect_uri` is redeemed only with that same one (SECURITY.md 60).
fn code_grant(
    ctx: &Ctx,
    req: &Req,
    p: &Params,
    app: &oauth::App,
    token_hash: &str,
    now: i64,
) -> Result<Option<String>> {
    let code = p.required("code")?;
    let asked = CodeRequest {
        redirect_uri: p.str("redirect_uri")?.filter(|u| !u.is_empty()),
        verifier: p.str("code_verifier")?.unwrap_or_default(),
        scopes: match p.str("scope")?.filter(|s| !s.trim().is_empty()) {
            Some(s) => Some(parse_scopes(Some(&s))?),
            None => None,
        },
    };
    let code_hash = keys::sha256_hex(code.as_bytes());
    let grant = ctx.db.write(|tx| {
        let stored = match oauth::redeem_code(tx, &code_hash, now)? {
            oauth::Redeemed::Fresh(stored) => stored,
            oauth::Redeemed::Unknown => return Ok(Grant::Refused),
            oauth::Redeemed::Replayed { token_id } => {
                let revoked = match token_id {
                    Some(id) if tokens::revoke_id(tx, id, now)? => Some(id),
                    _ => None,
                };
                return Ok(Grant::Replayed(revoked));
            }
        };
        let Some(scopes) = code_scopes(&stored, app, &asked, now) else {
            return Ok(Grant::Refused);
        };
        let token_id = tokens::insert_kind(tx, Some(app.id), token_hash, &scopes, false, now)?;
        oauth::link_token(tx, &code_hash, token_id)?;
        Ok(Grant::Issued(scopes))
    })?;
    match grant {
        Grant::Issued(scopes) => Ok(Some(scopes)),
        Grant::Refused => {
            record_failed_login(ctx, req);
            Ok(None)
        }
        Grant::Replayed(revoked) => {
            record_failed_login(ctx, req);
            if let Some(id) = revoked {
                eprintln!("oauth: an authorization code was replayed; token {id} revoked");
                ctx.emit(crate::events::Event::TokenRevoked(id));
            }
            Ok(None)
        }
    }
}

/// The scopes a fresh code grants to this token request, or `None` when the request
/// does not match the code (another app, expired, redirect URI, PKCE, wider scopes).
fn code_scopes(
    stored: &oauth::Code,
    app: &oauth::App,
    asked: &CodeRequest,
    now: i64,
) -> Option<String> {
    if stored.app_id != app.id || stored.expires_at <= now {
        return None;
    }
    match &asked.redirect_uri {
        Some(uri) if *uri != stored.redirect_uri => return None,
        None if stored.redirect_given => return None,
        _ => {}
    }
    if let Some(challenge) = &stored.code_challenge
        && !pkce_ok(challenge, &asked.verifier)
    {
        return None;
    }
    match &asked.scopes {
        Some(scopes) if scopes_within(scopes, &stored.scopes) => Some(scopes.clone()),
        Some(_) => None,
        None => Some(stored.scopes.clone()),
    }
}

/// `POST /oauth/revoke`: revokes a token of the calling app and closes its streams.
pub fn revoke(ctx: &Ctx, req: &Req) -> Result<Resp> {
    let p = Params::from_request(req)?;
    let app = client(ctx, req, &p)?;
    let token = p.required("token")?;
    let now = db::now_ms();
    let revoked = ctx
        .db
        .write(|tx| tokens::revoke(tx, &keys::sha256_hex(token.as_bytes()), app.id, now))?;
    if let Some(id) = revoked {
        ctx.emit(crate::events::Event::TokenRevoked(id));
    }
    Ok(Resp::json(200, &json!({})))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pkce_s256() {
        // RFC 7636 appendix B.
        assert!(pkce_ok(
            "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM",
            "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"
        ));
        assert!(!pkce_ok(
            "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM",
            "wrong"
        ));
    }
}
