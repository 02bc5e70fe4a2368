//! MD5s and ETags: what S3 answers for an object is the MD5 of its bytes (one `PUT`),
//! or the MD5 of its parts' MD5s and their count (a multipart upload). kith hashes
//! what it sends and what it reads, and compares.

use crate::error::Result;
use md5::{Digest, Md5};
use std::fs::File;
use std::io::Read;
use std::path::Path;

use super::s3::{MULTIPART_ABOVE, PART_SIZE};

/// The ETag S3 gives a multipart object: the MD5 of the parts' MD5s, and their count.
pub fn multipart_etag(part_digests: &[u8], parts: usize) -> String {
    format!("{}-{parts}", hex(&Md5::digest(part_digests)))
}

/// Lower-case hex.
pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// A reader that hashes (MD5) and counts what passes through it.
pub struct Hashing<R> {
    inner: R,
    md5: Md5,
    count: u64,
}

impl<R: Read> Hashing<R> {
    /// Wraps `inner`.
    pub fn new(inner: R) -> Hashing<R> {
        Hashing {
            inner,
            md5: Md5::new(),
            count: 0,
        }
    }

    /// The MD5 (hex) and the number of bytes read.
    pub fn finish(self) -> (String, u64) {
        let (md5, count) = self.finish_raw();
        (hex(&md5), count)
    }

    /// The MD5 (bytes) and the number of bytes read.
    pub fn finish_raw(self) -> (Vec<u8>, u64) {
        (self.md5.finalize().to_vec(), self.count)
    }
}

impl<R: Read> Read for Hashing<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.md5.update(&buf[..n]);
        self.count += n as u64;
        Ok(n)
    }
}

/// The MD5 (hex) of a file, and the ETag S3 would give it when uploaded by kith.
pub fn file_etag(path: &Path) -> Result<(u64, String)> {
    let mut file = File::open(path)?;
    let size = file.metadata()?.len();
    if size <= MULTIPART_ABOVE {
        let mut hashing = Hashing::new(&mut file);
        std::io::copy(&mut hashing, &mut std::io::sink())?;
        let (md5, n) = hashing.finish();
        return Ok((n, md5));
    }
    let mut digests = Vec::new();
    let mut parts = 0;
    let mut total = 0;
    loop {
        let mut hashing = Hashing::new((&mut file).take(PART_SIZE));
        std::io::copy(&mut hashing, &mut std::io::sink())?;
        let (md5, n) = hashing.finish_raw();
        if n == 0 {
            break;
        }
        digests.extend_from_slice(&md5);
        parts += 1;
        total += n;
    }
    Ok((total, multipart_etag(&digests, parts)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn multipart_etags_are_the_md5_of_the_part_md5s() {
        let a = Md5::digest(b"a");
        let b = Md5::digest(b"b");
        let mut both = a.to_vec();
        both.extend_from_slice(&b);
        assert_eq!(
            multipart_etag(&both, 2),
            format!("{}-2", hex(&Md5::digest(&both)))
        );
        assert_eq!(hex(&Md5::digest(b"")), "d41d8cd98f00b204e9800998ecf8427e");
    }
}
