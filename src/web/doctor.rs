//! `GET /settings/doctor`: the checks of `kith doctor` as a page for the owner, each
//! ✓ or ✗ with how to fix it. The public URL is probed through the network, so the
//! page takes as long as those requests (a few seconds at most).

use super::layout;
use super::session::Viewer;
use crate::ctx::Ctx;
use crate::error::Result;
use crate::http::Resp;
use maud::html;

/// `GET /settings/doctor`.
pub fn show(ctx: &Ctx, viewer: &Viewer) -> Result<Resp> {
    let checks = crate::doctor::run(ctx, true);
    let failed = checks.iter().filter(|c| !c.ok).count();
    let body = html! {
        h1 { "Health" }
        (super::settings::tabs("/settings/doctor"))
        @if failed == 0 {
            p.notice role="status" { "All " (checks.len()) " checks passed." }
        } @else {
            p.error role="alert" { (failed) " of " (checks.len()) " checks failed; each says how to fix it." }
        }
        ul.checks {
            @for c in &checks {
                li class=(if c.ok { "ok" } else { "failed" }) {
                    strong { (if c.ok { "✓ " } else { "✗ " }) (c.name) }
                    ": " (c.detail)
                    @if let Some(fix) = &c.fix { p.hint { "Fix: " (fix) } }
                }
            }
        }
        p.hint { "The same checks run on the command line as " code { "kith doctor" } "." }
    };
    Ok(
        layout::respond(200, layout::frame(Some(viewer), "Health", html! {}, body))
            .with_header("Cache-Control", "no-store"),
    )
}
