//! The attachments of an archive's posts: reading an item's `attachment` list (the
//! file's path in the archive, its description, focal point and the sizes the archive
//! gives), and storing each file exactly as an upload is stored
//! (`media::store_file`: pictures re-processed one at a time — upright, metadata
//! stripped, thumbnail, blurhash — video and audio streamed to disk). A file that is
//! missing or cannot be stored (an unknown type, a corrupt picture, over a limit) is
//! reported, naming the file and the post, and left out; only a failure of the disk
//! or the database stops the import. No SQL here: the rows are written by `import`.

use super::archive::Archive;
use super::import::{Options, Report};
use crate::ap::resolve::id_of;
use crate::ctx::Ctx;
use crate::db::media::Media;
use crate::error::{Error, Result};
use serde_json::Value;

/// The most attachments read from one post.
const MAX_ATTACHMENTS: usize = 16;
/// The longest description (alt text), in characters, as Mastodon allows.
const MAX_DESCRIPTION: usize = 1500;

/// One attachment of an archived post.
#[derive(Debug, Clone)]
pub struct ArchivedMedia {
    /// Where the file is: a path in the archive, or a URL whose path is one.
    pub url: String,
    /// The `mediaType` the archive gives (it only tells audio from video in Ogg and WebM).
    pub media_type: Option<String>,
    pub description: String,
    pub blurhash: Option<String>,
    pub width: Option<i64>,
    pub height: Option<i64>,
    pub focus: Option<(f64, f64)>,
}

impl ArchivedMedia {
    /// The row of this attachment once its file is stored: what processing measured,
    /// and the archive's description and focal point. For video and audio, which kith
    /// does not measure, the archive's sizes and blurhash are kept.
    pub fn row(&self, stored: &Media) -> Media {
        Media {
            // Attached once the post exists.
            post_id: None,
            description: self.description.clone(),
            focus_x: self.focus.map(|f| f.0),
            focus_y: self.focus.map(|f| f.1),
            blurhash: stored.blurhash.clone().or_else(|| self.blurhash.clone()),
            width: stored.width.or(self.width),
            height: stored.height.or(self.height),
            ..stored.clone()
        }
    }
}

/// The attachments of an archived note: their file path in the archive and metadata.
pub fn parse(object: &Value) -> Result<Vec<ArchivedMedia>> {
    let list: Vec<&Value> = match object.get("attachment") {
        Some(Value::Array(items)) => items.iter().collect(),
        Some(one @ Value::Object(_)) => vec![one],
        _ => Vec::new(),
    };
    let text = |v: &Value, key: &str, max: usize| {
        crate::text::clean_plain(v.get(key).and_then(Value::as_str).unwrap_or(""), max)
    };
    let dimension = |v: &Value, key: &str| {
        v.get(key)
            .and_then(Value::as_i64)
            .filter(|d| (1..=100_000).contains(d))
    };
    let short = |v: &Value, key: &str| {
        v.get(key)
            .and_then(Value::as_str)
            .filter(|s| s.len() <= 100)
            .map(str::to_string)
    };
    list.into_iter()
        .take(MAX_ATTACHMENTS)
        .map(|a| {
            let url = a
                .get("url")
                .and_then(|u| id_of(u).or_else(|| u.get("href").and_then(Value::as_str)))
                .ok_or_else(|| Error::BadRequest("an attachment without url".into()))?;
            let focus = a
                .get("focalPoint")
                .and_then(Value::as_array)
                .and_then(|f| Some((f.first()?.as_f64()?, f.get(1)?.as_f64()?)));
            Ok(ArchivedMedia {
                url: url.to_string(),
                media_type: short(a, "mediaType"),
                description: text(a, "name", MAX_DESCRIPTION),
                blurhash: short(a, "blurhash"),
                width: dimension(a, "width"),
                height: dimension(a, "height"),
                focus,
            })
        })
        .collect()
}

/// Stores the files of one post's attachments as uploads; returns each stored file
/// with the index of its attachment. The names of the files written are added to
/// `stored_names` (to remove them if the post is not written after all).
pub fn store(
    ctx: &Ctx,
    archive: &Archive,
    post_uri: &str,
    media: &[ArchivedMedia],
    opts: &Options,
    report: &mut Report,
    stored_names: &mut Vec<String>,
) -> Result<Vec<(usize, Media)>> {
    let mut files = Vec::new();
    for (index, m) in media.iter().enumerate() {
        let left_out = |why: &str| {
            format!(
                "{} of post {post_uri} was left out: {why}; the post is imported without it",
                m.url
            )
        };
        let entry = match archive.media(&m.url)? {
            // A staged file is removed once stored: a second attachment naming it finds
            // it gone.
            Some(entry) if !entry.staged || entry.path.exists() => entry,
            found => {
                let why = if found.is_some() {
                    "another post of the archive used the same file"
                } else {
                    "the file is not in the archive"
                };
                report.media_missing += 1;
                report.problem(left_out(why), opts.progress);
                continue;
            }
        };
        match crate::media::store_file(ctx, &entry.path, m.media_type.as_deref()) {
            Ok(stored) => {
                stored_names.push(stored.file_name.clone());
                stored_names.extend(stored.thumb_name.clone());
                if entry.staged {
                    // Frees the disk as the import goes; the staging directory goes too.
                    let _ = std::fs::remove_file(&entry.path);
                }
                files.push((index, stored));
            }
            Err(
                e @ (Error::Status(..)
                | Error::Unprocessable(_)
                | Error::Gone(_)
                | Error::Conflict(_)),
            ) => {
                report.media_failed += 1;
                report.problem(left_out(&e.public_message()), opts.progress);
            }
            Err(e) => return Err(e),
        }
    }
    Ok(files)
}

/// Removes stored files again (after a failed write, or when they were not needed).
pub fn remove_stored(ctx: &Ctx, names: &[String]) {
    let names: Vec<&str> = names.iter().map(String::as_str).collect();
    ctx.storage.remove(crate::storage::Area::Uploads, &names);
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn an_attachment_list_is_read_and_capped() {
        let object = json!({"attachment": [
            {"type": "Document", "mediaType": "image/png", "url": "/system/media_attachments/files/1/a.png",
             "name": "A\npixel", "focalPoint": [0.5, -0.5], "width": 3, "height": 0, "blurhash": "x".repeat(101)},
            {"type": "Document", "url": {"type": "Link", "href": "media_attachments/files/b.mp4"}},
        ]});
        let list = parse(&object).unwrap();
        assert_eq!(list.len(), 2);
        assert_eq!(list[0].url, "/system/media_attachments/files/1/a.png");
        assert_eq!(list[0].description, "A pixel");
        assert_eq!(list[0].focus, Some((0.5, -0.5)));
        assert_eq!((list[0].width, list[0].height), (Some(3), None));
        assert_eq!(list[0].blurhash, None, "too long to be a blurhash");
        assert_eq!(list[1].url, "media_attachments/files/b.mp4");
        assert!(parse(&json!({"attachment": [{"type": "Document"}]})).is_err());
    }

    #[test]
    fn processing_wins_over_the_archive_but_video_keeps_its_sizes() {
        let archived = parse(
            &json!({"attachment": {"url": "a", "name": "alt", "width": 640,
            "height": 360, "blurhash": "UBL_:rOpGG-oBUNG", "focalPoint": [0.0, 1.0]}}),
        )
        .unwrap()
        .remove(0);
        let picture = Media {
            width: Some(32),
            height: Some(64),
            blurhash: Some("computed".into()),
            ..Media::default()
        };
        let row = archived.row(&picture);
        assert_eq!((row.width, row.height), (Some(32), Some(64)));
        assert_eq!(row.blurhash.as_deref(), Some("computed"));
        assert_eq!((row.description.as_str(), row.focus_y), ("alt", Some(1.0)));
        let row = archived.row(&Media::default());
        assert_eq!((row.width, row.height), (Some(640), Some(360)));
        assert_eq!(row.blurhash.as_deref(), Some("UBL_:rOpGG-oBUNG"));
    }
}
