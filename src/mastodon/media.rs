//! Media endpoints of the client API (placeholder until the media branch lands).

use crate::Ctx;
use crate::error::{Error, Result};
use rusqlite::Connection;
use serde_json::Value;

/// The `MediaAttachment` of an upload.
pub fn attachment_json(_ctx: &Ctx, _conn: &Connection, media_id: i64) -> Result<Value> {
    Err(Error::NotFound(format!(
        "media {media_id} is not available yet"
    )))
}

/// `POST /api/v1/media` and `/api/v2/media`.
pub fn upload(_ctx: &Ctx, _req: &crate::http::Req, _v2: bool) -> Result<crate::http::Resp> {
    Err(Error::NotFound("Not found".into()))
}

/// Routes under `/api/v1/media`.
pub fn route(
    _ctx: &Ctx,
    _req: &crate::http::Req,
    _method: &str,
    _rest: &[&str],
) -> Result<crate::http::Resp> {
    Err(Error::NotFound("Not found".into()))
}

/// Stores an uploaded avatar or header from `update_credentials`; returns its file name.
pub fn profile_image(
    _ctx: &Ctx,
    _p: &super::params::Params,
    _which: &str,
) -> Result<Option<String>> {
    Ok(None)
}
