//! Reading a request's body on its connection's thread, before the request goes to a
//! request thread: into memory within the handler's cap, or spooled to a file as it
//! arrives ([`Spool`]). The connection's deadlines (kith's patch to tiny_http) hold the
//! body to a minimum rate; a body that comes too slowly fails with `TimedOut`, which is
//! answered 408.

use super::{Spool, SpooledBody};
use std::io::{Read, Write};
use std::path::{Path, PathBuf};

/// The status that answers a failed body read: 408 when the client was too slow,
/// else 400.
fn read_failed(e: &std::io::Error) -> u16 {
    if e.kind() == std::io::ErrorKind::TimedOut {
        408
    } else {
        400
    }
}

/// Reads the body, refusing with 413 past `limit` (on Content-Length or while reading).
/// For an upgrade request only what `Content-Length` announces is read (nothing without
/// one): its body reader is the raw connection, and reading to its end would wait for
/// the client to hang up.
pub(super) fn read_body(
    rq: &mut tiny_http::Request,
    limit: u64,
    upgrading: bool,
) -> std::result::Result<Vec<u8>, u16> {
    if let Some(len) = rq.body_length()
        && len as u64 > limit
    {
        return Err(413);
    }
    if upgrading {
        let announced = rq.body_length().unwrap_or(0) as u64;
        let mut body = Vec::new();
        return match rq.as_reader().take(announced).read_to_end(&mut body) {
            Ok(n) if n as u64 == announced => Ok(body),
            Ok(_) => Err(400),
            Err(e) => Err(read_failed(&e)),
        };
    }
    let mut body = Vec::new();
    match rq
        .as_reader()
        .take(limit.saturating_add(1))
        .read_to_end(&mut body)
    {
        Ok(n) if n as u64 > limit => Err(413),
        Ok(_) => Ok(body),
        Err(e) => Err(read_failed(&e)),
    }
}

/// Writes the body to a new file in the spool's directory as it arrives, refusing
/// with 413 past the limit (on Content-Length or while reading); the file is removed
/// on any failure. 400 when the client's bytes cannot be read (408 when they come too
/// slowly), 507 when they cannot be written.
pub(super) fn spool_body(
    rq: &mut tiny_http::Request,
    spool: &Spool,
) -> std::result::Result<SpooledBody, u16> {
    if let Some(len) = rq.body_length()
        && len as u64 > spool.limit
    {
        return Err(413);
    }
    let (mut file, path) = new_spool_file(&spool.dir).map_err(|e| {
        eprintln!(
            "error: cannot create an upload file in {}: {e}",
            spool.dir.display()
        );
        507u16
    })?;
    // Removes the file unless the body arrives whole.
    let mut body = SpooledBody { path, len: 0 };
    let mut reader = rq.as_reader().take(spool.limit.saturating_add(1));
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        let n = match reader.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(read_failed(&e)),
        };
        body.len += n as u64;
        if body.len > spool.limit {
            return Err(413);
        }
        file.write_all(&buf[..n]).map_err(|e| {
            eprintln!(
                "error: cannot write an upload to {}: {e}",
                body.path.display()
            );
            507u16
        })?;
    }
    file.flush().map_err(|_| 507u16)?;
    Ok(body)
}

/// A new file (owner-only) with a random name in `dir`.
fn new_spool_file(dir: &Path) -> std::io::Result<(std::io::BufWriter<std::fs::File>, PathBuf)> {
    std::fs::create_dir_all(dir)?;
    let random = crate::keys::random_bytes(12).map_err(|e| std::io::Error::other(e.to_string()))?;
    let name: String = random.iter().map(|b| format!("{b:02x}")).collect();
    let path = dir.join(format!("upload-{name}"));
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let file = options.open(&path)?;
    Ok((std::io::BufWriter::with_capacity(256 * 1024, file), path))
}
