//! OAuth 2 for the client API: app registration (only with scopes kith has), the
//! checks and the grant behind the login-and-consent page of `/oauth/authorize` (the
//! web UI renders it from an [`AuthorizePrompt`]), authorization codes with PKCE (S256
//! only), the scope rules, and the server metadata document. The token and revoke
//! endpoints are `oauth_token`.

use super::auth;
use crate::auth::{self as login, AuthorizePrompt, Authorized};
use crate::ctx::Ctx;
use crate::db::{self, oauth};
use crate::error::{Error, Result};
use crate::http::params::Params;
use crate::http::{Req, Resp};
use crate::keys;
use serde_json::{Value, json};

/// The out-of-band redirect URI: the code is shown on a page.
pub const OOB: &str = "urn:ietf:wg:oauth:2.0:oob";
/// The scopes kith has: the top-level ones and the `read:…`/`write:…` children its
/// endpoints check. Anything else (`admin:…`, unknown names) is refused.
const SCOPES: &[&str] = &[
    "read",
    "write",
    "follow",
    "push",
    "profile",
    "read:accounts",
    "read:blocks",
    "read:bookmarks",
    "read:favourites",
    "read:filters",
    "read:follows",
    "read:lists",
    "read:mutes",
    "read:notifications",
    "read:search",
    "read:statuses",
    "write:accounts",
    "write:blocks",
    "write:bookmarks",
    "write:conversations",
    "write:favourites",
    "write:filters",
    "write:follows",
    "write:lists",
    "write:media",
    "write:mutes",
    "write:notifications",
    "write:reports",
    "write:statuses",
];
/// How long an authorization code stays valid.
const CODE_TTL_MS: i64 = 10 * 60 * 1000;
/// How long the authorize form may be submitted after it was shown.
const FORM_TTL_MS: i64 = 60 * 60 * 1000;

fn unprocessable(m: &str) -> Error {
    Error::Unprocessable(m.to_string())
}

/// Whether kith has this scope (a top-level one or a child its endpoints check).
pub fn is_known_scope(scope: &str) -> bool {
    SCOPES.contains(&scope)
}

/// Checks and normalises a scope list; an empty one is `read`, as Mastodon's default.
/// A scope kith does not have is refused with 422 (SECURITY.md 61).
pub fn parse_scopes(raw: Option<&str>) -> Result<String> {
    let raw = raw.map(|s| s.replace('+', " ")).unwrap_or_default();
    let mut out: Vec<String> = Vec::new();
    for s in raw.split_whitespace() {
        if !is_known_scope(s) {
            let shown: String = s.chars().take(64).collect();
            return Err(unprocessable(&format!(
                "Validation failed: unknown scope {shown}"
            )));
        }
        if !out.iter().any(|o| o == s) {
            out.push(s.to_string());
        }
    }
    if out.is_empty() {
        out.push("read".into());
    }
    Ok(out.join(" "))
}

/// Whether every scope in `asked` is covered by `allowed`.
pub(crate) fn scopes_within(asked: &str, allowed: &str) -> bool {
    asked.split_whitespace().all(|s| auth::covers(allowed, s))
}

/// Checks one redirect URI: the out-of-band URI or an absolute URI of a harmless scheme.
fn check_redirect_uri(uri: &str) -> Result<()> {
    if uri == OOB {
        return Ok(());
    }
    let parsed = url::Url::parse(uri)
        .map_err(|_| unprocessable("Validation failed: Redirect URI must be an absolute URI."))?;
    let scheme = parsed.scheme().to_ascii_lowercase();
    if ["javascript", "data", "vbscript", "file", "blob", "about"].contains(&scheme.as_str()) {
        return Err(unprocessable(
            "Validation failed: Redirect URI is forbidden by the server.",
        ));
    }
    if parsed.fragment().is_some() || uri.len() > 2000 {
        return Err(unprocessable(
            "Validation failed: Redirect URI cannot contain a fragment.",
        ));
    }
    Ok(())
}

fn app_json(app: &oauth::App, with_secret: bool, vapid_key: &str) -> Value {
    let uris = app.redirect_list();
    let mut v = json!({
        "id": app.id.to_string(),
        "name": app.name,
        "website": app.website,
        "scopes": app.scopes.split_whitespace().collect::<Vec<_>>(),
        "redirect_uri": uris.join("\n"),
        "redirect_uris": uris,
        "vapid_key": vapid_key,
    });
    if with_secret {
        v["client_id"] = json!(app.client_id);
        v["client_secret"] = json!(app.client_secret);
        v["client_secret_expires_at"] = json!(0);
    }
    v
}

/// `POST /api/v1/apps`.
pub fn create_app(ctx: &Ctx, req: &Req) -> Result<Resp> {
    let p = Params::from_request(req)?;
    let name = crate::text::clean_plain(&p.required("client_name")?, 100);
    let uris = match p.get("redirect_uris") {
        Some(Value::Array(_)) => p.list("redirect_uris")?,
        _ => p
            .required("redirect_uris")?
            .split_whitespace()
            .map(str::to_string)
            .collect(),
    };
    if uris.is_empty() || uris.len() > 10 {
        return Err(unprocessable(
            "Validation failed: Redirect URI must be an absolute URI.",
        ));
    }
    uris.iter().try_for_each(|u| check_redirect_uri(u))?;
    let scopes = parse_scopes(p.str("scopes")?.as_deref())?;
    let website = p
        .str("website")?
        .filter(|w| w.starts_with("https://") || w.starts_with("http://"));
    let mut app = oauth::App {
        id: 0,
        name,
        website,
        redirect_uris: uris.join("\n"),
        scopes,
        client_id: keys::random_token(32)?,
        client_secret: keys::random_token(32)?,
        created_at: db::now_ms(),
    };
    app.id = ctx.db.write(|tx| oauth::insert_app(tx, &app))?;
    Ok(Resp::json(
        200,
        &app_json(&app, true, &crate::push::vapid::public_key_b64(ctx)?),
    ))
}

/// `GET /api/v1/apps/verify_credentials`.
pub fn verify_app(ctx: &Ctx, req: &Req) -> Result<Resp> {
    let caller = auth::optional(ctx, req)?
        .ok_or_else(|| Error::Unauthorized("The access token is invalid".into()))?;
    let app_id = caller
        .app_id
        .ok_or_else(|| Error::NotFound("This token belongs to no app".into()))?;
    let app = ctx.db.read(|c| oauth::get_app(c, app_id))?;
    Ok(Resp::json(
        200,
        &app_json(&app, false, &crate::push::vapid::public_key_b64(ctx)?),
    ))
}

/// The validated request of an authorize page.
struct AuthorizeRequest {
    app: oauth::App,
    redirect_uri: String,
    /// The request named its `redirect_uri` (else the app's first one is used).
    redirect_given: bool,
    scopes: String,
    state: Option<String>,
    challenge: Option<String>,
}

fn authorize_request(ctx: &Ctx, p: &Params) -> Result<AuthorizeRequest> {
    let client_id = p.required("client_id")?;
    let app = ctx
        .db
        .read(|c| oauth::find_app_by_client_id(c, &client_id))?
        .ok_or_else(|| {
            Error::Unauthorized("Client authentication failed due to unknown client".into())
        })?;
    let named = p.str("redirect_uri")?.filter(|s| !s.is_empty());
    let redirect_given = named.is_some();
    let redirect_uri = match named {
        Some(u) => u,
        None => app.redirect_list().into_iter().next().unwrap_or_default(),
    };
    if !app.redirect_list().contains(&redirect_uri) {
        return Err(Error::BadRequest(
            "The redirect uri included is not valid.".into(),
        ));
    }
    if let Some(rt) = p.str("response_type")?
        && rt != "code"
    {
        return Err(Error::BadRequest(
            "The authorization server does not support this response type.".into(),
        ));
    }
    let scopes = parse_scopes(p.str("scope")?.as_deref())?;
    if !scopes_within(&scopes, &app.scopes) {
        return Err(Error::BadRequest(
            "The requested scope is invalid, unknown, or malformed.".into(),
        ));
    }
    let challenge = p.str("code_challenge")?.filter(|c| !c.is_empty());
    if challenge.is_some() && p.str("code_challenge_method")?.as_deref() != Some("S256") {
        return Err(Error::BadRequest(
            "Only the S256 code challenge method is supported.".into(),
        ));
    }
    // Mastodon.py sends the literal string "None" for an absent state.
    let state = p.str("state")?.filter(|s| !s.is_empty() && s != "None");
    Ok(AuthorizeRequest {
        app,
        redirect_uri,
        redirect_given,
        scopes,
        state,
        challenge,
    })
}

fn csrf_token(ctx: &Ctx, client_id: &str) -> String {
    let issued = db::now_ms();
    format!(
        "{issued}.{}",
        ctx.mac(&format!("authorize:{client_id}:{issued}"))
    )
}

fn csrf_ok(ctx: &Ctx, client_id: &str, token: &str) -> bool {
    let Some((issued, mac)) = token.split_once('.') else {
        return false;
    };
    let Ok(issued_ms) = issued.parse::<i64>() else {
        return false;
    };
    db::now_ms() - issued_ms < FORM_TTL_MS
        && ctx.mac_ok(&format!("authorize:{client_id}:{issued}"), mac)
}

/// The prompt of the login-and-consent page for a checked request.
fn prompt(ctx: &Ctx, r: &AuthorizeRequest, p: &Params, error: Option<&str>) -> AuthorizePrompt {
    let hidden = [
        "client_id",
        "redirect_uri",
        "response_type",
        "scope",
        "state",
        "code_challenge",
        "code_challenge_method",
    ];
    AuthorizePrompt {
        app_name: r.app.name.clone(),
        app_website: r.app.website.clone(),
        scopes: r.scopes.split_whitespace().map(str::to_string).collect(),
        hidden: hidden
            .iter()
            .filter_map(|name| Some((name.to_string(), p.str(name).ok()??)))
            .collect(),
        csrf_token: csrf_token(ctx, &r.app.client_id),
        redirect_uri: r.redirect_uri.clone(),
        error: error.map(str::to_string),
    }
}

/// `GET /oauth/authorize`: checks the request; the web UI renders the prompt.
pub fn authorize_form(ctx: &Ctx, req: &Req) -> Result<AuthorizePrompt> {
    let p = Params::from_request(req)?;
    let r = authorize_request(ctx, &p)?;
    Ok(prompt(ctx, &r, &p, None))
}

/// `POST /oauth/authorize`: checks the limits, the form and the password, and issues
/// a code.
pub fn authorize_submit(ctx: &Ctx, req: &Req) -> Result<Authorized> {
    login::check_login_limits(ctx, req)?;
    let p = Params::from_request(req)?;
    let r = authorize_request(ctx, &p)?;
    if !csrf_ok(
        ctx,
        &r.app.client_id,
        &p.str("csrf_token")?.unwrap_or_default(),
    ) {
        return Err(Error::Forbidden(
            "The form has expired; open the authorization page again".into(),
        ));
    }
    if !login::password_ok(ctx, &p.str("password")?.unwrap_or_default())? {
        login::record_failed_login(ctx, req);
        return Ok(Authorized::Prompt(prompt(
            ctx,
            &r,
            &p,
            Some("That password is not right."),
        )));
    }
    login::record_login(ctx, req);
    let code = keys::random_token(32)?;
    let now = db::now_ms();
    let stored = oauth::Code {
        app_id: r.app.id,
        redirect_uri: r.redirect_uri.clone(),
        redirect_given: r.redirect_given,
        scopes: r.scopes.clone(),
        code_challenge: r.challenge.clone(),
        expires_at: now + CODE_TTL_MS,
    };
    ctx.db.write(|tx| {
        oauth::prune_codes(tx, now)?;
        oauth::insert_code(tx, &keys::sha256_hex(code.as_bytes()), &stored)
    })?;
    if r.redirect_uri == OOB {
        return Ok(Authorized::ShowCode {
            app_name: r.app.name,
            code,
        });
    }
    let mut target = url::Url::parse(&r.redirect_uri)
        .map_err(|_| Error::BadRequest("bad redirect URI".into()))?;
    target.query_pairs_mut().append_pair("code", &code);
    if let Some(state) = &r.state {
        target.query_pairs_mut().append_pair("state", state);
    }
    Ok(Authorized::Redirect(target.to_string()))
}

/// `GET /.well-known/oauth-authorization-server`.
pub fn metadata(ctx: &Ctx) -> Resp {
    let base = &ctx.config.public_url;
    let scopes = SCOPES;
    Resp::json(
        200,
        &json!({
            "issuer": format!("{base}/"),
            "service_documentation": "https://docs.joinmastodon.org/",
            "authorization_endpoint": format!("{base}/oauth/authorize"),
            "token_endpoint": format!("{base}/oauth/token"),
            "revocation_endpoint": format!("{base}/oauth/revoke"),
            "app_registration_endpoint": format!("{base}/api/v1/apps"),
            "scopes_supported": scopes,
            "response_types_supported": ["code"],
            "response_modes_supported": ["query", "fragment", "form_post"],
            "grant_types_supported": ["authorization_code", "client_credentials"],
            "token_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post"],
            "code_challenge_methods_supported": ["S256"],
        }),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scopes_and_redirects() {
        assert_eq!(parse_scopes(None).unwrap(), "read");
        assert_eq!(
            parse_scopes(Some("read+write+follow")).unwrap(),
            "read write follow"
        );
        assert_eq!(
            parse_scopes(Some("read:statuses write")).unwrap(),
            "read:statuses write"
        );
        assert!(parse_scopes(Some("root")).is_err());
        for unknown in [
            "admin:read",
            "admin:write:accounts",
            "read:nonsense",
            "write:",
        ] {
            assert_eq!(
                parse_scopes(Some(unknown)).unwrap_err().status(),
                422,
                "{unknown}"
            );
        }
        assert_eq!(
            parse_scopes(Some("write:media profile")).unwrap(),
            "write:media profile"
        );
        assert!(scopes_within("read:statuses", "read write"));
        assert!(!scopes_within("write", "read"));
        assert!(check_redirect_uri(OOB).is_ok());
        assert!(check_redirect_uri("https://app.example/cb").is_ok());
        assert!(check_redirect_uri("tusky://oauth").is_ok());
        for bad in [
            "javascript:alert(1)",
            "data:text/html,x",
            "VBScript:x",
            "file:///etc/passwd",
            "not a uri",
            "https://a.example/#frag",
        ] {
            assert_eq!(check_redirect_uri(bad).unwrap_err().status(), 422, "{bad}");
        }
    }
}
