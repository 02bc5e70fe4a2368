//! What both faces share about who the owner is: the password check and the limits on
//! failed logins (per client address, with growing delays kept in
//! `ratelimit::LoginDelays`; never for the account as a whole, so nobody can lock the
//! owner out: SECURITY.md 49, 50 and 70). Also the shape of an OAuth authorization
//! prompt, which the client API's OAuth module decides and the web UI renders, so
//! neither face imports the other.

use crate::ctx::Ctx;
use crate::db;
use crate::error::{Error, Result};
use crate::http::Req;
use crate::ratelimit::Bucket;

/// Refuses with 429 when this client address has too many failed logins in the window,
/// or must still wait after its last failure. Failures elsewhere never count here.
pub fn check_login_limits(ctx: &Ctx, req: &Req) -> Result<()> {
    let limit = ctx.config.limits.login_attempts;
    if let Some(v) = ctx.limiter.exceeded(Bucket::Login, req.client_ip, limit) {
        return Err(Error::RateLimited {
            limit: Some(limit),
            reset_secs: v.reset_secs,
        });
    }
    match ctx.login_delays.wait(req.client_ip) {
        Some(secs) => Err(Error::RateLimited {
            limit: None,
            reset_secs: secs,
        }),
        None => Ok(()),
    }
}

/// Counts a failed login against the client address.
pub fn record_failed_login(ctx: &Ctx, req: &Req) {
    let limit = ctx.config.limits.login_attempts;
    ctx.limiter.hit(Bucket::Login, req.client_ip, limit);
    ctx.login_delays.record(req.client_ip);
}

/// Forgets the growing delay of the client address after a successful login.
pub fn record_login(ctx: &Ctx, req: &Req) {
    ctx.login_delays.clear(req.client_ip);
}

/// Whether `password` is the owner's.
pub fn password_ok(ctx: &Ctx, password: &str) -> Result<bool> {
    let hash = ctx.db.read(db::account::get_password_hash)?;
    let ok = crate::password::verify(password, &hash);
    if ok {
        // The generated password has reached its owner: its file is no longer needed.
        crate::first_run::forget_password(&ctx.config);
    }
    Ok(ok)
}

/// An OAuth authorization prompt: what the login-and-consent page shows and sends back.
#[derive(Debug, Clone)]
pub struct AuthorizePrompt {
    /// The app's name.
    pub app_name: String,
    /// The app's website, if it gave one.
    pub app_website: Option<String>,
    /// The scopes asked for.
    pub scopes: Vec<String>,
    /// The request's parameters, carried through the form as hidden fields.
    pub hidden: Vec<(String, String)>,
    /// The form's CSRF token.
    pub csrf_token: String,
    /// Where the browser goes once the code is granted (the page's form may lead
    /// there: its Content-Security-Policy names it).
    pub redirect_uri: String,
    /// Why the last submission was refused (a wrong password), if it was.
    pub error: Option<String>,
}

/// What an authorization attempt came to.
#[derive(Debug, Clone)]
pub enum Authorized {
    /// Show the prompt (again, with its error).
    Prompt(AuthorizePrompt),
    /// Granted: send the browser back to the app (the code is in the URL).
    Redirect(String),
    /// Granted to an app without a redirect: show the code to copy.
    ShowCode {
        /// The app's name.
        app_name: String,
        /// The authorization code.
        code: String,
    },
}
