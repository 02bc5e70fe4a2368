//! Downloads of the owner's data on the "Import and export" page: the archive that
//! `kith export FILE.zip` writes (built by the same code into a scratch file, then
//! streamed to the browser and removed; never held in memory), and each of Mastodon's
//! CSV files as `text/csv`. The archive is asked for with a CSRF-checked form, since
//! building it is work; the CSV files are plain links. Owner-only: `web/mod.rs` routes
//! here only with a session.

use super::render::hidden;
use super::session::Viewer;
use crate::ctx::Ctx;
use crate::error::{Error, Result};
use crate::http::Resp;
use crate::portability::{csv, export};
use crate::storage::Scratch;
use maud::{Markup, html};

/// The CSV files offered: (file name, label).
const CSV_FILES: [(&str, &str); 7] = [
    ("following_accounts.csv", "Follows"),
    ("followers.csv", "Followers"),
    ("blocked_accounts.csv", "Blocked accounts"),
    ("muted_accounts.csv", "Muted accounts"),
    ("blocked_domains.csv", "Blocked domains"),
    ("bookmarks.csv", "Bookmarks"),
    ("lists.csv", "Lists"),
];

/// The "Export" section of the page.
pub fn section(viewer: &Viewer) -> Markup {
    html! {
        section aria-labelledby="export-h" {
            h2 #export-h { "Export" }
            p.hint {
                "Everything in Mastodon's archive layout: your posts with their media, \
                 boosts, likes, bookmarks, profile and the CSV files below. Another kith \
                 imports it whole; Mastodon and other servers import the CSV files."
            }
            form.settings method="post" action="/settings/export" {
                (hidden(viewer, "/settings/data"))
                button type="submit" { "Download the archive (.zip)" }
            }
            h3 { "CSV files" }
            ul.domains {
                @for (name, label) in CSV_FILES {
                    li {
                        a href=(format!("/settings/export/{name}")) download=(name) { (label) }
                        " " span.hint { (name) }
                    }
                }
            }
        }
    }
}

/// An attachment header for a download named `name`.
fn attachment(name: &str) -> String {
    format!("attachment; filename=\"{name}\"")
}

/// `POST /settings/export`: the archive, as `kith export FILE.zip` writes it.
pub fn archive(ctx: &Ctx) -> Result<Resp> {
    let scratch = Scratch::new(&ctx.config.scratch_dir(), "export", ".zip")?;
    export::export(ctx, scratch.path(), false)?;
    let name = format!(
        "kith-{}-{}.zip",
        ctx.config.username,
        crate::dates::date_only(crate::db::now_ms())
    );
    let path = scratch.keep();
    Ok(Resp::file(200, "application/zip", &path, true)?
        .with_header("Content-Disposition", &attachment(&name))
        .with_header("X-Content-Type-Options", "nosniff"))
}

/// `GET /settings/export/NAME.csv`: one of Mastodon's CSV files.
pub fn csv_file(ctx: &Ctx, name: &str) -> Result<Resp> {
    if !CSV_FILES.iter().any(|(n, _)| *n == name) {
        return Err(Error::NotFound("No such file".into()));
    }
    let bytes = ctx
        .db
        .read(csv::export_files)?
        .into_iter()
        .find(|(n, _)| *n == name)
        .map(|(_, b)| b)
        .ok_or_else(|| Error::NotFound("No such file".into()))?;
    Ok(Resp::bytes(200, "text/csv; charset=utf-8", bytes)
        .with_header("Content-Disposition", &attachment(name))
        .with_header("X-Content-Type-Options", "nosniff"))
}
