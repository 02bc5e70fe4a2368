//! A real S3 server for the storage tests: `s3s-fs` from the Rust crate registry,
//! which checks Signature V4 against the keys it is given and keeps objects as files
//! under a temporary root (`ROOT/BUCKET/KEY`). `scripts/install-storage` builds it
//! into `target/tools/bin`; `$KITH_S3S_FS` may name another copy.

use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub const ACCESS_KEY: &str = "kith-test-access";
pub const SECRET_KEY: &str = "kith-test-secret-0123456789";
pub const BUCKET: &str = "kith-media";

/// A running s3s-fs on a loopback port with one bucket.
pub struct S3Server {
    child: Option<Child>,
    pub port: u16,
    pub root: tempfile::TempDir,
}

/// The s3s-fs binary.
fn binary() -> PathBuf {
    if let Some(path) = std::env::var_os("KITH_S3S_FS") {
        return PathBuf::from(path);
    }
    let built = Path::new(env!("CARGO_MANIFEST_DIR")).join("target/tools/bin/s3s-fs");
    assert!(
        built.is_file(),
        "the S3 test server is missing: run scripts/install-storage (or set KITH_S3S_FS)"
    );
    built
}

impl S3Server {
    /// Starts s3s-fs on a free port with an empty bucket.
    pub fn start() -> S3Server {
        let root = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(root.path().join(BUCKET)).unwrap();
        let mut server = S3Server {
            child: None,
            port: crate::support::free_port(),
            root,
        };
        server.spawn();
        server
    }

    /// Starts (or starts again) the process on the same port and root.
    pub fn spawn(&mut self) {
        let child = Command::new(binary())
            .args(["--host", "127.0.0.1", "--port", &self.port.to_string()])
            .args(["--access-key", ACCESS_KEY, "--secret-key", SECRET_KEY])
            .arg(self.root.path())
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start s3s-fs");
        self.child = Some(child);
        let deadline = Instant::now() + Duration::from_secs(20);
        while TcpStream::connect(("127.0.0.1", self.port)).is_err() {
            assert!(Instant::now() < deadline, "s3s-fs did not start");
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Stops the process (the objects stay on disk).
    pub fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// `http://127.0.0.1:PORT`.
    pub fn endpoint(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// The `[storage]` table for this server, with `backend` and more lines.
    pub fn storage_toml(&self, backend: &str, more: &str) -> String {
        format!(
            "[storage]\nbackend = \"{backend}\"\nendpoint = \"{}\"\nbucket = \"{BUCKET}\"\n\
             access_key_id = \"{ACCESS_KEY}\"\nsecret_access_key = \"{SECRET_KEY}\"\n{more}\n",
            self.endpoint()
        )
    }

    /// The names of the objects under `prefix` (`media`, `cache`, `backups`), sorted.
    pub fn objects(&self, prefix: &str) -> Vec<String> {
        list_files(&self.root.path().join(BUCKET).join(prefix))
    }

    /// The bytes of an object.
    pub fn object(&self, key: &str) -> Vec<u8> {
        std::fs::read(self.root.path().join(BUCKET).join(key)).unwrap()
    }
}

impl Drop for S3Server {
    fn drop(&mut self) {
        self.stop();
    }
}

/// The names of the regular files in `dir` that are not temporary, sorted.
pub fn list_files(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .map(|entries| {
            entries
                .flatten()
                .filter(|e| e.file_type().is_ok_and(|t| t.is_file()))
                .filter_map(|e| e.file_name().to_str().map(str::to_string))
                .filter(|n| !n.starts_with('.'))
                .collect()
        })
        .unwrap_or_default();
    names.sort();
    names
}
