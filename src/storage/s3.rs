//! An S3-compatible bucket, spoken to with kith's own HTTP client: requests are
//! signed (Signature V4, as presigned URLs) by `rusty-s3`, which does no I/O. Files
//! are sent from disk as they are read, never whole in memory: in one `PUT` up to
//! [`MULTIPART_ABOVE`], in parts of [`PART_SIZE`] past it. Every upload is checked
//! against its MD5 (the ETag S3 answers, or the multipart ETag computed from the
//! parts'), and a multipart upload that fails is aborted, so nothing half-written
//! stays. The endpoint is the owner's own (often on the home network), so this
//! client does not refuse private addresses the way the federation client does.

use super::etag::{Hashing, hex, multipart_etag};
use super::xml::{complete_body, parse_listing, unescape, xml_field};
use crate::config::S3Settings;
use crate::error::{Error, Result};
use md5::{Digest, Md5};
use rusty_s3::{Bucket, Credentials, S3Action, UrlStyle, actions};
use std::fs::File;
use std::io::{Read, Seek, SeekFrom};
use std::path::Path;
use std::time::Duration;

/// Files larger than this go up in parts.
pub const MULTIPART_ABOVE: u64 = 16 * 1024 * 1024;
/// The size of each part but the last (S3's smallest is 5 MiB).
pub const PART_SIZE: u64 = 8 * 1024 * 1024;
/// How long a request's signature is valid.
const SIGNED_FOR: Duration = Duration::from_secs(900);
/// How long a presigned media URL handed to a client is valid.
pub const PRESIGNED_FOR: Duration = Duration::from_secs(3600);
/// The largest error or listing document read from the bucket.
const DOC_MAX: u64 = 4 * 1024 * 1024;

/// A bucket and the keys to it.
pub struct S3 {
    bucket: Bucket,
    credentials: Credentials,
    agent: ureq::Agent,
    public_url: Option<String>,
    /// `endpoint/bucket`, for messages.
    name: String,
}

/// What the bucket says of one object.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ObjectInfo {
    pub key: String,
    pub size: u64,
    /// The ETag without quotes: the MD5 in hex for a single `PUT`.
    pub etag: String,
}

/// An object being read from the bucket.
pub struct Download {
    /// 200, or 206 for a range.
    pub status: u16,
    /// The length of what follows.
    pub len: Option<u64>,
    /// `Content-Range` of a 206.
    pub content_range: Option<String>,
    pub reader: Box<dyn Read + Send>,
}

impl S3 {
    /// A client for the bucket of these settings (reads the secret key file).
    pub fn new(settings: &S3Settings) -> Result<S3> {
        let style = if settings.path_style {
            UrlStyle::Path
        } else {
            UrlStyle::VirtualHost
        };
        let bucket = Bucket::new(
            settings.endpoint.clone(),
            style,
            settings.bucket.clone(),
            settings.region.clone(),
        )
        .map_err(|e| Error::Config(format!("storage.endpoint: {e}")))?;
        let credentials = Credentials::new(settings.access_key_id.clone(), settings.secret.read()?);
        let agent = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .user_agent(concat!("kith/", env!("CARGO_PKG_VERSION")))
            .timeout_connect(Some(Duration::from_secs(10)))
            .timeout_per_read(Some(Duration::from_secs(60)))
            .timeout_per_write(Some(Duration::from_secs(60)))
            .max_redirects(0)
            .build()
            .into();
        Ok(S3 {
            bucket,
            credentials,
            agent,
            public_url: settings.public_url.clone(),
            name: format!(
                "{}/{}",
                settings.endpoint.as_str().trim_end_matches('/'),
                settings.bucket
            ),
        })
    }

    /// `endpoint/bucket`, for messages.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Checks that the bucket answers and takes the credentials: writes, reads back and
    /// removes a small object. The error says which key to fix.
    pub fn check(&self) -> Result<()> {
        let url = actions::HeadBucket::new(&self.bucket, Some(&self.credentials)).sign(SIGNED_FOR);
        let resp = self
            .agent
            .head(url.as_str())
            .call()
            .map_err(|e| self.unreachable(&e))?;
        match resp.status().as_u16() {
            200 => {}
            status => return Err(self.refusal(status, "", "find the bucket")),
        }
        // Under media/, where kith's keys may be limited to, with a name no file has.
        let key = "media/.kith-check";
        let body = b"kith checks that it may write here";
        let url =
            actions::PutObject::new(&self.bucket, Some(&self.credentials), key).sign(SIGNED_FOR);
        let resp = self
            .agent
            .put(url.as_str())
            .header("Content-Type", "text/plain")
            .send(&body[..])
            .map_err(|e| self.unreachable(&e))?;
        self.expect_ok(resp, "write a test object")?;
        match self.head(key)? {
            Some(info) if info.size == body.len() as u64 => {}
            _ => {
                return Err(Error::Storage(format!(
                    "{}: a test object written was not there to read back",
                    self.name
                )));
            }
        }
        self.delete(key)
    }

    /// Uploads the file at `path` as `key`; returns what the bucket holds, checked
    /// against the file's MD5.
    pub fn put_file(&self, key: &str, path: &Path, content_type: &str) -> Result<ObjectInfo> {
        let mut file = File::open(path)?;
        let size = file.metadata()?.len();
        if size > MULTIPART_ABOVE {
            return self.put_multipart(key, &mut file, size, content_type);
        }
        let url =
            actions::PutObject::new(&self.bucket, Some(&self.credentials), key).sign(SIGNED_FOR);
        let (etag, md5) =
            self.send_counted(&url, key, &mut file, size, Some(content_type), "upload")?;
        let md5 = hex(&md5);
        // Without an ETag in the answer, the object's own head tells.
        let etag = match etag {
            Some(e) => Some(e),
            None => match self.head(key)? {
                Some(info) if info.size == size => Some(info.etag).filter(|e| !e.is_empty()),
                _ => Some(String::new()),
            },
        };
        if etag.as_deref().is_some_and(|e| e != md5) {
            // The object is not what was sent: it must not stay.
            let _ = self.delete(key);
            return Err(Error::Storage(format!(
                "{key}: the bucket stored something else (its size or ETag is not the file's)"
            )));
        }
        Ok(ObjectInfo {
            key: key.to_string(),
            size,
            etag: etag.unwrap_or(md5),
        })
    }

    /// Uploads `bytes` as `key`.
    pub fn put_bytes(&self, key: &str, bytes: &[u8], content_type: &str) -> Result<()> {
        let url =
            actions::PutObject::new(&self.bucket, Some(&self.credentials), key).sign(SIGNED_FOR);
        let resp = self
            .agent
            .put(url.as_str())
            .header("Content-Type", content_type)
            .send(bytes)
            .map_err(|e| self.unreachable(&e))?;
        let etag = etag_of(&resp);
        self.expect_ok(resp, "upload")?;
        let md5 = hex(&Md5::digest(bytes));
        if etag.is_some_and(|e| e != md5) {
            let _ = self.delete(key);
            return Err(Error::Storage(format!(
                "{key}: the bucket stored something else (its ETag is not the MD5)"
            )));
        }
        Ok(())
    }

    /// A multipart upload, part by part from the file; aborted on any failure.
    fn put_multipart(
        &self,
        key: &str,
        file: &mut File,
        size: u64,
        content_type: &str,
    ) -> Result<ObjectInfo> {
        let mut create =
            actions::CreateMultipartUpload::new(&self.bucket, Some(&self.credentials), key);
        create
            .headers_mut()
            .insert("content-type", content_type.to_string());
        let url = create.sign(SIGNED_FOR);
        let resp = self
            .agent
            .post(url.as_str())
            .header("Content-Type", content_type)
            .send_empty()
            .map_err(|e| self.unreachable(&e))?;
        let doc = self.expect_ok(resp, "start a multipart upload")?;
        // Read by hand, as the listings are: rusty-s3's XML layer would add a
        // quarter of a megabyte to the binary for two fields.
        let upload_id = xml_field(&doc, "UploadId")
            .map(|id| unescape(&id))
            .filter(|id| !id.is_empty())
            .ok_or_else(|| {
                Error::Storage(format!("{}: an unreadable multipart answer", self.name))
            })?;
        match self.send_parts(key, &upload_id, file, size) {
            Ok(info) => Ok(info),
            Err(e) => {
                let abort = actions::AbortMultipartUpload::new(
                    &self.bucket,
                    Some(&self.credentials),
                    key,
                    &upload_id,
                )
                .sign(SIGNED_FOR);
                if let Err(err) = self.agent.delete(abort.as_str()).call() {
                    eprintln!("storage: cannot abort the upload of {key}: {err}");
                }
                Err(e)
            }
        }
    }

    /// Sends the parts and completes the upload; checks the multipart ETag.
    fn send_parts(
        &self,
        key: &str,
        upload_id: &str,
        file: &mut File,
        size: u64,
    ) -> Result<ObjectInfo> {
        let mut etags = Vec::new();
        let mut digests = Vec::new();
        let mut offset = 0u64;
        let mut number: u16 = 1;
        while offset < size {
            let len = PART_SIZE.min(size - offset);
            file.seek(SeekFrom::Start(offset))?;
            let url = actions::UploadPart::new(
                &self.bucket,
                Some(&self.credentials),
                key,
                number,
                upload_id,
            )
            .sign(SIGNED_FOR);
            let (etag, md5) = self.send_counted(&url, key, file, len, None, "upload a part")?;
            let md5_hex = hex(&md5);
            let etag = etag.unwrap_or_else(|| md5_hex.clone());
            if etag != md5_hex {
                return Err(Error::Storage(format!(
                    "{key}: part {number} arrived damaged (its ETag is not its MD5)"
                )));
            }
            etags.push(format!("\"{etag}\""));
            digests.extend_from_slice(&md5);
            offset += len;
            number = number
                .checked_add(1)
                .ok_or_else(|| Error::Storage(format!("{key}: the file has too many parts")))?;
        }
        self.complete(key, upload_id, &etags)?;
        self.check_completed(key, file, size, &multipart_etag(&digests, etags.len()))
    }

    /// Completes a multipart upload from its parts' ETags (quoted, in order).
    fn complete(&self, key: &str, upload_id: &str, etags: &[String]) -> Result<()> {
        let complete = actions::CompleteMultipartUpload::new(
            &self.bucket,
            Some(&self.credentials),
            key,
            upload_id,
            etags.iter().map(String::as_str),
        );
        let url = complete.sign(SIGNED_FOR);
        let body = complete_body(etags);
        let resp = self
            .agent
            .post(url.as_str())
            .header("Content-Type", "application/xml")
            .send(body.as_bytes())
            .map_err(|e| self.unreachable(&e))?;
        let doc = self.expect_ok(resp, "complete a multipart upload")?;
        // Some servers answer 200 with an error document when completing.
        if doc.contains("<Error>") {
            return Err(self.refusal(200, &doc, "complete a multipart upload"));
        }
        Ok(())
    }

    /// Checks a completed multipart object against the file sent: its size, and its
    /// ETag, which most servers give as `expected` (the multipart one) and some as the
    /// whole file's MD5.
    fn check_completed(
        &self,
        key: &str,
        file: &mut File,
        size: u64,
        expected: &str,
    ) -> Result<ObjectInfo> {
        let mut whole = || -> Result<String> {
            file.seek(SeekFrom::Start(0))?;
            let mut hashing = Hashing::new((&mut *file).take(size));
            std::io::copy(&mut hashing, &mut std::io::sink())?;
            Ok(hashing.finish().0)
        };
        match self.head(key)? {
            Some(info)
                if info.size == size
                    && (info.etag == expected
                        || (!info.etag.contains('-') && info.etag == whole()?)) =>
            {
                Ok(info)
            }
            Some(info) => Err(Error::Storage(format!(
                "{key}: the bucket holds {} bytes with ETag {}, not the {size} bytes sent ({expected})",
                info.size, info.etag
            ))),
            None => Err(Error::Storage(format!(
                "{key}: the completed upload is not in the bucket"
            ))),
        }
    }

    /// PUTs `len` bytes of `file` (from where it stands) to the signed `url`; returns
    /// the ETag answered and the MD5 of what was sent. The file must not change.
    fn send_counted(
        &self,
        url: &url::Url,
        key: &str,
        file: &mut File,
        len: u64,
        content_type: Option<&str>,
        what: &str,
    ) -> Result<(Option<String>, Vec<u8>)> {
        let mut hashing = Hashing::new(file.take(len));
        let mut req = self
            .agent
            .put(url.as_str())
            .header("Content-Length", &len.to_string());
        if let Some(t) = content_type {
            req = req.header("Content-Type", t);
        }
        let resp = req
            .send(ureq::SendBody::from_reader(&mut hashing))
            .map_err(|e| self.unreachable(&e))?;
        let etag = etag_of(&resp);
        self.expect_ok(resp, what)?;
        let (md5, sent) = hashing.finish_raw();
        if sent != len {
            return Err(Error::Storage(format!(
                "{key}: the file changed while it was sent ({sent} of {len} bytes)"
            )));
        }
        Ok((etag, md5))
    }

    /// What the bucket holds as `key`, if anything.
    pub fn head(&self, key: &str) -> Result<Option<ObjectInfo>> {
        let url =
            actions::HeadObject::new(&self.bucket, Some(&self.credentials), key).sign(SIGNED_FOR);
        let resp = self
            .agent
            .head(url.as_str())
            .call()
            .map_err(|e| self.unreachable(&e))?;
        match resp.status().as_u16() {
            200 => Ok(Some(ObjectInfo {
                key: key.to_string(),
                size: header_u64(&resp, "content-length").unwrap_or(0),
                etag: etag_of(&resp).unwrap_or_default(),
            })),
            404 => Ok(None),
            status => Err(self.refusal(status, "", "read an object's details")),
        }
    }

    /// Reads `key`, or the byte range `range` (an HTTP `Range` value) of it; None when
    /// there is no such object.
    pub fn get(&self, key: &str, range: Option<&str>) -> Result<Option<Download>> {
        let url =
            actions::GetObject::new(&self.bucket, Some(&self.credentials), key).sign(SIGNED_FOR);
        let mut req = self.agent.get(url.as_str());
        if let Some(range) = range {
            req = req.header("Range", range);
        }
        let resp = req.call().map_err(|e| self.unreachable(&e))?;
        let status = resp.status().as_u16();
        match status {
            200 | 206 if header_u64(&resp, "content-length").is_none() => Err(Error::Storage(
                format!("{key}: the bucket answered without a length"),
            )),
            200 | 206 => Ok(Some(Download {
                status,
                len: header_u64(&resp, "content-length"),
                content_range: header_str(&resp, "content-range"),
                reader: Box::new(resp.into_body().into_reader()),
            })),
            404 => Ok(None),
            416 => Ok(Some(Download {
                status,
                len: Some(0),
                content_range: header_str(&resp, "content-range"),
                reader: Box::new(std::io::empty()),
            })),
            _ => {
                let doc = read_doc(resp);
                Err(self.refusal(status, &doc, "read an object"))
            }
        }
    }

    /// Removes `key` (a missing object is fine).
    pub fn delete(&self, key: &str) -> Result<()> {
        let url =
            actions::DeleteObject::new(&self.bucket, Some(&self.credentials), key).sign(SIGNED_FOR);
        let resp = self
            .agent
            .delete(url.as_str())
            .call()
            .map_err(|e| self.unreachable(&e))?;
        match resp.status().as_u16() {
            200 | 204 | 404 => Ok(()),
            status => {
                let doc = read_doc(resp);
                Err(self.refusal(status, &doc, "remove an object"))
            }
        }
    }

    /// Every object whose key starts with `prefix`, in key order.
    pub fn list(&self, prefix: &str) -> Result<Vec<ObjectInfo>> {
        let mut out = Vec::new();
        let mut token: Option<String> = None;
        loop {
            let mut list = actions::ListObjectsV2::new(&self.bucket, Some(&self.credentials));
            list.with_prefix(prefix);
            if let Some(t) = &token {
                list.with_continuation_token(t.clone());
            }
            let url = list.sign(SIGNED_FOR);
            let resp = self
                .agent
                .get(url.as_str())
                .call()
                .map_err(|e| self.unreachable(&e))?;
            let doc = self.expect_ok(resp, "list objects")?;
            let (objects, next) = parse_listing(&doc)
                .ok_or_else(|| Error::Storage(format!("{}: an unreadable listing", self.name)))?;
            out.extend(objects);
            match next {
                Some(t) if !t.is_empty() => token = Some(t),
                _ => return Ok(out),
            }
        }
    }

    /// An address where anyone can read `key` without a signature (at the endpoint, or
    /// under `public_url`), if there is one: for `kith doctor`, as backups must not be.
    pub fn readable_by_anyone(&self, key: &str) -> Option<String> {
        let mut places = Vec::new();
        if let Ok(url) = self.bucket.object_url(key) {
            places.push(url.to_string());
        }
        if let Some(base) = &self.public_url {
            places.push(format!("{base}/{key}"));
        }
        places.into_iter().find(|url| {
            self.agent
                .get(url)
                .header("Range", "bytes=0-0")
                .call()
                .is_ok_and(|r| matches!(r.status().as_u16(), 200 | 206))
        })
    }

    /// The address a client is sent to for `key`: under `public_url` when set, or a
    /// presigned URL valid for [`PRESIGNED_FOR`].
    pub fn client_url(&self, key: &str) -> String {
        match &self.public_url {
            Some(base) => format!("{base}/{key}"),
            None => actions::GetObject::new(&self.bucket, Some(&self.credentials), key)
                .sign(PRESIGNED_FOR)
                .to_string(),
        }
    }

    /// Reads a 2xx answer's body (a short document); anything else is an error.
    fn expect_ok(&self, resp: ureq::http::Response<ureq::Body>, what: &str) -> Result<String> {
        let status = resp.status().as_u16();
        let doc = read_doc(resp);
        if (200..300).contains(&status) {
            Ok(doc)
        } else {
            Err(self.refusal(status, &doc, what))
        }
    }

    /// An error for a refusal, naming the config key that is likely wrong.
    fn refusal(&self, status: u16, doc: &str, what: &str) -> Error {
        let code = xml_field(doc, "Code").unwrap_or_default();
        let hint = match (status, code.as_str()) {
            (_, "InvalidAccessKeyId") => {
                "the bucket does not know the access key: check storage.access_key_id"
            }
            (_, "SignatureDoesNotMatch") => {
                "the signature did not match: check storage.secret_access_key and storage.region"
            }
            (_, "NoSuchBucket") | (404, _) => "there is no such bucket: check storage.bucket",
            (_, "AuthorizationHeaderMalformed") => "check storage.region",
            (401 | 403, _) => {
                "the bucket refused the credentials: check storage.access_key_id and storage.secret_access_key"
            }
            _ => "the bucket refused",
        };
        let code = if code.is_empty() {
            String::new()
        } else {
            format!(" {code}")
        };
        Error::Storage(format!(
            "{}: cannot {what}: {status}{code}; {hint}",
            self.name
        ))
    }

    /// An error for a bucket that could not be reached at all.
    fn unreachable(&self, e: &ureq::Error) -> Error {
        Error::Storage(format!(
            "{}: cannot reach the bucket ({e}); check storage.endpoint and that the server runs",
            self.name
        ))
    }
}

/// The ETag of an answer, without quotes.
fn etag_of(resp: &ureq::http::Response<ureq::Body>) -> Option<String> {
    resp.headers()
        .get("etag")
        .and_then(|v| v.to_str().ok())
        .map(|v| v.trim().trim_matches('"').to_ascii_lowercase())
}

fn header_str(resp: &ureq::http::Response<ureq::Body>, name: &str) -> Option<String> {
    resp.headers()
        .get(name)
        .and_then(|v| v.to_str().ok())
        .map(str::to_string)
}

fn header_u64(resp: &ureq::http::Response<ureq::Body>, name: &str) -> Option<u64> {
    header_str(resp, name).and_then(|v| v.trim().parse().ok())
}

/// Reads a short document (an error or a listing); what cannot be read is empty.
fn read_doc(resp: ureq::http::Response<ureq::Body>) -> String {
    resp.into_body()
        .with_config()
        .limit(DOC_MAX)
        .read_to_string()
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refusals_name_the_key_to_fix() {
        let config = crate::config::Config::parse(
            "[storage]\nendpoint = \"http://127.0.0.1:9\"\nbucket = \"kith\"\n\
             access_key_id = \"AK\"\nsecret_access_key = \"SK\"\n",
        )
        .unwrap();
        let s3 = S3::new(config.s3.as_ref().unwrap()).unwrap();
        let error = |code: &str, status: u16| {
            let doc = format!("<Error><Code>{code}</Code></Error>");
            s3.refusal(status, &doc, "upload").to_string()
        };
        assert!(error("InvalidAccessKeyId", 403).contains("storage.access_key_id"));
        assert!(error("SignatureDoesNotMatch", 403).contains("storage.secret_access_key"));
        assert!(error("NoSuchBucket", 404).contains("storage.bucket"));
        assert!(error("", 404).contains("storage.bucket"));
        let refused = error("AccessDenied", 403);
        assert!(refused.contains("403 AccessDenied"), "{refused}");
        assert!(!refused.contains("SK"), "no secret in messages: {refused}");
        assert_eq!(s3.name(), "http://127.0.0.1:9/kith");
    }
}
