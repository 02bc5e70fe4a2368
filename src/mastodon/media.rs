//! Media endpoints of the client API: `POST /api/v1/media` and `/api/v2/media`
//! (multipart `file`, `description`, `focus`), `GET`/`PUT`/`DELETE /api/v1/media/:id`,
//! the `MediaAttachment` of an upload, and the avatar and header files of
//! `update_credentials`. Images are processed inside the upload request (CLIENT-API
//! §6), so the answer is 200 with `url` set and a polling client stops at once. The
//! storing itself (sniffing, processing, files) is `crate::media`'s.

use super::{auth, entities, ok, path_id};
use crate::ctx::Ctx;
use crate::db::Conn;
use crate::db::{self, media::Media, posts::Attachment};
use crate::error::{Error, Result};
use crate::http::multipart::{self, Target};
use crate::http::params::Params;
use crate::http::{Req, Resp};
use crate::storage::Scratch;
use serde_json::{Map, Value, json};

/// The longest description (alt text), in characters, as Mastodon allows.
pub const MAX_DESCRIPTION: usize = 1500;

/// The `MediaAttachment` of an upload.
pub fn attachment_json(ctx: &Ctx, conn: &Conn, media_id: i64) -> Result<Value> {
    Ok(entity(ctx, &db::media::get(conn, media_id)?))
}

fn entity(ctx: &Ctx, m: &Media) -> Value {
    let url = crate::media::local_url(ctx, &m.file_name);
    let preview = m
        .thumb_name
        .as_deref()
        .map(|t| crate::media::local_url(ctx, t));
    let a = Attachment {
        id: m.id,
        remote_url: None,
        media_type: m.media_type.clone(),
        description: m.description.clone(),
        blurhash: m.blurhash.clone(),
        width: m.width,
        height: m.height,
        media_id: Some(m.id),
    };
    let mut v =
        entities::media_attachment(m.id, &a, &url, preview.as_deref().unwrap_or(&url), None);
    if preview.is_none() {
        v["preview_url"] = Value::Null;
    }
    if let (Some(w), Some(h)) = (m.width, m.height) {
        let (sw, sh) = crate::media::image::fit(w as u32, h as u32, crate::media::image::THUMB_MAX);
        if m.thumb_name.is_some() && sh > 0 {
            v["meta"]["small"] = json!({
                "width": sw, "height": sh, "size": format!("{sw}x{sh}"),
                "aspect": f64::from(sw) / f64::from(sh),
            });
        }
    }
    if let (Some(x), Some(y)) = (m.focus_x, m.focus_y) {
        v["meta"]["focus"] = json!({"x": x, "y": y});
    }
    v
}

/// An uploaded file borrowed from the request body, with its declared Content-Type.
type FilePart<'a> = (&'a [u8], Option<String>);
/// A description and a focal point, as sent.
type MetaParams = (Option<String>, Option<(f64, f64)>);

/// The uploaded `file` part of a request, borrowed from the body, with the other
/// parameters. A multipart body is parsed here rather than through
/// `Params::from_request`, so the file's bytes are not copied.
fn upload_params(req: &Req) -> Result<(Params, Option<FilePart<'_>>)> {
    let content_type = req.header("content-type").unwrap_or("");
    let Some(boundary) = multipart::boundary(content_type) else {
        return Ok((Params::from_request(req)?, None));
    };
    let mut map = Map::new();
    for (k, v) in req.query_pairs() {
        map.insert(k, Value::String(v));
    }
    let mut file = None;
    for part in multipart::parse(&req.body, &boundary)? {
        if part.filename.is_some() {
            if part.name == "file" && file.is_none() {
                file = Some((part.data, part.content_type));
            }
        } else {
            let text = String::from_utf8_lossy(part.data).into_owned();
            map.insert(part.name, Value::String(text));
        }
    }
    Ok((Params::from_value(Value::Object(map)), file))
}

/// The parameters of a spooled multipart upload, and its `file` part written to a
/// scratch file (None when it is missing or empty) with its declared type.
fn spooled_upload(
    ctx: &Ctx,
    req: &Req,
    body: &std::path::Path,
) -> Result<(Params, Option<Scratch>, Option<String>)> {
    let boundary = multipart::boundary(req.header("content-type").unwrap_or(""))
        .ok_or_else(|| Error::Unprocessable("Validation failed: File can't be blank".into()))?;
    let scratch = Scratch::new(&ctx.config.scratch_dir(), "upload", "")?;
    let mut declared = None;
    let mut seen = false;
    let reader = std::io::BufReader::with_capacity(64 * 1024, std::fs::File::open(body)?);
    let fields = multipart::parse_stream(reader, &boundary, |head| {
        Ok(match (head.name.as_str(), &head.filename) {
            ("file", Some(_)) if !seen => {
                seen = true;
                declared.clone_from(&head.content_type);
                let file = std::fs::File::create_new(scratch.path())?;
                Target::Write(Box::new(std::io::BufWriter::with_capacity(64 * 1024, file)))
            }
            (_, Some(_)) => Target::Skip,
            (_, None) => Target::Keep,
        })
    })?;
    let mut map = Map::new();
    for (k, v) in req.query_pairs() {
        map.insert(k, Value::String(v));
    }
    for (head, value) in fields {
        map.insert(
            head.name,
            Value::String(String::from_utf8_lossy(&value).into_owned()),
        );
    }
    let size = std::fs::metadata(scratch.path()).map_or(0, |m| m.len());
    let part = (seen && size > 0).then_some(scratch);
    Ok((Params::from_value(Value::Object(map)), part, declared))
}

/// The description and focal point of a request, checked.
fn meta_params(p: &Params) -> Result<MetaParams> {
    let description = p.str("description")?;
    if description
        .as_ref()
        .is_some_and(|d| d.chars().count() > MAX_DESCRIPTION)
    {
        return Err(Error::Unprocessable(format!(
            "Validation failed: Description is too long (maximum is {MAX_DESCRIPTION} characters)"
        )));
    }
    let focus = match p.str("focus")?.filter(|f| !f.trim().is_empty()) {
        Some(f) => Some(parse_focus(&f).ok_or_else(|| {
            Error::Unprocessable(
                "Validation failed: focus must be two numbers from -1 to 1, as \"x,y\"".into(),
            )
        })?),
        None => None,
    };
    Ok((description, focus))
}

/// Parses a focal point `"x,y"`, each from -1 to 1.
pub fn parse_focus(s: &str) -> Option<(f64, f64)> {
    let (x, y) = s.split_once(',')?;
    let x: f64 = x.trim().parse().ok()?;
    let y: f64 = y.trim().parse().ok()?;
    let ok = |v: f64| v.is_finite() && (-1.0..=1.0).contains(&v);
    (ok(x) && ok(y)).then_some((x, y))
}

/// `POST /api/v1/media` and `/api/v2/media`: stores and processes the file, answers
/// 200 with the finished `MediaAttachment` (both versions: nothing is deferred).
pub fn upload(ctx: &Ctx, req: &Req, _v2: bool) -> Result<Resp> {
    auth::require(ctx, req, "write:media")?;
    let blank = || Error::Unprocessable("Validation failed: File can't be blank".into());
    let (mut m, description, focus) = if let Some(spooled) = &req.spooled {
        // A large body was spooled to disk; its file part goes to a file of its own
        // as it is read, so no upload is ever whole in memory.
        let (p, part, declared) = spooled_upload(ctx, req, &spooled.path)?;
        let (description, focus) = meta_params(&p)?;
        let part = part.ok_or_else(blank)?;
        let m = crate::media::store_file(ctx, part.path(), declared.as_deref())?;
        (m, description, focus)
    } else {
        let (p, file) = upload_params(req)?;
        let (description, focus) = meta_params(&p)?;
        let (bytes, declared) = file.filter(|(b, _)| !b.is_empty()).ok_or_else(blank)?;
        let m = crate::media::store_upload(ctx, bytes, declared.as_deref())?;
        (m, description, focus)
    };
    m.id = crate::ids::at(m.created_at);
    m.description = description.unwrap_or_default();
    m.focus_x = focus.map(|f| f.0);
    m.focus_y = focus.map(|f| f.1);
    if let Err(e) = ctx.db.write(|tx| db::media::insert(tx, &m)) {
        let mut names = vec![m.file_name.as_str()];
        names.extend(m.thumb_name.as_deref());
        ctx.storage.remove(crate::storage::Area::Uploads, &names);
        return Err(e);
    }
    ok(entity(ctx, &m))
}

/// Routes under `/api/v1/media`.
pub fn route(ctx: &Ctx, req: &Req, method: &str, rest: &[&str]) -> Result<Resp> {
    match (method, rest) {
        ("POST", ["media"]) => upload(ctx, req, false),
        ("GET", ["media", id]) => {
            auth::require(ctx, req, "write:media")?;
            let m = ctx
                .db
                .read(|c| db::media::get_attachment(c, path_id(id)?))?;
            ok(entity(ctx, &m))
        }
        ("PUT", ["media", id]) => update(ctx, req, path_id(id)?),
        ("DELETE", ["media", id]) => delete(ctx, req, path_id(id)?),
        _ => Err(Error::NotFound("Not found".into())),
    }
}

/// An upload not yet attached to a post (what `PUT` and `DELETE` may change).
fn unattached(conn: &Conn, id: i64) -> Result<Media> {
    let m = db::media::get_attachment(conn, id)?;
    if m.post_id.is_some() {
        return Err(Error::NotFound("Record not found".into()));
    }
    Ok(m)
}

/// `PUT /api/v1/media/:id`: description and focal point of an upload not yet posted.
fn update(ctx: &Ctx, req: &Req, id: i64) -> Result<Resp> {
    auth::require(ctx, req, "write:media")?;
    let p = Params::from_request(req)?;
    let (description, focus) = meta_params(&p)?;
    let m = ctx.db.write(|tx| {
        let m = unattached(tx, id)?;
        let description = description.unwrap_or(m.description.clone());
        let focus = focus.or(m.focus_x.zip(m.focus_y));
        db::media::update_meta(tx, id, &description, focus)?;
        db::media::get(tx, id)
    })?;
    ok(entity(ctx, &m))
}

/// `DELETE /api/v1/media/:id`: removes an upload not yet posted, with its files.
fn delete(ctx: &Ctx, req: &Req, id: i64) -> Result<Resp> {
    auth::require(ctx, req, "write:media")?;
    let m = ctx.db.write(|tx| {
        let m = unattached(tx, id)?;
        db::media::delete(tx, id)?;
        Ok(m)
    })?;
    let mut names = vec![m.file_name.as_str()];
    names.extend(m.thumb_name.as_deref());
    ctx.storage.remove(crate::storage::Area::Uploads, &names);
    ok(json!({}))
}

/// Stores an uploaded avatar or header from `update_credentials` (the multipart
/// field named `which`); returns its file name, or `None` when none was sent.
pub fn profile_image(ctx: &Ctx, p: &Params, which: &str) -> Result<Option<String>> {
    let Some((_, _, _, bytes)) = p
        .files
        .iter()
        .find(|(field, _, _, bytes)| field == which && !bytes.is_empty())
    else {
        return Ok(None);
    };
    crate::media::store_profile_image(ctx, bytes, which).map(Some)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn focus_points() {
        assert_eq!(parse_focus("0.5,-0.25"), Some((0.5, -0.25)));
        assert_eq!(parse_focus(" -1 , 1 "), Some((-1.0, 1.0)));
        assert_eq!(parse_focus("1.5,0"), None);
        assert_eq!(parse_focus("NaN,0"), None);
        assert_eq!(parse_focus("0.5"), None);
        assert_eq!(parse_focus("a,b"), None);
    }
}
