//! What unpacking an archive may cost, decided before anything is staged. A packed
//! archive is measured first — a zip from its central directory, a tar.gz by one
//! inflating pass that writes nothing — and refused, naming the entry or the total,
//! when an entry inflates more than [`Limits::max_ratio`]-fold, when all kept files
//! together would inflate more than that from the archive's own size, exceed
//! [`Limits::max_total_bytes`], or not fit on the disk with [`Limits::min_free_bytes`]
//! to spare. While staging, bytes are counted as they are written, so an entry whose
//! header lies is stopped at the size it declared (see `archive`), and an inflating
//! stream is cut off once it passes what its packed size allows ([`Metered`]).

use super::archive::Limits;
use super::refused;
use crate::error::Result;
use std::cell::Cell;
use std::io::Read;
use std::path::Path;
use std::rc::Rc;

/// Refuses an entry of `size` inflated bytes from `packed` bytes that inflates beyond
/// the ratio cap (entries under [`Limits::ratio_floor`] are too small to matter alone).
pub fn check_entry(
    path: &str,
    size: u64,
    packed: u64,
    format: &str,
    limits: &Limits,
) -> Result<()> {
    let ratio = size / packed.max(1);
    if size > limits.ratio_floor && ratio > limits.max_ratio {
        return Err(refused(format!(
            "{path} in the archive inflates {ratio}-fold ({size} bytes from {packed}), more \
             than the {}-fold allowed: refused as a {format} bomb",
            limits.max_ratio
        )));
    }
    Ok(())
}

/// Refuses staging `total` bytes from an archive file of `packed` bytes: over the cap,
/// over the ratio cap for the whole archive, or more than the disk holding `dir` can
/// take while keeping [`Limits::min_free_bytes`] free.
pub fn check_total(total: u64, packed: u64, dir: &Path, limits: &Limits) -> Result<()> {
    if total > limits.max_total_bytes {
        return Err(refused(format!(
            "the archive would unpack to {total} bytes, more than the {} allowed",
            limits.max_total_bytes
        )));
    }
    let ratio = total / packed.max(1);
    if total > limits.ratio_floor && ratio > limits.max_ratio {
        return Err(refused(format!(
            "the archive would unpack to {total} bytes from {packed}, {ratio}-fold, more than \
             the {}-fold allowed: refused as an archive bomb",
            limits.max_ratio
        )));
    }
    let free = free_bytes(dir)?;
    if total.saturating_add(limits.min_free_bytes) > free {
        return Err(refused(format!(
            "the archive would unpack to {total} bytes, but the disk has {free} bytes free and \
             {} must stay free: make room or import from an unpacked directory",
            limits.min_free_bytes
        )));
    }
    Ok(())
}

/// The bytes an unprivileged process may still write on the file system holding `dir`.
#[cfg(unix)]
pub fn free_bytes(dir: &Path) -> Result<u64> {
    use std::os::unix::ffi::OsStrExt;
    let c_path = std::ffi::CString::new(dir.as_os_str().as_bytes())
        .map_err(|_| refused(format!("{} has a NUL byte in its name", dir.display())))?;
    // SAFETY: `statvfs` only writes into the struct it is given, which is plain data
    // (zeroed is a valid value), and reads the NUL-terminated path, alive for the call.
    let mut stat: libc::statvfs = unsafe { std::mem::zeroed() };
    let rc = unsafe { libc::statvfs(c_path.as_ptr(), &mut stat) };
    if rc != 0 {
        return Err(std::io::Error::last_os_error().into());
    }
    #[allow(clippy::unnecessary_cast, clippy::useless_conversion)]
    let (blocks, size) = (u64::from(stat.f_bavail), stat.f_frsize as u64);
    Ok(blocks.saturating_mul(size))
}

/// The bytes an unprivileged process may still write (not measured on this platform).
#[cfg(not(unix))]
pub fn free_bytes(_dir: &Path) -> Result<u64> {
    Ok(u64::MAX)
}

/// A reader that counts the bytes through it and fails once they pass `limit`,
/// remembering that it did (so the failure can be told from a damaged stream).
pub struct Metered<R> {
    inner: R,
    count: Rc<Cell<u64>>,
    limit: u64,
    tripped: Rc<Cell<bool>>,
}

/// What a [`Metered`] reader has seen, readable while the reader is owned elsewhere.
#[derive(Clone)]
pub struct Meter {
    count: Rc<Cell<u64>>,
    tripped: Rc<Cell<bool>>,
}

impl Meter {
    /// Bytes read so far.
    pub fn count(&self) -> u64 {
        self.count.get()
    }

    /// Whether the limit was passed.
    pub fn tripped(&self) -> bool {
        self.tripped.get()
    }
}

impl<R: Read> Metered<R> {
    /// Wraps `inner`, failing past `limit` bytes; returns the reader and its meter.
    pub fn new(inner: R, limit: u64) -> (Metered<R>, Meter) {
        let meter = Meter {
            count: Rc::new(Cell::new(0)),
            tripped: Rc::new(Cell::new(false)),
        };
        let reader = Metered {
            inner,
            count: meter.count.clone(),
            limit,
            tripped: meter.tripped.clone(),
        };
        (reader, meter)
    }
}

impl<R: Read> Read for Metered<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        let count = self.count.get().saturating_add(n as u64);
        self.count.set(count);
        if count > self.limit {
            self.tripped.set(true);
            return Err(std::io::Error::other("the stream inflates past its limit"));
        }
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ratios_and_totals_are_checked() {
        let limits = Limits {
            ratio_floor: 1000,
            max_ratio: 10,
            max_total_bytes: 1 << 20,
            min_free_bytes: 0,
            ..Limits::default()
        };
        assert!(check_entry("a", 900, 1, "zip", &limits).is_ok(), "small");
        assert!(check_entry("a", 5000, 1000, "zip", &limits).is_ok());
        let e = check_entry("media/a.png", 50_000, 1000, "zip", &limits).unwrap_err();
        assert!(e.to_string().contains("media/a.png"), "{e}");
        let dir = std::env::temp_dir();
        assert!(check_total(5000, 1000, &dir, &limits).is_ok());
        assert!(check_total(50_000, 1000, &dir, &limits).is_err());
        assert!(check_total(2 << 20, 1 << 20, &dir, &limits).is_err());
        let no_room = Limits {
            min_free_bytes: u64::MAX / 2,
            ..limits
        };
        let e = check_total(5000, 1000, &dir, &no_room).unwrap_err();
        assert!(e.to_string().contains("free"), "{e}");
    }

    #[test]
    fn a_metered_reader_stops_past_its_limit() {
        let (mut r, meter) = Metered::new(&[0u8; 100][..], 50);
        let mut out = Vec::new();
        assert!(std::io::copy(&mut r, &mut out).is_err());
        assert!(meter.tripped());
        let (mut r, meter) = Metered::new(&[0u8; 100][..], 100);
        assert_eq!(std::io::copy(&mut r, &mut out).unwrap(), 100);
        assert_eq!((meter.count(), meter.tripped()), (100, false));
    }
}
