//! The page frame every HTML page shares (with the owner's navigation when logged
//! in), and the security headers HTML answers carry. Pages pass their content in as
//! maud markup; this file adds no text of its own that came from outside.

use super::session::Viewer;
use crate::http::Resp;
use maud::{DOCTYPE, Markup, html};

/// The Content-Security-Policy of every HTML page: nothing inline, nothing remote.
pub const CSP: &str = "default-src 'none'; style-src 'self'; img-src 'self' data:; media-src 'self'; \
    script-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'";

/// Wraps `body` in the document frame with the given title (no navigation).
pub fn page(title: &str, head_extra: Markup, body: Markup) -> Markup {
    frame(None, title, head_extra, body)
}

/// Wraps `body` in the document frame; the owner gets the navigation bar.
pub fn frame(viewer: Option<&Viewer>, title: &str, head_extra: Markup, body: Markup) -> Markup {
    html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                meta name="color-scheme" content="light dark";
                title { (title) }
                link rel="stylesheet" href=(crate::assets::url("kith.css"));
                link rel="icon" type="image/svg+xml" href=(crate::assets::url("icon.svg"));
                (head_extra)
            }
            body {
                a.skip href="#main" { "Skip to content" }
                @if let Some(v) = viewer { (nav(v)) }
                main #main { (body) }
                footer.site {
                    "Powered by kith " (env!("CARGO_PKG_VERSION"))
                    @if viewer.is_none() { " · " a href="/login" { "Log in" } }
                }
            }
        }
    }
}

fn nav(v: &Viewer) -> Markup {
    html! {
        header.top {
            nav aria-label="Main" {
                ul {
                    li { a href="/home" { "Home" } }
                    li {
                        a href="/notifications" {
                            "Notifications"
                            @if v.unread > 0 {
                                " " span.badge { (v.unread) span.visually-hidden { " unread" } }
                            }
                        }
                    }
                    li { a href="/compose" { "Write" } }
                    li { a href="/search" { "Search" } }
                    li { a href="/people" { "People" } }
                    li { a href=(v.profile) { "Profile" } }
                    li { a href="/settings" { "Settings" } }
                    li {
                        form.inline method="post" action="/logout" {
                            input type="hidden" name="csrf" value=(v.csrf);
                            button.link type="submit" { "Log out" }
                        }
                    }
                }
            }
        }
    }
}

/// The one script (the compose form's character counter), for pages with that form.
pub fn compose_script() -> Markup {
    html! { script src=(crate::assets::url("kith.js")) defer {} }
}

/// An HTML response with kith's security headers.
pub fn respond(status: u16, markup: Markup) -> Resp {
    Resp::html(status, markup.into_string())
        .with_header("Content-Security-Policy", CSP)
        .with_header("X-Frame-Options", "DENY")
        .with_header("X-Content-Type-Options", "nosniff")
        .with_header("Referrer-Policy", "same-origin")
}

/// A plain error page.
pub fn error_page(status: u16, message: &str) -> Resp {
    let body = html! {
        h1 { "Error " (status) }
        p { (message) }
        p { a href="/" { "Back to the start page" } }
    };
    respond(status, page(&format!("Error {status}"), html! {}, body))
}
