//! Instance information: `/api/v1/instance`, `/api/v2/instance`, peers and the owner's
//! preferences. The version string follows Mastodon 4.3 so client libraries pick the
//! right code paths (`4.3.0 (compatible; kith X.Y.Z)`).

use super::{auth, ok, views};
use crate::ctx::Ctx;
use crate::db;
use crate::error::Result;
use crate::http::{Req, Resp};
use serde_json::{Value, json};

/// The advertised version.
pub fn version() -> String {
    format!(
        "{} (compatible; kith {})",
        crate::MASTODON_API_VERSION,
        env!("CARGO_PKG_VERSION")
    )
}

fn configuration(ctx: &Ctx) -> Value {
    let types: Vec<&str> = crate::media::sniff::uploadable()
        .map(|s| s.media_type)
        .collect();
    // One cap for every upload: `[limits] upload_max_bytes`.
    let max_bytes = ctx.config.limits.upload_max_bytes;
    json!({
        "urls": {},
        "accounts": {"max_featured_tags": super::tags::MAX_FEATURED, "max_pinned_statuses": 5},
        "statuses": {
            "max_characters": crate::process::posts::MAX_CHARS,
            "max_media_attachments": 4,
            "characters_reserved_per_url": 23
        },
        "media_attachments": {
            "supported_mime_types": types,
            "image_size_limit": max_bytes,
            "image_matrix_limit": crate::media::image::MAX_PIXELS,
            "video_size_limit": max_bytes,
            "video_frame_rate_limit": 120,
            "video_matrix_limit": 8_294_400,
            "description_limit": 1500
        },
        "polls": {
            "max_options": crate::process::posts::MAX_POLL_OPTIONS,
            "max_characters_per_option": 50,
            "min_expiration": 300,
            "max_expiration": 2_629_746
        },
        "translation": {"enabled": false}
    })
}

fn contact_account(ctx: &Ctx) -> Result<Value> {
    ctx.db.read(|c| views::local_account(ctx, c))
}

fn streaming_url(ctx: &Ctx) -> String {
    ctx.config
        .public_url
        .replacen("https://", "wss://", 1)
        .replacen("http://", "ws://", 1)
}

/// `GET /api/v1/instance`.
pub fn v1(ctx: &Ctx) -> Result<Resp> {
    let account = ctx.db.read(db::account::get)?;
    let posts = ctx.db.read(db::posts::count_local)?;
    let domains = ctx.db.read(db::actors::list_domains)?.len();
    let mut conf = configuration(ctx);
    conf["urls"] = json!({"streaming": streaming_url(ctx)});
    ok(json!({
        "uri": ctx.config.domain,
        "title": title(&account),
        "short_description": format!("The home of @{}@{}", account.username, ctx.config.domain),
        "description": account.note_html,
        "email": "",
        "version": version(),
        "urls": {"streaming_api": streaming_url(ctx)},
        "vapid_key": crate::push::vapid::public_key_b64(ctx)?,
        "stats": {"user_count": 1, "status_count": posts, "domain_count": domains},
        "thumbnail": views::static_url(ctx, "header.png"),
        "languages": ["en"],
        "registrations": false,
        "approval_required": false,
        "invites_enabled": false,
        "configuration": conf,
        "contact_account": contact_account(ctx)?,
        "rules": [],
    }))
}

fn title(account: &db::account::Account) -> String {
    if account.display_name.is_empty() {
        account.username.clone()
    } else {
        account.display_name.clone()
    }
}

/// `GET /api/v2/instance`.
pub fn v2(ctx: &Ctx) -> Result<Resp> {
    let account = ctx.db.read(db::account::get)?;
    let mut conf = configuration(ctx);
    conf["urls"] = json!({"streaming": streaming_url(ctx), "status": null});
    conf["vapid"] = json!({"public_key": crate::push::vapid::public_key_b64(ctx)?});
    ok(json!({
        "domain": ctx.config.domain,
        "title": title(&account),
        "version": version(),
        "source_url": "",
        "description": format!("The home of @{}@{}", account.username, ctx.config.domain),
        "usage": {"users": {"active_month": 1}},
        "thumbnail": {"url": views::static_url(ctx, "header.png"), "blurhash": null, "versions": {}},
        "icon": [],
        "languages": ["en"],
        "configuration": conf,
        "registrations": {"enabled": false, "approval_required": false, "message": null, "url": null},
        "api_versions": {"mastodon": 2},
        "contact": {"email": "", "account": contact_account(ctx)?},
        "rules": [],
    }))
}

/// `GET /api/v1/instance/peers`.
pub fn peers(ctx: &Ctx) -> Result<Resp> {
    let domains = ctx.db.read(db::actors::list_domains)?;
    ok(json!(domains))
}

/// `GET /api/v1/preferences`.
pub fn preferences(ctx: &Ctx, req: &Req) -> Result<Resp> {
    auth::require(ctx, req, "read:accounts")?;
    ok(json!({
        "posting:default:visibility": "public",
        "posting:default:sensitive": false,
        "posting:default:language": null,
        "reading:expand:media": "default",
        "reading:expand:spoilers": false,
    }))
}

/// The texts of `/api/v1/instance/extended_description`, `privacy_policy` and
/// `terms_of_service`: the `[instance]` keys, sanitized, or kith's defaults.
pub fn text(ctx: &Ctx, which: &str) -> Result<Value> {
    let configured = match which {
        "extended_description" => ctx.config.instance.extended_description.as_deref(),
        "privacy_policy" => ctx.config.instance.privacy_policy.as_deref(),
        _ => ctx.config.instance.terms_of_service.as_deref(),
    };
    let content = match configured {
        Some(html) => crate::text::sanitize_html(html, crate::text::MAX_CONTENT_BYTES),
        None => default_text(ctx, which),
    };
    let since = ctx.db.read(db::account::get)?.created_at;
    Ok(match which {
        "terms_of_service" => json!({
            "effective_date": crate::dates::date_only(since),
            "effective": true,
            "content": content,
            "succeeded_by": null,
        }),
        _ => json!({"updated_at": crate::dates::mastodon(since), "content": content}),
    })
}

fn default_text(ctx: &Ctx, which: &str) -> String {
    let owner = format!("@{}@{}", ctx.config.username, ctx.config.domain);
    match which {
        "extended_description" => format!(
            "<p>This server is the home of one account, {owner}, on the Fediverse. It runs kith.</p>"
        ),
        "privacy_policy" => format!(
            "<p>This server keeps the posts, follows and profile of {owner}, and copies of what other servers send it \
             (posts, profiles, likes and boosts addressed to this account), to show them to its owner. Posts are \
             sent to the servers of the people they are addressed to. Nothing is shared with anyone else.</p>"
        ),
        _ => format!("<p>This server has no terms beyond the judgement of its owner, {owner}.</p>"),
    }
}
