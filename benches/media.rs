//! `cargo bench --bench media`: what processing a 12-megapixel photo costs. Makes a
//! photo-like 4000×3000 JPEG (gradients and noise, quality 92, with an EXIF
//! orientation of 6 and a GPS position, as a phone writes them), then measures:
//!
//! 1. processing alone (`kith::media::image::process`: decode, thumbnail, blurhash,
//!    upright re-encode to a file) in a fresh child process: its peak resident memory
//!    (`VmHWM`) before and after, and the time;
//! 2. the whole server: the release `kith` binary receiving uploads through
//!    `POST /api/v2/media` over loopback HTTP: its `VmHWM` after start-up and after
//!    each upload, and the request's time. The bombs go first (so each peak is their
//!    own): a 16-bit RGBA PNG of 5760×5760 (within Mastodon's pixel cap, a few
//!    hundred KB that would decode to 265 MB), one of 4000×4000 (128 MB), and a GIF of
//!    3000 one-pixel frames; then the photo.
//!
//! 3. the same server with `[storage] backend = "s3"` against a real S3 server on
//!    loopback (`s3s-fs`, from `scripts/install-storage`): the photo and a 150 MB
//!    video, which goes to the bucket in 8 MiB parts.
//!
//! Prints the figures and whether they stay under the 64 MB target; asserts nothing.

mod support;
use support::*;

#[allow(dead_code)]
#[path = "../tests/fixtures/media/generate.rs"]
mod generate;

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const WIDTH: u32 = 4000;
const HEIGHT: u32 = 3000;
const TARGET_MB: f64 = 64.0;

fn mb(kb: u64) -> f64 {
    kb as f64 / 1024.0
}

/// A photo-like JPEG: smooth gradients with noise, so it compresses like a camera's.
fn photo() -> Vec<u8> {
    let mut seed = 0x2545_F491_4F6C_DD1Du64;
    let img = image::RgbImage::from_fn(WIDTH, HEIGHT, |x, y| {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        let noise = (seed & 0x1F) as u32;
        image::Rgb([
            ((x * 255 / WIDTH + noise) % 256) as u8,
            ((y * 255 / HEIGHT + noise) % 256) as u8,
            (((x + y) / 40 + noise) % 256) as u8,
        ])
    });
    let mut jpeg = Vec::new();
    image::codecs::jpeg::JpegEncoder::new_with_quality(&mut jpeg, 92)
        .encode_image(&img)
        .expect("encode");
    generate::with_segments(&jpeg, &[generate::exif_segment(6)])
}

/// The child: processes the file at `path` and prints its figures.
fn child(path: &str) {
    let bytes = std::fs::read(path).expect("read photo");
    let before = proc_kb("self", "VmHWM:");
    let out_path = format!("{path}.out");
    let file = std::fs::File::create(&out_path).expect("output");
    let mut out = std::io::BufWriter::new(file);
    let start = Instant::now();
    let p =
        kith::media::image::process(&bytes, kith::media::sniff::JPEG, &mut out).expect("process");
    let elapsed = start.elapsed();
    drop(out);
    let after = proc_kb("self", "VmHWM:");
    let written = std::fs::metadata(&out_path).map_or(0, |m| m.len());
    println!(
        "processing alone: {}x{} -> {}x{} upright {} ({:.1} MB), thumbnail {}x{} ({} KB), blurhash {}",
        WIDTH,
        HEIGHT,
        p.width,
        p.height,
        p.kind.media_type,
        written as f64 / 1e6,
        p.thumb.width,
        p.thumb.height,
        p.thumb.bytes.len() / 1024,
        p.blurhash.unwrap_or_default()
    );
    println!(
        "  peak resident memory: {:.1} MB before (the process and the {:.1} MB input), {:.1} MB after; {:.2} s",
        mb(before),
        bytes.len() as f64 / 1e6,
        mb(after),
        elapsed.as_secs_f64()
    );
    println!(
        "  {} the {TARGET_MB:.0} MB target",
        if mb(after) < TARGET_MB {
            "under"
        } else {
            "OVER"
        }
    );
}

/// A valid PNG of `w`×`h` black pixels of 16-bit RGBA, compressed as it is written.
fn dense_png(w: u32, h: u32) -> Vec<u8> {
    use std::io::Write;
    let mut png = b"\x89PNG\r\n\x1a\n".to_vec();
    let mut chunk = |kind: &[u8], body: &[u8]| {
        let mut crc = flate2::Crc::new();
        crc.update(kind);
        crc.update(body);
        png.extend_from_slice(&(body.len() as u32).to_be_bytes());
        png.extend_from_slice(kind);
        png.extend_from_slice(body);
        png.extend_from_slice(&crc.sum().to_be_bytes());
    };
    let mut ihdr = w.to_be_bytes().to_vec();
    ihdr.extend_from_slice(&h.to_be_bytes());
    ihdr.extend_from_slice(&[16, 6, 0, 0, 0]);
    chunk(b"IHDR", &ihdr);
    let mut z = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::best());
    let row = vec![0u8; 1 + w as usize * 8];
    for _ in 0..h {
        z.write_all(&row).expect("deflate");
    }
    chunk(b"IDAT", &z.finish().expect("deflate"));
    chunk(b"IEND", b"");
    png
}

/// A GIF of `frames` frames of one pixel each.
fn many_frames_gif(frames: usize) -> Vec<u8> {
    let mut gif = b"GIF89a\x01\x00\x01\x00\x80\x00\x00\x00\x00\x00\xff\xff\xff".to_vec();
    for _ in 0..frames {
        gif.extend_from_slice(b"\x2c\0\0\0\0\x01\0\x01\0\0\x02\x02\x44\x01\0");
    }
    gif.push(0x3b);
    gif
}

/// The server: the release binary receives each upload over HTTP, in order.
fn server(dir: &std::path::Path, extra: &str, uploads: &[(&str, &str, Vec<u8>)]) {
    let port = free_port();
    let config = format!(
        "public_url = \"http://localhost:{port}\"\nusername = \"bench\"\nlisten = \"127.0.0.1:{port}\"\ndata_dir = \"data\"\n{extra}"
    );
    std::fs::write(dir.join("kith.toml"), config).expect("config");
    // The account is made here (key generation and password hashing), not in the
    // server, so they do not raise the server's peak; `token` then opens it.
    let config = kith::config::Config::load(&dir.join("kith.toml"), false).expect("config");
    kith::prepare(&config).expect("the account");
    let out = Command::new(env!("CARGO_BIN_EXE_kith"))
        .args(["token", "--scopes", "write:media", "--config", "kith.toml"])
        .current_dir(dir)
        .output()
        .expect("kith token");
    let token = String::from_utf8_lossy(&out.stdout).trim().to_string();
    let mut kith = Command::new(env!("CARGO_BIN_EXE_kith"))
        .args(["serve", "--config", "kith.toml"])
        .current_dir(dir)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn kith");
    let mut lines = BufReader::new(kith.stderr.take().expect("stderr")).lines();
    for line in lines.by_ref() {
        if line.map(|l| l.contains(" listening on ")).unwrap_or(false) {
            break;
        }
    }
    std::thread::spawn(move || for _ in lines {});
    let pid = kith.id().to_string();
    std::thread::sleep(Duration::from_millis(200));
    let idle = proc_kb(&pid, "VmHWM:");
    println!(
        "whole server: peak resident memory of kith after start-up {:.1} MB",
        mb(idle)
    );
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .timeout_global(Some(Duration::from_secs(120)))
        .build()
        .into();
    let boundary = "kithbenchboundary";
    for (name, content_type, bytes) in uploads {
        let mut body = format!(
            "--{boundary}\r\nContent-Disposition: form-data; name=\"description\"\r\n\r\nan upload\r\n\
             --{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"{name}\"\r\n\
             Content-Type: {content_type}\r\n\r\n"
        )
        .into_bytes();
        body.extend_from_slice(bytes);
        body.extend(format!("\r\n--{boundary}--\r\n").into_bytes());
        let start = Instant::now();
        let resp = agent
            .post(&format!("http://127.0.0.1:{port}/api/v2/media"))
            .header("Authorization", &format!("Bearer {token}"))
            .header(
                "Content-Type",
                &format!("multipart/form-data; boundary={boundary}"),
            )
            .send(&body[..])
            .expect("upload");
        let elapsed = start.elapsed();
        let status = resp.status().as_u16();
        let after = proc_kb(&pid, "VmHWM:");
        let rss = proc_kb(&pid, "VmRSS:");
        println!(
            "  POST /api/v2/media of {name} ({:.2} MB) answered {status} in {:.2} s; peak resident \
             memory now {:.1} MB ({} the {TARGET_MB:.0} MB target; resident now {:.1} MB)",
            bytes.len() as f64 / 1e6,
            elapsed.as_secs_f64(),
            mb(after),
            if mb(after) < TARGET_MB {
                "under"
            } else {
                "OVER"
            },
            mb(rss)
        );
    }
    let _ = kith.kill();
    let _ = kith.wait();
}

fn main() {
    if let Ok(path) = std::env::var("KITH_MEDIA_BENCH_CHILD") {
        child(&path);
        return;
    }
    let dir = tempfile::tempdir().expect("tempdir");
    let jpeg = photo();
    let path = dir.path().join("photo.jpg");
    std::fs::write(&path, &jpeg).expect("write photo");
    println!(
        "kith media benchmark: a {WIDTH}x{HEIGHT} JPEG of {:.1} MB with EXIF orientation 6 and GPS",
        jpeg.len() as f64 / 1e6
    );
    let out = Command::new(std::env::current_exe().expect("own path"))
        .env("KITH_MEDIA_BENCH_CHILD", &path)
        .stderr(Stdio::inherit())
        .output()
        .expect("child");
    print!("{}", String::from_utf8_lossy(&out.stdout));
    let uploads = [
        ("huge.png", "image/png", dense_png(5760, 5760)),
        ("dense.png", "image/png", dense_png(4000, 4000)),
        ("frames.gif", "image/gif", many_frames_gif(3000)),
        ("IMG_0001.JPG", "image/jpeg", jpeg.clone()),
    ];
    server(dir.path(), "", &uploads);
    bucket(&jpeg);
}

/// The whole server again, its media in a bucket of a real S3 server on loopback.
fn bucket(jpeg: &[u8]) {
    let s3s = std::env::var_os("KITH_S3S_FS")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| {
            std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("target/tools/bin/s3s-fs")
        });
    if !s3s.is_file() {
        println!("media in a bucket: not measured; run scripts/install-storage for the S3 server");
        return;
    }
    let root = tempfile::tempdir().expect("tempdir");
    std::fs::create_dir_all(root.path().join("bench")).expect("bucket");
    let port = free_port();
    let mut server_s3 = Command::new(s3s)
        .args(["--host", "127.0.0.1", "--port", &port.to_string()])
        .args(["--access-key", "bench", "--secret-key", "bench-secret"])
        .arg(root.path())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("s3s-fs");
    let deadline = Instant::now() + Duration::from_secs(20);
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(20));
    }
    println!("media in a bucket (s3s-fs on loopback):");
    let dir = tempfile::tempdir().expect("tempdir");
    let extra = format!(
        "[limits]\nupload_max_bytes = 209715200\n[storage]\nbackend = \"s3\"\n\
         endpoint = \"http://127.0.0.1:{port}\"\nbucket = \"bench\"\naccess_key_id = \"bench\"\n\
         secret_access_key = \"bench-secret\"\n"
    );
    let uploads = [
        // The video first, so its peak is its own.
        ("clip.mp4", "video/mp4", generate::mp4_of(150 * 1024 * 1024)),
        ("IMG_0001.JPG", "image/jpeg", jpeg.to_vec()),
    ];
    server(dir.path(), &extra, &uploads);
    let _ = server_s3.kill();
    let _ = server_s3.wait();
}
