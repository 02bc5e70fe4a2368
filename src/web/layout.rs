//! The page frame every HTML page shares, and the security headers HTML answers carry.

use crate::http::Resp;
use maud::{DOCTYPE, Markup, html};

/// The Content-Security-Policy of every HTML page: nothing inline, nothing remote.
pub const CSP: &str = "default-src 'none'; style-src 'self'; img-src 'self' data:; media-src 'self'; \
    script-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'";

/// Wraps `body` in the document frame with the given title.
pub fn page(title: &str, head_extra: Markup, body: Markup) -> Markup {
    html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                title { (title) }
                link rel="stylesheet" href=(super::assets::url("kith.css"));
                (head_extra)
            }
            body {
                main { (body) }
                footer.site { "Powered by kith " (env!("CARGO_PKG_VERSION")) }
            }
        }
    }
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
    let body = html! { h1 { "Error " (status) } p { (message) } };
    respond(status, page(&format!("Error {status}"), html! {}, body))
}
