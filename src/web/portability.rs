//! The owner's "Import and export" settings page: the uploads that do what `kith
//! import csv` and `kith import mastodon-archive` do on the command line (the same
//! code, whose report is shown on the page), and the download forms and links of
//! `export.rs`. A CSV file is small and comes in memory within its own cap; an
//! account archive is spooled to `data_dir/tmp` by the HTTP layer as it arrives (only
//! for a logged-in owner, within `[limits] import_max_bytes`), its file part copied
//! out by the streaming multipart parser, and never held whole in memory. Refusals
//! (a bad CSV row, a damaged archive) are shown with the importer's message and change
//! nothing. This file does not write SQL or parse archives itself.

use super::render::hidden;
use super::session::{self, Viewer};
use crate::ctx::Ctx;
use crate::db;
use crate::error::{Error, Result};
use crate::http::multipart::{self, Target};
use crate::http::params::Params;
use crate::http::{Req, Resp, Spool};
use crate::portability::csv::{self, CsvReport, Kind};
use crate::portability::import::{self, Report};
use crate::storage::Scratch;
use maud::{Markup, html};

/// Where the CSV import form posts.
pub const CSV_UPLOAD_PATH: &str = "/settings/import/csv";
/// Where the archive import form posts (its body is spooled to a file).
pub const ARCHIVE_UPLOAD_PATH: &str = "/settings/import/archive";
/// The largest CSV upload: the importer's cap plus room for the form around it.
pub const CSV_UPLOAD_MAX: u64 = csv::MAX_BYTES + 64 * 1024;

/// The kinds of CSV file the form offers: (form value, label).
const KINDS: [(&str, &str); 6] = [
    ("following", "Follows (following_accounts.csv)"),
    ("blocks", "Blocked accounts (blocked_accounts.csv)"),
    ("mutes", "Muted accounts (muted_accounts.csv)"),
    ("domain-blocks", "Blocked domains (blocked_domains.csv)"),
    ("bookmarks", "Bookmarks (bookmarks.csv)"),
    ("lists", "Lists (lists.csv)"),
];

/// What the page shows above its forms after a form was sent.
pub enum Outcome {
    /// The input was refused (nothing changed), or the form was incomplete: the
    /// status (422, or 409 while another import runs) and why.
    Refused(u16, String),
    /// A CSV file was imported.
    Csv {
        label: &'static str,
        overwrite: bool,
        report: CsvReport,
    },
    /// An archive was imported.
    Archive(Report),
    /// The posts of boosts, likes and bookmarks were fetched.
    Fetched(Report),
}

/// `GET /settings/data`, also shown with the outcome of a form.
pub fn show(ctx: &Ctx, viewer: &Viewer, outcome: Option<Outcome>) -> Result<Resp> {
    let waiting = ctx.db.read(db::portability::count_open_refs)?;
    let status = match &outcome {
        Some(Outcome::Refused(status, _)) => *status,
        _ => 200,
    };
    let body = html! {
        h1 { "Import and export" }
        (super::settings::tabs("/settings/data"))
        @if let Some(o) = &outcome { (outcome_markup(o)) }
        (super::export::section(viewer))
        (csv_section(viewer))
        (archive_section(viewer, ctx.config.limits.import_max_bytes, waiting))
    };
    Ok(super::layout::respond(
        status,
        super::layout::frame(Some(viewer), "Import and export", html! {}, body),
    ))
}

/// The CSV import form.
fn csv_section(viewer: &Viewer) -> Markup {
    html! {
    section aria-labelledby="csv-h" {
        h2 #csv-h { "Import a list" }
        p.hint {
            "The CSV files Mastodon (Preferences → Import and export → Data export) and \
             other servers let you download. Accounts are looked up on their servers, and \
             follows go out through the delivery queue."
        }
        form.settings method="post" action=(CSV_UPLOAD_PATH) enctype="multipart/form-data" {
            (hidden(viewer, "/settings/data"))
            label for="csv-type" { "What the file lists" }
            select #csv-type name="type" {
                @for (value, label) in KINDS { option value=(value) { (label) } }
            }
            fieldset {
                legend { "How" }
                div.check {
                    input #mode-merge type="radio" name="mode" value="merge" checked;
                    label for="mode-merge" { "Merge: add what the file lists, keep the rest" }
                }
                div.check {
                    input #mode-overwrite type="radio" name="mode" value="overwrite";
                    label for="mode-overwrite" {
                        "Overwrite: make it exactly the file (unfollows, unblocks or removes \
                         what the file does not list)"
                    }
                }
            }
            label for="csv-file" { "CSV file " span.optional { "(at most " (size(csv::MAX_BYTES)) ")" } }
            input #csv-file type="file" name="file" accept=".csv,text/csv" required;
            button type="submit" { "Import" }
        }
    }
    }
}

/// The archive import form, and the button that fetches what imported boosts, likes and
/// bookmarks still wait for (`waiting` of them).
fn archive_section(viewer: &Viewer, limit: u64, waiting: i64) -> Markup {
    html! {
    section aria-labelledby="archive-h" {
        h2 #archive-h { "Import an account archive" }
        p.hint {
            "Your posts, with their dates, media and threads, from a Mastodon archive \
             (Preferences → Import and export → Request your archive) or a kith export. \
             The whole archive is checked before anything is written; importing the same \
             archive again imports nothing twice. Imported posts reach no one's timeline."
        }
        form.settings method="post" action=(ARCHIVE_UPLOAD_PATH) enctype="multipart/form-data" {
            (hidden(viewer, "/settings/data"))
            label for="archive-file" {
                "Archive (.zip or .tar.gz) " span.optional { "(at most " (size(limit)) ")" }
            }
            input #archive-file type="file" name="archive"
                accept=".zip,.tar.gz,.tgz,application/zip,application/gzip" required;
            div.check {
                input #archive-fetch type="checkbox" name="fetch" value="1";
                label for="archive-fetch" {
                    "Also fetch the boosted, liked and bookmarked posts now (one request \
                     each: slow for a long history; it can be done later below)"
                }
            }
            button type="submit" { "Import archive" }
        }
        @if waiting > 0 {
            form.settings method="post" action="/settings/import/fetch" {
                (hidden(viewer, "/settings/data"))
                p.hint { (waiting) " boosts, likes and bookmarks wait for their post to be fetched." }
                button type="submit" { "Fetch them now" }
            }
        }
    }
    }
}

fn outcome_markup(outcome: &Outcome) -> Markup {
    match outcome {
        Outcome::Refused(_, m) => html! { p.error role="alert" { (m) } },
        Outcome::Csv {
            label,
            overwrite,
            report,
        } => html! {
            section.report role="status" aria-labelledby="report-h" {
                h2 #report-h { "Imported: " (label) @if *overwrite { " (overwrite)" } }
                dl.fields {
                    dt { "Rows" } dd { (report.rows) }
                    dt { "Applied" } dd { (report.applied) }
                    dt { "Already so" } dd { (report.unchanged) }
                    dt { "Failed" } dd { (report.failed.len()) }
                    dt { "Removed" } dd { (report.removed) }
                }
                @if !report.failed.is_empty() {
                    h3 { "Rows that failed" }
                    ul.domains {
                        @for (value, why) in report.failed.iter().take(100) {
                            li { span.domain { (value) } " " span.hint { (why) } }
                        }
                    }
                }
            }
        },
        Outcome::Archive(report) => html! {
            section.report role="status" aria-labelledby="report-h" {
                h2 #report-h { "Archive imported" }
                p.notice { (report.summary()) }
            }
        },
        Outcome::Fetched(report) => html! {
            section.report role="status" aria-labelledby="report-h" {
                h2 #report-h { "Boosts, likes and bookmarks" }
                p.notice {
                    "Found or fetched the posts of " (report.refs_resolved) "; "
                    (report.refs_open) " still wait for their post (its server did not \
                     answer, or the post is gone)."
                }
            }
        },
    }
}

/// A byte count for people: `16 MiB`, `4 GiB`, `1.5 MiB`.
fn size(bytes: u64) -> String {
    let (value, unit) = if bytes >= 1 << 30 {
        (bytes as f64 / (1u64 << 30) as f64, "GiB")
    } else if bytes >= 1 << 20 {
        (bytes as f64 / (1u64 << 20) as f64, "MiB")
    } else {
        (bytes as f64 / 1024.0, "KiB")
    };
    let text = format!("{value:.1}");
    format!("{} {unit}", text.trim_end_matches(".0"))
}

/// The page with an importer's outcome, or its refusal.
fn answer(ctx: &Ctx, viewer: &Viewer, done: Result<Outcome>) -> Result<Resp> {
    match done {
        Ok(o) => show(ctx, viewer, Some(o)),
        Err(e) if super::is_refusal(&e) => {
            let status = match e.status() {
                409 => 409,
                _ => 422,
            };
            show(
                ctx,
                viewer,
                Some(Outcome::Refused(status, e.public_message())),
            )
        }
        Err(e) => Err(e),
    }
}

/// `POST /settings/import/csv`: runs `kith import csv` on the uploaded file.
pub fn import_csv(ctx: &Ctx, viewer: &Viewer, p: &Params) -> Result<Resp> {
    let kind_name = p.str("type")?.unwrap_or_default();
    let Some((value, label)) = KINDS.iter().find(|(v, _)| *v == kind_name) else {
        return answer(
            ctx,
            viewer,
            Err(Error::Unprocessable("Choose what the file lists".into())),
        );
    };
    let kind =
        Kind::parse(value).ok_or_else(|| Error::Internal("a kind the form offers".into()))?;
    let overwrite = match p.str("mode")?.as_deref() {
        None | Some("merge") => false,
        Some("overwrite") => true,
        Some(_) => {
            return answer(
                ctx,
                viewer,
                Err(Error::Unprocessable("Choose merge or overwrite".into())),
            );
        }
    };
    let file = p
        .files
        .iter()
        .find(|(name, ..)| name == "file")
        .filter(|(.., bytes)| !bytes.is_empty());
    let Some((_, _, _, bytes)) = file else {
        return answer(
            ctx,
            viewer,
            Err(Error::Unprocessable("Choose a CSV file to import".into())),
        );
    };
    let done = csv::import_bytes(ctx, kind, bytes, overwrite, false).map(|report| Outcome::Csv {
        label,
        overwrite,
        report,
    });
    answer(ctx, viewer, done)
}

/// The HTTP layer's question for an archive upload: spool it, for a logged-in owner.
/// Anyone else's body is read as usual, within the small form cap, and refused.
pub fn spool(ctx: &Ctx, head: &Req) -> Option<Spool> {
    if head.method != "POST" || head.path != ARCHIVE_UPLOAD_PATH {
        return None;
    }
    match session::current(ctx, head) {
        Ok(Some(_)) => Some(Spool {
            dir: ctx.config.scratch_dir(),
            limit: ctx.config.limits.import_max_bytes,
        }),
        _ => None,
    }
}

/// `POST /settings/import/archive`: the spooled body is split into its fields and the
/// archive file; then, with the CSRF token checked, `kith import mastodon-archive`
/// runs on the file.
pub fn import_archive(ctx: &Ctx, req: &Req, viewer: Option<&Viewer>) -> Result<Resp> {
    let Some(viewer) = viewer else {
        return Err(Error::Forbidden(
            "You are not logged in (or your session ended); log in and try again".into(),
        ));
    };
    let Some(spooled) = &req.spooled else {
        return Err(Error::BadRequest(
            "The archive did not arrive as an upload".into(),
        ));
    };
    let boundary = multipart::boundary(req.header("content-type").unwrap_or(""))
        .ok_or_else(|| Error::BadRequest("The form must be sent as multipart/form-data".into()))?;
    let archive = Scratch::new(&ctx.config.scratch_dir(), "archive", "")?;
    let mut archive_bytes = false;
    let body = std::io::BufReader::with_capacity(256 * 1024, std::fs::File::open(&spooled.path)?);
    let fields = multipart::parse_stream(body, &boundary, |head| {
        Ok(match (head.name.as_str(), &head.filename) {
            ("archive", Some(_)) if !archive_bytes => {
                archive_bytes = true;
                let file = std::fs::File::create_new(archive.path())?;
                Target::Write(Box::new(std::io::BufWriter::with_capacity(
                    256 * 1024,
                    file,
                )))
            }
            (_, Some(_)) => Target::Skip,
            (_, None) => Target::Keep,
        })
    })?;
    let field = |name: &str| {
        fields
            .iter()
            .find(|(h, _)| h.name == name)
            .map(|(_, v)| String::from_utf8_lossy(v).into_owned())
    };
    if !session::csrf_ok(ctx, viewer, &field("csrf").unwrap_or_default()) {
        return Err(Error::Forbidden(
            "This form has expired; go back, reload the page and try again".into(),
        ));
    }
    let size = std::fs::metadata(archive.path())
        .map(|m| m.len())
        .unwrap_or(0);
    if size == 0 {
        let refused = Error::Unprocessable("Choose an archive file to import".into());
        return answer(ctx, viewer, Err(refused));
    }
    let opts = import::Options {
        resolve: field("fetch").is_some(),
        progress: false,
        ..import::Options::default()
    };
    let done = import::import_archive(ctx, archive.path(), &opts).map(Outcome::Archive);
    drop(archive);
    answer(ctx, viewer, done)
}

/// `POST /settings/import/fetch`: fetches the posts that imported boosts, likes and
/// bookmarks still wait for.
pub fn fetch_waiting(ctx: &Ctx, viewer: &Viewer) -> Result<Resp> {
    let opts = import::Options {
        progress: false,
        ..import::Options::default()
    };
    let mut report = Report::default();
    let done = import::resolve_refs(ctx, &opts, &mut report).and_then(|()| {
        report.refs_open = ctx.db.read(db::portability::count_open_refs)? as u64;
        Ok(Outcome::Fetched(report))
    });
    answer(ctx, viewer, done)
}

/// The 413 page of a web form whose body is over its cap.
pub fn too_large(ctx: &Ctx, path: &str, limit: u64) -> Resp {
    let spooled = limit == ctx.config.limits.import_max_bytes;
    let message = match path {
        CSV_UPLOAD_PATH => format!(
            "The file is larger than {}, the most a CSV import takes. Nothing was imported.",
            size(csv::MAX_BYTES)
        ),
        ARCHIVE_UPLOAD_PATH if spooled => format!(
            "The archive is larger than {}, the most this server takes as an upload \
             ([limits] import_max_bytes). Nothing was imported. Raise the limit, or import it \
             on the server's command line: kith import mastodon-archive FILE",
            size(limit)
        ),
        _ => format!(
            "What was sent is larger than {}, the most this form takes. Nothing was changed.",
            size(limit)
        ),
    };
    super::layout::error_page(413, &message)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_read_well() {
        assert_eq!(size(16 << 20), "16 MiB");
        assert_eq!(size(4 << 30), "4 GiB");
        assert_eq!(size(3 << 19), "1.5 MiB");
        assert_eq!(size(41_943_040), "40 MiB");
        assert_eq!(size(2048), "2 KiB");
    }
}
