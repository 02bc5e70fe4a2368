//! The page of `/oauth/authorize`: the login-and-consent form an app sends its user to
//! (a plain HTML form, no JavaScript), and the page showing a code to copy. What is
//! asked and granted is decided by the client API's OAuth module; this file renders
//! its [`AuthorizePrompt`] and [`Authorized`] answers.

use super::layout;
use crate::auth::{AuthorizePrompt, Authorized};
use crate::ctx::Ctx;
use crate::error::{Error, Result};
use crate::http::Resp;
use maud::html;

/// What a scope lets an app do, in words.
fn scope_label(scope: &str) -> &'static str {
    match scope.split(':').next().unwrap_or(scope) {
        "read" => "read your posts, timelines, notifications and settings",
        "write" => "post, edit and delete, and change your settings",
        "follow" => "follow, block and mute accounts",
        "push" => "receive push notifications",
        "profile" => "see your profile",
        _ => "do things as you",
    }
}

/// The login-and-consent page (401 when it comes back with an error).
pub fn page(ctx: &Ctx, prompt: &AuthorizePrompt) -> Resp {
    let body = html! {
        h1 { "Authorize " (prompt.app_name) }
        @if let Some(w) = &prompt.app_website { p { "From " a href=(w) rel="noopener noreferrer" { (w) } } }
        p { (prompt.app_name) " asks to use your account @" (ctx.config.username) "@" (ctx.config.domain) " to:" }
        ul { @for s in &prompt.scopes { li { strong { (s) } " — " (scope_label(s)) } } }
        @if let Some(e) = &prompt.error { p.error role="alert" { (e) } }
        form method="post" action="/oauth/authorize" {
            @for (name, value) in &prompt.hidden { input type="hidden" name=(name) value=(value); }
            input type="hidden" name="csrf_token" value=(prompt.csrf_token);
            label for="password" { "Password" }
            input #password type="password" name="password" autocomplete="current-password" required autofocus;
            button type="submit" { "Authorize" }
        }
    };
    let resp = layout::respond(
        if prompt.error.is_some() { 401 } else { 200 },
        layout::page("Authorize an app", html! {}, body),
    );
    match redirect_source(&prompt.redirect_uri) {
        // The form's answer redirects to the app: browsers apply `form-action` to
        // that redirect too, so the app's origin (or scheme) must be allowed.
        Some(source) => resp.set_header(
            "Content-Security-Policy",
            &layout::CSP.replace(
                "form-action 'self'",
                &format!("form-action 'self' {source}"),
            ),
        ),
        None => resp,
    }
}

/// The CSP source of a redirect URI: the origin of an http(s) URI, the scheme of an
/// app's own (`com.example.app:`); none for the out-of-band URI or anything odd.
fn redirect_source(uri: &str) -> Option<String> {
    let url = url::Url::parse(uri).ok()?;
    let source = match url.scheme() {
        "http" | "https" => url.origin().ascii_serialization(),
        "urn" => return None,
        scheme => format!("{scheme}:"),
    };
    source
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || "+-.:/[]".contains(c))
        .then_some(source)
}

/// The answer to an authorization: the prompt again, the redirect to the app, or the
/// code to copy.
pub fn answer(ctx: &Ctx, authorized: &Authorized) -> Resp {
    match authorized {
        Authorized::Prompt(prompt) => page(ctx, prompt),
        Authorized::Redirect(url) => Resp::redirect(302, url),
        Authorized::ShowCode { app_name, code } => {
            let body = html! {
                h1 { "Authorization code" }
                p { "Copy this code into " (app_name) ":" }
                p { code #authorization-code { (code) } }
            };
            layout::respond(200, layout::page("Authorization code", html! {}, body))
        }
    }
}

/// Shows a refused authorization as an HTML page; a rate limit stays an error, so the
/// router answers it with its headers.
pub fn refused(e: Error) -> Result<Resp> {
    match e {
        Error::RateLimited { .. } => Err(e),
        e => Ok(layout::error_page(e.status(), &e.public_message())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redirect_sources() {
        assert_eq!(
            redirect_source("https://elk.example/signin/callback?x=1").as_deref(),
            Some("https://elk.example")
        );
        assert_eq!(
            redirect_source("http://127.0.0.2:8080/cb").as_deref(),
            Some("http://127.0.0.2:8080")
        );
        assert_eq!(
            redirect_source("com.example.app://oauth").as_deref(),
            Some("com.example.app:")
        );
        assert_eq!(redirect_source("urn:ietf:wg:oauth:2.0:oob"), None);
        assert_eq!(redirect_source("not a url"), None);
    }
}
