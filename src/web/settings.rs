//! The owner's settings page: the profile (name, bio, up to four fields, locked,
//! discoverable, bot), account aliases (`alsoKnownAs`, for moving here from another
//! server), moving away (`moving.rs`) and the password. Saving the profile or aliases
//! sends `Update(Person)` to followers. The password change counts failures against
//! the login rate limit.

use super::render::hidden;
use super::session::{self, Viewer};
use crate::auth::{check_login_limits, password_ok, record_failed_login};
use crate::ctx::Ctx;
use crate::db::{self, account::Account};
use crate::error::{Error, Result};
use crate::http::params::Params;
use crate::http::{Req, Resp};
use crate::process;
use maud::{Markup, html};
use serde_json::{Value, json};

/// Profile fields the form offers.
const FIELDS: usize = 4;
/// Longest display name, in characters.
const MAX_NAME: usize = 30;
/// Longest bio, in characters.
const MAX_BIO: usize = 500;
/// Most aliases kept.
const MAX_ALIASES: usize = 10;

/// A message above the forms: `Ok` for a notice, `Err` for a refusal.
pub type Notice = std::result::Result<String, String>;

fn saved_notice(req: &Req) -> Option<Notice> {
    match req.query_param("saved").as_deref() {
        Some("profile") => Some(Ok("Profile saved and sent to your followers.".into())),
        Some("remove_image") => Some(Ok("Image removed; your followers see the change.".into())),
        Some("aliases") => Some(Ok("Aliases saved.".into())),
        Some("time_zone") => Some(Ok("Time zone saved.".into())),
        Some("moved") => Some(Ok(
            "Moved. Your followers' servers are being told to follow the new account.".into(),
        )),
        Some("password") => Some(Ok(
            "Password changed. Other sessions were logged out.".into()
        )),
        _ => None,
    }
}

/// The settings sub-navigation.
pub fn tabs(current: &str) -> Markup {
    let tabs = [
        ("/settings", "Profile and account"),
        ("/settings/moderation", "Blocks and mutes"),
        ("/settings/apps", "Apps"),
        ("/settings/data", "Import and export"),
        ("/settings/doctor", "Health"),
        ("/bookmarks", "Bookmarks"),
    ];
    html! {
        nav.tabs aria-label="Settings" {
            @for (href, label) in tabs {
                a href=(href) aria-current=[(href == current).then_some("page")] { (label) }
            }
        }
    }
}

/// `GET /settings`, also re-shown with a refusal after a failed save.
pub fn show(ctx: &Ctx, req: &Req, viewer: &Viewer, notice: Option<Notice>) -> Result<Resp> {
    let account = ctx.db.read(db::account::get)?;
    let notice = notice.or_else(|| saved_notice(req));
    let status = if matches!(notice, Some(Err(_))) {
        422
    } else {
        200
    };
    let body = html! {
        h1 { "Settings" }
        (tabs("/settings"))
        @match &notice {
            Some(Ok(m)) => p.notice role="status" { (m) },
            Some(Err(m)) => p.error role="alert" { (m) },
            None => {},
        }
        (profile_form(ctx, viewer, &account))
        (time_zone_form(viewer, &account))
        (aliases_form(ctx, viewer, &account))
        (super::moving::section(viewer, &account))
        (password_form(viewer))
    };
    Ok(super::layout::respond(
        status,
        super::layout::frame(Some(viewer), "Settings", html! {}, body),
    ))
}

/// The current avatar or header (`which`) with a button that removes it; the
/// placeholder and no button when none is set.
fn current_image(ctx: &Ctx, viewer: &Viewer, account: &Account, which: &str) -> Markup {
    let (set, url, label) = if which == "avatar" {
        (
            account.avatar_path.is_some(),
            crate::media::avatar_url(ctx, account),
            "avatar",
        )
    } else {
        (
            account.header_path.is_some(),
            crate::media::header_url(ctx, account),
            "header image",
        )
    };
    html! {
        figure.current-image {
            img.{"current-" (which)} src=(super::render::media_src(ctx, &url))
                alt=(format!("Current {label}"));
            figcaption {
                @if set {
                    form.inline method="post" action="/settings/remove_image" {
                        (hidden(viewer, "/settings"))
                        input type="hidden" name="which" value=(which);
                        button type="submit" { "Remove " (label) }
                    }
                } @else {
                    "No " (label) " set"
                }
            }
        }
    }
}

fn profile_form(ctx: &Ctx, viewer: &Viewer, account: &Account) -> Markup {
    let fields: Vec<Value> = serde_json::from_str(&account.fields_json).unwrap_or_default();
    html! {
        section aria-labelledby="profile-h" {
            h2 #profile-h { "Profile" }
            div.current-images {
                (current_image(ctx, viewer, account, "avatar"))
                (current_image(ctx, viewer, account, "header"))
            }
            form.settings method="post" action="/settings/profile" enctype="multipart/form-data" {
                (hidden(viewer, "/settings"))
                label for="display_name" { "Display name" }
                input #display_name type="text" name="display_name" value=(account.display_name) maxlength=(MAX_NAME);
                label for="note" { "Bio" }
                textarea #note name="note" rows="4" maxlength=(MAX_BIO) { (account.note_source) }
                div.images {
                    label for="avatar" { "Avatar " span.optional { "(JPEG, PNG, GIF or WebP; square works best)" } }
                    input #avatar type="file" name="avatar" accept="image/jpeg,image/png,image/gif,image/webp";
                    label for="header" { "Header image " span.optional { "(3:1 works best)" } }
                    input #header type="file" name="header" accept="image/jpeg,image/png,image/gif,image/webp";
                }
                fieldset {
                    legend { "Profile fields (links here get rel=\"me\", for verification)" }
                    @for i in 0..FIELDS {
                        @let f = fields.get(i);
                        div.field-pair {
                            label for=(format!("field_name_{i}")) { "Label " (i + 1) }
                            input id=(format!("field_name_{i}")) type="text" name=(format!("field_name_{i}")) maxlength="255"
                                value=(f.and_then(|f| f["name"].as_str()).unwrap_or_default());
                            label for=(format!("field_value_{i}")) { "Content " (i + 1) }
                            input id=(format!("field_value_{i}")) type="text" name=(format!("field_value_{i}")) maxlength="255"
                                value=(f.and_then(|f| f["value"].as_str()).unwrap_or_default());
                        }
                    }
                }
                div.check {
                    input #locked type="checkbox" name="locked" value="1" checked[account.locked];
                    label for="locked" { "Approve followers by hand (locked account)" }
                }
                div.check {
                    input #discoverable type="checkbox" name="discoverable" value="1" checked[account.discoverable];
                    label for="discoverable" { "Discoverable: may be suggested and listed in directories" }
                }
                div.check {
                    input #bot type="checkbox" name="bot" value="1" checked[account.bot];
                    label for="bot" { "This is an automated account" }
                }
                button type="submit" { "Save profile" }
            }
        }
    }
}

/// The offsets from UTC the time zone setting offers, in minutes: every whole hour
/// from UTC-12 to UTC+14 and the half and quarter hours in use somewhere.
const OFFSETS: &[i64] = &[
    -720, -660, -600, -570, -540, -480, -420, -360, -300, -240, -210, -180, -120, -60, 0, 60, 120,
    180, 210, 240, 270, 300, 330, 345, 360, 390, 420, 480, 525, 540, 570, 600, 630, 660, 720, 765,
    780, 840,
];

fn time_zone_form(viewer: &Viewer, account: &Account) -> Markup {
    html! {
        section aria-labelledby="time-zone-h" {
            h2 #time-zone-h { "Time zone" }
            form.settings method="post" action="/settings/time_zone" {
                (hidden(viewer, "/settings"))
                label for="time_offset" { "Times on these pages are shown in" }
                select #time_offset name="time_offset" {
                    @for m in OFFSETS {
                        option value=(m) selected[*m == account.time_offset_minutes] {
                            (crate::dates::offset_label(*m))
                        }
                    }
                }
                p.hint { "An offset from UTC: change it when your clocks change for summer time." }
                button type="submit" { "Save time zone" }
            }
        }
    }
}

fn aliases_form(ctx: &Ctx, viewer: &Viewer, account: &Account) -> Markup {
    let aliases: Vec<String> = serde_json::from_str(&account.also_known_as).unwrap_or_default();
    html! {
        section aria-labelledby="aliases-h" {
            h2 #aliases-h { "Moving here from another account" }
            p.hint {
                "To move followers from an old account to @" (ctx.config.username) "@" (ctx.config.domain)
                ", list the old account here first (as @user@host or its URL), then start the move on the old server."
            }
            form.settings method="post" action="/settings/aliases" {
                (hidden(viewer, "/settings"))
                label for="aliases" { "Account aliases, one per line" }
                textarea #aliases name="aliases" rows="3" spellcheck="false" { (aliases.join("\n")) }
                button type="submit" { "Save aliases" }
            }
        }
    }
}

fn password_form(viewer: &Viewer) -> Markup {
    html! {
        section aria-labelledby="password-h" {
            h2 #password-h { "Password" }
            form.settings method="post" action="/settings/password" {
                (hidden(viewer, "/settings"))
                label for="current" { "Current password" }
                input #current type="password" name="current" autocomplete="current-password" required;
                label for="new" { "New password (at least " (crate::password::MIN_LEN) " characters)" }
                input #new type="password" name="new" autocomplete="new-password" required
                    minlength=(crate::password::MIN_LEN);
                label for="confirm" { "New password again" }
                input #confirm type="password" name="confirm" autocomplete="new-password" required;
                button type="submit" { "Change password" }
            }
        }
    }
}

/// `POST /settings/:section`.
pub fn submit(ctx: &Ctx, req: &Req, viewer: &Viewer, p: &Params, section: &str) -> Result<Resp> {
    let outcome = match section {
        "profile" => save_profile(ctx, p),
        "aliases" => save_aliases(ctx, p),
        "remove_image" => remove_image(ctx, p),
        "time_zone" => save_time_zone(ctx, p),
        "password" => return change_password(ctx, req, viewer, p),
        "domain_blocks" => return super::moderation::add_domain_block(ctx, p),
        _ => return Err(Error::NotFound("Not found".into())),
    };
    match outcome {
        Ok(()) => Ok(Resp::redirect(303, &format!("/settings?saved={section}"))),
        Err(
            e @ (Error::Status(..)
            | Error::Unprocessable(_)
            | Error::Gone(_)
            | Error::Conflict(_)
            | Error::NotFound(_)
            | Error::BadRequest(_)
            | Error::Network { .. }
            | Error::PrivateAddress(_)),
        ) => show(ctx, req, viewer, Some(Err(e.public_message()))),
        Err(e) => Err(e),
    }
}

fn invalid(m: &str) -> Error {
    Error::Unprocessable(m.to_string())
}

fn save_profile(ctx: &Ctx, p: &Params) -> Result<()> {
    let name = p.str("display_name")?.unwrap_or_default();
    if name.chars().count() > MAX_NAME {
        return Err(invalid("The display name is longer than 30 characters"));
    }
    let note = p.str("note")?.unwrap_or_default();
    if note.chars().count() > MAX_BIO {
        return Err(invalid("The bio is longer than 500 characters"));
    }
    let tag_base = format!("{}/tags", ctx.config.public_url);
    let mut fields = Vec::new();
    for i in 0..FIELDS {
        let name =
            crate::text::clean_plain(&p.str(&format!("field_name_{i}"))?.unwrap_or_default(), 255);
        let value: String = p
            .str(&format!("field_value_{i}"))?
            .unwrap_or_default()
            .trim()
            .chars()
            .take(255)
            .collect();
        if !name.is_empty() {
            let html = crate::text::render_plain(&value, &[], &tag_base);
            fields.push(json!({"name": name, "value": value, "value_html": html}));
        }
    }
    let profile = db::account::Profile {
        display_name: crate::text::clean_plain(&name, MAX_NAME),
        note_html: crate::text::render_plain(&note, &[], &tag_base),
        note_source: note,
        locked: p.str("locked")?.is_some(),
        bot: p.str("bot")?.is_some(),
        discoverable: p.str("discoverable")?.is_some(),
        fields_json: Value::Array(fields).to_string(),
    };
    // The pictures are checked and stored before anything changes, so a bad one
    // leaves the whole profile as it was.
    let avatar = uploaded_image(ctx, p, "avatar")?;
    let header = uploaded_image(ctx, p, "header")?;
    let now = db::now_ms();
    ctx.db.write(|tx| {
        db::account::update_profile(tx, &profile, now)?;
        for (which, name) in [("avatar", &avatar), ("header", &header)] {
            if let Some(name) = name {
                db::account::update_image(tx, which, Some(name), now)?;
            }
        }
        Ok(())
    })?;
    process::update_profile(ctx)
}

/// The avatar or header file chosen in the form (`which`), processed and stored the
/// same way as through the API; `None` when the file input was left empty.
fn uploaded_image(ctx: &Ctx, p: &Params, which: &str) -> Result<Option<String>> {
    let Some((_, _, _, bytes)) = p
        .files
        .iter()
        .find(|(field, _, _, bytes)| field == which && !bytes.is_empty())
    else {
        return Ok(None);
    };
    let label = if which == "avatar" {
        "avatar"
    } else {
        "header image"
    };
    crate::media::store_profile_image(ctx, bytes, which)
        .map(Some)
        .map_err(|e| match e {
            Error::Unprocessable(_) | Error::Status(..) | Error::BadRequest(_) => invalid(
                &format!("The {label} was not saved: {}", e.public_message()),
            ),
            other => other,
        })
}

/// `POST /settings/time_zone`: one of [`OFFSETS`].
fn save_time_zone(ctx: &Ctx, p: &Params) -> Result<()> {
    let minutes = p
        .str("time_offset")?
        .and_then(|m| m.trim().parse::<i64>().ok())
        .filter(|m| OFFSETS.contains(m))
        .ok_or_else(|| invalid("Choose a time zone from the list"))?;
    let now = db::now_ms();
    ctx.db
        .write(|tx| db::account::update_time_offset(tx, minutes, now))
}

/// `POST /settings/remove_image`: goes back to the placeholder avatar or header.
fn remove_image(ctx: &Ctx, p: &Params) -> Result<()> {
    let which = p.str("which")?.unwrap_or_default();
    if which != "avatar" && which != "header" {
        return Err(invalid("Say which image to remove: avatar or header"));
    }
    let now = db::now_ms();
    ctx.db
        .write(|tx| db::account::update_image(tx, &which, None, now))?;
    process::update_profile(ctx)
}

fn save_aliases(ctx: &Ctx, p: &Params) -> Result<()> {
    let text = p.str("aliases")?.unwrap_or_default();
    let wanted: Vec<&str> = text
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect();
    if wanted.len() > MAX_ALIASES {
        return Err(invalid("At most 10 aliases"));
    }
    // Network look-ups first, with no lock held.
    let mut uris: Vec<String> = Vec::new();
    for alias in wanted {
        let actor = crate::ap::resolve::by_url_or_handle(ctx, alias)
            .map_err(|e| invalid(&format!("{alias}: {}", e.public_message())))?;
        if !uris.contains(&actor.uri) {
            uris.push(actor.uri);
        }
    }
    let now = db::now_ms();
    let json = serde_json::to_string(&uris)?;
    ctx.db
        .write(|tx| db::account::update_aliases(tx, &json, now))?;
    process::update_profile(ctx)
}

fn change_password(ctx: &Ctx, req: &Req, viewer: &Viewer, p: &Params) -> Result<Resp> {
    check_login_limits(ctx, req)?;
    let refuse = |m: &str| show(ctx, req, viewer, Some(Err(m.to_string())));
    if !password_ok(ctx, &p.str("current")?.unwrap_or_default())? {
        record_failed_login(ctx, req);
        return refuse("The current password is not right.");
    }
    let new = p.str("new")?.unwrap_or_default();
    if new != p.str("confirm")?.unwrap_or_default() {
        return refuse("The two new passwords differ.");
    }
    let hash = match crate::password::hash(&new) {
        Ok(h) => h,
        Err(
            e @ (Error::Status(..) | Error::Unprocessable(_) | Error::Gone(_) | Error::Conflict(_)),
        ) => return refuse(&e.public_message()),
        Err(e) => return Err(e),
    };
    let now = db::now_ms();
    ctx.db
        .write(|tx| db::account::update_password_hash(tx, &hash, now))?;
    session::end_others(ctx, viewer)?;
    Ok(Resp::redirect(303, "/settings?saved=password"))
}
