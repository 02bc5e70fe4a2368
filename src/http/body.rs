//! Reading a request's body on its connection's thread, before the request goes to a
//! request thread: within the handler's cap, into memory when small and else into a
//! file as it arrives ([`IN_MEMORY`]), or spooled to a file when the handler asks
//! ([`Spool`]). The connection's deadlines (kith's patch to tiny_http) hold the
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

/// The most of a body held in memory by a connection's thread; a larger one goes to a
/// file in the scratch directory as it arrives, and is read back on the request thread
/// just before its handler runs. So however many connections send large bodies at once,
/// only the request threads hold a whole large body each (as before bodies were read
/// off them), and the waiting ones sit on disk.
pub(super) const IN_MEMORY: u64 = 64 * 1024;

/// A body as read on the connection's thread.
pub(super) enum Body {
    /// A small body, in memory.
    Memory(Vec<u8>),
    /// A large body, in a file (removed when dropped).
    File(SpooledBody),
}

impl Body {
    /// The bytes, reading a file back into memory (on the request thread).
    pub(super) fn into_bytes(self) -> std::io::Result<Vec<u8>> {
        match self {
            Body::Memory(bytes) => Ok(bytes),
            Body::File(file) => std::fs::read(&file.path),
        }
    }
}

/// Reads the body, refusing with 413 past `limit` (on Content-Length or while reading);
/// past [`IN_MEMORY`] it goes on into a new file in `scratch`. For an upgrade request
/// only what `Content-Length` announces is read (nothing without one): its body reader
/// is the raw connection, and reading to its end would wait for the client to hang up.
pub(super) fn read_body(
    rq: &mut tiny_http::Request,
    limit: u64,
    upgrading: bool,
    scratch: &Path,
) -> std::result::Result<Body, u16> {
    if let Some(len) = rq.body_length()
        && len as u64 > limit
    {
        return Err(413);
    }
    if upgrading {
        let announced = rq.body_length().unwrap_or(0) as u64;
        let mut body = Vec::new();
        return match rq.as_reader().take(announced).read_to_end(&mut body) {
            Ok(n) if n as u64 == announced => Ok(Body::Memory(body)),
            Ok(_) => Err(400),
            Err(e) => Err(read_failed(&e)),
        };
    }
    let in_memory = limit.min(IN_MEMORY);
    let mut body = Vec::new();
    match rq
        .as_reader()
        .take(in_memory.saturating_add(1))
        .read_to_end(&mut body)
    {
        Ok(n) if n as u64 > limit => Err(413),
        Ok(n) if n as u64 > in_memory => {
            let spool = Spool {
                dir: scratch.to_path_buf(),
                limit,
            };
            spool_rest(rq, &spool, &body).map(Body::File)
        }
        Ok(_) => Ok(Body::Memory(body)),
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
    spool_rest(rq, spool, &[])
}

/// Writes `start` (what was already read) and the rest of the body to a new file.
fn spool_rest(
    rq: &mut tiny_http::Request,
    spool: &Spool,
    start: &[u8],
) -> std::result::Result<SpooledBody, u16> {
    let (mut file, path) = new_spool_file(&spool.dir).map_err(|e| {
        eprintln!(
            "error: cannot create an upload file in {}: {e}",
            spool.dir.display()
        );
        507u16
    })?;
    // Removes the file unless the body arrives whole.
    let mut body = SpooledBody { path, len: 0 };
    let cannot_write = |e: std::io::Error, path: &Path| {
        eprintln!("error: cannot write an upload to {}: {e}", path.display());
        507u16
    };
    file.write_all(start)
        .map_err(|e| cannot_write(e, &body.path))?;
    body.len = start.len() as u64;
    let mut reader = rq
        .as_reader()
        .take(spool.limit.saturating_add(1).saturating_sub(body.len));
    let mut buf = vec![0u8; 16 * 1024];
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
        file.write_all(&buf[..n])
            .map_err(|e| cannot_write(e, &body.path))?;
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
    Ok((std::io::BufWriter::with_capacity(64 * 1024, file), path))
}
