//! Mastodon's CSV exports, both ways. `kith import csv --type following|blocks|mutes|
//! domain-blocks|bookmarks|lists [--overwrite] FILE` reads the files Mastodon (and
//! GoToSocial) write; the export writes the same files, plus `followers.csv`.
//!
//! The file is read and checked whole first (at most [`MAX_BYTES`]; a malformed row
//! refuses the file, naming the line, and changes nothing). Then its rows are applied
//! in batches by `csv_apply`: accounts are resolved on the network (WebFinger, then
//! the actor), follows are sent through the delivery queue (the running server's
//! workers pace them per host), and a row whose account cannot be found is reported
//! and skipped, as Mastodon does. Merge is the default; `--overwrite` also undoes what
//! is not in the file (unfollows, unblocks, unmutes, removes domain blocks, bookmarks
//! and lists).

use super::refused;
use crate::ap::resolve;
use crate::ctx::Ctx;
use crate::db::Conn;
use crate::db::blocks;
use crate::db::portability::{self, Relation};
use crate::error::{Error, Result};
use std::path::Path;

/// Largest CSV file read (a million domain blocks take about 20 MB).
pub const MAX_BYTES: u64 = 64 << 20;

/// What a CSV file lists.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Following,
    Blocks,
    Mutes,
    DomainBlocks,
    Bookmarks,
    Lists,
}

impl Kind {
    /// The kind named on the command line (`following`, `domain-blocks`, …).
    pub fn parse(name: &str) -> Option<Kind> {
        Some(match name {
            "following" | "follows" => Kind::Following,
            "blocks" | "blocking" => Kind::Blocks,
            "mutes" | "muting" => Kind::Mutes,
            "domain-blocks" | "domain_blocks" | "domain_blocking" => Kind::DomainBlocks,
            "bookmarks" => Kind::Bookmarks,
            "lists" => Kind::Lists,
            _ => return None,
        })
    }

    /// The first cell of Mastodon's header row for this kind, when it writes one.
    fn header(self) -> &'static str {
        match self {
            Kind::Following | Kind::Blocks | Kind::Mutes => "account address",
            Kind::DomainBlocks => "#domain",
            Kind::Bookmarks => "#uri",
            Kind::Lists => "list name",
        }
    }
}

/// What an import of a CSV file did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CsvReport {
    pub rows: u64,
    /// Rows that changed something.
    pub applied: u64,
    /// Rows that were already so.
    pub unchanged: u64,
    /// Rows that failed: (the row's value, why).
    pub failed: Vec<(String, String)>,
    /// Relations undone by `--overwrite`.
    pub removed: u64,
}

impl CsvReport {
    /// One paragraph for the operator.
    pub fn summary(&self) -> String {
        let mut text = format!(
            "{} rows: {} applied, {} already so, {} failed, {} removed.",
            self.rows,
            self.applied,
            self.unchanged,
            self.failed.len(),
            self.removed
        );
        for (value, why) in self.failed.iter().take(20) {
            text.push_str(&format!("\n  {value}: {why}"));
        }
        text
    }
}

/// One checked row.
#[derive(Debug, Clone, PartialEq)]
pub(super) enum Row {
    Account(String),
    Domain(String),
    Url(String),
    Member { list: String, account: String },
}

/// Reads a whole CSV file (at most [`MAX_BYTES`]).
fn read_file(path: &Path) -> Result<Vec<u8>> {
    let size = std::fs::metadata(path)
        .map_err(|e| refused(format!("cannot read {}: {e}", path.display())))?
        .len();
    if size > MAX_BYTES {
        return Err(refused(format!(
            "{} is larger than {MAX_BYTES} bytes",
            path.display()
        )));
    }
    use std::io::Read;
    let mut bytes = Vec::new();
    std::fs::File::open(path)?
        .take(MAX_BYTES)
        .read_to_end(&mut bytes)?;
    Ok(bytes)
}

/// Parses CSV text of `kind`, handing each checked row to `each` in order; the first
/// malformed row stops it with an error naming its line. Returns how many rows.
pub(super) fn for_each_row(
    kind: Kind,
    bytes: &[u8],
    mut each: impl FnMut(Row) -> Result<()>,
) -> Result<u64> {
    let mut reader = ::csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .trim(::csv::Trim::All)
        .from_reader(bytes);
    let mut count = 0;
    let mut record = ::csv::StringRecord::new();
    let mut index = 0;
    loop {
        let line = index + 1;
        let more = reader
            .read_record(&mut record)
            .map_err(|e| refused(format!("line {line}: not CSV: {e}")))?;
        if !more {
            return Ok(count);
        }
        index += 1;
        let first = record.get(0).unwrap_or("");
        if index == 1 && first.eq_ignore_ascii_case(kind.header()) {
            continue;
        }
        if record.iter().all(str::is_empty) {
            continue;
        }
        let bad = |why: &str| refused(format!("line {line}: {why}: {first:?}"));
        let row = match kind {
            Kind::Following | Kind::Blocks | Kind::Mutes => {
                Row::Account(account(first).ok_or_else(|| bad("not an account address"))?)
            }
            Kind::DomainBlocks => Row::Domain(domain(first).ok_or_else(|| bad("not a domain"))?),
            Kind::Bookmarks => Row::Url(post_url(first).ok_or_else(|| bad("not a post URL"))?),
            Kind::Lists => {
                let title = crate::text::clean_plain(first, 100);
                let member = record.get(1).unwrap_or("");
                if title.is_empty() {
                    return Err(bad("a list without a name"));
                }
                Row::Member {
                    list: title,
                    account: account(member).ok_or_else(|| {
                        refused(format!("line {line}: not an account address: {member:?}"))
                    })?,
                }
            }
        };
        count += 1;
        each(row)?;
    }
}

/// `user@host` from `user@host`, `@user@host` or `acct:user@host`, lower-cased host.
fn account(cell: &str) -> Option<String> {
    let (user, host) = resolve::split_handle(cell)?;
    let plain = |s: &str| {
        !s.is_empty()
            && s.len() < 256
            && s.chars().all(|c| c.is_alphanumeric() || "._-:".contains(c))
    };
    (plain(&user) && plain(&host)).then(|| format!("{user}@{host}"))
}

fn domain(cell: &str) -> Option<String> {
    crate::domain::normalize(cell).filter(|d| d.contains('.') || d.starts_with('['))
}

fn post_url(cell: &str) -> Option<String> {
    let url = url::Url::parse(cell.trim()).ok()?;
    matches!(url.scheme(), "http" | "https").then(|| url.to_string())
}

/// Imports a CSV file of `kind`; `overwrite` also undoes what the file does not list.
pub fn import(
    ctx: &Ctx,
    kind: Kind,
    path: &Path,
    overwrite: bool,
    show_progress: bool,
) -> Result<CsvReport> {
    let bytes = read_file(path)?;
    import_bytes(ctx, kind, &bytes, overwrite, show_progress)
}

/// Imports CSV text of `kind` already in memory (an upload), as [`import`] does a file:
/// every row is checked before any is applied.
pub fn import_bytes(
    ctx: &Ctx,
    kind: Kind,
    bytes: &[u8],
    overwrite: bool,
    show_progress: bool,
) -> Result<CsvReport> {
    if bytes.len() as u64 > MAX_BYTES {
        return Err(refused(format!(
            "the file is larger than {MAX_BYTES} bytes"
        )));
    }
    let rows = for_each_row(kind, bytes, |_| Ok(()))?;
    super::csv_apply::apply(ctx, kind, bytes, rows, overwrite, show_progress)
}

/// The CSV files of an export: (file name, bytes), in Mastodon's formats.
pub fn export_files(conn: &Conn) -> Result<Vec<(&'static str, Vec<u8>)>> {
    let accounts = |relation, header: Option<&[&str]>, extra: &[&str]| -> Result<Vec<u8>> {
        let mut w = ::csv::Writer::from_writer(Vec::new());
        if let Some(h) = header {
            w.write_record(h).map_err(csv_error)?;
        }
        for (_, acct) in portability::list_relation(conn, relation)? {
            let mut record = vec![acct.as_str()];
            record.extend_from_slice(extra);
            w.write_record(&record).map_err(csv_error)?;
        }
        w.into_inner().map_err(|e| csv_error(e.into_error()))
    };
    let following = accounts(
        Relation::Following,
        Some(&[
            "Account address",
            "Show boosts",
            "Notify on new posts",
            "Languages",
        ]),
        &["true", "false", ""],
    )?;
    let followers = accounts(Relation::Followers, Some(&["Account address"]), &[])?;
    let blocked = accounts(Relation::Blocks, None, &[])?;
    let muted = accounts(
        Relation::Mutes,
        Some(&["Account address", "Hide notifications"]),
        &["true"],
    )?;
    let single = |values: Vec<String>| -> Result<Vec<u8>> {
        let mut w = ::csv::Writer::from_writer(Vec::new());
        for v in values {
            w.write_record([v]).map_err(csv_error)?;
        }
        w.into_inner().map_err(|e| csv_error(e.into_error()))
    };
    let domains = single(blocks::list_domain_blocks(conn)?)?;
    let bookmarks = single(
        portability::list_owner_marks_after(conn, true, 0, i64::MAX)?
            .into_iter()
            .map(|(_, uri)| uri)
            .collect(),
    )?;
    let mut w = ::csv::Writer::from_writer(Vec::new());
    for (title, acct) in portability::list_list_members(conn)? {
        w.write_record([title, acct]).map_err(csv_error)?;
    }
    let lists = w.into_inner().map_err(|e| csv_error(e.into_error()))?;
    Ok(vec![
        ("following_accounts.csv", following),
        ("followers.csv", followers),
        ("blocked_accounts.csv", blocked),
        ("muted_accounts.csv", muted),
        ("blocked_domains.csv", domains),
        ("bookmarks.csv", bookmarks),
        ("lists.csv", lists),
    ])
}

fn csv_error(e: impl std::fmt::Display) -> Error {
    Error::Internal(format!("csv: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse_rows(kind: Kind, bytes: &[u8]) -> Result<Vec<Row>> {
        let mut rows = Vec::new();
        for_each_row(kind, bytes, |r| {
            rows.push(r);
            Ok(())
        })?;
        Ok(rows)
    }

    #[test]
    fn mastodon_files_parse_with_or_without_headers() {
        let following = b"Account address,Show boosts,Notify on new posts,Languages\nbob@remote.example,true,false,\n@Carol@Other.Example,false,false,\"en, de\"\n";
        assert_eq!(
            parse_rows(Kind::Following, following).unwrap(),
            vec![
                Row::Account("bob@remote.example".into()),
                Row::Account("Carol@other.example".into())
            ]
        );
        assert_eq!(
            parse_rows(Kind::Blocks, b"eve@evil.example\n\n").unwrap(),
            vec![Row::Account("eve@evil.example".into())]
        );
        assert_eq!(
            parse_rows(Kind::DomainBlocks, b"Spam.Example.\n").unwrap(),
            vec![Row::Domain("spam.example".into())]
        );
        assert_eq!(
            parse_rows(Kind::Lists, b"\"Friends, close\",bob@remote.example\n").unwrap(),
            vec![Row::Member {
                list: "Friends, close".into(),
                account: "bob@remote.example".into()
            }]
        );
        assert_eq!(
            parse_rows(Kind::Bookmarks, b"https://r.example/@bob/1\n")
                .unwrap()
                .len(),
            1
        );
    }

    #[test]
    fn a_bad_row_refuses_the_file() {
        let e = parse_rows(Kind::Following, b"bob@remote.example\nnot an account\n")
            .unwrap_err()
            .to_string();
        assert!(e.contains("line 2"), "{e}");
        assert!(parse_rows(Kind::DomainBlocks, b"a/b\n").is_err());
        assert!(parse_rows(Kind::Bookmarks, b"javascript:alert(1)\n").is_err());
        assert!(parse_rows(Kind::Lists, b"Friends\n").is_err());
        assert_eq!(Kind::parse("domain-blocks"), Some(Kind::DomainBlocks));
        assert_eq!(Kind::parse("x"), None);
    }
}
