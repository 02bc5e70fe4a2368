//! Where media files live: under `data_dir` (`media/` for uploads, `cache/` for the
//! remote media cache) or in an S3-compatible bucket under the same two prefixes.
//! Everything that writes, reads or removes a media file goes through [`Storage`],
//! which knows the configured backend and, when a bucket is configured, the other
//! place too: a file is looked for in the local folder first and then in the bucket,
//! so media keep answering while `kith storage migrate` moves them, and after the
//! config switches backend before the move is done.
//!
//! A new file is written to a temporary file on the local disk ([`NewFile`]) and only
//! then takes its final name: renamed into the folder, or sent to the bucket (whole
//! or in parts, checked against its MD5) and the temporary file removed. A failure at
//! any point leaves no file under a final name. The moves between backends are in
//! `media::migrate`, the bucket client in `s3`.

pub mod etag;
pub mod s3;
pub mod xml;

use crate::config::{Backend, Config, Serve};
use crate::error::{Error, Result};
use std::fs::File;
use std::io::{BufWriter, Read, Write};
use std::path::{Path, PathBuf};

/// The two kinds of media kith keeps.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Area {
    /// The owner's uploads, thumbnails and imported media.
    Uploads,
    /// Copies of remote media.
    Cache,
}

impl Area {
    /// Both areas.
    pub const ALL: [Area; 2] = [Area::Uploads, Area::Cache];

    /// The folder under `data_dir`, which is also the key prefix in the bucket.
    pub fn dir_name(self) -> &'static str {
        match self {
            Area::Uploads => "media",
            Area::Cache => "cache",
        }
    }

    /// The object key of `name` in this area.
    pub fn key(self, name: &str) -> String {
        format!("{}/{name}", self.dir_name())
    }
}

/// Where a file was found.
pub enum Located {
    /// A local file.
    File(PathBuf),
    /// An object in the bucket: its key, and the address a client may be sent to
    /// (None when the bucket is proxied).
    Object {
        key: String,
        redirect: Option<String>,
    },
}

/// An open file or object and its length.
pub struct Opened {
    pub len: u64,
    pub reader: Box<dyn Read + Send>,
}

/// The configured media storage.
pub struct Storage {
    data_dir: PathBuf,
    staging: PathBuf,
    backend: Backend,
    serve: Serve,
    s3: Option<s3::S3>,
}

impl Storage {
    /// The storage of this configuration; makes the bucket client (no request yet).
    pub fn open(config: &Config) -> Result<Storage> {
        let s3 = match &config.s3 {
            Some(settings) => Some(s3::S3::new(settings)?),
            None => None,
        };
        Ok(Storage {
            data_dir: config.data_dir.clone(),
            staging: config.scratch_dir(),
            backend: config.storage_backend,
            serve: config.s3.as_ref().map_or(Serve::Proxy, |s| s.serve),
            s3,
        })
    }

    /// Checks that the bucket, when one is configured, answers and takes the keys: at
    /// start, so a wrong key is reported at once with its name.
    pub fn check(&self) -> Result<()> {
        match &self.s3 {
            Some(s3) => s3.check(),
            None => Ok(()),
        }
    }

    /// [`Storage::check`] at start: a failure stops kith when the media live in the
    /// bucket; when they do not (the bucket holds backups, or is where a move goes),
    /// it is a warning in the log, and `kith doctor` shows it.
    pub fn check_at_start(&self) -> Result<()> {
        match self.check() {
            Err(e) if self.backend == Backend::Local => {
                eprintln!("kith: warning: media storage: {e}");
                Ok(())
            }
            other => other,
        }
    }

    /// The bucket client, when a bucket is configured.
    pub fn bucket(&self) -> Option<&s3::S3> {
        self.s3.as_ref()
    }

    /// The data directory.
    pub fn data_dir(&self) -> &Path {
        &self.data_dir
    }

    /// The backend new files go to.
    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// The local folder of an area.
    pub fn local_dir(&self, area: Area) -> PathBuf {
        self.data_dir.join(area.dir_name())
    }

    /// The bucket new files go to, when that is the backend.
    fn target_bucket(&self) -> Option<&s3::S3> {
        match self.backend {
            Backend::S3 => self.s3.as_ref(),
            Backend::Local => None,
        }
    }

    /// A new file in `area`, written locally and given its name on [`NewFile::commit`].
    pub fn create(&self, area: Area) -> Result<NewFile<'_>> {
        let dir = match self.target_bucket() {
            Some(_) => self.staging.clone(),
            None => self.local_dir(area),
        };
        std::fs::create_dir_all(&dir)?;
        let tmp = dir.join(format!(".tmp-{}", new_name("part")?));
        let file = File::create_new(&tmp)?;
        Ok(NewFile {
            storage: self,
            area,
            dir,
            tmp,
            writer: Some(BufWriter::with_capacity(64 * 1024, file)),
        })
    }

    /// Writes `bytes` as a new file in `area`; returns its name.
    pub fn write_new(
        &self,
        area: Area,
        bytes: &[u8],
        ext: &str,
        media_type: &str,
    ) -> Result<String> {
        if let Some(s3) = self.target_bucket() {
            let name = new_name(ext)?;
            s3.put_bytes(&area.key(&name), bytes, media_type)?;
            return Ok(name);
        }
        let mut file = self.create(area)?;
        file.writer().write_all(bytes)?;
        file.commit(ext, media_type)
    }

    /// Removes files from `area`, wherever they are (missing ones are fine). Only
    /// names of kith's shape are touched; a failure is logged, not returned.
    pub fn remove(&self, area: Area, names: &[&str]) {
        for name in names.iter().filter(|n| valid_name(n)) {
            let was_local = match std::fs::remove_file(self.local_dir(area).join(name)) {
                Ok(()) => true,
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => false,
                Err(e) => {
                    eprintln!("storage: cannot remove {name}: {e}");
                    true
                }
            };
            // With local media, the bucket is asked for an upload always (a move may
            // have copied it there already) and for a cached file not found here.
            if let Some(s3) = &self.s3
                && (self.backend == Backend::S3 || area == Area::Uploads || !was_local)
                && let Err(e) = s3.delete(&area.key(name))
            {
                eprintln!("storage: cannot remove {name}: {e}");
            }
        }
    }

    /// Where the file `name` of `area` is: the local folder first, then the bucket.
    /// None when it is in neither (a name not of kith's shape is in neither).
    pub fn locate(&self, area: Area, name: &str) -> Result<Option<Located>> {
        if !valid_name(name) {
            return Ok(None);
        }
        let path = self.local_dir(area).join(name);
        if path.is_file() {
            return Ok(Some(Located::File(path)));
        }
        Ok(self.locate_in_bucket(area, name))
    }

    /// Where the file `name` of `area` would be in the bucket (None without one).
    pub fn locate_in_bucket(&self, area: Area, name: &str) -> Option<Located> {
        let s3 = self.s3.as_ref()?;
        let key = area.key(name);
        // With local media, a file is in the bucket only when a move put it there.
        if self.backend == Backend::Local && !matches!(s3.head(&key), Ok(Some(_))) {
            return None;
        }
        Some(Located::Object {
            redirect: (self.serve == Serve::Redirect).then(|| s3.client_url(&key)),
            key,
        })
    }

    /// Whether the file `name` of `area` is in the folder or the bucket.
    pub fn exists(&self, area: Area, name: &str) -> Result<bool> {
        if !valid_name(name) {
            return Ok(false);
        }
        if self.local_dir(area).join(name).is_file() {
            return Ok(true);
        }
        match &self.s3 {
            Some(s3) => Ok(s3.head(&area.key(name))?.is_some()),
            None => Ok(false),
        }
    }

    /// The names of the files of `area` in the folder and the bucket, sorted, each once.
    pub fn list(&self, area: Area) -> Result<Vec<String>> {
        let mut names = local_names(&self.local_dir(area))?;
        names.extend(self.bucket_objects(area)?.into_iter().map(|(name, _)| name));
        names.sort();
        names.dedup();
        Ok(names)
    }

    /// The files of `area` in the bucket (none without one), by name: only names of
    /// kith's shape.
    pub fn bucket_objects(&self, area: Area) -> Result<Vec<(String, s3::ObjectInfo)>> {
        let Some(s3) = &self.s3 else {
            return Ok(Vec::new());
        };
        let prefix = area.key("");
        Ok(s3
            .list(&prefix)?
            .into_iter()
            .filter_map(|object| {
                let name = object.key.strip_prefix(&prefix)?.to_string();
                valid_name(&name).then_some((name, object))
            })
            .collect())
    }

    /// Opens the file `name` of `area` for reading, wherever it is.
    pub fn open_file(&self, area: Area, name: &str) -> Result<Option<Opened>> {
        match self.locate(area, name)? {
            None => Ok(None),
            Some(Located::File(path)) => match File::open(&path) {
                Ok(file) => Ok(Some(Opened {
                    len: file.metadata()?.len(),
                    reader: Box::new(file),
                })),
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
                Err(e) => Err(e.into()),
            },
            Some(Located::Object { key, .. }) => {
                let Some(s3) = &self.s3 else { return Ok(None) };
                match s3.get(&key, None)? {
                    Some(d) if d.status == 200 => Ok(Some(Opened {
                        len: d.len.unwrap_or(0),
                        reader: d.reader,
                    })),
                    _ => Ok(None),
                }
            }
        }
    }

    /// Reads the whole file `name` of `area` when it is at most `max` bytes.
    pub fn read(&self, area: Area, name: &str, max: u64) -> Result<Option<Vec<u8>>> {
        let Some(opened) = self.open_file(area, name)? else {
            return Ok(None);
        };
        if opened.len > max {
            return Err(Error::Unprocessable(format!(
                "{name} is {} bytes, more than {max}",
                opened.len
            )));
        }
        let mut bytes = Vec::with_capacity(opened.len as usize);
        opened.reader.take(max + 1).read_to_end(&mut bytes)?;
        if bytes.len() as u64 > max {
            return Err(Error::Unprocessable(format!(
                "{name} is more than {max} bytes"
            )));
        }
        Ok(Some(bytes))
    }
}

/// A file being written under a temporary name; it takes its final name on
/// [`NewFile::commit`], and is removed if dropped before.
pub struct NewFile<'a> {
    storage: &'a Storage,
    area: Area,
    dir: PathBuf,
    tmp: PathBuf,
    writer: Option<BufWriter<File>>,
}

impl NewFile<'_> {
    /// The writer of the file's content.
    pub fn writer(&mut self) -> &mut BufWriter<File> {
        self.writer
            .as_mut()
            .expect("a NewFile is written before commit")
    }

    /// Flushes the file and gives it a fresh name with `ext`: renamed into its folder
    /// (synced first), or sent to the bucket. Returns the name.
    pub fn commit(self, ext: &str, media_type: &str) -> Result<String> {
        let name = new_name(ext)?;
        self.commit_as(&name, media_type)?;
        Ok(name)
    }

    /// Like [`NewFile::commit`], with a name kith gave the file before (a restored
    /// backup's); a file of that name is replaced.
    pub fn commit_as(mut self, name: &str, media_type: &str) -> Result<()> {
        if !valid_name(name) {
            return Err(Error::Internal(format!("not a media file name: {name:?}")));
        }
        let writer = self.writer.take().expect("committed once");
        let file = writer.into_inner().map_err(|e| e.into_error())?;
        let name = name.to_string();
        if let Some(s3) = self.storage.target_bucket() {
            drop(file);
            let sent = s3.put_file(&self.area.key(&name), &self.tmp, media_type);
            let _ = std::fs::remove_file(&self.tmp);
            sent?;
            return Ok(());
        }
        file.sync_all()?;
        if let Err(e) = std::fs::rename(&self.tmp, self.dir.join(&name)) {
            let _ = std::fs::remove_file(&self.tmp);
            return Err(e.into());
        }
        Ok(())
    }
}

impl Drop for NewFile<'_> {
    fn drop(&mut self) {
        if self.writer.take().is_some() {
            let _ = std::fs::remove_file(&self.tmp);
        }
    }
}

/// A file in the scratch directory, removed when dropped.
pub struct Scratch(PathBuf);

impl Scratch {
    /// A new, unused path in `dir`, the scratch directory (created if needed).
    pub fn new(dir: &Path, prefix: &str, ext: &str) -> Result<Scratch> {
        std::fs::create_dir_all(dir)?;
        let random: String = crate::keys::random_bytes(12)?
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        Ok(Scratch(dir.join(format!("{prefix}-{random}{ext}"))))
    }

    /// Where the file is.
    pub fn path(&self) -> &Path {
        &self.0
    }

    /// Keeps the file: someone else removes it now.
    pub fn keep(mut self) -> PathBuf {
        std::mem::take(&mut self.0)
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        if !self.0.as_os_str().is_empty() {
            let _ = std::fs::remove_file(&self.0);
        }
    }
}

/// Length of the random part of a file name, in hex digits.
const NAME_LEN: usize = 32;

/// Whether `name` has the shape of a name kith gives files: 32 of `[a-z0-9]`, a dot,
/// and an extension of one to five of `[a-z0-9]`. Nothing else reaches the file
/// system or the bucket. (`media::valid_name` also checks the extension is known.)
pub fn valid_name(name: &str) -> bool {
    let Some((stem, ext)) = name.split_once('.') else {
        return false;
    };
    let plain = |s: &str| {
        s.bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
    };
    stem.len() == NAME_LEN && plain(stem) && (1..=5).contains(&ext.len()) && plain(ext)
}

/// A fresh random file name with this extension.
pub fn new_name(ext: &str) -> Result<String> {
    let stem: String = crate::keys::random_bytes(NAME_LEN / 2)?
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    Ok(format!("{stem}.{ext}"))
}

/// The names of kith's shape of the regular files in `dir` (none when it is missing).
pub fn local_names(dir: &Path) -> Result<Vec<String>> {
    let entries = match std::fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(e.into()),
    };
    let mut names = Vec::new();
    for entry in entries {
        let entry = entry?;
        if let Some(name) = entry.file_name().to_str()
            && valid_name(name)
            && entry.file_type()?.is_file()
        {
            names.push(name.to_string());
        }
    }
    Ok(names)
}

/// Removes temporary files an interrupted write left in `dir` (older than an hour).
pub fn remove_stale_partials(dir: &Path) {
    remove_partials(dir, ".tmp-", std::time::Duration::from_secs(3600));
}

/// Removes the files in `dir` whose names start with `prefix` and that are older
/// than `age`.
pub fn remove_partials(dir: &Path, prefix: &str, age: std::time::Duration) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let old = entry
            .metadata()
            .and_then(|m| m.modified())
            .is_ok_and(|t| t.elapsed().is_ok_and(|elapsed| elapsed >= age));
        if entry.file_name().to_string_lossy().starts_with(prefix) && old {
            let _ = std::fs::remove_file(entry.path());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn local(dir: &Path) -> Storage {
        let mut config = Config::defaults();
        config.data_dir = dir.to_path_buf();
        Storage::open(&config).unwrap()
    }

    #[test]
    fn a_new_file_leaves_nothing_unless_committed() {
        let dir = tempfile::tempdir().unwrap();
        let storage = local(dir.path());
        let media = storage.local_dir(Area::Uploads);
        {
            let mut f = storage.create(Area::Uploads).unwrap();
            f.writer().write_all(b"half").unwrap();
        }
        assert_eq!(std::fs::read_dir(&media).unwrap().count(), 0);
        let name = storage
            .write_new(Area::Uploads, b"whole", "png", "image/png")
            .unwrap();
        assert_eq!(std::fs::read(media.join(&name)).unwrap(), b"whole");
        assert_eq!(std::fs::read_dir(&media).unwrap().count(), 1);
        assert_eq!(
            storage.read(Area::Uploads, &name, 100).unwrap().unwrap(),
            b"whole"
        );
        assert!(storage.read(Area::Cache, &name, 100).unwrap().is_none());
        storage.remove(Area::Uploads, &[&name]);
        assert!(storage.locate(Area::Uploads, &name).unwrap().is_none());
    }

    #[test]
    fn only_kith_shaped_names_reach_the_disk() {
        let stem = "0123456789abcdef0123456789abcdef";
        assert!(valid_name(&format!("{stem}.png")));
        for bad in [
            format!("../{stem}.png"),
            format!("{stem}.png/x"),
            format!("{}.png", &stem[1..]),
            format!("{stem}.toolong"),
            stem.to_string(),
        ] {
            assert!(!valid_name(&bad), "{bad}");
        }
    }
}
