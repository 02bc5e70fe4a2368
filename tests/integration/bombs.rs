//! Archive bombs: archives that would fill the disk when unpacked (many dense zip
//! entries, a tar.gz of zeros, a zip entry whose header lies about its size, an honest
//! archive too big for the cap or the disk) are refused before anything is staged or
//! written, naming the entry or the total. The bombs are built here, streamed, never
//! held whole. (Picture bombs are in `media`.)

use crate::portability::{files_under, fixture, footprint, zip_dir};
use crate::support::Instance;
use kith::portability::archive::Limits;
use kith::portability::import;
use std::io::{Read, Write};
use std::path::Path;

fn offline() -> import::Options {
    import::Options {
        resolve: false,
        progress: false,
        ..import::Options::default()
    }
}

/// Imports `path`, expecting a refusal naming `needle`, with nothing written or left
/// staged.
fn refused(inst: &Instance, path: &Path, opts: &import::Options, needle: &str) {
    let before = footprint(inst);
    let e = import::import_archive(inst.ctx(), path, opts).expect_err("refused");
    assert_eq!(e.status(), 422, "{e}");
    let message = e.to_string();
    assert!(message.contains(needle), "{needle:?} not in {message:?}");
    assert_eq!(footprint(inst), before, "the database is unchanged");
    let data = &inst.ctx().config.data_dir;
    let media = data.join("media");
    assert!(
        !media.exists() || files_under(&media).is_empty(),
        "no media left behind"
    );
    assert!(
        std::fs::read_dir(data).unwrap().all(|e| !e
            .unwrap()
            .file_name()
            .to_string_lossy()
            .starts_with("import-")),
        "staging removed"
    );
}

/// Writes `len` zero bytes to `out`, streamed.
fn write_zeros(out: &mut impl Write, len: u64) {
    std::io::copy(&mut std::io::repeat(0).take(len), out).unwrap();
}

/// The fixture archive as a zip, with `count` deflated entries of `each` zero bytes.
fn zip_with_zeros(dest: &Path, count: usize, each: u64) {
    zip_dir(&fixture(), dest, &[]);
    let file = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open(dest)
        .unwrap();
    let mut zip = zip::ZipWriter::new_append(file).unwrap();
    for i in 0..count {
        zip.start_file(
            format!("media_attachments/files/z{i}.png"),
            zip::write::SimpleFileOptions::default(),
        )
        .unwrap();
        write_zeros(&mut zip, each);
    }
    zip.finish().unwrap();
}

/// Sets the uncompressed size of the entry `name` to `size` in both of its headers.
fn lie_about_size(bytes: &mut [u8], name: &str, size: u32) {
    let mut patched = 0;
    let n = name.as_bytes();
    for at in 0..bytes.len() - n.len() {
        if &bytes[at..at + n.len()] != n {
            continue;
        }
        if at >= 46 && bytes[at - 46..at - 42] == *b"PK\x01\x02" {
            bytes[at - 46 + 24..at - 46 + 28].copy_from_slice(&size.to_le_bytes());
            patched += 1;
        } else if at >= 30 && bytes[at - 30..at - 26] == *b"PK\x03\x04" {
            bytes[at - 30 + 22..at - 30 + 26].copy_from_slice(&size.to_le_bytes());
            patched += 1;
        }
    }
    assert_eq!(patched, 2, "both headers of {name}");
}

#[test]
fn sec_66_archive_bombs_are_refused_before_staging() {
    let a = Instance::start("alice", "");
    let dir = tempfile::tempdir().unwrap();

    // 800 entries of 256 KiB of zeros: each is under the size where one entry's ratio
    // is checked, but together they are 200 MiB from a few hundred KB.
    let many = dir.path().join("many.zip");
    zip_with_zeros(&many, 800, 256 << 10);
    assert!(std::fs::metadata(&many).unwrap().len() < 2 << 20);
    refused(&a, &many, &offline(), "refused as an archive bomb");

    // One dense entry: refused by its own ratio, naming it.
    let dense = dir.path().join("dense.zip");
    zip_with_zeros(&dense, 1, 32 << 20);
    refused(&a, &dense, &offline(), "media_attachments/files/z0.png");

    // A tar.gz of 150 MiB of zeros (under the 200 MiB per-file cap).
    let tgz = dir.path().join("zeros.tar.gz");
    {
        let gz = flate2::write::GzEncoder::new(
            std::fs::File::create(&tgz).unwrap(),
            flate2::Compression::fast(),
        );
        let mut tar = tar::Builder::new(gz);
        tar.append_dir_all("", fixture()).unwrap();
        let mut header = tar::Header::new_gnu();
        header.set_size(150 << 20);
        header.set_mode(0o644);
        header.set_entry_type(tar::EntryType::Regular);
        tar.append_data(
            &mut header,
            "media_attachments/files/zeros.png",
            std::io::repeat(0).take(150 << 20),
        )
        .unwrap();
        tar.into_inner().unwrap().finish().unwrap();
    }
    assert!(std::fs::metadata(&tgz).unwrap().len() < 2 << 20);
    refused(&a, &tgz, &offline(), "media_attachments/files/zeros.png");

    // A zip entry whose headers say 1000 bytes but which inflates to 64 MiB: staging
    // stops at the size it declared.
    let lying = dir.path().join("lying.zip");
    zip_with_zeros(&lying, 1, 64 << 20);
    let mut bytes = std::fs::read(&lying).unwrap();
    lie_about_size(&mut bytes, "media_attachments/files/z0.png", 1000);
    std::fs::write(&lying, &bytes).unwrap();
    refused(&a, &lying, &offline(), "media_attachments/files/z0.png");

    // Honest archives too big for the cap, or for the disk.
    let zip = dir.path().join("honest.zip");
    zip_dir(&fixture(), &zip, &[]);
    let capped = import::Options {
        limits: Limits {
            max_total_bytes: 10_000,
            ..Limits::default()
        },
        ..offline()
    };
    refused(&a, &zip, &capped, "more than 10000 bytes");
    let full_disk = import::Options {
        limits: Limits {
            min_free_bytes: u64::MAX / 4,
            ..Limits::default()
        },
        ..offline()
    };
    refused(&a, &zip, &full_disk, "free");

    // The same archive, honest and small, imports.
    let report = import::import_archive(a.ctx(), &zip, &offline()).unwrap();
    assert_eq!(report.posts, 6, "{}", report.summary());
}
