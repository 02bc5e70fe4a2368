//! Reading a Mastodon account archive — a zip (what Mastodon makes), a tar.gz, or an
//! unpacked directory — as untrusted input. Every entry's path is checked (no `..`,
//! no absolute paths, no drive letters, no NUL), links are refused, sizes are capped
//! per file and in total, and archive bombs are refused before anything is staged:
//! every entry's ratio, the whole archive's ratio and its total against the cap and
//! the free disk are checked first (`budget`), and staging counts the bytes it writes
//! rather than trusting a header. Only the files an import reads are kept: `outbox.json`,
//! `actor.json`, `likes.json`, `bookmarks.json`, `avatar.*`, `header.*` and what is
//! under `media_attachments/`.
//!
//! A packed archive is unpacked once into a staging directory beside the database
//! (one file at a time, under names kith chooses), so a truncated or corrupt archive
//! is refused before anything is imported, and staged media can later be moved into
//! place instead of copied. The staging directory is removed when the [`Archive`] is
//! dropped. A directory is read where it is. Nothing here touches the database.

use super::budget::{self, Meter, Metered};
use super::refused;
use crate::error::{Error, Result};
use std::collections::HashMap;
use std::fs::File;
use std::io::{BufReader, Read, Write};
use std::path::{Path, PathBuf};

/// Caps applied to an archive.
#[derive(Debug, Clone)]
pub struct Limits {
    /// Most entries in the archive.
    pub max_entries: u64,
    /// Largest media file.
    pub max_file_bytes: u64,
    /// Largest `outbox.json`, `likes.json` or `bookmarks.json`.
    pub max_json_bytes: u64,
    /// Largest `actor.json`.
    pub max_actor_bytes: u64,
    /// Largest sum of the files kept.
    pub max_total_bytes: u64,
    /// Largest ratio of inflated to packed size, for an entry over `ratio_floor` bytes
    /// and for the kept files together against the archive file.
    pub max_ratio: u64,
    /// Entries (and totals) up to this size are not ratio-checked.
    pub ratio_floor: u64,
    /// Disk space that must stay free once a packed archive is staged.
    pub min_free_bytes: u64,
    /// Largest single item of `outbox.json`, as JSON text.
    pub max_item_bytes: u64,
}

impl Default for Limits {
    fn default() -> Limits {
        Limits {
            max_entries: 1_000_000,
            max_file_bytes: 200 << 20,
            max_json_bytes: 8 << 30,
            max_actor_bytes: 1 << 20,
            max_total_bytes: 256 << 30,
            max_ratio: 100,
            ratio_floor: 256 << 10,
            min_free_bytes: 256 << 20,
            max_item_bytes: 4 << 20,
        }
    }
}

/// One file of an archive, ready to read.
#[derive(Debug, Clone)]
pub struct Entry {
    /// Where its bytes are.
    pub path: PathBuf,
    pub size: u64,
    /// Whether `path` is a staged copy the importer may move away.
    pub staged: bool,
}

/// An archive's kept files by their path inside it (relative, `/`-separated, below
/// the directory that holds `outbox.json`).
pub struct Archive {
    files: HashMap<String, Entry>,
    staging: Option<PathBuf>,
}

impl Archive {
    /// The file at `path` inside the archive.
    pub fn get(&self, path: &str) -> Option<&Entry> {
        self.files.get(path)
    }

    /// The file a media URL of an archive item points at: a path such as
    /// `media_attachments/files/…`, with or without a leading `/` or `/system/`, or a
    /// URL whose path is one.
    pub fn media(&self, url: &str) -> Result<Option<&Entry>> {
        let path = match url::Url::parse(url) {
            Ok(u) => u.path().to_string(),
            Err(_) => url.to_string(),
        };
        let path = path.trim_start_matches('/');
        let path = path.strip_prefix("system/").unwrap_or(path);
        let clean = normalise(path)?;
        Ok(self.files.get(&clean))
    }

    /// Opens a kept file for reading.
    pub fn open(&self, path: &str) -> Result<Option<BufReader<File>>> {
        match self.files.get(path) {
            Some(e) => Ok(Some(BufReader::with_capacity(
                64 * 1024,
                File::open(&e.path)?,
            ))),
            None => Ok(None),
        }
    }

    /// How many files were kept.
    pub fn len(&self) -> usize {
        self.files.len()
    }

    /// Whether no file was kept.
    pub fn is_empty(&self) -> bool {
        self.files.is_empty()
    }
}

impl Drop for Archive {
    fn drop(&mut self) {
        if let Some(dir) = self.staging.take() {
            let _ = std::fs::remove_dir_all(dir);
        }
    }
}

/// Opens the archive at `path` (a zip, a tar.gz or a directory), staging a packed one
/// under `staging_parent`. Refuses it, naming the problem, when it is damaged or
/// breaks a rule.
pub fn open(path: &Path, staging_parent: &Path, limits: &Limits) -> Result<Archive> {
    let meta = std::fs::metadata(path)
        .map_err(|e| refused(format!("cannot read {}: {e}", path.display())))?;
    if !meta.is_dir() {
        let mut magic = [0u8; 4];
        let n = File::open(path)?.read(&mut magic)?;
        let staging = new_staging(staging_parent)?;
        let mut archive = Archive {
            files: HashMap::new(),
            staging: Some(staging.clone()),
        };
        let collected = match &magic[..n] {
            [b'P', b'K', 3, 4] | [b'P', b'K', 5, 6] => unzip(path, &staging, limits),
            [0x1f, 0x8b, ..] => untar(path, &staging, limits),
            _ => Err(refused(format!(
                "{} is not a zip, a tar.gz or a directory",
                path.display()
            ))),
        }?;
        archive.files = collected.files;
        return rebase(archive);
    }
    let collected = Collected::default().walk(path, limits)?;
    rebase(Archive {
        files: collected.files,
        staging: None,
    })
}

/// Keeps only what lies below the directory holding the shallowest `outbox.json`,
/// keyed by the path below it; refuses an archive without `outbox.json` or `actor.json`.
fn rebase(mut archive: Archive) -> Result<Archive> {
    let outbox = archive
        .files
        .keys()
        .filter(|k| *k == "outbox.json" || k.ends_with("/outbox.json"))
        .min_by_key(|k| k.matches('/').count())
        .cloned()
        .ok_or_else(|| {
            refused("the archive has no outbox.json: is it a Mastodon account archive?")
        })?;
    let prefix = &outbox[..outbox.len() - "outbox.json".len()];
    if !prefix.is_empty() {
        let files = std::mem::take(&mut archive.files);
        archive.files = files
            .into_iter()
            .filter_map(|(k, v)| k.strip_prefix(prefix).map(|rest| (rest.to_string(), v)))
            .collect();
    }
    if !archive.files.contains_key("actor.json") {
        return Err(refused("the archive has no actor.json beside outbox.json"));
    }
    Ok(archive)
}

/// Checks a path from an archive and returns it relative and `/`-separated; `.` parts
/// and empty parts are dropped.
pub fn normalise(raw: &str) -> Result<String> {
    let bad = |why: &str| refused(format!("the archive has an unsafe path {raw:?}: {why}"));
    if raw.contains('\0') {
        return Err(bad("it contains a NUL byte"));
    }
    if raw.contains('\\') {
        return Err(bad("it contains a backslash"));
    }
    if raw.starts_with('/') {
        return Err(bad("it is absolute"));
    }
    let mut parts = Vec::new();
    for part in raw.split('/') {
        match part {
            "" | "." => {}
            ".." => return Err(bad("it contains ..")),
            p if parts.is_empty() && p.len() == 2 && p.ends_with(':') => {
                return Err(bad("it names a drive"));
            }
            p => parts.push(p),
        }
    }
    Ok(parts.join("/"))
}

/// Whether an import reads the file at this (normalised) path.
fn wanted(path: &str) -> bool {
    let name = path.rsplit('/').next().unwrap_or(path);
    let depth = path.matches('/').count();
    let top = matches!(
        name,
        "outbox.json" | "actor.json" | "likes.json" | "bookmarks.json"
    ) || ((name.starts_with("avatar.") || name.starts_with("header."))
        && name.len() < 16);
    (top && depth <= 1)
        || path.starts_with("media_attachments/")
        || path.contains("/media_attachments/") && depth <= 16
}

/// The cap for a kept file.
fn cap_of(path: &str, limits: &Limits) -> u64 {
    let name = path.rsplit('/').next().unwrap_or(path);
    match name {
        "actor.json" => limits.max_actor_bytes,
        "outbox.json" | "likes.json" | "bookmarks.json" => limits.max_json_bytes,
        _ => limits.max_file_bytes,
    }
}

fn new_staging(parent: &Path) -> Result<PathBuf> {
    let name = format!(
        "import-{}",
        crate::keys::random_bytes(8)?
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect::<String>()
    );
    let dir = parent.join(name);
    std::fs::create_dir_all(&dir)?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let _ = std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o700));
    }
    Ok(dir)
}

/// Files found so far, with the running totals the caps are checked against.
#[derive(Default)]
struct Collected {
    files: HashMap<String, Entry>,
    entries: u64,
    total: u64,
}

impl Collected {
    /// Counts one entry of the archive against the entry cap.
    fn count(&mut self, limits: &Limits) -> Result<()> {
        self.entries += 1;
        if self.entries > limits.max_entries {
            return Err(refused(format!(
                "the archive has more than {} entries",
                limits.max_entries
            )));
        }
        Ok(())
    }

    /// Checks a kept file's size against its cap and the total.
    fn admit(&mut self, path: &str, size: u64, limits: &Limits) -> Result<()> {
        let cap = cap_of(path, limits);
        if size > cap {
            return Err(refused(format!(
                "{path} in the archive is {size} bytes, more than the {cap} allowed"
            )));
        }
        self.total += size;
        if self.total > limits.max_total_bytes {
            return Err(refused(format!(
                "the archive holds more than {} bytes",
                limits.max_total_bytes
            )));
        }
        Ok(())
    }

    fn insert(&mut self, path: String, entry: Entry) -> Result<()> {
        if self.files.insert(path.clone(), entry).is_some() {
            return Err(refused(format!("the archive has {path} twice")));
        }
        Ok(())
    }

    /// Collects a directory tree without copying; links are refused.
    fn walk(mut self, root: &Path, limits: &Limits) -> Result<Collected> {
        let mut pending = vec![(root.to_path_buf(), String::new())];
        while let Some((dir, rel)) = pending.pop() {
            for item in std::fs::read_dir(&dir)? {
                let item = item?;
                self.count(limits)?;
                let name = item.file_name();
                let name = name.to_str().ok_or_else(|| {
                    refused(format!(
                        "{} has a name that is not UTF-8",
                        item.path().display()
                    ))
                })?;
                let path = normalise(&format!("{rel}{name}"))?;
                let meta = std::fs::symlink_metadata(item.path())?;
                if meta.file_type().is_symlink() {
                    return Err(refused(format!("the archive has a link at {path}")));
                }
                if meta.is_dir() {
                    if path.matches('/').count() < 10 {
                        pending.push((item.path(), format!("{path}/")));
                    }
                } else if meta.is_file() && wanted(&path) {
                    self.admit(&path, meta.len(), limits)?;
                    let entry = Entry {
                        path: item.path(),
                        size: meta.len(),
                        staged: false,
                    };
                    self.insert(path, entry)?;
                }
            }
        }
        Ok(self)
    }

    /// Copies one kept entry into the staging directory, at most `declared` bytes.
    fn stage(
        &mut self,
        staging: &Path,
        path: String,
        declared: u64,
        reader: &mut dyn Read,
    ) -> Result<()> {
        let target = staging.join(format!("f{:07}", self.files.len()));
        let mut out = std::io::BufWriter::new(File::create_new(&target)?);
        let copied = std::io::copy(&mut reader.take(declared + 1), &mut out)
            .map_err(|e| damaged(&path, &e))?;
        if copied != declared {
            return Err(refused(format!(
                "the archive is damaged: {path} has {copied} bytes, not the {declared} its header says"
            )));
        }
        out.flush()?;
        self.insert(
            path,
            Entry {
                path: target,
                size: copied,
                staged: true,
            },
        )
    }
}

fn damaged(what: &str, e: &dyn std::fmt::Display) -> Error {
    refused(format!(
        "the archive is damaged (truncated or corrupt) at {what}: {e}"
    ))
}

/// Stages the kept files of a zip archive, once its central directory shows that
/// every entry and the total fit (nothing is inflated before that).
fn unzip(path: &Path, staging: &Path, limits: &Limits) -> Result<Collected> {
    let packed = std::fs::metadata(path)?.len();
    let file = BufReader::new(File::open(path)?);
    let mut zip = zip::ZipArchive::new(file).map_err(|e| damaged("its directory", &e))?;
    let mut plan = Collected::default();
    let mut kept = Vec::new();
    for index in 0..zip.len() {
        plan.count(limits)?;
        let entry = zip
            .by_index_data(index)
            .map_err(|e| damaged(&format!("entry {index}"), &e))?;
        let raw = entry
            .name()
            .map_err(|e| damaged(&format!("entry {index}"), &e))?
            .to_string();
        let path = normalise(&raw)?;
        if entry.is_symlink() {
            return Err(refused(format!("the archive has a link at {path}")));
        }
        if entry.encrypted() {
            return Err(refused(format!("{path} in the archive is encrypted")));
        }
        if entry.is_dir() || !wanted(&path) {
            continue;
        }
        let size = entry.size();
        plan.admit(&path, size, limits)?;
        budget::check_entry(&path, size, entry.compressed_size(), "zip", limits)?;
        kept.push((index, path, size));
    }
    budget::check_total(plan.total, packed, staging, limits)?;
    let mut collected = Collected::default();
    for (index, path, size) in kept {
        let mut entry = zip
            .by_index(index)
            .map_err(|e| damaged(&format!("entry {index}"), &e))?;
        collected.admit(&path, size, limits)?;
        collected.stage(staging, path, size, &mut entry)?;
    }
    Ok(collected)
}

/// Packed bytes the decoders may have read ahead of an entry's end: added to an
/// entry's measured packed size so buffering never makes an honest entry look dense.
const READ_AHEAD: u64 = 64 << 10;

/// Stages the kept files of a tar.gz archive. A first pass inflates it to the end,
/// writing nothing, and measures every entry; the second stages what the first showed
/// fits. In both, the inflated stream is cut off past the ratio cap.
fn untar(path: &Path, staging: &Path, limits: &Limits) -> Result<Collected> {
    let packed = std::fs::metadata(path)?.len();
    let stream_cap = packed
        .saturating_mul(limits.max_ratio)
        .max(limits.ratio_floor)
        .saturating_add(1 << 20);
    let open = || -> Result<_> {
        let (file, packed_meter) = Metered::new(BufReader::new(File::open(path)?), u64::MAX);
        let (inflated, meter) = Metered::new(flate2::read::GzDecoder::new(file), stream_cap);
        Ok((tar::Archive::new(inflated), packed_meter, meter))
    };
    let bomb = |what: &str| {
        refused(format!(
            "the archive inflates to more than {stream_cap} bytes (at {what}), over \
             {}-fold its {packed} bytes: refused as an archive bomb",
            limits.max_ratio
        ))
    };
    let failed = |meter: &Meter, what: &str, e: &std::io::Error| {
        if meter.tripped() {
            bomb(what)
        } else {
            damaged(what, e)
        }
    };
    let (mut tar, packed_meter, meter) = open()?;
    let mut plan = Collected::default();
    let entries = tar.entries().map_err(|e| failed(&meter, "its start", &e))?;
    for entry in entries {
        let mut entry = entry.map_err(|e| failed(&meter, "an entry header", &e))?;
        plan.count(limits)?;
        let Some((path, size)) = kept_tar_entry(&entry)? else {
            continue;
        };
        plan.admit(&path, size, limits)?;
        let before = packed_meter.count();
        let read = std::io::copy(&mut (&mut entry).take(size + 1), &mut std::io::sink())
            .map_err(|e| failed(&meter, &path, &e))?;
        if read != size {
            return Err(refused(format!(
                "the archive is damaged: {path} has {read} bytes, not the {size} its header says"
            )));
        }
        let used = packed_meter.count() - before + READ_AHEAD;
        budget::check_entry(&path, size, used, "tar.gz", limits)?;
    }
    budget::check_total(plan.total, packed, staging, limits)?;
    let (mut tar, _, meter) = open()?;
    let mut collected = Collected::default();
    let entries = tar.entries().map_err(|e| failed(&meter, "its start", &e))?;
    for entry in entries {
        let mut entry = entry.map_err(|e| failed(&meter, "an entry header", &e))?;
        collected.count(limits)?;
        let Some((path, size)) = kept_tar_entry(&entry)? else {
            continue;
        };
        collected.admit(&path, size, limits)?;
        let what = path.clone();
        collected
            .stage(staging, path, size, &mut entry)
            .map_err(|e| if meter.tripped() { bomb(&what) } else { e })?;
    }
    Ok(collected)
}

/// The path and size of a tar entry an import keeps; `None` for one it skips. Links
/// refuse the archive.
fn kept_tar_entry<R: Read>(entry: &tar::Entry<'_, R>) -> Result<Option<(String, u64)>> {
    let raw = String::from_utf8(entry.path_bytes().into_owned())
        .map_err(|_| refused("the archive has a path that is not UTF-8"))?;
    let path = normalise(&raw)?;
    let kind = entry.header().entry_type();
    if kind.is_symlink() || kind.is_hard_link() {
        return Err(refused(format!("the archive has a link at {path}")));
    }
    if !kind.is_file() || !wanted(&path) {
        return Ok(None);
    }
    Ok(Some((path, entry.size())))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_are_checked() {
        assert_eq!(normalise("./outbox.json").unwrap(), "outbox.json");
        assert_eq!(
            normalise("media_attachments//files/./1.png").unwrap(),
            "media_attachments/files/1.png"
        );
        for bad in [
            "../x",
            "a/../../x",
            "/etc/passwd",
            "C:/x",
            "a\\b",
            "a\0b",
            "media_attachments/../outbox.json",
        ] {
            assert!(normalise(bad).is_err(), "{bad:?}");
        }
        assert!(wanted("outbox.json") && wanted("backup/outbox.json"));
        assert!(wanted("media_attachments/files/1/original/a.png"));
        assert!(wanted("avatar.png") && !wanted("notes.txt") && !wanted("a/b/c/outbox.json"));
    }
}
