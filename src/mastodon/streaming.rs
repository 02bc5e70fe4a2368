//! Streaming (placeholder until the streaming branch lands).

use crate::Ctx;

/// Closes the live streams of a revoked token.
pub fn close_token(_ctx: &Ctx, _token_id: i64) {}

/// Routes under `/api/v1/streaming`.
pub fn route(
    _ctx: &Ctx,
    _req: &crate::http::Req,
    _method: &str,
    _rest: &[&str],
) -> crate::error::Result<crate::http::Resp> {
    Err(crate::error::Error::NotFound("Not found".into()))
}

/// Tells open streams that a post was deleted.
pub fn publish_delete(_ctx: &Ctx, _post_id: i64) {}
