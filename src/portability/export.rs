//! `kith export DIR|FILE.zip`: the account as a Mastodon-layout archive — `outbox.json`
//! (every own post as `Create`, every boost as `Announce`, attachments pointing at
//! `media_attachments/files/…` inside the archive), `actor.json`, `likes.json`,
//! `bookmarks.json`, the media files and the avatar and header — which kith's importer
//! reads and tools written for Mastodon archives understand; plus Mastodon's CSV files
//! (following, followers, blocks, mutes, domain blocks, bookmarks, lists).
//!
//! Streamed: posts are read a page at a time and written as they come; media files
//! are copied as files. A zip is written under a temporary name and renamed when
//! complete; a directory must be new or empty.

use super::refused;
use crate::ap::AS_NS;
use crate::ap::outbox::{build_announce, wrap_object};
use crate::ctx::Ctx;
use crate::db::Conn;
use crate::db::{self, portability, posts};
use crate::error::{Error, Result};
use crate::storage::Area;
use serde_json::{Value, json};
use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

/// Posts read per database page.
const PAGE: i64 = 200;

/// What an export wrote.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Exported {
    pub posts: u64,
    pub media: u64,
    /// Media files named by posts but missing from `data_dir/media`.
    pub media_missing: u64,
    pub likes: u64,
    pub bookmarks: u64,
}

/// Where the archive goes: files in a directory, or entries of a zip.
enum Sink {
    Dir(PathBuf),
    Zip {
        writer: Box<zip::ZipWriter<BufWriter<File>>>,
        tmp: PathBuf,
        dest: PathBuf,
    },
}

impl Sink {
    fn open(dest: &Path) -> Result<Sink> {
        let is_zip = dest
            .extension()
            .is_some_and(|e| e.eq_ignore_ascii_case("zip"));
        if is_zip {
            if dest.exists() {
                return Err(refused(format!(
                    "{} exists already; choose a new name",
                    dest.display()
                )));
            }
            let tmp = dest.with_extension("zip.partial");
            let file = BufWriter::with_capacity(256 * 1024, File::create(&tmp)?);
            return Ok(Sink::Zip {
                writer: Box::new(zip::ZipWriter::new(file)),
                tmp,
                dest: dest.to_path_buf(),
            });
        }
        if dest.exists() && std::fs::read_dir(dest)?.next().is_some() {
            return Err(refused(format!(
                "{} is not empty; export into a new directory",
                dest.display()
            )));
        }
        std::fs::create_dir_all(dest)?;
        Ok(Sink::Dir(dest.to_path_buf()))
    }

    /// Starts the file `name` and runs `write` on it; `compress` for text.
    fn file(
        &mut self,
        name: &str,
        compress: bool,
        write: impl FnOnce(&mut dyn Write) -> Result<()>,
    ) -> Result<()> {
        match self {
            Sink::Dir(dir) => {
                let path = dir.join(name);
                if let Some(parent) = path.parent() {
                    std::fs::create_dir_all(parent)?;
                }
                let mut out = BufWriter::with_capacity(64 * 1024, File::create(path)?);
                write(&mut out)?;
                out.flush()?;
                Ok(())
            }
            Sink::Zip { writer, .. } => {
                let method = if compress {
                    zip::CompressionMethod::Deflated
                } else {
                    zip::CompressionMethod::Stored
                };
                let options = zip::write::SimpleFileOptions::default()
                    .compression_method(method)
                    .unix_permissions(0o600);
                writer
                    .start_file(name, options)
                    .map_err(|e| Error::Internal(format!("zip: {e}")))?;
                write(writer.as_mut())
            }
        }
    }

    /// Copies the file at `from` into the archive as `name`.
    /// Copies a stored upload (from the folder or the bucket) into the archive;
    /// false when it is nowhere.
    fn copy_stored(&mut self, ctx: &Ctx, name: &str, stored: &str) -> Result<bool> {
        let Some(mut opened) = ctx.storage.open_file(Area::Uploads, stored)? else {
            return Ok(false);
        };
        self.file(name, false, |out| {
            std::io::copy(&mut opened.reader, out)?;
            Ok(())
        })?;
        Ok(true)
    }

    fn finish(self) -> Result<()> {
        if let Sink::Zip { writer, tmp, dest } = self {
            let mut file = writer
                .finish()
                .map_err(|e| Error::Internal(format!("zip: {e}")))?;
            file.flush()?;
            file.get_ref().sync_all()?;
            std::fs::rename(tmp, dest)?;
        }
        Ok(())
    }
}

/// Exports the account to `dest` (a directory, or a file ending in `.zip`).
pub fn export(ctx: &Ctx, dest: &Path, show_progress: bool) -> Result<Exported> {
    let mut sink = Sink::open(dest)?;
    let result = write_all(ctx, &mut sink, show_progress);
    match result {
        Ok(done) => {
            sink.finish()?;
            Ok(done)
        }
        Err(e) => {
            if let Sink::Zip { tmp, .. } = &sink {
                let _ = std::fs::remove_file(tmp);
            }
            Err(e)
        }
    }
}

fn write_all(ctx: &Ctx, sink: &mut Sink, show_progress: bool) -> Result<Exported> {
    let mut done = Exported::default();
    let media_files = write_outbox(ctx, sink, &mut done, show_progress)?;
    for name in media_files {
        if !name.contains('/')
            && sink.copy_stored(ctx, &format!("media_attachments/files/{name}"), &name)?
        {
            done.media += 1;
        } else {
            done.media_missing += 1;
        }
    }
    write_actor(ctx, sink)?;
    done.likes = write_marks(ctx, sink, "likes.json", false)?;
    done.bookmarks = write_marks(ctx, sink, "bookmarks.json", true)?;
    for (name, bytes) in ctx.db.read(super::csv::export_files)? {
        sink.file(name, true, |out| Ok(out.write_all(&bytes)?))?;
    }
    Ok(done)
}

/// Writes `outbox.json`; returns the media file names its posts use.
fn write_outbox(
    ctx: &Ctx,
    sink: &mut Sink,
    done: &mut Exported,
    show_progress: bool,
) -> Result<Vec<String>> {
    let total = ctx.db.read(portability::count_own_posts)? as u64;
    let mut media_files = Vec::new();
    sink.file("outbox.json", true, |out| {
        let head = json!({
            "@context": crate::ap::context(),
            "id": "outbox.json",
            "type": "OrderedCollection",
            "totalItems": total,
        });
        let head = serde_json::to_string(&head)?;
        out.write_all(&head.as_bytes()[..head.len() - 1])?;
        out.write_all(b",\"orderedItems\":[")?;
        let mut after = 0;
        let mut first = true;
        loop {
            let page = ctx.db.read(|c| {
                let list = portability::list_own_posts_after(c, after, PAGE)?;
                list.iter()
                    .map(|p| item_json(ctx, c, p, &mut media_files).map(|v| (p.id, v)))
                    .collect::<Result<Vec<_>>>()
            })?;
            let Some((last, _)) = page.last() else {
                break;
            };
            after = *last;
            for (_, item) in page {
                if !first {
                    out.write_all(b",")?;
                }
                first = false;
                serde_json::to_writer(&mut *out, &item)?;
                done.posts += 1;
            }
            if show_progress {
                super::progress("export: posts", done.posts, total);
            }
        }
        out.write_all(b"]}")?;
        Ok(())
    })?;
    Ok(media_files)
}

/// One outbox item: `Announce` for a boost, `Create` with the note otherwise.
fn item_json(
    ctx: &Ctx,
    conn: &Conn,
    post: &posts::Post,
    media_files: &mut Vec<String>,
) -> Result<Value> {
    let published = crate::dates::iso8601(post.published_at);
    if let Some(original_id) = post.reblog_of_id {
        let original = posts::get(conn, original_id)?;
        let author = match original.actor_id {
            Some(a) => db::actors::get(conn, a)?.uri,
            None => ctx.config.actor_url(),
        };
        let mut a = build_announce(&ctx.config, &post.uri, &original.uri, &author, &published);
        strip_context(&mut a);
        return Ok(a);
    }
    let mut note = crate::ap::serve::note_json(ctx, conn, post)?;
    strip_context(&mut note);
    let attachments = posts::list_attachments(conn, post.id)?;
    if let Some(list) = note.get_mut("attachment").and_then(Value::as_array_mut) {
        for (slot, a) in list.iter_mut().zip(&attachments) {
            let Some(media_id) = a.media_id else {
                continue;
            };
            let file = db::media::get(conn, media_id)?;
            slot["url"] = json!(format!("media_attachments/files/{}", file.file_name));
            if let (Some(x), Some(y)) = (file.focus_x, file.focus_y) {
                slot["focalPoint"] = json!([x, y]);
            }
            media_files.push(file.file_name);
        }
    }
    let mut a = wrap_object(
        &ctx.config,
        "Create",
        &format!("{}/activity", post.uri),
        note,
        Some(&published),
    );
    strip_context(&mut a);
    Ok(a)
}

fn strip_context(v: &mut Value) {
    if let Some(o) = v.as_object_mut() {
        o.remove("@context");
    }
}

/// Writes `actor.json` and the avatar and header files, as Mastodon lays them out.
fn write_actor(ctx: &Ctx, sink: &mut Sink) -> Result<()> {
    let account = ctx.db.read(db::account::get)?;
    let mut person = crate::ap::actor::build_person(&ctx.config, &account);
    person["outbox"] = json!("outbox.json");
    person["likes"] = json!("likes.json");
    person["bookmarks"] = json!("bookmarks.json");
    for (field, key, stored) in [
        ("icon", "avatar", account.avatar_path.as_deref()),
        ("image", "header", account.header_path.as_deref()),
    ] {
        let Some(name) = stored else {
            person.as_object_mut().map(|o| o.remove(field));
            continue;
        };
        let ext = name.rsplit('.').next().unwrap_or("png");
        let archived = format!("{key}.{ext}");
        if sink.copy_stored(ctx, &archived, name)? {
            person[field]["url"] = json!(archived);
        }
    }
    sink.file("actor.json", true, |out| {
        serde_json::to_writer(&mut *out, &person)?;
        Ok(())
    })
}

/// Writes `likes.json` or `bookmarks.json`: the URLs of the posts, oldest first.
fn write_marks(ctx: &Ctx, sink: &mut Sink, name: &str, bookmarks: bool) -> Result<u64> {
    let mut count = 0;
    sink.file(name, true, |out| {
        let head = json!({"@context": AS_NS, "id": name, "type": "OrderedCollection"});
        let head = serde_json::to_string(&head)?;
        out.write_all(&head.as_bytes()[..head.len() - 1])?;
        out.write_all(b",\"orderedItems\":[")?;
        let mut after = 0;
        loop {
            let page = ctx
                .db
                .read(|c| portability::list_owner_marks_after(c, bookmarks, after, 1000))?;
            let Some((last, _)) = page.last() else {
                break;
            };
            after = *last;
            for (_, uri) in page {
                if count > 0 {
                    out.write_all(b",")?;
                }
                serde_json::to_writer(&mut *out, &uri)?;
                count += 1;
            }
        }
        out.write_all(b"]}")?;
        Ok(())
    })?;
    Ok(count)
}
