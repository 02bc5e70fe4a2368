//! Static files from `static/`, embedded in the binary with rust-embed and served with
//! an ETag and a long cache lifetime (names carry a content fingerprint). A boundary
//! below the faces: the web UI's styles and scripts, and the placeholder avatar and
//! header that the API, ActivityPub and the web UI all point to.

use crate::http::{Req, Resp};
use rust_embed::RustEmbed;

#[derive(RustEmbed)]
#[folder = "static/"]
struct Static;

/// The public path of an embedded file, fingerprinted with its content hash:
/// `/static/<hash>/<name>`. Unknown names give a path that answers 404.
pub fn url(name: &str) -> String {
    match Static::get(name) {
        Some(file) => format!(
            "/static/{}/{name}",
            fingerprint(&file.metadata.sha256_hash())
        ),
        None => format!("/static/missing/{name}"),
    }
}

fn fingerprint(hash: &[u8; 32]) -> String {
    hash[..6].iter().map(|b| format!("{b:02x}")).collect()
}

/// Serves `/static/<hash>/<name>` (or `/static/<name>`), honouring `If-None-Match`.
pub fn serve(req: &Req, rest: &str) -> Option<Resp> {
    let name = match rest.split_once('/') {
        Some((_, name)) => name,
        None => rest,
    };
    let file = Static::get(name)?;
    let etag = format!("\"{}\"", fingerprint(&file.metadata.sha256_hash()));
    let resp = if req.header("if-none-match") == Some(etag.as_str()) {
        Resp::empty(304)
    } else {
        Resp::bytes(200, content_type(name), file.data.into_owned())
    };
    Some(
        resp.with_header("ETag", &etag)
            .with_header("Cache-Control", "public, max-age=31536000, immutable")
            .with_header("X-Content-Type-Options", "nosniff"),
    )
}

fn content_type(name: &str) -> &'static str {
    match name.rsplit('.').next() {
        Some("css") => "text/css; charset=utf-8",
        Some("js") => "text/javascript; charset=utf-8",
        Some("png") => "image/png",
        Some("svg") => "image/svg+xml",
        Some("ico") => "image/x-icon",
        _ => "application/octet-stream",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fingerprinted_urls_resolve() {
        let u = url("kith.css");
        assert!(u.starts_with("/static/") && u.ends_with("/kith.css"));
        let rest = u.strip_prefix("/static/").unwrap();
        let r = serve(&Req::new("GET", &u), rest).unwrap();
        assert_eq!(r.status, 200);
        assert_eq!(r.header("content-type"), Some("text/css; charset=utf-8"));
        let mut again = Req::new("GET", &u);
        again.headers.push((
            "if-none-match".into(),
            r.header("etag").unwrap().to_string(),
        ));
        assert_eq!(serve(&again, rest).unwrap().status, 304);
        assert!(serve(&Req::new("GET", "/static/x/nope.css"), "x/nope.css").is_none());
    }
}
