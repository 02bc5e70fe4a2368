//! What both faces share about who the owner is: the password check, the limits on
//! failed logins (per client address and for the account as a whole, SECURITY.md 49
//! and 50), and the MAC key behind CSRF tokens and signed media-proxy URLs. Also the
//! shape of an OAuth authorization prompt, which the client API's OAuth module decides
//! and the web UI renders, so neither face imports the other.

use crate::Ctx;
use crate::db;
use crate::error::{Error, Result};
use crate::http::Req;
use crate::ratelimit::Bucket;
use std::net::IpAddr;

/// The key under which failures count for the account as a whole.
const ACCOUNT_KEY: IpAddr = IpAddr::V4(std::net::Ipv4Addr::UNSPECIFIED);

/// Refuses with 429 when this client address or the account has too many failed logins.
pub fn check_login_limits(ctx: &Ctx, req: &Req) -> Result<()> {
    let limit = ctx.config.limits.login_attempts;
    let exceeded = ctx
        .limiter
        .exceeded(Bucket::Login, req.client_ip, limit)
        .or_else(|| {
            ctx.account_logins
                .exceeded(Bucket::Login, ACCOUNT_KEY, limit)
        });
    match exceeded {
        Some(v) => Err(Error::RateLimited {
            limit: Some(limit),
            reset_secs: v.reset_secs,
        }),
        None => Ok(()),
    }
}

/// Counts a failed login against the client address and the account.
pub fn record_failed_login(ctx: &Ctx, req: &Req) {
    let limit = ctx.config.limits.login_attempts;
    ctx.limiter.hit(Bucket::Login, req.client_ip, limit);
    ctx.account_logins.hit(Bucket::Login, ACCOUNT_KEY, limit);
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

/// The key of the MACs kith puts in forms and proxy URLs, derived from the account's
/// private key (so it survives restarts and never leaves the server).
pub struct MacKey(ring::hmac::Key);

impl MacKey {
    /// The key derived from the account's private key (DER).
    pub fn from_private_key(der: &[u8]) -> MacKey {
        let seed = ring::digest::digest(&ring::digest::SHA256, der);
        MacKey(ring::hmac::Key::new(ring::hmac::HMAC_SHA256, seed.as_ref()))
    }

    /// A MAC of `data`, in hex.
    pub fn sign(&self, data: &str) -> String {
        let tag = ring::hmac::sign(&self.0, data.as_bytes());
        tag.as_ref().iter().map(|b| format!("{b:02x}")).collect()
    }

    /// Whether `mac` (hex) is the MAC of `data` (constant time).
    pub fn verify(&self, data: &str, mac: &str) -> bool {
        let Some(bytes) = (0..mac.len())
            .step_by(2)
            .map(|i| {
                mac.get(i..i + 2)
                    .and_then(|h| u8::from_str_radix(h, 16).ok())
            })
            .collect::<Option<Vec<u8>>>()
        else {
            return false;
        };
        ring::hmac::verify(&self.0, data.as_bytes(), &bytes).is_ok()
    }
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
