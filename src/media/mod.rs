//! Media files: where uploads and the remote cache live under `data_dir`, and the
//! URLs kith serves them at. Image processing and the cache are in submodules.

use crate::Ctx;
use crate::db::account::Account;
use std::path::PathBuf;

/// The directory of uploaded media.
pub fn media_dir(ctx: &Ctx) -> PathBuf {
    ctx.config.data_dir.join("media")
}

/// The directory of the remote media cache.
pub fn cache_dir(ctx: &Ctx) -> PathBuf {
    ctx.config.data_dir.join("cache")
}

/// The public URL of an uploaded file (a name kith chose).
pub fn local_url(ctx: &Ctx, file_name: &str) -> String {
    format!("{}/media/{file_name}", ctx.config.public_url)
}

/// The account's avatar URL: the uploaded one, or the built-in placeholder.
pub fn avatar_url(ctx: &Ctx, account: &Account) -> String {
    match &account.avatar_path {
        Some(name) => local_url(ctx, name),
        None => format!(
            "{}{}",
            ctx.config.public_url,
            crate::web::assets::url("avatar.png")
        ),
    }
}

/// The account's header URL: the uploaded one, or the built-in placeholder.
pub fn header_url(ctx: &Ctx, account: &Account) -> String {
    match &account.header_path {
        Some(name) => local_url(ctx, name),
        None => format!(
            "{}{}",
            ctx.config.public_url,
            crate::web::assets::url("header.png")
        ),
    }
}
