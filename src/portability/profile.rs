//! The profile in an archive's `actor.json`: display name (`name`), bio (`summary`,
//! sanitised like any remote HTML), profile fields (`attachment` items of type
//! `PropertyValue`), avatar (`icon`) and header (`image`), the last two files inside
//! the archive (`avatar.png`, `header.jpg` in a Mastodon export), processed exactly
//! like profile images uploaded in the settings (`media::profile_image`).
//!
//! Policy: only what is still unset on kith is filled (an empty display name, bio or
//! field list, no avatar or header); what the person set is kept, unless the import
//! was asked to overwrite (`--overwrite-profile`), and nothing the archive lacks is
//! cleared. A change is announced to followers with `Update(Person)`, as the settings
//! page does. Importing the same archive again changes nothing: equal values are not
//! written, and a picture whose processed bytes equal the current file's is not stored
//! again. An avatar or header that cannot be used is reported and left out. No SQL
//! here; storage is `db::account`'s.

use super::archive::Archive;
use super::import::{Options, Report};
use crate::ctx::Ctx;
use crate::db::{self, account::Profile};
use crate::error::{Error, Result};
use crate::text;
use serde_json::{Value, json};

/// The most profile fields kept (as Mastodon and kith's settings allow).
const MAX_FIELDS: usize = 4;
/// The longest display name, in characters (as kith's settings allow).
const MAX_NAME: usize = 30;
/// The longest path or URL of an avatar or header taken from `actor.json`.
const MAX_URL: usize = 2048;

/// What `actor.json` says about the profile, cleaned; `None` where it says nothing.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ArchivedProfile {
    pub display_name: Option<String>,
    pub note_html: Option<String>,
    /// The fields as kith stores them (`name`, `value`, `value_html`), as JSON.
    pub fields_json: Option<String>,
    /// Where the avatar and header are in the archive (a path, or a URL whose path is one).
    pub avatar: Option<String>,
    pub header: Option<String>,
}

/// Reads the profile of an `actor.json` document. Pure; unusable parts are left out.
pub fn parse(doc: &Value) -> ArchivedProfile {
    let display_name = text::clean_plain(string(doc, "name"), MAX_NAME);
    let note_html = text::sanitize_html(string(doc, "summary"), text::MAX_BIO_BYTES);
    let fields: Vec<Value> = match doc.get("attachment") {
        Some(Value::Array(items)) => items.iter().collect(),
        Some(one @ Value::Object(_)) => vec![one],
        _ => Vec::new(),
    }
    .into_iter()
    .filter(|f| string(f, "type") == "PropertyValue")
    .filter_map(|f| {
        let name = text::clean_plain(string(f, "name"), text::MAX_FIELD_NAME_CHARS);
        let value_html = text::sanitize_html(string(f, "value"), text::MAX_FIELD_VALUE_BYTES);
        let value = text::html_to_text(&value_html);
        (!name.is_empty()).then(|| json!({"name": name, "value": value, "value_html": value_html}))
    })
    .take(MAX_FIELDS)
    .collect();
    ArchivedProfile {
        display_name: Some(display_name).filter(|s| !s.is_empty()),
        note_html: Some(note_html).filter(|s| !text::html_to_text(s).trim().is_empty()),
        fields_json: (!fields.is_empty()).then(|| Value::Array(fields).to_string()),
        avatar: image_path(doc, "icon"),
        header: image_path(doc, "image"),
    }
}

/// The string at `key`, or "".
fn string<'a>(v: &'a Value, key: &str) -> &'a str {
    v.get(key).and_then(Value::as_str).unwrap_or("")
}

/// The `url` of an `icon` or `image`: an `Image` object (or a list of them) or a string.
fn image_path(doc: &Value, key: &str) -> Option<String> {
    let v = match doc.get(key)? {
        Value::Array(list) => list.first()?,
        other => other,
    };
    let url = match v {
        Value::String(s) => s.as_str(),
        Value::Object(_) => match v.get("url")? {
            Value::String(s) => s.as_str(),
            link => link.get("href")?.as_str()?,
        },
        _ => return None,
    };
    (!url.is_empty() && url.len() <= MAX_URL).then(|| url.to_string())
}

/// Checks the avatar and header paths like media paths: an unsafe one refuses the archive.
pub fn check(archive: &Archive, profile: &ArchivedProfile) -> Result<()> {
    for url in [&profile.avatar, &profile.header].into_iter().flatten() {
        archive.media(url)?;
    }
    Ok(())
}

/// One sentence about the profile for the import summary ("" when there is nothing to say).
pub fn summary(set: &[String], kept: &[String]) -> String {
    let mut out = String::new();
    if !set.is_empty() {
        out.push_str(&format!(
            " Profile: set {} from the archive.",
            set.join(", ")
        ));
    }
    if !kept.is_empty() {
        out.push_str(&format!(
            " Profile: kept the {} already set on kith (--overwrite-profile replaces them).",
            kept.join(", ")
        ));
    }
    out
}

/// What to do with one part of the profile, given kith's value and the archive's.
fn decide(unset: bool, same: bool, overwrite: bool) -> Decision {
    if same {
        Decision::Same
    } else if unset || overwrite {
        Decision::Set
    } else {
        Decision::Keep
    }
}

#[derive(Debug, PartialEq)]
enum Decision {
    Same,
    Set,
    Keep,
}

/// Notes a decision in the report; whether to set the part.
fn record(report: &mut Report, what: &str, decision: Decision) -> bool {
    match decision {
        Decision::Same => false,
        Decision::Set => {
            report.profile_set.push(what.into());
            true
        }
        Decision::Keep => {
            report.profile_kept.push(what.into());
            false
        }
    }
}

/// Fills the profile from the archive (see the policy above); sends `Update(Person)`
/// when anything changed.
pub fn import(
    ctx: &Ctx,
    archive: &Archive,
    archived: &ArchivedProfile,
    opts: &Options,
    report: &mut Report,
) -> Result<()> {
    let account = ctx.db.read(db::account::get)?;
    let overwrite = opts.overwrite_profile;
    let mut profile = Profile::of(&account);
    if let Some(name) = &archived.display_name {
        let current = &account.display_name;
        if record(
            report,
            "display name",
            decide(current.is_empty(), current == name, overwrite),
        ) {
            profile.display_name = name.clone();
        }
    }
    if let Some(html) = &archived.note_html {
        let current = &account.note_html;
        if record(
            report,
            "bio",
            decide(current.is_empty(), current == html, overwrite),
        ) {
            profile.note_html = html.clone();
            profile.note_source = text::html_to_text(html);
        }
    }
    if let Some(fields) = &archived.fields_json {
        let current: Vec<Value> = serde_json::from_str(&account.fields_json).unwrap_or_default();
        let same = serde_json::from_str::<Vec<Value>>(fields).is_ok_and(|f| f == current);
        if record(
            report,
            "fields",
            decide(current.is_empty(), same, overwrite),
        ) {
            profile.fields_json = fields.clone();
        }
    }
    let mut images = Vec::new();
    for (which, path, current) in [
        ("avatar", &archived.avatar, account.avatar_path.as_deref()),
        ("header", &archived.header, account.header_path.as_deref()),
    ] {
        let Some(path) = path else {
            continue;
        };
        let Some(encoded) = picture(archive, which, path, opts, report)? else {
            continue;
        };
        let same = current.is_some_and(|name| {
            ctx.storage
                .read(
                    crate::storage::Area::Uploads,
                    name,
                    crate::media::IMAGE_MAX_BYTES as u64,
                )
                .is_ok_and(|bytes| bytes.is_some_and(|b| b == encoded.bytes))
        });
        if record(report, which, decide(current.is_none(), same, overwrite)) {
            images.push((
                which,
                crate::media::save_profile_image(ctx, &encoded, which)?,
            ));
        }
    }
    let changed_profile = profile.display_name != account.display_name
        || profile.note_html != account.note_html
        || profile.fields_json != account.fields_json;
    if !changed_profile && images.is_empty() {
        return Ok(());
    }
    let now = db::now_ms();
    ctx.db.write(|tx| {
        if changed_profile {
            db::account::update_profile(tx, &profile, now)?;
        }
        for (which, name) in &images {
            db::account::update_image(tx, which, Some(name), now)?;
        }
        Ok(())
    })?;
    crate::process::update_profile(ctx)
}

/// The archive's avatar or header, processed; `None` (reported) when it is missing or
/// cannot be used.
fn picture(
    archive: &Archive,
    which: &str,
    path: &str,
    opts: &Options,
    report: &mut Report,
) -> Result<Option<crate::media::image::Encoded>> {
    let left_out = |why: &str| format!("the {which} {path} was left out: {why}");
    let Some(entry) = archive.media(path)? else {
        report.problem(left_out("the file is not in the archive"), opts.progress);
        return Ok(None);
    };
    let processed = crate::media::read_image_file(&entry.path)
        .and_then(|bytes| crate::media::profile_image(&bytes, which));
    match processed {
        Ok(encoded) => Ok(Some(encoded)),
        Err(
            e @ (Error::Status(..) | Error::Unprocessable(_) | Error::Gone(_) | Error::Conflict(_)),
        ) => {
            report.problem(left_out(&e.public_message()), opts.progress);
            Ok(None)
        }
        Err(e) => Err(e),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_mastodon_actor_gives_its_profile() {
        let doc = json!({
            "id": "https://old.example/users/alice",
            "name": "Alice\u{202e} in\nWonderland",
            "summary": "<p>Hi <script>alert(1)</script><a href=\"javascript:x\">there</a></p>",
            "attachment": [
                {"type": "PropertyValue", "name": "Site", "value": "<a href=\"https://alice.example\" rel=\"me\">alice.example</a>"},
                {"type": "PropertyValue", "name": "", "value": "nameless"},
                {"type": "IdentityProof", "name": "x", "value": "y"},
            ],
            "icon": {"type": "Image", "mediaType": "image/png", "url": "avatar.png"},
            "image": [{"type": "Image", "url": {"type": "Link", "href": "header.jpg"}}],
        });
        let p = parse(&doc);
        assert_eq!(p.display_name.as_deref(), Some("Alice in Wonderland"));
        let bio = p.note_html.unwrap();
        assert!(bio.contains("Hi") && !bio.contains("script") && !bio.contains("javascript"));
        let fields: Vec<Value> = serde_json::from_str(&p.fields_json.unwrap()).unwrap();
        assert_eq!(fields.len(), 1);
        assert_eq!(fields[0]["name"], "Site");
        assert_eq!(fields[0]["value"], "alice.example");
        assert!(
            fields[0]["value_html"]
                .as_str()
                .unwrap()
                .contains("https://alice.example")
        );
        assert_eq!(p.avatar.as_deref(), Some("avatar.png"));
        assert_eq!(p.header.as_deref(), Some("header.jpg"));
    }

    #[test]
    fn an_empty_actor_gives_nothing_to_set() {
        let p = parse(&json!({"name": "  ", "summary": "<p></p>", "attachment": [], "icon": null}));
        assert_eq!(p, ArchivedProfile::default());
    }

    #[test]
    fn set_only_what_is_unset_unless_overwriting() {
        assert_eq!(decide(true, false, false), Decision::Set);
        assert_eq!(decide(false, false, false), Decision::Keep);
        assert_eq!(decide(false, false, true), Decision::Set);
        assert_eq!(decide(false, true, true), Decision::Same);
        assert_eq!(
            summary(&["bio".into()], &["avatar".into(), "header".into()]),
            " Profile: set bio from the archive. Profile: kept the avatar, header already set on kith (--overwrite-profile replaces them)."
        );
        assert_eq!(summary(&[], &[]), "");
    }
}
